/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reading: live state per point and the deadband/heartbeat filter before the
 * store (see reading.h).
 */
#include "gateway/reading.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/rs_util.h"
#include "base/log.h"

/* Prediction state of one consumable (entries keyed "#device/id"). */
struct cons_state {
  struct predictor pred; /* its params are the consumable's (pred_ok) */
  bool pred_ok;        /* params valid: pred is usable */
  bool loaded;         /* store state read (or seeded) */
  bool dirty;          /* fed since the last save */
  bool queued;         /* in rp->due: saved at the next reading_path_commit() */
  uint8_t hold;        /* enum store_hold, from the store row, re-read with spares (SPEC 7
                          holds); beside the flags (no padding) */
  uint8_t cal_iv;      /* bit k: the predictor's k-th newest replacement interval was taken
                          in calendar days, its machine's week not known yet (not saved: a
                          restart forgets it) */
  /* The two generations in 32 bits (8 bytes less: a consumable's block, its
     entry and key, stays under 688 B, one malloc chunk size smaller): a
     stale one passes for current only after exactly 2^32 changes. */
  uint32_t spares_gen;  /* low 32 bits of store_spares_generation() when spares was read;
                           UINT32_MAX: never */
  uint32_t checked_gen; /* the reading path's cfg_gen when the parameters were last checked */
  int64_t fed_ms;      /* wall ms of the newest reading fed; INT64_MIN: none */
  int64_t saved_ms;    /* fed_ms at the last save; INT64_MIN: never */
  int64_t spares;      /* cache of the store's count (the config's without a store) */
  int64_t replaced_ms; /* last replacement (wall ms); INT64_MIN: none known */
  /* from the store row, re-read with spares, like hold */
  int64_t held_until_ms;
  int64_t redraft_ms;
  int64_t lead_ms; /* the shop's refreshed lead time of the SKU; -1: the catalog's */
  int64_t replenish_ms; /* how long its lines took from drafted to delivered; -1: none yet */
};

/*
 * One allocation each (RSS, docs/BENCHMARKS.md): a point entry is the entry,
 * its live state and its key; a consumable entry is the entry (without the
 * live state), its cons_state and its key.
 */
struct entry {
  /* consumable entries only: in the entry's block (NULL: a point entry); the
     key is not stored by pointer: entry_key() finds it after the block's state */
  struct cons_state *cs;
  /* point entries only: their live state (one element) */
  struct live_point live[];
};

/*
 * The entry's key, "device/point" or "#device/consumable" for a consumable:
 * the NUL-terminated string after its live state or cons_state in its block
 * (no pointer and no length kept: 16 B less a block, one malloc size class
 * smaller for both kinds; docs/BENCHMARKS.md, where the RSS goes).
 */
static inline const char *entry_key(const struct entry *e)
{
  return e->cs ? (const char *)(e->cs + 1) : (const char *)(e->live + 1);
}

/* A value waiting for the loop turn's store transaction (reading_path_commit). */
struct pending {
  struct entry *e;
  int64_t t_ms;
  double value;
};

