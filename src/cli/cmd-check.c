/*
 * corral check [--rules FILE...]: validates the config and every rule file
 * it names (the default rules and each account's own), and then whether
 * each action can work in this config (rules_lint: a forward without a
 * relay, a pipe without its program, an `account:` naming no account).
 * Every problem of all of them is printed, as FILE:LINE:COL: message, in
 * one run; exit 78 on any. A config with errors still has its rules
 * checked, as far as its `rules:` key can be read. `--rules FILE...` checks
 * those files alone, without a config.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli/commands.h"
#include "cli/help.h"
#include "config/config.h"
#include "rules/rules.h"
#include "util/diag.h"
#include "util/log.h"

/* Compiles one set of rule files and lints it; returns the number of rules, -1 on errors. */
static long check_set(const struct strlist *files, const struct rules_env *env, struct diag *d)
{
	size_t before = d->n;
	struct rules *r = rules_load(files->v, files->n, d);
	long n;

	if (r == NULL)
		return -1;
	rules_lint(r, env, d);
	n = (long)rules_count(r);
	rules_free(r);
	return d->n > before ? -1 : n;
}

static bool same_files(const struct strlist *a, const struct strlist *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

/* Each account's own rules, each set once (accounts may share a file list). */
static void check_accounts(const struct config *cfg, const struct rules_env *env, struct diag *d)
{
	for (size_t i = 0; i < cfg->naccounts; i++) {
		const struct strlist *own = &cfg->accounts[i].rules;
		bool seen = own->n == 0 || same_files(own, &cfg->rules);

		for (size_t k = 0; k < i && !seen; k++)
			seen = same_files(own, &cfg->accounts[k].rules);
		if (!seen)
			check_set(own, env, d);
	}
}

static int check_config(const struct cli *cli)
{
	char *path = cli_config_path(cli);
	struct diag d;
	struct config *cfg, *partial = NULL;
	const char **names;
	struct rules_env env = {0};
	long nrules;
	int rc;

	diag_init(&d);
	cfg = config_load(path, &d);
	/* A broken config: its rules are still checked, if `rules:` can be read. */
	if (cfg == NULL)
		partial = config_load_fallback(path);
	names = xcalloc(cfg ? cfg->naccounts + 1 : 1, sizeof(*names));
	if (cfg != NULL) {
		for (size_t i = 0; i < cfg->naccounts; i++)
			names[i] = cfg->accounts[i].name;
		env = (struct rules_env){.config = cfg->path,
		                         .relay = cfg->smtp.present,
		                         .accounts = names,
		                         .naccounts = cfg->naccounts};
	}
	nrules = cfg || partial ? check_set(cfg ? &cfg->rules : &partial->rules, &env, &d) : 0;
	if (cfg != NULL)
		check_accounts(cfg, &env, &d);
	diag_print(&d, stderr);
	rc = d.n > 0 ? EX_CONFIG : 0;
	if (rc == 0 && cli->verbosity >= 0)
		printf("%s: ok (%zu account%s, %ld default rule%s)\n", cfg->path, cfg->naccounts,
		       cfg->naccounts == 1 ? "" : "s", nrules, nrules == 1 ? "" : "s");
	else if (rc != 0)
		fprintf(stderr, "corral check: %zu problem%s\n", d.n, d.n == 1 ? "" : "s");
	free(names);
	config_free(cfg);
	config_free(partial);
	diag_free(&d);
	free(path);
	return rc;
}

/* --rules FILE...: the files as one rule set, no config; pipes are checked. */
static int check_rule_files(const struct cli *cli, char **files, int n)
{
	struct strlist set = {.v = files, .n = (size_t)n};
	struct rules_env env = {0};
	struct diag d;
	long nrules;
	int rc;

	diag_init(&d);
	nrules = check_set(&set, &env, &d);
	diag_print(&d, stderr);
	rc = d.n > 0 ? EX_CONFIG : 0;
	if (rc == 0 && cli->verbosity >= 0)
		printf("%s%s: ok (%ld rule%s)\n", files[0], n > 1 ? " and the others" : "", nrules,
		       nrules == 1 ? "" : "s");
	else if (rc != 0)
		fprintf(stderr, "corral check: %zu problem%s\n", d.n, d.n == 1 ? "" : "s");
	diag_free(&d);
	return rc;
}

int cmd_check(struct cli *cli, int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "--rules") == 0)
		return check_rule_files(cli, argv + 2, argc - 2);
	if (argc > 1) {
		cli_usage(stderr, "check");
		return cli_bad_usage("check",
		                     strcmp(argv[1], "--rules") == 0 ? "no rule file after"
		                     : argv[1][0] == '-'             ? "unknown option"
		                                                     : "unexpected argument",
		                     argv[1]);
	}
	return check_config(cli);
}
