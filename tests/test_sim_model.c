/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device simulator's profile curves (gateway/sim/devices_model.c):
 * duty-hour integrals over days, weeks and weekends; linear, weekly,
 * clogging and counter values; seeded randomness.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sim/simcfg.h"
#include "sim/devices_model.h"

/* cmocka 1.1.5's assert_float_equal works in float: compare doubles ourselves */
#define assert_near(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (eps))

#define H   INT64_C(3600000)
#define DAY (24 * H)
/* Monday 2026-01-05T00:00:00Z */
#define MON INT64_C(1767571200000)

static struct simcfg_consumable mk(enum simcfg_kind kind, double full, double empty, int64_t life)
{
  struct simcfg_consumable k;
  memset(&k, 0, sizeof(k));
  k.kind = kind;
  k.full = full;
  k.empty = empty;
  k.life_ms = life;
  k.steepness = 4;
  k.start_level = 1;
  return k;
}

static void duty_office_hours(void **state)
{
  struct simcfg_duty d = {true, 0x1f, 6, 22}; /* Mon-Fri 06-22 */
  struct simcfg_duty none = {false, 0, 0, 0};
  (void)state;
  assert_int_equal(simmodel_duty_ms(&d, MON, MON + DAY), 16 * H);
  assert_int_equal(simmodel_duty_ms(&d, MON, MON + 7 * DAY), 80 * H);
  /* Saturday and Sunday: idle */
  assert_int_equal(simmodel_duty_ms(&d, MON + 5 * DAY, MON + 7 * DAY), 0);
  /* a night: 22:00 to 06:00 next day */
  assert_int_equal(simmodel_duty_ms(&d, MON + 22 * H, MON + DAY + 6 * H), 0);
  /* partial hours inside a shift */
  assert_int_equal(simmodel_duty_ms(&d, MON + 5 * H, MON + 7 * H + 30 * 60000), H + 30 * 60000);
  /* Friday 20:00 to Monday 08:00 */
  assert_int_equal(simmodel_duty_ms(&d, MON + 4 * DAY + 20 * H, MON + 7 * DAY + 8 * H), 4 * H);
  /* ten weeks, before 1970-01-05 too */
  assert_int_equal(simmodel_duty_ms(&d, MON, MON + 70 * DAY), 800 * H);
  assert_int_equal(simmodel_duty_ms(&d, -14 * DAY, 0), 160 * H);
  assert_int_equal(simmodel_duty_ms(&none, MON, MON + 7 * DAY), 7 * DAY);
  assert_int_equal(simmodel_duty_ms(&d, MON + DAY, MON), 0);
}

static void linear_and_weekly(void **state)
{
  struct simcfg_consumable k = mk(SIMCFG_KIND_LINEAR, 100, 0, 10 * DAY);
  (void)state;
  assert_near(simmodel_value(&k, simmodel_used(&k, 0, MON, MON)), 100, 1e-9);
  assert_near(simmodel_value(&k, simmodel_used(&k, 0, MON, MON + 5 * DAY)), 50, 1e-9);
  assert_near(simmodel_value(&k, simmodel_used(&k, 0.2, MON, MON + 5 * DAY)), 30, 1e-9);
  /* worn out: stays at empty */
  assert_near(simmodel_value(&k, simmodel_used(&k, 0, MON, MON + 30 * DAY)), 0, 1e-9);
  assert_near(simmodel_remaining(1.5), 0, 0);
  assert_near(simmodel_remaining(0.25), 0.75, 1e-12);

  k = mk(SIMCFG_KIND_WEEKLY, 0.2, 3.5, 80 * H);
  k.duty = (struct simcfg_duty){true, 0x1f, 6, 22};
  /* one working week wears it out; the weekend does not move it */
  assert_near(simmodel_used(&k, 0, MON, MON + 5 * DAY), 1, 1e-12);
  assert_near(simmodel_used(&k, 0, MON, MON + 2 * DAY + 6 * H), 0.4, 1e-12);
  assert_near(simmodel_used(&k, 0, MON + 5 * DAY, MON + 7 * DAY), 0, 0);
  assert_near(simmodel_value(&k, 0.5), 1.85, 1e-12);
}

static void clogging_curve(void **state)
{
  struct simcfg_consumable k = mk(SIMCFG_KIND_CLOGGING, 0.2, 3.5, 10 * DAY);
  double v0 = simmodel_value(&k, 0), v5 = simmodel_value(&k, 0.5), v1 = simmodel_value(&k, 1);
  double v9 = simmodel_value(&k, 0.9);
  (void)state;
  assert_near(v0, 0.2, 1e-12);
  assert_near(v1, 3.5, 1e-12);
  /* (e^2 - 1) / (e^4 - 1) of the range at half life: slow first, steep at the end */
  assert_near(v5, 0.2 + 3.3 * (exp(2) - 1) / (exp(4) - 1), 1e-12);
  assert_true(v5 - v0 < (v1 - v0) * 0.15);
  assert_true(v1 - v9 > (v1 - v0) * 0.25);
  assert_near(simmodel_value(&k, 3), 3.5, 1e-12);
}

static void counter_counts_on(void **state)
{
  struct simcfg_consumable k = mk(SIMCFG_KIND_COUNTER, 0, 2000, 2000 * H);
  (void)state;
  assert_near(simmodel_value(&k, simmodel_used(&k, 0, MON, MON + 100 * H)), 100, 1e-9);
  assert_near(simmodel_value(&k, simmodel_used(&k, 0, MON, MON + 3000 * H)), 3000, 1e-9);
}

/* rate_change: twice the wear from day 10 on, also for a part fitted after the change. */
static void rate_change_doubles_wear(void **state)
{
  struct simcfg_consumable k = mk(SIMCFG_KIND_LINEAR, 100, 0, 40 * DAY);
  (void)state;
  k.rate_after_ms = 10 * DAY;
  k.rate_factor = 2;
  assert_near(simmodel_used_from(&k, 0, MON, MON + 10 * DAY, MON), 0.25, 1e-12);
  assert_near(simmodel_used_from(&k, 0, MON, MON + 15 * DAY, MON), 0.5, 1e-12);
  assert_near(simmodel_used_from(&k, 0, MON + 20 * DAY, MON + 30 * DAY, MON), 0.5, 1e-12);
  k.rate_after_ms = 0;
  assert_near(simmodel_used_from(&k, 0, MON, MON + 20 * DAY, MON), 0.5, 1e-12);
}

static void seeded_noise(void **state)
{
  uint64_t a = simmodel_seed(1, "press-01", "filter"), b = simmodel_seed(1, "press-01", "filter");
  uint64_t c = simmodel_seed(2, "press-01", "filter"), d = simmodel_seed(1, "press-01", "hoses");
  double sum = 0, sq = 0;
  int i;
  (void)state;
  assert_true(a == b);
  assert_true(a != c && a != d);
  for(i = 0; i < 20000; i++) {
    double g = simmodel_gauss(&a), u = simmodel_uniform(&b);
    assert_true(u >= 0 && u < 1);
    sum += g;
    sq += g * g;
  }
  assert_true(fabs(sum / 20000) < 0.05);
  assert_true(fabs(sq / 20000 - 1) < 0.05);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(duty_office_hours), cmocka_unit_test(linear_and_weekly),
      cmocka_unit_test(clogging_curve),    cmocka_unit_test(counter_counts_on),
      cmocka_unit_test(rate_change_doubles_wear),
      cmocka_unit_test(seeded_noise),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
