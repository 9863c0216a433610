/* Unit tests for src/mail/sniff: attachment types from their bytes, not their labels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mail/message.h"
#include "mail/sniff.h"
#include "util/buf.h"
#include "util/log.h"

/* Small real files, base64 (made with Python's zipfile/zlib and by hand). */
#define PNG_B64                                                                                    \
	"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5Erk"   \
	"Jggg=="
#define GIF_B64 "R0lGODlhAQABAAAAACwAAAAAAQABAAACAkQBADs="
#define ZIP_B64                                                                                    \
	"UEsDBBQAAAAAAK+Jdl0tOwivDAAAAAwAAAAJAAAAaGVsbG8udHh0aGVsbG8gd29ybGQKUEsBAhQDFAAAAAAAr4l2" \
	"XS07CK8MAAAADAAAAAkAAAAAAAAAAAAAAIABAAAAAGhlbGxvLnR4dFBLBQYAAAAAAQABADcAAAAzAAAAAAA="
#define PDF_B64                                                                                    \
	"JVBERi0xLjQKMSAwIG9iajw8L1R5cGUvQ2F0YWxvZy9QYWdlcyAyIDAgUj4+ZW5kb2JqCjIgMCBvYmo8PC9UeXBl" \
	"L1BhZ2VzL0tpZHNbXS9Db3VudCAwPj5lbmRvYmoKdHJhaWxlcjw8L1Jvb3QgMSAwIFI+PgolJUVPRgo="
/* "Hello, this is plain text.\nSecond line.\n" */
#define TXT_B64 "SGVsbG8sIHRoaXMgaXMgcGxhaW4gdGV4dC4KU2Vjb25kIGxpbmUuCg=="

static int setup(void **state)
{
	char err[256] = "";
	struct sniffer *s = sniffer_new(err, sizeof(err));

	if (s == NULL) {
		fprintf(stderr, "sniffer_new: %s\n", err);
		return -1;
	}
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	sniffer_free(*state);
	return 0;
}

/* A message with one attachment, labelled declared, holding b64. */
static char *message_with(const char *declared, const char *b64)
{
	return xasprintf("From: a@example.com\r\n"
	                 "Subject: files\r\n"
	                 "MIME-Version: 1.0\r\n"
	                 "Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
	                 "\r\n"
	                 "--XX\r\n"
	                 "Content-Type: text/plain\r\n"
	                 "\r\n"
	                 "see attached\r\n"
	                 "--XX\r\n"
	                 "Content-Type: %s; name=\"file.bin\"\r\n"
	                 "Content-Disposition: attachment; filename=\"file.bin\"\r\n"
	                 "Content-Transfer-Encoding: base64\r\n"
	                 "\r\n"
	                 "%s\r\n"
	                 "--XX--\r\n",
	                 declared, b64);
}

static const struct {
	const char *declared, *b64, *sniffed;
} part_cases[] = {
    {"application/octet-stream", PDF_B64, "application/pdf"},
    {"application/octet-stream", PNG_B64, "image/png"},
    {"application/octet-stream", ZIP_B64, "application/zip"},
    {"application/octet-stream", GIF_B64, "image/gif"},
    {"application/octet-stream", TXT_B64, "text/plain"},
    /* The label lies: what counts is the bytes. */
    {"image/png", PDF_B64, "application/pdf"},
    {"application/pdf", GIF_B64, "image/gif"},
};

static void attachment_type_comes_from_its_bytes(void **state)
{
	struct sniffer *s = *state;

	for (size_t i = 0; i < sizeof(part_cases) / sizeof(part_cases[0]); i++) {
		char *raw = message_with(part_cases[i].declared, part_cases[i].b64);
		struct msg m;
		char *type = NULL;
		size_t n, found = 0;

		msg_init(&m, raw, strlen(raw));
		n = msg_mime(&m);
		for (size_t p = 0; p < n; p++) {
			if (!m.parts[p].is_attachment || m.parts[p].is_multipart)
				continue;
			found++;
			free(type);
			type = sniff_part(s, &m, &m.parts[p]);
		}
		if (found != 1 || type == NULL || strcmp(type, part_cases[i].sniffed) != 0)
			fail_msg("case %zu: %zu attachments, sniffed '%s', expected '%s'", i, found,
			         type ? type : "(none)", part_cases[i].sniffed);
		free(type);
		msg_free(&m);
		free(raw);
	}
}

static void empty_buffer_is_x_empty(void **state)
{
	char *t = sniff_buffer(*state, "", 0);

	assert_string_equal(t, "application/x-empty");
	free(t);
}

static void type_has_no_parameters(void **state)
{
	char *t = sniff_buffer(*state, "plain words\n", 12);

	assert_string_equal(t, "text/plain");
	assert_null(strchr(t, ';'));
	free(t);
}

/* A big base64 attachment: only its head is decoded, and the type is right. */
static void large_attachment_is_sniffed_from_its_head(void **state)
{
	struct buf b;
	struct msg m;
	char *raw, *type = NULL;
	size_t n;

	buf_init(&b, 8u << 20);
	buf_puts(&b, "Content-Type: application/octet-stream\r\n"
	             "Content-Transfer-Encoding: base64\r\n\r\n" PDF_B64 "\r\n");
	for (int i = 0; i < 40000; i++)
		buf_puts(
		    &b, "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\r\n");
	raw = buf_steal(&b, NULL);
	msg_init(&m, raw, strlen(raw));
	n = msg_mime(&m);
	assert_int_equal(n, 1);
	type = sniff_part(*state, &m, &m.parts[0]);
	assert_string_equal(type, "application/pdf");
	free(type);
	msg_free(&m);
	free(raw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(attachment_type_comes_from_its_bytes),
	    cmocka_unit_test(empty_buffer_is_x_empty),
	    cmocka_unit_test(type_has_no_parameters),
	    cmocka_unit_test(large_attachment_is_sniffed_from_its_head),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
