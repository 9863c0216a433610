/*
 * Push for `corral run`: a watcher process per (account, IMAP folder) holds
 * an IDLE connection (source.h wait_news) and tells the daemon over a pipe
 * when the folder has news; the daemon then runs the account's fetch, the
 * one exactly-once path. The watcher never fetches, never writes: it
 * EXAMINEs the folder.
 *
 * Each IDLE lasts at most check_s seconds (default 60, far below the
 * 29-minute limit of RFC 2177), then DONE must be answered within the
 * account's timeout: a connection that died silently (a suspended laptop,
 * a NAT that forgot it) is noticed within check_s + timeout, and the
 * watcher exits for the daemon to start it again. A token command runs
 * again for every connection (net_connect()).
 */
#ifndef CORRAL_DAEMON_IDLE_H
#define CORRAL_DAEMON_IDLE_H

#include "net/net.h"

struct account;

#define IDLE_CHECK_S 60

/* A watcher's message to the daemon: one atomic write each. */
struct idle_msg {
	char kind;      /* 'r' ready: idling; 'n' news; 'e' an error (then the exit) */
	int exit;       /* 'e': the exit status it ends with */
	int folder;     /* 'n' from watch_notify(): the folder's index in the account's
	                   folders; -1: every folder (and always from idle_watch()) */
	char text[300]; /* 'e': what went wrong */
};

/*
 * The watcher's body, in a forked child: never returns. Exits 0 when stop
 * was raised, 78 when the server cannot IDLE (RES_CONFIG: poll instead),
 * else the failure's exit status after an 'e' message.
 */
void idle_watch(const struct account *acct, const char *folder, unsigned check_s, int fd,
                const net_stop_flag *stop) __attribute__((noreturn));

/* For the watchers: one message to the daemon, and the exit after a
 * failure (0 when stop was raised; otherwise an 'e' message first). */
void idle_tell(int fd, char kind, int exit_code, int folder, const char *text);
void idle_fail(int fd, const struct account *acct, const char *what, const struct result *err,
               const net_stop_flag *stop) __attribute__((noreturn));

#endif
