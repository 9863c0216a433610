/* One message through the compiled rules -> struct rules_outcome. */
#include "rules/rules-int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "mail/message.h"
#include "mail/sniff.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"
#include "mail/flags.h"
#include "mail/folder.h"

/* What `body` looks at: the first MiB of each text part, 4 MiB in all. */
#define BODY_PART_MAX  (1u << 20)
#define BODY_TOTAL_MAX (4u << 20)
#define BODY_MAX_PARTS 64
/* Attachments sniffed per message. */
#define ATTACH_MAX 256

/* One value a condition is tried on, owned by the evaluation. */
struct val {
	char *s;
	size_t len;
};

struct vlist {
	struct val *v;
	size_t n, cap;
	bool done; /* loaded (possibly with no value) */
};

/* The groups of the regex that matched last, into the value it matched. */
struct caps {
	const char *s;
	regmatch_t pm[RULES_NGROUPS];
	size_t n; /* valid entries of pm; 0 when no regex matched */
};

/* Everything decoded from one message, each at most once. */
struct ectx {
	struct rules *r;
	struct msg *m;
	const struct rules_input *in;
	struct rules_trace *t;
	struct vlist from, to, subject, body, types, names, account;
	struct vlist *hdr; /* one per rules.hdrnames */
	struct caps cap;
	int depth;
};

/* ---- values --------------------------------------------------------------- */

static void vpush(struct vlist *vl, char *s, size_t len)
{
	vl->v = xreallocarray_grow(vl->v, &vl->cap, vl->n + 1, sizeof(*vl->v));
	vl->v[vl->n++] = (struct val){s, len};
}

static void vpush_str(struct vlist *vl, char *s)
{
	if (s && *s)
		vpush(vl, s, strlen(s));
	else
		free(s);
}

static void vfree(struct vlist *vl)
{
	for (size_t i = 0; i < vl->n; i++)
		free(vl->v[i].s);
	free(vl->v);
}

/* Each address and display name of the named address headers. */
static void load_addrs(struct ectx *e, struct vlist *vl, const char *const *names)
{
	for (; *names; names++) {
		const struct msg_header *h;
		size_t it = 0;

		while ((h = msg_header_next(e->m, *names, &it)) != NULL) {
			struct msg_addr *a;
			size_t n = addr_parse(h->value, h->value_len, &a);

			/* Unparsable: still give patterns the text to look at. */
			if (n == 0)
				vpush_str(vl, msg_header_decode(h));
			for (size_t i = 0; i < n; i++) {
				vpush_str(vl, a[i].addr);
				vpush_str(vl, a[i].name);
				a[i].addr = a[i].name = NULL;
			}
			addr_free(a, n);
		}
	}
}

static void load_header(struct ectx *e, struct vlist *vl, const char *name)
{
	const struct msg_header *h;
	size_t it = 0;

	while ((h = msg_header_next(e->m, name, &it)) != NULL) {
		char *s = msg_header_decode(h);

		vpush(vl, s, strlen(s));
	}
}

static bool is_text_body(const struct msg_part *p)
{
	return !p->is_multipart && !p->is_attachment && p->type && str_has_prefix(p->type, "text/");
}

/* CRLF -> LF in place, so that $ in a body regex is the end of a line. */
static size_t to_lf(char *s, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++)
		if (!(s[i] == '\r' && i + 1 < len && s[i + 1] == '\n'))
			s[o++] = s[i];
	s[o] = '\0';
	return o;
}

static void load_body(struct ectx *e, struct vlist *vl)
{
	size_t nparts = msg_mime(e->m), total = 0;

	for (size_t i = 0; i < nparts && vl->n < BODY_MAX_PARTS && total < BODY_TOTAL_MAX; i++) {
		const struct msg_part *p = &e->m->parts[i];
		size_t len = 0, max = BODY_TOTAL_MAX - total;
		char *s;

		if (!is_text_body(p))
			continue;
		s = mime_text(e->m, p, max < BODY_PART_MAX ? max : BODY_PART_MAX, &len);
		if (s == NULL)
			continue;
		total += len;
		vpush(vl, s, to_lf(s, len));
	}
}

