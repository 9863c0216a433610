/* Unit tests for src/store/maildir.c: names, folders, batches, failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <regex.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/maildir.h"
#include "util/log.h"
#include "mail/flags.h"
#include "mail/folder.h"

struct fixture {
	char dir[64];        /* the mkdtemp directory */
	char root[PATH_MAX]; /* dir/Maildir */
	bool mounted;        /* a tmpfs the test mounted on dir/Maildir's parent */
	struct maildir *md;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char err[512];

	snprintf(f->dir, sizeof(f->dir), "%s/corral-md-XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->root, sizeof(f->root), "%s/Maildir", f->dir);
	f->md = maildir_open(f->root, err, sizeof(err));
	if (f->md == NULL) {
		print_error("maildir_open: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	maildir_close(f->md);
	if (f->mounted)
		umount2(f->dir, MNT_DETACH);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* ---- helpers ---- */

static char *path_of(const struct fixture *f, const char *rel)
{
	return xasprintf("%s/%s", f->root, rel);
}

/* Entries of root/rel whose names do not start with a dot (a message file
 * never does; the writer lock in tmp/ does); -1 when it cannot be read. */
static int count_entries(const struct fixture *f, const char *rel)
{
	char *p = path_of(f, rel);
	DIR *d = opendir(p);
	struct dirent *de;
	int n = 0;

	free(p);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static char *slurp(const char *path, size_t *len)
{
	struct stat st;
	char *data;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	data = xmalloc((size_t)st.st_size + 1);
	assert_int_equal(read(fd, data, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return data;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static char *deliver_one(struct fixture *f, const char *folder, const void *data, size_t len,
                         unsigned flags)
{
	struct md_batch *b = md_batch_new(f->md);
	char err[512], *name = NULL;

	if (md_batch_add(b, folder, data, len, flags, &name, err, sizeof(err)) != RES_OK)
		fail_msg("add: %s", err);
	if (md_batch_commit(b, err, sizeof(err)) != RES_OK)
		fail_msg("commit: %s", err);
	md_batch_free(b);
	return name;
}

/* ---- contents ---- */

static const struct {
	const char *what;
	const char *data;
	size_t len;
} byte_cases[] = {
    {"plain message", "Subject: hi\n\nbody\n", 18},
    {"no final newline", "Subject: hi\n\nbody", 17},
    {"empty message", "", 0},
    {"NUL bytes", "A\0B\0\0C\r\n", 8},
    {"CRLF and 8-bit", "Subject: \xff\xfe\r\n\r\n\x80\r\n", 19},
};

static void delivered_bytes_are_identical(void **state)
{
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(byte_cases) / sizeof(byte_cases[0]); i++) {
		char *name = deliver_one(f, "INBOX", byte_cases[i].data, byte_cases[i].len, 0);
		char *rel = xasprintf("new/%s", name);
		char *p = path_of(f, rel);
		char want_size[32];
		size_t len;
		char *got = slurp(p, &len);

		snprintf(want_size, sizeof(want_size), ",S=%zu", byte_cases[i].len);
		if (len != byte_cases[i].len || memcmp(got, byte_cases[i].data, len) != 0)
			fail_msg("%s: delivered bytes differ", byte_cases[i].what);
		if (strstr(name, want_size) == NULL)
			fail_msg("%s: name %s lacks %s", byte_cases[i].what, name, want_size);
		free(got);
		free(p);
		free(rel);
		free(name);
	}
	assert_int_equal(count_entries(f, "tmp"), 0);
}

static void one_megabyte_of_binary_is_identical(void **state)
{
	struct fixture *f = *state;
	size_t len = 1 << 20, got_len;
	unsigned char *data = xmalloc(len);
	char *name, *rel, *p, *got;

	for (size_t i = 0; i < len; i++)
		data[i] = (unsigned char)(i * 2654435761u >> 13);
	name = deliver_one(f, "Big", data, len, 0);
	rel = xasprintf(".Big/new/%s", name);
	p = path_of(f, rel);
	got = slurp(p, &got_len);
	assert_int_equal(got_len, len);
	assert_memory_equal(got, data, len);
	free(got);
	free(p);
	free(rel);
	free(name);
	free(data);
}

/* ---- names ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_follow_spec_and_are_unique(void **state)
{
	struct fixture *f = *state;
	enum { N = 10000 };
	char **names = xcalloc(N, sizeof(*names));
	struct md_batch *b = md_batch_new(f->md);
	char err[512], *tmp, *extra = NULL;
	regex_t re;
	int fd;

	assert_int_equal(regcomp(&re, "^[0-9]{10,}\\.M[0-9]{1,6}P[0-9]+Q[0-9]+\\.[^/:]+,S=42,W=40$",
	                         REG_EXTENDED | REG_NOSUB),
	                 0);
	assert_int_equal(md_tmp_create(b, &tmp, &fd, err, sizeof(err)), RES_OK);
	close(fd);
	for (int i = 0; i < N; i++) {
		if (md_batch_add_file(b, "INBOX", tmp, 42, 40, 0, &names[i], err, sizeof(err)) !=
		    RES_OK)
			fail_msg("add %d: %s", i, err);
		if (regexec(&re, names[i], 0, NULL, 0) != 0)
			fail_msg("name %s does not follow SECS.MusecPpidQn.HOST,S=SIZE,W=VSIZE",
			         names[i]);
	}
	/* The batch is capped: one more is a temporary failure, not unbounded growth. */
	assert_int_equal(md_batch_add_file(b, "INBOX", tmp, 42, 42, 0, &extra, err, sizeof(err)),
	                 RES_TEMP);
	assert_null(extra);
	/* Uniqueness within a handle rests on Q, not on the clock moving. */
	for (int i = 1; i < N; i++)
		if (strtoul(strchr(names[i], 'Q') + 1, NULL, 10) <=
		    strtoul(strchr(names[i - 1], 'Q') + 1, NULL, 10))
			fail_msg("Q does not grow: %s after %s", names[i], names[i - 1]);
	qsort(names, N, sizeof(*names), cmp_str);
	for (int i = 1; i < N; i++)
		if (strcmp(names[i - 1], names[i]) == 0)
			fail_msg("duplicate name %s", names[i]);
	md_batch_abort(b);
	assert_int_equal(count_entries(f, "tmp"), 0);
	assert_int_equal(count_entries(f, "new"), 0);
	for (int i = 0; i < N; i++)
		free(names[i]);
	free(names);
	free(tmp);
	regfree(&re);
	md_batch_free(b);
}

/* Names made by a forked child (same seq, same microsecond possible) differ from ours. */
static void names_differ_across_processes(void **state)
{
	struct fixture *f = *state;
	enum { N = 500 };
	char *names[2 * N], err[512], *tmp;
	struct md_batch *b = md_batch_new(f->md);
	int pipefd[2], fd, status;
	FILE *in;
	pid_t pid;

	assert_int_equal(md_tmp_create(b, &tmp, &fd, err, sizeof(err)), RES_OK);
	close(fd);
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		FILE *out = fdopen(pipefd[1], "w");
		char *name;

		for (int i = 0; i < N; i++) {
			md_batch_add_file(b, "INBOX", tmp, 1, 1, 0, &name, err, sizeof(err));
			fprintf(out, "%s\n", name);
		}
		fclose(out);
		_exit(0);
	}
	close(pipefd[1]);
	for (int i = 0; i < N; i++)
		assert_int_equal(
		    md_batch_add_file(b, "INBOX", tmp, 1, 1, 0, &names[i], err, sizeof(err)),
		    RES_OK);
	in = fdopen(pipefd[0], "r");
	for (int i = N; i < 2 * N; i++) {
		char line[512];

		assert_non_null(fgets(line, sizeof(line), in));
		line[strcspn(line, "\n")] = '\0';
		names[i] = xstrdup(line);
	}
	fclose(in);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	qsort(names, 2 * N, sizeof(*names), cmp_str);
	for (int i = 1; i < 2 * N; i++)
		if (strcmp(names[i - 1], names[i]) == 0)
			fail_msg("duplicate name across processes %s", names[i]);
	for (int i = 0; i < 2 * N; i++)
		free(names[i]);
	md_batch_free(b);
	free(tmp);
}

/* "/" and ":" in the host name are escaped (needs root for a private UTS namespace). */
static void host_slash_and_colon_are_escaped(void **state)
{
	struct fixture *f = *state;
	int status;
	pid_t pid;

	if (geteuid() != 0) {
		print_message("skipped: needs root to set a host name in a UTS namespace\n");
		skip();
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static const char host[] = "mx/1:a";
		char err[512], *name;
		struct maildir *md;

		if (unshare(CLONE_NEWUTS) < 0 || sethostname(host, strlen(host)) < 0)
			_exit(2);
		if ((md = maildir_open(f->root, err, sizeof(err))) == NULL)
			_exit(3);
		f->md = md;
		name = deliver_one(f, "INBOX", "x", 1, 0);
		_exit(strstr(name, ".mx\\0571\\072a,S=1") != NULL ? 0 : 4);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
		print_message("skipped: cannot unshare the UTS namespace\n");
		skip();
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- flags ---- */

static const struct {
	unsigned flags;
	const char *letters;
} flag_cases[] = {
    {0, ""},
    {MAIL_FLAG_SEEN, "S"},
    {MAIL_FLAG_SEEN | MAIL_FLAG_FLAGGED, "FS"},
    {MAIL_FLAG_ANSWERED | MAIL_FLAG_SEEN, "RS"},
    {MAIL_FLAG_TRASHED | MAIL_FLAG_DRAFT, "DT"},
    {MAIL_FLAG_DRAFT | MAIL_FLAG_FLAGGED | MAIL_FLAG_PASSED | MAIL_FLAG_ANSWERED | MAIL_FLAG_SEEN |
         MAIL_FLAG_TRASHED,
     "DFPRST"},
    {1u << 20, ""},
};

static void flags_string_is_in_ascii_order(void **state)
{
	char out[8];

	(void)state;
	for (size_t i = 0; i < sizeof(flag_cases) / sizeof(flag_cases[0]); i++) {
		mail_flags_letters(flag_cases[i].flags, out);
		if (strcmp(out, flag_cases[i].letters) != 0)
			fail_msg("flags %#x: got \"%s\", want \"%s\"", flag_cases[i].flags, out,
			         flag_cases[i].letters);
	}
}

/* The IMAP server's system flags come from the same table. */
static void imap_system_flags_have_their_letters(void **state)
{
	static const char *const names[] = {"\\Draft", "\\Flagged", "\\Answered", "\\Seen",
	                                    "\\Deleted"};

	(void)state;
	for (size_t i = 0; i < 5; i++) {
		char l = MAIL_FLAG_IMAP_LETTERS[i], out[8];

		assert_string_equal(mail_flag_imap_name(l), names[i]);
		mail_flags_letters(mail_flag_from_imap(names[i], strlen(names[i])), out);
		assert_int_equal(out[0], l);
	}
	assert_null(mail_flag_imap_name('P'));
	assert_null(mail_flag_imap_name('a'));
}

/* Writes an empty file tmp/NAME, mtime age_s seconds ago. */
static void tmp_file(const struct fixture *f, const char *name, long age_s)
{
	char *p = xasprintf("%s/tmp/%s", f->root, name);
	struct timeval tv[2];
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);

	assert_true(fd >= 0);
	close(fd);
	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec -= age_s;
	tv[1] = tv[0];
	assert_int_equal(utimes(p, tv), 0);
	free(p);
}

static bool tmp_has(const struct fixture *f, const char *name)
{
	char *p = xasprintf("%s/tmp/%s", f->root, name);
	bool there = access(p, F_OK) == 0;

	free(p);
	return there;
}

/* An older corral's names (no lock key): what a kill -9 left behind goes
 * once no process has the pid; what a live writer is writing stays. */
static void clean_tmp_removes_only_what_nobody_writes(void **state)
{
	struct fixture *f = *state;
	const char *host = maildir_host(f->md);
	pid_t dead = fork(), alive;
	char dead_own[256], live_own[256], other_host[256];

	assert_true(dead >= 0);
	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	alive = fork();
	assert_true(alive >= 0);
	if (alive == 0) {
		pause();
		_exit(0);
	}
	snprintf(dead_own, sizeof(dead_own), "1700000000.M1P%ldQ1.%s", (long)dead, host);
	snprintf(live_own, sizeof(live_own), "1700000000.M1P%ldQ2.%s", (long)alive, host);
	snprintf(other_host, sizeof(other_host), "1700000000.M1P%ldQ3.elsewhere", (long)dead);
	tmp_file(f, dead_own, 10);
	tmp_file(f, live_own, 10);
	tmp_file(f, other_host, 10);
	tmp_file(f, "1700000000.12345_1.mda", 10);
	tmp_file(f, "old-file-of-another-writer", 37 * 3600);
	assert_int_equal(maildir_clean_tmp(f->md), 2);
	assert_false(tmp_has(f, dead_own));
	assert_false(tmp_has(f, "old-file-of-another-writer"));
	assert_true(tmp_has(f, live_own));
	assert_true(tmp_has(f, other_host));
	assert_true(tmp_has(f, "1700000000.12345_1.mda"));
	kill(alive, SIGKILL);
	waitpid(alive, NULL, 0);
	/* Once its writer is gone, that one goes too. */
	assert_int_equal(maildir_clean_tmp(f->md), 1);
	assert_false(tmp_has(f, live_own));
}

/* ---- the writer lock: what the cleaner removes ---- */

#define KEY "0123456789abcdef"

/* tmp/.corral-LKEY.HOST, the lock file of key on this host. */
static char *lock_path(const struct fixture *f, const char *key)
{
	return xasprintf("%s/tmp/.corral-L%s.%s", f->root, key, maildir_host(f->md));
}

/* The key in a tmp path made by md_tmp_create ("...QseqLKEY.HOST"). */
static char *key_of(const char *tmp)
{
	const char *base = strrchr(tmp, '/') + 1, *q = strchr(base, 'Q'), *l = strchr(q, 'L');

	assert_non_null(l);
	assert_int_equal(strspn(l + 1, "0123456789abcdef"), 16);
	return xstrndup(l + 1, 16);
}

/* A process that holds an flock on path (LOCK_EX) until killed. */
static pid_t hold_lock(const char *path)
{
	int ready[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(path, O_RDWR | O_CREAT, 0600);

		if (fd < 0 || flock(fd, LOCK_EX) < 0)
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	return pid;
}

/* Waits (up to 5 s) until pid is a zombie: dead, its descriptors closed, not reaped. */
static void wait_zombie(pid_t pid)
{
	char *p = xasprintf("/proc/%ld/stat", (long)pid), buf[512], *rp;

	for (int i = 0; i < 500; i++) {
		FILE *fp = fopen(p, "r");
		size_t n = fp != NULL ? fread(buf, 1, sizeof(buf) - 1, fp) : 0;

		if (fp != NULL)
			fclose(fp);
		buf[n] = '\0';
		if ((rp = strrchr(buf, ')')) != NULL && rp[1] == ' ' && rp[2] == 'Z') {
			free(p);
			return;
		}
		usleep(10000);
	}
	fail_msg("process %ld did not become a zombie", (long)pid);
}

/* Whether pid has a descriptor open on a writer lock file (tmp/.corral-L...). */
static bool holds_lock_file(pid_t pid)
{
	char *dir = xasprintf("/proc/%ld/fd", (long)pid), link[PATH_MAX], *p;
	DIR *d = opendir(dir);
	struct dirent *de;
	bool found = false;
	ssize_t n;

	while (d != NULL && !found && (de = readdir(d)) != NULL) {
		p = xasprintf("%s/%s", dir, de->d_name);
		n = readlink(p, link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = '\0';
		found = strstr(link, "/.corral-L") != NULL;
		free(p);
	}
	if (d != NULL)
		closedir(d);
	free(dir);
	return found;
}

/*
 * In a child: a writer makes a tmp file (through the parent's batch when
 * inherited is not NULL, else through a handle of its own), sends its path
 * (and spawned's pid, when asked to start a program first), then is killed
 * (SIGKILL) without cleaning anything up. Returns the child's pid.
 */
static pid_t killed_writer(const struct fixture *f, struct md_batch *inherited, bool spawn_sleep,
                           char *tmp, size_t tmplen, pid_t *spawned)
{
	int out[2], ready[2];
	pid_t pid;
	FILE *fp;
	char c;

	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char err[512], *path;
		struct maildir *md =
		    inherited != NULL ? NULL : maildir_open(f->root, err, sizeof(err));
		struct md_batch *b = inherited != NULL ? inherited
		                     : md != NULL      ? md_batch_new(md)
		                                       : NULL;
		pid_t sp = 0;
		int fd;

		if (b == NULL || md_tmp_create(b, &path, &fd, err, sizeof(err)) != RES_OK)
			_exit(1);
		/* A program it runs (a pipe action) outlives it: exec drops the lock.
		 * It says so once it runs (the exec is over: the lock is let go). */
		if (spawn_sleep && (sp = fork()) == 0) {
			dup2(ready[1], 3);
			execlp("sh", "sh", "-c", "printf x >&3; exec sleep 30", (char *)NULL);
			_exit(127);
		}
		/* Closing an inherited handle never removes the parent's lock file. */
		if (inherited != NULL)
			maildir_close(f->md);
		dprintf(out[1], "%ld %s\n", (long)sp, path);
		kill(getpid(), SIGKILL);
	}
	close(out[1]);
	close(ready[1]);
	fp = fdopen(out[0], "r");
	assert_non_null(fp);
	assert_int_equal(fscanf(fp, "%d %4095s", spawned, tmp), 2);
	assert_true(strlen(tmp) < tmplen);
	fclose(fp);
	if (spawn_sleep)
		assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	return pid;
}

/* A killed writer whose pid a zombie still holds: its lock died with it. */
static void clean_tmp_removes_the_files_of_a_zombie_writer(void **state)
{
	struct fixture *f = *state;
	char tmp[4096], *key, *lock;
	pid_t sp, pid = killed_writer(f, NULL, false, tmp, sizeof(tmp), &sp);

	wait_zombie(pid);
	key = key_of(tmp);
	lock = lock_path(f, key);
	assert_int_equal(access(tmp, F_OK), 0);
	assert_int_equal(access(lock, F_OK), 0);
	assert_int_equal(maildir_clean_tmp(f->md), 1);
	assert_int_not_equal(access(tmp, F_OK), 0);
	assert_int_not_equal(access(lock, F_OK), 0);
	/* Still not reaped: kill(pid, 0) would have said it lives. */
	assert_int_equal(kill(pid, 0), 0);
	waitpid(pid, NULL, 0);
	free(lock);
	free(key);
}

/* The lock is O_CLOEXEC: a program the writer started does not keep it. */
static void clean_tmp_ignores_a_program_the_dead_writer_started(void **state)
{
	struct fixture *f = *state;
	char tmp[4096];
	pid_t sp, pid = killed_writer(f, NULL, true, tmp, sizeof(tmp), &sp);

	waitpid(pid, NULL, 0);
	assert_true(sp > 0);
	assert_false(holds_lock_file(sp));
	assert_int_equal(maildir_clean_tmp(f->md), 1);
	assert_int_not_equal(access(tmp, F_OK), 0);
	kill(sp, SIGKILL);
}

/*
 * A name is judged by its lock file only: missing or unlocked -> stale,
 * whatever process has the pid in the name now (this one, a live child);
 * flocked by anyone -> kept; another host's names and lock files, and names
 * that are not corral's (an APPEND's), are never judged by it.
 */
static void clean_tmp_judges_a_keyed_name_by_its_lock_alone(void **state)
{
	struct fixture *f = *state;
	const char *host = maildir_host(f->md);
	char missing[256], unlocked[256], held[256], other[256], append[256], other_lock[256];
	char *free_lock = lock_path(f, "00000000000000aa"), *held_lock = lock_path(f, KEY);
	pid_t live = fork(), holder;

	assert_true(live >= 0);
	if (live == 0) {
		pause();
		_exit(0);
	}
	snprintf(missing, sizeof(missing), "1700000000.M1P%ldQ1L00000000000000ff.%s", (long)live,
	         host);
	snprintf(unlocked, sizeof(unlocked), "1700000000.M1P%ldQ2L00000000000000aa.%s",
	         (long)getpid(), host);
	snprintf(held, sizeof(held), "1700000000.M1P1Q3L" KEY ".%s", host);
	snprintf(other, sizeof(other), "1700000000.M1P1Q4L00000000000000bb.elsewhere");
	snprintf(append, sizeof(append), "1700000000.M1P%ld.%s,S=1,W=1", (long)live, host);
	snprintf(other_lock, sizeof(other_lock), ".corral-L00000000000000bb.elsewhere");
	tmp_file(f, missing, 10);
	tmp_file(f, unlocked, 10);
	tmp_file(f, held, 10);
	tmp_file(f, other, 10);
	tmp_file(f, append, 10);
	tmp_file(f, other_lock, 10);
	close(open(free_lock, O_WRONLY | O_CREAT, 0600));
	holder = hold_lock(held_lock);
	assert_int_equal(maildir_clean_tmp(f->md), 2);
	assert_false(tmp_has(f, missing));
	assert_false(tmp_has(f, unlocked));
	assert_int_not_equal(access(free_lock, F_OK), 0);
	assert_true(tmp_has(f, held));
	assert_int_equal(access(held_lock, F_OK), 0);
	assert_true(tmp_has(f, other));
	assert_true(tmp_has(f, other_lock));
	assert_true(tmp_has(f, append));
	/* Once the holder is dead (reaped or not), its file and lock file go. */
	kill(holder, SIGKILL);
	wait_zombie(holder);
	assert_int_equal(maildir_clean_tmp(f->md), 1);
	assert_false(tmp_has(f, held));
	assert_int_not_equal(access(held_lock, F_OK), 0);
	waitpid(holder, NULL, 0);
	kill(live, SIGKILL);
	waitpid(live, NULL, 0);
	free(free_lock);
	free(held_lock);
}

/* A live writer's files stay, for its own clean and for another writer's. */
static void clean_tmp_keeps_what_a_live_writer_holds(void **state)
{
	struct fixture *f = *state;
	struct md_batch *b = md_batch_new(f->md);
	char err[512], *tmp;
	struct maildir *other;
	int fd;

	assert_int_equal(md_tmp_create(b, &tmp, &fd, err, sizeof(err)), RES_OK);
	close(fd);
	assert_int_equal(maildir_clean_tmp(f->md), 0);
	other = maildir_open(f->root, err, sizeof(err));
	assert_non_null(other);
	assert_int_equal(maildir_clean_tmp(other), 0);
	maildir_close(other);
	assert_int_equal(access(tmp, F_OK), 0);
	free(tmp);
	md_batch_free(b);
}

/* A forked child that writes through its parent's handle takes a lock of
 * its own: its leftovers go when it dies, the parent's stay. */
static void forked_writer_takes_its_own_lock(void **state)
{
	struct fixture *f = *state;
	struct md_batch *b = md_batch_new(f->md);
	char err[512], *mine, child[4096], *k1, *k2, *lock;
	int fd;
	pid_t sp, pid;

	assert_int_equal(md_tmp_create(b, &mine, &fd, err, sizeof(err)), RES_OK);
	close(fd);
	pid = killed_writer(f, b, false, child, sizeof(child), &sp);
	waitpid(pid, NULL, 0);
	k1 = key_of(mine);
	k2 = key_of(child);
	assert_string_not_equal(k1, k2);
	lock = lock_path(f, k1);
	assert_int_equal(access(lock, F_OK), 0);
	assert_int_equal(maildir_clean_tmp(f->md), 1);
	assert_int_not_equal(access(child, F_OK), 0);
	assert_int_equal(access(mine, F_OK), 0);
	free(lock), free(k1), free(k2), free(mine);
	md_batch_free(b);
}

/* A writer's lock file stays young (no 36-hour cleaner removes it); one
 * removed by another program is replaced by a new lock before the next file. */
static void writer_lock_is_touched_and_replaced_when_removed(void **state)
{
	struct fixture *f = *state;
	struct md_batch *b = md_batch_new(f->md);
	char err[512], *first, *second, *third, *k1, *k3, *lock;
	struct timeval old[2];
	struct maildir *other;
	struct stat st;
	int fd;

	assert_int_equal(md_tmp_create(b, &first, &fd, err, sizeof(err)), RES_OK);
	close(fd);
	k1 = key_of(first);
	lock = lock_path(f, k1);
	gettimeofday(&old[0], NULL);
	old[0].tv_sec -= 2 * 3600;
	old[1] = old[0];
	assert_int_equal(utimes(lock, old), 0);
	assert_int_equal(md_tmp_create(b, &second, &fd, err, sizeof(err)), RES_OK);
	close(fd);
	assert_int_equal(stat(lock, &st), 0);
	assert_true(time(NULL) - st.st_mtime < 3600);
	assert_int_equal(unlink(lock), 0);
	assert_int_equal(md_tmp_create(b, &third, &fd, err, sizeof(err)), RES_OK);
	close(fd);
	k3 = key_of(third);
	assert_string_not_equal(k1, k3);
	/* The files named with the lost lock are a cleaner's now; the new one is kept. */
	other = maildir_open(f->root, err, sizeof(err));
	assert_non_null(other);
	assert_int_equal(maildir_clean_tmp(other), 2);
	maildir_close(other);
	assert_int_equal(access(third, F_OK), 0);
	free(first), free(second), free(third), free(k1), free(k3), free(lock);
	md_batch_free(b);
}

/* Closing the handle lets go of the lock: tmp/ is empty, dot files too. */
static void close_removes_the_writer_lock(void **state)
{
	struct fixture *f = *state;
	char *name = deliver_one(f, "INBOX", "m", 1, 0), *tmpdir = path_of(f, "tmp"), err[512];
	struct dirent *de;
	int n = 0;
	DIR *d;

	maildir_close(f->md);
	f->md = maildir_open(f->root, err, sizeof(err));
	assert_non_null(f->md);
	d = opendir(tmpdir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	assert_int_equal(n, 0);
	free(tmpdir);
	free(name);
}

static void flagged_delivery_goes_to_cur_with_info(void **state)
{
	struct fixture *f = *state;
	char *name = deliver_one(f, "INBOX", "m", 1, MAIL_FLAG_SEEN | MAIL_FLAG_FLAGGED);
	char *rel = xasprintf("cur/%s:2,FS", name);
	char *p = path_of(f, rel);
	struct stat st;

	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, 1);
	assert_int_equal(count_entries(f, "new"), 0);
	assert_int_equal(count_entries(f, "cur"), 1);
	free(p);
	free(rel);
	free(name);
}

/* ---- folders ---- */

static void folder_is_created_with_maildirfolder_and_parents(void **state)
{
	struct fixture *f = *state;
	static const char *const must_exist[] = {
	    ".Lists/tmp",     ".Lists/new",     ".Lists/cur",
	    ".Lists.dev/tmp", ".Lists.dev/new", ".Lists.dev/cur",
	};
	char *name = deliver_one(f, "Lists/dev", "x", 1, 0);
	char *p;
	struct stat st;

	for (size_t i = 0; i < sizeof(must_exist) / sizeof(must_exist[0]); i++) {
		p = path_of(f, must_exist[i]);
		if (!is_dir(p))
			fail_msg("%s is not a directory", p);
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0700);
		free(p);
	}
	p = path_of(f, ".Lists.dev/maildirfolder");
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 0);
	free(p);
	p = path_of(f, ".Lists/maildirfolder");
	assert_int_equal(stat(p, &st), 0);
	free(p);
	p = path_of(f, "maildirfolder");
	assert_int_not_equal(stat(p, &st), 0);
	free(p);
	assert_int_equal(count_entries(f, ".Lists.dev/new"), 1);
	assert_int_equal(count_entries(f, ".Lists/new"), 0);
	free(name);
}

static const struct {
	const char *in;
	const char *want; /* NULL: nothing usable */
} folder_cases[] = {
    {"A/B", ".A.B"},
    {"../../x", ".x"},
    {"a/../b", ".a.b"},
    {"a/./b", ".a.b"},
    {".", NULL},
    {"..", NULL},
    {"../..", NULL},
    {"\x01", NULL},
    {"", ""},
    {"/", ""},
    {"INBOX", ""},
    {"inbox", ""},
    {"InBoX/", ""},
    {"inbox/Sub", ".INBOX.Sub"},
    {"Sub/inbox", ".Sub.inbox"},
    {"\x1b[31m", ".[31m"},
    {"a.b", ".a_b"},
    {"..a..b..", ".a__b__"},
    {".hidden", ".hidden"},
    {"Lists/", ".Lists"},
    {"a//b", ".a.b"},
    {"/abs/path", ".abs.path"},
    {"x\x01y/z\x7f", ".xy.z"},
    {"Lists/$1", ".Lists.$1"},
};

/* Each level in modified UTF-7, as Dovecot names it on disk. */
static const struct {
	const char *in, *want;
} mutf7_cases[] = {
    {"Caf\xc3\xa9", ".Caf&AOk-"},
    {"Entw\xc3\xbcrfe/\xc3\x84rger", ".Entw&APw-rfe.&AMQ-rger"},
    {"R&D", ".R&-D"},
    {"&APw-", ".&-APw-"},
    {"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", ".&ZeVnLIqe-"},
    {"a.\xc3\xbc/b", ".a_&APw-.b"},
    {"Latin1 \xe9t\xe9", ".Latin1 _t_"},
    {"\xf0\x9f\x93\xa7 mail", ".&2D3c5w- mail"},
    {"inbox/\xc3\xa9", ".INBOX.&AOk-"},
};

static void folder_levels_are_modified_utf7(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(mutf7_cases) / sizeof(mutf7_cases[0]); i++) {
		char *got = maildir_folder_dir(mutf7_cases[i].in);

		if (got == NULL || strcmp(got, mutf7_cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, got ? got : "(null)",
			         mutf7_cases[i].want);
		free(got);
	}
}

static void folder_name_too_long_once_encoded_is_refused(void **state)
{
	char in[400] = "", *got;

	(void)state;
	/* 100 x "ü": 200 bytes of UTF-8, "&" + 267 + "-" encoded. */
	for (int i = 0; i < 100; i++)
		strcat(in, "\xc3\xbc");
	assert_null(maildir_folder_dir(in));
	in[2 * 60] = '\0';
	got = maildir_folder_dir(in);
	assert_non_null(got);
	free(got);
}

static void folder_names_are_sanitised(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(folder_cases) / sizeof(folder_cases[0]); i++) {
		char *got = maildir_folder_dir(folder_cases[i].in);
		const char *want = folder_cases[i].want;

		if ((got == NULL) != (want == NULL) || (got && strcmp(got, want) != 0))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, got ? got : "(null)",
			         want ? want : "(null)");
		free(got);
	}
}

static void folder_name_longer_than_a_directory_entry_is_refused(void **state)
{
	char in[400], *got;

	(void)state;
	memset(in, 'a', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	assert_null(maildir_folder_dir(in));
	in[254] = '\0';
	got = maildir_folder_dir(in);
	assert_non_null(got);
	assert_int_equal(strlen(got), 255);
	free(got);
}

static const struct {
	const char *in, *want;
} component_cases[] = {
    {"../../x", "x"},
    {".hidden", "hidden"},
    {"a/b", "ab"},
    {"\x01"
     "evil",
     "evil"},
    {"", "_"},
    {"...", "_"},
    {"/", "_"},
    {"\x1b[31mred", "[31mred"},
    {"list.example.com", "list_example_com"},
    {"dev-team", "dev-team"},
    {"a..b", "a__b"},
    {"..\x7f/..", "_"},
};

static void folder_capture_is_sanitised(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(component_cases) / sizeof(component_cases[0]); i++) {
		char *got = folder_sanitise_component(component_cases[i].in);

		if (strcmp(got, component_cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, got,
			         component_cases[i].want);
		free(got);
	}
}

static void unusable_folder_is_a_permanent_failure(void **state)
{
	struct fixture *f = *state;
	struct md_batch *b = md_batch_new(f->md);
	char err[512] = "", *name = NULL;

	assert_int_equal(md_batch_add(b, "../..", "x", 1, 0, &name, err, sizeof(err)), RES_PERM);
	assert_null(name);
	assert_non_null(strstr(err, "../.."));
	assert_int_equal(md_batch_count(b), 0);
	assert_int_equal(count_entries(f, "tmp"), 0);
	md_batch_free(b);
}

/* ---- folders written by older corrals (raw UTF-8 levels) ---- */

#define OLD     ".Entw\xc3\xbcrfe"
#define NEW     ".Entw&APw-rfe"
#define OLD_SUB OLD ".\xc3\x84rger"
#define NEW_SUB NEW ".&AMQ-rger"

/* Makes each path under the root: "dir/" a directory, anything else a file
 * holding its own path (so a message's bytes tell where it was made). */
static void make_tree(const struct fixture *f, const char *const *paths)
{
	for (size_t i = 0; paths[i] != NULL; i++) {
		char *p = path_of(f, paths[i]);
		size_t n = strlen(p);

		if (p[n - 1] == '/') {
			p[n - 1] = '\0';
			if (mkdir(p, 0700) < 0 && errno != EEXIST)
				fail_msg("mkdir %s: %s", p, strerror(errno));
		} else {
			FILE *fp = fopen(p, "w");

			if (fp == NULL)
				fail_msg("create %s: %s", p, strerror(errno));
			fputs(paths[i], fp);
			fclose(fp);
		}
		free(p);
	}
}

static int messages_in(const struct fixture *f, const char *dir)
{
	char *n = xasprintf("%s/new", dir), *c = xasprintf("%s/cur", dir);
	int a = count_entries(f, n), b = count_entries(f, c);

	free(n);
	free(c);
	return (a > 0 ? a : 0) + (b > 0 ? b : 0);
}

#define MAILDIR(d) d "/", d "/new/", d "/cur/", d "/tmp/", d "/maildirfolder"

static const struct {
	const char *what;
	const char *before[24];
	const char *deliver_to; /* NULL: maildir_upgrade_all() */
	const char *present[8]; /* after */
	const char *absent[4];
	const char *new_dir, *old_dir; /* where messages are counted */
	int in_new, in_old;            /* messages after (a delivery adds one to in_new) */
} upgrade_cases[] = {
    {"only the old folder: renamed, flags kept",
     {MAILDIR(OLD), OLD "/new/1.M1.h,S=1", OLD "/cur/2.M2.h,S=1:2,FS", NULL},
     "Entw\xc3\xbcrfe",
     {NEW "/new/1.M1.h,S=1", NEW "/cur/2.M2.h,S=1:2,FS", NEW "/maildirfolder"},
     {OLD},
     NEW,
     OLD,
     3,
     0},
    {"both exist: old messages moved under their names, old removed",
     {MAILDIR(OLD), OLD "/new/1.M1.h,S=1", OLD "/cur/2.M2.h,S=1:2,S", OLD "/dovecot-uidlist",
      MAILDIR(NEW), NEW "/cur/3.M3.h,S=1:2,", NULL},
     "Entw\xc3\xbcrfe",
     {NEW "/new/1.M1.h,S=1", NEW "/cur/2.M2.h,S=1:2,S", NEW "/cur/3.M3.h,S=1:2,"},
     {OLD},
     NEW,
     OLD,
     4,
     0},
    {"sublevel and parent both renamed",
     {MAILDIR(OLD), MAILDIR(OLD_SUB), OLD_SUB "/cur/1.M1.h,S=1:2,R", NULL},
     "Entw\xc3\xbcrfe/\xc3\x84rger",
     {NEW "/maildirfolder", NEW_SUB "/cur/1.M1.h,S=1:2,R"},
     {OLD, OLD_SUB},
     NEW_SUB,
     OLD_SUB,
     2,
     0},
    {"killed mid-move: the rest is moved, nothing twice",
     {MAILDIR(OLD), OLD "/cur/2.M2.h,S=1:2,S", MAILDIR(NEW), NEW "/new/1.M1.h,S=1", NULL},
     "Entw\xc3\xbcrfe",
     {NEW "/new/1.M1.h,S=1", NEW "/cur/2.M2.h,S=1:2,S"},
     {OLD},
     NEW,
     OLD,
     3,
     0},
    {"killed while removing the emptied old folder: removal finished",
     {OLD "/", OLD "/maildirfolder", OLD "/tmp/", MAILDIR(NEW), NEW "/new/1.M1.h,S=1", NULL},
     "Entw\xc3\xbcrfe",
     {NEW "/new/1.M1.h,S=1"},
     {OLD},
     NEW,
     OLD,
     2,
     0},
    {"a message in both (same base name) is not moved a second time",
     {MAILDIR(OLD), OLD "/cur/1.M1.h,S=1:2,S", OLD "/new/2.M2.h,S=1", MAILDIR(NEW),
      NEW "/new/1.M1.h,S=1", NULL},
     "Entw\xc3\xbcrfe",
     {NEW "/new/1.M1.h,S=1", NEW "/new/2.M2.h,S=1", OLD "/cur/1.M1.h,S=1:2,S"},
     {NEW "/cur/1.M1.h,S=1:2,S"},
     NEW,
     OLD,
     3,
     1},
    {"a file still being written in the old tmp/ keeps the old folder",
     {MAILDIR(OLD), OLD "/tmp/writing", OLD "/new/1.M1.h,S=1", MAILDIR(NEW), NULL},
     "Entw\xc3\xbcrfe",
     {NEW "/new/1.M1.h,S=1", OLD "/tmp/writing"},
     {OLD "/new"},
     NEW,
     OLD,
     2,
     0},
    {"a valid modified UTF-7 name is another folder: never taken",
     {MAILDIR(".&APw-"), ".&APw-/new/1.M1.h,S=1", NULL},
     "&APw-",
     {".&APw-/new/1.M1.h,S=1", ".&-APw-/new/"},
     {NULL},
     ".&-APw-",
     ".&APw-",
     1,
     1},
    {"the pass over the root upgrades old folders and leaves others",
     {MAILDIR(OLD), OLD "/new/1.M1.h,S=1", MAILDIR(OLD_SUB), OLD_SUB "/new/2.M2.h,S=1",
      MAILDIR(".Trash"), "..odd/", ".R&D/", ".R&D/new/", NULL},
     NULL,
     {NEW "/new/1.M1.h,S=1", NEW_SUB "/new/2.M2.h,S=1", ".Trash/new/", "..odd/", ".R&-D/new/"},
     {OLD, OLD_SUB, ".R&D"},
     NEW,
     OLD,
     1,
     0},
};

static void old_utf8_folders_are_upgraded(void **state)
{
	struct fixture *f = *state;
	char err[512];

	for (size_t i = 0; i < sizeof(upgrade_cases) / sizeof(upgrade_cases[0]); i++) {
		const char *to = upgrade_cases[i].deliver_to;
		const char *new_dir = upgrade_cases[i].new_dir, *old_dir = upgrade_cases[i].old_dir;
		char *name = NULL;
		int in_new;

		teardown(state);
		assert_int_equal(setup(state), 0);
		f = *state;
		make_tree(f, upgrade_cases[i].before);
		if (to != NULL)
			name = deliver_one(f, to, "x", 1, 0);
		else
			assert_true(maildir_upgrade_all(f->md) >= 2);
		for (size_t k = 0; k < 8 && upgrade_cases[i].present[k] != NULL; k++) {
			char *p = path_of(f, upgrade_cases[i].present[k]);

			if (access(p, F_OK) != 0)
				fail_msg("%s: %s is missing", upgrade_cases[i].what, p);
			free(p);
		}
		for (size_t k = 0; k < 4 && upgrade_cases[i].absent[k] != NULL; k++) {
			char *p = path_of(f, upgrade_cases[i].absent[k]);

			if (access(p, F_OK) == 0)
				fail_msg("%s: %s is still there", upgrade_cases[i].what, p);
			free(p);
		}
		in_new = messages_in(f, new_dir);
		if (in_new != upgrade_cases[i].in_new ||
		    messages_in(f, old_dir) != upgrade_cases[i].in_old)
			fail_msg("%s: %d messages in %s, %d in %s", upgrade_cases[i].what, in_new,
			         new_dir, messages_in(f, old_dir), old_dir);
		/* Running it again changes nothing. */
		assert_int_equal(
		    maildir_upgrade_folder(f->md, to ? to : "Entw\xc3\xbcrfe", err, sizeof(err)),
		    RES_OK);
		assert_int_equal(messages_in(f, new_dir), in_new);
		free(name);
	}
}

static void exists_finds_a_message_in_the_old_spelling(void **state)
{
	struct fixture *f = *state;
	static const char *const tree[] = {MAILDIR(OLD), OLD "/cur/1.M1.h,S=1,W=2:2,S", NULL};

	make_tree(f, tree);
	assert_true(md_exists(f->md, "Entw\xc3\xbcrfe", "1.M1.h,S=1,W=2"));
	assert_false(md_exists(f->md, "Other", "1.M1.h,S=1,W=2"));
	/* After the upgrade, in the new one. */
	free(deliver_one(f, "Entw\xc3\xbcrfe", "x", 1, 0));
	assert_true(md_exists(f->md, "Entw\xc3\xbcrfe", "1.M1.h,S=1,W=2"));
	assert_int_equal(messages_in(f, NEW), 2);
}

/* ---- ,W=: the size with CRLF line ends ---- */

static const struct {
	const char *what;
	const char *chunks[4]; /* fed in this order */
	size_t want;
} vsize_cases[] = {
    {"LF line ends count two", {"Subject: a\n\nbody\n"}, 20},
    {"CRLF line ends count as they are", {"Subject: a\r\n\r\nbody\r\n"}, 20},
    {"mixed", {"A\r\nB\nC\r\n\n"}, 11},
    {"no final newline", {"A\nB"}, 4},
    {"empty", {""}, 0},
    {"a lone CR is one byte", {"A\rB\r"}, 4},
    {"CR and LF split across chunks", {"A\r", "\nB\n"}, 6},
    {"LF first in a chunk after a byte", {"A", "\n", "\n"}, 5},
};

static void vsize_counts_bare_lf_twice(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vsize_cases) / sizeof(vsize_cases[0]); i++) {
		struct md_vsize v = MD_VSIZE_INIT;

		for (size_t k = 0; k < 4 && vsize_cases[i].chunks[k] != NULL; k++)
			md_vsize_feed(&v, vsize_cases[i].chunks[k],
			              strlen(vsize_cases[i].chunks[k]));
		if (md_vsize_value(&v) != vsize_cases[i].want)
			fail_msg("%s: got %zu, want %zu", vsize_cases[i].what, md_vsize_value(&v),
			         vsize_cases[i].want);
	}
}

static void delivered_name_carries_s_and_w(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *data, *want;
	} cases[] = {
	    {"a\nb\n", ",S=4,W=6"},
	    {"a\r\nb\r\n", ",S=6,W=6"},
	    {"a\r\nb\nc", ",S=6,W=7"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *name =
		    deliver_one(f, "INBOX", cases[i].data, strlen(cases[i].data), MAIL_FLAG_SEEN);
		size_t n = strlen(name), w = strlen(cases[i].want);
		char *rel = xasprintf("cur/%s:2,S", name);
		char *p = path_of(f, rel);

		if (n < w || strcmp(name + n - w, cases[i].want) != 0)
			fail_msg("name %s does not end in %s", name, cases[i].want);
		assert_int_equal(access(p, F_OK), 0);
		assert_true(md_exists(f->md, "INBOX", name));
		free(p), free(rel), free(name);
	}
}

/* ---- batches ---- */

static void batch_of_300_is_visible_only_after_commit(void **state)
{
	struct fixture *f = *state;
	struct md_batch *b = md_batch_new(f->md);
	char err[512], msg[64];

	for (int i = 0; i < 300; i++) {
		int n = snprintf(msg, sizeof(msg), "Subject: %d\n\n%d\n", i, i);

		if (md_batch_add(b, i % 3 ? "INBOX" : "Other", msg, (size_t)n, 0, NULL, err,
		                 sizeof(err)) != RES_OK)
			fail_msg("add %d: %s", i, err);
	}
	assert_int_equal(md_batch_count(b), 300);
	assert_int_equal(count_entries(f, "tmp"), 300);
	assert_int_equal(count_entries(f, "new"), 0);
	assert_int_equal(count_entries(f, ".Other/new"), 0);
	assert_int_equal(md_batch_commit(b, err, sizeof(err)), RES_OK);
	assert_int_equal(md_batch_count(b), 0);
	assert_int_equal(count_entries(f, "new"), 200);
	assert_int_equal(count_entries(f, ".Other/new"), 100);
	assert_int_equal(count_entries(f, "tmp"), 0);
	/* The batch can be used again. */
	assert_int_equal(md_batch_add(b, "INBOX", "x", 1, 0, NULL, err, sizeof(err)), RES_OK);
	assert_int_equal(md_batch_commit(b, err, sizeof(err)), RES_OK);
	assert_int_equal(count_entries(f, "new"), 201);
	md_batch_free(b);
}

static void abort_leaves_nothing_visible_and_tmp_empty(void **state)
{
	struct fixture *f = *state;
	struct md_batch *b = md_batch_new(f->md);
	char err[512], *tmp;
	int fd;

	for (int i = 0; i < 5; i++)
		assert_int_equal(md_batch_add(b, i % 2 ? "INBOX" : "A/B", "x", 1,
		                              MAIL_FLAG_SEEN * (i > 2), NULL, err, sizeof(err)),
		                 RES_OK);
	/* A streamed file not yet scheduled belongs to the batch too. */
	assert_int_equal(md_tmp_create(b, &tmp, &fd, err, sizeof(err)), RES_OK);
	close(fd);
	assert_int_equal(count_entries(f, "tmp"), 6);
	md_batch_abort(b);
	assert_int_equal(md_batch_count(b), 0);
	assert_int_equal(count_entries(f, "tmp"), 0);
	assert_int_equal(count_entries(f, "new"), 0);
	assert_int_equal(count_entries(f, "cur"), 0);
	assert_int_equal(count_entries(f, ".A.B/new"), 0);
	/* Freeing an uncommitted batch aborts it. */
	assert_int_equal(md_batch_add(b, "INBOX", "x", 1, 0, NULL, err, sizeof(err)), RES_OK);
	md_batch_free(b);
	assert_int_equal(count_entries(f, "tmp"), 0);
	assert_int_equal(count_entries(f, "new"), 0);
	free(tmp);
}

static void streamed_file_delivered_to_two_folders(void **state)
{
	struct fixture *f = *state;
	struct md_batch *b = md_batch_new(f->md);
	char err[512], *tmp, *n1, *n2, *p1, *p2, *d1, *d2;
	size_t l1, l2;
	int fd;

	assert_int_equal(md_tmp_create(b, &tmp, &fd, err, sizeof(err)), RES_OK);
	assert_true(strncmp(tmp, f->root, strlen(f->root)) == 0);
	assert_int_equal(write(fd, "hello", 5), 5);
	close(fd);
	assert_int_equal(md_batch_add_file(b, "One", tmp, 5, 5, 0, &n1, err, sizeof(err)), RES_OK);
	assert_int_equal(
	    md_batch_add_file(b, "Two", tmp, 5, 5, MAIL_FLAG_SEEN, &n2, err, sizeof(err)), RES_OK);
	assert_int_equal(md_batch_count(b), 2);
	assert_string_not_equal(n1, n2);
	assert_int_equal(md_batch_commit(b, err, sizeof(err)), RES_OK);
	p1 = xasprintf("%s/.One/new/%s", f->root, n1);
	p2 = xasprintf("%s/.Two/cur/%s:2,S", f->root, n2);
	d1 = slurp(p1, &l1);
	d2 = slurp(p2, &l2);
	assert_int_equal(l1, 5);
	assert_memory_equal(d1, "hello", 5);
	assert_int_equal(l2, 5);
	assert_memory_equal(d2, "hello", 5);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(count_entries(f, "tmp"), 0);
	free(d1), free(d2), free(p1), free(p2), free(n1), free(n2), free(tmp);
	md_batch_free(b);
}

static void discarded_tmp_file_is_removed_alone(void **state)
{
	struct fixture *f = *state;
	struct md_batch *b = md_batch_new(f->md);
	char err[512], *tmp;
	int fd;

	assert_int_equal(md_batch_add(b, "INBOX", "keep", 4, 0, NULL, err, sizeof(err)), RES_OK);
	assert_int_equal(md_tmp_create(b, &tmp, &fd, err, sizeof(err)), RES_OK);
	close(fd);
	md_tmp_discard(b, tmp);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(md_batch_count(b), 1);
	assert_int_equal(md_batch_commit(b, err, sizeof(err)), RES_OK);
	assert_int_equal(count_entries(f, "new"), 1);
	assert_int_equal(count_entries(f, "tmp"), 0);
	free(tmp);
	md_batch_free(b);
}

/* ---- recovery ---- */

static void exists_follows_commit_and_client_moves(void **state)
{
	struct fixture *f = *state;
	struct md_batch *b = md_batch_new(f->md);
	char err[512], *name, *from, *to, *prefix;

	assert_int_equal(md_batch_add(b, "Work", "x", 1, 0, &name, err, sizeof(err)), RES_OK);
	assert_false(md_exists(f->md, "Work", name));
	assert_int_equal(md_batch_commit(b, err, sizeof(err)), RES_OK);
	assert_true(md_exists(f->md, "Work", name));
	assert_false(md_exists(f->md, "INBOX", name));
	/* A name that is a prefix of the real one is another message. */
	prefix = xstrndup(name, strlen(name) - 1);
	assert_false(md_exists(f->md, "Work", prefix));
	/* A client reads it: new/NAME -> cur/NAME:2,S, then replies: :2,RS. */
	from = xasprintf("%s/.Work/new/%s", f->root, name);
	to = xasprintf("%s/.Work/cur/%s:2,S", f->root, name);
	assert_int_equal(rename(from, to), 0);
	assert_true(md_exists(f->md, "Work", name));
	free(from);
	from = to;
	to = xasprintf("%s/.Work/cur/%s:2,RS", f->root, name);
	assert_int_equal(rename(from, to), 0);
	assert_true(md_exists(f->md, "Work", name));
	assert_false(md_exists(f->md, "Work", prefix));
	assert_int_equal(unlink(to), 0);
	assert_false(md_exists(f->md, "Work", name));
	assert_false(md_exists(f->md, "Work", ""));
	assert_false(md_exists(f->md, "Missing", name));
	free(from), free(to), free(prefix), free(name);
	md_batch_free(b);
}

/* ---- failures ---- */

static void commit_into_broken_folder_is_permanent_and_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	struct md_batch *b = md_batch_new(f->md);
	char err[512], *p;
	int fd;

	assert_int_equal(md_batch_add(b, "INBOX", "a", 1, 0, NULL, err, sizeof(err)), RES_OK);
	assert_int_equal(md_batch_add(b, "Bad", "b", 1, 0, NULL, err, sizeof(err)), RES_OK);
	/* A file where .Bad/new should be: ENOTDIR even for root, who ignores modes. */
	p = path_of(f, ".Bad/new");
	assert_int_equal(rmdir(p), 0);
	assert_true((fd = open(p, O_WRONLY | O_CREAT, 0600)) >= 0);
	close(fd);
	assert_int_equal(md_batch_commit(b, err, sizeof(err)), RES_PERM);
	if (strstr(err, ".Bad/new") == NULL || strstr(err, strerror(ENOTDIR)) == NULL)
		fail_msg("error does not name the path and reason: %s", err);
	assert_int_equal(count_entries(f, "new"), 0);
	assert_int_equal(count_entries(f, "tmp"), 0);
	assert_int_equal(count_entries(f, ".Bad/tmp"), 0);
	free(p);
	md_batch_free(b);
}

