/*
 * SEARCH and UID SEARCH (RFC 3501 6.4.4), with ESEARCH's RETURN options
 * (RFC 4731). The keys are parsed and evaluated by search.h; here the
 * selected folder's messages are handed to it and the answer is sent.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imapd/search.h"
#include "imapd/session-int.h"
#include "util/log.h"

/* Larger messages are not searched (they would be read whole). */
#define SEARCH_READ_MAX (256u * 1024 * 1024)

/* A message of the view, as search.h's callbacks get it. */
struct one {
	struct view *v;
	struct view_msg *m;
};

/* RFC822.SIZE, as FETCH gives it; 0 when the file is gone. */
static uint64_t msg_size(void *arg)
{
	struct one *o = arg;
	uint64_t size;

	view_msg_crlf_size(o->v, o->m, &size);
	return size;
}

/* The whole file, as it is on disk (found again when another writer
 * renamed it); NULL when it is gone or too big. */
static char *msg_load(void *arg, size_t *len)
{
	struct one *o = arg;
	int fd = view_msg_open(o->v, o->m);
	struct buf b;
	char chunk[65536];
	ssize_t n = 0;

	if (fd < 0)
		return NULL;
	buf_init(&b, SEARCH_READ_MAX);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_append(&b, chunk, (size_t)n) < 0)
			break;
	close(fd);
	if (n != 0) {
		buf_free(&b);
		return NULL;
	}
	buf_putc(&b, '\0'); /* an empty file is still a message */
	b.len--;
	return buf_steal(&b, len);
}

/* RFC 6855 3 (erratum 4029): after ENABLE UTF8=ACCEPT strings are UTF-8,
 * and a CHARSET conflicts with that. */
static const char no_charset[] = "no CHARSET after ENABLE UTF8=ACCEPT: strings are UTF-8";

static void answer_parse_error(struct session *s, enum search_parsed r, const char *err)
{
	if (r == SEARCH_BADCHARSET && s->utf8)
		done(s, ST_BAD, "%s", no_charset);
	else if (r == SEARCH_BADCHARSET)
		done(s, ST_NO, "[BADCHARSET (UTF-8 US-ASCII)] %s", err);
	else
		done(s, ST_BAD, "%s", err);
}

static void do_search(struct session *s, const struct imapd_arg *args, size_t nargs, bool uid)
{
	struct search_query q;
	char err[160];
	uint32_t maxuid = s->view.n > 0 ? s->view.msgs[s->view.n - 1].uid : 0, *ids;
	uint64_t *modseqs;
	size_t n = 0;
	enum search_parsed r =
	    search_parse(args, nargs, (uint32_t)s->view.n, maxuid, &q, err, sizeof(err));

	if (r != SEARCH_OK) {
		answer_parse_error(s, r, err);
		return;
	}
	if (s->utf8 && q.charset) {
		search_query_free(&q);
		done(s, ST_BAD, "%s", no_charset);
		return;
	}
	if (q.modseq && modseq_refused(s) < 0) {
		search_query_free(&q);
		return;
	}
	if (q.modseq)
		condstore_on(s);
	ids = xcalloc(s->view.n ? s->view.n : 1, sizeof(*ids));
	modseqs = xcalloc(s->view.n ? s->view.n : 1, sizeof(*modseqs));
	for (size_t i = 0; i < s->view.n; i++) {
		struct view_msg *vm = &s->view.msgs[i];
		struct one one = {&s->view, vm};
		struct search_msg m;

		/* Its date (INTERNALDATE) when the folder's open did not stat it
		 * (a file gone meanwhile keeps what the view knew). */
		view_msg_stat(&s->view, vm);
		m = (struct search_msg){
		    .seq = (uint32_t)(i + 1),
		    .uid = vm->uid,
		    .flags = vm->flags,
		    .recent = vm->recent,
		    .internal = vm->internal,
		    .kw = &s->view.kw,
		    .modseq = vm->modseq,
		    .size = msg_size,
		    .load = msg_load,
		    .arg = &one,
		};

		if (search_match(q.key, &m)) {
			modseqs[n] = vm->modseq;
			ids[n++] = uid ? vm->uid : (uint32_t)(i + 1);
		}
	}
	search_answer_modseq(&s->out, &q, s->cmd->tag, uid, ids, q.modseq ? modseqs : NULL, n);
	free(ids);
	free(modseqs);
	search_query_free(&q);
	done(s, ST_OK, "%sSEARCH completed", uid ? "UID " : "");
}

void imap_cmd_search(struct session *s)
{
	do_search(s, s->cmd->args, s->cmd->nargs, false);
}

void imap_uid_search(struct session *s, const struct imapd_arg *args, size_t nargs)
{
	do_search(s, args, nargs, true);
}
