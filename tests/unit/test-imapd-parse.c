/*
 * Unit tests for the IMAP server's command reader (imapd/parse.h): what
 * real clients send (tags, quoted strings, literals both ways, FETCH
 * sections, flags, wildcards, sequence sets), fed whole and one byte at a
 * time, and every cap: line, literal, depth, arguments, NUL bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imapd/parse.h"

struct run {
	struct imapd_reader *r;
	const struct imapd_cmd *cmd;
	const char *tag;
	char why[128];
	size_t used;
};

/* Feeds s[0..n) from its start; returns the first event. */
static enum imapd_read feed(struct run *t, const char *s, size_t n)
{
	return imapd_read(t->r, s, n, &t->used, &t->cmd, &t->tag, t->why, sizeof(t->why));
}

static enum imapd_read feed_str(struct run *t, const char *s)
{
	return feed(t, s, strlen(s));
}

static void assert_arg(const struct imapd_arg *a, enum imapd_arg_kind kind, const char *text)
{
	assert_int_equal(a->kind, kind);
	if (text != NULL) {
		assert_int_equal(a->len, strlen(text));
		assert_memory_equal(a->s, text, a->len);
	}
}

static void simple_commands(void **state)
{
	struct run t = {.r = imapd_reader_new(NULL)};
	const char two[] = "a1 NOOP\r\nb2 capability\r\n";

	(void)state;
	assert_int_equal(feed_str(&t, two), IMAPD_COMMAND);
	assert_string_equal(t.cmd->tag, "a1");
	assert_string_equal(t.cmd->name, "NOOP");
	assert_int_equal(t.cmd->nargs, 0);
	assert_int_equal(t.used, 9);
	assert_int_equal(feed_str(&t, two + t.used), IMAPD_COMMAND);
	assert_string_equal(t.cmd->tag, "b2");
	assert_string_equal(t.cmd->name, "capability");
	/* An empty line is no command. */
	assert_int_equal(feed_str(&t, "\r\n"), IMAPD_NEED_MORE);
	assert_int_equal(feed_str(&t, "c3 LOGOUT\n"), IMAPD_COMMAND); /* a bare LF too */
	assert_string_equal(t.cmd->name, "LOGOUT");
	imapd_reader_free(t.r);
}

static void strings_nil_and_wildcards(void **state)
{
	struct run t = {.r = imapd_reader_new(NULL)};

	(void)state;
	assert_int_equal(feed_str(&t, "x LIST \"\" \"*\"\r\n"), IMAPD_COMMAND);
	assert_int_equal(t.cmd->nargs, 2);
	assert_arg(&t.cmd->args[0], IMAPD_STRING, "");
	assert_arg(&t.cmd->args[1], IMAPD_STRING, "*");
	assert_int_equal(feed_str(&t, "x LIST \"\" %\r\n"), IMAPD_COMMAND);
	assert_arg(&t.cmd->args[1], IMAPD_ATOM, "%");
	assert_int_equal(feed_str(&t, "x LOGIN \"us\\\"er\" \"p\\\\w\"\r\n"), IMAPD_COMMAND);
	assert_arg(&t.cmd->args[0], IMAPD_STRING, "us\"er");
	assert_arg(&t.cmd->args[1], IMAPD_STRING, "p\\w");
	assert_int_equal(feed_str(&t, "x ID NIL\r\n"), IMAPD_COMMAND);
	assert_arg(&t.cmd->args[0], IMAPD_NIL, NULL);
	assert_true(imapd_arg_is(&t.cmd->args[0], "nil"));
	/* UTF-8 in a quoted string (UTF8=ACCEPT) */
	assert_int_equal(feed_str(&t, "x SELECT \"K\xc3\xb6ln\"\r\n"), IMAPD_COMMAND);
	assert_arg(&t.cmd->args[0], IMAPD_STRING, "K\xc3\xb6ln");
	imapd_reader_free(t.r);
}

