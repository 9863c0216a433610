#include "net/curlw.h"

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/dl.h"
#include "util/log.h"

/* Written once, by the first curlw_load() (before any thread or fork). */
static struct curl_api api;
static int loaded;

int curlw_load(char *err, size_t errlen)
{
	static const char *const names[] = {
	    "curl_easy_init",        "curl_easy_setopt",         "curl_easy_perform",
	    "curl_easy_cleanup",     "curl_easy_strerror",       "curl_easy_getinfo",
	    "curl_easy_send",        "curl_easy_recv",           "curl_slist_append",
	    "curl_slist_free_all",   "curl_global_init",         "curl_multi_init",
	    "curl_multi_add_handle", "curl_multi_remove_handle", "curl_multi_perform",
	    "curl_multi_poll",       "curl_multi_info_read",     "curl_multi_cleanup"};
	void *fns[18];
	CURLcode (*global_init)(long);

	if (loaded)
		return 0;
	if (dl_load("libcurl.so.4", names, fns, 18, err, errlen) < 0)
		return -1;
	*(void **)&api.easy_init = fns[0];
	*(void **)&api.easy_setopt = fns[1];
	*(void **)&api.easy_perform = fns[2];
	*(void **)&api.easy_cleanup = fns[3];
	*(void **)&api.easy_strerror = fns[4];
	*(void **)&api.easy_getinfo = fns[5];
	*(void **)&api.easy_send = fns[6];
	*(void **)&api.easy_recv = fns[7];
	*(void **)&api.slist_append = fns[8];
	*(void **)&api.slist_free_all = fns[9];
	*(void **)&global_init = fns[10];
	*(void **)&api.multi_init = fns[11];
	*(void **)&api.multi_add_handle = fns[12];
	*(void **)&api.multi_remove_handle = fns[13];
	*(void **)&api.multi_perform = fns[14];
	*(void **)&api.multi_poll = fns[15];
	*(void **)&api.multi_info_read = fns[16];
	*(void **)&api.multi_cleanup = fns[17];
	if (global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "curl_global_init failed");
		return -1;
	}
	loaded = 1;
	return 0;
}

void curlw_pin(CURL *c, const char *pins)
{
	curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, pins);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
}

const struct curl_api *curlw(void)
{
	if (!loaded)
		fatal("libcurl used before curlw_load()");
	return &api;
}

/*
 * Servers write TLS records of a few KiB (Dovecot: 4 KiB), and OpenSSL reads
 * each with two recv calls, its 5-byte header and then its body: some 2,500
 * system calls per 10 MB fetched. With read-ahead, one recv takes whatever
 * the socket holds, up to the read buffer. libssl is loaded already (libcurl
 * uses it); these calls come from it by name, once per process.
 *
 * libcurl does not hand out the SSL of a CONNECT_ONLY connection once its
 * perform is over, so the context callback leaves the caller's slot in the
 * SSL_CTX's application data, and an info callback fills the slot when the
 * handshake is done.
 */
static struct {
	int state; /* 0: not tried, 1: usable, -1: not OpenSSL 3 or missing */
	long (*ssl_ctrl)(SSL *, int, long, void *);
	void (*set_read_buffer_len)(SSL_CTX *, size_t);
	int (*ctx_set_ex_data)(SSL_CTX *, int, void *);
	void *(*ctx_get_ex_data)(const SSL_CTX *, int);
	void (*set_info_callback)(SSL_CTX *, void (*)(const SSL *, int, int));
	SSL_CTX *(*get_ssl_ctx)(const SSL *);
} bulk;

static bool bulk_load(void)
{
	static const char *const names[] = {"SSL_ctrl",
	                                    "SSL_CTX_set_default_read_buffer_len",
	                                    "SSL_CTX_set_ex_data",
	                                    "SSL_CTX_get_ex_data",
	                                    "SSL_CTX_set_info_callback",
	                                    "SSL_get_SSL_CTX"};
	static const char *const vnames[] = {"curl_version"};
	void *fns[6], *vfn[1];
	char err[256];
	const char *(*version)(void);

	if (bulk.state != 0)
		return bulk.state == 1;
	bulk.state = -1;
	/* The ssl_ctx of the callback is an SSL_CTX only with OpenSSL. */
	if (dl_load("libcurl.so.4", vnames, vfn, 1, err, sizeof(err)) < 0)
		return false;
	*(void **)&version = vfn[0];
	if (strstr(version(), "OpenSSL/3") == NULL ||
	    dl_load("libssl.so.3", names, fns, 6, err, sizeof(err)) < 0)
		return false;
	*(void **)&bulk.ssl_ctrl = fns[0];
	*(void **)&bulk.set_read_buffer_len = fns[1];
	*(void **)&bulk.ctx_set_ex_data = fns[2];
	*(void **)&bulk.ctx_get_ex_data = fns[3];
	*(void **)&bulk.set_info_callback = fns[4];
	*(void **)&bulk.get_ssl_ctx = fns[5];
	bulk.state = 1;
	return true;
}

static void bulk_info(const SSL *ssl, int where, int ret)
{
	void **slot;

	(void)ret;
	if ((where & SSL_CB_HANDSHAKE_DONE) &&
	    (slot = bulk.ctx_get_ex_data(bulk.get_ssl_ctx(ssl), 0)) != NULL)
		*slot = (void *)ssl;
}

static CURLcode bulk_ctx(CURL *c, void *ssl_ctx, void *slot)
{
	(void)c;
	bulk.set_read_buffer_len(ssl_ctx, 256 * 1024);
	bulk.ctx_set_ex_data(ssl_ctx, 0, slot);
	bulk.set_info_callback(ssl_ctx, bulk_info);
	return CURLE_OK;
}

void curlw_tls_bulk_prepare(CURL *c, void **ssl_slot)
{
	*ssl_slot = NULL;
	if (bulk_load()) {
		curlw()->easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, bulk_ctx);
		curlw()->easy_setopt(c, CURLOPT_SSL_CTX_DATA, ssl_slot);
	}
}

void curlw_tls_bulk_start(void *ssl)
{
	if (ssl != NULL)
		bulk.ssl_ctrl(ssl, SSL_CTRL_SET_READ_AHEAD, 1, NULL);
}
