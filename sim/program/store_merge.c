/* store_merge.c - shards' records and their merge into one run
 * (store_merge.h).  Built on the store's public calls (store.h) for
 * everything the store holds; the shard record is this file's own two
 * tables. */
#include "store_merge.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shard.h"
#include "status.h"

/* Bounds of a record read back, as the store's own (store_int.h). */
#define MERGE_MAX_NAME_BYTES 1024
#define MERGE_MAX_OPTIONS_BYTES ((size_t)1 << 20)
#define MERGE_MAX_REPLICATIONS 1000000
#define MERGE_MAX_SCENARIOS 1000000

static void set_err(char *err, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t size, const char *fmt, ...)
{
	if (err == NULL || size == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
}

static const char *db_name(sqlite3 *db)
{
	const char *f = sqlite3_db_filename(db, "main");
	return f && *f ? f : "results store";
}

static int db_fail(sqlite3 *db, const char *what, char *err, size_t size)
{
	set_err(err, size, "%s: %s (while %s)", db_name(db), sqlite3_errmsg(db), what);
	return SIM_ESTORE;
}

/* ---- the record -------------------------------------------------------------- */

static const char shard_schema[] =
	"CREATE TABLE IF NOT EXISTS shards (run_id INTEGER PRIMARY KEY, shard INTEGER NOT NULL,"
	" shards INTEGER NOT NULL, block INTEGER NOT NULL, options TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS shard_scenarios (run_id INTEGER NOT NULL, scenario INTEGER NOT NULL,"
	" name TEXT NOT NULL, point INTEGER, replications INTEGER NOT NULL, variant_idx INTEGER,"
	" PRIMARY KEY (run_id, scenario));";

static bool record_ok(const store_shard *s)
{
	if (s == NULL || s->index < 0 || s->count < 1 || s->index >= s->count || s->block < 1 ||
	    s->n_scenarios == 0 || s->scenarios == NULL)
		return false;
	for (size_t k = 0; k < s->n_scenarios; k++)
		if (s->scenarios[k].name == NULL || s->scenarios[k].replications < 1)
			return false;
	return true;
}

int store_note_shard(sqlite3 *db, int64_t run_id, const store_shard *s, char *err, size_t err_size)
{
	if (db == NULL || !record_ok(s)) {
		set_err(err, err_size, "store_note_shard: invalid argument");
		return SIM_EINVAL;
	}
	const char *what = "recording the shard";
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(db, what, err, err_size);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_exec(db, shard_schema, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "INSERT INTO shards (run_id, shard, shards, block, options)"
		                        " VALUES (?1, ?2, ?3, ?4, ?5)", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, run_id);
		sqlite3_bind_int64(st, 2, s->index);
		sqlite3_bind_int64(st, 3, s->count);
		sqlite3_bind_int64(st, 4, s->block);
		sqlite3_bind_text(st, 5, s->options ? s->options : "", -1, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "INSERT INTO shard_scenarios (run_id, scenario, name, point,"
		                        " replications, variant_idx) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1, &st, NULL);
	for (size_t k = 0; rc == SQLITE_OK && k < s->n_scenarios; k++) {
		const store_shard_scenario *c = &s->scenarios[k];
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, run_id);
		sqlite3_bind_int64(st, 2, (int64_t)k);
		sqlite3_bind_text(st, 3, c->name, -1, SQLITE_STATIC);
		if (c->point >= 0)
			sqlite3_bind_int64(st, 4, c->point);
		else
			sqlite3_bind_null(st, 4);
		sqlite3_bind_int64(st, 5, c->replications);
		if (c->variant_idx >= 0)
			sqlite3_bind_int64(st, 6, c->variant_idx);
		else
			sqlite3_bind_null(st, 6);
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_OK && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return SIM_OK;
	int status = db_fail(db, what, err, err_size);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return status;
}

/* The record's memory: the struct, its scenarios and their names. */
typedef struct shard_mem {
	store_shard s;
	store_shard_scenario *sc;
	char *options;
	char **names;
	size_t n;
} shard_mem;

void store_shard_free(store_shard *s)
{
	shard_mem *m = (shard_mem *)s;
	if (m == NULL)
		return;
	for (size_t k = 0; k < m->n; k++)
		free(m->names[k]);
	free(m->names);
	free(m->sc);
	free(m->options);
	free(m);
}

static bool int_col(sqlite3_stmt *st, int i, int64_t lo, int64_t hi, bool null_ok, int64_t *out)
{
	int t = sqlite3_column_type(st, i);
	if (t == SQLITE_NULL && null_ok) {
		*out = -1;
		return true;
	}
	if (t != SQLITE_INTEGER)
		return false;
	int64_t v = sqlite3_column_int64(st, i);
	*out = v;
	return v >= lo && v <= hi;
}

static char *text_col(sqlite3_stmt *st, int i, size_t max)
{
	if (sqlite3_column_type(st, i) != SQLITE_TEXT)
		return NULL;
	const unsigned char *t = sqlite3_column_text(st, i);
	size_t n = (size_t)sqlite3_column_bytes(st, i);
	if (t == NULL || n > max || strlen((const char *)t) != n)
		return NULL;
	return strndup((const char *)t, n);
}

int store_load_shard(sqlite3 *db, int64_t run_id, store_shard **out, char *err, size_t err_size)
{
	if (db == NULL || out == NULL) {
		set_err(err, err_size, "store_load_shard: invalid argument");
		return SIM_EINVAL;
	}
	const char *what = "reading the shard record";
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
	                       " AND name IN ('shards', 'shard_scenarios')", -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, what, err, err_size);
	int rc = sqlite3_step(st);
	int64_t tables = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_finalize(st);
	if (tables < 0)
		return db_fail(db, what, err, err_size);
	if (tables < 2) {
		*out = NULL;
		return SIM_OK;
	}
	shard_mem *m = calloc(1, sizeof *m);
	if (m == NULL)
		goto nomem;
	if (sqlite3_prepare_v2(db, "SELECT shard, shards, block, options FROM shards WHERE run_id = ?1", -1, &st,
	                       NULL) != SQLITE_OK)
		goto fail_db;
	sqlite3_bind_int64(st, 1, run_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_finalize(st);
		store_shard_free(&m->s);
		*out = NULL;
		return SIM_OK;
	}
	if (rc != SQLITE_ROW)
		goto fail_db;
	int64_t index, count, block;
	if (!int_col(st, 1, 1, SHARD_MAX_COUNT, false, &count) || !int_col(st, 0, 0, count - 1, false, &index) ||
	    !int_col(st, 2, 1, MERGE_MAX_REPLICATIONS, false, &block) ||
	    (m->options = text_col(st, 3, MERGE_MAX_OPTIONS_BYTES)) == NULL)
		goto damaged;
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(db, "SELECT scenario, name, point, replications, variant_idx FROM shard_scenarios"
	                       " WHERE run_id = ?1 ORDER BY scenario", -1, &st, NULL) != SQLITE_OK)
		goto fail_db;
	sqlite3_bind_int64(st, 1, run_id);
	size_t cap = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (m->n == cap) {
			size_t nc = cap ? 2 * cap : 16;
			if (nc > MERGE_MAX_SCENARIOS)
				goto damaged;
			store_shard_scenario *sc = realloc(m->sc, nc * sizeof *sc);
			if (sc == NULL)
				goto nomem;
			m->sc = sc;
			char **names = realloc(m->names, nc * sizeof *names);
			if (names == NULL)
				goto nomem;
			m->names = names;
			cap = nc;
		}
		int64_t k, point, reps, vi;
		if (!int_col(st, 0, (int64_t)m->n, (int64_t)m->n, false, &k) ||
		    !int_col(st, 2, 0, INT64_MAX, true, &point) ||
		    !int_col(st, 3, 1, MERGE_MAX_REPLICATIONS, false, &reps) ||
		    !int_col(st, 4, 0, MERGE_MAX_SCENARIOS, true, &vi))
			goto damaged;
		char *name = text_col(st, 1, MERGE_MAX_NAME_BYTES);
		if (name == NULL)
			goto damaged;
		m->names[m->n] = name;
		m->sc[m->n++] = (store_shard_scenario){ .name = name, .point = point, .replications = reps,
		                                        .variant_idx = vi };
	}
	if (rc != SQLITE_DONE)
		goto fail_db;
	sqlite3_finalize(st);
	if (m->n == 0) {
		st = NULL;
		goto damaged;
	}
	m->s = (store_shard){ .index = index, .count = count, .block = block, .options = m->options,
	                      .scenarios = m->sc, .n_scenarios = m->n };
	*out = &m->s;
	return SIM_OK;
