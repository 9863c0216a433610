#include "out/smtp.h"

#include "net/curlw.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "util/spawn.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"

/* A secret command's output is read up to this size. */
/* RFC 5321 4.5.3.1.3: a path is at most 256 octets. */
#define SMTP_ADDR_MAX 256

/*
 * What the relay's replies are answering: set from the commands libcurl
 * sends (it sends one command and waits for its reply, no pipelining).
 */
enum phase { PH_OTHER, PH_EHLO, PH_MAIL, PH_RCPT, PH_DATA, PH_BODY };

/* One transaction: the recipients' answers and the reader's position. */
struct txn {
	struct smtp_result *res;
	const char *const *rcpts;
	size_t n;
	size_t *sent_idx; /* RCPT number k was for rcpts[sent_idx[k]] */
	size_t nvalid;    /* recipients handed to libcurl */
	size_t nsent;     /* RCPT commands seen so far */
	enum phase phase;
	int mail_code, data_code;
	char mail_text[256], data_text[256];
	/* The body: the Received: field, then the message with bare LF -> CRLF. */
	const char *head;
	size_t head_len, head_off;
	const unsigned char *msg;
	size_t len, off;
	bool prev_cr, pending_lf, eight_bit;
};

struct smtp {
	const struct smtp_conf *conf;
	CURL *curl;
	char peer[300];
	bool creds_set;       /* the secret was handed to libcurl */
	char cred_error[256]; /* a failing secret command: every send fails with it */
	bool offers_8bit, offers_size;
	struct txn *t; /* during a send */
};

