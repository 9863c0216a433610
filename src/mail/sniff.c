/* Attachment types through libmagic, from the decoded first bytes of a part. */
#include "mail/sniff.h"

#include <magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/message.h"
#include "util/dl.h"
#include "util/log.h"

/* libmagic is loaded when a rule first needs it (util/dl.h). */
struct magic_api {
	magic_t (*open)(int);
	int (*load)(magic_t, const char *);
	const char *(*error)(magic_t);
	int (*setparam)(magic_t, int, const void *);
	const char *(*buffer)(magic_t, const void *, size_t);
	void (*close)(magic_t);
};

struct sniffer {
	magic_t magic;
	struct magic_api api;
};

static int magic_api_load(struct magic_api *a, char *err, size_t errlen)
{
	static const char *const names[] = {"magic_open",     "magic_load",   "magic_error",
	                                    "magic_setparam", "magic_buffer", "magic_close"};
	void *fns[6];

	if (dl_load("libmagic.so.1", names, fns, 6, err, errlen) < 0)
		return -1;
	*(void **)&a->open = fns[0];
	*(void **)&a->load = fns[1];
	*(void **)&a->error = fns[2];
	*(void **)&a->setparam = fns[3];
	*(void **)&a->buffer = fns[4];
	*(void **)&a->close = fns[5];
	return 0;
}

struct sniffer *sniffer_new(char *err, size_t errlen)
{
	struct magic_api api;
	magic_t m;
	struct sniffer *s;
	size_t bytes = SNIFF_BYTES;

	if (magic_api_load(&api, err, errlen) < 0)
		return NULL;
	/* No decompression, no following of anything: only the bytes given. */
	m = api.open(MAGIC_MIME_TYPE | MAGIC_ERROR | MAGIC_NO_CHECK_COMPRESS);
	if (m == NULL) {
		snprintf(err, errlen, "magic_open failed");
		return NULL;
	}
	if (api.load(m, NULL) != 0) {
		snprintf(err, errlen, "cannot load the magic database: %s",
		         api.error(m) ? api.error(m) : "unknown error");
		api.close(m);
		return NULL;
	}
	/* libmagic need not look further than what we decode. */
	api.setparam(m, MAGIC_PARAM_BYTES_MAX, &bytes);
	s = xcalloc(1, sizeof(*s));
	s->magic = m;
	s->api = api;
	return s;
}

void sniffer_free(struct sniffer *s)
{
	if (s == NULL)
		return;
	s->api.close(s->magic);
	free(s);
}

char *sniff_buffer(struct sniffer *s, const void *data, size_t len)
{
	const char *type;

	if (len == 0)
		return xstrdup("application/x-empty");
	type = s->api.buffer(s->magic, data, len);
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
