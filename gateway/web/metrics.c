/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics: Prometheus text exposition (see metrics.h).
 */
#include "gateway/web/metrics.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/adapter.h"
#include "base/prom.h"

/* Upper bounds (seconds) of the poll-duration buckets; +Inf is implied. */
static const double poll_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define N_BUCKETS (sizeof(poll_buckets) / sizeof(poll_buckets[0]))

struct hist {
  char *device;
  uint64_t seen_polls, seen_failures; /* the scheduler's counters at the last sample */
  uint64_t counts[N_BUCKETS];         /* cumulative per bound, as exposed */
  uint64_t count;
  double sum;
};

struct metrics {
  struct hist *h; /* in the order devices first answered (the exposition's order) */
  size_t n, cap;
  size_t *at; /* the scheduler's device index -> index in h, or SIZE_MAX */
  size_t n_at;
};

struct metrics *metrics_new(void)
{
  return calloc(1, sizeof(struct metrics));
}

void metrics_free(struct metrics *m)
{
  size_t i;
  if(!m)
    return;
  for(i = 0; i < m->n; i++)
    free(m->h[i].device);
  free(m->h);
  free(m->at);
  free(m);
}

/*
 * The histogram of device st->id (the scheduler's device hint), created
 * (counting from the current counters) if new. O(1) per call through the
 * hint's index; a search by id only when the hint is new or moved (a reload).
 */
static struct hist *hist_for(struct metrics *m, const struct sched_device_status *st, size_t hint,
                             bool *fresh)
{
  size_t i;
  struct hist *h;
  *fresh = false;
  if(hint < m->n_at && m->at[hint] < m->n && !strcmp(m->h[m->at[hint]].device, st->id))
    return &m->h[m->at[hint]];
  if(hint >= m->n_at) {
    size_t n = hint + 1 > 2 * m->n_at ? hint + 1 : 2 * m->n_at;
    m->at = rs_xrealloc(m->at, n * sizeof(*m->at));
    for(i = m->n_at; i < n; i++)
      m->at[i] = SIZE_MAX;
    m->n_at = n;
  }
  for(i = 0; i < m->n; i++)
    if(!strcmp(m->h[i].device, st->id)) {
      m->at[hint] = i;
      return &m->h[i];
    }
  if(m->n == m->cap) {
    m->cap = m->cap ? 2 * m->cap : 8;
    m->h = rs_xrealloc(m->h, m->cap * sizeof(*m->h));
  }
  m->at[hint] = m->n;
  h = &m->h[m->n++];
  memset(h, 0, sizeof(*h));
  h->device = rs_xstrdup(st->id);
  *fresh = true;
  return h;
}

static void hist_observe(struct hist *h, double seconds)
{
  size_t b;
  for(b = 0; b < N_BUCKETS; b++)
    if(seconds <= poll_buckets[b])
      h->counts[b]++;
  h->count++;
  h->sum += seconds;
}

struct sample_ctx {
  struct metrics *m;
  const struct scheduler *s;
};

/* Device i finished a successful poll: one observation of its round trip. */
static void sample_one(void *ud, size_t i)
{
  struct sample_ctx *x = ud;
  struct sched_device_status st;
  struct hist *h;
  bool fresh;
  scheduler_device_status(x->s, i, &st);
  if(!st.id || st.rtt_ms < 0)
    return;
  h = hist_for(x->m, &st, i, &fresh);
  h->seen_polls = st.polls;
  h->seen_failures = st.failures;
  hist_observe(h, (double)st.rtt_ms / 1000.0);
}

void metrics_sample(struct metrics *m, struct scheduler *s)
{
  struct sample_ctx x = {m, s};
  if(!m || !s)
    return;
  /* only the polls that ended since the last call: O(1) per poll, not O(devices) per turn */
  scheduler_take_polled(s, sample_one, &x);
}

struct order_counts {
  uint64_t by_state[STORE_ORDER_STATE_COUNT];
  uint64_t submission_errors;
  int64_t oldest_pending_ms; /* when the longest-waiting approval started waiting; 0 = none */
};

/* store_order_cb: count orders by state and failed submission attempts. */
static int count_order(void *ud, const struct store_order *o)
{
  struct order_counts *c = ud;
  int64_t errs = o->attempts;
  if((unsigned)o->state < STORE_ORDER_STATE_COUNT)
    c->by_state[o->state]++;
  /* a pending order's last update is its move to pending_approval */
  if(o->state == STORE_ORDER_PENDING_APPROVAL &&
     (!c->oldest_pending_ms || o->updated_ms < c->oldest_pending_ms))
    c->oldest_pending_ms = o->updated_ms;
  /* an order that got to the shop: its last attempt succeeded */
  if(o->state == STORE_ORDER_SUBMITTED || o->state == STORE_ORDER_SHIPPED ||
     o->state == STORE_ORDER_DELIVERED)
    errs--;
  if(errs > 0)
    c->submission_errors += (uint64_t)errs;
  return 0;
}

