/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of rules/expr: the `when` expression compiler and evaluator. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/rs_util.h"
#include "rules/expr.h"

/* The figures every table row is evaluated against. */
static void base_vars(double v[EXPR_VAR_COUNT])
{
  v[EXPR_VAR_LEVEL_PCT] = 40;
  v[EXPR_VAR_DAYS_LEFT] = 3;
  v[EXPR_VAR_COVER_DAYS] = 10;
  v[EXPR_VAR_RATE_PER_DAY] = 2.5;
  v[EXPR_VAR_CONFIDENCE] = 0.8;
  v[EXPR_VAR_LEAD_TIME_DAYS] = 5;
  v[EXPR_VAR_SPARES] = 1;
  v[EXPR_VAR_VALUE] = -7;
  v[EXPR_VAR_HOURS_SINCE_REPLACEMENT] = 100;
  v[EXPR_VAR_OPEN_ORDERS] = 0;
  v[EXPR_VAR_ON_ORDER] = 2;
  v[EXPR_VAR_POSITION_DAYS] = 20;
}

/* Compile s (must succeed), evaluate on v, free; returns the result. */
static int run(const char *s, const double v[EXPR_VAR_COUNT])
{
  struct expr_error err;
  struct expr *e = expr_compile(s, strlen(s), &err);
  int r;
  if(!e)
    fail_msg("'%s' did not compile: %s (offset %zu)", s, err.msg, err.offset);
  r = expr_eval(e, v);
  expr_free(e);
  return r;
}

static int run_base(const char *s)
{
  double v[EXPR_VAR_COUNT];
  base_vars(v);
  return run(s, v);
}

struct row {
  const char *src;
  int want;
};

static const struct row table[] = {
    {"days_left < 5", 1},
    {"days_left > 5", 0},
    {"days_left <= 3", 1},
    {"days_left < 3", 0},
    {"days_left >= 3", 1},
    {"days_left == 3", 1},
    {"days_left != 3", 0},
    {"days_left < lead_time_days + 3 and confidence >= 0.5", 1},
    {"days_left < lead_time_days + 3 and confidence >= 0.9", 0},
    {"cover_days < lead_time_days + 2", 0},
    {"level_pct < 50 or spares > 5", 1},
    {"level_pct < 10 or spares > 5", 0},
    /* precedence: * before +, + before comparison */
    {"1 + 2 * 3 == 7", 1},
    {"(1 + 2) * 3 == 9", 1},
    {"2 * 3 + 1 == 7", 1},
    {"10 - 4 / 2 == 8", 1},
    /* associativity: left to right */
    {"10 - 4 - 3 == 3", 1},
    {"24 / 4 / 2 == 3", 1},
    {"2 - 3 - 4 == -5", 1},
    /* unary minus */
    {"-value == 7", 1},
    {"- -value == -7", 1},
    {"-2 * -3 == 6", 1},
    {"value < -6.5", 1},
    {"3 - -2 == 5", 1},
    /* and before or */
    {"1 < 2 or 1 > 2 and 1 > 2", 1},
    {"(1 < 2 or 1 > 2) and 1 > 2", 0},
    /* not binds looser than comparisons, tighter than and */
    {"not days_left < 5", 0},
    {"not days_left > 5", 1},
    {"not not days_left < 5", 1},
    {"not days_left > 5 and spares == 1", 1},
    {"not (days_left > 5 or spares == 1)", 0},
    /* functions */
    {"min(days_left, cover_days) == 3", 1},
    {"max(days_left, cover_days, 42) == 42", 1},
    {"min(5, 4, 3, 9, 7) == 3", 1},
    {"abs(value) == 7", 1},
    {"abs(-2.5) == rate_per_day", 1},
    {"max(1, 2) + min(1, 2) * 10 == 12", 1},
    /* numbers */
    {"1e3 == 1000", 1},
    {"2.5e-1 == 0.25", 1},
    {"1.5E+2 == 150", 1},
    {"0.5 < confidence", 1},
    /* inf */
    {"inf > 1e308", 1},
    {"-inf < -1e308", 1},
    {"inf == inf", 1},
    {"days_left < inf", 1},
    {"min(inf, days_left) == 3", 1},
    /* division by zero is IEEE */
    {"1 / 0 == inf", 1},
    {"-1 / 0 == -inf", 1},
    {"value / 0 < 0", 1},
    /* inf - inf is nan: every comparison false */
    {"inf - inf == 0", 0},
    {"inf - inf != 0", 0},
    {"inf - inf < 0 or inf - inf >= 0", 0},
    {"not (inf - inf == inf - inf)", 1},
    {"0 / 0 > 0", 0},
    /* whitespace, newlines, every variable */
    {"\n  days_left\t<\r\n5  ", 1},
    {"hours_since_replacement >= 100 and open_orders == 0", 1},
    {"on_order == 2 and position_days > cover_days + 9", 1},
    {"position_days < lead_time_days + 3", 0},
    {"rate_per_day * 2 == 5", 1},
};

