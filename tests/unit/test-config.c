/* Unit tests for the config loader (config*.c) and the YAML helpers (yamlu.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "util/diag.h"
#include "util/log.h"
#include "util/str.h"
#include "util/yamlu.h"

/* A temporary directory that is $HOME too, so defaults are predictable. */
struct fixture {
	char dir[256];
	int seq;
};

static int group_setup(void **state)
{
	static struct fixture fx;
	const char *tmp = getenv("TMPDIR");

	snprintf(fx.dir, sizeof(fx.dir), "%s/corral-test-config-XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(fx.dir) == NULL)
		return -1;
	*state = &fx;
	return 0;
}

static int group_teardown(void **state)
{
	struct fixture *fx = *state;
	char *cmd = xasprintf("rm -rf '%s'", fx->dir);
	int rc = system(cmd);

	free(cmd);
	return rc == 0 ? 0 : -1;
}

static int test_setup(void **state)
{
	struct fixture *fx = *state;

	setenv("HOME", fx->dir, 1);
	unsetenv("XDG_STATE_HOME");
	unsetenv("XDG_CONFIG_HOME");
	setenv("CORRAL_TEST_VAR", "fromvar", 1);
	unsetenv("CORRAL_TEST_UNSET");
	return 0;
}

static char *write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

/* Each test gets its own subdirectory, so a rules.yml of one does not leak into another. */
static char *fresh_dir(struct fixture *fx)
{
	char *dir = xasprintf("%s/t%d", fx->dir, ++fx->seq);

	assert_int_equal(mkdir(dir, 0700), 0);
	return dir;
}

static struct config *load_text(struct fixture *fx, const char *text, mode_t mode, struct diag *d,
                                char **path_out)
{
	char *dir = fresh_dir(fx);
	char *path = write_file(dir, "config.yml", text, mode);
	struct config *c;

	diag_init(d);
	c = config_load(path, d);
	free(dir);
	if (path_out)
		*path_out = path;
	else
		free(path);
	return c;
}

/* A valid account, to which the error rows add one mistake. */
#define ACCT                                                                                       \
	"accounts:\n"                                                                              \
	"  work:\n"                                                                                \
	"    protocol: imap\n"                                                                     \
	"    host: imap.example.com\n"                                                             \
	"    user: me\n"
#define PWCMD "    password_command: pass show mail\n"
/* A well-formed pin: 43 base64 characters and '='. */
#define PIN44 "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
#define SERVER_USERS                                                                               \
	"  users:\n"                                                                               \
	"    me: {password_hash: \"$6$salt$hash\"}\n"

static const struct {
	const char *name;
	const char *yaml;
	const char *expect; /* in the first message */
} error_cases[] = {
    /* YAML itself */
    {"syntax_error_is_positioned", "accounts:\n\twork: x\n",
     ":2:1: YAML syntax error: found character that cannot start any token"},
    {"unclosed_flow_mapping", "accounts: {work: {protocol: imap}\n", ":2:1: YAML syntax error"},
    {"empty_file", "", ": the file is empty"},
    {"comments_only_is_empty", "# nothing here\n", ": the file is empty"},
    {"second_document", "maildir: a\n---\nmaildir: b\n", ":3:1: only one YAML document"},
    {"invalid_utf8", "maildir: \xff\n", "invalid input at byte"},
    {"alias_cycle", "maildir: &x [*x]\n", ":1:10: an alias refers to a node that contains it"},
    {"nul_byte_in_string", "maildir: \"a\\0b\"\n", ":1:10: a string holds a NUL byte"},
    {"root_is_a_list", "- a\n- b\n", ":1:1: expected a mapping, got a list"},
    {"duplicate_top_key", "maildir: a\nmaildir: b\n",
     ":2:1: maildir: duplicate key (first at line 1)"},
    /* keys */
    {"unknown_top_key_suggests", "maildri: ~/Mail\n",
     ":1:1: maildri: unknown key (did you mean 'maildir'?); valid keys: maildir, state, "
     "rules, dedupe, max_connections, smtp, server, accounts"},
    {"unknown_key_far_from_all", "colour: blue\n", ":1:1: colour: unknown key; valid keys:"},
    {"unknown_account_key_suggests", ACCT PWCMD "    prot: 993\n",
     ":7:5: accounts.work.prot: unknown key (did you mean 'port'?)"},
    {"duplicate_account", ACCT PWCMD "  work:\n    protocol: pop3\n",
     ":7:3: accounts.work: duplicate key (first at line 2)"},
    {"non_string_key", "[a, b]: 1\n", ":1:1: expected a key name, got a list"},
    {"merge_of_a_string", ACCT PWCMD "    <<: 5\n",
     ":7:9: accounts.work.<<: expected a mapping (or a list of mappings) to merge, got a string"},
    /* types */
    {"accounts_is_a_list", "accounts: [work]\n", ":1:11: accounts: expected a mapping, got a list"},
    {"accounts_is_empty", "accounts:\n", ":1:10: accounts: expected a mapping, got an empty value"},
    {"account_is_a_string", "accounts:\n  work: imap\n",
     ":2:9: accounts.work: expected a mapping, got a string"},
    {"host_is_a_list",
     "accounts:\n  work:\n    protocol: imap\n    host: [a]\n    user: me\n" PWCMD,
     ":4:11: accounts.work.host: expected a string, got a list"},
    {"port_is_a_mapping", ACCT PWCMD "    port: {a: 1}\n",
     ":7:11: accounts.work.port: expected a number from 1 to 65535, got a mapping"},
    {"port_out_of_range", ACCT PWCMD "    port: 70000\n",
     ":7:11: accounts.work.port: expected a number from 1 to 65535"},
    {"port_not_a_number", ACCT PWCMD "    port: imaps\n",
     ":7:11: accounts.work.port: expected a number from 1 to 65535"},
    {"bool_not_a_bool", ACCT PWCMD "    keep: maybe\n",
     ":7:11: accounts.work.keep: expected true or false"},
    {"duration_not_a_duration", ACCT PWCMD "    poll: soon\n",
     ":7:11: accounts.work.poll: expected a duration such as 30s, 5m, 2h or 7d"},
    {"timeout_zero", ACCT PWCMD "    timeout: 0s\n",
     ":7:14: accounts.work.timeout: expected a duration of at least 1s"},
    /* tls_fingerprint: sha256// and 44 base64 characters, ';' between pins */
    {"pin_without_prefix", ACCT PWCMD "    tls_fingerprint: 0123456789abcdef\n",
     ":7:22: accounts.work.tls_fingerprint: expected sha256// and the base64 SHA-256"},
    {"pin_too_short", ACCT PWCMD "    tls_fingerprint: sha256//AAAA=\n",
     ":7:22: accounts.work.tls_fingerprint: expected sha256//"},
    {"pin_second_bad", ACCT PWCMD "    tls_fingerprint: 'sha256//" PIN44 ";md5//x'\n",
     ":7:22: accounts.work.tls_fingerprint: expected sha256//"},
    {"pin_with_insecure", ACCT PWCMD "    insecure: true\n    tls_fingerprint: sha256//" PIN44 "\n",
     ":8:22: accounts.work.tls_fingerprint: a pinned key with insecure: true pins nothing"},
    {"pin_with_tls_off",
     ACCT PWCMD "    tls: off\n    allow_plaintext: true\n"
                "    tls_fingerprint: sha256//" PIN44 "\n",
     ":9:22: accounts.work.tls_fingerprint: needs TLS"},
    {"smtp_pin_bad", "smtp:\n  host: relay\n  tls: starttls\n  tls_fingerprint: x\n",
     ":4:20: smtp.tls_fingerprint: expected sha256//"},
    {"server_login_timeout_zero", "server:\n  login_timeout: 0s\n" SERVER_USERS,
     ":2:18: server.login_timeout: expected a duration of at least 1s"},
    {"server_idle_timeout_bad", "server:\n  idle_timeout: never\n" SERVER_USERS,
     ":2:17: server.idle_timeout: expected a duration"},
    {"folders_item_not_a_string", ACCT PWCMD "    folders: [INBOX, {a: b}]\n",
     ":7:22: accounts.work.folders[1]: expected a string, got a mapping"},
    {"dedupe_bad", "dedupe: forever\n", ":1:9: dedupe: expected a duration"},
    {"rules_is_a_mapping", "rules: {a: b}\n",
     ":1:8: rules: expected a string or a list of strings, got a mapping"},
    {"path_with_unset_variable", "maildir: $CORRAL_TEST_UNSET/mail\n",
     ":1:10: maildir: an environment variable in the path is not set"},
    {"path_is_empty", "maildir: ''\n", ":1:10: maildir: expected a path, got an empty string"},
    /* enums */
    {"protocol_bad", "accounts:\n  work:\n    protocol: smtp\n    host: h\n    user: me\n" PWCMD,
     ":3:15: accounts.work.protocol: expected one of imap or pop3"},
    {"tls_bad", ACCT PWCMD "    tls: yes\n",
     ":7:10: accounts.work.tls: expected one of implicit, starttls or off"},
    {"auth_bad", ACCT PWCMD "    auth: kerberos\n",
     ":7:11: accounts.work.auth: expected one of plain, login, cram-md5, xoauth2, oauthbearer, "
     "user or apop"},
    {"user_is_pop3_only", ACCT PWCMD "    auth: user\n",
     ":7:11: accounts.work.auth: user is a POP3 login; for imap use plain, login, cram-md5, "
     "xoauth2 or oauthbearer"},
    {"max_connections_range", "max_connections: 0\n" ACCT PWCMD,
     ":1:18: max_connections: expected"},
    {"deliver_bad", ACCT PWCMD "    deliver: mbox\n",
     ":7:14: accounts.work.deliver: expected one of maildir or smtp"},
    /* required keys, at the mapping's position */
    {"missing_protocol", "accounts:\n  work:\n    host: h\n    user: me\n" PWCMD,
     ":3:5: accounts.work: missing required key 'protocol'"},
    {"missing_host", "accounts:\n  work:\n    protocol: imap\n    user: me\n" PWCMD,
     ":3:5: accounts.work: missing required key 'host'"},
    {"missing_user", "accounts:\n  work:\n    protocol: imap\n    host: h\n" PWCMD,
     ":3:5: accounts.work: missing required key 'user'"},
    {"missing_credential", ACCT,
     ":3:5: accounts.work: missing a credential: one of password, password_command or "
     "oauth2_token_command"},
    /* account rules */
    {"two_credentials", ACCT PWCMD "    oauth2_token_command: get-token\n",
     ":7:27: accounts.work.oauth2_token_command: use only one of password, password_command "
     "and oauth2_token_command"},
    {"tls_off_needs_allow_plaintext", ACCT PWCMD "    tls: off\n",
     ":7:10: accounts.work.tls: off sends the password in clear; set allow_plaintext: true"},
    {"xoauth2_needs_token_command", ACCT PWCMD "    auth: xoauth2\n",
     ":7:11: accounts.work.auth: xoauth2 needs oauth2_token_command"},
    {"oauthbearer_needs_token_command", ACCT PWCMD "    auth: oauthbearer\n",
     ":7:11: accounts.work.auth: oauthbearer needs oauth2_token_command"},
    {"plain_auth_with_only_a_token", ACCT "    oauth2_token_command: tok\n    auth: plain\n",
     ":7:11: accounts.work.auth: plain needs password or password_command"},
    {"folders_only_for_imap",
     "accounts:\n  work:\n    protocol: pop3\n    host: h\n    user: me\n" PWCMD
     "    folders: [INBOX]\n",
     ":7:14: accounts.work.folders: only for protocol imap"},
    {"idle_only_for_imap",
     "accounts:\n  work:\n    protocol: pop3\n    host: h\n    user: me\n" PWCMD "    idle: true\n",
     ":7:11: accounts.work.idle: only for protocol imap"},
    {"notify_only_for_imap",
     "accounts:\n  work:\n    protocol: pop3\n    host: h\n    user: me\n" PWCMD
     "    notify: false\n",
     ":7:13: accounts.work.notify: only for protocol imap"},
    {"folder_listed_twice", ACCT PWCMD "    folders: [INBOX, Sent, INBOX]\n",
     ":7:14: accounts.work.folders: folder 'INBOX' is listed twice"},
    {"password_command_unterminated_quote", ACCT "    password_command: pass show 'x\n",
     ":6:23: accounts.work.password_command: expected a command: unterminated quote"},
    {"password_command_empty_list", ACCT "    password_command: []\n",
     ":6:23: accounts.work.password_command: expected a command, got an empty list"},
    {"password_command_mapping", ACCT "    password_command: {a: b}\n",
     ":6:23: accounts.work.password_command: expected a command (a string, or a list of "
     "arguments), got a mapping"},
    {"deliver_smtp_needs_smtp_to", ACCT PWCMD "    deliver: smtp\n",
     ":7:14: accounts.work.deliver: smtp needs an smtp: section with a 'to' address"},
    {"deliver_smtp_with_smtp_but_no_to", ACCT PWCMD "    deliver: smtp\nsmtp:\n  port: 25\n",
     ":7:14: accounts.work.deliver: smtp needs an smtp: section with a 'to' address"},
    {"host_is_a_url",
     "accounts:\n  work:\n    protocol: imap\n    host: imaps://h\n    user: u\n" PWCMD,
     ":4:11: accounts.work.host: expected a host name, not a URL"},
    {"host_with_port",
     "accounts:\n  work:\n    protocol: imap\n    host: h:993\n    user: u\n" PWCMD,
     ":4:11: accounts.work.host: expected a host name without ':PORT'"},
    {"ca_file_missing", ACCT PWCMD "    ca_file: /nonexistent/ca.pem\n",
     ":7:14: accounts.work.ca_file: cannot read /nonexistent/ca.pem: No such file or directory"},
    /* account names */
    {"account_name_with_slash", "accounts:\n  a/b:\n    protocol: imap\n",
     ":2:3: accounts: an account name must not contain '/'"},
    {"account_name_leading_dot", "accounts:\n  .hidden:\n    protocol: imap\n",
     ":2:3: accounts: an account name must not start with '.'"},
    {"account_name_empty", "accounts:\n  '':\n    protocol: imap\n",
     ":2:3: accounts: an account name must not be empty"},
    {"account_name_control_char", "accounts:\n  \"a\\tb\":\n    protocol: imap\n",
     ":2:3: accounts: an account name must not contain control characters"},
    /* smtp */
    {"smtp_unknown_key_suggests", "smtp:\n  hots: relay\n",
     ":2:3: smtp.hots: unknown key (did you mean 'host'?)"},
    {"smtp_password_needs_user", "smtp:\n  password_command: x\n",
     ":2:3: smtp: missing required key 'user'"},
    {"smtp_user_needs_credential", "smtp:\n  user: me\n",
     ":2:9: smtp.user: needs one of password, password_command or oauth2_token_command"},
    {"smtp_remote_plaintext_password",
     "smtp:\n  host: relay.example.com\n  tls: off\n  user: me\n  password_command: x\n",
     ":3:8: smtp.tls: off would send the password in clear to a remote host"},
    {"smtp_port_bad", "smtp:\n  port: -1\n", ":2:9: smtp.port: expected a number from 1 to 65535"},
    {"smtp_to_not_an_address", "smtp:\n  to: me and you\n",
     ":2:7: smtp.to: expected a mail address"},
    {"smtp_is_a_string", "smtp: localhost\n", ":1:7: smtp: expected a mapping, got a string"},
    /* server */
    {"server_is_a_string", "server: yes\n", ":1:9: server: expected a mapping, got a string"},
    {"listen_bad_form", "server:\n  listen: [localhost]\n" SERVER_USERS,
     ":2:12: server.listen[0]: expected HOST:PORT or [IPv6]:PORT"},
    {"listen_bad_port", "server:\n  listen: 127.0.0.1:0\n" SERVER_USERS,
     ":2:11: server.listen: expected a port from 1 to 65535 after ':'"},
    {"listen_bad_ipv6", "server:\n  listen: ['[nope]:1143']\n" SERVER_USERS,
     ":2:12: server.listen[0]: expected an IPv6 address inside [...]"},
    {"listen_v6_unbracketed", "server:\n  listen: ['::1:1143']\n" SERVER_USERS,
     ":2:12: server.listen[0]: expected HOST:PORT or [IPv6]:PORT"},
    {"listen_duplicate_across_tls",
     "server:\n  listen: [127.0.0.1:1143]\n  tls_listen: [127.0.0.1:1143]\n"
     "  cert: /etc/hostname\n  key: /etc/hostname\n" SERVER_USERS,
     ":3:16: server.tls_listen: 127.0.0.1:1143 is listed twice (first at line 2)"},
    {"listen_duplicate_v6", "server:\n  listen: ['[::1]:1143', '[::1]:1143']\n" SERVER_USERS,
     ":2:26: server.listen: [::1]:1143 is listed twice (first at line 2)"},
    {"folders_empty", ACCT PWCMD "    folders: []\n",
     ":7:14: accounts.work.folders: expected at least one folder"},
    {"tls_listen_needs_cert_and_key", "server:\n  tls_listen: [127.0.0.1:1993]\n" SERVER_USERS,
     ":2:15: server.tls_listen: needs cert and key"},
    {"cert_without_key", "server:\n  cert: /etc/hostname\n" SERVER_USERS,
     ":2:3: server: missing required key 'key'"},
    {"server_without_users", "server:\n  listen: [127.0.0.1:1143]\n",
     ":2:3: server: missing required key 'users' (at least one user with a password_hash)"},
    {"server_empty_users", "server:\n  users: {}\n",
     ":2:10: server.users: expected at least one user with a password_hash"},
    {"server_user_without_hash", "server:\n  users:\n    me: {}\n",
     ":3:9: server.users.me: missing required key 'password_hash'"},
    {"server_user_unknown_key",
     "server:\n  users:\n    me: {passwd_hash: x, password_hash: $1$x}\n",
     ":3:10: server.users.me.passwd_hash: unknown key (did you mean 'password_hash'?)"},
    {"server_user_hash_not_crypt", "server:\n  users:\n    me: {password_hash: secret}\n",
     ":3:25: server.users.me.password_hash: expected a crypt(3) hash"},
    {"special_use_unknown_use", "server:\n  special_use: {outbox: Outbox}\n" SERVER_USERS,
     ":2:17: server.special_use: unknown use 'outbox' (expected sent, drafts, trash, junk, "
     "archive, all or flagged)"},
    {"special_use_dot_in_name", "server:\n  special_use: {sent: Sent.2024}\n" SERVER_USERS,
     ":2:23: server.special_use.sent: a folder name cannot hold '.'"},
    {"special_use_empty_level", "server:\n  special_use:\n    junk: [Spam, /Junk]\n" SERVER_USERS,
     ":3:18: server.special_use.junk[1]: expected a folder name such as Sent or Archive/2024"},
    {"special_use_not_a_mapping", "server:\n  special_use: [Sent]\n" SERVER_USERS,
     ":2:16: server.special_use: expected a mapping, got a list"},
    {"server_user_not_a_mapping", "server:\n  users:\n    me: x\n",
     ":3:9: server.users.me: expected a mapping, got a string"},
};

/* Every row is checked, and every mismatch printed, before the test fails. */
static void each_error_is_reported_with_position_and_key_path(void **state)
{
	struct fixture *fx = *state;
	int bad = 0;

	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		struct diag d;
		char *path;
		struct config *c = load_text(fx, error_cases[i].yaml, 0600, &d, &path);

		if (c != NULL || d.n == 0) {
			print_error("%s: loaded without a problem\n", error_cases[i].name);
			bad++;
		} else if (strncmp(d.msgs[0], path, strlen(path)) != 0 ||
		           strstr(d.msgs[0], error_cases[i].expect) == NULL) {
			print_error("%s: got '%s', expected '%s'\n", error_cases[i].name, d.msgs[0],
			            error_cases[i].expect);
			bad++;
		}
		config_free(c);
		diag_free(&d);
		free(path);
	}
	assert_int_equal(bad, 0);
}

