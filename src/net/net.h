/*
 * The fetch backends' connection: connect, TLS and authentication through
 * libcurl (CURLOPT_CONNECT_ONLY), then a raw byte stream the backends speak
 * their protocol over, with a capped read buffer and a per-response
 * timeout. This is the only fetch file that includes <curl/curl.h>.
 *
 * With CONNECT_ONLY, libcurl 7.88 reads the greeting, asks for the
 * capabilities, does STARTTLS/STLS when asked, for IMAP authenticates (SASL,
 * or the LOGIN command), and returns with nothing of the server's left
 * unread (checked against Dovecot 2.3). POP3's login is corral's own
 * (net/pop3-login.h): libcurl cannot fall back to USER/PASS and would choose
 * APOP by itself. Capabilities are not asked again after authentication:
 * the backends do. libcurl's IMAP tags are A001...; the backends use their
 * own (c1, c2...).
 *
 * Secrets (password, password_command output, oauth2 token) are wiped as
 * soon as libcurl has copied them; commands carrying them are never
 * logged (-vv logs the server's lines and the verbs we send, nothing more).
 *
 * Memory: struct net is freed by net_close(); lines and byte runs handed
 * out point into its buffer and stay valid until the next net_ call.
 */
#ifndef CORRAL_NET_H
#define CORRAL_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>

#include "util/result.h"

struct account;
struct net;

/* Longest line accepted from a server (a line is an error past it). */
#define NET_MAX_LINE (1024 * 1024)

/*
 * A stop flag (set by a signal handler, e.g. on SIGTERM) that every wait of
 * a connection checks when a signal interrupts it: the wait then fails at
 * once (scope ACCOUNT, RES_TEMP, "interrupted") instead of waiting out its
 * timeout. NULL: waits are never cut short.
 */
typedef volatile sig_atomic_t net_stop_flag;

/*
 * Connects to acct's server and authenticates. On failure returns NULL
 * with err filled: scope ACCOUNT; RES_UNREACHABLE for DNS / refused /
 * connect timeout; RES_AUTH for refused credentials; RES_CONFIG for a TLS
 * verification failure, a missing STARTTLS or a failing password_command;
 * RES_TEMP for a failing oauth2_token_command (a token may be had later) and
 * RES_TEMP otherwise (and when stop was raised).
 */
struct net *net_connect(const struct account *acct, const net_stop_flag *stop, struct result *err);

/*
 * A connection over two plain descriptors already past authentication
 * (rfd may equal wfd). Tests feed canned server bytes through a file or a
 * pipe this way. The descriptors are closed by net_close().
 */
struct net *net_from_fds(int rfd, int wfd, unsigned timeout_s);
/* Sets the stop flag of a connection made by net_from_fds(). */
void net_set_stop(struct net *n, const net_stop_flag *stop);

/* Closes the connection without a goodbye and frees n. NULL is allowed. */
void net_close(struct net *n);

/* Sends all of p, waiting (within the timeout) when the socket is full. */
int net_write(struct net *n, const void *p, size_t len, struct result *err);

/*
 * The next line, without its CRLF (or bare LF), NUL-terminated, in *line.
 * A line longer than NET_MAX_LINE, the end of the stream or the timeout is
 * an error (scope ACCOUNT, temporary).
 */
int net_read_line(struct net *n, char **line, size_t *len, struct result *err);

/*
 * Between 1 and max bytes of the stream in *p (what is buffered first),
 * for literals and message bodies. Errors as net_read_line().
 */
int net_read_some(struct net *n, const char **p, size_t *len, size_t max, struct result *err);

/*
 * Waits at most timeout_ms for the server to send something: 1 when there
 * is something to read, 0 when the time passed in silence, -1 on an error
 * or when the stop flag was raised (err filled). For IMAP IDLE.
 */
int net_wait(struct net *n, int timeout_ms, struct result *err);

/* Gives back the last len bytes the previous net_read_some() returned
 * (they belong to the next response). */
void net_unread(struct net *n, size_t len);

/* Where the connection goes, for messages: "imaps://host:993". */
const char *net_peer(const struct net *n);

#endif
