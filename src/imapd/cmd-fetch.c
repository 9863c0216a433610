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
#include <time.h>
#include <unistd.h>

#include "imapd/fetch-body.h"
#include "imapd/seqset.h"
#include "imapd/session-int.h"
#include "util/log.h"

/* Messages bigger than this are not served yet (they would be read whole). */
#define FETCH_MAX (256u * 1024 * 1024)

#define FETCH_ITEMS_MAX 64

struct item {
	enum { IT_UID, IT_FLAGS, IT_DATE, IT_SIZE, IT_BODY, IT_ENVELOPE, IT_STRUCTURE } kind;
	bool extensible;          /* IT_STRUCTURE: BODYSTRUCTURE rather than BODY */
	struct fetch_section sec; /* IT_BODY; sec.label is what the answer says */
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
	return fetch_section_parse(a->s, a->len, &it->sec) == 0;
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

static void put_body(struct session *s, const struct item *it, struct fetch_msg *fm)
{
	const struct fetch_section *sec = &it->sec;
	struct buf part;
	const char *p;
	size_t n;

	buf_init(&part, FETCH_MAX * 2);
	fetch_section_get(fm, sec, &part);
	p = part.data ? part.data : "";
	n = part.len;
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
	/* NUL cannot be sent in a literal: 0x80, as Dovecot sends */
	for (size_t i = 0; i < n; i++)
		buf_putc(&s->out, p[i] == '\0' ? (char)0x80 : p[i]);
	buf_free(&part);
}

static int fetch_one(struct session *s, size_t seq, const struct item *items, size_t nitems,
                     bool uid)
{
	struct view_msg *m = &s->view.msgs[seq - 1];
	struct fetch_msg fm;
	char *data = NULL;
	size_t len = 0;
	bool body = false, sent_uid = false, seen_now = false, sent_flags = false;
	uint64_t size = 0;

	for (size_t i = 0; i < nitems; i++) {
		body |= items[i].kind >= IT_BODY;
		seen_now |= items[i].kind == IT_BODY && !items[i].sec.peek && !s->readonly &&
		            strchr(m->flags, 'S') == NULL;
	}
	/* The body is read only when it is sent: RFC822.SIZE alone reads no file twice. */
	if (body && (m->size > FETCH_MAX || (data = read_crlf(m->path, FETCH_MAX, &len)) == NULL))
		return -1; /* expunged by another writer, or too big */
	for (size_t i = 0; i < nitems; i++)
		if (items[i].kind == IT_SIZE && (body ? (size = len, 0) : view_msg_crlf_size(m, &size)) < 0)
			return -1;
	if (seen_now) {
		/* Reading a body sets \Seen (RFC 3501 6.4.5); the answer says so. */
		char letters[sizeof(m->flags) + 2], want[128] = {['S'] = 1};

		flags_apply(m->flags, want, '+', letters, sizeof(letters));
		seen_now = view_set_flags(s, m, letters) == 0;
	}
	fetch_msg_init(&fm, data, len);
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
			put_body(s, &items[i], &fm);
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
	if (seen_now && !sent_flags) {
		buf_putc(&s->out, ' ');
		put_flags(s, m);
	}
	/* UID FETCH always says the UID. */
	if (uid && !sent_uid)
		buf_printf(&s->out, " UID %u", m->uid);
	buf_puts(&s->out, ")\r\n");
	fetch_msg_free(&fm);
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
		tagged(s, "BAD", "FETCH needs 1 to %d items", FETCH_ITEMS_MAX);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (!parse_item(&list[i], &items[i])) {
			bool atom = list[i].kind == IMAPD_ATOM;

			tagged(s, "BAD", "FETCH item %.*s is not valid",
			       atom ? (int)(list[i].len < 60 ? list[i].len : 60) : 6,
			       atom ? list[i].s : "(list)");
			return 0;
		}
	return n;
}

static void do_fetch(struct session *s, const struct imapd_arg *args, size_t nargs, bool uid)
{
	struct item *items;
	size_t nitems, failed = 0;
	struct seqset set;
	uint32_t star;

	if (nargs != 2 || args[0].kind != IMAPD_ATOM) {
		tagged(s, "BAD", "FETCH needs a sequence set and items");
		return;
	}
	items = xcalloc(FETCH_ITEMS_MAX, sizeof(*items));
	if ((nitems = parse_items(s, &args[1], items)) == 0)
		goto out;
	star = uid ? (s->view.n > 0 ? s->view.msgs[s->view.n - 1].uid : 0) : (uint32_t)s->view.n;
	if (seqset_parse(args[0].s, args[0].len, star, &set) < 0) {
		tagged(s, "BAD", "not a sequence set");
		goto out;
	}
	if (!uid && seqset_max(&set) > s->view.n) {
		tagged(s, "BAD", "no message %u: there are %zu", seqset_max(&set), s->view.n);
		seqset_free(&set);
		goto out;
	}
	for (size_t i = 0; i < s->view.n; i++)
		if (seqset_has(&set, uid ? s->view.msgs[i].uid : (uint32_t)(i + 1)))
			failed += fetch_one(s, i + 1, items, nitems, uid) < 0;
	seqset_free(&set);
	if (failed > 0)
		tagged(s, "NO", "[EXPUNGEISSUED] %zu messages are gone", failed);
	else
		tagged(s, "OK", "%sFETCH completed", uid ? "UID " : "");
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
