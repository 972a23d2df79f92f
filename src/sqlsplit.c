/* sqlsplit.c — reads a step's SQL file as psql -f would and splits it into statements
 * as psql does, so that orch can run it statement by statement, point at the failing
 * one by FILE:LINE:COLUMN and refuse transaction control, without a server.
 *
 * One pass over the file copies it into the text orch sends, taking out psql's
 * backslash commands and expanding its variables, and cuts that text into statements.
 * Segments remember where each byte of the sent text came from (which file, which
 * offset; a variable's value maps to its reference), so a server's error position
 * maps back to the file the user wrote. */
#include "sqlsplit.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define INCLUDE_DEPTH_MAX 32
#define VAR_DEPTH_MAX 16

static bool identchar(int c)
{
	return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

/* a character of a psql variable's name */
static bool varchar(int c)
{
	return isalnum(c) || c == '_' || c >= 0x80;
}

/* The end of the dollar-quote opening at S[I] ("$tag$"), or 0 when it is not one. */
static size_t dollar_tag(const char *s, size_t len, size_t i)
{
	size_t j = i + 1;

	if (j < len && isdigit((unsigned char)s[j]))
		return 0;
	while (j < len && s[j] != '$' && (isalnum((unsigned char)s[j]) || s[j] == '_' || (unsigned char)s[j] >= 0x80))
		j++;
	return j < len && s[j] == '$' ? j + 1 : 0;
}

bool sql_secret_name(const char *name)
{
	static const char *const ends[] = {"PASSWORD", "PASSWD", "SECRET", "TOKEN"};
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof(ends) / sizeof(*ends); i++) {
		size_t k = strlen(ends[i]);

		if (n == k && strcasecmp(name, ends[i]) == 0)
			return true;
		if (n > k && name[n - k - 1] == '_' && strcasecmp(name + n - k, ends[i]) == 0)
			return true;
	}
	return false;
}

struct var {
	char *name, *value;
};

/* A piece of input being scanned: a file, or a variable's value. */
struct view {
	const char *s;
	size_t len;
	size_t src;
	bool var;   /* a variable's value: every byte maps to REF */
	size_t ref; /* the reference's offset in SRC */
};

struct scan {
	struct sqlfile *f;
	struct buf out;
	const char *dir;
	struct vec vars;  /* struct var * */
	struct vec stack; /* the files being read, as opened, for include cycles */
	bool psql;        /* backslash commands and variables (not for sql_split) */
	char *err;
	int vardepth;
	size_t capstmts;
	/* the statement in progress */
	bool have, copystdin;
	size_t start;
	int paren, begin, nwords;
	char words[4][16];
	char last[16];
};

/* ---- output ---- */

static void emit_at(struct scan *sc, size_t src, size_t srcoff, bool var, const char *s, size_t n)
{
	struct sqlfile *f = sc->f;
	struct sqlseg *l = f->nsegs ? &f->segs[f->nsegs - 1] : NULL;

	if (!n)
		return;
	if (!l || l->src != src || l->var != var ||
	    (var ? l->srcoff != srcoff : l->srcoff + (sc->out.len - l->off) != srcoff)) {
		f->segs = xreallocarray(f->segs, f->nsegs + 1, sizeof(*f->segs));
		f->segs[f->nsegs++] = (struct sqlseg){sc->out.len, src, srcoff, var};
	}
	buf_add(&sc->out, s, n);
}

/* Bytes [I, I+N) of V, as they are. */
static void emit(struct scan *sc, const struct view *v, size_t i, size_t n)
{
	emit_at(sc, v->src, v->var ? v->ref : i, v->var, v->s + i, n);
}

static void add_stmt(struct scan *sc, struct sqlstmt *st)
{
	struct sqlfile *f = sc->f;

	if (f->nstmts == sc->capstmts) {
		sc->capstmts = sc->capstmts ? sc->capstmts * 2 : 16;
		f->stmts = xreallocarray(f->stmts, sc->capstmts, sizeof(*f->stmts));
	}
	f->stmts[f->nstmts++] = *st;
}

static void reset_stmt(struct scan *sc)
{
	sc->have = sc->copystdin = false;
	sc->paren = sc->begin = sc->nwords = 0;
	sc->last[0] = '\0';
}

/* End the statement in progress (if any) at the end of the output. */
static struct sqlstmt *end_stmt(struct scan *sc, enum sqlkind kind)
{
	struct sqlstmt st = {0};

