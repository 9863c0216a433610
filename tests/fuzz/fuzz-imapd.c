/* libFuzzer target: what a hostile client may send corral's IMAP server,
 * through the command reader (imapd/parse.h). The first byte chooses the
 * chunk size, so that every split of the stream is tried; small limits make
 * the caps trip often. Invariants: every byte is taken, arguments point
 * into memory the reader owns and stay within it, lists nest within the
 * cap. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imapd/parse.h"

static void walk(const struct imapd_arg *a, size_t n, unsigned depth, unsigned max)
{
	if (depth > max)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (a[i].kind == IMAPD_LIST) {
			walk(a[i].sub, a[i].nsub, depth + 1, max);
		} else if (a[i].len > 0) {
			/* Touch the bytes: ASan catches any pointer outside the buffer. */
			volatile char c = a[i].s[0];
			volatile char d = a[i].s[a[i].len - 1];

			(void)c;
			(void)d;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct imapd_limits lim = {
	    .line_max = 8192, .literal_max = 300, .depth_max = 4, .args_max = 50};
	struct imapd_reader *r;
	size_t chunk, off = 1;

	if (size < 1)
		return 0;
	chunk = (size_t)(data[0] % 17) + 1;
	r = imapd_reader_new(&lim);
	while (off < size) {
		size_t len = size - off < chunk ? size - off : chunk, used = 0;
		const struct imapd_cmd *cmd = NULL;
		const char *tag = NULL;
		char why[128];
		enum imapd_read ev = imapd_read(r, (const char *)data + off, len, &used, &cmd, &tag,
		                                why, sizeof(why));

		if (used > len || (used == 0 && ev == IMAPD_NEED_MORE && len > 0))
			abort();
		if (ev == IMAPD_COMMAND) {
			if (cmd->tag[0] == '\0' || cmd->name[0] == '\0')
				abort();
			walk(cmd->args, cmd->nargs, 0, lim.depth_max);
		}
		if (ev == IMAPD_BAD && (tag == NULL || tag[0] == '\0' || why[0] == '\0'))
			abort();
		off += used;
	}
	imapd_reader_free(r);
	return 0;
}
