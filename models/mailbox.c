/* mailbox.c - a mailbox's state (see mailbox.h). */
#include "mailbox.h"

#include <string.h>
#include <strings.h>

#include "check.h"
#include "status.h"

void mbx_init(mbx *m, mbx_cold *cold, const scn_mailbox *cfg, const scn_limits *lim)
{
	memset(m, 0, sizeof *m);
	memset(cold, 0, sizeof *cold);
	m->cold = cold;
	m->quota_bytes = cfg->quota_bytes;
	m->size_bytes = cfg->size_bytes;
	m->licensed = cfg->licensed;
	m->save_sent_items = cfg->save_sent_items;
	m->auth_disabled = cfg->smtp_client_auth_disabled;
	static const char moera[] = ".onmicrosoft.com";
	size_t n = strlen(cfg->name), k = sizeof moera - 1;
	m->onmicrosoft = n > k && strcasecmp(cfg->name + n - k, moera) == 0;
	lim_conc_init(&m->sessions, 0, false);
	for (int c = 0; c < ERR_CLASS_COUNT; c++) {
		const scn_error_throttle *et = &lim->error_throttle[c];
		lim_window_init(&cold->err[c], et->window_ns > 0 ? et->window_ns : 1,
				et->threshold);
		cold->throttled_until[c] = INT64_MIN;
	}
	m->throttled_max = INT64_MIN;
	cold->union_start_ns = 0;
	cold->union_end_ns = -1;
	cold->first_rrl_refusal_ns = -1;
	cold->first_throttle_ns = -1;
}

void mbx_free(mbx *m, const sim_alloc *a)
{
	for (int c = 0; c < ERR_CLASS_COUNT; c++)
		lim_window_free(&m->cold->err[c], a);
}

scn_reply_class mbx_auth_check(const mbx *m, const scn_tenant *t)
{
	if (m->auth_disabled == TRI_TRUE)
		return RC_AUTH_DISABLED_MAILBOX;
	if (m->auth_disabled == TRI_UNSET && t->smtp_client_auth_disabled)
		return RC_AUTH_DISABLED_TENANT;
	return RC_OK;
}

int mbx_throttled_class_slow(const mbx *m, const scn_limits *lim, int64_t now)
{
	/* Classes are in code order 5.2.251 .. 5.2.255: the first wins. */
	for (int c = 0; c < ERR_CLASS_COUNT; c++)
		if (lim->error_throttle[c].enabled && now < m->cold->throttled_until[c])
			return c;
	return -1;
}

int mbx_reserve_error(mbx *m, const sim_alloc *a, scn_error_class c)
{
	return lim_window_reserve(&m->cold->err[c], a);
}

bool mbx_throttle_check(const mbx *m)
{
	const mbx_cold *k = m->cold;
	int64_t max = INT64_MIN, by_class = 0;
	int started = 0;
	for (int c = 0; c < ERR_CLASS_COUNT; c++) {
		if (!lim_window_check(&k->err[c]))
			return false;
		if (k->throttled_until[c] > max)
			max = k->throttled_until[c];
		started += k->throttled_until[c] != INT64_MIN;
		if ((k->throttled_until[c] != INT64_MIN) != (k->periods_by[c] > 0))
			return false;
		by_class += k->periods_by[c];
	}
	if (max != m->throttled_max || k->periods < started || k->union_closed_ns < 0 ||
	    by_class != k->periods || (k->periods > 0) != (k->first_throttle_ns >= 0))
		return false;
	/* A merged interval exists iff some period started, and it ends at
	 * the latest end of any period (periods only extend it). */
	if (k->periods == 0)
		return k->union_end_ns < k->union_start_ns && k->union_closed_ns == 0;
	return k->union_end_ns >= k->union_start_ns && k->union_end_ns == max;
}

static bool record_error(mbx *m, const sim_alloc *a, scn_error_class c,
			 const scn_error_throttle *cfg, int64_t now);

bool mbx_record_error(mbx *m, const sim_alloc *a, scn_error_class c,
		      const scn_error_throttle *cfg, int64_t now)
{
	bool started = record_error(m, a, c, cfg, now);
	SIM_CHECK(m->cold->checks, mbx_throttle_check(m));
	return started;
}

static bool record_error(mbx *m, const sim_alloc *a, scn_error_class c,
			 const scn_error_throttle *cfg, int64_t now)
{
	mbx_cold *k = m->cold;
	if (!cfg->enabled || cfg->threshold <= 0)
		return false;
	lim_window *w = &k->err[c];
	lim_window_expire(w, now);
	if (lim_window_push(w, a, now) != SIM_OK)
		return false; /* not reserved: the caller broke the contract */
	/* The window keeps the latest `threshold` errors; expiry has dropped
	 * those at or before now - window, so len == threshold means the
	 * threshold-th latest is inside (now - window, now]. */
	if ((int64_t)lim_window_len(w) < cfg->threshold || now < k->throttled_until[c])
		return false;
	int64_t end = now + cfg->period_ns;
	k->throttled_until[c] = end;
	if (end > m->throttled_max)
		m->throttled_max = end;
	k->periods++;
	k->periods_by[c]++;
	if (k->first_throttle_ns < 0)
		k->first_throttle_ns = now;
	if (k->union_end_ns < k->union_start_ns || now > k->union_end_ns) {
		if (k->union_end_ns >= k->union_start_ns)
			k->union_closed_ns += k->union_end_ns - k->union_start_ns;
		k->union_start_ns = now;
		k->union_end_ns = end;
	} else if (end > k->union_end_ns) {
		k->union_end_ns = end;
	}
	return true;
}

int64_t mbx_throttle_ns(const mbx *m, int64_t end_ns)
{
	const mbx_cold *k = m->cold;
	int64_t total = k->union_closed_ns;
	if (k->union_end_ns >= k->union_start_ns) {
		int64_t e = k->union_end_ns < end_ns ? k->union_end_ns : end_ns;
		if (e > k->union_start_ns)
			total += e - k->union_start_ns;
	}
	return total;
}
