/*
 * Unit tests for the IMAP source: the response parser (imap-parse.c) and
 * whole sessions fed with canned server byte streams through
 * net_from_fds(), so no server and no socket are needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config/config.h"
#include "store/maildir.h"
#include "source/imap-parse.h"
#include "net/net.h"
#include "source/source.h"
#include "util/buf.h"
#include "mail/flags.h"

/* ---- line parsing ---- */

static void tagged_line_with_code_is_split(void **state)
{
	struct imap_line l;
	const char *s = "c12 NO [TRYCREATE] Mailbox doesn't exist";

	(void)state;
	assert_int_equal(imap_line_parse(s, strlen(s), &l), 0);
	assert_false(l.untagged);
	assert_int_equal(l.tag_len, 3);
	assert_memory_equal(l.tag, "c12", 3);
	assert_int_equal(l.status, IMAP_NO);
	assert_int_equal(l.code_len, 9);
	assert_memory_equal(l.code, "TRYCREATE", 9);
	assert_int_equal(l.rest_len, strlen("Mailbox doesn't exist"));
}

static const struct {
	const char *line;
	int rc;
	bool untagged, has_num;
	uint32_t num;
	const char *word;
	enum imap_status status;
} line_cases[] = {
    {"* 23 EXISTS", 0, true, true, 23, "EXISTS", IMAP_OTHER},
    {"* 4 EXPUNGE", 0, true, true, 4, "EXPUNGE", IMAP_OTHER},
    {"* 1 FETCH (UID 5)", 0, true, true, 1, "FETCH", IMAP_OTHER},
    {"* OK [UIDVALIDITY 3857529045] UIDs valid", 0, true, false, 0, "OK", IMAP_OK},
    {"* BYE shutting down", 0, true, false, 0, "BYE", IMAP_BYE},
    {"* CAPABILITY IMAP4rev1 UIDPLUS", 0, true, false, 0, "CAPABILITY", IMAP_OTHER},
    {"c3 BAD what", 0, false, false, 0, "BAD", IMAP_BAD},
    {"c3 MAYBE what", -1, false, false, 0, NULL, IMAP_OTHER},
    {"c3", -1, false, false, 0, NULL, IMAP_OTHER},
    {"* 99999999999 EXISTS", -1, true, false, 0, NULL, IMAP_OTHER},
    {"* ", -1, true, false, 0, NULL, IMAP_OTHER},
};

static void response_lines_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
		struct imap_line l;
		const char *s = line_cases[i].line;
		int rc = imap_line_parse(s, strlen(s), &l);

		if (rc != line_cases[i].rc)
			fail_msg("'%s': rc %d, expected %d", s, rc, line_cases[i].rc);
		if (rc < 0)
			continue;
		if (l.untagged != line_cases[i].untagged || l.has_num != line_cases[i].has_num ||
		    l.num != line_cases[i].num || l.status != line_cases[i].status ||
		    l.word_len != strlen(line_cases[i].word) ||
		    memcmp(l.word, line_cases[i].word, l.word_len) != 0)
			fail_msg("'%s' parsed wrongly", s);
	}
}

static const struct {
	const char *line;
	int rc;
	uint64_t n;
} literal_cases[] = {
    {"* 1 FETCH (BODY[] {123}", 1, 123},
    {"{0}", 1, 0},
    {"* 1 FETCH (UID 5)", 0, 0},
    {"text }", 0, 0},
    {"x {}", -1, 0},
    {"x {1234567890123456789}", -1, 0},
};

static void literal_announcements_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(literal_cases) / sizeof(literal_cases[0]); i++) {
		uint64_t n = 0;
		const char *s = literal_cases[i].line;
		int rc = imap_literal_at_end(s, strlen(s), &n);

		if (rc != literal_cases[i].rc || (rc == 1 && n != literal_cases[i].n))
			fail_msg("'%s': rc %d n %llu", s, rc, (unsigned long long)n);
	}
}

