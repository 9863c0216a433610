/* libFuzzer target: corral's POP3 client through a whole session, the
 * fuzzed bytes playing the server: the greeting and CAPA lines noted
 * (pop3_hello_note), the login (pop3-login.c), CAPA, LIST, UIDL, RETR with
 * dot-stuffing, DELE, QUIT. The first byte picks the settings; the bytes up
 * to the first LF are the greeting. Checked as fuzz-source-imap.c, and a
 * listing ascends by message number with UIDLs of printable bytes. */
#include "fuzz-fetch-session.h"
#include "net/pop3-login.h"

/* The greeting's line, NUL-terminated, and where the rest begins. */
static size_t greeting(const uint8_t *data, size_t size, char *line, size_t cap)
{
	size_t n = 0;

	while (n < size && data[n] != '\n')
		n++;
	memcpy(line, data, n < cap - 1 ? n : cap - 1);
	line[n < cap - 1 ? n : cap - 1] = '\0';
	return n < size ? n + 1 : n;
}

static void check_listing(const struct src_folder *f)
{
	for (size_t i = 0; i < f->nmsgs; i++) {
		const char *u = f->msgs[i].uidl;

		if (i > 0 && f->msgs[i].num <= f->msgs[i - 1].num)
			abort();
		if (u != NULL && (strlen(u) < 1 || strlen(u) > 70))
			abort();
		for (; u != NULL && *u; u++)
			if (*u < 0x21 || *u > 0x7e)
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum auth_mech mechs[] = {AUTH_DEFAULT, AUTH_USER, AUTH_APOP, AUTH_LOGIN};
	struct account acct = {.name = (char *)"fuzz", .timeout_s = 1, .protocol = PROTO_POP3};
	struct src_params p = {.acct = &acct};
	struct pop3_hello hello;
	struct src_folder f;
	struct result err;
	struct source *s;
	struct net *n;
	char line[1024];
	size_t used;
	unsigned opt;

	if (size < 1)
		return 0;
	opt = data[0];
	log_set_verbosity(-1);
	acct.keep = opt & 1;
	acct.host = (char *)"mail.example.org";
	acct.cred.user = (char *)"tim";
	acct.auth = mechs[opt >> 5 & 3];
	p.max_message = opt & 4 ? 64 : 0;
	memset(&hello, 0, sizeof(hello));
	used = greeting(data + 1, size - 1, line, sizeof(line));
	pop3_hello_note(&hello, line);
	n = fz_connection(data + 1 + used, size - 1 - used);
	if ((opt & 2) && pop3_login(n, &acct, &hello, "secret", opt & 8, &err) < 0) {
		net_close(n);
		return 0;
	}
	if ((s = source_pop3.attach(n, &p, &err)) == NULL)
		return 0;
	if (source_pop3.select(s, SOURCE_POP3_FOLDER, 1, &f, &err) == 0) {
		check_listing(&f);
		fz_fetch_all(&source_pop3, s, &f,
		             p.max_message ? p.max_message : SOURCE_DEFAULT_MAX_MESSAGE);
	}
	source_pop3.close(s, &err);
	return 0;
}
