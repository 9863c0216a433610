/*
 * What the fetch backends share (not for the fetch pipeline: it uses
 * source.h only): the body writer that streams a message into the
 * caller's file with a size cap and optional CRLF -> LF, and the POP3
 * body unstuffer. Pure functions: the unit tests drive them directly.
 */
#ifndef CORRAL_SOURCE_INT_H
#define CORRAL_SOURCE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "source/source.h"

#define SRC_BODY_BUF (64 * 1024)

/* Streams one message body into a descriptor, buffered. */
struct src_body {
	int fd;
	uint64_t max;     /* cap on the bytes received */
	uint64_t in;      /* bytes received so far */
	uint64_t written; /* bytes written to fd (after CRLF -> LF) */
	bool lf;          /* convert CRLF to LF */
	bool cr;          /* a CR is held back until the next byte is known */
	bool over;        /* the cap was passed: the rest is discarded */
	int errnum;       /* first write error; the rest is discarded */
	size_t len;
	char out[SRC_BODY_BUF];
};

void src_body_start(struct src_body *b, int fd, uint64_t max, bool lf);
/* Takes body bytes; errors are sticky and reported by src_body_finish(). */
void src_body_put(struct src_body *b, const char *p, size_t n);
/* Flushes. 0 with *size, or -1 with merr (scope MESSAGE) filled. */
int src_body_finish(struct src_body *b, uint64_t *size, struct result *merr);

/*
 * POP3 multi-line body decoding (RFC 1939 3): a line starting with "." has
 * it removed, and the line ".\r\n" ends the body. Works on any split of
 * the input; a bare LF is accepted as a line end.
 */
struct pop3_unstuff {
	int state;
};

void pop3_unstuff_init(struct pop3_unstuff *u);
/*
 * Decodes in[0..inlen) into out (at least inlen + 1 bytes), setting *outlen and
 * *used (bytes of in consumed). Returns 1 when the terminating line was
 * consumed (in[*used..] belongs to the next response), else 0.
 */
int pop3_unstuff(struct pop3_unstuff *u, const char *in, size_t inlen, char *out, size_t *outlen,
                 size_t *used);

/* After an account-wide failure a session is out of step: every later call
 * is refused with this error. */
int src_refuse_broken(struct net *net, struct result *err);
/* Passes rc through, marking the session broken when err reaches the account. */
int src_guard(bool *broken, int rc, const struct result *err);

#endif
