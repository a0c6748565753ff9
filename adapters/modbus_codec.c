/* SPDX-License-Identifier: Apache-2.0 */
#include "adapters/modbus_codec.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_util.h"

_Static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE 754 binary32/64 expected");

/*
 * Names as written in YAML. Kept here (not cfg_*_name) so the codec links
 * without the config loader.
 */
static const char *type_name(enum cfg_vtype t)
{
  static const char *const names[] = {"bool",   "int16",  "uint16",  "int32",  "uint32",
                                      "int64",  "uint64", "float32", "float64"};

  return (unsigned)t < RS_ARRAY_LEN(names) ? names[t] : "?";
}

static const char *endian_name(enum cfg_endian e)
{
  static const char *const names[] = {"ABCD", "DCBA", "BADC", "CDAB"};

  return (unsigned)e < RS_ARRAY_LEN(names) ? names[e] : "?";
}

static const char *table_name(enum cfg_regtable t)
{
  static const char *const names[] = {"coil", "discrete", "input", "holding"};

  return (unsigned)t < RS_ARRAY_LEN(names) ? names[t] : "?";
}

const char *codec_strerror(enum codec_err rc)
{
  /* in the enum's order */
  static const char *const names[] = {"ok",        "malformed",    "not a number",
                                      "not found", "ambiguous",    "unit mismatch",
                                      "too large", "out of range", "invalid"};
  _Static_assert(RS_ARRAY_LEN(names) == CODEC_INVALID + 1, "a name for every value");
  return (unsigned)rc < RS_ARRAY_LEN(names) ? names[rc] : "unknown error";
}

double codec_value_as_double(const struct codec_value *v)
{
  switch(v->kind) {
  case CODEC_V_BOOL:
    return v->v.b ? 1.0 : 0.0;
  case CODEC_V_INT:
    return (double)v->v.i;
  case CODEC_V_UINT:
    return (double)v->v.u;
  case CODEC_V_DOUBLE:
    return v->v.d;
  }
  return 0.0;
}

enum codec_err codec_apply_scale(const struct cfg_point *pt, struct codec_value *v, char *err,
                                 size_t errlen)
{
  double d;

  if(!pt->scaled || v->kind == CODEC_V_BOOL)
    return CODEC_OK;
  d = codec_value_as_double(v) * pt->scale + pt->offset;
  if(!isfinite(d)) {
    (void)rs_snprintf(err, errlen, "value %.17g scaled by %.17g plus %.17g is not finite",
            codec_value_as_double(v), pt->scale, pt->offset);
    return CODEC_MALFORMED;
  }
  v->kind = CODEC_V_DOUBLE;
  v->v.d = d;
  return CODEC_OK;
}

/* The shortest %.Ng (N = 15..17) that strtod reads back to exactly d. */
static int format_double(double d, char *buf, size_t size)
{
  int prec;
  int n = 0;

  for(prec = 15; prec <= 17; prec++) {
    n = snprintf(buf, size, "%.*g", prec, d);
    if(n < 0 || (size_t)n >= size)
      return -1;
    if(strtod(buf, NULL) == d)
      break;
  }
  return 0;
}

int codec_format_value(const struct codec_value *v, char *buf, size_t size)
{
  if(!size)
    return -1;
  switch(v->kind) {
  case CODEC_V_BOOL:
    return rs_snprintf(buf, size, "%s", v->v.b ? "true" : "false");
  case CODEC_V_INT:
    return rs_snprintf(buf, size, "%" PRId64, v->v.i);
  case CODEC_V_UINT:
    return rs_snprintf(buf, size, "%" PRIu64, v->v.u);
  case CODEC_V_DOUBLE:
    if(!isfinite(v->v.d))
      return rs_snprintf(buf, size, "null");
    return format_double(v->v.d, buf, size);
  }
  buf[0] = '\0';
  return -1;
}

static bool endian_valid(enum cfg_endian e)
{
  return e == CFG_END_ABCD || e == CFG_END_DCBA || e == CFG_END_BADC || e == CFG_END_CDAB;
}

static bool type_valid(enum cfg_vtype t)
{
  return t >= CFG_VT_BOOL && t <= CFG_VT_FLOAT64;
}

/* BADC and DCBA swap the two bytes of each register. */
static bool endian_swaps_bytes(enum cfg_endian e)
{
  return e == CFG_END_BADC || e == CFG_END_DCBA;
}

/* DCBA and CDAB put the low word first (the registers in reverse order). */
static bool endian_reverses_words(enum cfg_endian e)
{
  return e == CFG_END_DCBA || e == CFG_END_CDAB;
}

/*
 * Wire registers -> canonical big-endian integer of width registers
 * (16 * width bits). Reordering per the table in the header.
 */
