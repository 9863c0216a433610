/*
 * IMAP client-side response parsing (RFC 3501), for source-imap.c. Works
 * on lines as net_read_line() returns them (CRLF removed); a line ending
 * in a literal announcement "{n}" is continued, after n bytes, by the next
 * line. Pure functions over bytes: the unit tests feed them directly.
 */
#ifndef CORRAL_IMAP_PARSE_H
#define CORRAL_IMAP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mail/flags.h"

struct buf;
struct src_msg;

enum imap_status { IMAP_OK, IMAP_NO, IMAP_BAD, IMAP_BYE, IMAP_PREAUTH, IMAP_OTHER };

/* One response line, split into its parts (pointers into the line). */
struct imap_line {
	bool untagged;     /* "* ..." */
	bool continuation; /* "+ ..." */
	const char *tag;   /* tagged: the tag (not NUL-terminated), tag_len bytes */
	size_t tag_len;
	enum imap_status status; /* OK/NO/BAD/BYE/PREAUTH, or OTHER */
	uint32_t num;            /* "* 12 EXISTS": 12 */
	bool has_num;
	const char *word; /* status word or data keyword ("EXISTS", "FETCH", "CAPABILITY") */
	size_t word_len;
	const char *code; /* response code inside [...], without the brackets */
	size_t code_len;
	const char *rest; /* what follows the word (and the code), up to the end */
	size_t rest_len;
};

/* Splits line; -1 when it is not a response at all. */
int imap_line_parse(const char *line, size_t len, struct imap_line *out);

/* The literal a line announces at its end ("... {123}"): 1 with *n, else 0;
 * -1 for a malformed or oversized count. */
int imap_literal_at_end(const char *line, size_t len, uint64_t *n);

/* A response code's number: "UIDVALIDITY 3857529045" -> 3857529045 when
 * code names key. Returns 0 on a match. */
int imap_code_number(const char *code, size_t len, const char *key, uint32_t *out);

/* Capabilities this client cares about, from a CAPABILITY list. */
enum imap_cap {
	IMAP_CAP_IMAP4REV1 = 1 << 0,
	IMAP_CAP_UIDPLUS = 1 << 1,
	IMAP_CAP_LITERALPLUS = 1 << 2,
	IMAP_CAP_IDLE = 1 << 3,
	IMAP_CAP_LITERALMINUS = 1 << 4,
};
unsigned imap_caps_parse(const char *list, size_t len);

/* Items of a FETCH response this client reads. */
enum imap_item { ITEM_OTHER, ITEM_UID, ITEM_SIZE, ITEM_FLAGS, ITEM_BODY };

/* Parser state for one FETCH response, fed segment by segment. */
struct imap_fetch {
	uint32_t seq;
	uint32_t uid;
	uint64_t size;
	unsigned flags; /* mail_flag bits */
	bool has_uid, has_size, has_flags, has_body;
	/* A body sent as a quoted string or NIL: points into the segment just
	 * fed (unescaped in place), valid until the next feed. */
	const char *qbody;
	size_t qbody_len;
	/* Parser state. */
	int depth;
	bool want_value;
	enum imap_item item;
};

enum imap_fetch_rc {
	IMAP_FETCH_END = 0,     /* the item list closed */
	IMAP_FETCH_LITERAL = 1, /* the segment ends with a literal (see literal_item) */
	IMAP_FETCH_ERROR = -1,  /* malformed */
};

/* Starts with the text after "* SEQ FETCH " (the "(" ...). */
void imap_fetch_init(struct imap_fetch *f, uint32_t seq);
/*
 * Parses one segment. On IMAP_FETCH_LITERAL, *lit is the literal's size
 * and *lit_item whose value it is (ITEM_BODY: the message; anything else:
 * skip it); the next segment is the line after the literal.
 */
int imap_fetch_feed(struct imap_fetch *f, char *seg, size_t len, uint64_t *lit,
                    enum imap_item *lit_item);

/*
 * Appends a mailbox name as an IMAP astring: quoted, with UTF-8 converted
 * to modified UTF-7 (RFC 3501 5.1.3). -1 (b unchanged in length terms is
 * not promised) when the name holds control characters or invalid UTF-8.
 */
int imap_append_mailbox(struct buf *b, const char *name);

/*
 * Appends the UID set of msgs[0..n) (ascending UIDs, pointers into one
 * folder listing). Two messages next to each other in the listing are
 * joined into a range "a:b": nothing else lies between them on the server.
 * Stops before the set would pass max_len bytes; returns how many messages
 * the set covers (at least 1 when n > 0).
 */
size_t imap_append_uid_set(struct buf *b, const struct src_msg *const *msgs, size_t n,
                           size_t max_len);

#endif
