/* mailbox.h - one mailbox's state during a replication: its size against
 * its quota, licence, SMTP AUTH setting, open sessions over time, and its
 * continuous error throttle (CET: per mailbox, five classes).
 *
 * Invariants: size_bytes only grows (Sent Items); cold->throttled_until[c] is
 * the end of the latest period of class c (INT64_MIN before any), and a
 * class trips only when not already throttled, so periods of one class
 * never overlap; periods of different classes may, and the throttled time
 * is their union.  Times passed must never decrease.
 *
 * Costs O(1) (amortised for the error windows, which allocate lazily up to
 * `threshold` timestamps per class).  The caller owns the struct and its
 * cold part (mbx_cold), which mbx_init links to it.
 */
#ifndef MODELS_MAILBOX_H
#define MODELS_MAILBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "alloc.h"
#include "limiter.h"
#include "scenario.h"

/* Cold: only on refusals, errors and throttling, and for the figures.  A
 * struct of its own, placed by the caller away from the hot part (the
 * service puts it at the end of the mailbox's record, after the limiter
 * states every message reads). */
typedef struct mbx_cold {
	int64_t first_rrl_refusal_ns; /* -1: never */
	int64_t throttled_until[ERR_CLASS_COUNT];
	int64_t periods;          /* throttle periods started, all classes */
	int64_t periods_by[ERR_CLASS_COUNT]; /* ... and per class (they add up to periods) */
	int64_t first_throttle_ns; /* start of the first period, -1: none */
	int64_t union_closed_ns;  /* length of merged throttle intervals before the current one */
	int64_t union_start_ns, union_end_ns; /* the current merged interval (end < start: none) */
	lim_window err[ERR_CLASS_COUNT];
	LIM_CHECK_COUNTER
} mbx_cold;

typedef struct mbx {
	/* Hot: read or written by every AUTH, submission and quit. */
	int64_t quota_bytes;      /* <= 0: no quota */
	int64_t size_bytes;
	int64_t throttled_max;    /* max of cold->throttled_until[]: none throttled at now >= it */
	bool licensed;
	bool save_sent_items;
	bool onmicrosoft;         /* its address is in a *.onmicrosoft.com domain (MOERA) */
	scn_tristate auth_disabled;
	lim_conc sessions;        /* open sessions, for the time average (no limit) */
	mbx_cold *cold;           /* the caller's, set by mbx_init */
} mbx;

/* err windows take window and threshold from lim (the mailbox's route-0
 * limits).  onmicrosoft: cfg->name ends in ".onmicrosoft.com" (any case).
 * cold: the caller's memory for the cold part, which must outlive m. */
void mbx_init(mbx *m, mbx_cold *cold, const scn_mailbox *cfg, const scn_limits *lim);
void mbx_free(mbx *m, const sim_alloc *a);

/* RC_OK, or the 535 class: the mailbox's own setting wins when set
 * (false overrides a tenant true), else the tenant's. */
scn_reply_class mbx_auth_check(const mbx *m, const scn_tenant *t);

/* The lowest error class throttled at now among those `lim` enables, or -1.
 * O(1) when no class is throttled (the usual case). */
int mbx_throttled_class_slow(const mbx *m, const scn_limits *lim, int64_t now);
static inline int mbx_throttled_class(const mbx *m, const scn_limits *lim, int64_t now)
{
	if (now >= m->throttled_max)
		return -1;
	return mbx_throttled_class_slow(m, lim, now);
}

/* Make mbx_record_error(c) infallible.  SIM_OK or SIM_ENOMEM. */
int mbx_reserve_error(mbx *m, const sim_alloc *a, scn_error_class c);
/* Count an error of class c at now (if cfg->enabled); if its window
 * (now - window, now] now holds threshold errors and c is not throttled,
 * start a period [now, now + period) and return true. */
bool mbx_record_error(mbx *m, const sim_alloc *a, scn_error_class c,
		      const scn_error_throttle *cfg, int64_t now);

/* The error throttle's invariant (true when sound): each class window is
 * a sound lim_window of at most its threshold; throttled_max is the max of
 * throttled_until[]; at most `periods` periods started; the merged
 * interval and the closed length are consistent; the per-class period
 * counts add up to `periods`, and a first period is known iff one started.  O(threshold x classes).
 * Run through SIM_CHECK after every error recorded. */
bool mbx_throttle_check(const mbx *m);

/* Union of throttle periods clipped to [0, end_ns), end_ns >= last op. */
int64_t mbx_throttle_ns(const mbx *m, int64_t end_ns);

#endif
