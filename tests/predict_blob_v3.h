/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests only: the version 3 state blob (session 5's predict_save() format)
 * of the state a version 4 blob holds, to check that older blobs are still
 * migrated on load. Header-only (static), for test_predict.c and
 * test_reading_predict.c.
 */
#ifndef RS_TESTS_PREDICT_BLOB_V3_H
#define RS_TESTS_PREDICT_BLOB_V3_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/codec.h"

/* Offset of the saved full/empty/life (3 doubles) in both versions: header
   12, 5 times, 7 doubles, 5 u32, the held readings (2 + 8 + 16 x 2). */
#define BLOB_V3_MAPPING_AT (12 + 5 * 8 + 7 * 8 + 5 * 4 + 2 + 8 + 16 * 2)

static double blob_v3_f64(const uint8_t *b)
{
  uint64_t u = 0;
  double d;
  int k;
  for(k = 7; k >= 0; k--)
    u = u << 8 | b[k];
  memcpy(&d, &u, sizeof(d));
  return d;
}

/*
 * Write to b3 the version 3 blob of the version 4 blob b4 (len4 bytes):
 * the same fields up to the replacement intervals, without the value step,
 * the fit flag and the worn-out moment, and each bucket as its time in
 * seconds (uint32) and its model value (float), under the full/empty/life
 * the blob records. exact_s: times in exact seconds with the unit byte 0,
 * as before the unit was saved. Returns the length written (b3 needs
 * len4 + 4 x buckets bytes).
 */
static size_t predict_blob_v3_of(const uint8_t *b4, size_t len4, bool exact_s, uint8_t *b3)
{
  size_t n = (size_t)b4[6] | (size_t)b4[7] << 8, common = len4 - 4 - 10 - 4 * n, i, len;
  unsigned t_shift = b4[11], x_shift = b4[common];
  double full = blob_v3_f64(b4 + BLOB_V3_MAPPING_AT);
  double empty = blob_v3_f64(b4 + BLOB_V3_MAPPING_AT + 8);
  double life = blob_v3_f64(b4 + BLOB_V3_MAPPING_AT + 16);
  bool usage = b4[5] == 1;
  uint32_t crc;
  memcpy(b3, b4, common);
  b3[4] = 3;
  if(exact_s)
    b3[11] = 0;
  len = common;
  for(i = 0; i < n; i++) {
    const uint8_t *q = b4 + common + 10 + 4 * i;
    uint32_t t = ((uint32_t)q[0] | (uint32_t)q[1] << 8) << t_shift, xb;
    int16_t v = (int16_t)(uint16_t)((uint32_t)q[2] | (uint32_t)q[3] << 8);
    double r = 0.5 + ldexp((double)v, (int)x_shift - 15);
    float x = (float)(usage ? (1.0 - r) * life : empty + r * (full - empty));
    int k;
    memcpy(&xb, &x, 4);
    for(k = 0; k < 4; k++)
      b3[len++] = (uint8_t)(t >> (8 * k));
    for(k = 0; k < 4; k++)
      b3[len++] = (uint8_t)(xb >> (8 * k));
  }
  crc = codec_crc32(b3, len);
  for(i = 0; i < 4; i++)
    b3[len++] = (uint8_t)(crc >> (8 * i));
  return len;
}

#endif
