/*
 * Internals shared by journal.c (files, locking, the public calls) and
 * journal-state.c (the record format, the in-memory tables, replay).
 * Nothing outside the journal includes this.
 */
#ifndef CORRAL_JOURNAL_INT_H
#define CORRAL_JOURNAL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/journal.h"
#include "util/buf.h"

#define REC_HDR      8          /* u32 len + u32 crc */
#define REC_MAX      (1u << 20) /* kind + payload */
#define FILE_MAX     ((size_t)1 << 30)
#define IDS_MAX      ((size_t)1 << 30)
#define LEGACY_CHUNK 4096

enum jstate { ST_NONE, ST_INTENT, ST_DONE, ST_DELETED };

/* The targets part of an 'I' record (u16 n, then n targets), kept while
 * pending, then one outcome byte per target (at data + len). */
struct jintent {
	size_t len;
	uint16_t ntargets;
	uint16_t attempts; /* of the last JOURNAL_RETRY outcome */
	int64_t last_try;
	unsigned char data[];
};

struct jent {
	uint64_t msgid;
	struct jintent *intent;
	uint32_t id_off; /* in the folder's ids */
	uint32_t hash;
	uint8_t id_len;
	uint8_t state;
	uint8_t mark; /* scratch for journal_forget_missing() */
};

struct journal_folder {
	char *name;
	uint32_t no, uidvalidity, uidmax;
	struct jent *ents; /* dense */
	size_t n, cap;
	uint32_t *slots; /* linear probing, power of two: 0 empty, else entry index + 1 */
	size_t nslots;
	struct buf ids; /* the ids back to back; forgotten ones stay until compaction */
	size_t nintents, ndeleted;
	bool marked; /* an 'M' record since the last change */
	struct journal_mark mark;
	uint64_t *legacy; /* set of Message-ID hashes, 0 = empty slot */
	size_t nlegacy, legacy_slots;
	struct journal *j;
};

struct journal {
	char *dir, *path, *tmp_path, *lock_path;
	int fd, lock_fd;
	struct journal_folder **folders; /* index == folder number */
	size_t nfolders, folders_cap;
	struct buf out; /* records not yet written */
	uint64_t nrec;  /* records in the file and the buffer */
	bool failed;
	bool readonly; /* journal_open_readonly(): records are applied, never written */
};

/* Building records: check jr_room() first, then the puts cannot fail. */
bool jr_room(const struct buf *b, size_t need);
size_t jr_rec_begin(struct buf *b, char kind);
void jr_put(struct buf *b, const void *p, size_t n);
void jr_put_int(struct buf *b, uint64_t v, size_t width);
void jr_put_str(struct buf *b, const char *s, size_t len, size_t width);
/* The payload of an 'A' (outcome) record. */
void jr_put_outcome(struct buf *b, uint32_t no, const char *id, size_t idlen, size_t idx,
                    unsigned outcome, unsigned attempts, int64_t when);
/* The payload of an 'M' (mark) record. */
void jr_put_mark(struct buf *b, uint32_t no, const struct journal_mark *m);
/* Closes the record begun at off in j->out and applies it to the state. */
void jr_emit(struct journal *j, size_t off);

/* Length of the whole valid record at p, or 0 for a torn or damaged one. */
size_t jr_rec_valid(const unsigned char *p, size_t avail);
/* Applies one record (kind + payload): NULL, or why it is invalid. */
const char *jr_apply(struct journal *j, const unsigned char *rec, size_t len);

const char *jr_ent_id(const struct journal_folder *f, const struct jent *e);
struct jent *jr_ent_find(const struct journal_folder *f, const char *id, size_t len);
void jr_folder_free(struct journal_folder *f);

/* Records a compaction would write; jr_encode_state() writes them into b. */
uint64_t jr_live_records(const struct journal *j);
void jr_encode_state(const struct journal *j, struct buf *b);
/* Packs the folders' ids again, leaving out those forgotten. */
void jr_repack_ids(struct journal *j);

#endif