/* Copies as much of src as fits. */
static void copy_text(char *dst, size_t dstlen, const char *src)
{
	size_t n = strlen(src);

	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* An envelope address curl can put between <> without changing the command. */
static bool addr_ok(const char *a)
{
	size_t n = strlen(a);

	if (n == 0 || n > SMTP_ADDR_MAX)
		return false;
	for (const unsigned char *p = (const unsigned char *)a; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>')
			return false;
	return true;
}

const char *smtp_peer(const struct smtp *s)
{
	return s->peer;
}

/* ---- replies, through libcurl's debug callback ---- */

/* "EHLO x", "MAIL FROM:<a>", "RCPT TO:<b>": addresses are not secret; AUTH and
 * anything else (SASL continuation lines) never reach the log. */
static void log_sent(const char *data, size_t size)
{
	static const char *const shown[] = {"EHLO", "HELO", "MAIL", "RCPT",    "DATA",
	                                    "QUIT", "RSET", "NOOP", "STARTTLS"};
	char line[300];

	str_sanitise(line, sizeof(line), data, size);
	for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
		if (strncasecmp(line, shown[i], strlen(shown[i])) == 0) {
			log_debug("smtp > %s", line);
			return;
		}
	if (strncasecmp(line, "AUTH ", 5) == 0) {
		line[5 + strcspn(line + 5, " ")] = '\0';
		log_debug("smtp > %s ...", line);
		return;
	}
	log_debug("smtp > (hidden)");
}

/* A command went out: what the next final reply answers. */
static void on_command(struct smtp *s, const char *data, size_t size)
{
	struct txn *t = s->t;

	if (log_enabled(LOG_DEBUG))
		log_sent(data, size);
	if (t == NULL)
		return;
	if (size >= 4 && (str_ieq_n(data, 4, "EHLO") || str_ieq_n(data, 4, "HELO"))) {
		t->phase = PH_EHLO;
		s->offers_8bit = s->offers_size = false;
	} else if (size >= 5 && str_ieq_n(data, 5, "MAIL ")) {
		t->phase = PH_MAIL;
		if (t->eight_bit && !s->offers_8bit)
			log_debug("%s: no 8BITMIME offered; sending the 8-bit message as it is",
			          s->peer);
	} else if (size >= 5 && str_ieq_n(data, 5, "RCPT ")) {
		t->phase = t->nsent < t->nvalid ? PH_RCPT : PH_OTHER;
		t->nsent++;
	} else if (size >= 4 && str_ieq_n(data, 4, "DATA")) {
		t->phase = PH_DATA;
	} else {
		t->phase = PH_OTHER;
	}
}

static void ehlo_keyword(struct smtp *s, const char *kw, size_t len)
{
	if (len >= 8 && str_ieq_n(kw, 8, "8BITMIME"))
		s->offers_8bit = true;
	else if (len >= 4 && str_ieq_n(kw, 4, "SIZE") && (len == 4 || kw[4] == ' '))
		s->offers_size = true;
}

/* A final reply line ("250 OK"): recorded against what it answers. */
static void on_final_reply(struct txn *t, int code, const char *text)
{
	switch (t->phase) {
	case PH_MAIL:
		t->mail_code = code;
		copy_text(t->mail_text, sizeof(t->mail_text), text);
		break;
	case PH_RCPT: {
		struct smtp_result *r = &t->res[t->sent_idx[t->nsent - 1]];

		r->code = code;
		copy_text(r->text, sizeof(r->text), text);
		break;
	}
	case PH_DATA:
	case PH_BODY:
		/* 354 opens the body; anything else is the verdict (or DATA refused). */
		if (t->phase == PH_DATA && code == 354) {
			t->phase = PH_BODY;
			return;
		}
		t->data_code = code;
		copy_text(t->data_text, sizeof(t->data_text), text);
		break;
	case PH_EHLO:
	case PH_OTHER:
		break;
	}
	t->phase = PH_OTHER;
}

/* One reply line from the relay (libcurl hands them over one by one). */
static void on_reply(struct smtp *s, const char *data, size_t size)
{
	char line[256];
	int code;

	str_sanitise(line, sizeof(line), data, size);
	log_debug("smtp < %s", line);
	if (s->t == NULL || strlen(line) < 3 || line[0] < '1' || line[0] > '5' || line[1] < '0' ||
	    line[1] > '9' || line[2] < '0' || line[2] > '9')
		return;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (s->t->phase == PH_EHLO && code == 250 && line[3] != '\0')
		ehlo_keyword(s, line + 4, strlen(line + 4));
	if (line[3] == '-')
		return;
	on_final_reply(s->t, code, line);
}

static int curl_debug(CURL *c, curl_infotype type, char *data, size_t size, void *ctx)
{
	struct smtp *s = ctx;
	char line[256];

	(void)c;
	if (type == CURLINFO_HEADER_IN) {
		on_reply(s, data, size);
	} else if (type == CURLINFO_HEADER_OUT) {
		on_command(s, data, size);
	} else if (type == CURLINFO_TEXT && log_enabled(LOG_DEBUG)) {
		str_sanitise(line, sizeof(line), data, size);
		log_debug("smtp: %s", line);
	}
	return 0;
}

/* ---- the message body ---- */

/* Fills buf with the Received: field, then the message with bare LF -> CRLF. */
static size_t read_body(char *buf, size_t size, size_t nitems, void *ctx)
{
	struct txn *t = ctx;
	size_t room = size * nitems, o = 0;

	if (t->head_off < t->head_len) {
		o = t->head_len - t->head_off < room ? t->head_len - t->head_off : room;
		memcpy(buf, t->head + t->head_off, o);
		t->head_off += o;
	}
	while (o < room && (t->pending_lf || t->off < t->len)) {
		unsigned char c;

		if (t->pending_lf) {
			buf[o++] = '\n';
			t->pending_lf = false;
			continue;
		}
		c = t->msg[t->off++];
		if (c == '\n' && !t->prev_cr) {
			buf[o++] = '\r';
			t->pending_lf = true;
		} else {
			buf[o++] = (char)c;
		}
		t->prev_cr = c == '\r';
	}
	return o;
}

/* The size on the wire before dot-stuffing (for SIZE=); notes 8-bit bytes. */
static size_t wire_size(struct txn *t)
{
	size_t n = t->head_len + t->len;
	bool prev_cr = false;

	for (size_t i = 0; i < t->len; i++) {
		unsigned char c = t->msg[i];

		if (c == '\n' && !prev_cr)
			n++;
		if (c >= 0x80)
			t->eight_bit = true;
		prev_cr = c == '\r';
	}
	return n;
}

/* Maps the message file; len 0 needs no mapping. */
static const unsigned char *map_message(const struct smtp_msg *m, char *err, size_t errlen)
{
	struct stat st;
	void *p;

	if (m->fd < 0 || m->len == 0)
		return (const unsigned char *)(m->data != NULL ? m->data : "");
	/* Reading past the end of a mapped file would be SIGBUS, not an error. */
	if (fstat(m->fd, &st) < 0 || (uint64_t)st.st_size < (uint64_t)m->len) {
		snprintf(err, errlen, "the message file is shorter than %zu bytes", m->len);
		return NULL;
	}
	p = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, m->fd, 0);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "cannot map the message: %s", strerror(errno));
		return NULL;
	}
	madvise(p, m->len, MADV_SEQUENTIAL);
	return p;
}

