/* Conditions and patterns of a rule's `if`: YAML nodes -> struct cond. */
#include "rules/rules-int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/str.h"

static const char *const cond_keys[] = {"from", "to",         "subject",  "header",  "body",
                                        "size", "attachment", "filename", "account", "all",
                                        "any",  "not",        NULL};

static const char *const pattern_keys[] = {"is", "contains", "regex", NULL};

static struct cond *cond_new(struct rcc *c, enum cond_kind kind, const yaml_node_t *n)
{
	struct cond *k = xcalloc(1, sizeof(*k));

	k->kind = kind;
	k->line = ydoc_line(n);
	k->col = ydoc_col(n);
	c->r->ncond++;
	return k;
}

/* Moves *k into the array slot (the array owns conditions by value). */
static void cond_push(struct cond *parent, struct cond *k, size_t *cap)
{
	parent->kids = xreallocarray_grow(parent->kids, cap, parent->nkids + 1, sizeof(*k));
	parent->kids[parent->nkids++] = *k;
	free(k);
}

static void pattern_free(struct pattern *p)
{
	free(p->text);
	free(p->lower);
	if (p->compiled)
		regfree(&p->re);
}

static void cond_release(struct cond *k)
{
	for (size_t i = 0; i < k->nkids; i++)
		cond_release(&k->kids[i]);
	free(k->kids);
	pattern_free(&k->pat);
	free(k->size_text);
}

void cond_free(struct cond *k)
{
	if (k == NULL)
		return;
	cond_release(k);
	free(k);
}

/* The scalar text of n when it is a string (quoted empty strings count). */
static const char *pattern_string(struct rcc *c, yaml_node_t *n, const char *path)
{
	if (n && n->type == YAML_SCALAR_NODE && !ydoc_is_null(n))
		return ydoc_scalar(n);
	rcc_error(c, n, path, "expected a string, got %s", ydoc_kind(n));
	return NULL;
}

static int compile_regex(struct rcc *c, yaml_node_t *n, const char *path, struct pattern *p,
                         enum cond_kind kind)
{
	/* In a body, ^ and $ are line anchors: a text is many lines. */
	int flags = REG_EXTENDED | REG_ICASE | (kind == COND_BODY ? REG_NEWLINE : 0);
	int rc = regcomp(&p->re, p->text, flags);
	char err[256];

	if (rc != 0) {
		regerror(rc, &p->re, err, sizeof(err));
		rcc_error(c, n, path, "invalid regex '%s': %s", p->text, err);
		return -1;
	}
	p->compiled = true;
	p->ngroups = p->re.re_nsub;
	if (!c->in_not && p->ngroups > c->maxgroups)
		c->maxgroups = p->ngroups;
	return 0;
}

/* {is: S}, {contains: S} or {regex: R}. */
static int compile_pattern_map(struct rcc *c, yaml_node_t *n, const char *path, struct pattern *p,
                               enum cond_kind kind)
{
	struct rkv kv[8];
	size_t nkv = rcc_pairs(c, n, path, kv, 8);
	char kp[YDOC_PATH_MAX];
	const char *s;
	int k = -1;

	if (nkv != 1) {
		rcc_error(c, n, path, "expected exactly one of is:, contains:, regex:");
		return -1;
	}
	for (int i = 0; pattern_keys[i]; i++)
		if (strcmp(kv[0].key, pattern_keys[i]) == 0)
			k = i;
	if (k < 0) {
		rcc_unknown_key(c, kv[0].k, path, pattern_keys);
		return -1;
	}
	ydoc_path_key(kp, path, kv[0].key);
	s = pattern_string(c, kv[0].v, kp);
	if (s == NULL)
		return -1;
	p->kind = k == 0 ? PAT_IS : k == 1 ? PAT_CONTAINS : PAT_REGEX;
	p->text = xstrdup(s);
	p->len = strlen(s);
	if (p->kind == PAT_CONTAINS)
		p->lower = str_lower(xstrdup(s));
	if (p->kind == PAT_REGEX)
		return compile_regex(c, kv[0].v, kp, p, kind);
	return 0;
}

