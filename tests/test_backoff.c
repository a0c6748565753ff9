/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Backoff and Retry-After (adapters/commerce): full jitter within a ceiling
 * that doubles up to the cap, determinism by seed, Retry-After as a floor,
 * no overflow for huge attempt numbers; Retry-After in delay-seconds and
 * HTTP-date forms, bad values refused, huge values capped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "adapters/commerce.h"

static const struct commerce_backoff policy = {.base_ms = 1000, .cap_ms = 60000};

static int64_t ceiling_for(unsigned attempt)
{
  int64_t c = policy.base_ms;
  unsigned i;
  for(i = 0; i < attempt; i++)
    c = c * 2 > policy.cap_ms ? policy.cap_ms : c * 2;
  return c;
}

/* Every delay lies in [0, ceiling], and the draws reach near the ceiling. */
static void test_full_jitter_bounds(void **state)
{
  uint64_t rng = 42;
  unsigned a;
  (void)state;
  for(a = 0; a < 12; a++) {
    int64_t c = ceiling_for(a), lo = INT64_MAX, hi = -1;
    int i;
    for(i = 0; i < 2000; i++) {
      int64_t d = commerce_backoff_delay(&policy, a, -1, &rng);
      assert_true(d >= 0);
      assert_true(d <= c);
      if(d < lo)
        lo = d;
      if(d > hi)
        hi = d;
    }
    /* full jitter: the spread covers (almost) the whole range */
    assert_true(hi > c * 95 / 100);
    assert_true(lo < c * 5 / 100);
  }
  /* attempts 0..6: 1s 2s 4s 8s 16s 32s, then the 60s cap */
  assert_int_equal(ceiling_for(5), 32000);
  assert_int_equal(ceiling_for(6), 60000);
}

/* The mean of a uniform draw on [0, c] is c/2. */
static void test_full_jitter_mean(void **state)
{
  uint64_t rng = 7;
  double sum = 0;
  int i;
  (void)state;
  for(i = 0; i < 20000; i++)
    sum += (double)commerce_backoff_delay(&policy, 3, -1, &rng);
  sum /= 20000;
  assert_true(sum > 4000 * 0.95 && sum < 4000 * 1.05);
}

static void test_seeded(void **state)
{
  uint64_t a = 1234, b = 1234, c = 999;
  int64_t va[20], vb[20], vc[20];
  int i, same_c = 0;
  (void)state;
  for(i = 0; i < 20; i++) {
    va[i] = commerce_backoff_delay(&policy, 8, -1, &a);
    vb[i] = commerce_backoff_delay(&policy, 8, -1, &b);
    vc[i] = commerce_backoff_delay(&policy, 8, -1, &c);
  }
  for(i = 0; i < 20; i++) {
    assert_int_equal(va[i], vb[i]);
    same_c += va[i] == vc[i];
  }
  assert_true(same_c < 3);
}

static void test_retry_after_floor(void **state)
{
  uint64_t rng = 5;
  int i;
  (void)state;
  for(i = 0; i < 500; i++) {
    int64_t d = commerce_backoff_delay(&policy, 0, 5000, &rng);
    /* the first ceiling is 1 s, so the shop's 5 s wins every time */
    assert_int_equal(d, 5000);
    d = commerce_backoff_delay(&policy, 10, 5000, &rng);
    assert_true(d >= 5000 && d <= 60000);
  }
  /* a Retry-After above the cap is still honoured */
  assert_int_equal(commerce_backoff_delay(&policy, 3, 7200000, &rng), 7200000);
  /* Retry-After: 0 is no floor at all */
  assert_true(commerce_backoff_delay(&policy, 3, 0, &rng) <= 8000);
}

static void test_huge_attempt_and_odd_policy(void **state)
{
  uint64_t rng = 1;
  const struct commerce_backoff big = {.base_ms = INT64_MAX / 4, .cap_ms = INT64_MAX / 2};
  const struct commerce_backoff odd = {.base_ms = 0, .cap_ms = -5};
  unsigned a;
  (void)state;
  for(a = 0; a < 5000; a += 97)
    assert_true(commerce_backoff_delay(&policy, a, -1, &rng) <= 60000);
  for(a = 0; a < 200; a += 3)
    assert_true(commerce_backoff_delay(&big, a, -1, &rng) <= INT64_MAX / 2);
  /* a zero or inverted policy degrades to [0, 1] ms, never a crash */
  assert_true(commerce_backoff_delay(&odd, 9, -1, &rng) <= 1);
}

static void test_retry_after_seconds(void **state)
{
  int64_t ms = -2;
  (void)state;
  assert_int_equal(commerce_parse_retry_after("120", 0, &ms), 0);
  assert_int_equal(ms, 120000);
  assert_int_equal(commerce_parse_retry_after("  3 \r\n", 0, &ms), 0);
  assert_int_equal(ms, 3000);
  assert_int_equal(commerce_parse_retry_after("0", 0, &ms), 0);
  assert_int_equal(ms, 0);
  assert_int_equal(commerce_parse_retry_after("007", 0, &ms), 0);
  assert_int_equal(ms, 7000);
  /* absurd delays are capped at 7 days */
  assert_int_equal(commerce_parse_retry_after("99999999999999999999999", 0, &ms), 0);
  assert_int_equal(ms, INT64_C(7) * 86400 * 1000);
  ms = -2;
  assert_int_equal(commerce_parse_retry_after("", 0, &ms), -1);
  assert_int_equal(commerce_parse_retry_after("-5", 0, &ms), -1);
  assert_int_equal(commerce_parse_retry_after("1.5", 0, &ms), -1);
  assert_int_equal(commerce_parse_retry_after("5s", 0, &ms), -1);
  assert_int_equal(commerce_parse_retry_after("soon", 0, &ms), -1);
  assert_int_equal(commerce_parse_retry_after(NULL, 0, &ms), -1);
  assert_int_equal(ms, -2); /* untouched on failure */
}

static void test_retry_after_http_date(void **state)
{
  /* Wed, 21 Oct 2015 07:28:00 GMT is 1445412480 */
  const int64_t t = INT64_C(1445412480) * 1000;
  int64_t ms = -2;
  (void)state;
  assert_int_equal(commerce_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", t - 30000, &ms), 0);
  assert_int_equal(ms, 30000);
  /* the obsolete RFC 850 and asctime forms (RFC 9110 5.6.7) */
  assert_int_equal(commerce_parse_retry_after("Wednesday, 21-Oct-15 07:28:00 GMT", t - 1000, &ms),
                   0);
  assert_int_equal(ms, 1000);
  assert_int_equal(commerce_parse_retry_after("Wed Oct 21 07:28:00 2015", t - 2000, &ms), 0);
  assert_int_equal(ms, 2000);
  /* a date in the past means now */
  assert_int_equal(commerce_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", t + 60000, &ms), 0);
  assert_int_equal(ms, 0);
  /* far future: capped */
  assert_int_equal(commerce_parse_retry_after("Fri, 01 Jan 2100 00:00:00 GMT", t, &ms), 0);
  assert_int_equal(ms, INT64_C(7) * 86400 * 1000);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_full_jitter_bounds),
      cmocka_unit_test(test_full_jitter_mean),
      cmocka_unit_test(test_seeded),
      cmocka_unit_test(test_retry_after_floor),
      cmocka_unit_test(test_huge_attempt_and_odd_policy),
      cmocka_unit_test(test_retry_after_seconds),
      cmocka_unit_test(test_retry_after_http_date),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
