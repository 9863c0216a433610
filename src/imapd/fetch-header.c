/*
 * Header values for FETCH: a raw header walker, an RFC 822 lexer with the
 * leniencies Dovecot has (so that both servers answer alike for the same
 * Maildir), MIME parameters with RFC 2231 pieces merged, and IMAP string
 * quoting. Values are the raw header bytes, never RFC 2047 decoded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imapd/fetch-body.h"
#include "imapd/fetch-int.h"
#include "util/log.h"

/* The line at pos: *next is past its line end, *cend where its content ends. */
static void line_at(const char *d, size_t pos, size_t end, size_t *cend, size_t *next)
{
	const char *nl = memchr(d + pos, '\n', end - pos);
	size_t e = nl ? (size_t)(nl - d) : end;

	*next = nl ? e + 1 : end;
	if (nl && e > pos && d[e - 1] == '\r')
		e--;
	*cend = e;
}

bool fhdr_next(const char *d, size_t *pos, size_t end, struct fhdr *h)
{
	size_t cend, next, p = *pos, colon;

	if (p >= end)
		return false;
	line_at(d, p, end, &cend, &next);
	if (cend == p) {
		*pos = next;
		return false;
	}
	h->start = p;
	h->name = d + p;
	colon = p;
	while (colon < cend && d[colon] != ':')
		colon++;
	h->nlen = colon - p;
	while (h->nlen > 0 && (h->name[h->nlen - 1] == ' ' || h->name[h->nlen - 1] == '\t'))
		h->nlen--;
	p = colon < cend ? colon + 1 : cend;
	while (p < cend && (d[p] == ' ' || d[p] == '\t'))
		p++;
	h->val = d + p;
	while (next < end && (d[next] == ' ' || d[next] == '\t'))
		line_at(d, next, end, &cend, &next);
	h->vlen = cend > p ? cend - p : 0;
	h->end = next;
	*pos = next;
	return true;
}

size_t fhdr_section_end(const char *d, size_t start, size_t end, bool *blank)
{
	struct fhdr h;
	size_t pos = start;

	while (fhdr_next(d, &pos, end, &h))
		;
	if (blank != NULL)
		*blank = pos > start && d[pos - 1] == '\n' &&
		         (pos - start == 1 || d[pos - 2] == '\n' ||
		          (d[pos - 2] == '\r' && (pos - start == 2 || d[pos - 3] == '\n')));
	return pos;
}

/* The lexer */

bool rlex_is_atext(unsigned char c)
{
	return c >= 0x80 || (c > ' ' && c < 0x7f && strchr("()<>[]:;@\\,.\"", c) == NULL);
}

static bool is_token_char(unsigned char c)
{
	return rlex_is_atext(c) && c != '/' && c != '?' && c != '=';
}

void rlex_init(struct rlex *x, const char *s, size_t n, struct buf *comment)
{
	/* a field that is not there lexes as empty */
	x->p = (const unsigned char *)(s != NULL ? s : "");
	x->end = x->p + (s != NULL ? n : 0);
	x->comment = comment;
}

static int skip_comment(struct rlex *x)
{
	const unsigned char *start = ++x->p;
	int level = 1;

	if (x->comment)
		buf_reset(x->comment);
	for (; x->p < x->end; x->p++) {
		if (*x->p == '(') {
			level++;
		} else if (*x->p == ')' && --level == 0) {
			if (x->comment)
				buf_append(x->comment, start, (size_t)(x->p - start));
			x->p++;
			return x->p < x->end;
		} else if (*x->p == '\n' && x->comment) {
			size_t n = (size_t)(x->p - start);

			buf_append(x->comment, start, n > 0 && start[n - 1] == '\r' ? n - 1 : n);
			start = x->p + 1;
		} else if (*x->p == '\\') {
			if (++x->p >= x->end)
				return -1;
			if (*x->p == '\r' || *x->p == '\n') {
				x->p--;
				continue;
			}
			if (x->comment)
				buf_append(x->comment, start, (size_t)(x->p - start - 1));
			start = x->p;
		}
	}
	return -1;
}

int rlex_skip_lwsp(struct rlex *x)
{
	while (x->p < x->end) {
		if (*x->p == ' ' || *x->p == '\t' || *x->p == '\r' || *x->p == '\n') {
			x->p++;
			continue;
		}
		if (*x->p != '(')
			break;
		if (skip_comment(x) < 0)
			return -1;
	}
	return x->p < x->end;
}

