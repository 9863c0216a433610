/*
 * Unit tests for what `corral init` decides without I/O: the provider
 * preset for an address (cli/init-preset.h), the texts it writes and where
 * --add-account inserts an account (cli/init-text.h), and the parsing of a
 * DNS SRV answer (net/srv.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cli/init-preset.h"
#include "cli/init-text.h"
#include "net/srv.h"

static void preset_is_chosen_by_the_whole_domain(void **state)
{
	static const struct {
		const char *email, *preset;
	} cases[] = {
	    {"jane@gmail.com", "gmail"},   {"Jane@GoogleMail.COM", "gmail"},
	    {"a@hotmail.com", "outlook"},  {"a@outlook.com", "outlook"},
	    {"a@fastmail.fm", "fastmail"}, {"a@me.com", "icloud"},
	    {"a@icloud.com.", "icloud"},   {"a@ymail.com", "yahoo"},
	    {"a@gmx.de", "gmx"},           {"a@posteo.net", "posteo"},
	    {"a@b@gmail.com", "gmail"},    {"a@mail.gmail.com.evil.org", NULL},
	    {"a@notgmail.com", NULL},      {"a@gmail.co", NULL},
	    {"gmail.com", NULL},           {"a@", NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct preset *p = preset_for_email(cases[i].email);

		if (cases[i].preset == NULL)
			assert_null(p);
		else {
			assert_non_null(p);
			assert_string_equal(p->name, cases[i].preset);
		}
	}
	assert_non_null(preset_by_name("Posteo"));
	assert_null(preset_by_name("generic"));
	assert_null(preset_by_name("icloud")->pop3_host);
	assert_non_null(preset_by_name("outlook")->oauth2);
}

static void yaml_quote_doubles_single_quotes(void **state)
{
	char *q = init_yaml_quote("it's a #test: x");

	(void)state;
	assert_string_equal(q, "'it''s a #test: x'");
	free(q);
}

static const struct init_account acct = {.name = "new",
                                         .protocol = "imap",
                                         .host = "imap.example.org",
                                         .tls = "implicit",
                                         .user = "me@example.org",
                                         .password_command = "pass show it's"};

static void account_text_quotes_what_yaml_needs(void **state)
{
	char *t = init_account_text(&acct, 4);

	(void)state;
	assert_non_null(strstr(t, "    new:\n      protocol: imap\n"));
	assert_non_null(strstr(t, "      host: imap.example.org\n"));
	assert_non_null(strstr(t, "      password_command: 'pass show it''s'\n"));
	assert_non_null(strstr(t, "      folders: [INBOX]\n"));
	free(t);
}

static const struct {
	const char *name, *text;
	size_t at; /* where the account goes: the offset of the marker "|" in text */
	int indent;
	int need_key;
} inserts[] = {
    {"accounts last", "maildir: x\naccounts:\n  a:\n    host: h\n|", 0, 2, 0},
    {"four spaces", "accounts:\n    a:\n        host: h\n|\n# later\ndedupe: 1d\n", 0, 4, 0},
    /* an indented comment after the last account may be a key commented out: it stays with it */
    {"comment inside", "accounts:\n  # one\n  a:\n    host: h\n|  # trailing\nx: 1\n", 0, 2, 0},
    {"no accounts key", "maildir: x\n|", 0, 2, 1},
    {"empty accounts", "accounts:\n|smtp:\n  host: h\n", 0, 2, 0},
};

static void insert_point_is_after_the_last_account(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(inserts) / sizeof(inserts[0]); i++) {
		char *text = strdup(inserts[i].text), *bar = strchr(text, '|'), err[128];
		size_t want = (size_t)(bar - text), at;
		int indent;
		bool need_key;

		memmove(bar, bar + 1, strlen(bar));
		assert_int_equal(init_insert_point(text, &at, &indent, &need_key, err, sizeof(err)),
		                 0);
		if (at != want || indent != inserts[i].indent || need_key != inserts[i].need_key)
			fail_msg("%s: at %zu (want %zu), indent %d, need_key %d", inserts[i].name,
			         at, want, indent, need_key);
		free(text);
	}
}

