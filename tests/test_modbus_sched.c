/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The scheduler's worker mode (gateway/scheduler.h) with a recording
 * in-process adapter: which thread runs which adapter call, that a bus whose
 * poll hangs does not hold up another, no pile-up, reload (kept, removed,
 * moved to another bus) and a pushing descriptor served inside the worker;
 * and, on a virtual timeline, the backoff of a device that stops answering
 * and the poll schedule's grid (inline, on the event loop, on a bus worker).
 * Each step waits for the events it looks for (30 s at most: a hang guard,
 * never a measure of speed).
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "base/rs_util.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/evloop.h"
#include "gateway/scheduler.h"

#define MAX_DEV 8

/* What the recording adapter saw, per device id. */
struct rec_dev {
  char id[32];
  pthread_t thread; /* the thread of the first call */
  int calls, wrong_thread, opens, closes, reconfs, polls;
  int pipe[2];
};

static struct {
  pthread_mutex_t mu;
  struct rec_dev d[MAX_DEV];
  size_t n;
  bool hold;       /* polls of device "slow" wait (on cv) until it is false */
  int slow_waiting; /* polls of "slow" waiting now */
  pthread_cond_t cv;
  bool push;   /* device "push" offers a pipe */
  bool fail;   /* polls of device "flaky" fail (no answer) */
} rec;

static struct rec_dev *rec_get(const char *id)
{
  size_t i;
  for(i = 0; i < rec.n; i++) {
    if(!strcmp(rec.d[i].id, id))
      return &rec.d[i];
  }
  assert_true(rec.n < MAX_DEV);
  (void)rs_strlcpy(rec.d[rec.n].id, id, sizeof(rec.d[rec.n].id));
  rec.d[rec.n].pipe[0] = rec.d[rec.n].pipe[1] = -1;
  return &rec.d[rec.n++];
}

/* Count a call of device id and check it runs on the device's one thread. */
static struct rec_dev *rec_call(const char *id)
{
  struct rec_dev *d;
  pthread_mutex_lock(&rec.mu);
  d = rec_get(id);
  if(!d->calls++)
    d->thread = pthread_self();
  else if(!pthread_equal(d->thread, pthread_self()))
    d->wrong_thread++;
  pthread_mutex_unlock(&rec.mu);
  return d;
}

static enum rs_err r_open(struct adapter *a, char *err, size_t errlen)
{
  struct rec_dev *d = rec_call(a->dev->id);
  (void)err;
  (void)errlen;
  pthread_mutex_lock(&rec.mu);
  d->opens++;
  if(rec.push && !strcmp(a->dev->id, "push")) {
    assert_int_equal(pipe(d->pipe), 0);
    assert_int_equal(fcntl(d->pipe[0], F_SETFL, O_NONBLOCK), 0);
  }
  pthread_mutex_unlock(&rec.mu);
  a->priv = d;
  return RS_OK;
}

static void r_close(struct adapter *a)
{
  struct rec_dev *d = rec_call(a->dev->id);
  pthread_mutex_lock(&rec.mu);
  d->closes++;
  if(d->pipe[0] >= 0) {
    close(d->pipe[0]);
    close(d->pipe[1]);
    d->pipe[0] = d->pipe[1] = -1;
  }
  pthread_mutex_unlock(&rec.mu);
}

static enum rs_err r_poll(struct adapter *a, int64_t wall_ms, adapter_emit_fn emit, void *ctx,
                          char *err, size_t errlen)
{
  struct rec_dev *d = rec_call(a->dev->id);
  struct reading r;
  pthread_mutex_lock(&rec.mu);
  if(!strcmp(a->dev->id, "slow")) {
    rec.slow_waiting++;
    while(rec.hold)
      pthread_cond_wait(&rec.cv, &rec.mu);
    rec.slow_waiting--;
  }
  d->polls++;
  pthread_mutex_unlock(&rec.mu);
  if(rec.fail && !strcmp(a->dev->id, "flaky")) {
    (void)rs_snprintf(err, errlen, "rec: no answer");
    return RS_ERR_TIMEOUT;
  }
  memset(&r, 0, sizeof(r));
  r.device = a->dev->id;
  r.point = a->dev->points[0].id;
  r.wall_ms = wall_ms;
  r.value = 1;
  r.is_int = true;
  emit(ctx, &r);
  return RS_OK;
}

