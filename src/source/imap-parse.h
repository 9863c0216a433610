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
	IMAP_CAP_CONDSTORE = 1 << 5,
	IMAP_CAP_NOTIFY = 1 << 6,
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

/*
 * A mailbox name at the start of p, as an atom or a quoted string
 * (unescaped into out, NUL-terminated, at most cap - 1 bytes): the bytes
 * consumed, or 0 when it is neither, malformed or too long. The name stays
 * as the server spells it (modified UTF-7).
 */
size_t imap_mailbox_take(const char *p, size_t len, char *out, size_t cap);
/* A configured (UTF-8) folder name as the server spells it: modified
 * UTF-7, unquoted. -1 when it cannot be sent or is too long for out. */
int imap_mailbox_wire(const char *name, char *out, size_t cap);
/* Whether two wire names name one mailbox (INBOX in any case). */
bool imap_mailbox_same(const char *a, const char *b);

/* The items of a STATUS response this client reads. */
struct imap_status_data {
	uint32_t uidnext, uidvalidity;
	uint64_t highestmodseq;
	bool has_uidnext, has_uidvalidity, has_modseq;
};
/* Parses the item list "(UIDNEXT 5 UIDVALIDITY 7 HIGHESTMODSEQ 9 ...)" of a
 * STATUS response (unknown items skipped). 0, or -1 when malformed. */
int imap_status_items(const char *p, size_t len, struct imap_status_data *out);

#endif
