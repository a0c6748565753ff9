/* SPDX-License-Identifier: Apache-2.0 */
/*
 * evloop: epoll, timers and turn statistics (see evloop.h).
 */
#include "base/evloop.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/rs_util.h"

/* Under AddressSanitizer a spare io handle is poisoned: a use of a deleted
   handle after its turn is still reported, though its block is not freed. */
#if defined(__SANITIZE_ADDRESS__)
#define EVLOOP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EVLOOP_ASAN 1
#endif
#endif
#ifdef EVLOOP_ASAN
#include <sanitizer/asan_interface.h>
#define SPARE_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define SPARE_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define SPARE_POISON(p, n) ((void)(p), (void)(n))
#define SPARE_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

const double evloop_bucket_bounds[EVLOOP_N_BUCKETS] = EVLOOP_BUCKETS;

struct evloop_io {
  int fd; /* -1 once deleted */
  evloop_io_fn fn;
  void *ud;
  struct evloop_io *next_dead;
  struct evloop_io *prev_all, *next_all; /* every live handle, for evloop_free() */
};

struct evloop_timer {
  struct evloop *l;
  evloop_timer_fn fn;
  void *ud;
  int64_t due;     /* its place in the heap; INT64_MAX: disarmed */
  int64_t want;    /* when it fires: due, or later after evloop_timer_extend() */
  size_t slot;     /* index in l->timers */
  size_t heap_idx; /* index in l->heap; SIZE_MAX: not armed */
  bool dead;
  bool firing; /* taken off the heap as due in this turn, not yet called */
  struct evloop_timer *next_dead;
};

struct evloop {
  int ep;
  evloop_foreign_fn foreign;
  void *foreign_ud;
  struct evloop_io *dead; /* io handles deleted during this turn, spare at its end */
  struct evloop_io *spare; /* deleted handles kept for the next evloop_io_add() (a device
                              reconnecting at every poll allocates nothing): at most as
                              many as were ever live at once */
  struct evloop_io *all;  /* live io handles */
  struct evloop_timer **timers; /* every live timer (ownership) */
  size_t n_timers, cap_timers;
  struct evloop_timer **heap; /* the armed ones: a binary min-heap on due */
  size_t n_heap;
  struct evloop_timer **fire; /* the due ones of the current turn */
  size_t n_fire;
  struct evloop_timer *dead_timers; /* freed during this turn, released at its end */
  bool in_turn;
  size_t n_dead_timers;

  /* statistics */
  int64_t woke_ms; /* when the last epoll_wait returned; -1 before the first */
  struct evloop_stats st;
  int64_t recent_long_ms, recent_long_end;
};

struct evloop *evloop_new(void)
{
  struct evloop *l = calloc(1, sizeof(*l));
  if(!l)
    return NULL;
  l->ep = epoll_create1(EPOLL_CLOEXEC);
  if(l->ep < 0) {
    int e = errno;
    free(l);
    errno = e;
    return NULL;
  }
  l->woke_ms = -1;
  return l;
}

/* Keep deleted io handle io for a later evloop_io_add() (poisoned under ASan). */
static void spare_push(struct evloop *l, struct evloop_io *io)
{
  io->next_dead = l->spare;
  l->spare = io;
  /* all but the link (LeakSanitizer follows no pointer in poisoned memory) */
  SPARE_POISON(io, offsetof(struct evloop_io, next_dead));
  SPARE_POISON(&io->prev_all, sizeof(*io) - offsetof(struct evloop_io, prev_all));
}

/* A spare io handle, unpoisoned and zeroed, or NULL when there is none. */
static struct evloop_io *spare_pop(struct evloop *l)
{
  struct evloop_io *io = l->spare;
  if(!io)
    return NULL;
  SPARE_UNPOISON(io, sizeof(*io));
  l->spare = io->next_dead;
  memset(io, 0, sizeof(*io));
  return io;
}

