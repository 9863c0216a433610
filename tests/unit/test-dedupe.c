/* Unit tests for src/store/dedupe: the Message-ID store behind `dedupe:`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/dedupe.h"
#include "util/log.h"

#define DAY   86400
#define T0    1700000000
#define MONTH (30 * DAY)

struct fixture {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "%s", "/tmp/corral-dedupe-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/dedupe", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char tmp[160];

	unlink(f->path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
	unlink(tmp);
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct dedupe *open_at(const char *path, time_t now)
{
	char err[256] = "";
	struct dedupe *d = dedupe_open_at(path, MONTH, now, err, sizeof(err));

	if (d == NULL)
		fail_msg("dedupe_open: %s", err);
	return d;
}

static void close_ok(struct dedupe *d)
{
	char err[256] = "";

	if (dedupe_close(d, err, sizeof(err)) != 0)
		fail_msg("dedupe_close: %s", err);
}

static off_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void append_bytes(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_APPEND);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	close(fd);
}

static void added_id_is_seen_at_once_and_after_reopen(void **state)
{
	struct fixture *f = *state;
	struct dedupe *d = open_at(f->path, T0);

	assert_false(dedupe_seen(d, "<a@example.com>"));
	dedupe_add(d, "<a@example.com>");
	assert_true(dedupe_seen(d, "<a@example.com>"));
	assert_false(dedupe_seen(d, "<b@example.com>"));
	close_ok(d);
	d = open_at(f->path, T0 + DAY);
	assert_true(dedupe_seen(d, "<a@example.com>"));
	assert_int_equal(dedupe_count(d), 1);
	close_ok(d);
}

/* A dry run reads the store and writes nothing, not even a missing file. */
static void readonly_store_reads_and_never_writes(void **state)
{
	struct fixture *f = *state;
	char err[256] = "";
	struct dedupe *d = dedupe_open_readonly(f->path, MONTH, err, sizeof(err));
	struct stat st;
	off_t size;

	assert_non_null(d);
	assert_false(dedupe_seen(d, "<a@example.com>"));
	dedupe_add(d, "<a@example.com>");
	close_ok(d);
	assert_int_equal(stat(f->path, &st), -1);
	d = open_at(f->path, 0);
	dedupe_add(d, "<a@example.com>");
	close_ok(d);
	size = file_size(f->path);
	d = dedupe_open_readonly(f->path, MONTH, err, sizeof(err));
	assert_non_null(d);
	assert_true(dedupe_seen(d, "<a@example.com>"));
	dedupe_add(d, "<b@example.com>");
	close_ok(d);
	assert_int_equal(file_size(f->path), size);
}

static void comparison_ignores_brackets_space_and_domain_case(void **state)
{
	struct fixture *f = *state;
	struct dedupe *d = open_at(f->path, T0);

	dedupe_add(d, "<Part.One@Example.COM>");
	assert_true(dedupe_seen(d, "Part.One@example.com"));
	assert_true(dedupe_seen(d, "  <Part.One@EXAMPLE.com> "));
	/* The local part is case-sensitive (RFC 5322). */
	assert_false(dedupe_seen(d, "<part.one@example.com>"));
	close_ok(d);
}

static void message_without_id_is_never_a_duplicate(void **state)
{
	struct fixture *f = *state;
	struct dedupe *d = open_at(f->path, T0);

	dedupe_add(d, NULL);
	dedupe_add(d, "");
	dedupe_add(d, "<>");
	assert_false(dedupe_seen(d, NULL));
	assert_false(dedupe_seen(d, ""));
	assert_false(dedupe_seen(d, "<>"));
	assert_int_equal(dedupe_count(d), 0);
	close_ok(d);
}

static void id_older_than_window_is_forgotten(void **state)
{
	struct fixture *f = *state;
	struct dedupe *d = open_at(f->path, T0);

	dedupe_add(d, "<old@x>");
	dedupe_set_now(d, T0 + MONTH - 1);
	assert_true(dedupe_seen(d, "<old@x>"));
	dedupe_set_now(d, T0 + MONTH + 1);
	assert_false(dedupe_seen(d, "<old@x>"));
	close_ok(d);
}

static void stale_records_are_dropped_when_the_file_is_rewritten(void **state)
{
	struct fixture *f = *state;
	struct dedupe *d = open_at(f->path, T0);
	char id[64];
	off_t big;

	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "<old%d@x>", i);
		dedupe_add(d, id);
	}
	close_ok(d);
	d = open_at(f->path, T0 + DAY);
	dedupe_add(d, "<new@x>");
	close_ok(d);
	big = file_size(f->path);
	/* Opened two months later, the stale 100 outnumber the live one: rewrite. */
	d = open_at(f->path, T0 + 2 * MONTH);
	close_ok(d);
	assert_true(file_size(f->path) < big);
	d = open_at(f->path, T0 + MONTH + DAY);
	assert_false(dedupe_seen(d, "<old1@x>"));
	close_ok(d);
}

