/* Attachment types through libmagic, from the decoded first bytes of a part. */
#include "sniff.h"

#include <magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"
#include "util/log.h"

struct sniffer {
	magic_t magic;
};

struct sniffer *sniffer_new(char *err, size_t errlen)
{
	/* No decompression, no following of anything: only the bytes given. */
	magic_t m = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR | MAGIC_NO_CHECK_COMPRESS);
	struct sniffer *s;
	size_t bytes = SNIFF_BYTES;

	if (m == NULL) {
		snprintf(err, errlen, "magic_open failed");
		return NULL;
	}
	if (magic_load(m, NULL) != 0) {
		snprintf(err, errlen, "cannot load the magic database: %s",
		         magic_error(m) ? magic_error(m) : "unknown error");
		magic_close(m);
		return NULL;
	}
	/* libmagic need not look further than what we decode. */
	magic_setparam(m, MAGIC_PARAM_BYTES_MAX, &bytes);
	s = xcalloc(1, sizeof(*s));
	s->magic = m;
	return s;
}

void sniffer_free(struct sniffer *s)
{
	if (s == NULL)
		return;
	magic_close(s->magic);
	free(s);
}

char *sniff_buffer(struct sniffer *s, const void *data, size_t len)
{
	const char *type;

	if (len == 0)
		return xstrdup("application/x-empty");
	type = magic_buffer(s->magic, data, len);
	/* libmagic answers "type/sub" or "type/sub; extra"; keep the type only. */
	if (type == NULL || strchr(type, '/') == NULL)
		return xstrdup("application/octet-stream");
	return xstrndup(type, strcspn(type, "; \t"));
}

char *sniff_part(struct sniffer *s, const struct msg *m, const struct msg_part *p)
{
	size_t len = 0;
	char *data = mime_decode(m, p, SNIFF_BYTES, &len);
	char *type;

	type = sniff_buffer(s, data ? data : "", data ? len : 0);
	free(data);
	return type;
}
