/*
 * Private pieces shared by message.c, mime.c, rfc2047.c and address.c.
 * Not part of the module's contract: only message.h is.
 */
#ifndef CORRAL_MESSAGE_INT_H
#define CORRAL_MESSAGE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/message.h"
#include "mail/lex.h"
#include "util/base64.h"
#include "util/buf.h"

/* Output buffers here are bounded by the input, never by this. */
#define MSG_BUF_MAX ((size_t)-1 / 4)

static inline bool is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/*
 * One pass over a header section in data[pos..end): returns each field in
 * turn. The section ends at an empty line, at the end of the range, or at
 * the first line that is not a field (no colon, or a name with spaces in
 * it): that line starts the body, as in Postfix and Python's email.
 * A continuation line before any field is skipped.
 */
struct hdr_scan {
	const char *data;
	size_t pos, end;
	size_t nfields;
	bool stopped;      /* a cap was hit: fields are no longer returned */
	const char *error; /* static text naming the cap, or NULL */
	size_t body_start; /* valid once hdr_scan_next() returned false */
};

void hdr_scan_init(struct hdr_scan *s, const char *data, size_t start, size_t end);
bool hdr_scan_next(struct hdr_scan *s, struct msg_header *h);
/* Where the header section starts: past a UTF-8 byte order mark and a
 * leading mbox "From " line, if any. */
size_t hdr_section_start(const char *data, size_t len);

/* Length (1-4) of the valid UTF-8 sequence at s[0..n), or 0 when invalid. */
size_t utf8_seq_len(const unsigned char *s, size_t n);
void utf8_put(struct buf *b, unsigned int cp);
/*
 * Raw bytes as mail means them: valid UTF-8 is kept, any other byte is read
 * as Windows-1252 (a superset of Latin-1 in practice). NUL becomes U+FFFD.
 */
void text_append_lenient(struct buf *b, const char *s, size_t n);
/* Appends s converted from charset (NULL: lenient, as above). */
void charset_append(struct buf *b, const char *charset, size_t cslen, const char *s, size_t n);
/* True when charset_append() can convert from this charset. */
bool charset_known(const char *charset, size_t cslen);
/* Turns C0 controls and DEL in b->data[from..] into spaces (in place). */
void text_blank_controls(struct buf *b, size_t from);
/* A parsed Content-Type or Content-Disposition field (mime-param.c). */
#define MFIELD_MAX_PARAMS 64

struct mparam {
	const char *name; /* base name, without the RFC 2231 '*' suffixes */
	size_t nlen;
	int section; /* RFC 2231 continuation number, or -1 */
	bool ext;    /* charset'lang'%XX value */
	bool quoted;
	const char *val; /* inside the quotes, escapes not yet removed */
	size_t vlen;
};

struct mfield {
	char *buf; /* the unfolded field; the spans point into it */
	const char *tok;
	size_t toklen;
	struct mparam p[MFIELD_MAX_PARAMS];
	size_t n;
};

void mfield_parse(struct mfield *f, const struct msg_header *h);
void mfield_free(struct mfield *f);
/* The lower-cased first token ("text/plain", "attachment"), or NULL. */
char *mfield_token(const struct mfield *f);
/* A parameter decoded to UTF-8 (RFC 2231, RFC 2047, lenient 8-bit), or NULL. */
char *mfield_param(const struct mfield *f, const char *name);
/* A parameter's bytes, only unquoted (for the boundary), or NULL. */
char *mfield_param_raw(const struct mfield *f, const char *name);

#endif
