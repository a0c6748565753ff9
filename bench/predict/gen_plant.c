/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gen_plant: bench/predict's harsher suite (see gen_plant.h). Written apart
 * from predict_gen.c on purpose: only the random source and the trace
 * struct are shared. The plant is simulated in 5-minute steps in local time
 * (CET/CEST, the EU rule for any year):
 *
 *   machine  a calendar (working days, hours, public holidays, shutdowns,
 *            breakdowns, overtime Saturdays in busy weeks), a load factor
 *            that is AR(1) from week to week (busy and quiet weeks) and
 *            from day to day, an on/off duty cycle inside working time, and
 *            a rate multiplier with steps and ramps (the rate-change family);
 *   part     used fraction u from u0 (refills, retreads) to 1 (empty), at a
 *            rate set from a nominal calendar life; replaced near empty, after
 *            it ran empty, or early; a part taken out before empty keeps being
 *            "used" in the background by the same machine so that its true
 *            empty time is known (what the ordering figures are judged on);
 *   sensor   irregular polls with gaps, report-by-exception devices, gateway
 *            outages, AR(1) and daily noise, quantisation, pump-start spikes,
 *            stone outliers, stuck values and glitch reads.
 */
#include "bench/predict/gen_plant.h"
#include "base/rs_util.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MIN_MS   INT64_C(60000)
#define HOUR_MS  (60 * MIN_MS)
#define DAY_MS   (24 * HOUR_MS)
#define STEP_MS  (5 * MIN_MS)
#define STEP_D   (5.0 / 1440.0)
#define T_BASE   INT64_C(1767225600000) /* 2026-01-01T00:00:00Z */
#define MAX_HOL  40
#define MAX_CHG  8
#define MAX_STUCK 4
#define N_YEARS  5 /* DST table: 2026..2030 */

const char *const gen_plant_family_name[GEN_PLANT_COUNT] = {
    "ink", "clog", "water", "bearing", "tyre", "rate-change", "replacement", "stuck"};

/* ---- random draws ---- */

/* Log-uniform in [a, b] (a, b > 0). */
static double logu(struct gen_rng *r, double a, double b)
{
  return exp(gen_uni(r, log(a), log(b)));
}

static bool chance(struct gen_rng *r, double p)
{
  return gen_urand(r) < p;
}

/* ---- calendar: days since 1970-01-01, CET/CEST ---- */

/* Day of week of an epoch day, 0 = Monday (1970-01-01 was a Thursday). */
static int weekday(int64_t day)
{
  return (int)(((day + 3) % 7 + 7) % 7);
}

/* The last Sunday of March/October of year y at 01:00 UTC, in ms. */
static int64_t last_sunday_1utc(int64_t y, int64_t m)
{
  int64_t last = rs_days_from_civil(y, m, 31);
  last -= (weekday(last) + 1) % 7; /* Sunday is 6: back 0 days from a Sunday */
  return last * DAY_MS + HOUR_MS;
}

struct zone {
  int64_t on[N_YEARS], off[N_YEARS];
};

static void zone_init(struct zone *z)
{
  int i;
  for(i = 0; i < N_YEARS; i++) {
    z->on[i] = last_sunday_1utc(2026 + i, 3);
    z->off[i] = last_sunday_1utc(2026 + i, 10);
  }
}

/* Local epoch day, weekday (0 Monday) and hour of t. */
static void local_time(const struct zone *z, int64_t t, int64_t *day, int *dow, double *hour)
{
  int i;
  int64_t l = t + HOUR_MS;
  for(i = 0; i < N_YEARS; i++)
    if(t >= z->on[i] && t < z->off[i])
      l += HOUR_MS;
  *day = l >= 0 ? l / DAY_MS : (l - DAY_MS + 1) / DAY_MS;
  *dow = weekday(*day);
  *hour = (double)(l - *day * DAY_MS) / (double)HOUR_MS;
}

/* ---- the machine ---- */

struct machine {
  int fam;
  struct zone zone;
  bool workday[7];
  bool overtime;      /* works Saturdays in busy weeks */
  double h0, h1;      /* working hours, local */
  int64_t hol_from[MAX_HOL], hol_to[MAX_HOL]; /* local epoch days [from, to) */
  int n_hol;
  /* load: log factor AR(1) from week to week and from day to day */
  double wphi, wsd, dphi, dsd, wlog, dlog, factor;
  int64_t day, week;
  int dow;
  double hour;
  int broken;     /* breakdown days left */
  double p_break; /* a breakdown starts on a given day */
  bool work_today;
  double day_boost; /* clog: a dirty batch multiplies today's loading */
  /* duty cycle inside working time (pumps, draws, machine running) */
  bool duty, on;
  double on_mean_min, duty_frac;
  int64_t on_since, off_since, off_len; /* off_len: the stop before the current run */
  /* ink */
  double p_job, p_big, rate_std;
  /* rate multiplier: steps and ramps */
  int n_chg;
  int64_t chg_at[MAX_CHG];
  double chg_ramp_ms[MAX_CHG], chg_f[MAX_CHG];
  /* gateway outages */
  double p_out;
  int64_t out_from, out_to;
};

