/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scheduler: per-device poll timing, up/down state and counters (see
 * scheduler.h); the adapter instances run inline, on the event loop, or on
 * their bus's worker thread (adapters/bus.h).
 *
 * Ownership. The main thread owns struct slot (timing, counters, state).
 * Each slot points at a struct devinst, the scheduler's handle on an
 * adapter instance (struct bus_inst: the adapter and a hold on the config
 * its device lives in). In worker mode the instance is touched only by its bus's
 * worker once it was handed over (every change goes through a job on the
 * bus queue: poll, reconfigure, close); in inline mode the same calls run at
 * once on the caller's thread. Results come back tagged with the slot's uid
 * (slots are rebuilt on reload, uids never repeat), so a result of a device
 * removed meanwhile is dropped.
 */
#include "gateway/scheduler.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "adapters/bus.h"
#include "base/evloop.h"
#include "base/rs_util.h"
#include "base/clock.h"
#include "base/log.h"

#define ERR_LEN     BUS_ERR_LEN
#define BUS_KEY_MAX 512

/* ---- instances ------------------------------------------------------------ */

/*
 * The scheduler's handle on one adapter instance (main thread). In worker
 * mode the instance itself (bi) belongs to its bus from its first job on
 * (adapters/bus.h); in inline mode and on the event loop it is run here.
 */
struct devinst {
  struct bus_inst *bi;
  struct scheduler *s;
  size_t hint; /* its slot's index */
  int64_t poll_due, poll_wall, poll_t0;
  size_t n_emit, n_answered;
  /* event-loop polls (adapter_start() on s->loop; main thread only) */
  bool async;
  bool saw_timeout, saw_io;
};

struct slot {
  const char *id; /* dev->id: the config outlives the slot as dev does (no copy: RSS) */
  uint64_t uid;
  const struct cfg_device *dev; /* the current config (main thread) */
  struct devinst *di;
  struct bus *bus; /* NULL inline */
  int64_t next_due;
  size_t hpos; /* its place in the scheduler's due heap */
  int64_t failures; /* consecutive */
  int64_t last_success_ms;
  int64_t rtt_ms;
  uint64_t polls, n_failed, skipped;
  /* failures by enum sched_err_kind since start: NULL until the first one
     (SCHED_ERR_KINDS counters, 128 B, that a device answering at every poll
     never needs: RSS, docs/BENCHMARKS.md "Session 9 (h14dev)") */
  uint64_t *errors;
  size_t reg_idx; /* the slot index its tag carries */
  int reg_fd;     /* inline: the fd registered in the epoll set, or -1 */
  bool ready; /* in the scheduler's ready queue (out of the heap) */
  bool down;
  bool warned; /* "no answer" logged for the current failure streak */
  bool answered;
  bool busy; /* a poll job is outstanding */
  bool fd_dirty;  /* the adapter ran since the last sync: its fd may have changed */
};

/* Count one failure of kind k on sl (its counters allocated on the first). */
static void count_err(struct slot *sl, unsigned k)
{
  if(!sl->errors)
    sl->errors = rs_xcalloc(SCHED_ERR_KINDS, sizeof(*sl->errors));
  sl->errors[k]++;
}

struct scheduler {
  const struct cfg *cfg; /* the current config: new instances hold it (cfg_device_hold) */
  adapter_lookup_fn lookup;
  void *lookup_ctx;
  struct slot *slots;
  size_t n;
  int ep; /* epoll set of the main loop, or -1 (inline mode) */
  uint64_t next_uid;
  /* worker mode */
  bool workers;
  struct bus_pool *pool; /* the buses and their results (worker mode) */
  size_t outstanding;                 /* main thread: poll jobs not yet drained */
  bool inline_io; /* some inline slot has a descriptor or timers of its own (else skip those scans) */
  size_t *heap; /* slot indexes, a binary min-heap on next_due: what is due next is O(1) */
  size_t n_heap;
  /* continuous event-loop devices (poll_interval 0) whose poll ended: polled
     again at the next scheduler_run_due(), in the order they ended; a ring of
     slot indexes (capacity n: a slot is in it at most once), outside the heap */
  size_t *ready;
  size_t ready_head, n_ready;
  size_t *polled; /* slots whose poll succeeded since scheduler_take_polled() */
  size_t n_polled, cap_polled;
  /* the event loop for backends with start() (scheduler_attach_loop) */
  struct evloop *loop;
  adapter_emit_fn lemit;
  void *lctx;
  int64_t now_mono; /* of the last scheduler_run_due() */
  int64_t now_wall; /* its wall time */
  bool restarting;  /* async_done() is starting a continuous device's next poll */
  uint32_t gen;     /* scheduler_set_config() calls: slot numbers move with it */
};

static const char *const kind_names[SCHED_ERR_KINDS] = {
    "timeout",     "io",          "malformed",    "unavailable",  "exception",   "exception_1",
    "exception_2", "exception_3", "exception_4",  "exception_5",  "exception_6", "exception_7",
    "exception_8", "exception_9", "exception_10", "exception_11",
};

const char *scheduler_error_kind_name(unsigned k)
{
  return k < SCHED_ERR_KINDS && kind_names[k] ? kind_names[k] : "unknown";
}

/* ---- slots -------------------------------------------------------------- */

