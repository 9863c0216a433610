/* The Message-ID store behind `dedupe:`: a hash set over an append-only file. */
#include "store/dedupe.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/log.h"

#define HEADER       "corral-dedupe 1\n"
#define LINE_MAX_LEN 64
#define READ_CHUNK   65536
#define PENDING_MAX  (16u << 20)
#define MSGID_MAX    998 /* a header line */
#define WINDOW_MAX   (100ULL * 366 * 86400)

struct slot {
	uint64_t hash; /* 0: empty */
	int64_t time;
};

struct dedupe {
	char *path;
	int fd;
	uint64_t window;
	time_t fixed_now;
	struct slot *tab;
	size_t cap; /* power of two */
	size_t count;
	size_t records; /* in the file, stale ones included */
	struct buf pending;
	size_t npending;
	bool readonly; /* dedupe_open_readonly(): nothing is ever written */
};

/* What a load found. */
struct load_stats {
	size_t live, dropped;
	off_t good_len; /* bytes up to the last complete line */
	bool header;
};

static int64_t now_of(const struct dedupe *d)
{
	return d->fixed_now ? (int64_t)d->fixed_now : (int64_t)time(NULL);
}

/* ---- hashing ---------------------------------------------------------- */

/* "<Left@Right>" -> "Left@right": brackets and white space off, domain lower-case. */
static size_t normalise(const char *id, char *out, size_t size)
{
	size_t len, at = (size_t)-1, n = 0;

	while (*id == ' ' || *id == '\t' || *id == '<')
		id++;
	len = strlen(id);
	while (len > 0 && (id[len - 1] == ' ' || id[len - 1] == '\t' || id[len - 1] == '\r' ||
	                   id[len - 1] == '\n' || id[len - 1] == '>'))
		len--;
	for (size_t i = 0; i < len && n + 1 < size; i++) {
		if (id[i] == '@')
			at = n;
		out[n++] = id[i];
	}
	out[n] = '\0';
	for (size_t i = at == (size_t)-1 ? n : at; i < n; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] - 'A' + 'a');
	return n;
}

/* FNV-1a, then a mixing step so that similar IDs spread over the table. */
static uint64_t hash_id(const char *msgid)
{
	char norm[MSGID_MAX + 1];
	size_t n = normalise(msgid, norm, sizeof(norm));
	uint64_t h = 0xcbf29ce484222325ULL;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)norm[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h ? h : 1;
}

/* ---- the set ---------------------------------------------------------- */

static struct slot *find(const struct dedupe *d, uint64_t h)
{
	size_t i = (size_t)h & (d->cap - 1);

	while (d->tab[i].hash != 0 && d->tab[i].hash != h)
		i = (i + 1) & (d->cap - 1);
	return &d->tab[i];
}

static void insert(struct dedupe *d, uint64_t h, int64_t t);

static void grow(struct dedupe *d)
{
	struct slot *old = d->tab;
	size_t oldcap = d->cap;

	d->cap = oldcap ? oldcap * 2 : 1024;
	d->tab = xcalloc(d->cap, sizeof(*d->tab));
	d->count = 0;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].hash)
			insert(d, old[i].hash, old[i].time);
	free(old);
}

static void insert(struct dedupe *d, uint64_t h, int64_t t)
{
	struct slot *s;

	if ((d->count + 1) * 2 > d->cap)
		grow(d);
	s = find(d, h);
	if (s->hash == 0) {
		s->hash = h;
		s->time = t;
		d->count++;
	} else if (t > s->time) {
		s->time = t;
	}
}

static void clear_set(struct dedupe *d)
{
	free(d->tab);
	d->tab = NULL;
	d->cap = 0;
	d->count = 0;
	grow(d);
}

/* ---- the file --------------------------------------------------------- */

/* "TIME HASH": strict, so that a torn or garbled record is refused. */
static bool parse_record(const char *line, size_t len, int64_t *t, uint64_t *h)
{
	char tmp[LINE_MAX_LEN + 1], *end;
	unsigned long long tv, hv;

	if (len == 0 || len > LINE_MAX_LEN || line[0] < '0' || line[0] > '9')
		return false;
	memcpy(tmp, line, len);
	tmp[len] = '\0';
	errno = 0;
	tv = strtoull(tmp, &end, 10);
	if (errno || *end != ' ' || end[1] == '\0' || end[1] == '-' || end[1] == '+' ||
	    strlen(end + 1) != 16)
		return false;
	hv = strtoull(end + 1, &end, 16);
	if (errno || *end != '\0' || hv == 0 || tv > INT64_MAX)
		return false;
	*t = (int64_t)tv;
	*h = hv;
	return true;
}

