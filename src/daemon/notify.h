/*
 * systemd's notification protocol (sd_notify(3)), written directly: one
 * datagram per message to the AF_UNIX socket named by $NOTIFY_SOCKET (a
 * path, or "@name" for the abstract namespace). Without the variable every
 * call does nothing. READY=1, STATUS=..., WATCHDOG=1, RELOADING=1,
 * STOPPING=1.
 */
#ifndef CORRAL_DAEMON_NOTIFY_H
#define CORRAL_DAEMON_NOTIFY_H

#include <stdint.h>

/* Sends msg ("READY=1\nSTATUS=..."); 0, or -1 (logged once at debug). */
int notify_send(const char *msg);

/* The watchdog interval systemd asks for ($WATCHDOG_USEC, for this pid),
 * in milliseconds; 0 when none. */
uint64_t notify_watchdog_ms(void);

#endif