static int r_fd(const struct adapter *a)
{
  const struct rec_dev *d = a->priv;
  return d->pipe[0];
}

static enum rs_err r_on_readable(struct adapter *a, int64_t wall_ms, adapter_emit_fn emit,
                                 void *ctx)
{
  struct rec_dev *d = rec_call(a->dev->id);
  unsigned char b;
  while(read(d->pipe[0], &b, 1) == 1) {
    struct reading r;
    memset(&r, 0, sizeof(r));
    r.device = a->dev->id;
    r.point = a->dev->points[0].id;
    r.wall_ms = wall_ms;
    r.value = b;
    r.is_int = true;
    emit(ctx, &r);
  }
  return RS_OK;
}

static int r_reconfigure(struct adapter *a)
{
  struct rec_dev *d = rec_call(a->dev->id);
  pthread_mutex_lock(&rec.mu);
  d->reconfs++;
  pthread_mutex_unlock(&rec.mu);
  return 0;
}

static const struct adapter_ops rec_ops = {
    .name = "rec",
    .open = r_open,
    .close = r_close,
    .poll = r_poll,
    .fd = r_fd,
    .on_readable = r_on_readable,
    .reconfigure = r_reconfigure,
};

static const struct adapter_ops *rec_lookup(void *ctx, enum cfg_transport t)
{
  (void)ctx;
  (void)t;
  return &rec_ops;
}

/* Readings that reached the main thread. */
struct got {
  pthread_t main;
  int n[MAX_DEV];
  int64_t last_wall[MAX_DEV];
  int64_t max_gap[MAX_DEV];
  int wrong_thread;
  int values_sum;
};

static int dev_index(const char *id)
{
  size_t i;
  for(i = 0; i < rec.n; i++) {
    if(!strcmp(rec.d[i].id, id))
      return (int)i;
  }
  return -1;
}

static void got_emit(void *ctx, const struct reading *r)
{
  struct got *g = ctx;
  int i = dev_index(r->device);
  if(!pthread_equal(g->main, pthread_self()))
    g->wrong_thread++;
  if(i < 0)
    return;
  if(g->n[i] && r->wall_ms - g->last_wall[i] > g->max_gap[i])
    g->max_gap[i] = r->wall_ms - g->last_wall[i];
  g->n[i]++;
  g->last_wall[i] = r->wall_ms;
  g->values_sum += (int)r->value;
}

static struct cfg *load(const char *devices)
{
  struct cfg_file_buf f[2] = {
      {"restock.yaml", "gateway: {id: t}\n", strlen("gateway: {id: t}\n")},
      {"devices.d/a.yaml", devices, strlen(devices)},
  };
  struct cfg *cfg = NULL;
  struct cfg_diags diags = {0};
  int nerr = cfg_load_buffers("/tmp", f, 2, &cfg, &diags);
  if(nerr)
    cfg_diags_print(&diags, stderr);
  cfg_diags_free(&diags);
  assert_int_equal(nerr, 0);
  return cfg;
}

#define HANG_GUARD_MS 30000

/*
 * Run the scheduler on the real clock, delivering results to g, until
 * done(s, g) holds; fails (saying what was awaited) when it has not after
 * HANG_GUARD_MS.
 */
static void run_until(struct scheduler *s, struct rs_clock *clk,
                      bool (*done)(struct scheduler *s, const struct got *g), struct got *g,
                      const char *what)
{
  int64_t end = clock_mono_ms(clk) + HANG_GUARD_MS;
  int evfd = scheduler_event_fd(s);
  for(;;) {
    int64_t now = clock_mono_ms(clk), next;
    struct pollfd pfd = {evfd, POLLIN, 0};
    bool ok;
    (void)scheduler_drain(s, got_emit, g);
    pthread_mutex_lock(&rec.mu);
    ok = done(s, g);
    pthread_mutex_unlock(&rec.mu);
    if(ok)
      return;
    if(now >= end)
      fail_msg("hung: %s, not after %d ms", what, HANG_GUARD_MS);
    (void)scheduler_run_due(s, now, clock_wall_ms(clk), got_emit, g);
    next = scheduler_next_due(s);
    if(next > now + 50)
      next = now + 50; /* look again: a worker's change shows in rec, not on evfd */
    if(next > now)
      (void)poll(&pfd, 1, (int)(next - now));
  }
}