static void every_problem_is_reported_in_file_order(void **state)
{
	static const char yaml[] = "server:\n"
	                           "  listen: nowhere\n"
	                           "  users: {me: {password_hash: $1$x}}\n"
	                           "accounts:\n"
	                           "  work:\n"
	                           "    protocol: imap\n"
	                           "    host: h\n"
	                           "    user: me\n"
	                           "    password_command: x\n"
	                           "    port: 0\n"
	                           "    keep: sometimes\n"
	                           "maildir: [a]\n";
	struct diag d;
	struct config *c = load_text(*state, yaml, 0600, &d, NULL);

	assert_null(c);
	assert_int_equal(d.n, 4);
	assert_non_null(strstr(d.msgs[0], ":2:11: server.listen:"));
	assert_non_null(strstr(d.msgs[1], ":10:11: accounts.work.port:"));
	assert_non_null(strstr(d.msgs[2], ":11:11: accounts.work.keep:"));
	assert_non_null(strstr(d.msgs[3], ":12:10: maildir:"));
	diag_free(&d);
}

static void missing_file_is_reported_without_position(void **state)
{
	struct fixture *fx = *state;
	char *path = xasprintf("%s/does-not-exist.yml", fx->dir);
	char *want = xasprintf("%s: cannot open: No such file or directory", path);
	struct diag d;

	diag_init(&d);
	assert_null(config_load(path, &d));
	assert_int_equal(d.n, 1);
	assert_string_equal(d.msgs[0], want);
	diag_free(&d);
	free(path);
	free(want);
}

