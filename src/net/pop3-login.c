#include "net/pop3-login.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"
#include "net/net.h"
#include "net/respcode.h"
#include "net/sasl.h"
#include "util/base64.h"
#include "util/log.h"
#include "util/str.h"

/* A login: a SASL mechanism, or one of POP3's own commands. */
enum pop3_way { WAY_SASL, WAY_USER, WAY_APOP };

struct way {
	enum pop3_way how;
	enum sasl_mech mech; /* WAY_SASL */
};

/* RFC 5034 section 4: an AUTH line with its initial response stays within 255 octets. */
#define AUTH_LINE_MAX 255
/* Challenges answered before the exchange is given up. */
#define MAX_CHALLENGES 4

void pop3_hello_note(struct pop3_hello *h, const char *line)
{
	const char *lt, *gt;

	if (strncmp(line, "+OK", 3) == 0) {
		/* The greeting: "+OK POP3 ready <1896.697170952@dbc.mtview.ca.us>" */
		lt = strchr(line, '<');
		gt = lt != NULL ? strchr(lt, '>') : NULL;
		if (gt != NULL && memchr(lt, '@', (size_t)(gt - lt)) != NULL &&
		    (size_t)(gt - lt) + 1 < sizeof(h->apop_stamp))
			snprintf(h->apop_stamp, sizeof(h->apop_stamp), "%.*s", (int)(gt - lt + 1),
			         lt);
		return;
	}
	if (strcasecmp(line, "UTF8") == 0 || strncasecmp(line, "UTF8 ", 5) == 0)
		h->utf8 = true;
	if (strncasecmp(line, "SASL ", 5) != 0)
		return;
	for (const char *p = line + 5; *p != '\0';) {
		size_t len = strcspn(p, " ");

		for (int m = SASL_PLAIN; m <= SASL_OAUTHBEARER; m++)
			if (str_ieq_n(p, len, sasl_name((enum sasl_mech)m)))
				h->sasl |= 1u << m;
		p += len;
		p += strspn(p, " ");
	}
}

static const char *way_name(const struct way *w)
{
	return w->how == WAY_USER ? "USER" : w->how == WAY_APOP ? "APOP" : sasl_name(w->mech);
}

/* Sends one line; what is logged is only `shown` (never the secret). */
static int send_line(struct net *n, const char *line, const char *shown, struct result *err)
{
	size_t len = strlen(line);
	char *wire = xmalloc(len + 3);
	int rc;

	memcpy(wire, line, len);
	memcpy(wire + len, "\r\n", 3);
	log_debug("> %s", shown);
	rc = net_write(n, wire, len + 2, err);
	explicit_bzero(wire, len + 2);
	free(wire);
	return rc;
}

/* The server's next line in *line (sanitised copy in srv); -1 on error. */
static int read_reply(struct net *n, char **line, char *srv, size_t srvlen, struct result *err)
{
	size_t len;

	if (net_read_line(n, line, &len, err) < 0)
		return -1;
	str_sanitise(srv, srvlen, *line, len);
	log_debug("< %s", srv);
	return 0;
}

/*
 * Reads a +OK / -ERR answer: 0 for +OK, 1 for -ERR (err filled with the
 * response code's kind, dflt without one), -1 on a broken connection.
 */
static int read_status(struct net *n, enum res_kind dflt, const char *what, struct result *err)
{
	char srv[256], *line;

	if (read_reply(n, &line, srv, sizeof(srv), err) < 0)
		return -1;
	if (strncmp(line, "+OK", 3) == 0)
		return 0;
	if (strncmp(line, "-ERR", 4) == 0) {
		enum res_kind kind = resp_code_kind(srv, dflt);

		res_fail(err, RES_SCOPE_ACCOUNT, kind, srv, "%s: %s", net_peer(n),
		         kind == RES_AUTH ? what : "login failed, for now");
		return 1;
	}
	return res_fail(err, RES_SCOPE_ACCOUNT, RES_TEMP, srv, "%s: unexpected answer to %s",
	                net_peer(n), what);
}

