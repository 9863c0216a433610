/*
 * corral fetch [ACCOUNT...]: one pass over the accounts. Each account runs
 * in its own process, so a slow or dead server holds up nobody else; the
 * parent shows progress on a terminal and prints a summary.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/help.h"
#include "config/config.h"
#include "core/fetch.h"
#include "daemon/sched.h"
#include "daemon/worker.h"
#include "store/maildir.h"
#include "store/statelock.h"
#include "store/status.h"
#include "util/log.h"

/* SIGTERM / SIGINT: each fetch stops at its next network wait, commits
 * nothing of the batch in flight and reports; the parent sums up. Set by
 * the handler, read by net/ (a signal flag is the one global here). */
static net_stop_flag stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void catch_stop_signals(void)
{
	struct sigaction sa = {.sa_handler = on_stop};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

static void child_dry_run_line(void *ctx, const char *account, const char *folder, const char *id,
                               const char *what)
{
	(void)ctx;
	printf("%s %s %s: %s\n", account, folder, id, what);
}

static void human_bytes(uint64_t b, char *out, size_t n)
{
	if (b >= 1024 * 1024)
		snprintf(out, n, "%.1f MB", (double)b / (1024 * 1024));
	else if (b >= 1024)
		snprintf(out, n, "%.1f KB", (double)b / 1024);
	else
		snprintf(out, n, "%llu B", (unsigned long long)b);
}

static void draw_progress(const struct worker *w, size_t n)
{
	char line[1024], bytes[32];
	size_t off = 0;

	for (size_t i = 0; i < n && off < sizeof(line) - 100; i++) {
		const struct fetch_stats *s = &w[i].last.st;

		human_bytes(s->bytes, bytes, sizeof(bytes));
		off += (size_t)snprintf(
		    line + off, sizeof(line) - off, "%s%s %llu/%llu %s%s", i ? " | " : "",
		    w[i].acct->name, (unsigned long long)(s->delivered + s->skipped),
		    (unsigned long long)s->listed, bytes, w[i].finished ? " done" : "");
	}
	printf("\r%s\033[K", line);
	fflush(stdout);
}

/* 0; 75 when something failed temporarily; 69 when all that failed was unreachable;
 * 77 or 78 when the user must fix something. */
static int combine(int a, int b)
{
	static const int order[] = {0, EX_UNAVAILABLE, EX_TEMPFAIL, EX_NOPERM, EX_CONFIG};
	int ra = 0, rb = 0;

	for (int i = 0; i < 5; i++) {
		if (order[i] == a)
			ra = i;
		if (order[i] == b)
			rb = i;
	}
	if ((a != 0 && ra == 0) || (b != 0 && rb == 0))
		return EX_TEMPFAIL; /* a child that died on a signal */
	return ra >= rb ? a : b;
}

/* One account's end: its status recorded, its summary line printed. */
static int account_done(const struct cli *cli, const struct config *cfg, struct worker *w)
{
	const struct fetch_stats *s = &w->last.st;
	int rc = worker_reap(w);
	char bytes[32];

	if (!cli->dry_run && status_record(cfg->state_dir, w->acct->name, time(NULL), rc, s->error,
	                                   s->delivered) < 0)
		log_warn("%s: cannot record the status: %s", w->acct->name, strerror(errno));
	if (s->error[0] != '\0')
		log_err("%s: %s", w->acct->name, s->error);
	human_bytes(s->bytes, bytes, sizeof(bytes));
	if (cli->verbosity >= 0 && w->finished)
		printf("%s: %llu new, %llu delivered (%s), %llu skipped, %llu deleted%s%s\n",
		       w->acct->name, (unsigned long long)s->listed,
		       (unsigned long long)s->delivered, bytes, (unsigned long long)s->skipped,
		       (unsigned long long)s->deleted, s->failed ? ", failed: " : "",
		       s->failed ? "see above" : "");
	return rc;
}

/* How many running workers connect to acct's host. */
static unsigned server_load(const struct worker *w, size_t n, const struct account *acct)
{
	unsigned k = 0;

	for (size_t i = 0; i < n; i++)
		k += w[i].pid > 0 && sched_same_server(w[i].acct, acct);
	return k;
}

/*
 * Runs every worker, at most cfg->max_connections to one host at once (servers
 * limit connections per user and address), in the order given; returns the
 * combined exit status.
 */
static int run_workers(const struct cli *cli, const struct config *cfg, struct worker *w, size_t n)
{
	const struct worker_params wp = {.cfg = cfg,
	                                 .load_rules = cli_load_rules,
	                                 .inbox_rules = cli_inbox_rules,
	                                 .dry_run = cli->dry_run,
	                                 .dry_run_line = child_dry_run_line,
	                                 .fault = cli->fault,
	                                 .retry_delay_s = cli->retry_delay_s};
	struct pollfd *pf = xcalloc(n, sizeof(*pf));
	bool *started = xcalloc(n, sizeof(*started)), forwarded = false;
	size_t left = n;
	int rc = 0;

	while (left > 0) {
		for (size_t i = 0; i < n && !stop_requested; i++) {
			if (started[i] || server_load(w, n, w[i].acct) >= cfg->max_connections)
				continue;
			if (worker_start(&w[i], &wp) < 0)
				fatal("cannot start a fetch process: %s", strerror(errno));
			started[i] = true;
		}
		/* A SIGTERM sent to this process alone reaches every fetch too;
		 * the ones not started yet are not started. */
		if (stop_requested && !forwarded) {
			for (size_t i = 0; i < n; i++) {
				if (w[i].pid > 0)
					kill(w[i].pid, SIGTERM);
				else if (!started[i]) {
					started[i] = true;
					rc = combine(rc, EX_TEMPFAIL);
					left--;
				}
			}
			forwarded = true;
		}
		for (size_t i = 0; i < n; i++) {
			pf[i].fd = w[i].pid > 0 ? w[i].fd : -1;
			pf[i].events = POLLIN;
		}
		if (left > 0 && poll(pf, n, 1000) < 0 && errno != EINTR)
			fatal("poll: %s", strerror(errno));
		for (size_t i = 0; i < n; i++) {
			if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (worker_read(&w[i])) {
				rc = combine(rc, account_done(cli, cfg, &w[i]));
				left--;
			}
		}
		if (cli->progress)
			draw_progress(w, n);
	}
	if (cli->progress)
		printf("\n");
	free(pf);
	free(started);
	return rc;
}

static int pick_accounts(const struct config *cfg, int argc, char **argv, struct worker **out,
                         size_t *n)
{
	struct worker *w = xcalloc(cfg->naccounts + (size_t)argc, sizeof(*w));

	*n = 0;
	if (argc <= 1) {
		for (size_t i = 0; i < cfg->naccounts; i++)
			w[(*n)++].acct = &cfg->accounts[i];
	}
	for (int i = 1; i < argc; i++) {
		const struct account *a = config_account(cfg, argv[i]);

		if (a == NULL) {
			fprintf(stderr, "corral fetch: no account '%s' in %s\n", argv[i],
			        cfg->path);
			free(w);
			return -1;
		}
		w[(*n)++].acct = a;
	}
	for (size_t i = 0; i < *n; i++)
		w[i].fd = -1;
	*out = w;
	return 0;
}

int cli_lock_state(const struct config *cfg, const char *what)
{
	char holder_what[32];
	pid_t holder;
	int fd = statelock_take(cfg->state_dir, what, &holder, holder_what, sizeof(holder_what));

	if (fd == -1)
		log_err(
		    "%s is in use by corral %s (pid %ld); try again when it is done, or stop it",
		    cfg->state_dir, holder_what, (long)holder);
	else if (fd < 0)
		log_err("%s/corral.lock: %s", cfg->state_dir, strerror(errno));
	return fd;
}

void cli_upgrade_folders(const struct config *cfg)
{
	char err[512];
	struct maildir *md = maildir_open(cfg->maildir, err, sizeof(err));
	size_t n;

	/* Not fatal: the fetch reports a Maildir it cannot open with its own error. */
	if (md == NULL)
		return;
	if ((n = maildir_upgrade_all(md)) > 0)
		log_info("%s: %zu folders of an older corral brought to their modified UTF-7 names",
		         cfg->maildir, n);
	maildir_close(md);
}

int cmd_fetch(struct cli *cli, int argc, char **argv)
{
	struct config *cfg;
	struct worker *w;
	int rc, lock = -1;
	size_t n;

	for (int i = 1; i < argc; i++)
		if (argv[i][0] == '-')
			return cli_bad_usage("fetch", "unknown option", argv[i]);
	if ((cfg = cli_load_config(cli)) == NULL)
		return EX_CONFIG;
	if (pick_accounts(cfg, argc, argv, &w, &n) < 0) {
		config_free(cfg);
		return EX_USAGE;
	}
	/* A dry run writes nothing: it may run beside anything. */
	if (!cli->dry_run && (lock = cli_lock_state(cfg, "fetch")) < 0) {
		free(w);
		config_free(cfg);
		return EX_TEMPFAIL;
	}
	if (n == 0)
		log_warn("%s has no accounts: nothing to fetch", cfg->path);
	else if (!cli->dry_run)
		cli_upgrade_folders(cfg);
	catch_stop_signals();
	rc = run_workers(cli, cfg, w, n);
	free(w);
	config_free(cfg);
	if (lock >= 0)
		close(lock);
	return rc;
}