/*
 * A scheduler over cfg (borrowed) with its bus workers started, its results
 * to g (cleared; the main thread noted). It has no event descriptor until
 * the workers start, and one after.
 */
static struct scheduler *start_workers(struct cfg *cfg, struct rs_clock *clk, struct got *g)
{
  struct scheduler *s;
  memset(g, 0, sizeof(*g));
  g->main = pthread_self();
  s = scheduler_new(cfg, rec_lookup, NULL, clock_mono_ms(clk));
  assert_non_null(s);
  assert_int_equal(scheduler_event_fd(s), -1);
  assert_int_equal(scheduler_start_workers(s, 1), 0);
  assert_true(scheduler_event_fd(s) >= 0);
  return s;
}

/* Let polls of "slow" go on. */
static void release_slow(void)
{
  pthread_mutex_lock(&rec.mu);
  rec.hold = false;
  pthread_cond_broadcast(&rec.cv);
  pthread_mutex_unlock(&rec.mu);
}

#define DEV(id, port, every)                                                                       \
  "  - id: " id "\n    transport: {type: modbus-tcp, host: 127.0.0.1, port: " port "}\n"           \
  "    poll_interval: " every "\n    points:\n"                                                    \
  "      - {id: v, register: holding, address: 0, type: uint16}\n"

static void reset(void)
{
  memset(rec.d, 0, sizeof(rec.d));
  rec.n = 0;
  rec.hold = false;
  rec.slow_waiting = 0;
  rec.push = false;
  rec.fail = false;
  /* register the ids in a fixed order so dev_index works before the first call */
  (void)rec_get("fast");
  (void)rec_get("slow");
  (void)rec_get("peer");
  (void)rec_get("push");
}

static int i_fast, i_slow, i_peer, i_push;

/* 10 readings of fast while the poll of slow hangs */
static bool fast_ten_while_slow_hangs(struct scheduler *s, const struct got *g)
{
  (void)s;
  return rec.slow_waiting == 1 && g->n[i_fast] >= 10;
}

static bool slow_read(struct scheduler *s, const struct got *g)
{
  (void)s;
  return g->n[i_slow] >= 1 && g->n[i_peer] >= 1;
}

/*
 * A bus whose poll hangs does not delay another; one thread per bus; no
 * pile-up (one job at a time, rounds skipped); close on free.
 */
static void test_buses_run_apart(void **state)
{
  struct rs_clock *clk = clock_new_real();
  struct cfg *cfg;
  struct scheduler *s;
  struct got g;
  struct sched_device_status st;
  (void)state;

  reset();
  rec.hold = true;
  cfg = load("devices:\n" DEV("fast", "1001", "100ms") DEV("slow", "1002", "100ms")
                 DEV("peer", "1002, unit_id: 2", "1s"));
  s = start_workers(cfg, clk, &g);
  i_fast = dev_index("fast");
  i_slow = dev_index("slow");
  i_peer = dev_index("peer");

  /* the fast bus is read on while "slow" hangs on its own bus */
  run_until(s, clk, fast_ten_while_slow_hangs, &g, "10 readings of fast while slow hangs");
  assert_int_equal(g.n[i_slow], 0);
  /* slow: one job at a time, its rounds skipped instead of piling up (counted
     when the poll ends: the last round it ran through is served then) */
  scheduler_device_status(s, 1, &st);
  assert_string_equal(st.id, "slow");
  assert_true(st.busy);
  assert_int_equal(rec.d[i_slow].polls, 0);

  release_slow();
  run_until(s, clk, slow_read, &g, "slow and peer read once slow's poll ends");
  scheduler_device_status(s, 1, &st);
  assert_true(st.skipped >= 1);
  /* every adapter call of a device on one thread, never the main thread */
  assert_int_equal(g.wrong_thread, 0);
  assert_int_equal(rec.d[i_fast].wrong_thread, 0);
  assert_int_equal(rec.d[i_slow].wrong_thread, 0);
  assert_false(pthread_equal(rec.d[i_fast].thread, g.main));
  assert_false(pthread_equal(rec.d[i_fast].thread, rec.d[i_slow].thread));
  /* "peer" shares host:port with "slow": same bus, same thread */
  assert_true(pthread_equal(rec.d[i_peer].thread, rec.d[i_slow].thread));

  scheduler_free(s);
  assert_int_equal(rec.d[i_fast].closes, 1);
  assert_int_equal(rec.d[i_slow].closes, 1);
  assert_int_equal(rec.d[i_peer].closes, 1);
  assert_int_equal(rec.d[i_slow].wrong_thread, 0);
  cfg_free(cfg);
  clock_free(clk);
}