static void literals_synchronizing_and_plus(void **state)
{
	struct run t = {.r = imapd_reader_new(NULL)};
	const struct imapd_arg *l;

	(void)state;
	assert_int_equal(feed_str(&t, "a2 LOGIN {4}\r\n"), IMAPD_CONTINUE);
	assert_int_equal(feed_str(&t, "user {5}\r\n"), IMAPD_CONTINUE);
	assert_int_equal(feed_str(&t, "pa ss\r\n"), IMAPD_COMMAND);
	assert_arg(&t.cmd->args[0], IMAPD_STRING, "user");
	assert_true(t.cmd->args[0].literal);
	assert_arg(&t.cmd->args[1], IMAPD_STRING, "pa ss");
	/* LITERAL+: no continuation; any byte, NUL included. */
	static const char app[] = "a3 APPEND INBOX (\\Seen $Junk) {3+}\r\na\0b\r\n";

	assert_int_equal(feed(&t, app, sizeof(app) - 1), IMAPD_COMMAND);
	assert_int_equal(t.cmd->nargs, 3);
	l = &t.cmd->args[1];
	assert_int_equal(l->kind, IMAPD_LIST);
	assert_int_equal(l->nsub, 2);
	assert_arg(&l->sub[0], IMAPD_ATOM, "\\Seen");
	assert_arg(&l->sub[1], IMAPD_ATOM, "$Junk");
	assert_int_equal(t.cmd->args[2].len, 3);
	assert_memory_equal(t.cmd->args[2].s, "a\0b", 3);
	imapd_reader_free(t.r);
}

static const char fetch[] =
    "a4 UID FETCH 1:*,7 (UID FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100> BODY[])\r\n";

/* RFC 4466 literal8 "~{N}" (APPEND's UTF8 data, RFC 6855): any byte, NUL
 * included; a "~" not before "{" stays an atom's character. */
static void literal8_in_a_list(void **state)
{
	struct run t = {.r = imapd_reader_new(NULL)};
	const char cmd[] = "a APPEND \"Envoy\xc3\xa9s\" UTF8 (~{4+}\r\nZ\0\xc3\xa9)\r\n";
	const struct imapd_arg *l;

	(void)state;
	assert_int_equal(feed(&t, cmd, sizeof(cmd) - 1), IMAPD_COMMAND);
	assert_int_equal(t.cmd->nargs, 3);
	assert_arg(&t.cmd->args[0], IMAPD_STRING, "Envoy\xc3\xa9s");
	assert_arg(&t.cmd->args[1], IMAPD_ATOM, "UTF8");
	l = &t.cmd->args[2];
	assert_int_equal(l->kind, IMAPD_LIST);
	assert_int_equal(l->nsub, 1);
	assert_int_equal(l->sub[0].kind, IMAPD_STRING);
	assert_true(l->sub[0].literal && l->sub[0].literal8);
	assert_int_equal(l->sub[0].len, 4);
	assert_memory_equal(l->sub[0].s, "Z\0\xc3\xa9", 4);
	/* A synchronizing literal8 asks for "+" like a literal. */
	assert_int_equal(feed_str(&t, "b APPEND x UTF8 (~{2}\r\n"), IMAPD_CONTINUE);
	assert_int_equal(feed_str(&t, "hi)\r\n"), IMAPD_COMMAND);
	assert_true(t.cmd->args[2].sub[0].literal8);
	assert_int_equal(feed_str(&t, "c LIST \"\" ~user\r\n"), IMAPD_COMMAND);
	assert_arg(&t.cmd->args[1], IMAPD_ATOM, "~user");
	assert_int_equal(feed_str(&t, "d NOOP {1}\r\n"), IMAPD_CONTINUE);
	assert_int_equal(feed_str(&t, "x\r\n"), IMAPD_COMMAND);
	assert_false(t.cmd->args[0].literal8);
	imapd_reader_free(t.r);
}

