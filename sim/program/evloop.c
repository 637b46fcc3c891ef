/* evloop.c - the wall-clock event loop (see evloop.h). */
#include "evloop.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "status.h"

/* epoll events read per poll: a fixed array in the loop, so the loop's
 * memory does not grow with the number of connections. */
#define EV_BATCH 256

/* A binary min-heap of caller-owned timers ordered by (due, seq); each
 * timer knows its slot, so removal from the middle is O(log n). */
typedef struct theap {
	ev_timer **a;
	size_t n, cap;
} theap;

/* A model timer: the clock port's clk_timer has no room for a heap slot,
 * so each pending one borrows a node from the loop's pool (the engine
 * adapter's event slot plays the same part). */
typedef struct clk_node {
	ev_timer t;            /* in the model heap; t.seq is the handle's id */
	clk_timer *h;
	struct clk_node *next_free;
	struct clk_node *next_all;
} clk_node;

struct ev_loop {
	const sim_alloc *alloc;
	ev_scale scale;
	int epfd;
	int sys_errno;
	bool stop;
	struct timespec start;
	int64_t wall_now;      /* ns since start, cached per iteration */
	int64_t model_now;     /* the clock port's now_ns */
	uint64_t seq;          /* schedulings, loop-wide: ties in this order */
	theap wall, model;
	clk_node *free_nodes, *all_nodes;
	size_t n_io;           /* watchers started (the signalfd's included) */
	/* The events of the current poll, dispatched in order; a watcher
	 * stopped meanwhile has its later entries cleared (data.ptr NULL). */
	struct epoll_event events[EV_BATCH];
	int n_events, next_event;
	/* signals */
	int sigfd;
	ev_io sig_io;
	sigset_t sig_old;
	ev_signal_cb sig_cb;
	void *sig_arg;
};

/* ---- the time scale ----------------------------------------------------------- */

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t r = a % b;
		a = b;
		b = r;
	}
	return a;
}

int ev_scale_parse(const char *s, ev_scale *out)
{
	uint64_t num = 0, den = 1;
	int digits = 0;
	const char *p = s;
	for (; *p >= '0' && *p <= '9'; p++, digits++)
		if ((num = num * 10 + (uint64_t)(*p - '0')) > EV_SCALE_MAX)
			return SIM_EINVAL;
	if (!digits)
		return SIM_EINVAL;
	if (*p == '.') {
		int dec = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, dec++) {
			if (dec == 9)
				return SIM_EINVAL;
			num = num * 10 + (uint64_t)(*p - '0');
			den *= 10;
		}
		if (!dec)
			return SIM_EINVAL;
	} else if (*p == '/') {
		den = 0;
		digits = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if ((den = den * 10 + (uint64_t)(*p - '0')) > EV_SCALE_PART_MAX)
				return SIM_EINVAL;
		if (!digits || den == 0)
			return SIM_EINVAL;
	}
	if (*p != '\0' || num < den || num > (uint64_t)EV_SCALE_MAX * den)
		return SIM_EINVAL;
	uint64_t g = gcd(num, den);
	num /= g;
	den /= g;
	if (num > EV_SCALE_PART_MAX || den > EV_SCALE_PART_MAX)
		return SIM_EINVAL;
	*out = (ev_scale){ (uint32_t)num, (uint32_t)den };
	return SIM_OK;
}

static bool scale_ok(ev_scale k)
{
	return k.den >= 1 && k.num >= k.den && k.num <= EV_SCALE_PART_MAX &&
	       k.den <= EV_SCALE_PART_MAX && (uint64_t)k.num <= (uint64_t)EV_SCALE_MAX * k.den;
}

/* w = a q + r with r < q: w K = a p + r p / q, and r p < 10^18 fits. */
int64_t ev_scale_to_model(ev_scale k, int64_t wall_ns)
{
	uint64_t w = (uint64_t)wall_ns, p = k.num, q = k.den;
	uint64_t a = w / q, r = w % q;
	if (a > (uint64_t)INT64_MAX / p)
		return INT64_MAX;
	uint64_t m = a * p, f = r * p / q;
	if (m > (uint64_t)INT64_MAX - f)
		return INT64_MAX;
	return (int64_t)(m + f);
}

/* ceil(t q / p), t = a p + r: a q + ceil(r q / p); a q <= t since q <= p. */
int64_t ev_scale_to_wall(ev_scale k, int64_t model_ns)
{
	if (model_ns <= 0)
		return 0;
	uint64_t t = (uint64_t)model_ns, p = k.num, q = k.den;
	uint64_t a = t / p, r = t % p;
	return (int64_t)(a * q + (r * q + p - 1) / p);
}

