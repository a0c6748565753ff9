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
#include "base/docstream.h"
#include "gateway/web/viewdoc.h"
#include "base/prom.h"

/* Upper bounds (seconds) of the poll-duration buckets; +Inf is implied. */
static const double poll_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define N_BUCKETS (sizeof(poll_buckets) / sizeof(poll_buckets[0]))

struct hist {
  char *device;
  uint64_t seen_polls, seen_failures; /* the scheduler's counters at the last sample */
  uint64_t counts[N_BUCKETS];         /* per bucket (not cumulative: summed when written) */
  uint64_t count;
  double sum;
};

struct metrics {
  struct hist *h; /* in the order devices first answered (the exposition's order) */
  size_t n, cap;
  size_t *at; /* the scheduler's device index -> index in h, or SIZE_MAX */
  size_t n_at;
  uint32_t gen; /* the scheduler's generation at[] is for (sched_poll_sample.gen) */
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
 * The histogram of device id, index hint in the scheduler of generation gen,
 * created (counting from the current counters) if new. O(1) per call, no
 * string compared: the index map is valid for one generation (a reload moves
 * the scheduler's device numbers and starts a new one); a search by id only
 * when the index is new to the map (the first poll of a device, or the first
 * after a reload).
 */
static struct hist *hist_for(struct metrics *m, const char *id, size_t hint, uint32_t gen,
                             bool *fresh)
{
  size_t i;
  struct hist *h;
  *fresh = false;
  if(gen != m->gen) {
    for(i = 0; i < m->n_at; i++)
      m->at[i] = SIZE_MAX;
    m->gen = gen;
  }
  if(hint < m->n_at && m->at[hint] < m->n)
    return &m->h[m->at[hint]];
  if(hint >= m->n_at) {
    size_t n = hint + 1 > 2 * m->n_at ? hint + 1 : 2 * m->n_at;
    m->at = rs_xrealloc(m->at, n * sizeof(*m->at));
    for(i = m->n_at; i < n; i++)
      m->at[i] = SIZE_MAX;
    m->n_at = n;
  }
  for(i = 0; i < m->n; i++)
    if(!strcmp(m->h[i].device, id)) {
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
  h->device = rs_xstrdup(id);
  *fresh = true;
  return h;
}

static void hist_observe(struct hist *h, double seconds)
{
  size_t b = 0;
  /* one increment per poll, in its own bucket (above the last: +Inf, count only) */
  while(b < N_BUCKETS && seconds > poll_buckets[b])
    b++;
  if(b < N_BUCKETS)
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
  struct sched_poll_sample st;
  struct hist *h;
  bool fresh;
  scheduler_poll_sample(x->s, i, &st);
  if(!st.id || st.rtt_ms < 0)
    return;
  h = hist_for(x->m, st.id, i, st.gen, &fresh);
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

/* ---- the per-device and per-consumable families, one item at a time ------ */

struct family {
  const char *name, *type, *help;
};

static const struct family dev_fams[] = {
    {"restock_device_up", "gauge", "Whether the device answers (1) or is marked down (0)."},
    {"restock_device_polls_total", "counter", "Polls of the device since start."},
    {"restock_device_poll_failures_total", "counter",
     "Polls the device did not answer since start."},
    {"restock_device_consecutive_failures", "gauge", "Failed polls in a row."},
    {"restock_device_errors_total", "counter", "Reading errors by kind since start."},
    {"restock_device_last_success_timestamp_seconds", "gauge",
     "Unix time of the last successful poll (absent before the first)."},
};

/* Device family f's samples of device d. */
static void dev_item(size_t f, const struct status_device *d, struct rs_buf *o)
{
  const char *name = dev_fams[f].name;
  unsigned k;
  switch(f) {
  case 0:
    prom_sample(o, name, "device", d->s.id, d->s.up ? 1 : 0);
    break;
  case 1:
    prom_sample_u64(o, name, "device", d->s.id, d->s.polls);
    break;
  case 2:
    prom_sample_u64(o, name, "device", d->s.id, d->s.failures);
    break;
  case 3:
    prom_sample(o, name, "device", d->s.id, (double)d->s.consecutive_failures);
    break;
  case 4:
    for(k = 0; k < SCHED_ERR_KINDS; k++) {
      if(!status_error_shown(d, (unsigned)k))
        continue;
      rs_buf_puts(o, "restock_device_errors_total{device=\"");
      prom_escape_label(o, d->s.id);
      rs_buf_printf(o, "\",kind=\"%s\"} %" PRIu64 "\n", scheduler_error_kind_name((unsigned)k),
                    d->s.errors[k]);
    }
    break;
  default:
    if(d->s.last_success_ms > 0)
      prom_sample(o, name, "device", d->s.id, (double)d->s.last_success_ms / 1000.0);
    break;
  }
}

/* days_left and the like in the base unit Prometheus wants (promtool refuses a "days" metric) */
static const struct family cons_fams[] = {
    {"restock_consumable_level_ratio", "gauge",
     "Remaining fraction of the installed part, 0 to 1 (absent before the first reading)."},
    {"restock_consumable_time_left_seconds", "gauge",
     "Predicted time until empty (days_left in seconds); +Inf when not depleting, absent "
     "when unknown."},
    /* the calibrated bounds (docs/prediction.md, Bounds), same unit */
    {"restock_consumable_time_left_p10_seconds", "gauge",
     "10 % quantile of the time until empty (days_left_p10 in seconds); +Inf when not "
     "depleting, absent when unknown."},
    {"restock_consumable_time_left_p90_seconds", "gauge",
     "90 % quantile of the time until empty (days_left_p90 in seconds); +Inf when not "
     "depleting, absent when unknown."},
    {"restock_consumable_cover_p10_seconds", "gauge",
     "10 % quantile of the cover, installed part and shelf (cover_days_p10 in seconds); "
     "+Inf when not depleting, absent when unknown."},
    {"restock_consumable_runout_risk_ratio", "gauge",
     "Chance, 0 to 1, that the cover ends before a delivery ordered now arrives "
     "(runout_risk); absent when unknown."},
    {"restock_consumable_empty_timestamp_seconds", "gauge",
     "Predicted Unix time of empty; absent when not depleting or unknown."},
    {"restock_consumable_stale", "gauge",
     "1 when the consumable has had no fresh reading within stale_after."},
    {"restock_consumable_spares", "gauge", "Parts on the shelf."},
    {"restock_consumable_on_order", "gauge",
     "Units on the consumable's open order line not yet delivered."},
    {"restock_consumable_held", "gauge",
     "1 while the consumable is held (rejected, expired or by a person): no rule orders it."},
    /* for the alert "runs out within its lead time with no order open" (issue 16) */
    {"restock_consumable_lead_time_seconds", "gauge",
     "Lead time of the consumable's catalog item (lead_time_days in seconds)."},
    {"restock_consumable_cover_seconds", "gauge",
     "Predicted time until the installed part and the spares are used up (cover_days in "
     "seconds); +Inf when not depleting, absent when unknown."},
};

/* Consumable family f's value of c into *x; false when the sample is absent. */
static bool cons_value(size_t f, const struct status_consumable *c, double *x)
{
  switch(f) {
  case 0:
    *x = c->level_pct / 100.0;
    return c->has_level;
  case 1:
    *x = c->days_left * 86400.0;
    return c->has_level && !isnan(c->days_left);
  case 2:
    *x = c->days_left_p10 * 86400.0;
    return c->has_level && !isnan(c->days_left_p10);
  case 3:
    *x = c->days_left_p90 * 86400.0;
    return c->has_level && !isnan(c->days_left_p90);
  case 4:
    *x = c->cover_days_p10 * 86400.0;
    return c->has_level && !isnan(c->cover_days_p10);
  case 5:
    *x = c->runout_risk;
    return c->has_level && !isnan(c->runout_risk);
  case 6:
    *x = (double)c->empty_at_ms / 1000.0;
    return c->has_level && c->empty_at_ms != INT64_MAX && c->empty_at_ms > 0;
  case 7:
    *x = c->stale ? 1 : 0;
    return true;
  case 8:
    *x = (double)c->spares;
    return true;
  case 9:
    *x = (double)c->on_order;
    return true;
  case 10:
    *x = c->held ? 1 : 0;
    return true;
  case 11:
    *x = c->lead_time_days * 86400.0;
    return true;
  default:
    *x = c->cover_days * 86400.0;
    return c->has_level && !isnan(c->cover_days);
  }
}

/* restock_alerts{kind}: the alerts shown now, counted by kind (status_alert_items). */
static void render_alerts(const struct metrics_input *in, struct rs_buf *o)
{
  static const char *const kinds[] = {"approval_expired", "spare_unused", "unknown_part_fitted",
                                      "empty", "device_down", "stale", "submission", "commerce",
                                      "no_shop", "storage", "clock"};
  size_t counts[RS_ARRAY_LEN(kinds)], k;
  status_alert_counts(in->v, in->cfg, in->st, kinds, RS_ARRAY_LEN(kinds), counts);
  prom_head(o, "restock_alerts", "gauge", "Alerts shown now, by kind (the status page's banner).");
  for(k = 0; k < RS_ARRAY_LEN(kinds); k++)
    prom_sample(o, "restock_alerts", "kind", kinds[k], (double)counts[k]);
}

/* What follows the per-item families (alerts, loop, readings, orders): small, rendered at once. */
static enum rs_err render_tail(const struct metrics_input *in, struct rs_buf *o)
{
  struct order_counts oc;
  enum rs_err rc = RS_OK;
  unsigned s;

  memset(&oc, 0, sizeof(oc));
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

struct metrics_stream {
  struct viewdoc d;  /* the view, the config reference; head: build info, start time; tail:
                        render_tail() */
  struct metrics *m; /* borrowed: the poll histograms, read as they are at each part */
};

/* The sections: each device family, the poll histograms, each consumable family. */
#define N_DEV_FAMS  RS_ARRAY_LEN(dev_fams)
#define N_CONS_FAMS RS_ARRAY_LEN(cons_fams)
#define SEC_HIST    N_DEV_FAMS

static const struct family hist_fam = {"restock_poll_duration_seconds", "histogram",
                                       "Round-trip time of successful device polls."};

/* docstream ops: a section is one family, its HELP/TYPE lines its opening. */
static void fam_open(void *ud, size_t sec, struct rs_buf *o)
{
  const struct family *f = sec < SEC_HIST    ? &dev_fams[sec]
                            : sec == SEC_HIST ? &hist_fam
                                              : &cons_fams[sec - SEC_HIST - 1];
  (void)ud;
  prom_head(o, f->name, f->type, f->help);
}

/* A device family's items are the devices, the histograms' the devices polled so far. */
static size_t fam_count(void *ud, size_t sec)
{
  const struct metrics_stream *s = ud;
  if(sec < SEC_HIST)
    return s->d.v.n_devices;
  if(sec == SEC_HIST)
    return s->m ? s->m->n : 0;
  return s->d.v.n_consumables;
}

static bool fam_item(void *ud, size_t sec, size_t i, struct rs_buf *o)
{
  const struct metrics_stream *s = ud;
  if(sec < SEC_HIST)
    dev_item(sec, &s->d.v.devices[i], o);
  else if(sec == SEC_HIST) {
    const struct hist *h = &s->m->h[i];
    uint64_t cum[N_BUCKETS], run = 0;
    size_t b;
    for(b = 0; b < N_BUCKETS; b++)
      cum[b] = run += h->counts[b];
    prom_histogram(o, hist_fam.name, "device", h->device, poll_buckets, cum, N_BUCKETS,
                   h->count, h->sum);
  }
  else {
    const struct status_consumable *c = &s->d.v.consumables[i];
    double x;
    if(cons_value(sec - SEC_HIST - 1, c, &x))
      prom_sample(o, cons_fams[sec - SEC_HIST - 1].name, "consumable", c->c->full_id, x);
  }
  return true;
}

static const struct docstream_ops metrics_doc_ops = {fam_open, fam_count, fam_item};

enum rs_err metrics_stream_new(struct metrics *m, const struct metrics_input *in,
                               struct status_view *v, struct metrics_stream **out)
{
  struct metrics_stream *s = calloc(1, sizeof(*s));
  struct metrics_input x = *in;
  enum rs_err rc;

  *out = NULL;
  if(!s)
    return RS_ERR_NOMEM;
  viewdoc_init(&s->d, &metrics_doc_ops, s, N_DEV_FAMS + 1 + N_CONS_FAMS, v, in->cfg);
  s->m = m;
  x.v = &s->d.v;
  prom_head(&s->d.doc.head, "restock_build_info", "gauge", "Always 1; the version is a label.");
  prom_sample(&s->d.doc.head, "restock_build_info", "version", in->version ? in->version : "", 1);
  if(in->start_time_ms > 0) {
    prom_head(&s->d.doc.head, "restock_start_time_seconds", "gauge",
              "Unix time restockd started.");
    prom_sample(&s->d.doc.head, "restock_start_time_seconds", NULL, NULL,
                (double)in->start_time_ms / 1000.0);
  }
  /* the store's and the loop's figures now: a store error is known before the answer starts */
  rc = render_tail(&x, &s->d.doc.tail);
  if(!rc && (s->d.doc.head.oom || s->d.doc.tail.oom))
    rc = RS_ERR_NOMEM;
  if(rc) {
    metrics_stream_free(s);
    return rc;
  }
  *out = s;
  return RS_OK;
}

void metrics_stream_free(void *ud)
{
  struct metrics_stream *s = ud;
  if(!s)
    return;
  viewdoc_release(&s->d);
  free(s);
}

int metrics_stream_fill(void *ud, struct rs_buf *o)
{
  struct metrics_stream *s = ud;
  return docstream_fill(&s->d.doc, o);
}
