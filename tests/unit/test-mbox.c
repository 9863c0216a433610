/* Unit tests for src/store/mbox.c: whole files, mboxrd splitting and unquoting, Maildir listings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/maildir.h"
#include "store/mbox.h"
#include "util/log.h"
#include "mail/flags.h"

#define MAXMSG 8

/* Splits data and checks the messages, in order, against want (NULL-terminated). */
static void check_split(const char *data, bool is_mbox, const char *const *want)
{
	struct mbox *mb = mbox_new(data, strlen(data));
	const char *m;
	size_t len, n = 0;

	assert_int_equal(mbox_is_mbox(mb), is_mbox);
	while (mbox_next(mb, &m, &len) == 1) {
		assert_non_null(want[n]);
		if (len != strlen(want[n]) || memcmp(m, want[n], len) != 0)
			fail_msg("message %zu: got \"%.*s\", want \"%s\"", n + 1, (int)len, m,
			         want[n]);
		n++;
		assert_int_equal(mbox_index(mb), n);
	}
	assert_null(want[n]);
	assert_int_equal(mbox_next(mb, &m, &len), 0);
	mbox_close(mb);
}

static const struct {
	const char *name;
	const char *data;
	bool is_mbox;
	const char *want[MAXMSG];
} split_cases[] = {
    {"plain_file_is_one_whole_message",
     "Subject: a\n\nbody\n\n",
     false,
     {"Subject: a\n\nbody\n\n"}},
    {"empty_file_is_one_empty_message", "", false, {""}},
    {"three_messages_lose_the_separator_and_the_empty_line",
     "From a@b Mon Jan  1 00:00:00 2024\nSubject: 1\n\none\n\n"
     "From a@b Mon Jan  1 00:00:00 2024\nSubject: 2\n\ntwo\n\n"
     "From a@b Mon Jan  1 00:00:00 2024\nSubject: 3\n\nthree\n",
     true,
     {"Subject: 1\n\none\n", "Subject: 2\n\ntwo\n", "Subject: 3\n\nthree\n"}},
    {"crlf_mbox_is_split_on_crlf_empty_lines",
     "From x\r\nSubject: 1\r\n\r\none\r\n\r\nFrom x\r\nSubject: 2\r\n\r\ntwo\r\n\r\n",
     true,
     {"Subject: 1\r\n\r\none\r\n", "Subject: 2\r\n\r\ntwo\r\n"}},
    {"quoted_from_loses_exactly_one_quote",
     "From x\nSubject: q\n\n>From here\n>>From there\n> From kept\n>Fromage\n",
     true,
     {"Subject: q\n\nFrom here\n>From there\n> From kept\n>Fromage\n"}},
    {"from_line_without_empty_line_before_is_body",
     "From x\nSubject: 1\n\ntext\nFrom the start\n\nFrom x\nSubject: 2\n\n",
     true,
     {"Subject: 1\n\ntext\nFrom the start\n", "Subject: 2\n"}},
    {"body_ending_in_empty_line_keeps_it",
     "From x\nSubject: 1\n\nbody\n\n\nFrom x\nSubject: 2\n\nb\n",
     true,
     {"Subject: 1\n\nbody\n\n", "Subject: 2\n\nb\n"}},
    {"last_message_without_final_newline_is_whole",
     "From x\nSubject: 1\n\nno newline",
     true,
     {"Subject: 1\n\nno newline"}},
    {"separator_only_gives_one_empty_message", "From x\n", true, {""}},
    {"quoted_from_in_first_header_line_is_unquoted",
     "From x\n>From y\nSubject: 1\n\n",
     true,
     {"From y\nSubject: 1\n"}},
};

static void mbox_split_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(split_cases) / sizeof(split_cases[0]); i++) {
		print_message("case %s\n", split_cases[i].name);
		check_split(split_cases[i].data, split_cases[i].is_mbox, split_cases[i].want);
	}
}

static void unquoted_copy_is_reused_across_messages(void **state)
{
	const char *data = "From x\n\n>From 1\n\nFrom x\n\nplain\n\nFrom x\n\n>From 3 longer\n";
	struct mbox *mb = mbox_new(data, strlen(data));
	const char *m;
	size_t len;

	(void)state;
	assert_int_equal(mbox_next(mb, &m, &len), 1);
	assert_string_equal(m, "\nFrom 1\n");
	assert_int_equal(mbox_next(mb, &m, &len), 1);
	assert_true(m > data && m < data + strlen(data)); /* nothing to unquote: no copy */
	assert_int_equal(mbox_next(mb, &m, &len), 1);
	assert_int_equal(len, strlen("\nFrom 3 longer\n"));
	assert_memory_equal(m, "\nFrom 3 longer\n", len);
	mbox_close(mb);
}

static const struct {
	const char *letters;
	unsigned flags;
} flag_cases[] = {
    {"", 0},
    {"S", MAIL_FLAG_SEEN},
    {"FS", MAIL_FLAG_FLAGGED | MAIL_FLAG_SEEN},
    {"DFPRST", MAIL_FLAG_DRAFT | MAIL_FLAG_FLAGGED | MAIL_FLAG_PASSED | MAIL_FLAG_ANSWERED |
                   MAIL_FLAG_SEEN | MAIL_FLAG_TRASHED},
    {"Sab", MAIL_FLAG_SEEN}, /* Dovecot keyword letters are not flags */
    {"s", 0},
};

