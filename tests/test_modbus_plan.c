/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Modbus request planner: merging within max_gap and not beyond, the
 * max_registers split, single_reads, one request list per table, wide
 * points, unsorted input, unplannable points, and the --plan text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "adapters/modbus_plan.h"

#define MAXP 64

struct fixture {
  struct cfg_point pts[MAXP];
  size_t n;
  struct mbplan_opts opts;
  struct mbplan plan;
  struct rs_buf text;
  char err[256];
};

static struct fixture fx;

static int setup(void **state)
{
  (void)state;
  memset(&fx, 0, sizeof(fx));
  fx.opts.unit_id = 1;
  fx.opts.max_gap = 8;
  fx.opts.max_registers = 125;
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  mbplan_free(&fx.plan);
  rs_buf_free(&fx.text);
  return 0;
}

static void add(const char *id, enum cfg_regtable table, unsigned address, enum cfg_vtype type)
{
  struct cfg_point *p = &fx.pts[fx.n++];

  assert_true(fx.n <= MAXP);
  p->id = id;
  p->table = table;
  p->address = (uint16_t)address;
  p->type = type;
  p->bit = -1;
  p->scale = 1;
}

/* Plan fx.pts; returns the build result and leaves the text in fx.text.data. */
static int plan(void)
{
  int rc;

  mbplan_free(&fx.plan);
  rs_buf_free(&fx.text);
  rc = mbplan_build_points(fx.pts, fx.n, &fx.opts, &fx.plan, fx.err, sizeof(fx.err));
  mbplan_format(&fx.plan, fx.pts, &fx.text);
  assert_false(fx.text.oom);
  return rc;
}

static const char *text(void)
{
  return fx.text.data ? fx.text.data : "";
}

static void test_merge_within_gap(void **state)
{
  (void)state;
  add("filter_dp", CFG_REG_HOLDING, 100, CFG_VT_UINT16);
  add("hose_hours", CFG_REG_HOLDING, 104, CFG_VT_FLOAT32);
  assert_int_equal(plan(), 0);
  assert_int_equal(fx.plan.n_reqs, 1);
  assert_int_equal(fx.plan.reqs[0].table, CFG_REG_HOLDING);
  assert_int_equal(fx.plan.reqs[0].start, 100);
  assert_int_equal(fx.plan.reqs[0].count, 6);
  assert_int_equal(fx.plan.reqs[0].n_items, 2);
  assert_int_equal(fx.plan.reqs[0].items[0].point, 0);
  assert_int_equal(fx.plan.reqs[0].items[0].offset, 0);
  assert_int_equal(fx.plan.reqs[0].items[1].point, 1);
  assert_int_equal(fx.plan.reqs[0].items[1].offset, 4);
  assert_int_equal(fx.plan.reqs[0].items[1].width, 2);
  assert_string_equal(text(), "holding 100..105 (6 registers): filter_dp@100 hose_hours@104\n");
}

static void test_gap_boundary(void **state)
{
  (void)state;
  /* 101..108 unrequested: exactly max_gap (8), merged. */
  add("a", CFG_REG_HOLDING, 100, CFG_VT_UINT16);
  add("b", CFG_REG_HOLDING, 109, CFG_VT_UINT16);
  /* 110..118 unrequested after b: 9, a new request. */
  add("c", CFG_REG_HOLDING, 119, CFG_VT_UINT16);
  assert_int_equal(plan(), 0);
  assert_string_equal(text(), "holding 100..109 (10 registers): a@100 b@109\n"
                              "holding 119..119 (1 register): c@119\n");

  /* max_gap 0 merges adjacent points only. */
  fx.opts.max_gap = 0;
  fx.n = 0;
  add("a", CFG_REG_INPUT, 0, CFG_VT_UINT32);
  add("b", CFG_REG_INPUT, 2, CFG_VT_INT16);
  add("c", CFG_REG_INPUT, 4, CFG_VT_INT16);
  assert_int_equal(plan(), 0);
  assert_string_equal(text(), "input 0..2 (3 registers): a@0 b@2\n"
                              "input 4..4 (1 register): c@4\n");
}

