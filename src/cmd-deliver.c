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

#include "commands.h"
#include "actions.h"
#include "config.h"
#include "dedupe.h"
#include "deliver-maildir.h"
#include "message.h"
#include "rules.h"
#include "util/fs.h"
#include "util/log.h"

/* Copies stdin into fd; returns the byte count, or -1 with errno set. */
static ssize_t spool_stdin(int fd)
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

static int result_to_exit(int r)
{
	/* A Maildir that cannot be written is not the message's fault: the MTA keeps it. */
	return r == MD_OK ? 0 : EX_TEMPFAIL;
}

/* What one run of `deliver` holds; released by deliver_end(). */
struct delivery {
	struct config *cfg;
	struct rules *rules;
	struct maildir *md;
	struct md_batch *b;
	struct dedupe *dd;
	struct actions act;
	bool committed; /* the batch took the spool file over (and removed it) */
	char *tmp;
	int fd;
	void *data;
	size_t size;
	char err[512];
};

static void deliver_end(struct delivery *d)
{
	char err[256];

	if (d->data != NULL)
		munmap(d->data, d->size);
	if (d->fd >= 0)
		close(d->fd);
	if (d->b != NULL)
		md_batch_free(d->b);
	if (d->tmp != NULL && !d->committed)
		unlink(d->tmp); /* the spool, on every path that did not deliver it */
	free(d->tmp);
	if (d->dd != NULL && dedupe_close(d->dd, err, sizeof(err)) < 0)
		log_warn("dedupe store: %s", err);
	actions_close(&d->act);
	maildir_close(d->md);
	rules_free(d->rules);
	config_free(d->cfg);
}

static int open_dedupe(struct delivery *d)
{
	char *path;

	if (d->cfg->dedupe_s == 0)
		return 0;
	if (fs_mkdir_p(d->cfg->state_dir, 0700) < 0) {
		log_err("cannot create %s: %s", d->cfg->state_dir, strerror(errno));
		return -1;
	}
	path = xasprintf("%s/dedupe", d->cfg->state_dir);
	d->dd = dedupe_open(path, d->cfg->dedupe_s, d->err, sizeof(d->err));
	free(path);
	if (d->dd == NULL)
		log_err("dedupe store: %s", d->err);
	return d->dd != NULL ? 0 : -1;
}

/*
 * Forwards and pipes run first, while nothing is delivered yet: when one
 * fails temporarily and none completed, `deliver` exits 75 and the MTA
 * retries the whole message cleanly. Once one completed, a retry would
 * repeat it, so a temporary failure then files a copy into corral-failed
 * (with the reason logged), as a permanent one does.
 */
static int run_actions(struct delivery *d, const char *account, const struct action_plan *ap,
                       const char *return_path, bool *to_failed)
{
	struct smtp_result res[ACTIONS_MAX];
	size_t done = 0, temp = 0;
	char err[512];

	if (ap->nforwards > 0) {
		actions_forward(&d->act, account, NULL, return_path, -1, d->data, d->size,
		                ap->forwards, ap->nforwards, res);
		for (size_t i = 0; i < ap->nforwards; i++) {
			done += res[i].status == SMTP_OK;
			temp += res[i].status == SMTP_TEMPFAIL;
			*to_failed |= res[i].status == SMTP_PERMFAIL;
			if (res[i].status != SMTP_OK)
				log_warn("forward to %s: %s", ap->forwards[i], res[i].text);
		}
	}
	for (size_t i = 0; i < ap->npipes; i++) {
		if (actions_pipe(ap->pipes[i], -1, d->data, d->size, err, sizeof(err)) == 0) {
			done++;
			continue;
		}
		log_warn("%s", err);
		temp++;
	}
	if (temp > 0 && done == 0 && !*to_failed)
		return EX_TEMPFAIL;
	if (temp > 0) {
		log_warn(
		    "a forward or pipe failed temporarily after another completed: the message "
		    "is filed into %s instead of being retried",
		    ACTIONS_FAILED_FOLDER);
		*to_failed = true;
	}
	return 0;
}

/* Sorts the spooled message, runs its forwards and pipes, and schedules its
 * Maildir copies; *planned 0 when it was discarded. */
