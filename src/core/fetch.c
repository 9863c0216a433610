/*
 * One account's fetch pipeline (see fetch.h for the order of durable steps).
 */
#include "core/fetch-int.h"

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

#include "core/pipeline.h"
#include "config/config.h"
#include "store/dedupe.h"
#include "store/maildir.h"
#include "store/journal.h"
#include "mail/message.h"
#include "rules/rules.h"
#include "source/source.h"
#include "util/log.h"
#include "util/str.h"

/* Records the account's failure: the first one wins the text, and the kind
 * unless a later one needs the user. */
int fetch_fail(struct run *r, enum res_kind kind, const char *fmt, ...)
{
	va_list ap;

	r->folder_failed = true;
	if (r->st->error[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(r->st->error, sizeof(r->st->error), fmt, ap);
		va_end(ap);
	}
	if (r->kind == RES_OK || kind == RES_CONFIG || kind == RES_PERM || kind == RES_AUTH)
		r->kind = kind;
	return -1;
}

static int src_failed(struct run *r, const struct result *e)
{
	if (e->server[0] != '\0')
		return fetch_fail(r, e->kind, "%s (server said: %s)", e->text, e->server);
	return fetch_fail(r, e->kind, "%s", e->text);
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
			free(it->acts[k].a.name);
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

/* Schedules the Maildir copies and buffers the intent naming every target. */
static int plan_targets(struct run *r, struct item *it, const struct pipeline_plan *pl,
                        unsigned attempts, uint64_t hash)
{
	struct journal_target t[JOURNAL_TARGETS_MAX] = {{0}};
	char *names[JOURNAL_TARGETS_MAX] = {NULL};
	size_t nt = pl->nfolders;
	int res = 0;

	if (pipeline_file(&r->pl, it->tmp, it->size, it->vsize, pl->folders, pl->flags,
	                  pl->nfolders, names, r->err, sizeof(r->err)) != RES_OK)
		return fetch_fail(r, RES_TEMP, "%s", r->err);
	for (size_t k = 0; k < pl->nfolders; k++) {
		t[k].folder = pl->folders[k];
		t[k].name = names[k];
	}
	if (pl->nacts > 0) {
		it->acts = xcalloc(pl->nacts, sizeof(*it->acts));
		for (size_t i = 0; i < pl->nacts; i++, nt++) {
			const struct pipeline_action *pa = &pl->acts[i];

			t[nt].kind = pa->kind;
			t[nt].folder = pa->kind == JOURNAL_FORWARD ? "smtp" : "pipe";
			t[nt].name = pa->name;
			it->acts[i] =
			    (struct act){.a = {.kind = pa->kind, .name = xstrdup(pa->name)},
			                 .idx = nt,
			                 .attempts = attempts};
		}
		it->nacts = pl->nacts;
	}
	if (journal_intent(r->jf, it->id, hash, t, nt, r->err, sizeof(r->err)) < 0)
		res = fetch_fail(r, RES_TEMP, "journal: %s", r->err);
	for (size_t i = 0; i < pl->nfolders; i++)
		free(names[i]);
	if (res == 0)
		it->planned = true;
	/* A partial plan without folders may have had them: an INBOX copy more
	 * is better than a message that no folder keeps. */
	it->filed = pl->nfolders > 0;
	return res;
}

/* An interrupted or deferred delivery: only the Maildir copies that are missing
 * and the forwards and pipes that did not complete. */
static int plan_partial(struct run *r, struct item *it, const struct journal_pending *pd,
                        uint64_t hash)
{
	struct pipeline_plan pl;
	int res;

	memset(&pl, 0, sizeof(pl));
	for (size_t i = 0; i < pd->ntargets; i++) {
		const struct journal_target *t = &pd->targets[i];

		if (t->kind == JOURNAL_MAILDIR && !md_exists(r->pl.md, t->folder, t->name)) {
			pl.folders[pl.nfolders] = t->folder;
			pl.flags[pl.nfolders++] = 0;
		} else if (t->kind != JOURNAL_MAILDIR &&
		           (t->state == JOURNAL_OPEN || t->state == JOURNAL_RETRY)) {
			pipeline_plan_act(&pl, t->kind, xstrdup(t->name));
		}
	}
	log_info("%s: %s %s: completing an earlier delivery (%zu folders, %zu forwards and "
	         "pipes left)",
	         r->acct->name, r->folder, it->id, pl.nfolders, pl.nacts);
	res = plan_targets(r, it, &pl, pd->attempts, hash);
	pipeline_plan_free(&pl);
	return res;
}

static void print_dry_run(struct run *r, struct item *it, const char *what)
{
	if (r->p->dry_run_line != NULL)
		r->p->dry_run_line(r->p->progress_ctx, r->acct->name, r->folder, it->id, what);
}

/* Seen before: after a UIDVALIDITY change, or by the dedupe store. */
static bool seen_before(struct run *r, struct item *it, const struct pipeline_msg *pm,
                        uint64_t hash)
{
	if (r->uv_changed && hash != 0 && journal_msgid_known(r->jf, hash)) {
		log_info("%s: %s %s: delivered before the UIDVALIDITY change", r->acct->name,
		         r->folder, it->id);
		return true;
	}
	if (pm->duplicate) {
		log_info("%s: %s %s: duplicate of %s", r->acct->name, r->folder, it->id, pm->msgid);
		return true;
	}
	return false;
}

static int sort_message(struct run *r, struct item *it, const char *data)
{
	struct pipeline_msg pm;
	const struct journal_pending *pd;
	uint64_t hash = 0;
	int res = 0;

	pipeline_read(&r->pl, data, it->size, &pm);
	it->msgid = pm.msgid != NULL ? xstrdup(pm.msgid) : NULL;
	it->return_path = pm.return_path != NULL ? xstrdup(pm.return_path) : NULL;
	if (it->msgid != NULL)
		hash = journal_msgid_hash(it->msgid, strlen(it->msgid));
	if (seen_before(r, it, &pm, hash)) {
		it->skipped = true;
		if (r->p->dry_run)
			print_dry_run(r, it, "duplicate, skipped");
		else
			res = journal_skip(r->jf, it->id, hash, r->err, sizeof(r->err));
	} else if ((pd = partial_for(r, it->id)) != NULL && !r->p->dry_run) {
		res = plan_partial(r, it, pd, hash);
	} else {
		pipeline_decide(&r->pl, r->acct->name, r->acct, &pm, NULL);
		if (r->p->dry_run) {
			char *text = rules_outcome_text(r->p->rules, &pm.o);

			print_dry_run(r, it, text);
			free(text);
		} else if (pipeline_plan_empty(&pm.plan)) {
			it->skipped = true;
			res = journal_skip(r->jf, it->id, hash, r->err, sizeof(r->err));
		} else {
			res = plan_targets(r, it, &pm.plan, 0, hash);
		}
	}
	pipeline_msg_free(&pm);
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
			return fetch_fail(r, RES_TEMP, "memfd_create: %s", strerror(errno));
	} else if (md_tmp_create(r->pl.b, &it->tmp, fd, r->err, sizeof(r->err)) != RES_OK) {
		return fetch_fail(r, RES_TEMP, "%s", r->err);
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

/* The ",W=" size, counted over the bytes already read back for the rules
 * (the source streams into the file itself): no second read. */
static size_t crlf_size(const void *data, size_t size)
{
	struct md_vsize v = MD_VSIZE_INIT;

	md_vsize_feed(&v, data, size);
	return md_vsize_value(&v);
}

static int sink_done(void *ctx, const struct src_msg *m, int fd, uint64_t size,
                     const struct result *merr)
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
	if (merr != NULL && merr->scope == RES_SCOPE_LOCAL) {
		/* A full disk fails every later message too: stop, commit nothing of the batch. */
		close(fd);
		return fetch_fail(r, merr->kind, "%s %s: %s", r->folder, it->id, merr->text);
	}
	if (merr != NULL) {
		log_warn("%s: %s %s left on the server: %s", r->acct->name, r->folder, it->id,
		         merr->text);
		r->st->failed++;
		if (it->tmp != NULL)
			md_tmp_discard(r->pl.b, it->tmp);
		close(fd);
		free(it->tmp);
		it->tmp = NULL;
		r->nitems--;
		return 0;
	}
	if ((data = message_bytes(r, fd, size)) == NULL) {
		close(fd);
		return fetch_fail(r, RES_TEMP, "%s: reading it back: %s", it->tmp, strerror(errno));
	}
	it->size = size;
	it->vsize = crlf_size(data, size);
	res = sort_message(r, it, data);
	if (size > FETCH_READ_MAX)
		munmap(data, size);
	close(fd);
	if (it->skipped && it->tmp != NULL)
		md_tmp_discard(r->pl.b, it->tmp);
	if (res < 0 && r->kind == RES_OK)
		fetch_fail(r, RES_TEMP, "%s", r->err);
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
	struct result e;
	size_t n = 0;
	int res = 0;

	for (size_t i = 0; i < r->nitems; i++)
		if (item_done(&r->items[i]))
			ms[n++] = r->items[i].m;
	res_clear(&e);
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
 * Fault injection for the crash tests: fetch_params.fault (CORRAL_FAULT,
 * read once at start) names a step at which the process kills itself
 * (SIGKILL, as a crash or a power cut would stop it), where a random kill
 * rarely lands.
 */
static void fault_point(const struct run *r, const char *step)
{
	if (r->p->fault != NULL && strcmp(r->p->fault, step) == 0)
		kill(getpid(), SIGKILL);
}

static int commit_batch(struct run *r)
{
	char **msgids;
	size_t n = 0;
	enum res_kind rk;

	if (r->p->dry_run || r->nitems == 0)
		return 0;
	if (journal_sync(r->j, r->err, sizeof(r->err)) < 0)
		return fetch_fail(r, RES_TEMP, "journal: %s", r->err);
	fault_point(r, "after-intents");
	if (fetch_run_actions(r) < 0) {
		md_batch_abort(r->pl.b);
		return -1;
	}
	msgids = xcalloc(r->nitems, sizeof(*msgids));
	for (size_t i = 0; i < r->nitems; i++)
		if (r->items[i].planned && !r->items[i].incomplete)
			msgids[n++] = r->items[i].msgid;
	rk = pipeline_commit(&r->pl, msgids, n, r->err, sizeof(r->err));
	free(msgids);
	if (rk != RES_OK) {
		md_batch_abort(r->pl.b);
		return fetch_fail(r, RES_TEMP, "%s", r->err);
	}
	fault_point(r, "after-maildir");
	for (size_t i = 0; i < r->nitems; i++) {
		struct item *it = &r->items[i];

		if (it->planned && !it->incomplete) {
			journal_done(r->jf, it->id, r->err, sizeof(r->err));
			r->st->delivered++;
		} else if (it->skipped) {
			r->st->skipped++;
		}
	}
	if (journal_sync(r->j, r->err, sizeof(r->err)) < 0)
		return fetch_fail(r, RES_TEMP, "journal: %s", r->err);
	fault_point(r, "after-done");
	/* After a failed fetch the next run deletes what this one delivered. */
	if (!r->acct->keep && !r->salvage && delete_items(r) == 0 &&
	    journal_sync(r->j, r->err, sizeof(r->err)) < 0)
		return fetch_fail(r, RES_TEMP, "journal: %s", r->err);
	return r->kind == RES_OK ? 0 : -1;
}

/* Fetches ms[0..n) in batches, each committed before the next starts. */
static int fetch_list(struct run *r, const struct src_msg **ms, size_t n)
{
	/* Maildir files have LF line ends, as every other writer and reader expects. */
	struct src_sink sink = {
	    .open = sink_open, .done = sink_done, .ctx = r, .lf_line_ends = true};
	struct result e;

	for (size_t i = 0; i < n;) {
		size_t k = 0;
		uint64_t bytes = 0;

		while (i + k < n && k < FETCH_BATCH_MSGS && (k == 0 || bytes < FETCH_BATCH_BYTES))
			bytes += ms[i + k++]->size;
		res_clear(&e);
		if (r->drv->fetch(r->src, ms + i, k, &sink, &e) < 0 && r->kind == RES_OK) {
			src_failed(r, &e);
			/* The server or the connection failed mid-batch: what arrived whole
			 * before is committed (not fetched again next time; on a flaky link a
			 * big first sync would never end otherwise). A failure of our own
			 * (disk, journal) commits nothing. */
			r->salvage = true;
			commit_batch(r);
			r->salvage = false;
		}
		if (r->kind != RES_OK) {
			md_batch_abort(r->pl.b);
			items_clear(r);
			return -1;
		}
		if (commit_batch(r) < 0) {
			items_clear(r);
			return -1;
		}
		items_clear(r);
		i += k;
		/* SIGTERM: the batch just committed is durable; the rest waits. */
		if (i < n && r->p->stop != NULL && *r->p->stop)
			return fetch_fail(r, RES_TEMP,
			                  "stopped; %zu messages left for the next run", n - i);
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
	return r->kind == RES_OK ? 0 : -1;
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
 * try: fetch_params.retry_delay_s, doubling with each failure, at most 4
 * hours. */
static bool waiting_to_retry(const struct run *r, const char *id)
{
	const struct journal_pending *pd = partial_for(r, id);
	uint64_t base = r->p->retry_delay_s;
	int64_t delay;

	if (pd == NULL || pd->attempts == 0)
		return false;
	delay = (int64_t)base << (pd->attempts > 9 ? 8 : pd->attempts - 1);
	if (delay > 4 * 3600)
		delay = 4 * 3600;
	return (int64_t)time(NULL) < pd->last_try + delay;
}

static int select_folder(struct run *r, const char *name, struct src_folder *fo)
{
	struct journal_folder *known = journal_folder_find(r->j, name);
	uint32_t uv = known ? journal_uidvalidity(known) : 0;
	struct result e;

	/* Every UID is listed and checked against the journal: listing only those above the
	 * highest one delivered would miss a message whose delivery a crash undid below it
	 * (pipelined answers arrive out of order) or that failed once. */
	res_clear(&e);
	if (r->drv->select(r->src, name, 1, fo, &e) < 0)
		return src_failed(r, &e);
	if (uv != 0 && fo->uidvalidity != uv)
		log_warn("%s: %s: UIDVALIDITY changed (%u -> %u): refetching, skipping what was "
		         "delivered before",
		         r->acct->name, name, uv, fo->uidvalidity);
	r->jf = journal_folder(r->j, name, fo->uidvalidity, &r->uv_changed);
	if (r->jf == NULL)
		return fetch_fail(r, RES_CONFIG, "%s: bad folder name", name);
	if (fo->has_ids)
		forget_missing(r, fo);
	return 0;
}

/*
 * CONDSTORE: one STATUS before the folder is selected. 1 when the server
 * says what it said after the last poll that left nothing of the folder
 * undone (journal.h): nothing new, nothing to delete, the folder is done.
 * 0 with *st (zeros when the server cannot say) for a full poll; -1 when
 * the session failed.
 */
static int unchanged(struct run *r, const char *name, struct src_status *st)
{
	struct journal_folder *known = journal_folder_find(r->j, name);
	struct journal_mark m;
	struct result e;
	int rc;

	memset(st, 0, sizeof(*st));
	if (r->drv->status == NULL)
		return 0;
	res_clear(&e);
	if ((rc = r->drv->status(r->src, name, st, &e)) < 0)
		return src_failed(r, &e);
	if (rc == 0)
		memset(st, 0, sizeof(*st));
	if (rc == 0 || known == NULL || !journal_marked(known, &m))
		return 0;
	if (m.uidvalidity != st->uidvalidity || m.uidnext != st->uidnext ||
	    m.highestmodseq != st->highestmodseq)
		return 0;
	log_info("%s: %s: 0 new, unchanged (UIDNEXT %u, HIGHESTMODSEQ %llu)", r->acct->name, name,
	         st->uidnext, (unsigned long long)st->highestmodseq);
	return 1;
}

/*
 * After a full poll: when every message listed is seen and nothing of the
 * folder failed, the STATUS taken before it marks the folder (journal.h);
 * the next poll that hears the same skips it.
 */
static void mark_folder(struct run *r, const struct src_folder *fo, const struct src_status *st)
{
	struct journal_mark m = {st->uidvalidity, st->uidnext, st->highestmodseq};

	if (st->highestmodseq == 0 || r->folder_failed || r->p->dry_run || !fo->has_ids ||
	    st->uidvalidity != fo->uidvalidity)
		return;
	for (size_t i = 0; i < fo->nmsgs; i++) {
		char id[JOURNAL_ID_MAX + 1];

		item_id(r, &fo->msgs[i], id, sizeof(id));
		if (!journal_seen(r->jf, id))
			return;
	}
	/* Written with the next batch's records, or when the journal closes: a
	 * mark lost to a crash costs one full poll, nothing more. */
	journal_mark(r->jf, &m, r->err, sizeof(r->err));
}

static int fetch_folder(struct run *r, const char *name)
{
	struct src_folder fo;
	struct src_status sst;
	const struct src_msg **ms;
	size_t n = 0;
	int res;

	r->folder = name;
	r->folder_failed = false;
	if ((res = unchanged(r, name, &sst)) != 0)
		return res > 0 ? 0 : -1;
	if (select_folder(r, name, &fo) < 0)
		return -1;
	if (!fo.has_ids && r->acct->keep)
		return fetch_fail(
		    r, RES_CONFIG,
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
	if (res == 0)
		mark_folder(r, &fo, &sst);
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
	fd = open(maildir_root(r->pl.md), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || syncfs(fd) < 0) {
		if (fd >= 0)
			close(fd);
		return fetch_fail(r, RES_TEMP, "%s: cannot sync: %s", maildir_root(r->pl.md),
		                  strerror(errno));
	}
	close(fd);
	journal_recover(r->j, exists_cb, r->pl.md);
	if (journal_sync(r->j, r->err, sizeof(r->err)) < 0)
		return fetch_fail(r, RES_TEMP, "journal: %s", r->err);
	r->npartial = journal_pending(r->j, &r->partial);
	log_info("%s: recovered %zu interrupted deliveries (%zu partial)", r->acct->name, n,
	         r->npartial);
	return 0;
}

static int open_state(struct run *r)
{
	struct pipeline_params pp = {.cfg = r->p->cfg,
	                             .rules = r->p->rules,
	                             .dedupe = true,
	                             .fault = r->p->fault,
	                             .clean_tmp = !r->p->dry_run,
	                             .dry_run = r->p->dry_run};
	enum res_kind jr;

	if (pipeline_open(&r->pl, &pp, r->err, sizeof(r->err)) != RES_OK)
		return fetch_fail(r, RES_TEMP, "%s", r->err);
	r->j = (r->p->dry_run ? journal_open_readonly : journal_open)(
	    r->p->cfg->state_dir, r->acct->name, &jr, r->err, sizeof(r->err));
	if (r->j == NULL)
		return fetch_fail(r, jr == RES_CONFIG ? RES_CONFIG : RES_TEMP, "%s", r->err);
	return r->p->dry_run ? 0 : recover(r);
}

static void close_state(struct run *r)
{
	journal_close(r->j);
	journal_pending_free(r->partial, r->npartial);
	pipeline_close(&r->pl);
	items_clear(r);
	free(r->items);
	free(r->rbuf);
}

int fetch_account(const struct fetch_params *p, struct fetch_stats *st)
{
	struct run r = {.p = p, .acct = p->acct, .st = st};
	struct src_params sp = {.acct = p->acct, .dry_run = p->dry_run, .stop = p->stop};
	struct result e;

	memset(st, 0, sizeof(*st));
	r.drv = source_driver_for(p->acct->protocol);
	if (open_state(&r) == 0) {
		res_clear(&e);
		r.src = r.drv->open(&sp, &e);
		if (r.src == NULL)
			src_failed(&r, &e);
	}
	if (r.src != NULL) {
		const struct strlist *folders = p->folders ? p->folders : &p->acct->folders;

		if (p->acct->protocol == PROTO_POP3) {
			fetch_folder(&r, SOURCE_POP3_FOLDER);
		} else {
			/* A folder that fails does not stop the others unless the connection is
			 * gone. */
			for (size_t i = 0;
			     i < folders->n && r.src != NULL && !(p->stop && *p->stop); i++)
				if (fetch_folder(&r, folders->v[i]) < 0 &&
				    res_exit_code(r.kind) != EX_TEMPFAIL)
					break;
		}
		res_clear(&e);
		if (r.drv->close(r.src, &e) < 0 && r.kind == RES_OK)
			src_failed(&r, &e);
	}
	close_state(&r);
	/* Deliveries waiting for a forward or pipe to be retried: nothing lost, try again later. */
	if (r.kind == RES_OK && st->deferred > 0)
		fetch_fail(&r, RES_TEMP, "%llu messages wait for a forward or pipe to be retried",
		           (unsigned long long)st->deferred);
	return r.kind;
}