/* deliver's fallback: maildir, state and rules of a file config_load refuses. */
static const struct {
	const char *name, *text;
	bool usable;
	const char *maildir; /* relative to HOME when not absolute; NULL: not checked */
} fallback_cases[] = {
    {"unknown_key_elsewhere", "maildir: /m\nstate: /s\nbogus: 1\n", true, "/m"},
    {"broken_account", "maildir: /m\naccounts:\n  a: {port: x}\n", true, "/m"},
    {"no_maildir_key_means_the_default", "colour: red\n", true, "Maildir"},
    {"maildir_of_the_wrong_type", "maildir: [a]\n", false, NULL},
    {"not_yaml", "maildir: [\n", false, NULL},
    {"not_a_mapping", "- a\n", false, NULL},
};

static void fallback_reads_maildir_state_and_rules_alone(void **state)
{
	struct fixture *fx = *state;

	for (size_t i = 0; i < sizeof(fallback_cases) / sizeof(fallback_cases[0]); i++) {
		char *dir = fresh_dir(fx),
		     *path = write_file(dir, "config.yml", fallback_cases[i].text, 0600);
		struct config *c = config_load_fallback(path);
		const char *want = fallback_cases[i].maildir;
		char *full = want && want[0] != '/' ? xasprintf("%s/%s", fx->dir, want) : NULL;

		if ((c != NULL) != fallback_cases[i].usable)
			fail_msg("%s: usable %d, expected %d", fallback_cases[i].name, c != NULL,
			         fallback_cases[i].usable);
		if (c != NULL && want != NULL && strcmp(c->maildir, full ? full : want) != 0)
			fail_msg("%s: maildir %s, expected %s", fallback_cases[i].name, c->maildir,
			         full ? full : want);
		if (c != NULL)
			assert_int_equal(c->naccounts, 0);
		config_free(c);
		free(full);
		free(path);
		free(dir);
	}
	assert_null(config_load_fallback(NULL));
	assert_null(config_load_fallback("/nonexistent/corral/config.yml"));
}

