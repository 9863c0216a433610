/*
 * corral serve [--syslog]: the built-in IMAP server on the config's Maildir
 * (imapd/serve.h), until SIGTERM or SIGINT. `corral run` starts it this way
 * when the config has server:. The remote accounts' credentials are
 * dropped once the config is read.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cli/commands.h"
#include "cli/help.h"
#include "config/config.h"
#include "imapd/serve.h"
#include "util/log.h"

static volatile sig_atomic_t serve_stop;

static void on_stop(int sig)
{
	(void)sig;
	serve_stop = 1;
}

int cmd_serve(struct cli *cli, int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_stop};
	struct config *cfg;
	char err[256];
	int rc = 0;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--syslog") != 0 || i > 1)
			return cli_bad_usage(
			    "serve", argv[i][0] == '-' ? "unknown option" : "unexpected argument",
			    argv[i]);
	if (argc == 2)
		log_set_sink(LOG_TO_SYSLOG);
	else if (log_stderr_is_journal())
		log_set_sink(LOG_TO_JOURNAL);
	if ((cfg = cli_load_config(cli)) == NULL)
		return EX_CONFIG;
	config_drop_credentials(cfg);
	if (cfg->server.nusers == 0) {
		fprintf(stderr, "corral serve: %s has no server.users: nobody could log in\n",
		        cfg->path);
		config_free(cfg);
		return EX_CONFIG;
	}
	if (cli->verbosity == 0)
		log_set_verbosity(1);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (serve_run(cfg, &serve_stop, err, sizeof(err)) < 0) {
		log_err("%s", err);
		rc = EX_UNAVAILABLE;
	}
	config_free(cfg);
	return rc;
}
