/*
 * Other writers' changes to the selected folder (corral fetch, an MDA,
 * mbsync, another session), told to the client at the moments RFC 3501
 * allows: new messages as EXISTS/RECENT and flag changes as FETCH at any
 * command's start; expunges only where 7.4.1 allows them, never during
 * FETCH, STORE or SEARCH (a message gone meanwhile stays in the view,
 * marked, so no sequence number moves under the client).
 */
#include <stdio.h>
#include <stdlib.h>

#include "imapd/session-int.h"
#include "util/log.h"

static void said_expunge(size_t seq, void *arg)
{
	struct session *s = arg;

	reply(s, "* %zu EXPUNGE", seq);
	s->exists--;
}

/* With QRESYNC, one VANISHED for them all (RFC 7162 3.2.10): the UIDs are
 * gathered (from the highest sequence number down) and said after. */
struct vanished {
	uint32_t *uids;
	size_t n;
	const struct view *v;
};

static void said_vanished(size_t seq, void *arg)
{
	struct vanished *g = arg;

	g->uids[g->n++] = g->v->msgs[seq - 1].uid;
}

void session_expunges(struct session *s, bool silent)
{
	size_t before = s->view.n;
	struct vanished g = {NULL, 0, &s->view};

	if (s->state != S_SELECTED)
		return;
	if (silent || !s->qresync) {
		view_drop_gone(&s->view, silent ? NULL : said_expunge, s);
		if (silent)
			s->exists -= before - s->view.n;
		return;
	}
	g.uids = xcalloc(before + 1, sizeof(*g.uids));
	view_drop_gone(&s->view, said_vanished, &g);
	if (g.n > 0) {
		for (size_t i = 0; i < g.n / 2; i++) {
			uint32_t t = g.uids[i];

			g.uids[i] = g.uids[g.n - 1 - i];
			g.uids[g.n - 1 - i] = t;
		}
		buf_puts(&s->out, "* VANISHED ");
		seqset_put(&s->out, g.uids, g.n);
		buf_puts(&s->out, "\r\n");
		s->exists -= g.n;
	}
	free(g.uids);
}

static size_t keyword_count(const struct keywords *kw)
{
	size_t n = 0;

	for (size_t i = 0; i < kw->n; i++)
		n += kw->names[i] != NULL;
	return n;
}

void session_flags(struct session *s)
{
	const struct keywords *kw = &s->view.kw;

	buf_puts(&s->out, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft");
	for (size_t i = 0; i < kw->n; i++)
		if (kw->names[i] != NULL)
			buf_printf(&s->out, " %s", kw->names[i]);
	buf_puts(&s->out, ")\r\n");
	if (s->readonly)
		reply(s, "* OK [PERMANENTFLAGS ()] read-only");
	else
		reply(s,
		      "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] "
		      "flags and keywords are kept");
	s->kw_told = keyword_count(kw);
}

void session_new_keywords(struct session *s)
{
	if (keyword_count(&s->view.kw) != s->kw_told)
		session_flags(s);
}

void session_sync(struct session *s, bool force)
{
	char err[256];
	size_t recent = 0;
	int rc;

	if (s->state != S_SELECTED)
		return;
	/* Flags change and messages come only in a sync: without one there is
	 * nothing to tell (and no walk over a large folder per command). */
	if (!view_dirty(&s->view) && !force)
		return;
	rc = view_sync(&s->view, err, sizeof(err));
	if (rc < 0)
		log_warn("%s: %s", s->peer, err);
	if (rc == 1) {
		/* RFC 3501 2.3.1.1: the client must drop what it cached. */
		log_info("%s: the UIDVALIDITY of %s changed: ending the session", s->peer,
		         s->view.dir);
		reply(s, "* BYE the folder's UIDVALIDITY changed: select it again");
		s->state = S_LOGOUT;
		return;
	}
	/* A keyword another session named is announced before it is used. */
	session_new_keywords(s);
	for (size_t i = 0; i < s->view.n; i++) {
		struct view_msg *m = &s->view.msgs[i];

		recent += m->recent;
		if (!m->changed || m->gone)
			continue;
		m->changed = false;
		buf_printf(&s->out, "* %zu FETCH (UID %u ", i + 1, m->uid);
		view_msg_put_flags(&s->view, m, &s->out);
		if (modseq_shown(s)) {
			buf_putc(&s->out, ' ');
			put_modseq(s, m);
		}
		buf_puts(&s->out, ")\r\n");
	}
	if (s->view.n != s->exists) {
		s->exists = s->view.n;
		reply(s, "* %zu EXISTS", s->view.n);
		reply(s, "* %zu RECENT", recent);
	}
}
