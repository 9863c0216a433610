#include "imapd/parse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/log.h"

const struct imapd_limits imapd_default_limits = {
    .line_max = 64 * 1024,
    .literal_max = 64 * 1024 * 1024,
    .depth_max = 16,
    .args_max = 10000,
};

#define TAG_MAX  64
#define TAIL_MAX 24

struct imapd_reader {
	struct imapd_limits lim;
	struct buf cmd;      /* the command so far, literals inline with their {N}CRLF */
	size_t line_len;     /* bytes of the current line so far */
	uint64_t lit_left;   /* literal bytes still to come */
	uint64_t skip_left;  /* bytes of a dropped literal still to skip */
	bool dropping;       /* the command is past a cap: read to its end, keep nothing */
	bool finished;       /* the last call returned a command or BAD: start afresh */
	char tail[TAIL_MAX]; /* the end of the current line, to see a literal's {N} */
	size_t tail_len;
	char tag[TAG_MAX];
	char why[128];
	/* The parsed command: argument vectors, freed at the next command. */
	struct imapd_arg **vecs;
	size_t nvecs, vecs_cap;
	size_t nargs_total;
	struct imapd_cmd out;
};

struct imapd_reader *imapd_reader_new(const struct imapd_limits *lim)
{
	struct imapd_reader *r = xcalloc(1, sizeof(*r));

	r->lim = lim != NULL ? *lim : imapd_default_limits;
	if (r->lim.line_max < 8192)
		r->lim.line_max = 8192;
	/* Lines and literals together; each is checked on its own below. */
	buf_init(&r->cmd, r->lim.literal_max + 16 * r->lim.line_max);
	return r;
}

static void free_vecs(struct imapd_reader *r)
{
	for (size_t i = 0; i < r->nvecs; i++)
		free(r->vecs[i]);
	r->nvecs = 0;
	r->nargs_total = 0;
}

void imapd_reader_free(struct imapd_reader *r)
{
	if (r == NULL)
		return;
	free_vecs(r);
	free(r->vecs);
	buf_free(&r->cmd);
	free(r);
}

static void start_afresh(struct imapd_reader *r)
{
	buf_reset(&r->cmd);
	free_vecs(r);
	r->line_len = 0;
	r->lit_left = r->skip_left = 0;
	r->dropping = false;
	r->finished = false;
	r->tail_len = 0;
	r->tag[0] = '\0';
}

bool imapd_arg_is(const struct imapd_arg *a, const char *lit)
{
	return a->kind != IMAPD_LIST && a->len == strlen(lit) &&
	       strncasecmp(a->s, lit, a->len) == 0;
}

/* ---- the parser, over a complete command ---- */

struct cursor {
	struct imapd_reader *r;
	char *p, *end;
	const char *err;
};

static bool tag_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\+", c) == NULL;
}

/* Atoms take what the grammar needs beyond ATOM-CHAR: \ for flags, % and *
 * for LIST and sequence sets, ] for resp-codes; not ( ) { " SP or controls. */
static bool atom_char(unsigned char c)
{
	return c > 0x20 && c != 0x7f && strchr("(){\"", c) == NULL;
}

static struct imapd_arg *new_vec(struct imapd_reader *r, size_t n)
{
	struct imapd_arg *v = xcalloc(n ? n : 1, sizeof(*v));

	if (r->nvecs == r->vecs_cap)
		r->vecs = xreallocarray_grow(r->vecs, &r->vecs_cap, r->nvecs + 1, sizeof(*r->vecs));
	r->vecs[r->nvecs++] = v;
	return v;
}

static int parse_arg(struct cursor *c, struct imapd_arg *a, unsigned depth);

/* Items up to the closing ')' (or the end of the command at depth 0). */
static int parse_items(struct cursor *c, unsigned depth, const struct imapd_arg **out, size_t *n)
{
	struct imapd_arg *tmp = NULL, *v;
	size_t cap = 0, k = 0;
	bool top = depth == 0;

	for (;;) {
		if (top ? c->p == c->end : (c->p < c->end && *c->p == ')'))
			break;
		if (k > 0 || top) {
			if (c->p >= c->end || *c->p != ' ') {
				c->err = top ? "expected a space between arguments"
				             : "expected a space or ) in a list";
				goto fail;
			}
			c->p++;
			/* A trailing space before CRLF: some clients send one. */
			if (top && c->p == c->end)
				break;
		}
		if (++c->r->nargs_total > c->r->lim.args_max) {
			c->err = "too many arguments";
			goto fail;
		}
		tmp = xreallocarray_grow(tmp, &cap, k + 1, sizeof(*tmp));
		if (parse_arg(c, &tmp[k], depth) < 0)
			goto fail;
		k++;
	}
	v = new_vec(c->r, k);
	if (k > 0)
		memcpy(v, tmp, k * sizeof(*v));
	free(tmp);
	*out = v;
	*n = k;
	return 0;
fail:
	free(tmp);
	return -1;
}

