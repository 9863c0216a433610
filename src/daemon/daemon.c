#include "daemon/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "daemon/idle.h"
#include "daemon/notify.h"
#include "daemon/sched.h"
#include "daemon/watch-notify.h"
#include "daemon/worker.h"
#include "rules/rules.h"
#include "store/status.h"
#include "util/fs.h"
#include "util/log.h"

/* How long the fetches get to stop after SIGTERM before they are killed. */
#define STOP_GRACE_MS 20000

/* One push connection: a watcher process on one folder (IDLE), or on all
 * of the account's (NOTIFY: folder NULL). */
struct watcher {
	const char *folder;
	pid_t pid;       /* 0: not running */
	int fd;          /* its report pipe; -1 when not running */
	uint64_t due_ms; /* when to start it (again) */
	unsigned failures;
	bool ready;    /* idling now */
	bool was_up;   /* it was idling once: a restart catches up with a fetch */
	bool disabled; /* the server cannot IDLE: the account is polled */
};

/* One account. */
struct slot {
	const struct account *acct;
	size_t idx; /* in cfg->accounts and dc->rules */
	struct worker w;
	uint64_t due_ms;
	unsigned failures;
	bool again; /* news came while it was fetching */
	struct account_status st;
	/* One per folder (IDLE), then the NOTIFY one: only one kind runs. */
	struct watcher *watch;
	size_t nwatch;
	bool notify;         /* the NOTIFY watcher is used (until the server says it cannot) */
	bool *dirty;         /* per folder: NOTIFY said it has news, not fetched yet */
	bool news;           /* some folder is dirty: a fetch of those is due */
	bool partial;        /* the fetch running is of the dirty folders only */
	struct strlist only; /* their names, for the fetch running */
};

/* The IMAP server beside the daemon (params->serve_argv). */
struct server_child {
	pid_t pid; /* 0: not running */
	uint64_t due_ms, started_ms;
	unsigned failures; /* quick deaths in a row: each restart waits longer */
};

struct daemon {
	const struct daemon_params *p;
	struct server_child serve;
	struct daemon_conf *dc;
	struct daemon_conf *pending; /* a reloaded config waiting for the fetches to end */
	struct slot *slots;
	size_t nslots;
	bool stopping;
	uint64_t stop_deadline;
	uint64_t watchdog_ms, last_watchdog;
	char last_status[256];
};

/* ---- signals: a self-pipe wakes poll() ---- */

static int wake_fd[2] = {-1, -1};
static volatile sig_atomic_t got_term, got_hup, got_chld;
/* In a watcher child: its SIGTERM. */
static net_stop_flag child_stop;

static void on_signal(int sig)
{
	int saved = errno;

	if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGCHLD)
		got_chld = 1;
	else
		got_term++;
	if (write(wake_fd[1], "x", 1) < 0) {
		/* full: poll() wakes anyway */
	}
	errno = saved;
}

static void on_child_stop(int sig)
{
	(void)sig;
	child_stop = 1;
}

static void catch_signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal};

	if (pipe2(wake_fd, O_CLOEXEC | O_NONBLOCK) < 0)
		fatal("pipe: %s", strerror(errno));
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static double rnd(void)
{
	return (double)random() / ((double)RAND_MAX + 1.0);
}

/* ---- status ---- */

/* Whether one of the account's IDLE connections is waiting for news. */
static bool slot_push(const struct slot *s)
{
	for (size_t i = 0; s->watch != NULL && i <= s->nwatch; i++)
		if (s->watch[i].ready)
			return true;
	return false;
}

static const char *slot_state(const struct slot *s)
{
	if (s->w.pid > 0)
		return "fetching";
	if (s->st.last_run == 0)
		return "starting";
	if (s->failures > 0)
		return sched_state_after(s->w.last.kind);
	return slot_push(s) ? "idle" : "polling";
}

