/*
 * Content-Type / Content-Disposition fields: the type token and the
 * parameters, with quoted strings, comments, RFC 2231 continuations and
 * charsets (filename*0*=utf-8''...), and the RFC 2047 words that real
 * mailers put in quoted file names although the RFC forbids it.
 */
#include "mail/message.h"

#include <stdlib.h>
#include <string.h>

#include "mail/message-int.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"

#define MAX_SECTIONS 100

static size_t skip_cfws(const char *s, size_t n, size_t i)
{
	while (i < n) {
		if (is_wsp((unsigned char)s[i]) || s[i] == '\r' || s[i] == '\n')
			i++;
		else if (s[i] == '(')
			i = skip_comment(s, n, i) + 1;
		else
			break;
	}
	return i < n ? i : n;
}

/* Past the parameter's garbage up to the next ';' (quotes respected). */
static size_t skip_to_semicolon(const char *s, size_t n, size_t i)
{
	while (i < n && s[i] != ';') {
		if (s[i] == '"')
			i = skip_quoted(s, n, i);
		else if (s[i] == '(')
			i = skip_comment(s, n, i);
		if (i < n)
			i++;
	}
	return i;
}

/* "filename*0*" -> base "filename", section 0, extended. False when malformed. */
static bool param_name(struct mparam *p, const char *s, size_t n)
{
	const char *star = memchr(s, '*', n);
	size_t i;

	p->name = s;
	p->nlen = star ? (size_t)(star - s) : n;
	p->section = -1;
	p->ext = false;
	if (star == NULL)
		return n > 0;
	i = p->nlen + 1;
	if (i == n) {
		p->ext = true; /* "name*" */
		return p->nlen > 0;
	}
	if (s[i] < '0' || s[i] > '9')
		return false;
	for (p->section = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		if (p->section < 1000)
			p->section = p->section * 10 + (s[i] - '0');
	if (i < n && s[i] == '*') {
		p->ext = true;
		i++;
	}
	return i == n && p->nlen > 0;
}

/* The value at s[i]: quoted, or a token that runs to ';' (unquoted file
 * names with spaces exist) but stops at a comment after white space. */
static size_t param_value(struct mparam *p, const char *s, size_t n, size_t i)
{
	size_t e;

	if (i < n && s[i] == '"') {
		e = skip_quoted(s, n, i);
		p->val = s + i + 1;
		p->vlen = e - i - 1;
		p->quoted = true;
		return e < n ? e + 1 : n;
	}
	p->val = s + i;
	p->quoted = false;
	for (e = i; e < n && s[e] != ';'; e++)
		if (s[e] == '(' && e > i && is_wsp((unsigned char)s[e - 1]))
			break;
	p->vlen = e - i;
	while (p->vlen > 0 && is_wsp((unsigned char)p->val[p->vlen - 1]))
		p->vlen--;
	return e;
}

static size_t param_parse_one(struct mfield *f, const char *s, size_t n, size_t i)
{
	size_t start = i;
	struct mparam p;

	while (i < n && s[i] != '=' && s[i] != ';' && s[i] != '"' && s[i] != '(' &&
	       !is_wsp((unsigned char)s[i]))
		i++;
	if (!param_name(&p, s + start, i - start))
		return skip_to_semicolon(s, n, i);
	i = skip_cfws(s, n, i);
	if (i >= n || s[i] != '=')
		return skip_to_semicolon(s, n, i);
	i = param_value(&p, s, n, skip_cfws(s, n, i + 1));
	if (f->n < MFIELD_MAX_PARAMS)
		f->p[f->n++] = p;
	return i;
}

void mfield_parse(struct mfield *f, const struct msg_header *h)
{
	size_t n, i;
	char *u = msg_header_unfold(h);

	memset(f, 0, sizeof(*f));
	f->buf = u;
	n = strlen(u);
	i = skip_cfws(u, n, 0);
	f->tok = u + i;
	while (i < n && u[i] != ';' && u[i] != '(' && !is_wsp((unsigned char)u[i]))
		i++;
	f->toklen = (size_t)(u + i - f->tok);
	while (i < n) {
		i = skip_cfws(u, n, i);
		if (i < n && u[i] == ';') {
			i++;
			continue;
		}
		if (i < n)
			i = param_parse_one(f, u, n, i);
	}
}

void mfield_free(struct mfield *f)
{
	free(f->buf);
	f->buf = NULL;
}

char *mfield_token(const struct mfield *f)
{
	char *t;

	if (f->toklen == 0)
		return NULL;
	for (size_t i = 0; i < f->toklen; i++) {
		unsigned char c = (unsigned char)f->tok[i];

		if (c <= ' ' || c >= 127 || c == '"')
			return NULL;
	}
	t = xstrndup(f->tok, f->toklen);
	return str_lower(t);
}

static const struct mparam *find_param(const struct mfield *f, const char *name, int section,
                                       bool ext_only)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct mparam *p = &f->p[i];

		if (p->section == section && (!ext_only || p->ext) &&
		    str_ieq_n(p->name, p->nlen, name))
			return p;
	}
	return NULL;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void pct_decode(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		if (s[i] == '%' && i + 2 < n && (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
		    (lo = hexval((unsigned char)s[i + 2])) >= 0) {
			buf_putc(b, (char)(hi << 4 | lo));
			i += 2;
		} else {
			buf_putc(b, s[i]);
		}
	}
}

