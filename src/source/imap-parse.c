#include "source/imap-parse.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "source/source.h"
#include "util/buf.h"
#include "util/str.h"
#include "mail/flags.h"

static size_t span_word(const char *p, const char *end)
{
	const char *s = p;

	while (p < end && *p != ' ')
		p++;
	return (size_t)(p - s);
}

static enum imap_status status_of(const char *w, size_t n)
{
	static const struct {
		const char *name;
		enum imap_status st;
	} table[] = {
	    {"OK", IMAP_OK},   {"NO", IMAP_NO},           {"BAD", IMAP_BAD},
	    {"BYE", IMAP_BYE}, {"PREAUTH", IMAP_PREAUTH},
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (str_ieq_n(w, n, table[i].name))
			return table[i].st;
	return IMAP_OTHER;
}

/* Reads " [code] text" after a status word. */
static void parse_code(struct imap_line *out, const char *p, const char *end)
{
	if (p < end && *p == ' ')
		p++;
	if (p < end && *p == '[') {
		const char *close = memchr(p, ']', (size_t)(end - p));

		if (close != NULL) {
			out->code = p + 1;
			out->code_len = (size_t)(close - p - 1);
			p = close + 1;
			if (p < end && *p == ' ')
				p++;
		}
	}
	out->rest = p;
	out->rest_len = (size_t)(end - p);
}

static int parse_untagged(const char *p, const char *end, struct imap_line *out)
{
	if (p < end && *p >= '0' && *p <= '9') {
		uint64_t v = 0;

		while (p < end && *p >= '0' && *p <= '9' && v <= UINT32_MAX)
			v = v * 10 + (uint64_t)(*p++ - '0');
		if (v > UINT32_MAX || p >= end || *p != ' ')
			return -1;
		out->num = (uint32_t)v;
		out->has_num = true;
		p++;
	}
	out->word = p;
	out->word_len = span_word(p, end);
	if (out->word_len == 0)
		return -1;
	p += out->word_len;
	out->status = out->has_num ? IMAP_OTHER : status_of(out->word, out->word_len);
	if (out->status != IMAP_OTHER) {
		parse_code(out, p, end);
		return 0;
	}
	if (p < end && *p == ' ')
		p++;
	out->rest = p;
	out->rest_len = (size_t)(end - p);
	return 0;
}

int imap_line_parse(const char *line, size_t len, struct imap_line *out)
{
	const char *end = line + len, *p;

	memset(out, 0, sizeof(*out));
	out->status = IMAP_OTHER;
	if (len >= 1 && line[0] == '+') {
		out->continuation = true;
		out->rest = line + (len >= 2 ? 2 : 1);
		out->rest_len = (size_t)(end - out->rest);
		return 0;
	}
	if (len >= 2 && line[0] == '*' && line[1] == ' ') {
		out->untagged = true;
		return parse_untagged(line + 2, end, out);
	}
	out->tag = line;
	out->tag_len = span_word(line, end);
	if (out->tag_len == 0 || out->tag_len == len)
		return -1;
	p = line + out->tag_len + 1;
	out->word = p;
	out->word_len = span_word(p, end);
	out->status = status_of(p, out->word_len);
	if (out->status == IMAP_OTHER)
		return -1;
	parse_code(out, p + out->word_len, end);
	return 0;
}

int imap_literal_at_end(const char *line, size_t len, uint64_t *n)
{
	size_t i, digits = 0;
	uint64_t v = 0;

	if (len < 3 || line[len - 1] != '}')
		return 0;
	i = len - 1;
	while (i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9') {
		i--;
		digits++;
	}
	if (i == 0 || line[i - 1] != '{')
		return 0;
	if (digits == 0 || digits > 18)
		return -1;
	for (size_t k = i; k < len - 1; k++)
		v = v * 10 + (uint64_t)(line[k] - '0');
	*n = v;
	return 1;
}

int imap_code_number(const char *code, size_t len, const char *key, uint32_t *out)
{
	size_t k = strlen(key);
	uint64_t v = 0;

	if (code == NULL || len <= k + 1 || !str_ieq_n(code, k, key) || code[k] != ' ')
		return -1;
	for (size_t i = k + 1; i < len; i++) {
		if (code[i] < '0' || code[i] > '9' ||
		    (v = v * 10 + (uint64_t)(code[i] - '0')) > UINT32_MAX)
			return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

unsigned imap_caps_parse(const char *list, size_t len)
{
	static const struct {
		const char *name;
		unsigned bit;
	} table[] = {
	    {"IMAP4REV1", IMAP_CAP_IMAP4REV1},   {"UIDPLUS", IMAP_CAP_UIDPLUS},
	    {"LITERAL+", IMAP_CAP_LITERALPLUS},  {"IDLE", IMAP_CAP_IDLE},
	    {"LITERAL-", IMAP_CAP_LITERALMINUS}, {"CONDSTORE", IMAP_CAP_CONDSTORE},
	    {"NOTIFY", IMAP_CAP_NOTIFY},
	};
	const char *p = list, *end = list + len;
	unsigned caps = 0;

	while (p < end) {
		size_t n = span_word(p, end);

		for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
			if (str_ieq_n(p, n, table[i].name))
				caps |= table[i].bit;
		p += n + 1;
	}
	return caps;
}

/* ---- FETCH ---- */

void imap_fetch_init(struct imap_fetch *f, uint32_t seq)
{
	memset(f, 0, sizeof(*f));
	f->seq = seq;
}

static enum imap_item item_of(const char *w, size_t n)
{
	if (str_ieq_n(w, n, "UID"))
		return ITEM_UID;
	if (str_ieq_n(w, n, "RFC822.SIZE"))
		return ITEM_SIZE;
	if (str_ieq_n(w, n, "FLAGS"))
		return ITEM_FLAGS;
	/* BODY[] and a partial BODY[]<0> (some servers echo the origin). */
	if (str_ieq_n(w, n, "BODY[]") || (n > 6 && str_ieq_n(w, 6, "BODY[]") && w[6] == '<'))
		return ITEM_BODY;
	return ITEM_OTHER;
}

/* An atom, or an item name with a [section] (which may hold spaces and
 * parentheses) and a <partial>. */
static size_t span_atom(const char *p, const char *end)
{
	const char *s = p;

	while (p < end && *p != ' ' && *p != '(' && *p != ')') {
		if (*p == '[') {
			const char *close = memchr(p, ']', (size_t)(end - p));

			if (close == NULL)
				return (size_t)(end - s);
			p = close;
		}
		p++;
	}
	return (size_t)(p - s);
}

static int atom_number(const char *p, size_t n, uint64_t *v)
{
	*v = 0;
	if (n == 0 || n > 19)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		*v = *v * 10 + (uint64_t)(p[i] - '0');
	}
	return 0;
}

/* A value at depth 1 is complete: the next token is an item name. */
static void value_done(struct imap_fetch *f)
{
	f->want_value = false;
	f->item = ITEM_OTHER;
}

static int take_atom(struct imap_fetch *f, const char *p, size_t n)
{
	uint64_t v;

	if (f->depth >= 2) {
		if (f->item == ITEM_FLAGS && f->depth == 2)
			f->flags |= mail_flag_from_imap(p, n);
		return 0;
	}
	if (!f->want_value) {
		f->item = item_of(p, n);
		f->want_value = true;
		return 0;
	}
	if (f->item == ITEM_UID || f->item == ITEM_SIZE) {
		if (atom_number(p, n, &v) < 0 ||
		    (f->item == ITEM_UID && (v == 0 || v > UINT32_MAX)))
			return -1;
		if (f->item == ITEM_UID) {
			f->uid = (uint32_t)v;
			f->has_uid = true;
		} else {
			f->size = v;
			f->has_size = true;
		}
	} else if (f->item == ITEM_BODY && str_ieq_n(p, n, "NIL")) {
		f->has_body = true;
		f->qbody = p;
		f->qbody_len = 0;
	}
	value_done(f);
	return 0;
}

/* Unescapes a quoted string in place; returns its end (past the quote). */
static char *take_quoted(struct imap_fetch *f, char *p, char *end)
{
	char *o = p + 1, *s = p + 1;

	for (p++; p < end && *p != '"'; p++) {
		if (*p == '\\' && p + 1 < end)
			p++;
		*o++ = *p;
	}
	if (p >= end)
		return NULL;
	if (f->depth == 1 && f->want_value) {
		if (f->item == ITEM_BODY) {
			f->has_body = true;
			f->qbody = s;
			f->qbody_len = (size_t)(o - s);
		}
		value_done(f);
	}
	return p + 1;
}

static int open_paren(struct imap_fetch *f)
{
	if (f->depth == 1 && !f->want_value)
		return -1;
	f->depth++;
	if (f->depth == 2 && f->item == ITEM_FLAGS)
		f->has_flags = true;
	return 0;
}

static int close_paren(struct imap_fetch *f)
{
	if (f->depth == 0)
		return -1;
	f->depth--;
	if (f->depth == 1)
		value_done(f);
	return 0;
}

int imap_fetch_feed(struct imap_fetch *f, char *seg, size_t len, uint64_t *lit,
                    enum imap_item *lit_item)
{
	char *p = seg, *end = seg + len;

	f->qbody = NULL;
	f->qbody_len = 0;
	if (f->depth == 0) {
		if (len == 0 || *p != '(')
			return IMAP_FETCH_ERROR;
		f->depth = 1;
		p++;
	}
	while (p < end) {
		size_t n;

		if (*p == ' ') {
			p++;
		} else if (*p == '(') {
			if (open_paren(f) < 0)
				return IMAP_FETCH_ERROR;
			p++;
		} else if (*p == ')') {
			if (close_paren(f) < 0)
				return IMAP_FETCH_ERROR;
			p++;
			if (f->depth == 0)
				return p == end ? IMAP_FETCH_END : IMAP_FETCH_ERROR;
		} else if (*p == '"') {
			if ((f->depth == 1 && !f->want_value) ||
			    (p = take_quoted(f, p, end)) == NULL)
				return IMAP_FETCH_ERROR;
		} else if (*p == '{') {
			if (imap_literal_at_end(p, (size_t)(end - p), lit) != 1 ||
			    (f->depth == 1 && !f->want_value))
				return IMAP_FETCH_ERROR;
			*lit_item = f->depth == 1 ? f->item : ITEM_OTHER;
			if (*lit_item == ITEM_BODY)
				f->has_body = true;
			if (f->depth == 1)
				value_done(f);
			return IMAP_FETCH_LITERAL;
		} else {
			n = span_atom(p, end);
			if (take_atom(f, p, n) < 0)
				return IMAP_FETCH_ERROR;
			p += n;
		}
	}
	/* The line ended inside the list without a literal. */
	return IMAP_FETCH_ERROR;
}

/* ---- mailbox names ---- */

/* Decodes one UTF-8 sequence; returns its length or 0 when invalid. */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
	size_t n;
	uint32_t c = s[0], min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0)
		n = 2, c &= 0x1f, min = 0x80;
	else if ((c & 0xf0) == 0xe0)
		n = 3, c &= 0x0f, min = 0x800;
	else if ((c & 0xf8) == 0xf0)
		n = 4, c &= 0x07, min = 0x10000;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Modified base64 of a run of UTF-16 units, between "&" and "-". */
static void put_utf7_run(struct buf *b, const uint16_t *u, size_t n)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
	uint32_t acc = 0;
	int bits = 0;

