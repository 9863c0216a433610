/*
 * POP3 source (RFC 1939, RFC 2449): after net.c logged in, lists with UIDL
 * and LIST, then fetches with RETR, pipelined when the server announces
 * PIPELINING (one command at a time otherwise, as RFC 2449 asks). Bodies
 * are dot-unstuffed while they stream into the caller's file. DELE only
 * marks: the server commits the deletions when QUIT is answered.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "net/net.h"
#include "net/respcode.h"
#include "source/source-int.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"

#define MAX_LISTED    (8u * 1024 * 1024)
#define MAX_OUT       (1024 * 1024)
#define UIDL_MAX      70
#define UNSTUFF_CHUNK (128 * 1024)

struct source {
	struct net *net;
	struct src_params p;
	bool broken; /* an account-wide failure left the session out of step */
	bool pipelining;
	bool read_only;
	struct src_folder folder;
	size_t msgs_cap;
	struct buf out;
	char *ubuf; /* unstuffed bytes, UNSTUFF_CHUNK + 1 */
	struct src_body body;
};

static uint64_t max_message(const struct source *s)
{
	return s->p.max_message ? s->p.max_message : SOURCE_DEFAULT_MAX_MESSAGE;
}

static int flush_out(struct source *s, struct result *err)
{
	int rc = 0;

	if (s->out.len > 0)
		rc = net_write(s->net, s->out.data, s->out.len, err);
	buf_reset(&s->out);
	return rc;
}

/* Reads a status line: 1 for +OK, 0 for -ERR (text in srv), -1 on error. */
static int read_status(struct source *s, char *srv, size_t srvlen, struct result *err)
{
	char *line;
	size_t len;

	if (net_read_line(s->net, &line, &len, err) < 0)
		return -1;
	str_sanitise(srv, srvlen, line, len);
	if (len >= 3 && strncmp(line, "+OK", 3) == 0)
		return 1;
	if (len >= 4 && strncmp(line, "-ERR", 4) == 0)
		return 0;
	return res_fail(err, RES_SCOPE_ACCOUNT, RES_TEMP, srv, "%s: unexpected response",
	                net_peer(s->net));
}

/* The next line of a multi-line response; 1 with the unstuffed line, 0 at
 * the terminating ".". */
static int read_multi_line(struct source *s, char **line, size_t *len, struct result *err)
{
	if (net_read_line(s->net, line, len, err) < 0)
		return -1;
	if ((*line)[0] == '.') {
		if (*len == 1)
			return 0;
		(*line)++;
		(*len)--;
	}
	return 1;
}

/* ---- open / attach / close ---- */

static int read_capa(struct source *s, struct result *err)
{
	char srv[256], *line;
	size_t len;
	int rc;

	buf_puts(&s->out, "CAPA\r\n");
	if (flush_out(s, err) < 0 || (rc = read_status(s, srv, sizeof(srv), err)) < 0)
		return -1;
	if (rc == 0)
		return 0; /* no CAPA: a plain RFC 1939 server */
	while ((rc = read_multi_line(s, &line, &len, err)) == 1)
		if (str_ieq_n(line, len, "PIPELINING"))
			s->pipelining = true;
	return rc;
}

static struct source *pop3_attach(struct net *conn, const struct src_params *p, struct result *err)
{
	struct source *s = xcalloc(1, sizeof(*s));

	s->net = conn;
	s->p = *p;
	if (p->stop != NULL)
		net_set_stop(conn, p->stop);
	s->read_only = p->dry_run || p->acct == NULL || p->acct->keep;
	buf_init(&s->out, MAX_OUT);
	s->ubuf = xmalloc(UNSTUFF_CHUNK + 1);
	/* libcurl read CAPA before login only; ask again. */
	if (read_capa(s, err) < 0) {
		net_close(conn);
		buf_free(&s->out);
		free(s->ubuf);
		free(s);
		return NULL;
	}
	return s;
}

static struct source *pop3_open(const struct src_params *p, struct result *err)
{
	struct net *conn = net_connect(p->acct, p->stop, err);

	return conn != NULL ? pop3_attach(conn, p, err) : NULL;
}

