/*
 * libFuzzer target: RFC 2047 decoding of the whole input, and charset
 * conversion of what follows the first newline from the charset named
 * before it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-check.h"
#include "mail/message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *nl = memchr(s, '\n', size);
	char *out, *cs;
	size_t n;

	out = rfc2047_decode(s, size);
	fuzz_check_str(out);
	free(out);
	if (nl == NULL || nl - s > 64)
		return 0;
	cs = strndup(s, (size_t)(nl - s));
	out = charset_to_utf8(cs, nl + 1, size - (size_t)(nl - s) - 1, &n);
	if (strlen(out) != n || !fuzz_utf8_ok(out, n))
		abort();
	free(out);
	free(cs);
	return 0;
}