static void folder_blocked_by_a_file_fails_at_add(void **state)
{
	struct fixture *f = *state;
	struct md_batch *b = md_batch_new(f->md);
	char err[512], *p = path_of(f, ".Filed");
	int fd = open(p, O_WRONLY | O_CREAT, 0600);

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(md_batch_add(b, "Filed", "x", 1, 0, NULL, err, sizeof(err)), RES_PERM);
	assert_non_null(strstr(err, ".Filed"));
	assert_int_equal(md_batch_count(b), 0);
	assert_int_equal(count_entries(f, "tmp"), 0);
	free(p);
	md_batch_free(b);
}

static const struct {
	int err;
	int want;
} errno_cases[] = {
    {0, RES_OK},        {ENOSPC, RES_TEMP},       {EDQUOT, RES_TEMP},  {EIO, RES_TEMP},
    {EMFILE, RES_TEMP}, {ENFILE, RES_TEMP},       {ENOMEM, RES_TEMP},  {ENOENT, RES_TEMP},
    {EACCES, RES_PERM}, {EPERM, RES_PERM},        {ENOTDIR, RES_PERM}, {EROFS, RES_PERM},
    {EISDIR, RES_PERM}, {ENAMETOOLONG, RES_PERM},
};

static void errno_maps_to_temporary_or_permanent(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(errno_cases) / sizeof(errno_cases[0]); i++)
		if (md_errno_result(errno_cases[i].err) != errno_cases[i].want)
			fail_msg("%s: got %d, want %d", strerror(errno_cases[i].err),
			         md_errno_result(errno_cases[i].err), errno_cases[i].want);
}

