/* The commands allowed in any state: CAPABILITY, NOOP, LOGOUT, ID (RFC 2971). */
#include "imapd/session-int.h"

void imap_cmd_capability(struct session *s)
{
	reply(s, "* CAPABILITY %s", capabilities(s));
	tagged(s, "OK", "CAPABILITY completed");
}

void imap_cmd_noop(struct session *s)
{
	tagged(s, "OK", "NOOP completed");
}

void imap_cmd_logout(struct session *s)
{
	reply(s, "* BYE corral logging out");
	tagged(s, "OK", "LOGOUT completed");
	s->state = S_LOGOUT;
}

void imap_cmd_id(struct session *s)
{
	/* What the client says of itself is not needed; corral says its name. */
	reply(s, "* ID (\"name\" \"corral\")");
	tagged(s, "OK", "ID completed");
}
