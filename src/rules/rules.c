/* Rule files -> struct rules: the rule keys, the actions, whole-file checks. */
#include "rules/rules-int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "mail/sniff.h"
#include "util/log.h"
#include "util/str.h"
#include "mail/flags.h"

/* Arguments of a pipe action, and the length of each. */
#define PIPE_MAX_ARGS 64
#define PIPE_MAX_ARG  4096
#define ADDR_MAX      254

static const char *const rule_keys[] = {"name", "if", "then", "continue", NULL};
static const char *const action_keys[] = {"folder",  "keep", "discard", "flag",
                                          "forward", "pipe", NULL};

/* The loader's state across files. */
struct loader {
	struct rules *r;
	struct diag *d;
	int catchall;     /* first rule that ends every evaluation, or -1 */
	bool unreachable; /* reported once */
};

void rcc_error(struct rcc *c, const yaml_node_t *n, const char *path, const char *fmt, ...)
{
	char text[1024], full[YDOC_PATH_MAX + 200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (path && *path)
		snprintf(full, sizeof(full), "%s: %s", c->label, path);
	else
		snprintf(full, sizeof(full), "%s", c->label);
	ydoc_error(c->y, c->d, n, full, "%s", text);
	c->errors++;
}

void rcc_unknown_key(struct rcc *c, yaml_node_t *key, const char *path, const char *const *valid)
{
	struct ydoc anon = *c->y;
	struct diag tmp;
	char prefix[32];
	const char *text;

	/* yamlu words the message (with its "did you mean"); the rule's label
	 * goes in front, so the message is written without a file first. */
	anon.file = NULL;
	diag_init(&tmp);
	ydoc_unknown_key(&anon, &tmp, key, path, valid);
	snprintf(prefix, sizeof(prefix), "%d:%d: ", ydoc_line(key), ydoc_col(key));
	text = tmp.n ? tmp.msgs[0] : "unknown key";
	if (str_has_prefix(text, prefix))
		text += strlen(prefix);
	rcc_error(c, key, "", "%s", text);
	diag_free(&tmp);
}

static bool pairs_have(const struct rkv *out, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(out[i].key, key) == 0)
			return true;
	return false;
}

static size_t merge_pairs(struct rcc *c, yaml_node_t *src, const char *path, struct rkv *out,
                          size_t n, size_t max, int depth);

/* Adds map's own pairs, then what its "<<" keys bring (explicit keys win). */
static size_t collect_pairs(struct rcc *c, yaml_node_t *map, const char *path, struct rkv *out,
                            size_t n, size_t max, int depth)
{
	yaml_node_pair_t *p, *start = map->data.mapping.pairs.start;
	yaml_node_pair_t *top = map->data.mapping.pairs.top;

	for (p = start; p < top; p++) {
		yaml_node_t *k = ydoc_node(c->y, p->key);
		const char *key = ydoc_scalar(k);

		if (key == NULL) {
			rcc_error(c, k, path, "expected a key name, got %s", ydoc_kind(k));
			continue;
		}
		if (strcmp(key, "<<") == 0 || pairs_have(out, n, key))
			continue;
		if (n == max) {
			rcc_error(c, k, path, "more than %zu keys in one mapping", max);
			return n;
		}
		out[n++] = (struct rkv){k, ydoc_node(c->y, p->value), key};
	}
	for (p = start; p < top; p++) {
		const char *key = ydoc_scalar(ydoc_node(c->y, p->key));

		if (key && strcmp(key, "<<") == 0)
			n = merge_pairs(c, ydoc_node(c->y, p->value), path, out, n, max, depth);
	}
	return n;
}

/* "<<: *a" or "<<: [*a, *b]" (earlier sources win). */
static size_t merge_pairs(struct rcc *c, yaml_node_t *src, const char *path, struct rkv *out,
                          size_t n, size_t max, int depth)
{
	if (depth > 8) {
		rcc_error(c, src, path, "merge keys nested too deeply");
		return n;
	}
	if (src && src->type == YAML_MAPPING_NODE)
		return collect_pairs(c, src, path, out, n, max, depth + 1);
	if (src && src->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *i = src->data.sequence.items.start;
		     i < src->data.sequence.items.top; i++) {
			yaml_node_t *m = ydoc_node(c->y, *i);

			if (m == NULL || m->type != YAML_MAPPING_NODE) {
				rcc_error(c, m, path, "<<: expected a mapping to merge");
				continue;
			}
			n = collect_pairs(c, m, path, out, n, max, depth + 1);
		}
		return n;
	}
	rcc_error(c, src, path, "<<: expected a mapping to merge, got %s", ydoc_kind(src));
	return n;
}

