/* scn_load.h - scenario files (YAML) to validated scenario structs.
 *
 * The loader parses the file with libfyaml's event parser into a small
 * tree of its own (every node and key keeps its line and column), checks
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
 * base file is reported once, not again for each variant.
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

typedef struct scn_error {
	char file[512];
	int line, column; /* 1-based; 0 when the problem has no position */
	char key[256];    /* dotted path; "" for YAML syntax errors */
	char message[512];
} scn_error;

typedef struct scn_errors {
	scn_error *v;
	size_t n, cap;
} scn_errors;

void scn_errors_free(scn_errors *e);

/* Bounds checked before a run (each refused with the key and the bound). */
#define SCN_MAX_INSTANCES 10000000LL   /* sender instances, all groups */
#define SCN_MAX_MAILBOXES 1000000LL    /* mailboxes after pool expansion */
#define SCN_MAX_VARIANTS 10000
#define SCN_MAX_REPLICATIONS 1000000LL

/* Load and validate path.  On success returns 0 and *out holds n >= 1
 * scenarios: [0] the base ("base"), then each variant in file order, each
 * fully resolved.  On failure returns SIM_ESCENARIO (or SIM_EIO when the
 * file cannot be read, SIM_ENOMEM when an allocation fails), *out
 * untouched, and errs holds one entry per problem found. */
int scn_load(const char *path, const sim_alloc *a, scenario ***out, size_t *n, scn_errors *errs);

/* Free what scn_load() returned. */
void scn_free_all(scenario **v, size_t n, const sim_alloc *a);

/* Format one error as "file:line:column: key: message". */
void scn_error_format(const scn_error *e, char *buf, size_t len);

/* A duration given on the command line (--duration 2d): the grammar of
 * unit_parse_duration(); 0 or SIM_EINVAL/SIM_ERANGE. */
int scn_parse_duration_arg(const char *s, int64_t *ns);

#endif
