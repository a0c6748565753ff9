/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pipeline: decisions in, order lines, drafts, approval, outbox and status
 * tracking (see pipeline.h and docs/orders.md).
 */
#include "gateway/pipeline.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/rs_util.h"
#include "base/clock.h"
#include "base/log.h"
#include "gateway/orderfsm.h"

#define MAX_ALERTS 64
/* Submissions outstanding at most (the client puts K of them on the wire at once) */
#define MAX_SENDS_PER_TICK 32
/* Status requests outstanding at most */
#define MAX_POLLS_OUTSTANDING 32

/* When to look at a submitted or shipped order again (in memory only). */
struct poll_slot {
  char id[STORE_ORDER_ID_MAX + 1];
  int64_t next_ms;
  bool busy;   /* a status request is out */
  bool auth;   /* next_ms was put off by a 401/403 (auth_release) */
  char *alert; /* a status problem of this order, or NULL */
};

/* One request to the shop, from its start until the tick that handles its answer. */
struct shop_req {
  struct pipeline *p;
  enum commerce_req req;
  char *key;      /* order id (SUBMIT), the shop's id (ORDER), SKU (PRODUCT) */
  char *order_id; /* our order id */
  int64_t attempts; /* SUBMIT: attempts made before this one */
  struct commerce_answer *a; /* the answer once it came (key pointer cleared) */
};

/* The shop's answer on a product, for the approval policy. */
struct product_slot {
  char *sku;
  bool pending; /* asked, no answer yet */
  enum commerce_lookup lk;
  struct commerce_product pr;
};

/* An order put off by a 401/403, and the Retry-After it still owes (wall ms, 0: none). */
struct auth_hold {
  char *id;
  int64_t not_before;
};

struct pipeline {
  struct store *st;
  bool clock_known; /* clock_ok holds an answer */
  bool clock_ok;
  uint64_t created;

  /* the shop */
  bool online; /* the real commerce client may be used (pipeline_set_online) */
  bool have_override;
  struct pipeline_shop_ops override;
  struct commerce shop;  /* the client instance (real or the override), open when shop.priv */
  bool shop_is_override; /* the open instance runs the override */
  struct evloop *loop;   /* where the real client runs (pipeline_set_loop), or NULL: blocking */
  char client_err[256];  /* why there is no client ("" if none) */
  struct shop_req **reqs; /* requests started and not yet handled, in start order */
  size_t n_reqs;
  bool answers_waiting;  /* an answer arrived outside a tick: the next tick is due now */
  bool products_waiting; /* a draft waits for product answers (close_drafts pass) */
  bool reprice_waiting;  /* an approved order waits for product answers (run_outbox pass) */
  struct product_slot *products; /* the approval policy's product answers */
  size_t n_products;

  double scale;
  struct commerce_backoff backoff;
  uint64_t rng;
  bool rng_seeded;

  bool auth_alert;
  long auth_status;
  int64_t auth_wait_until; /* after a 401/403 nothing is sent before this (wall ms) */
  uint64_t shop_fp;         /* credentials of the open client (commerce_credentials_fp) */
  uint64_t auth_fp;         /* credentials of the client the shop refused last */
  struct auth_hold *held;   /* orders whose next attempt a 401/403 put off */
  size_t n_held;
  bool polls_held;          /* some poll slot has auth set */
  size_t n_no_shop;        /* approved orders waiting for lack of a shop, at the last tick */
  int64_t warned_line;     /* highest line id warned about (no supplier) */
  bool in_tick;            /* pipeline_tick() is running (its outbox pass comes later) */

  struct poll_slot *polls;
  size_t n_polls;

  struct rs_strv alerts;
  size_t n_shop_alerts; /* the first this many of alerts are the shop's (pipeline_shop_alerts) */
  int64_t next_due;
  int64_t fault_pass; /* storage failing: no new work before this (clock_real_mono_ms(): a
                         wall clock stepped back does not lengthen it; 0: no fault seen) */
  int64_t last_now;   /* the wall time of the last tick (a step back is noticed), 0: none */
};

static void shop_close(struct pipeline *p);
static void drain_answers(struct pipeline *p, const struct cfg *cfg, int64_t now_ms);
static void hold_load(struct pipeline *p);

/* ---- set-up ---------------------------------------------------------- */

struct pipeline *pipeline_new(struct store *st)
{
  struct pipeline *p = calloc(1, sizeof(*p));
  if(!p)
    return NULL;
  p->st = st;
  p->scale = 1;
  p->backoff.base_ms = PIPELINE_BACKOFF_BASE_MS;
  p->backoff.cap_ms = PIPELINE_BACKOFF_CAP_MS;
  p->next_due = 0; /* the first tick is due at once (an outbox left by a restart) */
  hold_load(p);    /* orders a 401/403 put off: retried at the first tick (auth_fp unknown) */
  return p;
}

void pipeline_free(struct pipeline *p)
{
  size_t i;
  if(!p)
    return;
  shop_close(p);
  for(i = 0; i < p->n_polls; i++)
    free(p->polls[i].alert);
  free(p->polls);
  rs_strv_free(&p->alerts);
  for(i = 0; i < p->n_held; i++)
    free(p->held[i].id);
  free(p->held);
  free(p);
}

void pipeline_set_shop(struct pipeline *p, const struct pipeline_shop_ops *ops)
{
  shop_close(p);
  p->have_override = ops != NULL;
  if(ops)
    p->override = *ops;
  else
    memset(&p->override, 0, sizeof(p->override));
}

void pipeline_set_online(struct pipeline *p, bool online)
{
  p->online = online;
  if(!online)
    pipeline_reconfigure(p);
}

void pipeline_set_time_scale(struct pipeline *p, double scale)
{
  p->scale = scale > 0 ? scale : 1;
}

void pipeline_set_backoff(struct pipeline *p, int64_t base_ms, int64_t cap_ms)
{
  if(base_ms <= 0 || cap_ms < base_ms)
    return;
  p->backoff.base_ms = base_ms;
  p->backoff.cap_ms = cap_ms;
}

void pipeline_set_seed(struct pipeline *p, uint64_t seed)
{
  p->rng = seed;
  p->rng_seeded = true;
}

void pipeline_reconfigure(struct pipeline *p)
{
  shop_close(p);
  p->client_err[0] = '\0';
  if(p->n_held || p->auth_wait_until || p->polls_held)
    p->next_due = 0; /* new credentials may release the orders a 401/403 holds (run_outbox) */
}

void pipeline_set_loop(struct pipeline *p, struct evloop *loop)
{
  shop_close(p);
  p->loop = loop;
}

bool pipeline_clock_check(struct pipeline *p, int64_t now_ms)
{
  bool ok = clock_wall_sane(now_ms);
  if(!p->clock_known || ok != p->clock_ok) {
    char now[40], floor[40];
    clock_format_rfc3339(now_ms, now, sizeof(now));
    clock_format_rfc3339(clock_build_floor_ms(), floor, sizeof(floor));
    if(!ok)
      log_err("wall clock reads %s, before the build date %s: nothing is ordered until the "
              "clock is set",
              now, floor);
    else if(p->clock_known)
      log_notice("wall clock is plausible again (%s): ordering resumes", now);
  }
  p->clock_known = true;
  p->clock_ok = ok;
  return ok;
}

/* ---- the shop seam ---------------------------------------------------- */

/*
 * The override (pipeline_set_shop) as a commerce backend: each request is
 * answered by the caller's synchronous function before start returns.
 */
static int scripted_open(struct commerce *c, char *err, size_t errlen)
{
  (void)err;
  (void)errlen;
  c->priv = c->env;
  return 0;
}

static void scripted_close(struct commerce *c)
{
  c->priv = NULL;
}

static int scripted_start(struct commerce *c, enum commerce_req req, const char *key,
                          const char *body, commerce_done_fn done, void *ud)
{
  const struct pipeline_shop_ops *ops = c->env;
  struct commerce_answer *a = rs_xcalloc(1, sizeof(*a));
  a->req = req;
  a->key = key;
  a->result.retry_after_ms = -1;
  a->order.retry_after_ms = -1;
  a->product.retry_after_ms = -1;
  if(req == COMMERCE_REQ_SUBMIT)
    (void)ops->submit(ops->ctx, key, body, &a->result);
  else if(req == COMMERCE_REQ_ORDER)
    a->lookup = ops->get_order ? ops->get_order(ops->ctx, key, &a->order) : COMMERCE_LOOKUP_BAD;
  else
    a->lookup =
        ops->get_product ? ops->get_product(ops->ctx, key, &a->product) : COMMERCE_LOOKUP_NONE;
  done(ud, a);
  free(a);
  return 0;
}

static const struct commerce_ops scripted_ops = {
    .name = "scripted",
    .open = scripted_open,
    .close = scripted_close,
    .start = scripted_start,
};

static void shop_req_free(struct shop_req *r)
{
  if(!r)
    return;
  free(r->key);
  free(r->order_id);
  free(r->a);
  free(r);
}

/* Close the client instance: requests in flight are abandoned (an order is resent later with its key). */
static void shop_close(struct pipeline *p)
{
  size_t i;
  commerce_close(&p->shop);
  memset(&p->shop, 0, sizeof(p->shop));
  for(i = 0; i < p->n_reqs; i++)
    shop_req_free(p->reqs[i]);
  FREE_NULL(p->reqs);
  p->n_reqs = 0;
  for(i = 0; i < p->n_polls; i++)
    p->polls[i].busy = false;
  for(i = 0; i < p->n_products; i++)
    free(p->products[i].sku);
  FREE_NULL(p->products);
  p->n_products = 0;
  p->answers_waiting = false;
}

/*
 * The client instance under cfg, opened now if needed: the override, or the
 * real client (non-blocking on p->loop when there is one). NULL when there
 * is none (no commerce section, offline, or the client could not be made:
 * p->client_err says why).
 */
static struct commerce *shop_ready(struct pipeline *p, const struct cfg *cfg)
{
  char err[256];
  if(p->shop.priv && p->shop_is_override == p->have_override)
    return &p->shop;
  if(p->shop.priv)
    shop_close(p);
  if(!p->have_override && (!p->online || !cfg->commerce.set))
    return NULL;
  memset(&p->shop, 0, sizeof(p->shop));
  p->shop.cfg = cfg;
  p->shop.loop = p->loop;
  p->shop.max_in_flight = cfg->commerce.max_in_flight > 0 ? (unsigned)cfg->commerce.max_in_flight
                                                           : COMMERCE_MAX_IN_FLIGHT;
  if(p->have_override) {
    p->shop.ops = &scripted_ops;
    p->shop.env = &p->override;
  }
  else
    p->shop.ops = commerce_curl_backend(p->loop);
  p->shop_is_override = p->have_override;
  if(commerce_open(&p->shop, err, sizeof(err))) {
    if(strcmp(err, p->client_err))
      log_err("commerce: cannot make the client: %s; orders wait in the outbox", err);
    rs_strlcpy(p->client_err, err, sizeof(p->client_err));
    memset(&p->shop, 0, sizeof(p->shop));
    return NULL;
  }
  p->client_err[0] = '\0';
  p->shop_fp = commerce_credentials_fp(cfg);
  return &p->shop;
}

static struct product_slot *product_slot(struct pipeline *p, const char *sku, bool make)
{
  size_t i;
  for(i = 0; i < p->n_products; i++)
    if(!strcmp(p->products[i].sku, sku))
      return &p->products[i];
  if(!make)
    return NULL;
  p->products = rs_xrealloc(p->products, (p->n_products + 1) * sizeof(*p->products));
  memset(&p->products[p->n_products], 0, sizeof(*p->products));
  p->products[p->n_products].sku = rs_xstrdup(sku);
  return &p->products[p->n_products++];
}

