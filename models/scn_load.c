/* scn_load.c - scenario files to scenario structs (see scn_load.h; the
 * file format is documented in docs/SCENARIOS.md; the files of the loader
 * are listed in scn_int.h).
 *
 * Three stages:
 *   1. parse: the YAML text -> a tree with positions (sim/kernel/yaml.h).
 *   2. variants: each variant's `set` paths are applied to a copy of the
 *      tree; replaced values keep the override's positions, so errors in
 *      them point at the override's line.  Command-line overrides
 *      (scn_load_ex) go on the tree first (their nodes at SCN_LINE_CMDLINE);
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
 * most SCN_NEAR_MAX_WORK names per load.
 *
 * Bounds on what one file may cost, all refused with an error naming the
 * key: the counts of scn_load.h, a file of SCN_MAX_FILE_BYTES, and
 * SCN_MAX_LOAD_BYTES of mailboxes, trace rows and text over the base and
 * all variants.  tests/fuzz/ fuzzes the loader (docs/RELIABILITY.md).
 */
#include "scn_int.h"

#include <stdio.h>
#include <string.h>

#include "rfile.h"
#include "status.h"

static const char *const variant_keys[] = { "name", "description", "set", NULL };

/* ---- the memory account ---------------------------------------------------- */

/* Every allocation of a load, counted as the C library takes it (an
 * 8-byte header, 16-byte alignment, 32 bytes at least), so the bound
 * holds for the resident size whatever the input: the tree, its copies
 * for the variants, the texts, the scenarios and their arrays.  The
 * checks that name a key (mailboxes, trace rows, texts: load_bytes) come
 * first; this is what makes the bound hold for anything they miss. */
struct scn_budget {
	sim_alloc under;  /* the caller's */
	size_t live, max;
	bool over;        /* an allocation was refused for the bound */
};

static size_t chunk_of(size_t n)
{
	size_t c = (n + 8 + 15) & ~(size_t)15;
	return n == 0 ? 0 : c < 32 ? 32 : c;
}

static void *budget_fn(void *ud, void *p, size_t old, size_t n)
{
	scn_budget *b = ud;
	size_t co = chunk_of(old), cn = chunk_of(n);
	if (cn > co && cn - co > b->max - b->live) {
		b->over = true;
		return NULL;
	}
	void *q = b->under.fn(b->under.ud, p, old, n);
	if (n == 0 || q)
		b->live = b->live - co + cn;
	return q;
}

/* c's allocations through b from now on (a is the caller's). */
static void budget_begin(scn_ctx *c, scn_budget *b, const sim_alloc *a, sim_alloc *wrapped)
{
	*b = (scn_budget){ *a, 0, SCN_MAX_LOAD_BYTES, false };
	*wrapped = (sim_alloc){ budget_fn, b };
	c->a = wrapped;
	c->budget = b;
}

void scn_errors_free(scn_errors *e)
{
	yml_errors_free(e);
}

void scn_error_format(const scn_error *e, char *buf, size_t len)
{
	yml_error_format(e, buf, len);
}

/* Read the whole file with our allocator.  Only a regular file, its
 * type asked before a byte is read and opened without blocking: a FIFO
 * used to hang `check` for ever in open() (sim/kernel/rfile.h). */
