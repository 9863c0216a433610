/*
 * Unit tests for SEARCH (imapd/search.h): every key parses, what does not
 * parse says why, keys evaluated over a fake folder (flags and dates from
 * the view, text from decoded content, the message read at most once and
 * only when needed), and the SEARCH / ESEARCH answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imapd/parse.h"
#include "imapd/search.h"

#define NMSGS  6
#define MAXUID 12

/* Parses "t SEARCH <keys>" as the server's reader does, then the keys. */
static enum search_parsed parse(const char *keys, struct search_query *q, char *err)
{
	struct imapd_reader *r = imapd_reader_new(NULL);
	char *line = NULL;
	size_t used = 0;
	const struct imapd_cmd *cmd = NULL;
	const char *tag = NULL;
	char why[128];
	enum search_parsed rc;
	int n = asprintf(&line, "t SEARCH %s\r\n", keys);

	assert_true(n > 0);
	if (imapd_read(r, line, (size_t)n, &used, &cmd, &tag, why, sizeof(why)) != IMAPD_COMMAND)
		fail_msg("the reader refused '%s': %s", keys, why);
	rc = search_parse(cmd->args, cmd->nargs, NMSGS, MAXUID, q, err, 160);
	imapd_reader_free(r);
	free(line);
	return rc;
}

/* The fake folder. */
struct fake {
	uint32_t uid;
	const char *flags;
	bool recent;
	const char *internal; /* "YYYY-MM-DD HH:MM" UTC (the tests run in UTC) */
	const char *raw;      /* NULL: the file is gone */
};

/* How often each message was read, and its size asked for. */
static unsigned loads[NMSGS], sizes[NMSGS];

static struct fake folder[NMSGS] = {
    {1, "S", false, "2024-01-01 12:00",
     "From: Alice Liddell <alice@example.org>\nTo: bob@example.com\nSubject: Hello world\n"
     "Date: Mon, 01 Jan 2024 10:00:00 +0000\n\nplain text body\n"},
    {3, "FR", false, "2024-01-05 08:00",
     "From: carol@example.net\nTo: bob@example.com\nCc: Dave <dave@example.net>\n"
     "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\nDate: 5 Jan 24 09:00 -0500\n"
     "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
     "Der K=C3=84SE ist teuer.\n"},
    {4, "DT", true, "2024-02-01 00:30",
     "From: eve@example.org\nBcc: frank@example.org\nSubject: parts\n"
     "Date: Tue, 02 Jan 2024 01:00:00 +0200\nMIME-Version: 1.0\n"
     "Content-Type: multipart/mixed; boundary=XX\n\n--XX\n"
     "Content-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: base64\n\n"
     "c2VjcmV0IGJhc2U2NCB3b3Jkcw==\n--XX\n"
     "Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
     "aGlkZGVuIGJpbmFyeQ==\n--XX--\n"},
    {7, "a", true, "2024-02-10 23:00",
     "From: bob@example.com\nSubject: no date here\n\nlabelled\n"},
    {9, "ab", false, "2023-12-31 23:59",
     "From: =?ISO-8859-1?Q?J=F6rg?= <joerg@example.de>\nX-Custom: Foo Bar\n"
     "Subject: =?ISO-8859-1?B?wVJWzVo=?=\nDate: Sun, 31 Dec 2023 23:00:00 +0000\n\nxx\n"},
    {12, "S", true, "2024-03-01 12:00", NULL},
};

static struct keywords kw = {.names = {"$Label", "Work"}, .n = 2};

static uint64_t fake_size(void *arg)
{
	struct fake *f = arg;
	uint64_t n = 0;

	sizes[f - folder]++;
	if (f->raw == NULL)
		return 0;
	for (const char *p = f->raw; *p; p++)
		n += *p == '\n' ? 2 : 1;
	return n;
}

static char *fake_load(void *arg, size_t *len)
{
	struct fake *f = arg;

	loads[f - folder]++;
	if (f->raw == NULL)
		return NULL;
	*len = strlen(f->raw);
	return strdup(f->raw);
}

