/*
 * The flag vocabulary (flags.h): one table of bits, letters and names.
 */
#include "mail/flags.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct {
	unsigned bit;
	char letter;      /* Maildir info letter */
	const char *imap; /* IMAP system flag, or NULL */
} flags[] = {
    {MAIL_FLAG_DRAFT, 'D', "\\Draft"}, {MAIL_FLAG_FLAGGED, 'F', "\\Flagged"},
    {MAIL_FLAG_PASSED, 'P', NULL},     {MAIL_FLAG_ANSWERED, 'R', "\\Answered"},
    {MAIL_FLAG_SEEN, 'S', "\\Seen"},   {MAIL_FLAG_TRASHED, 'T', "\\Deleted"},
};
#define NFLAGS (sizeof(flags) / sizeof(flags[0]))

const char *const mail_rule_flag_names[] = {"seen", "flagged", "answered", "draft", NULL};
const unsigned mail_rule_flag_bits[] = {MAIL_FLAG_SEEN, MAIL_FLAG_FLAGGED, MAIL_FLAG_ANSWERED,
                                        MAIL_FLAG_DRAFT};

void mail_flags_letters(unsigned bits, char out[8])
{
	size_t n = 0;

	for (size_t i = 0; i < NFLAGS; i++)
		if (bits & flags[i].bit)
			out[n++] = flags[i].letter;
	out[n] = '\0';
}

unsigned mail_flags_from_letters(const char *letters)
{
	unsigned bits = 0;

	for (const char *p = letters; p != NULL && *p != '\0'; p++)
		for (size_t i = 0; i < NFLAGS; i++)
			if (*p == flags[i].letter)
				bits |= flags[i].bit;
	return bits;
}

unsigned mail_flag_from_imap(const char *name, size_t n)
{
	for (size_t i = 0; i < NFLAGS; i++)
		if (flags[i].imap != NULL && strlen(flags[i].imap) == n &&
		    strncasecmp(name, flags[i].imap, n) == 0)
			return flags[i].bit;
	return 0;
}

const char *mail_flag_imap_name(char letter)
{
	for (size_t i = 0; i < NFLAGS; i++)
		if (flags[i].letter == letter)
			return flags[i].imap;
	return NULL;
}

const char *mail_flags_rule_text(unsigned bits, char out[64])
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; mail_rule_flag_names[i] != NULL; i++)
		if (bits & mail_rule_flag_bits[i])
			len += (size_t)snprintf(out + len, 64 - len, "%s%s", len ? " " : "",
			                        mail_rule_flag_names[i]);
	return out;
}
