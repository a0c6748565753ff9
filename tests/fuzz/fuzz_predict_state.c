/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the predictor state blob (rules/predict.c), the one
 * input of the predictor read back from storage: restore the input under
 * each model; when it loads, it must evaluate, accept readings, and save to
 * a blob that loads again and evaluates identically. Must never crash, read
 * past the input or trip a sanitizer. Seeds (blobs from predict_save()):
 * tests/fuzz/corpus/predict_state/.
 */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "rules/predict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_or_abort(const struct prediction *a, const struct prediction *b)
{
  if(memcmp(&a->days_left, &b->days_left, sizeof(double)) ||
     memcmp(&a->confidence, &b->confidence, sizeof(double)) || a->empty_at_ms != b->empty_at_ms ||
     memcmp(&a->days_left_p10, &b->days_left_p10, sizeof(double)) ||
     memcmp(&a->days_left_p90, &b->days_left_p90, sizeof(double)))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const enum predict_model models[] = {PREDICT_MODEL_LEVEL, PREDICT_MODEL_USAGE,
                                              PREDICT_MODEL_BUTTON};
  /* copy into an exact-size heap buffer so ASan catches any read past size */
  uint8_t *buf;
  size_t i;
  bool fix = size >= 9 && data[0] == 'C';
  /* An input starting with 'C' is a blob after that byte whose checksum
     (the last four bytes) is made valid, so the fuzzer reaches the field
     checks behind the CRC. */
  if(fix) {
    data++;
    size--;
  }
  buf = malloc(size ? size : 1);
  if(!buf)
    return 0;
  if(size)
    memcpy(buf, data, size);
  if(fix) {
    uint32_t c = codec_crc32(buf, size - 4);
    buf[size - 4] = (uint8_t)c;
    buf[size - 3] = (uint8_t)(c >> 8);
    buf[size - 2] = (uint8_t)(c >> 16);
    buf[size - 1] = (uint8_t)(c >> 24);
  }
  for(i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
    struct predict_params pp;
    struct predictor p, q;
    struct prediction a, b;
    uint8_t out[PREDICT_STATE_MAX];
    size_t len = 0;
    int64_t now;
    predict_params_default(&pp, models[i]);
    pp.full = 0.2;
    pp.empty = 3.5;
    pp.life = 2000;
    if(predict_load(&p, &pp, buf, size) != PREDICT_OK)
      continue;
    now = predict_last_ms(&p) == INT64_MIN ? 0 : predict_last_ms(&p);
    predict_eval(&p, now, &a);
    if(a.confidence < 0 || a.confidence > 1 || a.days_left < 0 || isnan(a.days_left))
      abort();
    /* the bounds: never NaN or negative, a risk is a probability */
    if(isnan(a.days_left_p10) || isnan(a.days_left_p90) || a.days_left_p10 < 0 ||
       a.days_left_p90 < 0)
      abort();
    {
      double risk = predict_risk_within(a.days_left_p10, a.days_left_p90, 5.0);
      if(!(risk >= 0 && risk <= 1))
        abort();
    }
    (void)predict_typical_life_days(&p, &a);
    if(predict_save(&p, out, sizeof(out), &len) != PREDICT_OK)
      abort();
    if(predict_load(&q, &pp, out, len) != PREDICT_OK)
      abort();
    predict_eval(&q, now, &b);
    same_or_abort(&a, &b);
    if(now < INT64_MAX - 86400000) {
      predict_add(&p, now + 3600000, 1.0, NULL);
      predict_add(&p, now + 7200000, 0.5, NULL);
      predict_eval(&p, now + 86400000, &a);
    }
  }
  free(buf);
  return 0;
}