static void unquote(struct buf *b, const struct mparam *p)
{
	for (size_t i = 0; i < p->vlen; i++) {
		if (p->quoted && p->val[i] == '\\' && i + 1 < p->vlen)
			i++;
		buf_putc(b, p->val[i]);
	}
}

/* An extended value "charset'lang'text": *cs gets the charset span. */
static void ext_value(struct buf *b, const struct mparam *p, bool first, const char **cs,
                      size_t *cslen)
{
	const char *v = p->val, *q1, *q2;
	size_t n = p->vlen;

	if (first && (q1 = memchr(v, '\'', n)) != NULL &&
	    (q2 = memchr(q1 + 1, '\'', n - (size_t)(q1 + 1 - v))) != NULL) {
		*cs = v;
		*cslen = (size_t)(q1 - v);
		n -= (size_t)(q2 + 1 - v);
		v = q2 + 1;
	}
	pct_decode(b, v, n);
}

/* RFC 2231 sections 0, 1, ... joined; false when there is no section 0. */
static bool join_sections(const struct mfield *f, const char *name, struct buf *out)
{
	struct buf bytes;
	const char *cs = NULL;
	size_t cslen = 0;
	const struct mparam *p;

	if (find_param(f, name, 0, false) == NULL)
		return false;
	buf_init(&bytes, MSG_BUF_MAX);
	for (int k = 0; k < MAX_SECTIONS && (p = find_param(f, name, k, false)) != NULL; k++) {
		if (p->ext)
			ext_value(&bytes, p, k == 0, &cs, &cslen);
		else
			unquote(&bytes, p);
	}
	if (cs && cslen > 0)
		charset_append(out, cs, cslen, bytes.data, bytes.len);
	else
		text_append_lenient(out, bytes.data ? bytes.data : "", bytes.len);
	buf_free(&bytes);
	return true;
}

static void plain_value(const struct mparam *p, struct buf *out)
{
	struct buf raw;
	char *dec;

	buf_init(&raw, MSG_BUF_MAX);
	unquote(&raw, p);
	dec = rfc2047_decode(raw.data ? raw.data : "", raw.len);
	buf_puts(out, dec);
	free(dec);
	buf_free(&raw);
}

char *mfield_param(const struct mfield *f, const char *name)
{
	struct buf out;
	const struct mparam *p;
	const char *cs = NULL;
	size_t cslen = 0;
	char *s;

	buf_init(&out, MSG_BUF_MAX);
	if (join_sections(f, name, &out)) {
		/* RFC 2231 continuations win over a plain value. */
	} else if ((p = find_param(f, name, -1, true)) != NULL) {
		struct buf bytes;

		buf_init(&bytes, MSG_BUF_MAX);
		ext_value(&bytes, p, true, &cs, &cslen);
		charset_append(&out, cs, cslen, bytes.data ? bytes.data : "", bytes.len);
		buf_free(&bytes);
	} else if ((p = find_param(f, name, -1, false)) != NULL) {
		plain_value(p, &out);
	} else {
		return NULL;
	}
	text_blank_controls(&out, 0);
	s = str_trim_inplace(buf_steal(&out, NULL));
	if (*s == '\0') {
		free(s);
		return NULL;
	}
	return s;
}

char *mfield_param_raw(const struct mfield *f, const char *name)
{
	const struct mparam *p = find_param(f, name, -1, false);
	struct buf out;

	if (p == NULL || p->vlen == 0)
		return NULL;
	buf_init(&out, MSG_BUF_MAX);
	unquote(&out, p);
	return buf_steal(&out, NULL);
}
