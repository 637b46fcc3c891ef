/* scn_int.h - what the files of the scenario loader share (internal: only
 * models/scn_*.c include it).
 *
 * The loader (scn_load.h) is split by concern:
 *   scn_load.c       entry points, reading the file, variants, the order of
 *                    the errors, the memory bound on the texts
 *   scn_override.c   dotted-path overrides: a variant's `set`, the command
 *                    line, a sweep point's values
 *   scn_sweep.c      `sweep:`: the swept keys and building every point
 *   scn_schema.c     the load context's error record and the typed getters
 *                    every schema file uses (absent -> untouched; bad ->
 *                    reported, untouched)
 *   scn_build.c      one scenario from a tree: top-level keys, tenant,
 *                    routes, the senders' list; freeing a scenario
 *   scn_limits.c     limits, presets, error throttles, replies
 *   scn_mailboxes.c  mailboxes and pools
 *   scn_senders.c    one sender: mailbox reference, message, faults,
 *                    session, retry, route
 *   scn_arrivals.c   arrivals and their weekly profile
 *   scn_dist.c       distributions of counts, sizes and reals
 *   scn_trace.c      the trace CSV reader
 * The YAML tree, its positions and the "did you mean" search are the
 * kernel's (sim/kernel/yaml.h).
 *
 * Every schema function takes the load context first, records each
 * problem in it (scn_err_at / scn_err_node) and goes on, so one load
 * reports as much as it can; an allocation failure sets c->nomem, after
 * which results are discarded.
 */
#ifndef SIM_SCN_INT_H
#define SIM_SCN_INT_H

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

#include "scn_load.h"
#include "yaml.h"

/* Mailbox names compared in one load to suggest a nearest name: bounds the
 * time a file full of typos against a large pool can take (2 x 10^5
 * comparisons: ~0.04 s at -O2, ~1.5 s under the fuzzers' instrumentation). */
#define SCN_NEAR_MAX_WORK 200000

/* A dotted path labelling a message; a longer one is cut. */
#define SCN_PATH_MAX 256

/* Nodes that come from the command line (scn_load_ex) carry this line:
 * their errors are reported at line 0, "(from the command line)". */
#define SCN_LINE_CMDLINE (-1)

/* The load's memory account (scn_load.c): every allocation of the load
 * goes through it, and one that would take the live bytes beyond
 * SCN_MAX_LOAD_BYTES fails (the load then reports the bound, not "out of
 * memory"). */
typedef struct scn_budget scn_budget;

/* One load: the caller's allocator and error list, where the walk is
 * (base, variant, sweep point) and what it has cost so far. */
typedef struct scn_ctx {
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
	size_t near_work;       /* mailbox names compared for "did you mean" (<= SCN_NEAR_MAX_WORK) */
	bool over_budget;       /* SCN_MAX_LOAD_BYTES reached: build no more variants */
	const scn_override *ov; /* command-line overrides (scn_load_ex) */
	size_t n_ov;
	const char *point;      /* "sweep point P (KEY = VALUE)" while building a point, else NULL */
	size_t sweep_err0;      /* errs->n when the points began: a problem is reported at its first point */
	size_t errs0;           /* errs->n when the load began (SCN_MAX_ERRORS are kept after it) */
	size_t errs_dropped;    /* problems beyond SCN_MAX_ERRORS, counted only */
	scn_budget *budget;     /* a is its allocator; NULL: not accounted (a nested parse) */
	bool senders_optional;  /* scn_load_serve: `senders:` may be left out */
} scn_ctx;

/* ---- scn_schema.c: memory, errors, paths, typed getters ------------------- */

/* Zeroed memory / a NUL-terminated copy of s[0..n), or NULL with c->nomem. */
void *scn_xalloc(scn_ctx *c, size_t n);
char *scn_xstrndup(scn_ctx *c, const char *s, size_t n);
/* The tree's functions, setting c->nomem when they fail. */
yml_node *scn_new(scn_ctx *c, yml_type t, int line, int col);
bool scn_append(scn_ctx *c, yml_node *parent, char *key, int line, int col, yml_node *val);
yml_node *scn_copy(scn_ctx *c, const yml_node *n);

/* Record a problem: prefixed with the variant and the sweep point being
 * built, left out when the base (or an earlier point) already reported
 * it; a line of SCN_LINE_CMDLINE becomes 0, "(from the command line)". */
void scn_push_error(scn_ctx *c, const char *file, int line, int col, const char *key, const char *msg);
__attribute__((format(printf, 6, 7)))
void scn_err_file(scn_ctx *c, const char *file, int line, int col, const char *key, const char *fmt, ...);
#define scn_err_at(c, line, col, key, ...) scn_err_file((c), (c)->file, (line), (col), (key), __VA_ARGS__)
#define scn_err_node(c, n, key, ...) scn_err_at((c), (n)->line, (n)->col, (key), __VA_ARGS__)

/* text parsed into a tree whose root is a mapping, or NULL (reported, or
 * c->nomem). */
