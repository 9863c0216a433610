/*
 * Server response codes -> result kinds: the one table both sources use.
 *
 * IMAP puts a code in brackets after NO or BAD (RFC 5530: "A002 NO [LIMIT]
 * Too many connections"), POP3 after -ERR (RFC 2449, RFC 3206: "-ERR
 * [IN-USE] Mailbox in use"). Some say "later" (RES_TEMP: the daemon backs
 * off and retries), some that the credentials were refused (RES_AUTH),
 * some that retrying will not help (RES_PERM, RES_CONFIG).
 *
 * Memory: nothing is allocated.
 */
#ifndef CORRAL_NET_RESPCODE_H
#define CORRAL_NET_RESPCODE_H

#include <stddef.h>

#include "util/result.h"

/*
 * The kind the response code in a server's line says ("c4 NO [UNAVAILABLE]
 * ...", "-ERR [SYS/TEMP] ..."), or dflt when the line has no code or one
 * the table does not know. line may be NULL.
 */
enum res_kind resp_code_kind(const char *line, enum res_kind dflt);

#endif
