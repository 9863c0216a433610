#include "store/uidlist.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/log.h"

/* Dovecot's stale timeout for dovecot-uidlist.lock. */
#define LOCK_STALE_S 120
/* Readings of a folder disturbed by renames before a missing file is forgotten. */
#define SCAN_TRIES 8
/* A line of the list; longer ones are an error (names are < 256 bytes). */
#define LINE_MAX_LEN 4096

static void add_rec(struct uidlist *ul, uint32_t uid, const char *base, size_t blen,
                    const char *ext, size_t elen)
{
	struct uidlist_rec *r;

	ul->recs = xreallocarray_grow(ul->recs, &ul->cap, ul->n + 1, sizeof(*ul->recs));
	r = &ul->recs[ul->n++];
	r->uid = uid;
	r->base = xstrndup(base, blen);
	r->ext = xstrndup(ext, elen);
	r->name = NULL;
}

void uidlist_free(struct uidlist *ul)
{
	for (size_t i = 0; i < ul->n; i++) {
		free(ul->recs[i].base);
		free(ul->recs[i].ext);
		free(ul->recs[i].name);
	}
	free(ul->recs);
	memset(ul, 0, sizeof(*ul));
}

/* "3 V1796394650 N4 G59f8..." */
static int parse_header(struct uidlist *ul, char *line)
{
	char *save = NULL, *w = strtok_r(line, " ", &save);

	if (w == NULL || strcmp(w, "3") != 0)
		return -1;
	while ((w = strtok_r(NULL, " ", &save)) != NULL) {
		/* cut to 32 bits, another number */
		if ((w[0] == 'V' || w[0] == 'N') && strtoul(w + 1, NULL, 10) > UINT32_MAX)
			return -1;
		if (w[0] == 'V')
			ul->uidvalidity = (uint32_t)strtoul(w + 1, NULL, 10);
		else if (w[0] == 'N')
			ul->nextuid = (uint32_t)strtoul(w + 1, NULL, 10);
		else if (w[0] == 'G')
			snprintf(ul->guid, sizeof(ul->guid), "%s", w + 1);
	}
	return ul->uidvalidity != 0 ? 0 : -1;
}

/* "12 W2096 :1700000001.M1P5853.host" */
static int parse_rec(struct uidlist *ul, const char *line)
{
	char *end;
	unsigned long uid = strtoul(line, &end, 10);
	const char *colon = strstr(end, " :"), *ext = end;

	/* "11:a :b" is no record: written back as "11 :a :b", it would name a */
	/* UID 2^32-1 would leave no next UID: nextuid wrapped to 1 and gave UIDs twice. */
	if (end == line || *end != ' ' || uid == 0 || uid >= UINT32_MAX || colon == NULL ||
	    colon[2] == '\0' || colon[2] == ':')
		return -1; /* ... and "2 ::x" names no file */
	if (ul->n > 0 && uid <= ul->recs[ul->n - 1].uid)
		return -1; /* UIDs ascend */
	while (*ext == ' ')
		ext++;
	add_rec(ul, (uint32_t)uid, colon + 2, strcspn(colon + 2, ":"), ext,
	        (size_t)(colon > ext ? colon - ext : 0));
	if (ul->nextuid <= uid)
		ul->nextuid = (uint32_t)uid + 1;
	return 0;
}

int uidlist_read(const char *dir, struct uidlist *ul, char *err, size_t errlen)
{
	char *path = xasprintf("%s/dovecot-uidlist", dir), line[LINE_MAX_LEN];
	FILE *fp = fopen(path, "r");
	size_t lineno = 0;
	int rc = 0;

	memset(ul, 0, sizeof(*ul));
	if (fp == NULL) {
		rc = errno == ENOENT ? 0 : -1;
		if (rc < 0)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(path);
		return rc;
	}
	while (rc == 0 && fgets(line, sizeof(line), fp) != NULL) {
		size_t len = strlen(line);

		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		else if (!feof(fp))
			rc = -1;
		if (rc == 0 && lineno == 1)
			rc = parse_header(ul, line);
		else if (rc == 0 && len > 0)
			rc = parse_rec(ul, line);
	}
	if (rc < 0)
		snprintf(err, errlen, "%s:%zu: not a dovecot-uidlist line (version 3) this reads",
		         path, lineno);
	if (ul->nextuid == 0)
		ul->nextuid = 1;
	fclose(fp);
	free(path);
	if (rc < 0)
		uidlist_free(ul);
	return rc;
}

