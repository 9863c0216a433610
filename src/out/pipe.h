/*
 * The `pipe` action: a command (no shell) with the message on its stdin,
 * run through util/spawn.h with a clean environment.
 *
 * A failing pipe is always a temporary failure (DESIGN.md section 4): a
 * non-zero exit, a signal, the timeout, or a command that cannot be run.
 *
 * Memory: nothing returned is owned by this module; arguments are only read.
 */
#ifndef CORRAL_OUT_PIPE_H
#define CORRAL_OUT_PIPE_H

#include <stddef.h>

#include "util/result.h"

/*
 * Runs argv with the message (file fd from offset 0, len bytes; or data in
 * memory when fd < 0) on stdin, at most timeout_s (0: the default). Returns
 * RES_OK when it exited 0, else RES_TEMP with err set to one line such as
 * "pipe 'spamc': exited with 1: <first line of its stderr>".
 */
enum res_kind pipe_deliver(const char *const *argv, int fd, const void *data, size_t len,
                           unsigned timeout_s, char *err, size_t errlen);

#endif
