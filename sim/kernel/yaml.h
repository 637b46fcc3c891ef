/* yaml.h - YAML text to a small tree whose every node and key keeps its
 * line and column, and the diagnostics that go with it: an error record
 * ("file:line:column: key: message") and the "did you mean" nearest name.
 * It knows nothing of what the document means; a schema walks the tree.
 *
 * Parsing: the text must be UTF-8 (checked first: libfyaml 0.7.12's
 * scanner loops forever on a malformed sequence in a directive).
 * libfyaml's event parser builds the tree; its diagnostics are collected
 * and reported through the caller's function, never printed.  One document
 * only.  Aliases are copied (at most YML_MAX_ALIAS_NODES nodes per text,
 * the tree at most YML_MAX_DEPTH deep: "billion laughs" is refused); merge
 * keys (<<) are not supported.  A duplicate key is reported (the second
 * is kept as well).  The tree's memory is bounded while it is parsed:
 * every node, text and item array, counted as the C library allocates
 * it, and each alias's copy counted before it is made, stays within the
 * parse's byte bound (YML_MAX_TREE_BYTES by default), or the parse stops
 * there with one report.  Single-quoted scalars with escaped quotes are decoded
 * here from the source (libfyaml 0.7.12 gets them wrong and leaks).
 *
 * The tree: a scalar holds its text; a null (plain empty, ~, null) is
 * YML_NULL, except as a key; sequences and mappings hold items in document
 * order (a sequence's items have key NULL).  Every string and node is
 * allocated with the caller's allocator and owned by its parent; the root
 * is freed with yml_free().  Positions are 1-based.  The tree is at most
 * YML_MAX_DEPTH deep, so recursive walks are bounded.
 *
 * Costs: parsing is linear in the text plus the nodes aliases copy (the
 * duplicate-key check hashes a mapping's keys: O(1) expected per key);
 * memory at most the byte bound plus libfyaml's state for YML_MAX_DEPTH
 * open levels; yml_get() is linear in the mapping's size; the
 * nearest-name search is O(k len) per candidate (a band of the edit
 * distance table, see yaml.c).
 *
 * No global state: two parses may run in two threads.
 */
#ifndef SIM_YAML_H
#define SIM_YAML_H

#include <stdbool.h>
#include <stddef.h>

#include "alloc.h"

typedef enum yml_type { YML_NULL = 0, YML_SCALAR, YML_SEQ, YML_MAP } yml_type;

typedef struct yml_node yml_node;
typedef struct yml_pair {
	char *key;       /* NULL in a sequence */
	int line, col;   /* the key's position (the item's, in a sequence) */
	yml_node *val;
} yml_pair;

struct yml_node {
	yml_type type;
	int line, col;   /* 1-based */
	char *str;       /* YML_SCALAR: the text, NUL-terminated */
	size_t n, cap;   /* YML_SEQ, YML_MAP */
	yml_pair *items;
};

#define YML_MAX_DEPTH 128
/* Nodes that aliases may copy into one tree (a file with a few shared
 * blocks uses hundreds). */
#define YML_MAX_ALIAS_NODES 100000
/* The default bound on a parse's tree, in bytes as the C library
 * allocates them: a 64 MiB scenario file of short items needs up to
 * about 100 bytes of tree per 2 bytes of text, and is refused here
 * rather than taking gigabytes. */
#define YML_MAX_TREE_BYTES ((size_t)256 << 20)

/* Where the parser reports a problem: line and column 1-based (0 when
 * libfyaml gives no position), key "" (the tree has no paths yet), msg
 * at most 511 bytes. */
typedef void yml_report_fn(void *user, int line, int col, const char *key, const char *msg);

