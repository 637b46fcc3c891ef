/* yaml.c - YAML text to a tree with positions, error records, nearest
 * names (see yaml.h).
 *
 * The parser walks libfyaml's events with a stack of open containers
 * (at most YML_MAX_DEPTH), attaching each finished scalar, alias copy or
 * opened container to the top one; a mapping's items alternate key and
 * value.  Every problem is reported through the caller's function and the
 * walk goes on, so one parse reports as much as it can; only an
 * allocation failure, an alias beyond the bounds, nesting beyond
 * YML_MAX_DEPTH or a tree beyond its byte bound stops it (stopping is
 * what bounds libfyaml's own memory: it holds a state per open level).
 *
 * Memory: every allocation of the tree (nodes, texts, item arrays, the
 * anchors' copies, the key indexes) is charged to the parse as the
 * C library would round it (tree_chunk()) before or as it is made, and
 * the parse stops at the first charge beyond its bound: a 60 MB flow list
 * of 30 million one-character items used to take 3.6 GB, a 1 MB file
 * aliasing a 500 KB scalar 160,000 times asked for 24 GB.
 */
#include "yaml.h"

#include <ctype.h>
#include <libfyaml.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "status.h"

/* ---- the tree ------------------------------------------------------------ */

static char *dup_text(const sim_alloc *a, const char *s, size_t n)
{
	char *p = sim_malloc(a, n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* What the C library takes for an allocation of n bytes (glibc: an
 * 8-byte header, 16-byte alignment, 32 bytes at least): the tree's
 * bound is in these, so it holds for RSS and not only for the bytes
 * asked. */
static size_t tree_chunk(size_t n)
{
	size_t c = (n + 8 + 15) & ~(size_t)15;
	return c < 32 ? 32 : c;
}

size_t yml_tree_bytes(const yml_node *n)
{
	if (!n)
		return 0;
	size_t b = tree_chunk(sizeof *n);
	if (n->str)
		b += tree_chunk(strlen(n->str) + 1);
	if (n->cap)
		b += tree_chunk(n->cap * sizeof *n->items);
	for (size_t i = 0; i < n->n; i++) {
		if (n->items[i].key)
			b += tree_chunk(strlen(n->items[i].key) + 1);
		b += yml_tree_bytes(n->items[i].val);
	}
	return b;
}

size_t yml_tree_nodes(const yml_node *n)
{
	size_t k = 1;
	for (size_t i = 0; i < n->n; i++)
		k += yml_tree_nodes(n->items[i].val);
	return k;
}

void yml_free(const sim_alloc *a, yml_node *n)
{
	if (!n)
		return;
	if (n->str)
		sim_free(a, n->str, strlen(n->str) + 1);
	for (size_t i = 0; i < n->n; i++) {
		if (n->items[i].key)
			sim_free(a, n->items[i].key, strlen(n->items[i].key) + 1);
		yml_free(a, n->items[i].val);
	}
	sim_free(a, n->items, n->cap * sizeof *n->items);
	sim_free(a, n, sizeof *n);
}

yml_node *yml_new(const sim_alloc *a, yml_type t, int line, int col)
{
	yml_node *n = sim_malloc(a, sizeof *n);
	if (n) {
		memset(n, 0, sizeof *n);
		n->type = t;
		n->line = line;
		n->col = col;
	}
	return n;
}

bool yml_append(const sim_alloc *a, yml_node *parent, char *key, int line, int col, yml_node *val)
{
	if (parent->n == parent->cap) {
		size_t nc = parent->cap ? parent->cap * 2 : 4;
		yml_pair *v = sim_realloc(a, parent->items, parent->cap * sizeof *v, nc * sizeof *v);
		if (!v) {
			if (key)
				sim_free(a, key, strlen(key) + 1);
			yml_free(a, val);
			return false;
		}
		parent->items = v;
		parent->cap = nc;
	}
	parent->items[parent->n++] = (yml_pair){ key, line, col, val };
	return true;
}

yml_node *yml_copy(const sim_alloc *a, const yml_node *n)
{
	yml_node *m = yml_new(a, n->type, n->line, n->col);
	if (!m)
		return NULL;
	if (n->str && !(m->str = dup_text(a, n->str, strlen(n->str)))) {
		yml_free(a, m);
		return NULL;
	}
	for (size_t i = 0; i < n->n; i++) {
		char *k = NULL;
		if (n->items[i].key && !(k = dup_text(a, n->items[i].key, strlen(n->items[i].key)))) {
			yml_free(a, m);
			return NULL;
		}
		yml_node *v = yml_copy(a, n->items[i].val);
		if (!v) {
			if (k)
				sim_free(a, k, strlen(k) + 1);
			yml_free(a, m);
			return NULL;
		}
		if (!yml_append(a, m, k, n->items[i].line, n->items[i].col, v)) {
			yml_free(a, m);
			return NULL;
		}
	}
	return m;
}

static yml_pair *pair_of(const yml_node *m, const char *key)
{
	if (!m || m->type != YML_MAP)
		return NULL;
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->items[i].key, key) == 0)
			return &m->items[i];
	return NULL;
}