static void minimal_account_gets_every_default(void **state)
{
	struct fixture *fx = *state;
	struct diag d;
	char *want;
	struct config *c = load_text(fx, ACCT PWCMD, 0644, &d, NULL);
	const struct account *a;

	assert_non_null(c);
	assert_int_equal(d.n, 0);
	want = xasprintf("%s/Maildir", fx->dir);
	assert_string_equal(c->maildir, want);
	free(want);
	want = xasprintf("%s/.local/state/corral", fx->dir);
	assert_string_equal(c->state_dir, want);
	free(want);
	assert_int_equal(c->rules.n, 0);
	assert_int_equal(c->dedupe_s, 0);
	assert_false(c->smtp.present);
	assert_false(c->server.present);
	assert_int_equal(c->naccounts, 1);
	a = &c->accounts[0];
	assert_string_equal(a->name, "work");
	assert_int_equal(a->pos.line, 2);
	assert_int_equal(a->pos.col, 3);
	assert_int_equal(a->protocol, PROTO_IMAP);
	assert_string_equal(a->host, "imap.example.com");
	assert_int_equal(a->port, 993);
	assert_int_equal(a->tls, TLS_IMPLICIT);
	assert_false(a->allow_plaintext);
	assert_null(a->ca_file);
	assert_false(a->insecure);
	assert_string_equal(a->cred.user, "me");
	assert_null(a->cred.password);
	assert_null(a->cred.oauth2_token_command);
	assert_string_equal(a->cred.password_command[0], "pass");
	assert_string_equal(a->cred.password_command[2], "mail");
	assert_null(a->cred.password_command[3]);
	assert_int_equal(a->auth, AUTH_DEFAULT);
	assert_int_equal(a->timeout_s, 60);
	assert_int_equal(a->folders.n, 1);
	assert_string_equal(a->folders.v[0], "INBOX");
	assert_true(a->keep);
	assert_int_equal(a->poll_s, 300);
	assert_true(a->idle);
	assert_true(a->notify);
	assert_int_equal(a->rules.n, 0);
	assert_int_equal(a->deliver, DELIVER_MAILDIR);
	config_free(c);
}

