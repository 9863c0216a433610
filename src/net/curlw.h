/*
 * libcurl, loaded on first use.
 *
 * Linking libcurl pulls some 30 shared libraries into every exec (about
 * 25 ms of dynamic loading here), which `corral deliver` (one process per
 * message, as an MTA runs an MDA) must not pay: it never talks to a
 * server. So corral does not link libcurl; net/net.c and out/smtp.c
 * include this header instead of <curl/curl.h>, call curlw_load() before
 * their first curl call, and use the usual curl_* names, which map to the
 * functions of the library loaded with dlopen().
 */
#ifndef CORRAL_CURLW_H
#define CORRAL_CURLW_H

#include <stddef.h>

#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

struct curl_api {
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	CURLcode (*easy_send)(CURL *, const void *, size_t, size_t *);
	CURLcode (*easy_recv)(CURL *, void *, size_t, size_t *);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
	CURLM *(*multi_init)(void);
	CURLMcode (*multi_add_handle)(CURLM *, CURL *);
	CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
	CURLMcode (*multi_perform)(CURLM *, int *);
	CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd *, unsigned int, int, int *);
	CURLMsg *(*multi_info_read)(CURLM *, int *);
	CURLMcode (*multi_cleanup)(CURLM *);
};

/* Loads libcurl and runs curl_global_init() once per process. Returns 0, or
 * -1 with err set ("libcurl is not installed: ..."). */
int curlw_load(char *err, size_t errlen);
/* The loaded library; calling it before a successful curlw_load() is a bug. */
const struct curl_api *curlw(void);
/* Makes the TLS reads of handle c take whole socket buffers: call _prepare
 * before the connection is made (a 256 KiB read buffer; *ssl_slot, which
 * must live as long as c, gets the connection's SSL after the handshake),
 * and _start with that SSL once libcurl is done with its own exchange
 * (OpenSSL's read-ahead: libcurl's pingpong waits on the socket, which does
 * not show what read-ahead holds). Nothing happens when libcurl is not
 * built on OpenSSL 3. */
void curlw_tls_bulk_prepare(CURL *c, void **ssl_slot);
void curlw_tls_bulk_start(void *ssl);
/* tls_fingerprint (corral.yml(5)): the server's public key must be one of
 * pins ("sha256//BASE64;..."); the pin then stands in for the CA chain and
 * the host name, which are not checked (a self-signed certificate). */
void curlw_pin(CURL *c, const char *pins);

#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_easy_init           curlw()->easy_init
#define curl_easy_setopt         curlw()->easy_setopt
#define curl_easy_perform        curlw()->easy_perform
#define curl_easy_cleanup        curlw()->easy_cleanup
#define curl_easy_strerror       curlw()->easy_strerror
#define curl_easy_getinfo        curlw()->easy_getinfo
#define curl_easy_send           curlw()->easy_send
#define curl_easy_recv           curlw()->easy_recv
#define curl_slist_append        curlw()->slist_append
#define curl_slist_free_all      curlw()->slist_free_all
#define curl_multi_init          curlw()->multi_init
#define curl_multi_add_handle    curlw()->multi_add_handle
#define curl_multi_remove_handle curlw()->multi_remove_handle
#define curl_multi_perform       curlw()->multi_perform
#define curl_multi_poll          curlw()->multi_poll
#define curl_multi_info_read     curlw()->multi_info_read
#define curl_multi_cleanup       curlw()->multi_cleanup

#endif
