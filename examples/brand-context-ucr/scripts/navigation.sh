#!/bin/sh
# navigation.sh COMPONENTSDIR OUT.json (step navigation)
#
# Writes the navigation: one entry per page, in menu order. Fails if a page's
# component has not been written, so the menu never links to nothing.
set -eu
dir=${1:?usage: navigation.sh COMPONENTSDIR OUT.json}
out=${2:?usage: navigation.sh COMPONENTSDIR OUT.json}
trap 'rm -f "$out.tmp"' EXIT

mkdir -p "$(dirname "$out")"
{
	echo '{'
	echo '  "generated_by": "navigation.sh",'
	echo '  "pages": ['
	sep=
	while read -r component path label; do
		if [ ! -s "$dir/$component.tsx" ]; then
			echo "navigation: $dir/$component.tsx is missing" >&2
			exit 1
		fi
		[ -z "$sep" ] || echo "$sep"
		printf '    { "label": "%s", "path": "%s", "component": "%s" }' "$label" "$path" "$component"
		sep=,
	done <<PAGES
BrandList /brands Brands
ContextEditor /brands/:id/contexts Contexts
ReportsPage /reports Reports
PAGES
	echo
	echo '  ]'
	echo '}'
} >"$out.tmp"
mv "$out.tmp" "$out"
echo "navigation: $out"