size_t rcc_pairs(struct rcc *c, yaml_node_t *map, const char *path, struct rkv *out, size_t max)
{
	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return 0;
	return collect_pairs(c, map, path, out, 0, max, 0);
}

/* ---- folders ------------------------------------------------------------ */

/* Checks a template's variables; *lit gets it with each variable as "x". */
static int folder_vars(struct rcc *c, yaml_node_t *n, const char *path, const char *s, char *lit,
                       size_t litsize)
{
	size_t o = 0;

	for (; *s && o + 2 < litsize; s++) {
		int ref = -1;

		if (*s != '$') {
			lit[o++] = *s;
			continue;
		}
		if (s[1] == '$') {
			lit[o++] = '$';
			s++;
			continue;
		}
		if (s[1] >= '0' && s[1] <= '9') {
			ref = s[1] - '0';
			s++;
		} else if (s[1] == '{' && s[2] >= '0' && s[2] <= '9' && s[3] == '}') {
			ref = s[2] - '0';
			s += 3;
		} else if (str_has_prefix(s + 1, "{account}")) {
			s += strlen("{account}");
		} else {
			rcc_error(c, n, path,
			          "unknown variable at '%.12s'; use $1..$9, ${account}, or $$ for "
			          "a dollar sign",
			          s);
			return -1;
		}
		if (ref >= 0 && (size_t)ref > c->maxgroups) {
			if (c->maxgroups == 0)
				rcc_error(c, n, path,
				          "'$%d' used but the rule has no regex condition with "
				          "groups (outside not:)",
				          ref);
			else
				rcc_error(c, n, path,
				          "'$%d' used but the rule's regexes have only %zu group%s",
				          ref, c->maxgroups, c->maxgroups == 1 ? "" : "s");
			return -1;
		}
		lit[o++] = 'x';
	}
	lit[o] = '\0';
	return 0;
}

/* Each level of "A/B" must be a usable name once variables are filled. */
static int folder_levels(struct rcc *c, yaml_node_t *n, const char *path, const char *lit)
{
	const char *p = lit;

	for (;;) {
		size_t len = strcspn(p, "/");

		if (len == 0)
			return rcc_error(c, n, path, "empty folder level in '%s'", lit), -1;
		if (*p == '.')
			return rcc_error(c, n, path, "a folder level cannot start with '.'"), -1;
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)p[i] < 32 || p[i] == 127)
				return rcc_error(c, n, path, "control character in folder name"),
				       -1;
		if (p[len] == '\0')
			return 0;
		p += len + 1;
	}
}

static int compile_folder(struct rcc *c, yaml_node_t *n, const char *path, struct actions *a)
{
	const char *s = NULL;
	char lit[RULES_FOLDER_MAX + 8];

	if (n && n->type == YAML_SCALAR_NODE && !ydoc_is_null(n))
		s = ydoc_scalar(n);
	if (s == NULL)
		return rcc_error(c, n, path, "expected a folder name, got %s", ydoc_kind(n)), -1;
	if (strlen(s) > RULES_FOLDER_MAX)
		return rcc_error(c, n, path, "folder name longer than %d bytes", RULES_FOLDER_MAX),
		       -1;
	if (folder_vars(c, n, path, s, lit, sizeof(lit)) < 0 || folder_levels(c, n, path, lit) < 0)
		return -1;
	a->folders = xrealloc(a->folders, (a->nfolders + 1) * sizeof(*a->folders));
	a->folders[a->nfolders++] = (struct folder_tmpl){xstrdup(s), false};
	return 0;
}

static void add_keep(struct actions *a)
{
	a->folders = xrealloc(a->folders, (a->nfolders + 1) * sizeof(*a->folders));
	a->folders[a->nfolders++] = (struct folder_tmpl){xstrdup("INBOX"), true};
}

/* ---- flags, forwards, pipes --------------------------------------------- */

