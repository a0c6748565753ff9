/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon: restockd's life cycle (SPEC 2, 3, 12) and the core it drives.
 *
 * daemon_run() is the whole process after argument parsing: load the config,
 * open the store, choose the clock, then one epoll loop over a signalfd
 * (SIGTERM/SIGINT stop, SIGHUP reloads), a timerfd for the next due poll or
 * evaluation, and a timerfd for the systemd watchdog. It talks to systemd
 * with sd_notify(): READY=1 after start, WATCHDOG=1 at half of
 * WATCHDOG_USEC, RELOADING=1 + MONOTONIC_USEC then READY=1 around a reload,
 * STOPPING=1 on the way out.
 *
 * struct daemon_core is the data path without the loop, so tests drive it on
 * a virtual clock:
 *
 *   scheduler -> adapter poll -> struct reading -> reading path (live state,
 *   deadband/heartbeat, store) -> snapshots -> rules_evaluate() ->
 *   struct rule_decision -> pipeline (order lines in the store)
 *
 * Not thread-safe: everything runs on the main loop thread.
 */
#ifndef RS_DAEMON_H
#define RS_DAEMON_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "adapters/adapter.h"
#include "base/clock.h"
#include "base/evloop.h"
#include "gateway/pipeline.h"
#include "gateway/reading.h"
#include "gateway/scheduler.h"
#include "gateway/store.h"
#include "gateway/web/http.h"

/* How often (scaled ms) the rules run even when no reading arrived (`for`, staleness). */
#define DAEMON_EVAL_INTERVAL_MS 60000

/* How often (real ms) restockd hands freed heap pages back to the kernel (malloc_trim):
 * what a status page, a metrics scrape, the warm-up or a reload allocated for a moment
 * does not stay in RSS (docs/BENCHMARKS.md, "Where the RSS goes"). */
#define DAEMON_TRIM_INTERVAL_MS 30000

/* Retention (storage.retention): the first pass a minute after start, then
 * daily on the (scaled) wall clock, keeping one reading per hour and point. */
#define DAEMON_THIN_FIRST_MS    60000
#define DAEMON_THIN_INTERVAL_MS 86400000
#define DAEMON_THIN_BUCKET_MS   3600000

/*
 * Readings that pass the deadband/heartbeat filter are kept in memory and
 * written in one transaction at most this often (daemon wall ms, so it
 * scales with --time-scale), or at once when READING_BATCH_MAX wait. A power
 * cut loses at most this much of the stored readings (never orders: their
 * transactions are durable on their own).
 */
#define DAEMON_COMMIT_INTERVAL_MS (5 * 60 * 1000)
#define DAEMON_COMMIT_MAX         4096

/* The meta key holding the scaled timeline's anchor: "SCALE ANCHOR_WALL_MS REAL_ANCHOR_WALL_MS". */
#define DAEMON_META_CLOCK_ANCHOR "clock.scaled_anchor"

struct daemon_opts {
  const char *config_dir; /* --config */
  double time_scale;      /* --time-scale; 0 = real time */
};

/*
 * Run restockd until SIGTERM or SIGINT. Returns the exit code: 0 after a
 * clean stop, 1 when it could not start (store, signals, epoll), 2 for an
 * invalid config (its diagnostics printed to stderr as --check prints them).
 */
int daemon_run(const struct daemon_opts *opts);

struct daemon_core;

/*
 * A core over cfg (owned from now on, freed by the core), st and clk
 * (borrowed, must outlive the core), with backends from lookup(lookup_ctx, t).
 * Every device is due at once. NULL only on allocation failure (cfg is then
 * freed too).
 */
struct daemon_core *daemon_core_new(struct cfg *cfg, struct store *st, struct rs_clock *clk,
                                    adapter_lookup_fn lookup, void *lookup_ctx);
/* Close adapters, free the config and the core. NULL is fine. */
void daemon_core_free(struct daemon_core *c);

/*
 * Do what is due at the clock's now: adapter timers that expired (real
 * time), due device polls, then the rules when readings arrived or
 * DAEMON_EVAL_INTERVAL_MS passed; then sync adapter descriptors with the
 * epoll set. Returns the monotonic (scaled) ms of the next thing due (see
 * also daemon_core_next_io_timeout()).
 */
int64_t daemon_core_step(struct daemon_core *c);

/*
 * Adapter descriptors go into epoll set ep (not owned) with
 * SCHEDULER_EPOLL_TAG in data.u64; daemon_core_step() keeps them in sync.
 */
void daemon_core_attach_epoll(struct daemon_core *c, int ep);
/* An epoll event tagged SCHEDULER_EPOLL_TAG: the adapter reads what arrived. */
void daemon_core_on_event(struct daemon_core *c, uint64_t tag);
/* Real monotonic ms of the earliest adapter timer (retransmissions), INT64_MAX for none. */
int64_t daemon_core_next_io_timeout(const struct daemon_core *c);

/* Evaluate every consumable now; returns how many order lines were created. */
size_t daemon_core_evaluate(struct daemon_core *c);

/*
 * Load dir into a new config and swap it in when valid. Every diagnostic is
 * logged (errors at error level, "file:line:column: ..."). Returns 0 when the
 * new config runs (and logs "configuration reloaded: N devices, ..."), else
 * the number of errors, with the old config still running.
 */
int daemon_core_reload(struct daemon_core *c, const char *dir);

/*
 * Swap in cfg (owned from now on); the old config is freed. Live state,
 * device state and `for` timers (by consumable id and rule name) carry over.
 */
void daemon_core_swap_config(struct daemon_core *c, struct cfg *cfg);

const struct cfg *daemon_core_config(const struct daemon_core *c);
/* What the HTTP server reads of c (gateway/web/http.h); valid while c lives. */
void daemon_core_http_view(struct daemon_core *c, struct http_core *out);
struct scheduler *daemon_core_scheduler(struct daemon_core *c);
struct reading_path *daemon_core_readings(struct daemon_core *c);
struct pipeline *daemon_core_pipeline(struct daemon_core *c);

/*
 * The daemon's clock for st: real when scale <= 0 (an anchor st holds is
 * removed, so restockctl stamps wall time too); else scaled by `scale`,
 * anchored at DAEMON_META_CLOCK_ANCHOR in st (written at the first scaled
 * start; a restart with another scale re-anchors at the current simulated
 * time so it never jumps back). Logs at warning level that time is scaled.
 * NULL on allocation failure or when the anchor cannot be stored or removed
 * (logged).
 */
struct rs_clock *daemon_clock_open(struct store *st, double scale);
/*
 * Now on the timeline st holds, for another process acting on restockd's
 * database (restockctl): the scaled clock's time when st holds an anchor
 * (restockd ran with --time-scale), else real wall time. Reads only.
 */
int64_t daemon_clock_now_ms(struct store *st);

#endif
