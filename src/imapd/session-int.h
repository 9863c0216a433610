/*
 * What the command families (cmd-*.c) share with session.c: the session,
 * the answer buffer and the command table's entry type.
 */
#ifndef CORRAL_IMAPD_SESSION_INT_H
#define CORRAL_IMAPD_SESSION_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imapd/parse.h"
#include "imapd/seqset.h"
#include "imapd/view.h"
#include "util/buf.h"

struct config;
struct tls_ctx;
struct tls_conn;

enum session_state { S_NOT_AUTH = 1, S_AUTH = 2, S_SELECTED = 4, S_LOGOUT = 8 };

/* How a command ended (RFC 3501 7.1): the tagged line's status. ST_NONE:
 * not said yet. */
enum status { ST_NONE, ST_OK, ST_NO, ST_BAD };

/* A command's outcome, said with done(); the dispatcher (dispatch.c) alone
 * writes it as the tagged line. code is the response code without its
 * brackets (NULL for none); both strings belong to the outcome. */
struct outcome {
	enum status status;
	char *code;
	char *text;
};

struct session {
	int fd;
	const struct config *cfg;
	const char *peer;
	enum session_state state;
	char *user;
	struct buf out;   /* answers waiting to be sent */
	struct view view; /* S_SELECTED */
	bool readonly;
	size_t exists;               /* the message count the client was last told */
	size_t kw_told;              /* the keywords the last "* FLAGS" named */
	struct outcome outcome;      /* of the command being run */
	bool save_index;             /* write the folder's index once the answer is sent */
	const char *bye;             /* after the tagged line: "* BYE bye", the end */
	bool gone;                   /* a write to the client failed: it is gone */
	unsigned failures;           /* failed logins in this session: BYE after 5 */
	struct client_slot *client;  /* the address's, in all its sessions (clients.h) */
	const struct imapd_cmd *cmd; /* the command being run */
	struct imapd_reader *rd;     /* the client's commands */
	/* TLS: ctx is NULL without server.cert and key (no STARTTLS); tls is
	 * NULL while the connection is plain. */
	struct tls_ctx *tls_ctx;
	struct tls_conn *tls;
	bool starttls;   /* STARTTLS said OK: the handshake comes next */
	bool loopback;   /* the local address is 127.0.0.0/8 or ::1 */
	char *sasl_tag;  /* AUTHENTICATE waits for the client's response line */
	char *idle_tag;  /* IDLE waits for DONE */
	struct buf sasl; /* that line, so far (wiped) */
	bool sasl_long;  /* that line is past its cap */
	uint64_t rate_s; /* before login: the second being counted */
	unsigned rate_n; /* and the commands in it */
	char caps[512];  /* capabilities() */
	/* RFC 7162 (condstore.c): enabled in this session; HIGHESTMODSEQ
	 * said in this selection. */
	bool condstore, qresync, modseq_told;
	/* ENABLE UTF8=ACCEPT (RFC 6855): folder names are UTF-8 on the wire,
	 * never modified UTF-7, and quoted strings may carry UTF-8. */
	bool utf8;
};

