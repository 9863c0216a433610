/* What the store file targets share: a scratch folder per process, and a
 * file in it holding the fuzzed bytes. */
#ifndef CORRAL_FUZZ_STORE_FILE_H
#define CORRAL_FUZZ_STORE_FILE_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The scratch folder (made once, under TMPDIR or /tmp, removed at exit). */
static const char *fz_dir(void)
{
	static char dir[256];

	if (dir[0] == '\0') {
		const char *t = getenv("TMPDIR");

		snprintf(dir, sizeof(dir), "%s/corral-fuzz-XXXXXX", t ? t : "/tmp");
		if (mkdtemp(dir) == NULL)
			abort();
	}
	return dir;
}

/* Writes data[0..size) as the folder's file name. */
static void fz_put(const char *name, const void *data, size_t size)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", fz_dir(), name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
}

#endif
