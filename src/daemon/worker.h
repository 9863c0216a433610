/*
 * A fetch in its own process: one account's fetch_account() in a forked
 * child, so that a slow or dead server holds up nobody else and a crash
 * hurts one account only. The child reports over a pipe (progress now and
 * then, then a final report) and exits with the account's exit status.
 * Used by `corral fetch` (every account once) and `corral run` (each account
 * when it is due).
 *
 * The child stops at its next network wait on SIGTERM (fetch.h: nothing of
 * the batch in flight is lost). Status files are written by the parent,
 * from the final report: one writer.
 */
#ifndef CORRAL_DAEMON_WORKER_H
#define CORRAL_DAEMON_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/fetch.h"

struct config;
struct account;
struct rules;

struct worker_report {
	int final;          /* 0: progress, 1: the last one */
	int rc;             /* the exit status (sysexits) */
	enum res_kind kind; /* the outcome, for the daemon's backoff */
	struct fetch_stats st;
};

struct worker_params {
	const struct config *cfg;
	/* The account's compiled rules; NULL: the child compiles them with
	 * load_rules (which prints its diagnostics and fills why), as `corral
	 * fetch` does. */
	struct rules *rules;
	struct rules *(*load_rules)(const struct config *cfg, const struct account *acct, char *why,
	                            size_t whylen);
	/* Rules that would not compile: the child sorts with inbox_rules()
	 * instead (every message to INBOX), and a fetch that otherwise worked
	 * ends with EX_CONFIG and rules_problem as its error, so that the
	 * status shows it. Set by `run` for rules it replaced at its start. */
	const char *rules_problem;
	struct rules *(*inbox_rules)(void);
	bool dry_run;
	void (*dry_run_line)(void *ctx, const char *account, const char *folder, const char *id,
	                     const char *what);
	const char *fault;
	uint64_t retry_delay_s;
	/* The folders to fetch (the push named them); NULL: all the account's. */
	const struct strlist *folders;
};

struct worker {
	const struct account *acct;
	pid_t pid; /* 0: not running */
	int fd;    /* read end of the report pipe; -1 once closed */
	struct worker_report last;
	bool finished; /* the final report came */
};

/* Forks the fetch of w->acct. 0, or -1 with errno (nothing started). */
int worker_start(struct worker *w, const struct worker_params *p);

/* Reads the reports waiting on w->fd (call when poll() says so); closes fd
 * at the end of the stream. Returns true when the stream ended. */
bool worker_read(struct worker *w);

/*
 * Waits for the child (after worker_read() said the stream ended) and
 * returns its exit status: the final report's, or 75 when it died without
 * one (then w->last.st.error says how it died). w->pid becomes 0.
 */
int worker_reap(struct worker *w);

#endif
