/*
 * A selected folder as the IMAP server sees it: the messages of one
 * Maildir++ folder in UID order (store/uidlist.h, Dovecot's UIDs), with
 * their flags from the file names, their sizes and dates from the folder's
 * index (store/mdindex.h) or else stat(), and the keywords of
 * dovecot-keywords. Opening reads no message file. The index also keeps
 * some header fields of each message (fetch-body.h FETCH_CACHE_FIELDS),
 * once a FETCH has read it.
 *
 * Memory: a view owns everything in it; view_close() frees it.
 */
#ifndef CORRAL_IMAPD_VIEW_H
#define CORRAL_IMAPD_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store/mdindex.h"
#include "store/uidlist.h"

struct view_msg {
	uint32_t uid;
	char *path;         /* the file, absolute */
	char flags[32];     /* the letters after ":2," (DFPRST and keyword letters) */
	uint64_t size;      /* on disk (LF line ends) */
	uint64_t crlf_size; /* RFC822.SIZE once known; 0 until then */
	time_t internal;    /* the file's mtime */
	bool recent;        /* \Recent in this view (view.c mark_recent) */
	bool gone;          /* another writer removed it; the session has not said so yet */
	bool unstatted;     /* size and internal not known yet: view_msg_stat() */
	bool changed;       /* another writer changed its flags; not said yet */
	uint64_t modseq;    /* RFC 7162 mod-sequence (view-modseq.c) */
};

struct view {
	char *dir; /* the folder's directory */
	uint32_t uidvalidity, uidnext;
	struct view_msg *msgs; /* msgs[seq - 1] */
	size_t n;
	struct keywords kw;
	bool rw;   /* the session may change the folder (SELECT, not EXAMINE) */
	int watch; /* inotify on new/ and cur/, or -1 */
	int dirfd; /* the folder's directory (O_PATH), or -1: files open relative to it */
	struct mdindex *ix;
	/* Mod-sequences (view-modseq.c): the highest given; those above base
	 * were given by this view since the index was last read or written. */
	uint64_t highestmodseq, modseq_base, modseq_floor;
	struct mdindex_gone *gone; /* expunged UIDs, ascending modseqs */
	size_t ngone, gone_cap;
	bool modseq_changed;
	/* The folder's index cannot be written (a read-only directory): its
	 * mod-sequences would not last, RFC 7162 3.1.2.2 NOMODSEQ. */
	bool nomodseq;
};

/*
 * The directory of an IMAP folder name (modified UTF-7, as on the wire)
 * under root: "INBOX" is root, "A/B" is root/.A.B, as Dovecot's Maildir++
 * with "/" as the separator. NULL for a name that is not valid modified
 * UTF-7 (mail/mutf7.h) or would leave root: a leading, trailing or doubled
 * "/", a "." in a level, control characters; and for a folder that is a
 * symbolic link, or whose tmp/, new/ or cur/ is one (never followed).
 */
char *view_folder_dir(const char *root, const char *name);

/* How a folder is opened. */
enum {
	VIEW_RW = 1,    /* SELECT: messages in new/ move to cur/; the \Recent
	                   ones are claimed (this view only) */
	VIEW_WATCH = 2, /* other writers' changes are watched (view_dirty) */
};

/* Opens the folder at dir (which must exist) with VIEW_* bits. 0, or -1 with err. */
int view_open(const char *dir, unsigned how, struct view *v, char *err, size_t errlen);
/* A new folder at dir: every message that comes is \Recent to the first
 * session told of it (corral-recent). */
void view_recent_init(const char *dir);
/* Saves the index when it changed (view_save_index), frees everything. */
void view_close(struct view *v);

/* The header fields the index keeps for m, CRLF line ends (*len bytes;
 * no empty line after them), or NULL when it has none. Valid until the
 * next view_msg_remember() of m or view_close(). */
const char *view_msg_cached(struct view *v, const struct view_msg *m, size_t *len);
/* Tells the index what a FETCH learnt of m: its size, date and crlf_size
 * (when known), and the cached header fields (hdr NULL: unchanged). */
void view_msg_remember(struct view *v, const struct view_msg *m, const char *hdr, size_t len);
/* Writes the index if it changed; a failure is logged, nothing else (it
 * is rebuilt next time). */
void view_save_index(struct view *v);

/* Whether another writer (or this session) touched the folder since the
 * last call; cheap (the inotify queue is drained, no directory is read). */
bool view_dirty(struct view *v);