static uint64_t regs_to_canonical(enum cfg_endian e, const uint16_t *regs, unsigned width)
{
  uint64_t raw = 0;
  unsigned i;

  for(i = 0; i < width; i++) {
    /* Canonical word k (0 = most significant) is at wire position i. */
    unsigned k = endian_reverses_words(e) ? width - 1 - i : i;
    uint16_t r = regs[i];
    uint64_t word;

    if(endian_swaps_bytes(e))
      r = (uint16_t)((r >> 8) | (r << 8));
    word = r;
    raw |= word << (16 * (width - 1 - k));
  }
  return raw;
}

/* The inverse: canonical integer -> wire registers. */
static void canonical_to_regs(enum cfg_endian e, uint64_t raw, uint16_t *regs, unsigned width)
{
  unsigned i;

  for(i = 0; i < width; i++) {
    unsigned k = endian_reverses_words(e) ? width - 1 - i : i;
    uint16_t r = (uint16_t)((raw >> (16 * (width - 1 - k))) & 0xffffu);

    if(endian_swaps_bytes(e))
      r = (uint16_t)((r >> 8) | (r << 8));
    regs[i] = r;
  }
}

/*
 * A float32 as the double nearest to its shortest decimal form (6 to 9
 * significant digits that read back as the same float): 0x42f6e979 is
 * 123.456, not 123.45600128173828. (float) of the result is f again, so
 * encoding gives back the same registers.
 */
static double float_as_decimal(float f)
{
  char buf[32];
  int prec;

  for(prec = 6; prec <= 9; prec++) {
    (void)snprintf(buf, sizeof(buf), "%.*g", prec, (double)f);
    if(strtof(buf, NULL) == f)
      return strtod(buf, NULL);
  }
  return (double)f;
}

/* "0x1234 0x5678" for messages. */
static void regs_text(const uint16_t *regs, unsigned width, char *buf, size_t size)
{
  struct rs_buf b = {0};
  unsigned i;

  for(i = 0; i < width; i++)
    rs_buf_printf(&b, "%s0x%04" PRIx16, i ? " " : "", regs[i]);
  (void)rs_strlcpy(buf, b.data && !b.oom ? b.data : "", size);
  rs_buf_free(&b);
}

/* Registers per type (cfg_vtype_width(), here so a reading costs no call). */
static const unsigned char width_of[] = {
    [CFG_VT_BOOL] = 1,  [CFG_VT_INT16] = 1,  [CFG_VT_UINT16] = 1,
    [CFG_VT_INT32] = 2, [CFG_VT_UINT32] = 2, [CFG_VT_FLOAT32] = 2,
    [CFG_VT_INT64] = 4, [CFG_VT_UINT64] = 4, [CFG_VT_FLOAT64] = 4};

/* Registers that are NaN or infinite as type: the message in err. */
static void not_finite(enum cfg_vtype type, enum cfg_endian endian, const uint16_t *regs,
                       unsigned width, double d, char *err, size_t errlen)
{
  char rt[64];
  regs_text(regs, width, rt, sizeof(rt));
  (void)rs_snprintf(err, errlen, "%s registers %s (%s) are %s", type_name(type), rt,
                    endian_name(endian), isnan(d) ? "NaN" : "infinite");
}

enum codec_err mbc_decode_raw(enum cfg_vtype type, enum cfg_endian endian, int bit,
                              const uint16_t *regs, size_t n, struct codec_value *out, char *err,
                              size_t errlen)
{
  unsigned width;
  uint64_t raw;

  memset(out, 0, sizeof(*out));
  if(!type_valid(type) || !endian_valid(endian)) {
    (void)rs_snprintf(err, errlen, "unknown type or byte order");
    return CODEC_INVALID;
  }
  width = width_of[type];
  if(!regs || n < width) {
    (void)rs_snprintf(err, errlen, "%s needs %u register%s, got %zu", type_name(type), width,
            width == 1 ? "" : "s", regs ? n : 0);
    return CODEC_MALFORMED;
  }
  if(type == CFG_VT_BOOL) {
    if(bit > 15) {
      (void)rs_snprintf(err, errlen, "bit %d is outside a 16-bit register (0-15)", bit);
      return CODEC_INVALID;
    }
    out->kind = CODEC_V_BOOL;
    out->v.b = bit >= 0 ? ((regs[0] >> bit) & 1u) != 0 : regs[0] != 0;
    return CODEC_OK;
  }
  raw = regs_to_canonical(endian, regs, width);
  switch(type) {
  case CFG_VT_INT16:
    out->kind = CODEC_V_INT;
    out->v.i = raw >= 0x8000u ? (int64_t)raw - 0x10000 : (int64_t)raw;
    break;
  case CFG_VT_UINT16:
  case CFG_VT_UINT32:
  case CFG_VT_UINT64:
    out->kind = CODEC_V_UINT;
    out->v.u = raw;
    break;
  case CFG_VT_INT32:
    out->kind = CODEC_V_INT;
    out->v.i = raw >= 0x80000000u ? (int64_t)raw - INT64_C(0x100000000) : (int64_t)raw;
    break;
  case CFG_VT_INT64:
    out->kind = CODEC_V_INT;
    /* Two's complement without relying on an implementation-defined cast. */
    out->v.i = raw > (uint64_t)INT64_MAX ? -(int64_t)(~raw) - 1 : (int64_t)raw;
    break;
  case CFG_VT_FLOAT32:
  case CFG_VT_FLOAT64: {
    double d;
    if(type == CFG_VT_FLOAT32) {
      uint32_t u32 = (uint32_t)raw;
      float f;
      memcpy(&f, &u32, sizeof(f));
      d = isfinite(f) ? float_as_decimal(f) : (double)f;
    }
    else
      memcpy(&d, &raw, sizeof(d));
    if(!isfinite(d)) {
      not_finite(type, endian, regs, width, d, err, errlen);
      memset(out, 0, sizeof(*out));
      return CODEC_MALFORMED;
    }
    out->kind = CODEC_V_DOUBLE;
    out->v.d = d;
    break;
  }
  case CFG_VT_BOOL:
    break;
  }
  return CODEC_OK;
}