static void maildir_info_letters_map_to_flags(void **state)
{
	(void)state;
	assert_int_equal(mail_flags_from_letters(NULL), 0);
	for (size_t i = 0; i < sizeof(flag_cases) / sizeof(flag_cases[0]); i++)
		if (mail_flags_from_letters(flag_cases[i].letters) != flag_cases[i].flags)
			fail_msg("'%s': got %#x, want %#x", flag_cases[i].letters,
			         mail_flags_from_letters(flag_cases[i].letters),
			         flag_cases[i].flags);
}

static void touch(const char *dir, const char *name)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *fp = fopen(p, "w");

	assert_non_null(fp);
	fputs("Subject: x\n\n", fp);
	fclose(fp);
	free(p);
}

static char *make_maildir(void)
{
	char tmpl[] = "/tmp/test-mbox.XXXXXX";
	char *dir = xstrdup(mkdtemp(tmpl));
	const char *subs[] = {"new", "cur", "tmp", "cur/sub.d"};

	for (size_t i = 0; i < 4; i++) {
		char *p = xasprintf("%s/%s", dir, subs[i]);

		assert_int_equal(mkdir(p, 0700), 0);
		free(p);
	}
	return dir;
}

static void remove_tree(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static void maildir_listing_has_new_then_cur_with_flags(void **state)
{
	char *dir = make_maildir(), *sub;
	struct mdir_list l;
	char err[256];

	(void)state;
	sub = xasprintf("%s/new", dir);
	touch(sub, "200.M1.h");
	touch(sub, "100.M1.h");
	touch(sub, ".hidden");
	free(sub);
	sub = xasprintf("%s/cur", dir);
	touch(sub, "300.M1.h,S=5:2,FS");
	touch(sub, "050.M1.h:2,");
	free(sub);
	sub = xasprintf("%s/tmp", dir);
	touch(sub, "999.M1.h");
	free(sub);
	assert_true(mdir_is_folder(dir));
	assert_int_equal(mdir_list(dir, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.v[0].file, "100.M1.h");
	assert_false(l.v[0].in_cur);
	assert_null(l.v[0].info);
	assert_string_equal(l.v[1].file, "200.M1.h");
	assert_string_equal(l.v[2].base, "050.M1.h");
	assert_string_equal(l.v[2].info, "");
	assert_int_equal(l.v[2].flags, 0);
	assert_true(l.v[2].in_cur);
	assert_string_equal(l.v[3].base, "300.M1.h,S=5");
	assert_string_equal(l.v[3].info, "FS");
	assert_int_equal(l.v[3].flags, MAIL_FLAG_FLAGGED | MAIL_FLAG_SEEN);
	sub = xasprintf("%s/cur/300.M1.h,S=5:2,FS", dir);
	assert_string_equal(l.v[3].path, sub);
	free(sub);
	mdir_list_free(&l);
	remove_tree(dir);
	free(dir);
}

static void directory_without_cur_is_not_a_folder(void **state)
{
	char tmpl[] = "/tmp/test-mbox.XXXXXX";
	char *dir = mkdtemp(tmpl), *p, err[256];
	struct mdir_list l;

	(void)state;
	p = xasprintf("%s/new", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_false(mdir_is_folder(dir));
	assert_int_equal(mdir_list(dir, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/cur: cannot open"));
	assert_int_equal(l.n, 0);
	rmdir(p);
	free(p);
	rmdir(dir);
}

static void whole_file_is_read_exactly(void **state)
{
	char tmpl[] = "/tmp/test-mbox.XXXXXX";
	int fd = mkstemp(tmpl);
	const char data[] = "Subject: x\r\n\r\nnul\0byte";
	struct mfile f;
	char err[256];

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, sizeof(data) - 1), sizeof(data) - 1);
	close(fd);
	assert_int_equal(mfile_read(tmpl, &f, err, sizeof(err)), 0);
	assert_int_equal(f.len, sizeof(data) - 1);
	assert_memory_equal(f.data, data, f.len);
	assert_int_equal(f.data[f.len], '\0');
	mfile_free(&f);
	unlink(tmpl);
}

static void unreadable_files_name_the_path_and_reason(void **state)
{
	struct mfile f;
	char err[256];

	(void)state;
	assert_int_equal(mfile_read("/nonexistent/x.eml", &f, err, sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/x.eml: cannot open: No such file or directory");
	assert_null(f.data);
	assert_int_equal(mfile_read("/tmp", &f, err, sizeof(err)), -1);
	assert_string_equal(err, "/tmp: is a directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(mbox_split_table),
	    cmocka_unit_test(unquoted_copy_is_reused_across_messages),
	    cmocka_unit_test(maildir_info_letters_map_to_flags),
	    cmocka_unit_test(maildir_listing_has_new_then_cur_with_flags),
	    cmocka_unit_test(directory_without_cur_is_not_a_folder),
	    cmocka_unit_test(whole_file_is_read_exactly),
	    cmocka_unit_test(unreadable_files_name_the_path_and_reason),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
