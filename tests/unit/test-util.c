/* Unit tests for src/util: capped buffers, globs, units, paths, argv, results, base64. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sysexits.h>

#include "util/base64.h"
#include "util/passwd.h"
#include "util/buf.h"
#include "util/result.h"
#include "util/diag.h"
#include "util/str.h"

static void buf_append_past_cap_fails_and_keeps_content(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_puts(&b, "12345"), 0);
	assert_int_equal(buf_puts(&b, "6789"), -1);
	assert_string_equal(buf_cstr(&b), "12345");
	assert_int_equal(buf_puts(&b, "678"), 0);
	assert_int_equal(b.len, 8);
	buf_free(&b);
}

static void buf_printf_longer_than_scratch(void **state)
{
	struct buf b;
	char big[600];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_init(&b, 4096);
	assert_int_equal(buf_printf(&b, "<%s>", big), 0);
	assert_int_equal(b.len, 601);
	buf_free(&b);
}

static const struct {
	const char *pat, *s;
	bool match;
} glob_cases[] = {
    {"*@example.com", "Boss@EXAMPLE.com", true},
    {"*@example.com", "boss@example.com.evil", false},
    {"a?c", "abc", true},
    {"a?c", "ac", false},
    {"*", "", true},
    {"", "", true},
    {"", "x", false},
    {"*a*b*", "xxaxxbxx", true},
    {"*a*b*", "xxbxxaxx", false},
    {"\\*x", "*x", true},
    {"\\*x", "ax", false},
    {"news*", "newsletter", true},
};

static void glob_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(glob_cases) / sizeof(glob_cases[0]); i++) {
		const char *s = glob_cases[i].s;

		if (glob_match(glob_cases[i].pat, s, strlen(s)) != glob_cases[i].match)
			fail_msg("glob '%s' vs '%s': expected %d", glob_cases[i].pat, s,
			         glob_cases[i].match);
	}
}

static void duration_and_size_units(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(parse_duration("5m", &v), 0);
	assert_int_equal(v, 300);
	assert_int_equal(parse_duration("30", &v), 0);
	assert_int_equal(v, 30);
	assert_int_equal(parse_duration("2h", &v), 0);
	assert_int_equal(v, 7200);
	assert_int_equal(parse_duration("30d", &v), 0);
	assert_int_equal(v, 30 * 86400);
	assert_int_equal(parse_duration("5x", &v), -1);
	assert_int_equal(parse_duration("", &v), -1);
	assert_int_equal(parse_duration("-5s", &v), -1);
	assert_int_equal(parse_size("5M", &v), 0);
	assert_int_equal(v, 5 * 1024 * 1024);
	assert_int_equal(parse_size("10k", &v), 0);
	assert_int_equal(v, 10240);
	assert_int_equal(parse_size("1000", &v), 0);
	assert_int_equal(v, 1000);
	assert_int_equal(parse_size("99999999999999999999", &v), -1);
	assert_int_equal(parse_size("5 MB", &v), 0);
	assert_int_equal(v, 5 * 1024 * 1024);
}

static void path_expansion(void **state)
{
	const char *err = NULL;
	char *p;

	(void)state;
	setenv("HOME", "/home/u", 1);
	setenv("CORRAL_T", "x y", 1);
	unsetenv("CORRAL_UNSET");
	p = path_expand("~/Maildir", "/etc", &err);
	assert_string_equal(p, "/home/u/Maildir");
	free(p);
	p = path_expand("${CORRAL_T}/m", NULL, &err);
	assert_string_equal(p, "x y/m");
	free(p);
	p = path_expand("rules.yml", "/cfg", &err);
	assert_string_equal(p, "/cfg/rules.yml");
	free(p);
	p = path_expand("a$/b", NULL, &err);
	assert_string_equal(p, "a$/b");
	free(p);
	assert_null(path_expand("$CORRAL_UNSET/x", NULL, &err));
	assert_non_null(err);
}

static void argv_split_quotes_without_shell(void **state)
{
	char **argv;

	(void)state;
	assert_int_equal(argv_split("pass show 'mail/my work' \"a\\\"b\" c\\ d $HOME", &argv), 6);
	assert_string_equal(argv[0], "pass");
	assert_string_equal(argv[2], "mail/my work");
	assert_string_equal(argv[3], "a\"b");
	assert_string_equal(argv[4], "c d");
	assert_string_equal(argv[5], "$HOME");
	assert_null(argv[6]);
	argv_free(argv);
	assert_int_equal(argv_split("echo 'unterminated", &argv), -1);
}

static void argv_join_is_the_inverse_of_split(void **state)
{
	char *const words[] = {"notify", "a b", "say \"hi\"", "back\\slash", "", "x=1", NULL};
	char **back;
	char *line;

	(void)state;
	line = argv_join(words);
	assert_int_equal(argv_split(line, &back), 6);
	for (int i = 0; i < 6; i++)
		assert_string_equal(back[i], words[i]);
	argv_free(back);
	free(line);
}

/* The one mapping from result kinds to sysexits, and which kinds pass by themselves. */
static void result_kinds_map_to_sysexits(void **state)
{
	static const struct {
		enum res_kind kind;
		int exit_code;
		bool temporary;
	} cases[] = {
	    {RES_OK, 0, false},
	    {RES_TEMP, EX_TEMPFAIL, true},
	    {RES_BUSY, EX_TEMPFAIL, true},
	    {RES_UNREACHABLE, EX_UNAVAILABLE, true},
	    {RES_AUTH, EX_NOPERM, false},
	    {RES_PERM, EX_NOPERM, false},
	    {RES_CONFIG, EX_CONFIG, false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(res_exit_code(cases[i].kind), cases[i].exit_code);
		assert_int_equal(res_temporary(cases[i].kind), cases[i].temporary);
		assert_string_not_equal(res_kind_name(cases[i].kind), "?");
	}
	/* A run's outcome: what needs the user wins over what passes. */
	assert_int_equal(res_worse(RES_UNREACHABLE, RES_TEMP), RES_TEMP);
	assert_int_equal(res_worse(RES_TEMP, RES_AUTH), RES_AUTH);
	assert_int_equal(res_worse(RES_CONFIG, RES_TEMP), RES_CONFIG);
	assert_int_equal(res_worse(RES_OK, RES_UNREACHABLE), RES_UNREACHABLE);
}

static void result_fail_keeps_texts_apart_and_sanitised(void **state)
{
	struct result r;

	(void)state;
	res_clear(&r);
	assert_int_equal(res_fail(&r, RES_SCOPE_ACCOUNT, RES_AUTH, "NO bad\r\n\x01pass",
	                          "%s: login refused", "imap://h"),
	                 -1);
	assert_int_equal(r.kind, RES_AUTH);
	assert_int_equal(r.scope, RES_SCOPE_ACCOUNT);
	assert_string_equal(r.text, "imap://h: login refused");
	assert_string_equal(r.server, "NO bad?pass");
}

static void base64_strict_and_lenient(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(b64_decode("aGVs bG8=", 9, out, sizeof(out), true), 5);
	assert_memory_equal(out, "hello", 5);
	assert_int_equal(b64_decode("aGVs*bG8", 8, out, sizeof(out), true), (size_t)-1);
	assert_int_equal(b64_decode("aGVs*bG8", 8, out, sizeof(out), false), 5);
	/* RFC 4648 section 10 */
	static const char *const vec[][2] = {{"", ""},
	                                     {"f", "Zg=="},
	                                     {"fo", "Zm8="},
	                                     {"foo", "Zm9v"},
	                                     {"foob", "Zm9vYg=="},
	                                     {"fooba", "Zm9vYmE="},
	                                     {"foobar", "Zm9vYmFy"}};
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		char enc[16];

		assert_int_equal(b64_encode(vec[i][0], strlen(vec[i][0]), enc), strlen(vec[i][1]));
		assert_string_equal(enc, vec[i][1]);
	}
}

