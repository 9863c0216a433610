/*
 * What the state-file parsers share (store/import.h): reading a file,
 * lines, entries, and the file names getmail and mbsync give their state.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/import-int.h"
#include "util/log.h"

void import_list_free(struct import_list *l)
{
	imp_truncate(l, 0);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

void imp_truncate(struct import_list *l, size_t n)
{
	while (l->n > n) {
		struct import_entry *e = &l->v[--l->n];

		free(e->user);
		free(e->host);
		free(e->id);
	}
}

struct import_entry *imp_add(struct import_list *l, const char *id, size_t idlen,
                             uint32_t uidvalidity, unsigned line)
{
	struct import_entry *e;

	l->v = xreallocarray_grow(l->v, &l->cap, l->n + 1, sizeof(*l->v));
	e = &l->v[l->n++];
	memset(e, 0, sizeof(*e));
	e->id = xcalloc(1, idlen + 1);
	memcpy(e->id, id, idlen);
	e->uidvalidity = uidvalidity;
	e->line = line;
	return e;
}

static char *dup_n(const char *s, size_t n)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = xcalloc(1, n + 1);
	memcpy(d, s, n);
	return d;
}

void imp_set_who(struct import_entry *e, const char *user, size_t ulen, const char *host,
                 size_t hlen)
{
	e->user = dup_n(user, ulen);
	e->host = dup_n(host, hlen);
}

int imp_err(char *err, size_t errlen, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errlen, "%s:%u: ", file, line);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

int imp_u32(const char *s, size_t len, uint32_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 10)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v == 0 || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

void imp_lines_init(struct imp_lines *it, const char *text, size_t len)
{
	it->p = text;
	it->end = text + len;
	it->no = 0;
}

int imp_next_line(struct imp_lines *it, const char **line, size_t *len)
{
	const char *nl;
	size_t n;

	if (it->p >= it->end)
		return 0;
	it->no++;
	nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
	n = (size_t)((nl ? nl : it->end) - it->p);
	*line = it->p;
	it->p += n + (nl != NULL);
	if (n > 0 && (*line)[n - 1] == '\r')
		n--;
	*len = n;
	return n > IMPORT_LINE_MAX ? -1 : 1;
}

bool import_uidl_valid(const char *id, size_t len)
{
	if (len == 0 || len > 70)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)id[i] < 0x21 || (unsigned char)id[i] > 0x7e)
			return false;
	return true;
}

int import_read_file(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf;
	size_t got = 0;

	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > IMPORT_FILE_MAX) {
		snprintf(err, errlen, "%s: %s", path,
		         S_ISREG(st.st_mode) ? "larger than 256 MiB: not a state file"
		                             : "not a regular file");
		close(fd);
		return -1;
	}
	buf = xcalloc(1, (size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, errlen, "%s: cannot read: %s", path,
			         r < 0 ? strerror(errno) : "it shrank while being read");
			free(buf);
			close(fd);
			return -1;
		}
		got += (size_t)r;
	}
	close(fd);
	*text = buf;
	*len = got;
	return 0;
}

/* getmail's re.sub('[/\:;<>|]+', rep, s): each run of those becomes rep. */
static size_t strip_runs(char *out, const char *s, char rep)
{
	size_t n = 0;

	while (*s) {
		if (strchr("/\\:;<>|", *s) != NULL) {
			while (*s && strchr("/\\:;<>|", *s) != NULL)
				s++;
			out[n++] = rep;
			continue;
		}
		out[n++] = *s++;
	}
	out[n] = '\0';
	return n;
}

char *import_getmail_name(const char *host, int port, const char *user, const char *folder)
{
	char *base = xasprintf("oldmail-%s-%d-%s", host, port, user);
	char *out = xcalloc(1, strlen(base) + (folder ? strlen(folder) : 0) + 2);
	size_t n = strip_runs(out, base, '-');

	free(base);
	if (folder != NULL) {
		out[n++] = '-';
		strip_runs(out + n, folder, '.');
	}
	return out;
}

char *import_mbsync_far_box(const char *base)
{
	/* ":FARSTORE:FARBOX_:NEARSTORE:NEARBOX" with the default delimiter ':'. */
	const char *p = base, *box, *end;
	char *out;

	if (*p != ':' || (p = strchr(p + 1, ':')) == NULL)
		return NULL;
	box = p + 1;
	if ((end = strchr(box, ':')) == NULL || end - box < 2 || end[-1] != '_' ||
	    strchr(end + 1, ':') == NULL)
		return NULL;
	out = xcalloc(1, (size_t)(end - box));
	memcpy(out, box, (size_t)(end - box - 1));
	for (char *q = out; *q; q++)
		if (*q == '!')
			*q = '/';
	return out;
}
