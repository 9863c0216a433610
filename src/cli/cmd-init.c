/*
 * corral init [--provider NAME] [--user ADDRESS] [--force]: writes a first
 * config (with one account from a provider preset) and a rule file next to
 * it, then checks that the config loads.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli/commands.h"
#include "config/config.h"
#include "util/fs.h"
#include "util/log.h"

struct preset {
	const char *name;
	const char *protocol;
	const char *host;
	const char *auth; /* NULL, or the mechanism the provider wants */
	const char *note; /* a comment line for the user */
};

static const struct preset presets[] = {
    {"generic", "imap", "imap.example.com", NULL, "your provider's IMAP server"},
    {"gmail", "imap", "imap.gmail.com", NULL,
     "an app password (Google account > Security), or oauth2_token_command + auth: xoauth2"},
    {"outlook", "imap", "outlook.office365.com", "xoauth2",
     "Microsoft 365 needs OAuth2: oauth2_token_command prints a fresh access token"},
    {"fastmail", "imap", "imap.fastmail.com", NULL, "an app password (Settings > Privacy)"},
    {"icloud", "imap", "imap.mail.me.com", NULL, "an app-specific password (appleid.apple.com)"},
    {"yahoo", "imap", "imap.mail.yahoo.com", NULL, "an app password (Account security)"},
    {"gmx", "imap", "imap.gmx.net", NULL, "enable IMAP access in the web mailer first"},
    {"posteo", "imap", "posteo.de", NULL, "your Posteo password"},
    {"pop3", "pop3", "pop.example.com", NULL, "your provider's POP3 server"},
};

static const char rules_text[] =
    "# corral rules: evaluated top to bottom, the first match wins (unless\n"
    "# `continue: true`); a message no rule files goes to INBOX.\n"
    "# See corral-rules(5), and the ready sets in share/corral/rules/.\n"
    "# Try them without side effects: corral test --explain MESSAGE\n"
    "\n"
    "- name: spam verdicts\n"
    "  if: {header: {X-Spam-Flag: \"YES\"}}\n"
    "  then: {folder: Junk}\n"
    "\n"
    "- name: mailing lists\n"
    "  if: {header: {List-Id: {regex: '<([a-z0-9-]+)\\.'}}}\n"
    "  then: {folder: 'Lists/$1'}\n";

static const struct preset *find_preset(const char *name)
{
	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
		if (strcmp(presets[i].name, name) == 0)
			return &presets[i];
	return NULL;
}

/* Writes text to path (mode 0600), refusing an existing file unless force. */
static int write_new(const char *path, const char *text, bool force)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL), 0600);
	size_t len = strlen(text);

	if (fd < 0) {
		fprintf(stderr, "corral init: %s: %s%s\n", path, strerror(errno),
		        errno == EEXIST ? " (--force overwrites it)" : "");
		return -1;
	}
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0 || close(fd) < 0) {
		fprintf(stderr, "corral init: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static char *config_text(const struct preset *p, const char *user)
{
	const char *at = strchr(user, '@');
	char *name = xstrndup(user, at ? (size_t)(at - user) : strlen(user));
	char *text;

	for (char *c = name; *c; c++)
		if (*c == '.' || *c == '/' || *c == ' ')
			*c = '-';
	text = xasprintf("# corral config: see corral.yml(5). Check it with: corral check\n"
	                 "maildir: ~/Maildir\n"
	                 "rules: rules.yml\n"
	                 "dedupe: 30d\n"
	                 "\n"
	                 "accounts:\n"
	                 "  %s:\n"
	                 "    protocol: %s\n"
	                 "    host: %s\n"
	                 "    user: %s\n"
	                 "    # %s\n"
	                 "%s"
	                 "    keep: true           # false: delete from the server once delivered\n"
	                 "%s",
	                 name[0] ? name : "mail", p->protocol, p->host, user, p->note,
	                 p->auth ? "    oauth2_token_command: [oauth2-token, --account, ME]\n"
	                           "    auth: xoauth2\n"
	                         : "    password_command: [pass, show, mail/ME]\n",
	                 strcmp(p->protocol, "imap") == 0 ? "    folders: [INBOX]\n" : "");
	free(name);
	return text;
}

int cmd_init(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {{"provider", required_argument, NULL, 'p'},
	                                         {"user", required_argument, NULL, 'u'},
	                                         {"force", no_argument, NULL, 'f'},
	                                         {NULL, 0, NULL, 0}};
	const struct preset *p = &presets[0];
	const char *user = "me@example.com";
	bool force = false;
	char *path, *dir, *rules, *text;
	struct config *cfg;
	int c, rc = EX_CANTCREAT;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:u:f", longopts, NULL)) != -1) {
		if (c == 'p' && (p = find_preset(optarg)) == NULL) {
			fprintf(stderr, "corral init: no preset '%s'; presets:", optarg);
			for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
				fprintf(stderr, " %s", presets[i].name);
			fprintf(stderr, "\n");
			return EX_USAGE;
		} else if (c == 'u') {
			user = optarg;
		} else if (c == 'f') {
			force = true;
		} else if (c != 'p') {
			fprintf(
			    stderr,
			    "usage: corral init [--provider NAME] [--user ADDRESS] [--force]\n");
			return EX_USAGE;
		}
	}
	path = cli->config_path ? xstrdup(cli->config_path) : config_default_path();
	if (path == NULL)
		fatal("no config path: set HOME");
	dir = xstrdup(path);
	if (strrchr(dir, '/') != NULL)
		*strrchr(dir, '/') = '\0';
	else
		strcpy(dir, ".");
	rules = xasprintf("%s/rules.yml", dir);
	text = config_text(p, user);
	if (fs_mkdir_p(dir, 0700) < 0)
		fprintf(stderr, "corral init: %s: %s\n", dir, strerror(errno));
	else if (write_new(path, text, force) == 0 && write_new(rules, rules_text, force) == 0)
		rc = 0;
	if (rc == 0 && (cfg = cli_load_config(cli)) != NULL) {
		printf("wrote %s and %s\nnext: set the password or token command, then run "
		       "corral check and corral fetch --dry-run\n",
		       path, rules);
		config_free(cfg);
	} else if (rc == 0) {
		rc = EX_CONFIG;
	}
	free(text);
	free(rules);
	free(dir);
	free(path);
	return rc;
}
