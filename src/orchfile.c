/* orchfile.c — the Orchfile reader. inih splits the text into sections and
 * key = value pairs (multi-line values arrive as one call per line); this file
 * collects them, expands ${variables} and turns them into the graph, checking
 * every name, key and value and reporting each error as FILE:LINE.
 *
 * Two details of inih shape the reader. inih's section buffer holds only 50 bytes
 * and it does not tell which lines it rejected (only the first), so the reader
 * function that feeds it lines also notes each section header and each content line;
 * a content line for which the handler was never called is a syntax error. And
 * Debian's inih is configured at run time: heap line buffer growing without a
 * practical limit, and no inline comments, so a ';' inside a value is kept. */
#include "orchfile.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "flyway.h"
#include "notify.h"
#include "sqitch.h"
#include "require.h"
#include "sqlsplit.h"

struct entry { /* in the parser's arena, as are the sections and their strings */
	char *key;
	char *value;
	int line;
};

struct section {
	char *type; /* "orch", "vars", "env", "target", "pool", "phase", "step", "milestone" */
	char *name; /* NULL for [orch], [vars] and [env] */
	int line;
	struct vec entries; /* its array in the arena too */
	struct node *node;
	struct pool *pool;
	char *after; /* a phase's expanded after, for load_after */
};

struct parser {
	const char *file;
	const char *text;
	size_t len, pos;
	int lineno;       /* current physical line */
	bool atstart;     /* the next read starts a new line */
	bool indented;    /* the current line starts with a blank */
	size_t skipto;    /* a line inih must not see (it holds a NUL) ends here, or 0 */
	int pending;      /* a content line not yet handled, or 0 */
	int pendingheader;
	struct vec sections;
	struct arena mem;     /* the sections, their entries and strings, until built */
	const char *words[64]; /* the section types and keys seen, each kept once (interned) */
	size_t nwords;
	struct section *cur;  /* NULL before the first header and after a broken one */
	bool broken;          /* the last header was broken: its keys are not checked */
	struct section *vars;
	struct section *env; /* [env]: exported to every step */
	struct section *notify; /* [notify] */
	struct vec targets;   /* struct section * of each [target NAME] */
	struct section *target; /* the target read: its keys are variables too */
	struct graph *g;
	int errors;
	struct vec msgs; /* struct perror *, printed by print_errors */
	int srcerrors; /* printed by sqitch.c and flyway.c themselves */
	int depth;  /* variable expansion nesting */
	bool defer; /* an undefined variable is no error: database keys, see load_step */
	bool target_changelog; /* the target read names its own changelog */
};

static void perr(struct parser *p, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* -D NAME=VALUE from the command line: over [vars], for ${NAME} and SQL's :NAME */
static struct vec defines;

int orchfile_define(const char *nv)
{
	const char *eq = strchr(nv, '=');

	if (!eq || eq == nv || isdigit((unsigned char)nv[0]))
		return -1;
	for (const char *c = nv; c < eq; c++)
		if (!isalnum((unsigned char)*c) && *c != '_')
			return -1;
	vec_push(&defines, xstrdup(nv));
	return 0;
}

/* The value -D gave NAME, or NULL. */
static const char *defined(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = defines.n; i-- > 0;) {
		const char *nv = defines.v[i];

		if (strncmp(nv, name, n) == 0 && nv[n] == '=')
			return nv + n + 1;
	}
	return NULL;
}

/* Errors are collected and printed in line order once the whole file is read, as
 * the checks run section by section and pass by pass. */
struct perror {
	int line;
	size_t seq; /* keeps the order of errors on one line */
	char *msg;
	bool own;   /* MSG names its own FILE:LINE (an error in a SQL file) */
};

static void perr(struct parser *p, int line, const char *fmt, ...)
{
	struct perror *e = xmalloc(sizeof(*e));
	va_list ap;

	va_start(ap, fmt);
	e->msg = xvasprintf(fmt, ap);
	va_end(ap);
	e->line = line;
	e->seq = p->msgs.n;
	e->own = false;
	vec_push(&p->msgs, e);
	p->errors++;
}

static int cmp_perror(const void *a, const void *b)
{
	const struct perror *x = *(struct perror *const *)a, *y = *(struct perror *const *)b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Print the errors in line order, each once (a variable used in several places
 * may report the same error on the line that defines it); returns how many. */
static int print_errors(struct parser *p)
{
	int printed = 0;

	if (p->msgs.n)
		qsort(p->msgs.v, p->msgs.n, sizeof(*p->msgs.v), cmp_perror);
	fflush(stdout);
	for (size_t i = 0; i < p->msgs.n; i++) {
		struct perror *e = p->msgs.v[i];
		bool seen = false;

		for (size_t j = i; j-- > 0 && !seen;) {
			struct perror *prev = p->msgs.v[j];

			if (prev->line != e->line)
				break;
			seen = strcmp(prev->msg, e->msg) == 0;
		}
		if (!seen && e->own) {
			fprintf(stderr, "%s\n", e->msg);
			printed++;
		} else if (!seen) {
			diag(p->file, e->line, "%s", e->msg);
			printed++;
		}
	}
	for (size_t i = 0; i < p->msgs.n; i++) {
		struct perror *e = p->msgs.v[i];

		free(e->msg);
		free(e);
	}
	vec_free(&p->msgs);
	return printed;
}

/* A node's log is .orch/logs/NAME.log, and may come to carry an attempt number
 * (NAME.12.log): a name leaves room for both within a file name (NAME_MAX). */
#define NAME_LEN_MAX (NAME_MAX - (int)sizeof(".log") + 1 - 11)

static bool valid_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return false;
	return true;
}

/* ---- reading: inih and the reader that feeds it ---- */

static void check_unhandled(struct parser *p)
{
	if (!p->pending)
		return;
	if (p->pendingheader)
		perr(p, p->pending, "section header without closing ']'");
	else
		perr(p, p->pending, "expected 'key = value', '[section]' or a comment");
	p->pending = 0;
}

/* S in the arena once: a plan's sections share a few types and keys, and a million
 * steps would otherwise hold a million copies of "step" and "run". */
static char *intern(struct parser *p, const char *str)
{
	char *c;

	for (size_t i = 0; i < p->nwords; i++)
		if (strcmp(p->words[i], str) == 0)
			return (char *)p->words[i];
	c = arena_strndup(&p->mem, str, strlen(str));
	if (p->nwords < sizeof(p->words) / sizeof(p->words[0]))
		p->words[p->nwords++] = c;
	return c;
}

static void open_section(struct parser *p, const char *start, size_t n)
{
	struct section *s = arena_alloc(&p->mem, sizeof(*s));
	char *text = xstrndup(start, n);
	char *type = text + strspn(text, " \t");
	char *name = type + strcspn(type, " \t");
	char *end;

	if (*name)
		*name++ = '\0';
	name += strspn(name, " \t");
	for (end = name + strlen(name); end > name && isspace((unsigned char)end[-1]);)
		*--end = '\0';
	s->type = intern(p, type);
	s->name = *name ? arena_strndup(&p->mem, name, strlen(name)) : NULL;
	s->line = p->lineno;
	free(text);
	vec_push(&p->sections, s);
	p->cur = s;
	p->broken = false;
}

/* Inspect the physical line starting at p->pos (the text is LEN bytes, not a string). */
static void begin_line(struct parser *p)
{
	const char *line = p->text + p->pos;
	const char *nl = memchr(line, '\n', p->len - p->pos);
	size_t n = nl ? (size_t)(nl - line) : p->len - p->pos;
	size_t lead = 0;

	check_unhandled(p);
	p->lineno++;
	if (memchr(line, '\0', n)) {
		/* inih would see the line cut at the NUL: it gets an empty line instead */
		perr(p, p->lineno, "NUL byte in the line (an Orchfile is text)");
		p->skipto = p->pos + n + (nl != NULL);
		while (lead < n && isspace((unsigned char)line[lead]))
			lead++;
		if (lead < n && line[lead] == '[') {
			/* a header, broken: its keys belong to no section we know */
			p->cur = NULL;
			p->broken = true;
		}
		return;
	}
	if (p->lineno == 1 && n >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0)
		lead = 3;
	p->indented = lead < n && (line[lead] == ' ' || line[lead] == '\t');
	while (lead < n && isspace((unsigned char)line[lead]))
		lead++;
	if (lead == n || line[lead] == '#' || line[lead] == ';')
		return;
	p->pending = p->lineno;
	p->pendingheader = line[lead] == '[';
	if (line[lead] == '[') {
		const char *close = memchr(line + lead, ']', n - lead);

		if (close) {
			open_section(p, line + lead + 1, (size_t)(close - line - lead - 1));
			p->pending = 0;
		} else {
			/* reported by check_unhandled; its keys belong to no section we know */
			p->cur = NULL;
			p->broken = true;
		}
	}
}