nomem:
	sqlite3_finalize(st);
	store_shard_free(m ? &m->s : NULL);
	set_err(err, err_size, "%s: out of memory (while %s)", db_name(db), what);
	return SIM_ENOMEM;
fail_db:
	rc = db_fail(db, what, err, err_size);
	sqlite3_finalize(st);
	store_shard_free(&m->s);
	return rc;
damaged:
	sqlite3_finalize(st);
	store_shard_free(&m->s);
	set_err(err, err_size, "%s: run %lld: its shard record is out of range (damaged results file?)", db_name(db),
	        (long long)run_id);
	return SIM_ESTORE;
}

/* ---- the merge --------------------------------------------------------------- */

typedef struct shard_in {
	const char *path;
	store_loaded *l;
	store_shard *s;
} shard_in;

typedef struct merge {
	const store_merge_opts *o;
	shard_in *in;
	shard_unit *units;
	size_t n_units;
	size_t *owner;          /* per unit, the input holding it (SIZE_MAX: none) */
	rpt_variant *rv;        /* per scenario of the run */
	res_rep **reps;         /* per scenario, its replications in order (copies of the
	                         * loaded structs: the loaded shards own their arrays) */
	size_t n_rv;
	char *err;
	size_t err_size;
} merge;

/* Reads each input's newest run and its shard record. */
static int read_inputs(merge *m)
{
	const store_merge_opts *o = m->o;
	for (size_t i = 0; i < o->n_in; i++) {
		shard_in *in = &m->in[i];
		in->path = o->in[i];
		sqlite3 *db = NULL;
		int64_t id = 0;
		int st = store_open_readonly(in->path, &db, m->err, m->err_size);
		if (st == SIM_OK && (st = store_last_run(db, &id, m->err, m->err_size)) == SIM_EINVAL)
			set_err(m->err, m->err_size, "%s: no runs in it: not a shard (run --shard I/N writes one)", in->path);
		if (st == SIM_OK)
			st = store_load_run(db, id, &in->l, m->err, m->err_size);
		if (st == SIM_OK)
			st = store_load_shard(db, id, &in->s, m->err, m->err_size);
		store_close(db);
		if (st != SIM_OK)
			return st;
		if (in->s == NULL) {
			set_err(m->err, m->err_size, "%s: run %lld is not a shard (a run of the whole scenario;"
			        " shards come from run --shard I/N)", in->path, (long long)id);
			return SIM_EINVAL;
		}
		if (!in->l->row.complete) {
			set_err(m->err, m->err_size, "%s: run %lld (shard %lld/%lld) is incomplete (interrupted or"
			        " failed): run that shard again", in->path, (long long)id, (long long)in->s->index,
			        (long long)in->s->count);
			return SIM_EINVAL;
		}
	}
	return SIM_OK;
}

