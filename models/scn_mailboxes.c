/* scn_mailboxes.c - the `mailboxes:` list: single mailboxes and pools
 * (expanded from a name pattern), their settings, limits and test
 * credentials; names unique across both.  Pools are counted first, so the
 * memory bound is checked before anything is allocated.
 */
#include "scn_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const mailbox_keys[] = { "name", "smtp_client_auth_disabled", "quota", "size",
	"save_sent_items", "licensed", "limits", "password", "send_as", NULL };
static const char *const pool_keys[] = { "pool", "count", "name_pattern", "smtp_client_auth_disabled",
	"quota", "size", "save_sent_items", "licensed", "limits", "password", "send_as", NULL };

/* ---- credentials (for serve; the simulator ignores them) ------------------- */

/* Whether entry m gives a password or send_as (null counts as not): it
 * then takes one of the scenario's creds blocks.  Pass 1 counts with
 * this, pass 2 fills with it, so the two agree. */
static bool has_credentials(const yml_node *m)
{
	const yml_node *pw = yml_get(m, "password"), *sa = yml_get(m, "send_as");
	return (pw && pw->type != YML_NULL) || (sa && sa->type != YML_NULL);
}

static bool check_password(scn_ctx *c, const yml_node *n, const char *p)
{
	unsigned code;
	size_t pos, len;
	if (!scn_want_scalar(c, n, p, "a password (a text)"))
		return false;
	/* The password itself is never quoted in a message: messages go to
	 * terminals and logs. */
	if ((len = strlen(n->str)) == 0)
		scn_err_node(c, n, p, "a password may not be empty (leave it out to take any password)");
	else if (scn_find_control(n->str, &code, &pos))
		scn_err_node(c, n, p, "a password may not contain control characters (U+%04X at character %zu)",
			     code, pos);
	else if (len > SCN_PASSWORD_MAX)
		scn_err_node(c, n, p, "a password is at most %d bytes, this one has %zu", SCN_PASSWORD_MAX, len);
	else
		return true;
	return false;
}

/* "*", or local@domain with one '@' where local is "*" or has no '*',
 * and domain has no '*', does not begin or end with '.' nor hold "..":
 * "*@.contoso.com" (subdomains, perhaps) matches nothing, so it is
 * refused rather than kept. */
static bool plausible_address(const char *a)
{
	if (!strcmp(a, "*"))
		return true;
	const char *at = strchr(a, '@');
	if (!at || strchr(at + 1, '@') || at == a || !at[1])
		return false;
	size_t local = (size_t)(at - a);
	const char *dom = at + 1;
	size_t dl = strlen(dom);
	if (memchr(a, '*', local) && !(local == 1 && a[0] == '*'))
		return false;
	if (strpbrk(a, " <>") || strchr(dom, '*') || dom[0] == '.' || dom[dl - 1] == '.' || strstr(dom, ".."))
		return false;
	return true;
}

static bool check_grant(scn_ctx *c, const yml_node *n, const char *p)
{
	unsigned code;
	size_t pos, len;
	if (!scn_want_scalar(c, n, p, "an address (local@domain, *@domain or *)"))
		return false;
	len = strlen(n->str);
	if (scn_find_control(n->str, &code, &pos))
		scn_err_node(c, n, p, "an address may not contain control characters (U+%04X at character %zu)",
			     code, pos);
	else if (len > SCN_ADDRESS_MAX)
		scn_err_node(c, n, p, "an address is at most %d bytes, this one has %zu", SCN_ADDRESS_MAX, len);
	else if (!plausible_address(n->str))
		scn_err_node(c, n, p, "'%s' is not an address: write local@domain, *@domain or *", n->str);
	else
		return true;
	return false;
}

/* The password and send_as of entry m (at path), checked, then copied
 * into one block, s->creds[*ci], which mb points into; absent or null:
 * none.  Anything refused is reported, and mb gets neither. */
