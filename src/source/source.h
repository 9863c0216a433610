/*
 * The interface every fetch backend implements (source-imap.c, source-pop3.c).
 *
 * A backend exports one const struct source_driver. The fetch pipeline drives
 * it in this order, on one connection, one folder at a time:
 *
 *   open -> { select -> (filter by the journal) -> fetch -> [commit batch
 *   durably -> delete] ... } per folder -> close
 *
 * IMAP folders are the account's `folders:`; POP3 has one pseudo-folder,
 * SOURCE_POP3_FOLDER. Message bodies go into files the caller provides
 * (src_sink.open; typically md_tmp_create()), byte-exact as the server
 * sent them: IMAP literals by their {n} counts, POP3 dot-unstuffed and
 * without the terminating ".". Nothing is ever fsynced here.
 *
 * Errors: every call that can fail returns 0 or -1 and fills a struct
 * result (util/result.h) saying how far the failure reaches and what kind
 * it is. The user text and what the server said are kept apart; neither
 * ever holds a secret. After an ACCOUNT-scope failure the session is out of step: every
 * further call fails at once and close() sends no goodbye.
 *
 * Memory: struct source is owned by the backend and freed by close().
 * The message list filled by select() belongs to the source and stays
 * valid until the next select() or close(). File descriptors given by the
 * sink belong to the caller: the source writes to them and never closes
 * them.
 */
#ifndef CORRAL_SOURCE_H
#define CORRAL_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/net.h"
#include "util/result.h"

#include "mail/flags.h"

struct account;
struct net;

#define SOURCE_POP3_FOLDER "INBOX"

struct src_params {
	const struct account *acct; /* host, port, tls, credentials, timeout, keep */
	/* --dry-run: nothing on the server changes (EXAMINE, delete() refused). */
	bool dry_run;
	/* Raised by a signal: every wait on the connection ends at once (net.h). */
	const net_stop_flag *stop;
	/* Per-message cap in bytes; 0 = SOURCE_DEFAULT_MAX_MESSAGE. A bigger
	 * message is a per-message, permanent error (it stays on the server). */
	uint64_t max_message;
	/* Pipelining window; 0 = the defaults below. */
	size_t window_msgs;
	uint64_t window_bytes;
};

#define SOURCE_DEFAULT_MAX_MESSAGE  (1024ull * 1024 * 1024)
#define SOURCE_DEFAULT_WINDOW_MSGS  400
#define SOURCE_DEFAULT_WINDOW_BYTES (16ull * 1024 * 1024)

/* One message on the server, as listed by select(). */
struct src_msg {
	uint32_t uid;   /* IMAP UID; POP3 0 */
	char *uidl;     /* POP3 unique id (1-70 printable bytes); NULL for IMAP, or
	                   when the server has no UIDL (folder.has_ids false) */
	uint32_t num;   /* POP3 message number in this session; IMAP 0 */
	uint64_t size;  /* as announced: RFC822.SIZE or the LIST octets */
	unsigned flags; /* IMAP FLAGS as mail_flag bits (mail/flags.h); POP3 0 */
};

/* What select() learned about a folder. */
struct src_folder {
	const char *name;     /* as given to select() */
	uint32_t uidvalidity; /* IMAP; POP3 0 */
	uint32_t uidnext;     /* IMAP (0 when the server did not say); POP3 0 */
	uint32_t exists;      /* messages in the folder */
	/* POP3 without UIDL (only allowed with keep: false): messages have no
	 * stable id, so the caller cannot dedupe against its journal. */
	bool has_ids;
	bool read_only;       /* EXAMINEd (keep: true or --dry-run): delete() fails */
	struct src_msg *msgs; /* ascending UID / message number; owned by the source */
	size_t nmsgs;
};

/* What status() learned about a folder without selecting it. */
struct src_status {
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq;
};

/* Where fetch() puts bodies. Called in the order the server answers. */
struct src_sink {
	/* A file for m's body (write position at its start). Return -1 to stop
	 * the fetch: in-flight responses are drained, fetch() returns -1. */
	int (*open)(void *ctx, const struct src_msg *m, int *fd);
	/* m's body is complete in fd (size bytes), or merr says why not
	 * (scope MESSAGE: over the cap, vanished on the server, write error
	 * with the errno text); on merr the file holds garbage, and fd is -1
	 * when open() was never called for m. Return -1 to stop the fetch as
	 * above. Every message given to fetch() gets exactly one done() call
	 * unless the fetch fails as a whole. */
	int (*done)(void *ctx, const struct src_msg *m, int fd, uint64_t size,
	            const struct result *merr);
	void *ctx;
	/* Store LF line ends (the Maildir convention) instead of the CRLF the
	 * protocols use; size then counts the bytes written. A lone CR stays. */
	bool lf_line_ends;
};