yml_node *yml_get(const yml_node *m, const char *key)
{
	yml_pair *p = pair_of(m, key);
	return p ? p->val : NULL;
}

const char *yml_type_name(yml_type t)
{
	switch (t) {
	case YML_NULL: return "nothing";
	case YML_SCALAR: return "a single value";
	case YML_SEQ: return "a list";
	case YML_MAP: return "a mapping";
	}
	return "?";
}

/* ---- error records -------------------------------------------------------- */

yml_error *yml_errors_add(yml_errors *e)
{
	if (e->n == e->cap) {
		size_t nc = e->cap ? e->cap * 2 : 8;
		yml_error *v = sim_realloc(&sim_alloc_std, e->v, e->cap * sizeof *v, nc * sizeof *v);
		if (!v)
			return NULL;
		e->v = v;
		e->cap = nc;
	}
	yml_error *r = &e->v[e->n++];
	memset(r, 0, sizeof *r);
	return r;
}

void yml_errors_free(yml_errors *e)
{
	if (!e)
		return;
	sim_free(&sim_alloc_std, e->v, e->cap * sizeof *e->v);
	e->v = NULL;
	e->n = e->cap = 0;
}

void yml_error_format(const yml_error *e, char *buf, size_t len)
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

/* ---- nearest names ------------------------------------------------------- */

/* Edit distance with adjacent transpositions (optimal string alignment),
 * case-insensitive: "mpf" is one edit from "mfp".  Only distances up to k
 * matter (yml_near_result() never suggests a name farther than NEAR_MAX, nor
 * yml_near_try() one no nearer than the best so far), so only the diagonal
 * band |i - j| <= k is computed (Ukkonen 1985): an alignment of cost <= k
 * never leaves it, so those distances are exact and any other is reported
 * as k + 1; and the walk stops once two rows are beyond k.  O(k len) per
 * pair instead of O(len^2): a typo among the 10^4 pool members searched
 * used to cost a full table per member (0.2 s per sender and variant;
 * found while fuzzing the loader). */
#define NEAR_MAX 3
static size_t edit_distance(const char *a, const char *b, unsigned k)
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

/* The first candidate at the least distance <= NEAR_MAX wins. */
void yml_near_try(yml_nearest *n, const char *cand)
{
	if (n->dist == 0)
		return;
	unsigned k = n->dist <= NEAR_MAX ? (unsigned)n->dist - 1 : NEAR_MAX;
	size_t d = edit_distance(n->word, cand, k);
	if (d <= k) {
		n->dist = d;
		n->best = cand;
	}
}

const char *yml_near_result(const yml_nearest *n)
{
	size_t len = strlen(n->word);
	size_t limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
	return n->best && n->dist <= limit ? n->best : NULL;
}

const char *yml_nearest_of(const char *word, const char *const *names)
{
	yml_nearest n = { word, NULL, (size_t)-1 };
	for (size_t i = 0; names[i]; i++)
		yml_near_try(&n, names[i]);
	return yml_near_result(&n);
}

void yml_list_names(char *buf, size_t len, const char *const *names)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; names[i] && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? (names[i + 1] ? ", " : " or ") : "", names[i]);
}

/* ---- parsing YAML into the tree ------------------------------------------ */

static void diag_sink(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
	(void)diag; (void)user; (void)buf; (void)len;
}