static void load_attachments(struct ectx *e, struct vlist *types, struct vlist *names)
{
	size_t nparts = msg_mime(e->m), seen = 0;

	for (size_t i = 0; i < nparts && seen < ATTACH_MAX; i++) {
		const struct msg_part *p = &e->m->parts[i];

		if (p->is_multipart || !p->is_attachment)
			continue;
		seen++;
		if (types && e->r->sniffer)
			vpush_str(types, sniff_part(e->r->sniffer, e->m, p));
		if (names && p->filename)
			vpush_str(names, xstrdup(p->filename));
	}
}

static struct vlist *values(struct ectx *e, const struct cond *c)
{
	static const char *const from[] = {"From", NULL};
	static const char *const to[] = {"To", "Cc", NULL};
	struct vlist *vl;

	switch (c->kind) {
	case COND_FROM:
		vl = &e->from;
		if (!vl->done)
			load_addrs(e, vl, from);
		break;
	case COND_TO:
		vl = &e->to;
		if (!vl->done)
			load_addrs(e, vl, to);
		break;
	case COND_SUBJECT:
		vl = &e->subject;
		if (!vl->done)
			load_header(e, vl, "Subject");
		break;
	case COND_HEADER:
		vl = &e->hdr[c->hdr];
		if (!vl->done)
			load_header(e, vl, e->r->hdrnames[c->hdr]);
		break;
	case COND_BODY:
		vl = &e->body;
		if (!vl->done)
			load_body(e, vl);
		break;
	case COND_ATTACHMENT:
		vl = &e->types;
		if (!vl->done)
			load_attachments(e, vl, NULL);
		break;
	case COND_FILENAME:
		vl = &e->names;
		if (!vl->done)
			load_attachments(e, NULL, vl);
		break;
	default:
		vl = &e->account;
		if (!vl->done) {
			const char *a = e->in && e->in->account ? e->in->account : "";

			vpush(vl, xstrdup(a), strlen(a));
		}
		break;
	}
	vl->done = true;
	return vl;
}

/* ---- matching ------------------------------------------------------------- */

static bool ieq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
			return false;
	return true;
}

/* Case-insensitive search of the lower-case needle; *at gets its offset. */
static bool icontains(const char *s, size_t n, const char *needle, size_t nlen, size_t *at)
{
	if (nlen == 0) {
		*at = 0;
		return true;
	}
	for (size_t i = 0; i + nlen <= n; i++)
		if (tolower((unsigned char)s[i]) == (unsigned char)needle[0] &&
		    ieq(s + i + 1, needle + 1, nlen - 1)) {
			*at = i;
			return true;
		}
	return false;
}

/* Matches one value; at and atlen get where, for the trace's excerpt. */
static bool pat_match(const struct pattern *p, const char *s, size_t n, regmatch_t *pm, size_t *at,
                      size_t *atlen)
{
	size_t nm;

	*at = 0;
	*atlen = n;
	switch (p->kind) {
	case PAT_GLOB:
		return glob_match(p->text, s, n);
	case PAT_IS:
		return n == p->len && ieq(s, p->text, n);
	case PAT_CONTAINS:
		*atlen = p->len;
		return icontains(s, n, p->lower, p->len, at);
	case PAT_REGEX:
		nm = p->ngroups + 1 < RULES_NGROUPS ? p->ngroups + 1 : RULES_NGROUPS;
		pm[0].rm_so = 0;
		pm[0].rm_eo = (regoff_t)n;
		if (regexec(&p->re, s, nm, pm, REG_STARTEND) != 0)
			return false;
		for (size_t i = nm; i < RULES_NGROUPS; i++)
			pm[i].rm_so = pm[i].rm_eo = -1;
		*at = (size_t)pm[0].rm_so;
		*atlen = (size_t)(pm[0].rm_eo - pm[0].rm_so);
		return true;
	}
	return false;
}

bool pattern_matches(const struct pattern *p, const char *s, size_t n)
{
	regmatch_t pm[RULES_NGROUPS];
	size_t at, atlen;

	return pat_match(p, s, n, pm, &at, &atlen);
}