static time_t utc(const char *s)
{
	struct tm tm = {0};

	if (strptime(s, "%Y-%m-%d %H:%M", &tm) == NULL)
		fail_msg("bad test date %s", s);
	return timegm(&tm);
}

/* The sequence numbers that match, as "1,3"; load and size calls counted. */
static void run(const struct search_query *q, char *out, size_t outlen)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < NMSGS; i++) {
		struct fake *f = &folder[i];
		struct search_msg m = {
		    .seq = (uint32_t)(i + 1),
		    .uid = f->uid,
		    .flags = f->flags,
		    .recent = f->recent,
		    .internal = utc(f->internal),
		    .kw = &kw,
		    .size = fake_size,
		    .load = fake_load,
		    .arg = f,
		};

		if (search_match(q->key, &m))
			o += (size_t)snprintf(out + o, outlen - o, "%s%zu", o ? "," : "", i + 1);
	}
}

static unsigned total_loads(void)
{
	unsigned n = 0;

	for (size_t i = 0; i < NMSGS; i++) {
		n += loads[i];
		if (loads[i] > 1)
			fail_msg("message %zu was read %u times", i + 1, loads[i]);
		loads[i] = 0;
		sizes[i] = 0;
	}
	return n;
}

struct evalcase {
	const char *keys;
	const char *want; /* matching sequence numbers */
};

static void check_cases(const struct evalcase *c, size_t n, bool may_read)
{
	for (size_t i = 0; i < n; i++) {
		struct search_query q;
		char err[160], got[64];

		if (parse(c[i].keys, &q, err) != SEARCH_OK)
			fail_msg("'%s' refused: %s", c[i].keys, err);
		run(&q, got, sizeof(got));
		search_query_free(&q);
		if (strcmp(got, c[i].want) != 0)
			fail_msg("'%s' matched '%s', not '%s'", c[i].keys, got, c[i].want);
		if (total_loads() > 0 && !may_read)
			fail_msg("'%s' read a message file", c[i].keys);
	}
}

static void every_key_parses(void **state)
{
	static const char *const all[] = {
	    "ALL",
	    "ANSWERED",
	    "BCC x",
	    "BEFORE 1-Feb-1994",
	    "BODY x",
	    "CC x",
	    "DELETED",
	    "DRAFT",
	    "FLAGGED",
	    "FROM x",
	    "HEADER X-Y z",
	    "KEYWORD $Label",
	    "LARGER 100",
	    "NEW",
	    "NOT SEEN",
	    "OLD",
	    "ON 01-Feb-1994",
	    "OR SEEN DRAFT",
	    "RECENT",
	    "SEEN",
	    "SENTBEFORE 1-Feb-1994",
	    "SENTON \"1-Feb-1994\"",
	    "SENTSINCE 1-FEB-1994",
	    "SINCE 29-Feb-2024",
	    "SMALLER 18446744073709551615",
	    "SUBJECT \"two words\"",
	    "TEXT x",
	    "TO x",
	    "UID 1:*",
	    "UNANSWERED",
	    "UNDELETED",
	    "UNDRAFT",
	    "UNFLAGGED",
	    "UNKEYWORD Work",
	    "UNSEEN",
	    "1,3:*",
	    "*",
	    "(SEEN FLAGGED)",
	    "((SEEN))",
	    "CHARSET UTF-8 BODY x",
	    "CHARSET us-ascii ALL",
	    "RETURN () ALL",
	    "RETURN (MIN MAX COUNT ALL) CHARSET UTF-8 SEEN",
	    "seen",
	    "SUBJECT {3+}\r\nabc",
	    "SUBJECT NIL",
	    "not or seen draft flagged",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		struct search_query q;
		char err[160];

		if (parse(all[i], &q, err) != SEARCH_OK)
			fail_msg("'%s' refused: %s", all[i], err);
		assert_non_null(q.key);
		search_query_free(&q);
	}
}