typedef struct anchor {
	char *name;
	yml_node *node;
	bool owned;  /* a copy of an anchored key (the key node itself is freed) */
} anchor;

/* An open container.  A mapping's keys are indexed once it has
 * KEY_INDEX_MIN of them (open addressing, linear probing, slot = item
 * index + 1, 0 empty, at most half full): the duplicate-key check is
 * O(1) expected per key instead of a scan of the keys before it, which
 * made a mapping of 100,000 keys take one to two minutes. */
#define KEY_INDEX_MIN 16
typedef struct frame {
	yml_node *node;
	char *key;       /* a mapping's pending key */
	int kline, kcol;
	bool have_key;
	uint32_t *slot;  /* the key index, or NULL */
	size_t nslot;    /* a power of two, or 0 */
} frame;

/* One parse: the caller's allocator and report function, the text, the
 * stack of open containers and the anchors seen so far. */
typedef struct yparse {
	const sim_alloc *a;
	yml_report_fn *report;
	void *user;
	const char *what;    /* the kind of text, for messages */
	const char *text;
	size_t len;
	bool nomem;
	bool bad;            /* a problem was reported: no tree */
	bool stop;           /* an alias beyond the bounds: read no further */
	int docs;            /* documents started */
	frame st[YML_MAX_DEPTH];
	int depth;
	yml_node *root;
	anchor *anchors;
	size_t n_anchors, cap_anchors;
	size_t alias_nodes;  /* nodes made by copying aliases: <= YML_MAX_ALIAS_NODES */
	size_t bytes;        /* charged so far (tree_chunk()): <= max_bytes */
	size_t max_bytes;
	int line, col;       /* the event being handled, for the byte bound's message */
	bool too_deep;
} yparse;

__attribute__((format(printf, 5, 6)))
static void perr(yparse *ps, int line, int col, const char *key, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	ps->report(ps->user, line, col, key, msg);
}

/* Charge bytes to the parse; false (reported once, the parse stopped)
 * beyond its bound. */
static bool charge(yparse *ps, size_t bytes)
{
	if (bytes <= ps->max_bytes - ps->bytes) {
		ps->bytes += bytes;
		return true;
	}
	if (!ps->stop)
		perr(ps, ps->line, ps->col, "", "the document needs more than %zu MiB of memory as a tree "
		     "(a scenario file is read whole before it is checked)", ps->max_bytes >> 20);
	ps->bad = ps->stop = true;
	return false;
}

static void uncharge(yparse *ps, size_t bytes)
{
	ps->bytes -= bytes < ps->bytes ? bytes : ps->bytes;
}

static char *pstrndup(yparse *ps, const char *s, size_t n)
{
	if (!charge(ps, tree_chunk(n + 1)))
		return NULL;
	char *p = dup_text(ps->a, s, n);
	if (!p)
		ps->nomem = true;
	return p;
}

static yml_node *pnew(yparse *ps, yml_type t, int line, int col)
{
	if (!charge(ps, tree_chunk(sizeof(yml_node))))
		return NULL;
	yml_node *n = yml_new(ps->a, t, line, col);
	if (!n)
		ps->nomem = true;
	return n;
}

static bool pappend(yparse *ps, yml_node *parent, char *key, int line, int col, yml_node *val)
{
	if (parent->n == parent->cap) { /* yml_append() doubles from 4 */
		size_t nc = parent->cap ? parent->cap * 2 : 4;
		if (!charge(ps, tree_chunk(nc * sizeof *parent->items))) {
			if (key)
				sim_free(ps->a, key, strlen(key) + 1);
			yml_free(ps->a, val);
			return false;
		}
		if (parent->cap)
			uncharge(ps, tree_chunk(parent->cap * sizeof *parent->items));
	}
	if (yml_append(ps->a, parent, key, line, col, val))
		return true;
	ps->nomem = true;
	return false;
}

static yml_node *pcopy(yparse *ps, const yml_node *n)
{
	if (!charge(ps, yml_tree_bytes(n)))
		return NULL;
	yml_node *m = yml_copy(ps->a, n);
	if (!m)
		ps->nomem = true;
	return m;
}

