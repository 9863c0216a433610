/*
 * Changing flags: STORE and UID STORE (RFC 3501 6.4.6) with FLAGS, +FLAGS,
 * -FLAGS and .SILENT, and EXPUNGE. A message's flags are the letters of
 * its file name after ":2," (DFRST for \Draft \Flagged \Answered \Seen
 * \Deleted, a-z for the keywords of dovecot-keywords, in ASCII order, any
 * other letter kept); a change is a rename() into cur/, which is what
 * Dovecot and every Maildir reader see.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "imapd/seqset.h"
#include "imapd/session-int.h"
#include "store/uidlist.h"
#include "util/log.h"

static const struct {
	const char *flag;
	char letter;
} sys_flags[] = {
    {"\\Draft", 'D'}, {"\\Flagged", 'F'}, {"\\Answered", 'R'}, {"\\Seen", 'S'}, {"\\Deleted", 'T'}};

/* The letter of flag f into want[]: 0; 1 for a keyword kw does not name
 * (added to kw when add is set, else left out); -1 after a tagged answer
 * for a flag that cannot be stored. */
static int one_flag(struct session *s, const char *f, char want[128], struct keywords *kw, bool add,
                    bool *added)
{
	bool new_kw = false;
	int idx;

	for (size_t k = 0; k < sizeof(sys_flags) / sizeof(sys_flags[0]); k++)
		if (strcasecmp(f, sys_flags[k].flag) == 0) {
			want[(int)sys_flags[k].letter] = 1;
			return 0;
		}
	if (strcasecmp(f, "\\Recent") == 0)
		return 0;
	if (f[0] == '\\') {
		done(s, ST_BAD, "the flag %.60s cannot be stored", f);
		return -1;
	}
	idx = keywords_index(kw, f, add, &new_kw);
	if (idx < 0 && add) {
		done(s, ST_NO, "no room for the keyword %.60s: %d keywords at most", f,
		     UIDLIST_KEYWORDS_MAX);
		return -1;
	}
	if (idx >= 0)
		want['a' + idx] = 1;
	*added |= new_kw;
	return idx < 0;
}

/* The letters of a flag list with kw as it is; 1 when a keyword is new. */
static int list_letters(struct session *s, const struct imapd_arg *a, char want[128],
                        struct keywords *kw, bool add, bool *added)
{
	const struct imapd_arg *v = a->kind == IMAPD_LIST ? a->sub : a;
	size_t n = a->kind == IMAPD_LIST ? a->nsub : 1;
	int rc = 0;

	memset(want, 0, 128);
	for (size_t i = 0; i < n; i++) {
		/* "NIL" is an atom here: the keyword NIL (RFC 3501 flag-keyword). */
		char *f =
		    v[i].kind == IMAPD_ATOM || v[i].kind == IMAPD_NIL ? arg_string(&v[i]) : NULL;
		int r = f != NULL ? one_flag(s, f, want, kw, add, added) : -1;

		if (f == NULL)
			done(s, ST_BAD, "a flag list was expected");
		free(f);
		if (r < 0)
			return -1;
		rc |= r;
	}
	return rc;
}

