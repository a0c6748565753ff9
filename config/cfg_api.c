/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cfg_api: the small public helpers around a loaded configuration — freeing,
 * printing diagnostics, the --check summary, lookups and enum names.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "rules/predict.h"
#include "base/rs_util.h"
#include "rules/expr.h"

struct cfg *cfg_ref(const struct cfg *cfg)
{
  struct cfg *c = (struct cfg *)(uintptr_t)cfg; /* the count is its one mutable field */
  __atomic_fetch_add(&c->extra_refs, 1u, __ATOMIC_RELAXED);
  return c;
}

void cfg_free(struct cfg *cfg)
{
  size_t i;
  if(!cfg)
    return;
  /* not the last reference: another holder frees it (the acquire orders its reads before) */
  if(__atomic_fetch_sub(&cfg->extra_refs, 1u, __ATOMIC_ACQ_REL) != 0)
    return;
  for(i = 0; i < cfg->n_rules; i++)
    expr_free(cfg->rules[i].when);
  expr_free(cfg->default_rule.when);
  rs_arena_free(cfg->arena);
  free(cfg);
}

struct cfg_device_hold *cfg_device_hold_new(const struct cfg *cfg, const struct cfg_device *dev)
{
  struct cfg_device_hold *h = rs_xcalloc(1, sizeof(*h));
  h->cfg = cfg_ref(cfg);
  h->dev = dev;
  return h;
}

void cfg_device_hold_free(struct cfg_device_hold *h)
{
  if(!h)
    return;
  cfg_free(h->cfg);
  free(h);
}

void cfg_diags_free(struct cfg_diags *diags)
{
  size_t i;
  if(!diags)
    return;
  for(i = 0; i < diags->n; i++)
    FREE_NULL(diags->v[i].text);
  FREE_NULL(diags->v);
  diags->n = 0;
  diags->n_errors = 0;
}

void cfg_diags_print(const struct cfg_diags *diags, FILE *f)
{
  size_t i;
  for(i = 0; i < diags->n; i++)
    fprintf(f, "%s%s\n", diags->v[i].warning ? "warning: " : "", diags->v[i].text);
}

struct cfg *cfg_load_report(const char *dir, FILE *f, bool warnings)
{
  struct cfg *cfg = NULL;
  struct cfg_diags diags = {0};
  if(cfg_load(dir, &cfg, &diags) || warnings)
    cfg_diags_print(&diags, f);
  cfg_diags_free(&diags);
  return cfg;
}

void cfg_summary(const struct cfg *cfg, char *buf, size_t size)
{
  snprintf(buf, size, "OK: %zu devices, %zu points, %zu consumables, %zu rules", cfg->n_devices,
           cfg->n_points, cfg->n_consumables, cfg->n_rules);
}

/*
 * The element of an array (n elements, stride bytes apart) whose `const
 * char *` member at byte offset off equals id, or NULL.
 */
static void *find_by_id(const void *base, size_t n, size_t stride, size_t off, const char *id)
{
  size_t i;
  for(i = 0; i < n; i++) {
    const char *e = (const char *)base + i * stride;
    const char *const *key = (const char *const *)(const void *)(e + off);
    if(*key && !strcmp(*key, id))
      return (void *)(uintptr_t)e;
  }
  return NULL;
}

#define FIND(arr, n, type, member, id) \
  ((type *)find_by_id((arr), (n), sizeof(type), offsetof(type, member), (id)))

struct cfg_device *cfg_find_device(const struct cfg *cfg, const char *id)
{
  return FIND(cfg->devices, cfg->n_devices, struct cfg_device, id, id);
}

struct cfg_point *cfg_find_point(const struct cfg_device *dev, const char *id)
{
  return FIND(dev->points, dev->n_points, struct cfg_point, id, id);
}

struct cfg_consumable *cfg_find_consumable(const struct cfg *cfg, const char *full_id)
{
  size_t i;
  struct cfg_consumable *c = NULL;
  for(i = 0; i < cfg->n_devices && !c; i++)
    c = FIND(cfg->devices[i].consumables, cfg->devices[i].n_consumables, struct cfg_consumable,
             full_id, full_id);
  return c;
}

struct cfg_catalog_item *cfg_find_sku(const struct cfg *cfg, const char *sku)
{
  return FIND(cfg->catalog, cfg->n_catalog, struct cfg_catalog_item, sku, sku);
}

struct cfg_supplier *cfg_find_supplier(const struct cfg *cfg, const char *id)
{
  return FIND(cfg->suppliers, cfg->n_suppliers, struct cfg_supplier, id, id);
}

const char *cfg_transport_name(enum cfg_transport t)
{
  static const char *const n[] = {"modbus-tcp", "modbus-rtu", "coap"};
  return (unsigned)t < RS_ARRAY_LEN(n) ? n[t] : "?";
}

