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

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* A Maildir folder at <tmp>/<sub> with one message in cur/ named
 * base + ":2,", body "a\nb\n"; returns the folder's directory. */
static char *one_message_folder(const char *sub, const char *base)
{
	char tmpl[] = "/tmp/test-imapd-view.XXXXXX", path[512];
	char *dir;
	FILE *f;

	assert_non_null(mkdtemp(tmpl));
	snprintf(path, sizeof(path), "%s/%s", tmpl, sub);
	assert_int_equal(mkdir(path, 0700), 0);
	dir = strdup(path);
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir,
		         (const char *[]){"cur", "new", "tmp"}[i]);
		assert_int_equal(mkdir(path, 0700), 0);
	}
	snprintf(path, sizeof(path), "%s/cur/%s:2,", dir, base);
	assert_non_null(f = fopen(path, "w"));
	fputs("a\nb\n", f);
	fclose(f);
	return dir;
}

static void rm_folder(char *dir)
{
	char cmd[600];

	/* The temporary directory above the folder. */
	*strrchr(dir, '/') = '\0';
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(dir);
}

static void a_file_renamed_by_another_writer_is_read(void **state)
{
	char *dir = one_message_folder("INBOX", "1700000000.M1P1.host"), from[600], to[600],
	     err[256];
	struct view v;
	int fd;

	(void)state;
	assert_int_equal(view_open(dir, VIEW_RW, &v, err, sizeof(err)), 0);
	assert_int_equal(v.n, 1);
	/* Dovecot sets \Seen: a rename the view has not synced. */
	snprintf(from, sizeof(from), "%s/cur/1700000000.M1P1.host:2,", dir);
	snprintf(to, sizeof(to), "%s/cur/1700000000.M1P1.host:2,S", dir);
	assert_int_equal(rename(from, to), 0);
	fd = view_msg_open(&v, &v.msgs[0]);
	assert_true(fd >= 0);
	close(fd);
	assert_string_equal(v.msgs[0].flags, "S");
	assert_true(v.msgs[0].changed);
	view_close(&v);
	rm_folder(dir);
}

static void rfc822_size_comes_from_the_base_name_only(void **state)
{
	char *dir = one_message_folder("x,W=9", "1700000000.M1P1.host"), err[256];
	struct view v;
	uint64_t size;

	(void)state;
	assert_int_equal(view_open(dir, VIEW_RW, &v, err, sizeof(err)), 0);
	assert_int_equal(view_msg_name_vsize(&v.msgs[0]), 0);
	assert_int_equal(view_msg_crlf_size(&v, &v.msgs[0], &size), 0);
	assert_int_equal(size, 6); /* "a\r\nb\r\n", not the folder's 9 */
	view_close(&v);
	rm_folder(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(names_map_into_the_maildir),
	    cmocka_unit_test(no_name_leaves_the_maildir),
	    cmocka_unit_test(a_file_renamed_by_another_writer_is_read),
	    cmocka_unit_test(rfc822_size_comes_from_the_base_name_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