/* The inputs make one run: each agrees with the first, and the first
 * with this program. */
static int check_same_run(merge *m)
{
	const shard_in *a = &m->in[0];
	const store_run_row *ra = &a->l->row;
	if (strcmp(ra->program_version, m->o->version) != 0) {
		set_err(m->err, m->err_size, "%s was written by throttlesim %s and this is throttlesim %s: merge"
		        " with the version that ran the shards", a->path, ra->program_version, m->o->version);
		return SIM_EINVAL;
	}
	for (size_t i = 1; i < m->o->n_in; i++) {
		const shard_in *b = &m->in[i];
		const store_run_row *rb = &b->l->row;
		const char *p = a->path, *q = b->path;
		if (strcmp(ra->program_version, rb->program_version) != 0) {
			set_err(m->err, m->err_size, "%s and %s were written by different versions of throttlesim"
			        " (%s and %s): the shards of a run come from one version", p, q,
			        ra->program_version, rb->program_version);
			return SIM_EINVAL;
		}
		if (strcmp(ra->scenario_text, rb->scenario_text) != 0) {
			set_err(m->err, m->err_size, "%s and %s are shards of different scenario files (scenarios"
			        " '%s' and '%s'; their texts differ)", p, q, ra->scenario_name, rb->scenario_name);
			return SIM_EINVAL;
		}
		if (ra->seed != rb->seed) {
			set_err(m->err, m->err_size, "%s and %s are shards of runs with different seeds (%" PRIu64
			        " and %" PRIu64 ")", p, q, ra->seed, rb->seed);
			return SIM_EINVAL;
		}
		if (ra->replications != rb->replications) {
			set_err(m->err, m->err_size, "%s and %s are shards of runs with different replications"
			        " (%lld and %lld)", p, q, (long long)ra->replications, (long long)rb->replications);
			return SIM_EINVAL;
		}
		const store_shard *sa = a->s, *sb = b->s;
		if (sa->block != sb->block) {
			set_err(m->err, m->err_size, "%s and %s cut the run into different units (--block %lld and"
			        " --block %lld)", p, q, (long long)sa->block, (long long)sb->block);
			return SIM_EINVAL;
		}
		if (strcmp(sa->options, sb->options) != 0) {
			set_err(m->err, m->err_size, "%s and %s are shards of runs with different options ('%s' and"
			        " '%s')", p, q, sa->options, sb->options);
			return SIM_EINVAL;
		}
		bool same = sa->n_scenarios == sb->n_scenarios;
		for (size_t k = 0; same && k < sa->n_scenarios; k++)
			same = strcmp(sa->scenarios[k].name, sb->scenarios[k].name) == 0 &&
			       sa->scenarios[k].point == sb->scenarios[k].point &&
			       sa->scenarios[k].replications == sb->scenarios[k].replications;
		if (!same) {
			set_err(m->err, m->err_size, "%s and %s are shards of runs with different variants, sweep"
			        " points or replications", p, q);
			return SIM_EINVAL;
		}
	}
	return SIM_OK;
}

