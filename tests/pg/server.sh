# tests/pg/server.sh — start and stop a throwaway PostgreSQL server for the tests:
# initdb + pg_ctl in a temporary directory, listening only on a Unix socket there.
# initdb refuses to run as root, so as root the server runs as user postgres.
# Sourced by tests/run-all and contrib/demo; exports PGHOST, PGPORT, PGUSER.

pg_bindir() {
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		[ -x "$d/initdb" ] && { echo "$d"; return 0; }
	done
	command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
	return 1
}

pg_as_owner() { # run a command as the server's owner
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# pg_server_start [DIR]: DIR defaults to a new temporary directory.
pg_server_start() {
	local bin
	bin=$(pg_bindir) || { echo "pg: no initdb found (is postgresql installed?)" >&2; return 1; }
	PG_TEST_DIR=${1:-$(mktemp -d /tmp/orch-pg.XXXXXX)}
	mkdir -p "$PG_TEST_DIR"
	chmod 755 "$PG_TEST_DIR"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$PG_TEST_DIR"
	if [ ! -f "$PG_TEST_DIR/data/PG_VERSION" ]; then
		pg_as_owner "$bin/initdb" -D "$PG_TEST_DIR/data" -A trust -U postgres -E UTF8 \
			--no-sync >"$PG_TEST_DIR/initdb.log" 2>&1 ||
			{ cat "$PG_TEST_DIR/initdb.log" >&2; return 1; }
	fi
	pg_as_owner "$bin/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_TEST_DIR/server.log" -w -t 60 \
		-o "-k $PG_TEST_DIR -c listen_addresses= -c fsync=off -c max_connections=100" start >/dev/null ||
		{ cat "$PG_TEST_DIR/server.log" >&2; return 1; }
	export PGHOST="$PG_TEST_DIR" PGPORT=5432 PGUSER=postgres PG_TEST_DIR
	export PG_TEST_BIN="$bin"
}

pg_server_stop() {
	[ -n "${PG_TEST_DIR:-}" ] && [ -d "$PG_TEST_DIR/data" ] || return 0
	pg_as_owner "$PG_TEST_BIN/pg_ctl" -D "$PG_TEST_DIR/data" -m fast -w stop >/dev/null 2>&1
	case "${PG_TEST_KEEP:-}" in
	1) ;;
	*) rm -rf "$PG_TEST_DIR" ;;
	esac
	PG_TEST_DIR=
}
