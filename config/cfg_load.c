/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cfg_load: the config dir into struct cfg. Phase one walks each file's node
 * tree against tables of keys (name, type, bounds, default); phase two checks
 * across files (duplicates, references, shared buses, money in the currency).
 * Every problem becomes a diagnostic; loading goes on after errors so that
 * one run reports them all.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/cfg_schema.h"
#include "rules/expr.h"
#include "rules/predict.h"

#ifndef RESTOCK_STATEDIR
#define RESTOCK_STATEDIR "/var/lib/restock"
#endif


/* ---- loader state ---- */

struct devx {           /* side data of one device, for phase two */
  char path[32];        /* "devices[0]" */
  const char *file;
  struct cfg_pos id_pos;
  struct cfg_pos bus_pos; /* transport host / serial value */
  char bus_path[48];
  bool transport_ok;
};

struct rulex {
  char path[32];
  const char *file;
  struct cfg_pos match_pos;
  bool has_match;
};

struct skuref {
  struct cfg_cons_spec *s; /* the settings its SKU is resolved in (shared: resolved alike) */
  char path[96];
  struct cfg_pos pos;
};

struct ld {
  struct cfg *cfg;
  struct rs_arena *A;   /* the config's arena */
  struct rs_arena *T;   /* node trees of the current file */
  struct cfg_dcol dc;
  const char *file;     /* current file, arena string */
  const char *data;     /* current file's bytes */
  size_t len;
  const char *absdir;   /* config dir for relative *_file paths */

  struct cfg_device *devs;
  struct devx *devx;
  size_t ndev, capdev;
  /* the distinct point lists kept so far (struct ptlist, each malloc'd: devices with the
     same points share one) and consumable settings (struct cfg_cons_spec, in the arena) */
  struct cfg_ptrset ptl, specs;
  struct cfg_rule *rules;
  struct rulex *rulex;
  size_t nrule, caprule;
  struct skuref *refs;
  size_t nref, capref;

  bool have_catalog;
  struct cfg_pos catalog_pos;
  struct cfg_pos currency_pos;
  bool mail_set;
  struct cfg_pos mail_pos;
  bool public_url_set;
  /* restock.yaml could not be read or parsed: devices.d and rules.d are not
     loaded (every SKU, supplier and setting they name would be a follow-on
     error against a catalog that was never read) */
  bool restock_broken;
  struct cfg_kctx kc; /* the walker's view of the fields above (kc()) */
  struct cfg_ptrset strs; /* the load's strings, each kept once (cfg_intern) */
};

/* A device's point list, kept once in the config's arena (share_points()). */
struct ptlist {
  const struct cfg_point *pts;
  size_t n;
};

static const char *const tok_transport[] = {"modbus-tcp", "modbus-rtu", "coap", NULL};
static const char *const tok_register[] = {"coil", "discrete", "input", "holding", NULL};
static const char *const tok_vtype[] = {"bool",  "int16",  "uint16",  "int32",  "uint32",
                                        "int64", "uint64", "float32", "float64", NULL};
static const char *const tok_endian[] = {"ABCD", "DCBA", "BADC", "CDAB", NULL};
static const char *const tok_parity[] = {"N", "E", "O", NULL};
static const char *const tok_format[] = {"text", "json", "senml", NULL};
static const char *const tok_approval[] = {"auto", "required", NULL};
static const char *const tok_auth[] = {"bearer", "basic", NULL};
static const char *const tok_starttls[] = {"required", "off", NULL};

/* restock.yaml: the sections (checked here, each walked with its own table) */
static const struct ckey k_top[] = {
  KX("gateway", KT_MAP, true), KX("http", KT_MAP, false),   KX("storage", KT_MAP, false),
  KX("commerce", KT_MAP, false), KX("mail", KT_MAP, false), KX("orders", KT_MAP, false),
  KX("catalog", KT_SEQ, false),  KX("suppliers", KT_SEQ, false), KX("calendar", KT_MAP, false),
};

/* calendar: the plant's planned closed periods (restock's own section, docs/configuration.md) */
static const struct ckey k_calendar[] = {KX("closed", KT_SEQ, false)};
static const struct ckey k_closed[] = {
  KX("from", KT_STR, true),
  KX("to", KT_STR, true),
  K("name", KT_STR, struct cfg_closed, name, false, 0, 0, NULL),
};

static const struct ckey k_gateway[] = {
  K("id", KT_ID, struct cfg, gateway.id, true, 0, 0, NULL),
  K("site", KT_STR, struct cfg, gateway.site, false, 0, 0, NULL),
};

static const struct ckey k_http[] = {
  K("listen", KT_STR, struct cfg, http.listen, false, 0, 0, "127.0.0.1:8080"),
  K("public_url", KT_STR, struct cfg, http.public_url, false, 0, 0, NULL),
  KX("admin", KT_MAP, false),
  KL("allowed_hosts", KT_STRLIST, struct cfg, http.allowed_hosts, http.n_allowed_hosts),
};

static const struct ckey k_admin[] = {
  K("user", KT_STR, struct cfg, http.admin_user, true, 0, 0, NULL),
  K("password_hash_file", KT_SECRET, struct cfg, http.admin_password_hash_file, true, 0, 0, NULL),
};

static const struct ckey k_storage[] = {
  K("path", KT_STR, struct cfg, storage.path, false, 0, 0, NULL),
  K("retention", KT_DUR, struct cfg, storage.retention_ms, false, D_H, I64MAX, "400d"),
  K("deadband", KT_PCT, struct cfg, storage.deadband, false, 0, 0, "0.5%"),
  K("heartbeat", KT_DUR, struct cfg, storage.heartbeat_ms, false, D_S, I64MAX, "1h"),
};

static const struct ckey k_commerce[] = {
  K("base_url", KT_STR, struct cfg, commerce.base_url, true, 0, 0, NULL),
  KX("auth", KT_MAP, false),
  K("ca_file", KT_PATH, struct cfg, commerce.ca_file, false, 0, 0, NULL),
  K("timeout", KT_DUR, struct cfg, commerce.timeout_ms, false, D_MS, 10 * D_M, "10s"),
  K("status_interval", KT_DUR, struct cfg, commerce.status_interval_ms, false, D_S, I64MAX, "1h"),
  K("max_in_flight", KT_INT, struct cfg, commerce.max_in_flight, false, 1, 32, "4"),
  K("customer_id", KT_STR, struct cfg, commerce.customer_id, false, 0, 0, NULL),
  KX("ship_to", KT_MAP, false),
};

static const struct ckey k_auth[] = {
  KE("type", struct cfg, commerce.auth, true, CFG_AUTH_BEARER, NULL, tok_auth),
  K("token_file", KT_SECRET, struct cfg, commerce.token_file, false, 0, 0, NULL),
  K("username", KT_STR, struct cfg, commerce.username, false, 0, 0, NULL),
  K("password_file", KT_SECRET, struct cfg, commerce.password_file, false, 0, 0, NULL),
};

static const struct ckey k_ship_to[] = {
  K("name", KT_STR, struct cfg, commerce.ship_to.name, true, 0, 0, NULL),
  K("street", KT_STR, struct cfg, commerce.ship_to.street, true, 0, 0, NULL),
  K("city", KT_STR, struct cfg, commerce.ship_to.city, true, 0, 0, NULL),
  K("postcode", KT_STR, struct cfg, commerce.ship_to.postcode, false, 0, 0, NULL),
  K("country", KT_STR, struct cfg, commerce.ship_to.country, true, 0, 0, NULL),
};

static const struct ckey k_mail[] = {
  K("smtp_url", KT_STR, struct cfg, mail.smtp_url, true, 0, 0, NULL),
  KE("starttls", struct cfg, mail.starttls, false, CFG_STARTTLS_REQUIRED, "required",
     tok_starttls),
  K("from", KT_STR, struct cfg, mail.from, true, 0, 0, NULL),
  K("username", KT_STR, struct cfg, mail.username, false, 0, 0, NULL),
  K("password_file", KT_SECRET, struct cfg, mail.password_file, false, 0, 0, NULL),
  K("timeout", KT_DUR, struct cfg, mail.timeout_ms, false, D_S, 10 * D_M, "15s"),
  K("max_in_flight", KT_INT, struct cfg, mail.max_in_flight, false, 1, 8, "2"),
};

static const struct ckey k_orders[] = {
  K("currency", KT_STR, struct cfg, orders.currency, false, 0, 0, NULL),
  K("stockout_risk", KT_PCT, struct cfg, orders.stockout_risk, false, 0, 0, "5%"),
  K("handling_time", KT_DUR, struct cfg, orders.handling_ms, false, 0, 7 * D_D, "12h"),
  KX("batching", KT_MAP, false),
  KX("approval", KT_MAP, false),
};

static const struct ckey k_batching[] = {
  K("window", KT_DUR, struct cfg, orders.batching.window_ms, false, D_M, I64MAX, "24h"),
  K("flush_value", KT_MONEY, struct cfg, orders.batching.flush_value, false, 0, 0, NULL),
  K("max_lines", KT_INT, struct cfg, orders.batching.max_lines, false, 1, 10000, "20"),
  K("urgent_margin", KT_DUR, struct cfg, orders.batching.urgent_margin_ms, false, 0, I64MAX,
    "2d"),
};

static const struct ckey k_approval[] = {
  K("require_over_value", KT_MONEY, struct cfg, orders.approval.require_over_value, false, 0, 0,
    NULL),
  K("require_over_quantity", KT_INT, struct cfg, orders.approval.require_over_quantity, false, 1,
    1000000, NULL),
  K("monthly_budget", KT_MONEY, struct cfg, orders.approval.monthly_budget, false, 0, 0, NULL),
  K("price_tolerance", KT_PCT, struct cfg, orders.approval.price_tolerance, false, 0, 0, "10%"),
  KL("approvers", KT_STRLIST, struct cfg, orders.approval.approvers, orders.approval.n_approvers),
  K("link_ttl", KT_DUR, struct cfg, orders.approval.link_ttl_ms, false, D_M, I64MAX, "72h"),
  K("remind_before", KT_DUR, struct cfg, orders.approval.remind_before_ms, false, 0, I64MAX,
    "12h"),
  K("hold_after_reject", KT_DUR, struct cfg, orders.approval.hold_after_reject_ms, false, 0,
    I64MAX, "30d"),
  K("redraft_after", KT_DUR, struct cfg, orders.approval.redraft_after_ms, false, 0, I64MAX,
    "7d"),
};

static const struct ckey k_catalog[] = {
  K("sku", KT_SKU, struct cfg_catalog_item, sku, true, 0, 0, NULL),
  K("supplier", KT_ID, struct cfg_catalog_item, supplier_id, true, 0, 0, NULL),
  K("description", KT_STR, struct cfg_catalog_item, description, false, 0, 0, NULL),
  K("unit_price", KT_MONEY, struct cfg_catalog_item, unit_price, true, 0, 0, NULL),
  K("currency", KT_STR, struct cfg_catalog_item, currency, false, 0, 0, NULL),
  K("pack_size", KT_INT, struct cfg_catalog_item, pack_size, false, 1, 1000000, "1"),
  K("lead_time", KT_DUR, struct cfg_catalog_item, lead_time_ms, false, 0, 365 * (int64_t)D_D,
    "0s"),
  KE("approval", struct cfg_catalog_item, approval, false, CFG_APPROVAL_AUTO, "auto",
     tok_approval),
};

static const struct ckey k_supplier[] = {
  K("id", KT_ID, struct cfg_supplier, id, true, 0, 0, NULL),
  K("name", KT_STR, struct cfg_supplier, name, false, 0, 0, NULL),
  K("free_shipping_over", KT_MONEY, struct cfg_supplier, free_shipping_over, false, 0, 0, NULL),
  K("max_lines", KT_INT, struct cfg_supplier, max_lines, false, 1, 10000, NULL),
};

/* devices.d */
static const struct ckey k_devfile[] = {KX("devices", KT_SEQ, true)};
static const struct ckey k_device[] = {
  K("id", KT_ID, struct cfg_device, id, true, 0, 0, NULL),
  KX("transport", KT_MAP, true),
  K("poll_interval", KT_DUR, struct cfg_device, poll_interval_ms, false, 0, 7 * (int64_t)D_D,
    "60s"),
  K("timeout", KT_DUR, struct cfg_device, timeout_ms, false, 1, 10 * D_M, "1s"),
  K("retries", KT_INT, struct cfg_device, retries, false, 0, 10, "2"),
  KE("endian", struct cfg_device, endian, false, CFG_END_ABCD, "ABCD", tok_endian),
  K("max_gap", KT_INT, struct cfg_device, max_gap, false, 0, 125, "8"),
  K("max_registers", KT_INT, struct cfg_device, max_registers, false, 1, 125, "125"),
  K("single_reads", KT_BOOL, struct cfg_device, single_reads, false, 0, 0, "false"),
  K("down_after", KT_INT, struct cfg_device, down_after, false, 1, 1000, "3"),
  K("max_backoff", KT_DUR, struct cfg_device, max_backoff_ms, false, 1, 7 * (int64_t)D_D, "5m"),
  K("busy_wait", KT_DUR, struct cfg_device, busy_wait_ms, false, 0, 10 * D_M, "100ms"),
  KX("points", KT_SEQ, false),
  KX("consumables", KT_SEQ, false),
};

