#include "imapd/seqset.h"

#include <stdlib.h>

#include "util/buf.h"
#include "util/log.h"

/* One number or "*" at *p; advances *p. 0 when there is none. */
static uint32_t number(const char **p, const char *end, uint32_t star, bool *ok)
{
	uint64_t v = 0;
	const char *start = *p;

	if (*p < end && **p == '*') {
		(*p)++;
		return star;
	}
	while (*p < end && **p >= '0' && **p <= '9' && v <= UINT32_MAX)
		v = v * 10 + (uint64_t)(*(*p)++ - '0');
	/* nz-number: no 0, no leading zero run past what fits */
	*ok = *p > start && v > 0 && v <= UINT32_MAX;
	return (uint32_t)v;
}

static int cmp_range(const void *a, const void *b)
{
	const struct seqset_range *x = a, *y = b;

	return (x->lo > y->lo) - (x->lo < y->lo);
}

int seqset_parse(const char *s, size_t len, uint32_t star, struct seqset *out)
{
	const char *p = s, *end = s + len;
	size_t cap = 0, k = 0;

	out->r = NULL;
	out->n = 0;
	while (p < end || out->n == 0) {
		bool ok = true;
		uint32_t a = number(&p, end, star, &ok), b = a;

		if (!ok)
			goto bad;
		if (p < end && *p == ':') {
			p++;
			b = number(&p, end, star, &ok);
			if (!ok)
				goto bad;
		}
		out->r = xreallocarray_grow(out->r, &cap, out->n + 1, sizeof(*out->r));
		out->r[out->n++] = (struct seqset_range){a < b ? a : b, a < b ? b : a};
		if (p == end)
			break;
		if (*p++ != ',' || p == end)
			goto bad;
	}
	qsort(out->r, out->n, sizeof(*out->r), cmp_range);
	for (size_t i = 1; i < out->n; i++) {
		struct seqset_range *last = &out->r[k];

		if (out->r[i].lo <= last->hi || out->r[i].lo - last->hi == 1) {
			if (out->r[i].hi > last->hi)
				last->hi = out->r[i].hi;
		} else {
			out->r[++k] = out->r[i];
		}
	}
	out->n = k + 1;
	return 0;
bad:
	seqset_free(out);
	return -1;
}

bool seqset_has(const struct seqset *s, uint32_t v)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v < s->r[mid].lo)
			hi = mid;
		else if (v > s->r[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

uint32_t seqset_max(const struct seqset *s)
{
	return s->n > 0 ? s->r[s->n - 1].hi : 0;
}

void seqset_free(struct seqset *s)
{
	free(s->r);
	s->r = NULL;
	s->n = 0;
}

void seqset_put(struct buf *b, const uint32_t *v, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j + 1 < n && v[j + 1] == v[j] + 1)
			j++;
		buf_printf(b, "%s%u", i > 0 ? "," : "", v[i]);
		if (j > i)
			buf_printf(b, ":%u", v[j]);
		i = j + 1;
	}
}
