/*
 * getmail's oldmail files (store/import.h), as getmail 6 writes them:
 * "ID NUL TIMESTAMP" lines. A POP3 retriever's ids are UIDLs (getmail
 * writes a '/' in one as '-'); an IMAP retriever keeps one file per folder
 * whose ids are "UIDVALIDITY/UID" ("UIDVALIDITY/FOLDER/UID" before 4.22).
 * getmail keeps the ids of a folder's older UIDVALIDITY for 30 days: only
 * those of the newest one (the UIDVALIDITY of the latest timestamp) are
 * the folder's now.
 */
#include <stdio.h>
#include <string.h>

#include "store/import-int.h"

static const char *trim_start(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\v' || *p == '\f'))
		p++;
	return p;
}

static const char *trim_end(const char *start, const char *p)
{
	while (p > start &&
	       (p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\r' || p[-1] == '\v' || p[-1] == '\f'))
		p--;
	return p;
}

static int parse_stamp(const char *s, const char *end, int64_t *out)
{
	int64_t v = 0;

	if (s == end || end - s > 18)
		return -1;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return 0;
}

/* "UIDVALIDITY/UID" or "UIDVALIDITY/FOLDER/UID". */
static int parse_imap_id(const char *id, size_t len, uint32_t *uv, const char **uid, size_t *uidlen)
{
	const char *first = memchr(id, '/', len), *last = first;

	if (first == NULL)
		return -1;
	for (const char *p = first; p < id + len; p++)
		if (*p == '/')
			last = p;
	*uid = last + 1;
	*uidlen = (size_t)(id + len - *uid);
	return imp_u32(id, (size_t)(first - id), uv);
}

static int parse_line(const char *file, unsigned no, const char *s, size_t len, bool imap,
                      struct import_list *out, char *err, size_t errlen)
{
	const char *end = trim_end(s, s + len), *start = trim_start(s, end), *nul, *uid;
	struct import_entry *e;
	int64_t stamp;
	uint32_t uv = 0, u;
	size_t uidlen;
	char num[16];

	if (start == end)
		return 0;
	nul = memchr(start, '\0', (size_t)(end - start));
	if (nul == NULL || nul == start || parse_stamp(nul + 1, end, &stamp) < 0)
		return imp_err(err, errlen, file, no, "expected 'ID', a NUL byte, 'TIMESTAMP'");
	if (!imap) {
		if (memchr(start, '/', (size_t)(nul - start)) != NULL)
			return imp_err(err, errlen, file, no,
			               "'%.*s' is an IMAP UIDVALIDITY/UID: the file of an IMAP "
			               "retriever, not a POP3 one",
			               (int)(nul - start), start);
		e = imp_add(out, start, (size_t)(nul - start), 0, no);
		if (!import_uidl_valid(start, (size_t)(nul - start)))
			e->skip = "not a POP3 UIDL (1 to 70 printable characters)";
	} else {
		if (parse_imap_id(start, (size_t)(nul - start), &uv, &uid, &uidlen) < 0 ||
		    imp_u32(uid, uidlen, &u) < 0)
			return imp_err(err, errlen, file, no,
			               "expected 'UIDVALIDITY/UID' (an IMAP retriever's id), found "
			               "'%.*s'",
			               (int)(nul - start), start);
		/* As fetch names it: "7", never "007". */
		snprintf(num, sizeof(num), "%u", (unsigned)u);
		e = imp_add(out, num, strlen(num), uv, no);
	}
	e->stamp = stamp;
	return 0;
}

/* Marks the ids of an older UIDVALIDITY than the newest entry's. */
static void skip_stale(struct import_list *out, size_t start)
{
	size_t newest = start;

	for (size_t i = start; i < out->n; i++)
		if (out->v[i].stamp > out->v[newest].stamp ||
		    (out->v[i].stamp == out->v[newest].stamp &&
		     out->v[i].uidvalidity > out->v[newest].uidvalidity))
			newest = i;
	for (size_t i = start; i < out->n; i++)
		if (out->v[i].uidvalidity != out->v[newest].uidvalidity)
			out->v[i].skip = "of an older UIDVALIDITY of the folder (getmail keeps "
			                 "those 30 days)";
}

int import_parse_getmail(const char *file, const char *text, size_t len, bool imap,
                         struct import_list *out, char *err, size_t errlen)
{
	struct imp_lines it;
	const char *line;
	size_t n, start = out->n;
	int rc;

	imp_lines_init(&it, text, len);
	while ((rc = imp_next_line(&it, &line, &n)) != 0) {
		if (rc < 0)
			imp_err(err, errlen, file, it.no, "line longer than %u bytes",
			        IMPORT_LINE_MAX);
		if (rc < 0 || parse_line(file, it.no, line, n, imap, out, err, errlen) < 0) {
			imp_truncate(out, start);
			return -1;
		}
	}
	if (imap && out->n > start)
		skip_stale(out, start);
	return 0;
}
