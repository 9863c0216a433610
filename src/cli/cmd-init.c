/*
 * corral init: writes a first config and rule file (or, --add-account, one
 * more account into an existing config) after proving the settings work:
 * the text is loaded from memory with every check `corral check` makes,
 * then the account logs in as `corral fetch` would. Nothing is written
 * before both pass; an existing file is never overwritten without --force
 * (or a yes on the terminal).
 *
 * The server comes from --host, else a provider preset (--provider, or the
 * address's domain), else the domain's DNS SRV records (RFC 6186). On a
 * terminal, what is missing is asked for; --non-interactive never asks.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/help.h"
#include "cli/init-config.h"
#include "cli/init-preset.h"
#include "cli/init-text.h"
#include "config/config.h"
#include "net/srv.h"
#include "util/diag.h"
#include "util/fs.h"
#include "util/log.h"

#define INIT_OWNED_MAX 32

struct init {
	struct cli *cli;
	const char *email, *provider, *maildir, *rule_sets, *add_account;
	bool interactive, force, verify;
	struct init_account a;
	char *path;                  /* the config file */
	char *owned[INIT_OWNED_MAX]; /* strings the answers point into */
	size_t nowned;
	char password[1024]; /* typed on the terminal; wiped at the end */
};

/* Keeps s until the end of the command; returns it. */
static const char *own(struct init *in, char *s)
{
	if (in->nowned == INIT_OWNED_MAX)
		fatal("init: too many answers");
	in->owned[in->nowned++] = s;
	return s;
}

enum {
	O_EMAIL = 256,
	O_PROTOCOL,
	O_HOST,
	O_PORT,
	O_TLS,
	O_USER,
	O_PWCMD,
	O_OAUTH2,
	O_MAILDIR,
	O_CA,
	O_SETS,
	O_ACCOUNT,
	O_ADD,
	O_PROVIDER,
	O_NOVERIFY,
	O_NONINTER,
	O_FORCE
};

static const struct option longopts[] = {{"email", required_argument, NULL, O_EMAIL},
                                         {"protocol", required_argument, NULL, O_PROTOCOL},
                                         {"host", required_argument, NULL, O_HOST},
                                         {"port", required_argument, NULL, O_PORT},
                                         {"tls", required_argument, NULL, O_TLS},
                                         {"user", required_argument, NULL, O_USER},
                                         {"password-command", required_argument, NULL, O_PWCMD},
                                         {"oauth2-command", required_argument, NULL, O_OAUTH2},
                                         {"maildir", required_argument, NULL, O_MAILDIR},
                                         {"ca-file", required_argument, NULL, O_CA},
                                         {"rule-sets", required_argument, NULL, O_SETS},
                                         {"account", required_argument, NULL, O_ACCOUNT},
                                         {"add-account", required_argument, NULL, O_ADD},
                                         {"provider", required_argument, NULL, O_PROVIDER},
                                         {"no-verify", no_argument, NULL, O_NOVERIFY},
                                         {"non-interactive", no_argument, NULL, O_NONINTER},
                                         {"force", no_argument, NULL, O_FORCE},
                                         {NULL, 0, NULL, 0}};

/* The options that only store their value: where, in struct init. */
static const struct {
	int opt;
	size_t off;
} string_opts[] = {
    {O_EMAIL, offsetof(struct init, email)},
    {O_PROTOCOL, offsetof(struct init, a.protocol)},
    {O_HOST, offsetof(struct init, a.host)},
    {O_TLS, offsetof(struct init, a.tls)},
    {O_USER, offsetof(struct init, a.user)},
    {O_PWCMD, offsetof(struct init, a.password_command)},
    {O_OAUTH2, offsetof(struct init, a.oauth2_command)},
    {O_MAILDIR, offsetof(struct init, maildir)},
    {O_CA, offsetof(struct init, a.ca_file)},
    {O_SETS, offsetof(struct init, rule_sets)},
    {O_ACCOUNT, offsetof(struct init, a.name)},
    {O_PROVIDER, offsetof(struct init, provider)},
};

