/*
 * Unit tests for the IMAP server's per-folder index (store/mdindex.h):
 * entries kept by base name across a save and a load, a flag change
 * (another name, the same base) keeping its entry, stale entries left out,
 * and every kind of broken file (missing, truncated, a flipped byte,
 * another tag, not an index at all) loading as an index to rebuild; the
 * mod-sequences (RFC 7162) kept by UID across a save and a load, the
 * record of expunges trimmed with its floor raised, and a rebuilt index
 * starting its mod-sequences above the clock's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/mdindex.h"

#define TAG "header fields test"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/corral-mdindex-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void put(struct mdindex *ix, const char *base, uint64_t size, const char *hdr)
{
	struct mdindex_entry e = {.size = size,
	                          .mtime = 1700000000 + (int64_t)size,
	                          .crlf_size = size + 10,
	                          .hdr = hdr,
	                          .hdr_len = hdr ? strlen(hdr) : 0};

	mdindex_put(ix, base, strlen(base), &e);
}

static const struct mdindex_entry *get(struct mdindex *ix, const char *base)
{
	return mdindex_get(ix, base, strlen(base));
}

static char *index_path(void)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, MDINDEX_NAME);
	return path;
}

/* Three messages saved into a new index, then loaded. */
static struct mdindex *saved_three(void)
{
	struct mdindex *ix;

	unlink(index_path());
	ix = mdindex_load(dir, TAG);

	put(ix, "1700000001.M1P1.host,S=100,W=110", 100, "From: a\r\nSubject: one\r\n");
	put(ix, "1700000002.M2P1.host", 200, NULL);
	put(ix, "1700000003.M3P1.host", 300, "");
	assert_true(mdindex_dirty(ix));
	assert_int_equal(mdindex_save(ix, dir), 0);
	assert_false(mdindex_dirty(ix));
	mdindex_free(ix);
	return mdindex_load(dir, TAG);
}

static void entries_survive_save_and_load(void **state)
{
	struct mdindex *ix = saved_three();
	const struct mdindex_entry *e;

	(void)state;
	e = get(ix, "1700000001.M1P1.host,S=100,W=110");
	assert_non_null(e);
	assert_int_equal(e->size, 100);
	assert_int_equal(e->mtime, 1700000100);
	assert_int_equal(e->crlf_size, 110);
	assert_int_equal(e->hdr_len, strlen("From: a\r\nSubject: one\r\n"));
	assert_memory_equal(e->hdr, "From: a\r\nSubject: one\r\n", e->hdr_len);
	e = get(ix, "1700000002.M2P1.host");
	assert_non_null(e);
	assert_null(e->hdr);
	/* an empty block (no cached field in the message) is a block */
	e = get(ix, "1700000003.M3P1.host");
	assert_non_null(e);
	assert_non_null(e->hdr);
	assert_int_equal(e->hdr_len, 0);
	assert_null(get(ix, "1700000004.M4P1.host"));
	/* everything looked up, nothing new: nothing to write */
	assert_false(mdindex_dirty(ix));
	mdindex_free(ix);
}

/* A flag change renames 1700000002...:2, to ...:2,S: the base is the key. */
static void renamed_file_keeps_its_entry(void **state)
{
	struct mdindex *ix = saved_three();
	const char *name = "1700000002.M2P1.host:2,S";

	(void)state;
	assert_non_null(mdindex_get(ix, name, strcspn(name, ":")));
	assert_int_equal(mdindex_get(ix, name, strcspn(name, ":"))->size, 200);
	mdindex_free(ix);
}

static void stale_entries_are_left_out(void **state)
{
	struct mdindex *ix = saved_three();

	(void)state;
	/* the folder now has two of the three (the third was expunged) */
	assert_non_null(get(ix, "1700000001.M1P1.host,S=100,W=110"));
	assert_non_null(get(ix, "1700000002.M2P1.host"));
	assert_true(mdindex_dirty(ix));
	assert_int_equal(mdindex_save(ix, dir), 0);
	mdindex_free(ix);
	ix = mdindex_load(dir, TAG);
	assert_non_null(get(ix, "1700000001.M1P1.host,S=100,W=110"));
	assert_non_null(get(ix, "1700000002.M2P1.host"));
	assert_null(get(ix, "1700000003.M3P1.host"));
	mdindex_free(ix);
}

static void a_block_is_added_and_unchanged_puts_are_not_changes(void **state)
{
	struct mdindex *ix = saved_three();

	(void)state;
	put(ix, "1700000001.M1P1.host,S=100,W=110", 100, "From: a\r\nSubject: one\r\n");
	put(ix, "1700000002.M2P1.host", 200, NULL);
	put(ix, "1700000003.M3P1.host", 300, "");
	assert_false(mdindex_dirty(ix));
	put(ix, "1700000002.M2P1.host", 200, "To: b\r\n");
	assert_true(mdindex_dirty(ix));
	assert_int_equal(mdindex_save(ix, dir), 0);
	mdindex_free(ix);
	ix = mdindex_load(dir, TAG);
	assert_memory_equal(get(ix, "1700000002.M2P1.host")->hdr, "To: b\r\n", 7);
	mdindex_free(ix);
}