static void response_code_numbers(void **state)
{
	uint32_t v = 0;

	(void)state;
	assert_int_equal(imap_code_number("UIDVALIDITY 3857529045", 22, "UIDVALIDITY", &v), 0);
	assert_int_equal(v, 3857529045u);
	assert_int_equal(imap_code_number("UIDNEXT 4294967296", 18, "UIDNEXT", &v), -1);
	assert_int_equal(imap_code_number("UIDNEXT x", 9, "UIDNEXT", &v), -1);
	assert_int_equal(imap_code_number("UIDNEXTS 5", 10, "UIDNEXT", &v), -1);
	assert_int_equal(imap_code_number(NULL, 0, "UIDNEXT", &v), -1);
}

static void capabilities_are_recognised(void **state)
{
	const char *c = "IMAP4rev1 SASL-IR UIDPLUS LITERAL+ IDLE UIDPLUSX";

	(void)state;
	assert_int_equal(imap_caps_parse(c, strlen(c)), IMAP_CAP_IMAP4REV1 | IMAP_CAP_UIDPLUS |
	                                                    IMAP_CAP_LITERALPLUS | IMAP_CAP_IDLE);
	assert_int_equal(imap_caps_parse("IMAP4", 5), 0);
}

/* ---- FETCH item lists ---- */

static int feed(struct imap_fetch *f, const char *text, uint64_t *lit, enum imap_item *item)
{
	static char seg[512];

	snprintf(seg, sizeof(seg), "%s", text);
	return imap_fetch_feed(f, seg, strlen(seg), lit, item);
}

static void fetch_with_body_literal_then_rest(void **state)
{
	struct imap_fetch f;
	enum imap_item item = ITEM_OTHER;
	uint64_t lit = 0;

	(void)state;
	imap_fetch_init(&f, 7);
	assert_int_equal(
	    feed(&f, "(UID 42 RFC822.SIZE 1234 FLAGS (\\Seen $Junk \\Flagged) BODY[] {1234}", &lit,
	         &item),
	    IMAP_FETCH_LITERAL);
	assert_int_equal(item, ITEM_BODY);
	assert_int_equal(lit, 1234);
	assert_true(f.has_uid && f.has_size && f.has_flags && f.has_body);
	assert_int_equal(f.uid, 42);
	assert_int_equal(f.size, 1234);
	assert_int_equal(f.flags, MAIL_FLAG_SEEN | MAIL_FLAG_FLAGGED);
	assert_int_equal(feed(&f, ")", &lit, &item), IMAP_FETCH_END);
}

static void fetch_with_uid_after_the_body(void **state)
{
	struct imap_fetch f;
	enum imap_item item = ITEM_OTHER;
	uint64_t lit = 0;

	(void)state;
	imap_fetch_init(&f, 1);
	assert_int_equal(feed(&f, "(BODY[] {5}", &lit, &item), IMAP_FETCH_LITERAL);
	assert_false(f.has_uid);
	assert_int_equal(feed(&f, " UID 9 FLAGS ())", &lit, &item), IMAP_FETCH_END);
	assert_true(f.has_uid);
	assert_int_equal(f.uid, 9);
	assert_int_equal(f.flags, 0);
}

static void fetch_quoted_and_nil_bodies(void **state)
{
	struct imap_fetch f;
	enum imap_item item;
	uint64_t lit;

	(void)state;
	imap_fetch_init(&f, 1);
	assert_int_equal(feed(&f, "(UID 3 BODY[] \"a \\\"q\\\" \\\\b\")", &lit, &item),
	                 IMAP_FETCH_END);
	assert_true(f.has_body);
	assert_int_equal(f.qbody_len, 8);
	assert_memory_equal(f.qbody, "a \"q\" \\b", 8);
	imap_fetch_init(&f, 1);
	assert_int_equal(feed(&f, "(UID 3 BODY[] NIL)", &lit, &item), IMAP_FETCH_END);
	assert_true(f.has_body);
	assert_int_equal(f.qbody_len, 0);
}