static void render_devices(struct metrics *m, const struct status_view *v, struct rs_buf *o)
{
  size_t i;
  unsigned k;

  prom_head(o, "restock_device_up", "gauge", "Whether the device answers (1) or is marked down (0).");
  for(i = 0; i < v->n_devices; i++)
    prom_sample(o, "restock_device_up", "device", v->devices[i].s.id, v->devices[i].s.up ? 1 : 0);
  prom_head(o, "restock_device_polls_total", "counter", "Polls of the device since start.");
  for(i = 0; i < v->n_devices; i++)
    prom_sample_u64(o, "restock_device_polls_total", "device", v->devices[i].s.id,
               v->devices[i].s.polls);
  prom_head(o, "restock_device_poll_failures_total", "counter",
       "Polls the device did not answer since start.");
  for(i = 0; i < v->n_devices; i++)
    prom_sample_u64(o, "restock_device_poll_failures_total", "device", v->devices[i].s.id,
               v->devices[i].s.failures);
  prom_head(o, "restock_device_consecutive_failures", "gauge", "Failed polls in a row.");
  for(i = 0; i < v->n_devices; i++)
    prom_sample(o, "restock_device_consecutive_failures", "device", v->devices[i].s.id,
            (double)v->devices[i].s.consecutive_failures);
  prom_head(o, "restock_device_errors_total", "counter", "Reading errors by kind since start.");
  for(i = 0; i < v->n_devices; i++) {
    for(k = 0; k < SCHED_ERR_KINDS; k++) {
      if(!status_error_shown(&v->devices[i], (unsigned)k))
        continue;
      rs_buf_puts(o, "restock_device_errors_total{device=\"");
      prom_escape_label(o, v->devices[i].s.id);
      rs_buf_printf(o, "\",kind=\"%s\"} %" PRIu64 "\n", scheduler_error_kind_name((unsigned)k),
                    v->devices[i].s.errors[k]);
    }
  }
  prom_head(o, "restock_device_last_success_timestamp_seconds", "gauge",
       "Unix time of the last successful poll (absent before the first).");
  for(i = 0; i < v->n_devices; i++)
    if(v->devices[i].s.last_success_ms > 0)
      prom_sample(o, "restock_device_last_success_timestamp_seconds", "device", v->devices[i].s.id,
              (double)v->devices[i].s.last_success_ms / 1000.0);

  prom_head(o, "restock_poll_duration_seconds", "histogram",
       "Round-trip time of successful device polls.");
  for(i = 0; m && i < m->n; i++) {
    const struct hist *h = &m->h[i];
    prom_histogram(o, "restock_poll_duration_seconds", "device", h->device, poll_buckets,
                   h->counts, N_BUCKETS, h->count, h->sum);
  }
}