/* ---- the timer heaps -------------------------------------------------------------- */

static bool before(const ev_timer *x, const ev_timer *y)
{
	return x->due < y->due || (x->due == y->due && x->seq < y->seq);
}

static void put(theap *h, size_t i, ev_timer *t)
{
	h->a[i] = t;
	t->slot = i + 1;
}

static void sift_up(theap *h, size_t i)
{
	ev_timer *t = h->a[i];
	while (i > 0 && before(t, h->a[(i - 1) / 2])) {
		put(h, i, h->a[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	put(h, i, t);
}

static void sift_down(theap *h, size_t i)
{
	ev_timer *t = h->a[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && before(h->a[c + 1], h->a[c]))
			c++;
		if (!before(h->a[c], t))
			break;
		put(h, i, h->a[c]);
		i = c;
	}
	put(h, i, t);
}

static int heap_push(ev_loop *l, theap *h, ev_timer *t)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 16;
		ev_timer **a = sim_realloc(l->alloc, h->a, h->cap * sizeof *a, cap * sizeof *a);
		if (!a)
			return SIM_ENOMEM;
		h->a = a;
		h->cap = cap;
	}
	t->seq = ++l->seq;
	h->a[h->n] = t;
	sift_up(h, h->n++);
	return SIM_OK;
}

static void heap_remove(theap *h, ev_timer *t)
{
	size_t i = t->slot - 1;
	t->slot = 0;
	if (i == --h->n)
		return;
	put(h, i, h->a[h->n]);
	if (i > 0 && before(h->a[i], h->a[(i - 1) / 2]))
		sift_up(h, i);
	else
		sift_down(h, i);
}

static ev_timer *heap_top(const theap *h)
{
	return h->n ? h->a[0] : NULL;
}

/* ---- time -------------------------------------------------------------------- */

static void update_time(ev_loop *l)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t w = (int64_t)(ts.tv_sec - l->start.tv_sec) * 1000000000 +
		    (ts.tv_nsec - l->start.tv_nsec);
	if (w > l->wall_now)
		l->wall_now = w;
}

int64_t ev_now(const ev_loop *l)
{
	return l->wall_now;
}

int64_t ev_model_now(const ev_loop *l)
{
	return l->model_now;
}

int ev_errno(const ev_loop *l)
{
	return l->sys_errno;
}

static int sys_fail(ev_loop *l)
{
	l->sys_errno = errno;
	return SIM_EIO;
}

/* Run every timer due by the cached times, the two heaps merged by the
 * wall instant each is due at (a model timer first on a tie). */
static void run_timers(ev_loop *l)
{
	int64_t model_end = ev_scale_to_model(l->scale, l->wall_now);
	while (!l->stop) {
		ev_timer *w = heap_top(&l->wall), *m = heap_top(&l->model);
		if (w && w->due > l->wall_now)
			w = NULL;
		if (m && m->due > model_end)
			m = NULL;
		if (m && (!w || ev_scale_to_wall(l->scale, m->due) <= w->due)) {
			clk_node *x = (clk_node *)m; /* t is the node's first member */
			clk_timer *h = x->h;
			heap_remove(&l->model, m);
			x->next_free = l->free_nodes; /* no longer pending: h may be
						       * scheduled again from cb */
			l->free_nodes = x;
			if (m->due > l->model_now)
				l->model_now = m->due;
			clk_cb cb = h->cb;
			void *arg = h->arg;
			cb(arg);
		} else if (w) {
			heap_remove(&l->wall, w);
			int64_t mt = ev_scale_to_model(l->scale, w->due);
			if (mt > l->model_now)
				l->model_now = mt;
			w->cb(l, w);
		} else {
			break;
		}
	}
	/* Stopped early, timers due by model_end may be left: the time stays
	 * at the last one run, so none is ever pending in the past. */
	if (!l->stop && model_end > l->model_now)
		l->model_now = model_end;
}

/* The poll timeout in ms, rounded up so a timer is never polled for early
 * and spun on: 0 if one is due, -1 if none is pending. */