static void parse_credentials(scn_ctx *c, const yml_node *m, const char *path, scenario *s, size_t *ci,
			      scn_mailbox *mb)
{
	if (!has_credentials(m))
		return;
	const yml_node *pw = yml_get(m, "password"), *sa = yml_get(m, "send_as");
	if (pw && pw->type == YML_NULL)
		pw = NULL;
	if (sa && sa->type == YML_NULL)
		sa = NULL;
	size_t slot = (*ci)++;
	bool ok = true;
	size_t ng = 0, bytes = 0;
	char p[SCN_PATH_MAX];
	if (pw) {
		scn_pjoin(p, path, "password");
		if ((ok = check_password(c, pw, p)))
			bytes += strlen(pw->str) + 1;
	}
	if (sa) {
		scn_pjoin(p, path, "send_as");
		if (sa->type != YML_SEQ) {
			scn_err_node(c, sa, p, "expected a list of addresses (local@domain, *@domain or *), got %s",
				     yml_type_name(sa->type));
			ok = false;
		} else if (sa->n > SCN_SEND_AS_MAX) {
			scn_err_node(c, sa, p, "%zu grants exceed the bound of %d per mailbox", sa->n, SCN_SEND_AS_MAX);
			ok = false;
		} else {
			for (size_t i = 0; i < sa->n; i++) {
				char q[SCN_PATH_MAX + 24];
				snprintf(q, sizeof q, "%s[%zu]", p, i);
				if (check_grant(c, sa->items[i].val, q))
					bytes += strlen(sa->items[i].val->str) + 1;
				else
					ok = false;
			}
			ng = sa->n;
		}
	}
	/* has_credentials counted this entry in pass 1, so slot is in range;
	 * [] alone gives nothing to hold. */
	if (!ok || slot >= s->n_creds || bytes == 0)
		return;
	bytes += ng * sizeof(char *);
	char *mem = scn_xalloc(c, bytes);
	if (!mem)
		return;
	s->creds[slot] = (scn_creds){ mem, bytes };
	const char **grants = (const char **)(void *)mem;
	char *t = mem + ng * sizeof(char *);
	if (pw) {
		size_t n = strlen(pw->str) + 1;
		memcpy(t, pw->str, n);
		mb->password = t;
		t += n;
	}
	for (size_t i = 0; i < ng; i++) {
		size_t n = strlen(sa->items[i].val->str) + 1;
		memcpy(t, sa->items[i].val->str, n);
		grants[i] = t;
		t += n;
	}
	if (ng) {
		mb->send_as = grants;
		mb->n_send_as = ng;
	}
}

/* Fill the mailbox settings shared by single mailboxes and pools. */
static void parse_mailbox_settings(scn_ctx *c, const yml_node *m, const char *path, const scn_limits *base,
				   scn_mailbox *mb)
{
	mb->pool = -1;
	mb->smtp_client_auth_disabled = TRI_UNSET;
	mb->quota_bytes = 100LL << 30;
	mb->save_sent_items = true;
	mb->licensed = true;
	mb->limits = *base;
	yml_node *ad = yml_get(m, "smtp_client_auth_disabled");
	if (ad && ad->type != YML_NULL) {
		bool v;
		if (scn_opt_bool(c, m, "smtp_client_auth_disabled", path, &v))
			mb->smtp_client_auth_disabled = v ? TRI_TRUE : TRI_FALSE;
	}
	scn_opt_size(c, m, "quota", path, &mb->quota_bytes);
	scn_opt_size(c, m, "size", path, &mb->size_bytes);
	scn_opt_bool(c, m, "save_sent_items", path, &mb->save_sent_items);
	scn_opt_bool(c, m, "licensed", path, &mb->licensed);
	yml_node *l = yml_get(m, "limits");
	if (l) {
		char p[SCN_PATH_MAX];
		scn_pjoin(p, path, "limits");
		scn_parse_limits(c, l, p, &mb->limits);
	}
}

static int cmp_name_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Expand "scanner{i}@x" with i; false if too long. */
static bool expand_pattern(const char *pat, int64_t i, char *out)
{
	size_t o = 0;
	for (const char *q = pat; *q; q++) {
		if (q[0] == '{' && q[1] == 'i' && q[2] == '}') {
			int w = snprintf(out + o, SCN_NAME_MAX - o, "%lld", (long long)i);
			if (w < 0 || o + (size_t)w >= SCN_NAME_MAX)
				return false;
			o += (size_t)w;
			q += 2;
		} else {
			if (o + 1 >= SCN_NAME_MAX)
				return false;
			out[o++] = *q;
		}
	}
	out[o] = '\0';
	return true;
}

