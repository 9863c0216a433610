/*
 * What the commands share to read their arguments and to write IMAP
 * strings: one string writer (quoted or literal), one reader of sequence
 * sets that checks them against the folder.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "imapd/seqset.h"
#include "imapd/session-int.h"
#include "mail/message.h"
#include "mail/mutf7.h"
#include "util/log.h"

char *arg_string(const struct imapd_arg *a)
{
	if (a->kind == IMAPD_LIST || memchr(a->s, '\0', a->len) != NULL)
		return NULL;
	return xstrndup(a->s, a->len);
}

static void put_quoted(struct buf *b, const char *p, size_t len)
{
	buf_putc(b, '"');
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '"' || p[i] == '\\')
			buf_putc(b, '\\');
		buf_putc(b, p[i]);
	}
	buf_putc(b, '"');
}

/* Whether p can be a quoted string: short, no line end, no NUL, and
 * ASCII unless utf8 (then valid UTF-8). */
static bool quotable(const char *p, size_t len, bool utf8)
{
	bool ok = len < 1024 && (!utf8 || utf8_valid(p, len));

	for (size_t i = 0; ok && i < len; i++)
		ok = p[i] != '\r' && p[i] != '\n' && p[i] != '\0' &&
		     (utf8 || (unsigned char)p[i] < 0x80);
	return ok;
}

void put_string(struct buf *b, const char *p, size_t len)
{
	if (quotable(p, len, false)) {
		put_quoted(b, p, len);
		return;
	}
	buf_printf(b, "{%zu}\r\n", len);
	buf_append(b, p, len);
}

/* UTF-8 that RFC 6855 3 keeps out of folder names beyond what modified
 * UTF-7 refuses (C0 controls, DEL): C1 controls, U+2028 and U+2029. */
static bool net_unicode(const char *u)
{
	const unsigned char *p = (const unsigned char *)u;

	for (; *p; p++)
		if ((p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F) ||
		    (p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9)))
			return false;
	return true;
}

char *name_arg_utf(const struct session *s, const struct imapd_arg *a)
{
	char *name = arg_string(a), *wire;

	if (name == NULL || !s->utf8)
		return name;
	wire = net_unicode(name) ? mutf7_encode(name) : NULL;
	free(name);
	return wire;
}

char *name_shown(const struct session *s, const char *name)
{
	char *u = s->utf8 ? mutf7_decode(name) : NULL;

	return u != NULL ? u : xstrdup(name);
}

void put_name(struct session *s, const char *name)
{
	char *u = name_shown(s, name);
	size_t len = strlen(u);

	if (s->utf8 && quotable(u, len, true))
		put_quoted(&s->out, u, len);
	else
		put_string(&s->out, u, len);
	free(u);
}

bool args_utf8_valid(const struct imapd_arg *args, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct imapd_arg *a = &args[i];

		if (a->kind == IMAPD_LIST && !args_utf8_valid(a->sub, a->nsub))
			return false;
		if (a->kind == IMAPD_STRING && !a->literal && !utf8_valid(a->s, a->len))
			return false;
	}
	return true;
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