static void test_max_registers_split(void **state)
{
  (void)state;
  fx.opts.max_registers = 10;
  add("a", CFG_REG_HOLDING, 0, CFG_VT_UINT16);
  add("b", CFG_REG_HOLDING, 9, CFG_VT_UINT16); /* ends at 9: 10 registers, fits */
  add("c", CFG_REG_HOLDING, 10, CFG_VT_UINT16); /* would be 11 */
  add("d", CFG_REG_HOLDING, 18, CFG_VT_FLOAT32); /* 10..19 fits again */
  add("e", CFG_REG_HOLDING, 19, CFG_VT_UINT16); /* overlaps d: no growth */
  add("f", CFG_REG_HOLDING, 20, CFG_VT_UINT16); /* 10..20 is 11 */
  assert_int_equal(plan(), 0);
  assert_string_equal(text(), "holding 0..9 (10 registers): a@0 b@9\n"
                              "holding 10..19 (10 registers): c@10 d@18 e@19\n"
                              "holding 20..20 (1 register): f@20\n");
  {
    size_t i;

    for(i = 0; i < fx.plan.n_reqs; i++)
      assert_true(fx.plan.reqs[i].count <= 10);
  }

  /* More than the protocol's 125 is taken as 125. */
  fx.opts.max_registers = 1000;
  fx.opts.max_gap = 1000;
  fx.n = 0;
  add("a", CFG_REG_HOLDING, 0, CFG_VT_UINT16);
  add("b", CFG_REG_HOLDING, 124, CFG_VT_UINT16);
  add("c", CFG_REG_HOLDING, 125, CFG_VT_UINT16);
  assert_int_equal(plan(), 0);
  assert_int_equal(fx.plan.n_reqs, 2);
  assert_int_equal(fx.plan.reqs[0].count, 125);
  assert_int_equal(fx.plan.reqs[1].start, 125);
}

static void test_single_reads(void **state)
{
  (void)state;
  fx.opts.single_reads = true;
  add("a", CFG_REG_HOLDING, 10, CFG_VT_UINT16);
  add("b", CFG_REG_HOLDING, 11, CFG_VT_FLOAT64);
  add("c", CFG_REG_HOLDING, 15, CFG_VT_INT32);
  add("d", CFG_REG_COIL, 3, CFG_VT_BOOL);
  assert_int_equal(plan(), 0);
  assert_string_equal(text(), "coil 3..3 (1 bit): d@3\n"
                              "holding 10..10 (1 register): a@10\n"
                              "holding 11..14 (4 registers): b@11\n"
                              "holding 15..16 (2 registers): c@15\n");
}

static void test_separate_tables(void **state)
{
  (void)state;
  add("h", CFG_REG_HOLDING, 0, CFG_VT_UINT16);
  add("i", CFG_REG_INPUT, 1, CFG_VT_UINT16);
  add("c", CFG_REG_COIL, 0, CFG_VT_BOOL);
  add("d", CFG_REG_DISCRETE, 1, CFG_VT_BOOL);
  add("h2", CFG_REG_HOLDING, 1, CFG_VT_UINT16);
  assert_int_equal(plan(), 0);
  assert_string_equal(text(), "coil 0..0 (1 bit): c@0\n"
                              "discrete 1..1 (1 bit): d@1\n"
                              "input 1..1 (1 register): i@1\n"
                              "holding 0..1 (2 registers): h@0 h2@1\n");
}

