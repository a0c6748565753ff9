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
 * Two ways to talk to the shop:
 *
 *   struct commerce (below): the instance the pipeline uses, shaped like the
 *   device adapters (adapters/adapter.h): a backend's `static const struct
 *   commerce_ops` table, an instance, and commerce_*() wrappers. A request
 *   is started and its answer handed to a callback: the "curl-multi"
 *   backend runs libcurl's multi interface on the daemon's event loop
 *   (base/evloop.h) and never blocks; the "curl" backend performs the
 *   request at once (tools, tests without a loop) and calls back before
 *   commerce_start() returns. Tests plug in a scripted backend of their own.
 *
 *   struct commerce_client: one blocking request per call (commerce_submit,
 *   commerce_get), what the "curl" backend uses.
 *
 * Name lookups use libcurl's threaded resolver and are bounded by
 * commerce.timeout like the rest of a request. All timeouts are real time.
 * Secrets (token, password) are read once at creation and never logged.
 * Everything runs on one thread at a time.
 */
#ifndef RS_COMMERCE_H
#define RS_COMMERCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/evloop.h"
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
 * A fingerprint of cfg's commerce credentials: the auth type, the username
 * and the line of the token or password file, read now. Equal credentials
 * give equal fingerprints; 0 when the secret cannot be read. Not a secret's
 * hash to show anyone: compare it, never log it.
 */
uint64_t commerce_credentials_fp(const struct cfg *cfg);

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

/* What to ask the shop. */
enum commerce_req {
  COMMERCE_REQ_SUBMIT,  /* POST {base}/orders, key = order id, with the stored body */
  COMMERCE_REQ_ORDER,   /* GET {base}/orders/{key}, key = the shop's order id */
  COMMERCE_REQ_PRODUCT  /* GET {base}/products/{key}, key = a SKU */
};

/* The answer to one request; which fields are set depends on req. */
struct commerce_answer {
  enum commerce_req req;
  const char *key;                  /* as asked; valid during the callback only */
  struct commerce_result result;    /* SUBMIT */
  enum commerce_lookup lookup;      /* ORDER, PRODUCT */
  struct commerce_order_info order; /* ORDER */
  struct commerce_product product;  /* PRODUCT */
};

/*
 * One GET (req ORDER or PRODUCT; the key percent-encoded) with the
 * blocking client. Fills out->lookup and out->order or out->product;
 * returns out->lookup. A timeout or connection error is
 * COMMERCE_LOOKUP_RETRY with the reason in the message.
 */
enum commerce_lookup commerce_get(struct commerce_client *c, enum commerce_req req,
                                  const char *key, struct commerce_answer *out);

/* ---- the instance (the pipeline's shop) ---- */

/* Called once per started request with its answer (a is valid during the call). */
typedef void (*commerce_done_fn)(void *ud, const struct commerce_answer *a);

struct commerce;

struct commerce_ops {
  const char *name; /* "curl", "curl-multi", or a test's own */

  /* Required. Set c->priv for c->cfg; 0, or -1 with a sentence in err (priv NULL). */
  int (*open)(struct commerce *c, char *err, size_t errlen);

  /* Required. Abandon requests in flight (their callbacks never run) and free c->priv. */
  void (*close)(struct commerce *c);

  /*
   * Required. Start one request; body is the stored order body for SUBMIT
   * (copied), NULL otherwise. done(ud, answer) runs exactly once, on the
   * loop thread, maybe before start returns. At most c->max_in_flight
   * requests are on the wire at once; the others wait their turn in order,
   * and each one's timeout starts when it goes on the wire. Returns 0, or -1
   * when the request cannot be made (out of memory): done is then not called.
   */
  int (*start)(struct commerce *c, enum commerce_req req, const char *key, const char *body,
               commerce_done_fn done, void *ud);

  /* Optional. Requests started whose callback has not run yet (0 without). */
  size_t (*outstanding)(const struct commerce *c);
};

/* One shop client. The caller fills ops, cfg, loop, env and max_in_flight, then opens. */
struct commerce {
  const struct commerce_ops *ops;
  void *priv;               /* the backend's own state */
  const struct cfg *cfg;    /* commerce section; must outlive the instance */
  struct evloop *loop;      /* where a non-blocking backend runs; may be NULL for "curl" */
  void *env;                /* a test backend's own context */
  unsigned max_in_flight;   /* requests on the wire at once; 0: COMMERCE_MAX_IN_FLIGHT */
};

/* Default for commerce.max_in_flight (K). */
#define COMMERCE_MAX_IN_FLIGHT 4

/* The libcurl backend: "curl-multi" on loop when loop is not NULL, else blocking "curl". */
const struct commerce_ops *commerce_curl_backend(const struct evloop *loop);

/* --- wrappers: call these, never c->ops->x --- */

static inline const char *commerce_name(const struct commerce *c)
{
  return c->ops->name;
}

static inline int commerce_open(struct commerce *c, char *err, size_t errlen)
{
  return c->ops->open(c, err, errlen);
}

static inline void commerce_close(struct commerce *c)
{
  if(c->priv)
    c->ops->close(c);
  c->priv = NULL;
}

static inline int commerce_start(struct commerce *c, enum commerce_req req, const char *key,
                                 const char *body, commerce_done_fn done, void *ud)
{
  return c->ops->start(c, req, key, body, done, ud);
}

static inline size_t commerce_outstanding(const struct commerce *c)
{
  return c->ops->outstanding ? c->ops->outstanding(c) : 0;
}

/* ---- backoff ---- */

struct commerce_backoff {
  int64_t base_ms; /* first ceiling, e.g. 1000 */
  int64_t cap_ms;  /* the longest backoff, e.g. 3600000 */
};

/*
 * The delay before retry number `attempt` (0 for the first retry), in real
 * ms: full jitter, uniform in [0, min(cap, base * 2^attempt)], drawn from
 * *rng; then at least retry_after_ms when the shop sent one (-1: none), so
 * Retry-After is a floor that may exceed the cap. Pure.
 */
int64_t commerce_backoff_delay(const struct commerce_backoff *b, unsigned attempt,
                               int64_t retry_after_ms, uint64_t *rng);

#endif
