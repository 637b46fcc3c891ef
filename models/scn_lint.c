/* scn_lint.c - warnings for legal but surprising scenarios (scn_lint.h). */
#include "scn_lint.h"

#include <stdarg.h>
#include <stdio.h>

typedef struct lint {
	scn_warning *out;
	size_t max, n;
} lint;

__attribute__((format(printf, 4, 5)))
static void warn(lint *l, const scn_sender *sd, const char *key, const char *fmt, ...)
{
	if (l->n < l->max) {
		scn_warning *w = &l->out[l->n];
		if (sd)
			snprintf(w->key, sizeof w->key, "senders.%s.%s", sd->name, key);
		else
			snprintf(w->key, sizeof w->key, "%s", key);
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(w->msg, sizeof w->msg, fmt, ap);
		va_end(ap);
	}
	l->n++;
}

/* The limits a sender's messages meet: its route's, or (smtp_auth) its
 * first mailbox's. */
static const scn_limits *limits_of(const scenario *s, const scn_sender *sd)
{
	int mb = sd->mailbox >= 0 ? sd->mailbox
	       : sd->pool >= 0 && (size_t)sd->pool < s->n_pools ? (int)s->pools[sd->pool].first : -1;
	if (sd->route < 0 || (size_t)sd->route >= s->n_routes ||
	    (sd->route == 0 && (mb < 0 || (size_t)mb >= s->n_mailboxes)))
		return NULL;
	return scn_route_limits(s, sd->route, mb);
}

static const char *route_name(const scenario *s, const scn_sender *sd)
{
	return sd->route > 0 && (size_t)sd->route < s->n_routes ? s->routes[sd->route].name : "smtp_auth";
}

/* The smallest value the size distribution can take, or -1 if unbounded
 * below (lognormal, ...). */
static double min_size(const scn_sender *sd)
{
	const scn_dist *d = &sd->size;
	switch (d->kind) {
	case DIST_FIXED:
	case DIST_UNIFORM_INT:
		return d->a;
	case DIST_EMPIRICAL: {
		double m = -1;
		for (size_t i = 0; i < d->n; i++)
			if (d->weights[i] > 0 && (m < 0 || d->values[i] < m))
				m = d->values[i];
		return m;
	}
	default:
		return -1;
	}
}

static void lint_sender(const scenario *s, const scn_sender *sd, lint *l)
{
	const scn_limits *L = limits_of(s, sd);
	if (!L)
		return;
	bool external = sd->external > 0;
	if (sd->arrivals.kind == ARR_TRACE)
		for (size_t i = 0; i < sd->arrivals.trace_len && !external; i++)
			external = sd->arrivals.trace[i].external > 0;
	if (L->internal_only && external)
		warn(l, sd, sd->arrivals.kind == ARR_TRACE ? "arrivals.trace" : "message.external",
		     "external recipients on route '%s' (%s), which accepts internal recipients only: "
		     "every message with one is refused", route_name(s, sd), L->preset);
	double lo = min_size(sd);
	if (L->max_message_size > 0 && lo > (double)L->max_message_size)
		warn(l, sd, "message.size", "every message is over the route's max_message_size of %lld "
		     "bytes: every one is refused", (long long)L->max_message_size);
	if (sd->p_send_as_denied >= 1 || sd->p_invalid_recipients >= 1 ||
	    sd->p_send_as_denied + sd->p_invalid_recipients >= 1)
		warn(l, sd, "faults", "every message carries a fault (probability 1): every one is refused%s",
		     L->error_throttle[ERR_SEND_AS_DENIED].enabled
			     ? ", and the mailbox is throttled for every sender on it" : "");
	if (sd->arrivals.has_profile) {
		int peak = 0;
		for (int h = 1; h < 24; h++)
			if (sd->arrivals.hour[h] > sd->arrivals.hour[peak])
				peak = h;
		if (peak < 6 || peak >= 22)
			warn(l, sd, "arrivals.profile", "the busiest hour is %02d:00 in the scenario's clock, at "
			     "night: is the profile written for another time zone?", peak);
	}
	if (sd->ignores_data_reply)
		warn(l, sd, "session.ignores_data_reply", "the end-of-data reply is discarded: a message refused "
		     "there is lost while the application counts it as sent (the believed_sent figure)");
	if (L->connections.limit > 0 && L->connections.scope == SCOPE_MAILBOX) {
		int64_t lim = L->connections.limit;
		if (sd->connections > lim)
			warn(l, sd, "session.connections", "%lld connections per instance on a mailbox that takes "
			     "%lld concurrent submissions: the others get %d", (long long)sd->connections,
			     (long long)lim, L->reply[RC_CONCURRENCY].code);
		else if (sd->pool >= 0 && (size_t)sd->pool < s->n_pools &&
			 sd->connections > (int64_t)s->pools[sd->pool].count * lim)
			warn(l, sd, "mailbox", "%lld connections per instance on pool '%s', whose %zu mailboxes "
			     "take %lld concurrent submissions in all", (long long)sd->connections,
			     s->pools[sd->pool].name, s->pools[sd->pool].count,
			     (long long)(s->pools[sd->pool].count * lim));
	}
}

size_t scn_lint(const scenario *s, scn_warning *out, size_t max)
{
	lint l = { out, out ? max : 0, 0 };
	for (size_t i = 0; i < s->n_senders; i++)
		lint_sender(s, &s->senders[i], &l);
	return l.n;
}
