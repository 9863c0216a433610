/*
 * Re-injection through an SMTP relay (the `smtp:` config section): the
 * `forward` action and `deliver: smtp`, through libcurl's SMTP API.
 *
 * One handle per run: it connects on the first smtp_send() and keeps the
 * connection for the next messages (libcurl reuses it; after a failed
 * transaction it reconnects). A message is sent byte-exact apart from an
 * optional prepended Received: line and bare LF made CRLF (libcurl does the
 * dot-stuffing and adds the final CRLF when the message lacks one). SIZE=
 * is announced when the relay offers SIZE.
 *
 * Results are per recipient (DESIGN.md section 4): 2xx delivered (after
 * DATA's 250), 4xx temporary, 5xx permanent, each with the relay's reply
 * sanitised. A failure to connect, a timeout, a lost connection or a
 * failing password command is temporary for every recipient that has no
 * other answer. A recipient refused at RCPT keeps its own answer whatever
 * happens to the others. Exceptions: 530 (authentication required) and a
 * refused login are temporary, as they are the config's fault, not the
 * message's. A relay that stops answering fails after about twice the
 * timeout (libcurl then waits for QUIT's reply too).
 *
 * Secrets: password_command / oauth2_token_command run once per handle (no
 * shell, corral's environment), handed to libcurl and wiped; never logged,
 * not even with -vv.
 *
 * Memory: strings returned belong to the caller; the handle is freed by
 * smtp_close(); the config must outlive the handle.
 */
#ifndef CORRAL_DELIVER_SMTP_H
#define CORRAL_DELIVER_SMTP_H

#include <stddef.h>
#include <time.h>

#include "util/result.h"

struct smtp_conf;
struct smtp;

struct smtp_result {
	enum res_kind status;
	int code;       /* the relay's reply code (250, 451, 550...), 0 when it gave none */
	char text[256]; /* "550 5.1.1 no such user" from the relay (sanitised), or ours */
};

/* The message of one smtp_send(). */
struct smtp_msg {
	int fd;               /* the message file (mapped, from offset 0), or -1 */
	const char *data;     /* or the message in memory (fd < 0) */
	size_t len;           /* its size in bytes */
	const char *from;     /* envelope sender, an addr-spec; "" or NULL for <> */
	const char *received; /* a whole "Received: ...\r\n" field to prepend, or NULL */
};

/*
 * A handle for conf (which must stay valid until smtp_close). Nothing is
 * contacted yet. Returns NULL with err set when conf has no smtp section or
 * libcurl cannot be loaded (a temporary failure for the messages).
 */
struct smtp *smtp_open(const struct smtp_conf *conf, char *err, size_t errlen);
/* Says QUIT when connected, wipes what is secret, frees. NULL is allowed. */
void smtp_close(struct smtp *s);

/*
 * Sends msg to the n recipients (addr-specs) in one transaction; results
 * (n entries) get each recipient's outcome. Returns the message's overall
 * status: RES_TEMP when any recipient is temporary (the message must be
 * tried again for those), else RES_PERM when any is permanent, else
 * RES_OK; err gets a one-line summary when not RES_OK. An address with
 * control characters, spaces or <> is refused (permanent, never sent).
 */
int smtp_send(struct smtp *s, const struct smtp_msg *msg, const char *const *rcpts, size_t n,
              struct smtp_result *results, char *err, size_t errlen);

/* Where the relay is, for messages: "smtp://localhost:25". */
const char *smtp_peer(const struct smtp *s);

/*
 * "Received: from SERVER by HOST (corral, account ACCOUNT) for <RCPT>;
 * RFC 5322 DATE\r\n", folded under 78 columns, recording a fetch. rcpt may
 * be NULL (no "for"). Control characters and parentheses in the values
 * are replaced.
 */
char *smtp_received_line(const char *account, const char *server, const char *rcpt, time_t when);

/*
 * The envelope sender from a Return-Path field's value ("<a@b>" -> "a@b",
 * "<>" -> ""): "" too when it is missing (NULL), malformed or unsafe.
 */
char *smtp_envelope_from(const char *return_path, size_t len);

#endif
