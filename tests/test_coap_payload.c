/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CoAP payload decoding: text numbers good and bad, JSON pointers (escapes,
 * arrays, the whole document), SenML (bn + n, bv, bu/u against the point's
 * unit, the n fallback, ambiguity, vb), the size bound and invalid input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "adapters/coap_payload.h"

static struct cfg_point point(enum cfg_format fmt)
{
  struct cfg_point pt;

  memset(&pt, 0, sizeof(pt));
  pt.id = "p";
  pt.format = fmt;
  pt.scale = 1;
  pt.bit = -1;
  return pt;
}

static char err[CODEC_ERR_MAX];
static struct codec_value val;

static enum codec_err dec(const struct cfg_point *pt, const char *payload)
{
  err[0] = '\0';
  return cpay_decode(pt, payload, strlen(payload), &val, err, sizeof(err));
}

static void assert_int_value(int64_t want)
{
  assert_int_equal(val.kind, CODEC_V_INT);
  assert_true(val.v.i == want);
}

static void assert_double_value(double want)
{
  assert_int_equal(val.kind, CODEC_V_DOUBLE);
  assert_true(val.v.d == want);
}

static void test_text_good(void **state)
{
  struct cfg_point pt = point(CFG_FMT_TEXT);

  (void)state;
  assert_int_equal(dec(&pt, "21.5"), CODEC_OK);
  assert_double_value(21.5);
  assert_int_equal(dec(&pt, " \t42\r\n"), CODEC_OK);
  assert_int_value(42);
  assert_int_equal(dec(&pt, "-7"), CODEC_OK);
  assert_int_value(-7);
  assert_int_equal(dec(&pt, "+3"), CODEC_OK);
  assert_int_value(3);
  assert_int_equal(dec(&pt, "-9223372036854775808"), CODEC_OK);
  assert_int_value(INT64_MIN);
  assert_int_equal(dec(&pt, "18446744073709551615"), CODEC_OK);
  assert_int_equal(val.kind, CODEC_V_UINT);
  assert_true(val.v.u == UINT64_MAX);
  assert_int_equal(dec(&pt, "99999999999999999999999"), CODEC_OK);
  assert_double_value(1e23);
  assert_int_equal(dec(&pt, "-2.5e-3"), CODEC_OK);
  assert_double_value(-2.5e-3);
  assert_int_equal(dec(&pt, ".5"), CODEC_OK);
  assert_double_value(0.5);
  /* The payload is not NUL-terminated: only len bytes count. */
  assert_int_equal(cpay_decode(&pt, "123456", 3, &val, err, sizeof(err)), CODEC_OK);
  assert_int_value(123);
  /* Scale and offset apply to CoAP points as to Modbus ones. */
  pt.scale = 0.01;
  pt.offset = 1;
  pt.scaled = true;
  assert_int_equal(dec(&pt, "1234"), CODEC_OK);
  assert_double_value(1234 * 0.01 + 1);
}

