/*
 * Changing flags: STORE and UID STORE (RFC 3501 6.4.6) with FLAGS, +FLAGS,
 * -FLAGS and .SILENT, and EXPUNGE: the flag lists read into letters (new
 * keywords recorded in dovecot-keywords); the view (view-flags.c) makes
 * the changes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "imapd/seqset.h"
#include "imapd/session-int.h"
#include "mail/flags.h"
#include "store/uidlist.h"
#include "util/log.h"

/* The letter of flag f into want[]: 0; 1 for a keyword kw does not name
 * (added to kw when add is set, else left out); -1 after a tagged answer
 * for a flag that cannot be stored. */
static int one_flag(struct session *s, const char *f, char want[128], struct keywords *kw, bool add,
                    bool *added)
{
	unsigned bit = mail_flag_from_imap(f, strlen(f));
	bool new_kw = false;
	char letter[8];
	int idx;

	if (bit != 0) {
		mail_flags_letters(bit, letter);
		want[(int)letter[0]] = 1;
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

/* SELECT said [READ-ONLY], or the client used EXAMINE. */
static const char read_only[] =
    "[READ-ONLY] the folder is read-only (EXAMINE, or it cannot be written)";

static void do_store(struct session *s, const struct imapd_arg *args, size_t nargs, bool uid)
{
	char want[128], mode, letters[32];
	struct seqset set;
	bool silent;
	const char *what;
	size_t gone = 0;
	uint64_t since = 0;
	bool cond = false;
	struct imapd_arg plain[3];
	struct buf modified;

	/* RFC 7162 3.1.3: STORE set (UNCHANGEDSINCE n) item flags. */
	if (nargs == 4 && args[1].kind == IMAPD_LIST && args[1].nsub == 2 &&
	    imapd_arg_is(&args[1].sub[0], "UNCHANGEDSINCE") &&
	    modseq_arg(&args[1].sub[1], true, &since)) {
		cond = true;
		plain[0] = args[0];
		plain[1] = args[2];
		plain[2] = args[3];
		args = plain;
		nargs = 3;
	}
	if (nargs != 3 || args[0].kind != IMAPD_ATOM || args[1].kind != IMAPD_ATOM) {
		done(s, ST_BAD, "STORE needs a sequence set, an item and flags");
		return;
	}
	/* RFC 7162 3.1.2.2 wants BAD there, before READ-ONLY's NO. */
	if (cond && modseq_refused(s) < 0)
		return;
	if (s->readonly) {
		done(s, ST_NO, "%s", read_only);
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
	if (cond)
		condstore_on(s);
	buf_init(&modified, 1u << 20);
	for (size_t i = 0; i < s->view.n; i++) {
		struct view_msg *m = &s->view.msgs[i];
		uint32_t id = uid ? m->uid : (uint32_t)(i + 1);

		if (!seqset_has(&set, id))
			continue;
		/* Changed since the client looked: not stored, said in MODIFIED. */
		if (cond && m->modseq > since) {
			buf_printf(&modified, "%s%u", modified.len > 0 ? "," : "", id);
			continue;
		}
		view_flags_apply(m->flags, want, mode, letters, sizeof(letters));
		if (view_msg_set_flags(&s->view, m, letters) < 0) {
			gone++;
			continue;
		}
		if (!silent) {
			buf_printf(&s->out, "* %zu FETCH (", i + 1);
			view_msg_put_flags(&s->view, m, &s->out);
			if (uid || s->qresync)
				buf_printf(&s->out, " UID %u", m->uid);
			if (modseq_shown(s)) {
				buf_putc(&s->out, ' ');
				put_modseq(s, m);
			}
			buf_puts(&s->out, ")\r\n");
		} else if (modseq_shown(s)) {
			/* RFC 7162 3.1.3: .SILENT still says the new mod-sequence. */
			buf_printf(&s->out, "* %zu FETCH (", i + 1);
			if (uid || s->qresync)
				buf_printf(&s->out, "UID %u ", m->uid);
			put_modseq(s, m);
			buf_puts(&s->out, ")\r\n");
		}
	}
	seqset_free(&set);
	if (modified.len > 0)
		done(s, ST_OK, "[MODIFIED %.*s] conditional %sSTORE failed", (int)modified.len,
		     modified.data, uid ? "UID " : "");
	else if (gone > 0)
		done(s, ST_NO, "[EXPUNGEISSUED] %zu messages are gone", gone);
	else
		done(s, ST_OK, "%sSTORE completed", uid ? "UID " : "");
	buf_free(&modified);
}

void imap_cmd_store(struct session *s)
{
	do_store(s, s->cmd->args, s->cmd->nargs, false);
}

void imap_uid_store(struct session *s, const struct imapd_arg *args, size_t nargs)
{
	do_store(s, args, nargs, true);
}

void session_expunge_deleted(struct session *s, bool silent, const struct seqset *uids)
{
	view_expunge_deleted(&s->view, uids);
	session_expunges(s, silent);
}

void imap_cmd_expunge(struct session *s)
{
	if (s->readonly) {
		done(s, ST_NO, "%s", read_only);
		return;
	}
	session_expunge_deleted(s, false, NULL);
	done(s, ST_OK, "EXPUNGE completed");
}

/* UID EXPUNGE (RFC 4315): only the \Deleted messages of the set. */
void imap_uid_expunge(struct session *s, const struct imapd_arg *args, size_t nargs)
{
	struct seqset set;
	uint32_t star = s->view.n > 0 ? s->view.msgs[s->view.n - 1].uid : 0;

	if (s->readonly) {
		done(s, ST_NO, "%s", read_only);
		return;
	}
	if (nargs != 1 || args[0].kind != IMAPD_ATOM ||
	    seqset_parse(args[0].s, args[0].len, star, &set) < 0) {
		done(s, ST_BAD, "UID EXPUNGE needs a UID set");
		return;
	}
	session_expunge_deleted(s, false, &set);
	seqset_free(&set);
	done(s, ST_OK, "UID EXPUNGE completed");
}
