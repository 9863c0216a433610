/*
 * The IMAP server's per-folder index: what opening and listing a Maildir
 * folder needs, so that neither reads a message file. One file per folder,
 * corral.index next to dovecot-uidlist, keyed by the messages' base names
 * (the file name up to ":2,", which a flag change does not touch):
 *
 *   size       the file's size on disk
 *   mtime      its modification time (INTERNALDATE: a rename keeps it)
 *   crlf_size  its size with CRLF line ends (RFC822.SIZE), 0 when unknown
 *   hdr        an opaque block the caller caches per message (the server
 *              keeps some header fields there), or none
 *
 * The index is a cache that can always be rebuilt: a missing, truncated,
 * corrupt (checksummed) or foreign file loads as an empty index; a file
 * whose tag (what the caller says its hdr blocks hold) differs loads
 * without the blocks. A Maildir never gives a base name to other content,
 * so an entry stays right for as long as its base name exists; entries
 * whose names were not looked up or stored since loading are stale and
 * are left out when the index is saved. Saving writes a new file and
 * renames it (not fsynced: losing it costs only a rebuild), so readers see
 * the old index or the new one; two sessions saving at once lose nothing
 * but cached entries. Bounded: at most MDINDEX_HDR_MAX bytes of hdr per
 * message, and a file over MDINDEX_FILE_MAX is not read.
 *
 * The index also keeps the folder's mod-sequences (RFC 7162), by UID: one
 * per message with a hash of the flag letters it was given for (a file
 * whose flags changed on disk since then gets a new one: the caller's to
 * give), HIGHESTMODSEQ, and the expunged UIDs with their mod-sequences,
 * at most MDINDEX_GONE_MAX of them. When that record is trimmed, or when
 * the index is rebuilt, `floor` rises: below it, expunges may be missing
 * from the record, and a client that knows no later mod-sequence must be
 * answered as if it knew none. A rebuilt index starts its mod-sequences
 * above any it may have given before (from the clock: 2^16 per second),
 * so that a client's cached mod-sequence never looks newer than the
 * folder.
 *
 * Memory: the index owns everything; the pointers mdindex_get() and
 * mdindex_modseqs() return stay valid until the entry (the record) is
 * stored again or mdindex_free().
 */
#ifndef CORRAL_STORE_MDINDEX_H
#define CORRAL_STORE_MDINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MDINDEX_NAME     "corral.index"
#define MDINDEX_HDR_MAX  8192
#define MDINDEX_FILE_MAX ((size_t)1 << 30)

struct mdindex;

struct mdindex_entry {
	uint64_t size;
	int64_t mtime;
	uint64_t crlf_size; /* 0: unknown */
	const char *hdr;    /* NULL: not cached */
	size_t hdr_len;
};

#define MDINDEX_GONE_MAX 10000

struct mdindex_modseq {
	uint32_t uid;
	uint64_t modseq;
	uint64_t flagsum; /* mdindex_flagsum() of the letters it was given for */
};

struct mdindex_gone {
	uint32_t uid;
	uint64_t modseq;
};

struct mdindex_modseqs {
	uint64_t highest;            /* HIGHESTMODSEQ: no modseq above it was given */
	uint64_t floor;              /* expunges at or below it may be missing from gone */
	struct mdindex_modseq *msgs; /* ascending UIDs */
	size_t n;
	struct mdindex_gone *gone; /* ascending modseqs */
	size_t ngone;
};

/* The hash of a message's flag letters that the record keeps. */
uint64_t mdindex_flagsum(const char *letters);

/* The index of the folder at dir, written with this tag (a short string
 * naming what the hdr blocks hold). Never NULL: anything unreadable is an
 * empty index. */
struct mdindex *mdindex_load(const char *dir, const char *tag);

/* The entry of base name base[0..blen), or NULL; marks it as in use. */
const struct mdindex_entry *mdindex_get(struct mdindex *ix, const char *base, size_t blen);

/* Stores base's entry (copied), marking it in use: e->hdr NULL keeps the
 * block the entry had; a block over MDINDEX_HDR_MAX is not kept. */
void mdindex_put(struct mdindex *ix, const char *base, size_t blen, const struct mdindex_entry *e);

/* Whether saving would change the file: an entry stored or changed, or one
 * loaded and not in use (stale). */
bool mdindex_dirty(const struct mdindex *ix);

/* Writes the entries in use as dir's index when mdindex_dirty(). 0, or -1
 * with errno (the index stays as it was in memory). */
int mdindex_save(struct mdindex *ix, const char *dir);

/* The folder's mod-sequences as loaded or last set; never NULL (a new
 * index has none, and highest = floor = the clock's start). */
const struct mdindex_modseqs *mdindex_modseqs(const struct mdindex *ix);
/* Replaces them (copied): the expunges beyond MDINDEX_GONE_MAX are trimmed,
 * the oldest first, raising floor. */
void mdindex_set_modseqs(struct mdindex *ix, const struct mdindex_modseqs *ms);
/* Whether the index was read from its file (false: new or rebuilt). */
bool mdindex_from_file(const struct mdindex *ix);
/* The mod-sequence of uid in ms, or NULL. */
const struct mdindex_modseq *mdindex_modseq_find(const struct mdindex_modseqs *ms, uint32_t uid);

void mdindex_free(struct mdindex *ix);

#endif