static struct devinst *inst_new(struct scheduler *s, const struct cfg_device *dev, uint64_t uid)
{
  struct devinst *di = rs_xcalloc(1, sizeof(*di));
  di->bi = bus_inst_new(s->cfg, dev, s->lookup ? s->lookup(s->lookup_ctx, dev->transport) : NULL,
                        s->lookup_ctx, uid);
  return di;
}

/* Free di and its instance here (inline mode or the event loop). */
static void inst_free(struct devinst *di)
{
  if(!di)
    return;
  bus_inst_free(di->bi);
  free(di);
}

/* ---- the due heap -------------------------------------------------------- */

static bool due_less(const struct scheduler *s, size_t a, size_t b)
{
  return s->slots[s->heap[a]].next_due < s->slots[s->heap[b]].next_due;
}

static void due_swap(struct scheduler *s, size_t a, size_t b)
{
  size_t t = s->heap[a];
  s->heap[a] = s->heap[b];
  s->heap[b] = t;
  s->slots[s->heap[a]].hpos = a;
  s->slots[s->heap[b]].hpos = b;
}

static void due_down(struct scheduler *s, size_t i)
{
  for(;;) {
    size_t c = 2 * i + 1;
    if(c >= s->n_heap)
      return;
    if(c + 1 < s->n_heap && due_less(s, c + 1, c))
      c++;
    if(!due_less(s, c, i))
      return;
    due_swap(s, i, c);
    i = c;
  }
}

static void due_up(struct scheduler *s, size_t i)
{
  while(i > 0 && due_less(s, i, (i - 1) / 2)) {
    due_swap(s, i, (i - 1) / 2);
    i = (i - 1) / 2;
  }
}

/* sl->next_due changed: restore the heap, O(log n). A parked slot stays out. */
static void due_fix(struct scheduler *s, struct slot *sl)
{
  size_t i = sl->hpos;
  if(i >= s->n_heap || s->heap[i] != (size_t)(sl - s->slots))
    return;
  due_up(s, i);
  due_down(s, sl->hpos);
}

/*
 * Take sl out of the heap (parked): an event-loop poll that overran its
 * interval is not looked at again until it ends (async_done puts it back),
 * instead of being found due and skipped every interval. O(log n).
 */
static void due_park(struct scheduler *s, struct slot *sl)
{
  size_t i = sl->hpos;
  if(i >= s->n_heap || s->heap[i] != (size_t)(sl - s->slots))
    return;
  sl->hpos = SIZE_MAX;
  if(i == --s->n_heap)
    return;
  s->heap[i] = s->heap[s->n_heap];
  s->slots[s->heap[i]].hpos = i;
  due_up(s, i);
  due_down(s, s->slots[s->heap[i]].hpos);
}

/* Whether sl is parked (out of the heap). */
static bool due_parked(const struct scheduler *s, const struct slot *sl)
{
  return sl->hpos >= s->n_heap || s->heap[sl->hpos] != (size_t)(sl - s->slots);
}

/* Put a parked sl back into the heap at its next_due. */
static void due_unpark(struct scheduler *s, struct slot *sl)
{
  if(!due_parked(s, sl) || s->n_heap >= s->n)
    return;
  sl->hpos = s->n_heap;
  s->heap[s->n_heap++] = (size_t)(sl - s->slots);
  due_up(s, sl->hpos);
}

static int64_t next_delay(const struct slot *sl);

/*
 * sl's poll that was due at due_mono ended and sl->next_due is set
 * (due_after(), at once when it overran): back into the heap. The rounds
 * its overrun passed are counted skipped here, but the last of them, which
 * the next poll, due at once, serves: a poll that ends 1.5 intervals after
 * it was due skipped none, one that ends 2.5 intervals after skipped one.
 */
static void due_requeue(struct scheduler *s, struct slot *sl, int64_t due_mono)
{
  int64_t d = next_delay(sl), missed = d > 0 ? (s->now_mono - due_mono) / d : 0;
  if(missed > 1)
    sl->skipped += (uint64_t)(missed - 1);
  if(!due_parked(s, sl)) {
    due_fix(s, sl);
    return;
  }
  if(d <= 0 && sl->next_due <= s->now_mono && s->n_ready < s->n && !sl->ready) {
    /* polled continuously: due again at once; the ready queue, O(1) (no heap) */
    sl->ready = true;
    s->ready[(s->ready_head + s->n_ready++) % s->n] = (size_t)(sl - s->slots);
    return;
  }
  due_unpark(s, sl);
}

/* Whether any slot runs inline with descriptors or timers (CoAP in tests). */
static void inline_io_update(struct scheduler *s)
{
  size_t i;
  s->inline_io = false;
  for(i = 0; i < s->n; i++) {
    const struct slot *sl = &s->slots[i];
    const struct adapter_ops *o = sl->di ? sl->di->bi->ad.ops : NULL;
    if(o && !sl->bus && !sl->di->async && (o->fd || o->next_timeout || o->on_timeout))
      s->inline_io = true;
  }
}

/* Every slot into the heap (after the slots were rebuilt). */
static void due_rebuild(struct scheduler *s)
{
  size_t i;
  FREE_NULL(s->heap);
  FREE_NULL(s->ready);
  s->heap = rs_xcalloc(s->n ? s->n : 1, sizeof(*s->heap));
  s->ready = rs_xcalloc(s->n ? s->n : 1, sizeof(*s->ready));
  s->ready_head = s->n_ready = 0;
  s->n_heap = s->n;
  for(i = 0; i < s->n; i++) {
    s->heap[i] = i;
    s->slots[i].hpos = i;
    s->slots[i].ready = false;
  }
  for(i = s->n / 2; i-- > 0;)
    due_down(s, i);
}