/* ---- connection setup ---- */

/* Runs a secret command once; its first line, or NULL with s->cred_error set. */
static char *run_secret(struct smtp *s, char **argv, const char *what)
{
	char err[256];
	char *secret = spawn_secret(argv, (unsigned)s->conf->timeout_s, err, sizeof(err));

	if (secret == NULL)
		snprintf(s->cred_error, sizeof(s->cred_error), "smtp.%s: %.200s", what, err);
	return secret;
}

/* Gives libcurl the credentials once per handle; libcurl copies, we wipe. */
static int set_credentials(struct smtp *s)
{
	const struct credentials *c = &s->conf->cred;
	char *secret = NULL;

	if (s->creds_set || c->user == NULL)
		return s->cred_error[0] != '\0' ? -1 : 0;
	s->creds_set = true;
	curl_easy_setopt(s->curl, CURLOPT_USERNAME, c->user);
	if (c->oauth2_token_command != NULL) {
		secret = run_secret(s, c->oauth2_token_command, "oauth2_token_command");
		if (secret == NULL)
			return -1;
		curl_easy_setopt(s->curl, CURLOPT_XOAUTH2_BEARER, secret);
		curl_easy_setopt(s->curl, CURLOPT_LOGIN_OPTIONS, "AUTH=XOAUTH2");
	} else if (c->password_command != NULL) {
		secret = run_secret(s, c->password_command, "password_command");
		if (secret == NULL)
			return -1;
		curl_easy_setopt(s->curl, CURLOPT_PASSWORD, secret);
	} else {
		curl_easy_setopt(s->curl, CURLOPT_PASSWORD, c->password != NULL ? c->password : "");
	}
	secret_free(secret);
	return 0;
}

static void set_url(struct smtp *s)
{
	const struct smtp_conf *c = s->conf;
	bool v6 = strchr(c->host, ':') != NULL && c->host[0] != '[';

	snprintf(s->peer, sizeof(s->peer), "%s://%s%s%s:%d",
	         c->tls == TLS_IMPLICIT ? "smtps" : "smtp", v6 ? "[" : "", c->host, v6 ? "]" : "",
	         c->port);
	curl_easy_setopt(s->curl, CURLOPT_URL, s->peer);
}