static bool holiday(const struct machine *m, int64_t day)
{
  int i;
  for(i = 0; i < m->n_hol; i++)
    if(day >= m->hol_from[i] && day < m->hol_to[i])
      return true;
  return false;
}

static void add_hol(struct machine *m, int64_t from, int64_t to)
{
  if(m->n_hol < MAX_HOL) {
    m->hol_from[m->n_hol] = from;
    m->hol_to[m->n_hol] = to;
    m->n_hol++;
  }
}

/* Public holidays (German-like) and, drawn per plant, Christmas and summer shutdowns. */
static void holidays(struct machine *m, struct gen_rng *r, bool publics, double p_xmas,
                     double p_summer)
{
  static const int64_t easter[N_YEARS][2] = {{4, 5}, {3, 28}, {4, 16}, {4, 1}, {4, 21}};
  static const int fixed[5][2] = {{1, 1}, {5, 1}, {10, 3}, {12, 25}, {12, 26}};
  static const int rel[4] = {-2, 1, 39, 50}; /* Good Friday, Easter Monday, Ascension, Whit Monday */
  int64_t y;
  int i;
  for(y = 0; y < N_YEARS; y++) {
    int64_t e = rs_days_from_civil(2026 + y, easter[y][0], easter[y][1]);
    if(publics) {
      for(i = 0; i < 5; i++) {
        int64_t d = rs_days_from_civil(2026 + y, fixed[i][0], fixed[i][1]);
        add_hol(m, d, d + 1);
      }
      for(i = 0; i < 4; i++)
        add_hol(m, e + rel[i], e + rel[i] + 1);
    }
    if(chance(r, p_xmas))
      add_hol(m, rs_days_from_civil(2026 + y, 12, 24), rs_days_from_civil(2027 + y, 1, 2));
    if(chance(r, p_summer)) {
      int64_t s = rs_days_from_civil(2026 + y, 7, 10) + (int64_t)gen_uni(r, 0, 30);
      add_hol(m, s, s + 7 * (int64_t)gen_uni(r, 1, 3.99));
    }
  }
}

/* Calendar days worked per week and hours a working day: the mean working share of time. */
static double work_share(const struct machine *m)
{
  int i, n = 0;
  for(i = 0; i < 7; i++)
    n += m->workday[i];
  return (double)n / 7.0 * (m->h1 - m->h0) / 24.0;
}

/* The rate multiplier at t: the product of the changes so far (ramps log-linear). */
static double rate_mult(const struct machine *m, int64_t t)
{
  double x = 1;
  int i;
  for(i = 0; i < m->n_chg; i++) {
    if(t < m->chg_at[i])
      continue;
    if(m->chg_ramp_ms[i] <= 0 || (double)(t - m->chg_at[i]) >= m->chg_ramp_ms[i])
      x *= m->chg_f[i];
    else
      x *= exp(log(m->chg_f[i]) * (double)(t - m->chg_at[i]) / m->chg_ramp_ms[i]);
  }
  return x;
}

/* Local time of t; on a new local day, the day's and week's load and whether it is worked. */
static void machine_clock(struct machine *m, struct gen_rng *r, int64_t t)
{
  int64_t day;
  local_time(&m->zone, t, &day, &m->dow, &m->hour);
  if(day == m->day)
    return;
  {
    int64_t week = (day + 3) / 7; /* Monday-based */
    if(week != m->week) {
      m->week = week;
      m->wlog = m->wphi * m->wlog + sqrt(1 - m->wphi * m->wphi) * m->wsd * gen_gauss(r);
    }
  }
  m->day = day;
  m->dlog = m->dphi * m->dlog + sqrt(1 - m->dphi * m->dphi) * m->dsd * gen_gauss(r);
  m->factor = exp(m->wlog + m->dlog - (m->wsd * m->wsd + m->dsd * m->dsd) / 2);
  if(m->broken > 0)
    m->broken--;
  else if(chance(r, m->p_break))
    m->broken = 1 + (int)(gen_urand(r) * 4);
  m->work_today = !holiday(m, day) && m->broken == 0 &&
                  (m->workday[m->dow] || (m->overtime && m->dow == 5 && m->wlog > 0.5 * m->wsd));
  m->day_boost = m->fam == GEN_PLANT_CLOG && chance(r, 0.03) ? gen_uni(r, 2, 4) : 1;
  if(chance(r, m->p_out)) {
    m->out_from = t + (int64_t)gen_uni(r, 0, (double)DAY_MS);
    m->out_to = m->out_from + (int64_t)(logu(r, 1, 36) * (double)HOUR_MS);
  }
}

