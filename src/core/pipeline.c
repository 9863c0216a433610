/*
 * The one per-message pipeline (pipeline.h).
 */
#include "core/pipeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "out/pipe.h"
#include "out/smtp.h"
#include "store/dedupe.h"
#include "store/maildir.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/str.h"

static enum res_kind open_dedupe(struct pipeline *pl, bool dry_run, char *err, size_t errlen)
{
	const struct config *cfg = pl->cfg;
	char why[256];
	char *path;

	if (!dry_run && fs_mkdir_p(cfg->state_dir, 0700) < 0) {
		snprintf(err, errlen, "cannot create %s: %s", cfg->state_dir, strerror(errno));
		return RES_TEMP;
	}
	path = xasprintf("%s/dedupe", cfg->state_dir);
	pl->dd = dry_run ? dedupe_open_readonly(path, cfg->dedupe_s, why, sizeof(why))
	                 : dedupe_open(path, cfg->dedupe_s, why, sizeof(why));
	free(path);
	if (pl->dd == NULL) {
		snprintf(err, errlen, "dedupe store: %s", why);
		return RES_TEMP;
	}
	return RES_OK;
}

enum res_kind pipeline_open(struct pipeline *pl, const struct pipeline_params *p, char *err,
                            size_t errlen)
{
	memset(pl, 0, sizeof(*pl));
	pl->cfg = p->cfg;
	pl->rules = p->rules;
	if (p->dry_run)
		return p->dedupe && p->cfg->dedupe_s > 0 ? open_dedupe(pl, true, err, errlen)
		                                         : RES_OK;
	pl->md = maildir_open(p->cfg->maildir, err, errlen);
	if (pl->md == NULL)
		return RES_TEMP;
	if (p->clean_tmp)
		maildir_clean_tmp(pl->md);
	pl->b = md_batch_new(pl->md);
	if (p->fault != NULL && strcmp(p->fault, "mid-link") == 0)
		md_batch_crash_mid_link(pl->b);
	if (p->dedupe && p->cfg->dedupe_s > 0)
		return open_dedupe(pl, false, err, errlen);
	return RES_OK;
}

void pipeline_close(struct pipeline *pl)
{
	char err[256];

	if (pl->dd != NULL && dedupe_close(pl->dd, err, sizeof(err)) < 0)
		log_warn("dedupe store: %s", err);
	smtp_close(pl->smtp);
	md_batch_free(pl->b);
	maildir_close(pl->md);
	memset(pl, 0, sizeof(*pl));
}

/* ---- sort: message, dedupe, rules, plan ---- */

void pipeline_read(struct pipeline *pl, const char *data, size_t size, struct pipeline_msg *pm)
{
	/* Not a memset: the plan's arrays are filled as they are used. */
	pm->decided = false;
	pm->duplicate = false;
	msg_init(&pm->m, data, size);
	pm->size = size;
	pm->msgid = msg_message_id(&pm->m);
	if (pm->msgid == NULL)
		pm->msgid =
		    xasprintf("<digest.%016llx.%zu@corral>",
		              (unsigned long long)journal_msgid_hash(data, pm->m.body_start), size);
	pm->return_path = msg_get(&pm->m, "Return-Path");
	pm->duplicate = pl->dd != NULL && dedupe_seen(pl->dd, pm->msgid);
}

void pipeline_plan_act(struct pipeline_plan *plan, enum journal_action kind, char *name)
{
	if (plan->nfolders + plan->nacts >= PIPELINE_TARGETS_MAX) {
		free(name);
		return;
	}
	plan->acts =
	    xreallocarray_grow(plan->acts, &plan->capacts, plan->nacts + 1, sizeof(*plan->acts));
	plan->acts[plan->nacts++] = (struct pipeline_action){.kind = kind, .name = name};
}

void pipeline_plan_free(struct pipeline_plan *plan)
{
	for (size_t i = 0; i < plan->nacts; i++)
		free(plan->acts[i].name);
	free(plan->acts);
	plan->acts = NULL;
	plan->nacts = plan->capacts = 0;
}

bool pipeline_plan_empty(const struct pipeline_plan *plan)
{
	return plan->nfolders + plan->nacts == 0;
}

static void plan_outcome(const struct rules_outcome *o, const struct config *cfg,
                         const struct account *a, struct pipeline_plan *p)
{
	bool to_relay = a != NULL && a->deliver == DELIVER_SMTP && cfg->smtp.to != NULL;

	p->nfolders = 0;
	p->acts = NULL;
	p->nacts = p->capacts = 0;
	for (size_t i = 0; i < o->ndeliveries && p->nfolders < PIPELINE_TARGETS_MAX; i++) {
		p->folders[p->nfolders] = o->deliveries[i].folder;
		p->flags[p->nfolders++] = o->deliveries[i].flags;
	}
	for (size_t i = 0; i < o->nforwards; i++)
		pipeline_plan_act(p, JOURNAL_FORWARD, xstrdup(o->forwards[i].addr));
	/* fetchmail style: what would be filed goes to the relay, once. */
	if (to_relay && p->nfolders > 0) {
		p->nfolders = 0;
		pipeline_plan_act(p, JOURNAL_FORWARD, xstrdup(cfg->smtp.to));
	}
	for (size_t i = 0; i < o->npipes; i++)
		pipeline_plan_act(p, JOURNAL_PIPE, argv_join(o->pipes[i].argv));
}

