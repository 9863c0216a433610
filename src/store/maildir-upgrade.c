/*
 * Folders written by older corrals (maildir.h, maildir-int.h): they spelled
 * each level in raw UTF-8 (".Entwürfe"), which neither Dovecot nor corral's
 * IMAP server can name; today's name is modified UTF-7 (".Entw&APw-rfe").
 *
 * Every step is a rename() or the removal of something empty, so a kill at
 * any instant leaves each message in exactly one of the two directories,
 * under its own name (flags kept), and the next run goes on from there:
 *
 *   only the old one exists: one rename of the directory;
 *   both exist: each file of the old new/ and cur/ renamed into the same
 *     subdirectory of the new one, then the old one removed once empty.
 *
 * Readers that look for a message by name (md_exists, after a crash) look
 * in the old directory first, then in the new one: since files only ever
 * move from old to new, a message moving between the two looks is found by
 * the second.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/maildir-int.h"
#include "store/maildir.h"
#include "util/log.h"
#include "util/str.h"

/* Files an emptied old folder may still hold that carry no message. */
static const char *const md_meta[] = {"maildirfolder", "dovecot-uidlist", "dovecot-keywords"};

/*
 * Never replaces an existing name: RENAME_NOREPLACE, or on a file system
 * without it a plain rename, which for a directory only replaces an empty
 * one (a folder being created by a concurrent delivery, holding nothing:
 * its later mkdirs find the renamed folder's subdirectories instead), and
 * for a file is checked first; the race left there could only replace a
 * file by one of the same unique name, that is the same message.
 */
