/* SPDX-License-Identifier: Apache-2.0 */
/*
 * status: one read-only view of the gateway now, gathered from the public
 * accessors of the scheduler, the reading path and the store. The JSON API
 * (gateway/api.h), the dashboard (gateway/html.h) and the metrics
 * (gateway/metrics.h) all render this view, so they always agree.
 *
 * What is computed here rather than read:
 *   - errors by kind per device are the scheduler's own counts
 *     (sched_device_status.errors: timeout, io, malformed, unavailable,
 *     exception and exception_N by Modbus exception code).
 *   - a consumable's figures come from reading_path_snapshot(), which is
 *     only called for level and usage consumables (for a button it would
 *     take the pending press away from the rules).
 *
 * Not thread-safe: call from the main loop thread only.
 */
#ifndef RS_STATUS_H
#define RS_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "adapters/adapter.h"
#include "gateway/reading.h"
#include "gateway/scheduler.h"
#include "gateway/store.h"

struct status_device {
  const struct cfg_device *dev; /* NULL when the scheduler knows a device the config lost */
  struct sched_device_status s; /* s.errors: counts by enum sched_err_kind */
};

/*
 * Whether error kind k (enum sched_err_kind) of d is shown: the five base
 * kinds always (so a scraper sees the series from the start), each
 * exception_N once it happened.
 */
bool status_error_shown(const struct status_device *d, unsigned k);

struct status_consumable {
  const struct cfg_consumable *c;
  bool has_level;      /* level_pct known */
  double level_pct;    /* 0..100 */
  double days_left;    /* INFINITY when not depleting, NAN when unknown */
  int64_t empty_at_ms; /* wall ms; INT64_MAX when not depleting */
  double rate_per_day; /* percent of life per day; NAN when unknown */
  double confidence;   /* 0..1; NAN when unknown */
  bool stale;
  int64_t spares; /* the store's count when it has one, else the configured one */
  bool open_line;
  char open_order[STORE_ORDER_ID_MAX + 1]; /* order holding the open line, "" if none */
  int64_t value_ms;                        /* wall ms of the last good reading, 0 = never */
};

struct status_view {
  int64_t now_ms; /* wall ms the view was taken at */
  struct status_device *devices;
  size_t n_devices;
  struct status_consumable *consumables; /* in config order: device by device */
  size_t n_consumables;
  uint64_t readings_submitted, readings_stored, store_errors;
};

/*
 * Fill *v for cfg at wall time now_ms. sched, rp and st may each be NULL
 * (their parts are then left empty or at config values). Allocation failure
 * aborts (rs_xcalloc); store errors leave the affected fields at defaults.
 * Free with status_view_free().
 */
void status_view_collect(struct status_view *v, const struct cfg *cfg,
                         const struct scheduler *sched, struct reading_path *rp, struct store *st,
                         int64_t now_ms);
void status_view_free(struct status_view *v);

/* The consumable entry of v with full id "device/id", or NULL. */
const struct status_consumable *status_view_consumable(const struct status_view *v,
                                                       const char *full_id);

/*
 * Alerts to show (one sentence each) into *out (malloc'd array of malloc'd
 * strings, *n set); the caller frees with status_alerts_free(). Covers
 * devices down, stale consumables, orders with a submission error, approved
 * orders not sent because no shop is configured.
 */
void status_alerts(const struct status_view *v, const struct cfg *cfg, struct store *st,
                   char ***out, size_t *n);
void status_alerts_free(char **alerts, size_t n);

#endif