static bool working(const struct machine *m)
{
  return m->work_today && m->hour >= m->h0 && m->hour < m->h1;
}

/*
 * The machine's activity in the 5-minute step at t (after machine_clock):
 * use per step in units of a working step at load 1. Inside working time a
 * duty cycle (on/off, exponential run lengths) for pumps, draws and running
 * hours; ink prints jobs of log-normal size and now and then a big run.
 */
static double activity(struct machine *m, struct gen_rng *r, int64_t t)
{
  double frac;
  if(!working(m)) {
    if(m->on)
      m->off_since = t;
    m->on = false;
    return 0;
  }
  switch(m->fam) {
  case GEN_PLANT_INK: {
    double p = m->p_job * m->factor, a = 0;
    if(p > 0.9)
      p = 0.9;
    if(chance(r, p))
      a = exp(gen_gauss(r) - 0.5) * m->factor / p; /* mean: the day's load */
    if(chance(r, m->p_big)) /* a big print run: 1.5-5 % of a standard cartridge */
      a += gen_uni(r, 0.015, 0.05) / (m->rate_std * STEP_D);
    return a;
  }
  case GEN_PLANT_CLOG:
  case GEN_PLANT_WATER:
  case GEN_PLANT_BEARING:
    frac = m->duty_frac * (m->fam == GEN_PLANT_CLOG ? 1 : m->factor);
    if(frac > 0.97)
      frac = 0.97;
    if(frac < 0.02)
      frac = 0.02;
    {
      /* mean on time fixed, off time to make the fraction */
      double p_off = STEP_D * 1440 / m->on_mean_min;
      double p_on = p_off * frac / (1 - frac);
      if(m->on ? chance(r, p_off) : chance(r, p_on > 1 ? 1 : p_on)) {
        m->on = !m->on;
        if(m->on) {
          m->on_since = t;
          m->off_len = t - m->off_since;
        }
        else
          m->off_since = t;
      }
    }
    if(!m->on)
      return 0;
    if(m->fam == GEN_PLANT_CLOG)
      return m->factor * m->day_boost / m->duty_frac;
    if(m->fam == GEN_PLANT_WATER)
      return 1 / m->duty_frac;
    return 1; /* bearing: hours are hours; the load shows in how long it runs */
  default:
    return m->factor;
  }
}

/* ---- the trace ---- */

/* ---- the sensor ---- */

struct sensor {
  /* polls */
  double poll_min, jit, p_gap;
  int64_t next;
  bool rbe;           /* report by exception: a change of `band` or a heartbeat */
  double band;
  int64_t heartbeat, sent_t;
  double sent_v;
  bool sleeps;        /* ink: the printer does not answer outside working hours */
  double tyre_hour;   /* tyre: today's check (local hour), < 0: none today */
  int64_t tyre_day;
  double p_skip;
  /* noise */
  double ar_sd, ar_tau_h, white, diurnal, quant, ar;
  int64_t ar_t;
  double bias_sd, bias; /* tyre: the gauge's (weekly operator) bias */
  int64_t bias_week;
  double p_outlier;
  /* clog */
  double dp0, dpe, curve, cold, spike_p, spike, spike_min;
  bool was_on;
  /* counters */
  double life, dev_base, base_b, unit_l;
  int64_t reset_at;
  /* stuck and glitches */
  int64_t st_from[MAX_STUCK], st_to[MAX_STUCK];
  int n_st;
  bool stuck;
  double stuck_v, stuck_u, p_glitch;
};

/* AR(1) noise with time constant ar_tau_h, advanced to t. */
static double ar_noise(struct sensor *s, struct gen_rng *r, int64_t t)
{
  double dt_h = s->ar_t == INT64_MIN ? 1e9 : (double)(t - s->ar_t) / (double)HOUR_MS;
  double phi = exp(-dt_h / s->ar_tau_h);
  s->ar = phi * s->ar + sqrt(1 - phi * phi) * s->ar_sd * gen_gauss(r);
  s->ar_t = t;
  return s->ar;
}