static int login_user(struct net *n, const struct sasl_creds *c, struct result *err)
{
	char *cmd = xmalloc(strlen(c->user) + strlen(c->secret) + 8);
	int rc;

	sprintf(cmd, "USER %s", c->user);
	rc = send_line(n, cmd, "USER ...", err);
	if (rc == 0)
		rc = read_status(n, RES_AUTH, "login refused", err);
	if (rc == 0) {
		sprintf(cmd, "PASS %s", c->secret);
		rc = send_line(n, cmd, "PASS ...", err);
		if (rc == 0)
			rc = read_status(n, RES_AUTH, "login refused", err);
	}
	secret_free(cmd);
	return rc;
}

static int login_apop(struct net *n, const struct pop3_hello *h, const struct sasl_creds *c,
                      struct result *err)
{
	char digest[33], why[128], *cmd;
	int rc;

	if (h->apop_stamp[0] == '\0')
		return res_fail(err, RES_SCOPE_ACCOUNT, RES_CONFIG, NULL,
		                "%s: auth: apop, but the server's greeting offers no APOP",
		                net_peer(n));
	if (apop_digest(h->apop_stamp, c->secret, digest, why, sizeof(why)) < 0)
		return res_fail(err, RES_SCOPE_ACCOUNT, RES_CONFIG, NULL, "%s: APOP: %s",
		                net_peer(n), why);
	cmd = xmalloc(strlen(c->user) + 48);
	sprintf(cmd, "APOP %s %s", c->user, digest);
	explicit_bzero(digest, sizeof(digest));
	rc = send_line(n, cmd, "APOP ...", err);
	secret_free(cmd);
	return rc < 0 ? -1 : read_status(n, RES_AUTH, "login refused", err);
}

/* Answers one "+ challenge" line; the answer (or "*" to cancel) is sent. */
static int answer_challenge(struct net *n, enum sasl_mech m, const struct sasl_creds *c,
                            unsigned nth, const char *line, struct result *err)
{
	const char *b64 = line[1] == ' ' ? line + 2 : line + 1;
	size_t blen = strlen(b64), dlen;
	char *decoded = xmalloc(blen + 1), why[128], *ans;
	int rc;

	dlen = b64_decode(b64, blen, decoded, blen, false);
	ans = sasl_answer(m, c, nth, decoded, dlen, why, sizeof(why));
	free(decoded);
	if (ans == NULL) {
		if (send_line(n, "*", "* (cancelled)", err) < 0)
			return -1;
		if (why[0] != '\0')
			return res_fail(err, RES_SCOPE_ACCOUNT, RES_CONFIG, NULL, "%s: %s: %s",
			                net_peer(n), sasl_name(m), why);
		return 0;
	}
	rc = send_line(n, ans, "(answer)", err);
	secret_free(ans);
	return rc;
}

static int login_sasl(struct net *n, enum sasl_mech m, const struct sasl_creds *c,
                      struct result *err)
{
	char *ir = sasl_initial(m, c), *cmd, srv[256], *line, shown[48];
	size_t cmdlen = strlen(sasl_name(m)) + 6 + (ir != NULL ? strlen(ir) + 1 : 0);
	bool ir_sent = ir != NULL && cmdlen <= AUTH_LINE_MAX - 2;
	int rc = 0;

	cmd = xmalloc(cmdlen);
	snprintf(cmd, cmdlen, "AUTH %s%s%s", sasl_name(m), ir_sent ? " " : "", ir_sent ? ir : "");
	snprintf(shown, sizeof(shown), "AUTH %s%s", sasl_name(m), ir_sent ? " ..." : "");
	rc = send_line(n, cmd, shown, err);
	secret_free(cmd);
	for (unsigned nth = 0; rc == 0;) {
		if (read_reply(n, &line, srv, sizeof(srv), err) < 0) {
			rc = -1;
			break;
		}
		if (strncmp(line, "+OK", 3) == 0)
			break;
		if (strncmp(line, "-ERR", 4) == 0) {
			enum res_kind kind = resp_code_kind(srv, RES_AUTH);

			res_fail(err, RES_SCOPE_ACCOUNT, kind, srv, "%s: %s", net_peer(n),
			         kind == RES_AUTH ? "login refused" : "login failed, for now");
			rc = 1;
			break;
		}
		if (line[0] != '+' || (line[1] != ' ' && line[1] != '\0')) {
			rc =
			    res_fail(err, RES_SCOPE_ACCOUNT, RES_TEMP, srv,
			             "%s: unexpected answer to AUTH %s", net_peer(n), sasl_name(m));
			break;
		}
		if (ir != NULL && !ir_sent) {
			/* The initial response, asked for by an empty challenge. */
			ir_sent = true;
			rc = send_line(n, ir, "(initial response)", err);
		} else if (++nth > MAX_CHALLENGES) {
			rc = send_line(n, "*", "* (cancelled)", err);
		} else {
			rc = answer_challenge(n, m, c, nth, line, err);
		}
	}
	if (ir != NULL)
		secret_free(ir);
	return rc;
}

