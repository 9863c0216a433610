/*
 * corral import fetchmail|getmail|mpop|mbsync PATH [-a ACCOUNT] [--folder NAME]:
 * what another tool recorded as already fetched (store/import.h) becomes
 * "seen" in the journal of the matching account (store/journal.h), so that
 * the next `corral fetch` fetches only new mail.
 *
 * Every file is read and parsed before anything is written: a malformed one
 * is reported as FILE:LINE and nothing is imported. Each account's ids are
 * then written as "seen without a delivery" records, one fsync per
 * SYNC_EVERY of them: a kill at any instant leaves the journal with what
 * was synced and at most a torn tail that its next open drops, and
 * importing again adds only what is missing. IMAP ids
 * are recorded under the UIDVALIDITY the tool saw: when the server's
 * differs, the next fetch forgets them and fetches the folder (journal.h).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/help.h"
#include "config/config.h"
#include "source/source.h"
#include "store/import.h"
#include "store/journal.h"
#include "util/log.h"

#define MAX_FILES   100000
#define MAX_DEPTH   8
#define MAX_REASONS 8
#define MAX_KEYS    1000 /* accounts in one fetchmail or mpop file */
/* Records written with one sync: a big import is durable piece by piece. */
#define SYNC_EVERY 50000

enum tool { T_FETCHMAIL, T_GETMAIL, T_MPOP, T_MBSYNC };
static const char *const tool_names[] = {"fetchmail", "getmail", "mpop", "mbsync"};

/* What goes into one journal folder from one file. */
struct batch {
	const struct account *acct;
	const char *folder; /* the account's folder as fetch names it, or SOURCE_POP3_FOLDER */
	const char *file;
	const struct import_list *l;
	const char *user, *host; /* only the entries of this user and host; NULL: all */
	char note[256];          /* how the file was matched, "" when plainly */
	size_t imported, known, nskip;
	const char *reasons[MAX_REASONS];
	size_t counts[MAX_REASONS];
};

struct run {
	const struct config *cfg;
	enum tool tool;
	const struct account *forced; /* -a */
	const char *folder;           /* --folder (mbsync) */
	bool dry_run;
	char **files; /* to read, sorted */
	size_t nfiles, capfiles;
	struct import_list *lists; /* one per file */
	struct batch *b;
	size_t nb, capb;
	size_t unmatched; /* ids no account was found for */
	size_t skipped;   /* files no account or folder was found for */
	int rc;
};

/* ---- which files ---- */

static void add_file(struct run *r, const char *path)
{
	if (r->nfiles >= MAX_FILES) {
		if (r->rc == 0)
			fprintf(stderr, "corral import: more than %d state files: name fewer\n",
			        MAX_FILES);
		r->rc = EX_DATAERR;
		return;
	}
	r->files = xreallocarray_grow(r->files, &r->capfiles, r->nfiles + 1, sizeof(*r->files));
	r->files[r->nfiles++] = xstrdup(path);
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Which names in a directory are the tool's state files. */
static bool wanted(enum tool t, const char *name)
{
	switch (t) {
	case T_GETMAIL:
		return strncmp(name, "oldmail-", 8) == 0;
	case T_MPOP:
		return name[0] != '.';
	case T_MBSYNC:
		return strcmp(name, ".mbsyncstate") == 0 ||
		       (name[0] == ':' && !ends_with(name, ".journal") &&
		        !ends_with(name, ".new") && !ends_with(name, ".lock"));
	default:
		return strcmp(name, ".fetchids") == 0;
	}
}

static void scan_dir(struct run *r, const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d != NULL && (e = readdir(d)) != NULL) {
		char *p;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		/* A Maildir's messages are no state: not one stat for each. */
		if (e->d_type == DT_DIR &&
		    (strcmp(e->d_name, "cur") == 0 || strcmp(e->d_name, "new") == 0 ||
		     strcmp(e->d_name, "tmp") == 0))
			continue;
		if (e->d_type == DT_REG && !wanted(r->tool, e->d_name))
			continue;
		p = xasprintf("%s/%s", dir, e->d_name);
		if (is_dir(p)) {
			/* mbsync keeps a state file in each Maildir folder of a tree. */
			if (r->tool == T_MBSYNC && depth < MAX_DEPTH)
				scan_dir(r, p, depth + 1);
		} else if (wanted(r->tool, e->d_name)) {
			add_file(r, p);
		}
		free(p);
	}
	if (d != NULL)
		closedir(d);
}

