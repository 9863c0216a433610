/*
 * Unit tests for LIST's pattern matcher (imapd/list-match.h): "*" and "%",
 * INBOX in any case, and a pattern that would make a backtracking matcher
 * take exponential time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "imapd/list-match.h"

static const struct {
	const char *pat, *name;
	bool match;
} cases[] = {
    {"*", "a/b/c", true},
    {"%", "a", true},
    {"%", "a/b", false},
    {"a/%", "a/b", true},
    {"a/%", "a/b/c", false},
    {"a/*", "a/b/c", true},
    {"%/%", "a/b", true},
    {"%/c", "a/b/c", false},
    {"*c", "a/b/c", true},
    {"*/b/*", "a/b/c", true},
    {"a%c", "abc", true},
    {"a%c", "a/c", false},
    {"", "", true},
    {"", "a", false},
    {"abc", "abc", true},
    {"abc", "abd", false},
    {"ab", "abc", false},
    {"abc", "ab", false},
    {"**", "", true},
    {"%%x", "yx", true},
    {"inbox", "INBOX", true},
    {"InBoX*", "INBOX", true},
    {"inbox/%", "INBOX/x", false}, /* only INBOX itself ignores case */
    {"INBOX/%", "INBOX/x", true},
};

static void list_patterns_match_as_rfc3501_says(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = list_match(cases[i].pat, cases[i].name);

		if (got != cases[i].match)
			fail_msg("%s vs %s: %d, expected %d", cases[i].pat, cases[i].name, got,
			         cases[i].match);
	}
}

static void many_stars_cost_linear_time(void **state)
{
	char pat[256] = "", name[201];
	struct timespec a, b;
	double ms;

	(void)state;
	/* 40 "*a" then "b": a backtracking matcher tries ~C(200, 40) splits. */
	for (int i = 0; i < 40; i++)
		strcat(pat, "*a");
	strcat(pat, "b");
	memset(name, 'a', 200);
	name[200] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_false(list_match(pat, name));
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	if (ms > 100)
		fail_msg("took %.1f ms", ms);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(list_patterns_match_as_rfc3501_says),
	    cmocka_unit_test(many_stars_cost_linear_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
