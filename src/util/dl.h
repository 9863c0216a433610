/*
 * Libraries loaded on first use (dlopen), so that a command which does not
 * need them does not pay for loading them at every exec: `corral deliver`
 * runs once per message. libcurl (curlw.h), libmagic (sniff.c) and
 * libcrypt (cmd-passwd.c) are loaded this way.
 */
#ifndef CORRAL_DL_H
#define CORRAL_DL_H

#include <stddef.h>

/*
 * Opens soname and fills fns[i] with the address of names[i] for the n
 * names. Returns 0, or -1 with err set ("libmagic.so.1 is not installed:
 * ..."); the library stays loaded for the life of the process.
 */
int dl_load(const char *soname, const char *const *names, void **fns, size_t n, char *err,
            size_t errlen);

#endif
