# SPDX-License-Identifier: MIT
# scripts/md2man.awk — the manual page from tools/usbpiv.1.md, the one
# source of the manual.  POSIX awk (mawk, busybox), no other tool:
#
#   awk -v version=0.1.0 -f scripts/md2man.awk tools/usbpiv.1.md > usbpiv.1
#
# It knows the Markdown the manual uses and nothing more: "# name(N) — what"
# (first line), "## SECTION", "### Subsection", paragraphs, definition lists
# (a term line, then ":   text" and lines indented by 4), "- " and "1. "
# lists (also inside a definition), code blocks indented by 4, tables
# ("| a | b |", shown as tagged paragraphs), **bold** and `code` (bold).
# Anything else comes out as text.

# The few non-ASCII characters the manual uses, as roff names them (the
# page then renders under any locale).
function ascii(s) {
	gsub(/\342\200\224/, "\\(em", s)
	gsub(/\342\200\223/, "\\(en", s)
	gsub(/\342\206\222/, "\\(->", s)
	gsub(/\342\200\246/, "...", s)
	return s
}

# Roff-escapes one line of text and turns inline markup into fonts.
function inline(s,    out, i, c, bold, code) {
	gsub(/\\/, "\\e", s)
	out = ""
	bold = 0
	code = 0
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (c == "`") {
			code = !code
			out = out (code ? "\\fB" : (bold ? "\\fB" : "\\fR"))
		} else if (!code && substr(s, i, 2) == "**") {
			bold = !bold
			out = out (bold ? "\\fB" : "\\fR")
			i++
		} else if (c == "-")
			out = out "\\-"
		else
			out = out c
	}
	if (code || bold)
		out = out "\\fR"
	return ascii(out)
}

# A text line for output: a leading . or ' would be a request.
function text(s) {
	s = inline(s)
	if (s ~ /^[.']/)
		s = "\\&" s
	return s
}

# Verbatim (code blocks): only escapes.
function verbatim(s) {
	gsub(/\\/, "\\e", s)
	gsub(/-/, "\\-", s)
	s = ascii(s)
	if (s ~ /^[.']/)
		s = "\\&" s
	return s
}

function strip(s) {
	sub(/^[ \t]+/, "", s)
	sub(/[ \t]+$/, "", s)
	return s
}

function close_list() {
	if (inlist) {
		print ".RE"
		inlist = 0
	}
}

BEGIN {
	indef = 0	# inside a definition (after .TP)
	inlist = 0	# inside a list nested in a definition (.RS)
	incode = 0
}

{ lines[NR] = $0 }

END {
	for (n = 1; n <= NR; n++) {
		l = lines[n]
		next_l = n < NR ? lines[n + 1] : ""

		if (n == 1 && l ~ /^# /) {
			t = substr(l, 3)
			name = t
			sub(/\(.*/, "", name)
			sec = t
			sub(/^[^(]*\(/, "", sec)
			sub(/\).*/, "", sec)
			what = t
			sub(/^[^ ]* +[^ ]+ +/, "", what)
			up = toupper(name)
			printf ".TH %s %s \"\" \"%s %s\" \"User Commands\"\n", up,
			    sec, name, version
			print ".nh"	# no hyphenation: names and options stay whole
			print ".ad l"
			print ".SH NAME"
			print name " \\- " inline(what)
			continue
		}
		if (incode) {
			if (l ~ /^    / || (l == "" && next_l ~ /^    /)) {
				print verbatim(substr(l, 5))
				continue
			}
			print ".fi"
			print ".RE"
			incode = 0
		}
		if (l ~ /^## /) {
			close_list()
			indef = 0
			print ".SH " text(toupper(substr(l, 4)))
			continue
		}
		if (l ~ /^### /) {
			close_list()
			indef = 0
			print ".SS " text(substr(l, 5))
			continue
		}
		if (l == "") {
			if (next_l ~ /^    [^ -]/ && indef) {
				close_list()
				print ".IP"	# the next paragraph of the definition
				n++
				print text(strip(lines[n]))
				continue
			}
			if (next_l ~ /^    / && !indef) {
				close_list()
				print ".PP"
				print ".RS 4"
				print ".nf"
				incode = 1
				continue
			}
			if (next_l !~ /^    / && next_l !~ /^:   /) {
				close_list()
				indef = 0
				if (next_l !~ /^(- |[0-9]+\. |\|)/)
					print ".PP"
			}
			continue
		}
		# a term: the next line starts its definition
		if (l !~ /^ / && next_l ~ /^:   /) {
			close_list()
			print ".TP"
			print text(l)
			indef = 1
			continue
		}
		if (l ~ /^:   /) {
			print text(strip(substr(l, 5)))
			continue
		}
		# tables: header and rule rows dropped, rows as tagged paragraphs
		if (l ~ /^\|/) {
			if (l ~ /^\| *-*:?-+/ || next_l ~ /^\| *-*:?-+/)
				continue
			row = l
			sub(/^\| */, "", row)
			sub(/ *\| *$/, "", row)
			tag = row
			sub(/ *\|.*/, "", tag)
			rest = row
			sub(/^[^|]*\| */, "", rest)
			gsub(/ *\| */, "; ", rest)
			print ".TP"
			print text(tag)
			print text(rest)
			continue
		}
		if (l ~ /^    - / && indef) {
			if (!inlist) {
				print ".RS"
				inlist = 1
			}
			print ".IP \\(bu 2"
			print text(substr(l, 7))
			continue
		}
		if (l ~ /^- /) {
			print ".IP \\(bu 2"
			print text(substr(l, 3))
			continue
		}
		if (l ~ /^[0-9]+\. /) {
			num = l
			sub(/\..*/, ".", num)
			body = l
			sub(/^[0-9]+\. /, "", body)
			print ".IP " num " 4"
			print text(body)
			continue
		}
		print text(strip(l))
	}
	if (incode) {
		print ".fi"
		print ".RE"
	}
}
