/* scn_load.c - scenario files to scenario structs (see scn_load.h; the
 * file format is documented in docs/SCENARIOS.md).
 *
 * Three stages:
 *   1. parse: the text must be UTF-8; libfyaml's event parser -> a tree
 *      of ynode (ours, allocated with the caller's allocator, every node
 *      and key with its 1-based line and column).  libfyaml's diagnostics
 *      are collected, never printed.  Aliases are copied (at most
 *      MAX_ALIAS_NODES nodes, the tree at most MAX_DEPTH deep); merge keys
 *      (<<) are not supported.  Single-quoted scalars with escaped quotes
 *      are decoded here (libfyaml 0.7.12 gets them wrong).
 *   2. variants: each variant's `set` paths are applied to a copy of the
 *      tree; replaced values keep the override's positions, so errors in
 *      them point at the override's line.  Command-line overrides
 *      (scn_load_ex) go on the tree first (their nodes at LINE_CMDLINE);
 *      a sweep, once the base and variants are valid without it, builds
 *      them again at each point, its values set before each variant's.
 *   3. build: walk a tree against the schema, filling a scenario; every
 *      problem is recorded (unknown keys with the nearest valid name, wrong
 *      types, out-of-range values, unresolved names, bad trace rows) and the
 *      walk goes on, so one load reports as much as it can.
 *
 * Costs: parsing and building are linear in the file; pool expansion is
 * linear in the mailboxes; the duplicate-name check sorts them
 * (O(M log M)); resolving a sender's mailbox is O(M) per sender group;
 * trace labels are hashed (O(rows) expected); "did you mean" compares at
 * most NEAR_MAX_WORK names per load.
 *
 * Bounds on what one file may cost, all refused with an error naming the
 * key: the counts of scn_load.h, a file of SCN_MAX_FILE_BYTES, and
 * SCN_MAX_LOAD_BYTES of mailboxes, trace rows and text over the base and
 * all variants.  tests/fuzz/ fuzzes this file (docs/RELIABILITY.md).
 */
#include "scn_load.h"

#include <ctype.h>
#include <errno.h>
#include <libfyaml.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "presets.h"
#include "status.h"
#include "units.h"

/* Mailbox names compared in one load to suggest a nearest name: bounds the
 * time a file full of typos against a large pool can take (2 x 10^5
 * comparisons: ~0.04 s at -O2, ~1.5 s under the fuzzers' instrumentation). */
#define NEAR_MAX_WORK 200000

/* ---- the tree ------------------------------------------------------------ */

typedef enum ytype { Y_NULL = 0, Y_SCALAR, Y_SEQ, Y_MAP } ytype;

typedef struct ynode ynode;
typedef struct ypair {
	char *key;       /* NULL in a sequence */
	int line, col;   /* the key's position (the item's, in a sequence) */
	ynode *val;
} ypair;

struct ynode {
	ytype type;
	int line, col;   /* 1-based */
	char *str;       /* Y_SCALAR: the text, NUL-terminated */
	size_t n, cap;   /* Y_SEQ, Y_MAP */
	ypair *items;
};

typedef struct ctx {
	const sim_alloc *a;
	scn_errors *errs;
	const char *file;
	const char *dir;        /* the scenario file's directory, "" or ending in '/' */
	const char *variant;    /* NULL while building the base */
	size_t base_nerr;       /* errors of the base (not repeated in variants) */
	bool nomem;
	size_t nerr;            /* problems reported (errs may be NULL) */
	size_t load_bytes;      /* mailboxes, trace rows and texts of every scenario built so far
				 * (base and variants): <= SCN_MAX_LOAD_BYTES */
	size_t near_work;       /* mailbox names compared for "did you mean" (<= NEAR_MAX_WORK) */
	bool over_budget;       /* SCN_MAX_LOAD_BYTES reached: build no more variants */
	const scn_override *ov; /* command-line overrides (scn_load_ex) */
	size_t n_ov;
	const char *point;      /* "sweep point P (KEY = VALUE)" while building a point, else NULL */
	size_t sweep_err0;      /* errs->n when the points began: a problem is reported at its first point */
} ctx;

/* Nodes that come from the command line (scn_load_ex) carry this line:
 * their errors are reported at line 0, "(from the command line)". */
#define LINE_CMDLINE (-1)

static void *xalloc(ctx *c, size_t n)
{
	void *p = sim_malloc(c->a, n);
	if (!p)
		c->nomem = true;
	else
		memset(p, 0, n);
	return p;
}

static char *xstrndup(ctx *c, const char *s, size_t n)
{
	char *p = sim_malloc(c->a, n + 1);
	if (!p) {
		c->nomem = true;
		return NULL;
	}
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static void yfree(const sim_alloc *a, ynode *n)
{
	if (!n)
		return;
	if (n->str)
		sim_free(a, n->str, strlen(n->str) + 1);
	for (size_t i = 0; i < n->n; i++) {
		if (n->items[i].key)
			sim_free(a, n->items[i].key, strlen(n->items[i].key) + 1);
		yfree(a, n->items[i].val);
	}
	sim_free(a, n->items, n->cap * sizeof *n->items);
	sim_free(a, n, sizeof *n);
}

static ynode *ynew(ctx *c, ytype t, int line, int col)
{
	ynode *n = xalloc(c, sizeof *n);
	if (n) {
		n->type = t;
		n->line = line;
		n->col = col;
	}
	return n;
}

/* Append (key, val) to a sequence or mapping; takes ownership of key and
 * val, freeing them on failure. */
static bool yappend(ctx *c, ynode *parent, char *key, int line, int col, ynode *val)
{
	if (parent->n == parent->cap) {
		size_t nc = parent->cap ? parent->cap * 2 : 4;
		ypair *v = sim_realloc(c->a, parent->items, parent->cap * sizeof *v, nc * sizeof *v);
		if (!v) {
			c->nomem = true;
			if (key)
				sim_free(c->a, key, strlen(key) + 1);
			yfree(c->a, val);
			return false;
		}
		parent->items = v;
		parent->cap = nc;
	}
	parent->items[parent->n++] = (ypair){ key, line, col, val };
	return true;
}

static ynode *ycopy(ctx *c, const ynode *n)
{
	ynode *m = ynew(c, n->type, n->line, n->col);
	if (!m)
		return NULL;
	if (n->str && !(m->str = xstrndup(c, n->str, strlen(n->str)))) {
		yfree(c->a, m);
		return NULL;
	}
	for (size_t i = 0; i < n->n; i++) {
		char *k = NULL;
		if (n->items[i].key && !(k = xstrndup(c, n->items[i].key, strlen(n->items[i].key)))) {
			yfree(c->a, m);
			return NULL;
		}
		ynode *v = ycopy(c, n->items[i].val);
		if (!v) {
			if (k)
				sim_free(c->a, k, strlen(k) + 1);
			yfree(c->a, m);
			return NULL;
		}
		if (!yappend(c, m, k, n->items[i].line, n->items[i].col, v)) {
			yfree(c->a, m);
			return NULL;
		}
	}
	return m;
}

static ypair *ypair_of(const ynode *m, const char *key)
{
	if (!m || m->type != Y_MAP)
		return NULL;
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->items[i].key, key) == 0)
			return &m->items[i];
	return NULL;
}

static ynode *yget(const ynode *m, const char *key)
{
	ypair *p = ypair_of(m, key);
	return p ? p->val : NULL;
}

static const char *ytype_name(ytype t)
{
	switch (t) {
	case Y_NULL: return "nothing";
	case Y_SCALAR: return "a single value";
	case Y_SEQ: return "a list";
	case Y_MAP: return "a mapping";
	}
	return "?";
}

/* ---- errors -------------------------------------------------------------- */

void scn_errors_free(scn_errors *e)
{
	if (!e)
		return;
	sim_free(&sim_alloc_std, e->v, e->cap * sizeof *e->v);
	e->v = NULL;
	e->n = e->cap = 0;
}

static void push_error(ctx *c, const char *file, int line, int col, const char *key, const char *msg_)
{
	scn_errors *e = c->errs;
	char cmsg[600];
	const char *msg = msg_;
	if (line == LINE_CMDLINE) { /* a node given on the command line (scn_load_ex) */
		line = col = 0;
		if (snprintf(cmsg, sizeof cmsg, "%s (from the command line)", msg_) >= 0)
			msg = cmsg;
	}
	if ((c->variant || c->point) && e) {
		for (size_t i = 0; i < c->base_nerr && i < e->n; i++)
			if (e->v[i].line == line && e->v[i].column == col &&
			    strcmp(e->v[i].key, key) == 0 && strcmp(e->v[i].message, msg) == 0 &&
			    strcmp(e->v[i].file, file) == 0)
				return; /* the base's problem, already reported */
	}
	if (c->point && e) {
		/* a problem shared by points (or by a point's base and its
		 * variants) is reported at its first point only */
		size_t ml = strlen(msg);
		for (size_t i = c->sweep_err0; i < e->n; i++) {
			size_t sl = strlen(e->v[i].message);
			if (e->v[i].line == line && e->v[i].column == col && sl > ml + 1 &&
			    !strcmp(e->v[i].message + sl - ml, msg) && e->v[i].message[sl - ml - 1] == ' ' &&
			    !strcmp(e->v[i].key, key) && !strcmp(e->v[i].file, file))
				return;
		}
	}
	c->nerr++;
	if (!e)
		return;
	if (e->n == e->cap) {
		size_t nc = e->cap ? e->cap * 2 : 8;
		scn_error *v = sim_realloc(&sim_alloc_std, e->v, e->cap * sizeof *v, nc * sizeof *v);
		if (!v)
			return; /* the error list is best effort */
		e->v = v;
		e->cap = nc;
	}
	scn_error *r = &e->v[e->n++];
	memset(r, 0, sizeof *r);
	snprintf(r->file, sizeof r->file, "%s", file);
	r->line = line;
	r->column = col;
	snprintf(r->key, sizeof r->key, "%s", key);
	int w = snprintf(r->message, sizeof r->message, "%s%s%s%s%s%s", c->variant ? "variant '" : "",
			 c->variant ? c->variant : "", c->variant ? "': " : "", c->point ? c->point : "",
			 c->point ? ": " : "", msg);
	if (w < 0)
		r->message[0] = '\0';
}

__attribute__((format(printf, 6, 7)))
static void err_file(ctx *c, const char *file, int line, int col, const char *key, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	push_error(c, file, line, col, key, msg);
}

#define err_at(c, line, col, key, ...) err_file((c), (c)->file, (line), (col), (key), __VA_ARGS__)
#define err_node(c, n, key, ...) err_at((c), (n)->line, (n)->col, (key), __VA_ARGS__)

void scn_error_format(const scn_error *e, char *buf, size_t len)
{
	if (!buf || !len)
		return;
	if (e->line > 0 && e->key[0])
		snprintf(buf, len, "%s:%d:%d: %s: %s", e->file, e->line, e->column, e->key, e->message);
	else if (e->line > 0)
		snprintf(buf, len, "%s:%d:%d: %s", e->file, e->line, e->column, e->message);
	else if (e->key[0])
		snprintf(buf, len, "%s: %s: %s", e->file, e->key, e->message);
	else
		snprintf(buf, len, "%s: %s", e->file, e->message);
}

int scn_parse_duration_arg(const char *s, int64_t *ns)
{
	return unit_parse_duration(s, ns, NULL, 0);
}

/* ---- nearest names ------------------------------------------------------- */

/* Edit distance with adjacent transpositions (optimal string alignment),
 * case-insensitive: "mpf" is one edit from "mfp".  Only distances up to k
 * matter (near_result() never suggests a name farther than NEAR_MAX, nor
 * near_try() one no nearer than the best so far), so only the diagonal
 * band |i - j| <= k is computed (Ukkonen 1985): an alignment of cost <= k
 * never leaves it, so those distances are exact and any other is reported
 * as k + 1; and the walk stops once two rows are beyond k.  O(k len) per
 * pair instead of O(len^2): a typo among the 10^4 pool members searched
 * used to cost a full table per member (0.2 s per sender and variant;
 * found while fuzzing the loader). */
#define NEAR_MAX 3
static size_t levenshtein(const char *a, const char *b, unsigned k)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d[64][64];
	const unsigned far = k + 1;
	if (la >= 64 || lb >= 64)
		return (size_t)-1;
	if ((la > lb ? la - lb : lb - la) > k)
		return far;
#define D(i, j) ((i) + k < (j) || (j) + k < (i) ? far : (unsigned)d[i][j])
	for (size_t i = 0; i <= la && i <= k; i++)
		d[i][0] = (unsigned char)i;
	for (size_t j = 0; j <= lb && j <= k; j++)
		d[0][j] = (unsigned char)j;
	unsigned prev_min = 0;
	for (size_t i = 1; i <= la; i++) {
		size_t jlo = i > k ? i - k : 1, jhi = i + k < lb ? i + k : lb;
		unsigned row_min = i <= k ? (unsigned)i : far; /* d[i][0], when in the band */
		for (size_t j = jlo; j <= jhi; j++) {
			int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
			unsigned best = D(i - 1, j - 1) + (ca != cb);
			if (D(i - 1, j) + 1u < best)
				best = D(i - 1, j) + 1u;
			if (D(i, j - 1) + 1u < best)
				best = D(i, j - 1) + 1u;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb && D(i - 2, j - 2) + 1u < best)
				best = D(i - 2, j - 2) + 1u;
			d[i][j] = (unsigned char)(best < far ? best : far);
			if (d[i][j] < row_min)
				row_min = d[i][j];
		}
		/* a cell depends on the two rows above it: two rows beyond k put
		 * every later one beyond it */
		if (row_min >= far && prev_min >= far)
			return far;
		prev_min = row_min;
	}
	return D(la, lb);
#undef D
}

/* The candidate nearest to word, if near enough to be a likely typo. */
typedef struct nearest {
	const char *word;
	const char *best;
	size_t dist;
} nearest;

/* The first candidate at the least distance <= NEAR_MAX wins. */
static void near_try(nearest *n, const char *cand)
{
	if (n->dist == 0)
		return;
	unsigned k = n->dist <= NEAR_MAX ? (unsigned)n->dist - 1 : NEAR_MAX;
	size_t d = levenshtein(n->word, cand, k);
	if (d <= k) {
		n->dist = d;
		n->best = cand;
	}
}

static const char *near_result(const nearest *n)
{
	size_t len = strlen(n->word);
	size_t limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
	return n->best && n->dist <= limit ? n->best : NULL;
}

static const char *nearest_of(const char *word, const char *const *names)
{
	nearest n = { word, NULL, (size_t)-1 };
	for (size_t i = 0; names[i]; i++)
		near_try(&n, names[i]);
	return near_result(&n);
}

static void list_names(char *buf, size_t len, const char *const *names)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; names[i] && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? (names[i + 1] ? ", " : " or ") : "", names[i]);
}

/* ---- paths ---------------------------------------------------------------- */

#define PATH_MAX_LEN 256

static void pjoin(char *out, const char *path, const char *key)
{
	/* a path longer than PATH_MAX_LEN is cut: it only labels a message */
	int w = path[0] ? snprintf(out, PATH_MAX_LEN, "%s.%s", path, key)
			: snprintf(out, PATH_MAX_LEN, "%s", key);
	if (w < 0)
		out[0] = '\0';
}

/* Report unknown keys of a mapping; a null or absent mapping is fine. */
static void check_keys(ctx *c, const ynode *m, const char *path, const char *const *allowed)
{
	if (!m || m->type != Y_MAP)
		return;
	for (size_t i = 0; i < m->n; i++) {
		const char *k = m->items[i].key;
		size_t j;
		for (j = 0; allowed[j]; j++)
			if (strcmp(k, allowed[j]) == 0)
				break;
		if (allowed[j])
			continue;
		char p[PATH_MAX_LEN];
		pjoin(p, path, k);
		const char *sug = nearest_of(k, allowed);
		if (sug)
			err_at(c, m->items[i].line, m->items[i].col, p,
			       "unknown key '%s' (did you mean '%s'?)", k, sug);
		else {
			char list[400];
			list_names(list, sizeof list, allowed);
			err_at(c, m->items[i].line, m->items[i].col, p,
			       "unknown key '%s' (expected one of %s)", k, list);
		}
	}
}

/* A section that must be a mapping: absent or null is "empty"; anything
 * else is an error.  Returns the map or NULL. */
static const ynode *want_map(ctx *c, const ynode *n, const char *path)
{
	if (!n || n->type == Y_NULL)
		return NULL;
	if (n->type != Y_MAP) {
		err_node(c, n, path, "expected a mapping, got %s", ytype_name(n->type));
		return NULL;
	}
	return n;
}

static bool want_scalar(ctx *c, const ynode *n, const char *path, const char *what)
{
	if (n->type == Y_SCALAR)
		return true;
	err_node(c, n, path, "expected %s, got %s", what, ytype_name(n->type));
	return false;
}

/* ---- typed getters: absent -> untouched; bad -> error, untouched --------- */

typedef int (*parse_i64_fn)(const char *, int64_t *, char *, size_t);
typedef int (*parse_dbl_fn)(const char *, double *, char *, size_t);

