#include "store/mdindex.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

/*
 * The file, in this machine's byte order (another machine reads a wrong
 * version and rebuilds):
 *   "CORRALIX" u32 version, u32 tag length, the tag, u32 entry count,
 *   per entry: u32 base length, u32 hdr length (NO_HDR: none), u64 size,
 *              i64 mtime, u64 crlf_size, the base name, the hdr block;
 *   u64 highest modseq, u64 floor, u32 count, per message: u32 uid,
 *   u64 modseq, u64 flagsum; u32 count, per expunge: u32 uid, u64 modseq;
 *   u64 checksum of everything before it.
 * Version 1 had no mod-sequences: it loads as an index to rebuild (its
 * entries are a cache; its messages get new mod-sequences).
 */
#define MAGIC     "CORRALIX"
#define VERSION   2u
#define NO_HDR    UINT32_MAX
#define BASE_MAX  255
#define TAG_MAX   4096
#define ENTRY_FIX (4 + 4 + 8 + 8 + 8)

struct ent {
	const char *base;
	uint32_t blen;
	struct mdindex_entry e;
	bool base_owned, hdr_owned;
	bool used;   /* looked up or stored since loading */
	bool loaded; /* came from the file */
};

struct mdindex {
	char *tag;
	void *map; /* the file, mapped; entries point into it */
	size_t map_len;
	struct ent *ents;
	size_t n, cap;
	uint32_t *slots; /* open addressing: entry number + 1, 0 empty */
	size_t nslots;
	size_t stale; /* loaded and not in use */
	bool changed;
	struct mdindex_modseqs ms; /* owned arrays */
	bool ms_changed;
	bool from_file;
};

/* A checksum fed in pieces, eight bytes at a time where it can. */
struct sum {
	uint64_t h, word;
	unsigned have;
};

static void sum_word(struct sum *s, uint64_t w)
{
	s->h ^= w;
	s->h *= 0x9E3779B97F4A7C15ull;
	s->h ^= s->h >> 29;
}

static void sum_add(struct sum *s, const void *data, size_t n)
{
	const unsigned char *p = data;

	while (n > 0 && s->have > 0) {
		s->word |= (uint64_t)*p++ << (8 * s->have);
		n--;
		if (++s->have == 8) {
			sum_word(s, s->word);
			s->word = 0;
			s->have = 0;
		}
	}
	for (; n >= 8; n -= 8, p += 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		sum_word(s, w);
	}
	for (; n > 0; n--, s->have++)
		s->word |= (uint64_t)*p++ << (8 * s->have);
}

static uint64_t sum_end(struct sum *s)
{
	sum_word(s, s->word ^ ((uint64_t)s->have << 56));
	return s->h;
}

