#include "actions.h"

#include <stdbool.h>
#include <string.h>

#include "rules.h"
#include "util/log.h"

size_t actions_folders(const struct rules_outcome *o, const char *who, const char **folders,
                       unsigned *flags, size_t max)
{
	size_t n = 0;
	bool inbox = false;

	for (size_t i = 0; i < o->ndeliveries && n < max; i++) {
		folders[n] = o->deliveries[i].folder;
		flags[n++] = o->deliveries[i].flags;
		if (strcmp(o->deliveries[i].folder, "INBOX") == 0)
			inbox = true;
	}
	if ((o->nforwards > 0 || o->npipes > 0) && !inbox && n < max) {
		log_warn("%s: forward and pipe actions are not available yet: the message is "
		         "filed into INBOX instead",
		         who);
		folders[n] = "INBOX";
		flags[n++] = 0;
	}
	return n;
}