/* One option into in; -1 (said) for a bad value. */
static int take_option(struct init *in, int c, const char *v)
{
	char *end;

	for (size_t i = 0; i < sizeof(string_opts) / sizeof(string_opts[0]); i++)
		if (string_opts[i].opt == c) {
			*(const char **)((char *)in + string_opts[i].off) = v;
			return 0;
		}
	if (c == O_PORT) {
		in->a.port = (int)strtol(v, &end, 10);
		if (*end != '\0' || in->a.port < 1 || in->a.port > 65535) {
			cli_bad_usage("init", "--port wants 1 to 65535, not", v);
			return -1;
		}
	}
	if (c == O_ADD)
		in->add_account = in->a.name = v;
	in->verify = in->verify && c != O_NOVERIFY;
	in->interactive = in->interactive && c != O_NONINTER;
	in->force = in->force || c == O_FORCE;
	return 0;
}

static int parse_args(struct init *in, int argc, char **argv)
{
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		if (c == '?' || c == ':') {
			cli_bad_option("init", argv, c);
			return -1;
		}
		if (take_option(in, c, optarg) < 0)
			return -1;
	}
	if (optind < argc) {
		cli_bad_usage("init", "unexpected argument", argv[optind]);
		return -1;
	}
	return 0;
}

/* One line from the terminal; def when it is empty (NULL at the end of input). */
static const char *ask(struct init *in, const char *question, const char *def)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	printf("%s%s%s%s: ", question, def ? " [" : "", def ? def : "", def ? "]" : "");
	fflush(stdout);
	if ((n = getline(&line, &cap, stdin)) < 0) {
		free(line);
		return def;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
		line[--n] = '\0';
	if (n == 0) {
		free(line);
		return def;
	}
	return own(in, line);
}

static bool yes(struct init *in, const char *question)
{
	const char *a = ask(in, question, "n");

	return a != NULL && (a[0] == 'y' || a[0] == 'Y');
}

/* Missing or wrong values: asked on a terminal, else a usage error. */
static int need(struct init *in, const char **field, const char *question, const char *def,
                const char *option)
{
	if (*field == NULL && in->interactive)
		*field = ask(in, question, def);
	if (*field == NULL && def != NULL)
		*field = def;
	if (*field == NULL) {
		fprintf(stderr, "corral init: %s is missing (%s; see corral init --help)\n",
		        question, option);
		return -1;
	}
	return 0;
}

static int check_choice(const char *what, const char *v, const char *a, const char *b,
                        const char *c)
{
	if (strcmp(v, a) == 0 || strcmp(v, b) == 0 || (c && strcmp(v, c) == 0))
		return 0;
	fprintf(stderr, "corral init: %s '%s': expected %s, %s%s%s\n", what, v, a, b,
	        c ? " or " : "", c ? c : "");
	return -1;
}

/* RFC 6186's services, in its order of preference. */
static const struct {
	const char *prefix, *protocol, *tls;
} services[] = {
    {"_imaps._tcp", "imap", "implicit"},
    {"_imap._tcp", "imap", "starttls"},
    {"_pop3s._tcp", "pop3", "implicit"},
    {"_pop3._tcp", "pop3", "starttls"},
};

/* The first service of the domain's SRV records that is offered (target not "."). */
static int find_by_srv(struct init *in, const char *domain)
{
	struct init_account *a = &in->a;
	struct srv_rec rec[8];
	char err[256], *name;
	int n;

	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]) && a->host == NULL; i++) {
		if (a->protocol != NULL && strcmp(a->protocol, services[i].protocol) != 0)
			continue;
		name = xasprintf("%s.%s", services[i].prefix, domain);
		n = srv_lookup(name, in->cli->dns_server, rec, 8, err, sizeof(err));
		if (n < 0)
			fprintf(stderr, "corral init: %s\n", err);
		for (int k = 0; k < n && a->host == NULL; k++) {
			if (strcmp(rec[k].target, ".") == 0)
				continue;
			a->host = own(in, xstrdup(rec[k].target));
			a->port = (int)rec[k].port;
			a->protocol = services[i].protocol;
			if (a->tls == NULL)
				a->tls = services[i].tls;
			a->found_by = own(in, xasprintf("the DNS SRV record %s", name));
		}
		if (a->host != NULL && in->cli->verbosity >= 0)
			printf("%s: %s port %d (%s)\n", name, a->host, a->port, a->tls);
		free(name);
	}
	return 0;
}