/* Whether the device gives a reading in the step at t (polls, tyre checks, outages). */
static bool polled(struct sensor *s, const struct machine *m, struct gen_rng *r, int64_t t)
{
  if(t >= m->out_from && t < m->out_to)
    return false;
  if(m->fam == GEN_PLANT_TYRE) {
    if(m->day != s->tyre_day) {
      s->tyre_day = m->day;
      s->tyre_hour = m->work_today && !chance(r, s->p_skip) ? gen_uni(r, 6, 10) : -1;
    }
    if(s->tyre_hour >= 0 && m->hour >= s->tyre_hour) {
      s->tyre_hour = -1;
      return true;
    }
    return false;
  }
  if(t < s->next)
    return false;
  {
    double gap = s->poll_min * exp(s->jit * gen_gauss(r) - s->jit * s->jit / 2);
    if(chance(r, s->p_gap))
      gap += logu(r, 30, 720);
    s->next = t + (int64_t)(gap * (double)MIN_MS);
    if(s->next < t + STEP_MS)
      s->next = t + STEP_MS;
  }
  if(s->sleeps && !working(m))
    return false;
  return true;
}

/*
 * What the device reports for used fraction u at t (pump/machine state in
 * m); *ub gets the baseline's value (counters unwrapped in the part's frame,
 * NAN while a pump is off).
 */
static double sense(const struct machine *m, struct sensor *s, struct gen_rng *r, int64_t t,
                    double u, double *ub)
{
  double v, uc = u > 1 ? 1 : u;
  switch(m->fam) {
  case GEN_PLANT_CLOG:
    if(!m->on) {
      s->was_on = false;
      *ub = NAN;
      return gen_quantise(0.01 * gen_gauss(r), 0.01); /* a zero with the transmitter's offset */
    }
    v = s->dp0 * exp(log(s->dpe / s->dp0) * pow(uc, s->curve));
    v *= exp(ar_noise(s, r, t)) * (1 + s->white * gen_gauss(r));
    {
      /* cold oil after a long stop reads high for the first hour; a pump
         start's surge for a few minutes */
      double since = (double)(t - m->on_since) / (double)MIN_MS;
      double stop_h = (double)m->off_len / (double)HOUR_MS;
      v *= 1 + s->cold * (1 - exp(-stop_h / 3)) * exp(-since / 40);
      if(!s->was_on)
        s->spike = chance(r, s->spike_p) ? gen_uni(r, 0.5, 2) : 0;
      v *= 1 + s->spike * exp(-since / s->spike_min);
    }
    s->was_on = true;
    v = gen_quantise(v, 0.01);
    *ub = v;
    return v;
  case GEN_PLANT_WATER:
  case GEN_PLANT_BEARING:
    v = floor((s->dev_base + u * s->life) / s->quant) * s->quant;
    *ub = floor((s->base_b + u * s->life) / s->quant) * s->quant;
    return m->fam == GEN_PLANT_WATER ? fmod(v, 65536.0) : v;
  case GEN_PLANT_TYRE: {
    int64_t week = (m->day + 3) / 7;
    if(week != s->bias_week) { /* another person's gauge this week */
      s->bias_week = week;
      s->bias = s->bias_sd * gen_gauss(r);
    }
    v = 8.0 - 6.4 * uc + s->bias + s->white * gen_gauss(r);
    if(chance(r, s->p_outlier)) /* a stone in the groove, or the gauge on the shoulder */
      v += (chance(r, 0.7) ? -1 : 1) * gen_uni(r, 0.5, 3.0);
    v = gen_quantise(v, s->quant);
    *ub = v;
    return v;
  }
  default:
    v = 100.0 * (1 - uc) + ar_noise(s, r, t) + s->white * gen_gauss(r) +
        s->diurnal * sin(2 * M_PI * (m->hour - 9) / 24);
    v = gen_quantise(v, s->quant);
    if(v < 0)
      v = 0;
    if(v > 100)
      v = 100;
    if(chance(r, s->p_glitch))
      v = chance(r, 0.7) ? 0 : 100; /* a bad frame */
    *ub = v;
    return v;
  }
}

/* Report-by-exception and stuck values; false when nothing is sent. */
static bool deliver(struct sensor *s, int64_t t, double *v, double *ub)
{
  bool st = false;
  int i;
  for(i = 0; i < s->n_st; i++)
    st = st || (t >= s->st_from[i] && t < s->st_to[i]);
  if(st && !s->stuck) {
    s->stuck_v = *v;
    s->stuck_u = *ub;
  }
  s->stuck = st;
  if(st) {
    *v = s->stuck_v;
    *ub = s->stuck_u;
  }
  if(s->rbe && s->sent_t != INT64_MIN && fabs(*v - s->sent_v) < s->band &&
     t - s->sent_t < s->heartbeat)
    return false;
  s->sent_t = t;
  s->sent_v = *v;
  return true;
}

/* ---- set-up per family ---- */

