/*
 * The fetch journal: per account, what corral has taken from each server
 * folder, so that nothing is lost and nothing is delivered twice.
 *
 * One file per account, STATE/accounts/NAME.journal, guarded by an
 * exclusive flock on STATE/accounts/NAME.lock (a second corral fetching the
 * same account gets RES_BUSY). The file is an append-only log of
 * records, each with its length and a CRC32, so a torn or garbage tail is
 * detected, ignored and truncated on the next open. Records are buffered
 * in memory and written by journal_sync(): one write and one fdatasync per
 * call (group commit). When the log holds more than twice the records the
 * live state needs, it is rewritten (new file, fsync, rename, fsync dir).
 *
 * Per folder the journal keeps its UIDVALIDITY (0 for POP3), the highest
 * UID seen, and per message id (an IMAP UID in decimal, or a POP3 UIDL):
 *   intent   planned deliveries written, not yet known to be done;
 *   done     delivered (or skipped): "seen", never fetched again;
 *   deleted  done, and deleted on the server (still seen: a POP3 DELE only
 *            commits on QUIT, so the id is only forgotten once the server
 *            stops listing it, see journal_forget_missing()).
 *
 * Dedupe on a UIDVALIDITY change (decision): the journal, not a separate
 * store, keeps a 64-bit hash of each delivered message's Message-ID. A
 * change moves the folder's hashes into its "legacy" set and forgets its
 * ids; while refetching, the fetcher skips a message whose hash
 * journal_msgid_known() reports (and records it with journal_skip()). The
 * legacy set is dropped once every id the server lists is seen again.
 *
 * The fetcher, batch by batch:
 *   j = journal_open(); journal_recover(j, exists_fn) after a crash;
 *   f = journal_folder(j, name, uidvalidity, &changed);
 *   journal_forget_missing(f, every id the server lists);
 *   for each message not journal_seen(): journal_intent(f, id, msgid,
 *     planned targets); journal_sync(); md_batch_commit();
 *     journal_done() each; journal_sync(); (keep: false) delete on the
 *     server, journal_deleted() each, journal_sync().
 *
 * Memory: a handle is freed by journal_close() (folder handles belong to
 * their journal); strings passed in are copied; the pending list belongs
 * to the caller (journal_pending_free()).
 */
#ifndef CORRAL_JOURNAL_H
#define CORRAL_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/result.h"

/* Caps: ids (UIDLs are at most 70 bytes), names, targets per message. */
#define JOURNAL_ID_MAX      255
#define JOURNAL_NAME_MAX    1024
#define JOURNAL_TARGETS_MAX 256

/*
 * What one message's delivery plans, one entry per action (the action
 * index is the position in the list). A Maildir target is complete when
 * its file exists; a forward or pipe target when an outcome record says it
 * completed (or failed for good), so that a forward that got a 4xx is
 * retried alone and the Maildir copy is not delivered twice.
 */
enum journal_action {
	JOURNAL_MAILDIR = 0, /* folder: Maildir folder, name: planned file name */
	JOURNAL_FORWARD = 1, /* folder: "smtp", name: the recipient address */
	JOURNAL_PIPE = 2,    /* folder: "pipe", name: the command line */
};

/* The state of one action of a pending intent. */
enum journal_outcome {
	JOURNAL_OPEN = 0,   /* not done yet (or its outcome was never recorded) */
	JOURNAL_DONE = 1,   /* completed: 250 after DATA, exit 0 */
	JOURNAL_FAILED = 2, /* failed for good (5xx): the message went to corral-failed */
	JOURNAL_RETRY = 3,  /* failed temporarily; attempts and the time are recorded */
};

struct journal_target {
	const char *folder;       /* Maildir folder ("INBOX", "Lists/foo"), or "smtp" / "pipe" */
	const char *name;         /* planned base name from md_batch_add_file(), address, command */
	enum journal_action kind; /* 0 (JOURNAL_MAILDIR) when left out */
	enum journal_outcome state; /* in journal_pending(): how far this action got */
};

/* An intent without a done, found on open (strings owned by the list). */
struct journal_pending {
	char *folder; /* the server folder */
	char *id;
	uint64_t msgid;
	size_t ntargets;
	struct journal_target *targets;
	unsigned attempts; /* temporary failures recorded so far (JOURNAL_RETRY) */
	int64_t last_try;  /* Unix time of the last one, 0 when none */
};

struct journal;
struct journal_folder;

/* An account's name as a file name under STATE/accounts/ (bytes outside
 * [A-Za-z0-9_@+-.] and a leading dot as %XX); NULL for an empty name. */
char *journal_account_base(const char *account);

/*
 * Opens (creating STATE/accounts/ and the file when missing) and locks the
 * journal of an account, replays it and truncates a torn tail. Returns NULL
 * with *res and err set on failure; RES_BUSY when another process holds
 * the lock.
 */
/* For a dry run: the journal as it is, not locked, nothing created; records
 * added are applied in memory and never written. A missing file is empty. */
struct journal *journal_open_readonly(const char *state_dir, const char *account,
                                      enum res_kind *res, char *err, size_t errlen);
struct journal *journal_open(const char *state_dir, const char *account, enum res_kind *res,
                             char *err, size_t errlen);
/* Writes and syncs what is buffered (best effort), unlocks, frees. NULL is allowed. */
void journal_close(struct journal *j);
const char *journal_path(const struct journal *j);

