/*
 * Private pieces shared by fetch-body.c, fetch-header.c and fetch-envelope.c: a raw
 * header walker, an RFC 822 lexer with Dovecot's leniencies, and IMAP
 * string quoting as Dovecot writes it. Not part of the module's contract:
 * only fetch-body.h is.
 */
#ifndef CORRAL_IMAPD_FETCH_INT_H
#define CORRAL_IMAPD_FETCH_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

/* Output is bounded by the message, never by this. */
#define FETCH_BUF_MAX ((size_t)-1 / 4)

/*
 * One header field, raw. A header ends at its first empty line only: a
 * line without a colon is a field whose name is the whole line (as
 * Dovecot reads it), and a line starting with a blank continues a field.
 */
struct fhdr {
	const char *name; /* trailing blanks before the colon dropped */
	size_t nlen;
	const char *val; /* after the colon and its leading blanks; folds kept */
	size_t vlen;
	size_t start, end; /* the field's lines, the last line end included */
};

/* The next field of data[*pos..end), moving *pos; false at the end of the
 * header (*pos is then past its empty line, or end). */
bool fhdr_next(const char *data, size_t *pos, size_t end, struct fhdr *h);
/* Where the header section starting at start ends: past its empty line
 * (*blank true), or at end when it has none. blank may be NULL. */
size_t fhdr_section_end(const char *data, size_t start, size_t end, bool *blank);

/* The RFC 822 lexer: results are 1 (more input), 0 (at the end), -1 (error). */
struct rlex {
	const unsigned char *p, *end;
	struct buf *comment; /* the last comment skipped, when not NULL */
};

void rlex_init(struct rlex *x, const char *s, size_t n, struct buf *comment);
int rlex_skip_lwsp(struct rlex *x);
int rlex_quoted(struct rlex *x, struct buf *out);
int rlex_atom(struct rlex *x, struct buf *out);
int rlex_mime_token(struct rlex *x, struct buf *out);
bool rlex_is_atext(unsigned char c);
/* dot-atom with the white space RFC 822 allowed around the dots */
int rlex_dot_atom(struct rlex *x, struct buf *out);
/* words, quoted strings and dots, joined by single spaces */
int rlex_phrase(struct rlex *x, struct buf *out);
/* at '@': a domain or a [domain literal], after the '@' */
int rlex_domain(struct rlex *x, struct buf *out);

/* IMAP strings as Dovecot writes them: quoted, or a literal for CR, LF,
 * 8-bit bytes or more than four escapes; NIL for NULL. */
void imap_nstring(struct buf *b, const char *s, size_t n);
/* The same with CR and LF removed first. */
void imap_nstring_nolf(struct buf *b, const char *s, size_t n);
/* For people (a subject, a display name): runs of blanks, tabs and line
 * ends become one space, trimmed. */
void imap_human(struct buf *b, const char *s, size_t n);

/* The parameters of a Content-Type or -Disposition after the lexer's
 * position (x NULL: none), RFC 2231 pieces merged as Dovecot does:
 * "(name value ...)" or NIL. A text part (text) says its charset,
 * us-ascii when the field does not. */
void mime_params_write(struct buf *out, struct rlex *x, bool text);

/* The ENVELOPE of the header section data[start..end). */
void envelope_write(const char *data, size_t start, size_t end, struct buf *out);

#endif
