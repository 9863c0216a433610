/*
 * Base64 (base64.h).
 */
#include "util/base64.h"

/* Base64 digit values, -1 for other bytes: one lookup per byte on the hot path. */
static const signed char b64_table[256] = {
#define B64_ROW16 -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1
    B64_ROW16, B64_ROW16, -1,        -1,        -1,        -1,        -1, -1, -1,        -1,
    -1,        -1,        -1,        62,        -1,        -1,        -1, 63, 52,        53,
    54,        55,        56,        57,        58,        59,        60, 61, -1,        -1,
    -1,        -1,        -1,        -1,        -1,        0,         1,  2,  3,         4,
    5,         6,         7,         8,         9,         10,        11, 12, 13,        14,
    15,        16,        17,        18,        19,        20,        21, 22, 23,        24,
    25,        -1,        -1,        -1,        -1,        -1,        -1, 26, 27,        28,
    29,        30,        31,        32,        33,        34,        35, 36, 37,        38,
    39,        40,        41,        42,        43,        44,        45, 46, 47,        48,
    49,        50,        51,        -1,        -1,        -1,        -1, -1, B64_ROW16, B64_ROW16,
    B64_ROW16, B64_ROW16, B64_ROW16, B64_ROW16, B64_ROW16, B64_ROW16,
#undef B64_ROW16
};

static int b64_val(unsigned char c)
{
	return b64_table[c];
}

size_t b64_decode(const char *in, size_t n, char *out, size_t max, bool strict)
{
	unsigned int acc = 0, bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n && o < max; i++) {
		unsigned char c = (unsigned char)in[i];
		int v = b64_val(c);

		if (v >= 0) {
			acc = (acc << 6 | (unsigned int)v) & 0xFFFFFF;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				out[o++] = (char)(acc >> bits & 0xFF);
			}
		} else if (c == '=') {
			/* Padding ends a quantum; concatenated chunks decode on. */
			acc = 0;
			bits = 0;
		} else if (strict && c != ' ' && c != '\t' && c != '\r' && c != '\n') {
			return (size_t)-1;
		}
	}
	return o;
}

size_t b64_encode(const void *in, size_t n, char *out)
{
	static const char digits[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = in;
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		unsigned int v = (unsigned int)p[i] << 16;

		if (i + 1 < n)
			v |= (unsigned int)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		out[o++] = digits[v >> 18 & 63];
		out[o++] = digits[v >> 12 & 63];
		out[o++] = i + 1 < n ? digits[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? digits[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}
