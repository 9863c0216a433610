/*
 * The one result type (result.h) and its one mapping to sysexits.
 */
#include "util/result.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "util/str.h"

void res_clear(struct result *r)
{
	memset(r, 0, sizeof(*r));
}

int res_fail(struct result *r, enum res_scope scope, enum res_kind kind, const char *server,
             const char *fmt, ...)
{
	va_list ap;

	r->kind = kind;
	r->scope = scope;
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
	r->server[0] = '\0';
	if (server != NULL)
		str_sanitise(r->server, sizeof(r->server), server, strlen(server));
	return -1;
}

bool res_temporary(enum res_kind kind)
{
	return kind == RES_TEMP || kind == RES_BUSY || kind == RES_UNREACHABLE;
}

/* Worse first: what needs the user, then what will pass. */
static int rank(enum res_kind kind)
{
	switch (kind) {
	case RES_CONFIG:
	case RES_PERM:
		return 5;
	case RES_AUTH:
		return 4;
	case RES_TEMP:
	case RES_BUSY:
		return 3;
	case RES_UNREACHABLE:
		return 2;
	case RES_OK:
		break;
	}
	return 0;
}

enum res_kind res_worse(enum res_kind a, enum res_kind b)
{
	return rank(b) > rank(a) ? b : a;
}

int res_exit_code(enum res_kind kind)
{
	switch (kind) {
	case RES_OK:
		return 0;
	case RES_TEMP:
	case RES_BUSY:
		return EX_TEMPFAIL;
	case RES_UNREACHABLE:
		return EX_UNAVAILABLE;
	case RES_AUTH:
	case RES_PERM:
		return EX_NOPERM;
	case RES_CONFIG:
		return EX_CONFIG;
	}
	return EX_SOFTWARE;
}

const char *res_kind_name(enum res_kind kind)
{
	switch (kind) {
	case RES_OK:
		return "ok";
	case RES_TEMP:
		return "temporary";
	case RES_PERM:
		return "permanent";
	case RES_BUSY:
		return "busy";
	case RES_UNREACHABLE:
		return "unreachable";
	case RES_AUTH:
		return "refused login";
	case RES_CONFIG:
		return "configuration";
	}
	return "?";
}
