/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The order pipeline on a virtual clock with a scripted fake shop: the
 * transition table, batching, the approval policy, link_ttl, the outbox
 * (backoff with Retry-After, 401, 422, restart in the middle) and status
 * tracking with delivered spares. Real store (SQLite file in a temp dir),
 * real config loader, real pipeline; only the shop is faked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "adapters/commerce.h"
#include "config/config.h"
#include "base/rs_util.h"
#include "base/log.h"
#include "gateway/orderfsm.h"
#include "gateway/pipeline.h"
#include "gateway/store.h"

#define H_MS (3600 * 1000LL)
#define D_MS (24 * H_MS)

static const char yaml_base[] =
    "gateway: {id: test-gw}\n"
    "storage: {path: /nonexistent/t.db}\n"
    "%s" /* commerce section or nothing */
    "orders:\n"
    "  currency: EUR\n"
    "  batching: {window: 24h, flush_value: \"250.00\", max_lines: 3, urgent_margin: 2d}\n"
    "  approval: {require_over_value: \"500.00\", require_over_quantity: 10,\n"
    "             monthly_budget: \"2000.00\", price_tolerance: 10%%, link_ttl: 72h}\n"
    "catalog:\n"
    "  - {sku: HF-2040, supplier: acme, unit_price: \"42.50\", currency: EUR, lead_time: 5d}\n"
    "  - {sku: INK-C, supplier: acme, unit_price: \"10.00\", currency: EUR}\n"
    "  - {sku: SEAL-X, supplier: acme, unit_price: \"5.00\", currency: EUR, approval: required}\n"
    "  - {sku: BELT-1, supplier: bolt, unit_price: \"30.00\", currency: EUR}\n"
    "  - {sku: GEAR-7, supplier: cogs, unit_price: \"300.00\", currency: EUR}\n"
    "suppliers:\n"
    "  - {id: acme}\n"
    "  - {id: bolt, free_shipping_over: \"100.00\", max_lines: 2}\n"
    "  - {id: cogs}\n";

static const char commerce_section[] =
    "commerce:\n"
    "  base_url: http://127.0.0.1:9/api/v1\n"
    "  status_interval: 1h\n"
    "  customer_id: C-1042\n"
    "  ship_to: {name: Stores, street: Main 1, city: Town, postcode: \"12345\", country: DE}\n";

static const char rules_yaml[] = "rules:\n"
                                 "  - name: needs-person\n"
                                 "    when: days_left < 3\n"
                                 "    approval: required\n";

/* ---- the fake shop ---- */

struct step {
  enum commerce_outcome outcome;
  long status;
  int64_t retry_after_ms;
  const char *message;
};

struct product {
  const char *sku;
  enum commerce_lookup lookup;
  const char *currency;
  int64_t unit_price;
  bool available;
  double lead_time_days;
};

struct fake {
  const struct step *steps;
  size_t n_steps, next_step;
  unsigned submits;
  char keys[16][STORE_ORDER_ID_MAX + 1];
  char *bodies[16];
  unsigned shop_seq;
  /* status answers, used in turn (the last one repeats) */
  const enum commerce_lookup *lookups;
  const enum commerce_shop_status *statuses;
  size_t n_status, next_status;
  unsigned gets;
  const struct product *products;
  size_t n_products;
  unsigned product_gets;
};

static enum commerce_outcome fake_submit(void *ctx, const char *id, const char *body,
                                         struct commerce_result *r)
{
  struct fake *f = ctx;
  const struct step *s;
  memset(r, 0, sizeof(*r));
  r->retry_after_ms = -1;
  if(f->submits < 16) {
    rs_strlcpy(f->keys[f->submits], id, sizeof(f->keys[0]));
    f->bodies[f->submits] = rs_xstrdup(body);
  }
  f->submits++;
  if(f->next_step >= f->n_steps) {
    r->outcome = COMMERCE_SUBMITTED;
    r->http_status = 201;
  }
  else {
    s = &f->steps[f->next_step++];
    r->outcome = s->outcome;
    r->http_status = s->status;
    r->retry_after_ms = s->retry_after_ms;
    if(s->message)
      rs_strlcpy(r->message, s->message, sizeof(r->message));
  }
  if(r->outcome == COMMERCE_SUBMITTED) {
    snprintf(r->shop_id, sizeof(r->shop_id), "S-%u", ++f->shop_seq);
    rs_strlcpy(r->shop_status, "accepted", sizeof(r->shop_status));
  }
  return r->outcome;
}

static enum commerce_lookup fake_get_order(void *ctx, const char *shop_id,
                                           struct commerce_order_info *out)
{
  struct fake *f = ctx;
  size_t i;
  memset(out, 0, sizeof(*out));
  f->gets++;
  if(!f->n_status) {
    out->http_status = 200;
    out->status = COMMERCE_ST_ACCEPTED;
    return COMMERCE_LOOKUP_OK;
  }
  i = f->next_status < f->n_status ? f->next_status++ : f->n_status - 1;
  rs_strlcpy(out->id, shop_id, sizeof(out->id));
  out->status = f->statuses[i];
  out->http_status = f->lookups[i] == COMMERCE_LOOKUP_NONE ? 404 : 200;
  if(f->statuses[i] == COMMERCE_ST_SHIPPED)
    rs_strlcpy(out->tracking, "TRK-1", sizeof(out->tracking));
  return f->lookups[i];
}

static enum commerce_lookup fake_get_product(void *ctx, const char *sku,
                                             struct commerce_product *out)
{
  struct fake *f = ctx;
  size_t i;
  memset(out, 0, sizeof(*out));
  f->product_gets++;
  for(i = 0; i < f->n_products; i++) {
    const struct product *p = &f->products[i];
    if(strcmp(p->sku, sku))
      continue;
    if(p->lookup != COMMERCE_LOOKUP_OK) {
      out->http_status = 404;
      return p->lookup;
    }
    out->http_status = 200;
    rs_strlcpy(out->sku, sku, sizeof(out->sku));
    rs_strlcpy(out->currency, p->currency, sizeof(out->currency));
    out->unit_price = p->unit_price;
    out->available = p->available;
    out->lead_time_days = p->lead_time_days;
    return COMMERCE_LOOKUP_OK;
  }
  out->http_status = 404;
  return COMMERCE_LOOKUP_NONE;
}

static void fake_free(struct fake *f)
{
  size_t i;
  for(i = 0; i < 16; i++)
    FREE_NULL(f->bodies[i]);
}

/* ---- environment ---- */

struct env {
  char dir[64];
  char db[128];
  struct cfg *cfg;
  struct store *st;
  struct pipeline *p;
  struct fake fake;
  int64_t now;
  unsigned n_cons;
};

static int64_t utc(int y, int mo, int d, int h)
{
  struct tm tm;
  memset(&tm, 0, sizeof(tm));
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  return (int64_t)timegm(&tm) * 1000;
}

static struct cfg *load_cfg(bool with_commerce, const char *extra_rules)
{
  char yaml[4096];
  struct cfg_file_buf files[2];
  struct cfg_diags diags = {0};
  struct cfg *cfg = NULL;
  int nerr;
  assert_int_equal(
      rs_snprintf(yaml, sizeof(yaml), yaml_base, with_commerce ? commerce_section : ""), 0);
  files[0].name = "restock.yaml";
  files[0].data = yaml;
  files[0].len = strlen(yaml);
  files[1].name = "rules.d/r.yaml";
  files[1].data = extra_rules;
  files[1].len = strlen(extra_rules);
  nerr = cfg_load_buffers("/tmp", files, 2, &cfg, &diags);
  if(nerr)
    cfg_diags_print(&diags, stderr);
  cfg_diags_free(&diags);
  assert_int_equal(nerr, 0);
  return cfg;
}

static void use_fake(struct env *e)
{
  struct pipeline_shop_ops ops = {&e->fake, fake_submit, fake_get_order, fake_get_product};
  pipeline_set_shop(e->p, &ops);
}

static void env_open(struct env *e, bool with_commerce)
{
  char err[256];
  memset(e, 0, sizeof(*e));
  assert_int_equal(rs_strlcpy(e->dir, "/tmp/restock-orders-XXXXXX", sizeof(e->dir)), 0);
  assert_non_null(mkdtemp(e->dir));
  assert_int_equal(rs_snprintf(e->db, sizeof(e->db), "%s/restock.db", e->dir), 0);
  assert_int_equal(store_open(e->db, &e->st, err, sizeof(err)), RS_OK);
  e->cfg = load_cfg(with_commerce, rules_yaml);
  e->p = pipeline_new(e->st);
  assert_non_null(e->p);
  pipeline_set_seed(e->p, 42);
  pipeline_set_backoff(e->p, 1000, 60000);
  if(with_commerce)
    use_fake(e);
  e->now = utc(2026, 12, 10, 8);
}

static void env_close(struct env *e)
{
  char cmd[160];
  pipeline_free(e->p);
  store_close(e->st);
  cfg_free(e->cfg);
  fake_free(&e->fake);
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
  assert_int_equal(system(cmd), 0);
}

static void tick(struct env *e)
{
  assert_int_equal(pipeline_tick(e->p, e->cfg, e->now), RS_OK);
}

/* An open line for a fresh consumable; unit price from the catalog. */
static int64_t add_line_full(struct env *e, const char *sku, int64_t qty, int64_t need_by,
                             const char *rule)
{
  struct store_order_line l;
  const struct cfg_catalog_item *item = cfg_find_sku(e->cfg, sku);
  char cons[64];
  int64_t id = 0;
  assert_non_null(item);
  snprintf(cons, sizeof(cons), "press-01/c%u", ++e->n_cons);
  memset(&l, 0, sizeof(l));
  l.consumable = cons;
  l.sku = (char *)sku;
  l.quantity = qty;
  l.unit_price = item->unit_price.minor;
  rs_strlcpy(l.currency, "EUR", sizeof(l.currency));
  l.rule = (char *)rule;
  l.need_by_ms = need_by;
  l.created_ms = e->now;
  assert_int_equal(store_add_order_line(e->st, &l, &id), RS_OK);
  return id;
}

static int64_t add_line(struct env *e, const char *sku, int64_t qty)
{
  return add_line_full(e, sku, qty, 0, NULL);
}

struct ids {
  char v[32][STORE_ORDER_ID_MAX + 1];
  enum store_order_state state[32];
  size_t n;
};