/* commerce_done_fn: keep the answer for the tick (a product answer goes to its slot at once). */
static void on_shop_answer(void *ud, const struct commerce_answer *a)
{
  struct shop_req *r = ud;
  struct pipeline *p = r->p;
  if(r->req == COMMERCE_REQ_PRODUCT) {
    struct product_slot *ps = product_slot(p, r->key, true);
    ps->pending = false;
    ps->lk = a->lookup;
    ps->pr = a->product;
  }
  r->a = rs_xcalloc(1, sizeof(*r->a));
  *r->a = *a;
  r->a->key = NULL;
  if(!p->in_tick)
    p->answers_waiting = true;
}

/* Whether a request req/key is out (started, not yet handled). */
static bool shop_req_out(const struct pipeline *p, enum commerce_req req, const char *key)
{
  size_t i;
  for(i = 0; i < p->n_reqs; i++)
    if(p->reqs[i]->req == req && !strcmp(p->reqs[i]->key, key))
      return true;
  return false;
}

static size_t shop_req_count(const struct pipeline *p, enum commerce_req req)
{
  size_t i, n = 0;
  for(i = 0; i < p->n_reqs; i++)
    n += p->reqs[i]->req == req;
  return n;
}

/* Start req/key on the shop; the answer is handled by a later drain_answers(). 0 or -1. */
static int shop_start(struct pipeline *p, struct commerce *shop, enum commerce_req req,
                      const char *key, const char *order_id, int64_t attempts, const char *body)
{
  struct shop_req *r = rs_xcalloc(1, sizeof(*r));
  r->p = p;
  r->req = req;
  r->key = rs_xstrdup(key);
  r->order_id = rs_xstrdup(order_id ? order_id : key);
  r->attempts = attempts;
  p->reqs = rs_xrealloc(p->reqs, (p->n_reqs + 1) * sizeof(*p->reqs));
  p->reqs[p->n_reqs++] = r;
  if(req == COMMERCE_REQ_PRODUCT)
    product_slot(p, key, true)->pending = true;
  if(commerce_start(shop, req, key, body, on_shop_answer, r)) {
    p->n_reqs--;
    if(req == COMMERCE_REQ_PRODUCT)
      product_slot(p, key, true)->pending = false;
    shop_req_free(r);
    return -1;
  }
  return 0;
}

/* ---- small helpers ---------------------------------------------------- */

static void due_at(struct pipeline *p, int64_t t)
{
  if(t < p->next_due)
    p->next_due = t;
}

/* A real-time delay in ms onto the (scaled) wall timeline. */
static int64_t scaled(const struct pipeline *p, int64_t real_ms)
{
  double v = (double)real_ms * p->scale;
  if(v > 9e15)
    return (int64_t)9e15;
  return (int64_t)ceil(v);
}

static void fmt_money(const struct cfg *cfg, int64_t minor, char *buf, size_t size)
{
  cfg_format_money(minor, cfg->orders.currency_decimals, buf, size);
}

/* 00:00 UTC of the first day of now_ms's month. */
static int64_t month_start_ms(int64_t now_ms)
{
  time_t secs = (time_t)(now_ms / 1000);
  struct tm tm;
  if(!gmtime_r(&secs, &tm))
    return 0;
  tm.tm_mday = 1;
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  return (int64_t)timegm(&tm) * 1000;
}

/* Orders in state, oldest first; logs a store failure. */
static enum rs_err list_state(struct pipeline *p, enum store_order_state state,
                              struct store_rows *out)
{
  enum rs_err rc;
  size_t i;
  memset(out, 0, sizeof(*out));
  rc = store_list_orders(p->st, true, state, 0, store_orders_collect, out);
  if(rc) {
    log_rl(LOG_LVL_ERR, "store-orders", "cannot list %s orders: %s", store_order_state_name(state),
           store_errmsg(p->st));
    store_rows_free(out);
    return rc;
  }
  /* the store lists newest first; work oldest first */
  for(i = 0; i < out->n / 2; i++) {
    struct store_order t = out->v.orders[i];
    out->v.orders[i] = out->v.orders[out->n - 1 - i];
    out->v.orders[out->n - 1 - i] = t;
  }
  return RS_OK;
}

/* Time of the latest transition of o into state, or -1. */
static int64_t entered_at(const struct store_order_full *o, enum store_order_state state)
{
  size_t i = o->n_transitions;
  while(i-- > 0) {
    if(o->transitions[i].to == state)
      return o->transitions[i].time_ms;
  }
  return -1;
}

/* ---- order lines ------------------------------------------------------- */

/* The decision's figures as a JSON object; NaN and infinities are null. Caller frees. */
static char *figures_json(const double figures[EXPR_VAR_COUNT])
{
  struct rs_buf b = {0};
  int i;
  rs_buf_puts(&b, "{");
  for(i = 0; i < EXPR_VAR_COUNT; i++) {
    double v = figures[i];
    rs_buf_printf(&b, "%s\"%s\":", i ? "," : "", expr_var_name((enum expr_var)i));
    if(isfinite(v))
      rs_buf_printf(&b, "%.10g", v);
    else
      rs_buf_puts(&b, "null");
  }
  rs_buf_puts(&b, "}");
  if(b.oom) {
    rs_buf_free(&b);
    return NULL;
  }
  return b.data;
}

enum rs_err pipeline_submit(struct pipeline *p, const struct cfg *cfg,
                            const struct rule_decision *d, int64_t now_ms, int64_t *line_id)
{
  const struct cfg_consumable *c = d->consumable;
  const struct cfg_catalog_item *item = c ? c->spec->item : NULL;
  struct store_order_line l;
  const char *currency;
  int64_t id = 0;
  enum rs_err rc;

  if(line_id)
    *line_id = 0;
  if(!pipeline_clock_check(p, now_ms))
    return RS_ERR_INVALID;
  if(!c || !item) {
    log_err("order line refused: %s has no catalog item", c ? c->full_id : "(no consumable)");
    return RS_ERR_INVALID;
  }
  if(pipeline_has_open_line(p, c->full_id))
    return RS_ERR_CONFLICT;

  memset(&l, 0, sizeof(l));
  l.consumable = (char *)c->full_id;
  l.sku = (char *)c->spec->sku;
  l.quantity = d->quantity;
  l.unit_price = item->unit_price.set ? item->unit_price.minor : 0;
  currency = item->currency ? item->currency : cfg->orders.currency;
  if(currency)
    (void)rs_strlcpy(l.currency, currency, sizeof(l.currency));
  l.rule = d->rule ? (char *)d->rule->name : NULL;
  l.figures_json = figures_json(d->figures);
  l.need_by_ms = (d->need_by_ms == INT64_MAX || d->need_by_ms == INT64_MIN) ? 0 : d->need_by_ms;
  if(d->urgent)
    l.need_by_ms = now_ms; /* after an expiry, running out before a delivery: at once */
  l.state = STORE_LINE_OPEN;
  l.created_ms = now_ms;

  rc = store_begin(p->st);
  if(!rc) {
    rc = store_add_order_line(p->st, &l, &id);
    if(!rc && d->urgent)
      rc = store_note_redraft(p->st, c->full_id, now_ms);
    if(rc)
      store_rollback(p->st);
    else
      rc = store_commit(p->st);
  }
  FREE_NULL(l.figures_json);
  if(rc == RS_ERR_CONFLICT)
    return rc;
  if(rc) {
    log_rl(LOG_LVL_ERR, "store-orders", "order line for %s not recorded: %s", c->full_id,
           store_errmsg(p->st));
    return rc;
  }
  p->created++;
  if(line_id)
    *line_id = id;
  log_notice("order line %" PRId64 ": %s, %" PRId64 " x %s (rule %s)", id, c->full_id, d->quantity,
             c->spec->sku, l.rule ? l.rule : "default");
  return RS_OK;
}

void pipeline_note_press_ignored(struct pipeline *p, const char *consumable, const char *why,
                                 int64_t now_ms)
{
  char detail[256];
  (void)rs_snprintf(detail, sizeof(detail), "button press not acted on: %s", why);
  log_notice("consumable %s: %s", consumable, detail);
  if(store_audit_subject(p->st, now_ms, "button", "press-ignored", consumable, detail))
    log_err("consumable %s: cannot record the ignored press: %s", consumable,
            store_errmsg(p->st));
}

bool pipeline_has_open_line(struct pipeline *p, const char *consumable)
{
  bool open = false;
  if(store_has_open_line(p->st, consumable, &open, NULL)) {
    log_rl(LOG_LVL_ERR, "store-orders", "cannot read open lines of %s: %s", consumable,
           store_errmsg(p->st));
    return true;
  }
  return open;
}

/* ---- approval ---------------------------------------------------------- */

/* Line value in minor units, saturating. */
static int64_t line_value(const struct store_order_line *l)
{
  int64_t v;
  if(__builtin_mul_overflow(l->quantity, l->unit_price, &v) || v < 0)
    return INT64_MAX;
  return v;
}

static int64_t add_sat(int64_t a, int64_t b)
{
  int64_t v;
  if(__builtin_add_overflow(a, b, &v))
    return INT64_MAX;
  return v;
}

static const struct cfg_rule *find_rule(const struct cfg *cfg, const char *name)
{
  size_t i;
  if(!name)
    return &cfg->default_rule;
  for(i = 0; i < cfg->n_rules; i++) {
    if(cfg->rules[i].name && !strcmp(cfg->rules[i].name, name))
      return &cfg->rules[i];
  }
  return NULL;
}

/*
 * Spend of this calendar month (UTC): the orders approved in it that did not
 * end rejected, failed or cancelled (approved, submitted, shipped,
 * delivered), sent or not, at the prices they were or will be placed at.
 */
static enum rs_err month_spend(struct pipeline *p, int64_t now_ms, int64_t *out)
{
  static const enum store_order_state counted[] = {STORE_ORDER_APPROVED, STORE_ORDER_SUBMITTED,
                                                   STORE_ORDER_SHIPPED, STORE_ORDER_DELIVERED};
  int64_t start = month_start_ms(now_ms), sum = 0;
  enum rs_err rc = RS_OK;
  size_t k, i;
  for(k = 0; k < RS_ARRAY_LEN(counted) && !rc; k++) {
    struct store_rows l;
    rc = list_state(p, counted[k], &l);
    if(rc)
      break;
    for(i = 0; i < l.n && !rc; i++) {
      struct store_order_full *o = NULL;
      int64_t t;
      if(l.v.orders[i].updated_ms < start)
        continue; /* nothing happened to it this month */
      rc = store_get_order(p->st, l.v.orders[i].id, &o);
      if(rc)
        break;
      /* SPEC 8: counted in the month it was approved, sent or not */
      t = entered_at(o, STORE_ORDER_APPROVED);
      if(t >= start)
        sum = add_sat(sum, o->order.total);
      store_order_full_free(o);
    }
    store_rows_free(&l);
  }
  *out = sum;
  return rc;
}

/* Remember the shop's lead time of sku (GET /products) when it changed: it becomes
   the consumable's lead_time_days (SPEC 9). Failures are logged and change nothing. */
static void note_lead_time(struct pipeline *p, const char *sku, double days)
{
  char key[CFG_ID_MAX + 64], val[32], *cur = NULL;
  int64_t ms;
  if(!isfinite(days) || days < 0 || days > 3650)
    return;
  ms = (int64_t)llround(days * 86400000.0);
  if(rs_snprintf(key, sizeof(key), "%s%s", STORE_META_LEAD_TIME, sku) ||
     rs_snprintf(val, sizeof(val), "%" PRId64, ms))
    return;
  if(store_meta_get(p->st, key, &cur) == RS_OK && cur && !strcmp(cur, val)) {
    free(cur);
    return;
  }
  free(cur);
  if(store_meta_set(p->st, key, val))
    log_warn("cannot store the shop's lead time of %s: %s", sku, store_errmsg(p->st));
  else
    log_info("%s: the shop's lead time is %.2f days", sku, days);
}

