/*
 * File-system helpers for durable state: directories whose creation
 * survives a crash. Each returns 0, or -1 with errno set.
 */
#ifndef CORRAL_FS_H
#define CORRAL_FS_H

#include <sys/types.h>

/* fsync() of a directory by path. */
int fs_fsync_dir(const char *path);
/* fsync() of the directory holding path ("." for a bare name). */
int fs_fsync_parent(const char *path);
/* mkdir -p with mode; the parent of each directory made is fsynced. */
int fs_mkdir_p(const char *path, mode_t mode);

#endif