static void save_status(struct daemon *d, struct slot *s)
{
	uint64_t now = fs_now_ms();

	snprintf(s->st.state, sizeof(s->st.state), "%s", slot_state(s));
	s->st.push = slot_push(s);
	s->st.failures = s->failures;
	s->st.daemon_pid = (long)getpid();
	s->st.next_run = time(NULL) + (time_t)((s->due_ms > now ? s->due_ms - now : 0) / 1000);
	if (status_write(d->dc->cfg->state_dir, s->acct->name, &s->st) < 0)
		log_warn("%s: cannot write the status: %s", s->acct->name, strerror(errno));
}

/* STATUS= for systemd: how many accounts are in which state. */
static void tell_systemd(struct daemon *d)
{
	static const char *const states[] = {"fetching", "idle",    "polling",
	                                     "starting", "refused", "backing off"};
	size_t count[6] = {0};
	char msg[256];
	int off;

	for (size_t i = 0; i < d->nslots; i++)
		for (size_t k = 0; k < 6; k++)
			count[k] += strcmp(slot_state(&d->slots[i]), states[k]) == 0;
	off = snprintf(msg, sizeof(msg), "STATUS=%zu accounts", d->nslots);
	for (size_t k = 0; k < 6; k++)
		if (count[k] > 0 && off < (int)sizeof(msg))
			off += snprintf(msg + off, sizeof(msg) - (size_t)off, ", %zu %s", count[k],
			                states[k]);
	if (strcmp(msg, d->last_status) != 0) {
		snprintf(d->last_status, sizeof(d->last_status), "%s", msg);
		notify_send(msg);
	}
}

/* ---- slots ---- */

/*
 * Whether the account's server refused NOTIFY before a reload (said in the
 * log then: not again), or max_connections leaves no room for a watcher
 * beside a fetch.
 */
static bool notify_refused(const struct daemon *d, const struct account *a, const struct slot *old,
                           size_t nold)
{
	if (d->dc->cfg->max_connections < 2)
		return true;
	for (size_t k = 0; k < nold; k++)
		if (strcmp(old[k].acct->name, a->name) == 0 && old[k].watch != NULL &&
		    old[k].watch[old[k].nwatch].disabled && sched_same_server(old[k].acct, a))
			return true;
	return false;
}

static void build_slots(struct daemon *d, const struct slot *old, size_t nold)
{
	const struct config *cfg = d->dc->cfg;
	uint64_t now = fs_now_ms();

	d->nslots = cfg->naccounts;
	d->slots = xcalloc(d->nslots ? d->nslots : 1, sizeof(*d->slots));
	for (size_t i = 0; i < d->nslots; i++) {
		struct slot *s = &d->slots[i];
		const struct account *a = &cfg->accounts[i];

		s->acct = a;
		s->idx = i;
		s->w.acct = a;
		s->w.fd = -1;
		s->due_ms = now;
		status_read(cfg->state_dir, a->name, &s->st);
		for (size_t k = 0; k < nold; k++)
			if (strcmp(old[k].acct->name, a->name) == 0) {
				/* A reload keeps the account's rhythm and record. */
				s->due_ms = old[k].due_ms;
				s->failures = old[k].failures;
				s->st = old[k].st;
				s->w.last = old[k].w.last;
				/* A fixed config or password is tried at once. */
				if (s->failures > 0)
					s->due_ms = now;
			}
		if (a->protocol == PROTO_IMAP && a->idle) {
			s->nwatch = a->folders.n;
			s->watch = xcalloc(s->nwatch + 1, sizeof(*s->watch));
			s->dirty = xcalloc(s->nwatch, sizeof(*s->dirty));
			s->only.v = xcalloc(s->nwatch + 1, sizeof(char *));
			for (size_t k = 0; k <= s->nwatch; k++) {
				s->watch[k].folder = k < s->nwatch ? a->folders.v[k] : NULL;
				s->watch[k].fd = -1;
				s->watch[k].due_ms = now;
			}
			s->notify = a->notify && !notify_refused(d, a, old, nold);
		}
	}
}

static void free_slot(struct slot *s)
{
	free(s->watch);
	free(s->dirty);
	free(s->only.v);
}

static void free_slots(struct daemon *d)
{
	for (size_t i = 0; i < d->nslots; i++)
		free_slot(&d->slots[i]);
	free(d->slots);
	d->slots = NULL;
	d->nslots = 0;
}

