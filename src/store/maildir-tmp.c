/*
 * The root's tmp/ (maildir.h): the writer lock that each process holds while
 * its tmp files may still be linked, and the cleaning of what earlier runs
 * left there.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "store/maildir-int.h"
#include "store/maildir.h"
#include "util/log.h"
#include "util/str.h"

/* Maildir readers remove files older than this from tmp/. */
#define TMP_STALE_SECS (36 * 3600)
/* A held lock file is touched when older than this, far inside those 36 hours. */
#define LOCK_TOUCH_SECS 3600
/* tmp/.corral-LKEY.HOST: a dot name, which no reader takes for a message. */
#define LOCK_PREFIX   ".corral-L"
#define LOCK_NAME_MAX (sizeof(LOCK_PREFIX) + MD_KEY_LEN + 1 + MD_HOST_MAX + 1)

static void lock_name(char *out, size_t outlen, const char *key, const char *host)
{
	snprintf(out, outlen, LOCK_PREFIX "%s.%s", key, host);
}

/* n hex digits at s, then end. */
static bool hex_run(const char *s, size_t n, char end)
{
	return strspn(s, "0123456789abcdef") == n && s[n] == end;
}

/* The key of a lock file name of this host ("" when name is none). */
static const char *lock_key_of(const char *name, const char *host)
{
	size_t n = sizeof(LOCK_PREFIX) - 1;

	if (strncmp(name, LOCK_PREFIX, n) != 0 || !hex_run(name + n, MD_KEY_LEN, '.') ||
	    strcmp(name + n + MD_KEY_LEN + 1, host) != 0)
		return "";
	return name + n;
}

/* Whether this process holds the lock of key for md (its own files). */
static bool own_key(const struct maildir *md, const char *key, size_t keylen)
{
	return md->lock_fd >= 0 && md->lock_pid == getpid() && keylen == MD_KEY_LEN &&
	       strncmp(md->lock_key, key, keylen) == 0;
}

/* ---- the writer's side ---- */

static void new_key(char *out)
{
	uint64_t v;
	struct timeval tv;

	/* Freshness, not secrecy: a key seen again only keeps a leftover longer. */
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v)) {
		gettimeofday(&tv, NULL);
		v = ((uint64_t)tv.tv_sec << 32) ^ ((uint64_t)tv.tv_usec << 12) ^ (uint64_t)getpid();
	}
	snprintf(out, MD_KEY_LEN + 1, "%016llx", (unsigned long long)v);
}

/*
 * Makes tmp/.corral-LKEY.HOST under a fresh key and flocks it (LOCK_EX,
 * O_CLOEXEC: a program this process runs never holds it). A cleaner that
 * found it unlocked between the open and the flock has removed it (it
 * unlinks while holding its probe): st_nlink 0 then, and a new key is taken.
 */
static int lock_make(struct maildir *md)
{
	char rel[sizeof("tmp/") + LOCK_NAME_MAX];
	struct stat st;
	int fd, e = EAGAIN;

	for (int tries = 0; tries < 8; tries++) {
		new_key(md->lock_key);
		memcpy(rel, "tmp/", 4);
		lock_name(rel + 4, sizeof(rel) - 4, md->lock_key, md->host);
		fd = openat(md->root_fd, rel, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		            0600);
		if (fd < 0 && errno == EEXIST)
			continue;
		if (fd < 0)
			return -1;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0)
			e = errno == EWOULDBLOCK ? EAGAIN : errno;
		else if (fstat(fd, &st) < 0)
			e = errno;
		else if (st.st_nlink == 0)
			e = EAGAIN;
		else {
			md->lock_fd = fd;
			md->lock_pid = getpid();
			return 0;
		}
		unlinkat(md->root_fd, rel, 0);
		close(fd);
		/* No flock here at all (ENOLCK, EINVAL): trying again will not help. */
		if (e != EAGAIN)
			break;
	}
	md->lock_key[0] = '\0';
	errno = e;
	return -1;
}

/* Keeps the held lock usable: linked, and young enough for every tmp/ cleaner. */
static void lock_keep(struct maildir *md)
{
	struct stat st;

	if (fstat(md->lock_fd, &st) < 0)
		return;
	if (st.st_nlink == 0) {
		/* Removed behind our back: files of this batch may be taken as leftovers. */
		log_warn("%s/tmp/" LOCK_PREFIX "%s.%s was removed by another program; taking a "
		         "new lock",
		         md->root, md->lock_key, md->host);
		close(md->lock_fd);
		md->lock_fd = -1;
	} else if (time(NULL) - st.st_mtime > LOCK_TOUCH_SECS) {
		futimens(md->lock_fd, NULL);
	}
}

const char *md_writer_key(struct maildir *md)
{
	/* A forked child: closing its copy leaves the parent's lock (one open file). */
	if (md->lock_fd >= 0 && md->lock_pid != getpid()) {
		close(md->lock_fd);
		md->lock_fd = -1;
	}
	if (md->lock_fd >= 0)
		lock_keep(md);
	if (md->lock_fd >= 0)
		return md->lock_key;
	if (lock_make(md) < 0) {
		if (!md->lock_warned)
			log_warn("%s/tmp: cannot lock (%s): files left by a kill stay until they "
			         "are 36 hours old",
			         md->root, strerror(errno));
		md->lock_warned = true;
		return "";
	}
	return md->lock_key;
}

