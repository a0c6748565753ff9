/* SPDX-License-Identifier: Apache-2.0 */
/*
 * status: the gateway's state now, for the API, dashboard and metrics
 * (see status.h).
 */
#include "gateway/web/status.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_util.h"
#include "base/clock.h"
#include "rules/expr.h"
#include "rules/rules.h"

/* store_line_cb: note the order of each open line on its consumable. */
static int note_open_line(void *ud, const struct store_order_line *line)
{
  struct status_view *v = ud;
  size_t i;
  for(i = 0; i < v->n_consumables; i++) {
    struct status_consumable *sc = &v->consumables[i];
    if(!strcmp(sc->c->full_id, line->consumable)) {
      sc->open_line = true;
      if(line->order_id)
        (void)rs_strlcpy(sc->open_order, line->order_id, sizeof(sc->open_order));
    }
  }
  return 0;
}

bool status_error_shown(const struct status_device *d, unsigned k)
{
  if(k >= SCHED_ERR_KINDS)
    return false;
  return k <= SCHED_ERR_EXCEPTION || d->s.errors[k] > 0;
}

/* Figures of consumable c at now_ms into *sc. */
static void consumable_figures(struct status_consumable *sc, const struct cfg_consumable *c,
                               struct reading_path *rp, struct store *st, int64_t now_ms)
{
  struct rule_snapshot snap;
  const struct live_point *lp = NULL;
  struct store_consumable sst;

  memset(sc, 0, sizeof(*sc));
  sc->c = c;
  sc->days_left = NAN;
  sc->empty_at_ms = INT64_MAX;
  sc->rate_per_day = NAN;
  sc->confidence = NAN;
  sc->spares = c->spares;
  sc->stale = true;
  if(rp && c->device && c->point)
    lp = reading_path_live(rp, c->device->id, c->point->id);
  if(lp && lp->has_value)
    sc->value_ms = lp->value_ms;
  if(rp && c->model != CFG_MODEL_BUTTON) {
    reading_path_snapshot(rp, c, now_ms, false, &snap);
    sc->stale = snap.stale;
    if(!isnan(snap.vars[EXPR_VAR_LEVEL_PCT])) {
      sc->has_level = true;
      sc->level_pct = snap.vars[EXPR_VAR_LEVEL_PCT];
      sc->days_left = snap.vars[EXPR_VAR_DAYS_LEFT];
      sc->empty_at_ms = snap.empty_at_ms;
      sc->rate_per_day = snap.vars[EXPR_VAR_RATE_PER_DAY];
      sc->confidence = snap.vars[EXPR_VAR_CONFIDENCE];
    }
  }
  else if(lp && lp->has_value)
    sc->stale = now_ms - lp->value_ms > c->stale_after_ms;
  if(st && store_get_consumable_state(st, c->full_id, &sst) == RS_OK) {
    sc->spares = sst.spares;
    store_consumable_free(&sst);
  }
}

void status_view_collect(struct status_view *v, const struct cfg *cfg,
                         const struct scheduler *sched, struct reading_path *rp, struct store *st,
                         int64_t now_ms)
{
  size_t i, j, k;
  memset(v, 0, sizeof(*v));
  v->now_ms = now_ms;

  if(sched) {
    v->n_devices = scheduler_n_devices(sched);
    v->devices = rs_xcalloc(v->n_devices ? v->n_devices : 1, sizeof(*v->devices));
    for(i = 0; i < v->n_devices; i++) {
      struct status_device *d = &v->devices[i];
      scheduler_device_status(sched, i, &d->s);
      d->dev = d->s.id ? cfg_find_device(cfg, d->s.id) : NULL;
    }
  }

  v->n_consumables = 0;
  for(i = 0; i < cfg->n_devices; i++)
    v->n_consumables += cfg->devices[i].n_consumables;
  v->consumables = rs_xcalloc(v->n_consumables ? v->n_consumables : 1, sizeof(*v->consumables));
  k = 0;
  for(i = 0; i < cfg->n_devices; i++)
    for(j = 0; j < cfg->devices[i].n_consumables; j++)
      consumable_figures(&v->consumables[k++], &cfg->devices[i].consumables[j], rp, st, now_ms);
  if(st)
    (void)store_list_open_lines(st, note_open_line, v);
  if(rp)
    reading_path_counts(rp, &v->readings_submitted, &v->readings_stored, &v->store_errors);
}

