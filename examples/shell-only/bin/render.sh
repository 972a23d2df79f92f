#!/bin/sh
# render.sh TEMPLATE OUTDIR FILE.txt...: render text pages to HTML.
#
# Line 1 is the title; "# x" is a heading, "- x" a list item, "[text](url)" a
# link, a blank line ends a paragraph; &, < and > are escaped.
set -eu
template=$1
out=$2
shift 2
mkdir -p "$out"
for src in "$@"; do
	name=$(basename "$src" .txt)
	title=$(head -n 1 "$src" | sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g')
	body=$(tail -n +2 "$src" |
		sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g' |
		sed 's|\[\([^]]*\)\](\([^)]*\))|<a href="\2">\1</a>|g' |
		awk '
		function close_block() {
			if (inlist) print "</ul>"
			if (inpara) print "</p>"
			inlist = inpara = 0
		}
		/^$/ { close_block(); next }
		/^# / { close_block(); print "<h2>" substr($0, 3) "</h2>"; next }
		/^- / {
			if (inpara) { print "</p>"; inpara = 0 }
			if (!inlist) { print "<ul>"; inlist = 1 }
			print "<li>" substr($0, 3) "</li>"; next
		}
		{
			if (inlist) { print "</ul>"; inlist = 0 }
			if (!inpara) { print "<p>"; inpara = 1 }
			print
		}
		END { close_block() }')
	# the body may hold any character: hand it to awk through the environment
	TITLE=$title BODY=$body awk '
		{ gsub(/@TITLE@/, ENVIRON["TITLE"]) }
		/^@BODY@$/ { print ENVIRON["BODY"]; next }
		{ print }' "$template" >"$out/$name.html.tmp"
	mv "$out/$name.html.tmp" "$out/$name.html"
	echo "render: $out/$name.html"
done
