/*
 * corral refile FOLDER: runs the rules again over the messages of a local
 * folder (after the rules changed). A message whose outcome includes this
 * folder stays; any other is moved into the folders of its outcome, keeping
 * its flags (plus those the rules add) and its unique base name.
 *
 * Keeping the name is what makes a refile restartable without a journal: a
 * message already in its target under that name (or as the same file: a
 * hard link made at delivery time or by an interrupted refile) is not
 * linked again; only its source is removed. Each chunk of moves is
 * committed durably (md_batch_commit) before any source is unlinked, and
 * the source directories are fsynced after.
 *
 * Discarded messages stay unless --discard is given; forward and pipe
 * actions are never re-run (a refile must not send mail again).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/help.h"
#include "config/config.h"
#include "core/pipeline.h"
#include "store/maildir.h"
#include "store/mbox.h"
#include "mail/message.h"
#include "rules/rules.h"
#include "util/log.h"

/* Moves committed together: bounds the batch and what a crash leaves to redo. */
#define REFILE_CHUNK 1000
/* Target folders one run may index. */
#define REFILE_MAX_TARGETS 4096

/* A file of a target folder, by inode: "new/NAME" or "cur/NAME:2,FS". */
struct tfile {
	ino_t ino;
	char *rel;
};

/* What a target folder already holds: base names and files by inode (both sorted). */
struct target {
	char *dir; /* maildir_folder_dir() form: "" is INBOX */
	char **names;
	struct tfile *files;
	size_t n;
	bool needs_sync; /* holds a link this run relies on without having made it */
};

struct refile {
	const char *account;
	bool discard; /* --discard */
	bool dry_run;
	bool quiet;
	struct pipeline pl; /* the Maildir, its batch and the rules */
	bool opened;
	struct rules *r;
	char *folder;         /* as given */
	char *dir;            /* its maildir_folder_dir() */
	char *path;           /* its directory */
	const char **unlinks; /* sources to remove once the chunk is durable */
	size_t nunlinks;
	struct target *targets;
	size_t ntargets;
	size_t stayed, moved, present, dropped, kept_discarded, unreadable, not_rerun, keywords;
};

/* ---- target folders ---- */

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_ino(const void *a, const void *b)
{
	ino_t x = ((const struct tfile *)a)->ino, y = ((const struct tfile *)b)->ino;

	return x < y ? -1 : x > y;
}

static char *folder_path(const struct refile *rf, const char *dir, const char *rel)
{
	return xasprintf("%s%s%s/%s", maildir_root(rf->pl.md), *dir ? "/" : "", dir, rel);
}

/* Reads dir/sub's base names and inodes into t (a missing folder is empty). */
static void index_sub(struct refile *rf, struct target *t, const char *sub, size_t *cap)
{
	char *p = folder_path(rf, t->dir, sub);
	struct dirent *de;
	DIR *dp = opendir(p);

	free(p);
	if (dp == NULL)
		return;
	while ((de = readdir(dp)) != NULL && t->n < MDIR_MAX_FILES) {
		const char *colon = strchr(de->d_name, ':');

		if (de->d_name[0] == '.')
			continue;
		if (t->n == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			t->names = xrealloc(t->names, *cap * sizeof(*t->names));
			t->files = xrealloc(t->files, *cap * sizeof(*t->files));
		}
		t->names[t->n] = colon ? xstrndup(de->d_name, (size_t)(colon - de->d_name))
		                       : xstrdup(de->d_name);
		t->files[t->n].ino = de->d_ino;
		t->files[t->n++].rel = xasprintf("%s/%s", sub, de->d_name);
	}
	closedir(dp);
}

/* The target folder dir (of folder), indexed on first use, after an upgrade
 * of its old spelling so that the index sees every message it holds. */
static struct target *target_get(struct refile *rf, const char *dir, const char *folder)
{
	struct target *t;
	size_t cap = 0;
	char err[512];

