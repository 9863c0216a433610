/* libFuzzer target: FETCH's BODYSTRUCTURE, BODY, ENVELOPE and sections
 * (imapd/fetch-body.h) of one message made CRLF as the server sends it:
 * every answer must be well-formed IMAP, every section within the message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-check.h"
#include "imapd/fetch-body.h"

/* Balanced parentheses outside strings; quoted strings closed; literals whole. */
static void check_imap(const struct buf *b)
{
	const char *s = b->data ? b->data : "";
	size_t n = b->len, depth = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '(') {
			depth++;
		} else if (s[i] == ')') {
			if (depth-- == 0)
				abort();
		} else if (s[i] == '"') {
			for (i++; i < n && s[i] != '"'; i++) {
				if (s[i] == '\r' || s[i] == '\n' || (unsigned char)s[i] >= 0x80)
					abort();
				if (s[i] == '\\')
					i++;
			}
			if (i >= n)
				abort();
		} else if (s[i] == '{') {
			char *e;
			size_t len = strtoul(s + i + 1, &e, 10);

			if (e[0] != '}' || e[1] != '\r' || e[2] != '\n' ||
			    (size_t)(e + 3 - s) + len > n)
				abort();
			i = (size_t)(e + 3 - s) + len - 1;
		}
	}
	if (depth != 0)
		abort();
}

static const char *const items[] = {"BODY[1]",
                                    "BODY[2.MIME]",
                                    "BODY[1.2.HEADER]",
                                    "BODY[2.TEXT]",
                                    "BODY[3.1]",
                                    "BODY[HEADER]",
                                    "BODY[TEXT]",
                                    "BODY[2.HEADER.FIELDS (From Subject)]",
                                    "BODY[HEADER.FIELDS.NOT (Received)]"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fetch_msg fm;
	struct buf m, out;

	buf_init(&m, 4 * size + 16);
	for (size_t i = 0; i < size; i++) {
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			buf_putc(&m, '\r');
		buf_putc(&m, (char)data[i]);
	}
	fetch_msg_init(&fm, m.data ? m.data : "", m.len);
	for (int ext = 0; ext < 2; ext++) {
		buf_init(&out, (size_t)-1 / 4);
		fetch_bodystructure(&fm, ext, &out);
		check_imap(&out);
		buf_free(&out);
	}
	buf_init(&out, (size_t)-1 / 4);
	fetch_envelope(&fm, &out);
	check_imap(&out);
	buf_free(&out);
	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
		struct fetch_section sec;

		if (fetch_section_parse(items[i], strlen(items[i]), &sec) != 0)
			abort();
		buf_init(&out, (size_t)-1 / 4);
		fetch_section_get(&fm, &sec, &out);
		/* a section is bytes of the message, plus at most an empty line */
		if (out.len > m.len + 2)
			abort();
		buf_free(&out);
	}
	fetch_msg_free(&fm);
	buf_free(&m);
	return 0;
}