int rlex_quoted(struct rlex *x, struct buf *out)
{
	const unsigned char *start = ++x->p;

	for (; x->p < x->end; x->p++) {
		if (*x->p == '"') {
			buf_append(out, start, (size_t)(x->p - start));
			x->p++;
			return rlex_skip_lwsp(x);
		}
		if (*x->p == '\n' || *x->p == '\r') {
			/* folding white space: the line end goes */
			buf_append(out, start, (size_t)(x->p - start));
			start = x->p + 1;
		} else if (*x->p == '\\') {
			if (++x->p >= x->end)
				return -1;
			buf_append(out, start, (size_t)(x->p - start - 1));
			start = x->p;
		}
	}
	return -1;
}

int rlex_atom(struct rlex *x, struct buf *out)
{
	const unsigned char *start = x->p;

	if (x->p >= x->end || !rlex_is_atext(*x->p))
		return -1;
	while (x->p < x->end && rlex_is_atext(*x->p))
		x->p++;
	buf_append(out, start, (size_t)(x->p - start));
	return rlex_skip_lwsp(x);
}

/* An atom that may hold dots ("J. Smith"), in a phrase. */
static int atom_or_dot(struct rlex *x, struct buf *out)
{
	const unsigned char *start = x->p;

	while (x->p < x->end && (rlex_is_atext(*x->p) || *x->p == '.'))
		x->p++;
	buf_append(out, start, (size_t)(x->p - start));
	return x->p < x->end ? rlex_skip_lwsp(x) : 0;
}

int rlex_mime_token(struct rlex *x, struct buf *out)
{
	const unsigned char *start = x->p;

	while (x->p < x->end && (is_token_char(*x->p) || *x->p == '.'))
		x->p++;
	buf_append(out, start, (size_t)(x->p - start));
	return x->p < x->end ? rlex_skip_lwsp(x) : 0;
}

/* dot-atom, with the white space RFC 822 allowed around the dots. */
int rlex_dot_atom(struct rlex *x, struct buf *out)
{
	const unsigned char *start;
	int r;

	if (x->p >= x->end || !rlex_is_atext(*x->p))
		return -1;
	for (start = x->p++; x->p < x->end;) {
		if (rlex_is_atext(*x->p)) {
			x->p++;
			continue;
		}
		if (start == x->p)
			return -1;
		buf_append(out, start, (size_t)(x->p - start));
		if ((r = rlex_skip_lwsp(x)) <= 0)
			return r;
		if (*x->p != '.')
			return 1;
		x->p++;
		buf_putc(out, '.');
		if ((r = rlex_skip_lwsp(x)) <= 0)
			return r;
		start = x->p;
	}
	buf_append(out, start, (size_t)(x->p - start));
	return 0;
}

int rlex_phrase(struct rlex *x, struct buf *out)
{
	int r;

	if (x->p >= x->end)
		return 0;
	if (*x->p == '.')
		return -1;
	for (;;) {
		r = *x->p == '"' ? rlex_quoted(x, out) : atom_or_dot(x, out);
		if (r <= 0)
			return r;
		if (!rlex_is_atext(*x->p) && *x->p != '"' && *x->p != '.')
			break;
		buf_putc(out, ' ');
	}
	return rlex_skip_lwsp(x);
}

int rlex_domain(struct rlex *x, struct buf *out)
{
	const unsigned char *start;

	x->p++; /* '@' */
	if (rlex_skip_lwsp(x) <= 0)
		return -1;
	if (*x->p != '[')
		return rlex_dot_atom(x, out);
	for (start = x->p; x->p < x->end; x->p++)
		if (*x->p == ']') {
			x->p++;
			buf_append(out, start, (size_t)(x->p - start));
			return rlex_skip_lwsp(x);
		}
	return -1;
}

/* Quoting */

static void literal(struct buf *b, const char *s, size_t n)
{
	buf_printf(b, "{%zu}\r\n", n);
	buf_append(b, s, n);
}

static void quoted(struct buf *b, const char *s, size_t n)
{
	buf_putc(b, '"');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\r' || s[i] == '\n' || (unsigned char)s[i] >= 0x80)
			continue;
		if (s[i] == '"' || s[i] == '\\')
			buf_putc(b, '\\');
		buf_putc(b, s[i]);
	}
	buf_putc(b, '"');
}

static bool needs_literal(const char *s, size_t n)
{
	unsigned escapes = 0;

	for (size_t i = 0; i < n; i++)
		if (s[i] == '\r' || s[i] == '\n' || (unsigned char)s[i] >= 0x80 ||
		    ((s[i] == '"' || s[i] == '\\') && ++escapes > 4))
			return true;
	return false;
}

