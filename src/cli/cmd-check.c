/*
 * corral check: validates the config and every rule file it names (the
 * default rules and each account's own). Every problem is printed as
 * FILE:LINE:COL: message; exit 78 on any.
 */
#include <stdio.h>
#include <sysexits.h>

#include "cli/commands.h"
#include "config/config.h"
#include "rules/rules.h"

/* Compiles one set of rule files; returns the number of rules, -1 on errors. */
static long check_rules(const struct config *cfg, const struct account *a)
{
	struct rules *r = cli_load_rules(cfg, a);
	long n;

	if (r == NULL)
		return -1;
	n = (long)rules_count(r);
	rules_free(r);
	return n;
}

int cmd_check(struct cli *cli, int argc, char **argv)
{
	struct config *cfg;
	long nrules;
	int rc = 0;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: corral check\n");
		return EX_USAGE;
	}
	if ((cfg = cli_load_config(cli)) == NULL)
		return EX_CONFIG;
	nrules = check_rules(cfg, NULL);
	if (nrules < 0)
		rc = EX_CONFIG;
	for (size_t i = 0; i < cfg->naccounts; i++)
		if (cfg->accounts[i].rules.n > 0 && check_rules(cfg, &cfg->accounts[i]) < 0)
			rc = EX_CONFIG;
	if (rc == 0 && cli->verbosity >= 0)
		printf("%s: ok (%zu account%s, %ld default rule%s)\n", cfg->path, cfg->naccounts,
		       cfg->naccounts == 1 ? "" : "s", nrules, nrules == 1 ? "" : "s");
	config_free(cfg);
	return rc;
}
