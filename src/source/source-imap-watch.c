/*
 * The IMAP source's questions that fetch nothing: STATUS (CONDSTORE, RFC
 * 7162: whether a folder changed), NOTIFY (RFC 5465: reports about every
 * watched folder over one connection) and IDLE (RFC 2177), with the
 * untagged STATUS and LIST responses they bring.
 */
#include <string.h>

#include "net/net.h"
#include "net/respcode.h"
#include "source/source-imap-int.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/str.h"

/* ---- reports: STATUS and LIST ---- */

/* News about every watched folder: the server lost track, or a name changed. */
static void all_changed(struct source *s)
{
	for (size_t i = 0; s->changed != NULL && i < s->nwatched; i++)
		s->changed[i] = true;
	s->notes++;
}

/* A report (STATUS or LIST) about the mailbox named name: news if it is watched. */
static void note_mailbox(struct source *s, const char *name)
{
	for (size_t i = 0; i < s->nwatched; i++)
		if (imap_mailbox_same(s->watched[i], name)) {
			if (s->changed != NULL)
				s->changed[i] = true;
			s->notes++;
			return;
		}
	if (s->nwatched > 0)
		log_debug("%s: a report about '%s', not watched: ignored", net_peer(s->net), name);
}

/*
 * The mailbox name that starts p, and where what follows it is: a literal
 * ("{5}" ending the line) is read, and the rest is then the next line.
 * 0, 1 when the name could not be read (the caller assumes the worst), -1
 * when the session failed.
 */
static int take_name(struct source *s, const char **p, size_t *len, char *name, struct result *err)
{
	uint64_t n;
	size_t used;
	char *next;

	if (*len > 0 && **p == '{' && imap_literal_at_end(*p, *len, &n) == 1) {
		const char *lit;
		size_t got, k = 0;

		while (k < n) {
			if (net_read_some(s->net, &lit, &got, (size_t)(n - k), err) < 0)
				return -1;
			if (k + got < NAME_MAX_WIRE)
				memcpy(name + k, lit, got);
			k += got;
		}
		if (net_read_line(s->net, &next, len, err) < 0)
			return -1;
		*p = next;
		if (n >= NAME_MAX_WIRE || memchr(name, '\0', (size_t)n) != NULL)
			return 1;
		name[n] = '\0';
		return 0;
	}
	used = imap_mailbox_take(*p, *len, name, NAME_MAX_WIRE);
	*p += used;
	*len -= used;
	return used > 0 ? 0 : 1;
}

/* "* STATUS name (items)": status()'s answer, or a NOTIFY report. */
int imap_on_status(struct source *s, const struct imap_line *l, struct result *err)
{
	char name[NAME_MAX_WIRE];
	const char *p = l->rest;
	size_t len = l->rest_len;
	struct imap_status_data d;
	int rc = take_name(s, &p, &len, name, err);

	if (rc < 0)
		return -1;
	if (rc > 0) {
		all_changed(s);
		return imap_skip_literals(s, p, len, err);
	}
	if (s->status_want != NULL && imap_mailbox_same(s->status_want, name) &&
	    imap_status_items(p, len, &d) == 0) {
		s->status_got = d;
		s->status_seen = true;
	}
	note_mailbox(s, name);
	return imap_skip_literals(s, p, len, err);
}

/* "* LIST (attrs) delim name ...": NOTIFY's MailboxName event (created,
 * deleted: \NonExistent, renamed: OLDNAME). A rename, or a line this
 * client cannot read, is news for every watched folder. */
