/*
 * Internals of the IMAP source, shared by source-imap.c (the session,
 * SELECT, FETCH, deletion) and source-imap-watch.c (STATUS, NOTIFY, IDLE:
 * what is asked without fetching). Nothing else includes this.
 */
#ifndef CORRAL_SOURCE_IMAP_INT_H
#define CORRAL_SOURCE_IMAP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "source/imap-parse.h"
#include "source/source-int.h"
#include "util/buf.h"

/* A mailbox name as the server spells it (modified UTF-7), with its NUL. */
#define NAME_MAX_WIRE 1024

/* One UID FETCH in flight: req[first .. first+count). */
struct fetch_cmd {
	unsigned tag;
	size_t first, count;
	uint64_t bytes;
	bool done;
};

/* The state of one fetch() call. */
struct fetch_run {
	const struct src_msg **req; /* ascending UID */
	bool *got;                  /* done() was called */
	size_t n;
	const struct src_sink *sink;
	struct fetch_cmd *cmds;
	size_t ncmds;
	size_t inflight_msgs;
	uint64_t inflight_bytes;
	bool stop; /* the sink asked to stop: drain, send nothing more */
};

enum body_mode { BODY_NONE, BODY_DISCARD, BODY_FILE, BODY_SPOOL };

struct source {
	struct net *net;
	struct src_params p;
	bool broken; /* an account-wide failure left the session out of step */
	unsigned caps;
	unsigned tag;
	bool read_only;
	bool logging_out;
	struct src_folder folder;
	char *folder_name;
	uint32_t first_uid;
	bool listing;         /* FETCH responses without a body add to folder.msgs */
	bool continued;       /* a "+" continuation came (IDLE) */
	unsigned exists_seen; /* EXISTS responses so far (IDLE: news) */
	size_t msgs_cap;
	/* status(): the folder asked about and what the server said. */
	const char *status_want;
	struct imap_status_data status_got;
	bool status_seen;
	/* watch(): the folders NOTIFY reports on (wire names) and their news. */
	char **watched;
	size_t nwatched;
	bool *changed;  /* during wait_news(): the caller's array */
	unsigned notes; /* reports about watched folders so far */
	bool overflow;  /* NOTIFICATIONOVERFLOW: the server stopped reporting */
	struct fetch_run *run;
	struct buf out;
	/* The body being received. */
	enum body_mode mode;
	const struct src_msg *cur;
	size_t cur_idx;
	int cur_fd;
	FILE *spool;
	struct src_body body;
};

struct tagged {
	unsigned tag; /* 0: not one of ours */
	enum imap_status status;
	char text[256];
};

/* Queues "c<tag> fmt_rest" in s->out; returns the tag. */
unsigned imap_next_tag(struct source *s, const char *fmt_rest);
/* Sends what is queued. */
int imap_flush(struct source *s, struct result *err);
/* Reads one response: 1 with *t for a tagged one, 0 otherwise, -1 on failure. */
int imap_read_response(struct source *s, struct tagged *t, struct result *err);
/* Reads responses until tag's tagged answer. */
int imap_wait_tag(struct source *s, unsigned tag, struct tagged *t, struct result *err);
/* Skips the literals at the end of a response line not read further. */
int imap_skip_literals(struct source *s, const char *line, size_t len, struct result *err);

/* Untagged "* STATUS" and "* LIST" (source-imap-watch.c). */
int imap_on_status(struct source *s, const struct imap_line *l, struct result *err);
int imap_on_list(struct source *s, const struct imap_line *l, struct result *err);

/* The driver's STATUS, NOTIFY and IDLE calls (source.h). */
int imap_status(struct source *s, const char *folder, struct src_status *out, struct result *err);
int imap_watch(struct source *s, const char *const *folders, size_t n, struct result *err);
int imap_wait_news(struct source *s, unsigned timeout_s, bool *news, bool *changed,
                   struct result *err);

#endif