static const struct {
	const char *protocol, *tls;
	int port;
} port_cases[] = {
    {"imap", "implicit", 993}, {"imap", "starttls", 143}, {"imap", "off", 143},
    {"pop3", "implicit", 995}, {"pop3", "starttls", 110}, {"pop3", "off", 110},
};

static void default_port_follows_protocol_and_tls(void **state)
{
	for (size_t i = 0; i < sizeof(port_cases) / sizeof(port_cases[0]); i++) {
		char *yaml =
		    xasprintf("accounts:\n  a:\n    protocol: %s\n    tls: %s\n"
		              "    allow_plaintext: true\n    host: h\n    user: u\n" PWCMD,
		              port_cases[i].protocol, port_cases[i].tls);
		struct diag d;
		struct config *c = load_text(*state, yaml, 0600, &d, NULL);

		if (c == NULL || c->accounts[0].port != port_cases[i].port)
			fail_msg("%s/%s: port %d, expected %d", port_cases[i].protocol,
			         port_cases[i].tls, c ? c->accounts[0].port : -1,
			         port_cases[i].port);
		config_free(c);
		diag_free(&d);
		free(yaml);
	}
}

static void every_value_is_parsed(void **state)
{
	struct fixture *fx = *state;
	char *dir = fresh_dir(fx), *path, *yaml, *want;
	struct config *c;
	struct diag d;
	const struct account *a;

	free(write_file(dir, "ca.pem", "x", 0600));
	free(write_file(dir, "cert.pem", "x", 0600));
	free(write_file(dir, "key.pem", "x", 0600));
	yaml = xasprintf("maildir: mail/$CORRAL_TEST_VAR\n"
	                 "state: ~/st\n"
	                 "rules: [a.yml, /abs/b.yml]\n"
	                 "dedupe: 30d\n"
	                 "accounts:\n"
	                 "  work:\n"
	                 "    protocol: POP3\n"
	                 "    host: pop.example.com\n"
	                 "    port: 1995\n"
	                 "    tls: starttls\n"
	                 "    ca_file: ca.pem\n"
	                 "    insecure: yes\n"
	                 "    user: me@example.com\n"
	                 "    password: hunter2\n"
	                 "    auth: cram-md5\n"
	                 "    timeout: 2m\n"
	                 "    keep: false\n"
	                 "    poll: 1h\n"
	                 "    rules: ${CORRAL_TEST_VAR}.yml\n"
	                 "    deliver: smtp\n"
	                 "  cloud:\n"
	                 "    protocol: imap\n"
	                 "    host: '::1'\n"
	                 "    tls: off\n"
	                 "    allow_plaintext: on\n"
	                 "    user: u\n"
	                 "    oauth2_token_command: [oauth2l, fetch, --scope, mail]\n"
	                 "    folders: [INBOX, Receipts]\n"
	                 "    idle: no\n"
	                 "smtp:\n"
	                 "  host: relay.example.com\n"
	                 "  tls: implicit\n"
	                 "  ca_file: %s/ca.pem\n"
	                 "  insecure: true\n"
	                 "  user: relay\n"
	                 "  password_command: \"pass show 'relay pw'\"\n"
	                 "  to: me@localhost\n"
	                 "  timeout: 10s\n"
	                 "server:\n"
	                 "  listen: [127.0.0.1:1143, '[::1]:1143']\n"
	                 "  tls_listen: 0.0.0.0:1993\n"
	                 "  cert: cert.pem\n"
	                 "  key: key.pem\n"
	                 "  users:\n"
	                 "    me: {password_hash: \"$6$s$h\"}\n"
	                 "    you:\n"
	                 "      password_hash: $2b$x\n",
	                 dir);
	path = write_file(dir, "config.yml", yaml, 0600);
	diag_init(&d);
	c = config_load(path, &d);
	if (c == NULL)
		fail_msg("%s", d.msgs[0]);
	want = xasprintf("%s/mail/fromvar", dir);
	assert_string_equal(c->maildir, want);
	free(want);
	want = xasprintf("%s/st", fx->dir);
	assert_string_equal(c->state_dir, want);
	free(want);
	assert_int_equal(c->rules.n, 2);
	want = xasprintf("%s/a.yml", dir);
	assert_string_equal(c->rules.v[0], want);
	free(want);
	assert_string_equal(c->rules.v[1], "/abs/b.yml");
	assert_int_equal(c->dedupe_s, 30 * 86400);
	assert_int_equal(c->naccounts, 2);

	a = config_account(c, "work");
	assert_ptr_equal(a, &c->accounts[0]);
	assert_int_equal(a->protocol, PROTO_POP3);
	assert_string_equal(a->host, "pop.example.com");
	assert_int_equal(a->port, 1995);
	assert_int_equal(a->tls, TLS_STARTTLS);
	want = xasprintf("%s/ca.pem", dir);
	assert_string_equal(a->ca_file, want);
	assert_true(a->insecure);
	assert_string_equal(a->cred.user, "me@example.com");
	assert_string_equal(a->cred.password, "hunter2");
	assert_null(a->cred.password_command);
	assert_int_equal(a->auth, AUTH_CRAM_MD5);
	assert_int_equal(a->timeout_s, 120);
	assert_false(a->keep);
	assert_int_equal(a->poll_s, 3600);
	assert_false(a->idle); /* pop3 has no IDLE */
	assert_false(a->notify);
	assert_int_equal(a->rules.n, 1);
	free(want);
	want = xasprintf("%s/fromvar.yml", dir);
	assert_string_equal(a->rules.v[0], want);
	free(want);
	assert_int_equal(a->deliver, DELIVER_SMTP);

	a = config_account(c, "cloud");
	assert_ptr_equal(a, &c->accounts[1]);
	assert_string_equal(a->host, "::1");
	assert_int_equal(a->port, 143);
	assert_int_equal(a->tls, TLS_OFF);
	assert_true(a->allow_plaintext);
	assert_string_equal(a->cred.oauth2_token_command[2], "--scope");
	assert_null(a->cred.oauth2_token_command[4]);
	assert_int_equal(a->auth, AUTH_XOAUTH2); /* implied by the token command */
	assert_int_equal(a->folders.n, 2);
	assert_string_equal(a->folders.v[1], "Receipts");
	assert_false(a->idle);
	assert_int_equal(a->deliver, DELIVER_MAILDIR);
	assert_null(config_account(c, "nobody"));

	assert_true(c->smtp.present);
	assert_string_equal(c->smtp.host, "relay.example.com");
	assert_int_equal(c->smtp.port, 465);
	assert_int_equal(c->smtp.tls, TLS_IMPLICIT);
	assert_true(c->smtp.insecure);
	assert_string_equal(c->smtp.cred.user, "relay");
	assert_string_equal(c->smtp.cred.password_command[2], "relay pw");
	assert_string_equal(c->smtp.to, "me@localhost");
	assert_int_equal(c->smtp.timeout_s, 10);

	assert_true(c->server.present);
	assert_int_equal(c->server.nlisten, 2);
	assert_string_equal(c->server.listen[0].host, "127.0.0.1");
	assert_int_equal(c->server.listen[0].port, 1143);
	assert_string_equal(c->server.listen[1].host, "::1");
	assert_int_equal(c->server.listen[1].pos.line, 40);
	assert_int_equal(c->server.ntls_listen, 1);
	assert_string_equal(c->server.tls_listen[0].host, "0.0.0.0");
	assert_int_equal(c->server.tls_listen[0].port, 1993);
	want = xasprintf("%s/key.pem", dir);
	assert_string_equal(c->server.key, want);
	free(want);
	assert_int_equal(c->server.nusers, 2);
	assert_string_equal(c->server.users[1].name, "you");
	assert_string_equal(c->server.users[1].password_hash, "$2b$x");
	config_free(c);
	diag_free(&d);
	free(yaml);
	free(path);
	free(dir);
}

