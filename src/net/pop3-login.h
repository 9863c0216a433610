/*
 * POP3's AUTHORIZATION state, spoken by corral itself: libcurl connects,
 * reads the greeting, asks CAPA and does STLS, and stops there (net.c gives
 * it no user name). Then, as mail clients do:
 *
 *   - UTF8 (RFC 6856) when CAPA announces it, so that a server that would
 *     rewrite messages with 8-bit headers for old clients hands them over
 *     as they are;
 *   - the login the user named (auth: plain, login, cram-md5, xoauth2,
 *     oauthbearer, user for USER/PASS, apop), once;
 *   - otherwise the SASL mechanisms the server offered, PLAIN first, then
 *     LOGIN and CRAM-MD5, then USER/PASS, until one is accepted or the server
 *     refused twice (a wrong password must not look like an attack). APOP is
 *     never chosen unless named: it needs the password stored in the clear
 *     on the server, which many servers cannot check.
 *
 * A refusal's response code decides its kind (net/respcode.h): "-ERR
 * [IN-USE]" is temporary, "-ERR [AUTH]" a refused login.
 */
#ifndef CORRAL_NET_POP3_LOGIN_H
#define CORRAL_NET_POP3_LOGIN_H

#include <stdbool.h>

#include "util/result.h"

struct account;
struct net;

/* What the server said about itself before the login. */
struct pop3_hello {
	char apop_stamp[256]; /* the greeting's <...@...>, "" when none */
	unsigned sasl;        /* 1u << enum sasl_mech, from CAPA's SASL line */
	bool utf8;            /* CAPA lists UTF8 */
};

/* Notes what one line from the server (greeting or CAPA) says into h. */
void pop3_hello_note(struct pop3_hello *h, const char *line);

/*
 * Logs in on n as acct with secret (an OAuth2 access token when by_token).
 * 0, or -1 with err filled (scope ACCOUNT): RES_AUTH when refused (its text
 * names the logins tried), the response code's kind otherwise.
 */
int pop3_login(struct net *n, const struct account *acct, const struct pop3_hello *h,
               const char *secret, bool by_token, struct result *err);

#endif
