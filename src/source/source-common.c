/* What both fetch backends share: the body writer, POP3 unstuffing. */
#include "source/source-int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "net/net.h"
#include "util/str.h"

/* ---- body writer ---- */

void src_body_start(struct src_body *b, int fd, uint64_t max, bool lf)
{
	b->fd = fd;
	b->max = max;
	b->in = b->written = 0;
	b->lf = lf;
	b->cr = b->over = false;
	b->errnum = 0;
	b->len = 0;
}

static void flush(struct src_body *b)
{
	size_t off = 0;

	while (off < b->len && b->errnum == 0) {
		ssize_t r = write(b->fd, b->out + off, b->len - off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			b->errnum = r < 0 ? errno : EIO;
		else
			off += (size_t)r;
	}
	if (b->errnum == 0)
		b->written += b->len;
	b->len = 0;
}

static void emit(struct src_body *b, const char *p, size_t n)
{
	while (n > 0 && b->errnum == 0) {
		size_t room = sizeof(b->out) - b->len, k = n < room ? n : room;

		memcpy(b->out + b->len, p, k);
		b->len += k;
		p += k;
		n -= k;
		if (b->len == sizeof(b->out))
			flush(b);
	}
}

/* CRLF -> LF, holding a CR back across calls until its successor is known. */
static void emit_lf(struct src_body *b, const char *p, size_t n)
{
	while (n > 0) {
		const char *cr;

		if (b->cr) {
			b->cr = false;
			if (*p != '\n')
				emit(b, "\r", 1);
		}
		cr = memchr(p, '\r', n);
		if (cr == NULL) {
			emit(b, p, n);
			return;
		}
		emit(b, p, (size_t)(cr - p));
		b->cr = true;
		n -= (size_t)(cr - p) + 1;
		p = cr + 1;
	}
}

void src_body_put(struct src_body *b, const char *p, size_t n)
{
	b->in += n;
	if (b->in > b->max)
		b->over = true;
	if (b->over || b->errnum != 0)
		return;
	if (b->lf)
		emit_lf(b, p, n);
	else
		emit(b, p, n);
}

int src_body_finish(struct src_body *b, uint64_t *size, struct result *merr)
{
	if (b->cr && !b->over)
		emit(b, "\r", 1);
	b->cr = false;
	if (!b->over && b->errnum == 0)
		flush(b);
	if (b->over)
		return res_fail(merr, RES_SCOPE_MESSAGE, RES_PERM, NULL,
		                "message larger than the limit of %llu bytes: left on the server",
		                (unsigned long long)b->max);
	if (b->errnum != 0) {
		int e = b->errnum;
		bool temp = e == ENOSPC || e == EDQUOT || e == EIO || e == EINTR || e == EAGAIN;

		/* corral's own disk: every later message would fail too. */
		return res_fail(merr, RES_SCOPE_LOCAL, temp ? RES_TEMP : RES_CONFIG, NULL,
		                "writing the message: %s", strerror(e));
	}
	*size = b->written;
	return 0;
}

/* ---- POP3 unstuffing ---- */

enum { U_BOL, U_MID, U_CR, U_DOT, U_DOTCR };

void pop3_unstuff_init(struct pop3_unstuff *u)
{
	u->state = U_BOL;
}

/* The state after emitting content byte c. */
static int after(int c)
{
	return c == '\n' ? U_BOL : c == '\r' ? U_CR : U_MID;
}

int pop3_unstuff(struct pop3_unstuff *u, const char *in, size_t inlen, char *out, size_t *outlen,
                 size_t *used)
{
	size_t i = 0, o = 0;

	while (i < inlen) {
		char c = in[i++];

		switch (u->state) {
		case U_BOL:
			if (c == '.') {
				u->state = U_DOT;
				continue;
			}
			break;
		case U_MID:
		case U_CR: {
			/* Fast path: copy up to the next LF. */
			const char *nl = memchr(in + i - 1, '\n', inlen - i + 1);
			size_t k = nl != NULL ? (size_t)(nl - (in + i - 1)) + 1 : inlen - i + 1;

			memcpy(out + o, in + i - 1, k);
			o += k;
			i += k - 1;
			u->state = nl != NULL ? U_BOL : after(in[i - 1]);
			continue;
		}
		case U_DOT:
			if (c == '\r') {
				u->state = U_DOTCR;
				continue;
			}
			if (c == '\n')
				goto end;
			break;
		case U_DOTCR:
			if (c == '\n')
				goto end;
			/* ".\rX": the dot was stuffing, the CR is content. */
			out[o++] = '\r';
			break;
		}
		out[o++] = c;
		u->state = after(c);
	}
	*outlen = o;
	*used = i;
	return 0;
end:
	u->state = U_BOL;
	*outlen = o;
	*used = i;
	return 1;
}

int src_refuse_broken(struct net *net, struct result *err)
{
	return res_fail(err, RES_SCOPE_ACCOUNT, RES_TEMP, NULL, "%s: the connection failed earlier",
	                net_peer(net));
}

int src_guard(bool *broken, int rc, const struct result *err)
{
	if (rc < 0 && err->scope == RES_SCOPE_ACCOUNT)
		*broken = true;
	return rc;
}