static void test_wide_points(void **state)
{
  (void)state;
  add("f64", CFG_REG_INPUT, 10, CFG_VT_FLOAT64);
  add("i64", CFG_REG_INPUT, 14, CFG_VT_INT64);
  add("u64", CFG_REG_INPUT, 26, CFG_VT_UINT64); /* 18..25 unrequested: 8 */
  assert_int_equal(plan(), 0);
  assert_int_equal(fx.plan.n_reqs, 1);
  assert_int_equal(fx.plan.reqs[0].start, 10);
  assert_int_equal(fx.plan.reqs[0].count, 20);
  assert_int_equal(fx.plan.reqs[0].items[1].offset, 4);
  assert_int_equal(fx.plan.reqs[0].items[2].offset, 16);
  assert_int_equal(fx.plan.reqs[0].items[2].width, 4);

  /* A point wider than max_registers is left out, the others planned. */
  fx.opts.max_registers = 2;
  fx.n = 0;
  add("ok", CFG_REG_HOLDING, 0, CFG_VT_FLOAT32);
  add("big", CFG_REG_HOLDING, 2, CFG_VT_FLOAT64);
  add("edge", CFG_REG_HOLDING, 65535, CFG_VT_UINT32);
  add("last", CFG_REG_HOLDING, 65535, CFG_VT_UINT16);
  add("coil", CFG_REG_COIL, 0, CFG_VT_FLOAT32);
  assert_int_equal(plan(), -1);
  assert_string_equal(fx.err, "point 'big' cannot be read: float64 needs 4 registers, "
                              "max_registers is 2");
  assert_int_equal(fx.plan.n_unplanned, 3);
  assert_string_equal(text(), "holding 0..1 (2 registers): ok@0\n"
                              "holding 65535..65535 (1 register): last@65535\n"
                              "unplanned: big@2 (float64 needs 4 registers, max_registers is 2)\n"
                              "unplanned: edge@65535 (uint32 at 65535 runs past address 65535)\n"
                              "unplanned: coil@0 (coil points must be bool, not float32)\n");
}

static void test_unsorted_input(void **state)
{
  char first[512];

  (void)state;
  fx.opts.max_gap = 20;
  add("z", CFG_REG_HOLDING, 50, CFG_VT_UINT16);
  add("x", CFG_REG_HOLDING, 10, CFG_VT_UINT16);
  add("y", CFG_REG_HOLDING, 30, CFG_VT_INT32);
  add("w", CFG_REG_HOLDING, 200, CFG_VT_UINT16);
  assert_int_equal(plan(), 0);
  assert_string_equal(text(), "holding 10..50 (41 registers): x@10 y@30 z@50\n"
                              "holding 200..200 (1 register): w@200\n");
  /* Items name the caller's indexes. */
  assert_int_equal(fx.plan.reqs[0].items[0].point, 1);
  assert_int_equal(fx.plan.reqs[0].items[1].point, 2);
  assert_int_equal(fx.plan.reqs[0].items[2].point, 0);
  assert_int_equal(fx.plan.reqs[1].items[0].point, 3);
  rs_strlcpy(first, text(), sizeof(first));

  /* Any order of the same points gives the same plan. */
  fx.n = 0;
  add("w", CFG_REG_HOLDING, 200, CFG_VT_UINT16);
  add("y", CFG_REG_HOLDING, 30, CFG_VT_INT32);
  add("x", CFG_REG_HOLDING, 10, CFG_VT_UINT16);
  add("z", CFG_REG_HOLDING, 50, CFG_VT_UINT16);
  assert_int_equal(plan(), 0);
  assert_string_equal(text(), first);
}

static void test_shared_register_bits(void **state)
{
  (void)state;
  add("word", CFG_REG_HOLDING, 7, CFG_VT_UINT16);
  add("alarm", CFG_REG_HOLDING, 7, CFG_VT_BOOL);
  fx.pts[1].bit = 3;
  add("ready", CFG_REG_HOLDING, 7, CFG_VT_BOOL);
  fx.pts[2].bit = 0;
  assert_int_equal(plan(), 0);
  assert_int_equal(fx.plan.n_reqs, 1);
  assert_int_equal(fx.plan.reqs[0].count, 1);
  assert_int_equal(fx.plan.reqs[0].n_items, 3);
  assert_string_equal(text(), "holding 7..7 (1 register): word@7 alarm@7 ready@7\n");
}

