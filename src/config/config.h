/*
 * The configuration file (DESIGN.md section 2, corral.yml(5)): YAML -> typed
 * structs. Every problem is reported into a struct diag as
 * "FILE:LINE:COL: key.path: what was expected"; the CLI exits 78 on any.
 *
 * Memory: a struct config owns everything it points to; config_free()
 * releases it all (secrets are wiped first).
 */
#ifndef CORRAL_CONFIG_H
#define CORRAL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util/diag.h"

enum protocol { PROTO_IMAP, PROTO_POP3 };
enum tls_mode { TLS_IMPLICIT, TLS_STARTTLS, TLS_OFF };
enum auth_mech {
	AUTH_DEFAULT,
	AUTH_PLAIN,
	AUTH_LOGIN,
	AUTH_CRAM_MD5,
	AUTH_XOAUTH2,
	AUTH_OAUTHBEARER,
	AUTH_USER, /* POP3's USER/PASS */
	AUTH_APOP  /* POP3's APOP */
};
enum deliver_mode { DELIVER_MAILDIR, DELIVER_SMTP };

/* Where a value came from, for errors found after loading (rules, `check`). */
struct conf_pos {
	int line; /* 1-based */
	int col;  /* 1-based */
};

struct strlist {
	char **v; /* owned strings; NULL-terminated unless v is NULL (n == 0) */
	size_t n;
};

/*
 * Credentials shared by accounts and the smtp relay: exactly one of the three
 * is set for an account, at most one (with user) for the relay.
 */
struct credentials {
	char *user;
	char *password;          /* plain password from the file (wiped on free) */
	char **password_command; /* argv, NULL-terminated; no shell */
	char **oauth2_token_command;
};

struct account {
	char *name;
	struct conf_pos pos;
	enum protocol protocol;
	char *host;
	int port; /* filled from protocol and tls when absent */
	enum tls_mode tls;
	bool allow_plaintext;
	char *ca_file; /* expanded path or NULL */
	/* "sha256//BASE64[;sha256//...]": the server's public key pinned; it then
	 * stands in for the CA chain and the host name. NULL when not set. */
	char *tls_fingerprint;
	bool insecure;
	struct credentials cred;
	enum auth_mech auth; /* AUTH_DEFAULT: none given; AUTH_XOAUTH2 when only a token command */
	uint64_t timeout_s;  /* default 60 */
	struct strlist folders; /* imap; default ["INBOX"] */
	bool keep;              /* default true */
	uint64_t poll_s;        /* default 300 */
	bool idle;              /* default true; always false for pop3 */
	bool notify;            /* idle over one NOTIFY connection where offered; default true */
	struct strlist rules;   /* expanded rule file paths; empty = config's default */
	enum deliver_mode deliver;
};

struct smtp_conf {
	bool present;
	char *host;           /* default "localhost" */
	int port;             /* default 25 (off/starttls), 465 (implicit) */
	enum tls_mode tls;    /* default off */
	bool allow_plaintext; /* needed for a password over tls: off to a non-loopback host */
	char *ca_file;
	char *tls_fingerprint; /* as struct account's */
	bool insecure;
	struct credentials cred;
	char *to; /* envelope recipient for deliver: smtp */
	uint64_t timeout_s;
};

struct listen_addr {
	char *host; /* "127.0.0.1", "::1", "0.0.0.0", "localhost" */
	int port;
	struct conf_pos pos; /* of the entry in the config */
	/* What host names, resolved when the config is read (getaddrinfo),
	 * with the port set: each is listened on. */
	struct sockaddr_storage *addrs;
	socklen_t *addrlens;
	size_t naddrs;
};

struct server_user {
	char *name;
	char *password_hash; /* crypt(3) string */
};

/* The special uses of folders (RFC 6154), in the order of their keys
 * under server.special_use. */
enum special_use {
	SU_SENT,
	SU_DRAFTS,
	SU_TRASH,
	SU_JUNK,
	SU_ARCHIVE,
	SU_ALL,
	SU_FLAGGED,
	SU_COUNT
};

/* "sent" and "\\Sent" of each use (config-server.c). */
extern const char *const special_use_keys[SU_COUNT];
extern const char *const special_use_attrs[SU_COUNT];

struct server_conf {
	bool present;
	struct listen_addr *listen;
	size_t nlisten;
	struct listen_addr *tls_listen;
	size_t ntls_listen;
	char *cert;
	char *key;
	struct server_user *users;
	size_t nusers;
	/* LOGIN and AUTHENTICATE without TLS on a non-loopback address (off:
	 * LOGINDISABLED there until STARTTLS). */
	bool allow_plaintext;
	/* Sessions at once, in all and from one client address. */
	unsigned max_connections;
	unsigned max_connections_per_address;
	/* server.special_use: the folders ("/" between levels, UTF-8) that
	 * may carry each attribute, the first that exists getting it; set[u]
	 * false: not configured, the usual names apply (an empty list: none). */
	struct {
		struct strlist folders;
		bool set;
	} special_use[SU_COUNT];
	/* Seconds without a command before a session is closed: before login
	 * (a slot held by nobody), and after (RFC 3501's autologout). */
	uint64_t login_timeout_s;
	uint64_t idle_timeout_s;
};

#define SERVER_MAX_CONNECTIONS             128
#define SERVER_MAX_CONNECTIONS_PER_ADDRESS 32
#define SERVER_LOGIN_TIMEOUT_S             60
#define SERVER_IDLE_TIMEOUT_S              (31 * 60)

#define CONFIG_MAX_CONNECTIONS 4

struct config {
	char *path;           /* the file as given */
	char *dir;            /* its directory: base for relative paths */
	char *maildir;        /* expanded; default ~/Maildir */
	char *state_dir;      /* expanded; `state:` key, default $XDG_STATE_HOME/corral */
	struct strlist rules; /* expanded rule files; default [rules.yml] when it exists */
	uint64_t dedupe_s;    /* 0 = off */
	/* At most this many fetch connections to one host at once (IDLE
	 * connections not counted); default CONFIG_MAX_CONNECTIONS. */
	unsigned max_connections;
	struct account *accounts;
	size_t naccounts;
	struct smtp_conf smtp;
	struct server_conf server;
};

/*
 * The default config path: $XDG_CONFIG_HOME/corral/config.yml or
 * ~/.config/corral/config.yml; NULL when neither variable is set.
 */
char *config_default_path(void);

/*
 * Loads and validates path. Returns NULL when anything is wrong, with every
 * problem in d (a missing file too: "FILE: cannot open: reason"), in file
 * order. A NULL path (no default path) is reported too. Relative paths in
 * the file are made absolute against the config file's directory.
 */
struct config *config_load(const char *path, struct diag *d);
void config_free(struct config *c);
/*
 * What `corral deliver` falls back on when config_load() refused path (and
 * `corral check` to find the rules all the same): the same file read for
 * `maildir:`, `state:` and `rules:` alone (with their defaults), every other
 * key skipped: no accounts, no relay, no dedupe. NULL when even those cannot
 * be had (no file, not YAML, a bad value of one of them): then there is no
 * Maildir to deliver into.
 */
struct config *config_load_fallback(const char *path);
/* Wipes and forgets the remote accounts' and the relay's passwords and
 * token commands: what `corral serve` does first, so that the process that
 * reads local clients' input holds no remote credentials. */
void config_drop_credentials(struct config *c);

const struct account *config_account(const struct config *c, const char *name);

const char *protocol_name(enum protocol p);
const char *tls_mode_name(enum tls_mode t);

#endif
