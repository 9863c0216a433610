#include "imapd/view.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imapd/fetch-body.h"
#include "mail/mutf7.h"
#include "store/maildir.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"

/* Whether dir, or its tmp/ new/ cur/, is a symbolic link: it may lead out
 * of the Maildir, and none is followed (SECURITY.md). dir itself is not
 * looked at for INBOX (the Maildir root may be a link, ~/Maildir -> /data). */
static bool has_link(const char *dir, bool self)
{
	static const char *const sub[] = {"", "/tmp", "/new", "/cur"};
	struct stat st;

	for (size_t i = self ? 0 : 1; i < sizeof(sub) / sizeof(sub[0]); i++) {
		char *p = xasprintf("%s%s", dir, sub[i]);
		bool link = lstat(p, &st) == 0 && S_ISLNK(st.st_mode);

		free(p);
		if (link)
			return true;
	}
	return false;
}

char *view_folder_dir(const char *root, const char *name)
{
	struct buf out;
	const char *p = name;

	if (strcasecmp(name, "INBOX") == 0)
		return has_link(root, false) ? NULL : xstrdup(root);
	/* LIST's wildcards name no folder. */
	if (name[0] == '\0' || name[0] == '/' || name[strlen(name) - 1] == '/' ||
	    strpbrk(name, "%*") != NULL)
		return NULL;
	buf_init(&out, 4096);
	buf_puts(&out, root);
	buf_puts(&out, "/");
	while (*p != '\0') {
		size_t n = strcspn(p, "/");
		char *level = xstrndup(p, n), *utf8;

		/* Names on the wire are modified UTF-7, as on disk: only valid ones,
		 * no empty level, no "." (the Maildir++ separator: ".." never appears). */
		utf8 = n == 0 || strchr(level, '.') != NULL ? NULL : mutf7_decode(level);
		/* Nor what decodes to them ("&Li4-" is ".."), nor "~" first (a home
		 * directory to shells and to other servers' clients). */
		if (utf8 != NULL &&
		    (strpbrk(utf8, "./") != NULL || (p == name && utf8[0] == '~'))) {
			free(utf8);
			utf8 = NULL;
		}
		if (utf8 == NULL || buf_putc(&out, '.') < 0 || buf_puts(&out, level) < 0) {
			free(level);
			free(utf8);
			buf_free(&out);
			return NULL;
		}
		free(level);
		free(utf8);
		p += n;
		if (*p == '/')
			p++;
	}
	if (has_link(buf_cstr(&out), true)) {
		buf_free(&out);
		return NULL;
	}
	return buf_steal(&out, NULL);
}

/* "NAME:2,FLAGS,extra" -> "FLAGS" in m->flags. */
static void flags_from_name(struct view_msg *m, const char *name)
{
	const char *info = strstr(name, ":2,");

	snprintf(m->flags, sizeof(m->flags), "%s", info != NULL ? info + 3 : "");
	m->flags[strcspn(m->flags, ",")] = '\0';
}

static bool in_new(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL && slash - path >= 4 && strncmp(slash - 4, "/new/", 5) == 0;
}

int view_locate(const struct view *v, struct view_msg *m)
{
	const char *slash = strrchr(m->path, '/');
	size_t blen = strcspn(slash + 1, ":");
	char *path = xasprintf("%s/new/%.*s", v->dir, (int)blen, slash + 1), *cur;
	struct dirent *e;
	struct stat st;
	DIR *d;
	int rc = -1;

	if (stat(path, &st) == 0) {
		free(m->path);
		m->path = path;
		flags_from_name(m, path);
		return 0;
	}
	free(path);
	cur = xasprintf("%s/cur", v->dir);
	d = opendir(cur);
	while (d != NULL && rc < 0 && (e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, slash + 1, blen) != 0 ||
		    (e->d_name[blen] != ':' && e->d_name[blen] != '\0'))
			continue;
		path = xasprintf("%s/%s", cur, e->d_name);
		free(m->path);
		m->path = path;
		flags_from_name(m, path);
		rc = 0;
	}
	if (d != NULL)
		closedir(d);
	free(cur);
	return rc;
}

/* A message in new/ moves to cur/ (a read-only view only looks). Whether
 * it is \Recent here is mark_recent()'s to say. */
static void take_new(const struct view *v, struct view_msg *m)
{
	const char *slash = strrchr(m->path, '/');
	char *to;

	if (!v->rw)
		return;
	to = xasprintf("%s/cur/%s%s", v->dir, slash + 1, strchr(slash, ':') ? "" : ":2,");
	if (rename(m->path, to) == 0) {
		free(m->path);
		m->path = to;
		return;
	}
	/* Another session took it first. */
	free(to);
	if (view_locate(v, m) < 0)
		m->gone = true;
}

