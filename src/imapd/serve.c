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
#include "util/log.h"

#define MAX_LISTEN 16

static int listen_on(const struct listen_addr *a, char *err, size_t errlen)
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
	log_info("listening on %s%s%s:%d", v6 ? "[" : "", a->host, v6 ? "]" : "", a->port);
	return fd;
}

/* systemd socket activation: LISTEN_FDS sockets from fd 3, for this pid. */
static size_t inherited(int *fds)
{
	const char *pid = getenv("LISTEN_PID"), *n = getenv("LISTEN_FDS");
	long k;

	if (pid == NULL || n == NULL || strtol(pid, NULL, 10) != (long)getpid())
		return 0;
	k = strtol(n, NULL, 10);
	if (k < 0 || k > MAX_LISTEN)
		k = 0;
	for (long i = 0; i < k; i++)
		fds[i] = 3 + (int)i;
	return (size_t)k;
}

static void serve_client(const struct config *cfg, int lfd, const int *fds, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?", peer[80];
	int c = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
	pid_t pid;

	if (c < 0)
		return;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host));
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof(host));
	snprintf(peer, sizeof(peer), "imap client %s", host);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		for (size_t i = 0; i < n; i++)
			close(fds[i]);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		session_run(c, cfg, peer);
		_exit(0);
	}
	if (pid < 0)
		log_err("cannot start a session: %s", strerror(errno));
	close(c);
}

int serve_run(const struct config *cfg, volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	int fds[MAX_LISTEN];
	size_t n = inherited(fds);
	struct pollfd pf[MAX_LISTEN];

	for (size_t i = 0; n == 0 && i < cfg->server.nlisten && i < MAX_LISTEN; i++) {
		int fd = listen_on(&cfg->server.listen[i], err, errlen);

		if (fd < 0) {
			for (size_t k = 0; k < i; k++)
				close(fds[k]);
			return -1;
		}
		fds[i] = fd;
		if (i + 1 == cfg->server.nlisten)
			n = i + 1;
	}
	if (n == 0) {
		snprintf(err, errlen, "nothing to listen on: the config has no server.listen");
		return -1;
	}
	while (!*stop) {
		for (size_t i = 0; i < n; i++)
			pf[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
		if (poll(pf, n, 1000) < 0 && errno != EINTR)
			break;
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		for (size_t i = 0; i < n && !*stop; i++)
			if (pf[i].revents & POLLIN)
				serve_client(cfg, fds[i], fds, n);
	}
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
	return 0;
}
