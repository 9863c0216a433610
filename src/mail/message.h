/*
 * A parsed view of one RFC 5322 message: a header index over the raw bytes,
 * RFC 2047 decoding, address lists, and the MIME tree with transfer decoding
 * on demand. The message bytes are never altered nor copied: struct msg
 * points into the caller's buffer, which must outlive it.
 *
 * Parsing never fails: malformed input is indexed best-effort. When a hard
 * cap is reached (header count, header line length, MIME depth or parts),
 * indexing stops there and msg.error says which cap, for the log; the
 * message is still delivered byte-exact.
 *
 * Memory: strings returned by functions (char *) belong to the caller, who
 * frees them with free(). Pointers inside struct msg belong to the msg.
 */
#ifndef CORRAL_MESSAGE_H
#define CORRAL_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>

/* Hard caps; past them indexing stops and msg.error is set. */
#define MSG_MAX_HEADERS     10000
#define MSG_MAX_HEADER_LINE (4u << 20) /* one (folded) header field */
#define MSG_MAX_DEPTH       32         /* MIME nesting */
#define MSG_MAX_PARTS       5000
#define MSG_MAX_ADDRS       10000 /* addresses returned by one addr_parse() */

struct msg_header {
	const char *name; /* into the message; not NUL-terminated */
	size_t name_len;
	const char *value; /* raw, after the colon, folds included, line end excluded */
	size_t value_len;
};

struct msg_part {
	int parent;        /* index into msg.parts, -1 for the root */
	int depth;         /* 0 for the root */
	size_t hdr_start;  /* offset of the part's header section */
	size_t body_start; /* offset of the part's body */
	size_t body_end;   /* offset one past the body */
	char *type;        /* lower-case "text/plain"; the default applies when absent */
	char *charset;     /* lower-case, or NULL */
	char *encoding;    /* lower-case Content-Transfer-Encoding, or NULL (= 7bit) */
	char *filename;    /* UTF-8 (RFC 2231 / 2047 decoded), or NULL */
	char *boundary;    /* multipart only */
	bool is_multipart;
	bool is_attachment; /* disposition attachment, a filename, or a non-text leaf */
	char *disposition;  /* lower-case "attachment", "inline"..., or NULL */
};

struct msg {
	const char *data; /* the raw message, not owned */
	size_t len;
	struct msg_header *hdrs; /* top-level header fields in order */
	size_t nhdrs;
	size_t body_start; /* offset of the body; == len when there is none */
	const char *error; /* NULL, or static text naming the cap that was hit */
	/* Built on first use by msg_mime(). */
	struct msg_part *parts; /* pre-order: parts[0] is the message itself */
	size_t nparts;
	bool mime_done;
};

/* Indexes the header section of data[0..len). Handles CRLF and LF, a
 * leading mbox "From " line (skipped), 8-bit bytes, NUL bytes, no body. */
void msg_init(struct msg *m, const char *data, size_t len);
void msg_free(struct msg *m);

/* Iterates over the header fields called name (case-insensitive):
 * start with *iter = 0; returns NULL after the last one. */
const struct msg_header *msg_header_next(const struct msg *m, const char *name, size_t *iter);
/* Unfolded (CRLF/LF before white space removed), trimmed, raw bytes. */
char *msg_header_unfold(const struct msg_header *h);
/* Unfolded, trimmed, RFC 2047-decoded to UTF-8. */
char *msg_header_decode(const struct msg_header *h);
/* The first field called name, decoded as above, or NULL when absent. */
char *msg_get(const struct msg *m, const char *name);
/* The Message-ID as "<left@right>" without white space or comments, or NULL. */
char *msg_message_id(const struct msg *m);

/* RFC 2047: decodes B and Q encoded words (any charset iconv knows) to UTF-8;
 * white space between adjacent encoded words is dropped; a malformed or
 * unknown-charset word is left as it is. Other bytes pass through: valid
 * UTF-8 is kept, any other byte is read as Windows-1252 (what 8-bit headers
 * mean in practice). Line breaks are dropped (unfolding), other control
 * characters become spaces. */
char *rfc2047_decode(const char *s, size_t len);
/* Converts from charset to UTF-8 with iconv; unknown charsets and invalid
 * sequences become U+FFFD (ASCII bytes of an unknown charset are kept).
 * A NULL charset, US-ASCII and unknown-8bit read like 8-bit header bytes
 * above; ISO-8859-1 is read as its superset Windows-1252. NUL bytes become
 * U+FFFD. *outlen gets the length (not counting the NUL). */
char *charset_to_utf8(const char *charset, const char *s, size_t len, size_t *outlen);
/* Whether s[0..n) is valid UTF-8 (RFC 3629: no overlong form, no surrogate). */
bool utf8_valid(const char *s, size_t n);

struct msg_addr {
	char *name; /* display name, decoded UTF-8, or NULL */
	char *addr; /* "local@domain" as written (quotes kept for a quoted local part) */
};

/* Parses an address list (From, To, Cc...): display names, angle addresses,
 * quoted strings, comments, groups ("team: a@x, b@y;"), obsolete routes.
 * Garbage is skipped. Returns the count; *out is NULL when 0. */
size_t addr_parse(const char *s, size_t len, struct msg_addr **out);
void addr_free(struct msg_addr *a, size_t n);

/* Builds the MIME tree (once) and returns the number of parts (>= 1).
 * Missing or wrong boundaries make the multipart body a single text part
 * rather than an error. */
size_t msg_mime(struct msg *m);
/* The transfer-decoded body of a leaf part (base64, quoted-printable, or
 * as is), at most max bytes; *outlen gets the length. */
char *mime_decode(const struct msg *m, const struct msg_part *p, size_t max, size_t *outlen);
/* mime_decode() then converted from the part's charset to UTF-8. */
char *mime_text(const struct msg *m, const struct msg_part *p, size_t max, size_t *outlen);

#endif
