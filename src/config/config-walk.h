/*
 * Internal to the config loader (config*.c): the key-table walker and the
 * checks that several sections share. Not for other modules: use config.h.
 *
 * Every mapping of the schema is a table of keys. A walk first collects the
 * value node of each key (reporting unknown ones), then applies the values
 * in table order, so that checks across sections (deliver: smtp needs the
 * smtp section) see the sections they depend on, whatever the file's order.
 */
#ifndef CORRAL_CONFIG_WALK_H
#define CORRAL_CONFIG_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "util/yamlu.h"

struct loader {
	struct ydoc *y;
	struct diag *d;
	struct config *c;
	bool has_password; /* a plain `password:` key appears somewhere */
	bool lenient;      /* unknown keys are skipped silently (config_load_fallback) */
};

enum kind {
	K_STRING,   /* char *, non-empty */
	K_PATH,     /* char *, ~ and $VAR expanded, relative to the config's directory */
	K_PATHS,    /* struct strlist of K_PATH, from a string or a list */
	K_STRINGS,  /* struct strlist, from a string or a list */
	K_ARGV,     /* char **, from a string (argv_split) or a list */
	K_BOOL,     /* bool */
	K_DURATION, /* uint64_t seconds */
	K_PORT,     /* int, 1..65535 */
	K_ENUM,     /* an enum stored as int, one of names */
	K_CUSTOM,   /* fn(loader, value, path, field) */
};

typedef void custom_fn(struct loader *L, yaml_node_t *v, const char *path, void *field);

struct key {
	const char *name;
	enum kind kind;
	size_t off;               /* of the field in the section's struct */
	const char *const *names; /* K_ENUM */
	custom_fn *fn;            /* K_CUSTOM */
	int first;                /* K_ENUM: the value of names[0] */
};

/* Table rows: KEY("host", K_STRING, offsetof(...)), and the two kinds with more. */
#define KEY(n, k, o)                                                                               \
	{                                                                                          \
		.name = (n), .kind = (k), .off = (o)                                               \
	}
#define ENUM_KEY(n, o, v, base)                                                                    \
	{                                                                                          \
		.name = (n), .kind = K_ENUM, .off = (o), .names = (v), .first = (base)             \
	}
#define CUSTOM_KEY(n, o, f)                                                                        \
	{                                                                                          \
		.name = (n), .kind = K_CUSTOM, .off = (o), .fn = (f)                               \
	}

#define MAXKEYS  24
#define NKEYS(t) (sizeof(t) / sizeof((t)[0]))

extern const char *const cfg_tls_names[];

/*
 * Collects the value node of each key of map into vals (NULL when absent;
 * vals has room for MAXKEYS), reports unknown keys, then stores each value
 * into its field of obj. Returns -1 when map is not a mapping.
 */
int cfg_walk(struct loader *L, yaml_node_t *map, const char *path, const struct key *tab,
             size_t ntab, void *obj, yaml_node_t **vals);
/* Reports "path: missing required key 'key'" at the mapping. */
void cfg_missing(struct loader *L, yaml_node_t *map, const char *path, const char *key);
bool cfg_has_ctl(const char *s);
/*
 * cv points to the value nodes of password, password_command and
 * oauth2_token_command (in that order): reports more than one, notes a
 * plain password, returns how many are present.
 */
int cfg_one_credential(struct loader *L, yaml_node_t *const *cv, const char *path);
/* These report at v under path.key (nothing when the value is absent). */
void cfg_check_host(struct loader *L, yaml_node_t *v, const char *path, const char *host);
/* tls_fingerprint: each ';'-separated pin is sha256// and 44 base64
 * characters; not with insecure: true, not with tls: off. */
void cfg_check_pin(struct loader *L, yaml_node_t *v, const char *path, const char *pin,
                   bool insecure, bool tls_off);
void cfg_check_readable(struct loader *L, yaml_node_t *v, const char *path, const char *key,
                        const char *file);
void cfg_check_positive(struct loader *L, yaml_node_t *v, const char *path, const char *key,
                        uint64_t secs);

/* Section loaders (custom_fn): config-account.c, config-server.c. */
void cfg_load_accounts(struct loader *L, yaml_node_t *v, const char *path, void *field);
void cfg_load_server(struct loader *L, yaml_node_t *v, const char *path, void *field);

#endif
