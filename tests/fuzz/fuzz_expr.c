/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for rules/expr: compile the input as a `when`
 * expression; when it compiles, evaluate it against figures taken from a
 * table of awkward values (0, -0, tiny, huge, inf, nan), picked by the
 * input's bytes. Must never crash, leak or trip a sanitizer; a successful
 * compile must give a result of 0 or 1, and a failed one an offset within
 * the source and a non-empty message.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules/expr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const double awkward[] = {0.0,    -0.0,   1.0,      -1.0,      0.5, 3.0,   1e-300, 1e300,
                                 -1e300, 5e-324, INFINITY, -INFINITY, NAN, 100.0, 2.5,    7.0};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct expr_error err;
  struct expr *e;
  /* copy into an exact-size heap buffer so ASan catches any read past len */
  char *src = malloc(size ? size : 1);
  size_t i, round;

  if(!src)
    return 0;
  if(size)
    memcpy(src, data, size);
  e = expr_compile(src, size, &err);
  if(!e) {
    if(err.offset > size || !err.msg[0])
      abort();
    free(src);
    return 0;
  }
  (void)expr_vars_used(e);
  for(round = 0; round < 4; round++) {
    double vars[EXPR_VAR_COUNT];
    int r;
    for(i = 0; i < EXPR_VAR_COUNT; i++) {
      uint8_t b = size ? data[(i * 7 + round * 13) % size] : 0;
      vars[i] = awkward[(b + round + i) % (sizeof(awkward) / sizeof(awkward[0]))];
    }
    r = expr_eval(e, vars);
    if(r != 0 && r != 1)
      abort();
  }
  expr_free(e);
  free(src);
  return 0;
}