static bool val_i64(ctx *c, const ynode *n, const char *p, parse_i64_fn fn, const char *what, int64_t *out)
{
	char msg[300];
	int64_t v;
	if (!want_scalar(c, n, p, what))
		return false;
	if (fn(n->str, &v, msg, sizeof msg)) {
		err_node(c, n, p, "%s", msg);
		return false;
	}
	*out = v;
	return true;
}

static bool val_dbl(ctx *c, const ynode *n, const char *p, parse_dbl_fn fn, const char *what, double *out)
{
	char msg[300];
	double v;
	if (!want_scalar(c, n, p, what))
		return false;
	if (fn(n->str, &v, msg, sizeof msg)) {
		err_node(c, n, p, "%s", msg);
		return false;
	}
	*out = v;
	return true;
}

static bool opt_i64(ctx *c, const ynode *m, const char *key, const char *path,
		    parse_i64_fn fn, const char *what, int64_t *out)
{
	ynode *n = yget(m, key);
	char p[PATH_MAX_LEN];
	if (!n)
		return false;
	pjoin(p, path, key);
	return val_i64(c, n, p, fn, what, out);
}

static bool opt_dbl(ctx *c, const ynode *m, const char *key, const char *path,
		    parse_dbl_fn fn, const char *what, double *out)
{
	ynode *n = yget(m, key);
	char p[PATH_MAX_LEN];
	if (!n)
		return false;
	pjoin(p, path, key);
	return val_dbl(c, n, p, fn, what, out);
}

static bool opt_bool(ctx *c, const ynode *m, const char *key, const char *path, bool *out)
{
	ynode *n = yget(m, key);
	char p[PATH_MAX_LEN], msg[300];
	bool v;
	if (!n)
		return false;
	pjoin(p, path, key);
	if (!want_scalar(c, n, p, "true or false"))
		return false;
	if (unit_parse_bool(n->str, &v, msg, sizeof msg)) {
		err_node(c, n, p, "%s", msg);
		return false;
	}
	*out = v;
	return true;
}

/* A count that must be in [lo, hi]; the message names the bound. */
static bool opt_count(ctx *c, const ynode *m, const char *key, const char *path,
		      int64_t lo, int64_t hi, const char *hi_text, int64_t *out)
{
	int64_t v;
	ynode *n = yget(m, key);
	char p[PATH_MAX_LEN];
	if (!n)
		return false;
	pjoin(p, path, key);
	if (!val_i64(c, n, p, unit_parse_count, "a whole number", &v))
		return false;
	if (v < lo) {
		err_node(c, n, p, "must be at least %lld, got %lld", (long long)lo, (long long)v);
		return false;
	}
	if (v > hi) {
		err_node(c, n, p, "%lld exceeds the bound of %s", (long long)v, hi_text);
		return false;
	}
	*out = v;
	return true;
}

/* A count limit: a whole number, or off/none/unlimited = 0. */
static bool opt_limit(ctx *c, const ynode *m, const char *key, const char *path, int64_t *out)
{
	ynode *n = yget(m, key);
	if (n && n->type == Y_SCALAR &&
	    (!strcmp(n->str, "off") || !strcmp(n->str, "none") || !strcmp(n->str, "unlimited"))) {
		*out = 0;
		return true;
	}
	return opt_count(c, m, key, path, 0, INT64_MAX / 2, "2^62", out);
}

static bool opt_dur(ctx *c, const ynode *m, const char *key, const char *path, int64_t *out)
{
	return opt_i64(c, m, key, path, unit_parse_duration, "a duration (e.g. 30s)", out);
}

static bool opt_size(ctx *c, const ynode *m, const char *key, const char *path, int64_t *out)
{
	return opt_i64(c, m, key, path, unit_parse_size, "a size (e.g. 35MB)", out);
}

static bool opt_prob(ctx *c, const ynode *m, const char *key, const char *path, double *out)
{
	return opt_dbl(c, m, key, path, unit_parse_probability, "a probability", out);
}

/* One of names; returns the index, or -1 (error reported, or absent). */
static int val_enum(ctx *c, const ynode *n, const char *p, const char *const *names)
{
	char list[300];
	list_names(list, sizeof list, names);
	if (!want_scalar(c, n, p, list))
		return -1;
	for (int i = 0; names[i]; i++)
		if (strcmp(n->str, names[i]) == 0)
			return i;
	const char *sug = nearest_of(n->str, names);
	if (sug)
		err_node(c, n, p, "unknown value '%s' (did you mean '%s'?)", n->str, sug);
	else
		err_node(c, n, p, "unknown value '%s' (expected %s)", n->str, list);
	return -1;
}

static int opt_enum(ctx *c, const ynode *m, const char *key, const char *path, const char *const *names)
{
	ynode *n = yget(m, key);
	char p[PATH_MAX_LEN];
	if (!n)
		return -1;
	pjoin(p, path, key);
	return val_enum(c, n, p, names);
}

static bool opt_name(ctx *c, const ynode *m, const char *key, const char *path, char *out)
{
	ynode *n = yget(m, key);
	char p[PATH_MAX_LEN];
	if (!n)
		return false;
	pjoin(p, path, key);
	if (!want_scalar(c, n, p, "a name"))
		return false;
	if (strlen(n->str) >= SCN_NAME_MAX) {
		err_node(c, n, p, "name longer than %d characters", SCN_NAME_MAX - 1);
		return false;
	}
	if (!n->str[0]) {
		err_node(c, n, p, "name is empty");
		return false;
	}
	snprintf(out, SCN_NAME_MAX, "%s", n->str);
	return true;
}

/* ---- parsing YAML into the tree ------------------------------------------ */

static void diag_sink(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
	(void)diag; (void)user; (void)buf; (void)len;
}

typedef struct anchor {
	char *name;
	ynode *node;
	bool owned;  /* a copy of an anchored key (the key node itself is freed) */
} anchor;

typedef struct frame {
	ynode *node;
	char *key;       /* a mapping's pending key */
	int kline, kcol;
	bool have_key;
} frame;

#define MAX_DEPTH 128
/* Nodes that aliases may copy into one tree (a scenario with a few shared
 * limits blocks uses hundreds). */
#define MAX_ALIAS_NODES 100000

/* The height of n (a scalar: 1) and, added to *count, its nodes.
 * Recursion depth: the tree's, <= MAX_DEPTH. */
static int yheight(const ynode *n, size_t *count)
{
	int h = 0;
	++*count;
	for (size_t i = 0; i < n->n; i++) {
		int k = yheight(n->items[i].val, count);
		if (k > h)
			h = k;
	}
	return h + 1;
}

static char *token_text(ctx *c, struct fy_token *t)
{
	size_t len = 0;
	const char *s = t ? fy_token_get_text(t, &len) : NULL;
	if (!s) {
		s = "";
		len = 0;
	}
	return xstrndup(c, s, len);
}

typedef struct parse_state {
	frame st[MAX_DEPTH];
	int depth;
	ynode *root;
	anchor *anchors;
	size_t n_anchors, cap_anchors;
	size_t alias_nodes;  /* nodes made by copying aliases: <= MAX_ALIAS_NODES */
	bool too_deep;
} parse_state;

/* Remember node under the anchor t.  A key's node is freed once its text
 * is taken (attach()), so an anchored key keeps a copy of its own
 * (is_key): an alias of it used to read freed memory (found by
 * tests/fuzz/fuzz_scenario). */
static void add_anchor(ctx *c, parse_state *ps, struct fy_token *t, ynode *node, bool is_key)
{
	if (!t)
		return;
	if (ps->n_anchors == ps->cap_anchors) {
		size_t nc = ps->cap_anchors ? ps->cap_anchors * 2 : 4;
		anchor *v = sim_realloc(c->a, ps->anchors, ps->cap_anchors * sizeof *v, nc * sizeof *v);
		if (!v) {
			c->nomem = true;
			return;
		}
		ps->anchors = v;
		ps->cap_anchors = nc;
	}
	char *name = token_text(c, t);
	if (!name)
		return;
	if (is_key && !(node = ycopy(c, node))) {
		sim_free(c->a, name, strlen(name) + 1);
		return;
	}
	ps->anchors[ps->n_anchors++] = (anchor){ name, node, is_key };
}

/* Attach a finished or started node to the current container. */
static bool attach(ctx *c, parse_state *ps, ynode *node)
{
	if (ps->depth == 0) {
		ps->root = node;
		return true;
	}
	frame *f = &ps->st[ps->depth - 1];
	if (f->node->type == Y_SEQ)
		return yappend(c, f->node, NULL, node->line, node->col, node);
	if (!f->have_key) {
		if (node->type != Y_SCALAR) {
			err_node(c, node, "", "a key must be a plain name, not %s", ytype_name(node->type));
			f->key = xstrndup(c, "?", 1);
		} else {
			f->key = node->str;
			node->str = NULL;
		}
		f->kline = node->line;
		f->kcol = node->col;
		yfree(c->a, node);
		if (!f->key)
			return false;
		f->have_key = true;
		for (size_t i = 0; i < f->node->n; i++)
			if (strcmp(f->node->items[i].key, f->key) == 0) {
				err_at(c, f->kline, f->kcol, f->key, "duplicate key '%s'", f->key);
				break;
			}
		return true;
	}
	f->have_key = false;
	char *k = f->key;
	f->key = NULL;
	return yappend(c, f->node, k, f->kline, f->kcol, node);
}

static bool is_null_scalar(const char *s, size_t len, enum fy_scalar_style style)
{
	if (style != FYSS_PLAIN)
		return false;
	return len == 0 || (len == 1 && s[0] == '~') ||
	       (len == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4)));
}

static void free_parse_state(ctx *c, parse_state *ps)
{
	for (int i = ps->depth - 1; i >= 0; i--) {
		if (ps->st[i].key)
			sim_free(c->a, ps->st[i].key, strlen(ps->st[i].key) + 1);
	}
	/* open containers are owned by their parents or by root */
	if (ps->depth > 0 && ps->root != ps->st[0].node)
		yfree(c->a, ps->st[0].node);
	for (size_t i = 0; i < ps->n_anchors; i++) {
		sim_free(c->a, ps->anchors[i].name, strlen(ps->anchors[i].name) + 1);
		if (ps->anchors[i].owned)
			yfree(c->a, ps->anchors[i].node);
	}
	sim_free(c->a, ps->anchors, ps->cap_anchors * sizeof *ps->anchors);
}

/* Parse text into a tree.  Returns the root (NULL with errors reported or
 * c->nomem set). */
/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, at most U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
	unsigned char b = s[0];
	if (b < 0x80)
		return 1;
	size_t n = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
	if (!n || n > left)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((b == 0xe0 && s[1] < 0xa0) || (b == 0xed && s[1] > 0x9f) || (b == 0xf0 && s[1] < 0x90) ||
	    (b == 0xf4 && s[1] > 0x8f))
		return 0;
	return n;
}

/* A scenario file is UTF-8 text.  Checked before libfyaml sees it: its
 * 0.7.12 scanner loops forever on a malformed sequence in a directive
 * ("%\xdf"), found by tests/fuzz/fuzz_scenario. */
static bool check_utf8(ctx *c, const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	int line = 1, col = 1;
	for (size_t i = 0; i < len;) {
		size_t k = utf8_seq(s + i, len - i);
		if (!k) {
			err_at(c, line, col, "", "not UTF-8 text: byte 0x%02x cannot start or continue a character here", s[i]);
			return false;
		}
		if (s[i] == '\n') {
			line++;
			col = 1;
		} else
			col++;
		i += k;
	}
	return true;
}

/* Append src[0..n) to out at *o, with '' unescaped to '. */
static void sq_append(char *out, size_t *o, const char *src, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		out[(*o)++] = src[i];
		if (src[i] == '\'' && i + 1 < n && src[i + 1] == '\'')
			i++;
	}
}

static bool sq_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* The value of a single-quoted scalar that contains an escaped quote,
 * decoded here from the source between its quotes: libfyaml 0.7.12's
 * fy_token_get_text() gets a run of escaped quotes wrong (the scalar
 * 'x', four quotes, 'y' comes back as x and three quotes instead of x and
 * two quotes) and leaks a buffer when the run is long (found by
 * tests/fuzz/fuzz_scenario).  Lines are folded as YAML 1.2 says (7.3.2,
 * 6.5): blanks around a line break are dropped, a break becomes a space,
 * or one newline per empty line after it.  Returns NULL (and leaves *len)
 * when the scalar has no escaped quote or its marks do not lie in text, to
 * let libfyaml's text stand; NULL with c->nomem on allocation failure.
 * The result is NUL-terminated, *len + 1 bytes, allocated with c->a. */
static char *single_quoted_text(ctx *c, const char *text, size_t textlen, struct fy_token *t, size_t *len)
{
	const struct fy_mark *a = fy_token_start_mark(t), *b = fy_token_end_mark(t);
	if (!a || !b || a->input_pos > b->input_pos || b->input_pos > textlen)
		return NULL;
	const char *raw = text + a->input_pos;
	size_t n = b->input_pos - a->input_pos;
	bool escaped = false;
	for (size_t i = 0; i + 1 < n && !escaped; i++)
		escaped = raw[i] == '\'' && raw[i + 1] == '\'';
	if (!escaped)
		return NULL;
	char *out = sim_malloc(c->a, n + 1); /* the value is never longer than its source */
	if (!out) {
		c->nomem = true;
		return NULL;
	}
	size_t o = 0, pos = 0, empty = 0;
	for (bool first = true;; first = false) {
		const char *nl = memchr(raw + pos, '\n', n - pos);
		size_t end = nl ? (size_t)(nl - raw) : n, lo = pos, hi = end;
		if (hi > lo && raw[hi - 1] == '\r')
			hi--;
		if (!first)
			while (lo < hi && sq_blank(raw[lo]))
				lo++;
		if (nl)
			while (hi > lo && sq_blank(raw[hi - 1]))
				hi--;
		if (!first) {
			if (lo == hi && nl) { /* an empty line: one newline */
				empty++;
				pos = end + 1;
				continue;
			}
			if (empty)
				for (; empty; empty--)
					out[o++] = '\n';
			else
				out[o++] = ' ';
		}
		sq_append(out, &o, raw + lo, hi - lo);
		if (!nl)
			break;
		pos = end + 1;
	}
	out[o] = '\0';
	*len = o;
	return out;
}

