/* Unit tests for src/out/pipe.c and src/util/spawn.c: exit statuses, timeouts, stdin, stderr, env.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "out/pipe.h"
#include "util/spawn.h"
#include "util/buf.h"
#include "util/log.h"

struct fixture {
	char dir[64];
	char file[PATH_MAX]; /* dir/out: where commands write what they saw */
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "%s/corral-pipe-XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->file, sizeof(f->file), "%s/out", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];

	unlink(f->file);
	snprintf(path, sizeof(path), "%s/log", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/msg", f->dir);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* The whole of a file, NUL-terminated, or NULL; *len gets its size. */
static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *data;
	long n;

	if (fp == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	data = xmalloc((size_t)n + 1);
	if (fread(data, 1, (size_t)n, fp) != (size_t)n)
		n = 0;
	data[n] = '\0';
	fclose(fp);
	if (len != NULL)
		*len = (size_t)n;
	return data;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Commands judged by how they end: the result and a piece of the error. */
static const struct {
	const char *name;
	const char *argv[6];
	unsigned timeout_s;
	int rc;
	const char *err_has;
} status_cases[] = {
    {"exit 0 is delivered", {"true"}, 5, RES_OK, NULL},
    {"exit 1 is temporary", {"false"}, 5, RES_TEMP, "exited with 1"},
    {"exit 75 is temporary with stderr",
     {"sh", "-c", "echo 'mailbox full' >&2; exit 75"},
     5,
     RES_TEMP,
     "exited with 75: mailbox full"},
    {"missing command cannot run",
     {"corral-no-such-command-xyz"},
     5,
     RES_TEMP,
     "cannot run: No such file or directory"},
    {"killed by a signal is temporary",
     {"sh", "-c", "kill -TERM $$"},
     5,
     RES_TEMP,
     "killed by signal 15"},
    {"stderr control bytes are sanitised",
     {"sh", "-c", "printf 'a\\033b\\n' >&2; exit 2"},
     5,
     RES_TEMP,
     "exited with 2: a?b"},
    {"empty argv is refused", {NULL}, 5, RES_TEMP, "no command"},
};

static void exit_status_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(status_cases) / sizeof(status_cases[0]); i++) {
		char err[512] = "";
		int rc = pipe_deliver(status_cases[i].argv, -1, "msg\n", 4,
		                      status_cases[i].timeout_s, err, sizeof(err));

		if (rc != status_cases[i].rc)
			fail_msg("%s: rc %d, expected %d (%s)", status_cases[i].name, rc,
			         status_cases[i].rc, err);
		if (status_cases[i].err_has != NULL && strstr(err, status_cases[i].err_has) == NULL)
			fail_msg("%s: error '%s' lacks '%s'", status_cases[i].name, err,
			         status_cases[i].err_has);
	}
}

/* True while the process of /proc/PID/stat exists and is not a zombie. */
static bool running(const char *stat_path)
{
	char line[512] = "";
	FILE *fp = fopen(stat_path, "r");

	if (fp == NULL)
		return false;
	if (fgets(line, sizeof(line), fp) == NULL)
		line[0] = '\0';
	fclose(fp);
	return strstr(line, ") Z ") == NULL;
}

static void timeout_kills_the_process_group(void **state)
{
	struct fixture *f = *state;
	/* The grandchild's pid goes to a file: it must die with its parent. */
	const char *argv[] = {"sh", "-c", "sleep 10 & echo $! > \"$1\"; wait", "sh", f->file, NULL};
	char err[512] = "", stat_path[64], *pid;
	double t0 = now_s();
	int rc = pipe_deliver(argv, -1, NULL, 0, 1, err, sizeof(err));
	double spent = now_s() - t0;

	assert_int_equal(rc, RES_TEMP);
	assert_non_null(strstr(err, "timed out after 1 s"));
	assert_true(spent >= 0.9 && spent < 5.0);
	pid = slurp(f->file, NULL);
	assert_non_null(pid);
	pid[strcspn(pid, "\n")] = '\0';
	assert_true(pid[0] != '\0');
	/* Gone, or a zombie waiting for init: either way no longer running. */
	snprintf(stat_path, sizeof(stat_path), "/proc/%s/stat", pid);
	for (int i = 0; i < 50 && running(stat_path); i++)
		usleep(20000);
	assert_false(running(stat_path));
	free(pid);
}