	buf_putc(b, '&');
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 16) | u[i];
		bits += 16;
		while (bits >= 6) {
			bits -= 6;
			buf_putc(b, b64[(acc >> bits) & 0x3f]);
		}
	}
	if (bits > 0)
		buf_putc(b, b64[(acc << (6 - bits)) & 0x3f]);
	buf_putc(b, '-');
}

int imap_append_mailbox(struct buf *b, const char *name)
{
	const unsigned char *s = (const unsigned char *)name;
	uint16_t run[256];
	size_t nrun = 0;

	buf_putc(b, '"');
	while (*s != '\0' || nrun > 0) {
		uint32_t cp = 0;
		size_t k = *s != '\0' ? utf8_decode(s, &cp) : 0;

		if (*s != '\0' && k == 0)
			return -1;
		if (nrun > 0 && (*s == '\0' || cp < 0x80 || nrun + 2 > sizeof(run) / 2)) {
			put_utf7_run(b, run, nrun);
			nrun = 0;
		}
		if (*s == '\0')
			break;
		s += k;
		if (cp < 0x20 || cp == 0x7f)
			return -1;
		if (cp >= 0x80 && cp < 0x10000) {
			run[nrun++] = (uint16_t)cp;
		} else if (cp >= 0x10000) {
			run[nrun++] = (uint16_t)(0xd800 + ((cp - 0x10000) >> 10));
			run[nrun++] = (uint16_t)(0xdc00 + ((cp - 0x10000) & 0x3ff));
		} else if (cp == '&') {
			buf_puts(b, "&-");
		} else {
			if (cp == '"' || cp == '\\')
				buf_putc(b, '\\');
			buf_putc(b, (char)cp);
		}
	}
	return buf_putc(b, '"');
}

