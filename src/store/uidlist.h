/*
 * A Maildir folder's UIDs, in Dovecot's own files, so that corral's IMAP
 * server and Dovecot can take turns on one Maildir without a client seeing
 * a UID change:
 *
 *   dovecot-uidlist   "3 V<uidvalidity> N<nextuid> G<guid>", then one line
 *                     per message: "<uid> [<ext>...] :<base name>", the base
 *                     name being the file name up to its ":2," flags;
 *                     written whole to a new file and renamed, under
 *   dovecot-uidlist.lock, made with O_EXCL (a lock older than two
 *                     minutes is stale, as Dovecot counts it);
 *   dovecot-keywords  "<index> <keyword>" lines: keyword i is the letter
 *                     'a' + i in a file name's flags.
 *
 * uidlist_sync() is what opening a folder does: read the list, look at
 * new/ and cur/ (names only, never a message file), give each file without
 * a UID the next one in the order of their names (delivery order), forget
 * the UIDs whose files are gone, and write the list back when it changed.
 * Another writer's renames during the reading cannot make a UID forgotten:
 * the folder is read again until a reading is undisturbed.
 *
 * Memory: a struct uidlist owns its records; uidlist_free() frees them.
 */
#ifndef CORRAL_STORE_UIDLIST_H
#define CORRAL_STORE_UIDLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct uidlist_rec {
	uint32_t uid;
	char *base; /* the file name up to ':' */
	char *ext;  /* the fields between the UID and ':' as written ("W2096"), or "" */
	char *name; /* after uidlist_sync(): the file's current name; "new/" or "cur/" first;
	               NULL when another writer was renaming it (its UID is kept) */
};

struct uidlist {
	uint32_t uidvalidity;
	uint32_t nextuid;
	char guid[33];
	struct uidlist_rec *recs; /* ascending UID */
	size_t n, cap;
};

/* Reads dir's dovecot-uidlist; a missing file is an empty list (uidvalidity
 * 0). 0, or -1 with err filled for a file that cannot be read or parsed. */
int uidlist_read(const char *dir, struct uidlist *ul, char *err, size_t errlen);

/* Writes ul as dir's dovecot-uidlist (new file, fsync, rename). The caller
 * holds the lock. 0, or -1 with err. */
int uidlist_write(const char *dir, const struct uidlist *ul, char *err, size_t errlen);

/* Takes dir's dovecot-uidlist.lock, waiting up to timeout_ms. The lock's
 * descriptor, or -1 with err (held by someone else, or an error). */
int uidlist_lock(const char *dir, unsigned timeout_ms, char *err, size_t errlen);
void uidlist_unlock(const char *dir, int fd);

/*
 * Brings dir's list up to date with its files (see above), under the lock.
 * *changed says whether the list changed; it is written unless dir cannot
 * be written at all (EROFS, EACCES: then read without the lock, nothing
 * written). 0, or -1 with err.
 */
int uidlist_sync(const char *dir, struct uidlist *ul, bool *changed, char *err, size_t errlen);

/*
 * Gives the files with these base names, just put into dir's new/ or cur/
 * by the caller, the next UIDs in this order (uids[i] for bases[i]), under
 * the lock: what APPEND, COPY and MOVE answer (RFC 4315). Should the list
 * not be written (a crash), the next sync gives them UIDs: nothing is lost.
 * 0, or -1 with err.
 */
int uidlist_assign(const char *dir, const char *const *bases, size_t n, uint32_t *uids,
                   uint32_t *uidvalidity, char *err, size_t errlen);

void uidlist_free(struct uidlist *ul);

/* ---- keywords ---- */

#define UIDLIST_KEYWORDS_MAX 26

struct keywords {
	char *names[UIDLIST_KEYWORDS_MAX]; /* index i is the letter 'a' + i */
	size_t n;
};

/* Reads dir's dovecot-keywords (missing: none). 0, or -1 with err. */
int keywords_read(const char *dir, struct keywords *kw, char *err, size_t errlen);
/* The index of name (case-sensitive, as Dovecot), adding it when add is
 * set and there is room; -1 when absent or full. *added says whether it was new. */
int keywords_index(struct keywords *kw, const char *name, bool add, bool *added);
/* Writes dir's dovecot-keywords (new file + rename). 0, or -1 with err. */
int keywords_write(const char *dir, const struct keywords *kw, char *err, size_t errlen);
void keywords_free(struct keywords *kw);

#endif
