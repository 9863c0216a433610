/*
 * IDLE (RFC 2177): the client waits and the server tells it of changes as
 * they happen, until the client sends DONE. The session loop (session.c)
 * watches the folder with inotify meanwhile and reports through
 * session_sync(); DONE is a line, not a command, handed to idle_line().
 */
#include <stdlib.h>
#include <strings.h>

#include "imapd/session-int.h"
#include "util/log.h"

void imap_cmd_idle(struct session *s)
{
	s->idle_tag = xstrdup(s->cmd->tag);
	reply(s, "+ idling");
}

void idle_line(struct session *s, const char *line, size_t len)
{
	free(s->idle_tag);
	s->idle_tag = NULL;
	if (line != NULL && len == 4 && strncasecmp(line, "DONE", 4) == 0) {
		/* command_end() tells the expunges, before the tagged line. */
		session_sync(s, false);
		done(s, ST_OK, "IDLE terminated");
	} else {
		done(s, ST_BAD, "IDLE ends with DONE");
	}
}
