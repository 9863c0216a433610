/*
 * `corral run`: the daemon. Every account is fetched when it is due (its
 * `poll:` interval, a little jitter), in a worker process (worker.h) through
 * fetch_account()'s exactly-once path, at most config max_connections at
 * once to one host. IMAP accounts with `idle: true` get a watcher process
 * per folder (idle.h) whose news makes the account due at once. After a
 * failure the account backs off (sched.h); a refused login or a config
 * problem waits an hour (or a SIGHUP).
 *
 * Signals: SIGHUP loads the config and rules again (through params->load,
 * which prints any FILE:LINE:COL errors): a broken one is refused and the
 * old one keeps running; a good one takes over once the fetches in flight
 * have finished. SIGTERM / SIGINT: the fetches stop at their next network
 * wait (what was received whole is committed, nothing is lost) and the
 * daemon exits when they have; a second one kills them at once (kill -9
 * loses nothing either: the journal).
 *
 * With server: in the config, the IMAP server runs as a child (`corral
 * serve`, a process image of its own), restarted when it dies.
 *
 * Each account's state goes to its status file (store/status.h) whenever
 * it changes; systemd hears READY=1, STATUS=, WATCHDOG=1, RELOADING=1 and
 * STOPPING=1 (notify.h).
 */
#ifndef CORRAL_DAEMON_H
#define CORRAL_DAEMON_H

#include <stdint.h>

struct config;
struct rules;

/* A loaded config with each account's compiled rules. */
struct daemon_conf {
	struct config *cfg;
	struct rules **rules; /* cfg->naccounts entries */
	/* cfg->naccounts entries, NULL for rules that compiled: at the start of
	 * `run`, broken rules are replaced by the INBOX-only set and their first
	 * error kept here for the status (worker_params.rules_problem). */
	char **rules_problem;
};

struct daemon_params {
	/* Loads the config and the rules, printing every diagnostic; NULL on any problem. */
	struct daemon_conf *(*load)(void *ctx);
	void *ctx;
	/* Test knobs (corral.1): a crash step, the first retry delay of a
	 * deferred forward, the IDLE keepalive interval in seconds. */
	const char *fault;
	uint64_t retry_delay_s;
	unsigned idle_check_s;
	/* The IMAP server's command line (execv; NULL: no server): started
	 * beside the fetches, started again when it dies (backing off), after
	 * a SIGHUP's new config took over, and stopped with the daemon. */
	char *const *serve_argv;
};

/* Frees a daemon_conf (NULL is fine). */
void daemon_conf_free(struct daemon_conf *dc);

/* Runs until SIGTERM / SIGINT; owns dc. Returns the exit status (0). */
int daemon_run(const struct daemon_params *p, struct daemon_conf *dc);

#endif
