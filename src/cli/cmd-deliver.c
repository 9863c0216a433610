/*
 * corral deliver [-a ACCOUNT]: MDA mode. One message on stdin is spooled
 * straight into the Maildir's tmp/, sorted, and made durable; exit 0 only
 * once it is on disk.
 *
 * What the MTA sees (corral(1), EXIT STATUS): 0 delivered; 75 nothing
 * delivered, keep the message and retry (no usable Maildir, a full disk, a
 * forward's 4xx, a usage mistake in the MTA's command line); 65 an empty
 * input. A local mistake never bounces: broken rules, or a config with
 * errors whose `maildir:` can still be read, deliver the message unsorted
 * into INBOX and say so on stderr and in `corral status`.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/help.h"
#include "config/config.h"
#include "core/pipeline.h"
#include "rules/rules.h"
#include "store/maildir.h"
#include "store/status.h"
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
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":a:", longopts, NULL)) != -1) {
		if (c != 'a') {
			cli_bad_option("deliver", argv, c);
			return -1;
		}
		*account = optarg;
	}
	if (optind != argc) {
		cli_bad_usage("deliver", "unexpected argument", argv[optind]);
		return -1;
	}
	return 0;
}

/* A Maildir that cannot be written is not the message's fault: the MTA keeps
 * it. Every failure of `deliver` is therefore temporary for the MTA (an
 * empty input aside, 65: there is no message). */
static int result_to_exit(int r)
{
	return res_exit_code(r == RES_OK ? RES_OK : RES_TEMP);
}