/* Pass 1: the number of mailboxes (pools counted by their count), of
 * pools and of entries with credentials; false if an item is not a
 * mapping or a pool's count is bad (reported). */
static bool count_mailboxes(scn_ctx *c, const yml_node *n, int64_t *total, size_t *npools, size_t *ncreds)
{
	bool ok = true;
	for (size_t i = 0; i < n->n; i++) {
		const yml_node *it = n->items[i].val;
		char p[SCN_PATH_MAX];
		snprintf(p, sizeof p, "mailboxes[%zu]", i);
		if (it->type != YML_MAP) {
			scn_err_node(c, it, p, "expected {name: ...} or {pool: NAME, count: N, name_pattern: ...}");
			ok = false;
			continue;
		}
		if (has_credentials(it))
			++*ncreds;
		if (yml_get(it, "pool")) {
			int64_t k = 1;
			const yml_node *pn = yml_get(it, "pool");
			if (pn->type == YML_SCALAR)
				snprintf(p, sizeof p, "mailboxes.%s", pn->str);
			if (!yml_get(it, "count")) {
				scn_err_node(c, it, p, "a pool needs a count");
				ok = false;
			} else if (!scn_opt_count(c, it, "count", p, 1, SCN_MAX_MAILBOXES, "10^6", &k))
				ok = false;
			*total += k;
			++*npools;
		} else {
			++*total;
		}
	}
	return ok;
}

/* The memory bound, then s's mailboxes, pools and credential slots
 * allocated; false if refused (reported) or out of memory.  The
 * credentials are counted by the load's allocator alone (scn_load.c): at
 * most one block per entry of the file, no larger than its text. */
static bool reserve_mailboxes(scn_ctx *c, const yml_node *n, scenario *s, int64_t total, size_t npools,
			      size_t ncreds)
{
	if ((size_t)total * sizeof *s->mailboxes > SCN_MAX_LOAD_BYTES - c->load_bytes) {
		if (c->variant)
			scn_err_node(c, n, "mailboxes", "%lld mailboxes, with the base's and earlier variants', exceed "
				 "the loader's memory bound of 1 GiB (about %zu mailboxes over the base and all variants)",
				 (long long)total, SCN_MAX_LOAD_BYTES / sizeof *s->mailboxes);
		else
			scn_err_node(c, n, "mailboxes", "%lld mailboxes exceed the loader's memory bound of 1 GiB "
				 "(about %zu mailboxes)", (long long)total, SCN_MAX_LOAD_BYTES / sizeof *s->mailboxes);
		c->over_budget = true;
		return false;
	}
	c->load_bytes += (size_t)total * sizeof *s->mailboxes;
	if (total) {
		s->mailboxes = scn_xalloc(c, (size_t)total * sizeof *s->mailboxes);
		if (!s->mailboxes)
			return false;
		s->n_mailboxes = (size_t)total;
	}
	if (npools) {
		s->pools = scn_xalloc(c, npools * sizeof *s->pools);
		if (!s->pools)
			return false;
		s->n_pools = npools;
	}
	if (ncreds) {
		s->creds = scn_xalloc(c, ncreds * sizeof *s->creds);
		if (!s->creds)
			return false;
		s->n_creds = ncreds;
	}
	return true;
}

/* Pool pi, the item it at path p: its members from s->mailboxes[*mi] on,
 * named by its pattern, sharing one credentials block (s->creds[*ci], if
 * it gives any). */
