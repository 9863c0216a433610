/* libFuzzer target: dovecot-uidlist as uidlist_read() takes it from disk.
 * A corrupt file is refused or read; read, it must hold every record line
 * that is well-formed (by the independent reading below) with its UID and
 * base name, and write back to a file that reads the same. */
#include <stdbool.h>
#include <stdint.h>

#include "fuzz-store-file.h"
#include "store/uidlist.h"

/* A strict "<uid> [ext] :<base>" line: its UID and base, or 0. */
static uint32_t strict_rec(const char *s, size_t n, const char **base, size_t *blen)
{
	uint64_t uid = 0;
	size_t i = 0;
	const char *colon;

	while (i < n && s[i] >= '0' && s[i] <= '9' && uid <= UINT32_MAX)
		uid = uid * 10 + (uint64_t)(s[i++] - '0');
	/* 2^32-1 leaves no next UID: not a record */
	if (i == 0 || uid == 0 || uid >= UINT32_MAX || i == n || s[i] != ' ')
		return 0;
	colon = memchr(s + i, ':', n - i);
	if (colon == NULL || colon[-1] != ' ' || colon + 1 == s + n || memchr(s, '\0', n) != NULL)
		return 0;
	*base = colon + 1;
	*blen = n - (size_t)(colon + 1 - s);
	if (memchr(*base, ':', *blen) != NULL)
		return 0;
	return (uint32_t)uid;
}

static const struct uidlist_rec *find(const struct uidlist *ul, uint32_t uid)
{
	for (size_t i = 0; i < ul->n; i++)
		if (ul->recs[i].uid == uid)
			return &ul->recs[i];
	return NULL;
}

/* Every well-formed record line after the header, UIDs ascending, is kept. */
static void check_kept(const struct uidlist *ul, const char *s, size_t n)
{
	const char *p = memchr(s, '\n', n), *end = s + n;
	uint32_t last = 0;

	while (p != NULL && p + 1 < end) {
		const char *line = p + 1, *nl = memchr(line, '\n', (size_t)(end - line));
		size_t len = nl ? (size_t)(nl - line) : (size_t)(end - line), blen;
		const char *base;
		uint32_t uid = strict_rec(line, len, &base, &blen);
		const struct uidlist_rec *r;

		if (uid > last) {
			r = find(ul, uid);
			if (r == NULL || strlen(r->base) != blen ||
			    memcmp(r->base, base, blen) != 0)
				abort();
			last = uid;
		}
		p = nl;
	}
	for (size_t i = 0; i < ul->n; i++)
		if ((i > 0 && ul->recs[i].uid <= ul->recs[i - 1].uid) ||
		    ul->recs[i].uid >= ul->nextuid)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uidlist ul, again;
	char err[512];

	fz_put("dovecot-uidlist", data, size);
	if (uidlist_read(fz_dir(), &ul, err, sizeof(err)) < 0)
		return 0;
	check_kept(&ul, (const char *)data, size);
	if (ul.uidvalidity != 0) {
		if (uidlist_write(fz_dir(), &ul, err, sizeof(err)) < 0 ||
		    uidlist_read(fz_dir(), &again, err, sizeof(err)) < 0)
			abort();
		if (again.n != ul.n || again.uidvalidity != ul.uidvalidity ||
		    again.nextuid != ul.nextuid || strcmp(again.guid, ul.guid) != 0)
			abort();
		for (size_t i = 0; i < ul.n; i++)
			if (again.recs[i].uid != ul.recs[i].uid ||
			    strcmp(again.recs[i].base, ul.recs[i].base) != 0 ||
			    strcmp(again.recs[i].ext, ul.recs[i].ext) != 0)
				abort();
		uidlist_free(&again);
	}
	uidlist_free(&ul);
	return 0;
}
