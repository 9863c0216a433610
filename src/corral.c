/*
 * corral: the command line. Parses the common options (anywhere before
 * "--"), then dispatches to a command in src/cmd-*.c.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/help.h"
#include "daemon/idle.h"
#include "config/config.h"
#include "rules/rules.h"
#include "util/str.h"
#include "util/log.h"

#ifndef CORRAL_VERSION
#define CORRAL_VERSION "0.1.0"
#endif

struct command {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *usage; /* NULL: not listed (the completion's helper) */
};

static const struct command commands[] = {
    {"fetch", cmd_fetch, "fetch [ACCOUNT...]       one pass over the accounts, then exit"},
    {"run", cmd_run,
     "run [--syslog]           daemon: poll and IDLE every account, and the IMAP server"},
    {"serve", cmd_serve,
     "serve [--syslog]         the IMAP server on the Maildir (run starts it with server:)"},
    {"deliver", cmd_deliver,
     "deliver [-a ACCOUNT]     MDA mode: one message on stdin -> rules -> delivery"},
    {"test", cmd_test,
     "test [--explain] FILE...  dry run: which rules match each message, what would happen"},
    {"refile", cmd_refile, "refile FOLDER            apply the rules again to a local folder"},
    {"status", cmd_status,
     "status [--json] [ACCOUNT...]  per account: state, last success, last error, messages"},
    {"passwd", cmd_passwd,
     "passwd                   read a password, print a hash for the IMAP server"},
    {"init", cmd_init,
     "init [--email ADDRESS]   write a first config and rule file, after a login"},
    {"import", cmd_import,
     "import TOOL PATH         mark what fetchmail, getmail, mpop or mbsync fetched as seen"},
    {"_complete", cmd_complete, NULL},
    {"check", cmd_check,
     "check [--rules FILE...]  validate config and rules, every problem at once"},
};