static void fetch_skips_sections_and_nested_literals(void **state)
{
	struct imap_fetch f;
	enum imap_item item = ITEM_BODY;
	uint64_t lit = 0;

	(void)state;
	imap_fetch_init(&f, 2);
	assert_int_equal(feed(&f, "(BODY[HEADER.FIELDS (SUBJECT FROM)] {10}", &lit, &item),
	                 IMAP_FETCH_LITERAL);
	assert_int_equal(item, ITEM_OTHER);
	assert_int_equal(feed(&f, " ENVELOPE (NIL \"s\" ((NIL NIL {3}", &lit, &item),
	                 IMAP_FETCH_LITERAL);
	assert_int_equal(item, ITEM_OTHER);
	assert_int_equal(feed(&f, " \"h\")) NIL) UID 8)", &lit, &item), IMAP_FETCH_END);
	assert_false(f.has_body);
	assert_int_equal(f.uid, 8);
}

static const char *const malformed_fetches[] = {
    "UID 5)",              /* no opening parenthesis */
    "(UID x)",             /* not a number */
    "(UID 0)",             /* UIDs start at 1 */
    "(UID 5",              /* line ends inside the list */
    "(UID 5) trailing",    /* bytes after the list */
    "(\"quoted-name\" 5)", /* an item name must be an atom */
    "(UID 4294967296)",    /* past 32 bits */
    "(BODY[] {12x}",       /* bad literal */
    ")",                   /* closes nothing */
};

static void malformed_fetches_are_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(malformed_fetches) / sizeof(malformed_fetches[0]); i++) {
		struct imap_fetch f;
		enum imap_item item;
		uint64_t lit;

		imap_fetch_init(&f, 1);
		if (feed(&f, malformed_fetches[i], &lit, &item) != IMAP_FETCH_ERROR)
			fail_msg("'%s' was accepted", malformed_fetches[i]);
	}
}

/* ---- commands ---- */

static const struct {
	const char *name;
	const char *quoted; /* NULL: refused */
} mailbox_cases[] = {
    {"INBOX", "\"INBOX\""},
    {"Work.Sub", "\"Work.Sub\""},
    {"say \"hi\" \\o/", "\"say \\\"hi\\\" \\\\o/\""},
    {"Entwürfe", "\"Entw&APw-rfe\""},
    {"A & B", "\"A &- B\""},
    {"日本語", "\"&ZeVnLIqe-\""},
    {"x😀", "\"x&2D3eAA-\""},
    {"tab\there", NULL},
    {"bad \xff utf8", NULL},
    {"overlong \xc0\xaf", NULL},
};

static void mailbox_names_are_quoted_and_utf7_encoded(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(mailbox_cases) / sizeof(mailbox_cases[0]); i++) {
		struct buf b;
		int rc;

		buf_init(&b, 1024);
		rc = imap_append_mailbox(&b, mailbox_cases[i].name);
		if (mailbox_cases[i].quoted == NULL
		        ? rc != -1
		        : rc != 0 || strcmp(buf_cstr(&b), mailbox_cases[i].quoted) != 0)
			fail_msg("'%s' -> rc %d '%s'", mailbox_cases[i].name, rc, buf_cstr(&b));
		buf_free(&b);
	}
}

static void uid_sets_join_only_neighbours_in_the_listing(void **state)
{
	struct src_msg m[6] = {{.uid = 3},  {.uid = 4},  {.uid = 9},
	                       {.uid = 10}, {.uid = 11}, {.uid = 20}};
	const struct src_msg *v[] = {&m[0], &m[1], &m[2], &m[4], &m[5]};
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	/* 4 and 9 are neighbours (nothing between them was listed); 9 and 11
	 * are not: 10 lies between them and is not asked for. */
	assert_int_equal(imap_append_uid_set(&b, v, 5, 1000), 5);
	assert_string_equal(buf_cstr(&b), "3:9,11:20");
	buf_reset(&b);
	assert_int_equal(imap_append_uid_set(&b, v, 5, 6), 3);
	assert_string_equal(buf_cstr(&b), "3:9");
	buf_free(&b);
}

/* ---- canned sessions ---- */

struct got {
	uint32_t uid;
	char body[512];
	size_t size;
	bool failed;
	char text[256];
	char server[256];
};

struct collect {
	struct got got[16];
	size_t n;
	int stop_after; /* done() returns -1 after this many; 0 = never */
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

