/*
 * Address lists (RFC 5322 with the obsolete forms): a lexer into atoms,
 * quoted strings, comments, domain literals and specials, then one
 * address at a time from the tokens up to the next top-level ',' or ';'.
 * Real mail adds a few shapes handled here: encoded words holding commas,
 * "Name addr@x" without angle brackets, an angle bracket never closed.
 */
#include "mail/message.h"

#include <stdlib.h>
#include <string.h>

#include "mail/message-int.h"
#include "util/buf.h"
#include "util/log.h"

#define ADDR_MAX_TOKENS 4096 /* per address: more is garbage, skipped */
#define EW_CHARSET_MAX  64

enum tok_kind { T_WORD, T_QUOTED, T_COMMENT, T_DLIT, T_SPECIAL };

struct tok {
	enum tok_kind kind;
	const char *p; /* T_COMMENT: inside the parentheses; others: as written */
	size_t n;
	bool ws; /* white space or a comment before it */
};

struct lexer {
	const char *s;
	size_t n, i;
	size_t no_ew_until; /* no encoded word can end before this offset */
};

static bool is_special(unsigned char c)
{
	return strchr("()<>[]:;@\\,.\"", c) != NULL && c != '\0';
}

static bool is_blank(unsigned char c)
{
	return c <= ' ' || c == 127;
}

/* End of an encoded word "=?cs?e?text?=" at i (no blanks inside), or 0. */
static size_t ew_end(struct lexer *lx, size_t i)
{
	const char *s = lx->s;
	size_t n = lx->n, p = i + 2;

	if (i < lx->no_ew_until)
		return 0;
	while (p < n && p - i - 2 < EW_CHARSET_MAX && s[p] != '?' && !is_blank((unsigned char)s[p]))
		p++;
	if (p == i + 2 || p + 2 >= n || s[p] != '?' || s[p + 2] != '?')
		return 0;
	for (p += 3; p + 1 < n && !is_blank((unsigned char)s[p]); p++)
		if (s[p] == '?' && s[p + 1] == '=')
			return p + 2;
	lx->no_ew_until = p + 1;
	return 0;
}

static size_t lex_atom(struct lexer *lx, size_t i)
{
	size_t e = 0;

	if (i + 1 < lx->n && lx->s[i] == '=' && lx->s[i + 1] == '?')
		e = ew_end(lx, i);
	if (e)
		return e;
	while (i < lx->n && !is_blank((unsigned char)lx->s[i]) &&
	       !is_special((unsigned char)lx->s[i]))
		i++;
	return i;
}

static size_t lex_bracket(const char *s, size_t n, size_t i, char close)
{
	const char *e = memchr(s + i, close, n - i);

	return e ? (size_t)(e - s) + 1 : n;
}

static bool lex_next(struct lexer *lx, struct tok *t)
{
	const char *s = lx->s;
	size_t n = lx->n, i = lx->i, e;

	t->ws = false;
	while (i < n && is_blank((unsigned char)s[i])) {
		t->ws = true;
		i++;
	}
	if (i >= n)
		return false;
	t->p = s + i;
	if (s[i] == '(') {
		e = skip_comment(s, n, i);
		t->kind = T_COMMENT;
		t->p = s + i + 1;
		t->n = e - i - 1;
		e = e < n ? e + 1 : n;
	} else if (s[i] == '"') {
		e = skip_quoted(s, n, i);
		e = e < n ? e + 1 : n;
		t->kind = T_QUOTED;
		t->n = e - i;
	} else if (s[i] == '[') {
		e = lex_bracket(s, n, i, ']');
		t->kind = T_DLIT;
		t->n = e - i;
	} else if (is_special((unsigned char)s[i])) {
		e = i + 1;
		t->kind = T_SPECIAL;
		t->n = 1;
	} else {
		e = lex_atom(lx, i);
		t->kind = T_WORD;
		t->n = e - i;
	}
	lx->i = e;
	return true;
}

