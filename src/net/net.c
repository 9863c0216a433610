#include "net/net.h"

#include "net/curlw.h"
#include "net/pop3-login.h"
#include "net/respcode.h"
#include "net/sasl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "util/spawn.h"
#include "util/log.h"
#include "util/str.h"

/* The read buffer starts here and grows (up to NET_MAX_LINE + this) only
 * for long lines. */
#define NET_CHUNK (256 * 1024)
/* A secret command's output is read up to this size. */

struct net {
	CURL *curl;   /* NULL for net_from_fds() */
	CURLM *multi; /* holds curl for the connection's life (see perform()) */
	int rfd, wfd;
	int timeout_ms;
	const net_stop_flag *stop; /* NULL: never interrupted */
	bool by_token;             /* logging in with oauth2_token_command's token */
	unsigned offered;          /* 1u << enum sasl_mech, from IMAP's AUTH= capabilities */
	bool pop3;
	struct pop3_hello hello; /* POP3: the greeting and CAPA, for pop3_login() */
	char *buf;
	size_t start, end, size;
	char peer[300];
	char last_server[256]; /* the last line curl read, for auth errors */
	void *ssl;             /* the connection's SSL, for curlw_tls_bulk_start() */
};

static struct net *net_new(int timeout_s)
{
	struct net *n = xcalloc(1, sizeof(*n));

	n->rfd = n->wfd = -1;
	n->timeout_ms = (timeout_s > 0 ? timeout_s : 60) * 1000;
	n->size = NET_CHUNK;
	n->buf = xmalloc(n->size + 1);
	return n;
}

struct net *net_from_fds(int rfd, int wfd, unsigned timeout_s)
{
	struct net *n = net_new((int)timeout_s);

	n->rfd = rfd;
	n->wfd = wfd;
	snprintf(n->peer, sizeof(n->peer), "fd:%d", rfd);
	return n;
}

void net_set_stop(struct net *n, const net_stop_flag *stop)
{
	n->stop = stop;
}

static bool stopped(const struct net *n)
{
	return n->stop != NULL && *n->stop;
}

void net_close(struct net *n)
{
	if (n == NULL)
		return;
	if (n->multi != NULL)
		curl_multi_remove_handle(n->multi, n->curl);
	if (n->curl != NULL)
		curl_easy_cleanup(n->curl);
	if (n->multi != NULL)
		curl_multi_cleanup(n->multi);
	/* With curl, rfd is curl's socket, closed by the cleanup above. */
	if (n->curl == NULL && n->rfd >= 0)
		close(n->rfd);
	if (n->curl == NULL && n->wfd >= 0 && n->wfd != n->rfd)
		close(n->wfd);
	free(n->buf);
	free(n);
}

const char *net_peer(const struct net *n)
{
	return n->peer;
}

/* ---- secrets from commands ---- */

/* Runs a secret command (util/spawn.h); NULL with err filled (kind when it fails). */
static char *run_secret_command(char **argv, int timeout_ms, const char *what, enum res_kind kind,
                                struct result *err)
{
	char why[256];
	char *secret = spawn_secret(argv, (unsigned)((timeout_ms + 999) / 1000), why, sizeof(why));

	if (secret == NULL)
		res_fail(err, RES_SCOPE_ACCOUNT, kind, NULL, "%s: %s", what, why);
	return secret;
}

/* ---- libcurl setup ---- */

static const char *const logged_verbs[] = {
    "CAPABILITY", "STARTTLS", "AUTHENTICATE", "LOGIN", "CAPA", "STLS", "AUTH", "USER", "PASS",
};

/* Logs what we send as its verb only (and a SASL mechanism): the
 * arguments may hold credentials. */
static void log_sent(const char *data, size_t size)
{
	char line[128], *verb = line, *arg = NULL, *sp;

	str_sanitise(line, sizeof(line), data, size);
	/* IMAP lines start with curl's tag. */
	if (line[0] == 'A' && strspn(line + 1, "0123456789") == 3 && line[4] == ' ')
		verb = line + 5;
	sp = strchr(verb, ' ');
	if (sp != NULL) {
		*sp = '\0';
		arg = sp + 1;
		arg[strcspn(arg, " ")] = '\0';
	}
	for (size_t i = 0; i < sizeof(logged_verbs) / sizeof(logged_verbs[0]); i++) {
		if (strcmp(verb, logged_verbs[i]) != 0)
			continue;
		if (arg != NULL && (strcmp(verb, "AUTHENTICATE") == 0 || strcmp(verb, "AUTH") == 0))
			log_debug("> %s %s ...", verb, arg);
		else
			log_debug("> %s%s", verb, arg != NULL ? " ..." : "");
		return;
	}
	log_debug("> (hidden)");
}

