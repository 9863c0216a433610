/*
 * The one result type: how far a failure reaches and what to do about it.
 *
 * Every part that can fail says so with a kind (the return value of most
 * calls: RES_OK is 0, every failure is negative) and, where a failure
 * crosses a part's boundary, with a struct result that adds the scope and
 * the texts. The kinds map to sysexits in one place (res_exit_code), and
 * the daemon's backoff reads the same kinds.
 *
 * Texts: `text` is for the user (what corral was doing and what went
 * wrong), `server` is what the other side said (sanitised), kept apart.
 * Neither ever holds a secret.
 */
#ifndef CORRAL_UTIL_RESULT_H
#define CORRAL_UTIL_RESULT_H

#include <stdbool.h>

enum res_kind {
	RES_OK = 0,
	RES_TEMP = -1, /* retry later, nothing lost: network, timeout, full disk, 4xx, a pipe */
	RES_PERM = -2, /* refused for good: a 5xx, a message over a cap, a permission */
	RES_BUSY = -3, /* another corral holds the state: retry later */
	RES_UNREACHABLE =
	    -4,        /* the server could not be reached at all (DNS, refused, connect timeout) */
	RES_AUTH = -5, /* the credentials were refused */
	RES_CONFIG = -6, /* the user must change something: TLS verification, no UIDL, a bad path */
};

enum res_scope {
	RES_SCOPE_NONE = 0,
	RES_SCOPE_MESSAGE, /* this message only: the others went on */
	RES_SCOPE_FOLDER,  /* this folder: go on with the next one */
	RES_SCOPE_ACCOUNT, /* the connection is gone or unusable: stop the account */
	RES_SCOPE_LOCAL,   /* corral's own side (the disk, the state): stop the run */
};

struct result {
	enum res_kind kind;
	enum res_scope scope;
	char text[256];   /* for the user */
	char server[256]; /* what the other side said; "" when nothing */
};

void res_clear(struct result *r);
/* Fills r (server may be NULL: sanitised into r->server) and returns -1. */
int res_fail(struct result *r, enum res_scope scope, enum res_kind kind, const char *server,
             const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Retrying later may succeed without the user doing anything. */
bool res_temporary(enum res_kind kind);
/* The worse of two kinds, for a run that collects several: the ones that need
 * the user (config, auth) win over the ones that pass. */
enum res_kind res_worse(enum res_kind a, enum res_kind b);
/* The sysexits code: 0; 75 temporary or busy; 69 unreachable; 77 refused
 * login or permanent (not allowed); 78 configuration. */
int res_exit_code(enum res_kind kind);
/* "temporary", "refused login"... for status files and logs. */
const char *res_kind_name(enum res_kind kind);

#endif
