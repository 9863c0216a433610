/*
 * The flag vocabulary, spelled once: the bits every part uses for a
 * message's flags, with their Maildir info letters, IMAP system flag names
 * and the names of the rule language (`flag: seen`).
 *
 * Memory: the tables are static; strings are written into caller buffers.
 */
#ifndef CORRAL_MAIL_FLAGS_H
#define CORRAL_MAIL_FLAGS_H

#include <stddef.h>

enum mail_flag {
	MAIL_FLAG_DRAFT = 1 << 0,    /* D, \Draft */
	MAIL_FLAG_FLAGGED = 1 << 1,  /* F, \Flagged */
	MAIL_FLAG_PASSED = 1 << 2,   /* P (forwarded; no IMAP system flag) */
	MAIL_FLAG_ANSWERED = 1 << 3, /* R, \Answered */
	MAIL_FLAG_SEEN = 1 << 4,     /* S, \Seen */
	MAIL_FLAG_TRASHED = 1 << 5,  /* T, \Deleted */
};

/* The rule language's flag names, NULL-terminated, in the order of mail_rule_flag_bits. */
extern const char *const mail_rule_flag_names[];
extern const unsigned mail_rule_flag_bits[];

/* Maildir info letters in ASCII order ("FS" for flagged|seen; "" for 0). */
void mail_flags_letters(unsigned flags, char out[8]);
/* The bits of Maildir info letters; unknown letters are ignored. NULL is 0. */
unsigned mail_flags_from_letters(const char *letters);
/* The bit of an IMAP system flag name ("\Seen", any case, n bytes), or 0. */
unsigned mail_flag_from_imap(const char *name, size_t n);
/* The IMAP system flags as Maildir letters in ASCII order, with their
 * names: letter i is "DFRST"[i], named mail_flag_imap_name(letter). */
#define MAIL_FLAG_IMAP_LETTERS "DFRST"
/* The IMAP system flag of a Maildir info letter ("\Seen" for 'S'), or NULL. */
const char *mail_flag_imap_name(char letter);
/* "seen flagged" for seen|flagged in the rule language's words ("" for 0). */
const char *mail_flags_rule_text(unsigned flags, char out[64]);

#endif
