/* SPDX-License-Identifier: Apache-2.0 */
/*
 * simcfg: the restock-sim configuration file (SPEC section 13) as plain
 * typed structs. One YAML file with a `shop:` section (the sandbox shop of
 * SPEC section 9), a `devices:` section (simulated Modbus TCP and CoAP
 * devices whose consumables deplete by profile) and an optional
 * `simulation:` section (seed, tick, simulated start). docs/simulator.md
 * is the reference of the device half, docs/sandbox-shop.md of the shop.
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
  double jitter;            /* lead-time pacing: an order arrives after its longest lead
                               time x (1 +- jitter), uniform; default 0.1 */
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

/* ---- simulated devices (docs/simulator.md) ---- */

enum simcfg_transport { SIMCFG_TR_MODBUS_TCP, SIMCFG_TR_COAP };

/* How a consumable's value moves with (simulated) time. */
enum simcfg_kind {
  SIMCFG_KIND_LINEAR,   /* full -> empty in `life`, then stays at empty */
  SIMCFG_KIND_WEEKLY,   /* linear, but wears only during duty hours */
  SIMCFG_KIND_CLOGGING, /* full -> empty along an exponential curve */
  SIMCFG_KIND_COUNTER   /* counts from full, reaches empty after `life`, keeps counting */
};

/* When a machine runs: days (bit 0 Monday .. bit 6 Sunday), hours [from, to) in UTC. */
struct simcfg_duty {
  bool set;
  unsigned days;
  int from_h, to_h;
};

struct simcfg_consumable {
  const char *id;
  int line, col;
  const char *point_id;
  size_t point; /* index into the device's dev.points */
  const char *sku; /* NULL: never replaced by a delivery */
  int64_t replace_after_ms; /* simulated time to fit a spare once the part is worn, default 2h */
  int64_t spares;           /* units on the shelf at start, default 0 */
  double swap_at;           /* remaining share at or below which a spare is fitted, default 0.05 */
  enum simcfg_kind kind;
  double full, empty;  /* point values of a new and of a worn-out part */
  int64_t life_ms;     /* simulated (operating) time from full to empty */
  double start_level;  /* remaining fraction at start, 0..1, default 1 */
  double steepness;    /* clogging: k of (e^(k u) - 1) / (e^k - 1), default 4 */
  double noise;        /* standard deviation, in the point's unit, default 0 */
  double glitch_rate;  /* glitches per simulated day, default 0 */
  double glitch_size;  /* jump of a glitch, default half of |empty - full| */
  int64_t glitch_for_ms; /* simulated length of one glitch, default 10m */
  struct simcfg_duty duty; /* weekly: default Mon-Fri 06-22; others: always */
  int64_t rate_after_ms;   /* rate_change.after: simulated time since the start; 0: none */
  double rate_factor;      /* rate_change.factor: wear rate from then on, x the life's */
};

/* A push button (a bool point) that the sim presses at simulated times. */
struct simcfg_button {
  const char *point_id;
  size_t point;
  int line, col;
  int64_t *press_at_ms; /* simulated time since the start */
  size_t n_press_at;
  int64_t every_ms; /* 0: no repetition */
  int64_t hold_ms;  /* how long a press holds the point true, default 1h */
};

struct simcfg_device {
  const char *id;
  int line, col;
  enum simcfg_transport transport;
  const char *host; /* IPv4 literal to listen on, default 127.0.0.1 */
  uint16_t port;    /* 0: any free port (printed at start) */
  int unit_id;      /* modbus-tcp, default 1 */
  /*
   * The register map in restock's own types (id, table, address, type,
   * endian resolved, bit, width, scale, offset; CoAP path, format, pointer,
   * name, observe), so adapters/modbus_codec.h encodes exactly what restock
   * decodes. dev.id is the device id; the transport fields are not used.
   */
  struct cfg_device dev;
  double *values; /* per point: a constant value, NAN when none */
  struct simcfg_consumable *consumables;
  size_t n_consumables;
  struct simcfg_button *buttons;
  size_t n_buttons;
};

struct simcfg {
  struct rs_arena *arena;
  const char *path; /* the file as given */
  struct simcfg_shop shop;
  bool devices_present; /* `devices:` given */
  struct simcfg_device *devices;
  size_t n_devices;
  uint64_t seed;        /* simulation.seed, default 1 */
  int64_t tick_ms;      /* simulation.tick: real time between updates, default 200ms */
  bool start_set;       /* simulation.start given */
  int64_t start_wall_ms; /* simulated wall time at start (default: the real time) */
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

/* Name of a profile kind as written ("linear"). */
const char *simcfg_kind_name(enum simcfg_kind k);

/* The product with this SKU, or NULL. */
const struct simcfg_product *simcfg_find_product(const struct simcfg_shop *shop, const char *sku);

#endif
