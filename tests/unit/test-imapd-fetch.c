/*
 * Unit tests for FETCH's content answers (imapd/fetch-body.h): the
 * BODY[section]<partial> items clients send, the bytes of each section,
 * BODY and BODYSTRUCTURE, ENVELOPE. The expected answers are Dovecot
 * 2.3's for the same messages (tests/integration/test-serve-fetch.sh
 * compares the two servers on many more).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "imapd/fetch-body.h"
#include "util/buf.h"

/* The messages are written with LF; what FETCH reads has CRLF. */
static char *crlf(const char *lf, size_t *len)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	for (const char *p = lf; *p; p++) {
		if (*p == '\n')
			buf_putc(&b, '\r');
		buf_putc(&b, *p);
	}
	return buf_steal(&b, len);
}

static const char plain[] = "From: \"Anna Example\" <anna@example.org>\n"
                            "To: Ben <ben@example.net>, carl@example.com (Carl)\n"
                            "Subject: Lunch\n"
                            "Message-ID: <p1@example.org>\n"
                            "Content-Type: text/plain; charset=UTF-8\n"
                            "\n"
                            "Hi Ben,\n"
                            "Friday?\n";

static const char mixed[] = "From: a@example.com\n"
                            "Subject: mixed\n"
                            "Content-Type: multipart/mixed; boundary=\"b1\"\n"
                            "\n"
                            "preamble\n"
                            "--b1\n"
                            "Content-Type: text/plain\n"
                            "\n"
                            "one\n"
                            "--b1\n"
                            "Content-Type: message/rfc822\n"
                            "\n"
                            "From: x@example.com\n"
                            "Subject: inner\n"
                            "\n"
                            "inner body\n"
                            "--b1\n"
                            "Content-Type: application/pdf; name=\"r.pdf\"\n"
                            "Content-Transfer-Encoding: base64\n"
                            "Content-Disposition: attachment; filename=\"r.pdf\"\n"
                            "\n"
                            "JVBERi0=\n"
                            "--b1--\n";

static const char no_body[] = "From: nobody@example.com\nSubject: no body\n";

static const struct {
	const char *item;
	bool peek, partial;
	const char *label;
	size_t nparts;
	enum fetch_sec_kind kind;
	uint64_t off, count;
} items[] = {
    {"BODY[]", false, false, "BODY[]", 0, FSEC_ALL, 0, 0},
    {"BODY.PEEK[]<0.100>", true, true, "BODY[]", 0, FSEC_ALL, 0, 100},
    {"body.peek[header]", true, false, "BODY[HEADER]", 0, FSEC_HEADER, 0, 0},
    {"BODY[TEXT]", false, false, "BODY[TEXT]", 0, FSEC_TEXT, 0, 0},
    {"BODY.PEEK[1]<0.393216>", true, true, "BODY[1]", 1, FSEC_ALL, 0, 393216}, /* iOS */
    {"BODY[1.2.3]", false, false, "BODY[1.2.3]", 3, FSEC_ALL, 0, 0},
    {"BODY[2.MIME]", false, false, "BODY[2.MIME]", 1, FSEC_MIME, 0, 0},
    {"BODY[2.header]", false, false, "BODY[2.HEADER]", 1, FSEC_HEADER, 0, 0},
    {"BODY[2.TEXT]<5.7>", false, true, "BODY[2.TEXT]", 1, FSEC_TEXT, 5, 7},
    {"BODY.PEEK[HEADER.FIELDS (From To)]<0.100>", true, true, "BODY[HEADER.FIELDS (FROM TO)]", 0,
     FSEC_FIELDS, 0, 100},
    {"BODY[HEADER.FIELDS.NOT (Received)]", false, false, "BODY[HEADER.FIELDS.NOT (RECEIVED)]", 0,
     FSEC_FIELDS_NOT, 0, 0},
    {"BODY[2.HEADER.FIELDS (subject)]", false, false, "BODY[2.HEADER.FIELDS (SUBJECT)]", 1,
     FSEC_FIELDS, 0, 0},
};

