/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shop: the sandbox shop of restock-sim — an HTTP server implementing the
 * commerce REST API of SPEC section 9 (orders with Idempotency-Key, order
 * status moving by a simulated pace, products), with its own SQLite file and
 * fault injection, plus the test-only inspection endpoints under /sim/.
 * docs/sandbox-shop.md describes its configuration and behaviour.
 *
 * Threads: libmicrohttpd runs one thread per connection; the shop's state
 * (database, fault RNG, in-progress keys) is guarded by one mutex that is
 * never held while sleeping (latency, processing delay).
 */
#ifndef RS_SIM_SHOP_H
#define RS_SIM_SHOP_H

#include <stddef.h>
#include <stdint.h>

#include "sim/simcfg.h"

struct shop;

/*
 * Open the shop's database (created if missing, WAL) and start listening on
 * cfg->host:cfg->port (port 0: any free port, see shop_port). time_scale
 * (> 0) speeds the order pace up. cfg must outlive the shop. Returns 0 and
 * sets *out, or -1 with a sentence in err and *out NULL.
 */
int shop_start(const struct simcfg_shop *cfg, double time_scale, struct shop **out, char *err,
               size_t errlen);

/* The port the shop listens on. */
uint16_t shop_port(const struct shop *s);

/*
 * Hooks for the device simulator (docs/simulator.md). All optional; set
 * them once, right after shop_start. They run on a connection thread with
 * no shop lock held.
 *   press: POST /sim/press/{device}/{point} presses a simulated button;
 *          returns 0 (200), 1 for an unknown device or point (404, msg says
 *          which), -1 for anything else (409, msg says why).
 *   state: GET /sim/devices; a malloc'd JSON document (200) or NULL (500).
 * Without a hook those paths answer 404.
 */
struct shop_hooks {
  void *ctx;
  int (*press)(void *ctx, const char *device, const char *point, char *msg, size_t msglen);
  char *(*state)(void *ctx);
};
void shop_set_hooks(struct shop *s, const struct shop_hooks *h);

/* One delivered order line, for shop_poll_deliveries. */
typedef void (*shop_delivered_fn)(void *ctx, const char *order_id, const char *sku,
                                  int64_t quantity, int64_t delivered_wall_ms);

/*
 * The hook on an order's status change to delivered: calls fn once per line
 * of every order that became delivered (by the pace) since the last call,
 * in order of creation, with the real wall time the status changed. Orders
 * delivered before the shop started, and cancelled ones, are skipped. Call
 * it periodically from one thread. Returns the number of orders reported.
 * next_wall_ms (may be NULL): the real wall time the next order still on its
 * way becomes delivered, INT64_MAX when none is.
 */
int shop_poll_deliveries(struct shop *s, shop_delivered_fn fn, void *ctx, int64_t *next_wall_ms);

/* Stop listening, wait for the connection threads, close the database. NULL is fine. */
void shop_stop(struct shop *s);

#endif
