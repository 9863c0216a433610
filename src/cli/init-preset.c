/*
 * Provider presets for `corral init`. The hosts and login notes are the
 * providers' published IMAP/POP3 settings; domains are matched whole and
 * case-insensitively, so "mail.gmail.com.evil.org" matches nothing.
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "cli/init-preset.h"

static const struct preset presets[] = {
    {"gmail", "imap.gmail.com", "pop.gmail.com", "gmail.com googlemail.com", NULL,
     "an app password (Google account > Security), or an oauth2_token_command",
     "labels are folders: never fetch [Gmail]/All Mail (it repeats them all)"},
    {"outlook", "outlook.office365.com", "outlook.office365.com",
     "outlook.com hotmail.com live.com msn.com outlook.de hotmail.de hotmail.co.uk",
     "Microsoft 365 and Outlook.com accept only OAuth2",
     "oauth2_token_command prints a fresh access token", NULL},
    {"fastmail", "imap.fastmail.com", "pop.fastmail.com",
     "fastmail.com fastmail.fm fastmail.net fastmail.org fastmail.de messagingengine.com", NULL,
     "an app password (Settings > Privacy & Security > App passwords)", NULL},
    {"icloud", "imap.mail.me.com", NULL, "icloud.com me.com mac.com", NULL,
     "an app-specific password (appleid.apple.com > Sign-In and Security)", NULL},
    {"yahoo", "imap.mail.yahoo.com", "pop.mail.yahoo.com",
     "yahoo.com yahoo.co.uk yahoo.de yahoo.fr ymail.com rocketmail.com", NULL,
     "an app password (Account security > Generate app password)", NULL},
    {"gmx", "imap.gmx.net", "pop.gmx.net", "gmx.net gmx.de gmx.at gmx.ch gmx.com", NULL,
     "your password; turn on IMAP/POP3 access in the web mailer's settings first", NULL},
    {"posteo", "posteo.de", "posteo.de", "posteo.de posteo.net posteo.org posteo.eu", NULL,
     "your Posteo password", NULL},
};

#define NPRESETS (sizeof(presets) / sizeof(presets[0]))

const struct preset *preset_by_name(const char *name)
{
	for (size_t i = 0; i < NPRESETS; i++)
		if (strcasecmp(presets[i].name, name) == 0)
			return &presets[i];
	return NULL;
}

/* Whether the space-separated list holds domain (len bytes), case-insensitively. */
static int list_has(const char *list, const char *domain, size_t len)
{
	for (const char *p = list; *p != '\0';) {
		size_t n = strcspn(p, " ");

		if (n == len && strncasecmp(p, domain, len) == 0)
			return 1;
		p += n + (p[n] == ' ');
	}
	return 0;
}

const struct preset *preset_for_email(const char *email)
{
	const char *at = strrchr(email, '@');
	size_t len;

	if (at == NULL || at[1] == '\0')
		return NULL;
	len = strlen(at + 1);
	/* "me@Gmail.com." names the same domain as "me@gmail.com". */
	if (at[len] == '.')
		len--;
	for (size_t i = 0; i < NPRESETS; i++)
		if (list_has(presets[i].domains, at + 1, len))
			return &presets[i];
	return NULL;
}

const char *preset_names(void)
{
	return "gmail outlook fastmail icloud yahoo gmx posteo";
}