static bool eval_leaf(struct ectx *e, const struct cond *c)
{
	struct vlist *vl = values(e, c);
	size_t slot = e->t ? trace_cond(e->t, e->depth, c, e->r) : 0;
	regmatch_t pm[RULES_NGROUPS];
	size_t at, atlen;

	for (size_t i = 0; i < vl->n; i++) {
		const struct val *v = &vl->v[i];

		if (!pat_match(&c->pat, v->s, v->len, pm, &at, &atlen))
			continue;
		if (c->pat.kind == PAT_REGEX) {
			e->cap.s = v->s;
			memcpy(e->cap.pm, pm, sizeof(pm));
			e->cap.n =
			    c->pat.ngroups + 1 < RULES_NGROUPS ? c->pat.ngroups + 1 : RULES_NGROUPS;
		}
		if (e->t)
			trace_cond_done(e->t, slot, true, v->s, v->len, vl->n, at, atlen,
			                c->pat.kind == PAT_REGEX ? pm : NULL, c->pat.ngroups);
		return true;
	}
	if (e->t)
		trace_cond_done(e->t, slot, false, vl->n ? vl->v[0].s : NULL,
		                vl->n ? vl->v[0].len : 0, vl->n, 0, 0, NULL, 0);
	return false;
}

static bool eval_size(struct ectx *e, const struct cond *c)
{
	uint64_t size = e->in && e->in->size ? e->in->size : e->m->len;
	bool m = false;

	switch (c->op) {
	case SIZE_LT:
		m = size < c->size;
		break;
	case SIZE_LE:
		m = size <= c->size;
		break;
	case SIZE_GT:
		m = size > c->size;
		break;
	case SIZE_GE:
		m = size >= c->size;
		break;
	case SIZE_EQ:
		m = size == c->size;
		break;
	}
	if (e->t)
		trace_cond_size(e->t, trace_cond(e->t, e->depth, c, e->r), m, size);
	return m;
}

static bool eval_cond(struct ectx *e, const struct cond *c);

/* all / any / not; captures of a branch that fails are dropped. */
static bool eval_group(struct ectx *e, const struct cond *c)
{
	struct caps saved = e->cap;
	size_t slot = e->t ? trace_cond(e->t, e->depth, c, e->r) : 0;
	bool m = c->kind != COND_ANY;

	e->depth++;
	for (size_t i = 0; i < c->nkids; i++) {
		bool k = eval_cond(e, &c->kids[i]);

		if (c->kind == COND_ANY && k) {
			m = true;
			break;
		}
		if (c->kind != COND_ANY && !k) {
			m = false;
			break;
		}
	}
	e->depth--;
	if (c->kind == COND_NOT)
		m = !m;
	if (!m)
		e->cap = saved;
	if (e->t)
		trace_cond_done(e->t, slot, m, NULL, 0, 0, 0, 0, NULL, 0);
	return m;
}

static bool eval_cond(struct ectx *e, const struct cond *c)
{
	switch (c->kind) {
	case COND_ALL:
	case COND_ANY:
	case COND_NOT:
		return eval_group(e, c);
	case COND_SIZE:
		return eval_size(e, c);
	default:
		return eval_leaf(e, c);
	}
}

/* ---- actions -------------------------------------------------------------- */

