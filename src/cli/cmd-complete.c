/*
 * corral _complete WHAT: the words the shell completion scripts offer
 * (contrib/completion/), one per line, nothing on stderr and exit 0 when
 * there are none, so that a broken config never disturbs typing.
 *
 *   commands          the command names
 *   options [CMD]     CMD's options as its --help lists them, or the common ones
 *   accounts          the account names of the config
 *   folders           INBOX and the Maildir++ folders of the config's Maildir
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "cli/help.h"
#include "config/config.h"
#include "mail/mutf7.h"
#include "util/diag.h"
#include "util/log.h"

/* The config, quietly: a completion must not print its errors. */
static struct config *quiet_config(const struct cli *cli)
{
	char *path = cli_config_path(cli);
	struct diag d;
	struct config *c;

	diag_init(&d);
	c = path ? config_load(path, &d) : NULL;
	/* A config with errors still says where the Maildir is. */
	if (c == NULL && path != NULL)
		c = config_load_fallback(path);
	diag_free(&d);
	free(path);
	return c;
}

static void accounts(const struct config *c)
{
	for (size_t i = 0; c != NULL && i < c->naccounts; i++)
		printf("%s\n", c->accounts[i].name);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ".A.B" (modified UTF-7) -> "A/B"; NULL for what is not a folder's directory. */
static char *folder_name(const char *root, const char *entry)
{
	char *cur = xasprintf("%s/%s/cur", root, entry), *name;
	struct stat st;
	bool is_dir = stat(cur, &st) == 0 && S_ISDIR(st.st_mode);

	free(cur);
	if (!is_dir || (name = mutf7_decode(entry + 1)) == NULL)
		return NULL;
	for (char *p = name; *p; p++)
		if (*p == '.')
			*p = '/';
	return name;
}

static void folders(const struct config *c)
{
	DIR *d = c ? opendir(c->maildir) : NULL;
	struct dirent *e;
	char **names = NULL, *n;
	size_t count = 0;

	printf("INBOX\n");
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.' || strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0 ||
		    (n = folder_name(c->maildir, e->d_name)) == NULL)
			continue;
		names = xrealloc(names, (count + 1) * sizeof(*names));
		names[count++] = n;
	}
	if (d != NULL)
		closedir(d);
	if (count > 0)
		qsort(names, count, sizeof(*names), cmp_str);
	for (size_t i = 0; i < count; i++) {
		printf("%s\n", names[i]);
		free(names[i]);
	}
	free(names);
}

int cmd_complete(struct cli *cli, int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";
	struct config *c;

	if (strcmp(what, "commands") == 0)
		cli_help_commands(stdout);
	else if (strcmp(what, "options") == 0)
		cli_help_options(stdout, argc > 2 ? argv[2] : NULL);
	else if (strcmp(what, "accounts") == 0 || strcmp(what, "folders") == 0) {
		c = quiet_config(cli);
		(what[0] == 'a' ? accounts : folders)(c);
		config_free(c);
	}
	return 0;
}