static void test_table(void **state)
{
  size_t i;
  (void)state;
  assert_true(RS_ARRAY_LEN(table) >= 40);
  for(i = 0; i < RS_ARRAY_LEN(table); i++) {
    int got = run_base(table[i].src);
    if(got != table[i].want)
      fail_msg("'%s' gave %d, want %d", table[i].src, got, table[i].want);
  }
}

/* The same program answers differently as the figures change. */
static void test_vars_change(void **state)
{
  struct expr_error err;
  const char *s = "days_left < lead_time_days + 3 and confidence >= 0.5";
  struct expr *e = expr_compile(s, strlen(s), &err);
  double v[EXPR_VAR_COUNT];
  (void)state;
  assert_non_null(e);
  base_vars(v);
  assert_int_equal(expr_eval(e, v), 1);
  v[EXPR_VAR_DAYS_LEFT] = 8;
  assert_int_equal(expr_eval(e, v), 0);
  v[EXPR_VAR_DAYS_LEFT] = 7.999;
  assert_int_equal(expr_eval(e, v), 1);
  v[EXPR_VAR_CONFIDENCE] = 0.49;
  assert_int_equal(expr_eval(e, v), 0);
  v[EXPR_VAR_CONFIDENCE] = NAN;
  assert_int_equal(expr_eval(e, v), 0);
  v[EXPR_VAR_CONFIDENCE] = 1;
  v[EXPR_VAR_DAYS_LEFT] = INFINITY; /* not depleting */
  assert_int_equal(expr_eval(e, v), 0);
  expr_free(e);
}

static void test_nan_vars(void **state)
{
  double v[EXPR_VAR_COUNT];
  (void)state;
  base_vars(v);
  v[EXPR_VAR_VALUE] = NAN;
  assert_int_equal(run("value < 1", v), 0);
  assert_int_equal(run("value >= 1", v), 0);
  assert_int_equal(run("value == value", v), 0);
  assert_int_equal(run("value != 1", v), 0);
  assert_int_equal(run("not value < 1", v), 1);
  /* min/max keep a nan instead of dropping it */
  assert_int_equal(run("min(value, 1) < 2", v), 0);
  assert_int_equal(run("max(value, 1) >= 1", v), 0);
  assert_int_equal(run("abs(value) >= 0", v), 0);
}

static void test_vars_used(void **state)
{
  struct expr_error err;
  const char *s = "days_left < lead_time_days and not spares > 0 or days_left > 1";
  struct expr *e = expr_compile(s, strlen(s), &err);
  (void)state;
  assert_non_null(e);
  assert_int_equal(expr_vars_used(e), (1u << EXPR_VAR_DAYS_LEFT) | (1u << EXPR_VAR_LEAD_TIME_DAYS) |
                                          (1u << EXPR_VAR_SPARES));
  expr_free(e);
  s = "1 < 2";
  e = expr_compile(s, strlen(s), &err);
  assert_non_null(e);
  assert_int_equal(expr_vars_used(e), 0);
  expr_free(e);
}

static void test_var_names(void **state)
{
  size_t i;
  (void)state;
  assert_string_equal(expr_var_name(EXPR_VAR_LEVEL_PCT), "level_pct");
  assert_string_equal(expr_var_name(EXPR_VAR_HOURS_SINCE_REPLACEMENT), "hours_since_replacement");
  assert_string_equal(expr_var_name(EXPR_VAR_OPEN_ORDERS), "open_orders");
  for(i = 0; i < EXPR_VAR_COUNT; i++)
    assert_string_equal(expr_var_names[i], expr_var_name((enum expr_var)i));
  assert_null(expr_var_names[EXPR_VAR_COUNT]);
}