/* The height of n (a scalar: 1) and, added to *count, its nodes.
 * Recursion depth: the tree's, <= YML_MAX_DEPTH. */
static int yheight(const yml_node *n, size_t *count)
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

static char *token_text(yparse *ps, struct fy_token *t)
{
	size_t len = 0;
	const char *s = t ? fy_token_get_text(t, &len) : NULL;
	if (!s) {
		s = "";
		len = 0;
	}
	return pstrndup(ps, s, len);
}

/* Remember node under the anchor t.  A key's node is freed once its text
 * is taken (attach()), so an anchored key keeps a copy of its own
 * (is_key): an alias of it used to read freed memory (found by
 * tests/fuzz/fuzz_scenario). */
static void add_anchor(yparse *ps, struct fy_token *t, yml_node *node, bool is_key)
{
	if (!t)
		return;
	if (ps->n_anchors == ps->cap_anchors) {
		size_t nc = ps->cap_anchors ? ps->cap_anchors * 2 : 4;
		if (!charge(ps, tree_chunk(nc * sizeof *ps->anchors)))
			return;
		if (ps->cap_anchors)
			uncharge(ps, tree_chunk(ps->cap_anchors * sizeof *ps->anchors));
		anchor *v = sim_realloc(ps->a, ps->anchors, ps->cap_anchors * sizeof *v, nc * sizeof *v);
		if (!v) {
			ps->nomem = true;
			return;
		}
		ps->anchors = v;
		ps->cap_anchors = nc;
	}
	char *name = token_text(ps, t);
	if (!name)
		return;
	if (is_key && !(node = pcopy(ps, node))) {
		sim_free(ps->a, name, strlen(name) + 1);
		return;
	}
	ps->anchors[ps->n_anchors++] = (anchor){ name, node, is_key };
}

static uint32_t key_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void key_index_free(yparse *ps, frame *f)
{
	if (f->slot) {
		sim_free(ps->a, f->slot, f->nslot * sizeof *f->slot);
		uncharge(ps, tree_chunk(f->nslot * sizeof *f->slot));
	}
	f->slot = NULL;
	f->nslot = 0;
}

static void key_index_put(frame *f, size_t item)
{
	size_t mask = f->nslot - 1, j = key_hash(f->node->items[item].key) & mask;
	while (f->slot[j])
		j = (j + 1) & mask;
	f->slot[j] = (uint32_t)(item + 1);
}

/* Index the keys of f's mapping once it has KEY_INDEX_MIN, growing the
 * index to keep it at most half full; false when out of memory or
 * beyond the bound (the parse stops). */
static bool key_index_update(yparse *ps, frame *f)
{
	size_t n = f->node->n;
	if (n < KEY_INDEX_MIN || n > UINT32_MAX - 1)
		return true;
	if (2 * n <= f->nslot) {
		key_index_put(f, n - 1);
		return true;
	}
	size_t ns = f->nslot ? f->nslot * 2 : 2 * KEY_INDEX_MIN * 2;
	while (ns < 2 * n)
		ns *= 2;
	if (!charge(ps, tree_chunk(ns * sizeof *f->slot)))
		return false;
	uint32_t *v = sim_malloc(ps->a, ns * sizeof *v);
	if (!v) {
		uncharge(ps, tree_chunk(ns * sizeof *f->slot));
		ps->nomem = true;
		return false;
	}
	memset(v, 0, ns * sizeof *v);
	key_index_free(ps, f);
	f->slot = v;
	f->nslot = ns;
	for (size_t i = 0; i < n; i++)
		key_index_put(f, i);
	return true;
}

/* Is key among the keys of f's mapping? */
static bool key_seen(const frame *f, const char *key)
{
	if (!f->slot) {
		for (size_t i = 0; i < f->node->n; i++)
			if (strcmp(f->node->items[i].key, key) == 0)
				return true;
		return false;
	}
	size_t mask = f->nslot - 1;
	for (size_t j = key_hash(key) & mask; f->slot[j]; j = (j + 1) & mask)
		if (strcmp(f->node->items[f->slot[j] - 1].key, key) == 0)
			return true;
	return false;
}

/* A mapping's key: its text becomes the pending key of frame f (node is
 * freed); a duplicate of an earlier key is reported. */
