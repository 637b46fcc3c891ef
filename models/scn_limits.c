/* scn_limits.c - the `limits:` mapping of a scenario, a mailbox or a
 * route (docs/SCENARIOS.md, Limits): a preset first, then each key;
 * error throttles per class of rejection; the reply lines.
 */
#include "scn_int.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "presets.h"
#include "units.h"

static const char *const counts_names[] = { "sessions", "submitting", NULL };
static const char *const class_keys[] = { "mailbox_full", "send_as_denied", "invalid_license",
					  "too_many_recipients", "invalid_recipients", NULL };
/* The keys of scenario.h's SCN_LIMIT_KEYS, as the loader applies them. */
typedef enum lk_kind { LK_BOOL, LK_DURATION, LK_WINDOW, LK_LIMIT, LK_SIZE, LK_RATE_LIMIT,
		       LK_COUNTS, LK_SCOPE, LK_MODE, LK_CHECK, LK_PROB, LK_LIFETIME, LK_RESET } lk_kind;

static const struct limit_key {
	const char *key;
	lk_kind kind;
	size_t off;         /* of the field in scn_limits */
} limit_key_table[] = {
#define X(key, kind, field) { key, LK_##kind, offsetof(scn_limits, field) },
	SCN_LIMIT_KEYS(X)
#undef X
};
#define N_LIMIT_KEYS (sizeof limit_key_table / sizeof limit_key_table[0])

