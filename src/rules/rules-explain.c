/* The trace of an evaluation (`corral test --explain`) and outcome summaries. */
#include "rules/rules-int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/log.h"
#include "mail/flags.h"

/* Characters of a value shown in a trace line. */
#define SHOW_CHARS 80
/* Lines and bytes of one trace: a hostile rule set cannot make it grow forever. */
#define TRACE_MAX_LINES 100000
#define TRACE_TEXT_MAX  (16u << 20)

enum mark { MARK_NONE, MARK_YES, MARK_NO, MARK_PENDING };

struct tline {
	int depth;
	enum mark mark;
	bool leaf; /* a condition over values, whose value is still to come */
	enum cond_kind kind;
	struct buf text;
};

struct rules_trace {
	struct tline *v;
	size_t n, cap;
	size_t rule_line;
	char *result;
};

struct rules_trace *rules_trace_new(void)
{
	return xcalloc(1, sizeof(struct rules_trace));
}

void trace_clear(struct rules_trace *t)
{
	for (size_t i = 0; i < t->n; i++)
		buf_free(&t->v[i].text);
	t->n = 0;
	free(t->result);
	t->result = NULL;
}

void rules_trace_free(struct rules_trace *t)
{
	if (t == NULL)
		return;
	trace_clear(t);
	free(t->v);
	free(t);
}

/* A new line; past the cap, the last line is reused so callers need no check. */
static struct tline *add_line(struct rules_trace *t, int depth, enum mark mark)
{
	struct tline *l;

	if (t->n == TRACE_MAX_LINES) {
		l = &t->v[t->n - 1];
		buf_reset(&l->text);
	} else {
		t->v = xreallocarray_grow(t->v, &t->cap, t->n + 1, sizeof(*t->v));
		l = &t->v[t->n++];
		buf_init(&l->text, 64 * 1024);
	}
	l->depth = depth;
	l->mark = mark;
	l->leaf = false;
	return l;
}

/* ---- quoting values ------------------------------------------------------- */

static void put_escaped(struct buf *b, unsigned char c, bool raw)
{
	if (raw && c >= 32 && c != 127)
		buf_putc(b, (char)c);
	else if (c == '"' || c == '\\')
		buf_printf(b, "\\%c", c);
	else if (c == '\n')
		buf_puts(b, "\\n");
	else if (c == '\t')
		buf_puts(b, "\\t");
	else if (c == '\r')
		buf_puts(b, "\\r");
	else if (c < 32 || c == 127)
		buf_printf(b, "\\x%02x", c);
	else
		buf_putc(b, (char)c);
}

/*
 * "value" with escapes (or 'pattern' as written, when raw), at most
 * SHOW_CHARS characters; a long value is shown from a little before the
 * match at offset at, with "…" where it is cut.
 */
static void put_quoted(struct buf *b, const char *s, size_t len, size_t at, bool raw)
{
	const char *q = raw ? "'" : "\"";
	size_t start = 0, chars = 0, i;

	if (len > SHOW_CHARS && at > 20)
		start = at - 20;
	while (start > 0 && start < len && ((unsigned char)s[start] & 0xC0) == 0x80)
		start--;
	buf_printf(b, "%s%s", start > 0 ? "…" : "", q);
	for (i = start; i < len && chars < SHOW_CHARS; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c & 0xC0) != 0x80)
			chars++;
		if (c >= 0x80)
			buf_putc(b, (char)c);
		else
			put_escaped(b, c, raw);
	}
	while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
		buf_putc(b, s[i++]);
	buf_printf(b, "%s%s", q, i < len ? "…" : "");
}

static void put_value(struct buf *b, const char *s, size_t len, size_t at)
{
	put_quoted(b, s, len, at, false);
}

/* ---- describing conditions ------------------------------------------------ */

static void put_pattern(struct buf *b, const struct pattern *p)
{
	static const char *const kinds[] = {"", "is ", "contains ", "regex "};

	buf_printf(b, "%s", kinds[p->kind]);
	put_quoted(b, p->text, p->len, 0, true);
}

static const char *const kind_names[] = {
    [COND_ALL] = "all of",
    [COND_ANY] = "any of",
    [COND_NOT] = "not",
    [COND_FROM] = "from",
    [COND_TO] = "to",
    [COND_SUBJECT] = "subject",
    [COND_HEADER] = "header",
    [COND_BODY] = "body",
    [COND_SIZE] = "size",
    [COND_ATTACHMENT] = "attachment",
    [COND_FILENAME] = "filename",
    [COND_ACCOUNT] = "account",
};

/* What "no value" means for each kind of condition. */
static const char *const no_value[] = {
    [COND_FROM] = "no From address",
    [COND_TO] = "no To or Cc address",
    [COND_SUBJECT] = "no Subject",
    [COND_HEADER] = "no such header",
    [COND_BODY] = "no text part",
    [COND_ATTACHMENT] = "no attachment",
    [COND_FILENAME] = "no attachment with a file name",
    [COND_ACCOUNT] = "no account",
};

static bool is_group(const struct cond *c)
{
	return c->kind == COND_ALL || c->kind == COND_ANY || c->kind == COND_NOT;
}

size_t trace_cond(struct rules_trace *t, int depth, const struct cond *c, const struct rules *r)
{
	struct tline *l = add_line(t, depth, MARK_PENDING);

	buf_puts(&l->text, kind_names[c->kind]);
	if (is_group(c)) {
		buf_putc(&l->text, ':');
	} else if (c->kind == COND_SIZE) {
		buf_printf(&l->text, " %s", c->size_text);
	} else {
		if (c->kind == COND_HEADER)
			buf_printf(&l->text, " %s", r->hdrnames[c->hdr]);
		buf_putc(&l->text, ' ');
		put_pattern(&l->text, &c->pat);
		l->leaf = true;
		l->kind = c->kind;
	}
	return (size_t)(l - t->v);
}

