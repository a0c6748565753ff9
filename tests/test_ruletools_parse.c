/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The two small languages of the rule tools: the series notation of
 * test-rules files (ruletest_cfg_expand) and the readings CSV of replay
 * (replay_csv_parse), with the exact samples, rows and messages a user sees.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/rs_util.h"
#include "config/ruletest_cfg.h"
#include "gateway/tools/replay.h"

static void expand_ok(const char *src, const double *want, size_t n_want, bool end_replace)
{
  struct ruletest_sample *v = NULL;
  size_t n = 0, off = 99, i;
  bool rep = false;
  char err[200] = "";
  assert_int_equal(ruletest_cfg_expand(src, &v, &n, &rep, err, sizeof(err), &off), 0);
  assert_int_equal(n, n_want);
  for(i = 0; i < n; i++) {
    if(isnan(want[i]))
      assert_true(isnan(v[i].value));
    else
      assert_true(fabs(v[i].value - want[i]) < 1e-9);
  }
  assert_int_equal(rep, end_replace);
  free(v);
}

static void test_expand(void **state)
{
  static const double a[] = {100, 98, 96, 94, NAN, 70, 100, 99};
  static const double b[] = {5, 5, 5, NAN, NAN, 1, 0, -2.5};
  static const double c[] = {-1, 1, 3};
  struct ruletest_sample *v = NULL;
  size_t n = 0, off = 0;
  bool rep = false;
  char err[200];
  (void)state;
  /* promtool's convention: A-BxN is N+1 samples */
  expand_ok("100-2x3 _ 70 replace 100-1x1", a, RS_ARRAY_LEN(a), false);
  expand_ok("5x2 _x2 true false -2.5", b, RS_ARRAY_LEN(b), false);
  expand_ok("-1+2x2 replace", c, RS_ARRAY_LEN(c), true);
  /* replace marks the sample after it */
  assert_int_equal(ruletest_cfg_expand("1 replace 2", &v, &n, &rep, err, sizeof(err), &off), 0);
  assert_false(v[0].replace);
  assert_true(v[1].replace);
  free(v);

  /* errors point at the token */
  assert_int_equal(ruletest_cfg_expand("1 2 banana", &v, &n, &rep, err, sizeof(err), &off), -1);
  assert_int_equal(off, 4);
  assert_non_null(strstr(err, "'banana' is not a sample"));
  assert_null(v);
  assert_int_equal(ruletest_cfg_expand("1+2xq", &v, &n, &rep, err, sizeof(err), &off), -1);
  assert_non_null(strstr(err, "the count after x"));
  assert_int_equal(ruletest_cfg_expand("1 replace replace 2", &v, &n, &rep, err, sizeof(err), &off),
                   -1);
  assert_int_equal(off, 10);
  assert_int_equal(ruletest_cfg_expand("0+1x2000000", &v, &n, &rep, err, sizeof(err), &off), -1);
}

static void test_csv_good(void **state)
{
  static const char data[] = "\xEF\xBB\xBFtime,device,point,value\r\n"
                             "2026-01-05T01:00:00Z,m1,lvl,5.5\r\n"
                             "\r\n"
                             "\"1767571200\",\"m1\",\"lvl\",\"7\"\r\n"
                             "1767571200.5,m1,btn,true\n"
                             "2026-01-05T00:00:00+01:00,m2,lvl,-1e2";
  struct replay_csv csv;
  struct rs_buf errs = {0};
  (void)state;
  assert_int_equal(replay_csv_parse("r.csv", data, sizeof(data) - 1, NULL, &csv, &errs), 0);
  assert_null(errs.data);
  assert_int_equal(csv.n_rows, 4);
  assert_int_equal(csv.n_keys, 3);
  /* time order: 2026-01-04T23:00Z (m2), 00:00:00 (m1 lvl), 00:00:00.5 (btn), 01:00 */
  assert_int_equal(csv.rows[0].time_ms, 1767571200000LL - 3600000);
  assert_int_equal(csv.rows[0].line, 6);
  assert_true(csv.rows[0].value == -100);
  assert_int_equal(csv.rows[1].time_ms, 1767571200000LL);
  assert_true(csv.rows[1].value == 7);
  assert_int_equal(csv.rows[1].line, 4);
  assert_int_equal(csv.rows[2].time_ms, 1767571200500LL);
  assert_true(csv.rows[2].value == 1);
  assert_string_equal(csv.keys[csv.rows[2].key], "m1");
  assert_string_equal(csv.keys[csv.rows[2].key] + 3, "btn");
  assert_int_equal(csv.rows[3].line, 2);
  replay_csv_free(&csv);
}

static void test_csv_bad(void **state)
{
  static const char data[] = "time,device,point,value\n"
                             "1,m1,lvl,1\n"
                             "x,m1,lvl,1\n"
                             "1,m1,lvl\n"
                             "1,m1,lvl,1,2\n"
                             "1,m1,l\"v\"l,1\n"
                             "\"1\"x,m1,lvl,1\n"
                             "1,,lvl,1\n"
                             "1,m1,lvl,nan\n"
                             "\"multi\nline\",m1,lvl,1\n"
                             "1,m1,lvl,2\n";
  struct replay_csv csv;
  struct rs_buf errs = {0};
  (void)state;
  assert_int_equal(replay_csv_parse("r.csv", data, sizeof(data) - 1, NULL, &csv, &errs), 8);
  assert_null(csv.rows);
  assert_int_equal(csv.n_errors, 8);
  assert_string_equal(
      errs.data, "r.csv:3: time 'x' is neither RFC 3339 (2026-05-01T08:00:00Z) nor Unix seconds\n"
                 "r.csv:4: expected 4 fields (time,device,point,value), found 3\n"
                 "r.csv:5: expected 4 fields (time,device,point,value), found 5\n"
                 "r.csv:6: a quote inside an unquoted field (quote the whole field and double "
                 "the quote)\n"
                 "r.csv:7: text after a closing quote\n"
                 "r.csv:8: empty device\n"
                 "r.csv:9: value 'nan' is not a number (decimal, or true/false)\n"
                 "r.csv:10: time 'multi?line' is neither RFC 3339 (2026-05-01T08:00:00Z) nor "
                 "Unix seconds\n");
  rs_buf_free(&errs);

  assert_int_equal(replay_csv_parse("e.csv", "", 0, NULL, &csv, &errs), 1);
  assert_string_equal(errs.data,
                      "e.csv:1: empty file (expected the header time,device,point,value)\n");
  rs_buf_free(&errs);
  assert_int_equal(replay_csv_parse("h.csv", "time,device,value,point\n", 24, NULL, &csv, &errs),
                   1);
  assert_string_equal(errs.data, "h.csv:1: the header must be time,device,point,value\n");
  rs_buf_free(&errs);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_expand),
      cmocka_unit_test(test_csv_good),
      cmocka_unit_test(test_csv_bad),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
