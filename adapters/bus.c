/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bus: adapter instances and one worker thread per bus (see bus.h).
 *
 * Ownership. The caller owns an instance until its first job; from then on
 * only the bus's worker touches it (every change goes through a job on the
 * bus queue: poll, reconfigure, close). Results travel back in struct
 * bus_result, tagged with the instance's uid.
 */
#include "adapters/bus.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"

#define WORKER_STACK    (512 * 1024)
#define MAX_ADAPTER_FDS 16

/* ---- instances ------------------------------------------------------------ */

struct bus_inst *bus_inst_new(const struct cfg *cfg, const struct cfg_device *dev,
                              const struct adapter_ops *ops, void *env, uint64_t uid)
{
  struct bus_inst *bi = rs_xcalloc(1, sizeof(*bi));
  bi->uid = uid;
  bi->dh = cfg_device_hold_new(cfg, dev);
  bi->ad.ops = ops;
  bi->ad.dev = dev;
  bi->ad.env = env;
  return bi;
}

void bus_inst_close(struct bus_inst *bi)
{
  if(bi->opened)
    adapter_close(&bi->ad);
  bi->opened = false;
}

void bus_inst_free(struct bus_inst *bi)
{
  if(!bi)
    return;
  bus_inst_close(bi);
  cfg_device_hold_free(bi->dh);
  free(bi);
}

void bus_inst_reconf(struct bus_inst *bi, struct cfg_device_hold *dh)
{
  struct cfg_device_hold *old = bi->dh;
  bi->dh = dh;
  bi->ad.dev = dh->dev;
  if(bi->opened && adapter_reconfigure(&bi->ad))
    bus_inst_close(bi); /* reopened at the next poll */
  cfg_device_hold_free(old);
}

enum rs_err bus_inst_poll(struct bus_inst *bi, int64_t wall_ms, adapter_emit_fn emit, void *ctx,
                          char *err, size_t errlen)
{
  enum rs_err rc = RS_OK;
  err[0] = '\0';
  if(!bi->ad.ops) {
    (void)rs_snprintf(err, errlen, "no %s adapter in this build",
                      cfg_transport_name(bi->ad.dev->transport));
    return RS_ERR_NOT_FOUND;
  }
  if(!bi->opened) {
    rc = adapter_open(&bi->ad, err, errlen);
    if(rc)
      return rc;
    bi->opened = true;
  }
  return adapter_poll(&bi->ad, wall_ms, emit, ctx, err, errlen);
}

/* ---- jobs and results ------------------------------------------------------ */

enum job_kind { JOB_POLL, JOB_RECONF, JOB_CLOSE };

struct job {
  enum job_kind kind;
  struct bus_inst *bi;
  struct cfg_device_hold *ndh; /* JOB_RECONF: the new config's device (owned by the job) */
  int64_t due_mono;            /* JOB_POLL: handed back */
  int64_t wall_ms;             /* JOB_POLL: daemon wall time when queued */
  int64_t real_ms;             /* JOB_POLL: real mono ms when queued */
  size_t hint;                 /* JOB_POLL: handed back */
  struct job *next;
};

/* A reading copied out of the adapter's callback. Strings live in bus_result.strs. */
struct bus_res_reading {
  struct reading r;
  size_t point_off;
  size_t detail_off; /* SIZE_MAX: no detail */
};

struct bus {
  char *key;
  struct bus_pool *pool;
  pthread_t th;
  pthread_mutex_t mu;
  pthread_cond_t cv;       /* jobs for the worker */
  pthread_cond_t done_cv;  /* the worker has finished (exited), on CLOCK_MONOTONIC */
  bool exited;             /* under mu */
  struct job *head, *tail; /* under mu */
  bool stop;               /* under mu */
  int wake;                /* eventfd, made by the worker when it first needs poll(2); under mu */
  /* worker only */
  struct bus_inst **list;
  size_t n_list, cap_list;
  int64_t wall_base, real_base; /* the last job's clocks, to stamp pushed readings */
};

