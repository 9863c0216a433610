/*
 * corral test: a dry run of the rules. For each message (a message file, an
 * mbox, a Maildir folder) one line says where it would go; --explain adds
 * the trace of every rule and condition. --expect runs a file of expected
 * outcomes (a rule set's tests) and exits 1 on any mismatch.
 *
 * Nothing is written anywhere: no delivery, no dedupe record, no state.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sysexits.h>

#include "cli/commands.h"
#include "cli/help.h"
#include "config/config.h"
#include "store/maildir.h"
#include "store/mbox.h"
#include "mail/message.h"
#include "rules/rules.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"
#include "util/yamlu.h"
#include "mail/flags.h"

/* Rule sets one run may load: the defaults plus the rules: of expect entries. */
#define TEST_MAX_RULESETS 64

struct ruleset {
	char *key; /* "--rules", "config", "account:NAME" or a rule file's path */
	struct rules *r;
};

struct test_run {
	struct cli *cli;
	bool explain;
	const char *account; /* -a */
	char **rules_files;  /* --rules, in order */
	size_t nrules_files;
	struct config *cfg;
	bool cfg_tried;
	struct rules_trace *trace;
	struct ruleset sets[TEST_MAX_RULESETS];
	size_t nsets;
};

/* ---- rule sets ---- */

static struct rules *load_files(char *const *files, size_t n)
{
	struct diag d;
	struct rules *r;

	diag_init(&d);
	r = rules_load(files, n, &d);
	diag_print(&d, stderr);
	diag_free(&d);
	return r;
}

static struct config *run_config(struct test_run *t)
{
	if (!t->cfg_tried) {
		t->cfg_tried = true;
		t->cfg = cli_load_config(t->cli);
	}
	return t->cfg;
}

/* The rule set of key, loaded from files on first use; a failure is remembered too. */
static struct rules *rule_set(struct test_run *t, const char *key, char *const *files, size_t n)
{
	for (size_t i = 0; i < t->nsets; i++)
		if (strcmp(t->sets[i].key, key) == 0)
			return t->sets[i].r;
	if (t->nsets == TEST_MAX_RULESETS) {
		log_err("more than %d different rule sets in one run", TEST_MAX_RULESETS);
		return NULL;
	}
	t->sets[t->nsets].key = xstrdup(key);
	t->sets[t->nsets].r = load_files(files, n);
	return t->sets[t->nsets++].r;
}

/* The config's rules, or the account's own when it has some. *rc gets the exit status. */
static struct rules *config_rules(struct test_run *t, const char *account, int *rc)
{
	const struct config *cfg = run_config(t);
	const struct account *a = NULL;
	char key[300];

	*rc = EX_CONFIG;
	if (cfg == NULL)
		return NULL;
	if (account != NULL && (a = config_account(cfg, account)) == NULL) {
		log_err("%s: no account '%s' (corral test -a takes an account's name)", cfg->path,
		        account);
		*rc = EX_USAGE;
		return NULL;
	}
	if (a == NULL || a->rules.n == 0)
		return rule_set(t, "config", cfg->rules.v, cfg->rules.n);
	snprintf(key, sizeof(key), "account:%s", a->name);
	return rule_set(t, key, a->rules.v, a->rules.n);
}

/*
 * The rules for a message: file (an expect entry's rules:) when given, else
 * --rules, else the config's. Problems are printed; NULL then, with *rc.
 */
static struct rules *test_rules(struct test_run *t, const char *file, const char *account, int *rc)
{
	char *one[1] = {(char *)file};

	*rc = EX_CONFIG;
	if (file != NULL)
		return rule_set(t, file, one, 1);
	if (t->nrules_files > 0)
		return rule_set(t, "--rules", t->rules_files, t->nrules_files);
	return config_rules(t, account, rc);
}

/* ---- one message ---- */

static void test_eval(struct test_run *t, struct rules *r, const char *data, size_t len,
                      const char *account, struct rules_outcome *out)
{
	struct rules_input in = {.account = account, .size = len};
	struct msg m;

	msg_init(&m, data, len);
	rules_eval(r, &m, &in, out, t->explain ? t->trace : NULL);
	msg_free(&m);
}

/* The trace of the last test_eval(), indented under its message's line. */
static void test_print_trace(struct test_run *t)
{
	char *text = rules_trace_text(t->trace);

	for (const char *p = text; *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);

		printf("    %.*s\n", (int)n, p);
		p += n + (nl != NULL);
	}
	free(text);
}

