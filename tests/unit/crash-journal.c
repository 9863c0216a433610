/*
 * Crash driver for tests/integration/test-journal-crash.sh (not a unit test).
 *
 *   crash-journal run STATE    fetches forever like the fetcher would: batches
 *                              of intents, sync, dones, sync, then deletes and
 *                              forgets what the "server" no longer lists; prints
 *                              "synced N" once ids 1..N are durably done.
 *   crash-journal check STATE N CEILING
 *                              after a kill -9: the journal opens, every id of
 *                              the last WINDOW below N is seen, nothing past
 *                              a batch beyond CEILING is, no pending intent is
 *                              malformed. Prints one line, exits 1 on a problem.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/journal.h"
#include "util/log.h"

#define WINDOW    500 /* ids the server still lists */
#define BATCH_MAX 64
#define RUN_SECS  5 /* a driver nobody kills stops by itself */

static bool even_ids_exist(void *arg, const char *folder, const char *name)
{
	(void)arg;
	(void)folder;
	return (strtoul(name, NULL, 10) & 1) == 0;
}

static struct journal *open_or_die(const char *state)
{
	enum res_kind res;
	char err[512];
	struct journal *j = journal_open(state, "crash", &res, err, sizeof(err));

	if (!j) {
		printf("not ok open: %d %s\n", res, err);
		exit(1);
	}
	return j;
}

static void sync_or_die(struct journal *j)
{
	char err[512];

	if (journal_sync(j, err, sizeof(err)) != RES_OK) {
		printf("not ok sync: %s\n", err);
		exit(1);
	}
}

/* The ids the server lists after batch last: the WINDOW newest. */
static void forget_old(struct journal_folder *f, unsigned long last)
{
	static const size_t idlen = 12;
	const char *ids[WINDOW];
	char *buf = calloc(WINDOW, idlen);
	size_t n = 0;

	for (unsigned long id = last > WINDOW ? last - WINDOW + 1 : 1; id <= last; id++) {
		snprintf(buf + n * idlen, idlen, "%lu", id);
		ids[n] = buf + n * idlen;
		n++;
	}
	journal_forget_missing(f, ids, n);
	free(buf);
}

static void one_batch(struct journal *j, struct journal_folder *f, unsigned long first,
                      unsigned long n)
{
	char id[16], name[64];
	struct journal_target t[2] = {{.folder = "INBOX", .name = name},
	                              {.folder = "Archive/2024", .name = name}};

	for (unsigned long i = first; i < first + n; i++) {
		snprintf(id, sizeof(id), "%lu", i);
		snprintf(name, sizeof(name), "%lu.M1P1Q%lu.crashhost,S=1234", i, i);
		journal_intent(f, id, i * 2654435761u + 1, t, 1 + (i & 1), NULL, 0);
	}
	sync_or_die(j);
	for (unsigned long i = first; i < first + n; i++) {
		snprintf(id, sizeof(id), "%lu", i);
		journal_done(f, id, NULL, 0);
	}
	sync_or_die(j);
}

static int run(const char *state)
{
	struct journal *j = open_or_die(state);
	struct journal_folder *f;
	time_t start = time(NULL);
	unsigned long next;
	char line[64], id[16];

	journal_recover(j, even_ids_exist, NULL);
	f = journal_folder(j, "INBOX", 1, NULL);
	sync_or_die(j);
	next = journal_max_uid(f) + 1;
	/* Recovery forgot the intents of the batch a kill interrupted whose files
	 * do not exist (the odd ids): a fetch lists them again and delivers them
	 * before anything new, and so does this "server". */
	for (unsigned long i = next > BATCH_MAX ? next - BATCH_MAX : 1; i < next; i++) {
		snprintf(id, sizeof(id), "%lu", i);
		if (!journal_seen(f, id))
			one_batch(j, f, i, 1);
	}
	srand((unsigned)getpid());
	while (time(NULL) - start < RUN_SECS) {
		unsigned long n = 1 + (unsigned long)rand() % BATCH_MAX;

		one_batch(j, f, next, n);
		next += n;
		/* Only now may the caller rely on ids up to next - 1. */
		snprintf(line, sizeof(line), "synced %lu\n", next - 1);
		if (write(1, line, strlen(line)) < 0)
			return 1;
		for (unsigned long i = next - n; i < next; i++) {
			snprintf(id, sizeof(id), "%lu", i);
			journal_deleted(f, id, NULL, 0);
		}
		forget_old(f, next - 1);
		sync_or_die(j);
	}
	journal_close(j);
	return 0;
}

