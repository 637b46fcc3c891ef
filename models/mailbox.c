/* mailbox.c - a mailbox's state (see mailbox.h). */
#include "mailbox.h"

#include <string.h>
#include <strings.h>

#include "check.h"
#include "status.h"

void mbx_init(mbx *m, const scn_mailbox *cfg, const scn_limits *lim)
{
	memset(m, 0, sizeof *m);
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
		lim_window_init(&m->err[c], et->window_ns > 0 ? et->window_ns : 1,
				et->threshold);
		m->throttled_until[c] = INT64_MIN;
	}
	m->throttled_max = INT64_MIN;
	m->union_start_ns = 0;
	m->union_end_ns = -1;
	m->first_rrl_refusal_ns = -1;
	m->first_throttle_ns = -1;
}

void mbx_free(mbx *m, const sim_alloc *a)
{
	for (int c = 0; c < ERR_CLASS_COUNT; c++)
		lim_window_free(&m->err[c], a);
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
		if (lim->error_throttle[c].enabled && now < m->throttled_until[c])
			return c;
	return -1;
}

int mbx_reserve_error(mbx *m, const sim_alloc *a, scn_error_class c)
{
	return lim_window_reserve(&m->err[c], a);
}

bool mbx_throttle_check(const mbx *m)
{
	int64_t max = INT64_MIN, by_class = 0;
	int started = 0;
	for (int c = 0; c < ERR_CLASS_COUNT; c++) {
		if (!lim_window_check(&m->err[c]))
			return false;
		if (m->throttled_until[c] > max)
			max = m->throttled_until[c];
		started += m->throttled_until[c] != INT64_MIN;
		if ((m->throttled_until[c] != INT64_MIN) != (m->periods_by[c] > 0))
			return false;
		by_class += m->periods_by[c];
	}
	if (max != m->throttled_max || m->periods < started || m->union_closed_ns < 0 ||
	    by_class != m->periods || (m->periods > 0) != (m->first_throttle_ns >= 0))
		return false;
	/* A merged interval exists iff some period started, and it ends at
	 * the latest end of any period (periods only extend it). */
	if (m->periods == 0)
		return m->union_end_ns < m->union_start_ns && m->union_closed_ns == 0;
	return m->union_end_ns >= m->union_start_ns && m->union_end_ns == max;
}

static bool record_error(mbx *m, const sim_alloc *a, scn_error_class c,
			 const scn_error_throttle *cfg, int64_t now);

bool mbx_record_error(mbx *m, const sim_alloc *a, scn_error_class c,
		      const scn_error_throttle *cfg, int64_t now)
{
	bool started = record_error(m, a, c, cfg, now);
	SIM_CHECK(m->checks, mbx_throttle_check(m));
	return started;
}

static bool record_error(mbx *m, const sim_alloc *a, scn_error_class c,
			 const scn_error_throttle *cfg, int64_t now)
{
	if (!cfg->enabled || cfg->threshold <= 0)
		return false;
	lim_window *w = &m->err[c];
	lim_window_expire(w, now);
	if (lim_window_push(w, a, now) != SIM_OK)
		return false; /* not reserved: the caller broke the contract */
	/* The window keeps the latest `threshold` errors; expiry has dropped
	 * those at or before now - window, so len == threshold means the
	 * threshold-th latest is inside (now - window, now]. */
	if ((int64_t)lim_window_len(w) < cfg->threshold || now < m->throttled_until[c])
		return false;
	int64_t end = now + cfg->period_ns;
	m->throttled_until[c] = end;
	if (end > m->throttled_max)
		m->throttled_max = end;
	m->periods++;
	m->periods_by[c]++;
	if (m->first_throttle_ns < 0)
		m->first_throttle_ns = now;
	if (m->union_end_ns < m->union_start_ns || now > m->union_end_ns) {
		if (m->union_end_ns >= m->union_start_ns)
			m->union_closed_ns += m->union_end_ns - m->union_start_ns;
		m->union_start_ns = now;
		m->union_end_ns = end;
	} else if (end > m->union_end_ns) {
		m->union_end_ns = end;
	}
	return true;
}

int64_t mbx_throttle_ns(const mbx *m, int64_t end_ns)
{
	int64_t total = m->union_closed_ns;
	if (m->union_end_ns >= m->union_start_ns) {
		int64_t e = m->union_end_ns < end_ns ? m->union_end_ns : end_ns;
		if (e > m->union_start_ns)
			total += e - m->union_start_ns;
	}
	return total;
}