static void load_line(struct dedupe *d, const char *line, size_t len, struct load_stats *st)
{
	int64_t t;
	uint64_t h;

	if (st->good_len == 0 && len + 1 == strlen(HEADER) && memcmp(line, HEADER, len) == 0) {
		st->header = true;
		return;
	}
	d->records++;
	if (!parse_record(line, len, &t, &h) || t + (int64_t)d->window < now_of(d)) {
		st->dropped++;
		return;
	}
	insert(d, h, t);
	st->live++;
}

/* Reads every complete line from the start; a torn tail is not counted. */
static int load(struct dedupe *d, struct load_stats *st)
{
	char *chunk = xmalloc(READ_CHUNK), line[LINE_MAX_LEN + 1];
	size_t llen = 0;
	bool longline = false;
	off_t off = 0;
	ssize_t r;

	memset(st, 0, sizeof(*st));
	while ((r = pread(d->fd, chunk, READ_CHUNK, off)) > 0) {
		for (ssize_t i = 0; i < r; i++) {
			if (chunk[i] != '\n') {
				if (llen < LINE_MAX_LEN)
					line[llen++] = chunk[i];
				else
					longline = true;
				continue;
			}
			if (longline) {
				d->records++;
				st->dropped++;
			} else {
				load_line(d, line, llen, st);
			}
			st->good_len = off + i + 1;
			llen = 0;
			longline = false;
		}
		off += r;
	}
	free(chunk);
	return r < 0 ? -1 : 0;
}

static int fsync_dir_of(const char *path)
{
	char *copy = xstrdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	free(copy);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The live records only: new file, fsync, rename, fsync of the directory. */
static int rewrite(struct dedupe *d, char *err, size_t errlen)
{
	char *tmp = xasprintf("%s.tmp", d->path);
	int64_t oldest = now_of(d) - (int64_t)d->window;
	struct buf b;
	int fd, rc = -1;

	buf_init(&b, (size_t)-1 / 2);
	buf_puts(&b, HEADER);
	d->records = 0;
	for (size_t i = 0; i < d->cap; i++)
		if (d->tab[i].hash && d->tab[i].time >= oldest) {
			buf_printf(&b, "%" PRId64 " %016" PRIx64 "\n", d->tab[i].time,
			           d->tab[i].hash);
			d->records++;
		}
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0 && write_all(fd, buf_cstr(&b), b.len) == 0 && fsync(fd) == 0 &&
	    rename(tmp, d->path) == 0) {
		fsync_dir_of(d->path);
		/* Holders of the old file notice the new inode when they next sync. */
		close(d->fd);
		d->fd = fd;
		fd = -1;
		rc = 0;
	} else {
		snprintf(err, errlen, "%s: cannot rewrite: %s", d->path, strerror(errno));
		unlink(tmp);
	}
	if (fd >= 0)
		close(fd);
	buf_free(&b);
	free(tmp);
	return rc;
}

