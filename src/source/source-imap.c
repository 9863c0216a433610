/*
 * IMAP source: after net.c logged in, speaks IMAP4rev1 itself so that it
 * can pipeline `UID FETCH set (UID RFC822.SIZE BODY.PEEK[])` commands and
 * stream each literal into the caller's file. Untagged responses are
 * accepted anywhere (EXISTS, EXPUNGE, FETCH FLAGS, OK [ALERT]...). What is
 * asked without fetching (STATUS, NOTIFY, IDLE) is in source-imap-watch.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "source/imap-parse.h"
#include "net/net.h"
#include "net/respcode.h"
#include "source/source-imap-int.h"
#include "source/source-int.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/str.h"

/* Our command lines stay below this (servers accept 8000 at least). */
#define CMD_MAX_SET 7000
#define MAX_LISTED  (8u * 1024 * 1024)
#define MAX_OUT     (1024 * 1024)

static uint64_t max_message(const struct source *s)
{
	return s->p.max_message ? s->p.max_message : SOURCE_DEFAULT_MAX_MESSAGE;
}

unsigned imap_next_tag(struct source *s, const char *fmt_rest)
{
	s->tag++;
	buf_printf(&s->out, "c%u %s", s->tag, fmt_rest);
	return s->tag;
}

int imap_flush(struct source *s, struct result *err)
{
	int rc = 0;

	if (s->out.len > 0)
		rc = net_write(s->net, s->out.data, s->out.len, err);
	buf_reset(&s->out);
	return rc;
}

/* ---- literals and bodies ---- */

/* Reads n literal bytes into b (NULL: discards them). */
static int read_literal(struct source *s, uint64_t n, struct src_body *b, struct result *err)
{
	while (n > 0) {
		const char *p;
		size_t got;

		if (net_read_some(s->net, &p, &got, n > SIZE_MAX ? SIZE_MAX : (size_t)n, err) < 0)
			return -1;
		if (b != NULL)
			src_body_put(b, p, got);
		n -= got;
	}
	return 0;
}

