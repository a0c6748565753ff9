/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon: life cycle and main loop of restockd (see daemon.h).
 */
#include "gateway/daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/evloop.h"
#include "base/rs_util.h"
#include "base/sdnotify.h"
#include "gateway/approve.h"
#include "gateway/decide.h"
#include "gateway/web/http.h"
#include "base/log.h"
#include "base/memtrim.h"
#include "rules/rules.h"

struct daemon_core {
  struct cfg *cfg;
  struct store *st;
  struct rs_clock *clk;
  struct scheduler *sched;
  struct reading_path *rp;
  struct pipeline *pl;
  struct decide *dec; /* the decision step, with the `for` timers */
  bool dirty;        /* readings arrived since the last evaluation */
  int64_t next_eval; /* monotonic ms */
  int64_t next_thin; /* wall ms of the next retention pass (storage.retention) */
  int64_t next_commit; /* wall ms: the batched readings are written then */
  struct evloop *loop; /* NULL: network I/O blocks (tests, tools) */
};

/* ---- the core -------------------------------------------------------- */

/* Reading path entry point in the adapter_emit_fn shape. */
static void core_emit(void *ctx, const struct reading *r)
{
  struct daemon_core *c = ctx;
  bool changed = false;
  (void)reading_path_submit_ex(c->rp, r, &changed);
  if(!changed)
    return;
  if(r->device_ref && r->point_ref)
    decide_mark_point(c->dec, r->device_ref - 1, r->point_ref - 1); /* only its consumables */
  else
    c->dirty = true; /* a reading without indexes: evaluate everything */
}

struct daemon_core *daemon_core_new(struct cfg *cfg, struct store *st, struct rs_clock *clk,
                                    adapter_lookup_fn lookup, void *lookup_ctx)
{
  struct daemon_core *c = calloc(1, sizeof(*c));
  int64_t now = clock_mono_ms(clk);
  if(!c) {
    cfg_free(cfg);
    return NULL;
  }
  c->cfg = cfg;
  c->st = st;
  c->clk = clk;
  /* the recent readings into the table by point first, so that each point's
     warm start reads one index (and a small recent table) */
  if(st && store_merge_readings(st, NULL))
    log_warn("store: cannot merge the recent readings: %s", store_errmsg(st));
  c->sched = scheduler_new(cfg, lookup, lookup_ctx, now);
  c->rp = reading_path_new(st, cfg);
  c->pl = pipeline_new(st);
  if(!c->sched || !c->rp || !c->pl) {
    daemon_core_free(c);
    return NULL;
  }
  c->dec = decide_new(cfg);
  reading_path_set_batching(c->rp, true); /* committed once per daemon_core_step() */
  pipeline_set_time_scale(c->pl, clock_scale(clk));
  pipeline_set_online(c->pl, true); /* restockd talks to the shop of cfg->commerce */
  c->next_eval = now + DAEMON_EVAL_INTERVAL_MS;
  c->next_thin = clock_wall_ms(clk) + DAEMON_THIN_FIRST_MS;
  return c;
}

/*
 * Run the core's network I/O (shop, mail, Modbus TCP devices) on loop
 * (borrowed, outlives the core): requests are started and their answers
 * handled on the loop, never waited for; Modbus TCP readings reach the
 * reading path from the loop's callbacks. Call before
 * scheduler_start_workers(). Without it (tests, tools) they block the
 * caller as before.
 */
static void daemon_core_set_loop(struct daemon_core *c, struct evloop *loop)
{
  c->loop = loop;
  pipeline_set_loop(c->pl, loop);
  approve_set_loop(loop); /* approval mails */
  if(loop)
    scheduler_attach_loop(c->sched, loop, core_emit, c); /* Modbus TCP */
}

void daemon_core_free(struct daemon_core *c)
{
  if(!c)
    return;
  if(c->loop)
    approve_set_loop(NULL); /* mails in flight stay in the outbox */
  decide_free(c->dec);
  scheduler_free(c->sched);
  reading_path_free(c->rp);
  pipeline_free(c->pl);
  cfg_free(c->cfg);
  free(c);
}

