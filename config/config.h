/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config: the whole configuration contract (SPEC sections 3 to 11) as plain
 * typed structs. cfg_load() reads a config dir (restock.yaml, devices.d/,
 * rules.d/) with libyaml, validates every key, then checks across files.
 * Everything else in restock reads these structs; nothing else knows YAML.
 *
 * Ownership: a struct cfg and everything it points to live in one arena,
 * freed by the last cfg_free() (cfg_ref() shares it). A loaded config is
 * immutable; reload builds a new one and swaps it in only when it is valid.
 *
 * Units: durations in milliseconds (int64_t), money in integer minor units
 * of the currency (int64_t), percentages as a double fraction 0..1.
 */
#ifndef RS_CONFIG_H
#define RS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct expr; /* rules/expr.h: a compiled `when` expression */
struct rs_arena;

#define CFG_ID_MAX 64

/* Where a value came from: file relative to the config dir, 1-based. */
/*
 * Half of the packaged unit's WatchdogSec (30 s): a commerce.timeout or
 * mail.timeout above it gets a warning from the loader (restockd --check).
 */
#define CFG_WATCHDOG_HALF_MS 15000

struct cfg_pos {
  const char *file;
  int line;
  int col;
};

/* A money amount, converted once the currency is known (phase two). */
struct cfg_money {
  bool set;
  int64_t minor;     /* integer minor units, e.g. cents */
  const char *text;  /* as written, for messages */
  struct cfg_pos pos;
};

struct cfg_kv {
  const char *key;
  const char *value;
};

/* ---- devices and points (SPEC 4) ---- */

enum cfg_transport { CFG_TR_MODBUS_TCP, CFG_TR_MODBUS_RTU, CFG_TR_COAP };
enum cfg_regtable { CFG_REG_COIL, CFG_REG_DISCRETE, CFG_REG_INPUT, CFG_REG_HOLDING };
enum cfg_vtype {
  CFG_VT_BOOL, CFG_VT_INT16, CFG_VT_UINT16, CFG_VT_INT32, CFG_VT_UINT32,
  CFG_VT_INT64, CFG_VT_UINT64, CFG_VT_FLOAT32, CFG_VT_FLOAT64
};
enum cfg_endian { CFG_END_ABCD, CFG_END_DCBA, CFG_END_BADC, CFG_END_CDAB };
enum cfg_format { CFG_FMT_TEXT, CFG_FMT_JSON, CFG_FMT_SENML };

struct cfg_device;

/* Ordered without padding holes, its small fields in one byte each (72 B, was
   88, 96, 112 and 128: RSS, one per point: docs/BENCHMARKS.md). The byte-sized
   ones hold the enum named beside them. Its device is the one whose
   points[] holds it. Its place in the file is known while it loads only
   (for diagnostics; RSS). */
struct cfg_point {
  const char *id;
  double scale;             /* default 1 */
  double offset;            /* default 0 */
  const char *unit;         /* NULL when not set */
  /* CoAP */
  const char *path;
  const char *pointer;      /* json: RFC 6901 pointer */
  const char *name;         /* senml: record name */
  /* Modbus */
  uint16_t address;
  uint8_t table;            /* enum cfg_regtable */
  uint8_t type;             /* enum cfg_vtype */
  uint8_t endian;           /* enum cfg_endian; resolved: point's, else device's, else ABCD */
  int8_t bit;               /* 0..15, or -1 when not set */
  uint8_t width;            /* registers (or bits) the point covers */
  /* both */
  bool scaled;              /* scale or offset set: value is a double */
  /* CoAP */
  bool observe;
  uint8_t format;           /* enum cfg_format */
};

enum cfg_model { CFG_MODEL_LEVEL, CFG_MODEL_USAGE, CFG_MODEL_BUTTON };
enum cfg_approval { CFG_APPROVAL_DEFAULT, CFG_APPROVAL_AUTO, CFG_APPROVAL_REQUIRED };

struct cfg_catalog_item;

/*
 * What a consumable says beyond its device, id and point: its SKU, model and
 * range, labels, spares and stale time. Consumables with the same settings
 * share one block (RSS, docs/BENCHMARKS.md: the ten consumables of each of
 * 500 machines of one type, or of many types with the same parts, are a
 * handful of blocks, not 5 000 copies); the loaded config is read-only.
 */
