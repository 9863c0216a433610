/*
 * LIST's patterns (RFC 3501 6.3.8): "*" matches anything, "%" anything but
 * the hierarchy separator "/". Linear in pattern x name: no backtracking,
 * so a pattern of many "*a" costs what its length costs.
 */
#ifndef CORRAL_IMAPD_LIST_MATCH_H
#define CORRAL_IMAPD_LIST_MATCH_H

#include <stdbool.h>

/* Whether name matches pat; INBOX without regard to case, as a name and
 * as the start of a pattern. */
bool list_match(const char *pat, const char *name);

#endif