static ynode *parse_yaml(ctx *c, const char *text, size_t len)
{
	if (!check_utf8(c, text, len))
		return NULL;
	struct fy_diag_cfg dcfg;
	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;
	dcfg.output_fn = diag_sink;
	dcfg.colorize = false;
	struct fy_diag *diag = fy_diag_create(&dcfg);
	if (!diag) {
		c->nomem = true;
		return NULL;
	}
	fy_diag_set_collect_errors(diag, true);
	struct fy_parse_cfg pcfg;
	memset(&pcfg, 0, sizeof pcfg);
	pcfg.flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG;
	pcfg.diag = diag;
	struct fy_parser *fyp = fy_parser_create(&pcfg);
	if (!fyp) {
		fy_diag_destroy(diag);
		c->nomem = true;
		return NULL;
	}
	parse_state *ps = xalloc(c, sizeof *ps);
	if (!ps || fy_parser_set_string(fyp, text, len)) {
		if (ps)
			c->nomem = true;
		sim_free(c->a, ps, sizeof *ps);
		fy_parser_destroy(fyp);
		fy_diag_destroy(diag);
		return NULL;
	}
	int docs = 0;
	bool bad = false, stop = false;
	struct fy_event *ev;
	while (!c->nomem && !stop && (ev = fy_parser_parse(fyp))) {
		const struct fy_mark *mk = fy_event_start_mark(ev);
		int line = mk ? mk->line + 1 : 0, col = mk ? mk->column + 1 : 0;
		ynode *node = NULL;
		switch (ev->type) {
		case FYET_DOCUMENT_START:
			if (++docs > 1) {
				err_at(c, line, col, "", "only one YAML document per scenario file");
				bad = true;
			}
			break;
		case FYET_SCALAR: {
			if (docs > 1)
				break;
			size_t sl = 0;
			enum fy_scalar_style style = fy_token_scalar_style(ev->scalar.value);
			char *own = NULL;
			const char *s;
			if (style == FYSS_SINGLE_QUOTED && (own = single_quoted_text(c, text, len, ev->scalar.value, &sl)))
				s = own;
			else if (c->nomem)
				break;
			else
				s = fy_token_get_text(ev->scalar.value, &sl);
			if (!s)
				s = "";
			bool isnull = is_null_scalar(s, sl, style);
			node = ynew(c, isnull ? Y_NULL : Y_SCALAR, line, col);
			if (!node) {
				if (own)
					sim_free(c->a, own, sl + 1);
				break;
			}
			node->str = xstrndup(c, s, sl);
			if (own)
				sim_free(c->a, own, sl + 1);
			if (!node->str) {
				yfree(c->a, node);
				break;
			}
			bool is_key = ps->depth > 0 && ps->st[ps->depth - 1].node->type == Y_MAP &&
				      !ps->st[ps->depth - 1].have_key;
			if (isnull && is_key)
				node->type = Y_SCALAR; /* a null key: keep its text */
			add_anchor(c, ps, ev->scalar.anchor, node, is_key);
			attach(c, ps, node);
			break;
		}
		case FYET_ALIAS: {
			if (docs > 1)
				break;
			size_t al = 0;
			const char *an = fy_token_get_text(ev->alias.anchor, &al);
			ynode *target = NULL;
			for (size_t i = ps->n_anchors; i-- > 0;)
				if (an && strlen(ps->anchors[i].name) == al && !memcmp(ps->anchors[i].name, an, al)) {
					target = ps->anchors[i].node;
					break;
				}
			if (!target) {
				err_at(c, line, col, "", "unknown alias '*%.*s'", (int)al, an ? an : "");
				bad = true;
				break;
			}
			/* aliases are copied: bound what they can make ("billion
			 * laughs": nine aliases of nine aliases of ... in a few
			 * lines) and keep the tree within MAX_DEPTH */
			size_t count = 0;
			int height = yheight(target, &count);
			if (ps->depth + height > MAX_DEPTH) {
				err_at(c, line, col, "", "nesting deeper than %d levels (through alias '*%.*s')",
				       MAX_DEPTH, (int)al, an);
				bad = stop = true;
				break;
			}
			if (count > MAX_ALIAS_NODES - ps->alias_nodes) {
				err_at(c, line, col, "", "aliases expand to more than %d nodes (at '*%.*s')",
				       MAX_ALIAS_NODES, (int)al, an);
				bad = stop = true;
				break;
			}
			ps->alias_nodes += count;
			node = ycopy(c, target);
			if (node) {
				node->line = line;
				node->col = col;
				attach(c, ps, node);
			}
			break;
		}
		case FYET_MAPPING_START:
		case FYET_SEQUENCE_START:
			if (docs > 1)
				break;
			if (ps->depth >= MAX_DEPTH) {
				if (!ps->too_deep)
					err_at(c, line, col, "", "nesting deeper than %d levels", MAX_DEPTH);
				ps->too_deep = bad = true;
				break;
			}
			node = ynew(c, ev->type == FYET_MAPPING_START ? Y_MAP : Y_SEQ, line, col);
			if (!node)
				break;
			add_anchor(c, ps, ev->type == FYET_MAPPING_START ? ev->mapping_start.anchor
								    : ev->sequence_start.anchor, node, false);
			if (ps->depth > 0 &&
			    ps->st[ps->depth - 1].node->type == Y_MAP && !ps->st[ps->depth - 1].have_key) {
				/* a complex key: report, and parse it as a value under "?" */
				frame *f = &ps->st[ps->depth - 1];
				err_node(c, node, "", "a key must be a plain name, not %s", ytype_name(node->type));
				f->key = xstrndup(c, "?", 1);
				f->have_key = f->key != NULL;
				f->kline = line;
				f->kcol = col;
			}
			if (!attach(c, ps, node))
				break;
			ps->st[ps->depth++] = (frame){ node, NULL, 0, 0, false };
			break;
		case FYET_MAPPING_END:
		case FYET_SEQUENCE_END:
			if (docs > 1 || ps->too_deep)
				break;
			if (ps->depth > 0) {
				frame *f = &ps->st[--ps->depth];
				if (f->key)
					sim_free(c->a, f->key, strlen(f->key) + 1);
			}
			break;
		default:
			break;
		}
		fy_parser_event_free(fyp, ev);
	}
	if (fy_parser_get_stream_error(fyp)) {
		void *it = NULL;
		struct fy_diag_error *de;
		int n = 0;
		while ((de = fy_diag_errors_iterate(diag, &it))) {
			err_at(c, de->line, de->column, "", "YAML syntax error: %s", de->msg ? de->msg : "?");
			n++;
		}
		if (!n)
			err_at(c, 0, 0, "", "YAML syntax error");
		bad = true;
	}
	fy_parser_destroy(fyp);
	fy_diag_destroy(diag);
	ynode *root = ps->root;
	free_parse_state(c, ps);
	sim_free(c->a, ps, sizeof *ps);
	if (bad || c->nomem) {
		yfree(c->a, root);
		return NULL;
	}
	if (!root || root->type == Y_NULL) {
		err_at(c, 1, 1, "", "the scenario file is empty");
		yfree(c->a, root);
		return NULL;
	}
	if (root->type != Y_MAP) {
		err_node(c, root, "", "a scenario file must be a mapping of keys (name:, senders:, ...), not %s",
			 ytype_name(root->type));
		yfree(c->a, root);
		return NULL;
	}
	return root;
}

/* ---- limits ---------------------------------------------------------------- */

static const char *const scope_names[] = { "mailbox", "tenant", "source", "connector", NULL };
static const char *const mode_names[] = { "delay", "reject", "tarpit", NULL };
static const char *const counts_names[] = { "sessions", "submitting", NULL };
static const char *const class_keys[] = { "mailbox_full", "send_as_denied", "invalid_license",
					  "too_many_recipients", "invalid_recipients", NULL };
static const char *const limit_keys[] = {
	"preset", "smtp_auth", "saves_sent_items", "auth_fail_tarpit",
	"max_concurrent_connections", "concurrency_counts", "concurrency_scope",
	"message_rate_limit", "message_rate_window", "message_rate_mode", "message_rate_scope",
	"recipient_rate_limit", "recipient_rate_window", "recipient_rate_scope",
	"max_recipients_per_message", "max_message_size", "error_throttle", "replies", NULL
};
static const char *const throttle_keys[] = { "enabled", "threshold", "window", "period", NULL };
static const char *const throttle_all_keys[] = { "enabled", "threshold", "window", "period",
	"mailbox_full", "send_as_denied", "invalid_license", "too_many_recipients",
	"invalid_recipients", NULL };

static void preset_names(const char **names, size_t cap)
{
	size_t i = 0;
	for (; i + 1 < cap && preset_name(i); i++)
		names[i] = preset_name(i);
	names[i] = NULL;
}

/* A preset name; fills *l.  false (reported) if unknown. */
static bool val_preset(ctx *c, const ynode *n, const char *p, scn_limits *l)
{
	const char *names[32];
	preset_names(names, 32);
	int i = val_enum(c, n, p, names);
	if (i < 0)
		return false;
	preset_fill(names[i], l);
	return true;
}

static void parse_throttle_one(ctx *c, const ynode *n, const char *p, scn_error_throttle *t, bool all_keys)
{
	if (n->type == Y_SCALAR) {
		bool on;
		char msg[300];
		if (unit_parse_bool(n->str, &on, msg, sizeof msg))
			err_node(c, n, p, "expected on, off or a mapping {threshold, window, period}, got '%s'", n->str);
		else
			t->enabled = on;
		return;
	}
	const ynode *m = want_map(c, n, p);
	if (!m)
		return;
	if (!all_keys)
		check_keys(c, m, p, throttle_keys);
	bool any = false;
	int64_t v;
	if (opt_count(c, m, "threshold", p, 1, INT64_MAX / 2, "2^62", &v)) {
		t->threshold = v;
		any = true;
	}
	if (opt_dur(c, m, "window", p, &v)) {
		if (v <= 0) {
			char q[PATH_MAX_LEN];
			pjoin(q, p, "window");
			err_node(c, yget(m, "window"), q, "must be longer than 0");
		} else
			t->window_ns = v;
		any = true;
	}
	if (opt_dur(c, m, "period", p, &v)) {
		t->period_ns = v;
		any = true;
	}
	if (any)
		t->enabled = true;
	opt_bool(c, m, "enabled", p, &t->enabled);
}

static void parse_error_throttle(ctx *c, const ynode *n, const char *p, scn_limits *l)
{
	if (n->type != Y_MAP) {
		for (int k = 0; k < ERR_CLASS_COUNT; k++)
			parse_throttle_one(c, n, p, &l->error_throttle[k], false);
		return;
	}
	check_keys(c, n, p, throttle_all_keys);
	bool has_common = false;
	for (int i = 0; throttle_keys[i]; i++)
		if (yget(n, throttle_keys[i]))
			has_common = true;
	if (has_common) {
		/* parse once (reporting once), then copy the common fields */
		scn_error_throttle t = l->error_throttle[0];
		ynode *sub[4] = { 0 };
		for (int i = 0; throttle_keys[i]; i++)
			sub[i] = yget(n, throttle_keys[i]);
		parse_throttle_one(c, n, p, &t, true);
		for (int k = 0; k < ERR_CLASS_COUNT; k++) {
			scn_error_throttle *d = &l->error_throttle[k];
			if (sub[0] || sub[1] || sub[2] || sub[3])
				d->enabled = t.enabled;
			if (sub[1])
				d->threshold = t.threshold;
			if (sub[2])
				d->window_ns = t.window_ns;
			if (sub[3])
				d->period_ns = t.period_ns;
		}
	}
	for (int k = 0; k < ERR_CLASS_COUNT; k++) {
		ynode *cn = yget(n, class_keys[k]);
		char q[PATH_MAX_LEN];
		if (!cn)
			continue;
		pjoin(q, p, class_keys[k]);
		parse_throttle_one(c, cn, q, &l->error_throttle[k], false);
	}
}

static void parse_reply(ctx *c, const ynode *n, const char *p, scn_reply *r)
{
	if (!want_scalar(c, n, p, "a reply line such as \"450 4.7.0 text\""))
		return;
	const char *s = n->str;
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[2]) ||
	    (s[3] != ' ' && s[3] != '\0') || s[0] < '2' || s[0] > '5') {
		err_node(c, n, p, "a reply must start with a 3-digit SMTP code (2xx-5xx): '%s'", s);
		return;
	}
	if (strlen(s) >= sizeof r->text) {
		err_node(c, n, p, "reply longer than %zu characters", sizeof r->text - 1);
		return;
	}
	r->code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	r->transient = s[0] == '4';
	r->drops_connection = r->code == 421;
	snprintf(r->text, sizeof r->text, "%s", s);
}

/* replies: { <id>: "CODE text", ... } for the catalog's classes that a
 * scenario may override (replies.h). */
static void parse_replies(ctx *c, const ynode *n, const char *p, scn_limits *l)
{
	const ynode *m = want_map(c, n, p);
	const char *keys[RC_COUNT + 1];
	int cls[RC_COUNT], nk = 0;
	if (!m)
		return;
	for (int r = 0; r < RC_COUNT; r++)
		if (rpl_info[r].scenario_key) {
			cls[nk] = r;
			keys[nk++] = rpl_info[r].id;
		}
	keys[nk] = NULL;
	check_keys(c, m, p, keys);
	for (int i = 0; i < nk; i++) {
		ynode *v = yget(m, keys[i]);
		char q[PATH_MAX_LEN];
		if (!v)
			continue;
		pjoin(q, p, keys[i]);
		parse_reply(c, v, q, &l->reply[cls[i]]);
	}
}

/* message_rate_limit: N (per message_rate_window) or N/UNIT, e.g. 30/min. */
static void parse_message_rate_limit(ctx *c, const ynode *n, const char *p, scn_window_count *w)
{
	if (n->type == Y_SCALAR && strchr(n->str, '/')) {
		char num[64], msg[300];
		const char *slash = strchr(n->str, '/');
		size_t nl = (size_t)(slash - n->str);
		int64_t v, win;
		char den[80];
		if (nl >= sizeof num)
			nl = sizeof num - 1;
		memcpy(num, n->str, nl);
		num[nl] = '\0';
		const char *d = slash + 1;
		while (*d == ' ')
			d++;
		snprintf(den, sizeof den, "%s%s", isalpha((unsigned char)*d) ? "1" : "", d);
		if (unit_parse_count(num, &v, msg, sizeof msg) ||
		    unit_parse_duration(den, &win, msg, sizeof msg) || win <= 0) {
			err_node(c, n, p, "'%s' is not a message rate limit (write e.g. 30 or 30/min)", n->str);
			return;
		}
		w->limit = v;
		w->window_ns = win;
		return;
	}
	if (n->type == Y_SCALAR && (!strcmp(n->str, "off") || !strcmp(n->str, "none"))) {
		w->limit = 0;
		return;
	}
	val_i64(c, n, p, unit_parse_count, "a whole number or a rate such as 30/min", &w->limit);
}

/* Apply a limits mapping (preset first, then overrides) to *l. */
static void parse_limits(ctx *c, const ynode *n, const char *path, scn_limits *l)
{
	const ynode *m = want_map(c, n, path);
	char p[PATH_MAX_LEN];
	int e;
	int64_t v;
	if (!m)
		return;
	check_keys(c, m, path, limit_keys);
	ynode *pn = yget(m, "preset");
	if (pn) {
		pjoin(p, path, "preset");
		val_preset(c, pn, p, l);
	}
	opt_bool(c, m, "smtp_auth", path, &l->smtp_auth);
	opt_bool(c, m, "saves_sent_items", path, &l->saves_sent_items);
	opt_dur(c, m, "auth_fail_tarpit", path, &l->auth_fail_tarpit_ns);
	opt_limit(c, m, "max_concurrent_connections", path, &l->connections.limit);
	if ((e = opt_enum(c, m, "concurrency_counts", path, counts_names)) >= 0)
		l->connections.counts = e;
	if ((e = opt_enum(c, m, "concurrency_scope", path, scope_names)) >= 0)
		l->connections.scope = (scn_scope)e;
	ynode *mr = yget(m, "message_rate_limit");
	if (mr) {
		pjoin(p, path, "message_rate_limit");
		parse_message_rate_limit(c, mr, p, &l->message_rate);
	}
	if (opt_dur(c, m, "message_rate_window", path, &v)) {
		if (v <= 0) {
			pjoin(p, path, "message_rate_window");
			err_node(c, yget(m, "message_rate_window"), p, "must be longer than 0");
		} else
			l->message_rate.window_ns = v;
	}
	if ((e = opt_enum(c, m, "message_rate_mode", path, mode_names)) >= 0)
		l->message_rate.mode = (scn_rate_mode)e;
	if ((e = opt_enum(c, m, "message_rate_scope", path, scope_names)) >= 0)
		l->message_rate.scope = (scn_scope)e;
	opt_limit(c, m, "recipient_rate_limit", path, &l->recipient_rate.limit);
	if (opt_dur(c, m, "recipient_rate_window", path, &v)) {
		if (v <= 0) {
			pjoin(p, path, "recipient_rate_window");
			err_node(c, yget(m, "recipient_rate_window"), p, "must be longer than 0");
		} else
			l->recipient_rate.window_ns = v;
	}
	if ((e = opt_enum(c, m, "recipient_rate_scope", path, scope_names)) >= 0)
		l->recipient_rate.scope = (scn_scope)e;
	opt_limit(c, m, "max_recipients_per_message", path, &l->max_recipients_per_message);
	ynode *ms = yget(m, "max_message_size");
	if (ms && ms->type == Y_SCALAR && (!strcmp(ms->str, "off") || !strcmp(ms->str, "none")))
		l->max_message_size = 0;
	else
		opt_size(c, m, "max_message_size", path, &l->max_message_size);
	ynode *et = yget(m, "error_throttle");
	if (et) {
		pjoin(p, path, "error_throttle");
		parse_error_throttle(c, et, p, l);
	}
	ynode *rp = yget(m, "replies");
	if (rp) {
		pjoin(p, path, "replies");
		parse_replies(c, rp, p, l);
	}
}

static void resolve_tenant_limit(scn_limits *l, int64_t tenant_limit)
{
	if (l->external_rate.limit == PRESET_FOLLOW_TENANT)
		l->external_rate.limit = tenant_limit;
}

/* ---- distributions ----------------------------------------------------------- */

typedef enum vkind { V_COUNT, V_SIZE, V_REAL } vkind;

static const char *const dist_keys[] = { "uniform", "poisson1", "geometric", "lognormal", "empirical", NULL };

static bool dist_value(ctx *c, const ynode *n, const char *p, vkind k, double *out)
{
	int64_t i;
	switch (k) {
	case V_COUNT:
		if (!val_i64(c, n, p, unit_parse_count, "a whole number", &i))
			return false;
		if (i < 1) {
			err_node(c, n, p, "must be at least 1, got %lld", (long long)i);
			return false;
		}
		if (i > (1LL << 40)) {
			err_node(c, n, p, "%lld exceeds the bound of 2^40", (long long)i);
			return false;
		}
		*out = (double)i;
		return true;
	case V_SIZE:
		if (!val_i64(c, n, p, unit_parse_size, "a size (e.g. 400KB)", &i))
			return false;
		*out = (double)i;
		return true;
	case V_REAL:
		return val_dbl(c, n, p, unit_parse_real, "a number", out);
	}
	return false;
}