struct cfg_cons_spec {
  const char *sku;
  struct cfg_catalog_item *item; /* resolved in phase two */
  const char *kind;         /* NULL when not set */
  struct cfg_kv *labels;
  size_t n_labels;
  enum cfg_model model;
  union { /* by model (RSS, docs/BENCHMARKS.md: 16 B a consumable); button: neither */
    struct {
      double full, empty; /* level */
    };
    struct {
      double life, start; /* usage */
    };
  };
  int64_t spares;           /* default 0 */
  int64_t stale_after_ms;   /* default 3 x device poll_interval */
};

/* Its place in the file is known while it loads only (for diagnostics; RSS).
   40 B (was 112): its settings are shared (struct cfg_cons_spec). */
struct cfg_consumable {
  const char *id;           /* as written */
  const char *full_id;      /* "device/id" */
  struct cfg_device *device;
  union { /* RSS: the id is needed only until it is resolved */
    const char *point_id;   /* while loading: the model's `point`, as written */
    struct cfg_point *point; /* loaded: the point it names */
  };
  const struct cfg_cons_spec *spec; /* never NULL in a loaded config */
};

struct cfg_device {
  const char *id;
  struct cfg_pos pos;
  enum cfg_transport transport;
  /* modbus-tcp */
  const char *host;
  uint16_t port;            /* default 502 */
  /* modbus-rtu */
  const char *serial;       /* as written (messages, status) */
  /* the port serial names, symlinks resolved (realpath() at load; serial itself when it
     cannot be resolved, e.g. not plugged in yet; NULL only in a config not made by the
     loader): what tells two devices on one port (bus key, shared-port checks) */
  const char *serial_port;
  int64_t baud;             /* default 19200 */
  char parity;              /* 'N' 'E' 'O', default 'E' */
  int data_bits;            /* default 8 */
  int stop_bits;            /* default 1 */
  bool rs485;               /* default false */
  int unit_id;              /* default 1 */
  /* coap */
  const char *uri;
  bool coaps;
  const char *psk_identity;
  const char *psk_file;     /* absolute path after loading */
  /* every device */
  int64_t poll_interval_ms; /* default 60s */
  int64_t timeout_ms;       /* default 1s */
  int retries;              /* default 2 */
  enum cfg_endian endian;   /* default ABCD */
  int max_gap;              /* default 8 */
  int max_registers;        /* default 125 */
  bool single_reads;        /* default false */
  int down_after;           /* default 3 */
  int64_t max_backoff_ms;   /* default 5m */
  int64_t busy_wait_ms;     /* default 100ms */
  struct cfg_point *points;
  size_t n_points;
  struct cfg_consumable *consumables;
  size_t n_consumables;
};

/* ---- rules (SPEC 7) ---- */

struct cfg_rule {
  const char *name;
  struct cfg_pos pos;
  /* match: all optional, combined with AND */
  const char *match_consumable; /* glob on full id */
  const char *match_sku;        /* glob */
  const char *match_kind;
  struct cfg_kv *match_labels;
  size_t n_match_labels;
  const char *when_src;
  struct cfg_pos when_pos;      /* position of the expression's first character */
  struct expr *when;            /* compiled; owned by the config */
  int64_t for_ms;               /* default 0 */
  int64_t quantity;             /* 0: the catalog pack size */
  enum cfg_approval approval;   /* default: CFG_APPROVAL_DEFAULT (policy decides) */
  bool builtin;                 /* the built-in default rule */
};

/* ---- restock.yaml (SPEC 3, 5, 8-11) ---- */

struct cfg_catalog_item {
  const char *sku;
  struct cfg_pos pos;
  const char *supplier_id;
  struct cfg_supplier *supplier; /* resolved */
  const char *description;
  struct cfg_money unit_price;
  const char *currency;
  int64_t pack_size;             /* default 1 */
  int64_t lead_time_ms;          /* default 0 */
  enum cfg_approval approval;    /* auto (default) or required */
};

