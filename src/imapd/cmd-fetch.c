/*
 * FETCH and UID FETCH (RFC 3501 6.4.5): every item and the macros ALL,
 * FAST and FULL. What is read from the message's content (ENVELOPE,
 * BODYSTRUCTURE, BODY[section]<partial>) is fetch-body.h's. Maildir files
 * have LF line ends: what is sent has CRLF, and every size counts it so.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "imapd/fetch-body.h"
#include "imapd/fetch-int.h"
#include "imapd/seqset.h"
#include "imapd/session-int.h"
#include "store/maildir.h"
#include "util/log.h"

/* Messages bigger than this are not served yet (they would be read whole). */
#define FETCH_MAX (256u * 1024 * 1024)

#define FETCH_ITEMS_MAX 64
/* The answers are sent when this much is waiting. */
#define FETCH_FLUSH (256u * 1024)

struct item {
	enum {
		IT_UID,
		IT_FLAGS,
		IT_MODSEQ,
		IT_DATE,
		IT_SIZE,
		IT_BODY,
		IT_ENVELOPE,
		IT_STRUCTURE
	} kind;
	bool extensible;          /* IT_STRUCTURE: BODYSTRUCTURE rather than BODY */
	bool cached;              /* IT_BODY: answered from the index's header fields */
	struct fetch_section sec; /* IT_BODY; sec.label is what the answer says */
};

/* Reads the open file fd whole (and closes it): at most max bytes, else
 * NULL; *st is its fstat(). */
static char *read_raw(int fd, uint64_t max, size_t *len, struct stat *stp)
{
	struct stat st;
	size_t cap, n = 0;
	char *raw;
	ssize_t r;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size > max) {
		close(fd);
		return NULL;
	}
	*stp = st;
	cap = (size_t)st.st_size + 1;
	raw = xmalloc(cap);
	/* One read for the size stat() gave; more should the file have grown. */
	while ((r = read(fd, raw + n, cap - n)) > 0) {
		n += (size_t)r;
		if (n < cap)
			continue;
		if (n > max)
			break;
		cap *= 2;
		raw = xrealloc(raw, cap);
	}
	close(fd);
	if (r < 0 || n > max) {
		free(raw);
		return NULL;
	}
	*len = n;
	return raw;
}

/* raw[0..n) with CRLF line ends, in a new NUL-terminated string of
 * *len bytes: copied in runs between the bare LFs. */
static char *to_crlf(const char *raw, size_t n, size_t *len)
{
	struct md_vsize v = MD_VSIZE_INIT;
	size_t out = 0, from = 0;
	char *crlf;

	md_vsize_feed(&v, raw, n);
	crlf = xmalloc(md_vsize_value(&v) + 1);
	for (const char *p = raw; (p = memchr(p, '\n', n - (size_t)(p - raw))) != NULL; p++) {
		size_t at = (size_t)(p - raw);

		if (at > 0 && raw[at - 1] == '\r')
			continue;
		memcpy(crlf + out, raw + from, at - from);
		out += at - from;
		crlf[out++] = '\r';
		from = at;
	}
	memcpy(crlf + out, raw + from, n - from);
	out += n - from;
	crlf[out] = '\0';
	*len = out;
	return crlf;
}

/* The message with CRLF line ends, read whole; NULL on failure. */
static char *read_crlf(int fd, uint64_t max, size_t *len, struct stat *st)
{
	size_t n;
	char *raw = read_raw(fd, max, &n, st), *crlf;

	if (raw == NULL)
		return NULL;
	crlf = to_crlf(raw, n, len);
	free(raw);
	return crlf;
}

static void put_date(struct session *s, time_t t)
{
	struct tm tm;
	char d[64];

	localtime_r(&t, &tm);
	strftime(d, sizeof(d), "%d-%b-%Y %H:%M:%S %z", &tm);
	buf_printf(&s->out, "INTERNALDATE \"%s\"", d);
}

