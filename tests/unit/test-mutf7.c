/*
 * Unit tests for modified UTF-7 (mail/mutf7.h): RFC 3501's examples, the
 * folder names Dovecot writes, a round trip over awkward characters, and
 * the spellings a strict decoder refuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "mail/mutf7.h"

static const struct {
	const char *utf8, *mutf7;
} pairs[] = {
    {"INBOX", "INBOX"},
    {"", ""},
    {"Entw\xc3\xbcrfe", "Entw&APw-rfe"},
    {"A & B", "A &- B"},
    {"~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
     "~peter/mail/&U,BTFw-/&ZeVnLIqe-"}, /* RFC 3501 5.1.3 */
    {"\xe2\x98\xba!", "&Jjo-!"},
    {"Gesendete Objekte", "Gesendete Objekte"},
    {"\xf0\x9f\x93\xa7 Mail", "&2D3c5w- Mail"}, /* outside the BMP: a surrogate pair */
    {"\xc3\xa9\xc3\xa8", "&AOkA6A-"},
};

static void encodes_and_decodes_both_ways(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		char *e = mutf7_encode(pairs[i].utf8), *d = mutf7_decode(pairs[i].mutf7);

		assert_non_null(e);
		assert_non_null(d);
		assert_string_equal(e, pairs[i].mutf7);
		assert_string_equal(d, pairs[i].utf8);
		free(e);
		free(d);
	}
}

static const char *const not_mutf7[] = {
    "&Jjo!",          /* no closing "-" */
    "&AGE-",          /* "a" encoded: printable ASCII stands for itself */
    "&Jjo-&Jjo-",     /* two runs in a row: one run written twice */
    "&-&",            /* "&" at the end */
    "&2D0-",          /* a high surrogate alone */
    "&3-c-",          /* garbage */
    "&Jjp-",          /* padding bits not zero */
    "caf\xc3\xa9",    /* raw 8-bit */
    "&AOk",           /* unterminated */
    "a\tb",           /* a control character */
    "~pZV&eIqAAAAe-", /* a control encoded (found by fuzz-mutf7) */
};

static void refuses_other_spellings(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(not_mutf7) / sizeof(not_mutf7[0]); i++) {
		char *d = mutf7_decode(not_mutf7[i]);

		if (d != NULL)
			fail_msg("'%s' was decoded to '%s'", not_mutf7[i], d);
	}
}

static void refuses_broken_utf8(void **state)
{
	(void)state;
	assert_null(mutf7_encode("\xc3"));         /* truncated */
	assert_null(mutf7_encode("\xc0\xaf"));     /* overlong "/" */
	assert_null(mutf7_encode("\xed\xa0\x80")); /* a surrogate */
	assert_null(mutf7_encode("a\x01"));        /* a control */
}

/* What a folder name taken from an 8-bit header becomes: each stray byte "_". */
static const struct {
	const char *in, *want;
} lossy_cases[] = {
    {"\xc3", "_"},
    {"caf\xe9", "caf_"},
    {"\xc0\xaf", "__"},
    {"\xed\xa0\x80x", "___x"},
    {"\xc3\xbc\xff\xc3\xbc", "&APw-_&APw-"},
    {"\xc3\xa9&", "&AOk-&-"},
};

static void lossy_encoding_replaces_broken_utf8(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(lossy_cases) / sizeof(lossy_cases[0]); i++) {
		char *got = mutf7_encode_lossy(lossy_cases[i].in, '_'), *back;

		if (got == NULL || strcmp(got, lossy_cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, got ? got : "(null)",
			         lossy_cases[i].want);
		back = mutf7_decode(got);
		assert_non_null(back);
		free(back);
		free(got);
	}
	assert_null(mutf7_encode_lossy("a\x01", '_'));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(encodes_and_decodes_both_ways),
	    cmocka_unit_test(refuses_other_spellings),
	    cmocka_unit_test(refuses_broken_utf8),
	    cmocka_unit_test(lossy_encoding_replaces_broken_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
