/*
 * The fetch journal (journal.h): the file, its lock, group commit and
 * compaction, and the calls the fetcher makes. The record format and the
 * in-memory state are in journal-state.c.
 */
#include "store/journal-int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/log.h"

#define HDR_MAGIC     "CRLJ"
#define HDR_VERSION   1
#define HDR_LEN       8
#define COMPACT_SLACK 1000 /* records; spares small journals needless rewrites */

static int fail(char *err, size_t errlen, int res, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int res, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return res;
}

/* EROFS is temporary, as ENOSPC: a file system remounted read-only (after an
 * error, during maintenance) comes back without a change to the config, and
 * the daemon must then retry within its backoff, not an hour later. */
static int errno_result(int e)
{
	switch (e) {
	case EACCES:
	case EPERM:
	case ENOTDIR:
	case EISDIR:
	case ELOOP:
	case ENAMETOOLONG:
		return RES_CONFIG;
	default:
		return RES_TEMP;
	}
}

/* ---- files ---- */

static int write_all(int fd, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Account names become file names: bytes outside [A-Za-z0-9_@+-] and a leading dot as %XX. */
char *journal_account_base(const char *account)
{
	struct buf b;

	buf_init(&b, 3 * 200);
	for (const unsigned char *s = (const unsigned char *)account; *s; s++) {
		bool plain = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		             (*s >= '0' && *s <= '9') || strchr("_@+-", *s) ||
		             (*s == '.' && s != (const unsigned char *)account);

		if ((plain ? buf_putc(&b, (char)*s) : buf_printf(&b, "%%%02X", *s)) < 0) {
			buf_free(&b);
			return NULL;
		}
	}
	if (b.len == 0)
		return NULL;
	return buf_steal(&b, NULL);
}

static int lock_account(struct journal *j, const char *account, char *err, size_t errlen)
{
	j->lock_fd = open(j->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (j->lock_fd < 0)
		return fail(err, errlen, errno_result(errno), "%s: %s", j->lock_path,
		            strerror(errno));
	if (flock(j->lock_fd, LOCK_EX | LOCK_NB) == 0)
		return RES_OK;
	if (errno == EWOULDBLOCK)
		return fail(err, errlen, RES_BUSY,
		            "account %s is busy: another corral is fetching it (%s is locked)",
		            account, j->lock_path);
	return fail(err, errlen, errno_result(errno), "%s: flock: %s", j->lock_path,
	            strerror(errno));
}

static void header(unsigned char h[HDR_LEN])
{
	memcpy(h, HDR_MAGIC, 4);
	h[4] = HDR_VERSION;
	h[5] = h[6] = h[7] = 0;
}

/* Writes data as the new journal file: tmp file, fsync, rename, fsync dir. Returns its fd. */
static int replace_file(struct journal *j, const void *data, size_t len)
{
	int fd = open(j->tmp_path, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600), e;

	if (fd < 0)
		return -1;
	if (write_all(fd, data, len) < 0 || fdatasync(fd) < 0 || rename(j->tmp_path, j->path) < 0) {
		e = errno;
		close(fd);
		unlink(j->tmp_path);
		errno = e;
		return -1;
	}
	if (fs_fsync_dir(j->dir) < 0) {
		/* The rename may not be durable: appends to the new file could vanish. */
		e = errno;
		j->failed = true;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int open_file(struct journal *j, char *err, size_t errlen)
{
	unsigned char h[HDR_LEN];

	/* A compaction killed before its rename leaves this behind. */
	unlink(j->tmp_path);
	j->fd = open(j->path, O_RDWR | O_APPEND | O_CLOEXEC);
	if (j->fd < 0 && errno == ENOENT) {
		header(h);
		j->fd = replace_file(j, h, sizeof(h));
	}
	if (j->fd < 0)
		return fail(err, errlen, errno_result(errno), "%s: %s", j->path, strerror(errno));
	return RES_OK;
}

/* Maps the file read-only: replay reads it once, with no copy. */
static int map_file(struct journal *j, const unsigned char **data, size_t *len, char *err,
                    size_t errlen)
{
	static const unsigned char empty[1];
	struct stat st;
	void *p;

	if (fstat(j->fd, &st) < 0)
		return fail(err, errlen, errno_result(errno), "%s: %s", j->path, strerror(errno));
	if ((uint64_t)st.st_size > FILE_MAX)
		return fail(err, errlen, RES_CONFIG, "%s: larger than %zu bytes", j->path,
		            FILE_MAX);
	*len = (size_t)st.st_size;
	*data = empty;
	if (*len == 0)
		return RES_OK;
	p = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, j->fd, 0);
	if (p == MAP_FAILED)
		return fail(err, errlen, errno_result(errno), "%s: mmap: %s", j->path,
		            strerror(errno));
	*data = p;
	return RES_OK;
}

static int check_header(struct journal *j, const unsigned char *data, size_t len, char *err,
                        size_t errlen)
{
	unsigned char h[HDR_LEN];

	header(h);
	if (len < HDR_LEN && memcmp(data, h, len) == 0) {
		/* Empty or a header cut short: only ever a file made by hand; start afresh. */
		if (j->readonly)
			return RES_OK;
		if (ftruncate(j->fd, 0) < 0 || write_all(j->fd, h, sizeof(h)) < 0 ||
		    fdatasync(j->fd) < 0)
			return fail(err, errlen, errno_result(errno), "%s: %s", j->path,
			            strerror(errno));
		return RES_OK;
	}
	if (len < HDR_LEN || memcmp(data, HDR_MAGIC, 4) != 0)
		return fail(err, errlen, RES_CONFIG, "%s: not a corral journal", j->path);
	if (data[4] != HDR_VERSION || data[5] || data[6] || data[7])
		return fail(err, errlen, RES_CONFIG,
		            "%s: journal version %u, written by a newer corral?", j->path, data[4]);
	return RES_OK;
}

/* Replays the records; a torn or damaged tail is dropped from the file. */
static int replay(struct journal *j, const unsigned char *data, size_t len, char *err,
                  size_t errlen)
{
	size_t off = HDR_LEN, n;
	const char *why;

	while (off < len && (n = jr_rec_valid(data + off, len - off)) > 0) {
		if ((why = jr_apply(j, data + off + REC_HDR, n - REC_HDR)))
			return fail(err, errlen, RES_CONFIG, "%s: record at byte %zu: %s", j->path,
			            off, why);
		j->nrec++;
		off += n;
	}
	if (off < len) {
		log_warn("%s: dropping %zu bytes of torn or damaged records at byte %zu", j->path,
		         len - off, off);
		if (!j->readonly && (ftruncate(j->fd, (off_t)off) < 0 || fdatasync(j->fd) < 0))
			return fail(err, errlen, errno_result(errno), "%s: truncate: %s", j->path,
			            strerror(errno));
	}
	return RES_OK;
}

static int load(struct journal *j, char *err, size_t errlen)
{
	const unsigned char *data = NULL;
	size_t len = 0;
	int rc = map_file(j, &data, &len, err, errlen);

	if (rc != RES_OK)
		return rc;
	rc = check_header(j, data, len, err, errlen);
	if (rc == RES_OK && len >= HDR_LEN)
		rc = replay(j, data, len, err, errlen);
	if (len)
		munmap((void *)data, len);
	return rc;
}

static bool compact_due(const struct journal *j)
{
	return j->nrec > 2 * jr_live_records(j) + COMPACT_SLACK;
}

/* A dry run reads the journal as it is, without the lock (it changes
 * nothing), creating nothing: a missing file is an empty journal. */
static int open_readonly(struct journal *j, char *err, size_t errlen)
{
	j->readonly = true;
	j->fd = open(j->path, O_RDONLY | O_CLOEXEC);
	if (j->fd < 0 && errno == ENOENT)
		return RES_OK;
	if (j->fd < 0)
		return fail(err, errlen, errno_result(errno), "%s: %s", j->path, strerror(errno));
	return load(j, err, errlen);
}

/* Both opens: files named, then read-only or locked, made when missing, read. */
static struct journal *open_journal(const char *state_dir, const char *account, bool readonly,
                                    enum res_kind *res, char *err, size_t errlen)
{
	struct journal *j = xcalloc(1, sizeof(*j));
	char *base = journal_account_base(account), cerr[512];
	int rc;

	j->fd = j->lock_fd = -1;
	buf_init(&j->out, FILE_MAX);
	j->dir = xasprintf("%s/accounts", state_dir);
	if (!base) {
		rc = fail(err, errlen, RES_CONFIG, "bad account name '%s'", account);
	} else if (readonly) {
		j->path = xasprintf("%s/%s.journal", j->dir, base);
		rc = open_readonly(j, err, errlen);
	} else if (fs_mkdir_p(j->dir, 0700) < 0) {
		rc = fail(err, errlen, errno_result(errno), "%s: %s", j->dir, strerror(errno));
	} else {
		j->path = xasprintf("%s/%s.journal", j->dir, base);
		j->tmp_path = xasprintf("%s/%s.journal.tmp", j->dir, base);
		j->lock_path = xasprintf("%s/%s.lock", j->dir, base);
		rc = lock_account(j, account, err, errlen);
		if (rc == RES_OK)
			rc = open_file(j, err, errlen);
		if (rc == RES_OK)
			rc = load(j, err, errlen);
	}
	free(base);
	if (res)
		*res = (enum res_kind)rc;
	if (rc != RES_OK) {
		journal_close(j);
		return NULL;
	}
	if (compact_due(j) && journal_compact(j, cerr, sizeof(cerr)) != RES_OK)
		log_warn("%s", cerr);
	return j;
}

struct journal *journal_open_readonly(const char *state_dir, const char *account,
                                      enum res_kind *res, char *err, size_t errlen)
{
	return open_journal(state_dir, account, true, res, err, errlen);
}

struct journal *journal_open(const char *state_dir, const char *account, enum res_kind *res,
                             char *err, size_t errlen)
{
	return open_journal(state_dir, account, false, res, err, errlen);
}

void journal_close(struct journal *j)
{
	char err[512];

	if (!j)
		return;
	if (j->fd >= 0 && !j->failed && !j->readonly && j->out.len &&
	    journal_sync(j, err, sizeof(err)) != RES_OK)
		log_warn("%s", err);
	for (size_t i = 0; i < j->nfolders; i++)
		jr_folder_free(j->folders[i]);
	free(j->folders);
	buf_free(&j->out);
	if (j->fd >= 0)
		close(j->fd);
	/* Closing the lock file releases the flock. */
	if (j->lock_fd >= 0)
		close(j->lock_fd);
	free(j->dir);
	free(j->path);
	free(j->tmp_path);
	free(j->lock_path);
	free(j);
}

const char *journal_path(const struct journal *j)
{
	return j->path;
}

int journal_sync(struct journal *j, char *err, size_t errlen)
{
	char cerr[512];

	if (j->failed)
		return fail(err, errlen, RES_TEMP, "%s: failed earlier, reopen it", j->path);
	if (j->readonly)
		buf_reset(&j->out);
	if (j->out.len == 0)
		return RES_OK;
	if (write_all(j->fd, j->out.data, j->out.len) < 0 || fdatasync(j->fd) < 0) {
		/* After a failed write or fsync the file's state is unknown: reopen to recover. */
		j->failed = true;
		return fail(err, errlen, errno_result(errno), "%s: %s", j->path, strerror(errno));
	}
	buf_reset(&j->out);
	if (compact_due(j) && journal_compact(j, cerr, sizeof(cerr)) != RES_OK)
		log_warn("%s", cerr);
	return RES_OK;
}

int journal_compact(struct journal *j, char *err, size_t errlen)
{
	struct buf b;
	unsigned char h[HDR_LEN];
	int fd;

	if (j->readonly)
		return RES_OK;
	if (j->failed)
		return fail(err, errlen, RES_TEMP, "%s: failed earlier, reopen it", j->path);
	/* The live state is at most the records replayed and buffered, so it fits. */
	buf_init(&b, FILE_MAX + j->out.max);
	header(h);
	jr_put(&b, h, sizeof(h));
	jr_encode_state(j, &b);
	fd = replace_file(j, b.data, b.len);
	if (fd < 0) {
		buf_free(&b);
		return fail(err, errlen, errno_result(errno), "%s: compaction: %s", j->path,
		            strerror(errno));
	}
	close(j->fd);
	j->fd = fd;
	log_debug("%s: compacted %llu records into %llu", j->path, (unsigned long long)j->nrec,
	          (unsigned long long)jr_live_records(j));
	j->nrec = jr_live_records(j);
	/* What was buffered is in the new file already. */
	buf_reset(&j->out);
	buf_free(&b);
	jr_repack_ids(j);
	return RES_OK;
}

/* ---- folders and ids ---- */

struct journal_folder *journal_folder_find(struct journal *j, const char *name)
{
	for (size_t i = 0; i < j->nfolders; i++)
		if (strcmp(j->folders[i]->name, name) == 0)
			return j->folders[i];
	return NULL;
}

struct journal_folder *journal_folder(struct journal *j, const char *name, uint32_t uidvalidity,
                                      bool *changed)
{
	struct journal_folder *f = journal_folder_find(j, name);
	size_t len = strlen(name), off;

	if (changed)
		*changed = false;
	if (len < 1 || len > JOURNAL_NAME_MAX || j->failed || !jr_room(&j->out, 32 + len))
		return NULL;
	if (!f) {
		off = jr_rec_begin(&j->out, 'F');
		jr_put_int(&j->out, j->nfolders, 4);
		jr_put_int(&j->out, uidvalidity, 4);
		jr_put_int(&j->out, 0, 4);
		jr_put_str(&j->out, name, len, 2);
		jr_emit(j, off);
		return j->folders[j->nfolders - 1];
	}
	if (f->uidvalidity != uidvalidity) {
		log_info("%s: folder %s: UIDVALIDITY %u -> %u, refetching (dedupe by Message-ID)",
		         j->path, name, f->uidvalidity, uidvalidity);
		off = jr_rec_begin(&j->out, 'V');
		jr_put_int(&j->out, f->no, 4);
		jr_put_int(&j->out, uidvalidity, 4);
		jr_emit(j, off);
		if (changed)
			*changed = true;
	}
	return f;
}

const char *journal_folder_name(const struct journal_folder *f)
{
	return f->name;
}

uint32_t journal_uidvalidity(const struct journal_folder *f)
{
	return f->uidvalidity;
}

uint32_t journal_max_uid(const struct journal_folder *f)
{
	return f->uidmax;
}

size_t journal_count(const struct journal_folder *f)
{
	return f->n;
}

bool journal_seen(const struct journal_folder *f, const char *id)
{
	size_t len = strlen(id);
	const struct jent *e;

	if (len < 1 || len > JOURNAL_ID_MAX)
		return false;
	e = jr_ent_find(f, id, len);
	return e && (e->state == ST_DONE || e->state == ST_DELETED);
}

/* Checks an id and the room for a record of need bytes besides it. */
static int check_id(const struct journal_folder *f, const char *id, size_t need, char *err,
                    size_t errlen)
{
	size_t len = strlen(id);

	if (f->j->failed)
		return fail(err, errlen, RES_TEMP, "%s: failed earlier, reopen it", f->j->path);
	if (len < 1 || len > JOURNAL_ID_MAX)
		return fail(err, errlen, RES_CONFIG, "message id of %zu bytes (1 to %d)", len,
		            JOURNAL_ID_MAX);
	if (!jr_room(&f->j->out, REC_HDR + 16 + len + need))
		return fail(err, errlen, RES_TEMP, "%s: too much buffered, sync first", f->j->path);
	return RES_OK;
}

/* Size of the targets part of an intent record, or 0 when a target is over a cap. */
static size_t targets_size(const struct journal_target *t, size_t n)
{
	size_t need = 2;

	for (size_t i = 0; i < n; i++) {
		size_t fl = t[i].folder ? strlen(t[i].folder) : 0;
		size_t nl = t[i].name ? strlen(t[i].name) : 0;

		if (fl < 1 || fl > JOURNAL_NAME_MAX || nl < 1 || nl > JOURNAL_ID_MAX)
			return 0;
		need += 5 + fl + nl;
	}
	return need;
}

int journal_intent(struct journal_folder *f, const char *id, uint64_t msgid,
                   const struct journal_target *targets, size_t ntargets, char *err, size_t errlen)
{
	size_t need = ntargets <= JOURNAL_TARGETS_MAX ? targets_size(targets, ntargets) : 0, off;
	struct buf *b = &f->j->out;
	int rc;

	if (!need)
		return fail(err, errlen, RES_CONFIG,
		            "intent for %s: bad or too many targets (at most %d)", id,
		            JOURNAL_TARGETS_MAX);
	if ((rc = check_id(f, id, need, err, errlen)) != RES_OK)
		return rc;
	off = jr_rec_begin(b, 'I');
	jr_put_int(b, f->no, 4);
	jr_put_int(b, msgid, 8);
	jr_put_str(b, id, strlen(id), 1);
	jr_put_int(b, ntargets, 2);
	for (size_t i = 0; i < ntargets; i++) {
		jr_put_int(b, targets[i].kind, 1);
		jr_put_str(b, targets[i].folder, strlen(targets[i].folder), 2);
		jr_put_str(b, targets[i].name, strlen(targets[i].name), 2);
	}
	jr_emit(f->j, off);
	return RES_OK;
}

static int emit_done(struct journal_folder *f, const char *id, uint64_t msgid, char *err,
                     size_t errlen)
{
	struct buf *b = &f->j->out;
	size_t off;
	int rc = check_id(f, id, 0, err, errlen);

	if (rc != RES_OK)
		return rc;
	off = jr_rec_begin(b, 'D');
	jr_put_int(b, f->no, 4);
	jr_put_int(b, msgid, 8);
	jr_put_str(b, id, strlen(id), 1);
	jr_emit(f->j, off);
	return RES_OK;
}

int journal_done(struct journal_folder *f, const char *id, char *err, size_t errlen)
{
	size_t len = strlen(id);
	const struct jent *e = len >= 1 && len <= JOURNAL_ID_MAX ? jr_ent_find(f, id, len) : NULL;

	/* The Message-ID hash came with the intent. */
	return emit_done(f, id, e ? e->msgid : 0, err, errlen);
}

int journal_action(struct journal_folder *f, const char *id, size_t idx,
                   enum journal_outcome outcome, unsigned attempts, int64_t when, char *err,
                   size_t errlen)
{
	struct buf *b = &f->j->out;
	size_t off;
	int rc = check_id(f, id, 32, err, errlen);

	if (rc != RES_OK)
		return rc;
	if (idx >= JOURNAL_TARGETS_MAX || outcome > JOURNAL_RETRY || attempts > 0xffff)
		return fail(err, errlen, RES_CONFIG, "outcome for %s: bad action %zu", id, idx);
	off = jr_rec_begin(b, 'A');
	jr_put_outcome(b, f->no, id, strlen(id), idx, outcome, attempts, when);
	jr_emit(f->j, off);
	return RES_OK;
}

int journal_skip(struct journal_folder *f, const char *id, uint64_t msgid, char *err, size_t errlen)
{
	return emit_done(f, id, msgid, err, errlen);
}

/* Records an 'X' or 'G' record for id. */
static int emit_id(struct journal_folder *f, char kind, const char *id, char *err, size_t errlen)
{
	struct buf *b = &f->j->out;
	size_t off;
	int rc = check_id(f, id, 0, err, errlen);

	if (rc != RES_OK)
		return rc;
	off = jr_rec_begin(b, kind);
	jr_put_int(b, f->no, 4);
	jr_put_str(b, id, strlen(id), 1);
	jr_emit(f->j, off);
	return RES_OK;
}

int journal_deleted(struct journal_folder *f, const char *id, char *err, size_t errlen)
{
	return emit_id(f, 'X', id, err, errlen);
}

int journal_forget(struct journal_folder *f, const char *id, char *err, size_t errlen)
{
	return emit_id(f, 'G', id, err, errlen);
}

int journal_mark(struct journal_folder *f, const struct journal_mark *m, char *err, size_t errlen)
{
	size_t off;

	if (f->marked && memcmp(&f->mark, m, sizeof(*m)) == 0)
		return RES_OK;
	if (f->j->failed)
		return fail(err, errlen, RES_TEMP, "%s: failed earlier, reopen it", f->j->path);
	if (m->uidvalidity != f->uidvalidity || m->uidnext == 0 || m->highestmodseq == 0 ||
	    f->nintents > 0)
		return fail(err, errlen, RES_CONFIG, "folder %s: no mark while anything is open",
		            f->name);
	if (!jr_room(&f->j->out, REC_HDR + 32))
		return fail(err, errlen, RES_TEMP, "%s: too much buffered, sync first", f->j->path);
	off = jr_rec_begin(&f->j->out, 'M');
	jr_put_mark(&f->j->out, f->no, m);
	jr_emit(f->j, off);
	return RES_OK;
}

bool journal_marked(const struct journal_folder *f, struct journal_mark *m)
{
	if (f->marked)
		*m = f->mark;
	return f->marked;
}

/* Marks the listed ids; returns true when every one of them is seen. */
static bool mark_listed(struct journal_folder *f, const char *const *ids, size_t n)
{
	bool all_seen = true;

	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(ids[i]);
		struct jent *e =
		    len >= 1 && len <= JOURNAL_ID_MAX ? jr_ent_find(f, ids[i], len) : NULL;

		if (e)
			e->mark = 1;
		if (!e || (e->state != ST_DONE && e->state != ST_DELETED))
			all_seen = false;
	}
	return all_seen;
}

size_t journal_forget_missing(struct journal_folder *f, const char *const *ids, size_t n)
{
	bool all_seen = mark_listed(f, ids, n);
	size_t forgotten = 0, off;
	char id[JOURNAL_ID_MAX + 1];

	/* Downwards: forgetting entry i moves the last one into i, already visited. */
	for (size_t i = f->n; i-- > 0;) {
		struct jent *e = &f->ents[i];

		if (e->mark) {
			e->mark = 0;
			continue;
		}
		memcpy(id, jr_ent_id(f, e), e->id_len);
		id[e->id_len] = '\0';
		if (emit_id(f, 'G', id, NULL, 0) != RES_OK)
			all_seen = false;
		else
			forgotten++;
	}
	/* The refetch after a UIDVALIDITY change is over: its dedupe hashes are not needed. */
	if (all_seen && f->nlegacy && !f->j->failed && jr_room(&f->j->out, REC_HDR + 8)) {
		off = jr_rec_begin(&f->j->out, 'C');
		jr_put_int(&f->j->out, f->no, 4);
		jr_emit(f->j, off);
	}
	return forgotten;
}