/* Replaces dir/name with text, durably (util/fs.h). */
static int replace_file(const char *dir, const char *name, const char *text, size_t len, char *err,
                        size_t errlen)
{
	char *path = xasprintf("%s/%s", dir, name);
	int rc = fs_replace_file(path, text, len, true);

	if (rc < 0)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	free(path);
	return rc;
}

int uidlist_write(const char *dir, const struct uidlist *ul, char *err, size_t errlen)
{
	size_t cap = 128, len = 0;
	char *text = xmalloc(cap);
	int rc;

	len =
	    (size_t)snprintf(text, cap, "3 V%u N%u G%s\n", ul->uidvalidity, ul->nextuid, ul->guid);
	for (size_t i = 0; i < ul->n; i++) {
		const struct uidlist_rec *r = &ul->recs[i];
		size_t need = strlen(r->base) + strlen(r->ext) + 32;

		if (len + need > cap) {
			cap = (len + need) * 2;
			text = xrealloc(text, cap);
		}
		len += (size_t)snprintf(text + len, cap - len, "%u%s%s :%s\n", r->uid,
		                        r->ext[0] ? " " : "", r->ext, r->base);
	}
	rc = replace_file(dir, "dovecot-uidlist", text, len, err, errlen);
	free(text);
	return rc;
}

int uidlist_lock(const char *dir, unsigned timeout_ms, char *err, size_t errlen)
{
	char *path = xasprintf("%s/dovecot-uidlist.lock", dir);
	int fd = -1;

	for (unsigned waited = 0;; waited += 10) {
		struct stat st;

		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			break;
		/* A lock its holder left behind (a crash) is stale after two minutes. */
		if (stat(path, &st) == 0 && time(NULL) - st.st_mtime > LOCK_STALE_S) {
			unlink(path);
			continue;
		}
		if (waited >= timeout_ms) {
			errno = EWOULDBLOCK;
			break;
		}
		usleep(10000);
	}
	if (fd < 0)
		snprintf(err, errlen, "%s: %s", path,
		         errno == EWOULDBLOCK ? "held by another process" : strerror(errno));
	free(path);
	return fd;
}

void uidlist_unlock(const char *dir, int fd)
{
	char *path = xasprintf("%s/dovecot-uidlist.lock", dir);

	unlink(path);
	close(fd);
	free(path);
}

/* ---- sync: the list against the files ---- */

struct file {
	char *name;       /* "new/x" or "cur/x:2,S" */
	const char *base; /* after "new/" or "cur/" */
	size_t blen;      /* up to ':' */
	unsigned scan;    /* which reading of the folder found it */
};

static int cmp_file(const void *a, const void *b)
{
	const struct file *x = a, *y = b;
	size_t n = x->blen < y->blen ? x->blen : y->blen;
	int c = memcmp(x->base, y->base, n);

	return c != 0 ? c : (x->blen > y->blen) - (x->blen < y->blen);
}

/* By base name, then the later reading first, then cur/ before new/ (a file
 * moved from new/ to cur/ while one reading went on is in cur/ now). */
static int cmp_file_scan(const void *a, const void *b)
{
	const struct file *x = a, *y = b;
	int c = cmp_file(a, b);

	if (c == 0)
		c = (x->scan < y->scan) - (x->scan > y->scan);
	return c != 0 ? c : (x->name[0] == 'n') - (y->name[0] == 'n');
}

static int scan(const char *dir, const char *sub, unsigned no, struct file **v, size_t *n,
                size_t *cap)
{
	char *path = xasprintf("%s/%s", dir, sub);
	DIR *d = opendir(path);
	struct dirent *e;

	free(path);
	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d)) != NULL) {
		struct file *f;

		/* A symbolic link is no message: it could show any file the reader
		 * can read (SECURITY.md). */
		if (e->d_name[0] == '.' || e->d_type == DT_LNK)
			continue;
		*v = xreallocarray_grow(*v, cap, *n + 1, sizeof(**v));
		f = &(*v)[(*n)++];
		f->name = xasprintf("%s/%s", sub, e->d_name);
		f->base = f->name + 4;
		f->blen = strcspn(f->base, ":");
		f->scan = no;
	}
	closedir(d);
	return 0;
}

