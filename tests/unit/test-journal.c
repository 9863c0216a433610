/* Unit tests for src/store/journal.c: seen ids, intents, recovery, torn tails, compaction, locking.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/journal.h"
#include "util/buf.h"
#include "util/log.h"

struct fx {
	char dir[64];   /* the mkdtemp state directory */
	char path[128]; /* its journal for account "acct" */
};

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "%s", "/tmp/corral-journal-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/accounts/acct.journal", f->dir);
	log_set_verbosity(-1);
	*state = f;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static struct journal *jopen(const struct fx *f)
{
	enum res_kind res;
	char err[512] = "";
	struct journal *j = journal_open(f->dir, "acct", &res, err, sizeof(err));

	if (!j)
		fail_msg("journal_open: %d %s", res, err);
	return j;
}

static void jsync(struct journal *j)
{
	char err[512] = "";

	if (journal_sync(j, err, sizeof(err)) != RES_OK)
		fail_msg("journal_sync: %s", err);
}

static struct journal *reopen(const struct fx *f, struct journal *j)
{
	jsync(j);
	journal_close(j);
	return jopen(f);
}

static struct journal_folder *inbox(struct journal *j)
{
	bool changed;
	struct journal_folder *jf = journal_folder(j, "INBOX", 7, &changed);

	assert_non_null(jf);
	return jf;
}

static off_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static const struct journal_target two_targets[] = {
    {.folder = "INBOX", .name = "1700000000.M1P2Q1.host,S=100"},
    {.folder = "Lists/foo bar", .name = "1700000000.M1P2Q2.host,S=100"},
};

/* Ops: I intent, D done, S skip, X deleted, G forget; applied in order to id "42". */
static void apply_ops(struct journal_folder *jf, const char *ops)
{
	char err[256];

	for (const char *o = ops; *o; o++) {
		int rc = RES_OK;

		if (*o == 'I')
			rc = journal_intent(jf, "42", 99, two_targets, 2, err, sizeof(err));
		else if (*o == 'D')
			rc = journal_done(jf, "42", err, sizeof(err));
		else if (*o == 'S')
			rc = journal_skip(jf, "42", 99, err, sizeof(err));
		else if (*o == 'X')
			rc = journal_deleted(jf, "42", err, sizeof(err));
		else if (*o == 'G')
			rc = journal_forget(jf, "42", err, sizeof(err));
		assert_int_equal(rc, RES_OK);
	}
}

static const struct {
	const char *ops;
	bool seen;
	size_t pending;
} seen_cases[] = {
    {"", false, 0},   {"I", false, 1},   {"ID", true, 0},    {"S", true, 0},
    {"IDX", true, 0}, {"IDG", false, 0}, {"IG", false, 0},   {"IDI", false, 1},
    {"II", false, 1}, {"X", true, 0},    {"IDXG", false, 0}, {"GID", true, 0},
};

static void seen_only_after_done_skip_or_deleted(void **state)
{
	const struct fx *f = *state;

	for (size_t i = 0; i < sizeof(seen_cases) / sizeof(seen_cases[0]); i++) {
		struct journal *j = jopen(f);
		struct journal_pending *p;
		size_t n;

		apply_ops(inbox(j), seen_cases[i].ops);
		for (int round = 0; round < 2; round++) {
			if (journal_seen(inbox(j), "42") != seen_cases[i].seen)
				fail_msg("ops '%s' round %d: seen should be %d", seen_cases[i].ops,
				         round, seen_cases[i].seen);
			n = journal_pending(j, &p);
			if (n != seen_cases[i].pending)
				fail_msg("ops '%s' round %d: %zu pending", seen_cases[i].ops, round,
				         n);
			journal_pending_free(p, n);
			/* The same must hold once replayed from the file. */
			j = reopen(f, j);
		}
		journal_forget(inbox(j), "42", NULL, 0);
		journal_close(j);
	}
}

