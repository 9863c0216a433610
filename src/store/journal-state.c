/*
 * The journal's records and the state they build (journal.h): the record
 * format, the per-folder hash tables of ids, and replay.
 *
 * File: the header "CRLJ" + u32 version, then records, each
 *   u32 len (of kind + payload), u32 crc32 (of len, kind, payload), u8 kind, payload.
 * Integers are little-endian; sN is a string after an N-bit length.
 *   'F' folder     u32 no, u32 uidvalidity, u32 uidmax, s16 name
 *   'V' validity   u32 no, u32 uidvalidity (a change resets the folder)
 *   'I' intent     u32 no, u64 msgid, s8 id, u16 n, n * (u8 action kind, s16 folder, s16 name)
 *   'D' done       u32 no, u64 msgid, s8 id
 *   'X' deleted    u32 no, s8 id
 *   'G' forget     u32 no, s8 id
 *   'L' legacy     u32 no, u32 n, n * u64 Message-ID hash
 *   'C' clear      u32 no (drop the legacy hashes)
 *   'A' outcome    u32 no, u16 action index, u8 outcome, u16 attempts, u64 time, s8 id
 *   'M' mark       u32 no, u32 uidvalidity, u32 uidnext, u64 highestmodseq (every
 *                  other record about the folder forgets it)
 * Folder numbers count 'F' records in order. Every live call encodes its
 * record and applies it through the function the replay uses, so memory
 * and file cannot disagree.
 */
#include "store/journal-int.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"

struct rd {
	const unsigned char *p;
	size_t n;
	bool bad;
};

