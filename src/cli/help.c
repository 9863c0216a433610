/*
 * The per-command help (`corral COMMAND --help`) and the one message for an
 * option a command does not know. The text here is what corral(1) says in
 * short: usage, the command's own options, one example.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cli/help.h"

struct help {
	const char *name;
	const char *text; /* usage lines, options, one example */
};

static const struct help helps[] = {
    {"fetch", "usage: corral fetch [ACCOUNT...]\n"
              "One pass over the accounts (or those named): fetch what is new, sort it,\n"
              "deliver it, then exit.\n"
              "\n"
              "options:\n"
              "  --dry-run   fetch and sort, write nothing, change nothing on the server\n"
              "\n"
              "example:\n"
              "  corral fetch work\n"},
    {"run", "usage: corral run [--syslog]\n"
            "The daemon: polls and IDLEs every account, and runs the IMAP server when\n"
            "the config has server:.\n"
            "\n"
            "options:\n"
            "  --syslog        log to syslog instead of stderr\n"
            "  --allow-root    run as root all the same (refused otherwise)\n"
            "\n"
            "example:\n"
            "  corral -v run\n"},
    {"serve", "usage: corral serve [--syslog]\n"
              "Only the IMAP server, on the Maildir (the config's server: section).\n"
              "\n"
              "options:\n"
              "  --syslog        log to syslog instead of stderr\n"
              "  --allow-root    run as root all the same (refused otherwise)\n"
              "\n"
              "example:\n"
              "  corral serve\n"},
    {"deliver", "usage: corral deliver [-a ACCOUNT] < MESSAGE\n"
                "MDA mode: one message on stdin -> rules -> delivery. Every failure,\n"
                "a wrong option too, exits 75: the MTA keeps the message and retries.\n"
                "\n"
                "options:\n"
                "  -a, --account ACCOUNT   sort with this account's rules; `account:` matches it\n"
                "  --dry-run               say where the message would go, write nothing\n"
                "\n"
                "example (Postfix main.cf):\n"
                "  mailbox_command = /usr/local/bin/corral deliver\n"},
    {"test", "usage: corral test [--explain] [-a ACCOUNT] [--rules FILE]... FILE...\n"
             "       corral test [-a ACCOUNT] [--rules FILE]... --expect EXPECT.yml...\n"
             "Dry run of the rules: which rule matches each message, what would happen.\n"
             "FILE is a message file, an mbox file or a Maildir folder.\n"
             "\n"
             "options:\n"
             "  --explain              every condition of every rule, matched or not\n"
             "  -a, --account ACCOUNT  that account's rules, as if fetched from it\n"
             "  --rules FILE           these rule files instead of the config's\n"
             "  --expect FILE          check the outcomes an expectation file names\n"
             "\n"
             "example:\n"
             "  corral test --explain ~/Maildir/new/1700000000.M1P2.host\n"},
    {"refile", "usage: corral refile [--dry-run] [--discard] [-a ACCOUNT] [--rules FILE]... "
               "FOLDER\n"
               "Applies the rules again to the messages of a local folder.\n"
               "\n"
               "options:\n"
               "  -n, --dry-run          say what would move, move nothing\n"
               "  --discard              remove what the rules now discard (else it stays)\n"
               "  -a, --account ACCOUNT  that account's rules\n"
               "  --rules FILE           these rule files instead of the config's\n"
               "\n"
               "example:\n"
               "  corral refile --dry-run INBOX\n"},
    {"check", "usage: corral check\n"
              "       corral check --rules FILE...\n"
              "Validates the config and every rule file it names; every problem as\n"
              "FILE:LINE:COL: message, exit 78 on any.\n"
              "\n"
              "options:\n"
              "  --rules FILE...   check these rule files alone, without a config\n"
              "\n"
              "example:\n"
              "  corral -c ~/.config/corral/config.yml check\n"},
    {"status", "usage: corral status [--json] [ACCOUNT...]\n"
               "Per account: state, last success, last error, messages fetched.\n"
               "\n"
               "options:\n"
               "  --json      one JSON object per account, one per line\n"
               "\n"
               "example:\n"
               "  corral status work\n"},
    {"passwd", "usage: corral passwd < PASSWORD\n"
               "Reads a password (asked twice on a terminal) and prints its crypt(3) hash\n"
               "for the IMAP server's server.users.\n"
               "\n"
               "example:\n"
               "  corral passwd\n"},
    {"init", "usage: corral init [--email ADDRESS] [options]\n"
             "       corral init --add-account NAME [options]\n"
             "Writes a first config and rule file (mode 0600) after a real login with the\n"
             "settings: a provider preset from the address's domain, else the DNS SRV\n"
             "records of RFC 6186. Asks for what is missing on a terminal.\n"
             "\n"
             "options:\n"
             "  --email ADDRESS            the address; picks the preset and the user name\n"
             "  --provider NAME            a preset by name: gmail outlook fastmail icloud yahoo\n"
             "                             gmx posteo\n"
             "  --protocol imap|pop3       --host HOST   --port PORT\n"
             "  --tls implicit|starttls|off\n"
             "  --ca-file FILE             trust this CA for the server's certificate\n"
             "  --user NAME                the login name (default: the address)\n"
             "  --password-command CMD     prints the password (no shell)\n"
             "  --oauth2-command CMD       prints an OAuth2 access token\n"
             "  --maildir DIR              where mail goes (default ~/Maildir)\n"
             "  --rule-sets LIST           ready rule sets by name (spam,lists,...) or none\n"
             "  --account NAME             the account's name (default from the domain)\n"
             "  --add-account NAME         append an account to the existing config\n"
             "  --no-verify                write without logging in first\n"
             "  --non-interactive          never ask; fail on what is missing\n"
             "  --force                    overwrite an existing config and rule file\n"
             "\n"
             "example:\n"
             "  corral init --email me@fastmail.com --password-command 'pass show mail/fm'\n"},
    {"import",
     "usage: corral import [-a ACCOUNT] [--folder NAME] fetchmail|getmail|mpop|mbsync PATH\n"
     "Marks what the tool already fetched as seen in corral's journal, so that\n"
     "corral fetch fetches only new mail. PATH: fetchmail's .fetchids, mpop's\n"
     "UIDLs file or folder, getmail's oldmail-* file or its folder, mbsync's\n"
     ".mbsyncstate or the Maildir tree or SyncState folder holding them. Accounts\n"
     "are matched by host and user (getmail: also port and folder).\n"
     "\n"
     "options:\n"
     "  -a, --account ACCOUNT  import into this account (mbsync needs it when\n"
     "                         the config has several imap accounts)\n"
     "  --folder NAME          mbsync: the server folder the state file mirrors\n"
     "  --dry-run              say what would be imported, write nothing\n"
     "\n"
     "example:\n"
     "  corral import fetchmail ~/.fetchids\n"},
};

