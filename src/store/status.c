#include "store/status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/journal.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"

static char *status_path(const char *state_dir, const char *account, const char *suffix)
{
	char *base;

	if (account == NULL)
		return xasprintf("%s/deliver%s", state_dir, suffix);
	base = journal_account_base(account);
	char *p = xasprintf("%s/accounts/%s%s", state_dir, base ? base : "_", suffix);

	free(base);
	return p;
}

void status_read(const char *state_dir, const char *account, struct account_status *st)
{
	char *path = status_path(state_dir, account, ".status");
	char line[1024];
	FILE *fp = fopen(path, "r");

	memset(st, 0, sizeof(*st));
	free(path);
	if (fp == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *eq = strchr(line, '='), *nl = strchr(line, '\n');

		if (eq == NULL)
			continue;
		*eq++ = '\0';
		if (nl != NULL)
			*nl = '\0';
		if (strcmp(line, "last_run") == 0)
			st->last_run = (time_t)strtoll(eq, NULL, 10);
		else if (strcmp(line, "last_success") == 0)
			st->last_success = (time_t)strtoll(eq, NULL, 10);
		else if (strcmp(line, "last_exit") == 0)
			st->last_exit = atoi(eq);
		else if (strcmp(line, "last_error") == 0)
			snprintf(st->last_error, sizeof(st->last_error), "%s", eq);
		else if (strcmp(line, "fetched_last") == 0)
			st->fetched_last = strtoull(eq, NULL, 10);
		else if (strcmp(line, "fetched_total") == 0)
			st->fetched_total = strtoull(eq, NULL, 10);
		else if (strcmp(line, "last_error_time") == 0)
			st->last_error_time = (time_t)strtoll(eq, NULL, 10);
		else if (strcmp(line, "state") == 0)
			snprintf(st->state, sizeof(st->state), "%s", eq);
		else if (strcmp(line, "next_run") == 0)
			st->next_run = (time_t)strtoll(eq, NULL, 10);
		else if (strcmp(line, "failures") == 0)
			st->failures = (unsigned)strtoul(eq, NULL, 10);
		else if (strcmp(line, "push") == 0)
			st->push = atoi(eq) != 0;
		else if (strcmp(line, "daemon_pid") == 0)
			st->daemon_pid = strtol(eq, NULL, 10);
	}
	fclose(fp);
}

/* One line each: a newline in a server's text must not start a new key. */
static void put_line(struct buf *b, const char *key, const char *text)
{
	buf_printf(b, "%s=", key);
	for (const char *c = text; *c; c++)
		buf_putc(b, *c == '\n' || *c == '\r' ? ' ' : *c);
	buf_putc(b, '\n');
}

int status_write(const char *state_dir, const char *account, const struct account_status *st)
{
	char *dir = account ? xasprintf("%s/accounts", state_dir) : xstrdup(state_dir);
	char *path = status_path(state_dir, account, ".status");
	struct buf b;
	int rc = -1;

	buf_init(&b, 8192);
	buf_printf(&b, "last_run=%lld\nlast_success=%lld\nlast_exit=%d\n", (long long)st->last_run,
	           (long long)st->last_success, st->last_exit);
	put_line(&b, "last_error", st->last_error);
	buf_printf(&b, "last_error_time=%lld\nfetched_last=%llu\nfetched_total=%llu\n",
	           (long long)st->last_error_time, (unsigned long long)st->fetched_last,
	           (unsigned long long)st->fetched_total);
	if (st->state[0] != '\0') {
		put_line(&b, "state", st->state);
		buf_printf(&b, "next_run=%lld\nfailures=%u\npush=%d\ndaemon_pid=%ld\n",
		           (long long)st->next_run, st->failures, st->push ? 1 : 0, st->daemon_pid);
	}
	/* Not fsynced: the daemon rewrites it at every change; it is a report, not state. */
	if (fs_mkdir_p(dir, 0700) == 0)
		rc = fs_replace_file(path, b.data, b.len, false);
	buf_free(&b);
	free(dir);
	free(path);
	return rc;
}

void status_fold(struct account_status *st, time_t when, int exit_status, const char *error,
                 uint64_t delivered)
{
	st->last_run = when;
	st->last_exit = exit_status;
	if (exit_status == 0) {
		st->last_success = when;
	} else {
		snprintf(st->last_error, sizeof(st->last_error), "%s",
		         error != NULL && error[0] ? error : "failed");
		st->last_error_time = when;
	}
	st->fetched_last = delivered;
	st->fetched_total += delivered;
}

int status_record(const char *state_dir, const char *account, time_t when, int exit_status,
                  const char *error, uint64_t delivered)
{
	struct account_status st;

	status_read(state_dir, account, &st);
	/* Not written by a daemon: no daemon state to keep. */
	st.state[0] = '\0';
	status_fold(&st, when, exit_status, error, delivered);
	return status_write(state_dir, account, &st);
}
