/*
 * Unit tests for the message parser: header index, RFC 2047, charsets,
 * addresses, Message-ID, MIME tree and transfer decodings, hard caps, and
 * every message in tests/data/msg ($CORRAL_TESTDATA/msg).
 * Each table row is its own test, named after the behaviour it pins down.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "mail/message.h"
#include "mail/message-int.h"
#include "util/buf.h"

#define RAW(s) s, sizeof(s) - 1

/* An independent UTF-8 check (no overlongs, surrogates, > U+10FFFF). */
static bool utf8_ok(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		uint32_t cp;
		size_t len;

		if (u[i] < 0x80) {
			i++;
			continue;
		}
		if ((u[i] & 0xE0) == 0xC0) {
			len = 2;
			cp = u[i] & 0x1F;
		} else if ((u[i] & 0xF0) == 0xE0) {
			len = 3;
			cp = u[i] & 0x0F;
		} else if ((u[i] & 0xF8) == 0xF0) {
			len = 4;
			cp = u[i] & 0x07;
		} else {
			return false;
		}
		if (i + len > n)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((u[i + k] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (u[i + k] & 0x3F);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += len;
	}
	return true;
}

static void assert_utf8(const char *s)
{
	if (s && !utf8_ok(s, strlen(s)))
		fail_msg("not valid UTF-8: '%s'", s);
}

/* ---- header index ---- */

struct hdr_case {
	const char *name;
	const char *msg;
	size_t len;
	const char *field;  /* looked up with msg_get() */
	const char *want;   /* decoded, or NULL when absent */
	size_t count;       /* occurrences of field */
	const char *body;   /* the bytes at body_start, up to the end */
	const char *unfold; /* msg_header_unfold() of the first one, or NULL */
};

static const struct hdr_case hdr_cases[] = {
    {"header_lf_only_message_is_indexed", RAW("Subject: hello\nTo: a@b\n\nbody\n"), "Subject",
     "hello", 1, "body\n", NULL},
    {"header_crlf_message_is_indexed", RAW("Subject: hi\r\nFrom: a@b\r\n\r\nbody\r\n"), "From",
     "a@b", 1, "body\r\n", NULL},
    {"header_mixed_line_ends_are_indexed", RAW("A: 1\r\nSubject: mixed\nB: 2\r\n\nbody"), "Subject",
     "mixed", 1, "body", NULL},
    {"header_folded_lines_are_unfolded", RAW("Subject: a\r\n b\r\n\tc\r\n\r\nx"), "Subject",
     "a b c", 1, "x", "a b\tc"},
    {"header_duplicates_are_kept_in_order",
     RAW("Received: one\nReceived: two\nReceived: "
         "three\n\n"),
     "received", "one", 3, "", NULL},
    {"header_mbox_from_line_is_skipped",
     RAW("From foo@bar Mon Jan  1 00:00:00 2024\nSubject: x\n\nbody"), "Subject", "x", 1, "body",
     NULL},
    {"header_mbox_from_line_is_not_a_field",
     RAW("From foo@bar Mon Jan  1 00:00:00 2024\nFrom: real@x\n\nb"), "From", "real@x", 1, "b",
     NULL},
    {"header_without_body_ends_at_end", RAW("Subject: x\nTo: y"), "To", "y", 1, "", NULL},
    {"header_section_that_never_ends", RAW("Subject: never ends\r\n"), "Subject", "never ends", 1,
     "", NULL},
    {"header_latin1_bytes_read_as_windows_1252", RAW("Subject: caf\xe9\n\n"), "Subject", "café", 1,
     "", NULL},
    {"header_utf8_bytes_are_kept", RAW("Subject: caf\xc3\xa9 \xe2\x82\xac\n\n"), "Subject",
     "café €", 1, "", NULL},
    {"header_windows_1252_quotes_become_unicode", RAW("Subject: \x93hi\x94\n\n"), "Subject",
     "\u201chi\u201d", 1, "", NULL},
    {"header_nul_byte_in_value_becomes_space", RAW("Subject: a\0b\n\nbody"), "Subject", "a b", 1,
     "body", "a b"},
    {"header_nul_byte_in_body_is_kept", RAW("Subject: x\n\nbo\0dy"), "Subject", "x", 1, "bo", NULL},
    {"header_whitespace_before_colon_is_accepted", RAW("Subject : spaced\n\n"), "Subject", "spaced",
     1, "", NULL},
    {"header_line_without_colon_starts_the_body", RAW("Subject: x\nthis is text\nTo: y\n"), "To",
     NULL, 0, "this is text\nTo: y\n", NULL},
    {"header_name_with_space_starts_the_body", RAW("Subject: x\nNot A: field\n"), "Subject", "x", 1,
     "Not A: field\n", NULL},
    {"header_leading_continuation_line_is_skipped", RAW(" leading\nSubject: x\n\n"), "Subject", "x",
     1, "", NULL},
    {"header_empty_value", RAW("Subject:\n\nb"), "Subject", "", 1, "b", ""},
    {"header_names_match_case_insensitively", RAW("SUBJECT: up\n\n"), "subject", "up", 1, "", NULL},
    {"header_blank_continuation_line_stays_in_field", RAW("Subject: a\n \n b\n\nbody"), "Subject",
     "a  b", 1, "body", NULL},
    {"header_empty_message_has_no_fields", RAW(""), "Subject", NULL, 0, "", NULL},
    {"header_blank_first_line_means_body_only", RAW("\nSubject: no\n"), "Subject", NULL, 0,
     "Subject: no\n", NULL},
    {"header_mbox_from_line_alone", RAW("From x"), "From", NULL, 0, "", NULL},
    {"header_crlf_body_keeps_its_first_blank_line", RAW("A: b\r\n\r\n\r\nbody"), "A", "b", 1,
     "\r\nbody", NULL},
    {"header_encoded_subject_is_decoded", RAW("Subject: =?UTF-8?B?w6l0w6k=?=\n\n"), "Subject",
     "été", 1, "", "=?UTF-8?B?w6l0w6k=?="},
    {"header_folded_encoded_words_are_joined",
     RAW("Subject: =?utf-8?q?a?=\r\n =?utf-8?q?b?=\r\n\r\n"), "Subject", "ab", 1, "", NULL},
    {"header_value_is_trimmed", RAW("Subject:   padded  \t\n\n"), "Subject", "padded", 1, "",
     "padded"},
    {"header_eight_bit_name_is_tolerated", RAW("X-\xe9t\xe9: v\nSubject: s\n\n"), "Subject", "s", 1,
     "", NULL},
    {"header_from_with_blank_before_colon_is_not_mbox", RAW("From : a@x\nSubject: s\n\n"), "From",
     "a@x", 1, "", NULL},
    {"header_utf8_byte_order_mark_is_skipped",
     RAW("\xef\xbb\xbf"
         "From: a@x\n\nb"),
     "From", "a@x", 1, "b", NULL},
    {"header_lone_cr_is_not_a_line_end", RAW("Subject: a\rb\n\n"), "Subject", "ab", 1, "", "a\rb"},
};

static void run_hdr_case(void **state)
{
	const struct hdr_case *c = *state;
	struct msg m;
	size_t it = 0, count = 0;
	char *v;

	msg_init(&m, c->msg, c->len);
	assert_null(m.error);
	v = msg_get(&m, c->field);
	if (c->want == NULL) {
		assert_null(v);
	} else {
		assert_non_null(v);
		assert_string_equal(v, c->want);
	}
	free(v);
	while (msg_header_next(&m, c->field, &it))
		count++;
	assert_int_equal(count, c->count);
	assert_true(m.body_start <= m.len);
	assert_int_equal(m.len - m.body_start >= strlen(c->body), 1);
	assert_memory_equal(c->msg + m.body_start, c->body, strlen(c->body));
	if (c->body[0] == '\0')
		assert_int_equal(m.body_start, m.len);
	if (c->unfold) {
		it = 0;
		v = msg_header_unfold(msg_header_next(&m, c->field, &it));
		assert_string_equal(v, c->unfold);
		free(v);
	}
	msg_free(&m);
}

/* ---- RFC 2047 ---- */

struct str_case {
	const char *name;
	const char *in;
	size_t len;
	const char *want;
};

static const struct str_case rfc2047_cases[] = {
    {"ew_b_utf8_is_decoded", RAW("=?UTF-8?B?w6k=?="), "é"},
    {"ew_q_latin1_underscore_is_space", RAW("=?ISO-8859-1?Q?caf=E9_au_lait?="), "café au lait"},
    {"ew_q_lowercase_hex", RAW("=?utf-8?q?=c3=a9?="), "é"},
    {"ew_charset_is_case_insensitive", RAW("=?uTf-8?b?w6k=?="), "é"},
    {"ew_rfc2231_language_suffix_is_ignored", RAW("=?UTF-8*en?Q?hello?="), "hello"},
    {"ew_space_between_adjacent_words_is_dropped", RAW("=?utf-8?q?a?= =?utf-8?q?b?="), "ab"},
    {"ew_fold_between_adjacent_words_is_dropped", RAW("=?utf-8?q?a?=\r\n\t=?utf-8?q?b?="), "ab"},
    {"ew_space_before_plain_text_is_kept", RAW("=?utf-8?q?a?= b"), "a b"},
    {"ew_plain_text_before_word_is_kept", RAW("Re: =?utf-8?q?caf=C3=A9?="), "Re: café"},
    {"ew_multibyte_char_split_across_b_words", RAW("=?UTF-8?B?ww==?= =?UTF-8?B?qQ==?="), "é"},
    {"ew_multibyte_char_split_across_q_words", RAW("=?utf-8?q?=C3?==?utf-8?q?=A9?="), "é"},
    {"ew_adjacent_words_of_different_charsets", RAW("=?iso-8859-1?q?=E9?= =?utf-8?q?=C3=A9?="),
     "éé"},
    {"ew_unterminated_word_is_left_as_is", RAW("=?utf-8?q?abc"), "=?utf-8?q?abc"},
    {"ew_unknown_charset_is_left_as_is", RAW("=?x-nonsense-42?q?abc?="), "=?x-nonsense-42?q?abc?="},
    {"ew_unknown_encoding_letter_is_left_as_is", RAW("=?utf-8?x?abc?="), "=?utf-8?x?abc?="},
    {"ew_invalid_base64_is_left_as_is", RAW("=?utf-8?b?!!!?="), "=?utf-8?b?!!!?="},
    {"ew_malformed_word_keeps_space_before_it", RAW("=?utf-8?q?a?= =?bogus-cs?q?b?="),
     "a =?bogus-cs?q?b?="},
    {"ew_base64_without_padding", RAW("=?utf-8?b?w6k?="), "é"},
    {"ew_q_bad_escape_is_kept", RAW("=?utf-8?q?100=ZZ?="), "100=ZZ"},
    {"ew_koi8_r", RAW("=?koi8-r?b?8NLJ18XU?="), "Привет"},
    {"ew_windows_1251", RAW("=?windows-1251?Q?=CF=F0=E8=E2=E5=F2?="), "Привет"},
    {"ew_iso_8859_2", RAW("=?iso-8859-2?q?=B1?="), "ą"},
    {"ew_iso_8859_15_euro", RAW("=?iso-8859-15?q?=A4?="), "€"},
    {"ew_iso_2022_jp", RAW("=?ISO-2022-JP?B?GyRCJEYkOSRIGyhC?="), "てすと"},
    {"ew_iso_2022_jp_state_split_across_words",
     RAW("=?ISO-2022-JP?B?GyRCJEY=?= =?ISO-2022-JP?B?JDkkSBsoQg==?="), "てすと"},
    {"ew_gb2312_read_as_gb18030", RAW("=?gb2312?B?xOO6ww==?="), "你好"},
    {"ew_glued_to_text_is_decoded", RAW("foo=?utf-8?q?bar?=baz"), "foobarbaz"},
    {"ew_raw_latin1_around_word", RAW("caf\xe9 =?utf-8?q?ok?="), "café ok"},
    {"ew_decoded_control_chars_become_spaces", RAW("=?utf-8?q?a=0D=0Ab?="), "a  b"},
    {"ew_decoded_nul_becomes_replacement", RAW("=?utf-8?q?a=00b?="),
     "a\xef\xbf\xbd"
     "b"},
    {"ew_empty_word_decodes_to_nothing", RAW("x =?utf-8?q?\?= y"), "x  y"},
    {"ew_q_with_spaces_is_tolerated", RAW("=?utf-8?q?hello world?="), "hello world"},
    {"ew_invalid_utf8_in_word_becomes_replacement", RAW("=?utf-8?q?=FF?="), "\xef\xbf\xbd"},
    {"ew_us_ascii_word_with_8bit_is_lenient", RAW("=?us-ascii?q?=E9?="), "é"},
    {"ew_raw_fold_is_unfolded", RAW("a\r\n b"), "a b"},
    {"ew_implausible_charset_name_is_left_as_is", RAW("=?utf-8//IGNORE?q?a?="),
     "=?utf-8//IGNORE?q?a?="},
    {"ew_word_with_line_break_inside_is_left_as_is", RAW("=?utf-8?q?a\nb?="), "=?utf-8?q?ab?="},
};

static void run_rfc2047_case(void **state)
{
	const struct str_case *c = *state;
	char *v = rfc2047_decode(c->in, c->len);

	assert_string_equal(v, c->want);
	assert_utf8(v);
	free(v);
}

/* ---- charsets ---- */

struct cs_case {
	const char *name;
	const char *charset;
	const char *in;
	size_t len;
	const char *want;
};

static const struct cs_case cs_cases[] = {
    {"charset_utf8_invalid_byte_becomes_replacement", "utf-8",
     RAW("a\xff"
         "b"),
     "a\xef\xbf\xbd"
     "b"},
    {"charset_latin1_label_means_windows_1252", "ISO-8859-1", RAW("\x80\xe9"), "€é"},
    {"charset_unknown_keeps_ascii_replaces_the_rest", "x-bogus", RAW("ab\xe9"), "ab\xef\xbf\xbd"},
    {"charset_null_is_lenient_utf8_or_1252", NULL, RAW("\xe9 \xc3\xa9"), "é é"},
    {"charset_truncated_multibyte_becomes_replacement", "shift_jis", RAW("a\x82"), "a\xef\xbf\xbd"},
    {"charset_utf16le_via_iconv", "UTF-16LE", RAW("a\0b\0"), "ab"},
    {"charset_utf8_overlong_is_rejected", "utf-8", RAW("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd"},
    {"charset_utf8_surrogate_is_rejected", "utf-8", RAW("\xed\xa0\x80"),
     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
    {"charset_quoted_label_with_spaces", " \"UTF-8\" ", RAW("\xc3\xa9"), "é"},
    {"charset_nul_becomes_replacement", "us-ascii", RAW("a\0b"),
     "a\xef\xbf\xbd"
     "b"},
    {"charset_koi8_u_via_iconv", "KOI8-U", RAW("\xa4"), "є"},
    {"charset_windows_1250", "windows-1250", RAW("\x8a"), "Š"},
    {"charset_iconv_output_is_revalidated", "utf_8",
     RAW("\xf4\xae\xae\xae"
         "a"),
     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
     "a"},
    {"charset_name_with_parentheses_is_unknown", "utf)8", RAW("a\xc3\xa9"),
     "a\xef\xbf\xbd\xef\xbf\xbd"},
    {"charset_iconv_invalid_sequence_is_replaced", "EUC-JP", RAW("\xa4\xa2\xff"), "あ\xef\xbf\xbd"},
};

static void run_cs_case(void **state)
{
	const struct cs_case *c = *state;
	size_t n = 99;
	char *v = charset_to_utf8(c->charset, c->in, c->len, &n);

	assert_string_equal(v, c->want);
	assert_int_equal(n, strlen(c->want));
	free(v);
}

/* ---- addresses ---- */

struct addr_case {
	const char *name;
	const char *in;
	size_t len;
	const char *want; /* "name|addr;..." with "-" for no name */
};

static const struct addr_case addr_cases[] = {
    {"addr_bare", RAW("a@b.c"), "-|a@b.c"},
    {"addr_display_name_and_angle", RAW("John Doe <john@x.com>"), "John Doe|john@x.com"},
    {"addr_quoted_name_with_comma", RAW("\"Doe, John\" <j@x>"), "Doe, John|j@x"},
    {"addr_encoded_word_name", RAW("=?utf-8?q?J=C3=B6rg?= <j@x>"), "Jörg|j@x"},
    {"addr_encoded_word_inside_quotes", RAW("\"=?utf-8?b?SsO2cmc=?=\" <j@x>"), "Jörg|j@x"},
    {"addr_encoded_word_holding_a_comma", RAW("=?utf-8?q?Doe,_John?= <j@x>, k@y"),
     "Doe, John|j@x;-|k@y"},
    {"addr_comment_gives_the_name", RAW("j@x (John Doe)"), "John Doe|j@x"},
    {"addr_nested_comment", RAW("j@x (John (the boss) Doe)"), "John (the boss) Doe|j@x"},
    {"addr_list_of_three", RAW("a@x, B <b@y>, \"C\" <c@z>"), "-|a@x;B|b@y;C|c@z"},
    {"addr_group_members", RAW("team: a@x, b@y;"), "-|a@x;-|b@y"},
    {"addr_empty_group", RAW("undisclosed-recipients:;"), ""},
    {"addr_group_then_address", RAW("g: a@x;, c@z"), "-|a@x;-|c@z"},
    {"addr_obsolete_route_is_dropped", RAW("<@a.net,@b.net:x@y.org>"), "-|x@y.org"},
    {"addr_quoted_local_part_is_kept", RAW("\"john doe\"@x.com"), "-|\"john doe\"@x.com"},
    {"addr_name_before_bare_address", RAW("John Smith john@x.com"), "John Smith|john@x.com"},
    {"addr_garbage_is_skipped", RAW("<<<>>>,,,;;; @@@"), ""},
    {"addr_unclosed_angle_bracket", RAW("A <a@x, B <b@y>"), "A|a@x;B|b@y"},
    {"addr_name_with_dots", RAW("J. R. Smith <j@x>"), "J. R. Smith|j@x"},
    {"addr_domain_literal", RAW("a@[127.0.0.1]"), "-|a@[127.0.0.1]"},
    {"addr_local_name_only", RAW("root"), "-|root"},
    {"addr_name_without_address_is_skipped", RAW("John Smith"), ""},
    {"addr_empty_angle_is_skipped", RAW("<>"), ""},
    {"addr_latin1_name", RAW("Andr\xe9 <a@x>"), "André|a@x"},
    {"addr_folded_list", RAW("a@x,\r\n b@y"), "-|a@x;-|b@y"},
    {"addr_unterminated_quote_is_skipped", RAW("\"John <j@x>"), ""},
    {"addr_obsolete_spaces_around_dots", RAW("john . smith @ example . com"),
     "-|john.smith@example.com"},
    {"addr_comment_inside_address", RAW("john(c)@x.com"), "c|john@x.com"},
    {"addr_junk_after_address", RAW("a@x junk"), "-|a@x"},
    {"addr_utf8_address_is_kept",
     RAW("j\xc3\xb6rg@b\xc3\xbc"
         "cher.de"),
     "-|jörg@bücher.de"},
    {"addr_nul_bytes_are_blanks", RAW("a@x,\0b@y"), "-|a@x;-|b@y"},
    {"addr_angle_with_comment_name", RAW("<j@x> (Jo)"), "Jo|j@x"},
    {"addr_empty_input", RAW(""), ""},
};

static void run_addr_case(void **state)
{
	const struct addr_case *c = *state;
	struct msg_addr *a;
	size_t n = addr_parse(c->in, c->len, &a);
	struct buf b;

	buf_init(&b, 1 << 20);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(a[i].addr);
		assert_utf8(a[i].name);
		assert_utf8(a[i].addr);
		buf_printf(&b, "%s%s|%s", i ? ";" : "", a[i].name ? a[i].name : "-", a[i].addr);
	}
	if (n == 0)
		assert_null(a);
	assert_string_equal(buf_cstr(&b), c->want);
	buf_free(&b);
	addr_free(a, n);
}

/* ---- Message-ID ---- */

static const struct str_case msgid_cases[] = {
    {"msgid_plain", RAW("Message-ID: <abc@x>\n\n"), "<abc@x>"},
    {"msgid_comment_and_blanks_removed", RAW("Message-ID:  (c) <abc@x>  (after)\n\n"), "<abc@x>"},
    {"msgid_white_space_inside_removed", RAW("Message-ID: <a b@x>\n\n"), "<ab@x>"},
    {"msgid_without_angle_brackets", RAW("Message-ID: abc@x\n\n"), "<abc@x>"},
    {"msgid_folded", RAW("Message-ID:\r\n <abc@\r\n x>\r\n\r\n"), "<abc@x>"},
    {"msgid_absent", RAW("Subject: x\n\n"), NULL},
    {"msgid_empty_angle_is_absent", RAW("Message-ID: <>\n\n"), NULL},
    {"msgid_header_name_any_case", RAW("Message-Id: <k@y>\n\n"), "<k@y>"},
    {"msgid_first_of_two_ids", RAW("Message-ID: <a@x> <b@y>\n\n"), "<a@x>"},
};

static void run_msgid_case(void **state)
{
	const struct str_case *c = *state;
	struct msg m;
	char *id;

	msg_init(&m, c->in, c->len);
	id = msg_message_id(&m);
	if (c->want == NULL) {
		assert_null(id);
	} else {
		assert_non_null(id);
		assert_string_equal(id, c->want);
	}
	free(id);
	msg_free(&m);
}

/* ---- MIME tree ---- */

/* "depth:type[;cs=..][;fn=..][*]" per part, space separated; '*' = attachment. */
static char *tree_str(struct msg *m)
{
	struct buf b;

	buf_init(&b, 1 << 24);
	for (size_t i = 0; i < msg_mime(m); i++) {
		const struct msg_part *p = &m->parts[i];

		buf_printf(&b, "%s%d:%s", i ? " " : "", p->depth, p->type);
		if (p->charset)
			buf_printf(&b, ";cs=%s", p->charset);
		if (p->filename)
			buf_printf(&b, ";fn=%s", p->filename);
		if (p->is_attachment)
			buf_putc(&b, '*');
	}
	return buf_steal(&b, NULL);
}

struct mime_case {
	const char *name;
	const char *msg;
	size_t len;
	const char *tree;
	int part;         /* whose mime_text() is checked, or -1 */
	const char *text; /* its text */
};

#define MIXED_PDF                                                                                  \
	"Content-Type: multipart/mixed; boundary=\"XX\"\n\npreamble\n--XX\nContent-Type: "         \
	"text/plain; charset=utf-8\n\nhello\n--XX\nContent-Type: application/pdf; "                \
	"name=\"a.pdf\"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--XX--\nepilogue\n"

static const struct mime_case mime_cases[] = {
    {"mime_no_content_type_is_text_plain", RAW("Subject: x\n\nhello"), "0:text/plain", 0, "hello"},
    {"mime_multipart_preamble_and_epilogue_are_not_parts", RAW(MIXED_PDF),
     "0:multipart/mixed 1:text/plain;cs=utf-8 1:application/pdf;fn=a.pdf*", 1, "hello"},
    {"mime_base64_attachment_is_decoded", RAW(MIXED_PDF),
     "0:multipart/mixed 1:text/plain;cs=utf-8 1:application/pdf;fn=a.pdf*", 2, "%PDF-1.4\n"},
    {"mime_crlf_multipart",
     RAW("Content-Type: multipart/mixed; "
         "boundary=b\r\n\r\n--b\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b--\r\n"),
     "0:multipart/mixed 1:text/plain 1:text/plain", 2, "two"},
    {"mime_nested_multipart",
     RAW("Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: multipart/alternative; "
         "boundary=i\n\n--i\n\nplain\n--i\nContent-Type: "
         "text/html\n\n<p>html</p>\n--i--\n--o\nContent-Type: image/png\n\nPNG\n--o--\n"),
     "0:multipart/mixed 1:multipart/alternative 2:text/plain 2:text/html 1:image/png*", 3,
     "<p>html</p>"},
    {"mime_missing_closing_boundary_runs_to_the_end",
     RAW("Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\nlast part\nno end\n"),
     "0:multipart/mixed 1:text/plain 1:text/plain", 2, "last part\nno end\n"},
    {"mime_boundary_never_found_makes_one_text_part",
     RAW("Content-Type: multipart/mixed; boundary=nothere\n\njust text\n"),
     "0:multipart/mixed 1:text/plain", 1, "just text\n"},
    {"mime_missing_boundary_parameter_makes_one_text_part",
     RAW("Content-Type: multipart/alternative\n\njust text\n--x\n"),
     "0:multipart/alternative 1:text/plain", 1, "just text\n--x\n"},
    {"mime_message_rfc822_headers_are_a_child_part",
     RAW("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nsee attached\n--b\nContent-Type: "
         "message/rfc822\n\nSubject: inner\nContent-Type: text/html; "
         "charset=iso-8859-1\n\ncaf\xe9\n--b--\n"),
     "0:multipart/mixed 1:text/plain 1:message/rfc822 2:text/html;cs=iso-8859-1", 3, "café"},
    {"mime_digest_parts_default_to_message_rfc822",
     RAW("Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: "
         "one\n\nfirst\n--d\n\nSubject: two\n\nsecond\n--d--\n"),
     "0:multipart/digest 1:message/rfc822 2:text/plain 1:message/rfc822 2:text/plain", 4, "second"},
    {"mime_rfc2231_continuations_with_charset",
     RAW("Content-Type: application/octet-stream\nContent-Disposition: attachment;\n "
         "filename*0*=utf-8''na%C3%AF;\n filename*1*=ve%20file;\n filename*2=\".txt\"\n\nx"),
     "0:application/octet-stream;fn=naïve file.txt*", -1, NULL},
    {"mime_rfc2231_empty_extended_value_is_no_name",
     RAW("Content-Type: text/plain\nContent-Disposition: attachment; filename*0*=utf-8''\n\nx"),
     "0:text/plain*", 0, "x"},
    {"mime_rfc2231_single_extended_value",
     RAW("Content-Type: text/plain; name*=iso-8859-1'fr'caf%E9.txt\n\nx"),
     "0:text/plain;fn=café.txt*", 0, "x"},
    {"mime_rfc2231_beats_plain_value",
     RAW("Content-Type: text/plain\nContent-Disposition: attachment; filename=\"old.txt\"; "
         "filename*=utf-8''new.txt\n\nx"),
     "0:text/plain;fn=new.txt*", -1, NULL},
    {"mime_rfc2047_in_quoted_filename",
     RAW("Content-Type: image/png; name=\"=?utf-8?B?w6kudHh0?=\"\n\nx"), "0:image/png;fn=é.txt*",
     -1, NULL},
    {"mime_comments_in_parameters",
     RAW("Content-Type: text/plain (a comment); charset=us-ascii (Plain text)\n\nx"),
     "0:text/plain;cs=us-ascii", 0, "x"},
    {"mime_unquoted_boundary_with_equals_sign",
     RAW("Content-Type: "
         "multipart/"
         "mixed;\n\tboundary=----=_NextPart_000_0001\n\n------=_NextPart_000_0001\n\nbody\n------=_"
         "NextPart_000_0001--\n"),
     "0:multipart/mixed 1:text/plain", 1, "body"},
    {"mime_quoted_printable_text",
     RAW("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: "
         "quoted-printable\n\ncaf=C3=A9 soft=\r\nbreak"),
     "0:text/plain;cs=utf-8", 0, "café softbreak"},
    {"mime_base64_latin1_text",
     RAW("Content-Type: text/plain; charset=\"ISO-8859-1\"\nContent-Transfer-Encoding: "
         "BASE64\n\nY2Fm6Q==\n"),
     "0:text/plain;cs=iso-8859-1", 0, "café"},
    {"mime_type_without_subtype_defaults", RAW("Content-Type: text\n\nx"), "0:text/plain", 0, "x"},
    {"mime_type_and_charset_are_lower_cased", RAW("Content-Type: TEXT/HTML; CHARSET=UTF-8\n\nx"),
     "0:text/html;cs=utf-8", 0, "x"},
    {"mime_inline_image_with_filename_is_attachment",
     RAW("Content-Type: image/jpeg\nContent-Disposition: inline; filename=a.jpg\n\nx"),
     "0:image/jpeg;fn=a.jpg*", -1, NULL},
    {"mime_text_with_attachment_disposition_is_attachment",
     RAW("Content-Type: text/csv\nContent-Disposition: attachment\n\nx"), "0:text/csv*", 0, "x"},
    {"mime_multipart_report_dsn",
     RAW("Content-Type: multipart/report; report-type=delivery-status;\n "
         "boundary=\"r\"\n\n--r\n\nbounced\n--r\nContent-Type: message/delivery-status\n\nStatus: "
         "5.1.1\n--r\nContent-Type: message/rfc822\n\nSubject: orig\n\norig body\n--r--\n"),
     "0:multipart/report 1:text/plain 1:message/delivery-status* 1:message/rfc822 2:text/plain", 4,
     "orig body"},
    {"mime_base64_message_rfc822_is_a_leaf",
     RAW("Content-Type: message/rfc822\nContent-Transfer-Encoding: "
         "base64\n\nU3ViamVjdDogeAoKeQo=\n"),
     "0:message/rfc822*", 0, "Subject: x\n\ny\n"},
    {"mime_transport_padding_after_boundary",
     RAW("Content-Type: multipart/mixed; boundary=b\n\n--b  \t\n\none\n--b--  \n"),
     "0:multipart/mixed 1:text/plain", 1, "one"},
    {"mime_boundary_prefix_is_not_a_delimiter",
     RAW("Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--bb\ntwo\n--b--\n"),
     "0:multipart/mixed 1:text/plain", 1, "one\n--bb\ntwo"},
    {"mime_empty_part_between_delimiters",
     RAW("Content-Type: multipart/mixed; boundary=b\n\n--b\n--b\n\ntwo\n--b--\n"),
     "0:multipart/mixed 1:text/plain 1:text/plain", 1, ""},
    {"mime_multipart_with_only_closing_delimiter",
     RAW("Content-Type: multipart/mixed; boundary=b\n\n--b--\n"), "0:multipart/mixed", -1, NULL},
    {"mime_part_without_headers_is_text_plain",
     RAW("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nbody\n--b--"),
     "0:multipart/mixed 1:text/plain", 1, "body"},
    {"mime_part_with_missing_blank_line",
     RAW("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: "
         "text/html\n<p>x</p>\n--b--"),
     "0:multipart/mixed 1:text/html", 1, "<p>x</p>"},
    {"mime_unquoted_filename_with_spaces",
     RAW("Content-Type: application/pdf; name=my file.pdf\n\nx"),
     "0:application/pdf;fn=my file.pdf*", -1, NULL},
    {"mime_unknown_charset_text_keeps_ascii",
     RAW("Content-Type: text/plain; charset=x-nope\n\nab\xe9"), "0:text/plain;cs=x-nope", 0,
     "ab\xef\xbf\xbd"},
    {"mime_8bit_text_without_charset_is_lenient", RAW("Content-Type: text/plain\n\ncaf\xe9"),
     "0:text/plain", 0, "café"},
    {"mime_content_type_case_insensitive_name",
     RAW("content-type: multipart/mixed; BOUNDARY=\"Q\"\n\n--Q\n\nx\n--Q--\n"),
     "0:multipart/mixed 1:text/plain", 1, "x"},
    {"mime_boundary_in_quotes_with_spaces",
     RAW("Content-Type: multipart/mixed; boundary=\"a b\"\n\n--a b\n\nx\n--a b--\n"),
     "0:multipart/mixed 1:text/plain", 1, "x"},
    {"mime_nested_missing_inner_close_ends_at_outer",
     RAW("Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: multipart/alternative; "
         "boundary=i\n\n--i\n\ninner\n--o\n\nouter\n--o--\n"),
     "0:multipart/mixed 1:multipart/alternative 2:text/plain 1:text/plain", 2, "inner"},
    {"mime_mbox_from_line_root_part",
     RAW("From x@y Mon Jan  1 00:00:00 2024\nContent-Type: text/plain\n\nbody"), "0:text/plain", 0,
     "body"},
};

static void run_mime_case(void **state)
{
	const struct mime_case *c = *state;
	struct msg m;
	char *tree, *text;
	size_t n;

	msg_init(&m, c->msg, c->len);
	tree = tree_str(&m);
	assert_string_equal(tree, c->tree);
	free(tree);
	assert_null(m.error);
	for (size_t i = 0; i < m.nparts; i++) {
		assert_true(m.parts[i].body_start <= m.parts[i].body_end);
		assert_true(m.parts[i].body_end <= m.len);
		assert_true(m.parts[i].hdr_start <= m.parts[i].body_start);
		assert_true(m.parts[i].parent < (int)i);
	}
	if (c->part >= 0) {
		assert_true((size_t)c->part < m.nparts);
		text = mime_text(&m, &m.parts[c->part], 1 << 20, &n);
		assert_string_equal(text, c->text);
		assert_int_equal(n, strlen(c->text));
		free(text);
	}
	msg_free(&m);
}

/* ---- transfer decodings ---- */

struct dec_case {
	const char *name;
	const char *enc;
	const char *body;
	size_t max;
	const char *want;
};

static const struct dec_case dec_cases[] = {
    {"decode_base64", "base64", "aGVsbG8=", 100, "hello"},
    {"decode_base64_ignores_white_space", "base64", "aGVs\r\n bG8=\r\n", 100, "hello"},
    {"decode_base64_skips_garbage", "base64", "aGV*sb!G8=", 100, "hello"},
    {"decode_base64_without_padding", "base64", "aGVsbG8", 100, "hello"},
    {"decode_base64_is_bounded_by_max", "base64", "aGVsbG8=", 3, "hel"},
    {"decode_base64_concatenated_chunks", "base64", "aGk=\naGk=", 100, "hihi"},
    {"decode_qp_soft_break_crlf", "quoted-printable", "a=\r\nb", 100, "ab"},
    {"decode_qp_soft_break_lf", "quoted-printable", "a=\nb", 100, "ab"},
    {"decode_qp_soft_break_after_blanks", "quoted-printable", "a=  \r\nb", 100, "ab"},
    {"decode_qp_bad_escape_is_kept", "quoted-printable", "a=ZZb=4", 100, "a=ZZb=4"},
    {"decode_qp_lowercase_hex", "quoted-printable", "=c3=a9", 100, "é"},
    {"decode_qp_trailing_blanks_are_dropped", "quoted-printable", "a  \nb \t", 100, "a\nb"},
    {"decode_qp_inner_blanks_are_kept", "quoted-printable", "a  b", 100, "a  b"},
    {"decode_qp_equals_at_the_end", "quoted-printable", "abc=", 100, "abc"},
    {"decode_qp_is_bounded_by_max", "quoted-printable", "ab=41def", 3, "abA"},
    {"decode_7bit_is_as_is", "7bit", "as is=41", 100, "as is=41"},
    {"decode_identity_is_bounded_by_max", "8bit", "abcdef", 3, "abc"},
    {"decode_unknown_encoding_is_as_is", "x-uuencode", "begin 644", 100, "begin 644"},
    {"decode_max_zero_gives_empty", "base64", "aGVsbG8=", 0, ""},
};

static void run_dec_case(void **state)
{
	const struct dec_case *c = *state;
	struct msg m;
	char *raw = NULL, *out;
	size_t n = 99;

	assert_true(asprintf(&raw, "Content-Transfer-Encoding: %s\n\n%s", c->enc, c->body) > 0);
	msg_init(&m, raw, strlen(raw));
	assert_int_equal(msg_mime(&m), 1);
	out = mime_decode(&m, &m.parts[0], c->max, &n);
	assert_int_equal(n, strlen(c->want));
	assert_memory_equal(out, c->want, n);
	assert_int_equal(out[n], '\0');
	free(out);
	msg_free(&m);
	free(raw);
}

/* ---- hard caps, with inputs generated in memory ---- */

static char *repeat(const char *head, const char *unit, size_t times, const char *tail, size_t *len)
{
	struct buf b;

	buf_init(&b, (size_t)1 << 30);
	buf_puts(&b, head);
	for (size_t i = 0; i < times; i++)
		buf_puts(&b, unit);
	buf_puts(&b, tail);
	return buf_steal(&b, len);
}

static void cap_more_than_max_headers_sets_error(void **state)
{
	size_t len;
	char *raw = repeat("", "X-A: y\n", MSG_MAX_HEADERS + 5, "\nbody", &len);
	struct msg m;

	(void)state;
	msg_init(&m, raw, len);
	assert_int_equal(m.nhdrs, MSG_MAX_HEADERS);
	assert_non_null(m.error);
	assert_non_null(strstr(m.error, "10000 header fields"));
	assert_string_equal(raw + m.body_start, "body");
	msg_free(&m);
	free(raw);
}

static void cap_one_megabyte_header_line_is_indexed(void **state)
{
	size_t len;
	char *raw = repeat("Subject: ", "x", 1 << 20, "\nTo: a@b\n\nbody", &len);
	struct msg m;
	char *v;

	(void)state;
	msg_init(&m, raw, len);
	assert_null(m.error);
	assert_int_equal(m.nhdrs, 2);
	v = msg_get(&m, "Subject");
	assert_int_equal(strlen(v), 1 << 20);
	free(v);
	assert_string_equal(raw + m.body_start, "body");
	msg_free(&m);
	free(raw);
}

static void cap_field_over_4mb_stops_indexing(void **state)
{
	size_t len;
	char *raw =
	    repeat("A: 1\nX-Big: ", "y\n ", (MSG_MAX_HEADER_LINE / 3) + 10, "\nB: 2\n\nbody", &len);
	struct msg m;
	size_t it = 0;

	(void)state;
	msg_init(&m, raw, len);
	assert_int_equal(m.nhdrs, 1);
	assert_non_null(m.error);
	assert_non_null(strstr(m.error, "4 MiB"));
	assert_null(msg_header_next(&m, "B", &it));
	assert_string_equal(raw + m.body_start, "body");
	msg_free(&m);
	free(raw);
}

static void cap_deep_nesting_stops_at_max_depth(void **state)
{
	struct buf b;
	struct msg m;
	int maxd = 0;

	(void)state;
	buf_init(&b, 1 << 24);
	buf_puts(&b, "Content-Type: multipart/mixed; boundary=b0\n\n");
	for (int d = 1; d < 60; d++)
		buf_printf(&b, "--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n", d - 1, d);
	buf_puts(&b, "--b59\n\ndeepest\n");
	msg_init(&m, b.data, b.len);
	msg_mime(&m);
	for (size_t i = 0; i < m.nparts; i++)
		if (m.parts[i].depth > maxd)
			maxd = m.parts[i].depth;
	assert_int_equal(maxd, MSG_MAX_DEPTH);
	assert_non_null(m.error);
	assert_non_null(strstr(m.error, "nesting"));
	msg_free(&m);
	buf_free(&b);
}

static void cap_too_many_parts_stops_at_max_parts(void **state)
{
	size_t len;
	char *raw = repeat("Content-Type: multipart/mixed; boundary=b\n\n", "--b\n\nx\n",
	                   MSG_MAX_PARTS + 100, "--b--\n", &len);
	struct msg m;

	(void)state;
	msg_init(&m, raw, len);
	assert_int_equal(msg_mime(&m), MSG_MAX_PARTS);
	assert_non_null(m.error);
	assert_non_null(strstr(m.error, "5000 MIME parts"));
	msg_free(&m);
	free(raw);
}

static void cap_nested_message_rfc822_is_bounded(void **state)
{
	size_t len;
	char *raw = repeat("", "Content-Type: message/rfc822\n\n", 100, "Subject: end\n\nx", &len);
	struct msg m;

	(void)state;
	msg_init(&m, raw, len);
	assert_int_equal(msg_mime(&m), MSG_MAX_DEPTH + 1);
	assert_non_null(m.error);
	msg_free(&m);
	free(raw);
}

static void cap_unterminated_encoded_words_stay_linear(void **state)
{
	size_t len;
	char *raw = repeat("", "=?a?q?x.", 1 << 17, "", &len);
	char *v = rfc2047_decode(raw, len);
	struct msg_addr *a;
	size_t n;

	(void)state;
	assert_string_equal(v, raw);
	free(v);
	n = addr_parse(raw, len, &a);
	assert_int_equal(n, 0);
	addr_free(a, n);
	free(raw);
}

static void cap_address_count_is_bounded(void **state)
{
	size_t len;
	char *raw = repeat("", "a@b,", MSG_MAX_ADDRS + 50, "", &len);
	struct msg_addr *a;
	size_t n = addr_parse(raw, len, &a);

	(void)state;
	assert_int_equal(n, MSG_MAX_ADDRS);
	addr_free(a, n);
	free(raw);
}

static void cap_long_body_line_decodes_bounded(void **state)
{
	size_t len, n;
	char *raw = repeat("Content-Transfer-Encoding: base64\n\n", "QUJD", 1 << 19, "", &len);
	struct msg m;
	char *out;

	(void)state;
	msg_init(&m, raw, len);
	msg_mime(&m);
	out = mime_text(&m, &m.parts[0], 1000, &n);
	assert_int_equal(n, 1000);
	assert_memory_equal(out, "ABCABC", 6);
	free(out);
	msg_free(&m);
	free(raw);
}

static void mime_text_cut_on_character_boundary(void **state)
{
	static const char raw[] = "Content-Type: text/plain; charset=iso-8859-1\n\n\xe9\xe9\xe9";
	struct msg m;
	size_t n;
	char *t;

	(void)state;
	msg_init(&m, raw, sizeof(raw) - 1);
	msg_mime(&m);
	t = mime_text(&m, &m.parts[0], 3, &n);
	assert_string_equal(t, "é");
	assert_int_equal(n, 2);
	free(t);
	msg_free(&m);
}

static void msg_mime_is_built_once(void **state)
{
	static const char raw[] = MIXED_PDF;
	struct msg m;
	struct msg_part *first;

	(void)state;
	msg_init(&m, raw, sizeof(raw) - 1);
	assert_false(m.mime_done);
	assert_null(m.parts);
	assert_int_equal(msg_mime(&m), 3);
	first = m.parts;
	assert_int_equal(msg_mime(&m), 3);
	assert_ptr_equal(m.parts, first);
	msg_free(&m);
}

/* ---- every message of the corpus ---- */

/* What some corpus files must parse to ("" = not checked). */
static const struct {
	const char *file;
	const char *tree;
} corpus_trees[] = {
    {"lying-pdf-as-octet-stream.eml",
     "0:multipart/mixed 1:text/plain;cs=utf-8 1:application/octet-stream;fn=invoice.dat*"},
    {"png-named-txt.eml", "0:multipart/mixed 1:text/plain 1:text/plain;fn=notes.txt*"},
    {"digest.eml", "0:multipart/digest 1:text/plain 1:message/rfc822 2:text/plain "
                   "1:message/rfc822 2:text/plain"},
    {"dsn-bounce.eml", "0:multipart/report 1:text/plain;cs=us-ascii 1:message/delivery-status* "
                       "1:message/rfc822 2:text/plain;cs=utf-8"},
    {"boundary-never-found.eml", "0:multipart/mixed 1:text/plain"},
    {"calendar-invite.eml", "0:multipart/mixed 1:multipart/alternative 2:text/plain;cs=utf-8 "
                            "2:text/html;cs=utf-8 2:text/calendar;cs=utf-8 "
                            "1:application/ics;fn=invite.ics*"},
};

/* Decoded fields some corpus files must give. */
static const struct {
	const char *file, *field, *want;
} corpus_fields[] = {
    {"eight-bit-latin1-headers.eml", "Subject", "Grüße aus Köln – “quoted”"},
    {"eight-bit-latin1-headers.eml", "From", "André Müller <andre@example.de>"},
    {"encoded-word-split-multibyte.eml", "Subject",
     "日本語の件名です。これは75文字を超える長い件名€€"},
    {"koi8r-spam.eml", "Subject", "Привет мир"},
    {"iso-2022-jp.eml", "Subject", "てすと"},
    {"whitespace-before-colon.eml", "From", "a@example.com"},
    {"utf8-bom-and-crlf-headers.eml", "From", "a@example.com"},
    {"html-only-cp1252-spam.eml", "Subject", "“Special” offer – 50% off €"},
    {"encoded-words-mixed.eml", "Subject", "[SPAM] Prix en € plain with language"},
    {"nul-bytes.eml", "Subject", "nul  in the subject"},
    {"spam-weird-charsets.eml", "From", "\"£1000\" <win@example.biz>"},
    {"folded-headers.eml", "To", "a@example.com,  b@example.com, c@example.com"},
};

static void check_corpus_fields(const char *file, const struct msg *m)
{
	for (size_t i = 0; i < sizeof(corpus_fields) / sizeof(corpus_fields[0]); i++) {
		char *v;

		if (strcmp(file, corpus_fields[i].file) != 0)
			continue;
		v = msg_get(m, corpus_fields[i].field);
		if (v == NULL || strcmp(v, corpus_fields[i].want) != 0)
			fail_msg("%s: %s is '%s', expected '%s'", file, corpus_fields[i].field,
			         v ? v : "(none)", corpus_fields[i].want);
		free(v);
	}
}

static void check_part_utf8(struct msg *m, const struct msg_part *p)
{
	size_t n;
	char *t;

	assert_non_null(p->type);
	assert_true(p->depth <= MSG_MAX_DEPTH);
	assert_true(p->body_start <= p->body_end && p->body_end <= m->len);
	assert_utf8(p->filename);
	assert_utf8(p->charset);
	t = mime_text(m, p, 1 << 20, &n);
	if (!utf8_ok(t, n))
		fail_msg("part text is not valid UTF-8");
	assert_true(n <= 1 << 20);
	free(t);
}

static void check_addresses(const struct msg *m, const char *field)
{
	size_t it = 0;
	const struct msg_header *h;

	while ((h = msg_header_next(m, field, &it)) != NULL) {
		struct msg_addr *a;
		size_t n = addr_parse(h->value, h->value_len, &a);

		for (size_t i = 0; i < n; i++) {
			assert_utf8(a[i].name);
			assert_utf8(a[i].addr);
		}
		addr_free(a, n);
	}
}

static void check_corpus_tree(const char *file, struct msg *m)
{
	for (size_t i = 0; i < sizeof(corpus_trees) / sizeof(corpus_trees[0]); i++) {
		char *tree;

		if (strcmp(file, corpus_trees[i].file) != 0)
			continue;
		tree = tree_str(m);
		if (strcmp(tree, corpus_trees[i].tree) != 0)
			fail_msg("%s: tree '%s', expected '%s'", file, tree, corpus_trees[i].tree);
		free(tree);
	}
}

static void check_one_file(const char *dir, const char *file)
{
	char path[8192];
	struct msg m;
	struct stat st;
	char *data, *s;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	assert_int_equal(fstat(fileno(fp), &st), 0);
	data = malloc((size_t)st.st_size + 1);
	assert_int_equal(fread(data, 1, (size_t)st.st_size, fp), (size_t)st.st_size);
	fclose(fp);
	msg_init(&m, data, (size_t)st.st_size);
	assert_true(m.nhdrs <= MSG_MAX_HEADERS && m.body_start <= m.len);
	for (size_t i = 0; i < m.nhdrs; i++) {
		s = msg_header_decode(&m.hdrs[i]);
		assert_utf8(s);
		free(s);
	}
	check_addresses(&m, "From");
	check_addresses(&m, "To");
	check_addresses(&m, "Cc");
	s = msg_message_id(&m);
	assert_utf8(s);
	free(s);
	assert_true(msg_mime(&m) >= 1 && m.nparts <= MSG_MAX_PARTS);
	for (size_t i = 0; i < m.nparts; i++)
		check_part_utf8(&m, &m.parts[i]);
	check_corpus_tree(file, &m);
	check_corpus_fields(file, &m);
	msg_free(&m);
	free(data);
}

static void corpus_every_message_parses_to_valid_utf8(void **state)
{
	const char *base = getenv("CORRAL_TESTDATA");
	char dir[4096];
	struct dirent *e;
	size_t files = 0, checked = 0;
	DIR *d;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/msg", base && *base ? base : "tests/data");
	d = opendir(dir);
	if (d == NULL)
		fail_msg("cannot open %s (set CORRAL_TESTDATA)", dir);
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);

		if (n < 5 || strcmp(e->d_name + n - 4, ".eml") != 0)
			continue;
		check_one_file(dir, e->d_name);
		files++;
		for (size_t i = 0; i < sizeof(corpus_trees) / sizeof(corpus_trees[0]); i++)
			checked += strcmp(e->d_name, corpus_trees[i].file) == 0;
		for (size_t i = 0; i < sizeof(corpus_fields) / sizeof(corpus_fields[0]); i++)
			checked += strcmp(e->d_name, corpus_fields[i].file) == 0;
	}
	closedir(d);
	assert_true(files >= 45);
	assert_int_equal(checked, sizeof(corpus_trees) / sizeof(corpus_trees[0]) +
	                              sizeof(corpus_fields) / sizeof(corpus_fields[0]));
}

