/*
 * The command table: each command, the function that runs it and the
 * states it is allowed in (RFC 3501 section 6). One file per family:
 * cmd-any.c, cmd-auth.c, cmd-mailbox.c, cmd-append.c, cmd-fetch.c,
 * cmd-list.c, cmd-folders.c, cmd-search.c, cmd-store.c, cmd-copy.c. UID's subcommands have a table
 * of their own.
 */
#include <stddef.h>
#include <strings.h>

#include "imapd/session-int.h"

#define ANY    (S_NOT_AUTH | S_AUTH | S_SELECTED)
#define AUTHED (S_AUTH | S_SELECTED)

/* sync: other writers' new messages and flags are told before a command
 * in the selected state runs, their expunges after it (SYNC_ALL) except
 * for FETCH, STORE and SEARCH (RFC 3501 7.4.1). */
static const struct command table[] = {
    {"CAPABILITY", imap_cmd_capability, ANY, SYNC_ALL},
    {"NOOP", imap_cmd_noop, ANY, SYNC_ALL},
    {"LOGOUT", imap_cmd_logout, ANY, SYNC_NONE},
    {"ID", imap_cmd_id, ANY, SYNC_ALL},
    {"LOGIN", imap_cmd_login, S_NOT_AUTH, SYNC_NONE},
    {"LIST", imap_cmd_list, AUTHED, SYNC_ALL},
    {"LSUB", imap_cmd_lsub, AUTHED, SYNC_ALL},
    {"CREATE", imap_cmd_create, AUTHED, SYNC_ALL},
    {"DELETE", imap_cmd_delete, AUTHED, SYNC_ALL},
    {"RENAME", imap_cmd_rename, AUTHED, SYNC_ALL},
    {"SUBSCRIBE", imap_cmd_subscribe, AUTHED, SYNC_ALL},
    {"UNSUBSCRIBE", imap_cmd_unsubscribe, AUTHED, SYNC_ALL},
    {"NAMESPACE", imap_cmd_namespace, AUTHED, SYNC_ALL},
    {"ENABLE", imap_cmd_enable, AUTHED, SYNC_ALL},
    {"IDLE", imap_cmd_idle, AUTHED, SYNC_ALL},
    {"SELECT", imap_cmd_select, AUTHED, SYNC_NONE},
    {"EXAMINE", imap_cmd_examine, AUTHED, SYNC_NONE},
    {"STATUS", imap_cmd_status, AUTHED, SYNC_ALL},
    {"APPEND", imap_cmd_append, AUTHED, SYNC_ALL},
    {"CHECK", imap_cmd_noop, S_SELECTED, SYNC_ALL},
    {"CLOSE", imap_cmd_close, S_SELECTED, SYNC_NONE},
    {"UNSELECT", imap_cmd_unselect, S_SELECTED, SYNC_NONE},
    {"FETCH", imap_cmd_fetch, S_SELECTED, SYNC_NO_EXPUNGE},
    {"SEARCH", imap_cmd_search, S_SELECTED, SYNC_NO_EXPUNGE},
    {"STORE", imap_cmd_store, S_SELECTED, SYNC_NO_EXPUNGE},
    {"EXPUNGE", imap_cmd_expunge, S_SELECTED, SYNC_ALL},
    {"COPY", imap_cmd_copy, S_SELECTED, SYNC_ALL},
    {"MOVE", imap_cmd_move, S_SELECTED, SYNC_ALL},
    {"UID", imap_cmd_uid, S_SELECTED, SYNC_ALL},
    {"AUTHENTICATE", imap_cmd_authenticate, S_NOT_AUTH, SYNC_NONE},
    {"STARTTLS", imap_cmd_starttls, S_NOT_AUTH, SYNC_NONE},
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
    {"FETCH", imap_uid_fetch},     {"SEARCH", imap_uid_search}, {"STORE", imap_uid_store},
    {"EXPUNGE", imap_uid_expunge}, {"COPY", imap_uid_copy},     {"MOVE", imap_uid_move},
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
	done(s, ST_BAD, "UID needs FETCH, SEARCH, STORE, EXPUNGE, COPY or MOVE");
}