/* 3 readings of fast, and slow and peer polled (opened) */
static bool all_read(struct scheduler *s, const struct got *g)
{
  (void)s;
  return g->n[i_fast] >= 3 && rec.d[i_slow].polls >= 1 && rec.d[i_peer].polls >= 1;
}

static int before_reload, before_peer; /* fast's readings, peer's polls before the reload */

/* the workers did the reload (reconfigured, closed, reopened) and both devices read again */
static bool reload_seen(struct scheduler *s, const struct got *g)
{
  (void)s;
  return rec.d[i_fast].reconfs == 1 && rec.d[i_slow].closes == 1 && rec.d[i_peer].opens == 2 &&
         rec.d[i_peer].polls > before_peer && g->n[i_fast] >= before_reload + 3;
}

/* Reload: kept devices are reconfigured, removed ones closed, moved ones reopened, on their
 * threads. */
static void test_reload(void **state)
{
  struct rs_clock *clk = clock_new_real();
  struct cfg *cfg1, *cfg2;
  struct scheduler *s;
  struct got g;
  struct sched_device_status st;
  int fast, slow, peer;
  (void)state;

  reset();
  i_slow = dev_index("slow");
  cfg1 = load("devices:\n" DEV("fast", "1001", "100ms") DEV("slow", "1002", "100ms")
                  DEV("peer", "1003", "100ms"));
  s = start_workers(cfg1, clk, &g);
  fast = i_fast = dev_index("fast");
  slow = dev_index("slow");
  peer = i_peer = dev_index("peer");
  run_until(s, clk, all_read, &g, "3 readings of fast, slow and peer polled");
  before_peer = rec.d[peer].polls;

  /* fast kept, slow removed, peer moved to another port (another bus) */
  cfg2 = load("devices:\n" DEV("fast", "1001", "100ms") DEV("peer", "1004", "100ms"));
  scheduler_set_config(s, cfg2, clock_mono_ms(clk));
  cfg_free(cfg1); /* the workers hold copies: nothing may read cfg1 now */
  before_reload = g.n[fast];
  run_until(s, clk, reload_seen, &g, "the reload reached the workers and peer was read again");
  assert_int_equal(scheduler_n_devices(s), 2);
  scheduler_device_status(s, 0, &st);
  assert_string_equal(st.id, "fast");
  assert_true(st.polls >= (uint64_t)before_reload + 3); /* counters carried over */
  assert_int_equal(rec.d[fast].reconfs, 1);
  assert_int_equal(rec.d[fast].opens, 1);
  assert_int_equal(rec.d[fast].closes, 0);
  assert_int_equal(rec.d[slow].closes, 1);
  assert_int_equal(rec.d[peer].closes, 1);
  assert_int_equal(rec.d[peer].opens, 2);
  /* the moved device runs on its new bus's thread now */
  assert_true(rec.d[peer].wrong_thread >= 1);
  assert_int_equal(rec.d[fast].wrong_thread, 0);
  assert_int_equal(rec.d[slow].wrong_thread, 0);
  assert_int_equal(scheduler_outstanding(s) <= 2, 1);
  scheduler_free(s);
  assert_int_equal(rec.d[fast].closes, 1);
  assert_int_equal(rec.d[peer].closes, 2);
  cfg_free(cfg2);
  clock_free(clk);
}

static bool push_read(struct scheduler *s, const struct got *g)
{
  (void)s;
  return g->n[i_push] >= 1;
}

static bool push_pushed(struct scheduler *s, const struct got *g)
{
  (void)s;
  return g->n[i_push] >= 4;
}