/* "BODY.PEEK[HEADER.FIELDS (From)]<0.100>", "RFC822", "ENVELOPE"... -> it. */
static bool parse_item(const struct imapd_arg *a, struct item *it)
{
	static const struct {
		const char *name;
		int kind;
		bool extensible;
		const char *section; /* what an RFC822 item is the BODY[] of */
	} simple[] = {
	    {"UID", IT_UID, false, NULL},
	    {"FLAGS", IT_FLAGS, false, NULL},
	    {"MODSEQ", IT_MODSEQ, false, NULL},
	    {"INTERNALDATE", IT_DATE, false, NULL},
	    {"RFC822.SIZE", IT_SIZE, false, NULL},
	    {"ENVELOPE", IT_ENVELOPE, false, NULL},
	    {"BODYSTRUCTURE", IT_STRUCTURE, true, NULL},
	    {"BODY", IT_STRUCTURE, false, NULL},
	    {"RFC822", IT_BODY, false, "BODY[]"},
	    /* not in RFC 3501, but Outlook sends it: RFC822 without \Seen */
	    {"RFC822.PEEK", IT_BODY, false, "BODY.PEEK[]"},
	    {"RFC822.HEADER", IT_BODY, false, "BODY.PEEK[HEADER]"}, /* peek, as RFC 3501 says */
	    {"RFC822.TEXT", IT_BODY, false, "BODY[TEXT]"},
	};

	memset(it, 0, sizeof(*it));
	if (a->kind != IMAPD_ATOM)
		return false;
	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
		if (imapd_arg_is(a, simple[i].name)) {
			it->kind = simple[i].kind;
			it->extensible = simple[i].extensible;
			if (simple[i].section == NULL)
				return true;
			fetch_section_parse(simple[i].section, strlen(simple[i].section), &it->sec);
			/* RFC822.PEEK is answered as RFC822 */
			snprintf(it->sec.label, sizeof(it->sec.label), "%s",
			         imapd_arg_is(a, "RFC822.PEEK") ? "RFC822" : simple[i].name);
			return true;
		}
	it->kind = IT_BODY;
	if (fetch_section_parse(a->s, a->len, &it->sec) < 0)
		return false;
	it->cached = fetch_section_cached(&it->sec);
	return true;
}

/* "ALL", "FAST", "FULL" -> their items; 0 when a is not a macro. */
static size_t parse_macro(const struct imapd_arg *a, struct item *items)
{
	static const struct {
		const char *name;
		size_t n;
	} macros[] = {{"FAST", 3}, {"ALL", 4}, {"FULL", 5}};
	static const int kinds[] = {IT_FLAGS, IT_DATE, IT_SIZE, IT_ENVELOPE, IT_STRUCTURE};

	for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
		if (a->kind == IMAPD_ATOM && imapd_arg_is(a, macros[i].name)) {
			for (size_t k = 0; k < macros[i].n; k++) {
				memset(&items[k], 0, sizeof(items[k]));
				items[k].kind = kinds[k];
			}
			return macros[i].n;
		}
	return 0;
}

/* Appends n bytes of p as a literal's content: NUL cannot be sent in a
 * literal, it becomes 0x80 as Dovecot sends it. */
static void put_literal_bytes(struct buf *out, const char *p, size_t n)
{
	const char *nul;

	while (n > 0 && (nul = memchr(p, '\0', n)) != NULL) {
		buf_append(out, p, (size_t)(nul - p));
		buf_putc(out, (char)0x80);
		n -= (size_t)(nul - p) + 1;
		p = nul + 1;
	}
	buf_append(out, p, n);
}

static void put_body(struct session *s, const struct item *it, struct fetch_msg *fm)
{
	const struct fetch_section *sec = &it->sec;
	struct buf part;
	const char *p;
	size_t n;

	buf_init(&part, FETCH_MAX * 2);
	/* The whole message is sent from where it is, not copied first. */
	if (sec->kind == FSEC_ALL && sec->nparts == 0) {
		p = fm->data != NULL ? fm->data : "";
		n = fm->len;
	} else {
		fetch_section_get(fm, sec, &part);
		p = part.data ? part.data : "";
		n = part.len;
	}
	if (sec->partial) {
		size_t off = sec->off < n ? (size_t)sec->off : n;

		p += off;
		n -= off;
		if (n > sec->count)
			n = (size_t)sec->count;
		buf_printf(&s->out, "%s<%llu> {%zu}\r\n", sec->label, (unsigned long long)sec->off,
		           n);
	} else {
		buf_printf(&s->out, "%s {%zu}\r\n", sec->label, n);
	}
	put_literal_bytes(&s->out, p, n);
	buf_free(&part);
}

/* What answering needs: the file (read whole), the index's header fields, the size. */
struct needs {
	bool file, fields, size, seen_now, date;
	bool whole; /* the file is needed beyond its header */
};