/* The server: --host, else a preset, else DNS SRV, else asked. */
static int choose_server(struct init *in)
{
	struct init_account *a = &in->a;
	const struct preset *p = NULL;
	const char *domain = in->email ? strrchr(in->email, '@') : NULL;

	if (a->host == NULL && in->provider != NULL && (p = preset_by_name(in->provider)) == NULL) {
		fprintf(stderr, "corral init: no preset '%s'; presets: %s\n", in->provider,
		        preset_names());
		return EX_USAGE;
	}
	if (a->host == NULL && p == NULL && in->email != NULL)
		p = preset_for_email(in->email);
	if (a->host == NULL && p != NULL) {
		bool pop3 = a->protocol != NULL && strcmp(a->protocol, "pop3") == 0;

		a->host = pop3 ? p->pop3_host : p->imap_host;
		if (a->host == NULL) {
			fprintf(stderr, "corral init: %s offers no POP3: use IMAP\n", p->name);
			return EX_USAGE;
		}
		a->found_by = own(in, xasprintf("corral's preset for %s", p->name));
		/* The presets' servers all take TLS on the standard ports. */
		a->protocol = pop3 ? "pop3" : "imap";
		if (a->tls == NULL)
			a->tls = "implicit";
		a->note = p->oauth2 ? p->oauth2 : p->note;
		a->folders = p->folders;
		if (a->name == NULL)
			a->name = p->name;
	}
	if (a->host == NULL && domain != NULL) {
		int rc = find_by_srv(in, domain + 1);

		if (rc != 0)
			return rc;
	}
	if (a->host == NULL && need(in, &a->host, "IMAP or POP3 server", NULL, "--host") < 0)
		return EX_USAGE;
	if (need(in, &a->protocol, "protocol (imap or pop3)", "imap", "--protocol") < 0 ||
	    need(in, &a->tls, "TLS (implicit, starttls or off)", "implicit", "--tls") < 0)
		return EX_USAGE;
	if (check_choice("protocol", a->protocol, "imap", "pop3", NULL) < 0 ||
	    check_choice("tls", a->tls, "implicit", "starttls", "off") < 0)
		return EX_USAGE;
	return 0;
}

/* The login name and the credential; on a terminal, asked for. */
static int choose_login(struct init *in)
{
	struct init_account *a = &in->a;

	if (need(in, &a->user, "login name", in->email, "--user or --email") < 0)
		return EX_USAGE;
	if (a->password_command != NULL || a->oauth2_command != NULL || !in->verify)
		return 0;
	if (!in->interactive) {
		fprintf(stderr, "corral init: no credential: give --password-command or "
		                "--oauth2-command (or --no-verify to write a placeholder)\n");
		return EX_USAGE;
	}
	if (a->note != NULL)
		printf("%s: log in with %s\n", a->host, a->note);
	a->password_command = ask(in, "command that prints the password (empty: type it)", NULL);
	if (a->password_command != NULL)
		return 0;
	if (cli_read_secret("password: ", in->password, sizeof(in->password)) < 0 ||
	    in->password[0] == '\0') {
		fprintf(stderr, "corral init: no password given\n");
		return EX_USAGE;
	}
	a->password = in->password;
	return 0;
}

