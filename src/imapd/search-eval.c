/*
 * Whether one message matches a tree of search keys (search.h). What the
 * view knows (flags, UID, dates, sizes) is looked at first; the message is
 * read and parsed once, when a key needs its content, and what is decoded
 * from it (the body text, all header fields for TEXT, the Date) is kept
 * for the other keys.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imapd/search.h"
#include "mail/message.h"
#include "util/log.h"

/* Decoded text kept for one message: beyond this, parts are not searched. */
#define TEXT_MAX (64u << 20)

struct eval {
	const struct search_msg *m;
	bool loaded, gone;
	char *raw;
	size_t raw_len;
	struct msg msg;
	uint64_t size;   /* RFC822.SIZE, 0 until asked */
	struct buf body; /* the text parts, decoded and folded */
	struct buf text; /* every header field, decoded and folded, then the body */
	bool body_done, text_done;
	int64_t sent;   /* the Date field's day */
	int sent_state; /* 0 not read, 1 read, -1 absent or not a date */
};

typedef bool op_fn(struct eval *e, const struct search_key *k);

static bool eval(struct eval *e, const struct search_key *k);

/* Reads and indexes the message once; false when it is gone. */
static bool load(struct eval *e)
{
	if (!e->loaded) {
		e->loaded = true;
		e->raw = e->m->load(e->m->arg, &e->raw_len);
		if (e->raw == NULL)
			e->gone = true;
		else
			msg_init(&e->msg, e->raw, e->raw_len);
	}
	return !e->gone;
}

static bool contains(const char *hay, size_t hlen, const struct search_key *k)
{
	return k->text_len == 0 || (hlen >= k->text_len && memmem(hay, hlen, k->text, k->text_len));
}

static bool op_all(struct eval *e, const struct search_key *k)
{
	(void)e;
	(void)k;
	return true;
}

static bool op_and(struct eval *e, const struct search_key *k)
{
	for (const struct search_key *kid = k->kids; kid; kid = kid->next)
		if (!eval(e, kid))
			return false;
	return true;
}

static bool op_or(struct eval *e, const struct search_key *k)
{
	return eval(e, k->kids) || eval(e, k->kids->next);
}

static bool op_not(struct eval *e, const struct search_key *k)
{
	return !eval(e, k->kids);
}

static bool op_seq(struct eval *e, const struct search_key *k)
{
	return seqset_has(&k->set, k->op == SK_UID ? e->m->uid : e->m->seq);
}

static bool has_letter(const struct eval *e, char c)
{
	return c != '\0' && strchr(e->m->flags, c) != NULL;
}

static bool op_flag(struct eval *e, const struct search_key *k)
{
	return has_letter(e, k->letter) == (k->op == SK_FLAG);
}

static bool op_keyword(struct eval *e, const struct search_key *k)
{
	char letter = '\0';

	for (size_t i = 0; i < UIDLIST_KEYWORDS_MAX && e->m->kw; i++)
		if (e->m->kw->names[i] && strcasecmp(e->m->kw->names[i], k->name) == 0)
			letter = (char)('a' + i);
	return has_letter(e, letter) == (k->op == SK_KEYWORD);
}

static bool op_recent(struct eval *e, const struct search_key *k)
{
	if (k->op == SK_NEW)
		return e->m->recent && !has_letter(e, 'S');
	return e->m->recent == (k->op == SK_RECENT);
}

static bool op_size(struct eval *e, const struct search_key *k)
{
	if (e->size == 0 && e->loaded && !e->gone) {
		/* Read already: count the CRLF size here rather than read again. */
		e->size = e->raw_len;
		for (size_t i = 0; i < e->raw_len; i++)
			e->size += e->raw[i] == '\n' && (i == 0 || e->raw[i - 1] != '\r');
	}
	if (e->size == 0 && (e->size = e->m->size(e->m->arg)) == 0)
		e->gone = true;
	return k->op == SK_LARGER ? e->size > k->num : e->size < k->num;
}