static void needs_of(const struct session *s, const struct view_msg *m, const struct item *items,
                     size_t nitems, struct needs *nd)
{
	memset(nd, 0, sizeof(*nd));
	for (size_t i = 0; i < nitems; i++) {
		bool body = items[i].kind == IT_BODY;

		bool file = items[i].kind >= IT_BODY && !(body && items[i].cached);
		bool head = body && items[i].sec.nparts == 0 &&
		            (items[i].sec.kind == FSEC_HEADER || items[i].sec.kind == FSEC_FIELDS ||
		             items[i].sec.kind == FSEC_FIELDS_NOT);

		nd->file |= file;
		nd->whole |= file && !head;
		nd->fields |= body && items[i].cached;
		nd->size |= items[i].kind == IT_SIZE;
		nd->date |= items[i].kind == IT_DATE;
		nd->seen_now |=
		    body && !items[i].sec.peek && !s->readonly && strchr(m->flags, 'S') == NULL;
	}
}

/* The header of the file at path with CRLF line ends (up to and with its
 * blank line): a client opening a folder asks for header fields only, and
 * most of a message is its body. NULL when the header is not within the
 * first HEAD_MAX bytes (the whole file is read then). */
#define HEAD_MAX (256u * 1024)
/* Where the header of raw[0..n) ends, past its empty line; 0 when the bytes
 * read so far hold no empty line (read more). FETCH's one header walker. */
static size_t head_end(const char *raw, size_t n)
{
	bool blank;
	size_t end = fhdr_section_end(raw, 0, n, &blank);

	return blank ? end : 0;
}

static char *read_head(int fd, size_t *len, struct stat *st)
{
	char *raw = xmalloc(HEAD_MAX + 1), *crlf = NULL;
	size_t n = 0, end = 0;
	ssize_t r = 0;

	if (fd >= 0 && fstat(fd, st) < 0) {
		close(fd);
		fd = -1;
	}
	while (fd >= 0 && end == 0 && n < HEAD_MAX &&
	       (r = read(fd, raw + n, n == 0 ? 4096 : HEAD_MAX - n)) > 0) {
		n += (size_t)r;
		end = head_end(raw, n);
	}
	if (fd >= 0)
		close(fd);
	if (end > 0)
		crlf = to_crlf(raw, end, len);
	free(raw);
	return crlf;
}

/* The header with CRLF line ends of a file read whole (its RFC822.SIZE
 * counted on the way); NULL when it cannot be read or has no header end. */
static char *read_head_counting(int fd, size_t *len, struct stat *st, uint64_t *crlf_size)
{
	struct md_vsize v = MD_VSIZE_INIT;
	size_t n, end;
	char *raw = read_raw(fd, FETCH_MAX, &n, st), *crlf = NULL;

	if (raw == NULL)
		return NULL;
	if ((end = head_end(raw, n)) > 0) {
		crlf = to_crlf(raw, end, len);
		md_vsize_feed(&v, raw, n);
		*crlf_size = md_vsize_value(&v);
	}
	free(raw);
	return crlf;
}

/* m's file with CRLF line ends (only its header when head), and what the
 * index learns from it: its RFC822.SIZE and the cached header fields.
 * NULL when it cannot be read. */
static char *read_msg(struct session *s, struct view_msg *m, bool head, size_t *len)
{
	struct stat st;
	uint64_t size = 0;
	char *data = !head ? NULL
	             : m->crlf_size > 0
	                 ? read_head(view_msg_open(&s->view, m), len, &st)
	                 : read_head_counting(view_msg_open(&s->view, m), len, &st, &size);
	struct buf fields;

	if (size > 0)
		m->crlf_size = size;

	if (data == NULL) {
		if (m->size > FETCH_MAX ||
		    (data = read_crlf(view_msg_open(&s->view, m), FETCH_MAX, len, &st)) == NULL)
			return NULL;
		m->crlf_size = *len;
	}
	/* Its size and date come with the read when the folder's open left them. */
	view_msg_statted(&s->view, m, &st);
	buf_init(&fields, FETCH_MAX);
	fetch_cache_fields(data, *len, &fields);
	/* Fields too long for the index are not cached: they are read each time. */
	view_msg_remember(&s->view, m,
	                  fields.len > MDINDEX_HDR_MAX ? NULL
	                  : fields.data                ? fields.data
	                                               : "",
	                  fields.len);
	buf_free(&fields);
	return data;
}

