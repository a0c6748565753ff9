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

static const struct {
  const char *name, *label;
  int rank;
} state_info[STATUS_STATE_COUNT] = {
    [STATUS_OK] = {"ok", "ok", 0},
    [STATUS_ORDERING] = {"ordering", "ordering", 1},
    [STATUS_APPROVAL] = {"approval", "waiting for approval", 3},
    [STATUS_HELD] = {"held", "held", 2},
    [STATUS_STALE] = {"stale", "stale", 4},
    [STATUS_EMPTY] = {"empty", "empty", 5},
    [STATUS_DEVICE_DOWN] = {"device_down", "device down", 6},
};

const char *status_state_name(enum status_state s)
{
  return (unsigned)s < STATUS_STATE_COUNT ? state_info[s].name : "?";
}

const char *status_state_label(enum status_state s)
{
  return (unsigned)s < STATUS_STATE_COUNT ? state_info[s].label : "?";
}

int status_state_rank(enum status_state s)
{
  return (unsigned)s < STATUS_STATE_COUNT ? state_info[s].rank : -1;
}

int status_state_parse(const char *name, enum status_state *out)
{
  unsigned i;
  for(i = 0; i < STATUS_STATE_COUNT; i++)
    if(!strcmp(state_info[i].name, name)) {
      *out = (enum status_state)i;
      return 0;
    }
  return -1;
}

/* While collecting: consumable indices sorted by full id, and the live orders' states. */
struct collect_ctx {
  struct status_view *v;
  size_t *by_id; /* indices into v->consumables, sorted by full_id */
  struct {
    char id[STORE_ORDER_ID_MAX + 1];
    enum store_order_state state;
  } * orders;
  size_t n_orders, cap_orders;
};

static const struct status_view *sort_view; /* qsort has no user pointer */

static int cmp_by_id(const void *a, const void *b)
{
  return strcmp(sort_view->consumables[*(const size_t *)a].c->full_id,
                sort_view->consumables[*(const size_t *)b].c->full_id);
}

