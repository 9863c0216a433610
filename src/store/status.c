#include "store/status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/journal.h"
#include "util/fs.h"
#include "util/log.h"

static char *status_path(const char *state_dir, const char *account, const char *suffix)
{
	char *base = journal_account_base(account);
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
	}
	fclose(fp);
}

int status_record(const char *state_dir, const char *account, time_t when, int exit_status,
                  const char *error, uint64_t delivered)
{
	struct account_status st;
	char *dir = xasprintf("%s/accounts", state_dir);
	char *path = status_path(state_dir, account, ".status");
	char *tmp = status_path(state_dir, account, ".status.tmp");
	FILE *fp;
	int rc = -1;

	status_read(state_dir, account, &st);
	if (fs_mkdir_p(dir, 0700) < 0 || (fp = fopen(tmp, "w")) == NULL)
		goto out;
	if (exit_status == 0)
		st.last_success = when;
	/* One line each: a newline in a server's text must not start a new key. */
	fprintf(fp, "last_run=%lld\nlast_success=%lld\nlast_exit=%d\nlast_error=", (long long)when,
	        (long long)st.last_success, exit_status);
	for (const char *c = error ? error : ""; *c; c++)
		fputc(*c == '\n' || *c == '\r' ? ' ' : *c, fp);
	fprintf(fp, "\nfetched_last=%llu\nfetched_total=%llu\n", (unsigned long long)delivered,
	        (unsigned long long)(st.fetched_total + delivered));
	if (fclose(fp) == 0 && rename(tmp, path) == 0)
		rc = 0;
out:
	if (rc < 0)
		unlink(tmp);
	free(dir);
	free(path);
	free(tmp);
	return rc;
}