/* Only len bytes are read: the rest of the buffer is not part of the source. */
static void test_len_bound(void **state)
{
  const char *s = "days_left < 5 and garbage(";
  struct expr_error err;
  struct expr *e;
  double v[EXPR_VAR_COUNT];
  char *exact;
  (void)state;
  base_vars(v);
  e = expr_compile(s, strlen("days_left < 5"), &err);
  assert_non_null(e);
  assert_int_equal(expr_eval(e, v), 1);
  expr_free(e);
  /* a buffer with no NUL at all, exactly len long, under ASan */
  exact = malloc(13);
  assert_non_null(exact);
  memcpy(exact, "days_left < 5", 13);
  e = expr_compile(exact, 13, &err);
  assert_non_null(e);
  expr_free(e);
  memcpy(exact, "days_left < 1", 13);
  e = expr_compile(exact, 12, &err); /* "days_left < " */
  assert_null(e);
  assert_int_equal(err.offset, 12);
  free(exact);
}

struct bad {
  const char *src;
  size_t offset;
  const char *msg;
};

static const struct bad bads[] = {
    {"dayz_left < 5", 0, "unknown variable 'dayz_left' (did you mean 'days_left'?)"},
    {"days_left < lead_tme_days", 12,
     "unknown variable 'lead_tme_days' (did you mean 'lead_time_days'?)"},
    {"foo < 1", 0,
     "unknown variable 'foo' (variables are level_pct, days_left, cover_days, rate_per_day, "
     "confidence, lead_time_days, spares, value, hours_since_replacement, open_orders, "
     "on_order, position_days, days_left_p10, days_left_p90, cover_days_p10, cover_days_p90, "
     "runout_risk)"},
    {"mn(days_left, 2) < 1", 0, "unknown function 'mn' (did you mean 'min'?)"},
    {"log (days_left) < 1", 0, "unknown function 'log' (functions are min, max and abs)"},
    {"days_left", 0, "expression is a number, not a condition (compare it, e.g. 'days_left < 5')"},
    {"  (days_left + 1)", 2,
     "expression is a number, not a condition (compare it, e.g. 'days_left < 5')"},
    {"", 0, "empty expression (expected a condition, e.g. 'days_left < 5')"},
    {"  \n ", 4, "empty expression (expected a condition, e.g. 'days_left < 5')"},
    {"abs(1, 2) < 3", 0, "abs() takes exactly 1 argument, got 2"},
    {"1 < abs()", 4, "abs() takes exactly 1 argument, got none"},
    {"min(days_left) < 3", 0, "min() takes at least 2 arguments, got 1"},
    {"1 < max()", 4, "max() takes at least 2 arguments, got none"},
    {"min < 3", 4, "unexpected '<' (expected '(' after a function name)"},
    {"days_left < ", 12, "unexpected end of expression (expected a number, a variable or '(')"},
    {"days_left < * 3", 12, "unexpected '*' (expected a number, a variable or '(')"},
    {"(days_left < 5", 0, "unterminated parenthesis: '(' at offset 0 is never closed"},
    {"1 < min(2, 3", 4, "unterminated parenthesis: '(' of min() is never closed"},
    {"(days_left < 5 spares", 15, "unexpected 'spares' (expected an operator or ')')"},
    {"min(1 2) < 3", 6, "unexpected '2' (expected an operator, ',' or ')')"},
    {"days_left < 5 spares", 14,
     "unexpected 'spares' after a complete expression (expected an operator, 'and', 'or' or the "
     "end)"},
    {"days_left < 5)", 13, "unexpected ')' (no matching '(')"},
    {"1 < 2 < 3", 6, "comparisons do not chain (write 'a < b and b < c')"},
    {"days_left = 3", 10, "unexpected '=' (use '==' to compare)"},
    {"days_left < 3 && spares > 0", 14, "unexpected '&&' (use 'and')"},
    {"days_left < 3 || spares > 0", 14, "unexpected '||' (use 'or')"},
    {"!(days_left < 3)", 0, "unexpected '!' (use 'not')"},
    {"days_left < 3 $", 14, "unexpected character '$'"},
    {"days_left < \xc3\xa9", 12, "unexpected byte 0xc3"},
    {"hours_since_replacement > 24h", 26,
     "malformed number '24h' (numbers are plain decimals such as 2, 0.5 or 1e3; units are not "
     "allowed)"},
    {"days_left < 1.", 12, "malformed number '1.' (expected digits after '.')"},
    {"days_left < .5", 12, "malformed number (write a digit before '.', e.g. '0.5')"},
    {"days_left < 1e999", 12, "number '1e999' is out of range"},
    {"days_left and spares > 1", 0,
     "'and' needs conditions, but its left side is a number (compare it, e.g. 'days_left < 5')"},
    {"spares > 1 or days_left", 14,
     "'or' needs conditions, but its right side is a number (compare it, e.g. 'days_left < 5')"},
    {"not days_left", 4,
     "'not' needs conditions, but its operand is a number (compare it, e.g. 'days_left < 5')"},
    {"(1 < 2) + 1 > 0", 0, "'+' needs numbers, but its left side is a condition"},
    {"1 > 2 * (1 < 2)", 8, "'*' needs numbers, but its right side is a condition"},
    {"(1 < 2) == (2 < 1)", 0, "'==' needs numbers, but its left side is a condition"},
    {"-(1 < 2) < 0", 1, "unary '-' needs numbers, but its operand is a condition"},
    {"max(1, (2 < 3)) < 5", 7, "max() needs numbers, but its argument is a condition"},
    {"() < 1", 1, "empty parentheses (expected an expression inside '(' ')')"},
    {"1 < not 2", 4, "unexpected 'not' (expected a number, a variable or '(')"},
    {"days_left < 5 and", 17,
     "unexpected end of expression (expected a number, a variable or '(')"},
};