/* ---- UID sets ---- */

size_t imap_append_uid_set(struct buf *b, const struct src_msg *const *msgs, size_t n,
                           size_t max_len)
{
	size_t i = 0, start_len = b->len;

	while (i < n) {
		size_t j = i;
		char item[32];
		int k;

		while (j + 1 < n && msgs[j + 1] == msgs[j] + 1)
			j++;
		if (j > i)
			k = snprintf(item, sizeof(item), "%s%u:%u", i > 0 ? "," : "", msgs[i]->uid,
			             msgs[j]->uid);
		else
			k = snprintf(item, sizeof(item), "%s%u", i > 0 ? "," : "", msgs[i]->uid);
		if (i > 0 && b->len - start_len + (size_t)k > max_len)
			break;
		buf_append(b, item, (size_t)k);
		i = j + 1;
	}
	return i;
}

/* ---- STATUS and mailbox names (CONDSTORE, NOTIFY) ---- */

size_t imap_mailbox_take(const char *p, size_t len, char *out, size_t cap)
{
	size_t i = 0, k = 0;

	if (cap == 0 || len == 0)
		return 0;
	if (p[0] != '"') {
		while (i < len && p[i] != ' ' && p[i] != '(' && p[i] != ')' && p[i] != '"' &&
		       (unsigned char)p[i] > 0x20 && (unsigned char)p[i] < 0x7f && k + 1 < cap)
			out[k++] = p[i++];
		if (i == 0 || (i < len && p[i] != ' ' && p[i] != '(' && p[i] != ')'))
			return 0;
		out[k] = '\0';
		return i;
	}
	for (i = 1; i < len && p[i] != '"'; i++) {
		if (p[i] == '\\' && ++i >= len)
			return 0;
		if (k + 1 >= cap)
			return 0;
		out[k++] = p[i];
	}
	if (i >= len)
		return 0;
	out[k] = '\0';
	return i + 1;
}

