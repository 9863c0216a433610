/*
 * corral --version: the release and the libraries this process runs with,
 * as they report themselves. libcurl, libmagic and OpenSSL are loaded here
 * with dlopen (util/dl.h) as every other user of them does: only --version
 * pays for loading them all at once.
 */
#include <stdio.h>
#include <yaml.h>

#include "cli/help.h"
#include "util/dl.h"

/* Calls the library's version function (no argument, or one int argument). */
static void lib_line(FILE *fp, const char *label, const char *soname, const char *fn)
{
	void *sym = NULL;
	char err[256];

	if (dl_load(soname, &fn, &sym, 1, err, sizeof(err)) < 0) {
		fprintf(fp, "  %-9s not found (%s)\n", label, err);
		return;
	}
	if (fn[0] == 'm') {
		/* magic_version(): an int, 545 for 5.45 */
		int v = ((int (*)(void))sym)();

		fprintf(fp, "  %-9s %d.%02d (%s)\n", label, v / 100, v % 100, soname);
	} else if (fn[0] == 'O') {
		/* OpenSSL_version(OPENSSL_VERSION), where OPENSSL_VERSION is 0 */
		fprintf(fp, "  %-9s %s (%s)\n", label, ((const char *(*)(int))sym)(0), soname);
	} else {
		fprintf(fp, "  %-9s %s (%s)\n", label, ((const char *(*)(void))sym)(), soname);
	}
}

void cli_print_version(FILE *fp, const char *release)
{
	fprintf(fp, "corral %s\nruns with:\n", release);
	lib_line(fp, "libcurl", "libcurl.so.4", "curl_version");
	lib_line(fp, "OpenSSL", "libcrypto.so.3", "OpenSSL_version");
	/* libyaml is linked in statically: the version corral was built with. */
	fprintf(fp, "  %-9s %s (built in)\n", "libyaml", yaml_get_version_string());
	lib_line(fp, "libmagic", "libmagic.so.1", "magic_version");
}