static void parse_dist(ctx *c, const ynode *n, const char *path, vkind k, scn_dist *d)
{
	char p[PATH_MAX_LEN];
	if (n->type == Y_SCALAR) {
		double v;
		if (dist_value(c, n, path, k, &v)) {
			d->kind = DIST_FIXED;
			d->a = v;
		}
		return;
	}
	if (n->type != Y_MAP || n->n != 1) {
		err_node(c, n, path, "expected a value or one of {uniform: [a, b]}, {poisson1: MEAN}, "
			 "{geometric: MEAN}, {lognormal: {median, sigma}}, {empirical: [[value, weight], ...]}");
		return;
	}
	check_keys(c, n, path, dist_keys);
	const char *kind = n->items[0].key;
	const ynode *v = n->items[0].val;
	pjoin(p, path, kind);
	if (!strcmp(kind, "uniform")) {
		double a, b;
		if (v->type != Y_SEQ || v->n != 2) {
			err_node(c, v, p, "expected a list [low, high]");
			return;
		}
		if (!dist_value(c, v->items[0].val, p, k, &a) || !dist_value(c, v->items[1].val, p, k, &b))
			return;
		if (a > b) {
			err_node(c, v, p, "low is above high");
			return;
		}
		d->kind = DIST_UNIFORM_INT;
		d->a = a;
		d->b = b;
	} else if (!strcmp(kind, "poisson1") || !strcmp(kind, "geometric")) {
		double mean;
		if (k != V_COUNT) {
			err_node(c, v, p, "%s applies to counts only", kind);
			return;
		}
		if (!val_dbl(c, v, p, unit_parse_real, "a mean", &mean))
			return;
		if (!(mean >= 1) || mean > 1e9) {
			err_node(c, v, p, "the mean must be in [1, 10^9], got %g", mean);
			return;
		}
		d->kind = kind[0] == 'p' ? DIST_POISSON1 : DIST_GEOMETRIC;
		d->a = kind[0] == 'p' ? mean - 1 : mean;
	} else if (!strcmp(kind, "lognormal")) {
		static const char *const ln_keys[] = { "median", "sigma", NULL };
		const ynode *m = want_map(c, v, p);
		double med = 0, sigma = 0;
		if (!m)
			return;
		check_keys(c, m, p, ln_keys);
		ynode *mn = yget(m, "median"), *sn = yget(m, "sigma");
		char q[PATH_MAX_LEN];
		if (!mn || !sn) {
			err_node(c, m, p, "needs both median and sigma");
			return;
		}
		pjoin(q, p, "median");
		if (!dist_value(c, mn, q, k == V_SIZE ? V_SIZE : V_REAL, &med))
			return;
		pjoin(q, p, "sigma");
		if (!val_dbl(c, sn, q, unit_parse_real, "a number", &sigma))
			return;
		if (!(med > 0)) {
			pjoin(q, p, "median");
			err_node(c, mn, q, "must be positive");
			return;
		}
		if (!(sigma >= 0) || sigma > 10) {
			err_node(c, sn, q, "must be in [0, 10], got %g", sigma);
			return;
		}
		d->kind = DIST_LOGNORMAL;
		d->a = med;
		d->b = sigma;
	} else if (!strcmp(kind, "empirical")) {
		if (v->type != Y_SEQ || v->n == 0) {
			err_node(c, v, p, "expected a list of [value, weight] pairs");
			return;
		}
		double *vals = xalloc(c, v->n * sizeof *vals), *ws = xalloc(c, v->n * sizeof *ws);
		double total = 0;
		bool ok = vals && ws;
		for (size_t i = 0; ok && i < v->n; i++) {
			const ynode *it = v->items[i].val;
			if (it->type != Y_SEQ || it->n != 2) {
				err_node(c, it, p, "expected a pair [value, weight]");
				ok = false;
				break;
			}
			if (!dist_value(c, it->items[0].val, p, k, &vals[i]) ||
			    !val_dbl(c, it->items[1].val, p, unit_parse_real, "a weight", &ws[i])) {
				ok = false;
				break;
			}
			if (!(ws[i] >= 0)) {
				err_node(c, it->items[1].val, p, "a weight must not be negative");
				ok = false;
				break;
			}
			total += ws[i];
		}
		if (ok && !(total > 0)) {
			err_node(c, v, p, "the weights sum to 0");
			ok = false;
		}
		if (!ok) {
			sim_free(c->a, vals, v->n * sizeof *vals);
			sim_free(c->a, ws, v->n * sizeof *ws);
			return;
		}
		sim_free(c->a, d->values, d->n * sizeof *d->values);
		sim_free(c->a, d->weights, d->n * sizeof *d->weights);
		d->kind = DIST_EMPIRICAL;
		d->n = v->n;
		d->values = vals;
		d->weights = ws;
	}
}

/* ---- arrivals ---------------------------------------------------------------- */

static const char *const day_names[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun", NULL };
static const char *const day_long[] = { "monday", "tuesday", "wednesday", "thursday", "friday",
					"saturday", "sunday", NULL };

static int day_index(const char *s)
{
	for (int i = 0; day_names[i]; i++) {
		size_t n = strlen(s);
		if (n >= 3 && n <= strlen(day_long[i]) && !strncmp(s, day_long[i], n) &&
		    !strncmp(s, day_names[i], 3))
			return i;
	}
	return -1;
}

/* "08" or "10-16" (inclusive); 0 and sets *lo, *hi, or -1. */
static int hour_range(const char *s, int *lo, int *hi)
{
	char *end;
	errno = 0;
	long a = strtol(s, &end, 10), b = a;
	if (end == s || a < 0 || a > 23)
		return -1;
	if (*end == '-') {
		const char *q = end + 1;
		b = strtol(q, &end, 10);
		if (end == q || b < a || b > 23)
			return -1;
	}
	if (*end)
		return -1;
	*lo = (int)a;
	*hi = (int)b;
	return 0;
}

static void parse_profile(ctx *c, const ynode *n, const char *path, scn_arrivals *ar)
{
	static const char *const keys[] = { "hours", "days", NULL };
	const ynode *m = want_map(c, n, path);
	char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
	if (!m)
		return;
	check_keys(c, m, path, keys);
	ar->has_profile = true;
	for (int h = 0; h < 24; h++)
		ar->hour[h] = 1;
	for (int d = 0; d < 7; d++)
		ar->day[d] = 1;
	const ynode *hn = yget(m, "hours");
	pjoin(p, path, "hours");
	if (hn && (hn = want_map(c, hn, p))) {
		for (int h = 0; h < 24; h++)
			ar->hour[h] = 0; /* hours not listed: no arrivals */
		for (size_t i = 0; i < hn->n; i++) {
			int lo, hi;
			double v;
			pjoin(q, p, hn->items[i].key);
			if (hour_range(hn->items[i].key, &lo, &hi)) {
				err_at(c, hn->items[i].line, hn->items[i].col, q,
				       "'%s' is not an hour (00-23) or a range of hours (10-16)", hn->items[i].key);
				continue;
			}
			if (!val_dbl(c, hn->items[i].val, q, unit_parse_real, "a rate multiplier", &v))
				continue;
			if (!(v >= 0) || v > 1e6) {
				err_node(c, hn->items[i].val, q, "a multiplier must be in [0, 10^6], got %g", v);
				continue;
			}
			for (int h = lo; h <= hi; h++)
				ar->hour[h] = v;
		}
	}
	const ynode *dn = yget(m, "days");
	pjoin(p, path, "days");
	if (dn && dn->type == Y_SEQ) {
		for (int d = 0; d < 7; d++)
			ar->day[d] = 0;
		for (size_t i = 0; i < dn->n; i++) {
			const ynode *it = dn->items[i].val;
			int d;
			if (!want_scalar(c, it, p, "a day name (mon..sun)"))
				continue;
			if ((d = day_index(it->str)) < 0) {
				const char *sug = nearest_of(it->str, day_names);
				if (sug)
					err_node(c, it, p, "unknown day '%s' (did you mean '%s'?)", it->str, sug);
				else
					err_node(c, it, p, "unknown day '%s' (expected mon, tue, wed, thu, fri, sat or sun)", it->str);
				continue;
			}
			ar->day[d] = 1;
		}
	} else if (dn && (dn = want_map(c, dn, p))) {
		for (int d = 0; d < 7; d++)
			ar->day[d] = 0;
		for (size_t i = 0; i < dn->n; i++) {
			int d;
			double v;
			pjoin(q, p, dn->items[i].key);
			if ((d = day_index(dn->items[i].key)) < 0) {
				err_at(c, dn->items[i].line, dn->items[i].col, q,
				       "unknown day '%s' (expected mon, tue, wed, thu, fri, sat or sun)", dn->items[i].key);
				continue;
			}
			if (!val_dbl(c, dn->items[i].val, q, unit_parse_real, "a rate multiplier", &v))
				continue;
			if (!(v >= 0) || v > 1e6) {
				err_node(c, dn->items[i].val, q, "a multiplier must be in [0, 10^6], got %g", v);
				continue;
			}
			ar->day[d] = v;
		}
	}
	double hmax = 0, dmax = 0;
	for (int h = 0; h < 24; h++)
		if (ar->hour[h] > hmax)
			hmax = ar->hour[h];
	for (int d = 0; d < 7; d++)
		if (ar->day[d] > dmax)
			dmax = ar->day[d];
	ar->profile_max = hmax * dmax;
	if (!(ar->profile_max > 0))
		err_node(c, m, path, "the profile is zero at every hour: no message would arrive");
}

/* ---- traces ------------------------------------------------------------------ */

/* Sender labels of a trace, with an open-addressing hash of them (slot =
 * index + 1, 0 = empty; at most half full), so that a trace of R rows and
 * L distinct senders reads in O(R) expected time rather than O(R x L). */
typedef struct trace_labels {
	char **v;
	size_t n, cap;
	uint32_t *slot;
	size_t nslot;   /* a power of two, or 0 */
} trace_labels;

static void labels_free(ctx *c, trace_labels *l)
{
	for (size_t i = 0; i < l->n; i++)
		sim_free(c->a, l->v[i], strlen(l->v[i]) + 1);
	sim_free(c->a, l->v, l->cap * sizeof *l->v);
	sim_free(c->a, l->slot, l->nslot * sizeof *l->slot);
}

static uint64_t label_hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static bool labels_rehash(ctx *c, trace_labels *l, size_t nslot)
{
	uint32_t *t = xalloc(c, nslot * sizeof *t);
	if (!t)
		return false;
	for (size_t i = 0; i < l->n; i++) {
		size_t k = label_hash(l->v[i], strlen(l->v[i])) & (nslot - 1);
		while (t[k])
			k = (k + 1) & (nslot - 1);
		t[k] = (uint32_t)(i + 1);
	}
	sim_free(c->a, l->slot, l->nslot * sizeof *l->slot);
	l->slot = t;
	l->nslot = nslot;
	return true;
}

/* The instance of a label, adding it if new; -1 on allocation failure. */
static int64_t label_index(ctx *c, trace_labels *l, const char *s, size_t len)
{
	size_t k = 0;
	if (l->nslot) {
		k = label_hash(s, len) & (l->nslot - 1);
		for (; l->slot[k]; k = (k + 1) & (l->nslot - 1)) {
			const char *t = l->v[l->slot[k] - 1];
			if (strlen(t) == len && !memcmp(t, s, len))
				return (int64_t)l->slot[k] - 1;
		}
	}
	if (2 * (l->n + 1) > l->nslot) {
		if (!labels_rehash(c, l, l->nslot ? 2 * l->nslot : 64))
			return -1;
		k = label_hash(s, len) & (l->nslot - 1);
		while (l->slot[k])
			k = (k + 1) & (l->nslot - 1);
	}
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 16;
		char **v = sim_realloc(c->a, l->v, l->cap * sizeof *v, nc * sizeof *v);
		if (!v) {
			c->nomem = true;
			return -1;
		}
		l->v = v;
		l->cap = nc;
	}
	char *d = xstrndup(c, s, len);
	if (!d)
		return -1;
	l->v[l->n] = d;
	l->slot[k] = (uint32_t)(l->n + 1);
	return (int64_t)l->n++;
}

static void merge_sort_rows(scn_trace_row *v, scn_trace_row *tmp, size_t n)
{
	for (size_t w = 1; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
			size_t i = lo, j = mid, k = lo;
			while (i < mid && j < hi)
				tmp[k++] = v[j].time_ns < v[i].time_ns ? v[j++] : v[i++];
			while (i < mid)
				tmp[k++] = v[i++];
			while (j < hi)
				tmp[k++] = v[j++];
		}
		memcpy(v, tmp, n * sizeof *v);
		if (w > n / 2)
			break; /* w *= 2 would overflow for n near SIZE_MAX; the last pass is done */
	}
}

#define TRACE_MAX_BAD_ROWS 10

/* Where the rows come from: a file (read as it goes, so a large trace is
 * never held twice) or a text in memory. */
typedef struct line_src {
	FILE *f;
	const char *p, *end;
} line_src;

/* fgets() for either source, but returning the number of bytes read (a
 * NUL byte is read like any other); 0 at the end. */
static size_t src_gets(line_src *src, char *buf, size_t size)
{
	size_t n = 0;
	if (src->f) {
		int ch;
		while (n + 1 < size && (ch = getc(src->f)) != EOF) {
			buf[n++] = (char)ch;
			if (ch == '\n')
				break;
		}
	} else {
		while (n + 1 < size && src->p < src->end) {
			char ch = *src->p++;
			buf[n++] = ch;
			if (ch == '\n')
				break;
		}
	}
	buf[n] = '\0';
	return n;
}

static void src_skip_line(line_src *src)
{
	if (src->f) {
		int ch;
		while ((ch = getc(src->f)) != EOF && ch != '\n')
			;
	} else {
		const char *nl = memchr(src->p, '\n', (size_t)(src->end - src->p));
		src->p = nl ? nl + 1 : src->end;
	}
}

__attribute__((format(printf, 5, 6)))
static void trace_err(ctx *c, const ynode *n, const char *path, const char *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n)
		push_error(c, c->file, n->line, n->col, p, msg);
	else
		push_error(c, path, 0, 0, p, msg);
}

/* Read the rows of a trace CSV: header, then time,sender,recipients,size
 * [,external].  Row problems are reported at the trace file's line and
 * column, problems of the whole file at n (the `trace:` node; or, if n is
 * NULL, at the trace file without a position).  On success *rows (sorted
 * by time, stably; exactly *nrows long, allocated with c->a) and
 * *nlabels (distinct senders) are set and true is returned. */