static void bad_syntax_is_refused_with_a_reason(void **state)
{
	static const struct {
		const char *keys, *why;
	} bad[] = {
	    {"FOO", "unknown search key FOO"},
	    {"BEFORE", "BEFORE needs an argument"},
	    {"BEFORE 1994-02-01", "not a date"},
	    {"BEFORE 30-Feb-1994", "not a date"},
	    {"ON 1-Fbr-1994", "not a date"},
	    {"LARGER x", "not a number"},
	    {"LARGER 99999999999999999999", "not a number"},
	    {"UID 0", "not a UID set"},
	    {"0:3", "not a sequence set"},
	    {"1,", "not a sequence set"},
	    {"OR SEEN", "missing at the end"},
	    {"NOT", "missing at the end"},
	    {"HEADER", "HEADER needs a field name"},
	    {"HEADER Subject", "SUBJECT needs"},
	    {"()", "an empty group"},
	    {"RETURN ALL", "RETURN needs a list"},
	    {"RETURN (SAVE) ALL", "unknown RETURN option SAVE"},
	    {"RETURN (MIN)", "SEARCH needs a search key"},
	    {"CHARSET", "CHARSET needs a name"},
	    {"", "SEARCH needs a search key"},
	    {"KEYWORD", "KEYWORD needs an argument"},
	    {"SUBJECT (a)", "SUBJECT needs an argument"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct search_query q;
		char err[160] = "";
		enum search_parsed rc = parse(bad[i].keys, &q, err);

		if (rc != SEARCH_BAD)
			fail_msg("'%s' was taken", bad[i].keys);
		if (strstr(err, bad[i].why) == NULL &&
		    !(strcmp(bad[i].why, "SUBJECT needs") == 0 && strstr(err, "HEADER needs")))
			fail_msg("'%s': '%s' does not say '%s'", bad[i].keys, err, bad[i].why);
		assert_null(q.key);
	}
}

static void other_charsets_are_badcharset(void **state)
{
	struct search_query q;
	char err[160];

	(void)state;
	assert_int_equal(parse("CHARSET ISO-8859-1 BODY x", &q, err), SEARCH_BADCHARSET);
	assert_null(q.key);
}

static void deep_nesting_is_refused_not_a_crash(void **state)
{
	char keys[4096] = "";
	struct search_query q;
	char err[160];

	(void)state;
	for (int i = 0; i < 500; i++)
		strcat(keys, "NOT ");
	strcat(keys, "SEEN");
	assert_int_equal(parse(keys, &q, err), SEARCH_BAD);
	assert_non_null(strstr(err, "nested too deeply"));
}

static void view_keys_read_no_message(void **state)
{
	static const struct evalcase c[] = {
	    {"ALL", "1,2,3,4,5,6"}, /* 6 is gone, but the view says enough */
	    {"SEEN", "1,6"},
	    {"UNSEEN", "2,3,4,5"},
	    {"ANSWERED", "2"},
	    {"UNANSWERED", "1,3,4,5,6"},
	    {"FLAGGED", "2"},
	    {"UNFLAGGED", "1,3,4,5,6"},
	    {"DELETED", "3"},
	    {"UNDELETED", "1,2,4,5,6"},
	    {"DRAFT", "3"},
	    {"UNDRAFT", "1,2,4,5,6"},
	    {"KEYWORD $Label", "4,5"},
	    {"KEYWORD $label", "4,5"},
	    {"KEYWORD Work", "5"},
	    {"KEYWORD Nothing", ""},
	    {"UNKEYWORD Work", "1,2,3,4,6"},
	    {"UNKEYWORD Nothing", "1,2,3,4,5,6"},
	    {"RECENT", "3,4,6"},
	    {"NEW", "3,4"},
	    {"OLD", "1,2,5"},
	    {"BEFORE 1-Jan-2024", "5"},
	    {"ON 1-Jan-2024", "1"},
	    {"SINCE 1-Feb-2024", "3,4,6"},
	    {"SINCE 5-Jan-2024 BEFORE 10-Feb-2024", "2,3"},
	    {"2:3", "2,3"},
	    {"4:*", "4,5,6"},
	    {"*", "6"},
	    {"UID 3:7", "2,3,4"},
	    {"UID *", "6"},
	    {"UID 8,1", "1"},
	    {"NOT SEEN", "2,3,4,5"},
	    {"OR SEEN FLAGGED", "1,2,6"},
	    {"OR (SEEN ON 1-Jan-2024) DRAFT", "1,3"},
	    {"NOT OR SEEN KEYWORD Work", "2,3,4"},
	    {"(UNSEEN UNDELETED) NOT 2", "4,5"},
	};

	(void)state;
	check_cases(c, sizeof(c) / sizeof(c[0]), false);
}

static void text_keys_match_decoded_content(void **state)
{
	static const struct evalcase c[] = {
	    {"FROM alice", "1"},
	    {"FROM \"alice liddell\"", "1"},
	    {"FROM J\xc3\xb6rg", "5"}, /* RFC 2047, ISO-8859-1 */
	    {"FROM J\xc3\x96RG", "5"}, /* case folded beyond ASCII */
	    {"SUBJECT {7+}\r\ngr\xc3\xbc\xc3\x9f"
	     "e",
	     "2"},                                /* a literal, UTF-8 */
	    {"SUBJECT \xc3\xa1rv\xc3\xadz", "5"}, /* B-encoded ISO-8859-1, folded */
	    {"TO bob", "1,2"},
	    {"CC dave", "2"},
	    {"BCC frank", "3"},
	    {"HEADER X-Custom \"foo b\"", "5"},
	    {"HEADER x-custom \"\"", "5"}, /* an empty string: the field is there */
	    {"HEADER Subject \"\"", "1,2,3,4,5"},
	    {"SUBJECT world", "1"},
	    {"BODY \"PLAIN TEXT\"", "1"},
	    {"BODY k\xc3\xa4se", "2"},      /* quoted-printable, UTF-8, folded */
	    {"BODY \"base64 words\"", "3"}, /* a base64 text part */
	    {"BODY hidden", ""},            /* not a text part */
	    {"BODY Subject", ""},           /* no header in BODY */
	    {"TEXT Subject", "1,2,3,4,5"},
	    {"TEXT \"base64 words\"", "3"},
	    {"TEXT application/octet", "3"}, /* a part's header is text */
	    {"TEXT labelled", "4"},
	    {"SENTON 1-Jan-2024", "1"},
	    {"SENTON 2-Jan-2024", "3"}, /* the date written, not the UTC one */
	    {"SENTON 5-Jan-2024", "2"}, /* a two-digit year */
	    {"SENTBEFORE 1-Jan-2024", "5"},
	    {"SENTSINCE 2-Jan-2024", "2,3"},
	    {"NOT SENTSINCE 2-Jan-2024", "1,4,5"}, /* no Date: no SENT* matches */
	    {"LARGER 100", "1,2,3,5"},
	    {"SMALLER 100", "4"},
	    {"LARGER 57 SMALLER 59", "4"}, /* the CRLF size: 54 bytes + 4 line ends */
	    {"OR BODY teuer SUBJECT hello", "1,2"},
	    {"BODY x", "1,5"},
	    {"NOT BODY x", "2,3,4"}, /* 6 is gone: it matches nothing, NOT or not */
	};

	(void)state;
	check_cases(c, sizeof(c) / sizeof(c[0]), true);
}

static void cheap_keys_spare_reading(void **state)
{
	struct search_query q;
	char err[160], got[64];

	(void)state;
	total_loads();
	/* BODY comes after SEEN however it is written: only the seen ones (1 and
	 * 6) are read. */
	assert_int_equal(parse("BODY plain SEEN", &q, err), SEARCH_OK);
	run(&q, got, sizeof(got));
	search_query_free(&q);
	assert_string_equal(got, "1");
	assert_int_equal(loads[0], 1);
	assert_int_equal(loads[5], 1);
	assert_int_equal(total_loads(), 2);
	/* Many content keys: each message read once. */
	assert_int_equal(
	    parse("BODY a SUBJECT b TEXT c FROM d OR SENTON 1-Jan-2024 LARGER 3", &q, err),
	    SEARCH_OK);
	run(&q, got, sizeof(got));
	search_query_free(&q);
	assert_true(total_loads() <= NMSGS);
	/* A size after reading: counted from what was read, not asked again. */
	assert_int_equal(parse("OR BODY plain (SUBJECT x LARGER 1)", &q, err), SEARCH_OK);
	run(&q, got, sizeof(got));
	search_query_free(&q);
	assert_string_equal(got, "1");
	for (size_t i = 0; i < NMSGS; i++)
		assert_int_equal(sizes[i], 0);
	total_loads();
}

static void answers(void **state)
{
	static const uint32_t ids[] = {1, 2, 3, 9, 11, 12};
	static const struct {
		const char *keys;
		bool uid;
		size_t n;
		const char *want;
	} c[] = {
	    {"ALL", false, 4, "* SEARCH 1 2 3 9\r\n"},
	    {"ALL", true, 0, "* SEARCH\r\n"},
	    {"RETURN () ALL", false, 6, "* ESEARCH (TAG \"t\") ALL 1:3,9,11:12\r\n"},
	    {"RETURN (MIN MAX COUNT ALL) ALL", true, 4,
	     "* ESEARCH (TAG \"t\") UID MIN 1 MAX 9 ALL 1:3,9 COUNT 4\r\n"},
	    {"RETURN (COUNT) ALL", false, 0, "* ESEARCH (TAG \"t\") COUNT 0\r\n"},
	    {"RETURN (MIN MAX ALL) ALL", true, 0, "* ESEARCH (TAG \"t\") UID\r\n"},
	    {"RETURN (MAX) ALL", false, 1, "* ESEARCH (TAG \"t\") MAX 1\r\n"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct search_query q;
		struct buf b;
		char err[160];

		assert_int_equal(parse(c[i].keys, &q, err), SEARCH_OK);
		buf_init(&b, 4096);
		search_answer(&b, &q, "t", c[i].uid, ids, c[i].n);
		assert_string_equal(buf_cstr(&b), c[i].want);
		buf_free(&b);
		search_query_free(&q);
	}
}

static void folding(void **state)
{
	char s[] = "ABC \xc3\x84\xc3\x96\xc3\x9c \xc3\x89 \xce\xa3 \xd0\x96 \xc4\x80 \xc5\x81 "
	           "\xc3\x97 \xe2\x82\xac";

	(void)state;
	search_fold(s, strlen(s));
	assert_string_equal(s, "abc \xc3\xa4\xc3\xb6\xc3\xbc \xc3\xa9 \xcf\x83 \xd0\xb6 \xc4\x81 "
	                       "\xc5\x82 \xc3\x97 \xe2\x82\xac");
	assert_int_equal(search_day(1970, 1, 1), 0);
	assert_int_equal(search_day(2024, 3, 1) - search_day(2024, 2, 28), 2);
	assert_int_equal(search_day(1969, 12, 31), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_key_parses),
	    cmocka_unit_test(bad_syntax_is_refused_with_a_reason),
	    cmocka_unit_test(other_charsets_are_badcharset),
	    cmocka_unit_test(deep_nesting_is_refused_not_a_crash),
	    cmocka_unit_test(view_keys_read_no_message),
	    cmocka_unit_test(text_keys_match_decoded_content),
	    cmocka_unit_test(cheap_keys_spare_reading),
	    cmocka_unit_test(answers),
	    cmocka_unit_test(folding),
	};

	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