yml_node *scn_parse_tree(scn_ctx *c, const char *text, size_t len);

/* out = path.key (or key at the top), at most SCN_PATH_MAX bytes. */
void scn_pjoin(char *out, const char *path, const char *key);
/* Report the keys of mapping m not in allowed (NULL-terminated), with the
 * nearest allowed name; a null or absent m is fine. */
void scn_check_keys(scn_ctx *c, const yml_node *m, const char *path, const char *const *allowed);
/* n if it is a mapping; NULL if absent or null; else reported, NULL. */
const yml_node *scn_want_map(scn_ctx *c, const yml_node *n, const char *path);
bool scn_want_scalar(scn_ctx *c, const yml_node *n, const char *path, const char *what);

/* The typed getters.  val_*: the value of node n at path p.  opt_*: the
 * value of key in mapping m (path: m's).  Absent: false, *out untouched;
 * bad: reported, false, *out untouched; what names the expected kind. */
typedef int (*scn_parse_i64_fn)(const char *, int64_t *, char *, size_t);
typedef int (*scn_parse_dbl_fn)(const char *, double *, char *, size_t);
bool scn_val_i64(scn_ctx *c, const yml_node *n, const char *p, scn_parse_i64_fn fn, const char *what, int64_t *out);
bool scn_val_dbl(scn_ctx *c, const yml_node *n, const char *p, scn_parse_dbl_fn fn, const char *what, double *out);
bool scn_opt_dbl(scn_ctx *c, const yml_node *m, const char *key, const char *path,
		 scn_parse_dbl_fn fn, const char *what, double *out);
bool scn_opt_i64(scn_ctx *c, const yml_node *m, const char *key, const char *path,
		 scn_parse_i64_fn fn, const char *what, int64_t *out);
bool scn_opt_bool(scn_ctx *c, const yml_node *m, const char *key, const char *path, bool *out);
/* A count that must be in [lo, hi]; the message names the bound hi_text. */
bool scn_opt_count(scn_ctx *c, const yml_node *m, const char *key, const char *path,
		   int64_t lo, int64_t hi, const char *hi_text, int64_t *out);
/* A count limit: a whole number, or off/none/unlimited = 0. */
bool scn_opt_limit(scn_ctx *c, const yml_node *m, const char *key, const char *path, int64_t *out);
bool scn_opt_dur(scn_ctx *c, const yml_node *m, const char *key, const char *path, int64_t *out);
bool scn_opt_size(scn_ctx *c, const yml_node *m, const char *key, const char *path, int64_t *out);
bool scn_opt_prob(scn_ctx *c, const yml_node *m, const char *key, const char *path, double *out);
/* One of names (NULL-terminated): its index, or -1 (reported, or absent). */
int scn_val_enum(scn_ctx *c, const yml_node *n, const char *p, const char *const *names);
int scn_opt_enum(scn_ctx *c, const yml_node *m, const char *key, const char *path, const char *const *names);
/* The first control character of s (C0, DEL, C1): its code point and
 * 1-based character position; false if there is none.  Names and keys
 * holding one are refused (docs/SCENARIOS.md, Names). */
bool scn_find_control(const char *s, unsigned *code, size_t *pos);
/* A name of 1 to SCN_NAME_MAX - 1 characters, none of them a control
 * character, copied to out. */
bool scn_opt_name(scn_ctx *c, const yml_node *m, const char *key, const char *path, char *out);

/* ---- the schema ------------------------------------------------------------ */

/* scn_build.c: build one scenario from a tree (errors to c; s is filled
 * as far as possible: free it with scn_free() whatever happens). */
void scn_build(scn_ctx *c, const yml_node *root, scenario *s);
/* Free one scenario (NULL is fine) with the allocator it records. */
void scn_free(scenario *s);

/* scn_limits.c: apply a limits mapping (preset first, then the keys) to
 * *l; a preset name at n (fills *l; false, reported, if unknown); a
 * follow-the-tenant external limit made the tenant's. */
void scn_parse_limits(scn_ctx *c, const yml_node *n, const char *path, scn_limits *l);
bool scn_val_preset(scn_ctx *c, const yml_node *n, const char *p, scn_limits *l);
void scn_resolve_tenant_limit(scn_limits *l, int64_t tenant_limit);

/* scn_build.c: whether timestamp text names its offset (Z, +hh:mm);
 * without one it is local time in the scenario's timezone (s->tz). */
bool scn_ts_has_offset(const char *t);

/* scn_mailboxes.c: the `mailboxes:` list, pools expanded, into s (limits
 * start from base); names unique across mailboxes and pools. */
void scn_parse_mailboxes(scn_ctx *c, const yml_node *n, scenario *s, const scn_limits *base);

/* scn_senders.c: senders[index] into *d; s's mailboxes, pools and routes
 * are resolved by name (mailboxes: the `mailboxes:` node, for defaults). */
void scn_parse_sender(scn_ctx *c, const yml_node *n, size_t index, const scenario *s,
		      const yml_node *mailboxes, scn_sender *d);

