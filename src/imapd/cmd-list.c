/*
 * Listing folders: LIST (RFC 3501 6.3.8) with LIST-EXTENDED (RFC 5258:
 * selection options SUBSCRIBED, REMOTE, RECURSIVEMATCH, SPECIAL-USE; return
 * options SUBSCRIBED, CHILDREN, SPECIAL-USE, STATUS (RFC 5819); several
 * patterns), and LSUB. Every answer carries \HasChildren or \HasNoChildren
 * (CHILDREN) and the special-use attribute (RFC 6154) of the folders that
 * server.special_use names, or else of the usual names, in plain LIST and
 * LSUB too: iOS and macOS Mail look for them there. After ENABLE
 * UTF8=ACCEPT names and patterns are UTF-8 (RFC 6855).
 * A level that exists only as the parent of another ("A" of ".A.B") is
 * \Noselect, \NonExistent in the extended form. Until a client subscribes
 * to something, every folder counts as subscribed.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "config/config.h"
#include "imapd/list-match.h"
#include "imapd/session-int.h"
#include "mail/mutf7.h"
#include "store/subscriptions.h"
#include "util/log.h"

struct folder {
	char *name;          /* the IMAP name, "/" between levels (modified UTF-7) */
	char *shown;         /* as the client reads it: name, or UTF-8 (RFC 6855) */
	bool exists;         /* a Maildir folder; else only a parent of some */
	bool children;       /* some folder lies below it */
	const char *special; /* "\\Sent"..., or NULL */
	bool subscribed;
	bool child_subscribed; /* a subscribed folder lies below it */
};

struct folders {
	struct folder *v;
	size_t n, cap;
};

/* The usual names of the special folders (enum special_use order), in
 * order of preference, compared without case: the first one that exists
 * gets the attribute, unless server.special_use names the folders. \All
 * and \Flagged have none: corral has no virtual folders. */
static const char *const special_names[SU_COUNT][6] = {
    [SU_SENT] = {"Sent", "Sent Items", "Sent Messages", "Sent Mail", NULL},
    [SU_DRAFTS] = {"Drafts", "Draft", NULL},
    [SU_TRASH] = {"Trash", "Deleted Items", "Deleted Messages", "Bin", NULL},
    [SU_JUNK] = {"Junk", "Spam", "Junk E-mail", "Junk Mail", "Bulk Mail", NULL},
    [SU_ARCHIVE] = {"Archive", "Archives", NULL},
};

static struct folder *find(struct folders *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->v[i].name, name) == 0)
			return &f->v[i];
	return NULL;
}

static struct folder *add(struct folders *f, const char *name, size_t len, bool exists)
{
	struct folder *e;
	char *n = xstrndup(name, len);

	if ((e = find(f, n)) != NULL) {
		e->exists |= exists;
		free(n);
		return e;
	}
	f->v = xreallocarray_grow(f->v, &f->cap, f->n + 1, sizeof(*f->v));
	e = &f->v[f->n++];
	memset(e, 0, sizeof(*e));
	e->name = n;
	e->exists = exists;
	return e;
}

/* One entry of the root: ".A.B" -> folder "A/B", if a client can name it back. */
static void add_dir(struct folders *f, const char *root, const char *entry)
{
	char *cur = xasprintf("%s/%s/cur", root, entry), *name = xstrdup(entry + 1), *utf8;
	struct stat st;

	for (char *p = name; *p; p++)
		if (*p == '.')
			*p = '/';
	utf8 = mutf7_decode(name);
	if (utf8 != NULL && stat(cur, &st) == 0 && S_ISDIR(st.st_mode))
		add(f, name, strlen(name), true);
	free(utf8);
	free(cur);
	free(name);
}

static int cmp_folder(const void *a, const void *b)
{
	return strcmp(((const struct folder *)a)->name, ((const struct folder *)b)->name);
}

