/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of gateway/clock: kinds, build floor, RFC 3339 formatting and parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/clock.h"

/* 2026-12-01T17:51:14Z */
#define T0 1796147474000LL

static void sleep_ms(long ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void test_real(void **state)
{
  struct rs_clock *c = clock_new_real();
  int64_t m0, m1, w;
  (void)state;
  assert_non_null(c);
  assert_int_equal(clock_kind(c), CLOCK_KIND_REAL);
  assert_true(clock_scale(c) == 1);
  m0 = clock_mono_ms(c);
  w = clock_wall_ms(c);
  /* the wall clock agrees with time(2) within a second */
  assert_true(llabs(w / 1000 - (int64_t)time(NULL)) <= 1);
  sleep_ms(30);
  m1 = clock_mono_ms(c);
  assert_true(m1 - m0 >= 29);
  assert_true(m1 - m0 < 2000);
  clock_free(c);
}

static void test_scaled(void **state)
{
  int64_t real_now = clock_real_wall_ms();
  /* anchored one real second ago at T0, scale 100: now is T0 + ~100 s */
  struct rs_clock *c = clock_new_scaled(100, T0, real_now - 1000);
  int64_t w0, w1, m0, m1, r0, r1;
  (void)state;
  assert_non_null(c);
  assert_int_equal(clock_kind(c), CLOCK_KIND_SCALED);
  assert_true(clock_scale(c) == 100);
  w0 = clock_wall_ms(c);
  assert_true(w0 >= T0 + 100000 - 200);
  assert_true(w0 < T0 + 100000 + 5000);
  m0 = clock_mono_ms(c);
  r0 = clock_real_mono_ms();
  sleep_ms(50);
  w1 = clock_wall_ms(c);
  m1 = clock_mono_ms(c);
  r1 = clock_real_mono_ms();
  /* 50 real ms are ~5 simulated seconds on both timelines */
  assert_true(w1 - w0 >= 4900);
  assert_true(w1 - w0 < 60000);
  assert_true(m1 - m0 >= 4900);
  assert_true(m1 - m0 < 60000);
  /* I/O timeouts stay on real time */
  assert_true(r1 - r0 >= 49);
  assert_true(r1 - r0 < 1000);
  clock_free(c);
}

static void test_virtual(void **state)
{
  struct rs_clock *c = clock_new_virtual(T0);
  int64_t m0;
  (void)state;
  assert_non_null(c);
  assert_int_equal(clock_kind(c), CLOCK_KIND_VIRTUAL);
  assert_int_equal(clock_wall_ms(c), T0);
  m0 = clock_mono_ms(c);
  sleep_ms(20);
  /* does not move by itself */
  assert_int_equal(clock_wall_ms(c), T0);
  assert_int_equal(clock_mono_ms(c), m0);
  clock_advance(c, 3600000);
  assert_int_equal(clock_wall_ms(c), T0 + 3600000);
  assert_int_equal(clock_mono_ms(c), m0 + 3600000);
  clock_advance(c, -5); /* ignored */
  assert_int_equal(clock_wall_ms(c), T0 + 3600000);
  clock_set_wall(c, T0 + 7200000);
  assert_int_equal(clock_wall_ms(c), T0 + 7200000);
  assert_int_equal(clock_mono_ms(c), m0 + 7200000);
  /* the wall may go back, mono never does */
  clock_set_wall(c, T0);
  assert_int_equal(clock_wall_ms(c), T0);
  assert_int_equal(clock_mono_ms(c), m0 + 7200000);
  clock_free(c);
}

static void test_sane(void **state)
{
  int64_t floor_ms = clock_build_floor_ms();
  (void)state;
  /* the floor is a real date: after 2024-01-01 and not after now */
  assert_true(floor_ms > 1704067200000LL);
  assert_true(floor_ms <= clock_real_wall_ms());
  /* at midnight UTC */
  assert_int_equal(floor_ms % 86400000, 0);
#ifdef RS_TEST_FLOOR_MS
  /* built with RESTOCK_BUILD_EPOCH: the day before it */
  assert_int_equal(floor_ms, RS_TEST_FLOOR_MS);
#endif
  assert_false(clock_wall_sane(0));          /* a board without RTC battery */
  assert_false(clock_wall_sane(86400000LL)); /* 1970-01-02 */
  assert_false(clock_wall_sane(floor_ms - 1));
  assert_true(clock_wall_sane(floor_ms));
  assert_true(clock_wall_sane(clock_real_wall_ms()));
}

static void test_format(void **state)
{
  char buf[32];
  (void)state;
  clock_format_rfc3339(T0, buf, sizeof(buf));
  assert_string_equal(buf, "2026-12-01T17:51:14Z");
  clock_format_rfc3339(T0 + 999, buf, sizeof(buf));
  assert_string_equal(buf, "2026-12-01T17:51:14Z");
  clock_format_rfc3339(0, buf, sizeof(buf));
  assert_string_equal(buf, "1970-01-01T00:00:00Z");
  clock_format_rfc3339(-1, buf, sizeof(buf));
  assert_string_equal(buf, "1969-12-31T23:59:59Z");
  clock_format_rfc3339(951782400000LL, buf, sizeof(buf)); /* leap day */
  assert_string_equal(buf, "2000-02-29T00:00:00Z");
  /* too small: empty, never a partial stamp */
  clock_format_rfc3339(T0, buf, 10);
  assert_string_equal(buf, "");
}

static void test_parse_ok(void **state)
{
  static const struct {
    const char *in;
    int64_t ms;
  } cases[] = {
      {"2026-12-01T17:51:14Z", T0},
      {"2026-12-01t17:51:14z", T0},
      {"2026-12-01 17:51:14Z", T0},
      {"2026-12-01T17:51:14.25Z", T0 + 250},
      {"2026-12-01T17:51:14.123456789Z", T0 + 123},
      {"2026-12-01T18:51:14+01:00", T0},
      {"2026-12-01T12:21:14-05:30", T0},
      {"2026-12-02T01:51:14.5+08:00", T0 + 500},
      {"1970-01-01T00:00:00Z", 0},
      {"2000-02-29T00:00:00Z", 951782400000LL},
      {"1796147474", T0},
      {"1796147474.5", T0 + 500},
      {"0", 0},
  };
  size_t i;
  (void)state;
  for(i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int64_t out = -42;
    if(clock_parse_time(cases[i].in, &out))
      fail_msg("'%s' did not parse", cases[i].in);
    if(out != cases[i].ms)
      fail_msg("'%s' -> %lld, want %lld", cases[i].in, (long long)out, (long long)cases[i].ms);
  }
}

static void test_parse_bad(void **state)
{
  static const char *const bad[] = {
      "",
      "2026-12-01",
      "2026-12-01T17:51:14",       /* no zone */
      "2026-12-01T17:51Z",         /* no seconds */
      "2026-13-01T17:51:14Z",      /* month */
      "2026-02-29T00:00:00Z",      /* not a leap year */
      "2026-12-01T24:00:00Z",      /* hour */
      "2026-12-01T17:60:00Z",      /* minute */
      "2026-12-01T17:51:14.Z",     /* empty fraction */
      "2026-12-01T17:51:14+0100",  /* offset without colon */
      "2026-12-01T17:51:14+24:00", /* offset hour */
      "2026-12-01T17:51:14Z junk", /* trailing text */
      "2026-1-01T17:51:14Z",       /* short month */
      "12abc",
      " 1796147474",
      "1796147474.",
      "1796147474.x",
      "+1796147474",
  };
  size_t i;
  (void)state;
  for(i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    int64_t out = 77;
    if(!clock_parse_time(bad[i], &out))
      fail_msg("'%s' parsed as %lld", bad[i], (long long)out);
    assert_int_equal(out, 77); /* untouched */
  }
  assert_int_equal(clock_parse_time(NULL, &(int64_t){0}), -1);
}

/* Formatting then parsing gives the same second. */
static void test_round_trip(void **state)
{
  int64_t t;
  (void)state;
  for(t = 0; t < 4102444800000LL; t += 86400000LL * 97 + 3723000) {
    char buf[32];
    int64_t back = -1;
    clock_format_rfc3339(t, buf, sizeof(buf));
    assert_int_equal(clock_parse_time(buf, &back), 0);
    assert_int_equal(back, t - t % 1000);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_real),      cmocka_unit_test(test_scaled),
      cmocka_unit_test(test_virtual),   cmocka_unit_test(test_sane),
      cmocka_unit_test(test_format),    cmocka_unit_test(test_parse_ok),
      cmocka_unit_test(test_parse_bad), cmocka_unit_test(test_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
