/*
 * corral deliver [-a ACCOUNT]: MDA mode. One message on stdin is spooled
 * straight into the Maildir's tmp/, sorted, and made durable; exit 0 only
 * once it is on disk. 75 on a temporary failure (the sender retries: the
 * message is not lost), 65 when the input is not a message.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli/commands.h"
#include "config/config.h"
#include "core/pipeline.h"
#include "rules/rules.h"
#include "store/maildir.h"
#include "util/log.h"

/* Copies stdin into fd, counting its CRLF size on the way (v); returns the
 * byte count, or -1 with errno set. */
static ssize_t spool_stdin(int fd, struct md_vsize *v)
{
	char buf[1 << 16];
	size_t total = 0;

	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

		if (n == 0)
			return (ssize_t)total;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));

			if (w < 0) {
				if (errno == EINTR)
					continue;
				return -1;
			}
			off += w;
		}
		md_vsize_feed(v, buf, (size_t)n);
		total += (size_t)n;
	}
}

static int parse_args(int argc, char **argv, const char **account)
{
	static const struct option longopts[] = {{"account", required_argument, NULL, 'a'},
	                                         {NULL, 0, NULL, 0}};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "a:", longopts, NULL)) != -1) {
		if (c != 'a') {
			fprintf(stderr, "usage: corral deliver [-a ACCOUNT] < MESSAGE\n");
			return -1;
		}
		*account = optarg;
	}
	if (optind != argc) {
		fprintf(stderr, "corral deliver: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

/* A Maildir that cannot be written is not the message's fault: the MTA keeps
 * it. Every failure of `deliver` is therefore temporary for the MTA. */
static int result_to_exit(int r)
{
	return res_exit_code(r == RES_OK ? RES_OK : RES_TEMP);
}

/* What one run of `deliver` holds; released by deliver_end(). */
struct delivery {
	struct config *cfg;
	struct rules *rules;
	struct pipeline pl;
	bool opened;    /* pl is open */
	bool committed; /* the batch took the spool file over (and removed it) */
	char *tmp;
	int fd;
	void *data;
	size_t size;
	struct md_vsize vsize; /* counted while spooling */
	char err[512];
};

static void deliver_end(struct delivery *d)
{
	if (d->data != NULL)
		munmap(d->data, d->size);
	if (d->fd >= 0)
		close(d->fd);
	if (d->tmp != NULL && !d->committed)
		unlink(d->tmp); /* the spool, on every path that did not deliver it */
	free(d->tmp);
	if (d->opened)
		pipeline_close(&d->pl);
	rules_free(d->rules);
	config_free(d->cfg);
}

/*
 * Forwards and pipes run first, while nothing is delivered yet: when one
 * fails temporarily and none completed, `deliver` exits 75 and the MTA
 * retries the whole message cleanly. Once one completed, a retry would
 * repeat it, so a temporary failure then files a copy into corral-failed
 * (with the reason logged), as a permanent one does.
 */
static int run_actions(struct delivery *d, const char *account, struct pipeline_msg *pm,
                       bool *to_failed)
{
	struct pipeline_source src = {.account = account,
	                              .return_path = pm->return_path,
	                              .fd = -1,
	                              .data = d->data,
	                              .size = d->size};
	struct pipeline_action *acts[PIPELINE_TARGETS_MAX];
	size_t done = 0, temp = 0;

	for (size_t i = 0; i < pm->plan.nacts; i++)
		acts[i] = &pm->plan.acts[i];
	pipeline_actions(&d->pl, &src, acts, pm->plan.nacts);
	for (size_t i = 0; i < pm->plan.nacts; i++) {
		const struct pipeline_action *a = acts[i];

		done += a->outcome == RES_OK;
		temp += a->outcome == RES_TEMP;
		*to_failed |= a->outcome == RES_PERM;
		if (a->outcome != RES_OK && a->kind == JOURNAL_FORWARD)
			log_warn("forward to %s: %s", a->name, a->why);
		else if (a->outcome != RES_OK)
			log_warn("%s", a->why);
	}
	if (temp > 0 && done == 0 && !*to_failed)
		return EX_TEMPFAIL;
	if (temp > 0) {
		log_warn(
		    "a forward or pipe failed temporarily after another completed: the message "
		    "is filed into %s instead of being retried",
		    PIPELINE_FAILED_FOLDER);
		*to_failed = true;
	}
	return 0;
}

/* Sorts the spooled message, runs its forwards and pipes, and schedules its
 * Maildir copies; *planned 0 when nothing needs the commit. */
static int plan(struct delivery *d, const char *account, struct pipeline_msg *pm, size_t *planned)
{
	struct pipeline_plan *p = &pm->plan;
	char *names[PIPELINE_TARGETS_MAX] = {NULL};
	bool to_failed = false;
	int r = RES_OK;

	pipeline_decide(&d->pl, account, account ? config_account(d->cfg, account) : NULL, pm,
	                NULL);
	if (pipeline_plan_empty(p))
		log_info("discarded by rule #%d", pm->o.discard_rule + 1);
	if (run_actions(d, account, pm, &to_failed) != 0) {
		snprintf(d->err, sizeof(d->err), "nothing delivered: the MTA will retry");
		r = RES_TEMP;
	}
	if (to_failed && p->nfolders < PIPELINE_TARGETS_MAX) {
		p->folders[p->nfolders] = PIPELINE_FAILED_FOLDER;
		p->flags[p->nfolders++] = 0;
	}
	if (r == RES_OK)
		r = pipeline_file(&d->pl, d->tmp, d->size, md_vsize_value(&d->vsize), p->folders,
		                  p->flags, p->nfolders, names, d->err, sizeof(d->err));
	for (size_t i = 0; r == RES_OK && i < p->nfolders; i++)
		log_info("delivering %zu bytes to %s as %s", d->size, p->folders[i], names[i]);
	for (size_t i = 0; i < p->nfolders; i++)
		free(names[i]);
	/* Only Maildir copies need the commit. */
	*planned = p->nfolders;
	return r;
}

/* Durable delivery of the spooled message; returns an exit status. */
static int sort_and_commit(struct delivery *d, const char *account)
{
	struct pipeline_msg pm;
	size_t planned = 0;
	int r;

	if (d->size > 0) {
		d->data = mmap(NULL, d->size, PROT_READ, MAP_PRIVATE, d->fd, 0);
		if (d->data == MAP_FAILED) {
			d->data = NULL;
			log_err("cannot map %s: %s", d->tmp, strerror(errno));
			return EX_TEMPFAIL;
		}
	}
	pipeline_read(&d->pl, d->data, d->size, &pm);
	if (pm.m.error != NULL)
		log_warn("%s (the message is delivered as it is)", pm.m.error);
	if (pm.duplicate) {
		log_info("duplicate of %s, already delivered: dropped", pm.msgid);
		r = RES_OK;
	} else if ((r = plan(d, account, &pm, &planned)) == RES_OK) {
		r = pipeline_commit(&d->pl, &pm.msgid, 1, d->err, sizeof(d->err));
		d->committed = planned > 0;
	}
	if (r != RES_OK)
		log_err("%s", d->err);
	pipeline_msg_free(&pm);
	return result_to_exit(r);
}

int cmd_deliver(struct cli *cli, int argc, char **argv)
{
	const char *account = NULL;
	struct delivery d = {.fd = -1, .vsize = MD_VSIZE_INIT};
	struct pipeline_params pp = {.dedupe = true, .fault = cli->fault, .clean_tmp = true};
	ssize_t size;
	int rc = EX_TEMPFAIL, r;

	if (parse_args(argc, argv, &account) < 0)
		return EX_USAGE;
	if ((d.cfg = cli_load_config(cli)) == NULL)
		return EX_CONFIG;
	d.rules = cli_load_rules(d.cfg, account ? config_account(d.cfg, account) : NULL);
	if (d.rules == NULL) {
		rc = EX_CONFIG;
		goto out;
	}
	pp.cfg = d.cfg;
	pp.rules = d.rules;
	if (pipeline_open(&d.pl, &pp, d.err, sizeof(d.err)) != RES_OK) {
		log_err("%s", d.err);
		goto out;
	}
	d.opened = true;
	if ((r = md_tmp_create(d.pl.b, &d.tmp, &d.fd, d.err, sizeof(d.err))) != RES_OK) {
		log_err("%s", d.err);
		rc = result_to_exit(r);
		goto out;
	}
	if ((size = spool_stdin(d.fd, &d.vsize)) < 0) {
		log_err("cannot spool the message into %s: %s", d.tmp, strerror(errno));
		goto out;
	}
	if (size == 0) {
		log_err("the input is empty: no message to deliver");
		rc = EX_DATAERR;
		goto out;
	}
	d.size = (size_t)size;
	rc = sort_and_commit(&d, account);
out:
	deliver_end(&d);
	return rc;
}
