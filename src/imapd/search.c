/*
 * SEARCH's grammar (RFC 3501 6.4.4, RFC 4731 RETURN) -> a tree of keys,
 * and the answers. The evaluator is search-eval.c.
 */
#include "imapd/search.h"
#include "imapd/seqset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/log.h"
#include "util/str.h"

/* NOT NOT NOT ... and OR OR ... recurse: a bound keeps the stack small. */
#define SEARCH_DEPTH_MAX 100

enum karg { A_NONE, A_STRING, A_DATE, A_NUMBER, A_SET, A_KEYWORD, A_HEADER, A_NOT, A_OR, A_MODSEQ };

static const struct keydef {
	const char *name;
	enum search_op op;
	enum karg arg;
	const char *param; /* FLAG, NOFLAG: the letter; HEADER: the field */
} keys[] = {
    {"ALL", SK_ALL, A_NONE, NULL},
    {"ANSWERED", SK_FLAG, A_NONE, "R"},
    {"BCC", SK_HEADER, A_STRING, "Bcc"},
    {"BEFORE", SK_BEFORE, A_DATE, NULL},
    {"BODY", SK_BODY, A_STRING, NULL},
    {"CC", SK_HEADER, A_STRING, "Cc"},
    {"DELETED", SK_FLAG, A_NONE, "T"},
    {"DRAFT", SK_FLAG, A_NONE, "D"},
    {"FLAGGED", SK_FLAG, A_NONE, "F"},
    {"FROM", SK_HEADER, A_STRING, "From"},
    {"HEADER", SK_HEADER, A_HEADER, NULL},
    {"KEYWORD", SK_KEYWORD, A_KEYWORD, NULL},
    {"LARGER", SK_LARGER, A_NUMBER, NULL},
    {"MODSEQ", SK_MODSEQ, A_MODSEQ, NULL},
    {"NEW", SK_NEW, A_NONE, NULL},
    {"NOT", SK_NOT, A_NOT, NULL},
    {"OLD", SK_OLD, A_NONE, NULL},
    {"ON", SK_ON, A_DATE, NULL},
    {"OR", SK_OR, A_OR, NULL},
    {"RECENT", SK_RECENT, A_NONE, NULL},
    {"SEEN", SK_FLAG, A_NONE, "S"},
    {"SENTBEFORE", SK_SENTBEFORE, A_DATE, NULL},
    {"SENTON", SK_SENTON, A_DATE, NULL},
    {"SENTSINCE", SK_SENTSINCE, A_DATE, NULL},
    {"SINCE", SK_SINCE, A_DATE, NULL},
    {"SMALLER", SK_SMALLER, A_NUMBER, NULL},
    {"SUBJECT", SK_HEADER, A_STRING, "Subject"},
    {"TEXT", SK_TEXT, A_STRING, NULL},
    {"TO", SK_HEADER, A_STRING, "To"},
    {"UID", SK_UID, A_SET, NULL},
    {"UNANSWERED", SK_NOFLAG, A_NONE, "R"},
    {"UNDELETED", SK_NOFLAG, A_NONE, "T"},
    {"UNDRAFT", SK_NOFLAG, A_NONE, "D"},
    {"UNFLAGGED", SK_NOFLAG, A_NONE, "F"},
    {"UNKEYWORD", SK_UNKEYWORD, A_KEYWORD, NULL},
    {"UNSEEN", SK_NOFLAG, A_NONE, "S"},
};

/* Where the parser is: a run of arguments (the command's, or a group's). */
struct cursor {
	const struct imapd_arg *a;
	size_t n, i;
};

struct pctx {
	uint32_t nmsgs, maxuid;
	unsigned depth;
	bool modseq; /* a MODSEQ key was read */
	char *err;
	size_t errlen;
};

