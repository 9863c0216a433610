/* libFuzzer target: corral's IMAP client through a whole fetch, the fuzzed
 * bytes playing the server after the login: CAPABILITY, SELECT/EXAMINE and
 * its listing, UID FETCH with literals, the deletion, IDLE, STATUS
 * (CONDSTORE), NOTIFY and its reports, LOGOUT. The
 * first byte picks the session's settings. Checked: the listing ascends
 * from first_uid, each message fetched gets exactly one done() and a body
 * within the cap (fuzz-fetch-session.h). */
#include "fuzz-fetch-session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct account acct = {.name = (char *)"fuzz", .timeout_s = 1};
	struct src_params p = {.acct = &acct};
	struct src_folder f;
	struct result err;
	struct source *s;
	uint32_t first;
	unsigned opt;
	bool news;

	if (size < 1)
		return 0;
	opt = data[0];
	log_set_verbosity(-1);
	acct.keep = opt & 1;
	p.max_message = opt & 4 ? 64 : 0;
	p.window_msgs = 1 + (opt >> 3 & 3) * 5;
	first = opt & 32 ? 5 : 1;
	s = source_imap.attach(fz_connection(data + 1, size - 1), &p, &err);
	if (s == NULL)
		return 0;
	if (source_imap.select(s, "INBOX", first, &f, &err) == 0) {
		for (size_t i = 0; i < f.nmsgs; i++)
			if (f.msgs[i].uid < first || (i > 0 && f.msgs[i].uid <= f.msgs[i - 1].uid))
				abort();
		fz_fetch_all(&source_imap, s, &f,
		             p.max_message ? p.max_message : SOURCE_DEFAULT_MAX_MESSAGE);
		if (opt & 64)
			source_imap.wait_news(s, 1, &news, NULL, &err);
	}
	if (opt & 128) {
		static const char *const watched[] = {"INBOX", "Lists/caf\xc3\xa9"};
		struct src_status st;
		bool changed[2];

		source_imap.status(s, "INBOX", &st, &err);
		if (source_imap.watch(s, watched, 2, &err) == 0)
			source_imap.wait_news(s, 1, &news, changed, &err);
	}
	source_imap.close(s, &err);
	return 0;
}