static const char *const bad_items[] = {
    "BODY",
    "BODY[",
    "BODY[]x",
    "BODY[0]",
    "BODY[MIME]",
    "BODY[1.]",
    "BODY[FOO]",
    "BODY[]<1>",
    "BODY[]<1.0>",
    "BODY[]<a.b>",
    "BODY[HEADER.FIELDS]",
    "BODY[HEADER.FIELDS ()]",
    "BODY[HEADER.FIELDS (From]",
    "BODYX[]",
    "BODY.PEEK",
    "BODY[1.TEXT.MIME]",
};

static void sections_clients_send_are_read_and_echoed(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
		struct fetch_section sec;

		if (fetch_section_parse(items[i].item, strlen(items[i].item), &sec) != 0)
			fail_msg("'%s' was refused", items[i].item);
		assert_string_equal(sec.label, items[i].label);
		assert_int_equal(sec.peek, items[i].peek);
		assert_int_equal(sec.partial, items[i].partial);
		assert_int_equal(sec.nparts, items[i].nparts);
		assert_int_equal(sec.kind, items[i].kind);
		assert_int_equal(sec.off, items[i].off);
		assert_int_equal(sec.count, items[i].count);
	}
}

static void what_is_not_a_section_is_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_items) / sizeof(bad_items[0]); i++) {
		struct fetch_section sec;

		if (fetch_section_parse(bad_items[i], strlen(bad_items[i]), &sec) == 0)
			fail_msg("'%s' was taken", bad_items[i]);
	}
}

static const struct {
	const char *name;
	const char *msg; /* LF; made CRLF */
	const char *item;
	const char *want; /* LF; made CRLF */
} sections[] = {
    {"the text of a single part message is its part 1", plain, "BODY[1]", "Hi Ben,\nFriday?\n"},
    {"a single part message has no part 2", plain, "BODY[2]", ""},
    {"header ends with its empty line", no_body, "BODY[HEADER]", no_body},
    {"fields asked for, in message order, then the empty line", plain,
     "BODY[HEADER.FIELDS (subject from)]",
     "From: \"Anna Example\" <anna@example.org>\nSubject: Lunch\n\n"},
    {"fields not asked for", plain, "BODY[HEADER.FIELDS.NOT (From To Content-Type)]",
     "Subject: Lunch\nMessage-ID: <p1@example.org>\n\n"},
    {"fields not asked for, of a header without its empty line", no_body,
     "BODY[HEADER.FIELDS.NOT (Subject)]", "From: nobody@example.com\n"},
    {"a part of a multipart ends before the delimiter's line end", mixed, "BODY[1]", "one"},
    {"the MIME header of a part", mixed, "BODY[1.MIME]", "Content-Type: text/plain\n\n"},
    {"a message/rfc822 part is the whole message in it", mixed, "BODY[2]",
     "From: x@example.com\nSubject: inner\n\ninner body"},
    {"the header of the message in part 2", mixed, "BODY[2.HEADER]",
     "From: x@example.com\nSubject: inner\n\n"},
    {"the text of the message in part 2", mixed, "BODY[2.TEXT]", "inner body"},
    {"part 2.1 is the body of the message in part 2", mixed, "BODY[2.1]", "inner body"},
    {"fields of the message in part 2", mixed, "BODY[2.HEADER.FIELDS (Subject)]",
     "Subject: inner\n\n"},
    {"HEADER of a part that is not a message is empty", mixed, "BODY[1.HEADER]", ""},
    {"the attachment, still encoded", mixed, "BODY[3]", "JVBERi0="},
    {"a part that does not exist is empty", mixed, "BODY[4]", ""},
    {"nor does a part below a leaf", mixed, "BODY[1.2]", ""},
};

