/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the depletion predictor (rules/predict.c) for what a value
 * that stops moving means (docs/prediction.md, "Stops" and "Bounds"): a
 * sensor stuck until its part is replaced must still get the part ordered,
 * a machine's shutdown is no rate change, and a new filter whose first
 * readings explain nothing does not order on its first day. Found by
 * bench/predict's plant suite (docs/BENCHMARKS.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka after the standard headers it needs */
#include <cmocka.h>
#include <math.h>
#include <stdio.h>

#include "rules/predict.h"
#include "tests/predict_test.h" /* time units, noise1(), level_params(), usage_params() */

#define LEAD_D 5.5  /* lead time + handling, as bench/predict */
#define RISK   0.05 /* orders.stockout_risk's default */

/* Whether the default rule orders on pr: the risk of running out within the lead time. */
static bool orders(const struct prediction *pr)
{
  return predict_risk_within(pr->days_left_p10, pr->days_left_p90, LEAD_D) > RISK;
}

/*
 * The reading at t (ms since T0; one every 10 minutes) of an operating-hours
 * counter (0.1 h steps) of a machine on one shift, 06:00 to 16:00 UTC every
 * day, that stands still from stop_from to stop_to: adds the 10 minutes
 * worked up to t to *hours and feeds the counter to p.
 */
static void shift_counter_add(struct predictor *p, int64_t t, int64_t stop_from, int64_t stop_to,
                              double *hours)
{
  int64_t in_day = t % DAY_MS;
  bool stopped = t >= stop_from && t < stop_to;
  if(!stopped && in_day > 6 * HOUR_MS && in_day <= 16 * HOUR_MS)
    *hours += 10.0 / 60;
  predict_add(p, T0 + t, floor(*hours * 10 + 1e-9) / 10, NULL);
}

/*
 * A level sensor (0.3 % noise, read every 30 minutes) on a part used
 * steadily over 60 days sticks on day 30 and stays stuck until the part is
 * replaced. The value says nothing any more: the life must not turn
 * infinite, the confidence must fall, and the low bound must fall with the
 * time frozen until the default rule orders, at the latest with the lead
 * time left (day 54.5). Before: after two weeks frozen the freeze was taken
 * for a rate change to zero (days left infinite, confidence 1, never
 * ordered: plant suite seed 1, stuck trace 32).
 */
static void test_stuck_until_replaced(void **state)
{
  struct predict_params pp;
  struct predictor p;
  struct prediction pr;
  int64_t t, ordered = INT64_MAX;
  double frozen = NAN;
  (void)state;
  rng_state = 71;
  level_params(&pp, 100, 0);
  assert_int_equal(predict_init(&p, &pp), PREDICT_OK);
  for(t = 0; t < 60 * DAY_MS; t += HOUR_MS / 2) {
    double v = 100.0 * (1.0 - (double)t / DAY_MS / 60) + 0.3 * noise1();
    if(t >= 30 * DAY_MS) {
      if(isnan(frozen))
        frozen = v;
      v = frozen;
    }
    predict_add(&p, T0 + t, v, NULL);
    if(t < 30 * DAY_MS || t % (6 * HOUR_MS))
      continue;
    predict_eval(&p, T0 + t, &pr);
    assert_true(isfinite(pr.days_left));
    if(ordered == INT64_MAX && orders(&pr))
      ordered = t;
  }
  predict_eval(&p, T0 + 59 * DAY_MS, &pr);
  printf("stuck from day 30: ordered on day %.2f, at day 59 days_left %.2f p10 %.2f conf %.2f\n",
         ordered == INT64_MAX ? -1.0 : (double)ordered / DAY_MS, pr.days_left, pr.days_left_p10,
         pr.confidence);
  assert_true(ordered <= (int64_t)((60 - LEAD_D) * DAY_MS));
  assert_true(pr.confidence < 0.3);
}

/*
 * An operating-hours counter (0.1 h) of a machine on one shift (06:00 to
 * 16:00 UTC every day) against a rated life of 1000 hours: 41 days of work,
 * a 16-day shutdown (the counter stands still), then work again. A stop
 * is no rate change: during the shutdown days_left stays finite, and on the
 * first days after the restart it is the hours left at 10 a day. Before:
 * the shutdown was remembered as a rate change to zero and days_left was
 * infinite for days after the restart (plant suite seed 1, bearing trace
 * 16: the order came a day late).
 */
static void test_shutdown_not_rate_change(void **state)
{
  struct predict_params pp;
  struct predictor p;
  struct prediction pr;
  int64_t t;
  double hours = 0;
  (void)state;
  usage_params(&pp, 1000, 0);
  assert_int_equal(predict_init(&p, &pp), PREDICT_OK);
  for(t = 0; t <= 60 * DAY_MS; t += 10 * MIN_MS) {
    shift_counter_add(&p, t, 41 * DAY_MS, 57 * DAY_MS, &hours);
    if(t % (6 * HOUR_MS))
      continue;
    predict_eval(&p, T0 + t, &pr);
    if(t >= DAY_MS)
      assert_true(isfinite(pr.days_left));
    if(t >= 57 * DAY_MS + 18 * HOUR_MS) {
      /* (1000 - hours) hours left at 10 a day */
      double truth = (1000 - hours) / 10;
      if(t % DAY_MS == 0)
        printf("day %.2f after a 16-day stop: days_left %.2f, truth %.2f\n",
               (double)t / DAY_MS, pr.days_left, truth);
      assert_true(fabs(pr.days_left - truth) < 0.15 * truth);
    }
  }
}

