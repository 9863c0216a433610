/*
 * Carrying out a rules outcome: the one place that turns what the rules
 * asked for into deliveries, shared by `fetch` and `deliver`.
 *
 * actions_plan() says what to do: Maildir folders (with flags), forwards
 * through the smtp relay (an account with `deliver: smtp` hands what it
 * would file to smtp.to instead), and pipes. actions_forward() and
 * actions_pipe() do the last two; the relay is connected on first use and
 * kept for the run.
 *
 * Memory: a plan points into the outcome and the config, which must
 * outlive it; struct actions is freed by actions_close().
 */
#ifndef CORRAL_ACTIONS_H
#define CORRAL_ACTIONS_H

#include <stddef.h>

#include "deliver-smtp.h"

struct account;
struct config;
struct msg;
struct rules_outcome;

#define ACTIONS_MAX 64

/* The folder a message goes to when its relay refuses it for good. */
#define ACTIONS_FAILED_FOLDER "corral-failed"

struct action_plan {
	const char *folders[ACTIONS_MAX]; /* Maildir folders, user form */
	unsigned flags[ACTIONS_MAX];      /* MD_FLAG_* for each folder */
	size_t nfolders;
	const char *forwards[ACTIONS_MAX]; /* recipient addresses */
	size_t nforwards;
	char *const *pipes[ACTIONS_MAX]; /* argv of each pipe command */
	size_t npipes;
};

/* What o asks for, for account a (NULL in `deliver` without -a). Nothing
 * planned at all means the message is discarded. */
void actions_plan(const struct rules_outcome *o, const struct config *cfg, const struct account *a,
                  struct action_plan *p);
size_t actions_count(const struct action_plan *p);

/* A run's relay connection and context. */
struct actions {
	const struct config *cfg;
	struct smtp *smtp; /* opened on the first forward */
};

void actions_init(struct actions *a, const struct config *cfg);
void actions_close(struct actions *a);

/*
 * Forwards one message (file fd, or data, len bytes) to rcpts, with a
 * Received: line naming account and server (the fetch source, or NULL for
 * `deliver`) and the envelope sender from return_path (the message's
 * Return-Path value, or NULL). results gets one outcome per recipient;
 * returns the overall status (smtp_send()). Without an smtp relay in the
 * config every recipient fails for good.
 */
int actions_forward(struct actions *a, const char *account, const char *server,
                    const char *return_path, int fd, const void *data, size_t len,
                    const char *const *rcpts, size_t n, struct smtp_result *results);

/* Runs one pipe command with the message on stdin: 0 when it exited 0,
 * -1 (temporary) otherwise, with err set. */
int actions_pipe(char *const *argv, int fd, const void *data, size_t len, char *err, size_t errlen);

#endif