static void merge_keys_fill_what_the_mapping_does_not_set(void **state)
{
	static const char yaml[] = "accounts:\n"
	                           "  a: &base\n"
	                           "    protocol: imap\n"
	                           "    host: imap.example.com\n"
	                           "    user: me\n" PWCMD "    poll: 10m\n"
	                           "  b:\n"
	                           "    <<: *base\n"
	                           "    user: other\n"
	                           "  c:\n"
	                           "    <<: [{port: 1143, poll: 1m}, *base]\n"
	                           "    port: 2000\n";
	struct diag d;
	struct config *c = load_text(*state, yaml, 0600, &d, NULL);
	const struct account *b, *cc;

	if (c == NULL)
		fail_msg("%s", d.msgs[0]);
	b = config_account(c, "b");
	cc = config_account(c, "c");
	assert_string_equal(b->host, "imap.example.com");
	assert_string_equal(b->cred.user, "other");
	assert_int_equal(b->poll_s, 600);
	assert_string_equal(cc->cred.user, "me");
	assert_int_equal(cc->port, 2000);
	assert_int_equal(cc->poll_s, 60); /* the earlier source wins */
	config_free(c);
}

static void smtp_and_server_defaults(void **state)
{
	static const char yaml[] = "smtp:\n  to: me\n"
	                           "server:\n" SERVER_USERS "accounts:\n  a:\n    protocol: imap\n"
	                           "    host: h\n    user: u\n" PWCMD "    deliver: smtp\n";
	struct diag d;
	struct config *c = load_text(*state, yaml, 0600, &d, NULL);

	assert_non_null(c);
	assert_string_equal(c->smtp.host, "localhost");
	assert_int_equal(c->smtp.port, 25);
	assert_int_equal(c->smtp.tls, TLS_OFF);
	assert_int_equal(c->smtp.timeout_s, 60);
	assert_int_equal(c->server.nlisten, 1);
	assert_string_equal(c->server.listen[0].host, "127.0.0.1");
	assert_int_equal(c->server.listen[0].port, 1143);
	assert_int_equal(c->server.ntls_listen, 0);
	assert_null(c->server.cert);
	for (size_t u = 0; u < SU_COUNT; u++)
		assert_false(c->server.special_use[u].set);
	config_free(c);
}

/* special_use: a name or a list, UTF-8 as written; [] sets none. */
static void special_use_names_folders_per_use(void **state)
{
	static const char yaml[] = "server:\n  special_use:\n    sent: \"Envoy\xc3\xa9s\"\n"
	                           "    junk: [Pourriel, Spam]\n    archive: []\n" SERVER_USERS;
	struct diag d;
	struct config *c = load_text(*state, yaml, 0600, &d, NULL);

	assert_non_null(c);
	assert_true(c->server.special_use[SU_SENT].set);
	assert_int_equal(c->server.special_use[SU_SENT].folders.n, 1);
	assert_string_equal(c->server.special_use[SU_SENT].folders.v[0], "Envoy\xc3\xa9s");
	assert_int_equal(c->server.special_use[SU_JUNK].folders.n, 2);
	assert_string_equal(c->server.special_use[SU_JUNK].folders.v[1], "Spam");
	assert_true(c->server.special_use[SU_ARCHIVE].set);
	assert_int_equal(c->server.special_use[SU_ARCHIVE].folders.n, 0);
	assert_false(c->server.special_use[SU_TRASH].set);
	assert_string_equal(special_use_attrs[SU_JUNK], "\\Junk");
	config_free(c);
}