static char *reader(char *str, int num, void *stream)
{
	struct parser *p = stream;
	size_t n = 0;

	if (p->pos >= p->len || num < 2)
		return NULL;
	if (p->atstart)
		begin_line(p);
	if (p->skipto) {
		p->pos = p->skipto;
		p->skipto = 0;
		p->atstart = true;
		strcpy(str, "\n");
		return str;
	}
	{ /* up to its newline, or as much as fits */
		const char *from = p->text + p->pos, *nl;

		n = p->len - p->pos < (size_t)num - 1 ? p->len - p->pos : (size_t)num - 1;
		if ((nl = memchr(from, '\n', n)))
			n = (size_t)(nl - from) + 1;
		memcpy(str, from, n);
		p->pos += n;
	}
	str[n] = '\0';
	p->atstart = str[n - 1] == '\n' || p->pos >= p->len;
	return str;
}

static struct entry *find_entry(struct section *s, const char *key)
{
	for (size_t i = 0; i < s->entries.n; i++) {
		struct entry *e = s->entries.v[i];

		if (strcmp(e->key, key) == 0)
			return e;
	}
	return NULL;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parser *p = user;
	struct section *s = p->cur;
	struct entry *e;

	(void)section; /* truncated by inih at 50 bytes: the reader tracks sections */
	p->pending = 0;
	if (!s) {
		if (!p->broken)
			perr(p, p->lineno, "'%s' is outside of any section", name);
		return 1;
	}
	if (p->indented && s->entries.n) {
		e = s->entries.v[s->entries.n - 1];
		if (strcmp(e->key, name) == 0) {
			size_t a = strlen(e->value), b = strlen(value);
			char *v = arena_alloc(&p->mem, a + b + 2);

			memcpy(v, e->value, a);
			v[a] = '\n';
			memcpy(v + a + 1, value, b);
			e->value = v;
			return 1;
		}
	}
	if ((e = find_entry(s, name))) {
		perr(p, p->lineno, "duplicate key '%s' (first set at line %d)", name, e->line);
		return 1;
	}
	e = arena_alloc(&p->mem, sizeof(*e));
	e->key = intern(p, name);
	e->line = p->lineno;
	e->value = arena_strndup(&p->mem, value, strlen(value));
	if (s->entries.n == s->entries.cap) {
		void **v = arena_alloc(&p->mem, (s->entries.cap ? 2 * s->entries.cap : 2) * sizeof(*v));

		if (s->entries.n)
			memcpy(v, s->entries.v, s->entries.n * sizeof(*v));
		s->entries.v = v;
		s->entries.cap = s->entries.cap ? 2 * s->entries.cap : 2;
	}
	s->entries.v[s->entries.n++] = e;
	return 1;
}

static void read_ini(struct parser *p)
{
	int rc;

	ini_allow_multiline = true;
	ini_allow_inline_comments = false;
	ini_use_stack = false;
	ini_allow_realloc = true;
	ini_initial_alloc = 4096;
	ini_max_line = INT_MAX / 2;
	ini_stop_on_first_error = false;
	ini_allow_no_value = false;
	p->atstart = true;
	rc = ini_parse_stream(reader, p, handler, p);
	check_unhandled(p);
	if (rc == -2)
		fatalx(EXIT_FAILED, "out of memory reading %s", p->file);
	if (rc > 0 && !p->errors)
		perr(p, rc, "syntax error");
}

/* ---- variables ---- */

static char *expand(struct parser *p, struct section *s, const char *value, int line);

static bool var_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* The keys of [target NAME] that are settings, not variables. */
static bool target_key(const char *key)
{
	return strcmp(key, "database") == 0 || strcmp(key, "jobs") == 0 || strcmp(key, "changelog") == 0;
}

/* The value of variable NAME for section S, or NULL when undefined. */
static char *lookup(struct parser *p, struct section *s, const char *name, int line, bool *failed)
{
	struct entry *e;
	const char *env;

	if (strcmp(name, "step") == 0 && s && strcmp(s->type, "step") == 0)
		return xstrdup(s->name);
	if (strcmp(name, "phase") == 0 && s) {
		if (strcmp(s->type, "phase") == 0)
			return xstrdup(s->name);
		if ((e = find_entry(s, "phase")))
			return xstrdup(e->value);
		return xstrdup("");
	}
	if (strcmp(name, "orch_dir") == 0)
		return xstrdup(p->g->dir);
	if (defined(name))
		return xstrdup(defined(name));
	if (strcmp(name, "run_id") == 0)
		return xstrdup("$ORCH_RUN_ID");
	if (strcmp(name, "target") == 0)
		return xstrdup(p->g->target ? p->g->target : "");
	/* a target's values win over [vars]: the same plan, another environment */
	if ((p->target && (e = find_entry(p->target, name)) && !target_key(name)) ||
	    (p->vars && (e = find_entry(p->vars, name)))) {
		char *v;

		if (p->depth > 32) {
			perr(p, line, "variable ${%s} refers to itself, directly or through other variables", name);
			*failed = true;
			return NULL;
		}
		p->depth++;
		v = expand(p, s, e->value, e->line);
		p->depth--;
		if (!v)
			*failed = true;
		return v;
	}
	if ((env = getenv(name)))
		return xstrdup(env);
	return NULL;
}

/* Expand ${NAME} and ${NAME:-default} in VALUE; "$${" stands for a literal "${".
 * Returns a new string, or NULL after reporting an error. */
static char *expand(struct parser *p, struct section *s, const char *value, int line)
{
	struct buf b = {0};
	const char *v = value;

	if (!strchr(value, '$')) /* nothing to expand: most values of a big plan */
		return xstrdup(value);
	while (*v) {
		const char *name, *end, *dflt = NULL;
		char *key, *got;
		bool failed = false;
		int nest = 0;

		if (v[0] == '$' && v[1] == '$' && v[2] == '{') {
			buf_puts(&b, "${");
			v += 3;
			continue;
		}
		if (v[0] != '$') { /* the text up to the next '$', in one piece */
			size_t run = strcspn(v, "$");

			buf_add(&b, v, run);
			v += run;
			continue;
		}
		if (v[1] != '{') {
			buf_putc(&b, *v++);
			continue;
		}
		name = v + 2;
		for (end = name; var_char(*end); end++)
			;
		if (end == name || (*end != '}' && !(end[0] == ':' && end[1] == '-'))) {
			perr(p, line, "bad variable reference '%.*s' (use ${NAME} or ${NAME:-default})",
			     (int)strcspn(v, "} \t\n") + (v[strcspn(v, "} \t\n")] == '}'), v);
			buf_free(&b);
			return NULL;
		}
		if (*end == ':') {
			const char *q;

			dflt = end + 2;
			for (q = dflt; *q && (nest || *q != '}'); q++)
				if (q[0] == '$' && q[1] == '{')
					nest++, q++;
				else if (*q == '}')
					nest--;
			if (!*q) {
				perr(p, line, "unterminated variable reference '${%.*s'", (int)(end - name), name);
				buf_free(&b);
				return NULL;
			}
			key = xstrndup(name, (size_t)(end - name));
			got = lookup(p, s, key, line, &failed);
			if (!got && !failed) {
				char *d = xstrndup(dflt, (size_t)(q - dflt));

				got = expand(p, s, d, line);
				failed = !got;
				free(d);
			}
			v = q + 1;
		} else {
			key = xstrndup(name, (size_t)(end - name));
			got = lookup(p, s, key, line, &failed);
			if (!got && !failed) {
				if (!p->defer)
					perr(p, line, "undefined variable ${%s} (not in [vars]%s nor the environment)", key,
					     p->target ? ", the target" : "");
				failed = true;
			}
			v = end + 1;
		}
		free(key);
		if (failed) {
			buf_free(&b);
			return NULL;
		}
		buf_puts(&b, got);
		free(got);
	}
	/* exactly its size: a million steps keep their run strings */
	{
		char *exact = xstrndup(buf_str(&b), b.len);

		buf_free(&b);
		return exact;
	}
}

/* ---- sections to graph ---- */

enum keytype { K_STR, K_LIST, K_DUR, K_COUNT, K_BOOL, K_SPECIAL };

struct keydef {
	const char *name;
	enum keytype type;
	size_t off; /* in struct node, or in struct nodex for the keys marked X */
	bool ext;
};

