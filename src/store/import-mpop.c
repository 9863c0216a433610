/*
 * mpop's UIDLs file (store/import.h), as mpop's uidls_write() writes it:
 * comment lines start with '#'; " COUNT HOST USER" (a leading blank) heads
 * a list, then come COUNT UIDLs, one per line, kept whole. A file may hold
 * the lists of several accounts (a shared uidls_file).
 */
#include <string.h>

#include "store/import-int.h"

struct list_head {
	uint32_t left;
	const char *host, *user;
	size_t hlen, ulen;
	unsigned line;
};

/* " COUNT HOST USER" */
static int parse_head(const char *file, unsigned no, const char *s, size_t len, struct list_head *h,
                      char *err, size_t errlen)
{
	const char *end = s + len, *p = s + 1, *q;

	for (q = p; q < end && *q != ' '; q++)
		;
	if (imp_u32(p, (size_t)(q - p), &h->left) < 0)
		return imp_err(err, errlen, file, no, "expected ' COUNT HOST USER' (COUNT from 1)");
	p = q + 1;
	for (q = p; q < end && *q != ' '; q++)
		;
	if (q >= end || q == p)
		return imp_err(err, errlen, file, no, "expected ' COUNT HOST USER': no host");
	h->host = p;
	h->hlen = (size_t)(q - p);
	h->user = q + 1;
	h->ulen = (size_t)(end - h->user);
	if (h->ulen == 0 || memchr(h->user, ' ', h->ulen) != NULL)
		return imp_err(err, errlen, file, no,
		               "expected ' COUNT HOST USER': one user name without blanks");
	h->line = no;
	return 0;
}

static int parse_lines(const char *file, struct imp_lines *it, struct import_list *out, char *err,
                       size_t errlen)
{
	struct list_head h = {0};
	const char *line;
	size_t n;
	int rc;

	while ((rc = imp_next_line(it, &line, &n)) != 0) {
		struct import_entry *e;

		if (rc < 0)
			return imp_err(err, errlen, file, it->no, "line longer than %u bytes",
			               IMPORT_LINE_MAX);
		if (memchr(line, '\0', n) != NULL)
			return imp_err(err, errlen, file, it->no,
			               "a NUL byte: not an mpop UIDLs file");
		if (n > 0 && line[0] == '#')
			continue;
		if (h.left == 0) {
			if (n == 0)
				continue;
			if (line[0] != ' ')
				return imp_err(
				    err, errlen, file, it->no,
				    "a UIDL outside a list (expected ' COUNT HOST USER')");
			if (parse_head(file, it->no, line, n, &h, err, errlen) < 0)
				return -1;
			continue;
		}
		if (n == 0 || line[0] == ' ')
			return imp_err(err, errlen, file, it->no,
			               "%s UIDL: the list of line %u (%.*s at %.*s) is %u short",
			               n == 0 ? "an empty" : "expected a", h.line, (int)h.ulen,
			               h.user, (int)h.hlen, h.host, h.left);
		e = imp_add(out, line, n, 0, it->no);
		imp_set_who(e, h.user, h.ulen, h.host, h.hlen);
		if (!import_uidl_valid(line, n))
			e->skip = "not a POP3 UIDL (1 to 70 printable characters)";
		h.left--;
	}
	if (h.left > 0)
		return imp_err(err, errlen, file, it->no,
		               "the file ends %u UIDLs short of the list of line %u", h.left,
		               h.line);
	return 0;
}

int import_parse_mpop(const char *file, const char *text, size_t len, struct import_list *out,
                      char *err, size_t errlen)
{
	struct imp_lines it;
	size_t start = out->n;

	imp_lines_init(&it, text, len);
	if (parse_lines(file, &it, out, err, errlen) < 0) {
		imp_truncate(out, start);
		return -1;
	}
	return 0;
}
