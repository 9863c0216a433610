/*
 * Internals shared by the state-file parsers of store/import.h: line
 * iteration, adding entries, errors. Nothing outside store/import*.c
 * includes this.
 */
#ifndef CORRAL_IMPORT_INT_H
#define CORRAL_IMPORT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "store/import.h"

struct imp_lines {
	const char *p, *end;
	unsigned no; /* of the line last returned, 1-based */
};

void imp_lines_init(struct imp_lines *it, const char *text, size_t len);
/* The next line without its "\n" or "\r\n": 1; 0 at the end; -1 for a line
 * over IMPORT_LINE_MAX (it->no names it). */
int imp_next_line(struct imp_lines *it, const char **line, size_t *len);

/* Appends an entry (strings copied; user and host may be NULL). */
struct import_entry *imp_add(struct import_list *l, const char *id, size_t idlen,
                             uint32_t uidvalidity, unsigned line);
void imp_set_who(struct import_entry *e, const char *user, size_t ulen, const char *host,
                 size_t hlen);
/* Drops the entries from n on (a parser's own, after an error). */
void imp_truncate(struct import_list *l, size_t n);

/* "FILE:LINE: what" into err; returns -1. */
int imp_err(char *err, size_t errlen, const char *file, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* A decimal number from 1 to UINT32_MAX spanning exactly s[0..len). */
int imp_u32(const char *s, size_t len, uint32_t *out);

#endif
