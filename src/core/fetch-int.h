/*
 * Internals of one account's fetch, shared by fetch.c (the pipeline) and
 * fetch-actions.c (forwards and pipes). Nothing else includes this.
 */
#ifndef CORRAL_FETCH_INT_H
#define CORRAL_FETCH_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/fetch.h"
#include "core/pipeline.h"
#include "store/journal.h"
#include "source/source.h"

/* A forward or pipe of one message, and where it stands in the journal's intent. */
struct act {
	struct pipeline_action a;
	size_t idx;        /* its index among the intent's targets */
	unsigned attempts; /* temporary failures so far */
};

/* One message of the batch being fetched. */
struct item {
	const struct src_msg *m;
	char id[JOURNAL_ID_MAX + 1];
	char *tmp; /* tmp file path (owned); NULL when there is none */
	size_t size;
	size_t vsize;      /* size with CRLF line ends (the ",W=" of its names) */
	char *msgid;       /* for the dedupe store, after the commit */
	char *return_path; /* for the envelope of forwards */
	struct act *acts;  /* forwards and pipes to run before the commit */
	size_t nacts;
	bool planned;    /* an intent is buffered: deliveries are in the Maildir batch */
	bool filed;      /* the plan has a Maildir copy (besides forwards and pipes) */
	bool skipped;    /* seen without delivery (duplicate, discard) */
	bool incomplete; /* a forward or pipe failed temporarily: not done, kept on the server */
};

struct run {
	const struct fetch_params *p;
	const struct account *acct;
	struct fetch_stats *st;
	struct pipeline pl; /* rules, Maildir batch, dedupe, relay */
	struct journal *j;
	struct journal_folder *jf;
	const char *folder; /* the server folder being fetched */
	const struct source_driver *drv;
	struct source *src;
	bool uv_changed;    /* refetch after a UIDVALIDITY change: dedupe by Message-ID */
	bool salvage;       /* committing what arrived before the source failed */
	bool folder_failed; /* fetch_fail() was called during this folder */
	struct journal_pending *partial; /* intents with some targets missing (recovery) */
	size_t npartial;
	struct item *items;
	size_t nitems, capitems;
	char *rbuf; /* the message being sorted (message_bytes) */
	size_t rbuf_cap;
	enum res_kind kind; /* the account's outcome so far */
	char err[512];
};

/* Records the account's failure (the first text wins) and returns -1. */
int fetch_fail(struct run *r, enum res_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Runs the batch's forwards and pipes, recording each outcome in the
 * journal; a permanent failure adds a corral-failed copy to the Maildir
 * batch. Call it after the intents are durable, before the Maildir commit. */
int fetch_run_actions(struct run *r);

#endif