/* Calls fn on n, or on each item of n when it is a list. */
static int each_item(struct rcc *c, yaml_node_t *n, const char *path, struct actions *a,
                     int (*fn)(struct rcc *, yaml_node_t *, const char *, struct actions *))
{
	char ip[YDOC_PATH_MAX];
	int rc = 0;

	if (n == NULL || n->type != YAML_SEQUENCE_NODE)
		return fn(c, n, path, a);
	if (n->data.sequence.items.top == n->data.sequence.items.start)
		return rcc_error(c, n, path, "expected at least one value"), -1;
	for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top;
	     i++) {
		size_t idx = (size_t)(i - n->data.sequence.items.start);

		if (fn(c, ydoc_node(c->y, *i), ydoc_path_index(ip, path, idx), a) < 0)
			rc = -1;
	}
	return rc;
}

static int one_flag(struct rcc *c, yaml_node_t *n, const char *path, struct actions *a)
{
	const char *s = n && !ydoc_is_null(n) ? ydoc_scalar(n) : NULL;

	for (int i = 0; s && mail_rule_flag_names[i]; i++)
		if (strcasecmp(s, mail_rule_flag_names[i]) == 0) {
			a->flags |= mail_rule_flag_bits[i];
			return 0;
		}
	if (s)
		rcc_error(c, n, path,
		          "unknown flag '%s'; valid flags: seen, flagged, answered, draft", s);
	else
		rcc_error(c, n, path, "expected a flag name, got %s", ydoc_kind(n));
	return -1;
}

static bool address_ok(const char *s)
{
	const char *at = strrchr(s, '@');

	if (at == NULL || at == s || at[1] == '\0' || strlen(s) > ADDR_MAX)
		return false;
	/* One bare addr-spec: no display name, no list, no white space. */
	for (; *s; s++)
		if ((unsigned char)*s <= 32 || *s == 127 || strchr("<>,;()[]", *s))
			return false;
	return true;
}

static struct act_pos act_pos_at(const yaml_node_t *n, const char *path)
{
	return (struct act_pos){.line = ydoc_line(n), .col = ydoc_col(n), .path = xstrdup(path)};
}

static int one_forward(struct rcc *c, yaml_node_t *n, const char *path, struct actions *a)
{
	const char *s = n && !ydoc_is_null(n) ? ydoc_scalar(n) : NULL;

	if (s == NULL)
		return rcc_error(c, n, path, "expected an address, got %s", ydoc_kind(n)), -1;
	if (!address_ok(s))
		return rcc_error(c, n, path,
		                 "expected one address such as me@example.com, got '%s'", s),
		       -1;
	a->forwards = xrealloc(a->forwards, (a->nforwards + 1) * sizeof(char *));
	a->forward_pos = xrealloc(a->forward_pos, (a->nforwards + 1) * sizeof(*a->forward_pos));
	a->forward_pos[a->nforwards] = act_pos_at(n, path);
	a->forwards[a->nforwards++] = xstrdup(s);
	return 0;
}

static int pipe_argv_check(struct rcc *c, yaml_node_t *n, const char *path, char **argv, int argc)
{
	if (argc <= 0 || argv[0][0] == '\0')
		return rcc_error(c, n, path, "expected a command"), -1;
	if (argc > PIPE_MAX_ARGS)
		return rcc_error(c, n, path, "more than %d arguments", PIPE_MAX_ARGS), -1;
	for (int i = 0; i < argc; i++)
		if (strlen(argv[i]) > PIPE_MAX_ARG)
			return rcc_error(c, n, path, "argument longer than %d bytes", PIPE_MAX_ARG),
			       -1;
	return 0;
}

/* pipe: [argv...], or a string split into words without a shell. */
static int compile_pipe(struct rcc *c, yaml_node_t *n, const char *path, struct actions *a)
{
	char **argv = NULL;
	size_t count = 0;
	int argc;

	if (n && n->type == YAML_SCALAR_NODE && !ydoc_is_null(n)) {
		argc = argv_split(ydoc_scalar(n), &argv);
		if (argc < 0)
			return rcc_error(c, n, path, "unterminated quote in command"), -1;
	} else {
		if (ydoc_strings(c->y, c->d, n, path, &argv, &count) < 0) {
			c->errors++;
			return -1;
		}
		argc = (int)count;
	}
	if (pipe_argv_check(c, n, path, argv, argc) < 0) {
		argv_free(argv);
		return -1;
	}
	a->pipes = xrealloc(a->pipes, (a->npipes + 1) * sizeof(char **));
	a->pipe_pos = xrealloc(a->pipe_pos, (a->npipes + 1) * sizeof(*a->pipe_pos));
	a->pipe_pos[a->npipes] = act_pos_at(n, path);
	a->pipes[a->npipes++] = argv;
	return 0;
}