/* ---- runner: every table row is a test of its own ---- */

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define ADD_TABLE(tab, fn)                                                                         \
	for (size_t i = 0; i < NELEM(tab); i++)                                                    \
		tests[n++] = (struct CMUnitTest)                                                   \
		{                                                                                  \
			tab[i].name, fn, NULL, NULL, (void *)&tab[i]                               \
		}
#define ADD_TEST(fn)                                                                               \
	tests[n++] = (struct CMUnitTest)                                                           \
	{                                                                                          \
#fn, fn, NULL, NULL, NULL                                                          \
	}

static void base64_of_every_byte_value_decodes_exactly(void **state)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char raw[256], enc[344], out[300];
	size_t e = 0, n;

	(void)state;
	for (int i = 0; i < 256; i++)
		raw[i] = (unsigned char)i;
	for (size_t i = 0; i < 256; i += 3) {
		unsigned v = (unsigned)raw[i] << 16 |
		             (i + 1 < 256 ? (unsigned)raw[i + 1] << 8 : 0) |
		             (i + 2 < 256 ? raw[i + 2] : 0);

		enc[e++] = (unsigned char)alphabet[v >> 18 & 63];
		enc[e++] = (unsigned char)alphabet[v >> 12 & 63];
		enc[e++] = i + 1 < 256 ? (unsigned char)alphabet[v >> 6 & 63] : '=';
		enc[e++] = i + 2 < 256 ? (unsigned char)alphabet[v & 63] : '=';
	}
	n = b64_decode((const char *)enc, e, (char *)out, sizeof(out), true);
	assert_int_equal(n, 256);
	assert_memory_equal(out, raw, 256);
	/* Bytes outside the alphabet are refused in strict mode, skipped otherwise. */
	assert_int_equal(b64_decode("QU\x80JD", 6, (char *)out, sizeof(out), true), (size_t)-1);
	assert_int_equal(b64_decode("QU\x80JD", 6, (char *)out, sizeof(out), false), 3);
	assert_memory_equal(out, "ABC", 3);
}