static const struct help *find_help(const char *cmd)
{
	for (size_t i = 0; i < sizeof(helps) / sizeof(helps[0]); i++)
		if (strcmp(helps[i].name, cmd) == 0)
			return &helps[i];
	return NULL;
}

bool cli_help(FILE *fp, const char *cmd)
{
	const struct help *h = find_help(cmd);

	if (h == NULL)
		return false;
	fputs(h->text, fp);
	fprintf(fp, "\ncommon options (-c FILE, -v, -q, --dry-run): corral --help; "
	            "all of it: man corral\n");
	return true;
}

void cli_help_commands(FILE *fp)
{
	for (size_t i = 0; i < sizeof(helps) / sizeof(helps[0]); i++)
		fprintf(fp, "%s\n", helps[i].name);
}

/* The options named on one option line of a help text, up to its description. */
static void line_options(FILE *fp, const char *p, const char *end)
{
	while (p < end) {
		size_t gap = strspn(p, " "), len;

		p += gap;
		len = strcspn(p, " \n");
		/* After a run of spaces, a word that is no option starts the description. */
		if (len == 0 || (gap > 1 && *p != '-'))
			return;
		if (*p == '-' && len > 1)
			fprintf(fp, "%.*s\n", (int)(len - (p[len - 1] == ',')), p);
		p += len;
	}
}

void cli_help_options(FILE *fp, const char *cmd)
{
	const struct help *h = cmd ? find_help(cmd) : NULL;
	const char *p, *end;

	if (cmd == NULL) {
		fprintf(fp, "-c\n--config\n-v\n-q\n--dry-run\n--allow-root\n--version\n--help\n");
		return;
	}
	for (p = h ? h->text : ""; (end = strchr(p, '\n')) != NULL; p = end + 1)
		if (strncmp(p, "  -", 3) == 0)
			line_options(fp, p, end);
	if (h != NULL)
		fprintf(fp, "--help\n");
}

void cli_usage(FILE *fp, const char *cmd)
{
	const struct help *h = find_help(cmd);
	const char *p = h ? h->text : "";
	const char *end;

	/* The text's first lines: "usage: ..." and the "       corral ..." that follow. */
	while ((strncmp(p, "usage: ", 7) == 0 || strncmp(p, "       corral ", 14) == 0) &&
	       (end = strchr(p, '\n')) != NULL) {
		fwrite(p, 1, (size_t)(end - p + 1), fp);
		p = end + 1;
	}
}

int cli_bad_usage(const char *cmd, const char *what, const char *arg)
{
	fprintf(stderr, "corral %s: %s '%s' (see corral %s --help)\n", cmd, what, arg, cmd);
	/* deliver runs under an MTA: 64 would bounce the message, 75 keeps it. */
	return strcmp(cmd, "deliver") == 0 ? EX_TEMPFAIL : EX_USAGE;
}

int cli_bad_option(const char *cmd, char **argv, int c)
{
	char shortopt[3] = {'-', (char)optopt, '\0'};
	const char *opt = argv[optind - 1];

	/* getopt's optopt names a bad letter inside a cluster ("-xq"). */
	if (optopt > 0 && optopt < 128 && strncmp(opt, "--", 2) != 0)
		opt = shortopt;
	return cli_bad_usage(cmd, c == ':' ? "a value is missing after" : "unknown option", opt);
}
