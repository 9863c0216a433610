/*
 * Forwards and pipes of a fetched batch (see fetch-int.h): run while the
 * tmp files still exist, before the Maildir commit, each outcome journaled
 * so that a forward that got a 4xx is retried alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "deliver-maildir.h"
#include "fetch-int.h"
#include "util/log.h"
#include "util/str.h"

/* ---- forwards and pipes, run before the Maildir commit (the tmp file still exists) ---- */

/* Records one action's result; a permanent failure files the message into corral-failed. */
static void act_result(struct run *r, struct item *it, struct act *a, int status, const char *why,
                       bool *to_failed)
{
	const char *what = a->kind == JOURNAL_FORWARD ? "forward to" : "pipe";
	enum journal_outcome oc = JOURNAL_DONE;

	if (status == SMTP_PERMFAIL) {
		oc = JOURNAL_FAILED;
		*to_failed = true;
		log_warn("%s: %s %s: %s %s refused for good (%s): filed into %s", r->acct->name,
		         r->folder, it->id, what, a->name, why, ACTIONS_FAILED_FOLDER);
	} else if (status != SMTP_OK) {
		oc = JOURNAL_RETRY;
		a->attempts++;
		it->incomplete = true;
		log_warn("%s: %s %s: %s %s failed (%s): left on the server, retried later",
		         r->acct->name, r->folder, it->id, what, a->name, why);
	}
	if (journal_action(r->jf, it->id, a->idx, oc, a->attempts, (int64_t)time(NULL), r->err,
	                   sizeof(r->err)) < 0)
		log_warn("%s: journal: %s", r->acct->name, r->err);
}

static void run_forwards(struct run *r, struct item *it, int fd, bool *to_failed)
{
	const char *rcpts[ACTIONS_MAX];
	struct act *acts[ACTIONS_MAX];
	struct smtp_result res[ACTIONS_MAX];
	size_t n = 0;

	for (size_t i = 0; i < it->nacts && n < ACTIONS_MAX; i++)
		if (it->acts[i].kind == JOURNAL_FORWARD) {
			acts[n] = &it->acts[i];
			rcpts[n++] = it->acts[i].name;
		}
	if (n == 0)
		return;
	actions_forward(&r->act, r->acct->name, r->acct->host, it->return_path, fd, NULL, it->size,
	                rcpts, n, res);
	for (size_t i = 0; i < n; i++)
		act_result(r, it, acts[i], res[i].status, res[i].text, to_failed);
}

static void run_pipes(struct run *r, struct item *it, int fd, bool *to_failed)
{
	for (size_t i = 0; i < it->nacts; i++) {
		struct act *a = &it->acts[i];
		char **argv, err[512] = "";
		int st;

		if (a->kind != JOURNAL_PIPE)
			continue;
		if (argv_split(a->name, &argv) <= 0) {
			act_result(r, it, a, SMTP_PERMFAIL, "unreadable command", to_failed);
			continue;
		}
		st = actions_pipe(argv, fd, NULL, it->size, err, sizeof(err)) == 0 ? SMTP_OK
		                                                                   : SMTP_TEMPFAIL;
		act_result(r, it, a, st, err, to_failed);
		argv_free(argv);
	}
}

int fetch_run_actions(struct run *r)
{
	for (size_t i = 0; i < r->nitems; i++) {
		struct item *it = &r->items[i];
		bool to_failed = false;
		char *name = NULL;
		int fd;

		if (!it->planned || it->nacts == 0)
			continue;
		if ((fd = open(it->tmp, O_RDONLY | O_CLOEXEC)) < 0)
			return fetch_fail(r, EX_TEMPFAIL, "%s: %s", it->tmp, strerror(errno));
		run_forwards(r, it, fd, &to_failed);
		run_pipes(r, it, fd, &to_failed);
		close(fd);
		if (it->incomplete)
			r->st->deferred++;
		if (to_failed && md_batch_add_file(r->b, ACTIONS_FAILED_FOLDER, it->tmp, it->size,
		                                   0, &name, r->err, sizeof(r->err)) != MD_OK)
			return fetch_fail(r, EX_TEMPFAIL, "%s", r->err);
		free(name);
	}
	return 0;
}
