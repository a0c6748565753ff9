/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The commerce client's pure parts: the order body (exact canonical bytes,
 * money as strings in the currency's decimals), the classification of an
 * order POST's answer (SUBMITTED / RETRY / WAIT_AUTH / FAILED, excerpts,
 * the shop's message, Retry-After) and the GET parsers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "adapters/commerce.h"
#include "config/config.h"

static struct cfg test_cfg(void)
{
  struct cfg c;
  memset(&c, 0, sizeof(c));
  c.commerce.set = true;
  c.commerce.customer_id = "C-1042";
  c.commerce.ship_to.name = "Plant 7 stores";
  c.commerce.ship_to.street = "Hafenstra\xc3\x9f"
                              "e 1";
  c.commerce.ship_to.city = "Bremen";
  c.commerce.ship_to.postcode = "28195";
  c.commerce.ship_to.country = "DE";
  return c;
}

static void test_body_canonical(void **state)
{
  struct cfg c = test_cfg();
  const struct commerce_line lines[] = {
      {.sku = "FLT-100", .quantity = 2, .has_unit_price = true, .unit_price = 4250},
      {.sku = "INK/C+1", .quantity = 1, .has_unit_price = true, .unit_price = 5},
      {.sku = "WEAR-9", .quantity = 10},
  };
  const struct commerce_order o = {"ord-20261201-0001", "EUR", lines, 3};
  char *body = NULL, err[256];
  (void)state;
  assert_int_equal(commerce_build_body(&c, &o, &body, err, sizeof(err)), 0);
  assert_string_equal(
      body, "{\"currency\":\"EUR\",\"customer_id\":\"C-1042\",\"lines\":[{\"quantity\":2,\"sku\":"
            "\"FLT-100\",\"unit_price\":\"42.50\"},{\"quantity\":1,\"sku\":\"INK/C+1\","
            "\"unit_price\":\"0.05\"},{\"quantity\":10,\"sku\":\"WEAR-9\"}],\"reference\":"
            "\"ord-20261201-0001\",\"ship_to\":{\"city\":\"Bremen\",\"country\":\"DE\",\"name\":"
            "\"Plant 7 stores\",\"postcode\":\"28195\",\"street\":\"Hafenstra\xc3\x9f"
            "e 1\"}}");
  free(body);
}

static void test_body_jpy_no_postcode(void **state)
{
  struct cfg c = test_cfg();
  const struct commerce_line l = {
      .sku = "A", .quantity = 3, .has_unit_price = true, .unit_price = 1200};
  const struct commerce_order o = {"o1", "JPY", &l, 1};
  char *body = NULL, err[256];
  (void)state;
  c.commerce.ship_to.postcode = NULL;
  assert_int_equal(commerce_build_body(&c, &o, &body, err, sizeof(err)), 0);
  assert_non_null(strstr(body, "\"unit_price\":\"1200\""));
  assert_null(strstr(body, "postcode"));
  free(body);
}

static void test_body_refused(void **state)
{
  struct cfg c = test_cfg();
  const struct commerce_line l = {.sku = "A", .quantity = 1};
  const struct commerce_line zero = {.sku = "A", .quantity = 0};
  char long_id[80], *body = (char *)1, err[256];
  struct commerce_order o = {"o1", "XXX", &l, 1};
  (void)state;
  assert_int_equal(commerce_build_body(&c, &o, &body, err, sizeof(err)), -1);
  assert_null(body);
  assert_non_null(strstr(err, "unknown currency"));
  o.currency = "EUR";
  memset(long_id, 'a', 65);
  long_id[65] = '\0';
  o.id = long_id;
  assert_int_equal(commerce_build_body(&c, &o, &body, err, sizeof(err)), -1);
  o.id = "o1";
  o.lines = &zero;
  assert_int_equal(commerce_build_body(&c, &o, &body, err, sizeof(err)), -1);
  o.lines = &l;
  c.commerce.customer_id = NULL;
  assert_int_equal(commerce_build_body(&c, &o, &body, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "customer_id"));
}

static enum commerce_outcome cls(long status, const char *ra, const char *body,
                                 struct commerce_result *r)
{
  return commerce_classify(status, ra, INT64_C(1445412480) * 1000, body, body ? strlen(body) : 0,
                           r);
}

