/*
 * The MIME tree, built on demand as a pre-order flat array, and the
 * transfer decodings. Broken structure degrades to fewer, larger parts:
 * a multipart whose boundary never shows up has its whole body as one
 * text part; a missing closing boundary ends the last part at the end of
 * the enclosing body.
 */
#include "mail/message.h"

#include <stdlib.h>
#include <string.h>

#include "mail/message-int.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"

static const char err_depth[] =
    "MIME nesting deeper than 32 levels; the deeper parts are not indexed";
static const char err_parts[] = "more than 5000 MIME parts; the rest are not indexed";

static void set_error(struct msg *m, const char *why)
{
	if (m->error == NULL)
		m->error = why;
}

/* The first Content-Type, -Transfer-Encoding and -Disposition of a part. */
struct part_hdrs {
	struct msg_header f[3];
	bool have[3];
};

static const char *const part_hdr_names[3] = {"Content-Type", "Content-Transfer-Encoding",
                                              "Content-Disposition"};

static void part_hdrs_take(struct part_hdrs *ph, const struct msg_header *h)
{
	for (int k = 0; k < 3; k++) {
		if (!ph->have[k] && str_ieq_n(h->name, h->name_len, part_hdr_names[k])) {
			ph->f[k] = *h;
			ph->have[k] = true;
		}
	}
}

/* Scans a part's header section; returns where its body starts. */
static size_t part_hdrs_scan(struct msg *m, size_t start, size_t end, struct part_hdrs *ph)
{
	struct hdr_scan s;
	struct msg_header h;

	memset(ph, 0, sizeof(*ph));
	hdr_scan_init(&s, m->data, start, end);
	while (hdr_scan_next(&s, &h))
		part_hdrs_take(ph, &h);
	if (s.error)
		set_error(m, s.error);
	return s.body_start;
}

static char *token_of(const struct msg_header *h)
{
	struct mfield f;
	char *t;

	mfield_parse(&f, h);
	t = mfield_token(&f);
	mfield_free(&f);
	return t;
}

static void part_content_type(struct msg_part *p, const struct part_hdrs *ph, char **name)
{
	struct mfield f;
	char *t;

	if (!ph->have[0])
		return;
	mfield_parse(&f, &ph->f[0]);
	t = mfield_token(&f);
	/* "text" or "/x" are not types: the default applies. */
	if (t && (strchr(t, '/') == NULL || t[0] == '/' || t[strlen(t) - 1] == '/')) {
		free(t);
		t = NULL;
	}
	p->type = t;
	p->charset = mfield_param(&f, "charset");
	if (p->charset)
		str_lower(p->charset);
	p->boundary = mfield_param_raw(&f, "boundary");
	*name = mfield_param(&f, "name");
	mfield_free(&f);
}

static void part_fill(struct msg_part *p, const struct part_hdrs *ph, const char *deftype)
{
	char *name = NULL;
	struct mfield f;

	part_content_type(p, ph, &name);
	if (p->type == NULL)
		p->type = xstrdup(deftype);
	p->is_multipart = strncmp(p->type, "multipart/", 10) == 0;
	if (!p->is_multipart) {
		free(p->boundary);
		p->boundary = NULL;
	}
	if (ph->have[1])
		p->encoding = token_of(&ph->f[1]);
	if (ph->have[2]) {
		mfield_parse(&f, &ph->f[2]);
		p->disposition = mfield_token(&f);
		p->filename = mfield_param(&f, "filename");
		mfield_free(&f);
	}
	if (p->filename == NULL)
		p->filename = name;
	else
		free(name);
}

static int part_add(struct msg *m, size_t *cap, int parent, size_t hdr_start, size_t end)
{
	struct msg_part *p;

	if (m->nparts >= MSG_MAX_PARTS) {
		set_error(m, err_parts);
		return -1;
	}
	m->parts = xreallocarray_grow(m->parts, cap, m->nparts + 1, sizeof(*m->parts));
	p = &m->parts[m->nparts];
	memset(p, 0, sizeof(*p));
	p->parent = parent;
	p->depth = parent < 0 ? 0 : m->parts[parent].depth + 1;
	p->hdr_start = hdr_start;
	p->body_start = hdr_start;
	p->body_end = end;
	return (int)m->nparts++;
}

/* A part with its own header section in data[start..end). */
static int part_add_scanned(struct msg *m, size_t *cap, int parent, size_t start, size_t end,
                            const char *deftype)
{
	struct part_hdrs ph;
	int i = part_add(m, cap, parent, start, end);

	if (i < 0)
		return i;
	m->parts[i].body_start = part_hdrs_scan(m, start, end, &ph);
	part_fill(&m->parts[i], &ph, deftype);
	return i;
}