/* ---- then ----------------------------------------------------------------- */

int rcc_bool(struct rcc *c, yaml_node_t *n, const char *path, bool *out)
{
	struct diag quiet;
	int rc;

	diag_init(&quiet);
	rc = ydoc_bool(c->y, &quiet, n, path, out);
	diag_free(&quiet);
	if (rc < 0)
		rcc_error(c, n, path, "expected true or false, got %s%s%s%s", ydoc_kind(n),
		          ydoc_scalar(n) ? " '" : "", ydoc_scalar(n) ? ydoc_scalar(n) : "",
		          ydoc_scalar(n) ? "'" : "");
	return rc;
}

static int action_pair(struct rcc *c, const struct rkv *kv, const char *path, struct actions *a)
{
	char kp[YDOC_PATH_MAX];
	bool on = false;

	ydoc_path_key(kp, path, kv->key);
	if (strcmp(kv->key, "folder") == 0)
		return compile_folder(c, kv->v, kp, a);
	if (strcmp(kv->key, "flag") == 0)
		return each_item(c, kv->v, kp, a, one_flag);
	if (strcmp(kv->key, "forward") == 0)
		return each_item(c, kv->v, kp, a, one_forward);
	if (strcmp(kv->key, "pipe") == 0)
		return compile_pipe(c, kv->v, kp, a);
	if (strcmp(kv->key, "keep") == 0 || strcmp(kv->key, "discard") == 0) {
		/* "{keep}" (a key without a value) means what it says. */
		if (ydoc_is_null(kv->v))
			on = true;
		else if (rcc_bool(c, kv->v, kp, &on) < 0)
			return -1;
		if (on && kv->key[0] == 'k')
			add_keep(a);
		else if (on)
			a->discard = true;
		return 0;
	}
	rcc_unknown_key(c, kv->k, path, action_keys);
	return -1;
}

static int action_scalar(struct rcc *c, yaml_node_t *n, const char *path, struct actions *a)
{
	const char *s = ydoc_scalar(n);

	if (strcmp(s, "keep") == 0) {
		add_keep(a);
		return 0;
	}
	if (strcmp(s, "discard") == 0) {
		a->discard = true;
		return 0;
	}
	for (int i = 0; action_keys[i]; i++)
		if (strcmp(s, action_keys[i]) == 0)
			return rcc_error(c, n, path, "'%s' needs a value: {%s: ...}", s, s), -1;
	rcc_error(c, n, path,
	          "unknown action '%s'; valid actions: keep, discard, folder, flag, forward, pipe",
	          s);
	return -1;
}

static int action_item(struct rcc *c, yaml_node_t *n, const char *path, struct actions *a)
{
	struct rkv kv[16];
	size_t nkv;
	int rc = 0;

	if (n && n->type == YAML_SCALAR_NODE && !ydoc_is_null(n))
		return action_scalar(c, n, path, a);
	if (n == NULL || n->type != YAML_MAPPING_NODE)
		return rcc_error(c, n, path, "expected an action, got %s", ydoc_kind(n)), -1;
	nkv = rcc_pairs(c, n, path, kv, 16);
	if (nkv == 0)
		return rcc_error(c, n, path, "expected at least one action"), -1;
	for (size_t i = 0; i < nkv; i++)
		if (action_pair(c, &kv[i], path, a) < 0)
			rc = -1;
	return rc;
}

static int compile_then(struct rcc *c, yaml_node_t *n, const char *path, struct actions *a)
{
	char ip[YDOC_PATH_MAX];
	int rc = 0;

	if (n && n->type == YAML_SEQUENCE_NODE) {
		yaml_node_item_t *it = n->data.sequence.items.start;
		size_t len = (size_t)(n->data.sequence.items.top - it);

		if (len == 0)
			return rcc_error(c, n, path, "expected at least one action"), -1;
		for (size_t i = 0; i < len; i++) {
			yaml_node_t *item = ydoc_node(c->y, it[i]);

			ydoc_path_index(ip, path, i);
			if (item && item->type == YAML_SEQUENCE_NODE) {
				rcc_error(c, item, ip, "expected an action, got a list");
				rc = -1;
			} else if (action_item(c, item, ip, a) < 0) {
				rc = -1;
			}
		}
	} else {
		rc = action_item(c, n, path, a);
	}
	if (rc == 0 && a->discard && (a->nfolders > 0 || a->flags))
		return rcc_error(
		           c, n, path,
		           "discard cannot be combined with folder, keep or flag in one rule"),
		       -1;
	if (rc == 0 && !a->discard && a->nfolders + a->nforwards + a->npipes == 0 && !a->flags)
		return rcc_error(c, n, path, "no action to take"), -1;
	return rc;
}

