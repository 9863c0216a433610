/*
 * DNS SRV records (RFC 2782) for finding a domain's mail servers the way
 * RFC 6186 says: _imaps._tcp.DOMAIN, _imap._tcp.DOMAIN, _pop3s._tcp.DOMAIN.
 * Uses the resolver of the C library (res_nquery); no other dependency.
 *
 * Memory: targets are copied into the caller's records; nothing to free.
 */
#ifndef CORRAL_NET_SRV_H
#define CORRAL_NET_SRV_H

#include <stddef.h>

#define SRV_TARGET_MAX 256

struct srv_rec {
	unsigned priority; /* lower first */
	unsigned weight;   /* higher first among equal priorities (here: no randomness) */
	unsigned port;
	char target[SRV_TARGET_MAX]; /* without the final dot; "." means "no service" */
};

/*
 * Parses a DNS response (len bytes) and returns how many SRV answers it
 * held, up to max, sorted by priority then weight (highest first), or -1
 * when the message is malformed or truncated, with err set. Pure.
 */
int srv_parse(const unsigned char *msg, size_t len, struct srv_rec *out, size_t max, char *err,
              size_t errlen);

/*
 * Asks for the SRV records of name (e.g. "_imaps._tcp.example.com") and
 * fills out as srv_parse(). server, when not NULL, is "ADDRESS:PORT" of the
 * DNS server to ask instead of resolv.conf's (IPv4; tests use a stub on
 * 127.0.0.1). Returns the count (0: no such record, or the domain does not
 * exist), or -1 when the lookup failed, with err set.
 */
int srv_lookup(const char *name, const char *server, struct srv_rec *out, size_t max, char *err,
               size_t errlen);

#endif
