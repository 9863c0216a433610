/*
 * Growable byte buffers with a hard cap.
 *
 * Every buffer is given a maximum size when it is initialised; an append
 * past it fails with -1 and leaves the buffer unchanged, so input past a cap
 * becomes an error with a message instead of unbounded growth.
 * The data is always NUL-terminated (the NUL is not counted in len).
 */
#ifndef CORRAL_BUF_H
#define CORRAL_BUF_H

#include <stddef.h>

struct buf {
	char *data; /* owned; NULL until the first append */
	size_t len;
	size_t cap;
	size_t max; /* appends that would make len > max fail */
};

void buf_init(struct buf *b, size_t max);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns the data as a C string ("" for an empty buffer); it stays owned by b. */
const char *buf_cstr(struct buf *b);
/* Hands the data to the caller (who frees it) and resets b. */
char *buf_steal(struct buf *b, size_t *len);
void buf_reset(struct buf *b);
/* Frees the data; buf_wipe also overwrites it first (for secrets). */
void buf_free(struct buf *b);
void buf_wipe(struct buf *b);

#endif