static bool trace_read_rows(ctx *c, line_src *src, const ynode *n, const char *path, const char *p,
			    int64_t start_unix_s, scn_trace_row **rows_out, size_t *nrows_out, size_t *nlabels)
{
	scn_trace_row *rows = NULL;
	size_t nrows = 0, cap = 0;
	trace_labels labels = { 0 };
	char line[1024];
	int lineno = 0, bad = 0;
	bool header = false;
	size_t len;
	while ((len = src_gets(src, line, sizeof line)) > 0) {
		if (lineno == INT32_MAX) {
			err_file(c, path, lineno, 1, p, "more than %d lines", INT32_MAX);
			bad++;
			break;
		}
		lineno++;
		if (len == sizeof line - 1 && line[len - 1] != '\n') {
			err_file(c, path, lineno, 1, p, "row %d: line longer than %zu characters", lineno - 1, sizeof line - 2);
			bad++;
			src_skip_line(src);
			if (bad > TRACE_MAX_BAD_ROWS)
				break;
			continue;
		}
		if (memchr(line, '\0', len)) {
			err_file(c, path, lineno, (int)strlen(line) + 1, p, "row %d: a NUL byte: not a text file", lineno - 1);
			bad++;
			if (bad > TRACE_MAX_BAD_ROWS)
				break;
			continue;
		}
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		const char *t = line;
		while (*t == ' ' || *t == '\t')
			t++;
		if (!*t || *t == '#')
			continue;
		/* split into at most 6 fields, remembering each one's column */
		char *fld[6];
		int fcol[6], nf = 0;
		char *q = line;
		for (;;) {
			while (*q == ' ' || *q == '\t')
				q++;
			if (nf < 6) {
				fld[nf] = q;
				fcol[nf] = (int)(q - line) + 1;
			}
			nf++;
			char *comma = strchr(q, ',');
			char *end = comma ? comma : q + strlen(q);
			char *e = end;
			while (e > q && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			*e = '\0';
			if (!comma)
				break;
			q = comma + 1;
		}
		if (!header) {
			header = true;
			if (nf < 4 || nf > 5 || strcmp(fld[0], "time") || strcmp(fld[1], "sender") ||
			    strcmp(fld[2], "recipients") || strcmp(fld[3], "size") ||
			    (nf == 5 && strcmp(fld[4], "external"))) {
				err_file(c, path, lineno, 1, p,
					 "the first row must be the header time,sender,recipients,size[,external]");
				bad = TRACE_MAX_BAD_ROWS + 1;
				break;
			}
			continue;
		}
		int row = lineno - 1;
		if (bad > TRACE_MAX_BAD_ROWS)
			break;
		if (nf < 4 || nf > 5) {
			err_file(c, path, lineno, 1, p, "row %d: expected 4 or 5 fields, got %d", row, nf);
			bad++;
			continue;
		}
		scn_trace_row r = { 0 };
		char msg[300];
		bool ok = true;
		if (strchr(fld[0], '-') && strchr(fld[0], ':')) {
			int64_t ts;
			if (unit_parse_timestamp(fld[0], &ts, msg, sizeof msg)) {
				err_file(c, path, lineno, fcol[0], p, "row %d: %s", row, msg);
				ok = false;
			} else if (ts < start_unix_s) {
				err_file(c, path, lineno, fcol[0], p, "row %d: time '%s' is before the scenario's start", row, fld[0]);
				ok = false;
			} else if (ts - start_unix_s > UNIT_MAX_DURATION_NS / UNIT_NS_PER_S) {
				err_file(c, path, lineno, fcol[0], p, "row %d: time '%s' is more than 100 years after the start", row, fld[0]);
				ok = false;
			} else
				r.time_ns = (ts - start_unix_s) * UNIT_NS_PER_S;
		} else if (unit_parse_duration(fld[0], &r.time_ns, msg, sizeof msg)) {
			err_file(c, path, lineno, fcol[0], p, "row %d: time: %s", row, msg);
			ok = false;
		}
		if (!fld[1][0]) {
			err_file(c, path, lineno, fcol[1], p, "row %d: the sender is empty", row);
			ok = false;
		}
		if (unit_parse_count(fld[2], &r.recipients, msg, sizeof msg) || r.recipients < 1) {
			err_file(c, path, lineno, fcol[2], p, "row %d: recipients must be a whole number >= 1, got '%s'", row, fld[2]);
			ok = false;
		}
		if (unit_parse_size(fld[3], &r.size_bytes, msg, sizeof msg)) {
			err_file(c, path, lineno, fcol[3], p, "row %d: size: %s", row, msg);
			ok = false;
		}
		if (nf == 5 && fld[4][0]) {
			if (unit_parse_count(fld[4], &r.external, msg, sizeof msg)) {
				err_file(c, path, lineno, fcol[4], p, "row %d: external must be a whole number, got '%s'", row, fld[4]);
				ok = false;
			} else if (ok && r.external > r.recipients) {
				err_file(c, path, lineno, fcol[4], p, "row %d: external (%lld) exceeds recipients (%lld)",
					 row, (long long)r.external, (long long)r.recipients);
				ok = false;
			}
		}
		if (!ok) {
			bad++;
			continue;
		}
		if (nrows == cap) {
			size_t nc = cap ? cap * 2 : 64;
			/* the rows, and the copy the sort needs, within the load's memory bound */
			if ((nrows + 1) * 2 * sizeof *rows > SCN_MAX_LOAD_BYTES - c->load_bytes) {
				trace_err(c, n, path, p, "trace file '%s' has more rows than the loader's memory bound of "
					  "1 GiB allows (%zu rows so far)", path, nrows);
				c->over_budget = true;
				bad++;
				break;
			}
			if (nc * 2 * sizeof *rows > SCN_MAX_LOAD_BYTES - c->load_bytes)
				nc = (SCN_MAX_LOAD_BYTES - c->load_bytes) / (2 * sizeof *rows);
			scn_trace_row *v = sim_realloc(c->a, rows, cap * sizeof *v, nc * sizeof *v);
			if (!v) {
				c->nomem = true;
				break;
			}
			rows = v;
			cap = nc;
		}
		r.instance = label_index(c, &labels, fld[1], strlen(fld[1]));
		if (r.instance < 0)
			break;
		rows[nrows++] = r;
	}
	if (src->f && ferror(src->f)) {
		trace_err(c, n, path, p, "error reading trace file '%s'", path);
		bad++;
	}
	if (!header && !bad && !c->nomem) {
		trace_err(c, n, path, p, "trace file '%s' is empty (expected a header time,sender,recipients,size[,external])", path);
		bad++;
	} else if (!nrows && !bad && !c->nomem) {
		trace_err(c, n, path, p, "trace file '%s' has no rows", path);
		bad++;
	}
	*nlabels = labels.n;
	labels_free(c, &labels);
	if (bad || c->nomem) {
		sim_free(c->a, rows, cap * sizeof *rows);
		return false;
	}
	scn_trace_row *tmp = sim_malloc(c->a, nrows * sizeof *tmp);
	if (!tmp) {
		c->nomem = true;
		sim_free(c->a, rows, cap * sizeof *rows);
		return false;
	}
	merge_sort_rows(rows, tmp, nrows);
	sim_free(c->a, tmp, nrows * sizeof *tmp);
	/* shrink to fit, so that scn_free knows the size from trace_len */
	scn_trace_row *fit = sim_realloc(c->a, rows, cap * sizeof *rows, nrows * sizeof *rows);
	if (!fit) { /* cannot happen for a shrink with a sane allocator */
		c->nomem = true;
		sim_free(c->a, rows, cap * sizeof *rows);
		return false;
	}
	c->load_bytes += nrows * sizeof *rows;
	*rows_out = fit;
	*nrows_out = nrows;
	return true;
}

int scn_trace_parse(const char *name, const char *text, size_t len, int64_t start_unix_s,
		    const sim_alloc *a, scn_trace_row **rows, size_t *nrows, size_t *nsenders,
		    scn_errors *errs)
{
	ctx c = { 0 };
	c.a = a;
	c.errs = errs;
	c.file = name;
	c.dir = "";
	line_src src = { NULL, text, text + len };
	scn_trace_row *r = NULL;
	size_t nr = 0, nl = 0;
	if (!trace_read_rows(&c, &src, NULL, name, "", start_unix_s, &r, &nr, &nl))
		return c.nomem ? SIM_ENOMEM : SIM_ESCENARIO;
	*rows = r;
	*nrows = nr;
	if (nsenders)
		*nsenders = nl;
	return 0;
}

/* The trace file of n for sender snd of s. */
static void read_trace(ctx *c, const ynode *n, const char *p, const scenario *s, scn_sender *snd,
		       bool count_given)
{
	scn_arrivals *ar = &snd->arrivals;
	char path[512];
	if (!want_scalar(c, n, p, "a file name"))
		return;
	if (n->str[0] == '/')
		snprintf(path, sizeof path, "%s", n->str);
	else if (snprintf(path, sizeof path, "%s%s", c->dir, n->str) >= (int)sizeof path) {
		err_node(c, n, p, "trace path too long");
		return;
	}
	snprintf(ar->trace_file, sizeof ar->trace_file, "%s", path);
	FILE *f = fopen(path, "r");
	if (!f) {
		err_node(c, n, p, "cannot open trace file '%s': %s", path, strerror(errno));
		return;
	}
	/* Only regular files: /dev/zero or a FIFO would never end. */
	struct stat st;
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
		err_node(c, n, p, "trace file '%s' is not a regular file", path);
		fclose(f);
		return;
	}
	line_src src = { f, NULL, NULL };
	scn_trace_row *rows = NULL;
	size_t nrows = 0, nlabels = 0;
	bool ok = trace_read_rows(c, &src, n, path, p, s->start_unix_s, &rows, &nrows, &nlabels);
	fclose(f);
	if (!ok)
		return;
	if (count_given && (int64_t)nlabels > snd->count)
		err_node(c, n, p, "trace file '%s' names %zu senders, more than count (%lld)",
			 path, nlabels, (long long)snd->count);
	else if (!count_given)
		snd->count = (int64_t)nlabels;
	ar->trace = rows;
	ar->trace_len = nrows;
}

static const char *const arrival_keys[] = { "poisson", "periodic", "jitter", "bursts", "trace", "profile", NULL };
static const char *const burst_keys[] = { "rate", "size", "spacing", NULL };

static void parse_arrivals(ctx *c, const ynode *n, const char *path, const scenario *s, scn_sender *snd,
			   bool count_given)
{
	scn_arrivals *ar = &snd->arrivals;
	char p[PATH_MAX_LEN];
	const ynode *m = want_map(c, n, path);
	if (!m) {
		if (!n || n->type == Y_NULL)
			err_at(c, n ? n->line : 0, n ? n->col : 0, path,
			       "needs one of poisson, periodic, bursts or trace");
		return;
	}
	check_keys(c, m, path, arrival_keys);
	int kinds = 0;
	const char *kind_keys[] = { "poisson", "periodic", "bursts", "trace" };
	for (int i = 0; i < 4; i++)
		kinds += yget(m, kind_keys[i]) != NULL;
	if (kinds != 1) {
		err_node(c, m, path, kinds ? "give only one of poisson, periodic, bursts or trace"
					   : "needs one of poisson, periodic, bursts or trace");
		return;
	}
	ynode *k;
	if (yget(m, "poisson")) {
		ar->kind = ARR_POISSON;
		opt_dbl(c, m, "poisson", path, unit_parse_rate, "a rate (e.g. 4/h)", &ar->rate_per_s);
	} else if ((k = yget(m, "periodic"))) {
		int64_t v;
		ar->kind = ARR_PERIODIC;
		if (opt_dur(c, m, "periodic", path, &v)) {
			if (v <= 0) {
				pjoin(p, path, "periodic");
				err_node(c, k, p, "the interval must be longer than 0");
			} else
				ar->interval_ns = v;
		}
	} else if ((k = yget(m, "bursts"))) {
		const ynode *b;
		ar->kind = ARR_BURSTS;
		pjoin(p, path, "bursts");
		if ((b = want_map(c, k, p))) {
			check_keys(c, b, p, burst_keys);
			if (!yget(b, "rate"))
				err_node(c, b, p, "needs a rate (bursts per unit of time, e.g. 2/d)");
			opt_dbl(c, b, "rate", p, unit_parse_rate, "a rate (e.g. 2/d)", &ar->rate_per_s);
			ynode *sz = yget(b, "size");
			char q[PATH_MAX_LEN];
			pjoin(q, p, "size");
			if (sz)
				parse_dist(c, sz, q, V_COUNT, &ar->burst_size);
			else
				err_node(c, b, p, "needs a size (messages per burst)");
			opt_dur(c, b, "spacing", p, &ar->spacing_ns);
		} else if (k->type == Y_NULL)
			err_node(c, k, p, "needs {rate, size, spacing}");
	} else {
		ar->kind = ARR_TRACE;
		pjoin(p, path, "trace");
		if (yget(m, "profile")) {
			char q[PATH_MAX_LEN];
			pjoin(q, path, "profile");
			err_node(c, yget(m, "profile"), q, "a trace is replayed as is: it takes no profile");
		}
		read_trace(c, yget(m, "trace"), p, s, snd, count_given);
	}
	ynode *j = yget(m, "jitter");
	if (j) {
		if (ar->kind != ARR_PERIODIC) {
			pjoin(p, path, "jitter");
			err_node(c, j, p, "jitter applies to periodic arrivals only");
		} else
			opt_dur(c, m, "jitter", path, &ar->jitter_ns);
	}
	ynode *pr = yget(m, "profile");
	if (pr && ar->kind != ARR_TRACE) {
		pjoin(p, path, "profile");
		parse_profile(c, pr, p, ar);
	}
}

/* ---- senders ------------------------------------------------------------------ */

static const char *const sender_keys[] = { "name", "count", "mailbox", "auth", "arrivals", "message",
	"faults", "session", "outbox_limit", "retry", "route", NULL };
static const char *const message_keys[] = { "recipients", "external", "size", "group_members", NULL };
static const char *const fault_keys[] = { "send_as_denied", "invalid_recipients", NULL };
static const char *const session_keys[] = { "connections", "messages_per_session", "idle_timeout",
	"connect_time", "submit_time", "bandwidth", NULL };
static const char *const retry_keys[] = { "policy", "base", "factor", "cap", "jitter", "max_attempts",
	"max_age", "honors_permanent", NULL };
static const char *const policy_names[] = { "fixed", "exponential", "mfp", "postfix", NULL };
static const char *const jitter_names[] = { "none", "full", "equal", "decorrelated", NULL };
static const char *const auth_names[] = { "basic", "oauth", NULL };
static const char *const assign_names[] = { "per_instance", "round_robin", "least_loaded", NULL };
static const char *const mbref_keys[] = { "pool", "assign", NULL };

static void sender_defaults(scn_sender *d)
{
	memset(d, 0, sizeof *d);
	d->count = 1;
	d->mailbox = -1;
	d->pool = -1;
	d->basic_auth = true;
	d->recipients.kind = DIST_FIXED;
	d->recipients.a = 1;
	d->size.kind = DIST_FIXED;
	d->size.a = 50 * 1024;
	d->connections = 1;
	d->messages_per_session = 1;
	d->connect_time_ns = 300 * 1000000LL;
	d->submit_time_ns = 200 * 1000000LL;
	d->retry.base_ns = 60 * SCN_NS_PER_S;
	d->retry.factor = 1;
	d->retry.jitter = JITTER_NONE;
	d->retry.max_attempts = 1;
	d->retry.honors_permanent = true;
}

static void retry_policy(scn_retry *r, int policy)
{
	switch (policy) {
	case 0: /* fixed */
		r->factor = 1;
		break;
	case 1: /* exponential */
		r->factor = 2;
		break;
	case 2: /* mfp: a multifunction device, three tries a minute apart (assumption) */
		r->base_ns = 60 * SCN_NS_PER_S;
		r->factor = 1;
		r->max_attempts = 3;
		break;
	case 3: /* postfix (PFX): 300 s doubling to 4000 s, 5 days */
		r->base_ns = 300 * SCN_NS_PER_S;
		r->factor = 2;
		r->cap_ns = 4000 * SCN_NS_PER_S;
		r->max_attempts = 0;
		r->max_age_ns = 5 * 86400 * SCN_NS_PER_S;
		break;
	}
}

static void parse_retry(ctx *c, const ynode *n, const char *path, scn_retry *r)
{
	char p[PATH_MAX_LEN];
	int e;
	if (n->type == Y_SCALAR) { /* retry: postfix */
		if ((e = val_enum(c, n, path, policy_names)) >= 0)
			retry_policy(r, e);
		return;
	}
	const ynode *m = want_map(c, n, path);
	if (!m)
		return;
	check_keys(c, m, path, retry_keys);
	int policy = 0;
	if ((e = opt_enum(c, m, "policy", path, policy_names)) >= 0)
		policy = e;
	retry_policy(r, policy);
	opt_dur(c, m, "base", path, &r->base_ns);
	ynode *f = yget(m, "factor");
	if (f) {
		double v;
		pjoin(p, path, "factor");
		if (policy == 0 || policy == 2)
			err_node(c, f, p, "factor applies to policy exponential only");
		else if (val_dbl(c, f, p, unit_parse_real, "a number", &v)) {
			if (!(v >= 1) || v > 1000)
				err_node(c, f, p, "must be in [1, 1000], got %g", v);
			else
				r->factor = v;
		}
	}
	opt_dur(c, m, "cap", path, &r->cap_ns);
	if ((e = opt_enum(c, m, "jitter", path, jitter_names)) >= 0)
		r->jitter = (scn_jitter)e;
	opt_count(c, m, "max_attempts", path, 0, 1000000000LL, "10^9", &r->max_attempts);
	opt_dur(c, m, "max_age", path, &r->max_age_ns);
	opt_bool(c, m, "honors_permanent", path, &r->honors_permanent);
	if (r->cap_ns && r->cap_ns < r->base_ns) {
		pjoin(p, path, yget(m, "cap") ? "cap" : "base");
		err_node(c, yget(m, "cap") ? yget(m, "cap") : m, p, "cap is below base");
	}
}

/* Resolve a name among mailboxes then pools; returns 1 mailbox, 2 pool, 0 none. */
static int find_mailbox(const scenario *s, const char *name, int *idx)
{
	for (size_t i = 0; i < s->n_mailboxes; i++)
		if (!strcmp(s->mailboxes[i].name, name)) {
			*idx = (int)i;
			return 1;
		}
	for (size_t i = 0; i < s->n_pools; i++)
		if (!strcmp(s->pools[i].name, name)) {
			*idx = (int)i;
			return 2;
		}
	return 0;
}

static void unknown_mailbox(ctx *c, const scenario *s, const ynode *n, const char *p, const char *name,
			    bool pool_only)
{
	nearest nr = { name, NULL, (size_t)-1 };
	/* at most 10^4 mailboxes per search and NEAR_MAX_WORK in a load (all
	 * variants): past that the message goes without a suggestion */
	for (size_t i = 0; !pool_only && i < s->n_mailboxes && i < 10000 && c->near_work < NEAR_MAX_WORK; i++, c->near_work++)
		near_try(&nr, s->mailboxes[i].name);
	for (size_t i = 0; i < s->n_pools; i++)
		near_try(&nr, s->pools[i].name);
	const char *sug = near_result(&nr);
	const char *what = pool_only ? "pool" : "mailbox or pool";
	if (sug)
		err_node(c, n, p, "no %s named '%s' (did you mean '%s'?)", what, name, sug);
	else
		err_node(c, n, p, "no %s named '%s' in mailboxes", what, name);
}

static void parse_mailbox_ref(ctx *c, const ynode *n, const char *p, const scenario *s, scn_sender *d)
{
	int idx, kind;
	if (n->type == Y_SCALAR) {
		kind = find_mailbox(s, n->str, &idx);
		if (kind == 1)
			d->mailbox = idx;
		else if (kind == 2) {
			d->pool = idx;
			d->assign = ASSIGN_PER_INSTANCE;
		} else
			unknown_mailbox(c, s, n, p, n->str, false);
		return;
	}
	const ynode *m = want_map(c, n, p);
	if (!m)
		return;
	check_keys(c, m, p, mbref_keys);
	ynode *pn = yget(m, "pool");
	char q[PATH_MAX_LEN];
	pjoin(q, p, "pool");
	if (!pn) {
		err_node(c, m, p, "expected a mailbox name or {pool: NAME, assign: per_instance|round_robin|least_loaded}");
		return;
	}
	if (!want_scalar(c, pn, q, "a pool name"))
		return;
	kind = find_mailbox(s, pn->str, &idx);
	if (kind != 2) {
		if (kind == 1)
			err_node(c, pn, q, "'%s' is a mailbox, not a pool", pn->str);
		else
			unknown_mailbox(c, s, pn, q, pn->str, true);
		return;
	}
	d->pool = idx;
	d->assign = ASSIGN_PER_INSTANCE;
	int e = opt_enum(c, m, "assign", p, assign_names);
	if (e >= 0)
		d->assign = (scn_assign)e;
}

