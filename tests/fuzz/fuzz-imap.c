/* libFuzzer target: an IMAP server's response lines, as corral's client
 * parses them (status lines, capabilities, FETCH item lists). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "source/imap-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_line l;
	struct imap_fetch f;
	char *seg = malloc(size + 1);
	uint64_t lit = 0, n = 0;
	enum imap_item item;

	memcpy(seg, data, size);
	seg[size] = '\0';
	if (imap_line_parse(seg, size, &l) == 0) {
		if (l.rest != NULL && (l.rest < seg || l.rest + l.rest_len > seg + size))
			abort();
		if (l.code != NULL)
			imap_code_number(l.code, l.code_len, "UIDVALIDITY", (uint32_t *)&n);
		if (l.rest != NULL)
			imap_caps_parse(l.rest, l.rest_len);
	}
	imap_literal_at_end(seg, size, &lit);
	/* The same bytes as the item list of a FETCH response. */
	imap_fetch_init(&f, 1);
	imap_fetch_feed(&f, seg, size, &lit, &item);
	free(seg);
	return 0;
}