int main(void)
{
	struct CMUnitTest tests[NELEM(hdr_cases) + NELEM(rfc2047_cases) + NELEM(cs_cases) +
	                        NELEM(addr_cases) + NELEM(msgid_cases) + NELEM(mime_cases) +
	                        NELEM(dec_cases) + 16];
	size_t n = 0;

	ADD_TABLE(hdr_cases, run_hdr_case);
	ADD_TABLE(rfc2047_cases, run_rfc2047_case);
	ADD_TABLE(cs_cases, run_cs_case);
	ADD_TABLE(addr_cases, run_addr_case);
	ADD_TABLE(msgid_cases, run_msgid_case);
	ADD_TABLE(mime_cases, run_mime_case);
	ADD_TABLE(dec_cases, run_dec_case);
	ADD_TEST(cap_more_than_max_headers_sets_error);
	ADD_TEST(cap_one_megabyte_header_line_is_indexed);
	ADD_TEST(cap_field_over_4mb_stops_indexing);
	ADD_TEST(cap_deep_nesting_stops_at_max_depth);
	ADD_TEST(cap_too_many_parts_stops_at_max_parts);
	ADD_TEST(cap_nested_message_rfc822_is_bounded);
	ADD_TEST(cap_unterminated_encoded_words_stay_linear);
	ADD_TEST(cap_address_count_is_bounded);
	ADD_TEST(cap_long_body_line_decodes_bounded);
	ADD_TEST(mime_text_cut_on_character_boundary);
	ADD_TEST(msg_mime_is_built_once);
	ADD_TEST(base64_of_every_byte_value_decodes_exactly);
	ADD_TEST(corpus_every_message_parses_to_valid_utf8);
	return _cmocka_run_group_tests("message", tests, n, NULL, NULL);
}