/* Connections to a's server: fetches, and NOTIFY watchers (IDLE ones are
 * not counted: one per folder would take the cap). */
static unsigned server_load(const struct daemon *d, const struct account *a)
{
	unsigned k = 0;

	for (size_t i = 0; i < d->nslots; i++) {
		const struct slot *s = &d->slots[i];

		if (!sched_same_server(s->acct, a))
			continue;
		k += s->w.pid > 0;
		k += s->watch != NULL && s->watch[s->nwatch].pid > 0;
	}
	return k;
}

/* ---- fetches ---- */

static void start_fetch(struct daemon *d, struct slot *s)
{
	struct worker_params wp = {.cfg = d->dc->cfg,
	                           .rules = d->dc->rules[s->idx],
	                           .rules_problem = d->dc->rules_problem[s->idx],
	                           .fault = d->p->fault,
	                           .retry_delay_s = d->p->retry_delay_s};

	/* A fetch of the folders NOTIFY named, unless the poll is due anyway. */
	s->partial = s->news && s->due_ms > fs_now_ms();
	s->only.n = 0;
	for (size_t k = 0; s->dirty != NULL && k < s->nwatch; k++) {
		if (s->dirty[k])
			s->only.v[s->only.n++] = s->acct->folders.v[k];
		s->dirty[k] = false;
	}
	s->news = false;
	if (s->partial)
		wp.folders = &s->only;
	s->again = false;
	if (worker_start(&s->w, &wp) < 0) {
		log_err("%s: cannot start a fetch: %s", s->acct->name, strerror(errno));
		s->due_ms = fs_now_ms() + 10000;
		return;
	}
	log_debug("%s: fetching", s->acct->name);
	save_status(d, s);
}

static void fetch_done(struct daemon *d, struct slot *s)
{
	const struct fetch_stats *st = &s->w.last.st;
	int rc = worker_reap(&s->w);
	enum res_kind kind = rc == 0 ? RES_OK : s->w.last.kind;
	unsigned before = s->failures;
	uint64_t delay;

	status_fold(&s->st, time(NULL), rc, st->error, st->delivered);
	s->failures = kind == RES_OK ? 0 : s->failures + 1;
	delay = sched_next_delay(kind, s->failures, s->acct->poll_s, rnd());
	/* A fetch of some folders keeps the rhythm of the full polls. */
	if (!s->partial || kind != RES_OK)
		s->due_ms = fs_now_ms() + delay * 1000;
	s->partial = false;
	if (kind != RES_OK && d->stopping)
		log_info("%s: %s", s->acct->name, st->error[0] ? st->error : "stopped");
	else if (kind != RES_OK)
		log_err("%s: %s; next try in %llu s", s->acct->name,
		        st->error[0] ? st->error : "the fetch failed", (unsigned long long)delay);
	else if (before > 0)
		log_info("%s: recovered after %u failure%s", s->acct->name, before,
		         before > 1 ? "s" : "");
	if (st->delivered > 0 || st->failed > 0)
		log_info("%s: %llu delivered, %llu skipped, %llu deleted%s", s->acct->name,
		         (unsigned long long)st->delivered, (unsigned long long)st->skipped,
		         (unsigned long long)st->deleted, st->failed ? ", some failed" : "");
	if (s->again && kind == RES_OK)
		s->due_ms = fs_now_ms();
	save_status(d, s);
}

/* ---- watchers ---- */

static void start_watcher(struct daemon *d, struct slot *s, struct watcher *w)
{
	int pfd[2];

	(void)d;
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		w->due_ms = fs_now_ms() + 10000;
		return;
	}
	fflush(NULL);
	w->pid = fork();
	if (w->pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		w->pid = 0;
		w->due_ms = fs_now_ms() + 10000;
		return;
	}
	if (w->pid == 0) {
		struct sigaction sa = {.sa_handler = on_child_stop};

		sigemptyset(&sa.sa_mask);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		signal(SIGHUP, SIG_IGN);
		signal(SIGCHLD, SIG_DFL);
		close(pfd[0]);
		if (w->folder == NULL)
			watch_notify(s->acct, d->p->idle_check_s, pfd[1], &child_stop);
		idle_watch(s->acct, w->folder, d->p->idle_check_s, pfd[1], &child_stop);
	}
	close(pfd[1]);
	w->fd = pfd[0];
	w->ready = false;
}

