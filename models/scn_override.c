/* scn_override.c - dotted-path overrides applied to a tree: a variant's
 * `set`, the command line's overrides (scn_load_ex, for plan --vary) and
 * a sweep point's values.  A path walks mappings by key and lists by
 * their items' names (the longest name that matches whole components).
 */
#include "scn_int.h"

#include <stdio.h>
#include <string.h>

/* The name of a list item (its name: or pool:), or NULL. */
static const char *item_name(const yml_node *it)
{
	const yml_node *n = yml_get(it, "name");
	if (!n || n->type != YML_SCALAR)
		n = yml_get(it, "pool");
	return n && n->type == YML_SCALAR ? n->str : NULL;
}

/* Where an override's path has got to. */
typedef struct ov_walk {
	yml_node *cur;             /* the node the rest of the path is in */
	const char *rest;          /* the components not yet walked */
	char walked[SCN_PATH_MAX]; /* those walked, for messages */
} ov_walk;

/* One component in the mapping w->cur: the value set at the last one, or
 * the walk goes on into the key's value (made if absent).  false when
 * the walk is over (set, reported or out of memory). */
static bool step_map(scn_ctx *c, ov_walk *w, const yml_pair *ov)
{
	yml_node *cur = w->cur;
	const char *rest = w->rest;
	const char *dot = strchr(rest, '.');
	size_t len = dot ? (size_t)(dot - rest) : strlen(rest);
	if (len == 0) {
		scn_err_at(c, ov->line, ov->col, ov->key, "empty component in the path '%s'", ov->key);
		return false;
	}
	yml_pair *pr = NULL;
	for (size_t i = 0; i < cur->n; i++)
		if (strlen(cur->items[i].key) == len && !memcmp(cur->items[i].key, rest, len))
			pr = &cur->items[i];
	char seg[SCN_PATH_MAX];
	snprintf(seg, sizeof seg, "%.*s", (int)len, rest);
	if (!dot) {
		yml_node *v = scn_copy(c, ov->val);
		if (!v)
			return false;
		if (pr) {
			yml_free(c->a, pr->val);
			pr->val = v;
		} else {
			char *k = scn_xstrndup(c, rest, len);
			if (!k) {
				yml_free(c->a, v);
				return false;
			}
			scn_append(c, cur, k, ov->line, ov->col, v);
		}
		return false;
	}
	if (!pr) {
		yml_node *m = scn_new(c, YML_MAP, ov->line, ov->col);
		char *k = m ? scn_xstrndup(c, rest, len) : NULL;
		if (!k) {
			yml_free(c->a, m);
			return false;
		}
		if (!scn_append(c, cur, k, ov->line, ov->col, m))
			return false;
		pr = &cur->items[cur->n - 1];
	}
	char wk[SCN_PATH_MAX];
	scn_pjoin(wk, w->walked, seg);
	memcpy(w->walked, wk, sizeof w->walked);
	w->cur = pr->val;
	w->rest = dot + 1;
	return true;
}

/* In the list w->cur: the item named by the longest run of whole
 * components is replaced (the path ends there) or walked into.  false
 * when the walk is over (set, reported or out of memory). */
static bool step_seq(scn_ctx *c, ov_walk *w, const yml_pair *ov)
{
	yml_node *cur = w->cur;
	const char *rest = w->rest;
	size_t best = 0;
	yml_node **slot = NULL;
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
		char seg[SCN_PATH_MAX];
		snprintf(seg, sizeof seg, "%.*s", (int)len, rest);
		yml_nearest nr = { seg, NULL, (size_t)-1 };
		for (size_t i = 0; i < cur->n; i++)
			if (item_name(cur->items[i].val))
				yml_near_try(&nr, item_name(cur->items[i].val));
		if (yml_near_result(&nr))
			scn_err_at(c, ov->line, ov->col, ov->key, "no item named '%s' in %s (did you mean '%s'?)",
				   seg, w->walked, yml_near_result(&nr));
		else
			scn_err_at(c, ov->line, ov->col, ov->key, "no item named '%s' in %s", seg, w->walked);
		return false;
	}
	if (rest[best] == '\0') {
		yml_node *v = scn_copy(c, ov->val);
		if (!v)
			return false;
		yml_free(c->a, *slot);
		*slot = v;
		return false;
	}
	char wk[SCN_PATH_MAX];
	if (snprintf(wk, sizeof wk, "%s.%.*s", w->walked, (int)best, rest) >= (int)sizeof wk)
		wk[sizeof wk - 1] = '\0';
	memcpy(w->walked, wk, sizeof w->walked);
	w->cur = *slot;
	w->rest = rest + best + 1;
	return true;
}

