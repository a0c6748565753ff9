/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Modbus value codec: every type in every byte order against byte patterns
 * computed independently (Python struct.pack), encode/decode round trips,
 * scale and offset, bits, NaN refusal, integer boundaries, the formatter.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "adapters/modbus_codec.h"
#include "base/rs_util.h"

struct pattern {
  enum cfg_vtype type;
  enum cfg_endian endian;
  uint16_t regs[4];
  struct codec_value want;
};

#define VI(x) {.kind = CODEC_V_INT, .v.i = (x)}
#define VU(x) {.kind = CODEC_V_UINT, .v.u = (x)}
#define VD(x) {.kind = CODEC_V_DOUBLE, .v.d = (x)}

/*
 * 123.456 as float32 is 0x42f6e979 (exactly 123.45600128173828), as float64
 * 0x405edd2f1a9fbe77. A float32 decodes to its shortest decimal, 123.456.
 */
#define F32_123 123.456
static const struct pattern patterns[] = {
  {CFG_VT_INT16, CFG_END_ABCD, {0x1234}, VI(0x1234)},
  {CFG_VT_INT16, CFG_END_DCBA, {0x3412}, VI(0x1234)},
  {CFG_VT_INT16, CFG_END_BADC, {0x3412}, VI(0x1234)},
  {CFG_VT_INT16, CFG_END_CDAB, {0x1234}, VI(0x1234)},
  {CFG_VT_INT16, CFG_END_ABCD, {0xfffe}, VI(-2)},
  {CFG_VT_INT16, CFG_END_BADC, {0xfeff}, VI(-2)},
  {CFG_VT_UINT16, CFG_END_ABCD, {0xa1b2}, VU(0xa1b2)},
  {CFG_VT_UINT16, CFG_END_DCBA, {0xb2a1}, VU(0xa1b2)},
  {CFG_VT_UINT16, CFG_END_BADC, {0xb2a1}, VU(0xa1b2)},
  {CFG_VT_UINT16, CFG_END_CDAB, {0xa1b2}, VU(0xa1b2)},
  {CFG_VT_INT32, CFG_END_ABCD, {0x0102, 0x0304}, VI(0x01020304)},
  {CFG_VT_INT32, CFG_END_DCBA, {0x0403, 0x0201}, VI(0x01020304)},
  {CFG_VT_INT32, CFG_END_BADC, {0x0201, 0x0403}, VI(0x01020304)},
  {CFG_VT_INT32, CFG_END_CDAB, {0x0304, 0x0102}, VI(0x01020304)},
  {CFG_VT_INT32, CFG_END_CDAB, {0xfffe, 0xffff}, VI(-2)},
  {CFG_VT_UINT32, CFG_END_ABCD, {0xf1e2, 0xd3c4}, VU(0xf1e2d3c4u)},
  {CFG_VT_UINT32, CFG_END_DCBA, {0xc4d3, 0xe2f1}, VU(0xf1e2d3c4u)},
  {CFG_VT_UINT32, CFG_END_BADC, {0xe2f1, 0xc4d3}, VU(0xf1e2d3c4u)},
  {CFG_VT_UINT32, CFG_END_CDAB, {0xd3c4, 0xf1e2}, VU(0xf1e2d3c4u)},
  {CFG_VT_INT64, CFG_END_ABCD, {0x0102, 0x0304, 0x0506, 0x0708}, VI(0x0102030405060708)},
  {CFG_VT_INT64, CFG_END_DCBA, {0x0807, 0x0605, 0x0403, 0x0201}, VI(0x0102030405060708)},
  {CFG_VT_INT64, CFG_END_BADC, {0x0201, 0x0403, 0x0605, 0x0807}, VI(0x0102030405060708)},
  {CFG_VT_INT64, CFG_END_CDAB, {0x0708, 0x0506, 0x0304, 0x0102}, VI(0x0102030405060708)},
  /* 0xf1e2d3c4b5a69788 as int64 */
  {CFG_VT_INT64, CFG_END_ABCD, {0xf1e2, 0xd3c4, 0xb5a6, 0x9788}, VI(-1017017724017666168)},
  {CFG_VT_INT64, CFG_END_CDAB, {0x9788, 0xb5a6, 0xd3c4, 0xf1e2}, VI(-1017017724017666168)},
  {CFG_VT_UINT64, CFG_END_ABCD, {0xf1e2, 0xd3c4, 0xb5a6, 0x9788}, VU(0xf1e2d3c4b5a69788u)},
  {CFG_VT_UINT64, CFG_END_DCBA, {0x8897, 0xa6b5, 0xc4d3, 0xe2f1}, VU(0xf1e2d3c4b5a69788u)},
  {CFG_VT_UINT64, CFG_END_BADC, {0xe2f1, 0xc4d3, 0xa6b5, 0x8897}, VU(0xf1e2d3c4b5a69788u)},
  {CFG_VT_UINT64, CFG_END_CDAB, {0x9788, 0xb5a6, 0xd3c4, 0xf1e2}, VU(0xf1e2d3c4b5a69788u)},
  {CFG_VT_FLOAT32, CFG_END_ABCD, {0x42f6, 0xe979}, VD(F32_123)},
  {CFG_VT_FLOAT32, CFG_END_DCBA, {0x79e9, 0xf642}, VD(F32_123)},
  {CFG_VT_FLOAT32, CFG_END_BADC, {0xf642, 0x79e9}, VD(F32_123)},
  {CFG_VT_FLOAT32, CFG_END_CDAB, {0xe979, 0x42f6}, VD(F32_123)},
  {CFG_VT_FLOAT32, CFG_END_ABCD, {0xbdcc, 0xcccd}, VD(-0.1)},
  {CFG_VT_FLOAT32, CFG_END_ABCD, {0x3eaa, 0xaaab}, VD(0.33333334)}, /* needs 8 digits */
  {CFG_VT_FLOAT32, CFG_END_CDAB, {0xffff, 0x7f7f}, VD(3.4028235e38)}, /* FLT_MAX */
  {CFG_VT_FLOAT32, CFG_END_ABCD, {0x0000, 0x0001}, VD(1.4013e-45)}, /* smallest subnormal */
  {CFG_VT_FLOAT64, CFG_END_ABCD, {0x405e, 0xdd2f, 0x1a9f, 0xbe77}, VD(123.456)},
  {CFG_VT_FLOAT64, CFG_END_DCBA, {0x77be, 0x9f1a, 0x2fdd, 0x5e40}, VD(123.456)},
  {CFG_VT_FLOAT64, CFG_END_BADC, {0x5e40, 0x2fdd, 0x9f1a, 0x77be}, VD(123.456)},
  {CFG_VT_FLOAT64, CFG_END_CDAB, {0xbe77, 0x1a9f, 0xdd2f, 0x405e}, VD(123.456)},
};

