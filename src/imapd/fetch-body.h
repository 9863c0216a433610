/*
 * What FETCH says about a message's content (RFC 3501 6.4.5, 7.4.2):
 * ENVELOPE, BODY and BODYSTRUCTURE, and the bytes of a BODY[section].
 * A pure module over the message as it is sent (CRLF line ends): every
 * size and offset counts CRLF. The MIME tree is mail/message.h's; header
 * values are read raw (not RFC 2047 decoded) and written as Dovecot
 * writes them, so that a client sees the same answers from either server.
 *
 * Memory: a fetch_msg points into the caller's bytes, which must outlive
 * it; answers are appended to the caller's struct buf.
 */
#ifndef CORRAL_IMAPD_FETCH_BODY_H
#define CORRAL_IMAPD_FETCH_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mail/message.h"
#include "util/buf.h"

#define FETCH_SECTION_DEPTH  32   /* part numbers in 1.2.3... */
#define FETCH_SECTION_FIELDS 256  /* names in HEADER.FIELDS (...) */
#define FETCH_LABEL_MAX      4096 /* the section as it is echoed */

enum fetch_sec_kind {
	FSEC_ALL,        /* BODY[] or BODY[1.2]: the whole message or part */
	FSEC_HEADER,     /* [HEADER], [n.HEADER] */
	FSEC_TEXT,       /* [TEXT], [n.TEXT] */
	FSEC_MIME,       /* [n.MIME] */
	FSEC_FIELDS,     /* [HEADER.FIELDS (...)] */
	FSEC_FIELDS_NOT, /* [HEADER.FIELDS.NOT (...)] */
};

/* One BODY[...]<o.c> item, parsed. */
struct fetch_section {
	bool peek; /* BODY.PEEK: \Seen is not set */
	unsigned part[FETCH_SECTION_DEPTH];
	size_t nparts;
	enum fetch_sec_kind kind;
	/* "BODY[1.HEADER.FIELDS (FROM TO)]": what the answer starts with */
	char label[FETCH_LABEL_MAX];
	/* HEADER.FIELDS: the names, as (offset, length) into label */
	struct {
		uint16_t off, len;
	} field[FETCH_SECTION_FIELDS];
	size_t nfields;
	bool partial;
	uint64_t off, count;
};

/*
 * Parses "BODY[...]", "BODY.PEEK[...]" with an optional "<o.c>" (the atom
 * imapd/parse.h keeps whole). 0, or -1 when it is not a valid item.
 */
int fetch_section_parse(const char *s, size_t len, struct fetch_section *sec);

/* What is known of a MIME part beyond the tree (fetch-body.c). */
struct fetch_part {
	size_t hdr_end; /* past its header's empty line */
	bool blank;     /* the header has its empty line */
	bool multi;     /* a multipart with a valid Content-Type */
	bool rfc822;    /* message/rfc822 */
	bool ct_broken; /* a Content-Type Dovecot answers as "" "" */
};

/* A message being answered: parsed once, on first use. */
struct fetch_msg {
	const char *data; /* CRLF line ends */
	size_t len;
	struct msg msg;
	bool parsed;
	struct fetch_part *part; /* per MIME part of msg, once parsed */
};

/*
 * The header fields the folder index keeps per message (view.h), so that
 * a client's listing (HEADER.FIELDS of these) reads no message file: what
 * Thunderbird, K-9, Apple Mail, mutt and Evolution ask for, and ENVELOPE's.
 * FETCH_CACHE_TAG names this set in the index: another set rebuilds it.
 */
#define FETCH_CACHE_FIELDS                                                                         \
	"From To Cc Bcc Subject Date Message-ID In-Reply-To References Reply-To Sender "           \
	"Content-Type Priority X-Priority Importance Newsgroups List-Id"
#define FETCH_CACHE_TAG "header fields 1: " FETCH_CACHE_FIELDS

/* Whether sec is HEADER.FIELDS of the whole message naming only cached
 * fields: answered the same from fetch_cache_fields()'s block as from
 * the message. */
bool fetch_section_cached(const struct fetch_section *sec);
/* Appends the cached fields of the message data[0..len) (CRLF line ends):
 * its header's lines of those fields, in order, with their folds. */
void fetch_cache_fields(const char *data, size_t len, struct buf *out);

void fetch_msg_init(struct fetch_msg *fm, const char *data, size_t len);
void fetch_msg_free(struct fetch_msg *fm);

/* The section's bytes, whole (the caller applies <o.c>); nothing for a
 * part that does not exist. */
void fetch_section_get(struct fetch_msg *fm, const struct fetch_section *sec, struct buf *out);
/* "(...)" after "BODYSTRUCTURE " (extensible) or "BODY " (not). */
void fetch_bodystructure(struct fetch_msg *fm, bool extensible, struct buf *out);
/* "(...)" after "ENVELOPE ". */
void fetch_envelope(struct fetch_msg *fm, struct buf *out);

#endif
