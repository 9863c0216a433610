#include "imapd/view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "mail/mutf7.h"
#include "util/buf.h"
#include "util/log.h"

char *view_folder_dir(const char *root, const char *name)
{
	struct buf out;
	const char *p = name;

	if (strcasecmp(name, "INBOX") == 0)
		return xstrdup(root);
	/* LIST's wildcards name no folder. */
	if (name[0] == '\0' || name[0] == '/' || name[strlen(name) - 1] == '/' ||
	    strpbrk(name, "%*") != NULL)
		return NULL;
	buf_init(&out, 4096);
	buf_puts(&out, root);
	buf_puts(&out, "/");
	while (*p != '\0') {
		size_t n = strcspn(p, "/");
		char *level = xstrndup(p, n), *utf8;

		/* Names on the wire are modified UTF-7, as on disk: only valid ones,
		 * no empty level, no "." (the Maildir++ separator: ".." never appears). */
		utf8 = n == 0 || strchr(level, '.') != NULL ? NULL : mutf7_decode(level);
		if (utf8 == NULL || buf_putc(&out, '.') < 0 || buf_puts(&out, level) < 0) {
			free(level);
			free(utf8);
			buf_free(&out);
			return NULL;
		}
		free(level);
		free(utf8);
		p += n;
		if (*p == '/')
			p++;
	}
	return buf_steal(&out, NULL);
}

int view_open(const char *dir, struct view *v, char *err, size_t errlen)
{
	struct uidlist ul;
	bool changed;

	memset(v, 0, sizeof(*v));
	if (uidlist_sync(dir, &ul, &changed, err, errlen) < 0)
		return -1;
	if (keywords_read(dir, &v->kw, err, errlen) < 0) {
		uidlist_free(&ul);
		return -1;
	}
	v->dir = xstrdup(dir);
	v->uidvalidity = ul.uidvalidity;
	v->uidnext = ul.nextuid;
	v->msgs = xcalloc(ul.n ? ul.n : 1, sizeof(*v->msgs));
	for (size_t i = 0; i < ul.n; i++) {
		struct view_msg *m = &v->msgs[v->n];
		const char *info = strstr(ul.recs[i].name, ":2,");
		struct stat st;

		m->path = xasprintf("%s/%s", dir, ul.recs[i].name);
		/* A file renamed or removed since the scan: it is gone for this view. */
		if (stat(m->path, &st) < 0) {
			free(m->path);
			continue;
		}
		m->uid = ul.recs[i].uid;
		m->size = (uint64_t)st.st_size;
		m->internal = st.st_mtime;
		m->recent = strncmp(ul.recs[i].name, "new/", 4) == 0;
		snprintf(m->flags, sizeof(m->flags), "%s", info != NULL ? info + 3 : "");
		m->flags[strcspn(m->flags, ",")] = '\0';
		v->n++;
	}
	uidlist_free(&ul);
	return 0;
}

void view_close(struct view *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->msgs[i].path);
	free(v->msgs);
	free(v->dir);
	keywords_free(&v->kw);
	memset(v, 0, sizeof(*v));
}
