/*
 * The daemon's timing decisions, as pure functions (unit-tested): when an
 * account is due again after a run, how long to back off after failures,
 * and which accounts share a server (for the connection cap).
 */
#ifndef CORRAL_DAEMON_SCHED_H
#define CORRAL_DAEMON_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "util/result.h"

struct account;

/* Backoff after temporary failures: 30 s (or the poll interval when it is
 * shorter), doubling, at most 30 minutes. */
#define SCHED_BACKOFF_FIRST_S 30
#define SCHED_BACKOFF_MAX_S   (30 * 60)
/* After a refused login or a configuration problem: an hour (a SIGHUP with
 * a fixed config tries again at once). */
#define SCHED_REFUSED_S (60 * 60)

/* Whether a and b connect to the same host (the connection cap counts per host). */
bool sched_same_server(const struct account *a, const struct account *b);

/*
 * Seconds until the next run of an account whose run ended with kind,
 * after `failures` failures in a row (counting this one; 0 on success):
 * the poll interval on success, the backoff otherwise. rnd in [0, 1)
 * spreads it: up to 10% less for the poll interval (accounts polled
 * together drift apart), up to 20% more for a backoff.
 */
uint64_t sched_next_delay(enum res_kind kind, unsigned failures, uint64_t poll_s, double rnd);

/* The state a run's outcome leaves an account in, for `corral status`:
 * "idle" (ok), "backing off" (temporary), "refused" (login or config). */
const char *sched_state_after(enum res_kind kind);

#endif