/* A pushing descriptor is served inside its bus worker's wait loop. */
static void test_push_fd_in_worker(void **state)
{
  struct rs_clock *clk = clock_new_real();
  struct cfg *cfg;
  struct scheduler *s;
  struct got g;
  unsigned char b[3] = {5, 6, 7};
  int push, before;
  (void)state;

  reset();
  rec.push = true;
  cfg = load("devices:\n" DEV("push", "1005", "1h"));
  s = start_workers(cfg, clk, &g);
  push = i_push = dev_index("push");
  run_until(s, clk, push_read, &g, "the first poll (it opens the adapter and its pipe)");
  assert_int_equal(g.n[push], 1);
  assert_true(rec.d[push].pipe[1] >= 0);
  before = g.values_sum;
  assert_int_equal(write(rec.d[push].pipe[1], b, sizeof(b)), 3);
  run_until(s, clk, push_pushed, &g, "the 3 pushed bytes as readings");
  assert_int_equal(g.n[push], 4);
  assert_int_equal(g.values_sum - before, 18);
  assert_int_equal(rec.d[push].wrong_thread, 0);
  assert_int_equal(g.wrong_thread, 0);
  scheduler_free(s);
  assert_int_equal(rec.d[push].closes, 1);
  cfg_free(cfg);
  clock_free(clk);
}

static bool slow_hangs(struct scheduler *s, const struct got *g)
{
  (void)s;
  (void)g;
  return rec.slow_waiting == 1;
}

/*
 * Shutdown does not wait for a poll that hangs (bus.h: its worker is left
 * behind): scheduler_free() returns while the poll of "slow" still waits.
 */
static void test_free_with_hung_poll(void **state)
{
  struct rs_clock *clk = clock_new_real();
  struct cfg *cfg;
  struct scheduler *s;
  struct got g;
  int64_t end;
  int waiting;
  (void)state;

  reset();
  rec.hold = true;
  cfg = load("devices:\n" DEV("slow", "1002", "100ms"));
  s = start_workers(cfg, clk, &g);
  i_slow = dev_index("slow");
  run_until(s, clk, slow_hangs, &g, "the poll of slow hangs");
  scheduler_free(s); /* returns: it does not wait for the poll */
  pthread_mutex_lock(&rec.mu);
  waiting = rec.slow_waiting;
  pthread_mutex_unlock(&rec.mu);
  assert_int_equal(waiting, 1); /* the poll still hangs */
  release_slow();
  /* let the left-behind worker finish its poll before the process goes on */
  end = clock_mono_ms(clk) + HANG_GUARD_MS;
  do {
    struct timespec ts = {0, 10000000L};
    nanosleep(&ts, NULL);
    pthread_mutex_lock(&rec.mu);
    waiting = rec.slow_waiting;
    pthread_mutex_unlock(&rec.mu);
  } while(waiting && clock_mono_ms(clk) < end);
  assert_int_equal(waiting, 0);
  cfg_free(cfg);
  clock_free(clk);
}

/*
 * Poll s (inline, no workers) once at now on a virtual timeline; returns the
 * wait until device 0 is due again (ms) and its status into st.
 */
static int64_t poll_once(struct scheduler *s, int64_t now, struct got *g,
                         struct sched_device_status *st)
{
  assert_true(scheduler_next_due(s) <= now);
  assert_int_equal(scheduler_run_due(s, now, now, got_emit, g), 1);
  scheduler_device_status(s, 0, st);
  return st->next_due_ms - now;
}

/*
 * A device that stops answering (docs/devices.md): polled at poll_interval
 * until down_after failures in a row, then the wait doubles per failure up to
 * max_backoff; the first answer brings poll_interval back, and the next
 * failure waits poll_interval again (the count starts over).
 */