static void free_dead(struct evloop *l)
{
  while(l->dead) {
    struct evloop_io *io = l->dead;
    l->dead = io->next_dead;
    spare_push(l, io); /* no event of this turn can name it any more */
  }
  while(l->dead_timers) {
    struct evloop_timer *t = l->dead_timers;
    l->dead_timers = t->next_dead;
    free(t);
  }
  l->n_dead_timers = 0;
}

void evloop_free(struct evloop *l)
{
  size_t i;
  if(!l)
    return;
  free_dead(l);
  while(l->spare)
    free(spare_pop(l));
  while(l->all) {
    struct evloop_io *io = l->all;
    l->all = io->next_all;
    free(io);
  }
  for(i = 0; i < l->n_timers; i++)
    free(l->timers[i]);
  free(l->timers);
  free(l->heap);
  free(l->fire);
  close(l->ep);
  free(l);
}

int evloop_epoll_fd(const struct evloop *l)
{
  return l->ep;
}

void evloop_set_foreign(struct evloop *l, evloop_foreign_fn fn, void *ud)
{
  l->foreign = fn;
  l->foreign_ud = ud;
}

struct evloop_io *evloop_io_add(struct evloop *l, int fd, uint32_t events, evloop_io_fn fn,
                                void *ud)
{
  struct evloop_io *io = spare_pop(l);
  struct epoll_event ev;
  if(!io)
    io = calloc(1, sizeof(*io));
  if(!io) {
    errno = ENOMEM;
    return NULL;
  }
  io->fd = fd;
  io->fn = fn;
  io->ud = ud;
  memset(&ev, 0, sizeof(ev));
  ev.events = events;
  ev.data.ptr = io;
  if(epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev)) {
    int e = errno;
    spare_push(l, io);
    errno = e;
    return NULL;
  }
  io->next_all = l->all;
  if(l->all)
    l->all->prev_all = io;
  l->all = io;
  return io;
}

int evloop_io_mod(struct evloop *l, struct evloop_io *io, uint32_t events)
{
  struct epoll_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.events = events;
  ev.data.ptr = io;
  return epoll_ctl(l->ep, EPOLL_CTL_MOD, io->fd, &ev);
}

void evloop_io_del(struct evloop *l, struct evloop_io *io)
{
  if(!io || io->fd < 0)
    return;
  (void)epoll_ctl(l->ep, EPOLL_CTL_DEL, io->fd, NULL); /* fails harmlessly if already closed */
  io->fd = -1;
  RS_DLIST_UNLINK(l->all, io, prev_all, next_all);
  io->next_dead = l->dead;
  l->dead = io;
  if(!l->in_turn)
    free_dead(l);
}

struct evloop_timer *evloop_timer_new(struct evloop *l, evloop_timer_fn fn, void *ud)
{
  struct evloop_timer *t = calloc(1, sizeof(*t));
  if(!t)
    return NULL;
  if(l->n_timers == l->cap_timers) {
    size_t cap = l->cap_timers ? 2 * l->cap_timers : 8;
    struct evloop_timer **v = realloc(l->timers, cap * sizeof(*v));
    if(!v) {
      free(t);
      return NULL;
    }
    l->timers = v;
    v = realloc(l->heap, cap * sizeof(*v));
    if(!v) {
      free(t);
      return NULL;
    }
    l->heap = v;
    v = realloc(l->fire, cap * sizeof(*v));
    if(!v) {
      free(t);
      return NULL;
    }
    l->fire = v;
    l->cap_timers = cap;
  }
  t->l = l;
  t->fn = fn;
  t->ud = ud;
  t->due = INT64_MAX;
  t->heap_idx = SIZE_MAX;
  t->slot = l->n_timers;
  l->timers[l->n_timers++] = t;
  return t;
}

/* ---- the timer heap: arm/disarm O(log n), the earliest O(1) ---- */

static void heap_put(struct evloop *l, size_t i, struct evloop_timer *t)
{
  l->heap[i] = t;
  t->heap_idx = i;
}

