/*
 * Folder names as users and rules write them ("Lists/corral-dev"): the
 * sanitising every writer of a folder name applies to each level, so that
 * no name taken from a message can leave the mail root.
 *
 * Memory: strings returned belong to the caller.
 */
#ifndef CORRAL_MAIL_FOLDER_H
#define CORRAL_MAIL_FOLDER_H

#include <stddef.h>

struct buf;

/*
 * Appends one level (n bytes of s) to out, sanitised: control characters
 * and "/" dropped, leading dots dropped, inner dots made "_" (so ".." can
 * never survive). Returns the bytes appended, or -1 past the buffer's cap.
 */
long folder_put_level(struct buf *out, const char *s, size_t n);

/* Sanitises one value captured from a message (a rule's $1) before it is
 * put into a folder name: no "/", no "..", no leading dot, no control
 * characters, a dot becomes "_". Never returns an empty string ("_"). */
char *folder_sanitise_component(const char *s);

#endif
