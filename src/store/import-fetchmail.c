/*
 * fetchmail's .fetchids (store/import.h): one "USER@HOST UIDL" line per
 * message left on a POP3 server, as fetchmail's write_saved_lists() writes
 * it. The user name may hold blanks and '@' (Lotus Notes, InterMail), so
 * the host ends at the first blank after the first '@' and starts after the
 * last '@' before it, as fetchmail itself reads the file.
 */
#include <string.h>

#include "store/import-int.h"

static const char *blanks_end(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static const char *blank_at(const char *p, const char *end)
{
	while (p < end && *p != ' ' && *p != '\t')
		p++;
	return p;
}

static int parse_line(const char *file, unsigned no, const char *s, size_t len,
                      struct import_list *out, char *err, size_t errlen)
{
	const char *end = s + len, *user = blanks_end(s, end), *at, *sp, *host, *id, *idend;
	struct import_entry *e;

	if (user == end || *user == '#')
		return 0;
	at = memchr(user, '@', (size_t)(end - user));
	sp = at ? blank_at(at, end) : NULL;
	if (at == NULL || sp == end)
		return imp_err(err, errlen, file, no, "expected 'USER@HOST UIDL'");
	/* The host is what follows the last '@' before the blank. */
	host = sp;
	while (host[-1] != '@')
		host--;
	id = blanks_end(sp, end);
	idend = blank_at(id, end);
	if (host - 1 == user || host == sp || id == end)
		return imp_err(err, errlen, file, no, "expected 'USER@HOST UIDL'");
	if (blanks_end(idend, end) != end)
		return imp_err(err, errlen, file, no,
		               "expected 'USER@HOST UIDL', found more after the UIDL");
	e = imp_add(out, id, (size_t)(idend - id), 0, no);
	imp_set_who(e, user, (size_t)(host - 1 - user), host, (size_t)(sp - host));
	if (!import_uidl_valid(id, (size_t)(idend - id)))
		e->skip = "not a POP3 UIDL (1 to 70 printable characters)";
	return 0;
}

int import_parse_fetchmail(const char *file, const char *text, size_t len, struct import_list *out,
                           char *err, size_t errlen)
{
	struct imp_lines it;
	const char *line;
	size_t n, start = out->n;
	int rc;

	imp_lines_init(&it, text, len);
	while ((rc = imp_next_line(&it, &line, &n)) != 0) {
		if (rc < 0 || memchr(line, '\0', n) != NULL ||
		    parse_line(file, it.no, line, n, out, err, errlen) < 0) {
			if (rc < 0)
				imp_err(err, errlen, file, it.no, "line longer than %u bytes",
				        IMPORT_LINE_MAX);
			else if (memchr(line, '\0', n) != NULL)
				imp_err(err, errlen, file, it.no,
				        "a NUL byte: not a .fetchids file");
			imp_truncate(out, start);
			return -1;
		}
	}
	return 0;
}