	for (size_t i = 0; i < rf->ntargets; i++)
		if (strcmp(rf->targets[i].dir, dir) == 0)
			return &rf->targets[i];
	if (rf->ntargets == REFILE_MAX_TARGETS)
		return NULL;
	if (!rf->dry_run && maildir_upgrade_folder(rf->pl.md, folder, err, sizeof(err)) != RES_OK)
		log_warn("%s", err);
	rf->targets = xrealloc(rf->targets, (rf->ntargets + 1) * sizeof(*rf->targets));
	t = &rf->targets[rf->ntargets++];
	memset(t, 0, sizeof(*t));
	t->dir = xstrdup(dir);
	index_sub(rf, t, "new", &cap);
	index_sub(rf, t, "cur", &cap);
	if (t->n > 0) {
		qsort(t->names, t->n, sizeof(*t->names), cmp_name);
		qsort(t->files, t->n, sizeof(*t->files), cmp_ino);
	}
	return t;
}

/*
 * True when the message is already in t: under its base name, or as the very
 * same file (a hard link). readdir's inode only finds candidates: stat
 * confirms device and inode, since some file systems (overlayfs) report
 * other numbers there.
 */
static bool target_has(const struct refile *rf, const struct target *t, const char *base,
                       const struct stat *src)
{
	struct tfile key = {.ino = src->st_ino};
	const struct tfile *f;
	struct stat st;
	bool same = false;

	if (t->n == 0)
		return false;
	if (bsearch(&base, t->names, t->n, sizeof(*t->names), cmp_name) != NULL)
		return true;
	if ((f = bsearch(&key, t->files, t->n, sizeof(*t->files), cmp_ino)) == NULL)
		return false;
	/* Equal inodes sit together: step back to the first, then try each. */
	while (f > t->files && f[-1].ino == key.ino)
		f--;
	for (; !same && f < t->files + t->n && f->ino == key.ino; f++) {
		char *p = folder_path(rf, t->dir, f->rel);

		same = stat(p, &st) == 0 && st.st_dev == src->st_dev && st.st_ino == src->st_ino;
		free(p);
	}
	return same;
}

static void targets_free(struct refile *rf)
{
	for (size_t i = 0; i < rf->ntargets; i++) {
		for (size_t j = 0; j < rf->targets[i].n; j++) {
			free(rf->targets[i].names[j]);
			free(rf->targets[i].files[j].rel);
		}
		free(rf->targets[i].names);
		free(rf->targets[i].files);
		free(rf->targets[i].dir);
	}
	free(rf->targets);
}

/* ---- durability ---- */

static int fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (fsync(fd) < 0)
		rc = -1;
	close(fd);
	return rc;
}

/* fsyncs the new/ and cur/ of the folder dir (under the root). */
static int fsync_folder(struct refile *rf, const char *dir)
{
	static const char *const subs[] = {"new", "cur"};
	int rc = 0;

	for (size_t i = 0; i < 2 && rc == 0; i++) {
		char *p = folder_path(rf, dir, subs[i]);

		if (fsync_path(p) < 0) {
			log_err("cannot fsync %s: %s", p, strerror(errno));
			rc = md_errno_result(errno);
		}
		free(p);
	}
	return rc;
}

/*
 * Makes the chunk's moves durable, then removes their sources: the batch
 * first, then the targets that held links made earlier (by an interrupted
 * refile), then the unlinks and an fsync of the source directories.
 */
static int flush(struct refile *rf)
{
	char err[512];
	int r;

	if ((r = pipeline_commit(&rf->pl, NULL, 0, err, sizeof(err))) != RES_OK) {
		log_err("%s", err);
		rf->nunlinks = 0;
		return r;
	}
	for (size_t i = 0; i < rf->ntargets; i++)
		if (rf->targets[i].needs_sync) {
			if ((r = fsync_folder(rf, rf->targets[i].dir)) != RES_OK)
				return r;
			rf->targets[i].needs_sync = false;
		}
	for (size_t i = 0; i < rf->nunlinks; i++)
		if (unlink(rf->unlinks[i]) < 0 && errno != ENOENT)
			log_warn("cannot remove %s: %s", rf->unlinks[i], strerror(errno));
	r = rf->nunlinks > 0 ? fsync_folder(rf, rf->dir) : RES_OK;
	rf->nunlinks = 0;
	return r;
}