/*
 * Selects a server folder, creating it. uidvalidity is 0 for POP3. When the
 * folder had another nonzero UIDVALIDITY, its ids and intents are forgotten,
 * their Message-ID hashes kept for dedupe, and *changed is set. Call it
 * after journal_recover(). Returns NULL for an empty or too long name, or
 * a journal that failed (or buffered 1 GiB without a sync).
 */
struct journal_folder *journal_folder(struct journal *j, const char *name, uint32_t uidvalidity,
                                      bool *changed);
/* The folder as the journal knows it, without touching its UIDVALIDITY; or NULL. */
struct journal_folder *journal_folder_find(struct journal *j, const char *name);
const char *journal_folder_name(const struct journal_folder *f);
uint32_t journal_uidvalidity(const struct journal_folder *f);
/* The highest numeric id ever done in this folder under its UIDVALIDITY (0 if none). */
uint32_t journal_max_uid(const struct journal_folder *f);
/* Number of ids the folder remembers (any state). */
size_t journal_count(const struct journal_folder *f);

/*
 * CONDSTORE (RFC 7162): what the server said of the folder before the last
 * poll after which nothing of it was left undone (every message listed
 * seen, no intent pending, nothing deferred or failed). While the server
 * says the same again, the folder holds nothing new and need not be
 * listed. Any later record about the folder (an intent, a done, a forget,
 * a UIDVALIDITY change...) forgets the mark: when in doubt, poll in full.
 */
struct journal_mark {
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq;
};
/* Buffers the mark (nothing when it is the one kept). Fails (RES_CONFIG)
 * for a value of 0 or while the folder has intents pending. */
int journal_mark(struct journal_folder *f, const struct journal_mark *m, char *err, size_t errlen);
/* The folder's mark: true with *m, false when it has none. */
bool journal_marked(const struct journal_folder *f, struct journal_mark *m);

/* True when id is done or deleted (an intent alone is not seen). */
bool journal_seen(const struct journal_folder *f, const char *id);

/*
 * Buffers an intent: id will be delivered to targets (planned names), with
 * msgid the hash of its Message-ID (0 when it has none). Replaces an
 * earlier intent for id. Fails (RES_CONFIG, err set) only on a cap.
 */
int journal_intent(struct journal_folder *f, const char *id, uint64_t msgid,
                   const struct journal_target *targets, size_t ntargets, char *err, size_t errlen);
/*
 * Buffers the outcome of action idx (its position in the intent's targets)
 * of id's pending intent: JOURNAL_DONE, JOURNAL_FAILED, or JOURNAL_RETRY
 * (the attempts so far and the time of this one). Ignored when id has no
 * pending intent.
 */
int journal_action(struct journal_folder *f, const char *id, size_t idx,
                   enum journal_outcome outcome, unsigned attempts, int64_t when, char *err,
                   size_t errlen);
/* Buffers "id is delivered": its intent is done and id is seen. */
int journal_done(struct journal_folder *f, const char *id, char *err, size_t errlen);
/* Buffers "id is seen without a delivery" (a duplicate, a discard). */
int journal_skip(struct journal_folder *f, const char *id, uint64_t msgid, char *err,
                 size_t errlen);
/* Buffers "id was deleted on the server"; it stays seen. */
int journal_deleted(struct journal_folder *f, const char *id, char *err, size_t errlen);
/* Buffers "forget id" (any state; e.g. an intent none of whose files exist). */
int journal_forget(struct journal_folder *f, const char *id, char *err, size_t errlen);

/*
 * Given every id the server lists now, forgets the ids it no longer lists
 * and, when every listed id is seen, the folder's legacy Message-ID hashes.
 * Returns the number of ids forgotten. Pass the complete listing: an id
 * left out is forgotten and would be fetched again if it reappeared.
 */
size_t journal_forget_missing(struct journal_folder *f, const char *const *ids, size_t n);

/* 64-bit hash of a Message-ID value (surrounding blanks ignored); never 0. */
uint64_t journal_msgid_hash(const char *msgid, size_t len);
/* True when msgid was delivered from this folder before its last UIDVALIDITY change. */
bool journal_msgid_known(const struct journal_folder *f, uint64_t msgid);

/*
 * Writes what is buffered with one write and makes it durable with one
 * fdatasync; may then compact the file. Call it after a batch's intents
 * (before md_batch_commit) and after its dones. On failure the handle is
 * unusable: journal_close() it and reopen (the file is then recovered).
 */
int journal_sync(struct journal *j, char *err, size_t errlen);
/* Rewrites the file with only the live state (new file, fsync, rename, fsync dir). */
int journal_compact(struct journal *j, char *err, size_t errlen);

/* Snapshot of the intents without done, in all folders. Returns the count. */
size_t journal_pending(struct journal *j, struct journal_pending **out);
void journal_pending_free(struct journal_pending *p, size_t n);

/*
 * Resolves the pending intents after a crash: for each, exists(arg, folder,
 * name) is asked for every Maildir target (md_exists); a forward or pipe
 * target counts when its outcome is JOURNAL_DONE or JOURNAL_FAILED.
 * All complete: done (the caller
 * should have synced the Maildir first, e.g. syncfs, since a crash may have
 * left links whose directory was never fsynced). None exist: forgotten, so
 * the message is fetched again. Some exist: left pending for the caller
 * (journal_pending()), who delivers only the missing targets. Buffers the
 * records (journal_sync() them) and returns the number left pending.
 */
typedef bool (*journal_exists_fn)(void *arg, const char *folder, const char *name);
size_t journal_recover(struct journal *j, journal_exists_fn exists, void *arg);

#endif
