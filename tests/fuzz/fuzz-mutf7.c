/* libFuzzer target: modified UTF-7 folder names (mail/mutf7.h) and IMAP
 * sequence sets (imapd/seqset.h). Invariants: a name that decodes encodes
 * back to the same bytes (one spelling per folder); UTF-8 that encodes
 * decodes back; a parsed sequence set holds the numbers it names. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imapd/seqset.h"
#include "mail/mutf7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *d, *e;
	struct seqset set;

	memcpy(s, data, size);
	s[size] = '\0';
	if (strlen(s) == size) {
		if ((d = mutf7_decode(s)) != NULL) {
			e = mutf7_encode(d);
			if (e == NULL || strcmp(e, s) != 0)
				abort();
			free(e);
			free(d);
		}
		if ((e = mutf7_encode(s)) != NULL) {
			d = mutf7_decode(e);
			if (d == NULL || strcmp(d, s) != 0)
				abort();
			free(d);
			free(e);
		}
		/* The lossy spelling of anything without controls is a valid name. */
		if ((e = mutf7_encode_lossy(s, '_')) != NULL) {
			if ((d = mutf7_decode(e)) == NULL && e[0] != '\0')
				abort();
			free(d);
			free(e);
		}
	}
	if (seqset_parse(s, size, 1000, &set) == 0) {
		for (size_t i = 0; i < set.n; i++)
			if (set.r[i].lo > set.r[i].hi || !seqset_has(&set, set.r[i].lo) ||
			    !seqset_has(&set, set.r[i].hi) ||
			    (i > 0 && set.r[i].lo <= set.r[i - 1].hi + 1))
				abort();
		seqset_free(&set);
	}
	free(s);
	return 0;
}