static void setup(int f, struct gen_trace *tr, struct machine *m, struct sensor *s,
                  struct gen_rng *r)
{
  int i, wd = chance(r, 0.75) ? 5 : (chance(r, 0.5) ? 6 : 7);
  memset(m, 0, sizeof(*m));
  memset(s, 0, sizeof(*s));
  m->fam = f;
  zone_init(&m->zone);
  m->day = m->week = INT64_MIN;
  m->off_since = INT64_MIN / 2;
  m->out_from = m->out_to = INT64_MIN;
  m->h0 = 6;
  m->h1 = 22;
  m->wphi = gen_uni(r, 0.4, 0.85);
  m->wsd = gen_uni(r, 0.1, 0.35);
  m->dphi = gen_uni(r, 0, 0.5);
  m->dsd = gen_uni(r, 0.05, 0.3);
  m->p_break = gen_uni(r, 0, 0.01);
  m->p_out = gen_uni(r, 0.005, 0.03);
  m->overtime = chance(r, 0.3);
  m->on_mean_min = logu(r, 10, 120);
  m->duty_frac = gen_uni(r, 0.5, 0.9);
  s->poll_min = logu(r, 2, 60);
  s->jit = gen_uni(r, 0.05, 0.6);
  s->p_gap = gen_uni(r, 0, 0.01);
  s->ar_t = INT64_MIN;
  s->sent_t = INT64_MIN;
  s->bias_week = INT64_MIN;
  s->tyre_day = INT64_MIN;
  s->ar_tau_h = logu(r, 1, 48);
  s->ar_sd = gen_uni(r, 0.1, 1.0);
  s->white = gen_uni(r, 0, 0.4);
  s->quant = chance(r, 0.5) ? 0 : (chance(r, 0.5) ? 0.5 : 1);
  s->rbe = chance(r, 0.25);
  s->band = gen_uni(r, 0.5, 2);
  s->heartbeat = (int64_t)(logu(r, 1, 12) * (double)HOUR_MS);
  predict_params_default(&tr->params, PREDICT_MODEL_LEVEL);
  tr->params.full = 100;
  tr->params.empty = 0;
  for(i = 0; i < 7; i++)
    m->workday[i] = i < wd;
  switch(f) {
  case GEN_PLANT_INK:
    for(i = 0; i < 7; i++)
      m->workday[i] = i < 5 || (i == 5 && chance(r, 0.1));
    m->h0 = floor(gen_uni(r, 7, 9.99));
    m->h1 = floor(gen_uni(r, 16, 19.99));
    m->wphi = gen_uni(r, 0.5, 0.9); /* busy weeks: month ends, projects, tenders */
    m->wsd = gen_uni(r, 0.3, 0.7);
    m->dsd = gen_uni(r, 0.2, 0.5);
    m->p_job = gen_uni(r, 0.03, 0.3);
    m->p_big = gen_uni(r, 0, 0.004);
    m->overtime = false;
    m->p_break = 0;
    holidays(m, r, true, 0.8, 0.5);
    s->ar_sd = gen_uni(r, 0, 0.3); /* the level is a dot count: little noise, coarse steps */
    s->white = gen_uni(r, 0, 0.2);
    s->quant = chance(r, 0.5) ? 1 : (chance(r, 0.7) ? 5 : 10);
    s->sleeps = chance(r, 0.5);
    s->rbe = chance(r, 0.2);
    s->band = s->quant > 0 ? s->quant : 1;
    break;
  case GEN_PLANT_CLOG:
    m->h0 = chance(r, 0.5) ? 6 : 14;
    m->h1 = m->h0 + (chance(r, 0.5) ? 8 : 16);
    if(m->h1 > 24)
      m->h1 = 24;
    holidays(m, r, true, 0.6, 0.3);
    s->dp0 = gen_uni(r, 0.2, 0.5);
    s->dpe = gen_uni(r, 2.5, 4.0);
    /* half exponential, half cake filtration: the log pressure bends upwards late */
    s->curve = chance(r, 0.5) ? 1 : gen_uni(r, 1, 1.8);
    s->cold = gen_uni(r, 0, 0.4);
    s->spike_p = gen_uni(r, 0.5, 0.95);
    s->spike_min = gen_uni(r, 1, 8);
    m->on_mean_min = logu(r, 30, 240);
    m->duty_frac = gen_uni(r, 0.6, 0.95);
    s->ar_sd = gen_uni(r, 0.005, 0.05);
    s->white = gen_uni(r, 0.005, 0.03);
    s->rbe = false;
    tr->params.full = s->dp0;
    tr->params.empty = s->dpe;
    break;
  case GEN_PLANT_WATER:
    predict_params_default(&tr->params, PREDICT_MODEL_USAGE);
    for(i = 0; i < 7; i++)
      m->workday[i] = i < 5 || chance(r, 0.6);
    m->h0 = gen_uni(r, 5, 8);
    m->h1 = gen_uni(r, 17, 23);
    m->on_mean_min = logu(r, 5, 40);
    m->duty_frac = gen_uni(r, 0.15, 0.6);
    holidays(m, r, chance(r, 0.7), 0.5, 0.4);
    s->unit_l = chance(r, 0.7) ? 1 : 10;
    s->quant = 1;
    s->band = 1 + floor(gen_uni(r, 0, 50) / s->unit_l);
    break;
  case GEN_PLANT_BEARING: {
    int shifts = 1 + (int)(gen_urand(r) * 3);
    predict_params_default(&tr->params, PREDICT_MODEL_USAGE);
    m->h0 = shifts == 3 ? 0 : (shifts == 2 ? 6 : gen_uni(r, 6, 8));
    m->h1 = m->h0 + 8 * shifts;
    m->duty_frac = gen_uni(r, 0.6, 0.95);
    m->on_mean_min = logu(r, 30, 240);
    m->p_break = gen_uni(r, 0, 0.02);
    holidays(m, r, true, 0.6, 0.7);
    s->quant = 0.1;
    s->band = 0.1 * (1 + floor(gen_uni(r, 0, 5)));
    break;
  }
  case GEN_PLANT_TYRE:
    m->h0 = 6;
    m->h1 = 18;
    m->overtime = chance(r, 0.4);
    holidays(m, r, true, 0.5, 0.3);
    tr->params.full = 8.0;
    tr->params.empty = 1.6;
    s->white = gen_uni(r, 0.05, 0.2);
    s->bias_sd = gen_uni(r, 0, 0.2);
    s->p_outlier = gen_uni(r, 0.02, 0.08);
    s->p_skip = gen_uni(r, 0.05, 0.3);
    s->quant = chance(r, 0.7) ? 0.1 : 0.5;
    s->rbe = false;
    break;
  case GEN_PLANT_RATE:
  case GEN_PLANT_REPLACE:
  case GEN_PLANT_STUCK:
    if(chance(r, 0.4))
      m->h0 = 0, m->h1 = 24;
    holidays(m, r, chance(r, 0.6), 0.4, 0.3);
    s->diurnal = chance(r, 0.4) ? gen_uni(r, 0.2, 1.5) : 0; /* a sensor in the sun */
    s->p_glitch = f == GEN_PLANT_STUCK ? gen_uni(r, 0, 0.004) : 0;
    break;
  default:
    break;
  }
}