	assert_true(c->n <= 16);
	memset(g, 0, sizeof(*g));
	g->uid = m->uid;
	g->failed = merr != NULL;
	if (merr != NULL) {
		assert_int_equal(merr->scope, RES_SCOPE_MESSAGE);
		snprintf(g->text, sizeof(g->text), "%s", merr->text);
		snprintf(g->server, sizeof(g->server), "%s", merr->server);
	} else {
		assert_true(size < sizeof(g->body));
		assert_int_equal(pread(fd, g->body, size, 0), (ssize_t)size);
		g->size = size;
	}
	if (fd >= 0)
		close(fd);
	return c->stop_after > 0 && (int)c->n >= c->stop_after ? -1 : 0;
}

struct session {
	struct account acct;
	struct src_params p;
	struct source *s;
	int client; /* memfd with the client's bytes */
	struct collect col;
	struct src_sink sink;
	struct src_folder f;
	struct result err;
};

/* Attaches to a canned server stream; max_message 0 = the default cap;
 * window: messages in flight (a quarter of them per UID FETCH). */
static void start_with(struct session *t, const char *server, bool keep, uint64_t max_message,
                       size_t window)
{
	int rfd = memfd_create("server", 0);

	memset(t, 0, sizeof(*t));
	assert_true(rfd >= 0);
	assert_int_equal(write(rfd, server, strlen(server)), (ssize_t)strlen(server));
	lseek(rfd, 0, SEEK_SET);
	t->client = memfd_create("client", 0);
	t->acct.keep = keep;
	t->acct.name = "test";
	t->p.acct = &t->acct;
	t->p.window_msgs = window;
	t->p.max_message = max_message;
	t->sink = (struct src_sink){.open = sink_open, .done = sink_done, .ctx = &t->col};
	t->s = source_imap.attach(net_from_fds(rfd, dup(t->client), 2), &t->p, &t->err);
}

static void start(struct session *t, const char *server, bool keep)
{
	start_with(t, server, keep, 0, 16);
}

/* Everything the client sent, NUL-terminated (static). */
static const char *client_bytes(struct session *t)
{
	static char out[8192];
	ssize_t n = pread(t->client, out, sizeof(out) - 1, 0);

	out[n > 0 ? n : 0] = '\0';
	return out;
}

static void finish(struct session *t)
{
	if (t->s != NULL)
		source_imap.close(t->s, &t->err);
	close(t->client);
}

static const struct src_msg *const *all(struct session *t)
{
	static const struct src_msg *v[64];

	for (size_t i = 0; i < t->f.nmsgs && i < 64; i++)
		v[i] = &t->f.msgs[i];
	return v;
}

#define GREETING "* CAPABILITY IMAP4rev1 LITERAL+ UIDPLUS\r\nc1 OK done\r\n"

#define SELECT_THREE                                                                               \
	GREETING "* FLAGS (\\Seen)\r\n"                                                            \
	         "* 3 EXISTS\r\n"                                                                  \
	         "* OK [UIDVALIDITY 777] ok\r\n"                                                   \
	         "* OK [UIDNEXT 13] ok\r\n"                                                        \
	         "c2 OK [READ-ONLY] examined\r\n"                                                  \
	         "* 1 FETCH (UID 10 RFC822.SIZE 5 FLAGS (\\Seen))\r\n"                             \
	         "* 2 FETCH (UID 11 RFC822.SIZE 6 FLAGS ())\r\n"                                   \
	         "* 3 FETCH (UID 12 RFC822.SIZE 7 FLAGS (\\Answered))\r\n"                         \
	         "c3 OK fetched\r\n"

static void select_lists_uids_sizes_and_identity(void **state)
{
	struct session t;

	(void)state;
	start(&t, SELECT_THREE "c4 OK bye\r\n", true);
	assert_non_null(t.s);
	assert_int_equal(source_imap.select(t.s, "INBOX", 1, &t.f, &t.err), 0);
	assert_int_equal(t.f.uidvalidity, 777);
	assert_int_equal(t.f.uidnext, 13);
	assert_int_equal(t.f.exists, 3);
	assert_true(t.f.read_only);
	assert_int_equal(t.f.nmsgs, 3);
	assert_int_equal(t.f.msgs[1].uid, 11);
	assert_int_equal(t.f.msgs[1].size, 6);
	assert_int_equal(t.f.msgs[0].flags, MAIL_FLAG_SEEN);
	assert_int_equal(t.f.msgs[2].flags, MAIL_FLAG_ANSWERED);
	assert_int_equal(source_imap.close(t.s, &t.err), 0);
	t.s = NULL;
	assert_string_equal(client_bytes(&t), "c1 CAPABILITY\r\n"
	                                      "c2 EXAMINE \"INBOX\"\r\n"
	                                      "c3 UID FETCH 1:* (UID RFC822.SIZE FLAGS)\r\n"
	                                      "c4 LOGOUT\r\n");
	finish(&t);
}