/*
 * What the policy found for each line of an order (policy_reasons):
 * person[i]: the line needs a person on its own (SPEC 8: catalog or rule
 * approval: required, over require_over_quantity, price drift beyond
 * price_tolerance, available: false, another currency); price[i]: the
 * shop's refreshed unit price, or -1 when there is none to apply.
 */
struct line_verdicts {
  bool *person;
  int64_t *price;
  size_t n;
};

/*
 * Ask the shop about every product of o it has told nothing about yet (and
 * is not being asked about); true while an answer about one of them is out.
 */
static bool products_pending(struct pipeline *p, struct commerce *shop,
                             const struct store_order_full *o)
{
  size_t i;
  for(i = 0; i < o->n_lines; i++) {
    const struct product_slot *ps = product_slot(p, o->lines[i].sku, false);
    if(!ps && !shop_req_out(p, COMMERCE_REQ_PRODUCT, o->lines[i].sku))
      (void)shop_start(p, shop, COMMERCE_REQ_PRODUCT, o->lines[i].sku, o->order.id, 0, NULL);
  }
  for(i = 0; i < o->n_lines; i++) {
    const struct product_slot *ps = product_slot(p, o->lines[i].sku, false);
    if(ps && ps->pending)
      return true;
  }
  return false;
}

static void verdicts_free(struct line_verdicts *v)
{
  FREE_NULL(v->person);
  FREE_NULL(v->price);
  v->n = 0;
}

/*
 * The approval policy (SPEC 8, 9) for order o under cfg at now_ms: the
 * reasons a person must decide go into *reasons (empty: approve
 * automatically) and the per-line findings into *v (allocated here).
 * Asks the shop for products when it can (no information on any failure);
 * a refreshed price is what the line will be placed at, so the value and
 * budget checks use it, and drift is measured against the catalog's price.
 * While a product answer is still out, *waiting is set and the reasons are
 * incomplete: the draft stays open until the answer comes (or its request
 * times out). Returns a store error only.
 */
static enum rs_err policy_reasons(struct pipeline *p, const struct cfg *cfg,
                                  const struct store_order_full *o, int64_t now_ms,
                                  struct rs_strv *reasons, bool *waiting, struct line_verdicts *v)
{
  const struct cfg_money *over_value = &cfg->orders.approval.require_over_value;
  const struct cfg_money *budget = &cfg->orders.approval.monthly_budget;
  struct commerce *shop = shop_ready(p, cfg);
  bool have_shop = shop != NULL;
  int64_t total = 0;
  char a[40], b[40], c[40];
  size_t i;

  v->n = o->n_lines;
  v->person = rs_xcalloc(o->n_lines + 1, sizeof(*v->person));
  v->price = rs_xcalloc(o->n_lines + 1, sizeof(*v->price));
  for(i = 0; i < o->n_lines; i++)
    v->price[i] = -1;

  /* ask the shop about every product first; the draft waits for the answers (never the loop) */
  if(have_shop && products_pending(p, shop, o)) {
    *waiting = true;
    return RS_OK;
  }

  for(i = 0; i < o->n_lines; i++) {
    const struct store_order_line *l = &o->lines[i];
    const struct cfg_catalog_item *item = cfg_find_sku(cfg, l->sku);
    const struct cfg_rule *r = find_rule(cfg, l->rule);
    const struct product_slot *ps = have_shop ? product_slot(p, l->sku, false) : NULL;
    int64_t catalog = item && item->unit_price.set ? item->unit_price.minor : l->unit_price;
    if(cfg->orders.approval.require_over_quantity > 0 &&
       l->quantity > cfg->orders.approval.require_over_quantity) {
      rs_strv_add(reasons, "%s: quantity %" PRId64 " is over require_over_quantity %" PRId64, l->sku,
               l->quantity, cfg->orders.approval.require_over_quantity);
      v->person[i] = true;
    }
    if(r && r->approval == CFG_APPROVAL_REQUIRED) {
      rs_strv_add(reasons, "rule %s says approval: required (%s)", r->name ? r->name : "default",
               l->consumable);
      v->person[i] = true;
    }
    if(item && item->approval == CFG_APPROVAL_REQUIRED) {
      rs_strv_add(reasons, "catalog entry %s says approval: required", l->sku);
      v->person[i] = true;
    }
    if(have_shop && (!ps || ps->lk != COMMERCE_LOOKUP_OK)) {
      if(!ps || ps->lk != COMMERCE_LOOKUP_NONE)
        log_info("order %s: no product information on %s from the shop (%s: %s)", o->order.id,
                 l->sku, ps ? commerce_lookup_name(ps->lk) : "not asked",
                 ps ? ps->pr.message : "the request could not be made");
    }
    else if(have_shop) {
      const struct commerce_product *pr = &ps->pr;
      if(strcmp(pr->currency, o->order.currency)) {
        rs_strv_add(reasons, "%s: the shop sells in %s, not %s", l->sku, pr->currency,
                 o->order.currency);
        v->person[i] = true;
      }
      else {
        if(!pr->available) {
          rs_strv_add(reasons, "%s: the shop says it is not available", l->sku);
          v->person[i] = true;
        }
        if(catalog > 0 && /* no catalog price: nothing to drift from */
           (double)pr->unit_price >
               (double)catalog * (1.0 + cfg->orders.approval.price_tolerance) + 1e-9) {
          double pct = ((double)pr->unit_price / (double)catalog - 1.0) * 100.0;
          fmt_money(cfg, pr->unit_price, a, sizeof(a));
          fmt_money(cfg, catalog, b, sizeof(b));
          rs_strv_add(reasons,
                   "%s: the shop's price %s is %.1f%% above the catalog's %s (price_tolerance "
                   "%g%%)",
                   l->sku, a, pct, b, cfg->orders.approval.price_tolerance * 100.0);
          v->person[i] = true;
        }
        /* SPEC 9: the line is placed at the refreshed price */
        if(pr->unit_price > 0 && pr->unit_price != l->unit_price)
          v->price[i] = pr->unit_price;
        note_lead_time(p, l->sku, pr->lead_time_days);
      }
    }
    {
      struct store_order_line q = *l;
      if(v->price[i] >= 0)
        q.unit_price = v->price[i];
      total = add_sat(total, line_value(&q));
    }
  }

  if(over_value->set && total > over_value->minor) {
    fmt_money(cfg, total, a, sizeof(a));
    fmt_money(cfg, over_value->minor, b, sizeof(b));
    rs_strv_add(reasons, "total %s %s is over require_over_value %s", a, o->order.currency, b);
  }
  if(budget->set) {
    int64_t spent = 0;
    enum rs_err rc = month_spend(p, now_ms, &spent);
    if(rc)
      return rc;
    if(add_sat(spent, total) > budget->minor) {
      fmt_money(cfg, spent, a, sizeof(a));
      fmt_money(cfg, total, b, sizeof(b));
      fmt_money(cfg, budget->minor, c, sizeof(c));
      rs_strv_add(reasons, "month-to-date spend %s + this order %s %s is over monthly_budget %s", a, b,
               o->order.currency, c);
    }
  }
  return RS_OK;
}

/*
 * Store the refreshed prices of v on o's lines and the new total, inside the
 * caller's transaction. *changed (may be NULL) tells whether any moved.
 */
static enum rs_err apply_prices(struct pipeline *p, const struct store_order_full *o,
                                const struct line_verdicts *v, int64_t now_ms, bool *changed)
{
  enum rs_err rc = RS_OK;
  int64_t total = 0;
  bool any = false;
  size_t i;
  for(i = 0; !rc && i < o->n_lines; i++) {
    struct store_order_line q = o->lines[i];
    if(i < v->n && v->price[i] >= 0 && v->price[i] != q.unit_price) {
      rc = store_set_line_price(p->st, q.id, v->price[i]);
      q.unit_price = v->price[i];
      any = true;
    }
    total = add_sat(total, line_value(&q));
  }
  if(!rc && any)
    rc = store_set_order_total(p->st, o->order.id, total, now_ms);
  if(changed)
    *changed = any;
  return rc;
}

/* reasons as a JSON array text (malloc'd) */
static char *reasons_json(const struct rs_strv *r)
{
  json_t *a = json_array();
  char *s;
  size_t i;
  for(i = 0; a && i < r->n; i++)
    json_array_append_new(a, json_string(r->v[i]));
  s = a ? json_dumps(a, JSON_COMPACT) : NULL;
  json_decref(a);
  return s ? s : rs_xstrdup("[]");
}

/*
 * Build the request body of order o (lines and currency as stored) from
 * cfg->commerce. Returns a malloc'd body, or NULL (logged) when there is no
 * commerce section or it cannot be built.
 */
static char *build_body(const struct cfg *cfg, const struct store_order_full *o)
{
  struct commerce_line *lines;
  struct commerce_order co;
  char *body = NULL, err[256];
  size_t i;
  if(!cfg->commerce.set)
    return NULL;
  lines = rs_xcalloc(o->n_lines ? o->n_lines : 1, sizeof(*lines));
  for(i = 0; i < o->n_lines; i++) {
    lines[i].sku = o->lines[i].sku;
    lines[i].quantity = o->lines[i].quantity;
    lines[i].has_unit_price = o->lines[i].unit_price > 0;
    lines[i].unit_price = o->lines[i].unit_price;
  }
  co.id = o->order.id;
  co.currency = o->order.currency;
  co.lines = lines;
  co.n_lines = o->n_lines;
  if(commerce_build_body(cfg, &co, &body, err, sizeof(err))) {
    log_err("order %s: cannot build the request body: %s", o->order.id, err);
    body = NULL;
  }
  free(lines);
  return body;
}

/*
 * Move o from `from` to approved and, in the same transaction, store its
 * body (when a commerce section exists): from then on it is in the outbox.
 */
static enum rs_err approve_order(struct pipeline *p, const struct cfg *cfg,
                                 const struct store_order_full *o, enum store_order_state from,
                                 const char *actor, const char *cause, int64_t now_ms)
{
  /* a person's decision (from pending) may come long after the prices were refreshed: the
     outbox re-prices it at the shop's current prices before it builds the body (SPEC 9) */
  bool reprice = from == STORE_ORDER_PENDING_APPROVAL && cfg->commerce.set;
  char *body = reprice ? NULL : build_body(cfg, o), key[128];
  enum rs_err rc = store_begin(p->st);
  if(rc)
    goto out;
  rc = orderfsm_move(p->st, o->order.id, from, STORE_ORDER_APPROVED, actor, cause, now_ms);
  if(!rc && body)
    rc = store_set_order_body(p->st, o->order.id, body, now_ms);
  if(!rc && reprice) {
    (void)rs_snprintf(key, sizeof(key), "%s%s", PIPELINE_META_REPRICE, o->order.id);
    rc = store_meta_set(p->st, key, "1");
  }
  if(rc)
    store_rollback(p->st);
  else
    rc = store_commit(p->st);
out:
  if(!rc) {
    log_notice("order %s approved (%s): %s", o->order.id, actor, cause);
    if((body || reprice) && !p->in_tick)
      due_at(p, now_ms); /* a decision from outside: send it at the next step */
  }
  free(body);
  return rc;
}

static enum rs_err close_draft(struct pipeline *p, const struct cfg *cfg,
                               const struct store_order_full *o, const char *why, int64_t now_ms);