static void test_classify_submitted(void **state)
{
  struct commerce_result r;
  (void)state;
  assert_int_equal(cls(201, NULL, "{\"id\":\"SO-000001\",\"status\":\"accepted\"}", &r),
                   COMMERCE_SUBMITTED);
  assert_string_equal(r.shop_id, "SO-000001");
  assert_string_equal(r.shop_status, "accepted");
  assert_int_equal(r.http_status, 201);
  assert_int_equal(r.retry_after_ms, -1);
  /* a replay answers 200 with the same object */
  assert_int_equal(cls(200, NULL, "{\"status\":\"shipped\",\"id\":\"SO-1\",\"x\":[1]}", &r),
                   COMMERCE_SUBMITTED);
  assert_string_equal(r.shop_id, "SO-1");
}

static void test_classify_wrong_shapes_retry(void **state)
{
  struct commerce_result r;
  static const char *const bodies[] = {
      "{\"id\":\"SO-000001\",\"sta", /* truncated */
      "",
      "[]",
      "{\"id\":42,\"status\":\"accepted\"}",
      "{\"id\":\"SO-1\"}",
      "{\"id\":\"\",\"status\":\"accepted\"}",
      "<html>ok</html>",
      "{\"id\":\"SO 1\",\"status\":\"accepted\"}", /* not a usable id */
  };
  size_t i;
  (void)state;
  for(i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
    assert_int_equal(cls(201, NULL, bodies[i], &r), COMMERCE_RETRY);
    assert_string_equal(r.shop_id, "");
    assert_true(strlen(r.excerpt) <= COMMERCE_EXCERPT_MAX);
  }
  assert_int_equal(cls(201, NULL, NULL, &r), COMMERCE_RETRY);
}

static void test_classify_statuses(void **state)
{
  struct commerce_result r;
  static const long retry[] = {408, 409, 429, 500, 502, 503, 504, 599, 302, 100};
  static const long fail[] = {400, 404, 405, 410, 413, 415, 422, 451, 499};
  size_t i;
  (void)state;
  for(i = 0; i < sizeof(retry) / sizeof(retry[0]); i++)
    assert_int_equal(cls(retry[i], NULL, "", &r), COMMERCE_RETRY);
  for(i = 0; i < sizeof(fail) / sizeof(fail[0]); i++)
    assert_int_equal(cls(fail[i], NULL, "", &r), COMMERCE_FAILED);
  assert_int_equal(cls(401, NULL, "", &r), COMMERCE_WAIT_AUTH);
  assert_int_equal(
      cls(403, NULL, "{\"error\":{\"code\":\"forbidden\",\"message\":\"key revoked\"}}", &r),
      COMMERCE_WAIT_AUTH);
  assert_string_equal(r.message, "key revoked");
  /* a 2xx is not enough: a 201 error object is still RETRY */
  assert_int_equal(cls(201, NULL, "{\"error\":{\"code\":\"x\",\"message\":\"y\"}}", &r),
                   COMMERCE_RETRY);
}

static void test_classify_failed_keeps_message(void **state)
{
  struct commerce_result r;
  (void)state;
  assert_int_equal(cls(422, NULL,
                       "{\"error\":{\"code\":\"unknown_sku\",\"message\":"
                       "\"lines[0].sku: unknown SKU 'NOPE'\"}}",
                       &r),
                   COMMERCE_FAILED);
  assert_string_equal(r.error_code, "unknown_sku");
  assert_string_equal(r.message, "lines[0].sku: unknown SKU 'NOPE'");
  /* without the error shape the excerpt stands in */
  assert_int_equal(cls(400, NULL, "Bad\nRequest", &r), COMMERCE_FAILED);
  assert_string_equal(r.message, "HTTP 400: Bad.Request");
}

static void test_classify_excerpt(void **state)
{
  struct commerce_result r;
  char big[5000];
  (void)state;
  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  memcpy(big, "<html>\r\n\x01\xc3\xa9", 11);
  assert_int_equal(cls(502, NULL, big, &r), COMMERCE_RETRY);
  assert_int_equal(strlen(r.excerpt), COMMERCE_EXCERPT_MAX);
  assert_memory_equal(r.excerpt, "<html>...??x", 12);
}