static int collect_ids(void *ud, const struct store_order *o)
{
  struct ids *ids = ud;
  if(ids->n < 32) {
    memcpy(ids->v[ids->n], o->id, sizeof(ids->v[0]));
    ids->state[ids->n] = o->state;
    ids->n++;
  }
  return 0;
}

/* Orders in state (all when all is true), newest first. */
static size_t orders_in(struct env *e, bool all, enum store_order_state state, struct ids *ids)
{
  memset(ids, 0, sizeof(*ids));
  assert_int_equal(store_list_orders(e->st, !all, state, 0, collect_ids, ids), RS_OK);
  return ids->n;
}

static size_t count_in(struct env *e, enum store_order_state state)
{
  struct ids ids;
  return orders_in(e, false, state, &ids);
}

/* The only order there is. */
static struct store_order_full *only_order(struct env *e)
{
  struct ids ids;
  struct store_order_full *o = NULL;
  assert_int_equal(orders_in(e, true, STORE_ORDER_DRAFT, &ids), 1);
  assert_int_equal(store_get_order(e->st, ids.v[0], &o), RS_OK);
  return o;
}

/* The scalars of order id's row that the tests check; the order must exist. */
struct order_row {
  enum store_order_state state;
  int64_t attempts;        /* sending attempts so far */
  int64_t next_attempt_ms; /* when it is sent next */
};

static struct order_row row_of(struct env *e, const char *id)
{
  struct store_order_full *o = NULL;
  struct order_row r;
  assert_int_equal(store_get_order(e->st, id, &o), RS_OK);
  r.state = o->order.state;
  r.attempts = o->order.attempts;
  r.next_attempt_ms = o->order.next_attempt_ms;
  store_order_full_free(o);
  return r;
}

static enum store_order_state state_of(struct env *e, const char *id)
{
  return row_of(e, id).state;
}

static const char *last_cause(const struct store_order_full *o)
{
  assert_true(o->n_transitions > 0);
  return o->transitions[o->n_transitions - 1].cause;
}

/* ---- the transition table ---- */

static void test_fsm_table(void **state)
{
  static const enum store_order_state allowed[][2] = {
      {STORE_ORDER_DRAFT, STORE_ORDER_PENDING_APPROVAL},
      {STORE_ORDER_DRAFT, STORE_ORDER_APPROVED},
      {STORE_ORDER_DRAFT, STORE_ORDER_CANCELLED},
      {STORE_ORDER_PENDING_APPROVAL, STORE_ORDER_APPROVED},
      {STORE_ORDER_PENDING_APPROVAL, STORE_ORDER_REJECTED},
      {STORE_ORDER_PENDING_APPROVAL, STORE_ORDER_EXPIRED},
      {STORE_ORDER_PENDING_APPROVAL, STORE_ORDER_CANCELLED},
      {STORE_ORDER_APPROVED, STORE_ORDER_SUBMITTED},
      {STORE_ORDER_APPROVED, STORE_ORDER_FAILED},
      {STORE_ORDER_APPROVED, STORE_ORDER_CANCELLED},
      {STORE_ORDER_SUBMITTED, STORE_ORDER_SHIPPED},
      {STORE_ORDER_SUBMITTED, STORE_ORDER_DELIVERED},
      {STORE_ORDER_SUBMITTED, STORE_ORDER_CANCELLED},
      {STORE_ORDER_SHIPPED, STORE_ORDER_DELIVERED},
      {STORE_ORDER_SHIPPED, STORE_ORDER_CANCELLED},
  };
  struct env e;
  char id[STORE_ORDER_ID_MAX + 1];
  int from, to;
  size_t i, n_allowed = 0;
  (void)state;

  /* exactly the listed edges are allowed; no edge leaves an end state */
  for(from = 0; from < STORE_ORDER_STATE_COUNT; from++) {
    for(to = 0; to < STORE_ORDER_STATE_COUNT; to++) {
      bool listed = false;
      for(i = 0; i < RS_ARRAY_LEN(allowed); i++)
        listed |= allowed[i][0] == (enum store_order_state)from &&
                  allowed[i][1] == (enum store_order_state)to;
      assert_int_equal(orderfsm_allowed((enum store_order_state)from, (enum store_order_state)to),
                       listed);
      n_allowed += listed;
      if(store_order_state_final((enum store_order_state)from))
        assert_false(orderfsm_allowed((enum store_order_state)from, (enum store_order_state)to));
    }
  }
  assert_int_equal(n_allowed, RS_ARRAY_LEN(allowed));
  assert_false(orderfsm_allowed(STORE_ORDER_DRAFT, STORE_ORDER_SUBMITTED));
  assert_false(orderfsm_allowed(STORE_ORDER_APPROVED, STORE_ORDER_DRAFT));
  assert_false(orderfsm_allowed(STORE_ORDER_DELIVERED, STORE_ORDER_CANCELLED));
  assert_false(orderfsm_allowed(STORE_ORDER_REJECTED, STORE_ORDER_APPROVED));
  assert_false(orderfsm_allowed((enum store_order_state)99, STORE_ORDER_DRAFT));

  /* through the store: a forbidden edge writes nothing, a stale `from` conflicts */
  env_open(&e, false);
  assert_int_equal(
      store_create_order(e.st, "acme", "EUR", 0, e.now, "system", "test", id, sizeof(id)), RS_OK);
  assert_int_equal(
      orderfsm_move(e.st, id, STORE_ORDER_DRAFT, STORE_ORDER_SUBMITTED, "system", "skip", e.now),
      RS_ERR_INVALID);
  assert_int_equal(state_of(&e, id), STORE_ORDER_DRAFT);
  assert_int_equal(
      orderfsm_move(e.st, id, STORE_ORDER_DRAFT, STORE_ORDER_APPROVED, "policy", "ok", e.now),
      RS_OK);
  assert_int_equal(
      orderfsm_move(e.st, id, STORE_ORDER_DRAFT, STORE_ORDER_APPROVED, "policy", "again", e.now),
      RS_ERR_CONFLICT);
  assert_int_equal(
      orderfsm_move(e.st, "R-nope", STORE_ORDER_DRAFT, STORE_ORDER_APPROVED, "x", "y", e.now),
      RS_ERR_NOT_FOUND);
  assert_int_equal(state_of(&e, id), STORE_ORDER_APPROVED);
  env_close(&e);
}

/* ---- batching ---- */

static void test_batching_window(void **state)
{
  struct env e;
  struct ids ids;
  struct store_order_full *o = NULL;
  size_t i;
  (void)state;
  env_open(&e, false);
  add_line(&e, "HF-2040", 1); /* acme 42.50 */
  add_line(&e, "BELT-1", 1);  /* bolt 30.00 */
  tick(&e);
  e.now += H_MS;
  add_line(&e, "INK-C", 2); /* acme 20.00: joins the acme draft */
  tick(&e);
  assert_int_equal(orders_in(&e, false, STORE_ORDER_DRAFT, &ids), 2);
  for(i = 0; i < ids.n; i++) {
    assert_int_equal(store_get_order(e.st, ids.v[i], &o), RS_OK);
    if(!strcmp(o->order.supplier, "acme")) {
      assert_int_equal(o->n_lines, 2);
      assert_int_equal(o->order.total, 4250 + 2000);
    }
    else {
      assert_string_equal(o->order.supplier, "bolt");
      assert_int_equal(o->n_lines, 1);
      assert_int_equal(o->order.total, 3000);
    }
    store_order_full_free(o);
  }
  /* the window runs from each draft's first line: 24h after the first tick */
  assert_int_equal(pipeline_next_due(e.p), e.now - H_MS + 24 * H_MS);
  e.now += 23 * H_MS - 1;
  tick(&e);
  assert_int_equal(count_in(&e, STORE_ORDER_DRAFT), 2);
  e.now += 1;
  tick(&e);
  assert_int_equal(count_in(&e, STORE_ORDER_DRAFT), 0);
  assert_int_equal(count_in(&e, STORE_ORDER_APPROVED), 2);
  assert_int_equal(orders_in(&e, false, STORE_ORDER_APPROVED, &ids), 2);
  assert_int_equal(store_get_order(e.st, ids.v[0], &o), RS_OK);
  assert_non_null(strstr(last_cause(o), "batching window over"));
  assert_string_equal(o->transitions[o->n_transitions - 1].actor, "policy");
  assert_string_equal(o->transitions[0].actor, "rule:default");
  store_order_full_free(o);
  env_close(&e);
}

static void test_batching_flush_value(void **state)
{
  struct env e;
  struct store_order_full *o;
  (void)state;
  env_open(&e, false);
  add_line(&e, "HF-2040", 5); /* 212.50 < 250 */
  tick(&e);
  assert_int_equal(count_in(&e, STORE_ORDER_DRAFT), 1);
  add_line(&e, "INK-C", 4); /* +40.00 = 252.50 >= 250 */
  tick(&e);
  o = only_order(&e);
  assert_int_equal(o->order.state, STORE_ORDER_APPROVED);
  assert_int_equal(o->order.total, 25250);
  assert_non_null(strstr(last_cause(o), "flush_value"));
  store_order_full_free(o);
  env_close(&e);
}

static void test_batching_free_shipping(void **state)
{
  struct env e;
  struct store_order_full *o;
  (void)state;
  env_open(&e, false);
  add_line(&e, "BELT-1", 3); /* 90.00 < bolt's 100.00 */
  tick(&e);
  assert_int_equal(count_in(&e, STORE_ORDER_DRAFT), 1);
  e.now += H_MS;
  /* the second line makes 120.00; it is also bolt's max_lines 2: the cause names the first */
  add_line(&e, "BELT-1", 1);
  tick(&e);
  o = only_order(&e);
  assert_int_equal(o->order.state, STORE_ORDER_APPROVED);
  assert_non_null(strstr(last_cause(o), "free_shipping_over"));
  store_order_full_free(o);
  env_close(&e);
}