/*
 * Put sl on the event loop when there is one and its backend can run there
 * (an instance opened without the loop is closed, to be reopened on it).
 */
static void slot_make_async(struct scheduler *s, struct slot *sl)
{
  struct devinst *di = sl->di;
  if(!s->loop || !di || di->async || sl->bus || !adapter_has_start(&di->bi->ad))
    return;
  bus_inst_close(di->bi);
  di->async = true;
  di->s = s;
  di->bi->ad.loop = s->loop;
}

/* Each instance's slot index, after the slots were (re)built. */
static void set_hints(struct scheduler *s)
{
  size_t i;
  for(i = 0; i < s->n; i++) {
    if(s->slots[i].di)
      s->slots[i].di->hint = i;
  }
}

/* Route sl to its bus (worker mode): the bus of its key, started on demand. */
static void slot_attach_bus(struct scheduler *s, struct slot *sl)
{
  char key[BUS_KEY_MAX];
  sl->bus = NULL;
  if(!s->workers || !sl->di->bi->ad.ops || sl->di->async)
    return; /* without a backend (or on the event loop) no I/O moves off the main thread */
  (void)adapter_bus_key(sl->dev, key, sizeof(key));
  sl->bus = bus_pool_get(s->pool, key);
}

/* Set up slot for dev, due at now_mono; the adapter is opened lazily. */
static void slot_init(struct scheduler *s, struct slot *sl, const struct cfg_device *dev,
                      int64_t now_mono)
{
  memset(sl, 0, sizeof(*sl));
  sl->id = dev->id;
  sl->uid = ++s->next_uid;
  sl->dev = dev;
  sl->di = inst_new(s, dev, sl->uid);
  sl->next_due = now_mono;
  sl->rtt_ms = -1;
  sl->reg_fd = -1;
  slot_make_async(s, sl);
  slot_attach_bus(s, sl);
}

/* Give up the slot's instance: closed on its bus thread, or here inline. */
static void slot_release(struct scheduler *s, struct slot *sl)
{
  if(sl->reg_fd >= 0 && s->ep >= 0)
    (void)epoll_ctl(s->ep, EPOLL_CTL_DEL, sl->reg_fd, NULL);
  sl->reg_fd = -1;
  if(!sl->di)
    return;
  if(sl->bus) {
    bus_submit_close(sl->bus, sl->di->bi); /* closed and freed on its bus thread */
    free(sl->di);
  }
  else
    inst_free(sl->di);
  sl->di = NULL;
  sl->bus = NULL;
}

static void slot_free(struct scheduler *s, struct slot *sl)
{
  slot_release(s, sl);
  FREE_NULL(sl->errors);
}

struct scheduler *scheduler_new(const struct cfg *cfg, adapter_lookup_fn lookup, void *lookup_ctx,
                                int64_t now_mono)
{
  struct scheduler *s = calloc(1, sizeof(*s));
  size_t i;
  if(!s)
    return NULL;
  s->cfg = cfg;
  s->lookup = lookup;
  s->lookup_ctx = lookup_ctx;
  s->ep = -1;
  s->n = cfg->n_devices;
  s->slots = rs_xcalloc(s->n ? s->n : 1, sizeof(*s->slots));
  for(i = 0; i < s->n; i++)
    slot_init(s, &s->slots[i], &cfg->devices[i], now_mono);
  set_hints(s);
  due_rebuild(s);
  inline_io_update(s);
  return s;
}

void scheduler_free(struct scheduler *s)
{
  size_t i;
  if(!s)
    return;
  for(i = 0; i < s->n; i++)
    slot_free(s, &s->slots[i]);
  FREE_NULL(s->slots);
  FREE_NULL(s->polled);
  FREE_NULL(s->heap);
  FREE_NULL(s->ready);
  bus_pool_free(s->pool); /* after the slots: their close jobs run before the workers stop */
  free(s);
}

int scheduler_start_workers(struct scheduler *s, double time_scale)
{
  size_t i;
  if(s->workers)
    return 0;
  s->pool = bus_pool_new(time_scale);
  if(!s->pool) {
    log_err("cannot make the scheduler's eventfd: %s; polling on the main thread", strerror(errno));
    return -1;
  }
  s->workers = true;
  for(i = 0; i < s->n; i++) {
    struct slot *sl = &s->slots[i];
    if(sl->di && sl->di->async)
      continue; /* it stays on the event loop */
    /* an instance opened inline is closed here and reopened on its bus */
    if(sl->reg_fd >= 0 && s->ep >= 0)
      (void)epoll_ctl(s->ep, EPOLL_CTL_DEL, sl->reg_fd, NULL);
    sl->reg_fd = -1;
    bus_inst_close(sl->di->bi);
    slot_attach_bus(s, sl);
  }
  inline_io_update(s);
  return 0;
}

int scheduler_event_fd(const struct scheduler *s)
{
  return s->workers ? bus_pool_fd(s->pool) : -1;
}

size_t scheduler_outstanding(const struct scheduler *s)
{
  return s->outstanding;
}

