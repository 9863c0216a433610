/*
 * Unit tests for the POP3 source and what the backends share: the
 * dot-unstuffer on every split of its input, the body writer (cap, CRLF ->
 * LF, write errors), and whole sessions fed with canned server byte
 * streams through net_from_fds().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config/config.h"
#include "net/net.h"
#include "source/source-int.h"
#include "source/source.h"

/* ---- dot-unstuffing ---- */

static const struct {
	const char *in;  /* the wire after "+OK ...\r\n" */
	const char *out; /* the message */
	size_t used;     /* bytes up to and including the terminator */
	bool terminated;
} unstuff_cases[] = {
    {"a\r\n.\r\n", "a\r\n", 6, true},
    {".\r\n", "", 3, true},
    {"..x\r\n.\r\n", ".x\r\n", 8, true},
    {"...\r\n.\r\n", "..\r\n", 8, true},
    {"x.\r\n.y\r\n.\r\nNEXT", "x.\r\ny\r\n", 11, true},
    {"a\n.\n+OK", "a\n", 4, true},
    {"a\r\n.\rb\r\n.\r\n", "a\r\n\rb\r\n", 11, true},
    {"line\r\n.", "line\r\n", 7, false},
    {"no end\r\n", "no end\r\n", 8, false},
    {"mid.dle\r\n..\r\n.\r\n", "mid.dle\r\n.\r\n", 16, true},
};

/* Runs the unstuffer over in, cut at cut (and byte by byte when cut is 0). */
static void unstuff_split(const char *in, size_t cut, char *out, size_t *olen, size_t *used,
                          int *end)
{
	struct pop3_unstuff u;
	size_t len = strlen(in), pos = 0;
	char tmp[64];

	pop3_unstuff_init(&u);
	*olen = 0;
	*end = 0;
	while (pos < len && !*end) {
		size_t chunk = cut == 0 ? 1 : (pos < cut ? cut - pos : len - pos), o, k;

		*end = pop3_unstuff(&u, in + pos, chunk, tmp, &o, &k);
		memcpy(out + *olen, tmp, o);
		*olen += o;
		pos += k;
	}
	*used = pos;
	out[*olen] = '\0';
}

static void unstuffing_works_on_every_split(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(unstuff_cases) / sizeof(unstuff_cases[0]); i++) {
		const char *in = unstuff_cases[i].in;

		for (size_t cut = 0; cut <= strlen(in); cut++) {
			char out[64];
			size_t olen, used;
			int end;

			unstuff_split(in, cut, out, &olen, &used, &end);
			if (strcmp(out, unstuff_cases[i].out) != 0 ||
			    used != unstuff_cases[i].used || end != unstuff_cases[i].terminated)
				fail_msg("case %zu cut %zu: '%s' used %zu end %d", i, cut, out,
				         used, end);
		}
	}
}

/* ---- body writer ---- */

static char *read_all(int fd, size_t *len)
{
	static char data[4096];
	ssize_t n = pread(fd, data, sizeof(data) - 1, 0);

	*len = n > 0 ? (size_t)n : 0;
	data[*len] = '\0';
	return data;
}

static void body_crlf_to_lf_across_every_split(void **state)
{
	const char *in = "a\r\nb\r\r\nc\rd\r\n\r";
	const char *want = "a\nb\r\nc\rd\n\r";

	(void)state;
	for (size_t cut = 0; cut <= strlen(in); cut++) {
		static struct src_body b;
		struct result merr;
		int fd = memfd_create("b", 0);
		uint64_t size = 0;
		size_t len;

		src_body_start(&b, fd, 1000, true);
		src_body_put(&b, in, cut);
		src_body_put(&b, in + cut, strlen(in) - cut);
		assert_int_equal(src_body_finish(&b, &size, &merr), 0);
		if (strcmp(read_all(fd, &len), want) != 0 || size != strlen(want))
			fail_msg("cut %zu: '%s'", cut, read_all(fd, &len));
		close(fd);
	}
}

static void body_past_the_cap_is_a_permanent_message_error(void **state)
{
	static struct src_body b;
	struct result merr;
	int fd = memfd_create("b", 0);
	uint64_t size;

	(void)state;
	src_body_start(&b, fd, 10, false);
	src_body_put(&b, "0123456789", 10);
	src_body_put(&b, "x", 1);
	assert_int_equal(src_body_finish(&b, &size, &merr), -1);
	assert_int_equal(merr.scope, RES_SCOPE_MESSAGE);
	assert_false(res_temporary(merr.kind));
	close(fd);
	src_body_start(&b, fd = memfd_create("b", 0), 10, false);
	src_body_put(&b, "0123456789", 10);
	assert_int_equal(src_body_finish(&b, &size, &merr), 0);
	assert_int_equal(size, 10);
	close(fd);
}

