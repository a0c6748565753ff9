/* SPDX-License-Identifier: Apache-2.0 */
/*
 * predict_gen: seeded consumable traces (see predict_gen.h). The plant is
 * simulated in 5-minute steps: an activity function (shifts, bursts, pump
 * runs, holidays; local time with DST) uses up the part, and a sensor
 * function turns the used fraction into what the device reports (noise,
 * quantisation, spikes, outliers, zeros while stopped, a 16-bit register,
 * frozen values, missing readings).
 */
#include "bench/predict/predict_gen.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MIN_MS  INT64_C(60000)
#define HOUR_MS INT64_C(3600000)
#define DAY_MS  (24 * HOUR_MS)
#define STEP_MS (5 * MIN_MS)
#define T_BASE  INT64_C(1767225600000) /* 2026-01-01T00:00:00Z, a Thursday */

const char *const gen_family_name[GEN_COUNT] = {"ink",         "clog",    "water",
                                                "bearing",     "tyre",    "rate-change",
                                                "replacement", "stuck"};

void gen_seed(struct gen_rng *r, uint64_t seed, unsigned stream)
{
  r->s = seed * UINT64_C(0x9E3779B97F4A7C15) + (uint64_t)stream * UINT64_C(0xD1B54A32D192ED03) + 1;
  if(!r->s)
    r->s = 1;
}

double gen_urand(struct gen_rng *r)
{
  r->s ^= r->s >> 12;
  r->s ^= r->s << 25;
  r->s ^= r->s >> 27;
  return (double)((r->s * UINT64_C(2685821657736338717)) >> 11) / 9007199254740992.0;
}

double gen_uni(struct gen_rng *r, double a, double b)
{
  return a + (b - a) * gen_urand(r);
}

