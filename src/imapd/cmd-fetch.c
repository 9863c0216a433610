/*
 * FETCH and UID FETCH (RFC 3501 6.4.5): UID, FLAGS, INTERNALDATE,
 * RFC822.SIZE, RFC822, RFC822.HEADER, RFC822.TEXT, BODY[] / BODY.PEEK[]
 * with the sections "", HEADER and TEXT and a partial <offset.count>. Maildir files have LF line ends: what is
 * sent has CRLF, and RFC822.SIZE counts it so.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "imapd/seqset.h"
#include "imapd/session-int.h"
#include "util/log.h"

/* Messages bigger than this are not served yet (they would be read whole). */
#define FETCH_MAX (256u * 1024 * 1024)

enum section { SEC_ALL, SEC_HEADER, SEC_TEXT };

struct item {
	enum { IT_UID, IT_FLAGS, IT_DATE, IT_SIZE, IT_BODY } kind;
	enum section sec;
	const char *label; /* BODY[...] as it is answered */
	bool peek;         /* BODY.PEEK[], RFC822.HEADER: \Seen is not set */
	bool partial;
	uint64_t off, count;
};

/* The message with CRLF line ends, read whole; NULL on failure. */
static char *read_crlf(const char *path, uint64_t max, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct buf b;
	char chunk[65536], prev = '\0';
	ssize_t n;

	if (fd < 0)
		return NULL;
	buf_init(&b, max * 2);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (chunk[i] == '\n' && prev != '\r')
				buf_putc(&b, '\r');
			buf_putc(&b, chunk[i]);
			prev = chunk[i];
		}
	}
	close(fd);
	if (n < 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b, len);
}

/*
 * RFC822.SIZE: the size with CRLF line ends. From the name's ",W=" field
 * when a writer put one there (Dovecot does); otherwise the LF line ends
 * are counted once, streaming, and kept in the view. 0 when unreadable.
 */