/* Locks the file at path, reopening it when another process replaced it. */
static int lock_current(struct dedupe *d)
{
	for (int tries = 0; tries < 8; tries++) {
		struct stat a, b;

		while (flock(d->fd, LOCK_EX) < 0)
			if (errno != EINTR)
				return -1;
		if (fstat(d->fd, &a) == 0 && stat(d->path, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev)
			return 0;
		close(d->fd);
		d->fd = open(d->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (d->fd < 0)
			return -1;
	}
	errno = EAGAIN;
	return -1;
}

static void unlock(struct dedupe *d)
{
	flock(d->fd, LOCK_UN);
}

/* Loads the file; rewrites it when most of it is stale, cuts a torn tail. */
static int load_and_tidy(struct dedupe *d, char *err, size_t errlen)
{
	struct load_stats st;
	struct stat sb;

	if (load(d, &st) < 0 || fstat(d->fd, &sb) < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", d->path, strerror(errno));
		return -1;
	}
	if (st.good_len > 0 && !st.header) {
		snprintf(err, errlen, "%s: not a corral dedupe file", d->path);
		return -1;
	}
	if (st.dropped > st.live)
		return rewrite(d, err, errlen);
	if (sb.st_size > st.good_len && ftruncate(d->fd, st.good_len) < 0) {
		snprintf(err, errlen, "%s: cannot cut a torn record: %s", d->path, strerror(errno));
		return -1;
	}
	if (st.good_len == 0 &&
	    (write_all(d->fd, HEADER, strlen(HEADER)) < 0 || fsync(d->fd) < 0)) {
		snprintf(err, errlen, "%s: cannot write: %s", d->path, strerror(errno));
		return -1;
	}
	return 0;
}

struct dedupe *dedupe_open(const char *path, uint64_t window_s, char *err, size_t errlen)
{
	return dedupe_open_at(path, window_s, 0, err, errlen);
}

static struct dedupe *dedupe_new(const char *path, uint64_t window_s, time_t now)
{
	struct dedupe *d = xcalloc(1, sizeof(*d));

	d->fixed_now = now;
	d->path = xstrdup(path);
	d->window = window_s > WINDOW_MAX ? WINDOW_MAX : window_s;
	buf_init(&d->pending, PENDING_MAX);
	clear_set(d);
	return d;
}

struct dedupe *dedupe_open_readonly(const char *path, uint64_t window_s, char *err, size_t errlen)
{
	struct dedupe *d = dedupe_new(path, window_s, 0);
	struct load_stats st;

	d->readonly = true;
	d->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (d->fd < 0 && errno == ENOENT)
		return d; /* nothing delivered yet: nothing seen */
	/* A shared lock: no writer is halfway through a rewrite while it is read. */
	if (d->fd < 0 || flock(d->fd, LOCK_SH) < 0 || load(d, &st) < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		dedupe_close(d, NULL, 0);
		return NULL;
	}
	flock(d->fd, LOCK_UN);
	return d;
}

struct dedupe *dedupe_open_at(const char *path, uint64_t window_s, time_t now, char *err,
                              size_t errlen)
{
	struct dedupe *d = dedupe_new(path, window_s, now);

	d->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (d->fd < 0 || lock_current(d) < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		dedupe_close(d, NULL, 0);
		return NULL;
	}
	if (load_and_tidy(d, err, errlen) < 0) {
		unlock(d);
		dedupe_close(d, NULL, 0);
		return NULL;
	}
	unlock(d);
	return d;
}

bool dedupe_seen(struct dedupe *d, const char *msgid)
{
	uint64_t h = msgid ? hash_id(msgid) : 0;
	const struct slot *s;

	if (h == 0)
		return false;
	s = find(d, h);
	return s->hash == h && s->time + (int64_t)d->window >= now_of(d);
}

void dedupe_add(struct dedupe *d, const char *msgid)
{
	uint64_t h = msgid ? hash_id(msgid) : 0;
	int64_t now = now_of(d);

	if (h == 0)
		return;
	insert(d, h, now);
	if (buf_printf(&d->pending, "%" PRId64 " %016" PRIx64 "\n", now, h) < 0)
		log_warn("%s: too many records waiting for a sync; one is not kept", d->path);
	else
		d->npending++;
}

/* Rereads the file (other writers' records too) and writes it anew. */
static int compact(struct dedupe *d, char *err, size_t errlen)
{
	struct load_stats st;

	clear_set(d);
	d->records = 0;
	if (load(d, &st) < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", d->path, strerror(errno));
		return -1;
	}
	return rewrite(d, err, errlen);
}

int dedupe_sync(struct dedupe *d, char *err, size_t errlen)
{
	off_t end;
	int rc = 0;

	if (d->pending.len == 0)
		return 0;
	if (lock_current(d) < 0) {
		snprintf(err, errlen, "%s: cannot lock: %s", d->path, strerror(errno));
		return -1;
	}
	end = lseek(d->fd, 0, SEEK_END);
	if (end < 0 || write_all(d->fd, d->pending.data, d->pending.len) < 0 || fsync(d->fd) < 0) {
		snprintf(err, errlen, "%s: cannot write: %s", d->path, strerror(errno));
		/* No torn record may stay for our next append to run into. */
		if (end >= 0 && ftruncate(d->fd, end) < 0)
			log_warn("%s: cannot cut a partial write: %s", d->path, strerror(errno));
		unlock(d);
		return -1;
	}
	d->records += d->npending;
	buf_reset(&d->pending);
	d->npending = 0;
	if (d->records > 2 * d->count + 1024)
		rc = compact(d, err, errlen);
	unlock(d);
	return rc;
}

int dedupe_close(struct dedupe *d, char *err, size_t errlen)
{
	char local[256];
	int rc = 0;

	if (d == NULL)
		return 0;
	if (err == NULL) {
		err = local;
		errlen = sizeof(local);
	}
	if (d->fd >= 0 && !d->readonly)
		rc = dedupe_sync(d, err, errlen);
	if (d->fd >= 0)
		close(d->fd);
	buf_free(&d->pending);
	free(d->tab);
	free(d->path);
	free(d);
	return rc;
}

size_t dedupe_count(const struct dedupe *d)
{
	int64_t oldest = now_of(d) - (int64_t)d->window;
	size_t n = 0;

	for (size_t i = 0; i < d->cap; i++)
		if (d->tab[i].hash && d->tab[i].time >= oldest)
			n++;
	return n;
}

void dedupe_set_now(struct dedupe *d, time_t now)
{
	d->fixed_now = now;
}