static ssize_t find_req(const struct fetch_run *r, uint32_t uid)
{
	size_t lo = 0, hi = r->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->req[mid]->uid == uid)
			return (ssize_t)mid;
		if (r->req[mid]->uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Asks the sink for m's file and starts writing to it. */
static bool open_target(struct source *s, size_t idx)
{
	struct fetch_run *r = s->run;
	int fd = -1;

	if (r->stop || r->sink->open(r->sink->ctx, r->req[idx], &fd) < 0) {
		r->stop = true;
		return false;
	}
	s->cur = r->req[idx];
	s->cur_idx = idx;
	s->cur_fd = fd;
	src_body_start(&s->body, fd, max_message(s), r->sink->lf_line_ends);
	return true;
}

/* Where a body starting now goes: the wanted message's file, a spool when
 * the server has not said the UID yet, or nowhere. */
static void body_begin(struct source *s, const struct imap_fetch *f)
{
	ssize_t idx;

	s->mode = BODY_DISCARD;
	if (s->run == NULL || s->run->stop)
		return;
	if (!f->has_uid) {
		s->spool = tmpfile();
		if (s->spool == NULL)
			return;
		src_body_start(&s->body, fileno(s->spool), max_message(s), false);
		s->mode = BODY_SPOOL;
		return;
	}
	idx = find_req(s->run, f->uid);
	if (idx >= 0 && !s->run->got[idx] && open_target(s, (size_t)idx))
		s->mode = BODY_FILE;
}

static void report(struct source *s, size_t idx, int fd, uint64_t size, const struct result *m)
{
	struct fetch_run *r = s->run;

	r->got[idx] = true;
	if (r->sink->done(r->sink->ctx, r->req[idx], fd, size, m) < 0)
		r->stop = true;
}

static void finish_file(struct source *s)
{
	struct result merr;
	uint64_t size = 0;

	if (src_body_finish(&s->body, &size, &merr) < 0)
		report(s, s->cur_idx, s->cur_fd, 0, &merr);
	else
		report(s, s->cur_idx, s->cur_fd, size, NULL);
}

/* The UID came after the body: copy the spooled body to the real file. */
static void finish_spool(struct source *s, const struct imap_fetch *f)
{
	struct result merr;
	uint64_t size;
	ssize_t idx = f->has_uid ? find_req(s->run, f->uid) : -1;
	char chunk[16384];
	size_t k;

	if (src_body_finish(&s->body, &size, &merr) < 0 && idx >= 0 && !s->run->got[idx]) {
		report(s, (size_t)idx, -1, 0, &merr);
	} else if (idx >= 0 && !s->run->got[idx] && open_target(s, (size_t)idx)) {
		rewind(s->spool);
		while ((k = fread(chunk, 1, sizeof(chunk), s->spool)) > 0)
			src_body_put(&s->body, chunk, k);
		finish_file(s);
	}
	fclose(s->spool);
	s->spool = NULL;
}

static void add_listed(struct source *s, const struct imap_fetch *f)
{
	struct src_msg *m;

	/* An unsolicited FETCH (a flag change) has no size: not a listing. */
	if (!f->has_uid || !f->has_size || f->uid < s->first_uid || s->folder.nmsgs >= MAX_LISTED)
		return;
	s->folder.msgs = xreallocarray_grow(s->folder.msgs, &s->msgs_cap, s->folder.nmsgs + 1,
	                                    sizeof(*s->folder.msgs));
	m = &s->folder.msgs[s->folder.nmsgs++];
	memset(m, 0, sizeof(*m));
	m->uid = f->uid;
	m->size = f->size;
	m->flags = f->flags;
}

static void fetch_complete(struct source *s, const struct imap_fetch *f)
{
	if (s->mode == BODY_FILE)
		finish_file(s);
	else if (s->mode == BODY_SPOOL)
		finish_spool(s, f);
	else if (s->mode == BODY_NONE && s->listing && !f->has_body)
		add_listed(s, f);
	s->mode = BODY_NONE;
}

/* A body sent as a quoted string or NIL. */
static void quoted_body(struct source *s, const struct imap_fetch *f)
{
	if (s->mode == BODY_NONE)
		body_begin(s, f);
	if (s->mode == BODY_FILE || s->mode == BODY_SPOOL)
		src_body_put(&s->body, f->qbody, f->qbody_len);
}

static int bad_fetch(struct source *s, struct result *err)
{
	if (s->spool != NULL)
		fclose(s->spool);
	s->spool = NULL;
	s->mode = BODY_NONE;
	return res_fail(err, RES_SCOPE_ACCOUNT, RES_TEMP, NULL, "%s: malformed FETCH response",
	                net_peer(s->net));
}

/* "* SEQ FETCH (...)", with its literals, to the end of the response. */
static int handle_fetch(struct source *s, uint32_t seq, char *seg, size_t len, struct result *err)
{
	struct imap_fetch f;

	imap_fetch_init(&f, seq);
	s->mode = BODY_NONE;
	for (;;) {
		enum imap_item item = ITEM_OTHER;
		uint64_t lit = 0;
		int rc = imap_fetch_feed(&f, seg, len, &lit, &item);

		if (f.qbody != NULL)
			quoted_body(s, &f);
		if (rc == IMAP_FETCH_END)
			break;
		if (rc == IMAP_FETCH_ERROR)
			return bad_fetch(s, err);
		if (item == ITEM_BODY && s->mode == BODY_NONE)
			body_begin(s, &f);
		bool into = item == ITEM_BODY && (s->mode == BODY_FILE || s->mode == BODY_SPOOL);
		if (read_literal(s, lit, into ? &s->body : NULL, err) < 0 ||
		    net_read_line(s->net, &seg, &len, err) < 0)
			return -1;
	}
	fetch_complete(s, &f);
	return 0;
}

/* ---- responses ---- */

/* Skips the literals of a response we do not read ("* LIST ... {5}"). */
int imap_skip_literals(struct source *s, const char *line, size_t len, struct result *err)
{
	uint64_t n;
	char *next;
	int rc;

	while ((rc = imap_literal_at_end(line, len, &n)) == 1) {
		if (read_literal(s, n, NULL, err) < 0 ||
		    net_read_line(s->net, &next, &len, err) < 0)
			return -1;
		line = next;
	}
	return rc < 0 ? res_fail(err, RES_SCOPE_ACCOUNT, RES_TEMP, NULL, "%s: bad literal",
	                         net_peer(s->net))
	              : 0;
}

static void untagged_status(struct source *s, const struct imap_line *l)
{
	uint32_t v;
	char text[256];

	if (imap_code_number(l->code, l->code_len, "UIDVALIDITY", &v) == 0)
		s->folder.uidvalidity = v;
	else if (imap_code_number(l->code, l->code_len, "UIDNEXT", &v) == 0)
		s->folder.uidnext = v;
	if (l->code != NULL && str_ieq_n(l->code, l->code_len, "NOTIFICATIONOVERFLOW"))
		s->overflow = true;
	str_sanitise(text, sizeof(text), l->rest, l->rest_len);
	if (l->code != NULL && str_ieq_n(l->code, l->code_len, "ALERT"))
		log_warn("%s: server alert: %s", net_peer(s->net), text);
	else if (l->status == IMAP_NO || l->status == IMAP_BAD)
		log_info("%s: server says: %s", net_peer(s->net), text);
}

static int handle_untagged(struct source *s, char *line, size_t len, const struct imap_line *l,
                           struct result *err)
{
	char text[256];

	if (l->status == IMAP_BYE) {
		if (s->logging_out)
			return 0;
		str_sanitise(text, sizeof(text), l->rest, l->rest_len);
		return res_fail(err, RES_SCOPE_ACCOUNT, RES_TEMP, text,
		                "%s: the server ended the session", net_peer(s->net));
	}
	if (l->status != IMAP_OTHER) {
		untagged_status(s, l);
	} else if (l->has_num && str_ieq_n(l->word, l->word_len, "FETCH")) {
		return handle_fetch(s, l->num, (char *)l->rest, l->rest_len, err);
	} else if (l->has_num && str_ieq_n(l->word, l->word_len, "EXISTS")) {
		s->folder.exists = l->num;
		s->exists_seen++;
	} else if (str_ieq_n(l->word, l->word_len, "CAPABILITY")) {
		s->caps = imap_caps_parse(l->rest, l->rest_len);
	} else if (str_ieq_n(l->word, l->word_len, "STATUS")) {
		return imap_on_status(s, l, err);
	} else if (s->nwatched > 0 && str_ieq_n(l->word, l->word_len, "LIST")) {
		return imap_on_list(s, l, err);
	}
	return imap_skip_literals(s, line, len, err);
}

/* Reads one response. Returns 1 with *t for a tagged one, 0 otherwise. */
int imap_read_response(struct source *s, struct tagged *t, struct result *err)
{
	struct imap_line l;
	char *line;
	size_t len;

	if (net_read_line(s->net, &line, &len, err) < 0)
		return -1;
	if (imap_line_parse(line, len, &l) < 0) {
		char text[256];

		str_sanitise(text, sizeof(text), line, len);
		return res_fail(err, RES_SCOPE_ACCOUNT, RES_TEMP, text, "%s: unexpected response",
		                net_peer(s->net));
	}
	if (l.untagged)
		return handle_untagged(s, line, len, &l, err) < 0 ? -1 : 0;
	if (l.continuation) {
		s->continued = true;
		return 0;
	}
	t->tag = 0;
	if (l.tag_len > 1 && l.tag[0] == 'c')
		t->tag = (unsigned)strtoul(l.tag + 1, NULL, 10);
	t->status = l.status;
	str_sanitise(t->text, sizeof(t->text), l.rest, l.rest_len);
	return 1;
}

/* Reads responses until tag's tagged answer. */
int imap_wait_tag(struct source *s, unsigned tag, struct tagged *t, struct result *err)
{
	for (;;) {
		int rc = imap_read_response(s, t, err);

		if (rc < 0)
			return -1;
		if (rc == 1 && t->tag == tag)
			return 0;
	}
}

/* ---- open / attach / close ---- */

static struct source *imap_attach(struct net *conn, const struct src_params *p, struct result *err)
{
	struct source *s = xcalloc(1, sizeof(*s));
	struct tagged t;
	unsigned tag;

	s->net = conn;
	s->p = *p;
	if (p->stop != NULL)
		net_set_stop(conn, p->stop);
	s->cur_fd = -1;
	buf_init(&s->out, MAX_OUT);
	s->read_only = p->dry_run || p->acct == NULL || p->acct->keep;
	/* libcurl does not ask again after login; the list may have grown. */
	tag = imap_next_tag(s, "CAPABILITY\r\n");
	if (imap_flush(s, err) < 0 || imap_wait_tag(s, tag, &t, err) < 0)
		goto fail;
	if (t.status != IMAP_OK) {
		res_fail(err, RES_SCOPE_ACCOUNT, RES_TEMP, t.text, "%s: CAPABILITY failed",
		         net_peer(conn));
		goto fail;
	}
	if (!(s->caps & IMAP_CAP_IMAP4REV1))
		log_info("%s: the server does not announce IMAP4rev1", net_peer(conn));
	return s;
fail:
	net_close(conn);
	buf_free(&s->out);
	free(s);
	return NULL;
}

static struct source *imap_open(const struct src_params *p, struct result *err)
{
	struct net *conn = net_connect(p->acct, p->stop, err);

	return conn != NULL ? imap_attach(conn, p, err) : NULL;
}

static void free_source(struct source *s)
{
	net_close(s->net);
	buf_free(&s->out);
	free(s->folder.msgs);
	free(s->folder_name);
	for (size_t i = 0; i < s->nwatched; i++)
		free(s->watched[i]);
	free(s->watched);
	free(s);
}

static int imap_close(struct source *s, struct result *err)
{
	struct tagged t;
	unsigned tag;
	int rc;

	res_clear(err);
	/* A dead or confused connection gets no goodbye (nothing is lost). */
	if (s->broken) {
		free_source(s);
		return 0;
	}
	s->logging_out = true;
	tag = imap_next_tag(s, "LOGOUT\r\n");
	rc = imap_flush(s, err) < 0 || imap_wait_tag(s, tag, &t, err) < 0 ? -1 : 0;
	free_source(s);
	return rc;
}

/* ---- select ---- */

static int cmp_uid(const void *a, const void *b)
{
	const struct src_msg *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* A UID listed twice (the server repeated itself) is kept once. */
static void drop_duplicates(struct src_folder *f)
{
	size_t k = 0;

	for (size_t i = 0; i < f->nmsgs; i++)
		if (k == 0 || f->msgs[k - 1].uid != f->msgs[i].uid)
			f->msgs[k++] = f->msgs[i];
	f->nmsgs = k;
}

static void reset_folder(struct source *s, const char *folder, uint32_t first_uid)
{
	free(s->folder.msgs);
	free(s->folder_name);
	memset(&s->folder, 0, sizeof(s->folder));
	s->msgs_cap = 0;
	s->folder_name = xstrdup(folder);
	s->folder.name = s->folder_name;
	s->folder.has_ids = true;
	s->folder.read_only = s->read_only;
	s->first_uid = first_uid > 0 ? first_uid : 1;
}

static int do_select(struct source *s, const char *folder, uint32_t first_uid,
                     struct src_folder *out, struct result *err)
{
	struct tagged t1, t2;
	unsigned sel, list;
	char rest[64];

	reset_folder(s, folder, first_uid);
	s->tag++;
	sel = s->tag;
	buf_printf(&s->out, "c%u %s ", sel, s->read_only ? "EXAMINE" : "SELECT");
	if (imap_append_mailbox(&s->out, folder) < 0) {
		buf_reset(&s->out);
		return res_fail(err, RES_SCOPE_FOLDER, RES_CONFIG, NULL,
		                "folder name '%s' is not valid", folder);
	}
	buf_puts(&s->out, "\r\n");
	snprintf(rest, sizeof(rest), "UID FETCH %u:* (UID RFC822.SIZE FLAGS)\r\n", s->first_uid);
	list = imap_next_tag(s, rest);
	s->listing = true;
	if (imap_flush(s, err) < 0 || imap_wait_tag(s, sel, &t1, err) < 0 ||
	    imap_wait_tag(s, list, &t2, err) < 0) {
		s->listing = false;
		return -1;
	}
	s->listing = false;
	if (t1.status != IMAP_OK)
		return res_fail(err, RES_SCOPE_FOLDER, resp_code_kind(t1.text, RES_CONFIG), t1.text,
		                "cannot open folder '%s'", folder);
	/* Some servers refuse "1:*" in an empty folder. */
	if (t2.status != IMAP_OK && s->folder.exists > 0)
		return res_fail(err, RES_SCOPE_FOLDER, resp_code_kind(t2.text, RES_TEMP), t2.text,
		                "cannot list the messages of '%s'", folder);
	if (s->folder.nmsgs > 1)
		qsort(s->folder.msgs, s->folder.nmsgs, sizeof(*s->folder.msgs), cmp_uid);
	drop_duplicates(&s->folder);
	*out = s->folder;
	return 0;
}

/* ---- fetch ---- */

static int cmp_msg_ptr(const void *a, const void *b)
{
	const struct src_msg *x = *(const struct src_msg *const *)a;
	const struct src_msg *y = *(const struct src_msg *const *)b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* Queues the next UID FETCH from req[*next]; its size follows the window. */
static void queue_fetch(struct source *s, struct fetch_run *r, size_t *next)
{
	size_t wmsgs = s->p.window_msgs ? s->p.window_msgs : SOURCE_DEFAULT_WINDOW_MSGS;
	uint64_t wbytes = s->p.window_bytes ? s->p.window_bytes : SOURCE_DEFAULT_WINDOW_BYTES;
	size_t per_msgs = wmsgs / 4 ? wmsgs / 4 : 1, count = 0;
	uint64_t per_bytes = wbytes / 4 ? wbytes / 4 : 1, bytes = 0;
	struct fetch_cmd *c = &r->cmds[r->ncmds++];

	while (*next + count < r->n && count < per_msgs && (count == 0 || bytes < per_bytes))
		bytes += r->req[*next + count++]->size;
	c->tag = ++s->tag;
	buf_printf(&s->out, "c%u UID FETCH ", c->tag);
	count = imap_append_uid_set(&s->out, r->req + *next, count, CMD_MAX_SET);
	buf_puts(&s->out, " (UID RFC822.SIZE BODY.PEEK[])\r\n");
	c->first = *next;
	c->count = count;
	c->bytes = 0;
	for (size_t i = 0; i < count; i++)
		c->bytes += r->req[*next + i]->size;
	c->done = false;
	*next += count;
	r->inflight_msgs += count;
	r->inflight_bytes += c->bytes;
}

static bool window_open(const struct source *s, const struct fetch_run *r)
{
	size_t wmsgs = s->p.window_msgs ? s->p.window_msgs : SOURCE_DEFAULT_WINDOW_MSGS;
	uint64_t wbytes = s->p.window_bytes ? s->p.window_bytes : SOURCE_DEFAULT_WINDOW_BYTES;

	return r->inflight_msgs == 0 || (r->inflight_msgs < wmsgs && r->inflight_bytes < wbytes);
}

/* A UID FETCH finished: what it did not deliver vanished or failed. */
static void fetch_tagged(struct source *s, const struct tagged *t)
{
	struct fetch_run *r = s->run;

	for (size_t k = 0; k < r->ncmds; k++) {
		struct fetch_cmd *c = &r->cmds[k];

		if (c->tag != t->tag || c->done)
			continue;
		c->done = true;
		r->inflight_msgs -= c->count;
		r->inflight_bytes -= c->bytes;
		for (size_t i = c->first; i < c->first + c->count; i++) {
			struct result merr;

			/* After a stop the caller wants no more calls. */
			if (r->got[i] || r->stop)
				continue;
			if (t->status == IMAP_OK)
				res_fail(&merr, RES_SCOPE_MESSAGE, RES_TEMP, NULL,
				         "UID %u is no longer on the server", r->req[i]->uid);
			else
				res_fail(&merr, RES_SCOPE_MESSAGE, RES_TEMP, t->text,
				         "the server did not send UID %u", r->req[i]->uid);
			report(s, i, -1, 0, &merr);
		}
		return;
	}
}

static int fetch_loop(struct source *s, struct fetch_run *r, struct result *err)
{
	size_t next = 0;

	for (;;) {
		struct tagged t;
		int rc;

		while (!r->stop && next < r->n && window_open(s, r))
			queue_fetch(s, r, &next);
		if (imap_flush(s, err) < 0)
			return -1;
		if (r->inflight_msgs == 0 && (r->stop || next == r->n))
			break;
		rc = imap_read_response(s, &t, err);
		if (rc < 0)
			return -1;
		if (rc == 1)
			fetch_tagged(s, &t);
	}
	if (r->stop)
		return res_fail(err, RES_SCOPE_FOLDER, RES_TEMP, NULL,
		                "fetch stopped by the caller");
	return 0;
}

static int do_fetch(struct source *s, const struct src_msg *const *msgs, size_t n,
                    const struct src_sink *sink, struct result *err)
{
	struct fetch_run r = {.n = n, .sink = sink};
	int rc;

	res_clear(err);
	if (n == 0)
		return 0;
	r.req = xmalloc(n * sizeof(*r.req));
	memcpy(r.req, msgs, n * sizeof(*r.req));
	qsort(r.req, n, sizeof(*r.req), cmp_msg_ptr);
	r.got = xcalloc(n, sizeof(*r.got));
	r.cmds = xcalloc(n, sizeof(*r.cmds));
	s->run = &r;
	rc = fetch_loop(s, &r, err);
	s->run = NULL;
	free(r.req);
	free(r.got);
	free(r.cmds);
	return rc;
}

/* ---- delete ---- */

/* Queues one command per chunk of the set: "c<tag> <verb> <set><suffix>". */
static unsigned queue_per_chunk(struct source *s, const struct src_msg **v, size_t n,
                                const char *verb, const char *suffix)
{
	unsigned last = 0;

	for (size_t i = 0; i < n;) {
		last = ++s->tag;
		buf_printf(&s->out, "c%u %s ", last, verb);
		i += imap_append_uid_set(&s->out, v + i, n - i, CMD_MAX_SET);
		buf_printf(&s->out, "%s\r\n", suffix);
	}
	return last;
}

static int do_delete(struct source *s, const struct src_msg *const *msgs, size_t n,
                     struct result *err)
{
	const struct src_msg **v;
	unsigned first = s->tag + 1, last;
	struct tagged t, bad = {0};
	int rc = 0;

	res_clear(err);
	if (s->read_only)
		return res_fail(err, RES_SCOPE_FOLDER, RES_CONFIG, NULL,
		                "folder '%s' is open read-only (keep: true or --dry-run)",
		                s->folder.name != NULL ? s->folder.name : "");
	if (n == 0)
		return 0;
	v = xmalloc(n * sizeof(*v));
	memcpy(v, msgs, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_msg_ptr);
	queue_per_chunk(s, v, n, "UID STORE", " +FLAGS.SILENT (\\Deleted)");
	if (s->caps & IMAP_CAP_UIDPLUS)
		last = queue_per_chunk(s, v, n, "UID EXPUNGE", "");
	else
		last = imap_next_tag(s, "EXPUNGE\r\n");
	free(v);
	if (imap_flush(s, err) < 0)
		return -1;
	for (unsigned tag = first; tag <= last; tag++) {
		if (imap_wait_tag(s, tag, &t, err) < 0)
			return -1;
		if (t.status != IMAP_OK && rc == 0) {
			bad = t;
			rc = -1;
		}
	}
	if (rc < 0)
		return res_fail(err, RES_SCOPE_FOLDER, RES_TEMP, bad.text,
		                "deleting messages from '%s' failed", s->folder.name);
	return 0;
}

/* ---- the driver ---- */

static int imap_select(struct source *s, const char *folder, uint32_t first_uid,
                       struct src_folder *out, struct result *err)
{
	return s->broken ? src_refuse_broken(s->net, err)
	                 : src_guard(&s->broken, do_select(s, folder, first_uid, out, err), err);
}

static int imap_fetch(struct source *s, const struct src_msg *const *msgs, size_t n,
                      const struct src_sink *sink, struct result *err)
{
	return s->broken ? src_refuse_broken(s->net, err)
	                 : src_guard(&s->broken, do_fetch(s, msgs, n, sink, err), err);
}

static int imap_delete(struct source *s, const struct src_msg *const *msgs, size_t n,
                       struct result *err)
{
	return s->broken ? src_refuse_broken(s->net, err)
	                 : src_guard(&s->broken, do_delete(s, msgs, n, err), err);
}

const struct source_driver source_imap = {
    .name = "imap",
    .open = imap_open,
    .attach = imap_attach,
    .select = imap_select,
    .fetch = imap_fetch,
    .delete = imap_delete,
    .status = imap_status,
    .watch = imap_watch,
    .wait_news = imap_wait_news,
    .close = imap_close,
};
