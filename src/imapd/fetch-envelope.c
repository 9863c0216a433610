/*
 * ENVELOPE (RFC 3501 7.4.2): the address parser follows Dovecot's, with
 * its leniencies and its MISSING_MAILBOX / MISSING_DOMAIN fillers, so that
 * both servers answer alike for the same Maildir. Groups are opened by
 * (NIL NIL "name" NIL) and closed by (NIL NIL NIL NIL).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imapd/fetch-body.h"
#include "imapd/fetch-int.h"
#include "util/log.h"

/* Addresses: one (name route mailbox domain) each; a group is opened by
 * (NIL NIL "name" NIL) and closed by (NIL NIL NIL NIL). */
struct eaddr {
	char *name, *route, *mailbox, *domain;
};

struct alist {
	struct eaddr *v;
	size_t n, cap;
	struct eaddr cur;
	struct rlex x;
	struct buf str, comment;
};

static char *bdup(const struct buf *b)
{
	char *s = xmalloc(b->len + 1);

	if (b->len > 0)
		memcpy(s, b->data, b->len);
	s[b->len] = '\0';
	return s;
}

static void add_addr(struct alist *l)
{
	if (l->n < MSG_MAX_ADDRS) {
		l->v = xreallocarray_grow(l->v, &l->cap, l->n + 1, sizeof(*l->v));
		l->v[l->n++] = l->cur;
	} else {
		free(l->cur.name);
		free(l->cur.route);
		free(l->cur.mailbox);
		free(l->cur.domain);
	}
	memset(&l->cur, 0, sizeof(l->cur));
}

static void set(char **field, char *v)
{
	free(*field);
	*field = v;
}

static int local_part(struct alist *l)
{
	int r;

	buf_reset(&l->str);
	r = *l->x.p == '"' ? rlex_quoted(&l->x, &l->str) : rlex_dot_atom(&l->x, &l->str);
	if (r < 0)
		return -1;
	set(&l->cur.mailbox, bdup(&l->str));
	return r;
}

static int addr_domain(struct alist *l)
{
	int r;

	buf_reset(&l->str);
	if ((r = rlex_domain(&l->x, &l->str)) < 0)
		return -1;
	set(&l->cur.domain, bdup(&l->str));
	return r;
}

/* obs-route "@a,@b:" before the local part */
static int route(struct alist *l)
{
	buf_reset(&l->str);
	for (;;) {
		if (l->x.p >= l->x.end)
			return 0;
		if (*l->x.p != '@')
			break;
		if (l->str.len > 0)
			buf_putc(&l->str, ',');
		buf_putc(&l->str, '@');
		if (rlex_domain(&l->x, &l->str) <= 0)
			return -1;
		while (rlex_skip_lwsp(&l->x) > 0 && *l->x.p == ',')
			l->x.p++;
	}
	set(&l->cur.route, bdup(&l->str));
	return 1;
}

static int angle_addr(struct alist *l)
{
	l->x.p++; /* '<' */
	if (rlex_skip_lwsp(&l->x) <= 0)
		return -1;
	if (*l->x.p == '@') {
		if (route(l) > 0 && *l->x.p == ':') {
			l->x.p++;
		} else {
			set(&l->cur.mailbox, xstrdup("INVALID_ROUTE"));
			if (l->x.p >= l->x.end)
				return -1;
		}
		if (rlex_skip_lwsp(&l->x) <= 0)
			return -1;
	}
	if (*l->x.p != '>') {
		if (local_part(l) <= 0)
			return -1;
		if (*l->x.p == '@' && addr_domain(l) <= 0)
			return -1;
	}
	if (*l->x.p != '>')
		return -1;
	l->x.p++;
	return rlex_skip_lwsp(&l->x);
}

static int name_addr(struct alist *l)
{
	buf_reset(&l->str);
	if (rlex_phrase(&l->x, &l->str) <= 0 || *l->x.p != '<')
		return -1;
	set(&l->cur.name, l->str.len > 0 ? bdup(&l->str) : NULL);
	if (angle_addr(l) < 0)
		set(&l->cur.domain, xstrdup("SYNTAX_ERROR"));
	return l->x.p < l->x.end;
}