/* "base, replications 0-9" or "pool-of-4 at point 3, replication 7". */
static void unit_text(const merge *m, size_t u, char *buf, size_t size)
{
	const shard_unit *x = &m->units[u];
	const store_shard_scenario *c = &m->in[0].s->scenarios[x->scenario];
	char at[40] = "";
	if (c->point >= 0)
		snprintf(at, sizeof at, " at point %lld", (long long)c->point);
	if (x->n == 1)
		snprintf(buf, size, "%s%s, replication %lld", c->name, at, (long long)x->first);
	else
		snprintf(buf, size, "%s%s, replications %lld-%lld", c->name, at, (long long)x->first,
		         (long long)(x->first + x->n - 1));
}

/* Appends ", N" (or "N" first) to buf while it fits; "..." once it does not. */
static void append_number(char *buf, size_t size, size_t *len, bool first, size_t v)
{
	if (*len >= size - 8)
		return;
	int w = snprintf(buf + *len, size - *len, "%s%zu", first ? "" : ", ", v);
	if (w < 0 || (size_t)w >= size - *len - 8) {
		buf[*len] = '\0';
		*len += (size_t)snprintf(buf + *len, size - *len, ", ...");
		*len = size;  /* nothing more */
		return;
	}
	*len += (size_t)w;
}