static void select_ignores_flag_updates_and_repeats(void **state)
{
	struct session t;

	(void)state;
	start(&t,
	      GREETING "* 2 EXISTS\r\nc2 OK x\r\n"
	               "* 1 FETCH (UID 4 RFC822.SIZE 9 FLAGS ())\r\n"
	               "* 2 FETCH (UID 6 FLAGS (\\Seen))\r\n"
	               "* 2 FETCH (UID 5 RFC822.SIZE 8 FLAGS ())\r\n"
	               "* 1 FETCH (UID 4 RFC822.SIZE 9 FLAGS ())\r\nc3 OK x\r\n",
	      true);
	assert_int_equal(source_imap.select(t.s, "INBOX", 1, &t.f, &t.err), 0);
	assert_int_equal(t.f.nmsgs, 2);
	assert_int_equal(t.f.msgs[0].uid, 4);
	assert_int_equal(t.f.msgs[1].uid, 5);
	finish(&t);
}

static void select_drops_the_last_uid_below_first_uid(void **state)
{
	struct session t;

	(void)state;
	/* "50:*" when 12 is the highest UID: the server answers with 12. */
	start(&t,
	      GREETING "* 3 EXISTS\r\nc2 OK x\r\n"
	               "* 3 FETCH (UID 12 RFC822.SIZE 7 FLAGS ())\r\nc3 OK x\r\n",
	      false);
	assert_int_equal(source_imap.select(t.s, "Archive", 50, &t.f, &t.err), 0);
	assert_int_equal(t.f.nmsgs, 0);
	assert_false(t.f.read_only);
	assert_non_null(strstr(client_bytes(&t), "c2 SELECT \"Archive\"\r\nc3 UID FETCH 50:* "));
	finish(&t);
}

static void select_of_a_missing_folder_is_a_folder_error(void **state)
{
	struct session t;

	(void)state;
	start(&t,
	      GREETING "c2 NO [NONEXISTENT] Mailbox doesn't exist: Nope\r\n"
	               "c3 BAD No mailbox selected\r\n",
	      true);
	assert_int_equal(source_imap.select(t.s, "Nope", 1, &t.f, &t.err), -1);
	assert_int_equal(t.err.scope, RES_SCOPE_FOLDER);
	assert_false(res_temporary(t.err.kind));
	assert_string_equal(t.err.server, "Mailbox doesn't exist: Nope");
	assert_non_null(strstr(t.err.text, "Nope"));
	finish(&t);
}

static void empty_folder_refusing_star_range_is_empty(void **state)
{
	struct session t;

	(void)state;
	start(&t, GREETING "* 0 EXISTS\r\nc2 OK x\r\nc3 BAD Invalid messageset\r\n", true);
	assert_int_equal(source_imap.select(t.s, "INBOX", 1, &t.f, &t.err), 0);
	assert_int_equal(t.f.nmsgs, 0);
	finish(&t);
}

