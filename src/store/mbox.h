/*
 * Reading messages that are already on disk, for `corral test` and
 * `corral refile`: a file holding one message, an mbox file (mboxrd: each
 * message after a "From " line, ">From " lines unquoted in the parsed
 * copy), or a Maildir folder (the files of its new/ and cur/).
 *
 * Memory: a struct mfile owns its bytes; a message returned by
 * mbox_next() points into the mfile or into the mbox's own buffer and stays
 * valid until the next mbox_next() or mbox_close(). Strings in a struct
 * mdir_list belong to the list.
 */
#ifndef CORRAL_MBOX_H
#define CORRAL_MBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/flags.h"

/* A file larger than this is refused rather than read into memory. */
#define MFILE_MAX ((size_t)2 << 30)
/* Files one Maildir folder listing may hold. */
#define MDIR_MAX_FILES 10000000

/* A whole file in memory (NUL-terminated; the NUL is not counted in len). */
struct mfile {
	char *data;
	size_t len;
};

/* Reads path. Returns 0, or -1 with err set ("PATH: reason"). */
int mfile_read(const char *path, struct mfile *f, char *err, size_t errlen);
void mfile_free(struct mfile *f);

/* True when data starts with an mbox "From " separator line. */
bool mbox_sniff(const char *data, size_t len);

/*
 * An iterator over the messages of data[0..len) (usually an mfile, which
 * must outlive it). Data that does not start with "From " is one message:
 * the whole of it. A separator is a line starting with "From " that starts
 * the data or follows an empty line; the empty line before it belongs to
 * the mbox, not to the message. Both LF and CRLF line ends are handled.
 */
struct mbox;
struct mbox *mbox_new(const char *data, size_t len);
/* 1 with the next message in *msg and *len, 0 after the last one. */
int mbox_next(struct mbox *mb, const char **msg, size_t *len);
/* 1-based number of the message last returned (0 before the first). */
size_t mbox_index(const struct mbox *mb);
/* True when the data is an mbox (started with "From "). */
bool mbox_is_mbox(const struct mbox *mb);
void mbox_close(struct mbox *mb);

/* One message file of a Maildir folder. */
struct mdir_entry {
	char *path;     /* DIR/new/FILE or DIR/cur/FILE */
	char *file;     /* the file name as it is in its directory */
	char *base;     /* the unique part: the file name up to its ":" */
	char *info;     /* the letters after ":2," (NULL when there are none) */
	unsigned flags; /* MAIL_FLAG_* from those letters */
	bool in_cur;
};

struct mdir_list {
	struct mdir_entry *v;
	size_t n;
};

/* True when path is a directory with new/ and cur/ subdirectories. */
bool mdir_is_folder(const char *path);
/*
 * Lists the message files of the folder at dir (new/ then cur/, each
 * sorted by name; dot files skipped). Returns 0, or -1 with err set.
 */
int mdir_list(const char *dir, struct mdir_list *out, char *err, size_t errlen);
void mdir_list_free(struct mdir_list *l);

#endif
