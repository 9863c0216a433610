/*
 * A test driver for src/out/smtp.c, used by tests/integration/test-smtp.sh
 * until `forward` and `deliver: smtp` are wired into corral:
 *
 *   smtp-send [OPTIONS] MESSAGE_FILE RCPT...
 *     --port N --host H --tls off|starttls|implicit --ca FILE --insecure
 *     --timeout S --from ADDR (default: <>) --received ACCOUNT SERVER
 *     --user U (--password P | --password-command CMD)
 *     --repeat K   send the message K times over one handle
 *     --mem        send from memory instead of the file descriptor
 *
 * Prints one line per recipient and send: "RCPT ok|temp|perm CODE TEXT".
 * Exits 0 when all were delivered, 75 when any is temporary, 1 otherwise,
 * 64 on bad usage.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "out/smtp.h"
#include "util/log.h"
#include "util/str.h"

struct opts {
	struct smtp_conf conf;
	const char *from, *account, *server, *file;
	int repeat;
	int mem;
};

static int usage(void)
{
	fprintf(stderr, "usage: smtp-send [OPTIONS] MESSAGE_FILE RCPT...\n");
	return 64;
}

static int parse_tls(const char *s, enum tls_mode *t)
{
	if (strcmp(s, "off") == 0)
		*t = TLS_OFF;
	else if (strcmp(s, "starttls") == 0)
		*t = TLS_STARTTLS;
	else if (strcmp(s, "implicit") == 0)
		*t = TLS_IMPLICIT;
	else
		return -1;
	return 0;
}

/* One option with its values; returns how many argv entries it used, 0 if unknown. */
static int parse_opt(struct opts *o, int argc, char **argv, int i)
{
	const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

	if (strcmp(a, "--insecure") == 0)
		return o->conf.insecure = true, 1;
	if (strcmp(a, "--mem") == 0)
		return o->mem = 1, 1;
	if (strcmp(a, "-v") == 0)
		return log_set_verbosity(2), 1;
	if (v == NULL)
		return 0;
	if (strcmp(a, "--port") == 0)
		return o->conf.port = atoi(v), 2;
	if (strcmp(a, "--host") == 0)
		return o->conf.host = (char *)v, 2;
	if (strcmp(a, "--tls") == 0)
		return parse_tls(v, &o->conf.tls) < 0 ? 0 : 2;
	if (strcmp(a, "--ca") == 0)
		return o->conf.ca_file = (char *)v, 2;
	if (strcmp(a, "--timeout") == 0)
		return o->conf.timeout_s = (uint64_t)atoi(v), 2;
	if (strcmp(a, "--from") == 0)
		return o->from = v, 2;
	if (strcmp(a, "--repeat") == 0)
		return o->repeat = atoi(v), 2;
	if (strcmp(a, "--user") == 0)
		return o->conf.cred.user = (char *)v, 2;
	if (strcmp(a, "--password") == 0)
		return o->conf.cred.password = (char *)v, 2;
	if (strcmp(a, "--password-command") == 0)
		return argv_split(v, &o->conf.cred.password_command) < 0 ? 0 : 2;
	if (strcmp(a, "--received") == 0 && i + 2 < argc)
		return o->account = v, o->server = argv[i + 2], 3;
	return 0;
}

static const char *status_name(enum res_kind st)
{
	return st == RES_OK ? "ok" : st == RES_TEMP ? "temp" : "perm";
}

/* Sends once; prints the results; returns the overall status. */
static int send_once(struct smtp *s, const struct opts *o, int fd, const char *data, size_t len,
                     const char *const *rcpts, size_t n)
{
	struct smtp_result *res = xcalloc(n, sizeof(*res));
	char err[512] = "", *received = NULL;
	struct smtp_msg m = {.fd = o->mem ? -1 : fd, .data = data, .len = len, .from = o->from};
	int st;

	if (o->account != NULL)
		received =
		    smtp_received_line(o->account, o->server, n == 1 ? rcpts[0] : NULL, time(NULL));
	m.received = received;
	st = smtp_send(s, &m, rcpts, n, res, err, sizeof(err));
	for (size_t i = 0; i < n; i++)
		printf("%s %s %d %s\n", rcpts[i], status_name(res[i].status), res[i].code,
		       res[i].text);
	if (st != RES_OK)
		fprintf(stderr, "smtp-send: %s\n", err);
	free(received);
	free(res);
	return st;
}

/* The file's bytes for --mem (NULL for an empty file). */
static char *read_all(int fd, size_t len)
{
	char *data = len > 0 ? xmalloc(len) : NULL;

	if (len > 0 && pread(fd, data, len, 0) != (ssize_t)len) {
		free(data);
		return NULL;
	}
	return data;
}

int main(int argc, char **argv)
{
	struct opts o = {.conf = {.present = true,
	                          .host = "127.0.0.1",
	                          .port = 25,
	                          .tls = TLS_OFF,
	                          .timeout_s = 10},
	                 .from = "",
	                 .repeat = 1};
	int i = 1, used, fd, worst = RES_OK;
	char err[512], *data = NULL;
	struct smtp *s;
	struct stat st;

	while (i < argc && strncmp(argv[i], "-", 1) == 0) {
		if ((used = parse_opt(&o, argc, argv, i)) == 0)
			return usage();
		i += used;
	}
	if (argc - i < 2)
		return usage();
	o.file = argv[i++];
	fd = open(o.file, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		perror(o.file);
		return 66;
	}
	if (o.mem && (data = read_all(fd, (size_t)st.st_size)) == NULL && st.st_size > 0)
		return 66;
	s = smtp_open(&o.conf, err, sizeof(err));
	if (s == NULL) {
		fprintf(stderr, "smtp-send: %s\n", err);
		return 78;
	}
	for (int k = 0; k < o.repeat; k++) {
		int r = send_once(s, &o, fd, data, (size_t)st.st_size,
		                  (const char *const *)argv + i, (size_t)(argc - i));

		if (r == RES_TEMP || (r == RES_PERM && worst == RES_OK))
			worst = r;
	}
	smtp_close(s);
	argv_free(o.conf.cred.password_command);
	free(data);
	close(fd);
	return worst == RES_OK ? 0 : worst == RES_TEMP ? 75 : 1;
}