static void pending_intents_survive_a_reopen(void **state)
{
	const struct fx *f = *state;
	struct journal *j = jopen(f);
	struct journal_folder *jf = inbox(j);
	struct journal_pending *p;
	size_t n;

	assert_int_equal(journal_intent(jf, "1", 11, two_targets, 2, NULL, 0), RES_OK);
	assert_int_equal(journal_intent(jf, "2", 22, two_targets, 1, NULL, 0), RES_OK);
	assert_int_equal(journal_intent(jf, "3", 33, two_targets, 2, NULL, 0), RES_OK);
	jsync(j);
	assert_int_equal(journal_done(jf, "2", NULL, 0), RES_OK);
	j = reopen(f, j);
	n = journal_pending(j, &p);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(p[i].folder, "INBOX");
		assert_true(strcmp(p[i].id, "1") == 0 || strcmp(p[i].id, "3") == 0);
		assert_int_equal(p[i].msgid, strcmp(p[i].id, "1") == 0 ? 11 : 33);
		assert_int_equal(p[i].ntargets, 2);
		assert_string_equal(p[i].targets[1].folder, "Lists/foo bar");
		assert_string_equal(p[i].targets[1].name, two_targets[1].name);
	}
	journal_pending_free(p, n);
	assert_true(journal_seen(inbox(j), "2"));
	journal_close(j);
}

/* exists() for journal_recover(): a name exists when listed in arg ("name|name|"). */
static bool fake_exists(void *arg, const char *folder, const char *name)
{
	char key[300];

	(void)folder;
	snprintf(key, sizeof(key), "%s|", name);
	return strstr(arg, key) != NULL;
}

static const struct {
	const char *existing;
	bool seen;
	size_t left, count;
} recover_cases[] = {
    /* all planned files exist: done, no second delivery */
    {"1700000000.M1P2Q1.host,S=100|1700000000.M1P2Q2.host,S=100|", true, 0, 1},
    /* none exist: forgotten, fetched again */
    {"", false, 0, 0},
    /* some exist: left to the caller, who delivers only the missing ones */
    {"1700000000.M1P2Q2.host,S=100|", false, 1, 1},
};

static void recover_marks_done_forgets_or_leaves_partial(void **state)
{
	const struct fx *f = *state;

	for (size_t i = 0; i < sizeof(recover_cases) / sizeof(recover_cases[0]); i++) {
		struct journal *j = jopen(f);
		size_t left;

		journal_forget(inbox(j), "42", NULL, 0);
		apply_ops(inbox(j), "I");
		j = reopen(f, j);
		left = journal_recover(j, fake_exists, (void *)recover_cases[i].existing);
		assert_int_equal(left, recover_cases[i].left);
		j = reopen(f, j);
		assert_int_equal(journal_seen(inbox(j), "42"), recover_cases[i].seen);
		assert_int_equal(journal_count(inbox(j)), recover_cases[i].count);
		journal_close(j);
	}
}

static void copy_prefix(const char *from, const char *to, off_t len)
{
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	char *data = xmalloc((size_t)len + 1);

	assert_non_null(in);
	assert_non_null(out);
	assert_int_equal(fread(data, 1, (size_t)len, in), (size_t)len);
	assert_int_equal(fwrite(data, 1, (size_t)len, out), (size_t)len);
	fclose(in);
	fclose(out);
	free(data);
}

/* Five done ids and a synced folder; returns the file size. */
static off_t base_journal(const struct fx *f)
{
	struct journal *j = jopen(f);
	struct journal_folder *jf = inbox(j);
	const char *ids[] = {"1", "2", "3", "4", "5"};

	for (size_t i = 0; i < 5; i++)
		assert_int_equal(journal_skip(jf, ids[i], i + 1, NULL, 0), RES_OK);
	jsync(j);
	journal_close(j);
	return file_size(f->path);
}

static void base_journal_intact(struct journal *j)
{
	struct journal_folder *jf = journal_folder_find(j, "INBOX");

	assert_non_null(jf);
	assert_int_equal(journal_uidvalidity(jf), 7);
	assert_int_equal(journal_max_uid(jf), 5);
	assert_true(journal_seen(jf, "1"));
	assert_true(journal_seen(jf, "5"));
}

