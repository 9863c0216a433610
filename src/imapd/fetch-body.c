/*
 * BODY[section] and BODY / BODYSTRUCTURE over mail/message.h's MIME tree.
 * The tree gives the parts and where each one ends; header sections are
 * re-read raw here, ending at their empty line as in Dovecot, so that the
 * sizes, line counts and strings are the ones Dovecot sends for the same
 * file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imapd/fetch-body.h"
#include "imapd/fetch-int.h"
#include "util/log.h"

/* Dovecot's answer for a multipart without parts (its boundary never shows up). */
#define EMPTY_BODY "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0"

/* Section parsing */

static bool take(const char **p, const char *end, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(end - *p) < n || strncasecmp(*p, word, n) != 0)
		return false;
	*p += n;
	return true;
}

static bool label_put(struct fetch_section *sec, size_t *ll, const char *s, size_t n)
{
	if (*ll + n + 1 > sizeof(sec->label))
		return false;
	memcpy(sec->label + *ll, s, n);
	*ll += n;
	sec->label[*ll] = '\0';
	return true;
}

/* digits "." digits ... "." at *p; stops before a keyword */
static bool parse_parts(const char **p, const char *end, struct fetch_section *sec)
{
	while (*p < end && **p >= '1' && **p <= '9') {
		unsigned long v = 0;

		while (*p < end && **p >= '0' && **p <= '9' && v < 100000000)
			v = v * 10 + (unsigned)(*(*p)++ - '0');
		if (sec->nparts == FETCH_SECTION_DEPTH || v >= 100000000)
			return false;
		sec->part[sec->nparts++] = (unsigned)v;
		if (*p < end && **p == '.')
			(*p)++;
		else
			break;
	}
	return true;
}

/* " (NAME NAME ...)" after HEADER.FIELDS[.NOT]: the names go to the label, upper-cased. */
static bool parse_fields(const char **p, const char *end, struct fetch_section *sec, size_t *ll)
{
	if (!take(p, end, " (") || !label_put(sec, ll, " (", 2))
		return false;
	while (*p < end && **p != ')') {
		const char *s = *p;
		bool q = *s == '"';

		if (sec->nfields > 0 && (!take(p, end, " ") || !label_put(sec, ll, " ", 1)))
			return false;
		s = *p;
		q = s < end && *s == '"';
		if (q)
			s++;
		*p = s;
		while (*p < end && (q ? **p != '"' : (**p != ' ' && **p != ')' && **p != '"')))
			(*p)++;
		if (*p == s || *p >= end || sec->nfields == FETCH_SECTION_FIELDS ||
		    (q && !label_put(sec, ll, "\"", 1)))
			return false;
		sec->field[sec->nfields].off = (uint16_t)*ll;
		sec->field[sec->nfields].len = (uint16_t)(*p - s);
		if (!label_put(sec, ll, s, (size_t)(*p - s)))
			return false;
		for (size_t i = sec->field[sec->nfields].off; i < *ll; i++)
			if (sec->label[i] >= 'a' && sec->label[i] <= 'z')
				sec->label[i] -= 'a' - 'A';
		sec->nfields++;
		if (q && (!take(p, end, "\"") || !label_put(sec, ll, "\"", 1)))
			return false;
	}
	return sec->nfields > 0 && take(p, end, ")") && label_put(sec, ll, ")", 1);
}

static bool parse_kind(const char **p, const char *end, struct fetch_section *sec, size_t *ll)
{
	static const struct {
		const char *word;
		enum fetch_sec_kind kind;
	} kinds[] = {{"HEADER.FIELDS.NOT", FSEC_FIELDS_NOT},
	             {"HEADER.FIELDS", FSEC_FIELDS},
	             {"HEADER", FSEC_HEADER},
	             {"TEXT", FSEC_TEXT},
	             {"MIME", FSEC_MIME}};

	sec->kind = FSEC_ALL;
	if (*p < end && **p == ']')
		return true;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (take(p, end, kinds[i].word)) {
			sec->kind = kinds[i].kind;
			if (!label_put(sec, ll, kinds[i].word, strlen(kinds[i].word)))
				return false;
			if (sec->kind == FSEC_MIME && sec->nparts == 0)
				return false;
			if (sec->kind == FSEC_FIELDS || sec->kind == FSEC_FIELDS_NOT)
				return parse_fields(p, end, sec, ll);
			return true;
		}
	return false;
}