static void test_errors(void **state)
{
  size_t i;
  (void)state;
  for(i = 0; i < RS_ARRAY_LEN(bads); i++) {
    struct expr_error err;
    struct expr *e = expr_compile(bads[i].src, strlen(bads[i].src), &err);
    if(e) {
      expr_free(e);
      fail_msg("'%s' compiled, want error '%s'", bads[i].src, bads[i].msg);
    }
    if(strcmp(err.msg, bads[i].msg) || err.offset != bads[i].offset)
      fail_msg("'%s':\n  got  %zu: %s\n  want %zu: %s", bads[i].src, err.offset, err.msg,
               bads[i].offset, bads[i].msg);
  }
}

/* Build "(((...(1 < 2)...)))" with n parentheses. */
static char *nested_parens(int n)
{
  struct rs_buf b = {0};
  int i;
  for(i = 0; i < n; i++)
    rs_buf_puts(&b, "(");
  rs_buf_puts(&b, "1 < 2");
  for(i = 0; i < n; i++)
    rs_buf_puts(&b, ")");
  return b.data;
}

static void test_deep_nesting(void **state)
{
  struct expr_error err;
  struct expr *e;
  char *s;
  struct rs_buf b = {0};
  int i;
  (void)state;

  s = nested_parens(64);
  e = expr_compile(s, strlen(s), &err);
  assert_non_null(e);
  assert_int_equal(expr_eval(e, (double[EXPR_VAR_COUNT]){0}), 1);
  expr_free(e);
  FREE_NULL(s);

  s = nested_parens(65);
  e = expr_compile(s, strlen(s), &err);
  assert_null(e);
  assert_string_equal(err.msg, "expression nests deeper than 64 levels");
  assert_int_equal(err.offset, 64);
  FREE_NULL(s);

  /* a chain of unary minus nests too, and must not blow the C stack */
  for(i = 0; i < 2000; i++)
    rs_buf_puts(&b, "-");
  rs_buf_puts(&b, "1 < 0");
  e = expr_compile(b.data, b.len, &err);
  assert_null(e);
  assert_string_equal(err.msg, "expression nests deeper than 64 levels");
  assert_int_equal(err.offset, 64);
  rs_buf_free(&b);

  memset(&b, 0, sizeof(b));
  for(i = 0; i < 100; i++)
    rs_buf_puts(&b, "not ");
  rs_buf_puts(&b, "1 < 0");
  e = expr_compile(b.data, b.len, &err);
  assert_null(e);
  assert_string_equal(err.msg, "expression nests deeper than 64 levels");
  assert_int_equal(err.offset, 64 * 4);
  rs_buf_free(&b);

  /* an even number of nots within the limit evaluates */
  memset(&b, 0, sizeof(b));
  for(i = 0; i < 64; i++)
    rs_buf_puts(&b, "not ");
  rs_buf_puts(&b, "1 < 0");
  e = expr_compile(b.data, b.len, &err);
  assert_non_null(e);
  assert_int_equal(expr_eval(e, (double[EXPR_VAR_COUNT]){0}), 0);
  expr_free(e);
  rs_buf_free(&b);
}

