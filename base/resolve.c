/* SPDX-License-Identifier: Apache-2.0 */
/*
 * resolve: getaddrinfo() on a thread of its own, bounded by a timeout (see
 * resolve.h).
 */
#include "base/resolve.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/rs_util.h"

/*
 * One lookup, shared by its thread and its waiter; freed by whichever lets
 * go last (refs). The lock guards done/abandoned/res and the eventfd write.
 */
struct job {
  struct job *next_running; /* the registry of lookups still running (reg_mu) */
  int64_t started_ms;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int refs;
  bool done;      /* the thread has filled res */
  bool abandoned; /* the waiter left: the thread must not touch efd */
  int efd;        /* loop mode: written when done; -1 otherwise */
  char *host, *service;
  int socktype;
  struct rs_resolved res;
};

/*
 * Lookups whose thread still runs, abandoned or not. A resolver that never
 * answers would otherwise pile up one thread per attempt: a lookup of the
 * same host and service is refused while one runs, and at most
 * RS_RESOLVE_MAX_THREADS run at once.
 */
#define RS_RESOLVE_MAX_THREADS 32
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct job *running;
static size_t n_running;

struct rs_resolve {
  struct job *j;
  struct evloop *loop;
  struct evloop_io *io;
  struct evloop_timer *timer;
  rs_resolve_fn done;
  void *ud;
  int64_t timeout_ms;
};

static void job_unref(struct job *j)
{
  int left;
  pthread_mutex_lock(&j->mu);
  left = --j->refs;
  pthread_mutex_unlock(&j->mu);
  if(left)
    return;
  pthread_mutex_destroy(&j->mu);
  pthread_cond_destroy(&j->cv);
  if(j->efd >= 0)
    close(j->efd);
  free(j->host);
  free(j->service);
  free(j);
}

/* getaddrinfo into *res (first address). numeric_only: AI_NUMERICHOST. 0 or the EAI_ code. */
static int lookup(const char *host, const char *service, int socktype, bool numeric_only,
                  struct rs_resolved *res)
{
  struct addrinfo hints, *ai = NULL;
  int g;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = socktype;
  hints.ai_flags = AI_NUMERICSERV | (numeric_only ? AI_NUMERICHOST : 0);
  g = getaddrinfo(host, service, &hints, &ai);
  if(!g && (!ai || ai->ai_addrlen > sizeof(res->addr)))
    g = EAI_FAIL;
  if(!g) {
    memcpy(&res->addr, ai->ai_addr, ai->ai_addrlen);
    res->addrlen = ai->ai_addrlen;
    res->ok = 1;
  }
  else if(!numeric_only)
    (void)rs_snprintf(res->why, sizeof(res->why), "cannot resolve %s: %s", host,
                      gai_strerror(g));
  if(ai)
    freeaddrinfo(ai);
  return g;
}

static void *job_main(void *arg)
{
  struct job *j = arg, **pp;
  struct rs_resolved res;
  memset(&res, 0, sizeof(res));
  (void)lookup(j->host, j->service, j->socktype, false, &res);
  pthread_mutex_lock(&reg_mu);
  for(pp = &running; *pp; pp = &(*pp)->next_running) {
    if(*pp == j) {
      *pp = j->next_running;
      n_running--;
      break;
    }
  }
  pthread_mutex_unlock(&reg_mu);
  pthread_mutex_lock(&j->mu);
  j->res = res;
  j->done = true;
  pthread_cond_broadcast(&j->cv);
  if(!j->abandoned && j->efd >= 0) {
    uint64_t one = 1;
    (void)!write(j->efd, &one, sizeof(one));
  }
  pthread_mutex_unlock(&j->mu);
  job_unref(j);
  return NULL;
}

/*
 * A job for host:service with its thread started (refs: the thread and the
 * caller). NULL with why set when the same lookup still runs or too many do,
 * or on failure.
 */