static bool is_dir_in(const char *dir, const char *name)
{
	char *p = xasprintf("%s/%s", dir, name);
	bool yes = is_dir(p);

	free(p);
	return yes;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int find_files(struct run *r, const char *path)
{
	if (!is_dir(path)) {
		if (access(path, R_OK) != 0) {
			fprintf(stderr, "corral import: %s: %s\n", path, strerror(errno));
			return -1;
		}
		add_file(r, path);
		return 0;
	}
	scan_dir(r, path, 0);
	if (r->rc != 0)
		return -1;
	if (r->nfiles == 0) {
		fprintf(stderr, "corral import: %s: no %s state file in it\n", path,
		        tool_names[r->tool]);
		return -1;
	}
	qsort(r->files, r->nfiles, sizeof(*r->files), cmp_str);
	return 0;
}

/* ---- batches ---- */

static struct batch *add_batch(struct run *r, const struct account *a, const char *folder,
                               size_t file)
{
	struct batch *b;

	r->b = xreallocarray_grow(r->b, &r->capb, r->nb + 1, sizeof(*r->b));
	b = &r->b[r->nb++];
	memset(b, 0, sizeof(*b));
	b->acct = a;
	b->folder = folder;
	b->file = r->files[file];
	b->l = &r->lists[file];
	return b;
}

static bool ieq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcasecmp(a, b) == 0;
}

/* The account's folder named name (INBOX in any case), as the config spells it. */
static const char *account_folder(const struct account *a, const char *name)
{
	for (size_t i = 0; i < a->folders.n; i++)
		if (strcmp(a->folders.v[i], name) == 0 ||
		    (ieq(name, "INBOX") && ieq(a->folders.v[i], "INBOX")))
			return a->folders.v[i];
	return NULL;
}

/* fetchmail, mpop: the POP3 account with this host and user. */
static const struct account *pop_account(const struct run *r, const char *user, const char *host)
{
	for (size_t i = 0; i < r->cfg->naccounts; i++) {
		const struct account *a = &r->cfg->accounts[i];

		if ((r->forced == NULL || r->forced == a) && a->protocol == PROTO_POP3 &&
		    ieq(a->host, host) && ieq(a->cred.user, user))
			return a;
	}
	return NULL;
}

static void count_unmatched(struct run *r, size_t file, const char *user, const char *host)
{
	const struct import_list *l = &r->lists[file];
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++)
		n += strcmp(l->v[i].user, user) == 0 && strcmp(l->v[i].host, host) == 0;
	r->unmatched += n;
	printf("%s: %zu UIDLs of %s@%s skipped: no pop3 account with that host and user in "
	       "%s%s\n",
	       r->files[file], n, user, host, r->cfg->path,
	       r->forced ? "" : " (corral import -a ACCOUNT names one)");
}

static bool same_key(const struct import_entry *a, const struct import_entry *b)
{
	return strcmp(a->user, b->user) == 0 && strcmp(a->host, b->host) == 0;
}

/* The first entry of each USER@HOST of a list, into keys (at most MAX_KEYS): their number,
 * or -1 when there are more. */