static void add_account_keeps_the_rest_byte_for_byte(void **state)
{
	const char *old = "# mine\naccounts:\n  a:\n    host: h\n\n# tail\ndedupe: 1d";
	char err[128], *out = init_add_account(old, &acct, err, sizeof(err));
	const char *tail = "\n# tail\ndedupe: 1d";

	(void)state;
	assert_non_null(out);
	assert_memory_equal(out, old, strlen("# mine\naccounts:\n  a:\n    host: h\n"));
	assert_string_equal(out + strlen(out) - strlen(tail), tail);
	assert_non_null(strstr(out, "    host: h\n  new:\n    protocol: imap\n"));
	free(out);
	out = init_add_account("maildir: x", &acct, err, sizeof(err));
	assert_non_null(strstr(out, "maildir: x\n\naccounts:\n  new:\n"));
	free(out);
	assert_null(init_add_account("accounts: {a: {host: h}}\n", &acct, err, sizeof(err)));
	assert_non_null(strstr(err, "flow style"));
}

/* A DNS answer: header, the question, then SRV records named by pointer. */
static size_t dns_answer(unsigned char *m, const unsigned char (*recs)[32], size_t n)
{
	static const unsigned char q[] = "\x06_imaps\x04_tcp\x07"
	                                 "example\x03org";
	size_t off = 12;

	memset(m, 0, 12);
	m[2] = 0x81, m[3] = 0x80, m[5] = 1, m[7] = (unsigned char)n;
	memcpy(m + off, q, sizeof(q)); /* with its final zero label */
	off += sizeof(q);
	memcpy(m + off, "\0\x21\0\x01", 4);
	off += 4;
	for (size_t i = 0; i < n; i++) {
		memcpy(m + off, "\xc0\x0c\0\x21\0\x01\0\0\0\x3c", 10);
		off += 10;
		m[off++] = 0, m[off++] = recs[i][0]; /* rdlength */
		memcpy(m + off, recs[i] + 1, recs[i][0]);
		off += recs[i][0];
	}
	return off;
}

static void srv_answer_is_parsed_and_sorted(void **state)
{
	/* rdlength, priority, weight, port, target */
	static const unsigned char recs[][32] = {
	    {6 + 12, 0, 10, 0, 5, 0x03, 0xe1, 4, 'i', 'm', 'a', 'p', 2, 'e', 'x', 2, 'o', 'r', 0},
	    {6 + 1, 0, 0, 0, 0, 0, 0, 0},
	    {6 + 12, 0, 10, 0, 9, 0x03, 0xe2, 4, 'b', 'e', 's', 't', 2, 'e', 'x', 2, 'o', 'r', 0},
	};
	unsigned char m[512];
	struct srv_rec out[4];
	char err[128];
	size_t len = dns_answer(m, recs, 3);

	(void)state;
	assert_int_equal(srv_parse(m, len, out, 4, err, sizeof(err)), 3);
	assert_string_equal(out[0].target, ".");
	assert_int_equal(out[0].priority, 0);
	assert_string_equal(out[1].target, "best.ex.or");
	assert_int_equal(out[1].port, 994);
	assert_string_equal(out[2].target, "imap.ex.or");
	assert_int_equal(out[2].port, 993);
	/* The same answer cut anywhere is refused, never read past its end. */
	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(srv_parse(m, cut, out, 4, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(preset_is_chosen_by_the_whole_domain),
	    cmocka_unit_test(yaml_quote_doubles_single_quotes),
	    cmocka_unit_test(account_text_quotes_what_yaml_needs),
	    cmocka_unit_test(insert_point_is_after_the_last_account),
	    cmocka_unit_test(add_account_keeps_the_rest_byte_for_byte),
	    cmocka_unit_test(srv_answer_is_parsed_and_sorted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
