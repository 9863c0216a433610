#include "util/diag.h"

#include <stdarg.h>
#include <stdlib.h>

#include "util/buf.h"
#include "util/log.h"

void diag_init(struct diag *d)
{
	d->msgs = NULL;
	d->n = 0;
	d->cap = 0;
}

void diag_add(struct diag *d, const char *file, int line, int col, const char *fmt, ...)
{
	struct buf b;
	va_list ap;
	char text[2048];

	buf_init(&b, 1 << 16);
	if (file)
		buf_printf(&b, "%s:", file);
	if (line > 0)
		buf_printf(&b, "%d:", line);
	if (line > 0 && col > 0)
		buf_printf(&b, "%d:", col);
	if (b.len > 0)
		buf_putc(&b, ' ');
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	buf_puts(&b, text);
	d->msgs = xreallocarray_grow(d->msgs, &d->cap, d->n + 1, sizeof(char *));
	d->msgs[d->n++] = buf_steal(&b, NULL);
}

void diag_print(const struct diag *d, FILE *fp)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(fp, "%s\n", d->msgs[i]);
}

void diag_free(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->msgs[i]);
	free(d->msgs);
	diag_init(d);
}