static long list_keys(const struct import_list *l, size_t *keys)
{
	size_t nkeys = 0, k;

	for (size_t i = 0; i < l->n; i++) {
		/* The ids of one account come together: most entries are their predecessor's. */
		if (i > 0 && same_key(&l->v[i], &l->v[i - 1]))
			continue;
		for (k = 0; k < nkeys && !same_key(&l->v[keys[k]], &l->v[i]); k++)
			;
		if (k < nkeys)
			continue;
		if (nkeys == MAX_KEYS)
			return -1;
		keys[nkeys++] = i;
	}
	return (long)nkeys;
}

/* fetchmail, mpop: one batch per USER@HOST the file names. */
static int match_pop(struct run *r, size_t file)
{
	const struct import_list *l = &r->lists[file];
	size_t *keys = xcalloc(MAX_KEYS, sizeof(*keys));
	long nkeys = list_keys(l, keys);

	if (nkeys < 0) {
		fprintf(stderr, "corral import: %s: the ids of more than %d accounts\n",
		        r->files[file], MAX_KEYS);
		free(keys);
		return -1;
	}
	for (long k = 0; k < nkeys; k++) {
		const struct import_entry *e = &l->v[keys[k]];
		const struct account *a = pop_account(r, e->user, e->host);
		struct batch *b;

		/* -a for a file of one account whose host or user the config spells otherwise. */
		if (a == NULL && r->forced != NULL && nkeys == 1 &&
		    r->forced->protocol == PROTO_POP3)
			a = r->forced;
		if (a == NULL) {
			count_unmatched(r, file, e->user, e->host);
			continue;
		}
		b = add_batch(r, a, SOURCE_POP3_FOLDER, file);
		b->user = e->user;
		b->host = e->host;
		if (!ieq(a->host, e->host) || !ieq(a->cred.user, e->user))
			snprintf(b->note, sizeof(b->note), " (the file says %s@%s)", e->user,
			         e->host);
	}
	free(keys);
	return 0;
}

/* getmail: the account and folder whose oldmail file name this is. */
static struct batch *match_getmail_with(struct run *r, size_t file, const struct account *a,
                                        bool loose)
{
	const char *base = strrchr(r->files[file], '/');
	char *want;

	base = base ? base + 1 : r->files[file];
	for (size_t i = 0; i < (a->protocol == PROTO_IMAP ? a->folders.n : 1); i++) {
		const char *folder = a->protocol == PROTO_IMAP ? a->folders.v[i] : NULL;
		bool hit;

		/* Loose (-a): the host and port may be spelled otherwise; user and folder not. */
		want = import_getmail_name(loose ? "" : a->host, a->port,
		                           a->cred.user ? a->cred.user : "", folder);
		if (loose) {
			const char *tail = strchr(want + 9, '-');

			hit = tail != NULL && strncmp(base, "oldmail-", 8) == 0 &&
			      ends_with(base, tail + 1) && strlen(base) > strlen(tail + 1) &&
			      base[strlen(base) - strlen(tail + 1) - 1] == '-';
		} else {
			hit = strcmp(base, want) == 0;
		}
		free(want);
		if (hit) {
			struct batch *b =
			    add_batch(r, a, folder ? folder : SOURCE_POP3_FOLDER, file);

			if (loose)
				snprintf(b->note, sizeof(b->note), " (as -a says)");
			return b;
		}
	}
	return NULL;
}

static struct batch *match_getmail(struct run *r, size_t file)
{
	struct batch *b = NULL;

	for (size_t i = 0; i < r->cfg->naccounts && b == NULL; i++)
		if (r->forced == NULL || r->forced == &r->cfg->accounts[i])
			b = match_getmail_with(r, file, &r->cfg->accounts[i], false);
	if (b == NULL && r->forced != NULL)
		b = match_getmail_with(r, file, r->forced, true);
	r->skipped += b == NULL;
	if (b == NULL)
		printf("%s: skipped: no account in %s has this getmail state file's server, "
		       "port, user%s\n",
		       r->files[file], r->cfg->path,
		       r->forced ? ", folder" : " and folder (corral import -a ACCOUNT names one)");
	return b;
}

