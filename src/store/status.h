/*
 * Per-account run status for `corral status`: STATE/accounts/NAME.status, a
 * few "key=value" lines rewritten (new file + rename) after every fetch,
 * and by `corral run` whenever an account's state changes, so that another
 * process can read it at any time. One writer at a time: the process that
 * holds the state directory's lock (statelock.h).
 *
 * `corral deliver` has a status of its own, STATE/deliver.status (the
 * calls below with a NULL account): it is written when a delivery had a
 * problem (broken rules or config: the message went to INBOX unsorted) and
 * by the next delivery after one, so that `corral status` shows it. Many
 * deliveries may run at once: the last rename wins, which is all a report
 * needs.
 *
 * Memory: everything is in the caller's struct; no allocation survives.
 */
#ifndef CORRAL_STATUS_H
#define CORRAL_STATUS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct account_status {
	time_t last_run;        /* 0: never */
	time_t last_success;    /* 0: never */
	int last_exit;          /* the account's exit status of the last run */
	char last_error[512];   /* the last failure's text, kept after a success */
	time_t last_error_time; /* 0: never failed */
	uint64_t fetched_last;  /* delivered by the last run */
	uint64_t fetched_total; /* delivered since the status file was made */
	/* Written by `corral run` (empty / 0 otherwise): */
	char state[24];    /* "fetching", "idle", "polling", "backing off", "refused" */
	time_t next_run;   /* the next poll, or the end of the backoff */
	unsigned failures; /* failures in a row */
	bool push;         /* new mail is pushed (IMAP IDLE) */
	long daemon_pid;   /* the `corral run` that wrote this */
};

/* Reads the status of account (all zero when there is none). */
void status_read(const char *state_dir, const char *account, struct account_status *st);
/* Writes st whole; -1 with errno on failure. */
int status_write(const char *state_dir, const char *account, const struct account_status *st);
/* Folds a run's result into st (as read before): last_run, last_success,
 * the error and its time, the counts. */
void status_fold(struct account_status *st, time_t when, int exit_status, const char *error,
                 uint64_t delivered);
/* Folds a run's result into the status and writes it; -1 with errno on failure. */
int status_record(const char *state_dir, const char *account, time_t when, int exit_status,
                  const char *error, uint64_t delivered);

#endif