/* Rate changes over a part of nominal life life_d from t: steps and ramps of x0.5-x3. */
static void draw_changes(struct machine *m, struct gen_rng *r, int64_t t, double life_d)
{
  int n = 1 + (int)(gen_urand(r) * 3), i;
  double cum = rate_mult(m, t);
  for(i = 0; i < n && m->n_chg < MAX_CHG; i++) {
    /* the first one 35 % of the time inside the last lead time */
    double at = i == 0 && chance(r, 0.35) ? life_d - gen_uni(r, 0, 6)
                                          : life_d * gen_uni(r, 0.15, 0.95);
    double fct = logu(r, 0.5, 3);
    int k;
    for(k = 0; k < 8 && (cum * fct > 4 || cum * fct < 0.3); k++)
      fct = logu(r, 0.5, 3);
    if(cum * fct > 4 || cum * fct < 0.3)
      continue;
    cum *= fct;
    m->chg_at[m->n_chg] = t + (int64_t)(at * (double)DAY_MS);
    m->chg_ramp_ms[m->n_chg] = chance(r, 0.4) ? 0 : gen_uni(r, 1, 20) * (double)DAY_MS;
    m->chg_f[m->n_chg] = fct;
    m->n_chg++;
  }
}

/* Stuck periods over a part: 1-3 that end with a jump to the truth, or one to the part's end. */
static void draw_stuck(struct sensor *s, struct gen_rng *r, int64_t t, double life_d)
{
  int i;
  s->n_st = 1 + (int)(gen_urand(r) * 3);
  for(i = 0; i < s->n_st; i++) {
    bool late = i == s->n_st - 1;
    double at = life_d * (late ? gen_uni(r, 0.6, 0.95) : gen_uni(r, 0.1, 0.6));
    s->st_from[i] = t + (int64_t)(at * (double)DAY_MS);
    s->st_to[i] = s->st_from[i] + (int64_t)(logu(r, 0.5, 8) * (double)DAY_MS);
    if(late && chance(r, 0.25))
      s->st_to[i] = INT64_MAX; /* stuck until the part comes out */
  }
}

/* A part taken out before empty, still "used" in the background to date its empty time. */
struct shadow {
  bool on;
  double u, rate;
  size_t seg;
  int64_t install;
  double u0;
};