void scheduler_set_config(struct scheduler *s, const struct cfg *cfg, int64_t now_mono)
{
  size_t n = cfg->n_devices, i, j;
  struct slot *ns = rs_xcalloc(n ? n : 1, sizeof(*ns));

  s->cfg = cfg;
  for(i = 0; i < n; i++) {
    const struct cfg_device *dev = &cfg->devices[i];
    struct slot *old = NULL;
    char k1[BUS_KEY_MAX], k2[BUS_KEY_MAX];
    for(j = 0; j < s->n; j++) {
      if(s->slots[j].id && !strcmp(s->slots[j].id, dev->id)) {
        old = &s->slots[j];
        break;
      }
    }
    if(old) {
      (void)adapter_bus_key(old->dev, k1, sizeof(k1));
      (void)adapter_bus_key(dev, k2, sizeof(k2));
    }
    if(!old || old->dev->transport != dev->transport || strcmp(k1, k2)) {
      slot_init(s, &ns[i], dev, now_mono);
      continue;
    }
    /* keep counters and state; the old config is still alive here */
    ns[i] = *old;
    memset(old, 0, sizeof(*old)); /* moved: the old slot owns nothing now */
    old->reg_fd = -1;
    ns[i].dev = dev;
    ns[i].id = dev->id;
    ns[i].fd_dirty = true;
    if(ns[i].bus) {
      bus_submit_reconf(ns[i].bus, ns[i].di->bi, cfg_device_hold_new(cfg, dev));
    }
    else {
      if(ns[i].busy && ns[i].di->async) {
        /* a poll in flight reads the old plan: drop it (a removed device's is dropped too) */
        adapter_cancel(&ns[i].di->bi->ad);
        ns[i].busy = false;
      }
      if(ns[i].reg_fd >= 0 && s->ep >= 0 && ns[i].di->bi->opened)
        (void)epoll_ctl(s->ep, EPOLL_CTL_DEL, ns[i].reg_fd, NULL);
      bus_inst_reconf(ns[i].di->bi, cfg_device_hold_new(cfg, dev));
      if(!ns[i].di->bi->opened)
        ns[i].reg_fd = -1;
      else if(ns[i].reg_fd >= 0 && s->ep >= 0) {
        struct epoll_event ev;
        memset(&ev, 0, sizeof(ev));
        ev.events = EPOLLIN;
        ev.data.u64 = SCHEDULER_EPOLL_TAG | (uint64_t)ns[i].reg_idx;
        if(epoll_ctl(s->ep, EPOLL_CTL_ADD, ns[i].reg_fd, &ev))
          ns[i].reg_fd = -1;
      }
    }
    if(ns[i].next_due > now_mono + dev->poll_interval_ms)
      ns[i].next_due = now_mono + dev->poll_interval_ms;
  }
  for(j = 0; j < s->n; j++)
    slot_free(s, &s->slots[j]); /* removed devices (moved ones own nothing) */
  FREE_NULL(s->slots);
  s->slots = ns;
  s->n = n;
  s->n_polled = 0; /* slot numbers moved */
  s->gen++;
  set_hints(s);
  due_rebuild(s);
  inline_io_update(s);
}

/* ---- results on the main thread ----------------------------------------- */

/* The slot's index + 1: reading.device_ref. */
static uint32_t slot_ref(const struct scheduler *s, const struct slot *sl)
{
  return (uint32_t)(sl - s->slots) + 1;
}

/* Counts error kinds of the readings of one poll on their way to emit. */
struct count_wrap {
  struct slot *sl;
  adapter_emit_fn emit;
  void *ctx;
  size_t n;
  bool saw_timeout, saw_io;
  size_t n_answered; /* readings with a value or a device's own error (exception) */
  uint32_t ref;       /* the slot's index + 1, as reading.device_ref */
  struct scheduler *s;
};

static void count_emit(void *ctx, const struct reading *r)
{
  struct count_wrap *w = ctx;
  w->n++;
  if(r->error == READING_OK || r->error == READING_ERR_EXCEPTION)
    w->n_answered++;
  switch(r->error) {
  case READING_OK:
    break;
  case READING_ERR_NO_ANSWER:
    w->saw_timeout = true;
    break;
  case READING_ERR_IO:
    w->saw_io = true;
    break;
  case READING_ERR_MALFORMED:
    count_err(w->sl, SCHED_ERR_MALFORMED);
    break;
  case READING_ERR_EXCEPTION:
    if(r->code >= 1 && r->code <= SCHED_ERR_KINDS - 1 - SCHED_ERR_EXCEPTION)
      count_err(w->sl, SCHED_ERR_EXCEPTION + (unsigned)r->code);
    else
      count_err(w->sl, SCHED_ERR_EXCEPTION);
    break;
  }
  {
    struct reading rr = *r;
    rr.device_ref = w->ref;
    if(!w->sl->bus && r->point_ref && r->point_ref <= w->sl->dev->n_points) {
      /* on this thread the adapter's config copy is always the slot's config
         (a reload replaces both at once): the same ids as the slot's own
         strings, which the reading path then matches by pointer */
      rr.device = w->sl->dev->id;
      rr.point = w->sl->dev->points[r->point_ref - 1].id;
    }
    w->emit(w->ctx, &rr);
  }
}

