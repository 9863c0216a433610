/*
 * The table of server response codes (respcode.h).
 */
#include "net/respcode.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *code;
	enum res_kind kind;
} codes[] = {
    /* IMAP, RFC 5530 */
    {"UNAVAILABLE", RES_TEMP},          /* a subsystem is down: try later */
    {"LIMIT", RES_TEMP},                /* too many connections from user+IP */
    {"INUSE", RES_TEMP},                /* the mailbox is locked by another session */
    {"SERVERBUG", RES_TEMP},            /* the server failed: it may not next time */
    {"EXPUNGEISSUED", RES_TEMP},        /* another session expunged meanwhile */
    {"CORRUPTION", RES_TEMP},           /* the server found damage it may repair */
    {"AUTHENTICATIONFAILED", RES_AUTH}, /* wrong user or password */
    {"AUTHORIZATIONFAILED", RES_AUTH},  /* right password, no access as that user */
    {"EXPIRED", RES_AUTH},              /* the password or account expired */
    {"CONTACTADMIN", RES_AUTH},         /* the account needs its administrator */
    {"PRIVACYREQUIRED", RES_CONFIG},    /* login only over TLS */
    {"NONEXISTENT", RES_CONFIG},        /* no such folder */
    {"NOPERM", RES_PERM},               /* no right to do this */
    {"CANNOT", RES_PERM},               /* never possible */
    {"CLIENTBUG", RES_PERM},            /* corral sent something wrong */
    /* POP3, RFC 2449 and RFC 3206 */
    {"IN-USE", RES_TEMP},      /* the maildrop is locked */
    {"LOGIN-DELAY", RES_TEMP}, /* logged in too recently */
    {"SYS/TEMP", RES_TEMP},    /* a temporary system problem */
    {"SYS/PERM", RES_PERM},    /* a permanent system problem */
    {"AUTH", RES_AUTH},        /* the credentials were refused */
};

static bool is_status(const char *w, size_t n)
{
	static const char *const words[] = {"OK", "NO", "BAD", "BYE", "-ERR", "+OK"};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i]) == n && strncasecmp(w, words[i], n) == 0)
			return true;
	return false;
}

/* The code's first byte: after an optional tag and the status word, never
 * a '[' further into the text (a folder name may hold one). */
static const char *code_start(const char *p)
{
	for (int tok = 0; tok < 3 && *p != '\0'; tok++) {
		size_t n;

		p += strspn(p, " ");
		if (*p == '[')
			return p + 1;
		n = strcspn(p, " ");
		if (!is_status(p, n) && tok > 0)
			return NULL;
		p += n;
	}
	return NULL;
}

enum res_kind resp_code_kind(const char *line, enum res_kind dflt)
{
	const char *code = line != NULL ? code_start(line) : NULL;
	size_t n;

	if (code == NULL)
		return dflt;
	/* "[AUTH]", "[SYS/TEMP]", also "[SYS/TEMP reason]". */
	n = strcspn(code, "] ");
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strlen(codes[i].code) == n && strncasecmp(code, codes[i].code, n) == 0)
			return codes[i].kind;
	return dflt;
}
