/*
 * Folders: LIST (RFC 3501 6.3.8, with \HasChildren / \HasNoChildren),
 * SELECT and EXAMINE (both read-only for now), STATUS, CLOSE, UNSELECT.
 * Folder names are the Maildir++ directory names, modified UTF-7 as on the
 * wire; "/" separates levels.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "config/config.h"
#include "imapd/session-int.h"
#include "mail/mutf7.h"
#include "util/log.h"

/* Every folder name under the root, INBOX first. */
static char **folder_names(const char *root, size_t *n)
{
	DIR *d = opendir(root);
	struct dirent *e;
	char **v = NULL;
	size_t cap = 0;

	*n = 0;
	v = xreallocarray_grow(v, &cap, 1, sizeof(*v));
	v[(*n)++] = xstrdup("INBOX");
	while (d != NULL && (e = readdir(d)) != NULL) {
		char *name, *utf8, *cur;
		struct stat st;

		if (e->d_name[0] != '.' || e->d_name[1] == '\0' || e->d_name[1] == '.')
			continue;
		cur = xasprintf("%s/%s/cur", root, e->d_name);
		name = xstrdup(e->d_name + 1);
		for (char *p = name; *p; p++)
			if (*p == '.')
				*p = '/';
		/* Only what a client can name back (modified UTF-7). */
		utf8 = mutf7_decode(name);
		if (utf8 != NULL && stat(cur, &st) == 0 && S_ISDIR(st.st_mode)) {
			v = xreallocarray_grow(v, &cap, *n + 1, sizeof(*v));
			v[(*n)++] = name;
		} else {
			free(name);
		}
		free(utf8);
		free(cur);
	}
	if (d != NULL)
		closedir(d);
	return v;
}

/* LIST wildcards: "*" matches anything, "%" anything but "/". */
static bool match(const char *pat, const char *s)
{
	if (*pat == '\0')
		return *s == '\0';
	if (*pat == '*' || *pat == '%') {
		for (const char *t = s;; t++) {
			if (match(pat + 1, t))
				return true;
			if (*t == '\0' || (*pat == '%' && *t == '/'))
				return false;
		}
	}
	return *s != '\0' && (*pat == *s) && match(pat + 1, s + 1);
}

static bool has_children(char **v, size_t n, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < n; i++)
		if (strncmp(v[i], name, len) == 0 && v[i][len] == '/')
			return true;
	return false;
}

void imap_cmd_list(struct session *s)
{
	const struct imapd_cmd *c = s->cmd;
	char *ref, *pat, *full, **names;
	size_t n;

	if (c->nargs != 2 || (ref = arg_string(&c->args[0])) == NULL) {
		tagged(s, "BAD", "LIST needs a reference and a pattern");
		return;
	}
	if ((pat = arg_string(&c->args[1])) == NULL) {
		free(ref);
		tagged(s, "BAD", "LIST needs a reference and a pattern");
		return;
	}
	if (pat[0] == '\0') {
		/* The hierarchy separator and the root. */
		reply(s, "* LIST (\\Noselect) \"/\" \"\"");
	} else {
		full = xasprintf("%s%s", ref, pat);
		names = folder_names(s->cfg->maildir, &n);
		for (size_t i = 0; i < n; i++) {
			bool inbox = i == 0;

			if (!(inbox ? match(full, "INBOX") || (strncasecmp(full, "INBOX", 5) == 0 &&
			                                       match(full + 5, ""))
			            : match(full, names[i])))
				continue;
			buf_printf(&s->out, "* LIST (%s) \"/\" ",
			           has_children(names, n, names[i]) ? "\\HasChildren"
			                                            : "\\HasNoChildren");
			put_string(&s->out, names[i], strlen(names[i]));
			buf_puts(&s->out, "\r\n");
		}
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		free(full);
	}
	free(ref);
	free(pat);
	tagged(s, "OK", "LIST completed");
}

char *folder_arg(struct session *s, const struct imapd_arg *a)
{
	char *name = arg_string(a), *dir;
	struct stat st;

	if (name == NULL) {
		tagged(s, "BAD", "a folder name was expected");
		return NULL;
	}
	dir = view_folder_dir(s->cfg->maildir, name);
	if (dir == NULL) {
		tagged(s, "NO", "[CANNOT] not a folder name: %.100s", name);
	} else {
		char *cur = xasprintf("%s/cur", dir);

		if (stat(cur, &st) < 0 || !S_ISDIR(st.st_mode)) {
			tagged(s, "NO", "[%s] no folder %.100s",
			       strcasecmp(s->cmd->name, "APPEND") == 0 ? "TRYCREATE"
			                                               : "NONEXISTENT",
			       name);
			free(dir);
			dir = NULL;
		}
		free(cur);
	}
	free(name);
	return dir;
}