/* Every unit in exactly one input. */
static int check_coverage(merge *m)
{
	const store_shard *s0 = m->in[0].s;
	int64_t *reps = calloc(s0->n_scenarios, sizeof *reps);
	if (reps == NULL)
		return SIM_ENOMEM;
	for (size_t k = 0; k < s0->n_scenarios; k++)
		reps[k] = s0->scenarios[k].replications;
	int st = shard_units(reps, s0->n_scenarios, s0->block, &m->units, &m->n_units);
	free(reps);
	if (st != SIM_OK)
		return st;
	if ((m->owner = malloc((m->n_units ? m->n_units : 1) * sizeof *m->owner)) == NULL)
		return SIM_ENOMEM;
	for (size_t u = 0; u < m->n_units; u++)
		m->owner[u] = SIZE_MAX;
	for (size_t i = 0; i < m->o->n_in; i++) {
		const store_shard *s = m->in[i].s;
		for (size_t u = 0; u < m->n_units; u++) {
			if (!shard_takes(u, s->index, s->count))
				continue;
			if (m->owner[u] != SIZE_MAX) {
				const shard_in *a = &m->in[m->owner[u]];
				char what[2 * MERGE_MAX_NAME_BYTES];
				unit_text(m, u, what, sizeof what);
				set_err(m->err, m->err_size, "%s (shard %lld/%lld) and %s (shard %lld/%lld) both hold unit"
				        " %zu (%s): give each shard once", a->path, (long long)a->s->index,
				        (long long)a->s->count, m->in[i].path, (long long)s->index, (long long)s->count, u,
				        what);
				return SIM_EINVAL;
			}
			m->owner[u] = i;
		}
	}
	size_t missing = 0, first_missing = 0;
	for (size_t u = 0; u < m->n_units; u++)
		if (m->owner[u] == SIZE_MAX && missing++ == 0)
			first_missing = u;
	if (missing == 0)
		return SIM_OK;
	bool one_count = true;
	for (size_t i = 1; i < m->o->n_in; i++)
		one_count = one_count && m->in[i].s->count == s0->count;
	char units[160], what[2 * MERGE_MAX_NAME_BYTES];
	size_t len = 0, n = 0;
	units[0] = '\0';
	for (size_t u = 0; u < m->n_units; u++)
		if (m->owner[u] == SIZE_MAX)
			append_number(units, sizeof units, &len, n++ == 0, u);
	unit_text(m, first_missing, what, sizeof what);
	if (!one_count) {
		set_err(m->err, m->err_size, "no file holds unit%s %s (the first: %s): give every shard of the run",
		        missing == 1 ? "" : "s", units, what);
		return SIM_EINVAL;
	}
	/* The shards those units belong to, with the count the files share. */
	char shards[160];
	size_t slen = 0, ns = 0;
	shards[0] = '\0';
	for (int64_t i = 0; i < s0->count; i++) {
		bool lacks = false;
		for (size_t u = (size_t)i; u < m->n_units && !lacks; u += (size_t)s0->count)
			lacks = m->owner[u] == SIZE_MAX;
		if (!lacks)
			continue;
		if (slen < sizeof shards - 16) {
			int w = snprintf(shards + slen, sizeof shards - slen, "%s%lld/%lld", ns ? ", " : "", (long long)i,
			                 (long long)s0->count);
			slen += w > 0 ? (size_t)w : 0;
		}
		ns++;
	}
	set_err(m->err, m->err_size, "shard%s %s %s missing: no file holds unit%s %s (the first: %s)",
	        ns == 1 ? "" : "s", shards, ns == 1 ? "is" : "are", missing == 1 ? "" : "s", units, what);
	return SIM_EINVAL;
}

/* The replication r of a loaded variant (replications ascending), or NULL. */
static const res_rep *find_rep(const rpt_variant *v, int64_t r)
{
	size_t lo = 0, hi = v->n_reps;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v->reps[mid].replication < r)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < v->n_reps && v->reps[lo].replication == r ? &v->reps[lo] : NULL;
}

/* Each input holds what its record says: for every scenario, the
 * replications of its units, under the variant the record names. */
