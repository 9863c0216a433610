/*
 * One account's fetch pipeline (see fetch.h for the order of durable steps).
 */
#include "fetch-int.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <sysexits.h>
#include <unistd.h>

#include "actions.h"
#include "config.h"
#include "dedupe.h"
#include "deliver-maildir.h"
#include "journal.h"
#include "message.h"
#include "rules.h"
#include "source.h"
#include "util/log.h"
#include "util/str.h"

/* Records the account's failure (the first one wins the text). */
int fetch_fail(struct run *r, int rc, const char *fmt, ...)
{
	va_list ap;

	if (r->st->error[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(r->st->error, sizeof(r->st->error), fmt, ap);
		va_end(ap);
	}
	if (r->rc == 0 || rc == EX_CONFIG || rc == EX_NOPERM)
		r->rc = rc;
	return -1;
}

static int src_rc(const struct src_error *e)
{
	if (e->unreachable)
		return EX_UNAVAILABLE;
	if (e->auth)
		return EX_NOPERM;
	return e->temporary ? EX_TEMPFAIL : EX_CONFIG;
}

static int src_failed(struct run *r, const struct src_error *e)
{
	if (e->server[0] != '\0')
		return fetch_fail(r, src_rc(e), "%s (server said: %s)", e->text, e->server);
	return fetch_fail(r, src_rc(e), "%s", e->text);
}

static void item_id(const struct run *r, const struct src_msg *m, char *out, size_t outlen)
{
	if (r->acct->protocol == PROTO_IMAP)
		snprintf(out, outlen, "%u", m->uid);
	else if (m->uidl != NULL)
		snprintf(out, outlen, "%s", m->uidl);
	else
		snprintf(out, outlen, "#%u", m->num);
}

static void items_clear(struct run *r)
{
	for (size_t i = 0; i < r->nitems; i++) {
		struct item *it = &r->items[i];

		for (size_t k = 0; k < it->nacts; k++)
			free(it->acts[k].name);
		free(it->acts);
		free(it->tmp);
		free(it->msgid);
		free(it->return_path);
	}
	r->nitems = 0;
}

/* ---- one message: sort it and plan its deliveries ---- */

static const struct journal_pending *partial_for(const struct run *r, const char *id)
{
	for (size_t i = 0; i < r->npartial; i++)
		if (strcmp(r->partial[i].folder, r->folder) == 0 &&
		    strcmp(r->partial[i].id, id) == 0)
			return &r->partial[i];
	return NULL;
}

/* What one message will get: Maildir folders, then forwards and pipes. */
struct plan {
	const char *folders[JOURNAL_TARGETS_MAX];
	unsigned flags[JOURNAL_TARGETS_MAX];
	size_t nfolders;
	enum journal_action kinds[JOURNAL_TARGETS_MAX];
	char *names[JOURNAL_TARGETS_MAX]; /* owned */
	size_t nacts;
	unsigned attempts;
};

static void plan_free(struct plan *pl)
{
	for (size_t i = 0; i < pl->nacts; i++)
		free(pl->names[i]);
}

static void plan_act(struct plan *pl, enum journal_action kind, char *name)
{
	if (pl->nfolders + pl->nacts >= JOURNAL_TARGETS_MAX) {
		free(name);
		return;
	}
	pl->kinds[pl->nacts] = kind;
	pl->names[pl->nacts++] = name;
}

static void plan_from_outcome(struct run *r, const struct rules_outcome *o, struct plan *pl)
{
	struct action_plan ap;

	memset(pl, 0, sizeof(*pl));
	actions_plan(o, r->p->cfg, r->acct, &ap);
	for (size_t i = 0; i < ap.nfolders && i < JOURNAL_TARGETS_MAX; i++) {
		pl->folders[i] = ap.folders[i];
		pl->flags[pl->nfolders++] = ap.flags[i];
	}
	for (size_t i = 0; i < ap.nforwards; i++)
		plan_act(pl, JOURNAL_FORWARD, xstrdup(ap.forwards[i]));
	for (size_t i = 0; i < ap.npipes; i++)
		plan_act(pl, JOURNAL_PIPE, argv_join(ap.pipes[i]));
}

/* Schedules the Maildir copies and buffers the intent naming every target. */
static int plan_targets(struct run *r, struct item *it, const struct plan *pl, uint64_t hash)
{
	struct journal_target t[JOURNAL_TARGETS_MAX] = {{0}};
	char *names[JOURNAL_TARGETS_MAX];
	size_t k, nt;
	int res = 0;

	for (k = 0; k < pl->nfolders; k++) {
		if (md_batch_add_file(r->b, pl->folders[k], it->tmp, it->size, pl->flags[k],
		                      &names[k], r->err, sizeof(r->err)) != MD_OK) {
			res = fetch_fail(r, EX_TEMPFAIL, "%s", r->err);
			break;
		}
		t[k].folder = pl->folders[k];
		t[k].name = names[k];
	}
	nt = k;
	if (res == 0 && pl->nacts > 0) {
		it->acts = xcalloc(pl->nacts, sizeof(*it->acts));
		for (size_t i = 0; i < pl->nacts; i++, nt++) {
			t[nt].kind = pl->kinds[i];
			t[nt].folder = pl->kinds[i] == JOURNAL_FORWARD ? "smtp" : "pipe";
			t[nt].name = pl->names[i];
			it->acts[i] =
			    (struct act){pl->kinds[i], xstrdup(pl->names[i]), nt, pl->attempts};
		}
		it->nacts = pl->nacts;
	}
	if (res == 0 && journal_intent(r->jf, it->id, hash, t, nt, r->err, sizeof(r->err)) < 0)
		res = fetch_fail(r, EX_TEMPFAIL, "journal: %s", r->err);
	for (size_t i = 0; i < k; i++)
		free(names[i]);
	if (res == 0)
		it->planned = true;
	return res;
}

/* An interrupted or deferred delivery: only the Maildir copies that are missing
 * and the forwards and pipes that did not complete. */
static int plan_partial(struct run *r, struct item *it, const struct journal_pending *pd,
                        uint64_t hash)
{
	struct plan pl;
	int res;

	memset(&pl, 0, sizeof(pl));
	pl.attempts = pd->attempts;
	for (size_t i = 0; i < pd->ntargets; i++) {
		const struct journal_target *t = &pd->targets[i];

		if (t->kind == JOURNAL_MAILDIR && !md_exists(r->md, t->folder, t->name)) {
			pl.folders[pl.nfolders] = t->folder;
			pl.flags[pl.nfolders++] = 0;
		} else if (t->kind != JOURNAL_MAILDIR &&
		           (t->state == JOURNAL_OPEN || t->state == JOURNAL_RETRY)) {
			plan_act(&pl, t->kind, xstrdup(t->name));
		}
	}
	log_info("%s: %s %s: completing an earlier delivery (%zu folders, %zu forwards and "
	         "pipes left)",
	         r->acct->name, r->folder, it->id, pl.nfolders, pl.nacts);
	res = plan_targets(r, it, &pl, hash);
	plan_free(&pl);
	return res;
}

static void print_dry_run(struct run *r, struct item *it, const char *what)
{
	printf("%s %s %s: %s\n", r->acct->name, r->folder, it->id, what);
}

static int sort_message(struct run *r, struct item *it, const char *data)
{
	struct rules_input in = {.account = r->acct->name, .size = it->size};
	struct rules_outcome o;
	struct msg m;
	struct plan pl;
	const struct journal_pending *pd;
	uint64_t hash = 0;
	int res = 0;

	msg_init(&m, data, it->size);
	it->msgid = msg_message_id(&m);
	it->return_path = msg_get(&m, "Return-Path");
	if (it->msgid != NULL)
		hash = journal_msgid_hash(it->msgid, strlen(it->msgid));
	if (r->uv_changed && hash != 0 && journal_msgid_known(r->jf, hash)) {
		it->skipped = true;
		log_info("%s: %s %s: delivered before the UIDVALIDITY change", r->acct->name,
		         r->folder, it->id);
	} else if (r->dd != NULL && it->msgid != NULL && dedupe_seen(r->dd, it->msgid)) {
		it->skipped = true;
		log_info("%s: %s %s: duplicate of %s", r->acct->name, r->folder, it->id, it->msgid);
	}
	if (it->skipped) {
		if (r->p->dry_run)
			print_dry_run(r, it, "duplicate, skipped");
		msg_free(&m);
		return r->p->dry_run ? 0
		                     : journal_skip(r->jf, it->id, hash, r->err, sizeof(r->err));
	}
	if ((pd = partial_for(r, it->id)) != NULL && !r->p->dry_run) {
		msg_free(&m);
		return plan_partial(r, it, pd, hash);
	}
	rules_eval(r->p->rules, &m, &in, &o, NULL);
	plan_from_outcome(r, &o, &pl);
	if (r->p->dry_run) {
		char *text = rules_outcome_text(r->p->rules, &o);

		print_dry_run(r, it, text);
		free(text);
	} else if (pl.nfolders + pl.nacts == 0) {
		it->skipped = true;
		res = journal_skip(r->jf, it->id, hash, r->err, sizeof(r->err));
	} else {
		res = plan_targets(r, it, &pl, hash);
	}
	plan_free(&pl);
	rules_outcome_free(&o);
	msg_free(&m);
	return res;
}

/* ---- the sink: bodies into tmp files ---- */

static int sink_open(void *ctx, const struct src_msg *m, int *fd)
{
	struct run *r = ctx;
	struct item *it;

	r->items = xreallocarray_grow(r->items, &r->capitems, r->nitems + 1, sizeof(*r->items));
	it = &r->items[r->nitems];
	memset(it, 0, sizeof(*it));
	it->m = m;
	item_id(r, m, it->id, sizeof(it->id));
	if (r->p->dry_run) {
		*fd = memfd_create("corral-dry-run", MFD_CLOEXEC);
		if (*fd < 0)
			return fetch_fail(r, EX_TEMPFAIL, "memfd_create: %s", strerror(errno));
	} else if (md_tmp_create(r->b, &it->tmp, fd, r->err, sizeof(r->err)) != MD_OK) {
		return fetch_fail(r, EX_TEMPFAIL, "%s", r->err);
	}
	r->nitems++;
	return 0;
}

/*
 * The message just written, for the rules: read into a reused buffer (an
 * mmap + munmap per message cost a third of a fetch's time), mapped when it
 * is big. NULL with errno set on failure.
 */
static void *message_bytes(struct run *r, int fd, uint64_t size)
{
	void *p;

	if (size > FETCH_READ_MAX) {
		p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	r->rbuf = xreallocarray_grow(r->rbuf, &r->rbuf_cap, size + 1, 1);
	for (size_t off = 0; off < size;) {
		ssize_t n = pread(fd, r->rbuf + off, size - off, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return NULL;
		}
		off += (size_t)n;
	}
	return r->rbuf;
}

static int sink_done(void *ctx, const struct src_msg *m, int fd, uint64_t size,
                     const struct src_error *merr)
{
	struct run *r = ctx;
	struct item *it;
	void *data = NULL;
	int res = 0;

	if (fd < 0) {
		/* Never opened: the server no longer has it, or did not send it. */
		char id[JOURNAL_ID_MAX + 1];

		item_id(r, m, id, sizeof(id));
		log_warn("%s: %s %s left on the server: %s", r->acct->name, r->folder, id,
		         merr ? merr->text : "not sent");
		r->st->failed++;
		return 0;
	}
	it = &r->items[r->nitems - 1];
	if (r->nitems == 0 || it->m != m)
		fatal("fetch: the source finished a message it did not open");
	if (merr != NULL && merr->local) {
		/* A full disk fails every later message too: stop, commit nothing of the batch. */
		close(fd);
		return fetch_fail(r, merr->temporary ? EX_TEMPFAIL : EX_CONFIG, "%s %s: %s",
		                  r->folder, it->id, merr->text);
	}
	if (merr != NULL) {
		log_warn("%s: %s %s left on the server: %s", r->acct->name, r->folder, it->id,
		         merr->text);
		r->st->failed++;
		if (it->tmp != NULL)
			md_tmp_discard(r->b, it->tmp);
		close(fd);
		free(it->tmp);
		it->tmp = NULL;
		r->nitems--;
		return 0;
	}
	if ((data = message_bytes(r, fd, size)) == NULL) {
		close(fd);
		return fetch_fail(r, EX_TEMPFAIL, "%s: reading it back: %s", it->tmp,
		                  strerror(errno));
	}
	it->size = size;
	res = sort_message(r, it, data);
	if (size > FETCH_READ_MAX)
		munmap(data, size);
	close(fd);
	if (it->skipped && it->tmp != NULL)
		md_tmp_discard(r->b, it->tmp);
	if (res < 0 && r->rc == 0)
		fetch_fail(r, EX_TEMPFAIL, "%s", r->err);
	if (res == 0 && !it->skipped)
		r->st->bytes += size;
	if (r->p->progress)
		r->p->progress(r->p->progress_ctx, r->st);
	return res;
}

/* ---- commit: journal intents, Maildir, journal dones, then the server ---- */

/* Done with the server: delivered completely, or seen without a delivery. */
static bool item_done(const struct item *it)
{
	return (it->planned && !it->incomplete) || it->skipped;
}

static int delete_items(struct run *r)
{
	const struct src_msg **ms = xcalloc(r->nitems ? r->nitems : 1, sizeof(*ms));
	struct src_error e;
	size_t n = 0;
	int res = 0;

	for (size_t i = 0; i < r->nitems; i++)
		if (item_done(&r->items[i]))
			ms[n++] = r->items[i].m;
	src_error_clear(&e);
	if (n > 0 && r->drv->delete (r->src, ms, n, &e) < 0) {
		src_failed(r, &e);
		res = -1;
	}
	for (size_t i = 0; res == 0 && i < r->nitems; i++)
		if (item_done(&r->items[i]))
			journal_deleted(r->jf, r->items[i].id, r->err, sizeof(r->err));
	if (res == 0)
		r->st->deleted += n;
	free(ms);
	return res;
}

/*
 * Fault injection for the crash tests: CORRAL_FAULT=STEP makes the process
 * kill itself (SIGKILL, as a crash or a power cut would stop it) at that
 * step of the first batch, where a random kill rarely lands.
 */
static void fault_point(const char *step)
{
	const char *f = getenv("CORRAL_FAULT");

	if (f != NULL && strcmp(f, step) == 0)
		kill(getpid(), SIGKILL);
}

static int commit_batch(struct run *r)
{
	if (r->p->dry_run || r->nitems == 0)
		return 0;
	if (journal_sync(r->j, r->err, sizeof(r->err)) < 0)
		return fetch_fail(r, EX_TEMPFAIL, "journal: %s", r->err);
	fault_point("after-intents");
	if (fetch_run_actions(r) < 0 || md_batch_commit(r->b, r->err, sizeof(r->err)) != MD_OK) {
		md_batch_abort(r->b);
		return fetch_fail(r, EX_TEMPFAIL, "%s", r->err);
	}
	fault_point("after-maildir");
	for (size_t i = 0; i < r->nitems; i++) {
		struct item *it = &r->items[i];

		if (it->planned && !it->incomplete) {
			journal_done(r->jf, it->id, r->err, sizeof(r->err));
			r->st->delivered++;
			if (r->dd != NULL && it->msgid != NULL)
				dedupe_add(r->dd, it->msgid);
		} else if (it->skipped) {
			r->st->skipped++;
		}
	}
	if (journal_sync(r->j, r->err, sizeof(r->err)) < 0)
		return fetch_fail(r, EX_TEMPFAIL, "journal: %s", r->err);
	if (r->dd != NULL && dedupe_sync(r->dd, r->err, sizeof(r->err)) < 0)
		log_warn("%s: dedupe store: %s", r->acct->name, r->err);
	fault_point("after-done");
	if (!r->acct->keep && delete_items(r) == 0 &&
	    journal_sync(r->j, r->err, sizeof(r->err)) < 0)
		return fetch_fail(r, EX_TEMPFAIL, "journal: %s", r->err);
	return r->rc == 0 ? 0 : -1;
}

/* Fetches ms[0..n) in batches, each committed before the next starts. */
static int fetch_list(struct run *r, const struct src_msg **ms, size_t n)
{
	/* Maildir files have LF line ends, as every other writer and reader expects. */
	struct src_sink sink = {
	    .open = sink_open, .done = sink_done, .ctx = r, .lf_line_ends = true};
	struct src_error e;

	for (size_t i = 0; i < n;) {
		size_t k = 0;
		uint64_t bytes = 0;

		while (i + k < n && k < FETCH_BATCH_MSGS && (k == 0 || bytes < FETCH_BATCH_BYTES))
			bytes += ms[i + k++]->size;
		src_error_clear(&e);
		if (r->drv->fetch(r->src, ms + i, k, &sink, &e) < 0 && r->rc == 0)
			src_failed(r, &e);
		if (r->rc != 0) {
			md_batch_abort(r->b);
			items_clear(r);
			return -1;
		}
		if (commit_batch(r) < 0) {
			items_clear(r);
			return -1;
		}
		items_clear(r);
		i += k;
	}
	return 0;
}

/* keep: false, and a crash came between the commit and the deletion: delete now. */
static int delete_seen(struct run *r, const struct src_folder *fo)
{
	size_t start = r->nitems;

	for (size_t i = 0; i < fo->nmsgs; i++) {
		char id[JOURNAL_ID_MAX + 1];

		item_id(r, &fo->msgs[i], id, sizeof(id));
		if (!fo->has_ids || !journal_seen(r->jf, id))
			continue;
		r->items =
		    xreallocarray_grow(r->items, &r->capitems, r->nitems + 1, sizeof(*r->items));
		memset(&r->items[r->nitems], 0, sizeof(*r->items));
		r->items[r->nitems].m = &fo->msgs[i];
		r->items[r->nitems].skipped = true;
		memcpy(r->items[r->nitems].id, id, sizeof(id));
		r->nitems++;
	}
	if (r->nitems == start)
		return 0;
	log_info("%s: %s: deleting %zu messages delivered by an earlier run", r->acct->name,
	         r->folder, r->nitems - start);
	if (delete_items(r) == 0)
		journal_sync(r->j, r->err, sizeof(r->err));
	items_clear(r);
	return r->rc == 0 ? 0 : -1;
}

/* ---- folders ---- */

static void forget_missing(struct run *r, const struct src_folder *fo)
{
	const char **ids = xcalloc(fo->nmsgs ? fo->nmsgs : 1, sizeof(*ids));
	char(*buf)[JOURNAL_ID_MAX + 1] = xcalloc(fo->nmsgs ? fo->nmsgs : 1, sizeof(*buf));

	for (size_t i = 0; i < fo->nmsgs; i++) {
		item_id(r, &fo->msgs[i], buf[i], sizeof(buf[i]));
		ids[i] = buf[i];
	}
	journal_forget_missing(r->jf, ids, fo->nmsgs);
	free(ids);
	free(buf);
}

/* A message whose forward or pipe failed temporarily waits before the next
 * try: 1 minute (or $CORRAL_RETRY_DELAY), doubling with each failure, at
 * most 4 hours. */
static bool waiting_to_retry(const struct run *r, const char *id)
{
	const struct journal_pending *pd = partial_for(r, id);
	const char *env = getenv("CORRAL_RETRY_DELAY");
	uint64_t base = 60;
	int64_t delay;

	if (pd == NULL || pd->attempts == 0)
		return false;
	if (env != NULL && parse_duration(env, &base) < 0)
		base = 60;
	delay = (int64_t)base << (pd->attempts > 9 ? 8 : pd->attempts - 1);
	if (delay > 4 * 3600)
		delay = 4 * 3600;
	return (int64_t)time(NULL) < pd->last_try + delay;
}

static int select_folder(struct run *r, const char *name, struct src_folder *fo)
{
	struct journal_folder *known = journal_folder_find(r->j, name);
	uint32_t uv = known ? journal_uidvalidity(known) : 0;
	struct src_error e;

	/* Every UID is listed and checked against the journal: listing only those above the
	 * highest one delivered would miss a message whose delivery a crash undid below it
	 * (pipelined answers arrive out of order) or that failed once. */
	src_error_clear(&e);
	if (r->drv->select(r->src, name, 1, fo, &e) < 0)
		return src_failed(r, &e);
	if (uv != 0 && fo->uidvalidity != uv)
		log_warn("%s: %s: UIDVALIDITY changed (%u -> %u): refetching, skipping what was "
		         "delivered before",
		         r->acct->name, name, uv, fo->uidvalidity);
	r->jf = journal_folder(r->j, name, fo->uidvalidity, &r->uv_changed);
	if (r->jf == NULL)
		return fetch_fail(r, EX_CONFIG, "%s: bad folder name", name);
	if (fo->has_ids)
		forget_missing(r, fo);
	return 0;
}

static int fetch_folder(struct run *r, const char *name)
{
	struct src_folder fo;
	const struct src_msg **ms;
	size_t n = 0;
	int res;

	r->folder = name;
	if (select_folder(r, name, &fo) < 0)
		return -1;
	if (!fo.has_ids && r->acct->keep)
		return fetch_fail(
		    r, EX_CONFIG,
		    "%s: the server has no UIDL, so corral cannot tell new mail from old: "
		    "set keep: false for this account",
		    r->acct->name);
	if (!r->acct->keep && !r->p->dry_run && delete_seen(r, &fo) < 0)
		return -1;
	ms = xcalloc(fo.nmsgs ? fo.nmsgs : 1, sizeof(*ms));
	for (size_t i = 0; i < fo.nmsgs; i++) {
		char id[JOURNAL_ID_MAX + 1];

		item_id(r, &fo.msgs[i], id, sizeof(id));
		if (fo.has_ids && journal_seen(r->jf, id))
			continue;
		if (fo.has_ids && waiting_to_retry(r, id)) {
			r->st->deferred++;
			continue;
		}
		ms[n++] = &fo.msgs[i];
	}
	r->st->listed += n;
	log_info("%s: %s: %zu new of %u", r->acct->name, name, n, fo.exists);
	res = fetch_list(r, ms, n);
	free(ms);
	return res;
}

/* ---- the account ---- */

static bool exists_cb(void *arg, const char *folder, const char *name)
{
	return md_exists(arg, folder, name);
}

/* After a crash: links may exist whose directories were never fsynced. */
static int recover(struct run *r)
{
	struct journal_pending *pd;
	size_t n = journal_pending(r->j, &pd);
	int fd;

	journal_pending_free(pd, n);
	if (n == 0)
		return 0;
	fd = open(maildir_root(r->md), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || syncfs(fd) < 0) {
		if (fd >= 0)
			close(fd);
		return fetch_fail(r, EX_TEMPFAIL, "%s: cannot sync: %s", maildir_root(r->md),
		                  strerror(errno));
	}
	close(fd);
	journal_recover(r->j, exists_cb, r->md);
	if (journal_sync(r->j, r->err, sizeof(r->err)) < 0)
		return fetch_fail(r, EX_TEMPFAIL, "journal: %s", r->err);
	r->npartial = journal_pending(r->j, &r->partial);
	log_info("%s: recovered %zu interrupted deliveries (%zu partial)", r->acct->name, n,
	         r->npartial);
	return 0;
}

static int open_state(struct run *r)
{
	enum journal_result jr;
	const struct config *cfg = r->p->cfg;

	r->md = maildir_open(cfg->maildir, r->err, sizeof(r->err));
	if (r->md == NULL)
		return fetch_fail(r, EX_TEMPFAIL, "%s", r->err);
	r->b = md_batch_new(r->md);
	r->j = journal_open(cfg->state_dir, r->acct->name, &jr, r->err, sizeof(r->err));
	if (r->j == NULL)
		return fetch_fail(r, jr == JOURNAL_PERMFAIL ? EX_CONFIG : EX_TEMPFAIL, "%s",
		                  r->err);
	if (cfg->dedupe_s > 0) {
		char *path = xasprintf("%s/dedupe", cfg->state_dir);

		r->dd = dedupe_open(path, cfg->dedupe_s, r->err, sizeof(r->err));
		free(path);
		if (r->dd == NULL)
			return fetch_fail(r, EX_TEMPFAIL, "dedupe store: %s", r->err);
	}
	return r->p->dry_run ? 0 : recover(r);
}

static void close_state(struct run *r)
{
	char err[256];

	if (r->dd != NULL && dedupe_close(r->dd, err, sizeof(err)) < 0)
		log_warn("%s: dedupe store: %s", r->acct->name, err);
	journal_close(r->j);
	journal_pending_free(r->partial, r->npartial);
	md_batch_free(r->b);
	maildir_close(r->md);
	items_clear(r);
	free(r->items);
	free(r->rbuf);
}

int fetch_account(const struct fetch_params *p, struct fetch_stats *st)
{
	struct run r = {.p = p, .acct = p->acct, .st = st};
	struct src_params sp = {.acct = p->acct, .dry_run = p->dry_run};
	struct src_error e;

	memset(st, 0, sizeof(*st));
	actions_init(&r.act, p->cfg);
	r.drv = source_driver_for(p->acct->protocol);
	if (open_state(&r) == 0) {
		src_error_clear(&e);
		r.src = r.drv->open(&sp, &e);
		if (r.src == NULL)
			src_failed(&r, &e);
	}
	if (r.src != NULL) {
		const struct strlist *folders = &p->acct->folders;

		if (p->acct->protocol == PROTO_POP3) {
			fetch_folder(&r, SOURCE_POP3_FOLDER);
		} else {
			/* A folder that fails does not stop the others unless the connection is
			 * gone. */
			for (size_t i = 0; i < folders->n && r.src != NULL; i++)
				if (fetch_folder(&r, folders->v[i]) < 0 && r.rc != EX_TEMPFAIL)
					break;
		}
		src_error_clear(&e);
		if (r.drv->close(r.src, &e) < 0 && r.rc == 0)
			src_failed(&r, &e);
	}
	actions_close(&r.act);
	close_state(&r);
	/* Deliveries waiting for a forward or pipe to be retried: nothing lost, try again later. */
	if (r.rc == 0 && st->deferred > 0)
		fetch_fail(&r, EX_TEMPFAIL,
		           "%llu messages wait for a forward or pipe to be retried",
		           (unsigned long long)st->deferred);
	return r.rc;
}
