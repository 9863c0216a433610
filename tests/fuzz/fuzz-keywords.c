/* libFuzzer target: dovecot-keywords as keywords_read() takes it from disk.
 * Every well-formed line ("<index> <name>", index below 26, the first line
 * the reader could take for that index) must come back as that keyword, and nothing that no line
 * says; written back, the file must read the same. */
#include <stdbool.h>
#include <stdint.h>

#include "fuzz-store-file.h"
#include "store/uidlist.h"

/* A strict line: its index, or -1; *name and *nlen its name. */
static int strict_line(const char *s, size_t n, const char **name, size_t *nlen)
{
	size_t i = 0;
	int idx = 0;

	while (i < n && i < 3 && s[i] >= '0' && s[i] <= '9')
		idx = idx * 10 + (s[i++] - '0');
	if (i == 0 || i == 3 || idx >= UIDLIST_KEYWORDS_MAX || i + 1 >= n || s[i] != ' ')
		return -1;
	*name = s + i + 1;
	*nlen = n - i - 1;
	/* What Dovecot writes: a keyword is an atom of printable ASCII. */
	for (size_t k = 0; k < *nlen; k++)
		if ((unsigned char)(*name)[k] <= ' ' || (unsigned char)(*name)[k] >= 0x7f)
			return -1;
	return *nlen <= 250 ? idx : -1;
}

/* The index any line the reader could take is for (as strtoul reads it). */
static int loose_index(const char *s, size_t n)
{
	char *buf = strndup(s, n), *end;
	unsigned long i = strtoul(buf, &end, 10);
	bool ok = end != buf && *end == ' ' && i < UIDLIST_KEYWORDS_MAX;

	free(buf);
	return ok ? (int)i : -1;
}

static void check_kept(const struct keywords *kw, const char *s, size_t n)
{
	bool seen[UIDLIST_KEYWORDS_MAX] = {false};
	const char *line = s, *end = s + n;

	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line)), *name;
		size_t len = nl ? (size_t)(nl - line) : (size_t)(end - line), nlen;
		int i = strict_line(line, len, &name, &nlen), taken = loose_index(line, len);

		/* The first line the reader may take for an index decides it. */
		if (taken >= 0 && seen[taken])
			i = -1;
		if (taken >= 0)
			seen[taken] = true;
		if (i >= 0) {
			if (kw->names[i] == NULL || strlen(kw->names[i]) != nlen ||
			    memcmp(kw->names[i], name, nlen) != 0)
				abort();
		}
		line = nl ? nl + 1 : end;
	}
	for (size_t i = 0; i < UIDLIST_KEYWORDS_MAX; i++)
		if ((kw->names[i] != NULL && i >= kw->n) ||
		    (kw->names[i] != NULL && kw->names[i][0] == '\0'))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keywords kw, again;
	char err[512];

	fz_put("dovecot-keywords", data, size);
	if (keywords_read(fz_dir(), &kw, err, sizeof(err)) < 0)
		abort();
	check_kept(&kw, (const char *)data, size);
	if (keywords_write(fz_dir(), &kw, err, sizeof(err)) < 0 ||
	    keywords_read(fz_dir(), &again, err, sizeof(err)) < 0)
		abort();
	for (size_t i = 0; i < UIDLIST_KEYWORDS_MAX; i++)
		if ((kw.names[i] == NULL) != (again.names[i] == NULL) ||
		    (kw.names[i] != NULL && strcmp(kw.names[i], again.names[i]) != 0))
			abort();
	keywords_free(&again);
	keywords_free(&kw);
	return 0;
}
