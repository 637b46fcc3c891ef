/* scn_schema.c - the load context's error record, and the typed getters
 * every part of the scenario schema uses (see scn_int.h): a value absent
 * leaves the output untouched; a bad one is reported with its key and
 * position and leaves it untouched too.
 */
#include "scn_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "status.h"
#include "units.h"

void *scn_xalloc(scn_ctx *c, size_t n)
{
	void *p = sim_malloc(c->a, n);
	if (!p)
		c->nomem = true;
	else
		memset(p, 0, n);
	return p;
}

char *scn_xstrndup(scn_ctx *c, const char *s, size_t n)
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

yml_node *scn_new(scn_ctx *c, yml_type t, int line, int col)
{
	yml_node *n = yml_new(c->a, t, line, col);
	if (!n)
		c->nomem = true;
	return n;
}

bool scn_append(scn_ctx *c, yml_node *parent, char *key, int line, int col, yml_node *val)
{
	if (yml_append(c->a, parent, key, line, col, val))
		return true;
	c->nomem = true;
	return false;
}

yml_node *scn_copy(scn_ctx *c, const yml_node *n)
{
	yml_node *m = yml_copy(c->a, n);
	if (!m)
		c->nomem = true;
	return m;
}

void scn_push_error(scn_ctx *c, const char *file, int line, int col, const char *key, const char *msg_)
{
	scn_errors *e = c->errs;
	char cmsg[600];
	const char *msg = msg_;
	if (line == SCN_LINE_CMDLINE) { /* a node given on the command line (scn_load_ex) */
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
	if (e && e->n >= c->errs0 + SCN_MAX_ERRORS) {
		c->errs_dropped++;
		return;
	}
	scn_error *r = e ? yml_errors_add(e) : NULL;
	if (!r)
		return; /* the error list is best effort */
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

void scn_err_file(scn_ctx *c, const char *file, int line, int col, const char *key, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	scn_push_error(c, file, line, col, key, msg);
}

/* ---- names ---------------------------------------------------------------- */

/* The first control character of s (C0, DEL, or C1 as UTF-8: C2 80 to
 * C2 9F): its code and 1-based character position; false if none. */
bool scn_find_control(const char *s, unsigned *code, size_t *pos)
{
	size_t chars = 0;
	for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
		if ((*q & 0xc0) != 0x80)
			chars++;
		unsigned cc = *q < 0x20 || *q == 0x7f ? *q : *q == 0xc2 && q[1] >= 0x80 && q[1] <= 0x9f ? q[1] : 0x100;
		if (cc != 0x100) {
			*code = cc;
			*pos = chars;
			return true;
		}
	}
	return false;
}

/* Names are data in every output (tables, CSV, chart data, the store):
 * a key with a control character is refused wherever it is, since keys
 * name routes, swept keys and override paths.  Recursion: the tree's
 * depth, <= YML_MAX_DEPTH. */
static void check_key_controls(scn_ctx *c, const yml_node *n)
{
	for (size_t i = 0; i < n->n; i++) {
		unsigned code;
		size_t pos;
		const char *k = n->items[i].key;
		if (k && scn_find_control(k, &code, &pos)) {
			char shown[SCN_PATH_MAX];
			size_t o = 0;
			for (const unsigned char *q = (const unsigned char *)k; *q && o + 1 < sizeof shown; q++)
				shown[o++] = *q < 0x20 || *q == 0x7f ? '?' : (char)*q;
			shown[o] = '\0';
			scn_err_at(c, n->items[i].line, n->items[i].col, shown,
				   "a key may not contain control characters (U+%04X at character %zu)", code, pos);
		}
		check_key_controls(c, n->items[i].val);
	}
}

/* ---- the tree of a text -------------------------------------------------- */

static void report_yaml(void *user, int line, int col, const char *key, const char *msg)
{
	scn_ctx *c = user;
	scn_push_error(c, c->file, line, col, key, msg);
}

yml_node *scn_parse_tree(scn_ctx *c, const char *text, size_t len)
{
	yml_node *root = NULL;
	int rc = yml_parse(text, len, "scenario file", c->a, report_yaml, c, &root);
	if (rc == SIM_ENOMEM)
		c->nomem = true;
	if (rc)
		return NULL;
	if (!root || root->type == YML_NULL) {
		scn_err_at(c, 1, 1, "", "the scenario file is empty");
		yml_free(c->a, root);
		return NULL;
	}
	if (root->type != YML_MAP) {
		scn_err_node(c, root, "", "a scenario file must be a mapping of keys (name:, senders:, ...), not %s",
			     yml_type_name(root->type));
		yml_free(c->a, root);
		return NULL;
	}
	check_key_controls(c, root); /* reported; the walk goes on */
	return root;
}

/* ---- paths ---------------------------------------------------------------- */


void scn_pjoin(char *out, const char *path, const char *key)
{
	/* a path longer than SCN_PATH_MAX is cut: it only labels a message */
	int w = path[0] ? snprintf(out, SCN_PATH_MAX, "%s.%s", path, key)
			: snprintf(out, SCN_PATH_MAX, "%s", key);
	if (w < 0)
		out[0] = '\0';
}

/* Report unknown keys of a mapping; a null or absent mapping is fine. */
void scn_check_keys(scn_ctx *c, const yml_node *m, const char *path, const char *const *allowed)
{
	if (!m || m->type != YML_MAP)
		return;
	for (size_t i = 0; i < m->n; i++) {
		const char *k = m->items[i].key;
		size_t j;
		for (j = 0; allowed[j]; j++)
			if (strcmp(k, allowed[j]) == 0)
				break;
		if (allowed[j])
			continue;
		char p[SCN_PATH_MAX];
		scn_pjoin(p, path, k);
		const char *sug = yml_nearest_of(k, allowed);
		if (sug)
			scn_err_at(c, m->items[i].line, m->items[i].col, p,
			       "unknown key '%s' (did you mean '%s'?)", k, sug);
		else {
			char list[400];
			yml_list_names(list, sizeof list, allowed);
			scn_err_at(c, m->items[i].line, m->items[i].col, p,
			       "unknown key '%s' (expected one of %s)", k, list);
		}
	}
}

/* A section that must be a mapping: absent or null is "empty"; anything
 * else is an error.  Returns the map or NULL. */
const yml_node *scn_want_map(scn_ctx *c, const yml_node *n, const char *path)
{
	if (!n || n->type == YML_NULL)
		return NULL;
	if (n->type != YML_MAP) {
		scn_err_node(c, n, path, "expected a mapping, got %s", yml_type_name(n->type));
		return NULL;
	}
	return n;
}

bool scn_want_scalar(scn_ctx *c, const yml_node *n, const char *path, const char *what)
{
	if (n->type == YML_SCALAR)
		return true;
	scn_err_node(c, n, path, "expected %s, got %s", what, yml_type_name(n->type));
	return false;
}

/* ---- typed getters: absent -> untouched; bad -> error, untouched --------- */

bool scn_val_i64(scn_ctx *c, const yml_node *n, const char *p, scn_parse_i64_fn fn, const char *what, int64_t *out)
{
	char msg[300];
	int64_t v;
	if (!scn_want_scalar(c, n, p, what))
		return false;
	if (fn(n->str, &v, msg, sizeof msg)) {
		scn_err_node(c, n, p, "%s", msg);
		return false;
	}
	*out = v;
	return true;
}

bool scn_val_dbl(scn_ctx *c, const yml_node *n, const char *p, scn_parse_dbl_fn fn, const char *what, double *out)
{
	char msg[300];
	double v;
	if (!scn_want_scalar(c, n, p, what))
		return false;
	if (fn(n->str, &v, msg, sizeof msg)) {
		scn_err_node(c, n, p, "%s", msg);
		return false;
	}
	*out = v;
	return true;
}

bool scn_opt_i64(scn_ctx *c, const yml_node *m, const char *key, const char *path,
		    scn_parse_i64_fn fn, const char *what, int64_t *out)
{
	yml_node *n = yml_get(m, key);
	char p[SCN_PATH_MAX];
	if (!n)
		return false;
	scn_pjoin(p, path, key);
	return scn_val_i64(c, n, p, fn, what, out);
}

bool scn_opt_dbl(scn_ctx *c, const yml_node *m, const char *key, const char *path,
		    scn_parse_dbl_fn fn, const char *what, double *out)
{
	yml_node *n = yml_get(m, key);
	char p[SCN_PATH_MAX];
	if (!n)
		return false;
	scn_pjoin(p, path, key);
	return scn_val_dbl(c, n, p, fn, what, out);
}

bool scn_opt_bool(scn_ctx *c, const yml_node *m, const char *key, const char *path, bool *out)
{
	yml_node *n = yml_get(m, key);
	char p[SCN_PATH_MAX], msg[300];
	bool v;
	if (!n)
		return false;
	scn_pjoin(p, path, key);
	if (!scn_want_scalar(c, n, p, "true or false"))
		return false;
	if (unit_parse_bool(n->str, &v, msg, sizeof msg)) {
		scn_err_node(c, n, p, "%s", msg);
		return false;
	}
	*out = v;
	return true;
}

/* A count that must be in [lo, hi]; the message names the bound. */
bool scn_opt_count(scn_ctx *c, const yml_node *m, const char *key, const char *path,
		      int64_t lo, int64_t hi, const char *hi_text, int64_t *out)
{
	int64_t v;
	yml_node *n = yml_get(m, key);
	char p[SCN_PATH_MAX];
	if (!n)
		return false;
	scn_pjoin(p, path, key);
	if (!scn_val_i64(c, n, p, unit_parse_count, "a whole number", &v))
		return false;
	if (v < lo) {
		scn_err_node(c, n, p, "must be at least %lld, got %lld", (long long)lo, (long long)v);
		return false;
	}
	if (v > hi) {
		scn_err_node(c, n, p, "%lld exceeds the bound of %s", (long long)v, hi_text);
		return false;
	}
	*out = v;
	return true;
}

/* A count limit: a whole number, or off/none/unlimited = 0. */
bool scn_opt_limit(scn_ctx *c, const yml_node *m, const char *key, const char *path, int64_t *out)
{
	yml_node *n = yml_get(m, key);
	if (n && n->type == YML_SCALAR &&
	    (!strcmp(n->str, "off") || !strcmp(n->str, "none") || !strcmp(n->str, "unlimited"))) {
		*out = 0;
		return true;
	}
	return scn_opt_count(c, m, key, path, 0, INT64_MAX / 2, "2^62", out);
}

bool scn_opt_dur(scn_ctx *c, const yml_node *m, const char *key, const char *path, int64_t *out)
{
	return scn_opt_i64(c, m, key, path, unit_parse_duration, "a duration (e.g. 30s)", out);
}

bool scn_opt_size(scn_ctx *c, const yml_node *m, const char *key, const char *path, int64_t *out)
{
	return scn_opt_i64(c, m, key, path, unit_parse_size, "a size (e.g. 35MB)", out);
}

bool scn_opt_prob(scn_ctx *c, const yml_node *m, const char *key, const char *path, double *out)
{
	return scn_opt_dbl(c, m, key, path, unit_parse_probability, "a probability", out);
}

/* One of names; returns the index, or -1 (error reported, or absent). */
int scn_val_enum(scn_ctx *c, const yml_node *n, const char *p, const char *const *names)
{
	char list[300];
	yml_list_names(list, sizeof list, names);
	if (!scn_want_scalar(c, n, p, list))
		return -1;
	for (int i = 0; names[i]; i++)
		if (strcmp(n->str, names[i]) == 0)
			return i;
	const char *sug = yml_nearest_of(n->str, names);
	if (sug)
		scn_err_node(c, n, p, "unknown value '%s' (did you mean '%s'?)", n->str, sug);
	else
		scn_err_node(c, n, p, "unknown value '%s' (expected %s)", n->str, list);
	return -1;
}

int scn_opt_enum(scn_ctx *c, const yml_node *m, const char *key, const char *path, const char *const *names)
{
	yml_node *n = yml_get(m, key);
	char p[SCN_PATH_MAX];
	if (!n)
		return -1;
	scn_pjoin(p, path, key);
	return scn_val_enum(c, n, p, names);
}

bool scn_opt_name(scn_ctx *c, const yml_node *m, const char *key, const char *path, char *out)
{
	yml_node *n = yml_get(m, key);
	char p[SCN_PATH_MAX];
	if (!n)
		return false;
	scn_pjoin(p, path, key);
	if (!scn_want_scalar(c, n, p, "a name"))
		return false;
	if (strlen(n->str) >= SCN_NAME_MAX) {
		scn_err_node(c, n, p, "name longer than %d characters", SCN_NAME_MAX - 1);
		return false;
	}
	if (!n->str[0]) {
		scn_err_node(c, n, p, "name is empty");
		return false;
	}
	unsigned code;
	size_t pos;
	if (scn_find_control(n->str, &code, &pos)) {
		scn_err_node(c, n, p, "a name may not contain control characters (U+%04X at character %zu)", code, pos);
		return false;
	}
	snprintf(out, SCN_NAME_MAX, "%s", n->str);
	return true;
}
