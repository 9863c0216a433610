/*
 * CONDSTORE and QRESYNC (RFC 7162) in the session: what enables them, the
 * MODSEQ item, SELECT's (CONDSTORE) and (QRESYNC (...)) parameters, and
 * VANISHED (EARLIER). The mod-sequences themselves are the view's
 * (view-modseq.c). A client whose mod-sequence is older than what the
 * record of expunges still holds (view_modseq_forgot) is told every UID it
 * knows that is not in the folder, as RFC 7162 3.2.5.2 allows.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "imapd/seqset.h"
#include "imapd/session-int.h"
#include "util/log.h"

void condstore_on(struct session *s)
{
	s->condstore = true;
	/* 3.1: a command other than SELECT that enables CONDSTORE says
	 * HIGHESTMODSEQ once. */
	if (s->state == S_SELECTED && !s->modseq_told) {
		reply(s, "* OK [HIGHESTMODSEQ %llu] Highest",
		      (unsigned long long)s->view.highestmodseq);
		s->modseq_told = true;
	}
}

void put_modseq(struct session *s, const struct view_msg *m)
{
	buf_printf(&s->out, "MODSEQ (%llu)", (unsigned long long)m->modseq);
}

/* Appends lo:hi to a set being written (*sep: "" first, then ","). */
static void put_range(struct buf *b, const char **sep, uint32_t lo, uint32_t hi)
{
	if (lo == hi)
		buf_printf(b, "%s%u", *sep, lo);
	else
		buf_printf(b, "%s%u:%u", *sep, lo, hi);
	*sep = ",";
}

/* Every UID of known (1 to UIDNEXT - 1 when NULL) that is not in the view. */
static void put_absent(struct session *s, const struct seqset *known, const char **sep)
{
	const struct view *v = &s->view;
	struct seqset_range all = {1, v->uidnext > 1 ? v->uidnext - 1 : 0};
	size_t nr = known != NULL ? known->n : all.hi > 0;

	for (size_t r = 0; r < nr; r++) {
		struct seqset_range rg = known != NULL ? known->r[r] : all;
		uint32_t at = rg.lo;

		/* UIDs from UIDNEXT on were never given: none of them vanished. */
		if (rg.hi > all.hi)
			rg.hi = all.hi;
		if (rg.lo > rg.hi)
			continue;

		for (size_t i = view_uid_at_least(v, 0, rg.lo); i < v->n && v->msgs[i].uid <= rg.hi;
		     i++) {
			if (v->msgs[i].uid > at)
				put_range(&s->out, sep, at, v->msgs[i].uid - 1);
			at = v->msgs[i].uid + 1;
		}
		if (at <= rg.hi && at != 0)
			put_range(&s->out, sep, at, rg.hi);
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void put_vanished_earlier(struct session *s, const struct seqset *known, uint64_t since)
{
	const struct view *v = &s->view;
	size_t mark = s->out.len, n = 0;
	const char *sep = "";
	uint32_t *uids;

	buf_puts(&s->out, "* VANISHED (EARLIER) ");
	if (view_modseq_forgot(v, since)) {
		put_absent(s, known, &sep);
	} else {
		uids = xcalloc(v->ngone + 1, sizeof(*uids));
		for (size_t i = 0; i < v->ngone; i++)
			if (v->gone[i].modseq > since &&
			    (known == NULL || seqset_has(known, v->gone[i].uid)))
				uids[n++] = v->gone[i].uid;
		qsort(uids, n, sizeof(*uids), cmp_u32);
		seqset_put(&s->out, uids, n);
		sep = n > 0 ? "," : "";
		free(uids);
	}
	if (*sep == '\0') {
		s->out.len = mark; /* nothing vanished: nothing said */
		return;
	}
	buf_puts(&s->out, "\r\n");
}

/* A number of 1 to 2^63 - 1 (mod-sequence) or, with zero, 0 too. */
static bool number_arg(const struct imapd_arg *a, bool zero, uint64_t *out)
{
	char *end;

	if (a->kind != IMAPD_ATOM || a->len == 0 || a->len > 19 || a->s[0] < '0' || a->s[0] > '9')
		return false;
	errno = 0;
	*out = strtoull(a->s, &end, 10);
	return errno == 0 && end == a->s + a->len && *out < (UINT64_C(1) << 63) &&
	       (zero || *out > 0);
}

bool modseq_arg(const struct imapd_arg *a, bool zero, uint64_t *out)
{
	return number_arg(a, zero, out);
}

/* QRESYNC's list: uidvalidity modseq [known-uids [(seq-match)]]. */
static bool qresync_list(const struct imapd_arg *a, struct qresync *q)
{
	uint64_t uv;

	if (a->kind != IMAPD_LIST || a->nsub < 2 || a->nsub > 4 ||
	    !number_arg(&a->sub[0], false, &uv) || uv > UINT32_MAX ||
	    !number_arg(&a->sub[1], false, &q->modseq))
		return false;
	q->uidvalidity = (uint32_t)uv;
	if (a->nsub >= 3 && (a->sub[2].kind != IMAPD_ATOM ||
	                     seqset_parse(a->sub[2].s, a->sub[2].len, UINT32_MAX, &q->known) < 0))
		return false;
	q->have_known = a->nsub >= 3;
	/* The seq-match pair only narrows what the record of expunges no
	 * longer holds; the UIDs in the folder answer that exactly. */
	return a->nsub < 4 || a->sub[3].kind == IMAPD_LIST;
}

int select_params(struct session *s, const struct imapd_arg *a, struct qresync *q)
{
	memset(q, 0, sizeof(*q));
	for (size_t i = 0; a != NULL && i < a->nsub; i++) {
		const struct imapd_arg *p = &a->sub[i];

		if (imapd_arg_is(p, "CONDSTORE") && p->kind == IMAPD_ATOM) {
			q->condstore = true;
		} else if (imapd_arg_is(p, "QRESYNC") && p->kind == IMAPD_ATOM && i + 1 < a->nsub &&
		           s->qresync && !q->qresync) {
			q->qresync = true;
			if (!qresync_list(&a->sub[++i], q)) {
				done(s, ST_BAD, "QRESYNC needs (uidvalidity modseq [known-uids])");
				return -1;
			}
		} else {
			done(s, ST_BAD, "unknown SELECT parameter%s",
			     imapd_arg_is(p, "QRESYNC") ? " (ENABLE QRESYNC first)" : "");
			return -1;
		}
	}
	return 0;
}

void qresync_select(struct session *s, const struct qresync *q)
{
	const struct view *v = &s->view;

	if (!q->qresync || q->uidvalidity != v->uidvalidity)
		return;
	put_vanished_earlier(s, q->have_known ? &q->known : NULL, q->modseq);
	for (size_t i = 0; i < v->n; i++) {
		const struct view_msg *m = &v->msgs[i];

		/* 3.2.5.1: with known UIDs, only their changes. */
		if (m->modseq <= q->modseq || (q->have_known && !seqset_has(&q->known, m->uid)))
			continue;
		buf_printf(&s->out, "* %zu FETCH (UID %u ", i + 1, m->uid);
		view_msg_put_flags(v, m, &s->out);
		buf_putc(&s->out, ' ');
		put_modseq(s, m);
		buf_puts(&s->out, ")\r\n");
	}
}
