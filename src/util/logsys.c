#include "util/logsys.h"

#include <syslog.h>

void logsys_open(void)
{
	openlog("corral", LOG_PID, LOG_MAIL);
}

void logsys_line(int priority, const char *line)
{
	syslog(priority, "%s", line);
}