/* CRC-32 (the zlib polynomial), a byte at a time: replay checks every byte of the file. */
static uint32_t crc32_update(uint32_t crc, const unsigned char *p, size_t n)
{
	static const uint32_t t[256] = {
	    0x00000000, 0x77073096, 0xee0e612c, 0x990951ba, 0x076dc419, 0x706af48f, 0xe963a535,
	    0x9e6495a3, 0x0edb8832, 0x79dcb8a4, 0xe0d5e91e, 0x97d2d988, 0x09b64c2b, 0x7eb17cbd,
	    0xe7b82d07, 0x90bf1d91, 0x1db71064, 0x6ab020f2, 0xf3b97148, 0x84be41de, 0x1adad47d,
	    0x6ddde4eb, 0xf4d4b551, 0x83d385c7, 0x136c9856, 0x646ba8c0, 0xfd62f97a, 0x8a65c9ec,
	    0x14015c4f, 0x63066cd9, 0xfa0f3d63, 0x8d080df5, 0x3b6e20c8, 0x4c69105e, 0xd56041e4,
	    0xa2677172, 0x3c03e4d1, 0x4b04d447, 0xd20d85fd, 0xa50ab56b, 0x35b5a8fa, 0x42b2986c,
	    0xdbbbc9d6, 0xacbcf940, 0x32d86ce3, 0x45df5c75, 0xdcd60dcf, 0xabd13d59, 0x26d930ac,
	    0x51de003a, 0xc8d75180, 0xbfd06116, 0x21b4f4b5, 0x56b3c423, 0xcfba9599, 0xb8bda50f,
	    0x2802b89e, 0x5f058808, 0xc60cd9b2, 0xb10be924, 0x2f6f7c87, 0x58684c11, 0xc1611dab,
	    0xb6662d3d, 0x76dc4190, 0x01db7106, 0x98d220bc, 0xefd5102a, 0x71b18589, 0x06b6b51f,
	    0x9fbfe4a5, 0xe8b8d433, 0x7807c9a2, 0x0f00f934, 0x9609a88e, 0xe10e9818, 0x7f6a0dbb,
	    0x086d3d2d, 0x91646c97, 0xe6635c01, 0x6b6b51f4, 0x1c6c6162, 0x856530d8, 0xf262004e,
	    0x6c0695ed, 0x1b01a57b, 0x8208f4c1, 0xf50fc457, 0x65b0d9c6, 0x12b7e950, 0x8bbeb8ea,
	    0xfcb9887c, 0x62dd1ddf, 0x15da2d49, 0x8cd37cf3, 0xfbd44c65, 0x4db26158, 0x3ab551ce,
	    0xa3bc0074, 0xd4bb30e2, 0x4adfa541, 0x3dd895d7, 0xa4d1c46d, 0xd3d6f4fb, 0x4369e96a,
	    0x346ed9fc, 0xad678846, 0xda60b8d0, 0x44042d73, 0x33031de5, 0xaa0a4c5f, 0xdd0d7cc9,
	    0x5005713c, 0x270241aa, 0xbe0b1010, 0xc90c2086, 0x5768b525, 0x206f85b3, 0xb966d409,
	    0xce61e49f, 0x5edef90e, 0x29d9c998, 0xb0d09822, 0xc7d7a8b4, 0x59b33d17, 0x2eb40d81,
	    0xb7bd5c3b, 0xc0ba6cad, 0xedb88320, 0x9abfb3b6, 0x03b6e20c, 0x74b1d29a, 0xead54739,
	    0x9dd277af, 0x04db2615, 0x73dc1683, 0xe3630b12, 0x94643b84, 0x0d6d6a3e, 0x7a6a5aa8,
	    0xe40ecf0b, 0x9309ff9d, 0x0a00ae27, 0x7d079eb1, 0xf00f9344, 0x8708a3d2, 0x1e01f268,
	    0x6906c2fe, 0xf762575d, 0x806567cb, 0x196c3671, 0x6e6b06e7, 0xfed41b76, 0x89d32be0,
	    0x10da7a5a, 0x67dd4acc, 0xf9b9df6f, 0x8ebeeff9, 0x17b7be43, 0x60b08ed5, 0xd6d6a3e8,
	    0xa1d1937e, 0x38d8c2c4, 0x4fdff252, 0xd1bb67f1, 0xa6bc5767, 0x3fb506dd, 0x48b2364b,
	    0xd80d2bda, 0xaf0a1b4c, 0x36034af6, 0x41047a60, 0xdf60efc3, 0xa867df55, 0x316e8eef,
	    0x4669be79, 0xcb61b38c, 0xbc66831a, 0x256fd2a0, 0x5268e236, 0xcc0c7795, 0xbb0b4703,
	    0x220216b9, 0x5505262f, 0xc5ba3bbe, 0xb2bd0b28, 0x2bb45a92, 0x5cb36a04, 0xc2d7ffa7,
	    0xb5d0cf31, 0x2cd99e8b, 0x5bdeae1d, 0x9b64c2b0, 0xec63f226, 0x756aa39c, 0x026d930a,
	    0x9c0906a9, 0xeb0e363f, 0x72076785, 0x05005713, 0x95bf4a82, 0xe2b87a14, 0x7bb12bae,
	    0x0cb61b38, 0x92d28e9b, 0xe5d5be0d, 0x7cdcefb7, 0x0bdbdf21, 0x86d3d2d4, 0xf1d4e242,
	    0x68ddb3f8, 0x1fda836e, 0x81be16cd, 0xf6b9265b, 0x6fb077e1, 0x18b74777, 0x88085ae6,
	    0xff0f6a70, 0x66063bca, 0x11010b5c, 0x8f659eff, 0xf862ae69, 0x616bffd3, 0x166ccf45,
	    0xa00ae278, 0xd70dd2ee, 0x4e048354, 0x3903b3c2, 0xa7672661, 0xd06016f7, 0x4969474d,
	    0x3e6e77db, 0xaed16a4a, 0xd9d65adc, 0x40df0b66, 0x37d83bf0, 0xa9bcae53, 0xdebb9ec5,
	    0x47b2cf7f, 0x30b5ffe9, 0xbdbdf21c, 0xcabac28a, 0x53b39330, 0x24b4a3a6, 0xbad03605,
	    0xcdd70693, 0x54de5729, 0x23d967bf, 0xb3667a2e, 0xc4614ab8, 0x5d681b02, 0x2a6f2b94,
	    0xb40bbe37, 0xc30c8ea1, 0x5a05df1b, 0x2d02ef8d,
	};

	for (size_t i = 0; i < n; i++)
		crc = (crc >> 8) ^ t[(crc ^ p[i]) & 0xff];
	return crc;
}

static uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

static uint64_t hash_bytes(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ULL;
	return mix64(h);
}

uint64_t journal_msgid_hash(const char *msgid, size_t len)
{
	uint64_t h;

	while (len && (*msgid == ' ' || *msgid == '\t' || *msgid == '\r' || *msgid == '\n')) {
		msgid++;
		len--;
	}
	while (len && (msgid[len - 1] == ' ' || msgid[len - 1] == '\t' || msgid[len - 1] == '\r' ||
	               msgid[len - 1] == '\n'))
		len--;
	h = hash_bytes(msgid, len);
	return h ? h : 1;
}