#define F(field) offsetof(struct node, field), false
#define X(field) offsetof(struct nodex, field), true
static const struct keydef step_keys[] = {
	{"title", K_STR, F(title)},         {"phase", K_SPECIAL, 0, false},
	{"needs", K_SPECIAL, 0, false},            {"run", K_STR, F(run)},
	{"sql", K_STR, F(sql)},             {"sql_verify", K_STR, X(sql_verify)},
	{"sql_rollback", K_STR, X(sql_rollback)}, {"database", K_STR, X(database)},
	{"transaction", K_BOOL, F(transaction)}, {"verify", K_STR, X(verify)},
	{"rollback", K_STR, X(rollback)},   {"inputs", K_LIST, F(inputs)},
	{"outputs", K_LIST, X(outputs)},    {"estimate", K_DUR, F(est_ms)},
	{"timeout", K_DUR, X(timeout_ms)},  {"retries", K_COUNT, X(retries)},
	{"retry_delay", K_DUR, X(retry_delay_ms)}, {"pool", K_SPECIAL, 0, false},
	{"manual", K_SPECIAL, 0, false},           {"prompt", K_STR, X(prompt)},
	{"always", K_BOOL, F(always)},      {"on_change", K_SPECIAL, 0, false},
	{"env", K_SPECIAL, 0, false},              {"type", K_STR, X(type)},
	{"component", K_STR, X(component)}, {"impact", K_STR, X(impact)},
	{"refs", K_STR, X(refs)},           {"backup", K_LIST, X(backup)},
	{"lock_timeout", K_DUR, X(lock_timeout_ms)}, {"statement_timeout", K_DUR, X(statement_timeout_ms)},
	{"backup_schema", K_LIST, X(backup_schema)},
	{"hold", K_SPECIAL, 0, false},             {"check", K_SPECIAL, 0, false},
	{"check_every", K_SPECIAL, 0, false},      {"check_failures", K_SPECIAL, 0, false},
	{"on_fail", K_SPECIAL, 0, false},          {"require", K_SPECIAL, 0, false},
	{"check_require", K_SPECIAL, 0, false},   {"runs_on", K_STR, X(runs_on)},
	{"on_interrupt", K_SPECIAL, 0, false},
	{NULL, 0, 0, false},
};
static const struct keydef phase_keys[] = {
	{"number", K_SPECIAL, 0, false}, {"title", K_STR, F(title)}, {"after", K_SPECIAL, 0, false}, {NULL, 0, 0, false},
};
static const struct keydef milestone_keys[] = {
	{"title", K_STR, F(title)}, {"needs", K_SPECIAL, 0, false}, {"validate", K_STR, X(validate)},
	{"allow_skipped", K_BOOL, X(allow_skipped)}, {"require", K_SPECIAL, 0, false}, {NULL, 0, 0, false},
};
#undef F
#undef X

static const struct keydef *find_key(const struct keydef *defs, const char *name)
{
	for (; defs->name; defs++)
		if (strcmp(defs->name, name) == 0)
			return defs;
	return NULL;
}

/* "; did you mean 'NAME'?" for the closest of the NULL-terminated NAMES to WORD, or "". */
static const char *did_you_mean(const char *word, const char *const *names, char *out, size_t len)
{
	struct suggestion sg;

	suggest_start(&sg, word);
	for (; *names; names++)
		suggest_offer(&sg, *names);
	if (!sg.best)
		return "";
	snprintf(out, len, "; did you mean '%s'?", sg.best);
	return out;
}

static void unknown_key(struct parser *p, struct section *s, struct entry *e, const struct keydef *defs)
{
	struct buf b = {0};
	struct vec names = {0};
	char hint[64];

	for (; defs->name; defs++) {
		buf_printf(&b, "%s%s", b.len ? ", " : "", defs->name);
		vec_push(&names, (void *)defs->name);
	}
	vec_push(&names, NULL);
	perr(p, e->line, "unknown key '%s' in [%s%s%s] (known keys: %s)%s", e->key, s->type,
	     s->name ? " " : "", s->name ? s->name : "", buf_str(&b),
	     did_you_mean(e->key, (const char *const *)names.v, hint, sizeof(hint)));
	buf_free(&b);
	vec_free(&names);
}

/* Set a simple typed field of N from entry E (already expanded into V, which the caller
 * keeps). */
static void set_field(struct parser *p, struct node *n, const struct keydef *k, struct entry *e, const char *v)
{
	char *field = (k->ext ? (char *)node_x(n) : (char *)n) + k->off;
	int64_t d;
	long c;
	int b;

	switch (k->type) {
	case K_STR: /* kept with the graph, packed */
		*(char **)field = graph_strdup(p->g, v);
		break;
	case K_LIST: /* the words too, and their array */
		graph_split_words(p->g, v, (struct vec *)field);
		break;
	case K_DUR:
		if ((d = parse_duration(v)) < 0)
			perr(p, e->line, "bad duration '%s' for %s (use e.g. 90s, 45m, 1h30m, 2d)", v, e->key);
		*(int64_t *)field = d;
		break;
	case K_COUNT:
		if ((c = parse_count(v, 1000000)) < 0)
			perr(p, e->line, "bad number '%s' for %s (use a whole number such as 3)", v, e->key);
		*(int *)field = (int)c;
		break;
	case K_BOOL:
		if ((b = parse_bool(v)) < 0)
			perr(p, e->line, "bad boolean '%s' for %s (use yes or no)", v, e->key);
		*(bool *)field = b == 1;
		break;
	case K_SPECIAL:
		break;
	}
}

/* A name in a needs/after list: report it when undefined. */
static struct node *resolve(struct parser *p, struct node *n, const char *name, int line, const char *key)
{
	struct node *d = graph_find(p->g, name);

	if (!d && strcmp(name, "all") != 0 && strncmp(name, "phase", 5) == 0)
		graph_target(p->g, name, &d);
	if (!d && strcmp(name, "all") == 0)
		perr(p, line, "%s '%s' %s 'all', which is the whole plan, not a step, phase or milestone",
		     node_kindname(n), n->name, key);
	else if (!d)
		perr(p, line, "%s '%s' %s '%s', which is not defined", node_kindname(n), n->name, key, name);
	else if (d == n)
		perr(p, line, "%s '%s' %s itself", node_kindname(n), n->name, key);
	return d == n ? NULL : d;
}

static void add_needs(struct parser *p, struct node *n, struct entry *e, const char *v)
{
	struct vec words = {0};

	split_words(v, &words);
	graph_reservedeps(n, words.n);
	for (size_t i = 0; i < words.n; i++) {
		struct node *d = resolve(p, n, words.v[i], e->line, "needs");

		if (d)
			graph_adddep(n, d, e->line, EDGE_NEEDS);
		free(words.v[i]);
	}
	vec_free(&words);
}

/* env: each line of the value is one KEY=value, expanded on its own, so that a
 * variable whose value holds a newline can neither add an entry nor break one. */
static void set_env(struct parser *p, struct section *s, struct entry *e)
{
	struct vec lines = {0};
	const char *raw = e->value;

	while (*raw) {
		size_t len = strcspn(raw, "\n");
		char *src = xstrndup(raw, len);
		char *line = len ? expand(p, s, src, e->line) : NULL;
		char *eq = line ? strchr(line, '=') : NULL;
		bool ok = eq && eq != line && var_char(line[0]) && !isdigit((unsigned char)line[0]);

		for (char *c = line; ok && c < eq; c++)
			ok = var_char(*c);
		if (line && !ok) {
			perr(p, e->line, "bad env entry '%s' (use KEY=value, one per line)", line);
		} else if (line && strchr(eq, '\n')) {
			perr(p, e->line, "env %.*s: its value has a newline once '%s' is expanded; an environment value is one line",
			     (int)(eq - line), line, src);
			ok = false;
		}
		if (ok)
			vec_push(&lines, line);
		else
			free(line);
		free(src);
		raw += len + (raw[len] == '\n');
	}
	s->node->env = lines;
}

/* Whether KEY can name an environment variable: letters, digits and '_', not starting
 * with a digit (KEY is LEN bytes). */