static bool tok_is(const struct tok *t, char c)
{
	return t->kind == T_SPECIAL && t->p[0] == c;
}

static bool tok_is_word(const struct tok *t)
{
	return t->kind == T_WORD || t->kind == T_QUOTED;
}

/* Appends a quoted string's or comment's content without its escapes. */
static void unescape(struct buf *b, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\\' && i + 1 < n)
			i++;
		buf_putc(b, p[i]);
	}
}

static char *decoded_or_null(struct buf *b)
{
	char *d = str_trim_inplace(rfc2047_decode(b->data ? b->data : "", b->len));

	buf_free(b);
	if (*d == '\0') {
		free(d);
		return NULL;
	}
	return d;
}

/* A display name from tokens t[0..n): words joined by single spaces. */
static char *phrase(const struct tok *t, size_t n)
{
	struct buf b;
	bool space = false;

	buf_init(&b, MSG_BUF_MAX);
	for (size_t i = 0; i < n; i++) {
		if (t[i].kind == T_COMMENT) {
			space = true;
			continue;
		}
		if ((t[i].ws || space) && b.len > 0)
			buf_putc(&b, ' ');
		space = false;
		if (t[i].kind == T_QUOTED)
			unescape(&b, t[i].p + 1, t[i].n >= 2 ? t[i].n - 2 : 0);
		else
			buf_append(&b, t[i].p, t[i].n);
	}
	return decoded_or_null(&b);
}

static char *comment_name(const struct tok *t, size_t n)
{
	struct buf b;

	for (size_t i = 0; i < n; i++) {
		if (t[i].kind != T_COMMENT)
			continue;
		buf_init(&b, MSG_BUF_MAX);
		unescape(&b, t[i].p, t[i].n);
		return decoded_or_null(&b);
	}
	return NULL;
}

/* The addr-spec from tokens t[0..n), white space and comments dropped. */
static char *spec(const struct tok *t, size_t n)
{
	struct buf raw, out;

	buf_init(&raw, MSG_BUF_MAX);
	for (size_t i = 0; i < n; i++) {
		if (t[i].kind == T_COMMENT)
			continue;
		if (t[i].kind == T_SPECIAL && !tok_is(&t[i], '.') && !tok_is(&t[i], '@'))
			continue;
		buf_append(&raw, t[i].p, t[i].n);
	}
	if (raw.len == 0) {
		buf_free(&raw);
		return NULL;
	}
	buf_init(&out, MSG_BUF_MAX);
	text_append_lenient(&out, raw.data, raw.len);
	text_blank_controls(&out, 0);
	buf_free(&raw);
	return buf_steal(&out, NULL);
}

/* "<@a,@b:x@y>": the obsolete source route before ':' is dropped. */
static size_t route_skip(const struct tok *t, size_t a, size_t b)
{
	size_t i = a;

	while (i < b && t[i].kind == T_COMMENT)
		i++;
	if (i >= b || !tok_is(&t[i], '@'))
		return a;
	for (; i < b; i++)
		if (tok_is(&t[i], ':'))
			return i + 1;
	return a;
}

static void angle_addr(const struct tok *t, size_t n, size_t a, struct msg_addr *r)
{
	size_t b = a + 1;

	while (b < n && !tok_is(&t[b], '>'))
		b++;
	r->name = phrase(t, a);
	if (r->name == NULL)
		r->name = comment_name(t, n);
	a = route_skip(t, a + 1, b);
	r->addr = spec(t + a, b - a);
}

/* Drops the comments (they count as white space); returns the new count. */
static size_t drop_comments(struct tok *t, size_t n)
{
	size_t o = 0;
	bool ws = false;

	for (size_t i = 0; i < n; i++) {
		if (t[i].kind == T_COMMENT) {
			ws = true;
			continue;
		}
		t[o] = t[i];
		t[o++].ws |= ws;
		ws = false;
	}
	return o;
}

/* Without angle brackets: "x@y (Name)", "Name x@y", or a lone local name
 * ("root"). The name comes from what precedes the address, else a comment. */
