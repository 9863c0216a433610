/*
 * What the commands share to read their arguments and to write IMAP
 * strings: one string writer (quoted or literal), one reader of sequence
 * sets that checks them against the folder.
 */
#include <stdbool.h>
#include <string.h>

#include "imapd/seqset.h"
#include "imapd/session-int.h"
#include "util/log.h"

char *arg_string(const struct imapd_arg *a)
{
	if (a->kind == IMAPD_LIST || memchr(a->s, '\0', a->len) != NULL)
		return NULL;
	return xstrndup(a->s, a->len);
}

void put_string(struct buf *b, const char *p, size_t len)
{
	bool quotable = len < 1024;

	for (size_t i = 0; quotable && i < len; i++)
		quotable =
		    p[i] != '\r' && p[i] != '\n' && p[i] != '\0' && (unsigned char)p[i] < 0x80;
	if (!quotable) {
		buf_printf(b, "{%zu}\r\n", len);
		buf_append(b, p, len);
		return;
	}
	buf_putc(b, '"');
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '"' || p[i] == '\\')
			buf_putc(b, '\\');
		buf_putc(b, p[i]);
	}
	buf_putc(b, '"');
}

int seqset_arg(struct session *s, const struct imapd_arg *a, bool uid, struct seqset *set)
{
	const struct view *v = &s->view;
	uint32_t star = uid ? (v->n > 0 ? v->msgs[v->n - 1].uid : 0) : (uint32_t)v->n;

	if (a->kind != IMAPD_ATOM || seqset_parse(a->s, a->len, star, set) < 0) {
		done(s, ST_BAD, "not a sequence set");
		return -1;
	}
	/* RFC 9051 6.4.8 / 9: a sequence number past EXISTS is an error (a UID
	 * that is not there is not). */
	if (!uid && seqset_max(set) > v->n) {
		done(s, ST_BAD, "no message %u: there are %zu", seqset_max(set), v->n);
		seqset_free(set);
		return -1;
	}
	return 0;
}