/* ---- opening ---- */

static void open_creates_root_and_parents_mode_0700(void **state)
{
	struct fixture *f = *state;
	char err[512], *root = xasprintf("%s/a/b/Mail/", f->dir), *p;
	struct maildir *md = maildir_open(root, err, sizeof(err));
	static const char *const subs[] = {"tmp", "new", "cur"};
	struct stat st;

	assert_non_null(md);
	p = xasprintf("%s/a/b/Mail", f->dir);
	assert_string_equal(maildir_root(md), p);
	for (size_t i = 0; i < 3; i++) {
		char *s = xasprintf("%s/%s", p, subs[i]);

		assert_int_equal(stat(s, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
		assert_int_equal(st.st_mode & 0777, 0700);
		free(s);
	}
	maildir_close(md);
	/* Opening an existing maildir again is fine. */
	md = maildir_open(p, err, sizeof(err));
	assert_non_null(md);
	maildir_close(md);
	free(p);
	free(root);
}

static void open_fails_clearly_on_a_file(void **state)
{
	struct fixture *f = *state;
	char err[512], *file = xasprintf("%s/plain", f->dir), *below;
	int fd = open(file, O_WRONLY | O_CREAT, 0600);

	assert_true(fd >= 0);
	close(fd);
	err[0] = '\0';
	assert_null(maildir_open(file, err, sizeof(err)));
	if (strstr(err, file) == NULL || strstr(err, strerror(ENOTDIR)) == NULL)
		fail_msg("unclear error: %s", err);
	below = xasprintf("%s/Maildir", file);
	err[0] = '\0';
	assert_null(maildir_open(below, err, sizeof(err)));
	assert_non_null(strstr(err, strerror(ENOTDIR)));
	free(below);
	free(file);
}

static bool mount_small_tmpfs(struct fixture *f, const char *size);

/* Root ignores modes, so as root the maildir is made read-only by a read-only tmpfs. */
static void open_fails_clearly_when_not_writable(void **state)
{
	struct fixture *f = *state;
	char err[512], *tmp;

	if (geteuid() == 0) {
		if (!mount_small_tmpfs(f, "64k"))
			skip();
		assert_int_equal(mount(NULL, f->dir, NULL, MS_REMOUNT | MS_RDONLY, NULL), 0);
	} else {
		tmp = xasprintf("%s/tmp", f->root);
		assert_int_equal(chmod(tmp, 0500), 0);
		free(tmp);
	}
	err[0] = '\0';
	assert_null(maildir_open(f->root, err, sizeof(err)));
	if (strstr(err, f->root) == NULL || strstr(err, "tmp") == NULL)
		fail_msg("error does not name the maildir: %s", err);
}

/* ---- a full disk, in-process (the integration test covers `corral deliver`) ---- */

static bool mount_small_tmpfs(struct fixture *f, const char *size)
{
	char err[512], opts[64];

	if (geteuid() != 0) {
		print_message("skipped: not root, cannot mount a tmpfs\n");
		return false;
	}
	snprintf(opts, sizeof(opts), "size=%s,mode=0700", size);
	if (mount("tmpfs", f->dir, "tmpfs", 0, opts) < 0) {
		print_message("skipped: cannot mount tmpfs: %s\n", strerror(errno));
		return false;
	}
	f->mounted = true;
	maildir_close(f->md);
	f->md = maildir_open(f->root, err, sizeof(err));
	if (f->md == NULL)
		fail_msg("maildir_open on tmpfs: %s", err);
	return true;
}

static void full_disk_is_temporary_and_leaves_no_file(void **state)
{
	struct fixture *f = *state;
	size_t big_len = 2 << 20, len;
	char *big, err[512], *name, *p, *got;
	struct md_batch *b;

	if (!mount_small_tmpfs(f, "256k"))
		skip();
	big = xcalloc(1, big_len);
	b = md_batch_new(f->md);
	assert_int_equal(md_batch_add(b, "INBOX", "small", 5, 0, NULL, err, sizeof(err)), RES_OK);
	err[0] = '\0';
	assert_int_equal(md_batch_add(b, "INBOX", big, big_len, 0, NULL, err, sizeof(err)),
	                 RES_TEMP);
	if (strstr(err, strerror(ENOSPC)) == NULL || strstr(err, "/tmp/") == NULL)
		fail_msg("error does not say the disk is full: %s", err);
	/* Only the big message's tmp file went; the earlier one is still scheduled. */
	assert_int_equal(count_entries(f, "tmp"), 1);
	assert_int_equal(md_batch_count(b), 1);
	md_batch_abort(b);
	assert_int_equal(count_entries(f, "tmp"), 0);
	assert_int_equal(count_entries(f, "new"), 0);
	assert_int_equal(count_entries(f, "cur"), 0);
	/* The disk has room again for a small message. */
	name = deliver_one(f, "INBOX", "Subject: ok\n\nok\n", 16, 0);
	p = xasprintf("%s/new/%s", f->root, name);
	got = slurp(p, &len);
	assert_int_equal(len, 16);
	assert_memory_equal(got, "Subject: ok\n\nok\n", 16);
	free(got), free(p), free(name), free(big);
	md_batch_free(b);
}

static void full_disk_while_streaming_is_discarded(void **state)
{
	struct fixture *f = *state;
	char chunk[4096], err[512], *tmp;
	struct md_batch *b;
	int fd, e = 0;

	if (!mount_small_tmpfs(f, "128k"))
		skip();
	memset(chunk, 'x', sizeof(chunk));
	b = md_batch_new(f->md);
	assert_int_equal(md_tmp_create(b, &tmp, &fd, err, sizeof(err)), RES_OK);
	for (int i = 0; i < 1000 && e == 0; i++)
		if (write(fd, chunk, sizeof(chunk)) < 0)
			e = errno;
	close(fd);
	assert_int_equal(e, ENOSPC);
	assert_int_equal(md_errno_result(e), RES_TEMP);
	md_tmp_discard(b, tmp);
	assert_int_equal(count_entries(f, "tmp"), 0);
	assert_int_equal(md_batch_commit(b, err, sizeof(err)), RES_OK);
	assert_int_equal(count_entries(f, "new"), 0);
	free(tmp);
	md_batch_free(b);
}

static void moved_message_keeps_its_name_and_source(void **state)
{
	struct fixture *f = *state;
	struct md_batch *b = md_batch_new(f->md);
	char err[512], *name, *src, *dst;
	size_t len;
	char *data;

	assert_int_equal(md_batch_add(b, "INBOX", "moved", 5, 0, &name, err, sizeof(err)), RES_OK);
	assert_int_equal(md_batch_commit(b, err, sizeof(err)), RES_OK);
	src = xasprintf("%s/new/%s", f->root, name);
	assert_false(md_exists(f->md, "Archive", name));
	assert_int_equal(
	    md_batch_add_named(b, "Archive", src, name, MAIL_FLAG_SEEN, err, sizeof(err)), RES_OK);
	assert_int_equal(md_batch_commit(b, err, sizeof(err)), RES_OK);
	dst = xasprintf("%s/.Archive/cur/%s:2,S", f->root, name);
	data = slurp(dst, &len);
	assert_int_equal(len, 5);
	assert_memory_equal(data, "moved", 5);
	assert_true(md_exists(f->md, "Archive", name));
	/* The batch never removes the caller's file: the caller does, after the commit. */
	assert_int_equal(access(src, F_OK), 0);
	assert_int_equal(md_batch_add_named(b, "Archive", src, "../x", 0, err, sizeof(err)),
	                 RES_PERM);
	free(data), free(dst), free(src), free(name);
	md_batch_free(b);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

/* APPEND's and COPY's names are made like deliveries' (md_new_base). */
static void new_base_is_the_delivery_name_with_a_padded_counter(void **state)
{
	regex_t re;
	char *a = md_new_base(7, ",S=10,W=12"), *b = md_new_base(12, ",S=10,W=12");

	(void)state;
	assert_int_equal(regcomp(&re, "^[0-9]+\\.M[0-9]{6}P[0-9]+Q0000(07|12)\\.[^/:,]+,S=10,W=12$",
	                         REG_EXTENDED | REG_NOSUB),
	                 0);
	assert_int_equal(regexec(&re, a, 0, NULL, 0), 0);
	assert_int_equal(regexec(&re, b, 0, NULL, 0), 0);
	assert_string_not_equal(a, b);
	regfree(&re);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(delivered_bytes_are_identical),
	    T(one_megabyte_of_binary_is_identical),
	    T(names_follow_spec_and_are_unique),
	    T(names_differ_across_processes),
	    T(host_slash_and_colon_are_escaped),
	    cmocka_unit_test(flags_string_is_in_ascii_order),
	    cmocka_unit_test(new_base_is_the_delivery_name_with_a_padded_counter),
	    cmocka_unit_test(imap_system_flags_have_their_letters),
	    T(flagged_delivery_goes_to_cur_with_info),
	    T(clean_tmp_removes_only_what_nobody_writes),
	    T(clean_tmp_removes_the_files_of_a_zombie_writer),
	    T(clean_tmp_ignores_a_program_the_dead_writer_started),
	    T(clean_tmp_judges_a_keyed_name_by_its_lock_alone),
	    T(clean_tmp_keeps_what_a_live_writer_holds),
	    T(forked_writer_takes_its_own_lock),
	    T(writer_lock_is_touched_and_replaced_when_removed),
	    T(close_removes_the_writer_lock),
	    T(folder_is_created_with_maildirfolder_and_parents),
	    cmocka_unit_test(folder_names_are_sanitised),
	    cmocka_unit_test(folder_name_longer_than_a_directory_entry_is_refused),
	    cmocka_unit_test(folder_capture_is_sanitised),
	    cmocka_unit_test(folder_levels_are_modified_utf7),
	    cmocka_unit_test(folder_name_too_long_once_encoded_is_refused),
	    T(old_utf8_folders_are_upgraded),
	    T(exists_finds_a_message_in_the_old_spelling),
	    cmocka_unit_test(vsize_counts_bare_lf_twice),
	    T(delivered_name_carries_s_and_w),
	    T(unusable_folder_is_a_permanent_failure),
	    T(batch_of_300_is_visible_only_after_commit),
	    T(abort_leaves_nothing_visible_and_tmp_empty),
	    T(streamed_file_delivered_to_two_folders),
	    T(discarded_tmp_file_is_removed_alone),
	    T(exists_follows_commit_and_client_moves),
	    T(commit_into_broken_folder_is_permanent_and_leaves_nothing),
	    T(folder_blocked_by_a_file_fails_at_add),
	    cmocka_unit_test(errno_maps_to_temporary_or_permanent),
	    T(open_creates_root_and_parents_mode_0700),
	    T(open_fails_clearly_on_a_file),
	    T(open_fails_clearly_when_not_writable),
	    T(full_disk_is_temporary_and_leaves_no_file),
	    T(full_disk_while_streaming_is_discarded),
	    T(moved_message_keeps_its_name_and_source),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