static void free_msgs(struct source *s)
{
	for (size_t i = 0; i < s->folder.nmsgs; i++)
		free(s->folder.msgs[i].uidl);
	free(s->folder.msgs);
	s->folder.msgs = NULL;
	s->folder.nmsgs = 0;
	s->msgs_cap = 0;
}

static int pop3_close(struct source *s, struct result *err)
{
	char srv[256];
	int rc;

	res_clear(err);
	buf_puts(&s->out, "QUIT\r\n");
	if (s->broken)
		rc = res_fail(err, RES_SCOPE_ACCOUNT, RES_TEMP, NULL,
		              "%s: the connection failed: deletions were not committed",
		              net_peer(s->net));
	else
		rc = flush_out(s, err) < 0 ? -1 : read_status(s, srv, sizeof(srv), err);
	if (rc == 0)
		res_fail(err, RES_SCOPE_ACCOUNT, RES_TEMP, srv,
		         "%s: QUIT refused: deletions were not committed", net_peer(s->net));
	net_close(s->net);
	buf_free(&s->out);
	free(s->ubuf);
	free_msgs(s);
	free(s);
	return rc == 1 ? 0 : -1;
}

/* ---- select: UIDL + LIST ---- */

/* "NUM REST" -> num and rest; -1 when malformed. */
static int split_listing(char *line, uint32_t *num, char **rest)
{
	char *end;
	unsigned long v = strtoul(line, &end, 10);

	if (end == line || *end != ' ' || v == 0 || v > UINT32_MAX)
		return -1;
	*num = (uint32_t)v;
	*rest = end + 1;
	return 0;
}

static bool uidl_valid(const char *u, size_t len)
{
	if (len == 0 || len > UIDL_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)u[i] < 0x21 || (unsigned char)u[i] > 0x7e)
			return false;
	return true;
}

static int read_list(struct source *s, struct result *err)
{
	char *line, *rest, *end;
	size_t len;
	uint32_t num;
	int rc;

	while ((rc = read_multi_line(s, &line, &len, err)) == 1) {
		struct src_msg *m;

		if (split_listing(line, &num, &rest) < 0 || s->folder.nmsgs >= MAX_LISTED)
			return res_fail(err, RES_SCOPE_ACCOUNT, RES_TEMP, NULL,
			                "%s: malformed LIST response", net_peer(s->net));
		s->folder.msgs = xreallocarray_grow(s->folder.msgs, &s->msgs_cap,
		                                    s->folder.nmsgs + 1, sizeof(*s->folder.msgs));
		m = &s->folder.msgs[s->folder.nmsgs++];
		memset(m, 0, sizeof(*m));
		m->num = num;
		m->size = strtoull(rest, &end, 10);
	}
	return rc;
}

static struct src_msg *find_num(struct source *s, uint32_t num)
{
	size_t lo = 0, hi = s->folder.nmsgs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->folder.msgs[mid].num == num)
			return &s->folder.msgs[mid];
		if (s->folder.msgs[mid].num < num)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* UIDL lines, after LIST filled the messages. */
static int read_uidl(struct source *s, struct result *err)
{
	char *line, *rest;
	size_t len;
	uint32_t num;
	int rc;

	while ((rc = read_multi_line(s, &line, &len, err)) == 1) {
		struct src_msg *m;

		if (split_listing(line, &num, &rest) < 0 ||
		    !uidl_valid(rest, len - (size_t)(rest - line)))
			return res_fail(err, RES_SCOPE_ACCOUNT, RES_CONFIG, NULL,
			                "%s: malformed UIDL response", net_peer(s->net));
		m = find_num(s, num);
		if (m != NULL && m->uidl == NULL)
			m->uidl = xstrdup(rest);
	}
	return rc;
}

static int cmp_num(const void *a, const void *b)
{
	const struct src_msg *x = a, *y = b;

	return x->num < y->num ? -1 : x->num > y->num;
}