int imap_on_list(struct source *s, const struct imap_line *l, struct result *err)
{
	char name[NAME_MAX_WIRE];
	const char *p = l->rest, *end = l->rest + l->rest_len, *q;
	size_t len;
	int rc = 1;

	q = p < end && *p == '(' ? memchr(p, ')', (size_t)(end - p)) : NULL;
	if (q != NULL && q + 1 < end && q[1] == ' ') {
		p = q + 2;
		/* The delimiter: a quoted character or NIL. */
		while (p < end && *p != ' ')
			p += *p == '\\' ? 2 : 1;
		/* A backslash as the last byte stepped past the end. */
		if (p > end)
			p = end;
		if (p < end) {
			p++;
			len = (size_t)(end - p);
			if ((rc = take_name(s, &p, &len, name, err)) < 0)
				return -1;
			end = p + len;
		}
	}
	if (rc == 0 && memmem(p, (size_t)(end - p), "OLDNAME", 7) == NULL)
		note_mailbox(s, name);
	else
		all_changed(s);
	return imap_skip_literals(s, p, (size_t)(end - p), err);
}

/* ---- STATUS (CONDSTORE, RFC 7162) ---- */

static int do_status(struct source *s, const char *folder, struct src_status *out,
                     struct result *err)
{
	char want[NAME_MAX_WIRE];
	struct tagged t;
	unsigned tag;

	res_clear(err);
	memset(out, 0, sizeof(*out));
	if (!(s->caps & IMAP_CAP_CONDSTORE) || imap_mailbox_wire(folder, want, sizeof(want)) < 0)
		return 0;
	tag = ++s->tag;
	buf_printf(&s->out, "c%u STATUS ", tag);
	imap_append_mailbox(&s->out, folder);
	buf_puts(&s->out, " (UIDNEXT UIDVALIDITY HIGHESTMODSEQ)\r\n");
	s->status_want = want;
	s->status_seen = false;
	if (imap_flush(s, err) < 0 || imap_wait_tag(s, tag, &t, err) < 0) {
		s->status_want = NULL;
		return -1;
	}
	s->status_want = NULL;
	if (t.status != IMAP_OK || !s->status_seen || !s->status_got.has_uidnext ||
	    !s->status_got.has_uidvalidity || !s->status_got.has_modseq ||
	    s->status_got.highestmodseq == 0 || s->status_got.uidnext == 0 ||
	    s->status_got.uidvalidity == 0)
		return 0;
	out->uidvalidity = s->status_got.uidvalidity;
	out->uidnext = s->status_got.uidnext;
	out->highestmodseq = s->status_got.highestmodseq;
	return 1;
}

int imap_status(struct source *s, const char *folder, struct src_status *out, struct result *err)
{
	return s->broken ? src_refuse_broken(s->net, err)
	                 : src_guard(&s->broken, do_status(s, folder, out, err), err);
}

/* ---- NOTIFY (RFC 5465) ---- */

static int do_watch(struct source *s, const char *const *folders, size_t n, struct result *err)
{
	struct tagged t;
	unsigned tag;

	res_clear(err);
	if (!(s->caps & IMAP_CAP_NOTIFY))
		return res_fail(err, RES_SCOPE_ACCOUNT, RES_CONFIG, NULL,
		                "%s: the server does not offer NOTIFY", net_peer(s->net));
	if (n == 0 || s->nwatched > 0)
		return res_fail(err, RES_SCOPE_ACCOUNT, RES_CONFIG, NULL, "nothing to watch");
	tag = ++s->tag;
	/* MessageNew needs MessageExpunge beside it (RFC 5465 5.2). Nothing is
	 * selected: every report is a STATUS (or a LIST) about one folder. */
	buf_printf(&s->out, "c%u NOTIFY SET (SELECTED (MessageNew MessageExpunge)) (MAILBOXES (",
	           tag);
	s->watched = xcalloc(n, sizeof(*s->watched));
	for (size_t i = 0; i < n; i++) {
		char wire[NAME_MAX_WIRE];

		if (imap_mailbox_wire(folders[i], wire, sizeof(wire)) < 0) {
			buf_reset(&s->out);
			return res_fail(err, RES_SCOPE_ACCOUNT, RES_CONFIG, NULL,
			                "folder name '%s' is not valid", folders[i]);
		}
		s->watched[s->nwatched++] = xstrdup(wire);
		if (i > 0)
			buf_putc(&s->out, ' ');
		imap_append_mailbox(&s->out, folders[i]);
	}
	buf_puts(&s->out, ") (MessageNew MessageExpunge MailboxName))\r\n");
	if (imap_flush(s, err) < 0 || imap_wait_tag(s, tag, &t, err) < 0)
		return -1;
	if (t.status != IMAP_OK)
		return res_fail(err, RES_SCOPE_ACCOUNT, RES_CONFIG, t.text, "%s: NOTIFY refused",
		                net_peer(s->net));
	return 0;
}

