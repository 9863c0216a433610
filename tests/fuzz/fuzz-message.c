/* libFuzzer target: the whole message parser on one message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-check.h"
#include "mail/message.h"

static void check_addresses(const struct msg *m, const char *field)
{
	size_t it = 0;
	const struct msg_header *h;

	while ((h = msg_header_next(m, field, &it)) != NULL) {
		struct msg_addr *a;
		size_t n = addr_parse(h->value, h->value_len, &a);

		for (size_t i = 0; i < n; i++) {
			if (a[i].addr == NULL)
				abort();
			fuzz_check_str(a[i].name);
			fuzz_check_str(a[i].addr);
		}
		addr_free(a, n);
	}
}

static void check_part(struct msg *m, const struct msg_part *p)
{
	size_t n;
	char *s;

	if (p->type == NULL || p->depth > MSG_MAX_DEPTH || p->body_start > p->body_end ||
	    p->body_end > m->len || p->hdr_start > p->body_start)
		abort();
	fuzz_check_str(p->filename);
	fuzz_check_str(p->charset);
	s = mime_decode(m, p, 1 << 16, &n);
	if (n > 1 << 16)
		abort();
	free(s);
	s = mime_text(m, p, 1 << 16, &n);
	if (n > 1 << 16 || !fuzz_utf8_ok(s, n))
		abort();
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msg m;
	char *s;

	msg_init(&m, (const char *)data, size);
	if (m.body_start > m.len || m.nhdrs > MSG_MAX_HEADERS)
		abort();
	for (size_t i = 0; i < m.nhdrs; i++) {
		s = msg_header_decode(&m.hdrs[i]);
		fuzz_check_str(s);
		free(s);
		free(msg_header_unfold(&m.hdrs[i]));
	}
	check_addresses(&m, "From");
	check_addresses(&m, "To");
	s = msg_message_id(&m);
	fuzz_check_str(s);
	free(s);
	if (msg_mime(&m) < 1 || m.nparts > MSG_MAX_PARTS)
		abort();
	for (size_t i = 0; i < m.nparts; i++)
		check_part(&m, &m.parts[i]);
	msg_free(&m);
	return 0;
}