static void set_tls(struct smtp *s)
{
	const struct smtp_conf *c = s->conf;

	/* starttls: never go on in plaintext when STARTTLS is missing or fails. */
	curl_easy_setopt(s->curl, CURLOPT_USE_SSL,
	                 (long)(c->tls == TLS_STARTTLS ? CURLUSESSL_ALL : CURLUSESSL_NONE));
	if (c->ca_file != NULL)
		curl_easy_setopt(s->curl, CURLOPT_CAINFO, c->ca_file);
	if (c->tls_fingerprint != NULL && c->tls != TLS_OFF)
		curlw_pin(s->curl, c->tls_fingerprint);
	if (c->insecure && c->tls != TLS_OFF) {
		log_warn("smtp: insecure: true: the relay's certificate is NOT verified; anyone "
		         "on the path can read the password and the mail");
		curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

struct smtp *smtp_open(const struct smtp_conf *conf, char *err, size_t errlen)
{
	struct smtp *s;
	long t;

	if (conf == NULL || !conf->present || conf->host == NULL) {
		snprintf(err, errlen, "no smtp relay configured (the smtp: section)");
		return NULL;
	}
	if (curlw_load(err, errlen) < 0)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->conf = conf;
	s->curl = curl_easy_init();
	if (s->curl == NULL)
		fatal("curl_easy_init failed");
	t = conf->timeout_s > 0 ? (long)conf->timeout_s : 60;
	set_url(s);
	set_tls(s);
	curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT, t);
	curl_easy_setopt(s->curl, CURLOPT_SERVER_RESPONSE_TIMEOUT, t);
	/* A relay that stops reading the body: under 1 byte/s for the timeout. */
	curl_easy_setopt(s->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(s->curl, CURLOPT_LOW_SPEED_TIME, t);
	curl_easy_setopt(s->curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(s->curl, CURLOPT_READFUNCTION, read_body);
	curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT_ALLLOWFAILS, 1L);
	/* The replies are read through the debug callback, so it is always on. */
	curl_easy_setopt(s->curl, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(s->curl, CURLOPT_DEBUGFUNCTION, curl_debug);
	curl_easy_setopt(s->curl, CURLOPT_DEBUGDATA, s);
	return s;
}

void smtp_close(struct smtp *s)
{
	if (s == NULL)
		return;
	/* Drop libcurl's copies of the secrets before it says QUIT and frees. */
	curl_easy_setopt(s->curl, CURLOPT_PASSWORD, "");
	curl_easy_setopt(s->curl, CURLOPT_XOAUTH2_BEARER, "");
	curl_easy_cleanup(s->curl);
	free(s);
}

/* ---- one transaction ---- */

static enum res_kind status_of(int code)
{
	/* 530: authentication required, a config problem the next run may not have. */
	if (code / 100 == 2)
		return RES_OK;
	return code / 100 == 5 && code != 530 ? RES_PERM : RES_TEMP;
}

static void set_result(struct smtp_result *r, enum res_kind st, int code, const char *text)
{
	r->status = st;
	r->code = code;
	copy_text(r->text, sizeof(r->text), text);
}

/* After curl_easy_perform: each recipient's outcome from the replies seen. */
static void settle(struct txn *t, CURLcode rc, const char *why)
{
	for (size_t i = 0; i < t->n; i++) {
		struct smtp_result *r = &t->res[i];

		if (r->status == RES_PERM && r->code == 0)
			continue; /* refused before sending */
		if (r->code != 0 && r->code / 100 != 2)
			r->status = status_of(r->code); /* RCPT refused: its own answer */
		else if (r->code == 0 && t->mail_code / 100 >= 4)
			set_result(r, status_of(t->mail_code), t->mail_code, t->mail_text);
		else if (r->code != 0 && t->data_code != 0)
			set_result(r, status_of(t->data_code), t->data_code, t->data_text);
		else
			set_result(r, RES_TEMP, 0, why);
		/* Only a transfer libcurl saw complete counts as delivered. */
		if (r->status == RES_OK && rc != CURLE_OK)
			set_result(r, RES_TEMP, 0, why);
	}
}

/* The overall status and a one-line summary in err. */
static int summarise(const struct smtp *s, const struct txn *t, char *err, size_t errlen)
{
	size_t first = t->n, ntemp = 0, nperm = 0;

	for (size_t i = 0; i < t->n; i++) {
		if (t->res[i].status == RES_OK)
			continue;
		if (first == t->n)
			first = i;
		if (t->res[i].status == RES_TEMP)
			ntemp++;
		else
			nperm++;
	}
	if (first == t->n)
		return RES_OK;
	snprintf(err, errlen,
	         "%s: %zu of %zu recipients not delivered (%zu temporary): <%.100s>: %s", s->peer,
	         ntemp + nperm, t->n, ntemp, t->rcpts[first], t->res[first].text);
	return ntemp > 0 ? RES_TEMP : RES_PERM;
}

/* The curl list of the valid recipients; the others are refused here. */
static struct curl_slist *recipients(struct txn *t)
{
	struct curl_slist *list = NULL, *next;

	for (size_t i = 0; i < t->n; i++) {
		memset(&t->res[i], 0, sizeof(t->res[i]));
		if (!addr_ok(t->rcpts[i])) {
			set_result(&t->res[i], RES_PERM, 0, "invalid recipient address");
			continue;
		}
		next = curl_slist_append(list, t->rcpts[i]);
		if (next == NULL)
			fatal("out of memory");
		list = next;
		t->sent_idx[t->nsent++] = i;
	}
	return list;
}

/* Runs the transaction over the kept connection. */
static CURLcode transfer(struct smtp *s, struct txn *t, const char *from, char *detail)
{
	struct curl_slist *list = recipients(t);
	CURLcode rc;

	t->nvalid = t->nsent;
	if (t->nvalid == 0)
		return CURLE_OK;
	t->nsent = 0; /* now counts the RCPT commands libcurl sends */
	curl_easy_setopt(s->curl, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, list);
	curl_easy_setopt(s->curl, CURLOPT_READDATA, t);
	curl_easy_setopt(s->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)wire_size(t));
	curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, detail);
	s->t = t;
	rc = curl_easy_perform(s->curl);
	s->t = NULL;
	curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, NULL);
	curl_slist_free_all(list);
	return rc;
}

/* Every recipient temporary with one reason (nothing was sent). */
static int fail_all(struct smtp *s, struct txn *t, const char *why, char *err, size_t errlen)
{
	for (size_t i = 0; i < t->n; i++)
		set_result(&t->res[i], RES_TEMP, 0, why);
	snprintf(err, errlen, "%s: %s", s->peer, why);
	return RES_TEMP;
}

