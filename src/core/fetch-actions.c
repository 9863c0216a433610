/*
 * Forwards and pipes of a fetched batch (see fetch-int.h): run through the
 * pipeline while the tmp files still exist, before the Maildir commit,
 * each outcome journaled so that a forward that got a 4xx is retried alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "core/fetch-int.h"
#include "core/pipeline.h"
#include "util/log.h"

/* Records one action's result; a permanent failure files the message into
 * corral-failed, a local mistake (no relay) into INBOX when nothing else keeps it. */
static void act_result(struct run *r, struct item *it, struct act *a, bool *to_failed,
                       bool *to_inbox)
{
	const char *what = a->a.kind == JOURNAL_FORWARD ? "forward to" : "pipe";
	enum journal_outcome oc = JOURNAL_DONE;

	if (a->a.outcome == RES_CONFIG) {
		oc = JOURNAL_FAILED;
		*to_inbox = !it->filed;
		log_err("%s: %s %s: %s %s is not possible (%s): the message is %s", r->acct->name,
		        r->folder, it->id, what, a->a.name, a->a.why,
		        it->filed ? "kept where the rules file it" : "filed into INBOX");
	} else if (a->a.outcome == RES_PERM) {
		oc = JOURNAL_FAILED;
		*to_failed = true;
		log_warn("%s: %s %s: %s %s refused for good (%s): filed into %s", r->acct->name,
		         r->folder, it->id, what, a->a.name, a->a.why, PIPELINE_FAILED_FOLDER);
	} else if (a->a.outcome != RES_OK) {
		oc = JOURNAL_RETRY;
		a->attempts++;
		it->incomplete = true;
		log_warn("%s: %s %s: %s %s failed (%s): left on the server, retried later",
		         r->acct->name, r->folder, it->id, what, a->a.name, a->a.why);
	}
	if (journal_action(r->jf, it->id, a->idx, oc, a->attempts, (int64_t)time(NULL), r->err,
	                   sizeof(r->err)) < 0)
		log_warn("%s: journal: %s", r->acct->name, r->err);
}

/* Runs one message's forwards and pipes; a refusal adds a corral-failed copy. */
static int run_item(struct run *r, struct item *it, int fd)
{
	struct pipeline_source src = {.account = r->acct->name,
	                              .server = r->acct->host,
	                              .return_path = it->return_path,
	                              .fd = fd,
	                              .size = it->size};
	struct pipeline_action *acts[PIPELINE_TARGETS_MAX];
	const char *failed = PIPELINE_FAILED_FOLDER, *inbox = "INBOX";
	const unsigned no_flags = 0;
	bool to_failed = false, to_inbox = false;
	char *name = NULL;
	size_t n = 0;

	for (size_t i = 0; i < it->nacts && n < PIPELINE_TARGETS_MAX; i++)
		acts[n++] = &it->acts[i].a;
	pipeline_actions(&r->pl, &src, acts, n);
	/* Forwards first, then pipes: the order they ran in. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < it->nacts; i++)
			if ((it->acts[i].a.kind == JOURNAL_FORWARD) == (pass == 0))
				act_result(r, it, &it->acts[i], &to_failed, &to_inbox);
	if (it->incomplete)
		r->st->deferred++;
	if ((to_failed || to_inbox) &&
	    pipeline_file(&r->pl, it->tmp, it->size, it->vsize, to_failed ? &failed : &inbox,
	                  &no_flags, 1, &name, r->err, sizeof(r->err)) != RES_OK)
		return fetch_fail(r, RES_TEMP, "%s", r->err);
	free(name);
	return 0;
}

int fetch_run_actions(struct run *r)
{
	for (size_t i = 0; i < r->nitems; i++) {
		struct item *it = &r->items[i];
		int fd, res;

		if (!it->planned || it->nacts == 0)
			continue;
		if ((fd = open(it->tmp, O_RDONLY | O_CLOEXEC)) < 0)
			return fetch_fail(r, RES_TEMP, "%s: %s", it->tmp, strerror(errno));
		res = run_item(r, it, fd);
		close(fd);
		if (res < 0)
			return -1;
	}
	return 0;
}
