#include "config/config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"
#include "config/config-walk.h"
#include "util/yamlu.h"

/*
 * The loader's entry points, the top level and the smtp section. The key-table
 * walker is config-walk.c; accounts and the server have their own files.
 */

_Static_assert(sizeof(enum protocol) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(enum tls_mode) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(enum auth_mech) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(enum deliver_mode) == sizeof(int), "enums are stored as int");

const char *protocol_name(enum protocol p)
{
	return p == PROTO_POP3 ? "pop3" : "imap";
}

const char *tls_mode_name(enum tls_mode t)
{
	return (unsigned)t < 3 ? cfg_tls_names[t] : "?";
}

/* ---- smtp ------------------------------------------------------------- */

enum {
	S_HOST,
	S_PORT,
	S_TLS,
	S_ALLOW_PLAINTEXT,
	S_CA_FILE,
	S_PIN,
	S_INSECURE,
	S_USER,
	S_PASSWORD,
	S_PASSWORD_COMMAND,
	S_OAUTH2,
	S_TO,
	S_TIMEOUT,
};

#define SOFF(f) offsetof(struct smtp_conf, f)
static const struct key smtp_keys[] = {
    [S_HOST] = KEY("host", K_STRING, SOFF(host)),
    [S_PORT] = KEY("port", K_PORT, SOFF(port)),
    [S_TLS] = ENUM_KEY("tls", SOFF(tls), cfg_tls_names, 0),
    [S_ALLOW_PLAINTEXT] = KEY("allow_plaintext", K_BOOL, SOFF(allow_plaintext)),
    [S_CA_FILE] = KEY("ca_file", K_PATH, SOFF(ca_file)),
    [S_PIN] = KEY("tls_fingerprint", K_STRING, SOFF(tls_fingerprint)),
    [S_INSECURE] = KEY("insecure", K_BOOL, SOFF(insecure)),
    [S_USER] = KEY("user", K_STRING, SOFF(cred.user)),
    [S_PASSWORD] = KEY("password", K_STRING, SOFF(cred.password)),
    [S_PASSWORD_COMMAND] = KEY("password_command", K_ARGV, SOFF(cred.password_command)),
    [S_OAUTH2] = KEY("oauth2_token_command", K_ARGV, SOFF(cred.oauth2_token_command)),
    [S_TO] = KEY("to", K_STRING, SOFF(to)),
    [S_TIMEOUT] = KEY("timeout", K_DURATION, SOFF(timeout_s)),
};

static bool is_loopback(const char *host)
{
	return strcmp(host, "localhost") == 0 || str_has_prefix(host, "127.") ||
	       strcmp(host, "::1") == 0;
}

static void check_smtp(struct loader *L, struct smtp_conf *s, yaml_node_t *map, yaml_node_t **v)
{
	int ncred = cfg_one_credential(L, &v[S_PASSWORD], "smtp");

	if (ncred > 0 && !v[S_USER])
		cfg_missing(L, map, "smtp", "user");
	if (ncred == 0 && v[S_USER])
		ydoc_error(L->y, L->d, v[S_USER], "smtp.user",
		           "needs one of password, password_command or oauth2_token_command");
	cfg_check_host(L, v[S_HOST], "smtp", s->host);
	cfg_check_readable(L, v[S_CA_FILE], "smtp", "ca_file", s->ca_file);
	cfg_check_pin(L, v[S_PIN], "smtp", s->tls_fingerprint, s->insecure, s->tls == TLS_OFF);
	cfg_check_positive(L, v[S_TIMEOUT], "smtp", "timeout", s->timeout_s);
	if (v[S_TO] && s->to && (cfg_has_ctl(s->to) || strpbrk(s->to, " \t<>")))
		ydoc_error(L->y, L->d, v[S_TO], "smtp.to", "expected a mail address");
	/* Local relays need no TLS; a password to a remote host must not go in clear. */
	if (ncred > 0 && s->tls == TLS_OFF && !s->allow_plaintext && !is_loopback(s->host))
		ydoc_error(L->y, L->d, v[S_TLS] ? v[S_TLS] : map, "smtp.tls",
		           "off would send the password in clear to a remote host; use starttls "
		           "or implicit, or set allow_plaintext: true");
}

