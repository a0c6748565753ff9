/* SPDX-License-Identifier: Apache-2.0 */
/*
 * predict: depletion prediction (SPEC section 6). See rules/predict.h for
 * the interface and docs/prediction.md for the method and its reasons.
 */
#include "rules/predict.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "config/config.h"

#define DAY_MS      86400000.0
#define DAY_S       86400.0
#define MAX_WIDTH_S (1u << 30)

/* Fit kinds kept in struct predictor's fit_kind. */
enum { FIT_NONE = 0, FIT_LINEAR = 1, FIT_EXP = 2 };

/* Tuning constants (documented in docs/prediction.md). */
#define MIN_BUCKETS       3    /* closed buckets before any fit */
#define FULL_HIST         16   /* closed buckets for full history confidence */
#define RECENT_MIN        16   /* buckets before rate changes are looked for */
#define RECENT_SPAN_D     14.0 /* days: on this much, a change may go either way ... */
#ifndef RECENT_GAIN
#define RECENT_GAIN       0.2  /* ... and must exceed this share of the old slope */
#endif
#ifndef RECENT_GAIN_WEEK
#define RECENT_GAIN_WEEK  0.4  /* 7 to 14 days: only faster, by this share */
#endif
#ifndef RECENT_GAIN_SHORT
#define RECENT_GAIN_SHORT 0.5  /* 3 to 7 days: only faster, by this share */
#endif
#ifndef RECENT_PTS
#define RECENT_PTS        5    /* buckets at least in the recent part of a change */
#endif
#ifndef RECENT_SPAN_MIN
#define RECENT_SPAN_MIN   3.0  /* days: no change on a shorter recent window */
#endif
#ifndef RECENT_SPAN_FAST
#define RECENT_SPAN_FAST  1.0  /* days: ... unless the readings stay below the line (off_n) */
#endif
#define EXP_MIN           8    /* buckets before the clogging model is tried */
#define EXP_GAIN          1.0  /* clogging model chosen unless it fits worse than a line */
#define OUTLIER_K         3.5  /* robust sigmas beyond which a bucket is an outlier */
#define ANCHOR_SIGMAS     3.0  /* reading this far from the line anchors instead */
#define NOISE_CLIP        0.05 /* a single difference counts at most this much */
#define NOISE_ALPHA       0.05
#define NOISE_JUMP        4.0  /* a replacement jump exceeds NOISE_JUMP x noise */
/* A sudden drop (docs/prediction.md, "Glitches"): pend_n's value while one is
   held back (pend_t/pend_raw [0]: its first reading, [1]: the latest), and
   how long it is held before it counts as the part's true level. */
#define PEND_DIP          0xff
#ifndef DIP_MAX_MS
#define DIP_MAX_MS        (3600000LL)
#endif
#define RATE_EPS          1e-9 /* remaining per day below which nothing depletes */
/* Bounds (docs/prediction.md, "Bounds"); tuned on bench/predict's development seeds
   (1, 2). The #ifndef guards let a tuning build override them with -D; the
   shipped values are these. */
#define Z10               1.2816 /* standard normal 90 % quantile */
#ifndef K_PROC
#define K_PROC            0.13   /* relative sd of the future rate (drift, shifts) */
#endif
#ifndef K_JIT
#define K_JIT             1.0    /* sd of the time jitter, in fit residual days */
#endif
#ifndef K_READ
#define K_READ            0.0    /* sd of a reading anchor, in reading sigmas */
#endif
#ifndef MIN_BOUND_HIST
#define MIN_BOUND_HIST    0.25f  /* history confidence (6 buckets) before any bound */
#endif
#ifndef K_DROP
#define K_DROP            0.3    /* sd added per day without readings, days */
#endif
#ifndef K_WEEK
#define K_WEEK            1      /* 1: shape the forecast by the learned weekly profile */
#endif
#ifndef SLOWER_SE
#define SLOWER_SE         6.0    /* standard errors a slower rate must differ by */
#endif
#ifndef STUCK_NOT_IDLE
#define STUCK_NOT_IDLE    1      /* 1: a freeze that ended as a stuck sensor is no normal pause */
#endif
#ifndef CHANGE_BOUNDS
#define CHANGE_BOUNDS     1      /* 1: bounds known after a change on a short recent part */
#endif
#ifndef CHANGE_RSE
#define CHANGE_RSE        0.25   /* ... when the recent rate is known to this relative error */
#endif
#ifndef REMEMBER_D
#define REMEMBER_D        14.0   /* days: a change seen on this much of recent part is remembered */
#endif
#ifndef FASTER_SE
#define FASTER_SE         2.0    /* standard errors any change must differ by */
#endif
#ifndef FROZEN_QUIET_D
#define FROZEN_QUIET_D    14.0   /* an exact (noise-free) value frozen this long is suspect */
#endif
#ifndef MOVE_FULL
#define MOVE_FULL         1      /* the rate before a freeze comes from a fit on a full history */
#endif
#ifndef OFF_CLOSE
#define OFF_CLOSE         4      /* while readings stay below the line, a bucket closes at 1/OFF_CLOSE of its width */
#endif
#ifndef QUIET_STEPS
#define QUIET_STEPS       1.0    /* a noisy value frozen for less than this many steps' use is no freeze */
#endif
#ifndef NEW_CONF_MIN
#define NEW_CONF_MIN      0.05   /* a new part's bounds need this confidence ... */
#endif
#ifndef NEW_PART_D
#define NEW_PART_D        3.0    /* ... in its first days */
#endif
#ifndef FROZEN_CONF_D
#define FROZEN_CONF_D     3.0    /* days frozen beyond the normal pause that halve the confidence */
#endif
#ifndef IDLE_CAP_D
#define IDLE_CAP_D        3.0    /* a pause longer than this is never "normal" */
#endif
#ifndef STUCK_MIN_D
#define STUCK_MIN_D       0.5    /* days: a shorter freeze is never taken for a stuck sensor */
#endif
#ifndef STUCK_SHARE
#define STUCK_SHARE       0.5    /* ... and its end must jump by this share of the use meanwhile */
#endif
#ifndef ANCHOR_BLEND
#define ANCHOR_BLEND      1      /* 1: blend line and reading by wander and noise */
#endif
#ifndef OFF_CONFIRM
#define OFF_CONFIRM       3      /* filtered readings off the line in a row that move the anchor */
#endif
#ifndef CONFIRM_GAIN_FAST
#define CONFIRM_GAIN_FAST 0.15   /* a speed-up those readings confirm: this share on any recent span */
#endif
#define OFF_MAX           100
#ifndef SKIP_OFF_WEEK
#define SKIP_OFF_WEEK     1
#endif
#ifndef REFUTE_SIGMAS
#define REFUTE_SIGMAS     3.0    /* a newest reading this far above a speed-up's line, nearer the old one, refutes it */
#endif
#ifndef WEEK_FIT
#define WEEK_FIT          1      /* 1: fit lines in working time once the weekly profile is known */
#endif
#ifndef WEEK_FIT_D
#define WEEK_FIT_D        7.0    /* ... and the segment spans this many days */
#endif
#ifndef STOP_SKIP
#define STOP_SKIP         1      /* 1: stops are taken out of the lines' time (skip_stops) */
#endif
#ifndef STOP_MIN_D
#define STOP_MIN_D        4.0    /* days: a shorter run of one value is no stop (a weekend) */
#endif
#ifndef STOP_STEPS
#define STOP_STEPS        3.0    /* ... nor one over which the rate uses fewer of the sensor's steps */
#endif
#ifndef STOP_SHARE
#define STOP_SHARE        0.25   /* ... nor one that ends with a jump of this share of that use */
#endif
#define WRAP_SHARE        0.25   /* a wrap: old value in the top, new in the bottom quarter */

const char *predict_strerror(int err)
{
  switch(err) {
  case PREDICT_OK:
    return "no error";
  case PREDICT_ERR_PARAMS:
    return "invalid prediction parameters";
  case PREDICT_ERR_SPACE:
    return "buffer too small for the predictor state";
  case PREDICT_ERR_TRUNCATED:
    return "predictor state is truncated";
  case PREDICT_ERR_FORMAT:
    return "predictor state is corrupt";
  case PREDICT_ERR_VERSION:
    return "predictor state has an unknown version";
  case PREDICT_ERR_MODEL:
    return "predictor state belongs to another consumable model";
  case PREDICT_ERR_OLD:
    return "predictor state was saved by an older version";
  default:
    return "unknown prediction error";
  }
}

void predict_params_default(struct predict_params *p, enum predict_model model)
{
  memset(p, 0, sizeof(*p));
  p->model = model;
  p->full = 1.0;
  p->empty = 0.0;
  p->life = 1.0;
  p->start = 0.0;
  p->prior_life_days = 0.0;
  /* A counter drop of 1% of life is already far beyond any counter noise. */
  p->jump_min = model == PREDICT_MODEL_USAGE ? 0.01 : 0.1;
  p->z = 0.5;
  p->bucket_ms = 15 * 60 * 1000;
}

/* Whether params can drive a predictor. */
static bool params_ok(const struct predict_params *p)
{
  if(!p)
    return false;
  if(p->model != PREDICT_MODEL_LEVEL && p->model != PREDICT_MODEL_USAGE &&
     p->model != PREDICT_MODEL_BUTTON)
    return false;
  if(!isfinite(p->full) || !isfinite(p->empty) || !isfinite(p->life) || !isfinite(p->start) ||
     !isfinite(p->prior_life_days) || !isfinite(p->jump_min) || !isfinite(p->z))
    return false;
  if(fabs(p->full) > 1e15 || fabs(p->empty) > 1e15 || fabs(p->start) > 1e15 || p->life > 1e15)
    return false;
  if(p->model == PREDICT_MODEL_LEVEL && !(fabs(p->full - p->empty) >= 1e-9))
    return false;
  if(p->model == PREDICT_MODEL_USAGE && !(p->life >= 1e-9))
    return false;
  if(p->prior_life_days < 0 || !(p->jump_min > 0) || p->jump_min > 1 || p->z < 0 || p->z > 10)
    return false;
  if(p->bucket_ms < 1000 || p->bucket_ms > (int64_t)MAX_WIDTH_S * 1000)
    return false;
  return true;
}

int predict_params_from_cfg(const struct cfg_consumable *c, struct predict_params *out)
{
  enum predict_model m;
  if(!c || !out)
    return PREDICT_ERR_PARAMS;
  switch(c->spec->model) {
  case CFG_MODEL_LEVEL:
    m = PREDICT_MODEL_LEVEL;
    break;
  case CFG_MODEL_USAGE:
    m = PREDICT_MODEL_USAGE;
    break;
  case CFG_MODEL_BUTTON:
    m = PREDICT_MODEL_BUTTON;
    break;
  default:
    return PREDICT_ERR_PARAMS;
  }
  predict_params_default(out, m);
  if(m == PREDICT_MODEL_LEVEL) {
    out->full = c->spec->full;
    out->empty = c->spec->empty;
  }
  else if(m == PREDICT_MODEL_USAGE) {
    out->life = c->spec->life;
    out->start = c->spec->start;
  }
  return params_ok(out) ? PREDICT_OK : PREDICT_ERR_PARAMS;
}

/* One interned parameter block: chained in its hash slot. */
struct predict_params_node {
  struct predict_params_node *next;
  struct predict_params params;
};

/* The fields of a parameter block, compared bit for bit (padding aside). */
static bool params_same(const struct predict_params *a, const struct predict_params *b)
{
  return a->model == b->model && !memcmp(&a->full, &b->full, sizeof(double)) &&
         !memcmp(&a->empty, &b->empty, sizeof(double)) &&
         !memcmp(&a->life, &b->life, sizeof(double)) &&
         !memcmp(&a->start, &b->start, sizeof(double)) &&
         !memcmp(&a->prior_life_days, &b->prior_life_days, sizeof(double)) &&
         !memcmp(&a->jump_min, &b->jump_min, sizeof(double)) &&
         !memcmp(&a->z, &b->z, sizeof(double)) && a->bucket_ms == b->bucket_ms;
}

/* FNV-1a over n bytes, continuing from h. */
static uint64_t fnv(uint64_t h, const void *v, size_t n)
{
  const unsigned char *b = v;
  size_t i;
  for(i = 0; i < n; i++)
    h = (h ^ b[i]) * 0x100000001b3u;
  return h;
}

static uint64_t params_hash(const struct predict_params *pp)
{
  uint64_t h = 0xcbf29ce484222325u;
  unsigned m = (unsigned)pp->model;
  h = fnv(h, &m, sizeof(m));
  h = fnv(h, &pp->full, sizeof(double));
  h = fnv(h, &pp->empty, sizeof(double));
  h = fnv(h, &pp->life, sizeof(double));
  h = fnv(h, &pp->start, sizeof(double));
  h = fnv(h, &pp->prior_life_days, sizeof(double));
  h = fnv(h, &pp->jump_min, sizeof(double));
  h = fnv(h, &pp->z, sizeof(double));
  return fnv(h, &pp->bucket_ms, sizeof(pp->bucket_ms));
}

/*
 * The set's copy of *pp: the same pointer for every equal block, stable
 * until predict_params_set_free(). Grows its table at 3/4 load. NULL when
 * out of memory.
 */
const struct predict_params *predict_params_intern(struct predict_params_set *s,
                                                   const struct predict_params *pp)
{
  uint64_t h = params_hash(pp);
  struct predict_params_node *nd;
  if(s->cap) {
    for(nd = s->slots[h & (s->cap - 1)]; nd; nd = nd->next)
      if(params_same(&nd->params, pp))
        return &nd->params;
  }
  if((s->n + 1) * 4 > s->cap * 3) {
    size_t cap = s->cap ? s->cap * 2 : 16, i;
    struct predict_params_node **slots = calloc(cap, sizeof(*slots));
    if(!slots)
      return NULL;
    for(i = 0; i < s->cap; i++) {
      while(s->slots[i]) {
        nd = s->slots[i];
        s->slots[i] = nd->next;
        nd->next = slots[params_hash(&nd->params) & (cap - 1)];
        slots[params_hash(&nd->params) & (cap - 1)] = nd;
      }
    }
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
  }
  nd = malloc(sizeof(*nd));
  if(!nd)
    return NULL;
  nd->params = *pp;
  nd->next = s->slots[h & (s->cap - 1)];
  s->slots[h & (s->cap - 1)] = nd;
  s->n++;
  return &nd->params;
}

/* Free every block of the set (the predictors pointing into it go with it) and empty it. */
void predict_params_set_free(struct predict_params_set *s)
{
  size_t i;
  for(i = 0; i < s->cap; i++) {
    while(s->slots[i]) {
      struct predict_params_node *nd = s->slots[i];
      s->slots[i] = nd->next;
      free(nd);
    }
  }
  free(s->slots);
  s->slots = NULL;
  s->cap = 0;
  s->n = 0;
}

/* "No time" in struct predictor's 32-bit times. */
#define PT_NONE INT32_MIN

/* A 32-bit time of p (seconds since p->t0_ms) as wall ms; INT64_MIN for PT_NONE. */
static int64_t pt_ms(const struct predictor *p, int32_t ts)
{
  int64_t d = (int64_t)ts * 1000;
  if(ts == PT_NONE)
    return INT64_MIN;
  if(p->t0_ms == INT64_MIN)
    return 0; /* nothing given yet: the zeros of predict_init() */
  if(d > 0 && p->t0_ms > INT64_MAX - d)
    return INT64_MAX;
  if(d < 0 && p->t0_ms < INT64_MIN + 1 - d)
    return INT64_MIN + 1;
  return p->t0_ms + d;
}

/*
 * Wall ms as a 32-bit time of p: whole seconds since p->t0_ms, rounded down
 * and clamped (the first time given sets t0_ms); PT_NONE for INT64_MIN.
 */
