#include "util/yamlu.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"

/* ---- loading ---------------------------------------------------------- */

static void wipe_parser(yaml_parser_t *p)
{
	/* libyaml keeps copies of the input (passwords included) in both buffers. */
	if (p->raw_buffer.start)
		explicit_bzero(p->raw_buffer.start,
		               (size_t)(p->raw_buffer.end - p->raw_buffer.start));
	if (p->buffer.start)
		explicit_bzero(p->buffer.start, (size_t)(p->buffer.end - p->buffer.start));
	yaml_parser_delete(p);
}

static void wipe_document(yaml_document_t *doc)
{
	for (yaml_node_t *n = doc->nodes.start; n && n < doc->nodes.top; n++)
		if (n->type == YAML_SCALAR_NODE && n->data.scalar.value)
			explicit_bzero(n->data.scalar.value, n->data.scalar.length);
	yaml_document_delete(doc);
}

static void report_parser_error(const char *file, const yaml_parser_t *p, struct diag *d)
{
	const char *what = p->problem ? p->problem : "cannot parse";

	if (p->error == YAML_READER_ERROR) {
		/* The reader counts bytes, not lines: give the offset. */
		diag_add(d, file, 0, 0, "invalid input at byte %zu: %s", p->problem_offset, what);
		return;
	}
	if (p->error == YAML_MEMORY_ERROR)
		fatal("out of memory parsing %s", file);
	if (p->context)
		diag_add(d, file, (int)p->problem_mark.line + 1, (int)p->problem_mark.column + 1,
		         "YAML syntax error: %s (%s at line %d)", what, p->context,
		         (int)p->context_mark.line + 1);
	else
		diag_add(d, file, (int)p->problem_mark.line + 1, (int)p->problem_mark.column + 1,
		         "YAML syntax error: %s", what);
}

/* ---- structure checks: depth, alias cycles, expanded size, NUL bytes --- */

struct shape {
	struct ydoc *y;
	struct diag *d;
	unsigned char *state; /* per node id: 0 new, 1 on the DFS stack, 2 done */
	uint32_t *size;       /* per node id: nodes once aliases are expanded */
	bool failed;
};

static uint32_t sat_add(uint32_t a, uint32_t b)
{
	return a > YDOC_MAX_NODES || b > YDOC_MAX_NODES - a ? YDOC_MAX_NODES + 1 : a + b;
}

static uint32_t measure(struct shape *s, int id, int depth);

static uint32_t measure_children(struct shape *s, yaml_node_t *n, int depth)
{
	uint32_t total = 1;

	if (n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *i = n->data.sequence.items.start;
		     i < n->data.sequence.items.top && !s->failed; i++)
			total = sat_add(total, measure(s, *i, depth + 1));
	} else if (n->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     p < n->data.mapping.pairs.top && !s->failed; p++) {
			total = sat_add(total, measure(s, p->key, depth + 1));
			total = sat_add(total, measure(s, p->value, depth + 1));
		}
	} else if (strlen((char *)n->data.scalar.value) != n->data.scalar.length) {
		ydoc_error(s->y, s->d, n, NULL, "a string holds a NUL byte");
	}
	return total;
}

static uint32_t measure(struct shape *s, int id, int depth)
{
	yaml_node_t *n = ydoc_node(s->y, id);

	if (n == NULL || s->failed)
		return 0;
	if (depth > YDOC_MAX_DEPTH) {
		ydoc_error(s->y, s->d, n, NULL, "nested deeper than %d levels", YDOC_MAX_DEPTH);
		s->failed = true;
		return 0;
	}
	if (s->state[id] == 1) {
		ydoc_error(s->y, s->d, n, NULL, "an alias refers to a node that contains it");
		s->failed = true;
		return 0;
	}
	if (s->state[id] == 2)
		return s->size[id];
	s->state[id] = 1;
	s->size[id] = measure_children(s, n, depth);
	s->state[id] = 2;
	return s->size[id];
}

static int check_shape(struct ydoc *y, struct diag *d)
{
	size_t nnodes = (size_t)(y->doc.nodes.top - y->doc.nodes.start);
	struct shape s = {y, d, xcalloc(nnodes + 1, 1), xcalloc(nnodes + 1, sizeof(uint32_t)),
	                  false};
	size_t before = d->n;
	uint32_t total = measure(&s, 1, 0);

	if (!s.failed && total > YDOC_MAX_NODES)
		ydoc_error(y, d, ydoc_root(y), NULL,
		           "more than %d values once aliases are expanded", YDOC_MAX_NODES);
	free(s.state);
	free(s.size);
	return d->n > before ? -1 : 0;
}