static void test_bits_limit(void **state)
{
  (void)state;
  /* Default max_registers 125: 125 x 16 = 2000 bits, the FC 1 maximum. */
  fx.opts.max_gap = 5000;
  add("c0", CFG_REG_COIL, 0, CFG_VT_BOOL);
  add("c1999", CFG_REG_COIL, 1999, CFG_VT_BOOL);
  add("c2000", CFG_REG_COIL, 2000, CFG_VT_BOOL);
  assert_int_equal(plan(), 0);
  assert_string_equal(text(), "coil 0..1999 (2000 bits): c0@0 c1999@1999\n"
                              "coil 2000..2000 (1 bit): c2000@2000\n");

  /* max_registers 10 allows 160 bits, the same reply size. */
  fx.opts.max_registers = 10;
  fx.n = 0;
  add("d0", CFG_REG_DISCRETE, 0, CFG_VT_BOOL);
  add("d159", CFG_REG_DISCRETE, 159, CFG_VT_BOOL);
  add("d160", CFG_REG_DISCRETE, 160, CFG_VT_BOOL);
  assert_int_equal(plan(), 0);
  assert_string_equal(text(), "discrete 0..159 (160 bits): d0@0 d159@159\n"
                              "discrete 160..160 (1 bit): d160@160\n");
}

static void test_device(void **state)
{
  struct cfg_device dev;

  (void)state;
  memset(&dev, 0, sizeof(dev));
  add("a", CFG_REG_HOLDING, 0, CFG_VT_UINT16);
  add("b", CFG_REG_HOLDING, 3, CFG_VT_UINT16);
  dev.id = "press-01";
  dev.transport = CFG_TR_MODBUS_TCP;
  dev.unit_id = 17;
  dev.max_gap = 1;
  dev.max_registers = 125;
  dev.points = fx.pts;
  dev.n_points = fx.n;
  assert_int_equal(mbplan_build(&dev, &fx.plan, fx.err, sizeof(fx.err)), 0);
  assert_int_equal(fx.plan.n_reqs, 2); /* two unrequested registers > max_gap 1 */
  assert_int_equal(fx.plan.reqs[0].unit_id, 17);
  assert_int_equal(fx.plan.reqs[1].unit_id, 17);
  mbplan_free(&fx.plan);
  dev.max_gap = 2;
  assert_int_equal(mbplan_build(&dev, &fx.plan, fx.err, sizeof(fx.err)), 0);
  assert_int_equal(fx.plan.n_reqs, 1);
  mbplan_free(&fx.plan);
  dev.single_reads = true;
  assert_int_equal(mbplan_build(&dev, &fx.plan, fx.err, sizeof(fx.err)), 0);
  assert_int_equal(fx.plan.n_reqs, 2);
  mbplan_free(&fx.plan);
  dev.transport = CFG_TR_COAP;
  assert_int_equal(mbplan_build(&dev, &fx.plan, fx.err, sizeof(fx.err)), 0);
  assert_int_equal(fx.plan.n_reqs, 0);
  /* No points: an empty plan. */
  fx.n = 0;
  assert_int_equal(plan(), 0);
  assert_int_equal(fx.plan.n_reqs, 0);
  assert_string_equal(text(), "");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_merge_within_gap, setup, teardown),
    cmocka_unit_test_setup_teardown(test_gap_boundary, setup, teardown),
    cmocka_unit_test_setup_teardown(test_max_registers_split, setup, teardown),
    cmocka_unit_test_setup_teardown(test_single_reads, setup, teardown),
    cmocka_unit_test_setup_teardown(test_separate_tables, setup, teardown),
    cmocka_unit_test_setup_teardown(test_wide_points, setup, teardown),
    cmocka_unit_test_setup_teardown(test_unsorted_input, setup, teardown),
    cmocka_unit_test_setup_teardown(test_shared_register_bits, setup, teardown),
    cmocka_unit_test_setup_teardown(test_bits_limit, setup, teardown),
    cmocka_unit_test_setup_teardown(test_device, setup, teardown),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
