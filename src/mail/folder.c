/*
 * Sanitised folder name levels (folder.h).
 */
#include "mail/folder.h"

#include <stdbool.h>
#include <string.h>

#include "util/buf.h"
#include "util/log.h"

static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

long folder_put_level(struct buf *out, const char *s, size_t n)
{
	size_t start = out->len;
	bool lead = true;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_ctl(c) || c == '/' || (c == '.' && lead))
			continue;
		lead = false;
		if (buf_putc(out, c == '.' ? '_' : (char)c) < 0)
			return -1;
	}
	return (long)(out->len - start);
}

char *folder_sanitise_component(const char *s)
{
	struct buf out;
	size_t n = strlen(s);

	buf_init(&out, n + 1);
	if (folder_put_level(&out, s, n) <= 0) {
		buf_free(&out);
		return xstrdup("_");
	}
	return buf_steal(&out, NULL);
}
