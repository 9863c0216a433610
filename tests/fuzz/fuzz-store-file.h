/* What the store file targets share: a scratch folder per process, and a
 * file in it holding the fuzzed bytes. */
#ifndef CORRAL_FUZZ_STORE_FILE_H
#define CORRAL_FUZZ_STORE_FILE_H

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fz_dir_path[256];

/* Removes the scratch folder and the files the targets left in it. */
static void fz_dir_remove(void)
{
	DIR *d = opendir(fz_dir_path);
	struct dirent *e;

	while (d != NULL && (e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' || (e->d_name[1] != '\0' && strcmp(e->d_name, "..") != 0))
			unlinkat(dirfd(d), e->d_name, 0);
	if (d != NULL)
		closedir(d);
	rmdir(fz_dir_path);
}

/* The scratch folder (made once, under TMPDIR or /tmp, removed at exit). */
static const char *fz_dir(void)
{
	char *dir = fz_dir_path;

	if (dir[0] == '\0') {
		const char *t = getenv("TMPDIR");

		snprintf(dir, sizeof(fz_dir_path), "%s/corral-fuzz-XXXXXX", t ? t : "/tmp");
		if (mkdtemp(dir) == NULL)
			abort();
		atexit(fz_dir_remove);
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
