/*
 * Carrying out a rules outcome: the one place that turns what the rules
 * asked for into deliveries, shared by `fetch`, `deliver` and `refile`.
 */
#ifndef CORRAL_ACTIONS_H
#define CORRAL_ACTIONS_H

#include <stddef.h>

struct rules_outcome;

/*
 * The Maildir folders (user form) and flags the outcome files into, at most
 * max. Forward and pipe actions cannot run yet (SMTP re-injection is not
 * built): such a message is filed into INBOX as well, with a warning naming
 * who, so that nothing is ever dropped. Returns the count; 0 means the
 * message was discarded. The strings point into the outcome.
 */
size_t actions_folders(const struct rules_outcome *o, const char *who, const char **folders,
		       unsigned *flags, size_t max);

#endif
