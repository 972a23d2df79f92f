/* term.h — the terminal: colours when stdout is one, the live status line that every
 * other line clears first, and the one question orch asks a person. */
#ifndef ORCH_TERM_H
#define ORCH_TERM_H

#include <stdbool.h>

/* SGR codes, for term_code. */
#define TERM_BOLD "\033[1m"
#define TERM_RED "\033[31m"
#define TERM_BOLD_RED "\033[1;31m"
#define TERM_GREEN "\033[32m"
#define TERM_BOLD_GREEN "\033[1;32m"
#define TERM_YELLOW "\033[33m"
#define TERM_CYAN "\033[36m"
#define TERM_RESET "\033[0m"

/* Whether stdout is a terminal and NO_COLOR is unset or empty (no-color.org). */
bool term_colors(void);
/* CODE when colours are on (term_colors, unless term_nocolor was called), else "". */
const char *term_code(const char *code);
/* Turn colours off for this process (--status --json). */
void term_nocolor(void);
/* The width of the terminal on stdout, 80 when unknown. */
int term_width(void);
/* Show LINE as the live status line on stdout (cut to the terminal's width), replacing
 * the one shown before. */
void term_live(const char *line);
/* Erase the live status line, if one is shown, before other output. */
void term_clear(void);
/* Erase the live line and whatever the terminal echoed on the cursor's line (a ^C). */
void term_clear_echo(void);
/* Ask QUESTION on stderr (after erasing the live line) and read one line of stdin,
 * waking up for a caught signal too (os_signals_init). Returns the first non-blank
 * character of the answer in lowercase, '\n' for an empty answer, 0 at end of input or
 * when a signal came (its number in *SIG when SIG is not NULL). */
int term_ask(const char *question, int *sig);

#endif
