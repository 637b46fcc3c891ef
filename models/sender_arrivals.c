/* sender_arrivals.c - when an instance's messages arrive (poisson,
 * periodic, bursts at random or scheduled on the local clock, trace
 * replay; profiles by thinning) and what each one
 * is (recipients, external recipients, size, fault, drawn by inversion),
 * up to its place in the outbox.  See docs/MODEL.md "Senders: the client
 * side", "Arrivals". */
#include "sender_int.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static void on_arrival(sim_engine *e, void *ctx, uint64_t arg);
static void on_burst_msg(sim_engine *e, void *ctx, uint64_t arg);
static void on_trace(sim_engine *e, void *ctx, uint64_t arg);
static void on_sched_msg(sim_engine *e, void *ctx, uint64_t arg);

/* The message's shape and fault: three uniforms on the shape stream and
 * one on the faults stream, always, in this order (a trace row gives the
 * shape, and the fault uniform is still drawn) -- unless no value depends
 * on them (snd__draws: fixed shape, no fault), when
 * those streams, read by nothing else, are left alone.  Pure: the
 * instance's streams are its only state. */
/* Inline in both callers: once per message, its fixed path a few
 * instructions. */
static inline __attribute__((always_inline)) snd_draw_result
message_draw(const scn_sender *sd, uint8_t draws, snd_inst *in, snd_msg *m, const scn_trace_row *row,
	     double *drawn)
{
	if (row) {
		m->recipients = row->recipients;
		m->external = row->external;
		m->size_bytes = row->size_bytes;
	} else if (!(draws & SND__DRAWS_SHAPE)) {
		m->recipients = snd__round_count(sd->recipients.a);
		m->size_bytes = snd__round_count(sd->size.a);
		/* The loader's bounds hold for fixed values (checked as below
		 * all the same: a scenario built in code skips the loader). */
		int64_t gm = sd->group_members > 0 ? sd->group_members : 1;
		if (m->recipients > (gm == 1 ? SCN_MAX_RECIPIENTS : SCN_MAX_RECIPIENTS / gm)) { /* no division for 1 */
			*drawn = (double)m->recipients;
			return SND_DRAW_TOO_MANY_RECIPIENTS;
		}
		if (m->size_bytes > SCN_MAX_SIZE_BYTES) {
			*drawn = sd->size.a;
			return SND_DRAW_TOO_LARGE;
		}
		m->external = 0; /* snd_binomial_inv with p <= 0 */
	} else {
		rng_stream *sh = &in->rs[RNG_SHAPE];
		double u1 = rng_uniform_open(sh), u2 = rng_uniform_open(sh), u3 = rng_uniform_open(sh);
		m->recipients = snd__round_count(snd__dist_inv(&sd->recipients, u1));
		m->size_bytes = snd__round_count(snd__dist_inv(&sd->size, u3));
		/* The loader bounds what a bounded distribution can give; the
		 * tail of an unbounded one (lognormal, geometric, poisson1) is
		 * checked here, before any product. */
		int64_t gm = sd->group_members > 0 ? sd->group_members : 1;
		if (m->recipients > (gm == 1 ? SCN_MAX_RECIPIENTS : SCN_MAX_RECIPIENTS / gm)) { /* no division for 1 */
			*drawn = (double)m->recipients;
			return SND_DRAW_TOO_MANY_RECIPIENTS;
		}
		if (m->size_bytes > SCN_MAX_SIZE_BYTES) {
			*drawn = snd_dist_inv(&sd->size, u3);
			return SND_DRAW_TOO_LARGE;
		}
		/* no external recipients: no call (snd_binomial_inv's 0) */
		m->external = sd->external > 0.0 ? snd_binomial_inv(m->recipients * gm, sd->external, u2) : 0;
	}
	if (!(draws & SND__DRAWS_FAULT)) {
		m->fault = SVC_FAULT_NONE;
		return SND_DRAW_OK;
	}
	double uf = rng_uniform(&in->rs[RNG_FAULTS]);
	if (uf < sd->p_send_as_denied)
		m->fault = SVC_FAULT_SEND_AS_DENIED;
	else if (uf < sd->p_send_as_denied + sd->p_invalid_recipients)
		m->fault = SVC_FAULT_INVALID_RECIPIENTS;
	else
		m->fault = SVC_FAULT_NONE;
	return SND_DRAW_OK;
}