/* mbsync: the server folder a state file belongs to, from its name or place. */
static const char *mbsync_folder(const struct run *r, const struct account *a, const char *root,
                                 const char *file, bool *as_inbox)
{
	const char *base = strrchr(file, '/'), *f = NULL;
	char *far, *dir, *rel;

	base = base ? base + 1 : file;
	if (r->folder != NULL)
		return account_folder(a, r->folder);
	if ((far = import_mbsync_far_box(base)) != NULL) {
		f = account_folder(a, far);
		free(far);
		return f;
	}
	/* SyncState *: FOLDER/.mbsyncstate, FOLDER relative to PATH, or PATH's own name. */
	dir = xstrdup(file);
	*strrchr(dir, '/') = '\0';
	rel = strncmp(dir, root, strlen(root)) == 0 && dir[strlen(root)] == '/'
	          ? dir + strlen(root) + 1
	      : strrchr(dir, '/') ? strrchr(dir, '/') + 1
	                          : dir;
	f = account_folder(a, rel);
	if (f == NULL && rel[0] == '.') {
		/* Maildir++: ".A.B" is A/B or A.B. */
		f = account_folder(a, rel + 1);
		for (char *p = rel + 1; f == NULL && *p; p++)
			if (*p == '.')
				*p = '/';
		if (f == NULL)
			f = account_folder(a, rel + 1);
	}
	if (f == NULL && strrchr(rel, '/') != NULL)
		f = account_folder(a, strrchr(rel, '/') + 1);
	/* The Maildir at PATH itself is the INBOX of a Maildir++ tree (or Inbox PATH). */
	if (f == NULL && strcmp(dir, root) == 0 && is_dir_in(dir, "cur") &&
	    (f = account_folder(a, "INBOX")) != NULL)
		*as_inbox = true;
	free(dir);
	return f;
}

static const struct account *imap_account(const struct run *r)
{
	const struct account *found = NULL;
	size_t n = 0;

	if (r->forced != NULL)
		return r->forced->protocol == PROTO_IMAP ? r->forced : NULL;
	for (size_t i = 0; i < r->cfg->naccounts; i++)
		if (r->cfg->accounts[i].protocol == PROTO_IMAP) {
			found = &r->cfg->accounts[i];
			n++;
		}
	return n == 1 ? found : NULL;
}

static struct batch *match_mbsync(struct run *r, size_t file, const char *root)
{
	const struct account *a = imap_account(r);
	const char *folder;
	char *journal;
	bool busy, as_inbox = false;
	struct batch *b;

	if (a == NULL) {
		fprintf(stderr,
		        "corral import: mbsync's state does not name the server: %s "
		        "(corral import -a ACCOUNT mbsync PATH)\n",
		        r->forced ? "the account given is not an imap one"
		                  : "say which imap account it belongs to");
		r->rc = EX_USAGE;
		return NULL;
	}
	journal = xasprintf("%s.journal", r->files[file]);
	busy = access(journal, F_OK) == 0;
	free(journal);
	if (busy) {
		r->skipped++;
		printf("%s: skipped: mbsync was interrupted (%s.journal is there): run mbsync once "
		       "more, then import\n",
		       r->files[file], r->files[file]);
		return NULL;
	}
	if ((folder = mbsync_folder(r, a, root, r->files[file], &as_inbox)) == NULL) {
		r->skipped++;
		printf("%s: skipped: which of %s's folders it mirrors is not clear from its name "
		       "or place: corral import --folder NAME mbsync FILE says (one of",
		       r->files[file], a->name);
		for (size_t i = 0; i < a->folders.n; i++)
			printf(" %s", a->folders.v[i]);
		printf(")\n");
		return NULL;
	}
	b = add_batch(r, a, folder, file);
	if (as_inbox)
		snprintf(b->note, sizeof(b->note), " (the Maildir at %s taken as INBOX)", root);
	return b;
}

/* ---- reading ---- */