static void load_smtp(struct loader *L, yaml_node_t *map, const char *path, void *field)
{
	struct smtp_conf *s = field;
	yaml_node_t *v[MAXKEYS];

	s->present = true;
	s->tls = TLS_OFF;
	s->timeout_s = 60;
	if (cfg_walk(L, map, path, smtp_keys, NKEYS(smtp_keys), s, v) < 0)
		return;
	if (!s->host)
		s->host = xstrdup("localhost");
	if (!v[S_PORT])
		s->port = s->tls == TLS_IMPLICIT ? 465 : 25;
	check_smtp(L, s, map, v);
}

/* ---- top level -------------------------------------------------------- */

static void load_dedupe(struct loader *L, yaml_node_t *v, const char *path, void *field)
{
	const char *s = ydoc_scalar(v);

	/* `dedupe: off` or `false` reads naturally for "no window". */
	if (s && (strcasecmp(s, "off") == 0 || strcasecmp(s, "false") == 0)) {
		*(uint64_t *)field = 0;
		return;
	}
	ydoc_duration(L->y, L->d, v, path, field);
}

/* max_connections: a small count; servers limit connections per user and address. */
static void load_max_connections(struct loader *L, yaml_node_t *v, const char *path, void *field)
{
	long n;

	if (ydoc_int(L->y, L->d, v, path, 1, 100, &n) == 0)
		*(unsigned *)field = (unsigned)n;
}

enum { T_MAILDIR, T_STATE, T_RULES, T_DEDUPE, T_MAX_CONN, T_SMTP, T_SERVER, T_ACCOUNTS };

/* Applied in this order: accounts last, as they refer to smtp. */
static const struct key top_keys[] = {
    [T_MAILDIR] = KEY("maildir", K_PATH, offsetof(struct config, maildir)),
    [T_STATE] = KEY("state", K_PATH, offsetof(struct config, state_dir)),
    [T_RULES] = KEY("rules", K_PATHS, offsetof(struct config, rules)),
    [T_DEDUPE] = CUSTOM_KEY("dedupe", offsetof(struct config, dedupe_s), load_dedupe),
    [T_MAX_CONN] = CUSTOM_KEY("max_connections", offsetof(struct config, max_connections),
                              load_max_connections),
    [T_SMTP] = CUSTOM_KEY("smtp", offsetof(struct config, smtp), load_smtp),
    [T_SERVER] = CUSTOM_KEY("server", offsetof(struct config, server), cfg_load_server),
    [T_ACCOUNTS] = CUSTOM_KEY("accounts", 0, cfg_load_accounts),
};

static char *default_path(struct loader *L, const char *what, const char *p)
{
	const char *err = NULL;
	char *out = path_expand(p, NULL, &err);

	if (out == NULL)
		diag_add(L->d, L->c->path, 0, 0, "%s: cannot use the default %s: %s", what, p, err);
	return out;
}

static void top_defaults(struct loader *L, yaml_node_t **v)
{
	struct config *c = L->c;
	const char *xdg = getenv("XDG_STATE_HOME");

	if (!v[T_MAILDIR])
		c->maildir = default_path(L, "maildir", "~/Maildir");
	if (!v[T_MAX_CONN])
		c->max_connections = CONFIG_MAX_CONNECTIONS;
	if (!v[T_STATE] && xdg && xdg[0] == '/')
		c->state_dir = xasprintf("%s/corral", xdg);
	else if (!v[T_STATE])
		c->state_dir = default_path(L, "state", "~/.local/state/corral");
	if (!v[T_RULES]) {
		char *def = xasprintf("%s/rules.yml", c->dir);

		if (access(def, F_OK) == 0) {
			c->rules.v = xcalloc(2, sizeof(char *));
			c->rules.v[0] = def;
			c->rules.n = 1;
		} else {
			free(def);
		}
	}
}

