#include "net/sasl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "util/dl.h"
#include "util/log.h"
#include "util/str.h"

/* ---- MD5 from libcrypto ---- */

struct crypto_api {
	const void *(*md5)(void);
	int (*digest)(const void *data, size_t n, unsigned char *md, unsigned int *size,
	              const void *type, void *engine);
	unsigned char *(*hmac)(const void *type, const void *key, int keylen,
	                       const unsigned char *d, size_t n, unsigned char *md,
	                       unsigned int *mdlen);
};

static const struct crypto_api *crypto(char *err, size_t errlen)
{
	static struct crypto_api api;
	static int loaded;
	static const char *const names[] = {"EVP_md5", "EVP_Digest", "HMAC"};
	void *fns[3];

	if (loaded)
		return &api;
	if (dl_load("libcrypto.so.3", names, fns, 3, err, errlen) < 0)
		return NULL;
	*(void **)&api.md5 = fns[0];
	*(void **)&api.digest = fns[1];
	*(void **)&api.hmac = fns[2];
	loaded = 1;
	return &api;
}

static void hex(const unsigned char *md, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int apop_digest(const char *stamp, const char *secret, char out[33], char *err, size_t errlen)
{
	const struct crypto_api *c = crypto(err, errlen);
	size_t sl = strlen(stamp), pl = strlen(secret);
	unsigned char md[16];
	unsigned int mdlen = 0;
	char *both;
	int ok;

	if (c == NULL)
		return -1;
	both = xmalloc(sl + pl + 1);
	memcpy(both, stamp, sl);
	memcpy(both + sl, secret, pl + 1);
	ok = c->digest(both, sl + pl, md, &mdlen, c->md5(), NULL) == 1 && mdlen == 16;
	secret_free(both);
	if (!ok) {
		snprintf(err, errlen, "MD5 is not available from libcrypto");
		return -1;
	}
	hex(md, 16, out);
	return 0;
}

/* ---- the mechanisms ---- */

const char *sasl_name(enum sasl_mech m)
{
	static const char *const names[] = {"PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER"};

	return names[m];
}

/* base64 of raw[0..n), raw wiped. */
static char *encode_wipe(char *raw, size_t n)
{
	char *out = xmalloc(B64_ENCODED_SIZE(n));

	b64_encode(raw, n, out);
	explicit_bzero(raw, n);
	free(raw);
	return out;
}

char *sasl_initial(enum sasl_mech m, const struct sasl_creds *c)
{
	size_t ul = strlen(c->user), sl = strlen(c->secret), cap = ul + sl + strlen(c->host) + 64;
	char *raw = xmalloc(cap);
	int n;

	switch (m) {
	case SASL_PLAIN:
		/* authzid empty, authcid, password */
		raw[0] = '\0';
		memcpy(raw + 1, c->user, ul + 1);
		memcpy(raw + 2 + ul, c->secret, sl);
		return encode_wipe(raw, ul + sl + 2);
	case SASL_XOAUTH2:
		n = snprintf(raw, cap, "user=%s\001auth=Bearer %s\001\001", c->user, c->secret);
		return encode_wipe(raw, (size_t)n);
	case SASL_OAUTHBEARER:
		n = snprintf(raw, cap, "n,a=%s,\001host=%s\001port=%d\001auth=Bearer %s\001\001",
		             c->user, c->host, c->port, c->secret);
		return encode_wipe(raw, (size_t)n);
	case SASL_LOGIN:
	case SASL_CRAM_MD5:
		break;
	}
	free(raw);
	return NULL;
}

static char *cram_md5(const struct sasl_creds *c, const char *challenge, size_t len, char *err,
                      size_t errlen)
{
	const struct crypto_api *api = crypto(err, errlen);
	unsigned char md[16];
	unsigned int mdlen = 0;
	size_t ul = strlen(c->user);
	char *raw;

	if (api == NULL)
		return NULL;
	if (api->hmac(api->md5(), c->secret, (int)strlen(c->secret),
	              (const unsigned char *)challenge, len, md, &mdlen) == NULL ||
	    mdlen != 16) {
		snprintf(err, errlen, "HMAC-MD5 is not available from libcrypto");
		return NULL;
	}
	raw = xmalloc(ul + 1 + 33);
	memcpy(raw, c->user, ul);
	raw[ul] = ' ';
	hex(md, 16, raw + ul + 1);
	explicit_bzero(md, sizeof(md));
	return encode_wipe(raw, ul + 33);
}

char *sasl_answer(enum sasl_mech m, const struct sasl_creds *c, unsigned nth, const char *challenge,
                  size_t len, char *err, size_t errlen)
{
	const char *plain;

	err[0] = '\0';
	switch (m) {
	case SASL_LOGIN:
		/* The prompts ("Username:", "Password:") are not to be relied on. */
		if (nth > 2)
			return NULL;
		plain = nth == 1 ? c->user : c->secret;
		return encode_wipe(xstrdup(plain), strlen(plain));
	case SASL_CRAM_MD5:
		return nth == 1 ? cram_md5(c, challenge, len, err, errlen) : NULL;
	case SASL_XOAUTH2:
		/* The challenge is the server's JSON error; an empty line ends it. */
		return nth == 1 ? xstrdup("") : NULL;
	case SASL_OAUTHBEARER:
		/* RFC 7628 3.2.3: the client answers the error with a single ^A. */
		return nth == 1 ? xstrdup("AQ==") : NULL;
	case SASL_PLAIN:
		break;
	}
	return NULL;
}
