/*
 * The commands of the CLI (corral(1)). corral.c parses the common options,
 * then calls one of these with the command's own arguments (argv[0] is the
 * command name). Each returns an exit status from <sysexits.h>:
 * 0, EX_USAGE 64, EX_DATAERR 65, EX_UNAVAILABLE 69, EX_TEMPFAIL 75,
 * EX_NOPERM 77, EX_CONFIG 78.
 */
#ifndef CORRAL_COMMANDS_H
#define CORRAL_COMMANDS_H

#include <stdbool.h>
#include <stdint.h>

struct config;
struct account;
struct rules;
struct diag;

/* What the common options said; handed to every command. */
struct cli {
	const char *config_path; /* -c FILE, or NULL for the default */
	int verbosity;           /* -q -1, default 0, -v 1, -vv 2 */
	bool dry_run;            /* --dry-run */
	bool progress;           /* stdout is a terminal and not -q */
	bool allow_root;         /* --allow-root or CORRAL_ALLOW_ROOT=1 */
	/* Test knobs from the environment, read once at start (corral.1 documents
	 * them): CORRAL_FAULT, a crash step; CORRAL_RETRY_DELAY, the first wait
	 * before a deferred forward or pipe is tried again (seconds, default 60). */
	const char *fault;
	uint64_t retry_delay_s;
	/* CORRAL_IDLE_CHECK: the longest IDLE before DONE proves the connection
	 * alive (seconds, default 60). */
	unsigned idle_check_s;
	/* CORRAL_DNS_SERVER: "ADDRESS:PORT" of the DNS server init asks for SRV
	 * records instead of resolv.conf's; CORRAL_RULES_DIR: where init finds the
	 * ready rule sets instead of the installed ones. NULL when unset. */
	const char *dns_server;
	const char *rules_dir;
};

/* The config file's path: -c FILE, else the default (NULL when there is
 * none); the caller frees it. */
char *cli_config_path(const struct cli *cli);

/*
 * Loads the config named by cli (or the default path). On any problem it
 * prints every diagnostic to stderr and returns NULL: the command then
 * returns EX_CONFIG.
 */
struct config *cli_load_config(const struct cli *cli);

/*
 * Compiles the rules an account uses (its own `rules:`, else the config's);
 * a NULL account means the config's. On any problem it prints every
 * diagnostic to stderr, puts the first (with how many more) into why
 * (when not NULL) and returns NULL.
 */
struct rules *cli_load_rules(const struct config *cfg, const struct account *acct, char *why,
                             size_t whylen);
/* The first diagnostic of d and how many more, for a status line. */
void cli_diag_summary(const struct diag *d, char *why, size_t whylen);
/*
 * The rule set without rules: every message to INBOX. What deliver, fetch
 * and run sort with while the user's rules are broken (a local mistake
 * must not bounce mail nor leave it on the server unseen; corral(1)).
 */
struct rules *cli_inbox_rules(void);

/*
 * Takes the state directory's lock (store/statelock.h) for `what`; when
 * another corral holds it, says which (pid) and returns -1: the command
 * then returns EX_TEMPFAIL. The descriptor otherwise.
 */
int cli_lock_state(const struct config *cfg, const char *what);

/*
 * Upgrades the folders an older corral spelled in raw UTF-8 to modified
 * UTF-7 (maildir_upgrade_all): one readdir of the Maildir's root, at the
 * start of `fetch` and `run`, so that folders no rule writes any more are
 * shown by the IMAP server too. Problems are logged, never fatal.
 */
void cli_upgrade_folders(const struct config *cfg);

/* Asks for a secret on the terminal (prompt on stderr, no echo): one line
 * into buf, without its newline. -1 at the end of input. */
int cli_read_secret(const char *what, char *buf, size_t size);

int cmd_fetch(struct cli *cli, int argc, char **argv);
int cmd_run(struct cli *cli, int argc, char **argv);
int cmd_serve(struct cli *cli, int argc, char **argv);
int cmd_deliver(struct cli *cli, int argc, char **argv);
int cmd_test(struct cli *cli, int argc, char **argv);
int cmd_refile(struct cli *cli, int argc, char **argv);
int cmd_check(struct cli *cli, int argc, char **argv);
int cmd_status(struct cli *cli, int argc, char **argv);
int cmd_passwd(struct cli *cli, int argc, char **argv);
int cmd_init(struct cli *cli, int argc, char **argv);
int cmd_import(struct cli *cli, int argc, char **argv);
/* Hidden: the words of the shell completion (contrib/completion/). */
int cmd_complete(struct cli *cli, int argc, char **argv);

#endif