static int parse_file(struct run *r, size_t i, bool imap)
{
	char err[1024], *text;
	size_t len;
	int rc;

	if (import_read_file(r->files[i], &text, &len, err, sizeof(err)) < 0) {
		fprintf(stderr, "corral import: %s\n", err);
		return -1;
	}
	switch (r->tool) {
	case T_FETCHMAIL:
		rc = import_parse_fetchmail(r->files[i], text, len, &r->lists[i], err, sizeof(err));
		break;
	case T_MPOP:
		rc = import_parse_mpop(r->files[i], text, len, &r->lists[i], err, sizeof(err));
		break;
	case T_GETMAIL:
		rc = import_parse_getmail(r->files[i], text, len, imap, &r->lists[i], err,
		                          sizeof(err));
		break;
	default:
		rc = import_parse_mbsync(r->files[i], text, len, &r->lists[i], err, sizeof(err));
	}
	free(text);
	if (rc < 0)
		fprintf(stderr, "corral import: %s\n", err);
	return rc;
}

/* Parses every file and matches it to accounts; -1 when any file is bad. */
static int read_all(struct run *r, const char *root)
{
	int bad = 0;

	r->lists = xcalloc(r->nfiles, sizeof(*r->lists));
	for (size_t i = 0; i < r->nfiles; i++) {
		struct batch *b = NULL;

		if (r->tool == T_GETMAIL && (b = match_getmail(r, i)) == NULL)
			continue;
		if (r->tool == T_MBSYNC && (b = match_mbsync(r, i, root)) == NULL) {
			if (r->rc != 0)
				return -1;
			continue;
		}
		if (parse_file(r, i, b != NULL && b->acct->protocol == PROTO_IMAP) < 0) {
			bad = -1;
			continue;
		}
		if ((r->tool == T_FETCHMAIL || r->tool == T_MPOP) && match_pop(r, i) < 0)
			bad = -1;
	}
	return bad;
}

/* ---- writing ---- */

static void count_skip(struct batch *b, const char *why)
{
	size_t i;

	b->nskip++;
	for (i = 0; i < MAX_REASONS && b->reasons[i] != NULL; i++)
		if (b->reasons[i] == why)
			break;
	if (i == MAX_REASONS)
		i = MAX_REASONS - 1;
	b->reasons[i] = why;
	b->counts[i]++;
}

static bool in_batch(const struct batch *b, const struct import_entry *e)
{
	return b->user == NULL || (strcmp(e->user, b->user) == 0 && strcmp(e->host, b->host) == 0);
}

/* The UIDVALIDITY the batch's importable ids were seen under (0 for POP3). */
static uint32_t batch_uidvalidity(const struct batch *b)
{
	for (size_t i = 0; i < b->l->n; i++)
		if (b->l->v[i].skip == NULL && in_batch(b, &b->l->v[i]))
			return b->l->v[i].uidvalidity;
	return 0;
}

static int write_batch(struct journal *j, struct batch *b, bool dry_run)
{
	uint32_t uv = batch_uidvalidity(b);
	struct journal_folder *f = journal_folder_find(j, b->folder);
	static char mismatch[160];
	char err[256];

	/* The journal's own UIDVALIDITY wins: changing it would forget what corral fetched. */
	if (f != NULL && journal_uidvalidity(f) != uv) {
		snprintf(mismatch, sizeof(mismatch),
		         "UIDVALIDITY %u in the file, corral's journal has %u for the folder",
		         (unsigned)uv, (unsigned)journal_uidvalidity(f));
		for (size_t i = 0; i < b->l->n; i++)
			if (in_batch(b, &b->l->v[i]))
				count_skip(b, b->l->v[i].skip ? b->l->v[i].skip : mismatch);
		return 0;
	}
	for (size_t i = 0; i < b->l->n; i++) {
		const struct import_entry *e = &b->l->v[i];

		if (!in_batch(b, e))
			continue;
		if (e->skip != NULL) {
			count_skip(b, e->skip);
			continue;
		}
		/* Created with the first id: a folder of skipped ids only is not recorded. */
		if (f == NULL && (f = journal_folder(j, b->folder, uv, NULL)) == NULL)
			return -1;
		if (journal_seen(f, e->id)) {
			b->known++;
		} else {
			if (journal_skip(f, e->id, 0, err, sizeof(err)) < 0)
				return -1;
			/* A kill between two syncs loses only the ids since the last one. */
			if (++b->imported % SYNC_EVERY == 0 && !dry_run &&
			    journal_sync(j, err, sizeof(err)) < 0)
				return -1;
		}
	}
	return 0;
}

