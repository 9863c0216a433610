/*
 * What other mail tools recorded as already fetched, read from their state
 * files for `corral import` (corral(1)): fetchmail's .fetchids, mpop's UIDL
 * files, getmail's oldmail-* files and mbsync's .mbsyncstate. Each parser
 * turns one file's text into a list of ids (POP3 UIDLs, or IMAP UIDs with
 * their folder's UIDVALIDITY); cli/cmd-import.c matches them to accounts
 * and records them in the journal (store/journal.h).
 *
 * A parser either adds every entry of the file or, on a malformed line,
 * nothing: it returns -1 with "FILE:LINE: what was expected" in err. An
 * entry the file holds but that must not be marked seen (an older
 * UIDVALIDITY, a message mbsync never copied) is listed with the reason in
 * skip, so that the caller can count it.
 *
 * Memory: a list owns its entries and their strings (import_list_free());
 * the skip texts are static.
 */
#ifndef CORRAL_IMPORT_H
#define CORRAL_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Caps: a state file (whole), one line of it. */
#define IMPORT_FILE_MAX (256u << 20)
#define IMPORT_LINE_MAX 4096

struct import_entry {
	char *user;           /* fetchmail, mpop: whose id it is; NULL when the file does not say */
	char *host;           /* fetchmail, mpop: the server's name as the tool was told it */
	char *id;             /* a POP3 UIDL, or an IMAP UID in decimal */
	uint32_t uidvalidity; /* IMAP: the folder's UIDVALIDITY when id was seen; POP3 0 */
	int64_t stamp;        /* getmail: when it was first seen (Unix time); else 0 */
	unsigned line;        /* where it is in the file */
	const char *skip;     /* why it must not be marked seen; NULL when it may */
};

struct import_list {
	struct import_entry *v;
	size_t n, cap;
};

void import_list_free(struct import_list *l);

/* Reads a whole state file (at most IMPORT_FILE_MAX bytes) into *text
 * (NUL-terminated, the caller frees it). -1 with err set on failure. */
int import_read_file(const char *path, char **text, size_t *len, char *err, size_t errlen);

/* fetchmail's .fetchids: "USER@HOST UIDL" lines (USER may hold blanks and '@'). */
int import_parse_fetchmail(const char *file, const char *text, size_t len, struct import_list *out,
                           char *err, size_t errlen);

/* mpop's UIDLs file: " COUNT HOST USER" heads a list of COUNT UIDLs, one a
 * line; lines starting with '#' are comments. */
int import_parse_mpop(const char *file, const char *text, size_t len, struct import_list *out,
                      char *err, size_t errlen);

/*
 * getmail's oldmail file: "ID NUL TIMESTAMP" lines. imap: the file of an
 * IMAP retriever (one per folder), whose ids are "UIDVALIDITY/UID" (or the
 * pre-4.22 "UIDVALIDITY/FOLDER/UID"); ids of a UIDVALIDITY older than the
 * file's newest are listed as skipped.
 */
int import_parse_getmail(const char *file, const char *text, size_t len, bool imap,
                         struct import_list *out, char *err, size_t errlen);

/*
 * The name getmail gives the oldmail file of a retriever: "oldmail-HOST-PORT-USER",
 * and "-FOLDER" for an IMAP folder (NULL for POP3), with the characters it
 * strips replaced as it does. The caller frees it.
 */
char *import_getmail_name(const char *host, int port, const char *user, const char *folder);

/*
 * mbsync's sync state (isync 1.x, the pre-1.1 header too): a header of
 * "Key VALUE" lines up to a blank line, then "FARUID NEARUID [FLAGS]"
 * lines. The far side's UIDs that have a full copy on the near side are
 * seen, with the header's FarUidValidity; the others are listed as skipped.
 */
int import_parse_mbsync(const char *file, const char *text, size_t len, struct import_list *out,
                        char *err, size_t errlen);

/*
 * The far-side folder a global SyncState file is named after
 * (":FARSTORE:FARBOX_:NEARSTORE:NEARBOX", '/' written as '!'), or NULL when
 * base is not such a name. The caller frees it.
 */
char *import_mbsync_far_box(const char *base);

/* True when id is what corral's POP3 source can see as a UIDL (RFC 1939:
 * 1 to 70 bytes from 0x21 to 0x7e). */
bool import_uidl_valid(const char *id, size_t len);

#endif
