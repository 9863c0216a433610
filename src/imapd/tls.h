/*
 * The IMAP server's TLS (OpenSSL, TLS 1.2 at least): one context built at
 * startup from server.cert and server.key, then one handle per connection,
 * for implicit TLS (server.tls_listen) and for STARTTLS.
 *
 * libssl is loaded on first use (util/dl.h): only `corral serve` with a
 * certificate pays for it. A connection's socket is non-blocking once TLS
 * is on it; tls_read() never waits, tls_write() waits for the peer (poll).
 *
 * Memory: tls_ctx_new() and tls_accept() return handles the caller frees
 * with tls_ctx_free() and tls_close(); neither closes the socket.
 */
#ifndef CORRAL_IMAPD_TLS_H
#define CORRAL_IMAPD_TLS_H

#include <stddef.h>
#include <sys/types.h>

struct tls_ctx;
struct tls_conn;

/* The certificate chain and its key, PEM. NULL with err naming the file that
 * cannot be read or the key that does not match the certificate. */
struct tls_ctx *tls_ctx_new(const char *cert, const char *key, char *err, size_t errlen);
void tls_ctx_free(struct tls_ctx *ctx);

/* The server side of the handshake on fd, within timeout_ms. NULL with err
 * when it fails (the connection is then of no use). */
struct tls_conn *tls_accept(struct tls_ctx *ctx, int fd, int timeout_ms, char *err, size_t errlen);

/* Up to n bytes: > 0 read, 0 when the peer closed, -1 on an error; -1 with
 * errno EAGAIN when no application data is ready yet (poll the socket). */
ssize_t tls_read(struct tls_conn *c, void *buf, size_t n);
/* Writes all of buf[0..n), waiting at most timeout_ms each time the socket
 * is full: 0, or -1 when the peer is gone or too slow. */
int tls_write(struct tls_conn *c, const void *buf, size_t n, int timeout_ms);
/* Whether bytes are buffered inside OpenSSL: read them before poll(), which
 * cannot see them. */
int tls_pending(const struct tls_conn *c);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384", for the log. */
const char *tls_describe(const struct tls_conn *c, char *out, size_t outlen);
/* Sends close_notify (without waiting) and frees c. NULL is allowed. */
void tls_close(struct tls_conn *c);

#endif