/* Emit a failed reading for every point of the slot's device. */
static void emit_failures(struct slot *sl, int64_t now_wall, const char *why,
                          const struct count_wrap *w)
{
  size_t i;
  for(i = 0; i < sl->dev->n_points; i++) {
    struct reading r;
    memset(&r, 0, sizeof(r));
    r.device = sl->dev->id;
    r.point = sl->dev->points[i].id;
    r.point_ref = (uint32_t)(i + 1);
    r.device_ref = w->ref;
    r.wall_ms = now_wall;
    r.is_bool = sl->dev->points[i].type == CFG_VT_BOOL;
    r.error = READING_ERR_NO_ANSWER;
    r.detail = why;
    w->emit(w->ctx, &r);
  }
}

/*
 * The delay before the next poll of a device that has failed sl->failures
 * times: its poll interval (0: poll continuously), doubled per failure past
 * down_after while it is down, from its timeout when the interval is 0.
 */
static int64_t next_delay(const struct slot *sl)
{
  const struct cfg_device *d = sl->dev;
  int64_t delay = d->poll_interval_ms, cap = d->max_backoff_ms;
  int64_t k;
  if(!sl->down)
    return delay;
  if(delay <= 0)
    delay = d->timeout_ms > 0 ? d->timeout_ms : 1;
  if(cap < delay)
    cap = delay;
  for(k = d->down_after; k < sl->failures && delay < cap; k++)
    delay *= 2;
  return delay < cap ? delay : cap;
}

/*
 * The round a poll starting at now takes, for sl due at planned (its
 * next_due): planned itself when the poll is on time or less than an
 * interval late; later, the last round of the device's grid (planned + k
 * intervals) not after now, the k rounds passed meanwhile counted in
 * skipped. The next poll is due an interval after the round, so polls keep
 * to their grid instead of drifting later by the loop's lateness, and a
 * loop that fell several intervals behind polls once, not once per round
 * it missed. A device polled continuously has no grid: now.
 */
static int64_t poll_round(struct slot *sl, int64_t planned, int64_t now)
{
  int64_t d = next_delay(sl), k;
  if(d <= 0 || planned >= now)
    return now;
  k = (now - planned) / d;
  sl->skipped += (uint64_t)k;
  return planned + k * d;
}

/*
 * The due time of the poll after one that took round and ended at now: an
 * interval (as the device's state now has it) after round. When that has
 * passed already, the last round of the grid not after now (due at once,
 * once: a poll that overran its interval, or a device answering again
 * after a backoff whose interval shrank); inline (at_once false: the poll
 * took no time on the scheduler's clock) the first round after now.
 */
static int64_t due_after(const struct slot *sl, int64_t round, int64_t now, bool at_once)
{
  int64_t d = next_delay(sl), t = round + d;
  if(d <= 0 || t > now)
    return t;
  t += (now - t) / d * d;
  return at_once ? t : t + d;
}

/*
 * A poll of sl finished with rc (err: its sentence) after the adapter
 * emitted w->n readings: count, log, update state; failed polls without
 * readings emit one failure per point. A poll the adapter calls answered
 * whose readings carry neither a value nor an exception (only malformed
 * replies: a device, or something else on its port, answering garbage)
 * counts as failed, toward down_after, whatever the transport.
 */
static void finish_poll(struct slot *sl, enum rs_err rc, const char *err, int64_t rtt_ms,
                        int64_t wall, struct count_wrap *w)
{
  const char *why = err && err[0] ? err : rs_strerror(rc);
  bool counted = false; /* the readings' errors are counted already */
  if(!rc && w->n && !w->n_answered) {
    rc = RS_ERR_PROTOCOL;
    why = "no well-formed answer (only malformed replies)";
    counted = true;
  }
  if(rc && !counted) {
    if(!w->n)
      emit_failures(sl, wall, why, w);
    if(rc == RS_ERR_TIMEOUT)
      count_err(sl, SCHED_ERR_TIMEOUT);
    else if(rc == RS_ERR_IO)
      count_err(sl, SCHED_ERR_IO);
    else if(rc == RS_ERR_PROTOCOL)
      count_err(sl, SCHED_ERR_MALFORMED);
    else
      count_err(sl, SCHED_ERR_UNAVAILABLE);
  }
  else {
    if(w->saw_timeout)
      count_err(sl, SCHED_ERR_TIMEOUT);
    if(w->saw_io)
      count_err(sl, SCHED_ERR_IO);
  }

  if(!rc) {
    if(sl->warned || sl->down)
      log_notice("device %s: answering again", sl->id);
    sl->failures = 0;
    sl->down = false;
    sl->warned = false;
    sl->answered = true;
    sl->last_success_ms = wall;
    sl->rtt_ms = rtt_ms;
    if(w->s && w->ref) {
      struct scheduler *s = w->s;
      if(s->n_polled == s->cap_polled) {
        s->cap_polled = s->cap_polled ? 2 * s->cap_polled : 64;
        s->polled = rs_xrealloc(s->polled, s->cap_polled * sizeof(*s->polled));
      }
      s->polled[s->n_polled++] = w->ref - 1;
    }
  }
  else {
    sl->failures++;
    sl->n_failed++;
    if(!sl->warned) {
      log_warn("device %s: no answer (%s)", sl->id, why);
      sl->warned = true;
    }
    if(!sl->down && sl->failures >= sl->dev->down_after) {
      sl->down = true;
      log_warn("device %s: down after %" PRId64 " failed polls", sl->id, sl->failures);
    }
  }
}

