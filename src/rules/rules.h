/*
 * The rule language (DESIGN.md section 3, corral-rules(5)): rule files ->
 * compiled rules, compiled once (regexes, globs, sizes, folder templates);
 * then one evaluation per message -> an outcome: the deliveries, forwards
 * and pipes the caller must carry out, and which rule asked for each.
 *
 * rules_eval() decodes what the rules look at only when a rule asks, once
 * per message: From/To/Subject/headers on first use, text bodies when a
 * `body` condition is reached, attachment types (libmagic, through the
 * rules' own sniffer) when an `attachment` condition is reached.
 *
 * Threads: a struct rules is used by one thread at a time (the sniffer
 * inside it is not thread-safe).
 *
 * Memory: a struct rules owns everything it points to; an outcome owns its
 * strings (rules_outcome_free); strings returned (char *) belong to the
 * caller, who frees them with free().
 */
#ifndef CORRAL_RULES_H
#define CORRAL_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/diag.h"
#include "mail/flags.h"

struct msg;
struct rules;
struct rules_trace;

/*
 * Compiles the rule files in order (their rules are evaluated as one list).
 * Returns NULL when anything is wrong, with every problem in d as
 * "FILE:LINE:COL: rule #N "name": key.path: message".
 * An empty list of files gives an empty rule set (everything goes to INBOX).
 */
struct rules *rules_load(char *const *files, size_t nfiles, struct diag *d);
/* Same, from memory; name is the file name used in messages. */
struct rules *rules_load_string(const char *name, const char *text, size_t len, struct diag *d);
void rules_free(struct rules *r);

/* What the config offers the rules' actions, for rules_lint(). */
struct rules_env {
	const char *config;          /* the config file's name; NULL: no config is known, so
	                              * only the pipes are checked */
	bool relay;                  /* an smtp relay is configured: forwards can work */
	const char *const *accounts; /* the names of the config's accounts */
	size_t naccounts;
	const char *path; /* where pipe programs are looked up; NULL: $PATH */
};

/*
 * What compiling alone cannot know: reports into d, at each action or
 * condition's FILE:LINE:COL, a forward when no relay is configured, a pipe
 * whose program is not found or not executable, and an `account:` pattern
 * that matches none of the config's accounts (when it has any: a config
 * without accounts serves `deliver -a NAME`, whose NAME is free). Returns
 * how many it reported.
 */
size_t rules_lint(const struct rules *r, const struct rules_env *env, struct diag *d);

/* What the rules know about one rule, for logs and `corral test`. */
struct rule_info {
	const char *name; /* the rule's name:, or NULL */
	const char *file; /* the rule file, as given */
	int line;         /* 1-based line of the rule in its file */
	int index;        /* 1-based position in its file ("rule #3") */
};
size_t rules_count(const struct rules *r);
/* idx is 0-based over all files; NULL when out of range. */
const struct rule_info *rules_info(const struct rules *r, int idx);

/* What the caller knows about the message besides its bytes. */
struct rules_input {
	const char *account; /* the account's name, or NULL (`account` sees "") */
	uint64_t size;       /* the message size in bytes, for `size`; 0: the bytes given */
};

struct rules_delivery {
	char *folder;   /* user form, levels separated by '/': "Lists/foo", "INBOX" */
	unsigned flags; /* MAIL_FLAG_* from mail/flags.h */
	int rule;       /* 0-based index of the rule that filed it; -1: implicit keep */
};

struct rules_forward {
	char *addr; /* addr-spec, to be sent through the smtp relay */
	int rule;
};

struct rules_pipe {
	char **argv; /* NULL-terminated; no shell; the message goes to stdin */
	int rule;
};

/*
 * What should happen to one message. Each folder appears at most once
 * (the flags of every rule that filed into it are combined), each forward
 * address and each pipe command too. When no rule filed, forwarded, piped
 * or discarded, deliveries holds one INBOX entry with rule -1 and
 * implicit_keep is set. A message whose outcome has no delivery, forward
 * or pipe is dropped (discarded is then true).
 */
struct rules_outcome {
	struct rules_delivery *deliveries;
	size_t ndeliveries;
	struct rules_forward *forwards;
	size_t nforwards;
	struct rules_pipe *pipes;
	size_t npipes;
	bool discarded;     /* a matching rule said `discard` */
	int discard_rule;   /* the first such rule, or -1 */
	bool implicit_keep; /* nothing filed, forwarded, piped or discarded */
	int *matched;       /* 0-based indexes of the rules whose `if` matched */
	size_t nmatched;
};

/*
 * Runs the rules over m (which must stay valid during the call; its MIME
 * tree is built on demand). Fills *out (initialised here; free it with
 * rules_outcome_free). trace may be NULL; when given, every rule and
 * condition evaluated is recorded in it for rules_trace_text().
 * Never fails: unreadable parts simply do not match.
 */
void rules_eval(struct rules *r, struct msg *m, const struct rules_input *in,
                struct rules_outcome *out, struct rules_trace *trace);
void rules_outcome_free(struct rules_outcome *o);

/* One line for logs and `corral test`:
 * "Lists/foo (rule #2 "lists"), forward me@x (rule #4)" or "INBOX (implicit keep)". */
char *rules_outcome_text(const struct rules *r, const struct rules_outcome *o);

/*
 * A trace of one evaluation, for `corral test --explain`. A trace can be
 * reused: rules_eval() clears it first.
 */
struct rules_trace *rules_trace_new(void);
void rules_trace_free(struct rules_trace *t);
/*
 * The trace as indented text: one line per rule ("rule #2 "lists"
 * (rules.yml:5): match"), below it one line per condition evaluated
 * ("✓" or "✗", the condition, the value it matched or was tried on, quoted,
 * at most 80 characters), the captures and the actions, then a "result:"
 * line. Ends with a newline.
 */
char *rules_trace_text(const struct rules_trace *t);

#endif