/* The consumable with full id `id`, or NULL (binary search in x->by_id). */
static struct status_consumable *find_consumable(struct collect_ctx *x, const char *id)
{
  size_t lo = 0, hi = x->v->n_consumables;
  while(lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    struct status_consumable *sc = &x->v->consumables[x->by_id[mid]];
    int c = strcmp(sc->c->full_id, id);
    if(!c)
      return sc;
    if(c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

/* store_order_cb: remember a live order's state. */
static int note_order(void *ud, const struct store_order *o)
{
  struct collect_ctx *x = ud;
  if(x->n_orders == x->cap_orders) {
    x->cap_orders = x->cap_orders ? 2 * x->cap_orders : 16;
    x->orders = rs_xrealloc(x->orders, x->cap_orders * sizeof(*x->orders));
  }
  (void)rs_strlcpy(x->orders[x->n_orders].id, o->id, sizeof(x->orders[0].id));
  x->orders[x->n_orders++].state = o->state;
  return 0;
}

/* store_line_cb: note each open line (order, its state, units) on its consumable. */
static int note_open_line(void *ud, const struct store_order_line *line)
{
  struct collect_ctx *x = ud;
  struct status_consumable *sc = find_consumable(x, line->consumable);
  size_t i;
  if(!sc)
    return 0;
  sc->open_line = true;
  sc->on_order += line->quantity - line->received;
  if(!line->order_id)
    return 0;
  (void)rs_strlcpy(sc->open_order, line->order_id, sizeof(sc->open_order));
  for(i = 0; i < x->n_orders; i++)
    if(!strcmp(x->orders[i].id, line->order_id)) {
      sc->has_order_state = true;
      sc->order_state = x->orders[i].state;
    }
  return 0;
}

/* The state shown for sc (see enum status_state). */
static enum status_state consumable_state(const struct status_consumable *sc)
{
  bool button = sc->c->spec->model == CFG_MODEL_BUTTON;
  if(sc->device_down)
    return STATUS_DEVICE_DOWN;
  if(sc->stale && !button)
    return STATUS_STALE;
  if(sc->has_level && sc->level_pct < STATUS_EMPTY_PCT)
    return STATUS_EMPTY;
  if(sc->held)
    return STATUS_HELD;
  if(sc->has_order_state && sc->order_state == STORE_ORDER_PENDING_APPROVAL)
    return STATUS_APPROVAL;
  if(sc->open_line)
    return STATUS_ORDERING;
  return STATUS_OK;
}

bool status_error_shown(const struct status_device *d, unsigned k)
{
  if(k >= SCHED_ERR_KINDS)
    return false;
  return k <= SCHED_ERR_EXCEPTION || d->s.errors[k] > 0;
}

/* Figures of consumable c at now_ms into *sc. */
/* A consumable's hold_reason when none was given (not freed). */
static const char no_reason[] = "";

static void consumable_figures(struct status_consumable *sc, const struct cfg_consumable *c,
                               struct reading_path *rp, struct store *st, int64_t now_ms)
{
  struct rule_snapshot snap;
  const struct live_point *lp = NULL;
  struct store_consumable sst;

  memset(sc, 0, sizeof(*sc));
  sc->c = c;
  sc->hold_reason = no_reason;
  sc->days_left = NAN;
  sc->empty_at_ms = INT64_MAX;
  sc->rate_per_day = NAN;
  sc->confidence = NAN;
  sc->spares = c->spec->spares;
  sc->stale = true;
  sc->cover_days = NAN;
  sc->days_left_p10 = NAN;
  sc->days_left_p90 = NAN;
  sc->cover_days_p10 = NAN;
  sc->cover_days_p90 = NAN;
  sc->runout_risk = NAN;
  sc->lead_time_days = c->spec->item ? (double)c->spec->item->lead_time_ms / 86400000.0 : 0;
  sc->position_days = NAN;
  if(rp && c->device && c->point)
    lp = reading_path_live(rp, c->device->id, c->point->id);
  if(lp && lp->has_value)
    sc->value_ms = lp->value_ms;
  if(rp && c->spec->model != CFG_MODEL_BUTTON) {
    bool open = false;
    if(st)
      (void)store_has_open_line(st, c->full_id, &open, NULL);
    reading_path_snapshot(rp, c, now_ms, open, &snap);
    sc->stale = snap.stale;
    sc->cover_days = snap.vars[EXPR_VAR_COVER_DAYS];
    sc->position_days = snap.vars[EXPR_VAR_POSITION_DAYS];
    if(!isnan(snap.vars[EXPR_VAR_LEVEL_PCT])) {
      sc->has_level = true;
      sc->level_pct = snap.vars[EXPR_VAR_LEVEL_PCT];
      sc->days_left = snap.vars[EXPR_VAR_DAYS_LEFT];
      sc->empty_at_ms = snap.empty_at_ms;
      sc->rate_per_day = snap.vars[EXPR_VAR_RATE_PER_DAY];
      sc->confidence = snap.vars[EXPR_VAR_CONFIDENCE];
      sc->cover_days = snap.vars[EXPR_VAR_COVER_DAYS];
      /* bounds: infinite from the predictor while unknown; shown as unknown */
      if(isfinite(snap.vars[EXPR_VAR_DAYS_LEFT_P10]) || snap.vars[EXPR_VAR_DAYS_LEFT] == INFINITY) {
        sc->days_left_p10 = snap.vars[EXPR_VAR_DAYS_LEFT_P10];
        sc->days_left_p90 = snap.vars[EXPR_VAR_DAYS_LEFT_P90];
        sc->cover_days_p10 = snap.vars[EXPR_VAR_COVER_DAYS_P10];
        sc->cover_days_p90 = snap.vars[EXPR_VAR_COVER_DAYS_P90];
      }
      sc->runout_risk = snap.vars[EXPR_VAR_RUNOUT_RISK];
    }
  }
  else if(lp && lp->has_value)
    sc->stale = now_ms - lp->value_ms > c->spec->stale_after_ms;
  if(st && store_get_consumable_state(st, c->full_id, &sst) == RS_OK) {
    sc->spares = sst.spares;
    if(sst.hold != STORE_HOLD_NONE && now_ms < sst.held_until_ms) {
      sc->held = true;
      sc->hold = sst.hold;
      sc->held_since_ms = sst.held_since_ms;
      sc->held_until_ms = sst.held_until_ms;
      if(sst.hold_reason && sst.hold_reason[0])
        sc->hold_reason = rs_xstrdup(sst.hold_reason);
    }
    sc->shelf_since_ms = sst.spares > 0 ? sst.shelf_since_ms : 0;
    sc->unknown_fit_ms = sst.unknown_fit_ms;
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
      /* the config's copy of the id: a streamed answer holds the config, and the
         scheduler's copy is freed by a reload while the answer is being sent */
      if(d->dev)
        d->s.id = d->dev->id;
    }
  }

  v->n_consumables = 0;
  for(i = 0; i < cfg->n_devices; i++)
    v->n_consumables += cfg->devices[i].n_consumables;
  v->consumables = rs_xcalloc(v->n_consumables ? v->n_consumables : 1, sizeof(*v->consumables));
  k = 0;
  for(i = 0; i < cfg->n_devices; i++) {
    bool down = false;
    for(j = 0; j < v->n_devices; j++)
      if(v->devices[j].s.id && !strcmp(v->devices[j].s.id, cfg->devices[i].id))
        down = !v->devices[j].s.up;
    for(j = 0; j < cfg->devices[i].n_consumables; j++) {
      consumable_figures(&v->consumables[k], &cfg->devices[i].consumables[j], rp, st, now_ms);
      v->consumables[k++].device_down = down;
    }
  }
  if(st) {
    struct collect_ctx x;
    static const enum store_order_state live[] = {
        STORE_ORDER_DRAFT, STORE_ORDER_PENDING_APPROVAL, STORE_ORDER_APPROVED,
        STORE_ORDER_SUBMITTED, STORE_ORDER_SHIPPED};
    memset(&x, 0, sizeof(x));
    x.v = v;
    x.by_id = rs_xcalloc(v->n_consumables ? v->n_consumables : 1, sizeof(*x.by_id));
    for(i = 0; i < v->n_consumables; i++)
      x.by_id[i] = i;
    sort_view = v;
    qsort(x.by_id, v->n_consumables, sizeof(*x.by_id), cmp_by_id);
    sort_view = NULL;
    for(i = 0; i < RS_ARRAY_LEN(live); i++)
      (void)store_list_orders(st, true, live[i], 0, note_order, &x);
    (void)store_list_open_lines(st, note_open_line, &x);
    free(x.by_id);
    free(x.orders);
  }
  for(i = 0; i < v->n_consumables; i++)
    v->consumables[i].state = consumable_state(&v->consumables[i]);
  if(rp)
    reading_path_counts(rp, &v->readings_submitted, &v->readings_stored, &v->store_errors);
}

void status_view_free(struct status_view *v)
{
  size_t i;
  for(i = 0; v->consumables && i < v->n_consumables; i++) {
    if(v->consumables[i].hold_reason && v->consumables[i].hold_reason != no_reason)
      free((char *)(uintptr_t)v->consumables[i].hold_reason);
  }
  FREE_NULL(v->devices);
  FREE_NULL(v->consumables);
  v->n_devices = v->n_consumables = 0;
  rs_strv_free(&v->shop_alerts);
}

void status_view_set_shop_alerts(struct status_view *v, const char *const *alerts, size_t n)
{
  size_t i;
  rs_strv_free(&v->shop_alerts);
  for(i = 0; i < n; i++)
    rs_strv_add(&v->shop_alerts, "%s", alerts[i]);
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
  struct status_alert *v;
  size_t n, cap;
  /* counting only (status_alert_counts): no alert is kept */
  const char *const *kinds;
  size_t n_kinds;
  size_t *counts;
};

/* Move b's text into a new alert of kind with link href (may be NULL); b is left empty. */
static void alert_add(struct alert_list *l, const char *kind, struct rs_buf *b, const char *href)
{
  if(b->oom || !b->data) {
    rs_buf_free(b);
    return;
  }
  if(l->counts) {
    size_t k;
    for(k = 0; k < l->n_kinds; k++)
      l->counts[k] += !strcmp(l->kinds[k], kind);
    rs_buf_free(b);
    return;
  }
  if(l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 8;
    l->v = rs_xrealloc(l->v, l->cap * sizeof(*l->v));
  }
  l->v[l->n].kind = kind;
  l->v[l->n].text = b->data; /* the buffer's string moves into the list */
  l->v[l->n].href = href ? rs_xstrdup(href) : NULL;
  l->n++;
  memset(b, 0, sizeof(*b));
}

/* "/consumables/DEVICE/ID" for c into buf; "" when it does not fit. */
static const char *consumable_href(const struct cfg_consumable *c, char *buf, size_t size)
{
  if(rs_snprintf(buf, size, "/consumables/%s/%s", c->device ? c->device->id : "", c->id))
    buf[0] = '\0';
  return buf;
}

struct order_alert_ctx {
  struct alert_list *l;
  const struct cfg *cfg;
  size_t approved_unsent;
  int64_t now_ms;
};

/* store_order_cb: an alert for each live order whose last submission failed. */
static int order_alerts(void *ud, const struct store_order *o)
{
  struct order_alert_ctx *x = ud;
  struct rs_buf b = {0};
  char href[STORE_ORDER_ID_MAX + 16];
  if(store_order_state_final(o->state))
    return 0;
  if(o->state == STORE_ORDER_APPROVED && !x->cfg->commerce.set)
    x->approved_unsent++;
  if(o->last_error && (o->state == STORE_ORDER_APPROVED || o->state == STORE_ORDER_SUBMITTED)) {
    rs_buf_printf(&b, "order %s: submission failed (%" PRId64 " attempt%s): %s", o->id, o->attempts,
                  o->attempts == 1 ? "" : "s", o->last_error);
    alert_add(x->l, "submission", &b,
              rs_snprintf(href, sizeof(href), "/orders/%s", o->id) ? NULL : href);
  }
  return 0;
}

/* Approvals that expired without a decision: shown for redraft_after, or a week without it. */
#define EXPIRED_ALERT_MS (INT64_C(7) * 86400000)

/* store_order_cb (expired orders, newest first): an alert for each recent one. */
static int expired_alerts(void *ud, const struct store_order *o)
{
  struct order_alert_ctx *x = ud;
  struct rs_buf b = {0};
  char href[STORE_ORDER_ID_MAX + 16], t[40];
  /* shown while the parts are held for redraft_after (SPEC 7), else a week */
  int64_t window = x->cfg && x->cfg->orders.approval.redraft_after_ms > 0
                       ? x->cfg->orders.approval.redraft_after_ms
                       : EXPIRED_ALERT_MS;
  if(o->updated_ms < x->now_ms - window)
    return 0;
  clock_format_rfc3339(o->updated_ms, t, sizeof(t));
  rs_buf_printf(&b, "order %s: the approval expired without a decision (%s)", o->id, t);
  if(x->cfg && x->cfg->orders.approval.redraft_after_ms > 0)
    rs_buf_puts(&b, "; its parts are held for redraft_after unless they would run out before "
                    "a delivery (restockctl consumables release to order now)");
  alert_add(x->l, "approval_expired", &b,
            rs_snprintf(href, sizeof(href), "/orders/%s", o->id) ? NULL : href);
  return 0;
}

/* The alerts into *lp (kept, or only counted: see struct alert_list). */
static void alert_items(const struct status_view *v, const struct cfg *cfg, struct store *st,
                        struct alert_list *lp)
{
  struct alert_list l = *lp;
  struct rs_buf b = {0};
  size_t i;
  char t[40], href[STORE_ORDER_ID_MAX + 2 * 64 + 32];

  if(!clock_wall_sane(v->now_ms)) {
    rs_buf_puts(&b, "the clock is not plausible (before the build date): nothing is ordered");
    alert_add(&l, "clock", &b, NULL);
  }
  for(i = 0; i < v->n_consumables; i++) {
    const struct status_consumable *sc = &v->consumables[i];
    if(sc->state != STATUS_EMPTY)
      continue;
    rs_buf_printf(&b, "consumable %s is empty now (level %.1f %%)", sc->c->full_id, sc->level_pct);
    if(sc->open_order[0])
      rs_buf_printf(&b, "; order %s is open", sc->open_order);
    else
      rs_buf_puts(&b, "; no order is open");
    alert_add(&l, "empty", &b, consumable_href(sc->c, href, sizeof(href)));
  }
  for(i = 0; i < v->n_devices; i++) {
    const struct status_device *d = &v->devices[i];
    size_t j, n_parts = 0;
    if(d->s.up)
      continue;
    for(j = 0; j < v->n_consumables; j++)
      if(v->consumables[j].c->device && !strcmp(v->consumables[j].c->device->id, d->s.id))
        n_parts++;
    if(d->s.last_success_ms > 0) {
      clock_format_rfc3339(d->s.last_success_ms, t, sizeof(t));
      rs_buf_printf(&b, "device %s is down (%" PRId64 " failed polls in a row; last success %s)",
                    d->s.id, d->s.consecutive_failures, t);
    }
    else
      rs_buf_printf(&b, "device %s is down (%" PRId64 " failed polls in a row; never answered)",
                    d->s.id, d->s.consecutive_failures);
    if(n_parts)
      rs_buf_printf(&b, ": its %zu consumable%s no fresh data", n_parts,
                    n_parts == 1 ? " gets" : "s get");
    alert_add(&l, "device_down", &b,
              rs_snprintf(href, sizeof(href), "/?device=%s", d->s.id) ? NULL : href);
  }
  for(i = 0; i < v->n_consumables; i++) {
    const struct status_consumable *sc = &v->consumables[i];
    /* a down device's consumables are covered by the device's alert */
    if(sc->state != STATUS_STALE)
      continue;
    if(sc->value_ms > 0) {
      clock_format_rfc3339(sc->value_ms, t, sizeof(t));
      rs_buf_printf(&b, "consumable %s is stale (last reading %s): its rules do not fire",
                    sc->c->full_id, t);
    }
    else
      rs_buf_printf(&b, "consumable %s is stale (no reading yet): its rules do not fire",
                    sc->c->full_id);
    alert_add(&l, "stale", &b, consumable_href(sc->c, href, sizeof(href)));
  }
  if(st) {
    struct order_alert_ctx x = {&l, cfg, 0, v->now_ms};
    (void)store_list_orders(st, true, STORE_ORDER_EXPIRED, 50, expired_alerts, &x);
  }
  for(i = 0; i < v->n_consumables; i++) {
    /* SPEC 7: the stock count is probably wrong */
    const struct status_consumable *sc = &v->consumables[i];
    double life = NAN;
    if(sc->spares > 0 && isfinite(sc->cover_days) && isfinite(sc->days_left))
      life = (sc->cover_days - sc->days_left) / (double)sc->spares;
    if(sc->spares > 0 && sc->shelf_since_ms > 0 && isfinite(life) && life > 0 &&
       (double)(v->now_ms - sc->shelf_since_ms) > 2.0 * life * 86400000.0) {
      clock_format_rfc3339(sc->shelf_since_ms, t, sizeof(t));
      rs_buf_printf(&b,
                    "consumable %s: %" PRId64 " spare%s on the shelf and none fitted since %s, "
                    "more than twice its typical life (%.1f d): the stock count is probably "
                    "wrong (restockctl consumables set-spares)",
                    sc->c->full_id, sc->spares, sc->spares == 1 ? "" : "s", t, life);
      alert_add(&l, "spare_unused", &b, consumable_href(sc->c, href, sizeof(href)));
    }
    if(sc->unknown_fit_ms > 0) {
      clock_format_rfc3339(sc->unknown_fit_ms, t, sizeof(t));
      rs_buf_printf(&b,
                    "consumable %s: a part was fitted at %s with no spare on the books and no "
                    "open order: check the stock (restockctl consumables set-spares)",
                    sc->c->full_id, t);
      alert_add(&l, "unknown_part_fitted", &b, consumable_href(sc->c, href, sizeof(href)));
    }
  }
  {
    char why[192];
    int64_t since = 0;
    uint64_t count = 0;
    if(st && store_fault(st, why, sizeof(why), &since, &count)) {
      clock_format_rfc3339(since, t, sizeof(t));
      rs_buf_printf(&b,
                    "storage: the database fails: %s since %s (%" PRIu64 " failure%s); "
                    "readings and decisions are not being stored",
                    why, t, count, count == 1 ? "" : "s");
      alert_add(&l, "storage", &b, "/healthz");
    }
    else if(v->store_errors) {
      rs_buf_printf(&b, "storage: the database refused %" PRIu64 " reading%s since start",
                    v->store_errors, v->store_errors == 1 ? "" : "s");
      alert_add(&l, "storage", &b, "/metrics");
    }
  }
  if(st) {
    struct order_alert_ctx x = {&l, cfg, 0, v->now_ms};
    (void)store_list_orders(st, false, STORE_ORDER_DRAFT, 0, order_alerts, &x);
    for(i = 0; i < v->shop_alerts.n; i++) {
      rs_buf_puts(&b, v->shop_alerts.v[i]);
      alert_add(&l, "commerce", &b, "/#orders");
    }
    if(x.approved_unsent) {
      rs_buf_printf(&b, "%zu approved order%s not sent: no shop configured", x.approved_unsent,
                    x.approved_unsent == 1 ? "" : "s");
      alert_add(&l, "no_shop", &b, "/#orders");
    }
  }
  rs_buf_free(&b);
  *lp = l;
}

void status_alert_items(const struct status_view *v, const struct cfg *cfg, struct store *st,
                        struct status_alert **out, size_t *n)
{
  struct alert_list l = {0};
  alert_items(v, cfg, st, &l);
  *out = l.v;
  *n = l.n;
}

void status_alert_counts(const struct status_view *v, const struct cfg *cfg, struct store *st,
                         const char *const *kinds, size_t n_kinds, size_t *counts)
{
  struct alert_list l = {0};
  memset(counts, 0, n_kinds * sizeof(*counts));
  l.kinds = kinds;
  l.n_kinds = n_kinds;
  l.counts = counts;
  alert_items(v, cfg, st, &l);
}

void status_alert_items_free(struct status_alert *a, size_t n)
{
  size_t i;
  for(i = 0; i < n; i++) {
    free(a[i].text);
    free(a[i].href);
  }
  free(a);
}

void status_alerts(const struct status_view *v, const struct cfg *cfg, struct store *st,
                   char ***out, size_t *n)
{
  struct status_alert *a = NULL;
  size_t i, na = 0;
  char **s;
  status_alert_items(v, cfg, st, &a, &na);
  s = rs_xcalloc(na ? na : 1, sizeof(*s));
  for(i = 0; i < na; i++) {
    s[i] = a[i].text; /* the texts move */
    a[i].text = NULL;
  }
  status_alert_items_free(a, na);
  *out = s;
  *n = na;
}

void status_alerts_free(char **alerts, size_t n)
{
  size_t i;
  for(i = 0; i < n; i++)
    free(alerts[i]);
  free(alerts);
}
