/*
 * SEARCH keys (RFC 3501 6.4.4) and ESEARCH answers (RFC 4731), apart from
 * any session: the arguments of a SEARCH command -> a small tree of keys
 * (search_parse), a tree and one message -> whether it matches
 * (search_match), and the matches -> the answer line (search_answer).
 *
 * Text keys (BODY, TEXT, HEADER, FROM, SUBJECT...) are case-insensitive
 * substring matches on decoded text: header fields RFC 2047-decoded, body
 * parts transfer-decoded and converted to UTF-8 (every text/ part). Dates
 * are compared by day: BEFORE, ON and SINCE the INTERNALDATE in the local
 * time zone, SENT* the date written in the Date field.
 *
 * Memory: a query owns its keys; search_query_free() frees them.
 */
#ifndef CORRAL_IMAPD_SEARCH_H
#define CORRAL_IMAPD_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "imapd/parse.h"
#include "imapd/seqset.h"
#include "store/uidlist.h"
#include "util/buf.h"

enum search_op {
	SK_ALL,
	SK_AND, /* every kid */
	SK_OR,  /* either of two kids */
	SK_NOT, /* not its kid */
	SK_SEQ, /* sequence numbers in set */
	SK_UID, /* UIDs in set */
	SK_FLAG,
	SK_NOFLAG,
	SK_KEYWORD,
	SK_UNKEYWORD,
	SK_RECENT,
	SK_NEW, /* recent and not seen */
	SK_OLD, /* not recent */
	SK_LARGER,
	SK_SMALLER,
	SK_BEFORE,
	SK_ON,
	SK_SINCE,
	SK_SENTBEFORE,
	SK_SENTON,
	SK_SENTSINCE,
	SK_HEADER,
	SK_BODY,
	SK_TEXT,
	SK_MODSEQ, /* RFC 7162: a mod-sequence at least num */
};

struct search_key {
	enum search_op op;
	struct search_key *kids; /* AND, OR, NOT: a list through next */
	struct search_key *next;
	char letter;       /* FLAG, NOFLAG: the Maildir letter (DFRST) */
	char *name;        /* KEYWORD, UNKEYWORD: the keyword; HEADER: the field */
	char *text;        /* HEADER, BODY, TEXT: the string, case-folded UTF-8 */
	size_t text_len;   /* it may hold a NUL (a literal) */
	uint64_t num;      /* LARGER, SMALLER: bytes */
	int64_t day;       /* BEFORE, ON, SINCE, SENT*: days since 1970-01-01 */
	struct seqset set; /* SEQ, UID */
	unsigned cost; /* the dearest key here or in a kid: 0 the view, 1 the size, 2 the content */
};

/* RETURN options of an ESEARCH (RFC 4731). */
enum { SEARCH_RET_MIN = 1, SEARCH_RET_MAX = 2, SEARCH_RET_ALL = 4, SEARCH_RET_COUNT = 8 };

struct search_query {
	unsigned ret; /* 0: a plain "* SEARCH" answer; else ESEARCH with these */
	struct search_key *key;
	bool modseq;  /* a MODSEQ key: the answer says the mod-sequence (RFC 7162 3.1.5) */
	bool charset; /* a CHARSET was given */
};

enum search_parsed {
	SEARCH_OK,
	SEARCH_BAD,        /* err says why */
	SEARCH_BADCHARSET, /* a CHARSET other than UTF-8 and US-ASCII */
};

/*
 * Parses what follows "SEARCH" or "UID SEARCH": [RETURN (...)] [CHARSET x]
 * keys. "*" in a sequence set is nmsgs, in a UID set maxuid. Cheap keys are
 * put before costly ones, so that a message is read only when they match.
 */
enum search_parsed search_parse(const struct imapd_arg *args, size_t nargs, uint32_t nmsgs,
                                uint32_t maxuid, struct search_query *q, char *err, size_t errlen);
void search_query_free(struct search_query *q);

/* One message as the evaluator sees it. */
struct search_msg {
	uint32_t seq, uid;
	const char *flags; /* the Maildir letters */
	bool recent;
	time_t internal;
	const struct keywords *kw; /* the letters a-z */
	uint64_t modseq;
	/* RFC822.SIZE (CRLF line ends); 0 when the message is gone. */
	uint64_t (*size)(void *arg);
	/* The whole message, malloc()ed (the evaluator frees it); NULL when gone. */
	char *(*load)(void *arg, size_t *len);
	void *arg;
};

/* Whether m matches k. load() is called at most once, and only when a
 * costly key is reached; a message that is gone matches nothing. */
bool search_match(const struct search_key *k, const struct search_msg *m);

/* The answer to a search whose matches are ids[0..n) (ascending sequence
 * numbers or UIDs): "* SEARCH 2 4" or "* ESEARCH (TAG "t") UID MIN 2 ...",
 * CRLF included. */
void search_answer(struct buf *out, const struct search_query *q, const char *tag, bool uid,
                   const uint32_t *ids, size_t n);
/* The same with the matches' mod-sequences, for a query with a MODSEQ key:
 * "(MODSEQ n)" or "MODSEQ n", the highest of the matches (of those MIN and
 * MAX return when they are all it returns: RFC 7162 3.1.5, RFC 4731). */
void search_answer_modseq(struct buf *out, const struct search_query *q, const char *tag, bool uid,
                          const uint32_t *ids, const uint64_t *modseqs, size_t n);

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
int64_t search_day(int year, int month, int day);

/* Case-folds UTF-8 in place (ASCII, Latin-1, Latin Extended-A, Greek,
 * Cyrillic); every character keeps its length. */
void search_fold(char *s, size_t len);

#endif