static void print_batch(const struct run *r, const struct batch *b)
{
	printf("%s -> %s, %s%s: %zu UIDs %s, %zu already known, %zu skipped\n", b->file,
	       b->acct->name, b->folder, b->note, b->imported,
	       r->dry_run ? "would be imported" : "imported", b->known, b->nskip);
	for (size_t i = 0; i < MAX_REASONS && b->reasons[i] != NULL; i++)
		printf("  %zu skipped: %s\n", b->counts[i], b->reasons[i]);
}

static int open_failed(const struct account *a, enum res_kind res, const char *err)
{
	fprintf(stderr, "corral import: %s: %s%s\n", a->name, err,
	        res == RES_BUSY ? " (a corral fetch of it is running: try again when it is done)"
	                        : "");
	return res == RES_CONFIG ? EX_CONFIG : EX_TEMPFAIL;
}

/* All the batches of account a, into its journal with one sync. */
static int write_account(struct run *r, const struct account *a)
{
	char err[512];
	enum res_kind res;
	struct journal *j = (r->dry_run ? journal_open_readonly : journal_open)(
	    r->cfg->state_dir, a->name, &res, err, sizeof(err));
	struct journal_pending *pd;
	size_t npending, imported = 0, known = 0, skipped = 0;

	if (j == NULL)
		return open_failed(a, res, err);
	npending = journal_pending(j, &pd);
	journal_pending_free(pd, npending);
	if (npending > 0) {
		fprintf(stderr,
		        "corral import: %s: %zu deliveries of an interrupted corral fetch are "
		        "pending: run corral fetch %s first, then import\n",
		        a->name, npending, a->name);
		journal_close(j);
		return EX_TEMPFAIL;
	}
	for (size_t i = 0; i < r->nb; i++) {
		if (r->b[i].acct != a)
			continue;
		if (write_batch(j, &r->b[i], r->dry_run) < 0) {
			fprintf(stderr, "corral import: %s: %s: cannot record it\n", a->name,
			        journal_path(j));
			journal_close(j);
			return EX_TEMPFAIL;
		}
		print_batch(r, &r->b[i]);
		imported += r->b[i].imported;
		known += r->b[i].known;
		skipped += r->b[i].nskip;
	}
	if (!r->dry_run && journal_sync(j, err, sizeof(err)) < 0) {
		fprintf(stderr, "corral import: %s: %s\n", a->name, err);
		journal_close(j);
		return EX_TEMPFAIL;
	}
	journal_close(j);
	printf("account %s: %zu UIDs %s, %zu already known, %zu skipped\n", a->name, imported,
	       r->dry_run ? "would be imported (dry run: nothing written)" : "imported", known,
	       skipped);
	/* keep: false deletes what is seen: what the other tool kept on the server goes. */
	if (!a->keep && imported + known > 0)
		printf("account %s has keep: false: its next fetch deletes these %zu messages from "
		       "the server (%s fetched them)\n",
		       a->name, imported + known, tool_names[r->tool]);
	return 0;
}

static int write_all(struct run *r)
{
	int rc = 0;

	for (size_t i = 0; i < r->nb; i++) {
		bool first = true;

		for (size_t k = 0; k < i && first; k++)
			first = r->b[k].acct != r->b[i].acct;
		if (first) {
			int arc = write_account(r, r->b[i].acct);

			rc = rc ? rc : arc;
		}
	}
	return rc;
}

