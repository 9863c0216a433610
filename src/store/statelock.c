#include "store/statelock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/log.h"

int statelock_take(const char *state_dir, const char *what, pid_t *holder, char *holder_what,
                   size_t holder_len)
{
	char *path, line[128];
	int fd, n;

	*holder = 0;
	snprintf(holder_what, holder_len, "?");
	if (fs_mkdir_p(state_dir, 0700) < 0)
		return -2;
	path = xasprintf("%s/corral.lock", state_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(path);
	if (fd < 0)
		return -2;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		long pid = 0;
		char who[32];

		if (e != EWOULDBLOCK) {
			close(fd);
			errno = e;
			return -2;
		}
		/* The holder writes its pid just after it locks: give it 100 ms. */
		for (int i = 0; i < 20 && pid == 0; i++) {
			ssize_t got = pread(fd, line, sizeof(line) - 1, 0);

			line[got > 0 ? got : 0] = '\0';
			if (sscanf(line, "%ld %31s", &pid, who) != 2)
				pid = 0;
			else
				snprintf(holder_what, holder_len, "%s", who);
			if (pid == 0)
				usleep(5000);
		}
		close(fd);
		*holder = (pid_t)pid;
		return -1;
	}
	/* Children inherit it (fetch processes of `corral run`); exec does not. */
	n = snprintf(line, sizeof(line), "%ld %s\n", (long)getpid(), what);
	if (ftruncate(fd, 0) < 0 || pwrite(fd, line, (size_t)n, 0) != n)
		log_warn("%s/corral.lock: cannot write the pid: %s", state_dir, strerror(errno));
	return fd;
}