static void test_text_bad(void **state)
{
  struct cfg_point pt = point(CFG_FMT_TEXT);
  char longbad[200];

  (void)state;
  assert_int_equal(dec(&pt, "abc"), CODEC_NOT_NUMBER);
  assert_string_equal(err, "payload is not a number: 'abc'");
  assert_int_equal(val.kind, CODEC_V_BOOL); /* zeroed */
  assert_false(val.v.b);
  assert_int_equal(dec(&pt, ""), CODEC_NOT_NUMBER);
  assert_string_equal(err, "payload is empty, not a number");
  assert_int_equal(dec(&pt, " \n"), CODEC_NOT_NUMBER);
  assert_string_equal(err, "payload is only whitespace, not a number");
  assert_int_equal(dec(&pt, "12 34"), CODEC_NOT_NUMBER);
  assert_int_equal(dec(&pt, "0x10"), CODEC_NOT_NUMBER);
  assert_int_equal(dec(&pt, "nan"), CODEC_NOT_NUMBER);
  assert_int_equal(dec(&pt, "inf"), CODEC_NOT_NUMBER);
  assert_int_equal(dec(&pt, "1e"), CODEC_NOT_NUMBER);
  assert_int_equal(dec(&pt, "true"), CODEC_NOT_NUMBER);
  assert_int_equal(dec(&pt, "21.5 bar"), CODEC_NOT_NUMBER);
  assert_string_equal(err, "payload is not a number: '21.5 bar'");
  assert_int_equal(dec(&pt, "it's"), CODEC_NOT_NUMBER);
  assert_string_equal(err, "payload is not a number: 'it\\'s'");
  assert_int_equal(dec(&pt, "1e400"), CODEC_MALFORMED);
  assert_string_equal(err, "payload number is out of range: '1e400'");
  /* Control bytes are escaped, NUL included. */
  assert_int_equal(cpay_decode(&pt, "4\0002", 3, &val, err, sizeof(err)), CODEC_NOT_NUMBER);
  assert_string_equal(err, "payload is not a number: '4\\x002'");
  /* A long payload is quoted in a bounded excerpt. */
  memset(longbad, 'x', sizeof(longbad) - 1);
  longbad[sizeof(longbad) - 1] = '\0';
  assert_int_equal(dec(&pt, longbad), CODEC_NOT_NUMBER);
  assert_string_equal(err, "payload is not a number: 'xxxxxxxxxxxxxxxxxxxxxxxx\xe2\x80\xa6'");
}

static void test_json_pointer(void **state)
{
  struct cfg_point pt = point(CFG_FMT_JSON);
  const char *doc = "{\"level\": 42, \"a\": {\"b\": [1.5, 2, {\"c\": true}]},"
                    " \"a/b\": 7, \"m~n\": -3, \"\": 9, \"s\": \"21.5\", \"z\": null}";

  (void)state;
  pt.pointer = "/level";
  assert_int_equal(dec(&pt, doc), CODEC_OK);
  assert_int_value(42);
  pt.pointer = "/a/b/0";
  assert_int_equal(dec(&pt, doc), CODEC_OK);
  assert_double_value(1.5);
  pt.pointer = "/a/b/2/c";
  assert_int_equal(dec(&pt, doc), CODEC_OK);
  assert_int_equal(val.kind, CODEC_V_BOOL);
  assert_true(val.v.b);
  pt.pointer = "/a~1b";
  assert_int_equal(dec(&pt, doc), CODEC_OK);
  assert_int_value(7);
  pt.pointer = "/m~0n";
  assert_int_equal(dec(&pt, doc), CODEC_OK);
  assert_int_value(-3);
  pt.pointer = "/";
  assert_int_equal(dec(&pt, doc), CODEC_OK);
  assert_int_value(9);
  /* The whole document, a bare number. */
  pt.pointer = "";
  assert_int_equal(dec(&pt, " 17.25 "), CODEC_OK);
  assert_double_value(17.25);
  pt.pointer = NULL;
  assert_int_equal(dec(&pt, "false"), CODEC_OK);
  assert_int_equal(val.kind, CODEC_V_BOOL);

  pt.pointer = "/s";
  assert_int_equal(dec(&pt, doc), CODEC_NOT_NUMBER);
  assert_string_equal(err, "the JSON value at '/s' is a string, not a number or bool");
  pt.pointer = "/z";
  assert_int_equal(dec(&pt, doc), CODEC_NOT_NUMBER);
  pt.pointer = "/a";
  assert_int_equal(dec(&pt, doc), CODEC_NOT_NUMBER);
  assert_string_equal(err, "the JSON value at '/a' is an object, not a number or bool");
  pt.pointer = "/a/x";
  assert_int_equal(dec(&pt, doc), CODEC_NOT_FOUND);
  assert_string_equal(err, "JSON pointer: no member 'x' in the object at '/a'");
  pt.pointer = "/a/b/3";
  assert_int_equal(dec(&pt, doc), CODEC_NOT_FOUND);
  assert_string_equal(err, "JSON pointer: index 3 is past the end of the array at '/a/b' "
                           "(3 elements)");
  pt.pointer = "/a/b/-";
  assert_int_equal(dec(&pt, doc), CODEC_NOT_FOUND);
  pt.pointer = "/a/b/01";
  assert_int_equal(dec(&pt, doc), CODEC_NOT_FOUND);
  assert_string_equal(err, "JSON pointer: '01' is not an index of the array at '/a/b'");
  pt.pointer = "/level/x";
  assert_int_equal(dec(&pt, doc), CODEC_NOT_FOUND);
  assert_string_equal(err, "JSON pointer: the value at '/level' is a number, not an object or "
                           "array");
  pt.pointer = "level";
  assert_int_equal(dec(&pt, doc), CODEC_INVALID);
  assert_string_equal(err, "invalid JSON pointer 'level': it must be empty or start with '/'");
  pt.pointer = "/a~2";
  assert_int_equal(dec(&pt, doc), CODEC_INVALID);
  assert_int_equal(cpay_pointer_check("/a~0~1/0", err, sizeof(err)), 0);
  assert_int_equal(cpay_pointer_check("/a~", err, sizeof(err)), -1);

  pt.pointer = "/level";
  assert_int_equal(dec(&pt, "{\"level\": 4"), CODEC_MALFORMED);
  assert_non_null(strstr(err, "payload is not valid JSON: "));
  assert_int_equal(dec(&pt, "{\"level\": 1, \"level\": 2}"), CODEC_MALFORMED);
  assert_int_equal(dec(&pt, "{\"level\": 99999999999999999999}"), CODEC_MALFORMED);
  assert_int_equal(dec(&pt, ""), CODEC_MALFORMED);
}

