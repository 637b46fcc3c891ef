/* cmd_plan.c - `throttlesim plan`: the smallest (or largest) integer value
 * of one scenario key for which a target on the figures holds, found by
 * bisection, with the uncertainty of each step said out loud.
 *
 *   throttlesim plan FILE --vary KEY --range A..B --target EXPR
 *                   [--largest] [--entity NAME] [--variant NAME]
 *                   [--replications N] [--seed N] [--duration D] [--jobs N]
 *                   [--engine E] [--quiet]
 *
 * The whole contract, with worked examples, is docs/PLAN.md; in short:
 *
 * Target.  expr := and { ("or" | "||") and };  and := atom { ("and" |
 * "&&") atom };  atom := "(" expr ")" | FIGURE OP VALUE.  `and` binds
 * tighter than `or`.  OP one of <= < >= > == !=.  VALUE a number, a
 * duration (5m, 30s) for a figure in seconds, or a percentage: `lost <
 * 0.1%` compares 100 x lost / generated of the same entity, replication by
 * replication (for `lost` exactly the figure lost_pct); a percentage of a
 * figure in % is that figure, of a fraction is value / 100.  FIGURE is a
 * name of the figure catalog (results.h), `p95_delivery_delay` accepted
 * for `delivery_delay_p95`; a misspelt one gets a "did you mean".  Errors
 * give the column.
 *
 * Uncertainty.  Each comparison is judged on the figure's 95% interval
 * over the replications (res_summary.h): met when the whole interval
 * meets it, not met when none of it does, else too close to call.  `==`
 * and `!=` are exact (decided on the mean: `lost == 0` holds when no
 * replication lost anything).  and/or combine the three verdicts as
 * Kleene's logic does (and: the worse, or: the better).  A step too close
 * to call is decided by the means, so the bisection still ends on one
 * value, but the step is flagged, and the answer is given with the
 * bracket the sure steps prove: [1 + the largest value surely not met,
 * the smallest value surely met] (mirrored with --largest), and the
 * advice to run more replications.  One replication gives no interval:
 * every step is decided by the means and the output says so.
 *
 * Binding limit.  At the neighbour that fails (or, when nothing meets, at
 * the far end of the range) the reply class that lost the most messages
 * (lost_by, mean per replication) is the limit that binds; with no loss,
 * the class that refused the most (rejected_by); with neither, no limit
 * refuses anything and the target fails on its figures alone.
 *
 * Bisection is exact only if the target is monotone in the key (false
 * then true for the smallest, true then false with --largest); the command
 * says so, and reports the figures at the answer and at its neighbour.
 * Each value tried runs every replication with the same seeds (common
 * random numbers), which keeps neighbouring values comparable.
 *
 * Exit status: 0 with an answer, 1 when no value of the range meets the
 * target (or a run failed), 2 for bad usage.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "exit.h"
#include "driver.h"
#include "replies.h"
#include "report.h"
#include "scn_budget.h"
#include "scn_load.h"
#include "res_summary.h"
#include "stats.h"
#include "units.h"
#include "term.h"
#include "yaml.h"


/* ---- the target expression ---------------------------------------------------- */

/* Nodes live in one fixed array (no allocation); 64 is far beyond any
 * target a person writes, and bounds the recursion with MAX_DEPTH. */
#define MAX_NODES 64
#define MAX_DEPTH 16

typedef enum { OP_LE, OP_LT, OP_GE, OP_GT, OP_EQ, OP_NE } cmp_op;
static const char *const op_text[] = { "<=", "<", ">=", ">", "==", "!=" };

typedef enum { N_CMP, N_AND, N_OR } node_kind;

/* How a comparison's per-replication value is read from an entity. */
typedef enum { PCT_NONE = 0, PCT_OF_GENERATED, PCT_AS_IS, PCT_OF_ONE } pct_kind;

typedef struct node {
	node_kind kind;
	int left, right;        /* N_AND, N_OR: children */
	int fig;                /* N_CMP */
	cmp_op op;
	double value;           /* in the unit compared (percent for PCT_OF_GENERATED) */
	pct_kind pct;
	char text[48];          /* the value as written */
} node;

typedef struct target {
	node n[MAX_NODES];
	int n_nodes;
	int root;
} target;

/* The parser's state: the expression, where it stands, its first error. */
typedef struct parser {
	const char *s, *p;
	target *t;
	int depth;
	char err[320];
	size_t err_col;         /* 1-based */
} parser;