static void check_fetch(const struct imapd_cmd *c)
{
	const struct imapd_arg *l = &c->args[2];

	assert_string_equal(c->name, "UID");
	assert_int_equal(c->nargs, 3);
	assert_arg(&c->args[0], IMAPD_ATOM, "FETCH");
	assert_arg(&c->args[1], IMAPD_ATOM, "1:*,7");
	assert_int_equal(l->kind, IMAPD_LIST);
	assert_int_equal(l->nsub, 4);
	assert_arg(&l->sub[2], IMAPD_ATOM, "BODY.PEEK[HEADER.FIELDS (From To)]<0.100>");
	assert_arg(&l->sub[3], IMAPD_ATOM, "BODY[]");
}

static void fetch_sections_stay_whole(void **state)
{
	struct run t = {.r = imapd_reader_new(NULL)};

	(void)state;
	assert_int_equal(feed_str(&t, fetch), IMAPD_COMMAND);
	check_fetch(t.cmd);
	imapd_reader_free(t.r);
}

static void one_byte_at_a_time(void **state)
{
	struct run t = {.r = imapd_reader_new(NULL)};
	const char lit[] = "a5 LOGIN {2}\r\nme {3+}\r\npw!\r\n";
	size_t i, events = 0;
	enum imapd_read ev = IMAPD_NEED_MORE;

	(void)state;
	for (i = 0; i < sizeof(fetch) - 1; i++) {
		ev = feed(&t, fetch + i, 1);
		assert_int_equal(t.used, 1);
		if (i + 2 < sizeof(fetch) - 1)
			assert_int_equal(ev, IMAPD_NEED_MORE);
	}
	assert_int_equal(ev, IMAPD_COMMAND);
	check_fetch(t.cmd);
	for (i = 0; i < sizeof(lit) - 1; i++) {
		ev = feed(&t, lit + i, 1);
		events += ev == IMAPD_CONTINUE;
	}
	assert_int_equal(events, 1);
	assert_int_equal(ev, IMAPD_COMMAND);
	assert_arg(&t.cmd->args[0], IMAPD_STRING, "me");
	assert_arg(&t.cmd->args[1], IMAPD_STRING, "pw!");
	imapd_reader_free(t.r);
}

static const struct {
	const char *name, *in, *tag, *why;
} bad_cases[] = {
    {"unterminated_quote", "q1 LOGIN \"user\r\n", "q1", "closing quote"},
    {"bad_escape", "q2 LOGIN \"a\\b\" x\r\n", "q2", "backslash"},
    {"no_command", "lonely\r\n", "*", "a tag without a command"},
    {"unbalanced_list", "q3 FETCH 1 (FLAGS\r\n", "q3", "or ) in a list"},
    {"stray_paren", "q4 FETCH 1 FLAGS)\r\n", "q4", "space between"},
    {"two_spaces", "q5 SELECT  INBOX\r\n", "q5", "expected an argument"},
    {"cr_before_crlf", "q6 NOOP\r\r\n", "q6", "CR inside a line"},
    {"bad_literal", "q7 LOGIN {x}\r\n", "q7", "literal"},
    {"control_char", "q8 SELECT IN\001BOX\r\n", "q8", "space between"},
    {"bad_tag", "q(9 NOOP\r\n", "*", "malformed tag"},
};

/* "[" is an ATOM-CHAR (RFC 3501 9): a folder name may hold one without "]". */
static void an_open_bracket_without_its_close_is_part_of_an_atom(void **state)
{
	struct run t = {.r = imapd_reader_new(NULL)};

	(void)state;
	assert_int_equal(feed_str(&t, "a1 SELECT x[}\r\n"), IMAPD_COMMAND);
	assert_arg(&t.cmd->args[0], IMAPD_ATOM, "x[}");
	imapd_reader_free(t.r);
}

