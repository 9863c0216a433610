/* libFuzzer target: rule files (YAML through libyaml and the rule compiler),
 * then one evaluation of what compiled against a fixed message. */
#include <stdint.h>
#include <stdlib.h>

#include "mail/message.h"
#include "rules/rules.h"

static const char message[] = "From: Boss <boss@example.com>\r\n"
                              "To: me@example.org\r\n"
                              "Subject: =?UTF-8?B?SW52b2ljZSDigqw=?= 42\r\n"
                              "List-Id: Devs <devs.lists.example.org>\r\n"
                              "Content-Type: text/plain\r\n\r\nbody text\r\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag d;
	struct rules *r;

	diag_init(&d);
	r = rules_load_string("fuzz.yml", (const char *)data, size, &d);
	if (r != NULL) {
		struct msg m;
		struct rules_input in = {.account = "work", .size = sizeof(message) - 1};
		struct rules_outcome o;
		struct rules_trace *t = rules_trace_new();
		char *text;

		msg_init(&m, message, sizeof(message) - 1);
		rules_eval(r, &m, &in, &o, t);
		text = rules_trace_text(t);
		free(text);
		rules_trace_free(t);
		rules_outcome_free(&o);
		msg_free(&m);
		rules_free(r);
	}
	diag_free(&d);
	return 0;
}