static void assert_value_equal(const struct codec_value *got, const struct codec_value *want)
{
  assert_int_equal(got->kind, want->kind);
  switch(want->kind) {
  case CODEC_V_BOOL:
    assert_int_equal(got->v.b, want->v.b);
    break;
  case CODEC_V_INT:
    assert_true(got->v.i == want->v.i);
    break;
  case CODEC_V_UINT:
    assert_true(got->v.u == want->v.u);
    break;
  case CODEC_V_DOUBLE:
    /* Exact: the codecs must not lose a bit. */
    assert_true(got->v.d == want->v.d);
    break;
  }
}

static struct cfg_point reg_point(enum cfg_vtype type, enum cfg_endian endian)
{
  struct cfg_point pt;

  memset(&pt, 0, sizeof(pt));
  pt.id = "p";
  pt.table = CFG_REG_HOLDING;
  pt.type = type;
  pt.endian = endian;
  pt.bit = -1;
  pt.width = (uint8_t)cfg_vtype_width(type);
  pt.scale = 1;
  return pt;
}

static void test_widths(void **state)
{
  (void)state;
  assert_int_equal(cfg_vtype_width(CFG_VT_BOOL), 1);
  assert_int_equal(cfg_vtype_width(CFG_VT_INT16), 1);
  assert_int_equal(cfg_vtype_width(CFG_VT_UINT16), 1);
  assert_int_equal(cfg_vtype_width(CFG_VT_INT32), 2);
  assert_int_equal(cfg_vtype_width(CFG_VT_UINT32), 2);
  assert_int_equal(cfg_vtype_width(CFG_VT_FLOAT32), 2);
  assert_int_equal(cfg_vtype_width(CFG_VT_INT64), 4);
  assert_int_equal(cfg_vtype_width(CFG_VT_UINT64), 4);
  assert_int_equal(cfg_vtype_width(CFG_VT_FLOAT64), 4);
}

