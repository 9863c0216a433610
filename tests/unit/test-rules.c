/* Unit tests for the rule language (corral-rules(5)): compile, evaluate, explain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mail/message.h"
#include "rules/rules.h"
#include "util/log.h"
#include "mail/flags.h"
#include "mail/folder.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- messages ------------------------------------------------------------- */

static const char msg_plain[] = "From: \"Boss Person\" <boss@example.com>\r\n"
                                "To: Me <me@example.org>, other@example.net\r\n"
                                "Cc: \"Carbon Copy\" <cc@example.net>\r\n"
                                "Subject: =?UTF-8?Q?Caf=C3=A9_invoice?= 42\r\n"
                                "List-Id: Foo developers <foo-dev.lists.example.org>\r\n"
                                "X-Spam-Flag: NO\r\n"
                                "X-Multi: first\r\n"
                                "X-Multi: second\r\n"
                                "X-Folded: part one\r\n"
                                " part two\r\n"
                                "Message-ID: <m1@example.com>\r\n"
                                "\r\n"
                                "Hello world, the body says invoice number 12345.\r\n";

/* A PDF sent as application/octet-stream, and a quoted-printable text part. */
static const char msg_pdf[] =
    "From: billing@billing.example.com\r\n"
    "To: me@example.org\r\n"
    "Subject: Your invoice\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"BB\"\r\n"
    "\r\n"
    "--BB\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Bonjour, voici la facture du caf=C3=A9.\r\n"
    "--BB\r\n"
    "Content-Type: application/octet-stream; name=\"invoice.pdf\"\r\n"
    "Content-Disposition: attachment; filename=\"invoice.pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "JVBERi0xLjQKMSAwIG9iajw8L1R5cGUvQ2F0YWxvZy9QYWdlcyAyIDAgUj4+ZW5kb2JqCjIgMCBvYmo8PC9UeXBl\r\n"
    "L1BhZ2VzL0tpZHNbXS9Db3VudCAwPj5lbmRvYmoKdHJhaWxlcjw8L1Jvb3QgMSAwIFI+PgolJUVPRgo=\r\n"
    "--BB--\r\n";

static const char msg_lines[] = "Subject: lines\r\n"
                                "\r\n"
                                "line one\r\n"
                                "line two\r\n";

/* ---- helpers -------------------------------------------------------------- */

static struct rules *load(const char *yaml)
{
	struct diag d;
	struct rules *r;

	diag_init(&d);
	r = rules_load_string("rules.yml", yaml, strlen(yaml), &d);
	if (r == NULL) {
		diag_print(&d, stderr);
		fail_msg("rules did not compile:\n%s", yaml);
	}
	diag_free(&d);
	return r;
}

/* Compiles yaml, which must fail; returns the diagnostics. */
static struct diag load_bad(const char *yaml)
{
	struct diag d;
	struct rules *r;

	diag_init(&d);
	r = rules_load_string("rules.yml", yaml, strlen(yaml), &d);
	if (r != NULL)
		fail_msg("rules compiled but should not:\n%s", yaml);
	if (d.n == 0)
		fail_msg("no diagnostic for:\n%s", yaml);
	return d;
}

static void run(struct rules *r, const char *raw, const char *account, uint64_t size,
                struct rules_outcome *o, struct rules_trace *t)
{
	struct rules_input in = {account, size};
	struct msg m;

	msg_init(&m, raw, strlen(raw));
	rules_eval(r, &m, &in, o, t);
	msg_free(&m);
}

/* The folders an outcome delivers to, joined by ",". */
static char *folders(const struct rules_outcome *o)
{
	char *s = xstrdup("");

	for (size_t i = 0; i < o->ndeliveries; i++) {
		char *n = xasprintf("%s%s%s", s, i ? "," : "", o->deliveries[i].folder);

		free(s);
		s = n;
	}
	return s;
}

/* ---- conditions: one matching and one non-matching case per row ---------- */