static void render_consumables(const struct status_view *v, struct rs_buf *o)
{
  size_t i;
  prom_head(o, "restock_consumable_level_ratio", "gauge",
       "Remaining fraction of the installed part, 0 to 1 (absent before the first reading).");
  for(i = 0; i < v->n_consumables; i++)
    if(v->consumables[i].has_level)
      prom_sample(o, "restock_consumable_level_ratio", "consumable", v->consumables[i].c->full_id,
              v->consumables[i].level_pct / 100.0);
  /* days_left in the base unit Prometheus wants (promtool refuses a "days" metric) */
  prom_head(o, "restock_consumable_time_left_seconds", "gauge",
       "Predicted time until empty (days_left in seconds); +Inf when not depleting, absent "
       "when unknown.");
  for(i = 0; i < v->n_consumables; i++)
    if(v->consumables[i].has_level && !isnan(v->consumables[i].days_left))
      prom_sample(o, "restock_consumable_time_left_seconds", "consumable", v->consumables[i].c->full_id,
              v->consumables[i].days_left * 86400.0);
  /* the calibrated bounds (docs/prediction.md, Bounds), same unit */
  prom_head(o, "restock_consumable_time_left_p10_seconds", "gauge",
       "10 % quantile of the time until empty (days_left_p10 in seconds); +Inf when not "
       "depleting, absent when unknown.");
  for(i = 0; i < v->n_consumables; i++)
    if(v->consumables[i].has_level && !isnan(v->consumables[i].days_left_p10))
      prom_sample(o, "restock_consumable_time_left_p10_seconds", "consumable",
              v->consumables[i].c->full_id, v->consumables[i].days_left_p10 * 86400.0);
  prom_head(o, "restock_consumable_time_left_p90_seconds", "gauge",
       "90 % quantile of the time until empty (days_left_p90 in seconds); +Inf when not "
       "depleting, absent when unknown.");
  for(i = 0; i < v->n_consumables; i++)
    if(v->consumables[i].has_level && !isnan(v->consumables[i].days_left_p90))
      prom_sample(o, "restock_consumable_time_left_p90_seconds", "consumable",
              v->consumables[i].c->full_id, v->consumables[i].days_left_p90 * 86400.0);
  prom_head(o, "restock_consumable_cover_p10_seconds", "gauge",
       "10 % quantile of the cover, installed part and shelf (cover_days_p10 in seconds); "
       "+Inf when not depleting, absent when unknown.");
  for(i = 0; i < v->n_consumables; i++)
    if(v->consumables[i].has_level && !isnan(v->consumables[i].cover_days_p10))
      prom_sample(o, "restock_consumable_cover_p10_seconds", "consumable",
              v->consumables[i].c->full_id, v->consumables[i].cover_days_p10 * 86400.0);
  prom_head(o, "restock_consumable_runout_risk_ratio", "gauge",
       "Chance, 0 to 1, that the cover ends before a delivery ordered now arrives "
       "(runout_risk); absent when unknown.");
  for(i = 0; i < v->n_consumables; i++)
    if(v->consumables[i].has_level && !isnan(v->consumables[i].runout_risk))
      prom_sample(o, "restock_consumable_runout_risk_ratio", "consumable",
              v->consumables[i].c->full_id, v->consumables[i].runout_risk);
  prom_head(o, "restock_consumable_empty_timestamp_seconds", "gauge",
       "Predicted Unix time of empty; absent when not depleting or unknown.");
  for(i = 0; i < v->n_consumables; i++)
    if(v->consumables[i].has_level && v->consumables[i].empty_at_ms != INT64_MAX &&
       v->consumables[i].empty_at_ms > 0)
      prom_sample(o, "restock_consumable_empty_timestamp_seconds", "consumable",
              v->consumables[i].c->full_id, (double)v->consumables[i].empty_at_ms / 1000.0);
  prom_head(o, "restock_consumable_stale", "gauge",
       "1 when the consumable has had no fresh reading within stale_after.");
  for(i = 0; i < v->n_consumables; i++)
    prom_sample(o, "restock_consumable_stale", "consumable", v->consumables[i].c->full_id,
            v->consumables[i].stale ? 1 : 0);
  prom_head(o, "restock_consumable_spares", "gauge", "Parts on the shelf.");
  for(i = 0; i < v->n_consumables; i++)
    prom_sample(o, "restock_consumable_spares", "consumable", v->consumables[i].c->full_id,
            (double)v->consumables[i].spares);
  prom_head(o, "restock_consumable_on_order", "gauge",
       "Units on the consumable's open order line not yet delivered.");
  for(i = 0; i < v->n_consumables; i++)
    prom_sample(o, "restock_consumable_on_order", "consumable", v->consumables[i].c->full_id,
            (double)v->consumables[i].on_order);
  prom_head(o, "restock_consumable_held", "gauge",
       "1 while the consumable is held (rejected, expired or by a person): no rule orders it.");
  for(i = 0; i < v->n_consumables; i++)
    prom_sample(o, "restock_consumable_held", "consumable", v->consumables[i].c->full_id,
            v->consumables[i].held ? 1 : 0);
  /* for the alert "runs out within its lead time with no order open" (issue 16) */
  prom_head(o, "restock_consumable_lead_time_seconds", "gauge",
       "Lead time of the consumable's catalog item (lead_time_days in seconds).");
  for(i = 0; i < v->n_consumables; i++)
    prom_sample(o, "restock_consumable_lead_time_seconds", "consumable", v->consumables[i].c->full_id,
            v->consumables[i].lead_time_days * 86400.0);
  prom_head(o, "restock_consumable_cover_seconds", "gauge",
       "Predicted time until the installed part and the spares are used up (cover_days in "
       "seconds); +Inf when not depleting, absent when unknown.");
  for(i = 0; i < v->n_consumables; i++)
    if(v->consumables[i].has_level && !isnan(v->consumables[i].cover_days))
      prom_sample(o, "restock_consumable_cover_seconds", "consumable", v->consumables[i].c->full_id,
              v->consumables[i].cover_days * 86400.0);
}

