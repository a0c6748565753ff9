/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gen_plant: bench/predict's second, harsher trace suite (`bench_predict
 * --suite plant`; issue 12: "your own test data is kinder than a plant").
 * The same eight family names as predict_gen.c, written independently and
 * closer to what plants do: busy and quiet WEEKS (correlated load), public
 * holidays and shutdowns, gradual and repeated rate changes (some inside the
 * last lead time), irregular polls with gaps and report-by-exception
 * devices, correlated (AR(1)) and daily sensor noise, delayed counter
 * resets, early and late replacements, sensors stuck until the part is
 * replaced. Fills the same struct gen_trace as predict_gen.c (truth in its
 * segments), so bench_predict's figures are the same figures.
 * bench/predict/README.md says what each family models and why.
 */
#ifndef RS_GEN_PLANT_H
#define RS_GEN_PLANT_H

#include "bench/predict/predict_gen.h"

enum gen_plant_family {
  GEN_PLANT_INK,
  GEN_PLANT_CLOG,
  GEN_PLANT_WATER,
  GEN_PLANT_BEARING,
  GEN_PLANT_TYRE,
  GEN_PLANT_RATE,
  GEN_PLANT_REPLACE,
  GEN_PLANT_STUCK,
  GEN_PLANT_COUNT
};

extern const char *const gen_plant_family_name[GEN_PLANT_COUNT];

/*
 * Fill tr (previous contents replaced, arrays reused; free with gen_free())
 * with one trace of family f (0..GEN_PLANT_COUNT-1), every parameter drawn
 * from r. At most GEN_MAX_SEG parts. Aborts when out of memory.
 */
void gen_plant_trace(struct gen_trace *tr, int f, struct gen_rng *r);

#endif
