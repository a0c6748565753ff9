/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cfg_schema: the key-table walker that every YAML file of the project is
 * read with (restock.yaml and devices.d/rules.d in cfg_load.c, restock-sim's
 * file in sim/simcfg.c). A table lists a mapping's keys with type, bounds,
 * default and where the value goes; cfg_walk_map() reports unknown keys
 * (with "did you mean"), wrong types, out-of-range values and missing
 * required keys as "file:line:col: key.path: what (expected)", converts the
 * rest into the object and fills defaults.
 */
#ifndef RS_CFG_SCHEMA_H
#define RS_CFG_SCHEMA_H

#include <stdarg.h>
#include <stddef.h>

#include "config/cfg_internal.h"

#define CFG_KNONE   ((size_t)-1)
#define CFG_MAXKEYS 24

enum kt {
  KT_STR, KT_ID, KT_SKU, KT_BOOL, KT_INT, KT_FLOAT, KT_DUR, KT_PCT, KT_MONEY,
  KT_ENUM, KT_ENUMC, KT_SECRET, KT_PATH, KT_STRLIST, KT_KV, KT_MAP, KT_SEQ, KT_COND
};

struct ckey {
  const char *name;
  enum kt t;
  size_t off;        /* into the object; CFG_KNONE: checked only, handled by code */
  unsigned size;     /* KT_INT / KT_ENUM target size */
  bool req;
  int64_t min, max;  /* KT_INT and KT_DUR bounds; KT_ENUM: value of the first token */
  const char *def;   /* default, written as in YAML */
  const char *const *tok; /* KT_ENUM tokens, NULL-terminated */
  size_t off2;       /* KT_STRLIST / KT_KV: offset of the count */
};

/* A table and what to call it when one of its keys shows up elsewhere. */
struct calt {
  const struct ckey *k;
  size_t n;
  const char *label;
};

/* What a walk found: value and key node per table entry. */
struct walk {
  const struct cfg_node *v[CFG_MAXKEYS];
  const struct cfg_node *k[CFG_MAXKEYS];
  bool ok[CFG_MAXKEYS]; /* converted without error */
  const struct ckey *keys;
  size_t n;
};

#define FSZ(T, f) ((unsigned)sizeof(((T *)0)->f))
#define K(name, t, T, f, req, lo, hi, def) \
  {name, t, offsetof(T, f), FSZ(T, f), req, lo, hi, def, NULL, 0}
#define KE(name, T, f, req, base, def, tok) \
  {name, KT_ENUM, offsetof(T, f), FSZ(T, f), req, base, 0, def, tok, 0}
#define KL(name, t, T, f, nf) {name, t, offsetof(T, f), 0, false, 0, 0, NULL, NULL, offsetof(T, nf)}
#define KX(name, t, req) {name, t, CFG_KNONE, 0, req, 0, 0, NULL, NULL, 0}

#define I64MAX INT64_MAX
#define D_MS   1
#define D_S    1000
#define D_M    60000
#define D_H    3600000
#define D_D    86400000
#define D_W    604800000

/* Where a walk reports and allocates: the result's arena A, a scratch arena T
 * (key name lists), the diagnostics, the current file and the directory that
 * relative KT_PATH / KT_SECRET values are resolved against. */
/*
 * Things of one load kept once each (RSS, docs/BENCHMARKS.md): interned
 * strings (ids, SKUs and other scalars repeat across devices: "p0",
 * "PART-1"), consumables' settings blocks, devices' point lists. An
 * open-addressing set of pointers to them, at most 3/4 full, its table on
 * the heap (cfg_ptrset_free; the members stay where they are); hash and eq
 * say when two members are the same.
 */
struct cfg_ptrset {
  const void **v; /* cap slots, a power of two; NULL: empty */
  size_t cap, n;
  uint64_t (*hash)(const void *x);
  bool (*eq)(const void *a, const void *b);
};

/* FNV-1a over n bytes, continued from h (CFG_FNV_INIT to start). */
#define CFG_FNV_INIT 1469598103934665603ull
uint64_t cfg_fnv(uint64_t h, const void *buf, size_t n);
/* The member the same as x, or NULL. */
const void *cfg_ptrset_find(const struct cfg_ptrset *ps, const void *x);
/* Add x, which has no member the same as it. Allocation failure aborts. */
void cfg_ptrset_add(struct cfg_ptrset *ps, const void *x);
/* Free the set's table (its members stay). */
void cfg_ptrset_free(struct cfg_ptrset *ps);
/* A set of strings for cfg_intern() (strcmp() and FNV-1a). */
#define CFG_STRSET_INIT {NULL, 0, 0, cfg_str_hash, cfg_str_eq}
uint64_t cfg_str_hash(const void *s);
bool cfg_str_eq(const void *a, const void *b);