static int parse_quoted(struct cursor *c, struct imapd_arg *a)
{
	char *w = ++c->p, *start = w;

	for (; c->p < c->end; c->p++) {
		char ch = *c->p;

		if (ch == '"') {
			c->p++;
			*a = (struct imapd_arg){
			    .kind = IMAPD_STRING, .s = start, .len = (size_t)(w - start)};
			return 0;
		}
		if (ch == '\r' || ch == '\n' || ch == '\0')
			break;
		if (ch == '\\') {
			if (++c->p == c->end || (*c->p != '"' && *c->p != '\\')) {
				c->err = "a backslash in a quoted string escapes only \" and \\";
				return -1;
			}
			ch = *c->p;
		}
		*w++ = ch;
	}
	c->err = "a quoted string without its closing quote";
	return -1;
}

/* {N}CRLF or {N+}CRLF, then N bytes (the reader checked the framing);
 * ~{N} is literal8 (RFC 4466: APPEND's UTF8 data, RFC 6855). */
static int parse_literal(struct cursor *c, struct imapd_arg *a)
{
	bool eight = *c->p == '~';
	char *q;
	unsigned long long n;

	if (eight && (++c->p == c->end || *c->p != '{'))
		goto bad;
	n = strtoull(c->p + 1, &q, 10);
	if (q == c->p + 1)
		goto bad;
	if (*q == '+')
		q++;
	if (q >= c->end || *q++ != '}')
		goto bad;
	/* The reader put the line's end here: CRLF, or a bare LF. */
	if (q < c->end && *q == '\r')
		q++;
	if (q >= c->end || *q++ != '\n' || n > (unsigned long long)(c->end - q))
		goto bad;
	*a = (struct imapd_arg){
	    .kind = IMAPD_STRING, .s = q, .len = (size_t)n, .literal = true, .literal8 = eight};
	c->p = q + n;
	return 0;
bad:
	c->err = "a malformed literal";
	return -1;
}

static int parse_atom(struct cursor *c, struct imapd_arg *a)
{
	char *start = c->p;

	while (c->p < c->end && atom_char((unsigned char)*c->p)) {
		/* A FETCH section: brackets with spaces and parentheses inside. */
		if (*c->p == '[') {
			char *close = memchr(c->p, ']', (size_t)(c->end - c->p));

			if (close != NULL && memchr(c->p, '\r', (size_t)(close - c->p)) != NULL) {
				c->err = "a [ without its ]";
				return -1;
			}
			/* Without a "]" it is a character of the atom (RFC 3501
			 * 9: "[" is an ATOM-CHAR, as in a folder name). */
			if (close != NULL)
				c->p = close;
		}
		c->p++;
	}
	if (c->p == start) {
		c->err = c->p < c->end && (unsigned char)*c->p < 0x20 ? "a control character"
		                                                      : "expected an argument";
		return -1;
	}
	a->kind = c->p - start == 3 && strncasecmp(start, "NIL", 3) == 0 ? IMAPD_NIL : IMAPD_ATOM;
	a->s = start;
	a->len = (size_t)(c->p - start);
	return 0;
}

static int parse_arg(struct cursor *c, struct imapd_arg *a, unsigned depth)
{
	memset(a, 0, sizeof(*a));
	if (c->p >= c->end) {
		c->err = "expected an argument";
		return -1;
	}
	switch (*c->p) {
	case '(':
		if (depth + 1 > c->r->lim.depth_max) {
			c->err = "lists nested too deep";
			return -1;
		}
		c->p++;
		a->kind = IMAPD_LIST;
		if (parse_items(c, depth + 1, &a->sub, &a->nsub) < 0)
			return -1;
		if (c->p >= c->end || *c->p != ')') {
			c->err = "a list without its )";
			return -1;
		}
		c->p++;
		return 0;
	case '"':
		return parse_quoted(c, a);
	case '{':
		return parse_literal(c, a);
	case '~':
		if (c->p + 1 < c->end && c->p[1] == '{')
			return parse_literal(c, a);
		return parse_atom(c, a);
	case ')':
		c->err = "a ) without its (";
		return -1;
	default:
		return parse_atom(c, a);
	}
}