static void body_on_a_full_disk_is_a_temporary_message_error(void **state)
{
	static struct src_body b;
	struct result merr;
	int fd = open("/dev/full", O_WRONLY);
	uint64_t size;

	(void)state;
	if (fd < 0)
		skip();
	src_body_start(&b, fd, 1000, false);
	src_body_put(&b, "data", 4);
	assert_int_equal(src_body_finish(&b, &size, &merr), -1);
	assert_true(res_temporary(merr.kind));
	assert_non_null(strstr(merr.text, strerror(ENOSPC)));
	close(fd);
}

/* ---- canned sessions ---- */

struct got {
	uint32_t num;
	char uidl[80];
	char body[256];
	bool failed;
	char server[256];
};

struct collect {
	struct got got[8];
	size_t n;
};

static int sink_open(void *ctx, const struct src_msg *m, int *fd)
{
	(void)ctx;
	(void)m;
	*fd = memfd_create("body", 0);
	return *fd < 0 ? -1 : 0;
}

static int sink_done(void *ctx, const struct src_msg *m, int fd, uint64_t size,
                     const struct result *merr)
{
	struct collect *c = ctx;
	struct got *g = &c->got[c->n++];
	size_t len;

	assert_true(c->n <= 8);
	memset(g, 0, sizeof(*g));
	g->num = m->num;
	snprintf(g->uidl, sizeof(g->uidl), "%s", m->uidl != NULL ? m->uidl : "");
	g->failed = merr != NULL;
	if (merr != NULL) {
		snprintf(g->server, sizeof(g->server), "%s", merr->server);
	} else {
		const char *data = read_all(fd, &len);

		assert_int_equal(len, size);
		assert_true(len < sizeof(g->body));
		memcpy(g->body, data, len + 1);
	}
	if (fd >= 0)
		close(fd);
	return 0;
}

struct session {
	struct account acct;
	struct src_params p;
	struct source *s;
	int client;
	struct collect col;
	struct src_sink sink;
	struct src_folder f;
	struct result err;
};

static void start(struct session *t, const char *server, bool keep)
{
	int rfd = memfd_create("server", 0);

	memset(t, 0, sizeof(*t));
	assert_int_equal(write(rfd, server, strlen(server)), (ssize_t)strlen(server));
	lseek(rfd, 0, SEEK_SET);
	t->client = memfd_create("client", 0);
	t->acct.keep = keep;
	t->p.acct = &t->acct;
	t->sink = (struct src_sink){.open = sink_open, .done = sink_done, .ctx = &t->col};
	t->s = source_pop3.attach(net_from_fds(rfd, dup(t->client), 2), &t->p, &t->err);
}

static const char *client_bytes(struct session *t)
{
	static char out[4096];
	ssize_t n = pread(t->client, out, sizeof(out) - 1, 0);

	out[n > 0 ? n : 0] = '\0';
	return out;
}

static void finish(struct session *t)
{
	if (t->s != NULL)
		source_pop3.close(t->s, &t->err);
	close(t->client);
}

static const struct src_msg *const *all(struct session *t)
{
	static const struct src_msg *v[16];

	for (size_t i = 0; i < t->f.nmsgs && i < 16; i++)
		v[i] = &t->f.msgs[i];
	return v;
}

#define CAPA_PIPELINING "+OK\r\nUIDL\r\nPIPELINING\r\n.\r\n"
#define LIST_TWO                                                                                   \
	"+OK 2 messages\r\n1 7\r\n2 12\r\n.\r\n"                                                   \
	"+OK\r\n1 id-one\r\n2 id-two\r\n.\r\n"

static void select_lists_numbers_sizes_and_uidls(void **state)
{
	struct session t;

	(void)state;
	start(&t, CAPA_PIPELINING LIST_TWO "+OK bye\r\n", true);
	assert_non_null(t.s);
	assert_int_equal(source_pop3.select(t.s, "inbox", 0, &t.f, &t.err), 0);
	assert_int_equal(t.f.nmsgs, 2);
	assert_int_equal(t.f.exists, 2);
	assert_true(t.f.has_ids);
	assert_true(t.f.read_only);
	assert_int_equal(t.f.uidvalidity, 0);
	assert_int_equal(t.f.msgs[1].num, 2);
	assert_int_equal(t.f.msgs[1].size, 12);
	assert_string_equal(t.f.msgs[1].uidl, "id-two");
	assert_int_equal(source_pop3.close(t.s, &t.err), 0);
	t.s = NULL;
	/* With PIPELINING, LIST and UIDL leave together. */
	assert_string_equal(client_bytes(&t), "CAPA\r\nLIST\r\nUIDL\r\nQUIT\r\n");
	finish(&t);
}

