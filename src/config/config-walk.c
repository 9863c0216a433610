#include "config/config-walk.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/str.h"

#define FIELD(o, off) ((void *)((char *)(o) + (off)))

const char *const cfg_tls_names[] = {"implicit", "starttls", "off", NULL};

static void set_path(struct loader *L, yaml_node_t *v, const char *path, char **out)
{
	const char *s = ydoc_scalar(v), *err = NULL;

	if (s == NULL || ydoc_is_null(v) || *s == '\0') {
		ydoc_error(L->y, L->d, v, path, "expected a path, got %s",
		           s && *s == '\0' ? "an empty string" : ydoc_kind(v));
		return;
	}
	*out = path_expand(s, L->c->dir, &err);
	if (*out == NULL)
		ydoc_error(L->y, L->d, v, path, "%s", err);
}

static void set_paths(struct loader *L, yaml_node_t *v, const char *path, struct strlist *out)
{
	char **raw;
	size_t n;

	if (ydoc_strings(L->y, L->d, v, path, &raw, &n) < 0)
		return;
	out->v = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		const char *err = NULL;
		char *p = path_expand(raw[i], L->c->dir, &err);

		if (p == NULL)
			ydoc_error(L->y, L->d, v, path, "%s", err);
		else
			out->v[out->n++] = p;
	}
	argv_free(raw);
}

static void set_argv(struct loader *L, yaml_node_t *v, const char *path, char ***out)
{
	const char *s = ydoc_scalar(v);
	size_t n = 0;

	if (s && !ydoc_is_null(v)) {
		int words = argv_split(s, out);

		if (words < 0)
			ydoc_error(L->y, L->d, v, path, "expected a command: unterminated quote");
		else if (words == 0)
			ydoc_error(L->y, L->d, v, path, "expected a command, got an empty string");
		if (words <= 0) {
			argv_free(words == 0 ? *out : NULL);
			*out = NULL;
		}
		return;
	}
	if (v->type != YAML_SEQUENCE_NODE) {
		ydoc_error(L->y, L->d, v, path,
		           "expected a command (a string, or a list of arguments), got %s",
		           ydoc_kind(v));
		return;
	}
	if (ydoc_strings(L->y, L->d, v, path, out, &n) == 0 && n == 0) {
		ydoc_error(L->y, L->d, v, path, "expected a command, got an empty list");
		argv_free(*out);
		*out = NULL;
	}
}

static void set_value(struct loader *L, const struct key *k, yaml_node_t *v, const char *path,
                      void *obj)
{
	void *f = FIELD(obj, k->off);
	long num;
	int num32;

	switch (k->kind) {
	case K_STRING:
		ydoc_string(L->y, L->d, v, path, f);
		break;
	case K_PATH:
		set_path(L, v, path, f);
		break;
	case K_PATHS:
		set_paths(L, v, path, f);
		break;
	case K_STRINGS:
		ydoc_strings(L->y, L->d, v, path, &((struct strlist *)f)->v,
		             &((struct strlist *)f)->n);
		break;
	case K_ARGV:
		set_argv(L, v, path, f);
		break;
	case K_BOOL:
		ydoc_bool(L->y, L->d, v, path, f);
		break;
	case K_DURATION:
		ydoc_duration(L->y, L->d, v, path, f);
		break;
	case K_PORT:
		if (ydoc_int(L->y, L->d, v, path, 1, 65535, &num) == 0)
			*(int *)f = (int)num;
		break;
	case K_ENUM:
		if (ydoc_enum(L->y, L->d, v, path, k->names, &num32) == 0)
			*(int *)f = num32 + k->first;
		break;
	case K_CUSTOM:
		k->fn(L, v, path, f);
		break;
	}
}

static size_t key_index(const struct key *tab, size_t ntab, const char *k)
{
	size_t i = 0;

	while (k && i < ntab && strcmp(k, tab[i].name) != 0)
		i++;
	return k ? i : ntab;
}

