/* SPDX-License-Identifier: Apache-2.0 */
/*
 * modbus_codec: the pure part of reading a Modbus point (SPEC 4 "Decoding,
 * exactly"). Registers as they came off the wire, in address order, become
 * one typed value; the encoder does the inverse for the simulator and tests.
 * No I/O, no libmodbus: every byte is placed by hand (libmodbus 3.1.6's
 * modbus_set_float_* are wrong on x86-64 and are never used).
 *
 * This header also holds what both device codecs share (coap_payload.h
 * includes it): the result enum codec_err, the value type codec_value, the
 * scale/offset step and the JSON formatter. Prefix `codec_` for the shared
 * part, `mbc_` for Modbus.
 *
 * Byte order: the canonical value is big-endian "ABCDEFGH" (A the most
 * significant byte). On the wire, registers in address order hold:
 *
 *   endian  16-bit  32-bit  64-bit
 *   ABCD    AB      ABCD    ABCDEFGH
 *   DCBA    BA      DCBA    HGFEDCBA
 *   BADC    BA      BADC    BADCFEHG
 *   CDAB    AB      CDAB    GHEFCDAB
 *
 * i.e. BADC and DCBA swap the two bytes inside each register, DCBA and CDAB
 * reverse the order of the registers.
 */
#ifndef RS_MODBUS_CODEC_H
#define RS_MODBUS_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/* Room for any codec message, including a bounded payload excerpt. */
#define CODEC_ERR_MAX 256

/* What went wrong while decoding a device's answer. CODEC_OK is 0. */
enum codec_err {
  CODEC_OK = 0,
  CODEC_MALFORMED,     /* bytes that cannot be this value: NaN/Inf, bad JSON, short data */
  CODEC_NOT_NUMBER,    /* a payload or value that is not a number (or bool) */
  CODEC_NOT_FOUND,     /* JSON pointer or SenML name matches nothing */
  CODEC_AMBIGUOUS,     /* more than one SenML record matches */
  CODEC_UNIT_MISMATCH, /* SenML unit differs from the point's unit */
  CODEC_TOO_LARGE,     /* payload over the size bound */
  CODEC_RANGE,         /* encoder: value does not fit the type */
  CODEC_INVALID        /* the caller's point or arguments cannot be used */
};

/* Short stable name of an error kind ("malformed", "not a number"); never NULL. */
const char *codec_strerror(enum codec_err rc);

/* A decoded value: exact integers stay exact (JSON prints them as written). */
enum codec_vkind { CODEC_V_BOOL, CODEC_V_INT, CODEC_V_UINT, CODEC_V_DOUBLE };

struct codec_value {
  enum codec_vkind kind;
  union {
    bool b;
    int64_t i;  /* signed types, when not scaled */
    uint64_t u; /* unsigned types, when not scaled */
    double d;   /* float types, and every scaled value (always finite) */
  } v;
};

/* The value as a double (bools are 0 and 1); large 64-bit integers round. */
double codec_value_as_double(const struct codec_value *v);

/*
 * Apply `value = decoded * scale + offset` when pt->scaled; the result is a
 * CODEC_V_DOUBLE. Unscaled values and bools are left alone. Returns
 * CODEC_MALFORMED with a message in err when the result is not finite.
 */
enum codec_err codec_apply_scale(const struct cfg_point *pt, struct codec_value *v, char *err,
                                 size_t errlen);

/*
 * Format v as a JSON value into buf: "true"/"false", exact integers, doubles
 * in the shortest form that reads back to the same double (%.15g..%.17g).
 * A non-finite double (never produced by the codecs) prints "null".
 * Returns 0, or -1 when buf is too small (buf then holds a terminated
 * prefix). 32 bytes are always enough.
 */
int codec_format_value(const struct codec_value *v, char *buf, size_t size);


/*
 * Decode one point from regs[0..n-1], the registers as they came off the
 * wire in address order, starting at the point's address. For coil and
 * discrete points each element is one bit (non-zero is true) and the type
 * must be bool. For registers: bool is "regs[0] non-zero", or bit pt->bit
 * (0..15) of regs[0] when pt->bit >= 0; other types per type and endian,
 * then scale and offset (codec_apply_scale). n must be at least the type's
 * width; extra registers are ignored. A float32 becomes the double nearest
 * to its shortest decimal form (0x42f6e979 is 123.456, as a device's own
 * display shows it, not 123.45600128173828); (float) of it is the same
 * float, so encoding it gives the same registers.
 *
 * Returns CODEC_OK and sets *out; otherwise *out is zeroed and err holds a
 * sentence: CODEC_MALFORMED for NaN/Inf floats or too few registers,
 * CODEC_INVALID for a point that cannot be decoded (bad bit, non-bool
 * coil). err may be NULL.
 */
enum codec_err mbc_decode(const struct cfg_point *pt, const uint16_t *regs, size_t n,
                          struct codec_value *out, char *err, size_t errlen);

/*
 * The decoding step without point or scale: type and endian only (bit -1
 * for "non-zero"). Same returns as mbc_decode.
 */
enum codec_err mbc_decode_raw(enum cfg_vtype type, enum cfg_endian endian, int bit,
                              const uint16_t *regs, size_t n, struct codec_value *out, char *err,
                              size_t errlen);

/*
 * Encode v as type in the given byte order into regs[0..width-1] (n must be
 * at least the type's width). v may be of any kind as long as it is exactly
 * representable: an integer type takes an integral double or an integer in
 * range, a float32 takes any finite double (rounded to float) and a float64
 * any finite double; integers to floats may round. bool takes a bool or
 * 0/1; with bit >= 0 it sets or clears that bit of regs[0] and keeps the
 * others, otherwise it writes 1 or 0. Returns CODEC_OK, CODEC_RANGE when
 * the value does not fit (regs untouched), CODEC_INVALID for bad arguments.
 */
enum codec_err mbc_encode_raw(enum cfg_vtype type, enum cfg_endian endian, int bit,
                              const struct codec_value *v, uint16_t *regs, size_t n, char *err,
                              size_t errlen);

/*
 * The simulator's inverse of mbc_decode: a physical value (after scale and
 * offset) into the point's registers. When pt->scaled the raw value is
 * (value - offset) / scale; integer types round it to the nearest integer
 * (halves away from zero). Bool points take value != 0 (a bool with a bit
 * keeps the other bits of regs[0], so initialise it). Same returns as
 * mbc_encode_raw.
 */
enum codec_err mbc_encode_point(const struct cfg_point *pt, double value, uint16_t *regs,
                                size_t n, char *err, size_t errlen);

#endif