static void torn_last_record_is_dropped_at_every_offset(void **state)
{
	const struct fx *f = *state;
	off_t before = base_journal(f), after;
	struct journal *j = jopen(f);
	char full[160];
	struct journal_pending *p;

	assert_int_equal(journal_intent(inbox(j), "6", 6, two_targets, 2, NULL, 0), RES_OK);
	jsync(j);
	journal_close(j);
	after = file_size(f->path);
	assert_true(after > before + 60);
	snprintf(full, sizeof(full), "%s.full", f->path);
	assert_int_equal(rename(f->path, full), 0);
	for (off_t cut = before; cut <= after; cut++) {
		size_t n;

		copy_prefix(full, f->path, cut);
		j = jopen(f);
		base_journal_intact(j);
		n = journal_pending(j, &p);
		/* The record is whole or absent, never half. */
		if (n != (cut == after ? 1u : 0u))
			fail_msg("cut at %lld of %lld: %zu pending", (long long)cut,
			         (long long)after, n);
		if (n)
			assert_string_equal(p[0].targets[1].name, two_targets[1].name);
		journal_pending_free(p, n);
		journal_close(j);
		assert_int_equal(file_size(f->path), cut == after ? after : before);
	}
}

static const struct {
	const char *what;
	const char *bytes;
	size_t len;
} garbage_cases[] = {
    {"zeros", "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16},
    {"text", "hello, this is not a record\n", 28},
    {"huge length", "\xff\xff\xff\x7f\x01\x02\x03\x04D", 9},
    {"plausible length, bad crc",
     "\x05\x00\x00\x00\xde\xad\xbe\xef"
     "D1234",
     13},
    {"one byte", "D", 1},
};

static void garbage_after_the_last_record_is_ignored_and_truncated(void **state)
{
	const struct fx *f = *state;

	for (size_t i = 0; i < sizeof(garbage_cases) / sizeof(garbage_cases[0]); i++) {
		off_t before = base_journal(f);
		FILE *fp = fopen(f->path, "ab");
		struct journal *j;

		assert_non_null(fp);
		fwrite(garbage_cases[i].bytes, 1, garbage_cases[i].len, fp);
		fclose(fp);
		j = jopen(f);
		base_journal_intact(j);
		if (file_size(f->path) != before)
			fail_msg("%s: not truncated", garbage_cases[i].what);
		/* What is appended after the truncation is readable. */
		assert_int_equal(journal_skip(inbox(j), "77", 0, NULL, 0), RES_OK);
		j = reopen(f, j);
		if (!journal_seen(inbox(j), "77"))
			fail_msg("%s: record after the truncation lost", garbage_cases[i].what);
		journal_close(j);
		unlink(f->path);
	}
}

static void uidvalidity_change_resets_folder_and_keeps_message_ids(void **state)
{
	const struct fx *f = *state;
	struct journal *j = jopen(f);
	uint64_t mid = journal_msgid_hash(" <a@example.com>\r\n", 18);
	bool changed = true;
	struct journal_folder *jf = journal_folder(j, "INBOX", 7, &changed);
	const char *listed[] = {"1"};

	assert_false(changed);
	assert_int_equal(mid, journal_msgid_hash("<a@example.com>", 15));
	assert_int_equal(journal_intent(jf, "10", mid, two_targets, 1, NULL, 0), RES_OK);
	assert_int_equal(journal_done(jf, "10", NULL, 0), RES_OK);
	assert_int_equal(journal_skip(jf, "11", 0, NULL, 0), RES_OK);
	assert_int_equal(journal_intent(jf, "12", 1234, two_targets, 1, NULL, 0), RES_OK);
	j = reopen(f, j);
	jf = journal_folder(j, "INBOX", 7, &changed);
	assert_false(changed);
	assert_int_equal(journal_max_uid(jf), 11);
	jf = journal_folder(j, "INBOX", 8, &changed);
	assert_true(changed);
	for (int round = 0; round < 2; round++) {
		assert_false(journal_seen(jf, "10"));
		assert_int_equal(journal_count(jf), 0);
		assert_int_equal(journal_max_uid(jf), 0);
		assert_true(journal_msgid_known(jf, mid));
		/* An intent that never completed is not known: better twice than never. */
		assert_false(journal_msgid_known(jf, 1234));
		j = reopen(f, j);
		jf = journal_folder(j, "INBOX", 8, &changed);
		assert_false(changed);
	}
	/* The refetch dedupes, then once everything listed is seen the hashes go. */
	assert_int_equal(journal_skip(jf, "1", mid, NULL, 0), RES_OK);
	assert_int_equal(journal_forget_missing(jf, listed, 1), 0);
	assert_false(journal_msgid_known(jf, mid));
	j = reopen(f, j);
	assert_false(journal_msgid_known(journal_folder_find(j, "INBOX"), mid));
	journal_close(j);
}

static const struct {
	const char *name;
	const char *done;   /* ids done, then "|" ids deleted */
	const char *listed; /* what the server lists */
	size_t forgotten;
	const char *seen; /* ids seen afterwards */
} missing_cases[] = {
    {"unlisted ids are forgotten", "a b c|", "a c", 1, "a c"},
    {"a deleted id still listed stays seen (DELE not committed)", "a|b", "a b", 0, "a b"},
    {"a deleted id no longer listed is forgotten", "a|b", "a", 1, "a"},
    {"an empty listing forgets everything", "a b|c", "", 3, ""},
    {"new ids in the listing are not seen", "a|", "a n", 0, "a"},
};

static size_t split_words(char *s, const char **out, size_t max)
{
	size_t n = 0;

	for (char *w = strtok(s, " "); w && n < max; w = strtok(NULL, " "))
		out[n++] = w;
	return n;
}

static void forget_missing_keeps_exactly_what_the_server_lists(void **state)
{
	const struct fx *f = *state;

	for (size_t i = 0; i < sizeof(missing_cases) / sizeof(missing_cases[0]); i++) {
		char done[32], *del, listed[32], seen[32];
		const char *ids[8], *want[8];
		size_t n, nwant;
		struct journal *j = jopen(f);
		struct journal_folder *jf = journal_folder(j, missing_cases[i].name, 0, NULL);

		snprintf(done, sizeof(done), "%s", missing_cases[i].done);
		del = strchr(done, '|');
		*del++ = '\0';
		n = split_words(done, ids, 8);
		for (size_t k = 0; k < n; k++)
			journal_skip(jf, ids[k], 0, NULL, 0);
		n = split_words(del, ids, 8);
		for (size_t k = 0; k < n; k++)
			journal_deleted(jf, ids[k], NULL, 0);
		snprintf(listed, sizeof(listed), "%s", missing_cases[i].listed);
		n = split_words(listed, ids, 8);
		if (journal_forget_missing(jf, ids, n) != missing_cases[i].forgotten)
			fail_msg("%s: forgotten count", missing_cases[i].name);
		j = reopen(f, j);
		jf = journal_folder_find(j, missing_cases[i].name);
		snprintf(seen, sizeof(seen), "%s", missing_cases[i].seen);
		nwant = split_words(seen, want, 8);
		if (journal_count(jf) != nwant)
			fail_msg("%s: %zu ids left, want %zu", missing_cases[i].name,
			         journal_count(jf), nwant);
		for (size_t k = 0; k < nwant; k++)
			if (!journal_seen(jf, want[k]))
				fail_msg("%s: %s not seen", missing_cases[i].name, want[k]);
		journal_close(j);
	}
}

/* The state as the public calls show it, for ids "1".."400" in two folders. */
static void dump_state(struct journal *j, struct buf *b)
{
	const char *names[] = {"INBOX", "Archive"};
	struct journal_pending *p;
	size_t n;

	buf_reset(b);
	for (size_t k = 0; k < 2; k++) {
		struct journal_folder *jf = journal_folder_find(j, names[k]);

		buf_printf(b, "%s uv=%u max=%u n=%zu:", names[k], journal_uidvalidity(jf),
		           journal_max_uid(jf), journal_count(jf));
		for (int i = 1; i <= 400; i++) {
			char id[16];

			snprintf(id, sizeof(id), "%d", i);
			if (journal_seen(jf, id))
				buf_printf(b, " %s", id);
			if (journal_msgid_known(jf, (uint64_t)i))
				buf_printf(b, " m%d", i);
		}
		buf_putc(b, '\n');
	}
	n = journal_pending(j, &p);
	for (size_t i = 0; i < n; i++)
		buf_printf(b, "pending %s %s %zu\n", p[i].folder, p[i].id, p[i].ntargets);
	journal_pending_free(p, n);
}

static void compaction_keeps_exactly_the_live_state(void **state)
{
	const struct fx *f = *state;
	struct journal *j = jopen(f);
	struct journal_folder *a = journal_folder(j, "INBOX", 1, NULL);
	struct journal_folder *b2 = journal_folder(j, "Archive", 5, NULL);
	const char *listed[200];
	char ids[400][12], before[1 << 15];
	struct buf b;
	off_t big;

	buf_init(&b, 1 << 20);
	for (int i = 1; i <= 400; i++) {
		snprintf(ids[i - 1], sizeof(ids[0]), "%d", i);
		journal_intent(a, ids[i - 1], (uint64_t)i, two_targets, 2, NULL, 0);
		if (i <= 390)
			journal_done(a, ids[i - 1], NULL, 0);
		if (i % 3 == 0)
			journal_deleted(a, ids[i - 1], NULL, 0);
		journal_skip(b2, ids[i - 1], (uint64_t)i, NULL, 0);
		if (i % 50 == 0)
			jsync(j);
	}
	/* Archive changes UIDVALIDITY: its hashes become legacy; it refetches 10. */
	journal_folder(j, "Archive", 6, NULL);
	for (int i = 1; i <= 10; i++)
		journal_skip(b2, ids[i - 1], 0, NULL, 0);
	for (int i = 0; i < 200; i++)
		listed[i] = ids[i + 200];
	journal_forget_missing(a, listed, 200);
	jsync(j);
	dump_state(j, &b);
	snprintf(before, sizeof(before), "%s", buf_cstr(&b));
	assert_true(strlen(before) > 1000);
	big = file_size(f->path);
	assert_int_equal(journal_compact(j, NULL, 0), RES_OK);
	assert_true(file_size(f->path) < big / 2);
	dump_state(j, &b);
	assert_string_equal(buf_cstr(&b), before);
	j = reopen(f, j);
	dump_state(j, &b);
	assert_string_equal(buf_cstr(&b), before);
	/* Still appendable after the rename. */
	journal_skip(journal_folder_find(j, "INBOX"), "1", 0, NULL, 0);
	j = reopen(f, j);
	assert_true(journal_seen(journal_folder_find(j, "INBOX"), "1"));
	journal_close(j);
	buf_free(&b);
}

static void superseded_records_trigger_compaction(void **state)
{
	const struct fx *f = *state;
	struct journal *j = jopen(f);
	struct journal_folder *jf = inbox(j);
	char id[32];

	/* POP3 keep: false: every round's ids are deleted and then no longer listed. */
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 500; i++) {
			snprintf(id, sizeof(id), "u%d-%d", round, i);
			journal_intent(jf, id, 0, two_targets, 1, NULL, 0);
			journal_done(jf, id, NULL, 0);
			journal_deleted(jf, id, NULL, 0);
		}
		jsync(j);
		journal_forget_missing(jf, NULL, 0);
		jsync(j);
	}
	/* 40,000 records were written; without compaction this is over 1.5 MB. */
	assert_true(file_size(f->path) < 200000);
	assert_int_equal(journal_count(jf), 0);
	journal_close(j);
}

