/* sqlsplit.h — SQL files read and split into statements the way psql splits them,
 * without a server: psql's variables (\set, :var, :'var', :"var"), includes (\i, \ir),
 * \echo, \gexec and COPY ... FROM stdin data understood; where each statement starts
 * and ends, its first words, and the FILE:LINE:COLUMN of any byte of what is sent, for
 * running a file statement by statement and for messages. */
#ifndef ORCH_SQLSPLIT_H
#define ORCH_SQLSPLIT_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

enum sqlkind {
	SQL_PLAIN, /* a statement, sent as it is */
	SQL_GEXEC, /* a query ended by \gexec: each value of its result is run as a statement */
	SQL_COPY,  /* COPY ... FROM stdin: its inline data follows it in the file */
	SQL_ECHO,  /* \echo: no SQL, a line for the step's output (start == end) */
};

/* One statement of a SQL file: bytes [start, end) of the (expanded) text, START at its
 * first token. */
struct sqlstmt {
	size_t start, end;
	char word[3][16]; /* its first three words, lowercase ("" when none) */
	enum sqlkind kind;
	size_t data, datalen; /* SQL_COPY: the data; SQL_ECHO: the line; in the file's extra */
	size_t datasrc;       /* SQL_COPY: the source holding the data and its first line */
	int dataline;
};

/* A file read: the step's own, or one it includes. */
struct sqlsrc {
	char *path; /* as written (an \ir path joined to its includer's directory) */
	char *text;
	size_t len;
};

/* Bytes of the expanded text from OFF on come from source SRC at SRCOFF (one for one),
 * or, for a variable's value (VAR), all from the reference at SRCOFF. */
struct sqlseg {
	size_t off, src, srcoff;
	bool var;
};

/* A SQL file in memory and its statements. TEXT is what is sent: the file with its
 * psql commands taken out and its variables expanded; SRCS[0] is the file itself. */
struct sqlfile {
	char *path; /* as written in the Orchfile */
	char *text;
	size_t len;
	struct sqlstmt *stmts;
	size_t nstmts;
	struct sqlsrc *srcs;
	size_t nsrcs;
	struct sqlseg *segs;
	size_t nsegs;
	struct buf extra;   /* COPY data and \echo lines */
	struct vec secrets; /* values of secret variables, masked in whatever is shown */
};

/* Where a byte of the expanded text comes from. */
struct sqlpos {
	const struct sqlsrc *src;
	int line, col;    /* 1-based; columns count characters */
	size_t linestart; /* offset of the line's first byte in SRC's text */
	size_t off;       /* and of the byte itself */
};

/* Split F's LEN bytes of TEXT into F's STMTS as psql does: semicolons end them except
 * inside quotes, dollar quotes, comments, parentheses and the BEGIN ... END of a CREATE
 * FUNCTION or PROCEDURE body (BEGIN ATOMIC). Statements without a token are dropped.
 * Plain SQL: backslashes and colons mean nothing here. */
void sql_split(struct sqlfile *f);
/* Read the SQL file PATH (relative to DIR unless absolute or DIR is NULL) into F and
 * split it, as psql -f would read it: VARS ("NAME=VALUE" strings, may be NULL) are the
 * variables :NAME, :'NAME' and :"NAME" expand to, \set and \unset change them for the
 * rest of the file, \i and \ir include files (relative to DIR, and to the including
 * file), \echo, \gexec and COPY FROM stdin are noted in the statements; any other
 * backslash command is an error. Returns 0, or -1 with *ERR (a new string, naming
 * FILE:LINE where there is one). */
int sqlfile_read_vars(const char *dir, const char *path, const struct vec *vars, struct sqlfile *f, char **err);
/* sqlfile_read_vars without variables. */
int sqlfile_read(const char *dir, const char *path, struct sqlfile *f, char **err);
/* Free what F holds (not F itself). */
void sqlfile_free(struct sqlfile *f);
/* Where byte OFF of F's text comes from: its source file, line and column. */
void sqlfile_pos(const struct sqlfile *f, size_t off, struct sqlpos *pos);
/* Line and column (1-based, in characters) of byte OFF of F, and in *LINESTART the
 * offset of that line's first byte, in the source sqlfile_pos names. */
void sqlfile_linecol(const struct sqlfile *f, size_t off, int *line, int *col, size_t *linestart);
/* How F wraps itself in a transaction of its own, as sqitch's scripts do. */
enum sqlwrap {
	SQL_WRAP_NONE,
	SQL_WRAP_COMMIT,   /* BEGIN; ...; COMMIT; (a deploy or revert script) */
	SQL_WRAP_ROLLBACK, /* BEGIN; ...; ROLLBACK; (a verify script: it leaves nothing) */
};
/* Whether F's first statement is a plain BEGIN [WORK | TRANSACTION] or START
 * TRANSACTION and its last a plain COMMIT or END (SQL_WRAP_COMMIT), or ROLLBACK or
 * ABORT (SQL_WRAP_ROLLBACK), with no options to either; the wrapper's statements are
 * then F's first and last. */
enum sqlwrap sqlfile_wrap(const struct sqlfile *f);
/* A transaction-control statement in F (BEGIN, START TRANSACTION, COMMIT, END, ABORT,
 * ROLLBACK but not ROLLBACK [WORK | TRANSACTION] TO, PREPARE TRANSACTION), which would
 * end orch's transaction early, other than the wrapper of sqlfile_wrap; NULL when none. */
const struct sqlstmt *sqlfile_txstmt(const struct sqlfile *f);
/* S with every value of F's secret variables replaced by ***: a new string. */
char *sqlfile_mask(const struct sqlfile *f, const char *s);
/* Whether the variable NAME holds a secret: its name is PASSWORD, SECRET or TOKEN or
 * ends in _PASSWORD, _PASSWD, _SECRET or _TOKEN (any case). */
bool sql_secret_name(const char *name);

#endif