static void news(struct daemon *d, struct slot *s)
{
	(void)d;
	if (s->w.pid > 0)
		s->again = true;
	else
		s->due_ms = fs_now_ms();
}

/* NOTIFY named a folder: a fetch of it (after the one running, if any). */
static void news_of(struct slot *s, int folder)
{
	if (folder < 0 || (size_t)folder >= s->nwatch) {
		if (s->w.pid > 0)
			s->again = true;
		else
			s->due_ms = fs_now_ms();
		return;
	}
	s->dirty[folder] = true;
	s->news = true;
}

/* What the NOTIFY watcher said. */
static void notify_msg(struct daemon *d, struct slot *s, struct watcher *w,
                       const struct idle_msg *m)
{
	if (m->kind == 'r') {
		log_info("%s: waiting for new mail in %zu folder%s over one connection (NOTIFY)",
		         s->acct->name, s->nwatch, s->nwatch == 1 ? "" : "s");
		/* Mail may have come before the server listened: every folder. */
		news_of(s, -1);
		w->ready = w->was_up = true;
		w->failures = 0;
		save_status(d, s);
	} else if (m->kind == 'n') {
		log_debug("%s: %s: new mail (NOTIFY)", s->acct->name,
		          m->folder >= 0 && (size_t)m->folder < s->nwatch
		              ? s->acct->folders.v[m->folder]
		              : "every folder");
		news_of(s, m->folder);
	} else if (m->kind == 'e' && m->exit != 78) {
		log_warn("%s: NOTIFY: %s", s->acct->name, m->text);
	} else if (m->kind == 'e') {
		/* Said once: the account keeps the IDLE connections from now on. */
		log_info("%s: %s; one IDLE connection per folder instead (%zu)", s->acct->name,
		         m->text, s->nwatch);
	}
}

static void watcher_read(struct daemon *d, struct slot *s, struct watcher *w)
{
	struct idle_msg m;
	ssize_t n;
	int status = 0;

	while ((n = read(w->fd, &m, sizeof(m))) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof(m) && w->folder == NULL) {
		notify_msg(d, s, w, &m);
		return;
	}
	if (n == (ssize_t)sizeof(m)) {
		if (m.kind == 'r') {
			log_info("%s: %s: waiting for new mail (IDLE)", s->acct->name, w->folder);
			/* Mail may have come while the connection was down. */
			if (w->was_up)
				news(d, s);
			w->ready = w->was_up = true;
			w->failures = 0;
			save_status(d, s);
		} else if (m.kind == 'n') {
			log_debug("%s: %s: new mail", s->acct->name, w->folder);
			news(d, s);
		} else if (m.kind == 'e' && m.exit != 78) {
			log_warn("%s: %s: IDLE: %s", s->acct->name, w->folder, m.text);
		} else if (m.kind == 'e') {
			log_info("%s: %s: %s; polling every %llu s instead", s->acct->name,
			         w->folder, m.text, (unsigned long long)s->acct->poll_s);
		}
		return;
	}
	close(w->fd);
	w->fd = -1;
	while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
		;
	w->pid = 0;
	w->ready = false;
	if (d->stopping)
		return;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 78) {
		w->disabled = true;
		/* No NOTIFY: the IDLE watchers start now. */
		if (w->folder == NULL)
			s->notify = false;
	} else {
		uint64_t delay = w->failures == 0 ? 1
		                                  : sched_next_delay(RES_TEMP, w->failures,
		                                                     s->acct->poll_s, rnd());

		w->failures++;
		w->due_ms = fs_now_ms() + delay * 1000;
	}
	save_status(d, s);
}

/* ---- the IMAP server ---- */