/* Apply one override (dotted path -> value) to the tree. */
void scn_apply_override(scn_ctx *c, yml_node *root, const yml_pair *ov)
{
	ov_walk w = { root, ov->key, "" };
	for (;;) {
		yml_node *cur = w.cur;
		if (cur->type == YML_NULL) {
			cur->type = YML_MAP; /* "tenant:" left empty: fill it */
			if (cur->str) {
				sim_free(c->a, cur->str, strlen(cur->str) + 1);
				cur->str = NULL;
			}
		}
		if (cur->type == YML_MAP) {
			if (!step_map(c, &w, ov))
				return;
		} else if (cur->type == YML_SEQ) {
			if (!step_seq(c, &w, ov))
				return;
		} else {
			scn_err_at(c, ov->line, ov->col, ov->key, "cannot set '%s': '%s' is a single value, not a mapping",
				   ov->key, w.walked);
			return;
		}
	}
}

/* Is key `name`, or a path under it (name.x)? */
bool scn_key_under(const char *key, const char *name)
{
	size_t l = strlen(name);
	return !strncmp(key, name, l) && (key[l] == '\0' || key[l] == '.');
}

static void mark_cmdline(yml_node *n)
{
	n->line = n->col = SCN_LINE_CMDLINE;
	for (size_t i = 0; i < n->n; i++) {
		n->items[i].line = n->items[i].col = SCN_LINE_CMDLINE;
		mark_cmdline(n->items[i].val);
	}
}

/* Apply the command-line overrides c->ov meant for the scenario named
 * vname ("base" or a variant) to root, as if the file said so; their nodes
 * carry SCN_LINE_CMDLINE. */
void scn_apply_cmdline(scn_ctx *c, yml_node *root, const char *vname)
{
	for (size_t i = 0; i < c->n_ov && !c->nomem; i++) {
		if (c->ov[i].variant && strcmp(c->ov[i].variant, vname) != 0)
			continue;
		const char *key = c->ov[i].key ? c->ov[i].key : "";
		const char *val = c->ov[i].value ? c->ov[i].value : "";
		if (!key[0] || scn_key_under(key, "variants") || scn_key_under(key, "sweep")) {
			scn_err_at(c, SCN_LINE_CMDLINE, SCN_LINE_CMDLINE, key, "%s",
			       key[0] ? "the variants and the sweep cannot be set from the command line"
				      : "an override needs a key");
			continue;
		}
		unsigned code;
		size_t pos;
		if (scn_find_control(key, &code, &pos)) {
			scn_err_at(c, SCN_LINE_CMDLINE, SCN_LINE_CMDLINE, "", "a key may not contain control characters "
				   "(U+%04X at character %zu)", code, pos);
			continue;
		}
		size_t vl = strlen(val);
		if (vl > 65536 || strpbrk(val, "\r\n")) {
			scn_err_at(c, SCN_LINE_CMDLINE, SCN_LINE_CMDLINE, key, "a value must be one line of at most 64 KiB");
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
		scn_ctx pc = { .a = c->a, .errs = &pe, .file = "(command line)", .dir = c->dir };
		yml_node *t = scn_parse_tree(&pc, doc, vl + 3);
		sim_free(c->a, doc, vl + 4);
		if (pc.nomem) {
			c->nomem = true;
			yml_free(c->a, t);
			scn_errors_free(&pe);
			return;
		}
		if (!t || t->n != 1 || strcmp(t->items[0].key, "v")) {
			scn_err_at(c, SCN_LINE_CMDLINE, SCN_LINE_CMDLINE, key, "'%.100s' is not a YAML value%s%.200s", val,
			       pe.n ? ": " : "", pe.n ? pe.v[0].message : "");
		} else {
			mark_cmdline(t);
			yml_pair p = { (char *)key, SCN_LINE_CMDLINE, SCN_LINE_CMDLINE, t->items[0].val };
			scn_apply_override(c, root, &p);
		}
		yml_free(c->a, t);
		scn_errors_free(&pe);
	}
}