static const struct ckey k_tcp[] = {
  KX("type", KT_STR, true),
  K("host", KT_STR, struct cfg_device, host, true, 0, 0, NULL),
  K("port", KT_INT, struct cfg_device, port, false, 1, 65535, "502"),
  K("unit_id", KT_INT, struct cfg_device, unit_id, false, 0, 255, "1"),
};
static const struct ckey k_rtu[] = {
  KX("type", KT_STR, true),
  K("serial", KT_STR, struct cfg_device, serial, true, 0, 0, NULL),
  K("baud", KT_INT, struct cfg_device, baud, false, 50, 4000000, "19200"),
  {"parity", KT_ENUMC, offsetof(struct cfg_device, parity), 1, false, 0, 0, "E", tok_parity, 0},
  K("data_bits", KT_INT, struct cfg_device, data_bits, false, 5, 8, "8"),
  K("stop_bits", KT_INT, struct cfg_device, stop_bits, false, 1, 2, "1"),
  K("unit_id", KT_INT, struct cfg_device, unit_id, false, 1, 247, "1"),
  K("rs485", KT_BOOL, struct cfg_device, rs485, false, 0, 0, "false"),
};
/*
 * The baud rates libmodbus (3.1) can set on a serial port. It takes any other
 * value as 9600 without a word, so a mistyped rate would poll at 9600 and the
 * device would only look silent.
 */
static const int64_t rtu_bauds[] = {110,     300,     600,     1200,    2400,    4800,
                                    9600,    19200,   38400,   57600,   115200,  230400,
                                    460800,  500000,  576000,  921600,  1000000, 1152000,
                                    1500000, 2500000, 3000000, 3500000, 4000000};

static const struct ckey k_coap[] = {
  KX("type", KT_STR, true),
  K("uri", KT_STR, struct cfg_device, uri, true, 0, 0, NULL),
  K("psk_identity", KT_STR, struct cfg_device, psk_identity, false, 0, 0, NULL),
  K("psk_file", KT_SECRET, struct cfg_device, psk_file, false, 0, 0, NULL),
};

static const struct ckey k_mbpoint[] = {
  K("id", KT_ID, struct cfg_point, id, true, 0, 0, NULL),
  KE("register", struct cfg_point, table, true, CFG_REG_COIL, NULL, tok_register),
  K("address", KT_INT, struct cfg_point, address, true, 0, 65535, NULL),
  KE("type", struct cfg_point, type, false, CFG_VT_BOOL, NULL, tok_vtype),
  KE("endian", struct cfg_point, endian, false, CFG_END_ABCD, NULL, tok_endian),
  K("scale", KT_FLOAT, struct cfg_point, scale, false, 0, 0, "1"),
  K("offset", KT_FLOAT, struct cfg_point, offset, false, 0, 0, "0"),
  K("unit", KT_STR, struct cfg_point, unit, false, 0, 0, NULL),
  K("bit", KT_INT, struct cfg_point, bit, false, 0, 15, NULL),
};
static const struct ckey k_coappoint[] = {
  K("id", KT_ID, struct cfg_point, id, true, 0, 0, NULL),
  K("path", KT_STR, struct cfg_point, path, true, 0, 0, NULL),
  KE("format", struct cfg_point, format, false, CFG_FMT_TEXT, "text", tok_format),
  K("pointer", KT_STR, struct cfg_point, pointer, false, 0, 0, NULL),
  K("name", KT_STR, struct cfg_point, name, false, 0, 0, NULL),
  K("observe", KT_BOOL, struct cfg_point, observe, false, 0, 0, "false"),
  K("scale", KT_FLOAT, struct cfg_point, scale, false, 0, 0, "1"),
  K("offset", KT_FLOAT, struct cfg_point, offset, false, 0, 0, "0"),
  K("unit", KT_STR, struct cfg_point, unit, false, 0, 0, NULL),
};

/* A consumable as its keys are read, before its settings are shared (load_consumables). */
struct cons_in {
  const char *id;
  const char *point_id;
  struct cfg_cons_spec s;
};

static const struct ckey k_consumable[] = {
  K("id", KT_ID, struct cons_in, id, true, 0, 0, NULL),
  K("sku", KT_SKU, struct cons_in, s.sku, true, 0, 0, NULL),
  K("kind", KT_STR, struct cons_in, s.kind, false, 0, 0, NULL),
  KL("labels", KT_KV, struct cons_in, s.labels, s.n_labels),
  KX("level", KT_MAP, false),
  KX("usage", KT_MAP, false),
  KX("button", KT_MAP, false),
  K("spares", KT_INT, struct cons_in, s.spares, false, 0, 1000000, "0"),
  K("stale_after", KT_DUR, struct cons_in, s.stale_after_ms, false, 1, 365 * (int64_t)D_D,
    NULL),
};
static const struct ckey k_level[] = {
  K("point", KT_ID, struct cons_in, point_id, true, 0, 0, NULL),
  K("full", KT_FLOAT, struct cons_in, s.full, true, 0, 0, NULL),
  K("empty", KT_FLOAT, struct cons_in, s.empty, true, 0, 0, NULL),
};
static const struct ckey k_usage[] = {
  K("point", KT_ID, struct cons_in, point_id, true, 0, 0, NULL),
  K("life", KT_FLOAT, struct cons_in, s.life, true, 0, 0, NULL),
  K("start", KT_FLOAT, struct cons_in, s.start, false, 0, 0, "0"),
};
static const struct ckey k_button[] = {
  K("point", KT_ID, struct cons_in, point_id, true, 0, 0, NULL),
};

/* rules.d */
static const struct ckey k_rulefile[] = {KX("rules", KT_SEQ, true)};
static const struct ckey k_rule[] = {
  K("name", KT_ID, struct cfg_rule, name, true, 0, 0, NULL),
  KX("match", KT_MAP, false),
  KX("when", KT_COND, true),
  K("for", KT_DUR, struct cfg_rule, for_ms, false, 0, 365 * (int64_t)D_D, "0s"),
  KX("order", KT_MAP, false),
  KE("approval", struct cfg_rule, approval, false, CFG_APPROVAL_AUTO, NULL, tok_approval),
};
static const struct ckey k_match[] = {
  K("consumable", KT_STR, struct cfg_rule, match_consumable, false, 0, 0, NULL),
  K("sku", KT_STR, struct cfg_rule, match_sku, false, 0, 0, NULL),
  K("kind", KT_STR, struct cfg_rule, match_kind, false, 0, 0, NULL),
  KL("labels", KT_KV, struct cfg_rule, match_labels, n_match_labels),
};
static const struct ckey k_order[] = {
  K("quantity", KT_INT, struct cfg_rule, quantity, true, 1, 1000000, NULL),
};

#define NK(a) RS_ARRAY_LEN(a)

static const struct cfg_key_table key_tables[] = {
  {"gateway", k_gateway, NK(k_gateway)},
  {"http", k_http, NK(k_http)},
  {"http.admin", k_admin, NK(k_admin)},
  {"storage", k_storage, NK(k_storage)},
  {"commerce", k_commerce, NK(k_commerce)},
  {"commerce.auth", k_auth, NK(k_auth)},
  {"commerce.ship_to", k_ship_to, NK(k_ship_to)},
  {"mail", k_mail, NK(k_mail)},
  {"orders", k_orders, NK(k_orders)},
  {"orders.batching", k_batching, NK(k_batching)},
  {"orders.approval", k_approval, NK(k_approval)},
  {"catalog[]", k_catalog, NK(k_catalog)},
  {"suppliers[]", k_supplier, NK(k_supplier)},
  {"calendar", k_calendar, NK(k_calendar)},
  {"calendar.closed[]", k_closed, NK(k_closed)},
  {"devices[]", k_device, NK(k_device)},
  {"transport modbus-tcp", k_tcp, NK(k_tcp)},
  {"transport modbus-rtu", k_rtu, NK(k_rtu)},
  {"transport coap", k_coap, NK(k_coap)},
  {"points modbus", k_mbpoint, NK(k_mbpoint)},
  {"points coap", k_coappoint, NK(k_coappoint)},
  {"consumables[]", k_consumable, NK(k_consumable)},
  {"consumables[].level", k_level, NK(k_level)},
  {"consumables[].usage", k_usage, NK(k_usage)},
  {"consumables[].button", k_button, NK(k_button)},
  {"rules[]", k_rule, NK(k_rule)},
  {"rules[].match", k_match, NK(k_match)},
  {"rules[].order", k_order, NK(k_order)},
};

const struct cfg_key_table *cfg_load_key_tables(size_t *n)
{
  *n = NK(key_tables);
  return key_tables;
}

/* ---- messages ---- */

static void errv(struct ld *ld, bool warning, const struct cfg_node *n, const char *path,
                 const char *fmt, va_list ap) RS_PRINTF(5, 0);
static void errv(struct ld *ld, bool warning, const struct cfg_node *n, const char *path,
                 const char *fmt, va_list ap)
{
  struct rs_buf b = {0};
  rs_buf_printf(&b, "%s: ", path);
  rs_buf_vprintf(&b, fmt, ap);
  cfg_dcol_add(&ld->dc, warning, ld->file, n ? n->line : 0, n ? n->col : 0, "%s",
               b.data ? b.data : "");
  rs_buf_free(&b);
}

/* An error at node n (its position) about key path `path`. */
static void err(struct ld *ld, const struct cfg_node *n, const char *path, const char *fmt, ...)
  RS_PRINTF(4, 5);
static void err(struct ld *ld, const struct cfg_node *n, const char *path, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  errv(ld, false, n, path, fmt, ap);
  va_end(ap);
}

/*
 * A warning at node n when a network timeout (ms) could outlast half the
 * packaged unit's watchdog interval: the daemon never waits for the peer on
 * its loop, but a request that long is a peer restock cannot tell from a
 * dead one before systemd's watchdog would, and the tools without a loop
 * (restockctl) block that long.
 */
static void warn_timeout(struct ld *ld, const struct cfg_node *n, const char *path, int64_t ms)
{
  if(!n || ms <= CFG_WATCHDOG_HALF_MS)
    return;
  cfg_dcol_add(&ld->dc, true, ld->file, n->line, n->col,
               "%s: %lld s could outlast half the watchdog interval (WatchdogSec=30s in the "
               "packaged unit: %d s); restockd does not wait for it on its main loop, but a "
               "peer this slow is not told from a dead one in time (use %ds or less)",
               path, (long long)(ms / 1000), CFG_WATCHDOG_HALF_MS / 1000,
               CFG_WATCHDOG_HALF_MS / 1000);
}

/* An error or warning at a stored position (phase two). */
static void errp(struct ld *ld, bool warning, const struct cfg_pos *p, const char *path,
                 const char *fmt, ...) RS_PRINTF(5, 6);
static void errp(struct ld *ld, bool warning, const struct cfg_pos *p, const char *path,
                 const char *fmt, ...)
{
  va_list ap;
  struct rs_buf b = {0};
  va_start(ap, fmt);
  rs_buf_printf(&b, "%s: ", path);
  rs_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  cfg_dcol_add(&ld->dc, warning, p->file ? p->file : "restock.yaml", p->line, p->col, "%s",
               b.data ? b.data : "");
  rs_buf_free(&b);
}

static struct cfg_pos mkpos(struct ld *ld, const struct cfg_node *n)
{
  struct cfg_pos p = {ld->file, n ? n->line : 0, n ? n->col : 0};
  return p;
}

/* The shared walker (cfg_schema.c) with this load's arenas, diagnostics and file. */
static const struct cfg_kctx *kc(struct ld *ld)
{
  ld->kc.A = ld->A;
  ld->kc.T = ld->T;
  ld->kc.dc = &ld->dc;
  ld->kc.file = ld->file;
  ld->kc.absdir = ld->absdir;
  ld->kc.strs = &ld->strs;
  return &ld->kc;
}

#define kpath     cfg_kpath
#define ipath     cfg_ipath
#define kind_name cfg_kind_name
#define wv        cfg_wv
#define wc        cfg_wc
#define wok       cfg_wok
#define wkey      cfg_wkey

static void walk_map(struct ld *ld, const struct cfg_node *map, const char *path,
                     const struct ckey *keys, size_t nk, void *obj, struct walk *w,
                     const struct calt *alts, size_t nalt)
{
  cfg_walk_map(kc(ld), map, path, keys, nk, obj, w, alts, nalt);
}

static int conv(struct ld *ld, const struct cfg_node *v, const char *path, const struct ckey *k,
                void *obj)
{
  return cfg_conv(kc(ld), v, path, k, obj);
}

/* ---- small syntax helpers ---- */

static bool is_loopback_host(const char *h, size_t n)
{
  if(n == 9 && !strncmp(h, "localhost", 9))
    return true;
  if(n == 3 && !strncmp(h, "::1", 3))
    return true;
  if(n >= 4 && !strncmp(h, "127.", 4)) {
    /* 127.0.0.0/8: four dotted decimal octets */
    int parts = 0;
    size_t i = 0;
    while(i < n) {
      unsigned v = 0, nd = 0;
      while(i < n && h[i] >= '0' && h[i] <= '9' && nd < 4) {
        v = v * 10 + (unsigned)(h[i] - '0');
        i++;
        nd++;
      }
      if(!nd || v > 255)
        return false;
      parts++;
      if(i < n) {
        if(h[i] != '.')
          return false;
        i++;
        if(i == n)
          return false;
      }
    }
    return parts == 4;
  }
  return false;
}

/*
 * Split http.listen's "HOST:PORT" or "[IPv6]:PORT" into host (not
 * NUL-terminated, hlen bytes) and port 1..65535. Returns 0, or -1 with what
 * is wrong and what to write instead in why (a phrase for the message).
 */