static void sift_up(struct evloop *l, size_t i)
{
  struct evloop_timer *t = l->heap[i];
  while(i > 0) {
    size_t p = (i - 1) / 2;
    if(l->heap[p]->due <= t->due)
      break;
    heap_put(l, i, l->heap[p]);
    i = p;
  }
  heap_put(l, i, t);
}

static void sift_down(struct evloop *l, size_t i)
{
  struct evloop_timer *t = l->heap[i];
  for(;;) {
    size_t c = 2 * i + 1;
    if(c >= l->n_heap)
      break;
    if(c + 1 < l->n_heap && l->heap[c + 1]->due < l->heap[c]->due)
      c++;
    if(l->heap[c]->due >= t->due)
      break;
    heap_put(l, i, l->heap[c]);
    i = c;
  }
  heap_put(l, i, t);
}

static void heap_remove(struct evloop *l, struct evloop_timer *t)
{
  size_t i = t->heap_idx;
  struct evloop_timer *last;
  if(i == SIZE_MAX)
    return;
  t->heap_idx = SIZE_MAX;
  last = l->heap[--l->n_heap];
  if(last == t)
    return;
  heap_put(l, i, last);
  sift_down(l, i);
  sift_up(l, last->heap_idx);
}

void evloop_timer_arm(struct evloop_timer *t, int64_t due_ms)
{
  struct evloop *l = t->l;
  int64_t old = t->due;
  if(t->dead)
    return;
  t->firing = false;
  t->due = due_ms;
  t->want = due_ms;
  if(t->heap_idx == SIZE_MAX) {
    heap_put(l, l->n_heap++, t);
    sift_up(l, t->heap_idx);
  }
  else if(due_ms < old)
    sift_up(l, t->heap_idx);
  else
    sift_down(l, t->heap_idx);
}

/*
 * A reply deadline pushed later at every request (thousands of connections,
 * one request each every few ms flat out) leaves the heap alone: t keeps its
 * place at the earlier due and, when that comes, moves to want instead of
 * firing. One heap operation per deadline that passes, not two per request.
 */
void evloop_timer_extend(struct evloop_timer *t, int64_t due_ms)
{
  if(t->heap_idx != SIZE_MAX && !t->dead && t->due <= due_ms)
    t->want = due_ms;
  else
    evloop_timer_arm(t, due_ms);
}

void evloop_timer_disarm(struct evloop_timer *t)
{
  t->due = INT64_MAX;
  t->firing = false;
  heap_remove(t->l, t);
}

void evloop_timer_free(struct evloop_timer *t)
{
  struct evloop *l;
  if(!t)
    return;
  l = t->l;
  evloop_timer_disarm(t);
  t->dead = true;
  /* out of the owner list at once (O(1)); the memory after the turn */
  l->timers[t->slot] = l->timers[--l->n_timers];
  l->timers[t->slot]->slot = t->slot;
  if(l->in_turn) {
    t->next_dead = l->dead_timers;
    l->dead_timers = t;
    l->n_dead_timers++;
  }
  else
    free(t);
}

int64_t evloop_next_timer(const struct evloop *l)
{
  return l->n_heap ? l->heap[0]->due : INT64_MAX;
}

/* Account for the turn that ends now (the work since the last wake-up). */
static void turn_ended(struct evloop *l, int64_t now)
{
  int64_t d;
  double s;
  size_t b;
  if(l->woke_ms < 0)
    return;
  d = now - l->woke_ms;
  if(d < 0)
    d = 0;
  s = (double)d / 1000.0;
  for(b = 0; b < EVLOOP_N_BUCKETS; b++)
    if(s <= evloop_bucket_bounds[b])
      l->st.buckets[b]++;
  l->st.count++;
  l->st.sum_s += s;
  if(d > l->st.longest_ms)
    l->st.longest_ms = d;
  if(d >= l->recent_long_ms || now - l->recent_long_end > EVLOOP_LAG_WINDOW_MS) {
    l->recent_long_ms = d;
    l->recent_long_end = now;
  }
}

