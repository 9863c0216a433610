#include "daemon/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "rules/rules.h"
#include "util/fs.h"
#include "util/log.h"

/* The child's SIGTERM / SIGINT: read by net/ at its next wait. */
static net_stop_flag child_stop;

static void on_stop(int sig)
{
	(void)sig;
	child_stop = 1;
}

struct child_ctx {
	int fd;
	uint64_t last_ms;
};

static void send_report(int fd, int final, int rc, enum res_kind kind, const struct fetch_stats *st)
{
	struct worker_report r = {.final = final, .rc = rc, .kind = kind, .st = *st};

	/* Under PIPE_BUF: one atomic write. */
	if (write(fd, &r, sizeof(r)) < 0 && errno != EPIPE)
		log_debug("progress report: %s", strerror(errno));
}

static void child_progress(void *ctx, const struct fetch_stats *st)
{
	struct child_ctx *c = ctx;
	uint64_t t = fs_now_ms();

	if (t - c->last_ms >= 100) {
		c->last_ms = t;
		send_report(c->fd, 0, 0, RES_OK, st);
	}
}

static void run_child(const struct worker_params *wp, const struct account *a, int fd)
{
	struct child_ctx cc = {.fd = fd};
	struct fetch_params p = {.cfg = wp->cfg,
	                         .acct = a,
	                         .dry_run = wp->dry_run,
	                         .dry_run_line = wp->dry_run_line,
	                         .fault = wp->fault,
	                         .retry_delay_s = wp->retry_delay_s,
	                         .stop = &child_stop,
	                         .progress = child_progress,
	                         .progress_ctx = &cc};
	struct sigaction sa = {.sa_handler = on_stop};
	struct fetch_stats st;
	enum res_kind kind;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	p.rules = wp->rules != NULL ? wp->rules : wp->load_rules(wp->cfg, a);
	if (p.rules == NULL) {
		memset(&st, 0, sizeof(st));
		snprintf(st.error, sizeof(st.error), "the rules have errors (see above)");
		kind = RES_CONFIG;
	} else {
		kind = fetch_account(&p, &st);
	}
	send_report(fd, 1, res_exit_code(kind), kind, &st);
	fflush(NULL); /* what the caller's dry_run_line printed */
	_exit(res_exit_code(kind));
}

int worker_start(struct worker *w, const struct worker_params *p)
{
	int pfd[2];

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	fflush(NULL);
	memset(&w->last, 0, sizeof(w->last));
	w->finished = false;
	w->pid = fork();
	if (w->pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		w->pid = 0;
		return -1;
	}
	if (w->pid == 0) {
		/* The daemon's SIGCHLD handler is not for the fetch's own children. */
		signal(SIGCHLD, SIG_DFL);
		close(pfd[0]);
		run_child(p, w->acct, pfd[1]);
	}
	close(pfd[1]);
	w->fd = pfd[0];
	return 0;
}

bool worker_read(struct worker *w)
{
	struct worker_report r;
	ssize_t n;

	if (w->fd < 0)
		return true;
	while ((n = read(w->fd, &r, sizeof(r))) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof(r)) {
		w->last = r;
		if (r.final)
			w->finished = true;
		return false;
	}
	close(w->fd);
	w->fd = -1;
	return true;
}

int worker_reap(struct worker *w)
{
	int status = 0, rc = EX_TEMPFAIL;

	if (w->pid <= 0)
		return w->last.rc;
	while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
		;
	w->pid = 0;
	if (w->finished && WIFEXITED(status))
		return WEXITSTATUS(status);
	snprintf(w->last.st.error, sizeof(w->last.st.error), "the fetch process died (%s)",
	         WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "no report");
	w->last.kind = RES_TEMP;
	w->last.rc = rc;
	return rc;
}
