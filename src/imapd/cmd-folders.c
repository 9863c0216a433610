/*
 * Making and removing folders: CREATE, DELETE, RENAME (RFC 3501 6.3.3-5),
 * SUBSCRIBE and UNSUBSCRIBE. A folder is a Maildir++ directory ".A.B" with
 * cur/, new/, tmp/ and Dovecot's "maildirfolder" mark. Each change is one
 * rename() where it can be, so that no other reader sees half a folder:
 * CREATE builds the folder under a name no reader lists, then renames it
 * into place; DELETE renames it away first, then removes it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "imapd/session-int.h"
#include "store/subscriptions.h"
#include "util/fs.h"
#include "util/log.h"

/* A name no folder listing shows (it begins with ".."). */
static char *scratch_dir(const char *root, const char *what)
{
	static unsigned k;

	return xasprintf("%s/..%s.%ld.%u", root, what, (long)getpid(), k++);
}

/* The folder name argument, for CREATE without a trailing "/" ("A/" makes
 * A, RFC 3501 6.3.3); NULL after a tagged BAD. */
static char *name_arg(struct session *s, const struct imapd_arg *a)
{
	char *name = name_arg_utf(s, a);
	size_t n;

	if (name == NULL) {
		done(s, ST_BAD, "a folder name was expected%s", s->utf8 ? " (UTF-8)" : "");
		return NULL;
	}
	n = strlen(name);
	if (n > 1 && name[n - 1] == '/' && strcasecmp(s->cmd->name, "CREATE") == 0)
		name[n - 1] = '\0';
	return name;
}

static bool exists(const char *dir)
{
	struct stat st;
	char *cur = xasprintf("%s/cur", dir);
	bool yes = stat(cur, &st) == 0 && S_ISDIR(st.st_mode);

	free(cur);
	return yes;
}

static int make_folder(const char *root, const char *dir)
{
	char *tmp = scratch_dir(root, "create"), *p;
	int rc = mkdir(tmp, 0700), fd;

	for (const char *sub = "cur\0new\0tmp\0"; rc == 0 && *sub; sub += 4) {
		p = xasprintf("%s/%s", tmp, sub);
		rc = mkdir(p, 0700);
		free(p);
	}
	p = xasprintf("%s/maildirfolder", tmp);
	if (rc == 0 && (fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) >= 0)
		close(fd);
	free(p);
	if (rc == 0)
		view_recent_init(tmp);
	/* rename() refuses to replace a folder that has files in it. */
	if (rc == 0 && (rc = rename(tmp, dir)) == 0)
		fs_fsync_dir(root);
	if (rc < 0) {
		int e = errno;

		fs_remove_tree(tmp);
		errno = e;
	}
	free(tmp);
	return rc;
}

void imap_cmd_create(struct session *s)
{
	char *name, *dir;

	if (s->cmd->nargs != 1 || (name = name_arg(s, &s->cmd->args[0])) == NULL) {
		if (s->cmd->nargs != 1)
			done(s, ST_BAD, "CREATE needs a folder name");
		return;
	}
	dir = view_folder_dir(s->cfg->maildir, name);
	if (dir == NULL)
		done(s, ST_NO, "[CANNOT] not a folder name: %.100s", name);
	else if (strcasecmp(name, "INBOX") == 0 || exists(dir))
		done(s, ST_NO, "[ALREADYEXISTS] %.100s exists", name);
	else if (make_folder(s->cfg->maildir, dir) < 0)
		done(s, ST_NO, "%s %.100s: %s",
		     errno == EEXIST || errno == ENOTEMPTY ? "[ALREADYEXISTS]" : "[SERVERBUG]",
		     name, strerror(errno));
	else
		done(s, ST_OK, "CREATE completed");
	free(dir);
	free(name);
}

void imap_cmd_delete(struct session *s)
{
	char *name, *dir, *away;

	if (s->cmd->nargs != 1 || (name = name_arg(s, &s->cmd->args[0])) == NULL) {
		if (s->cmd->nargs != 1)
			done(s, ST_BAD, "DELETE needs a folder name");
		return;
	}
	dir = view_folder_dir(s->cfg->maildir, name);
	if (dir == NULL || strcasecmp(name, "INBOX") == 0) {
		done(s, ST_NO, "[CANNOT] %.100s cannot be deleted", name);
	} else if (!exists(dir)) {
		done(s, ST_NO, "[NONEXISTENT] no folder %.100s", name);
	} else if (s->state == S_SELECTED && strcmp(s->view.dir, dir) == 0) {
		done(s, ST_NO, "[INUSE] %.100s is selected: CLOSE it first", name);
	} else {
		/* Gone for every reader at once; the files go afterwards. */
		away = scratch_dir(s->cfg->maildir, "delete");
		if (rename(dir, away) < 0) {
			done(s, ST_NO, "[SERVERBUG] %.100s: %s", name, strerror(errno));
		} else {
			fs_fsync_dir(s->cfg->maildir);
			if (fs_remove_tree(away) < 0)
				log_warn("%s: %s: %s", s->peer, away, strerror(errno));
			done(s, ST_OK, "DELETE completed");
		}
		free(away);
	}
	free(dir);
	free(name);
}