/* The value of a ",S=" or ",W=" field of a name (field ",S="), 0 without one. */
static uint64_t name_size(const char *name, const char *field)
{
	const char *f = strstr(name, field);
	const char *colon = strchr(name, ':');

	return f != NULL && (colon == NULL || f < colon) ? strtoull(f + 3, NULL, 10) : 0;
}

/* m's size and date from the index; false when it has no entry that
 * agrees with the name's ",S=" (a stale entry is ignored). */
static bool from_index(struct view *v, struct view_msg *m, const char *base)
{
	const struct mdindex_entry *e = mdindex_get(v->ix, base, strlen(base));
	uint64_t s = name_size(base, ",S=");

	if (e == NULL || (s != 0 && e->size != s))
		return false;
	m->size = e->size;
	m->internal = (time_t)e->mtime;
	m->crlf_size = e->crlf_size;
	return true;
}

/* m's size and date from its file, kept in the index. */
static const char *msg_base(const struct view_msg *m, size_t *len);

void view_msg_statted(struct view *v, struct view_msg *m, const struct stat *st)
{
	if (!m->unstatted)
		return;
	m->size = (uint64_t)st->st_size;
	m->internal = st->st_mtime;
	if (m->crlf_size == 0)
		m->crlf_size = view_msg_name_vsize(m);
	m->unstatted = false;
	view_msg_remember(v, m, NULL, 0);
}

/* m's path relative to the folder's directory, or NULL. */
static const char *rel_path(const struct view *v, const struct view_msg *m)
{
	size_t n = strlen(v->dir);

	return v->dirfd >= 0 && strncmp(m->path, v->dir, n) == 0 && m->path[n] == '/'
	           ? m->path + n + 1
	           : NULL;
}

