/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ctl_seed DB CONSUMABLE SKU QTY PRICE_MINOR: create one order of one line
 * in pending_approval through the store API (as the pipeline would) and
 * print its id. A helper for tests/test_ctl.py only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_util.h"
#include "base/clock.h"
#include "gateway/store.h"

int main(int argc, char **argv)
{
  struct store *st = NULL;
  struct store_order_line l;
  char err[256], id[STORE_ORDER_ID_MAX + 1];
  int64_t qty, price, line, now = clock_real_wall_ms();

  if(argc != 6 || rs_parse_i64(argv[4], false, 1, 1000000, &qty) ||
     rs_parse_i64(argv[5], false, 0, INT64_MAX / 1000000, &price)) {
    fprintf(stderr, "usage: ctl_seed DB CONSUMABLE SKU QTY PRICE_MINOR\n");
    return 2;
  }
  if(store_open(argv[1], &st, err, sizeof(err))) {
    fprintf(stderr, "ctl_seed: %s\n", err);
    return 1;
  }
  memset(&l, 0, sizeof(l));
  l.consumable = argv[2];
  l.sku = argv[3];
  l.quantity = qty;
  l.unit_price = price;
  memcpy(l.currency, "EUR", 4);
  l.rule = "seeded";
  l.created_ms = now;
  if(store_create_order(st, "acme", "EUR", qty * price, now, "system", "test order", id,
                        sizeof(id)) ||
     store_add_order_line(st, &l, &line) || store_attach_line(st, line, id) ||
     store_transition_order(st, id, STORE_ORDER_DRAFT, STORE_ORDER_PENDING_APPROVAL, "policy",
                            "total over require_over_value", now)) {
    fprintf(stderr, "ctl_seed: %s\n", store_errmsg(st));
    store_close(st);
    return 1;
  }
  printf("%s\n", id);
  store_close(st);
  return 0;
}
