/* The server: section of the config: the built-in IMAP server (corral.yml(5)). */
#include "config/config-walk.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/str.h"

/* "HOST:PORT" or "[V6]:PORT" -> a; returns NULL or what is wrong. */
static const char *parse_listen(const char *s, struct listen_addr *a)
{
	static const char want[] = "expected HOST:PORT or [IPv6]:PORT, e.g. 127.0.0.1:1143";
	const char *colon, *hs = s, *he;
	struct in6_addr a6;
	char *end;
	long port;

	if (s[0] == '[') {
		he = strchr(s, ']');
		if (he == NULL || he[1] != ':')
			return want;
		hs = s + 1;
		colon = he + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || memchr(s, ':', (size_t)(colon - s)))
			return want;
		he = colon;
	}
	if (he == hs || cfg_has_ctl(s) || strpbrk(s, " \t/"))
		return want;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || port < 1 || port > 65535)
		return "expected a port from 1 to 65535 after ':'";
	a->host = xstrndup(hs, (size_t)(he - hs));
	a->port = (int)port;
	if (s[0] == '[' && inet_pton(AF_INET6, a->host, &a6) != 1) {
		free(a->host);
		a->host = NULL;
		return "expected an IPv6 address inside [...]";
	}
	return NULL;
}

/* The addresses a->host names, with a->port: NULL, or what is wrong. A
 * name is looked up (getaddrinfo), so that "localhost" is 127.0.0.1 and
 * not every address; IPv6 literals and duplicates aside, each is kept. */
static const char *resolve_listen(struct listen_addr *a, char *why, size_t whylen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char port[8];
	size_t n = 0;
	int rc;

	snprintf(port, sizeof(port), "%d", a->port);
	rc = getaddrinfo(a->host, port, &hints, &res);
	if (rc != 0) {
		snprintf(why, whylen, "%s does not resolve to an address: %s", a->host,
		         gai_strerror(rc));
		return why;
	}
	for (struct addrinfo *r = res; r != NULL; r = r->ai_next)
		n++;
	a->addrs = xcalloc(n, sizeof(*a->addrs));
	a->addrlens = xcalloc(n, sizeof(*a->addrlens));
	for (struct addrinfo *r = res; r != NULL; r = r->ai_next) {
		bool seen = false;

		if (r->ai_family != AF_INET && r->ai_family != AF_INET6)
			continue;
		for (size_t i = 0; i < a->naddrs && !seen; i++)
			seen = a->addrlens[i] == r->ai_addrlen &&
			       memcmp(&a->addrs[i], r->ai_addr, r->ai_addrlen) == 0;
		if (seen)
			continue;
		memcpy(&a->addrs[a->naddrs], r->ai_addr, r->ai_addrlen);
		a->addrlens[a->naddrs++] = r->ai_addrlen;
	}
	freeaddrinfo(res);
	if (a->naddrs == 0) {
		snprintf(why, whylen, "%s names no IPv4 or IPv6 address", a->host);
		return why;
	}
	return NULL;
}

static void load_listen_list(struct loader *L, yaml_node_t *v, const char *path,
                             struct listen_addr **out, size_t *nout)
{
	char **items, ip[YDOC_PATH_MAX], buf[256];
	size_t n;

	if (ydoc_strings(L->y, L->d, v, path, &items, &n) < 0)
		return;
	*out = xcalloc(n + 1, sizeof(struct listen_addr));
	for (size_t i = 0; i < n; i++) {
		struct listen_addr *a = &(*out)[*nout];
		const char *why = parse_listen(items[i], a);
		yaml_node_t *at = v->type == YAML_SEQUENCE_NODE
		                      ? ydoc_node(L->y, v->data.sequence.items.start[i])
		                      : v;

		if (v->type == YAML_SEQUENCE_NODE)
			ydoc_path_index(ip, path, i);
		else
			snprintf(ip, sizeof(ip), "%s", path);
		if (why == NULL && (why = resolve_listen(a, buf, sizeof(buf))) != NULL) {
			free(a->host);
			free(a->addrs);
			free(a->addrlens);
			*a = (struct listen_addr){0};
		}
		if (why) {
			ydoc_error(L->y, L->d, at, ip, "%s", why);
			continue;
		}
		(*out)[*nout].pos = (struct conf_pos){ydoc_line(at), ydoc_col(at)};
		(*nout)++;
	}
	argv_free(items);
}

static void load_listen(struct loader *L, yaml_node_t *v, const char *path, void *field)
{
	struct server_conf *s = field;

	load_listen_list(L, v, path, &s->listen, &s->nlisten);
}

static void load_tls_listen(struct loader *L, yaml_node_t *v, const char *path, void *field)
{
	struct server_conf *s = field;

	load_listen_list(L, v, path, &s->tls_listen, &s->ntls_listen);
}