static const struct {
	const char *cond; /* the rule's `if:` */
	const char *msg;
	const char *account;
	uint64_t size;
	bool match;
} cond_cases[] = {
    /* from: each address and display name */
    {"{from: boss@example.com}", msg_plain, NULL, 0, true},
    {"{from: '*@EXAMPLE.COM'}", msg_plain, NULL, 0, true},
    {"{from: Boss Person}", msg_plain, NULL, 0, true},
    {"{from: nobody@example.com}", msg_plain, NULL, 0, false},
    {"{from: boss@example}", msg_plain, NULL, 0, false},
    /* to: To and Cc, addresses and display names */
    {"{to: me@example.org}", msg_plain, NULL, 0, true},
    {"{to: other@example.net}", msg_plain, NULL, 0, true},
    {"{to: cc@example.net}", msg_plain, NULL, 0, true},
    {"{to: Carbon Copy}", msg_plain, NULL, 0, true},
    {"{to: boss@example.com}", msg_plain, NULL, 0, false},
    /* subject: decoded, glob over the whole value */
    {"{subject: 'Café invoice 42'}", msg_plain, NULL, 0, true},
    {"{subject: '*invoice*'}", msg_plain, NULL, 0, true},
    {"{subject: invoice}", msg_plain, NULL, 0, false},
    {"{subject: '=?UTF-8?Q?*'}", msg_plain, NULL, 0, false},
    /* header: every occurrence, decoded, unfolded; several names all match */
    {"{header: {X-Spam-Flag: NO}}", msg_plain, NULL, 0, true},
    {"{header: {X-Spam-Flag: 'YES'}}", msg_plain, NULL, 0, false},
    {"{header: {x-multi: second}}", msg_plain, NULL, 0, true},
    {"{header: {X-Multi: third}}", msg_plain, NULL, 0, false},
    {"{header: {X-Folded: 'part one part two'}}", msg_plain, NULL, 0, true},
    {"{header: {X-Spam-Flag: NO, List-Id: '*foo-dev*'}}", msg_plain, NULL, 0, true},
    {"{header: {X-Spam-Flag: NO, List-Id: '*bar*'}}", msg_plain, NULL, 0, false},
    {"{header: {X-Absent: '*'}}", msg_plain, NULL, 0, false},
    {"{header: {Subject: '*invoice*'}}", msg_plain, NULL, 0, true},
    /* body: text parts, transfer-decoded and converted; not attachments */
    {"{body: {contains: 'invoice number'}}", msg_plain, NULL, 0, true},
    {"{body: {contains: refund}}", msg_plain, NULL, 0, false},
    {"{body: {contains: café}}", msg_pdf, NULL, 0, true},
    {"{body: {contains: '%PDF'}}", msg_pdf, NULL, 0, false},
    {"{body: {regex: '^bonjour'}}", msg_pdf, NULL, 0, true},
    {"{body: {regex: '^line two$'}}", msg_lines, NULL, 0, true},
    {"{body: {regex: 'one.line'}}", msg_lines, NULL, 0, false},
    {"{body: 'line one*line two*'}", msg_lines, NULL, 0, true},
    /* size */
    {"{size: '> 5M'}", msg_plain, NULL, 6u << 20, true},
    {"{size: '> 5M'}", msg_plain, NULL, 5u << 20, false},
    {"{size: < 10k}", msg_plain, NULL, 1000, true},
    {"{size: < 10k}", msg_plain, NULL, 10240, false},
    {"{size: '>= 1000'}", msg_plain, NULL, 1000, true},
    {"{size: '>= 1000'}", msg_plain, NULL, 999, false},
    {"{size: '<= 1000'}", msg_plain, NULL, 1000, true},
    {"{size: '<= 1000'}", msg_plain, NULL, 1001, false},
    {"{size: '= 1000'}", msg_plain, NULL, 1000, true},
    {"{size: '= 1000'}", msg_plain, NULL, 1001, false},
    /* attachment: sniffed type, glob */
    {"{attachment: application/pdf}", msg_pdf, NULL, 0, true},
    {"{attachment: 'application/*'}", msg_pdf, NULL, 0, true},
    {"{attachment: application/octet-stream}", msg_pdf, NULL, 0, false},
    {"{attachment: 'image/*'}", msg_pdf, NULL, 0, false},
    {"{attachment: '*'}", msg_plain, NULL, 0, false},
    /* filename (extension) */
    {"{filename: '*.PDF'}", msg_pdf, NULL, 0, true},
    {"{filename: '*.exe'}", msg_pdf, NULL, 0, false},
    /* account */
    {"{account: work}", msg_plain, "work", 0, true},
    {"{account: work}", msg_plain, "home", 0, false},
    {"{account: ''}", msg_plain, NULL, 0, true},
    /* all / any / not / several keys */
    {"{all: [{from: '*@example.com'}, {subject: '*invoice*'}]}", msg_plain, NULL, 0, true},
    {"{all: [{from: '*@example.com'}, {subject: '*refund*'}]}", msg_plain, NULL, 0, false},
    {"{any: [{from: x@y.z}, {subject: '*invoice*'}]}", msg_plain, NULL, 0, true},
    {"{any: [{from: x@y.z}, {subject: nope}]}", msg_plain, NULL, 0, false},
    {"{not: {from: x@y.z}}", msg_plain, NULL, 0, true},
    {"{not: {from: boss@example.com}}", msg_plain, NULL, 0, false},
    {"{from: boss@example.com, subject: '*invoice*'}", msg_plain, NULL, 0, true},
    {"{from: boss@example.com, subject: nope}", msg_plain, NULL, 0, false},
    /* patterns: is, contains, regex, lists */
    {"{subject: {is: 'café INVOICE 42'}}", msg_plain, NULL, 0, true},
    {"{subject: {is: 'Café invoice'}}", msg_plain, NULL, 0, false},
    {"{subject: {contains: INVOICE}}", msg_plain, NULL, 0, true},
    {"{subject: {contains: refund}}", msg_plain, NULL, 0, false},
    {"{subject: {regex: 'inv[a-z]+ [0-9]+$'}}", msg_plain, NULL, 0, true},
    {"{subject: {regex: '^invoice'}}", msg_plain, NULL, 0, false},
    {"{from: [x@y.z, boss@example.com]}", msg_plain, NULL, 0, true},
    {"{from: [x@y.z, z@w.v]}", msg_plain, NULL, 0, false},
    {"{subject: 'caf? *'}", msg_plain, NULL, 0, false}, /* ? is one byte, é is two */
    {"{subject: 'caf?? *'}", msg_plain, NULL, 0, true},
};

static void condition_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(cond_cases); i++) {
		char *yaml = xasprintf("- if: %s\n  then: {folder: Hit}\n", cond_cases[i].cond);
		struct rules *r = load(yaml);
		struct rules_outcome o;
		bool hit;

		run(r, cond_cases[i].msg, cond_cases[i].account, cond_cases[i].size, &o, NULL);
		hit = o.ndeliveries == 1 && strcmp(o.deliveries[0].folder, "Hit") == 0;
		if (hit != cond_cases[i].match)
			fail_msg("case %zu: if: %s: expected %s", i, cond_cases[i].cond,
			         cond_cases[i].match ? "a match" : "no match");
		rules_outcome_free(&o);
		rules_free(r);
		free(yaml);
	}
}