static void test_batching_max_lines(void **state)
{
  struct env e;
  struct ids ids;
  struct store_order_full *o = NULL;
  size_t i, two = 0, one = 0;
  (void)state;
  env_open(&e, false);
  /* bolt: max_lines 2 (overrides batching.max_lines 3); 1 x 30.00 each stays under 100 */
  add_line(&e, "BELT-1", 1);
  add_line(&e, "BELT-1", 1);
  add_line(&e, "BELT-1", 1);
  add_line(&e, "BELT-1", 1);
  add_line(&e, "BELT-1", 1);
  /* acme: batching.max_lines 3 */
  add_line(&e, "INK-C", 1);
  add_line(&e, "INK-C", 1);
  add_line(&e, "INK-C", 1);
  tick(&e);
  assert_int_equal(orders_in(&e, true, STORE_ORDER_DRAFT, &ids), 4);
  for(i = 0; i < ids.n; i++) {
    assert_int_equal(store_get_order(e.st, ids.v[i], &o), RS_OK);
    if(!strcmp(o->order.supplier, "bolt")) {
      if(o->n_lines == 2) {
        two++;
        assert_int_equal(o->order.state, STORE_ORDER_APPROVED);
        assert_non_null(strstr(last_cause(o), "max_lines"));
      }
      else {
        one++;
        assert_int_equal(o->n_lines, 1);
        assert_int_equal(o->order.state, STORE_ORDER_DRAFT);
      }
    }
    else {
      assert_int_equal(o->n_lines, 3);
      assert_int_equal(o->order.state, STORE_ORDER_APPROVED);
    }
    store_order_full_free(o);
  }
  assert_int_equal(two, 2);
  assert_int_equal(one, 1);
  env_close(&e);
}

/* A draft left full but open by a crash (killed before the close) takes no more lines. */
static void test_batching_full_draft_left_by_crash(void **state)
{
  struct env e;
  struct ids ids;
  struct store_order_full *o = NULL;
  char id[STORE_ORDER_ID_MAX + 1];
  int64_t l1, l2, l3;
  size_t i;
  (void)state;
  env_open(&e, false);
  l1 = add_line(&e, "INK-C", 1);
  l2 = add_line(&e, "INK-C", 1);
  l3 = add_line(&e, "INK-C", 1);
  assert_int_equal(
      store_create_order(e.st, "acme", "EUR", 3000, e.now, "rule:default", "crash", id, sizeof(id)),
      RS_OK);
  assert_int_equal(store_attach_line(e.st, l1, id), RS_OK);
  assert_int_equal(store_attach_line(e.st, l2, id), RS_OK);
  assert_int_equal(store_attach_line(e.st, l3, id), RS_OK);
  add_line(&e, "INK-C", 1);
  tick(&e);
  assert_int_equal(orders_in(&e, true, STORE_ORDER_DRAFT, &ids), 2);
  for(i = 0; i < ids.n; i++) {
    assert_int_equal(store_get_order(e.st, ids.v[i], &o), RS_OK);
    if(!strcmp(o->order.id, id)) {
      assert_int_equal(o->n_lines, 3);
      assert_int_equal(o->order.state, STORE_ORDER_APPROVED);
    }
    else {
      assert_int_equal(o->n_lines, 1);
      assert_int_equal(o->order.state, STORE_ORDER_DRAFT);
    }
    store_order_full_free(o);
  }
  env_close(&e);
}

static void test_batching_urgent(void **state)
{
  struct env e;
  struct store_order_full *o;
  struct ids ids;
  int64_t t0;
  (void)state;
  env_open(&e, false);
  /* SPEC 8: urgency is measured from the empty date minus the lead time. HF-2040 takes 5d:
     empty in 6 days means it must be ordered within 1 day, inside urgent_margin 2d: no
     waiting (the empty date alone, 6 days away, would have waited for the window) */
  add_line_full(&e, "HF-2040", 1, e.now + 6 * D_MS, NULL);
  tick(&e);
  o = only_order(&e);
  assert_int_equal(o->order.state, STORE_ORDER_APPROVED);
  assert_non_null(strstr(last_cause(o), "urgent"));
  store_order_full_free(o);

  /* no lead time (BELT-1): empty in 3 days less an hour; it waits until that is 2 days away
     (before the 24h window) */
  t0 = e.now;
  add_line_full(&e, "BELT-1", 1, e.now + 3 * D_MS - H_MS, NULL);
  tick(&e);
  assert_int_equal(orders_in(&e, false, STORE_ORDER_DRAFT, &ids), 1);
  assert_int_equal(pipeline_next_due(e.p), t0 + D_MS - H_MS);
  e.now = t0 + D_MS - H_MS - 1;
  tick(&e);
  assert_int_equal(state_of(&e, ids.v[0]), STORE_ORDER_DRAFT);
  e.now += 1;
  tick(&e);
  assert_int_equal(state_of(&e, ids.v[0]), STORE_ORDER_APPROVED);
  env_close(&e);
}

/* ---- the approval policy ---- */

/* A submitted order of total at `when` (for month-to-date spend). */
static void past_order(struct env *e, int64_t total, int64_t when)
{
  char id[STORE_ORDER_ID_MAX + 1];
  assert_int_equal(
      store_create_order(e->st, "cogs", "EUR", total, when, "system", "past", id, sizeof(id)),
      RS_OK);
  assert_int_equal(
      orderfsm_move(e->st, id, STORE_ORDER_DRAFT, STORE_ORDER_APPROVED, "policy", "past", when),
      RS_OK);
  assert_int_equal(
      orderfsm_move(e->st, id, STORE_ORDER_APPROVED, STORE_ORDER_SUBMITTED, "system", "past", when),
      RS_OK);
}

struct policy_case {
  const char *name;
  const char *sku;
  int64_t qty;
  const char *rule;
  int64_t spend; /* submitted this month before */
  int64_t spend_last_month;
  struct product product; /* sku NULL: the shop has no product endpoint */
  const char *reason;     /* substring of the reason, NULL: approved automatically */
};

static void test_approval_policy_table(void **state)
{
  static const struct policy_case cases[] = {
      {"small order", "INK-C", 2, NULL, 0, 0, {NULL, 0, NULL, 0, false, 0}, NULL},
      {"total over value",
       "GEAR-7",
       2,
       NULL,
       0,
       0,
       {NULL, 0, NULL, 0, false, 0},
       "require_over_value 500.00"},
      {"value at the limit, quantity over",
       "INK-C",
       50,
       NULL,
       0,
       0,
       {NULL, 0, NULL, 0, false, 0},
       "require_over_quantity"},
      {"quantity 10 is fine", "INK-C", 10, NULL, 0, 0, {NULL, 0, NULL, 0, false, 0}, NULL},
      {"quantity over",
       "INK-C",
       11,
       NULL,
       0,
       0,
       {NULL, 0, NULL, 0, false, 0},
       "quantity 11 is over require_over_quantity 10"},
      {"budget", "GEAR-7", 1, NULL, 180000, 0, {NULL, 0, NULL, 0, false, 0}, "monthly_budget 2000.00"},
      {"budget exactly", "GEAR-7", 1, NULL, 170000, 0, {NULL, 0, NULL, 0, false, 0}, NULL},
      {"last month not counted", "GEAR-7", 1, NULL, 0, 190000, {NULL, 0, NULL, 0, false, 0}, NULL},
      {"catalog required",
       "SEAL-X",
       1,
       NULL,
       0,
       0,
       {NULL, 0, NULL, 0, false, 0},
       "catalog entry SEAL-X"},
      {"rule required",
       "INK-C",
       1,
       "needs-person",
       0,
       0,
       {NULL, 0, NULL, 0, false, 0},
       "rule needs-person"},
      {"price drift",
       "HF-2040",
       1,
       NULL,
       0,
       0,
       {"HF-2040", COMMERCE_LOOKUP_OK, "EUR", 4800, true, 0},
       "above the catalog's 42.50"},
      {"price within tolerance",
       "HF-2040",
       1,
       NULL,
       0,
       0,
       {"HF-2040", COMMERCE_LOOKUP_OK, "EUR", 4675, true, 0},
       NULL},
      {"cheaper",
       "HF-2040",
       1,
       NULL,
       0,
       0,
       {"HF-2040", COMMERCE_LOOKUP_OK, "EUR", 3000, true, 0},
       NULL},
      {"not available",
       "HF-2040",
       1,
       NULL,
       0,
       0,
       {"HF-2040", COMMERCE_LOOKUP_OK, "EUR", 4250, false, 0},
       "not available"},
      {"other currency",
       "HF-2040",
       1,
       NULL,
       0,
       0,
       {"HF-2040", COMMERCE_LOOKUP_OK, "USD", 4250, true, 0},
       "sells in USD"},
      {"product 404",
       "HF-2040",
       1,
       NULL,
       0,
       0,
       {"HF-2040", COMMERCE_LOOKUP_NONE, "EUR", 0, true, 0},
       NULL},
  };
  size_t i;
  (void)state;
  for(i = 0; i < RS_ARRAY_LEN(cases); i++) {
    const struct policy_case *c = &cases[i];
    struct env e;
    struct ids ids;
    struct store_order_full *o = NULL;
    char *reasons = NULL;
    env_open(&e, true);
    if(c->product.sku) {
      e.fake.products = &c->product;
      e.fake.n_products = 1;
    }
    if(c->spend)
      past_order(&e, c->spend, utc(2026, 12, 1, 0));
    if(c->spend_last_month)
      past_order(&e, c->spend_last_month, utc(2026, 11, 30, 23));
    add_line_full(&e, c->sku, c->qty, e.now + H_MS, c->rule); /* urgent: closes at once */
    tick(&e);
    assert_int_equal(orders_in(&e, false, STORE_ORDER_DRAFT, &ids), 0);
    if(c->reason) {
      if(orders_in(&e, false, STORE_ORDER_PENDING_APPROVAL, &ids) != 1)
        fail_msg("case '%s': not pending", c->name);
      assert_int_equal(store_get_order(e.st, ids.v[0], &o), RS_OK);
      assert_int_equal(pipeline_order_reasons(e.p, ids.v[0], &reasons), RS_OK);
      if(!strstr(reasons, c->reason))
        fail_msg("case '%s': reasons %s lack '%s'", c->name, reasons, c->reason);
      assert_non_null(strstr(last_cause(o), c->reason));
      assert_null(o->order.request_body); /* nothing goes out before a decision */
      assert_int_equal(e.fake.submits, 0);
    }
    else {
      size_t n = orders_in(&e, false, STORE_ORDER_SUBMITTED, &ids);
      if(n != 1 + (c->spend ? 1u : 0u) + (c->spend_last_month ? 1u : 0u)) {
        if(orders_in(&e, false, STORE_ORDER_PENDING_APPROVAL, &ids) == 1 &&
           pipeline_order_reasons(e.p, ids.v[0], &reasons) == RS_OK)
          fail_msg("case '%s': pending: %s", c->name, reasons);
        fail_msg("case '%s': not approved and submitted", c->name);
      }
      assert_int_equal(pipeline_order_reasons(e.p, ids.v[0], &reasons), RS_OK);
      assert_string_equal(reasons, "[]");
      assert_int_equal(store_get_order(e.st, ids.v[0], &o), RS_OK);
      assert_int_equal(o->transitions[1].to, STORE_ORDER_APPROVED);
      assert_string_equal(o->transitions[1].actor, "policy");
    }
    if(c->product.sku)
      assert_true(e.fake.product_gets >= 1);
    free(reasons);
    store_order_full_free(o);
    env_close(&e);
  }
}

