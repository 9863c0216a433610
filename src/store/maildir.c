/*
 * Durable Maildir++ delivery (see mail/flags.h for the contract).
 *
 * Every path below the root is used relative to the root's directory fd, so
 * the hot path builds short strings and never re-resolves the root.
 */
#include "store/maildir.h"
#include "store/maildir-int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/str.h"
#include "mail/flags.h"

/*
 * Up to this many message files, fsync each one; past it, one syncfs().
 * Measured on ext4 (10 KB files): 1 file 0.33 ms either way, 8 files 1.8 ms
 * vs 0.36 ms, 64 files 13.8 ms vs 1.3 ms. But syncfs also writes everyone
 * else's dirty data (115 ms with 200 MB pending), so a small batch (the MDA
 * case) keeps the cost it can bound.
 */
#define MD_FSYNC_MAX 8
/* Deliveries (and tmp files) one batch may hold: the fetcher uses ~256. */
#define MD_BATCH_MAX 10000
#define MD_ALL_FLAGS 0x3fu

struct md_tmp {
	char *path;   /* as given or as made by md_tmp_create */
	size_t uses;  /* deliveries scheduled from this file */
	bool foreign; /* a message file of the caller's (refile): never unlinked here */
};

struct md_delivery {
	size_t tmp;    /* index into tmps */
	char *dest;    /* relative to the root: "new/NAME", ".A.B/cur/NAME:2,S" */
	size_t dirlen; /* length of the folder dir prefix ("" for the root) */
	int linked;
};

struct md_batch {
	struct maildir *md;
	struct md_tmp *tmps;
	size_t ntmps, captmps;
	struct md_delivery *dl;
	size_t ndl, capdl;
	bool crash_mid_link; /* crash tests: md_batch_crash_mid_link() */
};

static const char *const md_subdirs[] = {"tmp", "new", "cur"};

static __attribute__((format(printf, 4, 5))) int fail(char *err, size_t errlen, int result,
                                                      const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return result;
}

int md_fail_errno(const struct maildir *md, int e, const char *what, const char *rel, char *err,
                  size_t errlen)
{
	bool abs = rel[0] == '/' || md == NULL;

	return fail(err, errlen, md_errno_result(e), "%s %s%s%s: %s", what, abs ? "" : md->root,
	            abs ? "" : "/", rel, strerror(e));
}

int md_errno_result(int err)
{
	switch (err) {
	case 0:
		return RES_OK;
	case EACCES:
	case EPERM:
	case ENOTDIR:
	case EISDIR:
	case EROFS:
	case ENAMETOOLONG:
	case ELOOP:
	case EXDEV:
		return RES_PERM;
	default:
		/* ENOSPC, EDQUOT, EIO, EMFILE, ENOENT...: retrying loses nothing. */
		return RES_TEMP;
	}
}

/* ---- file names ---- */

/* The host part of a name: "/" and ":" would break the path and the info,
 * "," would start a field (",S="), as Dovecot escapes them. */
static void host_escape(char *out, size_t outlen)
{
	char h[256];
	size_t o = 0;

	if (gethostname(h, sizeof(h)) != 0 || h[0] == '\0')
		strcpy(h, "localhost");
	h[sizeof(h) - 1] = '\0';
	for (const char *s = h; *s != '\0'; s++) {
		const char *rep = *s == '/'   ? "\\057"
		                  : *s == ':' ? "\\072"
		                  : *s == ',' ? "\\054"
		                              : NULL;
		size_t n = rep != NULL ? 4 : 1;

		if (o + n >= outlen)
			break;
		memcpy(out + o, rep != NULL ? rep : s, n);
		o += n;
	}
	out[o] = '\0';
}

/*
 * "SECS.MusecPpidQseq[Lkey].HOST" + suffix, the one way Maildir names are
 * made: a tmp file names its writer's lock key (maildir-tmp.c), a delivered
 * file none. getpid() each time: a forked child inherits seq, so its pid is
 * what keeps its names apart. seq has six digits at least, so that names
 * made within one microsecond sort in the order they were made (a COPY
 * keeps the source's UID order).
 */
