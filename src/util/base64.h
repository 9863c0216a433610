/*
 * Base64 (RFC 4648): decoding for RFC 2045 bodies, RFC 2047 encoded words and
 * SASL challenges; encoding for SASL answers.
 */
#ifndef CORRAL_UTIL_BASE64_H
#define CORRAL_UTIL_BASE64_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Decodes base64 into out[0..max): skips white space; strict rejects any
 * other byte outside the alphabet (returns (size_t)-1), lenient skips it.
 * '=' ends a quantum; missing padding is fine.
 */
size_t b64_decode(const char *in, size_t n, char *out, size_t max, bool strict);

/* Room b64_encode() needs for n bytes, with the NUL. */
#define B64_ENCODED_SIZE(n) (((n) + 2) / 3 * 4 + 1)

/* Encodes in[0..n) with padding into out (B64_ENCODED_SIZE(n) bytes, NUL
 * terminated); returns the length without the NUL. */
size_t b64_encode(const void *in, size_t n, char *out);

#endif
