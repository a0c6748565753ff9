/* SPDX-License-Identifier: Apache-2.0 */
/* devices_model: profile curves and seeded randomness (see devices_model.h). */
#include <math.h>
#include <string.h>

#include "sim/devices_model.h"

#define DAY_MS  INT64_C(86400000)
#define HOUR_MS INT64_C(3600000)
#define WEEK_MS (7 * DAY_MS)
/* 1970-01-05T00:00:00Z, the first Monday of the Unix epoch. */
#define MONDAY0_MS (4 * DAY_MS)

/* Operating ms in [0, r) of a week that starts on Monday 00:00, r in [0, WEEK_MS]. */
static int64_t week_part(const struct simcfg_duty *d, int64_t r)
{
  int64_t sum = 0;
  int day;
  for(day = 0; day < 7; day++) {
    int64_t lo = day * DAY_MS + d->from_h * HOUR_MS, hi = day * DAY_MS + d->to_h * HOUR_MS;
    if(!(d->days & (1u << day)))
      continue;
    if(hi > r)
      hi = r;
    if(hi > lo)
      sum += hi - lo;
  }
  return sum;
}

/* Operating ms from MONDAY0_MS to t (negative before it). */
static int64_t duty_total(const struct simcfg_duty *d, int64_t t)
{
  int64_t x = t - MONDAY0_MS, w = x / WEEK_MS, r;
  if(x % WEEK_MS < 0)
    w--;
  r = x - w * WEEK_MS;
  return w * week_part(d, WEEK_MS) + week_part(d, r);
}

int64_t simmodel_duty_ms(const struct simcfg_duty *d, int64_t a, int64_t b)
{
  if(b <= a)
    return 0;
  if(!d->set)
    return b - a;
  return duty_total(d, b) - duty_total(d, a);
}

double simmodel_used(const struct simcfg_consumable *k, double used0, int64_t installed_ms,
                     int64_t now_ms)
{
  int64_t op = simmodel_duty_ms(&k->duty, installed_ms, now_ms);
  return used0 + (double)op / (double)k->life_ms;
}

double simmodel_used_from(const struct simcfg_consumable *k, double used0, int64_t installed_ms,
                          int64_t now_ms, int64_t start_ms)
{
  int64_t at = start_ms + k->rate_after_ms, before, after;
  if(!k->rate_after_ms || now_ms <= at)
    return simmodel_used(k, used0, installed_ms, now_ms);
  before = installed_ms < at ? simmodel_duty_ms(&k->duty, installed_ms, at) : 0;
  after = simmodel_duty_ms(&k->duty, installed_ms > at ? installed_ms : at, now_ms);
  return used0 + ((double)before + k->rate_factor * (double)after) / (double)k->life_ms;
}

double simmodel_value(const struct simcfg_consumable *k, double u)
{
  double uc = u < 0 ? 0 : u > 1 ? 1 : u;
  switch(k->kind) {
  case SIMCFG_KIND_CLOGGING:
    return k->full + (k->empty - k->full) * expm1(k->steepness * uc) / expm1(k->steepness);
  case SIMCFG_KIND_COUNTER:
    return k->full + (k->empty - k->full) * (u < 0 ? 0 : u);
  case SIMCFG_KIND_LINEAR:
  case SIMCFG_KIND_WEEKLY:
    break;
  }
  return k->full + (k->empty - k->full) * uc;
}

double simmodel_remaining(double u)
{
  return u <= 0 ? 1 : u >= 1 ? 0 : 1 - u;
}

/* splitmix64: the next number of the sequence in *state. */
static uint64_t simmodel_rng(uint64_t *state)
{
  uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

double simmodel_uniform(uint64_t *state)
{
  return (double)(simmodel_rng(state) >> 11) * (1.0 / 9007199254740992.0);
}

double simmodel_gauss(uint64_t *state)
{
  double u1 = simmodel_uniform(state), u2 = simmodel_uniform(state);
  if(u1 < 1e-300)
    u1 = 1e-300;
  return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

uint64_t simmodel_seed(uint64_t seed, const char *device, const char *id)
{
  /* FNV-1a over "device/id", then one splitmix step with the file's seed */
  uint64_t h = UINT64_C(0xcbf29ce484222325), s;
  const char *p;
  for(p = device; *p; p++)
    h = (h ^ (unsigned char)*p) * UINT64_C(0x100000001b3);
  h = (h ^ '/') * UINT64_C(0x100000001b3);
  for(p = id; *p; p++)
    h = (h ^ (unsigned char)*p) * UINT64_C(0x100000001b3);
  s = seed ^ h;
  return simmodel_rng(&s);
}