static bool op_modseq(struct eval *e, const struct search_key *k)
{
	return e->m->modseq >= k->num;
}

static bool by_day(enum search_op op, int64_t day, int64_t want)
{
	if (op == SK_BEFORE || op == SK_SENTBEFORE)
		return day < want;
	if (op == SK_ON || op == SK_SENTON)
		return day == want;
	return day >= want;
}

static bool op_date(struct eval *e, const struct search_key *k)
{
	struct tm tm;

	if (localtime_r(&e->m->internal, &tm) == NULL)
		return false;
	return by_day(k->op, search_day(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday), k->day);
}

/* "Tue, 1 Jul 2003 10:52:37 +0200" -> the day as written; false when it is
 * not a date. */
static bool header_day(const char *s, int64_t *day)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	char mon[4] = "", *end;
	const char *m;
	long d, y;

	s += strspn(s, " \t");
	if (strchr(s, ',') != NULL && strchr(s, ',') - s <= 12)
		s = strchr(s, ',') + 1;
	d = strtol(s, &end, 10);
	if (end == s || d < 1 || d > 31)
		return false;
	s = end + strspn(end, " \t");
	for (int i = 0; i < 3 && s[i] && s[i] != ' '; i++)
		mon[i] = (char)(s[i] | 0x20);
	if (strlen(mon) != 3 || (m = strstr(months, mon)) == NULL || (m - months) % 3 != 0)
		return false;
	s += 3 + strcspn(s + 3, " \t");
	s += strspn(s, " \t");
	y = strtol(s, &end, 10);
	if (end == s || end - s > 4 || y < 0)
		return false;
	/* RFC 5322 4.3: two-digit years, and three-digit ones from 1900. */
	y += end - s == 2 ? (y < 50 ? 2000 : 1900) : end - s == 3 ? 1900 : 0;
	*day = search_day((int)y, (int)(m - months) / 3 + 1, (int)d);
	return true;
}

static bool op_sent(struct eval *e, const struct search_key *k)
{
	if (e->sent_state == 0) {
		char *date;

		if (!load(e))
			return false;
		date = msg_get(&e->msg, "Date");
		e->sent_state = date != NULL && header_day(date, &e->sent) ? 1 : -1;
		free(date);
	}
	return e->sent_state == 1 && by_day(k->op, e->sent, k->day);
}

static bool is_address_field(const char *name)
{
	static const char *const names[] = {"From", "To", "Cc", "Bcc", "Sender", "Reply-To"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i]) == 0)
			return true;
	return false;
}

/* An address field as its addresses read without comments and folding:
 * "Name <local@domain>, local@domain" (as Dovecot matches FROM, TO...). */
static bool addresses_contain(const struct msg_header *h, const struct search_key *k)
{
	struct msg_addr *a;
	size_t n = addr_parse(h->value, h->value_len, &a);
	struct buf b;
	bool found;

	buf_init(&b, 1u << 20);
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s%s%s%s%s", i > 0 ? ", " : "", a[i].name ? a[i].name : "",
		           a[i].name ? " <" : "", a[i].addr ? a[i].addr : "", a[i].name ? ">" : "");
	addr_free(a, n);
	search_fold(b.data ? b.data : "", b.len);
	found = b.len > 0 && contains(b.data, b.len, k);
	buf_free(&b);
	return found;
}

static bool op_header(struct eval *e, const struct search_key *k)
{
	const struct msg_header *h;
	size_t it = 0;
	bool found = false, address = is_address_field(k->name);

	if (!load(e))
		return false;
	while (!found && (h = msg_header_next(&e->msg, k->name, &it)) != NULL) {
		char *v = msg_header_decode(h);
		size_t len = strlen(v);

		search_fold(v, len);
		found = contains(v, len, k) || (address && addresses_contain(h, k));
		free(v);
	}
	return found;
}