/* ---- duplicate keys: reported, then removed so walkers see the first --- */

struct keyref {
	const char *text;
	size_t index; /* in the mapping's pairs */
};

static int keyref_cmp(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;
	int c = strcmp(x->text, y->text);

	if (c != 0)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

static void dedupe_mapping(struct ydoc *y, struct diag *d, yaml_node_t *map, const char *path)
{
	yaml_node_pair_t *pairs = map->data.mapping.pairs.start;
	size_t n = (size_t)(map->data.mapping.pairs.top - pairs), nk = 0, out = 0;
	struct keyref *keys = xcalloc(n + 1, sizeof(*keys));
	bool *drop = xcalloc(n + 1, sizeof(bool));
	char kp[YDOC_PATH_MAX];

	for (size_t i = 0; i < n; i++) {
		const char *k = ydoc_scalar(ydoc_node(y, pairs[i].key));

		if (k)
			keys[nk++] = (struct keyref){k, i};
	}
	/* Sorting keeps this O(n log n) on a hostile mapping with many keys. */
	qsort(keys, nk, sizeof(*keys), keyref_cmp);
	for (size_t i = 1; i < nk; i++) {
		size_t first = i - 1;

		while (first > 0 && strcmp(keys[first - 1].text, keys[i].text) == 0)
			first--;
		if (strcmp(keys[first].text, keys[i].text) != 0)
			continue;
		drop[keys[i].index] = true;
		ydoc_error(y, d, ydoc_node(y, pairs[keys[i].index].key),
		           ydoc_path_key(kp, path, keys[i].text),
		           "duplicate key (first at line %d)",
		           ydoc_line(ydoc_node(y, pairs[keys[first].index].key)));
	}
	for (size_t i = 0; i < n; i++)
		if (!drop[i])
			pairs[out++] = pairs[i];
	map->data.mapping.pairs.top = pairs + out;
	free(keys);
	free(drop);
}

static void dedupe_walk(struct ydoc *y, struct diag *d, int id, const char *path,
                        unsigned char *seen)
{
	yaml_node_t *n = ydoc_node(y, id);
	char sub[YDOC_PATH_MAX];

	/* An aliased node is checked once, under the path where it first appears. */
	if (n == NULL || seen[id])
		return;
	seen[id] = 1;
	if (n->type == YAML_SEQUENCE_NODE) {
		yaml_node_item_t *items = n->data.sequence.items.start;

		for (size_t i = 0; items + i < n->data.sequence.items.top; i++)
			dedupe_walk(y, d, items[i], ydoc_path_index(sub, path, i), seen);
	} else if (n->type == YAML_MAPPING_NODE) {
		dedupe_mapping(y, d, n, path);
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     p < n->data.mapping.pairs.top; p++) {
			const char *k = ydoc_scalar(ydoc_node(y, p->key));

			dedupe_walk(y, d, p->value, ydoc_path_key(sub, path, k ? k : "?"), seen);
		}
	}
}

static void check_duplicates(struct ydoc *y, struct diag *d)
{
	size_t nnodes = (size_t)(y->doc.nodes.top - y->doc.nodes.start);
	unsigned char *seen = xcalloc(nnodes + 1, 1);

	dedupe_walk(y, d, 1, "", seen);
	free(seen);
}

/* A second document in the file is almost always a mistake: say so. */
static void check_single_document(struct ydoc *y, yaml_parser_t *p, struct diag *d)
{
	yaml_document_t extra;
	yaml_node_t *root;

	if (!yaml_parser_load(p, &extra)) {
		report_parser_error(y->file, p, d);
		return;
	}
	root = yaml_document_get_root_node(&extra);
	if (root)
		diag_add(d, y->file, (int)root->start_mark.line + 1,
		         (int)root->start_mark.column + 1,
		         "only one YAML document is allowed in this file");
	wipe_document(&extra);
}

int ydoc_load_string(struct ydoc *y, const char *name, const char *text, size_t len, struct diag *d)
{
	yaml_parser_t p;
	size_t before = d->n;

	memset(y, 0, sizeof(*y));
	y->file = xstrdup(name);
	if (!yaml_parser_initialize(&p))
		fatal("out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	if (!yaml_parser_load(&p, &y->doc)) {
		report_parser_error(name, &p, d);
		wipe_parser(&p);
		return -1;
	}
	y->loaded = true;
	if (ydoc_root(y) == NULL) {
		diag_add(d, name, 0, 0, "the file is empty");
		wipe_parser(&p);
		return -1;
	}
	check_single_document(y, &p, d);
	wipe_parser(&p);
	if (d->n > before || check_shape(y, d) < 0)
		return -1;
	check_duplicates(y, d);
	return 0;
}