/* Every type x endian: the wire pattern decodes to the value, and back. */
static void test_known_patterns(void **state)
{
  size_t i;
  unsigned seen[CFG_VT_FLOAT64 + 1][4] = {{0}};

  (void)state;
  for(i = 0; i < RS_ARRAY_LEN(patterns); i++) {
    const struct pattern *p = &patterns[i];
    struct cfg_point pt = reg_point(p->type, p->endian);
    struct codec_value v;
    uint16_t regs[4] = {0xdead, 0xdead, 0xdead, 0xdead};
    unsigned w = cfg_vtype_width(p->type);
    char err[CODEC_ERR_MAX] = "";

    print_message("pattern %zu: type %d endian %d\n", i, (int)p->type, (int)p->endian);
    assert_int_equal(mbc_decode(&pt, p->regs, w, &v, err, sizeof(err)), CODEC_OK);
    assert_value_equal(&v, &p->want);
    assert_int_equal(mbc_encode_raw(p->type, p->endian, -1, &p->want, regs, 4, err, sizeof(err)),
                     CODEC_OK);
    assert_memory_equal(regs, p->regs, w * sizeof(uint16_t));
    /* The encoder writes exactly the type's width. */
    if(w < 4)
      assert_int_equal(regs[w], 0xdead);
    seen[p->type][p->endian]++;
  }
  for(i = CFG_VT_INT16; i <= CFG_VT_FLOAT64; i++) {
    unsigned e;

    for(e = 0; e < 4; e++)
      assert_true(seen[i][e] > 0);
  }
}

static void test_bool_register(void **state)
{
  struct cfg_point pt = reg_point(CFG_VT_BOOL, CFG_END_ABCD);
  struct codec_value v;
  uint16_t r;
  int bit;
  char err[CODEC_ERR_MAX];

  (void)state;
  r = 0;
  assert_int_equal(mbc_decode(&pt, &r, 1, &v, err, sizeof(err)), CODEC_OK);
  assert_int_equal(v.kind, CODEC_V_BOOL);
  assert_false(v.v.b);
  r = 0x0100;
  assert_int_equal(mbc_decode(&pt, &r, 1, &v, err, sizeof(err)), CODEC_OK);
  assert_true(v.v.b);

  for(bit = 0; bit < 16; bit++) {
    pt.bit = (int8_t)bit;
    r = (uint16_t)(1u << bit);
    assert_int_equal(mbc_decode(&pt, &r, 1, &v, err, sizeof(err)), CODEC_OK);
    assert_true(v.v.b);
    r = (uint16_t)~(1u << bit);
    assert_int_equal(mbc_decode(&pt, &r, 1, &v, err, sizeof(err)), CODEC_OK);
    assert_false(v.v.b);
  }
  /* The byte order does not move bits of a bool: bit 0 is the LSB of the register. */
  pt.endian = CFG_END_DCBA;
  pt.bit = 0;
  r = 0x0001;
  assert_int_equal(mbc_decode(&pt, &r, 1, &v, err, sizeof(err)), CODEC_OK);
  assert_true(v.v.b);

  pt.bit = 16;
  assert_int_equal(mbc_decode(&pt, &r, 1, &v, err, sizeof(err)), CODEC_INVALID);
  assert_non_null(strstr(err, "bit 16"));

  /* Encoding a bit keeps the others. */
  r = 0xa5a5;
  {
    struct codec_value on = {.kind = CODEC_V_BOOL, .v.b = true};
    struct codec_value off = {.kind = CODEC_V_BOOL, .v.b = false};

    assert_int_equal(mbc_encode_raw(CFG_VT_BOOL, CFG_END_ABCD, 1, &on, &r, 1, NULL, 0), CODEC_OK);
    assert_int_equal(r, 0xa5a7);
    assert_int_equal(mbc_encode_raw(CFG_VT_BOOL, CFG_END_ABCD, 15, &off, &r, 1, NULL, 0),
                     CODEC_OK);
    assert_int_equal(r, 0x25a7);
    assert_int_equal(mbc_encode_raw(CFG_VT_BOOL, CFG_END_ABCD, -1, &on, &r, 1, NULL, 0), CODEC_OK);
    assert_int_equal(r, 1);
  }
}

