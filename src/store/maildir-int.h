/*
 * Internals shared by maildir.c (deliveries), maildir-name.c (folder names)
 * and maildir-upgrade.c (folders written by older corrals). Nothing outside
 * the Maildir store includes this.
 */
#ifndef CORRAL_MAILDIR_INT_H
#define CORRAL_MAILDIR_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct maildir;

/* Bytes of the escaped host name kept in a file name (NAME_MAX is 255). */
#define MD_HOST_MAX 96
/* A relative path under the root: folder dir + "/cur/" + name + info. */
#define MD_REL_MAX (NAME_MAX * 2 + 16)
/* Hex digits of a writer's lock key (maildir-tmp.c): 64 random bits. */
#define MD_KEY_LEN 16

struct maildir {
	char *root; /* as given, without trailing slashes */
	int root_fd;
	unsigned long seq; /* the Q number: unique names within this handle */
	char host[MD_HOST_MAX + 1];
	/* Folder dirs known to exist (and upgraded), so the hot path never stats them again. */
	char **known;
	size_t nknown, capknown;
	/* The writer lock (maildir-tmp.c): tmp/.corral-LKEY.HOST, flocked from the
	 * first tmp file until maildir_close(); -1 before, or when it could not be
	 * made. lock_pid is the process that made it: a forked child makes its own. */
	int lock_fd;
	pid_t lock_pid;
	char lock_key[MD_KEY_LEN + 1];
	bool lock_warned; /* "cannot lock" said once per handle */
};

/*
 * The key of the writer lock this process holds for md, taking it first
 * when needed (and touching it, so that no 36-hour tmp/ cleaner takes it for
 * a leftover); every tmp file name carries it ("...QseqLKEY.HOST"). "" when
 * no lock could be made: the names then carry no key, and only a writer
 * proven gone (or 36 hours) lets a cleaner remove them.
 */
const char *md_writer_key(struct maildir *md);
/* Lets go of the writer lock (maildir_close): the lock file is removed by
 * the process that made it, never by a forked child that inherited it. */
void md_writer_release(struct maildir *md);

/*
 * The directory older corrals made for folder: each level sanitised as
 * maildir_folder_dir() does, but left in raw UTF-8 (".Entwürfe"). NULL
 * when nothing usable is left.
 */
char *md_legacy_dir(const char *folder);

/* True when every level of dir (".A.B") is valid modified UTF-7: a name
 * Dovecot or corral writes today, never one to upgrade. */
bool md_dir_is_mutf7(const char *dir);

/*
 * Brings the old spelling legacy of one folder level to its name today,
 * dir (both relative to the root): renamed when only legacy exists, its
 * messages moved under their names when both do. RES_OK when there was
 * nothing to do; a failure leaves every message in one of the two.
 */
int md_upgrade_dir(struct maildir *md, const char *dir, const char *legacy, char *err,
                   size_t errlen);

/* md_upgrade_dir() for each level of dir (".A.B": ".A", then ".A.B") whose
 * old spelling (level for level in legacy) differs. */
int md_upgrade_levels(struct maildir *md, const char *dir, const char *legacy, char *err,
                      size_t errlen);

/* "what ROOT/REL: reason", mapped to a temporary or permanent failure. */
/* fsync() of the directory rel under dirfd; RES_OK, or a failure in err. */
int md_fsync_dir_at(int dirfd, const char *rel, const struct maildir *md, char *err, size_t errlen);
int md_fail_errno(const struct maildir *md, int e, const char *what, const char *rel, char *err,
                  size_t errlen);

#endif