static int32_t pt_ts_slow(struct predictor *p, int64_t ms)
{
  uint64_t u;
  if(ms == INT64_MIN)
    return PT_NONE;
  if(p->t0_ms == INT64_MIN)
    p->t0_ms = ms;
  if(ms >= p->t0_ms) {
    u = ((uint64_t)ms - (uint64_t)p->t0_ms) / 1000u;
    return u > (uint64_t)INT32_MAX ? INT32_MAX : (int32_t)u;
  }
  u = (uint64_t)p->t0_ms - (uint64_t)ms;
  u = u / 1000u + (u % 1000u != 0);
  return u >= (uint64_t)INT32_MAX ? PT_NONE + 1 : (int32_t)-(int64_t)u;
}

/* pt_ts(): the common case (a time at or after t0_ms, within 68 years of
   it) inline, the same result as pt_ts_slow(), which takes every other
   (it is called 3-4 times per reading: ~50 instructions a call out of line). */
static inline int32_t pt_ts(struct predictor *p, int64_t ms)
{
  if(p->t0_ms != INT64_MIN && ms >= p->t0_ms) {
    uint64_t u = ((uint64_t)ms - (uint64_t)p->t0_ms) / 1000u;
    if(u <= (uint64_t)INT32_MAX)
      return (int32_t)u;
  }
  return pt_ts_slow(p, ms);
}

/* What a zeroed predictor (refused parameters) points at: never depletes. */
static const struct predict_params params_none;

int predict_init(struct predictor *p, const struct predict_params *params)
{
  memset(p, 0, sizeof(*p));
  p->params = &params_none;
  if(!params || !params_ok(params))
    return PREDICT_ERR_PARAMS;
  p->params = params;
  p->t0_ms = INT64_MIN;
  p->seg_start_ts = PT_NONE;
  p->last_ts = PT_NONE;
  p->replaced_ts = PT_NONE;
  p->worn_ts = PT_NONE;
  p->move_ts = PT_NONE;
  p->base = params->model == PREDICT_MODEL_USAGE ? params->start : 0.0;
  p->width_s = (uint32_t)(params->bucket_ms / 1000);
  return PREDICT_OK;
}

/* ---- small numeric helpers ---- */

static double clamp01(double v)
{
  return v < 0 ? 0 : (v > 1 ? 1 : v);
}

static double med3(double a, double b, double c)
{
  if(a > b) {
    double t = a;
    a = b;
    b = t;
  }
  /* now a <= b */
  if(c <= a)
    return a;
  if(c >= b)
    return b;
  return c;
}

/*
 * The k-th smallest (0-based) of a[0..n-1], k < n, by quickselect with a
 * three-way partition (equal values cost nothing); a is reordered.
 * Expected O(n); NaN compares as equal to the pivot, so it terminates.
 */
static double select_kth(double *a, size_t n, size_t k)
{
  long lo = 0, hi = (long)n - 1, kk = (long)k;
  while(lo < hi) {
    double pivot = a[lo + (hi - lo) / 2];
    long lt = lo, gt = hi, i = lo;
    while(i <= gt) {
      double v = a[i];
      if(v < pivot) {
        a[i++] = a[lt];
        a[lt++] = v;
      }
      else if(v > pivot) {
        a[i] = a[gt];
        a[gt--] = v;
      }
      else
        i++;
    }
    if(kk < lt)
      hi = lt - 1;
    else if(kk > gt)
      lo = gt + 1;
    else
      return pivot;
  }
  return a[kk];
}

/* Quantile q (0..1) of a[0..n-1], n > 0, nearest rank; a is reordered. */
static double quantile(double *a, size_t n, double q)
{
  size_t k = (size_t)(q * (double)(n - 1) + 0.5);
  if(k >= n)
    k = n - 1;
  return select_kth(a, n, k);
}

/* Remaining fraction (unclamped) of a model value x (level: raw, usage: used). */
static double remaining_of(const struct predict_params *pp, double x)
{
  if(pp->model == PREDICT_MODEL_USAGE)
    return 1.0 - x / pp->life;
  return (x - pp->empty) / (pp->full - pp->empty);
}

/* Time of closed bucket i in seconds since the segment start. */
static uint32_t bt_s(const struct predictor *p, size_t i)
{
  return (uint32_t)p->bt[i] << p->t_shift;
}

/* The largest time unit exponent: 65535 << 16 s covers any seg_seconds(). */
#define T_SHIFT_MAX 16

/*
 * Store t_s (seconds since the segment start) as closed bucket i's time,
 * rounded to the time unit; when it does not fit in 16 bits, the unit
 * doubles first (the times of buckets 0..i-1 are halved, rounded).
 */
static void bt_put(struct predictor *p, size_t i, double t_s)
{
  double u;
  size_t j;
  while(p->t_shift < T_SHIFT_MAX && t_s / (double)(1u << p->t_shift) + 0.5 >= 65535.5) {
    for(j = 0; j < i; j++)
      p->bt[j] = (uint16_t)(((uint32_t)p->bt[j] + 1u) >> 1);
    p->t_shift++;
  }
  u = t_s / (double)(1u << p->t_shift) + 0.5;
  p->bt[i] = (uint16_t)(u >= 65535 ? 65535 : (u > 0 ? u : 0));
}

/* The largest value step exponent: 2^(X_SHIFT_MAX - 15) * 32768 far
   exceeds any remaining fraction of a value <= 1e15 on a range >= 1e-9. */
#define X_SHIFT_MAX 96

/* The model value x of a remaining fraction r (the inverse of remaining_of()). */
static double x_of_remaining(const struct predict_params *pp, double r)
{
  if(pp->model == PREDICT_MODEL_USAGE)
    return (1.0 - r) * pp->life;
  return pp->empty + r * (pp->full - pp->empty);
}

/*
 * Store model value x as closed bucket i's value, rounded to the value
 * step; when it does not fit in 16 bits, the step doubles first (the
 * values of buckets 0..i-1 are halved, rounded half to even). A value
 * beyond the widest range (an overflowing sum) is kept as its end, a NaN
 * as remaining 0.5.
 */
static void bx_put(struct predictor *p, size_t i, double x)
{
  double d = remaining_of(p->params, x) - 0.5, u;
  size_t j;
  if(isnan(d))
    d = 0;
  if(fabs(d) > 1e30)
    d = copysign(1e30, d);
  while(p->x_shift < X_SHIFT_MAX && fabs(ldexp(d, 15 - (int)p->x_shift)) >= 32767.5) {
    for(j = 0; j < i; j++)
      p->bx[j] = (int16_t)nearbyint((double)p->bx[j] / 2);
    p->x_shift++;
  }
  u = nearbyint(ldexp(d, 15 - (int)p->x_shift));
  p->bx[i] = (int16_t)(u >= 32767 ? 32767 : (u <= -32767 ? -32767 : u));
}

/* ---- the fit ---- */

struct line {
  double slope, se, anchor, t_ref, resid;
  bool ok;
};

/*
 * The interquartile mean of a[0..n-1], n > 0 (the mean of the middle half:
 * nearly as efficient as the mean on Gaussian noise, and a quarter of the
 * values on either side may be wild). *q25 and *q75 get the quartiles. a is
 * reordered. O(n) expected: two quickselects leave the middle half between
 * the quartile positions.
 */
static double central(double *a, size_t n, double *q25, double *q75)
{
  size_t k1 = (size_t)(0.25 * (double)(n - 1) + 0.5);
  size_t k3 = (size_t)(0.75 * (double)(n - 1) + 0.5), i;
  double sum = 0;
  *q25 = select_kth(a, n, k1);
  *q75 = select_kth(a + k1, n - k1, k3 - k1);
  for(i = k1; i <= k3; i++)
    sum += a[i];
  return sum / (double)(k3 - k1 + 1);
}

/*
 * Polish a robust line l with least squares on the points it does not
 * reject: those within OUTLIER_K robust sigmas (1.4826 x the median
 * absolute residual) of l. The robust start protects against glitches;
 * the least-squares step recovers the efficiency of a plain fit on clean
 * noise. O(k). l keeps its se (from the pairs' spread, which also sees
 * structure such as a duty cycle) and is left alone when fewer than 3
 * points remain or their times coincide.
 */
static void refine(const double *t, const double *y, size_t lo, size_t hi, struct line *l)
{
  double cut = OUTLIER_K * 1.4826 * l->resid, n = 0, st = 0, sy = 0, stt = 0, sty = 0, den;
  double slope, mean_t, mean_y;
  size_t i;
  if(!(cut > 0))
    return;
  for(i = lo; i < hi; i++) {
    double ti = t[i] - l->t_ref;
    if(fabs(y[i] - (l->anchor + l->slope * ti)) > cut)
      continue;
    n += 1;
    st += ti;
    sy += y[i];
  }
  if(n < 3)
    return;
  mean_t = st / n;
  mean_y = sy / n;
  for(i = lo; i < hi; i++) {
    double ti = t[i] - l->t_ref;
    if(fabs(y[i] - (l->anchor + l->slope * ti)) > cut)
      continue;
    stt += (ti - mean_t) * (ti - mean_t);
    sty += (ti - mean_t) * (y[i] - mean_y);
  }
  den = stt;
  if(!(den > 1e-18))
    return;
  slope = sty / den;
  if(!isfinite(slope))
    return;
  l->slope = slope;
  l->anchor = mean_y - slope * mean_t; /* the line at t_ref (ti = 0) */
}

/*
 * A robust line through points lo..hi-1 of (t, y), k = hi - lo: the slope
 * is the interquartile mean of the slopes of the pairs (i, i + k/2) — Theil's
 * split-half pairs, each spanning half the window, O(k) — and se its
 * standard error from the pairs' spread (IQR). The anchor is the line's
 * value at t_ref (the newest point's time): the interquartile mean over all
 * points of each point moved along the slope to t_ref. Then refine()
 * polishes slope and anchor by least squares on the inliers. resid is the
 * median absolute residual of the result. ok is false when fewer than 2
 * usable pairs exist.
 */
static struct line theil(const double *t, const double *y, size_t lo, size_t hi)
{
  struct line l = {0, INFINITY, 0, 0, INFINITY, false};
  double s[PREDICT_WINDOW], r[PREDICT_WINDOW], q25, q75;
  size_t k = hi - lo, m = k / 2, np = 0, i;
  if(k < 3)
    return l;
  for(i = lo; i + m < hi; i++) {
    double dt = t[i + m] - t[i];
    if(dt > 1e-9) {
      double v = (y[i + m] - y[i]) / dt;
      if(isfinite(v))
        s[np++] = v;
    }
  }
  if(np < 2)
    return l;
  l.slope = central(s, np, &q25, &q75);
  /* IQR/1.349 is sigma for normal slopes; the trimmed mean costs ~10% */
  l.se = 1.1 * ((q75 - q25) / 1.349) / sqrt((double)np);
  l.t_ref = t[hi - 1];
  for(i = lo; i < hi; i++)
    r[i - lo] = y[i] + l.slope * (l.t_ref - t[i]);
  l.anchor = central(r, k, &q25, &q75);
  for(i = lo; i < hi; i++)
    r[i - lo] = fabs(y[i] - (l.anchor + l.slope * (t[i] - l.t_ref)));
  l.resid = quantile(r, k, 0.5);
  l.ok = true;
  refine(t, y, lo, hi, &l);
  for(i = lo; i < hi; i++)
    r[i - lo] = fabs(y[i] - (l.anchor + l.slope * (t[i] - l.t_ref)));
  l.resid = quantile(r, k, 0.5);
  /* The spread of a few pair slopes can be small by chance: the standard
     error is never below that of least squares with the residuals' scale. */
  {
    double mt = 0, stt = 0, se_ls;
    for(i = lo; i < hi; i++)
      mt += t[i];
    mt /= (double)k;
    for(i = lo; i < hi; i++)
      stt += (t[i] - mt) * (t[i] - mt);
    se_ls = stt > 1e-18 ? 1.4826 * l.resid / sqrt(stt) * sqrt((double)k / (double)(k - 2)) : 0;
    if(isfinite(se_ls) && se_ls > l.se)
      l.se = se_ls;
  }
  return l;
}

/* Median absolute residual, in raw units, of the exponential curve e on lo..hi-1. */
static double exp_resid(const double *t, const double *x, size_t lo, size_t hi,
                        const struct line *e)
{
  double r[PREDICT_WINDOW];
  size_t i;
  for(i = lo; i < hi; i++)
    r[i - lo] = fabs(x[i] - exp(e->anchor + e->slope * (t[i] - e->t_ref)));
  return quantile(r, hi - lo, 0.5);
}

/* Prefix sums of the inlier points, for least squares on any range in O(1). */
struct psum {
  double n, t, y, tt, ty, yy;
};

/* Residual sum of squares of a least-squares line on prefix range [a, b). */
static double range_sse(const struct psum *P, size_t a, size_t b)
{
  double n = P[b].n - P[a].n, st = P[b].t - P[a].t, sy = P[b].y - P[a].y;
  double stt, sty, syy, sse;
  if(n < 3)
    return INFINITY;
  stt = (P[b].tt - P[a].tt) - st * st / n;
  sty = (P[b].ty - P[a].ty) - st * sy / n;
  syy = (P[b].yy - P[a].yy) - sy * sy / n;
  if(!(stt > 1e-18))
    return INFINITY;
  sse = syy - sty * sty / stt;
  return sse > 0 ? sse : 0;
}

/*
 * The most likely start of the current rate: the split s of the window
 * into [0, s) and [s, n) whose two least-squares lines leave the smallest
 * residual, with the recent part at least RECENT_SPAN_MIN days and 4
 * points long, within [lo, n). O(n) with prefix sums. Every point counts: after a change
 * the new points are exactly those a robust single line rejects. (A lone
 * outlier bucket cannot make a change on its own: changed() compares
 * robust lines.) Returns 0 when no split improves on one line by a quarter.
 */
static size_t change_point(const double *t, const double *y, size_t lo, size_t n, double min_span)
{
  struct psum P[PREDICT_WINDOW + 1];
  double best, one;
  size_t i, s, best_s = 0, k = n - lo;
  memset(&P[0], 0, sizeof(P[0]));
  for(i = 0; i < k; i++) {
    double ti = t[lo + i] - t[lo], yi = y[lo + i];
    P[i + 1].n = P[i].n + 1;
    P[i + 1].t = P[i].t + ti;
    P[i + 1].y = P[i].y + yi;
    P[i + 1].tt = P[i].tt + ti * ti;
    P[i + 1].ty = P[i].ty + ti * yi;
    P[i + 1].yy = P[i].yy + yi * yi;
  }
  one = range_sse(P, 0, k);
  best = one;
  for(s = k / 4; s + RECENT_PTS <= k; s++) {
    double sse;
    if(s < 3 || t[n - 1] - t[lo + s] < min_span)
      continue;
    sse = range_sse(P, 0, s) + range_sse(P, s, k);
    if(sse < best) {
      best = sse;
      best_s = s;
    }
  }
  return best_s && best < 0.75 * one ? lo + best_s : 0;
}

/*
 * Whether the recent line rec (spanning span_d days) differs from the
 * older, disjoint line old clearly enough to be a rate change: by more
 * than FASTER_SE standard errors, and by a share of the older slope that a
 * weekly duty cycle (5 working days of 7, idle nights) cannot produce on a
 * window that long:
 *   - 14 days or more: RECENT_GAIN (20%), faster or slower (a slower one
 *     also by SLOWER_SE standard errors);
 *   - 7 to 14 days: RECENT_GAIN_WEEK (40%), faster only;
 *   - min_span to 7 days: RECENT_GAIN_SHORT (50%), faster only.
 * Short windows never switch to a slower rate: an idle weekend must not
 * pass for "stopped" (days_left would swing towards infinity), nor a quiet
 * week for a lasting slow-down. When the filtered readings confirm a
 * speed-up (fast: they stayed below the line OFF_CONFIRM times in a row,
 * or the last fit took a speed-up they confirmed), a smaller share
 * suffices on any recent span from min_span to 14 days: CONFIRM_GAIN_FAST
 * (15%). A busy hour moves the readings off the line for hours; the recent
 * part then spans days (min_span, RECENT_PTS buckets) and must still differ
 * by FASTER_SE standard errors.
 */