static void test_bit_tables(void **state)
{
  struct cfg_point pt = reg_point(CFG_VT_BOOL, CFG_END_ABCD);
  struct codec_value v;
  uint16_t bits[3] = {1, 0, 1};
  char err[CODEC_ERR_MAX];

  (void)state;
  pt.table = CFG_REG_COIL;
  assert_int_equal(mbc_decode(&pt, &bits[0], 1, &v, err, sizeof(err)), CODEC_OK);
  assert_true(v.v.b);
  assert_int_equal(mbc_decode(&pt, &bits[1], 1, &v, err, sizeof(err)), CODEC_OK);
  assert_false(v.v.b);
  pt.table = CFG_REG_DISCRETE;
  assert_int_equal(mbc_decode(&pt, &bits[2], 1, &v, err, sizeof(err)), CODEC_OK);
  assert_true(v.v.b);
  assert_int_equal(mbc_decode(&pt, bits, 0, &v, err, sizeof(err)), CODEC_MALFORMED);
  pt.type = CFG_VT_UINT16;
  assert_int_equal(mbc_decode(&pt, bits, 1, &v, err, sizeof(err)), CODEC_INVALID);
  assert_string_equal(err, "discrete points must be bool, not uint16");
}

static void test_scale_offset(void **state)
{
  struct cfg_point pt = reg_point(CFG_VT_UINT16, CFG_END_ABCD);
  struct codec_value v;
  uint16_t r[4];
  char err[CODEC_ERR_MAX];

  (void)state;
  r[0] = 1234;
  pt.scale = 0.01;
  pt.scaled = true;
  assert_int_equal(mbc_decode(&pt, r, 1, &v, err, sizeof(err)), CODEC_OK);
  assert_int_equal(v.kind, CODEC_V_DOUBLE);
  assert_true(v.v.d == 1234 * 0.01);

  pt = reg_point(CFG_VT_INT16, CFG_END_BADC);
  pt.scale = 0.1;
  pt.offset = -40;
  pt.scaled = true;
  r[0] = 0x0cfe; /* 0xfe0c = -500 */
  assert_int_equal(mbc_decode(&pt, r, 1, &v, err, sizeof(err)), CODEC_OK);
  assert_true(v.v.d == -500 * 0.1 + -40);

  /* An offset alone makes a double too. */
  pt = reg_point(CFG_VT_UINT32, CFG_END_CDAB);
  pt.offset = 0.5;
  pt.scaled = true;
  r[0] = 0x0002;
  r[1] = 0x0000;
  assert_int_equal(mbc_decode(&pt, r, 2, &v, err, sizeof(err)), CODEC_OK);
  assert_int_equal(v.kind, CODEC_V_DOUBLE);
  assert_true(v.v.d == 2.5);

  /* Not scaled: a uint64 stays exact even where a double could not hold it. */
  pt = reg_point(CFG_VT_UINT64, CFG_END_ABCD);
  r[0] = 0xffff;
  r[1] = 0xffff;
  r[2] = 0xffff;
  r[3] = 0xfffe;
  assert_int_equal(mbc_decode(&pt, r, 4, &v, err, sizeof(err)), CODEC_OK);
  assert_int_equal(v.kind, CODEC_V_UINT);
  assert_true(v.v.u == UINT64_MAX - 1);

  /* Bools ignore scale. */
  pt = reg_point(CFG_VT_BOOL, CFG_END_ABCD);
  pt.scale = 10;
  pt.scaled = true;
  r[0] = 7;
  assert_int_equal(mbc_decode(&pt, r, 1, &v, err, sizeof(err)), CODEC_OK);
  assert_int_equal(v.kind, CODEC_V_BOOL);

  /* A scale that overflows a double is malformed, not infinity. */
  pt = reg_point(CFG_VT_FLOAT64, CFG_END_ABCD);
  pt.scale = 1e300;
  pt.scaled = true;
  r[0] = 0x7fef; /* 1.7976931348623157e308 */
  r[1] = 0xffff;
  r[2] = 0xffff;
  r[3] = 0xffff;
  assert_int_equal(mbc_decode(&pt, r, 4, &v, err, sizeof(err)), CODEC_MALFORMED);
  assert_non_null(strstr(err, "not finite"));

  /* The simulator's inverse: 12.34 bar at scale 0.01 is register 1234. */
  pt = reg_point(CFG_VT_UINT16, CFG_END_ABCD);
  pt.scale = 0.01;
  pt.scaled = true;
  assert_int_equal(mbc_encode_point(&pt, 12.34, r, 1, err, sizeof(err)), CODEC_OK);
  assert_int_equal(r[0], 1234);
  assert_int_equal(mbc_encode_point(&pt, 655.36, r, 1, err, sizeof(err)), CODEC_RANGE);
  pt.scale = 0;
  assert_int_equal(mbc_encode_point(&pt, 1, r, 1, err, sizeof(err)), CODEC_INVALID);
}