/* ---- paths, permissions, message order -------------------------------- */

/* Absolute, so that a daemon that changes directory still finds the files. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char cwd[PATH_MAX], *dir, *abs;

	if (slash == path)
		return xstrdup("/");
	if (slash && path[0] == '/')
		return xstrndup(path, (size_t)(slash - path));
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
	if (slash == NULL)
		return xstrdup(cwd);
	dir = xstrndup(path, (size_t)(slash - path));
	abs = xasprintf("%s/%s", cwd, dir);
	free(dir);
	return abs;
}

/* Shell-quotes path when needed, for the chmod hint. */
static char *shell_quote(const char *s)
{
	struct buf b;

	if (s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._-+~")] ==
	    '\0')
		return xstrdup(s);
	buf_init(&b, 1 << 16);
	buf_putc(&b, '\'');
	for (; *s; s++)
		if (*s == '\'')
			buf_puts(&b, "'\\''");
		else
			buf_putc(&b, *s);
	buf_putc(&b, '\'');
	return buf_steal(&b, NULL);
}

static void check_mode(struct loader *L, const struct stat *st)
{
	char *q;

	if (!L->has_password || (st->st_mode & 077) == 0)
		return;
	q = shell_quote(L->c->path);
	diag_add(L->d, L->c->path, 0, 0,
	         "contains a plain password but is readable by group or others; run: chmod 600 %s",
	         q);
	free(q);
}

struct ordered {
	long line, col;
	size_t idx;
	char *msg;
};

static void parse_position(const char *msg, size_t skip, struct ordered *o)
{
	char *end;

	o->line = LONG_MAX;
	o->col = 0;
	if (strlen(msg) <= skip || msg[skip] < '0' || msg[skip] > '9')
		return;
	o->line = strtol(msg + skip, &end, 10);
	if (*end == ':' && end[1] >= '0' && end[1] <= '9')
		o->col = strtol(end + 1, NULL, 10);
}