static bool parse_partial(const char *p, const char *end, struct fetch_section *sec)
{
	uint64_t v[2] = {0, 0};

	if (p == end)
		return true;
	if (*p++ != '<')
		return false;
	for (int k = 0; k < 2; k++) {
		const char *s = p;

		while (p < end && *p >= '0' && *p <= '9' && v[k] < UINT64_MAX / 10 - 10)
			v[k] = v[k] * 10 + (uint64_t)(*p++ - '0');
		if (p == s || p >= end || *p++ != (k == 0 ? '.' : '>'))
			return false;
	}
	sec->partial = true;
	sec->off = v[0];
	sec->count = v[1];
	return p == end && v[1] > 0;
}

int fetch_section_parse(const char *s, size_t len, struct fetch_section *sec)
{
	const char *p = s, *end = s + len;
	size_t ll = 0;
	char num[16];

	memset(sec, 0, sizeof(*sec));
	if (take(&p, end, "BODY.PEEK["))
		sec->peek = true;
	else if (!take(&p, end, "BODY["))
		return -1;
	label_put(sec, &ll, "BODY[", 5);
	if (!parse_parts(&p, end, sec))
		return -1;
	for (size_t i = 0; i < sec->nparts; i++) {
		int n = snprintf(num, sizeof(num), "%s%u", i > 0 ? "." : "", sec->part[i]);

		label_put(sec, &ll, num, (size_t)n);
	}
	/* "1.2.MIME": a dot between the numbers and the keyword, none at the end */
	if (sec->nparts > 0 && p[-1] == '.') {
		if (p < end && *p == ']')
			return -1;
		label_put(sec, &ll, ".", 1);
	} else if (sec->nparts > 0 && p < end && *p != ']') {
		return -1;
	}
	if (!parse_kind(&p, end, sec, &ll) || !take(&p, end, "]") || !label_put(sec, &ll, "]", 1))
		return -1;
	return parse_partial(p, end, sec) ? 0 : -1;
}

/* A part's Content-* fields, raw (the first of each, as Dovecot). */
enum { C_TYPE, C_ENC, C_ID, C_DESC, C_MD5, C_DISP, C_LANG, C_LOC, C_N };

static const char *const cnames[C_N] = {
    "Content-Type", "Content-Transfer-Encoding", "Content-ID",       "Content-Description",
    "Content-MD5",  "Content-Disposition",       "Content-Language", "Content-Location"};

struct part_info {
	struct fhdr f[C_N];
	bool have[C_N];
};

static void part_info(const char *data, size_t pos, size_t end, struct part_info *pi)
{
	struct fhdr h;

	memset(pi, 0, sizeof(*pi));
	while (fhdr_next(data, &pos, end, &h))
		for (int k = 0; k < C_N; k++)
			if (!pi->have[k] && h.nlen == strlen(cnames[k]) &&
			    strncasecmp(h.name, cnames[k], h.nlen) == 0) {
				pi->f[k] = h;
				pi->have[k] = true;
			}
}

static void put_nolf(struct buf *out, const struct part_info *pi, int k)
{
	buf_putc(out, ' ');
	imap_nstring_nolf(out, pi->have[k] ? pi->f[k].val : NULL, pi->have[k] ? pi->f[k].vlen : 0);
}

static void put_str(struct buf *out, const struct buf *s)
{
	imap_nstring(out, s->data ? s->data : "", s->len);
}

/* "type/subtype" of a Content-Type, raw, as Dovecot reads it. */
struct ctype {
	struct buf type, sub;
	struct rlex lex; /* on the parameters when params is true */
	bool params;
	bool broken; /* answered as "" "": not a multipart, no parameters */
};