static int cmp_rec_base(const void *key, const void *elem)
{
	const struct file *f = key;
	const struct uidlist_rec *const *r = elem;
	size_t rl = strlen((*r)->base), n = f->blen < rl ? f->blen : rl;
	int c = memcmp(f->base, (*r)->base, n);

	return c != 0 ? c : (f->blen > rl) - (f->blen < rl);
}

static int cmp_rec_ptr(const void *a, const void *b)
{
	const struct uidlist_rec *const *x = a, *const *y = b;

	return strcmp((*x)->base, (*y)->base);
}

/* Pairs files with records; returns whether anything changed. Records
 * without a file are dropped when forget is set, else kept without a name. */
static bool merge(struct uidlist *ul, struct file *files, size_t nf, bool forget)
{
	struct uidlist_rec **by_base;
	bool *seen, changed = false;
	size_t keep = 0, nold = ul->n;

	/* Room for every file now: by_base points into recs, which must not move. */
	ul->recs = xreallocarray_grow(ul->recs, &ul->cap, ul->n + nf + 1, sizeof(*ul->recs));
	by_base = xcalloc(ul->n ? ul->n : 1, sizeof(*by_base));
	seen = xcalloc(ul->n ? ul->n : 1, sizeof(*seen));

	for (size_t i = 0; i < ul->n; i++)
		by_base[i] = &ul->recs[i];
	qsort(by_base, ul->n, sizeof(*by_base), cmp_rec_ptr);
	/* Files in name order: new ones get UIDs in delivery order. */
	if (nf > 0)
		qsort(files, nf, sizeof(*files), cmp_file);
	for (size_t i = 0; i < nf; i++) {
		struct uidlist_rec **hit =
		    bsearch(&files[i], by_base, nold, sizeof(*by_base), cmp_rec_base);

		if (hit != NULL && !seen[*hit - ul->recs]) {
			seen[*hit - ul->recs] = true;
			free((*hit)->name);
			(*hit)->name = files[i].name;
		} else {
			add_rec(ul, ul->nextuid++, files[i].base, files[i].blen, "", 0);
			ul->recs[ul->n - 1].name = files[i].name;
			changed = true;
		}
		files[i].name = NULL;
	}
	/* Records whose file is gone (expunged by someone) go. */
	for (size_t i = 0; i < ul->n; i++) {
		if (i < nold && !seen[i] && forget) {
			free(ul->recs[i].base);
			free(ul->recs[i].ext);
			free(ul->recs[i].name);
			changed = true;
			continue;
		}
		ul->recs[keep++] = ul->recs[i];
	}
	ul->n = keep;
	free(by_base);
	free(seen);
	return changed;
}

/*
 * A UIDVALIDITY for a folder of the Maildir of dir that none had before:
 * the time, or one more than the last one given when that is later, kept
 * in the root's dovecot-uidvalidity (hex, as Dovecot keeps it). A folder
 * deleted and created again within a second gets a new one (RFC 3501
 * 2.3.1.1).
 */
static uint32_t next_uidvalidity(const char *dir)
{
	const char *slash = strrchr(dir, '/');
	char *path = xasprintf("%s/maildirfolder", dir), text[16];
	uint32_t now = (uint32_t)time(NULL), last = 0;
	struct stat st;
	FILE *fp;

	/* A Maildir++ folder (".A.B", with maildirfolder) lives in the root;
	 * INBOX is the root. */
	bool sub = slash != NULL && slash[1] == '.' && stat(path, &st) == 0;

	free(path);
	if (sub)
		path = xasprintf("%.*s/dovecot-uidvalidity", (int)(slash - dir), dir);
	else
		path = xasprintf("%s/dovecot-uidvalidity", dir);
	if ((fp = fopen(path, "r")) != NULL) {
		if (fscanf(fp, "%8x", &last) != 1)
			last = 0;
		fclose(fp);
	}
	if (last >= now && last != UINT32_MAX)
		now = last + 1;
	snprintf(text, sizeof(text), "%08x", now);
	if (fs_replace_file(path, text, strlen(text), false) < 0)
		log_warn("%s: %s", path, strerror(errno));
	free(path);
	return now;
}