static void test_nan_inf_refused(void **state)
{
  struct cfg_point pt = reg_point(CFG_VT_FLOAT32, CFG_END_ABCD);
  struct codec_value v;
  uint16_t nan32[2] = {0x7fc0, 0x0000};
  uint16_t inf32[2] = {0xff80, 0x0000};
  uint16_t nan64_cdab[4] = {0x0001, 0x0000, 0x0000, 0x7ff0}; /* signalling NaN */
  uint16_t inf64_badc[4] = {0xf07f, 0x0000, 0x0000, 0x0000};
  char err[CODEC_ERR_MAX];

  (void)state;
  assert_int_equal(mbc_decode(&pt, nan32, 2, &v, err, sizeof(err)), CODEC_MALFORMED);
  assert_string_equal(err, "float32 registers 0x7fc0 0x0000 (ABCD) are NaN");
  assert_int_equal(mbc_decode(&pt, inf32, 2, &v, err, sizeof(err)), CODEC_MALFORMED);
  assert_string_equal(err, "float32 registers 0xff80 0x0000 (ABCD) are infinite");
  pt = reg_point(CFG_VT_FLOAT64, CFG_END_CDAB);
  assert_int_equal(mbc_decode(&pt, nan64_cdab, 4, &v, err, sizeof(err)), CODEC_MALFORMED);
  assert_non_null(strstr(err, "NaN"));
  pt = reg_point(CFG_VT_FLOAT64, CFG_END_BADC);
  assert_int_equal(mbc_decode(&pt, inf64_badc, 4, &v, err, sizeof(err)), CODEC_MALFORMED);
  assert_non_null(strstr(err, "infinite"));
  /* The same bytes in another order are a number: the order is applied first. */
  pt = reg_point(CFG_VT_FLOAT32, CFG_END_CDAB);
  assert_int_equal(mbc_decode(&pt, nan32, 2, &v, err, sizeof(err)), CODEC_OK);
  /* Encoding NaN is refused as well. */
  {
    struct codec_value n = VD(NAN);
    uint16_t r[4];

    assert_int_equal(mbc_encode_raw(CFG_VT_FLOAT32, CFG_END_ABCD, -1, &n, r, 4, NULL, 0),
                     CODEC_RANGE);
    assert_int_equal(mbc_encode_raw(CFG_VT_FLOAT64, CFG_END_ABCD, -1, &n, r, 4, NULL, 0),
                     CODEC_RANGE);
  }
}