/* Appends an answer line (CRLF added). */
void reply(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The command's outcome: st and "[CODE] text" or "text" (dispatch.c). The
 * last one said counts; the command returns after saying it. */
void done(struct session *s, enum status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void outcome_clear(struct outcome *o);
/* Sends what is buffered; -1 when the client is gone (s->gone is set then). */
int flush_out(struct session *s);
/* A string argument as a NUL-terminated copy (NULL for a list or a NUL inside). */
char *arg_string(const struct imapd_arg *a);
/* Appends a as an IMAP string: quoted when it can be, a literal otherwise. (args.c) */
void put_string(struct buf *b, const char *p, size_t len);
/* A folder name argument as the Maildir names it (modified UTF-7, "/"
 * between levels): after ENABLE UTF8=ACCEPT the client's UTF-8, encoded
 * (RFC 6855 3). NULL when it is not a string, or not UTF-8 a folder name
 * may hold (controls, U+2028, U+2029). (args.c) */
char *name_arg_utf(const struct session *s, const struct imapd_arg *a);
/* Appends the folder name (as the Maildir names it) as the client reads
 * it: modified UTF-7, or UTF-8 in a quoted string after ENABLE UTF8=ACCEPT. */
void put_name(struct session *s, const char *name);
/* The folder name as the client reads it (a copy). */
char *name_shown(const struct session *s, const char *name);
/* After ENABLE UTF8=ACCEPT: whether every quoted string of args is UTF-8
 * (RFC 6855 3: other 8-bit bytes are answered BAD). */
bool args_utf8_valid(const struct imapd_arg *args, size_t n);
/* The sequence set a (UIDs when uid) of the selected folder into set; -1
 * after a tagged BAD when it is not one or names a message number past
 * the count. (args.c) */
struct seqset;
int seqset_arg(struct session *s, const struct imapd_arg *a, bool uid, struct seqset *set);

typedef void cmd_fn(struct session *s);

/* What a command may tell the client about other writers' changes first. */
enum sync { SYNC_NONE, SYNC_NO_EXPUNGE, SYNC_ALL };

struct command {
	const char *name;
	cmd_fn *run;
	unsigned states; /* enum session_state bits it may run in */
	enum sync sync;  /* in S_SELECTED, before it runs */
};

/* The table (commands.c); NULL when name is not a command. */
const struct command *command_find(const char *name);

/* Runs a command from the table in the states it may run in, with the
 * updates sync allows before it; then, unless it waits for a line of the
 * client (IDLE, AUTHENTICATE), command_end(). (dispatch.c) */
void dispatch(struct session *s, const struct imapd_cmd *cmd);
/* The end of the command tagged tag: the expunges sync allows, then the
 * tagged line of s->outcome ("NO [SERVERBUG]" when the command said
 * nothing), then what waited for the answer to be sent. */
void command_end(struct session *s, const char *tag, enum sync sync);

/* The capability list, after "CAPABILITY " or "[CAPABILITY ": it depends
 * on the state and on TLS (kept in s->caps). */
const char *capabilities(struct session *s);
/* Whether LOGIN and AUTHENTICATE may be used here: on TLS or on loopback
 * (otherwise LOGINDISABLED, RFC 3501 6.2.3). */
bool login_allowed(const struct session *s);
/* AUTHENTICATE's response line, which is not a command: while s->sasl_tag
 * is set the session hands the next line here, without its CRLF; NULL
 * when it was longer than the cap. (cmd-auth.c) */
void auth_response(struct session *s, const char *line, size_t len);
/* IDLE's DONE line, likewise (cmd-idle.c). */
void idle_line(struct session *s, const char *line, size_t len);

/*
 * Tells the client what other writers changed in the selected folder since
 * it last heard (updates.c): "* N FETCH (FLAGS ...)" for changed flags,
 * "* N EXISTS" and "* N RECENT" for new messages. The folder is read again
 * only when inotify saw a change, or force is set. Nothing is renumbered.
 */
void session_sync(struct session *s, bool force);
/* "* FLAGS (...)" and PERMANENTFLAGS of the selected folder (updates.c);
 * session_new_keywords() says them again when a keyword was added since,
 * before anything uses it (RFC 3501 7.2.6). */
void session_flags(struct session *s);
void session_new_keywords(struct session *s);
/*
 * "* N EXPUNGE" for the messages marked gone (by another writer or by this
 * session), which leave the view; silent drops them unsaid (CLOSE). Only
 * where RFC 3501 7.4.1 allows: never during FETCH, STORE or SEARCH, and
 * after a command that names sequence numbers, never before it runs.
 */
void session_expunges(struct session *s, bool silent);

/* "* STATUS name (...)" for the folder at dir; -1 when it cannot be read.
 * (status.c, for STATUS and LIST-STATUS) */
int put_status(struct session *s, const char *name, const char *dir, const struct imapd_arg *items,
               size_t nitems);
/* Whether items is a non-empty list of items STATUS knows (atoms). */
bool status_items_valid(const struct imapd_arg *items, size_t n);

/* Unlinks the \Deleted messages (of uids when not NULL), with "* N
 * EXPUNGE" unless silent. (cmd-store.c) */
void session_expunge_deleted(struct session *s, bool silent, const struct seqset *uids);
/* The letters a flag list names into want[] (a set: want[c] != 0); -1 after
 * a tagged BAD or NO for a flag that cannot be stored. New keywords go into
 * kw and dir's dovecot-keywords. (cmd-store.c) */
int flag_letters(struct session *s, const struct imapd_arg *a, char want[128], struct keywords *kw,
                 const char *dir);

/* The directory of a folder argument that exists, or NULL after a tagged
 * NO ([NONEXISTENT], or [TRYCREATE] for APPEND) or BAD. (cmd-mailbox.c) */
char *folder_arg(struct session *s, const struct imapd_arg *a);

/* CONDSTORE and QRESYNC (condstore.c). */
struct qresync {
	bool condstore, qresync, have_known;
	uint32_t uidvalidity;
	uint64_t modseq;
	struct seqset known;                  /* have_known */
	struct seqset match_seqs, match_uids; /* the seq-match data (3.2.5.2), or empty */
};
/* Frees what select_params() put into q. */
void qresync_free(struct qresync *q);
/* CONDSTORE enabled by a command; while selected, HIGHESTMODSEQ said once. */
void condstore_on(struct session *s);
/* Whether FETCH responses carry MODSEQ: CONDSTORE is on and the selected
 * folder keeps mod-sequences (not NOMODSEQ). */
bool modseq_shown(const struct session *s);
/* -1 after a tagged BAD when the selected folder is NOMODSEQ (RFC 7162
 * 3.1.2.2: no CHANGEDSINCE, UNCHANGEDSINCE, MODSEQ item or key there). */
int modseq_refused(struct session *s);
/* "MODSEQ (n)" of m. */
void put_modseq(struct session *s, const struct view_msg *m);
/* "* VANISHED (EARLIER) set": the UIDs of known (NULL: any) expunged after
 * since; nothing when there are none. */
void put_vanished_earlier(struct session *s, const struct seqset *known, uint64_t since);
/* A mod-sequence argument (zero: 0 allowed). */
bool modseq_arg(const struct imapd_arg *a, bool zero, uint64_t *out);
/* SELECT's parameter list a (NULL: none) into q; -1 after a tagged BAD. */
int select_params(struct session *s, const struct imapd_arg *a, struct qresync *q);
/* What SELECT (QRESYNC ...) adds: VANISHED (EARLIER) and the changes. */
void qresync_select(struct session *s, const struct qresync *q);

/* The families */
cmd_fn imap_cmd_capability, imap_cmd_noop, imap_cmd_logout, imap_cmd_id;
cmd_fn imap_cmd_login, imap_cmd_authenticate, imap_cmd_starttls;
cmd_fn imap_cmd_list, imap_cmd_lsub, imap_cmd_create, imap_cmd_delete, imap_cmd_rename,
    imap_cmd_subscribe, imap_cmd_unsubscribe, imap_cmd_namespace, imap_cmd_enable;
cmd_fn imap_cmd_select, imap_cmd_examine, imap_cmd_status, imap_cmd_close, imap_cmd_unselect;
cmd_fn imap_cmd_fetch, imap_cmd_uid, imap_cmd_search, imap_cmd_store, imap_cmd_expunge;
cmd_fn imap_cmd_append;
cmd_fn imap_cmd_copy, imap_cmd_move, imap_cmd_idle;

/* UID's subcommands: args are what follows "UID FETCH" etc. */
typedef void uid_fn(struct session *s, const struct imapd_arg *args, size_t nargs);
uid_fn imap_uid_fetch, imap_uid_search, imap_uid_store, imap_uid_expunge, imap_uid_copy,
    imap_uid_move;

#endif