static char *read_capped(int fd, size_t *len, const char *path, struct diag *d)
{
	size_t cap = 8192, n = 0;
	char *data = xmalloc(cap + 1);

	for (;;) {
		ssize_t r;

		if (n == cap) {
			size_t ncap = cap * 2 > YDOC_MAX_FILE + 1 ? YDOC_MAX_FILE + 1 : cap * 2;
			char *bigger;

			if (ncap == cap) {
				diag_add(d, path, 0, 0, "larger than %u MiB", YDOC_MAX_FILE >> 20);
				break;
			}
			/* Grow by hand so the old copy (maybe a password) is wiped. */
			bigger = xmalloc(ncap + 1);
			memcpy(bigger, data, n);
			explicit_bzero(data, n);
			free(data);
			data = bigger;
			cap = ncap;
		}
		r = read(fd, data + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			diag_add(d, path, 0, 0, "cannot read: %s", strerror(errno));
			break;
		}
		if (r == 0) {
			*len = n;
			data[n] = '\0';
			return data;
		}
		n += (size_t)r;
	}
	explicit_bzero(data, n);
	free(data);
	return NULL;
}

int ydoc_load_stat(struct ydoc *y, const char *path, struct stat *st, struct diag *d)
{
	struct stat sb;
	size_t len = 0;
	char *text;
	int fd, rc;

	memset(y, 0, sizeof(*y));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		diag_add(d, path, 0, 0, "cannot open: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		diag_add(d, path, 0, 0, "cannot open: not a regular file");
		close(fd);
		return -1;
	}
	text = read_capped(fd, &len, path, d);
	close(fd);
	if (text == NULL)
		return -1;
	if (st)
		*st = sb;
	rc = ydoc_load_string(y, path, text, len, d);
	explicit_bzero(text, len);
	free(text);
	return rc;
}

int ydoc_load(struct ydoc *y, const char *path, struct diag *d)
{
	return ydoc_load_stat(y, path, NULL, d);
}

void ydoc_free(struct ydoc *y)
{
	if (y->loaded)
		wipe_document(&y->doc);
	free(y->file);
	memset(y, 0, sizeof(*y));
}

/* ---- nodes ------------------------------------------------------------ */

yaml_node_t *ydoc_root(struct ydoc *y)
{
	return y->loaded ? yaml_document_get_root_node(&y->doc) : NULL;
}

yaml_node_t *ydoc_node(struct ydoc *y, int id)
{
	return y->loaded ? yaml_document_get_node(&y->doc, id) : NULL;
}

const char *ydoc_scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

int ydoc_line(const yaml_node_t *n)
{
	return n ? (int)n->start_mark.line + 1 : 0;
}

int ydoc_col(const yaml_node_t *n)
{
	return n ? (int)n->start_mark.column + 1 : 0;
}

bool ydoc_is_null(const yaml_node_t *n)
{
	const char *s;

	if (n == NULL || n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = (const char *)n->data.scalar.value;
	return *s == '\0' || strcmp(s, "~") == 0 || strcasecmp(s, "null") == 0;
}

const char *ydoc_kind(const yaml_node_t *n)
{
	if (n == NULL || ydoc_is_null(n))
		return "an empty value";
	switch (n->type) {
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "a string";
	}
}

void ydoc_error(struct ydoc *y, struct diag *d, const yaml_node_t *n, const char *path,
                const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (path && *path)
		diag_add(d, y->file, ydoc_line(n), ydoc_col(n), "%s: %s", path, text);
	else
		diag_add(d, y->file, ydoc_line(n), ydoc_col(n), "%s", text);
}

int ydoc_expect(struct ydoc *y, struct diag *d, yaml_node_t *n, const char *path,
                yaml_node_type_t t)
{
	static const char *const want[] = {
	    [YAML_SCALAR_NODE] = "a string",
	    [YAML_SEQUENCE_NODE] = "a list",
	    [YAML_MAPPING_NODE] = "a mapping",
	};

	if (n && n->type == t && !(t == YAML_SCALAR_NODE && ydoc_is_null(n)))
		return 0;
	ydoc_error(y, d, n, path, "expected %s, got %s",
	           (unsigned)t <= YAML_MAPPING_NODE && want[t] ? want[t] : "a value", ydoc_kind(n));
	return -1;
}

yaml_node_t *ydoc_get(struct ydoc *y, yaml_node_t *map, const char *key)
{
	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const char *k = ydoc_scalar(ydoc_node(y, p->key));

		if (k && strcmp(k, key) == 0)
			return ydoc_node(y, p->value);
	}
	return NULL;
}