/* The existing folder named utf8 (server.special_use, UTF-8) or, without
 * case, one of the usual names; NULL when there is none. */
static struct folder *find_special(struct folders *f, const char *utf8, bool icase)
{
	char *name = mutf7_encode(utf8);
	struct folder *hit = NULL;

	for (size_t i = 0; name != NULL && i < f->n && hit == NULL; i++)
		if (f->v[i].exists && f->v[i].special == NULL &&
		    (icase ? strcasecmp(f->v[i].name, name) : strcmp(f->v[i].name, name)) == 0)
			hit = &f->v[i];
	free(name);
	return hit;
}

/* Each special use goes to the first existing folder of its list. */
static void specials(struct folders *f, const struct server_conf *conf)
{
	for (size_t u = 0; u < SU_COUNT; u++) {
		const struct strlist *l = &conf->special_use[u].folders;
		bool set = conf->special_use[u].set;
		size_t n = set ? l->n : sizeof(special_names[u]) / sizeof(special_names[u][0]);
		struct folder *hit = NULL;

		for (size_t j = 0; j < n && hit == NULL; j++) {
			const char *want = set ? l->v[j] : special_names[u][j];

			if (want == NULL)
				break;
			hit = find_special(f, want, !set);
		}
		if (hit != NULL)
			hit->special = special_use_attrs[u];
	}
}

/* Whether e is a symbolic link: such a folder is not followed (SECURITY.md). */
static bool is_link(DIR *d, const struct dirent *e)
{
	struct stat st;

	if (e->d_type != DT_UNKNOWN)
		return e->d_type == DT_LNK;
	return fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
}

/* The folders under root: INBOX, each Maildir++ folder and the parents
 * they imply, with their children, subscriptions and special uses. */
static void folders_read(struct folders *f, const struct session *s,
                         const struct subscriptions *subs)
{
	const char *root = s->cfg->maildir;
	DIR *d = opendir(root);
	struct dirent *e;
	size_t n;

	memset(f, 0, sizeof(*f));
	add(f, "INBOX", 5, true);
	while (d != NULL && (e = readdir(d)) != NULL)
		if (e->d_name[0] == '.' && e->d_name[1] != '\0' && e->d_name[1] != '.' &&
		    !is_link(d, e))
			add_dir(f, root, e->d_name);
	if (d != NULL)
		closedir(d);
	/* In name order after INBOX, as clients show them (readdir's is none). */
	if (f->n > 2)
		qsort(f->v + 1, f->n - 1, sizeof(*f->v), cmp_folder);
	n = f->n;
	for (size_t i = 0; i < n; i++)
		for (const char *p = strchr(f->v[i].name, '/'); p != NULL; p = strchr(p + 1, '/'))
			add(f, f->v[i].name, (size_t)(p - f->v[i].name), false)->children = true;
	/* Before any client subscribed to anything (no file), every folder
	 * counts as subscribed: clients that show only subscribed folders then
	 * show the ones corral's rules made. */
	for (size_t i = 0; i < f->n; i++)
		f->v[i].subscribed = subs->present ? subs_has(subs, f->v[i].name) : f->v[i].exists;
	/* Subscribed names that exist no more are listed too (SUBSCRIBED). */
	for (size_t i = 0; i < subs->n; i++)
		if (find(f, subs->names[i]) == NULL)
			add(f, subs->names[i], strlen(subs->names[i]), false)->subscribed = true;
	for (size_t i = 0; i < f->n; i++)
		for (const char *p = strchr(f->v[i].name, '/'); p != NULL; p = strchr(p + 1, '/')) {
			struct folder *parent;
			char *up = xstrndup(f->v[i].name, (size_t)(p - f->v[i].name));

			if ((parent = find(f, up)) != NULL) {
				parent->children |= f->v[i].exists;
				parent->child_subscribed |= f->v[i].subscribed;
			}
			free(up);
		}
	specials(f, &s->cfg->server);
	for (size_t i = 0; i < f->n; i++)
		f->v[i].shown = name_shown(s, f->v[i].name);
}

