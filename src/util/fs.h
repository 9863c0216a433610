/*
 * File-system helpers for durable state: directories whose creation
 * survives a crash. Each returns 0, or -1 with errno set.
 */
#ifndef CORRAL_FS_H
#define CORRAL_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* fsync() of a directory by path. */
int fs_fsync_dir(const char *path);
/* fsync() of the directory holding path ("." for a bare name). */
int fs_fsync_parent(const char *path);
/* mkdir -p with mode; the parent of each directory made is fsynced. */
int fs_mkdir_p(const char *path, mode_t mode);

/*
 * Replaces path with data[0..len) whole: written to a new file next to it,
 * then rename()d, so a reader sees the old file or the new one, never half
 * of one. With sync, the new file is fsynced before the rename.
 */
int fs_replace_file(const char *path, const void *data, size_t len, bool sync);

/* rm -r: the tree at path, depth first, symbolic links not followed. */
int fs_remove_tree(const char *path);

/* A monotonic clock in milliseconds, for timeouts and schedules. */
uint64_t fs_now_ms(void);

#endif