static void fill_pool(scn_ctx *c, const yml_node *it, char *p, scenario *s, const scn_limits *base,
		      size_t pi, size_t *mi, size_t *ci)
{
	scn_pool *pool = &s->pools[pi];
	int64_t count = 0;
	char pat[SCN_NAME_MAX * 2];
	scn_opt_name(c, it, "pool", p, pool->name);
	if (pool->name[0])
		snprintf(p, SCN_PATH_MAX, "mailboxes.%s", pool->name);
	scn_check_keys(c, it, p, pool_keys);
	scn_opt_count(c, it, "count", p, 1, SCN_MAX_MAILBOXES, "10^6", &count);
	snprintf(pat, sizeof pat, "%s{i}", pool->name);
	yml_node *pt = yml_get(it, "name_pattern");
	if (pt) {
		char q[SCN_PATH_MAX];
		scn_pjoin(q, p, "name_pattern");
		unsigned code;
		size_t pos;
		if (scn_want_scalar(c, pt, q, "a pattern such as \"scanner{i}@contoso.com\"")) {
			if (scn_find_control(pt->str, &code, &pos))
				scn_err_node(c, pt, q, "a name may not contain control characters (U+%04X at character %zu)",
					     code, pos);
			else if (!strstr(pt->str, "{i}") && count > 1)
				scn_err_node(c, pt, q, "the pattern must contain {i} (the member number, 1..count)");
			snprintf(pat, sizeof pat, "%s", pt->str);
		}
	}
	pool->first = *mi;
	pool->count = (size_t)count;
	scn_mailbox proto;
	memset(&proto, 0, sizeof proto);
	parse_mailbox_settings(c, it, p, base, &proto);
	parse_credentials(c, it, p, s, ci, &proto);
	for (int64_t k = 1; k <= count; k++) {
		scn_mailbox *mb = &s->mailboxes[(*mi)++];
		*mb = proto;
		mb->pool = (int)pi;
		if (!expand_pattern(pat, k, mb->name)) {
			char q[SCN_PATH_MAX];
			scn_pjoin(q, p, "name_pattern");
			scn_err_node(c, pt ? pt : it, q, "expanded name longer than %d characters", SCN_NAME_MAX - 1);
			break;
		}
	}
	*mi = pool->first + (size_t)count;
}

/* Names are unique across mailboxes and pools: each name used twice is
 * reported once, at the list n. */
static void check_unique_names(scn_ctx *c, const yml_node *n, const scenario *s)
{
	size_t nn = s->n_mailboxes + s->n_pools;
	const char **names = scn_xalloc(c, nn * sizeof *names);
	if (!names)
		return;
	for (size_t i = 0; i < s->n_mailboxes; i++)
		names[i] = s->mailboxes[i].name;
	for (size_t i = 0; i < s->n_pools; i++)
		names[s->n_mailboxes + i] = s->pools[i].name;
	qsort(names, nn, sizeof *names, cmp_name_ptr);
	for (size_t i = 1; i < nn; i++)
		if (names[i][0] && !strcmp(names[i], names[i - 1])) {
			scn_err_node(c, n, "mailboxes", "the name '%s' is used more than once", names[i]);
			while (i + 1 < nn && !strcmp(names[i + 1], names[i]))
				i++;
		}
	sim_free(c->a, names, nn * sizeof *names);
}

void scn_parse_mailboxes(scn_ctx *c, const yml_node *n, scenario *s, const scn_limits *base)
{
	if (!n || n->type == YML_NULL)
		return;
	if (n->type != YML_SEQ) {
		scn_err_node(c, n, "mailboxes", "expected a list of mailboxes and pools, got %s", yml_type_name(n->type));
		return;
	}
	int64_t total = 0;
	size_t npools = 0, ncreds = 0;
	bool ok = count_mailboxes(c, n, &total, &npools, &ncreds);
	if (total > SCN_MAX_MAILBOXES) {
		scn_err_node(c, n, "mailboxes", "%lld mailboxes exceed the bound of 10^6", (long long)total);
		return;
	}
	if (!ok || !reserve_mailboxes(c, n, s, total, npools, ncreds))
		return;
	/* pass 2: fill */
	size_t mi = 0, pi = 0, ci = 0;
	for (size_t i = 0; i < n->n; i++) {
		const yml_node *it = n->items[i].val;
		char p[SCN_PATH_MAX];
		snprintf(p, sizeof p, "mailboxes[%zu]", i);
		if (yml_get(it, "pool")) {
			fill_pool(c, it, p, s, base, pi++, &mi, &ci);
		} else {
			scn_mailbox *mb = &s->mailboxes[mi++];
			if (!yml_get(it, "name"))
				scn_err_node(c, it, p, "a mailbox needs a name (or pool: for a pool)");
			else if (scn_opt_name(c, it, "name", p, mb->name))
				snprintf(p, sizeof p, "mailboxes.%s", mb->name);
			scn_check_keys(c, it, p, mailbox_keys);
			parse_mailbox_settings(c, it, p, base, mb);
			parse_credentials(c, it, p, s, &ci, mb);
		}
	}
	check_unique_names(c, n, s);
}
