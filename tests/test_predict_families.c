/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The predictor on each family of bench/predict's generator (plant-like
 * traces: bursty ink, clogging filters with pump stops, water counters with
 * resets and a 16-bit wrap, bearing hours with shifts and holidays, tyres
 * read once a working day, rate changes, other replacements, stuck sensors
 * and dropouts), on a seed the bench does not use. What a user would check:
 * the forecast beats a 7-day least-squares line, the 10 % bound is below
 * the truth most of the time but not always, nothing is NaN, and a restart
 * (save, load) in the middle of a trace changes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka after the standard headers it needs */
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/predict/predict_gen.h"
#include "rules/predict.h"

#define DAY_MS  INT64_C(86400000)
#define TRACES  6
#define SEED    424242

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : (x > y ? 1 : 0);
}

/* Least squares on the readings of the last 7 days (baseline), days to y_empty. */
static double ls7(const struct gen_trace *tr, size_t upto, int64_t from_ms, double y_empty,
                  double dir)
{
  double n = 0, st = 0, sy = 0, stt = 0, sty = 0, den, b, a;
  int64_t now = tr->t[upto - 1];
  size_t i;
  for(i = 0; i < upto; i++) {
    double t, y = tr->u[i];
    if(tr->t[i] < now - 7 * DAY_MS || tr->t[i] < from_ms || isnan(y))
      continue;
    t = (double)(tr->t[i] - now) / (double)DAY_MS;
    n += 1;
    st += t;
    sy += y;
    stt += t * t;
    sty += t * y;
  }
  if(n < 2)
    return 9999;
  den = n * stt - st * st;
  if(!(fabs(den) > 1e-12))
    return 9999;
  b = (n * sty - st * sy) / den;
  a = (sy - b * st) / n;
  if((a - y_empty) * dir >= 0)
    return 0;
  if(b * dir <= 0)
    return 9999;
  return (y_empty - a) / b;
}

/* Run TRACES traces of family f; restock's median error must be at most
   `slack` x the baseline's. */
static void run_family(enum gen_family f, double slack)
{
  struct gen_trace tr;
  struct gen_rng r;
  double mine[TRACES * 4], base[TRACES * 4];
  size_t n_err = 0, cal_n = 0, below = 0, k;
  memset(&tr, 0, sizeof(tr));
  gen_seed(&r, SEED, (unsigned)f);
  for(k = 0; k < TRACES; k++) {
    struct predictor p;
    size_t i;
    double dir;
    gen_trace(&tr, f, &r);
    dir = tr.params.model == PREDICT_MODEL_USAGE || tr.params.empty > tr.params.full ? 1 : -1;
    assert_int_equal(predict_init(&p, &tr.params), PREDICT_OK);
    for(i = 0; i < tr.n; i++) {
      const struct gen_segment *sg = &tr.seg[0];
      struct prediction pr;
      size_t s;
      predict_add(&p, tr.t[i], tr.v[i], NULL);
      for(s = 0; s < tr.n_seg; s++)
        if(tr.t[i] >= tr.seg[s].install_ms)
          sg = &tr.seg[s];
      /* a restart half way: save and load give the same figures */
      if(i == tr.n / 2) {
        uint8_t blob[PREDICT_STATE_MAX];
        size_t len = 0;
        struct predictor q;
        struct prediction a, b;
        assert_int_equal(predict_save(&p, blob, sizeof(blob), &len), PREDICT_OK);
        assert_int_equal(predict_load(&q, &tr.params, blob, len), PREDICT_OK);
        predict_eval(&p, tr.t[i] + DAY_MS / 3, &a);
        predict_eval(&q, tr.t[i] + DAY_MS / 3, &b);
        assert_memory_equal(&a.days_left_p10, &b.days_left_p10, sizeof(double));
        assert_memory_equal(&a.days_left, &b.days_left, sizeof(double));
      }
      /* at a quarter, half and three quarters of the last part's life */
      if(sg == &tr.seg[tr.n_seg - 1] && i + 1 < tr.n) {
        double life = (double)(sg->empty_ms - sg->install_ms);
        double left = (double)(sg->empty_ms - tr.t[i]), left_next = (double)(sg->empty_ms - tr.t[i + 1]);
        int c;
        for(c = 1; c <= 3; c++) {
          double mark = life * 0.25 * c;
          if(left >= mark && left_next < mark) {
            double truth = left / (double)DAY_MS, e;
            predict_eval(&p, tr.t[i], &pr);
            assert_false(isnan(pr.days_left) || isnan(pr.days_left_p10) ||
                         isnan(pr.days_left_p90));
            assert_true(pr.days_left_p10 <= pr.days_left || isinf(pr.days_left_p10));
            e = fabs(pr.days_left - truth);
            mine[n_err] = isfinite(e) && e < 9999 ? e : 9999;
            e = fabs(ls7(&tr, i + 1, sg->install_ms, sg->empty_u, dir) - truth);
            base[n_err] = isfinite(e) && e < 9999 ? e : 9999;
            n_err++;
            if(isfinite(pr.days_left_p10)) {
              cal_n++;
              below += truth < pr.days_left_p10;
            }
          }
        }
      }
    }
  }
  gen_free(&tr);
  assert_true(n_err >= TRACES * 2);
  qsort(mine, n_err, sizeof(double), cmp_double);
  qsort(base, n_err, sizeof(double), cmp_double);
  printf("%-12s median error %.2f d vs 7-day least squares %.2f d; below p10 %zu of %zu\n",
         gen_family_name[f], mine[n_err / 2], base[n_err / 2], below, cal_n);
  /* better than the baseline, and a 10 % bound that is neither always nor never crossed */
  assert_true(mine[n_err / 2] <= slack * base[n_err / 2]);
  assert_true(cal_n > 0 && (double)below <= 0.4 * (double)cal_n);
}