static void test_backoff(void **state)
{
  static const int64_t want[] = {10000, 10000, 20000, 40000, 60000, 60000};
  struct cfg *cfg;
  struct scheduler *s;
  struct got g;
  struct sched_device_status st;
  int64_t now = 1000000, wait;
  size_t i;
  (void)state;

  reset();
  (void)rec_get("flaky");
  cfg = load("devices:\n"
             "  - id: flaky\n    transport: {type: modbus-tcp, host: 127.0.0.1, port: 1006}\n"
             "    poll_interval: 10s\n    down_after: 2\n    max_backoff: 1m\n    points:\n"
             "      - {id: v, register: holding, address: 0, type: uint16}\n");
  memset(&g, 0, sizeof(g));
  g.main = pthread_self();
  s = scheduler_new(cfg, rec_lookup, NULL, now);
  wait = poll_once(s, now, &g, &st);
  assert_true(st.up);
  assert_int_equal(wait, 10000);

  rec.fail = true;
  for(i = 0; i < RS_ARRAY_LEN(want); i++) {
    now += wait;
    wait = poll_once(s, now, &g, &st);
    assert_int_equal(st.consecutive_failures, (int64_t)i + 1);
    assert_int_equal(st.up, i + 1 < 2); /* down from the 2nd failure on */
    assert_int_equal(wait, want[i]);
  }

  rec.fail = false; /* it answers again: back to poll_interval */
  now += wait;
  wait = poll_once(s, now, &g, &st);
  assert_true(st.up);
  assert_int_equal(st.consecutive_failures, 0);
  assert_int_equal(wait, 10000);

  rec.fail = true; /* the backoff starts over */
  now += wait;
  wait = poll_once(s, now, &g, &st);
  assert_int_equal(st.consecutive_failures, 1);
  assert_int_equal(wait, 10000);
  now += wait;
  wait = poll_once(s, now, &g, &st);
  assert_false(st.up);
  assert_int_equal(wait, 10000);
  now += wait;
  assert_int_equal(poll_once(s, now, &g, &st), 20000);

  scheduler_free(s);
  cfg_free(cfg);
}

/* ---- the poll schedule keeps to its grid ------------------------------- */

/* An event-loop backend (as Modbus TCP's) whose reply the test delivers. */
static struct {
  adapter_emit_fn emit;
  adapter_done_fn done;
  void *ctx;
  int started;
} ev;

static void r_start(struct adapter *a, int64_t wall_ms, adapter_emit_fn emit, adapter_done_fn done,
                    void *ctx)
{
  (void)a;
  (void)wall_ms;
  ev.emit = emit;
  ev.done = done;
  ev.ctx = ctx;
  ev.started++;
}

static void r_cancel(struct adapter *a)
{
  (void)a;
  ev.done = NULL;
}

static const struct adapter_ops ev_ops = {
    .name = "ev",
    .open = r_open,
    .close = r_close,
    .poll = r_poll,
    .start = r_start,
    .cancel = r_cancel,
};

static const struct adapter_ops *ev_lookup(void *ctx, enum cfg_transport t)
{
  (void)ctx;
  (void)t;
  return &ev_ops;
}

/* The started event-loop poll's reply arrives: one value, the poll done. */
static void ev_reply(void)
{
  adapter_done_fn done = ev.done;
  assert_non_null(done);
  ev.done = NULL;
  done(ev.ctx, RS_OK, "");
}

enum grid_mode { GRID_INLINE, GRID_EVLOOP, GRID_WORKER };

/*
 * Run what is due at now (virtual, ms) in mode m and let the poll end
 * (the event loop's reply, or the bus worker's result drained: waited for
 * on its event descriptor, a hang guard only); returns how many polls
 * started, st the device's status after.
 */
static size_t grid_step(struct scheduler *s, enum grid_mode m, int64_t now, struct got *g,
                        struct sched_device_status *st)
{
  int started = ev.started;
  size_t n = scheduler_run_due(s, now, now, got_emit, g);
  if(m == GRID_EVLOOP && ev.started > started)
    ev_reply();
  if(m == GRID_WORKER && n) {
    size_t done = 0;
    while(!done) {
      struct pollfd pfd = {scheduler_event_fd(s), POLLIN, 0};
      assert_true(poll(&pfd, 1, HANG_GUARD_MS) == 1);
      done = scheduler_drain(s, got_emit, g);
    }
  }
  scheduler_device_status(s, 0, st);
  return n;
}

/*
 * A device "grid" polled every 10 s and a scheduler over it (cfg, loaded
 * here), due at now, run in mode m (on loop, made here, for GRID_EVLOOP;
 * else *loop is NULL), its readings to g.
 */
