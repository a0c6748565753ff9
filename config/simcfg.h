/* SPDX-License-Identifier: Apache-2.0 */
/*
 * simcfg: the restock-sim configuration file (SPEC section 13) as plain
 * typed structs. One YAML file with a `shop:` section (the sandbox shop of
 * SPEC section 9) and a reserved `devices:` section (the device simulator,
 * not built yet: accepted with a warning and ignored).
 *
 * Same rules as the gateway's config (SPEC section 3): libyaml, unknown keys,
 * wrong types and out-of-range values are errors naming file:line:column and
 * the key path; all errors of the file are reported. Everything lives in one
 * arena freed by simcfg_free().
 */
#ifndef RS_SIMCFG_H
#define RS_SIMCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/* Which shop requests a fault applies to (bit mask). */
#define SIMCFG_REQ_ORDERS_POST 1u /* POST {base}/orders */
#define SIMCFG_REQ_ORDERS_GET  2u /* GET {base}/orders/{id} */
#define SIMCFG_REQ_PRODUCTS    4u /* GET {base}/products/{sku} */
#define SIMCFG_REQ_ALL         7u

/* What every fault has: how often, how many times at most, on what. */
struct simcfg_fault {
  bool set;           /* the fault's key is present */
  double probability; /* 0..1, default 1 */
  int64_t times;      /* fire at most this many times; 0: no limit */
  unsigned requests;  /* SIMCFG_REQ_* mask, default all */
};

struct simcfg_product {
  const char *sku;
  int64_t unit_price_minor;
  const char *unit_price; /* canonical decimal string ("42.50") */
  const char *currency;
  int decimals; /* of the currency */
  int64_t lead_time_days;
  bool available; /* default true */
};

enum simcfg_auth { SIMCFG_AUTH_NONE, SIMCFG_AUTH_BEARER, SIMCFG_AUTH_BASIC };

struct simcfg_shop {
  bool set;              /* `shop:` present */
  const char *host;      /* listen host, an IPv4 literal ("127.0.0.1") */
  uint16_t port;         /* 0: any free port (printed at start) */
  const char *base_path; /* default "/api/v1", no trailing slash */
  const char *db_path;   /* relative paths: relative to the config file */
  struct simcfg_product *products;
  size_t n_products;
  int64_t ship_after_ms;    /* simulated time accepted -> shipped, default 1d */
  int64_t deliver_after_ms; /* simulated time shipped -> delivered, default 2d */
  int64_t processing_ms;    /* real time an order POST is "in progress", default 0 */
  enum simcfg_auth auth;
  const char *token; /* read from token_file (secret) */
  const char *username;
  const char *password; /* read from password_file (secret) */
  struct {
    uint64_t seed; /* default 1 */
    struct {
      struct simcfg_fault f;
      int64_t delay_ms; /* real time */
    } latency;
    struct {
      struct simcfg_fault f;
      int status; /* 500..599, default 500 */
    } error;
    struct {
      struct simcfg_fault f;
      int64_t retry_after_ms; /* default 1s */
      bool http_date;         /* Retry-After as an HTTP-date, else seconds */
    } rate_limit;
    struct {
      struct simcfg_fault f;
      bool after_processing; /* record the order, then drop (answer lost) */
    } drop;
    struct {
      struct simcfg_fault f;
      int status; /* default 502 */
    } html_error;
    struct {
      struct simcfg_fault f; /* the answer is cut in half (order recorded) */
    } truncated;
  } faults;
};

struct simcfg {
  struct rs_arena *arena;
  const char *path; /* the file as given */
  struct simcfg_shop shop;
  bool devices_present; /* `devices:` given (ignored by this build) */
};

/*
 * Load and validate the sim config file at path. Returns 0 and sets *out
 * (free with simcfg_free), or the number of errors (> 0) with *out NULL.
 * Errors and warnings are appended to diags (print with cfg_diags_print,
 * free with cfg_diags_free). Reads the secret files it names.
 */
int simcfg_load(const char *path, struct simcfg **out, struct cfg_diags *diags);

/* The same from a buffer; `path` names it in messages and anchors relative paths. */
int simcfg_load_buffer(const char *path, const char *data, size_t len, struct simcfg **out,
                       struct cfg_diags *diags);

void simcfg_free(struct simcfg *cfg);

/* The product with this SKU, or NULL. */
const struct simcfg_product *simcfg_find_product(const struct simcfg_shop *shop, const char *sku);

#endif
