/* scn_load.h - scenario files (YAML) to validated scenario structs.
 *
 * The loader parses the file into the kernel's YAML tree (sim/kernel/
 * yaml.h: every node and key keeps its line and column), checks
 * it against the schema of docs/SCENARIOS.md, fills the defaults and the
 * presets, expands pools, resolves names to indexes and reads trace files.
 * Variants are applied to copies of that tree (dotted override paths) and
 * each result is validated as a scenario of its own.
 *
 * Errors: every problem found becomes one scn_error; the loader goes on
 * and collects as many as it can.  scn_error_format() prints one as
 * "file:line:column: key: message" (line and column 1-based; key is the
 * dotted path, e.g. senders.mfp.arrivals.poisson).  Errors of a variant
 * say "variant 'NAME': " at the start of the message; a problem of the
 * base file is reported once, not again for each variant.  Errors at a
 * point of a sweep say "sweep point P (KEY = VALUE): " (after the variant
 * part), at most once per point, and one shared by several points only at
 * the first; the points are built only when the base and the variants
 * without the sweep are valid.
 *
 * Ownership: on success the caller owns *out (an array of n scenarios,
 * allocated with a) and frees it with scn_free_all().  On failure *out and
 * *n are untouched.  errs is caller-owned (zero-initialised) and grows with
 * the C library's allocator; free it with scn_errors_free().
 * No global state: two loads may run in two threads.
 */
#ifndef SIM_SCN_LOAD_H
#define SIM_SCN_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "scenario.h"
#include "yaml.h"

/* One problem: file, line and column (1-based; 0 when the problem has no
 * position), key (the dotted path; "" for YAML syntax errors) and message;
 * and a list of them.  The kernel's records (yaml.h). */
typedef yml_error scn_error;
typedef yml_errors scn_errors;

void scn_errors_free(scn_errors *e);

/* Bounds checked before a run (each refused with the key and the bound). */
#define SCN_MAX_INSTANCES 10000000LL   /* sender instances, all groups */
#define SCN_MAX_MAILBOXES 1000000LL    /* mailboxes after pool expansion */
#define SCN_MAX_VARIANTS 10000
#define SCN_MAX_REPLICATIONS 1000000LL
/* The seed, in the file and with --seed alike: 0 to 2^63 - 1 (the store
 * keeps it as a signed 64-bit INTEGER). */
#define SCN_MAX_SEED INT64_MAX
/* Memory the loader may hold for one file, counted over the base and all
 * its variants: mailboxes (about 3 KB each), trace rows (40 B each, twice
 * while sorting) and a copy of the file's text per scenario.  So 10^6
 * mailboxes, or a 10^5-mailbox file with 10 variants, is refused before
 * anything is allocated. */
#define SCN_MAX_LOAD_BYTES ((size_t)1 << 30)
/* Every allocation of a load is counted against SCN_MAX_LOAD_BYTES as
 * well (as the C library rounds it), so the bound holds whatever the
 * file holds; the YAML tree alone is bounded while it is parsed
 * (YML_MAX_TREE_BYTES, 256 MiB).  Each variant and sweep point is built
 * from a copy of the tree: at most SCN_MAX_COPY_NODES nodes copied in
 * all (variants plus points x (1 + variants), times the tree's nodes),
 * refused before the first copy. */
#define SCN_MAX_COPY_NODES 50000000LL
/* Problems kept in the error list per load; more are counted and told
 * in one last entry (a file of 100,000 bad keys used to keep 130 MB of
 * records). */
#define SCN_MAX_ERRORS 100
/* A scenario file larger than this is refused unread. */
#define SCN_MAX_FILE_BYTES ((size_t)64 << 20)

/* Load and validate path.  On success returns 0 and *out holds n >= 1
 * scenarios: [0] the base ("base"), then each variant in file order, each
 * fully resolved; sweep_point is -1 and n_sweep_keys 0 in each.  With a
 * `sweep:` section, the same for each point p of the sweep in turn
 * (Cartesian product, first key outer): the base then each variant, with
 * the point's values applied to the base tree before the variant's `set`
 * (a variant that sets a swept key wins), each with sweep_point = p and
 * the swept keys and values; variant names are the same at every point.
 * On failure returns SIM_ESCENARIO (or SIM_EIO when the
 * file cannot be read, SIM_ENOMEM when an allocation fails), *out
 * untouched, and errs holds one entry per problem found. */
int scn_load(const char *path, const sim_alloc *a, scenario ***out, size_t *n, scn_errors *errs);