/* listen: [] means systemd's sockets only: corral run starts no server. */
static void an_empty_listen_list_is_socket_activation_only(void **state)
{
	static const char yaml[] = "server:\n  listen: []\n" SERVER_USERS;
	struct diag d;
	struct config *c = load_text(*state, yaml, 0600, &d, NULL);

	assert_non_null(c);
	assert_true(c->server.present);
	assert_int_equal(c->server.nlisten, 0);
	assert_int_equal(c->server.ntls_listen, 0);
	config_free(c);
}

static void local_smtp_relay_may_take_a_password_in_clear(void **state)
{
	static const char yaml[] = "smtp:\n  user: me\n  password_command: x\n  host: 127.0.0.1\n";
	struct diag d;
	struct config *c = load_text(*state, yaml, 0600, &d, NULL);

	assert_non_null(c);
	assert_int_equal(c->smtp.tls, TLS_OFF);
	config_free(c);
}

static void state_dir_follows_xdg_state_home(void **state)
{
	struct diag d;
	struct config *c;

	setenv("XDG_STATE_HOME", "/var/lib/xdg", 1);
	c = load_text(*state, "dedupe: off\n", 0600, &d, NULL);
	assert_non_null(c);
	assert_string_equal(c->state_dir, "/var/lib/xdg/corral");
	assert_int_equal(c->dedupe_s, 0);
	config_free(c);
}

static void default_rules_file_is_used_when_it_exists(void **state)
{
	struct fixture *fx = *state;
	char *dir = fresh_dir(fx), *path, *want;
	struct diag d;
	struct config *c;

	free(write_file(dir, "rules.yml", "- then: keep\n", 0600));
	path = write_file(dir, "config.yml", "maildir: ~/M\n", 0600);
	diag_init(&d);
	c = config_load(path, &d);
	assert_non_null(c);
	assert_int_equal(c->rules.n, 1);
	want = xasprintf("%s/rules.yml", dir);
	assert_string_equal(c->rules.v[0], want);
	free(want);
	want = xasprintf("%s/M", fx->dir);
	assert_string_equal(c->maildir, want);
	config_free(c);
	free(want);
	free(path);
	free(dir);
}

static void relative_config_path_gives_absolute_dir(void **state)
{
	struct fixture *fx = *state;
	char *dir = fresh_dir(fx), *path, cwd[4096], *want;
	struct diag d;
	struct config *c;

	path = write_file(dir, "config.yml", "maildir: mail\n", 0600);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(dir), 0);
	diag_init(&d);
	c = config_load("config.yml", &d);
	assert_int_equal(chdir(cwd), 0);
	assert_non_null(c);
	assert_string_equal(c->dir, dir);
	want = xasprintf("%s/mail", dir);
	assert_string_equal(c->maildir, want);
	config_free(c);
	free(want);
	free(path);
	free(dir);
}

static void plain_password_readable_by_others_is_refused(void **state)
{
	struct diag d;
	char *path, *want;
	struct config *c = load_text(*state, ACCT "    password: hunter2\n", 0640, &d, &path);

	assert_null(c);
	assert_int_equal(d.n, 1);
	want = xasprintf("%s: contains a plain password but is readable by group or others; "
	                 "run: chmod 600 %s",
	                 path, path);
	assert_string_equal(d.msgs[0], want);
	diag_free(&d);
	free(path);
	free(want);
}

static void plain_smtp_password_readable_by_others_is_refused(void **state)
{
	struct diag d;
	struct config *c =
	    load_text(*state, "smtp:\n  user: me\n  password: hunter2\n", 0604, &d, NULL);

	assert_null(c);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.msgs[0], "contains a plain password"));
	diag_free(&d);
}

static void plain_password_in_a_private_file_is_accepted(void **state)
{
	struct diag d;
	struct config *c = load_text(*state, ACCT "    password: hunter2\n", 0600, &d, NULL);

	assert_non_null(c);
	assert_string_equal(c->accounts[0].cred.password, "hunter2");
	config_free(c);
}

static void secrets_never_appear_in_messages(void **state)
{
	static const char yaml[] = ACCT "    password: hunter2\n    password_command: [hunter3]\n"
	                                "smtp:\n  password: hunter4\n  tls: bogus\n";
	struct diag d;
	struct config *c = load_text(*state, yaml, 0644, &d, NULL);

	assert_null(c);
	assert_true(d.n >= 3);
	for (size_t i = 0; i < d.n; i++)
		if (strstr(d.msgs[i], "hunter"))
			fail_msg("secret in '%s'", d.msgs[i]);
	diag_free(&d);
}

static void default_config_path_follows_xdg(void **state)
{
	struct fixture *fx = *state;
	char *p, *want;

	p = config_default_path();
	want = xasprintf("%s/.config/corral/config.yml", fx->dir);
	assert_string_equal(p, want);
	free(p);
	free(want);
	setenv("XDG_CONFIG_HOME", "/xdg", 1);
	p = config_default_path();
	assert_string_equal(p, "/xdg/corral/config.yml");
	free(p);
}

static void names_of_enums(void **state)
{
	(void)state;
	assert_string_equal(protocol_name(PROTO_IMAP), "imap");
	assert_string_equal(protocol_name(PROTO_POP3), "pop3");
	assert_string_equal(tls_mode_name(TLS_IMPLICIT), "implicit");
	assert_string_equal(tls_mode_name(TLS_STARTTLS), "starttls");
	assert_string_equal(tls_mode_name(TLS_OFF), "off");
}

/* ---- yamlu on its own ------------------------------------------------- */

static void ydoc_duplicate_keys_keep_the_first(void **state)
{
	static const char text[] = "a: 1\nb: 2\na: 3\n";
	struct ydoc y;
	struct diag d;

	(void)state;
	diag_init(&d);
	assert_int_equal(ydoc_load_string(&y, "t.yml", text, strlen(text), &d), 0);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.msgs[0], "t.yml:3:1: a: duplicate key (first at line 1)");
	assert_string_equal(ydoc_scalar(ydoc_get(&y, ydoc_root(&y), "a")), "1");
	assert_int_equal(
	    ydoc_root(&y)->data.mapping.pairs.top - ydoc_root(&y)->data.mapping.pairs.start, 2);
	ydoc_free(&y);
	diag_free(&d);
}