static int fetch_one(struct session *s, size_t seq, const struct item *items, size_t nitems,
                     bool uid)
{
	struct view_msg *m = &s->view.msgs[seq - 1];
	struct fetch_msg fm, cache;
	const char *fields = NULL;
	char *data = NULL;
	size_t len = 0, flen = 0;
	bool sent_uid = false, sent_flags = false, sent_modseq = false;
	struct needs nd;
	uint64_t size = 0;

	needs_of(s, m, items, nitems, &nd);
	/* Header fields from the index, when it has them; else the file. */
	if (nd.fields && !nd.file && (fields = view_msg_cached(&s->view, m, &flen)) == NULL)
		nd.file = true;
	/* A size neither the name nor the index knows is counted in the file. */
	if (nd.size && !nd.file && m->crlf_size == 0)
		nd.file = true;
	/* The size from the name or the index: the file is then read only as
	 * far as the header when nothing else of it is asked for. */
	if (nd.size && m->crlf_size == 0 && !nd.whole)
		m->crlf_size = view_msg_name_vsize(m);
	if (nd.file && (data = read_msg(s, m, !nd.whole, &len)) == NULL)
		return -1; /* expunged by another writer, or too big */
	if (nd.size && (m->crlf_size > 0 ? (size = m->crlf_size, 0)
	                                 : view_msg_crlf_size(&s->view, m, &size)) < 0) {
		free(data);
		return -1;
	}
	/* INTERNALDATE of a message the folder's open did not stat, nor the read. */
	if (nd.date && view_msg_stat(&s->view, m) < 0) {
		free(data);
		return -1;
	}
	if (nd.seen_now) {
		/* Reading a body sets \Seen (RFC 3501 6.4.5); the answer says so. */
		char letters[sizeof(m->flags) + 2], want[128] = {['S'] = 1};

		view_flags_apply(m->flags, want, '+', letters, sizeof(letters));
		nd.seen_now = view_msg_set_flags(&s->view, m, letters) == 0;
	}
	fetch_msg_init(&fm, data, len);
	fetch_msg_init(&cache, fields, flen);
	buf_printf(&s->out, "* %zu FETCH (", seq);
	for (size_t i = 0; i < nitems; i++) {
		if (i > 0)
			buf_putc(&s->out, ' ');
		switch (items[i].kind) {
		case IT_UID:
			buf_printf(&s->out, "UID %u", m->uid);
			sent_uid = true;
			break;
		case IT_FLAGS:
			view_msg_put_flags(&s->view, m, &s->out);
			sent_flags = true;
			break;
		case IT_MODSEQ:
			put_modseq(s, m);
			sent_modseq = true;
			break;
		case IT_DATE:
			put_date(s, m->internal);
			break;
		case IT_SIZE:
			buf_printf(&s->out, "RFC822.SIZE %llu", (unsigned long long)size);
			break;
		case IT_BODY:
			put_body(s, &items[i], data == NULL && items[i].cached ? &cache : &fm);
			break;
		case IT_ENVELOPE:
			buf_puts(&s->out, "ENVELOPE ");
			fetch_envelope(&fm, &s->out);
			break;
		case IT_STRUCTURE:
			buf_puts(&s->out, items[i].extensible ? "BODYSTRUCTURE " : "BODY ");
			fetch_bodystructure(&fm, items[i].extensible, &s->out);
			break;
		}
	}
	if (nd.seen_now && !sent_flags) {
		buf_putc(&s->out, ' ');
		view_msg_put_flags(&s->view, m, &s->out);
	}
	/* UID FETCH always says the UID; so does every FETCH once QRESYNC is
	 * on (RFC 7162 3.2.4). */
	if ((uid || s->qresync) && !sent_uid)
		buf_printf(&s->out, " UID %u", m->uid);
	/* RFC 7162 3.1.4.1: with CONDSTORE on, flags come with their MODSEQ. */
	if (modseq_shown(s) && !sent_modseq && (sent_flags || nd.seen_now)) {
		buf_putc(&s->out, ' ');
		put_modseq(s, m);
	}
	buf_puts(&s->out, ")\r\n");
	fetch_msg_free(&fm);
	fetch_msg_free(&cache);
	free(data);
	return 0;
}

/* The items argument: a macro, one item or a list of them. Returns the
 * count, or 0 after a tagged BAD. */