enum codec_err mbc_decode(const struct cfg_point *pt, const uint16_t *regs, size_t n,
                          struct codec_value *out, char *err, size_t errlen)
{
  enum codec_err rc;

  if(pt->table == CFG_REG_COIL || pt->table == CFG_REG_DISCRETE) {
    memset(out, 0, sizeof(*out));
    if(pt->type != CFG_VT_BOOL) {
      (void)rs_snprintf(err, errlen, "%s points must be bool, not %s", table_name(pt->table),
              type_name(pt->type));
      return CODEC_INVALID;
    }
    if(!regs || n < 1) {
      (void)rs_snprintf(err, errlen, "no bit in the reply");
      return CODEC_MALFORMED;
    }
    out->kind = CODEC_V_BOOL;
    out->v.b = regs[0] != 0;
    return CODEC_OK;
  }
  rc = mbc_decode_raw(pt->type, pt->endian, pt->type == CFG_VT_BOOL ? pt->bit : -1, regs, n,
                      out, err, errlen);
  if(rc)
    return rc;
  rc = codec_apply_scale(pt, out, err, errlen);
  if(rc)
    memset(out, 0, sizeof(*out));
  return rc;
}

/* An integer candidate for encoding: negative values in i, others in u. */
struct int_cand {
  bool neg;
  int64_t i;
  uint64_t u;
};

/* v as an exact integer, or -1 when it is not integral. */
static int value_to_int(const struct codec_value *v, struct int_cand *c)
{
  memset(c, 0, sizeof(*c));
  switch(v->kind) {
  case CODEC_V_BOOL:
    c->u = v->v.b ? 1 : 0;
    return 0;
  case CODEC_V_INT:
    if(v->v.i < 0) {
      c->neg = true;
      c->i = v->v.i;
    }
    else
      c->u = (uint64_t)v->v.i;
    return 0;
  case CODEC_V_UINT:
    c->u = v->v.u;
    return 0;
  case CODEC_V_DOUBLE: {
    double d = v->v.d;

    if(!isfinite(d) || d != floor(d))
      return -1;
    /* Both bounds are powers of two, exact as doubles. */
    if(d < 0) {
      if(d < -9223372036854775808.0)
        return -1;
      c->neg = true;
      c->i = (int64_t)d;
    }
    else {
      if(d >= 18446744073709551616.0)
        return -1;
      c->u = (uint64_t)d;
    }
    return 0;
  }
  }
  return -1;
}