/* Several reasons are all recorded. */
static void test_approval_several_reasons(void **state)
{
  struct env e;
  struct ids ids;
  char *reasons = NULL;
  (void)state;
  env_open(&e, true);
  add_line_full(&e, "SEAL-X", 200, e.now, "needs-person"); /* 1000.00, qty 200 */
  tick(&e);
  assert_int_equal(orders_in(&e, false, STORE_ORDER_PENDING_APPROVAL, &ids), 1);
  assert_int_equal(pipeline_order_reasons(e.p, ids.v[0], &reasons), RS_OK);
  assert_non_null(strstr(reasons, "require_over_value"));
  assert_non_null(strstr(reasons, "require_over_quantity"));
  assert_non_null(strstr(reasons, "catalog entry SEAL-X"));
  assert_non_null(strstr(reasons, "rule needs-person"));
  assert_int_equal(reasons[0], '[');
  free(reasons);
  env_close(&e);
}

/* link_ttl; approve and reject; a second decision conflicts. */
static void test_decisions_and_expiry(void **state)
{
  struct env e;
  struct ids ids;
  struct store_order_full *o = NULL;
  char a[STORE_ORDER_ID_MAX + 1], b[STORE_ORDER_ID_MAX + 1], c[STORE_ORDER_ID_MAX + 1];
  int64_t t0;
  bool open = true;
  (void)state;
  env_open(&e, true);
  t0 = e.now;
  add_line_full(&e, "GEAR-7", 2, e.now, NULL);
  tick(&e);
  add_line_full(&e, "GEAR-7", 3, e.now, NULL);
  tick(&e);
  add_line_full(&e, "GEAR-7", 4, e.now, NULL);
  tick(&e);
  assert_int_equal(orders_in(&e, false, STORE_ORDER_PENDING_APPROVAL, &ids), 3);
  memcpy(a, ids.v[2], sizeof(a));
  memcpy(b, ids.v[1], sizeof(b));
  memcpy(c, ids.v[0], sizeof(c));
  assert_int_equal(pipeline_next_due(e.p), t0 + 72 * H_MS);

  /* approve a: in the outbox, due at once; its body is built (re-priced) before the send */
  assert_int_equal(
      pipeline_approve(e.p, e.cfg, a, "approver:lead@plant7.example", "192.0.2.7", e.now), RS_OK);
  assert_int_equal(store_get_order(e.st, a, &o), RS_OK);
  assert_int_equal(o->order.state, STORE_ORDER_APPROVED);
  assert_null(o->order.request_body);
  assert_string_equal(o->transitions[o->n_transitions - 1].actor, "approver:lead@plant7.example");
  assert_non_null(strstr(last_cause(o), "192.0.2.7"));
  store_order_full_free(o);
  assert_int_equal(pipeline_next_due(e.p), e.now);
  /* a second decision on a decided order */
  assert_int_equal(pipeline_approve(e.p, e.cfg, a, "admin", NULL, e.now), RS_ERR_CONFLICT);
  assert_int_equal(pipeline_reject(e.p, e.cfg, a, "admin", NULL, e.now), RS_ERR_CONFLICT);
  assert_int_equal(pipeline_approve(e.p, e.cfg, "R-20261210-9999-NOPE", "admin", NULL, e.now),
                   RS_ERR_NOT_FOUND);

  /* reject b: its line ends, the consumable may order again */
  assert_int_equal(pipeline_reject(e.p, e.cfg, b, "cli", "restockctl", e.now), RS_OK);
  assert_int_equal(state_of(&e, b), STORE_ORDER_REJECTED);
  assert_int_equal(pipeline_approve(e.p, e.cfg, b, "cli", "restockctl", e.now), RS_ERR_CONFLICT);
  assert_int_equal(store_has_open_line(e.st, "press-01/c2", &open, NULL), RS_OK);
  assert_false(open);

  /* c expires at link_ttl */
  e.now = t0 + 72 * H_MS - 1;
  tick(&e);
  assert_int_equal(state_of(&e, c), STORE_ORDER_PENDING_APPROVAL);
  e.now = t0 + 72 * H_MS;
  tick(&e);
  assert_int_equal(state_of(&e, c), STORE_ORDER_EXPIRED);
  assert_int_equal(pipeline_approve(e.p, e.cfg, c, "admin", NULL, e.now), RS_ERR_CONFLICT);
  assert_int_equal(store_get_order(e.st, c, &o), RS_OK);
  assert_string_equal(o->transitions[o->n_transitions - 1].actor, "system");
  assert_non_null(strstr(last_cause(o), "link_ttl"));
  store_order_full_free(o);
  assert_int_equal(state_of(&e, a), STORE_ORDER_SUBMITTED);
  env_close(&e);
}

/* ---- the outbox ---- */

static void test_backoff_retry_after(void **state)
{
  static const struct step steps[] = {
      {COMMERCE_RETRY, 503, -1, "HTTP 503: busy"},
      {COMMERCE_RETRY, 0, -1, "connection refused"},
      {COMMERCE_RETRY, 429, 30000, "HTTP 429"},
      {COMMERCE_SUBMITTED, 201, -1, NULL},
  };
  struct commerce_backoff b = {1000, 60000};
  struct env e;
  struct store_order_full *o = NULL;
  struct ids ids;
  uint64_t rng = 42;
  int64_t d0, d1, next;
  unsigned i;
  (void)state;
  env_open(&e, true);
  pipeline_set_time_scale(e.p, 10); /* real-time delays land 10 times longer on this clock */
  e.fake.steps = steps;
  e.fake.n_steps = RS_ARRAY_LEN(steps);
  add_line_full(&e, "INK-C", 1, e.now, NULL);
  tick(&e);
  assert_int_equal(e.fake.submits, 1);
  assert_int_equal(orders_in(&e, false, STORE_ORDER_APPROVED, &ids), 1);
  assert_int_equal(store_get_order(e.st, ids.v[0], &o), RS_OK);
  /* the same jitter draws as commerce_backoff_delay with the same seed */
  d0 = commerce_backoff_delay(&b, 0, -1, &rng);
  d1 = commerce_backoff_delay(&b, 1, -1, &rng);
  assert_true(d0 >= 0 && d0 <= 1000);
  assert_true(d1 >= 0 && d1 <= 2000);
  next = o->order.next_attempt_ms;
  assert_int_equal(next - e.now, d0 * 10 > 0 ? d0 * 10 : 1);
  assert_int_equal(o->order.attempts, 1);
  assert_non_null(strstr(o->order.last_error, "503"));
  store_order_full_free(o);
  /* not before next_attempt */
  e.now = next - 1;
  tick(&e);
  assert_int_equal(e.fake.submits, 1);
  e.now = next;
  tick(&e);
  assert_int_equal(e.fake.submits, 2);
  assert_int_equal(store_get_order(e.st, ids.v[0], &o), RS_OK);
  assert_int_equal(o->order.next_attempt_ms - e.now, d1 * 10 > 0 ? d1 * 10 : 1);
  e.now = o->order.next_attempt_ms;
  store_order_full_free(o);
  tick(&e);
  assert_int_equal(e.fake.submits, 3);
  /* 429 with Retry-After 30 s: at least 30 s real = 300 s on this clock */
  assert_int_equal(store_get_order(e.st, ids.v[0], &o), RS_OK);
  assert_true(o->order.next_attempt_ms - e.now >= 300000);
  assert_int_equal(o->order.attempts, 3);
  assert_int_equal(pipeline_next_due(e.p), o->order.next_attempt_ms);
  e.now = o->order.next_attempt_ms - 1;
  store_order_full_free(o);
  tick(&e);
  assert_int_equal(e.fake.submits, 3);
  e.now += 1;
  tick(&e);
  assert_int_equal(e.fake.submits, 4);
  assert_int_equal(state_of(&e, ids.v[0]), STORE_ORDER_SUBMITTED);
  /* every attempt: the same key (the order id) and the same body */
  for(i = 0; i < 4; i++) {
    assert_string_equal(e.fake.keys[i], ids.v[0]);
    assert_string_equal(e.fake.bodies[i], e.fake.bodies[0]);
  }
  assert_non_null(strstr(e.fake.bodies[0], ids.v[0]));
  assert_non_null(strstr(e.fake.bodies[0], "\"unit_price\":\"10.00\""));
  assert_non_null(strstr(e.fake.bodies[0], "\"customer_id\":\"C-1042\""));
  assert_int_equal(store_get_order(e.st, ids.v[0], &o), RS_OK);
  assert_string_equal(o->order.shop_id, "S-1");
  assert_int_equal(o->order.attempts, 4);
  store_order_full_free(o);
  env_close(&e);
}

/* The shop refuses the credentials once (then takes every order). */
static const struct step refused_once[] = {
    {COMMERCE_WAIT_AUTH, 401, -1, "HTTP 401: the shop refused the credentials"},
};

/* e's fake shop answers refused_once first. */
static void refuse_once(struct env *e)
{
  e->fake.steps = refused_once;
  e->fake.n_steps = RS_ARRAY_LEN(refused_once);
}

/* Two orders approved in one tick (INK-C from acme, BELT-1 from bolt), ids in *ids,
   the first sent refused with a 401, which holds the whole outbox. */
static void two_orders_held_by_401(struct env *e, struct ids *ids)
{
  refuse_once(e);
  add_line_full(e, "INK-C", 1, e->now, NULL);  /* acme */
  add_line_full(e, "BELT-1", 1, e->now, NULL); /* bolt: another order */
  tick(e);
  assert_int_equal(orders_in(e, false, STORE_ORDER_APPROVED, ids), 2);
  /* the second order is not sent into the 401 */
  assert_int_equal(e->fake.submits, 1);
}