static size_t parse_items(struct session *s, const struct imapd_arg *arg, struct item *items)
{
	const struct imapd_arg *list = arg->kind == IMAPD_LIST ? arg->sub : arg;
	size_t n;

	if (arg->kind != IMAPD_LIST && (n = parse_macro(arg, items)) > 0)
		return n;
	n = arg->kind == IMAPD_LIST ? arg->nsub : 1;
	if (n == 0 || n > FETCH_ITEMS_MAX) {
		done(s, ST_BAD, "FETCH needs 1 to %d items", FETCH_ITEMS_MAX);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (!parse_item(&list[i], &items[i])) {
			bool atom = list[i].kind == IMAPD_ATOM;

			done(s, ST_BAD, "FETCH item %.*s is not valid",
			     atom ? (int)(list[i].len < 60 ? list[i].len : 60) : 6,
			     atom ? list[i].s : "(list)");
			return 0;
		}
	return n;
}

/* FETCH's modifiers (RFC 7162 3.1.4.1, 3.2.6). */
struct changed {
	bool on, vanished;
	uint64_t since;
};

static int fetch_modifiers(struct session *s, const struct imapd_arg *a, bool uid,
                           struct changed *ch)
{
	memset(ch, 0, sizeof(*ch));
	for (size_t i = 0; a != NULL && i < a->nsub; i++) {
		const struct imapd_arg *p = &a->sub[i];

		if (imapd_arg_is(p, "CHANGEDSINCE") && p->kind == IMAPD_ATOM && i + 1 < a->nsub &&
		    !ch->on && modseq_arg(&a->sub[i + 1], true, &ch->since)) {
			ch->on = true;
			i++;
		} else if (imapd_arg_is(p, "VANISHED") && p->kind == IMAPD_ATOM && uid &&
		           s->qresync) {
			ch->vanished = true;
		} else {
			done(s, ST_BAD, "unknown FETCH modifier");
			return -1;
		}
	}
	if (a != NULL && (a->kind != IMAPD_LIST || a->nsub == 0 || (ch->vanished && !ch->on))) {
		done(s, ST_BAD, "FETCH modifiers: (CHANGEDSINCE modseq [VANISHED])");
		return -1;
	}
	return 0;
}

static bool has_modseq(const struct item *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (items[i].kind == IT_MODSEQ)
			return true;
	return false;
}

static void do_fetch(struct session *s, const struct imapd_arg *args, size_t nargs, bool uid)
{
	struct item *items;
	size_t nitems, failed = 0;
	struct seqset set;
	struct changed ch;

	if (nargs < 2 || nargs > 3 || args[0].kind != IMAPD_ATOM) {
		done(s, ST_BAD, "FETCH needs a sequence set, items and modifiers");
		return;
	}
	items = xcalloc(FETCH_ITEMS_MAX + 1, sizeof(*items));
	if ((nitems = parse_items(s, &args[1], items)) == 0)
		goto out;
	if (fetch_modifiers(s, nargs == 3 ? &args[2] : NULL, uid, &ch) < 0)
		goto out;
	if ((ch.on || has_modseq(items, nitems)) && modseq_refused(s) < 0)
		goto out;
	if (ch.on || has_modseq(items, nitems))
		condstore_on(s);
	/* CHANGEDSINCE implies the MODSEQ item (3.1.4.1). */
	if (ch.on && !has_modseq(items, nitems))
		items[nitems++].kind = IT_MODSEQ;
	if (seqset_arg(s, &args[0], uid, &set) < 0)
		goto out;
	if (ch.vanished)
		put_vanished_earlier(s, &set, ch.since);
	/* The set's ranges are ascending: the answers come in sequence order. */
	/* A client that is gone stops the work: no file more is read for it. */
	for (size_t r = 0, i = 0; r < set.n && i < s->view.n && !s->gone; r++) {
		const struct seqset_range *rg = &set.r[r];

		i = uid ? view_uid_at_least(&s->view, i, rg->lo)
		        : (i > rg->lo - 1 ? i : rg->lo - 1);
		for (; i < s->view.n && (uid ? s->view.msgs[i].uid : i + 1) <= rg->hi; i++) {
			if (ch.on && s->view.msgs[i].modseq <= ch.since)
				continue;
			failed += fetch_one(s, i + 1, items, nitems, uid) < 0;
			/* Sent as it goes: the client reads while the rest is made, and
			 * a listing of 50,000 messages is not held in memory. */
			if (s->out.len >= FETCH_FLUSH && flush_out(s) < 0)
				break;
		}
	}
	seqset_free(&set);
	if (failed > 0)
		done(s, ST_NO, "[EXPUNGEISSUED] %zu messages are gone", failed);
	else
		done(s, ST_OK, "%sFETCH completed", uid ? "UID " : "");
	/* What the index learnt is written after the answer is on its way. */
	s->save_index = s->view.ix != NULL && mdindex_dirty(s->view.ix);
out:
	free(items);
}

void imap_cmd_fetch(struct session *s)
{
	do_fetch(s, s->cmd->args, s->cmd->nargs, false);
}

void imap_uid_fetch(struct session *s, const struct imapd_arg *args, size_t nargs)
{
	do_fetch(s, args, nargs, true);
}