#define PACK                                                                                       \
  "[{\"bn\": \"urn:dev:ow:10e2073a01080063:\", \"bu\": \"%\", \"n\": \"cyan\", \"v\": 42},"       \
  " {\"n\": \"magenta\", \"v\": 17.5},"                                                           \
  " {\"n\": \"tank\", \"u\": \"l\", \"v\": 3},"                                                    \
  " {\"n\": \"door\", \"vb\": false},"                                                            \
  " {\"n\": \"label\", \"vs\": \"K\"},"                                                           \
  " {\"n\": \"empty\"}]"

static void test_senml(void **state)
{
  struct cfg_point pt = point(CFG_FMT_SENML);

  (void)state;
  pt.name = "urn:dev:ow:10e2073a01080063:cyan";
  pt.unit = "%";
  assert_int_equal(dec(&pt, PACK), CODEC_OK);
  assert_int_value(42);
  /* No resolved name equals "magenta": the one record with n "magenta". */
  pt.name = "magenta";
  assert_int_equal(dec(&pt, PACK), CODEC_OK);
  assert_double_value(17.5);
  /* u overrides bu. */
  pt.name = "tank";
  pt.unit = "l";
  assert_int_equal(dec(&pt, PACK), CODEC_OK);
  assert_int_value(3);
  pt.unit = NULL; /* no unit on the point: nothing to compare */
  assert_int_equal(dec(&pt, PACK), CODEC_OK);
  pt.name = "door";
  assert_int_equal(dec(&pt, PACK), CODEC_OK);
  assert_int_equal(val.kind, CODEC_V_BOOL);
  assert_false(val.v.b);

  pt.name = "label";
  assert_int_equal(dec(&pt, PACK), CODEC_NOT_NUMBER);
  assert_string_equal(err, "SenML record 'urn:dev:ow:10e2073a01080\xe2\x80\xa6' has a string "
                           "value, not a number");
  pt.name = "empty";
  assert_int_equal(dec(&pt, PACK), CODEC_NOT_NUMBER);
  assert_non_null(strstr(err, "has no value (v or vb)"));
  pt.name = "yellow";
  assert_int_equal(dec(&pt, PACK), CODEC_NOT_FOUND);
  assert_non_null(strstr(err, "no SenML record named 'yellow' (records: "));
  assert_non_null(strstr(err, " and 2 more)"));
  pt.name = NULL;
  assert_int_equal(dec(&pt, PACK), CODEC_INVALID);
}

