/*
 * `corral serve`: the listener. Listens on the config's server.listen
 * addresses (plain, STARTTLS when server.cert and key are set) and
 * server.tls_listen addresses (implicit TLS), or on the sockets systemd
 * passes (LISTEN_FDS; those LISTEN_FDNAMES calls "imaps" are TLS), and
 * serves each client in its own process (session.h): a crash or a hostile
 * client hurts one session only. Runs until SIGTERM or SIGINT.
 */
#ifndef CORRAL_IMAPD_SERVE_H
#define CORRAL_IMAPD_SERVE_H

#include <signal.h>

struct config;

/* Listens and serves. 0 after a stop signal; -1 with err when nothing could
 * be listened on or the certificate or key cannot be used. */
int serve_run(const struct config *cfg, volatile sig_atomic_t *stop, char *err, size_t errlen);

#endif
