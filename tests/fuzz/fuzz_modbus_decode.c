/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for adapters/modbus_codec and adapters/modbus_plan.
 *
 * Input: a 6-byte header (type, endian, bit, table, flags, max_gap) then
 * big-endian register pairs. The registers are decoded as a point; a value
 * that decodes must format as JSON, and (unscaled) encode back to the same
 * registers. The same bytes, four per point (table, address hi, address lo,
 * type), are then planned: every point must land in exactly one request or
 * be listed as unplanned, within the request, and no request over the limit.
 * Must never crash, leak or trip a sanitizer.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/modbus_codec.h"
#include "adapters/modbus_plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_POINTS 128

static void fuzz_decode(const uint8_t *data, size_t size)
{
  struct cfg_point pt;
  uint16_t *regs;
  size_t n, i;
  struct codec_value v, again;
  char err[CODEC_ERR_MAX], num[32];
  uint16_t back[4];
  enum codec_err rc;

  memset(&pt, 0, sizeof(pt));
  pt.id = "fuzz";
  pt.type = (uint8_t)(data[0] % 9); /* enum cfg_vtype */
  pt.endian = (uint8_t)(data[1] % 4); /* enum cfg_endian */
  pt.bit = (int8_t)((int)(data[2] % 18) - 1); /* -1..16: 16 is out of range on purpose */
  pt.table = (uint8_t)(data[3] % 4); /* enum cfg_regtable */
  pt.scaled = data[4] & 1;
  pt.scale = (data[4] & 2) ? 1e300 : 0.01;
  pt.offset = (data[4] & 4) ? -273.15 : 0;
  n = (size - 6) / 2;
  /* Exact-size heap copy so ASan sees any read past the end. */
  regs = malloc((n ? n : 1) * sizeof(*regs));
  if(!regs)
    return;
  for(i = 0; i < n; i++)
    regs[i] = (uint16_t)(data[6 + 2 * i] << 8 | data[7 + 2 * i]);
  err[0] = '\0';
  rc = mbc_decode(&pt, regs, n, &v, err, sizeof(err));
  if(rc) {
    if(!err[0] || !memchr(err, '\0', sizeof(err)))
      abort();
    goto out;
  }
  if(v.kind == CODEC_V_DOUBLE && !isfinite(v.v.d))
    abort();
  if(codec_format_value(&v, num, sizeof(num)))
    abort();
  if(v.kind == CODEC_V_DOUBLE && strtod(num, NULL) != v.v.d)
    abort();
  /* Unscaled register values encode back to the registers they came from. */
  if(!pt.scaled && pt.type != CFG_VT_BOOL &&
     (pt.table == CFG_REG_INPUT || pt.table == CFG_REG_HOLDING)) {
    unsigned w = cfg_vtype_width(pt.type);

    if(mbc_encode_raw(pt.type, pt.endian, -1, &v, back, 4, err, sizeof(err)))
      abort();
    if(memcmp(back, regs, w * sizeof(*back)))
      abort();
    if(mbc_decode_raw(pt.type, pt.endian, -1, back, w, &again, err, sizeof(err)))
      abort();
    if(memcmp(&again, &v, sizeof(v)) && !(v.kind == CODEC_V_DOUBLE && again.v.d == v.v.d))
      abort();
  }
out:
  free(regs);
}

static void fuzz_plan(const uint8_t *data, size_t size)
{
  struct cfg_point pts[MAX_POINTS];
  size_t n = 0, i, j;
  struct mbplan_opts o;
  struct mbplan plan;
  unsigned seen[MAX_POINTS];
  char err[256];
  struct rs_buf text = {0};

  memset(pts, 0, sizeof(pts));
  memset(seen, 0, sizeof(seen));
  for(i = 6; i + 4 <= size && n < MAX_POINTS; i += 4, n++) {
    pts[n].id = "p";
    pts[n].table = (uint8_t)(data[i] % 4);
    pts[n].address = (uint16_t)(data[i + 1] << 8 | data[i + 2]);
    pts[n].type = (uint8_t)(data[i + 3] % 9);
    pts[n].bit = -1;
    /* Bit tables are bool in a valid config; keep some invalid ones. */
    if(pts[n].table <= CFG_REG_DISCRETE && (data[i + 3] & 0x80))
      pts[n].type = CFG_VT_BOOL;
  }
  o.unit_id = 1;
  o.max_gap = data[5];
  o.max_registers = data[4] >> 1; /* 0..127: 0 and >125 mean 125 */
  o.single_reads = data[4] & 1;
  (void)mbplan_build_points(pts, n, &o, &plan, err, sizeof(err));
  for(i = 0; i < plan.n_reqs; i++) {
    const struct mbplan_req *r = &plan.reqs[i];
    bool bits = r->table == CFG_REG_COIL || r->table == CFG_REG_DISCRETE;
    unsigned regs =
      o.max_registers > 0 && o.max_registers < 125 ? (unsigned)o.max_registers : 125u;
    unsigned limit = bits ? (regs * 16 < 2000 ? regs * 16 : 2000) : regs;

    if(!r->count || r->count > limit || (uint32_t)r->start + r->count > 65536u || !r->n_items)
      abort();
    if(o.single_reads && r->n_items != 1)
      abort();
    for(j = 0; j < r->n_items; j++) {
      const struct mbplan_item *it = &r->items[j];

      if(it->point >= n || pts[it->point].table != r->table ||
         pts[it->point].address != r->start + it->offset ||
         (uint32_t)it->offset + it->width > r->count)
        abort();
      seen[it->point]++;
    }
  }
  for(i = 0; i < plan.n_unplanned; i++) {
    if(plan.unplanned[i].point >= n)
      abort();
    seen[plan.unplanned[i].point]++;
  }
  for(i = 0; i < n; i++)
    if(seen[i] != 1)
      abort();
  mbplan_format(&plan, pts, &text);
  rs_buf_free(&text);
  mbplan_free(&plan);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size < 6)
    return 0;
  fuzz_decode(data, size);
  fuzz_plan(data, size);
  return 0;
}
