/* SPDX-License-Identifier: Apache-2.0 */
/*
 * approve_int: what gateway/approve.c shares with gateway/approve_http.c
 * (not for other modules).
 */
#ifndef RS_APPROVE_INT_H
#define RS_APPROVE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "base/rs_util.h"
#include "gateway/store.h"
#include "gateway/token.h"

/* The secret for cfg (loaded on first use), or NULL (logged). */
const unsigned char *approve_key(const struct cfg *cfg);
/* "612.40 EUR" */
void approve_money(const char *currency, int64_t minor, char *buf, size_t size);
/* What the mail and the page show of one order line besides its names. */
struct approve_line_text {
  char unit[64];     /* unit price, as approve_money() writes it */
  char amount[64];   /* unit price x quantity */
  struct rs_buf fig; /* approve_figures_text() of its figures; rs_buf_free() it */
};
void approve_line_text(const struct store_order_line *l, struct approve_line_text *t);
/* The approval reasons of order_id (malloc'd array of strings); the count. */
size_t approve_reasons(struct store *st, const char *order_id, char ***out);
void approve_reasons_free(char **v, size_t n);

#endif