size_t daemon_core_evaluate(struct daemon_core *c)
{
  c->dirty = false;
  c->next_eval = clock_mono_ms(c->clk) + DAEMON_EVAL_INTERVAL_MS;
  return decide_run(c->dec, c->rp, c->pl, clock_wall_ms(c->clk));
}

/*
 * Retention: thin raw readings older than storage.retention to one per hour
 * and point, once a (scaled) day. A failure is logged and tried again the
 * next day; nothing else depends on it.
 */
static void core_thin(struct daemon_core *c)
{
  int64_t wall = clock_wall_ms(c->clk), deleted = 0;
  enum rs_err e = store_thin_readings(c->st, wall - c->cfg->storage.retention_ms,
                                      DAEMON_THIN_BUCKET_MS, &deleted);
  c->next_thin = wall + DAEMON_THIN_INTERVAL_MS;
  if(e)
    log_warn("retention: cannot thin old readings: %s", store_errmsg(c->st));
  else if(deleted)
    log_info("retention: thinned %lld readings older than the retention period", (long long)deleted);
}

int64_t daemon_core_step(struct daemon_core *c)
{
  int64_t now = clock_mono_ms(c->clk), next;
  (void)scheduler_drain(c->sched, core_emit, c); /* polls the bus workers finished */
  scheduler_run_io_timeouts(c->sched, clock_real_mono_ms(), clock_wall_ms(c->clk), core_emit, c);
  scheduler_run_due(c->sched, now, clock_wall_ms(c->clk), core_emit, c);
  /* the batched values (drained, and those the loop's callbacks delivered) in one
     transaction, at most every DAEMON_COMMIT_INTERVAL_MS: fewer pages written (flash) */
  if(clock_wall_ms(c->clk) >= c->next_commit ||
     reading_path_pending(c->rp) >= DAEMON_COMMIT_MAX) {
    (void)reading_path_commit(c->rp);
    c->next_commit = clock_wall_ms(c->clk) + DAEMON_COMMIT_INTERVAL_MS;
  }
  if(c->dirty || now >= c->next_eval)
    daemon_core_evaluate(c); /* everything: `for` timers and staleness move with time */
  else if(decide_n_marked(c->dec))
    (void)decide_run_marked(c->dec, c->rp, c->pl, clock_wall_ms(c->clk));
  if(clock_wall_ms(c->clk) >= pipeline_next_due(c->pl))
    (void)pipeline_tick(c->pl, c->cfg, clock_wall_ms(c->clk)); /* outbox retries, expiry */
  approval_tick(c->st, c->cfg, c->clk); /* approval links and their mails (gateway/approve.c) */
  if(clock_wall_ms(c->clk) >= c->next_thin)
    core_thin(c);
  (void)scheduler_sync_epoll(c->sched);
  next = scheduler_next_due(c->sched);
  if(next > c->next_eval)
    next = c->next_eval;
  if(reading_path_pending(c->rp) && c->next_commit - clock_wall_ms(c->clk) < next - now)
    next = now + (c->next_commit > clock_wall_ms(c->clk) ? c->next_commit - clock_wall_ms(c->clk) : 0);
  {
    /* the pipeline's next due time is on the wall timeline */
    int64_t due = pipeline_next_due(c->pl), wall = clock_wall_ms(c->clk);
    if(due <= wall)
      next = clock_mono_ms(c->clk);
    else if(due != INT64_MAX && due - wall < next - clock_mono_ms(c->clk))
      next = clock_mono_ms(c->clk) + (due - wall);
  }
  return next;
}

void daemon_core_attach_epoll(struct daemon_core *c, int ep)
{
  scheduler_attach_epoll(c->sched, ep);
  (void)scheduler_sync_epoll(c->sched);
}

void daemon_core_on_event(struct daemon_core *c, uint64_t tag)
{
  scheduler_on_event(c->sched, tag, clock_wall_ms(c->clk), core_emit, c);
}

