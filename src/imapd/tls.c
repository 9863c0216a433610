#include "imapd/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/dl.h"
#include "util/fs.h"

/* The libssl calls used, loaded by name; each field has the type of its
 * function in <openssl/ssl.h>, so calls are checked as if linked. */
#define SSL_FNS(X)                                                                                 \
	X(TLS_server_method)                                                                       \
	X(SSL_CTX_new)                                                                             \
	X(SSL_CTX_free)                                                                            \
	X(SSL_CTX_ctrl)                                                                            \
	X(SSL_CTX_set_options)                                                                     \
	X(SSL_CTX_set_cipher_list)                                                                 \
	X(SSL_CTX_use_certificate_chain_file)                                                      \
	X(SSL_CTX_use_PrivateKey_file)                                                             \
	X(SSL_CTX_check_private_key)                                                               \
	X(SSL_new)                                                                                 \
	X(SSL_free)                                                                                \
	X(SSL_set_fd)                                                                              \
	X(SSL_accept)                                                                              \
	X(SSL_read)                                                                                \
	X(SSL_write)                                                                               \
	X(SSL_pending)                                                                             \
	X(SSL_has_pending)                                                                         \
	X(SSL_get_error)                                                                           \
	X(SSL_shutdown)                                                                            \
	X(SSL_get_version)                                                                         \
	X(SSL_get_current_cipher)                                                                  \
	X(SSL_CIPHER_get_name)                                                                     \
	X(ERR_get_error)                                                                           \
	X(ERR_peek_error)                                                                          \
	X(ERR_error_string_n)                                                                      \
	X(ERR_clear_error)

#define SSL_FIELD(f) __typeof__(f) *f;
#define SSL_NAME(f)  #f,
#define SSL_SET(f)   *(void **)&ssl.f = fns[i++];

/* Written once, by the first tls_ctx_new() (before any fork). */
static struct {
	SSL_FNS(SSL_FIELD)
} ssl;
static int ssl_loaded;

struct tls_ctx {
	SSL_CTX *ctx;
};

struct tls_conn {
	SSL *ssl;
	int fd;
};

static int ssl_load(char *err, size_t errlen)
{
	static const char *const names[] = {SSL_FNS(SSL_NAME)};
	void *fns[sizeof(names) / sizeof(names[0])];
	size_t i = 0;

	if (ssl_loaded)
		return 0;
	if (dl_load("libssl.so.3", names, fns, sizeof(names) / sizeof(names[0]), err, errlen) < 0)
		return -1;
	SSL_FNS(SSL_SET)
	ssl_loaded = 1;
	return 0;
}

/* OpenSSL's first queued error, or what. */
static void ssl_error(char *out, size_t outlen, const char *what)
{
	unsigned long e = ssl.ERR_get_error();

	if (e == 0)
		snprintf(out, outlen, "%s", what);
	else
		ssl.ERR_error_string_n(e, out, outlen);
	ssl.ERR_clear_error();
}

/* Whether OpenSSL's last error says the key is not the certificate's. */
static bool key_mismatch(void)
{
	unsigned long e = ssl.ERR_peek_error();

	return ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH;
}

/*
 * TLS 1.2's suites (SECURITY.md): forward secret key exchange and AEAD
 * ciphers only, as Mozilla's "intermediate" profile; TLS 1.3's are
 * OpenSSL's defaults (AES-GCM and ChaCha20-Poly1305, all of them AEAD).
 */
#define TLS12_CIPHERS                                                                              \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                               \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                               \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"                               \
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"

struct tls_ctx *tls_ctx_new(const char *cert, const char *key, char *err, size_t errlen)
{
	struct tls_ctx *t;
	char why[256];

	if (ssl_load(err, errlen) < 0)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL || (t->ctx = ssl.SSL_CTX_new(ssl.TLS_server_method())) == NULL) {
		snprintf(err, errlen, "cannot set up TLS (out of memory)");
		free(t);
		return NULL;
	}
	ssl.SSL_CTX_ctrl(t->ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL);
	ssl.SSL_CTX_set_options(t->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
	                                    SSL_OP_CIPHER_SERVER_PREFERENCE |
	                                    SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* DHE's group chosen by OpenSSL from the key's size (SSL_CTX_set_dh_auto). */
	ssl.SSL_CTX_ctrl(t->ctx, SSL_CTRL_SET_DH_AUTO, 1, NULL);
	ssl.ERR_clear_error();
	if (ssl.SSL_CTX_set_cipher_list(t->ctx, TLS12_CIPHERS) != 1) {
		ssl_error(why, sizeof(why), "no cipher");
		snprintf(err, errlen, "cannot set up TLS: the cipher list: %s", why);
	} else if (ssl.SSL_CTX_use_certificate_chain_file(t->ctx, cert) != 1) {
		ssl_error(why, sizeof(why), "unreadable");
		snprintf(err, errlen, "server.cert %s: not a PEM certificate (%s)", cert, why);
	} else if (ssl.SSL_CTX_use_PrivateKey_file(t->ctx, key, SSL_FILETYPE_PEM) != 1 &&
	           !key_mismatch()) {
		ssl_error(why, sizeof(why), "unreadable");
		snprintf(err, errlen, "server.key %s: not a PEM private key (%s)", key, why);
	} else if (key_mismatch() || ssl.SSL_CTX_check_private_key(t->ctx) != 1) {
		ssl_error(why, sizeof(why), "mismatch");
		snprintf(err, errlen, "server.key %s does not match server.cert %s (%s)", key, cert,
		         why);
	} else {
		return t;
	}
	tls_ctx_free(t);
	return NULL;
}

