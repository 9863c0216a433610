/*
 * CONDSTORE and QRESYNC (RFC 7162) in the session: what enables them, the
 * MODSEQ item, SELECT's (CONDSTORE) and (QRESYNC (...)) parameters, and
 * VANISHED (EARLIER). The mod-sequences themselves are the view's
 * (view-modseq.c). A client whose mod-sequence is older than what the
 * record of expunges still holds (view_modseq_forgot) is told every UID it
 * knows that is not in the folder, as RFC 7162 3.2.5.2 allows, from the
 * UID on which its seq-match data proves nothing vanished below. A folder
 * whose index cannot be written is NOMODSEQ (3.1.2.2).
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
	if (s->state == S_SELECTED && !s->modseq_told && !s->view.nomodseq) {
		reply(s, "* OK [HIGHESTMODSEQ %llu] Highest",
		      (unsigned long long)s->view.highestmodseq);
		s->modseq_told = true;
	}
}

bool modseq_shown(const struct session *s)
{
	return s->condstore && !s->view.nomodseq;
}

int modseq_refused(struct session *s)
{
	if (!s->view.nomodseq)
		return 0;
	/* RFC 7162 3.1.2.2: after NOMODSEQ, CHANGEDSINCE, UNCHANGEDSINCE and
	 * MODSEQ in FETCH and SEARCH are BAD. */
	done(s, ST_BAD, "this folder keeps no mod-sequences (NOMODSEQ): it cannot be written");
	return -1;
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

/* The number of values of a set, up to the cap (cap + 1: more). */
static uint64_t set_count(const struct seqset *set, uint64_t cap)
{
	uint64_t k = 0;

	for (size_t i = 0; i < set->n && k <= cap; i++)
		k += (uint64_t)set->r[i].hi - set->r[i].lo + 1;
	return k;
}

/* The seq-match data, "(known-sequence-set known-uid-set)": as many
 * message numbers as UIDs (RFC 7162 3.2.5.2), a bounded number. */
static bool seq_match(const struct imapd_arg *a, struct qresync *q)
{
	const uint64_t cap = 1u << 20;
	uint64_t n;

	if (a->kind != IMAPD_LIST || a->nsub != 2 || a->sub[0].kind != IMAPD_ATOM ||
	    a->sub[1].kind != IMAPD_ATOM ||
	    seqset_parse(a->sub[0].s, a->sub[0].len, UINT32_MAX, &q->match_seqs) < 0 ||
	    seqset_parse(a->sub[1].s, a->sub[1].len, UINT32_MAX, &q->match_uids) < 0)
		return false;
	n = set_count(&q->match_seqs, cap);
	return n <= cap && n == set_count(&q->match_uids, cap);
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
	return a->nsub < 4 || seq_match(&a->sub[3], q);
}

void qresync_free(struct qresync *q)
{
	seqset_free(&q->known);
	seqset_free(&q->match_seqs);
	seqset_free(&q->match_uids);
}

/* Steps (*r, *x) to the next value of set; false past its end. */
static bool set_next(const struct seqset *set, size_t *r, uint32_t *x)
{
	if (*x < set->r[*r].hi) {
		(*x)++;
		return true;
	}
	if (++*r == set->n)
		return false;
	*x = set->r[*r].lo;
	return true;
}

/* RFC 7162 3.2.5.2: a pair (N, U) of the seq-match data whose message N
 * is still UID U proves that none of the messages the client knew below U
 * vanished (UIDs only grow: both views hold the same N - 1 below it). The
 * highest such U, or 0. */
static uint32_t seq_match_floor(const struct view *v, const struct qresync *q)
{
	size_t rs = 0, ru = 0;
	uint32_t seq, uid, best = 0;

	if (q->match_seqs.n == 0 || q->match_uids.n == 0)
		return 0;
	seq = q->match_seqs.r[0].lo;
	uid = q->match_uids.r[0].lo;
	do {
		if (seq <= v->n && v->msgs[seq - 1].uid == uid)
			best = uid;
	} while (set_next(&q->match_seqs, &rs, &seq) && set_next(&q->match_uids, &ru, &uid));
	return best;
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
				qresync_free(q);
				done(s, ST_BAD,
				     "QRESYNC needs (uidvalidity modseq [known-uids [(seqs "
				     "uids)]]), "
				     "as many message numbers as UIDs");
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

/* The client's known UIDs (all below UIDNEXT when it named none) from
 * floor on, into out. */
static void known_from(const struct view *v, const struct qresync *q, uint32_t floor,
                       struct seqset *out)
{
	struct seqset_range all = {1, v->uidnext > 1 ? v->uidnext - 1 : 1};
	const struct seqset_range *r = q->have_known ? q->known.r : &all;
	size_t n = q->have_known ? q->known.n : 1;

	out->r = xcalloc(n + 1, sizeof(*out->r));
	out->n = 0;
	for (size_t i = 0; i < n; i++)
		if (r[i].hi >= floor)
			out->r[out->n++] =
			    (struct seqset_range){r[i].lo > floor ? r[i].lo : floor, r[i].hi};
}

void qresync_select(struct session *s, const struct qresync *q)
{
	const struct view *v = &s->view;
	uint32_t floor;

	if (!q->qresync || q->uidvalidity != v->uidvalidity || v->nomodseq)
		return;
	/* The seq-match data narrows only what the record of expunges no
	 * longer holds; where it holds, the answer is exact already. */
	floor = view_modseq_forgot(v, q->modseq) ? seq_match_floor(v, q) : 0;
	if (floor > 0) {
		struct seqset narrowed;

		known_from(v, q, floor, &narrowed);
		put_vanished_earlier(s, &narrowed, q->modseq);
		seqset_free(&narrowed);
	} else {
		put_vanished_earlier(s, q->have_known ? &q->known : NULL, q->modseq);
	}
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