/* A label for the terminal: control characters of hostile file names become '?'. */
static void put_label(const char *s)
{
	for (; *s != '\0'; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static void show_one(struct test_run *t, struct rules *r, const char *label, size_t index,
                     const char *data, size_t len)
{
	struct rules_outcome out;
	char *text;

	test_eval(t, r, data, len, t->account, &out);
	text = rules_outcome_text(r, &out);
	put_label(label);
	if (index > 0)
		printf(":%zu", index);
	printf(": %s\n", text);
	if (t->explain) {
		test_print_trace(t);
		putchar('\n');
	}
	free(text);
	rules_outcome_free(&out);
}

/* ---- inputs ---- */

/* A file of messages; whole: one message even if it starts with "From " (a Maildir file). */
static int test_file(struct test_run *t, struct rules *r, const char *path, bool whole)
{
	struct mfile f;
	struct mbox *mb;
	const char *data;
	size_t len;
	char err[512];

	if (mfile_read(path, &f, err, sizeof(err)) < 0) {
		log_err("%s", err);
		return EX_DATAERR;
	}
	if (f.len == 0) {
		log_err("%s: empty file: not a message", path);
		mfile_free(&f);
		return EX_DATAERR;
	}
	if (whole) {
		show_one(t, r, path, 0, f.data, f.len);
		mfile_free(&f);
		return 0;
	}
	mb = mbox_new(f.data, f.len);
	while (mbox_next(mb, &data, &len) == 1)
		show_one(t, r, path, mbox_is_mbox(mb) ? mbox_index(mb) : 0, data, len);
	mbox_close(mb);
	mfile_free(&f);
	return 0;
}

static int test_folder(struct test_run *t, struct rules *r, const char *dir)
{
	struct mdir_list l;
	char err[512];
	int rc = 0;

	if (!mdir_is_folder(dir)) {
		log_err("%s: a directory, but not a Maildir folder (no new/ and cur/)", dir);
		return EX_DATAERR;
	}
	if (mdir_list(dir, &l, err, sizeof(err)) < 0) {
		log_err("%s", err);
		return EX_DATAERR;
	}
	for (size_t i = 0; i < l.n; i++)
		if (test_file(t, r, l.v[i].path, true) != 0)
			rc = EX_DATAERR;
	mdir_list_free(&l);
	return rc;
}

static int test_path(struct test_run *t, struct rules *r, const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return test_folder(t, r, path);
	return test_file(t, r, path, false);
}

/* ---- --expect: a rule set's tests ---- */

/* One entry of an expect file: a message and the whole outcome it must get. */
struct expect {
	char *label;   /* name:, else message: as written */
	char *message; /* resolved against the expect file's directory */
	int line;
	char *account;
	char *rules; /* resolved, or NULL for the run's default rules */
	char **folders;
	size_t nfolders;
	bool has_folders;
	unsigned flags;
	char **forwards;
	size_t nforwards;
	char **pipes; /* each command's argv joined by spaces */
	size_t npipes;
	bool discard;
};

static const char *const expect_keys[] = {"message", "name",    "account", "rules",
                                          "folder",  "folders", "flags",   "forward",
                                          "pipe",    "discard", NULL};

struct eparse {
	struct ydoc *y;
	struct diag *d;
	const char *dir; /* the expect file's directory */
};

static char *join_argv(char **argv)
{
	struct buf b;

	buf_init(&b, 64 * 1024);
	for (size_t i = 0; argv[i] != NULL; i++)
		if (buf_printf(&b, "%s%s", i ? " " : "", argv[i]) < 0)
			break; /* a 64 KiB command line is shown cut */
	return buf_steal(&b, NULL);
}

static void add_str(char ***v, size_t *n, char *s)
{
	*v = xrealloc(*v, (*n + 2) * sizeof(char *));
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

static yaml_node_item_t *seq_items(yaml_node_t *n, size_t *len)
{
	*len = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	return n->data.sequence.items.start;
}

/* pipe: "cmd arg", [cmd, arg] (one command) or [[cmd, arg], [cmd2]] (several). */
static int parse_pipe(struct eparse *p, yaml_node_t *n, const char *path, struct expect *e)
{
	char ip[YDOC_PATH_MAX], **argv;
	yaml_node_item_t *it;
	size_t len, nargv;
	int bad = 0;

	if (n->type == YAML_SCALAR_NODE) {
		if (argv_split(ydoc_scalar(n), &argv) <= 0) {
			ydoc_error(p->y, p->d, n, path, "expected a command (unterminated quote?)");
			return -1;
		}
		add_str(&e->pipes, &e->npipes, join_argv(argv));
		argv_free(argv);
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE || (it = seq_items(n, &len), len == 0) ||
	    ydoc_node(p->y, it[0])->type != YAML_SEQUENCE_NODE) {
		if (ydoc_strings(p->y, p->d, n, path, &argv, &nargv) < 0)
			return -1;
		add_str(&e->pipes, &e->npipes, join_argv(argv));
		argv_free(argv);
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		if (ydoc_strings(p->y, p->d, ydoc_node(p->y, it[i]), ydoc_path_index(ip, path, i),
		                 &argv, &nargv) < 0) {
			bad = -1;
			continue;
		}
		add_str(&e->pipes, &e->npipes, join_argv(argv));
		argv_free(argv);
	}
	return bad;
}

static int parse_flags(struct eparse *p, yaml_node_t *n, const char *path, unsigned *flags)
{
	char ip[YDOC_PATH_MAX];
	yaml_node_item_t *it;
	size_t len;
	int idx, bad = 0;

	if (n->type == YAML_SCALAR_NODE) {
		if (ydoc_enum(p->y, p->d, n, path, mail_rule_flag_names, &idx) < 0)
			return -1;
		*flags |= mail_rule_flag_bits[idx];
		return 0;
	}
	if (ydoc_expect(p->y, p->d, n, path, YAML_SEQUENCE_NODE) < 0)
		return -1;
	it = seq_items(n, &len);
	for (size_t i = 0; i < len; i++) {
		if (ydoc_enum(p->y, p->d, ydoc_node(p->y, it[i]), ydoc_path_index(ip, path, i),
		              mail_rule_flag_names, &idx) < 0)
			bad = -1;
		else
			*flags |= mail_rule_flag_bits[idx];
	}
	return bad;
}

/* A path in the expect file, relative to the expect file's directory. */
static int parse_path(struct eparse *p, yaml_node_t *n, const char *path, char **out)
{
	const char *why = NULL;
	char *s;

	if (ydoc_string(p->y, p->d, n, path, &s) < 0)
		return -1;
	*out = path_expand(s, p->dir, &why);
	if (*out == NULL)
		ydoc_error(p->y, p->d, n, path, "%s", why);
	free(s);
	return *out != NULL ? 0 : -1;
}

/* Parses one value of an entry; returns 0 or -1 (reported). */
static int parse_value(struct eparse *p, const char *key, yaml_node_t *v, const char *path,
                       struct expect *e)
{
	if (strcmp(key, "message") == 0)
		return parse_path(p, v, path, &e->message);
	if (strcmp(key, "rules") == 0)
		return parse_path(p, v, path, &e->rules);
	if (strcmp(key, "name") == 0)
		return ydoc_string(p->y, p->d, v, path, &e->label);
	if (strcmp(key, "account") == 0)
		return ydoc_string(p->y, p->d, v, path, &e->account);
	if (strcmp(key, "folder") == 0 || strcmp(key, "folders") == 0) {
		e->has_folders = true;
		if (ydoc_is_null(v))
			return 0; /* folders: [] or folders: ~ : no delivery at all */
		if (v->type == YAML_SEQUENCE_NODE &&
		    v->data.sequence.items.top == v->data.sequence.items.start)
			return 0;
		return ydoc_strings(p->y, p->d, v, path, &e->folders, &e->nfolders);
	}
	if (strcmp(key, "flags") == 0)
		return parse_flags(p, v, path, &e->flags);
	if (strcmp(key, "forward") == 0)
		return ydoc_strings(p->y, p->d, v, path, &e->forwards, &e->nforwards);
	if (strcmp(key, "pipe") == 0)
		return parse_pipe(p, v, path, e);
	return ydoc_bool(p->y, p->d, v, path, &e->discard); /* discard */
}

static int parse_entry(struct eparse *p, yaml_node_t *n, size_t i, struct expect *e)
{
	char ep[YDOC_PATH_MAX], kp[YDOC_PATH_MAX];
	int bad = 0;

	memset(e, 0, sizeof(*e));
	e->line = ydoc_line(n);
	ydoc_path_index(ep, "", i);
	if (ydoc_expect(p->y, p->d, n, ep, YAML_MAPPING_NODE) < 0)
		return -1;
	if (ydoc_check_keys(p->y, p->d, n, ep, expect_keys) > 0)
		bad = -1;
	if (ydoc_get(p->y, n, "folder") != NULL && ydoc_get(p->y, n, "folders") != NULL) {
		ydoc_error(p->y, p->d, n, ep, "give folder: or folders:, not both");
		bad = -1;
	}
	for (yaml_node_pair_t *kv = n->data.mapping.pairs.start; kv < n->data.mapping.pairs.top;
	     kv++) {
		const char *key = ydoc_scalar(ydoc_node(p->y, kv->key));
		bool known = false;

		for (size_t k = 0; key != NULL && expect_keys[k] != NULL; k++)
			known = known || strcmp(key, expect_keys[k]) == 0;
		if (known && parse_value(p, key, ydoc_node(p->y, kv->value),
		                         ydoc_path_key(kp, ep, key), e) < 0)
			bad = -1;
	}
	if (e->message == NULL && bad == 0) {
		ydoc_error(p->y, p->d, n, ep, "missing 'message': the message file to test");
		bad = -1;
	}
	if (e->label == NULL && e->message != NULL)
		e->label = xstrdup(ydoc_scalar(ydoc_get(p->y, n, "message")));
	return bad;
}

static void expect_free(struct expect *e)
{
	free(e->label);
	free(e->message);
	free(e->account);
	free(e->rules);
	argv_free(e->folders);
	argv_free(e->forwards);
	argv_free(e->pipes);
}

/* Loads an expect file into *out; every problem is printed. 0, or -1. */
static int expect_load(const char *file, struct expect **out, size_t *nout)
{
	struct ydoc y;
	struct diag d;
	char *slash = strrchr(file, '/');
	char *dir = slash ? xstrndup(file, (size_t)(slash - file)) : xstrdup(".");
	struct eparse p = {.y = &y, .d = &d, .dir = dir};
	yaml_node_item_t *it;
	size_t len = 0;
	yaml_node_t *root;

	diag_init(&d);
	*out = NULL;
	*nout = 0;
	if (ydoc_load(&y, file, &d) == 0 && (root = ydoc_root(&y)) != NULL &&
	    ydoc_expect(&y, &d, root, "", YAML_SEQUENCE_NODE) == 0) {
		it = seq_items(root, &len);
		if (len == 0)
			ydoc_error(&y, &d, root, "", "no tests: expected a list of {message: ...}");
		*out = xcalloc(len + 1, sizeof(**out));
		for (size_t i = 0; i < len; i++)
			parse_entry(&p, ydoc_node(&y, it[i]), i, &(*out)[i]);
		*nout = len;
	}
	diag_print(&d, stderr);
	ydoc_free(&y);
	free(dir);
	if (d.n == 0) {
		diag_free(&d);
		return 0;
	}
	diag_free(&d);
	for (size_t i = 0; i < *nout; i++)
		expect_free(&(*out)[i]);
	free(*out);
	*out = NULL;
	*nout = 0;
	return -1;
}

/* ---- comparing an outcome with an entry ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_icase(const void *a, const void *b)
{
	return strcasecmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted copies compare equal; "inbox" is INBOX in both. */
static bool same_set(char **want, size_t nwant, char **got, size_t ngot,
                     int (*cmp)(const void *, const void *))
{
	const char **a, **b;
	bool same = nwant == ngot;

	if (!same || nwant == 0)
		return same;
	a = xcalloc(nwant, sizeof(*a));
	b = xcalloc(ngot, sizeof(*b));
	for (size_t i = 0; i < nwant; i++) {
		a[i] = strcasecmp(want[i], "INBOX") == 0 ? "INBOX" : want[i];
		b[i] = strcasecmp(got[i], "INBOX") == 0 ? "INBOX" : got[i];
	}
	qsort(a, nwant, sizeof(*a), cmp);
	qsort(b, ngot, sizeof(*b), cmp);
	for (size_t i = 0; i < nwant && same; i++)
		same = cmp(&a[i], &b[i]) == 0;
	free(a);
	free(b);
	return same;
}

static void put_list(struct buf *b, char **v, size_t n)
{
	buf_putc(b, '[');
	for (size_t i = 0; i < n; i++)
		buf_printf(b, "%s%s", i ? ", " : "", v[i]);
	buf_putc(b, ']');
}

static void diff_list(struct buf *b, const char *what, char **want, size_t nwant, char **got,
                      size_t ngot, int (*cmp)(const void *, const void *))
{
	if (same_set(want, nwant, got, ngot, cmp))
		return;
	buf_printf(b, "%s%s: expected ", b->len ? "; " : "", what);
	put_list(b, want, nwant);
	buf_puts(b, ", got ");
	put_list(b, got, ngot);
}

static void put_flags(struct buf *b, unsigned flags)
{
	const char *sep = "";

	if (flags == 0)
		buf_puts(b, "none");
	for (size_t i = 0; mail_rule_flag_names[i] != NULL; i++)
		if (flags & mail_rule_flag_bits[i]) {
			buf_printf(b, "%s%s", sep, mail_rule_flag_names[i]);
			sep = ", ";
		}
}

/* What the outcome says, as lists of strings (pointers into o, or owned pipes). */
struct got {
	char **folders, **forwards, **pipes;
	unsigned flags;
};

static void got_fill(struct got *g, const struct rules_outcome *o)
{
	g->folders = xcalloc(o->ndeliveries + 1, sizeof(char *));
	g->forwards = xcalloc(o->nforwards + 1, sizeof(char *));
	g->pipes = xcalloc(o->npipes + 1, sizeof(char *));
	g->flags = 0;
	for (size_t i = 0; i < o->ndeliveries; i++) {
		g->folders[i] = o->deliveries[i].folder;
		g->flags |= o->deliveries[i].flags;
	}
	for (size_t i = 0; i < o->nforwards; i++)
		g->forwards[i] = o->forwards[i].addr;
	for (size_t i = 0; i < o->npipes; i++)
		g->pipes[i] = join_argv(o->pipes[i].argv);
}

static void got_free(struct got *g, size_t npipes)
{
	for (size_t i = 0; i < npipes; i++)
		free(g->pipes[i]);
	free(g->pipes);
	free(g->folders);
	free(g->forwards);
}

/* The differences between e and o as text; "" when o is what e expects. */
static char *expect_diff(const struct expect *e, const struct rules_outcome *o)
{
	static char *inbox[] = {"INBOX", NULL};
	char **want = e->has_folders ? e->folders : e->discard ? NULL : inbox;
	size_t nwant = e->has_folders ? e->nfolders : e->discard ? 0 : 1;
	struct got g;
	struct buf b;

	buf_init(&b, 64 * 1024);
	got_fill(&g, o);
	diff_list(&b, "folders", want, nwant, g.folders, o->ndeliveries, cmp_str);
	if (g.flags != e->flags) {
		buf_printf(&b, "%sflags: expected ", b.len ? "; " : "");
		put_flags(&b, e->flags);
		buf_puts(&b, ", got ");
		put_flags(&b, g.flags);
	}
	diff_list(&b, "forward", e->forwards, e->nforwards, g.forwards, o->nforwards, cmp_icase);
	diff_list(&b, "pipe", e->pipes, e->npipes, g.pipes, o->npipes, cmp_str);
	if (e->discard != o->discarded)
		buf_printf(&b, "%sdiscard: expected %s, got %s", b.len ? "; " : "",
		           e->discard ? "true" : "false", o->discarded ? "true" : "false");
	got_free(&g, o->npipes);
	return buf_steal(&b, NULL);
}

/* ---- running an expect file ---- */

/* The first message of e's file, evaluated. Returns 0 or an exit status. */
static int expect_eval(struct test_run *t, const struct expect *e, struct rules *r,
                       struct rules_outcome *out)
{
	const char *data;
	struct mfile f;
	struct mbox *mb;
	char err[512];
	size_t len;

	if (mfile_read(e->message, &f, err, sizeof(err)) < 0) {
		log_err("%s", err);
		return EX_DATAERR;
	}
	if (f.len == 0) {
		log_err("%s: empty file: not a message", e->message);
		mfile_free(&f);
		return EX_DATAERR;
	}
	mb = mbox_new(f.data, f.len);
	mbox_next(mb, &data, &len); /* a non-empty file has a first message */
	test_eval(t, r, data, len, e->account ? e->account : t->account, out);
	mbox_close(mb);
	mfile_free(&f);
	return 0;
}

/* Runs one entry, prints ok or FAIL; returns 0, 1 (mismatch) or an exit status. */
static int expect_run(struct test_run *t, const char *file, const struct expect *e)
{
	struct rules_outcome out;
	struct rules *r;
	char *diff, *text;
	int rc;

	r = test_rules(t, e->rules, e->account ? e->account : t->account, &rc);
	if (r == NULL || (rc = expect_eval(t, e, r, &out)) != 0) {
		printf("FAIL %s (%s:%d): %s\n", e->label, file, e->line,
		       r == NULL ? "the rules do not load" : "the message cannot be read");
		return rc;
	}
	diff = expect_diff(e, &out);
	text = rules_outcome_text(r, &out);
	if (*diff == '\0')
		printf("ok   %s: %s\n", e->label, text);
	else
		printf("FAIL %s (%s:%d): %s\n     got: %s\n", e->label, file, e->line, diff, text);
	if (t->explain)
		test_print_trace(t);
	rc = *diff == '\0' ? 0 : 1;
	free(diff);
	free(text);
	rules_outcome_free(&out);
	return rc;
}

static int worse(int a, int b)
{
	return a > b ? a : b;
}

static int test_expect_files(struct test_run *t, char **files, size_t nfiles)
{
	size_t nok = 0, nfail = 0;
	int rc = 0;

	for (size_t f = 0; f < nfiles; f++) {
		struct expect *v;
		size_t n;

		if (expect_load(files[f], &v, &n) < 0)
			return EX_CONFIG;
		for (size_t i = 0; i < n; i++) {
			int r = expect_run(t, files[f], &v[i]);

			*(r == 0 ? &nok : &nfail) += 1;
			rc = worse(rc, r);
			expect_free(&v[i]);
		}
		free(v);
	}
	printf("%zu ok, %zu failed\n", nok, nfail);
	return rc;
}

/* ---- the command ---- */

enum { OPT_EXPLAIN = 256, OPT_RULES, OPT_EXPECT };

struct test_args {
	char **expect;
	size_t nexpect;
};

static int parse_args(struct test_run *t, struct test_args *a, int argc, char **argv)
{
	static const struct option longopts[] = {{"explain", no_argument, NULL, OPT_EXPLAIN},
	                                         {"account", required_argument, NULL, 'a'},
	                                         {"rules", required_argument, NULL, OPT_RULES},
	                                         {"expect", required_argument, NULL, OPT_EXPECT},
	                                         {NULL, 0, NULL, 0}};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":a:", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_EXPLAIN:
			t->explain = true;
			break;
		case 'a':
			t->account = optarg;
			break;
		case OPT_RULES:
			t->rules_files[t->nrules_files++] = optarg;
			break;
		case OPT_EXPECT:
			a->expect[a->nexpect++] = optarg;
			break;
		default:
			cli_bad_option("test", argv, c);
			return -1;
		}
	}
	if ((a->nexpect > 0) == (optind < argc)) {
		fprintf(stderr, "corral test: %s (see corral test --help)\n",
		        a->nexpect > 0 ? "give either --expect files or message files, not both"
		                       : "no message given");
		cli_usage(stderr, "test");
		return -1;
	}
	return 0;
}

static int run_files(struct test_run *t, int argc, char **argv)
{
	struct rules *r;
	int rc = 0;

	if ((r = test_rules(t, NULL, t->account, &rc)) == NULL)
		return rc;
	rc = 0;
	for (int i = optind; i < argc; i++)
		if (test_path(t, r, argv[i]) != 0)
			rc = EX_DATAERR;
	return rc;
}

static void run_free(struct test_run *t)
{
	for (size_t i = 0; i < t->nsets; i++) {
		free(t->sets[i].key);
		rules_free(t->sets[i].r);
	}
	rules_trace_free(t->trace);
	config_free(t->cfg);
	free(t->rules_files);
}

int cmd_test(struct cli *cli, int argc, char **argv)
{
	struct test_run t = {.cli = cli};
	struct test_args a = {0};
	int rc;

	/* Each option takes at most one argv slot: argc bounds both lists. */
	t.rules_files = xcalloc((size_t)argc + 1, sizeof(char *));
	a.expect = xcalloc((size_t)argc + 1, sizeof(char *));
	if (parse_args(&t, &a, argc, argv) < 0) {
		free(a.expect);
		run_free(&t);
		return EX_USAGE;
	}
	t.trace = rules_trace_new();
	if (a.nexpect > 0)
		rc = test_expect_files(&t, a.expect, a.nexpect);
	else
		rc = run_files(&t, argc, argv);
	if (fflush(stdout) != 0 && rc == 0)
		rc = EX_IOERR;
	free(a.expect);
	run_free(&t);
	return rc;
}