static void parse_sender(ctx *c, const ynode *n, size_t index, const scenario *s, const ynode *mailboxes,
			 scn_sender *d)
{
	char path[PATH_MAX_LEN], p[PATH_MAX_LEN];
	const ynode *sub;
	sender_defaults(d);
	snprintf(path, sizeof path, "senders[%zu]", index);
	if (n->type != Y_MAP) {
		err_node(c, n, path, "a sender must be a mapping (name:, count:, mailbox:, arrivals:, ...)");
		return;
	}
	if (!yget(n, "name"))
		err_node(c, n, path, "a sender needs a name");
	else if (opt_name(c, n, "name", "senders", d->name))
		snprintf(path, sizeof path, "senders.%s", d->name);
	check_keys(c, n, path, sender_keys);
	bool count_given = opt_count(c, n, "count", path, 1, SCN_MAX_INSTANCES, "10^7", &d->count);
	ynode *mb = yget(n, "mailbox");
	pjoin(p, path, "mailbox");
	if (mb)
		parse_mailbox_ref(c, mb, p, s, d);
	else if (mailboxes && mailboxes->type == Y_SEQ && mailboxes->n == 1 && s->n_pools <= 1 &&
		 (s->n_pools == 1 || s->n_mailboxes == 1)) {
		if (s->n_pools == 1)
			d->pool = 0;
		else
			d->mailbox = 0;
	} else
		err_node(c, n, path, "a sender needs a mailbox (there is not exactly one mailbox to default to)");
	int e = opt_enum(c, n, "auth", path, auth_names);
	if (e >= 0)
		d->basic_auth = e == 0;
	pjoin(p, path, "arrivals");
	if (yget(n, "arrivals"))
		parse_arrivals(c, yget(n, "arrivals"), p, s, d, count_given);
	else
		err_node(c, n, path, "a sender needs arrivals (poisson, periodic, bursts or trace)");
	pjoin(p, path, "message");
	if ((sub = want_map(c, yget(n, "message"), p))) {
		char q[PATH_MAX_LEN];
		check_keys(c, sub, p, message_keys);
		ynode *v;
		pjoin(q, p, "recipients");
		if ((v = yget(sub, "recipients")))
			parse_dist(c, v, q, V_COUNT, &d->recipients);
		opt_prob(c, sub, "external", p, &d->external);
		pjoin(q, p, "size");
		if ((v = yget(sub, "size")))
			parse_dist(c, v, q, V_SIZE, &d->size);
		opt_count(c, sub, "group_members", p, 0, 1000000, "10^6", &d->group_members);
	}
	pjoin(p, path, "faults");
	if ((sub = want_map(c, yget(n, "faults"), p))) {
		check_keys(c, sub, p, fault_keys);
		bool a = opt_prob(c, sub, "send_as_denied", p, &d->p_send_as_denied);
		bool b = opt_prob(c, sub, "invalid_recipients", p, &d->p_invalid_recipients);
		if ((a || b) && d->p_send_as_denied + d->p_invalid_recipients > 1 + 1e-12)
			err_node(c, sub, p, "send_as_denied + invalid_recipients = %g, over 1",
				 d->p_send_as_denied + d->p_invalid_recipients);
	}
	pjoin(p, path, "session");
	if ((sub = want_map(c, yget(n, "session"), p))) {
		check_keys(c, sub, p, session_keys);
		opt_count(c, sub, "connections", p, 1, 100000, "10^5", &d->connections);
		opt_count(c, sub, "messages_per_session", p, 1, 1000000000LL, "10^9", &d->messages_per_session);
		opt_dur(c, sub, "idle_timeout", p, &d->idle_timeout_ns);
		opt_dur(c, sub, "connect_time", p, &d->connect_time_ns);
		opt_dur(c, sub, "submit_time", p, &d->submit_time_ns);
		ynode *bw = yget(sub, "bandwidth");
		if (bw && bw->type == Y_SCALAR && (!strcmp(bw->str, "off") || !strcmp(bw->str, "none")))
			d->bandwidth_bytes_per_s = 0;
		else if (opt_dbl(c, sub, "bandwidth", p, unit_parse_bandwidth, "a bandwidth (e.g. 10MB/s)",
				 &d->bandwidth_bytes_per_s) && !(d->bandwidth_bytes_per_s > 0)) {
			char q[PATH_MAX_LEN];
			pjoin(q, p, "bandwidth");
			err_node(c, bw, q, "must be positive (or off)");
		}
	}
	opt_limit(c, n, "outbox_limit", path, &d->outbox_limit);
	ynode *r = yget(n, "retry");
	if (r && r->type != Y_NULL) {
		pjoin(p, path, "retry");
		parse_retry(c, r, p, &d->retry);
	}
	ynode *rt = yget(n, "route");
	if (rt) {
		pjoin(p, path, "route");
		if (want_scalar(c, rt, p, "a route name")) {
			size_t i;
			for (i = 0; i < s->n_routes; i++)
				if (!strcmp(s->routes[i].name, rt->str))
					break;
			if (i < s->n_routes)
				d->route = (int)i;
			else {
				nearest nr = { rt->str, NULL, (size_t)-1 };
				for (size_t j = 0; j < s->n_routes; j++)
					near_try(&nr, s->routes[j].name);
				if (near_result(&nr))
					err_node(c, rt, p, "no route named '%s' (did you mean '%s'?)", rt->str, near_result(&nr));
				else
					err_node(c, rt, p, "no route named '%s' (define it under routes:)", rt->str);
			}
		}
	}
}

/* ---- mailboxes ---------------------------------------------------------------- */

static const char *const mailbox_keys[] = { "name", "smtp_client_auth_disabled", "quota", "size",
	"save_sent_items", "licensed", "limits", NULL };
static const char *const pool_keys[] = { "pool", "count", "name_pattern", "smtp_client_auth_disabled",
	"quota", "size", "save_sent_items", "licensed", "limits", NULL };

/* Fill the mailbox settings shared by single mailboxes and pools. */
static void parse_mailbox_settings(ctx *c, const ynode *m, const char *path, const scn_limits *base,
				   scn_mailbox *mb)
{
	mb->pool = -1;
	mb->smtp_client_auth_disabled = TRI_UNSET;
	mb->quota_bytes = 100LL << 30;
	mb->save_sent_items = true;
	mb->licensed = true;
	mb->limits = *base;
	ynode *ad = yget(m, "smtp_client_auth_disabled");
	if (ad && ad->type != Y_NULL) {
		bool v;
		if (opt_bool(c, m, "smtp_client_auth_disabled", path, &v))
			mb->smtp_client_auth_disabled = v ? TRI_TRUE : TRI_FALSE;
	}
	opt_size(c, m, "quota", path, &mb->quota_bytes);
	opt_size(c, m, "size", path, &mb->size_bytes);
	opt_bool(c, m, "save_sent_items", path, &mb->save_sent_items);
	opt_bool(c, m, "licensed", path, &mb->licensed);
	ynode *l = yget(m, "limits");
	if (l) {
		char p[PATH_MAX_LEN];
		pjoin(p, path, "limits");
		parse_limits(c, l, p, &mb->limits);
	}
}

static int cmp_name_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Expand "scanner{i}@x" with i; false if too long. */
static bool expand_pattern(const char *pat, int64_t i, char *out)
{
	size_t o = 0;
	for (const char *q = pat; *q; q++) {
		if (q[0] == '{' && q[1] == 'i' && q[2] == '}') {
			int w = snprintf(out + o, SCN_NAME_MAX - o, "%lld", (long long)i);
			if (w < 0 || o + (size_t)w >= SCN_NAME_MAX)
				return false;
			o += (size_t)w;
			q += 2;
		} else {
			if (o + 1 >= SCN_NAME_MAX)
				return false;
			out[o++] = *q;
		}
	}
	out[o] = '\0';
	return true;
}

static void parse_mailboxes(ctx *c, const ynode *n, scenario *s, const scn_limits *base)
{
	if (!n || n->type == Y_NULL)
		return;
	if (n->type != Y_SEQ) {
		err_node(c, n, "mailboxes", "expected a list of mailboxes and pools, got %s", ytype_name(n->type));
		return;
	}
	/* pass 1: count */
	int64_t total = 0;
	size_t npools = 0;
	bool ok = true;
	for (size_t i = 0; i < n->n; i++) {
		const ynode *it = n->items[i].val;
		char p[PATH_MAX_LEN];
		snprintf(p, sizeof p, "mailboxes[%zu]", i);
		if (it->type != Y_MAP) {
			err_node(c, it, p, "expected {name: ...} or {pool: NAME, count: N, name_pattern: ...}");
			ok = false;
			continue;
		}
		if (yget(it, "pool")) {
			int64_t k = 1;
			const ynode *pn = yget(it, "pool");
			if (pn->type == Y_SCALAR)
				snprintf(p, sizeof p, "mailboxes.%s", pn->str);
			if (!yget(it, "count")) {
				err_node(c, it, p, "a pool needs a count");
				ok = false;
			} else if (!opt_count(c, it, "count", p, 1, SCN_MAX_MAILBOXES, "10^6", &k))
				ok = false;
			total += k;
			npools++;
		} else {
			total++;
		}
	}
	if (total > SCN_MAX_MAILBOXES) {
		err_node(c, n, "mailboxes", "%lld mailboxes exceed the bound of 10^6", (long long)total);
		return;
	}
	if (!ok)
		return;
	if ((size_t)total * sizeof *s->mailboxes > SCN_MAX_LOAD_BYTES - c->load_bytes) {
		if (c->variant)
			err_node(c, n, "mailboxes", "%lld mailboxes, with the base's and earlier variants', exceed "
				 "the loader's memory bound of 1 GiB (about %zu mailboxes over the base and all variants)",
				 (long long)total, SCN_MAX_LOAD_BYTES / sizeof *s->mailboxes);
		else
			err_node(c, n, "mailboxes", "%lld mailboxes exceed the loader's memory bound of 1 GiB "
				 "(about %zu mailboxes)", (long long)total, SCN_MAX_LOAD_BYTES / sizeof *s->mailboxes);
		c->over_budget = true;
		return;
	}
	c->load_bytes += (size_t)total * sizeof *s->mailboxes;
	if (total) {
		s->mailboxes = xalloc(c, (size_t)total * sizeof *s->mailboxes);
		if (!s->mailboxes)
			return;
		s->n_mailboxes = (size_t)total;
	}
	if (npools) {
		s->pools = xalloc(c, npools * sizeof *s->pools);
		if (!s->pools)
			return;
		s->n_pools = npools;
	}
	/* pass 2: fill */
	size_t mi = 0, pi = 0;
	for (size_t i = 0; i < n->n; i++) {
		const ynode *it = n->items[i].val;
		char p[PATH_MAX_LEN];
		snprintf(p, sizeof p, "mailboxes[%zu]", i);
		if (yget(it, "pool")) {
			scn_pool *pool = &s->pools[pi];
			int64_t count = 0;
			char pat[SCN_NAME_MAX * 2];
			opt_name(c, it, "pool", p, pool->name);
			if (pool->name[0])
				snprintf(p, sizeof p, "mailboxes.%s", pool->name);
			check_keys(c, it, p, pool_keys);
			opt_count(c, it, "count", p, 1, SCN_MAX_MAILBOXES, "10^6", &count);
			snprintf(pat, sizeof pat, "%s{i}", pool->name);
			ynode *pt = yget(it, "name_pattern");
			if (pt) {
				char q[PATH_MAX_LEN];
				pjoin(q, p, "name_pattern");
				if (want_scalar(c, pt, q, "a pattern such as \"scanner{i}@contoso.com\"")) {
					if (!strstr(pt->str, "{i}") && count > 1)
						err_node(c, pt, q, "the pattern must contain {i} (the member number, 1..count)");
					snprintf(pat, sizeof pat, "%s", pt->str);
				}
			}
			pool->first = mi;
			pool->count = (size_t)count;
			scn_mailbox proto;
			memset(&proto, 0, sizeof proto);
			parse_mailbox_settings(c, it, p, base, &proto);
			for (int64_t k = 1; k <= count; k++) {
				scn_mailbox *mb = &s->mailboxes[mi++];
				*mb = proto;
				mb->pool = (int)pi;
				if (!expand_pattern(pat, k, mb->name)) {
					char q[PATH_MAX_LEN];
					pjoin(q, p, "name_pattern");
					err_node(c, pt ? pt : it, q, "expanded name longer than %d characters", SCN_NAME_MAX - 1);
					break;
				}
			}
			mi = pool->first + (size_t)count;
			pi++;
		} else {
			scn_mailbox *mb = &s->mailboxes[mi++];
			if (!yget(it, "name"))
				err_node(c, it, p, "a mailbox needs a name (or pool: for a pool)");
			else if (opt_name(c, it, "name", p, mb->name))
				snprintf(p, sizeof p, "mailboxes.%s", mb->name);
			check_keys(c, it, p, mailbox_keys);
			parse_mailbox_settings(c, it, p, base, mb);
		}
	}
	/* names are unique across mailboxes and pools */
	size_t nn = s->n_mailboxes + s->n_pools;
	const char **names = xalloc(c, nn * sizeof *names);
	if (!names)
		return;
	for (size_t i = 0; i < s->n_mailboxes; i++)
		names[i] = s->mailboxes[i].name;
	for (size_t i = 0; i < s->n_pools; i++)
		names[s->n_mailboxes + i] = s->pools[i].name;
	qsort(names, nn, sizeof *names, cmp_name_ptr);
	for (size_t i = 1; i < nn; i++)
		if (names[i][0] && !strcmp(names[i], names[i - 1])) {
			err_node(c, n, "mailboxes", "the name '%s' is used more than once", names[i]);
			while (i + 1 < nn && !strcmp(names[i + 1], names[i]))
				i++;
		}
	sim_free(c->a, names, nn * sizeof *names);
}

/* ---- the whole scenario ---------------------------------------------------- */

static const char *const top_keys[] = { "name", "description", "start", "duration", "seed",
	"replications", "series_step", "tenant", "mailboxes", "senders", "limits", "routes",
	"variants", "sweep", NULL };
static const char *const tenant_keys[] = { "smtp_client_auth_disabled", "basic_auth_enabled",
	"licenses", "external_recipient_limit", NULL };

static void parse_tenant(ctx *c, const ynode *n, scn_tenant *t)
{
	const ynode *m = want_map(c, n, "tenant");
	t->smtp_client_auth_disabled = false;
	t->basic_auth_enabled = true;
	t->licenses = 1;
	t->external_recipient_limit = 0;
	if (!m)
		return;
	check_keys(c, m, "tenant", tenant_keys);
	opt_bool(c, m, "smtp_client_auth_disabled", "tenant", &t->smtp_client_auth_disabled);
	opt_bool(c, m, "basic_auth_enabled", "tenant", &t->basic_auth_enabled);
	opt_count(c, m, "licenses", "tenant", 1, 100000000LL, "10^8", &t->licenses);
	ynode *e = yget(m, "external_recipient_limit");
	if (e) {
		if (e->type == Y_SCALAR && !strcmp(e->str, "auto"))
			/* TERRL: 500 x licenses^0.7 + 9,500, rounded */
			t->external_recipient_limit = (int64_t)floor(500.0 * pow((double)t->licenses, 0.7) + 9500.0 + 0.5);
		else
			opt_limit(c, m, "external_recipient_limit", "tenant", &t->external_recipient_limit);
	}
}

static void parse_routes(ctx *c, const ynode *n, scenario *s, const scn_limits *base)
{
	size_t count = 1;
	const ynode *m = want_map(c, n, "routes");
	if (m)
		count += m->n;
	s->routes = xalloc(c, count * sizeof *s->routes);
	if (!s->routes)
		return;
	s->n_routes = count;
	snprintf(s->routes[0].name, sizeof s->routes[0].name, "smtp_auth");
	s->routes[0].limits = *base;
	for (size_t i = 0; m && i < m->n; i++) {
		scn_route *r = &s->routes[i + 1];
		const char *name = m->items[i].key;
		char p[PATH_MAX_LEN];
		pjoin(p, "routes", name);
		if (strlen(name) >= SCN_NAME_MAX || !name[0] || !strcmp(name, "smtp_auth")) {
			err_at(c, m->items[i].line, m->items[i].col, p,
			       !strcmp(name, "smtp_auth") ? "smtp_auth is the default route: set its limits under limits:"
							  : "a route name must have 1 to 127 characters");
			continue;
		}
		snprintf(r->name, sizeof r->name, "%s", name);
		const ynode *rm = m->items[i].val;
		if (rm->type == Y_SCALAR) { /* name: preset */
			char q[PATH_MAX_LEN];
			pjoin(q, p, "preset");
			val_preset(c, rm, q, &r->limits);
			continue;
		}
		if (!(rm = want_map(c, rm, p)) || !yget(rm, "preset")) {
			err_at(c, m->items[i].line, m->items[i].col, p,
			       "a route needs a preset (external, relay-connector, direct-send, hve, exchange-server, exchange-online)");
			continue;
		}
		parse_limits(c, rm, p, &r->limits);
	}
}