/* Cuts s to at most max bytes without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return max;
}

static void put_sanitised(struct buf *b, const char *s, size_t len)
{
	char tmp[RULES_CAPTURE_MAX + 1];
	char *clean;

	len = utf8_cut(s, len, RULES_CAPTURE_MAX);
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	clean = folder_sanitise_component(tmp);
	buf_puts(b, clean);
	free(clean);
}

static void put_capture(struct ectx *e, struct buf *b, int n)
{
	const regmatch_t *pm = &e->cap.pm[n];

	if (e->cap.s == NULL || (size_t)n >= e->cap.n || pm->rm_so < 0)
		put_sanitised(b, "", 0);
	else
		put_sanitised(b, e->cap.s + pm->rm_so, (size_t)(pm->rm_eo - pm->rm_so));
}

/* "Lists/$1" -> "Lists/foo-dev": variables filled, captured values made safe. */
static char *expand_folder(struct ectx *e, const char *t)
{
	const char *acct = e->in && e->in->account ? e->in->account : "";
	struct buf b;
	char *out;
	size_t len;

	buf_init(&b, 16 * RULES_FOLDER_MAX);
	for (; *t; t++) {
		if (*t != '$') {
			buf_putc(&b, *t);
		} else if (t[1] == '$') {
			buf_putc(&b, '$');
			t++;
		} else if (t[1] >= '0' && t[1] <= '9') {
			put_capture(e, &b, t[1] - '0');
			t++;
		} else if (t[1] == '{' && t[2] >= '0' && t[2] <= '9' && t[3] == '}') {
			put_capture(e, &b, t[2] - '0');
			t += 3;
		} else if (str_has_prefix(t + 1, "{account}")) {
			put_sanitised(&b, acct, strlen(acct));
			t += strlen("{account}");
		}
	}
	out = buf_steal(&b, &len);
	out[utf8_cut(out, len, RULES_FOLDER_MAX)] = '\0';
	if (strcasecmp(out, "INBOX") == 0)
		strcpy(out, "INBOX");
	return out;
}

static void add_delivery(struct rules_outcome *o, char *folder, unsigned flags, int rule)
{
	for (size_t i = 0; i < o->ndeliveries; i++)
		if (strcmp(o->deliveries[i].folder, folder) == 0) {
			o->deliveries[i].flags |= flags;
			free(folder);
			return;
		}
	o->deliveries = xrealloc(o->deliveries, (o->ndeliveries + 1) * sizeof(*o->deliveries));
	o->deliveries[o->ndeliveries++] = (struct rules_delivery){folder, flags, rule};
}

static void add_forward(struct rules_outcome *o, const char *addr, int rule)
{
	for (size_t i = 0; i < o->nforwards; i++)
		if (strcasecmp(o->forwards[i].addr, addr) == 0)
			return;
	o->forwards = xrealloc(o->forwards, (o->nforwards + 1) * sizeof(*o->forwards));
	o->forwards[o->nforwards++] = (struct rules_forward){xstrdup(addr), rule};
}

static bool argv_equal(char **a, char **b)
{
	for (; *a && *b; a++, b++)
		if (strcmp(*a, *b) != 0)
			return false;
	return *a == NULL && *b == NULL;
}

static char **argv_copy(char **argv)
{
	size_t n = 0;
	char **v;

	while (argv[n])
		n++;
	v = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		v[i] = xstrdup(argv[i]);
	return v;
}

static void add_pipe(struct rules_outcome *o, char **argv, int rule)
{
	for (size_t i = 0; i < o->npipes; i++)
		if (argv_equal(o->pipes[i].argv, argv))
			return;
	o->pipes = xrealloc(o->pipes, (o->npipes + 1) * sizeof(*o->pipes));
	o->pipes[o->npipes++] = (struct rules_pipe){argv_copy(argv), rule};
}

static void trace_actions(struct ectx *e, const struct actions *a, char **folders)
{
	char fl[64];

	mail_flags_rule_text(a->flags, fl);
	for (size_t i = 0; i < a->nfolders; i++)
		trace_line(e->t, 1, "→ %s \"%s\"", a->folders[i].keep ? "keep" : "folder",
		           folders[i]);
	if (a->flags)
		trace_line(e->t, 1, "→ flag %s", fl);
	for (size_t i = 0; i < a->nforwards; i++)
		trace_line(e->t, 1, "→ forward %s", a->forwards[i]);
	for (size_t i = 0; i < a->npipes; i++)
		trace_line(e->t, 1, "→ pipe %s%s", a->pipes[i][0], a->pipes[i][1] ? " ..." : "");
	if (a->discard)
		trace_line(e->t, 1, "→ discard");
}