static int poll_timeout(const ev_loop *l)
{
	int64_t due = INT64_MAX;
	if (l->wall.n)
		due = l->wall.a[0]->due;
	if (l->model.n) {
		int64_t d = ev_scale_to_wall(l->scale, l->model.a[0]->due);
		if (d < due)
			due = d;
	}
	if (due == INT64_MAX)
		return -1;
	if (due <= l->wall_now)
		return 0;
	int64_t ms = (due - l->wall_now + 999999) / 1000000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* ---- the loop ----------------------------------------------------------------- */

int ev_new(ev_loop **out, const sim_alloc *a, ev_scale scale)
{
	if (!scale_ok(scale))
		return SIM_EINVAL;
	ev_loop *l = sim_malloc(a, sizeof *l);
	if (!l)
		return SIM_ENOMEM;
	memset(l, 0, sizeof *l);
	l->alloc = a;
	l->scale = scale;
	l->sigfd = -1;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		sim_free(a, l, sizeof *l);
		return SIM_EIO;
	}
	clock_gettime(CLOCK_MONOTONIC, &l->start);
	*out = l;
	return SIM_OK;
}

void ev_free(ev_loop *l)
{
	if (!l)
		return;
	if (l->sigfd >= 0) {
		close(l->sigfd);
		pthread_sigmask(SIG_SETMASK, &l->sig_old, NULL);
	}
	close(l->epfd);
	for (size_t i = 0; i < l->wall.n; i++)
		l->wall.a[i]->slot = 0;
	sim_free(l->alloc, l->wall.a, l->wall.cap * sizeof *l->wall.a);
	sim_free(l->alloc, l->model.a, l->model.cap * sizeof *l->model.a);
	for (clk_node *x = l->all_nodes, *next; x; x = next) {
		next = x->next_all;
		sim_free(l->alloc, x, sizeof *x);
	}
	sim_free(l->alloc, l, sizeof *l);
}

void ev_stop(ev_loop *l)
{
	l->stop = true;
}

static void dispatch(ev_loop *l)
{
	while (!l->stop && l->next_event < l->n_events) {
		struct epoll_event *e = &l->events[l->next_event++];
		ev_io *w = e->data.ptr;
		if (!w)
			continue;
		unsigned got = 0;
		if (e->events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			got |= EV_READ;
		if (e->events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
			got |= EV_WRITE;
		got &= w->mask;
		if (got)
			w->cb(l, w, got);
	}
	l->n_events = l->next_event = 0;
}

int ev_run(ev_loop *l)
{
	l->stop = false;
	update_time(l);
	for (;;) {
		run_timers(l);
		if (l->stop || (l->n_io == 0 && l->wall.n == 0 && l->model.n == 0))
			break;
		int n = epoll_wait(l->epfd, l->events, EV_BATCH, poll_timeout(l));
		if (n < 0) {
			if (errno != EINTR)
				return sys_fail(l);
			n = 0;
		}
		l->n_events = n;
		l->next_event = 0;
		update_time(l);
		run_timers(l);
		dispatch(l);
	}
	l->n_events = l->next_event = 0; /* level-triggered: reported again */
	return SIM_OK;
}

/* ---- file descriptors --------------------------------------------------------- */

static uint32_t epoll_mask(unsigned mask)
{
	return (mask & EV_READ ? EPOLLIN | EPOLLRDHUP : 0u) | (mask & EV_WRITE ? EPOLLOUT : 0u);
}

int ev_io_start(ev_loop *l, ev_io *w, int fd, unsigned mask, ev_io_cb cb, void *arg)
{
	if (w->started || fd < 0 || (mask & ~(unsigned)(EV_READ | EV_WRITE)))
		return SIM_EINVAL;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0))
		return sys_fail(l);
	*w = (ev_io){ .fd = fd, .cb = cb, .arg = arg };
	if (mask) {
		struct epoll_event e = { .events = epoll_mask(mask), .data.ptr = w };
		if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &e) < 0)
			return sys_fail(l);
		w->in_epoll = true;
	}
	w->mask = mask;
	w->started = true;
	l->n_io++;
	return SIM_OK;
}

int ev_io_set(ev_loop *l, ev_io *w, unsigned mask)
{
	if (!w->started || (mask & ~(unsigned)(EV_READ | EV_WRITE)))
		return SIM_EINVAL;
	if (mask == w->mask)
		return SIM_OK;
	if (mask == 0) {
		if (epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL) < 0)
			return sys_fail(l);
		w->in_epoll = false;
	} else {
		struct epoll_event e = { .events = epoll_mask(mask), .data.ptr = w };
		if (epoll_ctl(l->epfd, w->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, w->fd, &e) < 0)
			return sys_fail(l);
		w->in_epoll = true;
	}
	w->mask = mask;
	return SIM_OK;
}

