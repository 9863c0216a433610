/*
 * STATUS's answer (RFC 3501 6.3.10), for both STATUS and LIST's RETURN
 * (STATUS ...) (RFC 5819): one list of items and one way to count them,
 * as Dovecot's imap-status.c.
 */
#include <stdio.h>
#include <string.h>

#include "imapd/session-int.h"
#include "util/log.h"

static size_t count_unseen(const struct view *v)
{
	size_t k = 0;

	for (size_t i = 0; i < v->n; i++)
		k += strchr(v->msgs[i].flags, 'S') == NULL;
	return k;
}

int put_status(struct session *s, const char *name, const char *dir, const struct imapd_arg *items,
               size_t nitems)
{
	struct view v;
	char err[256];
	size_t recent = 0;

	if (view_open(dir, 0, &v, err, sizeof(err)) < 0) {
		log_err("%s: %s", s->peer, err);
		return -1;
	}
	for (size_t k = 0; k < v.n; k++)
		recent += v.msgs[k].recent;
	buf_puts(&s->out, "* STATUS ");
	put_name(s, name);
	buf_puts(&s->out, " (");
	for (size_t i = 0; i < nitems; i++) {
		const struct imapd_arg *it = &items[i];

		if (i > 0)
			buf_putc(&s->out, ' ');
		if (imapd_arg_is(it, "MESSAGES"))
			buf_printf(&s->out, "MESSAGES %zu", v.n);
		else if (imapd_arg_is(it, "UIDNEXT"))
			buf_printf(&s->out, "UIDNEXT %u", v.uidnext);
		else if (imapd_arg_is(it, "UIDVALIDITY"))
			buf_printf(&s->out, "UIDVALIDITY %u", v.uidvalidity);
		else if (imapd_arg_is(it, "UNSEEN"))
			buf_printf(&s->out, "UNSEEN %zu", count_unseen(&v));
		else if (imapd_arg_is(it, "RECENT"))
			buf_printf(&s->out, "RECENT %zu", recent);
		else if (imapd_arg_is(it, "HIGHESTMODSEQ"))
			buf_printf(&s->out, "HIGHESTMODSEQ %llu",
			           /* RFC 7162 3.1.2.2: 0 where they do not last */
			           (unsigned long long)(v.nomodseq ? 0 : v.highestmodseq));
	}
	buf_puts(&s->out, ")\r\n");
	view_close(&v);
	return 0;
}

bool status_items_valid(const struct imapd_arg *items, size_t n)
{
	static const char *const known[] = {"MESSAGES", "UIDNEXT", "UIDVALIDITY",
	                                    "UNSEEN",   "RECENT",  "HIGHESTMODSEQ"};

	for (size_t i = 0; i < n; i++) {
		bool ok = false;

		for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			ok |= imapd_arg_is(&items[i], known[k]);
		if (!ok || items[i].kind != IMAPD_ATOM)
			return false;
	}
	return n > 0;
}