static struct cond *compile_leaf(struct rcc *c, enum cond_kind kind, yaml_node_t *n,
                                 const char *path, int hdr);

/* A list of patterns: any of them (`from: [a@x, b@y]`). */
static struct cond *compile_pattern_list(struct rcc *c, enum cond_kind kind, yaml_node_t *n,
                                         const char *path, int hdr)
{
	yaml_node_item_t *it = n->data.sequence.items.start;
	size_t len = (size_t)(n->data.sequence.items.top - it), cap = 0;
	struct cond *any = cond_new(c, COND_ANY, n);
	char ip[YDOC_PATH_MAX];
	int bad = 0;

	if (len == 0) {
		rcc_error(c, n, path, "expected at least one pattern");
		cond_free(any);
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		yaml_node_t *item = ydoc_node(c->y, it[i]);
		struct cond *k;

		ydoc_path_index(ip, path, i);
		if (item && item->type == YAML_SEQUENCE_NODE) {
			rcc_error(c, item, ip, "expected a pattern, got a list");
			bad = 1;
			continue;
		}
		k = compile_leaf(c, kind, item, ip, hdr);
		if (k == NULL)
			bad = 1;
		else
			cond_push(any, k, &cap);
	}
	if (bad) {
		cond_free(any);
		return NULL;
	}
	return any;
}

/* A condition over values: from, to, subject, header, body, attachment... */
static struct cond *compile_leaf(struct rcc *c, enum cond_kind kind, yaml_node_t *n,
                                 const char *path, int hdr)
{
	struct cond *k;
	const char *s;

	if (n && n->type == YAML_SEQUENCE_NODE)
		return compile_pattern_list(c, kind, n, path, hdr);
	k = cond_new(c, kind, n);
	k->hdr = hdr;
	if (n && n->type == YAML_MAPPING_NODE) {
		if (compile_pattern_map(c, n, path, &k->pat, kind) == 0)
			return k;
		cond_free(k);
		return NULL;
	}
	s = pattern_string(c, n, path);
	if (s == NULL) {
		cond_free(k);
		return NULL;
	}
	k->pat.kind = PAT_GLOB;
	k->pat.text = xstrdup(s);
	k->pat.len = strlen(s);
	return k;
}

/* "> 5M", "<10k", ">= 1000", "<=", "=" */
static int parse_comparison(const char *s, enum size_op *op, uint64_t *bytes)
{
	static const struct {
		const char *text;
		enum size_op op;
	} ops[] = {{">=", SIZE_GE}, {"<=", SIZE_LE}, {"==", SIZE_EQ},
	           {">", SIZE_GT},  {"<", SIZE_LT},  {"=", SIZE_EQ}};
	size_t i;

	while (*s == ' ' || *s == '\t')
		s++;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (str_has_prefix(s, ops[i].text))
			break;
	if (i == sizeof(ops) / sizeof(ops[0]))
		return -1;
	*op = ops[i].op;
	s += strlen(ops[i].text);
	while (*s == ' ' || *s == '\t')
		s++;
	return parse_size(s, bytes);
}

static struct cond *compile_size(struct rcc *c, yaml_node_t *n, const char *path)
{
	const char *s = pattern_string(c, n, path);
	struct cond *k;

	if (s == NULL)
		return NULL;
	k = cond_new(c, COND_SIZE, n);
	if (parse_comparison(s, &k->op, &k->size) < 0) {
		rcc_error(c, n, path,
		          "expected a comparison such as '> 5M', '< 10k' or '>= 1000' "
		          "(operators > >= < <= =, units k M G), got '%s'",
		          s);
		cond_free(k);
		return NULL;
	}
	k->size_text = xstrdup(s);
	return k;
}

static bool header_name_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 32 || (unsigned char)*s >= 127 || *s == ':')
			return false;
	return true;
}

