/*
 * The header index: one pass over the raw bytes, no copy, no per-field
 * allocation. Decoding happens only when a field is asked for.
 */
#include "mail/message.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/message-int.h"
#include "util/buf.h"
#include "util/log.h"

static const char err_headers[] = "more than 10000 header fields; the rest are not indexed";
static const char err_line[] = "a header field longer than 4 MiB; it and the rest are not indexed";

size_t hdr_section_start(const char *data, size_t len)
{
	size_t i = 0;
	const char *nl;

	/* Some Windows tools save .eml files with a UTF-8 byte order mark. */
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	if (len - i < 5 || memcmp(data + i, "From ", 5) != 0)
		return i;
	/* "From : x" is a field with a blank before the colon, not an mbox line. */
	for (size_t j = i + 4; j < len && data[j] != '\n'; j++) {
		if (data[j] == ':')
			return i;
		if (!is_wsp((unsigned char)data[j]))
			break;
	}
	nl = memchr(data + i, '\n', len - i);
	return nl ? (size_t)(nl - data) + 1 : len;
}

void hdr_scan_init(struct hdr_scan *s, const char *data, size_t start, size_t end)
{
	memset(s, 0, sizeof(*s));
	s->data = data;
	s->pos = start;
	s->end = end;
	s->body_start = end;
}

/* The line at pos: *content_end excludes the line end, *next is past it. */
static void scan_line(const struct hdr_scan *s, size_t pos, size_t *content_end, size_t *next)
{
	const char *nl = memchr(s->data + pos, '\n', s->end - pos);
	size_t eol = nl ? (size_t)(nl - s->data) : s->end;

	*next = nl ? eol + 1 : s->end;
	if (nl && eol > pos && s->data[eol - 1] == '\r')
		eol--;
	*content_end = eol;
}

/* Field names: printable ASCII but the colon; 8-bit bytes are tolerated. */
static bool is_name_char(unsigned char c)
{
	return (c > 32 && c < 127 && c != ':') || c >= 128;
}

/* Offset of the colon that ends a field name in [pos, cend), or 0 when none. */
static size_t field_colon(const struct hdr_scan *s, size_t pos, size_t cend)
{
	size_t i = pos;

	while (i < cend && is_name_char((unsigned char)s->data[i]))
		i++;
	if (i == pos)
		return 0;
	/* Obsolete syntax allows white space before the colon ("Subject : x"). */
	while (i < cend && is_wsp((unsigned char)s->data[i]))
		i++;
	return i < cend && s->data[i] == ':' ? i : 0;
}

/* Extends a field over its continuation lines; returns where the next line starts. */
static size_t field_extend(const struct hdr_scan *s, size_t next, size_t *vend)
{
	size_t cend, nnext;

	while (next < s->end && is_wsp((unsigned char)s->data[next])) {
		scan_line(s, next, &cend, &nnext);
		*vend = cend;
		next = nnext;
	}
	return next;
}

static bool scan_stop(struct hdr_scan *s, const char *why)
{
	s->stopped = true;
	if (s->error == NULL)
		s->error = why;
	return false;
}

bool hdr_scan_next(struct hdr_scan *s, struct msg_header *h)
{
	size_t cend, next, colon, vend;

	while (s->pos < s->end) {
		size_t pos = s->pos;

		scan_line(s, pos, &cend, &next);
		if (cend == pos) {
			s->body_start = next;
			s->pos = s->end;
			return false;
		}
		s->pos = next;
		if (is_wsp((unsigned char)s->data[pos]))
			continue; /* a continuation without a field */
		colon = field_colon(s, pos, cend);
		if (colon == 0) {
			s->body_start = pos;
			s->pos = s->end;
			return false;
		}
		vend = cend;
		s->pos = field_extend(s, next, &vend);
		if (s->stopped)
			continue;
		if (vend - pos > MSG_MAX_HEADER_LINE)
			scan_stop(s, err_line);
		else if (s->nfields >= MSG_MAX_HEADERS)
			scan_stop(s, err_headers);
		if (s->stopped)
			continue;
		h->name = s->data + pos;
		h->name_len = colon - pos;
		while (h->name_len > 0 && is_wsp((unsigned char)h->name[h->name_len - 1]))
			h->name_len--;
		h->value = s->data + colon + 1;
		h->value_len = vend - colon - 1;
		s->nfields++;
		return true;
	}
	s->body_start = s->end;
	return false;
}