/* ---- encoding and decoding ---- */

void jr_put(struct buf *b, const void *p, size_t n)
{
	/* Callers check the room first (jr_room()), so a failure is a bug. */
	if (buf_append(b, p, n) < 0)
		fatal("journal: record buffer over its cap");
}

void jr_put_int(struct buf *b, uint64_t v, size_t width)
{
	unsigned char t[8];

	for (size_t i = 0; i < width; i++)
		t[i] = (unsigned char)(v >> (8 * i));
	jr_put(b, t, width);
}

void jr_put_str(struct buf *b, const char *s, size_t len, size_t width)
{
	jr_put_int(b, len, width);
	jr_put(b, s, len);
}

bool jr_room(const struct buf *b, size_t need)
{
	return need <= b->max - b->len;
}

size_t jr_rec_begin(struct buf *b, char kind)
{
	size_t off = b->len;

	jr_put_int(b, 0, REC_HDR);
	jr_put(b, &kind, 1);
	return off;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t rec_crc(const unsigned char *rec, uint32_t len)
{
	uint32_t crc = crc32_update(0xffffffffu, rec, 4);

	return crc32_update(crc, rec + REC_HDR, len) ^ 0xffffffffu;
}

static void rec_end(struct buf *b, size_t off)
{
	unsigned char *p = (unsigned char *)b->data + off;
	uint32_t len = (uint32_t)(b->len - off - REC_HDR), crc;

	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(len >> (8 * i));
	crc = rec_crc(p, len);
	for (int i = 0; i < 4; i++)
		p[4 + i] = (unsigned char)(crc >> (8 * i));
}

/* Length of the whole valid record at p, or 0 for a torn or damaged one. */
size_t jr_rec_valid(const unsigned char *p, size_t avail)
{
	uint32_t len;

	if (avail < REC_HDR + 1)
		return 0;
	len = le32(p);
	if (len < 1 || len > REC_MAX || len > avail - REC_HDR)
		return 0;
	return rec_crc(p, len) == le32(p + 4) ? REC_HDR + len : 0;
}

static const unsigned char *rd_take(struct rd *r, size_t n)
{
	const unsigned char *p = r->p;

	if (r->bad || n > r->n) {
		r->bad = true;
		return NULL;
	}
	r->p += n;
	r->n -= n;
	return p;
}

static uint64_t rd_int(struct rd *r, size_t width)
{
	const unsigned char *p = rd_take(r, width);
	uint64_t v = 0;

	for (size_t i = width; p && i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

/* A string of 1..max bytes. */
static const char *rd_str(struct rd *r, size_t width, size_t max, size_t *len)
{
	*len = (size_t)rd_int(r, width);
	if (*len < 1 || *len > max)
		r->bad = true;
	return (const char *)rd_take(r, *len);
}

/* ---- per-folder tables ---- */

const char *jr_ent_id(const struct journal_folder *f, const struct jent *e)
{
	return f->ids.data + e->id_off;
}

static size_t slot_find(const struct journal_folder *f, const char *id, size_t len, uint32_t h)
{
	size_t mask = f->nslots - 1, i;

	for (i = h & mask; f->slots[i]; i = (i + 1) & mask) {
		const struct jent *e = &f->ents[f->slots[i] - 1];

		if (e->hash == h && e->id_len == len && memcmp(jr_ent_id(f, e), id, len) == 0)
			break;
	}
	return i;
}

struct jent *jr_ent_find(const struct journal_folder *f, const char *id, size_t len)
{
	size_t i = slot_find(f, id, len, (uint32_t)hash_bytes(id, len));

	return f->slots[i] ? &f->ents[f->slots[i] - 1] : NULL;
}

static void slots_rebuild(struct journal_folder *f, size_t nslots)
{
	size_t mask = nslots - 1;

	free(f->slots);
	f->slots = xcalloc(nslots, sizeof(*f->slots));
	f->nslots = nslots;
	for (size_t k = 0; k < f->n; k++) {
		size_t i = f->ents[k].hash & mask;

		while (f->slots[i])
			i = (i + 1) & mask;
		f->slots[i] = (uint32_t)(k + 1);
	}
}

/* Finds or adds an id (state ST_NONE when new); NULL when the ids are over their cap. */
static struct jent *ent_get(struct journal_folder *f, const char *id, size_t len)
{
	uint32_t h = (uint32_t)hash_bytes(id, len);
	size_t i = slot_find(f, id, len, h);
	struct jent *e;

	if (f->slots[i])
		return &f->ents[f->slots[i] - 1];
	if (f->n >= UINT32_MAX - 1 || f->ids.len > UINT32_MAX - len ||
	    buf_append(&f->ids, id, len) < 0)
		return NULL;
	f->ents = xreallocarray_grow(f->ents, &f->cap, f->n + 1, sizeof(*f->ents));
	e = &f->ents[f->n];
	*e = (struct jent){
	    .id_off = (uint32_t)(f->ids.len - len), .hash = h, .id_len = (uint8_t)len};
	f->slots[i] = (uint32_t)++f->n;
	/* Keep the load under 3/4 so that probes stay short. */
	if (f->n * 4 > f->nslots * 3)
		slots_rebuild(f, f->nslots * 2);
	return &f->ents[f->n - 1];
}

static void ent_set(struct journal_folder *f, struct jent *e, uint8_t state, struct jintent *in)
{
	f->nintents -= e->state == ST_INTENT;
	f->ndeleted -= e->state == ST_DELETED;
	free(e->intent);
	e->intent = in;
	e->state = state;
	f->nintents += state == ST_INTENT;
	f->ndeleted += state == ST_DELETED;
}

static void ent_remove(struct journal_folder *f, size_t slot)
{
	size_t mask = f->nslots - 1, idx = f->slots[slot] - 1, last = f->n - 1, i = slot, k;

	ent_set(f, &f->ents[idx], ST_NONE, NULL);
	/* Backward-shift deletion: no tombstones, every probe chain stays unbroken. */
	for (k = (i + 1) & mask; f->slots[k]; k = (k + 1) & mask) {
		size_t home = f->ents[f->slots[k] - 1].hash & mask;

		if (((k - home) & mask) >= ((k - i) & mask)) {
			f->slots[i] = f->slots[k];
			i = k;
		}
	}
	f->slots[i] = 0;
	if (idx != last) {
		f->ents[idx] = f->ents[last];
		for (k = f->ents[idx].hash & mask; f->slots[k] != last + 1; k = (k + 1) & mask)
			;
		f->slots[k] = (uint32_t)(idx + 1);
	}
	f->n--;
}

static void note_uid(struct journal_folder *f, const struct jent *e)
{
	const char *s = jr_ent_id(f, e);
	uint64_t v = 0;

	if (e->id_len > 10)
		return;
	for (size_t i = 0; i < e->id_len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v <= UINT32_MAX && v > f->uidmax)
		f->uidmax = (uint32_t)v;
}

static void legacy_insert(uint64_t *set, size_t nslots, uint64_t h)
{
	size_t i = mix64(h) & (nslots - 1);

	while (set[i] && set[i] != h)
		i = (i + 1) & (nslots - 1);
	set[i] = h;
}

static void legacy_add(struct journal_folder *f, uint64_t h)
{
	if (!h || journal_msgid_known(f, h))
		return;
	if ((f->nlegacy + 1) * 2 > f->legacy_slots) {
		size_t n = f->legacy_slots ? f->legacy_slots * 2 : 64;
		uint64_t *set = xcalloc(n, sizeof(*set));

		for (size_t i = 0; i < f->legacy_slots; i++)
			if (f->legacy[i])
				legacy_insert(set, n, f->legacy[i]);
		free(f->legacy);
		f->legacy = set;
		f->legacy_slots = n;
	}
	legacy_insert(f->legacy, f->legacy_slots, h);
	f->nlegacy++;
}

static void legacy_clear(struct journal_folder *f)
{
	free(f->legacy);
	f->legacy = NULL;
	f->nlegacy = f->legacy_slots = 0;
}

/* A new UIDVALIDITY: ids mean nothing any more; what was delivered stays known by Message-ID. */
static void folder_reset(struct journal_folder *f)
{
	for (size_t i = 0; i < f->n; i++) {
		if (f->ents[i].state != ST_INTENT)
			legacy_add(f, f->ents[i].msgid);
		free(f->ents[i].intent);
	}
	f->n = f->nintents = f->ndeleted = 0;
	memset(f->slots, 0, f->nslots * sizeof(*f->slots));
	buf_reset(&f->ids);
	f->uidmax = 0;
}

void jr_folder_free(struct journal_folder *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->ents[i].intent);
	free(f->ents);
	free(f->slots);
	free(f->legacy);
	buf_free(&f->ids);
	free(f->name);
	free(f);
}

/* ---- applying records (replay and live calls) ---- */

typedef const char *(*apply_fn)(struct journal *j, struct journal_folder *f, struct rd *r);

static const char *apply_folder(struct journal *j, struct journal_folder *f, struct rd *r)
{
	uint32_t no = (uint32_t)rd_int(r, 4);
	uint32_t uidvalidity = (uint32_t)rd_int(r, 4), uidmax = (uint32_t)rd_int(r, 4);
	size_t len;
	const char *name = rd_str(r, 2, JOURNAL_NAME_MAX, &len);

	(void)f;
	if (r->bad)
		return "malformed folder record";
	if (no != j->nfolders)
		return "folder numbers out of order";
	for (size_t i = 0; i < j->nfolders; i++)
		if (strlen(j->folders[i]->name) == len && !memcmp(j->folders[i]->name, name, len))
			return "folder defined twice";
	f = xcalloc(1, sizeof(*f));
	f->name = xstrndup(name, len);
	f->j = j;
	f->no = (uint32_t)j->nfolders;
	f->uidvalidity = uidvalidity;
	f->uidmax = uidmax;
	f->nslots = 16;
	f->slots = xcalloc(f->nslots, sizeof(*f->slots));
	buf_init(&f->ids, IDS_MAX);
	j->folders =
	    xreallocarray_grow(j->folders, &j->folders_cap, j->nfolders + 1, sizeof(*j->folders));
	j->folders[j->nfolders++] = f;
	return NULL;
}

static const char *apply_validity(struct journal *j, struct journal_folder *f, struct rd *r)
{
	uint32_t v = (uint32_t)rd_int(r, 4);

	(void)j;
	if (!r->bad && v != f->uidvalidity) {
		folder_reset(f);
		f->uidvalidity = v;
	}
	return NULL;
}

/* Checks the targets part of an intent and returns a copy of it. */
static struct jintent *targets_copy(struct rd *r)
{
	const unsigned char *start = r->p;
	size_t n = (size_t)rd_int(r, 2), len;
	struct jintent *in;

	if (n > JOURNAL_TARGETS_MAX)
		r->bad = true;
	for (size_t i = 0; i < n && !r->bad; i++) {
		if (rd_int(r, 1) > JOURNAL_PIPE)
			r->bad = true;
		rd_str(r, 2, JOURNAL_NAME_MAX, &len);
		rd_str(r, 2, JOURNAL_ID_MAX, &len);
	}
	if (r->bad)
		return NULL;
	in = xcalloc(1, sizeof(*in) + (size_t)(r->p - start) + n);
	in->len = (size_t)(r->p - start);
	in->ntargets = (uint16_t)n;
	memcpy(in->data, start, in->len);
	return in;
}

static const char *apply_intent(struct journal *j, struct journal_folder *f, struct rd *r)
{
	uint64_t msgid = rd_int(r, 8);
	size_t len;
	const char *id = rd_str(r, 1, JOURNAL_ID_MAX, &len);
	struct jintent *in = targets_copy(r);
	struct jent *e;

	(void)j;
	if (!in)
		return "malformed intent record";
	if (!(e = ent_get(f, id, len))) {
		free(in);
		return "too many ids";
	}
	ent_set(f, e, ST_INTENT, in);
	e->msgid = msgid;
	return NULL;
}

static const char *apply_done(struct journal *j, struct journal_folder *f, struct rd *r)
{
	uint64_t msgid = rd_int(r, 8);
	size_t len;
	const char *id = rd_str(r, 1, JOURNAL_ID_MAX, &len);
	struct jent *e;

	(void)j;
	if (r->bad)
		return "malformed done record";
	if (!(e = ent_get(f, id, len)))
		return "too many ids";
	ent_set(f, e, ST_DONE, NULL);
	e->msgid = msgid;
	note_uid(f, e);
	return NULL;
}

static const char *apply_deleted(struct journal *j, struct journal_folder *f, struct rd *r)
{
	size_t len;
	const char *id = rd_str(r, 1, JOURNAL_ID_MAX, &len);
	struct jent *e;

	(void)j;
	if (r->bad)
		return "malformed deleted record";
	if (!(e = ent_get(f, id, len)))
		return "too many ids";
	ent_set(f, e, ST_DELETED, NULL);
	note_uid(f, e);
	return NULL;
}

static const char *apply_forget(struct journal *j, struct journal_folder *f, struct rd *r)
{
	size_t len, slot;
	const char *id = rd_str(r, 1, JOURNAL_ID_MAX, &len);

	(void)j;
	if (r->bad)
		return "malformed forget record";
	slot = slot_find(f, id, len, (uint32_t)hash_bytes(id, len));
	if (f->slots[slot])
		ent_remove(f, slot);
	return NULL;
}

static const char *apply_legacy(struct journal *j, struct journal_folder *f, struct rd *r)
{
	size_t n = (size_t)rd_int(r, 4);

	(void)j;
	if (r->bad || n > r->n / 8 || r->n != n * 8)
		return "malformed legacy record";
	for (size_t i = 0; i < n; i++)
		legacy_add(f, rd_int(r, 8));
	return NULL;
}

static const char *apply_clear(struct journal *j, struct journal_folder *f, struct rd *r)
{
	(void)j;
	(void)r;
	legacy_clear(f);
	return NULL;
}

/* One action's outcome, kept with the pending intent (SMTP forwards retried alone). */
static const char *apply_outcome(struct journal *j, struct journal_folder *f, struct rd *r)
{
	size_t idx = (size_t)rd_int(r, 2), len;
	unsigned outcome = (unsigned)rd_int(r, 1), attempts = (unsigned)rd_int(r, 2);
	int64_t when = (int64_t)rd_int(r, 8);
	const char *id = rd_str(r, 1, JOURNAL_ID_MAX, &len);
	struct jent *e;

	(void)j;
	if (r->bad || outcome > JOURNAL_RETRY)
		return "malformed outcome record";
	e = jr_ent_find(f, id, len);
	/* An outcome for an id that is no longer pending changes nothing. */
	if (e == NULL || e->state != ST_INTENT || idx >= e->intent->ntargets)
		return NULL;
	e->intent->data[e->intent->len + idx] = (unsigned char)outcome;
	if (outcome == JOURNAL_RETRY) {
		e->intent->attempts = (uint16_t)attempts;
		e->intent->last_try = when;
	}
	return NULL;
}

static const char *apply_mark(struct journal *j, struct journal_folder *f, struct rd *r)
{
	struct journal_mark m;

	(void)j;
	m.uidvalidity = (uint32_t)rd_int(r, 4);
	m.uidnext = (uint32_t)rd_int(r, 4);
	m.highestmodseq = rd_int(r, 8);
	if (r->bad || m.uidvalidity == 0 || m.uidnext == 0 || m.highestmodseq == 0)
		return "malformed mark record";
	/* A mark for another UIDVALIDITY says nothing about this one. */
	f->marked = m.uidvalidity == f->uidvalidity && f->nintents == 0;
	f->mark = m;
	return NULL;
}

void jr_put_mark(struct buf *b, uint32_t no, const struct journal_mark *m)
{
	jr_put_int(b, no, 4);
	jr_put_int(b, m->uidvalidity, 4);
	jr_put_int(b, m->uidnext, 4);
	jr_put_int(b, m->highestmodseq, 8);
}

/* The 'A' record of one outcome (live calls and compaction). */
void jr_put_outcome(struct buf *b, uint32_t no, const char *id, size_t idlen, size_t idx,
                    unsigned outcome, unsigned attempts, int64_t when)
{
	jr_put_int(b, no, 4);
	jr_put_int(b, idx, 2);
	jr_put_int(b, outcome, 1);
	jr_put_int(b, attempts, 2);
	jr_put_int(b, (uint64_t)when, 8);
	jr_put_str(b, id, idlen, 1);
}

static const struct {
	char kind;
	bool has_folder; /* the payload starts with a folder number */
	apply_fn fn;
} apply_table[] = {
    {'F', false, apply_folder}, {'V', true, apply_validity}, {'I', true, apply_intent},
    {'D', true, apply_done},    {'X', true, apply_deleted},  {'G', true, apply_forget},
    {'L', true, apply_legacy},  {'C', true, apply_clear},    {'A', true, apply_outcome},
    {'M', true, apply_mark},
};

/* Applies one record (kind + payload). Returns NULL or why it is invalid. */
const char *jr_apply(struct journal *j, const unsigned char *rec, size_t len)
{
	struct rd r = {rec + 1, len - 1, false};
	struct journal_folder *f = NULL;
	const char *why;

	for (size_t i = 0; i < sizeof(apply_table) / sizeof(apply_table[0]); i++) {
		if (apply_table[i].kind != (char)rec[0])
			continue;
		if (apply_table[i].has_folder) {
			uint32_t no = (uint32_t)rd_int(&r, 4);

			if (r.bad || no >= j->nfolders)
				return "unknown folder number";
			f = j->folders[no];
		}
		why = apply_table[i].fn(j, f, &r);
		if (!why && (r.bad || r.n))
			why = "malformed record";
		/* Whatever changes a folder's state makes its mark stale. */
		if (!why && f != NULL && rec[0] != 'M')
			f->marked = false;
		return why;
	}
	return "unknown record kind (written by a newer corral?)";
}

/* Closes a record built in j->out at off and applies it: the one way state changes. */
void jr_emit(struct journal *j, size_t off)
{
	const char *why;

	rec_end(&j->out, off);
	why = jr_apply(j, (unsigned char *)j->out.data + off + REC_HDR, j->out.len - off - REC_HDR);
	if (why)
		fatal("journal: own record rejected: %s", why);
	j->nrec++;
}

static void encode_folder(struct buf *b, const struct journal_folder *f)
{
	size_t off = jr_rec_begin(b, 'F');

	jr_put_int(b, f->no, 4);
	jr_put_int(b, f->uidvalidity, 4);
	jr_put_int(b, f->uidmax, 4);
	jr_put_str(b, f->name, strlen(f->name), 2);
	rec_end(b, off);
	for (size_t i = 0, left = f->nlegacy; i < f->legacy_slots;) {
		size_t n = left < LEGACY_CHUNK ? left : LEGACY_CHUNK;

		off = jr_rec_begin(b, 'L');
		jr_put_int(b, f->no, 4);
		jr_put_int(b, n, 4);
		for (size_t k = 0; k < n; i++)
			if (f->legacy[i]) {
				jr_put_int(b, f->legacy[i], 8);
				k++;
			}
		rec_end(b, off);
		if (!(left -= n))
			break;
	}
}

static void encode_entry(struct buf *b, const struct journal_folder *f, const struct jent *e)
{
	size_t off = jr_rec_begin(b, e->state == ST_INTENT ? 'I' : 'D');

	jr_put_int(b, f->no, 4);
	jr_put_int(b, e->msgid, 8);
	jr_put_str(b, jr_ent_id(f, e), e->id_len, 1);
	if (e->state == ST_INTENT)
		jr_put(b, e->intent->data, e->intent->len);
	rec_end(b, off);
	for (size_t i = 0; e->state == ST_INTENT && i < e->intent->ntargets; i++) {
		unsigned oc = e->intent->data[e->intent->len + i];

		if (oc == JOURNAL_OPEN)
			continue;
		off = jr_rec_begin(b, 'A');
		jr_put_outcome(b, f->no, jr_ent_id(f, e), e->id_len, i, oc, e->intent->attempts,
		               e->intent->last_try);
		rec_end(b, off);
	}
	if (e->state == ST_DELETED) {
		off = jr_rec_begin(b, 'X');
		jr_put_int(b, f->no, 4);
		jr_put_str(b, jr_ent_id(f, e), e->id_len, 1);
		rec_end(b, off);
	}
}

/* Packs a folder's ids again, leaving out those forgotten. */
static void ids_repack(struct journal_folder *f)
{
	struct buf ids;

	buf_init(&ids, IDS_MAX);
	for (size_t i = 0; i < f->n; i++) {
		jr_put(&ids, jr_ent_id(f, &f->ents[i]), f->ents[i].id_len);
		f->ents[i].id_off = (uint32_t)(ids.len - f->ents[i].id_len);
	}
	buf_free(&f->ids);
	f->ids = ids;
}

bool journal_msgid_known(const struct journal_folder *f, uint64_t msgid)
{
	size_t mask = f->legacy_slots - 1, i;

	if (!msgid || !f->legacy_slots)
		return false;
	for (i = mix64(msgid) & mask; f->legacy[i]; i = (i + 1) & mask)
		if (f->legacy[i] == msgid)
			return true;
	return false;
}

/* Records a compaction would write. */
uint64_t jr_live_records(const struct journal *j)
{
	uint64_t live = 0;

	for (size_t i = 0; i < j->nfolders; i++) {
		const struct journal_folder *f = j->folders[i];

		live += 1 + f->n + f->ndeleted + (f->nlegacy + LEGACY_CHUNK - 1) / LEGACY_CHUNK +
		        f->marked;
	}
	return live;
}

void jr_encode_state(const struct journal *j, struct buf *b)
{
	for (size_t i = 0; i < j->nfolders; i++) {
		encode_folder(b, j->folders[i]);
		for (size_t k = 0; k < j->folders[i]->n; k++)
			encode_entry(b, j->folders[i], &j->folders[i]->ents[k]);
		/* Last: the records above would forget it. */
		if (j->folders[i]->marked) {
			size_t off = jr_rec_begin(b, 'M');

			jr_put_mark(b, j->folders[i]->no, &j->folders[i]->mark);
			rec_end(b, off);
		}
	}
}

void jr_repack_ids(struct journal *j)
{
	for (size_t i = 0; i < j->nfolders; i++)
		ids_repack(j->folders[i]);
}

/* ---- after a crash ---- */

static void pending_fill(struct journal_pending *p, const struct journal_folder *f,
                         const struct jent *e)
{
	struct rd r = {e->intent->data, e->intent->len, false};
	size_t len;

	p->folder = xstrdup(f->name);
	p->id = xstrndup(jr_ent_id(f, e), e->id_len);
	p->msgid = e->msgid;
	p->ntargets = (size_t)rd_int(&r, 2);
	p->targets = xcalloc(p->ntargets ? p->ntargets : 1, sizeof(*p->targets));
	p->attempts = e->intent->attempts;
	p->last_try = e->intent->last_try;
	for (size_t i = 0; i < p->ntargets; i++) {
		const char *s;

		p->targets[i].kind = (enum journal_action)rd_int(&r, 1);
		p->targets[i].state = (enum journal_outcome)e->intent->data[e->intent->len + i];
		s = rd_str(&r, 2, JOURNAL_NAME_MAX, &len);
		p->targets[i].folder = xstrndup(s, len);
		s = rd_str(&r, 2, JOURNAL_ID_MAX, &len);
		p->targets[i].name = xstrndup(s, len);
	}
}

size_t journal_pending(struct journal *j, struct journal_pending **out)
{
	size_t total = 0, k = 0;

	for (size_t i = 0; i < j->nfolders; i++)
		total += j->folders[i]->nintents;
	*out = NULL;
	if (!total)
		return 0;
	*out = xcalloc(total, sizeof(**out));
	for (size_t i = 0; i < j->nfolders; i++) {
		const struct journal_folder *f = j->folders[i];

		for (size_t e = 0; e < f->n; e++)
			if (f->ents[e].state == ST_INTENT)
				pending_fill(&(*out)[k++], f, &f->ents[e]);
	}
	return total;
}

void journal_pending_free(struct journal_pending *p, size_t n)
{
	for (size_t i = 0; p && i < n; i++) {
		for (size_t t = 0; t < p[i].ntargets; t++) {
			free((char *)p[i].targets[t].folder);
			free((char *)p[i].targets[t].name);
		}
		free(p[i].targets);
		free(p[i].folder);
		free(p[i].id);
	}
	free(p);
}

size_t journal_recover(struct journal *j, journal_exists_fn exists, void *arg)
{
	struct journal_pending *p;
	size_t n = journal_pending(j, &p), left = 0;

	for (size_t i = 0; i < n; i++) {
		struct journal_folder *f = journal_folder_find(j, p[i].folder);
		size_t found = 0;
		int rc;

		for (size_t t = 0; t < p[i].ntargets; t++) {
			const struct journal_target *tg = &p[i].targets[t];

			if (tg->kind == JOURNAL_MAILDIR)
				found += exists(arg, tg->folder, tg->name);
			else
				found += tg->state == JOURNAL_DONE || tg->state == JOURNAL_FAILED;
		}
		if (found == p[i].ntargets)
			rc = journal_done(f, p[i].id, NULL, 0);
		else if (found == 0)
			rc = journal_forget(f, p[i].id, NULL, 0);
		else
			rc = RES_TEMP;
		if (rc != RES_OK) {
			log_info("%s: %s %s: %zu of %zu planned deliveries done, left pending",
			         j->path, p[i].folder, p[i].id, found, p[i].ntargets);
			left++;
		}
	}
	journal_pending_free(p, n);
	return left;
}