int imap_mailbox_wire(const char *name, char *out, size_t cap)
{
	struct buf b;
	int rc = -1;

	buf_init(&b, cap + 2 * cap + 8);
	if (imap_append_mailbox(&b, name) == 0 &&
	    imap_mailbox_take(b.data, b.len, out, cap) == b.len)
		rc = 0;
	buf_free(&b);
	return rc;
}

bool imap_mailbox_same(const char *a, const char *b)
{
	/* INBOX is case-insensitive (RFC 3501 5.1); every other name is not. */
	if (strcasecmp(a, "INBOX") == 0)
		return strcasecmp(b, "INBOX") == 0;
	return strcmp(a, b) == 0;
}

int imap_status_items(const char *p, size_t len, struct imap_status_data *out)
{
	const char *end = p + len;

	memset(out, 0, sizeof(*out));
	while (p < end && *p == ' ')
		p++;
	if (p >= end || *p++ != '(')
		return -1;
	while (p < end && *p != ')') {
		size_t n = span_atom(p, end), m;
		const char *key = p;
		uint64_t v;

		if (n == 0)
			return -1;
		p += n;
		if (p >= end || *p++ != ' ')
			return -1;
		m = span_atom(p, end);
		if (m == 0 || atom_number(p, m, &v) < 0)
			return -1;
		p += m;
		if (str_ieq_n(key, n, "UIDNEXT") && v <= UINT32_MAX) {
			out->uidnext = (uint32_t)v;
			out->has_uidnext = true;
		} else if (str_ieq_n(key, n, "UIDVALIDITY") && v <= UINT32_MAX) {
			out->uidvalidity = (uint32_t)v;
			out->has_uidvalidity = true;
		} else if (str_ieq_n(key, n, "HIGHESTMODSEQ")) {
			out->highestmodseq = v;
			out->has_modseq = true;
		}
		while (p < end && *p == ' ')
			p++;
	}
	return p < end ? 0 : -1;
}
