/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reading: live state per point and the deadband/heartbeat filter before the
 * store (see reading.h).
 */
#include "gateway/reading.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config/rs_util.h"
#include "gateway/log.h"

struct entry {
  char *key; /* "device/point" */
  struct live_point live;
};

struct reading_path {
  struct store *st;
  const struct cfg *cfg;
  struct entry **slots; /* open addressing, size a power of two */
  size_t cap;
  size_t n;
  uint64_t submitted, stored, store_errors;
};

/* FNV-1a over a NUL-terminated string. */
static uint64_t hash_str(const char *s)
{
  uint64_t h = 1469598103934665603ull;
  for(; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ull;
  }
  return h;
}

/* Index of key's slot: the entry holding it, or the empty slot where it goes. */
static size_t find_slot(struct entry **slots, size_t cap, const char *key)
{
  size_t i = (size_t)hash_str(key) & (cap - 1);
  while(slots[i] && strcmp(slots[i]->key, key))
    i = (i + 1) & (cap - 1);
  return i;
}

/* Double the table (or create it). Aborts on allocation failure like rs_x*. */
static void grow(struct reading_path *rp)
{
  size_t ncap = rp->cap ? rp->cap * 2 : 64;
  struct entry **ns = rs_xcalloc(ncap, sizeof(*ns));
  size_t i;
  for(i = 0; i < rp->cap; i++) {
    if(rp->slots[i])
      ns[find_slot(ns, ncap, rp->slots[i]->key)] = rp->slots[i];
  }
  FREE_NULL(rp->slots);
  rp->slots = ns;
  rp->cap = ncap;
}

static void make_key(char *buf, size_t size, const char *device, const char *point)
{
  /* ids are at most CFG_ID_MAX: a truncated key is impossible with valid ids */
  (void)rs_snprintf(buf, size, "%s/%s", device, point);
}

static struct entry *lookup(const struct reading_path *rp, const char *device, const char *point)
{
  char key[2 * CFG_ID_MAX + 2];
  size_t i;
  if(!rp->cap)
    return NULL;
  make_key(key, sizeof(key), device, point);
  i = find_slot(rp->slots, rp->cap, key);
  return rp->slots[i];
}

/* The entry of device/point, created (and warm-started from the store) if new. */
static struct entry *get_or_add(struct reading_path *rp, const char *device, const char *point)
{
  char key[2 * CFG_ID_MAX + 2];
  struct entry *e;
  size_t i;
  if((rp->n + 1) * 10 >= rp->cap * 7)
    grow(rp);
  make_key(key, sizeof(key), device, point);
  i = find_slot(rp->slots, rp->cap, key);
  if(rp->slots[i])
    return rp->slots[i];
  e = rs_xcalloc(1, sizeof(*e));
  e->key = rs_xstrdup(key);
  e->live.last_error = READING_OK;
  if(rp->st) {
    int64_t t;
    double v;
    if(store_last_reading(rp->st, device, point, &t, &v) == RS_OK) {
      e->live.has_stored = true;
      e->live.stored_value = v;
      e->live.stored_ms = t;
      e->live.has_value = true;
      e->live.value = v;
      e->live.value_ms = t;
    }
  }
  rp->slots[i] = e;
  rp->n++;
  return e;
}

struct reading_path *reading_path_new(struct store *st, const struct cfg *cfg)
{
  struct reading_path *rp = calloc(1, sizeof(*rp));
  if(!rp)
    return NULL;
  rp->st = st;
  rp->cfg = cfg;
  return rp;
}

void reading_path_free(struct reading_path *rp)
{
  size_t i;
  if(!rp)
    return;
  for(i = 0; i < rp->cap; i++) {
    if(rp->slots[i]) {
      FREE_NULL(rp->slots[i]->key);
      FREE_NULL(rp->slots[i]);
    }
  }
  FREE_NULL(rp->slots);
  free(rp);
}

void reading_path_set_config(struct reading_path *rp, const struct cfg *cfg)
{
  rp->cfg = cfg;
}

/*
 * The absolute deadband of device/point under the current config: the
 * storage.deadband fraction of the range of the first level or usage
 * consumable fed by the point; 0 (store every change) when there is none.
 */
static double point_band(const struct cfg *cfg, const char *device, const char *point)
{
  const struct cfg_device *d;
  size_t i;
  if(!cfg)
    return 0;
  d = cfg_find_device(cfg, device);
  if(!d)
    return 0;
  for(i = 0; i < d->n_consumables; i++) {
    const struct cfg_consumable *c = &d->consumables[i];
    if(!c->point || strcmp(c->point->id, point))
      continue;
    if(c->model == CFG_MODEL_LEVEL)
      return cfg->storage.deadband * fabs(c->empty - c->full);
    if(c->model == CFG_MODEL_USAGE)
      return cfg->storage.deadband * fabs(c->life);
  }
  return 0;
}