static void test_senml_base_fields(void **state)
{
  struct cfg_point pt = point(CFG_FMT_SENML);
  const char *pack = "[{\"bn\": \"d/\", \"bv\": 100, \"n\": \"a\", \"v\": 5},"
                     " {\"n\": \"b\", \"v\": -1.5},"
                     " {\"bn\": \"e/\", \"bv\": 0.25, \"n\": \"c\", \"v\": 1}]";

  (void)state;
  pt.name = "d/a";
  assert_int_equal(dec(&pt, pack), CODEC_OK);
  assert_int_value(105);
  pt.name = "d/b"; /* bn and bv carry forward */
  assert_int_equal(dec(&pt, pack), CODEC_OK);
  assert_double_value(98.5);
  pt.name = "e/c";
  assert_int_equal(dec(&pt, pack), CODEC_OK);
  assert_double_value(1.25);
  pt.name = "d/a";
  pt.scale = 2;
  pt.scaled = true;
  assert_int_equal(dec(&pt, pack), CODEC_OK);
  assert_double_value(210);
}

static void test_senml_unit_mismatch(void **state)
{
  struct cfg_point pt = point(CFG_FMT_SENML);

  (void)state;
  pt.name = "cyan";
  pt.unit = "%";
  assert_int_equal(dec(&pt, "[{\"bu\": \"ml\", \"n\": \"cyan\", \"v\": 3}]"),
                   CODEC_UNIT_MISMATCH);
  assert_string_equal(err, "SenML record 'cyan' has unit 'ml', the point expects '%'");
  assert_int_equal(dec(&pt, "[{\"n\": \"cyan\", \"u\": \"ml\", \"v\": 3}]"), CODEC_UNIT_MISMATCH);
  assert_int_equal(dec(&pt, "[{\"bu\": \"ml\", \"n\": \"cyan\", \"u\": \"%\", \"v\": 3}]"),
                   CODEC_OK);
  /* No unit in the payload: nothing to compare. */
  assert_int_equal(dec(&pt, "[{\"n\": \"cyan\", \"v\": 3}]"), CODEC_OK);
}

static void test_senml_ambiguous(void **state)
{
  struct cfg_point pt = point(CFG_FMT_SENML);

  (void)state;
  pt.name = "cyan";
  assert_int_equal(dec(&pt, "[{\"bn\": \"a/\", \"n\": \"cyan\", \"v\": 1},"
                            " {\"bn\": \"b/\", \"n\": \"cyan\", \"v\": 2}]"),
                   CODEC_AMBIGUOUS);
  assert_string_equal(err, "ambiguous: 2 SenML records have n 'cyan' (resolved names 'a/cyan', "
                           "'b/cyan')");
  /* A resolved name wins over the n fallback: not ambiguous. */
  assert_int_equal(dec(&pt, "[{\"n\": \"cyan\", \"v\": 1}, {\"bn\": \"b/\", \"n\": \"cyan\","
                            " \"v\": 2}]"),
                   CODEC_OK);
  assert_int_value(1);
  /* Two records with the same resolved name. */
  assert_int_equal(dec(&pt, "[{\"n\": \"cyan\", \"v\": 1}, {\"n\": \"cyan\", \"v\": 2}]"),
                   CODEC_AMBIGUOUS);
  assert_string_equal(err, "ambiguous: 2 SenML records are named 'cyan'");
}