static int split_hostport(const char *s, const char **host, size_t *hlen, int64_t *port,
                          char *why, size_t wsize)
{
  const char *colon;
  int64_t any;
  if(s[0] == '[') {
    const char *rb = strchr(s, ']');
    if(!rb || rb[1] != ':') {
      (void)snprintf(why, wsize, "%s (expected [IPv6]:PORT like [::1]:8080)",
                     rb ? "no port after the ']'" : "no closing ']'");
      return -1;
    }
    *host = s + 1;
    *hlen = (size_t)(rb - s - 1);
    colon = rb + 1;
  }
  else {
    colon = strrchr(s, ':');
    if(!colon) {
      (void)snprintf(why, wsize, "no port (expected HOST:PORT like 127.0.0.1:8080)");
      return -1;
    }
    if(strchr(s, ':') != colon) {
      (void)snprintf(why, wsize,
                     "an IPv6 address needs brackets (write [ADDRESS]:PORT, like [::1]:8080)");
      return -1;
    }
    *host = s;
    *hlen = (size_t)(colon - s);
  }
  if(!*hlen) {
    (void)snprintf(why, wsize,
                   "no host (write 127.0.0.1:PORT for loopback, 0.0.0.0:PORT for every "
                   "address)");
    return -1;
  }
  if(!rs_parse_i64(colon + 1, false, 1, 65535, port))
    return 0;
  if(!rs_parse_i64(colon + 1, false, 0, 0, &any))
    (void)snprintf(why, wsize,
                   "port 0 would be another free port at every start, which the approval "
                   "links (http.public_url), bookmarks and a proxy cannot follow (write a fixed "
                   "port from 1 to 65535, like 127.0.0.1:8080)");
  else if(!rs_parse_i64(colon + 1, false, INT64_MIN, INT64_MAX, &any))
    (void)snprintf(why, wsize, "port %.16s is out of range (expected 1 to 65535, like 127.0.0.1:8080)",
                   colon + 1);
  else
    (void)snprintf(why, wsize, "port '%.16s' is not a number (expected HOST:PORT like "
                   "127.0.0.1:8080)", colon + 1);
  return -1;
}

/* Host part of a URL after "scheme://" (userinfo and port stripped). */
static void url_host(const char *rest, const char **host, size_t *hlen)
{
  const char *end = rest + strcspn(rest, "/?#");
  const char *at = memchr(rest, '@', (size_t)(end - rest));
  const char *h = at ? at + 1 : rest;
  if(*h == '[') {
    const char *rb = memchr(h, ']', (size_t)(end - h));
    *host = h + 1;
    *hlen = rb ? (size_t)(rb - h - 1) : 0;
    return;
  }
  {
    const char *c = memchr(h, ':', (size_t)(end - h));
    *host = h;
    *hlen = (size_t)((c ? c : end) - h);
  }
}

static bool starts(const char *s, const char *prefix)
{
  return !strncmp(s, prefix, strlen(prefix));
}

/* ---- restock.yaml ---- */

/*
 * A calendar day "YYYY-MM-DD" (years 1970-9999, a real date) into *ms, its
 * 00:00 UTC in wall ms. Returns false when the text is not one.
 */