static void rule_without_if_matches_everything(void **state)
{
	struct rules *r = load("- then: {folder: All}\n");
	struct rules_outcome o;

	(void)state;
	run(r, "Subject: x\r\n\r\n", NULL, 10, &o, NULL);
	assert_int_equal(o.ndeliveries, 1);
	assert_string_equal(o.deliveries[0].folder, "All");
	assert_int_equal(o.deliveries[0].rule, 0);
	rules_outcome_free(&o);
	rules_free(r);
}

/* ---- actions ---------------------------------------------------------------- */

static const struct {
	const char *then;
	const char *folders; /* deliveries, in order */
	unsigned flags;      /* of the first delivery */
	size_t nforwards, npipes;
	bool discarded, implicit_keep;
} action_cases[] = {
    {"{folder: Finance}", "Finance", 0, 0, 0, false, false},
    {"{folder: Lists/foo}", "Lists/foo", 0, 0, 0, false, false},
    {"{folder: INBOX}", "INBOX", 0, 0, 0, false, false},
    {"keep", "INBOX", 0, 0, 0, false, false},
    {"discard", "", 0, 0, 0, true, false},
    {"{discard: true}", "", 0, 0, 0, true, false},
    {"{keep}", "INBOX", 0, 0, 0, false, false},
    {"{keep: false, folder: X}", "X", 0, 0, 0, false, false},
    {"[{folder: Finance}, {flag: flagged}]", "Finance", MAIL_FLAG_FLAGGED, 0, 0, false, false},
    {"{folder: F, flag: [seen, Answered]}", "F", MAIL_FLAG_SEEN | MAIL_FLAG_ANSWERED, 0, 0, false,
     false},
    {"[keep, {flag: draft}]", "INBOX", MAIL_FLAG_DRAFT, 0, 0, false, false},
    {"{flag: seen}", "INBOX", MAIL_FLAG_SEEN, 0, 0, false, true},
    {"{forward: me@phone.example}", "", 0, 1, 0, false, false},
    {"{forward: [a@x.example, b@x.example]}", "", 0, 2, 0, false, false},
    {"[{forward: me@phone.example}, keep]", "INBOX", 0, 1, 0, false, false},
    {"{pipe: [/usr/bin/true, -x]}", "", 0, 0, 1, false, false},
    {"{pipe: \"/bin/sh -c 'exit 0'\"}", "", 0, 0, 1, false, false},
    {"[{folder: A}, {folder: B}, keep]", "A,B,INBOX", 0, 0, 0, false, false},
};

static void action_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(action_cases); i++) {
		char *yaml = xasprintf("- then: %s\n", action_cases[i].then);
		struct rules *r = load(yaml);
		struct rules_outcome o;
		char *f;

		run(r, msg_plain, NULL, 100, &o, NULL);
		f = folders(&o);
		if (strcmp(f, action_cases[i].folders) != 0 ||
		    (o.ndeliveries && o.deliveries[0].flags != action_cases[i].flags) ||
		    o.nforwards != action_cases[i].nforwards ||
		    o.npipes != action_cases[i].npipes ||
		    o.discarded != action_cases[i].discarded ||
		    o.implicit_keep != action_cases[i].implicit_keep)
			fail_msg("case %zu: then: %s: got folders '%s' flags %u, %zu forwards, %zu "
			         "pipes, discarded %d, implicit keep %d",
			         i, action_cases[i].then, f,
			         o.ndeliveries ? o.deliveries[0].flags : 0, o.nforwards, o.npipes,
			         o.discarded, o.implicit_keep);
		free(f);
		rules_outcome_free(&o);
		rules_free(r);
		free(yaml);
	}
}

static void forward_and_pipe_are_recorded_with_their_rule(void **state)
{
	struct rules *r = load("- name: boss\n"
	                       "  if: {from: boss@example.com}\n"
	                       "  then: [{forward: me@phone.example}, keep]\n"
	                       "  continue: true\n"
	                       "- name: archive\n"
	                       "  then: {pipe: [archiver, --stdin, 'two words']}\n");
	struct rules_outcome o;

	(void)state;
	run(r, msg_plain, NULL, 100, &o, NULL);
	assert_int_equal(o.nforwards, 1);
	assert_string_equal(o.forwards[0].addr, "me@phone.example");
	assert_int_equal(o.forwards[0].rule, 0);
	assert_int_equal(o.npipes, 1);
	assert_string_equal(o.pipes[0].argv[0], "archiver");
	assert_string_equal(o.pipes[0].argv[2], "two words");
	assert_null(o.pipes[0].argv[3]);
	assert_int_equal(o.pipes[0].rule, 1);
	assert_int_equal(o.ndeliveries, 1);
	assert_string_equal(o.deliveries[0].folder, "INBOX");
	assert_int_equal(o.deliveries[0].rule, 0);
	assert_int_equal(o.nmatched, 2);
	rules_outcome_free(&o);
	rules_free(r);
}

static void no_matching_rule_means_implicit_keep(void **state)
{
	struct rules *r = load("- if: {from: nobody@example.com}\n  then: discard\n");
	struct rules_outcome o;

	(void)state;
	run(r, msg_plain, NULL, 100, &o, NULL);
	assert_true(o.implicit_keep);
	assert_false(o.discarded);
	assert_int_equal(o.ndeliveries, 1);
	assert_string_equal(o.deliveries[0].folder, "INBOX");
	assert_int_equal(o.deliveries[0].rule, -1);
	assert_int_equal(o.nmatched, 0);
	rules_outcome_free(&o);
	rules_free(r);
}

