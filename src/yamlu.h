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
#include <stdint.h>
#include <yaml.h>

#include "util/diag.h"

struct ydoc {
	yaml_document_t doc;
	char *file; /* as given, for messages */
	bool loaded;
};

/*
 * Loads the first document of path. A syntax error, an unreadable file or
 * an empty file is reported into d and returns -1. Duplicate keys in a
 * mapping are reported too (libyaml does not).
 */
int ydoc_load(struct ydoc *y, const char *path, struct diag *d);
/* Same, from memory (tests, `corral test` of inline rules); name is for messages. */
int ydoc_load_string(struct ydoc *y, const char *name, const char *text, size_t len,
		     struct diag *d);
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
int ydoc_int(struct ydoc *y, struct diag *d, yaml_node_t *n, const char *path, long min,
	     long max, long *out);
int ydoc_duration(struct ydoc *y, struct diag *d, yaml_node_t *n, const char *path,
		  uint64_t *secs);
int ydoc_size(struct ydoc *y, struct diag *d, yaml_node_t *n, const char *path,
	      uint64_t *bytes);
/* A non-empty string scalar, copied. */
int ydoc_string(struct ydoc *y, struct diag *d, yaml_node_t *n, const char *path, char **out);

#endif
