#include "imapd/session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/config.h"
#include "imapd/session-int.h"
#include "imapd/tls.h"
#include "util/fs.h"
#include "util/log.h"

#define OUT_MAX (256u * 1024 * 1024)
/* IDLE (RFC 2177): a keepalive line every 2 minutes; changes gathered for
 * 50 ms; without inotify the folder is looked at every 5 s. */
#define IDLE_KEEPALIVE_MS (2 * 60 * 1000)
#define IDLE_GATHER_MS    50
#define IDLE_RESCAN_MS    5000
/* A TLS handshake, and a client that does not read what it is sent. */
#define HANDSHAKE_MS 60000
#define WRITE_MS     (5 * 60 * 1000)
/* Bounded work for a peer that has not logged in. */
#define CMDS_PER_S 20
/* AUTHENTICATE's response line: a PLAIN message of some 6 KB. */
#define SASL_LINE_MAX 8192

void reply(struct session *s, const char *fmt, ...)
{
	va_list ap;
	char line[8192];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	buf_append(&s->out, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	buf_append(&s->out, "\r\n", 2);
}

/* The one place the session reads the client: plain or TLS. > 0 bytes, 0
 * at the end, -1 (EAGAIN or EINTR: poll again). */
static ssize_t conn_read(struct session *s, char *buf, size_t n)
{
	if (s->tls != NULL)
		return tls_read(s->tls, buf, n);
	return read(s->fd, buf, n);
}

/* The one place the session writes to the client: all of buf, or -1. */
static int conn_write(struct session *s, const char *buf, size_t n)
{
	size_t off = 0;

	if (s->tls != NULL)
		return tls_write(s->tls, buf, n, WRITE_MS);
	while (off < n) {
		ssize_t w = write(s->fd, buf + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

int flush_out(struct session *s)
{
	int r = s->gone ? -1 : s->out.len > 0 ? conn_write(s, s->out.data, s->out.len) : 0;

	buf_reset(&s->out);
	if (r < 0)
		s->gone = true;
	return r;
}

bool login_allowed(const struct session *s)
{
	return s->tls != NULL || s->loopback || s->cfg->server.allow_plaintext;
}

const char *capabilities(struct session *s)
{
	bool starttls = s->tls_ctx != NULL && s->tls == NULL && s->state == S_NOT_AUTH;

	snprintf(
	    s->caps, sizeof(s->caps),
	    "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN "
	    "SPECIAL-USE LIST-EXTENDED LIST-STATUS ESEARCH CONDSTORE QRESYNC UTF8=ACCEPT%s%s",
	    starttls ? " STARTTLS" : "", login_allowed(s) ? " AUTH=PLAIN" : " LOGINDISABLED");
	return s->caps;
}

/* Before login: whether this command is one too many for this second. */
static bool too_fast(struct session *s)
{
	uint64_t now = fs_now_ms() / 1000;

	if (s->state != S_NOT_AUTH)
		return false;
	if (now != s->rate_s) {
		s->rate_s = now;
		s->rate_n = 0;
	}
	return ++s->rate_n > CMDS_PER_S;
}

/* The TLS handshake, on a plain connection (STARTTLS) or before the
 * greeting (implicit TLS). -1 when the connection is of no use. */
static int start_tls(struct session *s)
{
	char err[256], what[128];

	s->starttls = false;
	s->tls = tls_accept(s->tls_ctx, s->fd, HANDSHAKE_MS, err, sizeof(err));
	if (s->tls == NULL) {
		log_info("%s: %s", s->peer, err);
		return -1;
	}
	log_debug("%s: %s", s->peer, tls_describe(s->tls, what, sizeof(what)));
	return 0;
}

/* After STARTTLS's OK: what the client sent after the command, in the same
 * packet or still in the reader, was sent in the clear before the
 * handshake and is dropped unread (never run as if it came over TLS). */
static int switch_to_tls(struct session *s, size_t dropped)
{
	if (flush_out(s) < 0)
		return -1;
	if (dropped > 0)
		log_info("%s: %zu bytes sent after STARTTLS before the handshake, dropped", s->peer,
		         dropped);
	imapd_reader_free(s->rd);
	s->rd = imapd_reader_new(NULL);
	return start_tls(s);
}

/* A line that is not a command: AUTHENTICATE's response, or IDLE's DONE.
 * Takes bytes up to LF; hands the whole line to auth_response() or
 * idle_line(). Returns how many bytes were taken. */
static size_t take_line(struct session *s, const char *p, size_t n)
{
	const char *lf = memchr(p, '\n', n);
	size_t take = lf != NULL ? (size_t)(lf - p) + 1 : n;
	char *tag;
	bool idle;

	if (!s->sasl_long && buf_append(&s->sasl, p, take) < 0)
		s->sasl_long = true;
	if (lf == NULL)
		return take;
	/* The command waiting for this line ends here, with its tagged line. */
	idle = s->idle_tag != NULL;
	tag = xstrdup(idle ? s->idle_tag : s->sasl_tag);
	if (s->sasl_long) {
		(idle ? idle_line : auth_response)(s, NULL, 0);
	} else {
		size_t len = s->sasl.len - 1;

		if (len > 0 && s->sasl.data[len - 1] == '\r')
			len--;
		(idle ? idle_line : auth_response)(s, s->sasl.data, len);
	}
	command_end(s, tag, idle ? SYNC_ALL : SYNC_NONE);
	free(tag);
	buf_wipe(&s->sasl);
	buf_init(&s->sasl, SASL_LINE_MAX);
	s->sasl_long = false;
	return take;
}

/* Feeds in[0..n) to the reader and runs the commands: -1 when the session
 * ends. */
static int feed(struct session *s, const char *in, size_t n)
{
	size_t off = 0;

	while (off < n && s->state != S_LOGOUT) {
		const struct imapd_cmd *cmd = NULL;
		const char *tag = NULL;
		char why[128];
		size_t used = 0;
		enum imapd_read ev;

		if (s->sasl_tag != NULL || s->idle_tag != NULL) {
			off += take_line(s, in + off, n - off);
			continue;
		}
		ev = imapd_read(s->rd, in + off, n - off, &used, &cmd, &tag, why, sizeof(why));
		off += used;
		if ((ev == IMAPD_COMMAND || ev == IMAPD_BAD) && too_fast(s)) {
			reply(s, "* BYE too many commands");
			s->state = S_LOGOUT;
		} else if (ev == IMAPD_CONTINUE) {
			reply(s, "+ go on");
		} else if (ev == IMAPD_TOOBIG) {
			done(s, ST_BAD, "[TOOBIG] %s", why);
			s->bye = "the rest of that literal will not be read";
			command_end(s, tag, SYNC_NONE);
		} else if (ev == IMAPD_BAD) {
			done(s, ST_BAD, "%s", why);
			command_end(s, tag, SYNC_NONE);
		} else if (ev == IMAPD_COMMAND) {
			dispatch(s, cmd);
		}
		if (s->starttls)
			return switch_to_tls(s, n - off);
		if ((ev == IMAPD_CONTINUE || s->sasl_tag != NULL || s->idle_tag != NULL) &&
		    flush_out(s) < 0)
			return -1;
	}
	return 0;
}

/* In IDLE: what other writers changed, as it happens (inotify), gathered
 * for a moment so that one delivery of many messages is one report; and a
 * line now and then, so that NAT boxes keep the connection. */
static int idle_report(struct session *s, bool keepalive)
{
	struct pollfd p = {.fd = s->fd, .events = POLLIN};

	if (!keepalive)
		poll(&p, 1, IDLE_GATHER_MS);
	else if (s->state != S_SELECTED || s->view.watch >= 0)
		reply(s, "* OK still here");
	session_sync(s, false);
	session_expunges(s, false);
	return flush_out(s);
}

/* How long a session may stay without a command (not in IDLE): server's
 * login_timeout before login (a slot held by nobody), idle_timeout after
 * (RFC 3501 5.4 asks for at least 30 minutes: the default is 31). */
static int autologout_ms(const struct session *s)
{
	uint64_t t =
	    s->state == S_NOT_AUTH ? s->cfg->server.login_timeout_s : s->cfg->server.idle_timeout_s;

	return t > 0 && t < INT_MAX / 1000 ? (int)t * 1000 : INT_MAX;
}

/* Waits for the client's bytes: 1 when there are some, 0 after the
 * autologout time without a command (not in IDLE), -1 when the connection
 * is of no use. */
static int wait_input(struct session *s)
{
	for (;;) {
		struct pollfd p[2] = {{.fd = s->fd, .events = POLLIN},
		                      {.fd = -1, .events = POLLIN}};
		bool idle = s->idle_tag != NULL;
		int timeout = idle ? IDLE_KEEPALIVE_MS : autologout_ms(s), r;

		/* What OpenSSL holds already decrypted is not seen by poll(). */
		if (s->tls != NULL && tls_pending(s->tls))
			return 1;
		if (idle && s->state == S_SELECTED) {
			p[1].fd = s->view.watch;
			if (s->view.watch < 0)
				timeout = IDLE_RESCAN_MS; /* no inotify: look now and then */
		}
		r = poll(p, 2, timeout);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (p[0].revents != 0)
			return 1;
		if (!idle)
			return 0;
		if (idle_report(s, r == 0) < 0)
			return -1;
	}
}

/* Reads and runs commands until LOGOUT or the end of the connection. */
static void loop(struct session *s)
{
	char in[65536];

	while (s->state != S_LOGOUT) {
		ssize_t got;
		int ready;

		if (flush_out(s) < 0 || (ready = wait_input(s)) < 0)
			return;
		if (ready == 0) {
			reply(s, "* BYE autologout: %s",
			      s->state == S_NOT_AUTH ? "no login in time" : "idle for too long");
			flush_out(s);
			return;
		}
		got = conn_read(s, in, sizeof(in));
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got <= 0 || feed(s, in, (size_t)got) < 0)
			return;
	}
	flush_out(s);
}

/* Whether the local end of fd is a loopback address. */
static bool local_is_loopback(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return false;
	if (ss.ss_family == AF_INET)
		return (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss.ss_family == AF_INET6) {
		const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	/* A Unix socket (systemd) is local. */
	return ss.ss_family == AF_UNIX;
}

void session_run(int fd, const struct config *cfg, const char *peer, struct tls_ctx *tls,
                 bool implicit_tls, struct client_slot *slot)
{
	struct session s = {
	    .fd = fd, .cfg = cfg, .peer = peer, .state = S_NOT_AUTH, .client = slot};

	s.tls_ctx = tls;
	s.loopback = local_is_loopback(fd);
	s.rd = imapd_reader_new(NULL);
	buf_init(&s.out, OUT_MAX);
	buf_init(&s.sasl, SASL_LINE_MAX);
	if (!implicit_tls || start_tls(&s) == 0) {
		reply(&s, "* OK [CAPABILITY %s] corral ready", capabilities(&s));
		loop(&s);
	}
	log_debug("%s: session ends%s%s", peer, s.user ? " for " : "", s.user ? s.user : "");
	if (s.view.dir != NULL) /* also after a BYE in the selected state */
		view_close(&s.view);
	imapd_reader_free(s.rd);
	buf_free(&s.out);
	buf_wipe(&s.sasl);
	outcome_clear(&s.outcome);
	free(s.sasl_tag);
	free(s.idle_tag);
	free(s.user);
	tls_close(s.tls);
	close(fd);
}
