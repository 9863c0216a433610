/* libFuzzer target: SEARCH keys as a hostile client may send them, read by
 * the command reader (imapd/parse.h), parsed (imapd/search.h), evaluated
 * over a small folder whose last message is the input itself, and
 * answered. Invariants: no crash, a BAD always says why, a parsed query
 * always has keys, the answer is one CRLF-terminated line. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imapd/parse.h"
#include "imapd/search.h"

struct fake {
	const char *raw;
	size_t len;
};

static uint64_t fake_size(void *arg)
{
	const struct fake *f = arg;

	return f->raw ? f->len + 1 : 0;
}

static char *fake_load(void *arg, size_t *len)
{
	const struct fake *f = arg;
	char *p;

	if (f->raw == NULL)
		return NULL;
	p = malloc(f->len + 1);
	memcpy(p, f->raw, f->len);
	p[f->len] = '\0';
	*len = f->len;
	return p;
}

static void evaluate(const struct search_query *q, const char *data, size_t size, bool uid)
{
	static const char m1[] = "From: a@b\nSubject: =?UTF-8?B?w6Rm?=\nDate: 1 Jan 2024 00:00 "
	                         "+0000\n\nbody\n";
	struct fake folder[3] = {{m1, sizeof(m1) - 1}, {NULL, 0}, {data, size}};
	static const char *const flags[3] = {"S", "FRa", "DT"};
	struct keywords kw = {.names = {"$Label"}, .n = 1};
	uint32_t ids[3];
	size_t n = 0;
	struct buf b;

	for (uint32_t i = 0; i < 3; i++) {
		struct search_msg m = {.seq = i + 1,
		                       .uid = 2 * i + 1,
		                       .flags = flags[i],
		                       .recent = i == 2,
		                       .internal = 1700000000 + 86400 * (time_t)i,
		                       .kw = &kw,
		                       .size = fake_size,
		                       .load = fake_load,
		                       .arg = &folder[i]};

		if (search_match(q->key, &m))
			ids[n++] = uid ? m.uid : m.seq;
	}
	buf_init(&b, 1 << 16);
	search_answer(&b, q, "t", uid, ids, n);
	if (b.len < 2 || memcmp(b.data + b.len - 2, "\r\n", 2) != 0 ||
	    memchr(b.data, '\n', b.len - 1) != NULL)
		abort();
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct imapd_limits lim = {
	    .line_max = 8192, .literal_max = 4096, .depth_max = 8, .args_max = 500};
	struct imapd_reader *r = imapd_reader_new(&lim);
	const struct imapd_cmd *cmd = NULL;
	const char *tag = NULL;
	char why[128], err[160] = "", *line = malloc(size + 12);
	size_t used = 0, len;

	len = (size_t)sprintf(line, "t SEARCH ");
	memcpy(line + len, data, size);
	len += size;
	memcpy(line + len, "\r\n", 2);
	len += 2;
	if (imapd_read(r, line, len, &used, &cmd, &tag, why, sizeof(why)) == IMAPD_COMMAND) {
		struct search_query q;
		enum search_parsed rc =
		    search_parse(cmd->args, cmd->nargs, 3, 5, &q, err, sizeof(err));

		if (rc != SEARCH_OK && (err[0] == '\0' || q.key != NULL))
			abort();
		if (rc == SEARCH_OK) {
			if (q.key == NULL)
				abort();
			evaluate(&q, (const char *)data, size, size % 2);
		}
		search_query_free(&q);
	}
	imapd_reader_free(r);
	free(line);
	return 0;
}