static void shadow_finish(struct shadow *sh, struct gen_trace *tr, int64_t t)
{
  struct gen_segment *sg = &tr->seg[sh->seg];
  if(!sh->on)
    return;
  if(sh->u > sh->u0 + 1e-9)
    sg->empty_ms = sh->install + (int64_t)((double)(t - sh->install) * (1 - sh->u0) /
                                           (sh->u - sh->u0));
  else
    sg->empty_ms = t;
  sh->on = false;
}

/* Local midnight of local epoch day `day` as UTC ms (CET, CEST in the DST table). */
static int64_t local_midnight(const struct zone *z, int64_t day)
{
  int64_t t = day * DAY_MS - HOUR_MS;
  int i;
  for(i = 0; i < N_YEARS; i++)
    if(t - HOUR_MS >= z->on[i] && t - HOUR_MS < z->off[i])
      return t - HOUR_MS;
  return t;
}

/* The machine's holidays (planned: not its breakdowns) into tr->closed_ms, sorted, merged. */
static void export_closed(struct gen_trace *tr, const struct machine *m)
{
  int64_t from[MAX_HOL], to[MAX_HOL];
  int i, j, n = m->n_hol;
  for(i = 0; i < n; i++) {
    from[i] = m->hol_from[i];
    to[i] = m->hol_to[i];
  }
  for(i = 1; i < n; i++) /* insertion sort by first day */
    for(j = i; j > 0 && from[j - 1] > from[j]; j--) {
      int64_t a = from[j], b = to[j];
      from[j] = from[j - 1], to[j] = to[j - 1];
      from[j - 1] = a, to[j - 1] = b;
    }
  tr->n_closed = 0;
  for(i = 0; i < n; i++) {
    int64_t a = local_midnight(&m->zone, from[i]), b = local_midnight(&m->zone, to[i]);
    if(tr->n_closed && a <= tr->closed_ms[tr->n_closed - 1][1]) {
      if(b > tr->closed_ms[tr->n_closed - 1][1])
        tr->closed_ms[tr->n_closed - 1][1] = b;
    }
    else if(tr->n_closed < GEN_MAX_CLOSED) {
      tr->closed_ms[tr->n_closed][0] = a;
      tr->closed_ms[tr->n_closed][1] = b;
      tr->n_closed++;
    }
  }
}

