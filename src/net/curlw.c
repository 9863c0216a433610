#include "net/curlw.h"

#include <stdio.h>

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
