/* The accounts: section of the config (corral.yml(5)). */
#include "config/config-walk.h"

#include <string.h>

#include "util/log.h"

static const char *const protocol_names[] = {"imap", "pop3", NULL};
/* AUTH_DEFAULT is the absence of the key, not a value users write. */
static const char *const auth_names[] = {"plain",       "login", "cram-md5", "xoauth2",
                                         "oauthbearer", "user",  "apop",     NULL};
static const char *const deliver_names[] = {"maildir", "smtp", NULL};

enum {
	A_PROTOCOL,
	A_HOST,
	A_PORT,
	A_TLS,
	A_ALLOW_PLAINTEXT,
	A_CA_FILE,
	A_PIN,
	A_INSECURE,
	A_USER,
	A_PASSWORD,
	A_PASSWORD_COMMAND,
	A_OAUTH2,
	A_AUTH,
	A_TIMEOUT,
	A_FOLDERS,
	A_KEEP,
	A_POLL,
	A_IDLE,
	A_NOTIFY,
	A_RULES,
	A_DELIVER,
};

#define AOFF(f) offsetof(struct account, f)
static const struct key account_keys[] = {
    [A_PROTOCOL] = ENUM_KEY("protocol", AOFF(protocol), protocol_names, 0),
    [A_HOST] = KEY("host", K_STRING, AOFF(host)),
    [A_PORT] = KEY("port", K_PORT, AOFF(port)),
    [A_TLS] = ENUM_KEY("tls", AOFF(tls), cfg_tls_names, 0),
    [A_ALLOW_PLAINTEXT] = KEY("allow_plaintext", K_BOOL, AOFF(allow_plaintext)),
    [A_CA_FILE] = KEY("ca_file", K_PATH, AOFF(ca_file)),
    [A_PIN] = KEY("tls_fingerprint", K_STRING, AOFF(tls_fingerprint)),
    [A_INSECURE] = KEY("insecure", K_BOOL, AOFF(insecure)),
    [A_USER] = KEY("user", K_STRING, AOFF(cred.user)),
    [A_PASSWORD] = KEY("password", K_STRING, AOFF(cred.password)),
    [A_PASSWORD_COMMAND] = KEY("password_command", K_ARGV, AOFF(cred.password_command)),
    [A_OAUTH2] = KEY("oauth2_token_command", K_ARGV, AOFF(cred.oauth2_token_command)),
    [A_AUTH] = ENUM_KEY("auth", AOFF(auth), auth_names, AUTH_PLAIN),
    [A_TIMEOUT] = KEY("timeout", K_DURATION, AOFF(timeout_s)),
    [A_FOLDERS] = KEY("folders", K_STRINGS, AOFF(folders)),
    [A_KEEP] = KEY("keep", K_BOOL, AOFF(keep)),
    [A_POLL] = KEY("poll", K_DURATION, AOFF(poll_s)),
    [A_IDLE] = KEY("idle", K_BOOL, AOFF(idle)),
    [A_NOTIFY] = KEY("notify", K_BOOL, AOFF(notify)),
    [A_RULES] = KEY("rules", K_PATHS, AOFF(rules)),
    [A_DELIVER] = ENUM_KEY("deliver", AOFF(deliver), deliver_names, 0),
};

static int default_port(enum protocol p, enum tls_mode t)
{
	if (p == PROTO_POP3)
		return t == TLS_IMPLICIT ? 995 : 110;
	return t == TLS_IMPLICIT ? 993 : 143;
}

static void check_account_auth(struct loader *L, struct account *a, yaml_node_t **v,
                               const char *path)
{
	char kp[YDOC_PATH_MAX];
	bool oauth = v[A_OAUTH2] != NULL;
	bool passwd = v[A_PASSWORD] || v[A_PASSWORD_COMMAND];

	ydoc_path_key(kp, path, "auth");
	if (!v[A_AUTH]) {
		/* A token command only makes sense with a bearer mechanism. */
		if (oauth)
			a->auth = AUTH_XOAUTH2;
		return;
	}
	if ((a->auth == AUTH_XOAUTH2 || a->auth == AUTH_OAUTHBEARER) && !oauth)
		ydoc_error(L->y, L->d, v[A_AUTH], kp, "%s needs oauth2_token_command",
		           auth_names[a->auth - AUTH_PLAIN]);
	if ((a->auth == AUTH_USER || a->auth == AUTH_APOP) && v[A_PROTOCOL] &&
	    a->protocol != PROTO_POP3)
		ydoc_error(L->y, L->d, v[A_AUTH], kp,
		           "%s is a POP3 login; for imap use plain, "
		           "login, cram-md5, xoauth2 or oauthbearer",
		           auth_names[a->auth - AUTH_PLAIN]);
	if (a->auth != AUTH_XOAUTH2 && a->auth != AUTH_OAUTHBEARER && !passwd && oauth)
		ydoc_error(L->y, L->d, v[A_AUTH], kp, "%s needs password or password_command",
		           auth_names[a->auth - AUTH_PLAIN]);
}