int smtp_send(struct smtp *s, const struct smtp_msg *msg, const char *const *rcpts, size_t n,
              struct smtp_result *results, char *err, size_t errlen)
{
	struct txn t = {.res = results, .rcpts = rcpts, .n = n, .len = msg->len};
	const char *from = msg->from != NULL ? msg->from : "";
	char detail[CURL_ERROR_SIZE] = "", why[CURL_ERROR_SIZE + 64];
	CURLcode rc;
	int st;

	if (n == 0)
		return RES_OK;
	if (from[0] != '\0' && !addr_ok(from)) {
		for (size_t i = 0; i < n; i++)
			set_result(&results[i], RES_PERM, 0, "invalid envelope sender");
		snprintf(err, errlen, "%s: invalid envelope sender", s->peer);
		return RES_PERM;
	}
	if (set_credentials(s) < 0)
		return fail_all(s, &t, s->cred_error, err, errlen);
	t.msg = map_message(msg, why, sizeof(why));
	if (t.msg == NULL)
		return fail_all(s, &t, why, err, errlen);
	t.head = msg->received != NULL ? msg->received : "";
	t.head_len = strlen(t.head);
	t.sent_idx = xcalloc(n, sizeof(*t.sent_idx));
	rc = transfer(s, &t, from, detail);
	if (msg->fd >= 0 && msg->len > 0)
		munmap((void *)t.msg, msg->len);
	snprintf(why, sizeof(why), "%s", detail[0] != '\0' ? detail : curl_easy_strerror(rc));
	settle(&t, rc, why);
	st = summarise(s, &t, err, errlen);
	free(t.sent_idx);
	return st;
}

/* ---- header helpers ---- */

/* A value for the Received: field: at most 200 bytes of safe characters. */
static void received_token(char *out, size_t outlen, const char *s)
{
	size_t o = 0;

	for (; s != NULL && *s != '\0' && o + 1 < outlen && o < 200; s++) {
		unsigned char c = (unsigned char)*s;

		out[o++] =
		    (c <= ' ' || c >= 0x7f || strchr("()<>;\\\"", c) != NULL) ? '_' : (char)c;
	}
	out[o] = '\0';
}

static void rfc5322_date(char *out, size_t outlen, time_t when)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	long off;

	localtime_r(&when, &tm);
	off = tm.tm_gmtoff / 60;
	snprintf(out, outlen, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday],
	         tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
	         off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
}

char *smtp_received_line(const char *account, const char *server, const char *rcpt, time_t when)
{
	char host[256] = "", h[256], srv[256], acc[256], to[256], date[64];
	struct buf b;

	if (gethostname(host, sizeof(host) - 1) < 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	received_token(h, sizeof(h), host);
	received_token(srv, sizeof(srv), server != NULL && server[0] != '\0' ? server : "unknown");
	received_token(acc, sizeof(acc), account != NULL ? account : "");
	received_token(to, sizeof(to), rcpt);
	rfc5322_date(date, sizeof(date), when);
	buf_init(&b, 2048);
	/* One item per line keeps every line short whatever the names' lengths. */
	buf_printf(&b, "Received: from %s\r\n\tby %s (corral%s%s)", srv, h,
	           acc[0] != '\0' ? ", account " : "", acc);
	if (to[0] != '\0')
		buf_printf(&b, "\r\n\tfor <%s>", to);
	buf_printf(&b, ";\r\n\t%s\r\n", date);
	return buf_steal(&b, NULL);
}

char *smtp_envelope_from(const char *rp, size_t len)
{
	const char *lt, *gt, *colon, *start;
	char *addr;

	if (rp == NULL)
		return xstrdup("");
	lt = memchr(rp, '<', len);
	gt = lt != NULL ? memchr(lt, '>', len - (size_t)(lt - rp)) : NULL;
	if (lt == NULL || gt == NULL)
		return xstrdup("");
	start = lt + 1;
	/* A source route "<@a,@b:user@c>" (RFC 5321 C): the mailbox is after ':'. */
	colon = start < gt && *start == '@' ? memchr(start, ':', (size_t)(gt - start)) : NULL;
	if (colon != NULL)
		start = colon + 1;
	addr = xstrndup(start, (size_t)(gt - start));
	if (addr[0] != '\0' && !addr_ok(addr)) {
		free(addr);
		return xstrdup("");
	}
	return addr;
}