static int read_file(scn_ctx *c, const char *path, char **text, size_t *len)
{
	int err = 0;
	FILE *f = rfile_open(path, &err);
	if (!f) {
		if (!err)
			scn_err_at(c, 0, 0, "", "not a regular file");
		else
			scn_err_at(c, 0, 0, "", "cannot open: %s", strerror(err));
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
			scn_err_at(c, 0, 0, "", "larger than the bound of %zu MiB for a scenario file", SCN_MAX_FILE_BYTES >> 20);
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
		scn_err_at(c, 0, 0, "", "read error");
		return SIM_EIO;
	}
	buf[n] = '\0';
	if (strlen(buf) != n) {
		sim_free(c->a, buf, cap);
		scn_err_at(c, 1, 1, "", "the file contains a NUL byte: not a YAML text file");
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

/* What a run needs of a scenario that built without a problem: every
 * sender resolved to a mailbox, or to a pool with members, and to a
 * route; a positive duration.  The schema should leave none of these
 * unset, but a value read as absent (a null `mailbox:` was: check said
 * the file was fine and run failed with "invalid argument") must be
 * refused here, at its key, rather than by the run. */
static void check_runnable(scn_ctx *c, const yml_node *tree, const scenario *s)
{
	const yml_node *list = yml_get(tree, "senders");
	if (s->duration_ns <= 0)
		scn_err_at(c, 0, 0, "duration", "the duration must be positive");
	for (size_t g = 0; g < s->n_senders; g++) {
		const scn_sender *d = &s->senders[g];
		const yml_node *it = list && list->type == YML_SEQ && g < list->n ? list->items[g].val : tree;
		char p[SCN_PATH_MAX], q[SCN_PATH_MAX];
		const char *key = NULL, *what = NULL;
		snprintf(p, sizeof p, "senders.%s", d->name);
		bool to_mailbox = d->mailbox >= 0 && (size_t)d->mailbox < s->n_mailboxes;
		bool to_pool = d->pool >= 0 && (size_t)d->pool < s->n_pools && s->pools[d->pool].count > 0;
		if (to_mailbox == to_pool) {
			key = "mailbox";
			what = "a mailbox name or {pool: NAME}";
		} else if (d->route < 0 || (size_t)d->route >= s->n_routes) {
			key = "route";
			what = "a route name";
		} else if (d->count < 1) {
			key = "count";
			what = "a whole number of instances, at least 1";
		}
		if (!key)
			continue;
		scn_pjoin(q, p, key);
		/* at the key: a null value has no position of its own */
		const yml_pair *pr = NULL;
		for (size_t i = 0; it->type == YML_MAP && i < it->n && !pr; i++)
			if (!strcmp(it->items[i].key, key))
				pr = &it->items[i];
		if (pr)
			scn_err_at(c, pr->line, pr->col, q, "expected %s, got %s", what, yml_type_name(pr->val->type));
		else
			scn_err_node(c, it, q, "expected %s, got nothing", what);
	}
}

/* A fresh scenario built from tree, or NULL (nomem). */
scenario *scn_build_one(scn_ctx *c, const yml_node *tree, const char *text, const char *path,
			   const char *variant, const char *default_name)
{
	scenario *s = scn_xalloc(c, sizeof *s);
	if (!s)
		return NULL;
	s->alloc = *c->a;
	snprintf(s->variant, sizeof s->variant, "%s", variant);
	s->sweep_point = -1; /* not a sweep: scn_build_points sets the point's */
	s->n_sweep_keys = 0;
	snprintf(s->source_file, sizeof s->source_file, "%s", path);
	snprintf(s->name, sizeof s->name, "%s", default_name);
	size_t tl = strlen(text);
	if (tl + 1 > SCN_MAX_LOAD_BYTES - c->load_bytes) {
		scn_err_at(c, 0, 0, variant && strcmp(variant, "base") ? "variants" : "",
		       "the scenario and its variants exceed the loader's memory bound of 1 GiB "
		       "(each variant keeps a copy of the file's %zu bytes)", tl);
		c->over_budget = true;
		return s;
	}
	c->load_bytes += tl + 1;
	s->source_text = scn_xstrndup(c, text, tl);
	size_t nerr = c->nerr;
	if (s->source_text)
		scn_build(c, tree, s);
	if (s->source_text && !c->nomem && c->nerr == nerr)
		check_runnable(c, tree, s);
	return s;
}

/* The file's name without directory and extension, if it fits. */
static void default_name_of(const char *name, char *out)
{
	const char *slash = strrchr(name, '/');
	const char *b = slash ? slash + 1 : name;
	const char *dot = strrchr(b, '.');
	size_t bl = dot && dot != b ? (size_t)(dot - b) : strlen(b);
	char cand[SCN_NAME_MAX];
	unsigned code;
	size_t pos;
	if (bl && bl < SCN_NAME_MAX) {
		snprintf(cand, sizeof cand, "%.*s", (int)bl, b);
		if (!scn_find_control(cand, &code, &pos)) /* a name is never one (scn_opt_name) */
			snprintf(out, SCN_NAME_MAX, "%s", cand);
	}
}

static int load_text(scn_ctx *c, char *text, size_t len, const char *default_name,
		     scenario ***out, size_t *n);

int scn_load(const char *path, const sim_alloc *a, scenario ***out, size_t *n, scn_errors *errs)
{
	return scn_load_ex(path, a, NULL, 0, out, n, errs);
}

static int load_path(const char *path, const sim_alloc *a, const scn_override *ov, size_t n_ov,
		     bool senders_optional, scenario ***out, size_t *n, scn_errors *errs)
{
	scn_ctx c = { 0 };
	c.senders_optional = senders_optional;
	scn_budget b;
	sim_alloc wrapped;
	char dir[512] = "", default_name[SCN_NAME_MAX] = "scenario";
	budget_begin(&c, &b, a, &wrapped);
	c.errs = errs;
	c.errs0 = errs ? errs->n : 0;
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

int scn_load_ex(const char *path, const sim_alloc *a, const scn_override *ov, size_t n_ov,
		scenario ***out, size_t *n, scn_errors *errs)
{
	return load_path(path, a, ov, n_ov, false, out, n, errs);
}

int scn_load_serve(const char *path, const sim_alloc *a, scenario ***out, size_t *n, scn_errors *errs)
{
	return load_path(path, a, NULL, 0, true, out, n, errs);
}

int scn_load_buffer(const char *name, const char *text, size_t len, const char *base_dir,
		    const sim_alloc *a, scenario ***out, size_t *n, scn_errors *errs)
{
	return scn_load_buffer_ex(name, text, len, base_dir, a, NULL, 0, out, n, errs);
}

int scn_load_buffer_ex(const char *name, const char *text, size_t len, const char *base_dir,
		       const sim_alloc *a, const scn_override *ov, size_t n_ov, scenario ***out, size_t *n,
		       scn_errors *errs)
{
	scn_ctx c = { 0 };
	scn_budget b;
	sim_alloc wrapped;
	char dir[512] = "", default_name[SCN_NAME_MAX] = "scenario";
	budget_begin(&c, &b, a, &wrapped);
	c.errs = errs;
	c.errs0 = errs ? errs->n : 0;
	c.file = name;
	c.ov = ov;
	c.n_ov = ov ? n_ov : 0;
	if (base_dir && base_dir[0]) {
		size_t dl = strlen(base_dir);
		if (dl + 2 > sizeof dir) {
			scn_err_at(&c, 0, 0, "", "base directory too long");
			return SIM_EIO;
		}
		snprintf(dir, sizeof dir, "%s%s", base_dir, base_dir[dl - 1] == '/' ? "" : "/");
	}
	c.dir = dir;
	default_name_of(name, default_name);
	if (len > SCN_MAX_FILE_BYTES) {
		scn_err_at(&c, 0, 0, "", "larger than the bound of %zu MiB for a scenario file", SCN_MAX_FILE_BYTES >> 20);
		return SIM_ESCENARIO;
	}
	if (memchr(text, '\0', len)) {
		scn_err_at(&c, 1, 1, "", "the file contains a NUL byte: not a YAML text file");
		return SIM_ESCENARIO;
	}
	char *copy = scn_xstrndup(&c, text, len);
	if (!copy)
		return SIM_ENOMEM;
	return load_text(&c, copy, len, default_name, out, n);
}

/* A variant (the list item it, named vname): its `set` applied to a copy
 * of tree, built.  NULL when out of memory. */
/* The file's tree without its `variants` list: a variant's scenario never
 * reads it, and copying it into each of n variants made the copies
 * quadratic in the file (2,000 variants: 40 s). */
static yml_node *copy_without_variants(scn_ctx *c, const yml_node *tree)
{
	if (tree->type != YML_MAP || !yml_get(tree, "variants"))
		return scn_copy(c, tree);
	yml_node *m = scn_new(c, YML_MAP, tree->line, tree->col);
	for (size_t i = 0; m && i < tree->n && !c->nomem; i++) {
		const yml_pair *it = &tree->items[i];
		if (it->key && strcmp(it->key, "variants") == 0)
			continue;
		char *key = it->key ? scn_xstrndup(c, it->key, strlen(it->key)) : NULL;
		yml_node *val = scn_copy(c, it->val);
		if ((it->key && !key) || !val) {
			if (key)
				sim_free(c->a, key, strlen(key) + 1);
			if (val)
				yml_free(c->a, val);
			break;
		}
		scn_append(c, m, key, it->line, it->col, val);
	}
	if (m && c->nomem) {
		yml_free(c->a, m);
		return NULL;
	}
	return m;
}

scenario *scn_build_variant(scn_ctx *c, const yml_node *tree, const yml_node *it, const char *vname,
			       const char *text, const char *path, const char *default_name)
{
	const yml_node *set = yml_get(it, "set");
	yml_node *copy = copy_without_variants(c, tree);
	if (!copy)
		return NULL;
	const char *saved = c->variant;
	c->variant = vname;
	for (size_t k = 0; set && set->type == YML_MAP && k < set->n && !c->nomem; k++) {
		const yml_pair *ov = &set->items[k];
		if (scn_key_under(ov->key, "variants"))
			scn_err_at(c, ov->line, ov->col, ov->key, "a variant cannot change the variants");
		else if (scn_key_under(ov->key, "sweep"))
			scn_err_at(c, ov->line, ov->col, ov->key, "a variant cannot change the sweep");
		else
			scn_apply_override(c, copy, ov);
	}
	/* The command line wins over the variant: `plan --variant pool-of-4
	 * --vary mailboxes.scanners.count` varies the variant's own pool. */
	scn_apply_cmdline(c, copy, vname);
	scenario *s = NULL;
	if (!c->nomem)
		s = scn_build_one(c, copy, text, path, vname, default_name);
	yml_free(c->a, copy);
	const yml_node *d = yml_get(it, "description");
	if (s && d && d->type == YML_SCALAR && !c->nomem) {
		char *t = scn_xstrndup(c, d->str, strlen(d->str));
		if (t) {
			if (s->description)
				sim_free(c->a, s->description, strlen(s->description) + 1);
			s->description = t;
		}
	}
	c->variant = saved;
	return s;
}

/* The `variants:` list of root, or NULL (none, or refused: reported). */
static const yml_node *variant_list(scn_ctx *c, const yml_node *root)
{
	const yml_node *vars = yml_get(root, "variants");
	if (vars && vars->type != YML_NULL && vars->type != YML_SEQ) {
		scn_err_node(c, vars, "variants", "expected a list of {name: ..., set: {...}}");
		return NULL;
	}
	if (vars && vars->type == YML_SEQ && vars->n > SCN_MAX_VARIANTS) {
		scn_err_node(c, vars, "variants", "%zu variants exceed the bound of 10^4", vars->n);
		return NULL;
	}
	return vars && vars->type == YML_SEQ ? vars : NULL;
}

/* Item i of the variants, it: a mapping with a name not used by the base
 * or the variants v[1..nv), and a `set` that is a mapping.  Its name
 * into vname; false if refused (reported). */
static bool check_variant(scn_ctx *c, const yml_node *it, size_t i, scenario *const *v, size_t nv, char *vname)
{
	char p[SCN_PATH_MAX], q[SCN_PATH_MAX];
	snprintf(p, sizeof p, "variants[%zu]", i);
	if (it->type != YML_MAP) {
		scn_err_node(c, it, p, "a variant must be {name: ..., set: {...}}");
		return false;
	}
	if (!yml_get(it, "name")) {
		scn_err_node(c, it, p, "a variant needs a name");
		return false;
	}
	if (!scn_opt_name(c, it, "name", "variants", vname))
		return false;
	snprintf(p, sizeof p, "variants.%s", vname);
	scn_check_keys(c, it, p, variant_keys);
	bool dup = !strcmp(vname, "base");
	for (size_t j = 1; j < nv; j++)
		if (!strcmp(v[j]->variant, vname))
			dup = true;
	if (dup) {
		scn_err_node(c, yml_get(it, "name"), p, strcmp(vname, "base") ? "the variant name '%s' is used more than once"
								     : "'%s' is the name of the base scenario", vname);
		return false;
	}
	const yml_node *set = yml_get(it, "set");
	scn_pjoin(q, p, "set");
	if (set && set->type != YML_NULL && set->type != YML_MAP) {
		scn_err_node(c, set, q, "expected a mapping of dotted.key.path: value");
		return false;
	}
	return true;
}

/* Each valid variant of vars built on root, into v[*nv ..]. */
static void build_variants(scn_ctx *c, const yml_node *root, const yml_node *vars, const char *text,
			   const char *default_name, scenario **v, size_t *nv)
{
	for (size_t i = 0; vars && i < vars->n && !c->nomem && !c->over_budget; i++) {
		const yml_node *it = vars->items[i].val;
		char vname[SCN_NAME_MAX] = "";
		c->variant = NULL;
		if (!check_variant(c, it, i, v, *nv, vname))
			continue;
		scenario *s = scn_build_variant(c, root, it, vname, text, c->file, default_name);
		if (!s)
			break;
		v[(*nv)++] = s;
		c->variant = NULL;
	}
}

static void free_scenarios(const sim_alloc *a, scenario **v, size_t nv, size_t cap)
{
	for (size_t i = 0; i < nv; i++)
		scn_free(v[i]);
	sim_free(a, v, cap * sizeof *v);
}

/* errs->v[errs0..] by position, stably: base and variants interleave by
 * line. */
static void sort_errors(scn_errors *errs, size_t errs0)
{
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

/* Every variant and sweep point starts from a copy of the tree: refuse,
 * before any is made, a file whose copies would pass SCN_MAX_COPY_NODES
 * nodes (10^4 variants of a tree of 90,000 aliased nodes took minutes to
 * report one error).  False if refused (reported). */
static bool copies_fit(scn_ctx *c, const yml_node *root, const yml_node *vars, size_t nvars, int naxes,
		       size_t npoints)
{
	size_t nodes = yml_tree_nodes(root);
	size_t copies = nvars + (naxes > 0 ? npoints * (1 + nvars) : 0);
	if (copies == 0 || nodes <= SCN_MAX_COPY_NODES / copies)
		return true;
	const yml_node *at = naxes > 0 ? yml_get(root, "sweep") : vars;
	scn_err_node(c, at, naxes > 0 ? "sweep" : "variants",
		     "%zu scenarios built from copies of the file's %zu YAML nodes exceed the loader's bound of "
		     "%lld copied nodes (fewer variants or sweep points, or a smaller file)",
		     copies, nodes, (long long)SCN_MAX_COPY_NODES);
	return false;
}

/* Parse, build and validate text (ours: freed here, len + 1 bytes). */
static int load_text(scn_ctx *c_, char *text, size_t len, const char *default_name,
		     scenario ***out, size_t *n)
{
	scn_ctx c = *c_;
	const sim_alloc *a = c.a;
	scn_errors *errs = c.errs;
	size_t errs0 = errs ? errs->n : 0;
	yml_node *root = scn_parse_tree(&c, text, len);
	scenario **v = NULL;
	size_t nv = 0, cap = 0;
	scn_sweep_axis ax[2];
	size_t npoints = 0;
	if (!root)
		goto done;
	size_t cmdline_errs = c.nerr;
	scn_apply_cmdline(&c, root, "base");
	if (c.nerr != cmdline_errs)
		c.n_ov = 0; /* reported once, for the base; not again for each variant */
	const yml_node *vars = variant_list(&c, root);
	size_t nvars = vars ? vars->n : 0;
	int naxes = scn_parse_sweep(&c, root, nvars, ax, &npoints);
	if (!copies_fit(&c, root, vars, nvars, naxes, npoints))
		goto done;
	cap = 1 + nvars;
	v = scn_xalloc(&c, cap * sizeof *v);
	if (!v || !(v[nv] = scn_build_one(&c, root, text, c.file, "base", default_name)))
		goto done;
	nv++;
	c.base_nerr = errs ? errs->n : 0; /* NB: errs may already hold older entries: harmless */
	build_variants(&c, root, vars, text, default_name, v, &nv);

	/* A sweep: once the base and the variants are valid without it, the
	 * same again at every point, in place of them. */
	if (naxes > 0 && !c.nomem && c.nerr == 0 && nv == cap) {
		free_scenarios(a, v, nv, cap);
		nv = 0;
		c.load_bytes = c_->load_bytes;
		cap = npoints * (1 + nvars);
		v = scn_xalloc(&c, cap * sizeof *v);
		if (!v) {
			cap = 0;
			goto done;
		}
		c.sweep_err0 = errs ? errs->n : 0;
		scn_build_points(&c, root, ax, naxes, npoints, vars, nvars, text, c.file, default_name, v, &nv);
	}

done:
	if (c.nomem && c.budget && c.budget->over) {
		/* refused for the bound, not for the machine: a problem of the
		 * file, reported as one (without the variant: the whole load's) */
		c.nomem = false;
		c.variant = c.point = NULL;
		scn_err_at(&c, 0, 0, "", "the scenario needs more than the loader's memory bound of %zu MiB "
			   "(its tree, variants, mailboxes, senders and trace rows together)", SCN_MAX_LOAD_BYTES >> 20);
	}
	if (errs && errs->n > errs0)
		sort_errors(errs, errs0);
	if (c.errs_dropped && errs) {
		scn_error *r = yml_errors_add(errs);
		if (r) {
			snprintf(r->file, sizeof r->file, "%s", c.file);
			snprintf(r->message, sizeof r->message, "%zu more problems not listed (only the first %d are)",
				 c.errs_dropped, SCN_MAX_ERRORS);
		}
	}
	yml_free(a, root);
	sim_free(a, text, len + 1);
	if (c.nomem || c.nerr > 0 || nv != cap || nv == 0) {
		free_scenarios(a, v, nv, cap);
		return c.nomem ? SIM_ENOMEM : SIM_ESCENARIO;
	}
	/* the scenarios outlive the account: each frees with the caller's
	 * allocator, to which the account passed every call */
	for (size_t i = 0; c.budget && i < nv; i++)
		v[i]->alloc = c.budget->under;
	*out = v;
	*n = nv;
	return 0;
}
