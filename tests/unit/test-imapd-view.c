/*
 * Unit tests for the IMAP server's folder names (imapd/view.h): names a
 * client may use map into the Maildir as Dovecot's Maildir++ does, and no
 * name reaches outside it: "..", "/", "~", wildcards, absolute paths, odd
 * modified UTF-7, names that would decode to "..". The mod-sequences
 * (RFC 7162, view-modseq.c): kept across a close and an open, a new one
 * for a flag change by another writer seen at the next open, for one made
 * through the view, and for an expunge (recorded by UID); two views saving
 * one after the other never give one mod-sequence twice.
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

/* Opens dir read-write; v's one message's modseq. */
static uint64_t open_modseq(const char *dir, struct view *v)
{
	char err[256];

	assert_int_equal(view_open(dir, VIEW_RW, v, err, sizeof(err)), 0);
	assert_int_equal(v->n, 1);
	assert_true(v->msgs[0].modseq > 0);
	assert_true(v->msgs[0].modseq <= v->highestmodseq);
	return v->msgs[0].modseq;
}

static void modseqs_are_kept_and_grow_with_each_change(void **state)
{
	char *dir = one_message_folder("INBOX", "1700000000.M1P1.host"), from[600], to[600];
	struct view v;
	uint64_t first, high, after;

	(void)state;
	first = open_modseq(dir, &v);
	high = v.highestmodseq;
	view_close(&v);
	/* nothing changed: the same mod-sequence, the same HIGHESTMODSEQ */
	assert_int_equal(open_modseq(dir, &v), first);
	assert_int_equal(v.highestmodseq, high);
	view_close(&v);
	/* another writer (Dovecot) sets \Seen while no view is open */
	snprintf(from, sizeof(from), "%s/cur/1700000000.M1P1.host:2,", dir);
	snprintf(to, sizeof(to), "%s/cur/1700000000.M1P1.host:2,S", dir);
	assert_int_equal(rename(from, to), 0);
	after = open_modseq(dir, &v);
	assert_true(after > high);
	high = v.highestmodseq;
	/* a change through the view */
	assert_int_equal(view_msg_set_flags(&v, &v.msgs[0], "FS"), 0);
	assert_true(v.msgs[0].modseq > high);
	after = v.msgs[0].modseq;
	view_close(&v);
	assert_int_equal(open_modseq(dir, &v), after);
	view_close(&v);
	rm_folder(dir);
}

static void an_expunge_is_recorded_by_uid(void **state)
{
	char *dir = one_message_folder("INBOX", "1700000000.M1P1.host"), path[600];
	struct view v;
	char err[256];
	uint64_t high;

	(void)state;
	open_modseq(dir, &v);
	high = v.highestmodseq;
	view_close(&v);
	snprintf(path, sizeof(path), "%s/cur/1700000000.M1P1.host:2,", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(view_open(dir, VIEW_RW, &v, err, sizeof(err)), 0);
	assert_int_equal(v.n, 0);
	assert_int_equal(v.ngone, 1);
	assert_int_equal(v.gone[0].uid, 1);
	assert_true(v.gone[0].modseq > high);
	assert_false(view_modseq_forgot(&v, high));
	view_close(&v);
	/* saved: the next view knows it too */
	assert_int_equal(view_open(dir, 0, &v, err, sizeof(err)), 0);
	assert_int_equal(v.ngone, 1);
	assert_int_equal(v.gone[0].uid, 1);
	view_close(&v);
	rm_folder(dir);
}

/* Two sessions of one folder each change its message, then save: the
 * second's change is moved above the first's, never given its number. */
static void two_views_never_share_a_modseq(void **state)
{
	char *dir = one_message_folder("INBOX", "1700000000.M1P1.host");
	struct view a, b, c;
	uint64_t ma, mb;

	(void)state;
	open_modseq(dir, &a);
	view_close(&a);
	open_modseq(dir, &a);
	open_modseq(dir, &b);
	assert_int_equal(view_msg_set_flags(&a, &a.msgs[0], "F"), 0);
	ma = a.msgs[0].modseq;
	view_save_index(&a);
	/* b has not seen a's rename: its change is made to the flags on disk */
	assert_int_equal(view_msg_set_flags(&b, &b.msgs[0], "S"), 0);
	assert_int_equal(b.msgs[0].modseq, ma); /* the same number, for now */
	view_save_index(&b);
	mb = b.msgs[0].modseq;
	assert_true(mb > ma);
	view_close(&a);
	view_close(&b);
	assert_int_equal(open_modseq(dir, &c), mb);
	assert_string_equal(c.msgs[0].flags, "FS");
	view_close(&c);
	rm_folder(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(names_map_into_the_maildir),
	    cmocka_unit_test(no_name_leaves_the_maildir),
	    cmocka_unit_test(a_file_renamed_by_another_writer_is_read),
	    cmocka_unit_test(rfc822_size_comes_from_the_base_name_only),
	    cmocka_unit_test(modseqs_are_kept_and_grow_with_each_change),
	    cmocka_unit_test(an_expunge_is_recorded_by_uid),
	    cmocka_unit_test(two_views_never_share_a_modseq),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