/* What one run of `deliver` holds; released by deliver_end(). */
struct delivery {
	struct config *cfg;
	struct rules *rules;
	/* A local mistake (broken rules or config): the message goes to INBOX
	 * unsorted, and this says why (stderr, `corral status`). */
	char problem[600];
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
                       bool *to_failed, bool *to_inbox)
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
		*to_inbox |= a->outcome == RES_CONFIG;
		if (a->outcome == RES_CONFIG && d->problem[0] == '\0')
			snprintf(d->problem, sizeof(d->problem),
			         "forward to %s is not possible: %s", a->name, a->why);
		if (a->outcome == RES_CONFIG)
			log_err("forward to %s is not possible: %s", a->name, a->why);
		else if (a->outcome != RES_OK && a->kind == JOURNAL_FORWARD)
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
	bool to_failed = false, to_inbox = false;
	int r = RES_OK;

	pipeline_decide(&d->pl, account, account ? config_account(d->cfg, account) : NULL, pm,
	                NULL);
	if (pipeline_plan_empty(p))
		log_info("discarded by rule #%d", pm->o.discard_rule + 1);
	if (run_actions(d, account, pm, &to_failed, &to_inbox) != 0) {
		snprintf(d->err, sizeof(d->err), "nothing delivered: the MTA will retry");
		r = RES_TEMP;
	}
	/* A forward refused for good: a copy in corral-failed. One that could not
	 * be tried (no relay: a local mistake): kept in INBOX unless the rules
	 * file it somewhere already. */
	if ((to_failed || (to_inbox && p->nfolders == 0)) && p->nfolders < PIPELINE_TARGETS_MAX) {
		p->folders[p->nfolders] = to_failed ? PIPELINE_FAILED_FOLDER : "INBOX";
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

/*
 * The config and the rules. A local mistake falls back on INBOX (d->problem
 * says why); returns 0, or EX_TEMPFAIL when there is no Maildir at all: the
 * MTA keeps the message and tries again.
 */
static int load(const struct cli *cli, struct delivery *d, const char *account)
{
	char why[400], *path;

	if ((d->cfg = cli_load_config(cli)) == NULL) {
		path = cli_config_path(cli);
		d->cfg = config_load_fallback(path);
		if (d->cfg == NULL) {
			log_err("no usable config%s%s: the message stays with the mail system, "
			        "which tries again later",
			        path ? " in " : "", path ? path : "");
			free(path);
			return EX_TEMPFAIL;
		}
		snprintf(d->problem, sizeof(d->problem), "the config %s has errors", path);
		free(path);
	} else if ((d->rules =
	                cli_load_rules(d->cfg, account ? config_account(d->cfg, account) : NULL,
	                               why, sizeof(why))) == NULL) {
		snprintf(d->problem, sizeof(d->problem), "the rules have errors (%s)", why);
	}
	if (d->problem[0] != '\0') {
		d->rules = cli_inbox_rules();
		log_err("%s: the message %s unsorted into INBOX of %s", d->problem,
		        cli->dry_run ? "would be delivered" : "is delivered", d->cfg->maildir);
	}
	return 0;
}

/* --dry-run: what would happen, printed; the message is read into memory. */
static int plan_dry(struct delivery *d, const char *account)
{
	struct pipeline_msg pm;
	char *text;

	d->data = mmap(NULL, d->size, PROT_READ, MAP_PRIVATE, d->fd, 0);
	if (d->data == MAP_FAILED) {
		d->data = NULL;
		log_err("cannot map the message: %s", strerror(errno));
		return EX_TEMPFAIL;
	}
	pipeline_read(&d->pl, d->data, d->size, &pm);
	if (pm.duplicate) {
		printf("deliver: %zu bytes: duplicate of %s, would be dropped\n", d->size,
		       pm.msgid);
	} else {
		pipeline_decide(&d->pl, account, account ? config_account(d->cfg, account) : NULL,
		                &pm, NULL);
		text = rules_outcome_text(d->rules, &pm.o);
		printf("deliver: %zu bytes: %s\n", d->size, text);
		free(text);
	}
	pipeline_msg_free(&pm);
	return 0;
}

/*
 * deliver's own status file: written when a delivery had a problem, and by
 * the first delivery after one; a delivery like the one before it writes
 * nothing (one failed open() on the common path).
 */
static void record_status(const struct cli *cli, const struct delivery *d, int rc)
{
	struct account_status st;
	bool bad = d->problem[0] != '\0' || rc != 0;

	if (cli->dry_run || d->cfg == NULL)
		return;
	status_read(d->cfg->state_dir, NULL, &st);
	if (!bad && (st.last_run == 0 || st.last_exit == 0))
		return;
	status_fold(&st, time(NULL), d->problem[0] ? EX_CONFIG : rc,
	            d->problem[0] ? d->problem : d->err, rc == 0 ? 1 : 0);
	if (status_write(d->cfg->state_dir, NULL, &st) < 0)
		log_warn("cannot record the status in %s: %s", d->cfg->state_dir, strerror(errno));
}

/* The spool: a file in the Maildir's tmp/, or for a dry run one in memory. */
static int spool_open(const struct cli *cli, struct delivery *d)
{
	int r;

	if (cli->dry_run) {
		d->fd = memfd_create("corral-dry-run", MFD_CLOEXEC);
		if (d->fd >= 0)
			return 0;
		log_err("memfd_create: %s", strerror(errno));
		return EX_TEMPFAIL;
	}
	if ((r = md_tmp_create(d->pl.b, &d->tmp, &d->fd, d->err, sizeof(d->err))) != RES_OK) {
		log_err("%s", d->err);
		return result_to_exit(r);
	}
	return 0;
}

static int deliver_one(const struct cli *cli, struct delivery *d, const char *account)
{
	struct pipeline_params pp = {.cfg = d->cfg,
	                             .rules = d->rules,
	                             .dedupe = true,
	                             .fault = cli->fault,
	                             .clean_tmp = !cli->dry_run,
	                             .dry_run = cli->dry_run};
	ssize_t size;
	int rc;

	if (pipeline_open(&d->pl, &pp, d->err, sizeof(d->err)) != RES_OK) {
		log_err("%s", d->err);
		return EX_TEMPFAIL;
	}
	d->opened = true;
	if ((rc = spool_open(cli, d)) != 0)
		return rc;
	if ((size = spool_stdin(d->fd, &d->vsize)) < 0) {
		snprintf(d->err, sizeof(d->err), "cannot spool the message into %s: %s",
		         d->tmp ? d->tmp : "memory", strerror(errno));
		log_err("%s", d->err);
		return EX_TEMPFAIL;
	}
	if (size == 0) {
		log_err("the input is empty: no message to deliver");
		return EX_DATAERR;
	}
	d->size = (size_t)size;
	return cli->dry_run ? plan_dry(d, account) : sort_and_commit(d, account);
}

int cmd_deliver(struct cli *cli, int argc, char **argv)
{
	const char *account = NULL;
	struct delivery d = {.fd = -1, .vsize = MD_VSIZE_INIT};
	int rc;

	/* The MTA's command line is a local mistake too: the message waits. */
	if (parse_args(argc, argv, &account) < 0)
		return EX_TEMPFAIL;
	if ((rc = load(cli, &d, account)) == 0)
		rc = deliver_one(cli, &d, account);
	record_status(cli, &d, rc);
	deliver_end(&d);
	return rc;
}