struct bus_pool {
  double scale;
  int evfd;
  struct bus **buses;
  size_t n_buses;
  pthread_mutex_t res_mu;
  struct bus_result *res_head, *res_tail; /* under res_mu */
};

static struct bus_result *result_new(uint64_t uid)
{
  struct bus_result *res = rs_xcalloc(1, sizeof(*res));
  res->uid = uid;
  res->hint = SIZE_MAX;
  return res;
}

void bus_result_free(struct bus_result *res)
{
  if(!res)
    return;
  FREE_NULL(res->rd);
  rs_buf_free(&res->strs);
  free(res);
}

/* emit callback of the worker's adapter calls: copy r into the result ctx. */
static void result_add(void *ctx, const struct reading *r)
{
  struct bus_result *res = ctx;
  struct bus_res_reading *rr;
  if(res->n == res->cap) {
    res->cap = res->cap ? res->cap * 2 : 16;
    res->rd = rs_xrealloc(res->rd, res->cap * sizeof(*res->rd));
  }
  rr = &res->rd[res->n++];
  rr->r = *r;
  rr->point_off = res->strs.len;
  rs_buf_append(&res->strs, r->point ? r->point : "", strlen(r->point ? r->point : "") + 1);
  rr->detail_off = SIZE_MAX;
  if(r->detail) {
    rr->detail_off = res->strs.len;
    rs_buf_append(&res->strs, r->detail, strlen(r->detail) + 1);
  }
}

void bus_result_reading(const struct bus_result *res, size_t i, struct reading *out)
{
  *out = res->rd[i].r;
  out->device = NULL;
  out->point = res->strs.data + res->rd[i].point_off;
  out->detail = res->rd[i].detail_off == SIZE_MAX ? NULL : res->strs.data + res->rd[i].detail_off;
}

/* Hand res to the main thread; the eventfd is written only when the queue was empty. */
static void push_result(struct bus_pool *p, struct bus_result *res)
{
  uint64_t one = 1;
  bool was_empty;
  pthread_mutex_lock(&p->res_mu);
  res->next = NULL;
  was_empty = !p->res_head;
  if(p->res_tail)
    p->res_tail->next = res;
  else
    p->res_head = res;
  p->res_tail = res;
  pthread_mutex_unlock(&p->res_mu);
  if(was_empty)
    (void)!write(p->evfd, &one, sizeof(one));
}

/* Push res when an adapter call put readings into it, else drop it. */
static void push_if_any(struct bus_pool *p, struct bus_result *res)
{
  if(res->n)
    push_result(p, res);
  else
    bus_result_free(res);
}

struct bus_result *bus_pool_take(struct bus_pool *p)
{
  struct bus_result *res;
  uint64_t v;
  (void)!read(p->evfd, &v, sizeof(v));
  pthread_mutex_lock(&p->res_mu);
  res = p->res_head;
  p->res_head = p->res_tail = NULL;
  pthread_mutex_unlock(&p->res_mu);
  return res;
}

/* ---- the workers ----------------------------------------------------------- */

static void list_add(struct bus *b, struct bus_inst *bi)
{
  if(bi->listed)
    return;
  if(b->n_list == b->cap_list) {
    b->cap_list = b->cap_list ? b->cap_list * 2 : 4;
    b->list = rs_xrealloc(b->list, b->cap_list * sizeof(*b->list));
  }
  b->list[b->n_list++] = bi;
  bi->listed = true;
}

static void list_del(struct bus *b, struct bus_inst *bi)
{
  size_t i;
  for(i = 0; i < b->n_list; i++) {
    if(b->list[i] == bi) {
      b->list[i] = b->list[--b->n_list];
      break;
    }
  }
  bi->listed = false;
}

