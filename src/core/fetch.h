/*
 * One account's fetch: source -> message -> rules -> Maildir -> journal ->
 * (keep: false) delete on the server. The exactly-once part of corral.
 *
 * Per batch (FETCH_BATCH_MSGS messages or FETCH_BATCH_BYTES): the bodies
 * stream into the Maildir's tmp/, each is sorted, its planned deliveries
 * are journaled as an intent (one fsync), the Maildir batch is made durable
 * (one sync + one fsync per directory), the dones are journaled (one
 * fsync), and only then are the messages deleted on the server. A crash at
 * any instant leaves either intents whose files all exist (marked done on
 * the next start: not delivered again) or none (fetched again).
 *
 * Memory: everything is owned by the caller; fetch_account() allocates
 * nothing that outlives it.
 */
#ifndef CORRAL_FETCH_H
#define CORRAL_FETCH_H

#include <stdbool.h>
#include <stdint.h>

#include "net/net.h"
#include "util/result.h"

struct config;
struct account;
struct rules;
struct strlist;

#define FETCH_BATCH_MSGS  1024
#define FETCH_BATCH_BYTES (32ull * 1024 * 1024)
/* Messages up to this size are read into a buffer to be sorted; bigger ones are mapped. */
#define FETCH_READ_MAX (16ull * 1024 * 1024)

struct fetch_stats {
	uint64_t listed;    /* new messages the server listed this run */
	uint64_t delivered; /* messages made durable (sorted into folders) */
	uint64_t bytes;     /* their size */
	uint64_t skipped;   /* duplicates and discards (seen, not delivered) */
	uint64_t deleted;   /* deleted on the server (keep: false) */
	uint64_t failed;    /* per-message failures: left on the server */
	uint64_t deferred;  /* a forward or pipe failed temporarily: left on the server, retried */
	char error[512];    /* the account's failure, for the summary; "" when none */
};

struct fetch_params {
	const struct config *cfg;
	const struct account *acct;
	struct rules *rules; /* the account's compiled rules */
	bool dry_run;        /* sort and print, write nothing, change no server */
	/* --dry-run: called for each message with what would happen to it ("Lists/x",
	 * "duplicate, skipped"); the caller shows it (the core never prints). */
	void (*dry_run_line)(void *ctx, const char *account, const char *folder, const char *id,
	                     const char *what);
	/* Test and tuning knobs, read once at start by the caller: a crash step
	 * (CORRAL_FAULT) and the first retry delay of a deferred forward or
	 * pipe in seconds (60 unless CORRAL_RETRY_DELAY says otherwise). */
	const char *fault;
	uint64_t retry_delay_s;
	/* Raised by a signal handler (SIGTERM): network waits end at once, the
	 * batch in flight is not committed and nothing is lost (NULL: never). */
	const net_stop_flag *stop;
	/* IMAP: the folders to fetch, a subset of the account's (the daemon's
	 * push names those with news); NULL: all of them. */
	const struct strlist *folders;
	/* Called now and then while fetching (may be NULL). */
	void (*progress)(void *ctx, const struct fetch_stats *st);
	void *progress_ctx;
};

/*
 * Fetches every new message of the account. Returns the account's outcome:
 * RES_OK; RES_TEMP or RES_BUSY (nothing lost, retried next run);
 * RES_UNREACHABLE when the server cannot be reached; RES_AUTH when the
 * login was refused; RES_CONFIG for a permanent problem the user must fix
 * (TLS verification, no UIDL with keep: true...). res_exit_code() maps it.
 */
enum res_kind fetch_account(const struct fetch_params *p, struct fetch_stats *st);

#endif
