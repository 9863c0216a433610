#include "daemon/idle.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "source/source.h"
#include "util/log.h"

void idle_tell(int fd, char kind, int exit_code, int folder, const char *text)
{
	struct idle_msg m = {.kind = kind, .exit = exit_code, .folder = folder};

	snprintf(m.text, sizeof(m.text), "%s", text != NULL ? text : "");
	if (write(fd, &m, sizeof(m)) < 0 && errno != EPIPE)
		log_debug("idle report: %s", strerror(errno));
}

void idle_fail(int fd, const struct account *acct, const char *folder, const struct result *err,
               const net_stop_flag *stop)
{
	char text[300];
	int code = (stop != NULL && *stop) ? 0 : res_exit_code(err->kind);

	if (err->server[0] != '\0')
		snprintf(text, sizeof(text), "%.150s (server said: %.120s)", err->text,
		         err->server);
	else
		snprintf(text, sizeof(text), "%s", err->text);
	if (code != 0)
		idle_tell(fd, 'e', code, -1, text);
	log_debug("%s: %s: push ends: %s", acct->name, folder, text);
	_exit(code);
}

void idle_watch(const struct account *acct, const char *folder, unsigned check_s, int fd,
                const net_stop_flag *stop)
{
	const struct source_driver *drv = source_driver_for(acct->protocol);
	/* dry_run: EXAMINE; the watcher changes nothing on the server. */
	struct src_params p = {.acct = acct, .dry_run = true, .stop = stop};
	struct src_folder f;
	struct result err = {0};
	struct source *s;

	if (drv->wait_news == NULL) {
		res_fail(&err, RES_SCOPE_ACCOUNT, RES_CONFIG, NULL, "%s cannot push", drv->name);
		idle_fail(fd, acct, folder, &err, stop);
	}
	if ((s = drv->open(&p, &err)) == NULL)
		idle_fail(fd, acct, folder, &err, stop);
	/* Lists nothing but the newest message: news is what the fetch is for. */
	if (drv->select(s, folder, UINT32_MAX, &f, &err) < 0)
		idle_fail(fd, acct, folder, &err, stop);
	idle_tell(fd, 'r', 0, -1, NULL);
	for (;;) {
		bool news;

		if (drv->wait_news(s, check_s, &news, NULL, &err) < 0)
			idle_fail(fd, acct, folder, &err, stop);
		if (news)
			idle_tell(fd, 'n', 0, -1, NULL);
	}
}