static void test_boundaries(void **state)
{
  static const struct pattern b[] = {
    {CFG_VT_INT16, CFG_END_ABCD, {0x8000}, VI(INT16_MIN)},
    {CFG_VT_INT16, CFG_END_DCBA, {0x0080}, VI(INT16_MIN)},
    {CFG_VT_INT16, CFG_END_ABCD, {0x7fff}, VI(INT16_MAX)},
    {CFG_VT_UINT16, CFG_END_ABCD, {0xffff}, VU(UINT16_MAX)},
    {CFG_VT_INT32, CFG_END_ABCD, {0x8000, 0x0000}, VI(INT32_MIN)},
    {CFG_VT_INT32, CFG_END_CDAB, {0x0000, 0x8000}, VI(INT32_MIN)},
    {CFG_VT_INT32, CFG_END_ABCD, {0x7fff, 0xffff}, VI(INT32_MAX)},
    {CFG_VT_UINT32, CFG_END_ABCD, {0xffff, 0xffff}, VU(UINT32_MAX)},
    {CFG_VT_INT64, CFG_END_ABCD, {0x8000, 0, 0, 0}, VI(INT64_MIN)},
    {CFG_VT_INT64, CFG_END_DCBA, {0, 0, 0, 0x0080}, VI(INT64_MIN)},
    {CFG_VT_INT64, CFG_END_ABCD, {0x7fff, 0xffff, 0xffff, 0xffff}, VI(INT64_MAX)},
    {CFG_VT_INT64, CFG_END_ABCD, {0xffff, 0xffff, 0xffff, 0xffff}, VI(-1)},
    {CFG_VT_UINT64, CFG_END_ABCD, {0xffff, 0xffff, 0xffff, 0xffff}, VU(UINT64_MAX)},
    {CFG_VT_UINT64, CFG_END_ABCD, {0, 0, 0, 0}, VU(0)},
  };
  struct {
    enum cfg_vtype type;
    struct codec_value v;
  } bad[] = {
    {CFG_VT_INT16, VI(INT16_MIN - 1)},      {CFG_VT_INT16, VI(INT16_MAX + 1)},
    {CFG_VT_UINT16, VI(-1)},                {CFG_VT_UINT16, VU(65536)},
    {CFG_VT_INT32, VI(INT64_C(2147483648))}, {CFG_VT_UINT32, VU(UINT64_C(4294967296))},
    {CFG_VT_INT64, VU(UINT64_C(9223372036854775808))},
    {CFG_VT_UINT64, VI(-1)},                {CFG_VT_INT64, VD(9223372036854775808.0)},
    {CFG_VT_UINT64, VD(18446744073709551616.0)},
    {CFG_VT_UINT16, VD(1.5)},               {CFG_VT_FLOAT32, VD(1e39)},
    {CFG_VT_FLOAT32, VD(0x1.ffffffp127)}, /* FLT_MAX + half an ulp rounds to inf */
    {CFG_VT_BOOL, VI(2)},
  };
  size_t i;
  uint16_t r[4];
  char err[CODEC_ERR_MAX];

  (void)state;
  for(i = 0; i < RS_ARRAY_LEN(b); i++) {
    struct cfg_point pt = reg_point(b[i].type, b[i].endian);
    struct codec_value v;

    print_message("boundary %zu\n", i);
    assert_int_equal(mbc_decode(&pt, b[i].regs, 4, &v, err, sizeof(err)), CODEC_OK);
    assert_value_equal(&v, &b[i].want);
    assert_int_equal(mbc_encode_raw(b[i].type, b[i].endian, -1, &b[i].want, r, 4, err, 256),
                     CODEC_OK);
    assert_memory_equal(r, b[i].regs, cfg_vtype_width(b[i].type) * sizeof(uint16_t));
  }
  for(i = 0; i < RS_ARRAY_LEN(bad); i++) {
    r[0] = 0x5555;
    print_message("out of range %zu\n", i);
    assert_int_equal(mbc_encode_raw(bad[i].type, CFG_END_ABCD, -1, &bad[i].v, r, 4, err, 256),
                     CODEC_RANGE);
    assert_non_null(strstr(err, "does not fit") ? err : strstr(err, "not a bool"));
    assert_int_equal(r[0], 0x5555); /* untouched */
  }
  /* Integral doubles and wider integer kinds are accepted when in range. */
  {
    struct codec_value d = VD(-32768.0);
    struct codec_value u = VU(32767);

    assert_int_equal(mbc_encode_raw(CFG_VT_INT16, CFG_END_ABCD, -1, &d, r, 1, NULL, 0), CODEC_OK);
    assert_int_equal(r[0], 0x8000);
    assert_int_equal(mbc_encode_raw(CFG_VT_INT16, CFG_END_ABCD, -1, &u, r, 1, NULL, 0), CODEC_OK);
    assert_int_equal(r[0], 0x7fff);
  }
}

static void test_short_input(void **state)
{
  struct cfg_point pt = reg_point(CFG_VT_FLOAT64, CFG_END_ABCD);
  struct codec_value v;
  uint16_t r[4] = {0};
  char err[CODEC_ERR_MAX];

  (void)state;
  assert_int_equal(mbc_decode(&pt, r, 3, &v, err, sizeof(err)), CODEC_MALFORMED);
  assert_string_equal(err, "float64 needs 4 registers, got 3");
  assert_int_equal(mbc_decode(&pt, NULL, 0, &v, err, sizeof(err)), CODEC_MALFORMED);
  assert_int_equal(mbc_encode_raw(CFG_VT_INT32, CFG_END_ABCD, -1, &v, r, 1, err, sizeof(err)),
                   CODEC_INVALID);
  /* NULL err buffers are allowed. */
  assert_int_equal(mbc_decode(&pt, r, 1, &v, NULL, 0), CODEC_MALFORMED);
}