int64_t search_day(int year, int month, int day)
{
	/* Days from civil, counting years from March so that February is last. */
	int64_t y = (int64_t)year - (month <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

static unsigned fold_cp(unsigned cp)
{
	if ((cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) || (cp >= 0x391 && cp <= 0x3AB) ||
	    (cp >= 0x410 && cp <= 0x42F))
		return cp + 0x20;
	if (cp >= 0x400 && cp <= 0x40F)
		return cp + 0x50;
	if (cp == 0x178)
		return 0xFF;
	/* Latin Extended-A pairs: upper case even up to U+0137 and from U+014A,
	 * odd in between and from U+0179. */
	if ((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177))
		return cp | 1;
	if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E))
		return (cp & 1) ? cp + 1 : cp;
	return cp;
}

void search_fold(char *s, size_t len)
{
	unsigned char *p = (unsigned char *)s;

	for (size_t i = 0; i < len; i++) {
		if (p[i] >= 'A' && p[i] <= 'Z') {
			p[i] += 'a' - 'A';
		} else if ((p[i] & 0xE0) == 0xC0 && i + 1 < len && (p[i + 1] & 0xC0) == 0x80) {
			/* Two-byte characters fold to two-byte characters. */
			unsigned cp = fold_cp(((p[i] & 0x1Fu) << 6) | (p[i + 1] & 0x3Fu));

			if (cp >= 0x80) {
				p[i] = (unsigned char)(0xC0 | (cp >> 6));
				p[i + 1] = (unsigned char)(0x80 | (cp & 0x3F));
			}
			i++;
		}
	}
}

static enum search_parsed bad(struct pctx *p, const char *fmt, const char *what, size_t len)
{
	char shown[64];

	snprintf(shown, sizeof(shown), "%.*s", (int)(len < 40 ? len : 40), what ? what : "");
	for (char *c = shown; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	snprintf(p->err, p->errlen, fmt, shown);
	return SEARCH_BAD;
}

/* An atom or a string (NIL reads as the atom it is). */
static bool take_string(struct cursor *c, const char **s, size_t *len)
{
	const struct imapd_arg *a;

	if (c->i >= c->n || c->a[c->i].kind == IMAPD_LIST)
		return false;
	a = &c->a[c->i++];
	*s = a->kind == IMAPD_NIL ? "NIL" : a->s;
	*len = a->kind == IMAPD_NIL ? 3 : a->len;
	return true;
}

/* "1-Feb-1994" -> days; false when it is not a date. */
static bool parse_date(const char *s, size_t len, int64_t *day)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	char buf[16], mon[4];
	int d, y, used = 0;
	const char *m;

	if (len < 10 || len > 11)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (sscanf(buf, "%2d-%3[A-Za-z]-%4d%n", &d, mon, &y, &used) != 3 || (size_t)used != len ||
	    buf[0] < '0' || buf[0] > '9' || buf[len - 5] != '-')
		return false;
	for (char *c = mon; *c; c++)
		*c = (char)(*c | 0x20);
	m = strstr(months, mon);
	if (strlen(mon) != 3 || m == NULL || (m - months) % 3 != 0 || d < 1 ||
	    d > mdays[(m - months) / 3])
		return false;
	*day = search_day(y, (int)(m - months) / 3 + 1, d);
	return true;
}

static bool parse_number(const char *s, size_t len, uint64_t *v)
{
	*v = 0;
	if (len == 0 || len > 20)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || *v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return false;
		*v = *v * 10 + (uint64_t)(s[i] - '0');
	}
	return true;
}

static enum search_parsed parse_key(struct pctx *p, struct cursor *c, struct search_key **out);

/* Keys up to the end of c, as one AND (or the key itself when alone). */
static enum search_parsed parse_list(struct pctx *p, struct cursor *c, struct search_key **out);

static enum search_parsed parse_arg(struct pctx *p, struct cursor *c, const struct keydef *d,
                                    struct search_key *k)
{
	const char *s = NULL;
	size_t len = 0;
	enum search_parsed r;

