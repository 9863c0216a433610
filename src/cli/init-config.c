/*
 * `corral init`'s proofs before it writes: a load of the config text from
 * memory and a login with the fetch's own source driver.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/init-config.h"
#include "config/config.h"
#include "source/source.h"
#include "util/result.h"

struct config *init_load_text(const char *text, struct diag *d)
{
	int fd = memfd_create("corral-init", MFD_CLOEXEC);
	size_t len = strlen(text);
	char path[64];
	struct config *c;

	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fchmod(fd, 0600) < 0) {
		diag_add(d, "corral init", 0, 0, "cannot hold the config in memory: %s",
		         strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	c = config_load(path, d);
	close(fd);
	return c;
}

int init_try_login(const struct account *a, char *err, size_t errlen)
{
	const struct source_driver *drv = source_driver_for(a->protocol);
	/* dry_run: EXAMINE, never a change on the server. */
	struct src_params p = {.acct = a, .dry_run = true};
	struct result r;
	struct source *s;

	res_clear(&r);
	if ((s = drv->open(&p, &r)) == NULL) {
		snprintf(err, errlen, "%s%s%s%s", r.text, r.server[0] ? " (the server said: " : "",
		         r.server, r.server[0] ? ")" : "");
		return res_exit_code(r.kind);
	}
	res_clear(&r);
	drv->close(s, &r);
	return 0;
}