static void put_captures(struct rules_trace *t, int depth, const char *val, const regmatch_t *pm,
                         size_t ngroups)
{
	struct tline *l;

	if (ngroups == 0)
		return;
	l = add_line(t, depth + 1, MARK_NONE);
	for (size_t i = 1; i <= ngroups && i < RULES_NGROUPS; i++) {
		buf_printf(&l->text, "%s$%zu = ", i > 1 ? "  " : "", i);
		if (pm[i].rm_so < 0)
			buf_puts(&l->text, "(unset)");
		else
			put_value(&l->text, val + pm[i].rm_so, (size_t)(pm[i].rm_eo - pm[i].rm_so),
			          0);
	}
}

void trace_cond_done(struct rules_trace *t, size_t slot, bool match, const char *val, size_t len,
                     size_t nvals, size_t at, size_t atlen, const regmatch_t *pm, size_t ngroups)
{
	struct tline *l = &t->v[slot < t->n ? slot : t->n - 1];

	(void)atlen;
	l->mark = match ? MARK_YES : MARK_NO;
	if (!l->leaf)
		return;
	buf_puts(&l->text, ": ");
	if (val == NULL) {
		buf_puts(&l->text, no_value[l->kind] ? no_value[l->kind] : "no value");
		return;
	}
	if (!match && nvals > 1)
		buf_printf(&l->text, "%zu values, none matches; first ", nvals);
	put_value(&l->text, val, len, at);
	if (match && pm)
		put_captures(t, l->depth, val, pm, ngroups);
}

void trace_cond_size(struct rules_trace *t, size_t slot, bool match, uint64_t size)
{
	struct tline *l = &t->v[slot < t->n ? slot : t->n - 1];

	l->mark = match ? MARK_YES : MARK_NO;
	buf_printf(&l->text, ": the message has %" PRIu64 " bytes", size);
}

/* ---- rules and results ---------------------------------------------------- */

static void put_rule_name(struct buf *b, const struct rules *r, int idx, bool where)
{
	const struct rule_info *ri = rules_info(r, idx);

	buf_printf(b, "rule #%d", ri->index);
	if (ri->name)
		buf_printf(b, " \"%s\"", ri->name);
	if (where)
		buf_printf(b, " (%s:%d)", ri->file, ri->line);
	else if (r->nfiles > 1)
		buf_printf(b, " in %s", ri->file);
}

void trace_rule(struct rules_trace *t, const struct rules *r, int idx)
{
	struct tline *l = add_line(t, 0, MARK_NONE);

	put_rule_name(&l->text, r, idx, true);
	t->rule_line = (size_t)(l - t->v);
}

void trace_rule_done(struct rules_trace *t, bool match)
{
	buf_puts(&t->v[t->rule_line].text, match ? ": match" : ": no match");
}

void trace_line(struct rules_trace *t, int depth, const char *fmt, ...)
{
	struct tline *l = add_line(t, depth, MARK_NONE);
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	buf_puts(&l->text, text);
}

void trace_result(struct rules_trace *t, const char *text)
{
	free(t->result);
	t->result = xstrdup(text);
}

char *rules_trace_text(const struct rules_trace *t)
{
	static const char *const marks[] = {"", "✓ ", "✗ ", "? "};
	struct buf b;

	buf_init(&b, TRACE_TEXT_MAX);
	if (t->n == 0)
		buf_puts(&b, "(no rules)\n");
	for (size_t i = 0; i < t->n; i++)
		buf_printf(&b, "%*s%s%s\n", 2 * t->v[i].depth, "", marks[t->v[i].mark],
		           t->v[i].text.data ? t->v[i].text.data : "");
	buf_printf(&b, "result: %s\n", t->result ? t->result : "(not evaluated)");
	return buf_steal(&b, NULL);
}

static void put_flags(struct buf *b, unsigned flags)
{
	char names[64], *save = NULL;

	mail_flags_rule_text(flags, names);
	for (char *w = strtok_r(names, " ", &save); w; w = strtok_r(NULL, " ", &save))
		buf_printf(b, " +%s", w);
}

static void put_by(struct buf *b, const struct rules *r, int rule)
{
	buf_puts(b, " (");
	if (rule < 0)
		buf_puts(b, "implicit keep");
	else
		put_rule_name(b, r, rule, false);
	buf_putc(b, ')');
}

char *rules_outcome_text(const struct rules *r, const struct rules_outcome *o)
{
	struct buf b;
	const char *sep = "";

	buf_init(&b, TRACE_TEXT_MAX);
	for (size_t i = 0; i < o->ndeliveries; i++, sep = ", ") {
		buf_printf(&b, "%s%s", sep, o->deliveries[i].folder);
		put_flags(&b, o->deliveries[i].flags);
		put_by(&b, r, o->deliveries[i].rule);
	}
	for (size_t i = 0; i < o->nforwards; i++, sep = ", ") {
		buf_printf(&b, "%sforward %s", sep, o->forwards[i].addr);
		put_by(&b, r, o->forwards[i].rule);
	}
	for (size_t i = 0; i < o->npipes; i++, sep = ", ") {
		buf_printf(&b, "%spipe", sep);
		for (char **a = o->pipes[i].argv; *a; a++)
			buf_printf(&b, " %s", *a);
		put_by(&b, r, o->pipes[i].rule);
	}
	if (o->discarded && b.len == 0) {
		buf_puts(&b, "discard");
		put_by(&b, r, o->discard_rule);
	}
	return buf_steal(&b, NULL);
}
