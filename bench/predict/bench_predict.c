/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_predict: accuracy and speed of restock's depletion predictor
 * (rules/predict.c) against plain least squares over the same window (the
 * method of Prometheus predict_linear), on seeded generated traces.
 *
 *   bench_predict [--seed N] [--traces N] [--speed-n N] [--z Z] [--no-speed]
 *
 * Families: linear use; weekly duty cycle with idle weekends; noise; glitch
 * spikes; rate change mid-life; replacements; exponential clogging curve;
 * counters with resets. Every figure is printed with its definition; see
 * docs/BENCHMARKS.md for a run and docs/prediction.md for the method.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/rs_util.h"
#include "rules/predict.h"

#define HOUR_MS  INT64_C(3600000)
#define DAY_MS   (24 * HOUR_MS)
#define POLL_MS  (HOUR_MS / 2)
#define T_BASE   INT64_C(1767225600000) /* 2026-01-01T00:00:00Z, a Thursday */
#define LEAD_D   5.0
#define MARGIN_D 2.0
#define CHECK_MS (6 * HOUR_MS)
#define MAX_SEG  4
#define ERR_CAP  9999.0

/* ---- seeded random numbers (xorshift64*) ---- */

static uint64_t rng;
static double opt_z = -1; /* --z: override the predictor's conservatism */

static double urand(void)
{
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return (double)((rng * UINT64_C(2685821657736338717)) >> 11) / 9007199254740992.0;
}

static double uniform(double a, double b)
{
  return a + (b - a) * urand();
}

