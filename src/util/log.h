/*
 * Logging and allocation helpers.
 *
 * The log level is the only mutable global state in corral: it is set once
 * by the CLI. Messages go to stderr, prefixed with "corral: ".
 * Allocation helpers never return NULL: out of memory is fatal().
 */
#ifndef CORRAL_LOG_H
#define CORRAL_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

enum log_sink {
	LOG_TO_STDERR,  /* "corral: error: ..." */
	LOG_TO_JOURNAL, /* "<3>error: ...": stderr read by journald (priority prefixes) */
	LOG_TO_SYSLOG,  /* syslog(3), facility mail */
};

void log_set_sink(enum log_sink to);
/* Whether stderr is the journal stream systemd set up (JOURNAL_STREAM). */
bool log_stderr_is_journal(void);

/* 0 = errors and warnings, 1 = -v (info), 2 = -vv (debug), -1 = -q (errors only). */
void log_set_verbosity(int v);
int log_enabled(enum log_level lvl);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level lvl, const char *fmt, va_list ap);

#define log_err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Only for broken invariants and out-of-memory. Exits with 70 (EX_SOFTWARE). */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* Grows an array to hold at least want elements: *cap doubles. */
void *xreallocarray_grow(void *p, size_t *cap, size_t want, size_t elem);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
