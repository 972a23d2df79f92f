/* term.c — the terminal: colours, the live status line, and the one question orch
 * asks (a gate to approve, a failure to retry, a rollback or reset to confirm). */
#include "term.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "os.h"
#include "util.h"

static int colors = -1; /* unknown yet */
static bool shown;      /* the live line is on the screen */

bool term_colors(void)
{
	const char *nc = getenv("NO_COLOR");

	return os_isatty(STDOUT_FILENO) && !(nc && *nc);
}

const char *term_code(const char *code)
{
	if (colors < 0)
		colors = term_colors();
	return colors ? code : "";
}

void term_nocolor(void)
{
	colors = 0;
}

int term_width(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
		return ws.ws_col;
	return 80;
}

void term_live(const char *line)
{
	int w = term_width() - 1;
	int len = (int)strlen(line);

	term_clear();
	fwrite(line, 1, (size_t)(len > w ? w : len), stdout);
	fflush(stdout);
	shown = true;
}

void term_clear(void)
{
	if (shown) {
		fputs("\r\033[K", stdout);
		shown = false;
	}
}

void term_clear_echo(void)
{
	term_clear();
	if (os_isatty(STDOUT_FILENO)) {
		fputs("\r\033[K", stdout);
		fflush(stdout);
	}
}

int term_ask(const char *question, int *sig)
{
	char line[256];
	struct pollfd p[2] = {{STDIN_FILENO, POLLIN, 0}, {os_sigfd(), POLLIN, 0}};
	int caught;

	if (sig)
		*sig = 0;
	term_clear();
	fflush(stdout);
	fputs(question, stderr);
	fflush(stderr);
	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return 0;
		if (p[1].fd >= 0 && (caught = os_signals_take())) {
			if (sig)
				*sig = caught;
			return 0;
		}
		if (p[0].revents)
			break;
	}
	if (!fgets(line, sizeof(line), stdin))
		return 0;
	for (char *c = line; *c; c++)
		if (*c != ' ' && *c != '\t')
			return *c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c;
	return '\n';
}