/* restock_alerts{kind}: the alerts shown now, counted by kind (status_alert_items). */
static void render_alerts(const struct metrics_input *in, struct rs_buf *o)
{
  static const char *const kinds[] = {"approval_expired", "spare_unused", "unknown_part_fitted",
                                      "empty", "device_down", "stale", "submission", "no_shop",
                                      "storage", "clock"};
  struct status_alert *a = NULL;
  size_t n = 0, i, k;
  status_alert_items(in->v, in->cfg, in->st, &a, &n);
  prom_head(o, "restock_alerts", "gauge", "Alerts shown now, by kind (the status page's banner).");
  for(k = 0; k < RS_ARRAY_LEN(kinds); k++) {
    size_t c = 0;
    for(i = 0; i < n; i++)
      c += a[i].kind && !strcmp(a[i].kind, kinds[k]);
    prom_sample(o, "restock_alerts", "kind", kinds[k], (double)c);
  }
  status_alert_items_free(a, n);
}

enum rs_err metrics_render(struct metrics *m, const struct metrics_input *in, struct rs_buf *o)
{
  struct order_counts oc;
  enum rs_err rc = RS_OK;
  unsigned s;

  memset(&oc, 0, sizeof(oc));
  prom_head(o, "restock_build_info", "gauge", "Always 1; the version is a label.");
  prom_sample(o, "restock_build_info", "version", in->version ? in->version : "", 1);
  if(in->start_time_ms > 0) {
    prom_head(o, "restock_start_time_seconds", "gauge", "Unix time restockd started.");
    prom_sample(o, "restock_start_time_seconds", NULL, NULL, (double)in->start_time_ms / 1000.0);
  }
  render_devices(m, in->v, o);
  render_consumables(in->v, o);
  if(in->cfg)
    render_alerts(in, o);
  if(in->loop) {
    prom_head(o, "restock_loop_turn_seconds", "histogram",
         "Work the main loop did between two waits (one turn).");
    prom_histogram(o, "restock_loop_turn_seconds", NULL, NULL, evloop_bucket_bounds,
                   in->loop->buckets, EVLOOP_N_BUCKETS, in->loop->count, in->loop->sum_s);
    prom_head(o, "restock_loop_lag_seconds", "gauge",
         "The longest main-loop turn within the last 10 s (or the current one, if longer).");
    prom_sample(o, "restock_loop_lag_seconds", NULL, NULL, (double)in->loop_lag_ms / 1000.0);
  }

  prom_head(o, "restock_readings_total", "counter", "Readings taken (good and failed) since start.");
  prom_sample_u64(o, "restock_readings_total", NULL, NULL, in->v->readings_submitted);
  prom_head(o, "restock_readings_stored_total", "counter",
       "Readings written to the database since start (after deadband and heartbeat).");
  prom_sample_u64(o, "restock_readings_stored_total", NULL, NULL, in->v->readings_stored);
  prom_head(o, "restock_store_errors_total", "counter", "Readings the database refused since start.");
  prom_sample_u64(o, "restock_store_errors_total", NULL, NULL, in->v->store_errors);
  if(in->lines_created >= 0) {
    prom_head(o, "restock_order_lines_created_total", "counter", "Order lines the rules created.");
    prom_sample_u64(o, "restock_order_lines_created_total", NULL, NULL, (uint64_t)in->lines_created);
  }

  if(in->st) {
    rc = store_list_orders(in->st, false, STORE_ORDER_DRAFT, 0, count_order, &oc);
    if(rc)
      return rc;
  }
  prom_head(o, "restock_orders", "gauge", "Orders in the database by state.");
  for(s = 0; s < STORE_ORDER_STATE_COUNT; s++)
    prom_sample_u64(o, "restock_orders", "state", store_order_state_name((enum store_order_state)s),
               oc.by_state[s]);
  prom_head(o, "restock_approvals_pending", "gauge", "Orders waiting for a person to approve them.");
  prom_sample_u64(o, "restock_approvals_pending", NULL, NULL, oc.by_state[STORE_ORDER_PENDING_APPROVAL]);
  prom_head(o, "restock_approvals_oldest_pending_timestamp_seconds", "gauge",
       "Unix time the longest-waiting approval started waiting (absent when none waits).");
  if(oc.oldest_pending_ms > 0)
    prom_sample(o, "restock_approvals_oldest_pending_timestamp_seconds", NULL, NULL,
            (double)oc.oldest_pending_ms / 1000.0);
  prom_head(o, "restock_submission_errors_total", "counter",
       "Failed attempts to place orders with the shop (from the stored attempt counts).");
  prom_sample_u64(o, "restock_submission_errors_total", NULL, NULL, oc.submission_errors);
  return o->oom ? RS_ERR_NOMEM : RS_OK;
}
