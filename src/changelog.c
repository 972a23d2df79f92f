/* changelog.c — the Markdown changelog of a plan ([orch] changelog): one entry appended
 * for every step result, under a "## Run <id>" heading per process, for people to read
 * and keep. */
#include "changelog.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* S with Markdown's inline punctuation escaped and line breaks made spaces. */
static void md_escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\n' || *s == '\r' || *s == '\t')
			buf_putc(b, ' ');
		else if (strchr("\\`*_[]<>|#", *s))
			buf_putc(b, '\\'), buf_putc(b, *s);
		else
			buf_putc(b, *s);
	}
}

#define SEP " · "

/* Append " · KEY VALUE" when VALUE is set. */
static void field(struct buf *b, const char *key, const char *value)
{
	if (!value || !*value)
		return;
	buf_printf(b, "%s%s ", SEP, key);
	md_escape(b, value);
}

void changelog_add(struct graph *g, struct journal *j, struct node *n, const char *result, const struct outcome *o)
{
	static bool headed; /* this process wrote its run heading */
	struct buf b = {0}, line = {0};
	char stamp[40], est[32], act[32];
	time_t now = time(NULL);
	struct tm tm;
	struct stat sb;
	int fd;
	ssize_t w;

	if (!g->changelog || n->kind != NODE_STEP)
		return;
	fd = open(g->changelog, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		warn("changelog %s:", g->changelog);
		return;
	}
	localtime_r(&now, &tm);
	if (!headed) {
		char last = '\n';

		if (fstat(fd, &sb) == 0 && sb.st_size == 0)
			buf_printf(&b, "# Changelog of %s\n", g->name);
		else if (fstat(fd, &sb) == 0 && pread(fd, &last, 1, sb.st_size - 1) == 1 && last != '\n')
			buf_putc(&b, '\n'); /* a file that ends mid-line is left as it is, after it */
		strftime(stamp, sizeof(stamp), "%Y-%m-%d", &tm);
		buf_printf(&b, "\n## Run %s — %s\n\n", j ? journal_runid(j) : "-", stamp);
	}
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S %z", &tm);
	buf_printf(&b, "- %s **%s** `%s` ", stamp, result, n->name);
	md_escape(&b, n->title);
	if (o && o->message) {
		buf_puts(&b, ": ");
		md_escape(&b, o->message);
	}
	if (o && o->attempt > 1)
		buf_printf(&b, " (attempt %d)", o->attempt);
	if (o && o->start_ms)
		field(&line, "took", format_known_duration(o->duration_ms, act));
	if (n->est_ms >= 0)
		field(&line, "estimated", format_known_duration(n->est_ms, est));
	field(&line, "type", n->x->type);
	field(&line, "component", n->x->component);
	field(&line, "impact", n->x->impact);
	field(&line, "author", o && o->by ? o->by : user_name());
	field(&line, "refs", n->x->refs);
	buf_printf(&b, "\n  %s\n", buf_str(&line) + strlen(SEP));
	buf_free(&line);
	/* one write: the entry is whole or, after a crash, absent */
	w = write(fd, b.s, b.len);
	if (w < 0)
		warn("writing changelog %s:", g->changelog);
	else if ((size_t)w != b.len)
		warn("changelog %s: short write (%zd of %zu bytes)", g->changelog, w, b.len);
	else if (fdatasync(fd) < 0)
		warn("syncing changelog %s:", g->changelog);
	else
		headed = true;
	close(fd);
	buf_free(&b);
}
