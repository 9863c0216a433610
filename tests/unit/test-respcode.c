/* Unit tests for src/net/respcode.c: server response codes -> result kinds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "net/respcode.h"

static const struct {
	const char *line;
	enum res_kind dflt, want;
} cases[] = {
    /* IMAP, RFC 5530, as tagged lines and as the text after the status */
    {"A002 NO [LIMIT] Maximum number of connections from user+IP exceeded", RES_AUTH, RES_TEMP},
    {"c3 NO [UNAVAILABLE] Temporary failure", RES_CONFIG, RES_TEMP},
    {"[INUSE] Mailbox is locked", RES_CONFIG, RES_TEMP},
    {"A1 NO [SERVERBUG] Internal error", RES_CONFIG, RES_TEMP},
    {"c9 NO [EXPUNGEISSUED] Some messages were expunged", RES_CONFIG, RES_TEMP},
    {"c9 NO [CORRUPTION] Index is corrupt", RES_CONFIG, RES_TEMP},
    {"A002 NO [AUTHENTICATIONFAILED] Authentication failed.", RES_TEMP, RES_AUTH},
    {"A002 NO [AUTHORIZATIONFAILED] No such authorization-ID", RES_TEMP, RES_AUTH},
    {"A002 NO [EXPIRED] That password is expired", RES_TEMP, RES_AUTH},
    {"A002 NO [CONTACTADMIN] Call the helpdesk", RES_TEMP, RES_AUTH},
    {"A002 NO [PRIVACYREQUIRED] Use TLS", RES_TEMP, RES_CONFIG},
    {"c4 NO [NONEXISTENT] Mailbox doesn't exist: Receipts", RES_TEMP, RES_CONFIG},
    {"c4 NO [NOPERM] Permission denied", RES_TEMP, RES_PERM},
    {"c4 NO [CANNOT] Never", RES_TEMP, RES_PERM},
    {"c4 BAD [CLIENTBUG] Bad syntax", RES_TEMP, RES_PERM},
    /* POP3, RFC 2449 and RFC 3206 */
    {"-ERR [IN-USE] Mailbox in use", RES_AUTH, RES_TEMP},
    {"-ERR [LOGIN-DELAY] Wait five minutes", RES_AUTH, RES_TEMP},
    {"-ERR [SYS/TEMP] Disk full", RES_AUTH, RES_TEMP},
    {"-ERR [SYS/PERM] Your account is gone", RES_AUTH, RES_PERM},
    {"-ERR [AUTH] Bad login", RES_TEMP, RES_AUTH},
    {"-err [in-use] lower case", RES_AUTH, RES_TEMP},
    /* No code, or one the table does not know: the caller's default */
    {"A002 NO Authentication failed", RES_AUTH, RES_AUTH},
    {"-ERR Bad login", RES_AUTH, RES_AUTH},
    {"c4 NO [TRYCREATE] No such mailbox", RES_CONFIG, RES_CONFIG},
    {"c4 NO Mailbox [Receipts] does not exist", RES_CONFIG, RES_CONFIG},
    {"", RES_TEMP, RES_TEMP},
    {NULL, RES_TEMP, RES_TEMP},
    {"-ERR [", RES_AUTH, RES_AUTH},
};

static void every_code_maps_to_its_kind(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum res_kind got = resp_code_kind(cases[i].line, cases[i].dflt);

		if (got != cases[i].want)
			fail_msg("\"%s\": got %s, want %s",
			         cases[i].line ? cases[i].line : "(null)", res_kind_name(got),
			         res_kind_name(cases[i].want));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_code_maps_to_its_kind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
