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

#include "config/config.h"
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

/*
 * Broken rules do not stop the fetch: the mail is filed into INBOX unsorted
 * (`corral refile INBOX` sorts it once they are fixed) and the account's
 * exit status is EX_CONFIG, whose error the status file shows.
 */
static enum res_kind run_fetch(const struct worker_params *wp, const struct account *a,
                               struct fetch_params *p, struct fetch_stats *st, int *rc)
{
	char why[400] = "";
	const char *problem = wp->rules_problem;
	struct rules *own = NULL;
	enum res_kind kind;

	p->rules = wp->rules;
	if (p->rules == NULL &&
	    (p->rules = own = wp->load_rules(wp->cfg, a, why, sizeof(why))) == NULL) {
		p->rules = own = wp->inbox_rules();
		problem = why;
	}
	if (problem != NULL)
		log_err(
		    "%s: the rules have errors (%s): new mail is filed into INBOX unsorted until "
		    "they are fixed",
		    a->name, problem);
	kind = fetch_account(p, st);
	*rc = res_exit_code(kind);
	if (problem != NULL && kind == RES_OK) {
		snprintf(st->error, sizeof(st->error),
		         "the rules have errors (%s): mail filed into INBOX unsorted", problem);
		*rc = EX_CONFIG;
	}
	rules_free(own);
	return kind;
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
	                         .folders = wp->folders,
	                         .stop = &child_stop,
	                         .progress = child_progress,
	                         .progress_ctx = &cc};
	struct sigaction sa = {.sa_handler = on_stop};
	struct fetch_stats st;
	enum res_kind kind;
	int rc;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	kind = run_fetch(wp, a, &p, &st, &rc);
	send_report(fd, 1, rc, kind, &st);
	fflush(NULL); /* what the caller's dry_run_line printed */
	_exit(rc);
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
