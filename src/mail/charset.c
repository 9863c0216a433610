/*
 * Charset conversion to UTF-8. UTF-8, US-ASCII and Windows-1252 (which is
 * what mail labelled ISO-8859-1 means in practice, as in browsers) are
 * converted here; every other charset goes through iconv, whose
 * descriptors are cached per process (a few, closed at exit).
 */
#include "mail/message.h"

#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mail/message-int.h"
#include "util/log.h"

#define CS_NAME_MAX   48
#define CD_CACHE_SIZE 32
#define REPLACEMENT   0xFFFDu

size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xBF;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4;
	else
		return 0;
	/* The second byte's range excludes overlongs, surrogates and > U+10FFFF. */
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return len;
}

bool utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq_len(u + i, n - i);

		if (l == 0)
			return false;
		i += l;
	}
	return true;
}

void utf8_put(struct buf *b, unsigned int cp)
{
	char o[4];
	size_t n;

	if (cp < 0x80) {
		o[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	}
	buf_append(b, o, n);
}

/* Windows-1252 0x80..0x9F; the five holes map to C1 controls, as WHATWG does. */
static const unsigned short cp1252_hi[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

static unsigned int cp1252_cp(unsigned char c)
{
	if (c == 0)
		return REPLACEMENT;
	if (c >= 0x80 && c < 0xA0)
		return cp1252_hi[c - 0x80];
	return c;
}

/* Appends s, keeping valid UTF-8; any other byte becomes its Windows-1252
 * character (cp1252) or U+FFFD. */
static void utf8_append_with(struct buf *b, const char *s, size_t n, bool cp1252)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t run = 0, i = 0;

	while (i < n) {
		size_t l;

		if (u[i] - 1u < 0x7Fu) { /* ASCII but NUL: the common case */
			i++;
			continue;
		}
		l = u[i] ? utf8_seq_len(u + i, n - i) : 0;
		if (l > 0) {
			i += l;
			continue;
		}
		buf_append(b, s + run, i - run);
		utf8_put(b, cp1252 ? cp1252_cp(u[i]) : REPLACEMENT);
		run = ++i;
	}
	buf_append(b, s + run, i - run);
}

void text_append_lenient(struct buf *b, const char *s, size_t n)
{
	if (n == 0)
		return; /* s may be NULL then */
	utf8_append_with(b, s, n, true);
}

static void cp1252_append(struct buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		if (u[i] > 0 && u[i] < 0x80)
			continue;
		buf_append(b, s + run, i - run);
		utf8_put(b, cp1252_cp(u[i]));
		run = i + 1;
	}
	buf_append(b, s + run, n - run);
}

void text_blank_controls(struct buf *b, size_t from)
{
	for (size_t i = from; i < b->len; i++)
		if ((unsigned char)b->data[i] < 0x20 || b->data[i] == 0x7F)
			b->data[i] = ' ';
}

enum cs_kind { CS_LENIENT, CS_UTF8, CS_CP1252, CS_ICONV };

