/*
 * Attachment types sniffed from their bytes with libmagic: the declared
 * Content-Type of a part is not trusted (a ".pdf" sent as
 * application/octet-stream is application/pdf here, and an executable
 * labelled image/png is not an image).
 *
 * A sniffer loads the magic database once (magic_load is the costly part)
 * and is then reused for every part of every message. It is not
 * thread-safe: one per thread.
 *
 * Memory: strings returned (char *) belong to the caller.
 */
#ifndef CORRAL_SNIFF_H
#define CORRAL_SNIFF_H

#include <stddef.h>

struct msg;
struct msg_part;
struct sniffer;

/* How much of a part is decoded and looked at: enough for every format
 * libmagic recognises by its header, cheap even for base64 parts of MBs. */
#define SNIFF_BYTES 8192

/* Opens libmagic with the system database. NULL with err set on failure. */
struct sniffer *sniffer_new(char *err, size_t errlen);
void sniffer_free(struct sniffer *s);

/* The MIME type of data[0..len) ("application/pdf"); "application/x-empty"
 * for no bytes, "application/octet-stream" when libmagic cannot tell. */
char *sniff_buffer(struct sniffer *s, const void *data, size_t len);
/* The MIME type of a leaf part from its first SNIFF_BYTES transfer-decoded
 * bytes. */
char *sniff_part(struct sniffer *s, const struct msg *m, const struct msg_part *p);

#endif