static void test_auth_wait_and_alert(void **state)
{
  struct env e;
  struct ids ids;
  const char *const *alerts;
  int64_t t0;
  size_t n;
  (void)state;
  env_open(&e, true);
  t0 = e.now;
  two_orders_held_by_401(&e, &ids);
  assert_true(pipeline_auth_alert(e.p));
  n = pipeline_alerts(e.p, &alerts);
  assert_int_equal(n, 1);
  assert_non_null(strstr(alerts[0], "credentials"));
  assert_non_null(strstr(alerts[0], "401"));
  /* retried at the longest backoff (60 s here) */
  assert_int_equal(row_of(&e, ids.v[1]).next_attempt_ms - t0, 60000);
  assert_int_equal(row_of(&e, ids.v[1]).attempts, 1);
  assert_int_equal(pipeline_next_due(e.p), t0 + 60000);
  e.now = t0 + 59999;
  tick(&e);
  assert_int_equal(e.fake.submits, 1);
  assert_true(pipeline_auth_alert(e.p));
  e.now = t0 + 60000;
  tick(&e);
  assert_int_equal(e.fake.submits, 3);
  assert_int_equal(count_in(&e, STORE_ORDER_SUBMITTED), 2);
  assert_false(pipeline_auth_alert(e.p));
  assert_int_equal(pipeline_alerts(e.p, &alerts), 0);
  env_close(&e);
}

/* Write text into the file path with mode 0600. */
static void write_secret(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_true(fputs(text, f) >= 0);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(chmod(path, 0600), 0);
}

/* e runs under commerce.auth bearer with the token file tok (its line "old-token"). */
static void use_token(struct env *e, char *tok, size_t size)
{
  char yaml[4096], section[1024];
  struct cfg_file_buf files[2];
  struct cfg_diags diags = {0};
  struct cfg *cfg = NULL;
  assert_int_equal(rs_snprintf(tok, size, "%s/shop.token", e->dir), 0);
  write_secret(tok, "old-token\n");
  assert_int_equal(rs_snprintf(section, sizeof(section),
                               "%s  auth: {type: bearer, token_file: %s}\n", commerce_section, tok),
                   0);
  assert_int_equal(rs_snprintf(yaml, sizeof(yaml), yaml_base, section), 0);
  files[0] = (struct cfg_file_buf){.name = "restock.yaml", .data = yaml, .len = strlen(yaml)};
  files[1] = (struct cfg_file_buf){
      .name = "rules.d/r.yaml", .data = rules_yaml, .len = strlen(rules_yaml)};
  if(cfg_load_buffers("/tmp", files, 2, &cfg, &diags))
    cfg_diags_print(&diags, stderr);
  cfg_diags_free(&diags);
  assert_non_null(cfg);
  cfg_free(e->cfg);
  e->cfg = cfg;
}

/*
 * A reload (pipeline_reconfigure under a config with commerce.auth) brings
 * the next attempt of the order a 401 put off forward only when the
 * credentials changed: the same token file line changes nothing.
 */
static void test_auth_reload_new_credentials(void **state)
{
  struct env e;
  struct ids ids;
  char tok[128];
  int64_t t0, held_next;
  (void)state;
  env_open(&e, true);
  use_token(&e, tok, sizeof(tok));
  t0 = e.now;
  two_orders_held_by_401(&e, &ids);
  held_next = row_of(&e, e.fake.keys[0]).next_attempt_ms;
  assert_int_equal(held_next - t0, 60000);

  /* a reload with the same token: nothing is sent, the next attempt stays */
  pipeline_reconfigure(e.p);
  e.now = t0 + 1000;
  tick(&e);
  assert_int_equal(e.fake.submits, 1);
  assert_int_equal(row_of(&e, e.fake.keys[0]).next_attempt_ms, held_next);

  /* the token fixed and reloaded: both orders go now, the held one with its key */
  write_secret(tok, "new-token\n");
  pipeline_reconfigure(e.p);
  assert_true(pipeline_next_due(e.p) <= e.now);
  e.now = t0 + 2000;
  tick(&e);
  assert_int_equal(e.fake.submits, 3);
  assert_int_equal(count_in(&e, STORE_ORDER_SUBMITTED), 2);
  assert_true(!strcmp(e.fake.keys[1], e.fake.keys[0]) || !strcmp(e.fake.keys[2], e.fake.keys[0]));
  assert_string_not_equal(e.fake.keys[1], e.fake.keys[2]);
  assert_int_equal(row_of(&e, e.fake.keys[0]).attempts, 2);
  env_close(&e);
}

/*
 * A restart (a new pipeline on the same store) retries the order a 401 put
 * off at its first tick, once, with its key; the 401's hour is not waited.
 */
static void test_auth_restart_retries_once(void **state)
{
  struct env e;
  struct ids ids;
  char key[64];
  int64_t t0;
  (void)state;
  env_open(&e, true);
  refuse_once(&e);
  t0 = e.now;
  add_line_full(&e, "INK-C", 1, e.now, NULL);
  tick(&e);
  assert_int_equal(orders_in(&e, false, STORE_ORDER_APPROVED, &ids), 1);
  assert_int_equal(e.fake.submits, 1);
  assert_int_equal(rs_strlcpy(key, e.fake.keys[0], sizeof(key)), 0);
  /* restart: a new pipeline on the same store, a shop that takes the order now */
  pipeline_free(e.p);
  fake_free(&e.fake);
  memset(&e.fake, 0, sizeof(e.fake));
  e.p = pipeline_new(e.st);
  pipeline_set_seed(e.p, 7);
  pipeline_set_backoff(e.p, 1000, 60000);
  use_fake(&e);
  e.now = t0 + 1000;
  tick(&e);
  assert_int_equal(e.fake.submits, 1);
  assert_string_equal(e.fake.keys[0], key);
  assert_int_equal(state_of(&e, key), STORE_ORDER_SUBMITTED);
  assert_int_equal(row_of(&e, key).attempts, 2);
  { /* nothing is held any more: a next restart has nothing to retry */
    char *held = NULL;
    enum rs_err rc = store_meta_get(e.st, PIPELINE_META_AUTH_HELD, &held);
    assert_true(rc == RS_ERR_NOT_FOUND || !held);
    free(held);
  }
  env_close(&e);
}

/* The same for a status poll a 401 put off (its alert clears with the poll). */
static void test_auth_reload_polls(void **state)
{
  static const enum commerce_lookup lk[] = {COMMERCE_LOOKUP_WAIT_AUTH, COMMERCE_LOOKUP_OK};
  static const enum commerce_shop_status stt[] = {COMMERCE_ST_ACCEPTED, COMMERCE_ST_SHIPPED};
  struct env e;
  struct ids ids;
  char tok[128];
  (void)state;
  env_open(&e, true);
  use_token(&e, tok, sizeof(tok));
  e.fake.lookups = lk;
  e.fake.statuses = stt;
  e.fake.n_status = 2;
  add_line_full(&e, "INK-C", 1, e.now, NULL);
  tick(&e);
  assert_int_equal(orders_in(&e, false, STORE_ORDER_SUBMITTED, &ids), 1);
  e.now += H_MS;
  tick(&e);
  assert_int_equal(e.fake.gets, 1);
  assert_true(pipeline_auth_alert(e.p));
  pipeline_reconfigure(e.p); /* the same token: the poll waits its longest interval */
  e.now += 1000;
  tick(&e);
  assert_int_equal(e.fake.gets, 1);
  write_secret(tok, "new-token\n");
  pipeline_reconfigure(e.p);
  e.now += 1000;
  tick(&e);
  assert_int_equal(e.fake.gets, 2);
  assert_int_equal(state_of(&e, ids.v[0]), STORE_ORDER_SHIPPED);
  assert_false(pipeline_auth_alert(e.p));
  env_close(&e);
}

static void test_failed_422(void **state)
{
  static const struct step steps[] = {
      {COMMERCE_FAILED, 422, -1, "unknown sku INK-C"},
  };
  struct env e;
  struct ids ids;
  struct store_order_full *o = NULL;
  bool open = true;
  (void)state;
  env_open(&e, true);
  e.fake.steps = steps;
  e.fake.n_steps = RS_ARRAY_LEN(steps);
  add_line_full(&e, "INK-C", 1, e.now, NULL);
  tick(&e);
  assert_int_equal(orders_in(&e, false, STORE_ORDER_FAILED, &ids), 1);
  assert_int_equal(store_get_order(e.st, ids.v[0], &o), RS_OK);
  assert_non_null(strstr(last_cause(o), "unknown sku INK-C"));
  assert_non_null(strstr(last_cause(o), "422"));
  assert_string_equal(o->order.last_error, "unknown sku INK-C");
  store_order_full_free(o);
  assert_int_equal(store_has_open_line(e.st, "press-01/c1", &open, NULL), RS_OK);
  assert_false(open);
  e.now += D_MS;
  tick(&e);
  assert_int_equal(e.fake.submits, 1); /* never again */
  env_close(&e);
}

static void test_no_shop_configured(void **state)
{
  struct env e;
  struct store_order_full *o;
  const char *const *alerts;
  (void)state;
  env_open(&e, false);
  add_line_full(&e, "INK-C", 1, e.now, NULL);
  tick(&e);
  o = only_order(&e);
  assert_int_equal(o->order.state, STORE_ORDER_APPROVED);
  assert_null(o->order.request_body);
  store_order_full_free(o);
  assert_int_equal(pipeline_alerts(e.p, &alerts), 1);
  assert_non_null(strstr(alerts[0], "not sent: no shop configured"));
  env_close(&e);
}

/* A new pipeline is offline: with a commerce section it stores the body but sends nothing. */
static void test_offline_by_default(void **state)
{
  struct env e;
  struct store_order_full *o;
  const char *const *alerts;
  (void)state;
  env_open(&e, true);
  pipeline_set_shop(e.p, NULL); /* the real client, but not switched online */
  add_line_full(&e, "INK-C", 1, e.now, NULL);
  tick(&e);
  e.now += H_MS;
  tick(&e);
  o = only_order(&e);
  assert_int_equal(o->order.state, STORE_ORDER_APPROVED);
  assert_non_null(o->order.request_body);
  assert_int_equal(o->order.attempts, 0); /* port 9 was never tried */
  store_order_full_free(o);
  assert_int_equal(pipeline_alerts(e.p, &alerts), 1);
  assert_non_null(strstr(alerts[0], "offline"));
  env_close(&e);
}