/* RENAME INBOX: its messages move to the new folder, INBOX stays (RFC 3501). */
static int rename_inbox(const char *root, const char *to)
{
	if (make_folder(root, to) < 0)
		return -1;
	for (const char *sub = "cur\0new\0"; *sub; sub += 4) {
		char *from = xasprintf("%s/%s", root, sub);
		DIR *d = opendir(from);
		struct dirent *e;

		while (d != NULL && (e = readdir(d)) != NULL) {
			char *a, *b;

			if (e->d_name[0] == '.')
				continue;
			a = xasprintf("%s/%s", from, e->d_name);
			b = xasprintf("%s/%s/%s", to, sub, e->d_name);
			if (rename(a, b) < 0)
				log_warn("RENAME INBOX: %s: %s", a, strerror(errno));
			free(a);
			free(b);
		}
		if (d != NULL)
			closedir(d);
		free(from);
	}
	return 0;
}

/* ".A" and every ".A.x" become ".B" and ".B.x". */
static int rename_tree(const char *root, const char *from, const char *to)
{
	size_t flen = strlen(from);
	DIR *d = opendir(root);
	struct dirent *e;
	int rc = rename(from, to);

	if (rc < 0)
		return -1;
	while (d != NULL && (e = readdir(d)) != NULL) {
		char *path = xasprintf("%s/%s", root, e->d_name), *dest;

		if (strncmp(path, from, flen) == 0 && path[flen] == '.') {
			dest = xasprintf("%s%s", to, path + flen);
			if (rename(path, dest) < 0)
				log_warn("RENAME: %s: %s", path, strerror(errno));
			free(dest);
		}
		free(path);
	}
	if (d != NULL)
		closedir(d);
	fs_fsync_dir(root);
	return 0;
}

void imap_cmd_rename(struct session *s)
{
	const struct imapd_cmd *c = s->cmd;
	char *from = NULL, *to = NULL, *fdir = NULL, *tdir = NULL;
	int rc;

	if (c->nargs != 2 || (from = name_arg(s, &c->args[0])) == NULL ||
	    (to = name_arg(s, &c->args[1])) == NULL) {
		if (c->nargs != 2)
			done(s, ST_BAD, "RENAME needs two folder names");
		free(from);
		return;
	}
	fdir = view_folder_dir(s->cfg->maildir, from);
	tdir = view_folder_dir(s->cfg->maildir, to);
	if (fdir == NULL || tdir == NULL || strcasecmp(to, "INBOX") == 0)
		done(s, ST_NO, "[CANNOT] not a folder name");
	else if (!exists(fdir))
		done(s, ST_NO, "[NONEXISTENT] no folder %.100s", from);
	else if (exists(tdir))
		done(s, ST_NO, "[ALREADYEXISTS] %.100s exists", to);
	else if (strncmp(to, from, strlen(from)) == 0 && to[strlen(from)] == '/')
		done(s, ST_NO, "[CANNOT] a folder cannot move below itself");
	else {
		rc = strcasecmp(from, "INBOX") == 0 ? rename_inbox(s->cfg->maildir, tdir)
		                                    : rename_tree(s->cfg->maildir, fdir, tdir);
		if (rc < 0)
			done(s, ST_NO, "[SERVERBUG] %s", strerror(errno));
		else
			done(s, ST_OK, "RENAME completed");
	}
	free(fdir);
	free(tdir);
	free(from);
	free(to);
}

static void subscribe(struct session *s, bool on)
{
	char *name, err[256];

	if (s->cmd->nargs != 1 || (name = name_arg(s, &s->cmd->args[0])) == NULL) {
		if (s->cmd->nargs != 1)
			done(s, ST_BAD, "%s needs a folder name", s->cmd->name);
		return;
	}
	if (strcasecmp(name, "INBOX") == 0)
		strcpy(name, "INBOX");
	if (subs_change(s->cfg->maildir, name, on, err, sizeof(err)) < 0) {
		log_err("%s: %s", s->peer, err);
		done(s, ST_NO, "[SERVERBUG] the subscriptions cannot be written");
	} else {
		done(s, ST_OK, "%s completed", on ? "SUBSCRIBE" : "UNSUBSCRIBE");
	}
	free(name);
}

void imap_cmd_subscribe(struct session *s)
{
	subscribe(s, true);
}

void imap_cmd_unsubscribe(struct session *s)
{
	subscribe(s, false);
}
