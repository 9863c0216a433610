#include "mail/mutf7.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "util/buf.h"
#include "util/log.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int b64_value(unsigned char c)
{
	const char *p = c != '\0' ? strchr(b64, c) : NULL;

	return p != NULL ? (int)(p - b64) : -1;
}

/* One UTF-8 sequence at s (valid, no overlong, no surrogate); its length, 0 when invalid. */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
	size_t len;
	uint32_t min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xE0) == 0xC0)
		len = 2, *cp = s[0] & 0x1F, min = 0x80;
	else if ((s[0] & 0xF0) == 0xE0)
		len = 3, *cp = s[0] & 0x0F, min = 0x800;
	else if ((s[0] & 0xF8) == 0xF0)
		len = 4, *cp = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		*cp = *cp << 6 | (s[i] & 0x3F);
	}
	if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF))
		return 0;
	return len;
}

static void put_utf8(struct buf *out, uint32_t cp)
{
	char c[4];
	size_t n;

	if (cp < 0x80)
		c[0] = (char)cp, n = 1;
	else if (cp < 0x800)
		c[0] = (char)(0xC0 | cp >> 6), c[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
	else if (cp < 0x10000)
		c[0] = (char)(0xE0 | cp >> 12), c[1] = (char)(0x80 | (cp >> 6 & 0x3F)),
		c[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
	else
		c[0] = (char)(0xF0 | cp >> 18), c[1] = (char)(0x80 | (cp >> 12 & 0x3F)),
		c[2] = (char)(0x80 | (cp >> 6 & 0x3F)), c[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
	buf_append(out, c, n);
}

/* bad: 0 refuses invalid UTF-8; else each byte that is not part of valid UTF-8 is
 * written as bad (printable ASCII). */
static char *encode(const char *utf8, char bad)
{
	const unsigned char *s = (const unsigned char *)utf8;
	struct buf out;

	buf_init(&out, 8 * strlen(utf8) + 16);
	while (*s != '\0') {
		uint32_t cp, bits = 0;
		unsigned nbits = 0;

		if (bad != 0 && (*s >= 0x80 && utf8_next(s, &cp) == 0)) {
			buf_append(&out, bad == '&' ? "&-" : &bad, bad == '&' ? 2 : 1);
			s++;
			continue;
		}
		if (*s >= 0x20 && *s < 0x7F) {
			buf_append(&out, *s == '&' ? "&-" : (const char *)s, *s == '&' ? 2 : 1);
			s++;
			continue;
		}
		buf_putc(&out, '&');
		/* A run of characters outside printable ASCII, as UTF-16 in base64. */
		while (*s != '\0' && (*s < 0x20 || *s >= 0x7F)) {
			size_t len = utf8_next(s, &cp);
			uint16_t units[2];
			size_t nu = 1;

			/* The run ends before a byte that is written as bad. */
			if (len == 0 && bad != 0 && *s >= 0x80)
				break;
			if (len == 0 || cp < 0x20 || cp == 0x7F) {
				buf_free(&out);
				return NULL;
			}
			s += len;
			if (cp >= 0x10000) {
				cp -= 0x10000;
				units[0] = (uint16_t)(0xD800 | cp >> 10);
				units[1] = (uint16_t)(0xDC00 | (cp & 0x3FF));
				nu = 2;
			} else {
				units[0] = (uint16_t)cp;
			}
			for (size_t i = 0; i < nu; i++) {
				bits = bits << 16 | units[i];
				nbits += 16;
				while (nbits >= 6) {
					nbits -= 6;
					buf_putc(&out, b64[bits >> nbits & 63]);
				}
			}
		}
		if (nbits > 0)
			buf_putc(&out, b64[bits << (6 - nbits) & 63]);
		buf_putc(&out, '-');
	}
	return buf_steal(&out, NULL);
}

char *mutf7_encode(const char *utf8)
{
	return encode(utf8, 0);
}

char *mutf7_encode_lossy(const char *utf8, char bad)
{
	return encode(utf8, bad >= 0x20 && bad < 0x7F ? bad : '_');
}

/* One "&...-" run at *p (after the "&"); appends its UTF-8. false when invalid. */
static bool decode_run(const char **p, struct buf *out)
{
	uint32_t bits = 0, high = 0;
	unsigned nbits = 0;
	size_t units = 0;
	int v;

	while ((v = b64_value((unsigned char)**p)) >= 0) {
		bits = bits << 6 | (uint32_t)v;
		nbits += 6;
		(*p)++;
		if (nbits < 16)
			continue;
		nbits -= 16;
		{
			uint32_t u = bits >> nbits & 0xFFFF;

			units++;
			if (high != 0) {
				if (u < 0xDC00 || u > 0xDFFF)
					return false;
				put_utf8(out, 0x10000 + ((high - 0xD800) << 10) + (u - 0xDC00));
				high = 0;
			} else if (u >= 0xD800 && u <= 0xDBFF) {
				high = u;
			} else if (u >= 0xDC00 && u <= 0xDFFF) {
				return false;
			} else if (u < 0x80) {
				/* printable ASCII stands for itself; controls are no names */
				return false;
			} else {
				put_utf8(out, u);
			}
		}
	}
	/* The run ends with "-"; leftover bits are padding, and must be zero. */
	if (**p != '-' || units == 0 || high != 0 || nbits >= 6 ||
	    (bits & ((1u << nbits) - 1)) != 0)
		return false;
	(*p)++;
	return true;
}

char *mutf7_decode(const char *mutf7)
{
	const char *p = mutf7;
	struct buf out;
	bool after_run = false;

	buf_init(&out, 4 * strlen(mutf7) + 16);
	while (*p != '\0') {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c >= 0x7F)
			goto bad;
		if (c != '&') {
			buf_putc(&out, (char)c);
			p++;
			after_run = false;
			continue;
		}
		p++;
		if (*p == '-') {
			buf_putc(&out, '&');
			p++;
			after_run = false;
			continue;
		}
		/* Two runs in a row would be one run written twice. */
		if (after_run || !decode_run(&p, &out))
			goto bad;
		after_run = true;
	}
	return buf_steal(&out, NULL);
bad:
	buf_free(&out);
	return NULL;
}