static int ordered_cmp(const void *a, const void *b)
{
	const struct ordered *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Messages in file order (those without a line last), whatever order the checks ran in. */
static void sort_messages(struct diag *d, size_t from, const char *file)
{
	size_t n = d->n - from, skip = strlen(file) + 1;
	struct ordered *o;

	if (n < 2)
		return;
	o = xcalloc(n, sizeof(*o));
	for (size_t i = 0; i < n; i++) {
		o[i].idx = i;
		o[i].msg = d->msgs[from + i];
		parse_position(o[i].msg, skip, &o[i]);
	}
	qsort(o, n, sizeof(*o), ordered_cmp);
	for (size_t i = 0; i < n; i++)
		d->msgs[from + i] = o[i].msg;
	free(o);
}

/* ---- public ----------------------------------------------------------- */

char *config_default_path(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

	if (xdg && xdg[0] == '/')
		return xasprintf("%s/corral/config.yml", xdg);
	if (home && *home)
		return xasprintf("%s/.config/corral/config.yml", home);
	return NULL;
}

static void strlist_free(struct strlist *l);

struct config *config_load(const char *path, struct diag *d)
{
	struct config *c;
	struct ydoc y;
	struct loader L = {&y, d, NULL, false, false};
	yaml_node_t *v[MAXKEYS];
	size_t before = d->n;
	struct stat st;

	if (path == NULL) {
		diag_add(d, NULL, 0, 0,
		         "no config file: neither XDG_CONFIG_HOME nor HOME is set; use -c FILE");
		return NULL;
	}
	c = L.c = xcalloc(1, sizeof(*c));
	c->path = xstrdup(path);
	c->dir = dir_of(path);
	if (ydoc_load_stat(&y, path, &st, d) == 0) {
		if (cfg_walk(&L, ydoc_root(&y), NULL, top_keys, NKEYS(top_keys), c, v) == 0)
			top_defaults(&L, v);
		check_mode(&L, &st);
	}
	ydoc_free(&y);
	sort_messages(d, before, path);
	if (d->n > before) {
		config_free(c);
		return NULL;
	}
	return c;
}

struct config *config_load_fallback(const char *path)
{
	_Static_assert(T_MAILDIR < T_RULES && T_STATE < T_RULES, "the fallback's keys come first");

	struct config *c;
	struct diag d;
	struct ydoc y;
	struct loader L = {&y, &d, NULL, false, true};
	yaml_node_t *v[MAXKEYS] = {NULL};

	if (path == NULL)
		return NULL;
	diag_init(&d);
	c = L.c = xcalloc(1, sizeof(*c));
	c->path = xstrdup(path);
	c->dir = dir_of(path);
	/* maildir, state and rules are the first keys of the table: only they are read. */
	if (ydoc_load(&y, path, &d) == 0 &&
	    cfg_walk(&L, ydoc_root(&y), NULL, top_keys, T_RULES + 1, c, v) == 0)
		top_defaults(&L, v);
	ydoc_free(&y);
	if (d.n > 0 || c->maildir == NULL || c->state_dir == NULL) {
		config_free(c);
		c = NULL;
	}
	diag_free(&d);
	return c;
}

static void strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static void cred_free(struct credentials *cr)
{
	free(cr->user);
	secret_free(cr->password);
	argv_free(cr->password_command);
	argv_free(cr->oauth2_token_command);
}

void config_drop_credentials(struct config *c)
{
	for (size_t i = 0; i < c->naccounts; i++) {
		struct credentials *cr = &c->accounts[i].cred;

		secret_free(cr->password);
		argv_free(cr->password_command);
		argv_free(cr->oauth2_token_command);
		cr->password = NULL;
		cr->password_command = cr->oauth2_token_command = NULL;
	}
	secret_free(c->smtp.cred.password);
	argv_free(c->smtp.cred.password_command);
	argv_free(c->smtp.cred.oauth2_token_command);
	c->smtp.cred.password = NULL;
	c->smtp.cred.password_command = c->smtp.cred.oauth2_token_command = NULL;
}

static void listen_free(struct listen_addr *a)
{
	free(a->host);
	free(a->addrs);
	free(a->addrlens);
}

static void server_free(struct server_conf *s)
{
	for (size_t i = 0; i < s->nlisten; i++)
		listen_free(&s->listen[i]);
	for (size_t i = 0; i < s->ntls_listen; i++)
		listen_free(&s->tls_listen[i]);
	for (size_t i = 0; i < s->nusers; i++) {
		free(s->users[i].name);
		secret_free(s->users[i].password_hash);
	}
	free(s->listen);
	free(s->tls_listen);
	free(s->users);
	for (size_t u = 0; u < SU_COUNT; u++)
		strlist_free(&s->special_use[u].folders);
	free(s->cert);
	free(s->key);
}

void config_free(struct config *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->naccounts; i++) {
		struct account *a = &c->accounts[i];

		free(a->name);
		free(a->host);
		free(a->ca_file);
		free(a->tls_fingerprint);
		cred_free(&a->cred);
		strlist_free(&a->folders);
		strlist_free(&a->rules);
	}
	free(c->accounts);
	free(c->smtp.host);
	free(c->smtp.ca_file);
	free(c->smtp.tls_fingerprint);
	free(c->smtp.to);
	cred_free(&c->smtp.cred);
	server_free(&c->server);
	strlist_free(&c->rules);
	free(c->maildir);
	free(c->state_dir);
	free(c->dir);
	free(c->path);
	free(c);
}

const struct account *config_account(const struct config *c, const char *name)
{
	for (size_t i = 0; c && i < c->naccounts; i++)
		if (strcmp(c->accounts[i].name, name) == 0)
			return &c->accounts[i];
	return NULL;
}