static void ctype_read(const struct part_info *pi, struct ctype *ct)
{
	const struct fhdr *h = &pi->f[C_TYPE];
	struct rlex *x = &ct->lex;

	memset(ct, 0, sizeof(*ct));
	buf_init(&ct->type, FETCH_BUF_MAX);
	buf_init(&ct->sub, FETCH_BUF_MAX);
	if (!pi->have[C_TYPE])
		return;
	rlex_init(x, h->val, h->vlen, NULL);
	if (rlex_skip_lwsp(x) <= 0 || rlex_mime_token(x, &ct->type) < 0 || ct->type.len == 0) {
		ct->broken = true;
	} else if (x->p < x->end && *x->p == '/') {
		x->p++;
		/* "image/" or "a/b garbage": Dovecot drops the whole type */
		ct->broken = rlex_skip_lwsp(x) <= 0 || rlex_mime_token(x, &ct->sub) < 0 ||
		             ct->sub.len == 0 || (x->p < x->end && *x->p != ';');
		ct->params = !ct->broken;
	}
	if (ct->broken) {
		buf_reset(&ct->type);
		buf_reset(&ct->sub);
	}
}

static bool ctype_is(const struct ctype *ct, const char *type, const char *sub)
{
	return ct->type.len == strlen(type) &&
	       strncasecmp(ct->type.data, type, ct->type.len) == 0 &&
	       (sub == NULL ||
	        (ct->sub.len == strlen(sub) && strncasecmp(ct->sub.data, sub, ct->sub.len) == 0));
}

static void ctype_free(struct ctype *ct)
{
	buf_free(&ct->type);
	buf_free(&ct->sub);
}

/* The parsed message */

void fetch_msg_init(struct fetch_msg *fm, const char *data, size_t len)
{
	memset(fm, 0, sizeof(*fm));
	fm->data = data;
	fm->len = len;
}

void fetch_msg_free(struct fetch_msg *fm)
{
	if (fm->parsed)
		msg_free(&fm->msg);
	free(fm->part);
	fm->parsed = false;
	fm->part = NULL;
}

/*
 * A part as answered: one of the tree's (idx >= 0), or the message a
 * message/rfc822 part holds when the tree did not open it (it is
 * encoded: Dovecot reads it as a message all the same).
 */
struct pview {
	int idx;
	size_t hs, he, be; /* header start, header end, body end */
};

static size_t part_start(const struct fetch_msg *fm, size_t i)
{
	return i == 0 ? 0 : fm->msg.parts[i].hdr_start;
}

static struct pview pv_of(const struct fetch_msg *fm, int i)
{
	struct pview v = {i, part_start(fm, (size_t)i), fm->part[i].hdr_end,
	                  fm->msg.parts[i].body_end};

	return v;
}

/* A part the tree made up for a multipart whose boundary never shows up. */
static bool is_made_up(const struct fetch_msg *fm, size_t i)
{
	const struct msg_part *p = &fm->msg.parts[i];

	return i > 0 && fm->msg.parts[p->parent].is_multipart &&
	       p->hdr_start == fm->msg.parts[p->parent].body_start;
}

/* The n-th (from 1) child of part i in the tree, or -1. */
static int child(const struct fetch_msg *fm, int i, unsigned n)
{
	for (size_t c = (size_t)i + 1; c < fm->msg.nparts; c++)
		if (fm->msg.parts[c].parent == i && !is_made_up(fm, c) && --n == 0)
			return (int)c;
	return -1;
}

static void parse_part(struct fetch_msg *fm, size_t i)
{
	struct fetch_part *fp = &fm->part[i];
	const struct msg_part *p = &fm->msg.parts[i];
	struct part_info pi;
	struct ctype ct;

	fp->hdr_end = fhdr_section_end(fm->data, part_start(fm, i), p->body_end, &fp->blank);
	part_info(fm->data, part_start(fm, i), fp->hdr_end, &pi);
	ctype_read(&pi, &ct);
	fp->ct_broken = ct.broken;
	fp->multi = p->is_multipart && ctype_is(&ct, "multipart", NULL);
	/* a digest's parts are messages by default */
	fp->rfc822 =
	    !p->is_multipart && !ct.broken &&
	    (ctype_is(&ct, "message", "rfc822") || (!pi.have[C_TYPE] && child(fm, (int)i, 1) >= 0));
	ctype_free(&ct);
}

static void parse(struct fetch_msg *fm)
{
	if (fm->parsed)
		return;
	fm->parsed = true;
	msg_init(&fm->msg, fm->data, fm->len);
	msg_mime(&fm->msg);
	fm->part = xcalloc(fm->msg.nparts, sizeof(*fm->part));
	for (size_t i = 0; i < fm->msg.nparts; i++)
		parse_part(fm, i);
}

