/*
 * The texts `corral init` writes: an account, a first config, and the
 * place where `--add-account` inserts an account into an existing
 * config's text. Pure string work.
 *
 * Memory: returned strings belong to the caller; a text that holds a typed
 * password should be wiped (explicit_bzero) before it is freed.
 */
#ifndef CORRAL_CLI_INIT_TEXT_H
#define CORRAL_CLI_INIT_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* The settings of one account, as init gathered them (all strings borrowed). */
struct init_account {
	const char *name;
	const char *protocol; /* "imap" | "pop3" */
	const char *host;
	int port;        /* 0: the protocol's default for tls */
	const char *tls; /* "implicit" | "starttls" | "off" */
	const char *ca_file;
	const char *user;
	const char *password_command;
	const char *oauth2_command;
	const char *password; /* typed on a terminal; stored with the file 0600 */
	const char *found_by; /* a comment: "preset gmail", "DNS SRV ..." */
	const char *note;     /* a comment: what to log in with */
	const char *folders;  /* a comment on the folders to fetch, or NULL */
};

/* s as a single-quoted YAML scalar ('' for a quote inside). */
char *init_yaml_quote(const char *s);

/* The account's block, its name indented by indent spaces. */
char *init_account_text(const struct init_account *a, int indent);

/*
 * A whole first config: maildir, the rule files (rules[0..nrules), as
 * written: relative to the config's directory or absolute), dedupe, and
 * the one account, with comments saying what each key does.
 */
char *init_config_text(const struct init_account *a, const char *maildir, const char *const *rules,
                       size_t nrules);

/*
 * Where an account goes in an existing config's text: *at is the byte
 * offset to insert at (after the last account, before any comment or key
 * that follows them), *indent the accounts' indentation, *need_key true when
 * there is no `accounts:` key (then the insert starts with one). Returns -1
 * with err set when the accounts are not a block mapping this can extend
 * (`accounts: {...}` in flow style).
 */
int init_insert_point(const char *text, size_t *at, int *indent, bool *need_key, char *err,
                      size_t errlen);

/* text with account a inserted (init_insert_point); NULL with err set. */
char *init_add_account(const char *text, const struct init_account *a, char *err, size_t errlen);

#endif