struct cfg_supplier {
  const char *id;
  struct cfg_pos pos;
  const char *name;
  struct cfg_money free_shipping_over;
  int64_t max_lines;             /* 0: orders.batching.max_lines */
};

/*
 * A planned closed period of the plant (restock.yaml calendar.closed[]): the
 * machines do not run and wear nothing from 00:00 UTC of its first day to
 * 24:00 UTC of its last. A config's periods are sorted and never overlap.
 */
struct cfg_closed {
  const char *name;        /* NULL when not set */
  struct cfg_pos pos;      /* of its `from` */
  int64_t from_ms, to_ms;  /* [from_ms, to_ms), wall ms (UTC day boundaries) */
};

enum cfg_auth { CFG_AUTH_NONE, CFG_AUTH_BEARER, CFG_AUTH_BASIC };
enum cfg_starttls { CFG_STARTTLS_REQUIRED, CFG_STARTTLS_OFF };

struct cfg {
  struct rs_arena *arena;
  unsigned extra_refs;           /* cfg_ref() calls not yet matched by a cfg_free() */
  const char *dir;               /* the config dir as given */

  struct {
    const char *id;
    const char *site;
  } gateway;

  struct {
    const char *listen;          /* default 127.0.0.1:8080 */
    bool listen_loopback;
    const char *public_url;
    bool admin_set;
    const char *admin_user;
    const char *admin_password_hash_file;
    const char **allowed_hosts;  /* default: the listen host, 127.0.0.1, ::1, localhost */
    size_t n_allowed_hosts;
  } http;

  struct {
    const char *path;            /* default RESTOCK_STATEDIR "/restock.db" */
    int64_t retention_ms;        /* default 400d */
    double deadband;             /* fraction of the consumable's range, default 0.005 */
    int64_t heartbeat_ms;        /* default 1h */
  } storage;

  struct {
    bool set;                    /* commerce section present */
    const char *base_url;
    enum cfg_auth auth;
    const char *token_file;
    const char *username;
    const char *password_file;
    const char *ca_file;
    int64_t timeout_ms;          /* default 10s */
    int64_t status_interval_ms;  /* default 1h */
    int64_t max_in_flight;       /* requests on the wire at once (default 4) */
    const char *customer_id;
    struct {
      const char *name, *street, *city, *postcode, *country;
    } ship_to;
  } commerce;

  struct {
    bool set;
    const char *smtp_url;
    enum cfg_starttls starttls;  /* default required */
    const char *from;
    const char *username;
    const char *password_file;
    int64_t timeout_ms;          /* one SMTP transaction, at most (default 15 s) */
    int64_t max_in_flight;       /* SMTP transactions at once (default 2) */
  } mail;

  struct {
    const char *currency;        /* ISO 4217, required once there is a catalog */
    int currency_decimals;
    double stockout_risk;        /* default 0.05: the default rule's risk threshold */
    int64_t handling_ms;         /* default 12h: receiving and fitting a delivery, added to
                                    the lead time for runout_risk */
    struct {
      int64_t window_ms;         /* default 24h */
      struct cfg_money flush_value;
      int64_t max_lines;         /* default 20 */
      int64_t urgent_margin_ms;  /* default 2d */
    } batching;
    struct {
      struct cfg_money require_over_value;
      int64_t require_over_quantity; /* 0: not set */
      struct cfg_money monthly_budget;
      double price_tolerance;    /* default 0.10 */
      const char **approvers;
      size_t n_approvers;
      int64_t link_ttl_ms;       /* default 72h */
      int64_t remind_before_ms;  /* default 12h */
      int64_t hold_after_reject_ms; /* default 30d: a rejected consumable is held this long */
      int64_t redraft_after_ms;  /* default 7d: held after an expiry; one request per this */
    } approval;
  } orders;

  struct {
    struct cfg_closed *closed;   /* sorted by from_ms, no two overlap */
    size_t n_closed;
  } calendar;

  struct cfg_catalog_item *catalog;
  size_t n_catalog;
  struct cfg_supplier *suppliers;
  size_t n_suppliers;

  struct cfg_device *devices;
  size_t n_devices;
  struct cfg_rule *rules;        /* configured rules, in file order */
  size_t n_rules;
  struct cfg_rule default_rule;  /* built-in `runout_risk > orders.stockout_risk` */

