/*
 * mbsync's sync state (store/import.h), as isync 1.x's save_state() writes
 * it: "FarUidValidity N", "NearUidValidity N", "MaxPulledUid N"... (before
 * 1.4 "Master..." and "Slave..."; before 1.1 one line "UV:MAX UV:MAX:MAX"),
 * a blank line, then one "FARUID NEARUID [FLAGS]" line per message pair.
 * FLAGS may start with '<' (the far copy is a placeholder), '>' (the near
 * one is), '^' (skipped, before 1.4) or '~' / 'X' (expired).
 */
#include <stdio.h>
#include <string.h>

#include "store/import-int.h"

static const char *const header_keys[] = {
    "FarUidValidity",   "MasterUidValidity",   "NearUidValidity",
    "SlaveUidValidity", "MaxPulledUid",        "MaxPushedUid",
    "MaxExpiredFarUid", "MaxExpiredMasterUid", "MaxExpiredSlaveUid",
};

/* "Key N"; sets *uv for the far side's UIDVALIDITY. */
static int parse_header(const char *file, unsigned no, const char *s, size_t len, uint32_t *uv,
                        char *err, size_t errlen)
{
	const char *sp = memchr(s, ' ', len);
	uint32_t v;
	size_t klen;

	if (sp == NULL)
		return imp_err(err, errlen, file, no, "expected a header line 'KEY NUMBER'");
	klen = (size_t)(sp - s);
	for (size_t i = 0; i < sizeof(header_keys) / sizeof(header_keys[0]); i++) {
		if (strlen(header_keys[i]) != klen || memcmp(s, header_keys[i], klen) != 0)
			continue;
		/* MaxPulledUid and the like may be 0. */
		if (!(len - klen - 1 == 1 && sp[1] == '0') &&
		    imp_u32(sp + 1, len - klen - 1, &v) < 0)
			return imp_err(err, errlen, file, no, "%.*s: expected a number", (int)klen,
			               s);
		if (i < 2 && !(len - klen - 1 == 1 && sp[1] == '0'))
			*uv = v;
		return 0;
	}
	return imp_err(err, errlen, file, no, "unknown header '%.*s' (not an mbsync state file?)",
	               (int)klen, s);
}

/* The pre-1.1 header "FARUV:MAXFAR NEARUV:MAXEXPIRED:MAXNEAR". */
static int parse_legacy(const char *file, const char *s, size_t len, uint32_t *uv, char *err,
                        size_t errlen)
{
	const char *colon = memchr(s, ':', len);

	if (colon == NULL || imp_u32(s, (size_t)(colon - s), uv) < 0)
		return imp_err(err, errlen, file, 1, "expected 'FARUV:MAX NEARUV:MAX:MAX'");
	return 0;
}

/* A number up to the next blank (0 and 4294967295 allowed: -1 before 1.3). */
static const char *number(const char *p, const char *end, uint64_t *v)
{
	const char *s = p;

	*v = 0;
	while (p < end && *p >= '0' && *p <= '9' && p - s < 10)
		*v = *v * 10 + (uint64_t)(*p++ - '0');
	return p == s || *v > UINT32_MAX ? NULL : p;
}

static const char *pair_skip(uint64_t far, uint64_t near, char mark)
{
	if (far == 0 || far == UINT32_MAX)
		return "no far-side UID (a message mbsync pushed to the server)";
	if (mark == '^' || near == 0 || near == UINT32_MAX)
		return "mbsync did not copy it to the near side (too big, pending, or deleted "
		       "there)";
	if (mark == '>')
		return "the near side holds only a placeholder of it";
	return NULL;
}

static int parse_pair(const char *file, unsigned no, const char *s, size_t len, uint32_t uv,
                      struct import_list *out, char *err, size_t errlen)
{
	const char *end = s + len, *p;
	uint64_t far, near;
	struct import_entry *e;
	char id[16], mark = 0;

	if ((p = number(s, end, &far)) == NULL || p >= end || *p != ' ' ||
	    (p = number(p + 1, end, &near)) == NULL || (p < end && *p != ' '))
		return imp_err(err, errlen, file, no, "expected 'FARUID NEARUID [FLAGS]'");
	if (p + 1 < end && (p[1] == '<' || p[1] == '>'))
		mark = *++p;
	if (p + 1 < end && p[1] == '^')
		mark = mark == '>' ? '>' : '^';
	snprintf(id, sizeof(id), "%u", (unsigned)far);
	e = imp_add(out, id, strlen(id), uv, no);
	e->skip = pair_skip(far, near, mark);
	return 0;
}

static int parse_lines(const char *file, struct imp_lines *it, struct import_list *out, char *err,
                       size_t errlen)
{
	const char *line;
	size_t n;
	uint32_t uv = 0;
	bool body = false;
	int rc;

	while ((rc = imp_next_line(it, &line, &n)) != 0) {
		if (rc < 0 || memchr(line, '\0', n) != NULL)
			return imp_err(err, errlen, file, it->no, "%s",
			               rc < 0 ? "line too long"
			                      : "a NUL byte: not an mbsync state");
		if (body) {
			if (parse_pair(file, it->no, line, n, uv, out, err, errlen) < 0)
				return -1;
		} else if (n == 0) {
			body = true;
			if (uv == 0)
				return imp_err(err, errlen, file, it->no,
				               "the header has no FarUidValidity");
		} else if (it->no == 1 && line[0] >= '0' && line[0] <= '9') {
			/* Before 1.1 the pairs follow this one line at once. */
			if (parse_legacy(file, line, n, &uv, err, errlen) < 0)
				return -1;
			body = true;
		} else if (parse_header(file, it->no, line, n, &uv, err, errlen) < 0) {
			return -1;
		}
	}
	if (!body && it->no > 0)
		return imp_err(err, errlen, file, it->no,
		               "the header does not end with a blank line (a torn state file?)");
	return 0;
}

int import_parse_mbsync(const char *file, const char *text, size_t len, struct import_list *out,
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