static bool pv_multi(const struct fetch_msg *fm, const struct pview *v)
{
	return v->idx >= 0 && fm->part[v->idx].multi;
}

/* The message a message/rfc822 part holds; false for other parts. */
static bool pv_message(const struct fetch_msg *fm, const struct pview *v, struct pview *m)
{
	int c;

	if (v->idx < 0 || !fm->part[v->idx].rfc822)
		return false;
	if ((c = child(fm, v->idx, 1)) >= 0) {
		*m = pv_of(fm, c);
		return true;
	}
	m->idx = -1;
	m->hs = v->he;
	m->he = fhdr_section_end(fm->data, v->he, v->be, NULL);
	m->be = v->be;
	return true;
}

/* Whether the line that ends at be is the closing delimiter of multipart i. */
static bool ends_with_close(const struct fetch_msg *fm, int i, size_t be)
{
	const char *bnd = fm->msg.parts[i].boundary, *d = fm->data;
	size_t ls = be, bl = bnd ? strlen(bnd) : 0;

	if (bnd == NULL || !fm->part[i].multi)
		return false;
	while (ls > 0 && d[ls - 1] != '\n')
		ls--;
	if (be - ls < bl + 4 || memcmp(d + ls, "--", 2) != 0 || memcmp(d + ls + 2, bnd, bl) != 0 ||
	    memcmp(d + ls + 2 + bl, "--", 2) != 0)
		return false;
	for (size_t k = ls + bl + 4; k < be; k++)
		if (d[k] != ' ' && d[k] != '\t' && d[k] != '\r')
			return false;
	return true;
}

/*
 * Where a part's body ends as Dovecot counts it. When the part's last line
 * was read by a parser inside it (the closing delimiter of a multipart, or
 * the header of a message that has no empty line), the line end before the
 * next boundary went with it: the part's size and line count include it.
 */
static size_t part_end(const struct fetch_msg *fm, const struct pview *v)
{
	struct pview m;
	bool blank = true;

	if (v->idx <= 0 || v->be + 2 > fm->len || fm->data[v->be] != '\r' ||
	    fm->data[v->be + 1] != '\n')
		return v->be;
	if (ends_with_close(fm, v->idx, v->be))
		return v->be + 2;
	if (!pv_message(fm, v, &m))
		return v->be;
	if (m.idx >= 0)
		blank = fm->part[m.idx].blank;
	else
		fhdr_section_end(fm->data, m.hs, m.be, &blank);
	return !blank || (m.idx >= 0 && ends_with_close(fm, m.idx, m.be)) ? v->be + 2 : v->be;
}

static bool find_part(const struct fetch_msg *fm, const struct fetch_section *sec, struct pview *v)
{
	struct pview m;
	int c;

	*v = pv_of(fm, 0);
	for (size_t k = 0; k < sec->nparts; k++) {
		/* Below a message/rfc822 part are the parts of the message it
		 * holds; the top message's part 1 is its body, even when that
		 * body is a message (RFC 3501 6.4.5). */
		if (k > 0 && pv_message(fm, v, &m))
			*v = m;
		if (pv_multi(fm, v)) {
			if ((c = child(fm, v->idx, sec->part[k])) < 0)
				return false;
			*v = pv_of(fm, c);
		} else if (sec->part[k] != 1) {
			return false;
		}
	}
	return true;
}

static bool field_listed(const struct fetch_section *sec, const struct fhdr *h)
{
	for (size_t i = 0; i < sec->nfields; i++)
		if (sec->field[i].len == h->nlen &&
		    strncasecmp(sec->label + sec->field[i].off, h->name, h->nlen) == 0)
			return true;
	return false;
}

static void put_fields(const struct fetch_msg *fm, const struct fetch_section *sec,
                       const struct pview *m, struct buf *out)
{
	bool want = sec->kind == FSEC_FIELDS;
	size_t pos = m->hs;
	struct fhdr h;

	bool blank;

	fhdr_section_end(fm->data, m->hs, m->be, &blank);
	while (fhdr_next(fm->data, &pos, m->he, &h))
		if (field_listed(sec, &h) == want)
			buf_append(out, fm->data + h.start, h.end - h.start);
	/* the empty line: always after the fields asked for, after the others
	 * only when the header has one (as Dovecot) */
	if (blank || want)
		buf_puts(out, "\r\n");
}