	switch (d->arg) {
	case A_NONE:
		return SEARCH_OK;
	case A_NOT:
		return parse_key(p, c, &k->kids);
	case A_OR:
		if ((r = parse_key(p, c, &k->kids)) != SEARCH_OK)
			return r;
		return parse_key(p, c, &k->kids->next);
	case A_HEADER:
		if (!take_string(c, &s, &len) || len == 0 || memchr(s, '\0', len) != NULL)
			return bad(p, "HEADER needs a field name and a string%s", NULL, 0);
		k->name = xstrndup(s, len);
		break;
	case A_MODSEQ:
		/* An entry name and type may come first ("/flags/\\seen" all):
		 * corral keeps one mod-sequence per message, for every entry. */
		p->modseq = true;
		if (c->i + 1 < c->n && c->a[c->i].kind != IMAPD_ATOM) {
			if (!take_string(c, &s, &len) || !take_string(c, &s, &len) ||
			    !(str_ieq_n(s, len, "priv") || str_ieq_n(s, len, "shared") ||
			      str_ieq_n(s, len, "all")))
				return bad(p, "MODSEQ needs [entry type] and a mod-sequence%s",
				           NULL, 0);
		}
		break;
	default:
		break;
	}
	if (!take_string(c, &s, &len))
		return bad(p, "%s needs an argument", d->name, strlen(d->name));
	switch (d->arg) {
	case A_DATE:
		if (!parse_date(s, len, &k->day))
			return bad(p, "not a date (like 1-Feb-1994): %s", s, len);
		return SEARCH_OK;
	case A_NUMBER:
	case A_MODSEQ:
		if (!parse_number(s, len, &k->num))
			return bad(p, "not a number: %s", s, len);
		return SEARCH_OK;
	case A_SET:
		if (seqset_parse(s, len, p->maxuid, &k->set) < 0)
			return bad(p, "not a UID set: %s", s, len);
		return SEARCH_OK;
	case A_KEYWORD:
		if (len == 0 || memchr(s, '\0', len) != NULL)
			return bad(p, "not a keyword: %s", s, len);
		k->name = xstrndup(s, len);
		return SEARCH_OK;
	default:
		k->text = xmalloc(len + 1);
		memcpy(k->text, s, len);
		k->text[len] = '\0';
		k->text_len = len;
		search_fold(k->text, len);
		return SEARCH_OK;
	}
}

static unsigned op_cost(enum search_op op)
{
	switch (op) {
	case SK_LARGER:
	case SK_SMALLER:
		return 1;
	case SK_SENTBEFORE:
	case SK_SENTON:
	case SK_SENTSINCE:
	case SK_HEADER:
	case SK_BODY:
	case SK_TEXT:
		return 2;
	default:
		return 0;
	}
}

/* The cost of k from its kids; an AND's kids sorted cheap first (stably),
 * an OR's cheaper kid first. */
static void order(struct search_key *k)
{
	struct search_key *sorted = NULL;

	k->cost = op_cost(k->op);
	for (struct search_key *kid = k->kids; kid; kid = kid->next)
		if (kid->cost > k->cost)
			k->cost = kid->cost;
	if (k->op == SK_OR && k->kids->cost > k->kids->next->cost) {
		struct search_key *a = k->kids, *b = a->next;

		a->next = NULL;
		b->next = a;
		k->kids = b;
	}
	if (k->op != SK_AND)
		return;
	for (unsigned cost = 0; cost <= 2; cost++) {
		struct search_key **tail = &sorted;

		while (*tail)
			tail = &(*tail)->next;
		for (struct search_key **kp = &k->kids; *kp;) {
			struct search_key *kid = *kp;

			if (kid->cost != cost) {
				kp = &kid->next;
				continue;
			}
			*kp = kid->next;
			kid->next = NULL;
			*tail = kid;
			tail = &kid->next;
		}
	}
	k->kids = sorted;
}

static const struct keydef *keydef_find(const struct imapd_arg *a)
{
	if (a->kind != IMAPD_ATOM)
		return NULL;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (imapd_arg_is(a, keys[i].name))
			return &keys[i];
	return NULL;
}

static void key_free(struct search_key *k)
{
	while (k) {
		struct search_key *next = k->next;

		key_free(k->kids);
		free(k->name);
		free(k->text);
		seqset_free(&k->set);
		free(k);
		k = next;
	}
}

