/*
 * LOGIN (RFC 3501 6.2.3) against the server's users (config server.users,
 * hashes from `corral passwd`). Each failure waits longer before it is
 * answered (1 s, 2 s, 4 s, at most 8 s), so that guessing is slow.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "imapd/session-int.h"
#include "util/log.h"
#include "util/passwd.h"

static const struct server_user *find_user(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->server.nusers; i++)
		if (strcmp(cfg->server.users[i].name, name) == 0)
			return &cfg->server.users[i];
	return NULL;
}

void imap_cmd_login(struct session *s)
{
	const struct imapd_cmd *c = s->cmd;
	char *user, *pass, err[128];
	const struct server_user *u;
	bool ok;

	if (c->nargs != 2 || (user = arg_string(&c->args[0])) == NULL) {
		tagged(s, "BAD", "LOGIN needs a user name and a password");
		return;
	}
	if ((pass = arg_string(&c->args[1])) == NULL) {
		free(user);
		tagged(s, "BAD", "LOGIN needs a user name and a password");
		return;
	}
	u = find_user(s->cfg, user);
	/* An unknown user costs the same as a wrong password. */
	ok = passwd_check(pass, u != NULL ? u->password_hash : "$6$corral$x", err, sizeof(err)) &&
	     u != NULL;
	explicit_bzero(pass, strlen(pass));
	free(pass);
	if (!ok) {
		unsigned wait = s->failures < 4 ? 1u << s->failures : 8;

		s->failures++;
		log_info("%s: login failed for %.64s", s->peer, user);
		free(user);
		sleep(wait);
		tagged(s, "NO", "[AUTHENTICATIONFAILED] invalid user name or password");
		return;
	}
	log_info("%s: %s logged in", s->peer, user);
	s->user = user;
	s->state = S_AUTH;
	tagged(s, "OK", "[CAPABILITY %s] logged in", capabilities(s));
}
