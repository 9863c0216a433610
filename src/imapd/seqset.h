/*
 * IMAP sequence sets (RFC 3501 sequence-set, RFC 9051): "1:*", "4,7:5",
 * "2:4,9". A range may run either way; "*" is the largest number in use
 * (the last sequence number, or the highest UID), given by the caller.
 * Parsed into sorted, merged ranges, so that a lookup is a binary search
 * and "1:*,1:*" costs no more than "1:*".
 *
 * Memory: a seqset owns its ranges; seqset_free() frees them.
 */
#ifndef CORRAL_IMAPD_SEQSET_H
#define CORRAL_IMAPD_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct seqset_range {
	uint32_t lo, hi; /* lo <= hi */
};

struct seqset {
	struct seqset_range *r; /* ascending, disjoint, not touching */
	size_t n;
};

/* Parses s[0..len) with "*" standing for star. 0, or -1 when it is not a
 * sequence set (a 0, a number past 2^32-1, an empty part, a stray byte). */
int seqset_parse(const char *s, size_t len, uint32_t star, struct seqset *out);

bool seqset_has(const struct seqset *s, uint32_t v);
/* The largest number in the set, 0 when empty. */
uint32_t seqset_max(const struct seqset *s);
void seqset_free(struct seqset *s);

struct buf;
/* Writes v[0..n) as a sequence set, runs of consecutive numbers as ranges
 * ("1:3,7,9:10"), in the order given (COPYUID pairs UIDs by position). */
void seqset_put(struct buf *b, const uint32_t *v, size_t n);

#endif