static void each_section_is_the_bytes_dovecot_sends(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		struct fetch_section sec;
		struct fetch_msg fm;
		struct buf out;
		size_t len, wlen;
		char *m = crlf(sections[i].msg, &len), *want = crlf(sections[i].want, &wlen);

		assert_int_equal(
		    fetch_section_parse(sections[i].item, strlen(sections[i].item), &sec), 0);
		fetch_msg_init(&fm, m, len);
		buf_init(&out, 1 << 20);
		fetch_section_get(&fm, &sec, &out);
		if (out.len != wlen || (wlen > 0 && memcmp(out.data, want, wlen) != 0))
			fail_msg("%s: %s is \"%s\", not \"%s\"", sections[i].name, sections[i].item,
			         buf_cstr(&out), want);
		buf_free(&out);
		fetch_msg_free(&fm);
		free(m);
		free(want);
	}
}

static const struct {
	const char *name;
	const char *msg;
	bool extensible;
	const char *want;
} structures[] = {
    {"a text part: its charset, size and lines counted with CRLF", plain, true,
     "(\"text\" \"plain\" (\"charset\" \"UTF-8\") NIL NIL \"7bit\" 18 2 NIL NIL NIL NIL)"},
    {"no Content-Type: text/plain us-ascii, and no body: 0 0", no_body, false,
     "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)"},
    {"a multipart with a message/rfc822 and an attachment", mixed, true,
     "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 0 NIL NIL NIL NIL)"
     "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 49 (NIL \"inner\" ((NIL NIL \"x\" "
     "\"example.com\")) ((NIL NIL \"x\" \"example.com\")) ((NIL NIL \"x\" \"example.com\")) NIL "
     "NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 0 NIL "
     "NIL NIL NIL) 3 NIL NIL NIL NIL)"
     "(\"application\" \"pdf\" (\"name\" \"r.pdf\") NIL NIL \"base64\" 8 NIL (\"attachment\" "
     "(\"filename\" \"r.pdf\")) NIL NIL) \"mixed\" (\"boundary\" \"b1\") NIL NIL NIL)"},
    {"BODY has no extension data", mixed, false,
     "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 0)"
     "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 49 (NIL \"inner\" ((NIL NIL \"x\" "
     "\"example.com\")) ((NIL NIL \"x\" \"example.com\")) ((NIL NIL \"x\" \"example.com\")) NIL "
     "NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 0) 3)"
     "(\"application\" \"pdf\" (\"name\" \"r.pdf\") NIL NIL \"base64\" 8) \"mixed\")"},
    {"RFC 2231 pieces are merged, names keep their case",
     "Content-Type: application/octet-stream;\n NAME*0*=utf-8''a%20;\n NAME*1=\"b.txt\"\n\nx\n",
     true,
     "(\"application\" \"octet-stream\" (\"NAME*\" \"utf-8''a%20b.txt\") NIL NIL \"7bit\" 3 NIL "
     "NIL NIL NIL)"},
    {"a multipart whose boundary never shows up has one empty part",
     "Content-Type: multipart/mixed; boundary=x\n\nno delimiter\n", true,
     "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) "
     "\"mixed\" (\"boundary\" \"x\") NIL NIL NIL)"},
    {"a Content-Type with garbage after the subtype is \"\" \"\"",
     "Content-Type: multipart/mixed boundary=x\n\n--x\n\ny\n--x--\n", true,
     "(\"\" \"\" NIL NIL NIL \"7bit\" 17 NIL NIL NIL NIL)"},
};

static void body_structures_are_dovecots(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(structures) / sizeof(structures[0]); i++) {
		struct fetch_msg fm;
		struct buf out;
		size_t len;
		char *m = crlf(structures[i].msg, &len);

		fetch_msg_init(&fm, m, len);
		buf_init(&out, 1 << 20);
		fetch_bodystructure(&fm, structures[i].extensible, &out);
		if (strcmp(buf_cstr(&out), structures[i].want) != 0)
			fail_msg("%s:\n got %s\nwant %s", structures[i].name, buf_cstr(&out),
			         structures[i].want);
		buf_free(&out);
		fetch_msg_free(&fm);
		free(m);
	}
}

