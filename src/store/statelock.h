/*
 * One corral at a time per state directory: `corral run` holds
 * STATE/corral.lock (flock) for its whole life, `corral fetch` for its run.
 * The file holds the holder's pid and command, so that the one refused can
 * say who holds it. The lock goes with the process (and its children,
 * which inherit the descriptor): a kill -9 leaves no stale lock.
 */
#ifndef CORRAL_STATELOCK_H
#define CORRAL_STATELOCK_H

#include <sys/types.h>

/*
 * Takes the lock of state_dir (created when missing) for `what` ("run",
 * "fetch"). Returns the lock's descriptor (close it to let go; children
 * inherit it), -1 with *holder (pid, 0 when unknown) and holder_what
 * filled when another process holds it, or -2 with errno on an error.
 */
int statelock_take(const char *state_dir, const char *what, pid_t *holder, char *holder_what,
                   size_t holder_len);

#endif
