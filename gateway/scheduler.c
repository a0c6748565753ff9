/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scheduler: per-device poll timing, adapter instances and up/down state
 * (see scheduler.h).
 */
#include "gateway/scheduler.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "config/rs_util.h"
#include "gateway/clock.h"
#include "gateway/log.h"

struct slot {
  char *id;
  const struct cfg_device *dev;
  struct adapter ad; /* ad.ops NULL: no backend for this transport */
  bool opened;
  int64_t next_due;
  int64_t failures; /* consecutive */
  bool down;
  bool warned; /* "no answer" logged for the current failure streak */
  bool answered;
  int64_t last_success_ms;
  int64_t rtt_ms;
  uint64_t polls, n_failed;
  int reg_fd;     /* the fd registered in the epoll set, or -1 */
  size_t reg_idx; /* the slot index its tag carries */
  bool fd_dirty;  /* the adapter ran since the last sync: its fd may have changed */
};

struct scheduler {
  adapter_lookup_fn lookup;
  void *lookup_ctx;
  struct slot *slots;
  size_t n;
  int ep; /* epoll set of the main loop, or -1 */
};

/* Set up slot for dev, due at now_mono; the adapter is opened lazily. */
static void slot_init(struct scheduler *s, struct slot *sl, const struct cfg_device *dev,
                      int64_t now_mono)
{
  memset(sl, 0, sizeof(*sl));
  sl->id = rs_xstrdup(dev->id);
  sl->dev = dev;
  sl->ad.ops = s->lookup ? s->lookup(s->lookup_ctx, dev->transport) : NULL;
  sl->ad.dev = dev;
  sl->ad.env = s->lookup_ctx;
  sl->next_due = now_mono;
  sl->rtt_ms = -1;
  sl->reg_fd = -1;
}

/* Unregister the slot's fd (before the adapter closes it) and close the adapter. */
static void slot_close(struct scheduler *s, struct slot *sl)
{
  if(sl->reg_fd >= 0 && s->ep >= 0)
    (void)epoll_ctl(s->ep, EPOLL_CTL_DEL, sl->reg_fd, NULL);
  sl->reg_fd = -1;
  if(sl->opened)
    adapter_close(&sl->ad);
  sl->opened = false;
}

static void slot_free(struct scheduler *s, struct slot *sl)
{
  slot_close(s, sl);
  FREE_NULL(sl->id);
}

struct scheduler *scheduler_new(const struct cfg *cfg, adapter_lookup_fn lookup, void *lookup_ctx,
                                int64_t now_mono)
{
  struct scheduler *s = calloc(1, sizeof(*s));
  size_t i;
  if(!s)
    return NULL;
  s->lookup = lookup;
  s->lookup_ctx = lookup_ctx;
  s->ep = -1;
  s->n = cfg->n_devices;
  s->slots = rs_xcalloc(s->n ? s->n : 1, sizeof(*s->slots));
  for(i = 0; i < s->n; i++)
    slot_init(s, &s->slots[i], &cfg->devices[i], now_mono);
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
  free(s);
}

void scheduler_set_config(struct scheduler *s, const struct cfg *cfg, int64_t now_mono)
{
  size_t n = cfg->n_devices, i, j;
  struct slot *ns = rs_xcalloc(n ? n : 1, sizeof(*ns));

  for(i = 0; i < n; i++) {
    const struct cfg_device *dev = &cfg->devices[i];
    struct slot *old = NULL;
    for(j = 0; j < s->n; j++) {
      if(s->slots[j].id && !strcmp(s->slots[j].id, dev->id)) {
        old = &s->slots[j];
        break;
      }
    }
    if(!old || old->dev->transport != dev->transport) {
      slot_init(s, &ns[i], dev, now_mono);
      continue;
    }
    /* keep counters and state; the old config is still alive here */
    ns[i] = *old;
    memset(old, 0, sizeof(*old)); /* moved: the old slot owns nothing now */
    old->reg_fd = -1;
    ns[i].dev = dev;
    ns[i].ad.dev = dev;
    ns[i].fd_dirty = true;
    if(ns[i].opened && adapter_reconfigure(&ns[i].ad))
      slot_close(s, &ns[i]); /* reopened at the next poll */
    if(ns[i].next_due > now_mono + dev->poll_interval_ms)
      ns[i].next_due = now_mono + dev->poll_interval_ms;
  }
  for(j = 0; j < s->n; j++)
    slot_free(s, &s->slots[j]); /* removed devices (moved ones own nothing) */
  FREE_NULL(s->slots);
  s->slots = ns;
  s->n = n;
}

struct emit_wrap {
  adapter_emit_fn emit;
  void *ctx;
  size_t n;
};

static void count_emit(void *ctx, const struct reading *r)
{
  struct emit_wrap *w = ctx;
  w->n++;
  w->emit(w->ctx, r);
}

/* Emit a failed reading for every point of the slot's device. */
static void emit_failures(struct slot *sl, int64_t now_wall, const char *why, adapter_emit_fn emit,
                          void *ctx)
{
  size_t i;
  for(i = 0; i < sl->dev->n_points; i++) {
    struct reading r;
    memset(&r, 0, sizeof(r));
    r.device = sl->dev->id;
    r.point = sl->dev->points[i].id;
    r.wall_ms = now_wall;
    r.is_bool = sl->dev->points[i].type == CFG_VT_BOOL;
    r.error = READING_ERR_NO_ANSWER;
    r.detail = why;
    emit(ctx, &r);
  }
}