static void base_name(char *out, size_t outlen, unsigned long seq, const char *key,
                      const char *host, const char *suffix)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	snprintf(out, outlen, "%lld.M%06ldP%ldQ%06lu%s%s.%s%s", (long long)tv.tv_sec,
	         (long)tv.tv_usec, (long)getpid(), seq, *key != '\0' ? "L" : "", key, host, suffix);
}

static void md_unique(struct maildir *md, char *out, size_t outlen, const char *key,
                      const char *suffix)
{
	base_name(out, outlen, ++md->seq, key, md->host, suffix);
}

char *md_new_base(unsigned long seq, const char *suffix)
{
	char host[MD_HOST_MAX + 1], out[NAME_MAX + 1];

	host_escape(host, sizeof(host));
	base_name(out, sizeof(out), seq, "", host, suffix);
	return xstrdup(out);
}

/* ---- directories ---- */

int md_fsync_dir_at(int dirfd, const char *rel, const struct maildir *md, char *err, size_t errlen)
{
	int fd = openat(dirfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int e;

	if (fd < 0)
		return md_fail_errno(md, errno, "cannot open", rel, err, errlen);
	if (fsync(fd) < 0) {
		e = errno;
		close(fd);
		return md_fail_errno(md, e, "cannot fsync", rel, err, errlen);
	}
	close(fd);
	return RES_OK;
}

/* mkdir -p with mode 0700, fsyncing the parent of every directory made. */
static int mkdir_p(const char *path, char *err, size_t errlen)
{
	if (fs_mkdir_p(path, 0700) < 0)
		return md_fail_errno(NULL, errno, "cannot create", path, err, errlen);
	return RES_OK;
}

/* mkdir relative to the root; an existing entry must be a directory. */
static int mkdir_at(struct maildir *md, const char *rel, bool *created, char *err, size_t errlen)
{
	struct stat st;

	if (mkdirat(md->root_fd, rel, 0700) == 0) {
		*created = true;
		return RES_OK;
	}
	if (errno != EEXIST)
		return md_fail_errno(md, errno, "cannot create", rel, err, errlen);
	/* A symbolic link may lead out of the Maildir: not followed (SECURITY.md). */
	if (fstatat(md->root_fd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return md_fail_errno(md, errno, "cannot stat", rel, err, errlen);
	if (S_ISLNK(st.st_mode))
		return md_fail_errno(md, ELOOP, "will not follow the symbolic link", rel, err,
		                     errlen);
	if (!S_ISDIR(st.st_mode))
		return md_fail_errno(md, ENOTDIR, "cannot use", rel, err, errlen);
	return RES_OK;
}

static int touch_at(struct maildir *md, const char *rel, bool *created, char *err, size_t errlen)
{
	int fd = openat(md->root_fd, rel, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd >= 0) {
		*created = true;
		close(fd);
		return RES_OK;
	}
	if (errno == EEXIST)
		return RES_OK;
	return md_fail_errno(md, errno, "cannot create", rel, err, errlen);
}

/*
 * Makes dir ("" = the root) a maildir: tmp/ new/ cur/ (+ maildirfolder for
 * a folder). Each directory that gained an entry is fsynced, the folder
 * itself before the root, so a folder made in a batch survives a crash.
 */
static int make_maildir(struct maildir *md, const char *dir, char *err, size_t errlen)
{
	char rel[MD_REL_MAX];
	bool made_dir = false, made_sub = false;
	const char *sep = *dir != '\0' ? "/" : "";
	int r = RES_OK;

	if (*dir != '\0')
		r = mkdir_at(md, dir, &made_dir, err, errlen);
	for (size_t i = 0; i < 3 && r == RES_OK; i++) {
		snprintf(rel, sizeof(rel), "%s%s%s", dir, sep, md_subdirs[i]);
		r = mkdir_at(md, rel, &made_sub, err, errlen);
	}
	if (r == RES_OK && *dir != '\0') {
		snprintf(rel, sizeof(rel), "%s/maildirfolder", dir);
		r = touch_at(md, rel, &made_sub, err, errlen);
	}
	if (r == RES_OK && made_sub)
		r = md_fsync_dir_at(md->root_fd, *dir != '\0' ? dir : ".", md, err, errlen);
	if (r == RES_OK && made_dir)
		r = md_fsync_dir_at(md->root_fd, ".", md, err, errlen);
	return r;
}

static bool folder_known(const struct maildir *md, const char *dir, size_t n)
{
	for (size_t i = 0; i < md->nknown; i++)
		if (strncmp(md->known[i], dir, n) == 0 && md->known[i][n] == '\0')
			return true;
	return false;
}

static void folder_forget(struct maildir *md, const char *dir, size_t n)
{
	for (size_t i = 0; i < md->nknown; i++) {
		if (strncmp(md->known[i], dir, n) == 0 && md->known[i][n] == '\0') {
			free(md->known[i]);
			md->known[i] = md->known[--md->nknown];
			return;
		}
	}
}

/* A complete folder already: its tmp/ new/ cur/ and maildirfolder exist. */
static bool folder_complete(const struct maildir *md, const char *dir)
{
	static const char *const parts[] = {"new", "cur", "tmp", "maildirfolder"};
	char rel[MD_REL_MAX];
	struct stat st;

	for (size_t i = 0; i < 4; i++) {
		snprintf(rel, sizeof(rel), "%s/%s", dir, parts[i]);
		if (fstatat(md->root_fd, rel, &st, 0) < 0 || (i < 3 && !S_ISDIR(st.st_mode)))
			return false;
	}
	return true;
}

static void folder_remember(struct maildir *md, const char *dir)
{
	md->known =
	    xreallocarray_grow(md->known, &md->capknown, md->nknown + 1, sizeof(*md->known));
	md->known[md->nknown++] = xstrdup(dir);
}

/*
 * Creates ".A", then ".A.B" (Maildir++ needs no parents, but clients show
 * them), after bringing each level an older corral spelled in raw UTF-8
 * (legacy) under its name today: once per handle, and never a stat for a
 * name that is plain ASCII (both spellings are the same).
 */
static int ensure_folder(struct maildir *md, const char *dir, const char *legacy, char *err,
                         size_t errlen)
{
	size_t len = strlen(dir);
	char prefix[NAME_MAX + 1];
	int r;

	if (len == 0 || folder_known(md, dir, len))
		return RES_OK;
	if ((r = md_upgrade_levels(md, dir, legacy, err, errlen)) != RES_OK)
		return r;
	/* The usual case, and every time in `deliver`: the folder is there (4 stats, not 20 calls).
	 */
	if (folder_complete(md, dir)) {
		folder_remember(md, dir);
		return RES_OK;
	}
	for (size_t n = 1; n <= len; n++) {
		if (n < len && dir[n] != '.')
			continue;
		if (folder_known(md, dir, n))
			continue;
		memcpy(prefix, dir, n);
		prefix[n] = '\0';
		if ((r = make_maildir(md, prefix, err, errlen)) != RES_OK)
			return r;
		folder_remember(md, prefix);
	}
	return RES_OK;
}

/* ---- the handle ---- */

static int check_writable(struct maildir *md, char *err, size_t errlen)
{
	for (size_t i = 0; i < 3; i++)
		if (faccessat(md->root_fd, md_subdirs[i], W_OK | X_OK, AT_EACCESS) < 0)
			return md_fail_errno(md, errno, "cannot write to", md_subdirs[i], err,
			                     errlen);
	return RES_OK;
}

struct maildir *maildir_open(const char *root, char *err, size_t errlen)
{
	struct maildir *md;
	size_t n;
	int fd, e;

	if (root == NULL || *root == '\0') {
		fail(err, errlen, RES_PERM, "maildir: empty path");
		errno = EINVAL;
		return NULL;
	}
	/* Only a missing root costs the mkdir -p walk. */
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && mkdir_p(root, err, errlen) != RES_OK)
		return NULL;
	if (fd < 0 && (fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		e = errno;
		md_fail_errno(NULL, e, "cannot open maildir", root, err, errlen);
		errno = e;
		return NULL;
	}
	md = xcalloc(1, sizeof(*md));
	md->root = xstrdup(root);
	for (n = strlen(md->root); n > 1 && md->root[n - 1] == '/'; n--)
		md->root[n - 1] = '\0';
	md->root_fd = fd;
	md->lock_fd = -1;
	host_escape(md->host, sizeof(md->host));
	if (make_maildir(md, "", err, errlen) != RES_OK ||
	    check_writable(md, err, errlen) != RES_OK) {
		e = errno;
		maildir_close(md);
		errno = e;
		return NULL;
	}
	return md;
}

const char *maildir_host(const struct maildir *md)
{
	return md->host;
}

void maildir_close(struct maildir *md)
{
	if (md == NULL)
		return;
	md_writer_release(md);
	close(md->root_fd);
	for (size_t i = 0; i < md->nknown; i++)
		free(md->known[i]);
	free(md->known);
	free(md->root);
	free(md);
}

const char *maildir_root(const struct maildir *md)
{
	return md->root;
}

/* ---- batches ---- */

void md_batch_crash_mid_link(struct md_batch *b)
{
	b->crash_mid_link = true;
}

struct md_batch *md_batch_new(struct maildir *md)
{
	struct md_batch *b = xcalloc(1, sizeof(*b));

	b->md = md;
	return b;
}

size_t md_batch_count(const struct md_batch *b)
{
	return b->ndl;
}

static size_t tmp_append(struct md_batch *b, const char *path)
{
	b->tmps = xreallocarray_grow(b->tmps, &b->captmps, b->ntmps + 1, sizeof(*b->tmps));
	b->tmps[b->ntmps].path = xstrdup(path);
	b->tmps[b->ntmps].uses = 0;
	b->tmps[b->ntmps].foreign = false;
	return b->ntmps++;
}

/* The index of tmp path in the batch, adding it when new (the last one is the usual hit). */
static size_t tmp_index(struct md_batch *b, const char *path)
{
	for (size_t i = b->ntmps; i > 0; i--)
		if (strcmp(b->tmps[i - 1].path, path) == 0)
			return i - 1;
	return tmp_append(b, path);
}

int md_tmp_create(struct md_batch *b, char **path, int *fd, char *err, size_t errlen)
{
	struct maildir *md = b->md;
	char rel[MD_REL_MAX];
	const char *key;
	int f = -1;

	if (b->ntmps >= MD_BATCH_MAX)
		return fail(err, errlen, RES_TEMP, "maildir batch is full (%d files)",
		            MD_BATCH_MAX);
	/* The lock first: a cleaner finds it held as soon as the file exists. */
	key = md_writer_key(md);
	/* O_EXCL: a clash (another handle, same microsecond) just takes the next Q. */
	for (int tries = 0; f < 0 && tries < 8; tries++) {
		memcpy(rel, "tmp/", 4);
		md_unique(md, rel + 4, sizeof(rel) - 4, key, "");
		f = openat(md->root_fd, rel, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (f < 0 && errno != EEXIST)
			return md_fail_errno(md, errno, "cannot create", rel, err, errlen);
	}
	if (f < 0)
		return md_fail_errno(md, EEXIST, "cannot create a unique file in", "tmp", err,
		                     errlen);
	*path = xasprintf("%s/%s", md->root, rel);
	*fd = f;
	tmp_append(b, *path);
	return RES_OK;
}

/* Removes one tmp file that has no delivery scheduled from it. */
static void tmp_drop(struct md_batch *b, size_t i)
{
	if (!b->tmps[i].foreign && unlink(b->tmps[i].path) < 0 && errno != ENOENT)
		log_warn("cannot remove %s: %s", b->tmps[i].path, strerror(errno));
	free(b->tmps[i].path);
	b->tmps[i] = b->tmps[--b->ntmps];
}

void md_tmp_discard(struct md_batch *b, const char *path)
{
	for (size_t i = 0; i < b->ntmps; i++)
		if (strcmp(b->tmps[i].path, path) == 0 && b->tmps[i].uses == 0) {
			tmp_drop(b, i);
			return;
		}
}

/* For error messages: a hostile folder name must not reach a terminal raw. */
static void printable(char *out, size_t outlen, const char *s)
{
	size_t o = 0;

	for (; *s != '\0' && o + 1 < outlen; s++)
		out[o++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
	out[o] = '\0';
}

static int bad_folder(const char *folder, char *err, size_t errlen)
{
	char shown[128];

	printable(shown, sizeof(shown), folder != NULL ? folder : "");
	return fail(err, errlen, RES_PERM,
	            "folder \"%s\": nothing usable left after sanitising, or too long", shown);
}

/* Schedules src (index into tmps) into folder as base, with flags. */
static int schedule(struct md_batch *b, const char *folder, const char *src, bool foreign,
                    const char *base, unsigned flags, char *err, size_t errlen)
{
	struct md_delivery *d;
	char fl[8], *dir = maildir_folder_dir(folder), *legacy;
	int r;

	if (dir == NULL)
		return bad_folder(folder, err, errlen);
	if (b->ndl >= MD_BATCH_MAX) {
		free(dir);
		return fail(err, errlen, RES_TEMP, "maildir batch is full (%d messages)",
		            MD_BATCH_MAX);
	}
	legacy = md_legacy_dir(folder);
	r = ensure_folder(b->md, dir, legacy, err, errlen);
	free(legacy);
	if (r != RES_OK) {
		free(dir);
		return r;
	}
	mail_flags_letters(flags & MD_ALL_FLAGS, fl);
	b->dl = xreallocarray_grow(b->dl, &b->capdl, b->ndl + 1, sizeof(*b->dl));
	d = &b->dl[b->ndl++];
	d->tmp = tmp_index(b, src);
	b->tmps[d->tmp].uses++;
	b->tmps[d->tmp].foreign = foreign;
	d->dirlen = strlen(dir);
	d->linked = 0;
	if (fl[0] != '\0')
		d->dest = xasprintf("%s%scur/%s:2,%s", dir, *dir ? "/" : "", base, fl);
	else
		d->dest = xasprintf("%s%snew/%s", dir, *dir ? "/" : "", base);
	free(dir);
	return RES_OK;
}

int md_batch_add_file(struct md_batch *b, const char *folder, const char *tmp_path, size_t size,
                      size_t vsize, unsigned flags, char **name, char *err, size_t errlen)
{
	char base[NAME_MAX + 1], size_s[64];
	int r;

	/* Dovecot's order: ",S=" then ",W=", before the ":2," info. */
	snprintf(size_s, sizeof(size_s), ",S=%zu,W=%zu", size, vsize);
	md_unique(b->md, base, sizeof(base), "", size_s);
	r = schedule(b, folder, tmp_path, false, base, flags, err, errlen);
	if (r == RES_OK && name != NULL)
		*name = xstrdup(base);
	return r;
}

int md_batch_add_named(struct md_batch *b, const char *folder, const char *src_path,
                       const char *name, unsigned flags, char *err, size_t errlen)
{
	if (name[0] == '\0' || name[0] == '.' || strchr(name, '/') != NULL)
		return fail(err, errlen, RES_PERM, "bad message file name '%s'", name);
	return schedule(b, folder, src_path, true, name, flags, err, errlen);
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int md_batch_add(struct md_batch *b, const char *folder, const void *data, size_t len,
                 unsigned flags, char **name, char *err, size_t errlen)
{
	struct md_vsize v = MD_VSIZE_INIT;
	char *path;
	int fd, r, e = 0;

	if ((r = md_tmp_create(b, &path, &fd, err, errlen)) != RES_OK)
		return r;
	md_vsize_feed(&v, data, len);
	if (write_all(fd, data, len) < 0)
		e = errno;
	/* Some file systems (NFS, quotas) only report a full disk at close. */
	if (close(fd) < 0 && e == 0)
		e = errno;
	if (e != 0)
		r = md_fail_errno(NULL, e, "cannot write", path, err, errlen);
	else
		r = md_batch_add_file(b, folder, path, len, md_vsize_value(&v), flags, name, err,
		                      errlen);
	if (r != RES_OK)
		md_tmp_discard(b, path);
	free(path);
	return r;
}

/* Step 1: file data on disk, per file for a few, one syncfs() for many. */
static int sync_data(struct md_batch *b, char *err, size_t errlen)
{
	struct maildir *md = b->md;
	int fd, e;

	if (b->ntmps > MD_FSYNC_MAX) {
		if (syncfs(md->root_fd) < 0)
			return md_fail_errno(md, errno, "cannot syncfs", ".", err, errlen);
		return RES_OK;
	}
	for (size_t i = 0; i < b->ntmps; i++) {
		if (b->tmps[i].uses == 0)
			continue;
		if ((fd = open(b->tmps[i].path, O_RDONLY | O_CLOEXEC)) < 0)
			return md_fail_errno(md, errno, "cannot open", b->tmps[i].path, err,
			                     errlen);
		if (fsync(fd) < 0) {
			e = errno;
			close(fd);
			return md_fail_errno(md, e, "cannot fsync", b->tmps[i].path, err, errlen);
		}
		close(fd);
	}
	return RES_OK;
}

/* Step 2: each delivery becomes a hard link under its planned name. */
static int link_all(struct md_batch *b, char *err, size_t errlen)
{
	struct maildir *md = b->md;
	bool die = b->crash_mid_link;

	for (size_t i = 0; i < b->ndl; i++) {
		struct md_delivery *d = &b->dl[i];
		int e;

		if (die &&
		    (i + 1 == b->ndl || (i >= b->ndl / 2 && i > 0 && d->tmp == b->dl[i - 1].tmp)))
			kill(getpid(), SIGKILL);
		if (linkat(AT_FDCWD, b->tmps[d->tmp].path, md->root_fd, d->dest, 0) == 0) {
			d->linked = 1;
			continue;
		}
		e = errno;
		if (e == EEXIST)
			return fail(err, errlen, RES_TEMP,
			            "cannot deliver %s/%s: the planned name exists (a bug: please "
			            "report it)",
			            md->root, d->dest);
		/* The folder may have been removed behind our back: check it again next time. */
		if (e == ENOENT)
			folder_forget(md, d->dest, d->dirlen);
		return md_fail_errno(md, e, "cannot link into", d->dest, err, errlen);
	}
	return RES_OK;
}

/* Step 3: fsync each touched new/ or cur/ once (a batch touches few directories). */
static int sync_dirs(struct md_batch *b, char *err, size_t errlen)
{
	char rel[MD_REL_MAX];
	const char **done = xcalloc(b->ndl, sizeof(*done));
	size_t ndone = 0;
	int r = RES_OK;

	for (size_t i = 0; i < b->ndl && r == RES_OK; i++) {
		const char *dest = b->dl[i].dest;
		size_t n = (size_t)(strrchr(dest, '/') - dest) + 1;
		bool seen = false;

		for (size_t j = 0; j < ndone && !seen; j++)
			seen = strncmp(done[j], dest, n) == 0;
		if (seen)
			continue;
		done[ndone++] = dest;
		snprintf(rel, sizeof(rel), "%.*s", (int)(n - 1), dest);
		r = md_fsync_dir_at(b->md->root_fd, rel, b->md, err, errlen);
	}
	free(done);
	return r;
}

static void unlink_linked(struct md_batch *b)
{
	for (size_t i = 0; i < b->ndl; i++)
		if (b->dl[i].linked && unlinkat(b->md->root_fd, b->dl[i].dest, 0) < 0)
			log_warn("cannot remove %s/%s after a failed delivery: %s", b->md->root,
			         b->dl[i].dest, strerror(errno));
}

/* Step 4 (and every failure): no tmp file stays behind; tmp/ needs no fsync. */
static void batch_clear(struct md_batch *b)
{
	for (size_t i = 0; i < b->ndl; i++)
		free(b->dl[i].dest);
	b->ndl = 0;
	for (size_t i = 0; i < b->ntmps; i++)
		b->tmps[i].uses = 0;
	while (b->ntmps > 0)
		tmp_drop(b, b->ntmps - 1);
}

int md_batch_commit(struct md_batch *b, char *err, size_t errlen)
{
	int r = RES_OK;

	if (b->ndl > 0) {
		r = sync_data(b, err, errlen);
		if (r == RES_OK)
			r = link_all(b, err, errlen);
		if (r == RES_OK)
			r = sync_dirs(b, err, errlen);
		if (r != RES_OK)
			unlink_linked(b);
	}
	batch_clear(b);
	return r;
}

void md_batch_abort(struct md_batch *b)
{
	if (b == NULL) /* a dry run has no batch */
		return;
	batch_clear(b);
}

void md_batch_free(struct md_batch *b)
{
	if (b == NULL)
		return;
	batch_clear(b);
	free(b->dl);
	free(b->tmps);
	free(b);
}

/* ---- recovery ---- */

/* cur/NAME followed by the info (":2,...") or extra fields a client added (",W=..."). */
static bool cur_has(struct maildir *md, const char *dir, const char *name)
{
	char rel[MD_REL_MAX];
	size_t n = strlen(name);
	struct dirent *de;
	bool found = false;
	DIR *dp;
	int fd;

	snprintf(rel, sizeof(rel), "%s%scur", dir, *dir ? "/" : "");
	if ((fd = openat(md->root_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return false;
	if ((dp = fdopendir(fd)) == NULL) {
		close(fd);
		return false;
	}
	while (!found && (de = readdir(dp)) != NULL)
		found = strncmp(de->d_name, name, n) == 0 &&
		        (de->d_name[n] == ':' || de->d_name[n] == ',' || de->d_name[n] == '\0');
	closedir(dp);
	return found;
}

static bool exists_in(struct maildir *md, const char *dir, const char *name)
{
	char rel[MD_REL_MAX];
	struct stat st;

	for (size_t i = 1; i < 3; i++) {
		snprintf(rel, sizeof(rel), "%s%s%s/%s", dir, *dir ? "/" : "", md_subdirs[i], name);
		if (fstatat(md->root_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return true;
	}
	return cur_has(md, dir, name);
}

bool md_exists(struct maildir *md, const char *folder, const char *name)
{
	char *dir, *legacy;
	bool found = false;

	if (name == NULL || *name == '\0' || strchr(name, '/') != NULL || strlen(name) > NAME_MAX)
		return false;
	if ((dir = maildir_folder_dir(folder)) == NULL)
		return false;
	/*
	 * A message an older corral delivered (and journaled) before a crash may
	 * still be in the folder's raw UTF-8 spelling. The old one first: an
	 * upgrade only ever moves files from the old to the new, so a file moved
	 * between the two looks is found by the second.
	 */
	legacy = md_legacy_dir(folder);
	if (legacy != NULL && strcmp(legacy, dir) != 0)
		found = exists_in(md, legacy, name);
	if (!found)
		found = exists_in(md, dir, name);
	free(legacy);
	free(dir);
	return found;
}