snd_draw_result snd_message_draw(const scn_sender *sd, snd_inst *in, snd_msg *m,
				 const scn_trace_row *row, double *drawn)
{
	return message_draw(sd, snd__draws(sd), in, m, row, drawn);
}

static bool draw_message(snd_world *w, snd_inst *in, const scn_sender *sd, snd_msg *m,
			 const scn_trace_row *row)
{
	double drawn = 0.0;
	switch (message_draw(sd, w->g_draws[in->group], in, m, row, &drawn)) {
	case SND_DRAW_OK:
		return true;
	case SND_DRAW_TOO_MANY_RECIPIENTS:
		snd__fail_why(w, SIM_ERANGE, "senders.%s.message.recipients: a draw of %lld recipients%s exceeds "
			      "the bound of 2^40 people per message", sd->name, (long long)drawn,
			      sd->group_members > 1 ? " (times group_members)" : "");
		return false;
	case SND_DRAW_TOO_LARGE:
		snd__fail_why(w, SIM_ERANGE, "senders.%s.message.size: a draw of %.3g bytes exceeds the bound of "
			      "2^60 bytes", sd->name, drawn);
		return false;
	}
	return false;
}

static void generate(snd_world *w, snd_inst *in, const scn_trace_row *row)
{
	const scn_sender *sd = &w->s->senders[in->group];
	int64_t now = snd__now(w);
	snd_msg *m = snd__msg_new(w);
	if (m == NULL) {
		snd__fail(w, SIM_ENOMEM);
		return;
	}
	memset(m, 0, sizeof *m);
	m->generated_ns = now;
	m->serial = (uint16_t)in->msgs_made++;
	m->prev_backoff_ns = sd->retry.base_ns;
	if (!draw_message(w, in, sd, m, row)) {
		snd__msg_free(w, m);
		return;
	}
	if (!snd__count_generated(w, in)) {
		snd__msg_free(w, m); /* outbox_overflow */
		return;
	}
	if (in->tail)
		in->tail->next = m;
	else
		in->head = m;
	in->tail = m;
	snd__dispatch(w, in);
}

/* Whether a candidate arrival at now survives the profile's thinning. */
static bool thin_keep(const scenario *s, snd_inst *in, const scn_arrivals *a, int64_t now)
{
	if (!a->has_profile)
		return true;
	double u = rng_uniform(&in->rs[RNG_ARRIVALS]);
	return u * a->profile_max < snd_profile_at(s, a, now);
}

static double cand_rate(const scn_arrivals *a)
{
	return a->has_profile ? a->rate_per_s * a->profile_max : a->rate_per_s;
}

static int64_t periodic_interval(const scn_arrivals *a)
{
	if (a->has_profile)
		return snd_round_ns((double)a->interval_ns / a->profile_max);
	return a->interval_ns;
}

/* Time of periodic candidate k (phase + k interval + U[0, jitter)), not
 * before now. */
static int64_t periodic_at(snd_inst *in, const scn_arrivals *a, int64_t now)
{
	int64_t iv = periodic_interval(a);
	double t = (double)in->phase_ns + (double)in->arr_k * (double)iv;
	if (a->jitter_ns > 0)
		t += rng_uniform(&in->rs[RNG_ARRIVALS]) * (double)a->jitter_ns;
	int64_t at = snd_round_ns(t);
	return at < now ? now : at; /* jitter wider than the interval: keep the order */
}

/* The next candidate after an exponential gap; INT64_MAX: none. */
static int64_t gap_at(snd_inst *in, double rate, int64_t now)
{
	if (!(rate > 0.0))
		return INT64_MAX;
	double gap = rng_exponential(&in->rs[RNG_ARRIVALS], 1.0 / rate);
	return snd__add_sat(now, snd__round_count(gap * 1e9)); /* snd_round_ns, inline */
}

int64_t snd_arrival_first(const scenario *s, snd_inst *in)
{
	const scn_arrivals *a = &s->senders[in->group].arrivals;
	switch (a->kind) {
	case ARR_BURSTS:
		if (a->when != BURST_RANDOM)
			return INT64_MAX; /* scheduled: snd__start_arrivals */
		/* fall through */
	case ARR_POISSON:
		if (a->has_profile && !(a->profile_max > 0.0))
			return INT64_MAX;
		return gap_at(in, cand_rate(a), 0);
	case ARR_PERIODIC: {
		if (a->interval_ns <= 0 || (a->has_profile && !(a->profile_max > 0.0)))
			return INT64_MAX;
		int64_t iv = periodic_interval(a);
		in->phase_ns = a->fixed_phase ? a->phase_ns
					      : (int64_t)floor(rng_uniform(&in->rs[RNG_ARRIVALS]) * (double)iv);
		in->arr_k = 0;
		return periodic_at(in, a, 0);
	}
	default:
		break;
	}
	return INT64_MAX;
}