static void empty_rule_set_keeps_everything(void **state)
{
	struct rules *r = load("[]\n");
	struct rules_outcome o;

	(void)state;
	assert_int_equal(rules_count(r), 0);
	run(r, msg_plain, NULL, 100, &o, NULL);
	assert_true(o.implicit_keep);
	assert_string_equal(o.deliveries[0].folder, "INBOX");
	rules_outcome_free(&o);
	rules_free(r);
}

static void first_match_ends_evaluation(void **state)
{
	struct rules *r = load("- if: {from: '*@example.com'}\n  then: {folder: First}\n"
	                       "- if: {from: '*@example.com'}\n  then: {folder: Second}\n");
	struct rules_outcome o;
	char *f;

	(void)state;
	run(r, msg_plain, NULL, 100, &o, NULL);
	f = folders(&o);
	assert_string_equal(f, "First");
	assert_int_equal(o.nmatched, 1);
	free(f);
	rules_outcome_free(&o);
	rules_free(r);
}

static void continue_goes_on_to_later_rules(void **state)
{
	struct rules *r = load("- name: big\n  if: {size: '> 5M'}\n  then: {folder: Big}\n"
	                       "  continue: true\n"
	                       "- if: {from: '*@example.com'}\n  then: {folder: Boss}\n"
	                       "- then: {folder: Never}\n");
	struct rules_outcome o;
	char *f;

	(void)state;
	run(r, msg_plain, NULL, 6u << 20, &o, NULL);
	f = folders(&o);
	assert_string_equal(f, "Big,Boss");
	assert_int_equal(o.deliveries[0].rule, 0);
	assert_int_equal(o.deliveries[1].rule, 1);
	free(f);
	rules_outcome_free(&o);
	rules_free(r);
}

static void same_folder_twice_is_one_delivery_with_both_flags(void **state)
{
	struct rules *r = load("- then: {folder: X, flag: seen}\n  continue: true\n"
	                       "- then: {folder: X, flag: flagged}\n");
	struct rules_outcome o;

	(void)state;
	run(r, msg_plain, NULL, 100, &o, NULL);
	assert_int_equal(o.ndeliveries, 1);
	assert_int_equal(o.deliveries[0].flags, MAIL_FLAG_SEEN | MAIL_FLAG_FLAGGED);
	assert_int_equal(o.deliveries[0].rule, 0);
	rules_outcome_free(&o);
	rules_free(r);
}

static void flag_only_rule_marks_later_deliveries(void **state)
{
	struct rules *r = load("- if: {from: boss@example.com}\n  then: {flag: flagged}\n"
	                       "  continue: true\n"
	                       "- then: {folder: Work, flag: seen}\n");
	struct rules_outcome o;

	(void)state;
	run(r, msg_plain, NULL, 100, &o, NULL);
	assert_int_equal(o.ndeliveries, 1);
	assert_string_equal(o.deliveries[0].folder, "Work");
	assert_int_equal(o.deliveries[0].flags, MAIL_FLAG_FLAGGED | MAIL_FLAG_SEEN);
	rules_outcome_free(&o);
	rules_free(r);
}

static void discard_after_a_filing_rule_keeps_the_filed_copy(void **state)
{
	struct rules *r =
	    load("- then: {folder: Big}\n  continue: true\n"
	         "- name: spam\n  if: {header: {X-Spam-Flag: NO}}\n  then: discard\n");
	struct rules_outcome o;

	(void)state;
	run(r, msg_plain, NULL, 100, &o, NULL);
	assert_true(o.discarded);
	assert_int_equal(o.discard_rule, 1);
	assert_false(o.implicit_keep);
	assert_int_equal(o.ndeliveries, 1);
	assert_string_equal(o.deliveries[0].folder, "Big");
	rules_outcome_free(&o);
	rules_free(r);
}

/* ---- captures and folder names -------------------------------------------- */

static const struct {
	const char *rule;
	const char *folder;
} capture_cases[] = {
    {"- if: {header: {List-Id: {regex: '<([a-z0-9-]+)\\.'}}}\n  then: {folder: 'Lists/$1'}\n",
     "Lists/foo-dev"},
    {"- if: {header: {List-Id: {regex: '<([a-z0-9-]+)\\.'}}}\n  then: {folder: 'L/${1}x'}\n",
     "L/foo-devx"},
    /* In all:, the last regex that matched wins. */
    {"- if: {all: [{subject: {regex: '(caf)'}}, {from: {regex: '^([a-z]+)@'}}]}\n"
     "  then: {folder: 'By/$1'}\n",
     "By/boss"},
    /* In any:, the first branch that matches ends it. */
    {"- if: {any: [{subject: {regex: '(invoice)'}}, {from: {regex: '^([a-z]+)@'}}]}\n"
     "  then: {folder: 'By/$1'}\n",
     "By/invoice"},
    /* A branch that failed as a whole gives nothing, even if its regex matched. */
    {"- if: {any: [{all: [{subject: {regex: '(invoice)'}}, {from: nobody@x.y}]},\n"
     "              {from: {regex: '^(boss)@'}}]}\n"
     "  then: {folder: 'By/$1'}\n",
     "By/boss"},
    /* A group that did not take part is empty, which becomes "_". */
    {"- if: {subject: {regex: '(zzz)?(invoice)'}}\n  then: {folder: 'G/$1/$2'}\n", "G/_/invoice"},
    /* Several values: the first one that matches (From's address before its name). */
    {"- if: {from: {regex: '^([a-z]+)'}}\n  then: {folder: 'F/$1'}\n", "F/boss"},
    {"- then: {folder: 'Acct/${account}'}\n", "Acct/work"},
    {"- then: {folder: 'Cost $$5'}\n", "Cost $5"},
};

