/* sqlsplit.h — SQL files read and split into statements the way psql splits them,
 * without a server: where each statement starts and ends, its first words, and the
 * line:column of any byte, for running a file statement by statement and for messages. */
#ifndef ORCH_SQLSPLIT_H
#define ORCH_SQLSPLIT_H

#include <stddef.h>

/* One statement of a SQL file: bytes [start, end) of the text, START at its first token. */
struct sqlstmt {
	size_t start, end;
	char word[3][16]; /* its first three words, lowercase ("" when none) */
};

/* A SQL file in memory and its statements. */
struct sqlfile {
	char *path; /* as written in the Orchfile */
	char *text;
	size_t len;
	struct sqlstmt *stmts;
	size_t nstmts;
};

/* Split F's LEN bytes of TEXT into F's STMTS as psql does: semicolons end them except
 * inside quotes, dollar quotes, comments, parentheses and the BEGIN ... END of a CREATE
 * FUNCTION or PROCEDURE body (BEGIN ATOMIC). Statements without a token are dropped. */
void sql_split(struct sqlfile *f);
/* Read the SQL file PATH (relative to DIR unless absolute or DIR is NULL) into F and
 * split it. Returns 0, or -1 with *ERR (a new string). */
int sqlfile_read(const char *dir, const char *path, struct sqlfile *f, char **err);
/* Free what F holds (not F itself). */
void sqlfile_free(struct sqlfile *f);
/* Line and column (1-based, in characters) of byte OFF of F, and in *LINESTART the
 * offset of that line's first byte. */
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

#endif