static bool env_name(const char *key, size_t len)
{
	if (!len || isdigit((unsigned char)key[0]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!var_char(key[i]))
			return false;
	return true;
}

/* [env]: its keys, checked once; their values are expanded for each step (load_env). */
static void check_env(struct parser *p)
{
	for (size_t i = 0; p->env && i < p->env->entries.n; i++) {
		struct entry *e = p->env->entries.v[i];

		if (!env_name(e->key, strlen(e->key)))
			perr(p, e->line, "bad [env] key '%s' (use letters, digits and _, not starting with a digit)",
			     e->key);
	}
}

/* Add the [env] entries to step S's env, expanded for S as [vars] values are (so
 * ${step} is the step), before its own; a key the step's own env sets is left to it.
 * A manual gate runs nothing and gets none. */
static void load_env(struct parser *p, struct section *s)
{
	struct node *n = s->node;
	struct vec merged = {0};

	if (!p->env || !p->env->entries.n || find_entry(s, "manual"))
		return;
	for (size_t i = 0; i < p->env->entries.n; i++) {
		struct entry *e = p->env->entries.v[i];
		size_t klen = strlen(e->key);
		bool own = false;
		char *v;

		if (!env_name(e->key, klen))
			continue; /* reported by check_env */
		for (size_t j = 0; j < n->env.n && !own; j++)
			own = strncmp(n->env.v[j], e->key, klen) == 0 && ((char *)n->env.v[j])[klen] == '=';
		if (own || !(v = expand(p, s, e->value, e->line)))
			continue;
		if (strchr(v, '\n'))
			perr(p, e->line, "[env] %s: its value has a newline once expanded; an environment value is one line",
			     e->key);
		else
			vec_push(&merged, xasprintf("%s=%s", e->key, v));
		free(v);
	}
	if (merged.n)
		node_x(n)->env_plan = merged.n;
	for (size_t j = 0; j < n->env.n; j++)
		vec_push(&merged, n->env.v[j]);
	vec_free(&n->env);
	n->env = merged;
}

/* A key that needs more than a field set: called with the expanded value V, which it
 * frees. */
typedef void special_key(struct parser *p, struct section *s, struct entry *e, char *v);

/* Check every key of S against DEFS and expand its value: typed keys set their field
 * of the node, the others go to SPECIAL. */
static void load_keys(struct parser *p, struct section *s, const struct keydef *defs, special_key *special)
{
	for (size_t i = 0; i < s->entries.n; i++) {
		struct entry *e = s->entries.v[i];
		const struct keydef *k = find_key(defs, e->key);
		char *v;

		if (!k) {
			unknown_key(p, s, e, defs);
			continue;
		}
		/* a typed key whose value has nothing to expand is set from the value as is */
		if (k->type != K_SPECIAL && !strchr(e->value, '$')) {
			set_field(p, s->node, k, e, e->value);
			continue;
		}
		/* An unset variable in a database key defers to DATABASE_URL at run time, so
		 * a plan can be listed and checked without a database. */
		p->defer = strcmp(e->key, "database") == 0;
		v = expand(p, s, e->value, e->line);
		p->defer = false;
		if (!v)
			continue;
		if (k->type != K_SPECIAL) {
			set_field(p, s->node, k, e, v);
			free(v);
		} else {
			special(p, s, e, v);
		}
	}
}

/* N's rollout keys, made on the first one. */
static struct rollout *rollout_of(struct node *n)
{
	if (!n->ro) {
		n->ro = xcalloc(1, sizeof(*n->ro));
		n->ro->check_every_ms = 5 * 60 * 1000;
		n->ro->check_failures = 3;
	}
	return n->ro;
}

/* hold, check, check_every, check_failures, on_fail (docs/rollouts.md). */
static void rollout_key(struct parser *p, struct node *n, struct entry *e, const char *v)
{
	struct rollout *ro = rollout_of(n);
	int64_t d;
	long c;

	if (strcmp(e->key, "require") == 0 || strcmp(e->key, "check_require") == 0) {
		char *err = NULL;
		struct require *r = require_parse(v, &err);

		if (!r) {
			perr(p, e->line, "bad %s '%s': %s", e->key, v, err);
			free(err);
		}
		*(e->key[0] == 'r' ? &ro->require : &ro->check_require) = r;
	} else if (strcmp(e->key, "hold") == 0 || strcmp(e->key, "check_every") == 0) {
		if ((d = parse_duration(v)) < 0 || (d == 0 && e->key[0] == 'c'))
			perr(p, e->line, "bad duration '%s' for %s (use e.g. 2s, 5m, 8h, 1d)", v, e->key);
		*(e->key[0] == 'h' ? &ro->hold_ms : &ro->check_every_ms) = d < 0 ? 0 : d;
	} else if (strcmp(e->key, "check") == 0) {
		free(ro->check);
		ro->check = xstrdup(v);
	} else if (strcmp(e->key, "check_failures") == 0) {
		if ((c = parse_count(v, 1000000)) < 1)
			perr(p, e->line, "bad number '%s' for check_failures (use a whole number such as 3)", v);
		ro->check_failures = c < 1 ? 1 : (int)c;
	} else { /* on_fail */
		ro->on_fail_line = e->line;
		if (strcmp(v, "stop") == 0) {
			ro->on_fail = ROFAIL_STOP;
		} else if (strcmp(v, "fail") == 0) {
			ro->on_fail = ROFAIL_FAIL;
		} else if (strncmp(v, "rollback", 8) == 0 && (v[8] == ' ' || v[8] == '\t')) {
			const char *t = v + 8 + strspn(v + 8, " \t");
			struct node *to = graph_find(p->g, t);

			if (!to && strncmp(t, "phase", 5) == 0)
				graph_target(p->g, t, &to);
			if (!to || to->kind == NODE_MILESTONE)
				perr(p, e->line, "on_fail of step '%s' rolls back '%s', which is not a step or phase", n->name, t);
			ro->on_fail = ROFAIL_ROLLBACK;
			ro->rollback_to = to;
		} else {
			perr(p, e->line, "bad on_fail '%s' (use fail, stop, rollback PHASE or rollback STEP)", v);
		}
	}
}

/* The on_interrupt V at LINE (a step's, or [orch]'s default for them). */
static enum oninterrupt on_interrupt_value(struct parser *p, int line, const char *v)
{
	if (strcmp(v, "rerun") == 0)
		return ONINTERRUPT_RERUN;
	if (strcmp(v, "fail") == 0)
		return ONINTERRUPT_FAIL;
	if (strcmp(v, "ask") != 0)
		perr(p, line, "bad on_interrupt '%s' (use rerun, ask or fail)", v);
	return ONINTERRUPT_ASK;
}

static void step_special(struct parser *p, struct section *s, struct entry *e, char *v)
{
	struct node *n = s->node;

	if (strcmp(e->key, "hold") == 0 || strncmp(e->key, "check", 5) == 0 || strcmp(e->key, "on_fail") == 0 ||
	    strcmp(e->key, "require") == 0) {
		rollout_key(p, n, e, v);
	} else if (strcmp(e->key, "phase") == 0) {
		struct node *ph = graph_find(p->g, v);

		if (!ph || ph->kind != NODE_PHASE)
			perr(p, e->line, "step '%s' is in phase '%s', which is not defined", n->name, v);
		else {
			n->phase = ph;
			n->phase_line = e->line;
			vec_push(&node_x(ph)->steps, n);
		}
	} else if (strcmp(e->key, "needs") == 0) {
		add_needs(p, n, e, v);
	} else if (strcmp(e->key, "pool") == 0) {
		if (!(n->pool = graph_findpool(p->g, v)))
			perr(p, e->line, "step '%s' uses pool '%s', which is not defined", n->name, v);
	} else if (strcmp(e->key, "manual") == 0) {
		int b = parse_bool(v);

		if (b < 0)
			perr(p, e->line, "bad boolean '%s' for manual (use yes or no)", v);
		if (b == 1)
			n->stepkind = STEP_MANUAL;
	} else if (strcmp(e->key, "on_change") == 0) {
		if (strcmp(v, "rerun") == 0)
			n->on_change = ONCHANGE_RERUN;
		else if (strcmp(v, "error") == 0)
			n->on_change = ONCHANGE_ERROR;
		else if (strcmp(v, "ignore") == 0)
			n->on_change = ONCHANGE_IGNORE;
		else
			perr(p, e->line, "bad on_change '%s' (use rerun, error or ignore)", v);
	} else if (strcmp(e->key, "on_interrupt") == 0) {
		enum oninterrupt oi = on_interrupt_value(p, e->line, v);

		if (oi != ONINTERRUPT_ASK)
			node_x(n)->on_interrupt = oi;
	} else if (strcmp(e->key, "env") == 0) {
		set_env(p, s, e);
	}
	free(v);
}

/* Read the SQL file PATH of key KEY as a run would, so that what psql would do and orch
 * does not (a backslash command, a missing include) is an error before anything runs.
 * A missing file itself is the run's to report. */
static void check_sql(struct parser *p, struct section *s, const char *key, const char *path)
{
	struct sqlfile f;
	struct entry *e = find_entry(s, key);
	char *full, *err = NULL;

	if (!path || !*path || !e)
		return;
	full = path[0] == '/' ? xstrdup(path) : xasprintf("%s/%s", p->g->dir, path);
	if (access(full, R_OK) == 0 && sqlfile_read_vars(p->g->dir, path, &p->g->sqlvars, &f, &err) < 0) {
		struct perror *pe;

		perr(p, e->line, "%s", err);
		pe = p->msgs.v[p->msgs.n - 1];
		pe->own = true;
		free(err);
	} else if (access(full, R_OK) == 0) {
		sqlfile_free(&f);
	}
	free(full);
}

/* The variables SQL files see: [vars] (those that expand) and -D, as NAME=VALUE. */
static void collect_sqlvars(struct parser *p)
{
	for (size_t i = 0; p->vars && i < p->vars->entries.n; i++) {
		struct entry *e = p->vars->entries.v[i];
		const char *d = defined(e->key);
		bool ok = true;
		char *v;

		for (const char *c = e->key; *c; c++)
			ok &= isalnum((unsigned char)*c) || *c == '_';
		if (!ok || d)
			continue;
		p->defer = true;
		v = expand(p, NULL, e->value, e->line);
		p->defer = false;
		if (v) {
			vec_push(&p->g->sqlvars, xasprintf("%s=%s", e->key, v));
			free(v);
		}
	}
	for (size_t i = 0; i < defines.n; i++)
		vec_push(&p->g->sqlvars, xstrdup(defines.v[i]));
}

static void load_step(struct parser *p, struct section *s)
{
	struct node *n = s->node;
	struct entry *manual;
	bool has_run, has_sql;

	load_keys(p, s, step_keys, step_special);
	load_env(p, s);
	manual = n->stepkind == STEP_MANUAL ? find_entry(s, "manual") : NULL;
	/* Judge by the keys present, so that a bad value is not reported twice. */
	has_run = find_entry(s, "run") != NULL;
	has_sql = find_entry(s, "sql") != NULL;
	if (manual && (has_run || has_sql))
		perr(p, manual->line, "step '%s' is a manual gate and cannot also have %s", n->name, has_run ? "run" : "sql");
	else if (has_run && has_sql)
		perr(p, s->line, "step '%s' has both run and sql; split it into two steps", n->name);
	else if (!manual && !has_run && !has_sql && !find_entry(s, "manual"))
		perr(p, s->line, "step '%s' has neither run, sql nor manual = yes", n->name);
	if (!has_sql && (find_entry(s, "sql_verify") || find_entry(s, "sql_rollback")))
		perr(p, s->line, "step '%s' has %s without sql", n->name, find_entry(s, "sql_verify") ? "sql_verify" : "sql_rollback");
	n->stepkind = manual ? STEP_MANUAL : n->sql ? STEP_SQL : STEP_RUN;
	if (n->on_change == ONCHANGE_DEFAULT)
		n->on_change = n->stepkind == STEP_SQL ? ONCHANGE_ERROR : ONCHANGE_RERUN;
	if (n->x->backup.n && !has_sql)
		perr(p, s->line, "step '%s' has backup but no sql", n->name);
	if (n->x->backup_schema.n && !has_sql)
		perr(p, s->line, "step '%s' has backup_schema but no sql", n->name);
	else if (n->x->backup_schema.n > PG_SCHEMAS_MAX)
		perr(p, find_entry(s, "backup_schema")->line, "step '%s' has %u schemas in backup_schema; at most %d",
		     n->name, n->x->backup_schema.n, PG_SCHEMAS_MAX);
	if (!has_sql && (find_entry(s, "lock_timeout") || find_entry(s, "statement_timeout")))
		perr(p, s->line, "step '%s' has %s but no sql", n->name,
		     find_entry(s, "lock_timeout") ? "lock_timeout" : "statement_timeout");
	if (n->x->runs_on && (!n->run || has_sql || manual || n->ro))
		perr(p, find_entry(s, "runs_on")->line,
		     "step '%s' has runs_on but is not a plain shell step (run =, no sql, manual or hold): only those run on "
		     "workers",
		     n->name);
	if (n->x->runs_on && strcmp(n->x->runs_on, "*") != 0 && !valid_name(n->x->runs_on))
		perr(p, find_entry(s, "runs_on")->line,
		     "bad runs_on '%s' (a worker's label: letters, digits, '-', '_' and '.'; or * for any worker)",
		     n->x->runs_on);
	if (n->x->runs_on && !find_entry(s, "on_interrupt") && p->g->on_interrupt != ONINTERRUPT_ASK)
		node_x(n)->on_interrupt = p->g->on_interrupt;
	if (!n->x->runs_on && find_entry(s, "on_interrupt"))
		perr(p, find_entry(s, "on_interrupt")->line,
		     "step '%s' has on_interrupt but no runs_on: it is what a worker's lost lease does (a local step an orch "
		     "left interrupted runs again on the next run)",
		     n->name);
	if (n->ro && manual)
		perr(p, manual->line, "step '%s' is a manual gate and cannot hold (hold, check, on_fail)", n->name);
	else if (n->ro && !find_entry(s, "hold") && (find_entry(s, "check") || find_entry(s, "on_fail")))
		perr(p, s->line, "step '%s' has %s but no hold", n->name, find_entry(s, "check") ? "check" : "on_fail");
	else if (n->ro && !n->ro->check &&
	         (find_entry(s, "check_every") || find_entry(s, "check_failures") || find_entry(s, "check_require")))
		perr(p, s->line, "step '%s' has %s but no check", n->name,
		     find_entry(s, "check_every") ? "check_every" : find_entry(s, "check_failures") ? "check_failures"
		                                                                                 : "check_require");
	check_sql(p, s, "sql", n->sql);
	check_sql(p, s, "sql_verify", n->x->sql_verify);
	check_sql(p, s, "sql_rollback", n->x->sql_rollback);
}

/* "after" waits for load_after, once every step knows its phase. */
static void phase_special(struct parser *p, struct section *s, struct entry *e, char *v)
{
	if (strcmp(e->key, "number") == 0) {
		long num = parse_count(v, 1000000);

		if (num < 1)
			perr(p, e->line, "bad phase number '%s' (use 1, 2, 3...)", v);
		s->node->number = (int)num;
	} else if (strcmp(e->key, "after") == 0) {
		s->after = v; /* its names resolve once every step knows its phase */
		return;
	}
	free(v);
}

static void load_phase(struct parser *p, struct section *s)
{
	load_keys(p, s, phase_keys, phase_special);
}

/* A phase's "after" becomes edges from the phase itself and from its barrier node
 * (graph_barrier), once every step knows its phase; each of the phase's steps needs the
 * barrier. "phase b complete" then includes "phase a complete", so a phase after b waits
 * for a whatever state b's steps are in (skipped, done before a was). Edges: steps +
 * phases per name, never their product. */
static void load_after(struct parser *p, struct section *s)
{
	struct entry *e = find_entry(s, "after");
	struct vec words = {0};
	struct node *ph = s->node, *b = NULL;

	if (!s->after)
		return;
	split_words(s->after, &words);
	for (size_t i = 0; i < words.n; i++) {
		struct node *d = resolve(p, ph, words.v[i], e->line, "runs after");

		if (d && d->kind != NODE_PHASE)
			perr(p, e->line, "phase '%s' runs after '%s', which is a %s, not a phase", ph->name,
			     d->name, node_kindname(d));
		else if (d) {
			graph_adddep(ph, d, e->line, EDGE_AFTER);
			if (ph->x->steps.n) {
				b = graph_barrier(p->g, ph);
				graph_adddep(b, d, e->line, EDGE_AFTER);
			}
		}
		free(words.v[i]);
	}
	vec_free(&words);
	for (size_t j = 0; b && j < ph->x->steps.n; j++)
		graph_adddep(ph->x->steps.v[j], b, e->line, EDGE_AFTER);
}

static void milestone_special(struct parser *p, struct section *s, struct entry *e, char *v)
{
	if (strcmp(e->key, "require") == 0)
		rollout_key(p, s->node, e, v);
	else
		add_needs(p, s->node, e, v);
	free(v);
}

static void load_milestone(struct parser *p, struct section *s)
{
	struct node *n = s->node;

	load_keys(p, s, milestone_keys, milestone_special);
	if (!find_entry(s, "needs"))
		perr(p, s->line, "milestone '%s' has no needs", n->name);
}

/* [sqitch NAME] (plan = FILE) and [flyway NAME] (dir = DIR): a project's migrations
 * become steps (sqitch.c, flyway.c); the section is a milestone needing them all, its
 * phase is theirs and its needs are what the first one needs. */
static void load_source(struct parser *p, struct section *s)
{
	bool sq = strcmp(s->type, "sqitch") == 0;
	const char *pathkey = sq ? "plan" : "dir";
	static const char *const sqkeys[] = {"plan", "title", "phase", "needs", "database", NULL};
	static const char *const fwkeys[] = {"dir", "title", "phase", "needs", "database", NULL};
	const char *const *keys = sq ? sqkeys : fwkeys;
	char *vals[5] = {NULL}, *project = NULL;
	struct entry *ents[5] = {NULL};
	struct vec steps = {0}, words = {0};
	struct node *ph = NULL;

	for (size_t i = 0; i < s->entries.n; i++) {
		struct entry *e = s->entries.v[i];
		size_t k = 0;
		char hint[64];

		while (keys[k] && strcmp(keys[k], e->key) != 0)
			k++;
		if (!keys[k]) {
			perr(p, e->line, "unknown key '%s' in [%s %s] (known keys: %s, title, phase, needs, database)%s", e->key,
			     s->type, s->name, pathkey, did_you_mean(e->key, keys, hint, sizeof(hint)));
			continue;
		}
		p->defer = k == 4; /* see load_step */
		vals[k] = expand(p, s, e->value, e->line);
		p->defer = false;
		ents[k] = e;
	}
	if (vals[1])
		s->node->title = vals[1];
	if (vals[2] && (!(ph = graph_find(p->g, vals[2])) || ph->kind != NODE_PHASE)) {
		perr(p, ents[2]->line, "[%s %s] is in phase '%s', which is not defined", s->type, s->name, vals[2]);
		ph = NULL;
	}
	if (!ents[0])
		perr(p, s->line, "[%s %s] needs %s = %s", s->type, s->name, pathkey, sq ? "path/to/sqitch.plan" : "DIR");
	else if (vals[0])
		p->srcerrors += sq ? sqitch_add(p->g, vals[0], vals[4], s->line, &steps, &project)
		                   : flyway_add(p->g, vals[0], vals[4], s->line, &steps);
	if (vals[3])
		split_words(vals[3], &words);
	for (size_t i = 0; i < words.n; i++) {
		struct node *d = resolve(p, s->node, words.v[i], ents[3]->line, "needs");

		if (d && steps.n)
			graph_adddep(steps.v[0], d, ents[3]->line, EDGE_NEEDS);
		if (d)
			graph_adddep(s->node, d, ents[3]->line, EDGE_NEEDS);
		free(words.v[i]);
	}
	for (size_t i = 0; i < steps.n; i++) {
		struct node *n = steps.v[i];

		graph_adddep(s->node, n, s->line, EDGE_NEEDS);
		if (ph) {
			n->phase = ph;
			n->phase_line = ents[2]->line;
			vec_push(&node_x(ph)->steps, n);
		}
	}
	if (sq && !s->node->title && project)
		s->node->title = xasprintf("sqitch project %s", project);
	free(project);
	vec_free(&words);
	vec_free(&steps);
	for (size_t k = 0; k < 5; k++)
		if (k != 1)
			free(vals[k]);
}

static char *changelog_value(struct parser *p, int line, char *v);

static void load_orch(struct parser *p, struct section *s)
{
	struct graph *g = p->g;

	for (size_t i = 0; i < s->entries.n; i++) {
		struct entry *e = s->entries.v[i];
		char *v;
		long n;

		if (strcmp(e->key, "database") == 0) {
			p->defer = true; /* see load_step */
			g->database = expand(p, s, e->value, e->line);
			p->defer = false;
			continue;
		}
		if (strcmp(e->key, "target") == 0)
			continue; /* read by choose_target */
		if (strcmp(e->key, "state") == 0) {
			free(g->state);
			g->state = expand(p, s, e->value, e->line);
			g->state_line = e->line;
			if (g->state && !*g->state) {
				free(g->state); /* state = (empty): the journal file */
				g->state = NULL;
			}
			continue;
		}
		if (strcmp(e->key, "on_interrupt") == 0) {
			if ((v = expand(p, s, e->value, e->line)))
				g->on_interrupt = on_interrupt_value(p, e->line, v);
			free(v);
			continue;
		}
		if (strcmp(e->key, "metrics") == 0) {
			free(g->metrics);
			g->metrics = expand(p, s, e->value, e->line);
			continue;
		}
		if (strcmp(e->key, "name") && strcmp(e->key, "jobs") && strcmp(e->key, "changelog") &&
		    strcmp(e->key, "share_database") && strcmp(e->key, "lock_timeout") &&
		    strcmp(e->key, "statement_timeout") && strcmp(e->key, "report")) {
			static const char *const keys[] = {"name",           "jobs",         "database",
			                                   "changelog",      "target",       "share_database",
			                                   "lock_timeout",   "statement_timeout", "report", "metrics",
			                                   "state",          "on_interrupt", NULL};
			char hint[64];

			perr(p, e->line,
			     "unknown key '%s' in [orch] (known keys: name, jobs, database, state, changelog, report, "
			     "metrics, target, share_database, lock_timeout, statement_timeout, on_interrupt)%s",
			     e->key, did_you_mean(e->key, keys, hint, sizeof(hint)));
			continue;
		}
		if (strcmp(e->key, "share_database") == 0) {
			int b;

			if (!(v = expand(p, s, e->value, e->line)))
				continue;
			b = parse_bool(v);
			if (b < 0)
				perr(p, e->line, "bad boolean '%s' for share_database (use yes or no)", v);
			g->share_database = b > 0;
			free(v);
			continue;
		}
		if (!(v = expand(p, s, e->value, e->line)))
			continue;
		if (strstr(e->key, "timeout")) {
			int64_t d = parse_duration(v);

			if (d < 0)
				perr(p, e->line, "bad duration '%s' for %s (use e.g. 5s, 2m, 500ms)", v, e->key);
			*(e->key[0] == 'l' ? &g->lock_timeout_ms : &g->statement_timeout_ms) = d;
			free(v);
			continue;
		}
		if (strcmp(e->key, "name") == 0) {
			if (strlen(v) > NAME_LEN_MAX)
				perr(p, e->line, "plan name '%.24s...' is %zu bytes long; names are at most %d", v, strlen(v),
				     NAME_LEN_MAX);
			else if (!valid_name(v))
				perr(p, e->line, "bad plan name '%s' (use letters, digits, '-', '_' and '.')", v);
			free(g->name);
			g->name = v;
			g->named = true;
		} else if (strcmp(e->key, "changelog") == 0) {
			free(g->changelog);
			g->changelog = changelog_value(p, e->line, v);
		} else if (strcmp(e->key, "report") == 0) {
			g->report = v;
		} else {
			if ((n = parse_count(v, 4096)) < 1)
				perr(p, e->line, "bad jobs '%s' (use a number from 1 to 4096)", v);
			g->jobs = (int)n;
			free(v);
		}
	}
}

/* The changelog V names ([orch] or [target] changelog at LINE): NULL for "none"; a
 * directory, an empty name or the Orchfile itself is an error. Takes V. */
static char *changelog_value(struct parser *p, int line, char *v)
{
	struct stat st, self;
	char *path;

	if (strcmp(v, "none") == 0) {
		free(v);
		return NULL;
	}
	if (!*v || v[strlen(v) - 1] == '/') {
		perr(p, line, "bad changelog '%s': name a file (e.g. CHANGELOG.md), or none for no changelog", v);
		return v;
	}
	path = v[0] == '/' ? xstrdup(v) : xasprintf("%s/%s", p->g->dir, v);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		perr(p, line, "bad changelog '%s': it is a directory; name a file in it (e.g. %s/CHANGELOG.md), or none",
		     v, v);
	else if (stat(path, &st) == 0 && stat(p->file, &self) == 0 && st.st_dev == self.st_dev &&
	         st.st_ino == self.st_ino)
		perr(p, line, "bad changelog '%s': it is the Orchfile itself; name another file, or none", v);
	free(path);
	return v;
}

/* A target that names no changelog of its own keeps the plan's apart: CHANGELOG.md
 * becomes CHANGELOG-NAME.md (the name before the last dot of the file's name). */
static void target_changelog(struct parser *p)
{
	struct graph *g = p->g;
	const char *base, *dot;
	char *v;

	if (!p->target || p->target_changelog || !g->changelog)
		return;
	base = strrchr(g->changelog, '/');
	base = base ? base + 1 : g->changelog;
	dot = strrchr(base, '.');
	if (!dot || dot == base)
		dot = base + strlen(base);
	v = xasprintf("%.*s-%s%s", (int)(dot - g->changelog), g->changelog, p->target->name, dot);
	free(g->changelog);
	g->changelog = v;
}

static void load_pool(struct parser *p, struct section *s)
{
	for (size_t i = 0; i < s->entries.n; i++) {
		struct entry *e = s->entries.v[i];
		char *v;
		long n;

		if (strcmp(e->key, "depth") != 0) {
			static const char *const keys[] = {"depth", NULL};
			char hint[64];

			perr(p, e->line, "unknown key '%s' in [pool %s] (known keys: depth)%s", e->key, s->name,
			     did_you_mean(e->key, keys, hint, sizeof(hint)));
			continue;
		}
		if (!(v = expand(p, s, e->value, e->line)))
			continue;
		if ((n = parse_count(v, 1000000)) < 1)
			perr(p, e->line, "bad depth '%s' (use a number of at least 1)", v);
		s->pool->depth = (int)n;
		free(v);
	}
}

/* Create the nodes and pools named by section headers, so that keys may refer to
 * sections declared later in the file. */
static void declare(struct parser *p, struct section *s, struct section **orch)
{
	static const char *types[] = {"step", "phase", "milestone", "sqitch", "flyway"};
	static const enum nodekind kinds[] = {NODE_STEP, NODE_PHASE, NODE_MILESTONE, NODE_MILESTONE, NODE_MILESTONE};
	bool named = false;

	if (strcmp(s->type, "orch") == 0 || strcmp(s->type, "vars") == 0 || strcmp(s->type, "env") == 0 ||
	    strcmp(s->type, "notify") == 0) {
		struct section **slot = s->type[0] == 'o' ? orch : s->type[0] == 'v' ? &p->vars : s->type[0] == 'e' ? &p->env : &p->notify;

		if (s->name)
			perr(p, s->line, "[%s] takes no name", s->type);
		else if (*slot)
			perr(p, s->line, "duplicate section [%s] (first at line %d)", s->type, (*slot)->line);
		else
			*slot = s;
		return;
	}
	for (size_t i = 0; i < 5; i++)
		named |= strcmp(s->type, types[i]) == 0;
	named |= strcmp(s->type, "pool") == 0 || strcmp(s->type, "target") == 0;
	if (!named) {
		static const char *const sections[] = {"orch",  "vars", "env",       "target", "notify", "pool",
		                                       "phase", "step", "milestone", "sqitch", "flyway", NULL};
		char hint[64];

		perr(p, s->line,
		     "unknown section [%s%s%s] (use orch, vars, env, target, notify, pool, phase, step, milestone, "
		     "sqitch or flyway)%s",
		     s->type, s->name ? " " : "", s->name ? s->name : "",
		     did_you_mean(s->type, sections, hint, sizeof(hint)));
		return;
	}
	if (!s->name) {
		perr(p, s->line, "[%s] needs a name, as in [%s NAME]", s->type, s->type);
		return;
	}
	if (strlen(s->name) > NAME_LEN_MAX) {
		perr(p, s->line, "%s name '%.24s...' is %zu bytes long; names are at most %d (they name log files)",
		     s->type, s->name, strlen(s->name), NAME_LEN_MAX);
		return;
	}
	if (!valid_name(s->name)) {
		perr(p, s->line, "bad %s name '%s' (use letters, digits, '-', '_' and '.')", s->type, s->name);
		return;
	}
	if (strcmp(s->name, "all") == 0) {
		perr(p, s->line, "the name 'all' is reserved for the whole plan");
		return;
	}
	if (strcmp(s->type, "target") == 0) {
		for (size_t i = 0; i < p->targets.n; i++) {
			struct section *t = p->targets.v[i];

			if (strcmp(t->name, s->name) == 0) {
				perr(p, s->line, "duplicate target '%s' (first at line %d)", s->name, t->line);
				return;
			}
		}
		vec_push(&p->targets, s);
		vec_push(&p->g->targets, xstrdup(s->name));
		return;
	}
	if (strcmp(s->type, "pool") == 0) {
		if (!(s->pool = graph_addpool(p->g, s->name, s->line)))
			perr(p, s->line, "duplicate pool '%s' (first at line %d)", s->name,
			     graph_findpool(p->g, s->name)->line);
		return;
	}
	for (size_t i = 0; i < 5; i++) {
		if (strcmp(s->type, types[i]) != 0)
			continue;
		if (!(s->node = graph_add(p->g, kinds[i], s->name, s->line))) {
			struct node *old = graph_find(p->g, s->name);

			perr(p, s->line, "duplicate name '%s' (already a %s at line %d)", s->name,
			     node_kindname(old), old->line);
		}
	}
}

/* A phase without a number takes the lowest number no other phase has, in
 * declaration order; two phases may not share a number. */
static void number_phases(struct parser *p)
{
	struct graph *g = p->g;
	int next = 1;

	for (size_t i = 0; i < g->phases.n; i++) {
		struct node *ph = g->phases.v[i];

		for (size_t j = 0; j < i; j++) {
			struct node *other = g->phases.v[j];

			if (ph->number > 0 && other->number == ph->number)
				perr(p, ph->line, "phase '%s' has number %d, as has phase '%s' (line %d)", ph->name,
				     ph->number, other->name, other->line);
		}
	}
	for (size_t i = 0; i < g->phases.n; i++) {
		struct node *ph = g->phases.v[i];
		bool taken = true;

		if (ph->number > 0)
			continue;
		while (taken) {
			taken = false;
			for (size_t j = 0; j < g->phases.n && !taken; j++)
				taken = ((struct node *)g->phases.v[j])->number == next;
			if (taken)
				next++;
		}
		ph->number = next++;
	}
}

/* The target environment to read the plan for (orchfile_want_target), else NULL. */
static const char *wanted_target;

void orchfile_want_target(const char *name)
{
	wanted_target = name;
}

/* The plan's target names, "a, b, c", into B. */
static void target_names(struct parser *p, struct buf *b)
{
	for (size_t i = 0; i < p->targets.n; i++)
		buf_printf(b, "%s%s", i ? ", " : "", ((struct section *)p->targets.v[i])->name);
}

/* Which [target NAME] this run reads: --target, else ORCH_TARGET, else [orch] target.
 * A plan with targets needs one chosen; a plan without takes none. */
static void choose_target(struct parser *p, struct section *orch)
{
	const char *want = wanted_target, *how = "--target";
	struct entry *dflt = orch ? find_entry(orch, "target") : NULL;
	char *fromfile = NULL;
	struct buf names = {0};
	int line = dflt ? dflt->line : 0;

	if (!want && (want = getenv("ORCH_TARGET")) && *want)
		how = "ORCH_TARGET";
	else if (!wanted_target)
		want = NULL;
	if (!want && dflt) {
		if (!(fromfile = expand(p, orch, dflt->value, dflt->line)))
			return;
		want = fromfile, how = "[orch] target";
	} else if (want) {
		line = 0; /* the command line or the environment chose: no line of the file to blame */
	}
	target_names(p, &names);
	if (!want && p->targets.n) {
		perr(p, ((struct section *)p->targets.v[0])->line,
		     "the plan has targets (%s) and none is chosen: use --target NAME, ORCH_TARGET=NAME or "
		     "[orch] target = NAME",
		     buf_str(&names));
	} else if (want && !p->targets.n) {
		perr(p, line, "%s names target '%s', but the plan has no [target] sections", how, want);
	} else if (want) {
		struct suggestion sg;

		suggest_start(&sg, want);
		for (size_t i = 0; i < p->targets.n && !p->target; i++) {
			struct section *t = p->targets.v[i];

			suggest_offer(&sg, t->name);
			if (strcmp(t->name, want) == 0)
				p->target = t;
		}
		if (!p->target)
			perr(p, line,
			     "%s names target '%s', which the plan does not have (its targets: %s)%s%s%s", how, want,
			     buf_str(&names), sg.best ? "; did you mean '" : "", sg.best ? sg.best : "", sg.best ? "'?" : "");
	}
	if (p->target) {
		p->g->target = xstrdup(p->target->name);
		free(p->g->statedir);
		p->g->statedir = xasprintf(".orch/%s", p->target->name);
	}
	buf_free(&names);
	free(fromfile);
}

/* The chosen target's settings (database, jobs, changelog); its other keys are
 * variables, which lookup finds. */
static void load_target(struct parser *p, struct section *s)
{
	for (size_t i = 0; i < s->entries.n; i++) {
		struct entry *e = s->entries.v[i];
		char *v;
		long n;

		if (!target_key(e->key)) {
			bool ok = *e->key != '\0';

			for (const char *c = e->key; *c; c++)
				ok &= var_char(*c);
			if (!ok)
				perr(p, e->line, "bad variable name '%s' in [target %s] (use letters, digits and '_')", e->key,
				     s->name);
			continue;
		}
		if (strcmp(e->key, "database") == 0) {
			p->defer = true; /* see load_step */
			free(p->g->database);
			p->g->database = expand(p, s, e->value, e->line);
			p->defer = false;
			continue;
		}
		if (!(v = expand(p, s, e->value, e->line)))
			continue;
		if (strcmp(e->key, "changelog") == 0) {
			free(p->g->changelog);
			p->g->changelog = changelog_value(p, e->line, v);
			p->target_changelog = true;
			continue;
		}
		if ((n = parse_count(v, 4096)) < 1)
			perr(p, e->line, "bad jobs '%s' (use a number from 1 to 4096)", v);
		p->g->jobs = (int)n;
		free(v);
	}
}

/* [notify]: the command, which events, how long the last may take. */
static void load_notify(struct parser *p, struct section *s)
{
	struct graph *g = p->g;

	g->notify_on = NOTIFY_DEFAULT;
	for (size_t i = 0; i < s->entries.n; i++) {
		struct entry *e = s->entries.v[i];
		char *v, *w, *save = NULL;

		if (strcmp(e->key, "command") && strcmp(e->key, "on") && strcmp(e->key, "timeout")) {
			static const char *const keys[] = {"command", "on", "timeout", NULL};
			char hint[64];

			perr(p, e->line, "unknown key '%s' in [notify] (known keys: command, on, timeout)%s", e->key,
			     did_you_mean(e->key, keys, hint, sizeof(hint)));
			continue;
		}
		if (!(v = expand(p, s, e->value, e->line)))
			continue;
		if (strcmp(e->key, "command") == 0) {
			free(g->notify_command);
			g->notify_command = v;
			continue;
		}
		if (strcmp(e->key, "timeout") == 0) {
			if ((g->notify_timeout_ms = parse_duration(v)) <= 0)
				perr(p, e->line, "bad duration '%s' for timeout (use e.g. 10s, 1m)", v);
			free(v);
			continue;
		}
		g->notify_on = 0;
		for (w = strtok_r(v, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
			int k = notify_parse(w);

			if (k < 0)
				perr(p, e->line, "unknown event '%s' in [notify] on (use %s)", w, notify_words());
			else
				g->notify_on |= 1u << k;
		}
		free(v);
	}
	if (!g->notify_command)
		perr(p, s->line, "[notify] needs a command");
}

/* A plan that changes a database needs a name that does not come from its directory:
 * the name keys its registry rows and its lock there. */
static void check_identity(struct parser *p)
{
	if (p->errors) /* a plan with other errors is told those first */
		return;
	if (p->g->state && !p->g->named) {
		perr(p, p->g->state_line,
		     "state = %s keeps the plan's journal in a database, and the plan has no [orch] name: the name is "
		     "the plan's identity there and must not change with the directory; add 'name = %s' to [orch]",
		     strcmp(p->g->state, "database") == 0 ? "database" : "URL", p->g->name);
		return;
	}
	for (size_t i = 0; i < p->g->steps.n && !p->g->named; i++) {
		struct node *n = p->g->steps.v[i];

		if (n->stepkind == STEP_SQL) {
			perr(p, n->line,
			     "step '%s' is a SQL step, and the plan has no [orch] name: the name is the plan's identity "
			     "in the database (its registry rows and lock) and must not change with the directory; "
			     "add 'name = %s' to [orch]",
			     n->name, p->g->name);
			return;
		}
	}
}

static void build(struct parser *p)
{
	struct section *orch = NULL;

	for (size_t i = 0; i < p->sections.n; i++)
		declare(p, p->sections.v[i], &orch);
	choose_target(p, orch);
	if (orch)
		load_orch(p, orch);
	if (p->target)
		load_target(p, p->target);
	target_changelog(p);
	if (p->notify)
		load_notify(p, p->notify);
	collect_sqlvars(p);
	check_env(p);
	for (size_t i = 0; i < p->sections.n; i++) {
		struct section *s = p->sections.v[i];

		if (s->pool)
			load_pool(p, s);
		else if (s->node && s->node->kind == NODE_PHASE)
			load_phase(p, s);
	}
	number_phases(p);
	for (size_t i = 0; i < p->sections.n; i++) {
		struct section *s = p->sections.v[i];

		if (s->node && (strcmp(s->type, "sqitch") == 0 || strcmp(s->type, "flyway") == 0))
			load_source(p, s);
	}
	for (size_t i = 0; i < p->sections.n; i++) {
		struct section *s = p->sections.v[i];

		if (s->node && s->node->kind == NODE_STEP)
			load_step(p, s);
		else if (s->node && s->node->kind == NODE_MILESTONE && strcmp(s->type, "milestone") == 0)
			load_milestone(p, s);
	}
	for (size_t i = 0; i < p->sections.n; i++) {
		struct section *s = p->sections.v[i];

		if (s->node && s->node->kind == NODE_PHASE)
			load_after(p, s);
	}
	/* A phase is done when all its steps are. */
	for (size_t i = 0; i < p->g->phases.n; i++) {
		struct node *ph = p->g->phases.v[i];

		for (size_t j = 0; j < ph->x->steps.n; j++) {
			struct node *st = ph->x->steps.v[j];

			graph_adddep(ph, st, st->phase_line, EDGE_PHASE);
		}
	}
	for (size_t i = 0; i < p->g->nodes.n; i++) {
		struct node *n = p->g->nodes.v[i];

		if (!n->title)
			n->title = n->name; /* the graph is kept until exit: one string */
	}
	check_identity(p);
}

static void free_sections(struct parser *p)
{
	for (size_t i = 0; i < p->sections.n; i++)
		free(((struct section *)p->sections.v[i])->after);
	vec_free(&p->sections);
	vec_free(&p->targets);
	arena_free(&p->mem);
	p->cur = NULL;
}

/* orchfile_parse; OWNED, when not NULL, is TEXT, freed once it is read (before the
 * graph is built, which then has its memory). */
static struct graph *parse(const char *name, const char *text, size_t len, const char *dir, int *nerrors,
                           char *owned)
{
	struct parser p = {0};

	p.file = name;
	p.text = text;
	p.len = len;
	p.g = graph_new(name, dir);
	read_ini(&p);
	free(owned);
	p.text = NULL;
	p.len = p.pos = 0;
	build(&p);
	free_sections(&p);
	p.errors = print_errors(&p) + p.srcerrors;
	if (!p.errors)
		p.errors += graph_finish(p.g);
	if (nerrors)
		*nerrors = p.errors;
	/* The graph is kept until exit, even when it is rejected. */
	return p.errors ? NULL : p.g;
}

struct graph *orchfile_parse(const char *name, const char *text, size_t len, const char *dir, int *nerrors)
{
	return parse(name, text, len, dir, nerrors, NULL);
}

const char *orchfile_default(void)
{
	if (access("Orchfile", F_OK) == 0)
		return "Orchfile";
	if (access("orchfile", F_OK) == 0)
		return "orchfile";
	/* a sqitch project's top: `orch` runs it as sqitch deploy would */
	if (access("sqitch.plan", F_OK) == 0)
		return "sqitch.plan";
	return NULL;
}

struct graph *orchfile_load(const char *path, int *nerrors)
{
	char *text, *dir, *slash, *abs;
	size_t len;
	struct graph *g;

	if (!(text = read_file(path, &len)))
		fatal("cannot read %s:", path);
	if (memchr(text, '\0', len))
		fatal("%s: not a text file (it contains a NUL byte)", path);
	slash = strrchr(path, '/');
	dir = slash ? xstrndup(path, (size_t)(slash - path + (slash == path))) : xstrdup(".");
	if (!(abs = realpath(dir, NULL)))
		fatal("cannot resolve the directory of %s:", path);
	if (sqitch_is_plan(path, text, len)) {
		g = sqitch_graph(path, abs, nerrors); /* orch -f sqitch.plan */
		free(text);
	} else {
		g = parse(path, text, len, abs, nerrors, text);
	}
	free(abs);
	free(dir);
	return g;
}