/*
 * Brings v up to date with the folder: messages with a UID above the last
 * one are appended; a message whose file is gone is marked gone, one whose
 * flags another writer changed is marked changed (the session reports and
 * clears both when the protocol allows it; nothing is renumbered here).
 * 0; 1 when the folder's UIDVALIDITY changed (v is left as it was: the
 * session must end); -1 with err.
 */
int view_sync(struct view *v, char *err, size_t errlen);

/* Drops the messages marked gone; calls said(seq, arg) for each, from the
 * highest sequence number down (the order EXPUNGE responses need). */
void view_drop_gone(struct view *v, void (*said)(size_t seq, void *arg), void *arg);

/*
 * RFC822.SIZE: the size with CRLF line ends. From the ",W=" field of the
 * file's base name (never of the folder's path) when a writer put one
 * there (Dovecot and corral's deliveries do); otherwise the LF line ends
 * are counted once, streaming, and kept in m. 0, or -1 when the file
 * cannot be read (*out is then 0).
 */
int view_msg_crlf_size(struct view *v, struct view_msg *m, uint64_t *out);
/* The ",W=" field of m's base name; 0 without one. */
uint64_t view_msg_name_vsize(const struct view_msg *m);

/*
 * A message the index did not know is not stat()ed when the folder opens
 * (a cold open of a large folder would pay a path lookup per message):
 * its size and date come with the first look at its file. view_msg_stat()
 * stats it by path when they are needed first; view_msg_statted() takes
 * them from the fstat() of a file that was opened anyway. -1: it is gone.
 */
struct stat;
int view_msg_stat(struct view *v, struct view_msg *m);
/* Opens m's file for reading (relative to the folder: no long path walk
 * per message), finding it again when another writer renamed it (m's path
 * and flags follow, m is marked changed); -1 with errno. The one way
 * message files are read. */
int view_msg_open(struct view *v, struct view_msg *m);
void view_msg_statted(struct view *v, struct view_msg *m, const struct stat *st);

/* The first message at or after from whose UID is at least uid (v->n when
 * none): a binary search, UIDs ascend. */
size_t view_uid_at_least(const struct view *v, size_t from, uint32_t uid);

/* Finds m's file again after another writer renamed it; 0 or -1 (gone). */
int view_locate(const struct view *v, struct view_msg *m);

/* Changes (view-flags.c). "FLAGS (...)" of m: system flags, keywords of v
 * and \Recent. */
struct buf;
void view_msg_put_flags(const struct view *v, const struct view_msg *m, struct buf *out);
/* The letters of a message after a change: mode '=' replaces the flags IMAP
 * knows (other letters stay), '+' adds, '-' removes the letters set in
 * want (want[c] != 0); sorted. */
void view_flags_apply(const char *old, const char want[128], char mode, char *out, size_t outlen);
/* Renames m to carry these letters after ":2," (the same change made to
 * the flags another writer gave it meanwhile); -1 when it is gone. */
int view_msg_set_flags(struct view *v, struct view_msg *m, const char *letters);
/* Unlinks the \Deleted messages (of uids when not NULL) and marks them
 * gone: the session says EXPUNGE for them (view_drop_gone). */
struct seqset;
void view_expunge_deleted(struct view *v, const struct seqset *uids);

/*
 * Mod-sequences (view-modseq.c, RFC 7162), kept in the folder's index by
 * UID with a hash of the flags they were given for. Every change the view
 * sees or makes gets the next one: a message new to the index, one whose
 * flags differ from the hash (another writer renamed it), a flag change of
 * this session, an expunge (recorded by UID, for VANISHED (EARLIER)).
 * Saving merges with what other sessions saved meanwhile, under the UID
 * list's lock: the mod-sequences this view gave are moved above theirs,
 * so that no two changes share one and none is ever lowered.
 */
/* From the index, before the first view_sync(). */
void view_modseq_init(struct view *v);
/* A message added to the view: its kept mod-sequence when its flags are
 * those it was given for, else a new one. */
void view_modseq_added(struct view *v, struct view_msg *m);
/* m changed (flags): a new mod-sequence. */
void view_modseq_bump(struct view *v, struct view_msg *m);
/* m left the folder: its UID is recorded as expunged. */
void view_modseq_expunged(struct view *v, const struct view_msg *m);
/* At the first view_sync(): the UIDs the index knew that ul has not. */
void view_modseq_opened(struct view *v, const struct uidlist *ul);
/* Merges and writes the index when a mod-sequence changed; 0 or -1. */
int view_modseq_save(struct view *v);
/* Whether an expunge after modseq may be missing from v->gone. */
bool view_modseq_forgot(const struct view *v, uint64_t modseq);

#endif