/* Build one scenario from a tree.  Errors go to c; s is filled as far as
 * possible (free it with scn_free whatever happens). */
static void build(ctx *c, const ynode *root, scenario *s)
{
	ynode *n;
	check_keys(c, root, "", top_keys);
	if (!opt_name(c, root, "name", "", s->name) && !s->name[0])
		snprintf(s->name, sizeof s->name, "scenario");
	if ((n = yget(root, "description")) && want_scalar(c, n, "description", "a text")) {
		s->description = xstrndup(c, n->str, strlen(n->str));
	}
	s->start_unix_s = unit_days_from_civil(2026, 3, 2) * 86400; /* Monday 2026-03-02T00:00:00Z */
	opt_i64(c, root, "start", "", unit_parse_timestamp, "a timestamp (e.g. 2026-03-02T00:00:00Z)", &s->start_unix_s);
	s->duration_ns = 86400 * SCN_NS_PER_S;
	if (opt_dur(c, root, "duration", "", &s->duration_ns) && s->duration_ns <= 0)
		err_node(c, yget(root, "duration"), "duration", "must be longer than 0");
	int64_t seed = 1;
	opt_count(c, root, "seed", "", 0, INT64_MAX, "2^63 - 1", &seed);
	s->seed = (uint64_t)seed;
	s->replications = 1;
	opt_count(c, root, "replications", "", 1, SCN_MAX_REPLICATIONS, "10^6", &s->replications);
	s->series_step_ns = 60 * SCN_NS_PER_S;
	if (opt_dur(c, root, "series_step", "", &s->series_step_ns) && s->series_step_ns <= 0)
		err_node(c, yget(root, "series_step"), "series_step", "must be longer than 0");
	if (c->nomem)
		return;

	parse_tenant(c, yget(root, "tenant"), &s->tenant);
	scn_limits base;
	preset_fill("exchange-online", &base);
	if ((n = yget(root, "limits")))
		parse_limits(c, n, "limits", &base);
	parse_routes(c, yget(root, "routes"), s, &base);
	if (c->nomem)
		return;
	parse_mailboxes(c, yget(root, "mailboxes"), s, &base);
	if (c->nomem)
		return;
	for (size_t i = 0; i < s->n_mailboxes; i++)
		resolve_tenant_limit(&s->mailboxes[i].limits, s->tenant.external_recipient_limit);
	for (size_t i = 0; i < s->n_routes; i++)
		resolve_tenant_limit(&s->routes[i].limits, s->tenant.external_recipient_limit);

	const ynode *sn = yget(root, "senders");
	if (!sn || sn->type == Y_NULL) {
		err_at(c, sn ? sn->line : 1, sn ? sn->col : 1, "senders", "a scenario needs at least one sender");
		return;
	}
	if (sn->type != Y_SEQ || sn->n == 0) {
		err_node(c, sn, "senders", "expected a list of senders");
		return;
	}
	s->senders = xalloc(c, sn->n * sizeof *s->senders);
	if (!s->senders)
		return;
	s->n_senders = sn->n;
	int64_t total = 0;
	for (size_t i = 0; i < sn->n && !c->nomem; i++) {
		parse_sender(c, sn->items[i].val, i, s, yget(root, "mailboxes"), &s->senders[i]);
		for (size_t j = 0; j < i; j++)
			if (s->senders[i].name[0] && !strcmp(s->senders[i].name, s->senders[j].name)) {
				char p[PATH_MAX_LEN];
				pjoin(p, "senders", s->senders[i].name);
				err_node(c, sn->items[i].val, p, "the sender name '%s' is used more than once",
					 s->senders[i].name);
				break;
			}
		total += s->senders[i].count;
	}
	if (total > SCN_MAX_INSTANCES)
		err_node(c, sn, "senders", "%lld sender instances in all exceed the bound of 10^7", (long long)total);
}

/* ---- variants ------------------------------------------------------------------ */

static const char *const variant_keys[] = { "name", "description", "set", NULL };

/* The name of a list item (its name: or pool:), or NULL. */
static const char *item_name(const ynode *it)
{
	const ynode *n = yget(it, "name");
	if (!n || n->type != Y_SCALAR)
		n = yget(it, "pool");
	return n && n->type == Y_SCALAR ? n->str : NULL;
}

/* Apply one override (dotted path -> value) to the tree. */
static void apply_override(ctx *c, ynode *root, const ypair *ov)
{
	ynode *cur = root;
	const char *rest = ov->key;
	char walked[PATH_MAX_LEN] = "";
	for (;;) {
		if (cur->type == Y_NULL) {
			cur->type = Y_MAP; /* "tenant:" left empty: fill it */
			if (cur->str) {
				sim_free(c->a, cur->str, strlen(cur->str) + 1);
				cur->str = NULL;
			}
		}
		if (cur->type == Y_MAP) {
			const char *dot = strchr(rest, '.');
			size_t len = dot ? (size_t)(dot - rest) : strlen(rest);
			if (len == 0) {
				err_at(c, ov->line, ov->col, ov->key, "empty component in the path '%s'", ov->key);
				return;
			}
			ypair *pr = NULL;
			for (size_t i = 0; i < cur->n; i++)
				if (strlen(cur->items[i].key) == len && !memcmp(cur->items[i].key, rest, len))
					pr = &cur->items[i];
			char seg[PATH_MAX_LEN];
			snprintf(seg, sizeof seg, "%.*s", (int)len, rest);
			if (!dot) {
				ynode *v = ycopy(c, ov->val);
				if (!v)
					return;
				if (pr) {
					yfree(c->a, pr->val);
					pr->val = v;
				} else {
					char *k = xstrndup(c, rest, len);
					if (!k) {
						yfree(c->a, v);
						return;
					}
					yappend(c, cur, k, ov->line, ov->col, v);
				}
				return;
			}
			if (!pr) {
				ynode *m = ynew(c, Y_MAP, ov->line, ov->col);
				char *k = m ? xstrndup(c, rest, len) : NULL;
				if (!k) {
					yfree(c->a, m);
					return;
				}
				if (!yappend(c, cur, k, ov->line, ov->col, m))
					return;
				pr = &cur->items[cur->n - 1];
			}
			char w[PATH_MAX_LEN];
			pjoin(w, walked, seg);
			memcpy(walked, w, sizeof walked);
			cur = pr->val;
			rest = dot + 1;
			continue;
		}
		if (cur->type == Y_SEQ) {
			/* the longest run of whole components naming an item */
			size_t best = 0;
			ynode **slot = NULL;
			for (size_t i = 0; i < cur->n; i++) {
				const char *nm = item_name(cur->items[i].val);
				size_t l = nm ? strlen(nm) : 0;
				if (l && l > best && !strncmp(rest, nm, l) && (rest[l] == '\0' || rest[l] == '.')) {
					best = l;
					slot = &cur->items[i].val;
				}
			}
			if (!slot) {
				const char *dot = strchr(rest, '.');
				size_t len = dot ? (size_t)(dot - rest) : strlen(rest);
				char seg[PATH_MAX_LEN];
				snprintf(seg, sizeof seg, "%.*s", (int)len, rest);
				nearest nr = { seg, NULL, (size_t)-1 };
				for (size_t i = 0; i < cur->n; i++)
					if (item_name(cur->items[i].val))
						near_try(&nr, item_name(cur->items[i].val));
				if (near_result(&nr))
					err_at(c, ov->line, ov->col, ov->key, "no item named '%s' in %s (did you mean '%s'?)",
					       seg, walked, near_result(&nr));
				else
					err_at(c, ov->line, ov->col, ov->key, "no item named '%s' in %s", seg, walked);
				return;
			}
			if (rest[best] == '\0') {
				ynode *v = ycopy(c, ov->val);
				if (!v)
					return;
				yfree(c->a, *slot);
				*slot = v;
				return;
			}
			char w[PATH_MAX_LEN];
			if (snprintf(w, sizeof w, "%s.%.*s", walked, (int)best, rest) >= (int)sizeof w)
				w[sizeof w - 1] = '\0';
			memcpy(walked, w, sizeof walked);
			cur = *slot;
			rest += best + 1;
			continue;
		}
		err_at(c, ov->line, ov->col, ov->key, "cannot set '%s': '%s' is a single value, not a mapping",
		       ov->key, walked);
		return;
	}
}

/* ---- loading ------------------------------------------------------------------- */

void scn_free(scenario *s)
{
	if (!s)
		return;
	const sim_alloc a = s->alloc;
	if (s->description)
		sim_free(&a, s->description, strlen(s->description) + 1);
	if (s->source_text)
		sim_free(&a, s->source_text, strlen(s->source_text) + 1);
	sim_free(&a, s->mailboxes, s->n_mailboxes * sizeof *s->mailboxes);
	sim_free(&a, s->pools, s->n_pools * sizeof *s->pools);
	for (size_t i = 0; i < s->n_senders; i++) {
		scn_sender *d = &s->senders[i];
		scn_dist *ds[] = { &d->recipients, &d->size, &d->arrivals.burst_size };
		for (size_t k = 0; k < 3; k++) {
			sim_free(&a, ds[k]->values, ds[k]->n * sizeof *ds[k]->values);
			sim_free(&a, ds[k]->weights, ds[k]->n * sizeof *ds[k]->weights);
		}
		sim_free(&a, d->arrivals.trace, d->arrivals.trace_len * sizeof *d->arrivals.trace);
	}
	sim_free(&a, s->senders, s->n_senders * sizeof *s->senders);
	sim_free(&a, s->routes, s->n_routes * sizeof *s->routes);
	sim_free(&a, s, sizeof *s);
}

void scn_free_all(scenario **v, size_t n, const sim_alloc *a)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		scn_free(v[i]);
	sim_free(a, v, n * sizeof *v);
}

/* Read the whole file with our allocator. */
static int read_file(ctx *c, const char *path, char **text, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		err_at(c, 0, 0, "", "cannot open: %s", strerror(errno));
		return SIM_EIO;
	}
	size_t cap = 4096, n = 0;
	char *buf = sim_malloc(c->a, cap);
	if (!buf) {
		fclose(f);
		c->nomem = true;
		return SIM_ENOMEM;
	}
	for (;;) {
		if (n > SCN_MAX_FILE_BYTES) {
			sim_free(c->a, buf, cap);
			fclose(f);
			err_at(c, 0, 0, "", "larger than the bound of %zu MiB for a scenario file", SCN_MAX_FILE_BYTES >> 20);
			return SIM_ESCENARIO;
		}
		if (n + 1 >= cap) {
			char *b = sim_realloc(c->a, buf, cap, cap * 2);
			if (!b) {
				sim_free(c->a, buf, cap);
				fclose(f);
				c->nomem = true;
				return SIM_ENOMEM;
			}
			buf = b;
			cap *= 2;
		}
		size_t r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
	}
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		sim_free(c->a, buf, cap);
		err_at(c, 0, 0, "", "read error");
		return SIM_EIO;
	}
	buf[n] = '\0';
	if (strlen(buf) != n) {
		sim_free(c->a, buf, cap);
		err_at(c, 1, 1, "", "the file contains a NUL byte: not a YAML text file");
		return SIM_ESCENARIO;
	}
	char *fit = sim_realloc(c->a, buf, cap, n + 1);
	*text = fit ? fit : buf;
	*len = n;
	if (!fit) { /* cannot happen for a shrink; keep the sizes exact */
		sim_free(c->a, buf, cap);
		c->nomem = true;
		return SIM_ENOMEM;
	}
	return 0;
}

/* A fresh scenario built from tree, or NULL (nomem). */
static scenario *build_one(ctx *c, const ynode *tree, const char *text, const char *path,
			   const char *variant, const char *default_name)
{
	scenario *s = xalloc(c, sizeof *s);
	if (!s)
		return NULL;
	s->alloc = *c->a;
	snprintf(s->variant, sizeof s->variant, "%s", variant);
	s->sweep_point = -1; /* not a sweep: load_text sets the point's */
	s->n_sweep_keys = 0;
	snprintf(s->source_file, sizeof s->source_file, "%s", path);
	snprintf(s->name, sizeof s->name, "%s", default_name);
	size_t tl = strlen(text);
	if (tl + 1 > SCN_MAX_LOAD_BYTES - c->load_bytes) {
		err_at(c, 0, 0, variant && strcmp(variant, "base") ? "variants" : "",
		       "the scenario and its variants exceed the loader's memory bound of 1 GiB "
		       "(each variant keeps a copy of the file's %zu bytes)", tl);
		c->over_budget = true;
		return s;
	}
	c->load_bytes += tl + 1;
	s->source_text = xstrndup(c, text, tl);
	if (s->source_text)
		build(c, tree, s);
	return s;
}

/* The file's name without directory and extension, if it fits. */
static void default_name_of(const char *name, char *out)
{
	const char *slash = strrchr(name, '/');
	const char *b = slash ? slash + 1 : name;
	const char *dot = strrchr(b, '.');
	size_t bl = dot && dot != b ? (size_t)(dot - b) : strlen(b);
	if (bl && bl < SCN_NAME_MAX)
		snprintf(out, SCN_NAME_MAX, "%.*s", (int)bl, b);
}

static int load_text(ctx *c, char *text, size_t len, const char *default_name,
		     scenario ***out, size_t *n);

int scn_load(const char *path, const sim_alloc *a, scenario ***out, size_t *n, scn_errors *errs)
{
	return scn_load_ex(path, a, NULL, 0, out, n, errs);
}

int scn_load_ex(const char *path, const sim_alloc *a, const scn_override *ov, size_t n_ov,
		scenario ***out, size_t *n, scn_errors *errs)
{
	ctx c = { 0 };
	char dir[512] = "", default_name[SCN_NAME_MAX] = "scenario";
	c.a = a;
	c.errs = errs;
	c.file = path;
	c.ov = ov;
	c.n_ov = ov ? n_ov : 0;
	const char *slash = strrchr(path, '/');
	if (slash)
		snprintf(dir, sizeof dir, "%.*s/", (int)(slash - path), path);
	c.dir = dir;
	default_name_of(path, default_name);
	char *text = NULL;
	size_t len = 0;
	int rc = read_file(&c, path, &text, &len);
	if (rc)
		return rc;
	return load_text(&c, text, len, default_name, out, n);
}

int scn_load_buffer(const char *name, const char *text, size_t len, const char *base_dir,
		    const sim_alloc *a, scenario ***out, size_t *n, scn_errors *errs)
{
	ctx c = { 0 };
	char dir[512] = "", default_name[SCN_NAME_MAX] = "scenario";
	c.a = a;
	c.errs = errs;
	c.file = name;
	if (base_dir && base_dir[0]) {
		size_t dl = strlen(base_dir);
		if (dl + 2 > sizeof dir) {
			err_at(&c, 0, 0, "", "base directory too long");
			return SIM_EIO;
		}
		snprintf(dir, sizeof dir, "%s%s", base_dir, base_dir[dl - 1] == '/' ? "" : "/");
	}
	c.dir = dir;
	default_name_of(name, default_name);
	if (len > SCN_MAX_FILE_BYTES) {
		err_at(&c, 0, 0, "", "larger than the bound of %zu MiB for a scenario file", SCN_MAX_FILE_BYTES >> 20);
		return SIM_ESCENARIO;
	}
	if (memchr(text, '\0', len)) {
		err_at(&c, 1, 1, "", "the file contains a NUL byte: not a YAML text file");
		return SIM_ESCENARIO;
	}
	char *copy = xstrndup(&c, text, len);
	if (!copy)
		return SIM_ENOMEM;
	return load_text(&c, copy, len, default_name, out, n);
}

/* ---- command-line overrides and sweeps ------------------------------------------ */

/* Is key `name`, or a path under it (name.x)? */
static bool key_under(const char *key, const char *name)
{
	size_t l = strlen(name);
	return !strncmp(key, name, l) && (key[l] == '\0' || key[l] == '.');
}

static void mark_cmdline(ynode *n)
{
	n->line = n->col = LINE_CMDLINE;
	for (size_t i = 0; i < n->n; i++) {
		n->items[i].line = n->items[i].col = LINE_CMDLINE;
		mark_cmdline(n->items[i].val);
	}
}

/* Apply the command-line overrides c->ov meant for the scenario named
 * vname ("base" or a variant) to root, as if the file said so; their nodes
 * carry LINE_CMDLINE. */
