/*
 * Unit tests for sequence sets (imapd/seqset.h): what clients send, ranges
 * both ways, "*", merging, and what is not a sequence set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "imapd/seqset.h"

static const struct {
	const char *in;
	uint32_t star;
	const char *has, *hasnt; /* comma-separated numbers */
	size_t ranges;
} good[] = {
    {"1:*", 5, "1,3,5", "0,6", 1},
    {"*", 9, "9", "8,10", 1},
    {"7:5", 10, "5,6,7", "4,8", 1},
    {"2,4:6,9", 10, "2,4,5,6,9", "1,3,7,8,10", 3},
    {"1:3,2:5,6", 10, "1,5,6", "7", 1}, /* overlapping and touching merge */
    {"*:4", 3, "3,4", "2,5", 1},        /* "*" below the other end */
    {"4294967295", 1, "4294967295", "1", 1},
};

static const char *const bad[] = {"",   "0",  "1:0", ",1",         "1,",   "1,,2", "a",
                                  "1:", ":1", "1 2", "4294967296", "1:*x", "01x"};

static void numbers(const char *list, uint32_t *v, size_t *n)
{
	*n = 0;
	while (*list) {
		v[(*n)++] = (uint32_t)strtoul(list, (char **)&list, 10);
		if (*list == ',')
			list++;
	}
}

static void sets_clients_send(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct seqset s;
		uint32_t v[16];
		size_t n;

		if (seqset_parse(good[i].in, strlen(good[i].in), good[i].star, &s) != 0)
			fail_msg("'%s' was refused", good[i].in);
		assert_int_equal(s.n, good[i].ranges);
		numbers(good[i].has, v, &n);
		for (size_t k = 0; k < n; k++)
			if (!seqset_has(&s, v[k]))
				fail_msg("'%s' lacks %u", good[i].in, v[k]);
		numbers(good[i].hasnt, v, &n);
		for (size_t k = 0; k < n; k++)
			if (seqset_has(&s, v[k]))
				fail_msg("'%s' has %u", good[i].in, v[k]);
		seqset_free(&s);
	}
}

static void what_is_not_a_sequence_set(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct seqset s;

		if (seqset_parse(bad[i], strlen(bad[i]), 10, &s) == 0)
			fail_msg("'%s' was taken", bad[i]);
		assert_null(s.r);
	}
}

static void max_of_a_set(void **state)
{
	struct seqset s;

	(void)state;
	assert_int_equal(seqset_parse("3,9:7", 5, 100, &s), 0);
	assert_int_equal(seqset_max(&s), 9);
	seqset_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(sets_clients_send),
	    cmocka_unit_test(what_is_not_a_sequence_set),
	    cmocka_unit_test(max_of_a_set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