void pipeline_decide(struct pipeline *pl, const char *name, const struct account *a,
                     struct pipeline_msg *pm, struct rules_trace *trace)
{
	struct rules_input in = {.account = name, .size = pm->size};

	rules_eval(pl->rules, &pm->m, &in, &pm->o, trace);
	plan_outcome(&pm->o, pl->cfg, a, &pm->plan);
	pm->decided = true;
}

void pipeline_msg_free(struct pipeline_msg *pm)
{
	if (pm->decided) {
		pipeline_plan_free(&pm->plan);
		rules_outcome_free(&pm->o);
	}
	free(pm->msgid);
	free(pm->return_path);
	msg_free(&pm->m);
	pm->msgid = pm->return_path = NULL;
	pm->decided = false;
}

/* ---- forwards and pipes ---- */

static void refuse_all(struct pipeline_action **acts, size_t n, enum res_kind kind, const char *why)
{
	for (size_t i = 0; i < n; i++) {
		acts[i]->outcome = kind;
		snprintf(acts[i]->why, sizeof(acts[i]->why), "%.*s", (int)sizeof(acts[i]->why) - 1,
		         why);
	}
}

/* One transaction for every forward of the message. */
static void run_forwards(struct pipeline *pl, const struct pipeline_source *src,
                         struct pipeline_action **acts, size_t n)
{
	const char *rcpts[PIPELINE_TARGETS_MAX];
	struct smtp_result res[PIPELINE_TARGETS_MAX];
	struct smtp_msg m = {.fd = src->fd, .data = src->data, .len = src->size};
	const char *who = src->account ? src->account : "deliver";
	char err[512];
	char *from, *received;

	if (!pl->cfg->smtp.present)
		return refuse_all(acts, n, RES_CONFIG,
		                  "no smtp relay is configured (smtp: in the config)");
	if (pl->smtp == NULL && (pl->smtp = smtp_open(&pl->cfg->smtp, err, sizeof(err))) == NULL)
		return refuse_all(acts, n, RES_PERM, err);
	for (size_t i = 0; i < n; i++)
		rcpts[i] = acts[i]->name;
	from =
	    smtp_envelope_from(src->return_path, src->return_path ? strlen(src->return_path) : 0);
	received = smtp_received_line(who, src->server ? src->server : "localhost",
	                              n == 1 ? rcpts[0] : NULL, time(NULL));
	m.from = from;
	m.received = received;
	if (smtp_send(pl->smtp, &m, rcpts, n, res, err, sizeof(err)) != RES_OK)
		log_warn("%s: forward through %s: %s", who, smtp_peer(pl->smtp), err);
	for (size_t i = 0; i < n; i++) {
		acts[i]->outcome = res[i].status;
		snprintf(acts[i]->why, sizeof(acts[i]->why), "%s", res[i].text);
	}
	free(from);
	free(received);
}

static void run_pipe(const struct pipeline_source *src, struct pipeline_action *a)
{
	char **argv;

	if (argv_split(a->name, &argv) <= 0) {
		a->outcome = RES_PERM;
		snprintf(a->why, sizeof(a->why), "unreadable command");
		return;
	}
	a->why[0] = '\0';
	a->outcome = pipe_deliver((const char *const *)argv, src->fd, src->data, src->size, 0,
	                          a->why, sizeof(a->why));
	argv_free(argv);
}

void pipeline_actions(struct pipeline *pl, const struct pipeline_source *src,
                      struct pipeline_action **acts, size_t n)
{
	struct pipeline_action *fw[PIPELINE_TARGETS_MAX];
	size_t nfw = 0;

	for (size_t i = 0; i < n && nfw < PIPELINE_TARGETS_MAX; i++)
		if (acts[i]->kind == JOURNAL_FORWARD)
			fw[nfw++] = acts[i];
	if (nfw > 0)
		run_forwards(pl, src, fw, nfw);
	for (size_t i = 0; i < n; i++)
		if (acts[i]->kind == JOURNAL_PIPE)
			run_pipe(src, acts[i]);
}

/* ---- the Maildir batch ---- */

enum res_kind pipeline_file(struct pipeline *pl, const char *tmp, size_t size, size_t vsize,
                            const char *const *folders, const unsigned *flags, size_t n,
                            char **names, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		int r = md_batch_add_file(pl->b, folders[i], tmp, size, vsize, flags[i], &names[i],
		                          err, errlen);

		if (r != RES_OK) {
			for (size_t k = 0; k < i; k++) {
				free(names[k]);
				names[k] = NULL;
			}
			return r;
		}
	}
	return RES_OK;
}

enum res_kind pipeline_commit(struct pipeline *pl, char *const *msgids, size_t n, char *err,
                              size_t errlen)
{
	char derr[256];
	int r = md_batch_commit(pl->b, err, errlen);
	bool added = false;

	if (r != RES_OK)
		return r;
	for (size_t i = 0; pl->dd != NULL && i < n; i++)
		if (msgids[i] != NULL) {
			dedupe_add(pl->dd, msgids[i]);
			added = true;
		}
	if (added && dedupe_sync(pl->dd, derr, sizeof(derr)) < 0)
		log_warn("dedupe store: %s", derr);
	return RES_OK;
}
