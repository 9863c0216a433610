/* What the session fuzz targets (fuzz-source-imap.c, fuzz-source-pop3.c)
 * share: a fake connection that plays the fuzzed bytes as the server, and a
 * sink that checks the source's promises (source.h) while it collects. */
#ifndef CORRAL_FUZZ_FETCH_SESSION_H
#define CORRAL_FUZZ_FETCH_SESSION_H

#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config/config.h"
#include "net/net.h"
#include "source/source.h"
#include "util/log.h"

struct fz_sink {
	const struct src_msg *const *given; /* what fetch() was asked for */
	size_t ngiven;
	unsigned char *done; /* done() calls per message */
	uint64_t max;        /* the cap on a body */
};

static int fz_open(void *ctx, const struct src_msg *m, int *fd)
{
	(void)ctx;
	(void)m;
	*fd = memfd_create("body", 0);
	return *fd < 0 ? -1 : 0;
}

/* Exactly one done() per message asked for; a body within the cap. */
static int fz_done(void *ctx, const struct src_msg *m, int fd, uint64_t size,
                   const struct result *merr)
{
	struct fz_sink *k = ctx;
	size_t i = 0;

	while (i < k->ngiven && k->given[i] != m)
		i++;
	if (i == k->ngiven || k->done[i]++ != 0)
		abort();
	if (merr != NULL && merr->scope != RES_SCOPE_MESSAGE)
		abort();
	if (merr == NULL && (size > k->max || (fd >= 0 && lseek(fd, 0, SEEK_END) != (off_t)size)))
		abort();
	if (fd >= 0)
		close(fd);
	return 0;
}

/* A connection whose server says data[0..size) and then hangs up. */
static struct net *fz_connection(const uint8_t *data, size_t size)
{
	int rfd = memfd_create("server", 0), wfd = open("/dev/null", O_WRONLY | O_CLOEXEC);

	if (rfd < 0 || wfd < 0 || write(rfd, data, size) != (ssize_t)size)
		abort();
	lseek(rfd, 0, SEEK_SET);
	return net_from_fds(rfd, wfd, 1);
}

/* Fetches every listed message (the sink checks each), then deletes them. */
static void fz_fetch_all(const struct source_driver *d, struct source *s,
                         const struct src_folder *f, uint64_t max)
{
	const struct src_msg **v = calloc(f->nmsgs + 1, sizeof(*v));
	struct fz_sink k = {.given = v, .ngiven = f->nmsgs, .max = max};
	struct src_sink sink = {.open = fz_open, .done = fz_done, .ctx = &k};
	struct result err;
	int rc;

	k.done = calloc(f->nmsgs + 1, 1);
	for (size_t i = 0; i < f->nmsgs; i++)
		v[i] = &f->msgs[i];
	rc = d->fetch(s, v, f->nmsgs, &sink, &err);
	for (size_t i = 0; rc == 0 && i < f->nmsgs; i++)
		if (k.done[i] != 1)
			abort();
	if (rc == 0 && !f->read_only)
		d->delete (s, v, f->nmsgs, &err);
	free(k.done);
	free(v);
}

#endif
