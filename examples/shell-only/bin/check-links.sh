#!/bin/sh
# check-links.sh DIR REPORT: every href="x" in DIR/*.html that is not a URL
# must name a file in DIR. Writes the links checked to REPORT.
set -eu
dir=$1
report=$2
mkdir -p "$(dirname "$report")"
bad=0
: >"$report.tmp"
for page in "$dir"/*.html; do
	# one tag per line, then the href of each
	for href in $(tr '<' '\n' <"$page" | sed -n 's/.* href="\([^"]*\)".*/\1/p' | sort -u); do
		case $href in
		*://*) continue ;;
		esac
		if [ -e "$dir/$href" ]; then
			echo "ok $(basename "$page") -> $href" >>"$report.tmp"
		else
			echo "BROKEN $(basename "$page") -> $href" | tee -a "$report.tmp" >&2
			bad=1
		fi
	done
done
mv "$report.tmp" "$report"
echo "check-links: $(grep -c '^ok' "$report") links ok"
exit "$bad"