/*
 * SPEC 8: draft o mixes lines that need a person (v->person) with lines the
 * policy would approve. Move the former into a new draft of the same
 * supplier (one transaction), then close both: the automatic part first
 * (so it reaches the shop without waiting for anyone), then the other.
 */
static enum rs_err split_draft(struct pipeline *p, const struct cfg *cfg,
                               const struct store_order_full *o, const struct line_verdicts *v,
                               const char *why, int64_t now_ms)
{
  char id[STORE_ORDER_ID_MAX + 1], cause[256];
  int64_t keep = 0, moved = 0;
  struct store_order_full *a = NULL, *b = NULL;
  enum rs_err rc;
  size_t i;

  (void)rs_snprintf(cause, sizeof(cause),
                    "split from %s: its lines that need a person go into an order of their own",
                    o->order.id);
  rc = store_begin(p->st);
  if(rc)
    return rc;
  rc = store_create_order(p->st, o->order.supplier, o->order.currency, 0, now_ms, "policy", cause,
                          id, sizeof(id));
  for(i = 0; !rc && i < o->n_lines; i++) {
    if(v->person[i]) {
      rc = store_attach_line(p->st, o->lines[i].id, id);
      moved = add_sat(moved, line_value(&o->lines[i]));
    }
    else
      keep = add_sat(keep, line_value(&o->lines[i]));
  }
  if(!rc)
    rc = store_set_order_total(p->st, id, moved, now_ms);
  if(!rc)
    rc = store_set_order_total(p->st, o->order.id, keep, now_ms);
  if(rc) {
    store_rollback(p->st);
    return rc;
  }
  rc = store_commit(p->st);
  if(rc)
    return rc;
  log_notice("order %s: lines that need a person moved to %s; the rest goes on without waiting",
             o->order.id, id);
  rc = store_get_order(p->st, o->order.id, &a);
  if(!rc)
    rc = close_draft(p, cfg, a, why, now_ms);
  if(!rc)
    rc = store_get_order(p->st, id, &b);
  if(!rc)
    rc = close_draft(p, cfg, b, why, now_ms);
  store_order_full_free(a);
  store_order_full_free(b);
  return rc;
}

/* Close draft o (why: what closed it): the policy sends it to a person or approves it. */
static enum rs_err close_draft(struct pipeline *p, const struct cfg *cfg,
                               const struct store_order_full *o, const char *why, int64_t now_ms)
{
  struct rs_strv reasons = {0};
  char *joined = NULL, *json = NULL, key[128];
  struct rs_buf cause = {0};
  struct line_verdicts v = {0};
  struct store_order_full *repriced = NULL;
  enum rs_err rc;
  bool waiting = false, changed = false;
  size_t i, n_person = 0;

  rc = policy_reasons(p, cfg, o, now_ms, &reasons, &waiting, &v);
  if(rc)
    goto out;
  if(waiting) {
    p->products_waiting = true; /* closed at the tick after the shop's answers */
    goto out;
  }
  for(i = 0; i < v.n; i++)
    n_person += v.person[i];
  if(n_person && n_person < o->n_lines) {
    rc = split_draft(p, cfg, o, &v, why, now_ms);
    goto out;
  }
  /* SPEC 9: placed at the shop's refreshed prices (the reasons already counted them) */
  rc = store_begin(p->st);
  if(!rc) {
    rc = apply_prices(p, o, &v, now_ms, &changed);
    if(rc)
      store_rollback(p->st);
    else
      rc = store_commit(p->st);
  }
  if(!rc && changed)
    rc = store_get_order(p->st, o->order.id, &repriced);
  if(rc)
    goto out;
  if(repriced) {
    log_info("order %s: re-priced at the shop's current prices", o->order.id);
    o = repriced;
  }
  json = reasons_json(&reasons);
  joined = rs_strv_join(&reasons, "; ");
  snprintf(key, sizeof(key), "%s%s", PIPELINE_META_REASONS, o->order.id);
  if(reasons.n) {
    rs_buf_printf(&cause, "closed (%s); needs approval: %s", why, joined);
    rc = store_begin(p->st);
    if(rc)
      goto out;
    rc = store_meta_set(p->st, key, json);
    if(!rc)
      rc = orderfsm_move(p->st, o->order.id, STORE_ORDER_DRAFT, STORE_ORDER_PENDING_APPROVAL,
                         "policy", cause.data ? cause.data : "needs approval", now_ms);
    if(rc)
      store_rollback(p->st);
    else
      rc = store_commit(p->st);
    if(!rc) {
      log_notice("order %s pending approval: %s", o->order.id, cause.data ? cause.data : "");
      due_at(p, now_ms + cfg->orders.approval.link_ttl_ms);
    }
  }
  else {
    rs_buf_printf(&cause, "closed (%s); approved automatically: within the approval policy", why);
    rc = store_begin(p->st);
    if(rc)
      goto out;
    rc = store_meta_set(p->st, key, json);
    if(!rc)
      rc = approve_order(p, cfg, o, STORE_ORDER_DRAFT, "policy",
                         cause.data ? cause.data : "approved automatically", now_ms);
    if(rc)
      store_rollback(p->st);
    else
      rc = store_commit(p->st);
  }
out:
  if(rc)
    log_rl(LOG_LVL_ERR, "store-orders", "order %s: cannot close the draft: %s", o->order.id,
           store_errmsg(p->st));
  rs_buf_free(&cause);
  free(joined);
  free(json);
  rs_strv_free(&reasons);
  verdicts_free(&v);
  store_order_full_free(repriced);
  return rc;
}

/*
 * SPEC 7: hold every consumable of o (kind, until now + for_ms) with reason,
 * inside the caller's transaction. for_ms <= 0 holds nothing. A consumable
 * without a state row gets one (with the config's spares).
 */
static enum rs_err hold_consumables(struct pipeline *p, const struct cfg *cfg,
                                    const struct store_order_full *o, enum store_hold kind,
                                    int64_t for_ms, const char *reason, int64_t now_ms)
{
  enum rs_err rc = RS_OK;
  size_t i;
  if(for_ms <= 0)
    return RS_OK;
  for(i = 0; !rc && i < o->n_lines; i++) {
    const struct cfg_consumable *c = cfg_find_consumable(cfg, o->lines[i].consumable);
    rc = store_ensure_consumable(p->st, o->lines[i].consumable, c ? c->spec->spares : 0, now_ms);
    if(!rc)
      rc = store_set_hold(p->st, o->lines[i].consumable, kind, add_sat(now_ms, for_ms), reason,
                          now_ms);
    if(!rc)
      log_notice("consumable %s held (%s, %s): %s", o->lines[i].consumable, store_hold_name(kind),
                 kind == STORE_HOLD_REJECTED ? "hold_after_reject" : "redraft_after", reason);
  }
  return rc;
}

/* Decide order_id (approve or reject) for pipeline_approve/pipeline_reject. */
static enum rs_err decide(struct pipeline *p, const struct cfg *cfg, const char *order_id,
                          bool approve, const char *actor, const char *source, int64_t now_ms)
{
  struct store_order_full *o = NULL;
  struct rs_buf cause = {0}, detail = {0};
  enum rs_err rc;

  if(!order_id || !actor || !*actor)
    return RS_ERR_INVALID;
  rc = store_get_order(p->st, order_id, &o);
  if(rc)
    return rc;
  if(o->order.state != STORE_ORDER_PENDING_APPROVAL) {
    log_notice("order %s: %s by %s refused: it is %s, not pending_approval", order_id,
               approve ? "approval" : "rejection", actor, store_order_state_name(o->order.state));
    rc = RS_ERR_CONFLICT;
    goto out;
  }
  rs_buf_printf(&cause, "%s by %s%s%s", approve ? "approved" : "rejected", actor,
                source ? " from " : "", source ? source : "");
  rs_buf_printf(&detail, "%s%s%s", order_id, source ? " from " : "", source ? source : "");
  rc = store_begin(p->st);
  if(rc)
    goto out;
  if(approve)
    rc = approve_order(p, cfg, o, STORE_ORDER_PENDING_APPROVAL, actor,
                       cause.data ? cause.data : "approved", now_ms);
  else
  {
    rc = orderfsm_move(p->st, order_id, STORE_ORDER_PENDING_APPROVAL, STORE_ORDER_REJECTED, actor,
                       cause.data ? cause.data : "rejected", now_ms);
    if(!rc) {
      char why[STORE_ORDER_ID_MAX + 160];
      snprintf(why, sizeof(why), "order %s rejected by %s", order_id, actor);
      rc = hold_consumables(p, cfg, o, STORE_HOLD_REJECTED, cfg->orders.approval.hold_after_reject_ms,
                            why, now_ms);
    }
  }
  if(!rc)
    rc = store_audit(p->st, now_ms, actor, approve ? "approve" : "reject",
                     detail.data ? detail.data : order_id);
  if(rc)
    store_rollback(p->st);
  else
    rc = store_commit(p->st);
  if(!rc && !approve)
    log_notice("order %s rejected by %s", order_id, actor);
  if(!rc && approve)
    due_at(p, now_ms); /* the outbox sends it at the next step, not a tick later */
out:
  rs_buf_free(&cause);
  rs_buf_free(&detail);
  store_order_full_free(o);
  return rc;
}

enum rs_err pipeline_approve(struct pipeline *p, const struct cfg *cfg, const char *order_id,
                             const char *actor, const char *source, int64_t now_ms)
{
  return decide(p, cfg, order_id, true, actor, source, now_ms);
}

enum rs_err pipeline_reject(struct pipeline *p, const struct cfg *cfg, const char *order_id,
                            const char *actor, const char *source, int64_t now_ms)
{
  return decide(p, cfg, order_id, false, actor, source, now_ms);
}

enum rs_err pipeline_order_reasons(struct pipeline *p, const char *order_id, char **json)
{
  char key[128];
  enum rs_err rc;
  *json = NULL;
  if(rs_snprintf(key, sizeof(key), "%s%s", PIPELINE_META_REASONS, order_id))
    return RS_ERR_INVALID;
  rc = store_meta_get(p->st, key, json);
  if(rc == RS_ERR_NOT_FOUND) {
    *json = rs_xstrdup("[]");
    rc = RS_OK;
  }
  return rc;
}

/* ---- batching ---------------------------------------------------------- */

/* A draft being filled during one tick. */
struct draft {
  char id[STORE_ORDER_ID_MAX + 1];
  char *supplier;
  size_t n_lines;
  int64_t total;
  int64_t lead_max; /* the longest lead time of its lines */
  int64_t need_min; /* the earliest need-by date of its lines; INT64_MAX: none has one */
};

struct drafts {
  struct draft *v;
  size_t n;
};

static void drafts_free(struct drafts *d)
{
  size_t i;
  for(i = 0; i < d->n; i++)
    free(d->v[i].supplier);
  FREE_NULL(d->v);
  d->n = 0;
}

/* Lines that are in no order yet (a store_line_cb onto a struct store_rows). */
static int collect_unbatched(void *ud, const struct store_order_line *l)
{
  return l->order_id ? 0 : store_lines_collect(ud, l);
}

static int64_t max_lines_of(const struct cfg *cfg, const struct cfg_supplier *s)
{
  if(s && s->max_lines > 0)
    return s->max_lines;
  return cfg->orders.batching.max_lines;
}

/*
 * Why draft o should close at now_ms (a static string into *why), or NULL
 * with the time it will close by itself passed to due_at().
 */
/*
 * The lead time of sku: the shop's refreshed one (GET /products, stored in
 * meta) when known, else the catalog's; 0 for an unknown SKU.
 */