/* A server that ran this long before it died was not failing to start. */
#define SERVE_HEALTHY_MS     30000
#define SERVE_BACKOFF_MAX_MS 60000

static void start_serve(struct daemon *d)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct sigaction dfl = {.sa_handler = SIG_DFL};

		sigemptyset(&dfl.sa_mask);
		sigaction(SIGCHLD, &dfl, NULL);
		signal(SIGPIPE, SIG_DFL);
		execv(d->p->serve_argv[0], d->p->serve_argv);
		fprintf(stderr, "corral: cannot start the IMAP server: %s\n", strerror(errno));
		_exit(127);
	}
	if (pid < 0) {
		log_err("cannot start the IMAP server: %s", strerror(errno));
		d->serve.due_ms = fs_now_ms() + 5000;
		return;
	}
	d->serve.pid = pid;
	d->serve.started_ms = fs_now_ms();
	log_info("IMAP server started (pid %ld)", (long)pid);
}

/* Reaps the server if it ended, and says when it starts again. */
static void reap_serve(struct daemon *d)
{
	uint64_t now = fs_now_ms(), wait_ms = 1000;
	int status;

	if (d->serve.pid <= 0 || waitpid(d->serve.pid, &status, WNOHANG) != d->serve.pid)
		return;
	d->serve.pid = 0;
	if (d->stopping || d->pending != NULL)
		return;
	if (now - d->serve.started_ms < SERVE_HEALTHY_MS) {
		if (d->serve.failures < 16)
			d->serve.failures++;
		wait_ms = 1000u << (d->serve.failures < 6 ? d->serve.failures : 6);
		if (wait_ms > SERVE_BACKOFF_MAX_MS)
			wait_ms = SERVE_BACKOFF_MAX_MS;
	} else {
		d->serve.failures = 0;
	}
	d->serve.due_ms = now + wait_ms;
	if (WIFSIGNALED(status))
		log_warn("the IMAP server was killed by signal %d: starting it again in %llu s",
		         WTERMSIG(status), (unsigned long long)wait_ms / 1000);
	else
		log_warn("the IMAP server exited with status %d: starting it again in %llu s",
		         WEXITSTATUS(status), (unsigned long long)wait_ms / 1000);
}

/* ---- the loop ---- */

static void each_child(struct daemon *d, int sig)
{
	if (d->serve.pid > 0)
		kill(d->serve.pid, sig);
	for (size_t i = 0; i < d->nslots; i++) {
		struct slot *s = &d->slots[i];

		if (s->w.pid > 0)
			kill(s->w.pid, sig);
		for (size_t k = 0; s->watch != NULL && k <= s->nwatch; k++)
			if (s->watch[k].pid > 0)
				kill(s->watch[k].pid, sig);
	}
}

static size_t running(const struct daemon *d, bool watchers_too)
{
	size_t n = watchers_too && d->serve.pid > 0;

	for (size_t i = 0; i < d->nslots; i++) {
		n += d->slots[i].w.pid > 0;
		for (size_t k = 0;
		     watchers_too && d->slots[i].watch != NULL && k <= d->slots[i].nwatch; k++)
			n += d->slots[i].watch[k].pid > 0;
	}
	return n;
}

/* A NOTIFY watcher leaves room on its server for one fetch at least. */
static bool watcher_room(const struct daemon *d, const struct slot *s, const struct watcher *w)
{
	return w->folder != NULL || server_load(d, s->acct) + 1 < d->dc->cfg->max_connections;
}

/* The account due the longest whose server has room, or NULL. */
static struct slot *most_overdue(struct daemon *d, uint64_t now)
{
	struct slot *best = NULL;
	uint64_t best_due = 0;

	for (size_t i = 0; i < d->nslots; i++) {
		struct slot *s = &d->slots[i];

		uint64_t due = s->news ? 0 : s->due_ms;

		if (s->w.pid > 0 || due > now || (best != NULL && due >= best_due))
			continue;
		if (server_load(d, s->acct) < d->dc->cfg->max_connections) {
			best = s;
			best_due = due;
		}
	}
	return best;
}

