/*
 * One way to answer a command. A command (cmd-*.c) ends by saying its
 * outcome with done(): status, response code, text. It never writes its
 * tagged line: command_end() here does, after the untagged updates that
 * RFC 3501 7.4.1 allows at that moment (other writers' expunges after a
 * command that names no sequence numbers), and then runs what was to
 * happen once the answer is on its way (FETCH's index write).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imapd/session-int.h"
#include "util/log.h"

static const char *const status_name[] = {
    [ST_NONE] = "NONE", [ST_OK] = "OK", [ST_NO] = "NO", [ST_BAD] = "BAD"};

void done(struct session *s, enum status st, const char *fmt, ...)
{
	struct outcome *o = &s->outcome;
	va_list ap;
	char *text, *end;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	text = xmalloc(n > 0 ? (size_t)n + 1 : 1);
	va_start(ap, fmt);
	vsnprintf(text, n > 0 ? (size_t)n + 1 : 1, fmt, ap);
	va_end(ap);
	outcome_clear(o);
	o->status = st;
	/* "[CODE args] text": the code is kept apart (RFC 3501 7.1). */
	if (text[0] == '[' && (end = strchr(text, ']')) != NULL) {
		o->code = xstrndup(text + 1, (size_t)(end - text - 1));
		o->text = xstrdup(end[1] == ' ' ? end + 2 : end + 1);
		free(text);
	} else {
		o->text = text;
	}
}

void outcome_clear(struct outcome *o)
{
	free(o->code);
	free(o->text);
	*o = (struct outcome){0};
}

/* The tagged line of the outcome. */
static void put_tagged(struct session *s, const char *tag)
{
	const struct outcome *o = &s->outcome;

	buf_printf(&s->out, "%s %s ", tag, status_name[o->status]);
	if (o->code != NULL)
		buf_printf(&s->out, "[%s] ", o->code);
	buf_puts(&s->out, o->text != NULL ? o->text : "");
	buf_puts(&s->out, "\r\n");
}

void command_end(struct session *s, const char *tag, enum sync sync)
{
	if (s->outcome.status == ST_NONE) {
		/* A command that said nothing is a bug: the client must not wait
		 * for ever. */
		log_warn("%s: %s ended without an outcome", s->peer, tag);
		done(s, ST_NO, "[SERVERBUG] the command ended without an answer");
	}
	if (sync == SYNC_ALL && s->state == S_SELECTED)
		session_expunges(s, false);
	put_tagged(s, tag);
	outcome_clear(&s->outcome);
	if (s->bye != NULL) {
		reply(s, "* BYE %s", s->bye);
		s->bye = NULL;
		s->state = S_LOGOUT;
		return;
	}
	/* What the index learnt is written after the answer is on its way;
	 * a new mod-sequence at once, for the other sessions to see. */
	if (s->save_index || (s->state == S_SELECTED && s->view.modseq_changed)) {
		s->save_index = false;
		if (flush_out(s) == 0 && s->view.ix != NULL)
			view_save_index(&s->view);
	}
}

void dispatch(struct session *s, const struct imapd_cmd *cmd)
{
	const struct command *c = command_find(cmd->name);
	enum sync sync = c != NULL ? c->sync : SYNC_NONE;

	s->cmd = cmd;
	if (c == NULL) {
		done(s, ST_BAD, "unknown command %.40s", cmd->name);
	} else if (!(c->states & s->state)) {
		done(s, ST_BAD, "%s is not allowed %s", c->name,
		     s->state == S_NOT_AUTH ? "before LOGIN" : "now");
	} else if (s->utf8 && !args_utf8_valid(cmd->args, cmd->nargs)) {
		/* RFC 6855 3: 8-bit bytes in a quoted string are UTF-8 or BAD. */
		done(s, ST_BAD, "a quoted string that is not UTF-8");
	} else {
		if (s->state == S_SELECTED && c->sync != SYNC_NONE)
			session_sync(s, false);
		/* The folder's UIDVALIDITY changed: the session ended with BYE. */
		if (s->state == S_LOGOUT) {
			s->cmd = NULL;
			return;
		}
		c->run(s);
	}
	/* IDLE and AUTHENTICATE end later, on the client's next line. */
	if (s->idle_tag == NULL && s->sasl_tag == NULL)
		command_end(s, cmd->tag, sync);
	s->cmd = NULL;
}