static void oversized_block_is_not_kept(void **state)
{
	struct mdindex *ix = mdindex_load(dir, TAG);
	char *big = malloc(MDINDEX_HDR_MAX + 2);

	(void)state;
	memset(big, 'x', MDINDEX_HDR_MAX + 1);
	big[MDINDEX_HDR_MAX + 1] = '\0';
	put(ix, "1700000009.M9P1.host", 9, big);
	assert_non_null(get(ix, "1700000009.M9P1.host"));
	assert_null(get(ix, "1700000009.M9P1.host")->hdr);
	free(big);
	mdindex_free(ix);
}

/* What a broken file does to the next load: an empty index, to rebuild. */
static void assert_rebuilds(void)
{
	struct mdindex *ix = mdindex_load(dir, TAG);

	assert_null(get(ix, "1700000001.M1P1.host,S=100,W=110"));
	assert_null(get(ix, "1700000002.M2P1.host"));
	assert_true(mdindex_dirty(ix));
	/* rebuilt: the next save is a whole index again */
	put(ix, "1700000002.M2P1.host", 200, "To: b\r\n");
	assert_int_equal(mdindex_save(ix, dir), 0);
	mdindex_free(ix);
	ix = mdindex_load(dir, TAG);
	assert_non_null(get(ix, "1700000002.M2P1.host"));
	mdindex_free(ix);
}

static void truncated_file_is_rebuilt(void **state)
{
	struct stat st;

	(void)state;
	mdindex_free(saved_three());
	assert_int_equal(stat(index_path(), &st), 0);
	for (off_t cut = 0; cut < st.st_size; cut += st.st_size / 7 + 1) {
		mdindex_free(saved_three());
		assert_int_equal(truncate(index_path(), cut), 0);
		assert_rebuilds();
	}
}

static void corrupt_byte_is_rebuilt(void **state)
{
	struct stat st;

	(void)state;
	mdindex_free(saved_three());
	assert_int_equal(stat(index_path(), &st), 0);
	for (long at = 0; at < st.st_size; at += 5) {
		FILE *fp;
		int c;

		mdindex_free(saved_three());
		fp = fopen(index_path(), "r+");
		assert_non_null(fp);
		fseek(fp, at, SEEK_SET);
		c = fgetc(fp);
		fseek(fp, at, SEEK_SET);
		fputc(c ^ 0x20, fp);
		fclose(fp);
		assert_rebuilds();
	}
}

static void missing_or_foreign_file_is_empty(void **state)
{
	FILE *fp;
	struct mdindex *ix = mdindex_load(dir, TAG);

	(void)state;
	assert_null(get(ix, "1700000002.M2P1.host"));
	assert_false(mdindex_dirty(ix));
	mdindex_free(ix);
	fp = fopen(index_path(), "w");
	assert_non_null(fp);
	fputs("3 V1 N1 G0\n1 :not an index\n", fp);
	fclose(fp);
	assert_rebuilds();
}

/* Another set of cached fields: the sizes stay, the blocks go. */
static void another_tag_drops_the_blocks(void **state)
{
	struct mdindex *ix;

	(void)state;
	mdindex_free(saved_three());
	ix = mdindex_load(dir, "header fields other");
	assert_non_null(get(ix, "1700000001.M1P1.host,S=100,W=110"));
	assert_int_equal(get(ix, "1700000001.M1P1.host,S=100,W=110")->crlf_size, 110);
	assert_null(get(ix, "1700000001.M1P1.host,S=100,W=110")->hdr);
	mdindex_free(ix);
}

static void many_entries(void **state)
{
	struct mdindex *ix = mdindex_load(dir, TAG);
	char base[64];

	(void)state;
	for (int i = 0; i < 20000; i++) {
		snprintf(base, sizeof(base), "%d.M%dP7.host", 1700000000 + i, i);
		put(ix, base, (uint64_t)i + 1, i % 3 ? "Subject: x\r\n" : NULL);
	}
	assert_int_equal(mdindex_save(ix, dir), 0);
	mdindex_free(ix);
	ix = mdindex_load(dir, TAG);
	for (int i = 0; i < 20000; i++) {
		snprintf(base, sizeof(base), "%d.M%dP7.host", 1700000000 + i, i);
		assert_non_null(get(ix, base));
		assert_int_equal(get(ix, base)->size, (uint64_t)i + 1);
		assert_int_equal(get(ix, base)->hdr != NULL, i % 3 != 0);
	}
	mdindex_free(ix);
}