static int64_t lead_time_of(struct pipeline *p, const struct cfg *cfg, const char *sku)
{
  const struct cfg_catalog_item *item = sku ? cfg_find_sku(cfg, sku) : NULL;
  int64_t ms = item ? item->lead_time_ms : 0, v;
  char key[CFG_ID_MAX + 64], *text = NULL;
  if(sku && !rs_snprintf(key, sizeof(key), "%s%s", STORE_META_LEAD_TIME, sku) &&
     store_meta_get(p->st, key, &text) == RS_OK && !rs_parse_i64(text, false, 0, INT64_MAX, &v))
    ms = v;
  free(text);
  return ms;
}

static const char *close_reason(struct pipeline *p, const struct cfg *cfg,
                                const struct store_order_full *o, int64_t now_ms)
{
  const struct cfg_supplier *s = cfg_find_supplier(cfg, o->order.supplier);
  int64_t first = INT64_MAX, max_lines = max_lines_of(cfg, s), slowest = 0;
  int64_t margin = cfg->orders.batching.urgent_margin_ms;
  size_t i;
  if(!o->n_lines)
    return NULL;
  /* the shop delivers an order when its slowest line is ready (SPEC 13): every line of it
     arrives after the longest lead time of them all, not its own */
  for(i = 0; i < o->n_lines; i++) {
    int64_t lead = lead_time_of(p, cfg, o->lines[i].sku);
    slowest = lead > slowest ? lead : slowest;
  }
  for(i = 0; i < o->n_lines; i++) {
    const struct store_order_line *l = &o->lines[i];
    if(l->created_ms < first)
      first = l->created_ms;
    if(l->need_by_ms) {
      /* SPEC 8: urgent when the empty date minus the lead time is within urgent_margin */
      int64_t order_by = add_sat(l->need_by_ms, -slowest);
      if(order_by - margin <= now_ms)
        return "an urgent line";
      due_at(p, order_by - margin);
    }
  }
  if(cfg->orders.batching.flush_value.set &&
     o->order.total >= cfg->orders.batching.flush_value.minor)
    return "flush_value reached";
  if(s && s->free_shipping_over.set && o->order.total >= s->free_shipping_over.minor)
    return "free_shipping_over reached";
  if(max_lines > 0 && (int64_t)o->n_lines >= max_lines)
    return "max_lines reached";
  if(first != INT64_MAX && now_ms - first >= cfg->orders.batching.window_ms)
    return "batching window over";
  if(first != INT64_MAX)
    due_at(p, first + cfg->orders.batching.window_ms);
  return NULL;
}

/* Count line l (lead time `lead`) into draft dr's lead-time and need-by figures. */
static void draft_note_lead(struct draft *dr, const struct store_order_line *l, int64_t lead)
{
  if(lead > dr->lead_max)
    dr->lead_max = lead;
  if(l->need_by_ms && l->need_by_ms < dr->need_min)
    dr->need_min = l->need_by_ms;
}

/*
 * Whether line l (lead time `lead`) may join draft dr at now_ms without a line arriving
 * too late: the shop delivers an order when its slowest line is ready (SPEC 13), so a
 * line joining a draft of slower lines arrives after their lead time, and a slower line
 * joining delays every line already there. Whichever lines would be slowed must still be
 * calm with the slower lead time (their need-by date less it beyond urgent_margin, SPEC 8's
 * test of urgency). Lines of the same lead time always join (nothing is slowed).
 */
static bool joins_in_time(const struct cfg *cfg, const struct draft *dr,
                          const struct store_order_line *l, int64_t lead, int64_t now_ms)
{
  int64_t margin = cfg->orders.batching.urgent_margin_ms;
  if(lead < dr->lead_max) /* l would wait for the draft's slowest line */
    return !l->need_by_ms || add_sat(add_sat(l->need_by_ms, -dr->lead_max), -margin) > now_ms;
  if(lead > dr->lead_max) /* every line there would wait for l */
    return dr->need_min == INT64_MAX || add_sat(add_sat(dr->need_min, -lead), -margin) > now_ms;
  return true;
}

/*
 * Put every line that is in no order into its supplier's draft, all in one
 * transaction (one fsync per tick, however many lines). A draft that is full
 * (max_lines) takes no more lines: the next line of its supplier starts
 * another draft, and close_drafts() closes the full one right after. A line
 * joins a draft only when no line would arrive too late for it
 * (joins_in_time(): a shop delivers an order when its slowest line is ready,
 * SPEC 13; SPEC 8: an urgent line never waits for a batch). Nothing here
 * talks to the network.
 */
static enum rs_err batch_lines(struct pipeline *p, const struct cfg *cfg, int64_t now_ms)
{
  struct store_rows ll = {0};
  struct drafts d = {0};
  struct store_rows drafts = {0};
  enum rs_err rc;
  size_t i, k, batched = 0, created = 0;
  bool in_tx = false;

  rc = store_list_open_lines(p->st, collect_unbatched, &ll);
  if(rc) {
    log_rl(LOG_LVL_ERR, "store-orders", "cannot list open order lines: %s", store_errmsg(p->st));
    goto out;
  }
  if(!ll.n)
    goto out;
  rc = list_state(p, STORE_ORDER_DRAFT, &drafts);
  if(rc)
    goto out;
  for(i = 0; i < drafts.n; i++) {
    struct store_order_full *o = NULL;
    struct draft *dr;
    rc = store_get_order(p->st, drafts.v.orders[i].id, &o);
    if(rc)
      goto out;
    d.v = rs_xrealloc(d.v, (d.n + 1) * sizeof(*d.v));
    dr = &d.v[d.n++];
    memcpy(dr->id, o->order.id, sizeof(dr->id));
    dr->supplier = rs_xstrdup(o->order.supplier);
    dr->n_lines = o->n_lines;
    dr->total = o->order.total;
    dr->lead_max = 0;
    dr->need_min = INT64_MAX;
    for(k = 0; k < o->n_lines; k++)
      draft_note_lead(dr, &o->lines[k], lead_time_of(p, cfg, o->lines[k].sku));
    store_order_full_free(o);
  }

  rc = store_begin(p->st);
  if(rc)
    goto fail;
  in_tx = true;
  for(i = 0; i < ll.n; i++) {
    const struct store_order_line *l = &ll.v.lines[i];
    const struct cfg_catalog_item *item = cfg_find_sku(cfg, l->sku);
    const struct cfg_supplier *s = item ? item->supplier : NULL;
    const char *currency = l->currency[0] ? l->currency : cfg->orders.currency;
    struct draft *dr = NULL;
    int64_t max_lines, lead = lead_time_of(p, cfg, l->sku);

    if(!s || !currency) {
      if(l->id > p->warned_line) /* once per line, not every tick */
        log_warn("order line %" PRId64 " (%s): SKU %s has no supplier in the catalog; it waits",
                 l->id, l->consumable, l->sku);
      if(l->id > p->warned_line)
        p->warned_line = l->id;
      continue;
    }
    max_lines = max_lines_of(cfg, s);
    for(k = 0; k < d.n; k++) {
      if(strcmp(d.v[k].supplier, s->id))
        continue;
      if(max_lines > 0 && (int64_t)d.v[k].n_lines >= max_lines)
        continue; /* full: closed by close_drafts() */
      if(!joins_in_time(cfg, &d.v[k], l, lead, now_ms))
        continue; /* one of them would arrive too late behind the slower line */
      dr = &d.v[k];
      break;
    }
    if(!dr) {
      char id[STORE_ORDER_ID_MAX + 1], cause[160], actor[CFG_ID_MAX + 8];
      snprintf(actor, sizeof(actor), "rule:%s", l->rule ? l->rule : "default");
      snprintf(cause, sizeof(cause), "draft for supplier %s, first line %s", s->id, l->consumable);
      rc = store_create_order(p->st, s->id, currency, 0, now_ms, actor, cause, id, sizeof(id));
      if(rc)
        goto fail;
      d.v = rs_xrealloc(d.v, (d.n + 1) * sizeof(*d.v));
      dr = &d.v[d.n++];
      memcpy(dr->id, id, sizeof(dr->id));
      dr->supplier = rs_xstrdup(s->id);
      dr->n_lines = 0;
      dr->total = 0;
      dr->lead_max = 0;
      dr->need_min = INT64_MAX;
      created++;
    }
    rc = store_attach_line(p->st, l->id, dr->id);
    if(!rc)
      rc = store_set_order_total(p->st, dr->id, add_sat(dr->total, line_value(l)), now_ms);
    if(rc)
      goto fail;
    dr->n_lines++;
    dr->total = add_sat(dr->total, line_value(l));
    draft_note_lead(dr, l, lead);
    batched++;
    log_debug("order line %" PRId64 " (%s) joins draft %s of %s", l->id, l->consumable, dr->id,
              s->id);
  }
  in_tx = false;
  rc = store_commit(p->st);
  if(rc)
    goto fail;
  if(batched)
    log_info("%zu order line%s batched (%zu new draft%s)", batched, batched == 1 ? "" : "s",
             created, created == 1 ? "" : "s");
  goto out;
fail:
  log_rl(LOG_LVL_ERR, "store-orders", "order lines not batched: %s", store_errmsg(p->st));
  if(in_tx)
    store_rollback(p->st);
out:
  store_rows_free(&ll);
  store_rows_free(&drafts);
  drafts_free(&d);
  return rc;
}

/* Close every draft whose time has come. */
static enum rs_err close_drafts(struct pipeline *p, const struct cfg *cfg, int64_t now_ms)
{
  struct store_rows l;
  enum rs_err rc = list_state(p, STORE_ORDER_DRAFT, &l);
  size_t i;
  if(rc)
    return rc;
  p->products_waiting = false;
  for(i = 0; i < l.n; i++) {
    struct store_order_full *o = NULL;
    const char *why;
    rc = store_get_order(p->st, l.v.orders[i].id, &o);
    if(rc)
      break;
    why = close_reason(p, cfg, o, now_ms);
    if(why)
      (void)close_draft(p, cfg, o, why, now_ms);
    store_order_full_free(o);
  }
  store_rows_free(&l);
  if(!p->products_waiting && !p->reprice_waiting) {
    /* every draft that asked has used its answers: the next one asks afresh */
    size_t k = 0;
    for(i = 0; i < p->n_products; i++) {
      if(p->products[i].pending)
        p->products[k++] = p->products[i];
      else
        free(p->products[i].sku);
    }
    p->n_products = k;
  }
  return rc;
}

/* Pending orders past link_ttl end in expired. */
static enum rs_err expire_pending(struct pipeline *p, const struct cfg *cfg, int64_t now_ms)
{
  struct store_rows l;
  enum rs_err rc = list_state(p, STORE_ORDER_PENDING_APPROVAL, &l);
  int64_t ttl = cfg->orders.approval.link_ttl_ms;
  size_t i;
  if(rc)
    return rc;
  for(i = 0; i < l.n; i++) {
    struct store_order_full *o = NULL;
    int64_t since, end;
    rc = store_get_order(p->st, l.v.orders[i].id, &o);
    if(rc)
      break;
    since = entered_at(o, STORE_ORDER_PENDING_APPROVAL);
    if(since < 0)
      since = o->order.updated_ms;
    end = add_sat(since, ttl);
    if(now_ms >= end) {
      char cause[128], d[32];
      snprintf(d, sizeof(d), "%" PRId64 "h", ttl / 3600000);
      snprintf(cause, sizeof(cause), "no decision within link_ttl (%s)", d);
      char why[STORE_ORDER_ID_MAX + 160];
      enum rs_err e = store_begin(p->st);
      snprintf(why, sizeof(why), "approval_expired: order %s expired without a decision",
               o->order.id);
      if(!e)
        e = orderfsm_move(p->st, o->order.id, STORE_ORDER_PENDING_APPROVAL, STORE_ORDER_EXPIRED,
                          "system", cause, now_ms);
      if(!e)
        e = hold_consumables(p, cfg, o, STORE_HOLD_EXPIRED, cfg->orders.approval.redraft_after_ms,
                             why, now_ms);
      if(e)
        store_rollback(p->st);
      else
        e = store_commit(p->st);
      if(e == RS_OK)
        log_warn("order %s expired: %s; its parts are held for redraft_after unless they run "
                 "out before a delivery could arrive",
                 o->order.id, cause);
    }
    else
      due_at(p, end);
    store_order_full_free(o);
  }
  store_rows_free(&l);
  return rc;
}