static void put_range(struct buf *out, const struct fetch_msg *fm, size_t a, size_t b)
{
	if (b > a)
		buf_append(out, fm->data + a, b - a);
}

void fetch_section_get(struct fetch_msg *fm, const struct fetch_section *sec, struct buf *out)
{
	struct pview v, m;

	if (sec->kind == FSEC_ALL && sec->nparts == 0) {
		buf_append(out, fm->data, fm->len);
		return;
	}
	/* The message's own header needs no MIME tree: a listing of thousands
	 * of messages asks for nothing else. */
	if (sec->nparts == 0 && (sec->kind == FSEC_FIELDS || sec->kind == FSEC_FIELDS_NOT ||
	                         sec->kind == FSEC_HEADER)) {
		m.idx = 0;
		m.hs = 0;
		m.he = fhdr_section_end(fm->data, 0, fm->len, NULL);
		m.be = fm->len;
		if (sec->kind == FSEC_HEADER)
			put_range(out, fm, m.hs, m.he);
		else
			put_fields(fm, sec, &m, out);
		return;
	}
	parse(fm);
	if (!find_part(fm, sec, &v))
		return;
	if (sec->kind == FSEC_ALL) {
		put_range(out, fm, v.he, part_end(fm, &v));
		return;
	}
	if (sec->kind == FSEC_MIME) {
		put_range(out, fm, v.hs, v.he);
		return;
	}
	/* HEADER, TEXT and the fields are those of a message: the whole one,
	 * or the one a message/rfc822 part holds */
	if (sec->nparts == 0)
		m = v;
	else if (!pv_message(fm, &v, &m))
		return;
	if (sec->kind == FSEC_HEADER)
		put_range(out, fm, m.hs, m.he);
	else if (sec->kind == FSEC_TEXT)
		put_range(out, fm, m.he, m.be);
	else
		put_fields(fm, sec, &m, out);
}

/* The cache of header fields */

static bool is_cached_name(const char *name, size_t n)
{
	const char *p = FETCH_CACHE_FIELDS;

	while (*p != '\0') {
		size_t k = strcspn(p, " ");

		if (k == n && strncasecmp(p, name, n) == 0)
			return true;
		p += k;
		p += *p == ' ';
	}
	return false;
}

bool fetch_section_cached(const struct fetch_section *sec)
{
	if (sec->kind != FSEC_FIELDS || sec->nparts != 0)
		return false;
	for (size_t i = 0; i < sec->nfields; i++)
		if (!is_cached_name(sec->label + sec->field[i].off, sec->field[i].len))
			return false;
	return true;
}

void fetch_cache_fields(const char *data, size_t len, struct buf *out)
{
	size_t pos = 0;
	struct fhdr h;

	while (fhdr_next(data, &pos, len, &h))
		if (is_cached_name(h.name, h.nlen))
			buf_append(out, data + h.start, h.end - h.start);
}

/* BODYSTRUCTURE */

static size_t count_lines(const char *s, size_t n)
{
	size_t lines = 0;

	for (const char *e = s + n; (s = memchr(s, '\n', (size_t)(e - s))) != NULL; s++)
		lines++;
	return lines;
}

/* disposition, language and location: the tail of every BODYSTRUCTURE */
static void put_ext_common(struct buf *out, const struct part_info *pi)
{
	struct buf t;
	struct rlex x;
	bool first = true;

	buf_init(&t, FETCH_BUF_MAX);
	buf_putc(out, ' ');
	rlex_init(&x, pi->f[C_DISP].val, pi->f[C_DISP].vlen, NULL);
	if (!pi->have[C_DISP] || (rlex_skip_lwsp(&x), rlex_mime_token(&x, &t)) < 0) {
		buf_puts(out, "NIL");
	} else {
		buf_putc(out, '(');
		put_str(out, &t);
		buf_putc(out, ' ');
		mime_params_write(out, &x, false);
		buf_putc(out, ')');
	}
	buf_putc(out, ' ');
	rlex_init(&x, pi->f[C_LANG].val, pi->f[C_LANG].vlen, NULL);
	if (pi->have[C_LANG] && rlex_skip_lwsp(&x) > 0) {
		for (;;) {
			buf_reset(&t);
			if (rlex_atom(&x, &t) < 0)
				break;
			buf_puts(out, first ? "(" : " ");
			first = false;
			put_str(out, &t);
			if (x.p >= x.end || *x.p != ',')
				break;
			x.p++;
			rlex_skip_lwsp(&x);
		}
	}
	buf_puts(out, first ? "NIL" : ")");
	put_nolf(out, pi, C_LOC);
	buf_free(&t);
}