static void new_identity(const char *dir, struct uidlist *ul)
{
	unsigned char raw[16];
	FILE *fp = fopen("/dev/urandom", "rb");

	ul->uidvalidity = next_uidvalidity(dir);
	ul->nextuid = 1;
	if (fp == NULL || fread(raw, 1, sizeof(raw), fp) != sizeof(raw))
		memset(raw, 0, sizeof(raw));
	if (fp != NULL)
		fclose(fp);
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(ul->guid + 2 * i, 3, "%02x", raw[i]);
}

/* The modification times of new/ and cur/, to tell whether a reading was
 * disturbed (a rename into, out of or inside them changes them). */
static void dir_times(const char *dir, struct timespec t[2])
{
	static const char *const sub[] = {"new", "cur"};

	for (int i = 0; i < 2; i++) {
		char *path = xasprintf("%s/%s", dir, sub[i]);
		struct stat st;

		t[i] = stat(path, &st) == 0 ? st.st_mtim : (struct timespec){0};
		free(path);
	}
}

/* Reads new/ and cur/; *stable says that neither changed meanwhile. */
static int scan_all(const char *dir, unsigned no, struct file **files, size_t *nf, size_t *cap,
                    bool *stable)
{
	struct timespec before[2], after[2];

	dir_times(dir, before);
	if (scan(dir, "new", no, files, nf, cap) < 0 || scan(dir, "cur", no, files, nf, cap) < 0)
		return -1;
	dir_times(dir, after);
	*stable = memcmp(before, after, sizeof(before)) == 0;
	return 0;
}

/* Whether a record has no file in files (sorted by base). */
static bool any_missing(const struct uidlist *ul, const struct file *files, size_t nf)
{
	for (size_t i = 0; i < ul->n; i++) {
		struct file key = {.base = ul->recs[i].base, .blen = strlen(ul->recs[i].base)};

		if (nf == 0 || bsearch(&key, files, nf, sizeof(*files), cmp_file) == NULL)
			return true;
	}
	return false;
}

/* Keeps one file per base name, the latest reading's, sorted by base. */
static void union_scans(struct file *files, size_t *nf)
{
	size_t keep = 0;

	if (*nf == 0)
		return;
	qsort(files, *nf, sizeof(*files), cmp_file_scan);
	for (size_t i = 0; i < *nf; i++) {
		if (keep > 0 && cmp_file(&files[keep - 1], &files[i]) == 0) {
			free(files[i].name);
			continue;
		}
		files[keep++] = files[i];
	}
	*nf = keep;
}

int uidlist_sync(const char *dir, struct uidlist *ul, bool *changed, char *err, size_t errlen)
{
	struct file *files = NULL;
	size_t nf = 0, cap = 0;
	int lock, rc = -1;
	bool stable, missing;

	*changed = false;
	/* A folder no one may write (a read-only mount, no write permission)
	 * is read without the lock: nothing is written, UIDs given to files
	 * the list lacks last as long as the reader. */
	if ((lock = uidlist_lock(dir, 10000, err, errlen)) < 0 && errno != EROFS && errno != EACCES)
		return -1;
	if (uidlist_read(dir, ul, err, errlen) < 0)
		goto out;
	if (scan_all(dir, 0, &files, &nf, &cap, &stable) < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto out;
	}
	union_scans(files, &nf);
	/* A file another writer renames (new/ to cur/, or a flag change in cur/)
	 * while we read the directories can be in no listing: before a UID is
	 * forgotten, the folder is read again, the listings joined, until one
	 * reading was undisturbed. After that many, the UID is kept for now. */
	missing = any_missing(ul, files, nf);
	for (unsigned again = 1; again <= SCAN_TRIES && missing && !stable; again++) {
		if (scan_all(dir, again, &files, &nf, &cap, &stable) < 0) {
			snprintf(err, errlen, "%s: %s", dir, strerror(errno));
			goto out;
		}
		union_scans(files, &nf);
		missing = any_missing(ul, files, nf);
	}
	if (ul->uidvalidity == 0) {
		new_identity(dir, ul);
		*changed = true;
	}
	*changed |= merge(ul, files, nf, !missing || stable);
	rc = *changed && lock >= 0 ? uidlist_write(dir, ul, err, errlen) : 0;
out:
	for (size_t i = 0; i < nf; i++)
		free(files[i].name);
	free(files);
	if (lock >= 0)
		uidlist_unlock(dir, lock);
	if (rc < 0)
		uidlist_free(ul);
	return rc;
}