void ev_io_stop(ev_loop *l, ev_io *w)
{
	if (!w->started)
		return;
	if (w->in_epoll)
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	/* Its events not yet dispatched in this batch: the caller may free w
	 * as soon as this returns.  O(batch). */
	for (int i = l->next_event; i < l->n_events; i++)
		if (l->events[i].data.ptr == w)
			l->events[i].data.ptr = NULL;
	w->started = w->in_epoll = false;
	w->mask = 0;
	l->n_io--;
}

/* ---- wall timers ----------------------------------------------------------------- */

int ev_timer_start(ev_loop *l, ev_timer *t, int64_t due_ns, ev_timer_cb cb, void *arg)
{
	if (t->slot)
		return SIM_EINVAL;
	if (due_ns < l->wall_now)
		return SIM_EPAST;
	t->due = due_ns;
	t->cb = cb;
	t->arg = arg;
	return heap_push(l, &l->wall, t);
}

bool ev_timer_stop(ev_loop *l, ev_timer *t)
{
	if (!t->slot)
		return false;
	heap_remove(&l->wall, t);
	return true;
}

/* ---- signals ----------------------------------------------------------------------- */

static void on_signalfd(ev_loop *l, ev_io *w, unsigned events)
{
	(void)events;
	struct signalfd_siginfo si;
	while (!l->stop && read(w->fd, &si, sizeof si) == (ssize_t)sizeof si)
		l->sig_cb(l, (int)si.ssi_signo, l->sig_arg);
}

int ev_signal(ev_loop *l, const int *signos, int n, ev_signal_cb cb, void *arg)
{
	if (l->sigfd >= 0 || n <= 0)
		return SIM_EINVAL;
	sigset_t set;
	sigemptyset(&set);
	for (int i = 0; i < n; i++)
		if (sigaddset(&set, signos[i]) < 0)
			return SIM_EINVAL;
	int rc = pthread_sigmask(SIG_BLOCK, &set, &l->sig_old);
	if (rc != 0) {
		l->sys_errno = rc;
		return SIM_EIO;
	}
	int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		goto fail;
	l->sig_cb = cb;
	l->sig_arg = arg;
	if (ev_io_start(l, &l->sig_io, fd, EV_READ, on_signalfd, NULL) != SIM_OK) {
		close(fd);
		goto fail;
	}
	l->sigfd = fd;
	return SIM_OK;
fail:
	l->sys_errno = errno;
	pthread_sigmask(SIG_SETMASK, &l->sig_old, NULL);
	return SIM_EIO;
}

/* ---- the clock port ---------------------------------------------------------------- */

static int clk_schedule(void *ctx, int64_t t, clk_cb cb, void *arg, clk_timer *h)
{
	ev_loop *l = ctx;
	if (t < l->model_now)
		return SIM_EPAST;
	clk_node *x = l->free_nodes;
	if (!x) {
		x = sim_malloc(l->alloc, sizeof *x);
		if (!x)
			return SIM_ENOMEM;
		memset(x, 0, sizeof *x);
		x->next_all = l->all_nodes;
		l->all_nodes = x;
	} else {
		l->free_nodes = x->next_free;
	}
	x->t.due = t;
	x->h = h;
	int rc = heap_push(l, &l->model, &x->t);
	if (rc != SIM_OK) {
		x->next_free = l->free_nodes;
		l->free_nodes = x;
		return rc;
	}
	h->cb = cb;
	h->arg = arg;
	h->impl = x;
	h->id = x->t.seq;
	return SIM_OK;
}

/* A node is reused with a new seq, so a stale handle never matches. */
static clk_node *clk_find(const clk_timer *h)
{
	clk_node *x = h->impl;
	if (!x || h->id == 0 || x->t.slot == 0 || x->h != h || x->t.seq != h->id)
		return NULL;
	return x;
}

static bool clk_cancel_(void *ctx, clk_timer *h)
{
	ev_loop *l = ctx;
	clk_node *x = clk_find(h);
	if (!x)
		return false;
	heap_remove(&l->model, &x->t);
	x->next_free = l->free_nodes;
	l->free_nodes = x;
	return true;
}

static bool clk_pending_(const void *ctx, const clk_timer *h)
{
	(void)ctx;
	return clk_find(h) != NULL;
}

clk ev_clock(ev_loop *l)
{
	return (clk){ .now_ns = &l->model_now, .ctx = l, .schedule_at = clk_schedule,
		      .cancel = clk_cancel_, .pending = clk_pending_ };
}