/* The account's name: given, else the preset's, else the domain's main label. */
static void choose_name(struct init *in)
{
	const char *at = in->email ? strrchr(in->email, '@') : NULL;
	const char *d = at ? at + 1 : in->a.host;
	const char *last = strrchr(d, '.');
	const char *first = d;
	char *name;

	if (in->a.name != NULL)
		return;
	/* "mail.example.org" -> "example": the label before the last one. */
	for (const char *p = d; last != NULL && p < last; p++)
		if (*p == '.')
			first = p + 1;
	name = xstrndup(first, last && last > first ? (size_t)(last - first) : strlen(first));
	for (char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
			*c = *c >= 'A' && *c <= 'Z' ? (char)(*c - 'A' + 'a') : '-';
	in->a.name = own(in, name[0] ? name : xstrdup("mail"));
	if (name[0] == '\0')
		free(name);
}

#ifndef CORRAL_DATADIR
#define CORRAL_DATADIR "/usr/local/share/corral"
#endif

/* The ready sets in the order they belong in `rules:` (lists.yml says why). */
static const char *const set_order[] = {"spam", "notifications", "receipts", "lists", "big"};
#define NSETS (sizeof(set_order) / sizeof(set_order[0]))

static char *set_path(const struct init *in, const char *name)
{
	const char *dir = in->cli->rules_dir ? in->cli->rules_dir : CORRAL_DATADIR "/rules";

	return xasprintf("%s/%s.yml", dir, name);
}

static bool set_exists(const struct init *in, const char *name)
{
	char *p = set_path(in, name);
	bool ok = access(p, R_OK) == 0;

	free(p);
	return ok;
}

/* "spam,notifications,lists" of those installed: the default choice. */
static char *default_sets(const struct init *in)
{
	static const char *const defaults[] = {"spam", "notifications", "lists"};
	char *out = xstrdup(""), *next;

	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		if (!set_exists(in, defaults[i]))
			continue;
		next = xasprintf("%s%s%s", out, out[0] ? "," : "", defaults[i]);
		free(out);
		out = next;
	}
	return out;
}

/* The rule files of the config: rules.yml, then each chosen set by its path. */
static int choose_sets(struct init *in, const char **files, size_t *n)
{
	const char *list = in->rule_sets;
	const char *def = own(in, default_sets(in));

	*n = 0;
	files[(*n)++] = "rules.yml";
	if (list == NULL && in->interactive) {
		printf("ready rule sets:");
		for (size_t i = 0; i < NSETS; i++)
			if (set_exists(in, set_order[i]))
				printf(" %s", set_order[i]);
		printf("\n");
		list =
		    ask(in, "rule sets to use (comma-separated, or none)", def[0] ? def : "none");
	}
	if (list == NULL)
		list = def;
	if (strcmp(list, "none") == 0)
		return 0;
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ", ");
		char *name = xstrndup(p, len);

		if (len > 0 && !set_exists(in, name)) {
			char *path = set_path(in, name);

			fprintf(stderr, "corral init: no rule set '%s' (%s)\n", name, path);
			free(path);
			free(name);
			return EX_USAGE;
		}
		if (len > 0 && *n < NSETS + 1)
			files[(*n)++] = own(in, set_path(in, name));
		free(name);
		p += len + strspn(p + len, ", ");
	}
	return 0;
}

static char *rules_text(const struct init *in)
{
	char *q = init_yaml_quote(in->a.user);
	char *t =
	    xasprintf("# Your own rules, tried before the ready sets the config lists after\n"
	              "# this file. Top to bottom, the first match wins (unless continue: true);\n"
	              "# a message no rule files goes to INBOX. See corral-rules(5).\n"
	              "# Try them without side effects: corral test --explain MESSAGE\n"
	              "\n"
	              "- name: notes to self\n"
	              "  if: {all: [{from: %s}, {to: %s}]}\n"
	              "  then: {folder: Notes}\n",
	              q, q);

	free(q);
	return t;
}

/* Prints d with the in-memory file's name replaced by the config's path. */
static void print_diags(const struct diag *d, const char *path)
{
	for (size_t i = 0; i < d->n; i++) {
		const char *m = d->msgs[i];
		bool ours = strncmp(m, "/proc/self/fd/", 14) == 0;

		if (ours)
			m += 14 + strspn(m + 14, "0123456789");
		fprintf(stderr, "%s%s\n", ours ? path : "", m);
	}
}