int uidlist_assign(const char *dir, const char *const *bases, size_t n, uint32_t *uids,
                   uint32_t *uidvalidity, char *err, size_t errlen)
{
	struct uidlist ul;
	int lock, rc = -1;

	if ((lock = uidlist_lock(dir, 10000, err, errlen)) < 0)
		return -1;
	if (uidlist_read(dir, &ul, err, errlen) == 0) {
		if (ul.uidvalidity == 0)
			new_identity(dir, &ul);
		for (size_t i = 0; i < n; i++) {
			/* Another session's sync may have given it one already. */
			uids[i] = 0;
			for (size_t k = ul.n; k-- > 0 && uids[i] == 0;)
				if (strcmp(ul.recs[k].base, bases[i]) == 0)
					uids[i] = ul.recs[k].uid;
			if (uids[i] == 0) {
				uids[i] = ul.nextuid++;
				add_rec(&ul, uids[i], bases[i], strlen(bases[i]), "", 0);
			}
		}
		*uidvalidity = ul.uidvalidity;
		rc = uidlist_write(dir, &ul, err, errlen);
	}
	uidlist_free(&ul);
	uidlist_unlock(dir, lock);
	return rc;
}

/* ---- keywords ---- */

/* A keyword line longer than this is not one (Dovecot's are short atoms). */
#define KEYWORD_LINE_MAX 4096

int keywords_read(const char *dir, struct keywords *kw, char *err, size_t errlen)
{
	char *path = xasprintf("%s/dovecot-keywords", dir), *line = NULL;
	FILE *fp = fopen(path, "r");
	size_t cap = 0;
	ssize_t len;

	memset(kw, 0, sizeof(*kw));
	if (fp == NULL) {
		int e = errno;

		if (e != ENOENT)
			snprintf(err, errlen, "%s: %s", path, strerror(e));
		free(path);
		return e == ENOENT ? 0 : -1;
	}
	/* Whole lines: a long one read in pieces would make its tail a line. */
	while ((len = getline(&line, &cap, fp)) > 0) {
		char *end, *name;
		unsigned long i = strtoul(line, &end, 10);

		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (len > KEYWORD_LINE_MAX || memchr(line, '\0', (size_t)len) != NULL)
			continue;
		if (end == line || *end != ' ' || i >= UIDLIST_KEYWORDS_MAX)
			continue;
		name = end + 1;
		if (name[0] == '\0' || kw->names[i] != NULL)
			continue;
		kw->names[i] = xstrdup(name);
		if (i + 1 > kw->n)
			kw->n = i + 1;
	}
	free(line);
	fclose(fp);
	free(path);
	return 0;
}

int keywords_index(struct keywords *kw, const char *name, bool add, bool *added)
{
	size_t free_slot = UIDLIST_KEYWORDS_MAX;

	*added = false;
	for (size_t i = 0; i < UIDLIST_KEYWORDS_MAX; i++) {
		if (kw->names[i] != NULL && strcmp(kw->names[i], name) == 0)
			return (int)i;
		if (kw->names[i] == NULL && free_slot == UIDLIST_KEYWORDS_MAX)
			free_slot = i;
	}
	if (!add || free_slot == UIDLIST_KEYWORDS_MAX)
		return -1;
	kw->names[free_slot] = xstrdup(name);
	if (free_slot + 1 > kw->n)
		kw->n = free_slot + 1;
	*added = true;
	return (int)free_slot;
}

int keywords_write(const char *dir, const struct keywords *kw, char *err, size_t errlen)
{
	size_t cap = 1, len = 0;
	char *text;
	int rc;

	for (size_t i = 0; i < kw->n; i++)
		if (kw->names[i] != NULL)
			cap += strlen(kw->names[i]) + 8;
	text = xmalloc(cap);
	text[0] = '\0';
	/* Names whole: a cut one would be another keyword to the next reader. */
	for (size_t i = 0; i < kw->n; i++)
		if (kw->names[i] != NULL)
			len += (size_t)snprintf(text + len, cap - len, "%zu %s\n", i, kw->names[i]);
	rc = replace_file(dir, "dovecot-keywords", text, len, err, errlen);
	free(text);
	return rc;
}

void keywords_free(struct keywords *kw)
{
	for (size_t i = 0; i < UIDLIST_KEYWORDS_MAX; i++)
		free(kw->names[i]);
	memset(kw, 0, sizeof(*kw));
}
