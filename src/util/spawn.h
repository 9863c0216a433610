/*
 * Runs a command (no shell) with some bytes on its stdin, under a time
 * limit: what the `pipe` action (out/pipe.h) and the secret commands
 * (password_command, oauth2_token_command) are built on.
 *
 * The child runs in its own process group with a clean environment (HOME,
 * PATH and what the caller adds, e.g. CORRAL_ACCOUNT=work), stdout on
 * /dev/null (or captured, for secret commands), every other descriptor
 * closed. Its stderr is captured (first SPAWN_STDERR_MAX bytes) and logged
 * with the command's name. The timeout is a poll() deadline; past it the
 * whole process group is killed (SIGKILL). SIGPIPE is ignored while the
 * message is written, so a command that exits without reading its stdin
 * is judged by its exit status alone.
 *
 * A non-zero exit, a signal, the timeout, or a command that cannot be run
 * is a temporary failure (RES_TEMP).
 *
 * Memory: nothing returned is owned by this module; params are only read.
 */
#ifndef CORRAL_UTIL_SPAWN_H
#define CORRAL_UTIL_SPAWN_H

#include <stdbool.h>
#include <stddef.h>

#include "util/result.h"

#include "util/buf.h"

/* The child's stderr is kept (and logged) up to this many bytes. */
#define SPAWN_STDERR_MAX 4096
/* Used when spawn_params.timeout_s is 0. */
#define SPAWN_DEFAULT_TIMEOUT 300

struct spawn_params {
	const char *const *argv; /* NULL-terminated; argv[0] is searched in PATH */
	/* The message for stdin: a file read from offset 0 (fd >= 0, len bytes),
	 * or data/len in memory (fd < 0), or nothing (fd < 0, data NULL):
	 * stdin is then /dev/null. */
	int fd;
	const void *data;
	size_t len;
	unsigned timeout_s;     /* 0: SPAWN_DEFAULT_TIMEOUT */
	const char *const *env; /* extra "NAME=value" for the child, NULL-terminated, or NULL */
	bool keep_env;          /* inherit corral's whole environment (secret commands) */
	struct buf *out;        /* NULL: stdout to /dev/null; else stdout is appended here,
	                           up to the buffer's max (more is an error) */
	bool quiet;             /* do not log the child's stderr (secret commands) */
};

/*
 * Runs p->argv with the message on stdin and waits for it. Returns RES_OK
 * when it exited 0, else RES_TEMP with err set to one line such as
 * "pipe 'spamc': exited with 1: <first line of its stderr>" (sanitised).
 */
int spawn_run(const struct spawn_params *p, char *err, size_t errlen);

/*
 * Runs a secret command (password_command, oauth2_token_command): no shell,
 * corral's environment, its stderr not logged, at most timeout_s. Returns
 * the first line of its stdout (free it with secret_free), or NULL with
 * err set ("failed", "printed nothing"...). Every copy is wiped.
 */
char *spawn_secret(char *const *argv, unsigned timeout_s, char *err, size_t errlen);

#endif