/* Notes the mechanisms of the IMAP "AUTH=X" capabilities in line. */
static void note_mechs(struct net *n, const char *line)
{
	for (const char *p = line; *p != '\0';) {
		size_t len = strcspn(p, " ]");

		if (len > 5 && strncasecmp(p, "AUTH=", 5) == 0)
			for (int m = SASL_PLAIN; m <= SASL_OAUTHBEARER; m++)
				if (str_ieq_n(p + 5, len - 5, sasl_name((enum sasl_mech)m)))
					n->offered |= 1u << m;
		p += len;
		p += strspn(p, " ]");
	}
}

static int curl_debug(CURL *c, curl_infotype type, char *data, size_t size, void *ctx)
{
	struct net *n = ctx;

	(void)c;
	if (type == CURLINFO_HEADER_IN) {
		str_sanitise(n->last_server, sizeof(n->last_server), data, size);
		if (n->pop3)
			pop3_hello_note(&n->hello, n->last_server);
		else
			note_mechs(n, n->last_server);
		log_debug("< %s", n->last_server);
	} else if (type == CURLINFO_HEADER_OUT) {
		if (log_enabled(LOG_DEBUG))
			log_sent(data, size);
	} else if (type == CURLINFO_TEXT && log_enabled(LOG_DEBUG)) {
		char line[256];

		str_sanitise(line, sizeof(line), data, size);
		log_debug("curl: %s", line);
	}
	return 0;
}

static const char *mech_name(enum auth_mech m)
{
	switch (m) {
	case AUTH_PLAIN:
		return "PLAIN";
	case AUTH_LOGIN:
		return "LOGIN";
	case AUTH_CRAM_MD5:
		return "CRAM-MD5";
	case AUTH_XOAUTH2:
		return "XOAUTH2";
	case AUTH_OAUTHBEARER:
		return "OAUTHBEARER";
	case AUTH_DEFAULT:
	case AUTH_USER:
	case AUTH_APOP:
		break;
	}
	return NULL;
}

static void set_url(struct net *n, const struct account *a)
{
	bool implicit = a->tls == TLS_IMPLICIT;
	const char *scheme = a->protocol == PROTO_POP3 ? (implicit ? "pop3s" : "pop3")
	                                               : (implicit ? "imaps" : "imap");
	bool v6 = strchr(a->host, ':') != NULL && a->host[0] != '[';
	char url[400];

	snprintf(n->peer, sizeof(n->peer), "%s://%s%s%s:%d", scheme, v6 ? "[" : "", a->host,
	         v6 ? "]" : "", a->port);
	snprintf(url, sizeof(url), "%s/", n->peer);
	curl_easy_setopt(n->curl, CURLOPT_URL, url);
}

