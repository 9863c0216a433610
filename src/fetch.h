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

struct config;
struct account;
struct rules;

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
	/* Called now and then while fetching (may be NULL). */
	void (*progress)(void *ctx, const struct fetch_stats *st);
	void *progress_ctx;
};

/*
 * Fetches every new message of the account. Returns an exit status:
 * 0; EX_TEMPFAIL (75) on a temporary failure (nothing lost, retried next
 * run); EX_UNAVAILABLE (69) when the server cannot be reached; EX_NOPERM
 * (77) when the login was refused; EX_CONFIG (78) for a permanent problem
 * the user must fix (TLS verification, no UIDL with keep: true...).
 */
int fetch_account(const struct fetch_params *p, struct fetch_stats *st);

#endif