static void bare_addr(struct tok *t, size_t n, struct msg_addr *r)
{
	char *cname = comment_name(t, n);
	size_t at = 0, ls, de;

	n = drop_comments(t, n);
	while (at < n && !tok_is(&t[at], '@'))
		at++;
	if (at == n) {
		if (n == 1 && t[0].kind == T_WORD)
			r->addr = spec(t, 1);
		r->name = r->addr ? cname : NULL;
		if (r->addr == NULL)
			free(cname);
		return;
	}
	ls = at;
	if (ls > 0 && tok_is_word(&t[ls - 1]))
		ls--;
	while (ls >= 2 && ls < at && tok_is(&t[ls - 1], '.') && tok_is_word(&t[ls - 2]))
		ls -= 2;
	de = at + 1;
	if (de < n && (t[de].kind == T_WORD || t[de].kind == T_DLIT))
		de++;
	while (de + 1 < n && de > at + 1 && tok_is(&t[de], '.') && t[de + 1].kind == T_WORD)
		de += 2;
	if (ls < at && de > at + 1) {
		r->addr = spec(t + ls, de - ls);
		r->name = phrase(t, ls);
	}
	if (r->addr && r->name == NULL) {
		r->name = cname;
		cname = NULL;
	}
	free(cname);
}

struct addr_list {
	struct msg_addr *v;
	size_t n, cap;
	struct tok *t; /* the current address's tokens */
	size_t nt, tcap;
	bool overflow;
};

static void finish(struct addr_list *l)
{
	struct msg_addr r = {NULL, NULL};
	size_t a = 0;

	if (l->nt > 0 && !l->overflow && l->n < MSG_MAX_ADDRS) {
		while (a < l->nt && !tok_is(&l->t[a], '<'))
			a++;
		if (a < l->nt)
			angle_addr(l->t, l->nt, a, &r);
		else
			bare_addr(l->t, l->nt, &r);
	}
	if (r.addr) {
		l->v = xreallocarray_grow(l->v, &l->cap, l->n + 1, sizeof(*l->v));
		l->v[l->n++] = r;
	} else {
		free(r.name);
	}
	l->nt = 0;
	l->overflow = false;
}

static void push(struct addr_list *l, const struct tok *t)
{
	if (l->nt >= ADDR_MAX_TOKENS) {
		l->overflow = true;
		return;
	}
	l->t = xreallocarray_grow(l->t, &l->tcap, l->nt + 1, sizeof(*l->t));
	l->t[l->nt++] = *t;
}

/* Inside '<', a ',' is part of a route ("<@a,@b:x@y>") only when '@' follows;
 * otherwise the bracket was never closed and the ',' separates addresses. */
static bool comma_in_route(const struct lexer *lx)
{
	struct lexer peek = *lx;
	struct tok t;

	return lex_next(&peek, &t) && tok_is(&t, '@');
}

size_t addr_parse(const char *s, size_t len, struct msg_addr **out)
{
	struct lexer lx = {s, len, 0, 0};
	struct addr_list l = {NULL, 0, 0, NULL, 0, 0, false};
	struct tok t;
	bool angle = false;

	while (l.n < MSG_MAX_ADDRS && lex_next(&lx, &t)) {
		if (t.kind == T_SPECIAL) {
			char c = t.p[0];

			if (c == '<' && !angle)
				angle = true;
			else if (c == '>' && angle)
				angle = false;
			else if (c == ',' && angle && !comma_in_route(&lx))
				angle = false;
			if ((c == ',' || c == ';') && !angle) {
				finish(&l);
				continue;
			}
			if (c == ':' && !angle) {
				l.nt = 0; /* a group's name: its members follow */
				l.overflow = false;
				continue;
			}
		}
		push(&l, &t);
	}
	finish(&l);
	free(l.t);
	*out = l.v;
	return l.n;
}

void addr_free(struct msg_addr *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(a[i].name);
		free(a[i].addr);
	}
	free(a);
}