/* ---- the command ---- */

static int parse_args(struct run *r, int argc, char **argv, const char **account, const char **path)
{
	static const struct option opts[] = {{"account", required_argument, NULL, 'a'},
	                                     {"folder", required_argument, NULL, 'f'},
	                                     {NULL, 0, NULL, 0}};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":a:", opts, NULL)) != -1) {
		if (c == 'a')
			*account = optarg;
		else if (c == 'f')
			r->folder = optarg;
		else
			return cli_bad_option("import", argv, c);
	}
	if (argc - optind != 2) {
		fprintf(stderr, "corral import: %s\n",
		        argc - optind < 2 ? "say which tool's state and where it is"
		                          : "one tool and one path");
		cli_usage(stderr, "import");
		return EX_USAGE;
	}
	for (size_t i = 0; i < 4; i++)
		if (strcmp(argv[optind], tool_names[i]) == 0) {
			r->tool = (enum tool)i;
			*path = argv[optind + 1];
			if (r->folder != NULL && r->tool != T_MBSYNC)
				return cli_bad_usage("import", "--folder is for mbsync only, not",
				                     argv[optind]);
			return 0;
		}
	return cli_bad_usage("import", "unknown tool (fetchmail, getmail, mpop, mbsync)",
	                     argv[optind]);
}

static void run_free(struct run *r)
{
	for (size_t i = 0; i < r->nfiles; i++) {
		if (r->lists != NULL)
			import_list_free(&r->lists[i]);
		free(r->files[i]);
	}
	free(r->lists);
	free(r->files);
	free(r->b);
}

static int import_run(struct run *r, const char *path)
{
	size_t entries = 0;
	char *root = xstrdup(path);

	while (strlen(root) > 1 && root[strlen(root) - 1] == '/')
		root[strlen(root) - 1] = '\0';
	if (find_files(r, root) < 0)
		r->rc = EX_DATAERR;
	else if (r->folder != NULL && r->nfiles > 1) {
		fprintf(stderr,
		        "corral import: --folder names the folder of one state file; %s holds %zu "
		        "(name one of them)\n",
		        path, r->nfiles);
		r->rc = EX_USAGE;
	}
	if (r->rc != 0 || read_all(r, root) < 0) {
		free(root);
		if (r->rc == 0)
			fprintf(stderr, "corral import: nothing imported\n");
		return r->rc ? r->rc : EX_DATAERR;
	}
	free(root);
	for (size_t i = 0; i < r->nfiles; i++)
		entries += r->lists[i].n;
	if (r->nb == 0) {
		bool empty = entries == 0 && r->unmatched == 0 && r->skipped == 0;

		printf("nothing imported: %s\n",
		       empty ? "the state holds no ids" : "no file matched an account and folder");
		return empty ? 0 : EX_CONFIG;
	}
	return write_all(r);
}

int cmd_import(struct cli *cli, int argc, char **argv)
{
	struct run r = {.dry_run = cli->dry_run};
	const char *account = NULL, *path = NULL;
	struct config *cfg;
	int rc, lock = -1;

	if ((rc = parse_args(&r, argc, argv, &account, &path)) != 0)
		return rc;
	if ((cfg = cli_load_config(cli)) == NULL)
		return EX_CONFIG;
	r.cfg = cfg;
	if (account != NULL && (r.forced = config_account(cfg, account)) == NULL) {
		config_free(cfg);
		return cli_bad_usage("import", "no such account in the config", account);
	}
	/* A running corral run or fetch could fetch what is being imported. */
	if (!r.dry_run && (lock = cli_lock_state(cfg, "import")) < 0) {
		config_free(cfg);
		return EX_TEMPFAIL;
	}
	rc = import_run(&r, path);
	run_free(&r);
	config_free(cfg);
	if (lock >= 0)
		close(lock);
	return rc;
}