/* ---- the outbox -------------------------------------------------------- */

static struct poll_slot *poll_slot(struct pipeline *p, const char *id);

/* Store p->held under PIPELINE_META_AUTH_HELD (deleted when empty); a failure is logged. */
static void hold_save(struct pipeline *p)
{
  json_t *o = json_object();
  char *s = NULL;
  enum rs_err rc;
  size_t i;
  for(i = 0; o && i < p->n_held; i++)
    json_object_set_new(o, p->held[i].id, json_integer(p->held[i].not_before));
  if(!p->n_held)
    rc = store_meta_delete(p->st, PIPELINE_META_AUTH_HELD);
  else if(!o || !(s = json_dumps(o, JSON_COMPACT)))
    rc = RS_ERR_NOMEM;
  else
    rc = store_meta_set(p->st, PIPELINE_META_AUTH_HELD, s);
  if(rc && rc != RS_ERR_NOT_FOUND)
    log_warn("commerce: cannot store which orders a 401/403 put off: %s", store_errmsg(p->st));
  free(s);
  json_decref(o);
}

/* Forget that order id waits for a 401/403 (it got another answer). */
static void hold_drop(struct pipeline *p, const char *id)
{
  size_t i;
  for(i = 0; i < p->n_held; i++) {
    if(!strcmp(p->held[i].id, id)) {
      free(p->held[i].id);
      p->held[i] = p->held[--p->n_held];
      hold_save(p);
      return;
    }
  }
}

/*
 * The orders a 401/403 put off before a restart (PIPELINE_META_AUTH_HELD).
 * The credentials they were refused with are unknown (auth_fp 0), so the
 * first tick with a shop retries them once (auth_release).
 */
static void hold_load(struct pipeline *p)
{
  char *s = NULL;
  json_t *o = NULL, *v;
  const char *id;
  if(store_meta_get(p->st, PIPELINE_META_AUTH_HELD, &s) || !s)
    goto out;
  o = json_loads(s, 0, NULL);
  if(!json_is_object(o))
    goto out;
  json_object_foreach(o, id, v) {
    if(!json_is_integer(v))
      continue;
    p->held = rs_xrealloc(p->held, (p->n_held + 1) * sizeof(*p->held));
    p->held[p->n_held].id = rs_xstrdup(id);
    p->held[p->n_held++].not_before = (int64_t)json_integer_value(v);
  }
out:
  json_decref(o);
  free(s);
}

/* Order id waits for a 401/403; not_before: the Retry-After it owes (wall ms, 0: none). */
static void hold_add(struct pipeline *p, const char *id, int64_t not_before)
{
  hold_drop(p, id);
  p->held = rs_xrealloc(p->held, (p->n_held + 1) * sizeof(*p->held));
  p->held[p->n_held].id = rs_xstrdup(id);
  p->held[p->n_held++].not_before = not_before;
  hold_save(p);
}

/*
 * The open client has other credentials than the one the shop refused (a
 * reload changed commerce.auth, its token or its password): the orders a
 * 401/403 put off are due now (or when the Retry-After of their 401/403 is
 * up), and the outbox no longer waits for them; so are the status polls a
 * 401/403 put off. The next attempts of other
 * orders (their own Retry-After, backoff) stay as they are. Returns whether
 * it released anything.
 */
static bool auth_release(struct pipeline *p, int64_t now_ms)
{
  int64_t wait = 0;
  size_t i, n = p->n_held;
  if((!p->n_held && !p->auth_wait_until && !p->polls_held) || p->shop_fp == p->auth_fp)
    return false;
  for(i = 0; i < p->n_polls; i++) {
    if(p->polls[i].auth) /* the status polls a 401/403 put off go now too */
      p->polls[i].next_ms = now_ms;
    p->polls[i].auth = false;
  }
  p->polls_held = false;
  for(i = 0; i < p->n_held; i++) {
    int64_t next = p->held[i].not_before > now_ms ? p->held[i].not_before : now_ms;
    if(store_set_next_attempt(p->st, p->held[i].id, next, now_ms))
      log_err("order %s: cannot move its next attempt: %s", p->held[i].id, store_errmsg(p->st));
    if(p->held[i].not_before > wait)
      wait = p->held[i].not_before;
    free(p->held[i].id);
  }
  p->n_held = 0;
  hold_save(p);
  p->auth_wait_until = wait > now_ms ? wait : 0;
  p->auth_fp = p->shop_fp;
  log_notice("commerce: new credentials (a reload that changed them, or a restart): what a "
             "401/403 put off is retried now (%zu order%s, the status polls)",
             n, n == 1 ? "" : "s");
  return true;
}

/*
 * Record what the shop said to attempt number attempts + 1 of order id
 * (the answer to a SUBMIT started by run_outbox()).
 */
static void submit_answer(struct pipeline *p, const struct cfg *cfg, const char *id,
                          int64_t attempts, const struct commerce_result *res, int64_t now_ms)
{
  struct commerce_result r = *res;
  char cause[512], err[400];
  enum rs_err rc;
  int64_t delay, next;
  unsigned attempt = attempts > 30 ? 30u : (unsigned)attempts;

  hold_drop(p, id);
  switch(r.outcome) {
  case COMMERCE_SUBMITTED:
    p->auth_alert = false;
    p->auth_wait_until = 0;
    snprintf(cause, sizeof(cause),
             "accepted by the shop as %s (HTTP %ld, status %s, attempt %" PRId64 ")", r.shop_id,
             r.http_status, r.shop_status[0] ? r.shop_status : "?", attempts + 1);
    rc = store_begin(p->st);
    if(!rc) {
      rc = store_set_order_shop_id(p->st, id, r.shop_id, now_ms);
      if(rc == RS_ERR_CONFLICT) {
        /* The shop named another order's id (a shop bug, a misrouting cache): recording it
         * would let that order's status (its delivery) settle this one too. Not recorded;
         * asked again with the same key and body after a backoff, an alert meanwhile. */
        (void)rs_snprintf(err, sizeof(err), "HTTP %ld: %s; not recorded", r.http_status,
                          store_errmsg(p->st));
        store_rollback(p->st);
        (void)rs_strlcpy(r.message, err, sizeof(r.message));
        r.outcome = COMMERCE_RETRY;
        goto retry;
      }
      if(!rc)
        rc = store_note_attempt(p->st, id, 0, NULL, now_ms);
      if(!rc)
        rc = orderfsm_move(p->st, id, STORE_ORDER_APPROVED, STORE_ORDER_SUBMITTED, "system",
                           cause, now_ms);
      if(rc)
        store_rollback(p->st);
      else
        rc = store_commit(p->st);
    }
    if(rc)
      log_err("order %s was accepted by the shop as %s but that is not recorded (%s); it is "
              "resent with the same key and body",
              id, r.shop_id, store_errmsg(p->st));
    else {
      log_notice("order %s submitted: %s", id, cause);
      poll_slot(p, id)->next_ms = now_ms + cfg->commerce.status_interval_ms;
      due_at(p, now_ms + cfg->commerce.status_interval_ms);
    }
    return;
  case COMMERCE_RETRY:
  retry:
    delay = commerce_backoff_delay(&p->backoff, attempt, r.retry_after_ms, &p->rng);
    next = now_ms + (scaled(p, delay) > 0 ? scaled(p, delay) : 1);
    snprintf(err, sizeof(err), "%s", r.message[0] ? r.message : "no answer");
    log_warn("order %s: attempt %" PRId64 " not accepted (%s%s%s); retrying in %.1f s%s", id,
             attempts + 1, err, r.excerpt[0] && !strstr(err, r.excerpt) ? "; answer: " : "",
             r.excerpt[0] && !strstr(err, r.excerpt) ? r.excerpt : "", (double)delay / 1000.0,
             r.retry_after_ms >= 0 ? " (Retry-After)" : "");
    break;
  case COMMERCE_WAIT_AUTH:
    p->auth_alert = true;
    p->auth_status = r.http_status;
    delay = p->backoff.cap_ms;
    if(r.retry_after_ms > delay)
      delay = r.retry_after_ms;
    next = now_ms + scaled(p, delay);
    p->auth_wait_until = next; /* the other orders wait too: the credentials are the problem */
    p->auth_fp = p->shop_fp;   /* until a reload brings other ones (auth_release) */
    hold_add(p, id, r.retry_after_ms > 0 ? now_ms + scaled(p, r.retry_after_ms) : 0);
    snprintf(err, sizeof(err), "%s", r.message[0] ? r.message : "credentials refused");
    log_err("order %s waits: the shop refused the credentials (HTTP %ld); check commerce.auth; "
            "retrying in %.0f s",
            id, r.http_status, (double)delay / 1000.0);
    break;
  case COMMERCE_FAILED:
  default:
    p->auth_alert = false;
    p->auth_wait_until = 0;
    snprintf(cause, sizeof(cause), "the shop refused the order (HTTP %ld%s%s): %s", r.http_status,
             r.error_code[0] ? " " : "", r.error_code, r.message[0] ? r.message : r.excerpt);
    rc = store_begin(p->st);
    if(!rc) {
      rc = store_note_attempt(p->st, id, 0, r.message[0] ? r.message : r.excerpt, now_ms);
      if(!rc)
        rc = orderfsm_move(p->st, id, STORE_ORDER_APPROVED, STORE_ORDER_FAILED, "system", cause,
                           now_ms);
      if(rc)
        store_rollback(p->st);
      else
        rc = store_commit(p->st);
    }
    if(rc)
      log_err("order %s: cannot record the failure: %s", id, store_errmsg(p->st));
    else
      log_err("order %s failed: %s", id, cause);
    return;
  }
  rc = store_note_attempt(p->st, id, next, err, now_ms);
  if(rc)
    log_err("order %s: cannot record the attempt: %s", id, store_errmsg(p->st));
  due_at(p, next);
}

/*
 * A person approved o: the shop's current prices before the body is built
 * (SPEC 9: "a late approval is re-priced"). Starts the product lookups and
 * returns false while an answer is out (o waits; nothing blocks); true when
 * the prices of f are current (changed ones stored, with the total, in the
 * caller's transaction) or there is nothing to ask.
 */
static bool reprice_ready(struct pipeline *p, const struct cfg *cfg, struct commerce *shop,
                          const struct store_order_full *f, int64_t now_ms)
{
  struct line_verdicts v = {0};
  int64_t before = f->order.total, after = 0;
  bool changed = false;
  size_t i;
  if(shop && products_pending(p, shop, f)) {
    p->reprice_waiting = true;
    return false;
  }
  v.n = f->n_lines;
  v.person = rs_xcalloc(f->n_lines + 1, sizeof(*v.person));
  v.price = rs_xcalloc(f->n_lines + 1, sizeof(*v.price));
  for(i = 0; i < f->n_lines; i++) {
    const struct product_slot *ps = shop ? product_slot(p, f->lines[i].sku, false) : NULL;
    struct store_order_line q = f->lines[i];
    v.price[i] = -1;
    if(ps && ps->lk == COMMERCE_LOOKUP_OK && !strcmp(ps->pr.currency, f->order.currency) &&
       ps->pr.unit_price > 0) {
      v.price[i] = ps->pr.unit_price;
      q.unit_price = ps->pr.unit_price;
      note_lead_time(p, q.sku, ps->pr.lead_time_days);
    }
    after = add_sat(after, line_value(&q));
  }
  if(apply_prices(p, f, &v, now_ms, &changed) == RS_OK && changed) {
    char a[40], b[40];
    fmt_money(cfg, before, a, sizeof(a));
    fmt_money(cfg, after, b, sizeof(b));
    if((double)after > (double)before * (1.0 + cfg->orders.approval.price_tolerance) + 1e-9)
      log_warn("order %s: approved at %s, re-priced at the shop's current prices to %s %s, more "
               "than price_tolerance above what the approver saw",
               f->order.id, a, b, f->order.currency);
    else
      log_notice("order %s: re-priced at the shop's current prices: %s -> %s %s", f->order.id, a,
                 b, f->order.currency);
  }
  verdicts_free(&v);
  return true;
}

