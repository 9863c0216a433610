/*
 * COPY, MOVE (RFC 6851) and their UID forms, with COPYUID (RFC 4315).
 * A copy is a hard link of the message file under a new name in the
 * destination's cur/ (same bytes, same mtime, so the same INTERNALDATE); a
 * move is one rename(), so that at every instant the message is in exactly
 * one of the two folders. Flags go along, keyword letters translated to the
 * destination's dovecot-keywords. The destination's UID list then gives
 * the new files their UIDs, in the order of the source UIDs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "imapd/seqset.h"
#include "imapd/session-int.h"
#include "store/maildir.h"
#include "store/uidlist.h"
#include "util/fs.h"
#include "util/log.h"

struct transfer {
	const char *dest; /* the destination folder's directory */
	bool move;
	struct keywords kw; /* the destination's */
	bool kw_added;
	char **bases; /* the new files' base names */
	uint32_t *src_uids, *dst_uids;
	size_t n;
};

/* The message's flags with its keyword letters as the destination spells them. */
static void dest_letters(struct session *s, struct transfer *t, const char *flags, char *out,
                         size_t outlen)
{
	char want[128] = {0};

	for (const char *p = flags; *p; p++) {
		const char *name = *p >= 'a' && *p <= 'z' ? s->view.kw.names[*p - 'a'] : NULL;
		bool added = false;
		int idx;

		if (*p >= 'a' && *p <= 'z') {
			if (name != NULL && (idx = keywords_index(&t->kw, name, true, &added)) >= 0)
				want['a' + idx] = 1;
			t->kw_added |= added;
		} else if ((unsigned char)*p < 128) {
			want[(int)*p] = 1;
		}
	}
	view_flags_apply("", want, '+', out, outlen);
}

/* A new unique base name (store's), keeping the ",S=" and ",W=" fields of old. */
static char *new_base(const char *old_path, size_t k)
{
	const char *name = strrchr(old_path, '/') + 1;
	size_t nlen = strcspn(name, ":");
	/* Only a comma before ":2," starts a field: "a:2," has none (neomutt's
	 * COPY of such a file gave "b,:2,"). */
	const char *fields = memchr(name, ',', nlen);
	char *suffix =
	    fields != NULL ? xstrndup(fields, nlen - (size_t)(fields - name)) : xstrdup("");
	char *base = md_new_base(k, suffix);

	free(suffix);
	return base;
}

/* Puts one message into the destination; 0, or -1 (the source is gone or
 * the disk refused). */
static int transfer_one(struct session *s, struct transfer *t, struct view_msg *m)
{
	char letters[64], *base, *to;
	/* A move into the same folder is a copy and an expunge: a new UID. */
	bool rename_it = t->move && strcmp(t->dest, s->view.dir) != 0;
	int rc;

	dest_letters(s, t, m->flags, letters, sizeof(letters));
	if (rename_it) {
		/* The same base name: the file only changes folder. */
		const char *slash = strrchr(m->path, '/');

		base = xstrndup(slash + 1, strcspn(slash + 1, ":"));
	} else {
		base = new_base(m->path, t->n);
	}
	to = xasprintf("%s/cur/%s:2,%s", t->dest, base, letters);
	rc = rename_it ? rename(m->path, to) : link(m->path, to);
	if (rc < 0 && errno == ENOENT && view_locate(&s->view, m) == 0)
		rc = rename_it ? rename(m->path, to) : link(m->path, to);
	if (rc == 0 && t->move && !rename_it)
		unlink(m->path);
	free(to);
	if (rc < 0) {
		log_warn("%s: %s %s: %s", s->peer, t->move ? "MOVE" : "COPY", m->path,
		         strerror(errno));
		free(base);
		return -1;
	}
	t->bases[t->n] = base;
	t->src_uids[t->n++] = m->uid;
	if (t->move)
		m->gone = true;
	return 0;
}

static void transfer_free(struct transfer *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->bases[i]);
	free(t->bases);
	free(t->src_uids);
	free(t->dst_uids);
	keywords_free(&t->kw);
}