void tls_ctx_free(struct tls_ctx *t)
{
	if (t == NULL)
		return;
	ssl.SSL_CTX_free(t->ctx);
	free(t);
}

/* Waits until fd is ready for ev: > 0 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short ev, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = ev};
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	return r;
}

/* After SSL_get_error() said WANT_READ or WANT_WRITE: waits for that until
 * deadline (fs_now_ms). 0 when ready, -1 when the time is up. */
static int wait_want(int fd, int e, uint64_t deadline)
{
	uint64_t now = fs_now_ms();

	if (now >= deadline)
		return -1;
	return wait_fd(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, (int)(deadline - now)) > 0
	           ? 0
	           : -1;
}

struct tls_conn *tls_accept(struct tls_ctx *t, int fd, int timeout_ms, char *err, size_t errlen)
{
	uint64_t deadline = fs_now_ms() + (uint64_t)timeout_ms;
	struct tls_conn *c = calloc(1, sizeof(*c));
	int flags = fcntl(fd, F_GETFL);

	if (c == NULL || flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
	    (c->ssl = ssl.SSL_new(t->ctx)) == NULL || ssl.SSL_set_fd(c->ssl, fd) != 1) {
		snprintf(err, errlen, "cannot start TLS: %s", strerror(errno));
		tls_close(c);
		return NULL;
	}
	c->fd = fd;
	for (;;) {
		int r, e;

		ssl.ERR_clear_error();
		r = ssl.SSL_accept(c->ssl);
		if (r == 1)
			return c;
		e = ssl.SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (wait_want(fd, e, deadline) == 0)
				continue;
			snprintf(err, errlen, "TLS handshake: no answer within %d s",
			         timeout_ms / 1000);
		} else if (e == SSL_ERROR_SYSCALL && ssl.ERR_get_error() == 0) {
			snprintf(err, errlen, "TLS handshake: %s",
			         r == 0 || errno == 0 ? "the client closed the connection"
			                              : strerror(errno));
		} else {
			char why[256];

			ssl_error(why, sizeof(why), "failed");
			snprintf(err, errlen, "TLS handshake: %s", why);
		}
		break;
	}
	ssl.SSL_free(c->ssl);
	c->ssl = NULL;
	tls_close(c);
	return NULL;
}

ssize_t tls_read(struct tls_conn *c, void *buf, size_t n)
{
	/* SSL_read may need to write first (a TLS 1.3 key update): a minute for that. */
	uint64_t deadline = fs_now_ms() + 60 * 1000;

	for (;;) {
		int r, e;

		ssl.ERR_clear_error();
		r = ssl.SSL_read(c->ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
		if (r > 0)
			return r;
		e = ssl.SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_ZERO_RETURN)
			return 0;
		if (e == SSL_ERROR_WANT_READ) {
			errno = EAGAIN;
			return -1;
		}
		if (e == SSL_ERROR_WANT_WRITE && wait_want(c->fd, e, deadline) == 0)
			continue;
		ssl.ERR_clear_error();
		errno = EIO;
		return -1;
	}
}

int tls_write(struct tls_conn *c, const void *buf, size_t n, int timeout_ms)
{
	const char *p = buf;
	size_t off = 0;

	while (off < n) {
		size_t chunk = n - off > INT_MAX ? INT_MAX : n - off;
		int r, e;

		ssl.ERR_clear_error();
		/* After WANT_*, the same call again: same pointer, same length. */
		r = ssl.SSL_write(c->ssl, p + off, (int)chunk);
		if (r > 0) {
			off += (size_t)r;
			continue;
		}
		e = ssl.SSL_get_error(c->ssl, r);
		if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
		    wait_want(c->fd, e, fs_now_ms() + (uint64_t)timeout_ms) == 0)
			continue;
		ssl.ERR_clear_error();
		return -1;
	}
	return 0;
}

int tls_pending(const struct tls_conn *c)
{
	return ssl.SSL_pending(c->ssl) > 0 || ssl.SSL_has_pending(c->ssl);
}

const char *tls_describe(const struct tls_conn *c, char *out, size_t outlen)
{
	const SSL_CIPHER *ci = ssl.SSL_get_current_cipher(c->ssl);

	snprintf(out, outlen, "%s %s", ssl.SSL_get_version(c->ssl),
	         ci != NULL ? ssl.SSL_CIPHER_get_name(ci) : "?");
	return out;
}

void tls_close(struct tls_conn *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL) {
		/* One close_notify, not waiting for the client's. */
		ssl.SSL_shutdown(c->ssl);
		ssl.ERR_clear_error();
		ssl.SSL_free(c->ssl);
	}
	free(c);
}