static void capture_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(capture_cases); i++) {
		struct rules *r = load(capture_cases[i].rule);
		struct rules_outcome o;

		run(r, msg_plain, "work", 100, &o, NULL);
		if (o.ndeliveries != 1 || strcmp(o.deliveries[0].folder, capture_cases[i].folder))
			fail_msg("case %zu: expected '%s', got '%s'", i, capture_cases[i].folder,
			         o.ndeliveries ? o.deliveries[0].folder : "(none)");
		rules_outcome_free(&o);
		rules_free(r);
	}
}

/* Each level of a folder name must be a plain directory name. */
static void assert_safe_folder(const char *f, const char *want_prefix)
{
	const char *level = f;

	if (strncmp(f, want_prefix, strlen(want_prefix)) != 0)
		fail_msg("folder '%s' does not start with '%s'", f, want_prefix);
	if (strchr(f + strlen(want_prefix), '/'))
		fail_msg("captured value added a level: '%s'", f);
	for (const char *p = f; *p; p++)
		if ((unsigned char)*p < 32 || *p == 127)
			fail_msg("control character in '%s'", f);
	for (;;) {
		if (*level == '.' || *level == '/' || *level == '\0')
			fail_msg("bad level in '%s'", f);
		level = strchr(level, '/');
		if (level == NULL)
			break;
		level++;
	}
	if (strstr(f, ".."))
		fail_msg("'..' in '%s'", f);
}

static const char *const hostile_subjects[] = {
    "../../x", ".hidden", "a/b", "ctl\x01\x1f\x7fz", "..", "/", ".", "a..b", "\t", "x.y.z",
};

static void folder_capture_with_hostile_values_is_sanitised(void **state)
{
	struct rules *r =
	    load("- if: {subject: {regex: '^(.*)$'}}\n  then: {folder: 'Lists/$1'}\n");

	(void)state;
	for (size_t i = 0; i < N(hostile_subjects); i++) {
		char *raw = xasprintf("Subject: %s\r\n\r\nbody\r\n", hostile_subjects[i]);
		struct msg m;
		char *subject, *want, *exp;
		struct rules_outcome o;

		/* The capture is taken from the decoded Subject. */
		msg_init(&m, raw, strlen(raw));
		subject = msg_get(&m, "Subject");
		want = folder_sanitise_component(subject);
		exp = xasprintf("Lists/%s", want);
		free(subject);
		msg_free(&m);

		run(r, raw, NULL, 100, &o, NULL);
		assert_int_equal(o.ndeliveries, 1);
		assert_safe_folder(o.deliveries[0].folder, "Lists/");
		assert_string_equal(o.deliveries[0].folder, exp);
		rules_outcome_free(&o);
		free(exp);
		free(want);
		free(raw);
	}
	rules_free(r);
}

static void folder_capture_with_dot_becomes_underscore(void **state)
{
	struct rules *r = load("- if: {header: {List-Id: {regex: '<([a-z0-9.-]+)>'}}}\n"
	                       "  then: {folder: 'Lists/$1'}\n");
	struct rules_outcome o;

	(void)state;
	run(r, msg_plain, NULL, 100, &o, NULL);
	assert_string_equal(o.deliveries[0].folder, "Lists/foo-dev_lists_example_org");
	rules_outcome_free(&o);
	rules_free(r);
}

static void hostile_account_name_is_sanitised(void **state)
{
	struct rules *r = load("- then: {folder: 'Acct/${account}'}\n");
	struct rules_outcome o;

	(void)state;
	run(r, msg_plain, "../etc", 100, &o, NULL);
	assert_safe_folder(o.deliveries[0].folder, "Acct/");
	rules_outcome_free(&o);
	rules_free(r);
}

