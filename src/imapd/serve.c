#include "imapd/serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/config.h"
#include "imapd/session.h"
#include "imapd/tls.h"
#include "util/log.h"

#define MAX_LISTEN 16

/* A listening socket; tls: its clients start with the TLS handshake. */
struct listener {
	int fd;
	bool tls;
};

static int listen_on(const struct listen_addr *a, bool tls, char *err, size_t errlen)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int fd, one = 1;
	bool v6 = strchr(a->host, ':') != NULL;

	if (v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)a->port);
		inet_pton(AF_INET6, a->host, &s6->sin6_addr);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)a->port);
		inet_pton(AF_INET, a->host, &s4->sin_addr);
		len = sizeof(*s4);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 64) < 0) {
		snprintf(err, errlen, "cannot listen on %s:%d: %s", a->host, a->port,
		         strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	log_info("listening on %s%s%s:%d%s", v6 ? "[" : "", a->host, v6 ? "]" : "", a->port,
	         tls ? " (TLS)" : "");
	return fd;
}

/* systemd socket activation: LISTEN_FDS sockets from fd 3, for this pid;
 * those LISTEN_FDNAMES names "imaps" are implicit TLS. */
static size_t inherited(struct listener *l)
{
	const char *pid = getenv("LISTEN_PID"), *n = getenv("LISTEN_FDS");
	const char *names = getenv("LISTEN_FDNAMES");
	long k;

	if (pid == NULL || n == NULL || strtol(pid, NULL, 10) != (long)getpid())
		return 0;
	k = strtol(n, NULL, 10);
	if (k < 0 || k > MAX_LISTEN)
		k = 0;
	for (long i = 0; i < k; i++) {
		size_t len = names != NULL ? strcspn(names, ":") : 0;

		l[i] = (struct listener){.fd = 3 + (int)i,
		                         .tls = len == 5 && !strncmp(names, "imaps", 5)};
		if (names != NULL)
			names = names[len] == ':' ? names + len + 1 : NULL;
	}
	return (size_t)k;
}

/* Listens on server.listen then server.tls_listen: how many, or 0 with err. */
static size_t listen_all(const struct server_conf *sc, struct listener *l, char *err, size_t errlen)
{
	size_t n = 0;

	for (size_t i = 0; i < sc->nlisten + sc->ntls_listen; i++) {
		bool tls = i >= sc->nlisten;
		const struct listen_addr *a =
		    tls ? &sc->tls_listen[i - sc->nlisten] : &sc->listen[i];
		int fd = n < MAX_LISTEN ? listen_on(a, tls, err, errlen) : -1;

		if (n == MAX_LISTEN)
			snprintf(err, errlen, "more than %d addresses to listen on", MAX_LISTEN);
		if (fd < 0) {
			while (n > 0)
				close(l[--n].fd);
			return 0;
		}
		l[n++] = (struct listener){.fd = fd, .tls = tls};
	}
	if (n == 0)
		snprintf(err, errlen,
		         "nothing to listen on: server.listen is empty (systemd socket "
		         "activation only) and no LISTEN_FDS came");
	return n;
}

static void serve_client(const struct config *cfg, struct tls_ctx *tls, const struct listener *lc,
                         const struct listener *l, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?", peer[80];
	int c = accept4(lc->fd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
	pid_t pid;

	if (c < 0)
		return;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host));
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof(host));
	snprintf(peer, sizeof(peer), "imap%s client %s", lc->tls ? "s" : "", host);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		for (size_t i = 0; i < n; i++)
			close(l[i].fd);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		session_run(c, cfg, peer, tls, lc->tls);
		_exit(0);
	}
	if (pid < 0)
		log_err("cannot start a session: %s", strerror(errno));
	close(c);
}

/* The TLS context when server.cert and key are set: *tls NULL otherwise.
 * -1 with err when they cannot be used. */
static int tls_setup(const struct server_conf *sc, struct tls_ctx **tls, char *err, size_t errlen)
{
	*tls = NULL;
	if (sc->cert == NULL || sc->key == NULL)
		return 0;
	*tls = tls_ctx_new(sc->cert, sc->key, err, errlen);
	return *tls != NULL ? 0 : -1;
}

int serve_run(const struct config *cfg, volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	struct listener l[MAX_LISTEN];
	struct pollfd pf[MAX_LISTEN];
	struct tls_ctx *tls;
	size_t n;

	if (tls_setup(&cfg->server, &tls, err, errlen) < 0)
		return -1;
	n = inherited(l);
	if (n == 0)
		n = listen_all(&cfg->server, l, err, errlen);
	for (size_t i = 0; i < n; i++)
		if (l[i].tls && tls == NULL) {
			snprintf(err, errlen,
			         "an imaps socket from systemd needs server.cert and key");
			n = 0;
		}
	if (n == 0) {
		tls_ctx_free(tls);
		return -1;
	}
	while (!*stop) {
		for (size_t i = 0; i < n; i++)
			pf[i] = (struct pollfd){.fd = l[i].fd, .events = POLLIN};
		if (poll(pf, n, 1000) < 0 && errno != EINTR)
			break;
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		for (size_t i = 0; i < n && !*stop; i++)
			if (pf[i].revents & POLLIN)
				serve_client(cfg, tls, &l[i], l, n);
	}
	for (size_t i = 0; i < n; i++)
		close(l[i].fd);
	tls_ctx_free(tls);
	return 0;
}