static void actions_free(struct actions *a)
{
	for (size_t i = 0; i < a->nfolders; i++)
		free(a->folders[i].text);
	free(a->folders);
	for (size_t i = 0; i < a->nforwards; i++) {
		free(a->forwards[i]);
		free(a->forward_pos[i].path);
	}
	free(a->forwards);
	free(a->forward_pos);
	for (size_t i = 0; i < a->npipes; i++) {
		argv_free(a->pipes[i]);
		free(a->pipe_pos[i].path);
	}
	free(a->pipes);
	free(a->pipe_pos);
}

/* ---- rules ---------------------------------------------------------------- */

void rules_label(char *out, size_t n, int index, const char *name)
{
	if (name)
		snprintf(out, n, "rule #%d \"%.100s\"", index, name);
	else
		snprintf(out, n, "rule #%d", index);
}

static const struct rkv *find_pair(const struct rkv *kv, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(kv[i].key, key) == 0)
			return &kv[i];
	return NULL;
}

static struct rule *rule_slot(struct rules *r)
{
	struct rule *ru;

	r->v = xreallocarray_grow(r->v, &r->cap, r->n + 1, sizeof(*r->v));
	ru = &r->v[r->n];
	memset(ru, 0, sizeof(*ru));
	return ru;
}

static void rule_release(struct rule *ru)
{
	cond_free(ru->cond);
	actions_free(&ru->act);
	free(ru->name);
}

/* name:, if:, then:, continue: of one rule, in that order. */
static int rule_body(struct rcc *c, yaml_node_t *n, struct rule *ru)
{
	struct rkv kv[16];
	size_t nkv = rcc_pairs(c, n, "", kv, 16);
	const struct rkv *p;
	int before = c->errors;

	for (size_t i = 0; i < nkv; i++) {
		bool known = false;

		for (int k = 0; rule_keys[k] && !known; k++)
			known = strcmp(kv[i].key, rule_keys[k]) == 0;
		if (!known)
			rcc_unknown_key(c, kv[i].k, "", rule_keys);
	}
	p = find_pair(kv, nkv, "if");
	if (p && ydoc_is_null(p->v))
		rcc_error(c, p->v, "if",
		          "expected conditions, got an empty value (leave 'if' out to match every "
		          "message)");
	else if (p)
		ru->cond = cond_compile(c, p->v, "if");
	p = find_pair(kv, nkv, "then");
	if (p == NULL)
		rcc_error(c, n, "", "missing 'then': what to do with the messages that match");
	else
		compile_then(c, p->v, "then", &ru->act);
	p = find_pair(kv, nkv, "continue");
	if (p)
		rcc_bool(c, p->v, "continue", &ru->cont);
	return c->errors > before ? -1 : 0;
}

static const char *rule_name(struct rcc *c, yaml_node_t *n)
{
	struct rkv kv[16];
	struct rcc quiet = *c;
	struct diag none;
	const struct rkv *p;
	size_t nkv;

	/* The name labels every message, so it is read first, silently. */
	diag_init(&none);
	quiet.d = &none;
	nkv = rcc_pairs(&quiet, n, "", kv, 16);
	diag_free(&none);
	p = find_pair(kv, nkv, "name");
	if (p && p->v && p->v->type == YAML_SCALAR_NODE && !ydoc_is_null(p->v))
		return ydoc_scalar(p->v);
	if (p)
		rcc_error(c, p->v, "name", "expected a string, got %s", ydoc_kind(p->v));
	return NULL;
}

static void check_reachable(struct loader *l, struct rcc *c, yaml_node_t *n)
{
	const struct rule_info *ci;

	if (l->catchall < 0 || l->unreachable)
		return;
	ci = &l->r->v[l->catchall].info;
	l->unreachable = true;
	rcc_error(c, n, "",
	          "unreachable: rule #%d%s%s%s (%s:%d) matches every message and has no "
	          "'continue: true'",
	          ci->index, ci->name ? " \"" : "", ci->name ? ci->name : "", ci->name ? "\"" : "",
	          ci->file, ci->line);
}