/* ---- one message ---- */

static bool stays(const struct refile *rf, const struct rules_outcome *o)
{
	for (size_t i = 0; i < o->ndeliveries; i++) {
		char *dir = maildir_folder_dir(o->deliveries[i].folder);
		bool same = dir != NULL && strcmp(dir, rf->dir) == 0;

		free(dir);
		if (same)
			return true;
	}
	return false;
}

static void say(const struct refile *rf, const struct mdir_entry *e, const char *fmt,
                const char *what)
{
	if (rf->quiet)
		return;
	printf("%s: ", e->file);
	printf(fmt, what);
	putchar('\n');
}

/* Schedules the links of one message into the folders of its outcome. */
static int schedule_move(struct refile *rf, const struct mdir_entry *e, const struct stat *src,
                         const struct rules_outcome *o)
{
	char err[512];
	int r;

	for (size_t i = 0; i < o->ndeliveries; i++) {
		const struct rules_delivery *d = &o->deliveries[i];
		char *dir = maildir_folder_dir(d->folder);
		struct target *t = dir != NULL ? target_get(rf, dir, d->folder) : NULL;

		free(dir);
		if (t == NULL) {
			log_err("%s: cannot refile into \"%s\": a bad folder name, or too many "
			        "folders; the message stays",
			        e->path, d->folder);
			return RES_PERM;
		}
		if (target_has(rf, t, e->base, src)) {
			t->needs_sync = true;
			rf->present++;
			continue;
		}
		r = md_batch_add_named(rf->pl.b, d->folder, e->path, e->base, e->flags | d->flags,
		                       err, sizeof(err));
		if (r != RES_OK) {
			log_err("%s", err);
			return r;
		}
	}
	return RES_OK;
}

static void folders_text(char *out, size_t outlen, const struct rules_outcome *o)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < o->ndeliveries && n < outlen; i++)
		n += (size_t)snprintf(out + n, outlen - n, "%s%s", i ? ", " : "",
		                      o->deliveries[i].folder);
}

/* Decides what happens to one message; a move is scheduled, not made. */
static int refile_one(struct refile *rf, const struct mdir_entry *e, const struct rules_outcome *o,
                      const struct stat *src)
{
	char to[1024];
	int r;

	if (o->nforwards > 0 || o->npipes > 0)
		rf->not_rerun++;
	if (stays(rf, o) || (o->ndeliveries == 0 && !o->discarded)) {
		rf->stayed++;
		return RES_OK;
	}
	if (o->ndeliveries == 0) {
		if (!rf->discard) {
			rf->kept_discarded++;
			say(rf, e, "%s", "discarded by the rules: kept (--discard deletes it)");
			return RES_OK;
		}
		rf->dropped++;
		say(rf, e, "%s",
		    rf->dry_run ? "discarded by the rules: would be deleted"
		                : "discarded by the rules: deleted");
	} else {
		folders_text(to, sizeof(to), o);
		say(rf, e, rf->dry_run ? "would move to %s" : "-> %s", to);
		if (e->info != NULL && strspn(e->info, "DFPRST") != strlen(e->info))
			rf->keywords++;
		rf->moved++;
		if (!rf->dry_run && (r = schedule_move(rf, e, src, o)) != RES_OK)
			return r;
	}
	if (!rf->dry_run)
		rf->unlinks[rf->nunlinks++] = e->path;
	return RES_OK;
}