static bool take_key(yparse *ps, frame *f, yml_node *node)
{
	if (node->type != YML_SCALAR) {
		perr(ps, node->line, node->col, "", "a key must be a plain name, not %s", yml_type_name(node->type));
		f->key = pstrndup(ps, "?", 1);
	} else {
		f->key = node->str;
		node->str = NULL;
	}
	f->kline = node->line;
	f->kcol = node->col;
	yml_free(ps->a, node);
	if (!f->key)
		return false;
	f->have_key = true;
	if (key_seen(f, f->key))
		perr(ps, f->kline, f->kcol, f->key, "duplicate key '%s'", f->key);
	return true;
}

/* Attach a finished or started node to the current container. */
static bool attach(yparse *ps, yml_node *node)
{
	if (ps->depth == 0) {
		ps->root = node;
		return true;
	}
	frame *f = &ps->st[ps->depth - 1];
	if (f->node->type == YML_SEQ)
		return pappend(ps, f->node, NULL, node->line, node->col, node);
	if (!f->have_key)
		return take_key(ps, f, node);
	f->have_key = false;
	char *k = f->key;
	f->key = NULL;
	return pappend(ps, f->node, k, f->kline, f->kcol, node) && key_index_update(ps, f);
}

static bool is_null_scalar(const char *s, size_t len, enum fy_scalar_style style)
{
	if (style != FYSS_PLAIN)
		return false;
	return len == 0 || (len == 1 && s[0] == '~') ||
	       (len == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4)));
}

static void free_parse_state(yparse *ps)
{
	for (int i = ps->depth - 1; i >= 0; i--) {
		if (ps->st[i].key)
			sim_free(ps->a, ps->st[i].key, strlen(ps->st[i].key) + 1);
		key_index_free(ps, &ps->st[i]);
	}
	/* open containers are owned by their parents or by root */
	if (ps->depth > 0 && ps->root != ps->st[0].node)
		yml_free(ps->a, ps->st[0].node);
	for (size_t i = 0; i < ps->n_anchors; i++) {
		sim_free(ps->a, ps->anchors[i].name, strlen(ps->anchors[i].name) + 1);
		if (ps->anchors[i].owned)
			yml_free(ps->a, ps->anchors[i].node);
	}
	sim_free(ps->a, ps->anchors, ps->cap_anchors * sizeof *ps->anchors);
}

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

/* The text must be UTF-8.  Checked before libfyaml sees it: its
 * 0.7.12 scanner loops forever on a malformed sequence in a directive
 * ("%\xdf"), found by tests/fuzz/fuzz_scenario. */
