#include "util/str.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/log.h"

bool str_ieq_n(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

bool str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

char *str_lower(char *s)
{
	for (char *p = s; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return s;
}

static int lc(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

bool glob_match(const char *pat, const char *s, size_t n)
{
	/* Iterative matcher with one backtrack point: linear in practice. */
	const char *star_p = NULL;
	size_t star_i = 0, i = 0;

	while (i < n) {
		if (*pat == '*') {
			star_p = ++pat;
			star_i = i;
			continue;
		}
		if (*pat == '?' && *pat) {
			pat++;
			i++;
			continue;
		}
		if (*pat == '\\' && pat[1])
			pat++;
		if (*pat && lc((unsigned char)*pat) == lc((unsigned char)s[i])) {
			pat++;
			i++;
			continue;
		}
		if (star_p == NULL)
			return false;
		pat = star_p;
		i = ++star_i;
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

static int parse_number_suffix(const char *s, uint64_t *out, char *suffix)
{
	uint64_t v = 0;
	const char *p = s;

	while (*p == ' ')
		p++;
	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	while (*p == ' ')
		p++;
	*suffix = (char)lc((unsigned char)*p);
	if (*p)
		p++;
	if (*suffix == 'k' || *suffix == 'm' || *suffix == 'g')
		if (*p == 'b' || *p == 'B')
			p++;
	while (*p == ' ')
		p++;
	if (*p != '\0')
		return -1;
	*out = v;
	return 0;
}

static int scale(uint64_t v, uint64_t mult, uint64_t *out)
{
	if (mult != 0 && v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

int parse_duration(const char *s, uint64_t *secs)
{
	uint64_t v;
	char suf;

	if (parse_number_suffix(s, &v, &suf) < 0)
		return -1;
	switch (suf) {
	case '\0':
	case 's':
		return scale(v, 1, secs);
	case 'm':
		return scale(v, 60, secs);
	case 'h':
		return scale(v, 3600, secs);
	case 'd':
		return scale(v, 86400, secs);
	case 'w':
		return scale(v, 7 * 86400, secs);
	}
	return -1;
}

int parse_size(const char *s, uint64_t *bytes)
{
	uint64_t v;
	char suf;

	if (parse_number_suffix(s, &v, &suf) < 0)
		return -1;
	switch (suf) {
	case '\0':
	case 'b':
		return scale(v, 1, bytes);
	case 'k':
		return scale(v, 1024, bytes);
	case 'm':
		return scale(v, 1024 * 1024, bytes);
	case 'g':
		return scale(v, 1024 * 1024 * 1024, bytes);
	}
	return -1;
}

static int expand_var(struct buf *b, const char **pp, const char **err)
{
	const char *p = *pp + 1, *start, *val;
	bool braced = *p == '{';
	char *name;

	if (braced)
		p++;
	start = p;
	while (isalnum((unsigned char)*p) || *p == '_')
		p++;
	if (p == start || (braced && *p != '}')) {
		/* Not a variable reference: keep the '$' literally. */
		buf_putc(b, '$');
		*pp += 1;
		return 0;
	}
	name = xstrndup(start, (size_t)(p - start));
	val = getenv(name);
	free(name);
	if (val == NULL) {
		*err = "an environment variable in the path is not set";
		return -1;
	}
	buf_puts(b, val);
	*pp = braced ? p + 1 : p;
	return 0;
}

char *path_expand(const char *in, const char *base_dir, const char **err)
{
	struct buf b;
	const char *p = in;
	char *out;

	buf_init(&b, 1 << 16);
	if (p[0] == '~' && (p[1] == '/' || p[1] == '\0')) {
		const char *home = getenv("HOME");

		if (home == NULL || *home == '\0') {
			*err = "~ is used but HOME is not set";
			return NULL;
		}
		buf_puts(&b, home);
		p++;
	}
	while (*p) {
		if (*p == '$') {
			if (expand_var(&b, &p, err) < 0) {
				buf_free(&b);
				return NULL;
			}
			continue;
		}
		buf_putc(&b, *p++);
	}
	out = buf_steal(&b, NULL);
	if (out[0] != '/' && base_dir != NULL && out[0] != '\0') {
		char *abs = xasprintf("%s/%s", base_dir, out);

		free(out);
		out = abs;
	}
	return out;
}

static void argv_push(char ***argv, size_t *n, size_t *cap, char *word)
{
	*argv = xreallocarray_grow(*argv, cap, *n + 2, sizeof(char *));
	(*argv)[(*n)++] = word;
	(*argv)[*n] = NULL;
}

int argv_split(const char *s, char ***out)
{
	char **argv = NULL;
	size_t n = 0, cap = 0;
	struct buf w;

	buf_init(&w, 1 << 16);
	argv_push(&argv, &n, &cap, NULL);
	n = 0;
	while (*s) {
		bool in_word = false;

		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		while (*s && *s != ' ' && *s != '\t' && *s != '\n') {
			in_word = true;
			if (*s == '\'' || *s == '"') {
				char q = *s++;

				while (*s && *s != q) {
					if (q == '"' && *s == '\\' && s[1])
						s++;
					buf_putc(&w, *s++);
				}
				if (*s != q)
					goto unterminated;
				s++;
			} else if (*s == '\\' && s[1]) {
				buf_putc(&w, s[1]);
				s += 2;
			} else {
				buf_putc(&w, *s++);
			}
		}
		if (in_word)
			argv_push(&argv, &n, &cap, buf_steal(&w, NULL));
	}
	buf_free(&w);
	*out = argv;
	return (int)n;
unterminated:
	buf_free(&w);
	argv_free(argv);
	return -1;
}

void argv_free(char **argv)
{
	if (argv == NULL)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

static bool word_is_plain(const char *w)
{
	if (*w == '\0')
		return false;
	for (; *w; w++)
		if (!isalnum((unsigned char)*w) && !strchr("_./:@%+=,-", *w))
			return false;
	return true;
}

char *argv_join(char *const *argv)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	for (size_t i = 0; argv[i] != NULL; i++) {
		if (i > 0)
			buf_putc(&b, ' ');
		if (word_is_plain(argv[i])) {
			buf_puts(&b, argv[i]);
			continue;
		}
		buf_putc(&b, '"');
		for (const char *c = argv[i]; *c; c++) {
			if (*c == '"' || *c == '\\')
				buf_putc(&b, '\\');
			buf_putc(&b, *c);
		}
		buf_putc(&b, '"');
	}
	return buf_steal(&b, NULL);
}

void secret_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

void str_sanitise(char *out, size_t outlen, const char *s, size_t len)
{
	size_t o = 0;

	if (outlen == 0)
		return;
	for (size_t i = 0; i < len && o + 1 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c != '\r' && c != '\n')
			out[o++] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	out[o] = '\0';
}
