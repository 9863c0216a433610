#include "util/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/str.h"

/* The message goes to the child in chunks of this size. */
#define PIPE_CHUNK 65536
/* Without a pidfd, the child's exit is looked for this often (ms). */
#define PIPE_TICK_MS 50
/* Extra environment entries accepted from the caller. */
#define PIPE_MAX_ENV 32

/* One running child and the parent's ends of its pipes (-1 when closed). */
struct child {
	pid_t pid;
	int pidfd;
	int in, err, out;
	int status;
	bool exited, timed_out, read_failed, out_overflow;
	size_t sent; /* bytes of the message written to in */
	struct buf errbuf;
	char chunk[PIPE_CHUNK];
	size_t chunk_off, chunk_len;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* HOME, PATH and the caller's NAME=value entries; the strings are borrowed. */
static void build_env(const struct spawn_params *p, const char **envp, char *home, char *path)
{
	const char *h = getenv("HOME"), *pa = getenv("PATH");
	size_t n = 0;

	snprintf(home, 4096, "HOME=%s", h != NULL ? h : "/");
	snprintf(path, 4096, "PATH=%s", pa != NULL ? pa : "/usr/local/bin:/usr/bin:/bin");
	envp[n++] = home;
	envp[n++] = path;
	for (size_t i = 0; p->env != NULL && p->env[i] != NULL && i < PIPE_MAX_ENV; i++)
		if (strchr(p->env[i], '=') != NULL)
			envp[n++] = p->env[i];
	envp[n] = NULL;
}

/* A descriptor above stderr, so that the dup2() calls cannot clobber each other. */
static int above_stdio(int fd)
{
	return fd >= 0 && fd <= STDERR_FILENO ? fcntl(fd, F_DUPFD, STDERR_FILENO + 1) : fd;
}

/* In the child: only async-signal-safe calls from here to exec. */
static void child_exec(const struct spawn_params *p, const char **envp, int in, int out, int err,
                       int report)
{
	int null = above_stdio(open("/dev/null", O_RDWR));
	sigset_t none;
	int e;

	in = above_stdio(in);
	out = above_stdio(out);
	err = above_stdio(err);
	setpgid(0, 0);
	dup2(in >= 0 ? in : null, STDIN_FILENO);
	dup2(out >= 0 ? out : null, STDOUT_FILENO);
	dup2(err, STDERR_FILENO);
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Nothing of corral's (sockets, Maildir files) reaches the command. */
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	if (p->keep_env)
		execvp(p->argv[0], (char *const *)p->argv);
	else
		execvpe(p->argv[0], (char *const *)p->argv, (char *const *)envp);
	e = errno;
	if (write(report, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

static int make_pipe(int fds[2], bool wanted)
{
	fds[0] = fds[1] = -1;
	return wanted ? pipe2(fds, O_CLOEXEC) : 0;
}

static void close_pair(int fds[2])
{
	close_fd(&fds[0]);
	close_fd(&fds[1]);
}

/*
 * Forks and execs. Returns 0, or -1 with err set (nothing left running).
 * The exec result comes back through a close-on-exec pipe: EOF means the
 * command runs, an errno means it could not be started.
 */
static int spawn(const struct spawn_params *p, struct child *c, char *err, size_t errlen)
{
	bool has_msg = p->fd >= 0 || p->data != NULL;
	int in[2], out[2], er[2], rep[2], e = 0;
	const char *envp[PIPE_MAX_ENV + 3];
	char home[4096], path[4096];
	ssize_t r;

	build_env(p, envp, home, path);
	if (make_pipe(in, has_msg) < 0 || make_pipe(out, p->out != NULL) < 0 ||
	    make_pipe(er, true) < 0 || make_pipe(rep, true) < 0) {
		snprintf(err, errlen, "pipe '%s': pipe: %s", p->argv[0], strerror(errno));
		goto fail;
	}
	c->pid = fork();
	if (c->pid == 0)
		child_exec(p, envp, in[0], out[1], er[1], rep[1]);
	if (c->pid < 0) {
		snprintf(err, errlen, "pipe '%s': fork: %s", p->argv[0], strerror(errno));
		goto fail;
	}
	/* Also here: the kill on a timeout must not race the child's setpgid. */
	setpgid(c->pid, c->pid);
	close_fd(&in[0]);
	close_fd(&out[1]);
	close_fd(&er[1]);
	close_fd(&rep[1]);
	do
		r = read(rep[0], &e, sizeof(e));
	while (r < 0 && errno == EINTR);
	close_fd(&rep[0]);
	c->in = in[1];
	c->out = out[0];
	c->err = er[0];
	if (r == (ssize_t)sizeof(e)) {
		while (waitpid(c->pid, &c->status, 0) < 0 && errno == EINTR)
			;
		snprintf(err, errlen, "pipe '%s': cannot run: %s", p->argv[0], strerror(e));
		close_fd(&c->in);
		close_fd(&c->out);
		close_fd(&c->err);
		return -1;
	}
	return 0;
fail:
	close_pair(in);
	close_pair(out);
	close_pair(er);
	close_pair(rep);
	return -1;
}

static long ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? ms : 0;
}

/* Refills the chunk from the message. -1 when the message file cannot be read. */
static int refill(const struct spawn_params *p, struct child *c)
{
	size_t want = p->len - c->sent < PIPE_CHUNK ? p->len - c->sent : PIPE_CHUNK;
	ssize_t r;

	c->chunk_off = 0;
	if (p->fd < 0) {
		memcpy(c->chunk, (const char *)p->data + c->sent, want);
		c->chunk_len = want;
		return 0;
	}
	do
		r = pread(p->fd, c->chunk, want, (off_t)c->sent);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return -1;
	c->chunk_len = (size_t)r;
	return 0;
}

/* Writes what the pipe takes now; closes it at the end or when the reader is gone. */
static void feed(const struct spawn_params *p, struct child *c)
{
	ssize_t w;

	if (c->chunk_off == c->chunk_len && c->sent < p->len && refill(p, c) < 0) {
		c->read_failed = true;
		close_fd(&c->in);
		return;
	}
	if (c->chunk_off < c->chunk_len) {
		w = write(c->in, c->chunk + c->chunk_off, c->chunk_len - c->chunk_off);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (w < 0) {
			/* EPIPE: the command did not want (all of) it; its exit status decides. */
			close_fd(&c->in);
			return;
		}
		c->chunk_off += (size_t)w;
		c->sent += (size_t)w;
	}
	if (c->sent == p->len && c->chunk_off == c->chunk_len)
		close_fd(&c->in);
}

/* Reads what is there from fd into b (past its cap: counted as overflow). */
static void drain(int *fd, struct buf *b, bool *overflow)
{
	char tmp[4096];
	ssize_t r;

	while (*fd >= 0) {
		r = read(*fd, tmp, sizeof(tmp));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return;
		if (r <= 0) {
			close_fd(fd);
			return;
		}
		if (b == NULL)
			continue;
		size_t room = b->max - b->len;

		if ((size_t)r > room && overflow != NULL)
			*overflow = true;
		buf_append(b, tmp, (size_t)r < room ? (size_t)r : room);
	}
}

static void reap(struct child *c, int flags)
{
	pid_t r;

	do
		r = waitpid(c->pid, &c->status, flags);
	while (r < 0 && errno == EINTR);
	if (r == c->pid || (r < 0 && errno == ECHILD))
		c->exited = true;
}

static void kill_group(struct child *c)
{
	kill(-c->pid, SIGKILL);
	kill(c->pid, SIGKILL);
	reap(c, 0);
}

/* One round of poll(): the pipes and the child's exit, within the deadline. */
static void step(const struct spawn_params *p, struct child *c, long left)
{
	struct pollfd pf[4];
	int n = 0, ins = -1, errs = -1, outs = -1;
	long wait = c->pidfd >= 0 ? left : (left < PIPE_TICK_MS ? left : PIPE_TICK_MS);

	if (c->in >= 0)
		ins = n, pf[n++] = (struct pollfd){.fd = c->in, .events = POLLOUT};
	if (c->err >= 0)
		errs = n, pf[n++] = (struct pollfd){.fd = c->err, .events = POLLIN};
	if (c->out >= 0)
		outs = n, pf[n++] = (struct pollfd){.fd = c->out, .events = POLLIN};
	if (c->pidfd >= 0)
		pf[n++] = (struct pollfd){.fd = c->pidfd, .events = POLLIN};
	if (poll(pf, (nfds_t)n, (int)wait) <= 0) {
		reap(c, WNOHANG);
		return;
	}
	if (ins >= 0 && pf[ins].revents != 0)
		feed(p, c);
	if (errs >= 0 && pf[errs].revents != 0)
		drain(&c->err, &c->errbuf, NULL);
	if (outs >= 0 && pf[outs].revents != 0)
		drain(&c->out, p->out, &c->out_overflow);
	reap(c, WNOHANG);
}

/* Feeds the message and collects output until the child is gone or time is up. */
static void supervise(const struct spawn_params *p, struct child *c)
{
	unsigned t = p->timeout_s != 0 ? p->timeout_s : SPAWN_DEFAULT_TIMEOUT;
	struct timespec deadline;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += t;
	/* A blocking stdin could outlast the deadline: give up on the delivery. */
	if (c->in >= 0 && fcntl(c->in, F_SETFL, O_NONBLOCK) < 0)
		c->read_failed = true;
	if (c->err >= 0)
		fcntl(c->err, F_SETFL, O_NONBLOCK);
	if (c->out >= 0)
		fcntl(c->out, F_SETFL, O_NONBLOCK);
	c->pidfd = pidfd_open(c->pid, 0);
	while (!c->exited && !c->read_failed) {
		long left = ms_left(&deadline);

		if (left == 0) {
			c->timed_out = true;
			break;
		}
		step(p, c, left);
	}
	if (!c->exited)
		kill_group(c);
	/* What the child wrote before it exited (a grandchild may hold the pipes). */
	drain(&c->err, &c->errbuf, NULL);
	drain(&c->out, p->out, &c->out_overflow);
	close_fd(&c->in);
	close_fd(&c->err);
	close_fd(&c->out);
	close_fd(&c->pidfd);
}

static void log_stderr(const char *cmd, struct buf *b, bool failed)
{
	const char *s = buf_cstr(b), *end;
	char line[512];

	while (*s != '\0') {
		end = strchr(s, '\n');
		if (end == NULL)
			end = s + strlen(s);
		str_sanitise(line, sizeof(line), s, (size_t)(end - s));
		if (line[0] != '\0')
			log_msg(failed ? LOG_WARN : LOG_INFO, "pipe '%s': %s", cmd, line);
		s = *end == '\n' ? end + 1 : end;
	}
}

/* The verdict in err: why it failed and the first line of its stderr. */
static int verdict(const struct spawn_params *p, struct child *c, char *err, size_t errlen)
{
	const char *cmd = p->argv[0], *first = buf_cstr(&c->errbuf);
	char why[128], line[200];
	unsigned t = p->timeout_s != 0 ? p->timeout_s : SPAWN_DEFAULT_TIMEOUT;

	if (c->timed_out)
		snprintf(why, sizeof(why), "timed out after %u s (killed)", t);
	else if (c->read_failed)
		snprintf(why, sizeof(why), "cannot read the message (stopped)");
	else if (WIFSIGNALED(c->status))
		snprintf(why, sizeof(why), "killed by signal %d", WTERMSIG(c->status));
	else if (WEXITSTATUS(c->status) != 0)
		snprintf(why, sizeof(why), "exited with %d", WEXITSTATUS(c->status));
	else if (c->out_overflow)
		snprintf(why, sizeof(why), "printed more than %zu bytes", p->out->max);
	else
		return RES_OK;
	str_sanitise(line, sizeof(line), first, strcspn(first, "\n"));
	snprintf(err, errlen, "pipe '%s': %s%s%s", cmd, why, line[0] != '\0' ? ": " : "", line);
	return RES_TEMP;
}

int spawn_run(const struct spawn_params *p, char *err, size_t errlen)
{
	struct child *c = xcalloc(1, sizeof(*c));
	struct sigaction ign = {.sa_handler = SIG_IGN}, old;
	int rc;

	if (p->argv == NULL || p->argv[0] == NULL || p->argv[0][0] == '\0') {
		snprintf(err, errlen, "pipe: no command");
		free(c);
		return RES_TEMP;
	}
	c->in = c->err = c->out = c->pidfd = -1;
	buf_init(&c->errbuf, SPAWN_STDERR_MAX);
	/* A command that exits without reading must not kill corral with SIGPIPE. */
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, &old);
	if (spawn(p, c, err, errlen) < 0) {
		rc = RES_TEMP;
	} else {
		supervise(p, c);
		rc = verdict(p, c, err, errlen);
		if (!p->quiet)
			log_stderr(p->argv[0], &c->errbuf, rc != RES_OK);
	}
	sigaction(SIGPIPE, &old, NULL);
	buf_free(&c->errbuf);
	free(c);
	return rc;
}

#define SECRET_MAX 16384

char *spawn_secret(char *const *argv, unsigned timeout_s, char *err, size_t errlen)
{
	struct buf out;
	struct spawn_params p = {.argv = (const char *const *)argv,
	                         .fd = -1,
	                         .timeout_s = timeout_s,
	                         .keep_env = true,
	                         .quiet = true,
	                         .out = &out};
	char *secret = NULL;

	err[0] = '\0';
	buf_init(&out, SECRET_MAX);
	if (spawn_run(&p, err, errlen) != RES_OK)
		;
	else if (out.len == 0 || strcspn(out.data, "\r\n") == 0)
		snprintf(err, errlen, "'%s' printed nothing", argv[0]);
	else
		secret = xstrndup(out.data, strcspn(out.data, "\r\n"));
	buf_wipe(&out);
	return secret;
}