static void long_capture_is_cut(void **state)
{
	struct rules *r = load("- if: {body: {regex: '^(x+)'}}\n  then: {folder: 'L/$1'}\n");
	struct rules_outcome o;
	char body[2000], *raw;

	(void)state;
	memset(body, 'x', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	raw = xasprintf("Subject: s\r\n\r\n%s\r\n", body);
	run(r, raw, NULL, 100, &o, NULL);
	assert_true(strlen(o.deliveries[0].folder) <= 2 + 64);
	assert_true(strlen(o.deliveries[0].folder) > 2 + 32);
	rules_outcome_free(&o);
	rules_free(r);
	free(raw);
}

/* ---- compile errors: every one positioned, all reported ------------------- */

static const struct {
	const char *yaml;
	const char *prefix; /* the first diagnostic starts with this */
	const char *text;   /* and contains this */
} error_cases[] = {
    {"- name: bad\n  if: {frm: a@b.c}\n  then: keep\n",
     "rules.yml:2:8: rule #1 \"bad\": if.frm: unknown key", "did you mean 'from'?"},
    {"- if: {from: a@b.c}\n  then: kep\n", "rules.yml:2:9: rule #1: then: unknown action 'kep'",
     "valid actions: keep, discard, folder, flag, forward, pipe"},
    {"- name: re\n  if: {subject: {regex: 'a(b'}}\n  then: keep\n",
     "rules.yml:2:25: rule #1 \"re\": if.subject.regex: invalid regex 'a(b': ", "("},
    {"- if: {size: '> 5Q'}\n  then: keep\n",
     "rules.yml:1:14: rule #1: if.size: expected a "
     "comparison",
     "'> 5Q'"},
    {"- if: {size: '5M'}\n  then: keep\n", "rules.yml:1:14: rule #1: if.size: expected", ">="},
    {"- if:\n    all: {from: a@b.c}\n  then: keep\n",
     "rules.yml:2:10: rule #1: if.all: expected a list of conditions, got a mapping", ""},
    {"- name: lists\n  if: {header: {List-Id: {regex: '<([a-z]+)\\.'}}}\n"
     "  then: {folder: 'Lists/$3'}\n",
     "rules.yml:3:18: rule #1 \"lists\": then.folder: '$3' used but the rule's regexes have "
     "only 1 group",
     ""},
    {"- if: {not: {subject: {regex: '(x)'}}}\n  then: {folder: 'X/$1'}\n",
     "rules.yml:2:18: rule #1: then.folder: '$1' used but the rule has no regex", ""},
    {"- name: all\n  then: {folder: X}\n- name: later\n  if: {from: a@b.c}\n  then: keep\n",
     "rules.yml:3:3: rule #2 \"later\": unreachable: rule #1 \"all\" (rules.yml:1) matches "
     "every message",
     "continue: true"},
    {"- if: {size: '>= 0'}\n  then: keep\n- then: discard\n",
     "rules.yml:3:3: rule #2: unreachable: rule #1 (rules.yml:1)", ""},
    {"- then: {folder: X, flag: [seen, starred]}\n",
     "rules.yml:1:34: rule #1: then.flag[1]: unknown flag 'starred'", "seen, flagged"},
    {"- name: x\n  if: {from: a@b.c}\n", "rules.yml:1:3: rule #1 \"x\": missing 'then'", ""},
    {"- then: keep\n  continue: maybe\n",
     "rules.yml:2:13: rule #1: continue: expected true or false", "maybe"},
    {"- then: keep\n  iff: {from: a@b.c}\n", "rules.yml:2:3: rule #1: iff: unknown key",
     "did you mean 'if'?"},
    {"- then: [discard, {folder: X}]\n", "rules.yml:1:9: rule #1: then: discard cannot be combined",
     ""},
    {"- then: {forward: 'Me <me@x.y>'}\n",
     "rules.yml:1:19: rule #1: then.forward: expected one address", ""},
    {"- if: [{from: a@b.c}]\n  then: keep\n",
     "rules.yml:1:7: rule #1: if: expected a mapping of conditions, got a list", "all:"},
    {"- if: {subject: {regexp: x}}\n  then: keep\n",
     "rules.yml:1:18: rule #1: if.subject.regexp: unknown key", "did you mean 'regex'?"},
    {"- then: {folder: 'a//b'}\n", "rules.yml:1:18: rule #1: then.folder: empty folder level", ""},
    {"- then: {folder: '.hidden'}\n",
     "rules.yml:1:18: rule #1: then.folder: ", "cannot start with '.'"},
    {"- then: {folder: 'X/$foo'}\n", "rules.yml:1:18: rule #1: then.folder: unknown variable", ""},
    {"- if: {header: {'Bad Name': x}}\n  then: keep\n",
     "rules.yml:1:17: rule #1: if.header.Bad Name: not a header field name", ""},
    {"- if: {all: []}\n  then: keep\n",
     "rules.yml:1:13: rule #1: if.all: expected at least one condition", ""},
    {"- then: {pipe: []}\n", "rules.yml:1:16: rule #1: then.pipe: expected a command", ""},
    {"- then: {pipe: \"cmd 'open\"}\n", "rules.yml:1:16: rule #1: then.pipe: unterminated", ""},
    {"- if: {from: }\n  then: keep\n", "rules.yml:1:", "expected a string"},
    {"- if:\n  then: keep\n", "rules.yml:1:", "leave 'if' out"},
    {"- 42\n", "rules.yml:1:3: rule #1: expected a rule", ""},
    {"name: x\n", "rules.yml:1:1: name: unknown key", "rules"},
    {"- if: {from: a@b.c\n", "rules.yml:", ""},
};

static void compile_errors_are_positioned(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(error_cases); i++) {
		struct diag d = load_bad(error_cases[i].yaml);

		if (strncmp(d.msgs[0], error_cases[i].prefix, strlen(error_cases[i].prefix)) != 0 ||
		    strstr(d.msgs[0], error_cases[i].text) == NULL)
			fail_msg(
			    "case %zu: got\n  %s\nexpected it to start with\n  %s\nand contain "
			    "'%s'",
			    i, d.msgs[0], error_cases[i].prefix, error_cases[i].text);
		diag_free(&d);
	}
}

static void every_error_is_reported(void **state)
{
	struct diag d = load_bad("- if: {frm: a@b.c}\n  then: keep\n"
	                         "- if: {subject: {regex: '('}}\n  then: keep\n"
	                         "- then: {flag: bogus}\n");

	(void)state;
	assert_int_equal(d.n, 3);
	assert_non_null(strstr(d.msgs[0], "rules.yml:1:8:"));
	assert_non_null(strstr(d.msgs[1], "rules.yml:3:25:"));
	assert_non_null(strstr(d.msgs[2], "rules.yml:5:16:"));
	diag_free(&d);
}

/* ---- what cannot work in a config (rules_lint) ----------------------------- */

static const char lint_rules[] =
    "- name: fwd\n  if: {from: a}\n  then: {forward: me@x.example}\n"
    "- name: pipe\n  then: {pipe: [no-such-program-corral]}\n  continue: true\n"
    "- name: abs\n  then: {pipe: /nonexistent/tool}\n  continue: true\n"
    "- name: acct\n  if: {not: {account: 'ho*'}}\n  then: keep\n"
    "- name: fine\n  if: {account: work}\n  then: {pipe: [cat]}\n";

