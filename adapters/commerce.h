/* SPDX-License-Identifier: Apache-2.0 */
/*
 * commerce: the client side of the commerce REST API (SPEC section 9,
 * docs/commerce-api.yaml), with libcurl and jansson. Pure of pipeline logic:
 * it builds an order body, sends one attempt, and says what the answer
 * means; retry scheduling, storage and order states belong to the caller.
 *
 *   body = commerce_build_body(cfg, order)    once, stored by the caller
 *   commerce_submit(client, order_id, body)   one POST, Idempotency-Key: order_id
 *     -> SUBMITTED  2xx with {"id","status"}: the shop's id is kept
 *     -> RETRY      timeout, connection error, 408, 409, 429, 5xx, or an
 *                   answer that is not the expected JSON (excerpt kept)
 *     -> WAIT_AUTH  401, 403: credentials, not the order
 *     -> FAILED     422 and other 4xx: the shop's message is kept
 *   commerce_backoff_delay()                  when to try again
 *
 * A client is used by one thread at a time. All timeouts are real time.
 * Secrets (token, password) are read once at creation and never logged.
 */
#ifndef RS_COMMERCE_H
#define RS_COMMERCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

#define COMMERCE_KEY_MAX     64  /* Idempotency-Key and ids, in characters */
#define COMMERCE_EXCERPT_MAX 200 /* bytes of an unexpected answer kept for the log */

/* ---- the order to send ---- */

struct commerce_line {
  const char *sku;
  int64_t quantity; /* >= 1 */
  bool has_unit_price;
  int64_t unit_price; /* minor units of the order's currency */
};

struct commerce_order {
  const char *id;       /* the gateway's order id: reference and Idempotency-Key */
  const char *currency; /* ISO 4217 */
  const struct commerce_line *lines;
  size_t n_lines;
};

/*
 * Build the POST body once, as canonical JSON: compact, keys sorted, money
 * as decimal strings in the currency's decimals, ship_to.postcode left out
 * when not configured. Takes customer_id and ship_to from cfg->commerce.
 * Returns 0 and sets *out (malloc'd, the caller stores it and resends it byte
 * for byte), or -1 with a sentence in err and *out NULL.
 */
int commerce_build_body(const struct cfg *cfg, const struct commerce_order *order, char **out,
                        char *err, size_t errlen);

/* ---- results ---- */

enum commerce_outcome { COMMERCE_SUBMITTED, COMMERCE_RETRY, COMMERCE_WAIT_AUTH, COMMERCE_FAILED };

struct commerce_result {
  enum commerce_outcome outcome;
  long http_status;                       /* 0: no HTTP answer (timeout, connection error) */
  char shop_id[COMMERCE_KEY_MAX + 1];     /* SUBMITTED: the shop's order id */
  char shop_status[32];                   /* SUBMITTED: the shop's status ("accepted") */
  int64_t retry_after_ms;                 /* Retry-After as a delay (real ms), -1 when absent */
  char error_code[64];                    /* the shop's error.code, when it sent one */
  char message[256];                      /* FAILED: the shop's message; otherwise why */
  char excerpt[COMMERCE_EXCERPT_MAX + 1]; /* start of the body, controls as '.' */
};

const char *commerce_outcome_name(enum commerce_outcome o);

/*
 * Classify the answer to an order POST: HTTP status, the Retry-After header
 * value (NULL when absent), the wall time now (Unix ms, for an HTTP-date) and
 * the body bytes (need not be terminated). Pure; fills every field of *r.
 * Returns r->outcome.
 */
enum commerce_outcome commerce_classify(long status, const char *retry_after, int64_t now_wall_ms,
                                        const char *body, size_t len, struct commerce_result *r);

/*
 * Parse a Retry-After value, either delay-seconds ("120") or an HTTP-date
 * ("Wed, 21 Oct 2026 07:28:00 GMT"), into a delay from now_wall_ms (a date
 * in the past gives 0). Delays are capped at 7 days. Returns 0 and sets
 * *out_ms, or -1 when the value is neither.
 */
int commerce_parse_retry_after(const char *value, int64_t now_wall_ms, int64_t *out_ms);

