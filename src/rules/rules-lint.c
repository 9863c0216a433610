/*
 * rules_lint(): what a rule file cannot know alone. A rule set compiles
 * without the config, so `corral check` asks here, once the config is
 * loaded, whether each action can work in it: a forward needs the smtp
 * relay, a pipe a program that exists, an `account:` a name that some
 * account has. Each problem is reported at the action or condition.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules/rules-int.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"

struct lint {
	const struct rules *r;
	const struct rules_env *env;
	struct diag *d;
	const struct rule *rule;
	char label[160];
	size_t n;
};

static void lint_error(struct lint *l, int line, int col, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void lint_error(struct lint *l, int line, int col, const char *path, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	diag_add(l->d, l->rule->info.file, line, col, "%s: %s%s%s", l->label, path ? path : "",
	         path ? ": " : "", text);
	l->n++;
}

/* Whether an executable named prog is found as execvp() would find it. */
static bool program_found(const char *prog, const char *path)
{
	char *copy, *dir, *save = NULL, *full;
	bool found = false;

	if (strchr(prog, '/') != NULL)
		return access(prog, X_OK) == 0;
	copy = xstrdup(path);
	for (dir = strtok_r(copy, ":", &save); dir != NULL && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		full = xasprintf("%s/%s", *dir ? dir : ".", prog);
		found = access(full, X_OK) == 0;
		free(full);
	}
	free(copy);
	return found;
}

static void lint_account(struct lint *l, const struct cond *c)
{
	const struct rules_env *env = l->env;
	struct buf names;

	for (size_t i = 0; i < env->naccounts; i++)
		if (pattern_matches(&c->pat, env->accounts[i], strlen(env->accounts[i])))
			return;
	buf_init(&names, 4096);
	for (size_t i = 0; i < env->naccounts && names.len < 200; i++)
		buf_printf(&names, "%s%s", i ? ", " : "", env->accounts[i]);
	lint_error(l, c->line, c->col, "account",
	           "'%s' matches no account of %s (its accounts: %s)", c->pat.text, env->config,
	           names.data);
	buf_free(&names);
}

static void lint_cond(struct lint *l, const struct cond *c)
{
	if (c == NULL)
		return;
	/* A config without accounts is for `deliver -a NAME` alone: any name. */
	if (c->kind == COND_ACCOUNT && l->env->config != NULL && l->env->naccounts > 0)
		lint_account(l, c);
	for (size_t i = 0; i < c->nkids; i++)
		lint_cond(l, &c->kids[i]);
}

static void lint_actions(struct lint *l, const struct actions *a)
{
	const char *path = l->env->path ? l->env->path : getenv("PATH");

	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (size_t i = 0; i < a->nforwards && l->env->config != NULL && !l->env->relay; i++)
		lint_error(l, a->forward_pos[i].line, a->forward_pos[i].col, a->forward_pos[i].path,
		           "forward to %s needs the smtp relay, and %s has no smtp: section",
		           a->forwards[i], l->env->config);
	for (size_t i = 0; i < a->npipes; i++)
		if (!program_found(a->pipes[i][0], path))
			lint_error(l, a->pipe_pos[i].line, a->pipe_pos[i].col, a->pipe_pos[i].path,
			           strchr(a->pipes[i][0], '/')
			               ? "program '%s' does not exist or is not executable"
			               : "program '%s' is not found in PATH",
			           a->pipes[i][0]);
}

size_t rules_lint(const struct rules *r, const struct rules_env *env, struct diag *d)
{
	struct lint l = {.r = r, .env = env, .d = d};

	for (size_t i = 0; r != NULL && i < r->n; i++) {
		l.rule = &r->v[i];
		rules_label(l.label, sizeof(l.label), l.rule->info.index, l.rule->name);
		lint_cond(&l, l.rule->cond);
		lint_actions(&l, &l.rule->act);
	}
	return l.n;
}
