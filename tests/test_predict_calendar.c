/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The plant calendar in the predictor (predict_add_cal(), predict_eval_cal(),
 * predict_open_days(); docs/prediction.md, "Plant calendar"): planned closed
 * periods are taken off its time axis, so a past shutdown is no slow-down,
 * no stuck sensor and no longer part life, and a holiday the machine idles
 * anyway takes nothing off a horizon. Without a closed period in its time,
 * a calendar changes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka after the standard headers it needs */
#include <cmocka.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "rules/predict.h"
#include "tests/predict_test.h" /* time units, noise1(), level_params(), usage_params() */

/* A calendar of one closed period [from_d, to_d) days after T0 (c: its storage). */
static struct predict_cal one_closed(struct cfg_closed *c, double from_d, double to_d)
{
  struct predict_cal cal;
  memset(c, 0, sizeof(*c));
  c->from_ms = T0 + (int64_t)(from_d * (double)DAY_MS);
  c->to_ms = T0 + (int64_t)(to_d * (double)DAY_MS);
  cal.closed = c;
  cal.n = 1;
  return cal;
}

/*
 * A level read every half hour (noise 0.3 points), worn 2 points a day while
 * the plant is open, and closed from day 15 to day 25 (the level stands,
 * the readings go on), fed up to day `to_d` with the calendar cal (NULL:
 * none). The remaining level on day d: 100 - 2 x the open days before it.
 */
static void feed_closure(struct predictor *p, const struct predict_cal *cal, double to_d)
{
  int64_t t;
  rng_state = 12;
  for(t = 0; t <= (int64_t)(to_d * (double)DAY_MS); t += HOUR_MS / 2) {
    double d = (double)t / DAY_MS, open = d < 15 ? d : (d < 25 ? 15 : d - 10);
    predict_add_cal(p, T0 + t, 100 - 2 * open + 0.3 * noise1(), NULL, cal);
  }
}

/*
 * Five days after a 10-day shutdown the part has 60 % left: 30 days of
 * running at 2 a day. With the shutdown in the calendar, days_left says so
 * (within 10 %); without it, the flat ten days read as a slower part and
 * days_left is longer (the low bound with it: a later order). During the
 * shutdown days_left stands where it was when the plant closed: the line is
 * carried over open time only.
 */
static void test_closure_not_slowdown(void **state)
{
  struct predict_params pp;
  struct predictor p, q;
  struct prediction a, b, mid, at_close;
  struct cfg_closed c;
  struct predict_cal cal = one_closed(&c, 15, 25);
  (void)state;
  level_params(&pp, 100, 0);
  assert_int_equal(predict_init(&p, &pp), PREDICT_OK);
  assert_int_equal(predict_init(&q, &pp), PREDICT_OK);
  feed_closure(&p, &cal, 15);
  predict_eval_cal(&p, T0 + 15 * DAY_MS, &cal, &at_close);
  /* the rest of the shutdown, then five open days */
  {
    int64_t t;
    rng_state = 99;
    for(t = 15 * DAY_MS + HOUR_MS / 2; t <= 30 * DAY_MS; t += HOUR_MS / 2) {
      double d = (double)t / DAY_MS, open = d < 25 ? 15 : d - 10;
      predict_add_cal(&p, T0 + t, 100 - 2 * open + 0.3 * noise1(), NULL, &cal);
      if(t == 20 * DAY_MS)
        predict_eval_cal(&p, T0 + t, &cal, &mid);
    }
  }
  feed_closure(&q, NULL, 30);
  predict_eval_cal(&p, T0 + 30 * DAY_MS, &cal, &a);
  predict_eval(&q, T0 + 30 * DAY_MS, &b);
  print_message("at the closing %.2f, mid-shutdown %.2f; 5 open days after: with the calendar "
                "days_left %.2f (p10 %.2f), without %.2f (p10 %.2f), truth 30\n",
                at_close.days_left, mid.days_left, a.days_left, a.days_left_p10, b.days_left,
                b.days_left_p10);
  assert_true(fabs(a.days_left - 30) < 3);
  assert_true(b.days_left > a.days_left + 3);
  assert_true(b.days_left_p10 > a.days_left_p10);
  assert_true(fabs(mid.days_left - at_close.days_left) < 1.5);
  assert_true(fabs(a.level_pct - 60) < 1);
}

