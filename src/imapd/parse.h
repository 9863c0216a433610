/*
 * The IMAP server's command reader (RFC 3501 section 9, RFC 7888
 * LITERAL+): fed the client's bytes as they arrive, it yields one command
 * at a time: a tag, a command name and its arguments, each an atom, a
 * string (quoted, literal or RFC 4466 literal8 "~{N}"), NIL or a
 * parenthesised list.
 *
 * What the grammar needs beyond plain atoms is kept in the atom: a flag's
 * backslash (\Seen), LIST wildcards (% and *), sequence sets (1:*,4), and a
 * FETCH section with its brackets, spaces and parentheses
 * (BODY.PEEK[HEADER.FIELDS (From To)]<0.100>); the command that reads the
 * argument parses it further.
 *
 * Every input has a cap (imapd_limits): a line, a literal, the depth of
 * lists, the number of arguments. Past one the command is read to its end
 * and dropped, and the caller answers BAD with the text given; a
 * synchronizing literal that is too big is refused before the client
 * sends it, a non-synchronizing one ends the connection (IMAPD_TOOBIG).
 *
 * Memory: a command and its arguments point into the reader's buffer and
 * stay valid until the next imapd_read() call. Strings are (pointer,
 * length): a literal may hold any byte, NUL included.
 */
#ifndef CORRAL_IMAPD_PARSE_H
#define CORRAL_IMAPD_PARSE_H

#include <stdbool.h>
#include <stddef.h>

enum imapd_arg_kind { IMAPD_ATOM, IMAPD_STRING, IMAPD_NIL, IMAPD_LIST };

struct imapd_arg {
	enum imapd_arg_kind kind;
	const char *s; /* ATOM, STRING: the bytes (quoted strings unescaped) */
	size_t len;
	bool literal;                /* STRING: came as a literal */
	bool literal8;               /* STRING: came as ~{N} (RFC 4466 literal8) */
	const struct imapd_arg *sub; /* LIST: its items */
	size_t nsub;
};

struct imapd_cmd {
	const char *tag;  /* NUL-terminated */
	const char *name; /* NUL-terminated, as sent (compare case-insensitively) */
	const struct imapd_arg *args;
	size_t nargs;
};

struct imapd_limits {
	size_t line_max;    /* one line of a command, CRLF excluded (at least 8192) */
	size_t literal_max; /* one literal (APPEND's message) */
	unsigned depth_max; /* nested lists */
	size_t args_max;    /* arguments, counted over all lists of a command */
};

/* 64 KB lines, 64 MB literals, 16 levels, 10000 arguments. */
extern const struct imapd_limits imapd_default_limits;

struct imapd_reader;

struct imapd_reader *imapd_reader_new(const struct imapd_limits *lim);
void imapd_reader_free(struct imapd_reader *r);

enum imapd_read {
	IMAPD_NEED_MORE, /* every byte given was taken; no command yet */
	IMAPD_COMMAND,   /* *cmd is the next command */
	IMAPD_CONTINUE,  /* a synchronizing literal: send "+ ..." and feed on */
	IMAPD_BAD,       /* a command that cannot be read: answer "TAG BAD why"
	                    (tag "*" when there was none); it was dropped whole */
	IMAPD_TOOBIG,    /* a LITERAL+ literal past literal_max, its bytes on the
	                    way: answer "TAG BAD [TOOBIG] why" and end the connection
	                    (the reader cannot resynchronize cheaply) */
};

/*
 * Takes bytes from data[0..len) (*used says how many) and reports the
 * first event. Call again with the rest after IMAPD_COMMAND, IMAPD_CONTINUE
 * or IMAPD_BAD. For IMAPD_BAD and IMAPD_TOOBIG, *tag and why describe the answer.
 */
enum imapd_read imapd_read(struct imapd_reader *r, const char *data, size_t len, size_t *used,
                           const struct imapd_cmd **cmd, const char **tag, char *why,
                           size_t whylen);

/* Whether an argument is an atom or string equal to lit (case-insensitive). */
bool imapd_arg_is(const struct imapd_arg *a, const char *lit);

#endif