static bool parse_day(const char *t, int64_t *ms)
{
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int64_t y = 0, m = 0, d = 0;
  size_t i;
  if(!t || strlen(t) != 10 || t[4] != '-' || t[7] != '-')
    return false;
  for(i = 0; i < 10; i++) {
    if(i == 4 || i == 7)
      continue;
    if(t[i] < '0' || t[i] > '9')
      return false;
  }
  for(i = 0; i < 4; i++)
    y = y * 10 + (t[i] - '0');
  m = (t[5] - '0') * 10 + (t[6] - '0');
  d = (t[8] - '0') * 10 + (t[9] - '0');
  if(y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
    return false;
  if(m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
    return false;
  *ms = rs_days_from_civil(y, m, d) * 86400000;
  return true;
}

/*
 * restock.yaml's `calendar` section into cfg->calendar: each closed[] item's
 * from/to days (both closed, UTC), to not before from, the periods sorted by
 * from and none overlapping another (reported at the later one's `from`,
 * naming the earlier one's position).
 */
static void load_calendar(struct ld *ld, const struct cfg_node *n)
{
  struct cfg *cfg = ld->cfg;
  const struct cfg_node *seq, **fromn;
  size_t *idx;
  struct walk w;
  size_t i, j;
  char p[64], kp[80], q[96];
  walk_map(ld, n, "calendar", k_calendar, NK(k_calendar), cfg, &w, NULL, 0);
  if(!(seq = wc(&w, "closed", CFG_N_SEQ)) || !seq->n)
    return;
  cfg->calendar.closed = rs_arena_alloc(ld->A, seq->n * sizeof(*cfg->calendar.closed));
  fromn = rs_arena_alloc(ld->T, seq->n * sizeof(*fromn));
  idx = rs_arena_alloc(ld->T, seq->n * sizeof(*idx));
  for(i = 0; i < seq->n; i++) {
    const struct cfg_node *it = seq->kids[i], *f, *t;
    struct cfg_closed c = {0};
    bool ok = true;
    ipath(p, sizeof(p), "calendar.closed", i);
    if(!cfg_want_map(kc(ld), it, p, "from, to"))
      continue;
    walk_map(ld, it, p, k_closed, NK(k_closed), &c, &w, NULL, 0);
    f = wc(&w, "from", CFG_N_SCALAR);
    t = wc(&w, "to", CFG_N_SCALAR);
    if(!f || !t)
      continue;
    if(!parse_day(f->s, &c.from_ms)) {
      cfg_quote_value(f->s, f->len, q, sizeof(q));
      kpath(kp, sizeof(kp), p, "from");
      err(ld, f, kp, "%s is not a date (expected a day like 2026-12-24, UTC)", q);
      ok = false;
    }
    if(!parse_day(t->s, &c.to_ms)) {
      cfg_quote_value(t->s, t->len, q, sizeof(q));
      kpath(kp, sizeof(kp), p, "to");
      err(ld, t, kp, "%s is not a date (expected a day like 2027-01-02, UTC)", q);
      ok = false;
    }
    if(!ok)
      continue;
    if(c.to_ms < c.from_ms) {
      kpath(kp, sizeof(kp), p, "to");
      err(ld, t, kp, "%s is before from %s (expected the last closed day, on or after from)",
          t->s, f->s);
      continue;
    }
    c.to_ms += 86400000; /* the last day is closed too */
    c.pos = mkpos(ld, f);
    /* insert sorted by from */
    for(j = cfg->calendar.n_closed; j > 0 && cfg->calendar.closed[j - 1].from_ms > c.from_ms; j--) {
      cfg->calendar.closed[j] = cfg->calendar.closed[j - 1];
      fromn[j] = fromn[j - 1];
      idx[j] = idx[j - 1];
    }
    cfg->calendar.closed[j] = c;
    fromn[j] = f;
    idx[j] = i;
    cfg->calendar.n_closed++;
  }
  for(i = 1, j = 0; i < cfg->calendar.n_closed; i++) {
    /* a: of the earlier-starting periods, the one that ends last */
    const struct cfg_closed *a = &cfg->calendar.closed[j], *b = &cfg->calendar.closed[i];
    if(b->to_ms > a->to_ms)
      j = i;
    if(b->from_ms < a->to_ms) {
      size_t ai = (size_t)(a - cfg->calendar.closed);
      size_t li = idx[i] > idx[ai] ? i : ai; /* the one written later */
      const struct cfg_closed *first = li == i ? a : b;
      ipath(p, sizeof(p), "calendar.closed", idx[li]);
      kpath(kp, sizeof(kp), p, "from");
      err(ld, fromn[li], kp,
          "this period overlaps the one at %s:%d:%d%s%s%s (expected periods that do not "
          "overlap: make them one)",
          first->pos.file, first->pos.line, first->pos.col, first->name ? " ('" : "",
          first->name ? first->name : "", first->name ? "')" : "");
    }
  }
}

static void load_restock(struct ld *ld, const struct cfg_node *root)
{
  struct cfg *cfg = ld->cfg;
  struct walk top, w, w2;
  const struct cfg_node *n;
  char q[96];

  if(root->kind != CFG_N_MAP) {
    err(ld, root, "(top level)", "got %s (expected a mapping with at least 'gateway')",
        kind_name(root));
    return;
  }
  walk_map(ld, root, "", k_top, NK(k_top), cfg, &top, NULL, 0);

  if((n = wc(&top, "gateway", CFG_N_MAP)))
    walk_map(ld, n, "gateway", k_gateway, NK(k_gateway), cfg, &w, NULL, 0);

  /* http */
  if((n = wc(&top, "http", CFG_N_MAP)))
    walk_map(ld, n, "http", k_http, NK(k_http), cfg, &w, NULL, 0);
  else
    walk_map(ld, &(struct cfg_node){.kind = CFG_N_MAP}, "http", k_http, NK(k_http), cfg, &w,
             NULL, 0);
  {
    const struct cfg_node *lv = wv(&w, "listen");
    char why[320];
    const char *host;
    size_t hlen = 0;
    int64_t port;
    const struct cfg_node *adm = wc(&w, "admin", CFG_N_MAP);
    if(adm) {
      walk_map(ld, adm, "http.admin", k_admin, NK(k_admin), cfg, &w2, NULL, 0);
      cfg->http.admin_set = true;
    }
    if(cfg->http.listen &&
       split_hostport(cfg->http.listen, &host, &hlen, &port, why, sizeof(why))) {
      cfg_quote_value(cfg->http.listen, strlen(cfg->http.listen), q, sizeof(q));
      err(ld, lv, "http.listen", "%s is not a listen address: %s", q, why);
    }
    else if(cfg->http.listen) {
      cfg->http.listen_loopback = is_loopback_host(host, hlen);
      if(!cfg->http.listen_loopback && !cfg->http.admin_set && !wv(&w, "admin")) {
        cfg_quote_value(cfg->http.listen, strlen(cfg->http.listen), q, sizeof(q));
        err(ld, lv, "http.listen",
            "%s listens beyond loopback without http.admin (set http.admin or listen on "
            "127.0.0.1, ::1 or localhost)",
            q);
      }
      if(!wv(&w, "allowed_hosts")) {
        const char **h = rs_arena_alloc(ld->A, 4 * sizeof(*h));
        size_t nh = 0;
        static const char *const lo[] = {"127.0.0.1", "::1", "localhost"};
        size_t i;
        char *lh = rs_arena_strndup(ld->A, host, hlen);
        h[nh++] = lh;
        for(i = 0; i < 3; i++)
          if(strcmp(lh, lo[i]))
            h[nh++] = lo[i];
        cfg->http.allowed_hosts = h;
        cfg->http.n_allowed_hosts = nh;
      }
    }
    {
      /*
       * SPEC 11: an allowed_hosts entry beyond loopback means clients
       * reach the page through something else (a reverse proxy), so the
       * decisions over HTTP need the admin credential.
       */
      const struct cfg_node *ah = wv(&w, "allowed_hosts");
      size_t i;
      for(i = 0; ah && ah->kind == CFG_N_SEQ && !cfg->http.admin_set && !wv(&w, "admin") &&
                 i < ah->n;
          i++) {
        const struct cfg_node *e = ah->kids[i];
        const char *h;
        size_t hl;
        char kp[64];
        if(!e || e->kind != CFG_N_SCALAR || e->bad || !e->s)
          continue;
        h = e->s;
        hl = e->len;
        if(hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
          h++;
          hl -= 2;
        }
        if(is_loopback_host(h, hl))
          continue;
        cfg_quote_value(e->s, e->len, q, sizeof(q));
        (void)rs_snprintf(kp, sizeof(kp), "http.allowed_hosts[%zu]", i);
        err(ld, e, kp,
            "%s is not a loopback name or address, which needs http.admin (set http.admin, "
            "or list only 127.0.0.1, ::1 and localhost)",
            q);
        break;
      }
    }
    if(cfg->http.public_url) {
      ld->public_url_set = true;
      if(!starts(cfg->http.public_url, "http://") && !starts(cfg->http.public_url, "https://")) {
        cfg_quote_value(cfg->http.public_url, strlen(cfg->http.public_url), q, sizeof(q));
        err(ld, wv(&w, "public_url"), "http.public_url",
            "%s is not a URL (expected http://HOST[:PORT] or https://...)", q);
      }
    }
  }

  /* storage */
  if((n = wc(&top, "storage", CFG_N_MAP)))
    walk_map(ld, n, "storage", k_storage, NK(k_storage), cfg, &w, NULL, 0);
  else
    walk_map(ld, &(struct cfg_node){.kind = CFG_N_MAP}, "storage", k_storage, NK(k_storage), cfg,
             &w, NULL, 0);
  if(!cfg->storage.path)
    cfg->storage.path = RESTOCK_STATEDIR "/restock.db";

  /* commerce */
  if((n = wc(&top, "commerce", CFG_N_MAP))) {
    const struct cfg_node *a, *bu;
    cfg->commerce.set = true;
    walk_map(ld, n, "commerce", k_commerce, NK(k_commerce), cfg, &w, NULL, 0);
    warn_timeout(ld, wv(&w, "timeout"), "commerce.timeout", cfg->commerce.timeout_ms);
    bu = wv(&w, "base_url");
    if(cfg->commerce.base_url) {
      const char *u = cfg->commerce.base_url, *host;
      size_t hlen;
      cfg_quote_value(u, strlen(u), q, sizeof(q));
      if(starts(u, "http://")) {
        url_host(u + 7, &host, &hlen);
        if(!is_loopback_host(host, hlen))
          err(ld, bu, "commerce.base_url",
              "%s is plain http:// to a host that is not loopback (expected https://)", q);
      }
      else if(!starts(u, "https://") || !u[8]) {
        err(ld, bu, "commerce.base_url", "%s is not an https:// URL (expected https://HOST/...)",
            q);
      }
    }
    if((a = wc(&w, "auth", CFG_N_MAP))) {
      const struct cfg_node *t;
      walk_map(ld, a, "commerce.auth", k_auth, NK(k_auth), cfg, &w2, NULL, 0);
      t = wv(&w2, "type");
      if(cfg->commerce.auth == CFG_AUTH_BEARER) {
        if(!wv(&w2, "token_file"))
          err(ld, a, "commerce.auth.token_file", "required key is missing (type bearer)");
        if(wkey(&w2, "username"))
          err(ld, wkey(&w2, "username"), "commerce.auth.username",
              "not used with type bearer (expected only token_file)");
        if(wkey(&w2, "password_file"))
          err(ld, wkey(&w2, "password_file"), "commerce.auth.password_file",
              "not used with type bearer (expected only token_file)");
      }
      else if(cfg->commerce.auth == CFG_AUTH_BASIC) {
        if(!wv(&w2, "username"))
          err(ld, a, "commerce.auth.username", "required key is missing (type basic)");
        if(!wv(&w2, "password_file"))
          err(ld, a, "commerce.auth.password_file", "required key is missing (type basic)");
        if(wkey(&w2, "token_file"))
          err(ld, wkey(&w2, "token_file"), "commerce.auth.token_file",
              "not used with type basic (expected username and password_file)");
      }
      (void)t;
    }
    if((a = wc(&w, "ship_to", CFG_N_MAP))) {
      const char *c;
      walk_map(ld, a, "commerce.ship_to", k_ship_to, NK(k_ship_to), cfg, &w2, NULL, 0);
      c = cfg->commerce.ship_to.country;
      if(c && !(strlen(c) == 2 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z')) {
        cfg_quote_value(c, strlen(c), q, sizeof(q));
        err(ld, wv(&w2, "country"), "commerce.ship_to.country",
            "%s is not a country code (expected ISO 3166-1 alpha-2 like DE)", q);
      }
    }
  }

  /* mail */
  if((n = wc(&top, "mail", CFG_N_MAP))) {
    const char *u;
    cfg->mail.set = true;
    ld->mail_set = true;
    ld->mail_pos = mkpos(ld, wkey(&top, "mail"));
    walk_map(ld, n, "mail", k_mail, NK(k_mail), cfg, &w, NULL, 0);
    warn_timeout(ld, wv(&w, "timeout"), "mail.timeout", cfg->mail.timeout_ms);
    u = cfg->mail.smtp_url;
    if(u) {
      cfg_quote_value(u, strlen(u), q, sizeof(q));
      if(!(starts(u, "smtp://") || starts(u, "smtps://") || starts(u, "file://")))
        err(ld, wv(&w, "smtp_url"), "mail.smtp_url",
            "%s has an unknown scheme (expected smtp://, smtps:// or file://)", q);
      else if(wv(&w, "starttls") && !starts(u, "smtp://"))
        err(ld, wv(&w, "starttls"), "mail.starttls",
            "only goes with smtp:// (smtp_url is %s; smtps:// is TLS from the start)", q);
    }
  }

  /* orders */
  if((n = wc(&top, "orders", CFG_N_MAP))) {
    const struct cfg_node *b;
    walk_map(ld, n, "orders", k_orders, NK(k_orders), cfg, &w, NULL, 0);
    if(cfg->orders.currency) {
      ld->currency_pos = mkpos(ld, wv(&w, "currency"));
      cfg->orders.currency_decimals = cfg_currency_decimals(cfg->orders.currency);
      if(cfg->orders.currency_decimals < 0) {
        const char *dym = cfg_currency_suggest(cfg->orders.currency);
        cfg_quote_value(cfg->orders.currency, strlen(cfg->orders.currency), q, sizeof(q));
        if(dym)
          err(ld, wv(&w, "currency"), "orders.currency",
              "%s is not a known ISO 4217 currency (did you mean '%s'?)", q, dym);
        else
          err(ld, wv(&w, "currency"), "orders.currency",
              "%s is not a known ISO 4217 currency (expected a code like EUR)", q);
        cfg->orders.currency = NULL;
      }
    }
    if(wv(&w, "stockout_risk") && !(cfg->orders.stockout_risk > 0 && cfg->orders.stockout_risk < 0.5))
      err(ld, wv(&w, "stockout_risk"), "orders.stockout_risk",
          "must be above 0%% and below 50%% (the chance of running out that triggers an order)");
    if((b = wc(&w, "batching", CFG_N_MAP)))
      walk_map(ld, b, "orders.batching", k_batching, NK(k_batching), cfg, &w2, NULL, 0);
    else
      walk_map(ld, &(struct cfg_node){.kind = CFG_N_MAP}, "orders.batching", k_batching,
               NK(k_batching), cfg, &w2, NULL, 0);
    if((b = wc(&w, "approval", CFG_N_MAP)))
      walk_map(ld, b, "orders.approval", k_approval, NK(k_approval), cfg, &w2, NULL, 0);
    else
      walk_map(ld, &(struct cfg_node){.kind = CFG_N_MAP}, "orders.approval", k_approval,
               NK(k_approval), cfg, &w2, NULL, 0);
  }
  else {
    walk_map(ld, &(struct cfg_node){.kind = CFG_N_MAP}, "orders", k_orders, NK(k_orders), cfg, &w,
             NULL, 0);
    walk_map(ld, &(struct cfg_node){.kind = CFG_N_MAP}, "orders.batching", k_batching,
             NK(k_batching), cfg, &w2, NULL, 0);
    walk_map(ld, &(struct cfg_node){.kind = CFG_N_MAP}, "orders.approval", k_approval,
             NK(k_approval), cfg, &w2, NULL, 0);
  }

  /* suppliers */
  if((n = wc(&top, "suppliers", CFG_N_SEQ))) {
    size_t i;
    char p[64];
    cfg->suppliers = rs_arena_alloc(ld->A, (n->n ? n->n : 1) * sizeof(*cfg->suppliers));
    for(i = 0; i < n->n; i++) {
      const struct cfg_node *it = n->kids[i];
      struct cfg_supplier *s = &cfg->suppliers[cfg->n_suppliers];
      ipath(p, sizeof(p), "suppliers", i);
      if(!cfg_want_map(kc(ld), it, p, "id"))
        continue;
      walk_map(ld, it, p, k_supplier, NK(k_supplier), s, &w, NULL, 0);
      s->pos = mkpos(ld, wv(&w, "id") ? wv(&w, "id") : it);
      if(!s->id)
        continue;
      if(cfg_find_supplier(cfg, s->id)) {
        const struct cfg_supplier *f = cfg_find_supplier(cfg, s->id);
        char sp[80];
        kpath(sp, sizeof(sp), p, "id");
        err(ld, wv(&w, "id"), sp, "duplicate supplier id '%s' (first defined at %s:%d:%d)",
            s->id, f->pos.file, f->pos.line, f->pos.col);
        continue;
      }
      cfg->n_suppliers++;
    }
  }
  /* catalog */
  if((n = wc(&top, "catalog", CFG_N_SEQ))) {
    size_t i, j;
    char p[64];
    ld->have_catalog = true;
    ld->catalog_pos = mkpos(ld, wkey(&top, "catalog"));
    cfg->catalog = rs_arena_alloc(ld->A, (n->n ? n->n : 1) * sizeof(*cfg->catalog));
    for(i = 0; i < n->n; i++) {
      const struct cfg_node *it = n->kids[i];
      struct cfg_catalog_item *c = &cfg->catalog[cfg->n_catalog];
      ipath(p, sizeof(p), "catalog", i);
      if(!cfg_want_map(kc(ld), it, p, "sku, supplier, unit_price"))
        continue;
      walk_map(ld, it, p, k_catalog, NK(k_catalog), c, &w, NULL, 0);
      c->pos = mkpos(ld, wv(&w, "sku") ? wv(&w, "sku") : it);
      if(!c->sku)
        continue; /* nothing can refer to it */
      if(c->currency) {
        char cp[80];
        kpath(cp, sizeof(cp), p, "currency");
        cfg_quote_value(c->currency, strlen(c->currency), q, sizeof(q));
        if(cfg_currency_decimals(c->currency) < 0) {
          const char *dym = cfg_currency_suggest(c->currency);
          if(dym)
            err(ld, wv(&w, "currency"), cp,
                "%s is not a known ISO 4217 currency (did you mean '%s'?)", q, dym);
          else
            err(ld, wv(&w, "currency"), cp,
                "%s is not a known ISO 4217 currency (expected a code like EUR)", q);
        }
        else if(cfg->orders.currency && strcmp(c->currency, cfg->orders.currency)) {
          err(ld, wv(&w, "currency"), cp,
              "%s differs from orders.currency '%s' (one gateway buys in one currency)", q,
              cfg->orders.currency);
        }
      }
      for(j = 0; j < cfg->n_catalog; j++)
        if(!strcmp(c->sku, cfg->catalog[j].sku)) {
          char sp[80];
          kpath(sp, sizeof(sp), p, "sku");
          err(ld, wv(&w, "sku"), sp, "duplicate SKU '%s' (first defined at %s:%d:%d)", c->sku,
              cfg->catalog[j].pos.file, cfg->catalog[j].pos.line, cfg->catalog[j].pos.col);
          break;
        }
      if(j < cfg->n_catalog)
        continue;
      if(c->supplier_id) {
        c->supplier = cfg_find_supplier(cfg, c->supplier_id);
        if(!c->supplier) {
          const char **names = rs_arena_alloc(ld->T, (cfg->n_suppliers + 1) * sizeof(*names));
          const char *dym;
          char sp[80];
          for(j = 0; j < cfg->n_suppliers; j++)
            names[j] = cfg->suppliers[j].id;
          dym = rs_did_you_mean(c->supplier_id, names);
          kpath(sp, sizeof(sp), p, "supplier");
          if(dym)
            err(ld, wv(&w, "supplier"), sp, "unknown supplier '%s' (did you mean '%s'?)",
                c->supplier_id, dym);
          else
            err(ld, wv(&w, "supplier"), sp,
                "unknown supplier '%s' (expected an id from suppliers)", c->supplier_id);
        }
      }
      cfg->n_catalog++;
    }
  }
  /* calendar */
  if((n = wc(&top, "calendar", CFG_N_MAP)))
    load_calendar(ld, n);
}

/* ---- devices.d ---- */

/* A device's points: see cfg_schema.h. */
/* "holding 104..105" (or "coil 3", "holding 7 bit 3") into buf: what point pt reads. */
static void point_span(const struct cfg_point *pt, char *buf, size_t size)
{
  unsigned a0 = pt->address, a1 = a0 + (pt->width ? pt->width : 1u) - 1u;
  if(pt->bit >= 0)
    (void)snprintf(buf, size, "%s %u bit %d", cfg_regtable_name(pt->table), a0, pt->bit);
  else if(a0 == a1)
    (void)snprintf(buf, size, "%s %u", cfg_regtable_name(pt->table), a0);
  else
    (void)snprintf(buf, size, "%s %u..%u", cfg_regtable_name(pt->table), a0, a1);
}

/*
 * Warn when Modbus point d->points[d->n_points] (being added; its address
 * node an, its key path p) reads a register (or coil) that an earlier point
 * of d reads too, naming the first such point and where it is (ppos: the
 * earlier points' positions). Bits of one register (`bit`) overlap only
 * when they are the same bit; a bit point and a point reading the whole
 * register do not (a status word read both ways).
 */
static void warn_overlap(const struct cfg_kctx *kc, const struct cfg_device *d,
                         const struct cfg_pos *ppos, const struct cfg_node *an, const char *p)
{
  const struct cfg_point *pt = &d->points[d->n_points];
  unsigned a0 = pt->address, a1 = a0 + (pt->width ? pt->width : 1u) - 1u;
  char kp[128], mine[48], theirs[48], hint[64] = "";
  size_t j;
  for(j = 0; j < d->n_points; j++) {
    const struct cfg_point *o = &d->points[j];
    unsigned b0 = o->address, b1 = b0 + (o->width ? o->width : 1u) - 1u;
    if(o->table != pt->table || a1 < b0 || b1 < a0)
      continue;
    if((o->bit >= 0) != (pt->bit >= 0) || (o->bit >= 0 && o->bit != pt->bit))
      continue;
    point_span(pt, mine, sizeof(mine));
    point_span(o, theirs, sizeof(theirs));
    if(o->width > 1 || pt->width > 1) {
      const struct cfg_point *wide = o->width > 1 ? o : pt;
      (void)snprintf(hint, sizeof(hint), ": a %s takes %u registers", cfg_vtype_name(wide->type),
                     (unsigned)wide->width);
    }
    kpath(kp, sizeof(kp), p, "address");
    cfg_kerr(kc, true, an, kp,
             "%s overlaps point '%s' (%s, at %s:%d:%d): both read the same %s (check the "
             "addresses%s)",
             mine, o->id, theirs, ppos[j].file, ppos[j].line, ppos[j].col,
             pt->bit >= 0 || pt->table == CFG_REG_COIL || pt->table == CFG_REG_DISCRETE
                 ? "bit"
                 : "register",
             hint);
    return;
  }
}

void cfg_load_points(const struct cfg_kctx *kc, struct cfg_device *d, const struct cfg_node *seq,
                     const char *dpath, const char *const *extra, bool overlaps)
{
  static const struct calt mb_alt[] = {{k_coappoint, NK(k_coappoint),
                                        "it belongs to CoAP points; this device is Modbus"}};
  static const struct calt coap_alt[] = {{k_mbpoint, NK(k_mbpoint),
                                          "it belongs to Modbus points; this device is CoAP"}};
  bool coap = d->transport == CFG_TR_COAP;
  size_t i, j;
  char p[96], kp[128], q[96];
  struct walk w;

  /* where each kept point is (d->points[j] at ppos[j]), for the duplicate
     diagnostic: in the parse tree's arena, not the config (RSS) */
  struct cfg_pos *ppos;

  d->points = rs_arena_alloc(kc->A, (seq->n ? seq->n : 1) * sizeof(*d->points));
  ppos = rs_arena_alloc(kc->T, (seq->n ? seq->n : 1) * sizeof(*ppos));
  for(i = 0; i < seq->n; i++) {
    const struct cfg_node *it = seq->kids[i];
    struct cfg_point *pt = &d->points[d->n_points];
    snprintf(p, sizeof(p), "%s.points[%zu]", dpath, i);
    if(it->kind != CFG_N_MAP) {
      if(!it->bad)
        cfg_kerr(kc, false, it, p, "got %s (expected a mapping with id and %s)", kind_name(it),
            coap ? "path" : "register, address");
      continue;
    }
    memset(pt, 0, sizeof(*pt)); /* a refused item leaves its slot to the next one */
    pt->bit = -1;
    pt->endian = (uint8_t)d->endian;
    if(coap)
      cfg_walk_map_extra(kc, it, p, k_coappoint, NK(k_coappoint), pt, &w, coap_alt, 1, extra);
    else
      cfg_walk_map_extra(kc, it, p, k_mbpoint, NK(k_mbpoint), pt, &w, mb_alt, 1, extra);
    {
      const struct cfg_node *at = wv(&w, "id") ? wv(&w, "id") : it;
      ppos[d->n_points].file = kc->file;
      ppos[d->n_points].line = at->line;
      ppos[d->n_points].col = at->col;
    }
    pt->scaled = wv(&w, "scale") != NULL || wv(&w, "offset") != NULL;
    if(wok(&w, "scale") && pt->scale == 0) {
      kpath(kp, sizeof(kp), p, "scale");
      if(pt->offset == 0)
        cfg_kerr(kc, false, wv(&w, "scale"), kp,
                 "0 makes every value 0 (expected a factor that is not 0, like 0.1; leave "
                 "scale out for 1)");
      else
        cfg_kerr(kc, true, wv(&w, "scale"), kp,
                 "0 makes every value the offset, %g, whatever the device reads (expected a "
                 "factor that is not 0, like 0.1)",
                 pt->offset);
    }
    if(!coap) {
      const struct cfg_node *tv = wv(&w, "type"), *bv = wv(&w, "bit");
      bool bits = pt->table == CFG_REG_COIL || pt->table == CFG_REG_DISCRETE;
      if(!tv)
        pt->type = bits ? CFG_VT_BOOL : CFG_VT_UINT16;
      if(!wok(&w, "register") || (tv && !wok(&w, "type")))
        goto point_done; /* reported; further checks would only echo it */
      if(tv && bits && pt->type != CFG_VT_BOOL) {
        kpath(kp, sizeof(kp), p, "type");
        cfg_quote_value(tv->s, tv->len, q, sizeof(q));
        cfg_kerr(kc, false, tv, kp, "%s is not possible on a %s (expected bool: %s points are single bits)",
            q, cfg_regtable_name(pt->table), cfg_regtable_name(pt->table));
      }
      if(wok(&w, "bit") && (bits || pt->type != CFG_VT_BOOL)) {
        kpath(kp, sizeof(kp), p, "bit");
        cfg_kerr(kc, false, bv, kp, "only applies to bool points on input or holding registers");
      }
      pt->width = (uint8_t)cfg_vtype_width(pt->type); /* 1, 2 or 4 */
      if(bits)
        pt->width = 1;
      if(wok(&w, "address") && (unsigned)pt->address + pt->width > 65536u) {
        kpath(kp, sizeof(kp), p, "address");
        cfg_kerr(kc, false, wv(&w, "address"), kp,
            "%u plus %u registers of %s goes beyond 65535 (expected an address of at most %u)",
            (unsigned)pt->address, pt->width, cfg_vtype_name(pt->type), 65536u - pt->width);
      }
    }
    else {
      const struct cfg_node *pv = wv(&w, "path");
      pt->width = 0;
      if(pt->path && pt->path[0] != '/') {
        kpath(kp, sizeof(kp), p, "path");
        cfg_quote_value(pv->s, pv->len, q, sizeof(q));
        cfg_kerr(kc, false, pv, kp, "%s does not start with '/' (expected a path like /sensors/level)", q);
      }
      if(pt->format == CFG_FMT_JSON && !wv(&w, "pointer") && wv(&w, "format")) {
        kpath(kp, sizeof(kp), p, "pointer");
        cfg_kerr(kc, false, it, kp, "required key is missing (format json)");
      }
      if(pt->format != CFG_FMT_JSON && wkey(&w, "pointer")) {
        kpath(kp, sizeof(kp), p, "pointer");
        cfg_kerr(kc, false, wkey(&w, "pointer"), kp, "only applies to format json");
      }
      if(pt->pointer && pt->pointer[0] != '/') {
        kpath(kp, sizeof(kp), p, "pointer");
        cfg_kerr(kc, false, wv(&w, "pointer"), kp,
            "does not start with '/' (expected a JSON pointer like /level)");
      }
      if(pt->format == CFG_FMT_SENML && !wv(&w, "name") && wv(&w, "format")) {
        kpath(kp, sizeof(kp), p, "name");
        cfg_kerr(kc, false, it, kp, "required key is missing (format senml)");
      }
      if(pt->format != CFG_FMT_SENML && wkey(&w, "name")) {
        kpath(kp, sizeof(kp), p, "name");
        cfg_kerr(kc, false, wkey(&w, "name"), kp, "only applies to format senml");
      }
    }
  point_done:
    if(!pt->id)
      continue;
    for(j = 0; j < d->n_points; j++) {
      if(!strcmp(d->points[j].id, pt->id)) {
        kpath(kp, sizeof(kp), p, "id");
        cfg_kerr(kc, false, wv(&w, "id"), kp, "duplicate point id '%s' (first defined at %s:%d:%d)", pt->id,
            ppos[j].file, ppos[j].line, ppos[j].col);
        break;
      }
    }
    if(j < d->n_points)
      continue;
    if(overlaps && !coap && wok(&w, "address") && (unsigned)pt->address + pt->width <= 65536u)
      warn_overlap(kc, d, ppos, wv(&w, "address"), p);
    d->n_points++;
  }
}

/* The hash of a consumable's settings: its bytes but the labels' pointer, then its labels. */
static uint64_t spec_hash(const void *x)
{
  const struct cfg_cons_spec *s = x;
  struct cfg_cons_spec t;
  uint64_t h;
  memcpy(&t, s, sizeof(t)); /* every byte, the padding too: s was zeroed whole */
  t.labels = NULL;
  h = cfg_fnv(CFG_FNV_INIT, &t, sizeof(t));
  if(s->n_labels)
    h = cfg_fnv(h, s->labels, s->n_labels * sizeof(*s->labels));
  return h;
}

/* Whether a and b say the same: equal bytes but the labels', whose pairs are equal. */
static bool spec_equal(const void *x, const void *y)
{
  const struct cfg_cons_spec *a = x, *b = y;
  struct cfg_cons_spec ta, tb;
  memcpy(&ta, a, sizeof(ta));
  memcpy(&tb, b, sizeof(tb));
  ta.labels = tb.labels = NULL;
  return !memcmp(&ta, &tb, sizeof(ta)) &&
         (!a->n_labels || !memcmp(a->labels, b->labels, a->n_labels * sizeof(*a->labels)));
}

/*
 * A consumable's settings (s, zeroed whole before it was filled: every string
 * in it is interned, so equal pointers are equal strings) kept once in the
 * config's arena: the block of an earlier consumable that says the same, or
 * a new copy (RSS, docs/BENCHMARKS.md). The SKU is resolved on the shared
 * block in phase two, alike for all.
 */
static const struct cfg_cons_spec *share_spec(struct ld *ld, const struct cfg_cons_spec *s)
{
  struct cfg_cons_spec *c = (struct cfg_cons_spec *)(uintptr_t)cfg_ptrset_find(&ld->specs, s);
  if(c)
    return c;
  c = rs_arena_alloc(ld->A, sizeof(*c));
  memcpy(c, s, sizeof(*c));
  cfg_ptrset_add(&ld->specs, c);
  return c;
}

static void load_consumables(struct ld *ld, struct cfg_device *d, const struct cfg_node *seq,
                             const char *dpath)
{
  static const char *const models[] = {"level", "usage", "button"};
  static const struct {
    const struct ckey *k;
    size_t n;
  } mtab[] = {{k_level, NK(k_level)}, {k_usage, NK(k_usage)}, {k_button, NK(k_button)}};
  size_t i, j, m;
  char p[96], kp[128], mp[128];
  struct walk w, w2;

  /* where each kept consumable is (cpos[j]), for the duplicate diagnostic (RSS) */
  struct cfg_pos *cpos;

  d->consumables = rs_arena_alloc(ld->A, (seq->n ? seq->n : 1) * sizeof(*d->consumables));
  cpos = rs_arena_alloc(ld->T, (seq->n ? seq->n : 1) * sizeof(*cpos));
  for(i = 0; i < seq->n; i++) {
    const struct cfg_node *it = seq->kids[i], *first_model = NULL;
    struct cfg_consumable *c = &d->consumables[d->n_consumables];
    struct cons_in in;
    int chosen = -1;
    memset(&in, 0, sizeof(in)); /* every byte: settings are compared byte for byte */
    snprintf(p, sizeof(p), "%s.consumables[%zu]", dpath, i);
    if(!cfg_want_map(kc(ld), it, p, "id, sku and level, usage or button"))
      continue;
    walk_map(ld, it, p, k_consumable, NK(k_consumable), &in, &w, NULL, 0);
    c->id = in.id;
    cpos[d->n_consumables] = mkpos(ld, wv(&w, "id") ? wv(&w, "id") : it);
    /* SPEC: 3 x the poll interval; a device polled continuously (0ms): 3 x its timeout */
    in.s.stale_after_ms = wv(&w, "stale_after")    ? in.s.stale_after_ms
                          : d->poll_interval_ms > 0 ? 3 * d->poll_interval_ms
                                                    : 3 * d->timeout_ms;
    for(m = 0; m < 3; m++) {
      const struct cfg_node *mk = wkey(&w, models[m]), *mv = wc(&w, models[m], CFG_N_MAP);
      if(!mk)
        continue;
      kpath(mp, sizeof(mp), p, models[m]);
      if(first_model) {
        err(ld, mk, mp, "a consumable has one lifetime model ('%s' already given at %s:%d:%d)",
            first_model->s, ld->file, first_model->line, first_model->col);
        continue;
      }
      first_model = mk;
      if(!mv)
        continue;
      chosen = (int)m;
      walk_map(ld, mv, mp, mtab[m].k, mtab[m].n, &in, &w2, NULL, 0);
      in.s.model = (enum cfg_model)m;
      if(m == (size_t)CFG_MODEL_LEVEL && wv(&w2, "full") && wv(&w2, "empty") &&
         in.s.full == in.s.empty) {
        kpath(kp, sizeof(kp), mp, "empty");
        err(ld, wv(&w2, "empty"), kp, "equals full (expected a different value)");
      }
      if(m == (size_t)CFG_MODEL_USAGE && wv(&w2, "life") && !(in.s.life > 0)) {
        kpath(kp, sizeof(kp), mp, "life");
        err(ld, wv(&w2, "life"), kp, "must be more than 0 (expected the counter's rated life)");
      }
      if(in.point_id) {
        /* the id is read here only (the consumable keeps the point it names) */
        const char **names = rs_arena_alloc(ld->T, (d->n_points + 1) * sizeof(*names));
        const char *pid = in.point_id;
        in.point_id = NULL;
        c->point = NULL;
        for(j = 0; j < d->n_points; j++) {
          names[j] = d->points[j].id;
          if(!strcmp(d->points[j].id, pid))
            c->point = &d->points[j];
        }
        names[d->n_points] = NULL;
        if(!c->point) {
          const char *dym = rs_did_you_mean(pid, names);
          kpath(kp, sizeof(kp), mp, "point");
          if(dym)
            err(ld, wv(&w2, "point"), kp, "no point '%s' in device '%s' (did you mean '%s'?)",
                pid, d->id ? d->id : "?", dym);
          else
            err(ld, wv(&w2, "point"), kp, "no point '%s' in device '%s' (expected one of its "
                "points)", pid, d->id ? d->id : "?");
        }
        else if(d->transport != CFG_TR_COAP) {
          bool is_bool = c->point->type == CFG_VT_BOOL;
          kpath(kp, sizeof(kp), mp, "point");
          if(m == (size_t)CFG_MODEL_BUTTON && !is_bool)
            err(ld, wv(&w2, "point"), kp, "point '%s' is a %s, not a bool (expected a coil, a "
                "discrete input or a register point with type: bool)", pid,
                cfg_vtype_name(c->point->type));
          else if(m != (size_t)CFG_MODEL_BUTTON && is_bool)
            err(ld, wv(&w2, "point"), kp, "point '%s' is a bool (expected a numeric point for "
                "the %s model)", pid, models[m]);
        }
      }
    }
    if(!first_model)
      err(ld, it, p, "no lifetime model (expected exactly one of: level, usage, button)");
    (void)chosen;
    if(!c->id)
      continue;
    c->spec = share_spec(ld, &in.s);
    c->full_id = rs_arena_printf(ld->A, "%s/%s", d->id ? d->id : "?", c->id);
    for(j = 0; j < d->n_consumables; j++) {
      if(!strcmp(d->consumables[j].id, c->id)) {
        kpath(kp, sizeof(kp), p, "id");
        err(ld, wv(&w, "id"), kp, "duplicate consumable id '%s' (first defined at %s:%d:%d)",
            c->id, cpos[j].file, cpos[j].line, cpos[j].col);
        break;
      }
    }
    if(j < d->n_consumables)
      continue;
    if(c->spec->sku) {
      if(ld->nref >= ld->capref) {
        ld->capref = ld->capref ? ld->capref * 2 : 16;
        ld->refs = rs_xrealloc(ld->refs, ld->capref * sizeof(*ld->refs));
      }
      ld->refs[ld->nref].s = (struct cfg_cons_spec *)(uintptr_t)c->spec;
      kpath(ld->refs[ld->nref].path, sizeof(ld->refs[ld->nref].path), p, "sku");
      ld->refs[ld->nref].pos = mkpos(ld, wv(&w, "sku"));
      ld->nref++;
    }
    d->n_consumables++;
  }
}

/* A point list's hash and sameness (share_points()): its bytes. */
static uint64_t ptlist_hash(const void *x)
{
  const struct ptlist *l = x;
  return cfg_fnv(CFG_FNV_INIT, l->pts, l->n * sizeof(*l->pts));
}

static bool ptlist_eq(const void *x, const void *y)
{
  const struct ptlist *a = x, *b = y;
  return a->n == b->n && !memcmp(a->pts, b->pts, a->n * sizeof(*a->pts));
}

/*
 * An error at n (path kp + ".baud") when baud is not one of rtu_bauds[],
 * naming the nearest one (by ratio) as the likely meant rate.
 */
static void check_baud(struct ld *ld, const struct cfg_node *n, const char *kp, int64_t baud)
{
  char bp[128], list[256];
  size_t i, len = 0, best = 0;
  double best_r = 0;
  for(i = 0; i < RS_ARRAY_LEN(rtu_bauds); i++) {
    double r = baud > rtu_bauds[i] ? (double)baud / (double)rtu_bauds[i]
                                   : (double)rtu_bauds[i] / (double)baud;
    if(rtu_bauds[i] == baud)
      return;
    if(i == 0 || r < best_r) {
      best = i;
      best_r = r;
    }
    if(rs_snprintf(list + len, sizeof(list) - len, "%s%lld", i ? ", " : "",
                   (long long)rtu_bauds[i]) == 0)
      len += strlen(list + len);
  }
  kpath(bp, sizeof(bp), kp, "baud");
  err(ld, n, bp, "'%lld' is not a baud rate the serial port can be set to (expected one of: %s; "
      "did you mean %lld?)", (long long)baud, list, (long long)rtu_bauds[best]);
}

/*
 * Devices with the same points (ids, registers, types, scales: a fleet of one
 * machine) share one list in the config (RSS, docs/BENCHMARKS.md; the config
 * is read-only after loading). d's points were the last thing allocated in
 * the config's arena since mark m when no string was interned meanwhile
 * (n_strs: the interned count before) and the load has no new error
 * (n_errs): then a list equal byte for byte (every pointer in it is to an
 * interned string, so equal pointers are equal strings; unused bytes are
 * zeroed) replaces it and the arena is rewound to m. Otherwise d's list is
 * remembered for the next devices.
 */
static void share_points(struct ld *ld, struct cfg_device *d, const struct rs_arena_mark *m,
                         size_t n_strs, size_t n_errs)
{
  struct ptlist l = {d->points, d->n_points}, *n;
  const struct ptlist *o;
  if(!d->n_points || ld->dc.n_errors != n_errs)
    return;
  o = cfg_ptrset_find(&ld->ptl, &l);
  if(o && ld->strs.n == n_strs) {
    rs_arena_rewind(ld->A, m);
    d->points = (struct cfg_point *)(uintptr_t)o->pts;
    return;
  }
  if(o)
    return;
  n = rs_xmalloc(sizeof(*n));
  *n = l;
  cfg_ptrset_add(&ld->ptl, n);
}

static void load_device(struct ld *ld, const struct cfg_node *it, const char *p)
{
  static const struct calt tcp_alt[] = {{k_rtu, NK(k_rtu), "it belongs to modbus-rtu"},
                                        {k_coap, NK(k_coap), "it belongs to coap"}};
  static const struct calt rtu_alt[] = {{k_tcp, NK(k_tcp), "it belongs to modbus-tcp"},
                                        {k_coap, NK(k_coap), "it belongs to coap"}};
  static const struct calt coap_alt[] = {{k_tcp, NK(k_tcp), "it belongs to modbus-tcp"},
                                         {k_rtu, NK(k_rtu), "it belongs to modbus-rtu"}};
  static const struct ckey k_type =
    KE("type", struct cfg_device, transport, true, CFG_TR_MODBUS_TCP, NULL, tok_transport);
  struct cfg_device d;
  struct devx x;
  struct walk w, wt;
  const struct cfg_node *tr, *n;
  char kp[96];
  size_t i;

  memset(&d, 0, sizeof(d));
  memset(&x, 0, sizeof(x));
  walk_map(ld, it, p, k_device, NK(k_device), &d, &w, NULL, 0);
  d.pos = mkpos(ld, wv(&w, "id") ? wv(&w, "id") : it);
  snprintf(x.path, sizeof(x.path), "%s", p);
  x.file = ld->file;
  x.id_pos = d.pos;

  if((tr = wc(&w, "transport", CFG_N_MAP))) {
    const struct cfg_node *tv = NULL;
    kpath(kp, sizeof(kp), p, "transport");
    for(i = 0; i < tr->n; i++)
      if(!tr->kids[2 * i]->skip && !strcmp(tr->kids[2 * i]->s, "type"))
        tv = tr->kids[2 * i + 1];
    if(!tv) {
      char tp[128];
      kpath(tp, sizeof(tp), kp, "type");
      err(ld, tr, tp, "required key is missing (expected one of: modbus-tcp, modbus-rtu, coap)");
    }
    else {
      char tp[128];
      kpath(tp, sizeof(tp), kp, "type");
      if(!conv(ld, tv, tp, &k_type, &d)) {
        size_t errs_before = ld->dc.n_errors;
        x.transport_ok = true;
        if(d.transport == CFG_TR_MODBUS_TCP) {
          walk_map(ld, tr, kp, k_tcp, NK(k_tcp), &d, &wt, tcp_alt, 2);
          n = wv(&wt, "host");
        }
        else if(d.transport == CFG_TR_MODBUS_RTU) {
          walk_map(ld, tr, kp, k_rtu, NK(k_rtu), &d, &wt, rtu_alt, 2);
          n = wv(&wt, "serial");
          if(wv(&wt, "baud") && d.baud >= 50 && d.baud <= 4000000) /* else out of range */
            check_baud(ld, wv(&wt, "baud"), kp, d.baud);
        }
        else {
          walk_map(ld, tr, kp, k_coap, NK(k_coap), &d, &wt, coap_alt, 2);
          n = wv(&wt, "uri");
          if(d.uri) {
            char up[128], q[96];
            kpath(up, sizeof(up), kp, "uri");
            cfg_quote_value(d.uri, strlen(d.uri), q, sizeof(q));
            d.coaps = starts(d.uri, "coaps://");
            if(!d.coaps && !starts(d.uri, "coap://"))
              err(ld, n, up, "%s is not a CoAP URI (expected coap://HOST[:PORT] or coaps://...)",
                  q);
            else if(d.coaps && (!wv(&wt, "psk_identity") || !wv(&wt, "psk_file"))) {
              kpath(up, sizeof(up), kp, !wv(&wt, "psk_identity") ? "psk_identity" : "psk_file");
              err(ld, tr, up, "required key is missing (coaps:// needs psk_identity and "
                  "psk_file)");
            }
            else if(!d.coaps) {
              const char *bad = wkey(&wt, "psk_identity") ? "psk_identity"
                                : wkey(&wt, "psk_file")   ? "psk_file"
                                                          : NULL;
              if(bad) {
                kpath(up, sizeof(up), kp, bad);
                err(ld, wkey(&wt, bad), up, "only applies to coaps:// URIs");
              }
            }
          }
        }
        if(n && ld->dc.n_errors == errs_before) {
          static const char *const bus_key[] = {"host", "serial", "uri"};
          x.bus_pos = mkpos(ld, n);
          kpath(x.bus_path, sizeof(x.bus_path), kp, bus_key[d.transport]);
        }
      }
    }
  }
  if(x.transport_ok) {
    if((n = wc(&w, "points", CFG_N_SEQ))) {
      struct rs_arena_mark m;
      size_t n_strs = ld->strs.n, n_errs = ld->dc.n_errors;
      rs_arena_mark(ld->A, &m);
      cfg_load_points(kc(ld), &d, n, p, NULL, true);
      share_points(ld, &d, &m, n_strs, n_errs);
    }
    if((n = wc(&w, "consumables", CFG_N_SEQ)))
      load_consumables(ld, &d, n, p);
  }
  if(!d.id)
    return;
  if(ld->ndev >= ld->capdev) {
    ld->capdev = ld->capdev ? ld->capdev * 2 : 16;
    ld->devs = rs_xrealloc(ld->devs, ld->capdev * sizeof(*ld->devs));
    ld->devx = rs_xrealloc(ld->devx, ld->capdev * sizeof(*ld->devx));
  }
  ld->devs[ld->ndev] = d;
  ld->devx[ld->ndev] = x;
  ld->ndev++;
}

/*
 * A file of a list under one top-level key (devices.d: devices, rules.d:
 * rules): file_keys its keys, each item a mapping with item_keys, read by
 * load().
 */
static void load_list_file(struct ld *ld, const struct cfg_node *root, const char *key,
                           const struct ckey *file_keys, size_t nk, const char *item_keys,
                           void (*load)(struct ld *ld, const struct cfg_node *m, const char *p))
{
  struct walk w;
  const struct cfg_node *seq;
  size_t i;
  char p[32];
  if(root->kind != CFG_N_MAP) {
    err(ld, root, "(top level)", "got %s (expected a mapping with '%s')", kind_name(root), key);
    return;
  }
  walk_map(ld, root, "", file_keys, nk, NULL, &w, NULL, 0);
  if(!(seq = wc(&w, key, CFG_N_SEQ)))
    return;
  for(i = 0; i < seq->n; i++) {
    const struct cfg_node *it = seq->kids[i];
    ipath(p, sizeof(p), key, i);
    if(cfg_want_map(kc(ld), it, p, item_keys))
      load(ld, it, p);
  }
}

/* ---- rules.d ---- */

/*
 * Position of byte `off` of a `when` scalar. Single-line plain and quoted
 * scalars map exactly (start column + offset, +1 after a quote). For
 * multi-line and block scalars the token at the offset is searched in the
 * scalar's source lines (the same occurrence count as in the value); when
 * not found, the scalar's first line is blamed.
 */
static void when_pos(struct ld *ld, const struct cfg_node *v, size_t off, int *line, int *col)
{
  size_t tl, k, occ = 0, start, end, i;
  const char *tok;
  *line = v->line;
  *col = v->col;
  if(off > v->len)
    off = v->len;
  if(v->line == v->end_line && (v->style == 1 || v->quoted)) {
    *col = v->col + (int)off + (v->quoted ? 1 : 0);
    return;
  }
  if(!ld->data)
    return;
  tok = v->s + off;
  tl = 0;
  while(off + tl < v->len && tl < 32 && tok[tl] != ' ' && tok[tl] != '\n')
    tl++;
  if(!tl)
    return;
  /* which occurrence of the token in the value is it? */
  for(k = 0; k + tl <= off; k++)
    if(!memcmp(v->s + k, tok, tl))
      occ++;
  start = cfg_byte_at(ld->data, ld->len, (size_t)(v->line - 1), (size_t)(v->col - 1));
  end = cfg_byte_at(ld->data, ld->len, (size_t)v->end_line, 0);
  for(i = start; i + tl <= end; i++) {
    if(!memcmp(ld->data + i, tok, tl)) {
      if(occ == 0) {
        size_t j;
        int l = 1, c = 1;
        for(j = 0; j < i; j++) {
          if(ld->data[j] == '\n') {
            l++;
            c = 1;
          }
          else if(((unsigned char)ld->data[j] & 0xC0u) != 0x80u) {
            c++;
          }
        }
        *line = l;
        *col = c;
        return;
      }
      occ--;
    }
  }
}

static void load_rule(struct ld *ld, const struct cfg_node *it, const char *p)
{
  struct cfg_rule r;
  struct rulex x;
  struct walk w, w2;
  const struct cfg_node *n;
  char kp[96];

  memset(&r, 0, sizeof(r));
  memset(&x, 0, sizeof(x));
  walk_map(ld, it, p, k_rule, NK(k_rule), &r, &w, NULL, 0);
  r.pos = mkpos(ld, wv(&w, "name") ? wv(&w, "name") : it);
  snprintf(x.path, sizeof(x.path), "%s", p);
  x.file = ld->file;
  if((n = wc(&w, "match", CFG_N_MAP))) {
    kpath(kp, sizeof(kp), p, "match");
    walk_map(ld, n, kp, k_match, NK(k_match), &r, &w2, NULL, 0);
    x.has_match = true;
    x.match_pos = mkpos(ld, n);
  }
  if((n = wc(&w, "order", CFG_N_MAP))) {
    kpath(kp, sizeof(kp), p, "order");
    walk_map(ld, n, kp, k_order, NK(k_order), &r, &w2, NULL, 0);
  }
  if((n = wv(&w, "when")) && n->kind == CFG_N_SCALAR && !n->bad) {
    struct expr_error e;
    kpath(kp, sizeof(kp), p, "when");
    memset(&e, 0, sizeof(e));
    r.when_src = rs_arena_strdup(ld->A, n->s);
    r.when_pos = mkpos(ld, n);
    if(n->quoted || n->style == 1) {
      r.when_pos.col += n->quoted ? 1 : 0;
    }
    if(!cfg_node_is_null(n)) {
      r.when = expr_compile(n->s, n->len, &e);
      if(!r.when) {
        int line, col;
        when_pos(ld, n, e.offset, &line, &col);
        cfg_dcol_add(&ld->dc, false, ld->file, line, col, "%s: %s", kp, e.msg);
      }
    }
  }
  if(!r.name) {
    if(r.when)
      expr_free(r.when);
    return;
  }
  if(ld->nrule >= ld->caprule) {
    ld->caprule = ld->caprule ? ld->caprule * 2 : 16;
    ld->rules = rs_xrealloc(ld->rules, ld->caprule * sizeof(*ld->rules));
    ld->rulex = rs_xrealloc(ld->rulex, ld->caprule * sizeof(*ld->rulex));
  }
  ld->rules[ld->nrule] = r;
  ld->rulex[ld->nrule] = x;
  ld->nrule++;
}

/* ---- one file ---- */

enum role { ROLE_RESTOCK, ROLE_DEVICES, ROLE_RULES, ROLE_UNKNOWN };

static enum role role_of(const char *name)
{
  if(!strcmp(name, "restock.yaml"))
    return ROLE_RESTOCK;
  if(starts(name, "devices.d/"))
    return ROLE_DEVICES;
  if(starts(name, "rules.d/"))
    return ROLE_RULES;
  return ROLE_UNKNOWN;
}

/* A devices file's list item, handed over by the parser as soon as it is read. */
static void device_item(void *ud, const struct cfg_node *it, size_t i)
{
  struct ld *ld = ud;
  char p[32];
  ipath(p, sizeof(p), "devices", i);
  ld->dc.provisional = true;
  if(cfg_want_map(kc(ld), it, p, "id and transport"))
    load_device(ld, it, p);
  ld->dc.provisional = false;
}

/*
 * Parse and walk one file's bytes; name is relative to the config dir. A
 * devices file's devices are loaded while it is parsed, each as soon as it
 * is read, and its nodes freed (the start-up peak at 500 devices was the
 * whole file's tree: docs/BENCHMARKS.md). What they added (devices, SKU
 * references, diagnostics) stays provisional until the file parses, so a
 * syntax error further down reports what it did before: the error alone.
 */
static void load_one(struct ld *ld, const char *name, const char *data, size_t len)
{
  struct cfg_node *root = NULL;
  bool empty = false;
  enum role role = role_of(name);
  const struct cfg_yaml_stream devs = {"devices", device_item, ld};
  size_t ndev = ld->ndev, nref = ld->nref;
  int prc;
  ld->file = rs_arena_strdup(ld->A, name);
  ld->data = data;
  ld->len = len;
  cfg_dcol_file(&ld->dc, ld->file);
  if(len > CFG_MAX_FILE_BYTES) {
    cfg_dcol_add(&ld->dc, false, ld->file, 0, 0, "too large: %zu bytes (at most 8 MiB)", len);
    ld->restock_broken = ld->restock_broken || role == ROLE_RESTOCK;
    return;
  }
  ld->T = rs_arena_new();
  prc = cfg_yaml_parse_stream(ld->T, &ld->dc, ld->file, data, len,
                              role == ROLE_DEVICES ? &devs : NULL, &root, &empty);
  cfg_dcol_settle(&ld->dc, prc == 0);
  if(prc && role == ROLE_RESTOCK)
    ld->restock_broken = true;
  if(prc) {
    ld->ndev = ndev; /* the devices read before the error, as if never read */
    ld->nref = nref;
  }
  if(!prc) {
    if(empty) {
      if(role == ROLE_RESTOCK)
        cfg_dcol_add(&ld->dc, false, ld->file, 0, 0,
                     "file is empty (expected at least a 'gateway' section)");
      else
        cfg_dcol_add(&ld->dc, true, ld->file, 0, 0, "file is empty");
    }
    else if(root && root->bad) {
      /* reported already */
    }
    else if(root) {
      switch(role) {
      case ROLE_RESTOCK:
        load_restock(ld, root);
        break;
      case ROLE_DEVICES:
        load_list_file(ld, root, "devices", k_devfile, NK(k_devfile), "id and transport",
                       load_device);
        break;
      case ROLE_RULES:
        load_list_file(ld, root, "rules", k_rulefile, NK(k_rulefile), "name and when", load_rule);
        break;
      default:
        break;
      }
    }
  }
  rs_arena_free(ld->T);
  ld->T = NULL;
  ld->data = NULL;
  ld->len = 0;
}

/* ---- phase two ---- */

static bool kv_has(const struct cfg_kv *kv, size_t n, const char *k, const char *v)
{
  size_t i;
  for(i = 0; i < n; i++)
    if(!strcmp(kv[i].key, k) && !strcmp(kv[i].value, v))
      return true;
  return false;
}

static bool rule_matches(const struct cfg_rule *r, const struct cfg_consumable *c)
{
  size_t i;
  if(r->match_consumable && fnmatch(r->match_consumable, c->full_id, 0))
    return false;
  if(r->match_sku && (!c->spec->sku || fnmatch(r->match_sku, c->spec->sku, 0)))
    return false;
  if(r->match_kind && (!c->spec->kind || strcmp(r->match_kind, c->spec->kind)))
    return false;
  for(i = 0; i < r->n_match_labels; i++)
    if(!kv_has(c->spec->labels, c->spec->n_labels, r->match_labels[i].key,
               r->match_labels[i].value))
      return false;
  return true;
}

static void convert_money(struct ld *ld, struct cfg_money *m, const char *path)
{
  char why[160], q[96];
  int dec = ld->cfg->orders.currency_decimals;
  if(!m->set)
    return;
  if(!ld->cfg->orders.currency) {
    if(ld->have_catalog)
      return; /* the missing orders.currency is reported once */
    struct cfg_pos p = m->pos;
    errp(ld, false, &p, path, "an amount needs orders.currency (expected a currency like EUR)");
    return;
  }
  cfg_quote_value(m->text, strlen(m->text), q, sizeof(q));
  if(cfg_parse_money(m->text, dec, &m->minor, why, sizeof(why))) {
    int nd = 0;
    (void)cfg_money_syntax(m->text, &nd, NULL, 0);
    errp(ld, false, &m->pos, path, "%s has %d decimal%s (expected at most %d for %s)", q, nd,
         nd == 1 ? "" : "s", dec, ld->cfg->orders.currency);
  }
}

/*
 * For a message about devices d and o on one serial port: "" when both name it
 * alike, else " (written 'O' there; both are REAL)". Writes into buf (size bytes;
 * a long path is cut, the message stays readable) and returns buf.
 */
static const char *same_port_note(char *buf, size_t size, const struct cfg_device *d,
                                  const struct cfg_device *o)
{
  buf[0] = '\0';
  if(strcmp(d->serial, o->serial))
    (void)rs_snprintf(buf, size, " (written '%s' there; both are %s)", o->serial,
                      d->serial_port); /* truncated: still a terminated note */
  return buf;
}

static void phase_two(struct ld *ld)
{
  struct cfg *cfg = ld->cfg;
  size_t i, j;
  char p[96];

  /* money, once the currency is known (an invalid one was reported already) */
  if(ld->have_catalog && !ld->currency_pos.line)
    errp(ld, false, &ld->catalog_pos, "orders.currency",
         "required key is missing (there is a catalog; expected a currency like EUR)");
  if(cfg->orders.currency || !ld->currency_pos.line) {
    convert_money(ld, &cfg->orders.batching.flush_value, "orders.batching.flush_value");
    convert_money(ld, &cfg->orders.approval.require_over_value,
                  "orders.approval.require_over_value");
    convert_money(ld, &cfg->orders.approval.monthly_budget, "orders.approval.monthly_budget");
    for(i = 0; i < cfg->n_suppliers; i++) {
      snprintf(p, sizeof(p), "suppliers[%zu].free_shipping_over", i);
      convert_money(ld, &cfg->suppliers[i].free_shipping_over, p);
    }
    for(i = 0; i < cfg->n_catalog; i++) {
      snprintf(p, sizeof(p), "catalog[%zu].unit_price", i);
      convert_money(ld, &cfg->catalog[i].unit_price, p);
    }
  }
  for(i = 0; i < cfg->n_catalog; i++)
    if(!cfg->catalog[i].currency)
      cfg->catalog[i].currency = cfg->orders.currency;

  /* mail needs http.public_url */
  if(ld->mail_set && !ld->public_url_set)
    errp(ld, false, &ld->mail_pos, "mail",
         "needs http.public_url (the base of the approval links in mails)");

  /* a serial port is told by its resolved path: /dev/ttyUSB0 and a /dev/serial/by-id link
     to it are one port (one bus, one set of settings); a path that does not resolve (the
     adapter not plugged in yet) is compared as written */
  for(i = 0; i < ld->ndev; i++) {
    struct cfg_device *d = &ld->devs[i];
    char *real;
    if(d->transport != CFG_TR_MODBUS_RTU || !d->serial)
      continue;
    real = realpath(d->serial, NULL);
    d->serial_port = real && strcmp(real, d->serial) ? rs_arena_strdup(ld->A, real) : d->serial;
    free(real);
  }

  /* devices: unique ids, distinct bus addresses, consistent serial settings */
  for(i = 0; i < ld->ndev; i++) {
    struct cfg_device *d = &ld->devs[i];
    struct devx *x = &ld->devx[i];
    char ip[64], note[512];
    for(j = 0; j < i; j++) {
      if(!strcmp(d->id, ld->devs[j].id)) {
        snprintf(ip, sizeof(ip), "%s.id", x->path);
        errp(ld, false, &x->id_pos, ip, "duplicate device id '%s' (first defined at %s:%d:%d)",
             d->id, ld->devx[j].id_pos.file, ld->devx[j].id_pos.line, ld->devx[j].id_pos.col);
        break;
      }
    }
    if(!x->transport_ok || !x->bus_pos.line)
      continue;
    for(j = 0; j < i; j++) {
      struct cfg_device *o = &ld->devs[j];
      if(!ld->devx[j].transport_ok || o->transport != d->transport || !ld->devx[j].bus_pos.line)
        continue;
      if(d->transport == CFG_TR_MODBUS_TCP && o->host && d->host && !strcmp(o->host, d->host) &&
         o->port == d->port && o->unit_id == d->unit_id) {
        errp(ld, false, &x->bus_pos, x->bus_path,
             "device '%s' has the same host, port and unit id as device '%s' (first defined at "
             "%s:%d:%d)",
             d->id, o->id, ld->devx[j].bus_pos.file, ld->devx[j].bus_pos.line,
             ld->devx[j].bus_pos.col);
        break;
      }
      if(d->transport == CFG_TR_MODBUS_RTU && o->serial_port && d->serial_port &&
         !strcmp(o->serial_port, d->serial_port) && o->unit_id == d->unit_id) {
        errp(ld, false, &x->bus_pos, x->bus_path,
             "device '%s' has the same serial port%s and unit id as device '%s' (first defined "
             "at %s:%d:%d)",
             d->id, same_port_note(note, sizeof(note), d, o), o->id, ld->devx[j].bus_pos.file,
             ld->devx[j].bus_pos.line, ld->devx[j].bus_pos.col);
        break;
      }
    }
    /* a serial port's settings are those of its first device */
    for(j = 0; j < i && d->transport == CFG_TR_MODBUS_RTU; j++) {
      struct cfg_device *o = &ld->devs[j];
      if(!ld->devx[j].transport_ok || o->transport != d->transport || !ld->devx[j].bus_pos.line ||
         !o->serial_port || !d->serial_port || strcmp(o->serial_port, d->serial_port))
        continue;
      (void)same_port_note(note, sizeof(note), d, o);
      if(o->baud == d->baud && o->parity == d->parity && o->data_bits == d->data_bits &&
         o->stop_bits == d->stop_bits && o->rs485 != d->rs485)
        errp(ld, false, &x->bus_pos, x->bus_path,
             "serial port '%s'%s is shared with device '%s' (%s:%d:%d) with another rs485 "
             "setting: %s here, %s there (expected the same rs485 on one port)",
             d->serial, note, o->id, ld->devx[j].bus_pos.file, ld->devx[j].bus_pos.line,
             ld->devx[j].bus_pos.col, d->rs485 ? "true" : "false", o->rs485 ? "true" : "false");
      else if(o->baud != d->baud || o->parity != d->parity || o->data_bits != d->data_bits ||
         o->stop_bits != d->stop_bits)
        errp(ld, false, &x->bus_pos, x->bus_path,
             "serial port '%s'%s is shared with device '%s' (%s:%d:%d) with other settings: "
             "%lld %c%d%d here, %lld %c%d%d there (expected the same baud, parity, data_bits "
             "and stop_bits)",
             d->serial, note, o->id, ld->devx[j].bus_pos.file, ld->devx[j].bus_pos.line,
             ld->devx[j].bus_pos.col, (long long)d->baud, d->parity, d->data_bits, d->stop_bits,
             (long long)o->baud, o->parity, o->data_bits, o->stop_bits);
      break;
    }
  }

  /* consumables: SKUs in the catalog */
  {
    const char **names = rs_xcalloc(cfg->n_catalog + 1, sizeof(*names));
    for(i = 0; i < cfg->n_catalog; i++)
      names[i] = cfg->catalog[i].sku;
    for(i = 0; i < ld->nref; i++) {
      struct skuref *r = &ld->refs[i];
      r->s->item = cfg_find_sku(cfg, r->s->sku);
      if(!r->s->item) {
        const char *dym = rs_did_you_mean(r->s->sku, names);
        if(dym)
          errp(ld, false, &r->pos, r->path, "unknown SKU '%s' (did you mean '%s'?)", r->s->sku,
               dym);
        else
          errp(ld, false, &r->pos, r->path, "unknown SKU '%s' (expected a sku from the catalog "
               "in restock.yaml)", r->s->sku);
      }
    }
    free(names);
  }

  /* rules: unique names; selectors that match nothing are a warning */
  for(i = 0; i < ld->nrule; i++) {
    struct cfg_rule *r = &ld->rules[i];
    struct rulex *x = &ld->rulex[i];
    bool any = false;
    size_t d, c;
    if(!strcmp(r->name, "default")) {
      snprintf(p, sizeof(p), "%s.name", x->path);
      errp(ld, false, &r->pos, p,
           "'default' is the name of the built-in rule (expected another name)");
    }
    for(j = 0; j < i; j++)
      if(!strcmp(r->name, ld->rules[j].name)) {
        snprintf(p, sizeof(p), "%s.name", x->path);
        errp(ld, false, &r->pos, p, "duplicate rule name '%s' (first defined at %s:%d:%d)",
             r->name, ld->rules[j].pos.file, ld->rules[j].pos.line, ld->rules[j].pos.col);
        break;
      }
    if(r->when) {
      /* SPEC 7: a rule on the installed part alone reorders while spares sit on the shelf */
      unsigned used = expr_vars_used(r->when);
      unsigned part = 1u << EXPR_VAR_DAYS_LEFT | 1u << EXPR_VAR_LEVEL_PCT |
                      1u << EXPR_VAR_DAYS_LEFT_P10 | 1u << EXPR_VAR_DAYS_LEFT_P90;
      unsigned shelf = 1u << EXPR_VAR_COVER_DAYS | 1u << EXPR_VAR_POSITION_DAYS |
                       1u << EXPR_VAR_SPARES | 1u << EXPR_VAR_ON_ORDER |
                       1u << EXPR_VAR_COVER_DAYS_P10 | 1u << EXPR_VAR_COVER_DAYS_P90 |
                       1u << EXPR_VAR_RUNOUT_RISK;
      if((used & part) && !(used & shelf)) {
        snprintf(p, sizeof(p), "%s.when", x->path);
        errp(ld, true, &r->when_pos, p,
             "reads %s but none of cover_days, position_days, spares, on_order: it will "
             "reorder while spares sit on the shelf (use cover_days or position_days)",
             (used & 1u << EXPR_VAR_DAYS_LEFT)       ? "days_left"
             : (used & 1u << EXPR_VAR_DAYS_LEFT_P10) ? "days_left_p10"
             : (used & 1u << EXPR_VAR_DAYS_LEFT_P90) ? "days_left_p90"
                                                     : "level_pct");
      }
    }
    if(!x->has_match)
      continue;
    for(d = 0; d < ld->ndev && !any; d++)
      for(c = 0; c < ld->devs[d].n_consumables && !any; c++)
        any = rule_matches(r, &ld->devs[d].consumables[c]);
    if(!any) {
      snprintf(p, sizeof(p), "%s.match", x->path);
      errp(ld, true, &x->match_pos, p, "matches no consumable");
    }
  }
}

/* ---- entry points ---- */

int cfg_default_rule_src(double stockout_risk, char *buf, size_t cap)
{
  /* the risk-based default (docs/rules.md): order when the chance of
     running out before a delivery ordered now arrives exceeds
     orders.stockout_risk; before the predictor has calibrated bounds (the
     first day of a part's history), SPEC 7's `cover_days < lead_time_days
     + 2`, on a fit with confidence >= 0.2 (about seven readings of a clean
     fit: a fit of two or three readings, or a noisy one, does not order; 0.5,
     SPEC's example, took 9-12 readings, half a day at hourly polls, while a
     part running out at start-up waited), or on a fit of the confidence a
     new part needs for bounds (predict_new_part_conf_min(), 0.05: about six
     readings; below it a new part has no bounds either) when three times
     its cover is still short of that: a part met far below its lead time
     orders one to three readings sooner */
  return rs_snprintf(buf, cap,
                     "runout_risk > %.6g or (cover_days_p10 == inf and (confidence >= 0.2 and "
                     "cover_days < lead_time_days + 2 or confidence >= %.6g and 3 * cover_days < "
                     "lead_time_days + 2))",
                     stockout_risk, predict_new_part_conf_min());
}


static void ld_init(struct ld *ld, const char *dir)
{
  char *real;
  static const struct cfg_ptrset strs = CFG_STRSET_INIT;
  memset(ld, 0, sizeof(*ld));
  ld->strs = strs;
  ld->specs.hash = spec_hash;
  ld->specs.eq = spec_equal;
  ld->ptl.hash = ptlist_hash;
  ld->ptl.eq = ptlist_eq;
  ld->cfg = rs_xcalloc(1, sizeof(*ld->cfg));
  ld->cfg->arena = rs_arena_new();
  ld->A = ld->cfg->arena;
  ld->cfg->dir = rs_arena_strdup(ld->A, dir);
  real = realpath(dir, NULL);
  ld->absdir = rs_arena_strdup(ld->A, real ? real : dir);
  free(real);
}

/* Move what was collected into cfg, run phase two, hand out diagnostics. */
static int ld_finish(struct ld *ld, struct cfg **out, struct cfg_diags *diags)
{
  struct cfg *cfg = ld->cfg;
  size_t i, j;
  int nerr;

  cfg->devices = rs_arena_alloc(ld->A, (ld->ndev ? ld->ndev : 1) * sizeof(*cfg->devices));
  if(ld->ndev)
    memcpy(cfg->devices, ld->devs, ld->ndev * sizeof(*cfg->devices));
  cfg->n_devices = ld->ndev;
  for(i = 0; i < cfg->n_devices; i++) {
    struct cfg_device *d = &cfg->devices[i];
    for(j = 0; j < d->n_consumables; j++)
      d->consumables[j].device = d;
    cfg->n_points += d->n_points;
    cfg->n_consumables += d->n_consumables;
  }
  FREE_NULL(ld->devs);
  ld->devs = cfg->devices;
  cfg->rules = rs_arena_alloc(ld->A, (ld->nrule ? ld->nrule : 1) * sizeof(*cfg->rules));
  if(ld->nrule)
    memcpy(cfg->rules, ld->rules, ld->nrule * sizeof(*cfg->rules));
  cfg->n_rules = ld->nrule;
  FREE_NULL(ld->rules);
  ld->rules = cfg->rules;

  phase_two(ld);

  {
    char def_src[CFG_DEFAULT_RULE_MAX];
    struct expr_error e;
    struct cfg_rule *r = &cfg->default_rule;
    if(cfg_default_rule_src(cfg->orders.stockout_risk, def_src, sizeof(def_src)))
      (void)cfg_default_rule_src(0.05, def_src, sizeof(def_src));
    r->name = "default";
    r->pos.file = "(built-in)";
    r->when_src = rs_arena_strdup(ld->A, def_src);
    r->when_pos = r->pos;
    r->builtin = true;
    r->approval = CFG_APPROVAL_DEFAULT;
    r->when = expr_compile(r->when_src, strlen(r->when_src), &e);
    if(!r->when)
      cfg_dcol_add(&ld->dc, false, "(built-in)", 0, 0, "default rule: %s", e.msg);
  }

  FREE_NULL(ld->devx);
  for(i = 0; i < ld->ptl.cap; i++)
    free((void *)(uintptr_t)ld->ptl.v[i]);
  cfg_ptrset_free(&ld->ptl);
  cfg_ptrset_free(&ld->specs);
  FREE_NULL(ld->rulex);
  FREE_NULL(ld->refs);
  cfg_ptrset_free(&ld->strs);
  nerr = (int)(ld->dc.n_errors > INT_MAX ? INT_MAX : ld->dc.n_errors);
  cfg_dcol_finish(&ld->dc, diags);
  if(nerr) {
    cfg_free(cfg);
    *out = NULL;
    return nerr;
  }
  *out = cfg;
  return 0;
}

int cfg_load_buffers(const char *dir, const struct cfg_file_buf *files, size_t n,
                     struct cfg **out, struct cfg_diags *diags)
{
  struct ld ld;
  size_t i;
  bool restock = false;
  ld_init(&ld, dir ? dir : ".");
  cfg_dcol_file(&ld.dc, "restock.yaml");
  for(i = 0; i < n; i++)
    if(!strcmp(files[i].name, "restock.yaml")) {
      restock = true;
      load_one(&ld, files[i].name, files[i].data, files[i].len);
    }
  for(i = 0; i < n && restock && !ld.restock_broken; i++)
    if(strcmp(files[i].name, "restock.yaml"))
      load_one(&ld, files[i].name, files[i].data, files[i].len);
  if(!restock)
    cfg_dcol_add(&ld.dc, false, "restock.yaml", 0, 0, "cannot read: %s", strerror(ENOENT));
  return ld_finish(&ld, out, diags);
}

/* Read a whole file (at most 8 MiB, checked before reading). -1 with errno-text diag. */
static int read_file(struct ld *ld, const char *name, char **data, size_t *len)
{
  char *full = rs_arena_printf(ld->A, "%s/%s", ld->cfg->dir, name);
  struct stat st;
  int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  size_t got = 0;
  *data = NULL;
  *len = 0;
  if(fd < 0) {
    int e = errno;
    /* a mistyped --config: say which directory, not only that restock.yaml is missing */
    if((e == ENOENT || e == ENOTDIR) && (stat(ld->cfg->dir, &st) || !S_ISDIR(st.st_mode)))
      cfg_dcol_add(&ld->dc, false, name, 0, 0,
                   "cannot read: the configuration directory '%s' %s (expected the directory "
                   "that holds restock.yaml, e.g. --config /etc/restock)",
                   ld->cfg->dir, e == ENOENT && stat(ld->cfg->dir, &st) ? "does not exist"
                                                                    : "is not a directory");
    else
      cfg_dcol_add(&ld->dc, false, name, 0, 0, "cannot read: %s", strerror(e));
    return -1;
  }
  if(fstat(fd, &st)) {
    cfg_dcol_add(&ld->dc, false, name, 0, 0, "cannot read: %s", strerror(errno));
    close(fd);
    return -1;
  }
  if(S_ISDIR(st.st_mode)) {
    cfg_dcol_add(&ld->dc, false, name, 0, 0, "is a directory (expected a YAML file)");
    close(fd);
    return -1;
  }
  if(!S_ISREG(st.st_mode)) {
    cfg_dcol_add(&ld->dc, false, name, 0, 0, "not a regular file (expected a YAML file)");
    close(fd);
    return -1;
  }
  if((uint64_t)st.st_size > CFG_MAX_FILE_BYTES) {
    cfg_dcol_add(&ld->dc, false, name, 0, 0, "too large: %lld bytes (at most 8 MiB)",
                 (long long)st.st_size);
    close(fd);
    return -1;
  }
  *data = rs_xmalloc((size_t)st.st_size + 1);
  while(got <= CFG_MAX_FILE_BYTES) {
    ssize_t r = read(fd, *data + got, (size_t)st.st_size + 1 - got);
    if(r < 0 && errno == EINTR)
      continue;
    if(r < 0) {
      cfg_dcol_add(&ld->dc, false, name, 0, 0, "cannot read: %s", strerror(errno));
      FREE_NULL(*data);
      close(fd);
      return -1;
    }
    if(r == 0)
      break;
    got += (size_t)r;
    if(got > (size_t)st.st_size) {
      /* grew while reading: refuse rather than chase it */
      cfg_dcol_add(&ld->dc, false, name, 0, 0, "changed while being read");
      FREE_NULL(*data);
      close(fd);
      return -1;
    }
  }
  close(fd);
  *len = got;
  return 0;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool yaml_name(const char *n)
{
  size_t l = strlen(n);
  return n[0] != '.' && ((l > 5 && !strcmp(n + l - 5, ".yaml")) ||
                         (l > 4 && !strcmp(n + l - 4, ".yml")));
}

/* Load every YAML file of sub (devices.d, rules.d) in byte order of names. */
static void load_subdir(struct ld *ld, const char *sub)
{
  char *path = rs_arena_printf(ld->A, "%s/%s", ld->cfg->dir, sub);
  DIR *dp = opendir(path);
  struct dirent *de;
  char **names = NULL;
  size_t n = 0, cap = 0, i;
  if(!dp) {
    if(errno != ENOENT)
      cfg_dcol_add(&ld->dc, false, sub, 0, 0, "cannot read: %s", strerror(errno));
    return;
  }
  while((de = readdir(dp))) {
    if(!yaml_name(de->d_name))
      continue;
    if(n >= cap) {
      cap = cap ? cap * 2 : 16;
      names = rs_xrealloc(names, cap * sizeof(*names));
    }
    names[n++] = rs_xstrdup(de->d_name);
  }
  closedir(dp);
  if(n)
    qsort(names, n, sizeof(*names), cmp_str);
  for(i = 0; i < n; i++) {
    char *rel = rs_arena_printf(ld->A, "%s/%s", sub, names[i]);
    char *data;
    size_t len;
    cfg_dcol_file(&ld->dc, rel);
    if(!read_file(ld, rel, &data, &len)) {
      load_one(ld, rel, data, len);
      free(data);
    }
    free(names[i]);
  }
  free(names);
}

int cfg_load(const char *dir, struct cfg **out, struct cfg_diags *diags)
{
  struct ld ld;
  char *data;
  size_t len;
  ld_init(&ld, dir);
  cfg_dcol_file(&ld.dc, "restock.yaml");
  if(!read_file(&ld, "restock.yaml", &data, &len)) {
    load_one(&ld, "restock.yaml", data, len);
    free(data);
  }
  else
    ld.restock_broken = true;
  if(!ld.restock_broken) {
    load_subdir(&ld, "devices.d");
    load_subdir(&ld, "rules.d");
  }
  return ld_finish(&ld, out, diags);
}
