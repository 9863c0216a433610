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
#include "imapd/clients.h"
#include "imapd/session.h"
#include "imapd/tls.h"
#include "util/log.h"

#define MAX_LISTEN 16

/* A listening socket; tls: its clients start with the TLS handshake. */
struct listener {
	int fd;
	bool tls;
};

/* The numeric host and port of ss. */
static int addr_host(const struct sockaddr_storage *ss, char host[INET6_ADDRSTRLEN])
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

	strcpy(host, "?");
	if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &s6->sin6_addr, host, INET6_ADDRSTRLEN);
		return ntohs(s6->sin6_port);
	}
	inet_ntop(AF_INET, &s4->sin_addr, host, INET6_ADDRSTRLEN);
	return ntohs(s4->sin_port);
}

/* Listens on address i of a (what its host resolved to in the config). */
static int listen_on(const struct listen_addr *a, size_t i, bool tls, char *err, size_t errlen)
{
	const struct sockaddr_storage *ss = &a->addrs[i];
	char host[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN + 16];
	bool v6 = ss->ss_family == AF_INET6;
	int fd, one = 1, port = addr_host(ss, host);

	snprintf(text, sizeof(text), "%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", port);
	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (const struct sockaddr *)ss, a->addrlens[i]) < 0 || listen(fd, 64) < 0) {
		snprintf(err, errlen, "cannot listen on %s (%s): %s", text, a->host,
		         strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* A name is logged with the address it resolved to. */
	log_info("listening on %s%s%s%s%s", text, strcmp(host, a->host) ? " (" : "",
	         strcmp(host, a->host) ? a->host : "", strcmp(host, a->host) ? ")" : "",
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

		for (size_t k = 0; k < a->naddrs; k++) {
			int fd = n < MAX_LISTEN ? listen_on(a, k, tls, err, errlen) : -1;

			if (n == MAX_LISTEN)
				snprintf(err, errlen, "more than %d addresses to listen on",
				         MAX_LISTEN);
			if (fd < 0) {
				while (n > 0)
					close(l[--n].fd);
				return 0;
			}
			l[n++] = (struct listener){.fd = fd, .tls = tls};
		}
	}
	if (n == 0)
		snprintf(err, errlen,
		         "nothing to listen on: server.listen is empty (systemd socket "
		         "activation only) and no LISTEN_FDS came");
	return n;
}

/* A connection over a cap is told why and closed (no session). */
static void refuse(int c, const char *peer, const char *why)
{
	char line[160];
	int len = snprintf(line, sizeof(line), "* BYE %s\r\n", why);

	log_info("%s: refused: %s", peer, why);
	if (send(c, line, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("%s: %s", peer, strerror(errno));
	close(c);
}

static void serve_client(const struct config *cfg, struct tls_ctx *tls, struct clients *cl,
                         const struct listener *lc, const struct listener *l, size_t n)
{
	struct sockaddr_storage ss = {0};
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?", peer[80];
	int c = accept4(lc->fd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
	struct client_slot *slot;
	const char *why = NULL;
	pid_t pid;

	if (c < 0)
		return;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host));
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof(host));
	snprintf(peer, sizeof(peer), "imap%s client %s", lc->tls ? "s" : "", host);
	if ((slot = clients_admit(cl, &ss, &why)) == NULL) {
		refuse(c, peer, why);
		return;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		for (size_t i = 0; i < n; i++)
			close(l[i].fd);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		session_run(c, cfg, peer, tls, lc->tls, slot);
		_exit(0);
	}
	if (pid < 0) {
		log_err("cannot start a session: %s", strerror(errno));
		clients_ended(cl, -1, slot);
	} else {
		clients_started(cl, slot, pid);
	}
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
	struct clients *cl;
	size_t n;
	pid_t pid;

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
	cl = n > 0
	         ? clients_new(cfg->server.max_connections, cfg->server.max_connections_per_address)
	         : NULL;
	if (n > 0 && cl == NULL) {
		snprintf(err, errlen, "no memory for the table of connections");
		while (n > 0)
			close(l[--n].fd);
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
		while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
			clients_ended(cl, pid, NULL);
		for (size_t i = 0; i < n && !*stop; i++)
			if (pf[i].revents & POLLIN)
				serve_client(cfg, tls, cl, &l[i], l, n);
	}
	for (size_t i = 0; i < n; i++)
		close(l[i].fd);
	clients_free(cl);
	tls_ctx_free(tls);
	return 0;
}