double gen_gauss(struct gen_rng *r)
{
  double u = gen_urand(r), v = gen_urand(r);
  if(u < 1e-300)
    u = 1e-300;
  return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static double expo(struct gen_rng *r)
{
  double u = gen_urand(r);
  return -log(u > 1e-300 ? u : 1e-300);
}

/* ---- local time (Central Europe: CET, CEST from the last Sunday of March to that of October) ---- */

static bool dst(int64_t t)
{
  /* 2026: 29 Mar 01:00Z .. 25 Oct 01:00Z; 2027: 28 Mar .. 31 Oct */
  static const int64_t on[2] = {INT64_C(1774746000000), INT64_C(1806195600000)};
  static const int64_t off[2] = {INT64_C(1792890000000), INT64_C(1824944400000)};
  return (t >= on[0] && t < off[0]) || (t >= on[1] && t < off[1]);
}

/* Local day number since 2026-01-01, day of week (0 Monday), hour of day (fractional). */
static void local_time(int64_t t, int64_t *day, int *dow, double *hour)
{
  int64_t l = t - T_BASE + (dst(t) ? 2 : 1) * HOUR_MS;
  int64_t d = l >= 0 ? l / DAY_MS : (l - DAY_MS + 1) / DAY_MS;
  *day = d;
  *dow = (int)(((d + 3) % 7 + 7) % 7);
  *hour = (double)(l - d * DAY_MS) / (double)HOUR_MS;
}

/* ---- the plant ---- */

struct plant {
  enum gen_family fam;
  double h0, h1;     /* working hours, local */
  int work_days;     /* 5: Mon-Fri, 6: Mon-Sat, 7: every day */
  double p_job;      /* ink: chance of a print job in a 5-minute step */
  int64_t hol_from;  /* a holiday shutdown (local day numbers), or -1 */
  int64_t hol_to;
  double day_factor; /* today's factor (redrawn each local day) */
  int64_t factor_day;
  double spread;     /* day-to-day spread of the factor */
};

static bool working(const struct plant *pl, int64_t t)
{
  int64_t day;
  int dow;
  double h;
  local_time(t, &day, &dow, &h);
  if(day >= pl->hol_from && day < pl->hol_to)
    return false;
  if(dow >= pl->work_days)
    return false;
  return h >= pl->h0 && h < pl->h1;
}

/* Share of a week that is working time, for scaling the rate to a calendar life. */
static double working_share(const struct plant *pl)
{
  return (double)pl->work_days * (pl->h1 - pl->h0) / (7.0 * 24.0);
}

/* Activity in [0, inf) of a 5-minute step at t; its mean over working time is 1. */
static double activity(struct plant *pl, struct gen_rng *r, int64_t t)
{
  int64_t day;
  int dow;
  double h;
  local_time(t, &day, &dow, &h);
  if(day != pl->factor_day) {
    pl->factor_day = day;
    pl->day_factor = exp(pl->spread * gen_gauss(r) - pl->spread * pl->spread / 2);
  }
  if(!working(pl, t))
    return 0;
  if(pl->fam == GEN_INK)
    return gen_urand(r) < pl->p_job ? expo(r) / pl->p_job * pl->day_factor : 0;
  return pl->day_factor;
}

void gen_trace_push(struct gen_trace *tr, int64_t t, double v, double u)
{
  if(tr->n == tr->cap) {
    size_t cap = tr->cap ? tr->cap * 2 : 8192;
    int64_t *nt = realloc(tr->t, cap * sizeof(*nt));
    double *nv, *nu;
    if(!nt)
      abort();
    tr->t = nt;
    nv = realloc(tr->v, cap * sizeof(*nv));
    if(!nv)
      abort();
    tr->v = nv;
    nu = realloc(tr->u, cap * sizeof(*nu));
    if(!nu)
      abort();
    tr->u = nu;
    tr->cap = cap;
  }
  tr->t[tr->n] = t;
  tr->v[tr->n] = v;
  tr->u[tr->n] = u;
  tr->n++;
}

/* How a part of the trace behaves. */
struct part {
  double life_d;      /* nominal calendar life */
  double u0;          /* used fraction when fitted (refills, retreads) */
  double rate;        /* used fraction per day of working activity 1 */
  double change_at_d; /* rate change: days after install (inf: none) */
  double change_f;
  double stop_at; /* replaced when used reaches this (inf for the last part) */
};

/* Sensor state across readings. */
struct sensor {
  int64_t poll_ms;
  double noise;     /* sd, raw units */
  double quant;     /* quantisation step (0: none) */
  double counter;   /* usage: unwrapped counter now */
  double base;      /* usage: counter at install */
  double life;      /* usage: counter units per part */
  bool was_on;      /* clog: the pump ran at the last reading */
  int64_t stuck_from[4], stuck_to[4], drop_from[4], drop_to[4];
  int n_stuck, n_drop;
  double stuck_v, stuck_u;
  bool stuck;
};

double gen_quantise(double v, double q)
{
  return q > 0 ? floor(v / q + 0.5) * q : v;
}

/* What the device reports for used fraction u at t; *ub gets the baseline's value. */
static double sense(enum gen_family f, struct gen_trace *tr, struct sensor *s, struct gen_rng *r,
                    double u, bool on, double *ub)
{
  double v;
  switch(f) {
  case GEN_CLOG: {
    double dp0 = tr->params.full, dpe = tr->params.empty;
    if(!on) {
      s->was_on = false;
      *ub = NAN;
      return gen_quantise(fabs(0.005 * gen_gauss(r)), 0.01);
    }
    v = dp0 * exp(log(dpe / dp0) * u) * (1 + s->noise * gen_gauss(r));
    if(!s->was_on && gen_urand(r) < 0.8)
      v *= gen_uni(r, 1.5, 2.5); /* pump-start spike */
    s->was_on = true;
    v = gen_quantise(v, 0.01);
    *ub = v;
    return v;
  }
  case GEN_WATER:
  case GEN_BEARING:
    v = floor(s->counter / s->quant) * s->quant;
    *ub = v;
    return f == GEN_WATER ? fmod(v, 65536.0) : v;
  case GEN_TYRE:
    v = 8.0 - 6.4 * u + s->noise * gen_gauss(r);
    if(gen_urand(r) < 0.05)
      v += (gen_urand(r) < 0.7 ? -1 : 1) * gen_uni(r, 0.5, 2.5); /* a stone in the groove */
    v = gen_quantise(v, 0.1);
    *ub = v;
    return v;
  default:
    v = 100.0 * (1 - u);
    if(v < 0)
      v = 0;
    v = gen_quantise(v + s->noise * gen_gauss(r), s->quant);
    *ub = v;
    return v;
  }
}

static void setup(enum gen_family f, struct gen_trace *tr, struct plant *pl, struct sensor *s,
                  struct gen_rng *r)
{
  memset(pl, 0, sizeof(*pl));
  memset(s, 0, sizeof(*s));
  pl->fam = f;
  pl->hol_from = pl->hol_to = -1;
  pl->factor_day = INT64_MIN;
  pl->work_days = 5;
  pl->h0 = 6;
  pl->h1 = 22;
  pl->spread = gen_uni(r, 0.05, 0.3);
  s->poll_ms = (int64_t)(gen_uni(r, 10, 60)) * MIN_MS;
  predict_params_default(&tr->params, PREDICT_MODEL_LEVEL);
  tr->params.full = 100;
  tr->params.empty = 0;
  switch(f) {
  case GEN_INK:
    pl->h0 = floor(gen_uni(r, 7, 9.99));
    pl->h1 = floor(gen_uni(r, 16, 19.99));
    pl->p_job = gen_uni(r, 0.05, 0.3);
    pl->spread = gen_uni(r, 0.2, 0.5);
    s->noise = gen_uni(r, 0.1, 1.0);
    s->quant = gen_urand(r) < 0.5 ? 1 : 0;
    break;
  case GEN_CLOG:
    pl->work_days = gen_urand(r) < 0.5 ? 5 : 6;
    pl->h0 = gen_urand(r) < 0.5 ? 6 : 14;
    pl->h1 = pl->h0 + (gen_urand(r) < 0.5 ? 8 : 16);
    if(pl->h1 > 24)
      pl->h1 = 24;
    tr->params.full = gen_uni(r, 0.2, 0.5);
    tr->params.empty = gen_uni(r, 2.5, 4.0);
    s->noise = gen_uni(r, 0.005, 0.03);
    s->poll_ms = (int64_t)(gen_uni(r, 5, 30)) * MIN_MS;
    break;
  case GEN_WATER:
    predict_params_default(&tr->params, PREDICT_MODEL_USAGE);
    pl->work_days = 7;
    pl->h0 = gen_uni(r, 5, 8);
    pl->h1 = gen_uni(r, 18, 23);
    tr->params.life = floor(gen_uni(r, 8000, 60000));
    s->quant = 1;
    s->counter = floor(gen_uni(r, 0, 65535));
    break;
  case GEN_BEARING: {
    int shifts = 1 + (int)(gen_urand(r) * 3);
    predict_params_default(&tr->params, PREDICT_MODEL_USAGE);
    pl->work_days = gen_urand(r) < 0.7 ? 5 : 6;
    pl->h0 = shifts == 3 ? 0 : 6;
    pl->h1 = pl->h0 + 8 * shifts;
    pl->spread = 0.0;
    s->quant = 0.1;
    s->counter = floor(gen_uni(r, 0, 40000));
    break;
  }
  case GEN_TYRE:
    tr->params.full = 8.0;
    tr->params.empty = 1.6;
    pl->work_days = 5;
    pl->h0 = 6;
    pl->h1 = 18;
    s->noise = gen_uni(r, 0.05, 0.15);
    break;
  case GEN_RATE:
    pl->work_days = gen_urand(r) < 0.5 ? 5 : 7;
    pl->h0 = gen_urand(r) < 0.5 ? 6 : 0;
    pl->h1 = pl->h0 < 1 ? 24 : 22;
    s->noise = gen_uni(r, 0.1, 1.0);
    break;
  case GEN_REPLACE:
    pl->work_days = gen_urand(r) < 0.5 ? 5 : 7;
    s->noise = gen_uni(r, 0.1, 0.8);
    break;
  case GEN_STUCK:
    pl->work_days = gen_urand(r) < 0.5 ? 5 : 7;
    s->noise = gen_uni(r, 0.1, 0.5);
    s->quant = gen_urand(r) < 0.5 ? 0.5 : 0;
    break;
  default:
    break;
  }
}

/* Place stuck periods and dropouts over one part's life (the last in its final third). */
static void faults(struct sensor *s, struct gen_rng *r, int64_t install, double life_d)
{
  int i;
  s->n_stuck = 1 + (int)(gen_urand(r) * 3);
  s->n_drop = 1 + (int)(gen_urand(r) * 3);
  for(i = 0; i < s->n_stuck; i++) {
    double at = life_d * (i == s->n_stuck - 1 ? gen_uni(r, 0.65, 0.92) : gen_uni(r, 0.1, 0.6));
    s->stuck_from[i] = install + (int64_t)(at * (double)DAY_MS);
    s->stuck_to[i] = s->stuck_from[i] + (int64_t)(gen_uni(r, 1, 6) * (double)DAY_MS);
  }
  for(i = 0; i < s->n_drop; i++) {
    double at = life_d * (i == s->n_drop - 1 ? gen_uni(r, 0.6, 0.9) : gen_uni(r, 0.1, 0.6));
    s->drop_from[i] = install + (int64_t)(at * (double)DAY_MS);
    s->drop_to[i] = s->drop_from[i] + (int64_t)(gen_uni(r, 0.5, 3) * (double)DAY_MS);
  }
}

static bool in_any(const int64_t *from, const int64_t *to, int n, int64_t t)
{
  int i;
  for(i = 0; i < n; i++)
    if(t >= from[i] && t < to[i])
      return true;
  return false;
}

/* Whether the sensor reads at t (polls; tyres once a working day at a set hour). */
static bool reads_now(enum gen_family f, const struct plant *pl, struct sensor *s,
                      struct gen_rng *r, int64_t t, int64_t *next)
{
  if(t < *next)
    return false;
  if(f == GEN_TYRE) {
    int64_t day;
    int dow;
    double h;
    local_time(t, &day, &dow, &h);
    /* one check a working day around 07:00 local, sometimes skipped */
    if(dow < pl->work_days && h >= 7 && h < 7 + 5.0 / 60 &&
       !(day >= pl->hol_from && day < pl->hol_to)) {
      *next = t + 12 * HOUR_MS;
      return gen_urand(r) > 0.1;
    }
    return false;
  }
  *next = t + s->poll_ms;
  return true;
}

void gen_trace(struct gen_trace *tr, enum gen_family f, struct gen_rng *r)
{
  struct plant pl;
  struct sensor s;
  size_t parts = (f == GEN_REPLACE || f == GEN_WATER) ? 3 : (f == GEN_TYRE ? 2 : 1), k;
  int64_t t = T_BASE + (int64_t)(gen_uni(r, 0, 7 * 24)) * HOUR_MS + (int64_t)(gen_uni(r, 0, 60)) * MIN_MS;
  int64_t next_read = 0;
  double wshare;

  tr->n = 0;
  tr->n_seg = 0;
  tr->n_closed = 0;
  setup(f, tr, &pl, &s, r);
  wshare = working_share(&pl);
  for(k = 0; k < parts; k++) {
    struct part pt;
    struct gen_segment *sg = &tr->seg[tr->n_seg++];
    double u, prev_u;
    int64_t install = t;
    bool last = k + 1 == parts, emptied = false;
    memset(&pt, 0, sizeof(pt));
    pt.life_d = gen_uni(r, 20, 120);
    if(f == GEN_TYRE)
      pt.life_d = gen_uni(r, 60, 180);
    pt.u0 = 0;
    pt.change_at_d = INFINITY;
    pt.change_f = 1;
    if(f == GEN_RATE) {
      pt.change_at_d = pt.life_d * gen_uni(r, 0.3, 0.7);
      pt.change_f = exp(gen_uni(r, log(0.5), log(3.0)));
    }
    if(f == GEN_REPLACE && k > 0) {
      double kind = gen_urand(r);
      if(kind < 0.35)
        pt.life_d *= gen_uni(r, 2, 3); /* XL cartridge: same range, slower */
      else if(kind < 0.7)
        pt.u0 = gen_uni(r, 0.1, 0.4); /* refill: not quite full */
      else
        pt.u0 = gen_uni(r, 0.15, 0.3), pt.life_d *= 0.8; /* retread: less to wear */
    }
    if(f == GEN_TYRE && k > 0)
      pt.u0 = gen_uni(r, 0.25, 0.35); /* retread */
    if(f == GEN_BEARING && k == 0 && gen_urand(r) < 0.8) {
      /* a shutdown of one or two weeks within the part's life */
      int64_t day;
      int dow;
      double h;
      local_time(t + (int64_t)(pt.life_d * gen_uni(r, 0.2, 0.7) * (double)DAY_MS), &day, &dow, &h);
      pl.hol_from = day;
      pl.hol_to = day + (int64_t)gen_uni(r, 7, 15);
    }
    /* used fraction per working day so that the part lasts life_d calendar days */
    pt.rate = (1 - pt.u0) / (pt.life_d * wshare);
    pt.stop_at = last ? INFINITY : gen_uni(r, 0.88, 0.97);
    if(f == GEN_WATER || f == GEN_BEARING) {
      s.life = f == GEN_WATER ? tr->params.life : floor(pt.life_d * wshare * 24);
      if(k == 0) {
        tr->params.life = s.life;
        tr->params.start = f == GEN_WATER ? fmod(s.counter, 65536.0) : s.counter;
      }
      else
        s.counter = 0; /* reset at the replacement */
      s.base = s.counter;
    }
    if(f == GEN_STUCK)
      faults(&s, r, install, pt.life_d);
    u = pt.u0;
    sg->install_ms = install;
    sg->empty_ms = INT64_MAX;
    sg->change_ms = isfinite(pt.change_at_d) ? install + (int64_t)(pt.change_at_d * (double)DAY_MS)
                                             : INT64_MAX;
    sg->empty_u = f == GEN_WATER || f == GEN_BEARING ? s.base + s.life : tr->params.empty;
    for(;; t += STEP_MS) {
      double a = activity(&pl, r, t), du, rate = pt.rate;
      bool on = working(&pl, t);
      if((double)(t - install) / (double)DAY_MS >= pt.change_at_d)
        rate *= pt.change_f;
      du = rate * a * (double)STEP_MS / (double)DAY_MS;
      prev_u = u;
      u += du;
      if(f == GEN_WATER || f == GEN_BEARING)
        s.counter += du * s.life / (1 - pt.u0);
      if(!emptied && u >= 1) {
        double frac = du > 0 ? (1 - prev_u) / du : 0;
        sg->empty_ms = t + (int64_t)(frac * (double)STEP_MS);
        emptied = true;
      }
      if(u >= pt.stop_at)
        break;
      if(emptied && t > sg->empty_ms + 2 * DAY_MS)
        break;
      if(t - install > 3 * 365 * DAY_MS)
        break;
      if(reads_now(f, &pl, &s, r, t, &next_read)) {
        double ub, v;
        if(f == GEN_STUCK && in_any(s.drop_from, s.drop_to, s.n_drop, t))
          continue;
        v = sense(f, tr, &s, r, u > 1 ? 1 : u, on, &ub);
        if(f == GEN_STUCK) {
          bool st = in_any(s.stuck_from, s.stuck_to, s.n_stuck, t);
          if(st && !s.stuck) {
            s.stuck_v = tr->n ? tr->v[tr->n - 1] : v;
            s.stuck_u = tr->n ? tr->u[tr->n - 1] : ub;
          }
          s.stuck = st;
          if(st) {
            v = s.stuck_v;
            ub = s.stuck_u;
          }
        }
        gen_trace_push(tr, t, v, ub);
      }
    }
    sg->end_ms = t;
    if(sg->empty_ms == INT64_MAX && u > pt.u0 + 1e-9) {
      /* replaced before empty: when it would have been, at its average pace */
      double life = (double)(t - install) * (1 - pt.u0) / (u - pt.u0);
      sg->empty_ms = install + (int64_t)life;
    }
    if(sg->empty_ms == INT64_MAX)
      sg->empty_ms = t;
  }
}

void gen_free(struct gen_trace *tr)
{
  free(tr->t);
  free(tr->v);
  free(tr->u);
  tr->t = NULL;
  tr->v = NULL;
  tr->u = NULL;
  tr->n = tr->cap = 0;
}
