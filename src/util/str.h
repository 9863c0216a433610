/*
 * String helpers shared by the config, the rules and the protocols.
 * Strings returned belong to the caller unless stated.
 */
#ifndef CORRAL_STR_H
#define CORRAL_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ASCII case-insensitive comparison of a counted string with a C string. */
bool str_ieq_n(const char *s, size_t n, const char *lit);
bool str_has_prefix(const char *s, const char *prefix);
/* ASCII lower-casing in place; returns s. */
char *str_lower(char *s);

/*
 * Case-insensitive glob over the whole value: '*' any run, '?' one byte,
 * '\' quotes the next character. Bytes >= 0x80 compare exactly.
 */
bool glob_match(const char *pattern, const char *s, size_t n);

/* "30", "30s", "5m", "2h", "7d" -> seconds. Returns -1 on a bad value. */
int parse_duration(const char *s, uint64_t *secs);
/* "1000", "10k", "5M", "1G" (powers of 1024, case-insensitive, optional "B"). */
int parse_size(const char *s, uint64_t *bytes);

/*
 * Expands "~" and "~/..." (from $HOME), "$VAR" and "${VAR}" in a path, then
 * makes a relative result relative to base_dir (when base_dir is not NULL).
 * Returns NULL with *err set (static text) when a variable is not set.
 */
char *path_expand(const char *in, const char *base_dir, const char **err);

/*
 * Splits a command line into argv the way a user expects of a simple
 * command, without a shell: whitespace separates words, '...' and "..."
 * quote, '\' escapes. No expansion of any kind. Returns the number of
 * words (the array is NULL-terminated, free with argv_free) or -1 on an
 * unterminated quote.
 */
int argv_split(const char *s, char ***argv);
void argv_free(char **argv);
/* The inverse of argv_split(): words joined with spaces, quoted where needed. */
char *argv_join(char *const *argv);

/* Overwrites then frees a secret. NULL is allowed. */
void secret_free(char *s);

/* Copies len bytes of s for a log line or an error text: control bytes and
 * non-ASCII shown as '?', line ends dropped, cut to fit outlen (NUL
 * included). What a server, relay or child printed goes through this. */
void str_sanitise(char *out, size_t outlen, const char *s, size_t len);

#endif
