/*
 * Diagnostics: a list of positioned problems, as
 * "FILE:LINE:COL: key.path: what was expected".
 *
 * The config loader and the rule compiler report every problem they find
 * into one struct diag, so that `corral check` prints them all at once.
 */
#ifndef CORRAL_DIAG_H
#define CORRAL_DIAG_H

#include <stddef.h>
#include <stdio.h>

struct diag {
	char **msgs; /* owned, each a full line without '\n' */
	size_t n;
	size_t cap;
};

void diag_init(struct diag *d);
/* line and col are 1-based; line 0 omits the position, col 0 omits the column. */
void diag_add(struct diag *d, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void diag_print(const struct diag *d, FILE *fp);
void diag_free(struct diag *d);

#endif