/*
 * Store the body of an approved order that has none yet: approved by a
 * person (re-priced first, see reprice_ready), or approved before the shop
 * was set up. The prices and the body go in one transaction.
 */
static void fill_body(struct pipeline *p, const struct cfg *cfg, struct commerce *shop,
                      struct store_order *o, int64_t now_ms)
{
  struct store_order_full *f = NULL, *g = NULL;
  char *body = NULL, key[128], *flag = NULL;
  bool reprice;
  if(rs_snprintf(key, sizeof(key), "%s%s", PIPELINE_META_REPRICE, o->id))
    return;
  reprice = store_meta_get(p->st, key, &flag) == RS_OK && flag && !strcmp(flag, "1");
  free(flag);
  if(store_get_order(p->st, o->id, &f))
    return;
  if(store_begin(p->st))
    goto out;
  if(reprice && !reprice_ready(p, cfg, shop, f, now_ms)) {
    store_rollback(p->st);
    goto out;
  }
  if(store_get_order(p->st, o->id, &g) == RS_OK)
    body = build_body(cfg, g);
  if(body && store_set_order_body(p->st, o->id, body, now_ms) == RS_OK &&
     (!reprice || store_meta_set(p->st, key, "0") == RS_OK) && store_commit(p->st) == RS_OK) {
    o->request_body = body;
    body = NULL;
  }
  else
    store_rollback(p->st);
out:
  free(body);
  store_order_full_free(f);
  store_order_full_free(g);
}

/* Send every due order of the outbox. */
static enum rs_err run_outbox(struct pipeline *p, const struct cfg *cfg, int64_t now_ms)
{
  struct commerce *shop = shop_ready(p, cfg);
  bool have_shop = shop != NULL;
  struct store_rows l;
  enum rs_err rc = list_state(p, STORE_ORDER_APPROVED, &l);
  size_t i, sent = shop_req_count(p, COMMERCE_REQ_SUBMIT);
  p->n_no_shop = 0;
  p->reprice_waiting = false;
  if(rc)
    return rc;
  if(have_shop && auth_release(p, now_ms)) {
    store_rows_free(&l); /* read again: next attempts moved */
    rc = list_state(p, STORE_ORDER_APPROVED, &l);
    if(rc)
      return rc;
  }
  for(i = 0; i < l.n; i++) {
    struct store_order *o = &l.v.orders[i];
    if(!have_shop) {
      p->n_no_shop++;
      continue;
    }
    if(!o->request_body)
      fill_body(p, cfg, shop, o, now_ms);
    if(!o->request_body) {
      if(!p->reprice_waiting)
        p->n_no_shop++;
      continue;
    }
    if(o->next_attempt_ms && o->next_attempt_ms > now_ms) {
      due_at(p, o->next_attempt_ms);
      continue;
    }
    if(p->auth_wait_until > now_ms) {
      due_at(p, p->auth_wait_until);
      continue;
    }
    if(shop_req_out(p, COMMERCE_REQ_SUBMIT, o->id))
      continue; /* on its way; its answer makes the next tick due */
    if(sent >= MAX_SENDS_PER_TICK)
      continue; /* more when answers come back */
    sent++;
    (void)shop_start(p, shop, COMMERCE_REQ_SUBMIT, o->id, o->id, o->attempts, o->request_body);
    drain_answers(p, cfg, now_ms); /* a blocking client answered at once: as before, a 401
                                      holds the orders after it */
  }
  store_rows_free(&l);
  return RS_OK;
}

/* ---- status tracking --------------------------------------------------- */

/* The poll schedule of order id (made, due at once, when it has none). */
static struct poll_slot *poll_slot(struct pipeline *p, const char *id)
{
  size_t i;
  for(i = 0; i < p->n_polls; i++) {
    if(!strcmp(p->polls[i].id, id))
      return &p->polls[i];
  }
  p->polls = rs_xrealloc(p->polls, (p->n_polls + 1) * sizeof(*p->polls));
  memset(&p->polls[p->n_polls], 0, sizeof(*p->polls));
  rs_strlcpy(p->polls[p->n_polls].id, id, sizeof(p->polls[p->n_polls].id));
  return &p->polls[p->n_polls++];
}

/* Forget poll slots of orders that are no longer tracked (mark: ids still tracked). */
static void polls_prune(struct pipeline *p, const struct store_rows *a, const struct store_rows *b)
{
  size_t i = 0, k;
  while(i < p->n_polls) {
    bool keep = false;
    for(k = 0; k < a->n && !keep; k++)
      keep = !strcmp(a->v.orders[k].id, p->polls[i].id);
    for(k = 0; k < b->n && !keep; k++)
      keep = !strcmp(b->v.orders[k].id, p->polls[i].id);
    if(keep) {
      i++;
      continue;
    }
    free(p->polls[i].alert);
    memmove(&p->polls[i], &p->polls[i + 1], (p->n_polls - i - 1) * sizeof(*p->polls));
    p->n_polls--;
  }
}

static void slot_alert(struct poll_slot *s, const char *fmt, ...) RS_PRINTF(2, 3);
static void slot_alert(struct poll_slot *s, const char *fmt, ...)
{
  va_list ap;
  free(s->alert);
  va_start(ap, fmt);
  s->alert = rs_vstrdupf(fmt, ap);
  va_end(ap);
}

/*
 * Note that something took took_ms under the meta key `key`: the stored
 * figure follows a slower one at once and a faster one a quarter of the way.
 */
static enum rs_err note_running(struct pipeline *p, const char *key, int64_t took_ms)
{
  char val[32], *cur = NULL;
  int64_t old = -1, ms = took_ms;
  enum rs_err rc;
  if(took_ms <= 0)
    return RS_OK;
  if(store_meta_get(p->st, key, &cur) == RS_OK && cur &&
     rs_parse_i64(cur, false, 0, INT64_MAX, &old))
    old = -1;
  free(cur);
  if(old >= 0 && took_ms < old)
    ms = old - (old - took_ms) / 4;
  if(rs_snprintf(val, sizeof(val), "%" PRId64, ms))
    return RS_OK;
  rc = store_meta_set(p->st, key, val);
  return rc;
}

/*
 * Note that a line of consumable took took_ms from drafted to delivered:
 * the stored replenishment time (STORE_META_REPLENISH) follows a slower
 * delivery at once and a faster one a quarter of the way, so it stays near
 * the slow end of the shop's jitter and one quick delivery does not make
 * the next order late or short. It includes the waits for batching and
 * for a person's approval, which the catalog's lead time does not.
 */
static enum rs_err note_replenish(struct pipeline *p, const char *consumable, int64_t took_ms)
{
  char key[CFG_ID_MAX * 2 + 64];
  if(rs_snprintf(key, sizeof(key), "%s%s", STORE_META_REPLENISH, consumable))
    return RS_OK;
  return note_running(p, key, took_ms);
}

/* The time order f waited for a person (its last pending_approval to approved), or -1. */
static int64_t approval_wait_ms(const struct store_order_full *f)
{
  int64_t asked = -1, wait = -1;
  size_t i;
  for(i = 0; i < f->n_transitions; i++) {
    const struct store_transition *t = &f->transitions[i];
    if(t->to == STORE_ORDER_PENDING_APPROVAL)
      asked = t->time_ms;
    else if(t->to == STORE_ORDER_APPROVED && t->has_from &&
            t->from == STORE_ORDER_PENDING_APPROVAL && asked >= 0 && t->time_ms >= asked)
      wait = t->time_ms - asked;
  }
  return wait;
}

/* Delivered: move to delivered and add every line's quantity to its consumable's spares. */
static enum rs_err deliver(struct pipeline *p, const struct store_order *o,
                           enum store_order_state from, const char *cause, int64_t now_ms)
{
  struct store_order_full *f = NULL;
  enum rs_err rc = store_get_order(p->st, o->id, &f);
  size_t i;
  if(rc)
    return rc;
  rc = store_begin(p->st);
  if(rc)
    goto out;
  rc = orderfsm_move(p->st, o->id, from, STORE_ORDER_DELIVERED, "system", cause, now_ms);
  /* units fitted before the shop reported the delivery are on the books already (SPEC 7) */
  for(i = 0; !rc && i < f->n_lines; i++)
    if(f->lines[i].quantity > f->lines[i].received)
      rc = store_add_spares(p->st, f->lines[i].consumable,
                            f->lines[i].quantity - f->lines[i].received, now_ms, NULL);
  for(i = 0; !rc && i < f->n_lines; i++)
    rc = note_replenish(p, f->lines[i].consumable, now_ms - f->lines[i].created_ms);
  if(!rc)
    rc = note_running(p, STORE_META_APPROVAL_WAIT, approval_wait_ms(f));
  if(rc)
    store_rollback(p->st);
  else
    rc = store_commit(p->st);
out:
  if(!rc)
    log_notice("order %s delivered: %zu line%s added to spares", o->id, f->n_lines,
               f->n_lines == 1 ? "" : "s");
  store_order_full_free(f);
  return rc;
}

/*
 * The status poll of one submitted or shipped order: start it when due. A
 * slot seen for the first time (after a start) is due at a point spread
 * over status_interval by the order id, so a restart does not poll every
 * order at once.
 */
static void poll_one(struct pipeline *p, const struct cfg *cfg, struct commerce *shop,
                     const struct store_order *o, int64_t now_ms)
{
  struct poll_slot *s = poll_slot(p, o->id);
  int64_t interval = cfg->commerce.status_interval_ms, longest;

  longest = scaled(p, p->backoff.cap_ms);
  if(longest < interval)
    longest = interval;
  if(s->busy)
    return; /* its answer makes the next tick due */
  if(!s->next_ms && interval > 0) {
    uint64_t h = 1469598103934665603u; /* FNV-1a of the id */
    const char *c;
    for(c = o->id; *c; c++)
      h = (h ^ (unsigned char)*c) * 1099511628211u;
    s->next_ms = now_ms + (int64_t)(h % (uint64_t)interval);
  }
  if(s->next_ms > now_ms) {
    due_at(p, s->next_ms);
    return;
  }
  if(!o->shop_id) {
    slot_alert(s, "order %s is %s but has no shop id", o->id, store_order_state_name(o->state));
    s->next_ms = now_ms + longest;
    due_at(p, s->next_ms);
    return;
  }
  if(shop_req_count(p, COMMERCE_REQ_ORDER) >= MAX_POLLS_OUTSTANDING) {
    due_at(p, now_ms + 1000);
    return;
  }
  s->busy = true;
  if(shop_start(p, shop, COMMERCE_REQ_ORDER, o->shop_id, o->id, 0, NULL))
    s->busy = false;
  else
    drain_answers(p, cfg, now_ms); /* a blocking client answered at once */
}

