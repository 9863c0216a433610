#include "curlw.h"

#include <dlfcn.h>
#include <stdio.h>

#include "util/log.h"

/* Written once, by the first curlw_load() (before any thread or fork). */
static struct curl_api api;
static int loaded;

static void *sym(void *lib, const char *name, int *missing)
{
	void *p = dlsym(lib, name);

	if (p == NULL)
		(*missing)++;
	return p;
}

int curlw_load(char *err, size_t errlen)
{
	CURLcode (*global_init)(long);
	int missing = 0;
	void *lib;

	if (loaded)
		return 0;
	lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		snprintf(err, errlen, "libcurl is not installed (%s): apt-get install libcurl4",
		         dlerror());
		return -1;
	}
	*(void **)&api.easy_init = sym(lib, "curl_easy_init", &missing);
	*(void **)&api.easy_setopt = sym(lib, "curl_easy_setopt", &missing);
	*(void **)&api.easy_perform = sym(lib, "curl_easy_perform", &missing);
	*(void **)&api.easy_cleanup = sym(lib, "curl_easy_cleanup", &missing);
	*(void **)&api.easy_strerror = sym(lib, "curl_easy_strerror", &missing);
	*(void **)&api.easy_getinfo = sym(lib, "curl_easy_getinfo", &missing);
	*(void **)&api.easy_send = sym(lib, "curl_easy_send", &missing);
	*(void **)&api.easy_recv = sym(lib, "curl_easy_recv", &missing);
	*(void **)&api.slist_append = sym(lib, "curl_slist_append", &missing);
	*(void **)&api.slist_free_all = sym(lib, "curl_slist_free_all", &missing);
	*(void **)&global_init = sym(lib, "curl_global_init", &missing);
	if (missing > 0) {
		snprintf(err, errlen, "libcurl.so.4 lacks %d of the functions corral uses",
		         missing);
		dlclose(lib);
		return -1;
	}
	if (global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "curl_global_init failed");
		return -1;
	}
	loaded = 1;
	return 0;
}

const struct curl_api *curlw(void)
{
	if (!loaded)
		fatal("libcurl used before curlw_load()");
	return &api;
}