static void lint_reports_what_cannot_work_at_its_position(void **state)
{
	const char *const accounts[] = {"work"};
	struct rules_env env = {.config = "config.yml", .accounts = accounts, .naccounts = 1};
	struct rules *r = load(lint_rules);
	struct diag d;

	(void)state;
	diag_init(&d);
	assert_int_equal(rules_lint(r, &env, &d), 4);
	assert_string_equal(d.msgs[0], "rules.yml:3:19: rule #1 \"fwd\": then.forward: forward to "
	                               "me@x.example needs the smtp relay, and config.yml has no "
	                               "smtp: section");
	assert_non_null(strstr(d.msgs[1], "rules.yml:5:16: rule #2 \"pipe\": then.pipe: program "
	                                  "'no-such-program-corral' is not found in PATH"));
	assert_non_null(strstr(d.msgs[2], "rules.yml:8:16: rule #3 \"abs\": then.pipe: program "
	                                  "'/nonexistent/tool' does not exist"));
	assert_non_null(strstr(d.msgs[3], "rules.yml:11:23: rule #4 \"acct\": account: 'ho*' "
	                                  "matches no account of config.yml (its accounts: work)"));
	diag_free(&d);
	/* With a relay, and without a config (only the pipes are known). */
	env.relay = true;
	diag_init(&d);
	assert_int_equal(rules_lint(r, &env, &d), 3);
	diag_free(&d);
	env = (struct rules_env){0};
	diag_init(&d);
	assert_int_equal(rules_lint(r, &env, &d), 2);
	diag_free(&d);
	rules_free(r);
}

/* ---- files, forms, anchors ------------------------------------------------ */