const char *cfg_regtable_name(enum cfg_regtable t)
{
  static const char *const n[] = {"coil", "discrete", "input", "holding"};
  return (unsigned)t < RS_ARRAY_LEN(n) ? n[t] : "?";
}

const char *cfg_vtype_name(enum cfg_vtype t)
{
  static const char *const n[] = {"bool",  "int16",  "uint16",  "int32",  "uint32",
                                  "int64", "uint64", "float32", "float64"};
  return (unsigned)t < RS_ARRAY_LEN(n) ? n[t] : "?";
}

const char *cfg_model_name(enum cfg_model m)
{
  static const char *const n[] = {"level", "usage", "button"};
  return (unsigned)m < RS_ARRAY_LEN(n) ? n[m] : "?";
}

double cfg_remaining(const struct cfg_consumable *c, double value)
{
  double f;
  switch(c->spec->model) {
  case CFG_MODEL_LEVEL:
    if(c->spec->full == c->spec->empty)
      return NAN;
    f = (value - c->spec->empty) / (c->spec->full - c->spec->empty);
    break;
  case CFG_MODEL_USAGE:
    if(c->spec->life <= 0)
      return NAN;
    f = 1.0 - (value - c->spec->start) / c->spec->life;
    break;
  default:
    return NAN;
  }
  if(isnan(f))
    return NAN;
  if(f < 0)
    f = 0;
  if(f > 1)
    f = 1;
  return f;
}

/* ---- the plant calendar (calendar.closed) ---- */

const struct cfg_closed *cfg_next_closed(const struct cfg *cfg, int64_t now_ms)
{
  size_t i;
  for(i = 0; cfg && i < cfg->calendar.n_closed; i++)
    if(cfg->calendar.closed[i].to_ms > now_ms)
      return &cfg->calendar.closed[i];
  return NULL;
}

double cfg_open_days(const struct cfg *cfg, int64_t now_ms, double days)
{
  double end = (double)now_ms + days * 86400000.0, shut = 0;
  size_t i;
  if(!cfg || !cfg->calendar.n_closed || !(days > 0) || isinf(days))
    return days;
  for(i = 0; i < cfg->calendar.n_closed; i++) {
    const struct cfg_closed *c = &cfg->calendar.closed[i];
    double a = (double)c->from_ms > (double)now_ms ? (double)c->from_ms : (double)now_ms;
    double b = (double)c->to_ms < end ? (double)c->to_ms : end;
    if(b > a)
      shut += b - a;
  }
  return days - shut / 86400000.0;
}

double cfg_calendar_days(const struct cfg *cfg, int64_t now_ms, double open)
{
  double t, now = (double)now_ms;
  size_t i;
  if(!cfg || !cfg->calendar.n_closed || !(open > 0) || isinf(open))
    return open;
  /* walk the periods in order: each one that starts before the running end (or holds
     now) pushes the end on by its closed time still ahead */
  t = now + open * 86400000.0;
  for(i = 0; i < cfg->calendar.n_closed; i++) {
    const struct cfg_closed *c = &cfg->calendar.closed[i];
    double a = (double)c->from_ms, b = (double)c->to_ms;
    if(b <= now)
      continue;
    if(a > t) /* (a part running out as the plant closes is needed again when it opens) */
      break;
    t += b - (a > now ? a : now);
  }
  return (t - now) / 86400000.0;
}

/* Day `ms` (UTC) as "YYYY-MM-DD" into out (11 bytes). */
static void fmt_day(int64_t ms, char out[11])
{
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  if(!gmtime_r(&t, &tm) || strftime(out, 11, "%Y-%m-%d", &tm) != 10)
    (void)rs_strlcpy(out, "?", 11);
}

void cfg_closed_days(const struct cfg_closed *c, char from[11], char to[11])
{
  fmt_day(c->from_ms, from);
  fmt_day(c->to_ms - 86400000, to);
}

/* (the walk of gateway/reading.c's plant calendar: config.h) */
double cfg_calendar_days_week(const struct cfg *cfg, const double f[7], int64_t now_ms,
                              double days)
{
  double work;
  int64_t t = now_ms;
  size_t i;
  if(!(days > 0) || isinf(days) || days > 1e6) /* (a million days: no shutdown matters) */
    return cfg_calendar_days(cfg, now_ms, days);
  work = predict_work_days(f, now_ms, now_ms + (int64_t)llround(days * 86400000.0));
  for(i = 0; i < cfg->calendar.n_closed; i++) {
    const struct cfg_closed *c = &cfg->calendar.closed[i];
    if(c->to_ms <= t)
      continue;
    if(c->from_ms > t) {
      double w = predict_work_days(f, t, c->from_ms);
      if(w > work)
        break;
      work -= w;
    }
    t = c->to_ms;
  }
  return (double)(t - now_ms) / 86400000.0 + predict_calendar_days(f, t, work);
}