/*
 * The same counter and shift, but the shutdown (a seasonal machine, a
 * plant closed for the winter) lasts 160 days, four times the 41 days of
 * work before it. A stop is no rate change however long it is: on every
 * day of work after the restart days_left is finite and the default rule
 * orders before the part runs out. Before: once the value moved again the
 * line through 41 days of work and 160 flat ones was near flat, the stop
 * was judged by that rate and not taken out, and from the fifth day of
 * work on days_left was infinite with confidence 1 for 11 days (never
 * ordered meanwhile).
 */
static void test_long_shutdown_not_rate_change(void **state)
{
  struct predict_params pp;
  struct predictor p;
  struct prediction pr;
  int64_t t, restart = 201 * DAY_MS;
  double hours = 0;
  (void)state;
  usage_params(&pp, 1000, 0);
  assert_int_equal(predict_init(&p, &pp), PREDICT_OK);
  for(t = 0; t <= 262 * DAY_MS; t += 10 * MIN_MS) {
    shift_counter_add(&p, t, 41 * DAY_MS, restart, &hours);
    if(t < restart + DAY_MS || t % (6 * HOUR_MS))
      continue;
    predict_eval(&p, T0 + t, &pr);
    if(t % (7 * DAY_MS) == 0)
      printf("day %.2f after a 160-day stop: days_left %.2f, p10 %.2f, truth %.2f\n",
             (double)t / DAY_MS, pr.days_left, pr.days_left_p10, (1000 - hours) / 10);
    assert_true(isfinite(pr.days_left));
    /* ordered by the time the hours left last the lead time at 10 a day */
    if((1000 - hours) / 10 <= LEAD_D)
      assert_true(orders(&pr));
  }
  assert_true(hours >= 1000); /* the part did run out within the trace */
}

/*
 * A new hydraulic filter: the differential pressure (clean 0.3 bar, empty
 * 3 bar) grows exponentially over a 60-day life while the pump runs, in
 * runs of 90 minutes with 20-minute stops from 06:00 to 22:00 (about 0 bar
 * while it stops), read every 2 minutes. Each pump start reads 1.5-3x,
 * decaying over a few minutes, and the day's first hour reads up to 40 %
 * high (cold oil). The filter's first three days show nothing but these:
 * while its fit explains nothing (confidence below 0.05) it has no bounds,
 * and the default rule does not order it. Before: a fit with confidence 0
 * had a finite p10 from the first day (here 35 days; on plant suite seed 1,
 * as low as 4.85 days: 30 of 65 early clog orders came on a new filter's
 * first days).
 */
static void test_new_filter_no_order(void **state)
{
  struct predict_params pp;
  struct predictor p;
  struct prediction pr;
  int64_t t;
  double surge = 1;
  int seen = 0;
  (void)state;
  rng_state = 5;
  level_params(&pp, 0.3, 3.0);
  assert_int_equal(predict_init(&p, &pp), PREDICT_OK);
  for(t = 0; t < 3 * DAY_MS; t += 2 * MIN_MS) {
    int64_t in_day = t % DAY_MS, on = in_day - 6 * HOUR_MS, in_run = on % (110 * MIN_MS);
    double dp = 0.3 * exp(log(10.0) * (double)t / DAY_MS / 60);
    if(on < 0 || in_day >= 22 * HOUR_MS || in_run >= 90 * MIN_MS) {
      predict_add(&p, T0 + t, 0.01 * noise1(), NULL); /* the pump is off */
      continue;
    }
    if(in_run == 0)
      surge = 2.25 + 0.75 * noise1();
    dp *= 1 + (surge - 1) * exp(-(double)in_run / (3.0 * MIN_MS)); /* a pump start */
    if(on < HOUR_MS)
      dp *= 1 + 0.4 * (1 - (double)on / HOUR_MS); /* cold oil */
    predict_add(&p, T0 + t, dp * (1 + 0.03 * noise1()), NULL);
    predict_eval(&p, T0 + t, &pr);
    /* no confidence, no bounds (on the status page: p10 unknown), no order */
    if(pr.confidence < 0.05) {
      seen++;
      assert_true(isinf(pr.days_left_p10));
    }
    assert_false(orders(&pr));
  }
  printf("new filter, 3 days: level %.1f %%, confidence %.2f, p10 %.2f (%d evaluations at "
         "confidence < 0.05)\n",
         pr.level_pct, pr.confidence, pr.days_left_p10, seen);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stuck_until_replaced),
      cmocka_unit_test(test_shutdown_not_rate_change),
      cmocka_unit_test(test_long_shutdown_not_rate_change),
      cmocka_unit_test(test_new_filter_no_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