static int addr_spec(struct alist *l)
{
	bool quoted_local = *l->x.p == '"';
	int r, r2 = -2;

	buf_reset(&l->comment);
	r = local_part(l);
	if (r != 0 && l->x.p < l->x.end && *l->x.p == '@') {
		r2 = addr_domain(l);
		if (r2 <= 0)
			r = r2;
	}
	if (l->comment.len > 0) {
		set(&l->cur.name, bdup(&l->comment));
	} else if (r2 == -2) {
		/* "user" alone is a mailbox; followed by more words it is a name */
		size_t before;

		buf_putc(&l->str, ' ');
		before = l->str.len;
		(void)rlex_phrase(&l->x, &l->str);
		if (l->str.len != before) {
			set(&l->cur.mailbox, NULL);
			set(&l->cur.name, bdup(&l->str));
		} else if (!quoted_local) {
			set(&l->cur.domain, xstrdup(""));
		}
		r = -1;
	}
	return r;
}

static int mailbox(struct alist *l)
{
	const unsigned char *start = l->x.p;
	int r;

	if ((r = name_addr(l)) < 0) {
		l->x.p = start;
		memset(&l->cur, 0, sizeof(l->cur)); /* nothing was kept: see name_addr */
		r = addr_spec(l);
		if (r < 0 && l->cur.name == NULL && l->cur.mailbox != NULL &&
		    l->cur.domain == NULL) {
			l->cur.name = l->cur.mailbox;
			l->cur.mailbox = NULL;
		}
	}
	if (l->cur.mailbox == NULL || l->cur.mailbox[0] == '\0')
		set(&l->cur.mailbox, xstrdup("MISSING_MAILBOX"));
	if (l->cur.domain == NULL || l->cur.domain[0] == '\0')
		set(&l->cur.domain, xstrdup("MISSING_DOMAIN"));
	add_addr(l);
	return r;
}

static int group(struct alist *l)
{
	int r;

	buf_reset(&l->str);
	if (rlex_phrase(&l->x, &l->str) <= 0 || *l->x.p != ':')
		return -1;
	l->x.p++;
	r = rlex_skip_lwsp(&l->x);
	l->cur.mailbox = bdup(&l->str);
	add_addr(l);
	if (r > 0 && *l->x.p != ';') {
		for (;;) {
			if (mailbox(l) <= 0) {
				r = -1;
				break;
			}
			if (*l->x.p != ',')
				break;
			l->x.p++;
			if (rlex_skip_lwsp(&l->x) <= 0) {
				r = -1;
				break;
			}
		}
	}
	if (r >= 0) {
		if (l->x.p >= l->x.end || *l->x.p != ';') {
			r = -1;
		} else {
			l->x.p++;
			r = rlex_skip_lwsp(&l->x);
		}
	}
	add_addr(l); /* the end of the group */
	return r == 0 ? 0 : 1;
}

static void address_list(struct alist *l)
{
	while (l->n < MSG_MAX_ADDRS) {
		const unsigned char *start = l->x.p;
		int r;

		/* name_addr() and group() may have set a name before failing */
		if ((r = group(l)) < 0) {
			set(&l->cur.name, NULL);
			set(&l->cur.mailbox, NULL);
			l->x.p = start;
			r = mailbox(l);
		}
		if (r == 0 || l->x.p >= l->x.end || *l->x.p != ',')
			break;
		l->x.p++;
		if (rlex_skip_lwsp(&l->x) <= 0)
			break;
	}
}

