/*
 * The view's mod-sequences (view.h, RFC 7162): given as the view sees or
 * makes changes, kept in the folder's index (store/mdindex.h) by UID.
 * Sessions of one folder run in separate processes; each saves under the
 * UID list's lock after reading what the others saved, so that the
 * mod-sequences on disk only grow and no two changes share one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "imapd/view.h"
#include "store/uidlist.h"
#include "util/log.h"

void view_modseq_init(struct view *v)
{
	const struct mdindex_modseqs *ms = mdindex_modseqs(v->ix);

	v->highestmodseq = v->modseq_base = ms->highest;
	v->modseq_floor = ms->floor;
	v->ngone = 0;
	v->gone = xreallocarray_grow(v->gone, &v->gone_cap, ms->ngone + 1, sizeof(*v->gone));
	if (ms->ngone > 0)
		memcpy(v->gone, ms->gone, ms->ngone * sizeof(*v->gone));
	v->ngone = ms->ngone;
}

void view_modseq_bump(struct view *v, struct view_msg *m)
{
	m->modseq = ++v->highestmodseq;
	v->modseq_changed = true;
}

void view_modseq_added(struct view *v, struct view_msg *m)
{
	const struct mdindex_modseq *k = mdindex_modseq_find(mdindex_modseqs(v->ix), m->uid);

	if (k != NULL && k->flagsum == mdindex_flagsum(m->flags) && k->modseq <= v->highestmodseq)
		m->modseq = k->modseq;
	else
		view_modseq_bump(v, m);
}

static void add_gone(struct view *v, uint32_t uid)
{
	v->gone = xreallocarray_grow(v->gone, &v->gone_cap, v->ngone + 1, sizeof(*v->gone));
	v->gone[v->ngone].uid = uid;
	v->gone[v->ngone++].modseq = ++v->highestmodseq;
	v->modseq_changed = true;
}

void view_modseq_expunged(struct view *v, const struct view_msg *m)
{
	add_gone(v, m->uid);
}

void view_modseq_opened(struct view *v, const struct uidlist *ul)
{
	const struct mdindex_modseqs *ms = mdindex_modseqs(v->ix);
	size_t j = 0;

	/* Both in ascending UIDs. */
	for (size_t i = 0; i < ms->n; i++) {
		while (j < ul->n && ul->recs[j].uid < ms->msgs[i].uid)
			j++;
		if (j == ul->n || ul->recs[j].uid != ms->msgs[i].uid)
			add_gone(v, ms->msgs[i].uid);
	}
}

bool view_modseq_forgot(const struct view *v, uint64_t modseq)
{
	return modseq < v->modseq_floor;
}

/* Moves what this view gave above base (the highest on disk now). */
static void rebase(struct view *v, uint64_t disk)
{
	uint64_t shift;

	if (disk <= v->modseq_base)
		return;
	shift = disk - v->modseq_base;
	for (size_t i = 0; i < v->n; i++)
		if (v->msgs[i].modseq > v->modseq_base)
			v->msgs[i].modseq += shift;
	for (size_t i = 0; i < v->ngone; i++)
		if (v->gone[i].modseq > v->modseq_base)
			v->gone[i].modseq += shift;
	v->highestmodseq += shift;
	v->modseq_base = disk;
}

static int cmp_gone(const void *a, const void *b)
{
	const struct mdindex_gone *x = a, *y = b;

	if (x->modseq != y->modseq)
		return x->modseq < y->modseq ? -1 : 1;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static int cmp_gone_uid(const void *a, const void *b)
{
	const struct mdindex_gone *x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return x->modseq > y->modseq ? -1 : x->modseq < y->modseq;
}

/* The expunges the disk has and v has not: added, one per UID (its
 * latest), in modseq order. */
static void merge_gone(struct view *v, const struct mdindex_modseqs *disk)
{
	size_t k = 0;

	v->gone =
	    xreallocarray_grow(v->gone, &v->gone_cap, v->ngone + disk->ngone + 1, sizeof(*v->gone));
	if (disk->ngone > 0)
		memcpy(v->gone + v->ngone, disk->gone, disk->ngone * sizeof(*v->gone));
	v->ngone += disk->ngone;
	qsort(v->gone, v->ngone, sizeof(*v->gone), cmp_gone_uid);
	for (size_t i = 0; i < v->ngone; i++)
		if (k == 0 || v->gone[k - 1].uid != v->gone[i].uid)
			v->gone[k++] = v->gone[i];
	v->ngone = k;
	qsort(v->gone, v->ngone, sizeof(*v->gone), cmp_gone);
}

/* What the index keeps: v's messages, taking the later mod-sequence of a
 * message another session changed since. */
static void put_record(struct view *v, const struct mdindex_modseqs *disk)
{
	struct mdindex_modseqs ms = {.highest = v->highestmodseq,
	                             .floor = v->modseq_floor,
	                             .gone = v->gone,
	                             .ngone = v->ngone};
	size_t k = 0;

	if (disk->floor > ms.floor)
		ms.floor = disk->floor;
	ms.msgs = xcalloc(v->n + 1, sizeof(*ms.msgs));
	for (size_t i = 0; i < v->n; i++) {
		struct view_msg *m = &v->msgs[i];
		const struct mdindex_modseq *d = mdindex_modseq_find(disk, m->uid);

		if (m->gone)
			continue;
		if (d != NULL && d->modseq > m->modseq)
			m->modseq = d->modseq;
		ms.msgs[k++] =
		    (struct mdindex_modseq){m->uid, m->modseq, mdindex_flagsum(m->flags)};
	}
	ms.n = k;
	mdindex_set_modseqs(v->ix, &ms);
	free(ms.msgs);
	/* The index trimmed the oldest expunges: so does the view. */
	ms = *mdindex_modseqs(v->ix);
	v->modseq_floor = ms.floor;
	if (ms.ngone > 0)
		memcpy(v->gone, ms.gone, ms.ngone * sizeof(*v->gone));
	v->ngone = ms.ngone;
}

int view_modseq_save(struct view *v)
{
	char err[256];
	static const struct mdindex_modseqs none;
	struct mdindex *disk;
	int lock, rc;

	if (!v->modseq_changed)
		return mdindex_save(v->ix, v->dir);
	if ((lock = uidlist_lock(v->dir, 10000, err, sizeof(err))) < 0) {
		log_warn("%s", err);
		return mdindex_save(v->ix, v->dir) < 0 ? -1 : 0;
	}
	/* The tag names no block: only the mod-sequences are wanted. */
	disk = mdindex_load(v->dir, "");
	/* A file that is not there (or broken) gave no mod-sequence. */
	if (mdindex_from_file(disk)) {
		rebase(v, mdindex_modseqs(disk)->highest);
		merge_gone(v, mdindex_modseqs(disk));
		put_record(v, mdindex_modseqs(disk));
	} else {
		put_record(v, &none);
	}
	mdindex_free(disk);
	rc = mdindex_save(v->ix, v->dir);
	if (rc == 0) {
		v->modseq_base = v->highestmodseq;
		v->modseq_changed = false;
	}
	uidlist_unlock(v->dir, lock);
	return rc;
}