static int open_path(const struct view *v, const struct view_msg *m)
{
	const char *rel = rel_path(v, m);

	/* A message file that is a symbolic link could show any file the server
	 * can read: never followed (SECURITY.md). */
	return rel != NULL ? openat(v->dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
	                   : open(m->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
}

int view_msg_open(struct view *v, struct view_msg *m)
{
	char old[sizeof(m->flags)];
	int fd = open_path(v, m);

	if (fd >= 0 || errno != ENOENT)
		return fd;
	/* Another writer renamed it to change its flags (Dovecot, corral
	 * refile): the base name finds it; the new flags are told later. */
	memcpy(old, m->flags, sizeof(old));
	if (view_locate(v, m) < 0) {
		errno = ENOENT;
		return -1;
	}
	if (strcmp(old, m->flags) != 0) {
		m->changed = true;
		view_modseq_bump(v, m);
	}
	return open_path(v, m);
}

static int stat_rel(const struct view *v, const struct view_msg *m, struct stat *st)
{
	const char *rel = rel_path(v, m);

	return rel != NULL ? fstatat(v->dirfd, rel, st, 0) : stat(m->path, st);
}

int view_msg_stat(struct view *v, struct view_msg *m)
{
	struct stat st;

	if (!m->unstatted)
		return 0;
	if (stat_rel(v, m, &st) < 0 && (view_locate(v, m) < 0 || stat_rel(v, m, &st) < 0))
		return -1;
	view_msg_statted(v, m, &st);
	return 0;
}

/* A message the view did not have: appended, unless its file is gone. */
static void add_msg(struct view *v, const struct uidlist_rec *r, size_t *cap)
{
	struct view_msg *m;

	if (r->name == NULL)
		return; /* being renamed: the next sync has it */
	v->msgs = xreallocarray_grow(v->msgs, cap, v->n + 1, sizeof(*v->msgs));
	m = &v->msgs[v->n];
	memset(m, 0, sizeof(*m));
	m->uid = r->uid;
	m->path = xasprintf("%s/%s", v->dir, r->name);
	flags_from_name(m, r->name);
	/* Until mark_recent(): whether it came in new/ (a folder without
	 * corral-recent yet counts those as recent). */
	m->recent = in_new(m->path);
	if (m->recent)
		take_new(v, m);
	if (m->gone) {
		free(m->path);
		return;
	}
	view_modseq_added(v, m);
	if (!from_index(v, m, r->base)) {
		m->unstatted = true;
		m->size = name_size(r->base, ",S=");
		m->crlf_size = name_size(r->base, ",W=");
	}
	v->n++;
}

/* A message the view has: its current name, and whether its flags changed. */
static void update_msg(struct view *v, struct view_msg *m, const struct uidlist_rec *r)
{
	char *path;
	char old[sizeof(m->flags)];

	if (r->name == NULL || m->gone)
		return;
	path = xasprintf("%s/%s", v->dir, r->name);
	if (strcmp(path, m->path) == 0) {
		free(path);
		return;
	}
	free(m->path);
	m->path = path;
	memcpy(old, m->flags, sizeof(old));
	flags_from_name(m, r->name);
	if (in_new(path))
		take_new(v, m);
	if (strcmp(old, m->flags) != 0) {
		m->changed = true;
		view_modseq_bump(v, m);
	}
}

/*
 * \Recent as RFC 3501 2.3.2 defines it: a message is recent in the one
 * session that is first told of it. The folder's corral-recent holds the
 * first UID no read-write session has been told of; such a session claims
 * the UIDs from there under the UID list's lock, so that two sessions
 * never both see one as recent. A read-only view (EXAMINE, STATUS) sees
 * them without claiming (6.3.2). In a folder without the file (made by
 * another program) the messages in new/ are the recent ones.
 */
/* The first unclaimed UID of the folder; false without corral-recent. */
static bool read_recent(const struct view *v, uint32_t *first)
{
	char *path = xasprintf("%s/corral-recent", v->dir);
	FILE *fp = fopen(path, "r");
	bool have = fp != NULL && fscanf(fp, "%u", first) == 1;

	if (fp != NULL)
		fclose(fp);
	free(path);
	return have;
}

static void write_recent(const char *dir, uint32_t first)
{
	char *path = xasprintf("%s/corral-recent", dir), text[16];

	snprintf(text, sizeof(text), "%u\n", first);
	if (fs_replace_file(path, text, strlen(text), false) < 0)
		log_warn("%s: %s", path, strerror(errno));
	free(path);
}

void view_recent_init(const char *dir)
{
	write_recent(dir, 1);
}

/* Which of msgs[from..n) are \Recent in this view. */
static void mark_recent(struct view *v, size_t from)
{
	char err[256];
	int lock = -1;
	uint32_t first;

	if (from >= v->n)
		return;
	/* A folder that cannot be written (nomodseq) has no lock to take. */
	if (v->rw && !v->nomodseq && (lock = uidlist_lock(v->dir, 10000, err, sizeof(err))) < 0)
		log_warn("%s", err);
	/* Without the file, the messages that came in new/ are (add_msg). */
	if (read_recent(v, &first))
		for (size_t i = from; i < v->n; i++)
			v->msgs[i].recent = v->msgs[i].uid >= first;
	else
		first = 0;
	if (lock >= 0) {
		if (v->msgs[v->n - 1].uid >= first)
			write_recent(v->dir, v->msgs[v->n - 1].uid + 1);
		uidlist_unlock(v->dir, lock);
	} else if (v->rw) {
		/* Without the lock no claim is safe: none is made. */
		for (size_t i = from; i < v->n; i++)
			v->msgs[i].recent = false;
	}
}

int view_sync(struct view *v, char *err, size_t errlen)
{
	struct uidlist ul;
	struct keywords kw;
	bool changed;
	size_t had = v->n, i = 0, cap = v->n;
	uint32_t last = v->n > 0 ? v->msgs[v->n - 1].uid : 0;

	if (uidlist_sync(v->dir, &ul, &changed, err, errlen) < 0)
		return -1;
	/* Someone removed the UID list: every UID the client knows is void. */
	if (v->uidvalidity != 0 && ul.uidvalidity != v->uidvalidity) {
		uidlist_free(&ul);
		return 1;
	}
	/* Another session may have named a new keyword. */
	if (keywords_read(v->dir, &kw, err, errlen) == 0) {
		keywords_free(&v->kw);
		v->kw = kw;
	}
	for (size_t j = 0; j < ul.n; j++) {
		const struct uidlist_rec *r = &ul.recs[j];

		while (i < had && v->msgs[i].uid < r->uid)
			v->msgs[i++].gone = true;
		if (i < had && v->msgs[i].uid == r->uid)
			update_msg(v, &v->msgs[i++], r);
		else if (r->uid > last)
			add_msg(v, r, &cap);
	}
	while (i < had)
		v->msgs[i++].gone = true;
	if (v->uidvalidity == 0)
		view_modseq_opened(v, &ul);
	v->uidvalidity = ul.uidvalidity;
	v->uidnext = ul.nextuid;
	uidlist_free(&ul);
	mark_recent(v, had);
	return 0;
}

int view_open(const char *dir, unsigned how, struct view *v, char *err, size_t errlen)
{
	static const char *const sub[] = {"new", "cur"};

	memset(v, 0, sizeof(*v));
	v->dir = xstrdup(dir);
	v->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	v->rw = how & VIEW_RW;
	/* Watched before the first reading, so that no change falls between. */
	v->watch = how & VIEW_WATCH ? inotify_init1(IN_NONBLOCK | IN_CLOEXEC) : -1;
	for (int i = 0; i < 2 && v->watch >= 0; i++) {
		char *path = xasprintf("%s/%s", dir, sub[i]);

		if (inotify_add_watch(v->watch, path,
		                      IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
		                          IN_ONLYDIR) < 0) {
			close(v->watch);
			v->watch = -1;
		}
		free(path);
	}
	v->msgs = xcalloc(1, sizeof(*v->msgs));
	v->ix = mdindex_load(dir, FETCH_CACHE_TAG);
	/* The index is replaced by rename() in dir: without write access (or
	 * on a read-only mount) no mod-sequence given here would last. */
	v->nomodseq = faccessat(AT_FDCWD, dir, W_OK, AT_EACCESS) != 0;
	view_modseq_init(v);
	if (view_sync(v, err, errlen) < 0) {
		mdindex_free(v->ix);
		v->ix = NULL;
		view_close(v);
		return -1;
	}
	return 0;
}

bool view_dirty(struct view *v)
{
	char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool any = false;
	ssize_t n;

	if (v->watch < 0)
		return true; /* no inotify: every look reads the folder */
	while ((n = read(v->watch, ev, sizeof(ev))) > 0)
		any = true;
	return any;
}

void view_drop_gone(struct view *v, void (*said)(size_t seq, void *arg), void *arg)
{
	size_t keep = 0;

	/* Asked after every command: most of the time nothing is gone. */
	while (keep < v->n && !v->msgs[keep].gone)
		keep++;
	if (keep == v->n)
		return;
	for (size_t i = v->n; i-- > 0;)
		if (v->msgs[i].gone && said != NULL)
			said(i + 1, arg);
	for (size_t i = keep; i < v->n; i++) {
		if (v->msgs[i].gone) {
			view_modseq_expunged(v, &v->msgs[i]);
			free(v->msgs[i].path);
			continue;
		}
		v->msgs[keep++] = v->msgs[i];
	}
	v->n = keep;
}

/* m's base name: its file name up to ':'. */
static const char *msg_base(const struct view_msg *m, size_t *len)
{
	const char *slash = strrchr(m->path, '/'), *base = slash != NULL ? slash + 1 : m->path;

	*len = strcspn(base, ":");
	return base;
}

const char *view_msg_cached(struct view *v, const struct view_msg *m, size_t *len)
{
	size_t blen;
	const char *base = msg_base(m, &blen);
	const struct mdindex_entry *e = v->ix != NULL ? mdindex_get(v->ix, base, blen) : NULL;

	*len = e != NULL && e->hdr != NULL ? e->hdr_len : 0;
	return e != NULL ? e->hdr : NULL;
}

void view_msg_remember(struct view *v, const struct view_msg *m, const char *hdr, size_t len)
{
	size_t blen;
	const char *base = msg_base(m, &blen);
	struct mdindex_entry e = {.size = m->size,
	                          .mtime = (int64_t)m->internal,
	                          .crlf_size = m->crlf_size,
	                          .hdr = hdr,
	                          .hdr_len = len};

	/* Not before its size and date are known. */
	if (v->ix != NULL && !m->unstatted)
		mdindex_put(v->ix, base, blen, &e);
}

void view_save_index(struct view *v)
{
	/* A folder that cannot be written (nomodseq) is not tried each time. */
	if (v->ix != NULL && !v->nomodseq && (mdindex_dirty(v->ix) || v->modseq_changed) &&
	    view_modseq_save(v) < 0)
		log_warn("%s/%s: %s", v->dir, MDINDEX_NAME, strerror(errno));
}

void view_close(struct view *v)
{
	if (v->dir != NULL)
		view_save_index(v);
	mdindex_free(v->ix);
	for (size_t i = 0; i < v->n; i++)
		free(v->msgs[i].path);
	free(v->msgs);
	free(v->gone);
	free(v->dir);
	keywords_free(&v->kw);
	if (v->watch >= 0)
		close(v->watch);
	if (v->dirfd >= 0)
		close(v->dirfd);
	memset(v, 0, sizeof(*v));
	v->watch = -1;
	v->dirfd = -1;
}

uint64_t view_msg_name_vsize(const struct view_msg *m)
{
	size_t blen;

	return name_size(msg_base(m, &blen), ",W=");
}

int view_msg_crlf_size(struct view *v, struct view_msg *m, uint64_t *out)
{
	struct md_vsize vs = MD_VSIZE_INIT;
	char chunk[65536];
	ssize_t n;
	int fd;

	*out = 0;
	if (m->crlf_size == 0)
		m->crlf_size = view_msg_name_vsize(m);
	if (m->crlf_size > 0) {
		*out = m->crlf_size;
		return 0;
	}
	if ((fd = view_msg_open(v, m)) < 0)
		return -1;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		md_vsize_feed(&vs, chunk, (size_t)n);
	close(fd);
	m->crlf_size = n == 0 ? md_vsize_value(&vs) : 0;
	*out = m->crlf_size;
	return n == 0 ? 0 : -1;
}

size_t view_uid_at_least(const struct view *v, size_t from, uint32_t uid)
{
	size_t lo = from, hi = v->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}