static const struct {
	const char *text;
	int ok;
	uint64_t value;
} size_cases[] = {
    {"1000", 1, 1000},     {"10k", 1, 10240}, {"5M", 1, 5u << 20}, {"1G", 1, 1u << 30},
    {"5 MB", 1, 5u << 20}, {"big", 0, 0},     {"-1", 0, 0},        {"[1]", 0, 0},
};

static void ydoc_size_accepts_units(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(size_cases) / sizeof(size_cases[0]); i++) {
		char *text = xasprintf("s: %s\n", size_cases[i].text);
		struct ydoc y;
		struct diag d;
		uint64_t v = 0;
		int rc;

		diag_init(&d);
		assert_int_equal(ydoc_load_string(&y, "t", text, strlen(text), &d), 0);
		rc = ydoc_size(&y, &d, ydoc_get(&y, ydoc_root(&y), "s"), "s", &v);
		if ((rc == 0) != size_cases[i].ok || (rc == 0 && v != size_cases[i].value))
			fail_msg("size '%s': rc %d value %llu", size_cases[i].text, rc,
			         (unsigned long long)v);
		if (rc < 0 && strstr(d.msgs[0], "t:1:4: s: expected a size") == NULL)
			fail_msg("size '%s': message '%s'", size_cases[i].text, d.msgs[0]);
		ydoc_free(&y);
		diag_free(&d);
		free(text);
	}
}

static void ydoc_bool_words(void **state)
{
	static const char text[] = "[yes, No, ON, off, TRUE, false, 1]";
	static const int want[] = {1, 0, 1, 0, 1, 0, -1};
	struct ydoc y;
	struct diag d;
	yaml_node_t *root;

	(void)state;
	diag_init(&d);
	assert_int_equal(ydoc_load_string(&y, "t", text, strlen(text), &d), 0);
	root = ydoc_root(&y);
	for (int i = 0; i < 7; i++) {
		bool b = false;
		int rc =
		    ydoc_bool(&y, &d, ydoc_node(&y, root->data.sequence.items.start[i]), "x", &b);

		assert_int_equal(rc == 0 ? (int)b : -1, want[i]);
	}
	assert_int_equal(d.n, 1);
	ydoc_free(&y);
	diag_free(&d);
}

static void ydoc_billion_laughs_is_refused(void **state)
{
	struct buf_like {
		char text[4096];
		size_t len;
	} b = {{0}, 0};
	struct ydoc y;
	struct diag d;

	(void)state;
	b.len += (size_t)snprintf(b.text, sizeof(b.text), "l0: &l0 [x,x,x,x,x,x,x,x,x,x]\n");
	for (int i = 1; i < 9; i++) {
		b.len +=
		    (size_t)snprintf(b.text + b.len, sizeof(b.text) - b.len, "l%d: &l%d [", i, i);
		for (int j = 0; j < 10; j++)
			b.len += (size_t)snprintf(b.text + b.len, sizeof(b.text) - b.len, "%s*l%d",
			                          j ? "," : "", i - 1);
		b.len += (size_t)snprintf(b.text + b.len, sizeof(b.text) - b.len, "]\n");
	}
	diag_init(&d);
	assert_int_equal(ydoc_load_string(&y, "t", b.text, b.len, &d), -1);
	assert_string_equal(d.msgs[0], "t:1:1: more than 100000 values once aliases are expanded");
	ydoc_free(&y);
	diag_free(&d);
}

static void ydoc_deep_nesting_is_refused(void **state)
{
	char text[512];
	struct ydoc y;
	struct diag d;

	(void)state;
	memset(text, '[', 200);
	memset(text + 200, ']', 200);
	text[400] = '\0';
	diag_init(&d);
	assert_int_equal(ydoc_load_string(&y, "t", text, 400, &d), -1);
	assert_non_null(strstr(d.msgs[0], "nested deeper than 64 levels"));
	ydoc_free(&y);
	diag_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(each_error_is_reported_with_position_and_key_path, test_setup),
	    cmocka_unit_test_setup(every_problem_is_reported_in_file_order, test_setup),
	    cmocka_unit_test_setup(missing_file_is_reported_without_position, test_setup),
	    cmocka_unit_test_setup(fallback_reads_maildir_state_and_rules_alone, test_setup),
	    cmocka_unit_test_setup(minimal_account_gets_every_default, test_setup),
	    cmocka_unit_test_setup(default_port_follows_protocol_and_tls, test_setup),
	    cmocka_unit_test_setup(every_value_is_parsed, test_setup),
	    cmocka_unit_test_setup(merge_keys_fill_what_the_mapping_does_not_set, test_setup),
	    cmocka_unit_test_setup(smtp_and_server_defaults, test_setup),
	    cmocka_unit_test_setup(special_use_names_folders_per_use, test_setup),
	    cmocka_unit_test_setup(an_empty_listen_list_is_socket_activation_only, test_setup),
	    cmocka_unit_test_setup(local_smtp_relay_may_take_a_password_in_clear, test_setup),
	    cmocka_unit_test_setup(state_dir_follows_xdg_state_home, test_setup),
	    cmocka_unit_test_setup(default_rules_file_is_used_when_it_exists, test_setup),
	    cmocka_unit_test_setup(relative_config_path_gives_absolute_dir, test_setup),
	    cmocka_unit_test_setup(plain_password_readable_by_others_is_refused, test_setup),
	    cmocka_unit_test_setup(plain_smtp_password_readable_by_others_is_refused, test_setup),
	    cmocka_unit_test_setup(plain_password_in_a_private_file_is_accepted, test_setup),
	    cmocka_unit_test_setup(secrets_never_appear_in_messages, test_setup),
	    cmocka_unit_test_setup(default_config_path_follows_xdg, test_setup),
	    cmocka_unit_test(names_of_enums),
	    cmocka_unit_test(ydoc_duplicate_keys_keep_the_first),
	    cmocka_unit_test(ydoc_size_accepts_units),
	    cmocka_unit_test(ydoc_bool_words),
	    cmocka_unit_test(ydoc_billion_laughs_is_refused),
	    cmocka_unit_test(ydoc_deep_nesting_is_refused),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