void md_writer_release(struct maildir *md)
{
	char rel[sizeof("tmp/") + LOCK_NAME_MAX];

	if (md->lock_fd < 0)
		return;
	if (md->lock_pid == getpid()) {
		memcpy(rel, "tmp/", 4);
		lock_name(rel + 4, sizeof(rel) - 4, md->lock_key, md->host);
		unlinkat(md->root_fd, rel, 0);
	}
	close(md->lock_fd);
	md->lock_fd = -1;
}

/* ---- the cleaner's side ---- */

/* What a tmp file's name says about its writer. */
struct tmp_owner {
	long pid;        /* 0: not a name corral made on this host */
	const char *key; /* the writer's lock key in the name; NULL in an older corral's name */
};

/*
 * Reads one of corral's own names on this host: "SECS.MusecPpidQseq.HOST"
 * (older corrals) or "SECS.MusecPpidQseqLKEY.HOST" (maildir.c md_unique).
 * An APPEND of the IMAP server ("...Ppid.HOST,S=...", no Q) is none.
 */
static struct tmp_owner owner_of(const char *name, const char *host)
{
	struct tmp_owner o = {0, NULL};
	const char *p = strchr(name, '.'), *q;
	char *end;
	long pid;

	if (p == NULL || p[1] != 'M' || (p = strchr(p, 'P')) == NULL)
		return o;
	pid = strtol(p + 1, &end, 10);
	if (end == p + 1 || *end != 'Q' || pid <= 0)
		return o;
	q = end + 1 + strspn(end + 1, "0123456789");
	if (*q == 'L' && hex_run(q + 1, MD_KEY_LEN, '.')) {
		o.key = q + 1;
		q += 1 + MD_KEY_LEN;
	}
	if (*q != '.' || strcmp(q + 1, host) != 0)
		return (struct tmp_owner){0, NULL};
	o.pid = pid;
	return o;
}

/*
 * Whether a writer holds the lock file lockname (in tmp/). A missing file
 * holds nothing; one that cannot be opened or probed (permissions, no lock
 * service) is taken as held. A free one is removed while the probe holds it,
 * so that a writer between its open and its flock sees it gone.
 */
static bool lock_held(int dirfd, const char *lockname)
{
	int fd = openat(dirfd, lockname, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0)
		return errno != ENOENT;
	/* LOCK_SH: two cleaners probing at once do not take each other for a writer. */
	if (flock(fd, LOCK_SH | LOCK_NB) < 0) {
		close(fd);
		return true;
	}
	unlinkat(dirfd, lockname, 0);
	close(fd);
	return false;
}

/*
 * Whether the writer of a tmp file of this host is gone. The rule, and why
 * it holds:
 *  - A name with a key is judged by its writer's lock file alone: the file
 *    is stale when tmp/.corral-LKEY.HOST is missing or no one holds its
 *    flock. A writer takes that lock before its first tmp file and keeps it
 *    until it can link none any more (maildir_close), so a held lock is a
 *    live writer. A zombie (killed, not yet reaped) has closed every
 *    descriptor, so its flock is gone at its death, not at its reaping. A pid
 *    the kernel gave to another process since changes nothing: no pid is
 *    looked at, and a key is 64 random bits per lock, never one a new writer
 *    holds (O_EXCL). The lock is O_CLOEXEC, so a program the writer runs
 *    (a pipe action) does not keep it; a forked child that writes takes its
 *    own (md_writer_key).
 *  - Only names (and lock files) of this host are judged, so another host
 *    sharing the Maildir over NFS never loses a file to this rule: its
 *    pids mean nothing here, and its flocks may live only in its own kernel
 *    (local_lock=flock). This host's flocks on NFS are either kept by the
 *    server (NLM, NFSv4) or local; both are seen by this host's cleaners.
 *  - An older corral's name (no key) is removed only when no process has its
 *    pid (ESRCH): a zombie or a reused pid keeps it longer, never the reverse.
 *  - Any file older than 36 hours goes (the Maildir convention).
 */
static bool stale(const struct maildir *md, int dirfd, const char *name, time_t now)
{
	struct tmp_owner o = owner_of(name, md->host);
	char lk[LOCK_NAME_MAX];
	struct stat st;

	if (o.pid > 0 && o.key != NULL && !own_key(md, o.key, MD_KEY_LEN)) {
		snprintf(lk, sizeof(lk), LOCK_PREFIX "%.*s.%s", MD_KEY_LEN, o.key, md->host);
		if (!lock_held(dirfd, lk))
			return true;
	} else if (o.pid > 0 && o.key == NULL && o.pid != (long)getpid() &&
	           kill((pid_t)o.pid, 0) < 0 && errno == ESRCH) {
		return true;
	}
	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	       now - st.st_mtime > TMP_STALE_SECS;
}

size_t maildir_clean_tmp(struct maildir *md)
{
	char *path = xasprintf("%s/tmp", maildir_root(md));
	int dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	time_t now = time(NULL);
	size_t removed = 0;
	struct dirent *de;
	const char *key;
	DIR *d;

	if (dirfd < 0 || (d = fdopendir(dirfd)) == NULL) {
		if (dirfd >= 0)
			close(dirfd);
		free(path);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		/* The lock file of a dead writer goes too (lock_held removes it). */
		if (*(key = lock_key_of(de->d_name, md->host)) != '\0') {
			if (!own_key(md, key, MD_KEY_LEN))
				lock_held(dirfd, de->d_name);
			continue;
		}
		if (de->d_name[0] == '.' || !stale(md, dirfd, de->d_name, now))
			continue;
		if (unlinkat(dirfd, de->d_name, 0) == 0)
			removed++;
	}
	closedir(d);
	if (removed > 0)
		log_info("%s: removed %zu files that earlier runs left behind", path, removed);
	free(path);
	return removed;
}