struct cfg_kctx {
  struct rs_arena *A;
  struct rs_arena *T;
  struct cfg_dcol *dc;
  const char *file;
  const char *absdir;
  struct cfg_ptrset *strs; /* strings (CFG_STRSET_INIT); NULL: every string its own copy */
};

/*
 * s in kc->A: the copy already there when kc->strs has one, else a new copy
 * (recorded in kc->strs). Allocation failure aborts. The config is
 * immutable, so equal strings may share their bytes.
 */
const char *cfg_intern(const struct cfg_kctx *kc, const char *s);

/*
 * Whether list item n (at path) is a mapping, as a list of what keys wants;
 * when it is not (and was not reported already), reports "got <kind>
 * (expected a mapping with <what>)".
 */
bool cfg_want_map(const struct cfg_kctx *kc, const struct cfg_node *n, const char *path,
                  const char *what);
/* An error (or warning) at node n (its position; NULL: none) about `path`. */
void cfg_kerr(const struct cfg_kctx *kc, bool warning, const struct cfg_node *n, const char *path,
              const char *fmt, ...) RS_PRINTF(5, 6);

/* "parent.key" / "parent[i]" into buf, cut (never overflowed) when too deep. */
void cfg_kpath(char *buf, size_t size, const char *parent, const char *key);
void cfg_ipath(char *buf, size_t size, const char *parent, size_t i);

/* "a mapping", "a list" or "a scalar". */
const char *cfg_kind_name(const struct cfg_node *n);

/*
 * Convert value node v for key k into obj (nothing written when k->off is
 * CFG_KNONE). Reports the problem and returns -1 when the value is not
 * acceptable (obj untouched then); 0 when it is.
 */
int cfg_conv(const struct cfg_kctx *kc, const struct cfg_node *v, const char *path,
             const struct ckey *k, void *obj);

/*
 * Walk mapping `map` at `path` against keys[nk]: unknown keys are errors
 * (with a hint from the alt tables, or "did you mean"), each known value is
 * converted into obj, missing required keys are errors at the mapping,
 * defaults fill the rest. w records what was found (nk <= CFG_MAXKEYS).
 */
void cfg_walk_map(const struct cfg_kctx *kc, const struct cfg_node *map, const char *path,
                  const struct ckey *keys, size_t nk, void *obj, struct walk *w,
                  const struct calt *alts, size_t nalt);
/*
 * The same, for a mapping some of whose keys the caller reads itself (marked
 * skip in the tree): extra (NULL-terminated) names them, so that an unknown
 * key's message lists them and suggests them too (restock-sim's `value`).
 */
void cfg_walk_map_extra(const struct cfg_kctx *kc, const struct cfg_node *map, const char *path,
                        const struct ckey *keys, size_t nk, void *obj, struct walk *w,
                        const struct calt *alts, size_t nalt, const char *const *extra);

/* The value node found for key `name` in a walk (NULL: not given). */
const struct cfg_node *cfg_wv(const struct walk *w, const char *name);
/* The same when present, of kind `kind` and not already reported bad. */
const struct cfg_node *cfg_wc(const struct walk *w, const char *name, enum cfg_nkind kind);
/* Whether key `name` was given and its value accepted. */
bool cfg_wok(const struct walk *w, const char *name);
/* The key node of `name` (for positions), or NULL. */
const struct cfg_node *cfg_wkey(const struct walk *w, const char *name);

/*
 * A device's `points:` list (SPEC section 4) into d->points / d->n_points
 * (kc->A), every problem reported under "dpath.points[i]": the key tables,
 * types per register table, bit, width and address, CoAP path, format,
 * pointer and name, duplicate ids, `scale: 0`. d->transport and d->endian
 * must be set. Keys marked skip in the tree are left to the caller
 * (restock-sim's value); extra (NULL-terminated, or NULL) names them, for the
 * unknown-key messages' lists and did-you-mean. overlaps: warn about Modbus
 * points that read the same register or bit (restock's loader; restock-sim
 * refuses them itself: one register cannot hold two simulated values).
 */
void cfg_load_points(const struct cfg_kctx *kc, struct cfg_device *d, const struct cfg_node *seq,
                     const char *dpath, const char *const *extra, bool overlaps);

/* One key table of the loader, named by where it applies ("orders.batching"). */
struct cfg_key_table {
  const char *name;
  const struct ckey *keys;
  size_t n;
};
/*
 * The loader's key tables of restock.yaml, devices.d and rules.d (cfg_load.c),
 * *n of them: for holding docs/configuration.md's defaults against them.
 */
const struct cfg_key_table *cfg_load_key_tables(size_t *n);

#endif
