#include "util/passwd.h"

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "util/dl.h"
#include "util/log.h"

typedef char *crypt_rn_fn(const char *, const char *, void *, int);

static crypt_rn_fn *load(char *err, size_t errlen)
{
	static crypt_rn_fn *fn;
	static const char *const sym = "crypt_rn";
	void *p;

	if (fn == NULL && dl_load("libcrypt.so.1", &sym, &p, 1, err, errlen) == 0)
		*(void **)&fn = p;
	return fn;
}

/* crypt_rn(password, setting) into a fresh string; NULL on failure. */
static char *run_crypt(const char *password, const char *setting, char *err, size_t errlen)
{
	crypt_rn_fn *fn = load(err, errlen);
	struct crypt_data *cd;
	const char *h;
	char *out = NULL;

	if (fn == NULL)
		return NULL;
	cd = xcalloc(1, sizeof(*cd));
	h = fn(password, setting, cd, (int)sizeof(*cd));
	if (h != NULL && h[0] == '$')
		out = xstrdup(h);
	else
		snprintf(err, errlen, "crypt failed");
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return out;
}

char *passwd_hash(const char *password, char *err, size_t errlen)
{
	static const char b64[] =
	    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	char setting[32] = "$6$";
	unsigned char rnd[16];

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		fatal("getrandom: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(rnd); i++)
		setting[3 + i] = b64[rnd[i] & 63];
	setting[3 + sizeof(rnd)] = '$';
	return run_crypt(password, setting, err, errlen);
}

bool passwd_check(const char *password, const char *hash, char *err, size_t errlen)
{
	char *got;
	size_t n = strlen(hash);
	unsigned char diff = 0;

	if (hash[0] != '$') {
		snprintf(err, errlen, "not a crypt(3) hash");
		return false;
	}
	got = run_crypt(password, hash, err, errlen);
	if (got == NULL)
		return false;
	/* Every byte compared: the time says nothing about where they differ. */
	diff = (unsigned char)(strlen(got) != n);
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(got[i < strlen(got) ? i : 0] ^ hash[i]);
	explicit_bzero(got, strlen(got));
	free(got);
	return diff == 0;
}
