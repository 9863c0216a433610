#include "store/subscriptions.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"

#define SUBS_MAX (4u << 20)

static void add(struct subscriptions *s, const char *name, size_t len)
{
	char *v = xstrndup(name, len);

	for (char *p = v; *p; p++)
		if (*p == '\t')
			*p = '/';
	s->names = xreallocarray_grow(s->names, &s->cap, s->n + 1, sizeof(*s->names));
	s->names[s->n++] = v;
}

int subs_read(const char *root, struct subscriptions *s, char *err, size_t errlen)
{
	char *path = xasprintf("%s/subscriptions", root), *line = NULL;
	FILE *fp = fopen(path, "r");
	size_t cap = 0, total = 0;
	ssize_t n;
	bool header = true;

	memset(s, 0, sizeof(*s));
	if (fp == NULL) {
		int e = errno;

		if (e != ENOENT)
			snprintf(err, errlen, "%s: %s", path, strerror(e));
		free(path);
		return e == ENOENT ? 0 : -1;
	}
	s->present = true;
	while ((n = getline(&line, &cap, fp)) > 0 && (total += (size_t)n) < SUBS_MAX) {
		line[strcspn(line, "\r\n")] = '\0';
		/* Version 2 begins "V\t2" and a blank line; version 1 is bare names. */
		if (header && strncmp(line, "V\t", 2) == 0)
			continue;
		header = false;
		if (line[0] != '\0')
			add(s, line, strlen(line));
	}
	free(line);
	fclose(fp);
	free(path);
	return 0;
}

bool subs_has(const struct subscriptions *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->names[i], name) == 0)
			return true;
	return false;
}

int subs_change(const char *root, const char *name, bool subscribe, char *err, size_t errlen)
{
	struct subscriptions s;
	struct buf b;
	char *path;
	int rc;

	if (subs_read(root, &s, err, errlen) < 0)
		return -1;
	buf_init(&b, SUBS_MAX);
	buf_puts(&b, "V\t2\n\n");
	for (size_t i = 0; i < s.n; i++)
		if (strcmp(s.names[i], name) != 0) {
			for (const char *p = s.names[i]; *p; p++)
				buf_putc(&b, *p == '/' ? '\t' : *p);
			buf_putc(&b, '\n');
		}
	if (subscribe) {
		for (const char *p = name; *p; p++)
			buf_putc(&b, *p == '/' ? '\t' : *p);
		buf_putc(&b, '\n');
	}
	path = xasprintf("%s/subscriptions", root);
	rc = fs_replace_file(path, b.data, b.len, true);
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	free(path);
	buf_free(&b);
	subs_free(&s);
	return rc;
}

void subs_free(struct subscriptions *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->names[i]);
	free(s->names);
	memset(s, 0, sizeof(*s));
}