static int set_tls(struct net *n, const struct account *a, struct result *err)
{
	if (a->tls == TLS_OFF && !a->allow_plaintext)
		return res_fail(err, RES_SCOPE_ACCOUNT, RES_CONFIG, NULL,
		                "%s: tls: off needs allow_plaintext: true", a->name);
	/* starttls: refuse to go on in plaintext when STARTTLS fails. */
	curl_easy_setopt(n->curl, CURLOPT_USE_SSL,
	                 (long)(a->tls == TLS_STARTTLS ? CURLUSESSL_ALL : CURLUSESSL_NONE));
	if (a->tls != TLS_OFF)
		curlw_tls_bulk_prepare(n->curl, &n->ssl);
	if (a->ca_file != NULL)
		curl_easy_setopt(n->curl, CURLOPT_CAINFO, a->ca_file);
	if (a->tls_fingerprint != NULL)
		curlw_pin(n->curl, a->tls_fingerprint);
	if (a->insecure) {
		log_warn("%s: insecure: true: the server's certificate is NOT verified; "
		         "anyone on the path can read the password and the mail",
		         a->name);
		curl_easy_setopt(n->curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(n->curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	return 0;
}

/* Gives libcurl the credentials; they are copied by libcurl and wiped here. */
/* The secret of acct: its password, or what its command printed (wipe with
 * secret_free). *by_token when it is an OAuth2 access token. NULL on failure. */
static char *get_secret(const struct account *a, int timeout_ms, bool *by_token, struct result *err)
{
	const struct credentials *c = &a->cred;

	*by_token = c->oauth2_token_command != NULL;
	/* A token comes from the provider's endpoint: when it cannot be had now,
	 * the next try may get one. */
	if (c->oauth2_token_command != NULL)
		return run_secret_command(c->oauth2_token_command, timeout_ms,
		                          "oauth2_token_command", RES_TEMP, err);
	if (c->password_command != NULL)
		return run_secret_command(c->password_command, timeout_ms, "password_command",
		                          RES_CONFIG, err);
	return xstrdup(c->password != NULL ? c->password : "");
}

/* Hands the credentials to libcurl; mech NULL lets libcurl choose. */
static void set_auth(struct net *n, const struct account *a, const char *secret, bool by_token,
                     const char *mech)
{
	char opts[64];

	curl_easy_setopt(n->curl, CURLOPT_USERNAME, a->cred.user != NULL ? a->cred.user : "");
	n->by_token = by_token;
	if (by_token)
		curl_easy_setopt(n->curl, CURLOPT_XOAUTH2_BEARER, secret);
	else
		curl_easy_setopt(n->curl, CURLOPT_PASSWORD, secret);
	if (mech != NULL) {
		snprintf(opts, sizeof(opts), "AUTH=%s", mech);
		curl_easy_setopt(n->curl, CURLOPT_LOGIN_OPTIONS, opts);
	}
}

static void setup_curl(struct net *n, const struct account *a)
{
	long t = n->timeout_ms / 1000;

	curl_easy_setopt(n->curl, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(n->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(n->curl, CURLOPT_CONNECTTIMEOUT, t);
	curl_easy_setopt(n->curl, CURLOPT_SERVER_RESPONSE_TIMEOUT, t);
	curl_easy_setopt(n->curl, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(n->curl, CURLOPT_DEBUGFUNCTION, curl_debug);
	curl_easy_setopt(n->curl, CURLOPT_DEBUGDATA, n);
	set_url(n, a);
}

/* Maps a failed curl_easy_perform to how far it reaches and whether to retry. */
static int perform_error(struct net *n, CURLcode rc, const char *detail, struct result *err)
{
	const char *srv = n->last_server[0] != '\0' ? n->last_server : NULL;
	const char *what = detail[0] != '\0' ? detail : curl_easy_strerror(rc);
	enum res_kind kind;

	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
		return res_fail(err, RES_SCOPE_ACCOUNT, RES_UNREACHABLE, NULL,
		                "%s: cannot connect: %s", n->peer, what);
	case CURLE_ABORTED_BY_CALLBACK:
		return res_fail(err, RES_SCOPE_ACCOUNT, RES_TEMP, NULL, "%s: interrupted", n->peer);
	case CURLE_LOGIN_DENIED:
		/* "NO [LIMIT]", "-ERR [IN-USE]": not the credentials, try again later. */
		kind = resp_code_kind(srv, RES_AUTH);
		return res_fail(err, RES_SCOPE_ACCOUNT, kind, srv, "%s: %s%s", n->peer,
		                kind == RES_AUTH ? "login refused" : "login failed, for now",
		                kind == RES_AUTH && n->by_token
		                    ? ": the token oauth2_token_command printed was not accepted"
		                    : "");
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_USE_SSL_FAILED:
		/* The last server line ("OK Begin TLS") would only mislead. */
		return res_fail(err, RES_SCOPE_ACCOUNT, RES_CONFIG, NULL, "%s: TLS: %s", n->peer,
		                what);
	default:
		return res_fail(err, RES_SCOPE_ACCOUNT, resp_code_kind(srv, RES_TEMP), srv,
		                "%s: %s", n->peer, what);
	}
}

/*
 * curl_easy_perform() through a multi handle, in slices of at most 200 ms,
 * so that a raised stop flag ends the connect and the login too (libcurl
 * retries its own waits on EINTR). The handle stays in the multi handle for
 * the connection's life: CONNECT_ONLY's curl_easy_send/recv need that.
 */
static CURLcode perform(struct net *n)
{
	CURLMsg *msg;
	int running = 1, left;

	n->multi = curl_multi_init();
	if (n->multi == NULL || curl_multi_add_handle(n->multi, n->curl) != CURLM_OK)
		fatal("curl_multi_init failed");
	while (running) {
		if (curl_multi_perform(n->multi, &running) != CURLM_OK)
			return CURLE_FAILED_INIT;
		if (!running)
			break;
		if (stopped(n))
			return CURLE_ABORTED_BY_CALLBACK;
		curl_multi_poll(n->multi, NULL, 0, 200, NULL);
	}
	while ((msg = curl_multi_info_read(n->multi, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE)
			return msg->data.result;
	return CURLE_FAILED_INIT;
}

/* One connection and login with mech (NULL: libcurl's choice); secret NULL:
 * no login (libcurl stops before it). */
static struct net *connect_once(const struct account *acct, const net_stop_flag *stop,
                                const char *secret, bool by_token, const char *mech,
                                unsigned *offered, struct result *err)
{
	struct net *n = net_new((int)acct->timeout_s);
	char detail[CURL_ERROR_SIZE] = "";
	curl_socket_t sock;
	CURLcode rc;

	n->curl = curl_easy_init();
	if (n->curl == NULL)
		fatal("curl_easy_init failed");
	setup_curl(n, acct);
	n->stop = stop;
	curl_easy_setopt(n->curl, CURLOPT_ERRORBUFFER, detail);
	if (set_tls(n, acct, err) < 0)
		goto fail;
	n->pop3 = acct->protocol == PROTO_POP3;
	if (secret != NULL)
		set_auth(n, acct, secret, by_token, mech);
	rc = perform(n);
	*offered |= n->offered;
	/* libcurl keeps its copies until cleanup; drop them now. */
	curl_easy_setopt(n->curl, CURLOPT_PASSWORD, "");
	curl_easy_setopt(n->curl, CURLOPT_XOAUTH2_BEARER, "");
	curl_easy_setopt(n->curl, CURLOPT_ERRORBUFFER, NULL);
	if (rc != CURLE_OK) {
		perform_error(n, rc, detail, err);
		goto fail;
	}
	if (curl_easy_getinfo(n->curl, CURLINFO_ACTIVESOCKET, &sock) != CURLE_OK ||
	    sock == CURL_SOCKET_BAD) {
		res_fail(err, RES_SCOPE_ACCOUNT, RES_TEMP, NULL, "%s: no socket after login",
		         n->peer);
		goto fail;
	}
	/* From here on only our own lines are logged (no curl chatter), and
	 * only corral reads: TLS may read ahead. */
	curl_easy_setopt(n->curl, CURLOPT_VERBOSE, 0L);
	curlw_tls_bulk_start(n->ssl);
	n->rfd = (int)sock; /* owned by curl: only used for poll() */
	if (secret != NULL)
		log_debug("%s: logged in%s%s", n->peer, mech ? " with " : "", mech ? mech : "");
	return n;
fail:
	net_close(n);
	return NULL;
}

/*
 * IMAP: the mechanisms tried, in order, when the user named none: PLAIN first
 * (what mail clients use over TLS), then the others the server offered, then
 * libcurl's own choice (the LOGIN command).
 */
static const struct {
	const char *mech;
	unsigned bit; /* tried only when the server offered it (PLAIN always) */
} login_order[] = {
    {"PLAIN", 0},
    {"LOGIN", 1u << SASL_LOGIN},
    {"CRAM-MD5", 1u << SASL_CRAM_MD5},
    {NULL, 0},
};

/* POP3: libcurl connects (and does STLS), pop3_login() logs in. */
static struct net *connect_pop3(const struct account *acct, const net_stop_flag *stop,
                                const char *secret, bool by_token, struct result *err)
{
	unsigned offered = 0;
	struct net *n = connect_once(acct, stop, NULL, false, NULL, &offered, err);

	if (n != NULL && pop3_login(n, acct, &n->hello, secret, by_token, err) < 0) {
		net_close(n);
		return NULL;
	}
	return n;
}

struct net *net_connect(const struct account *acct, const net_stop_flag *stop, struct result *err)
{
	char detail[CURL_ERROR_SIZE] = "", tried[128] = "";
	const char *named = mech_name(acct->auth);
	unsigned offered = 0;
	struct net *n = NULL;
	bool by_token;
	char *secret;

	if (curlw_load(detail, sizeof(detail)) < 0) {
		res_fail(err, RES_SCOPE_ACCOUNT, RES_CONFIG, NULL, "%s", detail);
		return NULL;
	}
	if ((secret = get_secret(acct, (int)(acct->timeout_s ? acct->timeout_s : 60) * 1000,
	                         &by_token, err)) == NULL)
		return NULL;
	if (acct->protocol == PROTO_POP3) {
		n = connect_pop3(acct, stop, secret, by_token, err);
		secret_free(secret);
		return n;
	}
	if (by_token || named != NULL) {
		n = connect_once(acct, stop, secret, by_token, named != NULL ? named : "XOAUTH2",
		                 &offered, err);
		secret_free(secret);
		return n;
	}
	/*
	 * When a mechanism is refused, the next one may work (a server that lists
	 * one its password database cannot check). At most two refusals by the
	 * server: a wrong password must not look like an attack.
	 */
	for (size_t i = 0, asked = 0; i < sizeof(login_order) / sizeof(login_order[0]); i++) {
		const char *mech = login_order[i].mech;

		if (i > 0 && login_order[i].bit != 0 && !(offered & login_order[i].bit))
			continue;
		/* libcurl's own choice: only when nothing offered was tried. */
		if (mech == NULL && asked > 0)
			continue;
		n = connect_once(acct, stop, secret, false, mech, &offered, err);
		if (n != NULL || err->kind != RES_AUTH)
			break;
		if (i > 0 || (offered & (1u << SASL_PLAIN))) {
			snprintf(tried + strlen(tried), sizeof(tried) - strlen(tried), "%s%s",
			         tried[0] ? ", " : "", mech ? mech : "the server's default");
			if (++asked >= 2)
				break;
		}
	}
	secret_free(secret);
	if (n == NULL && err->kind == RES_AUTH && tried[0] != '\0')
		snprintf(err->text + strlen(err->text), sizeof(err->text) - strlen(err->text),
		         " (tried %s)", tried);
	return n;
}

/* ---- raw I/O ---- */

static int wait_fd(struct net *n, short events, struct result *err)
{
	struct pollfd p = {.fd = n->rfd, .events = events};
	int r;

	if (events == POLLOUT && n->curl == NULL)
		p.fd = n->wfd;
	do
		r = poll(&p, 1, n->timeout_ms);
	while (r < 0 && errno == EINTR && !stopped(n));
	if (r < 0 && errno == EINTR)
		return res_fail(err, RES_SCOPE_ACCOUNT, RES_TEMP, NULL, "%s: interrupted", n->peer);
	if (r == 0)
		return res_fail(err, RES_SCOPE_ACCOUNT, RES_TEMP, NULL, "%s: no answer within %d s",
		                n->peer, n->timeout_ms / 1000);
	if (r < 0)
		return res_fail(err, RES_SCOPE_ACCOUNT, RES_TEMP, NULL, "%s: poll: %s", n->peer,
		                strerror(errno));
	return 0;
}

/* One send attempt: bytes sent, 0 when the socket is full, -1 on error. */
static ssize_t send_some(struct net *n, const char *p, size_t len, struct result *err)
{
	if (n->curl != NULL) {
		size_t sent = 0;
		CURLcode rc = curl_easy_send(n->curl, p, len, &sent);

		if (rc == CURLE_AGAIN)
			return 0;
		if (rc != CURLE_OK)
			return res_fail(err, RES_SCOPE_ACCOUNT, RES_TEMP, NULL, "%s: send: %s",
			                n->peer, curl_easy_strerror(rc));
		return (ssize_t)sent;
	}
	ssize_t r = write(n->wfd, p, len);

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (r < 0)
		return res_fail(err, RES_SCOPE_ACCOUNT, RES_TEMP, NULL, "%s: send: %s", n->peer,
		                strerror(errno));
	return r;
}

int net_write(struct net *n, const void *p, size_t len, struct result *err)
{
	const char *s = p;

	while (len > 0) {
		ssize_t r = send_some(n, s, len, err);

		if (r < 0)
			return -1;
		if (r == 0 && wait_fd(n, POLLOUT, err) < 0)
			return -1;
		s += r;
		len -= (size_t)r;
	}
	return 0;
}

/* One receive attempt into dst: bytes read, 0 when nothing is there yet. */
static ssize_t recv_some(struct net *n, char *dst, size_t cap, struct result *err)
{
	if (n->curl != NULL) {
		size_t got = 0;
		CURLcode rc = curl_easy_recv(n->curl, dst, cap, &got);

		if (rc == CURLE_AGAIN)
			return 0;
		if (rc != CURLE_OK)
			return res_fail(err, RES_SCOPE_ACCOUNT, RES_TEMP, NULL, "%s: receive: %s",
			                n->peer, curl_easy_strerror(rc));
		if (got == 0)
			return res_fail(err, RES_SCOPE_ACCOUNT, RES_TEMP, NULL,
			                "%s: the server closed the connection", n->peer);
		return (ssize_t)got;
	}
	ssize_t r = read(n->rfd, dst, cap);

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (r < 0)
		return res_fail(err, RES_SCOPE_ACCOUNT, RES_TEMP, NULL, "%s: receive: %s", n->peer,
		                strerror(errno));
	if (r == 0)
		return res_fail(err, RES_SCOPE_ACCOUNT, RES_TEMP, NULL,
		                "%s: the server closed the connection", n->peer);
	return r;
}

/* Reads more into the buffer, making room first. TLS may hold decrypted
 * data the socket does not show, so poll only after recv says "again". */
static int fill(struct net *n, struct result *err)
{
	if (n->start > 0 && (n->end == n->size || n->start == n->end)) {
		memmove(n->buf, n->buf + n->start, n->end - n->start);
		n->end -= n->start;
		n->start = 0;
	}
	if (n->end == n->size) {
		if (n->size >= NET_MAX_LINE + NET_CHUNK)
			return res_fail(err, RES_SCOPE_ACCOUNT, RES_CONFIG, NULL,
			                "%s: a line longer than %d bytes", n->peer, NET_MAX_LINE);
		n->size *= 2;
		n->buf = xrealloc(n->buf, n->size + 1);
	}
	for (;;) {
		ssize_t r = recv_some(n, n->buf + n->end, n->size - n->end, err);

		if (r < 0)
			return -1;
		if (r > 0) {
			n->end += (size_t)r;
			return 0;
		}
		if (wait_fd(n, POLLIN, err) < 0)
			return -1;
	}
}

int net_read_line(struct net *n, char **line, size_t *len, struct result *err)
{
	size_t scanned = 0;

	for (;;) {
		char *p = memchr(n->buf + n->start + scanned, '\n', n->end - n->start - scanned);

		if (p != NULL) {
			char *l = n->buf + n->start;
			size_t l_len = (size_t)(p - l);

			n->start += l_len + 1;
			if (l_len > 0 && l[l_len - 1] == '\r')
				l_len--;
			l[l_len] = '\0';
			*line = l;
			*len = l_len;
			return 0;
		}
		scanned = n->end - n->start;
		if (scanned > NET_MAX_LINE)
			return res_fail(err, RES_SCOPE_ACCOUNT, RES_CONFIG, NULL,
			                "%s: a line longer than %d bytes", n->peer, NET_MAX_LINE);
		if (fill(n, err) < 0)
			return -1;
	}
}

int net_read_some(struct net *n, const char **p, size_t *len, size_t max, struct result *err)
{
	size_t have;

	if (n->start == n->end && fill(n, err) < 0)
		return -1;
	have = n->end - n->start;
	if (have > max)
		have = max;
	*p = n->buf + n->start;
	*len = have;
	n->start += have;
	return 0;
}

int net_wait(struct net *n, int timeout_ms, struct result *err)
{
	struct pollfd p = {.fd = n->rfd, .events = POLLIN};
	ssize_t r;
	int k;

	if (n->start < n->end)
		return 1;
	/* TLS may hold decrypted bytes the socket does not show: try first. */
	n->start = n->end = 0;
	r = recv_some(n, n->buf, n->size, err);
	if (r < 0)
		return -1;
	if (r > 0) {
		n->end = (size_t)r;
		return 1;
	}
	do
		k = poll(&p, 1, timeout_ms);
	while (k < 0 && errno == EINTR && !stopped(n));
	if (k < 0 && errno == EINTR)
		return res_fail(err, RES_SCOPE_ACCOUNT, RES_TEMP, NULL, "%s: interrupted", n->peer);
	if (k < 0)
		return res_fail(err, RES_SCOPE_ACCOUNT, RES_TEMP, NULL, "%s: poll: %s", n->peer,
		                strerror(errno));
	return k > 0;
}

void net_unread(struct net *n, size_t len)
{
	if (len > n->start)
		fatal("net_unread: %zu bytes is more than was read", len);
	n->start -= len;
}
