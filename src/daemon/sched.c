#include "daemon/sched.h"

#include <strings.h>

#include "config/config.h"

bool sched_same_server(const struct account *a, const struct account *b)
{
	return strcasecmp(a->host, b->host) == 0;
}

static bool refused(enum res_kind kind)
{
	return kind == RES_AUTH || kind == RES_CONFIG || kind == RES_PERM;
}

uint64_t sched_next_delay(enum res_kind kind, unsigned failures, uint64_t poll_s, double rnd)
{
	uint64_t base =
	    poll_s > 0 && poll_s < SCHED_BACKOFF_FIRST_S ? poll_s : SCHED_BACKOFF_FIRST_S;
	uint64_t d;

	if (kind == RES_OK) {
		if (poll_s == 0)
			poll_s = 1;
		return poll_s - (uint64_t)((double)poll_s * 0.1 * rnd);
	}
	if (refused(kind))
		d = SCHED_REFUSED_S;
	else if (failures > 16)
		d = SCHED_BACKOFF_MAX_S;
	else
		d = base << (failures > 0 ? failures - 1 : 0);
	if (d > SCHED_BACKOFF_MAX_S && !refused(kind))
		d = SCHED_BACKOFF_MAX_S;
	return d + (uint64_t)((double)d * 0.2 * rnd);
}

const char *sched_state_after(enum res_kind kind)
{
	if (kind == RES_OK)
		return "idle";
	return refused(kind) ? "refused" : "backing off";
}