	if (!sc->have) {
		reset_stmt(sc);
		return NULL;
	}
	st.start = sc->start;
	st.end = sc->out.len;
	st.kind = kind;
	for (int k = 0; k < 3; k++)
		snprintf(st.word[k], sizeof(st.word[k]), "%s", sc->nwords > k ? sc->words[k] : "");
	add_stmt(sc, &st);
	reset_stmt(sc);
	return &sc->f->stmts[sc->f->nstmts - 1];
}

/* ---- positions ---- */

static void src_linecol(const struct sqlsrc *s, size_t off, int *line, int *col, size_t *linestart)
{
	size_t ls = 0;
	int l = 1, c = 1;

	if (off > s->len)
		off = s->len;
	for (size_t i = 0; i < off; i++)
		if (s->text[i] == '\n') {
			l++;
			ls = i + 1;
		}
	for (size_t i = ls; i < off; i++)
		if (((unsigned char)s->text[i] & 0xc0) != 0x80)
			c++;
	*line = l;
	*col = c;
	*linestart = ls;
}

static int src_line(const struct scan *sc, size_t src, size_t off)
{
	int line, col;
	size_t ls;

	src_linecol(&sc->f->srcs[src], off, &line, &col, &ls);
	return line;
}

void sqlfile_pos(const struct sqlfile *f, size_t off, struct sqlpos *pos)
{
	size_t lo = 0, hi = f->nsegs, srcoff = 0, src = 0;

	if (off > f->len)
		off = f->len;
	/* the last segment starting at or before OFF */
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (f->segs[mid].off <= off)
			lo = mid;
		else
			hi = mid;
	}
	if (f->nsegs) {
		const struct sqlseg *s = &f->segs[lo];

		src = s->src;
		srcoff = s->var ? s->srcoff : s->srcoff + (off - s->off);
		if (!s->var && lo + 1 == f->nsegs && off == f->len)
			srcoff = f->srcs[src].len; /* the end of the text is the end of its file */
	} else {
		srcoff = f->nsrcs ? f->srcs[0].len : 0;
	}
	pos->src = &f->srcs[src];
	pos->off = srcoff > pos->src->len ? pos->src->len : srcoff;
	src_linecol(pos->src, srcoff, &pos->line, &pos->col, &pos->linestart);
}

void sqlfile_linecol(const struct sqlfile *f, size_t off, int *line, int *col, size_t *linestart)
{
	struct sqlpos p;

	sqlfile_pos(f, off, &p);
	*line = p.line;
	*col = p.col;
	*linestart = p.linestart;
}

/* ---- variables ---- */

static struct var *var_find(struct scan *sc, const char *name, size_t n)
{
	for (size_t i = sc->vars.n; i-- > 0;) {
		struct var *v = sc->vars.v[i];

		if (strlen(v->name) == n && memcmp(v->name, name, n) == 0)
			return v;
	}
	return NULL;
}

static void var_set(struct scan *sc, const char *name, const char *value)
{
	struct var *v = var_find(sc, name, strlen(name));

	if (!v) {
		v = xcalloc(1, sizeof(*v));
		v->name = xstrdup(name);
		vec_push(&sc->vars, v);
	}
	free(v->value);
	v->value = xstrdup(value);
	if (sql_secret_name(name) && *value) {
		for (size_t i = 0; i < sc->f->secrets.n; i++)
			if (strcmp(sc->f->secrets.v[i], value) == 0)
				return;
		vec_push(&sc->f->secrets, xstrdup(value));
	}
}

static void var_unset(struct scan *sc, const char *name)
{
	for (size_t i = 0; i < sc->vars.n; i++) {
		struct var *v = sc->vars.v[i];

		if (strcmp(v->name, name) == 0) {
			free(v->name);
			free(v->value);
			free(v);
			sc->vars.v[i] = sc->vars.v[--sc->vars.n];
			return;
		}
	}
}

/* VALUE as a SQL literal (psql's :'var', as PQescapeLiteral makes it) or identifier
 * (:"var"), appended to B. */
static void quote_value(struct buf *b, const char *value, char q)
{
	if (q == '\'' && strchr(value, '\\'))
		buf_puts(b, " E");
	buf_putc(b, q);
	for (const char *p = value; *p; p++) {
		if (*p == q || (q == '\'' && *p == '\\'))
			buf_putc(b, *p);
		buf_putc(b, *p);
	}
	buf_putc(b, q);
}