void gen_plant_trace(struct gen_trace *tr, int f, struct gen_rng *r)
{
  struct machine m;
  struct sensor s;
  struct shadow sh;
  size_t parts, k;
  int64_t t;
  double wshare, use_share, life_d = 0, u_end = 0;

  tr->n = 0;
  tr->n_seg = 0;
  memset(&sh, 0, sizeof(sh));
  setup(f, tr, &m, &s, r);
  export_closed(tr, &m);
  m.wlog = m.wsd * gen_gauss(r); /* the load starts anywhere in its stationary spread */
  m.dlog = m.dsd * gen_gauss(r);
  parts = f == GEN_PLANT_REPLACE ? 4 : (f == GEN_PLANT_WATER ? 3 : 2);
  if(parts > GEN_MAX_SEG)
    parts = GEN_MAX_SEG;
  /* anywhere in the first 11 months: holidays fall on any part of a life */
  t = T_BASE + (int64_t)gen_uni(r, 0, 330) * DAY_MS + (int64_t)gen_uni(r, 0, 288) * STEP_MS;
  wshare = work_share(&m);
  use_share = wshare * (f == GEN_PLANT_BEARING ? m.duty_frac : 1);
  if(f == GEN_PLANT_WATER || f == GEN_PLANT_BEARING) {
    life_d = f == GEN_PLANT_WATER ? gen_uni(r, 15, 80) : gen_uni(r, 40, 160);
    s.life = f == GEN_PLANT_WATER ? floor(life_d * use_share * gen_uni(r, 300, 1500) / s.unit_l)
                                  : floor(life_d * use_share * 24);
    s.dev_base = floor(gen_uni(r, 0, f == GEN_PLANT_WATER ? 65535 : 30000));
    s.base_b = s.dev_base;
    tr->params.life = s.life;
    tr->params.start = s.dev_base;
  }
  for(k = 0; k < parts; k++) {
    struct gen_segment *sg = &tr->seg[tr->n_seg++];
    int64_t install = t;
    bool last = k + 1 == parts, emptied = false;
    double u0 = 0, u, rate, stop_at = INFINITY, late_d = -1;
    if(f != GEN_PLANT_WATER && f != GEN_PLANT_BEARING) {
      static const double lo[GEN_PLANT_COUNT] = {20, 15, 0, 0, 60, 30, 20, 25};
      static const double hi[GEN_PLANT_COUNT] = {100, 90, 0, 0, 200, 120, 90, 110};
      life_d = gen_uni(r, lo[f], hi[f]);
    }
    if(f == GEN_PLANT_REPLACE && k > 0) {
      double kind = gen_urand(r);
      if(kind < 0.3)
        life_d *= gen_uni(r, 2, 3); /* XL cartridge */
      else if(kind < 0.55)
        u0 = gen_uni(r, 0.1, 0.4); /* refill: not quite full */
      else if(kind < 0.75)
        u0 = gen_uni(r, 0.15, 0.3), life_d *= 0.8; /* retread */
    }
    if(f == GEN_PLANT_TYRE && k > 0)
      u0 = gen_uni(r, 0.15, 0.35); /* retread */
    if(f == GEN_PLANT_RATE)
      draw_changes(&m, r, t, life_d);
    if(f == GEN_PLANT_STUCK)
      draw_stuck(&s, r, t, life_d);
    /* when the part comes out: near empty, after it ran empty, or (replacement) early */
    if(!last) {
      double how = gen_urand(r);
      if(f == GEN_PLANT_REPLACE && how < 0.15)
        stop_at = gen_uni(r, 0.4, 0.8);
      else if(how < 0.4)
        late_d = gen_uni(r, 0.1, 3);
      else
        stop_at = gen_uni(r, 0.85, 0.98);
    }
    else
      late_d = 1;
    if(f == GEN_PLANT_WATER || f == GEN_PLANT_BEARING) {
      if(k > 0) {
        /* reset to 0 when the new part is fitted, or hours to days later */
        double how = gen_urand(r);
        s.base_b = 0;
        s.reset_at = install + (how < 0.6   ? 0
                                : how < 0.9 ? (int64_t)(gen_uni(r, 0.5, 8) * (double)HOUR_MS)
                                            : (int64_t)(gen_uni(r, 1, 3) * (double)DAY_MS));
        s.dev_base += u_end * s.life; /* until then the counter keeps counting */
      }
      else
        s.reset_at = INT64_MAX;
    }
    if(m.fam == GEN_PLANT_INK && k == 0)
      m.rate_std = 1.0 / (life_d * wshare);
    machine_clock(&m, r, t);
    rate = (1 - u0) / (life_d * use_share * rate_mult(&m, t));
    u = u0;
    sg->install_ms = install;
    sg->empty_ms = INT64_MAX;
    sg->change_ms = INT64_MAX;
    sg->empty_u = f == GEN_PLANT_WATER || f == GEN_PLANT_BEARING ? s.base_b + s.life
                                                                 : tr->params.empty;
    for(;; t += STEP_MS) {
      double a, mult, ub, v;
      machine_clock(&m, r, t);
      a = activity(&m, r, t);
      mult = rate_mult(&m, t);
      u += rate * a * mult * STEP_D;
      if(sh.on) {
        sh.u += sh.rate * a * mult * STEP_D;
        if(sh.u >= 1) {
          tr->seg[sh.seg].empty_ms = t;
          sh.on = false;
        }
        else if(t - sh.install > 3 * 365 * DAY_MS)
          shadow_finish(&sh, tr, t);
      }
      if(!emptied && u >= 1) {
        sg->empty_ms = t;
        emptied = true;
      }
      if(u >= stop_at)
        break;
      if(emptied && (double)(t - sg->empty_ms) >= late_d * (double)DAY_MS)
        break;
      if(t - install > 3 * 365 * DAY_MS)
        break;
      if(t >= s.reset_at) {
        s.dev_base = -u * s.life; /* the counter reads 0 now */
        s.reset_at = INT64_MAX;
      }
      if(!polled(&s, &m, r, t))
        continue;
      v = sense(&m, &s, r, t, u, &ub);
      if(deliver(&s, t, &v, &ub))
        gen_trace_push(tr, t + (int64_t)gen_uni(r, 0, (double)STEP_MS - 1000), v, ub);
    }
    sg->end_ms = t;
    u_end = u;
    if(f == GEN_PLANT_RATE) {
      /* the latest change in the part's life (the bench counts those inside the lead time) */
      int i;
      for(i = 0; i < m.n_chg; i++)
        if(m.chg_at[i] >= install && m.chg_at[i] <= (emptied ? sg->empty_ms : t) &&
           (sg->change_ms == INT64_MAX || m.chg_at[i] > sg->change_ms))
          sg->change_ms = m.chg_at[i];
    }
    if(f == GEN_PLANT_STUCK)
      s.n_st = 0; /* the new part's sensor is freed by the fitter */
    if(!emptied) {
      shadow_finish(&sh, tr, t); /* at most one part in the background */
      sh.on = true;
      sh.u = u;
      sh.u0 = u0;
      sh.rate = rate;
      sh.seg = tr->n_seg - 1;
      sh.install = install;
    }
  }
  /* the last part ran to empty; a part still in the background: at its average pace */
  shadow_finish(&sh, tr, t);
}
