/*
 * SRV lookups through the C library's resolver. The answer is parsed here
 * (srv_parse) rather than with libresolv's ns_parse calls, so that corral
 * links nothing new and the parser can be tested on canned answers.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/srv.h"

#define DNS_HEADER 12

static unsigned get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* Skips the name at *off (labels or a compression pointer); -1 past the end. */
static int skip_name(const unsigned char *msg, size_t len, size_t *off)
{
	int n = dn_skipname(msg + *off, msg + len);

	if (n < 0)
		return -1;
	*off += (size_t)n;
	return 0;
}

/* One resource record at *off: an SRV of class IN is stored into r (returns 1). */
static int read_rr(const unsigned char *msg, size_t len, size_t *off, struct srv_rec *r)
{
	unsigned type, class, rdlen;
	size_t rd;

	if (skip_name(msg, len, off) < 0 || *off + 10 > len)
		return -1;
	type = get16(msg + *off);
	class = get16(msg + *off + 2);
	rdlen = get16(msg + *off + 8);
	rd = *off + 10;
	if (rd + rdlen > len)
		return -1;
	*off = rd + rdlen;
	if (type != ns_t_srv || class != ns_c_in)
		return 0;
	if (rdlen < 7)
		return -1;
	r->priority = get16(msg + rd);
	r->weight = get16(msg + rd + 2);
	r->port = get16(msg + rd + 4);
	if (dn_expand(msg, msg + len, msg + rd + 6, r->target, sizeof(r->target)) < 0)
		return -1;
	/* dn_expand spells the root "" ; RFC 2782 spells it "." (no service). */
	if (r->target[0] == '\0')
		strcpy(r->target, ".");
	return 1;
}

static int cmp_srv(const void *a, const void *b)
{
	const struct srv_rec *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return x->weight > y->weight ? -1 : x->weight < y->weight;
}

int srv_parse(const unsigned char *msg, size_t len, struct srv_rec *out, size_t max, char *err,
              size_t errlen)
{
	size_t off = DNS_HEADER, n = 0;
	unsigned qd, an;
	int r;

	if (len < DNS_HEADER) {
		snprintf(err, errlen, "a DNS answer of %zu bytes is too short", len);
		return -1;
	}
	qd = get16(msg + 4);
	an = get16(msg + 6);
	for (unsigned i = 0; i < qd; i++)
		if (skip_name(msg, len, &off) < 0 || (off += 4) > len)
			goto bad;
	for (unsigned i = 0; i < an; i++) {
		struct srv_rec rec;

		if ((r = read_rr(msg, len, &off, &rec)) < 0)
			goto bad;
		if (r == 1 && n < max)
			out[n++] = rec;
	}
	qsort(out, n, sizeof(*out), cmp_srv);
	return (int)n;
bad:
	snprintf(err, errlen, "a malformed DNS answer");
	return -1;
}

/* Points the resolver state at "ADDRESS:PORT" alone. */
static int use_server(res_state st, const char *server, char *err, size_t errlen)
{
	const char *colon = strrchr(server, ':');
	char addr[64];
	struct sockaddr_in sin = {.sin_family = AF_INET};

	if (colon == NULL || (size_t)(colon - server) >= sizeof(addr)) {
		snprintf(err, errlen, "DNS server '%s': expected ADDRESS:PORT", server);
		return -1;
	}
	memcpy(addr, server, (size_t)(colon - server));
	addr[colon - server] = '\0';
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1 || atoi(colon + 1) <= 0) {
		snprintf(err, errlen, "DNS server '%s': expected an IPv4 ADDRESS:PORT", server);
		return -1;
	}
	sin.sin_port = htons((unsigned short)atoi(colon + 1));
	st->nsaddr_list[0] = sin;
	st->nscount = 1;
	return 0;
}

int srv_lookup(const char *name, const char *server, struct srv_rec *out, size_t max, char *err,
               size_t errlen)
{
	struct __res_state st;
	unsigned char answer[4096];
	int n;

	memset(&st, 0, sizeof(st));
	if (res_ninit(&st) != 0) {
		snprintf(err, errlen, "the resolver could not start (resolv.conf)");
		return -1;
	}
	st.retrans = 2;
	st.retry = 2;
	if (server != NULL && use_server(&st, server, err, errlen) < 0) {
		res_nclose(&st);
		return -1;
	}
	n = res_nquery(&st, name, ns_c_in, ns_t_srv, answer, sizeof(answer));
	if (n < 0) {
		int h = st.res_h_errno;

		res_nclose(&st);
		/* No such domain, or no SRV record: an answer, not a failure. */
		if (h == HOST_NOT_FOUND || h == NO_DATA)
			return 0;
		snprintf(err, errlen, "DNS lookup of %s failed (%s)", name, hstrerror(h));
		return -1;
	}
	res_nclose(&st);
	return srv_parse(answer, (size_t)n, out, max, err, errlen);
}
