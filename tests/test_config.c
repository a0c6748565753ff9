/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_config: the configuration loader. Value parsers (durations, money,
 * percentages), every parsed value, default and resolved reference of the
 * full valid fixture, the defaults of the minimal one, and the in-memory
 * entry (alias bomb, huge mappings) used by the fuzzer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "base/rs_util.h"
#include "rules/expr.h"
#include "rules/predict.h"

/* ---- helpers ---- */

static char *slurp(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  char *buf;
  long n;
  assert_non_null(f);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  n = ftell(f);
  assert_true(n >= 0);
  rewind(f);
  buf = rs_xmalloc((size_t)n + 1);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = '\0';
  fclose(f);
  *len = (size_t)n;
  return buf;
}

static void put(const char *path, const char *data, size_t len, mode_t mode)
{
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  fclose(f);
  assert_int_equal(chmod(path, mode), 0);
}

/* Copy a fixture dir (two levels) into a fresh temp dir; returns its path. */
static char *copy_fixture(const char *name)
{
  static const char *const subs[] = {"", "/devices.d", "/rules.d"};
  char src[512], dst[512], tmpl[] = "/tmp/test_config.XXXXXX";
  char *tmp = mkdtemp(tmpl);
  size_t i;
  assert_non_null(tmp);
  tmp = rs_xstrdup(tmp);
  for(i = 0; i < RS_ARRAY_LEN(subs); i++) {
    DIR *d;
    struct dirent *de;
    snprintf(src, sizeof(src), "%s/valid/%s%s", CONFIG_FIXTURES, name, subs[i]);
    snprintf(dst, sizeof(dst), "%s%s", tmp, subs[i]);
    d = opendir(src);
    if(!d)
      continue;
    mkdir(dst, 0755);
    while((de = readdir(d))) {
      char s[1024], t[1024];
      struct stat st;
      size_t len;
      char *data;
      snprintf(s, sizeof(s), "%s/%s", src, de->d_name);
      snprintf(t, sizeof(t), "%s/%s", dst, de->d_name);
      if(stat(s, &st) || !S_ISREG(st.st_mode))
        continue;
      data = slurp(s, &len);
      put(t, data, len, 0644);
      free(data);
    }
    closedir(d);
  }
  return tmp;
}

