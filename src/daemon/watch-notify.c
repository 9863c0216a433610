#include "daemon/watch-notify.h"

#include <stdlib.h>

#include "config/config.h"
#include "daemon/idle.h"
#include "source/source.h"
#include "util/log.h"

void watch_notify(const struct account *acct, unsigned check_s, int fd, const net_stop_flag *stop)
{
	const struct source_driver *drv = source_driver_for(acct->protocol);
	struct src_params p = {.acct = acct, .dry_run = true, .stop = stop};
	size_t n = acct->folders.n;
	bool *changed = xcalloc(n, sizeof(*changed));
	struct result err = {0};
	struct source *s;

	if (drv->watch == NULL || drv->wait_news == NULL) {
		res_fail(&err, RES_SCOPE_ACCOUNT, RES_CONFIG, NULL, "%s cannot push", drv->name);
		idle_fail(fd, acct, "NOTIFY", &err, stop);
	}
	if ((s = drv->open(&p, &err)) == NULL)
		idle_fail(fd, acct, "NOTIFY", &err, stop);
	if (drv->watch(s, (const char *const *)acct->folders.v, n, &err) < 0)
		idle_fail(fd, acct, "NOTIFY", &err, stop);
	idle_tell(fd, 'r', 0, -1, NULL);
	for (;;) {
		bool news;

		if (drv->wait_news(s, check_s, &news, changed, &err) < 0)
			idle_fail(fd, acct, "NOTIFY", &err, stop);
		for (size_t i = 0; i < n; i++)
			if (changed[i]) {
				changed[i] = false;
				idle_tell(fd, 'n', 0, (int)i, NULL);
			}
	}
}
