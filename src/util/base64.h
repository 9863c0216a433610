/*
 * Base64 decoding (RFC 2045 bodies, RFC 2047 encoded words, SASL).
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

#endif
