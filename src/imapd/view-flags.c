/*
 * The view's changes to messages: flags and expunge (view.h). A message's
 * flags are the letters of its file name after ":2," (mail/flags.h's
 * letters for the system flags, a-z for the keywords of dovecot-keywords,
 * in ASCII order, any other letter kept); a change is a rename() into
 * cur/, which is what Dovecot and every Maildir reader see. A file another
 * writer renamed meanwhile is found again (view_locate) and the change is
 * made to the flags it has now.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imapd/seqset.h"
#include "imapd/view.h"
#include "mail/flags.h"
#include "util/buf.h"
#include "util/log.h"

void view_msg_put_flags(const struct view *v, const struct view_msg *m, struct buf *out)
{
	const char *sep = "";

	buf_puts(out, "FLAGS (");
	for (const char *l = MAIL_FLAG_IMAP_LETTERS; *l; l++)
		if (strchr(m->flags, *l) != NULL) {
			buf_printf(out, "%s%s", sep, mail_flag_imap_name(*l));
			sep = " ";
		}
	for (const char *p = m->flags; *p; p++)
		if (*p >= 'a' && *p <= 'z' && v->kw.names[*p - 'a'] != NULL) {
			buf_printf(out, "%s%s", sep, v->kw.names[*p - 'a']);
			sep = " ";
		}
	if (m->recent)
		buf_printf(out, "%s\\Recent", sep);
	buf_putc(out, ')');
}

void view_flags_apply(const char *old, const char want[128], char mode, char *out, size_t outlen)
{
	char set[128] = {0};
	size_t k = 0;

	for (const char *p = old; *p; p++)
		if ((unsigned char)*p < 128)
			set[(int)*p] = 1;
	for (int c = 0; c < 128; c++) {
		bool imap_letter =
		    strchr(MAIL_FLAG_IMAP_LETTERS, c) != NULL || (c >= 'a' && c <= 'z');

		if (mode == '+' && want[c])
			set[c] = 1;
		else if (mode == '-' && want[c])
			set[c] = 0;
		else if (mode == '=' && imap_letter)
			set[c] = want[c];
	}
	/* In ASCII order, as Maildir readers expect. */
	for (int c = 33; c < 127 && k + 1 < outlen; c++)
		if (set[c])
			out[k++] = (char)c;
	out[k] = '\0';
}

/* The rename that gives m these flags; -1 with errno. */
static int rename_flags(struct view_msg *m, const char *letters)
{
	char *slash = strrchr(m->path, '/'), *sub, *base, *to;
	size_t blen;

	if (slash == NULL || slash - m->path < 4) {
		errno = EINVAL;
		return -1;
	}
	sub = slash - 3; /* "new" or "cur" */
	base = slash + 1;
	blen = strcspn(base, ":");
	to =
	    xasprintf("%.*scur/%.*s:2,%s", (int)(sub - m->path), m->path, (int)blen, base, letters);
	if (strcmp(to, m->path) != 0 && rename(m->path, to) < 0) {
		free(to);
		return -1;
	}
	free(m->path);
	m->path = to;
	snprintf(m->flags, sizeof(m->flags), "%s", letters);
	return 0;
}

int view_msg_set_flags(struct view *v, struct view_msg *m, const char *letters)
{
	char add[128] = {0}, del[128] = {0}, merged[sizeof(m->flags) + 26];
	bool differ = strcmp(m->flags, letters) != 0;

	if (m->gone)
		return -1;
	if (rename_flags(m, letters) == 0) {
		if (differ)
			view_modseq_bump(v, m);
		return 0;
	}
	if (errno != ENOENT)
		return -1;
	/* Another writer renamed it meanwhile: the same change, made to the
	 * flags it has now. */
	for (const char *p = letters; *p; p++)
		add[*p & 127] = strchr(m->flags, *p) == NULL;
	for (const char *p = m->flags; *p; p++)
		del[*p & 127] = strchr(letters, *p) == NULL;
	if (view_locate(v, m) < 0) {
		m->gone = true;
		return -1;
	}
	m->changed = false;
	view_flags_apply(m->flags, add, '+', merged, sizeof(merged));
	view_flags_apply(merged, del, '-', merged, sizeof(merged));
	if (rename_flags(m, merged) < 0)
		return -1;
	/* Told as a change even when merged is what it had (another writer
	 * made the same change): one FETCH too many, never one too few. */
	view_modseq_bump(v, m);
	return 0;
}

/* Unlinks m's file; false when it stays (an error, or another session
 * took \Deleted away meanwhile). */
static bool remove_file(const struct view *v, struct view_msg *m)
{
	if (unlink(m->path) == 0)
		return true;
	if (errno != ENOENT) {
		log_err("%s: %s", m->path, strerror(errno));
		return false;
	}
	/* Renamed by another writer (a flag change), or removed. */
	if (view_locate(v, m) < 0)
		return true;
	return strchr(m->flags, 'T') != NULL && (unlink(m->path) == 0 || errno == ENOENT);
}

void view_expunge_deleted(struct view *v, const struct seqset *uids)
{
	for (size_t i = 0; i < v->n; i++) {
		struct view_msg *m = &v->msgs[i];

		if (strchr(m->flags, 'T') != NULL && !m->gone &&
		    (uids == NULL || seqset_has(uids, m->uid)))
			m->gone = remove_file(v, m);
	}
}