static void fetch_streams_literals_among_untagged_noise(void **state)
{
	struct session t;

	(void)state;
	start(&t,
	      SELECT_THREE "* 4 EXISTS\r\n"
	                   "* 1 FETCH (UID 10 RFC822.SIZE 5 BODY[] {5}\r\nhello)\r\n"
	                   "* OK [ALERT] maintenance at noon\r\n"
	                   "* 2 FETCH (FLAGS (\\Seen))\r\n"
	                   "* 2 FETCH (UID 11 RFC822.SIZE 6 BODY[] {6}\r\na\r\nb\r\n)\r\n"
	                   "* 1 EXPUNGE\r\n"
	                   "c4 OK done\r\n",
	      true);
	assert_int_equal(source_imap.select(t.s, "INBOX", 1, &t.f, &t.err), 0);
	if (source_imap.fetch(t.s, all(&t), 3, &t.sink, &t.err) != 0)
		fail_msg("fetch: %s [%s]", t.err.text, t.err.server);
	assert_int_equal(t.col.n, 3);
	assert_int_equal(t.col.got[0].uid, 10);
	assert_string_equal(t.col.got[0].body, "hello");
	assert_int_equal(t.col.got[1].uid, 11);
	assert_int_equal(t.col.got[1].size, 6);
	assert_memory_equal(t.col.got[1].body, "a\r\nb\r\n", 6);
	/* UID 12 was expunged meanwhile: reported, not fatal. */
	assert_int_equal(t.col.got[2].uid, 12);
	assert_true(t.col.got[2].failed);
	assert_non_null(strstr(t.col.got[2].text, "no longer"));
	assert_non_null(
	    strstr(client_bytes(&t), "c4 UID FETCH 10:12 (UID RFC822.SIZE BODY.PEEK[])\r\n"));
	finish(&t);
}

static void fetch_with_uid_after_body_is_spooled(void **state)
{
	struct session t;

	(void)state;
	start(&t,
	      SELECT_THREE "* 2 FETCH (BODY[] {6}\r\nxy\r\nz\n UID 11)\r\n"
	                   "* 3 FETCH (BODY[] \"quoted\" UID 12)\r\n"
	                   "c4 OK done\r\n",
	      true);
	t.sink.lf_line_ends = true;
	assert_int_equal(source_imap.select(t.s, "INBOX", 1, &t.f, &t.err), 0);
	assert_int_equal(source_imap.fetch(t.s, all(&t) + 1, 2, &t.sink, &t.err), 0);
	assert_int_equal(t.col.n, 2);
	assert_int_equal(t.col.got[0].uid, 11);
	assert_string_equal(t.col.got[0].body, "xy\nz\n");
	assert_int_equal(t.col.got[0].size, 5);
	assert_int_equal(t.col.got[1].uid, 12);
	assert_string_equal(t.col.got[1].body, "quoted");
	assert_non_null(strstr(client_bytes(&t), "c4 UID FETCH 11:12 "));
	finish(&t);
}

static void fetch_pipelines_commands_within_the_window(void **state)
{
	struct session t;

	(void)state;
	/* A window of 4 messages: one message per command, all sent at once. */
	start_with(&t,
	           SELECT_THREE "* 1 FETCH (UID 10 BODY[] {1}\r\na)\r\nc4 OK\r\n"
	                        "* 2 FETCH (UID 11 BODY[] {1}\r\nb)\r\nc5 OK\r\n"
	                        "* 3 FETCH (UID 12 BODY[] {1}\r\nc)\r\nc6 OK\r\n",
	           true, 0, 4);
	assert_int_equal(source_imap.select(t.s, "INBOX", 1, &t.f, &t.err), 0);
	assert_int_equal(source_imap.fetch(t.s, all(&t), 3, &t.sink, &t.err), 0);
	assert_int_equal(t.col.n, 3);
	assert_string_equal(t.col.got[2].body, "c");
	assert_non_null(strstr(client_bytes(&t),
	                       "c4 UID FETCH 10 (UID RFC822.SIZE BODY.PEEK[])\r\n"
	                       "c5 UID FETCH 11 (UID RFC822.SIZE BODY.PEEK[])\r\n"
	                       "c6 UID FETCH 12 (UID RFC822.SIZE BODY.PEEK[])\r\n"));
	finish(&t);
}

static void message_over_the_cap_fails_alone(void **state)
{
	struct session t;

	(void)state;
	start_with(&t,
	           SELECT_THREE "* 1 FETCH (UID 10 BODY[] {12}\r\n0123456789ab)\r\n"
	                        "* 2 FETCH (UID 11 BODY[] {3}\r\nok!)\r\n"
	                        "c4 NO some messages could not be fetched\r\n",
	           true, 10, 16);
	assert_int_equal(source_imap.select(t.s, "INBOX", 1, &t.f, &t.err), 0);
	assert_int_equal(source_imap.fetch(t.s, all(&t), 3, &t.sink, &t.err), 0);
	assert_int_equal(t.col.n, 3);
	assert_true(t.col.got[0].failed);
	assert_non_null(strstr(t.col.got[0].text, "larger than the limit"));
	assert_false(t.col.got[1].failed);
	assert_string_equal(t.col.got[1].body, "ok!");
	assert_true(t.col.got[2].failed);
	assert_string_equal(t.col.got[2].server, "some messages could not be fetched");
	finish(&t);
}