  size_t n_points;               /* totals, for the --check summary */
  size_t n_consumables;
};

/* One diagnostic: an error or a warning, already formatted. */
struct cfg_diag {
  bool warning;
  char *text; /* "file:line:column: key.path: what is wrong (what was expected)" */
};

struct cfg_diags {
  struct cfg_diag *v;
  size_t n;
  size_t n_errors;
};

/*
 * The built-in default rule's `when` (docs/rules.md, "The default rule") for
 * this orders.stockout_risk, written into buf (cap bytes;
 * CFG_DEFAULT_RULE_MAX is enough). The early branch's confidence is the
 * predictor's predict_new_part_conf_min(). Returns 0, or -1 if it did not fit.
 */
#define CFG_DEFAULT_RULE_MAX 200
int cfg_default_rule_src(double stockout_risk, char *buf, size_t cap);

/*
 * Load and validate the config dir `dir`. On success returns 0 and sets
 * *out (free with cfg_free). On failure returns the number of errors (> 0)
 * and *out is NULL. Every error and warning of every file is appended to
 * diags, in file order; the caller prints them and frees them with
 * cfg_diags_free(). Opens no port, device or database. When restock.yaml
 * cannot be read or parsed (a YAML syntax error, text not UTF-8), its one
 * error is all: devices.d and rules.d are not read.
 */
int cfg_load(const char *dir, struct cfg **out, struct cfg_diags *diags);
void cfg_free(struct cfg *cfg);

/*
 * In-memory entry (fuzzing, tests): load the config made of the given files
 * as if read from a config dir. Each name is relative to the dir and gives
 * the file's role: "restock.yaml", "devices.d/NAME.yaml", "rules.d/NAME.yaml"
 * (restock.yaml first, then the others in the order given; callers sort
 * them; without restock.yaml, none is read). `dir` only serves
 * to resolve relative *_file paths of secrets, which are checked on disk.
 * Returns and sets *out and diags as cfg_load() does.
 */
struct cfg_file_buf {
  const char *name;
  const char *data;
  size_t len;
};
int cfg_load_buffers(const char *dir, const struct cfg_file_buf *files, size_t n,
                     struct cfg **out, struct cfg_diags *diags);
void cfg_diags_free(struct cfg_diags *diags);

/* Print every diagnostic, one per line, to f (warnings start "warning: "). */
void cfg_diags_print(const struct cfg_diags *diags, FILE *f);

/*
 * cfg_load() for a command: every error (and, with warnings, every warning)
 * is printed to f. Returns the config (free with cfg_free), or NULL when it
 * is invalid.
 */
struct cfg *cfg_load_report(const char *dir, FILE *f, bool warnings);

/* "OK: N devices, N points, N consumables, N rules" into buf. */
void cfg_summary(const struct cfg *cfg, char *buf, size_t size);

/*
 * The plant calendar (calendar.closed): the closed period that holds now_ms
 * or the next one after it; NULL when none lies ahead.
 */
const struct cfg_closed *cfg_next_closed(const struct cfg *cfg, int64_t now_ms);
/*
 * Open (working) days in the calendar days [now_ms, now_ms + days): days less
 * the closed time inside. INFINITY stays INFINITY; NAN and days <= 0 are
 * returned as they are. cfg may be NULL (no calendar: days).
 */
double cfg_open_days(const struct cfg *cfg, int64_t now_ms, double days);
/*
 * The inverse: calendar days from now_ms until `open` days of open time have
 * passed (closed periods ahead are skipped over). A projection made in
 * running time (days_left) becomes calendar time with it.
 */
double cfg_calendar_days(const struct cfg *cfg, int64_t now_ms, double open);
/*
 * cfg_calendar_days() in a part's working time: days (calendar days from
 * now_ms, the part's week f in them: predict_work_clock()'s factors, all 1
 * when no week is known) with the closed periods ahead skipped over; the
 * working days it covers (predict_work_days) are spent on the open days only,
 * so a closed day the week already skips (a Saturday-only part's Tuesday)
 * adds nothing. A part running out as the plant closes is needed again when
 * it opens. With f all 1 this is cfg_calendar_days(). cfg must not be NULL.
 */
