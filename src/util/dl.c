#include "util/dl.h"

#include <dlfcn.h>
#include <stdio.h>

int dl_load(const char *soname, const char *const *names, void **fns, size_t n, char *err,
            size_t errlen)
{
	void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	if (lib == NULL) {
		snprintf(err, errlen, "%s is not installed (%s)", soname, dlerror());
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		fns[i] = dlsym(lib, names[i]);
		if (fns[i] == NULL) {
			snprintf(err, errlen, "%s has no %s", soname, names[i]);
			dlclose(lib);
			return -1;
		}
	}
	return 0;
}