static int header_index(struct rules *r, const char *name)
{
	for (size_t i = 0; i < r->nhdr; i++)
		if (strcasecmp(r->hdrnames[i], name) == 0)
			return (int)i;
	r->hdrnames = xrealloc(r->hdrnames, (r->nhdr + 1) * sizeof(char *));
	r->hdrnames[r->nhdr] = xstrdup(name);
	return (int)r->nhdr++;
}

/* {Name: P, ...}: every named header must match. */
/* Closes an "all" list built from a mapping: NULL when a key failed, the
 * single condition itself when there is only one. */
static struct cond *cond_all_done(struct cond *all, int bad)
{
	if (bad) {
		cond_free(all);
		return NULL;
	}
	if (all->nkids == 1) {
		struct cond *one = xmalloc(sizeof(*one));

		*one = all->kids[0];
		all->nkids = 0;
		cond_free(all);
		return one;
	}
	return all;
}

static struct cond *compile_header(struct rcc *c, yaml_node_t *n, const char *path)
{
	struct rkv kv[64];
	size_t nkv, cap = 0;
	struct cond *all;
	char kp[YDOC_PATH_MAX];
	int bad = 0;

	if (n == NULL || n->type != YAML_MAPPING_NODE) {
		rcc_error(c, n, path, "expected a mapping of header names to patterns, got %s",
		          ydoc_kind(n));
		return NULL;
	}
	nkv = rcc_pairs(c, n, path, kv, 64);
	if (nkv == 0) {
		rcc_error(c, n, path, "expected at least one header name");
		return NULL;
	}
	all = cond_new(c, COND_ALL, n);
	for (size_t i = 0; i < nkv; i++) {
		struct cond *k = NULL;

		ydoc_path_key(kp, path, kv[i].key);
		if (!header_name_ok(kv[i].key))
			rcc_error(c, kv[i].k, kp, "not a header field name");
		else
			k = compile_leaf(c, COND_HEADER, kv[i].v, kp,
			                 header_index(c->r, kv[i].key));
		if (k == NULL)
			bad = 1;
		else
			cond_push(all, k, &cap);
	}
	return cond_all_done(all, bad);
}

/* all: [...] / any: [...] */
static struct cond *compile_list(struct rcc *c, enum cond_kind kind, yaml_node_t *n,
                                 const char *path)
{
	yaml_node_item_t *it;
	size_t len, cap = 0;
	struct cond *k;
	char ip[YDOC_PATH_MAX];
	int bad = 0;

	if (n == NULL || n->type != YAML_SEQUENCE_NODE) {
		rcc_error(c, n, path, "expected a list of conditions, got %s", ydoc_kind(n));
		return NULL;
	}
	it = n->data.sequence.items.start;
	len = (size_t)(n->data.sequence.items.top - it);
	if (len == 0) {
		rcc_error(c, n, path, "expected at least one condition");
		return NULL;
	}
	k = cond_new(c, kind, n);
	for (size_t i = 0; i < len; i++) {
		struct cond *kid =
		    cond_compile(c, ydoc_node(c->y, it[i]), ydoc_path_index(ip, path, i));

		if (kid == NULL)
			bad = 1;
		else
			cond_push(k, kid, &cap);
	}
	if (bad) {
		cond_free(k);
		return NULL;
	}
	return k;
}

static struct cond *compile_not(struct rcc *c, yaml_node_t *n, const char *path)
{
	struct cond *k, *kid;

	c->in_not++;
	kid = cond_compile(c, n, path);
	c->in_not--;
	if (kid == NULL)
		return NULL;
	k = cond_new(c, COND_NOT, n);
	k->kids = kid;
	k->nkids = 1;
	return k;
}

static struct cond *compile_key(struct rcc *c, int key, yaml_node_t *v, const char *path)
{
	static const enum cond_kind leaf[] = {COND_FROM,       COND_TO,       COND_SUBJECT,
	                                      COND_HEADER,     COND_BODY,     COND_SIZE,
	                                      COND_ATTACHMENT, COND_FILENAME, COND_ACCOUNT};
	enum cond_kind kind;

