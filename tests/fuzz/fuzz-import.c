/* libFuzzer target: the state-file parsers of `corral import` (store/import.h).
 * The first byte picks the parser (fetchmail, mpop, getmail POP3, getmail
 * IMAP, mbsync), the rest is the file. A parse either adds entries that
 * hold what the format promises or fails with "FILE:LINE: ..." and leaves
 * the list as it was; the file-name helpers take the input too. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/import.h"

static int parse(unsigned which, const char *text, size_t len, struct import_list *l, char *err,
                 size_t errlen)
{
	switch (which % 5) {
	case 0:
		return import_parse_fetchmail("f", text, len, l, err, errlen);
	case 1:
		return import_parse_mpop("f", text, len, l, err, errlen);
	case 2:
	case 3:
		return import_parse_getmail("f", text, len, which % 5 == 3, l, err, errlen);
	default:
		return import_parse_mbsync("f", text, len, l, err, errlen);
	}
}

static unsigned count_lines(const char *s, size_t n)
{
	unsigned lines = n > 0 && s[n - 1] != '\n';

	for (size_t i = 0; i < n; i++)
		lines += s[i] == '\n';
	return lines;
}

static void check_entry(const struct import_entry *e, unsigned which, unsigned lines)
{
	bool imap = which % 5 >= 3, pop_who = which % 5 <= 1;

	if (e->id == NULL || e->line == 0 || e->line > lines)
		abort();
	if ((e->user != NULL) != pop_who || (e->host != NULL) != pop_who)
		abort();
	/* What may be marked seen is what corral's fetch can list. */
	if (e->skip == NULL && !imap && !import_uidl_valid(e->id, strlen(e->id)))
		abort();
	if (e->skip == NULL && imap &&
	    (e->uidvalidity == 0 || strtoul(e->id, NULL, 10) == 0 || e->id[0] == '0'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct import_list l = {0};
	char err[512] = "", *text, *name;
	unsigned which;
	int rc;

	if (size < 1)
		return 0;
	which = data[0];
	text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	import_parse_fetchmail("pre", "x@y Z\n", 6, &l, err, sizeof(err));
	rc = parse(which, text, size - 1, &l, err, sizeof(err));
	if (l.n == 0 || strcmp(l.v[0].id, "Z") != 0)
		abort();
	if (rc < 0 && (l.n != 1 || strncmp(err, "f:", 2) != 0))
		abort();
	for (size_t i = 1; i < l.n; i++)
		check_entry(&l.v[i], which, count_lines(text, size - 1));
	import_list_free(&l);
	/* The names: the input up to its first NUL. */
	name = import_getmail_name(text, 993, text, which & 1 ? text : NULL);
	if (strchr(name, '/') != NULL)
		abort();
	free(name);
	free(import_mbsync_far_box(text));
	free(text);
	return 0;
}