static void server_bye_mid_fetch_is_a_temporary_account_error(void **state)
{
	struct session t;

	(void)state;
	start(&t,
	      SELECT_THREE "* 1 FETCH (UID 10 BODY[] {5}\r\nhello)\r\n"
	                   "* BYE server shutting down\r\n",
	      true);
	assert_int_equal(source_imap.select(t.s, "INBOX", 1, &t.f, &t.err), 0);
	assert_int_equal(source_imap.fetch(t.s, all(&t), 3, &t.sink, &t.err), -1);
	assert_int_equal(t.err.scope, RES_SCOPE_ACCOUNT);
	assert_true(res_temporary(t.err.kind));
	assert_string_equal(t.err.server, "server shutting down");
	assert_int_equal(t.col.n, 1);
	/* The session is out of step now: refused at once, closed without LOGOUT. */
	assert_int_equal(source_imap.select(t.s, "INBOX", 1, &t.f, &t.err), -1);
	assert_non_null(strstr(t.err.text, "failed earlier"));
	assert_int_equal(source_imap.close(t.s, &t.err), 0);
	t.s = NULL;
	assert_null(strstr(client_bytes(&t), "LOGOUT"));
	finish(&t);
}

static void stream_cut_inside_a_literal_is_a_temporary_account_error(void **state)
{
	struct session t;

	(void)state;
	start(&t, SELECT_THREE "* 1 FETCH (UID 10 BODY[] {500}\r\nhello", true);
	assert_int_equal(source_imap.select(t.s, "INBOX", 1, &t.f, &t.err), 0);
	assert_int_equal(source_imap.fetch(t.s, all(&t), 3, &t.sink, &t.err), -1);
	assert_int_equal(t.err.scope, RES_SCOPE_ACCOUNT);
	assert_true(res_temporary(t.err.kind));
	assert_non_null(strstr(t.err.text, "closed"));
	finish(&t);
}

static void sink_stop_drains_and_fails_the_folder(void **state)
{
	struct session t;

	(void)state;
	start(&t,
	      SELECT_THREE "* 1 FETCH (UID 10 BODY[] {5}\r\nhello)\r\n"
	                   "* 2 FETCH (UID 11 BODY[] {6}\r\nworld!)\r\n"
	                   "* 3 FETCH (UID 12 BODY[] {1}\r\n.)\r\n"
	                   "c4 OK done\r\nc5 OK bye\r\n",
	      true);
	t.col.stop_after = 1;
	assert_int_equal(source_imap.select(t.s, "INBOX", 1, &t.f, &t.err), 0);
	assert_int_equal(source_imap.fetch(t.s, all(&t), 3, &t.sink, &t.err), -1);
	assert_int_equal(t.err.scope, RES_SCOPE_FOLDER);
	assert_int_equal(t.col.n, 1);
	/* The connection is still in step: LOGOUT gets its answer. */
	assert_int_equal(source_imap.close(t.s, &t.err), 0);
	t.s = NULL;
	finish(&t);
}

static void delete_uses_uid_expunge_with_uidplus(void **state)
{
	struct session t;

	(void)state;
	start(&t, SELECT_THREE "c4 OK stored\r\n* 1 EXPUNGE\r\n* 1 EXPUNGE\r\nc5 OK expunged\r\n",
	      false);
	assert_int_equal(source_imap.select(t.s, "INBOX", 1, &t.f, &t.err), 0);
	assert_int_equal(source_imap.delete(t.s, all(&t), 2, &t.err), 0);
	assert_non_null(strstr(client_bytes(&t), "c2 SELECT \"INBOX\"\r\n"));
	assert_non_null(strstr(client_bytes(&t), "c4 UID STORE 10:11 +FLAGS.SILENT (\\Deleted)\r\n"
	                                         "c5 UID EXPUNGE 10:11\r\n"));
	finish(&t);
}