static bool changed(const struct line *rec, const struct line *old, double span_d,
                    double min_span, bool fast)
{
  double diff = rec->slope - old->slope, ref = fabs(old->slope);
  double sec = sqrt(rec->se * rec->se + old->se * old->se);
  if(fabs(diff) <= FASTER_SE * sec)
    return false;
  /* slower: a pause or a run of outliers can mimic it; ask for more */
  if(diff > 0 && diff <= SLOWER_SE * sec)
    return false;
  if(span_d >= RECENT_SPAN_D)
    return fabs(diff) > RECENT_GAIN * ref;
  if(fast && span_d >= min_span)
    return diff < 0 && -diff > CONFIRM_GAIN_FAST * ref;
  if(span_d >= 7)
    return diff < 0 && -diff > RECENT_GAIN_WEEK * ref;
  return span_d >= min_span && diff < 0 && -diff > RECENT_GAIN_SHORT * ref;
}

/*
 * Whether a fit is usable: a known kind, every field finite, history
 * confidence 0..1, a growing exponential. refit() only leaves fits that pass
 * (else none), so a saved fit that fails did not come from predict_save().
 */
static bool fit_ok(unsigned kind, const struct predict_fit *f)
{
  if(kind > FIT_EXP || !(f->c_hist >= 0 && f->c_hist <= 1))
    return false;
  if(!isfinite(f->slope) || !isfinite(f->anchor) || !isfinite(f->t_ref_d) ||
     !isfinite(f->resid_rel) || !isfinite(f->se) || f->se < 0 || f->resid_rel < 0 ||
     !isfinite(f->jit_d) || f->jit_d < 0)
    return false;
  if(kind == FIT_EXP && !(f->slope > 0))
    return false;
  return true;
}

/*
 * The part of a line's median absolute residual that wanders (is shared by
 * neighbouring points: a duty cycle, bursts, a week's phase) rather than
 * white measurement noise: the median |difference| of neighbouring residuals
 * measures the white part (for white noise it is sqrt(2) x the median
 * |residual|), the rest is wander. Points lo..hi-1 of (t, y), line l. O(k).
 */
static double wander(const double *t, const double *y, size_t lo, size_t hi, const struct line *l)
{
  double d[PREDICT_WINDOW], prev = 0, white, w2;
  size_t i, nd = 0;
  for(i = lo; i < hi; i++) {
    double r = y[i] - (l->anchor + l->slope * (t[i] - l->t_ref));
    if(i > lo)
      d[nd++] = fabs(r - prev);
    prev = r;
  }
  if(nd < 2)
    return l->resid;
  white = quantile(d, nd, 0.5) / sqrt(2.0);
  w2 = l->resid * l->resid - white * white;
  return w2 > 0 ? sqrt(w2) : 0;
}

/* Confidence from history length: 0 with 2 points, 1 from FULL_HIST on. */
static float hist_conf(size_t points)
{
  double h = ((double)points - 2) / (double)(FULL_HIST - 2);
  return (float)(h > 1 ? 1 : (h < 0 ? 0 : h));
}

static double model_x(const struct predictor *p, double raw);

/*
 * Whether the newest filtered reading (not yet in a closed bucket) refutes
 * the rate change from the line old to the recent line rec: a noisy level
 * that reads above rec by more than REFUTE_SIGMAS x (reading sigma + rec's
 * median residual), and nearer the old line (extended to the reading's
 * time) than rec. A pair of outliers (stones in a tyre's groove) passes a
 * median of 3 and can make a short recent part look like a speed-up; the
 * readings after it are back where the old rate put them, and the line
 * through the outliers would say "empty" (bench/predict seed 1's tyre 59:
 * the line at -7 %, the readings at 30 %, 45 days left). at_d: the
 * reading's time on the lines' axis (days, calendar or working). After a real
 * speed-up the newest reading is on the new line, or nearer it than the old
 * one (a quiet day puts it a little above). Counters are exact and have no
 * such outliers: never.
 */
static bool reading_refutes(const struct predictor *p, const struct line *rec,
                            const struct line *old, double at_d)
{
  const struct predict_params *pp = p->params;
  double sigma = 0.8862 * (double)p->noise, r, on_rec, on_old;
  if(pp->model != PREDICT_MODEL_LEVEL || !(sigma > 1e-6) || p->n_raw == 0)
    return false;
  r = remaining_of(pp, model_x(p, p->filt));
  on_rec = rec->anchor + rec->slope * (at_d - rec->t_ref);
  on_old = old->anchor + old->slope * (at_d - old->t_ref);
  return r - on_rec > REFUTE_SIGMAS * (sigma + rec->resid) && fabs(r - on_old) < r - on_rec;
}

/* a - b in ms as a double: no overflow whatever a restored state holds. */
static double diff_ms(int64_t a, int64_t b)
{
  return (double)a - (double)b;
}

static bool week_factors(const struct predictor *p, double sigma, double f[7]);

/*
 * Working time at wall_ms, in days: whole weeks (Monday 00:00 UTC) count 7,
 * and a day d of the week counts f[d] (mean 1), so that use at a steady
 * rate shaped by the weekly profile f is a straight line in it. c[d] is
 * f[0] + ... + f[d-1]. Differences of two values are what matter. O(1).
 */
static double work_days(int64_t wall_ms, const double f[7], const double c[8])
{
  int64_t day = wall_ms >= 0 ? wall_ms / 86400000 : (wall_ms - 86399999) / 86400000;
  int64_t mon = day + 3; /* days since the Monday before 1970-01-01 */
  int64_t week = mon >= 0 ? mon / 7 : (mon - 6) / 7;
  int d = (int)(mon - 7 * week);
  double frac = (double)(wall_ms - day * 86400000) / DAY_MS;
  return 7.0 * (double)week + c[d] + f[d] * frac;
}

/* ---- the plant calendar (struct predict_cal) ---- */

/* Whether cal has any closed period. */
static inline bool cal_on(const struct predict_cal *cal)
{
  return cal && cal->n > 0 && cal->closed;
}