/* A sequence set or a parenthesised group, which have no key name. */
static enum search_parsed parse_unnamed(struct pctx *p, struct cursor *c, struct search_key *k)
{
	const struct imapd_arg *a = &c->a[c->i++];

	if (a->kind == IMAPD_LIST) {
		struct cursor sub = {a->sub, a->nsub, 0};

		k->op = SK_AND;
		if (a->nsub == 0)
			return bad(p, "an empty group ()%s", NULL, 0);
		return parse_list(p, &sub, &k->kids);
	}
	k->op = SK_SEQ;
	if (a->kind == IMAPD_ATOM && a->len > 0 &&
	    (a->s[0] == '*' || (a->s[0] >= '0' && a->s[0] <= '9'))) {
		if (seqset_parse(a->s, a->len, p->nmsgs, &k->set) < 0)
			return bad(p, "not a sequence set: %s", a->s, a->len);
		return SEARCH_OK;
	}
	return bad(p, "unknown search key %s", a->kind == IMAPD_NIL ? "NIL" : a->s,
	           a->kind == IMAPD_NIL ? 3 : a->len);
}

static enum search_parsed parse_key(struct pctx *p, struct cursor *c, struct search_key **out)
{
	const struct keydef *d;
	struct search_key *k;
	enum search_parsed r;

	*out = NULL;
	if (c->i >= c->n)
		return bad(p, "a search key is missing at the end%s", NULL, 0);
	if (p->depth >= SEARCH_DEPTH_MAX)
		return bad(p, "search keys nested too deeply%s", NULL, 0);
	p->depth++;
	k = xcalloc(1, sizeof(*k));
	d = keydef_find(&c->a[c->i]);
	if (d != NULL) {
		c->i++;
		k->op = d->op;
		k->letter = d->param && d->op != SK_HEADER ? d->param[0] : '\0';
		if (d->op == SK_HEADER && d->param)
			k->name = xstrdup(d->param);
		r = parse_arg(p, c, d, k);
	} else {
		r = parse_unnamed(p, c, k);
	}
	p->depth--;
	if (r != SEARCH_OK) {
		key_free(k);
		return r;
	}
	order(k);
	*out = k;
	return SEARCH_OK;
}

static enum search_parsed parse_list(struct pctx *p, struct cursor *c, struct search_key **out)
{
	struct search_key *and = xcalloc(1, sizeof(*and)), **tail = &and->kids;
	enum search_parsed r = SEARCH_OK;

	and->op = SK_AND;
	while (c->i < c->n && (r = parse_key(p, c, tail)) == SEARCH_OK)
		tail = &(*tail)->next;
	if (r != SEARCH_OK) {
		key_free(and);
		*out = NULL;
		return r;
	}
	if (and->kids != NULL && and->kids->next == NULL) {
		*out = and->kids;
		free(and);
		return SEARCH_OK;
	}
	order(and);
	*out = and;
	return SEARCH_OK;
}

/* RETURN (MIN MAX ALL COUNT): an empty list means ALL. */
static enum search_parsed parse_return(struct pctx *p, struct cursor *c, unsigned *ret)
{
	static const struct {
		const char *name;
		unsigned bit;
	} opts[] = {{"MIN", SEARCH_RET_MIN},
	            {"MAX", SEARCH_RET_MAX},
	            {"ALL", SEARCH_RET_ALL},
	            {"COUNT", SEARCH_RET_COUNT}};
	const struct imapd_arg *l;

	if (c->i >= c->n || c->a[c->i].kind != IMAPD_LIST)
		return bad(p, "RETURN needs a list of options%s", NULL, 0);
	l = &c->a[c->i++];
	*ret = l->nsub == 0 ? SEARCH_RET_ALL : 0;
	for (size_t i = 0; i < l->nsub; i++) {
		size_t k = 0;

		while (k < sizeof(opts) / sizeof(opts[0]) &&
		       !imapd_arg_is(&l->sub[i], opts[k].name))
			k++;
		if (k == sizeof(opts) / sizeof(opts[0]))
			return bad(p, "unknown RETURN option %s",
			           l->sub[i].kind == IMAPD_LIST ? "(list)" : l->sub[i].s,
			           l->sub[i].kind == IMAPD_LIST ? 6 : l->sub[i].len);
		*ret |= opts[k].bit;
	}
	return SEARCH_OK;
}