/* LIST first (it gives every message), then UIDL. */
static int list_messages(struct source *s, struct result *err)
{
	char srv[256];
	int rc;

	buf_puts(&s->out, "LIST\r\n");
	if (s->pipelining)
		buf_puts(&s->out, "UIDL\r\n");
	if (flush_out(s, err) < 0 || (rc = read_status(s, srv, sizeof(srv), err)) < 0)
		return -1;
	if (rc == 0)
		return res_fail(err, RES_SCOPE_ACCOUNT, resp_code_kind(srv, RES_TEMP), srv,
		                "%s: LIST failed", net_peer(s->net));
	if (read_list(s, err) < 0)
		return -1;
	if (s->folder.nmsgs > 1)
		qsort(s->folder.msgs, s->folder.nmsgs, sizeof(*s->folder.msgs), cmp_num);
	/* A number listed twice would be fetched, delivered and deleted twice. */
	for (size_t i = 1; i < s->folder.nmsgs; i++)
		if (s->folder.msgs[i].num == s->folder.msgs[i - 1].num)
			return res_fail(err, RES_SCOPE_ACCOUNT, RES_TEMP, NULL,
			                "%s: malformed LIST response (message %u listed twice)",
			                net_peer(s->net), s->folder.msgs[i].num);
	if (!s->pipelining) {
		buf_puts(&s->out, "UIDL\r\n");
		if (flush_out(s, err) < 0)
			return -1;
	}
	if ((rc = read_status(s, srv, sizeof(srv), err)) < 0)
		return -1;
	s->folder.has_ids = rc == 1;
	return rc == 1 ? read_uidl(s, err) : 0;
}

static int do_select(struct source *s, const char *folder, uint32_t first_uid,
                     struct src_folder *out, struct result *err)
{
	(void)first_uid;
	res_clear(err);
	free_msgs(s);
	memset(&s->folder, 0, sizeof(s->folder));
	if (!str_ieq_n(folder, strlen(folder), SOURCE_POP3_FOLDER))
		return res_fail(err, RES_SCOPE_FOLDER, RES_CONFIG, NULL,
		                "POP3 has only the folder " SOURCE_POP3_FOLDER ", not '%s'",
		                folder);
	s->folder.name = SOURCE_POP3_FOLDER;
	s->folder.read_only = s->read_only;
	if (list_messages(s, err) < 0)
		return -1;
	s->folder.exists = (uint32_t)s->folder.nmsgs;
	for (size_t i = 0; s->folder.has_ids && i < s->folder.nmsgs; i++)
		if (s->folder.msgs[i].uidl == NULL)
			s->folder.has_ids = false;
	if (!s->folder.has_ids && (s->p.acct == NULL || s->p.acct->keep))
		return res_fail(err, RES_SCOPE_ACCOUNT, RES_CONFIG, NULL,
		                "%s: the server has no UIDL, so corral cannot tell new mail from "
		                "old: set keep: false for this account",
		                net_peer(s->net));
	*out = s->folder;
	return 0;
}

/* ---- fetch: RETR ---- */

/* Streams one dot-stuffed body into b (NULL: discards it). */
static int read_body(struct source *s, struct src_body *b, struct result *err)
{
	struct pop3_unstuff u;

	pop3_unstuff_init(&u);
	for (;;) {
		const char *p;
		size_t len, olen, used;
		int end;

		if (net_read_some(s->net, &p, &len, UNSTUFF_CHUNK, err) < 0)
			return -1;
		end = pop3_unstuff(&u, p, len, s->ubuf, &olen, &used);
		if (b != NULL)
			src_body_put(b, s->ubuf, olen);
		if (end) {
			net_unread(s->net, len - used);
			return 0;
		}
	}
}

struct retr_run {
	const struct src_msg *const *msgs;
	size_t n;
	const struct src_sink *sink;
	bool stop;
};

/* The answer to RETR of m: the body into the sink's file, or an error. */
static int retr_one(struct source *s, struct retr_run *r, const struct src_msg *m,
                    struct result *err)
{
	struct result merr;
	char srv[256];
	uint64_t size = 0;
	int fd = -1, rc = read_status(s, srv, sizeof(srv), err);