static void test_classify_retry_after(void **state)
{
  struct commerce_result r;
  (void)state;
  assert_int_equal(cls(429, "7", "", &r), COMMERCE_RETRY);
  assert_int_equal(r.retry_after_ms, 7000);
  assert_int_equal(cls(503, "Wed, 21 Oct 2015 07:28:10 GMT", "", &r), COMMERCE_RETRY);
  assert_int_equal(r.retry_after_ms, 10000);
  assert_int_equal(cls(429, "whenever", "", &r), COMMERCE_RETRY);
  assert_int_equal(r.retry_after_ms, -1);
}

static void test_parse_order_info(void **state)
{
  struct commerce_order_info o;
  const char *b = "{\"id\":\"SO-2\",\"status\":\"shipped\",\"tracking\":\"TRK1\"}";
  (void)state;
  assert_int_equal(commerce_parse_order_info(200, NULL, 0, b, strlen(b), &o), COMMERCE_LOOKUP_OK);
  assert_int_equal(o.status, COMMERCE_ST_SHIPPED);
  assert_string_equal(o.tracking, "TRK1");
  b = "{\"id\":\"SO-2\",\"status\":\"lost\"}";
  assert_int_equal(commerce_parse_order_info(200, NULL, 0, b, strlen(b), &o), COMMERCE_LOOKUP_BAD);
  assert_string_equal(o.status_text, "lost");
  assert_int_equal(commerce_parse_order_info(404, NULL, 0, "", 0, &o), COMMERCE_LOOKUP_NONE);
  assert_int_equal(commerce_parse_order_info(503, "2", 0, "", 0, &o), COMMERCE_LOOKUP_RETRY);
  assert_int_equal(o.retry_after_ms, 2000);
  assert_int_equal(commerce_parse_order_info(200, NULL, 0, "{\"id\"", 5, &o),
                   COMMERCE_LOOKUP_RETRY);
  assert_int_equal(commerce_parse_order_info(401, NULL, 0, "", 0, &o), COMMERCE_LOOKUP_WAIT_AUTH);
}

static void test_parse_product(void **state)
{
  struct commerce_product p;
  const char *b = "{\"sku\":\"FLT-100\",\"unit_price\":\"42.5\",\"currency\":\"EUR\","
                  "\"lead_time_days\":3,\"available\":true}";
  (void)state;
  assert_int_equal(commerce_parse_product(200, NULL, 0, b, strlen(b), &p), COMMERCE_LOOKUP_OK);
  assert_int_equal(p.unit_price, 4250);
  assert_string_equal(p.currency, "EUR");
  assert_true(p.lead_time_days == 3.0);
  assert_true(p.available);
  /* money as a JSON number is refused (SPEC 9: decimal strings) */
  b = "{\"sku\":\"FLT-100\",\"unit_price\":42.5,\"currency\":\"EUR\",\"lead_time_days\":3,"
      "\"available\":true}";
  assert_int_equal(commerce_parse_product(200, NULL, 0, b, strlen(b), &p), COMMERCE_LOOKUP_BAD);
  b = "{\"sku\":\"FLT-100\",\"unit_price\":\"42.505\",\"currency\":\"EUR\",\"lead_time_days\":3,"
      "\"available\":true}";
  assert_int_equal(commerce_parse_product(200, NULL, 0, b, strlen(b), &p), COMMERCE_LOOKUP_BAD);
  assert_int_equal(commerce_parse_product(404, NULL, 0, "", 0, &p), COMMERCE_LOOKUP_NONE);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_body_canonical),
      cmocka_unit_test(test_body_jpy_no_postcode),
      cmocka_unit_test(test_body_refused),
      cmocka_unit_test(test_classify_submitted),
      cmocka_unit_test(test_classify_wrong_shapes_retry),
      cmocka_unit_test(test_classify_statuses),
      cmocka_unit_test(test_classify_failed_keeps_message),
      cmocka_unit_test(test_classify_excerpt),
      cmocka_unit_test(test_classify_retry_after),
      cmocka_unit_test(test_parse_order_info),
      cmocka_unit_test(test_parse_product),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