static int check_contents(merge *m, size_t i)
{
	const shard_in *in = &m->in[i];
	const store_shard *s = in->s;
	const rpt_run *run = &in->l->run;
	size_t held = 0;
	size_t *count = calloc(s->n_scenarios, sizeof *count);
	if (count == NULL)
		return SIM_ENOMEM;
	bool ok = true;
	for (size_t u = 0; u < m->n_units && ok; u++) {
		if (m->owner[u] != i)
			continue;
		const shard_unit *x = &m->units[u];
		int64_t vi = s->scenarios[x->scenario].variant_idx;
		ok = vi >= 0 && (size_t)vi < run->n_variants;
		for (int64_t r = x->first; ok && r < x->first + x->n; r++)
			ok = find_rep(&run->variants[vi], r) != NULL;
		if (ok)
			count[x->scenario] += (size_t)x->n;
	}
	for (size_t k = 0; k < s->n_scenarios && ok; k++) {
		int64_t vi = s->scenarios[k].variant_idx;
		if (vi < 0) {
			ok = count[k] == 0;
			continue;
		}
		const rpt_variant *v = (size_t)vi < run->n_variants ? &run->variants[vi] : NULL;
		const res_desc *d = v ? v->desc : NULL;
		ok = v != NULL && count[k] == v->n_reps && v->name && strcmp(v->name, s->scenarios[k].name) == 0 &&
		     (d == NULL || (d->sweep_point >= 0 ? d->sweep_point : -1) == s->scenarios[k].point);
		held++;
	}
	free(count);
	if (!ok || held != run->n_variants) {
		set_err(m->err, m->err_size, "%s: run %lld holds other replications than its shard record"
		        " (shard %lld/%lld) says (damaged results file?)", in->path, (long long)in->l->row.id,
		        (long long)s->index, (long long)s->count);
		return SIM_ESTORE;
	}
	return SIM_OK;
}

/* The run's variants, each with its replications in order, taken from
 * the inputs holding them. */
static int assemble(merge *m, rpt_run *run, store_merge_info *info)
{
	const store_shard *s0 = m->in[0].s;
	size_t nv = s0->n_scenarios;
	if ((m->rv = calloc(nv, sizeof *m->rv)) == NULL || (m->reps = calloc(nv, sizeof *m->reps)) == NULL)
		return SIM_ENOMEM;
	m->n_rv = nv;
	int64_t total = 0;
	for (size_t k = 0; k < nv; k++) {
		size_t n = (size_t)s0->scenarios[k].replications;
		if ((m->reps[k] = calloc(n, sizeof *m->reps[k])) == NULL)
			return SIM_ENOMEM;
		m->rv[k].reps = m->reps[k];
		m->rv[k].n_reps = n;
		total += (int64_t)n;
	}
	for (size_t u = 0; u < m->n_units; u++) {
		const shard_unit *x = &m->units[u];
		const shard_in *in = &m->in[m->owner[u]];
		const rpt_variant *v = &in->l->run.variants[in->s->scenarios[x->scenario].variant_idx];
		rpt_variant *out = &m->rv[x->scenario];
		if (out->name == NULL) {
			out->name = v->name;
			out->desc = v->desc;
		}
		for (int64_t r = x->first; r < x->first + x->n; r++)
			m->reps[x->scenario][r] = *find_rep(v, r);
	}
	const store_run_row *r0 = &m->in[0].l->row;
	*run = (rpt_run){ .scenario_name = r0->scenario_name, .seed = r0->seed, .version = r0->program_version,
	                  .variants = m->rv, .n_variants = nv };
	*info = (store_merge_info){ .n_variants = nv, .n_replications = total, .n_units = m->n_units };
	return SIM_OK;
}

static void remove_store_files(const char *path)
{
	char side[4200];
	unlink(path);
	snprintf(side, sizeof side, "%.4000s-wal", path);
	unlink(side);
	snprintf(side, sizeof side, "%.4000s-shm", path);
	unlink(side);
	snprintf(side, sizeof side, "%.4000s-journal", path);
	unlink(side);
}