/* Whether two predictions hold the same figures (the struct has padding). */
static bool same_prediction(const struct prediction *a, const struct prediction *b)
{
  return !memcmp(&a->level_pct, &b->level_pct, sizeof(double)) &&
         !memcmp(&a->rate_per_day, &b->rate_per_day, sizeof(double)) &&
         !memcmp(&a->days_left, &b->days_left, sizeof(double)) &&
         a->empty_at_ms == b->empty_at_ms &&
         !memcmp(&a->confidence, &b->confidence, sizeof(double)) &&
         a->exponential == b->exponential &&
         !memcmp(&a->days_left_p10, &b->days_left_p10, sizeof(double)) &&
         !memcmp(&a->days_left_p90, &b->days_left_p90, sizeof(double));
}

/*
 * A calendar whose closed periods lie outside the readings' time (or has
 * none) changes nothing: the same saved state, byte for byte, and the same
 * figures as the predictor without one.
 */
static void test_calendar_elsewhere_changes_nothing(void **state)
{
  struct predict_params pp;
  struct predictor p, q, r;
  struct prediction a, b, c2;
  struct cfg_closed c;
  struct predict_cal away = one_closed(&c, 200, 220), none = {NULL, 0};
  uint8_t ba[PREDICT_STATE_MAX], bb[PREDICT_STATE_MAX], bc[PREDICT_STATE_MAX];
  size_t la = 0, lb = 0, lc = 0;
  (void)state;
  level_params(&pp, 100, 0);
  assert_int_equal(predict_init(&p, &pp), PREDICT_OK);
  assert_int_equal(predict_init(&q, &pp), PREDICT_OK);
  assert_int_equal(predict_init(&r, &pp), PREDICT_OK);
  feed_closure(&p, &away, 40);
  feed_closure(&q, NULL, 40);
  feed_closure(&r, &none, 40);
  assert_int_equal(predict_save(&p, ba, sizeof(ba), &la), PREDICT_OK);
  assert_int_equal(predict_save(&q, bb, sizeof(bb), &lb), PREDICT_OK);
  assert_int_equal(predict_save(&r, bc, sizeof(bc), &lc), PREDICT_OK);
  assert_int_equal(la, lb);
  assert_int_equal(lc, lb);
  assert_memory_equal(ba, bb, lb);
  assert_memory_equal(bc, bb, lb);
  predict_eval_cal(&p, T0 + 40 * DAY_MS, &away, &a);
  predict_eval(&q, T0 + 40 * DAY_MS, &b);
  predict_eval_cal(&r, T0 + 40 * DAY_MS, &none, &c2);
  assert_true(same_prediction(&a, &b));
  assert_true(same_prediction(&c2, &b));
}

/*
 * Parts replaced every 20 open days (marked), the second across a 10-day
 * shutdown (30 calendar days): with the calendar every part lasted 20 days
 * (the typical life cover_days counts with), without it the median of 20
 * and 30.
 */
static void test_closure_not_in_part_life(void **state)
{
  struct predict_params pp;
  struct predictor p, q;
  struct cfg_closed c;
  struct predict_cal cal = one_closed(&c, 30, 40);
  static const double starts[] = {0, 20, 50, 70};
  size_t k;
  (void)state;
  level_params(&pp, 100, 0);
  assert_int_equal(predict_init(&p, &pp), PREDICT_OK);
  assert_int_equal(predict_init(&q, &pp), PREDICT_OK);
  for(k = 0; k < 4; k++) {
    int64_t t, from = (int64_t)(starts[k] * (double)DAY_MS);
    if(k > 0) {
      predict_mark_replaced_cal(&p, T0 + from, &cal);
      predict_mark_replaced(&q, T0 + from);
    }
    for(t = from; t < from + 2 * DAY_MS; t += HOUR_MS) {
      predict_add_cal(&p, T0 + t, 100 - 4 * (double)(t - from) / DAY_MS, NULL, &cal);
      predict_add(&q, T0 + t, 100 - 4 * (double)(t - from) / DAY_MS, NULL);
    }
  }
  print_message("typical life: with the calendar %.2f days, without %.2f\n",
                predict_typical_life_days(&p, NULL), predict_typical_life_days(&q, NULL));
  assert_true(fabs(predict_typical_life_days(&p, NULL) - 20) < 0.01);
  assert_true(predict_typical_life_days(&q, NULL) > 22);
}