/* Parse text[0..len) (need not be NUL-terminated); what names the kind
 * of text in messages ("only one YAML document per WHAT").  Returns 0 and
 * *root: the document's root node of any type, or NULL for an empty text.
 * A key that is not a scalar (its value kept under the key "?") and a
 * duplicate key (both kept) are reported but leave a tree: the caller
 * counts the reports.  Otherwise SIM_EINVAL after reporting every problem
 * found (not UTF-8, a syntax error, more than one document, an unknown
 * alias, too deep, too many alias nodes), or SIM_ENOMEM; on failure *root
 * is untouched. */
int yml_parse(const char *text, size_t len, const char *what, const sim_alloc *a, yml_report_fn *report,
	      void *user, yml_node **root);
/* The same with the tree bounded by max_bytes (SIM_EINVAL, reported at
 * the node that would pass it) instead of YML_MAX_TREE_BYTES; on success
 * *bytes (if not NULL) is yml_tree_bytes(*root). */
int yml_parse_max(const char *text, size_t len, const char *what, size_t max_bytes, const sim_alloc *a,
		  yml_report_fn *report, void *user, yml_node **root, size_t *bytes);

/* A new empty node, or NULL. */
yml_node *yml_new(const sim_alloc *a, yml_type t, int line, int col);
/* Append (key, val) to a sequence or mapping; takes ownership of key and
 * val, freeing them on failure (false: out of memory). */
bool yml_append(const sim_alloc *a, yml_node *parent, char *key, int line, int col, yml_node *val);
/* A deep copy with the same positions, or NULL (out of memory). */
yml_node *yml_copy(const sim_alloc *a, const yml_node *n);
void yml_free(const sim_alloc *a, yml_node *n);
/* What the tree n (NULL: 0) holds, in bytes as the C library allocates
 * them (what yml_copy() of it takes); its number of nodes.  Linear. */
size_t yml_tree_bytes(const yml_node *n);
size_t yml_tree_nodes(const yml_node *n);

/* The value of the item of mapping m with this key (the first, if
 * duplicated), or NULL; m may be NULL or not a mapping. */
yml_node *yml_get(const yml_node *m, const char *key);
/* "nothing", "a single value", "a list", "a mapping": for messages. */
const char *yml_type_name(yml_type t);

/* ---- error records ------------------------------------------------------ */

typedef struct yml_error {
	char file[512];
	int line, column; /* 1-based; 0 when the problem has no position */
	char key[256];    /* dotted path; "" for YAML syntax errors */
	char message[512];
} yml_error;

/* A growing list of errors, caller-owned (zero-initialised), grown with
 * the C library's allocator. */
typedef struct yml_errors {
	yml_error *v;
	size_t n, cap;
} yml_errors;

/* A new zeroed record at the end of e, or NULL when the list cannot grow
 * (the list is best effort: the caller counts its problems itself). */
yml_error *yml_errors_add(yml_errors *e);
void yml_errors_free(yml_errors *e);
/* "file:line:column: key: message", leaving out the position when line
 * is 0 and the key when it is "". */
void yml_error_format(const yml_error *e, char *buf, size_t len);

/* ---- the nearest name ("did you mean") ---------------------------------- */

/* A search for the candidate nearest to word: start with
 * { word, NULL, (size_t)-1 }, offer candidates with yml_near_try() (the
 * first at the least distance wins), and ask yml_near_result() for a name
 * near enough to be a likely typo (at most 1, 2 or 3 edits for a word of
 * up to 4, 8 or more characters), or NULL.  Case-insensitive; an adjacent
 * transposition is one edit. */
typedef struct yml_nearest {
	const char *word;
	const char *best;
	size_t dist;
} yml_nearest;

void yml_near_try(yml_nearest *n, const char *cand);
const char *yml_near_result(const yml_nearest *n);
/* The nearest of a NULL-terminated list, or NULL. */
const char *yml_nearest_of(const char *word, const char *const *names);
/* "a, b or c" from a NULL-terminated list, cut to len. */
void yml_list_names(char *buf, size_t len, const char *const *names);

#endif
