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

#include "config/simcfg.h"

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

/* Stop listening, wait for the connection threads, close the database. NULL is fine. */
void shop_stop(struct shop *s);

#endif