static void apply_cmdline(ctx *c, ynode *root, const char *vname)
{
	for (size_t i = 0; i < c->n_ov && !c->nomem; i++) {
		if (c->ov[i].variant && strcmp(c->ov[i].variant, vname) != 0)
			continue;
		const char *key = c->ov[i].key ? c->ov[i].key : "";
		const char *val = c->ov[i].value ? c->ov[i].value : "";
		if (!key[0] || key_under(key, "variants") || key_under(key, "sweep")) {
			err_at(c, LINE_CMDLINE, LINE_CMDLINE, key, "%s",
			       key[0] ? "the variants and the sweep cannot be set from the command line"
				      : "an override needs a key");
			continue;
		}
		size_t vl = strlen(val);
		if (vl > 65536 || strpbrk(val, "\r\n")) {
			err_at(c, LINE_CMDLINE, LINE_CMDLINE, key, "a value must be one line of at most 64 KiB");
			continue;
		}
		/* The value parsed alone, as "v: VALUE", its errors kept apart. */
		char *doc = sim_malloc(c->a, vl + 4);
		if (!doc) {
			c->nomem = true;
			return;
		}
		memcpy(doc, "v: ", 3);
		memcpy(doc + 3, val, vl + 1);
		scn_errors pe = { 0 };
		ctx pc = { .a = c->a, .errs = &pe, .file = "(command line)", .dir = c->dir };
		ynode *t = parse_yaml(&pc, doc, vl + 3);
		sim_free(c->a, doc, vl + 4);
		if (pc.nomem) {
			c->nomem = true;
			yfree(c->a, t);
			scn_errors_free(&pe);
			return;
		}
		if (!t || t->n != 1 || strcmp(t->items[0].key, "v")) {
			err_at(c, LINE_CMDLINE, LINE_CMDLINE, key, "'%.100s' is not a YAML value%s%.200s", val,
			       pe.n ? ": " : "", pe.n ? pe.v[0].message : "");
		} else {
			mark_cmdline(t);
			ypair p = { (char *)key, LINE_CMDLINE, LINE_CMDLINE, t->items[0].val };
			apply_override(c, root, &p);
		}
		yfree(c->a, t);
		scn_errors_free(&pe);
	}
}

/* One swept key: a list of numbers, or a range from..to by step. */
typedef struct sweep_axis {
	const char *key;
	int line, col;        /* the key's position: errors of its values point here */
	const ynode *list;    /* the values, or NULL: a range */
	double from, step;
	size_t n;             /* its number of values */
} sweep_axis;

static const char *const range_keys[] = { "from", "to", "step", NULL };

/* A finite number in decimal or exponent notation. */
static bool sweep_number(const char *s, double *x)
{
	char *end;
	if (!s || !*s || isspace((unsigned char)*s))
		return false;
	for (const char *q = s; *q; q++)
		if (!strchr("0123456789+-.eE", *q))
			return false;
	double v = strtod(s, &end);
	if (*end || !isfinite(v))
		return false;
	*x = v;
	return true;
}

static bool sweep_bound(ctx *c, const ynode *m, const char *k, const char *p, double *x)
{
	const ynode *n = yget(m, k);
	char q[PATH_MAX_LEN];
	pjoin(q, p, k);
	if (!n) {
		err_node(c, m, p, "a range needs %s:", k);
		return false;
	}
	if (n->type != Y_SCALAR || !sweep_number(n->str, x)) {
		err_node(c, n, q, "expected a number, got %s%.60s%s", n->type == Y_SCALAR ? "'" : ytype_name(n->type),
			 n->type == Y_SCALAR ? n->str : "", n->type == Y_SCALAR ? "'" : "");
		return false;
	}
	return true;
}

/* Read `sweep:`.  Returns the number of swept keys (0: no sweep) and the
 * number of points, or -1 after reporting why the section is refused. */
static int parse_sweep(ctx *c, const ynode *root, size_t nvars, sweep_axis ax[2], size_t *npoints)
{
	const ynode *sw = yget(root, "sweep");
	if (!sw || sw->type == Y_NULL)
		return 0;
	if (sw->type != Y_MAP || sw->n == 0 || sw->n > 2) {
		err_node(c, sw, "sweep", "expected a mapping of one or two dotted keys, each to a list of numbers "
			 "([10, 20, 40]) or a range ({from: 1, to: 8, step: 1})");
		return -1;
	}
	bool ok = true;
	size_t total = 1;
	for (size_t i = 0; i < sw->n; i++) {
		const ypair *pr = &sw->items[i];
		sweep_axis *a = &ax[i];
		char p[PATH_MAX_LEN];
		pjoin(p, "sweep", pr->key);
		*a = (sweep_axis){ pr->key, pr->line, pr->col, NULL, 0, 1, 0 };
		if (!pr->key[0] || key_under(pr->key, "variants") || key_under(pr->key, "sweep") ||
		    strlen(pr->key) >= SCN_NAME_MAX) {
			err_at(c, pr->line, pr->col, p, "%s", !pr->key[0] ? "an empty key"
				  : strlen(pr->key) >= SCN_NAME_MAX ? "a swept key must have at most 127 characters"
								    : "a sweep cannot change the variants or the sweep");
			ok = false;
			continue;
		}
		const ynode *v = pr->val;
		if (v->type == Y_SEQ) {
			if (v->n == 0) {
				err_node(c, v, p, "an empty list of values");
				ok = false;
				continue;
			}
			for (size_t j = 0; j < v->n; j++) {
				const ynode *it = v->items[j].val;
				double x;
				if (it->type != Y_SCALAR || !sweep_number(it->str, &x)) {
					err_node(c, it, p, "a swept value must be a number, not %s%.60s%s",
						 it->type == Y_SCALAR ? "'" : ytype_name(it->type),
						 it->type == Y_SCALAR ? it->str : "", it->type == Y_SCALAR ? "'" : "");
					ok = false;
				}
			}
			a->list = v;
			a->n = v->n;
		} else if (v->type == Y_MAP) {
			check_keys(c, v, p, range_keys);
			double from = 0, to = 0;
			bool got = sweep_bound(c, v, "from", p, &from) & sweep_bound(c, v, "to", p, &to);
			if (yget(v, "step") && !sweep_bound(c, v, "step", p, &a->step))
				got = false;
			if (!got) {
				ok = false;
				continue;
			}
			a->from = from;
			if (a->step <= 0) {
				err_node(c, yget(v, "step"), p, "the step must be greater than 0");
				ok = false;
				continue;
			}
			if (to < from) {
				err_node(c, v, p, "the range is empty: to (%g) is less than from (%g)", to, from);
				ok = false;
				continue;
			}
			double span = (to - from) / a->step;
			a->n = span >= SCN_MAX_SWEEP_POINTS ? (size_t)SCN_MAX_SWEEP_POINTS + 1
							    : (size_t)floor(span + 1e-9) + 1;
		} else {
			err_node(c, v, p, "expected a list of numbers ([10, 20, 40]) or a range ({from: 1, to: 8, step: 1})");
			ok = false;
			continue;
		}
		if (a->n > SCN_MAX_SWEEP_POINTS) {
			err_at(c, pr->line, pr->col, p, "%s points exceed the bound of %d points in a sweep",
			       a->list ? "its" : "the range's", SCN_MAX_SWEEP_POINTS);
			ok = false;
			continue;
		}
		total *= a->n;
	}
	if (!ok)
		return -1;
	if (total > SCN_MAX_SWEEP_POINTS) {
		err_at(c, sw->items[1].line, sw->items[1].col, "sweep", "%zu x %zu = %zu points exceed the bound of %d points in a sweep",
		       ax[0].n, ax[1].n, total, SCN_MAX_SWEEP_POINTS);
		return -1;
	}
	if (total * (1 + nvars) > SCN_MAX_SCENARIOS) {
		err_node(c, sw, "sweep", "%zu points x (the base and %zu variants) = %zu scenarios exceed the bound of %d",
			 total, nvars, total * (1 + nvars), SCN_MAX_SCENARIOS);
		return -1;
	}
	*npoints = total;
	return (int)sw->n;
}

/* The value of axis a at its index i: the text set in the tree and the number. */
static void sweep_value(const sweep_axis *a, size_t i, char *text, size_t size, double *x)
{
	if (a->list) {
		snprintf(text, size, "%s", a->list->items[i].val->str);
	} else {
		double v = a->from + (double)i * a->step;
		snprintf(text, size, "%.15g", v == 0 ? 0.0 : v); /* no "-0" */
	}
	if (!sweep_number(text, x))
		*x = NAN; /* cannot happen: checked by parse_sweep */
}

/* A variant (the list item it, named vname): its `set` applied to a copy
 * of tree, built.  NULL when out of memory. */
static scenario *build_variant(ctx *c, const ynode *tree, const ynode *it, const char *vname,
			       const char *text, const char *path, const char *default_name)
{
	const ynode *set = yget(it, "set");
	ynode *copy = ycopy(c, tree);
	if (!copy)
		return NULL;
	const char *saved = c->variant;
	c->variant = vname;
	for (size_t k = 0; set && set->type == Y_MAP && k < set->n && !c->nomem; k++) {
		const ypair *ov = &set->items[k];
		if (key_under(ov->key, "variants"))
			err_at(c, ov->line, ov->col, ov->key, "a variant cannot change the variants");
		else if (key_under(ov->key, "sweep"))
			err_at(c, ov->line, ov->col, ov->key, "a variant cannot change the sweep");
		else
			apply_override(c, copy, ov);
	}
	/* The command line wins over the variant: `plan --variant pool-of-4
	 * --vary mailboxes.scanners.count` varies the variant's own pool. */
	apply_cmdline(c, copy, vname);
	scenario *s = NULL;
	if (!c->nomem)
		s = build_one(c, copy, text, path, vname, default_name);
	yfree(c->a, copy);
	const ynode *d = yget(it, "description");
	if (s && d && d->type == Y_SCALAR && !c->nomem) {
		char *t = xstrndup(c, d->str, strlen(d->str));
		if (t) {
			if (s->description)
				sim_free(c->a, s->description, strlen(s->description) + 1);
			s->description = t;
		}
	}
	c->variant = saved;
	return s;
}

/* Every point of the sweep: the base with the point's values, then each
 * variant's `set` on top, into v[*nv ..]. */
static void build_points(ctx *c, const ynode *root, const sweep_axis *ax, int naxes, size_t npoints,
			 const ynode *vars, size_t nvars, const char *text, const char *path,
			 const char *default_name, scenario **v, size_t *nv)
{
	for (size_t p = 0; p < npoints && !c->nomem && !c->over_budget; p++) {
		size_t idx[2] = { naxes == 2 ? p / ax[1].n : p, naxes == 2 ? p % ax[1].n : 0 };
		char vt[2][64], label[2 * SCN_NAME_MAX + 200];
		double x[2] = { 0, 0 };
		ynode *tree = ycopy(c, root);
		if (!tree)
			return;
		int w = snprintf(label, sizeof label, "sweep point %zu (", p);
		for (int k = 0; k < naxes; k++) {
			sweep_value(&ax[k], idx[k], vt[k], sizeof vt[k], &x[k]);
			ynode sv = { Y_SCALAR, ax[k].line, ax[k].col, vt[k], 0, 0, NULL };
			ypair pr = { (char *)ax[k].key, ax[k].line, ax[k].col, &sv };
			apply_override(c, tree, &pr);
			if (w >= 0 && (size_t)w < sizeof label)
				w += snprintf(label + w, sizeof label - (size_t)w, "%s%s = %s", k ? ", " : "",
					      ax[k].key, vt[k]);
		}
		if (w >= 0 && (size_t)w < sizeof label)
			snprintf(label + w, sizeof label - (size_t)w, ")");
		c->point = label;
		for (size_t i = 0; i <= nvars && !c->nomem && !c->over_budget; i++) {
			scenario *s;
			if (i == 0) {
				s = build_one(c, tree, text, path, "base", default_name);
			} else {
				const ynode *it = vars->items[i - 1].val; /* valid: checked without the sweep */
				s = build_variant(c, tree, it, yget(it, "name")->str, text, path, default_name);
			}
			if (!s)
				break;
			s->sweep_point = (int64_t)p;
			s->n_sweep_keys = naxes;
			for (int k = 0; k < naxes; k++) {
				snprintf(s->sweep_key[k], sizeof s->sweep_key[k], "%s", ax[k].key);
				s->sweep_value[k] = x[k];
			}
			v[(*nv)++] = s;
		}
		c->point = NULL;
		yfree(c->a, tree);
	}
}

/* Parse, build and validate text (ours: freed here, len + 1 bytes). */
static int load_text(ctx *c_, char *text, size_t len, const char *default_name,
		     scenario ***out, size_t *n)
{
	ctx c = *c_;
	const sim_alloc *a = c.a;
	scn_errors *errs = c.errs;
	const char *path = c.file;
	size_t errs0 = errs ? errs->n : 0;
	ynode *root = parse_yaml(&c, text, len);
	scenario **v = NULL;
	size_t nv = 0, cap = 0;
	sweep_axis ax[2];
	size_t npoints = 0;
	int naxes = 0;
	if (!root)
		goto done;
	size_t cmdline_errs = c.nerr;
	apply_cmdline(&c, root, "base");
	if (c.nerr != cmdline_errs)
		c.n_ov = 0; /* reported once, for the base; not again for each variant */

	const ynode *vars = yget(root, "variants");
	if (vars && vars->type != Y_NULL && vars->type != Y_SEQ) {
		err_node(&c, vars, "variants", "expected a list of {name: ..., set: {...}}");
		vars = NULL;
	}
	if (vars && vars->type == Y_SEQ && vars->n > SCN_MAX_VARIANTS) {
		err_node(&c, vars, "variants", "%zu variants exceed the bound of 10^4", vars->n);
		vars = NULL;
	}
	size_t nvars = vars && vars->type == Y_SEQ ? vars->n : 0;
	naxes = parse_sweep(&c, root, nvars, ax, &npoints);
	cap = 1 + nvars;
	v = xalloc(&c, cap * sizeof *v);
	if (!v)
		goto done;
	v[nv] = build_one(&c, root, text, path, "base", default_name);
	if (!v[nv])
		goto done;
	nv++;
	c.base_nerr = errs ? errs->n : 0; /* NB: errs may already hold older entries: harmless */
	for (size_t i = 0; i < nvars && !c.nomem && !c.over_budget; i++) {
		const ynode *it = vars->items[i].val;
		char p[PATH_MAX_LEN], vname[SCN_NAME_MAX] = "";
		snprintf(p, sizeof p, "variants[%zu]", i);
		c.variant = NULL;
		if (it->type != Y_MAP) {
			err_node(&c, it, p, "a variant must be {name: ..., set: {...}}");
			continue;
		}
		if (!yget(it, "name")) {
			err_node(&c, it, p, "a variant needs a name");
			continue;
		}
		if (!opt_name(&c, it, "name", "variants", vname))
			continue;
		snprintf(p, sizeof p, "variants.%s", vname);
		check_keys(&c, it, p, variant_keys);
		bool dup = !strcmp(vname, "base");
		for (size_t j = 1; j < nv; j++)
			if (!strcmp(v[j]->variant, vname))
				dup = true;
		if (dup) {
			err_node(&c, yget(it, "name"), p, strcmp(vname, "base") ? "the variant name '%s' is used more than once"
									 : "'%s' is the name of the base scenario", vname);
			continue;
		}
		const ynode *set = yget(it, "set");
		char q[PATH_MAX_LEN];
		pjoin(q, p, "set");
		if (set && set->type != Y_NULL && set->type != Y_MAP) {
			err_node(&c, set, q, "expected a mapping of dotted.key.path: value");
			continue;
		}
		scenario *s = build_variant(&c, root, it, vname, text, path, default_name);
		if (!s)
			break;
		v[nv++] = s;
		c.variant = NULL;
	}

	/* A sweep: once the base and the variants are valid without it, the
	 * same again at every point, in place of them. */
	if (naxes > 0 && !c.nomem && c.nerr == 0 && nv == cap) {
		for (size_t i = 0; i < nv; i++)
			scn_free(v[i]);
		sim_free(a, v, cap * sizeof *v);
		nv = 0;
		c.load_bytes = c_->load_bytes;
		cap = npoints * (1 + nvars);
		v = xalloc(&c, cap * sizeof *v);
		if (!v) {
			cap = 0;
			goto done;
		}
		c.sweep_err0 = errs ? errs->n : 0;
		build_points(&c, root, ax, naxes, npoints, vars, nvars, text, path, default_name, v, &nv);
	}

done:
	if (errs && errs->n > errs0) { /* by position, stably: base and variants interleave by line */
		for (size_t i = errs0 + 1; i < errs->n; i++) {
			scn_error t = errs->v[i];
			size_t j = i;
			while (j > errs0 && (errs->v[j - 1].line > t.line ||
					     (errs->v[j - 1].line == t.line && errs->v[j - 1].column > t.column)) &&
			       !strcmp(errs->v[j - 1].file, t.file)) {
				errs->v[j] = errs->v[j - 1];
				j--;
			}
			errs->v[j] = t;
		}
	}
	yfree(a, root);
	sim_free(a, text, len + 1);
	if (c.nomem || c.nerr > 0 || nv != cap || nv == 0) {
		for (size_t i = 0; i < nv; i++)
			scn_free(v[i]);
		sim_free(a, v, cap * sizeof *v);
		return c.nomem ? SIM_ENOMEM : SIM_ESCENARIO;
	}
	*out = v;
	*n = nv;
	return 0;
}