/* Poll one slot now on this thread; updates its counters, state and next due time. */
static void poll_inline(struct scheduler *s, struct slot *sl, int64_t now_mono, int64_t now_wall,
                        adapter_emit_fn emit, void *ctx)
{
  char err[ERR_LEN];
  struct count_wrap w = {sl, emit, ctx, 0, false, false, 0, slot_ref(s, sl), s};
  int64_t t0 = clock_real_mono_ms(), round = poll_round(sl, sl->next_due, now_mono);
  enum rs_err rc;

  sl->polls++;
  sl->fd_dirty = true;
  rc = bus_inst_poll(sl->di->bi, now_wall, count_emit, &w, err, sizeof(err));
  finish_poll(sl, rc, err, clock_real_mono_ms() - t0, now_wall, &w);
  sl->next_due = due_after(sl, round, now_mono, false);
}

/* ---- event-loop polls ----------------------------------------------------- */

/* The slot of an event-loop instance, or NULL when it is gone. */
static struct slot *slot_of(struct scheduler *s, const struct devinst *di)
{
  if(di->hint < s->n && s->slots[di->hint].di == di)
    return &s->slots[di->hint];
  return NULL;
}

static void async_emit(void *ctx, const struct reading *r)
{
  struct devinst *di = ctx;
  struct scheduler *s = di->s;
  struct slot *sl = slot_of(s, di);
  struct count_wrap w;
  if(!sl)
    return;
  if(r->error == READING_OK && r->point_ref && r->point_ref <= sl->dev->n_points) {
    /* a value (nearly every reading): what count_emit() does for it, inline */
    struct reading rr = *r;
    rr.device_ref = slot_ref(s, sl);
    rr.device = sl->dev->id;
    rr.point = sl->dev->points[r->point_ref - 1].id;
    s->lemit(s->lctx, &rr);
    di->n_emit++;
    di->n_answered++;
    return;
  }
  w = (struct count_wrap){sl, s->lemit, s->lctx, 0, false, false, 0, slot_ref(s, sl), s};
  count_emit(&w, r);
  di->n_emit++;
  di->n_answered += w.n_answered;
  di->saw_timeout |= w.saw_timeout;
  di->saw_io |= w.saw_io;
}

static void poll_async(struct scheduler *s, struct slot *sl, int64_t now_mono, int64_t now_wall);

static void async_done(void *ctx, enum rs_err rc, const char *err)
{
  struct devinst *di = ctx;
  struct scheduler *s = di->s;
  struct slot *sl = slot_of(s, di);
  struct count_wrap w;
  if(!sl || !sl->busy)
    return;
  sl->busy = false;
  w = (struct count_wrap){sl,         s->lemit,         s->lctx,        di->n_emit,
                          di->saw_timeout, di->saw_io, di->n_answered, slot_ref(s, sl), s};
  finish_poll(sl, rc, err, clock_real_mono_ms() - di->poll_t0, di->poll_wall, &w);
  /* a state change (down, up) moves the next poll relative to when this one was due */
  sl->next_due = due_after(sl, di->poll_due, s->now_mono, true);
  if(next_delay(sl) <= 0 && sl->next_due <= s->now_mono && !s->restarting && due_parked(s, sl)) {
    /* polled continuously: the next poll goes out now, as its reply is in,
       not after every other reply of this loop turn (with few devices the
       device would idle meanwhile); on the last scheduler_run_due()'s clock */
    s->restarting = true;
    poll_async(s, sl, s->now_mono, s->now_wall);
    s->restarting = false;
    if(sl->busy)
      return; /* in flight, out of the heap, as after scheduler_run_due() */
    if(sl->next_due <= s->now_mono)
      sl->next_due = s->now_mono + 1;
    due_unpark(s, sl);
    return;
  }
  due_requeue(s, sl, di->poll_due);
}

/*
 * Start a poll of sl on the event loop; its readings and its end arrive
 * through async_emit/async_done. A device that cannot be opened fails here.
 */
static void poll_async(struct scheduler *s, struct slot *sl, int64_t now_mono, int64_t now_wall)
{
  struct devinst *di = sl->di;
  int64_t round = poll_round(sl, sl->next_due, now_mono);
  sl->polls++;
  sl->next_due = round + next_delay(sl);
  if(!di->bi->opened) {
    char err[ERR_LEN];
    enum rs_err rc = adapter_open(&di->bi->ad, err, sizeof(err));
    if(rc) {
      struct count_wrap w = {sl, s->lemit, s->lctx, 0, false, false, 0, slot_ref(s, sl), s};
      finish_poll(sl, rc, err, 0, now_wall, &w);
      sl->next_due = due_after(sl, round, now_mono, false);
      return;
    }
    di->bi->opened = true;
  }
  sl->busy = true;
  di->poll_due = round;
  di->poll_wall = now_wall;
  di->poll_t0 = clock_real_mono_ms();
  di->n_emit = di->n_answered = 0;
  di->saw_timeout = di->saw_io = false;
  adapter_start(&di->bi->ad, now_wall, async_emit, async_done, di);
}