static int64_t worker_wall(const struct bus *b)
{
  return b->wall_base +
         (int64_t)((double)(clock_real_mono_ms() - b->real_base) * b->pool->scale);
}

static void worker_run_job(struct bus *b, struct job *j)
{
  struct bus_inst *bi = j->bi;
  switch(j->kind) {
  case JOB_POLL: {
    struct bus_result *res = result_new(bi->uid);
    int64_t t0 = clock_real_mono_ms(), wall;
    b->wall_base = j->wall_ms;
    b->real_base = j->real_ms;
    wall = worker_wall(b);
    list_add(b, bi);
    res->poll_done = true;
    res->hint = j->hint;
    res->due_mono = j->due_mono;
    res->wall_ms = wall;
    res->rc = bus_inst_poll(bi, wall, result_add, res, res->err, sizeof(res->err));
    res->rtt_ms = clock_real_mono_ms() - t0;
    push_result(b->pool, res);
    break;
  }
  case JOB_RECONF:
    bus_inst_reconf(bi, j->ndh);
    j->ndh = NULL;
    break;
  case JOB_CLOSE:
    list_del(b, bi);
    bus_inst_free(bi);
    break;
  }
}

/* Free a job that will not run; a close still closes (on this thread). */
static void job_drop(struct bus *b, struct job *j)
{
  if(j->kind == JOB_CLOSE) {
    list_del(b, j->bi);
    bus_inst_free(j->bi);
  }
  cfg_device_hold_free(j->ndh);
  free(j);
}

/* Serve adapter descriptors and timers until a job arrives or stop is set. */
static void worker_wait(struct bus *b)
{
  struct pollfd pfd[MAX_ADAPTER_FDS + 1];
  struct bus_inst *who[MAX_ADAPTER_FDS + 1];
  nfds_t n = 0;
  int64_t next = INT64_MAX, now;
  int timeout, rc;
  size_t i;

  for(i = 0; i < b->n_list && n < MAX_ADAPTER_FDS; i++) {
    struct bus_inst *bi = b->list[i];
    int fd;
    int64_t t;
    if(!bi->opened)
      continue;
    fd = adapter_fd(&bi->ad);
    t = adapter_next_timeout(&bi->ad);
    if(t < next)
      next = t;
    if(fd >= 0) {
      pfd[n + 1].fd = fd;
      pfd[n + 1].events = POLLIN;
      pfd[n + 1].revents = 0;
      who[n + 1] = bi;
      n++;
    }
  }

  pthread_mutex_lock(&b->mu);
  if(b->head || b->stop) {
    pthread_mutex_unlock(&b->mu);
    return;
  }
  if(!n && next == INT64_MAX) {
    /* nothing of the adapters' own to wait for: sleep until a job comes */
    pthread_cond_wait(&b->cv, &b->mu);
    pthread_mutex_unlock(&b->mu);
    return;
  }
  if(b->wake < 0)
    b->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  pfd[0].fd = b->wake;
  pfd[0].events = POLLIN;
  pfd[0].revents = 0;
  pthread_mutex_unlock(&b->mu);

  now = clock_real_mono_ms();
  if(next == INT64_MAX)
    timeout = -1;
  else if(next <= now)
    timeout = 0;
  else
    timeout = next - now > 60000 ? 60000 : (int)(next - now);
  rc = poll(pfd, n + 1, timeout);
  if(rc < 0)
    return;
  if(pfd[0].revents & POLLIN) {
    uint64_t v;
    (void)!read(pfd[0].fd, &v, sizeof(v));
  }
  for(i = 1; i <= n; i++) {
    if(pfd[i].revents) {
      struct bus_result *res = result_new(who[i]->uid);
      (void)adapter_on_readable(&who[i]->ad, worker_wall(b), result_add, res);
      push_if_any(b->pool, res);
    }
  }
  now = clock_real_mono_ms();
  for(i = 0; i < b->n_list; i++) {
    struct bus_inst *bi = b->list[i];
    if(bi->opened && adapter_next_timeout(&bi->ad) <= now) {
      struct bus_result *res = result_new(bi->uid);
      adapter_on_timeout(&bi->ad, worker_wall(b), result_add, res);
      push_if_any(b->pool, res);
    }
  }
}

