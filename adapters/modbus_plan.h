/* SPDX-License-Identifier: Apache-2.0 */
/*
 * modbus_plan: which Modbus requests read one device's points (SPEC 4
 * "Merging"). Pure: points in, a list of requests out; no I/O.
 *
 * Rules:
 * - A device is one unit id; its points are planned alone. Devices sharing
 *   a connection are planned one by one and never merged across unit ids.
 * - Points are grouped by table (coil, discrete, input, holding), sorted by
 *   address, and a point joins the current request when the addresses
 *   between the request's end and the point that nobody asked for number at
 *   most max_gap, and the request, with the point, stays within the limit.
 *   Overlapping points (two bools on bits of one register) share registers.
 * - Limit: registers (input, holding) min(max_registers, 125), the Modbus
 *   maximum for function codes 3 and 4. Bits (coil, discrete)
 *   min(16 x max_registers, 2000): the same reply size in bits, capped at
 *   the Modbus maximum for function codes 1 and 2 (the default 125 gives
 *   exactly 2000). max_gap counts bits there.
 * - single_reads: one request per point (each covering the point's width).
 * - A point that cannot be read (wider than the limit, past address 65535,
 *   a non-bool coil/discrete point) is left out of every request and listed
 *   in `unplanned` with a reason; config validation should prevent this.
 *
 * Text form (mbplan_format, `restockctl probe DEVICE --plan`), one line per
 * request in order:
 *
 *   holding 100..109 (10 registers): filter_dp@100 hose_hours@104
 *   coil 0..15 (16 bits): door@0 pump@15
 *   unplanned: big@10 (float64 needs 4 registers, max_registers is 2)
 *
 * TABLE FIRST..LAST (COUNT registers|bits): then each point as ID@ADDRESS in
 * address order; addresses are the 0-based protocol addresses of the
 * config, LAST = FIRST + COUNT - 1, "1 register" / "1 bit" in the singular.
 */
#ifndef RS_MODBUS_PLAN_H
#define RS_MODBUS_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "base/rs_util.h"

#define MBPLAN_MAX_REGISTERS 125 /* FC 3/4 */
#define MBPLAN_MAX_BITS      2000 /* FC 1/2 */

/* One point inside a request. */
struct mbplan_item {
  uint32_t point;  /* index into the points array that was planned (not size_t: 8 B an
                      item less, RSS, docs/BENCHMARKS.md "Session 9 (h14dev)") */
  uint16_t offset; /* registers (or bits) from the request's start */
  uint16_t width;  /* registers (or bits) the point covers */
};

/* One read request. Items are in address order. */
struct mbplan_req {
  enum cfg_regtable table;
  int unit_id;
  uint16_t start;
  uint16_t count;
  struct mbplan_item *items;
  size_t n_items;
};

struct mbplan_unplanned {
  size_t point;
  char reason[96];
};

/* A device's plan; zero-initialise, free with mbplan_free. */
struct mbplan {
  struct mbplan_req *reqs;
  size_t n_reqs;
  struct mbplan_unplanned *unplanned;
  size_t n_unplanned;
};

struct mbplan_opts {
  int unit_id;       /* copied into every request */
  int max_gap;       /* < 0 is taken as 0 */
  int max_registers; /* <= 0 or > 125 is taken as 125 */
  bool single_reads;
};

/*
 * Plan requests for points[0..n-1] (the CoAP fields are ignored). Fills *out
 * (which the caller frees with mbplan_free, also on failure). Returns 0 when
 * every point is in a request; -1 when some point is unplanned (listed in
 * out->unplanned, with a sentence about the first one in err); the other
 * points are still planned. Deterministic: the same points give the same
 * plan whatever their order. Allocation failure aborts (rs_x*).
 */
int mbplan_build_points(const struct cfg_point *points, size_t n, const struct mbplan_opts *opts,
                        struct mbplan *out, char *err, size_t errlen);

/*
 * Plan a Modbus device's points with its unit_id, max_gap, max_registers
 * and single_reads. Point indexes refer to dev->points. A CoAP device gets
 * an empty plan. Returns as mbplan_build_points.
 */
int mbplan_build(const struct cfg_device *dev, struct mbplan *out, char *err, size_t errlen);

void mbplan_free(struct mbplan *plan);

/*
 * Append the plan as text (format above, each line ending in '\n') to out;
 * points are named from points[] (the array that was planned).
 */
void mbplan_format(const struct mbplan *plan, const struct cfg_point *points, struct rs_buf *out);

#endif