static void put_addrs(struct buf *out, const struct alist *l)
{
	if (l->n == 0) {
		buf_puts(out, "NIL");
		return;
	}
	buf_putc(out, '(');
	for (size_t i = 0; i < l->n; i++) {
		const struct eaddr *a = &l->v[i];

		buf_putc(out, '(');
		if (a->name)
			imap_human(out, a->name, strlen(a->name));
		else
			buf_puts(out, "NIL");
		buf_putc(out, ' ');
		imap_nstring(out, a->route, a->route ? strlen(a->route) : 0);
		buf_putc(out, ' ');
		imap_nstring(out, a->mailbox, a->mailbox ? strlen(a->mailbox) : 0);
		buf_putc(out, ' ');
		imap_nstring(out, a->domain, a->domain ? strlen(a->domain) : 0);
		buf_putc(out, ')');
	}
	buf_putc(out, ')');
}

static void alist_init(struct alist *l)
{
	memset(l, 0, sizeof(*l));
	buf_init(&l->str, FETCH_BUF_MAX);
	buf_init(&l->comment, FETCH_BUF_MAX);
}

/* Parses one field's addresses onto the end of l (Dovecot joins the
 * lists of a field that comes more than once). */
static void alist_parse(struct alist *l, const char *s, size_t n)
{
	rlex_init(&l->x, s, n, &l->comment);
	if (rlex_skip_lwsp(&l->x) > 0)
		address_list(l);
}

static void alist_free(struct alist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].route);
		free(l->v[i].mailbox);
		free(l->v[i].domain);
	}
	free(l->v);
	free(l->cur.name);
	free(l->cur.route);
	free(l->cur.mailbox);
	free(l->cur.domain);
	buf_free(&l->str);
	buf_free(&l->comment);
}

enum { E_DATE, E_SUBJECT, E_FROM, E_SENDER, E_REPLY_TO, E_TO, E_CC, E_BCC, E_IRT, E_MSGID, E_N };

static const char *const env_names[E_N] = {"Date", "Subject", "From", "Sender",      "Reply-To",
                                           "To",   "Cc",      "Bcc",  "In-Reply-To", "Message-ID"};

static int env_field(const struct fhdr *h)
{
	for (int k = 0; k < E_N; k++)
		if (h->nlen == strlen(env_names[k]) &&
		    strncasecmp(h->name, env_names[k], h->nlen) == 0)
			return k;
	return -1;
}

static void put_field(struct buf *out, int k, const struct fhdr *h)
{
	if (h == NULL)
		buf_puts(out, "NIL");
	else if (k == E_SUBJECT)
		imap_human(out, h->val, h->vlen);
	else
		imap_nstring_nolf(out, h->val, h->vlen);
}

void envelope_write(const char *data, size_t start, size_t end, struct buf *out)
{
	struct fhdr h, f[E_N];
	bool have[E_N] = {false};
	struct alist a[E_N];
	size_t pos = start;
	int k;

	for (k = E_FROM; k <= E_BCC; k++)
		alist_init(&a[k]);
	/* as in Dovecot: the last of a field that comes twice, the addresses of all */
	while (fhdr_next(data, &pos, end, &h))
		if ((k = env_field(&h)) >= 0) {
			f[k] = h;
			have[k] = true;
			if (k >= E_FROM && k <= E_BCC)
				alist_parse(&a[k], h.val, h.vlen);
		}
	buf_putc(out, '(');
	put_field(out, E_DATE, have[E_DATE] ? &f[E_DATE] : NULL);
	buf_putc(out, ' ');
	put_field(out, E_SUBJECT, have[E_SUBJECT] ? &f[E_SUBJECT] : NULL);
	for (k = E_FROM; k <= E_BCC; k++) {
		/* Sender and Reply-To default to From (RFC 3501 7.4.2) */
		bool dflt = (k == E_SENDER || k == E_REPLY_TO) && a[k].n == 0;

		buf_putc(out, ' ');
		put_addrs(out, &a[dflt ? E_FROM : k]);
	}
	for (k = E_IRT; k <= E_MSGID; k++) {
		buf_putc(out, ' ');
		put_field(out, k, have[k] ? &f[k] : NULL);
	}
	buf_putc(out, ')');
	for (k = E_FROM; k <= E_BCC; k++)
		alist_free(&a[k]);
}

void fetch_envelope(struct fetch_msg *fm, struct buf *out)
{
	envelope_write(fm->data, 0, fm->len, out);
}
