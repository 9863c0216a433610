/*
 * One IMAP client connection, in its own process (serve.h forks it): the
 * greeting, then commands read by imapd/parse.h and run from the command
 * table (commands.c) in the states RFC 3501 allows, until LOGOUT, the
 * client going away, or 30 minutes of silence.
 *
 * What exists so far: CAPABILITY, NOOP, LOGOUT, ID, LOGIN, LIST, SELECT,
 * EXAMINE, STATUS, CLOSE, UNSELECT, FETCH and UID FETCH (UID, FLAGS,
 * INTERNALDATE, RFC822.SIZE, BODY[], BODY[HEADER], BODY[TEXT], RFC822,
 * RFC822.HEADER, partial <n.m>), STORE and UID STORE, EXPUNGE, APPEND, SEARCH ALL,
 * STARTTLS, AUTHENTICATE PLAIN; LOGINDISABLED on a plain connection that is
 * not on loopback; at most 20 commands a second and 5 failed logins before
 * login.
 */
#ifndef CORRAL_IMAPD_SESSION_H
#define CORRAL_IMAPD_SESSION_H

#include <stdbool.h>

struct config;
struct tls_ctx;
struct client_slot;

/* Serves the client on fd (closed at the end) with cfg's users and Maildir.
 * tls is NULL without server.cert and key (no STARTTLS then); implicit_tls:
 * the connection starts with the TLS handshake (server.tls_listen); slot:
 * the client address's entry of clients.h (failed logins), or NULL. */
void session_run(int fd, const struct config *cfg, const char *peer, struct tls_ctx *tls,
                 bool implicit_tls, struct client_slot *slot);

#endif