/* Carries out a matching rule's actions; *dflags collects flag-only rules. */
static void apply(struct ectx *e, int idx, struct rules_outcome *o, unsigned *dflags)
{
	const struct actions *a = &e->r->v[idx].act;
	char **folders = xcalloc(a->nfolders + 1, sizeof(char *));
	size_t nf = a->nfolders;

	for (size_t i = 0; i < nf; i++)
		folders[i] = expand_folder(e, a->folders[i].text);
	if (e->t)
		trace_actions(e, a, folders);
	for (size_t i = 0; i < nf; i++)
		add_delivery(o, folders[i], a->flags | *dflags, idx);
	free(folders);
	if (nf == 0)
		*dflags |= a->flags;
	for (size_t i = 0; i < a->nforwards; i++)
		add_forward(o, a->forwards[i], idx);
	for (size_t i = 0; i < a->npipes; i++)
		add_pipe(o, a->pipes[i], idx);
	if (a->discard && !o->discarded) {
		o->discarded = true;
		o->discard_rule = idx;
	}
}

/* ---- evaluation ----------------------------------------------------------- */

static bool eval_rule(struct ectx *e, int idx)
{
	const struct rule *ru = &e->r->v[idx];
	bool m;

	memset(&e->cap, 0, sizeof(e->cap));
	if (e->t)
		trace_rule(e->t, e->r, idx);
	e->depth = 1;
	if (ru->cond == NULL) {
		if (e->t)
			trace_line(e->t, 1, "(no 'if': every message matches)");
		m = true;
	} else {
		m = eval_cond(e, ru->cond);
	}
	if (e->t)
		trace_rule_done(e->t, m);
	return m;
}

static void ectx_free(struct ectx *e)
{
	vfree(&e->from);
	vfree(&e->to);
	vfree(&e->subject);
	vfree(&e->body);
	vfree(&e->types);
	vfree(&e->names);
	vfree(&e->account);
	for (size_t i = 0; i < e->r->nhdr; i++)
		vfree(&e->hdr[i]);
	free(e->hdr);
}

static void finish_outcome(struct rules_outcome *o, unsigned dflags)
{
	if (o->ndeliveries + o->nforwards + o->npipes > 0 || o->discarded)
		return;
	o->implicit_keep = true;
	add_delivery(o, xstrdup("INBOX"), dflags, -1);
}

void rules_eval(struct rules *r, struct msg *m, const struct rules_input *in,
                struct rules_outcome *out, struct rules_trace *trace)
{
	struct ectx e = {.r = r, .m = m, .in = in, .t = trace};
	unsigned dflags = 0;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->discard_rule = -1;
	e.hdr = xcalloc(r->nhdr + 1, sizeof(*e.hdr));
	if (trace)
		trace_clear(trace);
	for (i = 0; i < r->n; i++) {
		if (!eval_rule(&e, (int)i))
			continue;
		out->matched = xrealloc(out->matched, (out->nmatched + 1) * sizeof(int));
		out->matched[out->nmatched++] = (int)i;
		apply(&e, (int)i, out, &dflags);
		if (!r->v[i].cont)
			break;
		if (trace)
			trace_line(trace, 1, "→ continue");
	}
	if (trace && i + 1 < r->n)
		trace_line(trace, 0, "(the %zu rule%s after it %s not evaluated)", r->n - i - 1,
		           r->n - i - 1 == 1 ? "" : "s", r->n - i - 1 == 1 ? "is" : "are");
	finish_outcome(out, dflags);
	ectx_free(&e);
	if (trace) {
		char *text = rules_outcome_text(r, out);

		trace_result(trace, text);
		free(text);
	}
}

void rules_outcome_free(struct rules_outcome *o)
{
	for (size_t i = 0; i < o->ndeliveries; i++)
		free(o->deliveries[i].folder);
	free(o->deliveries);
	for (size_t i = 0; i < o->nforwards; i++)
		free(o->forwards[i].addr);
	free(o->forwards);
	for (size_t i = 0; i < o->npipes; i++)
		argv_free(o->pipes[i].argv);
	free(o->pipes);
	free(o->matched);
	memset(o, 0, sizeof(*o));
}
