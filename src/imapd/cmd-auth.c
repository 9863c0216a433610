/*
 * The commands of the not-authenticated state (RFC 3501 6.2): STARTTLS,
 * LOGIN and AUTHENTICATE PLAIN (RFC 4616, with RFC 4959's initial
 * response), against the server's users (config server.users, hashes from
 * `corral passwd`). Both logins share one check: each failure waits longer
 * before it is answered (1 s, 2 s, 4 s, at most 8 s), so that guessing is
 * slow, and the fifth ends the connection. On a plain connection that is
 * not on loopback neither is allowed (LOGINDISABLED): STARTTLS first.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "imapd/clients.h"
#include "imapd/session-int.h"
#include "util/base64.h"
#include "util/log.h"
#include "util/passwd.h"
#include "util/str.h"

#define FAILURES_MAX 5

static const struct server_user *find_user(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->server.nusers; i++)
		if (strcmp(cfg->server.users[i].name, name) == 0)
			return &cfg->server.users[i];
	return NULL;
}

/* A failed login: the delay, then NO with text; BYE after the last one. */
static void login_failed(struct session *s, const char *user, const char *text)
{
	/* The delay grows with the address's failures, in this session and
	 * the ones before: reconnecting does not start it again. */
	unsigned n = client_failed(s->client), wait;
	char safe[65];

	n = n > s->failures ? n : s->failures;
	wait = n < 4 ? 1u << n : 8;
	s->failures++;
	str_sanitise(safe, sizeof(safe), user, strlen(user));
	log_info("%s: login failed for %s", s->peer, safe);
	sleep(wait);
	done(s, ST_NO, "%s", text);
	if (s->failures >= FAILURES_MAX)
		s->bye = "too many failed logins";
}

/* LOGIN and AUTHENTICATE: logs user in (taking it) when pass is right. */
static void log_in(struct session *s, char *user, const char *pass)
{
	const struct server_user *u = find_user(s->cfg, user);
	char err[128];
	/* An unknown user costs the same as a wrong password. */
	bool ok =
	    passwd_check(pass, u != NULL ? u->password_hash : "$6$corral$x", err, sizeof(err)) &&
	    u != NULL;

	if (!ok) {
		login_failed(s, user, "[AUTHENTICATIONFAILED] invalid user name or password");
		free(user);
		return;
	}
	log_info("%s: %s logged in", s->peer, user);
	s->user = user;
	s->state = S_AUTH;
	done(s, ST_OK, "[CAPABILITY %s] logged in", capabilities(s));
}

/* NO when a password would travel in the clear (RFC 3501 6.2.3, RFC 5530). */
static bool privacy_required(struct session *s)
{
	if (login_allowed(s))
		return false;
	done(s, ST_NO, "[PRIVACYREQUIRED] no password in the clear here: STARTTLS first");
	return true;
}

void imap_cmd_login(struct session *s)
{
	const struct imapd_cmd *c = s->cmd;
	char *user, *pass;

	if (privacy_required(s))
		return;
	if (c->nargs != 2 || (user = arg_string(&c->args[0])) == NULL) {
		done(s, ST_BAD, "LOGIN needs a user name and a password");
		return;
	}
	if ((pass = arg_string(&c->args[1])) == NULL) {
		free(user);
		done(s, ST_BAD, "LOGIN needs a user name and a password");
		return;
	}
	log_in(s, user, pass);
	secret_free(pass);
}

/* The PLAIN message (RFC 4616) in raw[0..n), NUL-terminated at n:
 * authzid NUL authcid NUL passwd. */
static void plain_message(struct session *s, const char *raw, size_t n)
{
	const char *authcid = memchr(raw, '\0', n), *pass;

	if (authcid == NULL ||
	    (pass = memchr(authcid + 1, '\0', n - (size_t)(authcid + 1 - raw))) == NULL) {
		done(s, ST_BAD, "not a PLAIN message: authzid NUL authcid NUL password");
		return;
	}
	authcid++;
	pass++;
	if (*authcid == '\0' || *pass == '\0' || strlen(pass) != n - (size_t)(pass - raw)) {
		done(s, ST_BAD, "not a PLAIN message: authzid NUL authcid NUL password");
		return;
	}
	/* Logging in as someone else (authzid) is not offered. */
	if (*raw != '\0' && strcmp(raw, authcid) != 0) {
		login_failed(s, authcid,
		             "[AUTHORIZATIONFAILED] the authorization identity must be "
		             "empty or the user's own");
		return;
	}
	log_in(s, xstrdup(authcid), pass);
}

/* The client's base64 response b64[0..len): decoded, checked, wiped. */
static void plain_response(struct session *s, const char *b64, size_t len)
{
	char *raw;
	size_t n;

	/* "=" is an empty initial response (RFC 4959). */
	if (len == 1 && b64[0] == '=')
		len = 0;
	raw = xmalloc(len / 4 * 3 + 4);
	n = len % 4 == 0 ? b64_decode(b64, len, raw, len / 4 * 3 + 3, true) : (size_t)-1;
	if (n == (size_t)-1) {
		done(s, ST_BAD, "the response is not base64");
	} else {
		raw[n] = '\0';
		plain_message(s, raw, n);
	}
	explicit_bzero(raw, len / 4 * 3 + 4);
	free(raw);
}

void imap_cmd_authenticate(struct session *s)
{
	const struct imapd_cmd *c = s->cmd;

	if (c->nargs < 1 || c->nargs > 2 || c->args[0].kind != IMAPD_ATOM ||
	    (c->nargs == 2 && c->args[1].kind != IMAPD_ATOM)) {
		done(s, ST_BAD, "AUTHENTICATE needs a mechanism and may have an initial response");
		return;
	}
	if (privacy_required(s))
		return;
	if (!imapd_arg_is(&c->args[0], "PLAIN")) {
		done(s, ST_NO, "the only mechanism is PLAIN");
		return;
	}
	if (c->nargs == 2) {
		plain_response(s, c->args[1].s, c->args[1].len);
		return;
	}
	/* The response comes on a line of its own: auth_response(). */
	s->sasl_tag = xstrdup(c->tag);
	reply(s, "+ ");
}

void auth_response(struct session *s, const char *line, size_t len)
{
	struct imapd_cmd c = {.tag = s->sasl_tag, .name = "AUTHENTICATE"};
	const struct imapd_cmd *was = s->cmd;

	s->cmd = &c;
	if (line == NULL)
		done(s, ST_BAD, "the response line is too long");
	else if (len == 1 && line[0] == '*')
		done(s, ST_BAD, "AUTHENTICATE cancelled");
	else
		plain_response(s, line, len);
	s->cmd = was;
	free(s->sasl_tag);
	s->sasl_tag = NULL;
}

void imap_cmd_starttls(struct session *s)
{
	if (s->cmd->nargs != 0)
		done(s, ST_BAD, "STARTTLS takes no arguments");
	else if (s->tls != NULL)
		done(s, ST_BAD, "TLS is on already");
	else if (s->tls_ctx == NULL)
		done(s, ST_NO, "no TLS here: the server has no certificate (server.cert)");
	else {
		done(s, ST_OK, "begin TLS negotiation now");
		/* The session does the handshake once this answer is sent. */
		s->starttls = true;
	}
}