/* scn_arrivals.c: a sender's `arrivals:` (count_given: its count was set,
 * else a trace sets it). */
void scn_parse_arrivals(scn_ctx *c, const yml_node *n, const char *path, const scenario *s,
			scn_sender *snd, bool count_given);

/* scn_dist.c: a distribution of counts (>= 1), sizes or reals. */
typedef enum scn_vkind { SCN_V_COUNT, SCN_V_SIZE, SCN_V_REAL } scn_vkind;
void scn_parse_dist(scn_ctx *c, const yml_node *n, const char *path, scn_vkind k, scn_dist *d);
/* scn_dist.c: a duration or a distribution of durations (scn_duration);
 * a plain duration sets *fixed_ns and d->kind = DUR_FIXED. */
void scn_parse_duration(scn_ctx *c, const yml_node *n, const char *path, int64_t *fixed_ns, scn_duration *d);

/* scn_trace.c: the labels of a trace's senders (or of a record's
 * identities, or its messages), with an open-addressing hash of them
 * (slot = index + 1, 0 = empty; at most half full), so that R rows with
 * L distinct labels read in O(R) expected time rather than O(R x L).
 * Allocated through c (counted against the load's bound). */
typedef struct scn_labels {
	char **v;
	size_t n, cap;
	uint32_t *slot;
	size_t nslot;   /* a power of two, or 0 */
} scn_labels;
void scn_labels_free(scn_ctx *c, scn_labels *l);
/* The index of label s[0..len), added if new (indexes 0, 1, ... in order
 * of first appearance); -1 on allocation failure (c->nomem). */
int64_t scn_label_index(scn_ctx *c, scn_labels *l, const char *s, size_t len);
/* Sort rows v[0..n) by time, stably (tmp: room for n rows). */
void scn_sort_rows(scn_trace_row *v, scn_trace_row *tmp, size_t n);

/* The file an `arrivals:` key names (what: "trace" or "record"), relative
 * to the scenario's directory unless absolute: its path into
 * ar->trace_file, then opened if it is a regular file (rfile_open), else
 * NULL with the problem reported at n. */
FILE *scn_open_arrivals_file(scn_ctx *c, const yml_node *n, const char *p, const char *what,
			     scn_arrivals *ar);
/* scn_trace.c: the trace file named at n (path p) for sender snd of s:
 * rows into snd->arrivals, snd->count from its senders unless count_given. */
void scn_read_trace(scn_ctx *c, const yml_node *n, const char *p, const scenario *s, scn_sender *snd,
		    bool count_given);

/* scn_record.c: `arrivals: {record: FILE, identity: ADDR, scale: X}` of
 * mapping m (path p) for sender snd of s: the messages of serve's record
 * as trace rows into snd->arrivals, snd->count from its identities unless
 * count_given. */
void scn_read_record(scn_ctx *c, const yml_node *m, const char *p, const scenario *s, scn_sender *snd,
		     bool count_given);

/* ---- variants, overrides, sweeps ------------------------------------------- */

/* scn_override.c: is key `name`, or a path under it (name.x)? */
bool scn_key_under(const char *key, const char *name);
/* Apply one override (dotted path ov->key -> a copy of ov->val) to the
 * tree; the new nodes keep the override's position. */
void scn_apply_override(scn_ctx *c, yml_node *root, const yml_pair *ov);
/* Apply the command-line overrides c->ov meant for the scenario named
 * vname ("base" or a variant) to root; their nodes carry SCN_LINE_CMDLINE. */
void scn_apply_cmdline(scn_ctx *c, yml_node *root, const char *vname);

/* scn_load.c: a fresh scenario built from tree (NULL: out of memory); a
 * variant (list item it, named vname): its `set` applied to a copy of tree,
 * then the command line, built. */
scenario *scn_build_one(scn_ctx *c, const yml_node *tree, const char *text, const char *path,
			const char *variant, const char *default_name);
scenario *scn_build_variant(scn_ctx *c, const yml_node *tree, const yml_node *it, const char *vname,
			    const char *text, const char *path, const char *default_name);

/* scn_sweep.c: one swept key, a list of numbers or a range from..to by step. */
typedef struct scn_sweep_axis {
	const char *key;
	int line, col;        /* the key's position: errors of its values point here */
	const yml_node *list; /* the values, or NULL: a range */
	double from, step;
	size_t n;             /* its number of values */
} scn_sweep_axis;

/* Read `sweep:`.  Returns the number of swept keys (0: no sweep) and the
 * number of points, or -1 after reporting why the section is refused. */
int scn_parse_sweep(scn_ctx *c, const yml_node *root, size_t nvars, scn_sweep_axis ax[2], size_t *npoints);
/* Every point of the sweep: the base with the point's values, then each
 * variant's `set` on top, into v[*nv ..]. */
void scn_build_points(scn_ctx *c, const yml_node *root, const scn_sweep_axis *ax, int naxes, size_t npoints,
		      const yml_node *vars, size_t nvars, const char *text, const char *path,
		      const char *default_name, scenario **v, size_t *nv);

#endif