static void rm_tree(const char *dir)
{
  char cmd[600];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

static struct cfg *load_ok(const char *dir)
{
  struct cfg *cfg = NULL;
  struct cfg_diags diags = {0};
  int n = cfg_load(dir, &cfg, &diags);
  if(n)
    cfg_diags_print(&diags, stderr);
  assert_int_equal(n, 0);
  assert_non_null(cfg);
  cfg_diags_free(&diags);
  return cfg;
}

static bool ends_with(const char *s, const char *suffix)
{
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && !strcmp(s + a - b, suffix);
}

/* ---- value parsers ---- */

static void test_durations(void **state)
{
  static const struct {
    const char *s;
    int64_t ms;
  } ok[] = {{"500ms", 500},     {"30s", 30000},        {"5m", 300000},  {"2h", 7200000},
            {"3d", 259200000},  {"1w", 604800000},     {"0s", 0},       {"90m", 5400000},
            {"2d12h", 216000000}, {"1h30m15s", 5415000}, {"1m500ms", 60500}};
  static const char *const bad[] = {"",    "30",   "1.5h", "5x",  "-5s", "12h2d",
                                    "1h1h", "05m", "s",    "1h ", " 1h", "99999999999999999w"};
  char err[200];
  size_t i;
  (void)state;
  for(i = 0; i < RS_ARRAY_LEN(ok); i++) {
    int64_t ms = -1;
    assert_int_equal(cfg_parse_duration(ok[i].s, &ms, err, sizeof(err)), 0);
    assert_int_equal(ms, ok[i].ms);
  }
  for(i = 0; i < RS_ARRAY_LEN(bad); i++) {
    int64_t ms = 42;
    assert_int_equal(cfg_parse_duration(bad[i], &ms, err, sizeof(err)), -1);
    assert_int_equal(ms, 42);
    assert_true(strlen(err) > 0);
  }
  assert_int_equal(cfg_parse_duration("30", &(int64_t){0}, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "no unit"));
  assert_int_equal(cfg_parse_duration("1.5h", &(int64_t){0}, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "fractions"));
}

static void test_percent(void **state)
{
  double f = -1;
  char err[200];
  (void)state;
  assert_int_equal(cfg_parse_percent("10%", &f, err, sizeof(err)), 0);
  assert_true(fabs(f - 0.10) < 1e-12);
  assert_int_equal(cfg_parse_percent("0.5%", &f, err, sizeof(err)), 0);
  assert_true(fabs(f - 0.005) < 1e-12);
  assert_int_equal(cfg_parse_percent("100%", &f, err, sizeof(err)), 0);
  assert_true(fabs(f - 1.0) < 1e-12);
  assert_int_equal(cfg_parse_percent("0%", &f, err, sizeof(err)), 0);
  assert_true(f == 0.0);
  assert_int_equal(cfg_parse_percent("101%", &f, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "out of range"));
  assert_int_equal(cfg_parse_percent("-1%", &f, err, sizeof(err)), -1);
  assert_int_equal(cfg_parse_percent("10", &f, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "'%'"));
  assert_int_equal(cfg_parse_percent("%", &f, err, sizeof(err)), -1);
  assert_int_equal(cfg_parse_percent("1e1%", &f, err, sizeof(err)), -1);
  assert_int_equal(cfg_parse_percent("ten%", &f, err, sizeof(err)), -1);
}

static void test_money(void **state)
{
  int64_t m = -1;
  char err[200], buf[64];
  (void)state;
  assert_int_equal(cfg_parse_money("42.50", 2, &m, err, sizeof(err)), 0);
  assert_int_equal(m, 4250);
  assert_int_equal(cfg_parse_money("42.5", 2, &m, err, sizeof(err)), 0);
  assert_int_equal(m, 4250);
  assert_int_equal(cfg_parse_money("42", 2, &m, err, sizeof(err)), 0);
  assert_int_equal(m, 4200);
  assert_int_equal(cfg_parse_money("0.01", 2, &m, err, sizeof(err)), 0);
  assert_int_equal(m, 1);
  /* 0.1 + 0.2 style float traps never happen: read from text */
  assert_int_equal(cfg_parse_money("19.99", 2, &m, err, sizeof(err)), 0);
  assert_int_equal(m, 1999);
  assert_int_equal(cfg_parse_money("4250", 0, &m, err, sizeof(err)), 0);
  assert_int_equal(m, 4250);
  assert_int_equal(cfg_parse_money("1.234", 3, &m, err, sizeof(err)), 0);
  assert_int_equal(m, 1234);
  assert_int_equal(cfg_parse_money("42.505", 2, &m, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "3 decimals"));
  assert_int_equal(cfg_parse_money("42.500", 2, &m, err, sizeof(err)), -1);
  assert_int_equal(cfg_parse_money("100.5", 0, &m, err, sizeof(err)), -1);
  assert_int_equal(cfg_parse_money("-1.00", 2, &m, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "negative"));
  assert_int_equal(cfg_parse_money("1e3", 2, &m, err, sizeof(err)), -1);
  assert_int_equal(cfg_parse_money("", 2, &m, err, sizeof(err)), -1);
  assert_int_equal(cfg_parse_money(".5", 2, &m, err, sizeof(err)), -1);
  assert_int_equal(cfg_parse_money("5.", 2, &m, err, sizeof(err)), -1);
  assert_int_equal(cfg_parse_money("0042", 2, &m, err, sizeof(err)), -1);
  assert_int_equal(cfg_parse_money("1,50", 2, &m, err, sizeof(err)), -1);

  assert_int_equal(cfg_currency_decimals("EUR"), 2);
  assert_int_equal(cfg_currency_decimals("USD"), 2);
  assert_int_equal(cfg_currency_decimals("JPY"), 0);
  assert_int_equal(cfg_currency_decimals("KWD"), 3);
  assert_int_equal(cfg_currency_decimals("BHD"), 3);
  assert_int_equal(cfg_currency_decimals("CHF"), 2);
  assert_int_equal(cfg_currency_decimals("eur"), -1);
  assert_int_equal(cfg_currency_decimals("XXX"), -1);

  cfg_format_money(4250, 2, buf, sizeof(buf));
  assert_string_equal(buf, "42.50");
  cfg_format_money(5, 2, buf, sizeof(buf));
  assert_string_equal(buf, "0.05");
  cfg_format_money(-5, 2, buf, sizeof(buf));
  assert_string_equal(buf, "-0.05");
  cfg_format_money(4250, 0, buf, sizeof(buf));
  assert_string_equal(buf, "4250");
  cfg_format_money(1234, 3, buf, sizeof(buf));
  assert_string_equal(buf, "1.234");
  cfg_format_money(INT64_MIN, 2, buf, sizeof(buf));
  assert_string_equal(buf, "-92233720368547758.08");
}

/* ---- the full fixture ---- */

static void test_full(void **state)
{
  static const char *const secrets[] = {"admin.hash", "shop.token", "smtp.pass", "printer.psk"};
  char *dir = copy_fixture("full");
  char path[600], line[128];
  struct cfg *cfg;
  struct cfg_device *d;
  struct cfg_point *p;
  struct cfg_consumable *c;
  struct cfg_catalog_item *it;
  size_t i;
  double vars[EXPR_VAR_COUNT] = {0};
  (void)state;

  for(i = 0; i < RS_ARRAY_LEN(secrets); i++) {
    snprintf(path, sizeof(path), "%s/%s", dir, secrets[i]);
    put(path, "secret\n", 7, 0600);
  }
  cfg = load_ok(dir);

  cfg_summary(cfg, line, sizeof(line));
  assert_string_equal(line, "OK: 4 devices, 9 points, 4 consumables, 3 rules");

  assert_string_equal(cfg->gateway.id, "plant-7-gw-2");
  assert_string_equal(cfg->gateway.site, "Plant 7, Hall B");
  assert_string_equal(cfg->http.listen, "0.0.0.0:8080");
  assert_false(cfg->http.listen_loopback);
  assert_string_equal(cfg->http.public_url, "http://gw-2.plant7.example:8080");
  assert_true(cfg->http.admin_set);
  assert_string_equal(cfg->http.admin_user, "admin");
  assert_true(cfg->http.admin_password_hash_file[0] == '/');
  assert_true(ends_with(cfg->http.admin_password_hash_file, "/admin.hash"));
  assert_int_equal(cfg->http.n_allowed_hosts, 3);
  assert_string_equal(cfg->http.allowed_hosts[0], "gw-2.plant7.example");
  assert_string_equal(cfg->http.allowed_hosts[2], "localhost");

  assert_string_equal(cfg->storage.path, "/var/lib/restock/restock.db");
  assert_int_equal(cfg->storage.retention_ms, 400LL * 86400000);
  assert_true(fabs(cfg->storage.deadband - 0.005) < 1e-12);
  assert_int_equal(cfg->storage.heartbeat_ms, 3600000);

  assert_true(cfg->commerce.set);
  assert_string_equal(cfg->commerce.base_url, "https://shop.example.com/api/v1");
  assert_int_equal(cfg->commerce.auth, CFG_AUTH_BEARER);
  assert_true(ends_with(cfg->commerce.token_file, "/shop.token"));
  assert_null(cfg->commerce.username);
  assert_string_equal(cfg->commerce.ca_file, "/etc/ssl/certs/ca-certificates.crt");
  assert_int_equal(cfg->commerce.timeout_ms, 10000);
  assert_int_equal(cfg->commerce.status_interval_ms, 3600000);
  assert_string_equal(cfg->commerce.customer_id, "C-1042");
  assert_string_equal(cfg->commerce.ship_to.name, "Plant 7 stores");
  assert_string_equal(cfg->commerce.ship_to.street, "Hafenstrasse 7");
  assert_string_equal(cfg->commerce.ship_to.city, "Bremen");
  assert_string_equal(cfg->commerce.ship_to.postcode, "28217");
  assert_string_equal(cfg->commerce.ship_to.country, "DE");

  assert_true(cfg->mail.set);
  assert_string_equal(cfg->mail.smtp_url, "smtp://mail.plant7.example:587");
  assert_int_equal(cfg->mail.starttls, CFG_STARTTLS_REQUIRED);
  assert_string_equal(cfg->mail.from, "restock@plant7.example");
  assert_string_equal(cfg->mail.username, "restock");
  assert_true(ends_with(cfg->mail.password_file, "/smtp.pass"));

  assert_string_equal(cfg->orders.currency, "EUR");
  assert_int_equal(cfg->orders.currency_decimals, 2);
  assert_int_equal(cfg->orders.batching.window_ms, 86400000);
  assert_true(cfg->orders.batching.flush_value.set);
  assert_int_equal(cfg->orders.batching.flush_value.minor, 25000);
  assert_int_equal(cfg->orders.batching.max_lines, 20);
  assert_int_equal(cfg->orders.batching.urgent_margin_ms, 2 * 86400000);
  assert_int_equal(cfg->orders.handling_ms, 12 * 3600000); /* default handling_time */
  assert_int_equal(cfg->orders.approval.require_over_value.minor, 50000);
  assert_int_equal(cfg->orders.approval.require_over_quantity, 10);
  assert_int_equal(cfg->orders.approval.monthly_budget.minor, 200000); /* plain 2000 */
  assert_true(fabs(cfg->orders.approval.price_tolerance - 0.10) < 1e-12);
  assert_int_equal(cfg->orders.approval.n_approvers, 2);
  assert_string_equal(cfg->orders.approval.approvers[1], "stores@plant7.example");
  assert_int_equal(cfg->orders.approval.link_ttl_ms, 72 * 3600000LL);
  assert_int_equal(cfg->orders.approval.remind_before_ms, 12 * 3600000LL);

  /* catalog and suppliers, resolved */
  assert_int_equal(cfg->n_catalog, 3);
  assert_int_equal(cfg->n_suppliers, 2);
  it = cfg_find_sku(cfg, "HF-2040");
  assert_non_null(it);
  assert_int_equal(it->unit_price.minor, 4250);
  assert_string_equal(it->unit_price.text, "42.50");
  assert_ptr_equal(it->supplier, cfg_find_supplier(cfg, "acme"));
  assert_int_equal(it->lead_time_ms, 5 * 86400000LL);
  assert_int_equal(it->approval, CFG_APPROVAL_AUTO);
  it = cfg_find_sku(cfg, "INK-C/500");
  assert_non_null(it);
  assert_int_equal(it->unit_price.minor, 1990); /* plain number 19.9 */
  assert_string_equal(it->currency, "EUR");     /* defaults to orders.currency */
  assert_int_equal(it->pack_size, 4);
  assert_int_equal(it->lead_time_ms, 216000000);
  assert_int_equal(it->approval, CFG_APPROVAL_REQUIRED);
  assert_ptr_equal(it->supplier, cfg_find_supplier(cfg, "inkco"));
  it = cfg_find_sku(cfg, "OIL-46#20L");
  assert_non_null(it);
  assert_int_equal(it->unit_price.minor, 12000);
  assert_int_equal(it->pack_size, 1);
  assert_int_equal(it->lead_time_ms, 0);
  assert_null(cfg_find_sku(cfg, "HF-2041"));
  assert_string_equal(cfg_find_supplier(cfg, "acme")->name, "ACME Hydraulics");
  assert_int_equal(cfg_find_supplier(cfg, "acme")->free_shipping_over.minor, 20000);
  assert_int_equal(cfg_find_supplier(cfg, "acme")->max_lines, 10);
  assert_false(cfg_find_supplier(cfg, "inkco")->free_shipping_over.set);

  /* modbus-tcp device, every key */
  d = cfg_find_device(cfg, "press-01");
  assert_non_null(d);
  assert_int_equal(d->transport, CFG_TR_MODBUS_TCP);
  assert_string_equal(d->host, "192.0.2.21");
  assert_int_equal(d->port, 1502);
  assert_int_equal(d->unit_id, 0);
  assert_int_equal(d->poll_interval_ms, 30000);
  assert_int_equal(d->timeout_ms, 500);
  assert_int_equal(d->retries, 3);
  assert_int_equal(d->endian, CFG_END_CDAB);
  assert_int_equal(d->max_gap, 4);
  assert_int_equal(d->max_registers, 60);
  assert_false(d->single_reads);
  assert_int_equal(d->down_after, 5);
  assert_int_equal(d->max_backoff_ms, 120000);
  assert_int_equal(d->busy_wait_ms, 250);
  assert_string_equal(d->pos.file, "devices.d/10-press.yaml");
  assert_int_equal(d->pos.line, 2);
  assert_int_equal(d->n_points, 5);
  p = cfg_find_point(d, "filter_dp");
  assert_non_null(p);
  assert_true(p >= d->points && p < d->points + d->n_points); /* the device's own */
  assert_int_equal(p->table, CFG_REG_HOLDING);
  assert_int_equal(p->address, 100);
  assert_int_equal(p->type, CFG_VT_UINT16);
  assert_int_equal(p->endian, CFG_END_ABCD); /* its own, over the device's CDAB */
  assert_int_equal(p->width, 1);
  assert_true(fabs(p->scale - 0.01) < 1e-12);
  assert_true(p->offset == 0.0);
  assert_true(p->scaled);
  assert_string_equal(p->unit, "bar");
  assert_int_equal(p->bit, -1);
  p = cfg_find_point(d, "oil_liters");
  assert_int_equal(p->table, CFG_REG_INPUT);
  assert_int_equal(p->address, 16); /* 0x10 */
  assert_int_equal(p->type, CFG_VT_FLOAT32);
  assert_int_equal(p->width, 2);
  assert_int_equal(p->endian, CFG_END_CDAB); /* the device's */
  assert_false(p->scaled);
  assert_true(p->scale == 1.0);
  assert_null(p->unit);
  p = cfg_find_point(d, "reorder_btn");
  assert_int_equal(p->table, CFG_REG_COIL);
  assert_int_equal(p->type, CFG_VT_BOOL); /* coils default to bool */
  assert_int_equal(p->width, 1);
  p = cfg_find_point(d, "door_open");
  assert_int_equal(p->address, 65535);
  assert_int_equal(p->bit, 15);
  p = cfg_find_point(d, "hours");
  assert_int_equal(p->width, 4);
  assert_int_equal(p->type, CFG_VT_UINT64);

  assert_int_equal(d->n_consumables, 3);
  c = cfg_find_consumable(cfg, "press-01/hydraulic-filter");
  assert_non_null(c);
  assert_string_equal(c->id, "hydraulic-filter");
  assert_ptr_equal(c->device, d);
  assert_ptr_equal(c->spec->item, cfg_find_sku(cfg, "HF-2040"));
  assert_ptr_equal(c->point, cfg_find_point(d, "filter_dp"));
  assert_string_equal(c->spec->kind, "filter");
  assert_int_equal(c->spec->n_labels, 2);
  assert_string_equal(c->spec->labels[0].key, "line");
  assert_string_equal(c->spec->labels[0].value, "1");
  assert_string_equal(c->spec->labels[1].value, "B");
  assert_int_equal(c->spec->model, CFG_MODEL_LEVEL);
  assert_true(fabs(c->spec->full - 0.2) < 1e-12 && fabs(c->spec->empty - 3.5) < 1e-12);
  assert_int_equal(c->spec->spares, 1);
  assert_int_equal(c->spec->stale_after_ms, 90000); /* 3 x 30s */
  c = cfg_find_consumable(cfg, "press-01/oil");
  assert_int_equal(c->spec->model, CFG_MODEL_USAGE);
  assert_true(c->spec->life == 2000.0 && c->spec->start == 150.5);
  assert_int_equal(c->spec->stale_after_ms, 600000);
  assert_int_equal(c->spec->spares, 0);
  c = cfg_find_consumable(cfg, "press-01/manual-filter");
  assert_int_equal(c->spec->model, CFG_MODEL_BUTTON);
  assert_ptr_equal(c->point, cfg_find_point(d, "reorder_btn"));
  assert_null(cfg_find_consumable(cfg, "hydraulic-filter"));

  /* modbus-rtu: explicit and default settings */
  d = cfg_find_device(cfg, "dosing-1");
  assert_int_equal(d->transport, CFG_TR_MODBUS_RTU);
  assert_string_equal(d->serial, "/dev/ttyUSB0");
  assert_int_equal(d->baud, 9600);
  assert_int_equal(d->parity, 'N');
  assert_int_equal(d->data_bits, 8);
  assert_int_equal(d->stop_bits, 2);
  assert_int_equal(d->unit_id, 247);
  assert_true(d->rs485);
  assert_int_equal(cfg_find_point(d, "level")->endian, CFG_END_BADC);
  assert_int_equal(cfg_find_point(d, "level")->type, CFG_VT_INT16);
  d = cfg_find_device(cfg, "dosing-2");
  assert_int_equal(d->unit_id, 2);
  assert_true(d->rs485); /* one port, one rs485 setting */
  assert_int_equal(d->poll_interval_ms, 60000);
  assert_int_equal(d->timeout_ms, 1000);
  assert_int_equal(d->retries, 2);
  assert_int_equal(d->endian, CFG_END_ABCD);
  assert_int_equal(d->max_gap, 8);
  assert_int_equal(d->max_registers, 125);
  assert_int_equal(d->down_after, 3);
  assert_int_equal(d->max_backoff_ms, 300000);
  assert_int_equal(d->busy_wait_ms, 100);
  assert_int_equal(d->n_points, 0);

  /* coaps */
  d = cfg_find_device(cfg, "printer");
  assert_int_equal(d->transport, CFG_TR_COAP);
  assert_string_equal(d->uri, "coaps://192.0.2.40:5684");
  assert_true(d->coaps);
  assert_string_equal(d->psk_identity, "gw-2");
  assert_true(d->psk_file[0] == '/' && ends_with(d->psk_file, "/printer.psk"));
  assert_int_equal(d->poll_interval_ms, 300000);
  p = cfg_find_point(d, "ink_cyan");
  assert_string_equal(p->path, "/consumables/ink/cyan");
  assert_int_equal(p->format, CFG_FMT_TEXT);
  assert_true(p->observe);
  p = cfg_find_point(d, "ink_json");
  assert_int_equal(p->format, CFG_FMT_JSON);
  assert_string_equal(p->pointer, "/magenta/level");
  assert_true(p->scaled && p->scale == 100.0);
  assert_false(p->observe);
  p = cfg_find_point(d, "ink_senml");
  assert_int_equal(p->format, CFG_FMT_SENML);
  assert_string_equal(p->name, "yellow");
  c = cfg_find_consumable(cfg, "printer/cyan");
  assert_int_equal(c->spec->stale_after_ms, 900000); /* 3 x 5m */

  /* rules */
  assert_int_equal(cfg->n_rules, 3);
  assert_string_equal(cfg->rules[0].name, "filters-before-empty");
  assert_string_equal(cfg->rules[0].match_kind, "filter");
  assert_int_equal(cfg->rules[0].for_ms, 3600000);
  assert_int_equal(cfg->rules[0].quantity, 2);
  assert_int_equal(cfg->rules[0].approval, CFG_APPROVAL_AUTO);
  assert_false(cfg->rules[0].builtin);
  assert_non_null(cfg->rules[0].when);
  assert_string_equal(cfg->rules[0].when_src,
                      "cover_days < lead_time_days + 3 and confidence >= 0.5");
  assert_string_equal(cfg->rules[0].when_pos.file, "rules.d/filters.yaml");
  assert_int_equal(cfg->rules[0].when_pos.line, 4);
  assert_int_equal(cfg->rules[0].when_pos.col, 11);
  vars[EXPR_VAR_DAYS_LEFT] = 4;
  vars[EXPR_VAR_LEAD_TIME_DAYS] = 5;
  vars[EXPR_VAR_CONFIDENCE] = 0.9;
  assert_int_equal(expr_eval(cfg->rules[0].when, vars), 1);
  vars[EXPR_VAR_CONFIDENCE] = 0.1;
  assert_int_equal(expr_eval(cfg->rules[0].when, vars), 0);
  assert_string_equal(cfg->rules[1].match_consumable, "printer/*");
  assert_string_equal(cfg->rules[1].match_sku, "INK-*");
  assert_int_equal(cfg->rules[1].approval, CFG_APPROVAL_REQUIRED);
  assert_int_equal(cfg->rules[1].quantity, 0);
  assert_int_equal(cfg->rules[1].for_ms, 0);
  assert_int_equal(cfg->rules[1].when_pos.col, 12); /* after the quote */
  assert_int_equal(cfg->rules[2].n_match_labels, 1);
  assert_string_equal(cfg->rules[2].match_labels[0].key, "hall");
  assert_int_equal(cfg->rules[2].approval, CFG_APPROVAL_DEFAULT);
  assert_non_null(cfg->rules[2].when);

  /* the built-in default rule */
  assert_true(cfg->default_rule.builtin);
  assert_string_equal(cfg->default_rule.name, "default");
  /* risk-based: orders when the chance of running out within the lead time
     exceeds orders.stockout_risk (default 5 %) */
  assert_string_equal(cfg->default_rule.when_src,
                      "runout_risk > 0.05 or (cover_days_p10 == inf and (confidence >= 0.2 and "
                      "cover_days < lead_time_days + 2 or confidence >= 0.05 and 3 * cover_days < "
                      "lead_time_days + 2))");
  memset(vars, 0, sizeof(vars));
  vars[EXPR_VAR_RUNOUT_RISK] = 0.06;
  assert_int_equal(expr_eval(cfg->default_rule.when, vars), 1);
  vars[EXPR_VAR_RUNOUT_RISK] = 0.05;
  assert_int_equal(expr_eval(cfg->default_rule.when, vars), 0);
  vars[EXPR_VAR_RUNOUT_RISK] = 0;
  assert_int_equal(expr_eval(cfg->default_rule.when, vars), 0);
  /* before the predictor has bounds (SPEC 7): cover_days < lead_time_days + 2, on a fit
     with confidence >= 0.2 */
  vars[EXPR_VAR_COVER_DAYS_P10] = INFINITY;
  vars[EXPR_VAR_COVER_DAYS] = 6.9;
  vars[EXPR_VAR_LEAD_TIME_DAYS] = 5;
  vars[EXPR_VAR_CONFIDENCE] = 0.2;
  assert_int_equal(expr_eval(cfg->default_rule.when, vars), 1);
  vars[EXPR_VAR_COVER_DAYS] = 7;
  assert_int_equal(expr_eval(cfg->default_rule.when, vars), 0);
  vars[EXPR_VAR_COVER_DAYS] = 6.9;
  vars[EXPR_VAR_CONFIDENCE] = 0.15;
  assert_int_equal(expr_eval(cfg->default_rule.when, vars), 0);
  /* on a fit of confidence >= 0.05 when three times its cover is short of the lead
     time + 2 (a part met far below its lead time orders a few readings sooner) */
  vars[EXPR_VAR_COVER_DAYS] = 2.3;
  vars[EXPR_VAR_CONFIDENCE] = 0.05;
  assert_int_equal(expr_eval(cfg->default_rule.when, vars), 1);
  vars[EXPR_VAR_COVER_DAYS] = 2.4; /* 7.2 is not under 7 */
  assert_int_equal(expr_eval(cfg->default_rule.when, vars), 0);
  vars[EXPR_VAR_COVER_DAYS] = 0.5;
  vars[EXPR_VAR_CONFIDENCE] = 0.04; /* a fit too rough to go on */
  assert_int_equal(expr_eval(cfg->default_rule.when, vars), 0);
  /* the early branch's confidence is the predictor's own for a new part's bounds */
  vars[EXPR_VAR_CONFIDENCE] = predict_new_part_conf_min();
  assert_int_equal(expr_eval(cfg->default_rule.when, vars), 1);
  vars[EXPR_VAR_CONFIDENCE] = nextafter(predict_new_part_conf_min(), 0);
  assert_int_equal(expr_eval(cfg->default_rule.when, vars), 0);
  vars[EXPR_VAR_CONFIDENCE] = 0.9;
  vars[EXPR_VAR_COVER_DAYS_P10] = 6; /* bounds known: the risk alone decides */
  assert_int_equal(expr_eval(cfg->default_rule.when, vars), 0);

  cfg_free(cfg);

  /* the same dir with one secret made world-readable is refused, naming it */
  {
    struct cfg_diags diags = {0};
    struct cfg *bad = NULL;
    snprintf(path, sizeof(path), "%s/smtp.pass", dir);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(cfg_load(dir, &bad, &diags), 1);
    assert_null(bad);
    assert_int_equal(diags.n, 1);
    assert_string_equal(diags.v[0].text,
                        "restock.yaml:29:18: mail.password_file: 'smtp.pass' is world-readable "
                        "(secrets must not be: chmod o-r it)");
    cfg_diags_free(&diags);
  }
  rm_tree(dir);
  free(dir);
}

static void test_minimal_defaults(void **state)
{
  char *dir = copy_fixture("minimal");
  struct cfg *cfg = load_ok(dir);
  (void)state;
  assert_string_equal(cfg->gateway.id, "gw-1");
  assert_null(cfg->gateway.site);
  assert_string_equal(cfg->http.listen, "127.0.0.1:8080");
  assert_true(cfg->http.listen_loopback);
  assert_false(cfg->http.admin_set);
  assert_int_equal(cfg->http.n_allowed_hosts, 3);
  assert_string_equal(cfg->http.allowed_hosts[0], "127.0.0.1");
  assert_string_equal(cfg->http.allowed_hosts[1], "::1");
  assert_string_equal(cfg->http.allowed_hosts[2], "localhost");
  assert_null(cfg->http.public_url);
  assert_int_equal(cfg->storage.retention_ms, 400LL * 86400000);
  assert_true(fabs(cfg->storage.deadband - 0.005) < 1e-12);
  assert_int_equal(cfg->storage.heartbeat_ms, 3600000);
  assert_true(ends_with(cfg->storage.path, "/restock.db"));
  assert_false(cfg->commerce.set);
  assert_false(cfg->mail.set);
  assert_null(cfg->orders.currency);
  assert_int_equal(cfg->orders.batching.window_ms, 86400000);
  assert_int_equal(cfg->orders.batching.max_lines, 20);
  assert_int_equal(cfg->orders.batching.urgent_margin_ms, 2 * 86400000);
  assert_false(cfg->orders.batching.flush_value.set);
  assert_true(fabs(cfg->orders.approval.price_tolerance - 0.10) < 1e-12);
  assert_true(fabs(cfg->orders.stockout_risk - 0.05) < 1e-12);
  assert_non_null(strstr(cfg->default_rule.when_src, "runout_risk > 0.05 or "));
  assert_int_equal(cfg->orders.approval.link_ttl_ms, 72 * 3600000LL);
  assert_int_equal(cfg->orders.approval.remind_before_ms, 12 * 3600000LL);
  assert_int_equal(cfg->orders.approval.require_over_quantity, 0);
  assert_int_equal(cfg->n_devices + cfg->n_rules + cfg->n_catalog + cfg->n_suppliers, 0);
  assert_non_null(cfg->default_rule.when);
  cfg_free(cfg);
  rm_tree(dir);
  free(dir);
}

/* ---- the in-memory entry ---- */

static int load_bufs(const char *restock, const char *devname, const char *dev,
                     struct cfg_diags *diags, struct cfg **out)
{
  struct cfg_file_buf f[2] = {{"restock.yaml", restock, strlen(restock)},
                              {devname, dev, dev ? strlen(dev) : 0}};
  return cfg_load_buffers("/nonexistent", f, dev ? 2 : 1, out, diags);
}

/*
 * A commerce.timeout or mail.timeout that could outlast half the packaged
 * unit's watchdog interval (15 s of WatchdogSec=30s) is a warning at its
 * position (the config still loads); the defaults and 15 s are not.
 */
static void test_timeout_watchdog_warning(void **state)
{
  static const char base[] =
      "gateway: {id: gw}\n"
      "http: {listen: \"127.0.0.1:8080\", public_url: \"http://127.0.0.1:8080\"}\n"
      "commerce:\n  base_url: http://127.0.0.1:8090/api/v1\n%s"
      "mail:\n  smtp_url: smtp://127.0.0.1:25\n  from: gw@x.example\n%s";
  char yaml[1024];
  struct cfg_diags diags = {0};
  struct cfg *cfg = NULL;
  size_t k, warned = 0;
  (void)state;
  assert_int_equal(rs_snprintf(yaml, sizeof(yaml), base, "  timeout: 20s\n", "  timeout: 1m\n"), 0);
  assert_int_equal(load_bufs(yaml, NULL, NULL, &diags, &cfg), 0);
  assert_non_null(cfg);
  assert_int_equal(cfg->mail.timeout_ms, 60000);
  assert_int_equal(cfg->commerce.max_in_flight, 4); /* the defaults */
  assert_int_equal(cfg->mail.max_in_flight, 2);
  for(k = 0; k < diags.n; k++) {
    if(diags.v[k].warning && strstr(diags.v[k].text, "watchdog") &&
       (strstr(diags.v[k].text, "restock.yaml:5:12: commerce.timeout: 20 s") ||
        strstr(diags.v[k].text, "restock.yaml:9:12: mail.timeout: 60 s")))
      warned++;
  }
  assert_int_equal(warned, 2);
  cfg_free(cfg);
  cfg_diags_free(&diags);
  /* 15 s and the defaults: no warning */
  assert_int_equal(rs_snprintf(yaml, sizeof(yaml), base, "  timeout: 15s\n  max_in_flight: 8\n",
                               "  max_in_flight: 1\n"),
                   0);
  memset(&diags, 0, sizeof(diags));
  cfg = NULL;
  assert_int_equal(load_bufs(yaml, NULL, NULL, &diags, &cfg), 0);
  assert_int_equal(cfg->mail.timeout_ms, 15000);
  assert_int_equal(cfg->commerce.max_in_flight, 8);
  assert_int_equal(cfg->mail.max_in_flight, 1);
  for(k = 0; k < diags.n; k++)
    assert_null(strstr(diags.v[k].text, "watchdog"));
  cfg_free(cfg);
  cfg_diags_free(&diags);
}

/*
 * restock.yaml's calendar (a real file): closed periods sorted by their first
 * day, both days closed (UTC); a part with 10 days of running left that meets
 * a 10-day shutdown on its way has 20 calendar days left, and the open time
 * of those 20 days is the 10 again.
 */
static void test_calendar(void **state)
{
  char tmpl[] = "/tmp/test_config.XXXXXX", path[600];
  static const char yaml[] =
      "gateway: {id: gw}\n"
      "calendar:\n"
      "  closed:\n"
      "    - {from: 2027-07-12, to: 2027-07-18, name: maintenance week}\n"
      "    - {from: 2026-12-24, to: 2027-01-02, name: Christmas}\n";
  const int64_t day = 86400000;
  /* 2026-12-14 00:00 UTC: 10 days before Christmas's closing */
  const int64_t now = rs_days_from_civil(2026, 12, 14) * day;
  char *dir = mkdtemp(tmpl);
  struct cfg *cfg;
  const struct cfg_closed *c;
  (void)state;
  assert_non_null(dir);
  assert_true(snprintf(path, sizeof(path), "%s/restock.yaml", dir) < (int)sizeof(path));
  put(path, yaml, strlen(yaml), 0644);
  cfg = load_ok(dir);
  assert_int_equal(cfg->calendar.n_closed, 2);
  assert_string_equal(cfg->calendar.closed[0].name, "Christmas");
  assert_int_equal(cfg->calendar.closed[0].from_ms, rs_days_from_civil(2026, 12, 24) * day);
  assert_int_equal(cfg->calendar.closed[0].to_ms, rs_days_from_civil(2027, 1, 3) * day);
  assert_int_equal(cfg->calendar.closed[0].pos.line, 5);
  assert_string_equal(cfg->calendar.closed[1].name, "maintenance week");
  /* the next one from now, during it, and after both */
  c = cfg_next_closed(cfg, now);
  assert_non_null(c);
  assert_string_equal(c->name, "Christmas");
  c = cfg_next_closed(cfg, rs_days_from_civil(2027, 1, 2) * day + 3600000);
  assert_non_null(c);
  assert_string_equal(c->name, "Christmas");
  c = cfg_next_closed(cfg, rs_days_from_civil(2027, 1, 3) * day);
  assert_string_equal(c->name, "maintenance week");
  assert_null(cfg_next_closed(cfg, rs_days_from_civil(2027, 7, 19) * day));
  /* 10 working days left, a 10-day shutdown ahead: 20 calendar days */
  assert_true(fabs(cfg_calendar_days(cfg, now, 10.0) - 20.0) < 1e-9);
  assert_true(fabs(cfg_open_days(cfg, now, 20.0) - 10.0) < 1e-9);
  /* a part that runs out before the shutdown is not moved */
  assert_true(fabs(cfg_calendar_days(cfg, now, 9.5) - 9.5) < 1e-9);
  /* during the shutdown: the rest of it, then the running time */
  assert_true(fabs(cfg_calendar_days(cfg, rs_days_from_civil(2026, 12, 30) * day, 1.0) - 5.0) <
              1e-9);
  /* across both periods: 10 + 10 (Christmas) + 7 (the maintenance week) */
  assert_true(fabs(cfg_calendar_days(cfg, now, 200.0) - 217.0) < 1e-9);
  assert_true(isinf(cfg_calendar_days(cfg, now, INFINITY)));
  assert_true(fabs(cfg_calendar_days(NULL, now, 10.0) - 10.0) < 1e-12);
  cfg_free(cfg);
  rm_tree(dir);
}

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_alias_bomb_is_quick(void **state)
{
  struct rs_buf b = {0};
  struct cfg_diags diags = {0};
  struct cfg *cfg = NULL;
  double t0;
  int i, j, n;
  (void)state;
  rs_buf_puts(&b, "devices:\n  - id: bomb\n    transport:\n      l0: &a0 [lol, lol, lol, lol, lol, "
                  "lol, lol, lol, lol]\n");
  for(i = 1; i < 20; i++) {
    rs_buf_printf(&b, "      l%d: &a%d [", i, i);
    for(j = 0; j < 9; j++)
      rs_buf_printf(&b, "%s*a%d", j ? ", " : "", i - 1);
    rs_buf_puts(&b, "]\n");
  }
  t0 = now_s();
  n = load_bufs("gateway: {id: gw}\n", "devices.d/bomb.yaml", b.data, &diags, &cfg);
  assert_true(now_s() - t0 < 0.5); /* 9^20 nodes if expanded */
  assert_true(n > 0);
  assert_null(cfg);
  /* one message for the anchors, one for the aliases, with counts */
  {
    size_t k, anchors = 0, aliases = 0;
    for(k = 0; k < diags.n; k++) {
      if(strstr(diags.v[k].text, "anchor '&a0' is not allowed") &&
         strstr(diags.v[k].text, "19 more anchors"))
        anchors++;
      if(strstr(diags.v[k].text, "alias '*a0' is not allowed") &&
         strstr(diags.v[k].text, "170 more aliases"))
        aliases++;
    }
    assert_int_equal(anchors, 1);
    assert_int_equal(aliases, 1);
  }
  cfg_diags_free(&diags);
  rs_buf_free(&b);
}

static void test_huge_mapping_is_quick(void **state)
{
  struct rs_buf b = {0};
  struct cfg_diags diags = {0};
  struct cfg *cfg = NULL;
  double t0;
  int i;
  (void)state;
  /* 100k duplicate keys: duplicate detection must not be quadratic */
  rs_buf_puts(&b, "gateway: {id: gw}\nhttp:\n");
  for(i = 0; i < 100000; i++)
    rs_buf_puts(&b, "  listen: 127.0.0.1:8080\n");
  t0 = now_s();
  assert_int_equal(load_bufs(b.data, NULL, NULL, &diags, &cfg), 99999);
  assert_true(now_s() - t0 < 5.0);
  assert_string_equal(diags.v[0].text,
                      "restock.yaml:4:3: http.listen: duplicate key 'listen' (first defined at "
                      "restock.yaml:3:3)");
  cfg_diags_free(&diags);
  rs_buf_free(&b);
}

/*
 * Nesting is capped at 64 levels while parsing (issue 15 item 7): 64 is
 * read (and then judged by the schema), 65 is refused with the key path.
 */
static void test_depth_cap(void **state)
{
  struct rs_buf b = {0};
  struct cfg_diags diags = {0};
  struct cfg *cfg = NULL;
  size_t i;
  int depth;
  (void)state;
  for(depth = 64; depth <= 65; depth++) {
    bool refused = false;
    rs_buf_puts(&b, "gateway: {id: gw}\nsuppliers: ");
    for(i = 1; i < (size_t)depth; i++) /* the top-level mapping is level 1 */
      rs_buf_puts(&b, "[");
    rs_buf_puts(&b, "x");
    for(i = 1; i < (size_t)depth; i++)
      rs_buf_puts(&b, "]");
    rs_buf_puts(&b, "\n");
    assert_true(load_bufs(b.data, NULL, NULL, &diags, &cfg) > 0);
    for(i = 0; i < diags.n; i++)
      if(strstr(diags.v[i].text, "nested more than 64 levels deep"))
        refused = true;
    assert_int_equal(refused, depth > 64);
    if(depth > 64)
      assert_non_null(strstr(diags.v[0].text, "restock.yaml:2:75: suppliers[0][0]"));
    cfg_diags_free(&diags);
    cfg_free(cfg);
    cfg = NULL;
    rs_buf_free(&b);
  }
}

static void test_diags_in_file_order(void **state)
{
  struct cfg_diags diags = {0};
  struct cfg *cfg = NULL;
  const char *dev = "devices:\n"
                    "  - id: a\n"
                    "    transport: {type: modbus-tcp, host: h}\n"
                    "    consumables:\n"
                    "      - {id: c, sku: NOPE, button: {point: p}}\n"
                    "  - id: a\n"
                    "    transport: {type: modbus-tcp, host: h2}\n";
  (void)state;
  /* phase-two errors (unknown SKU, duplicate device) sort in with phase one */
  assert_int_equal(load_bufs("gateway: {id: gw, sit: x}\n", "devices.d/a.yaml", dev, &diags,
                             &cfg),
                   4);
  assert_int_equal(diags.n, 4);
  assert_string_equal(diags.v[0].text,
                      "restock.yaml:1:19: gateway.sit: unknown key (did you mean 'site'?)");
  assert_string_equal(diags.v[1].text,
                      "devices.d/a.yaml:5:22: devices[0].consumables[0].sku: unknown SKU 'NOPE' "
                      "(expected a sku from the catalog in restock.yaml)");
  assert_string_equal(diags.v[2].text,
                      "devices.d/a.yaml:5:44: devices[0].consumables[0].button.point: no point "
                      "'p' in device 'a' (expected one of its points)");
  assert_string_equal(diags.v[3].text,
                      "devices.d/a.yaml:6:9: devices[1].id: duplicate device id 'a' (first "
                      "defined at devices.d/a.yaml:2:9)");
  cfg_diags_free(&diags);

  /* a valid in-memory config loads and counts */
  assert_int_equal(load_bufs("gateway: {id: gw}\n", "devices.d/a.yaml",
                             "devices: [{id: a, transport: {type: coap, uri: \"coap://h\"},"
                             " points: [{id: p, path: /p}]}]\n",
                             &diags, &cfg),
                   0);
  assert_non_null(cfg);
  assert_int_equal(cfg->n_points, 1);
  assert_string_equal(cfg->devices[0].points[0].id, "p");
  assert_int_equal(diags.n, 0);
  cfg_free(cfg);
  cfg_diags_free(&diags);
}

/*
 * A Modbus RTU baud rate libmodbus cannot set is an error at its position,
 * naming the nearest rate: libmodbus would open the port at 9600 without a
 * word and the device would only look silent. Every rate it can set loads.
 */
static void test_rtu_baud(void **state)
{
  static const char dev[] = "devices:\n"
                            "  - id: pump\n"
                            "    transport: {type: modbus-rtu, serial: /dev/ttyUSB0, baud: %s}\n"
                            "    points: [{id: lvl, register: holding, address: 0}]\n";
  static const char *const good[] = {"110",     "600",     "9600",    "19200",  "38400",
                                     "57600",   "115200",  "230400",  "921600", "1000000",
                                     "1500000", "3500000", "4000000"};
  char yaml[512];
  struct cfg_diags diags = {0};
  struct cfg *cfg = NULL;
  size_t i;
  (void)state;
  assert_int_equal(rs_snprintf(yaml, sizeof(yaml), dev, "19201"), 0);
  assert_int_equal(load_bufs("gateway: {id: gw}\n", "devices.d/d.yaml", yaml, &diags, &cfg), 1);
  assert_null(cfg);
  assert_int_equal(diags.n, 1);
  assert_non_null(strstr(diags.v[0].text, "devices.d/d.yaml:3:63: devices[0].transport.baud: "
                                          "'19201' is not a baud rate the serial port can be set "
                                          "to (expected one of: 110, 300, "));
  assert_true(ends_with(diags.v[0].text, "; did you mean 19200?)"));
  cfg_diags_free(&diags);
  assert_int_equal(rs_snprintf(yaml, sizeof(yaml), dev, "2000000"), 0);
  assert_int_equal(load_bufs("gateway: {id: gw}\n", "devices.d/d.yaml", yaml, &diags, &cfg), 1);
  assert_true(ends_with(diags.v[0].text, "did you mean 2500000?)"));
  cfg_diags_free(&diags);
  for(i = 0; i < RS_ARRAY_LEN(good); i++) {
    assert_int_equal(rs_snprintf(yaml, sizeof(yaml), dev, good[i]), 0);
    assert_int_equal(load_bufs("gateway: {id: gw}\n", "devices.d/d.yaml", yaml, &diags, &cfg), 0);
    assert_int_equal(cfg->devices[0].baud, strtoll(good[i], NULL, 10));
    cfg_free(cfg);
    cfg = NULL;
    cfg_diags_free(&diags);
  }
}

/*
 * Two spellings of one serial port (the port and a symlink to it, as
 * /dev/ttyUSB0 and a /dev/serial/by-id link) are one port: a baud mismatch
 * between them is an error at the second's position naming both spellings,
 * the same unit id twice is an error, and alike settings load with one
 * resolved serial_port (adapter_bus_key()'s) and the spellings kept as written.
 */
static void test_rtu_port_spellings(void **state)
{
  static const char dev[] = "devices:\n"
                            "  - id: a\n"
                            "    transport: {type: modbus-rtu, serial: %s, baud: 9600}\n"
                            "    points: [{id: lvl, register: holding, address: 0}]\n"
                            "  - id: b\n"
                            "    transport: {type: modbus-rtu, serial: %s, baud: %s, unit_id: %s}\n"
                            "    points: [{id: lvl, register: holding, address: 0}]\n";
  char tmpl[] = "/tmp/restock-cfgport-XXXXXX", port[128], link[128], yaml[1024];
  char *dir = mkdtemp(tmpl);
  struct cfg_diags diags = {0};
  struct cfg *cfg = NULL;
  (void)state;
  assert_non_null(dir);
  assert_int_equal(rs_snprintf(port, sizeof(port), "%s/ttyUSB0", dir), 0);
  assert_int_equal(rs_snprintf(link, sizeof(link), "%s/by-id-link", dir), 0);
  put(port, "", 0, 0600);
  assert_int_equal(symlink(port, link), 0);

  assert_int_equal(rs_snprintf(yaml, sizeof(yaml), dev, port, link, "19200", "2"), 0);
  assert_int_equal(load_bufs("gateway: {id: gw}\n", "devices.d/d.yaml", yaml, &diags, &cfg), 1);
  assert_null(cfg);
  assert_int_equal(diags.n, 1);
  assert_non_null(strstr(diags.v[0].text, "devices.d/d.yaml:6:"));
  assert_non_null(strstr(diags.v[0].text, "with other settings: 19200 E81 here, 9600 E81 there"));
  assert_non_null(strstr(diags.v[0].text, link));
  assert_non_null(strstr(diags.v[0].text, "is shared with device 'a' (devices.d/d.yaml:3:"));
  cfg_diags_free(&diags);

  assert_int_equal(rs_snprintf(yaml, sizeof(yaml), dev, port, link, "9600", "1"), 0);
  assert_int_equal(load_bufs("gateway: {id: gw}\n", "devices.d/d.yaml", yaml, &diags, &cfg), 1);
  assert_int_equal(diags.n, 1);
  assert_non_null(strstr(diags.v[0].text, "has the same serial port"));
  cfg_diags_free(&diags);

  assert_int_equal(rs_snprintf(yaml, sizeof(yaml), dev, port, link, "9600", "2"), 0);
  assert_int_equal(load_bufs("gateway: {id: gw}\n", "devices.d/d.yaml", yaml, &diags, &cfg), 0);
  assert_string_equal(cfg->devices[1].serial, link);
  assert_non_null(cfg->devices[0].serial_port);
  assert_string_equal(cfg->devices[0].serial_port, cfg->devices[1].serial_port);
  cfg_free(cfg);
  cfg = NULL;
  cfg_diags_free(&diags);
  rm_tree(dir);
}

/*
 * A --config naming a directory that does not exist (or a file) says so by
 * name, not only "restock.yaml: cannot read"; a directory without
 * restock.yaml keeps the plain sentence.
 */
static void test_config_dir_missing(void **state)
{
  struct cfg_diags diags = {0};
  struct cfg *cfg = NULL;
  char *dir = copy_fixture("minimal");
  char path[4096];
  (void)state;
  assert_int_equal(rs_snprintf(path, sizeof(path), "%s/no-such-dir", dir), 0);
  assert_int_equal(cfg_load(path, &cfg, &diags), 1);
  assert_null(cfg);
  assert_true(strstr(diags.v[0].text, "restock.yaml: cannot read: the configuration directory '") ==
              diags.v[0].text);
  assert_non_null(strstr(diags.v[0].text, "/no-such-dir' does not exist (expected the directory "
                                          "that holds restock.yaml"));
  cfg_diags_free(&diags);
  assert_int_equal(rs_snprintf(path, sizeof(path), "%s/restock.yaml", dir), 0);
  assert_int_equal(cfg_load(path, &cfg, &diags), 1);
  assert_non_null(strstr(diags.v[0].text, "/restock.yaml' is not a directory"));
  cfg_diags_free(&diags);
  rm_tree(dir);
  free(dir);
}

/* orders.stockout_risk sets the default rule's threshold; out of range is an error. */
static void test_stockout_risk(void **state)
{
  struct cfg_diags diags = {0};
  struct cfg *cfg = NULL;
  (void)state;
  assert_int_equal(load_bufs("gateway: {id: gw}\norders: {stockout_risk: 2%}\n", NULL, NULL,
                             &diags, &cfg),
                   0);
  assert_true(fabs(cfg->orders.stockout_risk - 0.02) < 1e-12);
  assert_non_null(strstr(cfg->default_rule.when_src, "runout_risk > 0.02 or "));
  cfg_free(cfg);
  cfg_diags_free(&diags);
  /* orders.handling_time: the time to receive and fit a delivery, 0 to 7 days */
  assert_int_equal(load_bufs("gateway: {id: gw}\norders: {handling_time: 1d}\n", NULL, NULL,
                             &diags, &cfg),
                   0);
  assert_int_equal(cfg->orders.handling_ms, 86400000);
  cfg_free(cfg);
  cfg_diags_free(&diags);
  assert_int_equal(load_bufs("gateway: {id: gw}\norders: {handling_time: 8d}\n", NULL, NULL,
                             &diags, &cfg),
                   1);
  assert_true(strstr(diags.v[0].text, "orders.handling_time") != NULL);
  cfg_diags_free(&diags);
  assert_int_equal(load_bufs("gateway: {id: gw}\norders: {stockout_risk: 60%}\n", NULL, NULL,
                             &diags, &cfg),
                   1);
  assert_string_equal(diags.v[0].text,
                      "restock.yaml:2:25: orders.stockout_risk: must be above 0% and below 50% "
                      "(the chance of running out that triggers an order)");
  cfg_diags_free(&diags);
}

/*
 * poll_interval: 0ms polls continuously (restock's decision: the SPEC has no
 * minimum); the default stale_after is then 3 x the device's timeout, not 0.
 * A nonzero interval keeps SPEC's 3 x poll_interval.
 */
static void test_continuous_polling(void **state)
{
  static const char dev[] =
      "devices:\n"
      "  - id: fast\n"
      "    transport: {type: modbus-tcp, host: 127.0.0.1}\n"
      "    poll_interval: 0ms\n"
      "    timeout: 250ms\n"
      "    points: [{id: lvl, register: holding, address: 0}]\n"
      "    consumables: [{id: c, sku: S-1, level: {point: lvl, full: 100, empty: 0}}]\n"
      "  - id: slow\n"
      "    transport: {type: modbus-tcp, host: 127.0.0.1, port: 503}\n"
      "    poll_interval: 1ms\n"
      "    points: [{id: lvl, register: holding, address: 0}]\n"
      "    consumables: [{id: c, sku: S-1, level: {point: lvl, full: 100, empty: 0}}]\n";
  struct cfg_diags diags = {0};
  struct cfg *cfg = NULL;
  const struct cfg_device *d;
  (void)state;
  assert_int_equal(load_bufs("gateway: {id: gw}\n"
                             "orders: {currency: EUR}\n"
                             "suppliers: [{id: acme}]\n"
                             "catalog: [{sku: S-1, supplier: acme, unit_price: \"1.00\"}]\n",
                             "devices.d/d.yaml", dev, &diags, &cfg),
                   0);
  d = cfg_find_device(cfg, "fast");
  assert_int_equal(d->poll_interval_ms, 0);
  assert_int_equal(d->consumables[0].spec->stale_after_ms, 750);
  d = cfg_find_device(cfg, "slow");
  assert_int_equal(d->poll_interval_ms, 1);
  assert_int_equal(d->consumables[0].spec->stale_after_ms, 3);
  cfg_free(cfg);
  cfg_diags_free(&diags);
}

/* A restock.yaml with one SKU, S-1, for the devices.d tests below. */
static const char restock_one_sku[] = "gateway: {id: gw}\n"
                                      "orders: {currency: EUR}\n"
                                      "suppliers: [{id: acme}]\n"
                                      "catalog: [{sku: S-1, supplier: acme, unit_price: \"1.00\"}]\n";

/* Devices with the same points keep one list (RSS); each still reads its own
   point by its own consumables, and a device whose points differ keeps its own. */
static void test_devices_same_points_shared(void **state)
{
  struct cfg_diags diags = {0};
  struct cfg *cfg = NULL;
  size_t i;
  (void)state;
  assert_int_equal(load_bufs(restock_one_sku, "devices.d/a.yaml",
                             "devices:\n"
                             "  - id: m1\n"
                             "    transport: {type: modbus-tcp, host: h1}\n"
                             "    points: [{id: p0, register: holding, address: 0}, {id: p1, register: holding, address: 1}]\n"
                             "    consumables: [{id: c, sku: S-1, level: {point: p1, full: 100, empty: 0}}]\n"
                             "  - id: m2\n"
                             "    transport: {type: modbus-tcp, host: h2}\n"
                             "    points: [{id: p0, register: holding, address: 0}, {id: p1, register: holding, address: 1}]\n"
                             "    consumables: [{id: c, sku: S-1, level: {point: p1, full: 100, empty: 0}}]\n"
                             "  - id: m3\n"
                             "    transport: {type: modbus-tcp, host: h3}\n"
                             "    points: [{id: p0, register: holding, address: 0}, {id: p1, register: holding, address: 2}]\n"
                             "    consumables: [{id: c, sku: S-1, level: {point: p1, full: 100, empty: 0}}]\n",
                             &diags, &cfg),
                   0);
  assert_non_null(cfg);
  assert_int_equal(cfg->n_devices, 3);
  assert_ptr_equal(cfg->devices[0].points, cfg->devices[1].points);
  assert_ptr_not_equal(cfg->devices[0].points, cfg->devices[2].points);
  for(i = 0; i < 3; i++) {
    const struct cfg_consumable *c = &cfg->devices[i].consumables[0];
    assert_ptr_equal(c->device, &cfg->devices[i]);
    assert_ptr_equal(c->point, &cfg->devices[i].points[1]);
    assert_string_equal(c->point->id, "p1");
  }
  assert_int_equal(cfg->devices[2].points[1].address, 2);
  assert_int_equal(cfg->devices[1].points[1].address, 1);
  cfg_free(cfg);
  cfg_diags_free(&diags);
}

/*
 * Consumables with the same settings share one block (RSS): each still has
 * its own id, device and point, and reads its own settings (spares, range,
 * labels, stale time from its device's poll interval, the SKU's catalog
 * item); one that differs in any of them has a block of its own. And the
 * config arena's packed strings leave what follows them aligned.
 */
static void test_consumable_settings_shared(void **state)
{
  struct cfg_diags diags = {0};
  struct cfg *cfg = NULL;
  const struct cfg_consumable *a1, *a2, *b1, *b2, *b3, *b4, *c1;
  struct rs_arena *ar;
  void *p;
  (void)state;
  assert_int_equal(load_bufs(restock_one_sku, "devices.d/a.yaml",
                             "devices:\n"
                             "  - id: a\n"
                             "    transport: {type: modbus-tcp, host: h1}\n"
                             "    points: [{id: p0, register: holding, address: 0}, {id: p1, register: holding, address: 1}]\n"
                             "    consumables:\n"
                             "      - {id: c1, sku: S-1, spares: 2, level: {point: p0, full: 100, empty: 0}}\n"
                             "      - {id: c2, sku: S-1, spares: 2, level: {point: p1, full: 100, empty: 0}}\n"
                             "  - id: b\n"
                             "    transport: {type: modbus-tcp, host: h2}\n"
                             "    points: [{id: q0, register: holding, address: 0}, {id: q1, register: holding, address: 1}]\n"
                             "    consumables:\n"
                             "      - {id: c1, sku: S-1, spares: 2, level: {point: q0, full: 100, empty: 0}}\n"
                             "      - {id: c2, sku: S-1, spares: 3, labels: {line: \"2\"}, level: {point: q1, full: 100, empty: 0}}\n"
                             "      - {id: c3, sku: S-1, spares: 3, labels: {line: \"2\"}, level: {point: q1, full: 100, empty: 0}}\n"
                             "      - {id: c4, sku: S-1, spares: 3, labels: {line: \"3\"}, level: {point: q1, full: 100, empty: 0}}\n"
                             "  - id: c\n"
                             "    transport: {type: modbus-tcp, host: h3}\n"
                             "    poll_interval: 10s\n"
                             "    points: [{id: p0, register: holding, address: 0}]\n"
                             "    consumables: [{id: c1, sku: S-1, spares: 2, level: {point: p0, full: 100, empty: 0}}]\n",
                             &diags, &cfg),
                   0);
  assert_non_null(cfg);
  a1 = &cfg->devices[0].consumables[0];
  a2 = &cfg->devices[0].consumables[1];
  b1 = &cfg->devices[1].consumables[0];
  b2 = &cfg->devices[1].consumables[1];
  b3 = &cfg->devices[1].consumables[2];
  b4 = &cfg->devices[1].consumables[3];
  c1 = &cfg->devices[2].consumables[0];
  /* the same settings: one block; each its own id, device and point */
  assert_ptr_equal(a1->spec, a2->spec);
  assert_ptr_equal(a1->spec, b1->spec);
  assert_ptr_equal(b2->spec, b3->spec);
  assert_string_equal(a2->full_id, "a/c2");
  assert_string_equal(b1->full_id, "b/c1");
  assert_ptr_equal(b1->device, &cfg->devices[1]);
  assert_string_equal(a2->point->id, "p1");
  assert_string_equal(b3->point->id, "q1");
  /* different spares and labels, a different stale time: their own */
  assert_ptr_not_equal(a1->spec, b2->spec);
  assert_ptr_not_equal(a1->spec, c1->spec);
  assert_int_equal(a1->spec->spares, 2);
  assert_int_equal(b2->spec->spares, 3);
  assert_int_equal(b2->spec->n_labels, 1);
  assert_string_equal(b2->spec->labels[0].value, "2");
  /* a label's value alone: its own (a rule matching line 3 must not match line 2) */
  assert_ptr_not_equal(b2->spec, b4->spec);
  assert_string_equal(b4->spec->labels[0].value, "3");
  assert_string_equal(b3->spec->labels[0].value, "2");
  assert_int_equal(a1->spec->n_labels, 0);
  assert_int_equal(a1->spec->stale_after_ms, 3 * 60000); /* 3 x the default 60 s */
  assert_int_equal(c1->spec->stale_after_ms, 3 * 10000);
  assert_true(a1->spec->full == 100 && a1->spec->empty == 0);
  /* the SKU resolved on every block */
  assert_non_null(a1->spec->item);
  assert_ptr_equal(a1->spec->item, b2->spec->item);
  assert_ptr_equal(c1->spec->item, cfg_find_sku(cfg, "S-1"));
  cfg_free(cfg);
  cfg_diags_free(&diags);

  /* packed strings; what is allocated after one is still aligned */
  ar = rs_arena_new();
  assert_string_equal(rs_arena_strdup(ar, "abc"), "abc");
  p = rs_arena_alloc(ar, 24);
  assert_int_equal((uintptr_t)p % 16, 0);
  assert_string_equal(rs_arena_strdup(ar, "de"), "de");
  p = rs_arena_alloc_aligned(ar, 8, 8);
  assert_int_equal((uintptr_t)p % 8, 0);
  rs_arena_free(ar);
}

/*
 * A devices file is loaded device by device while it is parsed (the
 * start-up peak): what a user sees is the same as from a whole tree. The
 * errors of devices read before a YAML syntax error further down are not
 * reported (the syntax error alone, as before); paths count the devices; a
 * second 'devices' key is a duplicate whose list is ignored; many devices
 * load whole, each with its points and consumables.
 */
static void test_devices_streamed(void **state)
{
  struct cfg_diags diags = {0};
  struct cfg *cfg = NULL;
  struct rs_buf b = {0};
  size_t i;
  (void)state;
  /* device 0 has an unknown key; line 4 is not YAML */
  assert_int_equal(load_bufs(restock_one_sku, "devices.d/a.yaml",
                             "devices:\n"
                             "  - {id: a, transport: {type: modbus-tcp, host: h}, colour: red}\n"
                             "  - id: b\n"
                             "    transport: {type: modbus-tcp, host: h2\n",
                             &diags, &cfg),
                   1);
  assert_null(cfg);
  assert_int_equal(diags.n, 1);
  assert_non_null(strstr(diags.v[0].text, "YAML syntax error"));
  cfg_diags_free(&diags);

  /* the third device's error names devices[2]; the second list is a duplicate key */
  assert_int_equal(load_bufs(restock_one_sku, "devices.d/a.yaml",
                             "devices:\n"
                             "  - {id: a, transport: {type: modbus-tcp, host: h}}\n"
                             "  - [not, a, mapping]\n"
                             "  - {id: c, transport: {type: modbus-tcp, host: h3}, colour: red}\n"
                             "devices:\n"
                             "  - {id: d, transport: {type: modbus-tcp, host: h4}}\n",
                             &diags, &cfg),
                   3);
  assert_int_equal(diags.n, 3);
  assert_string_equal(diags.v[0].text, "devices.d/a.yaml:3:5: devices[1]: got a list (expected "
                                       "a mapping with id and transport)");
  assert_non_null(strstr(diags.v[1].text, "devices.d/a.yaml:4:54: devices[2].colour: unknown key"));
  assert_non_null(strstr(diags.v[2].text, "devices.d/a.yaml:5:1: devices: duplicate key 'devices'"));
  cfg_diags_free(&diags);

  /* 300 devices of 10 points and 10 consumables: all there, in file order */
  rs_buf_puts(&b, "devices:\n");
  for(i = 0; i < 300; i++) {
    size_t j;
    rs_buf_printf(&b, "  - id: dev-%zu\n    transport: {type: modbus-tcp, host: h%zu}\n"
                      "    points:\n", i, i);
    for(j = 0; j < 10; j++)
      rs_buf_printf(&b, "      - {id: p%zu, register: holding, address: %zu}\n", j, j);
    rs_buf_puts(&b, "    consumables:\n");
    for(j = 0; j < 10; j++)
      rs_buf_printf(&b, "      - {id: c%zu, sku: S-1, level: {point: p%zu, full: 0, empty: 100}}\n",
                    j, j);
  }
  assert_false(b.oom);
  assert_int_equal(load_bufs(restock_one_sku, "devices.d/big.yaml", b.data, &diags, &cfg), 0);
  assert_int_equal(diags.n, 0);
  assert_int_equal(cfg->n_devices, 300);
  assert_int_equal(cfg->n_points, 3000);
  assert_int_equal(cfg->n_consumables, 3000);
  assert_string_equal(cfg->devices[299].id, "dev-299");
  assert_string_equal(cfg->devices[299].host, "h299");
  assert_string_equal(cfg->devices[299].consumables[9].full_id, "dev-299/c9");
  assert_ptr_equal(cfg->devices[299].consumables[9].point, &cfg->devices[299].points[9]);
  cfg_free(cfg);
  cfg_diags_free(&diags);
  rs_buf_free(&b);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_durations),
    cmocka_unit_test(test_percent),
    cmocka_unit_test(test_money),
    cmocka_unit_test(test_full),
    cmocka_unit_test(test_minimal_defaults),
    cmocka_unit_test(test_alias_bomb_is_quick),
    cmocka_unit_test(test_huge_mapping_is_quick),
    cmocka_unit_test(test_depth_cap),
    cmocka_unit_test(test_devices_streamed),
    cmocka_unit_test(test_devices_same_points_shared),
    cmocka_unit_test(test_consumable_settings_shared),
    cmocka_unit_test(test_diags_in_file_order),
    cmocka_unit_test(test_stockout_risk),
    cmocka_unit_test(test_rtu_baud),
    cmocka_unit_test(test_rtu_port_spellings),
    cmocka_unit_test(test_config_dir_missing),
    cmocka_unit_test(test_calendar),
    cmocka_unit_test(test_continuous_polling),
    cmocka_unit_test(test_timeout_watchdog_warning),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
