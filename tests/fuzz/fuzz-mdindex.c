/* libFuzzer target: corral.index as mdindex_load() maps it from disk. The
 * first byte's low bit asks for a valid checksum at the end, so that the
 * fuzzer gets past it into the entries. Loaded, every entry must be found
 * by its name, lie inside the file, and survive a save and a load again
 * unchanged. mdindex.c is included to walk its entries. */
#include "fuzz-store-file.h"

#include "../../src/store/mdindex.c"

static const char *const tags[] = {"fuzz-tag", ""};

static void check_same(struct mdindex *a, struct mdindex *b)
{
	size_t used = 0;

	for (size_t i = 0; i < a->n; i++) {
		const struct ent *x = &a->ents[i];
		const struct mdindex_entry *e;

		if (!x->used)
			continue;
		used++;
		e = mdindex_get(b, x->base, x->blen);
		if (e == NULL || e->size != x->e.size || e->mtime != x->e.mtime ||
		    e->crlf_size != x->e.crlf_size || (e->hdr == NULL) != (x->e.hdr == NULL) ||
		    e->hdr_len != x->e.hdr_len || (e->hdr && memcmp(e->hdr, x->e.hdr, e->hdr_len)))
			abort();
	}
	if (b->n != used)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mdindex *ix, *again;
	char *file;
	size_t len;

	if (size < 1)
		return 0;
	len = size - 1;
	file = malloc(len + 8);
	memcpy(file, data + 1, len);
	if (data[0] & 1) {
		struct sum s = {0};
		uint64_t h;

		sum_add(&s, file, len);
		h = sum_end(&s);
		memcpy(file + len, &h, 8);
		len += 8;
	}
	fz_put(MDINDEX_NAME, file, len);
	free(file);
	ix = mdindex_load(fz_dir(), tags[data[0] >> 1 & 1]);
	for (size_t i = 0; i < ix->n; i++) {
		const struct ent *x = &ix->ents[i];
		const struct mdindex_entry *e = mdindex_get(ix, x->base, x->blen);

		if (e != &x->e || x->blen == 0 || x->blen > BASE_MAX ||
		    (e->hdr && (e->hdr < (char *)ix->map ||
		                e->hdr + e->hdr_len > (char *)ix->map + ix->map_len)))
			abort();
	}
	if (mdindex_save(ix, fz_dir()) < 0)
		abort();
	again = mdindex_load(fz_dir(), tags[data[0] >> 1 & 1]);
	check_same(ix, again);
	mdindex_free(again);
	mdindex_free(ix);
	return 0;
}