/* Header bytes as Dovecot holds them: a NUL becomes U+FFFD. */
static void nul_replaced(struct buf *t, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0')
			buf_puts(t, "\xEF\xBF\xBD");
		else
			buf_putc(t, s[i]);
}

void imap_nstring(struct buf *b, const char *s, size_t n)
{
	struct buf t;

	if (s == NULL) {
		buf_puts(b, "NIL");
	} else if (memchr(s, '\0', n) != NULL) {
		buf_init(&t, FETCH_BUF_MAX);
		nul_replaced(&t, s, n);
		imap_nstring(b, t.data, t.len);
		buf_free(&t);
	} else if (needs_literal(s, n)) {
		literal(b, s, n);
	} else {
		quoted(b, s, n);
	}
}

void imap_nstring_nolf(struct buf *b, const char *s, size_t n)
{
	struct buf t;

	if (s == NULL || (memchr(s, '\r', n) == NULL && memchr(s, '\n', n) == NULL)) {
		imap_nstring(b, s, n);
		return;
	}
	buf_init(&t, FETCH_BUF_MAX);
	for (size_t i = 0; i < n; i++)
		if (s[i] != '\r' && s[i] != '\n')
			buf_putc(&t, s[i]);
	imap_nstring(b, t.data ? t.data : "", t.len);
	buf_free(&t);
}

/* Whether imap_human() changes s: then Dovecot sends a literal. */
static bool human_changes(const char *s, size_t n)
{
	bool blank = true, only_blanks = true;

	for (size_t i = 0; i < n; i++) {
		/* Dovecot sends a name or subject with quotes or backslashes as a literal */
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\t' || s[i] == '"' || s[i] == '\\')
			return true;
		if (s[i] == ' ') {
			if (blank)
				return true;
			blank = true;
		} else {
			blank = only_blanks = false;
		}
	}
	return blank && n > 0 && !only_blanks;
}

void imap_human(struct buf *b, const char *s, size_t n)
{
	struct buf t;
	bool blank = true;

	if (s != NULL && memchr(s, '\0', n) != NULL) {
		buf_init(&t, FETCH_BUF_MAX);
		nul_replaced(&t, s, n);
		imap_human(b, t.data, t.len);
		buf_free(&t);
		return;
	}
	if (!human_changes(s, n)) {
		imap_nstring(b, s, n);
		return;
	}
	buf_init(&t, FETCH_BUF_MAX);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
			if (!blank)
				buf_putc(&t, ' ');
			blank = true;
			continue;
		}
		buf_putc(&t, s[i]);
		blank = false;
	}
	if (blank && t.len > 0)
		t.len--;
	if (t.len == 0)
		buf_puts(b, "\"\"");
	else
		literal(b, t.data, t.len);
	buf_free(&t);
}

/* MIME parameters */

/* One RFC 2231 piece: "name*2*" is name, index 2, extended. */
struct rparam {
	struct buf key, value;
	unsigned index;
	bool extended, is2231;
};

static int rparam_cmp(const void *a, const void *b)
{
	const struct rparam *x = a, *y = b;
	int c = strcasecmp(x->key.data ? x->key.data : "", y->key.data ? y->key.data : "");

	return c != 0 ? c : (x->index > y->index) - (x->index < y->index);
}

#define PARAMS_MAX 64

/* ";" key "=" value, as Dovecot's rfc822_parse_content_param: 1, 0 at the end, -1 */
static int content_param(struct rlex *x, struct rparam *rp)
{
	int r;

	if (x->p >= x->end)
		return 0;
	if (*x->p != ';')
		return -1;
	x->p++;
	if (rlex_skip_lwsp(x) <= 0 || rlex_mime_token(x, &rp->key) <= 0 || *x->p != '=')
		return -1;
	x->p++;
	if ((r = rlex_skip_lwsp(x)) <= 0) {
		/* no value */
	} else if (*x->p == '"') {
		r = rlex_quoted(x, &rp->value);
	} else if (*x->p == '=') {
		/* name==?utf-8?b?...?= */
		while (x->p < x->end && strchr("; \t\r\n", *x->p) == NULL)
			buf_putc(&rp->value, (char)*x->p++);
	} else {
		r = rlex_mime_token(x, &rp->value);
	}
	return r < 0 ? -1 : 1;
}

