/*
 * One IMAP client connection, in its own process (serve.h forks it): the
 * greeting, then commands read by imapd/parse.h and run from the command
 * table (commands.c) in the states RFC 3501 allows, until LOGOUT, the
 * client going away, or 30 minutes of silence.
 *
 * What exists so far: CAPABILITY, NOOP, LOGOUT, ID, LOGIN, LIST, SELECT,
 * EXAMINE, STATUS, CLOSE, UNSELECT, FETCH and UID FETCH (UID, FLAGS,
 * INTERNALDATE, RFC822.SIZE, BODY[], BODY[HEADER], BODY[TEXT], RFC822,
 * RFC822.HEADER, partial <n.m>), STORE and UID STORE, EXPUNGE, APPEND, SEARCH ALL.
 */
#ifndef CORRAL_IMAPD_SESSION_H
#define CORRAL_IMAPD_SESSION_H

struct config;

/* Serves the client on fd (closed at the end) with cfg's users and Maildir. */
void session_run(int fd, const struct config *cfg, const char *peer);

#endif