/* Appends the header fields of a header section, decoded, folded. */
static void put_fields(struct buf *b, const struct msg *m)
{
	for (size_t i = 0; i < m->nhdrs; i++) {
		char *v = msg_header_decode(&m->hdrs[i]);
		size_t from = b->len;

		buf_append(b, m->hdrs[i].name, m->hdrs[i].name_len);
		buf_puts(b, ": ");
		buf_puts(b, v);
		buf_putc(b, '\n');
		search_fold(b->data + from, b->len - from);
		free(v);
	}
}

static bool is_text_leaf(const struct msg *m, size_t i)
{
	const struct msg_part *p = &m->parts[i];
	bool has_child = i + 1 < m->nparts && m->parts[i + 1].parent == (int)i;

	return !p->is_multipart && !has_child && strncmp(p->type, "text/", 5) == 0;
}

static void load_body(struct eval *e)
{
	size_t n = msg_mime(&e->msg);

	e->body_done = true;
	buf_init(&e->body, TEXT_MAX);
	for (size_t i = 0; i < n && e->body.len < TEXT_MAX; i++) {
		size_t len, from = e->body.len;
		char *s;

		if (!is_text_leaf(&e->msg, i))
			continue;
		s = mime_text(&e->msg, &e->msg.parts[i], TEXT_MAX - e->body.len, &len);
		if (buf_append(&e->body, s, len) == 0 && buf_putc(&e->body, '\n') == 0)
			search_fold(e->body.data + from, e->body.len - from);
		free(s);
	}
}

static bool op_body(struct eval *e, const struct search_key *k)
{
	if (!load(e))
		return false;
	if (!e->body_done)
		load_body(e);
	return contains(e->body.data, e->body.len, k);
}

/* TEXT: the header fields of the message and of each part, then the body. */
static void load_text(struct eval *e)
{
	size_t n = msg_mime(&e->msg);

	e->text_done = true;
	buf_init(&e->text, TEXT_MAX);
	put_fields(&e->text, &e->msg);
	for (size_t i = 1; i < n; i++) {
		const struct msg_part *p = &e->msg.parts[i];
		struct msg part;

		if (p->body_start <= p->hdr_start)
			continue;
		msg_init(&part, e->raw + p->hdr_start, p->body_start - p->hdr_start);
		put_fields(&e->text, &part);
		msg_free(&part);
	}
	if (!e->body_done)
		load_body(e);
	buf_append(&e->text, e->body.data, e->body.len);
}

static bool op_text(struct eval *e, const struct search_key *k)
{
	if (!load(e))
		return false;
	if (!e->text_done)
		load_text(e);
	return contains(e->text.data, e->text.len, k);
}

static op_fn *const ops[] = {
    [SK_ALL] = op_all,           [SK_AND] = op_and,       [SK_OR] = op_or,
    [SK_NOT] = op_not,           [SK_SEQ] = op_seq,       [SK_UID] = op_seq,
    [SK_FLAG] = op_flag,         [SK_NOFLAG] = op_flag,   [SK_KEYWORD] = op_keyword,
    [SK_UNKEYWORD] = op_keyword, [SK_RECENT] = op_recent, [SK_NEW] = op_recent,
    [SK_OLD] = op_recent,        [SK_LARGER] = op_size,   [SK_SMALLER] = op_size,
    [SK_BEFORE] = op_date,       [SK_ON] = op_date,       [SK_SINCE] = op_date,
    [SK_SENTBEFORE] = op_sent,   [SK_SENTON] = op_sent,   [SK_SENTSINCE] = op_sent,
    [SK_HEADER] = op_header,     [SK_BODY] = op_body,     [SK_TEXT] = op_text,
    [SK_MODSEQ] = op_modseq,
};

static bool eval(struct eval *e, const struct search_key *k)
{
	/* A message that went away matches nothing, NOT included. */
	return !e->gone && ops[k->op](e, k) && !e->gone;
}

bool search_match(const struct search_key *k, const struct search_msg *m)
{
	struct eval e = {.m = m};
	bool yes = eval(&e, k) && !e.gone;

	if (e.raw != NULL)
		msg_free(&e.msg);
	free(e.raw);
	buf_free(&e.body);
	buf_free(&e.text);
	return yes;
}