int64_t daemon_core_next_io_timeout(const struct daemon_core *c)
{
  return scheduler_next_io_timeout(c->sched);
}

void daemon_core_swap_config(struct daemon_core *c, struct cfg *cfg)
{
  struct cfg *old = c->cfg;
  /* as at start: the points a reload adds warm-start from readings, not from a
     scan of a day of readings_recent each */
  if(c->st && store_merge_readings(c->st, NULL))
    log_warn("store: cannot merge the recent readings: %s", store_errmsg(c->st));
  c->cfg = cfg;
  decide_set_config(c->dec, cfg); /* the `for` timers carry over */
  scheduler_set_config(c->sched, cfg, clock_mono_ms(c->clk));
  reading_path_set_config(c->rp, cfg);
  pipeline_reconfigure(c->pl); /* its commerce client points into the old config */
  c->dirty = true;
  /* now nothing points into the old config any more */
  cfg_free(old);
  malloc_trim(0); /* hand the old config's pages back (RSS) */
}

int daemon_core_reload(struct daemon_core *c, const char *dir)
{
  struct cfg *ncfg = NULL;
  struct cfg_diags diags = {0};
  int nerr = cfg_load(dir, &ncfg, &diags);
  size_t i;

  for(i = 0; i < diags.n; i++) {
    if(diags.v[i].warning)
      log_warn("warning: %s", diags.v[i].text);
    else
      log_err("%s", diags.v[i].text);
  }
  cfg_diags_free(&diags);
  if(nerr || !ncfg) {
    log_err("configuration reload failed: %d error%s in %s; still running the previous "
            "configuration",
            nerr, nerr == 1 ? "" : "s", dir);
    cfg_free(ncfg);
    return nerr ? nerr : 1;
  }
  if(strcmp(ncfg->storage.path, c->cfg->storage.path))
    log_warn("storage.path changed to %s: it takes effect at the next start (still using %s)",
             ncfg->storage.path, c->cfg->storage.path);
  daemon_core_swap_config(c, ncfg);
  {
    char line[256];
    const char *s = line;
    cfg_summary(c->cfg, line, sizeof(line));
    if(!strncmp(s, "OK: ", 4))
      s += 4;
    log_notice("configuration reloaded: %s", s);
  }
  return 0;
}

const struct cfg *daemon_core_config(const struct daemon_core *c)
{
  return c->cfg;
}

void daemon_core_http_view(struct daemon_core *c, struct http_core *out)
{
  out->cfg = &c->cfg;
  out->sched = c->sched;
  out->rp = c->rp;
  out->pl = c->pl;
}

struct scheduler *daemon_core_scheduler(struct daemon_core *c)
{
  return c->sched;
}

struct reading_path *daemon_core_readings(struct daemon_core *c)
{
  return c->rp;
}

struct pipeline *daemon_core_pipeline(struct daemon_core *c)
{
  return c->pl;
}

/* ---- the clock ------------------------------------------------------- */

/* Parse "SCALE ANCHOR REAL_ANCHOR"; 0 or -1. */
static int parse_anchor(const char *v, double *scale, int64_t *anchor, int64_t *real_anchor)
{
  char buf[128];
  char *a, *b;
  if(rs_strlcpy(buf, v, sizeof(buf)))
    return -1;
  a = strchr(buf, ' ');
  if(!a)
    return -1;
  *a++ = '\0';
  b = strchr(a, ' ');
  if(!b)
    return -1;
  *b++ = '\0';
  if(rs_parse_double(buf, scale) || !(*scale > 0) ||
     rs_parse_i64(a, false, INT64_MIN, INT64_MAX, anchor) ||
     rs_parse_i64(b, false, INT64_MIN, INT64_MAX, real_anchor))
    return -1;
  return 0;
}

int64_t daemon_clock_now_ms(struct store *st)
{
  int64_t real_now = clock_real_wall_ms(), anchor, real_anchor;
  double scale;
  char *v = NULL;
  int64_t now = real_now;
  if(st && store_meta_get(st, DAEMON_META_CLOCK_ANCHOR, &v) == RS_OK && v &&
     !parse_anchor(v, &scale, &anchor, &real_anchor))
    now = anchor + (int64_t)((double)(real_now - real_anchor) * scale);
  free(v);
  return now;
}