/* A restart between attempts: the new process resends the stored body with the same key. */
static void test_restart_resumes_outbox(void **state)
{
  static const struct step steps[] = {{COMMERCE_RETRY, 500, -1, "HTTP 500"}};
  struct env e;
  struct ids ids;
  struct store_order_full *o = NULL;
  char *body;
  char err[256];
  (void)state;
  env_open(&e, true);
  e.fake.steps = steps;
  e.fake.n_steps = 1;
  add_line_full(&e, "HF-2040", 2, e.now, NULL);
  tick(&e);
  assert_int_equal(e.fake.submits, 1);
  body = rs_xstrdup(e.fake.bodies[0]);
  assert_int_equal(orders_in(&e, false, STORE_ORDER_APPROVED, &ids), 1);

  /* "crash": drop pipeline and store, reopen the file, a new pipeline and shop */
  pipeline_free(e.p);
  store_close(e.st);
  fake_free(&e.fake);
  memset(&e.fake, 0, sizeof(e.fake));
  assert_int_equal(store_open(e.db, &e.st, err, sizeof(err)), RS_OK);
  e.p = pipeline_new(e.st);
  pipeline_set_seed(e.p, 7);
  use_fake(&e);
  assert_int_equal(pipeline_next_due(e.p), 0); /* the first tick is due at once */
  assert_int_equal(store_get_order(e.st, ids.v[0], &o), RS_OK);
  e.now = o->order.next_attempt_ms;
  assert_int_equal(o->order.attempts, 1);
  store_order_full_free(o);
  tick(&e);
  assert_int_equal(e.fake.submits, 1);
  assert_string_equal(e.fake.keys[0], ids.v[0]);
  assert_string_equal(e.fake.bodies[0], body);
  assert_int_equal(state_of(&e, ids.v[0]), STORE_ORDER_SUBMITTED);
  free(body);
  env_close(&e);
}

/* ---- status tracking ---- */

static void test_status_shipped_delivered_spares(void **state)
{
  static const enum commerce_lookup lk[] = {COMMERCE_LOOKUP_OK, COMMERCE_LOOKUP_OK,
                                            COMMERCE_LOOKUP_OK};
  static const enum commerce_shop_status stt[] = {COMMERCE_ST_ACCEPTED, COMMERCE_ST_SHIPPED,
                                                  COMMERCE_ST_DELIVERED};
  struct env e;
  struct ids ids;
  struct store_order_full *o = NULL;
  struct store_consumable c;
  int64_t spares = 0;
  (void)state;
  env_open(&e, true);
  e.fake.lookups = lk;
  e.fake.statuses = stt;
  e.fake.n_status = 3;
  assert_int_equal(store_add_spares(e.st, "press-01/c1", 1, e.now, NULL), RS_OK);
  /* (the ink is not urgent: an urgent one would not wait for the filter's 5 days) */
  add_line_full(&e, "INK-C", 3, e.now + 30 * D_MS, NULL); /* press-01/c1 */
  add_line_full(&e, "HF-2040", 2, e.now, NULL);           /* press-01/c2 */
  tick(&e);
  assert_int_equal(orders_in(&e, false, STORE_ORDER_SUBMITTED, &ids), 1);
  /* polled every status_interval (1h), the first one an interval after the submission */
  assert_int_equal(e.fake.gets, 0);
  e.now += H_MS - 1;
  tick(&e);
  assert_int_equal(e.fake.gets, 0);
  e.now += 1;
  tick(&e);
  assert_int_equal(e.fake.gets, 1);
  assert_int_equal(state_of(&e, ids.v[0]), STORE_ORDER_SUBMITTED); /* accepted */
  e.now += H_MS;
  tick(&e);
  assert_int_equal(e.fake.gets, 2);
  assert_int_equal(state_of(&e, ids.v[0]), STORE_ORDER_SHIPPED);
  e.now += H_MS;
  tick(&e);
  assert_int_equal(state_of(&e, ids.v[0]), STORE_ORDER_DELIVERED);
  assert_int_equal(store_get_order(e.st, ids.v[0], &o), RS_OK);
  assert_non_null(strstr(o->transitions[o->n_transitions - 2].cause, "TRK-1"));
  assert_int_equal(o->lines[0].state, STORE_LINE_DELIVERED);
  store_order_full_free(o);
  assert_int_equal(store_get_consumable_state(e.st, "press-01/c1", &c), RS_OK);
  spares = c.spares;
  store_consumable_free(&c);
  assert_int_equal(spares, 1 + 3);
  assert_int_equal(store_get_consumable_state(e.st, "press-01/c2", &c), RS_OK);
  assert_int_equal(c.spares, 2);
  store_consumable_free(&c);
  /* no more polling once delivered */
  e.now += 5 * H_MS;
  tick(&e);
  assert_int_equal(e.fake.gets, 3);
  env_close(&e);
}

/* An open line for consumable cons (which may have had lines before). */
static void add_line_for(struct env *e, const char *cons, const char *sku, int64_t need_by)
{
  struct store_order_line l;
  int64_t id = 0;
  memset(&l, 0, sizeof(l));
  l.consumable = (char *)cons;
  l.sku = (char *)sku;
  l.quantity = 1;
  l.unit_price = cfg_find_sku(e->cfg, sku)->unit_price.minor;
  rs_strlcpy(l.currency, "EUR", sizeof(l.currency));
  l.need_by_ms = need_by;
  l.created_ms = e->now;
  assert_int_equal(store_add_order_line(e->st, &l, &id), RS_OK);
}

/* The replenishment time the pipeline noted for cons (ms), or -1. */
static int64_t replenish_ms(struct env *e, const char *cons)
{
  char key[128], *v = NULL;
  int64_t ms = -1;
  snprintf(key, sizeof(key), "%s%s", STORE_META_REPLENISH, cons);
  if(store_meta_get(e->st, key, &v) == RS_OK)
    assert_int_equal(rs_parse_i64(v, false, 0, INT64_MAX, &ms), 0);
  free(v);
  return ms;
}

/*
 * A delivery notes how long the line took from drafted to delivered,
 * batching window included (the default rule orders for that long, not
 * only the catalog's lead time): a slower delivery is taken at once, a
 * faster one moves the figure a quarter of the way.
 */
static void test_delivery_notes_replenish_time(void **state)
{
  static const enum commerce_lookup lk[] = {COMMERCE_LOOKUP_OK};
  static const enum commerce_shop_status stt[] = {COMMERCE_ST_DELIVERED};
  struct env e;
  struct ids ids;
  (void)state;
  env_open(&e, true);
  e.fake.lookups = lk;
  e.fake.statuses = stt;
  e.fake.n_status = 1;
  assert_int_equal(replenish_ms(&e, "press-01/ink"), -1);
  /* not urgent: waits the 24 h batching window, delivered at the first status poll (1 h) */
  add_line_for(&e, "press-01/ink", "INK-C", 0);
  e.now += D_MS;
  tick(&e);
  assert_int_equal(orders_in(&e, false, STORE_ORDER_SUBMITTED, &ids), 1);
  e.now += H_MS;
  tick(&e);
  assert_int_equal(state_of(&e, ids.v[0]), STORE_ORDER_DELIVERED);
  assert_int_equal(replenish_ms(&e, "press-01/ink"), 25 * H_MS);
  /* the next one is urgent (closes at once): 1 h; the figure moves a quarter of the way */
  add_line_for(&e, "press-01/ink", "INK-C", e.now + H_MS);
  tick(&e);
  e.now += H_MS;
  tick(&e);
  assert_int_equal(count_in(&e, STORE_ORDER_DELIVERED), 2);
  assert_int_equal(replenish_ms(&e, "press-01/ink"), 19 * H_MS);
  /* a slow one (48 h before the shop says delivered) is taken as it is */
  e.fake.statuses = (const enum commerce_shop_status[]){COMMERCE_ST_ACCEPTED};
  add_line_for(&e, "press-01/ink", "INK-C", e.now + H_MS);
  tick(&e);
  e.now += 47 * H_MS;
  tick(&e);
  e.fake.statuses = stt;
  e.now += H_MS;
  tick(&e);
  assert_int_equal(count_in(&e, STORE_ORDER_DELIVERED), 3);
  assert_int_equal(replenish_ms(&e, "press-01/ink"), 48 * H_MS);
  /* another consumable is not touched */
  assert_int_equal(replenish_ms(&e, "press-01/other"), -1);
  env_close(&e);
}

/*
 * A delivered order that waited for a person notes how long the person took
 * (pending_approval to approved), plant-wide: a part that needs approval and
 * has no delivery of its own yet is ordered that much earlier.
 */
static void test_delivery_notes_approval_wait(void **state)
{
  static const enum commerce_lookup lk[] = {COMMERCE_LOOKUP_OK};
  static const enum commerce_shop_status stt[] = {COMMERCE_ST_DELIVERED};
  struct env e;
  struct ids ids;
  char *v = NULL;
  (void)state;
  env_open(&e, true);
  e.fake.lookups = lk;
  e.fake.statuses = stt;
  e.fake.n_status = 1;
  assert_int_equal(store_meta_get(e.st, STORE_META_APPROVAL_WAIT, &v), RS_ERR_NOT_FOUND);
  add_line_full(&e, "GEAR-7", 2, e.now, NULL);
  tick(&e);
  assert_int_equal(orders_in(&e, false, STORE_ORDER_PENDING_APPROVAL, &ids), 1);
  e.now += 30 * H_MS;
  assert_int_equal(pipeline_approve(e.p, e.cfg, ids.v[0], "approver:lead@plant7.example", NULL,
                                    e.now),
                   RS_OK);
  tick(&e);
  e.now += H_MS;
  tick(&e);
  assert_int_equal(state_of(&e, ids.v[0]), STORE_ORDER_DELIVERED);
  assert_int_equal(store_meta_get(e.st, STORE_META_APPROVAL_WAIT, &v), RS_OK);
  assert_string_equal(v, "108000000"); /* 30 h */
  free(v);
  env_close(&e);
}

static void test_status_404_alert_and_cancel(void **state)
{
  static const enum commerce_lookup lk[] = {COMMERCE_LOOKUP_NONE, COMMERCE_LOOKUP_OK};
  static const enum commerce_shop_status stt[] = {COMMERCE_ST_ACCEPTED, COMMERCE_ST_CANCELLED};
  struct env e;
  struct ids ids;
  const char *const *alerts;
  (void)state;
  env_open(&e, true);
  e.fake.lookups = lk;
  e.fake.statuses = stt;
  e.fake.n_status = 2;
  add_line_full(&e, "INK-C", 1, e.now, NULL);
  tick(&e);
  assert_int_equal(orders_in(&e, false, STORE_ORDER_SUBMITTED, &ids), 1);
  assert_int_equal(e.fake.gets, 0);
  e.now += H_MS;
  tick(&e);
  assert_int_equal(e.fake.gets, 1);
  assert_int_equal(pipeline_alerts(e.p, &alerts), 1);
  assert_non_null(strstr(alerts[0], "does not know"));
  /* the longest interval: max(status_interval 1h, backoff cap 60 s) = 1h */
  e.now += H_MS - 1;
  tick(&e);
  assert_int_equal(e.fake.gets, 1);
  e.now += 1;
  tick(&e);
  assert_int_equal(e.fake.gets, 2);
  assert_int_equal(state_of(&e, ids.v[0]), STORE_ORDER_CANCELLED);
  assert_int_equal(pipeline_alerts(e.p, &alerts), 0);
  env_close(&e);
}

