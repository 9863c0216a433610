/*
 * Push for `corral run` over one connection per account: where the server
 * offers NOTIFY (RFC 5465), a watcher process asks it to report new and
 * expunged messages in every folder of the account (and the folders'
 * creation, deletion and renaming) without selecting any, and tells the
 * daemon which folder has news; the daemon then fetches that folder, the
 * one exactly-once path. The watcher never fetches and changes nothing.
 *
 * Liveness as with IDLE (idle.h): the connection idles at most check_s
 * seconds, then DONE must be answered within the account's timeout; a
 * dead connection, a refused command or NOTIFICATIONOVERFLOW ends the
 * watcher and the daemon starts it again, then fetches every folder (mail
 * may have come while nobody listened).
 */
#ifndef CORRAL_DAEMON_WATCH_NOTIFY_H
#define CORRAL_DAEMON_WATCH_NOTIFY_H

#include "net/net.h"

struct account;

/*
 * The watcher's body, in a forked child: never returns. Reports over fd
 * as idle.h's struct idle_msg ('n' with the folder's index). Exits 0 when
 * stop was raised, 78 when the server cannot NOTIFY (the daemon falls
 * back to one IDLE connection per folder), else the failure's exit status
 * after an 'e' message.
 */
void watch_notify(const struct account *acct, unsigned check_s, int fd, const net_stop_flag *stop)
    __attribute__((noreturn));

#endif
