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
  /* Its other fields in 64 bytes (RSS, docs/BENCHMARKS.md: a consumable's
     block, with its key, in a 624-byte malloc chunk with short ids) */
  bool pred_ok : 1;    /* params valid: pred is usable */
  bool loaded : 1;     /* store state read (or seeded) */
  bool dirty : 1;      /* fed since the last save */
  bool queued : 1;     /* in rp->due: saved at the next reading_path_commit() */
  /* a replacement (at replaced_ms) taken in memory (spares already one less) whose store
     write failed (disk full): recorded by the next reading_path_commit() that succeeds */
  bool unrecorded : 1;
  uint8_t hold;        /* enum store_hold, from the store row, re-read with spares (SPEC 7 holds) */
  uint8_t unrec_before; /* the unrecorded replacement's remaining % before and after (whole) */
  uint8_t unrec_after;
  int32_t spares;      /* cache of the store's count (the config's without a store), clamped */
  /* The two generations in 32 bits: a stale one passes for current only
     after exactly 2^32 changes. */
  uint32_t spares_gen;  /* low 32 bits of store_spares_generation() when spares was read;
                           UINT32_MAX: never */
  uint32_t checked_gen; /* the reading path's cfg_gen when the parameters were last checked */
  /* from the store (re-read with spares), in whole seconds: */
  int32_t lead_s;      /* the shop's refreshed lead time of the SKU; -1: the catalog's */
  int32_t replenish_s; /* how long its lines took from drafted to delivered; -1: none yet */
  int64_t fed_ms;      /* wall ms of the newest reading fed; INT64_MIN: none */
  int64_t saved_ms;    /* fed_ms at the last save; INT64_MIN: never */
  int64_t replaced_ms; /* last replacement (wall ms); INT64_MIN: none known */
  /* from the store row, re-read with spares, like hold */
  int64_t held_until_ms;
  int64_t redraft_ms;
};

_Static_assert(sizeof(struct cons_state) == sizeof(struct predictor) + 64,
               "cons_state's own fields: 64 bytes (RSS)");

/* A count for cons_state's 32-bit spares (clamped: no shelf holds 2^31 parts). */
static int32_t spares32(int64_t v)
{
  return v > INT32_MAX ? INT32_MAX : (v < INT32_MIN ? INT32_MIN : (int32_t)v);
}

/* A duration in ms (>= 0) as cons_state's whole seconds (clamped). */
static int32_t dur_s(int64_t ms)
{
  return ms / 1000 > INT32_MAX ? INT32_MAX : (int32_t)(ms / 1000);
}

/*
 * One block each (RSS, docs/BENCHMARKS.md), packed in rp->chunks: a point
 * entry is its live state and its key; a consumable entry its cons_state and
 * its key. A
 * `struct entry *` is the block itself (the type is never defined: read it
 * with entry_live() or entry_cs()). The hash table, pt_entry[] and cons_ent[]
 * hold an entry's handle (32 bits, half a pointer: RSS): its chunk, its
 * place in it in units of 8 B, and in the low bit its kind (1: a consumable);
 * 0 is none (no block starts a chunk). Pending values hold points, due[]
 * consumables, by pointer (no header in the block: 16 B less a block).
 */
struct entry;

/* The blocks' chunks: 64 KiB, so at most one block's worth (~0.6 KB) is left unused at the
   end of each (under the 128 KiB mmap threshold restockd sets); a handle's place is 13 bits
   (64 KiB / 8), its chunk 18 (16 GiB of blocks) */
#define READING_BLOCK_CHUNK (64u * 1024u)
#define READING_CHUNKS_MAX (1u << 18)

static inline struct live_point *entry_live(struct entry *e)
{
  return (struct live_point *)(void *)e;
}

static inline struct cons_state *entry_cs(struct entry *e)
{
  return (struct cons_state *)(void *)e;
}

/* A handle's kind: a consumable's entry. */
static inline bool slot_is_cons(uint32_t h)
{
  return (h & 1u) != 0;
}

/*
 * The key, "device/point" or "#device/consumable" for a consumable: the
 * NUL-terminated string after the block's live state or cons_state (no
 * pointer and no length kept).
 */
static inline const char *point_key(struct entry *e)
{
  return (const char *)(entry_live(e) + 1);
}