/*
 * After a restart, submitted orders are not all polled at once (the schedule
 * is in memory): each first poll comes at a point of status_interval spread
 * by the order id, so within one interval every order is polled once.
 */
static void test_restart_polls_spread(void **state)
{
  struct env e;
  char err[256];
  int64_t t, waited;
  (void)state;
  env_open(&e, true);
  add_line_full(&e, "INK-C", 1, e.now, NULL);
  tick(&e);
  assert_int_equal(count_in(&e, STORE_ORDER_SUBMITTED), 1);
  e.now += 60000;
  tick(&e);
  assert_int_equal(e.fake.gets, 0); /* the first poll is an interval after the submission */
  pipeline_free(e.p);
  store_close(e.st);
  assert_int_equal(store_open(e.db, &e.st, err, sizeof(err)), RS_OK);
  e.p = pipeline_new(e.st);
  use_fake(&e);
  tick(&e);
  t = pipeline_next_due(e.p) - e.now; /* when its first poll is due */
  assert_true(t >= 0 && t < H_MS);
  for(waited = 0; e.fake.gets == 0 && waited < H_MS; waited += 60000) {
    e.now += 60000;
    tick(&e);
  }
  assert_int_equal(e.fake.gets, 1);
  assert_true(waited >= t && waited < t + 60000);
  env_close(&e);
}

/* An order approved but still in the outbox counts toward the month's budget. */
static void test_budget_counts_outbox(void **state)
{
  static const struct step steps[] = {{COMMERCE_RETRY, 503, -1, "HTTP 503"}};
  struct env e;
  struct ids ids;
  char *reasons = NULL;
  (void)state;
  env_open(&e, true);
  e.fake.steps = steps;
  e.fake.n_steps = 1;
  past_order(&e, 140000, utc(2026, 12, 2, 0)); /* 1400.00 submitted this month */
  add_line_full(&e, "GEAR-7", 1, e.now, NULL); /* 300.00: 1700, approved, not sent (503) */
  tick(&e);
  assert_int_equal(count_in(&e, STORE_ORDER_APPROVED), 1);
  add_line_full(&e, "GEAR-7", 1, e.now, NULL); /* 300.00 more: 2000, still within */
  tick(&e);
  assert_int_equal(count_in(&e, STORE_ORDER_PENDING_APPROVAL), 0);
  add_line_full(&e, "GEAR-7", 1, e.now, NULL); /* 2300 > 2000 */
  tick(&e);
  assert_int_equal(orders_in(&e, false, STORE_ORDER_PENDING_APPROVAL, &ids), 1);
  assert_int_equal(pipeline_order_reasons(e.p, ids.v[0], &reasons), RS_OK);
  assert_non_null(strstr(reasons, "month-to-date spend 2000.00 + this order 300.00"));
  free(reasons);
  env_close(&e);
}

/* The body the fake shop got for order id (NULL: never sent). */
static const char *body_sent(const struct env *e, const char *id)
{
  unsigned i;
  for(i = 0; i < e->fake.submits && i < 16; i++)
    if(!strcmp(e->fake.keys[i], id))
      return e->fake.bodies[i];
  return NULL;
}

/* The shop got order id, its body naming `has` and not `lacks` (NULL: not checked). */
static void assert_sent_with(const struct env *e, const char *id, const char *has,
                             const char *lacks)
{
  const char *body = body_sent(e, id);
  assert_non_null(body);
  assert_non_null(strstr(body, has));
  if(lacks)
    assert_null(strstr(body, lacks));
}

/* Order id has one line, of sku. */
static void assert_one_line(struct env *e, const char *id, const char *sku)
{
  struct store_order_full *o = NULL;
  assert_int_equal(store_get_order(e->st, id, &o), RS_OK);
  assert_int_equal(o->n_lines, 1);
  assert_string_equal(o->lines[0].sku, sku);
  store_order_full_free(o);
}

/*
 * SPEC 8: a line that needs a person goes into an order of its own. An urgent cheap line
 * (auto) and a line whose catalog entry says approval: required meet in acme's draft: the
 * draft is split, and the auto line reaches the shop at once while the other waits.
 */
static void test_mixed_batch_split(void **state)
{
  struct env e;
  struct ids ids;
  struct store_order_full *o = NULL;
  (void)state;
  env_open(&e, true);
  add_line_full(&e, "SEAL-X", 1, 0, NULL);             /* needs a person, not urgent */
  add_line_full(&e, "INK-C", 1, e.now + H_MS, NULL);   /* cheap and urgent: closes the draft */
  tick(&e);
  assert_int_equal(orders_in(&e, false, STORE_ORDER_PENDING_APPROVAL, &ids), 1);
  assert_one_line(&e, ids.v[0], "SEAL-X");
  assert_int_equal(store_get_order(e.st, ids.v[0], &o), RS_OK);
  assert_int_equal(o->order.total, 500);
  assert_non_null(strstr(o->transitions[0].cause, "split from"));
  store_order_full_free(o);
  assert_int_equal(orders_in(&e, false, STORE_ORDER_SUBMITTED, &ids), 1);
  assert_int_equal(e.fake.submits, 1);
  assert_sent_with(&e, ids.v[0], "INK-C", "SEAL-X");
  assert_int_equal(store_get_order(e.st, ids.v[0], &o), RS_OK);
  assert_int_equal(o->order.total, 1000);
  store_order_full_free(o);
  env_close(&e);
}

/*
 * An urgent line does not wait for a slower line of the same supplier (the shop delivers an
 * order when its slowest line is ready): an urgent INK-C (no lead time) and a calm HF-2040
 * (5 days) drafted in one tick go into two orders, the ink placed at once, the filter
 * waiting for its batch. An urgent HF-2040 takes the calm ink along (the ink is not slowed).
 */
static void test_urgent_line_not_behind_slower(void **state)
{
  struct env e;
  struct ids ids;
  (void)state;
  env_open(&e, true);
  add_line_full(&e, "HF-2040", 1, e.now + 30 * D_MS, NULL); /* calm, 5 days */
  add_line_full(&e, "INK-C", 1, e.now + H_MS, NULL);        /* urgent, no lead time */
  tick(&e);
  assert_int_equal(orders_in(&e, false, STORE_ORDER_SUBMITTED, &ids), 1);
  assert_sent_with(&e, ids.v[0], "INK-C", "HF-2040");
  assert_int_equal(orders_in(&e, false, STORE_ORDER_DRAFT, &ids), 1);
  assert_one_line(&e, ids.v[0], "HF-2040");
  env_close(&e);

  env_open(&e, true);
  add_line_full(&e, "INK-C", 1, e.now + 30 * D_MS, NULL); /* calm */
  add_line_full(&e, "HF-2040", 1, e.now + 6 * D_MS, NULL); /* urgent: 6 - 5 days < 2d margin */
  tick(&e);
  assert_int_equal(orders_in(&e, false, STORE_ORDER_SUBMITTED, &ids), 1);
  assert_sent_with(&e, ids.v[0], "INK-C", NULL);
  assert_sent_with(&e, ids.v[0], "HF-2040", NULL);
  assert_int_equal(orders_in(&e, false, STORE_ORDER_DRAFT, &ids), 0);
  env_close(&e);
}

/*
 * A calm line does not join a draft whose slower line would make it arrive after its part
 * runs out (bench/plant seed 1's p06: a 1-day part, 2.3 days left, joined a 3-day line's
 * draft and arrived 0.6 days after it ran out). The ink (no lead time) runs out in 2.5 days:
 * calm on its own lead time (2.5 - 0 > 2d margin), too late behind the filter's 5 days. It
 * goes into a draft of its own and reaches the shop when it turns urgent, alone. Nor does a
 * slower line join a draft whose line it would delay: the filter drafted after the ink.
 */
static void test_calm_line_not_late_behind_slower(void **state)
{
  struct env e;
  struct ids ids;
  const char *body;
  int order;
  (void)state;
  for(order = 0; order < 2; order++) {
    env_open(&e, true);
    if(order == 0) {
      add_line_full(&e, "HF-2040", 1, e.now + 30 * D_MS, NULL); /* calm, 5 days */
      tick(&e);
      add_line_full(&e, "INK-C", 1, e.now + 60 * H_MS, NULL); /* calm alone, late behind it */
    }
    else {
      add_line_full(&e, "INK-C", 1, e.now + 60 * H_MS, NULL);
      tick(&e);
      add_line_full(&e, "HF-2040", 1, e.now + 30 * D_MS, NULL);
    }
    tick(&e);
    assert_int_equal(orders_in(&e, false, STORE_ORDER_DRAFT, &ids), 2);
    assert_int_equal(orders_in(&e, false, STORE_ORDER_SUBMITTED, &ids), 0);
    e.now += 13 * H_MS; /* the ink is urgent now (2.5 days less 13 h: within the 2d margin) */
    tick(&e);
    assert_int_equal(orders_in(&e, false, STORE_ORDER_SUBMITTED, &ids), 1);
    body = body_sent(&e, ids.v[0]);
    assert_non_null(body);
    assert_non_null(strstr(body, "INK-C"));
    assert_null(strstr(body, "HF-2040"));
    assert_int_equal(orders_in(&e, false, STORE_ORDER_DRAFT, &ids), 1);
    env_close(&e);
  }
}

