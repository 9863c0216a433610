#include "util/log.h"

#include <sys/stat.h>

#include "util/logsys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int verbosity;

void log_set_verbosity(int v)
{
	verbosity = v;
}

int log_enabled(enum log_level lvl)
{
	switch (lvl) {
	case LOG_ERR:
		return 1;
	case LOG_WARN:
		return verbosity >= 0;
	case LOG_INFO:
		return verbosity >= 1;
	case LOG_DEBUG:
		return verbosity >= 2;
	}
	return 0;
}

/* Where lines go: stderr as is, stderr with journald's "<N>" priorities, or syslog. */
static enum log_sink sink = LOG_TO_STDERR;

void log_set_sink(enum log_sink to)
{
	sink = to;
	if (to == LOG_TO_SYSLOG)
		logsys_open();
}

bool log_stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	/* systemd sets it to "DEVICE:INODE" of the stream stderr is connected to. */
	return js != NULL && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(2, &st) == 0 &&
	       (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	static const char *const prefix[] = {"error: ", "warning: ", "", "debug: "};
	static const int priority[] = {3, 4, 6, 7}; /* syslog's err, warning, info, debug */
	char line[4096];

	if (!log_enabled(lvl))
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	/* One write per line so that concurrent account workers do not interleave. */
	if (sink == LOG_TO_JOURNAL)
		fprintf(stderr, "<%d>%s%s\n", priority[lvl], prefix[lvl], line);
	else if (sink == LOG_TO_SYSLOG)
		logsys_line(priority[lvl], line);
	else
		fprintf(stderr, "corral: %s%s\n", prefix[lvl], line);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	fputs("corral: fatal: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(70);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		fatal("out of memory (%zu bytes)", n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		fatal("out of memory (%zu x %zu bytes)", n, size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		fatal("out of memory (%zu bytes)", n);
	return p;
}

void *xreallocarray_grow(void *p, size_t *cap, size_t want, size_t elem)
{
	size_t ncap = *cap ? *cap : 8;

	if (want <= *cap)
		return p;
	while (ncap < want)
		ncap *= 2;
	if (ncap > ((size_t)-1) / elem)
		fatal("array too large");
	*cap = ncap;
	return xrealloc(p, ncap * elem);
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal("out of memory");
	return s;
}
