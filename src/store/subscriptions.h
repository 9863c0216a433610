/*
 * The folders a user subscribed to, in Dovecot's Maildir++ file
 * "subscriptions" at the root of the Maildir, so that switching between
 * Dovecot and corral keeps them:
 *
 *   "V\t2\n\n", then one folder per line, its levels separated by a tab
 *   (the IMAP name "Work/2024" is "Work\t2024"), modified UTF-7 as on the
 *   wire; replaced whole by rename().
 *
 * Names here are IMAP names with "/" between levels.
 * Memory: a struct subscriptions owns its names; subs_free() frees them.
 */
#ifndef CORRAL_STORE_SUBSCRIPTIONS_H
#define CORRAL_STORE_SUBSCRIPTIONS_H

#include <stdbool.h>
#include <stddef.h>

struct subscriptions {
	char **names;
	size_t n, cap;
	bool present; /* the file exists (no file: nothing was ever subscribed) */
};

/* Reads root's file; a missing file is an empty list. 0, or -1 with err. */
int subs_read(const char *root, struct subscriptions *s, char *err, size_t errlen);
bool subs_has(const struct subscriptions *s, const char *name);
/* Adds or removes name, then writes the file. 0, or -1 with err. */
int subs_change(const char *root, const char *name, bool subscribe, char *err, size_t errlen);
void subs_free(struct subscriptions *s);

#endif