static void folders_free(struct folders *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].name);
		free(f->v[i].shown);
	}
	free(f->v);
}

struct list_opts {
	bool lsub;                      /* LSUB's answer */
	bool extended;                  /* the RFC 5258 form was used */
	bool sel_subscribed;            /* only subscribed folders */
	bool sel_special;               /* only special-use folders */
	bool recursive;                 /* RECURSIVEMATCH */
	bool ret_subscribed;            /* \Subscribed in the answers */
	const struct imapd_arg *status; /* RETURN (STATUS (...)) items, or NULL */
};

static void put_folder(struct session *s, const struct folder *e, const struct list_opts *o,
                       bool childinfo)
{
	const char *sep = "";

	buf_printf(&s->out, "* %s (", o->lsub ? "LSUB" : "LIST");
#define ATTR(x)                                                                                    \
	do {                                                                                       \
		buf_printf(&s->out, "%s%s", sep, x);                                               \
		sep = " ";                                                                         \
	} while (0)
	if (!e->exists)
		ATTR(o->extended ? "\\NonExistent" : "\\Noselect");
	if (o->lsub && !e->subscribed)
		ATTR("\\Noselect");
	ATTR(e->children ? "\\HasChildren" : "\\HasNoChildren");
	if (e->special != NULL)
		ATTR(e->special);
	if (o->ret_subscribed && e->subscribed)
		ATTR("\\Subscribed");
#undef ATTR
	buf_puts(&s->out, ") \"/\" ");
	put_name(s, e->name);
	if (childinfo)
		buf_puts(&s->out, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
	buf_puts(&s->out, "\r\n");
	if (o->status != NULL && e->exists) {
		char *dir = view_folder_dir(s->cfg->maildir, e->name);

		if (dir != NULL)
			put_status(s, e->name, dir, o->status->sub, o->status->nsub);
		free(dir);
	}
}

static bool matches_any(const char *ref, const struct imapd_arg *pats, size_t npats,
                        const char *name)
{
	bool hit = false;

	for (size_t k = 0; k < npats && !hit; k++) {
		char *pat = arg_string(&pats[k]), *full;

		if (pat == NULL)
			continue;
		full = xasprintf("%s%s", ref, pat);
		hit = list_match(full, name);
		free(full);
		free(pat);
	}
	return hit;
}

/* Whether a subscribed folder below e is not matched by the patterns. */
static bool hidden_child(const struct folders *f, const struct folder *e, const char *ref,
                         const struct imapd_arg *pats, size_t npats)
{
	size_t len = strlen(e->name);

	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].subscribed && strncmp(f->v[i].name, e->name, len) == 0 &&
		    f->v[i].name[len] == '/' && !matches_any(ref, pats, npats, f->v[i].shown))
			return true;
	return false;
}

static void list_folders(struct session *s, const char *ref, const struct imapd_arg *pats,
                         size_t npats, const struct list_opts *o)
{
	struct subscriptions subs;
	struct folders f;
	char err[256];

	if (subs_read(s->cfg->maildir, &subs, err, sizeof(err)) < 0)
		log_warn("%s: %s", s->peer, err);
	folders_read(&f, s, &subs);
	for (size_t i = 0; i < f.n; i++) {
		const struct folder *e = &f.v[i];
		bool childinfo = false;

		if (!matches_any(ref, pats, npats, e->shown))
			continue;
		if ((o->sel_subscribed || o->lsub) && !e->subscribed) {
			/* A parent of a subscribed folder that the patterns hide
			 * ("%"): RECURSIVEMATCH lists it with CHILDINFO (RFC 5258
			 * 3.5; not when the folder below is listed itself), LSUB
			 * lists it \Noselect (RFC 3501 6.3.9). */
			if (!e->child_subscribed || !(o->lsub || o->recursive) ||
			    !hidden_child(&f, e, ref, pats, npats))
				continue;
			childinfo = o->recursive;
		}
		if (o->sel_special && e->special == NULL)
			continue;
		if (!e->exists && !e->children && !e->subscribed)
			continue;
		put_folder(s, e, o, childinfo);
	}
	folders_free(&f);
	subs_free(&subs);
}