/* The text loads as a config with the account, and the account logs in. */
static int prove(struct init *in, const char *text)
{
	struct diag d;
	struct config *c;
	const struct account *acct;
	char err[600];
	int rc = 0;

	diag_init(&d);
	c = init_load_text(text, &d);
	print_diags(&d, in->path);
	diag_free(&d);
	if (c == NULL)
		return EX_CONFIG;
	if ((acct = config_account(c, in->a.name)) == NULL) {
		fprintf(stderr, "corral init: the new account '%s' did not load\n", in->a.name);
		rc = EX_SOFTWARE;
	} else if (in->verify) {
		if (in->cli->verbosity >= 0)
			printf("logging in to %s as %s...\n", acct->host, acct->cred.user);
		fflush(stdout);
		if ((rc = init_try_login(acct, err, sizeof(err))) != 0)
			fprintf(stderr, "corral init: %s:%d: %s; nothing written\n", acct->host,
			        acct->port, err);
		else if (in->cli->verbosity >= 0)
			printf("%s: TLS and login ok\n", acct->host);
	}
	config_free(c);
	return rc;
}

/* Writes text to path (mode 0600), refusing an existing file unless force. */
static int write_new(const char *path, const char *text, bool force)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL), 0600);
	size_t len = strlen(text);

	if (fd < 0) {
		fprintf(stderr, "corral init: %s: %s%s\n", path, strerror(errno),
		        errno == EEXIST ? " (--force overwrites it)" : "");
		return EX_CANTCREAT;
	}
	if (fchmod(fd, 0600) < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) < 0) {
		fprintf(stderr, "corral init: %s: %s\n", path, strerror(errno));
		close(fd);
		return EX_IOERR;
	}
	close(fd);
	return 0;
}

/* `corral check` on what was written: its output, its exit status. */
static int check_written(struct init *in)
{
	struct cli c = *in->cli;
	char *argv[] = {"check", NULL};

	c.config_path = in->path;
	return cmd_check(&c, 1, argv);
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
}

/* A first config and its rule file (the rule file is kept when it exists). */
static int write_first(struct init *in, const char *text)
{
	char *dir = dir_of(in->path), *rules = xasprintf("%s/rules.yml", dir), *rtext = NULL;
	bool keep_rules = !in->force && access(rules, F_OK) == 0;
	int rc = 0;

	if (fs_mkdir_p(dir, 0700) < 0) {
		fprintf(stderr, "corral init: %s: %s\n", dir, strerror(errno));
		rc = EX_CANTCREAT;
	}
	if (rc == 0)
		rc = write_new(in->path, text, in->force);
	if (rc == 0 && !keep_rules)
		rc = write_new(rules, rtext = rules_text(in), in->force);
	if (rc == 0 && in->cli->verbosity >= 0)
		printf("wrote %s%s %s\n", in->path, keep_rules ? "; kept" : " and", rules);
	free(rtext);
	free(rules);
	free(dir);
	return rc;
}

/* The existing config's text (capped: a config is small). NULL when unreadable. */
static char *read_config(const char *path)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t cap = 0, n;

	if (f == NULL) {
		fprintf(stderr, "corral init: %s: %s (init without --add-account writes one)\n",
		        path, strerror(errno));
		return NULL;
	}
	n = (size_t)getdelim(&text, &cap, '\0', f);
	if (ferror(f) || n > (4u << 20)) {
		fprintf(stderr, "corral init: %s: cannot read it whole\n", path);
		free(text);
		text = NULL;
	}
	fclose(f);
	return text ? text : xstrdup("");
}