/* "name*N*", "name*N", "name*": which RFC 2231 piece it is. */
static void rparam_2231(struct rparam *rp, unsigned *last_index)
{
	char *k = rp->key.data, *star = k ? strchr(k, '*') : NULL, *p;

	if (star == NULL)
		return;
	p = star;
	if (p[1] != '\0') {
		p++;
		*last_index = 0;
		for (; *p >= '0' && *p <= '9'; p++)
			*last_index = *last_index * 10 + (unsigned)(*p - '0');
	}
	rp->index = *last_index;
	rp->extended = *p == '*';
	if (rp->extended)
		p++;
	if (*p != '\0')
		return;
	rp->is2231 = true;
	rp->key.len = (size_t)(star - k);
	k[rp->key.len] = '\0';
}

static void put_param(struct buf *out, bool *first, const char *k, size_t kn, const char *v,
                      size_t vn)
{
	buf_puts(out, *first ? "(" : " ");
	*first = false;
	imap_nstring(out, k, kn);
	buf_putc(out, ' ');
	imap_nstring(out, v, vn);
}

/* Merges "name*0*", "name*1"... into "name*" as Dovecot does; pieces
 * with a missing index are written one by one. */
static void put_2231(struct buf *out, bool *first, struct rparam *rp, size_t n)
{
	struct buf v, k;

	qsort(rp, n, sizeof(*rp), rparam_cmp);
	buf_init(&k, FETCH_BUF_MAX);
	buf_init(&v, FETCH_BUF_MAX);
	for (size_t i = 0, next; i < n; i = next) {
		bool ok = true, ext = false;

		for (next = i; next < n && strcasecmp(rp[i].key.data, rp[next].key.data) == 0;
		     next++) {
			ok &= rp[next].index == next - i;
			ext |= rp[next].extended;
		}
		for (size_t j = i; !ok && j < next; j++) {
			buf_reset(&k);
			buf_printf(&k, rp[j].extended ? "%s*%u*" : "%s*%u", rp[j].key.data,
			           rp[j].index);
			put_param(out, first, k.data, k.len,
			          rp[j].value.data ? rp[j].value.data : "", rp[j].value.len);
		}
		if (!ok)
			continue;
		buf_reset(&k);
		buf_reset(&v);
		if (!rp[i].extended && ext)
			buf_puts(&v, "''");
		for (size_t j = i; j < next; j++)
			for (size_t c = 0; c < rp[j].value.len; c++) {
				/* a plain piece among encoded ones: its '%' is escaped */
				if (!rp[j].extended && ext && rp[j].value.data[c] == '%')
					buf_puts(&v, "%25");
				else
					buf_putc(&v, rp[j].value.data[c]);
			}
		buf_printf(&k, "%s%s", rp[i].key.data, ext ? "*" : "");
		put_param(out, first, k.data, k.len, v.data ? v.data : "", v.len);
	}
	buf_free(&v);
	buf_free(&k);
}

static void rparams_free(struct rparam *rp, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		buf_free(&rp[i].key);
		buf_free(&rp[i].value);
	}
}

/* The parameters after the lexer's position (x NULL: none): "(k v ...)"
 * or NIL. A text part says its charset, us-ascii when the header does not. */
void mime_params_write(struct buf *out, struct rlex *x, bool text)
{
	struct rparam rp[PARAMS_MAX], r2[PARAMS_MAX];
	size_t n = 0, n2 = 0;
	bool first = true, charset = false;
	unsigned last_index = 0;
	int r;

	while (x != NULL && n + n2 < PARAMS_MAX) {
		struct rparam *p = &rp[n];

		memset(p, 0, sizeof(*p));
		buf_init(&p->key, FETCH_BUF_MAX);
		buf_init(&p->value, FETCH_BUF_MAX);
		if ((r = content_param(x, p)) <= 0) {
			rparams_free(p, 1);
			/* a broken parameter: on to the next ';' */
			if (r == 0 || x->p >= x->end)
				break;
			x->p++;
			continue;
		}
		rparam_2231(p, &last_index);
		if (p->is2231)
			r2[n2++] = *p;
		else
			n++;
	}
	for (size_t i = 0; i < n; i++) {
		charset |= strcasecmp(rp[i].key.data, "charset") == 0;
		put_param(out, &first, rp[i].key.data, rp[i].key.len,
		          rp[i].value.data ? rp[i].value.data : "", rp[i].value.len);
	}
	put_2231(out, &first, r2, n2);
	if (text && !charset)
		put_param(out, &first, "charset", 7, "us-ascii", 8);
	buf_puts(out, first ? "NIL" : ")");
	rparams_free(rp, n);
	rparams_free(r2, n2);
}
