/*
 * A selected folder as the IMAP server sees it: the messages of one
 * Maildir++ folder in UID order (store/uidlist.h, Dovecot's UIDs), with
 * their flags from the file names, their sizes and dates from stat(), and
 * the keywords of dovecot-keywords. Opening reads no message file.
 *
 * Memory: a view owns everything in it; view_close() frees it.
 */
#ifndef CORRAL_IMAPD_VIEW_H
#define CORRAL_IMAPD_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store/uidlist.h"

struct view_msg {
	uint32_t uid;
	char *path;         /* the file, absolute */
	char flags[32];     /* the letters after ":2," (DFPRST and keyword letters) */
	uint64_t size;      /* on disk (LF line ends) */
	uint64_t crlf_size; /* RFC822.SIZE once known; 0 until then */
	time_t internal;    /* the file's mtime */
	bool recent;        /* in new/ */
};

struct view {
	char *dir; /* the folder's directory */
	uint32_t uidvalidity, uidnext;
	struct view_msg *msgs; /* msgs[seq - 1] */
	size_t n;
	struct keywords kw;
};

/*
 * The directory of an IMAP folder name (modified UTF-7, as on the wire)
 * under root: "INBOX" is root, "A/B" is root/.A.B, as Dovecot's Maildir++
 * with "/" as the separator. NULL for a name that is not valid modified
 * UTF-7 (mail/mutf7.h) or would leave root: a leading, trailing or doubled
 * "/", a "." in a level, control characters.
 */
char *view_folder_dir(const char *root, const char *name);

/* Opens the folder at dir (which must exist). 0, or -1 with err. */
int view_open(const char *dir, struct view *v, char *err, size_t errlen);
void view_close(struct view *v);

#endif
