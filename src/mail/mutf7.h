/*
 * IMAP's modified UTF-7 for mailbox names (RFC 3501 section 5.1.3), as
 * Dovecot writes Maildir++ folder names on disk: printable ASCII stands for
 * itself except "&", which is "&-"; anything else is "&" + base64 of UTF-16
 * (with "," for "/") + "-".
 *
 * Decoding is strict, as Dovecot's: a name that is not what the encoder
 * would have written (printable ASCII or "&" inside base64, a bad padding,
 * an unpaired surrogate, two base64 runs in a row, a missing "-") is
 * refused, so that two spellings never name one folder.
 *
 * Memory: strings returned belong to the caller.
 */
#ifndef CORRAL_MAIL_MUTF7_H
#define CORRAL_MAIL_MUTF7_H

/* UTF-8 -> modified UTF-7; NULL when utf8 is not valid UTF-8 (or has controls). */
char *mutf7_encode(const char *utf8);

/* The same, but each byte that is not part of valid UTF-8 is written as bad
 * (printable ASCII; "_" otherwise); NULL only for control characters. */
char *mutf7_encode_lossy(const char *utf8, char bad);

/* Modified UTF-7 -> UTF-8; NULL when it is not valid modified UTF-7. */
char *mutf7_decode(const char *mutf7);

#endif