static uint64_t hash_name(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	/* The table uses the low bits: mix the high ones in (names differ
	 * mostly in their middle). */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

/* A table for at least min entries, holding the ones there are. */
static void rehash(struct mdindex *ix, size_t min)
{
	size_t want = 64;

	while (want < (ix->n > min ? ix->n : min) * 2 + 2)
		want *= 2;
	free(ix->slots);
	ix->nslots = want;
	ix->slots = xcalloc(want, sizeof(*ix->slots));
	for (size_t i = 0; i < ix->n; i++) {
		size_t k = hash_name(ix->ents[i].base, ix->ents[i].blen) & (want - 1);

		while (ix->slots[k] != 0)
			k = (k + 1) & (want - 1);
		ix->slots[k] = (uint32_t)i + 1;
	}
}

/* The slot of base: its entry, or the empty slot where it would go. */
static size_t slot_of(const struct mdindex *ix, const char *base, size_t blen)
{
	size_t k = hash_name(base, blen) & (ix->nslots - 1);

	for (; ix->slots[k] != 0; k = (k + 1) & (ix->nslots - 1)) {
		const struct ent *x = &ix->ents[ix->slots[k] - 1];

		if (x->blen == blen && memcmp(x->base, base, blen) == 0)
			break;
	}
	return k;
}

/* A new entry for base, not in the table yet; returns it. */
static struct ent *add_ent(struct mdindex *ix, const char *base, size_t blen)
{
	struct ent *x;

	ix->ents = xreallocarray_grow(ix->ents, &ix->cap, ix->n + 1, sizeof(*ix->ents));
	x = &ix->ents[ix->n++];
	memset(x, 0, sizeof(*x));
	x->base = base;
	x->blen = (uint32_t)blen;
	if (ix->n * 2 + 2 > ix->nslots)
		rehash(ix, ix->n * 2);
	else
		ix->slots[slot_of(ix, base, blen)] = (uint32_t)ix->n;
	return x;
}

/* Reads n bytes at *pos of the mapping; false past its end. */
static bool take(const char *map, size_t len, size_t *pos, void *out, size_t n)
{
	if (n > len - *pos)
		return false;
	memcpy(out, map + *pos, n);
	*pos += n;
	return true;
}

/* One entry at *pos; false when it does not fit or makes no sense. */
static bool parse_ent(struct mdindex *ix, const char *map, size_t len, size_t *pos, bool hdrs)
{
	uint32_t blen, hlen;
	struct mdindex_entry e = {0};
	struct ent *x;
	size_t p;

	if (!take(map, len, pos, &blen, 4) || !take(map, len, pos, &hlen, 4) ||
	    !take(map, len, pos, &e.size, 8) || !take(map, len, pos, &e.mtime, 8) ||
	    !take(map, len, pos, &e.crlf_size, 8))
		return false;
	if (blen == 0 || blen > BASE_MAX || (hlen != NO_HDR && hlen > MDINDEX_HDR_MAX))
		return false;
	p = *pos;
	if ((size_t)blen + (hlen == NO_HDR ? 0 : hlen) > len - p)
		return false;
	*pos = p + blen + (hlen == NO_HDR ? 0 : hlen);
	if (memchr(map + p, '/', blen) != NULL || ix->slots[slot_of(ix, map + p, blen)] != 0)
		return false; /* not a name, or twice */
	if (hdrs && hlen != NO_HDR) {
		e.hdr = map + p + blen;
		e.hdr_len = hlen;
	}
	x = add_ent(ix, map + p, blen);
	x->e = e;
	x->loaded = true;
	ix->stale++;
	return true;
}

/* The mod-sequence section at *pos into ms (arrays allocated); false when
 * it does not fit or breaks an order (UIDs ascending, modseqs of the
 * expunges ascending, none above highest). */
static bool parse_modseqs(struct mdindex_modseqs *ms, const char *map, size_t len, size_t *pos)
{
	uint32_t n, ngone;

	if (!take(map, len, pos, &ms->highest, 8) || !take(map, len, pos, &ms->floor, 8) ||
	    !take(map, len, pos, &n, 4) || n > (len - *pos) / 20 || ms->floor > ms->highest)
		return false;
	ms->msgs = xcalloc(n ? n : 1, sizeof(*ms->msgs));
	for (uint32_t i = 0; i < n; i++) {
		struct mdindex_modseq *m = &ms->msgs[i];

		take(map, len, pos, &m->uid, 4);
		take(map, len, pos, &m->modseq, 8);
		take(map, len, pos, &m->flagsum, 8);
		if ((i > 0 && m->uid <= m[-1].uid) || m->modseq > ms->highest || m->modseq == 0)
			return false;
		ms->n++;
	}
	if (!take(map, len, pos, &ngone, 4) || ngone > (len - *pos) / 12 ||
	    ngone > MDINDEX_GONE_MAX)
		return false;
	ms->gone = xcalloc(ngone ? ngone : 1, sizeof(*ms->gone));
	for (uint32_t i = 0; i < ngone; i++) {
		struct mdindex_gone *g = &ms->gone[i];

		take(map, len, pos, &g->uid, 4);
		take(map, len, pos, &g->modseq, 8);
		if ((i > 0 && g->modseq < g[-1].modseq) || g->modseq > ms->highest)
			return false;
		ms->ngone++;
	}
	return true;
}

/* A record with no mod-sequences, starting above any a lost index may have
 * given (2^16 a second since the epoch: far below 2^63). */
static void modseqs_fresh(struct mdindex_modseqs *ms)
{
	free(ms->msgs);
	free(ms->gone);
	memset(ms, 0, sizeof(*ms));
	ms->highest = ms->floor = (uint64_t)time(NULL) << 16;
}

/* The mapped file's entries; false (and nothing kept) when it is not a
 * whole index. */
static bool parse_file(struct mdindex *ix, const char *map, size_t len)
{
	uint32_t version, tlen, count;
	uint64_t want;
	size_t pos = 8;
	struct sum s = {0};
	bool hdrs;

	if (len < 8 + 12 + 8 || memcmp(map, MAGIC, 8) != 0)
		return false;
	sum_add(&s, map, len - 8);
	memcpy(&want, map + len - 8, 8);
	if (sum_end(&s) != want)
		return false;
	len -= 8;
	if (!take(map, len, &pos, &version, 4) || version != VERSION ||
	    !take(map, len, &pos, &tlen, 4) || tlen > TAG_MAX || tlen > len - pos)
		return false;
	hdrs = tlen == strlen(ix->tag) && memcmp(map + pos, ix->tag, tlen) == 0;
	pos += tlen;
	if (!take(map, len, &pos, &count, 4) || count > (len - pos) / ENTRY_FIX)
		return false;
	ix->ents = xcalloc(count ? count : 1, sizeof(*ix->ents));
	ix->cap = count ? count : 1;
	ix->n = 0;
	rehash(ix, count);
	for (uint32_t i = 0; i < count; i++)
		if (!parse_ent(ix, map, len, &pos, hdrs))
			return false;
	return parse_modseqs(&ix->ms, map, len, &pos) && pos == len;
}

static void forget_all(struct mdindex *ix)
{
	for (size_t i = 0; i < ix->n; i++) {
		if (ix->ents[i].base_owned)
			free((char *)ix->ents[i].base);
		if (ix->ents[i].hdr_owned)
			free((char *)ix->ents[i].e.hdr);
	}
	free(ix->ents);
	free(ix->slots);
	ix->ents = NULL;
	ix->n = ix->cap = 0;
	ix->stale = 0;
	ix->nslots = 0;
	ix->slots = NULL;
	rehash(ix, 0);
	if (ix->map != NULL)
		munmap(ix->map, ix->map_len);
	ix->map = NULL;
}

struct mdindex *mdindex_load(const char *dir, const char *tag)
{
	struct mdindex *ix = xcalloc(1, sizeof(*ix));
	char *path = xasprintf("%s/%s", dir, MDINDEX_NAME);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	free(path);
	ix->tag = xstrdup(tag);
	rehash(ix, 0);
	if (fd < 0) {
		modseqs_fresh(&ix->ms);
		return ix;
	}
	if (fstat(fd, &st) == 0 && st.st_size > 0 && (size_t)st.st_size <= MDINDEX_FILE_MAX) {
		ix->map_len = (size_t)st.st_size;
		ix->map = mmap(NULL, ix->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (ix->map == MAP_FAILED)
			ix->map = NULL;
	}
	close(fd);
	if (ix->map == NULL || !parse_file(ix, ix->map, ix->map_len)) {
		/* Not a whole index: rebuilt as the folder is read. */
		forget_all(ix);
		modseqs_fresh(&ix->ms);
		ix->changed = true;
	} else {
		ix->from_file = true;
	}
	return ix;
}

static void use(struct mdindex *ix, struct ent *x)
{
	ix->stale -= x->loaded && !x->used;
	x->used = true;
}

const struct mdindex_entry *mdindex_get(struct mdindex *ix, const char *base, size_t blen)
{
	uint32_t at = ix->slots[slot_of(ix, base, blen)];

	if (at == 0)
		return NULL;
	use(ix, &ix->ents[at - 1]);
	return &ix->ents[at - 1].e;
}

void mdindex_put(struct mdindex *ix, const char *base, size_t blen, const struct mdindex_entry *e)
{
	uint32_t at;
	struct ent *x;

	if (blen == 0 || blen > BASE_MAX || memchr(base, '/', blen) != NULL)
		return;
	at = ix->slots[slot_of(ix, base, blen)];
	if (at == 0) {
		x = add_ent(ix, xstrndup(base, blen), blen);
		x->base_owned = true;
		ix->changed = true;
	} else {
		x = &ix->ents[at - 1];
	}
	use(ix, x);
	if (x->e.size != e->size || x->e.mtime != e->mtime || x->e.crlf_size != e->crlf_size) {
		x->e.size = e->size;
		x->e.mtime = e->mtime;
		x->e.crlf_size = e->crlf_size;
		ix->changed = true;
	}
	if (e->hdr == NULL || e->hdr_len > MDINDEX_HDR_MAX ||
	    (x->e.hdr != NULL && x->e.hdr_len == e->hdr_len &&
	     memcmp(x->e.hdr, e->hdr, e->hdr_len) == 0))
		return;
	if (x->hdr_owned)
		free((char *)x->e.hdr);
	x->e.hdr = memcpy(xmalloc(e->hdr_len ? e->hdr_len : 1), e->hdr, e->hdr_len);
	x->e.hdr_len = e->hdr_len;
	x->hdr_owned = true;
	ix->changed = true;
}

bool mdindex_dirty(const struct mdindex *ix)
{
	return ix->changed || ix->stale > 0 || ix->ms_changed;
}

static bool put(FILE *fp, struct sum *s, const void *p, size_t n)
{
	sum_add(s, p, n);
	return fwrite(p, 1, n, fp) == n;
}

static bool write_modseqs(const struct mdindex_modseqs *ms, FILE *fp, struct sum *s)
{
	uint32_t n = (uint32_t)ms->n, ngone = (uint32_t)ms->ngone;
	bool ok = put(fp, s, &ms->highest, 8) && put(fp, s, &ms->floor, 8) && put(fp, s, &n, 4);

	for (size_t i = 0; ok && i < ms->n; i++)
		ok = put(fp, s, &ms->msgs[i].uid, 4) && put(fp, s, &ms->msgs[i].modseq, 8) &&
		     put(fp, s, &ms->msgs[i].flagsum, 8);
	ok = ok && put(fp, s, &ngone, 4);
	for (size_t i = 0; ok && i < ms->ngone; i++)
		ok = put(fp, s, &ms->gone[i].uid, 4) && put(fp, s, &ms->gone[i].modseq, 8);
	return ok;
}

static bool write_all(const struct mdindex *ix, FILE *fp)
{
	struct sum s = {0};
	uint32_t version = VERSION, tlen = (uint32_t)strlen(ix->tag), count = 0;
	uint64_t sum;
	bool ok;

	for (size_t i = 0; i < ix->n; i++)
		count += ix->ents[i].used;
	ok = put(fp, &s, MAGIC, 8) && put(fp, &s, &version, 4) && put(fp, &s, &tlen, 4) &&
	     put(fp, &s, ix->tag, tlen) && put(fp, &s, &count, 4);
	for (size_t i = 0; ok && i < ix->n; i++) {
		const struct ent *x = &ix->ents[i];
		uint32_t hlen = x->e.hdr != NULL ? (uint32_t)x->e.hdr_len : NO_HDR;

		if (!x->used)
			continue;
		ok = put(fp, &s, &x->blen, 4) && put(fp, &s, &hlen, 4) &&
		     put(fp, &s, &x->e.size, 8) && put(fp, &s, &x->e.mtime, 8) &&
		     put(fp, &s, &x->e.crlf_size, 8) && put(fp, &s, x->base, x->blen) &&
		     (x->e.hdr == NULL || put(fp, &s, x->e.hdr, x->e.hdr_len));
	}
	ok = ok && write_modseqs(&ix->ms, fp, &s);
	sum = sum_end(&s);
	return ok && fwrite(&sum, 1, 8, fp) == 8;
}

int mdindex_save(struct mdindex *ix, const char *dir)
{
	char *path, *tmp;
	FILE *fp = NULL;
	int rc = -1, e, fd;

	if (!mdindex_dirty(ix))
		return 0;
	path = xasprintf("%s/%s", dir, MDINDEX_NAME);
	tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	/* Streamed (a whole index in memory would double the session's peak);
	 * renamed into place, so a reader sees the old file or the new one. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0 && (fp = fdopen(fd, "w")) == NULL)
		close(fd);
	if (fd >= 0 && fp != NULL) {
		bool ok = write_all(ix, fp);

		if (fclose(fp) == 0 && ok && rename(tmp, path) == 0)
			rc = 0;
	}
	e = errno;
	if (rc < 0) {
		unlink(tmp);
	} else {
		/* What was left out is no longer in the file. */
		for (size_t i = 0; i < ix->n; i++)
			ix->ents[i].loaded &= ix->ents[i].used;
		ix->stale = 0;
		ix->changed = false;
		ix->ms_changed = false;
	}
	free(tmp);
	free(path);
	errno = e;
	return rc;
}

void mdindex_free(struct mdindex *ix)
{
	if (ix == NULL)
		return;
	for (size_t i = 0; i < ix->n; i++) {
		if (ix->ents[i].base_owned)
			free((char *)ix->ents[i].base);
		if (ix->ents[i].hdr_owned)
			free((char *)ix->ents[i].e.hdr);
	}
	free(ix->ents);
	free(ix->slots);
	if (ix->map != NULL)
		munmap(ix->map, ix->map_len);
	free(ix->tag);
	free(ix->ms.msgs);
	free(ix->ms.gone);
	free(ix);
}

uint64_t mdindex_flagsum(const char *letters)
{
	return hash_name(letters, strlen(letters)) | 1;
}

bool mdindex_from_file(const struct mdindex *ix)
{
	return ix->from_file;
}

const struct mdindex_modseqs *mdindex_modseqs(const struct mdindex *ix)
{
	return &ix->ms;
}

void mdindex_set_modseqs(struct mdindex *ix, const struct mdindex_modseqs *ms)
{
	size_t drop = ms->ngone > MDINDEX_GONE_MAX ? ms->ngone - MDINDEX_GONE_MAX : 0;
	struct mdindex_modseqs c = *ms;

	c.msgs = xmalloc((ms->n ? ms->n : 1) * sizeof(*c.msgs));
	if (ms->n > 0)
		memcpy(c.msgs, ms->msgs, ms->n * sizeof(*c.msgs));
	/* The oldest expunges go; a client older than the last of them is
	 * answered as one that knows nothing. */
	c.ngone = ms->ngone - drop;
	c.gone = xmalloc((c.ngone ? c.ngone : 1) * sizeof(*c.gone));
	if (c.ngone > 0)
		memcpy(c.gone, ms->gone + drop, c.ngone * sizeof(*c.gone));
	if (drop > 0 && ms->gone[drop - 1].modseq > c.floor)
		c.floor = ms->gone[drop - 1].modseq;
	/* A record the loader would refuse is never written. */
	if (c.floor > c.highest)
		c.floor = c.highest;
	free(ix->ms.msgs);
	free(ix->ms.gone);
	ix->ms = c;
	ix->ms_changed = true;
}

const struct mdindex_modseq *mdindex_modseq_find(const struct mdindex_modseqs *ms, uint32_t uid)
{
	size_t lo = 0, hi = ms->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ms->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ms->n && ms->msgs[lo].uid == uid ? &ms->msgs[lo] : NULL;
}