static void load_users(struct loader *L, yaml_node_t *map, const char *path, void *field)
{
	static const char *const user_keys[] = {"password_hash", NULL};
	struct server_conf *s = field;
	char up[YDOC_PATH_MAX], hp[YDOC_PATH_MAX];

	if (ydoc_expect(L->y, L->d, map, path, YAML_MAPPING_NODE) < 0)
		return;
	s->users =
	    xcalloc((size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start) + 1,
	            sizeof(struct server_user));
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *key = ydoc_node(L->y, p->key), *val = ydoc_node(L->y, p->value), *h;
		const char *name = ydoc_scalar(key);
		struct server_user *u = &s->users[s->nusers];

		if (name == NULL || *name == '\0' || cfg_has_ctl(name) || strpbrk(name, " \t")) {
			ydoc_error(L->y, L->d, key, path,
			           "a user name must be a non-empty string without spaces");
			continue;
		}
		ydoc_path_key(up, path, name);
		if (ydoc_expect(L->y, L->d, val, up, YAML_MAPPING_NODE) < 0)
			continue;
		ydoc_check_keys(L->y, L->d, val, up, user_keys);
		h = ydoc_get(L->y, val, "password_hash");
		if (h == NULL) {
			cfg_missing(L, val, up, "password_hash");
			continue;
		}
		if (ydoc_string(L->y, L->d, h, ydoc_path_key(hp, up, "password_hash"),
		                &u->password_hash) < 0)
			continue;
		if (u->password_hash[0] != '$')
			ydoc_error(L->y, L->d, h, hp,
			           "expected a crypt(3) hash such as `corral passwd` prints");
		u->name = xstrdup(name);
		s->nusers++;
	}
}

const char *const special_use_keys[SU_COUNT] = {
    [SU_SENT] = "sent",       [SU_DRAFTS] = "drafts", [SU_TRASH] = "trash",    [SU_JUNK] = "junk",
    [SU_ARCHIVE] = "archive", [SU_ALL] = "all",       [SU_FLAGGED] = "flagged"};
const char *const special_use_attrs[SU_COUNT] = {
    [SU_SENT] = "\\Sent",      [SU_DRAFTS] = "\\Drafts",   [SU_TRASH] = "\\Trash",
    [SU_JUNK] = "\\Junk",      [SU_ARCHIVE] = "\\Archive", [SU_ALL] = "\\All",
    [SU_FLAGGED] = "\\Flagged"};

/* What is wrong with a folder name of special_use, or NULL: the names a
 * client can name back ("/" between levels, no empty level, no "." which
 * is Maildir++'s separator, no control character). */
static const char *folder_name_problem(const char *name)
{
	if (*name == '\0' || *name == '/' || name[strlen(name) - 1] == '/' || strstr(name, "//"))
		return "expected a folder name such as Sent or Archive/2024 (no empty level)";
	if (strchr(name, '.') != NULL || cfg_has_ctl(name))
		return "a folder name cannot hold '.' (the Maildir++ separator) or control "
		       "characters";
	return NULL;
}

/* special_use: {sent: NAME or [NAMES], drafts: ..., ...} */
static void load_special_use(struct loader *L, yaml_node_t *map, const char *path, void *field)
{
	struct server_conf *s = field;
	char kp[YDOC_PATH_MAX], ip[YDOC_PATH_MAX];

	if (ydoc_expect(L->y, L->d, map, path, YAML_MAPPING_NODE) < 0)
		return;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *key = ydoc_node(L->y, p->key), *val = ydoc_node(L->y, p->value);
		const char *name = ydoc_scalar(key);
		size_t u = 0;

		while (u < SU_COUNT && (name == NULL || strcmp(name, special_use_keys[u]) != 0))
			u++;
		if (u == SU_COUNT) {
			ydoc_error(L->y, L->d, key, path,
			           "unknown use '%s' (expected sent, drafts, trash, junk, archive, "
			           "all or flagged)",
			           name != NULL ? name : "?");
			continue;
		}
		ydoc_path_key(kp, path, name);
		argv_free(s->special_use[u].folders.v);
		s->special_use[u].folders = (struct strlist){0};
		if (ydoc_strings(L->y, L->d, val, kp, &s->special_use[u].folders.v,
		                 &s->special_use[u].folders.n) < 0)
			continue;
		s->special_use[u].set = true;
		for (size_t i = 0; i < s->special_use[u].folders.n; i++) {
			const char *why = folder_name_problem(s->special_use[u].folders.v[i]);
			yaml_node_t *at = val->type == YAML_SEQUENCE_NODE
			                      ? ydoc_node(L->y, val->data.sequence.items.start[i])
			                      : val;

			if (why != NULL)
				ydoc_error(L->y, L->d, at,
				           val->type == YAML_SEQUENCE_NODE
				               ? ydoc_path_index(ip, kp, i)
				               : kp,
				           "%s", why);
		}
	}
}

/* max_connections, max_connections_per_address: a count of sessions. */
static void load_count(struct loader *L, yaml_node_t *v, const char *path, void *field)
{
	long n;

	if (ydoc_int(L->y, L->d, v, path, 1, 100000, &n) == 0)
		*(unsigned *)field = (unsigned)n;
}

enum {
	V_LISTEN,
	V_TLS_LISTEN,
	V_CERT,
	V_KEY,
	V_USERS,
	V_PLAIN,
	V_MAXC,
	V_MAXA,
	V_SPECIAL,
	V_LOGIN_TO,
	V_IDLE_TO
};