/* --add-account: the account inserted into the text, proved, written whole. */
static int add_account(struct init *in)
{
	char *old = read_config(in->path), *text = NULL, err[256];
	struct diag d;
	struct config *c = NULL;
	int rc = EX_CONFIG;

	if (old == NULL)
		return EX_NOINPUT;
	diag_init(&d);
	if ((c = init_load_text(old, &d)) == NULL)
		fprintf(stderr, "corral init: %s has errors: fix them first (corral check)\n",
		        in->path);
	else if (config_account(c, in->a.name) != NULL)
		fprintf(stderr, "corral init: %s already has an account '%s'\n", in->path,
		        in->a.name);
	else if ((text = init_add_account(old, &in->a, err, sizeof(err))) == NULL)
		fprintf(stderr, "corral init: %s: %s\n", in->path, err);
	else if ((rc = prove(in, text)) == 0 &&
	         fs_replace_file(in->path, text, strlen(text), true) < 0) {
		fprintf(stderr, "corral init: %s: %s\n", in->path, strerror(errno));
		rc = EX_IOERR;
	}
	if (rc == 0 && in->cli->verbosity >= 0)
		printf("added account %s to %s\n", in->a.name, in->path);
	config_free(c);
	diag_free(&d);
	if (text != NULL)
		explicit_bzero(text, strlen(text));
	free(text);
	free(old);
	return rc;
}

/* A first config: refused over an existing one unless --force or a yes. */
static int first_config(struct init *in)
{
	const char *files[NSETS + 1];
	size_t nfiles;
	char *text;
	int rc;

	if ((rc = choose_sets(in, files, &nfiles)) != 0)
		return rc;
	text = init_config_text(&in->a, in->maildir ? in->maildir : "~/Maildir", files, nfiles);
	if ((rc = prove(in, text)) == 0)
		rc = write_first(in, text);
	explicit_bzero(text, strlen(text));
	free(text);
	return rc;
}

/* Whether the config may be written: a new file, --force, or a yes on the terminal. */
static int may_write(struct init *in)
{
	if (in->add_account != NULL || in->force || access(in->path, F_OK) != 0)
		return 0;
	if (in->interactive && yes(in, "a config exists there: overwrite it?")) {
		in->force = true;
		return 0;
	}
	fprintf(stderr,
	        "corral init: %s exists: not overwritten (--force overwrites it; "
	        "--add-account NAME adds an account to it)\n",
	        in->path);
	return EX_CANTCREAT;
}

static int gather(struct init *in)
{
	int rc;

	if (in->email == NULL && in->a.host == NULL && in->interactive)
		in->email = ask(in, "your email address", NULL);
	if (in->email == NULL && in->a.host == NULL) {
		fprintf(stderr, "corral init: give --email ADDRESS (or --host and --user); see "
		                "corral init --help\n");
		return EX_USAGE;
	}
	if ((rc = choose_server(in)) != 0 || (rc = choose_login(in)) != 0)
		return rc;
	choose_name(in);
	if (in->maildir == NULL && in->add_account == NULL && in->interactive)
		in->maildir = ask(in, "Maildir for your mail", "~/Maildir");
	return 0;
}

int cmd_init(struct cli *cli, int argc, char **argv)
{
	struct init in = {.cli = cli, .verify = true, .interactive = isatty(STDIN_FILENO)};
	int rc;

	if (parse_args(&in, argc, argv) < 0)
		return EX_USAGE;
	if ((in.path = cli_config_path(cli)) == NULL) {
		fprintf(stderr, "corral init: no config path: set HOME or give -c FILE\n");
		return EX_USAGE;
	}
	if ((rc = may_write(&in)) == 0 && (rc = gather(&in)) == 0)
		rc = in.add_account ? add_account(&in) : first_config(&in);
	/* What corral check says of the files written is the last word. */
	if (rc == 0)
		rc = check_written(&in);
	if (rc == 0 && cli->verbosity >= 0)
		printf("next: corral --dry-run fetch, then corral fetch\n");
	explicit_bzero(in.password, sizeof(in.password));
	for (size_t i = 0; i < in.nowned; i++)
		free(in.owned[i]);
	free(in.path);
	return rc;
}
