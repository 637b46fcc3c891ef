/* run_stream.c - results written while the replications run (run_stream.h). */
#include "run_stream.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "store.h"
#include "store_stream.h"

struct run_stream {
	sqlite3 *db;
	int64_t run_id;
	bool keep_series;
	const rpt_variant *rv;
	const size_t *vi, *count;
	size_t n;
	/* the tasks in the driver's order: (scenario, position) */
	size_t *task_k, *task_i, n_tasks;
	size_t *base, *task_at;    /* task of (k, i): task_at[base[k] + i] */
	const res_rep **reps_of;   /* per scenario, its results array once one is done */
	bool *done;                /* per task */
	size_t *written;           /* per scenario, replications written */
	pthread_mutex_t lock;
	pthread_cond_t changed;
	bool stop;                 /* no more tasks will be reported */
	pthread_t thread;
	bool started;
	/* the thread's outcome */
	store_stream *st;          /* open transaction, or NULL */
	bool streaming, all_written;
	int status;
	char err[1024];
};

/* Another run of the store under way (started, not ended)? */
static int other_running(void *ctx, const store_run_row *r)
{
	const run_stream *s = ctx;
	return r->id != s->run_id && !r->complete && !(r->finished_at && r->finished_at[0]);
}

/* Waits for task t (or the stop); true when it is done. */
static bool wait_task(run_stream *s, size_t t)
{
	pthread_mutex_lock(&s->lock);
	while (!s->done[t] && !s->stop)
		pthread_cond_wait(&s->changed, &s->lock);
	bool ok = s->done[t];
	pthread_mutex_unlock(&s->lock);
	return ok;
}

static void *writer(void *p)
{
	run_stream *s = p;
	if (s->n_tasks == 0 || !wait_task(s, 0))
		return NULL;
	char err[1024];
	int busy = store_list_runs(s->db, other_running, s, err, sizeof err);
	if (busy != 0)
		return NULL;   /* another run writes, or the list failed: write at the end as before */
	if ((s->status = store_stream_begin(s->db, s->run_id, s->keep_series, &s->st, s->err, sizeof s->err)) != SIM_OK)
		return NULL;
	s->streaming = true;
	for (size_t t = 0; t < s->n_tasks; t++) {
		if (!wait_task(s, t))
			return NULL;
		size_t k = s->task_k[t];
		pthread_mutex_lock(&s->lock);
		const res_rep *reps = s->reps_of[k];
		pthread_mutex_unlock(&s->lock);
		rpt_variant v = s->rv[k];
		v.reps = reps;
		v.n_reps = s->count[k];
		if ((s->status = store_stream_replication(s->st, s->vi[k], &v, &reps[s->task_i[t]], s->err,
		                                          sizeof s->err)) != SIM_OK)
			return NULL;
		if (++s->written[k] == s->count[k] &&
		    (s->status = store_stream_variant(s->st, s->vi[k], &v, s->err, sizeof s->err)) != SIM_OK)
			return NULL;
	}
	s->all_written = true;
	return NULL;
}

static void rs_free(run_stream *s)
{
	free(s->task_k);
	free(s->task_i);
	free(s->base);
	free(s->task_at);
	free(s->reps_of);
	free(s->done);
	free(s->written);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->changed);
	free(s);
}

int rs_start(sqlite3 *db, int64_t run_id, bool keep_series, const rpt_variant *rv, const size_t *vi,
             const size_t *count, size_t n, run_stream **out)
{
	run_stream *s = calloc(1, sizeof *s);
	if (s == NULL)
		return SIM_ENOMEM;
	*s = (run_stream){ .db = db, .run_id = run_id, .keep_series = keep_series, .rv = rv, .vi = vi,
	                   .count = count, .n = n };
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->changed, NULL);
	size_t most = 0;
	for (size_t k = 0; k < n; k++) {
		s->n_tasks += count[k];
		if (count[k] > most)
			most = count[k];
	}
	s->task_k = calloc(s->n_tasks ? s->n_tasks : 1, sizeof *s->task_k);
	s->task_i = calloc(s->n_tasks ? s->n_tasks : 1, sizeof *s->task_i);
	s->done = calloc(s->n_tasks ? s->n_tasks : 1, sizeof *s->done);
	s->reps_of = calloc(n ? n : 1, sizeof *s->reps_of);
	s->written = calloc(n ? n : 1, sizeof *s->written);
	s->base = calloc(n ? n : 1, sizeof *s->base);
	s->task_at = calloc(s->n_tasks ? s->n_tasks : 1, sizeof *s->task_at);
	if (!s->task_k || !s->task_i || !s->done || !s->reps_of || !s->written || !s->base || !s->task_at) {
		rs_free(s);
		return SIM_ENOMEM;
	}
	/* the driver's order (driver.c): position-major, scenario-minor */
	for (size_t k = 1; k < n; k++)
		s->base[k] = s->base[k - 1] + count[k - 1];
	size_t t = 0;
	for (size_t i = 0; i < most; i++)
		for (size_t k = 0; k < n; k++)
			if (i < count[k]) {
				s->task_at[s->base[k] + i] = t;
				s->task_k[t] = k;
				s->task_i[t++] = i;
			}
	if (pthread_create(&s->thread, NULL, writer, s) != 0) {
		rs_free(s);
		return SIM_ENOMEM;
	}
	s->started = true;
	*out = s;
	return SIM_OK;
}

void rs_on_done(void *ctx, size_t k, size_t i, const res_rep *reps_k)
{
	run_stream *s = ctx;
	if (k >= s->n || i >= s->count[k])
		return;
	size_t t = s->task_at[s->base[k] + i];
	pthread_mutex_lock(&s->lock);
	s->reps_of[k] = reps_k;
	s->done[t] = true;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
}

int rs_finish(run_stream *s, bool complete, bool *streamed, char *err, size_t err_size)
{
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
	if (s->started)
		pthread_join(s->thread, NULL);
	int st = s->status;
	*streamed = false;
	if (st != SIM_OK) {
		snprintf(err, err_size, "%s", s->err);
		store_stream_abort(s->st);
	} else if (s->st && complete && s->all_written) {
		st = store_stream_commit(s->st, err, err_size);
		*streamed = st == SIM_OK;
	} else {
		store_stream_abort(s->st);
	}
	rs_free(s);
	return st;
}