void msg_init(struct msg *m, const char *data, size_t len)
{
	struct hdr_scan s;
	struct msg_header h;
	size_t cap = 0;

	memset(m, 0, sizeof(*m));
	m->data = data;
	m->len = len;
	if (data == NULL) {
		m->len = 0;
		return;
	}
	hdr_scan_init(&s, data, hdr_section_start(data, len), len);
	while (hdr_scan_next(&s, &h)) {
		m->hdrs = xreallocarray_grow(m->hdrs, &cap, m->nhdrs + 1, sizeof(*m->hdrs));
		m->hdrs[m->nhdrs++] = h;
	}
	m->body_start = s.body_start;
	m->error = s.error;
}

void msg_free(struct msg *m)
{
	for (size_t i = 0; i < m->nparts; i++) {
		free(m->parts[i].type);
		free(m->parts[i].charset);
		free(m->parts[i].encoding);
		free(m->parts[i].filename);
		free(m->parts[i].boundary);
		free(m->parts[i].disposition);
	}
	free(m->parts);
	free(m->hdrs);
	memset(m, 0, sizeof(*m));
}

const struct msg_header *msg_header_next(const struct msg *m, const char *name, size_t *iter)
{
	size_t n = strlen(name);

	for (size_t i = *iter; i < m->nhdrs; i++) {
		const struct msg_header *h = &m->hdrs[i];

		if (h->name_len == n && strncasecmp(h->name, name, n) == 0) {
			*iter = i + 1;
			return h;
		}
	}
	*iter = m->nhdrs;
	return NULL;
}

char *msg_header_unfold(const struct msg_header *h)
{
	char *out = xmalloc(h->value_len + 1);
	size_t o = 0;

	for (size_t i = 0; i < h->value_len; i++) {
		char c = h->value[i];

		if (c == '\n')
			continue;
		if (c == '\r' && i + 1 < h->value_len && h->value[i + 1] == '\n')
			continue;
		/* A C string cannot hold NUL: it becomes a space. */
		out[o++] = c == '\0' ? ' ' : c;
	}
	out[o] = '\0';
	return str_trim_inplace(out);
}

char *msg_header_decode(const struct msg_header *h)
{
	const char *v = h->value;
	size_t n = h->value_len;

	while (n > 0 && (is_wsp((unsigned char)*v) || *v == '\r' || *v == '\n')) {
		v++;
		n--;
	}
	return str_trim_inplace(rfc2047_decode(v, n));
}

char *msg_get(const struct msg *m, const char *name)
{
	size_t it = 0;
	const struct msg_header *h = msg_header_next(m, name, &it);

	return h ? msg_header_decode(h) : NULL;
}

/* Appends the id's bytes in [i, n) up to '>' (or the first blank outside
 * '<>'), without white space, comments or controls. */
static void msgid_collect(struct buf *b, const char *s, size_t n, size_t i, bool angle)
{
	while (i < n && !(angle && s[i] == '>')) {
		unsigned char c = (unsigned char)s[i];

		if (c == '(') {
			i = skip_comment(s, n, i) + 1;
			continue;
		}
		if (c == '"') {
			size_t e = skip_quoted(s, n, i);

			e = e < n ? e + 1 : n;
			buf_append(b, s + i, e - i);
			i = e;
			continue;
		}
		if (c <= ' ' || c == 127) {
			if (!angle && b->len > 0)
				return;
			i++;
			continue;
		}
		buf_putc(b, (char)c);
		i++;
	}
}

char *msg_message_id(const struct msg *m)
{
	size_t it = 0, i = 0, n;
	const struct msg_header *h = msg_header_next(m, "Message-ID", &it);
	struct buf b;
	char *u, *id;

	if (h == NULL)
		return NULL;
	u = msg_header_unfold(h);
	n = strlen(u);
	/* The first '<' outside comments starts the id. */
	while (i < n && u[i] != '<') {
		if (u[i] == '(')
			i = skip_comment(u, n, i);
		i++;
	}
	buf_init(&b, MSG_BUF_MAX);
	if (i < n)
		msgid_collect(&b, u, n, i + 1, true);
	else
		msgid_collect(&b, u, n, 0, false);
	free(u);
	if (b.len == 0) {
		buf_free(&b);
		return NULL;
	}
	u = buf_steal(&b, NULL);
	buf_init(&b, MSG_BUF_MAX);
	buf_putc(&b, '<');
	text_append_lenient(&b, u, strlen(u));
	buf_putc(&b, '>');
	free(u);
	id = buf_steal(&b, NULL);
	return id;
}
