/* SPDX-License-Identifier: Apache-2.0 */
/*
 * orders_driver: the real order pipeline, store and commerce client on the
 * real clock, without devices: for the integration and crash tests
 * (tests/orders_shop.py) and by hand.
 *
 *   test_orders_driver --config DIR --db FILE --lines N
 *                      [--until submitted|delivered] [--timeout-s S]
 *                      [--backoff BASE_MS CAP_MS] [--verbose]
 *
 * Makes N urgent order lines (consumables drv/c0001..., the catalog's first
 * SKU, quantity 1) once per database, then ticks the pipeline until every
 * order is submitted (or delivered), and prints
 *   driver: orders=N draft=N pending=N approved=N submitted=N shipped=N delivered=N failed=N
 * Exit 0 when done, 1 on timeout or error, 2 on bad usage. Killing it at any
 * moment and starting it again must neither lose nor duplicate an order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "base/rs_util.h"
#include "base/clock.h"
#include "base/log.h"
#include "gateway/pipeline.h"
#include "gateway/store.h"

#define META_LINES "driver.lines"

static void sleep_ms(int64_t ms)
{
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while(nanosleep(&ts, &ts) && errno == EINTR)
    ;
}

struct counts {
  size_t by_state[STORE_ORDER_STATE_COUNT];
  size_t total;
};

static int count_cb(void *ud, const struct store_order *o)
{
  struct counts *c = ud;
  if((unsigned)o->state < STORE_ORDER_STATE_COUNT)
    c->by_state[o->state]++;
  c->total++;
  return 0;
}

static int unbatched_cb(void *ud, const struct store_order_line *l)
{
  size_t *n = ud;
  if(!l->order_id)
    (*n)++;
  return 0;
}

/* Make the lines once per database (a restart adds only the missing ones). */
static int make_lines(struct store *st, const struct cfg *cfg, long n)
{
  const struct cfg_catalog_item *item;
  char *v = NULL;
  long i;
  if(store_meta_get(st, META_LINES, &v) == RS_OK) {
    free(v);
    return 0;
  }
  if(!cfg->n_catalog) {
    fprintf(stderr, "driver: the config has no catalog\n");
    return -1;
  }
  item = &cfg->catalog[0];
  for(i = 1; i <= n; i++) {
    struct store_order_line l;
    char cons[64];
    bool open = false;
    snprintf(cons, sizeof(cons), "drv/c%04ld", i);
    if(store_has_open_line(st, cons, &open, NULL))
      return -1;
    if(open)
      continue;
    memset(&l, 0, sizeof(l));
    l.consumable = cons;
    l.sku = (char *)item->sku;
    l.quantity = 1;
    l.unit_price = item->unit_price.set ? item->unit_price.minor : 0;
    rs_strlcpy(l.currency, cfg->orders.currency ? cfg->orders.currency : "EUR", sizeof(l.currency));
    l.need_by_ms = clock_real_wall_ms(); /* urgent: drafts close at max_lines or at once */
    l.created_ms = clock_real_wall_ms();
    if(store_add_order_line(st, &l, NULL)) {
      fprintf(stderr, "driver: %s\n", store_errmsg(st));
      return -1;
    }
  }
  return store_meta_set(st, META_LINES, "done") ? -1 : 0;
}