enum codec_err mbc_encode_raw(enum cfg_vtype type, enum cfg_endian endian, int bit,
                              const struct codec_value *v, uint16_t *regs, size_t n, char *err,
                              size_t errlen)
{
  unsigned width;
  uint64_t raw = 0;
  struct int_cand c;
  int64_t smin = 0;
  uint64_t umax = 0;
  bool is_signed = false;
  char vt[32];

  if(!type_valid(type) || !endian_valid(endian) || !v) {
    (void)rs_snprintf(err, errlen, "unknown type or byte order");
    return CODEC_INVALID;
  }
  width = cfg_vtype_width(type);
  if(!regs || n < width) {
    (void)rs_snprintf(err, errlen, "%s needs %u registers, room for %zu", type_name(type), width,
            regs ? n : 0);
    return CODEC_INVALID;
  }
  if(codec_format_value(v, vt, sizeof(vt)))
    rs_strlcpy(vt, "?", sizeof(vt));

  switch(type) {
  case CFG_VT_BOOL: {
    bool on;

    if(bit > 15) {
      (void)rs_snprintf(err, errlen, "bit %d is outside a 16-bit register (0-15)", bit);
      return CODEC_INVALID;
    }
    if(value_to_int(v, &c) || c.neg || c.u > 1) {
      (void)rs_snprintf(err, errlen, "%s is not a bool (0 or 1)", vt);
      return CODEC_RANGE;
    }
    on = c.u == 1;
    if(bit < 0)
      regs[0] = on ? 1 : 0;
    else if(on)
      regs[0] = (uint16_t)(regs[0] | (1u << bit));
    else
      regs[0] = (uint16_t)(regs[0] & ~(1u << bit));
    return CODEC_OK;
  }
  case CFG_VT_FLOAT32: {
    double d = codec_value_as_double(v);
    float f;
    uint32_t u32;

    /* Up to FLT_MAX plus half an ulp (2^128 - 2^103) rounds to FLT_MAX. */
    if(!isfinite(d) || fabs(d) >= 0x1.ffffffp127) {
      (void)rs_snprintf(err, errlen, "%s does not fit a float32", vt);
      return CODEC_RANGE;
    }
    if(fabs(d) > (double)FLT_MAX) /* clamp: a conversion out of range is undefined */
      f = d < 0 ? -FLT_MAX : FLT_MAX;
    else
      f = (float)d;
    memcpy(&u32, &f, sizeof(u32));
    raw = u32;
    break;
  }
  case CFG_VT_FLOAT64: {
    double d = codec_value_as_double(v);

    if(!isfinite(d)) {
      (void)rs_snprintf(err, errlen, "%s is not a finite float64", vt);
      return CODEC_RANGE;
    }
    memcpy(&raw, &d, sizeof(raw));
    break;
  }
  case CFG_VT_INT16:
    is_signed = true;
    smin = INT16_MIN;
    umax = INT16_MAX;
    break;
  case CFG_VT_UINT16:
    umax = UINT16_MAX;
    break;
  case CFG_VT_INT32:
    is_signed = true;
    smin = INT32_MIN;
    umax = INT32_MAX;
    break;
  case CFG_VT_UINT32:
    umax = UINT32_MAX;
    break;
  case CFG_VT_INT64:
    is_signed = true;
    smin = INT64_MIN;
    umax = INT64_MAX;
    break;
  case CFG_VT_UINT64:
    umax = UINT64_MAX;
    break;
  }
  if(type != CFG_VT_FLOAT32 && type != CFG_VT_FLOAT64) {
    uint64_t mask = width == 4 ? UINT64_MAX : (UINT64_C(1) << (16 * width)) - 1;

    if(value_to_int(v, &c) || (c.neg && (!is_signed || c.i < smin)) || (!c.neg && c.u > umax)) {
      (void)rs_snprintf(err, errlen, "%s does not fit a %s", vt, type_name(type));
      return CODEC_RANGE;
    }
    /* Conversion of a negative int64 to uint64 is defined: modulo 2^64. */
    raw = (c.neg ? (uint64_t)c.i : c.u) & mask;
  }
  canonical_to_regs(endian, raw, regs, width);
  return CODEC_OK;
}

enum codec_err mbc_encode_point(const struct cfg_point *pt, double value, uint16_t *regs,
                                size_t n, char *err, size_t errlen)
{
  struct codec_value v = {.kind = CODEC_V_DOUBLE};
  bool bits = pt->table == CFG_REG_COIL || pt->table == CFG_REG_DISCRETE;

  if(!isfinite(value)) {
    (void)rs_snprintf(err, errlen, "value is not finite");
    return CODEC_RANGE;
  }
  if(pt->type == CFG_VT_BOOL || bits) {
    if(bits && pt->type != CFG_VT_BOOL) {
      (void)rs_snprintf(err, errlen, "%s points must be bool, not %s", table_name(pt->table),
              type_name(pt->type));
      return CODEC_INVALID;
    }
    v.kind = CODEC_V_BOOL;
    v.v.b = value != 0;
    return mbc_encode_raw(CFG_VT_BOOL, CFG_END_ABCD, bits ? -1 : pt->bit, &v, regs, n, err,
                          errlen);
  }
  if(pt->scaled) {
    if(pt->scale == 0) {
      (void)rs_snprintf(err, errlen, "scale 0 cannot be inverted");
      return CODEC_INVALID;
    }
    value = (value - pt->offset) / pt->scale;
  }
  if(pt->type != CFG_VT_FLOAT32 && pt->type != CFG_VT_FLOAT64)
    value = round(value);
  v.v.d = value;
  return mbc_encode_raw(pt->type, pt->endian, -1, &v, regs, n, err, errlen);
}