static struct scheduler *grid_new(struct cfg **cfg, enum grid_mode m, int64_t now, struct got *g,
                                  struct evloop **loop)
{
  struct scheduler *s;
  reset();
  memset(&ev, 0, sizeof(ev));
  (void)rec_get("grid");
  *cfg = load("devices:\n"
              "  - id: grid\n    transport: {type: modbus-tcp, host: 127.0.0.1, port: 1007}\n"
              "    poll_interval: 10s\n    points:\n"
              "      - {id: v, register: holding, address: 0, type: uint16}\n");
  memset(g, 0, sizeof(*g));
  g->main = pthread_self();
  s = scheduler_new(*cfg, m == GRID_EVLOOP ? ev_lookup : rec_lookup, NULL, now);
  assert_non_null(s);
  *loop = NULL;
  if(m == GRID_EVLOOP) {
    *loop = evloop_new();
    assert_non_null(*loop);
    scheduler_attach_loop(s, *loop, got_emit, g);
  }
  if(m == GRID_WORKER)
    assert_int_equal(scheduler_start_workers(s, 1), 0);
  return s;
}

/*
 * Polls every 10 s on a loop that wakes late (docs/devices.md, "Polling"):
 * each next poll is due one interval after the last one was due, not after
 * it ran, so 300 ms late at each wake-up does not add up to a poll 1.5 s
 * late after five; a loop 35 s behind polls once, not four times, and the
 * next poll is back on the 10 s grid, the three rounds passed counted in
 * skipped. The same inline, on the event loop and on a bus worker.
 */
static void grid_case(enum grid_mode m)
{
  struct cfg *cfg;
  struct scheduler *s;
  struct evloop *loop;
  struct got g;
  struct sched_device_status st;
  const int64_t t0 = 1000000, d = 10000;
  int64_t now = t0;
  uint64_t polls;
  int i;

  s = grid_new(&cfg, m, now, &g, &loop);
  assert_int_equal(grid_step(s, m, now, &g, &st), 1);
  assert_int_equal(st.next_due_ms, t0 + d);

  for(i = 1; i <= 5; i++) {
    now = t0 + i * d + 300; /* each wake-up 300 ms late */
    assert_int_equal(grid_step(s, m, now, &g, &st), 1);
    assert_int_equal(st.next_due_ms, t0 + (i + 1) * d);
  }
  assert_int_equal(st.skipped, 0);

  /* due at t0 + 60 s, run at t0 + 95 s */
  polls = st.polls;
  now = t0 + 95000;
  assert_int_equal(grid_step(s, m, now, &g, &st), 1);
  assert_int_equal(st.polls, polls + 1);
  assert_int_equal(st.next_due_ms, t0 + 100000);
  assert_int_equal(st.skipped, 3);
  assert_int_equal(grid_step(s, m, now, &g, &st), 0); /* no burst */
  assert_int_equal(st.failures, 0);

  scheduler_free(s);
  evloop_free(loop);
  cfg_free(cfg);
}

static void test_grid_inline(void **state)
{
  (void)state;
  grid_case(GRID_INLINE);
}

static void test_grid_evloop(void **state)
{
  (void)state;
  grid_case(GRID_EVLOOP);
}

static void test_grid_worker(void **state)
{
  (void)state;
  grid_case(GRID_WORKER);
}

/*
 * An event-loop poll that overran its interval (reply after 25 s, every
 * 10 s): the next poll goes out at once (docs/devices.md) and serves the
 * round at 20 s, so only the round at 10 s is skipped; the one after it is
 * due on the grid again, not 10 s after the late one.
 */