/* Reads and evaluates one message file; returns a result kind or 1 when unreadable. */
static int refile_file(struct refile *rf, const struct mdir_entry *e)
{
	struct pipeline_msg pm;
	struct mfile f;
	struct stat st;
	char err[512] = "";
	int r;

	if (stat(e->path, &st) < 0)
		snprintf(err, sizeof(err), "%s: %s", e->path, strerror(errno));
	if (err[0] != '\0' || mfile_read(e->path, &f, err, sizeof(err)) < 0) {
		log_err("%s (the message stays)", err);
		rf->unreadable++;
		return 1;
	}
	pipeline_read(&rf->pl, f.data, f.len, &pm);
	pipeline_decide(&rf->pl, rf->account, NULL, &pm, NULL);
	r = refile_one(rf, e, &pm.o, &st);
	pipeline_msg_free(&pm);
	mfile_free(&f);
	return r;
}

/* ---- the command ---- */

static int summary(const struct refile *rf, size_t n)
{
	printf("refile %s: %zu message%s: %zu stay, %zu %s", rf->folder, n, n == 1 ? "" : "s",
	       rf->stayed, rf->moved, rf->dry_run ? "would move" : "moved");
	if (rf->present > 0)
		printf(" (%zu link%s already in place)", rf->present, rf->present == 1 ? "" : "s");
	if (rf->dropped > 0)
		printf(", %zu discarded%s", rf->dropped, rf->dry_run ? " (would be deleted)" : "");
	if (rf->kept_discarded > 0)
		printf(", %zu discarded by the rules but kept (--discard deletes them)",
		       rf->kept_discarded);
	if (rf->unreadable > 0)
		printf(", %zu unreadable (kept)", rf->unreadable);
	putchar('\n');
	if (rf->not_rerun > 0)
		printf("note: forward and pipe actions are not re-run by refile (%zu message%s "
		       "had some)\n",
		       rf->not_rerun, rf->not_rerun == 1 ? "" : "s");
	if (rf->keywords > 0)
		printf("note: %zu moved message%s had keyword letters in their file name; only "
		       "the flags DFPRST are kept\n",
		       rf->keywords, rf->keywords == 1 ? "" : "s");
	return rf->unreadable > 0 ? EX_DATAERR : 0;
}

static int refile_all(struct refile *rf)
{
	struct mdir_list l;
	char err[512];
	int r = RES_OK;

	if (mdir_list(rf->path, &l, err, sizeof(err)) < 0) {
		log_err("%s", err);
		return EX_TEMPFAIL;
	}
	rf->unlinks = xcalloc(REFILE_CHUNK + 1, sizeof(*rf->unlinks));
	for (size_t i = 0; i < l.n && r == RES_OK; i++) {
		r = refile_file(rf, &l.v[i]);
		if (r == 1)
			r = RES_OK;
		if (r != RES_OK)
			md_batch_abort(rf->pl.b); /* nothing of this chunk is made visible */
		else if (rf->nunlinks >= REFILE_CHUNK || md_batch_count(rf->pl.b) >= REFILE_CHUNK)
			r = flush(rf);
	}
	if (r == RES_OK)
		r = flush(rf);
	free(rf->unlinks);
	if (r != RES_OK) {
		mdir_list_free(&l);
		return res_exit_code(r);
	}
	r = summary(rf, l.n);
	mdir_list_free(&l);
	return r;
}

enum { OPT_DISCARD = 256, OPT_RULES, OPT_DRY_RUN };

static int parse_args(struct refile *rf, char **rules, size_t *nrules, int argc, char **argv)
{
	static const struct option longopts[] = {{"discard", no_argument, NULL, OPT_DISCARD},
	                                         {"dry-run", no_argument, NULL, OPT_DRY_RUN},
	                                         {"account", required_argument, NULL, 'a'},
	                                         {"rules", required_argument, NULL, OPT_RULES},
	                                         {NULL, 0, NULL, 0}};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":a:n", longopts, NULL)) != -1) {
		if (c == OPT_DISCARD)
			rf->discard = true;
		else if (c == OPT_DRY_RUN || c == 'n')
			rf->dry_run = true;
		else if (c == 'a')
			rf->account = optarg;
		else if (c == OPT_RULES)
			rules[(*nrules)++] = optarg;
		else {
			cli_bad_option("refile", argv, c);
			return -1;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "corral refile: %s (see corral refile --help)\n",
		        optind == argc ? "which folder? (e.g. INBOX or Lists/foo)"
		                       : "one folder at a time");
		cli_usage(stderr, "refile");
		return -1;
	}
	rf->folder = argv[optind];
	return 0;
}