/*
 * New filters behind stopping pumps (the clog family, 30 traces): the
 * default rule's risk (running out within a 5-day delivery and half a day
 * of handling) must stay below 5 % in the first week of a filter with
 * weeks of life left: its pressure has barely risen, nothing says it is
 * about to clog. Returns nothing; asserts.
 */
static void test_clog_new_filter_no_order(void **state)
{
  struct gen_trace tr;
  struct gen_rng r;
  int k, fired = 0;
  (void)state;
  memset(&tr, 0, sizeof(tr));
  gen_seed(&r, SEED + 1, GEN_CLOG);
  for(k = 0; k < 30; k++) {
    struct predictor p;
    const struct gen_segment *sg;
    int64_t tick;
    size_t i = 0;
    bool fires = false;
    gen_trace(&tr, GEN_CLOG, &r);
    sg = &tr.seg[0];
    assert_int_equal(predict_init(&p, &tr.params), PREDICT_OK);
    for(tick = sg->install_ms + DAY_MS / 24; tick < sg->install_ms + 7 * DAY_MS;
        tick += DAY_MS / 24) {
      struct prediction pr;
      while(i < tr.n && tr.t[i] <= tick) {
        predict_add(&p, tr.t[i], tr.v[i], NULL);
        i++;
      }
      predict_eval(&p, tick, &pr);
      if((double)(sg->empty_ms - tick) / (double)DAY_MS > 20 &&
         predict_risk_within(pr.days_left_p10, pr.days_left_p90, 5.5) > 0.05)
        fires = true;
    }
    fired += fires;
  }
  gen_free(&tr);
  assert_int_equal(fired, 0);
}

/*
 * Replay bench/predict seed 1's tyre trace k (a tyre and its retread, read
 * once a working day) and check, at every reading of the retread once the
 * predictor has seen it, while more than 20 days are left: days_left above
 * 0 and the risk of running out within 5.5 days (the lead time and the
 * handling) at most 5 %: the default rule does not order weeks early.
 */