/* ---- the client ---- */

struct commerce_client;

/*
 * A client for cfg->commerce (base_url, auth, ca_file, timeout). Reads the
 * token or password file now (relative paths: relative to cfg->dir). cfg
 * must outlive the client. Returns 0 and sets *out, or -1 with a sentence in
 * err (naming the file, never its contents) and *out NULL.
 */
int commerce_client_new(const struct cfg *cfg, struct commerce_client **out, char *err,
                        size_t errlen);
void commerce_client_free(struct commerce_client *c);

/*
 * One POST {base}/orders with Idempotency-Key: order_id and the stored body.
 * Never retries by itself and never lets libcurl resend. Fills *r; returns
 * r->outcome. An order id that cannot be a key (empty, over 64 characters,
 * not printable ASCII) is FAILED without sending.
 */
enum commerce_outcome commerce_submit(struct commerce_client *c, const char *order_id,
                                      const char *body, struct commerce_result *r);

/* What a GET found. */
enum commerce_lookup {
  COMMERCE_LOOKUP_OK,
  COMMERCE_LOOKUP_NONE,      /* 404: no such order / no information on the product */
  COMMERCE_LOOKUP_RETRY,     /* timeout, connection error, 408, 429, 5xx */
  COMMERCE_LOOKUP_WAIT_AUTH, /* 401, 403 */
  COMMERCE_LOOKUP_BAD        /* another status, not the expected JSON, an unknown status */
};

const char *commerce_lookup_name(enum commerce_lookup l);

enum commerce_shop_status {
  COMMERCE_ST_ACCEPTED,
  COMMERCE_ST_SHIPPED,
  COMMERCE_ST_DELIVERED,
  COMMERCE_ST_CANCELLED
};

struct commerce_order_info {
  long http_status;
  char id[COMMERCE_KEY_MAX + 1];
  enum commerce_shop_status status;
  char status_text[32];   /* as sent (also for an unknown status) */
  char tracking[128];     /* "" when absent */
  int64_t retry_after_ms; /* -1 when absent */
  char message[256];      /* why, when not OK */
  char excerpt[COMMERCE_EXCERPT_MAX + 1];
};

struct commerce_product {
  long http_status;
  char sku[COMMERCE_KEY_MAX + 1];
  char currency[4];
  int64_t unit_price;       /* minor units of currency */
  char unit_price_text[32]; /* as sent */
  double lead_time_days;
  bool available;
  int64_t retry_after_ms;
  char message[256];
  char excerpt[COMMERCE_EXCERPT_MAX + 1];
};

/* Pure parsers of the GET answers (status, Retry-After, body). */
enum commerce_lookup commerce_parse_order_info(long status, const char *retry_after,
                                               int64_t now_wall_ms, const char *body, size_t len,
                                               struct commerce_order_info *out);
enum commerce_lookup commerce_parse_product(long status, const char *retry_after,
                                            int64_t now_wall_ms, const char *body, size_t len,
                                            struct commerce_product *out);

/* GET {base}/orders/{shop_id} and GET {base}/products/{sku} (percent-encoded). */
enum commerce_lookup commerce_get_order(struct commerce_client *c, const char *shop_id,
                                        struct commerce_order_info *out);
enum commerce_lookup commerce_get_product(struct commerce_client *c, const char *sku,
                                          struct commerce_product *out);

/* ---- backoff ---- */

struct commerce_backoff {
  int64_t base_ms; /* first ceiling, e.g. 1000 */
  int64_t cap_ms;  /* the longest backoff, e.g. 3600000 */
};

/* Seedable RNG (splitmix64) for the jitter: state in, next value out. */
uint64_t commerce_rng_next(uint64_t *state);

/*
 * The delay before retry number `attempt` (0 for the first retry), in real
 * ms: full jitter, uniform in [0, min(cap, base * 2^attempt)], drawn from
 * *rng; then at least retry_after_ms when the shop sent one (-1: none), so
 * Retry-After is a floor that may exceed the cap. Pure.
 */
int64_t commerce_backoff_delay(const struct commerce_backoff *b, unsigned attempt,
                               int64_t retry_after_ms, uint64_t *rng);

#endif
