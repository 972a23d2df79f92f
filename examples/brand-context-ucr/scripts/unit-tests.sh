#!/bin/sh
# unit-tests.sh EXDIR BUILD OUT.tap (step unit-tests)
#
# Checks what the earlier steps generated against its sources, without a
# database: scripts parse, every table has a type with all its columns, every
# query names a table the schema creates, every component's type exists and
# every page in the navigation has its component.
set -eu
ex=${1:?usage: unit-tests.sh EXDIR BUILD OUT.tap}
build=${2:?usage: unit-tests.sh EXDIR BUILD OUT.tap}
out=${3:?usage: unit-tests.sh EXDIR BUILD OUT.tap}
schema=$ex/sql/001_tables.sql
. "$(dirname "$0")/tap.sh"

columns_match() { # TABLE TYPEFILE: same column names, same order
	cols=$(sed -n "/^CREATE TABLE IF NOT EXISTS $1 (/,/^);/p" "$schema" |
		sed -n 's/^    \([a-z_][a-z_]*\) .*/\1/p' | grep -v '^CONSTRAINT$' || true)
	fields=$(sed -n 's/^  \([a-z_]*\): .*/\1/p' "$2")
	[ -n "$cols" ] && [ "$cols" = "$fields" ] || {
		echo "schema: $cols"
		echo "type:   $fields"
		return 1
	}
}

tables_exist() { # FILE: every table a query names is created by the schema
	for t in $(tr -s " \"" "\n\n" <"$1" | awk 'p == "FROM" || p == "INTO" { print } { p = $0 }' | sort -u); do
		grep -q "^CREATE \(TABLE IF NOT EXISTS\|OR REPLACE VIEW\) $t \(AS\|(\)" "$schema" || {
			echo "$1 queries $t, which $schema does not create"
			return 1
		}
	done
}

type_exists() { # COMPONENT: the type it imports is exported by build/web/types
	t=$(sed -n 's/^import type { \([A-Za-z]*\) } from.*/\1/p' "$1")
	[ -z "$t" ] || grep -q "^export interface $t {" "$build"/web/types/*.ts
}

tests() {
	for s in "$ex"/scripts/*.sh; do
		tap_ok "sh -n $(basename "$s")" sh -n "$s"
	done
	for t in $(sed -n 's/^CREATE TABLE IF NOT EXISTS \([a-z_]*\) (.*/\1/p' "$schema"); do
		tap_ok "type for $t has its columns" columns_match "$t" "$build/types/${t%s}.ts"
		tap_ok "storage layer has queries for $t" grep -q "^  $t: {" "$build/api/storage.js"
	done
	for f in "$build"/api/*.js; do
		tap_ok "$(basename "$f") queries existing tables only" tables_exist "$f"
	done
	for c in "$build"/web/components/*.tsx; do
		tap_ok "$(basename "$c" .tsx) imports an existing type" type_exists "$c"
	done
	for c in $(sed -n 's/.*"component": "\([A-Za-z]*\)".*/\1/p' "$build/web/navigation.json"); do
		tap_ok "navigation page $c has its component" test -s "$build/web/components/$c.tsx"
	done
	tap_done
}

tap_report "$out" tests