/* "(SUBSCRIBED REMOTE ...)": the selection options. */
static bool selection(const struct imapd_arg *a, struct list_opts *o)
{
	for (size_t i = 0; i < a->nsub; i++) {
		const struct imapd_arg *x = &a->sub[i];

		if (imapd_arg_is(x, "SUBSCRIBED"))
			o->sel_subscribed = o->ret_subscribed = true;
		else if (imapd_arg_is(x, "SPECIAL-USE"))
			o->sel_special = true;
		else if (imapd_arg_is(x, "RECURSIVEMATCH"))
			o->recursive = true;
		else if (!imapd_arg_is(x, "REMOTE"))
			return false;
	}
	/* RFC 5258: RECURSIVEMATCH alone means nothing. */
	return !o->recursive || o->sel_subscribed || o->sel_special;
}

/* "RETURN (SUBSCRIBED CHILDREN SPECIAL-USE STATUS (...))" */
static bool returns(const struct imapd_arg *a, struct list_opts *o)
{
	for (size_t i = 0; i < a->nsub; i++) {
		const struct imapd_arg *x = &a->sub[i];

		if (imapd_arg_is(x, "SUBSCRIBED"))
			o->ret_subscribed = true;
		else if (imapd_arg_is(x, "STATUS") && i + 1 < a->nsub &&
		         a->sub[i + 1].kind == IMAPD_LIST &&
		         status_items_valid(a->sub[i + 1].sub, a->sub[i + 1].nsub))
			o->status = &a->sub[++i];
		else if (!imapd_arg_is(x, "CHILDREN") && !imapd_arg_is(x, "SPECIAL-USE"))
			return false;
	}
	return true;
}

static void do_list(struct session *s, bool lsub)
{
	const struct imapd_cmd *c = s->cmd;
	const struct imapd_arg *a = c->args, *end = c->args + c->nargs;
	struct list_opts o = {.lsub = lsub};
	char *ref = NULL, *pat;

	if (!lsub && a < end && a->kind == IMAPD_LIST) {
		o.extended = true;
		if (!selection(a++, &o))
			goto bad;
	}
	if (end - a < 2 || (ref = arg_string(a)) == NULL)
		goto bad;
	a++;
	if (end - a >= 3 && imapd_arg_is(&a[1], "RETURN") && a[2].kind == IMAPD_LIST && !lsub) {
		o.extended = true;
		if (end - a != 3 || !returns(&a[2], &o))
			goto bad;
		end = a + 1;
	} else if (end - a != 1) {
		goto bad;
	}
	if (a->kind == IMAPD_LIST) {
		o.extended = true;
		if (lsub || a->nsub == 0)
			goto bad;
		list_folders(s, ref, a->sub, a->nsub, &o);
	} else if ((pat = arg_string(a)) != NULL && pat[0] == '\0' && !lsub) {
		/* The hierarchy separator and the root. */
		reply(s, "* LIST (\\Noselect) \"/\" \"\"");
		free(pat);
	} else {
		free(pat);
		list_folders(s, ref, a, 1, &o);
	}
	free(ref);
	done(s, ST_OK, "%s completed", lsub ? "LSUB" : "LIST");
	return;
bad:
	free(ref);
	done(s, ST_BAD, "%s needs a reference and a pattern%s", lsub ? "LSUB" : "LIST",
	     lsub ? "" : " (RFC 5258 options allowed)");
}

void imap_cmd_list(struct session *s)
{
	do_list(s, false);
}

void imap_cmd_lsub(struct session *s)
{
	do_list(s, true);
}