/*
 * Starts what is due, the longest-waiting first (so that, with the
 * connection cap, accounts polled often cannot starve the others); returns
 * the milliseconds until the next thing is due.
 */
static uint64_t start_due(struct daemon *d)
{
	uint64_t now = fs_now_ms(), next = 60000;
	struct slot *s;

	if (d->stopping || d->pending != NULL)
		return next;
	while ((s = most_overdue(d, now)) != NULL)
		start_fetch(d, s);
	for (size_t i = 0; i < d->nslots; i++) {
		s = &d->slots[i];
		for (size_t k = 0; s->watch != NULL && k <= s->nwatch; k++) {
			struct watcher *w = &s->watch[k];

			/* NOTIFY (the last one) or IDLE per folder, never both. */
			if (w->pid > 0 || w->disabled || s->notify != (k == s->nwatch))
				continue;
			if (w->due_ms <= now && !watcher_room(d, s, w))
				w->due_ms = now + 1000;
			if (w->due_ms <= now)
				start_watcher(d, s, w);
			else if (w->due_ms - now < next)
				next = w->due_ms - now;
		}
		if (s->w.pid > 0)
			continue;
		if (s->news && next > 200)
			next = 200; /* waiting for room on its server */
		else if (s->due_ms > now && s->due_ms - now < next)
			next = s->due_ms - now;
		else if (s->due_ms <= now && next > 200)
			next = 200; /* waiting for room on its server */
	}
	return next;
}

static void try_reload(struct daemon *d)
{
	struct daemon_conf *dc;

	got_hup = 0;
	log_info("SIGHUP: loading %s again", d->dc->cfg->path);
	dc = d->p->load(d->p->ctx);
	if (dc == NULL) {
		log_err("the new config has errors (above): still running the one loaded before");
		return;
	}
	daemon_conf_free(d->pending);
	d->pending = dc;
	notify_send("RELOADING=1");
	if (running(d, false) > 0)
		log_info("the new config takes over once the fetches in flight are done");
}

/* The fetches are done: the new config takes over; watchers restart with it. */
static void swap_config(struct daemon *d)
{
	struct slot *old = d->slots;
	size_t nold = d->nslots;
	struct daemon_conf *old_dc;

	each_child(d, SIGTERM);
	/* The server reads the config when it starts: it starts again now. */
	if (d->serve.pid > 0) {
		while (waitpid(d->serve.pid, NULL, 0) < 0 && errno == EINTR)
			;
		d->serve.pid = 0;
		d->serve.due_ms = 0;
	}
	for (size_t i = 0; i < nold; i++)
		for (size_t k = 0; old[i].watch != NULL && k <= old[i].nwatch; k++) {
			struct watcher *w = &old[i].watch[k];

			if (w->fd >= 0)
				close(w->fd);
			if (w->pid > 0)
				while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR)
					;
		}
	/* The old slots point into the old config: it goes after them. */
	old_dc = d->dc;
	d->dc = d->pending;
	d->pending = NULL;
	d->slots = NULL;
	build_slots(d, old, nold);
	for (size_t i = 0; i < nold; i++)
		free_slot(&old[i]);
	free(old);
	daemon_conf_free(old_dc);
	for (size_t i = 0; i < d->nslots; i++)
		save_status(d, &d->slots[i]);
	log_info("running with the new config: %zu account%s", d->nslots,
	         d->nslots == 1 ? "" : "s");
	notify_send("READY=1");
}

static void handle_signals(struct daemon *d)
{
	char drain[64];

	while (read(wake_fd[0], drain, sizeof(drain)) > 0)
		;
	if (got_chld) {
		got_chld = 0;
		reap_serve(d);
	}
	if (got_term >= 2 && d->stopping) {
		log_warn(
		    "second stop signal: ending the fetches at once (the journal loses nothing)");
		each_child(d, SIGKILL);
		d->stop_deadline = 0;
	} else if (got_term && !d->stopping) {
		d->stopping = true;
		d->stop_deadline = fs_now_ms() + STOP_GRACE_MS;
		log_info("stopping: the fetches in flight end at their next network wait");
		notify_send("STOPPING=1");
		each_child(d, SIGTERM);
	}
	if (got_hup && !d->stopping)
		try_reload(d);
}

