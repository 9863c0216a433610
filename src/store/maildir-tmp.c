/*
 * Cleaning the root's tmp/ of what earlier runs left (maildir.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/maildir.h"
#include "util/log.h"

/* Maildir readers remove files older than this from tmp/. */
#define TMP_STALE_SECS (36 * 3600)

/*
 * The pid in one of corral's own names on this host ("SECS.MusecPpidQseq.HOST",
 * maildir.c md_unique), or 0 when the name is not one of ours.
 */
static long own_pid(const char *name, const char *host)
{
	const char *p = strchr(name, '.'), *q;
	char *end;
	long pid;

	if (p == NULL || p[1] != 'M' || (p = strchr(p, 'P')) == NULL)
		return 0;
	pid = strtol(p + 1, &end, 10);
	if (end == p + 1 || *end != 'Q' || pid <= 0)
		return 0;
	q = strchr(end, '.');
	return q != NULL && strcmp(q + 1, host) == 0 ? pid : 0;
}

/* Whether the file's writer is gone, or the file is older than any write takes. */
static bool stale(int dirfd, const char *name, const char *host, time_t now)
{
	long pid = own_pid(name, host);
	struct stat st;

	if (pid > 0 && pid != (long)getpid() && kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return true;
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
	DIR *d;

	if (dirfd < 0 || (d = fdopendir(dirfd)) == NULL) {
		if (dirfd >= 0)
			close(dirfd);
		free(path);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || !stale(dirfd, de->d_name, maildir_host(md), now))
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