/* Labels iconv does not know, or knows as a narrower charset than mail means. */
static const struct {
	const char *label;
	enum cs_kind kind;
	const char *iconv_name;
} cs_aliases[] = {
    {"utf-8", CS_UTF8, NULL},
    {"utf8", CS_UTF8, NULL},
    {"us-ascii", CS_LENIENT, NULL},
    {"ascii", CS_LENIENT, NULL},
    {"ansi_x3.4-1968", CS_LENIENT, NULL},
    {"unknown-8bit", CS_LENIENT, NULL},
    {"x-unknown", CS_LENIENT, NULL},
    {"unknown", CS_LENIENT, NULL},
    {"default", CS_LENIENT, NULL},
    {"iso-8859-1", CS_CP1252, NULL},
    {"iso8859-1", CS_CP1252, NULL},
    {"iso_8859-1", CS_CP1252, NULL},
    {"latin1", CS_CP1252, NULL},
    {"l1", CS_CP1252, NULL},
    {"windows-1252", CS_CP1252, NULL},
    {"cp1252", CS_CP1252, NULL},
    {"x-cp1252", CS_CP1252, NULL},
    {"ks_c_5601-1987", CS_ICONV, "CP949"},
    {"ks_c_5601", CS_ICONV, "CP949"},
    {"euc-kr", CS_ICONV, "CP949"},
    {"gb2312", CS_ICONV, "GB18030"},
    {"gbk", CS_ICONV, "GB18030"},
    {"x-gbk", CS_ICONV, "GB18030"},
    {"cp936", CS_ICONV, "GB18030"},
    {"euc-cn", CS_ICONV, "GB18030"},
    {"iso-8859-8-i", CS_ICONV, "ISO-8859-8"},
    {"iso-8859-6-i", CS_ICONV, "ISO-8859-6"},
    {"x-mac-roman", CS_ICONV, "MACINTOSH"},
    {"windows-874", CS_ICONV, "CP874"},
    {"tis-620", CS_ICONV, "CP874"},
    {"shift_jis", CS_ICONV, "CP932"},
    {"sjis", CS_ICONV, "CP932"},
    {"x-sjis", CS_ICONV, "CP932"},
    {"big5", CS_ICONV, "BIG5-HKSCS"},
    {"unicode-1-1-utf-7", CS_ICONV, "UTF-7"},
};

static bool cs_name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c != 0 && strchr("-_.:+", c) != NULL);
}

/* Lower-cased label without quotes, blanks or RFC 2231 language ("utf-8*en").
 * Returns false for an empty or implausible name (which iconv must not see). */
static bool cs_norm(const char *cs, size_t n, char out[CS_NAME_MAX])
{
	size_t o = 0;

	while (n > 0 && (is_wsp((unsigned char)cs[n - 1]) || cs[n - 1] == '"'))
		n--;
	while (n > 0 && (is_wsp((unsigned char)*cs) || *cs == '"')) {
		cs++;
		n--;
	}
	for (size_t i = 0; i < n && cs[i] != '*'; i++) {
		unsigned char c = (unsigned char)cs[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (!cs_name_char(c) || o + 1 >= CS_NAME_MAX)
			return false;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return o > 0;
}

static enum cs_kind cs_classify(const char *norm, const char **iconv_name)
{
	*iconv_name = norm;
	for (size_t i = 0; i < sizeof(cs_aliases) / sizeof(cs_aliases[0]); i++) {
		if (strcmp(norm, cs_aliases[i].label) == 0) {
			if (cs_aliases[i].iconv_name)
				*iconv_name = cs_aliases[i].iconv_name;
			return cs_aliases[i].kind;
		}
	}
	return CS_ICONV;
}

/*
 * The descriptor cache: a descriptor is taken out while in use and put back
 * afterwards, so threads never share one. Entries stay in order of last
 * use; a full cache closes the oldest.
 */
static struct {
	pthread_mutex_t lock;
	bool at_exit;
	size_t n;
	struct {
		char name[CS_NAME_MAX];
		iconv_t cd;
	} e[CD_CACHE_SIZE];
} cd_cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void cd_cache_close(void)
{
	pthread_mutex_lock(&cd_cache.lock);
	for (size_t i = 0; i < cd_cache.n; i++)
		iconv_close(cd_cache.e[i].cd);
	cd_cache.n = 0;
	pthread_mutex_unlock(&cd_cache.lock);
}

static iconv_t cd_take(const char *name)
{
	iconv_t cd = (iconv_t)-1;

	pthread_mutex_lock(&cd_cache.lock);
	for (size_t i = 0; i < cd_cache.n; i++) {
		if (strcmp(cd_cache.e[i].name, name) == 0) {
			cd = cd_cache.e[i].cd;
			cd_cache.n--;
			memmove(&cd_cache.e[i], &cd_cache.e[i + 1],
			        sizeof(cd_cache.e[0]) * (cd_cache.n - i));
			break;
		}
	}
	pthread_mutex_unlock(&cd_cache.lock);
	if (cd != (iconv_t)-1) {
		iconv(cd, NULL, NULL, NULL, NULL); /* back to the initial shift state */
		return cd;
	}
	return iconv_open("UTF-8", name);
}

static void cd_give_back(const char *name, iconv_t cd)
{
	iconv_t old = (iconv_t)-1;

	pthread_mutex_lock(&cd_cache.lock);
	if (!cd_cache.at_exit) {
		atexit(cd_cache_close);
		cd_cache.at_exit = true;
	}
	/* Full: the oldest goes (closing the last user of a gconv module unloads it). */
	if (cd_cache.n == CD_CACHE_SIZE) {
		old = cd_cache.e[0].cd;
		memmove(&cd_cache.e[0], &cd_cache.e[1], sizeof(cd_cache.e[0]) * --cd_cache.n);
	}
	strcpy(cd_cache.e[cd_cache.n].name, name);
	cd_cache.e[cd_cache.n++].cd = cd;
	pthread_mutex_unlock(&cd_cache.lock);
	if (old != (iconv_t)-1)
		iconv_close(old);
}

/* iconv output is checked too: glibc lets some invalid UTF-8 through
 * (and NUL, which a C string cannot hold, becomes U+FFFD). */
static void iconv_append(struct buf *b, iconv_t cd, const char *s, size_t n)
{
	char tmp[4096];
	char *in = (char *)s, *o;
	size_t inleft = n, oleft, r;

	while (inleft > 0) {
		o = tmp;
		oleft = sizeof(tmp);
		r = iconv(cd, &in, &inleft, &o, &oleft);
		utf8_append_with(b, tmp, (size_t)(o - tmp), false);
		if (r != (size_t)-1)
			continue;
		if (errno == E2BIG) {
			if (o == tmp)
				return; /* no progress: give up rather than spin */
			continue;
		}
		utf8_put(b, REPLACEMENT);
		if (errno != EILSEQ)
			return; /* EINVAL: a sequence cut short by the end */
		in++;
		inleft--;
	}
	/* Stateful charsets (ISO-2022-JP) may owe a final reset sequence. */
	o = tmp;
	oleft = sizeof(tmp);
	iconv(cd, NULL, NULL, &o, &oleft);
	utf8_append_with(b, tmp, (size_t)(o - tmp), false);
}

/* A charset iconv cannot open: ASCII is kept, anything else is U+FFFD. */
static void unknown_append(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c > 0 && c < 0x80)
			buf_putc(b, (char)c);
		else
			utf8_put(b, REPLACEMENT);
	}
}