/* folders and idle: IMAP only; folders not empty and without repeats. */
static void check_imap_keys(struct loader *L, struct account *a, yaml_node_t **v, const char *path)
{
	char kp[YDOC_PATH_MAX];
	yaml_node_t *f = v[A_FOLDERS];

	ydoc_path_key(kp, path, "folders");
	if (v[A_PROTOCOL] && a->protocol != PROTO_IMAP) {
		if (f)
			ydoc_error(L->y, L->d, f, kp, "only for protocol imap");
		if (v[A_IDLE])
			ydoc_error(L->y, L->d, v[A_IDLE], ydoc_path_key(kp, path, "idle"),
			           "only for protocol imap");
		if (v[A_NOTIFY])
			ydoc_error(L->y, L->d, v[A_NOTIFY], ydoc_path_key(kp, path, "notify"),
			           "only for protocol imap");
		return;
	}
	if (f && f->type == YAML_SEQUENCE_NODE &&
	    f->data.sequence.items.top == f->data.sequence.items.start)
		ydoc_error(L->y, L->d, f, kp, "expected at least one folder");
	for (size_t i = 0; f && i < a->folders.n; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(a->folders.v[i], a->folders.v[j]) == 0) {
				ydoc_error(L->y, L->d, f, kp, "folder '%s' is listed twice",
				           a->folders.v[i]);
				return;
			}
}

static void check_account(struct loader *L, struct account *a, yaml_node_t *map, yaml_node_t **v,
                          const char *path)
{
	char kp[YDOC_PATH_MAX];

	if (!v[A_PROTOCOL])
		cfg_missing(L, map, path, "protocol");
	if (!v[A_HOST])
		cfg_missing(L, map, path, "host");
	if (!v[A_USER])
		cfg_missing(L, map, path, "user");
	if (cfg_one_credential(L, &v[A_PASSWORD], path) == 0)
		ydoc_error(L->y, L->d, map, path,
		           "missing a credential: one of password, password_command or "
		           "oauth2_token_command");
	cfg_check_host(L, v[A_HOST], path, a->host);
	cfg_check_readable(L, v[A_CA_FILE], path, "ca_file", a->ca_file);
	cfg_check_pin(L, v[A_PIN], path, a->tls_fingerprint, a->insecure, a->tls == TLS_OFF);
	cfg_check_positive(L, v[A_TIMEOUT], path, "timeout", a->timeout_s);
	cfg_check_positive(L, v[A_POLL], path, "poll", a->poll_s);
	if (v[A_TLS] && a->tls == TLS_OFF && !a->allow_plaintext)
		ydoc_error(
		    L->y, L->d, v[A_TLS], ydoc_path_key(kp, path, "tls"),
		    "off sends the password in clear; set allow_plaintext: true to allow it");
	check_account_auth(L, a, v, path);
	check_imap_keys(L, a, v, path);
	if (v[A_DELIVER] && a->deliver == DELIVER_SMTP && !L->c->smtp.to)
		ydoc_error(L->y, L->d, v[A_DELIVER], ydoc_path_key(kp, path, "deliver"),
		           "smtp needs an smtp: section with a 'to' address");
}

static void account_defaults(struct account *a, yaml_node_t **v)
{
	if (!v[A_PORT])
		a->port = default_port(a->protocol, a->tls);
	/* POP3 has no push: idle stays false so that nobody waits on it. */
	if (a->protocol == PROTO_POP3)
		a->idle = a->notify = false;
	if (!v[A_FOLDERS] && a->folders.n == 0) {
		a->folders.v = xcalloc(2, sizeof(char *));
		a->folders.v[0] = xstrdup("INBOX");
		a->folders.n = 1;
	}
}

/* The name becomes part of state file names and log lines. */
static const char *account_name_problem(const char *name)
{
	if (*name == '\0')
		return "an account name must not be empty";
	if (strlen(name) > 200)
		return "an account name must be at most 200 bytes";
	if (strchr(name, '/'))
		return "an account name must not contain '/'";
	if (name[0] == '.')
		return "an account name must not start with '.'";
	if (cfg_has_ctl(name))
		return "an account name must not contain control characters";
	return NULL;
}

static void load_account(struct loader *L, yaml_node_t *key, yaml_node_t *map)
{
	struct config *c = L->c;
	struct account *a = &c->accounts[c->naccounts++];
	const char *name = ydoc_scalar(key), *why;
	yaml_node_t *v[MAXKEYS];
	char path[YDOC_PATH_MAX];

	a->name = xstrdup(name ? name : "");
	a->pos = (struct conf_pos){ydoc_line(key), ydoc_col(key)};
	a->tls = TLS_IMPLICIT;
	a->timeout_s = 60;
	a->keep = true;
	a->poll_s = 300;
	a->idle = true;
	a->notify = true;
	why = name ? account_name_problem(name) : "an account name must be a string";
	/* A name with control characters is not echoed into the messages. */
	ydoc_path_key(path, "accounts", name && !cfg_has_ctl(name) ? name : "?");
	if (why)
		ydoc_error(L->y, L->d, key, "accounts", "%s", why);
	if (cfg_walk(L, map, path, account_keys, NKEYS(account_keys), a, v) < 0)
		return;
	account_defaults(a, v);
	check_account(L, a, map, v, path);
}

void cfg_load_accounts(struct loader *L, yaml_node_t *v, const char *path, void *field)
{
	struct config *c = L->c;
	size_t n;

	(void)field;
	if (ydoc_expect(L->y, L->d, v, path, YAML_MAPPING_NODE) < 0)
		return;
	n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
	c->accounts = xcalloc(n + 1, sizeof(struct account));
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++)
		load_account(L, ydoc_node(L->y, p->key), ydoc_node(L->y, p->value));
}
