/* SPDX-License-Identifier: Apache-2.0 */
/*
 * expr: the `when` expression of a reorder rule (SPEC section 7), compiled
 * once at load time by a recursive-descent parser and evaluated many times.
 * Pure: no I/O, no clock, no globals.
 *
 * Grammar (lowest precedence first):
 *   or_expr   := and_expr ("or" and_expr)*
 *   and_expr  := not_expr ("and" not_expr)*
 *   not_expr  := "not" not_expr | cmp_expr        (not a < b == not (a < b))
 *   cmp_expr  := sum (("<"|"<="|">"|">="|"=="|"!=") sum)?
 *   sum       := product (("+"|"-") product)*
 *   product   := unary (("*"|"/") unary)*
 *   unary     := "-" unary | primary
 *   primary   := NUMBER | "inf" | VARIABLE | "(" or_expr ")"
 *              | ("min"|"max") "(" sum ("," sum)+ ")" | "abs" "(" sum ")"
 * Types: numbers and conditions. Arithmetic and comparison take numbers;
 * and/or/not take conditions; the whole expression must be a condition.
 * Arithmetic follows IEEE 754 (x/0 = inf, inf - inf = nan; a comparison
 * with nan is false).
 */
#ifndef RS_EXPR_H
#define RS_EXPR_H

#include <stddef.h>

/* The variables a rule may read, in this order (SPEC section 7). */
enum expr_var {
  EXPR_VAR_LEVEL_PCT,
  EXPR_VAR_DAYS_LEFT,
  EXPR_VAR_COVER_DAYS,
  EXPR_VAR_RATE_PER_DAY,
  EXPR_VAR_CONFIDENCE,
  EXPR_VAR_LEAD_TIME_DAYS,
  EXPR_VAR_SPARES,
  EXPR_VAR_VALUE,
  EXPR_VAR_HOURS_SINCE_REPLACEMENT,
  EXPR_VAR_OPEN_ORDERS,
  EXPR_VAR_ON_ORDER,      /* units on the open line not yet delivered or ended */
  EXPR_VAR_POSITION_DAYS, /* cover_days + on_order x typical life: installed + shelf + on the way */
  EXPR_VAR_DAYS_LEFT_P10,  /* 10 % quantile of days_left (docs/prediction.md, Bounds) */
  EXPR_VAR_DAYS_LEFT_P90,  /* 90 % quantile */
  EXPR_VAR_COVER_DAYS_P10, /* days_left_p10 + spares x typical life */
  EXPR_VAR_COVER_DAYS_P90,
  EXPR_VAR_RUNOUT_RISK,    /* chance (0..1) that the cover runs out within lead_time_days */
  EXPR_VAR_COUNT
};

/* Name of a variable as written in rules ("days_left"). */
const char *expr_var_name(enum expr_var v);

/* NULL-terminated list of every variable name, for "did you mean". */
extern const char *const expr_var_names[];

struct expr;

/* Why compilation failed: a full sentence and the byte offset in src. */
struct expr_error {
  size_t offset;   /* 0-based byte offset of the offending token in src */
  char msg[512];   /* e.g. "unknown variable 'dayz_left' (did you mean 'days_left'?)" */
};

/*
 * Compile src. Returns the compiled expression (free with expr_free), or
 * NULL with err filled. Never reads past len bytes; src need not be
 * NUL-terminated. Nesting deeper than 64 levels and sources over 4096 bytes
 * are refused with an error.
 */
struct expr *expr_compile(const char *src, size_t len, struct expr_error *err);
void expr_free(struct expr *e);

/*
 * Evaluate a compiled condition against vars (indexed by enum expr_var; use
 * INFINITY for "not depleting"). Returns 1 when the condition holds, else 0.
 */
int expr_eval(const struct expr *e, const double vars[EXPR_VAR_COUNT]);

/* Bit set of the variables e reads (bit v set when it reads variable v). */
unsigned expr_vars_used(const struct expr *e);

#endif
