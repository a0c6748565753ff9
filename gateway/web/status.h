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
#include "base/rs_util.h"
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

/*
 * A consumable's state on the overview, one of (most urgent first when
 * sorted by state): its device is down, its data is stale, it is empty now
 * (level below STATUS_EMPTY_PCT), it is held (a person rejected its order),
 * its order waits for approval, an order for it is under way, or it is ok.
 */
enum status_state {
  STATUS_OK,
  STATUS_ORDERING,
  STATUS_APPROVAL,
  STATUS_HELD,
  STATUS_STALE,
  STATUS_EMPTY,
  STATUS_DEVICE_DOWN,
  STATUS_STATE_COUNT
};
/* A level below this percentage is "empty now" (it reads as 0 % on the page). */
#define STATUS_EMPTY_PCT 0.5

/* "ok", "ordering", "approval", "held", "stale", "empty", "device_down"; "?" out of range. */
const char *status_state_name(enum status_state s);
/* For people: "ok", "ordering", "waiting for approval", "held", ... */
const char *status_state_label(enum status_state s);
/* Name to state: 0 and *out, or -1. */
int status_state_parse(const char *name, enum status_state *out);
/* Urgency for sorting: higher is more urgent (device down first, ok last). */
int status_state_rank(enum status_state s);

struct status_consumable {
  const struct cfg_consumable *c;
  enum status_state state;
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
  bool has_order_state;                    /* open_order names a live order */
  enum store_order_state order_state;      /* its state */
  int64_t on_order;     /* units on this consumable's open lines (not delivered or ended) */
  bool held;            /* no rule makes a line for it until released (SPEC 7) */
  bool device_down;     /* the scheduler marks its device down */
  double cover_days;    /* days_left plus the spares' life; NAN when unknown */
  double lead_time_days; /* the catalog item's lead time */
  /* The predictor's 10th and 90th percentile of days_left; NAN until it gives bounds. */
  double days_left_p10, days_left_p90;
  double cover_days_p10, cover_days_p90; /* the same plus the shelf; NAN until known */
  double runout_risk; /* chance (0..1) cover ends within the lead time; NAN when unknown */
  double position_days; /* cover_days + on_order x typical life; NAN when unknown */
  enum store_hold hold; /* the kind of hold when held */
  int64_t held_since_ms, held_until_ms; /* INT64_MAX: until released */
  const char *hold_reason; /* "" when none was given; owned by the view (a heap copy only for
                              a held consumable: the view is 280 B a consumable smaller) */
  int64_t shelf_since_ms; /* spares on the shelf (unfitted) since; 0 = empty */
  int64_t unknown_fit_ms; /* a part fitted from nowhere (unknown_part_fitted); 0 = none */
};

struct status_view {
  int64_t now_ms; /* wall ms the view was taken at */
  struct status_device *devices;
  size_t n_devices;
  struct status_consumable *consumables; /* in config order: device by device */
  size_t n_consumables;
  uint64_t readings_submitted, readings_stored, store_errors;
  struct rs_strv shop_alerts; /* the shop's alerts, copied (status_view_set_shop_alerts) */
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
/*
 * The order pipeline's alerts about the shop (pipeline_shop_alerts(): the
 * credentials refused, an order the shop does not know...) into v, copied
 * (any it held before are freed): they show with kind "commerce". As with
 * rs_strv_add(), an alert whose copy cannot be allocated is left out.
 */
void status_view_set_shop_alerts(struct status_view *v, const char *const *alerts, size_t n);

/* The consumable entry of v with full id "device/id", or NULL. */
const struct status_consumable *status_view_consumable(const struct status_view *v,
                                                       const char *full_id);

/*
 * An alert for people: its kind (a stable word: "device_down", "stale",
 * "empty", "approval_expired", "storage", "submission", "commerce",
 * "no_shop", "clock", "spare_unused", "unknown_part_fitted"), a sentence and a link to the page that shows it (may be NULL).
 */
struct status_alert {
  const char *kind;
  char *text;
  char *href;
};

/*
 * Alerts into *out (malloc'd array, *n set), most urgent kinds first;
 * free with status_alert_items_free(). Covers the clock, parts empty now,
 * devices down, stale consumables, approvals that expired within the last
 * 7 days, storage errors (readings the database refused), orders with a
 * submission error, the shop's alerts (status_view_set_shop_alerts),
 * approved orders not sent because no shop is configured.
 */
void status_alert_items(const struct status_view *v, const struct cfg *cfg, struct store *st,
                        struct status_alert **out, size_t *n);
void status_alert_items_free(struct status_alert *a, size_t n);
/*
 * How many of status_alert_items()'s alerts there are of each kind:
 * counts[k] for kinds[k] (n_kinds of them), none kept (one consumable's
 * text at a time, not thousands at once: /metrics).
 */
void status_alert_counts(const struct status_view *v, const struct cfg *cfg, struct store *st,
                         const char *const *kinds, size_t n_kinds, size_t *counts);

/*
 * Alerts to show (one sentence each) into *out (malloc'd array of malloc'd
 * strings, *n set); the caller frees with status_alerts_free(). The texts of
 * status_alert_items().
 */
void status_alerts(const struct status_view *v, const struct cfg *cfg, struct store *st,
                   char ***out, size_t *n);
void status_alerts_free(char **alerts, size_t n);

#endif