/* Start loading the io handle of event ev (a hint; foreign events have none). */
static inline void prefetch_io(const struct epoll_event *ev)
{
  if(!(ev->data.u64 & EVLOOP_FOREIGN_TAG))
    __builtin_prefetch(ev->data.ptr);
}

int evloop_turn(struct evloop *l, int64_t max_wait_ms)
{
  struct epoll_event evs[256]; /* thousands of Modbus TCP connections can be ready at once */
  int64_t now = clock_real_mono_ms(), next = evloop_next_timer(l), wait = max_wait_ms;
  int n, k, ran = 0;
  size_t i;

  turn_ended(l, now);
  if(next != INT64_MAX && (wait < 0 || next - now < wait))
    wait = next - now > 0 ? next - now : 0;
  if(wait > 24 * 3600 * 1000)
    wait = 24 * 3600 * 1000;
  n = epoll_wait(l->ep, evs, (int)RS_ARRAY_LEN(evs), wait < 0 ? -1 : (int)wait);
  now = clock_real_mono_ms();
  l->woke_ms = now;
  if(n < 0)
    return errno == EINTR ? 0 : -1;
  l->in_turn = true;
  for(k = 0; k < n && k < 3; k++)
    prefetch_io(&evs[k]);
  for(k = 0; k < n; k++) {
    uint64_t tag = evs[k].data.u64;
    /* the handles of the events ahead, and the next one's object, are loaded
       while this one is served (thousands of connections: not in cache) */
    if(k + 3 < n)
      prefetch_io(&evs[k + 3]);
    if(k + 1 < n && !(evs[k + 1].data.u64 & EVLOOP_FOREIGN_TAG)) {
      const struct evloop_io *nx = evs[k + 1].data.ptr;
      __builtin_prefetch(nx->ud);
      __builtin_prefetch((const char *)nx->ud + 64);
    }
    if(tag & EVLOOP_FOREIGN_TAG) {
      if(l->foreign) {
        l->foreign(l->foreign_ud, tag);
        ran++;
      }
      continue;
    }
    {
      struct evloop_io *io = evs[k].data.ptr;
      if(io->fd < 0)
        continue; /* deleted earlier in this turn */
      io->fn(io->ud, io->fd, evs[k].events);
      ran++;
    }
  }
  /* due timers: taken off the heap first, so a callback that arms a timer
     (also its own, also for now) has it seen next turn; one disarmed or freed
     by an earlier callback of this turn is not called */
  now = clock_real_mono_ms();
  l->n_fire = 0;
  while(l->n_heap && l->heap[0]->due <= now) {
    struct evloop_timer *t = l->heap[0];
    if(t->want > t->due) {
      /* extended: to its place at the later time (fires now if that passed) */
      t->due = t->want;
      sift_down(l, 0);
      continue;
    }
    heap_remove(l, t);
    t->due = INT64_MAX;
    t->firing = true;
    l->fire[l->n_fire++] = t;
  }
  for(i = 0; i < l->n_fire; i++) {
    struct evloop_timer *t = l->fire[i];
    if(t->dead || !t->firing)
      continue;
    t->firing = false;
    t->fn(t->ud);
    ran++;
  }
  l->n_fire = 0;
  l->in_turn = false;
  free_dead(l);
  return ran;
}

void evloop_stats(const struct evloop *l, struct evloop_stats *out)
{
  *out = l->st;
}

int64_t evloop_lag_ms(const struct evloop *l, int64_t now)
{
  int64_t cur = l->woke_ms >= 0 ? now - l->woke_ms : 0, recent = 0;
  if(l->st.count && now - l->recent_long_end <= EVLOOP_LAG_WINDOW_MS)
    recent = l->recent_long_ms;
  return cur > recent ? cur : recent;
}
