/* Invariants shared by the fuzz targets: a broken one aborts the run. */
#ifndef CORRAL_FUZZ_CHECK_H
#define CORRAL_FUZZ_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* An independent UTF-8 check: no overlongs, surrogates or > U+10FFFF. */
static inline bool fuzz_utf8_ok(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len;

		if (u[i] < 0x80) {
			i++;
			continue;
		}
		if ((u[i] & 0xE0) == 0xC0)
			len = 2, cp = u[i] & 0x1F;
		else if ((u[i] & 0xF0) == 0xE0)
			len = 3, cp = u[i] & 0x0F;
		else if ((u[i] & 0xF8) == 0xF0)
			len = 4, cp = u[i] & 0x07;
		else
			return false;
		if (i + len > n)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((u[i + k] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (u[i + k] & 0x3F);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += len;
	}
	return true;
}

/* A decoded C string must be valid UTF-8; NULL is allowed. */
static inline void fuzz_check_str(const char *s)
{
	if (s && !fuzz_utf8_ok(s, strlen(s)))
		abort();
}

#endif
