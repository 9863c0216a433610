/*
 * Unit tests for corral's own POP3 login (net/pop3-login.c) and the SASL
 * answers it sends (net/sasl.c): the RFC examples for APOP, CRAM-MD5 and
 * PLAIN, the bearer formats, what the greeting and CAPA lines say, and
 * whole logins fed with canned server answers through net_from_fds().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config/config.h"
#include "net/net.h"
#include "net/pop3-login.h"
#include "net/sasl.h"
#include "util/base64.h"
#include "util/str.h"

static const struct sasl_creds tim = {"tim", "tanstaaf", "mail.example.org", 110};

/* Decodes base64 text into a static buffer (NUL-terminated), for comparing. */
static const char *decoded(const char *b64, size_t *len)
{
	static char out[512];

	*len = b64_decode(b64, strlen(b64), out, sizeof(out) - 1, true);
	assert_true(*len != (size_t)-1);
	out[*len] = '\0';
	return out;
}

/* ---- the mechanisms ---- */

static void apop_rfc1939_example(void **state)
{
	char hex[33], err[128];

	(void)state;
	assert_int_equal(
	    apop_digest("<1896.697170952@dbc.mtview.ca.us>", "tanstaaf", hex, err, sizeof(err)), 0);
	assert_string_equal(hex, "c4c9334bac560ecc979e58001b3e22fb");
}

