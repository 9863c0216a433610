/*
 * Unit tests for the Dovecot-compatible UID list (store/uidlist.h): the
 * files as Dovecot 2.3 writes them (copied from a real one), UIDs kept,
 * given and forgotten by uidlist_sync() from the names in new/ and cur/,
 * the lock and its staleness, and dovecot-keywords.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>

#include "store/uidlist.h"

/* What Dovecot 2.3.19 wrote for three delivered messages (N is written lazily). */
static const char dovecot_list[] = "3 V1796394650 N1 G59f8fa2c9ace126b5e17000083ecc375\n"
                                   "1 :1700000001.M1P5853.corraltest\n"
                                   "2 W2096 :1700000002.M2P5853.corraltest\n"
                                   "3 :1700000003.M3P5853.corraltest\n";

static char dir[64];

static void put(const char *name, const char *text)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static int setup(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/corral-uidlist-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "mkdir %s/new %s/cur %s/tmp", dir, dir, dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void reads_what_dovecot_wrote(void **state)
{
	struct uidlist ul;
	char err[256];

	(void)state;
	put("dovecot-uidlist", dovecot_list);
	assert_int_equal(uidlist_read(dir, &ul, err, sizeof(err)), 0);
	assert_int_equal(ul.uidvalidity, 1796394650u);
	assert_int_equal(ul.nextuid, 4);
	assert_string_equal(ul.guid, "59f8fa2c9ace126b5e17000083ecc375");
	assert_int_equal(ul.n, 3);
	assert_string_equal(ul.recs[1].base, "1700000002.M2P5853.corraltest");
	assert_string_equal(ul.recs[1].ext, "W2096");
	assert_int_equal(ul.recs[2].uid, 3);
	uidlist_free(&ul);
}

static void sync_keeps_gives_and_forgets_uids(void **state)
{
	struct uidlist ul, back;
	char err[256];
	bool changed;

	(void)state;
	put("dovecot-uidlist", dovecot_list);
	put("cur/1700000001.M1P5853.corraltest:2,S", "a");
	put("cur/1700000002.M2P5853.corraltest:2,Sab", "b"); /* flags changed since */
	/* 3 was expunged; two new deliveries, named in delivery order */
	put("new/1700000005.M5P1.host", "d");
	put("new/1700000004.M4P1.host", "c");
	assert_int_equal(uidlist_sync(dir, &ul, &changed, err, sizeof(err)), 0);
	assert_true(changed);
	assert_int_equal(ul.n, 4);
	assert_int_equal(ul.recs[0].uid, 1);
	assert_string_equal(ul.recs[0].name, "cur/1700000001.M1P5853.corraltest:2,S");
	assert_int_equal(ul.recs[1].uid, 2);
	assert_string_equal(ul.recs[1].name, "cur/1700000002.M2P5853.corraltest:2,Sab");
	assert_int_equal(ul.recs[2].uid, 4);
	assert_string_equal(ul.recs[2].base, "1700000004.M4P1.host");
	assert_int_equal(ul.recs[3].uid, 5);
	assert_int_equal(ul.nextuid, 6);
	assert_int_equal(ul.uidvalidity, 1796394650u);
	uidlist_free(&ul);
	/* What was written reads back the same, the W field kept. */
	assert_int_equal(uidlist_read(dir, &back, err, sizeof(err)), 0);
	assert_int_equal(back.n, 4);
	assert_string_equal(back.recs[1].ext, "W2096");
	assert_int_equal(back.recs[3].uid, 5);
	assert_int_equal(back.nextuid, 6);
	uidlist_free(&back);
	/* Nothing new: nothing written. */
	assert_int_equal(uidlist_sync(dir, &ul, &changed, err, sizeof(err)), 0);
	assert_false(changed);
	uidlist_free(&ul);
}

/* Another writer renames files between new/ and cur/ (mbsync, a flag
 * change, an IMAP session taking \Recent) while the list is synced again
 * and again: no file loses its UID or gets a second one. */
static void files_renamed_during_a_sync_keep_their_uids(void **state)
{
	static const char *const names[] = {"new/1700000001.M1P1.h", "cur/1700000001.M1P1.h:2,",
	                                    "cur/1700000001.M1P1.h:2,S",
	                                    "cur/1700000001.M1P1.h:2,FS"};
	char from[256], to[256], err[256];
	struct uidlist ul;
	bool changed;
	pid_t pid;
	int status;

	(void)state;
	/* Many files, so that one reading of a directory takes a while. */
	for (int i = 0; i < 400; i++) {
		snprintf(from, sizeof(from), "cur/1600000000.M%dP1.h:2,S", i);
		put(from, "x");
	}
	put(names[0] + 0, "a");
	assert_int_equal(uidlist_sync(dir, &ul, &changed, err, sizeof(err)), 0);
	uidlist_free(&ul);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (int i = 0; i < 20000; i++) {
			snprintf(from, sizeof(from), "%s/%s", dir, names[i % 4]);
			snprintf(to, sizeof(to), "%s/%s", dir, names[(i + 1) % 4]);
			if (rename(from, to) < 0)
				_exit(1);
		}
		_exit(0);
	}
	for (int round = 0; round < 200; round++) {
		uint32_t uid = 0;
		size_t k = 0;

		assert_int_equal(uidlist_sync(dir, &ul, &changed, err, sizeof(err)), 0);
		for (size_t i = 0; i < ul.n; i++)
			if (strcmp(ul.recs[i].base, "1700000001.M1P1.h") == 0)
				uid = ul.recs[i].uid, k++;
		assert_int_equal(ul.n, 401);
		assert_int_equal(k, 1);
		assert_int_equal(uid, 401);
		uidlist_free(&ul);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void a_new_folder_gets_a_uidvalidity(void **state)
{
	struct uidlist ul;
	char err[256];
	bool changed;
	time_t now = time(NULL);

	(void)state;
	put("new/2", "x");
	put("new/1", "x");
	assert_int_equal(uidlist_sync(dir, &ul, &changed, err, sizeof(err)), 0);
	assert_true(changed);
	assert_true(ul.uidvalidity >= (uint32_t)now - 1 && ul.uidvalidity <= (uint32_t)now + 1);
	assert_int_equal(strlen(ul.guid), 32);
	assert_int_equal(ul.n, 2);
	assert_string_equal(ul.recs[0].base, "1");
	assert_int_equal(ul.recs[1].uid, 2);
	uidlist_free(&ul);
}

static void the_lock_is_exclusive_and_goes_stale(void **state)
{
	char err[256], path[256];
	struct utimbuf old = {.actime = time(NULL) - 600, .modtime = time(NULL) - 600};
	int fd, fd2;

	(void)state;
	fd = uidlist_lock(dir, 0, err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(uidlist_lock(dir, 50, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "held by another process"));
	/* A lock left by a crash ten minutes ago is stale. */
	snprintf(path, sizeof(path), "%s/dovecot-uidlist.lock", dir);
	assert_int_equal(utime(path, &old), 0);
	fd2 = uidlist_lock(dir, 50, err, sizeof(err));
	assert_true(fd2 >= 0);
	close(fd);
	uidlist_unlock(dir, fd2);
	assert_int_equal(access(path, F_OK), -1);
}

static void a_broken_list_is_an_error_with_its_line(void **state)
{
	struct uidlist ul;
	char err[256];

	(void)state;
	put("dovecot-uidlist", "3 V5 N2 Gx\n1 :a\nnot a record\n");
	assert_int_equal(uidlist_read(dir, &ul, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "dovecot-uidlist:3:"));
	put("dovecot-uidlist", "3 V5 N2 Gx\n2 :a\n1 :b\n");
	assert_int_equal(uidlist_read(dir, &ul, err, sizeof(err)), -1); /* UIDs must ascend */
	/* Found by fuzz-uidlist: no space after the UID, a base that a rewrite
	 * would have changed ("11 :1.M1 :4.M3" names 1.M1). */
	put("dovecot-uidlist", "3 V5 N2 Gx\n11:1.M1 :4.M3\n");
	assert_int_equal(uidlist_read(dir, &ul, err, sizeof(err)), -1);
	put("dovecot-uidlist", "3 V5 N3 Gx\n2 ::3\n"); /* an empty base name */
	assert_int_equal(uidlist_read(dir, &ul, err, sizeof(err)), -1);
	/* Found by fuzz-uidlist: after UID 2^32-1 the next UID wrapped to 1. */
	put("dovecot-uidlist", "3 V5 N3 Gx\n1 :a\n4294967295 :b\n");
	assert_int_equal(uidlist_read(dir, &ul, err, sizeof(err)), -1);
	put("dovecot-uidlist", "3 V4294967301 N3 Gx\n1 :a\n"); /* 5 in 32 bits */
	assert_int_equal(uidlist_read(dir, &ul, err, sizeof(err)), -1);
}

static void keywords_as_dovecot_writes_them(void **state)
{
	struct keywords kw;
	char err[256];
	bool added;

	(void)state;
	put("dovecot-keywords", "0 $Label1\n1 Important\n");
	assert_int_equal(keywords_read(dir, &kw, err, sizeof(err)), 0);
	assert_int_equal(keywords_index(&kw, "Important", false, &added), 1);
	assert_int_equal(keywords_index(&kw, "important", false, &added), -1);
	assert_int_equal(keywords_index(&kw, "$Forwarded", true, &added), 2);
	assert_true(added);
	assert_int_equal(keywords_write(dir, &kw, err, sizeof(err)), 0);
	keywords_free(&kw);
	assert_int_equal(keywords_read(dir, &kw, err, sizeof(err)), 0);
	assert_int_equal(kw.n, 3);
	assert_string_equal(kw.names[2], "$Forwarded");
	for (int i = 3; i < UIDLIST_KEYWORDS_MAX; i++) {
		char name[16];

		snprintf(name, sizeof(name), "k%d", i);
		assert_int_equal(keywords_index(&kw, name, true, &added), i);
	}
	assert_int_equal(keywords_index(&kw, "one-too-many", true, &added), -1);
	keywords_free(&kw);
}

/* Found by fuzz-keywords: a line longer than the reader's buffer was read
 * in pieces, its tail taken as a line; and names were cut at 250 bytes when
 * written, another keyword to the next reader. */
static void a_long_keyword_stays_whole_and_one_line(void **state)
{
	struct keywords kw;
	char err[256], text[1200], name[600];

	(void)state;
	memset(name, 'k', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	/* the tail of line 0 would read as "3 tail" */
	snprintf(text, sizeof(text), "0 %s\n1 after\n", name);
	memcpy(text + 2 + 509, "3 tail", 6);
	name[509] = '3';
	memcpy(name + 509, "3 tail", 6);
	put("dovecot-keywords", text);
	assert_int_equal(keywords_read(dir, &kw, err, sizeof(err)), 0);
	assert_string_equal(kw.names[0], name);
	assert_null(kw.names[3]);
	assert_string_equal(kw.names[1], "after");
	assert_int_equal(keywords_write(dir, &kw, err, sizeof(err)), 0);
	keywords_free(&kw);
	assert_int_equal(keywords_read(dir, &kw, err, sizeof(err)), 0);
	assert_string_equal(kw.names[0], name);
	keywords_free(&kw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(reads_what_dovecot_wrote, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_long_keyword_stays_whole_and_one_line, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(sync_keeps_gives_and_forgets_uids, setup, teardown),
	    cmocka_unit_test_setup_teardown(files_renamed_during_a_sync_keep_their_uids, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(a_new_folder_gets_a_uidvalidity, setup, teardown),
	    cmocka_unit_test_setup_teardown(the_lock_is_exclusive_and_goes_stale, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_broken_list_is_an_error_with_its_line, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(keywords_as_dovecot_writes_them, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