int main(int argc, char **argv)
{
  const char *dir = NULL, *db = NULL, *until = "submitted";
  long lines = 1, timeout_s = 60;
  int64_t base = 50, cap = 1000, deadline;
  struct cfg *cfg = NULL;
  struct cfg_diags diags = {0};
  struct store *st = NULL;
  struct pipeline *p = NULL;
  struct counts c;
  char err[512];
  int i, rc = 1;
  bool verbose = false, done = false;

  for(i = 1; i < argc; i++) {
    int64_t v;
    if(!strcmp(argv[i], "--config") && i + 1 < argc)
      dir = argv[++i];
    else if(!strcmp(argv[i], "--db") && i + 1 < argc)
      db = argv[++i];
    else if(!strcmp(argv[i], "--until") && i + 1 < argc)
      until = argv[++i];
    else if(!strcmp(argv[i], "--lines") && i + 1 < argc &&
            !rs_parse_i64(argv[i + 1], false, 1, 100000, &v)) {
      lines = (long)v;
      i++;
    }
    else if(!strcmp(argv[i], "--timeout-s") && i + 1 < argc &&
            !rs_parse_i64(argv[i + 1], false, 1, 86400, &v)) {
      timeout_s = (long)v;
      i++;
    }
    else if(!strcmp(argv[i], "--backoff") && i + 2 < argc &&
            !rs_parse_i64(argv[i + 1], false, 1, 86400000, &base) &&
            !rs_parse_i64(argv[i + 2], false, 1, 86400000, &cap) && cap >= base)
      i += 2;
    else if(!strcmp(argv[i], "--verbose"))
      verbose = true;
    else {
      fprintf(stderr,
              "usage: %s --config DIR --db FILE --lines N [--until submitted|delivered] "
              "[--timeout-s S] [--backoff BASE_MS CAP_MS] [--verbose]\n",
              argv[0]);
      return 2;
    }
  }
  if(!dir || !db || (strcmp(until, "submitted") && strcmp(until, "delivered"))) {
    fprintf(stderr, "driver: --config and --db are required; --until submitted|delivered\n");
    return 2;
  }
  log_set_level(verbose ? LOG_LVL_INFO : LOG_LVL_WARNING);
  if(cfg_load(dir, &cfg, &diags)) {
    cfg_diags_print(&diags, stderr);
    cfg_diags_free(&diags);
    return 2;
  }
  cfg_diags_free(&diags);
  if(store_open(db, &st, err, sizeof(err))) {
    fprintf(stderr, "driver: %s\n", err);
    goto out;
  }
  if(make_lines(st, cfg, lines))
    goto out;
  p = pipeline_new(st);
  if(!p)
    goto out;
  pipeline_set_backoff(p, base, cap);
  pipeline_set_online(p, true);

  memset(&c, 0, sizeof(c));
  deadline = clock_real_mono_ms() + timeout_s * 1000;
  while(!done) {
    int64_t now = clock_real_wall_ms(), due, wait;
    size_t unbatched = 0;
    (void)pipeline_tick(p, cfg, now);
    memset(&c, 0, sizeof(c));
    if(store_list_orders(st, false, STORE_ORDER_DRAFT, 0, count_cb, &c) ||
       store_list_open_lines(st, unbatched_cb, &unbatched)) {
      fprintf(stderr, "driver: %s\n", store_errmsg(st));
      goto out;
    }
    done = c.total > 0 && !unbatched && !c.by_state[STORE_ORDER_DRAFT] &&
           !c.by_state[STORE_ORDER_PENDING_APPROVAL] && !c.by_state[STORE_ORDER_APPROVED];
    if(!strcmp(until, "delivered"))
      done = done && !c.by_state[STORE_ORDER_SUBMITTED] && !c.by_state[STORE_ORDER_SHIPPED];
    if(done)
      break;
    if(clock_real_mono_ms() > deadline) {
      fprintf(stderr, "driver: not done within %ld s\n", timeout_s);
      goto print;
    }
    due = pipeline_next_due(p);
    wait = due == INT64_MAX ? 100 : due - clock_real_wall_ms();
    sleep_ms(wait < 1 ? 1 : wait > 100 ? 100 : wait);
  }
  rc = 0;
print:
  printf("driver: orders=%zu draft=%zu pending=%zu approved=%zu submitted=%zu shipped=%zu "
         "delivered=%zu failed=%zu\n",
         c.total, c.by_state[STORE_ORDER_DRAFT], c.by_state[STORE_ORDER_PENDING_APPROVAL],
         c.by_state[STORE_ORDER_APPROVED], c.by_state[STORE_ORDER_SUBMITTED],
         c.by_state[STORE_ORDER_SHIPPED], c.by_state[STORE_ORDER_DELIVERED],
         c.by_state[STORE_ORDER_FAILED]);
out:
  pipeline_free(p);
  store_close(st);
  cfg_free(cfg);
  return rc;
}
