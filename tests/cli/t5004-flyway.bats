#!/usr/bin/env bats
# t5004-flyway — a Flyway directory run as it is, through a [flyway NAME] section, on
# examples/flyway-shop and small directories: version order (1.2.10 after 1.2.9, V1_2 as
# 1.2), U files as rollback, R files after every versioned one and again when they
# change, Flyway's checksum and out-of-order refusals as orch has them, misnamed files.
# Deploy, full undo and redeploy leave the same schema.

load lib

psql_db() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

dump_schema() {
	pg_dump --schema-only --no-owner -N orch -N orch_backup -d "$DB" >schema.sql || return 1
	grep -v -e '^--' -e '^$' -e '^.restrict' -e '^.unrestrict' -e '^SET ' -e '^SELECT pg_catalog.set_config' schema.sql || true
}

setup() { pg_setup t5004; }
teardown() { pg_teardown; }

copy_shop() {
	cp -R "$TOP/examples/flyway-shop" shop
	rm -rf shop/.orch
	cd shop || return 1
}

@test "a [flyway NAME] section: V files in version order, their U files as rollback, R files last" {
	copy_shop
	run_orch -t commands migrations
	expect_status 0
	expect_stdout <<-'EOF'
	# V1__create_customers (sql)
	sql/V1__create_customers.sql
	# V1.1__create_orders (sql)
	sql/V1.1__create_orders.sql
	# V1_2__order_status (sql)
	sql/V1_2__order_status.sql
	# V1.2.9__order_notes (sql)
	sql/V1.2.9__order_notes.sql
	# V1.2.10__orders_by_customer (sql)
	sql/V1.2.10__orders_by_customer.sql
	# R__order_totals (sql)
	sql/views/R__order_totals.sql
	EOF
	run_orch -t query R__order_totals
	expect_status 0
	expect_stdout <<-'EOF'
	R__order_totals: sql step: order totals
	  needs:
	    step V1.2.10__orders_by_customer (needs)
	  needed by:
	    milestone migrations (needs)
	EOF
	run_orch --check
	expect_status 0
	expect_stdout <<<"Orchfile: ok: 7 steps, 0 phases, 1 milestone, 0 pools"
}

@test "examples/flyway-shop: migrate, undo everything to an empty schema, migrate again to the same schema" {
	copy_shop
	empty=$(dump_schema)
	run_orch
	expect_status 0
	expect_contains stdout "$output" "[6/7] ok R__order_totals: order totals"
	expect_contains stdout "$output" "[7/7] ok smoke-test"
	first=$(dump_schema)
	expect_contains schema "$first" "CREATE VIEW shop.order_totals AS"
	expect_contains schema "$first" "CREATE INDEX orders_by_customer ON shop.orders"
	run psql_db -c "SELECT count(*) FROM shop.customers"
	expect_stdout <<<0
	# the R file has no undo (Flyway has none): without --force nothing is undone
	run_orch --rollback all --yes
	expect_status 2
	expect_contains stderr "$stderr" "step R__order_totals (Orchfile:14) is completed and has no rollback"
	run_orch --rollback all --yes --force
	expect_status 0
	expect_contains stdout "$output" "forgot R__order_totals"
	expect_contains stdout "$output" "rolled back V1__create_customers"
	expect_same "schema after the undo" "$empty" "$(dump_schema)"
	# what --force forgot is not undone: its registry row stays (the next run applies it again)
	run psql_db -c "SELECT string_agg(step, ' ') FROM orch.registry"
	expect_stdout <<<R__order_totals
	run_orch
	expect_status 0
	expect_same "schema after migrating again" "$first" "$(dump_schema)"
}

@test "a changed R file runs again; a changed applied V file is refused, as Flyway's checksum check does" {
	copy_shop
	run_orch
	expect_status 0
	sed -i 's/AS total_cents/AS total_cents, count(l.sku) AS lines/' sql/views/R__order_totals.sql
	run_orch
	expect_status 0
	expect_contains stdout "$output" "[1/2] ok R__order_totals"
	expect_contains stdout "$output" "[2/2] ok smoke-test"
	run psql_db -c "SELECT lines FROM shop.order_totals WHERE false"
	expect_status 0
	# an applied versioned migration edited: refused, nothing runs
	echo '-- edited' >> sql/V1.1__create_orders.sql
	run_orch
	expect_status 1
	expect_contains stderr "$stderr" "step V1.1__create_orders was applied and has changed since (sql/V1.1__create_orders.sql changed since it was applied to database"
}

@test "a new version below the applied ones is refused (Flyway's outOfOrder = false); a higher one runs" {
	copy_shop
	run_orch
	expect_status 0
	echo 'ALTER TABLE shop.customers ADD COLUMN phone text;' > sql/V1.2.5__customer_phone.sql
	run_orch
	expect_status 1
	expect_contains stderr "$stderr" "step V1.2.9__order_notes was applied and has changed since (dependency V1.2.5__customer_phone added)"
	run psql_db -c "SELECT count(*) FROM information_schema.columns WHERE column_name = 'phone'"
	expect_stdout <<<0
	mv sql/V1.2.5__customer_phone.sql sql/V2__customer_phone.sql
	run_orch
	expect_status 0
	expect_contains stdout "$output" "[1/3] ok V2__customer_phone: customer phone"
	# a new versioned migration comes before the R files: they run again after it
	expect_contains stdout "$output" "[2/3] ok R__order_totals"
}

@test "misnamed migrations, a version twice and an undo without its version are errors; nothing runs" {
	mkdir sql
	for f in V1__a V1_1__b V1.1__c V2_x V3_init U4__gone R_views V5__ afterMigrate; do
		echo 'SELECT 1;' > "sql/$f.sql"
	done
	printf '[orch]\nname = bad\n[flyway db]\ndir = sql\n' > Orchfile
	run_orch --check
	expect_status 2
	expect_stderr <<-'EOF'
	orch: error: sql/R_views.sql: not a Flyway migration name (R__<description>.sql)
	orch: error: sql/V2_x.sql: not a Flyway migration name (V<version>__<description>.sql, version as 1, 1.2 or 1_2)
	orch: error: sql/V3_init.sql: not a Flyway migration name (V<version>__<description>.sql, version as 1, 1.2 or 1_2)
	orch: error: sql/V5__.sql: not a Flyway migration name (V<version>__<description>.sql, version as 1, 1.2 or 1_2)
	orch: error: sql/V1_1__b.sql: version 1_1 again (as in sql/V1.1__c.sql): each version is one migration
	orch: error: sql/U4__gone.sql: undoes version 4, which has no V4__ migration
	orch: error: Orchfile: 6 errors; nothing was run
	EOF
}
