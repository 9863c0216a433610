/*
 * Password hashes for the IMAP server's users: SHA-512 crypt(3) strings
 * ("$6$salt$hash"), made by `corral passwd` and checked at LOGIN. libcrypt
 * (libxcrypt) is loaded on first use (util/dl.h), through crypt_rn: the
 * sanitizers' crypt_r interceptor does not know libxcrypt.
 */
#ifndef CORRAL_UTIL_PASSWD_H
#define CORRAL_UTIL_PASSWD_H

#include <stdbool.h>
#include <stddef.h>

/* A new "$6$<16 random chars>$..." hash of password; NULL with err filled.
 * Free it with free(). */
char *passwd_hash(const char *password, char *err, size_t errlen);

/*
 * Whether password matches hash. The comparison takes the same time
 * wherever the first difference is. A hash that is not a crypt string,
 * or libcrypt missing, never matches (err says why).
 */
bool passwd_check(const char *password, const char *hash, char *err, size_t errlen);

#endif