/* Wide but shallow expressions are fine up to the size limit. */
static void test_size_limit(void **state)
{
  struct expr_error err;
  struct expr *e;
  struct rs_buf b = {0};
  double v[EXPR_VAR_COUNT];
  (void)state;
  base_vars(v);

  rs_buf_puts(&b, "0");
  while(b.len + 4 + 8 <= 4096)
    rs_buf_puts(&b, " + 1");
  rs_buf_printf(&b, " > %zu", (b.len - 1) / 4 - 1);
  assert_true(b.len <= 4096);
  e = expr_compile(b.data, b.len, &err);
  if(!e)
    fail_msg("%s at %zu", err.msg, err.offset);
  assert_int_equal(expr_eval(e, v), 1);
  expr_free(e);
  rs_buf_free(&b);

  memset(&b, 0, sizeof(b));
  rs_buf_puts(&b, "days_left < 5");
  while(b.len <= 4096)
    rs_buf_puts(&b, " ");
  assert_int_equal(b.len, 4097);
  e = expr_compile(b.data, b.len, &err);
  assert_null(e);
  assert_string_equal(err.msg, "expression is 4097 bytes long (at most 4096 allowed)");
  assert_int_equal(err.offset, 4096);
  rs_buf_free(&b);
}

/* Many min() arguments and long and-chains keep a small stack. */
static void test_wide(void **state)
{
  struct expr_error err;
  struct expr *e;
  struct rs_buf b = {0};
  int i;
  double v[EXPR_VAR_COUNT];
  (void)state;
  base_vars(v);

  rs_buf_puts(&b, "min(100");
  for(i = 0; i < 300; i++)
    rs_buf_printf(&b, ", %d", 500 - i);
  rs_buf_puts(&b, ") == 100");
  e = expr_compile(b.data, b.len, &err);
  assert_non_null(e);
  assert_int_equal(expr_eval(e, v), 1);
  expr_free(e);
  rs_buf_free(&b);

  memset(&b, 0, sizeof(b));
  rs_buf_puts(&b, "spares == 1");
  for(i = 0; i < 200; i++)
    rs_buf_puts(&b, " and 1<2");
  e = expr_compile(b.data, b.len, &err);
  assert_non_null(e);
  assert_int_equal(expr_eval(e, v), 1);
  v[EXPR_VAR_SPARES] = 0;
  assert_int_equal(expr_eval(e, v), 0);
  expr_free(e);
  rs_buf_free(&b);
}

static void test_null_args(void **state)
{
  struct expr_error err;
  struct expr *e;
  (void)state;
  e = expr_compile(NULL, 0, &err);
  assert_null(e);
  assert_string_equal(err.msg, "empty expression (expected a condition, e.g. 'days_left < 5')");
  /* err may be NULL */
  e = expr_compile("days_left", 9, NULL);
  assert_null(e);
  e = expr_compile("days_left < 1", 13, NULL);
  assert_non_null(e);
  expr_free(e);
  expr_free(NULL);
  assert_int_equal(expr_eval(NULL, (double[EXPR_VAR_COUNT]){0}), 0);
  assert_int_equal(expr_vars_used(NULL), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table),      cmocka_unit_test(test_vars_change),
      cmocka_unit_test(test_nan_vars),   cmocka_unit_test(test_vars_used),
      cmocka_unit_test(test_var_names),  cmocka_unit_test(test_len_bound),
      cmocka_unit_test(test_errors),     cmocka_unit_test(test_deep_nesting),
      cmocka_unit_test(test_size_limit), cmocka_unit_test(test_wide),
      cmocka_unit_test(test_null_args),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
