/*
 * Unit tests for the daemon's pure parts: the schedule after a run (poll
 * interval with jitter, exponential backoff with its cap, the long wait
 * after a refused login), the connection cap's notion of a server,
 * sd_notify datagrams to a socket standing in for systemd, and the status
 * file's round trip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "config/config.h"
#include "daemon/notify.h"
#include "daemon/sched.h"
#include "store/status.h"

static void poll_interval_with_jitter(void **state)
{
	(void)state;
	assert_int_equal(sched_next_delay(RES_OK, 0, 300, 0.0), 300);
	/* at most 10% earlier */
	assert_int_equal(sched_next_delay(RES_OK, 0, 300, 0.999), 271);
	assert_int_equal(sched_next_delay(RES_OK, 0, 0, 0.0), 1);
}

static void backoff_doubles_up_to_its_cap(void **state)
{
	(void)state;
	assert_int_equal(sched_next_delay(RES_TEMP, 1, 300, 0.0), 30);
	assert_int_equal(sched_next_delay(RES_UNREACHABLE, 2, 300, 0.0), 60);
	assert_int_equal(sched_next_delay(RES_BUSY, 3, 300, 0.0), 120);
	assert_int_equal(sched_next_delay(RES_TEMP, 7, 300, 0.0), SCHED_BACKOFF_MAX_S);
	assert_int_equal(sched_next_delay(RES_TEMP, 1000, 300, 0.0), SCHED_BACKOFF_MAX_S);
	/* up to 20% later */
	assert_int_equal(sched_next_delay(RES_TEMP, 1, 300, 0.5), 33);
	/* a short poll interval starts a short backoff */
	assert_int_equal(sched_next_delay(RES_TEMP, 1, 3, 0.0), 3);
	assert_int_equal(sched_next_delay(RES_TEMP, 3, 3, 0.0), 12);
}

static void refused_waits_long(void **state)
{
	(void)state;
	assert_int_equal(sched_next_delay(RES_AUTH, 1, 300, 0.0), SCHED_REFUSED_S);
	assert_int_equal(sched_next_delay(RES_CONFIG, 5, 60, 0.0), SCHED_REFUSED_S);
	assert_string_equal(sched_state_after(RES_AUTH), "refused");
	assert_string_equal(sched_state_after(RES_TEMP), "backing off");
	assert_string_equal(sched_state_after(RES_UNREACHABLE), "backing off");
	assert_string_equal(sched_state_after(RES_OK), "idle");
}

static void servers_by_host(void **state)
{
	struct account a = {.host = (char *)"IMAP.example.org", .port = 993};
	struct account b = {.host = (char *)"imap.example.org", .port = 995};
	struct account c = {.host = (char *)"imap.example.net", .port = 993};

	(void)state;
	assert_true(sched_same_server(&a, &b));
	assert_false(sched_same_server(&a, &c));
}

static void notify_reaches_the_socket(void **state)
{
	char dir[] = "/tmp/corral-notify-XXXXXX", path[64], got[256];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;
	ssize_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(notify_send("READY=1\nSTATUS=2 accounts"), 0);
	n = recv(fd, got, sizeof(got) - 1, 0);
	assert_true(n > 0);
	got[n] = '\0';
	assert_string_equal(got, "READY=1\nSTATUS=2 accounts");
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(notify_send("READY=1"), 0); /* no systemd: nothing to do */
	setenv("WATCHDOG_USEC", "30000000", 1);
	assert_int_equal(notify_watchdog_ms(), 30000);
	setenv("WATCHDOG_PID", "1", 1);
	assert_int_equal(notify_watchdog_ms(), 0); /* meant for another process */
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	close(fd);
	unlink(path);
	rmdir(dir);
}

static void status_round_trip(void **state)
{
	char dir[] = "/tmp/corral-status-XXXXXX", cmd[128];
	struct account_status st = {0}, back;

	(void)state;
	assert_non_null(mkdtemp(dir));
	status_fold(&st, 1000, 75, "imaps://h:993: cannot connect\nsecond line", 0);
	status_fold(&st, 2000, 0, "", 7);
	snprintf(st.state, sizeof(st.state), "backing off");
	st.next_run = 2030;
	st.failures = 2;
	st.push = true;
	st.daemon_pid = 4242;
	assert_int_equal(status_write(dir, "work", &st), 0);
	status_read(dir, "work", &back);
	assert_int_equal(back.last_run, 2000);
	assert_int_equal(back.last_success, 2000);
	assert_int_equal(back.last_exit, 0);
	/* the error and its time stay after the recovery; one line */
	assert_string_equal(back.last_error, "imaps://h:993: cannot connect second line");
	assert_int_equal(back.last_error_time, 1000);
	assert_int_equal(back.fetched_last, 7);
	assert_int_equal(back.fetched_total, 7);
	assert_string_equal(back.state, "backing off");
	assert_int_equal(back.next_run, 2030);
	assert_int_equal(back.failures, 2);
	assert_true(back.push);
	assert_int_equal(back.daemon_pid, 4242);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(poll_interval_with_jitter),
	    cmocka_unit_test(backoff_doubles_up_to_its_cap),
	    cmocka_unit_test(refused_waits_long),
	    cmocka_unit_test(servers_by_host),
	    cmocka_unit_test(notify_reaches_the_socket),
	    cmocka_unit_test(status_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
