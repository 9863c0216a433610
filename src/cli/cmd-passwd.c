/*
 * corral passwd: reads a password (twice, without echo, on a terminal; one
 * line from standard input otherwise) and prints a SHA-512 crypt(3) hash
 * for the IMAP server's `users:` in the config.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/help.h"
#include "util/passwd.h"
#include "util/log.h"

#define PASSWD_MAX 1024

/* One line from fd into buf (without the newline); -1 at end of input. */
static int read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;
	char c;

	for (;;) {
		ssize_t r = read(fd, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return n > 0 ? 0 : -1;
		if (c == '\n')
			break;
		if (n + 1 < size)
			buf[n++] = c;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return 0;
}

int cli_read_secret(const char *what, char *buf, size_t size)
{
	struct termios old, quiet;
	int rc;

	fprintf(stderr, "%s", what);
	fflush(stderr);
	tcgetattr(STDIN_FILENO, &old);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	rc = read_line(STDIN_FILENO, buf, size);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fputc('\n', stderr);
	return rc;
}

static int read_password(char *pw, size_t size)
{
	char again[PASSWD_MAX];
	int rc = 0;

	if (!isatty(STDIN_FILENO))
		return read_line(STDIN_FILENO, pw, size);
	if (cli_read_secret("Password: ", pw, size) < 0 ||
	    cli_read_secret("Again: ", again, sizeof(again)) < 0)
		rc = -1;
	else if (strcmp(pw, again) != 0) {
		fprintf(stderr, "corral passwd: the two passwords differ\n");
		rc = -1;
	}
	explicit_bzero(again, sizeof(again));
	return rc;
}

int cmd_passwd(struct cli *cli, int argc, char **argv)
{
	char pw[PASSWD_MAX], err[256];
	char *hash;

	(void)cli;
	if (argc > 1)
		return cli_bad_usage("passwd",
		                     argv[1][0] == '-' ? "unknown option" : "unexpected argument",
		                     argv[1]);
	if (read_password(pw, sizeof(pw)) < 0 || pw[0] == '\0') {
		fprintf(stderr, "corral passwd: no password given\n");
		explicit_bzero(pw, sizeof(pw));
		return EX_DATAERR;
	}
	hash = passwd_hash(pw, err, sizeof(err));
	explicit_bzero(pw, sizeof(pw));
	if (hash == NULL) {
		fprintf(stderr, "corral passwd: %s\n", err);
		return strstr(err, "not installed") != NULL ? EX_UNAVAILABLE : EX_SOFTWARE;
	}
	printf("%s\n", hash);
	free(hash);
	return 0;
}