static int plan(struct delivery *d, const char *account, struct msg *m, size_t *planned)
{
	struct rules_input in = {.account = account, .size = d->size};
	struct rules_outcome o;
	struct action_plan ap;
	char *return_path = msg_get(m, "Return-Path");
	bool to_failed = false;
	int r = MD_OK;

	rules_eval(d->rules, m, &in, &o, NULL);
	actions_plan(&o, d->cfg, account ? config_account(d->cfg, account) : NULL, &ap);
	*planned = actions_count(&ap);
	if (*planned == 0)
		log_info("discarded by rule #%d", o.discard_rule + 1);
	if (run_actions(d, account, &ap, return_path, &to_failed) != 0) {
		snprintf(d->err, sizeof(d->err), "nothing delivered: the MTA will retry");
		r = MD_TEMPFAIL;
	}
	if (to_failed && ap.nfolders < ACTIONS_MAX) {
		ap.folders[ap.nfolders] = ACTIONS_FAILED_FOLDER;
		ap.flags[ap.nfolders++] = 0;
	}
	for (size_t i = 0; i < ap.nfolders && r == MD_OK; i++) {
		char *name = NULL;

		r = md_batch_add_file(d->b, ap.folders[i], d->tmp, d->size, ap.flags[i], &name,
		                      d->err, sizeof(d->err));
		if (r == MD_OK)
			log_info("delivering %zu bytes to %s as %s", d->size, ap.folders[i], name);
		free(name);
	}
	/* Only Maildir copies need the commit. */
	if (ap.nfolders == 0)
		*planned = 0;
	free(return_path);
	rules_outcome_free(&o);
	return r;
}

/* Durable delivery of the spooled message; returns an exit status. */
static int sort_and_commit(struct delivery *d, const char *account)
{
	struct msg m;
	char *msgid;
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
	msg_init(&m, d->data, d->size);
	if (m.error != NULL)
		log_warn("%s (the message is delivered as it is)", m.error);
	msgid = msg_message_id(&m);
	if (d->dd != NULL && msgid != NULL && dedupe_seen(d->dd, msgid)) {
		log_info("duplicate of %s, already delivered: dropped", msgid);
		r = MD_OK;
	} else if ((r = plan(d, account, &m, &planned)) == MD_OK) {
		if (planned > 0) {
			r = md_batch_commit(d->b, d->err, sizeof(d->err));
			d->committed = true;
		}
		if (r == MD_OK && d->dd != NULL && msgid != NULL) {
			dedupe_add(d->dd, msgid);
			if (dedupe_sync(d->dd, d->err, sizeof(d->err)) < 0)
				log_warn("dedupe store: %s", d->err);
		}
	}
	if (r != MD_OK)
		log_err("%s", d->err);
	free(msgid);
	msg_free(&m);
	return result_to_exit(r);
}

int cmd_deliver(struct cli *cli, int argc, char **argv)
{
	const char *account = NULL;
	struct delivery d = {.fd = -1};
	ssize_t size;
	int rc = EX_TEMPFAIL, r;

	if (parse_args(argc, argv, &account) < 0)
		return EX_USAGE;
	if ((d.cfg = cli_load_config(cli)) == NULL)
		return EX_CONFIG;
	actions_init(&d.act, d.cfg);
	d.rules = cli_load_rules(d.cfg, account ? config_account(d.cfg, account) : NULL);
	if (d.rules == NULL) {
		rc = EX_CONFIG;
		goto out;
	}
	if ((d.md = maildir_open(d.cfg->maildir, d.err, sizeof(d.err))) == NULL) {
		log_err("%s", d.err);
		goto out;
	}
	d.b = md_batch_new(d.md);
	if ((r = md_tmp_create(d.b, &d.tmp, &d.fd, d.err, sizeof(d.err))) != MD_OK) {
		log_err("%s", d.err);
		rc = result_to_exit(r);
		goto out;
	}
	if ((size = spool_stdin(d.fd)) < 0) {
		log_err("cannot spool the message into %s: %s", d.tmp, strerror(errno));
		goto out;
	}
	if (size == 0) {
		log_err("the input is empty: no message to deliver");
		rc = EX_DATAERR;
		goto out;
	}
	d.size = (size_t)size;
	if (open_dedupe(&d) == 0)
		rc = sort_and_commit(&d, account);
out:
	deliver_end(&d);
	return rc;
}