/* Whether value v at t_ms must be stored given what was stored last. */
static bool passes_filter(const struct reading_path *rp, const struct live_point *lp,
                          const struct reading *r)
{
  double band;
  int64_t heartbeat = rp->cfg ? rp->cfg->storage.heartbeat_ms : 0;
  if(!lp->has_stored)
    return true;
  if(heartbeat > 0 && r->wall_ms - lp->stored_ms >= heartbeat)
    return true;
  band = point_band(rp->cfg, r->device, r->point);
  if(band > 0)
    return fabs(r->value - lp->stored_value) >= band;
  return r->value != lp->stored_value;
}

enum rs_err reading_path_submit(struct reading_path *rp, const struct reading *r)
{
  struct entry *e = get_or_add(rp, r->device, r->point);
  struct live_point *lp = &e->live;
  enum rs_err rc = RS_OK;

  rp->submitted++;
  lp->n_readings++;
  lp->attempt_ms = r->wall_ms;
  lp->last_error = r->error;
  if(r->error != READING_OK) {
    lp->n_errors++;
    return RS_OK;
  }
  if(r->is_bool && r->value != 0 && !(lp->has_value && lp->value != 0))
    lp->pressed = lp->has_value; /* an edge needs a known "off" before it */
  lp->has_value = true;
  lp->is_bool = r->is_bool;
  lp->value = r->value;
  lp->value_ms = r->wall_ms;

  if(!passes_filter(rp, lp, r))
    return RS_OK;
  if(rp->st) {
    rc = store_put_reading(rp->st, r->device, r->point, r->wall_ms, r->value);
    if(rc) {
      rp->store_errors++;
      log_err("store: cannot record %s/%s: %s", r->device, r->point, store_errmsg(rp->st));
      return rc;
    }
  }
  lp->has_stored = true;
  lp->stored_value = r->value;
  lp->stored_ms = r->wall_ms;
  lp->n_stored++;
  rp->stored++;
  return RS_OK;
}

const struct live_point *reading_path_live(const struct reading_path *rp, const char *device,
                                           const char *point)
{
  const struct entry *e = lookup(rp, device, point);
  return e ? &e->live : NULL;
}

void reading_path_counts(const struct reading_path *rp, uint64_t *submitted, uint64_t *stored,
                         uint64_t *store_errors)
{
  if(submitted)
    *submitted = rp->submitted;
  if(stored)
    *stored = rp->stored;
  if(store_errors)
    *store_errors = rp->store_errors;
}

/* Remaining fraction 0..1 of c given its point's value v; NAN when unknown. */
static double remaining(const struct cfg_consumable *c, double v)
{
  double f;
  switch(c->model) {
  case CFG_MODEL_LEVEL:
    if(c->full == c->empty)
      return NAN;
    f = (v - c->empty) / (c->full - c->empty);
    break;
  case CFG_MODEL_USAGE:
    if(c->life <= 0)
      return NAN;
    f = 1.0 - (v - c->start) / c->life;
    break;
  default:
    return NAN;
  }
  if(f < 0)
    f = 0;
  if(f > 1)
    f = 1;
  return f;
}

void reading_path_snapshot(struct reading_path *rp, const struct cfg_consumable *c, int64_t now_ms,
                           bool open_line, struct rule_snapshot *out)
{
  struct entry *e = NULL;
  const struct live_point *lp = NULL;
  size_t i;

  memset(out, 0, sizeof(*out));
  out->consumable = c;
  for(i = 0; i < EXPR_VAR_COUNT; i++)
    out->vars[i] = NAN;
  if(c->device && c->point) {
    e = lookup(rp, c->device->id, c->point->id);
    if(e)
      lp = &e->live;
  }
  /* prediction is not wired in yet: not depleting as far as we know */
  out->vars[EXPR_VAR_DAYS_LEFT] = INFINITY;
  out->vars[EXPR_VAR_COVER_DAYS] = INFINITY;
  out->vars[EXPR_VAR_RATE_PER_DAY] = 0;
  out->vars[EXPR_VAR_CONFIDENCE] = 0;
  out->vars[EXPR_VAR_HOURS_SINCE_REPLACEMENT] = INFINITY;
  out->vars[EXPR_VAR_SPARES] = (double)c->spares;
  out->vars[EXPR_VAR_LEAD_TIME_DAYS] = c->item ? (double)c->item->lead_time_ms / 86400000.0 : 0;
  out->vars[EXPR_VAR_OPEN_ORDERS] = open_line ? 1 : 0;
  out->empty_at_ms = INT64_MAX;
  out->open_line = open_line;

  if(lp && lp->has_value) {
    double f = remaining(c, lp->value);
    out->vars[EXPR_VAR_VALUE] = lp->value;
    if(!isnan(f))
      out->vars[EXPR_VAR_LEVEL_PCT] = f * 100.0;
  }
  out->stale = !lp || !lp->has_value || now_ms - lp->value_ms > c->stale_after_ms;
  if(e && c->model == CFG_MODEL_BUTTON) {
    out->button_pressed = e->live.pressed;
    e->live.pressed = false;
  }
}
