#include "imapd/session.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config/config.h"
#include "imapd/session-int.h"
#include "util/log.h"

/* RFC 3501 5.4: at least 30 minutes before an idle client is logged out. */
#define AUTOLOGOUT_MS (31 * 60 * 1000)
#define OUT_MAX       (256u * 1024 * 1024)

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

void tagged(struct session *s, const char *status, const char *fmt, ...)
{
	va_list ap;
	char text[1024];

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	s->tagged_at = s->out.len;
	reply(s, "%s %s %s", s->cmd != NULL ? s->cmd->tag : "*", status, text);
}

int flush_out(struct session *s)
{
	size_t off = 0;

	while (off < s->out.len) {
		ssize_t w = write(s->fd, s->out.data + off, s->out.len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	buf_reset(&s->out);
	return 0;
}

char *arg_string(const struct imapd_arg *a)
{
	if (a->kind == IMAPD_LIST || memchr(a->s, '\0', a->len) != NULL)
		return NULL;
	return xstrndup(a->s, a->len);
}

void put_string(struct buf *b, const char *p, size_t len)
{
	bool quotable = len < 1024;

	for (size_t i = 0; quotable && i < len; i++)
		quotable =
		    p[i] != '\r' && p[i] != '\n' && p[i] != '\0' && (unsigned char)p[i] < 0x80;
	if (!quotable) {
		buf_printf(b, "{%zu}\r\n", len);
		buf_append(b, p, len);
		return;
	}
	buf_putc(b, '"');
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '"' || p[i] == '\\')
			buf_putc(b, '\\');
		buf_putc(b, p[i]);
	}
	buf_putc(b, '"');
}

const char *capabilities(const struct session *s)
{
	(void)s;
	return "IMAP4rev1 LITERAL+ SASL-IR ID UNSELECT AUTH=PLAIN";
}

/* Expunges another writer made, said after the command ran (its sequence
 * numbers were the old ones) and before its tagged answer. */
static void expunges_before_tagged(struct session *s)
{
	size_t at = s->tagged_at, n = s->out.len - at;
	char *tail;

	if (s->state != S_SELECTED || at > s->out.len)
		return;
	tail = xmalloc(n ? n : 1);
	memcpy(tail, s->out.data + at, n);
	s->out.len = at;
	session_expunges(s, false);
	buf_append(&s->out, tail, n);
	free(tail);
}

static void run(struct session *s, const struct imapd_cmd *cmd)
{
	const struct command *c = command_find(cmd->name);

	s->cmd = cmd;
	if (c == NULL) {
		tagged(s, "BAD", "unknown command %.40s", cmd->name);
	} else if (!(c->states & s->state)) {
		tagged(s, "BAD", "%s is not allowed %s", c->name,
		       s->state == S_NOT_AUTH ? "before LOGIN" : "now");
	} else {
		if (s->state == S_SELECTED && c->sync != SYNC_NONE)
			session_sync(s, false);
		c->run(s);
		if (c->sync == SYNC_ALL)
			expunges_before_tagged(s);
	}
	s->cmd = NULL;
}

/* Reads and runs commands until LOGOUT or the end of the connection. */
static void loop(struct session *s, struct imapd_reader *rd)
{
	char in[65536];

	while (s->state != S_LOGOUT) {
		struct pollfd p = {.fd = s->fd, .events = POLLIN};
		ssize_t got;
		size_t off = 0;

		if (flush_out(s) < 0)
			return;
		if (poll(&p, 1, AUTOLOGOUT_MS) == 0) {
			reply(s, "* BYE autologout: 30 minutes without a command");
			flush_out(s);
			return;
		}
		got = read(s->fd, in, sizeof(in));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return;
		while (off < (size_t)got && s->state != S_LOGOUT) {
			const struct imapd_cmd *cmd = NULL;
			const char *tag = NULL;
			char why[128];
			size_t used = 0;
			enum imapd_read ev = imapd_read(rd, in + off, (size_t)got - off, &used,
			                                &cmd, &tag, why, sizeof(why));

			off += used;
			if (ev == IMAPD_CONTINUE)
				reply(s, "+ go on");
			else if (ev == IMAPD_BAD)
				reply(s, "%s BAD %s", tag, why);
			else if (ev == IMAPD_COMMAND)
				run(s, cmd);
			if (ev == IMAPD_CONTINUE && flush_out(s) < 0)
				return;
		}
	}
	flush_out(s);
}

void session_run(int fd, const struct config *cfg, const char *peer)
{
	struct session s = {.fd = fd, .cfg = cfg, .peer = peer, .state = S_NOT_AUTH};
	struct imapd_reader *rd = imapd_reader_new(NULL);

	buf_init(&s.out, OUT_MAX);
	reply(&s, "* OK [CAPABILITY %s] corral ready", capabilities(&s));
	loop(&s, rd);
	log_debug("%s: session ends%s%s", peer, s.user ? " for " : "", s.user ? s.user : "");
	if (s.state == S_SELECTED)
		view_close(&s.view);
	imapd_reader_free(rd);
	buf_free(&s.out);
	free(s.user);
	close(fd);
}
