/*
 * Messages already on disk: whole files, mbox files (mboxrd), Maildir
 * folders (see mbox.h for the contract).
 */
#include "store/mbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/maildir.h"
#include "util/buf.h"
#include "util/log.h"
#include "mail/flags.h"

/* ---- whole files ---- */

static int read_all(int fd, char *p, size_t want, size_t *got)
{
	*got = 0;
	while (*got < want) {
		ssize_t n = read(fd, p + *got, want - *got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break; /* the file shrank meanwhile: take what is there */
		*got += (size_t)n;
	}
	return 0;
}

int mfile_read(const char *path, struct mfile *f, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	f->data = NULL;
	f->len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: %s", path,
		         S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
		close(fd);
		return -1;
	}
	if ((uint64_t)st.st_size > MFILE_MAX) {
		snprintf(err, errlen, "%s: too large (%lld bytes; at most %zu)", path,
		         (long long)st.st_size, MFILE_MAX);
		close(fd);
		return -1;
	}
	f->data = xmalloc((size_t)st.st_size + 1);
	if (read_all(fd, f->data, (size_t)st.st_size, &f->len) < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		close(fd);
		mfile_free(f);
		return -1;
	}
	f->data[f->len] = '\0';
	close(fd);
	return 0;
}

void mfile_free(struct mfile *f)
{
	free(f->data);
	f->data = NULL;
	f->len = 0;
}

/* ---- mbox ---- */

struct mbox {
	const char *data;
	size_t len;
	size_t pos; /* start of the next separator line, or len */
	size_t index;
	bool is_mbox;
	struct buf copy; /* the unquoted copy of the current message, when needed */
};

bool mbox_sniff(const char *data, size_t len)
{
	return len >= 5 && memcmp(data, "From ", 5) == 0;
}

struct mbox *mbox_new(const char *data, size_t len)
{
	struct mbox *mb = xcalloc(1, sizeof(*mb));

	mb->data = data;
	mb->len = len;
	mb->is_mbox = mbox_sniff(data, len);
	return mb;
}

size_t mbox_index(const struct mbox *mb)
{
	return mb->index;
}

bool mbox_is_mbox(const struct mbox *mb)
{
	return mb->is_mbox;
}

void mbox_close(struct mbox *mb)
{
	if (mb == NULL)
		return;
	buf_free(&mb->copy);
	free(mb);
}

/* Offset just past the line starting at p (past its LF, or len). */
static size_t line_end(const struct mbox *mb, size_t p)
{
	const char *nl = memchr(mb->data + p, '\n', mb->len - p);

	return nl != NULL ? (size_t)(nl - mb->data) + 1 : mb->len;
}

/* Bytes of the empty line just before the line at pos (LF 1, CRLF 2), or 0. */
static size_t blank_before(const struct mbox *mb, size_t start, size_t pos)
{
	const char *d = mb->data;

	if (pos - start >= 1 && d[pos - 1] == '\n' && (pos - 1 == start || d[pos - 2] == '\n'))
		return 1;
	if (pos - start >= 2 && d[pos - 1] == '\n' && d[pos - 2] == '\r' &&
	    (pos - 2 == start || d[pos - 3] == '\n'))
		return 2;
	return 0;
}

/* mboxrd quoting: ">From ", ">>From "... */
static bool is_quoted_from(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && s[i] == '>')
		i++;
	return i > 0 && n - i >= 5 && memcmp(s + i, "From ", 5) == 0;
}

/* True when a line of data[start..end) is a quoted ">From " (needs unquoting). */
static bool has_quoted(const struct mbox *mb, size_t start, size_t end)
{
	const char *d = mb->data, *q;
	size_t p = start;

	while (p < end && (q = memmem(d + p, end - p, ">From ", 6)) != NULL) {
		size_t ls = (size_t)(q - d);

		while (ls > start && d[ls - 1] == '>')
			ls--;
		if (ls == start || d[ls - 1] == '\n')
			return true;
		p = (size_t)(q - d) + 6;
	}
	return false;
}

/*
 * Finds the end of the message starting at start: sets *end (the empty line
 * before the next separator excluded), mb->pos (that separator) and
 * *quoted (some line needs unquoting). memmem() rather than a walk over
 * every line: an mbox is mostly message bodies.
 */
