/*
 * The syslog(3) side of util/log.c, apart because <syslog.h> defines
 * LOG_ERR, LOG_INFO and LOG_DEBUG as macros that clash with log.h's levels.
 */
#ifndef CORRAL_LOGSYS_H
#define CORRAL_LOGSYS_H

/* openlog("corral", LOG_PID, LOG_MAIL) */
void logsys_open(void);
/* One line at a syslog priority (3 err ... 7 debug). */
void logsys_line(int priority, const char *line);

#endif
