/*
 * What `corral init` proves before it writes: that a config text loads
 * with every check `corral check` makes, and that an account logs in as
 * `corral fetch` would.
 */
#ifndef CORRAL_CLI_INIT_CONFIG_H
#define CORRAL_CLI_INIT_CONFIG_H

#include <stddef.h>

struct account;
struct config;
struct diag;

/*
 * Loads a config from text held in memory (nothing is written), with every
 * problem in d, each named "/proc/self/fd/N:LINE:COL: ...". Relative paths
 * in it resolve against /proc/self/fd: good enough to check the accounts.
 * NULL on problems.
 */
struct config *init_load_text(const char *text, struct diag *d);

/*
 * Logs in with the account as `corral fetch` does (TLS, certificate, login,
 * capabilities), then logs out. 0, or an exit status from res_exit_code
 * with the reason in err.
 */
int init_try_login(const struct account *a, char *err, size_t errlen);

#endif
