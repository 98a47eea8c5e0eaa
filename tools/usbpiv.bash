# SPDX-License-Identifier: MIT
# bash completion for usbpiv(1): commands, each command's options, the
# values of those that take a fixed set (slots, algorithms, policies,
# formats), and file names where an option takes a file.
# Installed as $(PREFIX)/share/bash-completion/completions/usbpiv.
# tests/integration/bash_completion.sh checks it against `usbpiv --help`
# and against the options each command accepts.

_usbpiv_cmds='list info keygen import-key import-cert export-cert
export-pubkey ssh-keys attest sign decrypt enroll unlock udev-info pin puk
pin-retries mgm-key reset selfsign-cert request-cert delete-cert delete-key
move-key read-object write-object set-chuid set-ccc uri apdu watch agent'

_usbpiv_slots='9a 9c 9d 9e 82 83 84 85 86 87 88 89 8a 8b 8c 8d 8e 8f 90 91
92 93 94 95 f9'

_usbpiv_objects='chuid ccc discovery history printed security facial
fingerprints iris bitgt adminData attestation'

# _usbpiv_opts CMD: the options CMD accepts (--json and --help: all).
_usbpiv_opts()
{
	local o
	case $1 in
	list | info) o= ;;
	keygen) o='--slot --alg --pin-policy --touch-policy -o --out --format
	    --comment --pin-file --mgm-key-file' ;;
	import-key) o='--slot -i --in --pin-policy --touch-policy --pin-file
	    --mgm-key-file' ;;
	import-cert) o='--slot -i --in --compress --pin-file --mgm-key-file' ;;
	export-cert | attest) o='--slot -o --out --format' ;;
	export-pubkey) o='--slot -o --out --format --comment' ;;
	ssh-keys) o='-o --out' ;;
	sign) o='--slot --hash --padding -i --in -o --out --pin-file' ;;
	decrypt) o='--slot --padding -i --in -o --out --peer --pin-file' ;;
	enroll) o='--slot -o --out' ;;
	unlock) o='--slot --pin-file' ;;
	udev-info | apdu) o= ;;
	pin) o='--pin-file --puk-file --new-pin-file' ;;
	puk) o='--puk-file --new-puk-file' ;;
	pin-retries) o='--pin-file --mgm-key-file' ;;
	mgm-key) o='--key-alg --generate --new-key-file --protect --touch
	    --pin-file --mgm-key-file' ;;
	reset) o='--force' ;;
	selfsign-cert) o='--slot --subject --valid-days --hash -o --out
	    --compress --pin-file --mgm-key-file' ;;
	request-cert) o='--slot --subject --hash --format -o --out --pin-file' ;;
	delete-cert | delete-key) o='--slot --pin-file --mgm-key-file' ;;
	move-key) o='--from --to --force --pin-file --mgm-key-file' ;;
	read-object) o='-o --out' ;;
	write-object) o='-i --in --pin-file --mgm-key-file' ;;
	set-chuid | set-ccc) o='--pin-file --mgm-key-file' ;;
	uri) o='--slot' ;;
	watch) o='--count --timeout' ;;
	agent) printf '%s\n' '-D -a -c -t -k --notify --confirm -h --help'
	    return ;;
	*) return ;;
	esac
	printf '%s\n' "$o --json -h --help"
}

_usbpiv()
{
	local cur prev cmd i ci words cword
	if declare -F _init_completion > /dev/null 2>&1; then
		_init_completion || return
	else
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD - 1]}
	fi

	# the command: the first word that is not a global option or its value
	cmd=
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--reader | --serial) ((i++)) ;;
		-*) ;;
		*) cmd=${words[i]} ci=$i; break ;;
		esac
	done

	case $prev in
	--slot | --from | --to | --confirm)
		COMPREPLY=($(compgen -W "$_usbpiv_slots" -- "$cur")); return ;;
	--alg)
		COMPREPLY=($(compgen -W 'rsa1024 rsa2048 rsa3072 rsa4096 p256
		    p384 ed25519 x25519' -- "$cur")); return ;;
	--pin-policy)
		COMPREPLY=($(compgen -W 'default never once always' -- "$cur"))
		return ;;
	--touch-policy)
		COMPREPLY=($(compgen -W 'default never always cached' -- "$cur"))
		return ;;
	--format)
		case $cmd in
		keygen | export-pubkey) i='pem der ssh' ;;
		*) i='pem der' ;;
		esac
		COMPREPLY=($(compgen -W "$i" -- "$cur")); return ;;
	--hash)
		COMPREPLY=($(compgen -W 'sha1 sha224 sha256 sha384 sha512' \
		    -- "$cur")); return ;;
	--padding)
		case $cmd in
		decrypt) i='pkcs1 none' ;;
		*) i='pkcs1 pss' ;;
		esac
		COMPREPLY=($(compgen -W "$i" -- "$cur")); return ;;
	--key-alg)
		COMPREPLY=($(compgen -W '3des aes128 aes192 aes256' -- "$cur"))
		return ;;
	-i | --in | -o | --out | --pin-file | --puk-file | --mgm-key-file | \
	    --new-pin-file | --new-puk-file | --new-key-file | --peer | -c | -a)
		COMPREPLY=($(compgen -f -- "$cur")); compopt -o filenames 2> /dev/null
		return ;;
	--reader | --serial | --subject | --valid-days | --comment | --count | \
	    --timeout | --notify | -t)
		return ;;
	esac

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '--reader --serial --json -v
			    --verbose -h --help --version' -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$_usbpiv_cmds" -- "$cur"))
		fi
		return
	fi

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_usbpiv_opts "$cmd")" -- "$cur"))
		return
	fi
	# the commands' own words and arguments
	case $cmd in
	pin) i='verify change unblock' ;;
	puk) i='change' ;;
	mgm-key) i='set' ;;
	read-object | write-object) i=$_usbpiv_objects ;;
	unlock)
		COMPREPLY=($(compgen -f -- "$cur")); compopt -o filenames 2> /dev/null
		return ;;
	udev-info)
		COMPREPLY=($(compgen -d -- "$cur")); compopt -o filenames 2> /dev/null
		return ;;
	*) return ;;
	esac
	# only as the command's first argument
	local j n=0
	for ((j = ci + 1; j < cword; j++)); do
		case ${words[j]} in
		-i | -o | -a | -c | -t | --?*-file | --in | --out | --slot | \
		    --from | --to | --format | --hash | --padding | --key-alg | \
		    --subject | --valid-days | --comment | --count | --timeout | \
		    --alg | --pin-policy | --touch-policy | --peer) ((j++)) ;;
		-*) ;;
		*) ((n++)) ;;
		esac
	done
	((n == 0)) && COMPREPLY=($(compgen -W "$i" -- "$cur"))
} &&
	complete -F _usbpiv usbpiv
