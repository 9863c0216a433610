/*
 * Maildir++ folder and flag names (deliver-maildir.h): user folder names
 * to directories, sanitised; flags to the info letters.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "deliver-maildir.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"

static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/*
 * Appends one sanitised level: control characters and "/" dropped, leading
 * dots dropped, inner dots made "_" (so ".." can never survive). Returns the
 * bytes appended, or -1 past the buffer's cap.
 */
static long put_level(struct buf *out, const char *s, size_t n)
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

char *maildir_sanitise_component(const char *s)
{
	struct buf out;
	size_t n = strlen(s);

	buf_init(&out, n + 1);
	if (put_level(&out, s, n) <= 0) {
		buf_free(&out);
		return xstrdup("_");
	}
	return buf_steal(&out, NULL);
}

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
			if (buf_putc(&out, '.') < 0 || (got = put_level(&out, p, n)) < 0) {
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

void maildir_flags_string(unsigned flags, char out[8])
{
	static const struct {
		unsigned flag;
		char c;
	} letters[] = {
	    {MD_FLAG_DRAFT, 'D'},    {MD_FLAG_FLAGGED, 'F'}, {MD_FLAG_PASSED, 'P'},
	    {MD_FLAG_ANSWERED, 'R'}, {MD_FLAG_SEEN, 'S'},    {MD_FLAG_TRASHED, 'T'},
	};
	size_t n = 0;

	for (size_t i = 0; i < sizeof(letters) / sizeof(letters[0]); i++)
		if (flags & letters[i].flag)
			out[n++] = letters[i].c;
	out[n] = '\0';
}