struct rs_clock *daemon_clock_open(struct store *st, double scale)
{
  int64_t real_now = clock_real_wall_ms(), anchor = real_now, real_anchor = real_now;
  double old_scale = 0;
  char *v = NULL;
  bool stored = false, have = false;
  struct rs_clock *clk;
  char buf[128], when[40];

  if(st && store_meta_get(st, DAEMON_META_CLOCK_ANCHOR, &v) == RS_OK) {
    int64_t a, r;
    stored = true;
    if(!parse_anchor(v, &old_scale, &a, &r)) {
      have = true;
      anchor = a;
      real_anchor = r;
    }
    else
      log_warn("ignoring a malformed %s in the database: '%s'", DAEMON_META_CLOCK_ANCHOR, v);
    FREE_NULL(v);
  }
  if(scale <= 0) {
    /* real time from now on, for restockctl too: the anchor goes (a later --time-scale
       anchors afresh at real now) */
    if(have)
      log_notice("the database holds a scaled timeline (x%g); running in real time now", old_scale);
    if(stored) {
      if(store_meta_delete(st, DAEMON_META_CLOCK_ANCHOR)) {
        log_err("cannot remove the scaled clock's anchor: %s", store_errmsg(st));
        return NULL;
      }
    }
    return clock_new_real();
  }
  if(have && old_scale != scale) {
    /* continue where the old scale had got to, then run at the new one */
    anchor = anchor + (int64_t)((double)(real_now - real_anchor) * old_scale);
    real_anchor = real_now;
    have = false;
  }
  if(!have && st) {
    if(rs_snprintf(buf, sizeof(buf), "%.17g %" PRId64 " %" PRId64, scale, anchor, real_anchor) ||
       store_meta_set(st, DAEMON_META_CLOCK_ANCHOR, buf)) {
      log_err("cannot store the scaled clock's anchor: %s", store_errmsg(st));
      return NULL;
    }
  }
  clk = clock_new_scaled(scale, anchor, real_anchor);
  if(!clk)
    return NULL;
  clock_format_rfc3339(clock_wall_ms(clk), when, sizeof(when));
  log_warn("TIME IS SCALED: the clock runs %g times faster than real time (simulated now %s); "
           "for demos and tests only",
           scale, when);
  return clk;
}

/* ---- the process ----------------------------------------------------- */

/* 0 when the directory that will hold path exists, else -1 (logged). */
static int check_state_dir(const char *path)
{
  char dir[4096];
  char *slash;
  struct stat sb;
  if(rs_strlcpy(dir, path, sizeof(dir))) {
    log_err("storage.path is too long: %s", path);
    return -1;
  }
  slash = strrchr(dir, '/');
  if(!slash)
    return 0; /* relative to the working directory, which exists */
  if(slash == dir)
    slash[1] = '\0';
  else
    *slash = '\0';
  if(stat(dir, &sb)) {
    log_err("storage.path %s: directory %s: %s (restockd does not create it; the systemd "
            "unit's StateDirectory= does)",
            path, dir, strerror(errno));
    return -1;
  }
  if(!S_ISDIR(sb.st_mode)) {
    log_err("storage.path %s: %s is not a directory", path, dir);
    return -1;
  }
  return 0;
}

