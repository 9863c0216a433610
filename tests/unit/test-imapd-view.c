/*
 * Unit tests for the IMAP server's folder names (imapd/view.h): names a
 * client may use map into the Maildir as Dovecot's Maildir++ does, and no
 * name reaches outside it: "..", "/", "~", wildcards, absolute paths, odd
 * modified UTF-7, names that would decode to "..".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "imapd/view.h"

static const struct {
	const char *name, *dir;
} good[] = {
    {"INBOX", "/m"},
    {"inbox", "/m"},
    {"Work", "/m/.Work"},
    {"Work/2024", "/m/.Work.2024"},
    {"Entw&APw-rfe", "/m/.Entw&APw-rfe"},
    {"A &- B", "/m/.A &- B"},
    {"Work/~draft", "/m/.Work.~draft"}, /* a tilde is only a character after the start */
};

static const char *const refused[] = {
    "..",    "../etc",   "/etc/passwd", "Work/",     "Work//x",     "",     "a.b", ".hidden",
    "&AC8-", "&AC4ALg-", "Entw&APw",    "x/../../y", "caf\xc3\xa9", "a\tb", "&-&", "&2D0-",
    "%",     "*",        "Work/*",      "~peter", /* a home directory to shells and to other
                                                     servers: refused, as Dovecot does */
};

static void names_map_into_the_maildir(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char *d = view_folder_dir("/m", good[i].name);

		if (d == NULL || strcmp(d, good[i].dir) != 0)
			fail_msg("'%s' -> '%s', expected '%s'", good[i].name, d ? d : "(refused)",
			         good[i].dir);
		free(d);
	}
}

static void no_name_leaves_the_maildir(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		char *d = view_folder_dir("/m", refused[i]);

		if (d != NULL)
			fail_msg("'%s' was taken as '%s'", refused[i], d);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(names_map_into_the_maildir),
	    cmocka_unit_test(no_name_leaves_the_maildir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