static void delete_without_uidplus_expunges_all_deleted(void **state)
{
	struct session t;

	(void)state;
	start(&t,
	      "* CAPABILITY IMAP4rev1\r\nc1 OK\r\n* 1 EXISTS\r\nc2 OK\r\n"
	      "* 1 FETCH (UID 5 RFC822.SIZE 1)\r\nc3 OK\r\nc4 OK\r\nc5 NO [EXPUNGEISSUED] no\r\n",
	      false);
	assert_int_equal(source_imap.select(t.s, "INBOX", 1, &t.f, &t.err), 0);
	assert_int_equal(source_imap.delete(t.s, all(&t), 1, &t.err), -1);
	assert_int_equal(t.err.scope, RES_SCOPE_FOLDER);
	assert_string_equal(t.err.server, "no");
	assert_non_null(strstr(client_bytes(&t), "c4 UID STORE 5 +FLAGS.SILENT (\\Deleted)\r\n"
	                                         "c5 EXPUNGE\r\n"));
	finish(&t);
}

static void delete_in_a_read_only_folder_is_refused(void **state)
{
	struct session t;

	(void)state;
	start(&t, SELECT_THREE, true);
	assert_int_equal(source_imap.select(t.s, "INBOX", 1, &t.f, &t.err), 0);
	assert_int_equal(source_imap.delete(t.s, all(&t), 1, &t.err), -1);
	assert_false(res_temporary(t.err.kind));
	assert_null(strstr(client_bytes(&t), "STORE"));
	finish(&t);
}

static void garbage_from_the_server_is_an_account_error(void **state)
{
	struct session t;

	(void)state;
	start(&t, GREETING "HTTP/1.1 400 Bad Request\r\n", true);
	assert_int_equal(source_imap.select(t.s, "INBOX", 1, &t.f, &t.err), -1);
	assert_int_equal(t.err.scope, RES_SCOPE_ACCOUNT);
	assert_string_equal(t.err.server, "HTTP/1.1 400 Bad Request");
	finish(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(tagged_line_with_code_is_split),
	    cmocka_unit_test(response_lines_table),
	    cmocka_unit_test(literal_announcements_table),
	    cmocka_unit_test(response_code_numbers),
	    cmocka_unit_test(capabilities_are_recognised),
	    cmocka_unit_test(fetch_with_body_literal_then_rest),
	    cmocka_unit_test(fetch_with_uid_after_the_body),
	    cmocka_unit_test(fetch_quoted_and_nil_bodies),
	    cmocka_unit_test(fetch_skips_sections_and_nested_literals),
	    cmocka_unit_test(malformed_fetches_are_errors),
	    cmocka_unit_test(mailbox_names_are_quoted_and_utf7_encoded),
	    cmocka_unit_test(uid_sets_join_only_neighbours_in_the_listing),
	    cmocka_unit_test(select_lists_uids_sizes_and_identity),
	    cmocka_unit_test(select_ignores_flag_updates_and_repeats),
	    cmocka_unit_test(select_drops_the_last_uid_below_first_uid),
	    cmocka_unit_test(select_of_a_missing_folder_is_a_folder_error),
	    cmocka_unit_test(empty_folder_refusing_star_range_is_empty),
	    cmocka_unit_test(fetch_streams_literals_among_untagged_noise),
	    cmocka_unit_test(fetch_with_uid_after_body_is_spooled),
	    cmocka_unit_test(fetch_pipelines_commands_within_the_window),
	    cmocka_unit_test(message_over_the_cap_fails_alone),
	    cmocka_unit_test(server_bye_mid_fetch_is_a_temporary_account_error),
	    cmocka_unit_test(stream_cut_inside_a_literal_is_a_temporary_account_error),
	    cmocka_unit_test(sink_stop_drains_and_fails_the_folder),
	    cmocka_unit_test(delete_uses_uid_expunge_with_uidplus),
	    cmocka_unit_test(delete_without_uidplus_expunges_all_deleted),
	    cmocka_unit_test(delete_in_a_read_only_folder_is_refused),
	    cmocka_unit_test(garbage_from_the_server_is_an_account_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