static void fetch_unstuffs_and_reports_failed_retr(void **state)
{
	struct session t;

	(void)state;
	start(&t,
	      CAPA_PIPELINING LIST_TWO "+OK 7 octets\r\n..a\r\nb\r\n.\r\n"
	                               "-ERR [IN-USE] message locked\r\n",
	      true);
	assert_int_equal(source_pop3.select(t.s, "INBOX", 0, &t.f, &t.err), 0);
	assert_int_equal(source_pop3.fetch(t.s, all(&t), 2, &t.sink, &t.err), 0);
	assert_int_equal(t.col.n, 2);
	assert_string_equal(t.col.got[0].body, ".a\r\nb\r\n");
	assert_string_equal(t.col.got[0].uidl, "id-one");
	assert_true(t.col.got[1].failed);
	assert_string_equal(t.col.got[1].server, "-ERR [IN-USE] message locked");
	assert_non_null(strstr(client_bytes(&t), "RETR 1\r\nRETR 2\r\n"));
	finish(&t);
}

static void server_without_capa_gets_plain_commands_in_order(void **state)
{
	struct session t;

	(void)state;
	/* No CAPA at all (so no PIPELINING): the answers still match their
	 * messages, and LF line ends are stored when asked for. */
	start(&t, "-ERR unknown command\r\n" LIST_TWO "+OK\r\nfirst\r\n.\r\n+OK\r\nsecond\r\n.\r\n",
	      true);
	t.sink.lf_line_ends = true;
	assert_int_equal(source_pop3.select(t.s, "INBOX", 0, &t.f, &t.err), 0);
	assert_int_equal(source_pop3.fetch(t.s, all(&t), 2, &t.sink, &t.err), 0);
	assert_string_equal(t.col.got[0].body, "first\n");
	assert_string_equal(t.col.got[1].body, "second\n");
	assert_string_equal(client_bytes(&t), "CAPA\r\nLIST\r\nUIDL\r\nRETR 1\r\nRETR 2\r\n");
	finish(&t);
}

static void no_uidl_is_refused_when_keeping_mail(void **state)
{
	struct session t;

	(void)state;
	start(&t, CAPA_PIPELINING "+OK\r\n1 7\r\n.\r\n-ERR no UIDL here\r\n", true);
	assert_int_equal(source_pop3.select(t.s, "INBOX", 0, &t.f, &t.err), -1);
	assert_int_equal(t.err.scope, RES_SCOPE_ACCOUNT);
	assert_false(res_temporary(t.err.kind));
	assert_non_null(strstr(t.err.text, "keep: false"));
	finish(&t);
}

static void no_uidl_with_keep_false_is_flagged(void **state)
{
	struct session t;

	(void)state;
	start(&t, CAPA_PIPELINING "+OK\r\n1 7\r\n.\r\n-ERR no UIDL here\r\n", false);
	assert_int_equal(source_pop3.select(t.s, "INBOX", 0, &t.f, &t.err), 0);
	assert_false(t.f.has_ids);
	assert_null(t.f.msgs[0].uidl);
	assert_false(t.f.read_only);
	finish(&t);
}

/* Found by fuzz-source-pop3: a repeated number would be fetched twice. */
static void list_with_a_number_twice_is_an_account_error(void **state)
{
	struct session t;

	(void)state;
	start(&t, CAPA_PIPELINING "+OK\r\n1 7\r\n2 5\r\n2 5\r\n.\r\n+OK\r\n1 a\r\n2 b\r\n.\r\n",
	      false);
	assert_int_equal(source_pop3.select(t.s, "INBOX", 0, &t.f, &t.err), -1);
	assert_int_equal(t.err.scope, RES_SCOPE_ACCOUNT);
	assert_non_null(strstr(t.err.text, "listed twice"));
	finish(&t);
}

static const char *const bad_uidl_lines[] = {
    "1 \r\n",
    "x id\r\n",
    "0 id\r\n",
    /* a UIDL of 71 bytes */
    ("1 12345678901234567890123456789012345678901234567890123456789012345678901\r\n"),
    "1 two words\r\n",
};

static void malformed_uidl_is_an_account_error(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_uidl_lines) / sizeof(bad_uidl_lines[0]); i++) {
		struct session t;
		char script[512];

		snprintf(script, sizeof(script),
		         CAPA_PIPELINING "+OK\r\n1 7\r\n.\r\n+OK\r\n%s.\r\n", bad_uidl_lines[i]);
		start(&t, script, true);
		if (source_pop3.select(t.s, "INBOX", 0, &t.f, &t.err) != -1)
			fail_msg("UIDL line '%s' was accepted", bad_uidl_lines[i]);
		finish(&t);
	}
}