static void second_open_of_an_account_is_busy(void **state)
{
	const struct fx *f = *state;
	struct journal *j = jopen(f), *other, *again;
	enum res_kind res = RES_OK;
	char err[512] = "";

	again = journal_open(f->dir, "acct", &res, err, sizeof(err));
	assert_null(again);
	assert_int_equal(res, RES_BUSY);
	assert_non_null(strstr(err, "busy"));
	other = journal_open(f->dir, "other account/..", &res, err, sizeof(err));
	assert_non_null(other);
	journal_close(other);
	journal_close(j);
	j = jopen(f);
	journal_close(j);
}

static void bad_files_and_arguments_are_permanent_errors(void **state)
{
	const struct fx *f = *state;
	struct journal *j = jopen(f);
	char longid[JOURNAL_ID_MAX + 2], err[256];
	enum res_kind res;
	FILE *fp;

	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	assert_int_equal(journal_skip(inbox(j), longid, 0, err, sizeof(err)), RES_CONFIG);
	assert_int_equal(journal_intent(inbox(j), "1", 0, two_targets, JOURNAL_TARGETS_MAX + 1, err,
	                                sizeof(err)),
	                 RES_CONFIG);
	assert_null(journal_folder(j, "", 0, NULL));
	journal_close(j);
	fp = fopen(f->path, "wb");
	fputs("CRLJ\x09\0\0\0", fp);
	fclose(fp);
	assert_null(journal_open(f->dir, "acct", &res, err, sizeof(err)));
	assert_int_equal(res, RES_CONFIG);
	fp = fopen(f->path, "wb");
	fputs("uid 1 2 3\n", fp);
	fclose(fp);
	assert_null(journal_open(f->dir, "acct", &res, err, sizeof(err)));
	assert_int_equal(res, RES_CONFIG);
	assert_non_null(strstr(err, "not a corral journal"));
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Targets with a forward: only the forward is retried, the Maildir copy exists. */
static const struct journal_target with_forward[] = {
    {.folder = "INBOX", .name = "1700000000.M1P2Q1.host,S=100"},
    {.folder = "smtp", .name = "me@phone.example", .kind = JOURNAL_FORWARD},
    {.folder = "pipe", .name = "notify-send mail", .kind = JOURNAL_PIPE},
};

static bool inbox_exists(void *arg, const char *folder, const char *name)
{
	(void)arg;
	(void)name;
	return strcmp(folder, "INBOX") == 0;
}

static void forward_outcome_is_kept_across_reopen_and_compaction(void **state)
{
	struct fx *f = *state;
	struct journal *j = jopen(f);
	struct journal_folder *jf = inbox(j);
	struct journal_pending *p;
	char err[256];
	size_t n;

	assert_int_equal(journal_intent(jf, "42", 99, with_forward, 3, err, sizeof(err)), RES_OK);
	assert_int_equal(journal_action(jf, "42", 2, JOURNAL_DONE, 0, 0, err, sizeof(err)), RES_OK);
	assert_int_equal(
	    journal_action(jf, "42", 1, JOURNAL_RETRY, 3, 1700000123, err, sizeof(err)), RES_OK);
	j = reopen(f, j);
	assert_int_equal(journal_compact(j, err, sizeof(err)), RES_OK);
	j = reopen(f, j);
	/* The Maildir copy exists and the pipe ran: only the forward is open. */
	assert_int_equal(journal_recover(j, inbox_exists, NULL), 1);
	n = journal_pending(j, &p);
	assert_int_equal(n, 1);
	assert_int_equal(p[0].ntargets, 3);
	assert_int_equal(p[0].targets[0].kind, JOURNAL_MAILDIR);
	assert_int_equal(p[0].targets[1].kind, JOURNAL_FORWARD);
	assert_string_equal(p[0].targets[1].name, "me@phone.example");
	assert_int_equal(p[0].targets[1].state, JOURNAL_RETRY);
	assert_int_equal(p[0].targets[2].state, JOURNAL_DONE);
	assert_int_equal(p[0].attempts, 3);
	assert_int_equal(p[0].last_try, 1700000123);
	journal_pending_free(p, n);
	assert_false(journal_seen(inbox(j), "42"));
	/* A permanent failure completes the forward: recovery marks the message done. */
	assert_int_equal(journal_action(inbox(j), "42", 1, JOURNAL_FAILED, 0, 0, err, sizeof(err)),
	                 RES_OK);
	assert_int_equal(journal_recover(j, inbox_exists, NULL), 0);
	assert_true(journal_seen(inbox(j), "42"));
	journal_close(j);
}

static void outcome_without_intent_changes_nothing(void **state)
{
	struct fx *f = *state;
	struct journal *j = jopen(f);
	struct journal_folder *jf = inbox(j);
	char err[256];

	assert_int_equal(journal_action(jf, "7", 0, JOURNAL_DONE, 0, 0, err, sizeof(err)), RES_OK);
	assert_false(journal_seen(jf, "7"));
	assert_int_equal(journal_action(jf, "7", 0, 9, 0, 0, err, sizeof(err)), RES_CONFIG);
	j = reopen(f, j);
	assert_false(journal_seen(inbox(j), "7"));
	journal_close(j);
}

static void hundred_thousand_ids_open_quickly(void **state)
{
	const struct fx *f = *state;
	struct journal *j = jopen(f);
	struct journal_folder *jf = inbox(j);
	struct timespec t0;
	char id[32];
	double sync_ms = 0, total;

	/* The hot path: 5000 messages in 20 batches, intents then dones, 2 syncs a batch. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int batch = 0; batch < 20; batch++) {
		struct timespec s;

		for (int pass = 0; pass < 2; pass++) {
			for (int i = batch * 250; i < (batch + 1) * 250; i++) {
				snprintf(id, sizeof(id), "%d", i + 1);
				if (pass == 0)
					journal_intent(jf, id, (uint64_t)i + 1, two_targets, 2,
					               NULL, 0);
				else
					journal_done(jf, id, NULL, 0);
			}
			clock_gettime(CLOCK_MONOTONIC, &s);
			jsync(j);
			sync_ms += ms_since(&s);
		}
	}
	total = ms_since(&t0);
	print_message("5000 messages, 20 batches: %.1f ms total, %.1f ms in 40 syncs, %.2f ms "
	              "the rest\n",
	              total, sync_ms, total - sync_ms);
	for (int i = 5000; i < 100000; i++) {
		snprintf(id, sizeof(id), "pop3-uidl-%08d", i + 1);
		journal_skip(jf, id, (uint64_t)i + 1, NULL, 0);
		if (i % 5000 == 0)
			jsync(j);
	}
	jsync(j);
	journal_close(j);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	j = jopen(f);
	print_message("100k ids: open %.1f ms, file %lld bytes\n", ms_since(&t0),
	              (long long)file_size(f->path));
	jf = inbox(j);
	assert_int_equal(journal_count(jf), 100000);
	assert_int_equal(journal_max_uid(jf), 5000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 100000; i++) {
		snprintf(id, sizeof(id), "pop3-uidl-%08d", i + 1);
		if (journal_seen(jf, id) != (i >= 5000))
			fail_msg("%s", id);
	}
	print_message("100k journal_seen: %.1f ms\n", ms_since(&t0));
	journal_close(j);
}

/* CONDSTORE's mark: durable, kept by compaction, forgotten by any later
 * change to the folder, refused while an intent is pending. */
static void condstore_mark_survives_reopen_and_is_forgotten_by_any_change(void **state)
{
	struct fx *f = *state;
	struct journal *j = jopen(f);
	struct journal_mark m = {7, 43, 9000}, got;
	char err[256];
	bool changed;

	assert_false(journal_marked(inbox(j), &got));
	assert_int_equal(journal_intent(inbox(j), "42", 5, two_targets, 2, err, sizeof(err)),
	                 RES_OK);
	assert_int_equal(journal_mark(inbox(j), &m, err, sizeof(err)), RES_CONFIG);
	assert_int_equal(journal_done(inbox(j), "42", err, sizeof(err)), RES_OK);
	assert_int_equal(journal_mark(inbox(j), &m, err, sizeof(err)), RES_OK);
	j = reopen(f, j);
	assert_true(journal_marked(inbox(j), &got));
	assert_int_equal(got.uidnext, 43);
	assert_int_equal(got.highestmodseq, 9000);
	assert_int_equal(journal_compact(j, err, sizeof(err)), RES_OK);
	j = reopen(f, j);
	assert_true(journal_marked(inbox(j), &got));
	assert_true(journal_seen(inbox(j), "42"));
	/* A forget (the server no longer lists 42) makes the mark stale. */
	assert_int_equal(journal_forget(inbox(j), "42", err, sizeof(err)), RES_OK);
	assert_false(journal_marked(inbox(j), &got));
	j = reopen(f, j);
	assert_false(journal_marked(inbox(j), &got));
	/* A UIDVALIDITY change too. */
	assert_int_equal(journal_mark(inbox(j), &m, err, sizeof(err)), RES_OK);
	assert_non_null(journal_folder(j, "INBOX", 8, &changed));
	assert_true(changed);
	assert_false(journal_marked(journal_folder_find(j, "INBOX"), &got));
	journal_close(j);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(seen_only_after_done_skip_or_deleted),
	    T(pending_intents_survive_a_reopen),
	    T(recover_marks_done_forgets_or_leaves_partial),
	    T(torn_last_record_is_dropped_at_every_offset),
	    T(garbage_after_the_last_record_is_ignored_and_truncated),
	    T(uidvalidity_change_resets_folder_and_keeps_message_ids),
	    T(forget_missing_keeps_exactly_what_the_server_lists),
	    T(compaction_keeps_exactly_the_live_state),
	    T(superseded_records_trigger_compaction),
	    T(second_open_of_an_account_is_busy),
	    T(bad_files_and_arguments_are_permanent_errors),
	    T(forward_outcome_is_kept_across_reopen_and_compaction),
	    T(outcome_without_intent_changes_nothing),
	    T(hundred_thousand_ids_open_quickly),
	    T(condstore_mark_survives_reopen_and_is_forgotten_by_any_change),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