/* The first closed period of cal that ends after a (binary search); cal->n when none. */
static size_t cal_first(const struct predict_cal *cal, int64_t a)
{
  size_t lo = 0, hi = cal->n;
  while(lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if(cal->closed[mid].to_ms <= a)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/*
 * The closed time of cal between wall times a and b, in days: positive when
 * b > a, the negative of [b, a)'s when b < a; in working days under the
 * weekly factors f (c: their prefix sums, as work_days()) when f is given,
 * else in calendar days. 0 without a calendar or for a time "none"
 * (INT64_MIN). O(log n + the periods in between).
 */
static double cal_closed_d(const struct predict_cal *cal, int64_t a, int64_t b, const double *f,
                           const double *c)
{
  double sum = 0, sign = 1;
  size_t i;
  if(!cal_on(cal) || a == b || a == INT64_MIN || b == INT64_MIN)
    return 0;
  if(b < a) {
    int64_t t = a;
    a = b;
    b = t;
    sign = -1;
  }
  for(i = cal_first(cal, a); i < cal->n && cal->closed[i].from_ms < b; i++) {
    int64_t x = cal->closed[i].from_ms > a ? cal->closed[i].from_ms : a;
    int64_t y = cal->closed[i].to_ms < b ? cal->closed[i].to_ms : b;
    if(y > x)
      sum += f ? work_days(y, f, c) - work_days(x, f, c) : diff_ms(y, x) / DAY_MS;
  }
  return sign * sum;
}

/* Whether wall_ms lies in a closed period of cal. */
static bool cal_closed_at(const struct predict_cal *cal, int64_t wall_ms)
{
  size_t i;
  if(!cal_on(cal))
    return false;
  i = cal_first(cal, wall_ms);
  return i < cal->n && cal->closed[i].from_ms <= wall_ms;
}

/*
 * Leave out the points with drop[i] set and move the others back on the
 * time axes by their own shifts: point i becomes point k (k <= i) with
 * t[k] = t[i] - st[i] and, when w is given, w[k] = w[i] - sw[i]; y, x and
 * oi move with it. Compacts in place (the write index never passes the
 * read index); returns the points kept. Shared by the stops (skip_stops())
 * and the plant calendar's closed time (refit_fit()). O(n).
 */
static size_t keep_points(double *t, double *y, double *x, double *w, uint8_t *oi, size_t n,
                          const bool *drop, const double *st, const double *sw)
{
  size_t i, k = 0;
  for(i = 0; i < n; i++) {
    if(drop[i])
      continue;
    t[k] = t[i] - st[i];
    y[k] = y[i];
    x[k] = x[i];
    oi[k] = oi[i];
    if(w)
      w[k] = w[i] - sw[i];
    k++;
  }
  return k;
}

/*
 * A stop (docs/prediction.md, "Stops"): a run of closed buckets whose value
 * did not move at all (the same stored value: an exact counter or a frozen
 * sensor) for STOP_MIN_D days or more, while the rate the line saw
 * (`rate`, remaining per day) would have used more than STOP_STEPS of the
 * sensor's own steps meanwhile (so a quantised level's plateau between two
 * steps is no stop), and, when the value moved again, moved by less than
 * STOP_SHARE of that use (a stuck sensor jumps back to the truth: no stop).
 * A shutdown, a holiday, a machine broken down: no use, and no rate
 * either. Each stop's time is taken out of the lines' time axes: its
 * buckets but the first are left out and the later ones moved back by its
 * span, so the line sees the rate of the days the part was in use, and a
 * stop is not a rate change to zero (nor, while it lasts, a reason for one).
 * t (calendar days), y (remaining), x (model values), w (working days; may
 * be NULL) and oi (each point's bucket index) hold n points; they are
 * compacted in place. Returns the points kept. O(n).
 */
static size_t skip_stops(double *t, double *y, double *x, double *w, uint8_t *oi, size_t n,
                         double rate)
{
  double q = 0, gone_t = 0, gone_w = 0, prev_t = 0, prev_w = 0;
  bool in_stop[PREDICT_WINDOW]; /* the point is a stop's but its first */
  double st[PREDICT_WINDOW], sw[PREDICT_WINDOW];
  size_t i, a, b, k = 0;
  if(!(rate > RATE_EPS) || n < 2)
    return n;
  /* the sensor's step: the largest move that ends a run of one value (a
     level read in steps of 10 % stays on a value for days, then moves by
     a step, or by a part of one when a bucket straddles it; a counter's
     runs are nights and weekends, and end with a little use) */
  for(a = 0; a < n; a = b + 1) {
    for(b = a; b + 1 < n && y[b + 1] == y[a]; b++)
      ;
    if(b > a && b + 1 < n && fabs(y[b + 1] - y[b]) > q)
      q = fabs(y[b + 1] - y[b]);
  }
  for(a = 0; a < n; a = b + 1) {
    double span;
    bool stop;
    for(b = a; b + 1 < n && y[b + 1] == y[a]; b++)
      ;
    span = t[b] - t[a];
    stop = b > a && span >= STOP_MIN_D && rate * span > STOP_STEPS * q &&
           (b + 1 == n || y[b] - y[b + 1] < STOP_SHARE * rate * span);
    in_stop[a] = false;
    for(i = a + 1; i <= b; i++)
      in_stop[i] = stop;
    k += stop ? 1 : b - a + 1;
  }
  if(k == n || k < MIN_BUCKETS)
    return n;
  /* each point's shift: the time of the stops before it (the time since
     the previous point of the same stop is no use) */
  for(i = 0; i < n; i++) {
    double ti = t[i], wi = w ? w[i] : 0;
    if(in_stop[i]) {
      gone_t += ti - prev_t;
      gone_w += wi - prev_w;
    }
    prev_t = ti;
    prev_w = wi;
    st[i] = gone_t;
    sw[i] = gone_w;
  }
  return keep_points(t, y, x, w, oi, n, in_stop, st, sw);
}

/*
 * Recompute the cached fit from the closed buckets. O(PREDICT_WINDOW).
 * Buckets before a remembered rate change are dropped first. For a rising
 * level point with positive values, a line on log(raw) (a clogging curve)
 * is tried first and kept unless it fits worse than a straight line.
 * Otherwise a line on the remaining fraction: on the whole window, or on
 * its part after a detected rate change (change_point() + changed()); a
 * change seen on two weeks or more is remembered in p->rate_from_s.
 */
static void refit_fit(struct predictor *p, const struct predict_cal *cal)
{
  double t[PREDICT_WINDOW], y[PREDICT_WINDOW], x[PREDICT_WINDOW], w[PREDICT_WINDOW], step;
  double wf[7], c[8], t_ax_last;
  const struct predict_params *pp = p->params;
  struct predict_fit *f = &p->fit;
  struct line all, use;
  size_t n = p->n, i, lo = 0, use_lo;
  bool positive = true, weekly = false;
  const double *tl = t; /* the lines' time axis: calendar days, or working days */
  double filt_d = ((double)pt_ms(p, p->filt_ts) - (double)pt_ms(p, p->seg_start_ts)) / DAY_MS, t_last, w_last = 0;
  uint8_t oi[PREDICT_WINDOW]; /* each point's bucket (points in a stop are left out) */

  bool was_fast = p->fit_fast;

  memset(f, 0, sizeof(*f));
  p->fit_kind = FIT_NONE;
  p->fit_fast = 0;
  /* History before a detected rate change no longer counts: drop it, so
     that the window's resolution serves the current rate. */
  while(lo < n && bt_s(p, lo) < p->rate_from_s)
    lo++;
  if(lo > 0 && n - lo >= MIN_BUCKETS) {
    memmove(p->bt, p->bt + lo, (n - lo) * sizeof(p->bt[0]));
    memmove(p->bx, p->bx + lo, (n - lo) * sizeof(p->bx[0]));
    p->n = (uint8_t)(n - lo);
    n = p->n;
  }
  lo = 0;
  if(n < MIN_BUCKETS)
    return;
  step = ldexp(1.0, (int)p->x_shift - 15);
  for(i = 0; i < n; i++) {
    t[i] = (double)bt_s(p, i) / DAY_S;
    y[i] = 0.5 + (double)p->bx[i] * step;
    x[i] = x_of_remaining(pp, y[i]);
    oi[i] = (uint8_t)i;
    if(i >= lo && !(x[i] > 0))
      positive = false;
  }
  t_last = t[n - 1];
  /* Once the weekly profile is known, lines are fitted in working time
     (a day counts its profile factor): idle weekends and busy weekdays then
     lie on one line, a recent part that ends on a weekend is not "slower",
     and the slope is the mean rate per day that predict_eval() walks
     through the profile. (Not for the clogging curve.) */
  {
    double w0;
    double sigma = pp->model == PREDICT_MODEL_USAGE ? 0 : p->noise * 0.8862;
    if(WEEK_FIT && K_WEEK && t[n - 1] - t[lo] >= WEEK_FIT_D && week_factors(p, sigma, wf)) {
      c[0] = 0;
      for(i = 0; i < 7; i++)
        c[i + 1] = c[i] + wf[i];
      w0 = work_days(pt_ms(p, p->seg_start_ts), wf, c);
      for(i = 0; i < n; i++)
        w[i] = work_days(pt_ms(p, p->seg_start_ts) + (int64_t)bt_s(p, i) * 1000, wf, c) - w0;
      w_last = w[n - 1];
      filt_d = work_days(pt_ms(p, p->filt_ts), wf, c) - w0;
      weekly = true;
    }
  }
  /* The plant calendar (predict_cal): the planned closed time is taken off
     both axes, as a stop's is (skip_stops(), below): buckets inside a closed
     period are left out (unless fewer than MIN_BUCKETS would remain) and
     the later ones moved back by the closed time before them, so a
     shutdown is no slow-down. t_ax_last and w_last: the newest bucket's
     place on the axes, kept or not (the newest reading is placed from it). */
  t_ax_last = t_last;
  if(cal_on(cal)) {
    int64_t s0 = pt_ms(p, p->seg_start_ts);
    size_t n_open = 0;
    bool closed[PREDICT_WINDOW];
    double ct[PREDICT_WINDOW], cw[PREDICT_WINDOW];
    for(i = 0; i < n; i++) {
      closed[i] = cal_closed_at(cal, s0 + (int64_t)bt_s(p, i) * 1000);
      n_open += !closed[i];
    }
    filt_d -= cal_closed_d(cal, s0, pt_ms(p, p->filt_ts), weekly ? wf : NULL, c);
    for(i = 0; i < n; i++) {
      int64_t b = s0 + (int64_t)bt_s(p, i) * 1000;
      ct[i] = cal_closed_d(cal, s0, b, NULL, NULL);
      cw[i] = weekly ? cal_closed_d(cal, s0, b, wf, c) : 0;
      /* inside a closed period: left out, unless too few would remain */
      closed[i] = closed[i] && n_open >= MIN_BUCKETS;
    }
    t_ax_last = t[n - 1] - ct[n - 1];
    if(weekly)
      w_last = w[n - 1] - cw[n - 1];
    n = keep_points(t, y, x, weekly ? w : NULL, oi, n, closed, ct, cw);
  }
  all = theil(t, y, lo, n);
  if(!all.ok)
    return;
  /* Stops (a shutdown, a holiday) are taken out of the time axes: a stop
     is no rate change. The newest point keeps its place in time: the line
     is evaluated from the newest bucket's calendar time (t_last). */
  if(STOP_SKIP && n >= MIN_BUCKETS) {
    double rate = fabs(all.slope);
    size_t k;
    /* A stop is judged by the rate of the days in use: a stop longer than
       the rest of the history sets the line through both near flat, and
       the stop then hid itself once the value moved again (a 160-day
       shutdown: days_left infinite with confidence 1 from the fifth day
       of work on). When one run of one value lasts over a week and over
       half the history's time, the rate is the line's with the runs of
       one value of STOP_MIN_D days or more taken out, when that is
       faster. (Not otherwise: a quantised tyre's plateaus are its wear,
       and a machine that runs on Saturdays only stands still for 6 days
       every week: its weekly profile, not a stop.) */
    size_t a, b;
    double longest = 0;
    for(a = lo; a < n; a = b + 1) {
      for(b = a; b + 1 < n && y[b + 1] == y[a]; b++)
        ;
      if(t[b] - t[a] > longest)
        longest = t[b] - t[a];
    }
    if(longest > 7.0 && longest > 0.5 * (t[n - 1] - t[lo])) {
      double t2[PREDICT_WINDOW], y2[PREDICT_WINDOW], x2[PREDICT_WINDOW];
      uint8_t o2[PREDICT_WINDOW];
      size_t k2;
      memcpy(t2, t, n * sizeof(t[0]));
      memcpy(y2, y, n * sizeof(y[0]));
      memcpy(x2, x, n * sizeof(x[0]));
      memcpy(o2, oi, n * sizeof(oi[0]));
      k2 = skip_stops(t2, y2, x2, NULL, o2, n, INFINITY);
      if(k2 != n) {
        struct line u = theil(t2, y2, lo, k2);
        if(u.ok && fabs(u.slope) > rate)
          rate = fabs(u.slope);
      }
    }
    k = skip_stops(t, y, x, weekly ? w : NULL, oi, n, rate);
    if(k != n) {
      n = k;
      all = theil(t, y, lo, n);
      if(!all.ok)
        return;
    }
  }
  /* the newest reading, relative to the newest point kept */
  filt_d += (weekly ? w[n - 1] - w_last : t[n - 1] - t_ax_last);
  use = all;
  use_lo = lo;

  if(pp->model == PREDICT_MODEL_LEVEL && pp->empty > pp->full && pp->full > 0 &&
     n - lo >= EXP_MIN && positive) {
    double ly[PREDICT_WINDOW];
    struct line e;
    for(i = lo; i < n; i++)
      ly[i] = log(x[i]);
    e = theil(t, ly, lo, n);
    if(e.ok && (float)e.slope > 0) {
      double rexp = exp_resid(t, x, lo, n, &e);
      double rlin = all.resid * fabs(pp->full - pp->empty);
      if(rexp <= EXP_GAIN * rlin) {
        double change = fabs(exp(e.anchor) - exp(e.anchor - e.slope * (t[n - 1] - t[lo])));
        p->fit_kind = FIT_EXP;
        f->slope = (float)e.slope;
        f->se = (float)e.se;
        f->anchor = (float)e.anchor;
        f->t_ref_d = (float)t_last; /* e.t_ref is t[n - 1], moved back by the stops */
        f->resid_rel = (float)(change > 1e-12 ? rexp / change : 1.0);
        {
          double jd = wander(t, ly, lo, n, &e) / e.slope;
          f->jit_d = (float)(jd > 1e30 ? 1e30 : jd);
        }
        f->c_hist = hist_conf(n - lo);
        return;
      }
    }
  }

  if(weekly) {
    tl = w;
    all = theil(tl, y, lo, n);
    if(!all.ok)
      return;
    use = all;
  }
  if(n - lo >= RECENT_MIN) {
    /* Readings that stayed below the line OFF_CONFIRM times in a row say
       the part is being used faster now: a speed-up may then be taken on a
       shorter recent part (RECENT_SPAN_FAST) than the noise of a duty
       cycle otherwise allows. */
    bool fast = p->off_n <= -OFF_CONFIRM || was_fast;
    double min_span = fast ? RECENT_SPAN_FAST : RECENT_SPAN_MIN;
    size_t cp = change_point(tl, y, lo, n, min_span);
    if(cp) {
      struct line rec = theil(tl, y, cp, n), old = theil(tl, y, lo, cp);
      /* the older part must see a whole week too, or its own duty-cycle
         phase would pass for a change */
      if(rec.ok && old.ok && t[cp - 1] - t[lo] >= 7 &&
         changed(&rec, &old, t[n - 1] - t[cp], min_span, fast) &&
         !(t[n - 1] - t[cp] < REMEMBER_D && reading_refutes(p, &rec, &old, filt_d))) {
        use = rec;
        use_lo = cp;
        p->fit_fast = (uint8_t)(t[n - 1] - t[cp] < RECENT_SPAN_MIN);
        /* Remembered, so that the new rate holds until the next change
           instead of flickering at a threshold; not on less than two
           weeks, where a duty cycle or a run of outliers may still mimic a
           change: used, but the history stays, so the next refit can
           take it back. */
        if(t[n - 1] - t[cp] >= REMEMBER_D)
          p->rate_from_s = bt_s(p, oi[cp]);
      }
    }
  }
  p->fit_kind = FIT_LINEAR;
  f->slope = (float)use.slope;
  f->se = (float)use.se;
  f->anchor = (float)use.anchor;
  /* the line's value at the newest bucket, whose calendar time is kept */
  f->t_ref_d = (float)t_last;
  {
    double change = fabs(use.slope) * (tl[n - 1] - tl[use_lo]);
    f->resid_rel = (float)(change > 1e-12 ? use.resid / change : (use.resid > 0 ? 1.0 : 0.0));
    {
      double jd =
        fabs(use.slope) > RATE_EPS ? wander(tl, y, use_lo, n, &use) / fabs(use.slope) : 0;
      f->jit_d = (float)(jd > 1e6 ? 1e6 : jd);
    }
  }
  f->c_hist = hist_conf(n - use_lo);
}

/* refit_fit(), and no fit at all when overflowing values made it unusable. */
static void refit(struct predictor *p, const struct predict_cal *cal)
{
  refit_fit(p, cal);
  if(!fit_ok(p->fit_kind, &p->fit)) {
    memset(&p->fit, 0, sizeof(p->fit));
    p->fit_kind = FIT_NONE;
  }
}

/* ---- readings ---- */

/* Merge neighbouring buckets pairwise and double the bucket width. */
static void compact(struct predictor *p)
{
  uint16_t i, half = (uint16_t)(p->n / 2);
  for(i = 0; i < half; i++) {
    uint32_t t = ((uint32_t)p->bt[2 * i] + p->bt[2 * i + 1]) >> 1;
    int16_t xv = (int16_t)nearbyint(((double)p->bx[2 * i] + (double)p->bx[2 * i + 1]) / 2);
    p->bt[i] = (uint16_t)t;
    p->bx[i] = xv;
  }
  if(p->n & 1u) {
    p->bt[half] = p->bt[p->n - 1];
    p->bx[half] = p->bx[p->n - 1];
    half++;
  }
  p->n = (uint8_t)half;
  if(p->width_s < MAX_WIDTH_S)
    p->width_s *= 2;
}

/* Close the open bucket into the array (compacting when full) and refit.
   Once per bucket width, not per reading: kept out of line so that the
   per-reading path (bucket_add) stays small. */
__attribute__((noinline, cold)) static void close_bucket(struct predictor *p,
                                                        const struct predict_cal *cal)
{
  double tm, xm;
  if(p->open_n == 0)
    return;
  tm = p->open_sum_t / (double)p->open_n;
  xm = p->open_sum_x / (double)p->open_n;
  if(p->n >= PREDICT_WINDOW)
    compact(p);
  if(!(tm >= 0))
    tm = 0;
  if(tm > (double)UINT32_MAX - 1)
    tm = (double)UINT32_MAX - 1;
  bt_put(p, p->n, tm);
  bx_put(p, p->n, xm);
  p->n++;
  p->open_n = 0;
  p->open_sum_t = 0;
  p->open_sum_x = 0;
  refit(p, cal);
}

/* Seconds since the segment start, clamped to uint32. */
static uint32_t seg_seconds(const struct predictor *p, int64_t wall_ms)
{
  double d = diff_ms(wall_ms, pt_ms(p, p->seg_start_ts)) / 1000;
  if(!(d > 0))
    return 0;
  if(d > (double)(UINT32_MAX - MAX_WIDTH_S))
    return UINT32_MAX - MAX_WIDTH_S;
  return (uint32_t)d;
}

/* Add a filtered model value x at wall_ms to the open bucket. */
static void bucket_add(struct predictor *p, const struct predict_cal *cal, int64_t wall_ms,
                       double x)
{
  uint32_t ts = seg_seconds(p, wall_ms);
  /* While the filtered readings stay below the line (OFF_CONFIRM in a row:
     the part is being used faster than the line says), a bucket closes
     after a quarter of its width (and 3 readings): late in a long part a
     bucket is 1-3 days wide, the fit waits for it to close and a rate
     change needs 5 of them, so a speed-up in the last week was followed
     days late (bench/predict seed 71's rate-change 8). */
  if(p->open_n > 0 && ((uint64_t)ts >= (uint64_t)p->open_start_s + p->width_s ||
                       (OFF_CLOSE && p->off_n <= -OFF_CONFIRM && p->open_n >= 3 &&
                        (uint64_t)ts >= (uint64_t)p->open_start_s + p->width_s / OFF_CLOSE)))
    close_bucket(p, cal);
  if(p->open_n == 0)
    p->open_start_s = ts;
  p->open_sum_t += (double)ts;
  p->open_sum_x += x;
  p->open_n++;
}

/* The model value of a filtered raw value: level raw, usage counter - base. */
static double model_x(const struct predictor *p, double raw)
{
  return p->params->model == PREDICT_MODEL_USAGE ? raw - p->base : raw;
}

/* Forget the current segment; the next segment starts at seg_start_ms. */
static void new_segment(struct predictor *p, int64_t seg_start_ms)
{
  p->seg_start_ts = pt_ts(p, seg_start_ms);
  p->n = 0;
  p->t_shift = 0;
  p->x_shift = 0;
  p->off_n = 0;
  p->off_pn = 0; /* held-back steps are in the old segment's time */
  p->open_n = 0;
  p->open_sum_t = 0;
  p->open_sum_x = 0;
  p->open_start_s = 0;
  p->width_s = (uint32_t)(p->params->bucket_ms / 1000);
  p->rate_from_s = 0;
  p->move_ts = PT_NONE;
  p->move_rem = 0;
  p->move_slope = 0;
  p->idle_d = 0;
  memset(&p->fit, 0, sizeof(p->fit));
  p->fit_kind = FIT_NONE;
  p->fit_fast = 0;
}

/*
 * Remember a replacement at at_ms for the typical-life statistics (the interval
 * in working days: predict_work_days()). The
 * part's life ends when it was first read worn out, when it was: a part that
 * stood empty waiting for its spare did not last until the spare was
 * fitted (counting that wait made the learned life as long as a delivery,
 * and the next line one unit: the part ran empty again).
 */
static void note_replacement(struct predictor *p, const struct predict_cal *cal, int64_t at_ms)
{
  if(p->replaced_ts != PT_NONE && at_ms > pt_ms(p, p->replaced_ts)) {
    int64_t end_ms = pt_ms(p, p->worn_ts) > pt_ms(p, p->replaced_ts) && pt_ms(p, p->worn_ts) < at_ms ? pt_ms(p, p->worn_ts) : at_ms;
    double wf[7];
    /* in working days (calendar days but on a machine idle on some days),
       open ones (the plant calendar's closed time taken off) */
    bool wk = predict_work_clock(p, wf);
    float d = (float)(wk ? predict_work_days(wf, pt_ms(p, p->replaced_ts), end_ms)
                         : diff_ms(end_ms, pt_ms(p, p->replaced_ts)) / DAY_MS);
    if(cal_on(cal)) {
      double c[8];
      int k;
      c[0] = 0;
      for(k = 0; k < 7; k++)
        c[k + 1] = c[k] + wf[k];
      d -= (float)cal_closed_d(cal, pt_ms(p, p->replaced_ts), end_ms, wk ? wf : NULL, c);
      if(d < 0)
        d = 0;
    }
    if(p->n_intervals == PREDICT_INTERVALS) {
      memmove(p->intervals_d, p->intervals_d + 1, sizeof(float) * (PREDICT_INTERVALS - 1));
      p->n_intervals--;
    }
    p->intervals_d[p->n_intervals++] = d;
  }
  p->replaced_ts = pt_ts(p, at_ms);
  p->worn_ts = PT_NONE;
  if(p->n_replacements < UINT16_MAX)
    p->n_replacements++;
}

/* UTC day of week of wall_ms, 0 = Monday (1970-01-01 was a Thursday). */
static int dow_of(int64_t wall_ms)
{
  int64_t d = wall_ms >= 0 ? wall_ms / 86400000 : (wall_ms - 86399999) / 86400000;
  return (int)(((d + 3) % 7 + 7) % 7);
}

/*
 * Learn the weekly profile from one step of the filtered value: use du
 * (remaining fraction, may be negative from noise: sums stay unbiased) over
 * dt days, ending at t_ms, shared among the days it spans in proportion to
 * time (a reading once a working day spreads Friday's use over the
 * weekend: less contrast, no bias in the total). Steps over 4 days (a gap)
 * teach nothing. The plant calendar's closed time (cal) is no part of the
 * machine's week: the use goes to the open time of the step only (a step
 * inside a closed period teaches nothing).
 */
static void learn_week(struct predictor *p, const struct predict_cal *cal, int64_t t_ms, double du,
                       double dt)
{
  int d;
  double tot;
  int64_t from, to;
  bool closed = false;
  if(!(dt > 0) || dt > 4 || !isfinite(du) || fabs(du) > 0.5)
    return;
  to = t_ms;
  from = t_ms - (int64_t)(dt * DAY_MS);
  if(cal_on(cal)) {
    double gone = cal_closed_d(cal, from, to, NULL, NULL);
    if(gone > 0) {
      closed = true;
      dt -= gone;
      if(!(dt > 1e-9))
        return;
    }
  }
  if(from < to) {
    /* the day (floor division) and weekday of `from` once; the next
       step starts at the next day's midnight */
    int64_t day, day_end;
    if(from >= 0) {
      /* unsigned: the division and the remainder by constants are cheaper */
      uint64_t ud = (uint64_t)from / 86400000u;
      day = (int64_t)ud;
      d = (int)((ud + 3u) % 7u);
    }
    else {
      int64_t m;
      day = (from - 86399999) / 86400000;
      m = (day + 3) % 7;
      d = (int)(m < 0 ? m + 7 : m);
    }
    day_end = (day + 1) * 86400000;
    for(;;) {
      int64_t e = day_end < to ? day_end : to;
      double part = (double)(e - from) / DAY_MS;
      if(closed)
        part -= cal_closed_d(cal, from, e, NULL, NULL);
      p->dow_use[d] += (float)(du * part / dt);
      p->dow_time[d] += (float)part;
      from = e;
      if(from >= to)
        break;
      day_end += 86400000;
      d = d == 6 ? 0 : d + 1;
    }
  }
  tot = (double)p->dow_time[0] + (double)p->dow_time[1] + (double)p->dow_time[2] +
        (double)p->dow_time[3] + (double)p->dow_time[4] + (double)p->dow_time[5] +
        (double)p->dow_time[6];
  if(tot > 56)
    for(d = 0; d < 7; d++) {
      p->dow_use[d] /= 2;
      p->dow_time[d] /= 2;
    }
}

/*
 * Factors f[0..6] (mean 1) of the rate per day of week, shrunk towards 1 by
 * how much noise (sigma of one reading) could explain. False, all 1, until
 * every day of the week was seen for most of a day.
 */
static bool week_factors(const struct predictor *p, double sigma, double f[7])
{
  double use = 0, time = 0, mean, sum = 0;
  int d;
  for(d = 0; d < 7; d++) {
    f[d] = 1;
    if(p->dow_time[d] < 0.8f)
      return false;
    use += (double)p->dow_use[d];
    time += (double)p->dow_time[d];
  }
  mean = use / time;
  if(!(mean > RATE_EPS))
    return false;
  for(d = 0; d < 7; d++) {
    double r = (double)p->dow_use[d] / (double)p->dow_time[d];
    double dev = r / mean - 1;
    /* variance of r: a day's use is a difference of two readings */
    double var = 2 * sigma * sigma / (double)p->dow_time[d] / (mean * mean);
    /* (a day at the mean exactly of an exact counter, sigma 0: 0/0) */
    double k = dev == 0 ? 0 : dev * dev / (dev * dev + var);
    f[d] = 1 + k * dev;
    if(f[d] < 0)
      f[d] = 0;
    sum += f[d];
  }
  if(!(sum > 0))
    return false;
  for(d = 0; d < 7; d++)
    f[d] *= 7 / sum;
  return true;
}

/*
 * Days from now_ms until `amount` (remaining fraction, or log units) is used
 * at average rate `rate` per day shaped by the weekly factors f (mean 1, so
 * a whole week uses 7 x rate): the rest of today, whole weeks at once, then
 * day by day. O(1): at most 8 steps. A day that uses the amount left but
 * for a rounding (eps: the factors, each times 7 / their sum, add up to 7
 * only nearly; a Saturday machine's 6.999999999999999) ends it: the amount
 * is used on that working day, not on the next one after the idle days.
 */
static double week_days(double amount, double rate, int64_t now_ms, const double f[7])
{
  double t, left = amount, use, weeks, eps = 1e-9 * amount;
  int64_t into = ((now_ms % 86400000) + 86400000) % 86400000;
  int d = dow_of(now_ms), i;
  if(!(rate > 0) || !(amount > 0))
    return amount > 0 ? INFINITY : 0;
  t = (double)(86400000 - into) / DAY_MS; /* the rest of today */
  use = rate * f[d] * t;
  if(use >= left - eps)
    return use > left ? left / (rate * f[d]) : t;
  left -= use;
  d = (d + 1) % 7;
  weeks = floor(left / (7 * rate));
  /* (an amount of exactly whole weeks ends on the last week's last working day, not
     after the idle days that follow it: one week less at once, walked day by day) */
  if(weeks >= 1 && weeks * 7 * rate >= left - eps)
    weeks -= 1;
  if(!(weeks < 1e7))
    return t + left / rate;
  left -= weeks * 7 * rate;
  t += 7 * weeks;
  for(i = 0; i < 8; i++) {
    use = rate * f[d];
    if(use >= left - eps)
      return t + (use > left ? left / use : 1);
    left -= use;
    t += 1;
    d = (d + 1) % 7;
  }
  return t + left / rate;
}

bool predict_work_clock(const struct predictor *p, double f[7])
{
  double sigma = p->params->model == PREDICT_MODEL_USAGE ? 0 : p->noise * 0.8862;
  double use = 0, time = 0;
  int d;
  if(K_WEEK && week_factors(p, sigma, f)) {
    for(d = 0; d < 7; d++) {
      use += (double)p->dow_use[d];
      time += (double)p->dow_time[d];
    }
    for(d = 0; d < 7; d++)
      if((double)p->dow_use[d] / (double)p->dow_time[d] < 0.25 * use / time)
        return true;
  }
  for(d = 0; d < 7; d++)
    f[d] = 1;
  return false;
}

double predict_work_days(const double f[7], int64_t from_ms, int64_t to_ms)
{
  double c[8];
  int d;
  if(to_ms <= from_ms)
    return 0;
  /* refit_fit's working-time axis (work_days): the difference of two points on it */
  c[0] = 0;
  for(d = 0; d < 7; d++)
    c[d + 1] = c[d] + f[d];
  return work_days(to_ms, f, c) - work_days(from_ms, f, c);
}

double predict_open_days(const double f[7], int64_t now_ms, double days,
                         const struct predict_cal *cal)
{
  double c[8], closed;
  int64_t end;
  int d;
  if(!cal_on(cal) || !(days > 0) || !(days < 36500))
    return days;
  c[0] = 0;
  for(d = 0; d < 7; d++)
    c[d + 1] = c[d] + f[d];
  end = now_ms + (int64_t)(days * DAY_MS);
  closed = cal_closed_d(cal, now_ms, end, f, c);
  if(!(closed > 0))
    return days;
  return predict_calendar_days(f, now_ms, work_days(end, f, c) - work_days(now_ms, f, c) - closed);
}

double predict_calendar_days(const double f[7], int64_t now_ms, double work_d)
{
  if(isnan(work_d))
    return work_d;
  if(!(work_d > 0))
    return 0;
  if(work_d == INFINITY)
    return INFINITY;
  return week_days(work_d, 1.0, now_ms, f);
}

/*
 * Drop the buckets (closed and open) filled after from_ms, a stuck
 * sensor's frozen readings, and refit; nothing when fewer than MIN_BUCKETS
 * would remain.
 */
static void unstick(struct predictor *p, const struct predict_cal *cal, int64_t from_ms)
{
  uint32_t from_s = seg_seconds(p, from_ms);
  uint16_t keep = p->n;
  while(keep > 0 && bt_s(p, keep - 1) > from_s)
    keep--;
  if(keep < MIN_BUCKETS)
    return;
  if(p->open_n > 0 && p->open_start_s > from_s) {
    p->open_n = 0;
    p->open_sum_t = 0;
    p->open_sum_x = 0;
  }
  if(keep == p->n)
    return;
  p->n = (uint8_t)keep;
  refit(p, cal);
}

/*
 * Track when the raw value last changed (a sensor repeating one value
 * exactly is stuck, or a counter is paused) and the longest pause seen in
 * the segment, capped at IDLE_CAP_D (nights and weekends: what a normal
 * pause looks like here; a pause that ended as a stuck sensor does not
 * count). f is the new raw value at t_ms. Raw, not filtered: a median of 3
 * repeats itself on a quantised noisy sensor.
 */
static void note_move(struct predictor *p, const struct predict_cal *cal, int64_t t_ms, double f)
{
  double rem = remaining_of(p->params, model_x(p, f));
  if(p->move_ts != PT_NONE && fabs(rem - p->move_rem) <= 1e-9)
    return;
  if(p->move_ts != PT_NONE) {
    /* open time: a planned closure is no pause of the part's own */
    double gap = diff_ms(t_ms, pt_ms(p, p->move_ts)) / DAY_MS -
                 cal_closed_d(cal, pt_ms(p, p->move_ts), t_ms, NULL, NULL);
    double step = p->move_rem - rem;
    /* A value frozen for over half a day that then jumps by at least half
       of what the rate before the freeze would have used meanwhile was a
       stuck sensor, not an idle part: the buckets it filled since the
       freeze hold the fault, and a line through them would read the jump as
       a faster rate. They go; the time they spanned stays in the line. */
    bool stuck = gap > STUCK_MIN_D && p->move_slope < 0 && step > NOISE_JUMP * p->noise &&
                 step > STUCK_SHARE * -p->move_slope * gap;
    if(stuck)
      unstick(p, cal, pt_ms(p, p->move_ts));
    if(gap > IDLE_CAP_D)
      gap = IDLE_CAP_D;
    /* nor is it a normal pause, whether the value froze or no readings
       came (a dropout): the part was used all along, and the next freeze
       must not look normal for as long */
    if(gap > (double)p->idle_d && !(STUCK_NOT_IDLE && stuck))
      p->idle_d = (float)gap;
  }
  p->move_ts = pt_ts(p, t_ms);
  p->move_rem = rem;
  /* the rate then, from a fit on a full history only: a short recent part
     after a change may be a pair of outliers taken for a speed-up for one
     refit (stones in a tyre's groove: 3.6 times the part's rate), and a
     freeze after it was taken for a stuck sensor at that rate */
  if(p->fit_kind == FIT_LINEAR && p->fit.slope < 0 && (!MOVE_FULL || p->fit.c_hist >= 1.0f))
    p->move_slope = p->fit.slope;
}

/*
 * wall_ms on the fitted line's time axis, in days since the segment start
 * (the axis of fit.t_ref_d, the newest bucket's calendar time): calendar
 * days, less the plant calendar's closed time between the newest bucket
 * and wall_ms (the line is carried over open time only).
 */
static double fit_days(const struct predictor *p, const struct predict_cal *cal, int64_t wall_ms)
{
  int64_t s0 = pt_ms(p, p->seg_start_ts);
  double d = diff_ms(wall_ms, s0) / DAY_MS;
  if(cal_on(cal) && p->fit_kind != FIT_NONE) {
    /* (a restored fit's time is only known finite: kept inside int64 before the cast) */
    double ref = (double)s0 + (double)p->fit.t_ref_d * DAY_MS;
    if(fabs(ref) < 9.0e18)
      d -= cal_closed_d(cal, (int64_t)ref, wall_ms, NULL, NULL);
  }
  return d;
}

/*
 * Count the filtered readings in a row that lie off the fitted line by
 * more than the anchor threshold (ANCHOR_SIGMAS x sqrt(sigma^2 + w^2)), on
 * the same side (sign of off_n): rem is the new one's remaining fraction at
 * t_ms. Two outliers in a row pass a median of 3 (two stones in a tyre's
 * groove on two mornings); a level that really moved stays off the line.
 * Only for a noisy sensor on a line; 0 otherwise.
 */
static void note_off(struct predictor *p, const struct predict_cal *cal, int64_t t_ms, double rem)
{
  const struct predict_fit *fi = &p->fit;
  double sigma = p->noise * 0.8862, w, d, thr;
  if(p->fit_kind != FIT_LINEAR || !(sigma > 1e-6) || p->params->model != PREDICT_MODEL_LEVEL) {
    p->off_n = 0;
    return;
  }
  w = fabs(fi->slope) * fi->jit_d;
  d = rem - (fi->anchor + fi->slope * (fit_days(p, cal, t_ms) - fi->t_ref_d));
  thr = ANCHOR_SIGMAS * sqrt(sigma * sigma + w * w);
  if(d > thr)
    p->off_n = (int8_t)(p->off_n > 0 ? (p->off_n < OFF_MAX ? p->off_n + 1 : OFF_MAX) : 1);
  else if(d < -thr)
    p->off_n = (int8_t)(p->off_n < 0 ? (p->off_n > -OFF_MAX ? p->off_n - 1 : -OFF_MAX) : -1);
  else
    p->off_n = 0;
}

/*
 * Take one reading into the current segment: median of 3 with the two
 * before it, noise estimate, bucket. No replacement logic.
 */
static void accept(struct predictor *p, const struct predict_cal *cal, int64_t wall_ms, double raw)
{
  const struct predict_params *pp = p->params;
  double f;
  int64_t mid_ms;
  int32_t wall_ts = pt_ts(p, wall_ms);
  p->last_ts = wall_ts;
  if(p->n_raw == 0) {
    p->raw[0] = raw;
    p->n_raw = 1;
    p->filt = raw;
    p->raw_ts = p->filt_ts = wall_ts;
    p->move_ts = PT_NONE;
    note_move(p, cal, wall_ms, raw);
    bucket_add(p, cal, wall_ms, model_x(p, raw));
    return;
  }
  f = med3(p->raw[0], p->n_raw == 2 ? p->raw[1] : p->raw[0], raw);
  /* The median of three stands for the middle reading's time: stamped with
     the newest one it would lag a trend by a poll interval. */
  mid_ms = pt_ms(p, p->raw_ts);
  /* a repeated value (a stuck sensor, a quantised level at rest) teaches
     nothing about the noise: it must not erase it */
  if(pp->model == PREDICT_MODEL_LEVEL && raw != (p->n_raw == 2 ? p->raw[1] : p->raw[0])) {
    double last_raw = p->n_raw == 2 ? p->raw[1] : p->raw[0];
    double d = fabs(remaining_of(pp, raw) - remaining_of(pp, last_raw));
    if(d > NOISE_CLIP)
      d = NOISE_CLIP;
    p->noise = (float)((1 - NOISE_ALPHA) * (double)p->noise + NOISE_ALPHA * d);
  }
  if(p->n_raw == 2)
    p->raw[0] = p->raw[1];
  p->raw[1] = raw;
  p->n_raw = 2;
  p->raw_ts = wall_ts;
  {
    int8_t was_off = p->off_n;
    bool skip, worn, week_known = true;
    double du, dt;
    int d;
    note_off(p, cal, mid_ms, remaining_of(pp, model_x(p, f)));
    /* a step to or from a value off the line that is not confirmed yet (an
       outlier pair) teaches the weekly profile nothing yet */
    skip = SKIP_OFF_WEEK && ((was_off != 0 && abs(was_off) < OFF_CONFIRM) ||
                             (p->off_n != 0 && abs(p->off_n) < OFF_CONFIRM));
    /* nor ever does a part worn out since an earlier reading (it shows no wear whether the
       machine runs or not: days of a stockout counted as idle made a Saturday part's
       life over the time seen 20 days for a part of 6, plant seed 7's p17) */
    worn = p->worn_ts != PT_NONE && pt_ms(p, p->worn_ts) <= pt_ms(p, p->filt_ts);
    /* an unchanged filtered value (a stuck or slow one) is a step of exactly 0 */
    du = f == p->filt ? 0.0
                      : remaining_of(pp, model_x(p, p->filt)) - remaining_of(pp, model_x(p, f));
    dt = diff_ms(mid_ms, pt_ms(p, p->filt_ts)) / DAY_MS;
    for(d = 0; d < 7; d++)
      week_known = week_known && p->dow_time[d] >= 0.8f;
    if(p->off_n == 0 || (was_off != 0 && (was_off < 0) != (p->off_n < 0)))
      p->off_pn = 0; /* back on the line, or the other side: an outlier, not wear */
    if(worn)
      p->off_pn = 0;
    else if(!skip || (abs(p->off_n) >= OFF_CONFIRM && p->off_pn)) {
      uint8_t k;
      double seen = 0, held = 0;
      /* a run off the line confirmed (this step confirms it): the steps held back were
         wear, taken when they outweigh all the wear the week saw so far (an idle part's
         first busy day; a part worn all along learns from the run's later steps) */
      for(d = 0; d < 7; d++)
        seen += p->dow_use[d];
      for(k = 0; k < p->off_pn; k++)
        held += (double)p->off_pdu[k] / 16384.0;
      for(k = 0; k < p->off_pn && held > seen; k++)
        learn_week(p, cal, pt_ms(p, p->off_pts[k]), (double)p->off_pdu[k] / 16384.0,
                   (double)p->off_pdt[k] / 1440.0);
      p->off_pn = 0;
      learn_week(p, cal, mid_ms, du, dt);
    }
    /* while the week is not known, such a step is held back (in memory only: a restart
       forgets at most two): a Saturday part polled every few hours is worn by the time
       its first run is confirmed (bench/plant seed 23's p23: its first line 1 unit) */
    else if(!week_known && p->off_n != 0 && abs(p->off_n) < OFF_CONFIRM && p->off_pn < 2 &&
            fabs(du) <= 0.5 && dt > 0 && dt <= 4) {
      p->off_pts[p->off_pn] = pt_ts(p, mid_ms);
      p->off_pdu[p->off_pn] = (int16_t)lround(du * 16384.0);
      p->off_pdt[p->off_pn] = (uint16_t)lround(dt * 1440.0);
      p->off_pn++;
    }
  }
  note_move(p, cal, wall_ms, raw);
  /* the part ran out: its life ends here (note_replacement); an unchanged
     value cannot have reached empty, so the division is skipped for it */
  if(p->worn_ts == PT_NONE && f != p->filt && remaining_of(pp, model_x(p, f)) <= 0)
    p->worn_ts = pt_ts(p, mid_ms);
  p->filt = f;
  p->filt_ts = pt_ts(p, mid_ms);
  bucket_add(p, cal, mid_ms, model_x(p, f));
}

/*
 * Remaining fraction the current part has reached at wall_ms, for the
 * replacement test: the fitted curve when there is one, never below the
 * latest filtered reading — so that a short dip (two glitch readings pass
 * a median of 3) followed by the true level is no "jump".
 */
/* The fitted curve's remaining fraction at wall_ms; NAN without a fit. */
static double line_remaining(const struct predictor *p, const struct predict_cal *cal,
                             int64_t wall_ms)
{
  const struct predict_params *pp = p->params;
  const struct predict_fit *f = &p->fit;
  double d = fit_days(p, cal, wall_ms);
  if(p->fit_kind == FIT_LINEAR)
    return f->anchor + f->slope * (d - f->t_ref_d);
  if(p->fit_kind == FIT_EXP)
    return remaining_of(pp, exp(f->anchor + f->slope * (d - f->t_ref_d)));
  return NAN;
}

static double ref_remaining(const struct predictor *p, const struct predict_cal *cal,
                            int64_t wall_ms)
{
  const struct predict_params *pp = p->params;
  double r = remaining_of(pp, model_x(p, p->filt)), l;
  /* OFF_CONFIRM filtered readings in a row below the line are no short dip:
     the level really fell (a part that wears on Saturdays only, after a week
     flat near 90 %), and a new part's jump counts from where it is */
  if(p->off_n <= -OFF_CONFIRM)
    return r;
  l = line_remaining(p, cal, wall_ms);
  return isfinite(l) && l > r ? l : r;
}

/* Level: the smallest jump (remaining fraction) that is no noise. */
static double jump_thr(const struct predictor *p)
{
  double thr = p->params->jump_min;
  return NOISE_JUMP * p->noise > thr ? NOISE_JUMP * p->noise : thr;
}

/*
 * Level: where the part should read at wall_ms, for the glitch test — the
 * lower of the latest filtered value and the fitted curve (a sensor that
 * was stuck comes back on the curve, below its frozen value: that is no
 * glitch).
 */
static double dip_ref(const struct predictor *p, const struct predict_cal *cal, int64_t wall_ms)
{
  double r = remaining_of(p->params, model_x(p, p->filt));
  double l = line_remaining(p, cal, wall_ms);
  return isfinite(l) && l < r ? l : r;
}

/*
 * Level: whether raw (at wall_ms) starts a sudden drop — below both where
 * the last raw reading's fall leads (the last reading, less the step that
 * led to it when the level fell: a fast steady fall is no glitch) and where
 * the part should read (dip_ref) by more than a jump — which is held back as
 * a possible glitch (add_any()).
 */
static bool starts_dip(const struct predictor *p, const struct predict_cal *cal, int64_t wall_ms,
                       double raw)
{
  const struct predict_params *pp = p->params;
  double thr = jump_thr(p), r = remaining_of(pp, raw);
  double last = remaining_of(pp, p->n_raw == 2 ? p->raw[1] : p->raw[0]);
  double step = p->n_raw == 2 ? last - remaining_of(pp, p->raw[0]) : 0.0;
  double expect = last + (step < 0.0 ? step : 0.0);
  return pp->model == PREDICT_MODEL_LEVEL && r < expect - thr && r < dip_ref(p, cal, wall_ms) - thr;
}

/* Whether raw (at wall_ms) is a jump in the good direction beyond the noise. */
static bool starts_jump(const struct predictor *p, const struct predict_cal *cal, int64_t wall_ms,
                        double raw)
{
  const struct predict_params *pp = p->params;
  double thr = pp->jump_min;
  if(pp->model == PREDICT_MODEL_USAGE)
    /* a drop beyond jump_min of the life; or back to near zero from a part
       well used (a reset just after a wrap drops little in raw terms) */
    return raw < p->filt - pp->jump_min * pp->life ||
           (raw < p->filt && raw >= 0 && raw <= pp->jump_min * pp->life &&
            model_x(p, p->filt) >= 0.1 * pp->life);
  thr = jump_thr(p);
  return remaining_of(pp, raw) - ref_remaining(p, cal, wall_ms) > thr;
}

/* Whether raw continues the pending jump. */
static bool continues_jump(const struct predictor *p, double raw)
{
  const struct predict_params *pp = p->params;
  if(pp->model == PREDICT_MODEL_USAGE) {
    double drop = p->pend_ref - p->pend_raw[0];
    return raw < p->pend_ref - (drop < pp->jump_min * pp->life ? drop / 2 : pp->jump_min * pp->life);
  }
  return remaining_of(pp, raw) - p->pend_ref > pp->jump_min / 2;
}

/*
 * A usage counter that wraps (a 16- or 32-bit register: 65535 -> 0) is no
 * reset: when the last raw value lies in the top WRAP_SHARE of a register's
 * range and raw in its bottom WRAP_SHARE, with a forward step smaller than
 * 0.5 % of the rated life, the history is moved down by the register's
 * range (base, raw[], filt), so the counter stays monotone. A forward step
 * of at most 0.5 % of the life: a reset near the top of the range would
 * otherwise pass for a wrap.
 */
static void unwrap(struct predictor *p, double raw)
{
  static const double ranges[] = {65536.0, 4294967296.0};
  double last = p->n_raw == 2 ? p->raw[1] : p->raw[0];
  size_t i;
  if(!(raw < last))
    return;
  for(i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
    double w = ranges[i], step = raw + w - last;
    if(last < w && last >= (1 - WRAP_SHARE) * w && raw >= 0 && raw < WRAP_SHARE * w &&
       step >= 0 && step < 0.005 * p->params->life) {
      p->raw[0] -= w;
      p->raw[1] -= w;
      p->filt -= w;
      p->base -= w;
      return;
    }
  }
}

/* predict_add() for every case; predict_add() itself takes the common one. */
__attribute__((noinline)) static bool add_any(struct predictor *p, const struct predict_cal *cal,
                                              int64_t wall_ms, double raw,
                                              struct predict_event *ev)
{
  const struct predict_params *pp = p->params;
  double before;
  size_t i;

  if(!isfinite(raw) || fabs(raw) > 1e15)
    return false;
  if(p->last_ts != PT_NONE && wall_ms < pt_ms(p, p->last_ts))
    return false;
  if(pp->model == PREDICT_MODEL_BUTTON) {
    p->last_ts = pt_ts(p, wall_ms);
    p->filt = raw;
    return false;
  }
  /* A rising point (a differential pressure) that reads below half its
     clean value is not flowing (a pump stopped): no information. */
  if(pp->model == PREDICT_MODEL_LEVEL && pp->empty > pp->full && pp->full > 0 &&
     raw < 0.5 * pp->full)
    return false;
  if(pp->model == PREDICT_MODEL_USAGE && p->n_raw > 0 && p->pend_n == 0)
    unwrap(p, raw);
  if(p->n_raw == 0 && p->pend_n == 0) {
    /* first reading of a segment (after init or a marked replacement) */
    if(p->last_ts == PT_NONE)
      p->seg_start_ts = pt_ts(p, wall_ms);
    if(p->base_from_next) {
      p->base = raw; /* marked replacement: the counter now is the new part's zero */
      p->base_from_next = 0;
    }
    accept(p, cal, wall_ms, raw);
    return false;
  }

  if(p->pend_n == PEND_DIP) {
    if(remaining_of(pp, raw) >= dip_ref(p, cal, wall_ms) - jump_thr(p)) {
      /* back where the part should be: the drop was a glitch. Its first
         reading is taken (as one outlier, for the median of 3 to remove, as
         when it came alone), the rest are dropped; this one is taken below
         (it may be a new part's) */
      p->pend_n = 0;
      accept(p, cal, pt_ms(p, p->pend_ts[0]), p->pend_raw[0]);
    }
    else if(diff_ms(wall_ms, pt_ms(p, p->pend_ts[0])) <= (double)DIP_MAX_MS &&
            !(remaining_of(pp, raw) < remaining_of(pp, p->pend_raw[1]) - jump_thr(p))) {
      /* a glitch holds a lowered level; a level that falls on by another jump
         is a real fast fall, taken below at once */
      p->pend_ts[1] = pt_ts(p, wall_ms);
      p->pend_raw[1] = raw;
      p->last_ts = pt_ts(p, wall_ms);
      return false;
    }
    else {
      /* the level stayed down (or fell on): it really fell, from the drop's
         first reading (the first and the latest held ones are taken) */
      p->pend_n = 0;
      accept(p, cal, pt_ms(p, p->pend_ts[0]), p->pend_raw[0]);
      if(pt_ms(p, p->pend_ts[1]) > pt_ms(p, p->pend_ts[0]))
        accept(p, cal, pt_ms(p, p->pend_ts[1]), p->pend_raw[1]);
      accept(p, cal, wall_ms, raw);
      return false;
    }
  }

  if(p->pend_n > 0) {
    if(!continues_jump(p, raw)) {
      /* the held readings were a glitch, not a new part: dropped */
      p->pend_n = 0;
    }
    else if(p->pend_n < PREDICT_PEND) {
      p->pend_ts[p->pend_n] = pt_ts(p, wall_ms);
      p->pend_raw[p->pend_n] = raw;
      p->pend_n++;
      p->last_ts = pt_ts(p, wall_ms);
      return false;
    }
    else if(pp->model == PREDICT_MODEL_LEVEL && pp->full > pp->empty &&
            diff_ms(wall_ms, pt_ms(p, p->pend_ts[0])) < (double)DIP_MAX_MS) {
      /* a level's jump must also outlast a glitch (restock-sim's go up as
         often as down, and read full when clamped): held for DIP_MAX_MS
         from its first reading, the latest held reading kept last */
      p->pend_ts[PREDICT_PEND - 1] = pt_ts(p, wall_ms);
      p->pend_raw[PREDICT_PEND - 1] = raw;
      p->last_ts = pt_ts(p, wall_ms);
      return false;
    }
    else {
      /* PREDICT_PEND + 1 readings in a row agree (a level's for
         DIP_MAX_MS): a replacement at the first */
      int64_t at = pt_ms(p, p->pend_ts[0]);
      before =
          pp->model == PREDICT_MODEL_USAGE ? remaining_of(pp, model_x(p, p->filt)) : p->pend_ref;
      note_replacement(p, cal, at);
      new_segment(p, at);
      p->n_raw = 0;
      p->base_from_next = 0;
      /* SPEC 5: used = counter - counter at replacement. The counter at the
         replacement is the first reading after the drop (stamped `at`), as for
         a marked replacement: a counter reset to 0 reads 0 there, one that
         restarts at a preset (an hour meter put back to 11250) reads that. */
      if(pp->model == PREDICT_MODEL_USAGE)
        p->base = p->pend_raw[0];
      for(i = 0; i < p->pend_n; i++)
        accept(p, cal, pt_ms(p, p->pend_ts[i]), p->pend_raw[i]);
      p->pend_n = 0;
      accept(p, cal, wall_ms, raw);
      if(ev) {
        ev->at_ms = at;
        ev->remaining_before = clamp01(before);
        ev->remaining_after = clamp01(remaining_of(pp, model_x(p, p->filt)));
      }
      return true;
    }
  }

  /* A reading equal to the filtered value is no jump (starts_jump() compares
     it with a reference never below that value's remaining fraction): the
     fitted curve is not evaluated for a stuck or slow value. */
  if(raw != p->filt && starts_jump(p, cal, wall_ms, raw)) {
    /* hold the reading back until the next ones confirm or refute it */
    double last_raw = p->n_raw == 2 ? p->raw[1] : p->raw[0];
    p->pend_ref = pp->model == PREDICT_MODEL_USAGE ? (last_raw > p->filt ? last_raw : p->filt)
                                                   : ref_remaining(p, cal, wall_ms);
    p->pend_ts[0] = pt_ts(p, wall_ms);
    p->pend_raw[0] = raw;
    p->pend_n = 1;
    p->last_ts = pt_ts(p, wall_ms);
    return false;
  }
  if(pp->model == PREDICT_MODEL_LEVEL && raw != p->filt && starts_dip(p, cal, wall_ms, raw)) {
    /* a sudden drop: held back until the level comes back (a glitch) or
       stays down for DIP_MAX_MS (the part's true level) */
    p->pend_ts[0] = p->pend_ts[1] = pt_ts(p, wall_ms);
    p->pend_raw[0] = p->pend_raw[1] = raw;
    p->pend_n = PEND_DIP;
    p->last_ts = pt_ts(p, wall_ms);
    return false;
  }
  accept(p, cal, wall_ms, raw);
  return false;
}

/*
 * The per-reading case first, with the tests of add_any() that decide it:
 * a level reading equal to the filtered value (so finite, and no jump: see
 * add_any()), in time order, with readings before it and no jump pending,
 * not a stopped pump's. It goes straight to accept(), as in add_any();
 * anything else goes through add_any().
 */
bool predict_add_cal(struct predictor *p, int64_t wall_ms, double raw, struct predict_event *ev,
                     const struct predict_cal *cal)
{
  const struct predict_params *pp = p->params;
  if(raw == p->filt && pp->model == PREDICT_MODEL_LEVEL && p->n_raw != 0 && p->pend_n == 0 &&
     fabs(raw) <= 1e15 && wall_ms >= pt_ms(p, p->last_ts) &&
     !(pp->empty > pp->full && pp->full > 0 && raw < 0.5 * pp->full)) {
    accept(p, cal, wall_ms, raw);
    return false;
  }
  return add_any(p, cal, wall_ms, raw, ev);
}

bool predict_add(struct predictor *p, int64_t wall_ms, double raw, struct predict_event *ev)
{
  return predict_add_cal(p, wall_ms, raw, ev, NULL);
}

void predict_mark_replaced(struct predictor *p, int64_t wall_ms)
{
  predict_mark_replaced_cal(p, wall_ms, NULL);
}

void predict_mark_replaced_cal(struct predictor *p, int64_t wall_ms, const struct predict_cal *cal)
{
  if(p->params->model == PREDICT_MODEL_BUTTON)
    return;
  note_replacement(p, cal, wall_ms);
  new_segment(p, wall_ms);
  /* the next reading starts the new segment (and, for usage, its zero) */
  p->n_raw = 0;
  p->pend_n = 0;
  p->base_from_next = p->params->model == PREDICT_MODEL_USAGE && p->last_ts != PT_NONE;
}

/* ---- evaluation ---- */

/* Quantile bounds around a central time to empty d50 (days): log-sd u of the
   rate, absolute sd a (days). */
static void bounds_of(double d50, double u, double a, double *p10, double *p90)
{
  double lo = d50 * exp(-Z10 * u) - Z10 * a, hi = d50 * exp(Z10 * u) + Z10 * a;
  *p10 = lo > 0 ? lo : 0;
  *p90 = isfinite(hi) ? hi : INFINITY;
}

void predict_unknown(struct prediction *out)
{
  out->level_pct = NAN;
  out->rate_per_day = 0;
  out->days_left = INFINITY;
  out->empty_at_ms = INT64_MAX;
  out->confidence = 0;
  out->exponential = false;
  out->days_left_p10 = INFINITY;
  out->days_left_p90 = INFINITY;
}

void predict_eval(const struct predictor *p, int64_t now_ms, struct prediction *out)
{
  predict_eval_cal(p, now_ms, NULL, out);
}

void predict_eval_cal(const struct predictor *p, int64_t now_ms, const struct predict_cal *cal,
                      struct prediction *out)
{
  const struct predict_params *pp = p->params;
  const struct predict_fit *f = &p->fit;
  double now_d, last_d, f_last, sigma, days = INFINITY, rate = 0, conf = 0;
  double prior_rate = pp->prior_life_days > 0 ? 1.0 / pp->prior_life_days : 0;
  double p10 = INFINITY, p90 = INFINITY, excess = 0;
  double drop_sd = 0, wf[7];
  bool on_reading = false, unknown = false, weekly, confirmed = true;

  predict_unknown(out);
  if(pp->model == PREDICT_MODEL_BUTTON || p->last_ts == PT_NONE || p->n_raw == 0)
    return;

  f_last = remaining_of(pp, model_x(p, p->filt));
  out->level_pct = 100.0 * clamp01(f_last);
  /* on the line's time axis: with a plant calendar, carried over open time only */
  now_d = fit_days(p, cal, now_ms);
  last_d = fit_days(p, cal, pt_ms(p, p->filt_ts));
  /* sigma of one reading: the mean |difference| of two is 2 sigma / sqrt(pi) */
  sigma = pp->model == PREDICT_MODEL_USAGE ? 0 : p->noise * 0.8862;
  weekly = K_WEEK && week_factors(p, sigma, wf);
  /* A frozen value (stuck sensor) or no readings (dropout) for longer than
     the longest normal pause: the part may have been used all along. */
  if(p->move_ts != PT_NONE) {
    /* frozen: readings came but did not move (their value anchors, so the
       low bound assumes the part was used all along); no readings at all:
       the figures extrapolate already, the bounds widen with the gap */
    int64_t upto = now_ms < pt_ms(p, p->last_ts) ? now_ms : pt_ms(p, p->last_ts);
    double silent = diff_ms(now_ms, pt_ms(p, p->last_ts)) / DAY_MS - (double)p->idle_d -
                    cal_closed_d(cal, pt_ms(p, p->last_ts), now_ms, NULL, NULL);
    /* a sensor whose readings jitter does not repeat one value by chance:
       frozen is stuck; an exact one (a counter) freezes whenever the
       machine stops, so only a freeze beyond FROZEN_QUIET_D is suspect */
    double normal = sigma > 1e-6 ? (double)p->idle_d : FROZEN_QUIET_D;
    /* a quantised sensor repeats its value until the part has used about
       a step (p->noise: the mean step between readings that differ): a
       tyre read once a working day in 0.1 mm steps, wearing 0.04 mm a day,
       reads the same for days. Frozen is suspect only beyond the time
       QUIET_STEPS (1) such step takes at the faster of the rates before and
       since the freeze (2 steps: bench/predict's plant suite ran 3-5 more
       sensors stuck to the end empty). */
    if(sigma > 1e-6) {
      double r = -p->move_slope > -p->fit.slope ? -p->move_slope : -p->fit.slope;
      double q = r > RATE_EPS ? QUIET_STEPS * (double)p->noise / r : 0;
      if(q > normal)
        normal = q;
    }
    excess = diff_ms(upto, pt_ms(p, p->move_ts)) / DAY_MS - normal -
             cal_closed_d(cal, pt_ms(p, p->move_ts), upto, NULL, NULL);
    if(!(excess > 0))
      excess = 0;
    drop_sd = silent > 0 ? K_DROP * silent : 0;
  }

  if(p->fit_kind == FIT_NONE) {
    if(prior_rate > 0) {
      rate = prior_rate;
      days = f_last > 0 ? f_last / prior_rate : 0;
      bounds_of(days, 0.5, 0, &p10, &p90);
    }
    else if(f_last <= 0) {
      days = 0;
    }
    p10 = days < p10 ? days : p10;
    p90 = days > p90 ? days : p90;
  }
  else if(p->fit_kind == FIT_LINEAR) {
    double rem = f->anchor + f->slope * (now_d - f->t_ref_d);
    double s = f->slope - pp->z * f->se;
    double ref = fabs(f->slope) > 1e-3 ? fabs(f->slope) : 1e-3;
    double rse = f->se / ref;
    conf = (double)f->c_hist / (1 + (rse / 0.25) * (rse / 0.25)) /
           (1 + (f->resid_rel / 0.1) * (f->resid_rel / 0.1));
    if(prior_rate > 0)
      s = conf * s - (1 - conf) * prior_rate;
    /* Anchor: the line at now, unless the latest reading is further from
       it than its noise explains (a counter is exact; usage that varies
       from day to day walks away from any line): then the reading. */
    {
      double rem_last = f_last + f->slope * (now_d - last_d);
      double w = ANCHOR_BLEND ? fabs(f->slope) * f->jit_d : 0, dev = fabs(rem_last - rem);
      /* far off the line: the level moved — once a noisy sensor's readings
         stayed off it OFF_CONFIRM times in a row (outliers come in pairs) */
      confirmed = !(sigma > 1e-6) || abs(p->off_n) >= OFF_CONFIRM;
      if(dev > ANCHOR_SIGMAS * sqrt(sigma * sigma + w * w) + 1e-9 && confirmed) {
        rem = rem_last;
        on_reading = true;
      }
      else if(w > 0) {
        /* Use that wanders around the line (busy and quiet days) puts
           the level off the line by about the wander w: the reading, with
           its noise sigma, is the better estimate of where the part is by
           w^2 / (w^2 + sigma^2). A blend, not a switch at a threshold: a
           switch flipped days_left by days from one reading to the next. */
        rem += (rem_last - rem) * (w * w) / (w * w + sigma * sigma);
      }
    }
    /* Depleting only when significantly so; then the conservative slope decides. */
    rate = f->slope < -2 * f->se && s < -RATE_EPS ? -s : 0;
    if(rem <= 0 || (f_last <= 0 && confirmed)) {
      days = 0;
      p10 = p90 = 0;
    }
    else {
      double r50 = -f->slope, r_move = -p->move_slope;
      if(excess > 0 && r_move > r50)
        r50 = r_move; /* a stuck value must not slow the rate down */
      if(rate > 0)
        days = weekly ? week_days(rem, rate, now_ms, wf) : rem / rate;
      if(r50 > RATE_EPS && rate > 0) {
        double u = sqrt((f->se / r50) * (f->se / r50) + K_PROC * K_PROC);
        /* a reading anchor carries the filtered reading's noise (0.7 sigma) */
        double a = K_JIT * f->jit_d + (on_reading ? K_READ * sigma / r50 : 0) + drop_sd;
        bounds_of(weekly ? week_days(rem, r50, now_ms, wf) : rem / r50, u, a, &p10, &p90);
      }
      else {
        /* no clear depletion: only the low bound is finite, at the rate
           one and a bit standard errors faster, once the history is long
           enough for a standard error to mean something */
        double r10 = -f->slope + Z10 * f->se;
        p10 = r10 > RATE_EPS && f->c_hist >= 0.5f ? rem / r10 : INFINITY;
      }
      if(excess > 0 && isfinite(p10)) {
        double k = r50 > -f->slope && -f->slope > RATE_EPS ? r50 / -f->slope : 1;
        p10 -= excess * (k > 1 ? k : 1);
      }
    }
  }
  else {
    double lv = f->anchor + f->slope * (now_d - f->t_ref_d);
    double k = f->slope + pp->z * f->se;
    double lempty = log(pp->empty);
    double rse = f->se / f->slope;
    conf = (double)f->c_hist / (1 + (rse / 0.25) * (rse / 0.25)) /
           (1 + (f->resid_rel / 0.1) * (f->resid_rel / 0.1));
    out->exponential = true;
    if(p->filt > 0) {
      double lv_last = log(p->filt) + f->slope * (now_d - last_d);
      if(fabs(exp(lv_last) - exp(lv)) > (ANCHOR_SIGMAS * sigma + 1e-9) * (pp->empty - pp->full))
        lv = lv_last;
    }
    rate = k * exp(lv) / (pp->empty - pp->full);
    if(lv >= lempty || f_last <= 0) {
      days = 0;
      p10 = p90 = 0;
    }
    else {
      double u = sqrt(rse * rse + K_PROC * K_PROC);
      days = weekly ? week_days(lempty - lv, k, now_ms, wf) : (lempty - lv) / k;
      bounds_of(weekly ? week_days(lempty - lv, f->slope, now_ms, wf) : (lempty - lv) / f->slope,
                u, K_JIT * f->jit_d + drop_sd, &p10, &p90);
      if(f->slope < 2 * f->se) {
        /* no clear growth yet (a filter early in its life): a log-normal
           around so uncertain a rate puts p10 near 0 and would order a new
           filter at once; as on a line, only the low bound is finite, at the
           rate one and a bit standard errors faster, once the history is long
           enough for a standard error to mean something */
        double k10 = f->slope + Z10 * f->se;
        p90 = INFINITY;
        p10 = f->c_hist >= 0.5f ? (weekly ? week_days(lempty - lv, k10, now_ms, wf)
                                           : (lempty - lv) / k10)
                                : INFINITY;
      }
      p10 -= excess;
    }
  }

  /* Bounds need a day of history and a few buckets (a few hours of a
     working day say nothing about nights and weekends); until then they are
     unknown (infinite), unless the part is empty already. */
  /* A fit on the recent part after a rate change may have few buckets:
     the window as a whole counts (the recent line's standard error widens
     the bounds); unknown bounds there would never order in time. */
  if(p->fit_kind != FIT_NONE && days > 0 &&
     ((f->c_hist < MIN_BOUND_HIST &&
       !(CHANGE_BOUNDS && hist_conf(p->n) >= MIN_BOUND_HIST && f->slope < 0 &&
         f->se < CHANGE_RSE * -f->slope)) ||
      diff_ms(pt_ms(p, p->last_ts), pt_ms(p, p->seg_start_ts)) < DAY_MS))
    unknown = true;
  /* A new part whose fit explains nothing yet (confidence near 0: the
     readings' noise, a filter's pump-start surges and cold oil, is as
     large as the use seen) has no bounds in its first days: a p10 from
     that fit ordered new filters on their first day. */
  if(p->fit_kind != FIT_NONE && days > 0 && conf < NEW_CONF_MIN &&
     diff_ms(pt_ms(p, p->last_ts), pt_ms(p, p->seg_start_ts)) < NEW_PART_D * DAY_MS)
    unknown = true;
  if(!(days >= 0))
    days = days < 0 ? 0 : INFINITY;
  if(!(p10 >= 0))
    p10 = p10 < 0 ? 0 : INFINITY;
  if(!(p90 >= 0))
    p90 = INFINITY;
  /* the bounds hold the central figure between them (once known) */
  if(p10 > days)
    p10 = days;
  if(p90 < days)
    p90 = days;
  if(unknown)
    p10 = p90 = INFINITY;
  out->days_left = days;
  out->days_left_p10 = p10;
  out->days_left_p90 = p90;
  out->rate_per_day = 100.0 * (isfinite(rate) ? rate : 0);
  /* a value frozen past its normal pause says nothing about the part: the
     confidence is halved FROZEN_CONF_D days beyond it, a third at twice that */
  if(excess > 0)
    conf *= FROZEN_CONF_D / (FROZEN_CONF_D + excess);
  out->confidence = !(conf > 0) ? 0 : (conf > 1 ? 1 : conf);
  if(isfinite(days)) {
    double ms = days * DAY_MS;
    if(ms < (double)INT64_MAX / 2 && (double)now_ms + ms < (double)INT64_MAX / 2)
      out->empty_at_ms = now_ms + (int64_t)ms;
  }
}

double predict_new_part_conf_min(void)
{
  return NEW_CONF_MIN;
}

double predict_risk_within(double p10, double p90, double horizon_d)
{
  double m, sd, z;
  if(isnan(p10) || !(horizon_d > 0) || p10 == INFINITY)
    return 0;
  if(!(p10 > 0))
    return 1;
  if(isnan(p90) || p90 < p10)
    p90 = p10;
  if(p90 == INFINITY)
    p90 = 4 * p10; /* an open top: a wide log-normal */
  if(!(p90 > p10 * (1 + 1e-9)))
    return horizon_d >= p10 ? 1 : 0;
  /* log-normal through p10 and p90: median sqrt(p10 p90), sd ln(p90/p10) / (2 Z10) */
  m = 0.5 * (log(p10) + log(p90));
  sd = (log(p90) - log(p10)) / (2 * Z10);
  z = (log(horizon_d) - m) / sd;
  return 0.5 * erfc(-z / sqrt(2.0));
}

double predict_typical_life_days(const struct predictor *p, const struct prediction *pr)
{
  if(p->n_intervals > 0) {
    double v[PREDICT_INTERVALS];
    size_t i;
    for(i = 0; i < p->n_intervals; i++)
      v[i] = (double)p->intervals_d[i];
    if(p->n_intervals % 2)
      return select_kth(v, p->n_intervals, p->n_intervals / 2);
    {
      double a = select_kth(v, p->n_intervals, p->n_intervals / 2 - 1);
      double b = select_kth(v, p->n_intervals, p->n_intervals / 2);
      return (a + b) / 2;
    }
  }
  if(pr && pr->rate_per_day > 0)
    return 100.0 / pr->rate_per_day;
  return INFINITY;
}

int64_t predict_window_start_ms(const struct predictor *p)
{
  return p->last_ts == PT_NONE ? INT64_MIN : pt_ms(p, p->seg_start_ts);
}

int64_t predict_last_ms(const struct predictor *p)
{
  return pt_ms(p, p->last_ts);
}

int64_t predict_worn_ms(const struct predictor *p)
{
  return pt_ms(p, p->worn_ts);
}

/* ---- state blob ---- */

struct wbuf {
  uint8_t *d;
  size_t len, cap;
  bool over;
};

static void put_u(struct wbuf *w, uint64_t v, size_t bytes)
{
  size_t i;
  if(w->len + bytes > w->cap) {
    w->over = true;
    return;
  }
  for(i = 0; i < bytes; i++)
    w->d[w->len++] = (uint8_t)(v >> (8 * i));
}

static void put_f64(struct wbuf *w, double v)
{
  uint64_t u;
  memcpy(&u, &v, sizeof(u));
  put_u(w, u, 8);
}

static void put_f32(struct wbuf *w, float v)
{
  uint32_t u;
  memcpy(&u, &v, sizeof(u));
  put_u(w, u, 4);
}

struct rbuf {
  const uint8_t *d;
  size_t pos, len;
};

/* Read `bytes` little-endian bytes; the caller checked the length first. */
static uint64_t get_u(struct rbuf *r, size_t bytes)
{
  uint64_t v = 0;
  size_t i;
  for(i = 0; i < bytes && r->pos < r->len; i++)
    v |= (uint64_t)r->d[r->pos++] << (8 * i);
  return v;
}

static double get_f64(struct rbuf *r)
{
  uint64_t u = get_u(r, 8);
  double v;
  memcpy(&v, &u, sizeof(v));
  return v;
}

static float get_f32(struct rbuf *r)
{
  uint32_t u = (uint32_t)get_u(r, 4);
  float v;
  memcpy(&v, &u, sizeof(v));
  return v;
}

#define BLOB_MAGIC  "RSPD"
#define BLOB_HEADER 12 /* magic 4, version 1, model 1, n 2, n_raw 1, n_intervals 1, flags 2 */
/* header, 5 times, 7 doubles, 5 u32, pending, mapping, fit, pause tracking (v2), weekly profile (v3), CRC */
#define BLOB_FIXED                                                                                 \
  (BLOB_HEADER + 5 * 8 + 7 * 8 + 5 * 4 + (2 + 8 + 16 * PREDICT_PEND) + 3 * 8 + (1 + 4 + 6 * 8) +  \
   (3 * 8 + 4) + 14 * 4 + 4)
/* version 4 adds the value step, the fit's fast-change flag and the worn-out moment */
#define BLOB_V4_EXTRA (1 + 1 + 8)

/* Total blob length for n buckets and ni intervals: version 4 keeps a bucket
   as in memory (two 16-bit fields), version 3 as seconds and a float. */
static size_t blob_len(unsigned version, size_t n, size_t ni)
{
  if(version >= 4)
    return BLOB_FIXED + BLOB_V4_EXTRA + 4 * ni + 4 * n;
  return BLOB_FIXED + 4 * ni + 8 * n;
}

int predict_blob_version(const uint8_t *buf, size_t len)
{
  if(!buf || len < BLOB_HEADER || memcmp(buf, BLOB_MAGIC, 4) != 0)
    return 0;
  return buf[4];
}

int predict_save(const struct predictor *p, uint8_t *buf, size_t cap, size_t *len)
{
  struct wbuf w = {buf, 0, cap, false};
  size_t i, need = blob_len(PREDICT_STATE_VERSION, p->n, p->n_intervals);
  *len = 0;
  if(cap < need)
    return PREDICT_ERR_SPACE;
  put_u(&w, 'R', 1);
  put_u(&w, 'S', 1);
  put_u(&w, 'P', 1);
  put_u(&w, 'D', 1);
  put_u(&w, PREDICT_STATE_VERSION, 1);
  put_u(&w, (uint64_t)p->params->model, 1);
  put_u(&w, p->n, 2);
  put_u(&w, p->n_raw, 1);
  put_u(&w, p->n_intervals, 1);
  put_u(&w, (uint8_t)p->off_n, 1); /* flags: readings off the line in a row (signed) */
  put_u(&w, p->t_shift, 1);        /* the bucket time unit (0 in blobs from before it) */
  put_u(&w, (uint64_t)pt_ms(p, p->seg_start_ts), 8);
  put_u(&w, (uint64_t)pt_ms(p, p->last_ts), 8);
  put_u(&w, (uint64_t)pt_ms(p, p->replaced_ts), 8);
  put_u(&w, (uint64_t)pt_ms(p, p->raw_ts), 8);
  put_u(&w, (uint64_t)pt_ms(p, p->filt_ts), 8);
  put_f64(&w, p->base);
  put_f64(&w, p->raw[0]);
  put_f64(&w, p->raw[1]);
  put_f64(&w, p->filt);
  put_f64(&w, p->noise);
  put_f64(&w, p->open_sum_t);
  put_f64(&w, p->open_sum_x);
  put_u(&w, p->open_start_s, 4);
  put_u(&w, p->open_n, 4);
  put_u(&w, p->width_s, 4);
  put_u(&w, p->n_replacements, 4);
  put_u(&w, p->rate_from_s, 4);
  put_u(&w, p->pend_n, 1);
  put_u(&w, p->base_from_next, 1);
  put_f64(&w, p->pend_ref);
  for(i = 0; i < PREDICT_PEND; i++) {
    put_u(&w, (uint64_t)pt_ms(p, p->pend_ts[i]), 8);
    put_f64(&w, p->pend_raw[i]);
  }
  /* The fit is saved, not recomputed on load (a fit also moves
     rate_from_s), with the mapping it was made under. */
  put_f64(&w, p->params->full);
  put_f64(&w, p->params->empty);
  put_f64(&w, p->params->life);
  put_u(&w, p->fit_kind, 1);
  put_f32(&w, p->fit.c_hist);
  put_f64(&w, p->fit.slope);
  put_f64(&w, p->fit.se);
  put_f64(&w, p->fit.anchor);
  put_f64(&w, p->fit.t_ref_d);
  put_f64(&w, p->fit.resid_rel);
  put_f64(&w, p->fit.jit_d);
  put_u(&w, (uint64_t)pt_ms(p, p->move_ts), 8);
  put_f64(&w, p->move_rem);
  put_f64(&w, p->move_slope);
  put_f32(&w, p->idle_d);
  for(i = 0; i < 7; i++) {
    put_f32(&w, p->dow_use[i]);
    put_f32(&w, p->dow_time[i]);
  }
  for(i = 0; i < p->n_intervals; i++)
    put_f32(&w, p->intervals_d[i]);
  /* version 4: the buckets exactly as kept (time unit above, value step
     here), so a restart goes on storing them as an unbroken run would */
  put_u(&w, p->x_shift, 1);
  put_u(&w, p->fit_fast, 1);
  put_u(&w, (uint64_t)pt_ms(p, p->worn_ts), 8);
  for(i = 0; i < p->n; i++) {
    put_u(&w, p->bt[i], 2);
    put_u(&w, (uint16_t)p->bx[i], 2);
  }
  put_u(&w, codec_crc32(buf, w.len), 4);
  if(w.over || w.len != need)
    return PREDICT_ERR_SPACE;
  *len = w.len;
  return PREDICT_OK;
}

int predict_load(struct predictor *p, const struct predict_params *params, const uint8_t *buf,
                 size_t len)
{
  struct predictor q;
  struct rbuf r = {buf, 0, len};
  size_t i, n, ni, need;
  unsigned version, model, n_raw;
  int8_t off_n;
  unsigned t_shift, x_shift = 0;
  uint32_t bt[PREDICT_WINDOW];
  float bx[PREDICT_WINDOW];
  double saved_full, saved_empty, saved_life;
  bool same;
  int rc;

  rc = predict_init(p, params);
  if(rc)
    return rc;
  if(!buf || len < BLOB_HEADER)
    return PREDICT_ERR_TRUNCATED;
  if(memcmp(buf, BLOB_MAGIC, 4) != 0)
    return PREDICT_ERR_FORMAT;
  r.pos = 4;
  version = (unsigned)get_u(&r, 1);
  if(version >= 1 && version < 3)
    return PREDICT_ERR_OLD; /* the caller rebuilds it from the stored readings */
  if(version != 3 && version != PREDICT_STATE_VERSION)
    return PREDICT_ERR_VERSION; /* version 3 is migrated below */
  model = (unsigned)get_u(&r, 1);
  n = (size_t)get_u(&r, 2);
  n_raw = (unsigned)get_u(&r, 1);
  ni = (size_t)get_u(&r, 1);
  off_n = (int8_t)(uint8_t)get_u(&r, 1);
  t_shift = (unsigned)get_u(&r, 1);
  if(off_n > OFF_MAX || off_n < -OFF_MAX || t_shift > T_SHIFT_MAX)
    return PREDICT_ERR_FORMAT;
  if(n > PREDICT_WINDOW || ni > PREDICT_INTERVALS || n_raw > 2)
    return PREDICT_ERR_FORMAT;
  need = blob_len(version, n, ni);
  if(len < need)
    return PREDICT_ERR_TRUNCATED;
  if(len > need)
    return PREDICT_ERR_FORMAT;
  if(codec_crc32(buf, need - 4) !=
     (uint32_t)(buf[need - 4] | (uint32_t)buf[need - 3] << 8 | (uint32_t)buf[need - 2] << 16 |
                (uint32_t)buf[need - 1] << 24))
    return PREDICT_ERR_FORMAT;
  if(model != (unsigned)params->model)
    return PREDICT_ERR_MODEL;

  q = *p;
  q.n = (uint8_t)n;
  q.n_raw = (uint8_t)n_raw;
  q.n_intervals = (uint8_t)ni;
  q.off_n = off_n;
  q.seg_start_ts = pt_ts(&q, (int64_t)get_u(&r, 8));
  q.last_ts = pt_ts(&q, (int64_t)get_u(&r, 8));
  q.replaced_ts = pt_ts(&q, (int64_t)get_u(&r, 8));
  q.worn_ts = PT_NONE;
  q.raw_ts = pt_ts(&q, (int64_t)get_u(&r, 8));
  q.filt_ts = pt_ts(&q, (int64_t)get_u(&r, 8));
  q.base = get_f64(&r);
  q.raw[0] = get_f64(&r);
  q.raw[1] = get_f64(&r);
  q.filt = get_f64(&r);
  q.noise = (float)get_f64(&r);
  q.open_sum_t = get_f64(&r);
  q.open_sum_x = get_f64(&r);
  q.open_start_s = (uint32_t)get_u(&r, 4);
  q.open_n = (uint32_t)get_u(&r, 4);
  q.width_s = (uint32_t)get_u(&r, 4);
  {
    uint64_t nr = get_u(&r, 4);
    q.n_replacements = (uint16_t)(nr > UINT16_MAX ? UINT16_MAX : nr);
  }
  q.rate_from_s = (uint32_t)get_u(&r, 4);
  q.pend_n = (uint8_t)get_u(&r, 1);
  q.base_from_next = (uint8_t)get_u(&r, 1);
  q.pend_ref = get_f64(&r);
  for(i = 0; i < PREDICT_PEND; i++) {
    q.pend_ts[i] = pt_ts(&q, (int64_t)get_u(&r, 8));
    q.pend_raw[i] = get_f64(&r);
    if(!isfinite(q.pend_raw[i]) || fabs(q.pend_raw[i]) > 1e15)
      return PREDICT_ERR_FORMAT;
  }
  if((q.pend_n > PREDICT_PEND && !(q.pend_n == PEND_DIP && model == (unsigned)PREDICT_MODEL_LEVEL)) ||
     q.base_from_next > 1 || !isfinite(q.pend_ref) || fabs(q.pend_ref) > 1e15)
    return PREDICT_ERR_FORMAT;
  if(q.pend_n > 0 &&
     (q.last_ts == PT_NONE || pt_ms(&q, q.pend_ts[q.pend_n == PEND_DIP ? 0 : q.pend_n - 1]) > pt_ms(&q, q.last_ts)))
    return PREDICT_ERR_FORMAT;
  saved_full = get_f64(&r);
  saved_empty = get_f64(&r);
  saved_life = get_f64(&r);
  q.fit_kind = (uint8_t)get_u(&r, 1);
  q.fit.c_hist = get_f32(&r);
  q.fit.slope = (float)get_f64(&r);
  q.fit.se = (float)get_f64(&r);
  q.fit.anchor = (float)get_f64(&r);
  q.fit.t_ref_d = (float)get_f64(&r);
  q.fit.resid_rel = (float)get_f64(&r);
  q.fit.jit_d = (float)get_f64(&r);
  q.move_ts = pt_ts(&q, (int64_t)get_u(&r, 8));
  q.move_rem = get_f64(&r);
  q.move_slope = (float)get_f64(&r);
  q.idle_d = get_f32(&r);
  for(i = 0; i < 7; i++) {
    q.dow_use[i] = get_f32(&r);
    q.dow_time[i] = get_f32(&r);
    if(!isfinite(q.dow_use[i]) || fabsf(q.dow_use[i]) > 1e6f || !isfinite(q.dow_time[i]) ||
       q.dow_time[i] < 0 || q.dow_time[i] > 1e3f)
      return PREDICT_ERR_FORMAT;
  }
  if(!isfinite(q.move_rem) || fabs(q.move_rem) > 1e15 || !isfinite(q.move_slope) ||
     q.move_slope > 0 || !isfinite(q.idle_d) || q.idle_d < 0 || q.idle_d > (float)IDLE_CAP_D)
    return PREDICT_ERR_FORMAT;
  for(i = 0; i < ni; i++) {
    q.intervals_d[i] = get_f32(&r);
    if(!isfinite(q.intervals_d[i]) || q.intervals_d[i] < 0)
      return PREDICT_ERR_FORMAT;
  }
  same = !memcmp(&saved_full, &params->full, sizeof(double)) &&
         !memcmp(&saved_empty, &params->empty, sizeof(double)) &&
         !memcmp(&saved_life, &params->life, sizeof(double));
  if(version >= 4) {
    struct predict_params saved = *params;
    x_shift = (unsigned)get_u(&r, 1);
    q.fit_fast = (uint8_t)get_u(&r, 1);
    q.worn_ts = pt_ts(&q, (int64_t)get_u(&r, 8));
    if(x_shift > X_SHIFT_MAX || q.fit_fast > 1 ||
       (q.worn_ts != PT_NONE && (q.last_ts == PT_NONE || pt_ms(&q, q.worn_ts) > pt_ms(&q, q.last_ts))))
      return PREDICT_ERR_FORMAT;
    q.t_shift = (uint8_t)t_shift;
    q.x_shift = (uint8_t)x_shift;
    for(i = 0; i < n; i++) {
      q.bt[i] = (uint16_t)get_u(&r, 2);
      q.bx[i] = (int16_t)(uint16_t)get_u(&r, 2);
      if((i > 0 && q.bt[i] < q.bt[i - 1]) || q.bx[i] < -32767)
        return PREDICT_ERR_FORMAT;
    }
    /* other parameters (a reload): each value as the model value it was
       under the saved ones, stored in steps under the current ones */
    saved.full = saved_full;
    saved.empty = saved_empty;
    saved.life = saved_life;
    if(!same && params_ok(&saved)) {
      for(i = 0; i < n; i++)
        bx[i] = (float)x_of_remaining(&saved, 0.5 + ldexp((double)q.bx[i], (int)x_shift - 15));
      q.x_shift = 0;
      for(i = 0; i < n; i++)
        bx_put(&q, i, (double)bx[i]);
    }
    else if(!same)
      return PREDICT_ERR_FORMAT;
  }
  else {
    for(i = 0; i < n; i++) {
      bt[i] = (uint32_t)get_u(&r, 4);
      bx[i] = get_f32(&r);
      if(!isfinite(bx[i]) || fabsf(bx[i]) > 1e15f)
        return PREDICT_ERR_FORMAT;
      if(i > 0 && bt[i] < bt[i - 1])
        return PREDICT_ERR_FORMAT;
    }
    /* version 3, migrated: the time unit is the saved one, or coarser when
       the times need it (a blob from before the unit was saved has exact
       seconds); the values, saved as model values, are stored in steps
       under the current parameters from the finest step (the step is not
       in the blob) */
    while(n > 0 && t_shift < T_SHIFT_MAX && (bt[n - 1] >> t_shift) > 65535u)
      t_shift++;
    q.t_shift = (uint8_t)t_shift;
    for(i = 0; i < n; i++)
      q.bt[i] = (uint16_t)(bt[i] >> t_shift > 65535u ? 65535u : bt[i] >> t_shift);
    q.x_shift = 0;
    for(i = 0; i < n; i++)
      bx_put(&q, i, (double)bx[i]);
  }
  /* The checksum proves integrity, not sense: check every field anyway. */
  if(!isfinite(q.base) || !isfinite(q.raw[0]) || !isfinite(q.raw[1]) || !isfinite(q.filt) ||
     !isfinite(q.noise) || q.noise < 0 || q.noise > 1 || !isfinite(q.open_sum_t) ||
     !isfinite(q.open_sum_x) || fabs(q.base) > 1e15 || fabs(q.filt) > 1e15)
    return PREDICT_ERR_FORMAT;
  if(q.width_s == 0 || q.width_s > MAX_WIDTH_S)
    return PREDICT_ERR_FORMAT;
  if(q.last_ts == PT_NONE) {
    if(n != 0 || q.open_n != 0 || n_raw != 0)
      return PREDICT_ERR_FORMAT;
  }
  else if(q.seg_start_ts == PT_NONE && model != PREDICT_MODEL_BUTTON)
    return PREDICT_ERR_FORMAT; /* a button keeps only its last reading: it has no segment */
  /* a marked replacement waits for its first reading: nothing in the segment */
  if(n_raw == 0 && (n != 0 || q.open_n != 0))
    return PREDICT_ERR_FORMAT;
  if(q.open_n == 0 && (q.open_sum_t != 0 || q.open_sum_x != 0))
    return PREDICT_ERR_FORMAT;
  if(q.open_n > 0 && (q.open_sum_t < 0 || q.open_sum_t / (double)q.open_n > (double)UINT32_MAX))
    return PREDICT_ERR_FORMAT;
  if(!fit_ok(q.fit_kind, &q.fit))
    return PREDICT_ERR_FORMAT;
  /* other parameters (a reload): the history is re-read under the new ones */
  if(!same)
    refit(&q, NULL);
  *p = q;
  return PREDICT_OK;
}
