/*
 * RFC 5322 lexical helpers that the header parsers share (message.c,
 * address.c, mime-param.c): comments, quoted strings, trimming. The
 * server's ENVELOPE and BODYSTRUCTURE build on the same.
 *
 * Memory: nothing is allocated here.
 */
#ifndef CORRAL_MAIL_LEX_H
#define CORRAL_MAIL_LEX_H

#include <stddef.h>

/* Trims SP, TAB, CR and LF on both sides of a malloc'd string, in place. */
char *str_trim_inplace(char *s);

/* Index of the matching ')' for the '(' at s[i], or n when unterminated. */
size_t skip_comment(const char *s, size_t n, size_t i);
/* Index of the closing '"' for the '"' at s[i], or n when unterminated. */
size_t skip_quoted(const char *s, size_t n, size_t i);

#endif
