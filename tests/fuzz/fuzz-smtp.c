/* libFuzzer target: the SMTP client (out/smtp.c) sending one message to two
 * recipients, the fuzzed bytes playing the relay's replies (greeting, EHLO's
 * multi-line answer, MAIL, RCPT, DATA, the verdict), through libcurl over a
 * loopback TCP connection to a relay thread. smtp.c is included to reach
 * its internals. Checked: a recipient counts as delivered only with a 2xx
 * code, each result is OK, temporary or permanent, and the summary agrees
 * with the results. */
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

#include "../../src/out/smtp.c"

/* The relay: accepts libcurl's connection, sends the fuzzed bytes, ends its
 * side and reads until libcurl hangs up. */
struct relay {
	int lfd;
	const uint8_t *data;
	size_t size;
};

static void *relay_run(void *arg)
{
	struct relay *r = arg;
	struct pollfd p = {.fd = r->lfd, .events = POLLIN};
	char sink[4096];
	int fd;

	if (poll(&p, 1, 5000) != 1 || (fd = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return NULL;
	if (write(fd, r->data, r->size) != (ssize_t)r->size)
		abort();
	shutdown(fd, SHUT_WR);
	while (read(fd, sink, sizeof(sink)) > 0)
		;
	close(fd);
	return NULL;
}

/* The listening socket on 127.0.0.1 (made once); its port in *port. */
static int listener(int *port)
{
	static int lfd = -1;
	static struct sockaddr_in a;
	socklen_t alen = sizeof(a);

	if (lfd < 0) {
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    listen(lfd, 4) < 0 || getsockname(lfd, (struct sockaddr *)&a, &alen) < 0)
			abort();
	}
	*port = ntohs(a.sin_port);
	return lfd;
}

static void check(const struct smtp_result *r, size_t n, int st)
{
	bool all_ok = true;

	for (size_t i = 0; i < n; i++) {
		if (r[i].status != RES_OK && r[i].status != RES_TEMP && r[i].status != RES_PERM)
			abort();
		if (r[i].status == RES_OK && r[i].code / 100 != 2)
			abort();
		all_ok &= r[i].status == RES_OK;
	}
	if ((st == RES_OK) != all_ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const rcpts[] = {"a@example.org", "b@example.org"};
	struct smtp_conf conf = {
	    .present = true, .host = (char *)"127.0.0.1", .tls = TLS_OFF, .timeout_s = 2};
	struct smtp_msg msg = {
	    .fd = -1, .data = "Subject: x\n\nbody\n.\n", .from = "me@example.org"};
	struct relay r = {.data = data, .size = size};
	struct smtp_result res[2];
	char err[512];
	struct smtp *s;
	pthread_t th;
	int st;

	/* What fits in the socket's buffer: the relay never waits to send. */
	if (size > 65536)
		return 0;
	log_set_verbosity(getenv("FUZZ_SMTP_DEBUG") ? 2 : -1);
	msg.len = strlen(msg.data);
	r.lfd = listener(&conf.port);
	if (pthread_create(&th, NULL, relay_run, &r) != 0)
		abort();
	if ((s = smtp_open(&conf, err, sizeof(err))) == NULL)
		abort();
	st = smtp_send(s, &msg, rcpts, 2, res, err, sizeof(err));
	check(res, 2, st);
	smtp_close(s);
	pthread_join(th, NULL);
	return 0;
}