/* The logins to try, in order; returns how many. */
static size_t choose_ways(const struct account *a, const struct pop3_hello *h, bool by_token,
                          struct way *ways)
{
	static const enum sasl_mech named[] = {
	    [AUTH_PLAIN] = SASL_PLAIN,
	    [AUTH_LOGIN] = SASL_LOGIN,
	    [AUTH_CRAM_MD5] = SASL_CRAM_MD5,
	    [AUTH_XOAUTH2] = SASL_XOAUTH2,
	    [AUTH_OAUTHBEARER] = SASL_OAUTHBEARER,
	};
	static const enum sasl_mech order[] = {SASL_PLAIN, SASL_LOGIN, SASL_CRAM_MD5};
	size_t k = 0;

	if (by_token) {
		ways[0] = (struct way){WAY_SASL, a->auth == AUTH_OAUTHBEARER ? SASL_OAUTHBEARER
		                                                             : SASL_XOAUTH2};
		return 1;
	}
	switch (a->auth) {
	case AUTH_USER:
		ways[0] = (struct way){WAY_USER, SASL_PLAIN};
		return 1;
	case AUTH_APOP:
		ways[0] = (struct way){WAY_APOP, SASL_PLAIN};
		return 1;
	case AUTH_DEFAULT:
		break;
	default:
		ways[0] = (struct way){WAY_SASL, named[a->auth]};
		return 1;
	}
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (h->sasl & (1u << order[i]))
			ways[k++] = (struct way){WAY_SASL, order[i]};
	ways[k++] = (struct way){WAY_USER, SASL_PLAIN};
	return k;
}

int pop3_login(struct net *n, const struct account *a, const struct pop3_hello *h,
               const char *secret, bool by_token, struct result *err)
{
	struct sasl_creds c = {a->cred.user != NULL ? a->cred.user : "", secret, a->host, a->port};
	struct result refused = {0};
	struct way ways[4];
	size_t nways = choose_ways(a, h, by_token, ways), refusals = 0;
	char tried[64] = "";
	int rc = 1;

	if (h->utf8) {
		if (send_line(n, "UTF8", "UTF8", err) < 0 ||
		    (rc = read_status(n, RES_TEMP, "UTF8", err)) < 0)
			return -1;
		if (rc == 1)
			log_info("%s: the server refused UTF8 (%s)", net_peer(n), err->server);
		res_clear(err);
	}
	for (size_t i = 0; i < nways; i++) {
		const struct way *w = &ways[i];

		rc = w->how == WAY_USER   ? login_user(n, &c, err)
		     : w->how == WAY_APOP ? login_apop(n, h, &c, err)
		                          : login_sasl(n, w->mech, &c, err);
		if (rc == 0) {
			log_debug("%s: logged in with %s", net_peer(n), way_name(w));
			return 0;
		}
		if (rc < 0 && refusals > 0 && err->kind == RES_TEMP)
			*err = refused; /* the connection ended after a refusal */
		if (rc < 0 || err->kind != RES_AUTH)
			break;
		snprintf(tried + strlen(tried), sizeof(tried) - strlen(tried), "%s%s",
		         tried[0] ? ", " : "", way_name(w));
		refused = *err;
		if (++refusals >= 2)
			break;
	}
	if (err->kind == RES_AUTH) {
		if (by_token)
			snprintf(err->text + strlen(err->text),
			         sizeof(err->text) - strlen(err->text),
			         ": the token oauth2_token_command printed was not accepted");
		else if (tried[0] != '\0')
			snprintf(err->text + strlen(err->text),
			         sizeof(err->text) - strlen(err->text), " (tried %s)", tried);
	}
	return -1;
}