static char *write_temp(const char *text)
{
	char *path = xstrdup("/tmp/corral-rules-XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void files_are_one_list_in_order(void **state)
{
	char *files[2] = {write_temp("- if: {from: nobody@x.y}\n  then: discard\n"),
	                  write_temp("- name: second\n  if: {from: boss@example.com}\n"
	                             "  then: {folder: Boss}\n")};
	struct diag d;
	struct rules *r;
	struct rules_outcome o;
	const struct rule_info *ri;

	(void)state;
	diag_init(&d);
	r = rules_load(files, 2, &d);
	assert_non_null(r);
	assert_int_equal(rules_count(r), 2);
	ri = rules_info(r, 1);
	assert_string_equal(ri->name, "second");
	assert_string_equal(ri->file, files[1]);
	assert_int_equal(ri->line, 1);
	assert_int_equal(ri->index, 1);
	assert_null(rules_info(r, 2));
	run(r, msg_plain, NULL, 100, &o, NULL);
	assert_string_equal(o.deliveries[0].folder, "Boss");
	assert_int_equal(o.deliveries[0].rule, 1);
	rules_outcome_free(&o);
	rules_free(r);
	diag_free(&d);
	unlink(files[0]);
	unlink(files[1]);
	free(files[0]);
	free(files[1]);
}

static void catch_all_in_first_file_makes_second_unreachable(void **state)
{
	char *files[2] = {write_temp("- then: keep\n"), write_temp("\n- then: discard\n")};
	struct diag d;
	char *want;

	(void)state;
	diag_init(&d);
	assert_null(rules_load(files, 2, &d));
	assert_int_equal(d.n, 1);
	want = xasprintf("%s:2:3: rule #1: unreachable: rule #1 (%s:1)", files[1], files[0]);
	assert_true(strncmp(d.msgs[0], want, strlen(want)) == 0);
	free(want);
	diag_free(&d);
	unlink(files[0]);
	unlink(files[1]);
	free(files[0]);
	free(files[1]);
}

static void missing_file_is_reported(void **state)
{
	char *files[1] = {"/nonexistent/corral/rules.yml"};
	struct diag d;

	(void)state;
	diag_init(&d);
	assert_null(rules_load(files, 1, &d));
	assert_true(d.n >= 1);
	assert_non_null(strstr(d.msgs[0], "/nonexistent/corral/rules.yml"));
	diag_free(&d);
}

static void rules_key_form_and_anchors_work(void **state)
{
	struct rules *r = load("rules:\n"
	                       "  - &boss\n"
	                       "    name: boss\n"
	                       "    if: &from-boss {from: boss@example.com}\n"
	                       "    then: {folder: Boss}\n"
	                       "    continue: true\n"
	                       "  - <<: *boss\n"
	                       "    name: copy\n"
	                       "    then: {folder: Copy}\n"
	                       "  - if: *from-boss\n"
	                       "    then: {folder: Third}\n");
	struct rules_outcome o;
	char *f;

	(void)state;
	assert_int_equal(rules_count(r), 3);
	assert_string_equal(rules_info(r, 1)->name, "copy");
	run(r, msg_plain, NULL, 100, &o, NULL);
	f = folders(&o);
	assert_string_equal(f, "Boss,Copy,Third");
	free(f);
	rules_outcome_free(&o);
	rules_free(r);
}

/* ---- explain ---------------------------------------------------------------- */

static const char explain_rules[] = "- name: spam\n"
                                    "  if: {header: {X-Spam-Flag: 'YES'}}\n"
                                    "  then: discard\n"
                                    "- name: lists\n"
                                    "  if: {header: {List-Id: {regex: '<([a-z0-9-]+)\\.'}}}\n"
                                    "  then: {folder: 'Lists/$1'}\n"
                                    "- name: later\n"
                                    "  then: keep\n";

static const char *const explain_lines[] = {
    "rule #1 \"spam\" (rules.yml:1): no match\n",
    "  ✗ header X-Spam-Flag 'YES': \"NO\"\n",
    "rule #2 \"lists\" (rules.yml:4): match\n",
    "  ✓ header List-Id regex '<([a-z0-9-]+)\\.': \"Foo developers "
    "<foo-dev.lists.example.org>\"\n",
    "    $1 = \"foo-dev\"\n",
    "  → folder \"Lists/foo-dev\"\n",
    "(the 1 rule after it is not evaluated)\n",
    "result: Lists/foo-dev (rule #2 \"lists\")\n",
};

static void explain_shows_rules_conditions_values_and_result(void **state)
{
	struct rules *r = load(explain_rules);
	struct rules_trace *t = rules_trace_new();
	struct rules_outcome o;
	char *text;

	(void)state;
	run(r, msg_plain, NULL, 100, &o, t);
	text = rules_trace_text(t);
	for (size_t i = 0; i < N(explain_lines); i++)
		if (strstr(text, explain_lines[i]) == NULL)
			fail_msg("line '%s' missing from:\n%s", explain_lines[i], text);
	/* Lines come in evaluation order. */
	assert_true(strstr(text, explain_lines[0]) < strstr(text, explain_lines[2]));
	free(text);
	rules_outcome_free(&o);
	rules_free(r);
	rules_trace_free(t);
}

static void explain_nests_groups_and_tells_absent_values(void **state)
{
	struct rules *r = load("- if:\n"
	                       "    any:\n"
	                       "      - {header: {X-Absent: '*'}}\n"
	                       "      - not: {size: '> 1k'}\n"
	                       "  then: {folder: Small, flag: seen}\n"
	                       "  continue: true\n");
	struct rules_trace *t = rules_trace_new();
	struct rules_outcome o;
	char *text;

	(void)state;
	run(r, msg_plain, NULL, 100, &o, t);
	text = rules_trace_text(t);
	assert_non_null(strstr(text, "  ✓ any of:\n"));
	assert_non_null(strstr(text, "    ✗ header X-Absent '*': no such header\n"));
	assert_non_null(strstr(text, "    ✓ not:\n"));
	assert_non_null(strstr(text, "      ✗ size > 1k: the message has 100 bytes\n"));
	assert_non_null(strstr(text, "  → flag seen\n"));
	assert_non_null(strstr(text, "  → continue\n"));
	assert_non_null(strstr(text, "result: Small +seen (rule #1)\n"));
	free(text);
	rules_outcome_free(&o);
	rules_free(r);
	rules_trace_free(t);
}

static void explain_cuts_long_values(void **state)
{
	struct rules *r = load("- if: {subject: {contains: needle}}\n  then: keep\n");
	struct rules_trace *t = rules_trace_new();
	struct rules_outcome o;
	char subject[400], *raw, *text, *line, *end;

	(void)state;
	memset(subject, 'a', sizeof(subject) - 1);
	subject[sizeof(subject) - 1] = '\0';
	memcpy(subject + 200, "needle", 6);
	raw = xasprintf("Subject: %s\r\n\r\n", subject);
	run(r, raw, NULL, 100, &o, t);
	text = rules_trace_text(t);
	line = strstr(text, "✓ subject contains 'needle': …\"");
	assert_non_null(line);
	end = strchr(line, '\n');
	assert_non_null(strstr(line, "needle"));
	assert_true(end - line < 160);
	assert_true(strncmp(end - 4, "\"…", 4) == 0);
	free(text);
	free(raw);
	rules_outcome_free(&o);
	rules_free(r);
	rules_trace_free(t);
}

static void outcome_text_names_rules(void **state)
{
	struct rules *r = load("- name: boss\n  if: {from: boss@example.com}\n"
	                       "  then: [{forward: me@phone.example}, {folder: Boss}]\n");
	struct rules_outcome o;
	char *text;

	(void)state;
	run(r, msg_plain, NULL, 100, &o, NULL);
	text = rules_outcome_text(r, &o);
	assert_string_equal(text, "Boss (rule #1 \"boss\"), forward me@phone.example (rule #1 "
	                          "\"boss\")");
	free(text);
	rules_outcome_free(&o);
	run(r, "From: x@y.z\r\n\r\n", NULL, 100, &o, NULL);
	text = rules_outcome_text(r, &o);
	assert_string_equal(text, "INBOX (implicit keep)");
	free(text);
	rules_outcome_free(&o);
	rules_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(condition_table),
	    cmocka_unit_test(rule_without_if_matches_everything),
	    cmocka_unit_test(action_table),
	    cmocka_unit_test(forward_and_pipe_are_recorded_with_their_rule),
	    cmocka_unit_test(no_matching_rule_means_implicit_keep),
	    cmocka_unit_test(empty_rule_set_keeps_everything),
	    cmocka_unit_test(first_match_ends_evaluation),
	    cmocka_unit_test(continue_goes_on_to_later_rules),
	    cmocka_unit_test(same_folder_twice_is_one_delivery_with_both_flags),
	    cmocka_unit_test(flag_only_rule_marks_later_deliveries),
	    cmocka_unit_test(discard_after_a_filing_rule_keeps_the_filed_copy),
	    cmocka_unit_test(capture_table),
	    cmocka_unit_test(folder_capture_with_hostile_values_is_sanitised),
	    cmocka_unit_test(folder_capture_with_dot_becomes_underscore),
	    cmocka_unit_test(hostile_account_name_is_sanitised),
	    cmocka_unit_test(long_capture_is_cut),
	    cmocka_unit_test(compile_errors_are_positioned),
	    cmocka_unit_test(every_error_is_reported),
	    cmocka_unit_test(lint_reports_what_cannot_work_at_its_position),
	    cmocka_unit_test(files_are_one_list_in_order),
	    cmocka_unit_test(catch_all_in_first_file_makes_second_unreachable),
	    cmocka_unit_test(missing_file_is_reported),
	    cmocka_unit_test(rules_key_form_and_anchors_work),
	    cmocka_unit_test(explain_shows_rules_conditions_values_and_result),
	    cmocka_unit_test(explain_nests_groups_and_tells_absent_values),
	    cmocka_unit_test(explain_cuts_long_values),
	    cmocka_unit_test(outcome_text_names_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
