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
#include "config/config.h"
#include "core/fetch.h"
#include "rules/rules.h"
#include "store/status.h"
#include "util/log.h"

/* A child's report: progress while it runs, then the final one. */
struct report {
	int final;
	int rc;
	struct fetch_stats st;
};

struct worker {
	const struct account *acct;
	pid_t pid;
	int fd; /* read end of the report pipe; -1 once closed */
	struct report last;
	bool finished;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct child_ctx {
	int fd;
	uint64_t last_ms;
};

static void send_report(int fd, int final, int rc, const struct fetch_stats *st)
{
	struct report r = {.final = final, .rc = rc, .st = *st};

	/* Under PIPE_BUF: one atomic write. */
	if (write(fd, &r, sizeof(r)) < 0 && errno != EPIPE)
		log_debug("progress report: %s", strerror(errno));
}

static void child_progress(void *ctx, const struct fetch_stats *st)
{
	struct child_ctx *c = ctx;
	uint64_t t = now_ms();

	if (t - c->last_ms >= 100) {
		c->last_ms = t;
		send_report(c->fd, 0, 0, st);
	}
}

static void child_dry_run_line(void *ctx, const char *account, const char *folder, const char *id,
                               const char *what)
{
	(void)ctx;
	printf("%s %s %s: %s\n", account, folder, id, what);
}

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

static void run_child(const struct cli *cli, const struct config *cfg, const struct account *a,
                      int fd)
{
	struct child_ctx cc = {.fd = fd};
	struct fetch_params p = {.cfg = cfg,
	                         .acct = a,
	                         .dry_run = cli->dry_run,
	                         .fault = cli->fault,
	                         .retry_delay_s = cli->retry_delay_s,
	                         .stop = &stop_requested};
	struct fetch_stats st;
	int rc;

	signal(SIGPIPE, SIG_IGN);
	p.rules = cli_load_rules(cfg, a);
	if (p.rules == NULL) {
		memset(&st, 0, sizeof(st));
		snprintf(st.error, sizeof(st.error), "the rules have errors (see above)");
		rc = EX_CONFIG;
	} else {
		p.progress = child_progress;
		p.dry_run_line = child_dry_run_line;
		p.progress_ctx = &cc;
		rc = res_exit_code(fetch_account(&p, &st));
		rules_free(p.rules);
	}
	if (!cli->dry_run &&
	    status_record(cfg->state_dir, a->name, time(NULL), rc, st.error, st.delivered) < 0)
		log_warn("%s: cannot record the status: %s", a->name, strerror(errno));
	send_report(fd, 1, rc, &st);
	fflush(stdout);
	_exit(rc);
}

static int start_worker(const struct cli *cli, const struct config *cfg, struct worker *w)
{
	int pfd[2];

	if (pipe(pfd) < 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	w->pid = fork();
	if (w->pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (w->pid == 0) {
		close(pfd[0]);
		run_child(cli, cfg, w->acct, pfd[1]);
	}
	close(pfd[1]);
	w->fd = pfd[0];
	return 0;
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

static void read_report(struct worker *w)
{
	struct report r;
	ssize_t n = read(w->fd, &r, sizeof(r));

	if (n == (ssize_t)sizeof(r)) {
		w->last = r;
		if (r.final)
			w->finished = true;
		return;
	}
	close(w->fd);
	w->fd = -1;
}

static void wait_workers(const struct cli *cli, struct worker *w, size_t n)
{
	struct pollfd *pf = xcalloc(n, sizeof(*pf));
	bool forwarded = false;
	size_t open;

	do {
		/* A SIGTERM sent to this process alone reaches every fetch too. */
		if (stop_requested && !forwarded) {
			for (size_t i = 0; i < n; i++)
				if (!w[i].finished)
					kill(w[i].pid, SIGTERM);
			forwarded = true;
		}
		open = 0;
		for (size_t i = 0; i < n; i++) {
			pf[i].fd = w[i].fd;
			pf[i].events = POLLIN;
			open += w[i].fd >= 0;
		}
		if (open == 0)
			break;
		if (poll(pf, n, 1000) < 0 && errno != EINTR)
			break;
		for (size_t i = 0; i < n; i++)
			if (w[i].fd >= 0 && (pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				read_report(&w[i]);
		if (cli->progress)
			draw_progress(w, n);
	} while (open > 0);
	if (cli->progress)
		printf("\n");
	free(pf);
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

static int summarise(const struct cli *cli, struct worker *w, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		const struct fetch_stats *s = &w[i].last.st;
		int status, crc = EX_TEMPFAIL;
		char bytes[32];

		while (waitpid(w[i].pid, &status, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(status))
			crc = WEXITSTATUS(status);
		if (!w[i].finished)
			log_err("%s: the fetch process died (%s)", w[i].acct->name,
			        WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "no report");
		else if (s->error[0] != '\0')
			log_err("%s: %s", w[i].acct->name, s->error);
		human_bytes(s->bytes, bytes, sizeof(bytes));
		if (cli->verbosity >= 0 && w[i].finished)
			printf(
			    "%s: %llu new, %llu delivered (%s), %llu skipped, %llu deleted%s%s\n",
			    w[i].acct->name, (unsigned long long)s->listed,
			    (unsigned long long)s->delivered, bytes, (unsigned long long)s->skipped,
			    (unsigned long long)s->deleted, s->failed ? ", failed: " : "",
			    s->failed ? "see above" : "");
		rc = combine(rc, crc);
	}
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
	*out = w;
	return 0;
}

int cmd_fetch(struct cli *cli, int argc, char **argv)
{
	struct config *cfg;
	struct worker *w;
	size_t n;
	int rc;

	for (int i = 1; i < argc; i++)
		if (argv[i][0] == '-') {
			fprintf(stderr, "usage: corral fetch [--dry-run] [ACCOUNT...]\n");
			return EX_USAGE;
		}
	if ((cfg = cli_load_config(cli)) == NULL)
		return EX_CONFIG;
	if (pick_accounts(cfg, argc, argv, &w, &n) < 0) {
		config_free(cfg);
		return EX_USAGE;
	}
	if (n == 0)
		log_warn("%s has no accounts: nothing to fetch", cfg->path);
	catch_stop_signals();
	for (size_t i = 0; i < n; i++) {
		w[i].fd = -1;
		if (start_worker(cli, cfg, &w[i]) < 0)
			fatal("cannot start a fetch process: %s", strerror(errno));
	}
	wait_workers(cli, w, n);
	rc = summarise(cli, w, n);
	free(w);
	config_free(cfg);
	return rc;
}