static void sleeping_command_with_big_stdin_times_out(void **state)
{
	const char *argv[] = {"sleep", "10", NULL};
	size_t len = 4 * 1024 * 1024;
	char *msg = xcalloc(1, len), err[512] = "";
	double t0 = now_s();

	(void)state;
	/* The pipe fills up and stays full: the deadline still applies. */
	assert_int_equal(pipe_deliver(argv, -1, msg, len, 1, err, sizeof(err)), RES_TEMP);
	assert_true(now_s() - t0 < 5.0);
	assert_non_null(strstr(err, "timed out"));
	free(msg);
}

/* A message with every byte value, CR, LF, NUL, bigger than a pipe buffer. */
static char *make_message(size_t len)
{
	char *m = xmalloc(len);

	for (size_t i = 0; i < len; i++)
		m[i] = (char)((i * 7 + i / 251) & 0xff);
	return m;
}

static void stdin_bytes_arrive_exactly_from_memory(void **state)
{
	struct fixture *f = *state;
	const char *argv[] = {"tee", f->file, NULL};
	size_t len = 1024 * 1024 + 17, got_len = 0;
	char *msg = make_message(len), err[512] = "", *got;

	assert_int_equal(pipe_deliver(argv, -1, msg, len, 10, err, sizeof(err)), RES_OK);
	got = slurp(f->file, &got_len);
	assert_non_null(got);
	assert_int_equal(got_len, len);
	assert_memory_equal(got, msg, len);
	free(got);
	free(msg);
}

static void stdin_bytes_arrive_exactly_from_a_file(void **state)
{
	struct fixture *f = *state;
	const char *argv[] = {"tee", f->file, NULL};
	size_t len = 300000 + 3, got_len = 0;
	char *msg = make_message(len), err[512] = "", *got, path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/msg", f->dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, msg, len), (ssize_t)len);
	/* The file offset is at the end: the pipe must read from 0 regardless. */
	assert_int_equal(pipe_deliver(argv, fd, NULL, len, 10, err, sizeof(err)), RES_OK);
	got = slurp(f->file, &got_len);
	assert_non_null(got);
	assert_int_equal(got_len, len);
	assert_memory_equal(got, msg, len);
	free(got);
	free(msg);
	close(fd);
}

static void short_message_file_is_a_failure_not_a_truncated_delivery(void **state)
{
	struct fixture *f = *state;
	const char *argv[] = {"cat", NULL};
	char err[512] = "", path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/msg", f->dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "short\n", 6), 6);
	assert_int_equal(pipe_deliver(argv, fd, NULL, 100000, 10, err, sizeof(err)), RES_TEMP);
	assert_non_null(strstr(err, "cannot read the message"));
	close(fd);
}

static void command_that_ignores_stdin_and_exits_0_is_delivered(void **state)
{
	const char *argv[] = {"true", NULL};
	size_t len = 8 * 1024 * 1024;
	char *msg = xcalloc(1, len), err[512] = "";
	struct sigaction sa;

	(void)state;
	/* No SIGPIPE death on the write after `true` has gone. */
	assert_int_equal(pipe_deliver(argv, -1, msg, len, 10, err, sizeof(err)), RES_OK);
	/* And the caller's SIGPIPE disposition is given back. */
	sigaction(SIGPIPE, NULL, &sa);
	assert_ptr_equal(sa.sa_handler, SIG_DFL);
	free(msg);
}