static int perr(parser *ps, const char *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr(parser *ps, const char *at, const char *fmt, ...)
{
	if (ps->err[0] == 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(ps->err, sizeof ps->err, fmt, ap);
		va_end(ap);
		ps->err_col = (size_t)(at - ps->s) + 1;
	}
	return -1;
}

static void skip_space(parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t')
		ps->p++;
}

static bool is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Is the next word `w` (followed by a non-name character)? */
static bool next_word(parser *ps, const char *w)
{
	size_t n = strlen(w);
	return strncmp(ps->p, w, n) == 0 && !is_name_char(ps->p[n]);
}

/* "delivery_delay_p95" -> "p95_delivery_delay": the order people say it. */
static void figure_alias(const char *name, char *buf, size_t size)
{
	const char *us = strrchr(name, '_');
	if (us == NULL) {
		snprintf(buf, size, "%s", name);
		return;
	}
	snprintf(buf, size, "%s_%.*s", us + 1, (int)(us - name), name);
}

static int find_figure(const char *name)
{
	char alias[96];
	for (int f = 0; f < FIG_COUNT; f++)
		if (strcmp(res_fig_info[f].name, name) == 0)
			return f;
	for (int f = 0; f < FIG_COUNT; f++) {
		figure_alias(res_fig_info[f].name, alias, sizeof alias);
		if (strcmp(alias, name) == 0)
			return f;
	}
	return -1;
}

/* The catalog name nearest to a misspelt one (its alias counts too), or
 * NULL: the edit distance of yml_near_try, the same as the scenario
 * loader's suggestions. */
static const char *figure_suggestion(const char *word)
{
	char alias[FIG_COUNT][96];
	yml_nearest near = { word, NULL, (size_t)-1 };
	for (int f = 0; f < FIG_COUNT; f++) {
		yml_near_try(&near, res_fig_info[f].name);
		figure_alias(res_fig_info[f].name, alias[f], sizeof alias[f]);
		yml_near_try(&near, alias[f]);
	}
	const char *best = yml_near_result(&near);
	int hit = -1;
	for (int f = 0; best != NULL && hit < 0 && f < FIG_COUNT; f++)
		if (best == res_fig_info[f].name || best == alias[f])
			hit = f;
	/* the catalog's own name, never the local alias buffer */
	return hit < 0 ? NULL : res_fig_info[hit].name;
}

static int new_node(parser *ps, const char *at, node v)
{
	if (ps->t->n_nodes == MAX_NODES)
		return perr(ps, at, "more than %d conditions and operators", MAX_NODES);
	ps->t->n[ps->t->n_nodes] = v;
	return ps->t->n_nodes++;
}

static int parse_or(parser *ps);

static int parse_value(parser *ps, node *c)
{
	const res_fig_desc *fd = &res_fig_info[c->fig];
	skip_space(ps);
	const char *v = ps->p;
	while (*ps->p && *ps->p != ' ' && *ps->p != '\t' && *ps->p != ')' && *ps->p != '(')
		ps->p++;
	size_t len = (size_t)(ps->p - v);
	if (len == 0)
		return perr(ps, v, "expected a value after '%s %s'", fd->name, op_text[c->op]);
	if (len >= sizeof c->text)
		return perr(ps, v, "value too long");
	memcpy(c->text, v, len);
	c->text[len] = 0;
	char num[sizeof c->text];
	memcpy(num, c->text, len + 1);
	bool pct = num[len - 1] == '%';
	if (pct)
		num[len - 1] = 0;
	char *end;
	errno = 0;
	double x = strtod(num, &end);
	bool is_num = num[0] && errno == 0 && *end == 0 && isfinite(x);
	if (pct) {
		if (!is_num)
			return perr(ps, v, "'%s' is not a percentage", c->text);
		if (strcmp(fd->unit, "msgs") == 0)
			c->pct = PCT_OF_GENERATED;
		else if (strcmp(fd->unit, "%") == 0)
			c->pct = PCT_AS_IS;
		else if (strcmp(fd->unit, "fraction") == 0)
			c->pct = PCT_OF_ONE, x /= 100;
		else
			return perr(ps, v, "a percentage applies to a message count (of generated), a "
			            "figure in %% or a fraction; %s is in %s", fd->name, fd->unit);
	} else if (!is_num) {
		int64_t ns;
		char err[128];
		if (strcmp(fd->unit, "s") != 0 || unit_parse_duration(num, &ns, err, sizeof err) != 0)
			return perr(ps, v, "'%s' is not a number%s", c->text,
			            strcmp(fd->unit, "s") == 0 ? " or a duration" : "");
		x = (double)ns / 1e9;
	}
	c->value = x;
	return 0;
}

static int parse_cmp(parser *ps)
{
	skip_space(ps);
	const char *name = ps->p;
	while (is_name_char(*ps->p))
		ps->p++;
	size_t len = (size_t)(ps->p - name);
	if (len == 0)
		return perr(ps, name, *name ? "expected a figure name or '('" :
		            "expected a figure name, found the end");
	char buf[96];
	if (len >= sizeof buf)
		return perr(ps, name, "figure name too long");
	memcpy(buf, name, len);
	buf[len] = 0;
	node c = { .kind = N_CMP, .fig = find_figure(buf) };
	if (c.fig < 0) {
		const char *sug = figure_suggestion(buf);
		if (sug)
			return perr(ps, name, "unknown figure '%s' (did you mean '%s'?)", buf, sug);
		return perr(ps, name, "unknown figure '%s' (the figures are listed in docs/RESULTS.md)", buf);
	}
	skip_space(ps);
	const char *o = ps->p;
	if (strncmp(o, "<=", 2) == 0) c.op = OP_LE, ps->p += 2;
	else if (strncmp(o, ">=", 2) == 0) c.op = OP_GE, ps->p += 2;
	else if (strncmp(o, "==", 2) == 0) c.op = OP_EQ, ps->p += 2;
	else if (strncmp(o, "!=", 2) == 0) c.op = OP_NE, ps->p += 2;
	else if (*o == '<') c.op = OP_LT, ps->p++;
	else if (*o == '>') c.op = OP_GT, ps->p++;
	else
		return perr(ps, o, "expected <=, <, >=, >, == or != after '%s'", res_fig_info[c.fig].name);
	if (parse_value(ps, &c))
		return -1;
	return new_node(ps, name, c);
}

static int parse_atom(parser *ps)
{
	skip_space(ps);
	if (*ps->p != '(')
		return parse_cmp(ps);
	const char *open = ps->p++;
	if (++ps->depth > MAX_DEPTH)
		return perr(ps, open, "parentheses nested deeper than %d", MAX_DEPTH);
	int e = parse_or(ps);
	if (e < 0)
		return -1;
	skip_space(ps);
	if (*ps->p != ')')
		return perr(ps, *ps->p ? ps->p : open, *ps->p ? "expected ')' or an operator" :
		            "this '(' is never closed");
	ps->p++;
	ps->depth--;
	return e;
}

static int parse_and(parser *ps)
{
	int l = parse_atom(ps);
	while (l >= 0) {
		skip_space(ps);
		const char *at = ps->p;
		if (next_word(ps, "and"))
			ps->p += 3;
		else if (strncmp(ps->p, "&&", 2) == 0)
			ps->p += 2;
		else
			break;
		int r = parse_atom(ps);
		if (r < 0)
			return -1;
		l = new_node(ps, at, (node){ .kind = N_AND, .left = l, .right = r });
	}
	return l;
}

static int parse_or(parser *ps)
{
	int l = parse_and(ps);
	while (l >= 0) {
		skip_space(ps);
		const char *at = ps->p;
		if (next_word(ps, "or"))
			ps->p += 2;
		else if (strncmp(ps->p, "||", 2) == 0)
			ps->p += 2;
		else
			break;
		int r = parse_and(ps);
		if (r < 0)
			return -1;
		l = new_node(ps, at, (node){ .kind = N_OR, .left = l, .right = r });
	}
	return l;
}

/* Parses s into *t: 0, or -1 after printing the error, its column and a
 * caret under it. */
static int parse_target(const char *s, target *t)
{
	parser ps = { .s = s, .p = s, .t = t };
	t->n_nodes = 0;
	int root = parse_or(&ps);
	if (root >= 0) {
		skip_space(&ps);
		if (*ps.p == ')')
			root = perr(&ps, ps.p, "')' without its '('");
		else if (*ps.p)
			root = perr(&ps, ps.p, "expected 'and', 'or' or the end");
	}
	if (root < 0) {
		/* one call per line: term_eprintf keeps only a line's final newline */
		term_eprintf("throttlesim plan: --target: column %zu: %s\n", ps.err_col, ps.err);
		term_eprintf("  %s\n", s);
		term_eprintf("  %*s^\n", (int)(ps.err_col - 1), "");
		return -1;
	}
	t->root = root;
	return 0;
}

/* The target as read, with parentheses wherever an `or` sits under an
 * `and` or an `and` under an `or`, so the precedence applied is visible. */
static void target_format(const target *t, int i, node_kind parent, char *buf, size_t size)
{
	const node *n = &t->n[i];
	size_t len = strlen(buf);
	if (len + 1 >= size)
		return;
	if (n->kind == N_CMP) {
		snprintf(buf + len, size - len, "%s %s %s", res_fig_info[n->fig].name, op_text[n->op], n->text);
		return;
	}
	bool paren = parent != N_CMP && parent != n->kind;
	if (paren)
		snprintf(buf + len, size - len, "(");
	target_format(t, n->left, n->kind, buf, size);
	len = strlen(buf);
	snprintf(buf + len, size - len, " %s ", n->kind == N_AND ? "and" : "or");
	target_format(t, n->right, n->kind, buf, size);
	len = strlen(buf);
	if (paren)
		snprintf(buf + len, size - len, ")");
}

/* ---- the entity judged -------------------------------------------------------- */

typedef struct entity_sel {
	const char *name;       /* --entity, NULL: the whole scenario */
	res_entity_kind kind;   /* wanted kind when written group:NAME / mailbox:NAME, else RES_TOTAL */
	bool kind_given;
} entity_sel;

/* The entity of s named by sel: 0 with *kind, *index set, or an exit
 * status after printing why (with a "did you mean"). */
static int resolve_entity(const entity_sel *sel, const scenario *s, const char *path,
                          res_entity_kind *kind, size_t *index)
{
	if (sel->name == NULL) {
		*kind = RES_TOTAL;
		*index = 0;
		return 0;
	}
	int found = 0;
	yml_nearest near = { sel->name, NULL, (size_t)-1 };
	if (!sel->kind_given || sel->kind == RES_GROUP)
		for (size_t i = 0; i < s->n_senders; i++) {
			yml_near_try(&near, s->senders[i].name);
			if (strcmp(s->senders[i].name, sel->name) == 0 && found++ == 0)
				*kind = RES_GROUP, *index = i;
		}
	if (!sel->kind_given || sel->kind == RES_MAILBOX)
		for (size_t i = 0; i < s->n_mailboxes; i++) {
			yml_near_try(&near, s->mailboxes[i].name);
			if (strcmp(s->mailboxes[i].name, sel->name) == 0 && found++ == 0)
				*kind = RES_MAILBOX, *index = i;
		}
	if (found == 1)
		return 0;
	if (found > 1) {
		term_eprintf("throttlesim plan: --entity: '%s' names both a sender group and a mailbox;"
		             " write group:%s or mailbox:%s\n", sel->name, sel->name, sel->name);
		return EXIT_USAGE;
	}
	const char *sug = yml_near_result(&near);
	const char *what = !sel->kind_given ? "sender group or mailbox" :
	                   sel->kind == RES_GROUP ? "sender group" : "mailbox";
	if (sug)
		term_eprintf("%s: --entity: no %s named '%s' (did you mean '%s'?)\n", path, what, sel->name, sug);
	else
		term_eprintf("%s: --entity: no %s named '%s'\n", path, what, sel->name);
	return EXIT_USAGE;
}

/* ---- one value tried ------------------------------------------------------------ */

typedef enum { V_NO = 0, V_CLOSE = 1, V_YES = 2 } verdict;

/* What plan keeps of the replications at one value: enough to judge the
 * target, show the figures and name the binding limit, after the
 * replications themselves are freed. */
typedef struct point {
	int64_t x;
	st_summary fig[FIG_COUNT];      /* the entity's figures */
	st_summary cmp[MAX_NODES];      /* each comparison's value (percentages per replication) */
	double lost_by[RC_COUNT];       /* means per replication */
	double rejected_by[RC_COUNT];
	char reply[RC_COUNT][24];       /* "432 4.3.2": code and enhanced code as given */
	res_entity_kind kind;           /* the entity judged (--entity) */
	verdict v;                      /* on the intervals */
	bool by_mean;                   /* on the means */
	int64_t reps;
} point;

/* One comparison judged on its interval [mean - half, mean + half]. */
static verdict judge_cmp(const node *c, st_summary s)
{
	double m = s.mean, h = s.half, y = c->value;
	if (isnan(m))
		return V_NO; /* undefined (e.g. no message delivered) never meets a target */
	if (c->op == OP_EQ)
		return m == y ? V_YES : V_NO;
	if (c->op == OP_NE)
		return m != y ? V_YES : V_NO;
	if (isnan(h))
		h = 0; /* one replication: no interval; decided by the mean (said in the output) */
	double lo = m - h, hi = m + h;
	switch (c->op) {
	case OP_LE: return hi <= y ? V_YES : lo > y ? V_NO : V_CLOSE;
	case OP_LT: return hi < y ? V_YES : lo >= y ? V_NO : V_CLOSE;
	case OP_GE: return lo >= y ? V_YES : hi < y ? V_NO : V_CLOSE;
	default:    return lo > y ? V_YES : hi <= y ? V_NO : V_CLOSE;
	}
}

static bool mean_cmp(const node *c, double m)
{
	if (isnan(m))
		return false;
	double y = c->value;
	switch (c->op) {
	case OP_LE: return m <= y;
	case OP_LT: return m < y;
	case OP_GE: return m >= y;
	case OP_GT: return m > y;
	case OP_EQ: return m == y;
	default:    return m != y;
	}
}

/* Kleene's three-valued and/or: and the worse verdict, or the better. */
static verdict judge(const target *t, int i, const point *pt)
{
	const node *n = &t->n[i];
	if (n->kind == N_CMP)
		return judge_cmp(n, pt->cmp[i]);
	verdict l = judge(t, n->left, pt), r = judge(t, n->right, pt);
	if (n->kind == N_AND)
		return l < r ? l : r;
	return l > r ? l : r;
}

static bool judge_mean(const target *t, int i, const point *pt)
{
	const node *n = &t->n[i];
	if (n->kind == N_CMP)
		return mean_cmp(n, pt->cmp[i].mean);
	bool l = judge_mean(t, n->left, pt), r = judge_mean(t, n->right, pt);
	return n->kind == N_AND ? l && r : l || r;
}

/* A comparison's value in one replication. */
typedef struct cmp_ctx {
	const res_rep *reps;
	res_entity_kind kind;
	size_t index;
	const node *c;
} cmp_ctx;

static double cmp_value_at(const void *ctx, size_t i)
{
	const cmp_ctx *cc = ctx;
	const res_entity *e = res_entity_of(&cc->reps[i], cc->kind, cc->index);
	double x = res_value(e, RES_FIG, cc->c->fig);
	if (cc->c->pct != PCT_OF_GENERATED)
		return x;
	double g = res_value(e, RES_FIG, FIG_GENERATED);
	return g > 0 ? 100 * x / g : NAN; /* as lost_pct: nothing generated, nothing to compare */
}

/* "432 4.3.2" from a reply line: its code and enhanced code. */
static void short_reply(const char *text, char *buf, size_t size)
{
	size_t n = 0;
	int words = 0;
	while (text[n] && n + 1 < size) {
		if (text[n] == ' ' && ++words == 2)
			break;
		n++;
	}
	memcpy(buf, text, n);
	buf[n] = 0;
}

typedef struct plan_opts {
	const char *path, *key, *variant, *target_text;
	int64_t lo, hi;
	bool largest;
	bool have_range;
	uint64_t budget;        /* --memory-budget, per trial */
	entity_sel entity;
	char entity_label[SCN_NAME_MAX + 16];
	cli_run_opts run;
	target target;
} plan_opts;

/* Runs the replications at x and keeps what plan needs of them in *pt.
 * Returns 0, or an exit status after printing why. */
static int evaluate(const plan_opts *o, int64_t x, point *pt)
{
	char value[32];
	snprintf(value, sizeof value, "%lld", (long long)x);
	scn_override ov = { o->key, value, o->variant };
	scenario **v;
	size_t n;
	scn_errors errs = { 0 };
	int rc = scn_load_ex(o->path, &sim_alloc_std, &ov, 1, &v, &n, &errs);
	char with[256];
	snprintf(with, sizeof with, " (with %s = %s)", o->key, value);
	if (rc != SIM_OK) {
		int status = cli_load_failed(o->path, rc, &errs, with);
		scn_errors_free(&errs);
		return status;
	}
	scn_errors_free(&errs);
	size_t pick = 0;
	if (o->variant) {
		pick = n;
		for (size_t i = 0; i < n; i++)
			if (strcmp(v[i]->variant, o->variant) == 0)
				pick = i;
		if (pick == n) {
			term_eprintf("%s: no variant named '%s'\n", o->path, o->variant);
			scn_free_all(v, n, &sim_alloc_std);
			return EXIT_USAGE;
		}
	}
	scenario *s = v[pick];
	res_entity_kind kind = RES_TOTAL;
	size_t index = 0;
	if ((rc = resolve_entity(&o->entity, s, o->path, &kind, &index)) != 0) {
		scn_free_all(v, n, &sim_alloc_std);
		return rc;
	}
	cli_apply_run_opts(&o->run, s);
	/* the same memory budget as run (models/scn_budget.h) */
	rc = scn_budget_check(&s, 1, o->run.jobs > 0 ? (int)o->run.jobs : 1, o->budget, &errs);
	if (rc != SIM_OK) {
		int status = cli_load_failed(o->path, rc, &errs, with);
		scn_errors_free(&errs);
		scn_free_all(v, n, &sim_alloc_std);
		return status;
	}
	res_rep **reps = NULL;
	char err[512];
	drv_opts d = { .kind = o->run.kind, .jobs = o->run.jobs, .progress = false };
	rc = drv_run(&s, 1, &d, &reps, err, sizeof err);
	if (rc != SIM_OK) {
		term_eprintf("throttlesim plan: %s = %s: %s\n", o->key, value, err);
		scn_free_all(v, n, &sim_alloc_std);
		return EXIT_FAIL;
	}
	size_t nr = (size_t)s->replications;
	pt->x = x;
	pt->kind = kind;
	pt->reps = s->replications;
	for (int f = 0; f < FIG_COUNT; f++)
		pt->fig[f] = res_summarize_value(reps[0], nr, kind, index, RES_FIG, f);
	for (int i = 0; i < o->target.n_nodes; i++)
		if (o->target.n[i].kind == N_CMP) {
			cmp_ctx cc = { reps[0], kind, index, &o->target.n[i] };
			pt->cmp[i] = st_summarize_fn(cmp_value_at, &cc, nr);
		}
	for (int c = 0; c < RC_COUNT; c++) {
		pt->lost_by[c] = res_summarize_value(reps[0], nr, kind, index, RES_LOST_BY, c).mean;
		pt->rejected_by[c] = res_summarize_value(reps[0], nr, kind, index, RES_REJECTED_BY, c).mean;
		const char *text = rpl_info[c].text;
		for (size_t r = 0; r < nr; r++)
			if (reps[0][r].given[c].code != 0) {
				text = reps[0][r].given[c].text;
				break;
			}
		short_reply(text, pt->reply[c], sizeof pt->reply[c]);
	}
	pt->v = judge(&o->target, o->target.root, pt);
	pt->by_mean = judge_mean(&o->target, o->target.root, pt);
	drv_free(reps, &s, 1);
	scn_free_all(v, n, &sim_alloc_std);
	return 0;
}

/* ---- output ------------------------------------------------------------------- */

static const char *verdict_text(const point *pt)
{
	if (pt->v == V_CLOSE)
		return pt->by_mean ? "too close to call (met by the means)" :
		                     "too close to call (NOT met by the means)";
	return pt->v == V_YES ? "met" : "NOT met";
}

/* "2.4 ± 0.8", "42s ± 3s", "0.05% ± 0.02%", "0 (no interval)". */
static void format_value(double m, double h, const char *unit, bool pct, char *buf, size_t size)
{
	char a[32], b[32];
	if (strcmp(unit, "s") == 0 && !pct) {
		rpt_format_duration(m, a, sizeof a);
		rpt_format_duration(h, b, sizeof b);
	} else {
		/* counts as integers, no exponents: "1186 ± 502", "2.4 ± 0.97" */
		if (m == floor(m) && fabs(m) < 1e15)
			snprintf(a, sizeof a, "%.0f%s", m, pct ? "%" : "");
		else
			snprintf(a, sizeof a, fabs(m) >= 1e4 ? "%.1f%s" : "%.4g%s", m, pct ? "%" : "");
		snprintf(b, sizeof b, h >= 100 ? "%.0f%s" : "%.2g%s", h, pct ? "%" : "");
	}
	if (isnan(m))
		snprintf(buf, size, "undefined");
	else if (isnan(h))
		snprintf(buf, size, "%s (no interval)", a);
	else
		snprintf(buf, size, "%s ± %s", a, b);
}

static void show(const plan_opts *o, const point *pt)
{
	term_printf("  %s = %lld: target %s\n", o->key, (long long)pt->x, verdict_text(pt));
	for (int i = 0; i < o->target.n_nodes; i++) {
		const node *c = &o->target.n[i];
		if (c->kind != N_CMP)
			continue;
		const res_fig_desc *fd = &res_fig_info[c->fig];
		char val[96], name[64];
		format_value(pt->cmp[i].mean, pt->cmp[i].half, fd->unit, c->pct == PCT_OF_GENERATED, val, sizeof val);
		snprintf(name, sizeof name, "%s%s", fd->name, c->pct == PCT_OF_GENERATED ? " (% of generated)" : "");
		static const char *const vt[] = { "not met", "too close to call", "met" };
		term_printf("    %-28s %-22s %s %s: %s\n", name, val, op_text[c->op], c->text, vt[judge_cmp(c, pt->cmp[i])]);
	}
	char a[32], b[32];
	rpt_format_duration(pt->fig[FIG_DEL_DELAY_P95].mean, a, sizeof a);
	rpt_format_duration(pt->fig[FIG_SUB_DELAY_P95].mean, b, sizeof b);
	term_printf("    (means: generated %.6g, accepted %.6g, lost %.6g, p95 submission %s, p95 delivery %s)\n",
	            pt->fig[FIG_GENERATED].mean, pt->fig[FIG_ACCEPTED].mean, pt->fig[FIG_LOST].mean, b, a);
}

/* The limit that binds at a failing value: the reply class that lost the
 * most messages there, else the one that refused the most. */
static void show_binding(const point *pt)
{
	int lc = -1, rc = -1;
	for (int c = 0; c < RC_COUNT; c++) {
		if (c == RC_OK)
			continue;
		if (pt->lost_by[c] > 0 && (lc < 0 || pt->lost_by[c] > pt->lost_by[lc]))
			lc = c;
		if (pt->rejected_by[c] > 0 && (rc < 0 || pt->rejected_by[c] > pt->rejected_by[rc]))
			rc = c;
	}
	double overflow = pt->fig[FIG_LOST_OUTBOX_OVERFLOW].mean;
	int c = lc >= 0 ? lc : rc;
	if (c < 0) {
		term_printf("binding at %lld: none; no limit refuses anything there (the target fails on its"
		            " figures alone%s)\n", (long long)pt->x,
		            overflow > 0 ? ", and on messages lost to the client's full outbox" : "");
		return;
	}
	term_printf("binding at %lld: %s (%s), %.4g refusals per replication", (long long)pt->x,
	            rpl_info[c].id, pt->reply[c], pt->rejected_by[c]);
	if (pt->lost_by[c] > 0)
		term_printf(", %.4g messages lost after it", pt->lost_by[c]);
	term_printf("\n");
	if (overflow > pt->lost_by[c])
		term_printf("  (more are lost to the client's full outbox: %.4g per replication)\n", overflow);
}

/* ---- options ------------------------------------------------------------------ */

static const char plan_usage[] =
	"usage: throttlesim plan FILE --vary KEY --range A..B --target EXPR [options]\n"
	"\n"
	"Finds the smallest integer value of KEY in [A, B] for which the target\n"
	"holds (with --largest, the largest), by bisection: it assumes the target\n"
	"is monotone in KEY, judges each step on the 95% intervals of the figures\n"
	"(a step whose interval straddles the target is too close to call and is\n"
	"flagged), shows the figures at the answer and its neighbour, and names\n"
	"the limit that binds there.  Exit status 1 when no value meets the target.\n"
	"Details: docs/PLAN.md.\n"
	"\n"
	"  --vary KEY         a scenario key, dotted as in variants: senders.mfp.count,\n"
	"                     mailboxes.scanners.count, limits.message_rate_limit\n"
	"  --range A..B       integers, A <= B\n"
	"  --target EXPR      e.g. 'delivery_delay_p95 <= 5m and lost == 0',\n"
	"                     'lost < 0.1% or (pending == 0 and retries_per_msg < 1)':\n"
	"                     and binds tighter than or; N% of a message count is a\n"
	"                     share of generated\n"
	"  --entity NAME      judge the figures of this sender group or mailbox\n"
	"                     (group:NAME or mailbox:NAME when both exist), not\n"
	"                     the whole scenario's\n"
	"  --largest          the largest value meeting the target\n"
	"  --variant NAME     plan for this variant instead of the base\n"
	"  --memory-budget B  as for run: refuse a trial that would need more (default 4G)\n"
	"  --replications N, --seed N, --duration D, --jobs N, --engine E, --quiet\n"
	"                     as for run\n";

enum { PLAN_VARY, PLAN_RANGE, PLAN_TARGET, PLAN_VARIANT, PLAN_LARGEST, PLAN_BUDGET, PLAN_ENTITY,
       PLAN_SHARED };

/* --range A..B */
static int parse_range(const char *val, plan_opts *o)
{
	const char *dots = strstr(val, "..");
	char lo[32];
	if (dots == NULL || (size_t)(dots - val) >= sizeof lo) {
		term_eprintf("throttlesim plan: --range: expected A..B, got '%s'\n", val);
		return -1;
	}
	memcpy(lo, val, (size_t)(dots - val));
	lo[dots - val] = 0;
	if (cli_parse_int("plan", "--range", lo, INT64_MIN / 4, INT64_MAX / 4, &o->lo) ||
	    cli_parse_int("plan", "--range", dots + 2, INT64_MIN / 4, INT64_MAX / 4, &o->hi))
		return -1;
	if (o->lo > o->hi) {
		term_eprintf("throttlesim plan: --range: A must not exceed B ('%s')\n", val);
		return -1;
	}
	o->have_range = true;
	return 0;
}

static int parse_entity(const char *val, plan_opts *o)
{
	o->entity = (entity_sel){ .name = val };
	if (strncmp(val, "group:", 6) == 0)
		o->entity = (entity_sel){ val + 6, RES_GROUP, true };
	else if (strncmp(val, "mailbox:", 8) == 0)
		o->entity = (entity_sel){ val + 8, RES_MAILBOX, true };
	if (o->entity.name[0] == 0) {
		term_eprintf("throttlesim plan: --entity: expected a sender group or mailbox name\n");
		return -1;
	}
	return 0;
}

static int plan_option(void *ctx, int id, const char *opt, const char *val)
{
	plan_opts *o = ctx;
	switch (id) {
	case CLI_ARG:
		if (o->path) {
			term_eprintf("throttlesim plan: one scenario file at a time\n");
			return -1;
		}
		o->path = val;
		return 0;
	case PLAN_VARY: o->key = val; return 0;
	case PLAN_RANGE: return parse_range(val, o);
	case PLAN_TARGET:
		o->target_text = val;
		return parse_target(val, &o->target) ? -1 : 0;
	case PLAN_VARIANT: o->variant = val; return 0;
	case PLAN_LARGEST: o->largest = true; return 0;
	case PLAN_BUDGET: return cli_memory_budget("plan", val, &o->budget);
	case PLAN_ENTITY: return parse_entity(val, o);
	default: return cli_run_option("plan", opt, val, &o->run);
	}
}

/* -1 error (printed), 0 go on, 1 help printed. */
static int parse_args(int argc, char **argv, plan_opts *o)
{
	static const cli_opt opts[] = {
		{ "--vary", NULL, true, PLAN_VARY }, { "--range", NULL, true, PLAN_RANGE },
		{ "--target", NULL, true, PLAN_TARGET }, { "--variant", NULL, true, PLAN_VARIANT },
		{ "--largest", NULL, false, PLAN_LARGEST }, { "--memory-budget", NULL, true, PLAN_BUDGET },
		{ "--entity", NULL, true, PLAN_ENTITY },
		CLI_RUN_OPTIONS(PLAN_SHARED),
	};
	*o = (plan_opts){ .budget = SCN_DEFAULT_MEMORY_BUDGET };
	cli_run_opts_init(&o->run);
	int p = cli_parse("plan", plan_usage, opts, sizeof opts / sizeof opts[0], argc, argv, plan_option, o);
	if (p != 0)
		return p;
	if (!o->path || !o->key || !o->have_range || !o->target_text) {
		term_eprintf("throttlesim plan: FILE, --vary, --range and --target are all needed (try plan --help)\n");
		return -1;
	}
	cli_run_opts_finish(&o->run);
	return 0;
}

/* A figure of the target the judged entity never has (a mailbox-only
 * figure for a sender group, ...) is never met: said before the work. */
static void warn_undefined(const plan_opts *o)
{
	unsigned want = o->entity.name == NULL ? RES_E_TOTAL : 0;
	for (int i = 0; i < o->target.n_nodes; i++) {
		const node *c = &o->target.n[i];
		if (c->kind != N_CMP || want == 0 || (res_fig_info[c->fig].ents & want))
			continue;
		term_eprintf("throttlesim plan: note: %s is not defined for the whole scenario;"
		             " a condition on it is never met (try --entity)\n", res_fig_info[c->fig].name);
	}
}

/* The bracket the sure steps prove, from every value tried. */
typedef struct bracket {
	bool have_lo, have_hi;
	int64_t lo, hi;
	int n_close;
	int64_t close[64];
	bool no_interval;
} bracket;

static void note_step(bracket *b, const plan_opts *o, const point *pt)
{
	if (pt->reps < 2)
		b->no_interval = true;
	if (pt->v == V_CLOSE) {
		if (b->n_close < (int)(sizeof b->close / sizeof b->close[0]))
			b->close[b->n_close] = pt->x;
		b->n_close++;
		return;
	}
	/* smallest: met grows with x, so a sure "no" bounds the answer below
	 * and a sure "yes" above; --largest mirrors it */
	bool below = o->largest ? pt->v == V_YES : pt->v == V_NO;
	if (below) {
		int64_t bound = o->largest ? pt->x : pt->x + 1;
		if (!b->have_lo || bound > b->lo)
			b->lo = bound, b->have_lo = true;
	} else {
		int64_t bound = o->largest ? pt->x - 1 : pt->x;
		if (!b->have_hi || bound < b->hi)
			b->hi = bound, b->have_hi = true;
	}
}

/* What the intervals say of the answer (ans, when answered). */
static void show_uncertainty(const plan_opts *o, const bracket *b, bool answered, int64_t ans, int64_t reps)
{
	if (b->no_interval)
		term_printf("uncertainty: not measured; with one replication there is no interval, every step"
		            " was decided by the means (use --replications 2 or more)\n");
	if (b->n_close == 0) {
		if (!b->no_interval)
			term_printf("uncertainty: every step was clear of the target at 95%% confidence\n");
		return;
	}
	term_printf("uncertainty: %d step%s too close to call (", b->n_close, b->n_close == 1 ? "" : "s");
	for (int i = 0; i < b->n_close && i < (int)(sizeof b->close / sizeof b->close[0]); i++)
		term_printf("%s%lld", i ? ", " : "", (long long)b->close[i]);
	term_printf("), decided by the means\n");
	if (answered) {
		/* the side where the target is surely met may be missing; the
		 * other defaults to the end of the range */
		bool have_met = o->largest ? b->have_lo : b->have_hi;
		int64_t lo = b->have_lo ? b->lo : o->lo, hi = b->have_hi ? b->hi : o->hi;
		if (have_met && lo == ans && hi == ans) {
			term_printf("  the answer stands all the same: the steps that were clear bracket it exactly\n");
			return;
		}
		if (have_met)
			term_printf("  the steps that were clear put the answer in [%lld, %lld]\n", (long long)lo,
			            (long long)hi);
		else
			term_printf("  no value tried surely meets the target: perhaps none in the range does\n");
	}
	term_printf("  more replications are needed to decide (now %lld; four times as many halve"
	            " the intervals: --replications %lld)\n", (long long)reps, (long long)(4 * reps));
}

int cmd_plan(int argc, char **argv)
{
	plan_opts o;
	int p = parse_args(argc, argv, &o);
	if (p != 0)
		return p > 0 ? EXIT_OK : EXIT_USAGE;
	warn_undefined(&o);
	/* met(x): the target holds at x.  Smallest: false ... false true ... true;
	 * largest: true ... true false ... false.  Decided by the means; the
	 * intervals flag the steps that are too close to call (see the top). */
	point lo_pt, hi_pt, mid_pt; /* ~4 KB each */
	bracket b = { 0 };
	int rc;
	int64_t lo = o.lo, hi = o.hi;
	if (!o.run.quiet)
		term_eprintf("trying %s = %lld and %lld\n", o.key, (long long)lo, (long long)hi);
	if ((rc = evaluate(&o, lo, &lo_pt)) || (rc = evaluate(&o, hi, &hi_pt)))
		return rc;
	note_step(&b, &o, &lo_pt);
	if (hi != lo)
		note_step(&b, &o, &hi_pt);
	char tgt[512] = "";
	target_format(&o.target, o.target.root, N_CMP, tgt, sizeof tgt);
	if (o.entity.name)
		snprintf(o.entity_label, sizeof o.entity_label, "%s %s",
		         lo_pt.kind == RES_GROUP ? "sender group" : "mailbox", o.entity.name);
	term_printf("plan: %s %s in [%lld, %lld] with %s (%s; %lld replications each)\n",
	            o.largest ? "largest" : "smallest", o.key, (long long)o.lo, (long long)o.hi, tgt,
	            o.entity.name ? o.entity_label : "the whole scenario", (long long)lo_pt.reps);
	term_printf("  (bisection: assumes the target is %s as %s grows; each step is judged on the"
	            " 95%% intervals)\n", o.largest ? "met, then not met" : "not met, then met", o.key);
	/* the end of the range that must meet the target for any value to */
	point *edge = o.largest ? &lo_pt : &hi_pt;
	if (!edge->by_mean) {
		term_printf("no value in [%lld, %lld] meets the target; at %s = %lld:\n", (long long)o.lo,
		            (long long)o.hi, o.key, (long long)edge->x);
		show(&o, edge);
		show_binding(edge);
		show_uncertainty(&o, &b, false, 0, edge->reps);
		term_eprintf("throttlesim plan: no value of %s in [%lld, %lld] meets the target\n", o.key,
		             (long long)o.lo, (long long)o.hi);
		return EXIT_FAIL;
	}
	point *other = o.largest ? &hi_pt : &lo_pt;
	if (other->by_mean) {
		term_printf("answer: %s = %lld\n", o.key, (long long)other->x);
		term_printf("  (the %s of the range already meets the target: widen the range to find the edge)\n",
		            o.largest ? "top" : "bottom");
		show(&o, other);
		show_uncertainty(&o, &b, true, other->x, other->reps);
		return EXIT_OK;
	}
	/* Invariant: smallest: !met(lo) && met(hi); largest: met(lo) && !met(hi). */
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;
		if (!o.run.quiet)
			term_eprintf("trying %s = %lld\n", o.key, (long long)mid);
		if ((rc = evaluate(&o, mid, &mid_pt)))
			return rc;
		note_step(&b, &o, &mid_pt);
		if (mid_pt.by_mean != o.largest) {
			hi = mid;
			hi_pt = mid_pt;
		} else {
			lo = mid;
			lo_pt = mid_pt;
		}
	}
	point *ans = o.largest ? &lo_pt : &hi_pt, *nb = o.largest ? &hi_pt : &lo_pt;
	term_printf("answer: %s = %lld\n", o.key, (long long)ans->x);
	show(&o, ans);
	term_printf("neighbour:\n");
	show(&o, nb);
	show_binding(nb);
	show_uncertainty(&o, &b, true, ans->x, ans->reps);
	return EXIT_OK;
}