/* The sizes of the fields each kind writes, checked for every row. */
#define LK_SIZE_BOOL sizeof(bool)
#define LK_SIZE_DURATION sizeof(int64_t)
#define LK_SIZE_WINDOW sizeof(int64_t)
#define LK_SIZE_LIMIT sizeof(int64_t)
#define LK_SIZE_SIZE sizeof(int64_t)
#define LK_SIZE_RATE_LIMIT sizeof(scn_window_count)
#define LK_SIZE_COUNTS sizeof(int)
#define LK_SIZE_SCOPE sizeof(int)
#define LK_SIZE_MODE sizeof(int)
#define LK_SIZE_CHECK sizeof(int)
#define LK_SIZE_PROB sizeof(double)
#define LK_SIZE_LIFETIME sizeof(int64_t)
#define LK_SIZE_RESET sizeof(int64_t)
#define X(key, kind, field) \
	_Static_assert(sizeof(((scn_limits *)0)->field) == LK_SIZE_##kind, "limits key " key ": field size");
SCN_LIMIT_KEYS(X)
#undef X

/* Every key a limits mapping may have, into keys[N_LIMIT_KEYS + 4]:
 * preset, the table's, then the two sub-mappings (the order "did you
 * mean" sees them in). */
static void limit_keys(const char **keys)
{
	size_t n = 0;
	keys[n++] = "preset";
	for (size_t i = 0; i < N_LIMIT_KEYS; i++)
		keys[n++] = limit_key_table[i].key;
	keys[n++] = "error_throttle";
	keys[n++] = "replies";
	keys[n] = NULL;
}
static const char *const throttle_keys[] = { "enabled", "threshold", "window", "period", NULL };
static const char *const throttle_all_keys[] = { "enabled", "threshold", "window", "period",
	"mailbox_full", "send_as_denied", "invalid_license", "too_many_recipients",
	"invalid_recipients", NULL };

static void preset_names(const char **names, size_t cap)
{
	size_t i = 0;
	for (; i + 1 < cap && preset_name(i); i++)
		names[i] = preset_name(i);
	names[i] = NULL;
}

/* A preset name; fills *l.  false (reported) if unknown. */
bool scn_val_preset(scn_ctx *c, const yml_node *n, const char *p, scn_limits *l)
{
	const char *names[32];
	preset_names(names, 32);
	int i = scn_val_enum(c, n, p, names);
	if (i < 0)
		return false;
	preset_fill(names[i], l);
	return true;
}

static void parse_throttle_one(scn_ctx *c, const yml_node *n, const char *p, scn_error_throttle *t, bool all_keys)
{
	if (n->type == YML_SCALAR) {
		bool on;
		char msg[300];
		if (unit_parse_bool(n->str, &on, msg, sizeof msg))
			scn_err_node(c, n, p, "expected on, off or a mapping {threshold, window, period}, got '%s'", n->str);
		else
			t->enabled = on;
		return;
	}
	const yml_node *m = scn_want_map(c, n, p);
	if (!m)
		return;
	if (!all_keys)
		scn_check_keys(c, m, p, throttle_keys);
	bool any = false;
	int64_t v;
	if (scn_opt_count(c, m, "threshold", p, 1, INT64_MAX / 2, "2^62", &v)) {
		t->threshold = v;
		any = true;
	}
	if (scn_opt_dur(c, m, "window", p, &v)) {
		if (v <= 0) {
			char q[SCN_PATH_MAX];
			scn_pjoin(q, p, "window");
			scn_err_node(c, yml_get(m, "window"), q, "must be longer than 0");
		} else
			t->window_ns = v;
		any = true;
	}
	if (scn_opt_dur(c, m, "period", p, &v)) {
		t->period_ns = v;
		any = true;
	}
	if (any)
		t->enabled = true;
	scn_opt_bool(c, m, "enabled", p, &t->enabled);
}

static void parse_error_throttle(scn_ctx *c, const yml_node *n, const char *p, scn_limits *l)
{
	if (n->type != YML_MAP) {
		for (int k = 0; k < ERR_CLASS_COUNT; k++)
			parse_throttle_one(c, n, p, &l->error_throttle[k], false);
		return;
	}
	scn_check_keys(c, n, p, throttle_all_keys);
	bool has_common = false;
	for (int i = 0; throttle_keys[i]; i++)
		if (yml_get(n, throttle_keys[i]))
			has_common = true;
	if (has_common) {
		/* parse once (reporting once), then copy the common fields */
		scn_error_throttle t = l->error_throttle[0];
		yml_node *sub[4] = { 0 };
		for (int i = 0; throttle_keys[i]; i++)
			sub[i] = yml_get(n, throttle_keys[i]);
		parse_throttle_one(c, n, p, &t, true);
		for (int k = 0; k < ERR_CLASS_COUNT; k++) {
			scn_error_throttle *d = &l->error_throttle[k];
			if (sub[0] || sub[1] || sub[2] || sub[3])
				d->enabled = t.enabled;
			if (sub[1])
				d->threshold = t.threshold;
			if (sub[2])
				d->window_ns = t.window_ns;
			if (sub[3])
				d->period_ns = t.period_ns;
		}
	}
	for (int k = 0; k < ERR_CLASS_COUNT; k++) {
		yml_node *cn = yml_get(n, class_keys[k]);
		char q[SCN_PATH_MAX];
		if (!cn)
			continue;
		scn_pjoin(q, p, class_keys[k]);
		parse_throttle_one(c, cn, q, &l->error_throttle[k], false);
	}
}

static void parse_reply(scn_ctx *c, const yml_node *n, const char *p, int cls, scn_reply *r)
{
	if (!scn_want_scalar(c, n, p, "a reply line such as \"450 4.7.0 text\", or a named form"))
		return;
	const char *s = n->str;
	const char *form = rpl_form(cls, s);
	if (form)
		s = form;  /* a wording of the catalog's SCN_REPLY_FORMS, by name */
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[2]) ||
	    (s[3] != ' ' && s[3] != '\0') || s[0] < '2' || s[0] > '5') {
		scn_err_node(c, n, p, "a reply must start with a 3-digit SMTP code (2xx-5xx): '%s'", s);
		return;
	}
	if (strlen(s) >= sizeof r->text) {
		scn_err_node(c, n, p, "reply longer than %zu characters", sizeof r->text - 1);
		return;
	}
	r->code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	r->transient = s[0] == '4';
	r->drops_connection = r->code == 421;
	snprintf(r->text, sizeof r->text, "%s", s);
}