static bool cs_iconv_append(struct buf *b, const char *name, const char *s, size_t n)
{
	iconv_t cd = cd_take(name);

	if (cd == (iconv_t)-1)
		return false;
	if (b)
		iconv_append(b, cd, s, n);
	cd_give_back(name, cd);
	return true;
}

bool charset_known(const char *charset, size_t cslen)
{
	char norm[CS_NAME_MAX];
	const char *name;

	if (!cs_norm(charset, cslen, norm))
		return false;
	if (cs_classify(norm, &name) != CS_ICONV)
		return true;
	return cs_iconv_append(NULL, name, NULL, 0);
}

void charset_append(struct buf *b, const char *charset, size_t cslen, const char *s, size_t n)
{
	char norm[CS_NAME_MAX];
	const char *name;

	if (n == 0)
		return; /* s may be NULL then */
	if (charset == NULL || cslen == 0) {
		text_append_lenient(b, s, n);
		return;
	}
	if (!cs_norm(charset, cslen, norm)) {
		unknown_append(b, s, n);
		return;
	}
	switch (cs_classify(norm, &name)) {
	case CS_LENIENT:
		text_append_lenient(b, s, n);
		break;
	case CS_UTF8:
		utf8_append_with(b, s, n, false);
		break;
	case CS_CP1252:
		cp1252_append(b, s, n);
		break;
	case CS_ICONV:
		if (!cs_iconv_append(b, name, s, n))
			unknown_append(b, s, n);
		break;
	}
}

char *charset_to_utf8(const char *charset, const char *s, size_t len, size_t *outlen)
{
	struct buf b;

	buf_init(&b, MSG_BUF_MAX);
	charset_append(&b, charset, charset ? strlen(charset) : 0, s, len);
	return buf_steal(&b, outlen);
}