static void tyre_retread_not_ordered_early(int k_trace)
{
  struct gen_trace tr;
  struct gen_rng r;
  struct predictor p;
  const struct gen_segment *sg;
  size_t i;
  int k, checked = 0;
  memset(&tr, 0, sizeof(tr));
  gen_seed(&r, 1, GEN_TYRE);
  for(k = 0; k <= k_trace; k++)
    gen_trace(&tr, GEN_TYRE, &r);
  assert_int_equal((int)tr.n_seg, 2);
  sg = &tr.seg[1];
  assert_int_equal(predict_init(&p, &tr.params), PREDICT_OK);
  for(i = 0; i < tr.n; i++) {
    struct prediction pr;
    double left = (double)(sg->empty_ms - tr.t[i]) / (double)DAY_MS;
    predict_add(&p, tr.t[i], tr.v[i], NULL);
    /* the retread, once the predictor has seen it, while 20 days are left */
    if(tr.t[i] < sg->install_ms + 10 * DAY_MS || predict_window_start_ms(&p) < sg->install_ms - DAY_MS ||
       left <= 20)
      continue;
    predict_eval(&p, tr.t[i], &pr);
    if(!(pr.days_left > 0) ||
       predict_risk_within(pr.days_left_p10, pr.days_left_p90, 5.5) > 0.05)
      printf("trace %d, day %.2f of the retread, %.2f days left: days_left %.2f p10 %.2f "
             "p90 %.2f\n",
             k_trace, (double)(tr.t[i] - sg->install_ms) / (double)DAY_MS, left, pr.days_left,
             pr.days_left_p10, pr.days_left_p90);
    assert_true(pr.days_left > 0);
    assert_true(predict_risk_within(pr.days_left_p10, pr.days_left_p90, 5.5) <= 0.05);
    checked++;
  }
  gen_free(&tr);
  assert_true(checked > 40);
}

/*
 * A pair of stones in a tyre's groove does not make the tyre "empty" weeks
 * early. bench/predict seed 1's tyre 59 (a retread, 116 days): after a
 * weekend, two mornings read 1.4 and 1.9 mm where the tread had 3.6 mm
 * (empty is 1.6); the median of 3 passed them, a refit took the short
 * recent part through them for a speed-up, its line stood at -7 % while the
 * readings were back at 30 %, and days_left was 0 with 45 days left (the
 * default rule ordered then).
 */
static void test_tyre_stone_pair_not_empty(void **state)
{
  (void)state;
  tyre_retread_not_ordered_early(59);
}

/*
 * A tyre's value that repeats for days is no stuck sensor. bench/predict
 * seed 1's tyre 50 (a retread, 117 days, 0.1 mm steps, wearing 0.04 mm a
 * day): a stone reading made one refit take a short speed-up (3.6 times
 * the part's rate) just as the value moved; the value then read the same
 * for 5 days (a step takes 2.5 days, and a weekend), which the freeze
 * logic took for a stuck sensor at that rate: p10 0 with 22 days left, and
 * the rule ordered. Now the rate before a freeze comes from a fit on a full
 * history, and a quantised value is frozen only beyond two steps' use.
 */
static void test_tyre_quantised_freeze(void **state)
{
  (void)state;
  tyre_retread_not_ordered_early(50);
}

static void test_ink(void **state)
{
  (void)state;
  run_family(GEN_INK, 1.0);
}
static void test_clog(void **state)
{
  (void)state;
  run_family(GEN_CLOG, 1.0);
}
static void test_water(void **state)
{
  (void)state;
  run_family(GEN_WATER, 1.0);
}
/* Bearings: a one- or two-week shutdown still ahead is in nobody's data;
   early in life restock's whole-life rate is off by it more than a 7-day
   line that has not seen it either (docs/BENCHMARKS.md: x1.26 at 75 % left).
   Not worse than 1.6 x. */
static void test_bearing(void **state)
{
  (void)state;
  run_family(GEN_BEARING, 1.6);
}
static void test_tyre(void **state)
{
  (void)state;
  run_family(GEN_TYRE, 1.0);
}
static void test_rate_change(void **state)
{
  (void)state;
  run_family(GEN_RATE, 1.0);
}
static void test_replacement(void **state)
{
  (void)state;
  run_family(GEN_REPLACE, 1.0);
}
static void test_stuck(void **state)
{
  (void)state;
  run_family(GEN_STUCK, 1.0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ink),         cmocka_unit_test(test_clog),
      cmocka_unit_test(test_water),       cmocka_unit_test(test_bearing),
      cmocka_unit_test(test_tyre),        cmocka_unit_test(test_rate_change),
      cmocka_unit_test(test_replacement), cmocka_unit_test(test_stuck),
      cmocka_unit_test(test_clog_new_filter_no_order),
      cmocka_unit_test(test_tyre_stone_pair_not_empty),
      cmocka_unit_test(test_tyre_quantised_freeze),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
