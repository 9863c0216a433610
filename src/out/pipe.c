/*
 * The `pipe` action (pipe.h).
 */
#include "out/pipe.h"

#include "util/spawn.h"

enum res_kind pipe_deliver(const char *const *argv, int fd, const void *data, size_t len,
                           unsigned timeout_s, char *err, size_t errlen)
{
	struct spawn_params p = {
	    .argv = argv, .fd = fd, .data = data, .len = len, .timeout_s = timeout_s};

	return spawn_run(&p, err, errlen) == RES_OK ? RES_OK : RES_TEMP;
}