static void usage(FILE *fp)
{
	fprintf(fp, "usage: corral [-c FILE] [-v|-q] [--dry-run] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].usage != NULL)
			fprintf(fp, "  corral %s\n", commands[i].usage);
	fprintf(fp,
	        "\noptions:\n"
	        "  -c FILE      config file (default $XDG_CONFIG_HOME/corral/config.yml)\n"
	        "  -v, -vv      more output; -q less\n"
	        "  --dry-run    fetch and sort without writing anything or changing any server\n"
	        "  --allow-root run or serve as root (refused otherwise; others warn)\n"
	        "  --version    print the version\n"
	        "  --help       this text; corral COMMAND --help for one command; corral(1)\n");
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* Takes one common option out of argv[*i]; returns 1 when it was one, 0 when
 * not, -1 on a usage error, 2 when the program should exit 0 (--version), 3
 * for --help (the command's own when a command is named). */
static int take_common_option(struct cli *cli, int argc, char **argv, int *i)
{
	const char *a = argv[*i];

	if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
		if (*i + 1 >= argc) {
			fprintf(stderr, "corral: %s needs a file name\n", a);
			return -1;
		}
		cli->config_path = argv[++*i];
		return 1;
	}
	if (strncmp(a, "--config=", 9) == 0) {
		cli->config_path = a + 9;
		return 1;
	}
	if (a[0] == '-' && a[1] == 'v' && strspn(a + 1, "v") == strlen(a + 1)) {
		cli->verbosity += (int)strlen(a + 1);
		return 1;
	}
	if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
		cli->verbosity = -1;
		return 1;
	}
	if (strcmp(a, "--allow-root") == 0) {
		cli->allow_root = true;
		return 1;
	}
	if (strcmp(a, "--dry-run") == 0 || strcmp(a, "-n") == 0) {
		cli->dry_run = true;
		return 1;
	}
	if (strcmp(a, "--version") == 0) {
		cli_print_version(stdout, CORRAL_VERSION);
		return 2;
	}
	if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
		return 3;
	return 0;
}

/* --help: the named command's own help, else the global one. */
static int print_help(char **rest, int nrest)
{
	const struct command *cmd = nrest > 0 ? find_command(rest[0]) : NULL;
	int rc = 0;

	if (cmd != NULL)
		cli_help(stdout, cmd->name);
	else if (nrest > 0 && rest[0][0] != '-') {
		fprintf(stderr, "corral: unknown command '%s' (try corral --help)\n", rest[0]);
		rc = EX_USAGE;
	} else
		usage(stdout);
	free(rest);
	return rc;
}

/* `corral ... deliver`: a mistake in the MTA's command line must not bounce
 * the message (64 is a hard bounce to Postfix), so it is a 75 too. */
static bool mda_mode(char **rest, int nrest)
{
	for (int i = 0; i < nrest; i++)
		if (strcmp(rest[i], "deliver") == 0)
			return true;
	return false;
}

/* The test knobs: read here once, handed down in struct cli. */
static void read_knobs(struct cli *cli)
{
	const char *delay = getenv("CORRAL_RETRY_DELAY"), *idle = getenv("CORRAL_IDLE_CHECK");
	const char *root = getenv("CORRAL_ALLOW_ROOT");
	uint64_t v;

	cli->fault = getenv("CORRAL_FAULT");
	cli->dns_server = getenv("CORRAL_DNS_SERVER");
	cli->rules_dir = getenv("CORRAL_RULES_DIR");
	if (root != NULL && strcmp(root, "1") == 0)
		cli->allow_root = true;
	cli->retry_delay_s = 60;
	if (delay != NULL && parse_duration(delay, &cli->retry_delay_s) < 0)
		cli->retry_delay_s = 60;
	cli->idle_check_s = IDLE_CHECK_S;
	if (idle != NULL && parse_duration(idle, &v) == 0 && v > 0 && v < 3600)
		cli->idle_check_s = (unsigned)v;
}

/*
 * Nothing in corral needs root. The long-running commands, which talk to the
 * network and to local clients for hours, refuse it; the others say it once.
 * --allow-root (or CORRAL_ALLOW_ROOT=1) says it is meant, and silences both.
 */
static int root_policy(const struct command *cmd, const struct cli *cli)
{
	bool daemon = strcmp(cmd->name, "run") == 0 || strcmp(cmd->name, "serve") == 0;

	if (geteuid() != 0 || cli->allow_root || cmd->usage == NULL)
		return 0;
	if (daemon) {
		fprintf(stderr,
		        "corral %s: refusing to run as root: nothing in corral needs it, and a "
		        "root daemon on the network is a risk; run it as the mail's owner, or give "
		        "--allow-root (or CORRAL_ALLOW_ROOT=1) if this is meant\n",
		        cmd->name);
		return EX_NOPERM;
	}
	fprintf(stderr,
	        "corral %s: warning: running as root (nothing in corral needs it; "
	        "--allow-root silences this)\n",
	        cmd->name);
	return 0;
}

int main(int argc, char **argv)
{
	struct cli cli = {0};
	char **rest = calloc((size_t)argc + 1, sizeof(char *));
	int nrest = 0, rc;
	bool dashdash = false, help = false;
	const struct command *cmd;

	if (rest == NULL)
		fatal("out of memory");
	for (int i = 1; i < argc; i++) {
		if (!dashdash && strcmp(argv[i], "--") == 0) {
			dashdash = true;
			rest[nrest++] = argv[i];
			continue;
		}
		rc = dashdash ? 0 : take_common_option(&cli, argc, argv, &i);
		if (rc < 0) {
			free(rest);
			return EX_USAGE;
		}
		if (rc == 2) {
			free(rest);
			return 0;
		}
		help = help || rc == 3;
		if (rc == 0)
			rest[nrest++] = argv[i];
	}
	log_set_verbosity(cli.verbosity);
	/* State, config and mail are private: whatever corral creates is at most
	 * 0700/0600, even where a call forgets its mode (children inherit it). */
	umask(umask(077) | 077);
	/* A secret read into memory must not end in a core file. */
	prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L);
	/* A peer that goes away is an error return from write(), not a death. */
	signal(SIGPIPE, SIG_IGN);
	cli.progress = cli.verbosity >= 0 && isatty(STDOUT_FILENO);
	read_knobs(&cli);
	if (help)
		return print_help(rest, nrest);
	if (nrest == 0) {
		usage(stderr);
		free(rest);
		return EX_USAGE;
	}
	cmd = find_command(rest[0]);
	if (cmd == NULL && rest[0][0] == '-') {
		fprintf(stderr, "corral: unknown option '%s' (try corral --help)\n", rest[0]);
		rc = mda_mode(rest, nrest) ? EX_TEMPFAIL : EX_USAGE;
		free(rest);
		return rc;
	}
	if (cmd == NULL) {
		fprintf(stderr, "corral: unknown command '%s' (try corral --help)\n", rest[0]);
		free(rest);
		return EX_USAGE;
	}
	if ((rc = root_policy(cmd, &cli)) != 0) {
		free(rest);
		return rc;
	}
	rc = cmd->run(&cli, nrest, rest);
	free(rest);
	return rc;
}

char *cli_config_path(const struct cli *cli)
{
	return cli->config_path ? xstrdup(cli->config_path) : config_default_path();
}

struct config *cli_load_config(const struct cli *cli)
{
	struct diag d;
	struct config *c;
	char *path = cli_config_path(cli);

	diag_init(&d);
	c = config_load(path, &d);
	diag_print(&d, stderr);
	if (c != NULL && d.n > 0) {
		config_free(c);
		c = NULL;
	}
	diag_free(&d);
	free(path);
	return c;
}

void cli_diag_summary(const struct diag *d, char *why, size_t whylen)
{
	if (why == NULL || whylen == 0)
		return;
	if (d->n == 0)
		snprintf(why, whylen, "has errors");
	else if (d->n == 1)
		snprintf(why, whylen, "%s", d->msgs[0]);
	else
		snprintf(why, whylen, "%s (and %zu more)", d->msgs[0], d->n - 1);
}

struct rules *cli_load_rules(const struct config *cfg, const struct account *acct, char *why,
                             size_t whylen)
{
	const struct strlist *files =
	    acct != NULL && acct->rules.n > 0 ? &acct->rules : &cfg->rules;
	struct diag d;
	struct rules *r;

	diag_init(&d);
	r = rules_load(files->v, files->n, &d);
	diag_print(&d, stderr);
	if (r == NULL)
		cli_diag_summary(&d, why, whylen);
	diag_free(&d);
	return r;
}

struct rules *cli_inbox_rules(void)
{
	struct diag d;
	struct rules *r;

	diag_init(&d);
	r = rules_load(NULL, 0, &d);
	diag_free(&d);
	if (r == NULL)
		fatal("out of memory");
	return r;
}