void scheduler_attach_loop(struct scheduler *s, struct evloop *loop, adapter_emit_fn emit,
                           void *ctx)
{
  size_t i;
  s->loop = loop;
  s->lemit = emit;
  s->lctx = ctx;
  for(i = 0; i < s->n; i++)
    slot_make_async(s, &s->slots[i]);
  inline_io_update(s);
}

static size_t run_slot(struct scheduler *s, struct slot *sl, size_t i, int64_t now_mono,
                       int64_t now_wall, adapter_emit_fn emit, void *ctx);

size_t scheduler_run_due(struct scheduler *s, int64_t now_mono, int64_t now_wall,
                         adapter_emit_fn emit, void *ctx)
{
  size_t i, k, polled = 0;
  s->now_mono = now_mono;
  s->now_wall = now_wall;
  /* the continuous devices whose poll ended, in that order (those that end
     meanwhile wait for the next call) */
  for(k = s->n_ready; k > 0 && s->n_ready; k--) {
    struct slot *sl;
    i = s->ready[s->ready_head];
    s->ready_head = (s->ready_head + 1) % s->n;
    s->n_ready--;
    sl = &s->slots[i];
    sl->ready = false;
    polled += run_slot(s, sl, i, now_mono, now_wall, emit, ctx);
    if(sl->busy && sl->di && sl->di->async && next_delay(sl) <= 0)
      continue; /* in flight, out of the heap: due again when it ends (async_done) */
    if(sl->next_due <= now_mono)
      sl->next_due = now_mono + 1;
    due_unpark(s, sl);
  }
  /* only what is due, earliest first: O(log n) per poll, not O(devices) per call */
  while(s->n_heap && s->slots[s->heap[0]].next_due <= now_mono) {
    struct slot *sl = &s->slots[s->heap[0]];
    i = s->heap[0];
    polled += run_slot(s, sl, i, now_mono, now_wall, emit, ctx);
    if(sl->busy && sl->di && sl->di->async && next_delay(sl) <= 0) {
      /* polled continuously and now in flight: out of the heap until it ends */
      due_park(s, sl);
      continue;
    }
    if(sl->next_due <= now_mono)
      sl->next_due = now_mono + 1; /* never loop on one slot */
    due_fix(s, sl);
  }
  return polled;
}

/* Poll (or skip) the due slot sl (index i). Returns 1 when a poll started. */
static size_t run_slot(struct scheduler *s, struct slot *sl, size_t i, int64_t now_mono,
                       int64_t now_wall, adapter_emit_fn emit, void *ctx)
{
  if(sl->busy && sl->di && sl->di->async) {
    /* the last poll is still in flight: parked until it ends, which counts
       the rounds it passed (due_requeue()) */
    sl->next_due = now_mono + next_delay(sl);
    due_park(s, sl);
    return 0;
  }
  if(!sl->bus) {
    if(sl->di && sl->di->async)
      poll_async(s, sl, now_mono, now_wall);
    else
      poll_inline(s, sl, now_mono, now_wall, emit, ctx);
    return 1;
  }
  if(sl->busy) {
    /* the last poll still runs: no pile-up; parked until its result is drained
       (due_requeue() counts the rounds it passed) */
    sl->next_due = now_mono + next_delay(sl);
    due_park(s, sl);
    return 0;
  }
  {
    int64_t round = poll_round(sl, sl->next_due, now_mono);
    sl->busy = true;
    sl->polls++;
    s->outstanding++;
    sl->next_due = round + next_delay(sl);
    bus_submit_poll(sl->bus, sl->di->bi, round, now_wall, i);
  }
  return 1;
}

/* The slot a result belongs to, or NULL when that device is gone. */
static struct slot *slot_by_uid(struct scheduler *s, uint64_t uid, size_t hint)
{
  size_t i;
  if(hint < s->n && s->slots[hint].uid == uid && s->slots[hint].di)
    return &s->slots[hint];
  for(i = 0; i < s->n; i++) {
    if(s->slots[i].uid == uid && s->slots[i].di)
      return &s->slots[i];
  }
  return NULL;
}

size_t scheduler_drain(struct scheduler *s, adapter_emit_fn emit, void *ctx)
{
  struct bus_result *res;
  size_t done = 0;
  if(!s->workers)
    return 0;
  res = bus_pool_take(s->pool);
  while(res) {
    struct bus_result *nx = res->next;
    struct slot *sl = slot_by_uid(s, res->uid, res->hint);
    if(res->poll_done) {
      if(s->outstanding)
        s->outstanding--;
      done++;
    }
    if(sl) {
      struct count_wrap w = {sl, emit, ctx, 0, false, false, 0, slot_ref(s, sl), s};
      size_t i;
      for(i = 0; i < res->n; i++) {
        struct reading r;
        bus_result_reading(res, i, &r);
        r.device = sl->id;
        count_emit(&w, &r);
      }
      if(res->poll_done) {
        sl->busy = false;
        finish_poll(sl, res->rc, res->err, res->rtt_ms, res->wall_ms, &w);
        /* a state change (down, up) moves the next poll relative to when this one was due */
        sl->next_due = due_after(sl, res->due_mono, s->now_mono, true);
        due_requeue(s, sl, res->due_mono);
      }
    }
    bus_result_free(res);
    res = nx;
  }
  return done;
}

int64_t scheduler_next_due(const struct scheduler *s)
{
  if(s->n_ready)
    return s->now_mono; /* continuous devices are waiting for their next poll */
  return s->n_heap ? s->slots[s->heap[0]].next_due : INT64_MAX;
}