enum search_parsed search_parse(const struct imapd_arg *args, size_t nargs, uint32_t nmsgs,
                                uint32_t maxuid, struct search_query *q, char *err, size_t errlen)
{
	struct pctx p = {nmsgs, maxuid, 0, false, err, errlen};
	struct cursor c = {args, nargs, 0};
	enum search_parsed r;
	const char *cs;
	size_t cslen;

	memset(q, 0, sizeof(*q));
	if (c.n > 0 && imapd_arg_is(&c.a[0], "RETURN")) {
		c.i++;
		if ((r = parse_return(&p, &c, &q->ret)) != SEARCH_OK)
			return r;
	}
	if (c.i < c.n && imapd_arg_is(&c.a[c.i], "CHARSET")) {
		c.i++;
		q->charset = true;
		if (!take_string(&c, &cs, &cslen))
			return bad(&p, "CHARSET needs a name%s", NULL, 0);
		if (!str_ieq_n(cs, cslen, "UTF-8") && !str_ieq_n(cs, cslen, "US-ASCII")) {
			bad(&p, "charset %s is not supported", cs, cslen);
			return SEARCH_BADCHARSET;
		}
	}
	if (c.i >= c.n)
		return bad(&p, "SEARCH needs a search key%s", NULL, 0);
	r = parse_list(&p, &c, &q->key);
	q->modseq = p.modseq;
	return r;
}

void search_query_free(struct search_query *q)
{
	key_free(q->key);
	q->key = NULL;
}

void search_answer(struct buf *out, const struct search_query *q, const char *tag, bool uid,
                   const uint32_t *ids, size_t n)
{
	search_answer_modseq(out, q, tag, uid, ids, NULL, n);
}

/* The mod-sequence a MODSEQ search answers with; 0 for none. */
static uint64_t answer_modseq(const struct search_query *q, const uint64_t *modseqs, size_t n)
{
	uint64_t top = 0;

	if (modseqs == NULL || n == 0)
		return 0;
	if (q->ret != 0 && !(q->ret & (SEARCH_RET_ALL | SEARCH_RET_COUNT))) {
		if (q->ret & SEARCH_RET_MIN)
			top = modseqs[0];
		if ((q->ret & SEARCH_RET_MAX) && modseqs[n - 1] > top)
			top = modseqs[n - 1];
		return top;
	}
	for (size_t i = 0; i < n; i++)
		top = modseqs[i] > top ? modseqs[i] : top;
	return top;
}

void search_answer_modseq(struct buf *out, const struct search_query *q, const char *tag, bool uid,
                          const uint32_t *ids, const uint64_t *modseqs, size_t n)
{
	uint64_t ms = answer_modseq(q, modseqs, n);

	if (q->ret == 0) {
		buf_puts(out, "* SEARCH");
		for (size_t i = 0; i < n; i++)
			buf_printf(out, " %u", ids[i]);
		if (ms > 0)
			buf_printf(out, " (MODSEQ %llu)", (unsigned long long)ms);
		buf_puts(out, "\r\n");
		return;
	}
	buf_printf(out, "* ESEARCH (TAG \"%s\")%s", tag, uid ? " UID" : "");
	if ((q->ret & SEARCH_RET_MIN) && n > 0)
		buf_printf(out, " MIN %u", ids[0]);
	if ((q->ret & SEARCH_RET_MAX) && n > 0)
		buf_printf(out, " MAX %u", ids[n - 1]);
	if ((q->ret & SEARCH_RET_ALL) && n > 0) {
		buf_puts(out, " ALL ");
		seqset_put(out, ids, n);
	}
	if (q->ret & SEARCH_RET_COUNT)
		buf_printf(out, " COUNT %zu", n);
	if (ms > 0)
		buf_printf(out, " MODSEQ %llu", (unsigned long long)ms);
	buf_puts(out, "\r\n");
}
