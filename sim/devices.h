/* SPDX-License-Identifier: Apache-2.0 */
/*
 * devices: the device half of restock-sim (SPEC section 13,
 * docs/simulator.md). Serves every simulated device of a struct simcfg:
 * Modbus TCP (libmodbus, one listening socket per host:port, several unit
 * ids on one port, a modbus_mapping per unit) and CoAP (libcoap, one context
 * per port, one resource per point path, observable where configured).
 * Consumables move by their profile on a sim clock (simulated now = start +
 * real elapsed x time scale); buttons are pressed at simulated times or on
 * request; a delivered SKU goes on its part's shelf, and a worn part gets a
 * spare from the shelf replace_after later.
 *
 * Threads: one thread runs every socket (a poll loop; Modbus fds are kept
 * below 1024 for libmodbus' select) and updates the values every tick.
 * devices_delivered, devices_press and devices_state_json may be called
 * from any thread.
 */
#ifndef RS_SIM_DEVICES_H
#define RS_SIM_DEVICES_H

#include <stddef.h>
#include <stdint.h>

#include "sim/simcfg.h"

struct devices;

/*
 * Bind every device's port (0: a free one), build the register maps and
 * resources, compute the first values and start the thread. cfg must
 * outlive the simulator. Returns 0 and sets *out, or -1 with a sentence in
 * err (a port in use names it) and *out NULL.
 */
int devices_start(const struct simcfg *cfg, double time_scale, struct devices **out, char *err,
                  size_t errlen);

/* The port device i (cfg->devices[i]) listens on. */
uint16_t devices_port(const struct devices *d, size_t i);

/*
 * A delivered order line: its `quantity` units go on the shelves of the
 * parts with this SKU (the emptiest shelf first, then the most worn part);
 * a part takes a spare only once it is worn (docs/simulator.md). Logs a
 * delivery onto a non-empty shelf while the part had more than the lead
 * time of life left (an early delivery). delivered_wall_ms is not used:
 * the units arrive when the simulator learns of them. Matches the shop's
 * shop_delivered_fn; ctx is the struct devices.
 */
void devices_delivered(void *ctx, const char *order_id, const char *sku, int64_t quantity,
                       int64_t delivered_wall_ms);

/*
 * Press button `point` of `device` now, for its hold time. Returns 0, 1 when
 * there is no such device or button (msg says which). Matches the shop's
 * press hook; ctx is the struct devices.
 */
int devices_press(void *ctx, const char *device, const char *point, char *msg, size_t msglen);

/*
 * The simulator's state as a malloc'd JSON document: simulated time, and
 * per device its port, consumables (value, remaining, replacements, pending
 * replacement) and buttons. NULL on allocation failure. ctx is the struct
 * devices (matches the shop's state hook).
 */
char *devices_state_json(void *ctx);

/* Stop the thread, close every socket, free everything. NULL is fine. */
void devices_stop(struct devices *d);

#endif
