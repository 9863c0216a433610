/*
 * corral status [--json] [ACCOUNT...]: per account, what `corral run` is
 * doing with it (when it runs), the last successful fetch, the last error
 * and when, the messages fetched and the next poll. Reads the status files
 * (store/status.h): works while the daemon runs, from any process.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/help.h"
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

/* Whether the `corral run` that wrote st is still running. */
static bool daemon_alive(const struct account_status *st)
{
	return st->daemon_pid > 0 && kill((pid_t)st->daemon_pid, 0) == 0;
}

static void show(const struct config *cfg, const struct account *a, time_t now)
{
	struct account_status st;
	char ok[64], run[64], err[64], next[64];

	status_read(cfg->state_dir, a->name, &st);
	when(st.last_success, now, ok, sizeof(ok));
	when(st.last_run, now, run, sizeof(run));
	when(st.last_error_time, now, err, sizeof(err));
	printf("%s: %s://%s:%d (%s)\n", a->name, protocol_name(a->protocol), a->host, a->port,
	       a->keep ? "keep" : "delete after delivery");
	if (st.state[0] != '\0' && daemon_alive(&st)) {
		long in = (long)(st.next_run - now);

		snprintf(next, sizeof(next), in > 0 ? "in %ld s" : "now", in);
		printf("  state:         %s%s (corral run, pid %ld)\n", st.state,
		       st.push ? ", new mail pushed (IDLE)" : "", st.daemon_pid);
		if (strcmp(st.state, "fetching") != 0)
			printf("  next poll:     %s\n", next);
	}
	printf("  last success:  %s\n", ok);
	if (st.last_run != 0 && st.last_run != st.last_success)
		printf("  last run:      %s, exit %d\n", run, st.last_exit);
	if (st.last_error_time == 0 && (st.last_exit == 0 || st.last_error[0] == '\0'))
		printf("  last error:    none\n");
	else
		printf("  last error:    %s (%s)%s\n", st.last_error, err,
		       st.last_exit == 0 ? ", since recovered" : "");
	printf("  fetched:       %llu by the last run, %llu in all\n",
	       (unsigned long long)st.fetched_last, (unsigned long long)st.fetched_total);
}

/* `corral deliver`'s problems, when it had any (store/status.h). */
static void show_deliver(const struct config *cfg, time_t now)
{
	struct account_status st;
	char err[64], ok[64];

	status_read(cfg->state_dir, NULL, &st);
	if (st.last_run == 0)
		return;
	when(st.last_error_time, now, err, sizeof(err));
	when(st.last_success, now, ok, sizeof(ok));
	printf("deliver (MDA, corral deliver)\n");
	if (st.last_exit != 0)
		printf("  problem:       %s (%s)\n", st.last_error, err);
	else
		printf("  last problem:  %s (%s), since recovered %s\n", st.last_error, err, ok);
	printf("  delivered:     %llu with a problem or just after one\n",
	       (unsigned long long)st.fetched_total);
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* One account as a JSON object; times are Unix seconds, 0 for never. */
static void show_json(const struct config *cfg, const struct account *a, bool first)
{
	struct account_status st;
	bool alive;

	status_read(cfg->state_dir, a->name, &st);
	alive = st.state[0] != '\0' && daemon_alive(&st);
	printf("%s\n  {\"account\": ", first ? "" : ",");
	json_string(a->name);
	printf(", \"protocol\": \"%s\", \"host\": ", protocol_name(a->protocol));
	json_string(a->host);
	printf(", \"port\": %d,\n   \"state\": ", a->port);
	json_string(alive ? st.state : st.last_run ? "not running" : "never run");
	printf(", \"push\": %s, \"daemon_pid\": %ld, \"next_poll\": %lld, \"failures\": %u,\n",
	       alive && st.push ? "true" : "false", alive ? st.daemon_pid : 0L,
	       alive ? (long long)st.next_run : 0LL, alive ? st.failures : 0u);
	printf("   \"last_run\": %lld, \"last_success\": %lld, \"last_exit\": %d,\n",
	       (long long)st.last_run, (long long)st.last_success, st.last_exit);
	printf("   \"last_error\": ");
	json_string(st.last_error);
	printf(", \"last_error_time\": %lld,\n", (long long)st.last_error_time);
	printf("   \"fetched_last\": %llu, \"fetched_total\": %llu}",
	       (unsigned long long)st.fetched_last, (unsigned long long)st.fetched_total);
}

int cmd_status(struct cli *cli, int argc, char **argv)
{
	struct config *cfg;
	time_t now = time(NULL);
	bool json = false, first = true;
	int rc = 0, nnames = 0;

	/* A wrong option is said before any config problem. */
	for (int i = 1; i < argc; i++)
		if (argv[i][0] == '-' && strcmp(argv[i], "--json") != 0)
			return cli_bad_usage("status", "unknown option", argv[i]);
	if ((cfg = cli_load_config(cli)) == NULL)
		return EX_CONFIG;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
			argv[i] = NULL;
		} else if (config_account(cfg, argv[i]) == NULL) {
			fprintf(stderr, "corral status: no account '%s' in %s\n", argv[i],
			        cfg->path);
			rc = EX_USAGE;
		} else {
			nnames++;
		}
	}
	if (json && rc == 0)
		printf("[");
	for (size_t i = 0; rc == 0 && i < cfg->naccounts; i++) {
		bool wanted = nnames == 0;

		for (int k = 1; k < argc; k++)
			wanted |= argv[k] != NULL && strcmp(argv[k], cfg->accounts[i].name) == 0;
		if (wanted && json)
			show_json(cfg, &cfg->accounts[i], first);
		else if (wanted)
			show(cfg, &cfg->accounts[i], now);
		first &= !wanted;
	}
	if (json && rc == 0)
		printf("\n]\n");
	else if (rc == 0 && nnames == 0)
		show_deliver(cfg, now);
	config_free(cfg);
	return rc;
}