static size_t count_flag(const struct view *v, char letter, bool with)
{
	size_t k = 0;

	for (size_t i = 0; i < v->n; i++)
		k += (strchr(v->msgs[i].flags, letter) != NULL) == with;
	return k;
}

static void open_folder(struct session *s, const char *what)
{
	char *dir, err[256];
	size_t recent = 0;

	if (s->cmd->nargs != 1) {
		tagged(s, "BAD", "%s needs one folder name", what);
		return;
	}
	if (s->state == S_SELECTED) {
		view_close(&s->view);
		s->state = S_AUTH;
	}
	if ((dir = folder_arg(s, &s->cmd->args[0])) == NULL)
		return;
	if (view_open(dir, &s->view, err, sizeof(err)) < 0) {
		log_err("%s: %s", s->peer, err);
		tagged(s, "NO", "[SERVERBUG] cannot open the folder");
		free(dir);
		return;
	}
	free(dir);
	for (size_t i = 0; i < s->view.n; i++)
		recent += s->view.msgs[i].recent;
	buf_puts(&s->out, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft");
	for (size_t i = 0; i < s->view.kw.n; i++)
		if (s->view.kw.names[i] != NULL)
			buf_printf(&s->out, " %s", s->view.kw.names[i]);
	buf_puts(&s->out, ")\r\n");
	if (strcmp(what, "EXAMINE") == 0)
		reply(s, "* OK [PERMANENTFLAGS ()] read-only");
	else
		reply(s,
		      "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] "
		      "flags and keywords are kept");
	reply(s, "* %zu EXISTS", s->view.n);
	reply(s, "* %zu RECENT", recent);
	for (size_t i = 0; i < s->view.n; i++)
		if (strchr(s->view.msgs[i].flags, 'S') == NULL) {
			reply(s, "* OK [UNSEEN %zu] first unseen", i + 1);
			break;
		}
	reply(s, "* OK [UIDVALIDITY %u] UIDs valid", s->view.uidvalidity);
	reply(s, "* OK [UIDNEXT %u] predicted next UID", s->view.uidnext);
	s->state = S_SELECTED;
	s->readonly = strcmp(what, "EXAMINE") == 0;
	tagged(s, "OK", "[%s] %s completed", s->readonly ? "READ-ONLY" : "READ-WRITE", what);
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
	const struct imapd_arg *items;
	struct view v;
	char *dir, *name, err[256];

	if (c->nargs != 2 || c->args[1].kind != IMAPD_LIST) {
		tagged(s, "BAD", "STATUS needs a folder name and a list of items");
		return;
	}
	if ((dir = folder_arg(s, &c->args[0])) == NULL)
		return;
	if (view_open(dir, &v, err, sizeof(err)) < 0) {
		free(dir);
		tagged(s, "NO", "[SERVERBUG] cannot open the folder");
		return;
	}
	free(dir);
	name = arg_string(&c->args[0]);
	buf_puts(&s->out, "* STATUS ");
	put_string(&s->out, name, strlen(name));
	buf_puts(&s->out, " (");
	items = c->args[1].sub;
	for (size_t i = 0; i < c->args[1].nsub; i++) {
		const struct imapd_arg *it = &items[i];
		size_t recent = 0;

		for (size_t k = 0; k < v.n; k++)
			recent += v.msgs[k].recent;
		if (i > 0)
			buf_putc(&s->out, ' ');
		if (imapd_arg_is(it, "MESSAGES"))
			buf_printf(&s->out, "MESSAGES %zu", v.n);
		else if (imapd_arg_is(it, "UIDNEXT"))
			buf_printf(&s->out, "UIDNEXT %u", v.uidnext);
		else if (imapd_arg_is(it, "UIDVALIDITY"))
			buf_printf(&s->out, "UIDVALIDITY %u", v.uidvalidity);
		else if (imapd_arg_is(it, "UNSEEN"))
			buf_printf(&s->out, "UNSEEN %zu", count_flag(&v, 'S', false));
		else if (imapd_arg_is(it, "RECENT"))
			buf_printf(&s->out, "RECENT %zu", recent);
		else
			buf_printf(&s->out, "%.*s 0", (int)(it->len < 40 ? it->len : 40), it->s);
	}
	buf_puts(&s->out, ")\r\n");
	free(name);
	view_close(&v);
	tagged(s, "OK", "STATUS completed");
}

void imap_cmd_close(struct session *s)
{
	/* CLOSE expunges, silently, unless the folder is read-only. */
	if (!s->readonly)
		view_expunge(s, true);
	view_close(&s->view);
	s->state = S_AUTH;
	tagged(s, "OK", "CLOSE completed");
}

void imap_cmd_unselect(struct session *s)
{
	view_close(&s->view);
	s->state = S_AUTH;
	tagged(s, "OK", "UNSELECT completed");
}