/* The COPYUID code, or "" when the UIDs could not be given. */
static void put_copyuid(struct session *s, struct transfer *t, struct buf *code)
{
	uint32_t validity;
	char err[256];

	if (t->n == 0 || uidlist_assign(t->dest, (const char *const *)t->bases, t->n, t->dst_uids,
	                                &validity, err, sizeof(err)) < 0) {
		if (t->n > 0)
			log_err("%s: %s", s->peer, err);
		return;
	}
	buf_printf(code, "[COPYUID %u ", validity);
	seqset_put(code, t->src_uids, t->n);
	buf_putc(code, ' ');
	seqset_put(code, t->dst_uids, t->n);
	buf_puts(code, "] ");
}

static void do_copy(struct session *s, const struct imapd_arg *args, size_t nargs, bool uid,
                    bool move)
{
	const char *what = move ? "MOVE" : "COPY";
	struct transfer t = {.move = move};
	struct seqset set;
	struct buf code;
	char err[256], *dest, *cur;
	size_t failed = 0;
	int lock;

	if (nargs != 2) {
		done(s, ST_BAD, "%s needs a sequence set and a folder", what);
		return;
	}
	if (seqset_arg(s, &args[0], uid, &set) < 0)
		return;
	if (move && s->readonly) {
		seqset_free(&set);
		done(s, ST_NO, "[READ-ONLY] the folder is read-only: MOVE cannot remove");
		return;
	}
	if ((dest = folder_arg(s, &args[1])) == NULL) {
		seqset_free(&set);
		return;
	}
	/* The destination's keywords are read, extended and written under its
	 * lock, so that two sessions cannot give one letter two names. */
	if ((lock = uidlist_lock(dest, 10000, err, sizeof(err))) < 0 ||
	    keywords_read(dest, &t.kw, err, sizeof(err)) < 0) {
		log_err("%s: %s", s->peer, err);
		if (lock >= 0)
			uidlist_unlock(dest, lock);
		seqset_free(&set);
		free(dest);
		done(s, ST_NO, "[SERVERBUG] the destination folder cannot be locked");
		return;
	}
	t.dest = dest;
	t.bases = xcalloc(s->view.n + 1, sizeof(*t.bases));
	t.src_uids = xcalloc(s->view.n + 1, sizeof(*t.src_uids));
	t.dst_uids = xcalloc(s->view.n + 1, sizeof(*t.dst_uids));
	for (size_t i = 0; i < s->view.n; i++) {
		struct view_msg *m = &s->view.msgs[i];

		if (seqset_has(&set, uid ? m->uid : (uint32_t)(i + 1)))
			failed += m->gone || transfer_one(s, &t, m) < 0;
	}
	seqset_free(&set);
	if (t.kw_added && keywords_write(dest, &t.kw, err, sizeof(err)) < 0)
		log_err("%s: %s", s->peer, err);
	uidlist_unlock(dest, lock);
	/* The new names are durable before the client hears of them. */
	cur = xasprintf("%s/cur", dest);
	fs_fsync_dir(cur);
	free(cur);
	buf_init(&code, 1u << 20);
	put_copyuid(s, &t, &code);
	if (move && t.n > 0) {
		/* RFC 6851: COPYUID untagged, then the expunges, then OK. */
		reply(s, "* OK %.*s moved", (int)code.len, code.data);
		session_expunges(s, false);
		buf_reset(&code);
	}
	/* Into the selected folder: the new messages are told now (EXISTS,
	 * and \Recent: this session is the first to see them). */
	if (t.n > 0 && strcmp(dest, s->view.dir) == 0)
		session_sync(s, true);
	if (failed > 0 && t.n == 0)
		done(s, ST_NO, "[EXPUNGEISSUED] the messages are gone");
	else if (failed > 0)
		done(s, ST_NO, "%.*s%zu of the messages are gone", (int)code.len, code.data,
		     failed);
	else
		done(s, ST_OK, "%.*s%s%s completed", (int)code.len, code.data, uid ? "UID " : "",
		     what);
	buf_free(&code);
	transfer_free(&t);
	free(dest);
}

void imap_cmd_copy(struct session *s)
{
	do_copy(s, s->cmd->args, s->cmd->nargs, false, false);
}

void imap_cmd_move(struct session *s)
{
	do_copy(s, s->cmd->args, s->cmd->nargs, false, true);
}

void imap_uid_copy(struct session *s, const struct imapd_arg *args, size_t nargs)
{
	do_copy(s, args, nargs, true, false);
}

void imap_uid_move(struct session *s, const struct imapd_arg *args, size_t nargs)
{
	do_copy(s, args, nargs, true, true);
}