/* The record of a folder of three, one expunged. */
static void modseqs_survive_save_and_load(void **state)
{
	struct mdindex *ix = saved_three();
	struct mdindex_modseq msgs[] = {{1, 101, mdindex_flagsum("S")},
	                                {2, 150, mdindex_flagsum("")},
	                                {5, 103, mdindex_flagsum("FS")}};
	struct mdindex_gone gone[] = {{3, 140}};
	struct mdindex_modseqs ms = {
	    .highest = 150, .floor = 100, .msgs = msgs, .n = 3, .gone = gone, .ngone = 1};
	const struct mdindex_modseqs *got;

	(void)state;
	assert_non_null(get(ix, "1700000001.M1P1.host,S=100,W=110"));
	assert_non_null(get(ix, "1700000002.M2P1.host"));
	assert_non_null(get(ix, "1700000003.M3P1.host"));
	assert_false(mdindex_dirty(ix));
	mdindex_set_modseqs(ix, &ms);
	assert_true(mdindex_dirty(ix));
	assert_int_equal(mdindex_save(ix, dir), 0);
	mdindex_free(ix);
	ix = mdindex_load(dir, TAG);
	got = mdindex_modseqs(ix);
	assert_int_equal(got->highest, 150);
	assert_int_equal(got->floor, 100);
	assert_int_equal(got->n, 3);
	assert_int_equal(mdindex_modseq_find(got, 2)->modseq, 150);
	assert_int_equal(mdindex_modseq_find(got, 5)->flagsum, mdindex_flagsum("FS"));
	assert_true(mdindex_flagsum("FS") != mdindex_flagsum("S"));
	assert_null(mdindex_modseq_find(got, 3));
	assert_null(mdindex_modseq_find(got, 6));
	assert_int_equal(got->ngone, 1);
	assert_int_equal(got->gone[0].uid, 3);
	assert_int_equal(got->gone[0].modseq, 140);
	/* the entries by base name are still there */
	assert_non_null(get(ix, "1700000002.M2P1.host"));
	mdindex_free(ix);
}

static void new_and_rebuilt_index_start_above_the_clock(void **state)
{
	uint64_t before = (uint64_t)time(NULL) << 16;
	struct mdindex *ix = mdindex_load(dir, TAG);
	const struct mdindex_modseqs *ms = mdindex_modseqs(ix);

	(void)state;
	assert_true(ms->highest >= before);
	assert_int_equal(ms->floor, ms->highest);
	assert_int_equal(ms->n, 0);
	assert_true(ms->highest < (UINT64_C(1) << 63));
	mdindex_free(ix);
	/* a file that is not an index (as one of version 1) */
	mdindex_free(saved_three());
	assert_int_equal(truncate(index_path(), 20), 0);
	ix = mdindex_load(dir, TAG);
	assert_true(mdindex_modseqs(ix)->floor >= before);
	mdindex_free(ix);
}

static void expunges_are_trimmed_raising_the_floor(void **state)
{
	struct mdindex *ix = mdindex_load(dir, TAG);
	size_t n = MDINDEX_GONE_MAX + 5;
	struct mdindex_gone *gone = calloc(n, sizeof(*gone));
	struct mdindex_modseqs ms = {.highest = 100 + n, .floor = 50, .gone = gone, .ngone = n};
	const struct mdindex_modseqs *got;

	(void)state;
	for (size_t i = 0; i < n; i++)
		gone[i] = (struct mdindex_gone){(uint32_t)i + 1, 101 + i};
	mdindex_set_modseqs(ix, &ms);
	free(gone);
	assert_int_equal(mdindex_save(ix, dir), 0);
	mdindex_free(ix);
	ix = mdindex_load(dir, TAG);
	got = mdindex_modseqs(ix);
	assert_int_equal(got->ngone, MDINDEX_GONE_MAX);
	/* the five oldest went: a client older than the fifth knows too little */
	assert_int_equal(got->floor, 105);
	assert_int_equal(got->gone[0].uid, 6);
	assert_int_equal(got->gone[0].modseq, 106);
	mdindex_free(ix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(entries_survive_save_and_load, setup, teardown),
	    cmocka_unit_test_setup_teardown(renamed_file_keeps_its_entry, setup, teardown),
	    cmocka_unit_test_setup_teardown(stale_entries_are_left_out, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_block_is_added_and_unchanged_puts_are_not_changes,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(oversized_block_is_not_kept, setup, teardown),
	    cmocka_unit_test_setup_teardown(truncated_file_is_rebuilt, setup, teardown),
	    cmocka_unit_test_setup_teardown(corrupt_byte_is_rebuilt, setup, teardown),
	    cmocka_unit_test_setup_teardown(missing_or_foreign_file_is_empty, setup, teardown),
	    cmocka_unit_test_setup_teardown(another_tag_drops_the_blocks, setup, teardown),
	    cmocka_unit_test_setup_teardown(many_entries, setup, teardown),
	    cmocka_unit_test_setup_teardown(modseqs_survive_save_and_load, setup, teardown),
	    cmocka_unit_test_setup_teardown(new_and_rebuilt_index_start_above_the_clock, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(expunges_are_trimmed_raising_the_floor, setup,
	                                    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
