/*
 * SEARCH and UID SEARCH (RFC 3501 6.4.4).
 */
#include "imapd/session-int.h"

static void do_search(struct session *s, const struct imapd_arg *args, size_t nargs, bool uid)
{
	if (nargs != 1 || !imapd_arg_is(&args[0], "ALL")) {
		tagged(s, "NO", "[CANNOT] only SEARCH ALL is supported yet");
		return;
	}
	buf_puts(&s->out, "* SEARCH");
	for (size_t i = 0; i < s->view.n; i++)
		buf_printf(&s->out, " %u", uid ? s->view.msgs[i].uid : (uint32_t)(i + 1));
	buf_puts(&s->out, "\r\n");
	tagged(s, "OK", "%sSEARCH completed", uid ? "UID " : "");
}

void imap_cmd_search(struct session *s)
{
	do_search(s, s->cmd->args, s->cmd->nargs, false);
}

void imap_uid_search(struct session *s, const struct imapd_arg *args, size_t nargs)
{
	do_search(s, args, nargs, true);
}