/* The rule files: --rules, else the account's own, else the config's. */
static struct rules *load_rules(const struct config *cfg, const char *account, char **rules,
                                size_t nrules, int *rc)
{
	const struct account *a = account ? config_account(cfg, account) : NULL;
	struct rules *r;
	struct diag d;

	*rc = EX_CONFIG;
	if (account != NULL && a == NULL) {
		log_err("%s: no account '%s'", cfg->path, account);
		*rc = EX_USAGE;
		return NULL;
	}
	diag_init(&d);
	if (nrules > 0)
		r = rules_load(rules, nrules, &d);
	else if (a != NULL && a->rules.n > 0)
		r = rules_load(a->rules.v, a->rules.n, &d);
	else
		r = rules_load(cfg->rules.v, cfg->rules.n, &d);
	diag_print(&d, stderr);
	diag_free(&d);
	return r;
}

/* Opens the Maildir and finds the folder; 0 or an exit status. */
static int open_folder(struct refile *rf, const struct config *cfg)
{
	struct pipeline_params pp = {.cfg = cfg, .rules = rf->r};
	char err[512];

	/* Opening the Maildir makes it when missing: a dry run must not. */
	if (rf->dry_run && !mdir_is_folder(cfg->maildir)) {
		log_err("no Maildir at %s: nothing to refile", cfg->maildir);
		return EX_USAGE;
	}
	if (pipeline_open(&rf->pl, &pp, err, sizeof(err)) != RES_OK) {
		log_err("%s", err);
		return EX_TEMPFAIL;
	}
	rf->opened = true;
	/* A folder an older corral spelled in raw UTF-8 is refiled under its name today. */
	if (!rf->dry_run &&
	    maildir_upgrade_folder(rf->pl.md, rf->folder, err, sizeof(err)) != RES_OK)
		log_warn("%s", err);
	if ((rf->dir = maildir_folder_dir(rf->folder)) == NULL) {
		log_err("\"%s\" is not a usable folder name", rf->folder);
		return EX_USAGE;
	}
	rf->path = xasprintf("%s%s%s", maildir_root(rf->pl.md), *rf->dir ? "/" : "", rf->dir);
	if (!mdir_is_folder(rf->path)) {
		log_err("no folder \"%s\" (%s is not a Maildir folder)", rf->folder, rf->path);
		return EX_USAGE;
	}
	return 0;
}

int cmd_refile(struct cli *cli, int argc, char **argv)
{
	struct refile rf = {.dry_run = cli->dry_run, .quiet = cli->verbosity < 0};
	char **rules = xcalloc((size_t)argc + 1, sizeof(char *));
	struct config *cfg = NULL;
	size_t nrules = 0;
	int rc;

	if (parse_args(&rf, rules, &nrules, argc, argv) < 0) {
		free(rules);
		return EX_USAGE;
	}
	if ((cfg = cli_load_config(cli)) == NULL) {
		free(rules);
		return EX_CONFIG;
	}
	if ((rf.r = load_rules(cfg, rf.account, rules, nrules, &rc)) != NULL &&
	    (rc = open_folder(&rf, cfg)) == 0)
		rc = refile_all(&rf);
	if (fflush(stdout) != 0 && rc == 0)
		rc = EX_IOERR;
	if (rf.opened)
		pipeline_close(&rf.pl);
	targets_free(&rf);
	rules_free(rf.r);
	free(rf.dir);
	free(rf.path);
	free(rules);
	config_free(cfg);
	return rc;
}
