/* Commands that touch no folder: CAPABILITY, NOOP (and CHECK), LOGOUT, ID
 * (RFC 2971), NAMESPACE, ENABLE. */
#include <strings.h>

#include "imapd/session-int.h"

void imap_cmd_capability(struct session *s)
{
	reply(s, "* CAPABILITY %s", capabilities(s));
	done(s, ST_OK, "CAPABILITY completed");
}

/* CHECK runs here too: its answer names it (mbsync's log showed "NOOP"). */
void imap_cmd_noop(struct session *s)
{
	bool check = strcasecmp(s->cmd->name, "CHECK") == 0;

	done(s, ST_OK, "%s completed", check ? "CHECK" : "NOOP");
}

void imap_cmd_logout(struct session *s)
{
	reply(s, "* BYE corral logging out");
	done(s, ST_OK, "LOGOUT completed");
	s->state = S_LOGOUT;
}

void imap_cmd_id(struct session *s)
{
	/* What the client says of itself is not needed; corral says its name. */
	reply(s, "* ID (\"name\" \"corral\")");
	done(s, ST_OK, "ID completed");
}

/* RFC 2342: one personal namespace, no prefix, "/" between levels. */
void imap_cmd_namespace(struct session *s)
{
	reply(s, "* NAMESPACE ((\"\" \"/\")) NIL NIL");
	done(s, ST_OK, "NAMESPACE completed");
}

/* RFC 5161: CONDSTORE and QRESYNC (which implies CONDSTORE, RFC 7162
 * 3.2.3) and UTF8=ACCEPT (RFC 6855) can be enabled; unknown names are
 * ignored, as the RFC says.
 * ENABLED names what this command enabled, and nothing else is sent: an
 * extra untagged line after ENABLED made neomutt hang. */
void imap_cmd_enable(struct session *s)
{
	const char *cs = "", *qr = "", *u8 = "";

	if (s->cmd->nargs == 0) {
		done(s, ST_BAD, "ENABLE needs capability names");
		return;
	}

	for (size_t i = 0; i < s->cmd->nargs; i++) {
		const struct imapd_arg *a = &s->cmd->args[i];

		if (imapd_arg_is(a, "CONDSTORE") && !s->condstore) {
			s->condstore = true;
			cs = " CONDSTORE";
		} else if (imapd_arg_is(a, "QRESYNC") && !s->qresync) {
			s->qresync = true;
			qr = " QRESYNC";
		} else if (imapd_arg_is(a, "UTF8=ACCEPT") && !s->utf8) {
			s->utf8 = true;
			u8 = " UTF8=ACCEPT";
		}
	}
	/* QRESYNC turns CONDSTORE on without naming it: "* ENABLED QRESYNC",
	 * as RFC 7162 3.2.3's example answers. */
	if (s->qresync)
		s->condstore = true;
	reply(s, "* ENABLED%s%s%s", cs, qr, u8);
	done(s, ST_OK, "ENABLE completed");
}