/* Log one line per configured device. */
static void log_devices(const struct cfg *cfg)
{
  size_t i;
  for(i = 0; i < cfg->n_devices; i++) {
    const struct cfg_device *d = &cfg->devices[i];
    char where[300], every[32];
    switch(d->transport) {
    case CFG_TR_MODBUS_TCP:
      (void)rs_snprintf(where, sizeof(where), "%s:%u unit %d", d->host ? d->host : "?",
                        (unsigned)d->port, d->unit_id);
      break;
    case CFG_TR_MODBUS_RTU:
      (void)rs_snprintf(where, sizeof(where), "%s unit %d", d->serial ? d->serial : "?",
                        d->unit_id);
      break;
    case CFG_TR_COAP:
      (void)rs_snprintf(where, sizeof(where), "%s", d->uri ? d->uri : "?");
      break;
    default:
      where[0] = '\0';
      break;
    }
    if(d->poll_interval_ms > 0)
      cfg_format_duration(d->poll_interval_ms, every, sizeof(every));
    else
      (void)rs_strlcpy(every, "0ms (continuously)", sizeof(every));
    log_info("device %s: %s %s, poll every %s, %zu point%s, %zu consumable%s", d->id,
             cfg_transport_name(d->transport), where, every, d->n_points,
             d->n_points == 1 ? "" : "s", d->n_consumables, d->n_consumables == 1 ? "" : "s");
  }
}

/* Handle SIGHUP: tell systemd, reload, tell systemd again. */
static void do_reload(struct daemon_core *core, const char *dir)
{
  struct timespec ts;
  uint64_t usec;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  usec = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
  sdn_notifyf("RELOADING=1\nMONOTONIC_USEC=%" PRIu64 "\nSTATUS=reloading the configuration",
             usec);
  log_notice("SIGHUP: reloading the configuration from %s", dir);
  if(daemon_core_reload(core, dir))
    sdn_notify("READY=1\nSTATUS=running (the last reload failed; see the log)");
  else
    sdn_notify("READY=1\nSTATUS=running");
}

/* What the loop's callbacks share. */
struct run_state {
  struct daemon_core *core;
  struct http_server *http;
  struct evloop *loop;
  struct evloop_timer *wd_timer;
  struct evloop_timer *trim_timer; /* malloc_trim every DAEMON_TRIM_INTERVAL_MS */
  const char *dir;
  int sfd;
  int64_t wd_half_ms; /* real ms between watchdog pings; 0: no watchdog */
  bool stop;
  bool reloaded; /* a reload happened in this turn: adapter slot numbers may have moved */
  /* on_trim() unmaps the file pages read since start-up or a reload (base/memtrim.h) */
  bool memtrim_due;
};