/*
 * A YAML merge key (`<<: *defaults`, or a list of them) fills the keys that
 * the mapping does not set itself; earlier sources win. The merged mapping
 * is checked where it is written, so its unknown keys are not reported here.
 */
static void merge(struct loader *L, yaml_node_t *src, const char *path, const struct key *tab,
                  size_t ntab, yaml_node_t **vals, int depth)
{
	char kp[YDOC_PATH_MAX];
	yaml_node_t *nested = NULL;

	if (src && src->type == YAML_SEQUENCE_NODE && depth < 8) {
		for (yaml_node_item_t *i = src->data.sequence.items.start;
		     i < src->data.sequence.items.top; i++)
			merge(L, ydoc_node(L->y, *i), path, tab, ntab, vals, depth + 1);
		return;
	}
	if (src == NULL || src->type != YAML_MAPPING_NODE || depth >= 8) {
		ydoc_error(L->y, L->d, src, ydoc_path_key(kp, path, "<<"),
		           "expected a mapping (or a list of mappings) to merge, got %s",
		           ydoc_kind(src));
		return;
	}
	for (yaml_node_pair_t *p = src->data.mapping.pairs.start; p < src->data.mapping.pairs.top;
	     p++) {
		const char *k = ydoc_scalar(ydoc_node(L->y, p->key));
		size_t i = key_index(tab, ntab, k);

		if (k && strcmp(k, "<<") == 0)
			nested = ydoc_node(L->y, p->value);
		else if (i < ntab && vals[i] == NULL)
			vals[i] = ydoc_node(L->y, p->value);
	}
	if (nested)
		merge(L, nested, path, tab, ntab, vals, depth + 1);
}

/*
 * Collects the value of each key of map into vals (NULL when absent) and
 * reports unknown keys. Returns -1 when map is not a mapping.
 */
static int collect(struct loader *L, yaml_node_t *map, const char *path, const struct key *tab,
                   size_t ntab, yaml_node_t **vals)
{
	const char *names[MAXKEYS + 1];
	yaml_node_t *merged = NULL;

	for (size_t i = 0; i < ntab; i++) {
		names[i] = tab[i].name;
		vals[i] = NULL;
	}
	names[ntab] = NULL;
	if (ydoc_expect(L->y, L->d, map, path, YAML_MAPPING_NODE) < 0)
		return -1;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *key = ydoc_node(L->y, p->key);
		const char *k = ydoc_scalar(key);
		size_t i = key_index(tab, ntab, k);

		if (k && strcmp(k, "<<") == 0)
			merged = ydoc_node(L->y, p->value);
		else if (i == ntab && !L->lenient)
			ydoc_unknown_key(L->y, L->d, key, path, names);
		else if (i == ntab)
			continue;
		else
			vals[i] = ydoc_node(L->y, p->value);
	}
	if (merged)
		merge(L, merged, path, tab, ntab, vals, 0);
	return 0;
}

int cfg_walk(struct loader *L, yaml_node_t *map, const char *path, const struct key *tab,
             size_t ntab, void *obj, yaml_node_t **vals)
{
	char kp[YDOC_PATH_MAX];

	if (collect(L, map, path, tab, ntab, vals) < 0)
		return -1;
	for (size_t i = 0; i < ntab; i++)
		if (vals[i])
			set_value(L, &tab[i], vals[i], ydoc_path_key(kp, path, tab[i].name), obj);
	return 0;
}

void cfg_missing(struct loader *L, yaml_node_t *map, const char *path, const char *key)
{
	ydoc_error(L->y, L->d, map, path, "missing required key '%s'", key);
}

bool cfg_has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* ---- credentials (accounts and smtp) ---------------------------------- */

enum { C_PASSWORD, C_PASSWORD_COMMAND, C_OAUTH2 };
static const char *const cred_keys[] = {"password", "password_command", "oauth2_token_command"};

