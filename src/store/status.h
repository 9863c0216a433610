/*
 * Per-account run status for `corral status`: STATE/accounts/NAME.status, a
 * few "key=value" lines rewritten (new file + rename) after every fetch.
 *
 * Memory: everything is in the caller's struct; no allocation survives.
 */
#ifndef CORRAL_STATUS_H
#define CORRAL_STATUS_H

#include <stdint.h>
#include <time.h>

struct account_status {
	time_t last_run;     /* 0: never */
	time_t last_success; /* 0: never */
	int last_exit;       /* the account's exit status of the last run */
	char last_error[512];
	uint64_t fetched_last;  /* delivered by the last run */
	uint64_t fetched_total; /* delivered since the status file was made */
};

/* Reads the status of account (all zero when there is none). */
void status_read(const char *state_dir, const char *account, struct account_status *st);
/* Folds a run's result into the status and writes it; -1 with errno on failure. */
int status_record(const char *state_dir, const char *account, time_t when, int exit_status,
                  const char *error, uint64_t delivered);

#endif
