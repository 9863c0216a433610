/*
 * Durable Maildir++ delivery.
 *
 * The root is INBOX; a folder "A/B" is the directory ".A.B" with a
 * "maildirfolder" file, created on demand. A delivery writes to tmp/, and
 * becomes visible in new/ (or in cur/ with ":2,FLAGS" when flags are set)
 * only once its data is on disk; a batch is made durable together (one
 * sync for the files, one fsync per touched directory), which is what the
 * fetcher's group commit builds on. A full disk (ENOSPC, EDQUOT) leaves no
 * partial file anywhere and is a temporary failure.
 *
 * Memory: strings returned belong to the caller; handles are freed by their
 * own close/free call.
 */
#ifndef CORRAL_DELIVER_MAILDIR_H
#define CORRAL_DELIVER_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>

#include "util/result.h"

struct maildir;
struct md_batch;

/* Opens the root, creating it and tmp/ new/ cur/ (mode 0700) when missing. */
struct maildir *maildir_open(const char *root, char *err, size_t errlen);
void maildir_close(struct maildir *md);
const char *maildir_root(const struct maildir *md);
/* The host part of the names this handle makes (escaped as in the names). */
const char *maildir_host(const struct maildir *md);

/*
 * Removes what earlier runs left in the root's tmp/ (a kill -9 in the
 * middle of a batch leaves its streamed files there): files named by corral
 * on this host whose writer is gone, and any file older than 36 hours (the
 * Maildir convention). A writer holds an flock on tmp/.corral-LKEY.HOST from
 * its first tmp file until maildir_close(), and its tmp files carry KEY in
 * their names: a file whose lock file is missing or not held is stale (and
 * the lock file goes too), one whose lock is held is kept; no pid decides
 * (maildir-tmp.c says why this is safe). Returns how many files (not
 * counting lock files) were removed.
 */
size_t maildir_clean_tmp(struct maildir *md);

/*
 * The one mapping from a folder name to its directory, for every writer
 * and reader: "A/B" -> ".A.B"; "INBOX", "inbox" and "" -> "" (the root).
 * Each level is sanitised (control characters dropped, "/" and leading
 * dots removed, ".." never survives, a dot inside a level becomes "_"),
 * then written in modified UTF-7 as Dovecot writes it ("Entwürfe" ->
 * ".Entw&APw-rfe", "R&D" -> ".R&-D"; a byte that is not UTF-8 becomes "_").
 * Returns NULL when nothing usable is left or the result is longer than a
 * directory entry (NAME_MAX).
 */
char *maildir_folder_dir(const char *folder);

/*
 * Older corrals wrote each level in raw UTF-8 (".Entwürfe"). Brings such a
 * folder (each of its levels) under its name today: renamed when only the
 * old directory exists; when both do, its messages are renamed into the new
 * one under their own names (flags kept) and the emptied old one removed.
 * Every step is one rename or the removal of an empty directory, so a kill
 * at any instant loses and duplicates nothing. Deliveries do this by
 * themselves for the folders they write; md_exists() finds a message in
 * the old spelling too. RES_OK when there was nothing to do.
 */
int maildir_upgrade_folder(struct maildir *md, const char *folder, char *err, size_t errlen);
/* The same for every old-spelled folder of the root (one readdir of it):
 * for the start of `fetch` and `run`. Returns how many were upgraded. */
size_t maildir_upgrade_all(struct maildir *md);

/*
 * The size of a message with CRLF line ends (IMAP's RFC822.SIZE, Dovecot's
 * ",W=" field): every LF not preceded by CR counts two. Fed each chunk in
 * order while the message is written, so it never needs a second read.
 */
struct md_vsize {
	size_t bytes;
	size_t bare_lf;
	int last; /* the last byte fed, -1 before any */
};
#define MD_VSIZE_INIT                                                                              \
	{                                                                                          \
		0, 0, -1                                                                           \
	}
void md_vsize_feed(struct md_vsize *v, const void *data, size_t len);
size_t md_vsize_value(const struct md_vsize *v);

/* A batch of deliveries made durable together. */
/*
 * A new unique base name for a writer that links or writes one file itself
 * (the IMAP server's APPEND and COPY): the name deliveries use,
 * "SECS.MusecPpidQseq.HOST" + suffix (",S=...,W=..."), HOST escaped alike.
 * seq keeps the names of one process apart. The caller frees it.
 */
char *md_new_base(unsigned long seq, const char *suffix);

struct md_batch *md_batch_new(struct maildir *md);

/*
 * Creates a file in the root's tmp/ for the caller to fill (the fetcher
 * streams a message into it; the descriptor is open for reading too, so the
 * caller can map it to sort the message). *path gets its path. The first one
 * takes the handle's writer lock (maildir_clean_tmp), held until
 * maildir_close(). Returns RES_OK or a failure with err set.
 */
int md_tmp_create(struct md_batch *b, char **path, int *fd, char *err, size_t errlen);
/* Removes one file made by md_tmp_create() that no delivery uses yet (a
 * message that failed while streaming), leaving the rest of the batch. */
void md_tmp_discard(struct md_batch *b, const char *path);

/*
 * Schedules the file tmp_path (on the same file system, size bytes, vsize
 * bytes with CRLF line ends: md_vsize) for delivery into folder with flags.
 * The file's final name is decided now and returned in *name (unique,
 * "TIME.MusecPpidQn.HOST,S=SIZE,W=VSIZE" as Dovecot writes them), so a
 * caller can journal its intent before commit. Several deliveries may share
 * one tmp file (hard links). Nothing is visible until md_batch_commit().
 */
int md_batch_add_file(struct md_batch *b, const char *folder, const char *tmp_path, size_t size,
                      size_t vsize, unsigned flags, char **name, char *err, size_t errlen);

/*
 * Schedules a hard link of an existing message file (same file system)
 * into folder under the given base name, in new/ when flags is 0, else
 * cur/NAME:2,FLAGS: a message moved between folders keeps its unique name,
 * which makes a move restartable (md_exists() tells it was done). The
 * batch never unlinks src_path: the caller does, after the commit.
 */
int md_batch_add_named(struct md_batch *b, const char *folder, const char *src_path,
                       const char *name, unsigned flags, char *err, size_t errlen);

/* md_tmp_create() + write + md_batch_add_file() for a message in memory. */
int md_batch_add(struct md_batch *b, const char *folder, const void *data, size_t len,
                 unsigned flags, char **name, char *err, size_t errlen);

/*
 * Makes every scheduled delivery durable and visible: file data synced,
 * then linked into new/ (or cur/), then each touched directory fsynced,
 * then the tmp files removed. On failure nothing of the batch stays
 * visible (what was linked is unlinked) and no tmp file is left.
 */
int md_batch_commit(struct md_batch *b, char *err, size_t errlen);
/* Crash tests (CORRAL_FAULT=mid-link): the next commit kills the process
 * (SIGKILL) with half the batch linked, between two copies of one message
 * when there is such a pair. */
void md_batch_crash_mid_link(struct md_batch *b);
/* Drops everything scheduled: tmp files are removed. */
void md_batch_abort(struct md_batch *b);
size_t md_batch_count(const struct md_batch *b);
void md_batch_free(struct md_batch *b); /* aborts what was not committed */

/* True when a message file with this base name is in folder's new/ or cur/
 * (with any flags): how a restart checks a journaled intent. The folder's
 * old raw UTF-8 spelling is looked in first (see maildir_upgrade_folder). */
bool md_exists(struct maildir *md, const char *folder, const char *name);

/* Maps an errno from a write/link/fsync to RES_TEMP or RES_PERM. */
int md_errno_result(int err);

#endif