static void passwords_check_against_crypt_hashes(void **state)
{
	/* made by Python's crypt.crypt('secret', '$6$saltsalt$') */
	static const char known[] = "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aD"
	                            "ehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1";
	char err[256], *h;

	(void)state;
	assert_true(passwd_check("secret", known, err, sizeof(err)));
	assert_false(passwd_check("Secret", known, err, sizeof(err)));
	assert_false(passwd_check("secret", "secret", err, sizeof(err)));
	assert_false(passwd_check("secret", "$6$saltsalt$short", err, sizeof(err)));
	h = passwd_hash("correct horse", err, sizeof(err));
	assert_non_null(h);
	assert_memory_equal(h, "$6$", 3);
	assert_true(passwd_check("correct horse", h, err, sizeof(err)));
	assert_false(passwd_check("correct horse ", h, err, sizeof(err)));
	free(h);
}

static void diag_formats_positions(void **state)
{
	struct diag d;

	(void)state;
	diag_init(&d);
	diag_add(&d, "c.yml", 12, 5, "accounts.work.port: expected %s", "a number");
	diag_add(&d, "c.yml", 0, 0, "cannot open");
	assert_string_equal(d.msgs[0], "c.yml:12:5: accounts.work.port: expected a number");
	assert_string_equal(d.msgs[1], "c.yml: cannot open");
	diag_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(buf_append_past_cap_fails_and_keeps_content),
	    cmocka_unit_test(buf_printf_longer_than_scratch),
	    cmocka_unit_test(glob_table),
	    cmocka_unit_test(duration_and_size_units),
	    cmocka_unit_test(path_expansion),
	    cmocka_unit_test(argv_split_quotes_without_shell),
	    cmocka_unit_test(argv_join_is_the_inverse_of_split),
	    cmocka_unit_test(diag_formats_positions),
	    cmocka_unit_test(passwords_check_against_crypt_hashes),
	    cmocka_unit_test(result_kinds_map_to_sysexits),
	    cmocka_unit_test(result_fail_keeps_texts_apart_and_sanitised),
	    cmocka_unit_test(base64_strict_and_lenient),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
