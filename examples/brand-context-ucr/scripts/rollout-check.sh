#!/bin/sh
# rollout-check.sh (the health check of the rollout steps while they hold)
#
# What a canary watch asks of the live data, as metrics in $ORCH_METRICS
# (orch's check_require judges them): contexts without a brand
# (orphan_contexts), and the share of migrated brands that lost every context
# (error_rate). Prints them; fails only when the database cannot be asked.
set -eu
. "$(dirname "$0")/tap.sh"

orphans=$(sql -c "SELECT count(*) FROM contexts c LEFT JOIN brands b ON b.id = c.brand_id WHERE b.id IS NULL")
rate=$(sql -c "SELECT coalesce(round(avg(CASE WHEN r.contexts = 0 THEN 1 ELSE 0 END), 4), 0)
    FROM brand_context_report r JOIN brands b ON b.id = r.brand_id WHERE b.legacy_ids <> '{}'")
echo "orphan contexts: $orphans, error rate: $rate"
if [ -n "${ORCH_METRICS:-}" ]; then
	{
		echo "orphan_contexts=$orphans"
		echo "error_rate=$rate"
	} >>"$ORCH_METRICS"
fi