double cfg_calendar_days_week(const struct cfg *cfg, const double f[7], int64_t now_ms,
                              double days);
/* A closed period's first and last closed days as "YYYY-MM-DD" (from and to, 11 bytes each). */
void cfg_closed_days(const struct cfg_closed *c, char from[11], char to[11]);

/* Lookups; NULL when absent. */
struct cfg_device *cfg_find_device(const struct cfg *cfg, const char *id);
struct cfg_point *cfg_find_point(const struct cfg_device *dev, const char *id);
struct cfg_consumable *cfg_find_consumable(const struct cfg *cfg, const char *full_id);
struct cfg_catalog_item *cfg_find_sku(const struct cfg *cfg, const char *sku);
struct cfg_supplier *cfg_find_supplier(const struct cfg *cfg, const char *id);

/*
 * A loaded config is shared by reference: cfg_ref() adds one and returns
 * cfg; every cfg_free() drops one and the last frees it (on whichever
 * thread drops it; the count is atomic and the only field that changes).
 * An adapter instance holds its config this way (cfg_device_hold), so a
 * reload never frees what a bus worker still reads (adapters/bus.h).
 */
struct cfg *cfg_ref(const struct cfg *cfg);

/*
 * One device of a loaded config, held for an adapter instance: dev points
 * into cfg (its points, strings and consumables), and the hold keeps a
 * reference on cfg. Nothing is copied (RSS: thousands of devices).
 */
struct cfg_device_hold {
  struct cfg *cfg;              /* a reference (cfg_ref) */
  const struct cfg_device *dev; /* one of cfg->devices */
};
/* Hold dev of cfg; allocation failure aborts (rs_xcalloc). Free with cfg_device_hold_free(). */
struct cfg_device_hold *cfg_device_hold_new(const struct cfg *cfg, const struct cfg_device *dev);
/* Drop the hold and its reference; NULL is fine. */
void cfg_device_hold_free(struct cfg_device_hold *h);

/*
 * Remaining fraction 0..1 of consumable c for its point's value (SPEC 5):
 * level maps full (1) to empty (0) linearly, usage is 1 - (value - start) /
 * life; clamped. NAN for a button, a degenerate model or a NAN value.
 */
double cfg_remaining(const struct cfg_consumable *c, double value);

/* Names of enum values, as written in YAML. */
const char *cfg_transport_name(enum cfg_transport t);
const char *cfg_regtable_name(enum cfg_regtable t);
const char *cfg_vtype_name(enum cfg_vtype t);
const char *cfg_model_name(enum cfg_model m);

/*
 * Checked parsers shared with the rest of restock (CLI flags, test files).
 * Each returns 0 and sets *out, or -1 with a reason in err.
 */
int cfg_parse_duration(const char *s, int64_t *out_ms, char *err, size_t errlen);
/* ms as the largest such unit that divides it exactly ("30s", "5m", "1500ms") into buf. */
void cfg_format_duration(int64_t ms, char *buf, size_t size);
/* ms with every unit from days down that fits ("1d2h30m", "-5m", "0s"): what test-rules prints. */
void cfg_format_span(int64_t ms, char *buf, size_t size);
int cfg_parse_percent(const char *s, double *out_fraction, char *err, size_t errlen);
/* Money in the given number of decimals (2 for EUR); never via a float. */
int cfg_parse_money(const char *s, int decimals, int64_t *out_minor, char *err, size_t errlen);
/* Minor-unit decimals of an ISO 4217 code, or -1 when the code is unknown. */
int cfg_currency_decimals(const char *code);
/* Format minor units as a decimal string ("42.50") into buf. */
void cfg_format_money(int64_t minor, int decimals, char *buf, size_t size);
/* The same in currency's decimals (2 for an unknown code): "612.40" for EUR, "612" for JPY. */
void cfg_format_money_in(const char *currency, int64_t minor, char *buf, size_t size);

/* Registers (16-bit words) a value of type t takes: 1, 2 or 4. */
unsigned cfg_vtype_width(enum cfg_vtype t);

#endif