static void compile_rule(struct loader *l, struct ydoc *y, const char *file, yaml_node_t *n,
                         int index)
{
	struct rcc c = {.y = y, .d = l->d, .r = l->r};
	const char *name;
	struct rule *ru;

	rules_label(c.label, sizeof(c.label), index, NULL);
	if (n == NULL || n->type != YAML_MAPPING_NODE) {
		rcc_error(&c, n, "", "expected a rule (a mapping with if: and then:), got %s",
		          ydoc_kind(n));
		return;
	}
	name = rule_name(&c, n);
	rules_label(c.label, sizeof(c.label), index, name);
	check_reachable(l, &c, n);
	ru = rule_slot(l->r);
	ru->name = name ? xstrdup(name) : NULL;
	ru->info = (struct rule_info){ru->name, file, ydoc_line(n), index};
	if (rule_body(&c, n, ru) < 0) {
		rule_release(ru);
		return;
	}
	if (!ru->cont && cond_always(ru->cond) && l->catchall < 0)
		l->catchall = (int)l->r->n;
	l->r->n++;
}

/* The rules of a document: a list, or {rules: [...]}. */
static yaml_node_t *rule_list(struct ydoc *y, struct diag *d)
{
	yaml_node_t *root = ydoc_root(y);
	yaml_node_t *list = root;

	if (root && root->type == YAML_MAPPING_NODE) {
		if (ydoc_check_keys(y, d, root, "", (const char *const[]){"rules", NULL}) > 0)
			return NULL;
		list = ydoc_get(y, root, "rules");
	}
	if (list && list->type == YAML_SEQUENCE_NODE)
		return list;
	ydoc_error(y, d, list ? list : root, root == list ? "" : "rules",
	           "expected a list of rules, got %s", ydoc_kind(list));
	return NULL;
}

static const char *keep_file_name(struct rules *r, const char *name)
{
	r->files = xrealloc(r->files, (r->nfiles + 1) * sizeof(char *));
	r->files[r->nfiles] = xstrdup(name);
	return r->files[r->nfiles++];
}

static void compile_doc(struct loader *l, struct ydoc *y, const char *name)
{
	const char *file = keep_file_name(l->r, name);
	yaml_node_t *list = rule_list(y, l->d);

	if (list == NULL)
		return;
	for (yaml_node_item_t *i = list->data.sequence.items.start;
	     i < list->data.sequence.items.top; i++)
		compile_rule(l, y, file, ydoc_node(y, *i),
		             (int)(i - list->data.sequence.items.start) + 1);
}

static struct rules *finish(struct loader *l, size_t errors_before, const char *first_file)
{
	char err[256];

	if (l->d->n == errors_before && l->r->need_attach) {
		l->r->sniffer = sniffer_new(err, sizeof(err));
		if (l->r->sniffer == NULL)
			diag_add(l->d, first_file, 0, 0, "attachment conditions need libmagic: %s",
			         err);
	}
	if (l->d->n > errors_before) {
		rules_free(l->r);
		return NULL;
	}
	return l->r;
}

struct rules *rules_load(char *const *files, size_t nfiles, struct diag *d)
{
	struct loader l = {xcalloc(1, sizeof(struct rules)), d, -1, false};
	size_t before = d->n;

	for (size_t i = 0; i < nfiles; i++) {
		struct ydoc y;

		if (ydoc_load(&y, files[i], d) == 0)
			compile_doc(&l, &y, files[i]);
		ydoc_free(&y);
	}
	return finish(&l, before, nfiles ? files[0] : NULL);
}

struct rules *rules_load_string(const char *name, const char *text, size_t len, struct diag *d)
{
	struct loader l = {xcalloc(1, sizeof(struct rules)), d, -1, false};
	size_t before = d->n;
	struct ydoc y;

	if (ydoc_load_string(&y, name, text, len, d) == 0)
		compile_doc(&l, &y, name);
	ydoc_free(&y);
	return finish(&l, before, name);
}

void rules_free(struct rules *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		rule_release(&r->v[i]);
	free(r->v);
	for (size_t i = 0; i < r->nfiles; i++)
		free(r->files[i]);
	free(r->files);
	for (size_t i = 0; i < r->nhdr; i++)
		free(r->hdrnames[i]);
	free(r->hdrnames);
	sniffer_free(r->sniffer);
	free(r);
}

size_t rules_count(const struct rules *r)
{
	return r->n;
}

const struct rule_info *rules_info(const struct rules *r, int idx)
{
	if (idx < 0 || (size_t)idx >= r->n)
		return NULL;
	return &r->v[idx].info;
}