static void scan_message(struct mbox *mb, size_t start, size_t *end, bool *quoted)
{
	const char *q;
	size_t p = start, bl;

	mb->pos = mb->len;
	*end = mb->len;
	while (p < mb->len && (q = memmem(mb->data + p, mb->len - p, "\nFrom ", 6)) != NULL) {
		p = (size_t)(q - mb->data) + 1;
		if ((bl = blank_before(mb, start, p)) > 0) {
			*end = p - bl;
			mb->pos = p;
			break;
		}
	}
	/* The writer's empty line after the last message is not part of it either. */
	if (mb->pos == mb->len)
		*end = mb->len - blank_before(mb, start, mb->len);
	*quoted = has_quoted(mb, start, *end);
}

/* Copies data[start..end) into mb->copy with one '>' taken off each quoted "From ". */
static void unquote(struct mbox *mb, size_t start, size_t end)
{
	/* Reuses the previous message's allocation; the cap is this message's size. */
	buf_reset(&mb->copy);
	mb->copy.max = end - start;
	for (size_t p = start; p < end;) {
		const char *nl = memchr(mb->data + p, '\n', end - p);
		size_t e = nl != NULL ? (size_t)(nl - mb->data) + 1 : end;
		size_t skip = is_quoted_from(mb->data + p, e - p) ? 1 : 0;

		/* Cannot fail: the copy is never longer than the original. */
		if (buf_append(&mb->copy, mb->data + p + skip, e - p - skip) < 0)
			fatal("mbox: unquoted copy past its cap");
		p = e;
	}
}

int mbox_next(struct mbox *mb, const char **msg, size_t *len)
{
	size_t start, end;
	bool quoted;

	if (!mb->is_mbox) {
		if (mb->index > 0)
			return 0;
		mb->index = 1;
		*msg = mb->data;
		*len = mb->len;
		return 1;
	}
	if (mb->pos >= mb->len)
		return 0;
	start = line_end(mb, mb->pos);
	scan_message(mb, start, &end, &quoted);
	mb->index++;
	if (!quoted) {
		*msg = mb->data + start;
		*len = end - start;
		return 1;
	}
	unquote(mb, start, end);
	*msg = buf_cstr(&mb->copy);
	*len = mb->copy.len;
	return 1;
}

/* ---- Maildir folders ---- */

static bool is_dir_at(const char *dir, const char *sub)
{
	char path[4096];
	struct stat st;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, sub) >= sizeof(path))
		return false;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool mdir_is_folder(const char *path)
{
	return is_dir_at(path, "new") && is_dir_at(path, "cur");
}

static void entry_fill(struct mdir_entry *e, const char *dir, const char *sub, const char *file)
{
	const char *colon = strchr(file, ':');

	e->path = xasprintf("%s/%s/%s", dir, sub, file);
	e->file = xstrdup(file);
	e->base = colon != NULL ? xstrndup(file, (size_t)(colon - file)) : xstrdup(file);
	e->info = colon != NULL && strncmp(colon, ":2,", 3) == 0 ? xstrdup(colon + 3) : NULL;
	e->flags = mail_flags_from_letters(e->info);
	e->in_cur = strcmp(sub, "cur") == 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct mdir_entry *)a)->file, ((const struct mdir_entry *)b)->file);
}

/* Appends the files of dir/sub to out, sorted. */
static int list_sub(const char *dir, const char *sub, struct mdir_list *out, size_t *cap, char *err,
                    size_t errlen)
{
	char path[4096];
	struct dirent *de;
	size_t first = out->n;
	DIR *dp;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if ((dp = opendir(path)) == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.' || de->d_type == DT_DIR)
			continue;
		if (out->n >= MDIR_MAX_FILES) {
			snprintf(err, errlen, "%s: more than %d files", dir, MDIR_MAX_FILES);
			closedir(dp);
			return -1;
		}
		out->v = xreallocarray_grow(out->v, cap, out->n + 1, sizeof(*out->v));
		entry_fill(&out->v[out->n++], dir, sub, de->d_name);
	}
	closedir(dp);
	if (out->n > first)
		qsort(out->v + first, out->n - first, sizeof(*out->v), cmp_entry);
	return 0;
}

int mdir_list(const char *dir, struct mdir_list *out, char *err, size_t errlen)
{
	size_t cap = 0;

	out->v = NULL;
	out->n = 0;
	if (list_sub(dir, "new", out, &cap, err, errlen) < 0 ||
	    list_sub(dir, "cur", out, &cap, err, errlen) < 0) {
		mdir_list_free(out);
		return -1;
	}
	return 0;
}

void mdir_list_free(struct mdir_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].file);
		free(l->v[i].base);
		free(l->v[i].info);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