/* replies: { <id>: "CODE text", ... } for the catalog's classes that a
 * scenario may override (replies.h). */
static void parse_replies(scn_ctx *c, const yml_node *n, const char *p, scn_limits *l)
{
	const yml_node *m = scn_want_map(c, n, p);
	const char *keys[RC_COUNT + 1];
	int cls[RC_COUNT], nk = 0;
	if (!m)
		return;
	for (int r = 0; r < RC_COUNT; r++)
		if (rpl_info[r].scenario_key) {
			cls[nk] = r;
			keys[nk++] = rpl_info[r].id;
		}
	keys[nk] = NULL;
	scn_check_keys(c, m, p, keys);
	for (int i = 0; i < nk; i++) {
		yml_node *v = yml_get(m, keys[i]);
		char q[SCN_PATH_MAX];
		if (!v)
			continue;
		scn_pjoin(q, p, keys[i]);
		parse_reply(c, v, q, cls[i], &l->reply[cls[i]]);
	}
}

/* message_rate_limit: N (per message_rate_window) or N/UNIT, e.g. 30/min. */
static void parse_message_rate_limit(scn_ctx *c, const yml_node *n, const char *p, scn_window_count *w)
{
	if (n->type == YML_SCALAR && strchr(n->str, '/')) {
		char num[64], msg[300];
		const char *slash = strchr(n->str, '/');
		size_t nl = (size_t)(slash - n->str);
		int64_t v, win;
		char den[80];
		if (nl >= sizeof num)
			nl = sizeof num - 1;
		memcpy(num, n->str, nl);
		num[nl] = '\0';
		const char *d = slash + 1;
		while (*d == ' ')
			d++;
		snprintf(den, sizeof den, "%s%s", isalpha((unsigned char)*d) ? "1" : "", d);
		if (unit_parse_count(num, &v, msg, sizeof msg) ||
		    unit_parse_duration(den, &win, msg, sizeof msg) || win <= 0) {
			scn_err_node(c, n, p, "'%s' is not a message rate limit (write e.g. 30 or 30/min)", n->str);
			return;
		}
		w->limit = v;
		w->window_ns = win;
		return;
	}
	if (n->type == YML_SCALAR && (!strcmp(n->str, "off") || !strcmp(n->str, "none"))) {
		w->limit = 0;
		return;
	}
	scn_val_i64(c, n, p, unit_parse_count, "a whole number or a rate such as 30/min", &w->limit);
}

/* recipient_rate_reset: `rolling`, or the UTC time of day "HH:MM" or
 * "HH:MM:SS" at which a fixed day's count starts again (1 + its seconds
 * after midnight; scenario.h, scn_window_sum.reset). */
static void parse_reset(scn_ctx *c, const yml_node *n, const char *p, int64_t *out)
{
	if (!scn_want_scalar(c, n, p, "rolling or a time of day such as \"00:00\""))
		return;
	if (!strcmp(n->str, "rolling")) {
		*out = 0;
		return;
	}
	unsigned h, m, sec = 0;
	char tail;
	int k = sscanf(n->str, "%2u:%2u:%2u%c", &h, &m, &sec, &tail);
	size_t len = strlen(n->str);
	bool shape = (len == 5 && k == 2) || (len == 8 && k == 3);
	if (!shape || h > 23 || m > 59 || sec > 59 || !isdigit((unsigned char)n->str[0]) ||
	    !isdigit((unsigned char)n->str[3])) {
		scn_err_node(c, n, p, "expected rolling or a UTC time of day \"HH:MM\" (e.g. \"00:00\"), got '%s'",
			     n->str);
		return;
	}
	*out = 1 + (int64_t)h * 3600 + (int64_t)m * 60 + (int64_t)sec;
}