static bool check_utf8(yml_report_fn *report, void *user, const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	int line = 1, col = 1;
	for (size_t i = 0; i < len;) {
		size_t k = utf8_seq(s + i, len - i);
		if (!k) {
			char msg[512];
			snprintf(msg, sizeof msg, "not UTF-8 text: byte 0x%02x cannot start or continue a character here", s[i]);
			report(user, line, col, "", msg);
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

/* Flow nesting found by flow_depth() beyond which libfyaml is not given
 * the text: its scanner keeps a possible simple key and a state for
 * every open flow level and reads to the end of the text before the
 * first event past them (4 MB of '[' took 1.5 GB and 14 s in it). */
#define FLOW_PRESCAN_DEPTH 1024

/* An upper bound, for all but contrived texts, on the flow nesting of
 * text, and where it first passed YML_MAX_DEPTH.  Inside a flow
 * collection every bracket outside quotes and comments is structural (a
 * plain scalar there cannot hold one); outside, a '[' or '{' opens one
 * only where a node starts (after a line's indentation, "- ", ": " or
 * "? "); a quote opens a quoted scalar only where a node starts too.  A
 * literal block holding more than FLOW_PRESCAN_DEPTH unmatched brackets
 * at its lines' starts would be counted: such a text is refused as too
 * deep.  Linear. */
static size_t flow_depth(const char *t, size_t len, int *at_line, int *at_col)
{
	size_t d = 0, max = 0;
	int line = 1, col = 1;
	char prev = '\n'; /* the last character that is not a blank */
	for (size_t i = 0; i < len; i++) {
		char ch = t[i];
		bool start = prev == '\n' || (d > 0 ? prev && strchr("[{,:?", prev) != NULL
						     : (prev && strchr("-:?", prev) && i > 0 && (t[i - 1] == ' ' || t[i - 1] == '\t')));
		if (ch == '#' && (i == 0 || t[i - 1] == ' ' || t[i - 1] == '\t' || t[i - 1] == '\n')) {
			while (i + 1 < len && t[i + 1] != '\n')
				i++;
			continue;
		}
		if ((ch == '"' || ch == '\'') && start) {
			for (i++; i < len; i++) {
				if (t[i] == '\n') {
					line++;
					col = 1;
				} else if ((t[i] & 0xc0) != 0x80)
					col++;
				if (ch == '"' && t[i] == '\\' && i + 1 < len && t[i + 1] != '\n')
					i++;
				else if (t[i] == ch) {
					if (ch == '\'' && i + 1 < len && t[i + 1] == '\'')
						i++;
					else
						break;
				}
			}
			prev = 'q';
			continue;
		}
		if (ch == '\n') {
			line++;
			col = 1;
			prev = '\n';
			continue;
		}
		if ((t[i] & 0xc0) != 0x80)
			col++;
		if ((ch == '[' || ch == '{') && (d > 0 || start)) {
			if (++d > max) {
				max = d;
				if (d == YML_MAX_DEPTH + 1) {
					*at_line = line;
					*at_col = col - 1;
				}
				if (max > FLOW_PRESCAN_DEPTH)
					return max;
			}
		} else if ((ch == ']' || ch == '}') && d > 0)
			d--;
		if (ch != ' ' && ch != '\t' && ch != '\r')
			prev = ch;
	}
	return max;
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
 * let libfyaml's text stand; NULL with ps->nomem on allocation failure.
 * The result is NUL-terminated, *len + 1 bytes, allocated with ps->a. */
static char *single_quoted_text(yparse *ps, struct fy_token *t, size_t *len)
{
	const struct fy_mark *a = fy_token_start_mark(t), *b = fy_token_end_mark(t);
	if (!a || !b || a->input_pos > b->input_pos || b->input_pos > ps->len)
		return NULL;
	const char *raw = ps->text + a->input_pos;
	size_t n = b->input_pos - a->input_pos;
	bool escaped = false;
	for (size_t i = 0; i + 1 < n && !escaped; i++)
		escaped = raw[i] == '\'' && raw[i + 1] == '\'';
	if (!escaped)
		return NULL;
	char *out = sim_malloc(ps->a, n + 1); /* the value is never longer than its source */
	if (!out) {
		ps->nomem = true;
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


/* ---- the events ------------------------------------------------------------ */

static void on_scalar(yparse *ps, struct fy_event *ev, int line, int col)
{
	size_t sl = 0;
	enum fy_scalar_style style = fy_token_scalar_style(ev->scalar.value);
	char *own = NULL;
	const char *s;
	if (style == FYSS_SINGLE_QUOTED && (own = single_quoted_text(ps, ev->scalar.value, &sl)))
		s = own;
	else if (ps->nomem)
		return;
	else
		s = fy_token_get_text(ev->scalar.value, &sl);
	if (!s)
		s = "";
	bool isnull = is_null_scalar(s, sl, style);
	yml_node *node = pnew(ps, isnull ? YML_NULL : YML_SCALAR, line, col);
	if (!node) {
		if (own)
			sim_free(ps->a, own, sl + 1);
		return;
	}
	node->str = pstrndup(ps, s, sl);
	if (own)
		sim_free(ps->a, own, sl + 1);
	if (!node->str) {
		yml_free(ps->a, node);
		return;
	}
	bool is_key = ps->depth > 0 && ps->st[ps->depth - 1].node->type == YML_MAP &&
		      !ps->st[ps->depth - 1].have_key;
	if (isnull && is_key)
		node->type = YML_SCALAR; /* a null key: keep its text */
	add_anchor(ps, ev->scalar.anchor, node, is_key);
	attach(ps, node);
}

static void on_alias(yparse *ps, struct fy_event *ev, int line, int col)
{
	size_t al = 0;
	const char *an = fy_token_get_text(ev->alias.anchor, &al);
	yml_node *target = NULL;
	for (size_t i = ps->n_anchors; i-- > 0;)
		if (an && strlen(ps->anchors[i].name) == al && !memcmp(ps->anchors[i].name, an, al)) {
			target = ps->anchors[i].node;
			break;
		}
	if (!target) {
		perr(ps, line, col, "", "unknown alias '*%.*s'", (int)al, an ? an : "");
		ps->bad = true;
		return;
	}
	/* aliases are copied: bound what they can make ("billion
	 * laughs": nine aliases of nine aliases of ... in a few
	 * lines) and keep the tree within YML_MAX_DEPTH */
	size_t count = 0;
	int height = yheight(target, &count);
	if (ps->depth + height > YML_MAX_DEPTH) {
		perr(ps, line, col, "", "nesting deeper than %d levels (through alias '*%.*s')",
		     YML_MAX_DEPTH, (int)al, an);
		ps->bad = ps->stop = true;
		return;
	}
	if (count > YML_MAX_ALIAS_NODES - ps->alias_nodes) {
		perr(ps, line, col, "", "aliases expand to more than %d nodes (at '*%.*s')",
		     YML_MAX_ALIAS_NODES, (int)al, an);
		ps->bad = ps->stop = true;
		return;
	}
	size_t bytes = yml_tree_bytes(target);
	if (bytes > ps->max_bytes - ps->bytes) {
		perr(ps, line, col, "", "aliases expand to more than %zu MiB (at '*%.*s', a copy of %zu bytes)",
		     ps->max_bytes >> 20, (int)al, an, bytes);
		ps->bad = ps->stop = true;
		return;
	}
	ps->alias_nodes += count;
	yml_node *node = pcopy(ps, target);
	if (node) {
		node->line = line;
		node->col = col;
		attach(ps, node);
	}
}

static void on_collection_start(yparse *ps, struct fy_event *ev, int line, int col)
{
	if (ps->depth >= YML_MAX_DEPTH) {
		/* stop reading: libfyaml keeps a state per open level, so 4 MB
		 * of '[' used to take 1.5 GB in it after this was reported */
		perr(ps, line, col, "", "nesting deeper than %d levels", YML_MAX_DEPTH);
		ps->too_deep = ps->bad = ps->stop = true;
		return;
	}
	bool is_map = ev->type == FYET_MAPPING_START;
	yml_node *node = pnew(ps, is_map ? YML_MAP : YML_SEQ, line, col);
	if (!node)
		return;
	add_anchor(ps, is_map ? ev->mapping_start.anchor : ev->sequence_start.anchor, node, false);
	if (ps->depth > 0 &&
	    ps->st[ps->depth - 1].node->type == YML_MAP && !ps->st[ps->depth - 1].have_key) {
		/* a complex key: report, and parse it as a value under "?" */
		frame *f = &ps->st[ps->depth - 1];
		perr(ps, node->line, node->col, "", "a key must be a plain name, not %s", yml_type_name(node->type));
		f->key = pstrndup(ps, "?", 1);
		f->have_key = f->key != NULL;
		f->kline = line;
		f->kcol = col;
	}
	if (!attach(ps, node))
		return;
	ps->st[ps->depth++] = (frame){ node, NULL, 0, 0, false, NULL, 0 };
}

static void on_collection_end(yparse *ps)
{
	if (ps->too_deep)
		return;
	if (ps->depth > 0) {
		frame *f = &ps->st[--ps->depth];
		if (f->key)
			sim_free(ps->a, f->key, strlen(f->key) + 1);
		key_index_free(ps, f);
	}
}

static void on_event(yparse *ps, struct fy_event *ev)
{
	const struct fy_mark *mk = fy_event_start_mark(ev);
	int line = mk ? mk->line + 1 : 0, col = mk ? mk->column + 1 : 0;
	ps->line = line;
	ps->col = col;
	if (ev->type == FYET_DOCUMENT_START && ++ps->docs > 1) {
		perr(ps, line, col, "", "only one YAML document per %s", ps->what);
		ps->bad = true;
	}
	if (ps->docs > 1)
		return;
	switch (ev->type) {
	case FYET_SCALAR:
		on_scalar(ps, ev, line, col);
		break;
	case FYET_ALIAS:
		on_alias(ps, ev, line, col);
		break;
	case FYET_MAPPING_START:
	case FYET_SEQUENCE_START:
		on_collection_start(ps, ev, line, col);
		break;
	case FYET_MAPPING_END:
	case FYET_SEQUENCE_END:
		on_collection_end(ps);
		break;
	default:
		break;
	}
}

/* libfyaml's collected syntax errors, each at its position. */
static void report_syntax_errors(yparse *ps, struct fy_diag *diag)
{
	void *it = NULL;
	struct fy_diag_error *de;
	int n = 0;
	while ((de = fy_diag_errors_iterate(diag, &it))) {
		perr(ps, de->line, de->column, "", "YAML syntax error: %s", de->msg ? de->msg : "?");
		n++;
	}
	if (!n)
		perr(ps, 0, 0, "", "YAML syntax error");
	ps->bad = true;
}

/* A parser whose diagnostics are collected, never printed; NULL when out
 * of memory (*diag destroyed). */
static struct fy_parser *quiet_parser(struct fy_diag **diag)
{
	struct fy_diag_cfg dcfg;
	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;
	dcfg.output_fn = diag_sink;
	dcfg.colorize = false;
	*diag = fy_diag_create(&dcfg);
	if (!*diag)
		return NULL;
	fy_diag_set_collect_errors(*diag, true);
	struct fy_parse_cfg pcfg;
	memset(&pcfg, 0, sizeof pcfg);
	pcfg.flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG;
	pcfg.diag = *diag;
	struct fy_parser *fyp = fy_parser_create(&pcfg);
	if (!fyp) {
		fy_diag_destroy(*diag);
		*diag = NULL;
	}
	return fyp;
}

int yml_parse(const char *text, size_t len, const char *what, const sim_alloc *a, yml_report_fn *report,
	      void *user, yml_node **root_out)
{
	return yml_parse_max(text, len, what, YML_MAX_TREE_BYTES, a, report, user, root_out, NULL);
}

int yml_parse_max(const char *text, size_t len, const char *what, size_t max_bytes, const sim_alloc *a,
		  yml_report_fn *report, void *user, yml_node **root_out, size_t *bytes_out)
{
	if (!check_utf8(report, user, text, len))
		return SIM_EINVAL;
	int dl = 0, dc = 0;
	if (flow_depth(text, len, &dl, &dc) > FLOW_PRESCAN_DEPTH) {
		char msg[512];
		snprintf(msg, sizeof msg, "nesting deeper than %d levels", YML_MAX_DEPTH);
		report(user, dl, dc, "", msg);
		return SIM_EINVAL;
	}
	struct fy_diag *diag;
	struct fy_parser *fyp = quiet_parser(&diag);
	if (!fyp)
		return SIM_ENOMEM;
	/* the stack is large (YML_MAX_DEPTH frames): not on the C stack */
	yparse *ps = sim_malloc(a, sizeof *ps);
	if (!ps || fy_parser_set_string(fyp, text, len)) {
		sim_free(a, ps, sizeof *ps);
		fy_parser_destroy(fyp);
		fy_diag_destroy(diag);
		return SIM_ENOMEM;
	}
	memset(ps, 0, sizeof *ps);
	ps->a = a;
	ps->report = report;
	ps->user = user;
	ps->what = what;
	ps->text = text;
	ps->len = len;
	ps->max_bytes = max_bytes;
	struct fy_event *ev;
	while (!ps->nomem && !ps->stop && (ev = fy_parser_parse(fyp))) {
		on_event(ps, ev);
		fy_parser_event_free(fyp, ev);
	}
	if (fy_parser_get_stream_error(fyp))
		report_syntax_errors(ps, diag);
	fy_parser_destroy(fyp);
	fy_diag_destroy(diag);
	yml_node *root = ps->root;
	bool nomem = ps->nomem, bad = ps->bad;
	size_t bytes = yml_tree_bytes(root);
	free_parse_state(ps);
	sim_free(a, ps, sizeof *ps);
	if (bad || nomem) {
		yml_free(a, root);
		return nomem ? SIM_ENOMEM : SIM_EINVAL;
	}
	*root_out = root;
	if (bytes_out)
		*bytes_out = bytes;
	return 0;
}