static void cram_md5_rfc2195_example(void **state)
{
	static const char challenge[] = "<1896.697170952@postoffice.reston.mci.net>";
	struct sasl_creds c = {"tim", "tanstaaftanstaaf", "h", 1};
	char err[128];
	char *ans;

	(void)state;
	assert_null(sasl_initial(SASL_CRAM_MD5, &c));
	ans = sasl_answer(SASL_CRAM_MD5, &c, 1, challenge, strlen(challenge), err, sizeof(err));
	assert_non_null(ans);
	assert_string_equal(ans, "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
	secret_free(ans);
	/* One challenge only. */
	assert_null(sasl_answer(SASL_CRAM_MD5, &c, 2, challenge, 3, err, sizeof(err)));
	assert_string_equal(err, "");
}

static void plain_login_and_bearers(void **state)
{
	char err[64], *s;
	size_t len;

	(void)state;
	s = sasl_initial(SASL_PLAIN, &tim);
	assert_memory_equal(decoded(s, &len), "\0tim\0tanstaaf", 13);
	assert_int_equal(len, 13);
	secret_free(s);
	assert_null(sasl_answer(SASL_PLAIN, &tim, 1, "", 0, err, sizeof(err)));

	assert_null(sasl_initial(SASL_LOGIN, &tim));
	s = sasl_answer(SASL_LOGIN, &tim, 1, "Username:", 9, err, sizeof(err));
	assert_string_equal(decoded(s, &len), "tim");
	secret_free(s);
	s = sasl_answer(SASL_LOGIN, &tim, 2, "Password:", 9, err, sizeof(err));
	assert_string_equal(decoded(s, &len), "tanstaaf");
	secret_free(s);
	assert_null(sasl_answer(SASL_LOGIN, &tim, 3, "", 0, err, sizeof(err)));

	s = sasl_initial(SASL_XOAUTH2, &tim);
	assert_string_equal(decoded(s, &len), "user=tim\001auth=Bearer tanstaaf\001\001");
	secret_free(s);
	s = sasl_answer(SASL_XOAUTH2, &tim, 1, "{}", 2, err, sizeof(err));
	assert_string_equal(s, "");
	secret_free(s);

	s = sasl_initial(SASL_OAUTHBEARER, &tim);
	assert_string_equal(decoded(s, &len),
	                    "n,a=tim,\001host=mail.example.org\001port=110\001auth=Bearer "
	                    "tanstaaf\001\001");
	secret_free(s);
	s = sasl_answer(SASL_OAUTHBEARER, &tim, 1, "{}", 2, err, sizeof(err));
	assert_string_equal(s, "AQ==");
	secret_free(s);
}

static void hello_lines(void **state)
{
	struct pop3_hello h = {0};

	(void)state;
	pop3_hello_note(&h, "+OK POP3 ready <1896.697170952@dbc.mtview.ca.us>");
	assert_string_equal(h.apop_stamp, "<1896.697170952@dbc.mtview.ca.us>");
	pop3_hello_note(&h, "SASL PLAIN cram-md5 XOAUTH2 GSSAPI");
	assert_int_equal(h.sasl, 1u << SASL_PLAIN | 1u << SASL_CRAM_MD5 | 1u << SASL_XOAUTH2);
	assert_false(h.utf8);
	pop3_hello_note(&h, "UTF8 USER");
	assert_true(h.utf8);

	memset(&h, 0, sizeof(h));
	pop3_hello_note(&h, "+OK Dovecot ready.");
	pop3_hello_note(&h, "+OK no stamp <without-at-sign>");
	pop3_hello_note(&h, "UTF8x");
	assert_string_equal(h.apop_stamp, "");
	assert_false(h.utf8);
	pop3_hello_note(&h, "utf8");
	assert_true(h.utf8);
}

/* ---- whole logins over canned answers ---- */

struct login {
	struct account acct;
	struct pop3_hello hello;
	struct net *n;
	int client;
	struct result err;
	char sent[4096];
};

static void serve(struct login *t, const char *server, const char *user, enum auth_mech auth)
{
	int rfd = memfd_create("server", 0);

	memset(t, 0, sizeof(*t));
	assert_int_equal(write(rfd, server, strlen(server)), (ssize_t)strlen(server));
	lseek(rfd, 0, SEEK_SET);
	t->client = memfd_create("client", 0);
	t->acct.protocol = PROTO_POP3;
	t->acct.host = (char *)"mail.example.org";
	t->acct.port = 110;
	t->acct.cred.user = (char *)user;
	t->acct.auth = auth;
	t->n = net_from_fds(rfd, dup(t->client), 2);
}

static int run(struct login *t, const char *secret, bool by_token)
{
	int rc = pop3_login(t->n, &t->acct, &t->hello, secret, by_token, &t->err);
	ssize_t got = pread(t->client, t->sent, sizeof(t->sent) - 1, 0);

	t->sent[got > 0 ? got : 0] = '\0';
	net_close(t->n);
	close(t->client);
	return rc;
}

static void plain_first_when_offered(void **state)
{
	struct login t;

	(void)state;
	serve(&t, "+OK Logged in.\r\n", "tim", AUTH_DEFAULT);
	t.hello.sasl = 1u << SASL_PLAIN | 1u << SASL_LOGIN;
	assert_int_equal(run(&t, "tanstaaf", false), 0);
	assert_string_equal(t.sent, "AUTH PLAIN AHRpbQB0YW5zdGFhZg==\r\n");
}

static void two_refusals_then_stop(void **state)
{
	struct login t;

	(void)state;
	serve(&t,
	      "-ERR [AUTH] Authentication failed.\r\n+ VXNlcm5hbWU6\r\n+ UGFzc3dvcmQ6\r\n"
	      "-ERR [AUTH] Authentication failed.\r\n+OK never read\r\n",
	      "tim", AUTH_DEFAULT);
	t.hello.sasl = 1u << SASL_PLAIN | 1u << SASL_LOGIN;
	assert_int_equal(run(&t, "wrong", false), -1);
	assert_int_equal(t.err.kind, RES_AUTH);
	assert_non_null(strstr(t.err.text, "login refused (tried PLAIN, LOGIN)"));
	assert_string_equal(t.err.server, "-ERR [AUTH] Authentication failed.");
	assert_string_equal(t.sent,
	                    "AUTH PLAIN AHRpbQB3cm9uZw==\r\nAUTH LOGIN\r\ndGlt\r\nd3Jvbmc=\r\n");
}

static void user_pass_last_never_apop(void **state)
{
	struct login t;

	(void)state;
	serve(&t, "+ PDEyM0BoPg==\r\n-ERR [AUTH] cannot\r\n+OK\r\n+OK Logged in\r\n", "tim",
	      AUTH_DEFAULT);
	snprintf(t.hello.apop_stamp, sizeof(t.hello.apop_stamp), "<1.2@h>");
	t.hello.sasl = 1u << SASL_CRAM_MD5;
	assert_int_equal(run(&t, "tanstaaf", false), 0);
	assert_non_null(strstr(t.sent, "AUTH CRAM-MD5\r\n"));
	assert_non_null(strstr(t.sent, "\r\nUSER tim\r\nPASS tanstaaf\r\n"));
	assert_null(strstr(t.sent, "APOP"));
}

static void in_use_is_temporary(void **state)
{
	struct login t;

	(void)state;
	serve(&t, "+OK\r\n-ERR [IN-USE] Mailbox locked by another session\r\n", "tim",
	      AUTH_DEFAULT);
	assert_int_equal(run(&t, "tanstaaf", false), -1);
	assert_int_equal(t.err.kind, RES_TEMP);
	assert_string_equal(t.sent, "USER tim\r\nPASS tanstaaf\r\n");
	assert_non_null(strstr(t.err.text, "for now"));
}

static void refusal_then_hangup_stays_a_refusal(void **state)
{
	struct login t;

	(void)state;
	serve(&t, "-ERR [AUTH] Authentication failed.\r\n", "tim", AUTH_DEFAULT);
	t.hello.sasl = 1u << SASL_PLAIN;
	assert_int_equal(run(&t, "wrong", false), -1);
	assert_int_equal(t.err.kind, RES_AUTH);
	assert_non_null(strstr(t.err.text, "(tried PLAIN)"));
}

static void utf8_before_login(void **state)
{
	struct login t;

	(void)state;
	serve(&t, "+OK UTF8 enabled\r\n+OK\r\n+OK\r\n", "tim", AUTH_USER);
	t.hello.utf8 = true;
	t.hello.sasl = 1u << SASL_PLAIN;
	assert_int_equal(run(&t, "tanstaaf", false), 0);
	assert_string_equal(t.sent, "UTF8\r\nUSER tim\r\nPASS tanstaaf\r\n");
}

static void apop_only_when_named(void **state)
{
	struct login t;

	(void)state;
	serve(&t, "+OK\r\n", "mrose", AUTH_APOP);
	snprintf(t.hello.apop_stamp, sizeof(t.hello.apop_stamp),
	         "<1896.697170952@dbc.mtview.ca.us>");
	assert_int_equal(run(&t, "tanstaaf", false), 0);
	assert_string_equal(t.sent, "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n");

	serve(&t, "+OK\r\n", "mrose", AUTH_APOP);
	assert_int_equal(run(&t, "tanstaaf", false), -1);
	assert_int_equal(t.err.kind, RES_CONFIG);
	assert_non_null(strstr(t.err.text, "offers no APOP"));
	assert_string_equal(t.sent, "");
}

static void long_token_waits_for_the_challenge(void **state)
{
	char token[400];
	struct login t;

	(void)state;
	memset(token, 'x', sizeof(token) - 1);
	token[sizeof(token) - 1] = '\0';
	serve(&t, "+ \r\n+ eyJzdGF0dXMiOiI0MDEifQ==\r\n-ERR [AUTH] expired\r\n", "tim",
	      AUTH_XOAUTH2);
	assert_int_equal(run(&t, token, true), -1);
	assert_int_equal(t.err.kind, RES_AUTH);
	assert_non_null(strstr(t.err.text, "oauth2_token_command"));
	/* AUTH alone (the line would pass 255 octets), the token after "+ ",
	 * then an empty line for the error challenge. */
	assert_memory_equal(t.sent, "AUTH XOAUTH2\r\ndXNlcj10aW0BYXV0aD1CZWFyZXIg", 42);
	assert_int_equal(strlen(t.sent) - 4, strstr(t.sent, "\r\n\r\n") - t.sent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(apop_rfc1939_example),
	    cmocka_unit_test(cram_md5_rfc2195_example),
	    cmocka_unit_test(plain_login_and_bearers),
	    cmocka_unit_test(hello_lines),
	    cmocka_unit_test(plain_first_when_offered),
	    cmocka_unit_test(two_refusals_then_stop),
	    cmocka_unit_test(user_pass_last_never_apop),
	    cmocka_unit_test(in_use_is_temporary),
	    cmocka_unit_test(refusal_then_hangup_stays_a_refusal),
	    cmocka_unit_test(utf8_before_login),
	    cmocka_unit_test(apop_only_when_named),
	    cmocka_unit_test(long_token_waits_for_the_challenge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