/* A variable reference at V->s[I] (':' first): :name, :'name', :"name" or :{?name}.
 * Returns its length and, when the variable is set, in *VAL its value (for :name, to
 * be scanned) or in QUOTED its quoted form; 0 when it is none of these. */
static size_t var_ref(struct scan *sc, const struct view *v, size_t i, struct var **val, struct buf *quoted)
{
	const char *s = v->s;
	size_t len = v->len, j;
	struct var *x;

	*val = NULL;
	if (i + 1 >= len)
		return 0;
	if (s[i + 1] == '\'' || s[i + 1] == '"') {
		for (j = i + 2; j < len && varchar((unsigned char)s[j]); j++)
			;
		if (j == i + 2 || j >= len || s[j] != s[i + 1])
			return 0;
		if ((x = var_find(sc, s + i + 2, j - i - 2)))
			quote_value(quoted, x->value, s[i + 1]);
		return x ? j + 1 - i : 0;
	}
	if (s[i + 1] == '{' && i + 2 < len && s[i + 2] == '?') {
		for (j = i + 3; j < len && varchar((unsigned char)s[j]); j++)
			;
		if (j == i + 3 || j >= len || s[j] != '}')
			return 0;
		buf_puts(quoted, var_find(sc, s + i + 3, j - i - 3) ? "TRUE" : "FALSE");
		return j + 1 - i;
	}
	for (j = i + 1; j < len && varchar((unsigned char)s[j]); j++)
		;
	if (j == i + 1 || !(x = var_find(sc, s + i + 1, j - i - 1)))
		return 0;
	*val = x;
	return j - i;
}

/* ---- the scanner ---- */

static int scan_view(struct scan *sc, const struct view *v);

