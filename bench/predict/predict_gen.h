/* SPDX-License-Identifier: Apache-2.0 */
/*
 * predict_gen: seeded generator of consumable traces for bench/predict and
 * tests/test_predict_families.c. Eight families that resemble plants rather
 * than textbooks (docs/BENCHMARKS.md, "Prediction"): bursty office ink,
 * clogging hydraulic filters with pump stops, water counters with resets
 * and a 16-bit wrap, bearing hours with shifts, holidays and DST, tyres read
 * once a working day, rate changes, replacements of other kinds (XL,
 * refills, retreads) and stuck sensors with dropouts. Every parameter is
 * drawn per trace from the caller's random state. Owns its arrays: free
 * with gen_free().
 */
#ifndef RS_PREDICT_GEN_H
#define RS_PREDICT_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "rules/predict.h"

#define GEN_MAX_SEG 4
#define GEN_MAX_CLOSED 40

enum gen_family {
  GEN_INK,
  GEN_CLOG,
  GEN_WATER,
  GEN_BEARING,
  GEN_TYRE,
  GEN_RATE,
  GEN_REPLACE,
  GEN_STUCK,
  GEN_COUNT
};

extern const char *const gen_family_name[GEN_COUNT];

/* One part's life in a trace. */
struct gen_segment {
  int64_t install_ms; /* the part went in */
  int64_t end_ms;     /* replaced (or the trace ends) */
  int64_t empty_ms;   /* when it is (or would have been) empty */
  double empty_u;     /* the baseline's value (see u below) at which it is empty */
  int64_t change_ms;  /* rate-change family: when the rate changed (INT64_MAX: none) */
};

struct gen_trace {
  struct predict_params params;
  int64_t *t;
  double *v; /* what the device reports */
  double *u; /* the same, unwrapped (counters), NAN while a pump is off: the baseline's input */
  size_t n, cap;
  struct gen_segment seg[GEN_MAX_SEG];
  size_t n_seg;
  /* the plant suite's planned closed periods (public holidays, Christmas and summer
     shutdowns: known in advance; not breakdowns), UTC ms [from, to), sorted, merged;
     none in the default suite. bench_predict --calendar gives them to the figures. */
  int64_t closed_ms[GEN_MAX_CLOSED][2];
  size_t n_closed;
};

/* xorshift64* state; seed with gen_seed(). */
struct gen_rng {
  uint64_t s;
};
void gen_seed(struct gen_rng *r, uint64_t seed, unsigned stream);
double gen_urand(struct gen_rng *r);

/* Uniform in [a, b); standard normal (Box-Muller); v rounded to a step q (q <= 0: v). */
double gen_uni(struct gen_rng *r, double a, double b);
double gen_gauss(struct gen_rng *r);
double gen_quantise(double v, double q);

/* Fill tr (previous contents replaced; arrays reused) with one trace of family f. */
void gen_trace(struct gen_trace *tr, enum gen_family f, struct gen_rng *r);

void gen_free(struct gen_trace *tr);

/* Append a reading (time t, reported v, unwrapped u) to tr, growing it. */
void gen_trace_push(struct gen_trace *tr, int64_t t, double v, double u);

#endif