/* Reads the tag, the name and the arguments of the command in r->cmd. */
static int parse_command(struct imapd_reader *r)
{
	struct cursor c = {.r = r, .p = r->cmd.data, .end = r->cmd.data + r->cmd.len};
	char *tag = c.p, *name;

	while (c.p < c.end && tag_char((unsigned char)*c.p))
		c.p++;
	if (c.p == tag || c.p - tag >= TAG_MAX || c.p == c.end || *c.p != ' ') {
		snprintf(r->why, sizeof(r->why), "%s",
		         c.p == tag     ? "a command needs a tag"
		         : c.p == c.end ? "a tag without a command"
		                        : "a malformed tag");
		return -1;
	}
	snprintf(r->tag, sizeof(r->tag), "%.*s", (int)(c.p - tag), tag);
	*c.p++ = '\0';
	name = c.p;
	while (c.p < c.end && (unsigned char)*c.p > 0x20 && (unsigned char)*c.p < 0x7f &&
	       strchr("(){\"[]", *c.p) == NULL)
		c.p++;
	if (c.p == name) {
		snprintf(r->why, sizeof(r->why), "a command name was expected");
		return -1;
	}
	/* NUL-terminate the name; its delimiter (a space or the end) is kept for the arguments. */
	if (c.p < c.end && *c.p != ' ') {
		snprintf(r->why, sizeof(r->why), "a malformed command name");
		return -1;
	}
	r->out.tag = r->tag;
	r->out.name = name;
	if (c.p == c.end) {
		r->cmd.data[r->cmd.len] = '\0';
		r->out.args = NULL;
		r->out.nargs = 0;
		return 0;
	}
	/* The name ends where its space is: that space is the first delimiter. */
	{
		char *sp = c.p;

		if (parse_items(&c, 0, &r->out.args, &r->out.nargs) < 0) {
			snprintf(r->why, sizeof(r->why), "%s", c.err);
			return -1;
		}
		*sp = '\0';
	}
	return 0;
}

/* ---- the reader: lines, literals and caps ---- */

static void note_tail(struct imapd_reader *r, const char *p, size_t n)
{
	if (n >= TAIL_MAX) {
		memcpy(r->tail, p + n - TAIL_MAX, TAIL_MAX);
		r->tail_len = TAIL_MAX;
		return;
	}
	if (r->tail_len + n > TAIL_MAX) {
		size_t keep = TAIL_MAX - n;

		memmove(r->tail, r->tail + r->tail_len - keep, keep);
		r->tail_len = keep;
	}
	memcpy(r->tail + r->tail_len, p, n);
	r->tail_len += n;
}

/* A line that ends with {N} or {N+} (before CR): *n, *sync. */
static bool literal_marker(const struct imapd_reader *r, uint64_t *n, bool *sync)
{
	size_t end = r->tail_len, i;

	if (end > 0 && r->tail[end - 1] == '\r')
		end--;
	if (end < 3 || r->tail[end - 1] != '}')
		return false;
	i = end - 1;
	*sync = true;
	if (r->tail[i - 1] == '+') {
		*sync = false;
		i--;
	}
	*n = 0;
	{
		size_t digits_end = i, k = i;

		while (k > 0 && r->tail[k - 1] >= '0' && r->tail[k - 1] <= '9')
			k--;
		if (k == digits_end || k == 0 || r->tail[k - 1] != '{' || digits_end - k > 18)
			return false;
		for (; k < digits_end; k++)
			*n = *n * 10 + (uint64_t)(r->tail[k] - '0');
	}
	return true;
}

/* Starts dropping the command: keeps what tells its tag. */
static void drop(struct imapd_reader *r, const char *why)
{
	const char *d = r->cmd.data != NULL ? r->cmd.data : "";
	size_t n = 0;

	if (!r->dropping) {
		while (n < r->cmd.len && n < TAG_MAX - 1 && tag_char((unsigned char)d[n]))
			n++;
		snprintf(r->tag, sizeof(r->tag), "%.*s", (int)n, d);
		if (n == 0 || n >= r->cmd.len || d[n] != ' ')
			snprintf(r->tag, sizeof(r->tag), "*");
		snprintf(r->why, sizeof(r->why), "%s", why);
	}
	r->dropping = true;
	buf_reset(&r->cmd);
}

/* A line ended (its LF taken). Returns the event, or IMAPD_NEED_MORE to read on. */
static enum imapd_read line_end(struct imapd_reader *r)
{
	uint64_t n;
	bool sync;