static const struct {
	const char *name;
	const char *header;
	const char *want;
} envelopes[] = {
    {"names quoted, a comment as a name, Sender and Reply-To from From", plain,
     "(NIL \"Lunch\" ((\"Anna Example\" NIL \"anna\" \"example.org\")) ((\"Anna Example\" NIL "
     "\"anna\" \"example.org\")) ((\"Anna Example\" NIL \"anna\" \"example.org\")) ((\"Ben\" NIL "
     "\"ben\" \"example.net\")(\"Carl\" NIL \"carl\" \"example.com\")) NIL NIL NIL "
     "\"<p1@example.org>\")"},
    {"groups open with their name and close with NILs",
     "To: undisclosed-recipients:;\nCc: team: a@x.example, b@y.example;\n\n",
     "(NIL NIL NIL NIL NIL ((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) ((NIL NIL "
     "\"team\" NIL)(NIL NIL \"a\" \"x.example\")(NIL NIL \"b\" \"y.example\")(NIL NIL NIL NIL)) "
     "NIL "
     "NIL NIL)"},
    {"a route, and a missing domain filled in", "From: <@relay.example:u@d.example>\nTo: root\n\n",
     "(NIL NIL ((NIL \"@relay.example\" \"u\" \"d.example\")) ((NIL \"@relay.example\" \"u\" "
     "\"d.example\")) ((NIL \"@relay.example\" \"u\" \"d.example\")) ((NIL NIL \"root\" "
     "\"MISSING_DOMAIN\")) NIL NIL NIL NIL)"},
    {"encoded words are sent raw; a folded subject as a literal",
     "Subject: =?UTF-8?Q?caf=C3=A9?=\n\tand more\n\n",
     "(NIL {30}\r\n=?UTF-8?Q?caf=C3=A9?= and more NIL NIL NIL NIL NIL NIL NIL NIL)"},
    {"8-bit bytes are sent as a literal", "Subject: caf\xc3\xa9\n\n",
     "(NIL {5}\r\ncaf\xc3\xa9 NIL NIL NIL NIL NIL NIL NIL NIL)"},
    {"a field that comes twice: the last one; addresses: all",
     "Subject: first\nSubject: second\nTo: x@e.example\nTo: y@e.example\n\n",
     "(NIL \"second\" NIL NIL NIL ((NIL NIL \"x\" \"e.example\")(NIL NIL \"y\" \"e.example\")) NIL "
     "NIL NIL NIL)"},
    {"a name with quotes is a literal", "From: \"A \\\"B\\\" C\" <a@b.example>\n\n",
     "(NIL NIL (({7}\r\nA \"B\" C NIL \"a\" \"b.example\")) (({7}\r\nA \"B\" C NIL \"a\" "
     "\"b.example\")) (({7}\r\nA \"B\" C NIL \"a\" \"b.example\")) NIL NIL NIL NIL NIL)"},
};

static void envelopes_are_dovecots(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(envelopes) / sizeof(envelopes[0]); i++) {
		struct fetch_msg fm;
		struct buf out;
		size_t len;
		char *m = crlf(envelopes[i].header, &len);

		fetch_msg_init(&fm, m, len);
		buf_init(&out, 1 << 20);
		fetch_envelope(&fm, &out);
		if (strcmp(buf_cstr(&out), envelopes[i].want) != 0)
			fail_msg("%s:\n got %s\nwant %s", envelopes[i].name, buf_cstr(&out),
			         envelopes[i].want);
		buf_free(&out);
		fetch_msg_free(&fm);
		free(m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(sections_clients_send_are_read_and_echoed),
	    cmocka_unit_test(what_is_not_a_section_is_refused),
	    cmocka_unit_test(each_section_is_the_bytes_dovecot_sends),
	    cmocka_unit_test(body_structures_are_dovecots),
	    cmocka_unit_test(envelopes_are_dovecots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