static void put_part(struct fetch_msg *fm, const struct pview *v, bool ext, struct buf *out);

static void put_multipart(struct fetch_msg *fm, const struct pview *v, bool ext, struct ctype *ct,
                          const struct part_info *pi, struct buf *out)
{
	struct pview cv;
	int c;

	for (unsigned n = 1; (c = child(fm, v->idx, n)) >= 0; n++) {
		cv = pv_of(fm, c);
		buf_putc(out, '(');
		put_part(fm, &cv, ext, out);
		buf_putc(out, ')');
	}
	if (child(fm, v->idx, 1) < 0)
		buf_puts(out, ext ? EMPTY_BODY " NIL NIL NIL NIL)" : EMPTY_BODY ")");
	buf_putc(out, ' ');
	put_str(out, &ct->sub);
	if (ext) {
		buf_putc(out, ' ');
		mime_params_write(out, ct->params ? &ct->lex : NULL, false);
		put_ext_common(out, pi);
	}
}

static void put_encoding(struct buf *out, const struct part_info *pi)
{
	struct buf enc;
	struct rlex x;

	buf_init(&enc, FETCH_BUF_MAX);
	buf_putc(out, ' ');
	rlex_init(&x, pi->f[C_ENC].val, pi->f[C_ENC].vlen, NULL);
	/* one token, comments allowed around it; anything else is 7bit */
	if (pi->have[C_ENC] && (rlex_skip_lwsp(&x), rlex_mime_token(&x, &enc)) >= 0 &&
	    rlex_skip_lwsp(&x) == 0 && enc.len > 0)
		put_str(out, &enc);
	else
		buf_puts(out, "\"7bit\"");
	buf_free(&enc);
}

static void put_leaf(struct fetch_msg *fm, const struct pview *v, bool ext, struct ctype *ct,
                     const struct part_info *pi, struct buf *out)
{
	struct pview m;
	bool message = pv_message(fm, v, &m);
	bool text = !message && (!pi->have[C_TYPE] || ctype_is(ct, "text", NULL));
	size_t end = part_end(fm, v);
	size_t size = end > v->he ? end - v->he : 0;

	if (message) {
		buf_puts(out, "\"message\" \"rfc822\"");
	} else if (pi->have[C_TYPE]) {
		put_str(out, &ct->type);
		buf_putc(out, ' ');
		put_str(out, &ct->sub);
	} else {
		buf_puts(out, "\"text\" \"plain\"");
	}
	buf_putc(out, ' ');
	mime_params_write(out, ct->params ? &ct->lex : NULL, text);
	put_nolf(out, pi, C_ID);
	put_nolf(out, pi, C_DESC);
	put_encoding(out, pi);
	buf_printf(out, " %zu", size);
	if (text)
		buf_printf(out, " %zu", count_lines(fm->data + v->he, size));
	if (message) {
		buf_putc(out, ' ');
		envelope_write(fm->data, m.hs, m.he, out);
		buf_puts(out, " (");
		put_part(fm, &m, ext, out);
		buf_printf(out, ") %zu", count_lines(fm->data + v->he, size));
	}
	if (ext) {
		put_nolf(out, pi, C_MD5);
		put_ext_common(out, pi);
	}
}

static void put_part(struct fetch_msg *fm, const struct pview *v, bool ext, struct buf *out)
{
	struct part_info pi;
	struct ctype ct;

	part_info(fm->data, v->hs, v->he, &pi);
	ctype_read(&pi, &ct);
	if (pv_multi(fm, v))
		put_multipart(fm, v, ext, &ct, &pi, out);
	else
		put_leaf(fm, v, ext, &ct, &pi, out);
	ctype_free(&ct);
}

void fetch_bodystructure(struct fetch_msg *fm, bool extensible, struct buf *out)
{
	struct pview v;

	parse(fm);
	v = pv_of(fm, 0);
	buf_putc(out, '(');
	put_part(fm, &v, extensible, out);
	buf_putc(out, ')');
}
