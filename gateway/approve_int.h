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
/* When o last entered pending_approval (its updated time if no transition says). */
int64_t approve_pending_since(const struct store_order_full *o);
/* When o's links expire: pending since + link_ttl. */
int64_t approve_link_expiry(const struct cfg *cfg, const struct store_order_full *o);
/*
 * The token of approver for o as it is now (current lines, expiry) into
 * token (size > TOKEN_TEXT_MAX) and its hash. 0, or -1 (no secret; logged).
 */
int approve_token_for(const struct cfg *cfg, const struct store_order_full *o,
                      const char *approver, char *token, size_t size, char hash[TOKEN_HASH_HEX]);
/* "612.40 EUR" */
void approve_money(const char *currency, int64_t minor, char *buf, size_t size);
/* A rule's figures JSON object as "level_pct 12.5, days_left 3.2" (nothing if not an object). */
void approve_figures_text(const char *figures_json, struct rs_buf *out);
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