static inline const char *cons_key(struct entry *e)
{
  return (const char *)(entry_cs(e) + 1);
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
  /* The entries' blocks, 8-aligned and packed in READING_BLOCK_CHUNK chunks (RSS: no malloc
     header or size class rounding a block; entries are never freed one by one) */
  char **chunks;
  size_t n_chunks, cap_chunks;
  size_t chunk_used; /* bytes used in the last chunk */
  uint32_t *slots; /* handles; open addressing, size a power of two */
  size_t cap;
  size_t n;
  uint64_t submitted, stored, store_errors;
  int64_t synced_ms; /* evaluation time of the last look for other writers; INT64_MIN: none */
  /*
   * The config resolved to indexes (reading.device_ref/point_ref), so a
   * reading costs no lookup by id: point g = dev_off[device] + point index;
   * pt_entry[g] its live state (NULL until its first reading),
   * cons_of[cons_off[g] .. cons_off[g + 1]) the consumables it feeds, in
   * the device's order (its deadband is the first level or usage one's:
   * index_band(); RSS, no array of bands).
   */
  size_t *dev_off; /* n_devices + 1 */
  uint32_t *pt_entry; /* handles */
  uint32_t *cons_off; /* n_points + 1 (32 bits: RSS) */
  const struct cfg_consumable **cons_of;
  uint32_t *cons_ent; /* beside cons_of: each one's state entry's handle (0 until first use) */
  /* the predictors' parameters, one block per distinct set (they point into it) */
  struct predict_params_set params;
  size_t n_unrecorded; /* consumables with an unrecorded replacement (cons_state.unrecorded) */
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

/* The entry of handle h (not 0). */
static inline struct entry *h_entry(const struct reading_path *rp, uint32_t h)
{
  return (struct entry *)(void *)(rp->chunks[h >> 14] + (size_t)((h >> 1) & 0x1fffu) * 8u);
}

/* A new zeroed block of size bytes (8-aligned), as a handle of kind cons. Aborts on allocation
   failure like rs_x*. */
static uint32_t block_new(struct reading_path *rp, size_t size, bool cons)
{
  size = (size + 7u) & ~(size_t)7u;
  if(!rp->n_chunks || rp->chunk_used + size > READING_BLOCK_CHUNK) {
    if(rp->n_chunks == READING_CHUNKS_MAX)
      abort(); /* 16 GiB of entries */
    if(rp->n_chunks == rp->cap_chunks) {
      rp->cap_chunks = rp->cap_chunks ? rp->cap_chunks * 2 : 16;
      rp->chunks = rs_xrealloc(rp->chunks, rp->cap_chunks * sizeof(*rp->chunks));
    }
    rp->chunks[rp->n_chunks++] = rs_xcalloc(1, READING_BLOCK_CHUNK);
    rp->chunk_used = 8; /* no block at 0: no handle is 0 */
  }
  rp->chunk_used += size;
  return (uint32_t)((rp->n_chunks - 1) << 14 | ((rp->chunk_used - size) / 8u) << 1 | cons);
}

/* The key of the entry of handle h. */
static const char *h_key(const struct reading_path *rp, uint32_t h)
{
  return slot_is_cons(h) ? cons_key(h_entry(rp, h)) : point_key(h_entry(rp, h));
}

/* Index of key's slot in slots (cap of them): the entry holding it, or the empty slot where
   it goes. */
static size_t find_slot(const struct reading_path *rp, const uint32_t *slots, size_t cap,
                        const char *key)
{
  size_t i = (size_t)hash_str(key) & (cap - 1);
  while(slots[i] && strcmp(h_key(rp, slots[i]), key))
    i = (i + 1) & (cap - 1);
  return i;
}

/* Double the table (or create it). Aborts on allocation failure like rs_x*. */
static void grow(struct reading_path *rp)
{
  size_t ncap = rp->cap ? rp->cap * 2 : 64;
  uint32_t *ns = rs_xcalloc(ncap, sizeof(*ns));
  size_t i;
  for(i = 0; i < rp->cap; i++) {
    if(rp->slots[i])
      ns[find_slot(rp, ns, ncap, h_key(rp, rp->slots[i]))] = rp->slots[i];
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
  i = find_slot(rp, rp->slots, rp->cap, key);
  return rp->slots[i] ? h_entry(rp, rp->slots[i]) : NULL;
}

/* The entry (handle) of device/point, created (and warm-started from the store) if new. */
static uint32_t get_or_add(struct reading_path *rp, const char *device, const char *point)
{
  char key[2 * CFG_ID_MAX + 2];
  struct entry *e;
  uint32_t h;
  size_t i;
  _Static_assert(_Alignof(struct live_point) <= 8, "blocks are 8-aligned");
  if((rp->n + 1) * 10 >= rp->cap * 7)
    grow(rp);
  make_key(key, sizeof(key), device, point);
  i = find_slot(rp, rp->slots, rp->cap, key);
  if(rp->slots[i])
    return rp->slots[i];
  h = block_new(rp, sizeof(struct live_point) + strlen(key) + 1, false);
  e = h_entry(rp, h);
  memcpy(entry_live(e) + 1, key, strlen(key) + 1);
  entry_live(e)->last_error = READING_OK;
  if(rp->st) {
    int64_t t;
    double v;
    (void)store_merge_readings_over(rp->st, READING_LOOKUP_RECENT_MAX);
    if(store_last_reading(rp->st, device, point, &t, &v) == RS_OK) {
      entry_live(e)->has_stored = true;
      entry_live(e)->stored_value = v;
      entry_live(e)->stored_ms = t;
      entry_live(e)->has_value = true;
      entry_live(e)->value = v;
      entry_live(e)->value_ms = t;
    }
  }
  rp->slots[i] = h;
  rp->n++;
  return h;
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
  FREE_NULL(rp->cons_off);
  FREE_NULL(rp->cons_of);
  FREE_NULL(rp->cons_ent);
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
  FREE_NULL(rp->slots);
  for(i = 0; i < rp->n_chunks; i++) /* every entry's block: its state and its key */
    free(rp->chunks[i]);
  free(rp->chunks);
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
  rp->cons_off = rs_xcalloc(g + 1, sizeof(*rp->cons_off));
  rp->cons_of = rs_xcalloc(n_cons + 1, sizeof(*rp->cons_of));
  rp->cons_ent = rs_xcalloc(n_cons + 1, sizeof(*rp->cons_ent));
  k = 0;
  for(i = 0; i < cfg->n_devices; i++) {
    const struct cfg_device *d = &cfg->devices[i];
    for(j = 0; j < d->n_points; j++) {
      size_t m;
      g = rp->dev_off[i] + j;
      rp->cons_off[g] = (uint32_t)k;
      for(m = 0; m < d->n_consumables; m++) {
        if(d->consumables[m].point == &d->points[j])
          rp->cons_of[k++] = &d->consumables[m];
      }
    }
  }
  rp->cons_off[rp->n_pts] = (uint32_t)k;
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
    if(c->spec->model == CFG_MODEL_LEVEL)
      return cfg->storage.deadband * fabs(c->spec->empty - c->spec->full);
    if(c->spec->model == CFG_MODEL_USAGE)
      return cfg->storage.deadband * fabs(c->spec->life);
  }
  return 0;
}

/*
 * point_band() of indexed point g: the first level or usage consumable among
 * those it feeds (cons_of keeps the device's order, as point_band() reads it).
 */
static double index_band(const struct reading_path *rp, size_t g)
{
  uint32_t k;
  for(k = rp->cons_off[g]; k < rp->cons_off[g + 1]; k++) {
    const struct cfg_cons_spec *s = rp->cons_of[k]->spec;
    if(s->model == CFG_MODEL_LEVEL)
      return rp->cfg->storage.deadband * fabs(s->empty - s->full);
    if(s->model == CFG_MODEL_USAGE)
      return rp->cfg->storage.deadband * fabs(s->life);
  }
  return 0;
}

/*
 * Whether value v at t_ms must be stored given what was stored last; sets
 * *hb_due to the time the heartbeat counts from next (stored_ms). The
 * heartbeat counts as passed from 1023/1024 of it on (3.5 s short of 1 h):
 * polls keep to their grid (scheduler.c), so with poll_interval =
 * heartbeat a poll a moment late followed by one on time came 0.2 s short
 * of the heartbeat and was not stored, every other hour. And it keeps a
 * grid of its own: a value stored by the heartbeat less than half a
 * heartbeat after it was due counts from when it was due, so a poll 5 s
 * late does not make the next one, on time, 5 s short (it was not stored).
 * A value stored for a first reading or a move counts from its own time.
 */
static bool passes_filter(const struct reading_path *rp, const struct live_point *lp,
                          const struct reading *r, size_t g, int64_t *hb_due)
{
  double band;
  int64_t heartbeat = rp->cfg ? rp->cfg->storage.heartbeat_ms : 0;
  *hb_due = r->wall_ms;
  if(!lp->has_stored)
    return true;
  if(heartbeat > 0 && r->wall_ms - lp->stored_ms >= heartbeat - heartbeat / 1024) {
    if(r->wall_ms - lp->stored_ms < heartbeat + heartbeat / 2)
      *hb_due = lp->stored_ms + heartbeat;
    return true;
  }
  band = g != SIZE_MAX ? index_band(rp, g) : point_band(rp->cfg, r->device, r->point);
  if(band > 0)
    return fabs(r->value - lp->stored_value) >= band;
  return r->value != lp->stored_value;
}

/* ---- prediction per consumable --------------------------------------- */

/* The entry of consumable c ("#" + full id), created empty if new. */
static uint32_t cons_entry_h(struct reading_path *rp, const struct cfg_consumable *c)
{
  char key[2 * CFG_ID_MAX + 3];
  struct entry *e;
  uint32_t h;
  size_t i;
  _Static_assert(_Alignof(struct cons_state) <= 8, "blocks are 8-aligned");
  if((rp->n + 1) * 10 >= rp->cap * 7)
    grow(rp);
  (void)rs_snprintf(key, sizeof(key), "#%s", c->full_id);
  i = find_slot(rp, rp->slots, rp->cap, key);
  if(rp->slots[i])
    return rp->slots[i];
  /* the cons_state, then the key */
  h = block_new(rp, sizeof(struct cons_state) + strlen(key) + 1, true);
  e = h_entry(rp, h);
  memcpy(entry_cs(e) + 1, key, strlen(key) + 1);
  entry_cs(e)->fed_ms = INT64_MIN;
  entry_cs(e)->saved_ms = INT64_MIN;
  entry_cs(e)->replaced_ms = INT64_MIN;
  entry_cs(e)->spares = spares32(c->spec->spares);
  entry_cs(e)->spares_gen = UINT32_MAX;
  entry_cs(e)->lead_s = -1;
  entry_cs(e)->replenish_s = -1;
  rp->slots[i] = h;
  rp->n++;
  return h;
}

static struct entry *cons_entry(struct reading_path *rp, const struct cfg_consumable *c)
{
  return h_entry(rp, cons_entry_h(rp, c));
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
 * The plant calendar of rp's config (calendar.closed) as the predictor takes
 * it, in *buf: the predictor counts only open time (docs/prediction.md,
 * "Plant calendar"). NULL without a config or closed periods.
 */
static const struct predict_cal *path_cal(const struct reading_path *rp, struct predict_cal *buf)
{
  if(!rp->cfg || rp->cfg->calendar.n_closed == 0)
    return NULL;
  buf->closed = rp->cfg->calendar.closed;
  buf->n = rp->cfg->calendar.n_closed;
  return buf;
}

/* Feed one value of c's point to its predictor; records a detected replacement. */
static void feed(struct reading_path *rp, const struct cfg_consumable *c, struct cons_state *cs,
                 int64_t t_ms, double v, bool record)
{
  struct predict_event ev;
  struct predict_cal cal;
  if(!cs->pred_ok)
    return;
  if(predict_add_cal(&cs->pred, t_ms, v, &ev, path_cal(rp, &cal))) {
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
  cs->spares = spares32(c->spec->spares);
  cs->spares_gen = UINT32_MAX;
  if(rp->st) {
    struct store_consumable row;
    enum rs_err rc;
    int64_t from = 0;
    memset(&row, 0, sizeof(row));
    rc = store_get_consumable_state(rp->st, c->full_id, &row);
    if(rc == RS_OK) {
      cs->spares = spares32(row.spares);
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
          if(predict_last_ms(&cs->pred) != INT64_MIN && predict_last_ms(&cs->pred) > fed)
            fed = predict_last_ms(&cs->pred);
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
      row.spares = c->spec->spares;
      if(store_put_consumable_state(rp->st, &row))
        log_rl(LOG_LVL_ERR, "store-state", "store: cannot create the state of %s: %s", c->full_id,
               store_errmsg(rp->st));
    }
    else
      log_rl(LOG_LVL_ERR, "store-state", "store: cannot read the state of %s: %s", c->full_id,
             store_errmsg(rp->st));
    store_consumable_free(&row);
    if(cs->pred_ok && c->device && c->point && c->spec->model != CFG_MODEL_BUTTON) {
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
  cons_ready(rp, c, entry_cs(e));
  return entry_cs(e);
}

/*
 * In one store group: the replacement of consumable id at at_ms (remaining
 * fractions before and after), the fitted part (store_fit_part at fit_ms:
 * *how, *spares its outcome) and cs's predictor state. RS_OK, or the store's
 * error (rolled back: nothing of it stored).
 */
static enum rs_err store_replacement(struct reading_path *rp, const char *id,
                                     struct cons_state *cs, int64_t at_ms, double before,
                                     double after, int64_t fit_ms, enum store_fit *how,
                                     int64_t *spares)
{
  enum rs_err rc = store_begin(rp->st);
  if(rc)
    return rc;
  rc = store_record_replacement(rp->st, id, at_ms, before * 100.0, after * 100.0, NULL);
  if(!rc)
    rc = store_fit_part(rp->st, id, fit_ms, how, spares);
  if(!rc)
    rc = save_state(rp, id, cs, fit_ms);
  if(rc) {
    (void)store_rollback(rp->st);
    return rc;
  }
  return store_commit(rp->st);
}

/* A whole percent of a remaining fraction, for cons_state's unrec_before/after. */
static uint8_t pct8(double f)
{
  double p = f * 100.0 + 0.5;
  return isnan(p) || p < 0 ? 0 : (p > 255 ? 255 : (uint8_t)p);
}

/*
 * Record cs's unrecorded replacement (consumable id) now, if the store takes
 * it: one log line saying it was recorded late. Returns RS_OK or the store's
 * error (cs left pending, not logged: the failure was logged when it happened).
 */
static enum rs_err record_late(struct reading_path *rp, const char *id, struct cons_state *cs)
{
  enum store_fit how = STORE_FIT_SHELF;
  int64_t spares = 0;
  enum rs_err rc;
  if(!cs->unrecorded || !rp->st)
    return RS_OK;
  rc = store_replacement(rp, id, cs, cs->replaced_ms, cs->unrec_before / 100.0,
                         cs->unrec_after / 100.0, cs->replaced_ms, &how, &spares);
  if(rc)
    return rc;
  cs->unrecorded = false;
  if(rp->n_unrecorded)
    rp->n_unrecorded--;
  cs->spares = spares32(spares);
  log_notice("consumable %s: replacement of %" PRId64 " recorded late, the store works again (%"
             PRId64 " spare%s left%s)",
             id, cs->replaced_ms, spares, spares == 1 ? "" : "s",
             how == STORE_FIT_LINE    ? "; one unit of its open order line counts as received"
             : how == STORE_FIT_UNKNOWN ? "; unknown_part_fitted: no spare, no open line the shop has"
                                        : "");
  return RS_OK;
}

/* Record every unrecorded replacement the store takes now (stops at its first error). */
static void record_all_late(struct reading_path *rp)
{
  size_t i;
  for(i = 0; rp->n_unrecorded && i < rp->cap; i++) {
    struct entry *e;
    if(!rp->slots[i] || !slot_is_cons(rp->slots[i]))
      continue;
    e = h_entry(rp, rp->slots[i]);
    if(entry_cs(e)->unrecorded && record_late(rp, cons_key(e) + 1, entry_cs(e)))
      return; /* the store still fails: the next commit tries again */
  }
}

static enum rs_err record_replacement(struct reading_path *rp, const struct cfg_consumable *c,
                                      struct cons_state *cs, int64_t at_ms, double before,
                                      double after, int64_t now_ms, bool marked)
{
  enum rs_err rc = RS_OK;
  int64_t spares = cs->spares > 0 ? cs->spares - 1 : 0;
  enum store_fit how = cs->spares > 0 ? STORE_FIT_SHELF : STORE_FIT_UNKNOWN;

  if(rp->st) {
    /* an older one still unrecorded goes first (its row before this one's) */
    if(cs->unrecorded && record_late(rp, c->full_id, cs) == RS_OK)
      spares = cs->spares > 0 ? cs->spares - 1 : 0;
    if(!cs->unrecorded)
      rc = store_replacement(rp, c->full_id, cs, at_ms, before, after, now_ms, &how, &spares);
    else
      rc = RS_ERR_IO;
  }
  if(rc && marked) {
    /* the operator is told (the mark is not taken) and marks again */
    log_err("consumable %s: replacement not recorded: %s", c->full_id, store_errmsg(rp->st));
    return rc;
  }
  if(rc) {
    /* detected: the predictor has taken it; the stock follows it in memory and the
       store gets it at the next commit that succeeds (one pending per consumable: two
       in one outage are recorded as one) */
    if(cs->unrecorded)
      log_err("consumable %s: a second replacement while the one of %" PRId64
              " is not recorded yet: the two are recorded as one (check the stock)",
              c->full_id, cs->replaced_ms);
    else
      rp->n_unrecorded++;
    cs->unrecorded = true;
    cs->unrec_before = pct8(before);
    cs->unrec_after = pct8(after);
    cs->spares = spares32(spares);
    cs->replaced_ms = at_ms;
    log_err("consumable %s: replacement detected but not recorded yet: %s; %" PRId64
            " spare%s left in memory, recorded when the store works again",
            c->full_id, store_errmsg(rp->st), spares, spares == 1 ? "" : "s");
    return rc;
  }
  cs->spares = spares32(spares);
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
             "and no open order line the shop has (an order not placed yet counts nothing); check "
             "the stock (restockctl consumables set-spares)",
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
      /* its state (prefetched) */
      struct entry *e;
      struct cons_state *cs;
      if(!rp->cons_ent[i])
        rp->cons_ent[i] = cons_entry_h(rp, rp->cons_of[i]);
      e = h_entry(rp, rp->cons_ent[i]);
      cs = entry_cs(e);
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
    cons_ready(rp, c, entry_cs(e));
    predict_one(rp, c, e, entry_cs(e), r);
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
    struct cons_state *cs;
    if(!rp->slots[i] || !slot_is_cons(rp->slots[i]))
      continue;
    cs = entry_cs(h_entry(rp, rp->slots[i]));
    if(!cs->dirty)
      continue;
    rc = save_state(rp, cons_key(h_entry(rp, rp->slots[i])) + 1, cs,
                    cs->fed_ms == INT64_MIN ? 0 : cs->fed_ms);
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
  struct predict_cal cal;
  predict_unknown(out);
  if(!cs->pred_ok || cs->fed_ms == INT64_MIN)
    return false;
  predict_eval_cal(&cs->pred, now_ms, path_cal(rp, &cal), out);
  return !isnan(out->level_pct);
}

enum rs_err reading_path_mark_replaced(struct reading_path *rp, const struct cfg_consumable *c,
                                       int64_t now_ms)
{
  struct cons_state *cs = cons_get(rp, c);
  struct prediction pr;
  double before = NAN;
  struct predictor saved = cs->pred;
  struct predict_cal cal;
  enum rs_err rc;
  if(reading_path_predict(rp, c, now_ms, &pr))
    before = pr.level_pct / 100.0;
  if(cs->pred_ok)
    predict_mark_replaced_cal(&cs->pred, now_ms, path_cal(rp, &cal));
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
  if(rp->n_unrecorded && rp->st)
    record_all_late(rp);
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
    const char *key = point_key(pd->e), *slash = strchr(key, '/'); /* ids have no '/' */
    size_t dev_len = slash ? (size_t)(slash - key) : strlen(key);
    size_t n = dev_len < sizeof(dev) ? dev_len : sizeof(dev) - 1;
    memcpy(dev, key, n);
    dev[n] = '\0';
    rc = store_put_reading(rp->st, dev, slash ? slash + 1 : "", pd->t_ms, pd->value);
  }
  /* the predictor states that fell due since the last commit, in the same transaction */
  for(i = 0; !rc && i < rp->n_due; i++) {
    struct cons_state *cs = entry_cs(rp->due[i]);
    if(cs->dirty)
      rc = write_state(rp, cons_key(rp->due[i]) + 1, cs, cs->fed_ms);
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
      entry_live(rp->pend[i].e)->has_stored = false;
  }
  /* saved, or (failed) still dirty: queued again by its next reading */
  for(i = 0; i < rp->n_due; i++) {
    struct cons_state *cs = entry_cs(rp->due[i]);
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
    prefetch_range(h_entry(rp, rp->pt_entry[g]), sizeof(struct live_point));
  for(i = rp->cons_off[g]; i < rp->cons_off[g + 1]; i++) {
    if(rp->cons_ent[i])
      prefetch_range(entry_cs(h_entry(rp, rp->cons_ent[i])), sizeof(struct cons_state));
  }
}

enum rs_err reading_path_submit_ex(struct reading_path *rp, const struct reading *r,
                                   bool *changed)
{
  size_t g = point_index(rp, r);
  struct entry *e;
  struct live_point *lp;
  enum rs_err rc = RS_OK;
  int64_t hb_due;
  bool was_ok;

  if(g != SIZE_MAX) {
    prefetch_point(rp, r->device_ref - 1, g);
    if(!rp->pt_entry[g])
      rp->pt_entry[g] = get_or_add(rp, r->device, r->point);
    e = h_entry(rp, rp->pt_entry[g]);
  }
  else
    e = h_entry(rp, get_or_add(rp, r->device, r->point));
  lp = entry_live(e);
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

  if(!passes_filter(rp, lp, r, g, &hb_due))
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
  lp->stored_ms = hb_due;
  rp->stored++;
  return RS_OK;
}

const struct live_point *reading_path_live(const struct reading_path *rp, const char *device,
                                           const char *point)
{
  struct entry *e = lookup(rp, device, point);
  return e ? entry_live(e) : NULL;
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
    /* a replacement not recorded yet has taken one in memory, not in the store */
    cs->spares = spares32(cs->unrecorded && row.spares > 0 ? row.spares - 1 : row.spares);
    cs->hold = (uint8_t)row.hold;
    cs->held_until_ms = row.held_until_ms;
    cs->redraft_ms = row.redraft_ms;
    if(row.last_replacement_ms > 0 &&
       (cs->replaced_ms == INT64_MIN || row.last_replacement_ms > cs->replaced_ms)) {
      struct predict_cal cal;
      if(cs->pred_ok)
        predict_mark_replaced_cal(&cs->pred, row.last_replacement_ms, path_cal(rp, &cal));
      cs->replaced_ms = row.last_replacement_ms;
      cs->dirty = true;
    }
    cs->spares_gen = (uint32_t)store_spares_generation(rp->st);
  }
  store_consumable_free(&row);
  cs->lead_s = -1;
  if(c->spec->sku && !rs_snprintf(key, sizeof(key), "%s%s", STORE_META_LEAD_TIME, c->spec->sku) &&
     store_meta_get(rp->st, key, &v) == RS_OK) {
    int64_t ms;
    if(!rs_parse_i64(v, false, 0, INT64_MAX, &ms))
      cs->lead_s = dur_s(ms);
  }
  free(v);
  v = NULL;
  cs->replenish_s = -1;
  if(!rs_snprintf(key, sizeof(key), "%s%s", STORE_META_REPLENISH, c->full_id) &&
     store_meta_get(rp->st, key, &v) == RS_OK) {
    int64_t ms;
    if(!rs_parse_i64(v, false, 0, INT64_MAX, &ms))
      cs->replenish_s = dur_s(ms);
  }
  free(v);
  v = NULL;
  if(cs->replenish_s < 0 && c->spec->item && c->spec->item->approval == CFG_APPROVAL_REQUIRED &&
     store_meta_get(rp->st, STORE_META_APPROVAL_WAIT, &v) == RS_OK) {
    int64_t ms;
    if(!rs_parse_i64(v, false, 0, INT64_MAX, &ms))
      rp->approval_wait_ms = ms;
  }
  free(v);
}

/*
 * The life a part lasts now, from `learned` (the median of the past intervals between
 * replacements) and what the parts show since: when the wear got clearly faster (a
 * rate change; a plant that runs more), the median follows only after three short
 * intervals, and cover, position and the order-up-to quantity counted every spare at
 * the old life. Takes the consumable's state and the prediction at now_ms; returns
 * the installed part's own projected life (its age plus days_left) once it can be
 * projected (its bounds known and a fifth of the learned life past) and it is under
 * three quarters of `learned`; before that (or while the part is worn out), the
 * newest interval when it was that short and the installed part did not last half as
 * long again (to its first worn-out reading, or so far); else `learned`. A slower wear
 * is not followed here (the shelf then lasts longer than counted: no stockout). Parts of
 * machines idle on some days are measured in working time instead (work_figures).
 */
static double faster_life(const struct cons_state *cs, const struct prediction *pr, int64_t now_ms,
                          double learned)
{
  double age, proj;
  if(cs->pred.n_intervals < 1 || !isfinite(learned) || learned <= 0)
    return learned;
  if(cs->replaced_ms != INT64_MIN && now_ms >= cs->replaced_ms) {
    age = (double)(now_ms - cs->replaced_ms) / 86400000.0;
    proj = age + pr->days_left;
    /* (a worn-out part waiting for a spare has no life to project: its age runs on) */
    if(age >= 0.2 * learned && isfinite(pr->days_left_p10) && isfinite(proj) && pr->days_left > 0)
      return proj < 0.75 * learned ? proj : learned;
  }
  if(cs->pred.n_intervals >= 2) {
    double newest = (double)cs->pred.intervals_d[cs->pred.n_intervals - 1], lasted = 0;
    /* how long the installed part lasted: to its first worn-out reading, or so far */
    if(cs->replaced_ms != INT64_MIN && now_ms >= cs->replaced_ms)
      lasted = (double)((predict_worn_ms(&cs->pred) > cs->replaced_ms && predict_worn_ms(&cs->pred) < now_ms
                             ? predict_worn_ms(&cs->pred)
                             : now_ms) -
                        cs->replaced_ms) /
               86400000.0;
    /* (not once the installed part lasted half as long again) */
    if(newest > 0 && newest < 0.75 * learned && !(lasted > 1.5 * newest))
      return newest;
  }
  return learned;
}

/*
 * A part's figures in working time (predict.h, "Working time"; docs/prediction.md):
 * a part of a machine that runs on some days of the week only (bench/plant's burst
 * parts: Saturdays only) wears in bursts. Its fit over a few burst hours takes the
 * burst's rate for the week's, over the idle days it sees no rate at all (days_left
 * unknown), and its intervals in calendar days are a few hours or a week by where in
 * the week it was fitted: the bounds took the shortest for every spare on the shelf
 * (plant seed 13's p29 ordered with 8-20 spares on its shelf). Measured in working
 * days (calendar days weighted by the weekly profile, a week is 7), a part lasts the
 * same wherever it was fitted; the part installed has its level's share of a part's
 * life left; the shelf and what is on the way add their parts' lives; the sums go
 * back to calendar days from now through the same profile.
 */
struct work_figs {
  double f[7]; /* the weekly profile's factors (mean 1) */
  double life; /* a part's life in working days: the mean interval, or a faster wear */
  double sd;   /* the spread of one part's life (working days) */
  double rem;  /* the installed part's remaining fraction (0..1) */
};

/* wear (a fraction of a part) seen before the calendar life counts (below: noise) */
#define QUANTITY_MIN_USE 0.05

/* a weekday seen for less than this (days) says nothing of its rate (calendar_life) */
#define CAL_LIFE_MIN_DAY 0.1

/*
 * A part's calendar life from cs's weekly profile: a day over the mean of the weekdays'
 * own rates (each the wear seen on that weekday over the time seen on it; idle hours and
 * days included, the hours a part stood worn out not; a weekday seen under
 * CAL_LIFE_MIN_DAY is left out of the mean). Not the whole time seen over the whole wear:
 * the weekdays are not seen alike, and a part of a machine that runs on Saturdays only,
 * met part worn, wears out a few hours into its first Saturday and stands worn the rest
 * of it, so its first week counted five idle days whole and the Saturday's wearing hours
 * only (bench/plant seed 23's p23, 1.7 parts a Saturday: 12.7 days a part, its first
 * line 4 units where 11 were needed; the second, after the first came, 7.4 days, 3
 * units: empty twice). NAN under QUANTITY_MIN_USE of a part's wear or no weekday seen.
 */
static double calendar_life(const struct cons_state *cs)
{
  double use = 0, rate = 0;
  int d, n = 0;
  for(d = 0; d < 7; d++) {
    double u = (double)cs->pred.dow_use[d], t = (double)cs->pred.dow_time[d];
    use += u;
    if(t >= CAL_LIFE_MIN_DAY) {
      rate += u > 0 ? u / t : 0;
      n++;
    }
  }
  return use >= QUANTITY_MIN_USE && n > 0 && rate > 0 ? (double)n / rate : NAN;
}

/*
 * Fill *w for cs at now_ms from the prediction pr when cs's part is measured in working
 * time: a machine idle on some days (predict_work_clock), a wear that is linear in its
 * level (not the clogging model) and a level read. The life is the mean of the past
 * intervals in working days (not their median: the profile has one factor per day, so
 * a burst that straddles two days counts half its hours on each, and an interval
 * inside it reads short, one across it long; their sum, and so their mean, is right:
 * plant seed 13's p29, whose Saturday ran from 13:00 to 13:00 UTC, read 2.2, 5.3 and
 * 5.6 working days for parts of 4.4), and its spread their standard deviation (at
 * least a tenth of the life; a quarter while fewer than two intervals are known).
 * Before any interval, the life is the profile's own: the time it saw over the wear
 * it saw (idle days included); so also while the intervals' mean is off the calendar
 * life by more than half again (intervals recorded before the week was known are in
 * calendar days). A faster wear is followed in working time: the installed part's
 * working age over the share of it worn, once a fifth of the life passed and a fifth of
 * the part is worn. Returns false (and *w unset) when not measured so.
 */
static bool work_figures(const struct cons_state *cs, const struct prediction *pr, int64_t now_ms,
                         struct work_figs *w)
{
  double sum = 0, ss = 0;
  size_t k, n = cs->pred.n_intervals;
  if(pr->exponential || !isfinite(pr->level_pct) || !predict_work_clock(&cs->pred, w->f))
    return false;
  w->rem = pr->level_pct / 100.0;
  w->rem = w->rem < 0 ? 0 : (w->rem > 1 ? 1 : w->rem);
  if(n == 0) {
    w->life = calendar_life(cs);
    if(isnan(w->life))
      return false;
    w->sd = 0.25 * w->life;
    return true;
  }
  for(k = 0; k < n; k++)
    sum += (double)cs->pred.intervals_d[k];
  w->life = sum / (double)n;
  if(!isfinite(w->life) || !(w->life > 0))
    return false;
  for(k = 0; k < n; k++)
    ss += ((double)cs->pred.intervals_d[k] - w->life) * ((double)cs->pred.intervals_d[k] - w->life);
  w->sd = n >= 2 ? sqrt(ss / (double)(n - 1)) : 0;
  w->sd = w->sd > (n >= 2 ? 0.1 : 0.25) * w->life ? w->sd : (n >= 2 ? 0.1 : 0.25) * w->life;
  {
    /* the intervals recorded before the week was known are in calendar days (a few hours
       inside a burst, a week across one: predict.c's note_replacement), the later ones in
       working days; while their mean is far from the calendar life the weekly profile
       shows (as many working days a part, a week being 7 of each), that one: a part of 4
       days whose intervals read half a day ordered 7 units with 8 on the shelf the day
       its week became known */
    double cal = calendar_life(cs);
    if(isfinite(cal) && (w->life < cal / 1.5 || w->life > cal * 1.5)) {
      w->life = cal;
      w->sd = 0.25 * cal;
    }
  }
  if(cs->replaced_ms != INT64_MIN && now_ms >= cs->replaced_ms) {
    /* the installed part's working age, to its first worn-out reading */
    int64_t end =
        predict_worn_ms(&cs->pred) > cs->replaced_ms && predict_worn_ms(&cs->pred) < now_ms ? predict_worn_ms(&cs->pred) : now_ms;
    double age = predict_work_days(w->f, cs->replaced_ms, end), worn = 1 - w->rem;
    if(age >= 0.2 * w->life && worn >= 0.2 && age / worn < 0.75 * w->life) {
      w->sd *= age / worn / w->life;
      w->life = age / worn;
    }
  }
  return true;
}

/*
 * The life the default rule's quantity divides by (rule_snapshot.life_days), from `life`
 * (faster_life's figure) and the consumable's predictor state cs. Before any interval
 * between replacements was seen, `life` is 100 / rate_per_day, the rate the fit sees while
 * the part wears: for a part that runs in shifts or bursts (a machine used on Saturdays
 * only) several times its rate over calendar days, and a line sized on it covered the
 * replenishment time at that rate (seed 1's p29 in bench/plant: 30-36 units on its first
 * line for a part that uses ~35 a year). Until the weekly profile has seen every day of
 * the week (most of it, as the predictor's weekly factors need), the life is at least the
 * calendar life: the time the readings spanned over the wear seen in it (the profile's
 * sums, idle hours and days included). The calendar life also stands in while `life` is
 * not known at all (the fit sees no rate: a part that wears in bursts, read mostly in its
 * flat days, whose risk fired on its low bound; seed 7's p17: lines of one unit for a part
 * lasting a week, 15 days away) once QUANTITY_MIN_USE of a part's wear was seen. Returns
 * that; `life` itself once a part life was completed or the whole week seen (and `life`
 * known), or while too little wear was seen.
 */
static double quantity_life(const struct cons_state *cs, double life)
{
  double cal;
  int d;
  if(cs->pred.n_intervals > 0 || isnan(cal = calendar_life(cs)))
    return life;
  if(!isfinite(life) || life <= 0)
    return cal;
  for(d = 0; d < 7; d++)
    if(cs->pred.dow_time[d] < 0.8f) /* the week not seen yet */
      return cal > life ? cal : life;
  return life;
}

/*
 * The calendar life of a part of a machine idle on some days, for the floor of the
 * default rule's life (rule_snapshot.life_days): the time the weekly profile saw over
 * the wear seen in it (idle days included; the hours a part stood worn out are not in
 * it), when some day of the week seen (most of a day) wore under a quarter of the mean
 * rate. NAN when no such idle day was seen or under QUANTITY_MIN_USE of a part's wear:
 * a part that wears every day (a faster wear after a rate change is followed there).
 */
static double idle_days_life(const struct cons_state *cs)
{
  double cal = calendar_life(cs);
  int d;
  if(isnan(cal))
    return NAN;
  for(d = 0; d < 7; d++)
    if(cs->pred.dow_time[d] >= 0.8f &&
       (double)cs->pred.dow_use[d] / (double)cs->pred.dow_time[d] < 0.25 / cal)
      return cal;
  return NAN;
}

/* cs's week (predict_work_clock()'s factors), all 1 (calendar days) when not known. */
static void part_week(const struct cons_state *cs, double f[7])
{
  int i;
  if(!cs->pred_ok || !predict_work_clock(&cs->pred, f))
    for(i = 0; i < 7; i++)
      f[i] = 1;
}

double reading_path_closed_days(struct reading_path *rp, const struct cfg_consumable *c,
                                int64_t now_ms, double days)
{
  double f[7];
  if(!cfg_next_closed(rp->cfg, now_ms))
    return days;
  part_week(cons_get(rp, c), f);
  return cfg_calendar_days_week(rp->cfg, f, now_ms, days);
}

/*
 * The plant calendar on a snapshot's figures: days_left, its bounds, cover and
 * position are running time from now_ms (the predictor's, and work_figures'
 * weekly profile on top), each becomes calendar time with the closed periods
 * ahead skipped over in the part's working time (cfg_calendar_days_week: its
 * week, when known, is cs's predict_work_clock()); empty_at moves with
 * days_left. Nothing changes without a calendar or with no closed period ahead.
 */
static void stretch_closed(const struct cfg *cfg, const struct cons_state *cs, int64_t now_ms,
                           struct rule_snapshot *out)
{
  static const enum expr_var days[] = {
    EXPR_VAR_DAYS_LEFT, EXPR_VAR_DAYS_LEFT_P10, EXPR_VAR_DAYS_LEFT_P90, EXPR_VAR_COVER_DAYS,
    EXPR_VAR_COVER_DAYS_P10, EXPR_VAR_COVER_DAYS_P90, EXPR_VAR_POSITION_DAYS};
  double before = out->vars[EXPR_VAR_DAYS_LEFT], f[7];
  size_t i;
  if(!cfg_next_closed(cfg, now_ms))
    return;
  part_week(cs, f);
  for(i = 0; i < RS_ARRAY_LEN(days); i++)
    out->vars[days[i]] = cfg_calendar_days_week(cfg, f, now_ms, out->vars[days[i]]);
  if(out->empty_at_ms != INT64_MAX && isfinite(before) && isfinite(out->vars[EXPR_VAR_DAYS_LEFT]))
    out->empty_at_ms += (int64_t)llround((out->vars[EXPR_VAR_DAYS_LEFT] - before) * 86400000.0);
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
      lp = entry_live(e);
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
  out->vars[EXPR_VAR_LEAD_TIME_DAYS] =
    c->spec->item ? (double)c->spec->item->lead_time_ms / 86400000.0 : 0;
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
  if(cs->lead_s >= 0)
    out->vars[EXPR_VAR_LEAD_TIME_DAYS] = (double)cs->lead_s / 86400.0;
  /* a delivery ordered now takes the lead time, or what the last ones took when longer
     (batching, a person's approval, a slow shop) */
  out->replenish_days = out->vars[EXPR_VAR_LEAD_TIME_DAYS];
  if(cs->replenish_s >= 0 && (double)cs->replenish_s / 86400.0 > out->replenish_days)
    out->replenish_days = (double)cs->replenish_s / 86400.0;
  /* a part a person must approve whose own deliveries taught nothing yet: the wait for
     the people approving the plant's orders (learned from the others) comes on top */
  if(cs->replenish_s < 0 && c->spec->item && c->spec->item->approval == CFG_APPROVAL_REQUIRED &&
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
    struct work_figs w;
    double life = faster_life(cs, &pr, now_ms, predict_typical_life_days(&cs->pred, &pr));
    double lo = life, hi = life, inst = pr.days_left, inst10 = pr.days_left_p10;
    /* the part must last until a delivery ordered now is received and fitted: the
       replenishment time (the lead time, or what the last deliveries took when
       longer) plus orders.handling_time */
    double horizon =
        out->replenish_days + (rp->cfg ? (double)rp->cfg->orders.handling_ms / 86400000.0 : 0.5);
    /* the plant calendar (calendar.closed): the figures below are made in running time
       and turned into calendar time at the end (stretch_closed); the horizon, calendar
       days, is compared in running time (a delivery arriving after a shutdown must
       cover only the running days before it), in the part's week: a closed day it
       idles anyway takes nothing off */
    {
      double f[7];
      struct predict_cal cal;
      part_week(cs, f);
      horizon = predict_open_days(f, now_ms, horizon, path_cal(rp, &cal));
    }
    out->life_days = quantity_life(cs, life);
    /* a wear seen in bursts (the fit's life under half the life over all the time seen,
       idle hours included: quantity_life; a clogging curve's early rate is no burst)
       counts the shelf at the longer one too, until the week is known (then in working
       time, work_figures) */
    if(out->life_days > 2 * life && !pr.exponential)
      life = lo = hi = out->life_days;
    else if(!pr.exponential) {
      /* and once a part was fitted (quantity_life then takes the fit's life) while its
         week is not measured in working time yet: the calendar life of a part of a
         machine idle on some days (idle_days_life, the floor of the quantity's life
         below); the shelf counted at the fit's life read 1 day a part for one of 4
         (bench/plant seed 23's p23: a second line with 10 on the shelf) */
      double cal = idle_days_life(cs);
      if(cal > 2 * life)
        life = lo = hi = cal;
    }
    out->vars[EXPR_VAR_LEVEL_PCT] = pr.level_pct;
    out->vars[EXPR_VAR_DAYS_LEFT] = pr.days_left;
    out->vars[EXPR_VAR_RATE_PER_DAY] = pr.rate_per_day;
    out->vars[EXPR_VAR_CONFIDENCE] = pr.confidence;
    out->empty_at_ms = pr.empty_at_ms;
    out->vars[EXPR_VAR_DAYS_LEFT_P10] = pr.days_left_p10;
    out->vars[EXPR_VAR_DAYS_LEFT_P90] = pr.days_left_p90;
    if(work_figures(cs, &pr, now_ms, &w)) {
      /* in working time (work_figures): the installed part's share of a part's life,
         the shelf's and then what is on the way, back to calendar days from now */
      double sp = cs->spares > 0 ? (double)cs->spares : 0;
      double cover = (w.rem + sp) * w.life;
      /* the parts' lives add up, their spreads as independent ones: 10 % and 90 % */
      double z = 1.2816 * w.sd * sqrt(w.rem * w.rem + sp);
      out->life_days = w.life;
      out->vars[EXPR_VAR_COVER_DAYS] = predict_calendar_days(w.f, now_ms, cover);
      out->vars[EXPR_VAR_POSITION_DAYS] = predict_calendar_days(
          w.f, now_ms,
          cover + (out->vars[EXPR_VAR_ON_ORDER] > 0 ? out->vars[EXPR_VAR_ON_ORDER] : 0) * w.life);
      out->vars[EXPR_VAR_COVER_DAYS_P10] =
          predict_calendar_days(w.f, now_ms, cover - z > 0 ? cover - z : 0);
      out->vars[EXPR_VAR_COVER_DAYS_P90] = predict_calendar_days(w.f, now_ms, cover + z);
      out->vars[EXPR_VAR_RUNOUT_RISK] = predict_risk_within(
          out->vars[EXPR_VAR_COVER_DAYS_P10], out->vars[EXPR_VAR_COVER_DAYS_P90], horizon);
    }
    else {
      /* once two or more intervals between replacements were seen, the shortest and the
         longest of them: a shelf of parts is not known to the day (its spread decides when to
         order), and in cover and position the installed part is not counted beyond the
         longest, less its age (a fit of a few hours' readings can say 20 days for a part
         that lasts 4; days_left itself stays the predictor's) */
      if(cs->pred.n_intervals >= 2 && isfinite(life)) {
        size_t k;
        for(k = 0; k < cs->pred.n_intervals; k++) {
          double d = (double)cs->pred.intervals_d[k];
          lo = d < lo ? d : lo;
          hi = d > hi ? d : hi;
        }
        if(cs->replaced_ms != INT64_MIN && now_ms >= cs->replaced_ms) {
          double cap = hi - (double)(now_ms - cs->replaced_ms) / 86400000.0;
          cap = cap > 0 ? cap : 0;
          /* (a part not depleting, or bounds not known yet, stay so) */
          inst = isfinite(inst) && inst > cap ? cap : inst;
          inst10 = isfinite(inst10) && inst10 > cap ? cap : inst10;
        }
      }
      /* with parts on the shelf, the order is due when the shelf runs out */
      out->vars[EXPR_VAR_COVER_DAYS] = cs->spares > 0 ? inst + (double)cs->spares * life : inst;
      if(isnan(out->vars[EXPR_VAR_COVER_DAYS]))
        out->vars[EXPR_VAR_COVER_DAYS] = INFINITY;
      /* inventory position: installed + on the shelf + on the way */
      out->vars[EXPR_VAR_POSITION_DAYS] =
          out->vars[EXPR_VAR_ON_ORDER] > 0
              ? out->vars[EXPR_VAR_COVER_DAYS] + out->vars[EXPR_VAR_ON_ORDER] * life
              : out->vars[EXPR_VAR_COVER_DAYS];
      if(isnan(out->vars[EXPR_VAR_POSITION_DAYS]))
        out->vars[EXPR_VAR_POSITION_DAYS] = INFINITY;
      {
        double shelf = cs->spares > 0 ? (double)cs->spares * life : 0;
        double c10, c90;
        c10 = inst10 + (cs->spares > 0 ? (double)cs->spares * lo : 0);
        c90 = pr.days_left_p90 + (cs->spares > 0 ? (double)cs->spares * hi : 0);
        out->vars[EXPR_VAR_COVER_DAYS_P10] = isnan(c10) ? INFINITY : c10;
        out->vars[EXPR_VAR_COVER_DAYS_P90] = isnan(c90) ? INFINITY : c90;
        out->vars[EXPR_VAR_RUNOUT_RISK] = predict_risk_within(
            out->vars[EXPR_VAR_COVER_DAYS_P10], out->vars[EXPR_VAR_COVER_DAYS_P90], horizon);
        if(pr.days_left_p10 == INFINITY && isfinite(life) && life > 0 &&
           cs->replaced_ms != INT64_MIN && now_ms >= cs->replaced_ms &&
           (double)(now_ms - cs->replaced_ms) / 86400000.0 < life) {
          /* the bounds are unknown for a day after a replacement (too little history; a
             weekly part replaced on a Friday: until Monday's wear is seen), but the past
             replacements say how long a part lasts: until the bounds are known (and no
             longer than that life: a part that stopped wearing is not ordered for again),
             the risk is read from that life, spread +-25 % */
          double age = (double)(now_ms - cs->replaced_ms) / 86400000.0;
          double cover = life - age + shelf;
          out->vars[EXPR_VAR_RUNOUT_RISK] =
              predict_risk_within(cover * 0.75, cover * 1.25, horizon);
          /* and the cover and position the default rule's quantity reads, when the
             predictor has none yet (else a line made now would be one pack) */
          if(!isfinite(out->vars[EXPR_VAR_COVER_DAYS])) {
            out->vars[EXPR_VAR_COVER_DAYS] = cover;
            out->vars[EXPR_VAR_POSITION_DAYS] = cover + out->vars[EXPR_VAR_ON_ORDER] * life;
          }
        }
      }
    }
    stretch_closed(rp->cfg, cs, now_ms, out);
    {
      /* a part of a machine idle on some days is not ordered for at under half its
         calendar life (idle_days_life): its intervals, a few hours inside a burst or a
         week across one, in calendar days while the week was not known yet and in
         working days after, read lives of 1-1.5 days for a part of 4.7 (plant seed 17's
         p17: lines of 18 and 14 units, 29 spares on the shelf) */
      double cal = idle_days_life(cs);
      if(!pr.exponential && cal > 2 * out->life_days)
        out->life_days = cal;
    }
  }
  if(out->held && cs->hold == STORE_HOLD_EXPIRED && rp->cfg &&
     out->vars[EXPR_VAR_DAYS_LEFT] < out->vars[EXPR_VAR_LEAD_TIME_DAYS] &&
     (cs->redraft_ms <= 0 || now_ms - cs->redraft_ms >= rp->cfg->orders.approval.redraft_after_ms)) {
    /* SPEC 7: it runs out before a delivery could arrive: one urgent request now */
    out->held = false;
    out->urgent = true;
  }
  out->stale = !lp || !lp->has_value || now_ms - lp->value_ms > c->spec->stale_after_ms;
  if(e && c->spec->model == CFG_MODEL_BUTTON) {
    out->button_pressed = entry_live(e)->pressed;
    entry_live(e)->pressed = false;
  }
}