static void torn_last_record_is_ignored_and_cut(void **state)
{
	struct fixture *f = *state;
	struct dedupe *d = open_at(f->path, T0);
	off_t good;

	dedupe_add(d, "<a@x>");
	close_ok(d);
	good = file_size(f->path);
	append_bytes(f->path, "1700000001 00ab");
	d = open_at(f->path, T0);
	assert_true(dedupe_seen(d, "<a@x>"));
	assert_int_equal(dedupe_count(d), 1);
	assert_int_equal(file_size(f->path), good);
	/* The next record starts on a line of its own. */
	dedupe_add(d, "<b@x>");
	close_ok(d);
	d = open_at(f->path, T0);
	assert_true(dedupe_seen(d, "<b@x>"));
	assert_int_equal(dedupe_count(d), 2);
	close_ok(d);
}

static void garbled_records_are_skipped(void **state)
{
	struct fixture *f = *state;
	struct dedupe *d = open_at(f->path, T0);

	dedupe_add(d, "<a@x>");
	close_ok(d);
	append_bytes(f->path, "garbage line\n\n1700000000 zzzzzzzzzzzzzzzz\n");
	d = open_at(f->path, T0);
	dedupe_add(d, "<b@x>");
	assert_true(dedupe_seen(d, "<a@x>"));
	assert_int_equal(dedupe_count(d), 2);
	close_ok(d);
}

static void records_wait_for_sync(void **state)
{
	struct fixture *f = *state;
	struct dedupe *d = open_at(f->path, T0);
	off_t before = file_size(f->path);
	char err[256];

	dedupe_add(d, "<a@x>");
	dedupe_add(d, "<b@x>");
	assert_int_equal(file_size(f->path), before);
	assert_int_equal(dedupe_sync(d, err, sizeof(err)), 0);
	assert_true(file_size(f->path) > before);
	close_ok(d);
}

static void foreign_file_is_refused(void **state)
{
	struct fixture *f = *state;
	char err[256] = "";
	int fd = open(f->path, O_WRONLY | O_CREAT, 0600);

	assert_int_equal(write(fd, "hello\n", 6), 6);
	close(fd);
	assert_null(dedupe_open(f->path, MONTH, err, sizeof(err)));
	assert_non_null(strstr(err, "not a corral dedupe file"));
}

static void file_is_private(void **state)
{
	struct fixture *f = *state;
	struct dedupe *d = open_at(f->path, T0);
	struct stat st;

	close_ok(d);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
}

static void two_handles_share_the_file(void **state)
{
	struct fixture *f = *state;
	struct dedupe *a = open_at(f->path, T0), *b = open_at(f->path, T0);
	char err[256];

	dedupe_add(a, "<from-a@x>");
	assert_int_equal(dedupe_sync(a, err, sizeof(err)), 0);
	dedupe_add(b, "<from-b@x>");
	assert_int_equal(dedupe_sync(b, err, sizeof(err)), 0);
	close_ok(a);
	close_ok(b);
	a = open_at(f->path, T0);
	assert_true(dedupe_seen(a, "<from-a@x>"));
	assert_true(dedupe_seen(a, "<from-b@x>"));
	close_ok(a);
}

/* Another process rewrote (renamed over) the file: appends go to the new one. */
static void rewrite_by_another_handle_is_followed(void **state)
{
	struct fixture *f = *state;
	struct dedupe *a = open_at(f->path, T0), *b, *c;
	char err[256];
	struct stat before, after;

	dedupe_add(a, "<x1@x>");
	assert_int_equal(dedupe_sync(a, err, sizeof(err)), 0);
	assert_int_equal(stat(f->path, &before), 0);
	b = open_at(f->path, T0 + 2 * MONTH);
	close_ok(b);
	assert_int_equal(stat(f->path, &after), 0);
	assert_true(before.st_ino != after.st_ino);
	dedupe_set_now(a, T0 + 2 * MONTH);
	dedupe_add(a, "<late@x>");
	assert_int_equal(dedupe_sync(a, err, sizeof(err)), 0);
	close_ok(a);
	c = open_at(f->path, T0 + 2 * MONTH);
	assert_true(dedupe_seen(c, "<late@x>"));
	assert_false(dedupe_seen(c, "<x1@x>"));
	close_ok(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(added_id_is_seen_at_once_and_after_reopen, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(readonly_store_reads_and_never_writes, setup, teardown),
	    cmocka_unit_test_setup_teardown(comparison_ignores_brackets_space_and_domain_case,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(message_without_id_is_never_a_duplicate, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(id_older_than_window_is_forgotten, setup, teardown),
	    cmocka_unit_test_setup_teardown(stale_records_are_dropped_when_the_file_is_rewritten,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(torn_last_record_is_ignored_and_cut, setup, teardown),
	    cmocka_unit_test_setup_teardown(garbled_records_are_skipped, setup, teardown),
	    cmocka_unit_test_setup_teardown(records_wait_for_sync, setup, teardown),
	    cmocka_unit_test_setup_teardown(foreign_file_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(file_is_private, setup, teardown),
	    cmocka_unit_test_setup_teardown(two_handles_share_the_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(rewrite_by_another_handle_is_followed, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
