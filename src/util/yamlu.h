/*
 * Small helpers over libyaml's document API, shared by the config loader and
 * the rule compiler: load a file into a node tree with positions, and report
 * problems as "FILE:LINE:COL: key.path: message".
 *
 * Memory: a struct ydoc owns its yaml_document_t; nodes and scalar strings
 * returned point into it and live until ydoc_free().
 */
#ifndef CORRAL_YAMLU_H
#define CORRAL_YAMLU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <yaml.h>

#include "util/diag.h"

struct ydoc {
	yaml_document_t doc;
	char *file; /* as given, for messages */
	bool loaded;
};

/*
 * Limits checked at load time, so that every walker can recurse freely: a
 * file larger than YDOC_MAX_FILE, nesting deeper than YDOC_MAX_DEPTH, an
 * alias that contains itself, or more than YDOC_MAX_NODES nodes once aliases
 * are expanded ("billion laughs") is an error. Scalars holding a NUL byte
 * are refused too, so every scalar is a plain C string.
 */
#define YDOC_MAX_FILE  (4u << 20)
#define YDOC_MAX_DEPTH 64
#define YDOC_MAX_NODES 100000

/* Capacity of a key path such as "accounts.work.folders[2]" (longer ones are cut). */
#define YDOC_PATH_MAX 512

/*
 * Loads the document of path. A syntax error, an unreadable file, an empty
 * file, a second document or a broken limit (above) is reported into d and
 * returns -1. Duplicate keys in a mapping (libyaml accepts them) are
 * reported and then removed from the tree, keeping the first, and the load
 * returns 0 so that the caller goes on to report its own problems: compare
 * d->n before and after to know whether anything was wrong.
 */
int ydoc_load(struct ydoc *y, const char *path, struct diag *d);
/* Same, and fills *st (when not NULL) from the opened file: its mode, owner. */
int ydoc_load_stat(struct ydoc *y, const char *path, struct stat *st, struct diag *d);
/* Same, from memory (tests, `corral test` of inline rules); name is for messages. */
int ydoc_load_string(struct ydoc *y, const char *name, const char *text, size_t len,
                     struct diag *d);
/* Wipes every scalar (they may hold passwords), then frees. Safe on a failed load. */
void ydoc_free(struct ydoc *y);

yaml_node_t *ydoc_root(struct ydoc *y);
yaml_node_t *ydoc_node(struct ydoc *y, int id);

/* The scalar's text, or NULL when n is not a scalar. */
const char *ydoc_scalar(yaml_node_t *n);
/* 1-based position of a node. */
int ydoc_line(const yaml_node_t *n);
int ydoc_col(const yaml_node_t *n);

/* Reports "FILE:LINE:COL: path: message" at node n. */
void ydoc_error(struct ydoc *y, struct diag *d, const yaml_node_t *n, const char *path,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * Typed scalars: each returns 0, or reports "expected ..." at n and returns -1.
 * Booleans accept true/false/yes/no/on/off.
 */
int ydoc_bool(struct ydoc *y, struct diag *d, yaml_node_t *n, const char *path, bool *out);
int ydoc_int(struct ydoc *y, struct diag *d, yaml_node_t *n, const char *path, long min, long max,
             long *out);
int ydoc_duration(struct ydoc *y, struct diag *d, yaml_node_t *n, const char *path, uint64_t *secs);
int ydoc_size(struct ydoc *y, struct diag *d, yaml_node_t *n, const char *path, uint64_t *bytes);
/* A non-empty string scalar, copied. */
int ydoc_string(struct ydoc *y, struct diag *d, yaml_node_t *n, const char *path, char **out);

/* "a string", "a list", "a mapping" or "an empty value" (null), for messages. */
const char *ydoc_kind(const yaml_node_t *n);
/* A plain scalar that YAML reads as null: empty, "~", "null". */
bool ydoc_is_null(const yaml_node_t *n);
/* Reports "expected WHAT, got KIND" unless n has type t; returns 0 or -1. */
int ydoc_expect(struct ydoc *y, struct diag *d, yaml_node_t *n, const char *path,
                yaml_node_type_t t);
/* The value of key in mapping map, or NULL (also when map is not a mapping). */
yaml_node_t *ydoc_get(struct ydoc *y, yaml_node_t *map, const char *key);

/*
 * One of names (NULL-terminated), compared case-insensitively: *out is its
 * index. Otherwise reports "expected one of a, b, c".
 */
int ydoc_enum(struct ydoc *y, struct diag *d, yaml_node_t *n, const char *path,
              const char *const *names, int *out);
/*
 * A string or a list of non-empty strings -> a NULL-terminated array of
 * copies (free with argv_free) and its length. Reports every bad item.
 */
int ydoc_strings(struct ydoc *y, struct diag *d, yaml_node_t *n, const char *path, char ***out,
                 size_t *count);

/*
 * Reports an unknown key at the key node: "path.key: unknown key (did you
 * mean 'port'?); valid keys: a, b, c". valid is NULL-terminated.
 */
void ydoc_unknown_key(struct ydoc *y, struct diag *d, yaml_node_t *key, const char *path,
                      const char *const *valid);
/*
 * Checks every key of mapping map against valid (NULL-terminated): reports
 * non-string keys and unknown keys. Returns the number of problems.
 */
int ydoc_check_keys(struct ydoc *y, struct diag *d, yaml_node_t *map, const char *path,
                    const char *const *valid);

/* Key paths for messages: out = "parent.key" / "parent[i]" (or "key" at the root). */
const char *ydoc_path_key(char out[YDOC_PATH_MAX], const char *parent, const char *key);
const char *ydoc_path_index(char out[YDOC_PATH_MAX], const char *parent, size_t i);

#endif