static uint64_t crlf_size(struct view_msg *m)
{
	const char *w = strstr(m->path, ",W=");
	char chunk[65536], prev = '\0';
	uint64_t size = 0;
	ssize_t n;
	int fd;

	if (m->crlf_size > 0)
		return m->crlf_size;
	if (w != NULL && (m->crlf_size = strtoull(w + 3, NULL, 10)) > 0)
		return m->crlf_size;
	if ((fd = open(m->path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		for (ssize_t i = 0; i < n; i++) {
			size += 1 + (chunk[i] == '\n' && prev != '\r');
			prev = chunk[i];
		}
	close(fd);
	m->crlf_size = n == 0 ? size : 0;
	return m->crlf_size;
}

/* Where the header ends (after its blank line) in a CRLF message. */
static size_t header_end(const char *m, size_t len)
{
	const char *e = len >= 4 ? memmem(m, len, "\r\n\r\n", 4) : NULL;

	if (len >= 2 && m[0] == '\r' && m[1] == '\n')
		return 2;
	return e != NULL ? (size_t)(e - m) + 4 : len;
}

void put_flags(struct session *s, const struct view_msg *m)
{
	static const struct {
		char letter;
		const char *flag;
	} sys[] = {{'D', "\\Draft"},
	           {'F', "\\Flagged"},
	           {'R', "\\Answered"},
	           {'S', "\\Seen"},
	           {'T', "\\Deleted"}};
	bool first = true;

	buf_puts(&s->out, "FLAGS (");
	for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
		if (strchr(m->flags, sys[i].letter) != NULL) {
			buf_printf(&s->out, "%s%s", first ? "" : " ", sys[i].flag);
			first = false;
		}
	for (const char *p = m->flags; *p; p++)
		if (*p >= 'a' && *p <= 'z' && s->view.kw.names[*p - 'a'] != NULL) {
			buf_printf(&s->out, "%s%s", first ? "" : " ", s->view.kw.names[*p - 'a']);
			first = false;
		}
	if (m->recent)
		buf_printf(&s->out, "%s\\Recent", first ? "" : " ");
	buf_putc(&s->out, ')');
}

static void put_date(struct session *s, time_t t)
{
	struct tm tm;
	char d[64];

	localtime_r(&t, &tm);
	strftime(d, sizeof(d), "%d-%b-%Y %H:%M:%S %z", &tm);
	buf_printf(&s->out, "INTERNALDATE \"%s\"", d);
}

/* "BODY[HEADER]<0.100>", "BODY.PEEK[]", "RFC822"... -> it. */
static bool parse_item(const struct imapd_arg *a, struct item *it)
{
	static const struct {
		const char *name;
		int kind;
		enum section sec;
		const char *label;
	} simple[] = {
	    {"UID", IT_UID, SEC_ALL, NULL},
	    {"FLAGS", IT_FLAGS, SEC_ALL, NULL},
	    {"INTERNALDATE", IT_DATE, SEC_ALL, NULL},
	    {"RFC822.SIZE", IT_SIZE, SEC_ALL, NULL},
	    {"RFC822", IT_BODY, SEC_ALL, "RFC822"},
	    {"RFC822.HEADER", IT_BODY, SEC_HEADER, "RFC822.HEADER"}, /* peek, as RFC 3501 says */
	    {"RFC822.TEXT", IT_BODY, SEC_TEXT, "RFC822.TEXT"},
	};
	const char *p = a->s, *br;
	size_t n = a->len;

	memset(it, 0, sizeof(*it));
	if (a->kind != IMAPD_ATOM)
		return false;
	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
		if (imapd_arg_is(a, simple[i].name)) {
			it->kind = simple[i].kind;
			it->sec = simple[i].sec;
			it->label = simple[i].label;
			it->peek = it->kind != IT_BODY || it->sec == SEC_HEADER;
			return true;
		}
	br = memchr(p, '[', n);
	if (br == NULL || !((br - p == 4 && strncasecmp(p, "BODY", 4) == 0) ||
	                    (br - p == 9 && strncasecmp(p, "BODY.PEEK", 9) == 0)))
		return false;
	it->kind = IT_BODY;
	it->peek = br - p == 9;
	if (strncasecmp(br, "[]", 2) == 0)
		it->sec = SEC_ALL, it->label = "BODY[]", br += 2;
	else if (strncasecmp(br, "[HEADER]", 8) == 0)
		it->sec = SEC_HEADER, it->label = "BODY[HEADER]", br += 8;
	else if (strncasecmp(br, "[TEXT]", 6) == 0)
		it->sec = SEC_TEXT, it->label = "BODY[TEXT]", br += 6;
	else
		return false;
	if (br < p + n) {
		unsigned long long o, c;
		int used = 0;

		if (sscanf(br, "<%llu.%llu>%n", &o, &c, &used) != 2 || br + used != p + n || c == 0)
			return false;
		it->partial = true;
		it->off = o;
		it->count = c;
	}
	return true;
}

static void put_body(struct session *s, const struct item *it, const char *m, size_t len)
{
	size_t h = header_end(m, len), start = it->sec == SEC_TEXT ? h : 0;
	size_t end = it->sec == SEC_HEADER ? h : len, n = end - start;

	if (it->partial) {
		start += it->off < n ? it->off : n;
		n = it->off < n ? n - it->off : 0;
		if (n > it->count)
			n = it->count;
		buf_printf(&s->out, "%s<%llu> {%zu}\r\n", it->label, (unsigned long long)it->off,
		           n);
	} else {
		buf_printf(&s->out, "%s {%zu}\r\n", it->label, n);
	}
	buf_append(&s->out, m + start, n);
}

static int fetch_one(struct session *s, size_t seq, const struct item *items, size_t nitems,
                     bool uid)
{
	struct view_msg *m = &s->view.msgs[seq - 1];
	char *data = NULL;
	size_t len = 0;
	bool body = false, sent_uid = false, seen_now = false, sent_flags = false;
	uint64_t size = 0;

	for (size_t i = 0; i < nitems; i++) {
		body |= items[i].kind == IT_BODY;
		seen_now |= !items[i].peek && !s->readonly && strchr(m->flags, 'S') == NULL;
	}
	/* The body is read only when it is sent: RFC822.SIZE alone reads no file twice. */
	if (body && (m->size > FETCH_MAX || (data = read_crlf(m->path, FETCH_MAX, &len)) == NULL))
		return -1; /* expunged by another writer, or too big */
	for (size_t i = 0; i < nitems; i++)
		if (items[i].kind == IT_SIZE && (size = body ? len : crlf_size(m)) == 0)
			return -1;
	if (seen_now) {
		/* Reading a body sets \Seen (RFC 3501 6.4.5); the answer says so. */
		char letters[sizeof(m->flags) + 2], want[128] = {['S'] = 1};

		flags_apply(m->flags, want, '+', letters, sizeof(letters));
		seen_now = view_set_flags(s, m, letters) == 0;
	}
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
			put_flags(s, m);
			sent_flags = true;
			break;
		case IT_DATE:
			put_date(s, m->internal);
			break;
		case IT_SIZE:
			buf_printf(&s->out, "RFC822.SIZE %llu", (unsigned long long)size);
			break;
		case IT_BODY:
			put_body(s, &items[i], data, len);
			break;
		}
	}
	if (seen_now && !sent_flags) {
		buf_putc(&s->out, ' ');
		put_flags(s, m);
	}
	/* UID FETCH always says the UID. */
	if (uid && !sent_uid)
		buf_printf(&s->out, " UID %u", m->uid);
	buf_puts(&s->out, ")\r\n");
	free(data);
	return 0;
}

static void do_fetch(struct session *s, const struct imapd_arg *args, size_t nargs, bool uid)
{
	struct item items[32];
	size_t nitems = 0, failed = 0;
	struct seqset set;
	uint32_t star;
	const struct imapd_arg *list;
	size_t nlist;

	if (nargs != 2 || args[0].kind != IMAPD_ATOM) {
		tagged(s, "BAD", "FETCH needs a sequence set and items");
		return;
	}
	list = args[1].kind == IMAPD_LIST ? args[1].sub : &args[1];
	nlist = args[1].kind == IMAPD_LIST ? args[1].nsub : 1;
	if (nlist == 0 || nlist > 32) {
		tagged(s, "BAD", "FETCH needs 1 to 32 items");
		return;
	}
	for (size_t i = 0; i < nlist; i++)
		if (!parse_item(&list[i], &items[nitems++])) {
			tagged(s, "BAD", "FETCH item %.*s is not supported (yet)",
			       list[i].kind == IMAPD_ATOM
			           ? (int)(list[i].len < 60 ? list[i].len : 60)
			           : 6,
			       list[i].kind == IMAPD_ATOM ? list[i].s : "(list)");
			return;
		}
	star = uid ? (s->view.n > 0 ? s->view.msgs[s->view.n - 1].uid : 0) : (uint32_t)s->view.n;
	if (seqset_parse(args[0].s, args[0].len, star, &set) < 0) {
		tagged(s, "BAD", "not a sequence set");
		return;
	}
	if (!uid && seqset_max(&set) > s->view.n) {
		tagged(s, "BAD", "no message %u: there are %zu", seqset_max(&set), s->view.n);
		seqset_free(&set);
		return;
	}
	for (size_t i = 0; i < s->view.n; i++)
		if (seqset_has(&set, uid ? s->view.msgs[i].uid : (uint32_t)(i + 1)))
			failed += fetch_one(s, i + 1, items, nitems, uid) < 0;
	seqset_free(&set);
	if (failed > 0)
		tagged(s, "NO", "[EXPUNGEISSUED] %zu messages are gone", failed);
	else
		tagged(s, "OK", "%sFETCH completed", uid ? "UID " : "");
}

void imap_cmd_fetch(struct session *s)
{
	do_fetch(s, s->cmd->args, s->cmd->nargs, false);
}

void imap_uid_fetch(struct session *s, const struct imapd_arg *args, size_t nargs)
{
	do_fetch(s, args, nargs, true);
}
