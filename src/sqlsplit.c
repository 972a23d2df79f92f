/* sqlsplit.c — reads a step's SQL file and splits it into statements as psql does,
 * so that orch can run it statement by statement, point at the failing one by line and
 * refuse transaction control, without a server. */
#include "sqlsplit.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static bool identchar(int c)
{
	return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
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

void sql_split(struct sqlfile *f)
{
	const char *s = f->text;
	size_t len = f->len, i = 0, cap = 0;
	int paren = 0, begin = 0, nwords = 0;
	char words[4][16];
	bool have = false;
	size_t start = 0;

	f->stmts = NULL;
	f->nstmts = 0;
	while (i <= len) {
		unsigned char c = i < len ? (unsigned char)s[i] : ';';
		bool end = i == len;

		if (!end && isspace(c)) {
			i++;
			continue;
		}
		if (!end && c == '-' && i + 1 < len && s[i + 1] == '-') {
			while (i < len && s[i] != '\n')
				i++;
			continue;
		}
		if (!end && c == '/' && i + 1 < len && s[i + 1] == '*') {
			int depth = 1;

			for (i += 2; i < len && depth > 0; i++) {
				if (s[i] == '/' && i + 1 < len && s[i + 1] == '*')
					depth++, i++;
				else if (s[i] == '*' && i + 1 < len && s[i + 1] == '/')
					depth--, i++;
			}
			continue;
		}
		if (c == ';' && (end || (paren == 0 && begin == 0))) {
			if (have) {
				struct sqlstmt *st;

				if (f->nstmts == cap) {
					cap = cap ? cap * 2 : 16;
					f->stmts = xreallocarray(f->stmts, cap, sizeof(*f->stmts));
				}
				st = &f->stmts[f->nstmts++];
				st->start = start;
				st->end = end ? len : i + 1;
				snprintf(st->word[0], sizeof(st->word[0]), "%s", nwords > 0 ? words[0] : "");
				snprintf(st->word[1], sizeof(st->word[1]), "%s", nwords > 1 ? words[1] : "");
				snprintf(st->word[2], sizeof(st->word[2]), "%s", nwords > 2 ? words[2] : "");
			}
			have = false;
			paren = begin = nwords = 0;
			i++;
			continue;
		}
		if (!have) {
			have = true;
			start = i;
		}
		if (c == '\'' || c == '"') {
			/* E'...' strings take backslash escapes */
			bool esc = c == '\'' && i > 0 && (s[i - 1] == 'E' || s[i - 1] == 'e') &&
			           (i < 2 || !identchar((unsigned char)s[i - 2]));

			for (i++; i < len; i++) {
				if (esc && s[i] == '\\' && i + 1 < len) {
					i++;
				} else if ((unsigned char)s[i] == c) {
					if (i + 1 < len && (unsigned char)s[i + 1] == c)
						i++;
					else
						break;
				}
			}
			if (i < len) /* past the closing quote; an unclosed one runs to the end */
				i++;
			continue;
		}
		if (c == '$') {
			size_t t = dollar_tag(s, len, i);

			if (t && (i == 0 || !identchar((unsigned char)s[i - 1]))) {
				size_t tl = t - i;
				const char *close = NULL;

				for (size_t j = t; j + tl <= len; j++)
					if (s[j] == '$' && memcmp(s + j, s + i, tl) == 0) {
						close = s + j;
						break;
					}
				i = close ? (size_t)(close - s) + tl : len;
				continue;
			}
			i++;
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
			if (nwords < 4)
				memcpy(words[nwords++], w, sizeof(w));
			/* a function body in BEGIN ATOMIC ... END holds semicolons */
			if (strcmp(w, "begin") == 0 || strcmp(w, "case") == 0) {
				if (nwords > 1 && strcmp(words[0], "create") == 0) {
					for (int m = 1; m < nwords && m < 4; m++)
						if (strcmp(words[m], "function") == 0 || strcmp(words[m], "procedure") == 0)
							begin++;
				}
			} else if (strcmp(w, "end") == 0 && begin > 0) {
				begin--;
			}
			i = j;
			continue;
		}
		if (c == '(')
			paren++;
		else if (c == ')' && paren > 0)
			paren--;
		i++;
	}
}

void sqlfile_free(struct sqlfile *f)
{
	free(f->path);
	free(f->text);
	free(f->stmts);
}

int sqlfile_read(const char *dir, const char *path, struct sqlfile *f, char **err)
{
	char *full = path[0] == '/' || !dir ? xstrdup(path) : xasprintf("%s/%s", dir, path);

	memset(f, 0, sizeof(*f));
	f->text = read_file(full, &f->len);
	if (!f->text) {
		*err = xasprintf("cannot read %s: %s", path, strerror(errno));
		free(full);
		return -1;
	}
	free(full);
	f->path = xstrdup(path);
	sql_split(f);
	return 0;
}

void sqlfile_linecol(const struct sqlfile *f, size_t off, int *line, int *col, size_t *linestart)
{
	size_t ls = 0;
	int l = 1, c = 1;

	if (off > f->len)
		off = f->len;
	for (size_t i = 0; i < off; i++)
		if (f->text[i] == '\n') {
			l++;
			ls = i + 1;
		}
	for (size_t i = ls; i < off; i++)
		if (((unsigned char)f->text[i] & 0xc0) != 0x80)
			c++;
	*line = l;
	*col = c;
	*linestart = ls;
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