static off_t size_of(const struct journal *j)
{
	struct stat st;

	return stat(journal_path(j), &st) == 0 ? st.st_size : -1;
}

/* The highest id the journal holds, done or pending. */
static unsigned long top_of(unsigned long max, const struct journal_pending *p, size_t np)
{
	for (size_t i = 0; i < np; i++) {
		unsigned long id = strtoul(p[i].id, NULL, 10);

		if (id > max)
			max = id;
	}
	return max;
}

/* The verdict on one reopened journal; NULL when it holds what it must. */
static const char *verdict(struct journal_folder *f, const struct journal_pending *p, size_t np,
                           unsigned long synced, unsigned long ceiling, char *why, size_t len)
{
	unsigned long max = f ? journal_max_uid(f) : 0, lo;
	char id[16];

	if (synced && !f)
		return "folder lost";
	if (max < synced || max > ceiling + BATCH_MAX) {
		snprintf(why, len, "highest done id %lu, synced %lu, ceiling %lu", max, synced,
		         ceiling);
		return why;
	}
	lo = synced > WINDOW - 2 * BATCH_MAX ? synced - (WINDOW - 2 * BATCH_MAX) : 0;
	for (unsigned long i = lo + 1; i <= synced; i++) {
		snprintf(id, sizeof(id), "%lu", i);
		if (!journal_seen(f, id)) {
			snprintf(why, len, "id %lu synced but not seen", i);
			return why;
		}
	}
	for (size_t i = 0; i < np; i++) {
		if (p[i].ntargets < 1 || p[i].ntargets > 2 ||
		    strtoul(p[i].targets[0].name, NULL, 10) != strtoul(p[i].id, NULL, 10)) {
			snprintf(why, len, "malformed pending intent %s", p[i].id);
			return why;
		}
	}
	return NULL;
}

/*
 * synced: the last "synced N" any run printed; ids 1..N must be seen.
 * ceiling: the highest id any earlier check found, done or pending. A run
 * goes at most one batch past it: recovery completes the pending intents
 * (up to the ceiling), then one batch can be durable before its line is
 * printed. Done ids above synced are no floor: recovery completes a killed
 * batch's even ids and the next run re-delivers its odd ones, so a kill in
 * that re-delivery leaves gaps below the highest done id, and nothing lost.
 */
static int check(const char *state, unsigned long synced, unsigned long ceiling)
{
	struct journal *j = open_or_die(state);
	struct journal_folder *f = journal_folder_find(j, "INBOX");
	struct journal_pending *p;
	size_t np = journal_pending(j, &p), count = f ? journal_count(f) : 0;
	unsigned long max = f ? journal_max_uid(f) : 0, top = top_of(max, p, np);
	off_t size = size_of(j);
	char why[128];
	const char *bad = verdict(f, p, np, synced, ceiling, why, sizeof(why));

	journal_pending_free(p, np);
	journal_close(j);
	if (bad) {
		printf("not ok: %s\n", bad);
		return 1;
	}
	/* Opening again must find nothing more to repair. */
	j = open_or_die(state);
	if (size_of(j) != size) {
		journal_close(j);
		printf("not ok: second open changed the file\n");
		return 1;
	}
	printf("max %lu, top %lu, %zu ids, %zu pending, %lld bytes\n", max, top, count, np,
	       (long long)size);
	journal_close(j);
	return 0;
}

int main(int argc, char **argv)
{
	/* check shows the warning about a dropped tail; run is quiet. */
	log_set_verbosity(argc == 5 ? 0 : -1);
	/* Unbuffered: a verdict must survive a sanitizer's exit, which skips stdio's flush. */
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc == 3 && strcmp(argv[1], "run") == 0)
		return run(argv[2]);
	if (argc == 5 && strcmp(argv[1], "check") == 0)
		return check(argv[2], strtoul(argv[3], NULL, 10), strtoul(argv[4], NULL, 10));
	fprintf(stderr, "usage: crash-journal run STATE | check STATE SYNCED CEILING\n");
	return 64;
}
