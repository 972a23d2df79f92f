/* require.h — the requirement language of `require =` (docs/rollouts.md): comparisons of
 * reported metrics with numbers (with an optional unit), joined by &&, || and
 * parentheses, such as `coverage >= 90 && (p95_ms < 300 || error_rate <= 0.01)`.
 * Parsed once at load time; evaluated against whatever metric values the caller looks up. */
#ifndef ORCH_REQUIRE_H
#define ORCH_REQUIRE_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct require;

/* Parse TEXT into a new requirement, or return NULL with the reason in *ERR (a new
 * string: "expected a number after '>=' at column 12"). */
struct require *require_parse(const char *text, char **err);
/* Free R (NULL is fine). */
void require_free(struct require *r);
/* The text R was parsed from. */
const char *require_text(const struct require *r);

/* Look NAME up: its latest value and unit (NULL or "" when none); false when not
 * reported. */
typedef bool require_lookup(void *arg, const char *name, double *value, const char **unit);
/* Whether R holds for the metrics LOOKUP(ARG) finds. When it does not, WHY (may be
 * NULL) gets what failed: "coverage is 85 %, needs >= 90", "p95_ms not reported". */
bool require_eval(const struct require *r, require_lookup *lookup, void *arg, struct buf *why);

#endif