int flag_letters(struct session *s, const struct imapd_arg *a, char want[128], struct keywords *kw,
                 const char *dir)
{
	char err[256];
	bool added = false;
	struct keywords disk;
	int lock, rc = list_letters(s, a, want, kw, false, &added);

	if (rc <= 0)
		return rc;
	/* A new keyword: its letter is given under the lock, from
	 * dovecot-keywords as it is now (another session may have added one
	 * since kw was read), so that no two names share a letter. */
	lock = uidlist_lock(dir, 10000, err, sizeof(err));
	if (lock < 0 || keywords_read(dir, &disk, err, sizeof(err)) < 0) {
		log_err("%s: %s", s->peer, err);
		if (lock >= 0)
			uidlist_unlock(dir, lock);
		done(s, ST_NO, "[SERVERBUG] cannot record a new keyword");
		return -1;
	}
	keywords_free(kw);
	*kw = disk;
	rc = list_letters(s, a, want, kw, true, &added);
	if (rc >= 0 && added && keywords_write(dir, kw, err, sizeof(err)) < 0) {
		log_err("%s: %s", s->peer, err);
		done(s, ST_NO, "[SERVERBUG] cannot record a new keyword");
		rc = -1;
	}
	uidlist_unlock(dir, lock);
	if (rc < 0) {
		/* Nothing was written: kw is dovecot-keywords again. */
		keywords_free(kw);
		if (keywords_read(dir, kw, err, sizeof(err)) < 0)
			memset(kw, 0, sizeof(*kw));
	}
	return rc < 0 ? -1 : 0;
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

int view_set_flags(struct session *s, struct view_msg *m, const char *letters)
{
	char add[128] = {0}, del[128] = {0}, merged[sizeof(m->flags) + 26];

	if (m->gone)
		return -1;
	if (rename_flags(m, letters) == 0)
		return 0;
	if (errno != ENOENT)
		return -1;
	/* Another writer renamed it meanwhile: the same change, made to the
	 * flags it has now. */
	for (const char *p = letters; *p; p++)
		add[*p & 127] = strchr(m->flags, *p) == NULL;
	for (const char *p = m->flags; *p; p++)
		del[*p & 127] = strchr(letters, *p) == NULL;
	if (view_locate(&s->view, m) < 0) {
		m->gone = true;
		return -1;
	}
	m->changed = false;
	flags_apply(m->flags, add, '+', merged, sizeof(merged));
	flags_apply(merged, del, '-', merged, sizeof(merged));
	return rename_flags(m, merged);
}

void flags_apply(const char *old, const char want[128], char mode, char *out, size_t outlen)
{
	char set[128] = {0};
	size_t k = 0;

	for (const char *p = old; *p; p++)
		if ((unsigned char)*p < 128)
			set[(int)*p] = 1;
	for (int c = 0; c < 128; c++) {
		bool imap_letter = strchr("DFRST", c) != NULL || (c >= 'a' && c <= 'z');

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

static void do_store(struct session *s, const struct imapd_arg *args, size_t nargs, bool uid)
{
	char want[128], mode, letters[32];
	struct seqset set;
	bool silent;
	const char *what;
	size_t gone = 0;

	if (nargs != 3 || args[0].kind != IMAPD_ATOM || args[1].kind != IMAPD_ATOM) {
		done(s, ST_BAD, "STORE needs a sequence set, an item and flags");
		return;
	}
	if (s->readonly) {
		done(s, ST_NO, "[READ-ONLY] the folder was opened with EXAMINE");
		return;
	}
	what = args[1].s;
	mode = what[0] == '+' || what[0] == '-' ? what[0] : '=';
	if (mode != '=')
		what++;
	silent =
	    args[1].len - (size_t)(mode != '=') == 12 && strncasecmp(what, "FLAGS.SILENT", 12) == 0;
	if (!silent &&
	    !(args[1].len - (size_t)(mode != '=') == 5 && strncasecmp(what, "FLAGS", 5) == 0)) {
		done(s, ST_BAD, "STORE takes FLAGS, +FLAGS or -FLAGS (.SILENT)");
		return;
	}
	/* The set first: a bad one records no new keyword. */
	if (seqset_arg(s, &args[0], uid, &set) < 0)
		return;
	if (flag_letters(s, &args[2], want, &s->view.kw, s->view.dir) < 0) {
		seqset_free(&set);
		return;
	}
	session_new_keywords(s);
	for (size_t i = 0; i < s->view.n; i++) {
		struct view_msg *m = &s->view.msgs[i];

		if (!seqset_has(&set, uid ? m->uid : (uint32_t)(i + 1)))
			continue;
		flags_apply(m->flags, want, mode, letters, sizeof(letters));
		if (view_set_flags(s, m, letters) < 0) {
			gone++;
			continue;
		}
		if (!silent) {
			buf_printf(&s->out, "* %zu FETCH (", i + 1);
			put_flags(s, m);
			if (uid)
				buf_printf(&s->out, " UID %u", m->uid);
			buf_puts(&s->out, ")\r\n");
		}
	}
	seqset_free(&set);
	if (gone > 0)
		done(s, ST_NO, "[EXPUNGEISSUED] %zu messages are gone", gone);
	else
		done(s, ST_OK, "%sSTORE completed", uid ? "UID " : "");
}

void imap_cmd_store(struct session *s)
{
	do_store(s, s->cmd->args, s->cmd->nargs, false);
}

void imap_uid_store(struct session *s, const struct imapd_arg *args, size_t nargs)
{
	do_store(s, args, nargs, true);
}

/* Unlinks m's file; false when it stays (an error, or another session
 * took \Deleted away meanwhile). */
static bool remove_file(struct session *s, struct view_msg *m)
{
	if (unlink(m->path) == 0)
		return true;
	if (errno != ENOENT) {
		log_err("%s: %s: %s", s->peer, m->path, strerror(errno));
		return false;
	}
	/* Renamed by another writer (a flag change), or removed. */
	if (view_locate(&s->view, m) < 0)
		return true;
	return strchr(m->flags, 'T') != NULL && (unlink(m->path) == 0 || errno == ENOENT);
}

void view_expunge(struct session *s, bool silent, const struct seqset *uids)
{
	for (size_t i = 0; i < s->view.n; i++) {
		struct view_msg *m = &s->view.msgs[i];

		if (strchr(m->flags, 'T') != NULL && !m->gone &&
		    (uids == NULL || seqset_has(uids, m->uid)))
			m->gone = remove_file(s, m);
	}
	session_expunges(s, silent);
}

void imap_cmd_expunge(struct session *s)
{
	if (s->readonly) {
		done(s, ST_NO, "[READ-ONLY] the folder was opened with EXAMINE");
		return;
	}
	view_expunge(s, false, NULL);
	done(s, ST_OK, "EXPUNGE completed");
}

/* UID EXPUNGE (RFC 4315): only the \Deleted messages of the set. */
void imap_uid_expunge(struct session *s, const struct imapd_arg *args, size_t nargs)
{
	struct seqset set;
	uint32_t star = s->view.n > 0 ? s->view.msgs[s->view.n - 1].uid : 0;

	if (s->readonly) {
		done(s, ST_NO, "[READ-ONLY] the folder was opened with EXAMINE");
		return;
	}
	if (nargs != 1 || args[0].kind != IMAPD_ATOM ||
	    seqset_parse(args[0].s, args[0].len, star, &set) < 0) {
		done(s, ST_BAD, "UID EXPUNGE needs a UID set");
		return;
	}
	view_expunge(s, false, &set);
	seqset_free(&set);
	done(s, ST_OK, "UID EXPUNGE completed");
}