/* Inline in on_arrival (once per message); snd_arrival_step for the
 * other callers. */
static inline __attribute__((always_inline)) snd_draw_result
arrival_step(const scenario *s, snd_inst *in, int64_t now, snd_arrival *out)
{
	const scn_arrivals *a = &s->senders[in->group].arrivals;
	bool keep = thin_keep(s, in, a, now);
	out->messages = 0;
	out->next_ns = INT64_MAX;
	out->drawn = 0.0;
	switch (a->kind) {
	case ARR_POISSON:
		out->messages = keep;
		out->next_ns = gap_at(in, cand_rate(a), now);
		break;
	case ARR_PERIODIC:
		out->messages = keep;
		in->arr_k++;
		out->next_ns = periodic_at(in, a, now);
		break;
	case ARR_BURSTS:
		if (keep) {
			double n = snd_dist_inv(&a->burst_size, rng_uniform_open(&in->rs[RNG_ARRIVALS]));
			int64_t k = snd__round_count(n);
			if (k > SCN_MAX_BURST) {
				out->drawn = n;
				return SND_DRAW_TOO_LARGE;
			}
			out->messages = k;
		}
		out->next_ns = gap_at(in, cand_rate(a), now);
		break;
	default:
		break;
	}
	return SND_DRAW_OK;
}

snd_draw_result snd_arrival_step(const scenario *s, snd_inst *in, int64_t now, snd_arrival *out)
{
	return arrival_step(s, in, now, out);
}

static void on_arrival(sim_engine *e, void *ctx, uint64_t arg)
{
	(void)e;
	(void)arg;
	snd_inst *in = ctx;
	snd_world *w = in->world;
	/* What generate will touch after the draws: start the loads now. */
	__builtin_prefetch(in->workers, 1);
	if (in->home_mailbox >= 0)
		__builtin_prefetch(&w->mailboxes[in->home_mailbox], 1);
	uint8_t draws = w->g_draws[in->group];
	if (draws & SND__DRAWS_SHAPE)
		__builtin_prefetch(&in->rs[RNG_SHAPE], 1);
	if (draws & SND__DRAWS_FAULT)
		__builtin_prefetch(&in->rs[RNG_FAULTS], 1);
	const scn_arrivals *a = &w->s->senders[in->group].arrivals;
	int64_t now = snd__now(w);
	snd__series_at(w, now);
	/* Every draw of the arrivals stream first (generate draws from other
	 * streams only), then the schedulings in the order they always had:
	 * the message's own events, the rest of a burst, the next arrival. */
	snd_arrival st;
	if (arrival_step(w->s, in, now, &st) != SND_DRAW_OK) {
		snd__fail_why(w, SIM_ERANGE, "senders.%s.arrivals.bursts.size: a draw of %.3g messages "
			      "exceeds the bound of 10^6 per burst", w->s->senders[in->group].name, st.drawn);
		snd__check_op(w);
		return;
	}
	if (st.messages > 0) {
		generate(w, in, NULL);
		if (st.messages > 1)
			snd__sched(w, a->spacing_ns, on_burst_msg, in, (uint64_t)(st.messages - 1), NULL);
	}
	snd__sched_node(w, &in->arrival, st.next_ns - now, on_arrival, in, 0);
	snd__check_op(w);
}

static void on_burst_msg(sim_engine *e, void *ctx, uint64_t left)
{
	(void)e;
	snd_inst *in = ctx;
	snd_world *w = in->world;
	snd__series_at(w, snd__now(w));
	generate(w, in, NULL);
	if (left > 1)
		snd__sched(w, w->s->senders[in->group].arrivals.spacing_ns, on_burst_msg, in, left - 1, NULL);
	snd__check_op(w);
}

/* Scheduled bursts.  The instance keeps the burst in progress: arr_k
 * counts the local days from the start's (daily; once: 0, then 1 when
 * done), phase_ns is the burst's first instant (ns from the start).  The
 * local days and their instants come from the scenario's zone table,
 * read-only: nothing here asks the C library for local time. */