static void failf(struct scan *sc, size_t src, size_t off, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void failf(struct scan *sc, size_t src, size_t off, const char *fmt, ...)
{
	va_list ap;
	char *m;

	if (sc->err)
		return;
	va_start(ap, fmt);
	m = xvasprintf(fmt, ap);
	va_end(ap);
	sc->err = xasprintf("%s:%d: %s", sc->f->srcs[src].path ? sc->f->srcs[src].path : "-", src_line(sc, src, off), m);
	free(m);
}

/* The arguments of a backslash command, from V->s[*I] to the end of the line or the
 * next unquoted backslash, as psql reads them: 'quoted' (with '' and backslash
 * escapes), "quoted" (kept as is), variables expanded. */
static int meta_args(struct scan *sc, const struct view *v, size_t *ip, struct vec *args, const char *cmd)
{
	const char *s = v->s;
	size_t i = *ip, len = v->len;

	for (;;) {
		struct buf a = {0};
		bool any = false;

		while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
			i++;
		if (i >= len || s[i] == '\n' || s[i] == '\\')
			break;
		while (i < len && !isspace((unsigned char)s[i]) && s[i] != '\\') {
			any = true;
			if (s[i] == '\'') {
				for (i++; i < len && s[i] != '\n'; i++) {
					if (s[i] == '\'' && i + 1 < len && s[i + 1] == '\'') {
						buf_putc(&a, '\'');
						i++;
					} else if (s[i] == '\'') {
						break;
					} else if (s[i] == '\\' && i + 1 < len) {
						char e = s[++i];

						buf_putc(&a, e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e);
					} else {
						buf_putc(&a, s[i]);
					}
				}
				if (i >= len || s[i] != '\'') {
					failf(sc, v->src, *ip, "\\%s: unterminated quoted string", cmd);
					buf_free(&a);
					return -1;
				}
				i++;
			} else if (s[i] == '"') {
				size_t j = i + 1;

				while (j < len && s[j] != '"' && s[j] != '\n')
					j++;
				if (j < len && s[j] == '"')
					j++;
				buf_add(&a, s + i, j - i);
				i = j;
			} else if (s[i] == '`') {
				failf(sc, v->src, *ip, "\\%s: `command` runs a shell command, which orch does not do in SQL; pass the value with -D NAME=VALUE or [vars]", cmd);
				buf_free(&a);
				return -1;
			} else if (s[i] == ':') {
				struct var *x;
				struct buf q = {0};
				size_t n = var_ref(sc, v, i, &x, &q);

				if (n && x)
					buf_puts(&a, x->value);
				else if (n)
					buf_add(&a, q.s, q.len);
				else
					buf_putc(&a, ':'), n = 1;
				buf_free(&q);
				i += n;
			} else {
				buf_putc(&a, s[i++]);
			}
		}
		if (any)
			vec_push(args, xstrdup(buf_str(&a)));
		buf_free(&a);
	}
	*ip = i;
	return 0;
}

static void free_args(struct vec *args)
{
	for (size_t i = 0; i < args->n; i++)
		free(args->v[i]);
	vec_free(args);
}

static int include(struct scan *sc, const struct view *v, size_t at, const char *cmd, const char *arg, bool relative)
{
	const char *inc = sc->f->srcs[v->src].path;
	char *path, *full, *real, *text;
	struct sqlsrc *src;
	struct view sub;
	size_t len, idx;
	int rc;

	if (arg[0] == '/' || !relative || !strchr(inc, '/'))
		path = xstrdup(arg);
	else
		path = xasprintf("%.*s/%s", (int)(strrchr(inc, '/') - inc), inc, arg);
	full = path[0] == '/' || !sc->dir ? xstrdup(path) : xasprintf("%s/%s", sc->dir, path);
	if (!(text = read_file(full, &len))) {
		failf(sc, v->src, at, "\\%s %s: cannot read %s: %s", cmd, arg, path, strerror(errno));
		free(full);
		free(path);
		return -1;
	}
	real = realpath(full, NULL);
	free(full);
	for (size_t i = 0; real && i < sc->stack.n; i++) {
		if (strcmp(sc->stack.v[i], real) == 0) {
			failf(sc, v->src, at, "\\%s %s: %s includes itself (through %s)", cmd, arg, path, inc);
			free(real);
			free(text);
			free(path);
			return -1;
		}
	}
	if (sc->stack.n >= INCLUDE_DEPTH_MAX) {
		failf(sc, v->src, at, "\\%s %s: includes nested more than %d deep", cmd, arg, INCLUDE_DEPTH_MAX);
		free(real);
		free(text);
		free(path);
		return -1;
	}
	vec_push(&sc->stack, real ? real : xstrdup(path));
	idx = sc->f->nsrcs;
	sc->f->srcs = xreallocarray(sc->f->srcs, idx + 1, sizeof(*sc->f->srcs));
	src = &sc->f->srcs[sc->f->nsrcs++];
	src->path = path;
	src->text = text;
	src->len = len;
	sub = (struct view){text, len, idx, false, 0};
	rc = scan_view(sc, &sub);
	if (rc == 0)
		end_stmt(sc, SQL_PLAIN); /* psql sends what the file leaves unterminated */
	free(sc->stack.v[--sc->stack.n]);
	return rc;
}

/* A backslash command at V->s[*IP]. */
static int meta(struct scan *sc, const struct view *v, size_t *ip)
{
	const char *s = v->s;
	size_t i = *ip + 1, at = *ip, len = v->len, ns;
	struct vec args = {0};
	char cmd[32];
	int rc = 0;

	if (i < len && s[i] == '\\') { /* \\ separates commands from SQL on one line */
		*ip = i + 1;
		return 0;
	}
	ns = i;
	while (i < len && !isspace((unsigned char)s[i]) && s[i] != '\\')
		i++;
	snprintf(cmd, sizeof(cmd), "%.*s", (int)(i - ns), s + ns);
	if (meta_args(sc, v, &i, &args, cmd) < 0) {
		free_args(&args);
		return -1;
	}
	*ip = i;
	if (strcmp(cmd, "set") == 0) {
		struct buf val = {0};

		if (!args.n) {
			failf(sc, v->src, at, "\\set needs a variable name (\\set NAME value)");
			rc = -1;
		} else {
			for (const char *p = args.v[0]; *p; p++)
				if (!varchar((unsigned char)*p)) {
					failf(sc, v->src, at, "\\set: bad variable name '%s' (letters, digits and _)", (char *)args.v[0]);
					rc = -1;
					break;
				}
			for (size_t k = 1; k < args.n; k++)
				buf_puts(&val, args.v[k]);
			if (rc == 0)
				var_set(sc, args.v[0], buf_str(&val));
			buf_free(&val);
		}
	} else if (strcmp(cmd, "unset") == 0) {
		if (args.n != 1) {
			failf(sc, v->src, at, "\\unset needs one variable name");
			rc = -1;
		} else {
			var_unset(sc, args.v[0]);
		}
	} else if (strcmp(cmd, "i") == 0 || strcmp(cmd, "include") == 0 || strcmp(cmd, "ir") == 0 ||
	           strcmp(cmd, "include_relative") == 0) {
		if (args.n != 1) {
			failf(sc, v->src, at, "\\%s needs one file name", cmd);
			rc = -1;
		} else if (sc->have) {
			failf(sc, v->src, at, "\\%s inside a statement: end the statement with ';' first", cmd);
			rc = -1;
		} else {
			rc = include(sc, v, at, cmd, args.v[0], cmd[1] == 'r' || strcmp(cmd, "include_relative") == 0);
		}
	} else if (strcmp(cmd, "echo") == 0 || strcmp(cmd, "qecho") == 0) {
		struct sqlstmt st = {0};
		size_t k = args.n && strcmp(args.v[0], "-n") == 0 ? 1 : 0;

		st.kind = SQL_ECHO;
		st.start = st.end = sc->have ? sc->start : sc->out.len;
		st.data = sc->f->extra.len;
		for (size_t a = k; a < args.n; a++)
			buf_printf(&sc->f->extra, "%s%s", a > k ? " " : "", (char *)args.v[a]);
		st.datalen = sc->f->extra.len - st.data;
		add_stmt(sc, &st);
	} else if (strcmp(cmd, "gexec") == 0 || strcmp(cmd, "g") == 0) {
		enum sqlkind kind = cmd[1] ? SQL_GEXEC : SQL_PLAIN;

		if (args.n) {
			failf(sc, v->src, at, "\\%s takes no arguments here", cmd);
			rc = -1;
		} else if (sc->have) {
			end_stmt(sc, kind);
		} else if (sc->f->nstmts && sc->f->stmts[sc->f->nstmts - 1].kind == SQL_PLAIN && kind == SQL_GEXEC) {
			/* "SELECT ...;\n\gexec": psql runs the query again; orch runs it once */
			sc->f->stmts[sc->f->nstmts - 1].kind = SQL_GEXEC;
		} else {
			failf(sc, v->src, at, "\\%s with no query before it: write the query just before \\%s, without ';'",
			      cmd, cmd);
			rc = -1;
		}
	} else if (strcmp(cmd, "restrict") == 0 || strcmp(cmd, "unrestrict") == 0) {
		/* pg_dump's guard against a server injecting commands into psql: nothing to do */
	} else if (strcmp(cmd, "copy") == 0) {
		failf(sc, v->src, at, "\\copy reads a file where psql runs, which orch does not do: use COPY ... FROM stdin; with the rows inline, ended by \\., or a run step with psql");
		rc = -1;
	} else if (strcmp(cmd, "c") == 0 || strcmp(cmd, "connect") == 0) {
		failf(sc, v->src, at, "\\%s: a step's SQL runs on its one database: put the rest in a step of its own with database =", cmd);
		rc = -1;
	} else if (strcmp(cmd, "if") == 0 || strcmp(cmd, "elif") == 0 || strcmp(cmd, "else") == 0 ||
	           strcmp(cmd, "endif") == 0) {
		failf(sc, v->src, at, "\\%s: psql's conditionals are not supported: use a DO block, or separate steps", cmd);
		rc = -1;
	} else {
		failf(sc, v->src, at, "\\%s is a psql command orch does not run (it runs \\set, \\unset, \\i, \\ir, \\echo, \\gexec, \\g): remove it, or run psql in a run step", cmd);
		rc = -1;
	}
	free_args(&args);
	return rc;
}

/* The inline rows of COPY ... FROM stdin, from the line after V->s[*IP] (its ';') to
 * a line "\." or the end of the file, into the statement ST. */
static int copy_data(struct scan *sc, const struct view *v, size_t *ip, struct sqlstmt *st)
{
	const char *s = v->s;
	size_t i = *ip, len = v->len, from;

	while (i < len && s[i] != '\n') {
		if (!isspace((unsigned char)s[i])) {
			failf(sc, v->src, i, "text after COPY ... FROM stdin; on its line: the rows start on the next line");
			return -1;
		}
		i++;
	}
	if (i < len)
		i++;
	from = i;
	st->kind = SQL_COPY;
	st->data = sc->f->extra.len;
	st->datasrc = v->src;
	st->dataline = src_line(sc, v->src, from);
	while (i < len) {
		size_t e = i;

		while (e < len && s[e] != '\n')
			e++;
		if (e - i >= 2 && s[i] == '\\' && s[i + 1] == '.' && (e - i == 2 || (e - i == 3 && s[i + 2] == '\r'))) {
			i = e < len ? e + 1 : e;
			break;
		}
		buf_add(&sc->f->extra, s + i, e < len ? e + 1 - i : e - i);
		i = e < len ? e + 1 : e;
	}
	st->datalen = sc->f->extra.len - st->data;
	*ip = i;
	return 0;
}

static int scan_view(struct scan *sc, const struct view *v)
{
	const char *s = v->s;
	size_t len = v->len, i = 0;

	while (i < len && !sc->err) {
		unsigned char c = (unsigned char)s[i];

		if (isspace(c)) {
			emit(sc, v, i++, 1);
			continue;
		}
		if (c == '-' && i + 1 < len && s[i + 1] == '-') {
			size_t j = i;

			while (j < len && s[j] != '\n')
				j++;
			emit(sc, v, i, j - i);
			i = j;
			continue;
		}
		if (c == '/' && i + 1 < len && s[i + 1] == '*') {
			int depth = 1;
			size_t j;

			for (j = i + 2; j < len && depth > 0; j++) {
				if (s[j] == '/' && j + 1 < len && s[j + 1] == '*')
					depth++, j++;
				else if (s[j] == '*' && j + 1 < len && s[j + 1] == '/')
					depth--, j++;
			}
			if (j > len)
				j = len;
			emit(sc, v, i, j - i);
			i = j;
			continue;
		}
		if (c == ';' && sc->paren == 0 && sc->begin == 0) {
			bool copy = sc->copystdin && sc->psql && !v->var;
			struct sqlstmt *st;

			emit(sc, v, i++, 1);
			st = end_stmt(sc, SQL_PLAIN);
			if (copy && st && copy_data(sc, v, &i, st) < 0)
				return -1;
			continue;
		}
		if (sc->psql && !v->var && c == '\\') {
			if (meta(sc, v, &i) < 0)
				return -1;
			continue;
		}
		if (sc->psql && c == ':') {
			struct var *x;
			struct buf q = {0};
			size_t n;

			if (i + 1 < len && s[i + 1] == ':') {
				if (!sc->have)
					sc->have = true, sc->start = sc->out.len;
				emit(sc, v, i, 2);
				i += 2;
				continue;
			}
			n = var_ref(sc, v, i, &x, &q);
			if (n && x) {
				struct view sub = {x->value, strlen(x->value), v->src, true, v->var ? v->ref : i};
				int rc;

				if (sc->vardepth >= VAR_DEPTH_MAX) {
					failf(sc, v->src, v->var ? v->ref : i, ":%s refers to itself through variables", x->name);
					buf_free(&q);
					return -1;
				}
				sc->vardepth++;
				rc = scan_view(sc, &sub);
				sc->vardepth--;
				i += n;
				if (rc < 0)
					return -1;
				continue;
			}
			if (n) {
				if (!sc->have)
					sc->have = true, sc->start = sc->out.len;
				emit_at(sc, v->src, v->var ? v->ref : i, true, q.s, q.len);
				buf_free(&q);
				i += n;
				continue;
			}
			buf_free(&q);
		}
		if (!sc->have) {
			sc->have = true;
			sc->start = sc->out.len;
		}
		if (c == '\'' || c == '"') {
			/* E'...' strings take backslash escapes */
			const char *o = sc->out.s;
			size_t ol = sc->out.len, j;
			bool esc = c == '\'' && ol > 0 && (o[ol - 1] == 'E' || o[ol - 1] == 'e') &&
			           (ol < 2 || !identchar((unsigned char)o[ol - 2]));

			for (j = i + 1; j < len; j++) {
				if (esc && s[j] == '\\' && j + 1 < len) {
					j++;
				} else if ((unsigned char)s[j] == c) {
					if (j + 1 < len && (unsigned char)s[j + 1] == c)
						j++;
					else
						break;
				}
			}
			if (j < len) /* past the closing quote; an unclosed one runs to the end */
				j++;
			if (j > len)
				j = len;
			emit(sc, v, i, j - i);
			i = j;
			continue;
		}
		if (c == '$') {
			size_t t = dollar_tag(s, len, i), ol = sc->out.len;

			if (t && (ol == 0 || !identchar((unsigned char)sc->out.s[ol - 1]))) {
				size_t tl = t - i, j, end = len;

				for (j = t; j + tl <= len; j++)
					if (s[j] == '$' && memcmp(s + j, s + i, tl) == 0) {
						end = j + tl;
						break;
					}
				emit(sc, v, i, end - i);
				i = end;
				continue;
			}
			emit(sc, v, i++, 1);
			continue;
		}
		if (isalpha(c) || c == '_' || c >= 0x80) {
			char w[16];
			size_t j = i, k = 0;

			while (j < len && identchar((unsigned char)s[j])) {
				if (k < sizeof(w) - 1)
					w[k++] = (char)tolower((unsigned char)s[j]);
				j++;
			}
			w[k] = '\0';
			if (sc->nwords < 4)
				memcpy(sc->words[sc->nwords++], w, sizeof(w));
			if (strcmp(w, "stdin") == 0 && strcmp(sc->last, "from") == 0 && strcmp(sc->words[0], "copy") == 0)
				sc->copystdin = true;
			memcpy(sc->last, w, sizeof(w));
			/* a function body in BEGIN ATOMIC ... END holds semicolons */
			if (strcmp(w, "begin") == 0 || strcmp(w, "case") == 0) {
				if (sc->nwords > 1 && strcmp(sc->words[0], "create") == 0) {
					for (int m = 1; m < sc->nwords && m < 4; m++)
						if (strcmp(sc->words[m], "function") == 0 || strcmp(sc->words[m], "procedure") == 0)
							sc->begin++;
				}
			} else if (strcmp(w, "end") == 0 && sc->begin > 0) {
				sc->begin--;
			}
			emit(sc, v, i, j - i);
			i = j;
			continue;
		}
		if (c == '(')
			sc->paren++;
		else if (c == ')' && sc->paren > 0)
			sc->paren--;
		emit(sc, v, i++, 1);
	}
	return sc->err ? -1 : 0;
}

/* Scan F->srcs[0] into F's text and statements. */
static int scan_file(struct sqlfile *f, const char *dir, const struct vec *vars, bool psql, char **err)
{
	struct scan sc = {0};
	struct view v = {f->srcs[0].text, f->srcs[0].len, 0, false, 0};
	int rc;

	sc.f = f;
	sc.dir = dir;
	sc.psql = psql;
	for (size_t i = 0; vars && i < vars->n; i++) {
		const char *nv = vars->v[i], *eq = strchr(nv, '=');
		char *name;

		if (!eq)
			continue;
		name = xstrndup(nv, (size_t)(eq - nv));
		var_set(&sc, name, eq + 1);
		free(name);
	}
	if (f->srcs[0].path && dir) {
		char *full = f->srcs[0].path[0] == '/' ? xstrdup(f->srcs[0].path) : xasprintf("%s/%s", dir, f->srcs[0].path);
		char *real = realpath(full, NULL);

		vec_push(&sc.stack, real ? real : xstrdup(full));
		free(full);
	}
	rc = scan_view(&sc, &v);
	if (rc == 0)
		end_stmt(&sc, SQL_PLAIN);
	free(f->text);
	buf_str(&sc.out);
	f->text = sc.out.s;
	f->len = sc.out.len;
	for (size_t i = 0; i < sc.vars.n; i++) {
		struct var *x = sc.vars.v[i];

		free(x->name);
		free(x->value);
		free(x);
	}
	vec_free(&sc.vars);
	for (size_t i = 0; i < sc.stack.n; i++)
		free(sc.stack.v[i]);
	vec_free(&sc.stack);
	if (rc < 0) {
		*err = sc.err;
		return -1;
	}
	return 0;
}

void sql_split(struct sqlfile *f)
{
	char *err = NULL;

	f->stmts = NULL;
	f->nstmts = 0;
	if (!f->nsrcs) {
		f->srcs = xcalloc(1, sizeof(*f->srcs));
		f->nsrcs = 1;
		f->srcs[0].path = f->path ? xstrdup(f->path) : NULL;
		f->srcs[0].text = xstrndup(f->text ? f->text : "", f->len);
		f->srcs[0].len = f->len;
	}
	if (scan_file(f, NULL, NULL, false, &err) < 0) /* plain SQL cannot fail */
		free(err);
}

void sqlfile_free(struct sqlfile *f)
{
	free(f->path);
	free(f->text);
	free(f->stmts);
	for (size_t i = 0; i < f->nsrcs; i++) {
		free(f->srcs[i].path);
		free(f->srcs[i].text);
	}
	free(f->srcs);
	free(f->segs);
	buf_free(&f->extra);
	for (size_t i = 0; i < f->secrets.n; i++)
		free(f->secrets.v[i]);
	vec_free(&f->secrets);
	memset(f, 0, sizeof(*f));
}

int sqlfile_read_vars(const char *dir, const char *path, const struct vec *vars, struct sqlfile *f, char **err)
{
	char *full = path[0] == '/' || !dir ? xstrdup(path) : xasprintf("%s/%s", dir, path);
	char *text;
	size_t len;

	memset(f, 0, sizeof(*f));
	text = read_file(full, &len);
	free(full);
	if (!text) {
		*err = xasprintf("cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	f->path = xstrdup(path);
	f->srcs = xcalloc(1, sizeof(*f->srcs));
	f->nsrcs = 1;
	f->srcs[0].path = xstrdup(path);
	f->srcs[0].text = text;
	f->srcs[0].len = len;
	if (scan_file(f, dir, vars, true, err) < 0) {
		sqlfile_free(f); /* nothing half read is left to the caller */
		return -1;
	}
	return 0;
}

int sqlfile_read(const char *dir, const char *path, struct sqlfile *f, char **err)
{
	return sqlfile_read_vars(dir, path, NULL, f, err);
}

/* Whether statement ST's words are KEYWORD alone or followed by WORK or TRANSACTION. */
static bool plain(const struct sqlstmt *st, const char *keyword)
{
	const char *b = st->word[1];

	return strcmp(st->word[0], keyword) == 0 &&
	       (!*b || ((strcmp(b, "work") == 0 || strcmp(b, "transaction") == 0) && !st->word[2][0]));
}

enum sqlwrap sqlfile_wrap(const struct sqlfile *f)
{
	const struct sqlstmt *first, *last;

	if (f->nstmts < 2)
		return SQL_WRAP_NONE;
	first = &f->stmts[0];
	last = &f->stmts[f->nstmts - 1];
	if (!plain(first, "begin") &&
	    !(strcmp(first->word[0], "start") == 0 && strcmp(first->word[1], "transaction") == 0 && !first->word[2][0]))
		return SQL_WRAP_NONE;
	if (plain(last, "commit") || plain(last, "end"))
		return SQL_WRAP_COMMIT;
	if (plain(last, "rollback") || plain(last, "abort"))
		return SQL_WRAP_ROLLBACK;
	return SQL_WRAP_NONE;
}

const struct sqlstmt *sqlfile_txstmt(const struct sqlfile *f)
{
	bool wrapped = sqlfile_wrap(f) != SQL_WRAP_NONE;

	for (size_t i = wrapped; i < f->nstmts - wrapped; i++) {
		const char *a = f->stmts[i].word[0], *b = f->stmts[i].word[1], *c = f->stmts[i].word[2];

		if (strcmp(a, "begin") == 0 || strcmp(a, "commit") == 0 || strcmp(a, "end") == 0 ||
		    strcmp(a, "abort") == 0 || (strcmp(a, "start") == 0 && strcmp(b, "transaction") == 0) ||
		    (strcmp(a, "rollback") == 0 && strcmp(b, "to") != 0 &&
		     !((strcmp(b, "work") == 0 || strcmp(b, "transaction") == 0) && strcmp(c, "to") == 0)) ||
		    (strcmp(a, "prepare") == 0 && strcmp(b, "transaction") == 0))
			return &f->stmts[i];
	}
	return NULL;
}

/* S with each occurrence of SECRET (LEN bytes) replaced by ***: a new string. */
static char *mask_one(const char *s, const char *secret, size_t len)
{
	struct buf b = {0};
	const char *p;

	while ((p = strstr(s, secret))) {
		buf_add(&b, s, (size_t)(p - s));
		buf_puts(&b, "***");
		s = p + len;
	}
	buf_puts(&b, s);
	buf_str(&b);
	return b.s;
}

char *sqlfile_mask(const struct sqlfile *f, const char *s)
{
	char *r = xstrdup(s);

	for (size_t i = 0; i < f->secrets.n; i++) {
		const char *v = f->secrets.v[i];
		struct buf q = {0};
		char *t;

		/* as given, and as :'var' quotes it */
		t = mask_one(r, v, strlen(v));
		free(r);
		r = t;
		quote_value(&q, v, '\'');
		{
			/* the quoted form without its quotes: what is inside '...' */
			const char *in = q.s[0] == ' ' ? q.s + 3 : q.s + 1;
			char *inner = xstrndup(in, strlen(in) - 1);

			if (strcmp(inner, v) != 0) {
				t = mask_one(r, inner, strlen(inner));
				free(r);
				r = t;
			}
			free(inner);
		}
		buf_free(&q);
	}
	return r;
}
