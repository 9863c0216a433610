/*
 * The client side of the SASL mechanisms corral logs in with where it speaks
 * the login itself (POP3: net/pop3-login.c), and APOP's digest: what to send
 * at each step, as base64 text. Pure functions of the credentials and the
 * server's challenges; MD5 and HMAC-MD5 come from OpenSSL's libcrypto,
 * loaded on first use.
 *
 * Every string returned holds a secret or is derived from one: free it with
 * secret_free() (util/str.h).
 */
#ifndef CORRAL_NET_SASL_H
#define CORRAL_NET_SASL_H

#include <stddef.h>

enum sasl_mech {
	SASL_PLAIN,       /* RFC 4616 */
	SASL_LOGIN,       /* draft-murchison-sasl-login */
	SASL_CRAM_MD5,    /* RFC 2195 */
	SASL_XOAUTH2,     /* Google's and Microsoft's bearer token format */
	SASL_OAUTHBEARER, /* RFC 7628 */
};

struct sasl_creds {
	const char *user;
	const char *secret; /* the password, or the OAuth2 access token */
	const char *host;   /* OAUTHBEARER's host= and port= */
	int port;
};

/* "PLAIN", "LOGIN"...: the name the protocols use. */
const char *sasl_name(enum sasl_mech m);

/*
 * The initial response (RFC 4422 section 5) in base64, or NULL for the
 * mechanisms that have none (LOGIN, CRAM-MD5).
 */
char *sasl_initial(enum sasl_mech m, const struct sasl_creds *c);

/*
 * The answer to the server's nth challenge (1, 2...; counted after the
 * initial response) whose decoded bytes are challenge[0..len): base64 text,
 * "" for an empty answer, or NULL when the mechanism has nothing to say and
 * the exchange must be cancelled. After a bearer mechanism's initial
 * response a challenge carries the server's error; the answer lets it say
 * so (RFC 7628 section 3.2.3). NULL with err filled when MD5 is not to be
 * had.
 */
char *sasl_answer(enum sasl_mech m, const struct sasl_creds *c, unsigned nth, const char *challenge,
                  size_t len, char *err, size_t errlen);

/*
 * APOP's digest (RFC 1939 section 7): MD5 of the greeting's timestamp and
 * the secret, in lower-case hex. 0, or -1 with err filled.
 */
int apop_digest(const char *stamp, const char *secret, char hex[33], char *err, size_t errlen);

#endif