struct delim {
	size_t part_end; /* where the content before the delimiter line ends */
	size_t next;     /* start of the line after the delimiter */
	bool close;
};

/* The delimiter line "--boundary[--][blanks]" at s[l..]; false if it is not one. */
static bool delim_at(const struct msg *m, size_t l, size_t blen, size_t end, struct delim *d)
{
	size_t i = l + 2 + blen;

	d->close = i + 1 < end && m->data[i] == '-' && m->data[i + 1] == '-';
	if (d->close)
		i += 2;
	while (i < end && is_wsp((unsigned char)m->data[i]))
		i++;
	if (i < end && m->data[i] == '\r')
		i++;
	/* Text after a closing delimiter is tolerated; after an opening one it is not. */
	if (i < end && m->data[i] != '\n') {
		if (!d->close)
			return false;
		while (i < end && m->data[i] != '\n')
			i++;
	}
	d->next = i < end ? i + 1 : end;
	return true;
}

static bool delim_find(const struct msg *m, const char *bnd, size_t from, size_t end,
                       struct delim *d)
{
	size_t blen = strlen(bnd), pos = from;

	while (pos + 2 + blen <= end) {
		const char *hit = memmem(m->data + pos + 2, end - pos - 2, bnd, blen);
		size_t l;

		if (hit == NULL)
			return false;
		l = (size_t)(hit - m->data) - 2;
		pos = l + 1;
		if (m->data[l] != '-' || m->data[l + 1] != '-')
			continue;
		if (l != from && m->data[l - 1] != '\n')
			continue;
		if (!delim_at(m, l, blen, end, d))
			continue;
		d->part_end = l;
		if (l > from && m->data[l - 1] == '\n')
			d->part_end--;
		if (d->part_end > from && m->data[d->part_end - 1] == '\r' &&
		    m->data[l - 1] == '\n')
			d->part_end--;
		return true;
	}
	return false;
}

static void mime_walk(struct msg *m, size_t *cap, int idx);

/* No usable boundary: the whole body becomes one text part. */
static void multipart_as_text(struct msg *m, size_t *cap, int idx)
{
	size_t bs = m->parts[idx].body_start, be = m->parts[idx].body_end;
	int c = part_add(m, cap, idx, bs, be);

	if (c < 0)
		return;
	m->parts[c].type = xstrdup("text/plain");
	if (m->parts[idx].charset)
		m->parts[c].charset = xstrdup(m->parts[idx].charset);
	if (m->parts[idx].encoding)
		m->parts[c].encoding = xstrdup(m->parts[idx].encoding);
}

static void multipart_walk(struct msg *m, size_t *cap, int idx)
{
	const struct msg_part *p = &m->parts[idx];
	size_t be = p->body_end;
	const char *deftype =
	    strcmp(p->type, "multipart/digest") == 0 ? "message/rfc822" : "text/plain";
	char *bnd = p->boundary && p->boundary[0] ? xstrdup(p->boundary) : NULL;
	struct delim d, d2;
	bool more;

	if (bnd == NULL || !delim_find(m, bnd, p->body_start, be, &d)) {
		multipart_as_text(m, cap, idx);
		free(bnd);
		return;
	}
	while (!d.close && d.next < be) {
		int c;

		more = delim_find(m, bnd, d.next, be, &d2);
		c = part_add_scanned(m, cap, idx, d.next, more ? d2.part_end : be, deftype);
		if (c < 0)
			break;
		mime_walk(m, cap, c);
		if (!more)
			break;
		d = d2;
	}
	free(bnd);
}

static bool encoding_is_identity(const char *enc)
{
	return enc == NULL || strcmp(enc, "7bit") == 0 || strcmp(enc, "8bit") == 0 ||
	       strcmp(enc, "binary") == 0;
}

static bool is_message(const struct msg_part *p)
{
	return (strcmp(p->type, "message/rfc822") == 0 || strcmp(p->type, "message/global") == 0) &&
	       encoding_is_identity(p->encoding);
}

static void mime_walk(struct msg *m, size_t *cap, int idx)
{
	const struct msg_part *p = &m->parts[idx];
	int c;

	if (!p->is_multipart && !is_message(p))
		return;
	if (p->depth >= MSG_MAX_DEPTH) {
		set_error(m, err_depth);
		return;
	}
	if (p->is_multipart) {
		multipart_walk(m, cap, idx);
		return;
	}
	/* An attached message: its header section is parsed as a child part. */
	c = part_add_scanned(m, cap, idx, p->body_start, p->body_end, "text/plain");
	if (c >= 0)
		mime_walk(m, cap, c);
}

