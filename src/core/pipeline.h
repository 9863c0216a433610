/*
 * The one per-message pipeline: bytes -> message -> rules -> plan ->
 * deliveries -> commit. `fetch`, `deliver` and `refile` all go through it
 * (and so will the daemon and the IMAP server's APPEND):
 *
 *   pipeline_read()     parses the message, takes its Message-ID and
 *                       Return-Path, asks the dedupe store
 *   pipeline_decide()   runs the rules and plans: Maildir folders with
 *                       flags, forwards, pipes (`deliver: smtp` turns the
 *                       folders into one forward to smtp.to)
 *   pipeline_actions()  runs a plan's forwards (one SMTP transaction) and
 *                       pipes; each action gets its outcome
 *   pipeline_file()     schedules the Maildir copies of a file in the batch
 *   pipeline_commit()   makes the batch durable (file data, links,
 *                       directories), then records its Message-IDs for dedupe
 *
 * What each caller adds: fetch journals the plan as an intent before the
 * commit and each action's outcome, so that a crash or a 4xx repeats
 * nothing; deliver runs the forwards and pipes before any delivery and,
 * when one fails temporarily after another completed, files a copy into
 * corral-failed instead of having the MTA retry (its one documented
 * difference: a retry would repeat what completed); refile moves existing
 * files under their names and never re-runs forwards or pipes.
 *
 * Memory: struct pipeline is the caller's and freed by pipeline_close();
 * a plan's folder names point into the rules outcome (or the journal) and
 * its action names are owned by the plan.
 */
#ifndef CORRAL_CORE_PIPELINE_H
#define CORRAL_CORE_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mail/message.h"
#include "rules/rules.h"
#include "store/journal.h"
#include "util/result.h"

struct account;
struct config;
struct dedupe;
struct maildir;
struct md_batch;
struct smtp;

/* The folder a message goes to when a forward or pipe refuses it for good. */
#define PIPELINE_FAILED_FOLDER "corral-failed"
/* Targets of one message: folders, forwards and pipes together. */
#define PIPELINE_TARGETS_MAX JOURNAL_TARGETS_MAX

struct pipeline_params {
	const struct config *cfg;
	struct rules *rules;
	bool dedupe;       /* use the dedupe store when the config sets `dedupe:` */
	const char *fault; /* crash tests: "mid-link" crashes in the middle of a commit */
	bool clean_tmp;    /* first remove what earlier runs left in tmp/ (maildir_clean_tmp) */
	/* --dry-run: no Maildir is opened or made (md and b stay NULL), the
	 * dedupe store is only read; read and decide work, nothing else may be
	 * called. */
	bool dry_run;
};

/* One run's pipeline. Fields are read-only for callers. */
struct pipeline {
	const struct config *cfg;
	struct rules *rules;
	struct maildir *md;
	struct md_batch *b; /* the batch being filled */
	struct dedupe *dd;  /* NULL without dedupe */
	struct smtp *smtp;  /* the relay, connected on the first forward */
};

/* A forward or a pipe of one message. */
struct pipeline_action {
	enum journal_action kind; /* JOURNAL_FORWARD or JOURNAL_PIPE */
	char *name;               /* the address, or the command line (argv_join); owned */
	/* After pipeline_actions(): RES_OK, RES_TEMP, RES_PERM, or RES_CONFIG for
	 * a forward when no relay is configured: a local mistake, after which
	 * the message is kept as if the forward were not there (INBOX when
	 * nothing else files it), never in corral-failed. */
	enum res_kind outcome;
	char why[256]; /* what the relay or the command said when not RES_OK */
};

/* What one message gets. */
struct pipeline_plan {
	const char *folders[PIPELINE_TARGETS_MAX]; /* user form: "Lists/x", "INBOX" */
	unsigned flags[PIPELINE_TARGETS_MAX];      /* MAIL_FLAG_* for each folder */
	size_t nfolders;
	struct pipeline_action *acts; /* grown as needed: most messages have none */
	size_t nacts, capacts;
};

/* One message on its way through. */
struct pipeline_msg {
	struct msg m; /* parsed over the caller's bytes, which must stay valid */
	size_t size;
	/* What dedupe knows the message by: its Message-ID, or for a message
	 * without one "<digest.HASH.SIZE@corral>" over its header block and size
	 * (so a refetch after a UIDVALIDITY change skips it too). */
	char *msgid;
	char *return_path; /* for the envelope of forwards; NULL when missing */
	bool duplicate;    /* its Message-ID was delivered within the dedupe window */
	struct rules_outcome o;
	bool decided; /* o and plan are filled */
	struct pipeline_plan plan;
};

/* Opens the Maildir (creating it) and the dedupe store; fills err on failure. */
enum res_kind pipeline_open(struct pipeline *pl, const struct pipeline_params *p, char *err,
                            size_t errlen);
/* Aborts what was not committed, says QUIT to the relay, frees. */
void pipeline_close(struct pipeline *pl);

/* Parses data (size bytes) and checks dedupe. */
void pipeline_read(struct pipeline *pl, const char *data, size_t size, struct pipeline_msg *pm);
/* Runs the rules for the account named name (the rules' `account:`; NULL for
 * `deliver` without -a) and plans with its settings a (NULL when it has none). */
void pipeline_decide(struct pipeline *pl, const char *name, const struct account *a,
                     struct pipeline_msg *pm, struct rules_trace *trace);
void pipeline_msg_free(struct pipeline_msg *pm);

/* Adds a forward or pipe to a plan (name is taken over). */
void pipeline_plan_act(struct pipeline_plan *plan, enum journal_action kind, char *name);
void pipeline_plan_free(struct pipeline_plan *plan);
/* Nothing planned: the message is discarded. */
bool pipeline_plan_empty(const struct pipeline_plan *plan);

/* The message the actions send: a file (fd from offset 0) or bytes in memory (fd < 0). */
struct pipeline_source {
	const char *account;     /* for the Received: line and the logs; NULL for `deliver` */
	const char *server;      /* the host it came from; NULL for `deliver` */
	const char *return_path; /* the envelope sender's source */
	int fd;
	const void *data;
	size_t size;
};

/* Runs acts[0..n): the forwards in one SMTP transaction, then each pipe.
 * Each gets its outcome. */
void pipeline_actions(struct pipeline *pl, const struct pipeline_source *src,
                      struct pipeline_action **acts, size_t n);

/*
 * Schedules the Maildir copies planned for the file tmp (size bytes, vsize
 * with CRLF line ends as counted by md_vsize, in the Maildir's tmp/): one
 * link per folder. names[] gets each copy's final file
 * name (free them) for the caller's journal. Returns RES_OK, or a failure
 * with err set after which the caller aborts the batch.
 */
enum res_kind pipeline_file(struct pipeline *pl, const char *tmp, size_t size, size_t vsize,
                            const char *const *folders, const unsigned *flags, size_t n,
                            char **names, char *err, size_t errlen);

/* Makes the batch durable and visible, then records msgids[0..n) (NULLs
 * skipped) in the dedupe store. On failure nothing of the batch is visible. */
enum res_kind pipeline_commit(struct pipeline *pl, char *const *msgids, size_t n, char *err,
                              size_t errlen);

#endif