	if (rc < 0)
		return -1;
	if (rc == 0) {
		res_fail(&merr, RES_SCOPE_MESSAGE, resp_code_kind(srv, RES_TEMP), srv,
		         "RETR %u failed", m->num);
	} else {
		if (r->stop || r->sink->open(r->sink->ctx, m, &fd) < 0) {
			r->stop = true;
			return read_body(s, NULL, err);
		}
		src_body_start(&s->body, fd, max_message(s), r->sink->lf_line_ends);
		if (read_body(s, &s->body, err) < 0)
			return -1;
		rc = src_body_finish(&s->body, &size, &merr) == 0 ? 2 : 1;
	}
	if (r->sink->done(r->sink->ctx, m, fd, size, rc == 2 ? NULL : &merr) < 0)
		r->stop = true;
	return 0;
}

static int do_fetch(struct source *s, const struct src_msg *const *msgs, size_t n,
                    const struct src_sink *sink, struct result *err)
{
	struct retr_run r = {.msgs = msgs, .n = n, .sink = sink};
	size_t wmsgs = s->p.window_msgs ? s->p.window_msgs : SOURCE_DEFAULT_WINDOW_MSGS;
	uint64_t wbytes = s->p.window_bytes ? s->p.window_bytes : SOURCE_DEFAULT_WINDOW_BYTES;
	size_t sent = 0, answered = 0;
	uint64_t inflight = 0;

	res_clear(err);
	if (!s->pipelining)
		wmsgs = 1;
	while (answered < n) {
		while (!r.stop && sent < n &&
		       (sent == answered || (sent - answered < wmsgs && inflight < wbytes))) {
			buf_printf(&s->out, "RETR %u\r\n", msgs[sent]->num);
			inflight += msgs[sent++]->size;
		}
		if (flush_out(s, err) < 0)
			return -1;
		if (sent == answered)
			break;
		if (retr_one(s, &r, msgs[answered], err) < 0)
			return -1;
		inflight -= msgs[answered++]->size;
	}
	if (r.stop)
		return res_fail(err, RES_SCOPE_FOLDER, RES_TEMP, NULL,
		                "fetch stopped by the caller");
	return 0;
}

/* ---- delete: DELE ---- */

static int do_delete(struct source *s, const struct src_msg *const *msgs, size_t n,
                     struct result *err)
{
	size_t wmsgs = s->pipelining ? 256 : 1, sent = 0, answered = 0;
	char srv[256], first_err[256] = "";
	int rc;

	res_clear(err);
	if (s->read_only)
		return res_fail(err, RES_SCOPE_FOLDER, RES_CONFIG, NULL,
		                "read-only session (keep: true or --dry-run): nothing is deleted");
	while (answered < n) {
		while (sent < n && sent - answered < wmsgs)
			buf_printf(&s->out, "DELE %u\r\n", msgs[sent++]->num);
		if (flush_out(s, err) < 0 || (rc = read_status(s, srv, sizeof(srv), err)) < 0)
			return -1;
		if (rc == 0 && first_err[0] == '\0')
			snprintf(first_err, sizeof(first_err), "%s", srv);
		answered++;
	}
	if (first_err[0] != '\0')
		return res_fail(err, RES_SCOPE_FOLDER, RES_TEMP, first_err,
		                "%s: DELE failed for some messages", net_peer(s->net));
	return 0;
}

/* ---- the driver ---- */

static int pop3_select(struct source *s, const char *folder, uint32_t first_uid,
                       struct src_folder *out, struct result *err)
{
	return s->broken ? src_refuse_broken(s->net, err)
	                 : src_guard(&s->broken, do_select(s, folder, first_uid, out, err), err);
}

static int pop3_fetch(struct source *s, const struct src_msg *const *msgs, size_t n,
                      const struct src_sink *sink, struct result *err)
{
	return s->broken ? src_refuse_broken(s->net, err)
	                 : src_guard(&s->broken, do_fetch(s, msgs, n, sink, err), err);
}

static int pop3_delete(struct source *s, const struct src_msg *const *msgs, size_t n,
                       struct result *err)
{
	return s->broken ? src_refuse_broken(s->net, err)
	                 : src_guard(&s->broken, do_delete(s, msgs, n, err), err);
}

const struct source_driver source_pop3 = {
    .name = "pop3",
    .open = pop3_open,
    .attach = pop3_attach,
    .select = pop3_select,
    .fetch = pop3_fetch,
    .delete = pop3_delete,
    .close = pop3_close,
};