static void mark_attachments(struct msg *m)
{
	bool *has_child = xcalloc(m->nparts, sizeof(bool));

	for (size_t i = 1; i < m->nparts; i++)
		has_child[m->parts[i].parent] = true;
	for (size_t i = 0; i < m->nparts; i++) {
		struct msg_part *p = &m->parts[i];
		bool leaf = !has_child[i] && !p->is_multipart;

		p->is_attachment =
		    !p->is_multipart &&
		    ((p->disposition && strcmp(p->disposition, "attachment") == 0) ||
		     p->filename != NULL || (leaf && strncmp(p->type, "text/", 5) != 0));
	}
	free(has_child);
}

size_t msg_mime(struct msg *m)
{
	struct part_hdrs ph;
	size_t cap = 0, it;
	const struct msg_header *h;
	int root;

	if (m->mime_done)
		return m->nparts;
	m->mime_done = true;
	root = part_add(m, &cap, -1, hdr_section_start(m->data, m->len), m->len);
	m->parts[root].body_start = m->body_start;
	memset(&ph, 0, sizeof(ph));
	for (int k = 0; k < 3; k++) {
		it = 0;
		h = msg_header_next(m, part_hdr_names[k], &it);
		if (h) {
			ph.f[k] = *h;
			ph.have[k] = true;
		}
	}
	part_fill(&m->parts[root], &ph, "text/plain");
	mime_walk(m, &cap, root);
	mark_attachments(m);
	return m->nparts;
}

static int qp_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Past "=" + blanks + line end (a soft break) at s[i], or i when it is not one. */
static size_t qp_soft_break(const char *s, size_t n, size_t i)
{
	size_t j = i + 1;

	while (j < n && is_wsp((unsigned char)s[j]))
		j++;
	if (j == n)
		return n;
	if (s[j] == '\n')
		return j + 1;
	if (s[j] == '\r' && j + 1 < n && s[j + 1] == '\n')
		return j + 2;
	return i;
}

/* Blanks at i that end the line are transport padding: they are dropped. */
static size_t qp_blanks(const char *s, size_t n, size_t i, bool *trailing)
{
	size_t j = i;

	while (j < n && is_wsp((unsigned char)s[j]))
		j++;
	*trailing = j == n || s[j] == '\n' || (s[j] == '\r' && j + 1 < n && s[j + 1] == '\n');
	return j;
}

static size_t qp_decode(const char *s, size_t n, char *out, size_t max)
{
	size_t i = 0, o = 0, j;
	bool trailing;
	int hi, lo;

	while (i < n && o < max) {
		if (s[i] == '=') {
			if ((j = qp_soft_break(s, n, i)) != i) {
				i = j;
			} else if (i + 2 < n && (hi = qp_hex((unsigned char)s[i + 1])) >= 0 &&
			           (lo = qp_hex((unsigned char)s[i + 2])) >= 0) {
				out[o++] = (char)(hi << 4 | lo);
				i += 3;
			} else {
				out[o++] = s[i++]; /* a bad escape is kept as it is */
			}
		} else if (is_wsp((unsigned char)s[i])) {
			j = qp_blanks(s, n, i, &trailing);
			for (; i < j && o < max; i++)
				if (!trailing)
					out[o++] = s[i];
			i = j;
		} else {
			out[o++] = s[i++];
		}
	}
	return o;
}

char *mime_decode(const struct msg *m, const struct msg_part *p, size_t max, size_t *outlen)
{
	const char *s = m->data + p->body_start;
	size_t n = p->body_end > p->body_start ? p->body_end - p->body_start : 0;
	const char *enc = p->encoding ? p->encoding : "";
	size_t room, o;
	char *out;

	if (strcmp(enc, "base64") == 0)
		room = n / 4 * 3 + 3;
	else
		room = n;
	if (room > max)
		room = max;
	out = xmalloc(room + 1);
	if (strcmp(enc, "base64") == 0) {
		o = b64_decode(s, n, out, room, false);
	} else if (strcmp(enc, "quoted-printable") == 0) {
		o = qp_decode(s, n, out, room);
	} else {
		o = room;
		if (o > 0)
			memcpy(out, s, o);
	}
	out[o] = '\0';
	if (outlen)
		*outlen = o;
	return out;
}

char *mime_text(const struct msg *m, const struct msg_part *p, size_t max, size_t *outlen)
{
	size_t n, tn;
	char *raw = mime_decode(m, p, max, &n);
	char *t = charset_to_utf8(p->charset, raw, n, &tn);

	free(raw);
	/* Conversion may grow the text: cut it back to max on a character boundary. */
	if (tn > max) {
		tn = max;
		while (tn > 0 && ((unsigned char)t[tn] & 0xC0) == 0x80)
			tn--;
		t[tn] = '\0';
	}
	if (outlen)
		*outlen = tn;
	return t;
}
