/*
 * The texts `corral init` writes: pure string work, tested on its own
 * (tests/unit/test-init.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/init-text.h"
#include "util/buf.h"
#include "util/log.h"

/* A config far bigger than any hand-written one: the cap of the texts built here. */
#define INIT_TEXT_MAX (4u << 20)

char *init_yaml_quote(const char *s)
{
	struct buf b;

	buf_init(&b, INIT_TEXT_MAX);
	buf_putc(&b, '\'');
	for (; *s; s++)
		if (buf_putc(&b, *s) < 0 || (*s == '\'' && buf_putc(&b, '\'') < 0))
			fatal("a YAML string over %u bytes", INIT_TEXT_MAX);
	buf_putc(&b, '\'');
	return buf_steal(&b, NULL);
}

/* Whether s reads back as the same string unquoted: a path, a host, an address. */
static bool plain_ok(const char *s)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                           "0123456789_./~@+-";

	return s[0] != '\0' && s[strspn(s, safe)] == '\0' && strchr("-@", s[0]) == NULL &&
	       strcmp(s, "~") != 0;
}

/* "    KEY: VALUE\n", the value quoted when YAML needs it; nothing for NULL. */
static void put_key(struct buf *b, int indent, const char *key, const char *value)
{
	char *q;

	if (value == NULL)
		return;
	q = plain_ok(value) ? xstrdup(value) : init_yaml_quote(value);
	buf_printf(b, "%*s%s: %s\n", indent, "", key, q);
	explicit_bzero(q, strlen(q));
	free(q);
}

/* The credential: a command, a token command, a typed password, or a placeholder. */
static void put_credential(struct buf *b, const struct init_account *a, int in)
{
	if (a->note != NULL)
		buf_printf(b, "%*s# log in with %s\n", in, "", a->note);
	if (a->oauth2_command != NULL) {
		put_key(b, in, "oauth2_token_command", a->oauth2_command);
		buf_printf(b, "%*sauth: xoauth2\n", in, "");
	} else if (a->password_command != NULL) {
		put_key(b, in, "password_command", a->password_command);
	} else if (a->password != NULL) {
		buf_printf(b,
		           "%*s# a password in the file: keep it mode 0600 (corral refuses it "
		           "otherwise)\n",
		           in, "");
		put_key(b, in, "password", a->password);
	} else {
		buf_printf(b, "%*s# CHANGE THIS: a command that prints the password (no shell)\n",
		           in, "");
		buf_printf(b, "%*spassword_command: [pass, show, mail/%s]\n", in, "", a->name);
	}
}

char *init_account_text(const struct init_account *a, int indent)
{
	int in = indent + 2;
	struct buf b;

	buf_init(&b, INIT_TEXT_MAX);
	buf_printf(&b, "%*s%s:\n", indent, "", a->name);
	if (a->found_by != NULL)
		buf_printf(&b, "%*s# server from %s\n", in, "", a->found_by);
	buf_printf(&b, "%*sprotocol: %s\n", in, "", a->protocol);
	put_key(&b, in, "host", a->host);
	if (a->port > 0)
		buf_printf(&b, "%*sport: %d\n", in, "", a->port);
	buf_printf(&b, "%*stls: %s\n", in, "", a->tls);
	if (strcmp(a->tls, "off") == 0)
		buf_printf(
		    &b, "%*sallow_plaintext: true   # the password crosses the network in clear\n",
		    in, "");
	put_key(&b, in, "ca_file", a->ca_file);
	put_key(&b, in, "user", a->user);
	put_credential(&b, a, in);
	if (strcmp(a->protocol, "imap") == 0) {
		if (a->folders != NULL)
			buf_printf(&b, "%*s# %s\n", in, "", a->folders);
		buf_printf(&b, "%*sfolders: [INBOX]\n", in, "");
	}
	buf_printf(&b, "%*skeep: true   # false: delete from the server once delivered\n", in, "");
	return buf_steal(&b, NULL);
}

char *init_config_text(const struct init_account *a, const char *maildir, const char *const *rules,
                       size_t nrules)
{
	char *acct = init_account_text(a, 2);
	struct buf b;

	buf_init(&b, INIT_TEXT_MAX);
	buf_puts(&b, "# corral's config: see corral.yml(5). Check it with: corral check\n"
	             "# Try it without changing anything: corral --dry-run fetch\n\n");
	buf_puts(&b, "# Maildir++ root; INBOX is the root itself\n");
	put_key(&b, 0, "maildir", maildir);
	buf_puts(&b, "# rule files, first match wins; relative to this file (corral-rules(5))\n"
	             "rules:\n");
	for (size_t i = 0; i < nrules; i++) {
		char *q = plain_ok(rules[i]) ? xstrdup(rules[i]) : init_yaml_quote(rules[i]);

		buf_printf(&b, "  - %s\n", q);
		free(q);
	}
	buf_puts(&b, "# drop a message whose Message-ID was delivered in the last 30 days\n"
	             "dedupe: 30d\n\n"
	             "accounts:\n");
	buf_puts(&b, acct);
	explicit_bzero(acct, strlen(acct));
	free(acct);
	return buf_steal(&b, NULL);
}

/* Whether the line at p is blank or a comment. */
static bool blank_line(const char *p)
{
	p += strspn(p, " \t");
	return *p == '\n' || *p == '\0' || *p == '#';
}

/* The offset of the line after the accounts: key, or of its end; -1 when absent. */
static long accounts_key(const char *text, bool *flow)
{
	for (const char *p = text; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p)) {
		const char *v;

		if (strncmp(p, "accounts:", 9) != 0)
			continue;
		v = p + 9 + strspn(p + 9, " \t");
		*flow = *v != '\n' && *v != '\0' && *v != '#';
		v = strchr(p, '\n');
		return v ? v + 1 - text : (long)strlen(text);
	}
	return -1;
}

int init_insert_point(const char *text, size_t *at, int *indent, bool *need_key, char *err,
                      size_t errlen)
{
	bool flow = false;
	long start = accounts_key(text, &flow);
	const char *p;

	*need_key = start < 0;
	*indent = 2;
	*at = strlen(text);
	if (start < 0)
		return 0;
	if (flow) {
		snprintf(err, errlen,
		         "accounts: is written in flow style ({...}): add the account "
		         "by hand, or write the accounts as a block");
		return -1;
	}
	*at = (size_t)start;
	/* The block ends at the first line that starts in column 0 and is not a comment. */
	for (p = text + start; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p)) {
		if (!blank_line(p) && *p != ' ' && *p != '\t')
			break;
		if (blank_line(p))
			continue;
		if (*at == (size_t)start)
			*indent = (int)strspn(p, " ");
		*at = (size_t)((strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p)) - text);
	}
	return 0;
}

char *init_add_account(const char *text, const struct init_account *a, char *err, size_t errlen)
{
	size_t at, len = strlen(text);
	int indent;
	bool need_key, need_nl;
	char *acct, *out;

	if (init_insert_point(text, &at, &indent, &need_key, err, errlen) < 0)
		return NULL;
	/* A last line without its newline gets one: the text before stays as it is. */
	need_nl = at == len && len > 0 && text[len - 1] != '\n';
	acct = init_account_text(a, indent);
	out = xasprintf("%.*s%s%s%s%s", (int)at, text, need_nl ? "\n" : "",
	                need_key ? "\naccounts:\n" : "", acct, text + at);
	explicit_bzero(acct, strlen(acct));
	free(acct);
	return out;
}