int imap_watch(struct source *s, const char *const *folders, size_t n, struct result *err)
{
	return s->broken ? src_refuse_broken(s->net, err)
	                 : src_guard(&s->broken, do_watch(s, folders, n, err), err);
}

/* ---- IDLE (RFC 2177) ---- */

/*
 * IDLE for at most timeout_s, ended early by an EXISTS; then DONE, whose
 * answer within the connection's timeout also proves the connection alive
 * (a dead one is noticed here, not only when the server next has news).
 */
static int do_wait_news(struct source *s, unsigned timeout_s, bool *news, struct result *err)
{
	uint64_t deadline = fs_now_ms() + (uint64_t)timeout_s * 1000;
	unsigned tag, seen, noted;
	struct tagged t;
	int rc;

	*news = false;
	if (!(s->caps & IMAP_CAP_IDLE))
		return res_fail(err, RES_SCOPE_ACCOUNT, RES_CONFIG, NULL,
		                "%s: the server does not offer IDLE", net_peer(s->net));
	tag = imap_next_tag(s, "IDLE\r\n");
	s->continued = false;
	if (imap_flush(s, err) < 0)
		return -1;
	while (!s->continued) {
		if ((rc = imap_read_response(s, &t, err)) < 0)
			return -1;
		if (rc == 1 && t.tag == tag)
			return res_fail(err, RES_SCOPE_ACCOUNT, resp_code_kind(t.text, RES_TEMP),
			                t.text, "%s: IDLE refused", net_peer(s->net));
	}
	seen = s->exists_seen;
	noted = s->notes;
	while (s->exists_seen == seen && s->notes == noted && !s->overflow) {
		uint64_t now = fs_now_ms();

		if (now >= deadline)
			break;
		rc = net_wait(s->net, (int)(deadline - now), err);
		if (rc < 0)
			return -1;
		if (rc == 0)
			break;
		if ((rc = imap_read_response(s, &t, err)) < 0)
			return -1;
		if (rc == 1 && t.tag == tag)
			return res_fail(err, RES_SCOPE_ACCOUNT, RES_TEMP, t.text,
			                "%s: the server ended IDLE", net_peer(s->net));
	}
	buf_puts(&s->out, "DONE\r\n");
	if (imap_flush(s, err) < 0 || imap_wait_tag(s, tag, &t, err) < 0)
		return -1;
	if (t.status != IMAP_OK)
		return res_fail(err, RES_SCOPE_ACCOUNT, RES_TEMP, t.text, "%s: IDLE failed",
		                net_peer(s->net));
	*news = s->exists_seen != seen || s->notes != noted;
	if (s->overflow)
		return res_fail(err, RES_SCOPE_ACCOUNT, RES_TEMP, NULL,
		                "%s: the server stopped reporting (NOTIFICATIONOVERFLOW)",
		                net_peer(s->net));
	return 0;
}

int imap_wait_news(struct source *s, unsigned timeout_s, bool *news, bool *changed,
                   struct result *err)
{
	int rc;

	if (s->broken)
		return src_refuse_broken(s->net, err);
	/* Every response is read inside a call: the array sees them all. */
	s->changed = s->nwatched > 0 ? changed : NULL;
	rc = src_guard(&s->broken, do_wait_news(s, timeout_s, news, err), err);
	s->changed = NULL;
	return rc;
}
