/* SPDX-License-Identifier: Apache-2.0 */
#include "adapters/modbus_plan.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/modbus_codec.h"

static const char *table_name(enum cfg_regtable t)
{
  static const char *const names[] = {"coil", "discrete", "input", "holding"};

  return (unsigned)t < RS_ARRAY_LEN(names) ? names[t] : "?";
}

static const char *type_name(enum cfg_vtype t)
{
  static const char *const names[] = {"bool",  "int16",  "uint16",  "int32",  "uint32",
                                      "int64", "uint64", "float32", "float64"};

  return (unsigned)t < RS_ARRAY_LEN(names) ? names[t] : "?";
}

static bool table_is_bits(enum cfg_regtable t)
{
  return t == CFG_REG_COIL || t == CFG_REG_DISCRETE;
}

/* A point to place, with what the sort needs. */
struct entry {
  uint32_t point;
  enum cfg_regtable table;
  uint32_t address;
  uint32_t width;
};

static int entry_cmp(const void *a, const void *b)
{
  const struct entry *x = a, *y = b;

  if(x->table != y->table)
    return x->table < y->table ? -1 : 1;
  if(x->address != y->address)
    return x->address < y->address ? -1 : 1;
  if(x->width != y->width)
    return x->width < y->width ? -1 : 1;
  if(x->point != y->point)
    return x->point < y->point ? -1 : 1;
  return 0;
}

static void add_unplanned(struct mbplan *out, size_t point, const char *reason)
{
  struct mbplan_unplanned *u;

  out->unplanned =
    rs_xrealloc(out->unplanned, (out->n_unplanned + 1) * sizeof(*out->unplanned));
  u = &out->unplanned[out->n_unplanned++];
  u->point = point;
  (void)rs_strlcpy(u->reason, reason, sizeof(u->reason));
}

static struct mbplan_req *new_req(struct mbplan *out, const struct entry *e, int unit_id)
{
  struct mbplan_req *r;

  out->reqs = rs_xrealloc(out->reqs, (out->n_reqs + 1) * sizeof(*out->reqs));
  r = &out->reqs[out->n_reqs++];
  memset(r, 0, sizeof(*r));
  r->table = e->table;
  r->unit_id = unit_id;
  r->start = (uint16_t)e->address;
  r->count = (uint16_t)e->width;
  return r;
}

/* Items are appended in address order, so the list stays sorted. */
static void add_item(struct mbplan_req *r, const struct entry *e)
{
  struct mbplan_item *it;

  r->items = rs_xrealloc(r->items, (r->n_items + 1) * sizeof(*r->items));
  it = &r->items[r->n_items++];
  it->point = e->point;
  it->offset = (uint16_t)(e->address - r->start);
  it->width = (uint16_t)e->width;
}

int mbplan_build_points(const struct cfg_point *points, size_t n, const struct mbplan_opts *opts,
                        struct mbplan *out, char *err, size_t errlen)
{
  struct entry *ents = NULL;
  size_t n_ents = 0, i;
  uint32_t gap = opts->max_gap > 0 ? (uint32_t)opts->max_gap : 0;
  uint32_t reg_limit = opts->max_registers > 0 && opts->max_registers < MBPLAN_MAX_REGISTERS
                         ? (uint32_t)opts->max_registers
                         : MBPLAN_MAX_REGISTERS;
  /* Bits: as many as fit in the same reply size (16 per register), at most 2000. */
  uint32_t bit_limit = reg_limit * 16 < MBPLAN_MAX_BITS ? reg_limit * 16 : MBPLAN_MAX_BITS;
  struct mbplan_req *cur = NULL;
  uint32_t cur_end = 0; /* one past the last register of cur */
  int rc = 0;

