/*
 * corral check: validates the config (and, with the rules module, every rule
 * file). Every problem is printed as FILE:LINE:COL: message; exit 78 on any.
 */
#include <stdio.h>
#include <sysexits.h>

#include "commands.h"
#include "config.h"

int cmd_check(struct cli *cli, int argc, char **argv)
{
	struct config *cfg;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: corral check\n");
		return EX_USAGE;
	}
	if ((cfg = cli_load_config(cli)) == NULL)
		return EX_CONFIG;
	if (cli->verbosity >= 0)
		printf("%s: ok (%zu account%s)\n", cfg->path, cfg->naccounts,
		       cfg->naccounts == 1 ? "" : "s");
	config_free(cfg);
	return 0;
}
