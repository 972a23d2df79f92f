/* require.c — the tiny requirement language of `require =`: a recursive-descent parser
 * into a tree of comparisons, && and ||, and its evaluation against metric values. The
 * grammar (docs/rollouts.md):
 *
 *	expr  := and ( "||" and )*
 *	and   := unary ( "&&" unary )*
 *	unary := "(" expr ")" | NAME OP NUMBER [UNIT]
 *	OP    := "<" | "<=" | ">" | ">=" | "==" | "!="
 *
 * NAME is a metric name (a letter or _, then letters, digits, _ and .); UNIT is letters
 * or % right after the number ("300ms"), or a % after a blank ("90 %"): when the metric was reported with a
 * unit, the two must agree. */
#include "require.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum rkind { R_CMP, R_AND, R_OR };
enum rop { OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ, OP_NE };

struct require {
	enum rkind kind;
	struct require *a, *b; /* R_AND, R_OR */
	char *name;            /* R_CMP */
	enum rop op;
	double bound;
	char *unit;  /* "" when none */
	char *text;  /* the whole text, at the root only */
};

static const char *opnames[] = {"<", "<=", ">", ">=", "==", "!="};

struct parser {
	const char *s, *p;
	char *err;
};

static void skip(struct parser *ps)
{
	ps->p += strspn(ps->p, " \t");
}

static void fail(struct parser *ps, const char *what)
{
	if (!ps->err)
		ps->err = *ps->p ? xasprintf("%s at column %d ('%.20s')", what, (int)(ps->p - ps->s) + 1, ps->p)
		                 : xasprintf("%s at the end", what);
}

static struct require *node(enum rkind k, struct require *a, struct require *b)
{
	struct require *r = xcalloc(1, sizeof(*r));

	r->kind = k, r->a = a, r->b = b;
	return r;
}

static struct require *expr(struct parser *ps);

static struct require *compare(struct parser *ps)
{
	const char *start;
	struct require *r;
	char *end;
	int op = -1;

	skip(ps);
	start = ps->p;
	if (!isalpha((unsigned char)*ps->p) && *ps->p != '_') {
		fail(ps, "expected a metric name or '('");
		return NULL;
	}
	while (isalnum((unsigned char)*ps->p) || *ps->p == '_' || *ps->p == '.')
		ps->p++;
	r = node(R_CMP, NULL, NULL);
	r->name = xstrndup(start, (size_t)(ps->p - start));
	skip(ps);
	for (int i = 0; i < 6; i++) /* longest first: "<=" before "<" */
		if (strncmp(ps->p, opnames[i], strlen(opnames[i])) == 0 &&
		    (op < 0 || strlen(opnames[i]) > strlen(opnames[op])))
			op = i;
	if (op < 0) {
		fail(ps, "expected a comparison (<, <=, >, >=, ==, !=)");
		require_free(r);
		return NULL;
	}
	r->op = (enum rop)op;
	ps->p += strlen(opnames[op]);
	skip(ps);
	r->bound = strtod(ps->p, &end);
	if (end == ps->p || !isfinite(r->bound) || (*ps->p != '-' && *ps->p != '+' && *ps->p != '.' &&
	                                            !isdigit((unsigned char)*ps->p))) {
		fail(ps, "expected a number");
		require_free(r);
		return NULL;
	}
	ps->p = end;
	/* a unit right after the number ("300ms"), or a "%" after a blank ("90 %") */
	if (!isalpha((unsigned char)*ps->p) && *ps->p != '%' && ps->p[strspn(ps->p, " \t")] == '%')
		skip(ps);
	start = ps->p;
	while (isalpha((unsigned char)*ps->p) || *ps->p == '%')
		ps->p++;
	r->unit = xstrndup(start, (size_t)(ps->p - start));
	return r;
}

static struct require *unary(struct parser *ps)
{
	struct require *r;