  memset(out, 0, sizeof(*out));
  if(err && errlen)
    err[0] = '\0';
  if(n)
    ents = rs_xcalloc(n, sizeof(*ents));
  for(i = 0; i < n; i++) {
    const struct cfg_point *pt = &points[i];
    bool bits = table_is_bits(pt->table);
    uint32_t width = bits ? 1 : cfg_vtype_width(pt->type);
    uint32_t limit = bits ? bit_limit : reg_limit;
    char why[96];

    why[0] = '\0';
    if(i > UINT32_MAX) /* struct mbplan_item's index; no config comes near */
      snprintf(why, sizeof(why), "more than %" PRIu32 " points on one device", UINT32_MAX);
    else if(bits && pt->type != CFG_VT_BOOL)
      snprintf(why, sizeof(why), "%s points must be bool, not %s", table_name(pt->table),
               type_name(pt->type));
    else if(width > limit)
      snprintf(why, sizeof(why), "%s needs %u registers, max_registers is %u",
               type_name(pt->type), (unsigned)width, (unsigned)limit);
    else if((uint32_t)pt->address + width > 65536u)
      snprintf(why, sizeof(why), "%s at %u runs past address 65535", type_name(pt->type),
               (unsigned)pt->address);
    if(why[0]) {
      if(!rc && err && errlen)
        snprintf(err, errlen, "point '%s' cannot be read: %s", pt->id ? pt->id : "?", why);
      add_unplanned(out, i, why);
      rc = -1;
      continue;
    }
    ents[n_ents].point = (uint32_t)i;
    ents[n_ents].table = pt->table;
    ents[n_ents].address = pt->address;
    ents[n_ents].width = width;
    n_ents++;
  }
  if(n_ents)
    qsort(ents, n_ents, sizeof(*ents), entry_cmp);

  for(i = 0; i < n_ents; i++) {
    const struct entry *e = &ents[i];
    uint32_t limit = table_is_bits(e->table) ? bit_limit : reg_limit;
    uint32_t end = e->address + e->width;

    if(cur && !opts->single_reads && cur->table == e->table) {
      uint32_t unasked = e->address > cur_end ? e->address - cur_end : 0;
      uint32_t new_end = end > cur_end ? end : cur_end;

      if(unasked <= gap && new_end - cur->start <= limit) {
        cur_end = new_end;
        cur->count = (uint16_t)(cur_end - cur->start);
        add_item(cur, e);
        continue;
      }
    }
    cur = new_req(out, e, opts->unit_id);
    cur_end = end;
    add_item(cur, e);
  }
  FREE_NULL(ents);
  return rc;
}

int mbplan_build(const struct cfg_device *dev, struct mbplan *out, char *err, size_t errlen)
{
  struct mbplan_opts o;

  memset(out, 0, sizeof(*out));
  if(dev->transport == CFG_TR_COAP)
    return 0;
  o.unit_id = dev->unit_id;
  o.max_gap = dev->max_gap;
  o.max_registers = dev->max_registers;
  o.single_reads = dev->single_reads;
  return mbplan_build_points(dev->points, dev->n_points, &o, out, err, errlen);
}

void mbplan_free(struct mbplan *plan)
{
  size_t i;

  for(i = 0; i < plan->n_reqs; i++)
    FREE_NULL(plan->reqs[i].items);
  FREE_NULL(plan->reqs);
  FREE_NULL(plan->unplanned);
  plan->n_reqs = 0;
  plan->n_unplanned = 0;
}

void mbplan_format(const struct mbplan *plan, const struct cfg_point *points, struct rs_buf *out)
{
  size_t i, j;

  for(i = 0; i < plan->n_reqs; i++) {
    const struct mbplan_req *r = &plan->reqs[i];
    bool bits = table_is_bits(r->table);

    rs_buf_printf(out, "%s %u..%u (%u %s%s):", table_name(r->table), (unsigned)r->start,
                  (unsigned)r->start + r->count - 1u, (unsigned)r->count,
                  bits ? "bit" : "register", r->count == 1 ? "" : "s");
    for(j = 0; j < r->n_items; j++) {
      const struct cfg_point *pt = &points[r->items[j].point];

      rs_buf_printf(out, " %s@%u", pt->id ? pt->id : "?", (unsigned)pt->address);
    }
    rs_buf_puts(out, "\n");
  }
  for(i = 0; i < plan->n_unplanned; i++) {
    const struct cfg_point *pt = &points[plan->unplanned[i].point];

    rs_buf_printf(out, "unplanned: %s@%u (%s)\n", pt->id ? pt->id : "?", (unsigned)pt->address,
                  plan->unplanned[i].reason);
  }
}