struct reading_path {
  struct store *st;
  const struct cfg *cfg;
  struct entry **slots; /* open addressing, size a power of two */
  size_t cap;
  size_t n;
  uint64_t submitted, stored, store_errors;
  int64_t synced_ms; /* evaluation time of the last look for other writers; INT64_MIN: none */
  /*
   * The config resolved to indexes (reading.device_ref/point_ref), so a
   * reading costs no lookup by id: point g = dev_off[device] + point index;
   * pt_entry[g] its live state (NULL until its first reading), pt_band[g] its
   * absolute deadband, cons_of[cons_off[g] .. cons_off[g + 1]) the
   * consumables it feeds.
   */
  size_t *dev_off; /* n_devices + 1 */
  struct entry **pt_entry;
  double *pt_band;
  size_t *cons_off; /* n_points + 1 */
  const struct cfg_consumable **cons_of;
  struct entry **cons_ent; /* beside cons_of: each one's state entry (NULL until first use) */
  struct cons_state **cons_cs; /* beside cons_of: cons_ent[i]->cs, for prefetch_point() */
  /* the predictors' parameters, one block per distinct set (they point into it) */
  struct predict_params_set params;
  bool migrated_said; /* the one log line about older saved states being migrated */
  size_t n_pts;
  uint32_t cfg_gen; /* bumped by every reading_path_set_config() (wraps) */
  /* batching (reading_path_set_batching): values to store at the next commit */
  bool batching;
  struct pending *pend;
  size_t n_pend, cap_pend;
  struct entry **due; /* consumables whose state is due, saved with the next commit */
  size_t n_due, cap_due;
  int64_t approval_wait_ms; /* STORE_META_APPROVAL_WAIT as last read; -1: none yet */
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
  while(slots[i] && strcmp(entry_key(slots[i]), key))
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
      ns[find_slot(ns, ncap, entry_key(rp->slots[i]))] = rp->slots[i];
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
  e = rs_xcalloc(1, sizeof(*e) + sizeof(e->live[0]) + strlen(key) + 1);
  memcpy(e->live + 1, key, strlen(key) + 1);
  e->live->last_error = READING_OK;
  if(rp->st) {
    int64_t t;
    double v;
    (void)store_merge_readings_over(rp->st, READING_LOOKUP_RECENT_MAX);
    if(store_last_reading(rp->st, device, point, &t, &v) == RS_OK) {
      e->live->has_stored = true;
      e->live->stored_value = v;
      e->live->stored_ms = t;
      e->live->has_value = true;
      e->live->value = v;
      e->live->value_ms = t;
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
  rp->synced_ms = INT64_MIN;
  rp->approval_wait_ms = -1;
  reading_path_set_config(rp, cfg);
  return rp;
}

/* Drop the index of the config (reading_path_set_config builds it). */
static void unindex(struct reading_path *rp)
{
  FREE_NULL(rp->dev_off);
  FREE_NULL(rp->pt_entry);
  FREE_NULL(rp->pt_band);
  FREE_NULL(rp->cons_off);
  FREE_NULL(rp->cons_of);
  FREE_NULL(rp->cons_ent);
  FREE_NULL(rp->cons_cs);
  rp->n_pts = 0;
}

static enum rs_err reading_path_flush(struct reading_path *rp);

void reading_path_free(struct reading_path *rp)
{
  size_t i;
  if(!rp)
    return;
  (void)reading_path_flush(rp);
  (void)reading_path_commit(rp);
  FREE_NULL(rp->pend);
  FREE_NULL(rp->due);
  unindex(rp);
  for(i = 0; i < rp->cap; i++) {
    if(rp->slots[i]) {
      FREE_NULL(rp->slots[i]); /* its key and state are in its block */
    }
  }
  FREE_NULL(rp->slots);
  predict_params_set_free(&rp->params); /* after the last predictor's use */
  free(rp);
}

static double point_band(const struct cfg *cfg, const char *device, const char *point);

/*
 * Resolve cfg to indexes (see struct reading_path). Live state stays keyed by
 * id in the hash, so it survives a reload; the index only caches pointers to
 * it, found again lazily at each point's first reading under the new config.
 */
void reading_path_set_config(struct reading_path *rp, const struct cfg *cfg)
{
  size_t i, j, k, g = 0, n_cons = 0;
  unindex(rp);
  rp->cfg = cfg;
  rp->cfg_gen++;
  if(!cfg)
    return;
  rp->dev_off = rs_xcalloc(cfg->n_devices + 1, sizeof(*rp->dev_off));
  for(i = 0; i < cfg->n_devices; i++) {
    rp->dev_off[i] = g;
    g += cfg->devices[i].n_points;
    n_cons += cfg->devices[i].n_consumables;
  }
  rp->dev_off[cfg->n_devices] = g;
  rp->n_pts = g;
  rp->pt_entry = rs_xcalloc(g + 1, sizeof(*rp->pt_entry));
  rp->pt_band = rs_xcalloc(g + 1, sizeof(*rp->pt_band));
  rp->cons_off = rs_xcalloc(g + 1, sizeof(*rp->cons_off));
  rp->cons_of = rs_xcalloc(n_cons + 1, sizeof(*rp->cons_of));
  rp->cons_ent = rs_xcalloc(n_cons + 1, sizeof(*rp->cons_ent));
  rp->cons_cs = rs_xcalloc(n_cons + 1, sizeof(*rp->cons_cs));
  k = 0;
  for(i = 0; i < cfg->n_devices; i++) {
    const struct cfg_device *d = &cfg->devices[i];
    for(j = 0; j < d->n_points; j++) {
      size_t m;
      g = rp->dev_off[i] + j;
      rp->cons_off[g] = k;
      rp->pt_band[g] = point_band(cfg, d->id, d->points[j].id);
      for(m = 0; m < d->n_consumables; m++) {
        if(d->consumables[m].point == &d->points[j])
          rp->cons_of[k++] = &d->consumables[m];
      }
    }
  }
  rp->cons_off[rp->n_pts] = k;
}

/*
 * The index of r's point (see struct reading_path), or SIZE_MAX when r
 * carries no refs or they do not match the current config (a reading from
 * before a reload): then it is looked up by id. Two pointer compares (the
 * scheduler passes its own config's ids) or two short string compares, O(1).
 */
static size_t point_index(const struct reading_path *rp, const struct reading *r)
{
  const struct cfg_device *d;
  size_t p;
  if(!rp->cfg || !r->device_ref || !r->point_ref || r->device_ref > rp->cfg->n_devices)
    return SIZE_MAX;
  d = &rp->cfg->devices[r->device_ref - 1];
  p = r->point_ref - 1;
  if(p >= d->n_points || (d->points[p].id != r->point && strcmp(d->points[p].id, r->point)) ||
     (d->id != r->device && strcmp(d->id, r->device)))
    return SIZE_MAX;
  return rp->dev_off[r->device_ref - 1] + p;
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
                          const struct reading *r, size_t g)
{
  double band;
  int64_t heartbeat = rp->cfg ? rp->cfg->storage.heartbeat_ms : 0;
  if(!lp->has_stored)
    return true;
  if(heartbeat > 0 && r->wall_ms - lp->stored_ms >= heartbeat)
    return true;
  band = g != SIZE_MAX ? rp->pt_band[g] : point_band(rp->cfg, r->device, r->point);
  if(band > 0)
    return fabs(r->value - lp->stored_value) >= band;
  return r->value != lp->stored_value;
}

/* ---- prediction per consumable --------------------------------------- */

/* The entry of consumable c ("#" + full id), created empty if new. */
static struct entry *cons_entry(struct reading_path *rp, const struct cfg_consumable *c)
{
  char key[2 * CFG_ID_MAX + 3];
  struct entry *e;
  size_t i;
  if((rp->n + 1) * 10 >= rp->cap * 7)
    grow(rp);
  (void)rs_snprintf(key, sizeof(key), "#%s", c->full_id);
  i = find_slot(rp->slots, rp->cap, key);
  if(rp->slots[i])
    return rp->slots[i];
  /* the cons_state after the entry (both 8-byte aligned), then the key */
  e = rs_xcalloc(1, sizeof(*e) + sizeof(*e->cs) + strlen(key) + 1);
  e->cs = (struct cons_state *)(void *)((char *)e + sizeof(*e));
  memcpy(e->cs + 1, key, strlen(key) + 1);
  e->cs->fed_ms = INT64_MIN;
  e->cs->saved_ms = INT64_MIN;
  e->cs->replaced_ms = INT64_MIN;
  e->cs->spares = c->spares;
  e->cs->spares_gen = UINT32_MAX;
  e->cs->lead_ms = -1;
  e->cs->replenish_ms = -1;
  rp->slots[i] = e;
  rp->n++;
  return e;
}

/* Hex of a predictor blob inside the JSON we keep in the store. Caller frees. */
static char *state_json(const struct cons_state *cs)
{
  uint8_t blob[PREDICT_STATE_MAX];
  char hex[2 * PREDICT_STATE_MAX + 1];
  size_t len = 0;
  struct rs_buf b = {0};
  if(!cs->pred_ok || predict_save(&cs->pred, blob, sizeof(blob), &len) != PREDICT_OK)
    return NULL;
  codec_hex(blob, len, hex);
  rs_buf_printf(&b, "{\"v\":1,\"fed_ms\":%" PRId64 ",\"predictor\":\"%s\"}", cs->fed_ms, hex);
  if(b.oom) {
    rs_buf_free(&b);
    return NULL;
  }
  return b.data;
}

/*
 * Read state_json() text back: the blob into buf (capacity cap, *len) and
 * fed_ms. Returns 0, or -1 for anything else (then nothing is restored).
 */
static int parse_state_json(const char *js, uint8_t *buf, size_t cap, size_t *len, int64_t *fed_ms)
{
  const char *p = strstr(js, "\"fed_ms\":");
  const char *h;
  char num[32];
  size_t n = 0;
  long got;
  if(strncmp(js, "{\"v\":1,", 7) || !p)
    return -1;
  p += 9;
  while(n + 1 < sizeof(num) && (p[n] == '-' || (p[n] >= '0' && p[n] <= '9'))) {
    num[n] = p[n];
    n++;
  }
  num[n] = '\0';
  if(rs_parse_i64(num, false, INT64_MIN, INT64_MAX, fed_ms))
    return -1;
  h = strstr(js, "\"predictor\":\"");
  if(!h)
    return -1;
  h += 13;
  got = codec_unhex(h, '"', buf, cap);
  if(got < 0)
    return -1;
  *len = (size_t)got;
  return 0;
}

/*
 * Store a replacement of c seen at at_ms (remaining fractions before and
 * after), taking one spare, and save the predictor state, in one store
 * group. Returns RS_OK or the store's error (rolled back, logged).
 */
static enum rs_err record_replacement(struct reading_path *rp, const struct cfg_consumable *c,
                                      struct cons_state *cs, int64_t at_ms, double before,
                                      double after, int64_t now_ms, bool marked);

/*
 * Write cs into c's store row (the rest of the row kept) without marking it
 * saved (the caller does, once the write is committed). RS_OK without a store.
 */
static enum rs_err write_state(struct reading_path *rp, const char *id, struct cons_state *cs,
                               int64_t now_ms)
{
  struct store_consumable row;
  enum rs_err rc;
  char *js;
  if(!rp->st || !cs->pred_ok)
    return RS_OK;
  memset(&row, 0, sizeof(row));
  rc = store_get_consumable_state(rp->st, id, &row);
  if(rc == RS_ERR_NOT_FOUND) {
    row.id = rs_xstrdup(id);
    row.spares = cs->spares;
    rc = RS_OK;
  }
  if(rc) {
    log_rl(LOG_LVL_ERR, "store-state", "store: cannot read the state of %s: %s", id,
           store_errmsg(rp->st));
    return rc;
  }
  js = state_json(cs);
  FREE_NULL(row.predictor_json);
  row.predictor_json = js;
  row.updated_ms = now_ms;
  rc = store_put_consumable_state(rp->st, &row);
  if(rc)
    log_rl(LOG_LVL_ERR, "store-state", "store: cannot save the prediction state of %s: %s", id,
           store_errmsg(rp->st));
  store_consumable_free(&row);
  return rc;
}

/* write_state() and, on success, mark cs saved. */
static enum rs_err save_state(struct reading_path *rp, const char *id, struct cons_state *cs,
                              int64_t now_ms)
{
  enum rs_err rc = write_state(rp, id, cs, now_ms);
  if(!rc && rp->st && cs->pred_ok) {
    cs->saved_ms = cs->fed_ms;
    cs->dirty = false;
  }
  return rc;
}

/*
 * Note in cs->cal_iv the interval the predictor just recorded at a replacement (it had an
 * earlier one): in calendar days when its weekly clock was not known (predict.c's
 * note_replacement() measures it so), for part_life() to leave out once the machine shows
 * idle days.
 */
static void note_interval(struct cons_state *cs, bool had_part)
{
  double f[7];
  if(!had_part)
    return;
  cs->cal_iv = (uint8_t)((unsigned)cs->cal_iv << 1 | (predict_work_clock(&cs->pred, f) ? 0u : 1u));
}

/* Feed one value of c's point to its predictor; records a detected replacement. */
static void feed(struct reading_path *rp, const struct cfg_consumable *c, struct cons_state *cs,
                 int64_t t_ms, double v, bool record)
{
  struct predict_event ev;
  if(!cs->pred_ok)
    return;
  bool had_part = cs->pred.replaced_ms != INT64_MIN;
  if(predict_add(&cs->pred, t_ms, v, &ev)) {
    note_interval(cs, had_part);
    if(record && ev.at_ms > cs->replaced_ms)
      (void)record_replacement(rp, c, cs, ev.at_ms, ev.remaining_before, ev.remaining_after, t_ms,
                               false);
  }
  if(cs->fed_ms == INT64_MIN || t_ms > cs->fed_ms)
    cs->fed_ms = t_ms;
  cs->dirty = true;
}

struct catchup {
  struct reading_path *rp;
  const struct cfg_consumable *c;
  struct cons_state *cs;
};

static int catchup_cb(void *ud, const char *device, const char *point, int64_t time_ms,
                      double value)
{
  struct catchup *cu = ud;
  (void)device;
  (void)point;
  feed(cu->rp, cu->c, cu->cs, time_ms, value, true);
  return 0;
}

/*
 * Make cs ready for c under the current config: parameters (re-read when
 * they changed after a reload), and at first use the store's row (spares,
 * last replacement, saved predictor, then the stored readings it has not
 * seen). Without a store row one is created with the config's spares.
 */
static void cons_ready(struct reading_path *rp, const struct cfg_consumable *c,
                       struct cons_state *cs)
{
  struct predict_params pp;
  const struct predict_params *params = NULL;
  bool ok;

  if(cs->loaded && cs->checked_gen == rp->cfg_gen)
    return; /* checked under this config already: nothing to compare per reading */
  /* interned: equal parameters are the same block, shared by the predictors */
  ok = predict_params_from_cfg(c, &pp) == PREDICT_OK &&
       (params = predict_params_intern(&rp->params, &pp)) != NULL;
  cs->checked_gen = rp->cfg_gen;
  if(cs->loaded) {
    uint8_t blob[PREDICT_STATE_MAX];
    size_t len = 0;
    if(ok == cs->pred_ok && (!ok || params == cs->pred.params))
      return;
    /* a reload changed the model's parameters: keep history where it fits */
    if(cs->pred_ok && ok && predict_save(&cs->pred, blob, sizeof(blob), &len) == PREDICT_OK &&
       predict_load(&cs->pred, params, blob, len) == PREDICT_OK) {
      cs->dirty = true;
      return;
    }
    cs->pred_ok = ok && predict_init(&cs->pred, params) == PREDICT_OK;
    cs->fed_ms = INT64_MIN;
    cs->dirty = true;
    return;
  }
  cs->loaded = true;
  cs->pred_ok = ok && predict_init(&cs->pred, params) == PREDICT_OK;
  if(!ok)
    log_warn("consumable %s: no prediction (its model's parameters are out of range)", c->full_id);
  cs->spares = c->spares;
  cs->spares_gen = UINT32_MAX;
  if(rp->st) {
    struct store_consumable row;
    enum rs_err rc;
    int64_t from = 0;
    memset(&row, 0, sizeof(row));
    rc = store_get_consumable_state(rp->st, c->full_id, &row);
    if(rc == RS_OK) {
      cs->spares = row.spares;
      if(row.last_replacement_ms > 0)
        cs->replaced_ms = row.last_replacement_ms;
      if(row.predictor_json && cs->pred_ok) {
        uint8_t blob[PREDICT_STATE_MAX];
        size_t len = 0;
        int64_t fed = INT64_MIN;
        int prc = -1;
        if(!parse_state_json(row.predictor_json, blob, sizeof(blob), &len, &fed))
          prc = predict_load(&cs->pred, params, blob, len);
        if(prc == PREDICT_OK) {
          int ver = predict_blob_version(blob, len);
          /* the stored readings after the state's own newest one (every reading that
             changed the state set its last_ms; fed_ms is outside the blob's checksum,
             and a corrupt one must not feed a reading twice nor overflow) */
          if(cs->pred.last_ms != INT64_MIN && cs->pred.last_ms > fed)
            fed = cs->pred.last_ms;
          cs->fed_ms = cs->saved_ms = fed;
          from = fed < INT64_MAX ? fed + 1 : INT64_MAX;
          if(ver < PREDICT_STATE_VERSION && !rp->migrated_said) {
            /* once, not per consumable: each is saved in the new format with its next change */
            rp->migrated_said = true;
            log_notice("saved prediction states of version %d are migrated to version %d as they "
                       "load (the first: consumable %s)",
                       ver, PREDICT_STATE_VERSION, c->full_id);
          }
        }
        else
          log_warn("consumable %s: saved prediction state not usable (%s); rebuilding it from the "
                   "stored readings",
                   c->full_id, prc < 0 ? "malformed" : predict_strerror(prc));
      }
    }
    else if(rc == RS_ERR_NOT_FOUND) {
      row.id = rs_xstrdup(c->full_id);
      row.spares = c->spares;
      if(store_put_consumable_state(rp->st, &row))
        log_rl(LOG_LVL_ERR, "store-state", "store: cannot create the state of %s: %s", c->full_id,
               store_errmsg(rp->st));
    }
    else
      log_rl(LOG_LVL_ERR, "store-state", "store: cannot read the state of %s: %s", c->full_id,
             store_errmsg(rp->st));
    store_consumable_free(&row);
    if(cs->pred_ok && c->device && c->point && c->model != CFG_MODEL_BUTTON) {
      struct catchup cu = {rp, c, cs};
      (void)store_merge_readings_over(rp->st, READING_LOOKUP_RECENT_MAX);
      if(store_readings_range(rp->st, c->device->id, c->point->id, from, INT64_MAX, catchup_cb,
                              &cu))
        log_rl(LOG_LVL_ERR, "store-history", "store: cannot read the history of %s: %s", c->full_id,
               store_errmsg(rp->st));
    }
  }
}

/* The ready prediction state of c. */
static struct cons_state *cons_get(struct reading_path *rp, const struct cfg_consumable *c)
{
  struct entry *e = cons_entry(rp, c);
  cons_ready(rp, c, e->cs);
  return e->cs;
}

static enum rs_err record_replacement(struct reading_path *rp, const struct cfg_consumable *c,
                                      struct cons_state *cs, int64_t at_ms, double before,
                                      double after, int64_t now_ms, bool marked)
{
  enum rs_err rc = RS_OK;
  int64_t spares = cs->spares > 0 ? cs->spares - 1 : 0;
  enum store_fit how = cs->spares > 0 ? STORE_FIT_SHELF : STORE_FIT_UNKNOWN;

  if(rp->st) {
    rc = store_begin(rp->st);
    if(rc)
      goto out;
    rc = store_record_replacement(rp->st, c->full_id, at_ms, before * 100.0, after * 100.0, NULL);
    if(!rc)
      rc = store_fit_part(rp->st, c->full_id, now_ms, &how, &spares);
    if(!rc)
      rc = save_state(rp, c->full_id, cs, now_ms);
    if(rc) {
      (void)store_rollback(rp->st);
      goto out;
    }
    rc = store_commit(rp->st);
  }
out:
  if(rc) {
    log_err("consumable %s: replacement not recorded: %s", c->full_id, store_errmsg(rp->st));
    return rc;
  }
  cs->spares = spares;
  cs->replaced_ms = at_ms;
  log_notice("consumable %s: replacement %s (remaining %.0f%% before, %.0f%% after; %" PRId64
             " spare%s left)",
             c->full_id, marked ? "marked" : "detected", before * 100.0, after * 100.0, spares,
             spares == 1 ? "" : "s");
  if(rp->st && how == STORE_FIT_LINE)
    log_notice("consumable %s: fitted with no spare on the books: one unit of its open order "
               "line counts as received (it arrived before the shop said so)",
               c->full_id);
  else if(rp->st && how == STORE_FIT_UNKNOWN)
    log_warn("consumable %s: unknown_part_fitted: a part was fitted with no spare on the books "
             "and no open order line; check the stock (restockctl consumables set-spares)",
             c->full_id);
  return RS_OK;
}

/*
 * Feed reading r to consumable c (entry e); a state that is due is saved now,
 * or, when batching, with the next reading_path_commit() (one transaction).
 */
static void predict_one(struct reading_path *rp, const struct cfg_consumable *c, struct entry *e,
                        struct cons_state *cs, const struct reading *r)
{
  feed(rp, c, cs, r->wall_ms, r->value, true);
  if(!cs->dirty || cs->queued ||
     (cs->saved_ms != INT64_MIN && r->wall_ms - cs->saved_ms < READING_PERSIST_INTERVAL_MS))
    return;
  if(!rp->batching || !rp->st) {
    (void)save_state(rp, c->full_id, cs, r->wall_ms);
    return;
  }
  if(rp->n_due == rp->cap_due) {
    rp->cap_due = rp->cap_due ? 2 * rp->cap_due : 64;
    rp->due = rs_xrealloc(rp->due, rp->cap_due * sizeof(*rp->due));
  }
  rp->due[rp->n_due++] = e;
  cs->queued = true;
}

static void predict_reading(struct reading_path *rp, const struct reading *r, size_t g)
{
  const struct cfg_device *d;
  size_t i;
  if(!rp->cfg)
    return;
  if(g != SIZE_MAX) {
    for(i = rp->cons_off[g]; i < rp->cons_off[g + 1]; i++) {
      /* its state through cons_cs (prefetched), not through the entry */
      struct entry *e = rp->cons_ent[i];
      struct cons_state *cs = rp->cons_cs[i];
      if(!e) {
        e = rp->cons_ent[i] = cons_entry(rp, rp->cons_of[i]);
        cs = rp->cons_cs[i] = e->cs;
      }
      cons_ready(rp, rp->cons_of[i], cs);
      predict_one(rp, rp->cons_of[i], e, cs, r);
    }
    return;
  }
  d = cfg_find_device(rp->cfg, r->device);
  if(!d)
    return;
  for(i = 0; i < d->n_consumables; i++) {
    const struct cfg_consumable *c = &d->consumables[i];
    struct entry *e;
    if(!c->point || strcmp(c->point->id, r->point))
      continue;
    e = cons_entry(rp, c);
    cons_ready(rp, c, e->cs);
    predict_one(rp, c, e, e->cs, r);
  }
}

/*
 * Commit batched values, then save the predictor state of every consumable
 * that changed since its last save, in one transaction. Returns RS_OK or the
 * first store error (logged; the others are still tried).
 */
static enum rs_err reading_path_flush(struct reading_path *rp)
{
  enum rs_err first = reading_path_commit(rp), rc;
  /* one commit (and fsync) for all of them, not one each: 20 000 states at
     2 000 devices took restockd's stop past 2 s (bench/stop/run.sh) */
  bool group = rp->st && store_begin(rp->st) == RS_OK;
  size_t i;
  for(i = 0; i < rp->cap; i++) {
    struct entry *e = rp->slots[i];
    if(!e || !e->cs || !e->cs->dirty)
      continue;
    rc = save_state(rp, entry_key(e) + 1, e->cs, e->cs->fed_ms == INT64_MIN ? 0 : e->cs->fed_ms);
    if(rc && !first)
      first = rc;
  }
  if(group && (rc = store_commit(rp->st)) != RS_OK) {
    log_err("store: cannot save the prediction states: %s", store_errmsg(rp->st));
    if(!first)
      first = rc;
  }
  return first;
}

bool reading_path_predict(struct reading_path *rp, const struct cfg_consumable *c, int64_t now_ms,
                          struct prediction *out)
{
  struct cons_state *cs = cons_get(rp, c);
  predict_unknown(out);
  if(!cs->pred_ok || cs->fed_ms == INT64_MIN)
    return false;
  predict_eval(&cs->pred, now_ms, out);
  return !isnan(out->level_pct);
}

enum rs_err reading_path_mark_replaced(struct reading_path *rp, const struct cfg_consumable *c,
                                       int64_t now_ms)
{
  struct cons_state *cs = cons_get(rp, c);
  struct prediction pr;
  double before = NAN;
  struct predictor saved = cs->pred;
  enum rs_err rc;
  if(reading_path_predict(rp, c, now_ms, &pr))
    before = pr.level_pct / 100.0;
  if(cs->pred_ok) {
    bool had_part = cs->pred.replaced_ms != INT64_MIN;
    predict_mark_replaced(&cs->pred, now_ms);
    note_interval(cs, had_part);
  }
  cs->dirty = true;
  rc = record_replacement(rp, c, cs, now_ms, isnan(before) ? 0 : before, 1.0, now_ms, true);
  if(rc)
    cs->pred = saved;
  return rc;
}

void reading_path_set_batching(struct reading_path *rp, bool on)
{
  if(!on)
    (void)reading_path_commit(rp);
  rp->batching = on;
}

enum rs_err reading_path_commit(struct reading_path *rp)
{
  enum rs_err rc = RS_OK;
  size_t i;
  char dev[CFG_ID_MAX + 1];
  if(!rp->n_pend && !rp->n_due)
    return RS_OK;
  if(!rp->st) {
    rp->n_pend = rp->n_due = 0;
    return RS_OK;
  }
  /* one transaction for the turn: one WAL lock and one commit, not one per value */
  rc = store_begin_batch(rp->st);
  for(i = 0; !rc && i < rp->n_pend; i++) {
    const struct pending *pd = &rp->pend[i];
    const char *key = entry_key(pd->e), *slash = strchr(key, '/'); /* ids have no '/' */
    size_t dev_len = slash ? (size_t)(slash - key) : strlen(key);
    size_t n = dev_len < sizeof(dev) ? dev_len : sizeof(dev) - 1;
    memcpy(dev, key, n);
    dev[n] = '\0';
    rc = store_put_reading(rp->st, dev, slash ? slash + 1 : "", pd->t_ms, pd->value);
  }
  /* the predictor states that fell due since the last commit, in the same transaction */
  for(i = 0; !rc && i < rp->n_due; i++) {
    struct cons_state *cs = rp->due[i]->cs;
    if(cs->dirty)
      rc = write_state(rp, entry_key(rp->due[i]) + 1, cs, cs->fed_ms);
  }
  if(!rc)
    rc = store_commit(rp->st);
  else
    (void)store_rollback(rp->st);
  if(rc) {
    rp->store_errors += rp->n_pend;
    log_rl(LOG_LVL_ERR, "store-reading", "store: cannot record %zu readings: %s", rp->n_pend,
           store_errmsg(rp->st));
    /* not stored: each point stores its next value whatever the filter says */
    for(i = 0; i < rp->n_pend; i++)
      rp->pend[i].e->live->has_stored = false;
  }
  /* saved, or (failed) still dirty: queued again by its next reading */
  for(i = 0; i < rp->n_due; i++) {
    struct cons_state *cs = rp->due[i]->cs;
    cs->queued = false;
    if(!rc && cs->dirty && cs->pred_ok) {
      cs->saved_ms = cs->fed_ms;
      cs->dirty = false;
    }
  }
  rp->n_pend = rp->n_due = 0;
  return rc;
}

size_t reading_path_pending(const struct reading_path *rp)
{
  return rp->n_pend + rp->n_due;
}

enum rs_err reading_path_submit(struct reading_path *rp, const struct reading *r)
{
  return reading_path_submit_ex(rp, r, NULL);
}

/*
 * Ask the CPU for the cache lines at p .. p + len (a hint: never faults).
 * Four lines a step (up to three past the end: hints too, and the object
 * rarely starts on a line): the loop's own instructions were ~5 % of a
 * read's at 500 devices. Addresses as integers: no pointer past the object.
 */
static void prefetch_range(const void *p, size_t len)
{
  uintptr_t c = (uintptr_t)p;
  size_t off;
  for(off = 0; off < len; off += 256) {
    __builtin_prefetch((const void *)(c + off));
    __builtin_prefetch((const void *)(c + off + 64));
    __builtin_prefetch((const void *)(c + off + 128));
    __builtin_prefetch((const void *)(c + off + 192));
  }
}

/*
 * Point g of device dev (0-based) is being read: start loading the state of
 * the device's next point, which an adapter emits next, while this one is
 * worked on. With thousands of consumables their states (a predictor each)
 * are not in the CPU's near caches between two polls, and reading them one
 * after the other waited for memory about a hundred times per poll.
 */
static void prefetch_point(const struct reading_path *rp, size_t dev, size_t g)
{
  size_t i;
  if(++g >= rp->dev_off[dev + 1])
    return;
  /* its config (the scheduler reads its id; point_index() compares it) */
  __builtin_prefetch(&rp->cfg->devices[dev].points[g - rp->dev_off[dev]]);
  if(rp->pt_entry[g])
    prefetch_range(rp->pt_entry[g], sizeof(struct entry) + sizeof(struct live_point));
  for(i = rp->cons_off[g]; i < rp->cons_off[g + 1]; i++) {
    const struct cons_state *cs = rp->cons_cs[i];
    if(!cs)
      continue;
    prefetch_range(cs, sizeof(*cs));
  }
}

enum rs_err reading_path_submit_ex(struct reading_path *rp, const struct reading *r,
                                   bool *changed)
{
  size_t g = point_index(rp, r);
  struct entry *e;
  struct live_point *lp;
  enum rs_err rc = RS_OK;
  bool was_ok;

  if(g != SIZE_MAX) {
    prefetch_point(rp, r->device_ref - 1, g);
    e = rp->pt_entry[g];
    if(!e)
      e = rp->pt_entry[g] = get_or_add(rp, r->device, r->point);
  }
  else
    e = get_or_add(rp, r->device, r->point);
  lp = e->live;
  was_ok = lp->last_error == READING_OK;
  if(changed)
    *changed = false;
  rp->submitted++;
  lp->n_readings++;
  lp->last_error = r->error;
  if(r->error != READING_OK) {
    lp->n_errors++;
    return RS_OK;
  }
  /* what the rules read moved: a new value, a first one, or a point reading again */
  if(changed)
    *changed = !lp->has_value || lp->value != r->value || !was_ok;
  /* a rising edge needs a known "off" before it (any point type: a button
     may be a coil or a register) */
  if(r->value != 0 && lp->has_value && lp->value == 0)
    lp->pressed = true;
  lp->has_value = true;
  lp->is_bool = r->is_bool;
  lp->value = r->value;
  lp->value_ms = r->wall_ms;
  /* before the store: a first use catches up on stored history without it */
  predict_reading(rp, r, g);

  if(!passes_filter(rp, lp, r, g))
    return RS_OK;
  if(rp->st && rp->batching) {
    if(rp->n_pend == rp->cap_pend) {
      rp->cap_pend = rp->cap_pend ? 2 * rp->cap_pend : 64;
      rp->pend = rs_xrealloc(rp->pend, rp->cap_pend * sizeof(*rp->pend));
    }
    rp->pend[rp->n_pend++] = (struct pending){e, r->wall_ms, r->value};
  }
  else if(rp->st) {
    rc = store_put_reading(rp->st, r->device, r->point, r->wall_ms, r->value);
    if(rc) {
      rp->store_errors++;
      log_rl(LOG_LVL_ERR, "store-reading", "store: cannot record %s/%s: %s", r->device, r->point,
           store_errmsg(rp->st));
      return rc;
    }
  }
  lp->has_stored = true;
  lp->stored_value = r->value;
  lp->stored_ms = r->wall_ms;
  rp->stored++;
  return RS_OK;
}

const struct live_point *reading_path_live(const struct reading_path *rp, const char *device,
                                           const char *point)
{
  const struct entry *e = lookup(rp, device, point);
  return e ? e->live : NULL;
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

/*
 * Re-read c's store row into cs: spares, the hold, the last urgent redraft,
 * the SKU's refreshed lead time, its observed replenishment time, and a replacement someone else recorded
 * (`restockctl consumables replaced`), which restarts the prediction.
 */
static void cons_reread(struct reading_path *rp, const struct cfg_consumable *c,
                        struct cons_state *cs)
{
  struct store_consumable row;
  char key[CFG_ID_MAX + 64], *v = NULL;
  memset(&row, 0, sizeof(row));
  if(store_get_consumable_state(rp->st, c->full_id, &row) == RS_OK) {
    cs->spares = row.spares;
    cs->hold = (uint8_t)row.hold;
    cs->held_until_ms = row.held_until_ms;
    cs->redraft_ms = row.redraft_ms;
    if(row.last_replacement_ms > 0 &&
       (cs->replaced_ms == INT64_MIN || row.last_replacement_ms > cs->replaced_ms)) {
      if(cs->pred_ok) {
        bool had_part = cs->pred.replaced_ms != INT64_MIN;
        predict_mark_replaced(&cs->pred, row.last_replacement_ms);
        note_interval(cs, had_part);
      }
      cs->replaced_ms = row.last_replacement_ms;
      cs->dirty = true;
    }
    cs->spares_gen = (uint32_t)store_spares_generation(rp->st);
  }
  store_consumable_free(&row);
  cs->lead_ms = -1;
  if(c->sku && !rs_snprintf(key, sizeof(key), "%s%s", STORE_META_LEAD_TIME, c->sku) &&
     store_meta_get(rp->st, key, &v) == RS_OK) {
    int64_t ms;
    if(!rs_parse_i64(v, false, 0, INT64_MAX, &ms))
      cs->lead_ms = ms;
  }
  free(v);
  v = NULL;
  cs->replenish_ms = -1;
  if(!rs_snprintf(key, sizeof(key), "%s%s", STORE_META_REPLENISH, c->full_id) &&
     store_meta_get(rp->st, key, &v) == RS_OK) {
    int64_t ms;
    if(!rs_parse_i64(v, false, 0, INT64_MAX, &ms))
      cs->replenish_ms = ms;
  }
  free(v);
  v = NULL;
  if(cs->replenish_ms < 0 && c->item && c->item->approval == CFG_APPROVAL_REQUIRED &&
     store_meta_get(rp->st, STORE_META_APPROVAL_WAIT, &v) == RS_OK) {
    int64_t ms;
    if(!rs_parse_i64(v, false, 0, INT64_MAX, &ms))
      rp->approval_wait_ms = ms;
  }
  free(v);
}

/*
 * A part's life (docs/prediction.md, "A part's life"; docs/rules.md, "cover_days and
 * spares"): ONE estimate of how long a part lasts, in working time, with its spread,
 * from which cover_days, position_days, their bounds, runout_risk and the default
 * rule's quantity (rule_snapshot.life_days) are all read.
 *
 * Working time (predict.h, "Working time"): on a machine idle on some days of the week
 * (weekends off; a machine run on Saturdays only) a part wears only on its working
 * days: measured in working days (calendar days weighted by the weekly profile's
 * factors, a week is 7) it lasts the same wherever in its week it was fitted. On a
 * machine that runs every day the factors are all 1 and working time is calendar
 * time.
 *
 * The estimate:
 * - a prior: the time the weekly profile saw over the wear seen in it (idle hours and
 *   days included, the hours a part stood worn out not: calendar_life), once
 *   LIFE_MIN_USE of a part's wear was seen; before that the fit's own life at its
 *   current rate (100 / rate_per_day). It counts as one interval;
 * - the intervals seen between replacements (working days; at most the predictor's
 *   last PREDICT_INTERVALS): the life is the mean of the prior and the intervals (the
 *   prior's weight shrinks as replacements are seen), its spread the root mean square
 *   of a prior spread (a quarter of the life) and the intervals' deviations, over as
 *   many;
 * - a wear that got faster (a rate change) is followed at once, not after several short
 *   intervals moved the mean: the installed part's own projected life (its working age
 *   plus its working days left, or, where its level is what is known (a machine idle on
 *   some days), its working age over the share of it worn), once a fifth of the life
 *   passed and a fifth of the part is worn, when that is under three quarters of the
 *   life; before that, the newest interval when it was that short and the installed part
 *   has not lasted half as long again. A slower wear is not followed faster than the
 *   mean (the shelf then lasts longer than counted: nothing runs out).
 */
struct part_life {
  double f[7]; /* the working-time factors (mean 1; all 1 on a machine that runs every day) */
  bool work;   /* a machine idle on some days: f is its weekly profile */
  double life; /* one part's life, working days; INFINITY: not known */
  double sd;   /* one part's spread (a standard deviation), working days */
  double hi;   /* the longest interval seen (working days); 0: fewer than two */
  double age;  /* the installed part's working age, to its first worn-out reading; NAN:
                  no replacement known */
  size_t n;    /* intervals the life was measured on */
  bool weak;   /* only under a part's wear seen says it, and the installed part shows no
                  rate */
};

/* wear (a fraction of a part) seen before the profile's life is the prior (below: noise) */
#define LIFE_MIN_USE 0.05

/* the z of the 10 % and 90 % quantiles of a normal spread */
#define LIFE_Z10 1.2816

/*
 * A part's calendar life from cs's weekly profile: the time it saw over the wear seen in
 * it (idle hours and days included; the hours a part stood worn out are not in it);
 * *use_out receives the wear seen (parts). NAN under LIFE_MIN_USE of a part's wear or no
 * time seen.
 */
static double calendar_life(const struct cons_state *cs, double *use_out)
{
  double use = 0, time = 0;
  int d;
  for(d = 0; d < 7; d++) {
    use += (double)cs->pred.dow_use[d];
    time += (double)cs->pred.dow_time[d];
  }
  *use_out = use;
  return use >= LIFE_MIN_USE && time > 0 ? time / use : NAN;
}

/*
 * Fill *L with the life estimate (above) of cs's part at now_ms, given the prediction pr
 * at now_ms. L->life is INFINITY when nothing says how long a part lasts (no interval,
 * too little wear seen and no rate).
 */
static void part_life(const struct cons_state *cs, const struct prediction *pr, int64_t now_ms,
                      struct part_life *L)
{
  double use, cal = calendar_life(cs, &use), prior = NAN, psd = NAN, mean = 0, var = 0, ss, rem;
  double proj = NAN;
  double x[PREDICT_INTERVALS];
  size_t k, n = 0;

  L->work = predict_work_clock(&cs->pred, L->f);
  L->life = INFINITY;
  L->sd = 0;
  L->hi = 0;
  L->age = NAN;
  L->n = 0;
  L->weak = cs->pred.n_intervals == 0 && use < 1 && !(pr->rate_per_day > 0);
  /* the prior: the time seen over the wear seen, or before that the fit's life at its rate */
  prior = cal;
  /* its spread, for its weight beside the intervals: half of it (it overstates a short
     part's life by the hours its wear-out and its replacement took to be read), more
     while under a part's wear was seen */
  psd = 0.5 * cal / sqrt(use < 1 ? use : 1);
  if(isnan(prior) && pr->rate_per_day > 0) {
    prior = 100.0 / pr->rate_per_day;
    psd = 0.5 * prior;
  }
  if(!(prior > 0) || !isfinite(prior))
    prior = NAN;
  /* the intervals, newest last; on a machine idle on some days not those taken in calendar
     days before its week was known (hours inside a burst, a week across one) */
  for(k = 0; k < cs->pred.n_intervals; k++)
    if(!L->work || !((unsigned)cs->cal_iv >> (cs->pred.n_intervals - 1 - k) & 1u))
      x[n++] = (double)cs->pred.intervals_d[k];
  for(k = 0; k < n; k++) {
    mean += x[k] / (double)n;
    if(n >= 2 && x[k] > L->hi)
      L->hi = x[k];
  }
  if(n >= 2) {
    /* the intervals' own variance, at least a tenth of their mean squared */
    for(k = 0; k < n; k++)
      var += (x[k] - mean) * (x[k] - mean) / (double)(n - 1);
    var = var > 0.01 * mean * mean ? var : 0.01 * mean * mean;
  }
  else if(n == 1)
    var = 0.0625 * mean * mean;
  /* intervals far from the prior count less (the distance is added to their variance): a
     few measured in calendar days before a machine's week was known (hours inside a burst,
     a week across one) do not outweigh the time over wear seen */
  if(n >= 1 && !isnan(prior))
    var += (mean - prior) * (mean - prior);
  L->n = n;
  if(n == 0)
    L->life = isnan(prior) ? INFINITY : prior;
  else if(isnan(prior) || !(mean > 0))
    L->life = mean;
  else {
    /* each by its precision: the mean of n intervals (their variance over n), the prior */
    double wm = (double)n / var, wp = 1 / (psd * psd);
    L->life = (wm * mean + wp * prior) / (wm + wp);
  }
  if(!(L->life > 0) || !isfinite(L->life)) {
    L->life = INFINITY;
    return;
  }
  /* one part's spread: a quarter of the life counted as one part beside the intervals'
     deviations (a tenth of the life when five intervals agree) */
  ss = (0.25 * L->life) * (0.25 * L->life);
  for(k = 0; k < n; k++)
    ss += (x[k] - L->life) * (x[k] - L->life);
  L->sd = sqrt(ss / (1 + (double)n));

  if(cs->replaced_ms != INT64_MIN && now_ms >= cs->replaced_ms) {
    /* the installed part's working age, to its first worn-out reading */
    int64_t end =
        cs->pred.worn_ms > cs->replaced_ms && cs->pred.worn_ms < now_ms ? cs->pred.worn_ms : now_ms;
    L->age = predict_work_days(L->f, cs->replaced_ms, end);
  }
  if(n < 1)
    return;
  /* a faster wear: the installed part's projected life */
  rem = isfinite(pr->level_pct) ? pr->level_pct / 100.0 : NAN;
  if(!isnan(L->age) && L->age >= 0.2 * L->life) {
    if(isfinite(pr->days_left_p10) && isfinite(pr->days_left) && pr->days_left > 0 && !L->work)
      proj = L->age + pr->days_left;
    else if(L->work && !pr->exponential && rem >= 0 && rem <= 0.8 &&
            (double)(now_ms - cs->replaced_ms) >= 7 * 86400000.0)
      /* (once the part's age spans a week: the profile has one factor per UTC day, and
         a working age inside a day, a burst from 13:00 to 13:00, reads up to twice or
         half the wear it saw) */
      proj = L->age / (1 - rem);
  }
  if(!(isfinite(proj) && proj > 0) && n >= 2 && !L->work) {
    /* the newest interval, while the installed part has not lasted half as long again (not
       on a machine idle on some days: its intervals, measured by a profile with one factor
       per UTC day, alternate short and long around the life) */
    double newest = x[n - 1];
    if(newest > 0 && !(L->age > 1.5 * newest))
      proj = newest;
  }
  if(isfinite(proj) && proj > 0 && proj < 0.75 * L->life) {
    L->sd *= proj / L->life;
    L->life = proj;
  }
}

/*
 * The working days (L's factors) in the next `days` calendar days from now_ms: `days`
 * itself on a machine that runs every day, or when not finite (NAN, INFINITY).
 */
static double work_days_ahead(const struct part_life *L, int64_t now_ms, double days)
{
  if(!L->work || !isfinite(days) || days <= 0)
    return days;
  return predict_work_days(L->f, now_ms, now_ms + (int64_t)(fmin(days, 36500) * 86400000.0));
}

void reading_path_snapshot(struct reading_path *rp, const struct cfg_consumable *c, int64_t now_ms,
                           bool open_line, struct rule_snapshot *out)
{
  struct entry *e = NULL;
  const struct live_point *lp = NULL;
  struct cons_state *cs;
  struct prediction pr;
  size_t i;

  memset(out, 0, sizeof(*out));
  out->consumable = c;
  for(i = 0; i < EXPR_VAR_COUNT; i++)
    out->vars[i] = NAN;
  if(c->device && c->point) {
    e = lookup(rp, c->device->id, c->point->id);
    if(e)
      lp = e->live;
  }
  out->vars[EXPR_VAR_DAYS_LEFT] = INFINITY;
  out->vars[EXPR_VAR_COVER_DAYS] = INFINITY;
  out->vars[EXPR_VAR_POSITION_DAYS] = INFINITY;
  out->vars[EXPR_VAR_DAYS_LEFT_P10] = INFINITY;
  out->vars[EXPR_VAR_DAYS_LEFT_P90] = INFINITY;
  out->vars[EXPR_VAR_COVER_DAYS_P10] = INFINITY;
  out->vars[EXPR_VAR_COVER_DAYS_P90] = INFINITY;
  out->vars[EXPR_VAR_RUNOUT_RISK] = 0;
  out->vars[EXPR_VAR_RATE_PER_DAY] = 0;
  out->vars[EXPR_VAR_CONFIDENCE] = 0;
  out->vars[EXPR_VAR_HOURS_SINCE_REPLACEMENT] = INFINITY;
  out->vars[EXPR_VAR_LEAD_TIME_DAYS] = c->item ? (double)c->item->lead_time_ms / 86400000.0 : 0;
  out->vars[EXPR_VAR_OPEN_ORDERS] = open_line ? 1 : 0;
  out->empty_at_ms = INT64_MAX;
  out->open_line = open_line;

  cs = cons_get(rp, c);
  if(rp->st && now_ms != rp->synced_ms) {
    /* restockctl (another connection) may have changed spares or holds */
    rp->synced_ms = now_ms;
    (void)store_changed_elsewhere(rp->st);
  }
  if(rp->st && cs->spares_gen != (uint32_t)store_spares_generation(rp->st))
    cons_reread(rp, c, cs);
  out->vars[EXPR_VAR_SPARES] = (double)cs->spares;
  if(cs->lead_ms >= 0)
    out->vars[EXPR_VAR_LEAD_TIME_DAYS] = (double)cs->lead_ms / 86400000.0;
  /* a delivery ordered now takes the lead time, or what the last ones took when longer
     (batching, a person's approval, a slow shop) */
  out->replenish_days = out->vars[EXPR_VAR_LEAD_TIME_DAYS];
  if(cs->replenish_ms >= 0 && (double)cs->replenish_ms / 86400000.0 > out->replenish_days)
    out->replenish_days = (double)cs->replenish_ms / 86400000.0;
  /* a part a person must approve whose own deliveries taught nothing yet: the wait for
     the people approving the plant's orders (learned from the others) comes on top */
  if(cs->replenish_ms < 0 && c->item && c->item->approval == CFG_APPROVAL_REQUIRED &&
     rp->approval_wait_ms > 0)
    out->replenish_days += (double)rp->approval_wait_ms / 86400000.0;
  out->held = cs->hold != STORE_HOLD_NONE && now_ms < cs->held_until_ms;
  out->vars[EXPR_VAR_ON_ORDER] = 0;
  if(open_line && rp->st) {
    struct store_order_line l;
    if(store_get_open_line(rp->st, c->full_id, &l) == RS_OK)
      out->vars[EXPR_VAR_ON_ORDER] = (double)(l.quantity - l.received);
    store_order_line_free(&l);
  }
  if(cs->replaced_ms != INT64_MIN)
    out->vars[EXPR_VAR_HOURS_SINCE_REPLACEMENT] =
        now_ms > cs->replaced_ms ? (double)(now_ms - cs->replaced_ms) / 3600000.0 : 0;

  if(lp && lp->has_value) {
    double f = cfg_remaining(c, lp->value);
    out->vars[EXPR_VAR_VALUE] = lp->value;
    if(!isnan(f))
      out->vars[EXPR_VAR_LEVEL_PCT] = f * 100.0;
  }
  if(reading_path_predict(rp, c, now_ms, &pr)) {
    struct part_life L;
    double sp = cs->spares > 0 ? (double)cs->spares : 0;
    double oo = out->vars[EXPR_VAR_ON_ORDER] > 0 ? out->vars[EXPR_VAR_ON_ORDER] : 0;
    double inst, inst10, inst90, shelf, cover, c10, c90, zs, rem = pr.level_pct / 100.0;
    /* the part must last until a delivery ordered now is received and fitted: the
       replenishment time (the lead time, or what the last deliveries took when
       longer) plus orders.handling_time */
    double horizon =
        out->replenish_days + (rp->cfg ? (double)rp->cfg->orders.handling_ms / 86400000.0 : 0.5);
    part_life(cs, &pr, now_ms, &L);
    /* the life the default rule's line is sized on: the same */
    out->life_days = L.life;
    out->vars[EXPR_VAR_LEVEL_PCT] = pr.level_pct;
    out->vars[EXPR_VAR_DAYS_LEFT] = pr.days_left;
    out->vars[EXPR_VAR_RATE_PER_DAY] = pr.rate_per_day;
    out->vars[EXPR_VAR_CONFIDENCE] = pr.confidence;
    out->empty_at_ms = pr.empty_at_ms;
    out->vars[EXPR_VAR_DAYS_LEFT_P10] = pr.days_left_p10;
    out->vars[EXPR_VAR_DAYS_LEFT_P90] = pr.days_left_p90;
    /* the installed part's working days left and their 10 % and 90 % bounds */
    rem = rem < 0 ? 0 : (rem > 1 ? 1 : rem);
    if(L.work && !pr.exponential && isfinite(L.life)) {
      /* a machine idle on some days: the fit over a few working hours takes their rate
         for the week's and over the idle days sees none; the level is what is known of
         the part: its share of a part's life */
      inst = rem * L.life;
      inst10 = inst - LIFE_Z10 * L.sd * rem;
      inst90 = inst + LIFE_Z10 * L.sd * rem;
    }
    else if(isfinite(pr.days_left_p10) || L.n < 1 || !isfinite(L.life) || isnan(L.age) ||
            L.age >= L.life) {
      /* the predictor's own figures, in working days */
      inst = work_days_ahead(&L, now_ms, pr.days_left);
      inst10 = work_days_ahead(&L, now_ms, pr.days_left_p10);
      inst90 = work_days_ahead(&L, now_ms, pr.days_left_p90);
      if(L.hi > 0 && !isnan(L.age)) {
        /* not counted beyond the longest interval seen, less its age (a fit of a few
           hours' readings can say 20 days for a part that lasts 4) */
        double cap = L.hi - L.age > 0 ? L.hi - L.age : 0;
        inst = isfinite(inst) && inst > cap ? cap : inst;
        inst10 = isfinite(inst10) && inst10 > cap ? cap : inst10;
      }
    }
    else {
      /* the predictor has no bounds yet (a day after a replacement; a weekly part
         replaced on a Friday: until Monday's wear is seen): the new part lasts a part's
         life from its age (no longer than that life: a part that stopped wearing is
         not ordered for again) */
      inst = L.life - L.age;
      inst10 = inst - LIFE_Z10 * L.sd;
      inst90 = inst + LIFE_Z10 * L.sd;
    }
    if(isnan(inst))
      inst = inst10 = inst90 = INFINITY;
    inst10 = isnan(inst10) ? INFINITY : (inst10 < 0 ? 0 : inst10);
    inst90 = isnan(inst90) ? INFINITY : inst90;
    /* the shelf and what is on the way add a part's life each; the lives add up, their
       spreads as independent ones (the root of their squares) */
    /* (a life that only under a part's wear seen says, while the installed part shows no
       rate: the shelf is not counted (a part worn on Saturdays only, its first Saturday
       under way: the time over wear seen reads three times its life); the line is still
       sized on it) */
    shelf = sp > 0 ? (L.weak ? INFINITY : sp * L.life) : 0;
    cover = inst + shelf;
    zs = LIFE_Z10 * L.sd;
    if(!isfinite(inst10))
      c10 = c90 = INFINITY; /* (no bounds: the predictor's first day) */
    else if(isfinite(inst)) {
      c10 = cover - sqrt((inst - inst10) * (inst - inst10) + zs * zs * sp);
      c90 = cover + sqrt((inst90 - inst) * (inst90 - inst) + zs * zs * sp);
    }
    else {
      /* (the installed part's central figure unknown, its bounds perhaps not) */
      c10 = inst10 + shelf - zs * sqrt(sp);
      c90 = inst90 + shelf + zs * sqrt(sp);
    }
    out->vars[EXPR_VAR_COVER_DAYS] = predict_calendar_days(L.f, now_ms, cover);
    out->vars[EXPR_VAR_POSITION_DAYS] =
        predict_calendar_days(L.f, now_ms, oo > 0 ? cover + oo * L.life : cover);
    out->vars[EXPR_VAR_COVER_DAYS_P10] =
        predict_calendar_days(L.f, now_ms, isnan(c10) || c10 > 0 ? c10 : 0);
    out->vars[EXPR_VAR_COVER_DAYS_P90] = predict_calendar_days(L.f, now_ms, c90);
    if(isnan(out->vars[EXPR_VAR_COVER_DAYS]))
      out->vars[EXPR_VAR_COVER_DAYS] = INFINITY;
    if(isnan(out->vars[EXPR_VAR_POSITION_DAYS]))
      out->vars[EXPR_VAR_POSITION_DAYS] = INFINITY;
    if(isnan(out->vars[EXPR_VAR_COVER_DAYS_P10]))
      out->vars[EXPR_VAR_COVER_DAYS_P10] = INFINITY;
    if(isnan(out->vars[EXPR_VAR_COVER_DAYS_P90]))
      out->vars[EXPR_VAR_COVER_DAYS_P90] = INFINITY;
    out->vars[EXPR_VAR_RUNOUT_RISK] = predict_risk_within(
        out->vars[EXPR_VAR_COVER_DAYS_P10], out->vars[EXPR_VAR_COVER_DAYS_P90], horizon);
  }
  if(out->held && cs->hold == STORE_HOLD_EXPIRED && rp->cfg &&
     out->vars[EXPR_VAR_DAYS_LEFT] < out->vars[EXPR_VAR_LEAD_TIME_DAYS] &&
     (cs->redraft_ms <= 0 || now_ms - cs->redraft_ms >= rp->cfg->orders.approval.redraft_after_ms)) {
    /* SPEC 7: it runs out before a delivery could arrive: one urgent request now */
    out->held = false;
    out->urgent = true;
  }
  out->stale = !lp || !lp->has_value || now_ms - lp->value_ms > c->stale_after_ms;
  if(e && c->model == CFG_MODEL_BUTTON) {
    out->button_pressed = e->live->pressed;
    e->live->pressed = false;
  }
}