static void *worker_main(void *arg)
{
  struct bus *b = arg;
  for(;;) {
    struct job *j;
    bool stop;
    pthread_mutex_lock(&b->mu);
    j = b->head;
    if(j) {
      b->head = j->next;
      if(!b->head)
        b->tail = NULL;
    }
    stop = b->stop;
    pthread_mutex_unlock(&b->mu);
    if(stop) {
      if(j)
        job_drop(b, j);
      pthread_mutex_lock(&b->mu);
      j = b->head;
      b->head = b->tail = NULL;
      pthread_mutex_unlock(&b->mu);
      while(j) {
        struct job *nx = j->next;
        job_drop(b, j);
        j = nx;
      }
      break;
    }
    if(j) {
      worker_run_job(b, j);
      cfg_device_hold_free(j->ndh);
      free(j);
      continue;
    }
    worker_wait(b);
  }
  /* shutting down: what is left on this bus is closed here, on its thread */
  while(b->n_list) {
    struct bus_inst *bi = b->list[b->n_list - 1];
    list_del(b, bi);
    bus_inst_free(bi);
  }
  pthread_mutex_lock(&b->mu);
  b->exited = true;
  pthread_cond_broadcast(&b->done_cv);
  pthread_mutex_unlock(&b->mu);
  return NULL;
}

/* Queue j on b and wake its worker. */
static void bus_submit(struct bus *b, struct job *j)
{
  uint64_t one = 1;
  j->next = NULL;
  pthread_mutex_lock(&b->mu);
  if(b->tail)
    b->tail->next = j;
  else
    b->head = j;
  b->tail = j;
  if(b->wake >= 0)
    (void)!write(b->wake, &one, sizeof(one));
  pthread_cond_signal(&b->cv);
  pthread_mutex_unlock(&b->mu);
}

void bus_submit_poll(struct bus *b, struct bus_inst *bi, int64_t due_mono, int64_t wall_ms,
                     size_t hint)
{
  struct job *j = rs_xcalloc(1, sizeof(*j));
  j->kind = JOB_POLL;
  j->bi = bi;
  j->due_mono = due_mono;
  j->wall_ms = wall_ms;
  j->real_ms = clock_real_mono_ms();
  j->hint = hint;
  bus_submit(b, j);
}

void bus_submit_reconf(struct bus *b, struct bus_inst *bi, struct cfg_device_hold *dh)
{
  struct job *j = rs_xcalloc(1, sizeof(*j));
  j->kind = JOB_RECONF;
  j->bi = bi;
  j->ndh = dh;
  bus_submit(b, j);
}

void bus_submit_close(struct bus *b, struct bus_inst *bi)
{
  struct job *j = rs_xcalloc(1, sizeof(*j));
  j->kind = JOB_CLOSE;
  j->bi = bi;
  bus_submit(b, j);
}

/* ---- the pool ------------------------------------------------------------- */

struct bus_pool *bus_pool_new(double time_scale)
{
  struct bus_pool *p = rs_xcalloc(1, sizeof(*p));
  p->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if(p->evfd < 0) {
    int e = errno;
    free(p);
    errno = e;
    return NULL;
  }
  p->scale = time_scale > 0 ? time_scale : 1;
  pthread_mutex_init(&p->res_mu, NULL);
  return p;
}

int bus_pool_fd(const struct bus_pool *p)
{
  return p->evfd;
}

