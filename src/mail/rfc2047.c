/*
 * RFC 2047 encoded words. Real mail breaks the RFC in a few regular ways,
 * all accepted here: words glued to text or to each other, spaces inside
 * Q text, words longer than 75 bytes, a multibyte character split across
 * two words (bytes of adjacent same-charset words are joined before the
 * conversion), and raw 8-bit bytes around the words.
 */
#include "mail/message.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/message-int.h"
#include "util/buf.h"
#include "util/log.h"

#define EW_CHARSET_MAX 64
#define NONE           ((size_t)-1)

struct ew {
	size_t end; /* just past the closing "?=" */
	const char *cs;
	size_t cslen;
	char enc; /* 'b' or 'q' */
	const char *text;
	size_t tlen;
};

/*
 * Where the last searches for "?=" and for a line break ended, so that a
 * run of unterminated "=?" costs one pass, not one pass each.
 */
struct ew_scan {
	size_t term;  /* offset of the next "?=" at or after the last search, or NONE */
	size_t brk;   /* offset of the next CR or LF likewise, or NONE */
	bool no_term; /* no "?=" anywhere after the last search */
};

static size_t next_term(const char *s, size_t n, size_t t, struct ew_scan *sc)
{
	const char *e;

	if (sc->term != NONE && sc->term >= t)
		return sc->term;
	e = memmem(s + t, n - t, "?=", 2);
	if (e == NULL) {
		sc->no_term = true;
		return NONE;
	}
	sc->term = (size_t)(e - s);
	return sc->term;
}

static size_t next_break(const char *s, size_t n, size_t t, struct ew_scan *sc)
{
	if (sc->brk == NONE || sc->brk < t) {
		sc->brk = n;
		for (size_t i = t; i < n; i++) {
			if (s[i] == '\r' || s[i] == '\n') {
				sc->brk = i;
				break;
			}
		}
	}
	return sc->brk;
}

/* Parses "=?charset?X?text?=" at s[i]; false when it is not one. */
static bool ew_parse(const char *s, size_t n, size_t i, struct ew_scan *sc, struct ew *w)
{
	size_t p = i + 2, t, e;

	if (sc->no_term)
		return false;
	while (p < n && p - (i + 2) < EW_CHARSET_MAX && s[p] != '?' && (unsigned char)s[p] > ' ' &&
	       s[p] != 127)
		p++;
	if (p == i + 2 || p + 2 >= n || s[p] != '?' || s[p + 2] != '?')
		return false;
	w->enc = (char)(s[p + 1] | 0x20);
	if (w->enc != 'b' && w->enc != 'q')
		return false;
	t = p + 3;
	e = next_term(s, n, t, sc);
	if (e == NONE || next_break(s, n, t, sc) < e)
		return false;
	w->cs = s + i + 2;
	w->cslen = p - (i + 2);
	w->text = s + t;
	w->tlen = e - t;
	w->end = e + 2;
	return true;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void q_decode(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		if (s[i] == '_') {
			buf_putc(b, ' ');
		} else if (s[i] == '=' && i + 2 < n &&
		           (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
		           (lo = hexval((unsigned char)s[i + 2])) >= 0) {
			buf_putc(b, (char)(hi << 4 | lo));
			i += 2;
		} else {
			buf_putc(b, s[i]); /* a bad escape is kept as it is */
		}
	}
}

/* Appends the word's bytes to b; false when the word is malformed. */
static bool ew_decode(const struct ew *w, struct buf *b)
{
	char *tmp;
	size_t got;

	if (!charset_known(w->cs, w->cslen))
		return false;
	if (w->enc == 'q') {
		q_decode(b, w->text, w->tlen);
		return true;
	}
	tmp = xmalloc(w->tlen / 4 * 3 + 3);
	got = b64_decode(w->text, w->tlen, tmp, w->tlen / 4 * 3 + 3, true);
	if (got != (size_t)-1)
		buf_append(b, tmp, got);
	free(tmp);
	return got != (size_t)-1;
}

/* Text outside encoded words: line breaks are folds (dropped), NUL and
 * other controls become spaces, 8-bit bytes are read leniently. */
static void raw_append(struct buf *out, const char *s, size_t n)
{
	size_t from = out->len, run = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\r' && s[i] != '\n' && s[i] != '\0')
			continue;
		text_append_lenient(out, s + run, i - run);
		if (s[i] == '\0')
			buf_putc(out, ' ');
		run = i + 1;
	}
	text_append_lenient(out, s + run, n - run);
	text_blank_controls(out, from);
}

static bool all_fws(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_wsp((unsigned char)s[i]) && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

struct pending {
	struct buf bytes;
	const char *cs;
	size_t cslen;
};

static void pending_flush(struct buf *out, struct pending *p)
{
	size_t from = out->len;

	if (p->bytes.len == 0)
		return;
	charset_append(out, p->cs, p->cslen, p->bytes.data, p->bytes.len);
	text_blank_controls(out, from);
	buf_reset(&p->bytes);
}

static bool same_charset(const struct pending *p, const struct ew *w)
{
	return p->cslen == w->cslen && strncasecmp(p->cs, w->cs, w->cslen) == 0;
}

/* Most fields are printable ASCII without encoded words: copied as they are. */
static bool plain_ascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c > 0x7E || (c == '=' && i + 1 < len && s[i + 1] == '?'))
			return false;
	}
	return true;
}

char *rfc2047_decode(const char *s, size_t len)
{
	struct buf out, word;
	struct pending pend = {.cs = NULL};
	struct ew_scan sc = {.term = NONE, .brk = NONE};
	struct ew w;
	size_t i = 0, text = 0;
	bool after_ew = false, ok;

	if (plain_ascii(s, len))
		return xstrndup(s, len);
	buf_init(&out, MSG_BUF_MAX);
	buf_init(&word, MSG_BUF_MAX);
	buf_init(&pend.bytes, MSG_BUF_MAX);
	while (i + 1 < len) {
		if (s[i] != '=' || s[i + 1] != '?' || !ew_parse(s, len, i, &sc, &w)) {
			i++;
			continue;
		}
		buf_reset(&word);
		ok = ew_decode(&w, &word);
		/* White space between two encoded words is dropped. */
		if (!after_ew || !ok || !all_fws(s + text, i - text)) {
			pending_flush(&out, &pend);
			raw_append(&out, s + text, i - text);
		}
		if (ok) {
			if (pend.bytes.len > 0 && !same_charset(&pend, &w))
				pending_flush(&out, &pend);
			buf_append(&pend.bytes, word.data, word.len);
			pend.cs = w.cs;
			pend.cslen = w.cslen;
		} else {
			raw_append(&out, s + i, w.end - i);
		}
		after_ew = ok;
		i = text = w.end;
	}
	pending_flush(&out, &pend);
	raw_append(&out, s + text, len - text);
	buf_free(&pend.bytes);
	buf_free(&word);
	return buf_steal(&out, NULL);
}