static struct job *job_start(const char *host, const char *service, int socktype, bool with_efd,
                             char *why, size_t whylen)
{
  struct job *j, *o;
  pthread_attr_t attr;
  pthread_t t;
  int rc;
  int64_t now = clock_real_mono_ms();
  pthread_mutex_lock(&reg_mu);
  for(o = running; o; o = o->next_running) {
    if(o->socktype == socktype && !strcmp(o->host, host) && !strcmp(o->service, service)) {
      (void)rs_snprintf(why, whylen,
                        "cannot resolve %s: the lookup started %lld ms ago has not ended", host,
                        (long long)(now - o->started_ms));
      pthread_mutex_unlock(&reg_mu);
      return NULL;
    }
  }
  if(n_running >= RS_RESOLVE_MAX_THREADS) {
    (void)rs_snprintf(why, whylen, "cannot resolve %s: %d lookups are still running", host,
                      RS_RESOLVE_MAX_THREADS);
    pthread_mutex_unlock(&reg_mu);
    return NULL;
  }
  pthread_mutex_unlock(&reg_mu);
  j = calloc(1, sizeof(*j));
  if(!j) {
    (void)rs_snprintf(why, whylen, "cannot resolve %s: out of memory", host);
    return NULL;
  }
  j->started_ms = now;
  j->efd = -1;
  if(with_efd && (j->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
    (void)rs_snprintf(why, whylen, "cannot resolve %s: %s", host, strerror(errno));
    free(j);
    return NULL;
  }
  pthread_mutex_init(&j->mu, NULL);
  pthread_cond_init(&j->cv, NULL);
  j->refs = 2;
  j->host = rs_xstrdup(host);
  j->service = rs_xstrdup(service);
  j->socktype = socktype;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_mutex_lock(&reg_mu); /* registered before the thread can unregister it */
  j->next_running = running;
  running = j;
  n_running++;
  rc = pthread_create(&t, &attr, job_main, j);
  if(rc) {
    running = j->next_running;
    n_running--;
  }
  pthread_mutex_unlock(&reg_mu);
  pthread_attr_destroy(&attr);
  if(rc) {
    (void)rs_snprintf(why, whylen, "cannot resolve %s: no thread for the lookup: %s", host,
                      strerror(rc));
    j->refs = 1;
    job_unref(j);
    errno = rc;
    return NULL;
  }
  return j;
}

int rs_resolve_wait(const char *host, const char *service, int socktype, int64_t timeout_ms,
                    struct rs_resolved *res)
{
  struct job *j;
  struct timespec until;
  memset(res, 0, sizeof(*res));
  if(!lookup(host, service, socktype, true, res))
    return 0;
  j = job_start(host, service, socktype, false, res->why, sizeof(res->why));
  if(!j)
    return -1;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += (time_t)(timeout_ms / 1000);
  until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if(until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&j->mu);
  while(!j->done) {
    if(pthread_cond_timedwait(&j->cv, &j->mu, &until) == ETIMEDOUT)
      break;
  }
  if(j->done)
    *res = j->res;
  else {
    j->abandoned = true;
    (void)rs_snprintf(res->why, sizeof(res->why), "cannot resolve %s within %lld ms", host,
                      (long long)timeout_ms);
  }
  pthread_mutex_unlock(&j->mu);
  job_unref(j);
  return res->ok ? 0 : -1;
}

/* Let go of r's loop parts and its job; the callback has run or never will. */
static void handle_free(struct rs_resolve *r)
{
  evloop_io_del(r->loop, r->io); /* before the job (and its eventfd) may go */
  r->io = NULL;
  if(r->j) {
    pthread_mutex_lock(&r->j->mu);
    r->j->abandoned = true;
    pthread_mutex_unlock(&r->j->mu);
    job_unref(r->j);
  }
  evloop_timer_free(r->timer);
  free(r);
}

static void finish(struct rs_resolve *r, const struct rs_resolved *res)
{
  rs_resolve_fn done = r->done;
  void *ud = r->ud;
  struct rs_resolved copy = *res;
  handle_free(r);
  done(ud, &copy);
}

static void on_done(void *ud, int fd, uint32_t events)
{
  struct rs_resolve *r = ud;
  struct rs_resolved res;
  uint64_t n;
  bool done;
  (void)events;
  (void)!read(fd, &n, sizeof(n));
  pthread_mutex_lock(&r->j->mu);
  done = r->j->done;
  res = r->j->res;
  pthread_mutex_unlock(&r->j->mu);
  if(done)
    finish(r, &res);
}

static void on_timer(void *ud)
{
  struct rs_resolve *r = ud;
  struct rs_resolved res;
  memset(&res, 0, sizeof(res));
  pthread_mutex_lock(&r->j->mu);
  if(r->j->done)
    res = r->j->res;
  pthread_mutex_unlock(&r->j->mu);
  if(!res.ok && !res.why[0])
    (void)rs_snprintf(res.why, sizeof(res.why), "cannot resolve %s within %lld ms", r->j->host,
                      (long long)r->timeout_ms);
  finish(r, &res);
}

/* An answer known at once (a numeric address, a refused lookup), delivered at the next turn. */
struct pre {
  struct rs_resolve r;
  struct rs_resolved res;
};

static void on_pre(void *ud)
{
  struct pre *p = ud;
  struct rs_resolved res = p->res;
  finish(&p->r, &res); /* frees p (its first member) */
}

/* An answer known now (res), handed to done at the loop's next turn. NULL on allocation failure. */
static struct rs_resolve *pre_answer(struct evloop *loop, rs_resolve_fn done, void *ud,
                                     const struct rs_resolved *res)
{
  struct pre *p = calloc(1, sizeof(*p));
  if(!p)
    return NULL;
  p->res = *res;
  p->r.loop = loop;
  p->r.done = done;
  p->r.ud = ud;
  p->r.timer = evloop_timer_new(loop, on_pre, p);
  if(!p->r.timer) {
    free(p);
    return NULL;
  }
  evloop_timer_arm(p->r.timer, clock_real_mono_ms());
  return &p->r;
}

struct rs_resolve *rs_resolve_start(struct evloop *loop, const char *host, const char *service,
                                    int socktype, int64_t timeout_ms, rs_resolve_fn done,
                                    void *ud)
{
  struct rs_resolved res;
  struct rs_resolve *r;
  memset(&res, 0, sizeof(res));
  if(!lookup(host, service, socktype, true, &res))
    return pre_answer(loop, done, ud, &res);
  r = calloc(1, sizeof(*r));
  if(!r)
    return NULL;
  r->loop = loop;
  r->done = done;
  r->ud = ud;
  r->timeout_ms = timeout_ms;
  r->j = job_start(host, service, socktype, true, res.why, sizeof(res.why));
  if(!r->j) {
    /* refused (the same lookup still runs): the answer comes at the next turn */
    free(r);
    return pre_answer(loop, done, ud, &res);
  }
  r->io = evloop_io_add(loop, r->j->efd, EPOLLIN, on_done, r);
  r->timer = evloop_timer_new(loop, on_timer, r);
  if(!r->io || !r->timer) {
    handle_free(r);
    return NULL;
  }
  evloop_timer_arm(r->timer, clock_real_mono_ms() + timeout_ms);
  return r;
}

void rs_resolve_cancel(struct rs_resolve *r)
{
  if(r)
    handle_free(r);
}
