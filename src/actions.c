#include "actions.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "deliver-pipe.h"
#include "rules.h"
#include "util/log.h"

void actions_plan(const struct rules_outcome *o, const struct config *cfg, const struct account *a,
                  struct action_plan *p)
{
	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < o->ndeliveries && p->nfolders < ACTIONS_MAX; i++) {
		p->folders[p->nfolders] = o->deliveries[i].folder;
		p->flags[p->nfolders++] = o->deliveries[i].flags;
	}
	for (size_t i = 0; i < o->nforwards && p->nforwards < ACTIONS_MAX; i++)
		p->forwards[p->nforwards++] = o->forwards[i].addr;
	for (size_t i = 0; i < o->npipes && p->npipes < ACTIONS_MAX; i++)
		p->pipes[p->npipes++] = o->pipes[i].argv;
	/* fetchmail style: what would be filed goes to the relay, once. */
	if (a != NULL && a->deliver == DELIVER_SMTP && p->nfolders > 0 && cfg->smtp.to != NULL &&
	    p->nforwards < ACTIONS_MAX) {
		p->nfolders = 0;
		p->forwards[p->nforwards++] = cfg->smtp.to;
	}
}

size_t actions_count(const struct action_plan *p)
{
	return p->nfolders + p->nforwards + p->npipes;
}

void actions_init(struct actions *a, const struct config *cfg)
{
	a->cfg = cfg;
	a->smtp = NULL;
}

void actions_close(struct actions *a)
{
	smtp_close(a->smtp);
	a->smtp = NULL;
}

static int fail_all(struct smtp_result *res, size_t n, const char *why)
{
	for (size_t i = 0; i < n; i++) {
		res[i].status = SMTP_PERMFAIL;
		res[i].code = 0;
		snprintf(res[i].text, sizeof(res[i].text), "%.*s", (int)sizeof(res[i].text) - 1,
		         why);
	}
	return SMTP_PERMFAIL;
}

int actions_forward(struct actions *a, const char *account, const char *server,
                    const char *return_path, int fd, const void *data, size_t len,
                    const char *const *rcpts, size_t n, struct smtp_result *results)
{
	struct smtp_msg m = {.fd = fd, .data = data, .len = len};
	char err[512];
	char *from, *received;
	int rc;

	if (!a->cfg->smtp.present)
		return fail_all(results, n, "no smtp relay is configured (smtp: in the config)");
	if (a->smtp == NULL && (a->smtp = smtp_open(&a->cfg->smtp, err, sizeof(err))) == NULL)
		return fail_all(results, n, err);
	from = smtp_envelope_from(return_path, return_path ? strlen(return_path) : 0);
	received = smtp_received_line(account ? account : "deliver", server ? server : "localhost",
	                              n == 1 ? rcpts[0] : NULL, time(NULL));
	m.from = from;
	m.received = received;
	rc = smtp_send(a->smtp, &m, rcpts, n, results, err, sizeof(err));
	if (rc != SMTP_OK)
		log_warn("%s: forward through %s: %s", account ? account : "deliver",
		         smtp_peer(a->smtp), err);
	free(from);
	free(received);
	return rc;
}

int actions_pipe(char *const *argv, int fd, const void *data, size_t len, char *err, size_t errlen)
{
	return pipe_deliver((const char *const *)argv, fd, data, len, 0, err, errlen) == PIPE_OK
	           ? 0
	           : -1;
}