/* Reports more than one credential; returns how many are present. */
int cfg_one_credential(struct loader *L, yaml_node_t *const *cv, const char *path)
{
	char kp[YDOC_PATH_MAX];
	int n = 0, first = -1;

	for (int i = 0; i < 3; i++) {
		if (cv[i] == NULL)
			continue;
		n++;
		if (i == C_PASSWORD)
			L->has_password = true;
		if (first < 0 || ydoc_line(cv[i]) < ydoc_line(cv[first]) ||
		    (ydoc_line(cv[i]) == ydoc_line(cv[first]) &&
		     ydoc_col(cv[i]) < ydoc_col(cv[first])))
			first = i;
	}
	/* The first one in the file stands; each later one is the mistake. */
	for (int i = 0; i < 3 && n > 1; i++)
		if (cv[i] && i != first)
			ydoc_error(L->y, L->d, cv[i], ydoc_path_key(kp, path, cred_keys[i]),
			           "use only one of password, password_command and "
			           "oauth2_token_command");
	return n;
}

/* A host name or IP address, not a URL and not host:port. */
static const char *host_problem(const char *h)
{
	struct in6_addr a6;

	if (strstr(h, "://"))
		return "expected a host name, not a URL (protocol and tls are separate keys)";
	if (cfg_has_ctl(h) || strpbrk(h, " \t/"))
		return "expected a host name or an IP address";
	if (strchr(h, ':') && inet_pton(AF_INET6, h, &a6) != 1)
		return "expected a host name without ':PORT' (the port is the key port)";
	return NULL;
}

void cfg_check_host(struct loader *L, yaml_node_t *v, const char *path, const char *host)
{
	char kp[YDOC_PATH_MAX];
	const char *why = host ? host_problem(host) : NULL;

	if (why)
		ydoc_error(L->y, L->d, v, ydoc_path_key(kp, path, "host"), "%s", why);
}

/* Whether s (len bytes) is "sha256//" and the base64 of 32 bytes. */
static bool pin_ok(const char *s, size_t len)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	if (len != 8 + 44 || strncmp(s, "sha256//", 8) != 0 || s[len - 1] != '=')
		return false;
	for (size_t i = 8; i < len - 1; i++)
		if (strchr(b64, s[i]) == NULL)
			return false;
	return true;
}

void cfg_check_pin(struct loader *L, yaml_node_t *v, const char *path, const char *pin,
                   bool insecure, bool tls_off)
{
	char kp[YDOC_PATH_MAX];
	const char *p = pin;

	if (pin == NULL)
		return;
	ydoc_path_key(kp, path, "tls_fingerprint");
	for (;;) {
		size_t len = strcspn(p, ";");

		if (!pin_ok(p, len)) {
			ydoc_error(
			    L->y, L->d, v, kp,
			    "expected sha256// and the base64 SHA-256 of the server's public "
			    "key (44 characters; several separated by ';')");
			return;
		}
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	if (insecure)
		ydoc_error(L->y, L->d, v, kp,
		           "a pinned key with insecure: true pins nothing; "
		           "drop insecure");
	else if (tls_off)
		ydoc_error(L->y, L->d, v, kp, "needs TLS (tls: implicit or starttls)");
}

void cfg_check_readable(struct loader *L, yaml_node_t *v, const char *path, const char *key,
                        const char *file)
{
	char kp[YDOC_PATH_MAX];
	const char *why;

	if (file == NULL || access(file, R_OK) == 0)
		return;
	why = strerror(errno);
	ydoc_error(L->y, L->d, v, ydoc_path_key(kp, path, key), "cannot read %s: %s", file, why);
}

void cfg_check_positive(struct loader *L, yaml_node_t *v, const char *path, const char *key,
                        uint64_t secs)
{
	char kp[YDOC_PATH_MAX];

	if (v && secs == 0)
		ydoc_error(L->y, L->d, v, ydoc_path_key(kp, path, key),
		           "expected a duration of at least 1s");
}