static int rename_noreplace(struct maildir *md, const char *from, const char *to, bool is_dir)
{
	if (renameat2(md->root_fd, from, md->root_fd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (!is_dir && faccessat(md->root_fd, to, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		errno = EEXIST;
		return -1;
	}
	return renameat(md->root_fd, from, md->root_fd, to);
}

/* ---- both exist: move the messages ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Entries of dir/sub (relative to the root) other than dot files; NULL when it cannot be read. */
static char **list_sub(struct maildir *md, const char *dir, const char *sub, size_t *n)
{
	char rel[MD_REL_MAX];
	char **v = NULL;
	size_t cap = 0;
	struct dirent *de;
	DIR *dp;
	int fd;

	*n = 0;
	snprintf(rel, sizeof(rel), "%s/%s", dir, sub);
	if ((fd = openat(md->root_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return NULL;
	if ((dp = fdopendir(fd)) == NULL) {
		close(fd);
		return NULL;
	}
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		v = xreallocarray_grow(v, &cap, *n + 2, sizeof(*v));
		v[(*n)++] = xstrdup(de->d_name);
	}
	closedir(dp);
	if (v == NULL)
		v = xcalloc(1, sizeof(*v));
	v[*n] = NULL;
	return v;
}

static void list_free(char **v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

/* The base names (before ":") of the messages in dir's new/ and cur/, sorted. */
static char **base_names(struct maildir *md, const char *dir, size_t *n)
{
	size_t nn, nc;
	char **a = list_sub(md, dir, "new", &nn), **c = list_sub(md, dir, "cur", &nc);
	char **v = xcalloc(nn + nc + 1, sizeof(*v));

	*n = 0;
	for (size_t i = 0; i < nn; i++)
		v[(*n)++] = xstrndup(a[i], strcspn(a[i], ":"));
	for (size_t i = 0; i < nc; i++)
		v[(*n)++] = xstrndup(c[i], strcspn(c[i], ":"));
	list_free(a, nn);
	list_free(c, nc);
	qsort(v, *n, sizeof(*v), cmp_str);
	return v;
}

/*
 * Renames each file of legacy/sub into dir/sub under its name. A name whose
 * message dir already holds (same base name, any flags) is left where it
 * is: moving it would show one message twice. *kept counts what stays.
 */
static int move_sub(struct maildir *md, const char *dir, const char *legacy, const char *sub,
                    char *const *have, size_t nhave, size_t *moved, size_t *kept, char *err,
                    size_t errlen)
{
	char from[MD_REL_MAX], to[MD_REL_MAX];
	size_t n;
	char **v = list_sub(md, legacy, sub, &n);
	int r = RES_OK;

	for (size_t i = 0; v != NULL && i < n && r == RES_OK; i++) {
		char *base = xstrndup(v[i], strcspn(v[i], ":"));
		bool dup = bsearch(&base, have, nhave, sizeof(*have), cmp_str) != NULL;

		free(base);
		snprintf(from, sizeof(from), "%s/%s/%s", legacy, sub, v[i]);
		snprintf(to, sizeof(to), "%s/%s/%s", dir, sub, v[i]);
		if (dup) {
			log_warn("%s/%s: a message of that name is already in %s: left where it is",
			         md->root, from, dir);
			(*kept)++;
		} else if (rename_noreplace(md, from, to, false) == 0) {
			(*moved)++;
		} else if (errno == EEXIST) {
			(*kept)++;
		} else if (errno != ENOENT) {
			/* ENOENT: moved meanwhile by another process, or read by a client. */
			r = md_fail_errno(md, errno, "cannot move", from, err, errlen);
		}
	}
	list_free(v, n);
	/* The new home first: a crash before the second fsync at worst shows the move undone. */
	snprintf(to, sizeof(to), "%s/%s", dir, sub);
	snprintf(from, sizeof(from), "%s/%s", legacy, sub);
	if (r == RES_OK && *moved > 0 &&
	    (r = md_fsync_dir_at(md->root_fd, to, md, err, errlen)) == RES_OK)
		r = md_fsync_dir_at(md->root_fd, from, md, err, errlen);
	return r;
}

/* Removes the emptied old folder; anything unknown left in it keeps it. */
static void remove_legacy(struct maildir *md, const char *legacy)
{
	static const char *const subs[] = {"new", "cur", "tmp"};
	char rel[MD_REL_MAX];

	/* rmdir only removes an empty directory: a message that arrived meanwhile stays. */
	for (size_t i = 0; i < 3; i++) {
		snprintf(rel, sizeof(rel), "%s/%s", legacy, subs[i]);
		if (unlinkat(md->root_fd, rel, AT_REMOVEDIR) < 0 && errno != ENOENT)
			goto kept;
	}
	for (size_t i = 0; i < sizeof(md_meta) / sizeof(md_meta[0]); i++) {
		snprintf(rel, sizeof(rel), "%s/%s", legacy, md_meta[i]);
		unlinkat(md->root_fd, rel, 0);
	}
	if (unlinkat(md->root_fd, legacy, AT_REMOVEDIR) == 0 || errno == ENOENT) {
		md_fsync_dir_at(md->root_fd, ".", md, NULL, 0);
		return;
	}
kept:
	log_info("%s/%s: kept, it still holds something (%s)", md->root, legacy, strerror(errno));
}

static int merge(struct maildir *md, const char *dir, const char *legacy, char *err, size_t errlen)
{
	size_t nhave, moved = 0, kept = 0;
	char **have = base_names(md, dir, &nhave);
	int r = move_sub(md, dir, legacy, "new", have, nhave, &moved, &kept, err, errlen);

	if (r == RES_OK)
		r = move_sub(md, dir, legacy, "cur", have, nhave, &moved, &kept, err, errlen);
	list_free(have, nhave);
	if (moved > 0)
		log_info("%s: moved %zu messages from the old folder %s", dir, moved, legacy);
	if (r == RES_OK && kept == 0)
		remove_legacy(md, legacy);
	return r;
}

/* ---- one folder level ---- */

int md_upgrade_dir(struct maildir *md, const char *dir, const char *legacy, char *err,
                   size_t errlen)
{
	struct stat st;

	if (legacy == NULL || strcmp(dir, legacy) == 0)
		return RES_OK;
	if (fstatat(md->root_fd, legacy, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT
		           ? RES_OK
		           : md_fail_errno(md, errno, "cannot stat", legacy, err, errlen);
	/* A valid modified UTF-7 name is another folder's name today, not an old spelling. */
	if (!S_ISDIR(st.st_mode) || md_dir_is_mutf7(legacy))
		return RES_OK;
	/*
	 * One atomic rename moves the whole folder: a concurrent delivery links
	 * either before it (the file moves along) or after it (into the new
	 * name, or the old path fails and that delivery is retried), and a
	 * second upgrader finds the old name gone (ENOENT) or the new one there.
	 */
	if (rename_noreplace(md, legacy, dir, true) == 0) {
		log_info("renamed the folder %s to %s (modified UTF-7, as Dovecot names it)",
		         legacy, dir);
		return md_fsync_dir_at(md->root_fd, ".", md, err, errlen);
	}
	if (errno == ENOENT)
		return RES_OK;
	if (errno == EEXIST || errno == ENOTEMPTY)
		return merge(md, dir, legacy, err, errlen);
	return md_fail_errno(md, errno, "cannot rename", legacy, err, errlen);
}

int md_upgrade_levels(struct maildir *md, const char *dir, const char *legacy, char *err,
                      size_t errlen)
{
	char d[NAME_MAX + 1], l[NAME_MAX + 1];
	size_t i = 0, j = 0;
	int r = RES_OK;

	if (legacy == NULL || strcmp(dir, legacy) == 0)
		return RES_OK;
	/* Level k of one is level k of the other: neither spelling has a dot inside a level. */
	while (r == RES_OK && dir[i] != '\0' && legacy[j] != '\0') {
		i += 1 + strcspn(dir + i + 1, ".");
		j += 1 + strcspn(legacy + j + 1, ".");
		snprintf(d, sizeof(d), "%.*s", (int)i, dir);
		snprintf(l, sizeof(l), "%.*s", (int)j, legacy);
		r = md_upgrade_dir(md, d, l, err, errlen);
	}
	return r;
}

int maildir_upgrade_folder(struct maildir *md, const char *folder, char *err, size_t errlen)
{
	char *dir = maildir_folder_dir(folder), *legacy = md_legacy_dir(folder);
	int r = dir != NULL ? md_upgrade_levels(md, dir, legacy, err, errlen) : RES_OK;

	free(dir);
	free(legacy);
	return r;
}

/* ---- the whole root ---- */

/* The folder an old corral made as dir (".A.B" -> "A/B"), or NULL when it is not one. */
static char *legacy_folder(const char *dir)
{
	char *folder, *again;

	if (dir[0] != '.' || md_dir_is_mutf7(dir))
		return NULL;
	folder = xstrdup(dir + 1);
	for (char *p = folder; *p != '\0'; p++)
		if (*p == '.')
			*p = '/';
	/* Only what an old corral would have written for that very folder. */
	again = md_legacy_dir(folder);
	if (again == NULL || strcmp(again, dir) != 0) {
		free(folder);
		folder = NULL;
	}
	free(again);
	return folder;
}

/* The root's entries that an old corral made as folders, collected before
 * any rename: renaming while reading a directory may skip or repeat entries. */
static char **legacy_dirs(struct maildir *md, size_t *n)
{
	int fd = openat(md->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dp = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	char **v = NULL;
	size_t cap = 0;

	*n = 0;
	if (dp == NULL) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((de = readdir(dp)) != NULL) {
		char *folder = legacy_folder(de->d_name);

		if (folder == NULL)
			continue;
		free(folder);
		v = xreallocarray_grow(v, &cap, *n + 1, sizeof(*v));
		v[(*n)++] = xstrdup(de->d_name);
	}
	closedir(dp);
	return v;
}

size_t maildir_upgrade_all(struct maildir *md)
{
	size_t n, done = 0;
	char **v = legacy_dirs(md, &n);
	char err[512];

	for (size_t i = 0; i < n; i++) {
		char *folder = legacy_folder(v[i]), *dir = maildir_folder_dir(folder);

		if (dir == NULL)
			log_warn("%s/%s: too long as a modified UTF-7 name: left as it is",
			         md->root, v[i]);
		else if (md_upgrade_dir(md, dir, v[i], err, sizeof(err)) != RES_OK)
			log_warn("%s", err);
		else
			done++;
		free(dir);
		free(folder);
	}
	list_free(v, n);
	return done;
}