/* The first burst at or after local day arr_k that begins at or after
 * the start: its instant in *t_ns (arr_k moved to its day), or false when
 * there is none before the end. */
static bool next_burst(snd_world *w, snd_inst *in, const scn_arrivals *a, int64_t *t_ns)
{
	const scenario *s = w->s;
	int64_t end_s = s->duration_ns / SCN_NS_PER_S + 1;
	if (a->when == BURST_ONCE) {
		int64_t d = a->at_s - s->start_unix_s;
		if (in->arr_k > 0 || d < 0 || d > end_s)
			return false;
		*t_ns = d * SCN_NS_PER_S;
		return true;
	}
	int64_t local0 = s->start_unix_s + tz_offset_at(&s->tz, s->start_unix_s);
	int64_t day0 = local0 / 86400 - (local0 % 86400 < 0);
	for (int tries = 0; tries < 9; in->arr_k++, tries++) {
		int64_t day = day0 + in->arr_k;
		int dow = (int)(((day + 3) % 7 + 7) % 7); /* 1970-01-01 was a Thursday: 3 counting Monday as 0 */
		if (!((a->days_mask >> dow) & 1))
			continue;
		int64_t d = tz_utc_of_local(&s->tz, day * 86400 + a->at_s) - s->start_unix_s;
		if (d < 0)
			continue; /* today's time has passed at the start */
		if (d > end_s)
			return false;
		*t_ns = d * SCN_NS_PER_S;
		return true;
	}
	return false;
}

/* Message i's offset in a burst: floor(i * over / count), without the
 * product overflowing (over < 2^63, count <= 10^6). */
static int64_t burst_offset(const scn_arrivals *a, int64_t i)
{
	int64_t count = (int64_t)a->burst_size.a;
	int64_t q = a->over_ns / count, r = a->over_ns % count;
	return q * i + r * i / count;
}

static void schedule_burst(snd_world *w, snd_inst *in, const scn_arrivals *a)
{
	int64_t t;
	if (!next_burst(w, in, a, &t))
		return;
	in->phase_ns = t;
	snd__sched(w, t - snd__now(w), on_sched_msg, in, 0, NULL);
}

static void on_sched_msg(sim_engine *e, void *ctx, uint64_t i)
{
	(void)e;
	snd_inst *in = ctx;
	snd_world *w = in->world;
	const scn_arrivals *a = &w->s->senders[in->group].arrivals;
	snd__series_at(w, snd__now(w));
	generate(w, in, NULL);
	int64_t next = (int64_t)i + 1;
	if (next < (int64_t)a->burst_size.a)
		snd__sched(w, in->phase_ns + burst_offset(a, next) - snd__now(w), on_sched_msg, in,
			   (uint64_t)next, NULL);
	else {
		in->arr_k++;
		schedule_burst(w, in, a);
	}
	snd__check_op(w);
}

/* Trace replay: one cursor per group, rows in time order. */
void snd__schedule_trace(snd_world *w, size_t g)
{
	const scn_arrivals *a = &w->s->senders[g].arrivals;
	size_t i = w->trace_pos[g];
	while (i < a->trace_len && (a->trace[i].instance < 0 ||
				    a->trace[i].instance >= w->s->senders[g].count))
		i++;
	w->trace_pos[g] = i;
	if (i >= a->trace_len)
		return;
	int64_t now = snd__now(w), t = a->trace[i].time_ns;
	if (t < now)
		t = now;
	snd__sched(w, t - now, on_trace, w, (uint64_t)g, NULL);
}

static void on_trace(sim_engine *e, void *ctx, uint64_t arg)
{
	(void)e;
	snd_world *w = ctx;
	size_t g = (size_t)arg;
	const scn_trace_row *row = &w->s->senders[g].arrivals.trace[w->trace_pos[g]];
	snd__series_at(w, snd__now(w));
	w->trace_pos[g]++;
	generate(w, &w->inst[w->group_first[g] + (size_t)row->instance], row);
	snd__schedule_trace(w, g);
	snd__check_op(w);
}

void snd__start_arrivals(snd_world *w, snd_inst *in)
{
	const scn_arrivals *a = &w->s->senders[in->group].arrivals;
	if (a->kind == ARR_BURSTS && a->when != BURST_RANDOM) {
		in->arr_k = 0;
		schedule_burst(w, in, a);
		return;
	}
	snd__sched_node(w, &in->arrival, snd_arrival_first(w->s, in) - snd__now(w), on_arrival, in, 0);
}