static void malformed_commands_are_bad_and_dropped(void **state)
{
	struct run t = {.r = imapd_reader_new(NULL)};

	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		enum imapd_read ev = feed_str(&t, bad_cases[i].in);

		if (ev != IMAPD_BAD || strcmp(t.tag, bad_cases[i].tag) != 0 ||
		    strstr(t.why, bad_cases[i].why) == NULL)
			fail_msg("%s: event %d, tag '%s', why '%s'", bad_cases[i].name, ev,
			         ev == IMAPD_BAD ? t.tag : "", ev == IMAPD_BAD ? t.why : "");
		/* The next command reads as if nothing happened. */
		assert_int_equal(feed_str(&t, "ok NOOP\r\n"), IMAPD_COMMAND);
	}
	imapd_reader_free(t.r);
}

static void caps_drop_the_command_and_resync(void **state)
{
	const struct imapd_limits lim = {
	    .line_max = 8192, .literal_max = 10, .depth_max = 3, .args_max = 5};
	struct run t = {.r = imapd_reader_new(&lim)};
	char *line = malloc(10000), deep[64];

	(void)state;
	/* a line too long, fed in two pieces */
	snprintf(line, 10000, "l1 SELECT %09000d", 0);
	assert_int_equal(feed_str(&t, line), IMAPD_NEED_MORE);
	assert_int_equal(feed_str(&t, "\r\n"), IMAPD_BAD);
	assert_string_equal(t.tag, "l1");
	assert_string_equal(t.why, "line too long");
	assert_int_equal(feed_str(&t, "l2 NOOP\r\n"), IMAPD_COMMAND);
	/* a synchronizing literal too big: refused before the client sends it */
	assert_int_equal(feed_str(&t, "l3 APPEND INBOX {11}\r\n"), IMAPD_BAD);
	assert_string_equal(t.why, "literal too big");
	assert_int_equal(feed_str(&t, "l4 NOOP\r\n"), IMAPD_COMMAND);
	/* LITERAL+ too big: its bytes (up to 10^18) are not followed; the
	 * session answers BAD [TOOBIG] and ends */
	assert_int_equal(feed_str(&t, "l5 APPEND INBOX {20+}\r\n0123456789abcdefghij\r\n"),
	                 IMAPD_TOOBIG);
	assert_string_equal(t.tag, "l5");
	assert_string_equal(t.why, "literal too big");
	assert_int_equal(t.used, 23);
	imapd_reader_free(t.r);
	t.r = imapd_reader_new(&lim);
	assert_int_equal(feed_str(&t, "l6 NOOP\r\n"), IMAPD_COMMAND);
	/* lists too deep */
	snprintf(deep, sizeof(deep), "l7 FETCH 1 ((((FLAGS))))\r\n");
	assert_int_equal(feed_str(&t, deep), IMAPD_BAD);
	assert_string_equal(t.why, "lists nested too deep");
	/* too many arguments */
	assert_int_equal(feed_str(&t, "l8 X a b c d e f\r\n"), IMAPD_BAD);
	assert_string_equal(t.why, "too many arguments");
	/* a NUL byte outside a literal */
	assert_int_equal(feed(&t, "l9 SELECT IN\0BOX\r\n", 18), IMAPD_BAD);
	assert_string_equal(t.why, "a NUL byte in a command");
	assert_string_equal(t.tag, "l9");
	assert_int_equal(feed_str(&t, "l10 NOOP\r\n"), IMAPD_COMMAND);
	assert_string_equal(t.cmd->tag, "l10");
	free(line);
	imapd_reader_free(t.r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(simple_commands),
	    cmocka_unit_test(strings_nil_and_wildcards),
	    cmocka_unit_test(literals_synchronizing_and_plus),
	    cmocka_unit_test(fetch_sections_stay_whole),
	    cmocka_unit_test(one_byte_at_a_time),
	    cmocka_unit_test(malformed_commands_are_bad_and_dropped),
	    cmocka_unit_test(an_open_bracket_without_its_close_is_part_of_an_atom),
	    cmocka_unit_test(caps_drop_the_command_and_resync),
	    cmocka_unit_test(literal8_in_a_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