/* signalfd readable: SIGHUP reloads, SIGTERM/SIGINT stop. */
static void on_signal(void *ud, int fd, uint32_t events)
{
  struct run_state *rs = ud;
  struct signalfd_siginfo si;
  (void)events;
  while(read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
    if(si.ssi_signo == SIGHUP && !rs->stop) {
      do_reload(rs->core, rs->dir);
      rs->reloaded = true;
      rs->memtrim_due = true; /* the config loader's pages, at the next on_trim() */
    }
    else if(si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
      if(!rs->stop) {
        sdn_notify("STOPPING=1\nSTATUS=stopping");
        log_notice("%s: stopping", si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
      }
      rs->stop = true;
    }
  }
}

/* The scheduler's descriptors (worker results, adapter sockets) woke the loop. */
static void on_sched_event(void *ud, int fd, uint32_t events)
{
  (void)ud;
  (void)fd;
  (void)events; /* daemon_core_step() drains the queue right after the turn */
}

static void on_foreign(void *ud, uint64_t tag)
{
  struct run_state *rs = ud;
  if(!rs->reloaded) /* after a reload in this turn the slot numbers may have moved */
    daemon_core_on_event(rs->core, tag);
}

static void on_http(void *ud, int fd, uint32_t events)
{
  (void)ud;
  (void)fd;
  (void)events; /* http_server_run() runs after every turn */
}

/*
 * Give the heap's free pages back (malloc_trim(0) also releases whole free
 * pages inside the heap, not only at its top) and re-arm. A burst of
 * allocations (three /metrics scrapes and /api/v1/devices at 500 devices:
 * +12.5 MB of RSS) would otherwise stay resident. It walks the free lists:
 * measured 1.5 ms after such a burst, 0.04 ms when there is nothing to give.
 */
static void on_trim(void *ud)
{
  struct run_state *rs = ud;
  (void)malloc_trim(0);
  if(rs->memtrim_due) {
    rs->memtrim_due = false;
    log_debug("%zu kB of file pages unmapped", memtrim_file_pages());
  }
  evloop_timer_arm(rs->trim_timer, clock_real_mono_ms() + DAEMON_TRIM_INTERVAL_MS);
}

/* Ping the systemd watchdog and re-arm for the next half interval. */
static void on_watchdog(void *ud)
{
  struct run_state *rs = ud;
  sdn_notify("WATCHDOG=1");
  evloop_timer_arm(rs->wd_timer, clock_real_mono_ms() + rs->wd_half_ms);
}

int daemon_run(const struct daemon_opts *opts)
{
  const char *dir = opts->config_dir;
  struct cfg *cfg = NULL;
  struct cfg_diags diags = {0};
  struct store *st = NULL;
  struct rs_clock *clk = NULL;
  struct daemon_core *core = NULL;
  struct http_server *http = NULL;
  struct evloop *loop = NULL;
  struct run_state rs;
  int sfd = -1;
  int rc = 1, nerr;
  uint64_t wd_usec = 0;
  sigset_t mask;
  size_t i;
  char err[512];

  memset(&rs, 0, sizeof(rs));
  /*
   * Blocks of 128 KiB or more always come from mmap() and go back to the
   * kernel when freed. glibc's default raises that threshold to the largest
   * block freed so far, so after the first /metrics answer (4.5 MB of text at
   * 500 devices) such buffers came from the heap and their pages stayed
   * resident (+5 MB of RSS after one scrape; docs/BENCHMARKS.md).
   */
  (void)mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  /* block the signals first, so a SIGTERM during start-up waits for the loop */
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  if(sigprocmask(SIG_BLOCK, &mask, NULL)) {
    log_err("cannot block signals: %s", strerror(errno));
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  /*
   * A file-size limit (ulimit -f, LimitFSIZE=) reached by the database or
   * its WAL must be a failed write (EFBIG: reported like a full disk,
   * /healthz degraded), not a silent kill by SIGXFSZ's default action.
   */
  signal(SIGXFSZ, SIG_IGN);

  nerr = cfg_load(dir, &cfg, &diags);
  if(nerr) {
    cfg_diags_print(&diags, stderr);
    cfg_diags_free(&diags);
    rc = 2;
    goto out;
  }
  for(i = 0; i < diags.n; i++)
    log_warn("warning: %s", diags.v[i].text);
  cfg_diags_free(&diags);

  if(check_state_dir(cfg->storage.path))
    goto out;
  if(store_open(cfg->storage.path, &st, err, sizeof(err))) {
    log_err("cannot open the database: %s", err);
    goto out;
  }
  clk = daemon_clock_open(st, opts->time_scale);
  if(!clk)
    goto out;

  log_notice("restockd %s starting: config %s, database %s, %zu device%s, %zu consumable%s",
             RESTOCK_VERSION, dir, cfg->storage.path, cfg->n_devices,
             cfg->n_devices == 1 ? "" : "s", cfg->n_consumables,
             cfg->n_consumables == 1 ? "" : "s");
  log_devices(cfg);

  loop = evloop_new();
  if(!loop) {
    log_err("cannot set up the main loop: %s", strerror(errno));
    goto out;
  }
  core = daemon_core_new(cfg, st, clk, adapter_default_lookup, NULL);
  cfg = NULL; /* owned by the core now, also on failure */
  if(!core) {
    log_err("out of memory");
    goto out;
  }
  daemon_core_set_loop(core, loop);
  (void)pipeline_clock_check(daemon_core_pipeline(core), clock_wall_ms(clk));

  rs.core = core;
  /* the YAML parse and the file buffers are freed: give their pages back, so
     RSS is what restockd keeps (docs/BENCHMARKS.md "where RSS goes") */
  malloc_trim(0);
  /*
   * and the code and read-only data pages that only start-up read (the config loader, libyaml,
   * SQLite's schema code; base/memtrim.h); once more at the first on_trim(), when the first
   * readings' look-ups in the store and the predictors' first loads are over (and after a reload,
   * the loader's): ~2.3 MB at 500 devices, docs/architecture.md "Where RSS goes"
   */
  log_debug("start-up: %zu kB of file pages unmapped", memtrim_file_pages());
  rs.memtrim_due = true;
  rs.loop = loop;
  rs.dir = dir;
  evloop_set_foreign(loop, on_foreign, &rs);
  /* device I/O runs on one worker thread per bus; results wake the loop through evfd */
  (void)scheduler_start_workers(daemon_core_scheduler(core), clock_scale(clk));
  sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if(sfd < 0 || !evloop_io_add(loop, sfd, EPOLLIN, on_signal, &rs)) {
    log_err("cannot set up the main loop: %s", strerror(errno));
    goto out;
  }
  rs.sfd = sfd;
  if(scheduler_event_fd(daemon_core_scheduler(core)) >= 0 &&
     !evloop_io_add(loop, scheduler_event_fd(daemon_core_scheduler(core)), EPOLLIN,
                    on_sched_event, &rs)) {
    log_err("cannot set up the main loop: %s", strerror(errno));
    goto out;
  }
  rs.trim_timer = evloop_timer_new(loop, on_trim, &rs);
  if(rs.trim_timer) /* without it RSS may stay higher: nothing else depends on it */
    evloop_timer_arm(rs.trim_timer, clock_real_mono_ms() + DAEMON_TRIM_INTERVAL_MS);
  if(sdn_watchdog_enabled(&wd_usec) > 0 && wd_usec > 0) {
    rs.wd_half_ms = (int64_t)(wd_usec / 2000u);
    if(rs.wd_half_ms < 1)
      rs.wd_half_ms = 1;
    rs.wd_timer = evloop_timer_new(loop, on_watchdog, &rs);
    if(!rs.wd_timer) {
      log_err("cannot set up the watchdog timer: out of memory");
      goto out;
    }
    evloop_timer_arm(rs.wd_timer, clock_real_mono_ms() + rs.wd_half_ms);
    log_info("systemd watchdog: pinging every %" PRId64 " ms", rs.wd_half_ms);
  }

  {
    struct http_env he = {.st = st, .clk = clk, .loop = loop};
    daemon_core_http_view(core, &he.core);
    http = http_server_start(&he, err, sizeof(err));
  }
  if(!http || !evloop_io_add(loop, http_server_fd(http), EPOLLIN, on_http, &rs)) {
    log_err("cannot serve HTTP: %s", http ? strerror(errno) : err);
    goto out;
  }
  rs.http = http;
  sdn_notify("READY=1\nSTATUS=running");
  log_notice("restockd running");

  daemon_core_attach_epoll(core, evloop_epoll_fd(loop));
  while(!rs.stop) {
    int64_t next = daemon_core_step(core);
    int64_t now = clock_mono_ms(clk);
    int64_t io = daemon_core_next_io_timeout(core);
    double delay = (double)(next - now) / clock_scale(clk);
    int64_t wait_ms = delay > 0 ? (int64_t)ceil(delay) : 0;
    if(io != INT64_MAX && io - clock_real_mono_ms() < wait_ms)
      wait_ms = io - clock_real_mono_ms();
    if(http_server_timeout_ms(http) < wait_ms)
      wait_ms = http_server_timeout_ms(http);
    if(wait_ms < 0)
      wait_ms = 0;
    rs.reloaded = false;
    if(evloop_turn(loop, wait_ms) < 0) {
      log_err("epoll_wait: %s", strerror(errno));
      goto out;
    }
    http_server_run(http); /* its events, and its timeouts when the wait timed out */
  }
  rc = 0;

out:
  http_server_stop(http); /* before the core it reads */
  daemon_core_free(core); /* first: adapters leave the epoll set before it closes */
  evloop_free(loop);
  if(sfd >= 0)
    close(sfd);
  cfg_free(cfg);
  clock_free(clk);
  store_close(st);
  if(rc == 0)
    log_notice("restockd stopped");
  return rc;
}