/* One key of the table, if the mapping has it. */
static void apply_limit_key(scn_ctx *c, const yml_node *m, const char *path, const struct limit_key *k,
			    scn_limits *l)
{
	char p[SCN_PATH_MAX];
	void *f = (char *)l + k->off;
	int e;
	int64_t v;
	const yml_node *n = yml_get(m, k->key);
	switch (k->kind) {
	case LK_BOOL: scn_opt_bool(c, m, k->key, path, f); break;
	case LK_PROB: scn_opt_prob(c, m, k->key, path, f); break;
	case LK_DURATION: scn_opt_dur(c, m, k->key, path, f); break;
	case LK_LIMIT: scn_opt_limit(c, m, k->key, path, f); break;
	case LK_WINDOW:
		if (scn_opt_dur(c, m, k->key, path, &v)) {
			if (v <= 0) {
				scn_pjoin(p, path, k->key);
				scn_err_node(c, n, p, "must be longer than 0");
			} else
				*(int64_t *)f = v;
		}
		break;
	case LK_SIZE:
		if (n && n->type == YML_SCALAR && (!strcmp(n->str, "off") || !strcmp(n->str, "none")))
			*(int64_t *)f = 0;
		else
			scn_opt_size(c, m, k->key, path, f);
		break;
	case LK_LIFETIME:
		if (n && n->type == YML_SCALAR && (!strcmp(n->str, "off") || !strcmp(n->str, "none")))
			*(int64_t *)f = 0;
		else if (scn_opt_dur(c, m, k->key, path, &v)) {
			if (v <= 0) {
				scn_pjoin(p, path, k->key);
				scn_err_node(c, n, p, "must be longer than 0 (or off)");
			} else
				*(int64_t *)f = v;
		}
		break;
	case LK_RESET:
		if (n) {
			scn_pjoin(p, path, k->key);
			parse_reset(c, n, p, f);
		}
		break;
	case LK_RATE_LIMIT:
		if (n) {
			scn_pjoin(p, path, k->key);
			parse_message_rate_limit(c, n, p, f);
		}
		break;
	default: {
		const char *const *names = k->kind == LK_COUNTS ? counts_names
		                         : k->kind == LK_SCOPE ? scn_scope_names
		                         : k->kind == LK_CHECK ? scn_conc_check_names : scn_rate_mode_names;
		if ((e = scn_opt_enum(c, m, k->key, path, names)) >= 0)
			*(int *)f = e;
	}
	}
}

/* Apply a limits mapping (preset first, then overrides) to *l. */
void scn_parse_limits(scn_ctx *c, const yml_node *n, const char *path, scn_limits *l)
{
	const yml_node *m = scn_want_map(c, n, path);
	char p[SCN_PATH_MAX];
	if (!m)
		return;
	const char *keys[N_LIMIT_KEYS + 4];
	limit_keys(keys);
	scn_check_keys(c, m, path, keys);
	yml_node *pn = yml_get(m, "preset");
	if (pn) {
		scn_pjoin(p, path, "preset");
		scn_val_preset(c, pn, p, l);
	}
	for (size_t i = 0; i < N_LIMIT_KEYS; i++)
		apply_limit_key(c, m, path, &limit_key_table[i], l);
	yml_node *et = yml_get(m, "error_throttle");
	if (et) {
		scn_pjoin(p, path, "error_throttle");
		parse_error_throttle(c, et, p, l);
	}
	yml_node *rp = yml_get(m, "replies");
	if (rp) {
		scn_pjoin(p, path, "replies");
		parse_replies(c, rp, p, l);
	}
}

void scn_resolve_tenant_limit(scn_limits *l, int64_t tenant_limit)
{
	if (l->external_rate.limit == PRESET_FOLLOW_TENANT)
		l->external_rate.limit = tenant_limit;
}