static const struct key server_keys[] = {
    [V_LISTEN] = CUSTOM_KEY("listen", 0, load_listen),
    [V_TLS_LISTEN] = CUSTOM_KEY("tls_listen", 0, load_tls_listen),
    [V_CERT] = KEY("cert", K_PATH, offsetof(struct server_conf, cert)),
    [V_KEY] = KEY("key", K_PATH, offsetof(struct server_conf, key)),
    [V_USERS] = CUSTOM_KEY("users", 0, load_users),
    [V_PLAIN] = KEY("allow_plaintext", K_BOOL, offsetof(struct server_conf, allow_plaintext)),
    [V_MAXC] =
        CUSTOM_KEY("max_connections", offsetof(struct server_conf, max_connections), load_count),
    [V_MAXA] = CUSTOM_KEY("max_connections_per_address",
                          offsetof(struct server_conf, max_connections_per_address), load_count),
    [V_SPECIAL] = CUSTOM_KEY("special_use", 0, load_special_use),
    [V_LOGIN_TO] = KEY("login_timeout", K_DURATION, offsetof(struct server_conf, login_timeout_s)),
    [V_IDLE_TO] = KEY("idle_timeout", K_DURATION, offsetof(struct server_conf, idle_timeout_s)),
};

/* Each address may be bound once, plain or TLS. */
static void check_listen_dupes(struct loader *L, struct server_conf *s)
{
	size_t n = s->nlisten + s->ntls_listen;

	for (size_t i = 0; i < n; i++) {
		bool tls = i >= s->nlisten;
		struct listen_addr *a = tls ? &s->tls_listen[i - s->nlisten] : &s->listen[i];
		bool v6 = strchr(a->host, ':') != NULL;

		for (size_t j = 0; j < i; j++) {
			struct listen_addr *b =
			    j < s->nlisten ? &s->listen[j] : &s->tls_listen[j - s->nlisten];

			if (a->port != b->port || strcmp(a->host, b->host) != 0)
				continue;
			diag_add(L->d, L->y->file, a->pos.line, a->pos.col,
			         "%s: %s%s%s:%d is listed twice (first at line %d)",
			         tls ? "server.tls_listen" : "server.listen", v6 ? "[" : "",
			         a->host, v6 ? "]" : "", a->port, b->pos.line);
			break;
		}
	}
}

static void check_server(struct loader *L, struct server_conf *s, yaml_node_t *map, yaml_node_t **v)
{
	/* listen: [] and no tls_listen: only systemd's sockets serve (corral run
	 * then starts no server). */
	check_listen_dupes(L, s);
	if (v[V_TLS_LISTEN] && (!v[V_CERT] || !v[V_KEY]))
		ydoc_error(L->y, L->d, v[V_TLS_LISTEN], "server.tls_listen", "needs cert and key");
	else if (v[V_CERT] && !v[V_KEY])
		cfg_missing(L, map, "server", "key");
	else if (v[V_KEY] && !v[V_CERT])
		cfg_missing(L, map, "server", "cert");
	cfg_check_readable(L, v[V_CERT], "server", "cert", s->cert);
	cfg_check_readable(L, v[V_KEY], "server", "key", s->key);
	if (!v[V_USERS])
		ydoc_error(L->y, L->d, map, "server",
		           "missing required key 'users' (at least one user with a password_hash)");
	else if (v[V_USERS]->type == YAML_MAPPING_NODE &&
	         v[V_USERS]->data.mapping.pairs.top == v[V_USERS]->data.mapping.pairs.start)
		ydoc_error(L->y, L->d, v[V_USERS], "server.users",
		           "expected at least one user with a password_hash");
}

void cfg_load_server(struct loader *L, yaml_node_t *map, const char *path, void *field)
{
	struct server_conf *s = field;
	yaml_node_t *v[MAXKEYS];

	s->present = true;
	if (cfg_walk(L, map, path, server_keys, NKEYS(server_keys), s, v) < 0)
		return;
	if (!v[V_LISTEN] && !v[V_TLS_LISTEN]) {
		char why[128];

		s->listen = xcalloc(1, sizeof(struct listen_addr));
		s->listen[0] = (struct listen_addr){.host = xstrdup("127.0.0.1"), .port = 1143};
		resolve_listen(&s->listen[0], why, sizeof(why));
		s->nlisten = 1;
	}
	if (!v[V_MAXC])
		s->max_connections = SERVER_MAX_CONNECTIONS;
	if (!v[V_MAXA])
		s->max_connections_per_address = SERVER_MAX_CONNECTIONS_PER_ADDRESS;
	if (!v[V_LOGIN_TO])
		s->login_timeout_s = SERVER_LOGIN_TIMEOUT_S;
	if (!v[V_IDLE_TO])
		s->idle_timeout_s = SERVER_IDLE_TIMEOUT_S;
	cfg_check_positive(L, v[V_LOGIN_TO], "server", "login_timeout", s->login_timeout_s);
	cfg_check_positive(L, v[V_IDLE_TO], "server", "idle_timeout", s->idle_timeout_s);
	check_server(L, s, map, v);
}
