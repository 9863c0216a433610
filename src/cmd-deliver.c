/*
 * corral deliver [-a ACCOUNT]: MDA mode. One message on stdin is spooled
 * straight into the Maildir's tmp/, sorted, and made durable; exit 0 only
 * once it is on disk. 75 on a temporary failure (the sender retries: the
 * message is not lost), 65 when the input is not a message.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "deliver-maildir.h"
#include "util/log.h"

/* Copies stdin into fd; returns the byte count, or -1 with errno set. */
static ssize_t spool_stdin(int fd)
{
	char buf[1 << 16];
	size_t total = 0;

	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

		if (n == 0)
			return (ssize_t)total;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));

			if (w < 0) {
				if (errno == EINTR)
					continue;
				return -1;
			}
			off += w;
		}
		total += (size_t)n;
	}
}

static int parse_args(int argc, char **argv, const char **account)
{
	static const struct option longopts[] = {{"account", required_argument, NULL, 'a'},
	                                         {NULL, 0, NULL, 0}};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "a:", longopts, NULL)) != -1) {
		if (c != 'a') {
			fprintf(stderr, "usage: corral deliver [-a ACCOUNT] < MESSAGE\n");
			return -1;
		}
		*account = optarg;
	}
	if (optind != argc) {
		fprintf(stderr, "corral deliver: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

static int result_to_exit(int r)
{
	/* A Maildir that cannot be written is not the message's fault: the MTA keeps it. */
	return r == MD_OK ? 0 : EX_TEMPFAIL;
}

int cmd_deliver(struct cli *cli, int argc, char **argv)
{
	const char *account = NULL;
	struct config *cfg;
	struct maildir *md = NULL;
	struct md_batch *b = NULL;
	char err[512], *tmp = NULL, *name = NULL;
	int fd = -1, rc = EX_TEMPFAIL, r;
	ssize_t size;

	if (parse_args(argc, argv, &account) < 0)
		return EX_USAGE;
	if ((cfg = cli_load_config(cli)) == NULL)
		return EX_CONFIG;
	(void)account;
	md = maildir_open(cfg->maildir, err, sizeof(err));
	if (md == NULL) {
		log_err("%s", err);
		goto out;
	}
	b = md_batch_new(md);
	if ((r = md_tmp_create(b, &tmp, &fd, err, sizeof(err))) != MD_OK) {
		log_err("%s", err);
		rc = result_to_exit(r);
		goto out;
	}
	size = spool_stdin(fd);
	if (size < 0) {
		log_err("cannot spool the message into %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (size == 0) {
		log_err("the input is empty: no message to deliver");
		rc = EX_DATAERR;
		goto out;
	}
	r = md_batch_add_file(b, "INBOX", tmp, (size_t)size, 0, &name, err, sizeof(err));
	if (r == MD_OK)
		r = md_batch_commit(b, err, sizeof(err));
	if (r != MD_OK)
		log_err("%s", err);
	else
		log_info("delivered %zd bytes to INBOX as %s", size, name);
	rc = result_to_exit(r);
out:
	if (fd >= 0)
		close(fd);
	if (b != NULL)
		md_batch_free(b);
	if (tmp != NULL)
		unlink(tmp); /* gone after a commit; removes the spool on every error path */
	free(tmp);
	free(name);
	maildir_close(md);
	config_free(cfg);
	return rc;
}