/* Random values survive encode -> decode in every type and order. */
static void test_roundtrip_random(void **state)
{
  unsigned seed = 12345;
  int n;

  (void)state;
  for(n = 0; n < 20000; n++) {
    enum cfg_vtype t = (enum cfg_vtype)(CFG_VT_INT16 + (unsigned)n % 8);
    enum cfg_endian e = (enum cfg_endian)((unsigned)n / 8 % 4);
    uint64_t bits = 0;
    uint16_t r[4];
    struct codec_value in, out;
    uint16_t r2[4];
    int k;

    for(k = 0; k < 4; k++) {
      seed = seed * 1103515245u + 12345u;
      bits = (bits << 16) | ((seed >> 8) & 0xffffu);
    }
    for(k = 0; k < 4; k++)
      r[k] = (uint16_t)(bits >> (16 * k));
    /* Decode random registers; where that is a value, encoding gives the same registers. */
    if(mbc_decode_raw(t, e, -1, r, 4, &in, NULL, 0) != CODEC_OK) {
      assert_true(t == CFG_VT_FLOAT32 || t == CFG_VT_FLOAT64);
      continue;
    }
    assert_int_equal(mbc_encode_raw(t, e, -1, &in, r2, 4, NULL, 0), CODEC_OK);
    assert_memory_equal(r, r2, cfg_vtype_width(t) * sizeof(uint16_t));
    assert_int_equal(mbc_decode_raw(t, e, -1, r2, 4, &out, NULL, 0), CODEC_OK);
    assert_value_equal(&out, &in);
  }
}

static void test_format(void **state)
{
  struct {
    struct codec_value v;
    const char *want;
  } f[] = {
    {{.kind = CODEC_V_BOOL, .v.b = true}, "true"},
    {{.kind = CODEC_V_BOOL, .v.b = false}, "false"},
    {VI(INT64_MIN), "-9223372036854775808"},
    {VI(-32768), "-32768"},
    {VU(UINT64_MAX), "18446744073709551615"},
    {VD(0.1), "0.1"},
    {VD(12.34), "12.34"},
    {VD(123.45600128173828), "123.45600128173828"},
    {VD(1e21), "1e+21"},
    {VD(-0.0), "-0"},
    {VD(5e-324), "4.94065645841247e-324"}, /* 15 digits suffice */
    {VD(INFINITY), "null"},
  };
  char buf[32];
  size_t i;
  unsigned seed = 7;

  (void)state;
  for(i = 0; i < RS_ARRAY_LEN(f); i++) {
    assert_int_equal(codec_format_value(&f[i].v, buf, sizeof(buf)), 0);
    assert_string_equal(buf, f[i].want);
  }
  assert_int_equal(codec_format_value(&f[2].v, buf, 5), -1);
  assert_int_equal(strlen(buf), 4);
  /* Shortest round trip for arbitrary doubles. */
  for(i = 0; i < 10000; i++) {
    uint64_t bits = 0;
    double d;
    struct codec_value v = {.kind = CODEC_V_DOUBLE};
    int k;

    for(k = 0; k < 4; k++) {
      seed = seed * 1103515245u + 12345u;
      bits = (bits << 16) | ((seed >> 8) & 0xffffu);
    }
    memcpy(&d, &bits, sizeof(d));
    if(!isfinite(d))
      continue;
    v.v.d = d;
    assert_int_equal(codec_format_value(&v, buf, sizeof(buf)), 0);
    assert_true(strtod(buf, NULL) == d);
  }
}

static void test_strerror(void **state)
{
  (void)state;
  assert_string_equal(codec_strerror(CODEC_OK), "ok");
  assert_string_equal(codec_strerror(CODEC_MALFORMED), "malformed");
  assert_string_equal(codec_strerror(CODEC_AMBIGUOUS), "ambiguous");
  assert_string_equal(codec_strerror((enum codec_err)99), "unknown error");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_widths),        cmocka_unit_test(test_known_patterns),
    cmocka_unit_test(test_bool_register), cmocka_unit_test(test_bit_tables),
    cmocka_unit_test(test_scale_offset),  cmocka_unit_test(test_nan_inf_refused),
    cmocka_unit_test(test_boundaries),    cmocka_unit_test(test_short_input),
    cmocka_unit_test(test_roundtrip_random), cmocka_unit_test(test_format),
    cmocka_unit_test(test_strerror),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