/*
 * An hours counter (exact: it stands whenever the machine does) of a machine
 * running 10 hours a day, through a 20-day summer shutdown: 18 days into it,
 * with the calendar, the counter standing still is the shutdown, not a stuck
 * sensor: the confidence and the low bound stay as when the plant closed.
 * Without the calendar a counter frozen beyond two weeks is suspect.
 */
static void test_summer_shutdown_not_stuck(void **state)
{
  struct predict_params pp;
  struct predictor p, q;
  struct prediction a0, a, b;
  struct cfg_closed c;
  struct predict_cal cal = one_closed(&c, 30, 50);
  int64_t t;
  double hours = 0;
  (void)state;
  usage_params(&pp, 1000, 0);
  assert_int_equal(predict_init(&p, &pp), PREDICT_OK);
  assert_int_equal(predict_init(&q, &pp), PREDICT_OK);
  for(t = 0; t <= 48 * DAY_MS; t += HOUR_MS) {
    int h = (int)(t % DAY_MS / HOUR_MS);
    if(t < 30 * DAY_MS && h >= 6 && h < 16)
      hours += 1;
    predict_add_cal(&p, T0 + t, hours, NULL, &cal);
    predict_add(&q, T0 + t, hours, NULL);
    if(t == 30 * DAY_MS)
      predict_eval_cal(&p, T0 + t, &cal, &a0);
  }
  predict_eval_cal(&p, T0 + 48 * DAY_MS, &cal, &a);
  predict_eval(&q, T0 + 48 * DAY_MS, &b);
  print_message("18 days into the shutdown: with the calendar confidence %.2f (at the closing "
                "%.2f), p10 %.2f (%.2f), days_left %.2f; without: confidence %.2f, p10 %.2f\n",
                a.confidence, a0.confidence, a.days_left_p10, a0.days_left_p10, a.days_left,
                b.confidence, b.days_left_p10);
  assert_true(fabs(a.confidence - a0.confidence) < 0.05);
  assert_true(fabs(a.days_left_p10 - a0.days_left_p10) < 0.5);
  assert_true(fabs(a.days_left - 70) < 5); /* 700 hours left at 10 a day */
  assert_true(b.confidence < a.confidence);
}

/*
 * predict_open_days(): the running time a week (7 calendar days from a
 * Monday) holds. A Monday-to-Friday machine (factors 1.4, Saturday and
 * Sunday 0): a Saturday holiday takes nothing off; a Wednesday one takes
 * its 1.4 working days, so the 5.6 left are used by Thursday night (4
 * days). Calendar days (factors 1): one day off. No closed day: as given.
 */
static void test_open_days_in_the_week(void **state)
{
  static const double week5[7] = {1.4, 1.4, 1.4, 1.4, 1.4, 0, 0}, ones[7] = {1, 1, 1, 1, 1, 1, 1};
  int64_t mon = T0 + 4 * DAY_MS; /* T0 is a Thursday */
  struct cfg_closed c;
  struct predict_cal sat = one_closed(&c, 9, 10), wed;
  (void)state;
  assert_true(fabs(predict_open_days(week5, mon, 7, &sat) - 7) < 1e-9);
  wed = one_closed(&c, 6, 7);
  assert_true(fabs(predict_open_days(week5, mon, 7, &wed) - 4) < 1e-9);
  assert_true(fabs(predict_open_days(ones, mon, 7, &wed) - 6) < 1e-9);
  assert_true(fabs(predict_open_days(ones, mon, 1.5, &wed) - 1.5) < 1e-9);
  assert_true(predict_open_days(ones, mon, 7, NULL) == 7);
  assert_true(isinf(predict_open_days(ones, mon, INFINITY, &wed)));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_closure_not_slowdown),
      cmocka_unit_test(test_calendar_elsewhere_changes_nothing),
      cmocka_unit_test(test_closure_not_in_part_life),
      cmocka_unit_test(test_summer_shutdown_not_stuck),
      cmocka_unit_test(test_open_days_in_the_week),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
