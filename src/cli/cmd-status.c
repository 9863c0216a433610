/*
 * corral status [ACCOUNT...]: per account, the last successful fetch, the
 * last error, and the messages fetched.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "cli/commands.h"
#include "config/config.h"
#include "store/status.h"

static void when(time_t t, time_t now, char *out, size_t n)
{
	struct tm tm;
	char date[32];
	long ago = (long)(now - t);

	if (t == 0) {
		snprintf(out, n, "never");
		return;
	}
	localtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M", &tm);
	if (ago < 120)
		snprintf(out, n, "%s (%ld s ago)", date, ago);
	else if (ago < 7200)
		snprintf(out, n, "%s (%ld min ago)", date, ago / 60);
	else if (ago < 172800)
		snprintf(out, n, "%s (%ld h ago)", date, ago / 3600);
	else
		snprintf(out, n, "%s (%ld days ago)", date, ago / 86400);
}

static void show(const struct config *cfg, const struct account *a, time_t now)
{
	struct account_status st;
	char ok[64], run[64];

	status_read(cfg->state_dir, a->name, &st);
	when(st.last_success, now, ok, sizeof(ok));
	when(st.last_run, now, run, sizeof(run));
	printf("%s: %s://%s:%d (%s)\n", a->name, protocol_name(a->protocol), a->host, a->port,
	       a->keep ? "keep" : "delete after delivery");
	printf("  last success:  %s\n", ok);
	if (st.last_run != 0 && st.last_run != st.last_success)
		printf("  last run:      %s, exit %d\n", run, st.last_exit);
	printf("  last error:    %s\n",
	       st.last_exit != 0 && st.last_error[0] ? st.last_error : "none");
	printf("  fetched:       %llu by the last run, %llu in all\n",
	       (unsigned long long)st.fetched_last, (unsigned long long)st.fetched_total);
}

int cmd_status(struct cli *cli, int argc, char **argv)
{
	struct config *cfg = cli_load_config(cli);
	time_t now = time(NULL);
	int rc = 0;

	if (cfg == NULL)
		return EX_CONFIG;
	for (int i = 1; i < argc; i++)
		if (config_account(cfg, argv[i]) == NULL) {
			fprintf(stderr, "corral status: no account '%s' in %s\n", argv[i],
			        cfg->path);
			rc = EX_USAGE;
		}
	for (size_t i = 0; rc == 0 && i < cfg->naccounts; i++) {
		bool wanted = argc <= 1;

		for (int k = 1; k < argc; k++)
			wanted |= strcmp(argv[k], cfg->accounts[i].name) == 0;
		if (wanted)
			show(cfg, &cfg->accounts[i], now);
	}
	config_free(cfg);
	return rc;
}
