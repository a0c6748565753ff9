/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests only: what the predictor's unit tests share (test_predict.c,
 * test_predict_stops.c): the time units, the deterministic noise their
 * traces are drawn with, and a level or usage part's parameters.
 * Header-only (static), one copy per test program.
 */
#ifndef RS_TESTS_PREDICT_TEST_H
#define RS_TESTS_PREDICT_TEST_H

#include <stdint.h>

#include "rules/predict.h"

#define MIN_MS  INT64_C(60000)
#define HOUR_MS INT64_C(3600000)
#define DAY_MS  (24 * HOUR_MS)
#define T0      INT64_C(1767225600000) /* 2026-01-01T00:00:00Z, a Thursday */

/* Deterministic noise in [-1, 1] (xorshift), so every run sees the same trace. */
static uint64_t rng_state;
static inline double noise1(void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (double)(rng_state >> 11) / (double)(UINT64_C(1) << 52) - 1.0;
}

/* A level part's parameters: the value when new (full) and when worn (empty). */
static inline void level_params(struct predict_params *pp, double full, double empty)
{
  predict_params_default(pp, PREDICT_MODEL_LEVEL);
  pp->full = full;
  pp->empty = empty;
}

/* A usage part's parameters: its life in counter units, the count when it was new. */
static inline void usage_params(struct predict_params *pp, double life, double start)
{
  predict_params_default(pp, PREDICT_MODEL_USAGE);
  pp->life = life;
  pp->start = start;
}

#endif