/* ---- typed scalars ---------------------------------------------------- */

/* The scalar text of n, or reports "expected WHAT, got KIND" and returns NULL. */
static const char *want_scalar(struct ydoc *y, struct diag *d, yaml_node_t *n, const char *path,
                               const char *what)
{
	if (n && n->type == YAML_SCALAR_NODE && !ydoc_is_null(n))
		return (const char *)n->data.scalar.value;
	ydoc_error(y, d, n, path, "expected %s, got %s", what, ydoc_kind(n));
	return NULL;
}

int ydoc_bool(struct ydoc *y, struct diag *d, yaml_node_t *n, const char *path, bool *out)
{
	static const char *const names[] = {"false", "true", "no", "yes", "off", "on", NULL};
	const char *s = want_scalar(y, d, n, path, "true or false");

	if (s == NULL)
		return -1;
	for (int i = 0; names[i]; i++)
		if (strcasecmp(s, names[i]) == 0) {
			*out = i % 2 == 1;
			return 0;
		}
	ydoc_error(y, d, n, path, "expected true or false");
	return -1;
}

int ydoc_int(struct ydoc *y, struct diag *d, yaml_node_t *n, const char *path, long min, long max,
             long *out)
{
	char what[80];
	const char *s;
	char *end;
	long v;

	snprintf(what, sizeof(what), "a number from %ld to %ld", min, max);
	s = want_scalar(y, d, n, path, what);
	if (s == NULL)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max ||
	    !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9'))) {
		ydoc_error(y, d, n, path, "expected %s", what);
		return -1;
	}
	*out = v;
	return 0;
}

int ydoc_duration(struct ydoc *y, struct diag *d, yaml_node_t *n, const char *path, uint64_t *secs)
{
	static const char what[] = "a duration such as 30s, 5m, 2h or 7d";
	const char *s = want_scalar(y, d, n, path, what);

	if (s == NULL)
		return -1;
	if (parse_duration(s, secs) < 0) {
		ydoc_error(y, d, n, path, "expected %s", what);
		return -1;
	}
	return 0;
}

int ydoc_size(struct ydoc *y, struct diag *d, yaml_node_t *n, const char *path, uint64_t *bytes)
{
	static const char what[] = "a size such as 1000, 10k, 5M or 1G";
	const char *s = want_scalar(y, d, n, path, what);

	if (s == NULL)
		return -1;
	if (parse_size(s, bytes) < 0) {
		ydoc_error(y, d, n, path, "expected %s", what);
		return -1;
	}
	return 0;
}

int ydoc_string(struct ydoc *y, struct diag *d, yaml_node_t *n, const char *path, char **out)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE) {
		ydoc_error(y, d, n, path, "expected a string, got %s", ydoc_kind(n));
		return -1;
	}
	if (n->data.scalar.length == 0) {
		ydoc_error(y, d, n, path, "expected a non-empty string");
		return -1;
	}
	*out = xstrdup((const char *)n->data.scalar.value);
	return 0;
}

static void join_names(char *out, size_t size, const char *const *names, const char *sep,
                       const char *last_sep)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; names[i] && len < size; i++) {
		const char *s = i == 0 ? "" : names[i + 1] ? sep : last_sep;
		int w = snprintf(out + len, size - len, "%s%s", s, names[i]);

		if (w < 0)
			break;
		len += (size_t)w;
	}
}

int ydoc_enum(struct ydoc *y, struct diag *d, yaml_node_t *n, const char *path,
              const char *const *names, int *out)
{
	char list[512], what[600];
	const char *s;

	join_names(list, sizeof(list), names, ", ", " or ");
	snprintf(what, sizeof(what), "one of %s", list);
	s = want_scalar(y, d, n, path, what);
	if (s == NULL)
		return -1;
	for (int i = 0; names[i]; i++)
		if (strcasecmp(s, names[i]) == 0) {
			*out = i;
			return 0;
		}
	ydoc_error(y, d, n, path, "expected %s", what);
	return -1;
}

