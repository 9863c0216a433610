/*
 * Maildir++ folder and flag names (mail/flags.h): user folder names
 * to directories, sanitised; flags to the info letters.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "store/maildir.h"
#include "mail/folder.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"

/* Upper-cases a first level spelled "inbox" in any case: IMAP's INBOX is case-insensitive. */
static void normalise_inbox(struct buf *out)
{
	if (str_ieq_n(out->data, out->len, ".INBOX"))
		memcpy(out->data, ".INBOX", 6);
}

char *maildir_folder_dir(const char *folder)
{
	struct buf out;
	const char *p = folder != NULL ? folder : "";
	bool had_text = false;

	/* The whole dir is one directory entry, so it is capped at NAME_MAX. */
	buf_init(&out, NAME_MAX);
	while (*p != '\0') {
		size_t n = strcspn(p, "/");
		long got;

		if (n > 0) {
			had_text = true;
			if (buf_putc(&out, '.') < 0 || (got = folder_put_level(&out, p, n)) < 0) {
				buf_free(&out);
				return NULL;
			}
			if (got == 0)
				out.data[--out.len] = '\0';
			else if (out.len == (size_t)got + 1)
				normalise_inbox(&out);
		}
		p += n + (p[n] == '/');
	}
	if (out.len == 0 || strcmp(out.data, ".INBOX") == 0) {
		bool nothing = out.len == 0 && had_text;

		buf_free(&out);
		return nothing ? NULL : xstrdup("");
	}
	return buf_steal(&out, NULL);
}