static double gauss(void)
{
  double u = urand(), v = urand();
  if(u < 1e-300)
    u = 1e-300;
  return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* ---- traces ---- */

enum family {
  FAM_LINEAR,
  FAM_WEEKLY,
  FAM_NOISE,
  FAM_GLITCH,
  FAM_RATE_CHANGE,
  FAM_REPLACE,
  FAM_CLOG,
  FAM_COUNTER,
  FAM_COUNT
};

static const char *const family_name[FAM_COUNT] = {
    "linear", "weekly", "noise", "glitches", "rate-change", "replacements", "clogging", "counter"};

struct segment {
  int64_t install_ms; /* the part went in */
  int64_t end_ms;     /* replaced (or the trace ends) */
  int64_t empty_ms;   /* when it is (or would have been) empty */
};

struct trace {
  struct predict_params params;
  int64_t *t;
  double *v;
  size_t n, cap;
  struct segment seg[MAX_SEG];
  size_t n_seg;
};

static void trace_push(struct trace *tr, int64_t t, double v)
{
  if(tr->n == tr->cap) {
    size_t cap = tr->cap ? tr->cap * 2 : 4096;
    int64_t *nt = realloc(tr->t, cap * sizeof(*nt));
    double *nv;
    if(!nt)
      abort();
    tr->t = nt;
    nv = realloc(tr->v, cap * sizeof(*nv));
    if(!nv)
      abort();
    tr->v = nv;
    tr->cap = cap;
  }
  tr->t[tr->n] = t;
  tr->v[tr->n] = v;
  tr->n++;
}

/* Hours 06-22 on Monday to Friday (T_BASE + 0 is a Thursday). */
static bool weekday_active(int64_t t_ms)
{
  int64_t d = (t_ms - T_BASE) / DAY_MS, h = ((t_ms - T_BASE) % DAY_MS) / HOUR_MS;
  int dow = (int)((d + 3) % 7); /* 0 = Monday */
  return dow < 5 && h >= 6 && h < 22;
}

/* Hours 06-22 every day. */
static bool daily_active(int64_t t_ms)
{
  int64_t h = ((t_ms - T_BASE) % DAY_MS) / HOUR_MS;
  return h >= 6 && h < 22;
}

/*
 * One part's life, noise-free, as used fraction per poll step from
 * install_ms: rate_of(t) is the fraction of life per day. Fills used[] (at
 * least until used >= 1) and returns the step count; *empty_ms gets the
 * interpolated time used reaches 1.
 */
struct part {
  enum family fam;
  double life_d;        /* nominal calendar life */
  double change_at_d;   /* rate change: when, days after install */
  double change_factor; /* and by how much */
  double day_factor[512];
};

static double rate_of(const struct part *pt, int64_t install_ms, int64_t t_ms)
{
  double d = (double)(t_ms - install_ms) / DAY_MS, r = 1.0 / pt->life_d;
  switch(pt->fam) {
  case FAM_WEEKLY:
    return weekday_active(t_ms) ? r * 168.0 / 80.0 : 0;
  case FAM_RATE_CHANGE:
    return d >= pt->change_at_d ? r * pt->change_factor : r;
  case FAM_COUNTER: {
    size_t day = (size_t)d;
    double f = pt->day_factor[day < 512 ? day : 511];
    return daily_active(t_ms) ? r * 24.0 / 16.0 * f : 0;
  }
  default:
    return r;
  }
}

static size_t simulate_part(const struct part *pt, int64_t install_ms, double *used, size_t cap,
                            int64_t *empty_ms)
{
  size_t k = 0;
  double u = 0;
  *empty_ms = INT64_MAX;
  used[k++] = 0;
  while(k < cap) {
    int64_t t = install_ms + (int64_t)(k - 1) * POLL_MS;
    double du = rate_of(pt, install_ms, t) * (double)POLL_MS / DAY_MS;
    if(u < 1 && u + du >= 1 && *empty_ms == INT64_MAX)
      *empty_ms = t + (int64_t)((1 - u) / du * (double)POLL_MS);
    u += du;
    used[k++] = u;
    if(*empty_ms != INT64_MAX && t > *empty_ms + 3 * DAY_MS)
      break;
  }
  return k;
}

static void make_part(struct part *pt, enum family fam)
{
  size_t i;
  memset(pt, 0, sizeof(*pt));
  pt->fam = fam;
  pt->life_d = uniform(20, 120);
  pt->change_at_d = pt->life_d * uniform(0.3, 0.6);
  pt->change_factor = urand() < 0.5 ? uniform(0.5, 0.8) : uniform(1.25, 2.0);
  for(i = 0; i < 512; i++)
    pt->day_factor[i] = uniform(0.7, 1.3);
}

/* The reading a sensor gives for used fraction u of a part. */
static double reading(const struct trace *tr, enum family fam, double u, double t_d_in_part,
                      double life_d, double base)
{
  double v;
  (void)t_d_in_part;
  switch(fam) {
  case FAM_CLOG: {
    /* dp = 0.2 exp(k t) with dp = 3.5 at end of life; u is time fraction */
    double dp = 0.2 * exp(log(3.5 / 0.2) * u);
    (void)life_d;
    if(dp > 4.0)
      dp = 4.0;
    return dp + 0.01 * gauss();
  }
  case FAM_COUNTER:
    return base + floor(u * tr->params.life);
  default:
    v = 100.0 * (1 - u);
    if(v < 0)
      v = 0;
    v += (fam == FAM_NOISE ? 2.0 : 0.2) * gauss();
    if(fam == FAM_GLITCH && urand() < 0.01) {
      static const double spikes[] = {0.0, 100.0, 655.35, -1.0};
      v = urand() < 0.25 ? v * 2 : spikes[(size_t)(urand() * 4) & 3];
    }
    return v;
  }
}

/* Generate one trace of family fam. */
static void make_trace(struct trace *tr, enum family fam)
{
  static double used[120 * 4 * 48 + 4096];
  size_t parts = (fam == FAM_REPLACE || fam == FAM_COUNTER) ? 3 : 1, s;
  int64_t start = T_BASE + (int64_t)(urand() * 7 * (double)DAY_MS) / POLL_MS * POLL_MS;
  double base = fam == FAM_COUNTER ? 12345 : 0;

  tr->n = 0;
  tr->n_seg = 0;
  if(fam == FAM_CLOG) {
    predict_params_default(&tr->params, PREDICT_MODEL_LEVEL);
    tr->params.full = 0.2;
    tr->params.empty = 3.5;
  }
  else if(fam == FAM_COUNTER) {
    predict_params_default(&tr->params, PREDICT_MODEL_USAGE);
    tr->params.life = 2000;
    tr->params.start = base;
  }
  else {
    predict_params_default(&tr->params, PREDICT_MODEL_LEVEL);
    tr->params.full = 100;
    tr->params.empty = 0;
  }
  for(s = 0; s < parts; s++) {
    struct part pt;
    struct segment *sg = &tr->seg[tr->n_seg++];
    int64_t empty_ms;
    size_t k, steps;
    double stop_at = 1e9; /* used fraction at which it is replaced */
    make_part(&pt, fam);
    steps = simulate_part(&pt, start, used, sizeof(used) / sizeof(used[0]), &empty_ms);
    if(s + 1 < parts)
      stop_at = fam == FAM_COUNTER ? uniform(0.85, 0.95) : uniform(0.85, 0.95);
    sg->install_ms = start;
    sg->empty_ms = empty_ms;
    for(k = 0; k < steps; k++) {
      int64_t t = start + (int64_t)k * POLL_MS;
      if(used[k] >= stop_at)
        break;
      trace_push(tr, t, reading(tr, fam, used[k], (double)k / 48, pt.life_d, base));
    }
    sg->end_ms = start + (int64_t)k * POLL_MS;
    start = sg->end_ms;
    base = 0; /* a replaced counter is reset */
  }
}

/* ---- the baseline: least squares over the predictor's window ---- */

struct ols {
  double n, st, sy, stt, sty;
  int64_t origin;
};

static void ols_reset(struct ols *o, int64_t origin)
{
  memset(o, 0, sizeof(*o));
  o->origin = origin;
}

static void ols_add(struct ols *o, int64_t t_ms, double y)
{
  double t = (double)(t_ms - o->origin) / DAY_MS;
  o->n += 1;
  o->st += t;
  o->sy += y;
  o->stt += t * t;
  o->sty += t * y;
}

/*
 * Days until the fitted line at now reaches y_empty, moving in direction
 * dir (+1: values rise towards empty, -1: they fall). 0 when the line is
 * already past empty at now, INFINITY when it moves away from empty.
 */
static double ols_days_left(const struct ols *o, int64_t now_ms, double y_empty, double dir)
{
  double den, b, a, now, y_now;
  if(o->n < 2)
    return INFINITY;
  den = o->n * o->stt - o->st * o->st;
  if(!(fabs(den) > 1e-12))
    return INFINITY;
  b = (o->n * o->sty - o->st * o->sy) / den;
  a = (o->sy - b * o->st) / o->n;
  now = (double)(now_ms - o->origin) / DAY_MS;
  y_now = a + b * now;
  if((y_now - y_empty) * dir >= 0)
    return 0;
  if(b * dir <= 0)
    return INFINITY;
  return (y_empty - y_now) / b;
}

/* ---- accuracy ---- */

#define N_CP 3
static const double cp_frac[N_CP] = {0.75, 0.5, 0.25};

struct errs {
  double *v[N_CP];
  size_t n[N_CP], cap[N_CP];
  size_t stockouts, segments;
};

static void errs_push(struct errs *e, int c, double x)
{
  if(e->n[c] == e->cap[c]) {
    size_t cap = e->cap[c] ? e->cap[c] * 2 : 256;
    double *nv = realloc(e->v[c], cap * sizeof(*nv));
    if(!nv)
      abort();
    e->v[c] = nv;
    e->cap[c] = cap;
  }
  e->v[c][e->n[c]++] = x;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : (x > y ? 1 : 0);
}

static double pct(double *v, size_t n, double q)
{
  size_t k;
  if(n == 0)
    return NAN;
  qsort(v, n, sizeof(*v), cmp_double);
  k = (size_t)(q * (double)(n - 1) + 0.5);
  return v[k];
}

static double err_of(double pred, double truth)
{
  double e = fabs(pred - truth);
  return isfinite(e) && e < ERR_CAP ? e : ERR_CAP;
}

/* The raw value at which the part is empty, for the baseline. */
static double empty_value(const struct predict_params *pp, double base)
{
  return pp->model == PREDICT_MODEL_USAGE ? base + pp->life : pp->empty;
}

/* +1 when readings rise towards empty, -1 when they fall. */
static double direction(const struct predict_params *pp)
{
  if(pp->model == PREDICT_MODEL_USAGE)
    return 1;
  return pp->empty > pp->full ? 1 : -1;
}

/*
 * Run one trace through the predictor and the baseline, collecting the
 * days_left errors at the checkpoints of every segment and the stockouts.
 */
static void run_trace(const struct trace *tr, struct errs *mine, struct errs *ls)
{
  struct predictor p;
  struct ols o;
  size_t i, seg = 0;
  int cp = 0;
  int64_t next_check = 0;
  bool so_mine = false, so_ls = false;
  double base = tr->params.model == PREDICT_MODEL_USAGE ? tr->params.start : 0;

  {
    struct predict_params pp = tr->params;
    if(opt_z >= 0)
      pp.z = opt_z;
    if(predict_init(&p, &pp))
      abort();
  }
  ols_reset(&o, tr->t[0]);
  for(i = 0; i < tr->n; i++) {
    int64_t now = tr->t[i];
    struct predict_event ev;
    const struct segment *sg;
    while(seg + 1 < tr->n_seg && now >= tr->seg[seg].end_ms) {
      mine->stockouts += so_mine;
      ls->stockouts += so_ls;
      mine->segments++;
      ls->segments++;
      so_mine = so_ls = false;
      seg++;
      cp = 0;
    }
    sg = &tr->seg[seg];
    if(predict_add(&p, now, tr->v[i], &ev)) {
      /* the baseline gets the predictor's window: since the replacement */
      ols_reset(&o, ev.at_ms);
      if(tr->params.model == PREDICT_MODEL_USAGE)
        base = 0;
      if(i > 0)
        ols_add(&o, tr->t[i - 1], tr->v[i - 1]);
    }
    ols_add(&o, now, tr->v[i]);

    {
      double life_ms = (double)(sg->empty_ms - sg->install_ms);
      double truth = (double)(sg->empty_ms - now) / DAY_MS;
      bool at_cp = cp < N_CP && (double)(sg->empty_ms - now) <= cp_frac[cp] * life_ms;
      bool at_check = now >= next_check;
      if(at_cp || at_check) {
        struct prediction pr;
        double lsd;
        predict_eval(&p, now, &pr);
        lsd = ols_days_left(&o, now, empty_value(&tr->params, base), direction(&tr->params));
        if(at_cp) {
          errs_push(mine, cp, err_of(pr.days_left, truth));
          errs_push(ls, cp, err_of(lsd, truth));
          cp++;
        }
        if(at_check) {
          next_check = now + CHECK_MS;
          if(truth > 0 && truth < LEAD_D && now < sg->end_ms) {
            if(pr.days_left > LEAD_D + MARGIN_D)
              so_mine = true;
            if(lsd > LEAD_D + MARGIN_D)
              so_ls = true;
          }
        }
      }
    }
  }
  mine->stockouts += so_mine;
  ls->stockouts += so_ls;
  mine->segments++;
  ls->segments++;
}

/* ---- speed ---- */

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void speed(size_t n)
{
  struct predict_params pp;
  struct predictor *ps = malloc(n * sizeof(*ps));
  struct prediction pr;
  double t0, t_add, t_eval, sink = 0;
  uint8_t blob[PREDICT_STATE_MAX];
  size_t i, len = 0, total_blob = 0;
  int k;
  if(!ps) {
    fprintf(stderr, "out of memory for %zu predictors\n", n);
    return;
  }
  predict_params_default(&pp, PREDICT_MODEL_LEVEL);
  pp.full = 100;
  pp.empty = 0;
  for(i = 0; i < n; i++)
    predict_init(&ps[i], &pp);
  t0 = now_s();
  /* 64 hourly readings each: with 15-minute buckets every reading closes a
     bucket, so every predict_add() refits (the worst case) */
  for(k = 0; k < 64; k++)
    for(i = 0; i < n; i++)
      predict_add(&ps[i], T_BASE + k * HOUR_MS,
                  100.0 - (double)k * (0.05 + 0.001 * (double)(i % 100)) + 0.3 * gauss(), NULL);
  t_add = now_s() - t0;
  t0 = now_s();
  for(i = 0; i < n; i++) {
    predict_eval(&ps[i], T_BASE + 64 * HOUR_MS, &pr);
    sink += pr.days_left + pr.confidence;
  }
  t_eval = now_s() - t0;
  for(i = 0; i < n; i++) {
    if(predict_save(&ps[i], blob, sizeof(blob), &len) == PREDICT_OK)
      total_blob += len;
  }
  printf("\nSpeed: %zu consumables, 64 readings each (hourly; every reading closes a bucket)\n", n);
  printf("  predict_add:  %.3f s total, %.0f ns per reading (each one refits)\n", t_add,
         t_add / (double)n / 64 * 1e9);
  printf("  predict_eval: %.4f s for one full evaluation of all %zu (%.0f ns each)  %s\n", t_eval,
         n, t_eval / (double)n * 1e9,
         t_eval < 0.2 ? "[goal < 0.2 s: met]" : "[goal < 0.2 s: MISSED]");
  printf("  state: sizeof(struct predictor) = %zu bytes in memory; saved blob %zu bytes "
         "(max %d)\n",
         sizeof(struct predictor), n ? total_blob / n : 0, PREDICT_STATE_MAX);
  if(sink == 42.4242)
    printf(" ");
  free(ps);
}

int main(int argc, char **argv)
{
  int64_t seed = 1, traces = 200, speed_n = 100000;
  bool do_speed = true, all_met = true;
  int i, f, c;
  struct trace tr;

  for(i = 1; i < argc; i++) {
    if(!strcmp(argv[i], "--seed") && i + 1 < argc) {
      if(rs_parse_i64(argv[++i], false, 0, INT64_MAX, &seed))
        goto usage;
    }
    else if(!strcmp(argv[i], "--traces") && i + 1 < argc) {
      if(rs_parse_i64(argv[++i], false, 1, 100000, &traces))
        goto usage;
    }
    else if(!strcmp(argv[i], "--speed-n") && i + 1 < argc) {
      if(rs_parse_i64(argv[++i], false, 1, 10000000, &speed_n))
        goto usage;
    }
    else if(!strcmp(argv[i], "--z") && i + 1 < argc) {
      if(rs_parse_double(argv[++i], &opt_z) || opt_z < 0 || opt_z > 10)
        goto usage;
    }
    else if(!strcmp(argv[i], "--no-speed"))
      do_speed = false;
    else
      goto usage;
  }

  memset(&tr, 0, sizeof(tr));
  printf("bench_predict: seed %lld, %lld traces per family, readings every 30 min\n",
         (long long)seed, (long long)traces);
  printf("Error: |days_left predicted - days_left true| in days, at the first reading when\n"
         "75%%, 50%% and 25%% of the part's life (time from install to true empty) is left.\n"
         "Stockout: a part for which, at some 6-hourly check while its true days left were\n"
         "in (0, %.0f) (the lead time), the predictor said days_left > %.0f (lead time +\n"
         "%.0f days margin, the default rule's), i.e. an order placed then arrives too late.\n"
         "LS: ordinary least squares on the raw readings since the predictor's last detected\n"
         "replacement, extrapolated from the fitted value at now (Prometheus predict_linear).\n"
         "Errors are capped at %.0f days (an infinite prediction counts as %.0f).\n"
         "ratio: the worst, over the three checkpoints, of restock's median error over LS's.\n"
         "goal: ratio <= 0.5 and no stockout.\n\n",
         LEAD_D, LEAD_D + MARGIN_D, MARGIN_D, ERR_CAP, ERR_CAP);
  printf("%-13s %-8s %7s %7s %7s %7s %7s %7s %9s %6s %6s\n", "family", "method", "med@75", "p90@75",
         "med@50", "p90@50", "med@25", "p90@25", "stockouts", "ratio", "goal");
  for(f = 0; f < FAM_COUNT; f++) {
    struct errs mine, ls;
    double mm[N_CP], ml[N_CP], pm[N_CP], pl[N_CP], ratio = 0;
    bool met = true;
    int64_t k;
    memset(&mine, 0, sizeof(mine));
    memset(&ls, 0, sizeof(ls));
    rng = (uint64_t)seed * UINT64_C(0x9E3779B97F4A7C15) + (uint64_t)f + 1;
    for(k = 0; k < traces; k++) {
      make_trace(&tr, (enum family)f);
      run_trace(&tr, &mine, &ls);
    }
    for(c = 0; c < N_CP; c++) {
      mm[c] = pct(mine.v[c], mine.n[c], 0.5);
      pm[c] = pct(mine.v[c], mine.n[c], 0.9);
      ml[c] = pct(ls.v[c], ls.n[c], 0.5);
      pl[c] = pct(ls.v[c], ls.n[c], 0.9);
      if(!(mm[c] <= 0.5 * ml[c]))
        met = false;
      if(ml[c] > 0 && mm[c] / ml[c] > ratio)
        ratio = mm[c] / ml[c];
    }
    if(mine.stockouts)
      met = false;
    if(!met)
      all_met = false;
    printf("%-13s %-8s %7.2f %7.2f %7.2f %7.2f %7.2f %7.2f %4zu/%-4zu %6.2f %6s\n", family_name[f],
           "restock", mm[0], pm[0], mm[1], pm[1], mm[2], pm[2], mine.stockouts, mine.segments,
           ratio, met ? "met" : "MISSED");
    printf("%-13s %-8s %7.2f %7.2f %7.2f %7.2f %7.2f %7.2f %4zu/%-4zu\n", "", "LS", ml[0], pl[0],
           ml[1], pl[1], ml[2], pl[2], ls.stockouts, ls.segments);
    for(c = 0; c < N_CP; c++) {
      FREE_NULL(mine.v[c]);
      FREE_NULL(ls.v[c]);
    }
  }
  printf("goal (median error <= 0.5 x LS at every checkpoint, no stockout): %s\n",
         all_met ? "met in every family" : "not met in every family (see MISSED rows)");
  FREE_NULL(tr.t);
  FREE_NULL(tr.v);
  if(do_speed)
    speed((size_t)speed_n);
  return 0;
usage:
  fprintf(stderr,
          "usage: bench_predict [--seed N] [--traces N] [--speed-n N] [--z Z] [--no-speed]\n");
  return 2;
}
