#include "imapd/list-match.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/log.h"

/* The set of name prefixes that the pattern so far matches, one pattern
 * character at a time: at[j] is true when pat[0..i) matches name[0..j). */
static bool match(const char *pat, const char *s)
{
	size_t n = strlen(s);
	bool *at = xcalloc(n + 1, sizeof(*at)), hit;

	at[0] = true;
	for (; *pat != '\0'; pat++) {
		if (*pat == '*' || *pat == '%') {
			/* Any run of characters (no "/" for %) after a matched prefix. */
			bool run = false;

			for (size_t j = 0; j <= n; j++) {
				if (j > 0 && *pat == '%' && s[j - 1] == '/')
					run = false;
				run = run || at[j];
				at[j] = run;
			}
			continue;
		}
		for (size_t j = n; j > 0; j--)
			at[j] = at[j - 1] && s[j - 1] == *pat;
		at[0] = false;
	}
	hit = at[n];
	free(at);
	return hit;
}

bool list_match(const char *pat, const char *name)
{
	if (strcasecmp(name, "INBOX") == 0 && strncasecmp(pat, "INBOX", 5) == 0)
		return match(pat + 5, "");
	return match(pat, name);
}