static void poll_once(struct daemon *d, uint64_t timeout_ms)
{
	size_t n = 1 + running(d, true), k = 1;
	struct pollfd *pf = xcalloc(n, sizeof(*pf));

	pf[0] = (struct pollfd){.fd = wake_fd[0], .events = POLLIN};
	for (size_t i = 0; i < d->nslots; i++) {
		struct slot *s = &d->slots[i];

		if (s->w.pid > 0)
			pf[k++] = (struct pollfd){.fd = s->w.fd, .events = POLLIN};
		for (size_t j = 0; s->watch != NULL && j <= s->nwatch; j++)
			if (s->watch[j].pid > 0)
				pf[k++] = (struct pollfd){.fd = s->watch[j].fd, .events = POLLIN};
	}
	if (poll(pf, k, (int)timeout_ms) < 0 && errno != EINTR)
		fatal("poll: %s", strerror(errno));
	if (pf[0].revents)
		handle_signals(d);
	k = 1;
	for (size_t i = 0; i < d->nslots; i++) {
		struct slot *s = &d->slots[i];

		if (s->w.pid > 0 && pf[k++].revents && worker_read(&s->w))
			fetch_done(d, s);
		for (size_t j = 0; s->watch != NULL && j <= s->nwatch; j++)
			if (s->watch[j].pid > 0 && pf[k++].revents)
				watcher_read(d, s, &s->watch[j]);
	}
	free(pf);
}

void daemon_conf_free(struct daemon_conf *dc)
{
	if (dc == NULL)
		return;
	for (size_t i = 0; i < dc->cfg->naccounts; i++) {
		rules_free(dc->rules[i]);
		free(dc->rules_problem[i]);
	}
	free(dc->rules);
	free(dc->rules_problem);
	config_free(dc->cfg);
	free(dc);
}

int daemon_run(const struct daemon_params *p, struct daemon_conf *dc)
{
	struct daemon d = {.p = p, .dc = dc};

	srandom((unsigned)getpid() ^ (unsigned)time(NULL));
	catch_signals();
	build_slots(&d, NULL, 0);
	d.watchdog_ms = notify_watchdog_ms();
	log_info("running: %zu account%s, state in %s", d.nslots, d.nslots == 1 ? "" : "s",
	         dc->cfg->state_dir);
	notify_send("READY=1");
	for (;;) {
		uint64_t next = start_due(&d), now;

		if (p->serve_argv != NULL && d.serve.pid == 0 && !d.stopping && d.pending == NULL) {
			now = fs_now_ms();
			if (now >= d.serve.due_ms)
				start_serve(&d);
			else if (d.serve.due_ms - now < next)
				next = d.serve.due_ms - now;
		}

		tell_systemd(&d);
		if (d.watchdog_ms > 0) {
			now = fs_now_ms();
			if (now - d.last_watchdog >= d.watchdog_ms / 2) {
				notify_send("WATCHDOG=1");
				d.last_watchdog = now;
			}
			if (next > d.watchdog_ms / 2)
				next = d.watchdog_ms / 2;
		}
		if (d.stopping) {
			reap_serve(&d);
			if (running(&d, true) == 0)
				break;
			if (fs_now_ms() >= d.stop_deadline) {
				each_child(&d, SIGKILL);
				d.stop_deadline = fs_now_ms() + 60000;
			}
			next = 200;
		}
		if (d.pending != NULL && running(&d, false) == 0) {
			swap_config(&d);
			continue;
		}
		poll_once(&d, next);
	}
	for (size_t i = 0; i < d.nslots; i++) {
		snprintf(d.slots[i].st.state, sizeof(d.slots[i].st.state), "stopped");
		status_write(d.dc->cfg->state_dir, d.slots[i].acct->name, &d.slots[i].st);
	}
	log_info("stopped");
	free_slots(&d);
	daemon_conf_free(d.pending);
	daemon_conf_free(d.dc);
	close(wake_fd[0]);
	close(wake_fd[1]);
	return 0;
}