/* The merged run into a new file at tmp, then linked as out. */
static int write_merged(merge *m, const rpt_run *run, const char *tmp, store_merge_info *info)
{
	const store_merge_opts *o = m->o;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
	if (fd < 0) {
		set_err(m->err, m->err_size, "%s: %s (while creating the merged file)", tmp, strerror(errno));
		return SIM_EIO;
	}
	close(fd);
	const store_run_row *r0 = &m->in[0].l->row;
	store_run_info ri = { .program_version = r0->program_version, .scenario_name = r0->scenario_name,
	                      .scenario_file = r0->scenario_file, .scenario_text = r0->scenario_text,
	                      .command_line = o->command_line, .seed = r0->seed,
	                      .replications = r0->replications };
	sqlite3 *db = NULL;
	int st = store_open_waiting(tmp, o->on_wait, o->ctx, &db, m->err, m->err_size);
	if (st == SIM_OK)
		st = store_begin_run(db, &ri, &info->run_id, m->err, m->err_size);
	if (st == SIM_OK)
		st = store_write_results_series(db, info->run_id, run, o->keep_series, m->err, m->err_size);
	if (st == SIM_OK)
		st = store_finish_run(db, info->run_id, m->err, m->err_size);
	store_close(db);
	char wal[4200];
	snprintf(wal, sizeof wal, "%.4000s-wal", tmp);
	struct stat sb;
	if (st == SIM_OK && lstat(wal, &sb) == 0 && sb.st_size > 0) {
		/* the last close checkpoints the WAL into the file and removes it;
		 * a WAL left means the file alone is not the whole run */
		set_err(m->err, m->err_size, "%s: the merged file's write-ahead log was not checkpointed", tmp);
		st = SIM_ESTORE;
	}
	if (st == SIM_OK && link(tmp, o->out) != 0) {
		set_err(m->err, m->err_size, "%s: %s (while naming the merged file%s)", o->out, strerror(errno),
		        errno == EEXIST ? ": it was created while merging; nothing written to it" : "");
		st = SIM_EIO;
	}
	remove_store_files(tmp);
	return st;
}

int store_merge(const store_merge_opts *o, store_merge_info *info, char *err, size_t err_size)
{
	if (o == NULL || info == NULL || o->out == NULL || o->in == NULL || o->n_in == 0 || o->version == NULL) {
		set_err(err, err_size, "store_merge: invalid argument");
		return SIM_EINVAL;
	}
	if (*o->out == '\0') {
		set_err(err, err_size, "the merged file's name is empty");
		return SIM_EINVAL;
	}
	struct stat sb;
	if (lstat(o->out, &sb) == 0 || errno != ENOENT) {
		set_err(err, err_size, "%s exists: results merge writes a new file (the merged run appears whole or"
		        " not at all); give a new name", o->out);
		return SIM_EINVAL;
	}
	for (size_t i = 0; i < o->n_in; i++)
		if (strcmp(o->in[i], o->out) == 0) {
			set_err(err, err_size, "%s is both the output and an input", o->out);
			return SIM_EINVAL;
		}
	merge m = { .o = o, .err = err, .err_size = err_size };
	char tmp[4200];
	int st = SIM_ENOMEM;
	if ((m.in = calloc(o->n_in, sizeof *m.in)) == NULL)
		goto out;
	rpt_run run;
	store_merge_info got;
	if ((st = read_inputs(&m)) != SIM_OK || (st = check_same_run(&m)) != SIM_OK ||
	    (st = check_coverage(&m)) != SIM_OK)
		goto out;
	for (size_t i = 0; i < o->n_in; i++)
		if ((st = check_contents(&m, i)) != SIM_OK)
			goto out;
	if ((st = assemble(&m, &run, &got)) != SIM_OK)
		goto out;
	if (o->tmp_path)
		snprintf(tmp, sizeof tmp, "%s", o->tmp_path);
	else
		snprintf(tmp, sizeof tmp, "%s.merge-%ld", o->out, (long)getpid());
	if ((st = write_merged(&m, &run, tmp, &got)) == SIM_OK)
		*info = got;
out:
	if (st == SIM_ENOMEM)
		set_err(err, err_size, "out of memory while merging into %s", o->out);
	for (size_t i = 0; m.in && i < o->n_in; i++) {
		store_loaded_free(m.in[i].l);
		store_shard_free(m.in[i].s);
	}
	free(m.in);
	free(m.units);
	free(m.owner);
	for (size_t k = 0; m.reps && k < m.n_rv; k++)
		free(m.reps[k]);
	free(m.reps);
	free(m.rv);
	return st;
}
