/*
 * Internals of the rule engine, shared by its files only:
 *   rules.c          rule files -> struct rules (rule keys, actions, checks)
 *   rules-cond.c     conditions and patterns -> struct cond
 *   rules-eval.c     one message through the rules -> struct rules_outcome
 *   rules-explain.c  the trace of an evaluation and its text
 */
#ifndef CORRAL_RULES_INT_H
#define CORRAL_RULES_INT_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules/rules.h"
#include "util/yamlu.h"
#include "mail/flags.h"

/* Regex groups usable in actions: $1..$9 ($0 is the whole match). */
#define RULES_NGROUPS 10
/* Conditions compiled per rule set, once aliases are expanded. */
#define RULES_MAX_CONDS 20000
/* Expanded folder names, in bytes. */
#define RULES_FOLDER_MAX 250
/* One captured value put into a folder name, in bytes. */
#define RULES_CAPTURE_MAX 64

enum cond_kind {
	COND_ALL,
	COND_ANY,
	COND_NOT,
	COND_FROM,
	COND_TO,
	COND_SUBJECT,
	COND_HEADER,
	COND_BODY,
	COND_SIZE,
	COND_ATTACHMENT,
	COND_FILENAME,
	COND_ACCOUNT,
};

enum pat_kind { PAT_GLOB, PAT_IS, PAT_CONTAINS, PAT_REGEX };

enum size_op { SIZE_LT, SIZE_LE, SIZE_GT, SIZE_GE, SIZE_EQ };

struct pattern {
	enum pat_kind kind;
	char *text; /* as written (glob, is, contains, regex) */
	size_t len;
	char *lower; /* contains: the needle lower-cased */
	regex_t re;  /* regex only */
	bool compiled;
	size_t ngroups;
};

struct cond {
	enum cond_kind kind;
	int line, col;
	struct cond *kids; /* all, any, not (one) */
	size_t nkids;
	int hdr; /* header: index into rules.hdrnames */
	struct pattern pat;
	enum size_op op;
	uint64_t size;
	char *size_text; /* as written, for the trace */
};

/* A folder action: a template with $1..$9, ${account} and $$. */
struct folder_tmpl {
	char *text;
	bool keep; /* `keep`: INBOX */
};

/* Where an action was written, for the checks made once the config is known
 * (rules-lint.c): a forward needs a relay, a pipe a program. */
struct act_pos {
	int line, col;
	char *path; /* "then[1].forward", owned */
};

struct actions {
	struct folder_tmpl *folders;
	size_t nfolders;
	unsigned flags; /* MAIL_FLAG_* */
	char **forwards;
	struct act_pos *forward_pos; /* one per forward */
	size_t nforwards;
	char ***pipes;            /* each NULL-terminated */
	struct act_pos *pipe_pos; /* one per pipe */
	size_t npipes;
	bool discard;
};

struct rule {
	struct rule_info info;
	char *name;
	struct cond *cond; /* NULL: matches every message */
	struct actions act;
	bool cont;
};

struct rules {
	struct rule *v;
	size_t n, cap;
	char **files; /* owned names; rule_info.file points here */
	size_t nfiles;
	char **hdrnames; /* distinct header names used (compared without case) */
	size_t nhdr;
	size_t ncond; /* compiled so far, against RULES_MAX_CONDS */
	bool need_attach;
	struct sniffer *sniffer; /* when a rule looks at attachments */
};

/* The compiler's state while one rule is compiled. */
struct rcc {
	struct ydoc *y;
	struct diag *d;
	struct rules *r;
	char label[160]; /* "rule #2 \"lists\"" for messages */
	int errors;
	size_t maxgroups; /* groups of the rule's regexes outside `not` */
	int in_not;
};

/* The label of a rule in messages: rule #N "name" (index 1-based; name may be NULL). */
void rules_label(char *out, size_t n, int index, const char *name);
/* Reports "FILE:LINE:COL: rule #N "name": path: message" at n. */
void rcc_error(struct rcc *c, const yaml_node_t *n, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "unknown key (did you mean ...); valid keys: ..." with the rule's label. */
void rcc_unknown_key(struct rcc *c, yaml_node_t *key, const char *path, const char *const *valid);

/* A YAML boolean, reported with the rule's label. */
int rcc_bool(struct rcc *c, yaml_node_t *n, const char *path, bool *out);

/* A mapping's key/value pairs with YAML merge keys ("<<: *anchor") applied:
 * explicit keys win over merged ones. Returns the count (at most max). */
struct rkv {
	yaml_node_t *k, *v;
	const char *key;
};
size_t rcc_pairs(struct rcc *c, yaml_node_t *map, const char *path, struct rkv *out, size_t max);

/* rules-cond.c */
struct cond *cond_compile(struct rcc *c, yaml_node_t *n, const char *path);
/* True when c matches every message: used to find unreachable rules. */
bool cond_always(const struct cond *c);
void cond_free(struct cond *c);

/* rules-eval.c: whether pattern p matches the whole value s (len n). */
bool pattern_matches(const struct pattern *p, const char *s, size_t n);

/* rules-explain.c: recording, called by rules-eval.c only when tracing. */
void trace_clear(struct rules_trace *t);
void trace_rule(struct rules_trace *t, const struct rules *r, int idx);
void trace_rule_done(struct rules_trace *t, bool match);
/* Opens a condition's line at depth; returns its slot for trace_cond_done(). */
size_t trace_cond(struct rules_trace *t, int depth, const struct cond *c, const struct rules *r);
/*
 * Closes a condition's line: val (len bytes; NULL when the condition has no
 * value at all) is the value that matched, or the first one tried when
 * none did; nvals is how many values there were; at/atlen where the match
 * lies in val, for an excerpt; pm the groups of a regex that matched.
 */
void trace_cond_done(struct rules_trace *t, size_t slot, bool match, const char *val, size_t len,
                     size_t nvals, size_t at, size_t atlen, const regmatch_t *pm, size_t ngroups);
void trace_cond_size(struct rules_trace *t, size_t slot, bool match, uint64_t size);
void trace_line(struct rules_trace *t, int depth, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void trace_result(struct rules_trace *t, const char *text);

#endif