/* Sweeps (docs/SCENARIOS.md, `sweep:`): at most SCN_MAX_SWEEP_POINTS
 * points (the product over the one or two swept keys), and at most
 * SCN_MAX_SCENARIOS scenarios returned (points x (1 + variants)). */
#define SCN_MAX_SWEEP_POINTS 1000
#define SCN_MAX_SCENARIOS 10000

/* One override given on the command line: a dotted key as in a variant's
 * `set` (senders.mfp.count) and its value, the text of a YAML scalar or
 * flow collection: "12", "30s", "{pool: x, assign: round_robin}". */
typedef struct scn_override {
	const char *key;
	const char *value;
	const char *variant; /* NULL: the base and every variant; else only the one so named ("base" too) */
} scn_override;

/* As scn_load, with each override applied as if the file said so: to the
 * base tree (before the sweep, which wins on its own keys), and again to
 * each variant after its own `set`, so the command line wins over a
 * variant.  A problem caused by an override (a
 * value that is not YAML or not valid for the key, a key that the schema
 * does not know) names the key, has line and column 0 and ends with
 * "(from the command line)".  An override may not change `variants` or
 * `sweep`.  ov may be NULL when n_ov is 0. */
int scn_load_ex(const char *path, const sim_alloc *a, const scn_override *ov, size_t n_ov,
		scenario ***out, size_t *n, scn_errors *errs);

/* As scn_load, for `throttlesim serve`: `senders:` may be left out (the
 * real clients are the senders); a scenario without senders has
 * n_senders 0 and cannot be run. */
int scn_load_serve(const char *path, const sim_alloc *a, scenario ***out, size_t *n, scn_errors *errs);

/* The same for a text in memory: name stands for the file in errors and
 * gives the default scenario name; relative trace paths are resolved
 * against base_dir ("" or NULL: the current directory).  text need not be
 * NUL-terminated; a NUL byte among its len bytes is refused.  scn_load()
 * is scn_load_buffer() on the file's contents with base_dir = the file's
 * directory. */
int scn_load_buffer(const char *name, const char *text, size_t len, const char *base_dir,
		    const sim_alloc *a, scenario ***out, size_t *n, scn_errors *errs);

/* scn_load_buffer with overrides, as scn_load_ex (a stored run's text and
 * its --set values, replayed). */
int scn_load_buffer_ex(const char *name, const char *text, size_t len, const char *base_dir,
		       const sim_alloc *a, const scn_override *ov, size_t n_ov, scenario ***out, size_t *n,
		       scn_errors *errs);

/* Parse a trace CSV held in memory (the format of docs/SCENARIOS.md, the
 * reader scn_load() uses for `arrivals: {trace: FILE}`): a header
 * time,sender,recipients,size[,external], then one row per message;
 * timestamps are taken relative to start_unix_s.  name labels the errors
 * (row problems at their line and column; problems of the whole text
 * without a position).  On success returns 0, *rows (allocated with a,
 * *nrows >= 1 entries, sorted by time, stable; free with
 * sim_free(a, *rows, *nrows * sizeof **rows)), *nrows and, if nsenders is
 * not NULL, the number of distinct senders (instances 0..*nsenders-1).
 * On failure returns SIM_ESCENARIO or SIM_ENOMEM, outputs untouched. */
int scn_trace_parse(const char *name, const char *text, size_t len, int64_t start_unix_s,
		    const sim_alloc *a, scn_trace_row **rows, size_t *nrows, size_t *nsenders,
		    scn_errors *errs);

/* Read a serve record held in memory (docs/SERVE.md, "The record", the reader
 * scn_load() uses for `arrivals: {record: FILE, identity: ADDR, scale:
 * X}`): one row per message at the model time of its first attempt, of
 * every identity (identity NULL; instances in order of first message) or
 * of one (instance 0), each arrival scale times (1 to 10^4), the copies
 * spread over the gap to the instance's next arrival.  Errors and
 * outputs as scn_trace_parse (line problems at the record's line and
 * column); *ninstances may be NULL.  SIM_EINVAL for a scale out of range. */
int scn_record_parse(const char *name, const char *text, size_t len, const char *identity, int64_t scale,
		     const sim_alloc *a, scn_trace_row **rows, size_t *nrows, size_t *ninstances,
		     scn_errors *errs);

/* Free what scn_load() returned. */
void scn_free_all(scenario **v, size_t n, const sim_alloc *a);

/* Format one error as "file:line:column: key: message". */
void scn_error_format(const scn_error *e, char *buf, size_t len);

#endif