/* SPEC 9: the refreshed price is on the placed line, and the refreshed lead time is kept. */
static void test_refreshed_price_placed(void **state)
{
  static const struct product pr = {"HF-2040", COMMERCE_LOOKUP_OK, "EUR", 4675, true, 9.5};
  struct env e;
  struct ids ids;
  struct store_order_full *o = NULL;
  char *lead = NULL;
  (void)state;
  env_open(&e, true);
  e.fake.products = &pr;
  e.fake.n_products = 1;
  add_line_full(&e, "HF-2040", 2, e.now + H_MS, NULL); /* catalog 42.50 */
  tick(&e);
  assert_int_equal(orders_in(&e, false, STORE_ORDER_SUBMITTED, &ids), 1);
  assert_int_equal(store_get_order(e.st, ids.v[0], &o), RS_OK);
  assert_int_equal(o->lines[0].unit_price, 4675);
  assert_int_equal(o->order.total, 9350);
  assert_non_null(strstr(o->order.request_body, "\"unit_price\":\"46.75\""));
  store_order_full_free(o);
  assert_int_equal(store_meta_get(e.st, STORE_META_LEAD_TIME "HF-2040", &lead), RS_OK);
  assert_string_equal(lead, "820800000"); /* 9.5 days */
  free(lead);
  env_close(&e);
}

/* SPEC 9: a person's approval long after the request is placed at the shop's price then. */
static void test_late_approval_repriced(void **state)
{
  struct product pr = {"SEAL-X", COMMERCE_LOOKUP_OK, "EUR", 500, true, 0};
  struct env e;
  struct ids ids;
  struct store_order_full *o = NULL;
  (void)state;
  env_open(&e, true);
  e.fake.products = &pr;
  e.fake.n_products = 1;
  add_line_full(&e, "SEAL-X", 4, e.now + H_MS, NULL);
  tick(&e);
  assert_int_equal(orders_in(&e, false, STORE_ORDER_PENDING_APPROVAL, &ids), 1);
  e.now += 2 * D_MS;
  pr.unit_price = 525; /* the shop's price rose meanwhile */
  assert_int_equal(pipeline_approve(e.p, e.cfg, ids.v[0], "cli", "restockctl", e.now), RS_OK);
  tick(&e);
  assert_int_equal(state_of(&e, ids.v[0]), STORE_ORDER_SUBMITTED);
  assert_int_equal(store_get_order(e.st, ids.v[0], &o), RS_OK);
  assert_int_equal(o->lines[0].unit_price, 525);
  assert_int_equal(o->order.total, 2100);
  assert_non_null(strstr(body_sent(&e, ids.v[0]), "\"unit_price\":\"5.25\""));
  store_order_full_free(o);
  env_close(&e);
}

/*
 * SPEC 8: month-to-date spend counts the orders approved this month, sent or not; an order
 * approved last month and sent this month belongs to last month.
 */
/*
 * While the database takes no writes (a file-size limit: the disk-full
 * case) the pipeline starts new work once per 5 s of real time; a wall
 * clock stepped back by 2 h meanwhile does not make that pause last until
 * the clock is back where it was (2 h): the next pass stays due within 5 s.
 */
static void test_fault_pause_after_step_back(void **state)
{
  struct env e;
  struct rlimit old, lim;
  (void)state;
  env_open(&e, true);
  tick(&e);
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
  lim = old;
  lim.rlim_cur = 4096; /* every write past 4 KiB fails (EFBIG, not a signal) */
  signal(SIGXFSZ, SIG_IGN);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
  (void)store_put_reading(e.st, "m1", "lvl", e.now, 1);
  assert_true(store_fault(e.st, NULL, 0, NULL, NULL));
  (void)pipeline_tick(e.p, e.cfg, e.now); /* a pass; the next one in 5 s */
  assert_true(pipeline_next_due(e.p) <= e.now + PIPELINE_FAULT_PASS_MS);
  e.now -= 2 * 3600 * 1000; /* NTP steps the wall clock back 2 h */
  (void)pipeline_tick(e.p, e.cfg, e.now);
  assert_true(pipeline_next_due(e.p) <= e.now + PIPELINE_FAULT_PASS_MS);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
  signal(SIGXFSZ, SIG_DFL);
  env_close(&e);
}

static void test_budget_by_approval_month(void **state)
{
  static const struct step steps[] = {{COMMERCE_RETRY, 503, -1, "HTTP 503"}};
  struct env e;
  struct ids ids;
  char id[STORE_ORDER_ID_MAX + 1], *reasons = NULL;
  (void)state;
  env_open(&e, true);
  e.fake.steps = steps;
  e.fake.n_steps = 1;
  /* 1900.00 approved on Nov 30, submitted on Dec 1: last month's */
  assert_int_equal(store_create_order(e.st, "cogs", "EUR", 190000, utc(2026, 11, 30, 20), "system",
                                      "past", id, sizeof(id)),
                   RS_OK);
  assert_int_equal(orderfsm_move(e.st, id, STORE_ORDER_DRAFT, STORE_ORDER_APPROVED, "policy",
                                 "past", utc(2026, 11, 30, 22)),
                   RS_OK);
  assert_int_equal(orderfsm_move(e.st, id, STORE_ORDER_APPROVED, STORE_ORDER_SUBMITTED, "system",
                                 "past", utc(2026, 12, 1, 2)),
                   RS_OK);
  add_line_full(&e, "GEAR-7", 5, e.now, NULL); /* 1500.00: over require_over_value: a person */
  tick(&e);
  assert_int_equal(orders_in(&e, false, STORE_ORDER_PENDING_APPROVAL, &ids), 1);
  assert_int_equal(pipeline_approve(e.p, e.cfg, ids.v[0], "cli", "restockctl", e.now), RS_OK);
  tick(&e); /* the shop answers 503: approved, not submitted */
  assert_int_equal(state_of(&e, ids.v[0]), STORE_ORDER_APPROVED);
  add_line_full(&e, "GEAR-7", 1, e.now, NULL); /* 300.00: 1500 + 300 <= 2000 */
  tick(&e);
  assert_int_equal(orders_in(&e, false, STORE_ORDER_PENDING_APPROVAL, &ids), 0);
  add_line_full(&e, "GEAR-7", 1, e.now, NULL); /* 1800 + 300 > 2000 */
  tick(&e);
  assert_int_equal(orders_in(&e, false, STORE_ORDER_PENDING_APPROVAL, &ids), 1);
  assert_int_equal(pipeline_order_reasons(e.p, ids.v[0], &reasons), RS_OK);
  assert_non_null(strstr(reasons, "month-to-date spend 1800.00 + this order 300.00"));
  free(reasons);
  env_close(&e);
}

/* A clock in 1970 does nothing at all. */
static void test_insane_clock_ticks_nothing(void **state)
{
  struct env e;
  struct ids ids;
  (void)state;
  env_open(&e, true);
  add_line_full(&e, "INK-C", 1, e.now, NULL);
  assert_int_equal(pipeline_tick(e.p, e.cfg, 1000), RS_OK);
  assert_int_equal(orders_in(&e, true, STORE_ORDER_DRAFT, &ids), 0);
  tick(&e);
  assert_int_equal(orders_in(&e, true, STORE_ORDER_DRAFT, &ids), 1);
  env_close(&e);
}

/*
 * The wall clock steps back a day (NTP correcting a clock that ran ahead): a
 * retry the shop's 503 put off by at most a second, and the next status poll
 * due in an hour, come at those delays on the new timeline, not a day later.
 */
static void test_clock_step_back(void **state)
{
  static const struct step steps[] = {
      {COMMERCE_RETRY, 503, -1, "HTTP 503: busy"},
      {COMMERCE_SUBMITTED, 201, -1, NULL},
  };
  static const enum commerce_lookup lk[] = {COMMERCE_LOOKUP_OK};
  static const enum commerce_shop_status stt[] = {COMMERCE_ST_ACCEPTED};
  struct env e;
  struct ids ids;
  (void)state;
  env_open(&e, true);
  e.fake.steps = steps;
  e.fake.n_steps = RS_ARRAY_LEN(steps);
  e.fake.lookups = lk;
  e.fake.statuses = stt;
  e.fake.n_status = 1;
  add_line_full(&e, "INK-C", 1, e.now, NULL);
  tick(&e);
  assert_int_equal(e.fake.submits, 1);
  assert_int_equal(orders_in(&e, false, STORE_ORDER_APPROVED, &ids), 1);
  e.now -= D_MS; /* the step */
  tick(&e);
  e.now += 1000; /* the first backoff ceiling is 1 s */
  tick(&e);
  assert_int_equal(e.fake.submits, 2);
  assert_int_equal(state_of(&e, ids.v[0]), STORE_ORDER_SUBMITTED);
  e.now -= D_MS; /* another step, now that it is submitted */
  tick(&e);
  e.now += H_MS; /* status_interval */
  tick(&e);
  assert_int_equal(e.fake.gets, 1);
  env_close(&e);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fsm_table),
      cmocka_unit_test(test_batching_window),
      cmocka_unit_test(test_batching_flush_value),
      cmocka_unit_test(test_batching_free_shipping),
      cmocka_unit_test(test_batching_max_lines),
      cmocka_unit_test(test_batching_full_draft_left_by_crash),
      cmocka_unit_test(test_batching_urgent),
      cmocka_unit_test(test_approval_policy_table),
      cmocka_unit_test(test_approval_several_reasons),
      cmocka_unit_test(test_decisions_and_expiry),
      cmocka_unit_test(test_backoff_retry_after),
      cmocka_unit_test(test_auth_wait_and_alert),
      cmocka_unit_test(test_auth_reload_new_credentials),
      cmocka_unit_test(test_auth_reload_polls),
      cmocka_unit_test(test_auth_restart_retries_once),
      cmocka_unit_test(test_failed_422),
      cmocka_unit_test(test_no_shop_configured),
      cmocka_unit_test(test_offline_by_default),
      cmocka_unit_test(test_restart_resumes_outbox),
      cmocka_unit_test(test_status_shipped_delivered_spares),
      cmocka_unit_test(test_delivery_notes_replenish_time),
      cmocka_unit_test(test_delivery_notes_approval_wait),
      cmocka_unit_test(test_status_404_alert_and_cancel),
      cmocka_unit_test(test_restart_polls_spread),
      cmocka_unit_test(test_budget_counts_outbox),
      cmocka_unit_test(test_insane_clock_ticks_nothing),
      cmocka_unit_test(test_clock_step_back),
      cmocka_unit_test(test_mixed_batch_split),
      cmocka_unit_test(test_urgent_line_not_behind_slower),
      cmocka_unit_test(test_calm_line_not_late_behind_slower),
      cmocka_unit_test(test_refreshed_price_placed),
      cmocka_unit_test(test_late_approval_repriced),
      cmocka_unit_test(test_budget_by_approval_month),
      cmocka_unit_test(test_fault_pause_after_step_back),
  };
  log_set_level(LOG_LVL_ERR);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