static void test_senml_invalid(void **state)
{
  struct cfg_point pt = point(CFG_FMT_SENML);

  (void)state;
  pt.name = "x";
  assert_int_equal(dec(&pt, "{\"n\": \"x\", \"v\": 1}"), CODEC_MALFORMED);
  assert_string_equal(err, "SenML payload is an object, not an array of records");
  assert_int_equal(dec(&pt, "[{\"n\": \"x\", \"v\": 1}, 5]"), CODEC_MALFORMED);
  assert_string_equal(err, "SenML record 1 is a number, not an object");
  assert_int_equal(dec(&pt, "[{\"n\": 7, \"v\": 1}]"), CODEC_MALFORMED);
  assert_int_equal(dec(&pt, "[{\"n\": \"x\", \"v\": \"1\"}]"), CODEC_MALFORMED);
  assert_int_equal(dec(&pt, "[{\"n\": \"x\", \"vb\": 1}]"), CODEC_MALFORMED);
  assert_int_equal(dec(&pt, "[{\"n\": \"x\", \"bv\": \"1\", \"v\": 1}]"), CODEC_MALFORMED);
  assert_int_equal(dec(&pt, "[{\"n\":"), CODEC_MALFORMED);
  assert_int_equal(dec(&pt, "[]"), CODEC_NOT_FOUND);
  assert_string_equal(err, "no SenML record named 'x' (no records)");
  assert_int_equal(dec(&pt, "[{\"n\": \"x\", \"v\": 1e308, \"bv\": 1e308}]"), CODEC_MALFORMED);
}

static void test_size_bound(void **state)
{
  struct cfg_point pt = point(CFG_FMT_TEXT);
  char *big = malloc(CPAY_MAX_PAYLOAD + 2);
  size_t i;

  (void)state;
  assert_non_null(big);
  /* Exactly the limit: read. */
  memset(big, ' ', CPAY_MAX_PAYLOAD);
  big[CPAY_MAX_PAYLOAD - 1] = '7';
  assert_int_equal(cpay_decode(&pt, big, CPAY_MAX_PAYLOAD, &val, err, sizeof(err)), CODEC_OK);
  assert_int_value(7);
  /* One more: refused unread. */
  big[CPAY_MAX_PAYLOAD] = ' ';
  assert_int_equal(cpay_decode(&pt, big, CPAY_MAX_PAYLOAD + 1, &val, err, sizeof(err)),
                   CODEC_TOO_LARGE);
  assert_string_equal(err, "payload of 65537 bytes is over the 65536-byte limit");
  /* Deep nesting within the bound is an error, not a crash. */
  pt = point(CFG_FMT_JSON);
  pt.pointer = "/0";
  for(i = 0; i < CPAY_MAX_PAYLOAD / 2; i++) {
    big[i] = '[';
    big[CPAY_MAX_PAYLOAD - 1 - i] = ']';
  }
  assert_int_equal(cpay_decode(&pt, big, CPAY_MAX_PAYLOAD, &val, err, sizeof(err)),
                   CODEC_MALFORMED);
  pt = point(CFG_FMT_SENML);
  pt.name = "x";
  assert_int_equal(cpay_decode(&pt, big, CPAY_MAX_PAYLOAD, &val, err, sizeof(err)),
                   CODEC_MALFORMED);
  /* Binary garbage. */
  for(i = 0; i < 4096; i++)
    big[i] = (char)(i * 37 + 11);
  assert_int_equal(cpay_decode(&pt, big, 4096, &val, err, sizeof(err)), CODEC_MALFORMED);
  pt = point(CFG_FMT_TEXT);
  assert_int_equal(cpay_decode(&pt, big, 4096, &val, err, sizeof(err)), CODEC_NOT_NUMBER);
  assert_true(strlen(err) < 160);
  free(big);
  /* NULL payload of length 0 is an empty payload. */
  assert_int_equal(cpay_decode(&pt, NULL, 0, &val, err, sizeof(err)), CODEC_NOT_NUMBER);
  /* A small error buffer is filled and terminated. */
  {
    char small[8];

    assert_int_equal(cpay_decode(&pt, "abc", 3, &val, small, sizeof(small)), CODEC_NOT_NUMBER);
    assert_string_equal(small, "payload");
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_text_good),           cmocka_unit_test(test_text_bad),
    cmocka_unit_test(test_json_pointer),        cmocka_unit_test(test_senml),
    cmocka_unit_test(test_senml_base_fields),   cmocka_unit_test(test_senml_unit_mismatch),
    cmocka_unit_test(test_senml_ambiguous),     cmocka_unit_test(test_senml_invalid),
    cmocka_unit_test(test_size_bound),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