struct bus *bus_pool_get(struct bus_pool *p, const char *key)
{
  struct bus *b;
  pthread_attr_t attr;
  pthread_condattr_t ca;
  size_t i;
  int rc;
  for(i = 0; i < p->n_buses; i++) {
    if(!strcmp(p->buses[i]->key, key))
      return p->buses[i];
  }
  b = rs_xcalloc(1, sizeof(*b));
  b->key = rs_xstrdup(key);
  b->pool = p;
  b->wake = -1;
  pthread_mutex_init(&b->mu, NULL);
  pthread_cond_init(&b->cv, NULL);
  pthread_condattr_init(&ca);
  (void)pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&b->done_cv, &ca);
  pthread_condattr_destroy(&ca);
  pthread_attr_init(&attr);
  (void)pthread_attr_setstacksize(&attr, WORKER_STACK);
  rc = pthread_create(&b->th, &attr, worker_main, b);
  pthread_attr_destroy(&attr);
  if(rc) {
    log_err("bus %s: cannot start its worker thread: %s; its devices are polled on the main "
            "thread",
            key, strerror(rc));
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    pthread_cond_destroy(&b->done_cv);
    FREE_NULL(b->key);
    free(b);
    return NULL;
  }
  p->buses = rs_xrealloc(p->buses, (p->n_buses + 1) * sizeof(*p->buses));
  p->buses[p->n_buses++] = b;
  return b;
}

/* Pools whose workers outlived BUS_STOP_WAIT_MS: kept so those threads never touch freed memory. */
static pthread_mutex_t abandoned_mu = PTHREAD_MUTEX_INITIALIZER;
static struct bus_pool *abandoned[8];
static size_t n_abandoned;

/*
 * Stop every worker after its current job and join it, waiting until
 * BUS_STOP_WAIT_MS after the first stop at most. Returns how many workers
 * were still busy then: those are detached and their buses kept (not freed).
 */
static size_t buses_stop(struct bus_pool *p)
{
  size_t i, kept = 0;
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += BUS_STOP_WAIT_MS / 1000;
  deadline.tv_nsec += (long)(BUS_STOP_WAIT_MS % 1000) * 1000000L;
  if(deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000L;
  }
  for(i = 0; i < p->n_buses; i++) {
    struct bus *b = p->buses[i];
    uint64_t one = 1;
    pthread_mutex_lock(&b->mu);
    b->stop = true;
    if(b->wake >= 0)
      (void)!write(b->wake, &one, sizeof(one));
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
  }
  for(i = 0; i < p->n_buses; i++) {
    struct bus *b = p->buses[i];
    bool exited;
    pthread_mutex_lock(&b->mu);
    while(!b->exited && pthread_cond_timedwait(&b->done_cv, &b->mu, &deadline) == 0)
      ;
    exited = b->exited;
    pthread_mutex_unlock(&b->mu);
    if(!exited) {
      log_warn("bus %s: a poll is still running at shutdown; not waiting for it", b->key);
      pthread_detach(b->th);
      p->buses[kept++] = b; /* kept: the worker still uses it */
      continue;
    }
    pthread_join(b->th, NULL);
    if(b->wake >= 0)
      close(b->wake);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    pthread_cond_destroy(&b->done_cv);
    FREE_NULL(b->list);
    FREE_NULL(b->key);
    free(b);
  }
  p->n_buses = kept;
  if(!kept)
    FREE_NULL(p->buses);
  return kept;
}

void bus_pool_free(struct bus_pool *p)
{
  struct bus_result *res;
  if(!p)
    return;
  if(buses_stop(p)) {
    /* a worker still runs and will push its result here: keep p (the process is exiting) */
    pthread_mutex_lock(&abandoned_mu);
    if(n_abandoned < RS_ARRAY_LEN(abandoned))
      abandoned[n_abandoned++] = p;
    pthread_mutex_unlock(&abandoned_mu);
    return;
  }
  res = p->res_head;
  while(res) {
    struct bus_result *nx = res->next;
    bus_result_free(res);
    res = nx;
  }
  close(p->evfd);
  pthread_mutex_destroy(&p->res_mu);
  free(p);
}