	if (literal_marker(r, &n, &sync)) {
		r->tail_len = 0;
		r->line_len = 0;
		if (sync && (n > r->lim.literal_max || r->dropping)) {
			/* The client waits for "+": it will not send the bytes. */
			drop(r, "literal too big");
			r->finished = true;
			return IMAPD_BAD;
		}
		if (n > r->lim.literal_max) {
			/* LITERAL+ past the cap: its bytes are on the way, up to
			 * 10^18 of them; skipping them would keep the session
			 * reading for nothing, so the session ends instead. */
			drop(r, "literal too big");
			r->finished = true;
			return IMAPD_TOOBIG;
		}
		if (r->dropping) {
			drop(r, "literal too big");
			r->skip_left = n;
			return sync ? IMAPD_CONTINUE : IMAPD_NEED_MORE;
		}
		if (buf_append(&r->cmd, "\n", 1) < 0) {
			drop(r, "command too big");
			r->skip_left = n;
			return sync ? IMAPD_CONTINUE : IMAPD_NEED_MORE;
		}
		r->lit_left = n;
		return sync ? IMAPD_CONTINUE : IMAPD_NEED_MORE;
	}
	r->finished = true;
	if (r->dropping)
		return IMAPD_BAD;
	/* The command is whole: CR LF off the end. */
	if (r->cmd.len > 0 && r->cmd.data[r->cmd.len - 1] == '\r')
		r->cmd.len--;
	if (r->cmd.len == 0) {
		/* An empty line is no command: ignore it. */
		start_afresh(r);
		return IMAPD_NEED_MORE;
	}
	if (r->cmd.data[r->cmd.len - 1] == '\r') {
		/* The tag was read: the answer carries it (the client waits for it). */
		drop(r, "a CR inside a line");
		r->finished = true;
		return IMAPD_BAD;
	}
	return parse_command(r) < 0 ? IMAPD_BAD : IMAPD_COMMAND;
}

/* Literal bytes: kept, or skipped when the command is dropped. */
static size_t take_literal(struct imapd_reader *r, const char *data, size_t len)
{
	uint64_t *left = r->skip_left > 0 ? &r->skip_left : &r->lit_left;
	size_t k = len < *left ? len : (size_t)*left;

	if (left == &r->lit_left && buf_append(&r->cmd, data, k) < 0) {
		drop(r, "command too big");
		r->skip_left = r->lit_left;
		r->lit_left = 0;
		return 0;
	}
	*left -= k;
	return k;
}

enum imapd_read imapd_read(struct imapd_reader *r, const char *data, size_t len, size_t *used,
                           const struct imapd_cmd **cmd, const char **tag, char *why, size_t whylen)
{
	size_t i = 0;

	if (r->finished)
		start_afresh(r);
	while (i < len) {
		const char *nl;
		size_t seg;
		enum imapd_read ev;

		if (r->skip_left > 0 || r->lit_left > 0) {
			i += take_literal(r, data + i, len - i);
			continue;
		}
		nl = memchr(data + i, '\n', len - i);
		seg = (nl != NULL ? (size_t)(nl - data) : len) - i;
		note_tail(r, data + i, seg);
		if (!r->dropping && r->line_len + seg > r->lim.line_max) {
			/* Keep the start of the command, for its tag. */
			size_t keep = r->cmd.len == 0 ? (seg < TAG_MAX ? seg : TAG_MAX) : 0;

			buf_append(&r->cmd, data + i, keep);
			drop(r, "line too long");
		}
		if (!r->dropping && memchr(data + i, '\0', seg) != NULL) {
			/* Keep the start of the command, for its tag: a client waits
			 * for its own tag, "* BAD" leaves it hanging. */
			size_t before =
			    (size_t)((const char *)memchr(data + i, '\0', seg) - (data + i));

			if (r->cmd.len == 0)
				buf_append(&r->cmd, data + i, before < TAG_MAX ? before : TAG_MAX);
			drop(r, "a NUL byte in a command");
		}
		if (!r->dropping && buf_append(&r->cmd, data + i, seg) < 0)
			drop(r, "command too big");
		r->line_len += seg;
		i += seg;
		if (nl == NULL)
			break;
		i++; /* the LF */
		ev = line_end(r);
		if (ev == IMAPD_NEED_MORE)
			continue;
		*used = i;
		if (ev == IMAPD_COMMAND)
			*cmd = &r->out;
		if (ev == IMAPD_BAD || ev == IMAPD_TOOBIG) {
			*tag = r->tag[0] ? r->tag : "*";
			snprintf(why, whylen, "%s", r->why);
		}
		return ev;
	}
	*used = i;
	return IMAPD_NEED_MORE;
}
