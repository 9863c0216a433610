/*
 * Maildir++ folder names (maildir.h): user folder names to directories,
 * each level sanitised and written in modified UTF-7 as Dovecot writes it;
 * and the raw spelling older corrals wrote, for maildir-upgrade.c; the
 * ",W=" size of a message file name.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "store/maildir-int.h"
#include "store/maildir.h"
#include "mail/folder.h"
#include "mail/mutf7.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"

/* Upper-cases a first level spelled "inbox" in any case: IMAP's INBOX is case-insensitive. */
static void normalise_inbox(struct buf *out)
{
	if (str_ieq_n(out->data, out->len, ".INBOX"))
		memcpy(out->data, ".INBOX", 6);
}

/*
 * Appends one sanitised level (n bytes of s, not empty after sanitising) in
 * modified UTF-7. A byte that is not part of valid UTF-8 (a Latin-1 header
 * captured by a rule) becomes "_": the name stays deliverable, and no
 * folder is ever refused for its encoding.
 */
static int put_level_mutf7(struct buf *out, const char *s, size_t n)
{
	struct buf raw;
	char *enc;
	int rc;

	buf_init(&raw, NAME_MAX);
	if (folder_put_level(&raw, s, n) < 0) {
		buf_free(&raw);
		return -1;
	}
	enc = mutf7_encode_lossy(raw.data != NULL ? raw.data : "", '_');
	buf_free(&raw);
	rc = enc != NULL && buf_puts(out, enc) >= 0 ? 0 : -1;
	free(enc);
	return rc;
}

/* ".A.B" for "A/B": legacy keeps each level's raw bytes (corral before
 * modified UTF-7), else each level is modified UTF-7. */
static char *folder_dir(const char *folder, bool legacy)
{
	struct buf out;
	const char *p = folder != NULL ? folder : "";
	bool had_text = false;

	/* The whole dir is one directory entry, so it is capped at NAME_MAX. */
	buf_init(&out, NAME_MAX);
	while (*p != '\0') {
		size_t n = strcspn(p, "/"), before = out.len;
		long got = 0;

		if (n > 0) {
			had_text = true;
			if (buf_putc(&out, '.') < 0 || (got = folder_put_level(&out, p, n)) < 0) {
				buf_free(&out);
				return NULL;
			}
			if (got > 0 && !legacy) {
				/* Sanitised once to see that the level is not empty, then
				 * written again in modified UTF-7. */
				out.len = before + 1;
				out.data[out.len] = '\0';
				if (put_level_mutf7(&out, p, n) < 0) {
					buf_free(&out);
					return NULL;
				}
			}
			if (got == 0)
				out.data[--out.len] = '\0';
			else if (before == 0)
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

char *maildir_folder_dir(const char *folder)
{
	return folder_dir(folder, false);
}

char *md_legacy_dir(const char *folder)
{
	return folder_dir(folder, true);
}

bool md_dir_is_mutf7(const char *dir)
{
	bool ok = dir[0] == '.' && dir[1] != '\0';

	for (const char *p = dir + 1; ok && *p != '\0';) {
		size_t n = strcspn(p, ".");
		char *level = xstrndup(p, n), *utf8 = n > 0 ? mutf7_decode(level) : NULL;

		ok = utf8 != NULL;
		free(utf8);
		free(level);
		p += n + (p[n] == '.');
	}
	return ok;
}

/* ---- the ,W= size ---- */

void md_vsize_feed(struct md_vsize *v, const void *data, size_t len)
{
	const char *p = data, *end = p + len, *lf;

	if (len == 0)
		return;
	for (const char *q = p; (lf = memchr(q, '\n', (size_t)(end - q))) != NULL; q = lf + 1) {
		int before = lf > p ? (unsigned char)lf[-1] : v->last;

		v->bare_lf += before != '\r';
	}
	v->bytes += len;
	v->last = (unsigned char)end[-1];
}

size_t md_vsize_value(const struct md_vsize *v)
{
	return v->bytes + v->bare_lf;
}