/* The delay before the next poll of a device that has failed sl->failures times. */
static int64_t next_delay(const struct slot *sl)
{
  const struct cfg_device *d = sl->dev;
  int64_t delay = d->poll_interval_ms, cap = d->max_backoff_ms;
  int64_t k;
  if(!sl->down)
    return delay;
  if(cap < delay)
    cap = delay;
  for(k = d->down_after; k < sl->failures && delay < cap; k++)
    delay *= 2;
  return delay < cap ? delay : cap;
}

/* Poll one slot now; updates its counters, state and next due time. */
static void poll_slot(struct slot *sl, int64_t now_mono, int64_t now_wall, adapter_emit_fn emit,
                      void *ctx)
{
  char err[256] = "";
  enum rs_err rc;
  int64_t t0 = clock_real_mono_ms();

  sl->polls++;
  sl->fd_dirty = true;
  if(!sl->ad.ops) {
    (void)rs_snprintf(err, sizeof(err), "no %s adapter in this build",
                      cfg_transport_name(sl->dev->transport));
    rc = RS_ERR_NOT_FOUND;
  }
  else if(!sl->opened) {
    rc = adapter_open(&sl->ad, err, sizeof(err));
    if(!rc)
      sl->opened = true;
  }
  else
    rc = RS_OK;
  if(!rc) {
    struct emit_wrap w = {emit, ctx, 0};
    rc = adapter_poll(&sl->ad, now_wall, count_emit, &w, err, sizeof(err));
    if(rc && !w.n)
      emit_failures(sl, now_wall, err[0] ? err : rs_strerror(rc), emit, ctx);
  }
  else
    emit_failures(sl, now_wall, err[0] ? err : rs_strerror(rc), emit, ctx);

  if(!rc) {
    if(sl->warned || sl->down)
      log_notice("device %s: answering again", sl->id);
    sl->failures = 0;
    sl->down = false;
    sl->warned = false;
    sl->answered = true;
    sl->last_success_ms = now_wall;
    sl->rtt_ms = clock_real_mono_ms() - t0;
  }
  else {
    sl->failures++;
    sl->n_failed++;
    if(!sl->warned) {
      log_warn("device %s: no answer (%s)", sl->id, err[0] ? err : rs_strerror(rc));
      sl->warned = true;
    }
    if(!sl->down && sl->failures >= sl->dev->down_after) {
      sl->down = true;
      log_warn("device %s: down after %" PRId64 " failed polls", sl->id, sl->failures);
    }
  }
  sl->next_due = now_mono + next_delay(sl);
}

size_t scheduler_run_due(struct scheduler *s, int64_t now_mono, int64_t now_wall,
                         adapter_emit_fn emit, void *ctx)
{
  size_t i, polled = 0;
  for(i = 0; i < s->n; i++) {
    if(s->slots[i].next_due <= now_mono) {
      poll_slot(&s->slots[i], now_mono, now_wall, emit, ctx);
      polled++;
    }
  }
  return polled;
}

int64_t scheduler_next_due(const struct scheduler *s)
{
  int64_t t = INT64_MAX;
  size_t i;
  for(i = 0; i < s->n; i++) {
    if(s->slots[i].next_due < t)
      t = s->slots[i].next_due;
  }
  return t;
}

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
  if(s->ep < 0)
    return 0;
  for(i = 0; i < s->n; i++) {
    struct slot *sl = &s->slots[i];
    struct epoll_event ev;
    int fd;
    if(!sl->fd_dirty && sl->reg_idx == i)
      continue;
    sl->fd_dirty = false;
    fd = sl->opened ? adapter_fd(&sl->ad) : -1;
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
  if(!sl->opened || sl->reg_fd < 0)
    return;
  sl->fd_dirty = true;
  (void)adapter_on_readable(&sl->ad, now_wall, emit, ctx);
}

int64_t scheduler_next_io_timeout(const struct scheduler *s)
{
  int64_t t = INT64_MAX;
  size_t i;
  for(i = 0; i < s->n; i++) {
    if(s->slots[i].opened) {
      int64_t a = adapter_next_timeout(&s->slots[i].ad);
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
  for(i = 0; i < s->n; i++) {
    struct slot *sl = &s->slots[i];
    if(sl->opened && adapter_next_timeout(&sl->ad) <= real_now) {
      sl->fd_dirty = true;
      adapter_on_timeout(&sl->ad, now_wall, emit, ctx);
    }
  }
}

size_t scheduler_n_devices(const struct scheduler *s)
{
  return s->n;
}

void scheduler_device_status(const struct scheduler *s, size_t i, struct sched_device_status *out)
{
  const struct slot *sl = &s->slots[i];
  memset(out, 0, sizeof(*out));
  out->id = sl->id;
  out->adapter = sl->ad.ops ? adapter_name(&sl->ad) : NULL;
  out->up = !sl->down;
  out->answered = sl->answered;
  out->consecutive_failures = sl->failures;
  out->last_success_ms = sl->last_success_ms;
  out->rtt_ms = sl->rtt_ms;
  out->polls = sl->polls;
  out->failures = sl->n_failed;
  out->next_due_ms = sl->next_due;
}