	skip(ps);
	if (*ps->p != '(')
		return compare(ps);
	ps->p++;
	if (!(r = expr(ps)))
		return NULL;
	skip(ps);
	if (*ps->p != ')') {
		fail(ps, "expected ')'");
		require_free(r);
		return NULL;
	}
	ps->p++;
	return r;
}

/* One level: operands of UNDER joined by TOKEN into KIND nodes. */
static struct require *level(struct parser *ps, struct require *(*under)(struct parser *), const char *token,
                             enum rkind kind)
{
	struct require *r = under(ps), *b;

	while (r) {
		skip(ps);
		if (strncmp(ps->p, token, 2) != 0)
			break;
		ps->p += 2;
		if (!(b = under(ps))) {
			require_free(r);
			return NULL;
		}
		r = node(kind, r, b);
	}
	return r;
}

static struct require *and_level(struct parser *ps)
{
	return level(ps, unary, "&&", R_AND);
}

static struct require *expr(struct parser *ps)
{
	return level(ps, and_level, "||", R_OR);
}

struct require *require_parse(const char *text, char **err)
{
	struct parser ps = {text, text, NULL};
	struct require *r = expr(&ps);

	if (r) {
		skip(&ps);
		if (*ps.p) {
			fail(&ps, *ps.p == '&' || *ps.p == '|' ? "expected && or ||" : "expected && or || or the end");
			require_free(r);
			r = NULL;
		}
	}
	if (!r) {
		*err = ps.err ? ps.err : xstrdup("bad requirement");
		return NULL;
	}
	r->text = xstrdup(text);
	*err = NULL;
	return r;
}

void require_free(struct require *r)
{
	if (!r)
		return;
	require_free(r->a);
	require_free(r->b);
	free(r->name);
	free(r->unit);
	free(r->text);
	free(r);
}

const char *require_text(const struct require *r)
{
	return r->text;
}

static bool holds(enum rop op, double v, double bound)
{
	switch (op) {
	case OP_LT: return v < bound;
	case OP_LE: return v <= bound;
	case OP_GT: return v > bound;
	case OP_GE: return v >= bound;
	case OP_EQ: return v == bound;
	case OP_NE: return v != bound;
	}
	return false;
}

static void said(struct buf *why, const char *sep)
{
	if (why && why->len)
		buf_puts(why, sep);
}

bool require_eval(const struct require *r, require_lookup *lookup, void *arg, struct buf *why)
{
	double v;
	const char *unit = NULL;
	struct buf a = {0}, b = {0};
	bool ok;

	switch (r->kind) {
	case R_AND:
		ok = require_eval(r->a, lookup, arg, why) && require_eval(r->b, lookup, arg, why);
		return ok;
	case R_OR:
		ok = require_eval(r->a, lookup, arg, &a) || require_eval(r->b, lookup, arg, &b);
		if (!ok && why) {
			said(why, "; ");
			buf_printf(why, "%s, and %s", buf_str(&a), buf_str(&b));
		}
		buf_free(&a);
		buf_free(&b);
		return ok;
	case R_CMP:
		break;
	}
	if (!lookup(arg, r->name, &v, &unit)) {
		if (why)
			buf_printf(why, "%s not reported (needs %s %g%s)", r->name, opnames[r->op], r->bound, r->unit);
		return false;
	}
	if (r->unit[0] && unit && unit[0] && strcmp(r->unit, unit) != 0) {
		if (why)
			buf_printf(why, "%s is %g %s, not in %s (needs %s %g%s)", r->name, v, unit, r->unit, opnames[r->op],
			           r->bound, r->unit);
		return false;
	}
	if (holds(r->op, v, r->bound))
		return true;
	if (why)
		buf_printf(why, "%s is %g%s%s, needs %s %g%s", r->name, v, unit && unit[0] ? " " : "", unit ? unit : "",
		           opnames[r->op], r->bound, r->unit);
	return false;
}