	if (key == 9)
		return compile_list(c, COND_ALL, v, path);
	if (key == 10)
		return compile_list(c, COND_ANY, v, path);
	if (key == 11)
		return compile_not(c, v, path);
	kind = leaf[key];
	if (kind == COND_HEADER)
		return compile_header(c, v, path);
	if (kind == COND_SIZE)
		return compile_size(c, v, path);
	if (kind == COND_ATTACHMENT)
		c->r->need_attach = true;
	return compile_leaf(c, kind, v, path, -1);
}

static int cond_key(const char *k)
{
	for (int i = 0; cond_keys[i]; i++)
		if (strcmp(k, cond_keys[i]) == 0)
			return i;
	return -1;
}

/* A mapping of conditions; several keys must all match. */
struct cond *cond_compile(struct rcc *c, yaml_node_t *n, const char *path)
{
	struct rkv kv[32];
	size_t nkv, cap = 0;
	struct cond *all;
	char kp[YDOC_PATH_MAX];
	int bad = 0;

	if (n && n->type == YAML_SEQUENCE_NODE) {
		rcc_error(c, n, path,
		          "expected a mapping of conditions, got a list (use all: or any: "
		          "to combine several)");
		return NULL;
	}
	if (n == NULL || n->type != YAML_MAPPING_NODE) {
		rcc_error(c, n, path, "expected a mapping of conditions, got %s", ydoc_kind(n));
		return NULL;
	}
	if (c->r->ncond > RULES_MAX_CONDS) {
		rcc_error(c, n, path, "more than %d conditions in the rule files", RULES_MAX_CONDS);
		return NULL;
	}
	nkv = rcc_pairs(c, n, path, kv, 32);
	if (nkv == 0) {
		rcc_error(c, n, path,
		          "expected at least one condition; valid keys: from, to, "
		          "subject, header, body, size, attachment, filename, account, "
		          "all, any, not");
		return NULL;
	}
	all = cond_new(c, COND_ALL, n);
	for (size_t i = 0; i < nkv; i++) {
		int key = cond_key(kv[i].key);
		struct cond *k = NULL;

		if (key < 0) {
			rcc_unknown_key(c, kv[i].k, path, cond_keys);
		} else {
			k = compile_key(c, key, kv[i].v, ydoc_path_key(kp, path, kv[i].key));
		}
		if (k == NULL)
			bad = 1;
		else
			cond_push(all, k, &cap);
	}
	return cond_all_done(all, bad);
}

static bool cond_never(const struct cond *k);

bool cond_always(const struct cond *k)
{
	if (k == NULL)
		return true;
	switch (k->kind) {
	case COND_ALL:
		for (size_t i = 0; i < k->nkids; i++)
			if (!cond_always(&k->kids[i]))
				return false;
		return true;
	case COND_ANY:
		for (size_t i = 0; i < k->nkids; i++)
			if (cond_always(&k->kids[i]))
				return true;
		return false;
	case COND_NOT:
		return cond_never(&k->kids[0]);
	case COND_SIZE:
		return k->op == SIZE_GE && k->size == 0;
	case COND_ACCOUNT:
		/* The account always has a value, "" at worst. */
		return k->pat.kind == PAT_GLOB && strspn(k->pat.text, "*") == k->pat.len &&
		       k->pat.len > 0;
	default:
		return false;
	}
}

static bool cond_never(const struct cond *k)
{
	switch (k->kind) {
	case COND_ALL:
		for (size_t i = 0; i < k->nkids; i++)
			if (cond_never(&k->kids[i]))
				return true;
		return false;
	case COND_ANY:
		for (size_t i = 0; i < k->nkids; i++)
			if (!cond_never(&k->kids[i]))
				return false;
		return true;
	case COND_NOT:
		return cond_always(&k->kids[0]);
	case COND_SIZE:
		return k->op == SIZE_LT && k->size == 0;
	default:
		return false;
	}
}
