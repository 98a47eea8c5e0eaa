#!/bin/sh
# SPDX-License-Identifier: MIT
# bash completion (tools/usbpiv.bash): it knows exactly the commands
# `usbpiv --help` lists; every option it offers for a command is one that
# command accepts, and every option a command's --help names and accepts is
# offered; and completing in a real bash gives the slots, algorithms,
# command words and file names.
set -u
. tests/lib/common.sh
need bash
need_built "$USBPIV"
C=$PWD/tools/usbpiv.bash
[ -f "$C" ] || fail "no tools/usbpiv.bash"
n=0
ok() { n=$((n + 1)); echo "ok $n: $*"; }

bash -n "$C" || fail "bash -n tools/usbpiv.bash"

# complete WORDS...: what _usbpiv offers for the last word (may be empty)
complete_() {
	bash --norc --noprofile -c '. "$1"; shift
	    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
	    COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
	    _usbpiv usbpiv "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	    printf "%s\n" "${COMPREPLY[@]}"' complete "$C" "$@" | sort
}

"$USBPIV" --help | sed -n '/^Commands/,/^$/p' | awk 'NR > 1 && NF { print $1 }' |
	sort > "$T/cmds.help"
[ "$(wc -l < "$T/cmds.help")" -ge 20 ] || fail "cannot read the command list"
complete_ usbpiv '' > "$T/cmds.comp"
diff "$T/cmds.help" "$T/cmds.comp" || fail "completion's commands differ from usbpiv --help"
ok "the commands are those of usbpiv --help ($(wc -l < "$T/cmds.comp"))"

# an argument each option accepts, for asking the parser
arg_for() {
	case $1 in
	--slot | --from | --to) echo 9a ;;
	--alg) echo p256 ;;
	--pin-policy | --touch-policy) echo never ;;
	--key-alg) echo aes128 ;;
	--valid-days | --count | --timeout) echo 1 ;;
	--json | --force | --compress | --protect | --touch | --generate | -h | --help) ;;
	*) echo x ;;
	esac
}
checked=0
while read -r c; do
	[ "$c" = agent ] && continue
	complete_ usbpiv "$c" - > "$T/opts"
	[ -s "$T/opts" ] || fail "$c: no options offered"
	while read -r o; do
		a=$(arg_for "$o")
		# shellcheck disable=SC2086
		"$USBPIV" "$c" "$o" $a --help > /dev/null 2> "$T/err" ||
			{ cat "$T/err"; fail "$c: completion offers $o, which $c refuses"; }
		checked=$((checked + 1))
	done < "$T/opts"
	# the options its help names and it accepts are offered
	"$USBPIV" "$c" --help | grep -o -- '--[a-z][a-z-]*' | sort -u > "$T/named"
	while read -r o; do
		a=$(arg_for "$o")
		# shellcheck disable=SC2086
		"$USBPIV" "$c" "$o" $a --help > /dev/null 2>&1 || continue
		grep -qx -- "$o" "$T/opts" || fail "$c: --help names $o, completion does not offer it"
	done < "$T/named"
done < "$T/cmds.help"
ok "each command's offered options ($checked) are accepted, and its --help's accepted options are offered"

# the options of its Options section (lines "  -x ..." / "  --xx ...")
"$USBPIV" agent --help | sed -n 's/^  \(--*[a-zA-Z][a-z-]*\).*/\1/p' | sort -u > "$T/named"
[ "$(wc -l < "$T/named")" -ge 8 ] || fail "cannot read agent's options"
complete_ usbpiv agent - > "$T/opts"
while read -r o; do
	grep -qx -- "$o" "$T/opts" || fail "agent: --help names $o, completion does not offer it"
done < "$T/named"
ok "agent: every option of its --help is offered"

complete_ usbpiv --reader x keygen --slot '' > "$T/o"
for s in 9a 9c 9d 9e 82 95 f9; do grep -qx "$s" "$T/o" || fail "--slot does not offer $s"; done
[ "$(wc -l < "$T/o")" -eq 25 ] || fail "--slot offers $(wc -l < "$T/o") slots, not 25"
[ "$(complete_ usbpiv move-key --from 9a --to 8)" = "$(printf '82\n83\n84\n85\n86\n87\n88\n89\n8a\n8b\n8c\n8d\n8e\n8f')" ] ||
	fail "--to 8 does not complete the retired slots"
complete_ usbpiv keygen --alg '' | grep -qx ed25519 || fail "--alg"
[ "$(complete_ usbpiv mgm-key --key-alg aes2)" = aes256 ] || fail "--key-alg"
[ "$(complete_ usbpiv export-cert --format '' | tr '\n' ' ')" = "der pem " ] || fail "export-cert --format"
complete_ usbpiv export-pubkey --format '' | grep -qx ssh || fail "export-pubkey --format ssh"
[ "$(complete_ usbpiv pin ch)" = change ] || fail "pin ch -> change"
[ -z "$(complete_ usbpiv pin change ch)" ] || fail "pin's word offered twice"
[ "$(complete_ usbpiv --json read-object ch)" = chuid ] || fail "read-object ch -> chuid"
[ "$(complete_ usbpiv ss)" = ssh-keys ] || fail "ss -> ssh-keys"
complete_ usbpiv --v | grep -qx -- --version || fail "global --version"
ok "slots 9a 9c 9d 9e 82-95 f9, algorithms, formats, key algorithms, command words, global options"

mkdir "$T/d" && : > "$T/d/pin.txt" && : > "$T/d/key.pem"
[ "$(complete_ usbpiv sign --pin-file "$T/d/p")" = "$T/d/pin.txt" ] || fail "--pin-file FILE"
[ "$(complete_ usbpiv import-key --slot 9a -i "$T/d/k")" = "$T/d/key.pem" ] || fail "-i FILE"
[ "$(complete_ usbpiv unlock "$T/d/k")" = "$T/d/key.pem" ] || fail "unlock FILE"
ok "file names for -i, --pin-file and unlock's FILE"
echo "bash_completion: $n passed, 0 failed"