int ydoc_strings(struct ydoc *y, struct diag *d, yaml_node_t *n, const char *path, char ***out,
                 size_t *count)
{
	char **v = NULL, ip[YDOC_PATH_MAX];
	size_t nv = 0, cap = 0;
	int bad = 0;

	if (n && n->type == YAML_SCALAR_NODE && !ydoc_is_null(n)) {
		v = xcalloc(2, sizeof(char *));
		if (ydoc_string(y, d, n, path, &v[0]) < 0)
			bad = 1;
		nv = v[0] ? 1 : 0;
	} else if (n && n->type == YAML_SEQUENCE_NODE) {
		yaml_node_item_t *items = n->data.sequence.items.start;
		size_t len = (size_t)(n->data.sequence.items.top - items);

		v = xreallocarray_grow(NULL, &cap, len + 1, sizeof(char *));
		for (size_t i = 0; i < len; i++) {
			v[nv] = NULL;
			if (ydoc_string(y, d, ydoc_node(y, items[i]), ydoc_path_index(ip, path, i),
			                &v[nv]) < 0)
				bad = 1;
			else
				nv++;
		}
		v[nv] = NULL;
	} else {
		ydoc_error(y, d, n, path, "expected a string or a list of strings, got %s",
		           ydoc_kind(n));
		return -1;
	}
	if (bad) {
		argv_free(v);
		return -1;
	}
	*out = v;
	*count = nv;
	return 0;
}

/* ---- keys ------------------------------------------------------------- */

static int tolower_ascii(char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Edit distance with transpositions, case-insensitive; capped inputs. */
static size_t edit_distance(const char *a, const char *b)
{
	enum { MAXL = 32 };
	size_t la = strlen(a), lb = strlen(b), m[MAXL + 1][MAXL + 1];

	if (la > MAXL || lb > MAXL)
		return (size_t)-1;
	for (size_t i = 0; i <= la; i++)
		m[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		m[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = tolower_ascii(a[i - 1]) != tolower_ascii(b[j - 1]);
			size_t best = m[i - 1][j - 1] + cost;

			if (m[i - 1][j] + 1 < best)
				best = m[i - 1][j] + 1;
			if (m[i][j - 1] + 1 < best)
				best = m[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    m[i - 2][j - 2] + 1 < best)
				best = m[i - 2][j - 2] + 1;
			m[i][j] = best;
		}
	return m[la][lb];
}

static const char *closest(const char *key, const char *const *valid)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1, limit = strlen(key) <= 4 ? 1 : 2;

	for (size_t i = 0; valid[i]; i++) {
		size_t dist = edit_distance(key, valid[i]);

		if (dist <= limit && dist < best_d) {
			best = valid[i];
			best_d = dist;
		}
	}
	return best;
}

void ydoc_unknown_key(struct ydoc *y, struct diag *d, yaml_node_t *key, const char *path,
                      const char *const *valid)
{
	const char *k = ydoc_scalar(key), *near;
	char list[1024], kp[YDOC_PATH_MAX];

	join_names(list, sizeof(list), valid, ", ", ", ");
	if (k == NULL) {
		ydoc_error(y, d, key, path, "expected a key name, got %s", ydoc_kind(key));
		return;
	}
	near = closest(k, valid);
	if (near)
		ydoc_error(y, d, key, ydoc_path_key(kp, path, k),
		           "unknown key (did you mean '%s'?); valid keys: %s", near, list);
	else
		ydoc_error(y, d, key, ydoc_path_key(kp, path, k), "unknown key; valid keys: %s",
		           list);
}

int ydoc_check_keys(struct ydoc *y, struct diag *d, yaml_node_t *map, const char *path,
                    const char *const *valid)
{
	int problems = 0;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return 0;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *key = ydoc_node(y, p->key);
		const char *k = ydoc_scalar(key);
		bool known = false;

		for (size_t i = 0; k && valid[i] && !known; i++)
			known = strcmp(k, valid[i]) == 0;
		if (!known) {
			ydoc_unknown_key(y, d, key, path, valid);
			problems++;
		}
	}
	return problems;
}

const char *ydoc_path_key(char out[YDOC_PATH_MAX], const char *parent, const char *key)
{
	if (parent == NULL || *parent == '\0')
		snprintf(out, YDOC_PATH_MAX, "%s", key);
	else
		snprintf(out, YDOC_PATH_MAX, "%s.%s", parent, key);
	return out;
}

const char *ydoc_path_index(char out[YDOC_PATH_MAX], const char *parent, size_t i)
{
	snprintf(out, YDOC_PATH_MAX, "%s[%zu]", parent ? parent : "", i);
	return out;
}