void status_view_free(struct status_view *v)
{
  FREE_NULL(v->devices);
  FREE_NULL(v->consumables);
  v->n_devices = v->n_consumables = 0;
}

const struct status_consumable *status_view_consumable(const struct status_view *v,
                                                       const char *full_id)
{
  size_t i;
  for(i = 0; i < v->n_consumables; i++)
    if(!strcmp(v->consumables[i].c->full_id, full_id))
      return &v->consumables[i];
  return NULL;
}

struct alert_list {
  char **v;
  size_t n, cap;
};

static void alert_add(struct alert_list *l, struct rs_buf *b)
{
  if(b->oom || !b->data)
    return;
  if(l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 8;
    l->v = rs_xrealloc(l->v, l->cap * sizeof(*l->v));
  }
  l->v[l->n++] = b->data; /* the buffer's string moves into the list */
  memset(b, 0, sizeof(*b));
}

struct order_alert_ctx {
  struct alert_list *l;
  const struct cfg *cfg;
  size_t approved_unsent;
};

/* store_order_cb: an alert for each live order whose last submission failed. */
static int order_alerts(void *ud, const struct store_order *o)
{
  struct order_alert_ctx *x = ud;
  struct rs_buf b = {0};
  if(store_order_state_final(o->state))
    return 0;
  if(o->state == STORE_ORDER_APPROVED && !x->cfg->commerce.set)
    x->approved_unsent++;
  if(o->last_error && (o->state == STORE_ORDER_APPROVED || o->state == STORE_ORDER_SUBMITTED)) {
    rs_buf_printf(&b, "order %s: submission failed (%" PRId64 " attempt%s): %s", o->id, o->attempts,
                  o->attempts == 1 ? "" : "s", o->last_error);
    alert_add(x->l, &b);
  }
  return 0;
}

void status_alerts(const struct status_view *v, const struct cfg *cfg, struct store *st,
                   char ***out, size_t *n)
{
  struct alert_list l = {0};
  struct rs_buf b = {0};
  size_t i;
  char t[40];

  if(!clock_wall_sane(v->now_ms)) {
    rs_buf_puts(&b, "the clock is not plausible (before the build date): nothing is ordered");
    alert_add(&l, &b);
  }
  for(i = 0; i < v->n_devices; i++) {
    const struct status_device *d = &v->devices[i];
    if(d->s.up)
      continue;
    if(d->s.last_success_ms > 0) {
      clock_format_rfc3339(d->s.last_success_ms, t, sizeof(t));
      rs_buf_printf(&b, "device %s is down (%" PRId64 " failed polls in a row; last success %s)",
                    d->s.id, d->s.consecutive_failures, t);
    }
    else
      rs_buf_printf(&b, "device %s is down (%" PRId64 " failed polls in a row; never answered)",
                    d->s.id, d->s.consecutive_failures);
    alert_add(&l, &b);
  }
  for(i = 0; i < v->n_consumables; i++) {
    const struct status_consumable *sc = &v->consumables[i];
    if(!sc->stale || sc->c->model == CFG_MODEL_BUTTON)
      continue;
    if(sc->value_ms > 0) {
      clock_format_rfc3339(sc->value_ms, t, sizeof(t));
      rs_buf_printf(&b, "consumable %s is stale (last reading %s): its rules do not fire",
                    sc->c->full_id, t);
    }
    else
      rs_buf_printf(&b, "consumable %s is stale (no reading yet): its rules do not fire",
                    sc->c->full_id);
    alert_add(&l, &b);
  }
  if(st) {
    struct order_alert_ctx x = {&l, cfg, 0};
    (void)store_list_orders(st, false, STORE_ORDER_DRAFT, 0, order_alerts, &x);
    if(x.approved_unsent) {
      rs_buf_printf(&b, "%zu approved order%s not sent: no shop configured", x.approved_unsent,
                    x.approved_unsent == 1 ? "" : "s");
      alert_add(&l, &b);
    }
  }
  rs_buf_free(&b);
  *out = l.v;
  *n = l.n;
}

void status_alerts_free(char **alerts, size_t n)
{
  size_t i;
  for(i = 0; i < n; i++)
    free(alerts[i]);
  free(alerts);
}