struct source;

struct source_driver {
	const char *name; /* "imap", "pop3" */

	/* Connects, TLS, authenticates (net.c), learns the capabilities. */
	struct source *(*open)(const struct src_params *p, struct result *err);
	/* The same over a connection already past authentication; the source
	 * owns conn from now on (tests feed canned streams through this). */
	struct source *(*attach)(struct net *conn, const struct src_params *p, struct result *err);

	/* Selects folder (EXAMINE when read-only) and lists its messages with
	 * UID >= first_uid (IMAP; pass 1 for all, or the last seen UID + 1 when
	 * UIDVALIDITY is unchanged); POP3 ignores first_uid and lists all. */
	int (*select)(struct source *s, const char *folder, uint32_t first_uid,
	              struct src_folder *out, struct result *err);

	/* Fetches msgs, pipelined, into the sink. msgs must point into the
	 * selected folder's list (IMAP joins neighbours in that list into UID
	 * ranges), in any order. Per-message problems go to sink->done and do
	 * not make this fail; -1 means the folder or the account failed (err),
	 * or the sink asked to stop (scope FOLDER, temporary). */
	int (*fetch)(struct source *s, const struct src_msg *const *msgs, size_t n,
	             const struct src_sink *sink, struct result *err);

	/* Deletes msgs from the selected folder, after the caller made them
	 * durable. IMAP: UID STORE +FLAGS.SILENT (\Deleted), then UID EXPUNGE
	 * (UIDPLUS) or EXPUNGE (which also removes what other clients marked
	 * \Deleted), done when this returns. msgs as for fetch(). POP3: DELE, which the
	 * server commits only at close(); a lost connection undoes them. */
	int (*delete)(struct source *s, const struct src_msg *const *msgs, size_t n,
	              struct result *err);

	/*
	 * STATUS folder (UIDNEXT UIDVALIDITY HIGHESTMODSEQ), without selecting
	 * it: one round trip (CONDSTORE, RFC 7162). 1 with *out filled; 0 when
	 * the server cannot say (no CONDSTORE: nothing is sent; a folder
	 * without mod-sequences, HIGHESTMODSEQ 0; STATUS refused: the caller
	 * selects the folder and learns why); -1 with err when the session
	 * failed. NULL: POP3.
	 */
	int (*status)(struct source *s, const char *folder, struct src_status *out,
	              struct result *err);

	/*
	 * NOTIFY (RFC 5465), in place of a selected folder: from now on the
	 * server reports new and expunged messages in folders[0..n) (STATUS
	 * responses) and their creation, deletion and renaming (LIST), and
	 * wait_news() waits on all of them. The names are copied. RES_CONFIG
	 * when the server cannot (no NOTIFY capability, or it refused the
	 * request). NULL: POP3.
	 */
	int (*watch)(struct source *s, const char *const *folders, size_t n, struct result *err);

	/*
	 * Waits until the server reports news or timeout_s passes or the stop
	 * flag is raised. Without watch(): on the selected folder, *news says
	 * whether new messages came (EXISTS) and changed is not used. After
	 * watch(): changed[i] is set for each watched folder i with news
	 * (every one of them when the server lost track: NOTIFICATIONOVERFLOW,
	 * a rename), *news when any is; reports about folders not watched are
	 * ignored. Each call also proves the connection alive (IMAP: IDLE,
	 * then DONE answered within the timeout). What the daemon's push is
	 * built on. NULL: the source cannot push and the caller polls (POP3).
	 * RES_CONFIG when the server cannot (no IDLE capability).
	 */
	int (*wait_news)(struct source *s, unsigned timeout_s, bool *news, bool *changed,
	                 struct result *err);

	/* Sends LOGOUT / QUIT (POP3: commits the deletions) and frees s,
	 * always. Returns -1 when the goodbye failed (POP3: deletions lost,
	 * the next run sees those messages again and the journal skips them). */
	int (*close)(struct source *s, struct result *err);
};

extern const struct source_driver source_imap;
extern const struct source_driver source_pop3;

/* The driver for an account's protocol (enum protocol from config.h:
 * PROTO_IMAP 0, PROTO_POP3 1). */
static inline const struct source_driver *source_driver_for(int protocol)
{
	return protocol == 1 ? &source_pop3 : &source_imap;
}

#endif