/* Record the status answer on order id (now in state o->state). */
static void poll_answer(struct pipeline *p, const struct cfg *cfg, const struct store_order *o,
                        enum commerce_lookup lk, const struct commerce_order_info *res,
                        int64_t now_ms)
{
  struct poll_slot *s = poll_slot(p, o->id);
  struct commerce_order_info info = *res;
  int64_t interval = cfg->commerce.status_interval_ms, longest;
  char cause[256];

  longest = scaled(p, p->backoff.cap_ms);
  if(longest < interval)
    longest = interval;
  s->busy = false;
  s->next_ms = now_ms + interval;
  s->auth = false;
  switch(lk) {
  case COMMERCE_LOOKUP_OK:
    p->auth_alert = false;
    p->auth_wait_until = 0;
    FREE_NULL(s->alert);
    if(info.status == COMMERCE_ST_SHIPPED && o->state == STORE_ORDER_SUBMITTED) {
      snprintf(cause, sizeof(cause), "the shop reports shipped%s%s",
               info.tracking[0] ? ", tracking " : "", info.tracking);
      if(orderfsm_move(p->st, o->id, STORE_ORDER_SUBMITTED, STORE_ORDER_SHIPPED, "system", cause,
                       now_ms) == RS_OK)
        log_notice("order %s shipped%s%s", o->id, info.tracking[0] ? ": tracking " : "",
                   info.tracking);
    }
    else if(info.status == COMMERCE_ST_DELIVERED) {
      snprintf(cause, sizeof(cause), "the shop reports delivered%s%s",
               info.tracking[0] ? ", tracking " : "", info.tracking);
      if(deliver(p, o, o->state, cause, now_ms))
        log_rl(LOG_LVL_ERR, "store-orders", "order %s: cannot record the delivery: %s", o->id,
               store_errmsg(p->st));
    }
    else if(info.status == COMMERCE_ST_CANCELLED) {
      if(orderfsm_move(p->st, o->id, o->state, STORE_ORDER_CANCELLED, "system",
                       "the shop cancelled the order", now_ms) == RS_OK)
        log_warn("order %s: the shop cancelled it", o->id);
    }
    break;
  case COMMERCE_LOOKUP_RETRY:
    log_info("order %s: status not read (%s); next try in the next interval", o->id, info.message);
    break;
  case COMMERCE_LOOKUP_WAIT_AUTH:
    p->auth_alert = true;
    p->auth_status = info.http_status;
    s->next_ms = now_ms + longest;
    s->auth = true; /* until a reload brings other credentials (auth_release) */
    p->polls_held = true;
    p->auth_fp = p->shop_fp;
    log_err("order %s: the shop refused the credentials reading its status (HTTP %ld)", o->id,
            info.http_status);
    break;
  case COMMERCE_LOOKUP_NONE:
  case COMMERCE_LOOKUP_BAD:
  default:
    s->next_ms = now_ms + longest;
    if(lk == COMMERCE_LOOKUP_NONE)
      slot_alert(s, "order %s: the shop does not know %s (HTTP %ld); still polling", o->id,
                 o->shop_id, info.http_status);
    else
      slot_alert(s, "order %s: unusable status answer from the shop (%s%s%s); still polling", o->id,
                 info.message, info.status_text[0] ? ", status " : "", info.status_text);
    log_warn("%s", s->alert ? s->alert : "order status unreadable");
    break;
  }
  due_at(p, s->next_ms);
}

static enum rs_err track_status(struct pipeline *p, const struct cfg *cfg, int64_t now_ms)
{
  struct commerce *shop = shop_ready(p, cfg);
  bool have_shop = shop != NULL;
  struct store_rows sub = {0}, shp = {0};
  enum rs_err rc;
  size_t i;
  rc = list_state(p, STORE_ORDER_SUBMITTED, &sub);
  if(!rc)
    rc = list_state(p, STORE_ORDER_SHIPPED, &shp);
  if(rc)
    goto out;
  polls_prune(p, &sub, &shp);
  for(i = 0; have_shop && i < sub.n; i++)
    poll_one(p, cfg, shop, &sub.v.orders[i], now_ms);
  for(i = 0; have_shop && i < shp.n; i++)
    poll_one(p, cfg, shop, &shp.v.orders[i], now_ms);
out:
  store_rows_free(&sub);
  store_rows_free(&shp);
  return rc;
}

/* ---- alerts and the tick ----------------------------------------------- */

static void rebuild_alerts(struct pipeline *p, const struct cfg *cfg)
{
  struct rs_strv a = {0};
  size_t i;
  rs_strv_free(&p->alerts);
  if(p->auth_alert)
    rs_strv_add(&a,
             "commerce: the shop refuses the credentials (HTTP %ld): orders wait until "
             "commerce.auth works",
             p->auth_status);
  if(p->client_err[0])
    rs_strv_add(&a, "commerce: no client: %s", p->client_err);
  for(i = 0; i < p->n_polls && a.n < MAX_ALERTS; i++) {
    if(p->polls[i].alert)
      rs_strv_add(&a, "%s", p->polls[i].alert);
  }
  p->n_shop_alerts = a.n;
  if(p->n_no_shop) {
    const char *why = "no request body (see the log)";
    if(!cfg->commerce.set)
      why = "no shop configured";
    else if(!p->online && !p->have_override)
      why = "offline (this run does no shop I/O)";
    else if(p->client_err[0])
      why = "the commerce client is not available";
    rs_strv_add(&a, "%zu approved order%s not sent: %s", p->n_no_shop, p->n_no_shop == 1 ? "" : "s",
             why);
  }
  p->alerts = a;
}

/*
 * Handle the shop's answers that came back (in start order), at now_ms:
 * submissions and status polls are recorded; product answers were already
 * put where the approval policy looks.
 */
static void drain_answers(struct pipeline *p, const struct cfg *cfg, int64_t now_ms)
{
  size_t i = 0;
  p->answers_waiting = false;
  while(i < p->n_reqs) {
    struct shop_req *r = p->reqs[i];
    if(!r->a) {
      i++;
      continue;
    }
    memmove(&p->reqs[i], &p->reqs[i + 1], (p->n_reqs - i - 1) * sizeof(*p->reqs));
    p->n_reqs--;
    if(r->req == COMMERCE_REQ_SUBMIT)
      submit_answer(p, cfg, r->order_id, r->attempts, &r->a->result, now_ms);
    else if(r->req == COMMERCE_REQ_ORDER) {
      struct store_order_full *f = NULL;
      if(store_get_order(p->st, r->order_id, &f) == RS_OK &&
         (f->order.state == STORE_ORDER_SUBMITTED || f->order.state == STORE_ORDER_SHIPPED))
        poll_answer(p, cfg, &f->order, r->a->lookup, &r->a->order, now_ms);
      else
        poll_slot(p, r->order_id)->busy = false;
      store_order_full_free(f);
    }
    shop_req_free(r);
  }
}

/* t moved back by step, but not before now_ms. */
static int64_t back_by(int64_t t, int64_t step, int64_t now_ms)
{
  return t - step > now_ms ? t - step : now_ms;
}

/*
 * The wall clock stepped back by step ms (NTP correcting a clock that ran
 * ahead): what waits on the wall timeline (outbox retries, status polls,
 * the 401/403 hold and its Retry-Afters) moves back with it, so a wait of a
 * second does not become a day. Waits already due stay due.
 */
static void clock_stepped_back(struct pipeline *p, int64_t step, int64_t now_ms)
{
  struct store_rows l;
  size_t i, moved = 0;
  for(i = 0; i < p->n_polls; i++)
    if(p->polls[i].next_ms > now_ms)
      p->polls[i].next_ms = back_by(p->polls[i].next_ms, step, now_ms);
  if(p->auth_wait_until > now_ms)
    p->auth_wait_until = back_by(p->auth_wait_until, step, now_ms);
  for(i = 0; i < p->n_held; i++)
    if(p->held[i].not_before > now_ms)
      p->held[i].not_before = back_by(p->held[i].not_before, step, now_ms);
  if(p->n_held)
    hold_save(p);
  if(list_state(p, STORE_ORDER_APPROVED, &l) == RS_OK) {
    for(i = 0; i < l.n; i++) {
      const struct store_order *o = &l.v.orders[i];
      if(o->next_attempt_ms > now_ms &&
         store_set_next_attempt(p->st, o->id, back_by(o->next_attempt_ms, step, now_ms),
                                now_ms) == RS_OK)
        moved++;
    }
    store_rows_free(&l);
  }
  log_warn("wall clock stepped back by %.0f s: status polls, holds and %zu order retr%s moved "
           "back with it",
           (double)step / 1000.0, moved, moved == 1 ? "y" : "ies");
}

enum rs_err pipeline_tick(struct pipeline *p, const struct cfg *cfg, int64_t now_ms)
{
  enum rs_err rc = RS_OK, r;
  p->next_due = INT64_MAX;
  if(!pipeline_clock_check(p, now_ms))
    return RS_OK;
  if(!p->rng_seeded) {
    p->rng = (uint64_t)now_ms ^ ((uint64_t)(uintptr_t)p << 16) ^ 0x9e3779b97f4a7c15u;
    p->rng_seeded = true;
  }
  if(p->last_now && now_ms < p->last_now - PIPELINE_STEP_BACK_MS)
    clock_stepped_back(p, p->last_now - now_ms, now_ms);
  p->last_now = now_ms;
  p->in_tick = true;
  drain_answers(p, cfg, now_ms);
  if(store_fault(p->st, NULL, 0, NULL, NULL)) {
    /* the database takes no writes: one pass per PIPELINE_FAULT_PASS_MS of real
       time, on the monotonic clock */
    int64_t mono = clock_real_mono_ms();
    if(p->fault_pass && mono < p->fault_pass) {
      due_at(p, now_ms + scaled(p, p->fault_pass - mono));
      p->in_tick = false;
      return RS_OK;
    }
    p->fault_pass = mono + PIPELINE_FAULT_PASS_MS;
  }
  else
    p->fault_pass = 0;
  r = batch_lines(p, cfg, now_ms);
  rc = rc ? rc : r;
  r = close_drafts(p, cfg, now_ms);
  rc = rc ? rc : r;
  r = expire_pending(p, cfg, now_ms);
  rc = rc ? rc : r;
  r = run_outbox(p, cfg, now_ms);
  rc = rc ? rc : r;
  drain_answers(p, cfg, now_ms); /* a blocking client answered already */
  r = track_status(p, cfg, now_ms);
  rc = rc ? rc : r;
  drain_answers(p, cfg, now_ms);
  p->in_tick = false;
  if(p->fault_pass && store_fault(p->st, NULL, 0, NULL, NULL)) {
    int64_t left = p->fault_pass - clock_real_mono_ms();
    due_at(p, now_ms + (left > 0 ? scaled(p, left) : 0));
  }
  rebuild_alerts(p, cfg);
  return rc;
}

int64_t pipeline_next_due(const struct pipeline *p)
{
  return p->answers_waiting ? INT64_MIN : p->next_due;
}

size_t pipeline_shop_alerts(const struct pipeline *p, const char *const **out)
{
  *out = (const char *const *)p->alerts.v;
  return p->n_shop_alerts < p->alerts.n ? p->n_shop_alerts : p->alerts.n;
}

size_t pipeline_alerts(const struct pipeline *p, const char *const **out)
{
  *out = (const char *const *)p->alerts.v;
  return p->alerts.n;
}

bool pipeline_auth_alert(const struct pipeline *p)
{
  return p->auth_alert;
}

enum rs_err pipeline_month_spend(struct pipeline *p, int64_t now_ms, int64_t *out)
{
  return month_spend(p, now_ms, out);
}

uint64_t pipeline_lines_created(const struct pipeline *p)
{
  return p->created;
}