/* ---- inline mode: adapter descriptors in the caller's epoll set --------- */

void scheduler_attach_epoll(struct scheduler *s, int ep)
{
  s->ep = ep;
}

/*
 * Register (or re-tag) the fd of every slot whose adapter ran since the last
 * sync. An adapter that replaced its descriptor has closed the old one, which
 * took it out of the epoll set, so only the current one needs adding.
 */
int scheduler_sync_epoll(struct scheduler *s)
{
  size_t i;
  int rc = 0;
  if(s->ep < 0 || !s->inline_io)
    return 0;
  for(i = 0; i < s->n; i++) {
    struct slot *sl = &s->slots[i];
    struct epoll_event ev;
    int fd;
    if(sl->bus || (!sl->fd_dirty && sl->reg_idx == i))
      continue;
    sl->fd_dirty = false;
    fd = sl->di && sl->di->bi->opened ? adapter_fd(&sl->di->bi->ad) : -1;
    if(fd < 0) {
      sl->reg_fd = -1;
      continue;
    }
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.u64 = SCHEDULER_EPOLL_TAG | (uint64_t)i;
    if(epoll_ctl(s->ep, EPOLL_CTL_MOD, fd, &ev) &&
       (errno != ENOENT || epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev))) {
      log_err("device %s: cannot watch its descriptor: %s", sl->id, strerror(errno));
      sl->reg_fd = -1;
      rc = -1;
      continue;
    }
    sl->reg_fd = fd;
    sl->reg_idx = i;
  }
  return rc;
}

void scheduler_on_event(struct scheduler *s, uint64_t tag, int64_t now_wall, adapter_emit_fn emit,
                        void *ctx)
{
  size_t i = (size_t)(tag & ~SCHEDULER_EPOLL_TAG);
  struct slot *sl;
  if(!(tag & SCHEDULER_EPOLL_TAG) || i >= s->n)
    return;
  sl = &s->slots[i];
  if(sl->bus || !sl->di || !sl->di->bi->opened || sl->reg_fd < 0)
    return;
  sl->fd_dirty = true;
  {
    struct count_wrap w = {sl, emit, ctx, 0, false, false, 0, slot_ref(s, sl), s};
    (void)adapter_on_readable(&sl->di->bi->ad, now_wall, count_emit, &w);
  }
}

int64_t scheduler_next_io_timeout(const struct scheduler *s)
{
  int64_t t = INT64_MAX;
  size_t i;
  if(!s->inline_io)
    return INT64_MAX;
  for(i = 0; i < s->n; i++) {
    const struct slot *sl = &s->slots[i];
    if(!sl->bus && sl->di && sl->di->bi->opened) {
      int64_t a = adapter_next_timeout(&sl->di->bi->ad);
      if(a < t)
        t = a;
    }
  }
  return t;
}

void scheduler_run_io_timeouts(struct scheduler *s, int64_t real_now, int64_t now_wall,
                               adapter_emit_fn emit, void *ctx)
{
  size_t i;
  if(!s->inline_io)
    return;
  for(i = 0; i < s->n; i++) {
    struct slot *sl = &s->slots[i];
    if(!sl->bus && sl->di && sl->di->bi->opened && adapter_next_timeout(&sl->di->bi->ad) <= real_now) {
      sl->fd_dirty = true;
      adapter_on_timeout(&sl->di->bi->ad, now_wall, emit, ctx);
    }
  }
}

/* ---- status ------------------------------------------------------------- */

void scheduler_take_polled(struct scheduler *s, void (*fn)(void *ud, size_t i), void *ud)
{
  size_t i;
  for(i = 0; i < s->n_polled; i++) {
    if(s->polled[i] < s->n)
      fn(ud, s->polled[i]);
  }
  s->n_polled = 0;
}

size_t scheduler_n_devices(const struct scheduler *s)
{
  return s->n;
}

void scheduler_poll_sample(const struct scheduler *s, size_t i, struct sched_poll_sample *out)
{
  const struct slot *sl = &s->slots[i];
  out->id = sl->id;
  out->gen = s->gen;
  out->rtt_ms = sl->rtt_ms;
  out->polls = sl->polls;
  out->failures = sl->n_failed;
}

void scheduler_device_status(const struct scheduler *s, size_t i, struct sched_device_status *out)
{
  const struct slot *sl = &s->slots[i];
  memset(out, 0, sizeof(*out));
  out->id = sl->id;
  out->adapter = sl->di && sl->di->bi->ad.ops ? adapter_name(&sl->di->bi->ad) : NULL;
  /* A device that has not answered once since start is not shown up on the
   * strength of never having been tried down_after times. */
  out->up = !sl->down && (sl->answered || sl->failures == 0);
  out->answered = sl->answered;
  out->consecutive_failures = sl->failures;
  out->last_success_ms = sl->last_success_ms;
  out->rtt_ms = sl->rtt_ms;
  out->polls = sl->polls;
  out->failures = sl->n_failed;
  out->next_due_ms = sl->next_due;
  if(sl->errors)
    memcpy(out->errors, sl->errors, sizeof(out->errors));
  else
    memset(out->errors, 0, sizeof(out->errors));
  out->skipped = sl->skipped;
  out->busy = sl->busy;
}