static void test_grid_overrun(void **state)
{
  struct cfg *cfg;
  struct scheduler *s;
  struct evloop *loop;
  struct got g;
  struct sched_device_status st;
  const int64_t t0 = 1000000;
  (void)state;

  s = grid_new(&cfg, GRID_EVLOOP, t0, &g, &loop);
  assert_int_equal(scheduler_run_due(s, t0, t0, got_emit, &g), 1); /* no reply yet */
  assert_int_equal(scheduler_run_due(s, t0 + 10000, t0 + 10000, got_emit, &g), 0); /* busy */
  assert_int_equal(scheduler_run_due(s, t0 + 25000, t0 + 25000, got_emit, &g), 0);
  ev_reply(); /* at t0 + 25 s */
  scheduler_device_status(s, 0, &st);
  assert_true(st.next_due_ms <= t0 + 25000); /* at once */
  assert_int_equal(st.skipped, 1);           /* the round at 10 s (20 s is served now) */
  assert_int_equal(scheduler_run_due(s, t0 + 25000, t0 + 25000, got_emit, &g), 1);
  ev_reply();
  scheduler_device_status(s, 0, &st);
  assert_int_equal(st.next_due_ms, t0 + 30000);
  assert_int_equal(st.skipped, 1);

  scheduler_free(s);
  evloop_free(loop);
  cfg_free(cfg);
}

/*
 * A poll that ends 1.5 intervals after it was due (every 10 s, the reply
 * after 15 s) skipped no round: the next poll goes out at once and serves
 * the round at 10 s. On the event loop and on a bus worker (its poll held
 * until the scheduler's clock passed 15 s).
 */
static void test_overrun_serves_its_round(void **state)
{
  struct cfg *cfg;
  struct scheduler *s;
  struct evloop *loop;
  struct got g;
  struct sched_device_status st;
  const int64_t t0 = 1000000;
  (void)state;

  s = grid_new(&cfg, GRID_EVLOOP, t0, &g, &loop);
  assert_int_equal(scheduler_run_due(s, t0, t0, got_emit, &g), 1);
  assert_int_equal(scheduler_run_due(s, t0 + 10000, t0 + 10000, got_emit, &g), 0); /* busy */
  assert_int_equal(scheduler_run_due(s, t0 + 15000, t0 + 15000, got_emit, &g), 0);
  ev_reply();
  assert_int_equal(scheduler_run_due(s, t0 + 15000, t0 + 15000, got_emit, &g), 1);
  ev_reply();
  scheduler_device_status(s, 0, &st);
  assert_int_equal(st.polls, 2);
  assert_int_equal(st.skipped, 0);
  assert_int_equal(st.next_due_ms, t0 + 20000);
  scheduler_free(s);
  evloop_free(loop);
  cfg_free(cfg);

  /* the same on a bus worker: device "slow", its poll held */
  reset();
  cfg = load("devices:\n" DEV("slow", "1008", "10s"));
  memset(&g, 0, sizeof(g));
  g.main = pthread_self();
  s = scheduler_new(cfg, rec_lookup, NULL, t0);
  assert_non_null(s);
  assert_int_equal(scheduler_start_workers(s, 1), 0);
  pthread_mutex_lock(&rec.mu);
  rec.hold = true;
  pthread_mutex_unlock(&rec.mu);
  assert_int_equal(scheduler_run_due(s, t0, t0, got_emit, &g), 1);
  assert_int_equal(scheduler_run_due(s, t0 + 10000, t0 + 10000, got_emit, &g), 0); /* busy */
  assert_int_equal(scheduler_run_due(s, t0 + 15000, t0 + 15000, got_emit, &g), 0);
  release_slow();
  {
    size_t done = 0;
    while(!done) {
      struct pollfd pfd = {scheduler_event_fd(s), POLLIN, 0};
      assert_true(poll(&pfd, 1, HANG_GUARD_MS) == 1);
      done = scheduler_drain(s, got_emit, &g);
    }
  }
  scheduler_device_status(s, 0, &st);
  assert_true(st.next_due_ms <= t0 + 15000); /* at once: the round at 10 s */
  assert_int_equal(st.skipped, 0);
  scheduler_free(s);
  cfg_free(cfg);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_buses_run_apart),
      cmocka_unit_test(test_reload),
      cmocka_unit_test(test_push_fd_in_worker),
      cmocka_unit_test(test_free_with_hung_poll),
      cmocka_unit_test(test_backoff),
      cmocka_unit_test(test_grid_inline),
      cmocka_unit_test(test_grid_evloop),
      cmocka_unit_test(test_grid_worker),
      cmocka_unit_test(test_grid_overrun),
      cmocka_unit_test(test_overrun_serves_its_round),
  };
  log_set_level(LOG_LVL_ERR);
  pthread_mutex_init(&rec.mu, NULL);
  pthread_cond_init(&rec.cv, NULL);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
