/*
 * The command table: each command, the function that runs it and the
 * states it is allowed in (RFC 3501 section 6). One file per family:
 * cmd-any.c, cmd-auth.c, cmd-mailbox.c, cmd-append.c, cmd-fetch.c,
 * cmd-search.c, cmd-store.c. UID's subcommands have a table of their own.
 */
#include <stddef.h>
#include <strings.h>

#include "imapd/session-int.h"

#define ANY    (S_NOT_AUTH | S_AUTH | S_SELECTED)
#define AUTHED (S_AUTH | S_SELECTED)

static const struct command table[] = {
    {"CAPABILITY", imap_cmd_capability, ANY}, {"NOOP", imap_cmd_noop, ANY},
    {"LOGOUT", imap_cmd_logout, ANY},         {"ID", imap_cmd_id, ANY},
    {"LOGIN", imap_cmd_login, S_NOT_AUTH},    {"LIST", imap_cmd_list, AUTHED},
    {"SELECT", imap_cmd_select, AUTHED},      {"EXAMINE", imap_cmd_examine, AUTHED},
    {"STATUS", imap_cmd_status, AUTHED},      {"APPEND", imap_cmd_append, AUTHED},
    {"CLOSE", imap_cmd_close, S_SELECTED},    {"UNSELECT", imap_cmd_unselect, S_SELECTED},
    {"FETCH", imap_cmd_fetch, S_SELECTED},    {"SEARCH", imap_cmd_search, S_SELECTED},
    {"STORE", imap_cmd_store, S_SELECTED},    {"EXPUNGE", imap_cmd_expunge, S_SELECTED},
    {"UID", imap_cmd_uid, S_SELECTED},
    {"AUTHENTICATE", imap_cmd_authenticate, S_NOT_AUTH},
    {"STARTTLS", imap_cmd_starttls, S_NOT_AUTH},
};

const struct command *command_find(const char *name)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcasecmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

static const struct {
	const char *name;
	uid_fn *run;
} uid_table[] = {
    {"FETCH", imap_uid_fetch},
    {"SEARCH", imap_uid_search},
    {"STORE", imap_uid_store},
};

void imap_cmd_uid(struct session *s)
{
	const struct imapd_cmd *c = s->cmd;

	if (c->nargs >= 1 && c->args[0].kind == IMAPD_ATOM)
		for (size_t i = 0; i < sizeof(uid_table) / sizeof(uid_table[0]); i++)
			if (imapd_arg_is(&c->args[0], uid_table[i].name)) {
				uid_table[i].run(s, c->args + 1, c->nargs - 1);
				return;
			}
	tagged(s, "BAD", "UID needs FETCH, SEARCH or STORE");
}