/* Runs argv with fd 2 sent to dir/log; returns what was logged. */
static char *run_logged(struct fixture *f, const char *const *argv, int *rc, char *err,
                        size_t errlen)
{
	char path[PATH_MAX];
	int saved = dup(STDERR_FILENO), fd;

	snprintf(path, sizeof(path), "%s/log", f->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	*rc = pipe_deliver(argv, -1, "x\n", 2, 10, err, errlen);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	return slurp(path, NULL);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static void stderr_is_captured_capped_and_logged_with_the_command(void **state)
{
	struct fixture *f = *state;
	/* About 190 KB of stderr: more than a pipe buffer, far past the cap. */
	const char *argv[] = {"sh", "-c", "seq 1 30000 >&2; exit 3", NULL};
	char err[512] = "", *log;
	int rc;

	log = run_logged(f, argv, &rc, err, sizeof(err));
	assert_int_equal(rc, RES_TEMP);
	assert_string_equal(err, "pipe 'sh': exited with 3: 1");
	assert_non_null(log);
	assert_non_null(strstr(log, "corral: warning: pipe 'sh': 1\n"));
	assert_non_null(strstr(log, "corral: warning: pipe 'sh': 1000\n"));
	/* 4096 bytes of "1\n".."1000\n"...: about 900 lines, never 30000. */
	assert_null(strstr(log, "pipe 'sh': 30000\n"));
	assert_true(count_lines(log) > 800 && count_lines(log) < 1100);
	free(log);
}

static void child_gets_a_clean_environment_plus_the_callers(void **state)
{
	struct fixture *f = *state;
	const char *argv[] = {"sh", "-c", "env > \"$1\"", "sh", f->file, NULL};
	const char *env[] = {"CORRAL_ACCOUNT=work", "CORRAL_FOLDER=Lists/foo", "not-a-var", NULL};
	struct spawn_params p = {.argv = argv, .fd = -1, .timeout_s = 5, .env = env};
	char err[512] = "", *got;

	setenv("CORRAL_TEST_SECRET", "hunter2", 1);
	assert_int_equal(spawn_run(&p, err, sizeof(err)), RES_OK);
	got = slurp(f->file, NULL);
	assert_non_null(got);
	assert_non_null(strstr(got, "CORRAL_ACCOUNT=work\n"));
	assert_non_null(strstr(got, "CORRAL_FOLDER=Lists/foo\n"));
	assert_non_null(strstr(got, "PATH="));
	assert_non_null(strstr(got, "HOME="));
	assert_null(strstr(got, "hunter2"));
	assert_null(strstr(got, "not-a-var"));
	free(got);
	/* keep_env (secret commands) passes everything through. */
	p.keep_env = true;
	assert_int_equal(spawn_run(&p, err, sizeof(err)), RES_OK);
	got = slurp(f->file, NULL);
	assert_non_null(strstr(got, "CORRAL_TEST_SECRET=hunter2\n"));
	free(got);
	unsetenv("CORRAL_TEST_SECRET");
}

static void child_has_only_stdio_and_stdout_is_dev_null(void **state)
{
	/* What the shell's own fd 1 is, reported through stderr. */
	const char *where[] = {"sh", "-c", "echo \"$(readlink /proc/$$/fd/1)\" >&2; exit 1", NULL};
	/* ls lists its own descriptors: stdio, and 3 for the directory it reads. */
	const char *fds[] = {"ls", "/proc/self/fd", NULL};
	int leak = open("/dev/null", O_RDONLY); /* not close-on-exec on purpose */
	char err[512] = "";
	struct buf out;
	struct spawn_params p = {.argv = fds, .fd = -1, .timeout_s = 5, .out = &out};

	(void)state;
	assert_true(leak > 2);
	assert_int_equal(pipe_deliver(where, -1, "m\n", 2, 5, err, sizeof(err)), RES_TEMP);
	assert_string_equal(err, "pipe 'sh': exited with 1: /dev/null");
	buf_init(&out, 1000);
	assert_int_equal(spawn_run(&p, err, sizeof(err)), RES_OK);
	assert_string_equal(buf_cstr(&out), "0\n1\n2\n3\n");
	buf_free(&out);
	close(leak);
}

static void stdout_is_captured_up_to_the_buffer_cap(void **state)
{
	const char *echo[] = {"sh", "-c", "cat; echo ' secret'", NULL};
	const char *flood[] = {"seq", "1", "100000", NULL};
	struct buf out;
	struct spawn_params p = {
	    .argv = echo, .fd = -1, .data = "top", .len = 3, .timeout_s = 5, .out = &out};
	char err[512] = "";

	(void)state;
	buf_init(&out, 100);
	assert_int_equal(spawn_run(&p, err, sizeof(err)), RES_OK);
	assert_string_equal(buf_cstr(&out), "top secret\n");
	buf_reset(&out);
	p.argv = flood;
	assert_int_equal(spawn_run(&p, err, sizeof(err)), RES_TEMP);
	assert_non_null(strstr(err, "printed more than 100 bytes"));
	assert_int_equal(out.len, 100);
	buf_wipe(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(exit_status_table),
	    cmocka_unit_test_setup_teardown(timeout_kills_the_process_group, setup, teardown),
	    cmocka_unit_test(sleeping_command_with_big_stdin_times_out),
	    cmocka_unit_test_setup_teardown(stdin_bytes_arrive_exactly_from_memory, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(stdin_bytes_arrive_exactly_from_a_file, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(
	        short_message_file_is_a_failure_not_a_truncated_delivery, setup, teardown),
	    cmocka_unit_test(command_that_ignores_stdin_and_exits_0_is_delivered),
	    cmocka_unit_test_setup_teardown(stderr_is_captured_capped_and_logged_with_the_command,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(child_gets_a_clean_environment_plus_the_callers, setup,
	                                    teardown),
	    cmocka_unit_test(child_has_only_stdio_and_stdout_is_dev_null),
	    cmocka_unit_test(stdout_is_captured_up_to_the_buffer_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
