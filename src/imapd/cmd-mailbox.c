/*
 * Opening folders: SELECT and EXAMINE, STATUS, CLOSE, UNSELECT. Folder
 * names are the Maildir++ directory names, modified UTF-7 as on the wire;
 * "/" separates levels (cmd-list.c lists them, cmd-folders.c makes them).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "imapd/session-int.h"
#include "mail/mutf7.h"
#include "util/log.h"

char *folder_arg(struct session *s, const struct imapd_arg *a)
{
	char *name = name_arg_utf(s, a), *dir;
	struct stat st;

	if (name == NULL) {
		done(s, ST_BAD, "a folder name was expected%s", s->utf8 ? " (UTF-8)" : "");
		return NULL;
	}
	dir = view_folder_dir(s->cfg->maildir, name);
	if (dir == NULL) {
		done(s, ST_NO, "[CANNOT] not a folder name: %.100s", name);
	} else {
		char *cur = xasprintf("%s/cur", dir);

		if (stat(cur, &st) < 0 || !S_ISDIR(st.st_mode)) {
			done(s, ST_NO, "[%s] no folder %.100s",
			     strcasecmp(s->cmd->name, "SELECT") == 0 ||
			             strcasecmp(s->cmd->name, "EXAMINE") == 0 ||
			             strcasecmp(s->cmd->name, "STATUS") == 0
			         ? "NONEXISTENT"
			         : "TRYCREATE",
			     name);
			free(dir);
			dir = NULL;
		}
		free(cur);
	}
	free(name);
	return dir;
}

/* Whether flags can change in the folder at dir: its cur/ can be written
 * (not so on a read-only mount, or without permission: SELECT is then
 * READ-ONLY, RFC 3501 6.3.1). */
static bool cur_writable(const char *dir)
{
	char *cur = xasprintf("%s/cur", dir);
	bool yes = faccessat(AT_FDCWD, cur, W_OK, AT_EACCESS) == 0;

	free(cur);
	return yes;
}

static void open_folder(struct session *s, const char *what)
{
	char *dir, err[256];
	size_t recent = 0;
	struct qresync q;

	if (s->cmd->nargs < 1 || s->cmd->nargs > 2 ||
	    (s->cmd->nargs == 2 && s->cmd->args[1].kind != IMAPD_LIST)) {
		done(s, ST_BAD, "%s needs one folder name and parameters in a list", what);
		return;
	}
	if (select_params(s, s->cmd->nargs == 2 ? &s->cmd->args[1] : NULL, &q) < 0)
		return;
	if (s->state == S_SELECTED) {
		view_close(&s->view);
		s->state = S_AUTH;
		/* RFC 7162 3.2.11: where the old folder's responses end, for a
		 * client that enabled QRESYNC (others never asked for it). */
		if (s->qresync)
			reply(s, "* OK [CLOSED] previous folder closed");
	}
	s->modseq_told = false;
	if ((dir = folder_arg(s, &s->cmd->args[0])) == NULL) {
		qresync_free(&q);
		return;
	}
	if (view_open(dir, VIEW_WATCH | (strcmp(what, "SELECT") == 0 ? VIEW_RW : 0), &s->view, err,
	              sizeof(err)) < 0) {
		log_err("%s: %s", s->peer, err);
		done(s, ST_NO, "[SERVERBUG] cannot open the folder");
		free(dir);
		qresync_free(&q);
		return;
	}
	free(dir);
	for (size_t i = 0; i < s->view.n; i++)
		recent += s->view.msgs[i].recent;
	s->readonly = strcmp(what, "EXAMINE") == 0 || !cur_writable(s->view.dir);
	session_flags(s);
	reply(s, "* %zu EXISTS", s->view.n);
	s->exists = s->view.n;
	reply(s, "* %zu RECENT", recent);
	for (size_t i = 0; i < s->view.n; i++)
		if (strchr(s->view.msgs[i].flags, 'S') == NULL) {
			reply(s, "* OK [UNSEEN %zu] first unseen", i + 1);
			break;
		}
	reply(s, "* OK [UIDVALIDITY %u] UIDs valid", s->view.uidvalidity);
	reply(s, "* OK [UIDNEXT %u] predicted next UID", s->view.uidnext);
	/* RFC 7162 3.1.2.1: once CONDSTORE is on (a later enabling command
	 * says it then: condstore_on). */
	if (q.condstore || q.qresync)
		s->condstore = true;
	/* 3.1.2.2: a folder whose mod-sequences would not last says so at
	 * every SELECT and EXAMINE, and never HIGHESTMODSEQ. */
	if (s->view.nomodseq) {
		reply(s, "* OK [NOMODSEQ] this folder cannot be written: no mod-sequences");
	} else if (s->condstore) {
		reply(s, "* OK [HIGHESTMODSEQ %llu] Highest",
		      (unsigned long long)s->view.highestmodseq);
		s->modseq_told = true;
	}
	qresync_select(s, &q);
	qresync_free(&q);
	s->state = S_SELECTED;
	done(s, ST_OK, "[%s] %s completed", s->readonly ? "READ-ONLY" : "READ-WRITE", what);
}

void imap_cmd_select(struct session *s)
{
	open_folder(s, "SELECT");
}

void imap_cmd_examine(struct session *s)
{
	open_folder(s, "EXAMINE");
}

void imap_cmd_status(struct session *s)
{
	const struct imapd_cmd *c = s->cmd;
	char *dir, *name;
	int rc;

	if (c->nargs != 2 || c->args[1].kind != IMAPD_LIST ||
	    !status_items_valid(c->args[1].sub, c->args[1].nsub)) {
		done(s, ST_BAD,
		     "STATUS needs a folder name and a list of MESSAGES UIDNEXT HIGHESTMODSEQ "
		     "UIDVALIDITY UNSEEN RECENT");
		return;
	}
	if ((dir = folder_arg(s, &c->args[0])) == NULL)
		return;
	name = name_arg_utf(s, &c->args[0]);
	rc = put_status(s, name, dir, c->args[1].sub, c->args[1].nsub);
	free(name);
	free(dir);
	if (rc < 0)
		done(s, ST_NO, "[SERVERBUG] cannot open the folder");
	else
		done(s, ST_OK, "STATUS completed");
}

void imap_cmd_close(struct session *s)
{
	/* CLOSE expunges, silently, unless the folder is read-only. */
	if (!s->readonly)
		session_expunge_deleted(s, true, NULL);
	view_close(&s->view);
	s->state = S_AUTH;
	done(s, ST_OK, "CLOSE completed");
}

void imap_cmd_unselect(struct session *s)
{
	view_close(&s->view);
	s->state = S_AUTH;
	done(s, ST_OK, "UNSELECT completed");
}
