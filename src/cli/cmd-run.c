/*
 * corral run [--syslog]: the daemon (daemon/daemon.h). Loads the config and
 * every account's rules, takes the state directory's lock (a second `run`
 * or a `fetch` is refused with 75 while it holds it), chooses where the log
 * goes (the journal's priority prefixes when systemd's JOURNAL_STREAM is
 * stderr, syslog with --syslog, plain stderr otherwise) and runs until
 * SIGTERM.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/help.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "rules/rules.h"
#include "util/log.h"

/* What load() is handed: after the first load, broken rules keep the old ones. */
struct run_ctx {
	const struct cli *cli;
	bool started;
};

/*
 * At the start, an account whose rules do not compile is fetched into INBOX
 * unsorted and its status says why: mail left on the server for days with
 * no sign is worse than unsorted mail (corral(1)). On a reload (SIGHUP)
 * broken rules are refused and the running ones kept.
 */
static struct daemon_conf *load(void *ctx)
{
	struct run_ctx *rc = ctx;
	struct daemon_conf *dc;
	struct config *cfg = cli_load_config(rc->cli);
	char why[400];
	bool ok = true;

	if (cfg == NULL)
		return NULL;
	dc = xcalloc(1, sizeof(*dc));
	dc->cfg = cfg;
	dc->rules = xcalloc(cfg->naccounts ? cfg->naccounts : 1, sizeof(*dc->rules));
	dc->rules_problem = xcalloc(cfg->naccounts ? cfg->naccounts : 1, sizeof(char *));
	for (size_t i = 0; i < cfg->naccounts; i++) {
		dc->rules[i] = cli_load_rules(cfg, &cfg->accounts[i], why, sizeof(why));
		if (dc->rules[i] == NULL && !rc->started) {
			dc->rules[i] = cli_inbox_rules();
			dc->rules_problem[i] = xstrdup(why);
		}
		ok &= dc->rules[i] != NULL;
	}
	rc->started = true;
	if (!ok) {
		daemon_conf_free(dc);
		return NULL;
	}
	return dc;
}

int cmd_run(struct cli *cli, int argc, char **argv)
{
	struct run_ctx ctx = {.cli = cli};
	struct daemon_params p = {.load = load,
	                          .ctx = &ctx,
	                          .fault = cli->fault,
	                          .retry_delay_s = cli->retry_delay_s,
	                          .idle_check_s = cli->idle_check_s};
	struct daemon_conf *dc;
	char *serve_argv[8] = {NULL}, *path = NULL;
	bool use_syslog = false;
	int lock, rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--syslog") == 0) {
			use_syslog = true;
		} else {
			return cli_bad_usage(
			    "run", argv[i][0] == '-' ? "unknown option" : "unexpected argument",
			    argv[i]);
		}
	}
	if (cli->dry_run) {
		fprintf(stderr, "corral run: --dry-run is for fetch; try corral --dry-run fetch\n");
		return EX_USAGE;
	}
	if (use_syslog)
		log_set_sink(LOG_TO_SYSLOG);
	else if (log_stderr_is_journal())
		log_set_sink(LOG_TO_JOURNAL);
	/* The daemon says what it does: info lines by default, -q for errors only. */
	if (cli->verbosity == 0)
		log_set_verbosity(1);
	if ((dc = load(&ctx)) == NULL)
		return EX_CONFIG;
	if ((lock = cli_lock_state(dc->cfg, "run")) < 0) {
		daemon_conf_free(dc);
		return EX_TEMPFAIL;
	}
	cli_upgrade_folders(dc->cfg);
	/* server: the IMAP server runs beside, as `corral serve` in a process
	 * of its own (a fresh one: it never holds the accounts' credentials);
	 * with listen: [] systemd's sockets start it instead. */
	if (dc->cfg->server.present && dc->cfg->server.nlisten + dc->cfg->server.ntls_listen > 0) {
		char *verb = cli->verbosity >= 2 ? "-vv" : cli->verbosity < 0 ? "-q" : "-v";

		int k = 0;

		serve_argv[k++] = "/proc/self/exe";
		serve_argv[k++] = "-c";
		/* A copy: a SIGHUP frees the config it came from. */
		path = serve_argv[k++] = xstrdup(dc->cfg->path);
		serve_argv[k++] = verb;
		/* Root was allowed for this run: for its server too. */
		if (cli->allow_root)
			serve_argv[k++] = "--allow-root";
		serve_argv[k++] = "serve";
		serve_argv[k] = use_syslog ? "--syslog" : NULL;
		p.serve_argv = serve_argv;
	}
	rc = daemon_run(&p, dc);
	free(path);
	close(lock);
	return rc;
}