static void only_inbox_exists(void **state)
{
	struct session t;

	(void)state;
	start(&t, CAPA_PIPELINING, true);
	assert_int_equal(source_pop3.select(t.s, "Archive", 0, &t.f, &t.err), -1);
	assert_int_equal(t.err.scope, RES_SCOPE_FOLDER);
	finish(&t);
}

static void dele_then_quit_commits(void **state)
{
	struct session t;

	(void)state;
	start(&t, CAPA_PIPELINING LIST_TWO "+OK\r\n+OK\r\n+OK bye\r\n", false);
	assert_int_equal(source_pop3.select(t.s, "INBOX", 0, &t.f, &t.err), 0);
	assert_int_equal(source_pop3.delete(t.s, all(&t), 2, &t.err), 0);
	assert_int_equal(source_pop3.close(t.s, &t.err), 0);
	t.s = NULL;
	assert_non_null(strstr(client_bytes(&t), "DELE 1\r\nDELE 2\r\nQUIT\r\n"));
	finish(&t);
}

static void refused_quit_reports_uncommitted_deletions(void **state)
{
	struct session t;

	(void)state;
	start(&t, CAPA_PIPELINING LIST_TWO "+OK\r\n-ERR [SYS/TEMP] cannot expunge\r\n", false);
	assert_int_equal(source_pop3.select(t.s, "INBOX", 0, &t.f, &t.err), 0);
	assert_int_equal(source_pop3.delete(t.s, all(&t), 1, &t.err), 0);
	assert_int_equal(source_pop3.close(t.s, &t.err), -1);
	t.s = NULL;
	assert_true(res_temporary(t.err.kind));
	assert_non_null(strstr(t.err.text, "not committed"));
	assert_string_equal(t.err.server, "-ERR [SYS/TEMP] cannot expunge");
	finish(&t);
}

static void delete_in_a_read_only_session_is_refused(void **state)
{
	struct session t;

	(void)state;
	start(&t, CAPA_PIPELINING LIST_TWO, true);
	assert_int_equal(source_pop3.select(t.s, "INBOX", 0, &t.f, &t.err), 0);
	assert_int_equal(source_pop3.delete(t.s, all(&t), 1, &t.err), -1);
	assert_null(strstr(client_bytes(&t), "DELE"));
	finish(&t);
}

static void connection_cut_mid_body_is_a_temporary_account_error(void **state)
{
	struct session t;

	(void)state;
	start(&t, CAPA_PIPELINING LIST_TWO "+OK\r\npartial body", true);
	assert_int_equal(source_pop3.select(t.s, "INBOX", 0, &t.f, &t.err), 0);
	assert_int_equal(source_pop3.fetch(t.s, all(&t), 1, &t.sink, &t.err), -1);
	assert_int_equal(t.err.scope, RES_SCOPE_ACCOUNT);
	assert_true(res_temporary(t.err.kind));
	assert_int_equal(t.col.n, 0);
	/* No QUIT on a dead connection: the deletions are reported lost. */
	assert_int_equal(source_pop3.close(t.s, &t.err), -1);
	t.s = NULL;
	assert_non_null(strstr(t.err.text, "not committed"));
	assert_null(strstr(client_bytes(&t), "QUIT"));
	finish(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(unstuffing_works_on_every_split),
	    cmocka_unit_test(body_crlf_to_lf_across_every_split),
	    cmocka_unit_test(body_past_the_cap_is_a_permanent_message_error),
	    cmocka_unit_test(body_on_a_full_disk_is_a_temporary_message_error),
	    cmocka_unit_test(select_lists_numbers_sizes_and_uidls),
	    cmocka_unit_test(fetch_unstuffs_and_reports_failed_retr),
	    cmocka_unit_test(server_without_capa_gets_plain_commands_in_order),
	    cmocka_unit_test(no_uidl_is_refused_when_keeping_mail),
	    cmocka_unit_test(no_uidl_with_keep_false_is_flagged),
	    cmocka_unit_test(list_with_a_number_twice_is_an_account_error),
	    cmocka_unit_test(malformed_uidl_is_an_account_error),
	    cmocka_unit_test(only_inbox_exists),
	    cmocka_unit_test(dele_then_quit_commits),
	    cmocka_unit_test(refused_quit_reports_uncommitted_deletions),
	    cmocka_unit_test(delete_in_a_read_only_session_is_refused),
	    cmocka_unit_test(connection_cut_mid_body_is_a_temporary_account_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
