/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dash_plant: a gateway with a large plant for the dashboard's browser test
 * and the fleet checks (tests/test_browser.sh dashboard_browser,
 * tests/test_fleet_examples.sh).
 *
 *   dash_plant --serve SECONDS [DEVICES [PER_DEVICE]]
 *
 * Writes a config with DEVICES devices (default 100) of PER_DEVICE level
 * consumables each (default 10: 1,000 consumables) into a temp dir, runs
 * restockd's core on it with the fake adapter for 14 days of virtual time
 * (hourly polls, so the store holds the history and the predictor has
 * rates), inserts orders in every state the overview shows, then serves
 * the real HTTP server on a free loopback port. Prints "BASE url",
 * "DETAIL path" (a consumable replaced after a delivery 12 days ago and
 * running empty in about 16 days) and then "READY"; serves
 * until SECONDS pass or SIGTERM. One device (dev-007) never answers. A rule
 * that never fires keeps the core from ordering on its own, so the orders
 * are the ones inserted here.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/evloop.h"
#include "base/log.h"
#include "base/rs_util.h"
#include "config/config.h"
#include "gateway/daemon.h"
#include "gateway/store.h"
#include "gateway/web/http.h"
#include "tests/fake_adapter.h"

#define HOUR_MS INT64_C(3600000)
#define DAY_MS  (24 * HOUR_MS)
#define HOURS   (14 * 24)
#define N_SKUS  10

static volatile sig_atomic_t stop_flag;

static void on_term(int sig)
{
  (void)sig;
  stop_flag = 1;
}

static void die(const char *what)
{
  fprintf(stderr, "dash_plant: %s\n", what);
  exit(1);
}

static void write_file(const char *dir, const char *name, const char *text)
{
  char path[512];
  FILE *f;
  if(rs_snprintf(path, sizeof(path), "%s/%s", dir, name))
    die("path too long");
  f = fopen(path, "w");
  if(!f || fputs(text, f) < 0 || fclose(f))
    die("cannot write the config");
}

static const char *const kinds[N_SKUS] = {"filter", "filter", "lamp",  "belt",  "oil",
                                          "cartridge", "filter", "seal", "lamp", "belt"};

/* Spares on the shelf at start: one for every third part and for each part replaced later. */
static unsigned spares_of(unsigned g, unsigned d, unsigned i)
{
  return (d + i) % 3u == 0u || g % 17u == 0u || g == 13u ? 1u : 0u;
}

/* The level of consumable g at hour h (0 = 14 days ago), in percent. */
static double level_at(unsigned g, unsigned h)
{
  double rate = 0.3 + (double)((g * 37u) % 100u) / 40.0; /* %/day: 0.3 .. 2.8 */
  double start = 45.0 + (double)((g * 53u) % 55u);
  double v;
  if(g % 50u == 3u)
    return 80.0; /* not depleting */
  if(g == 13u) /* the detail page's example: replaced 12 days ago, empty in about 16 days */
    return h < HOURS - 12 * 24 ? 30.0 - (double)h / 48.0
                               : 100.0 - 3.5 * (double)(h - (HOURS - 12 * 24)) / 24.0;
  if(g % 97u == 5u)
    rate = 12.0; /* runs empty within the two weeks */
  if(g % 17u == 0u && h >= HOURS - 5 * 24) {
    /* replaced five days ago */
    return 100.0 - rate * (double)(h - (HOURS - 5 * 24)) / 24.0;
  }
  v = start - rate * (double)h / 24.0;
  return v < 0 ? 0 : v;
}

struct plant {
  char dir[64];
  struct store *st;
  struct rs_clock *clk;
  struct daemon_core *core;
  struct fake_plant fp;
  struct fake_series *series;
  double *values;
  char **names; /* device and point names the series point to */
  size_t n_names;
  struct http_server *srv;
  struct evloop *loop; /* not turned: /metrics and /healthz see a loop as in restockd */
  unsigned devices, per_device;
};

static char *keep(struct plant *p, char *s)
{
  p->names = rs_xrealloc(p->names, (p->n_names + 1) * sizeof(*p->names));
  p->names[p->n_names++] = s;
  return s;
}

/* The config dir: restock.yaml, devices.d/plant.yaml, rules.d/never.yaml. */
static void make_config(struct plant *p)
{
  struct rs_buf b = {0};
  char sub[128];
  unsigned d, i;

  rs_buf_puts(&b, "# SPDX-License-Identifier: Apache-2.0\n"
                  "gateway: {id: plant-gw, site: \"Hall 4\"}\n"
                  "http: {listen: \"127.0.0.1:8080\"}\n"
                  "storage: {path: /nonexistent/plant.db, deadband: 0.5%, heartbeat: 6h}\n"
                  "orders:\n  currency: EUR\n  approval: {require_over_value: \"200.00\"}\n"
                  "catalog:\n");
  for(i = 0; i < N_SKUS; i++)
    rs_buf_printf(&b,
                  "  - {sku: SKU-%u0%u, supplier: acme, description: \"Part %u\", unit_price: "
                  "\"%u.50\", currency: EUR, lead_time: %ud}\n",
                  i + 1, i, i, 10 + 7 * i, 2 + i);
  rs_buf_puts(&b, "suppliers:\n  - {id: acme}\n");
  write_file(p->dir, "restock.yaml", b.data);
  rs_buf_free(&b);

  rs_buf_puts(&b, "# SPDX-License-Identifier: Apache-2.0\ndevices:\n");
  for(d = 0; d < p->devices; d++) {
    rs_buf_printf(&b,
                  "  - id: dev-%03u\n    transport: {type: modbus-tcp, host: 127.0.0.1, port: %u}\n"
                  "    poll_interval: 1h\n    down_after: 3\n    points:\n",
                  d, 1502 + d);
    for(i = 0; i < p->per_device; i++)
      rs_buf_printf(&b, "      - {id: p%u, register: holding, address: %u, type: uint16}\n", i, i);
    rs_buf_puts(&b, "    consumables:\n");
    for(i = 0; i < p->per_device; i++)
      rs_buf_printf(&b,
                    "      - {id: %s-%u, sku: SKU-%u0%u, kind: %s, spares: %u, level: {point: p%u, "
                    "full: 100, empty: 0}}\n",
                    kinds[i % N_SKUS], i, i % N_SKUS + 1, i % N_SKUS, kinds[i % N_SKUS],
                    spares_of(d * p->per_device + i, d, i), i);
  }
  if(rs_snprintf(sub, sizeof(sub), "%s/devices.d", p->dir) || mkdir(sub, 0700))
    die("cannot make devices.d");
  write_file(p->dir, "devices.d/plant.yaml", b.data);
  rs_buf_free(&b);
  if(rs_snprintf(sub, sizeof(sub), "%s/rules.d", p->dir) || mkdir(sub, 0700))
    die("cannot make rules.d");
  write_file(p->dir, "rules.d/never.yaml",
             "# SPDX-License-Identifier: Apache-2.0\nrules:\n  - name: never\n"
             "    when: level_pct < -1\n");
}

/* The scripted values of every point: HOURS hourly values. */
static void make_series(struct plant *p)
{
  unsigned d, i, h, n = p->devices * p->per_device;
  char buf[32];
  p->series = rs_xcalloc(n, sizeof(*p->series));
  p->values = rs_xcalloc((size_t)n * HOURS, sizeof(*p->values));
  for(d = 0; d < p->devices; d++)
    for(i = 0; i < p->per_device; i++) {
      unsigned g = d * p->per_device + i;
      struct fake_series *s = &p->series[g];
      (void)rs_snprintf(buf, sizeof(buf), "dev-%03u", d);
      s->device = keep(p, rs_xstrdup(buf));
      (void)rs_snprintf(buf, sizeof(buf), "p%u", i);
      s->point = keep(p, rs_xstrdup(buf));
      s->values = &p->values[(size_t)g * HOURS];
      s->n = HOURS;
      for(h = 0; h < HOURS; h++)
        p->values[(size_t)g * HOURS + h] = level_at(g, h);
    }
  p->fp.series = p->series;
  p->fp.n_series = n;
  p->fp.step_ms = HOUR_MS;
  p->fp.down_device = "dev-007";
}

static void add_order(struct plant *p, const char *consumable, const char *sku, int64_t qty,
                      enum store_order_state final_state, int64_t t, char *id, size_t idsz)
{
  static const enum store_order_state path[] = {STORE_ORDER_DRAFT, STORE_ORDER_APPROVED,
                                                STORE_ORDER_SUBMITTED, STORE_ORDER_SHIPPED,
                                                STORE_ORDER_DELIVERED};
  struct store_order_line l;
  int64_t line_id = 0;
  size_t k;
  memset(&l, 0, sizeof(l));
  l.consumable = (char *)(uintptr_t)consumable;
  l.sku = (char *)(uintptr_t)sku;
  l.quantity = qty;
  l.unit_price = 1250;
  memcpy(l.currency, "EUR", 4);
  l.created_ms = t;
  if(store_create_order(p->st, "acme", "EUR", 1250 * qty, t, "system", "batch opened", id, idsz) ||
     store_add_order_line(p->st, &l, &line_id) || store_attach_line(p->st, line_id, id))
    die("cannot insert an order");
  if(final_state == STORE_ORDER_PENDING_APPROVAL || final_state == STORE_ORDER_EXPIRED) {
    if(store_transition_order(p->st, id, STORE_ORDER_DRAFT, STORE_ORDER_PENDING_APPROVAL, "system",
                              "total over 200.00 EUR needs a person", t + 60000))
      die("cannot move an order");
    if(final_state == STORE_ORDER_EXPIRED &&
       store_transition_order(p->st, id, STORE_ORDER_PENDING_APPROVAL, STORE_ORDER_EXPIRED,
                              "system", "no decision within 72h", t + 3 * DAY_MS))
      die("cannot expire an order");
    return;
  }
  for(k = 1; k < RS_ARRAY_LEN(path); k++) {
    if(store_transition_order(p->st, id, path[k - 1], path[k], k == 1 ? "system" : "shop",
                              store_order_state_name(path[k]), t + (int64_t)k * DAY_MS))
      die("cannot move an order");
    if(path[k] == final_state)
      break;
  }
  if(final_state == STORE_ORDER_DELIVERED) {
    char detail[160];
    (void)rs_snprintf(detail, sizeof(detail), "%" PRId64 " delivered with order %s", qty, id);
    (void)store_audit_subject(p->st, t + 4 * DAY_MS, "shop", "delivery", consumable, detail);
  }
}

/* Orders for some consumables: pending, under way, delivered, expired. */
static void make_orders(struct plant *p, int64_t now)
{
  const struct cfg *cfg = daemon_core_config(p->core);
  char id[STORE_ORDER_ID_MAX + 1];
  size_t d, i;
  unsigned g = 0;
  for(d = 0; d < cfg->n_devices; d++)
    for(i = 0; i < cfg->devices[d].n_consumables; i++, g++) {
      const struct cfg_consumable *c = &cfg->devices[d].consumables[i];
      if(g == 13u)
        add_order(p, c->full_id, c->spec->sku, 1, STORE_ORDER_DELIVERED, now - 16 * DAY_MS, id,
                  sizeof(id));
      else if(g % 31u == 1u)
        add_order(p, c->full_id, c->spec->sku, 20, STORE_ORDER_PENDING_APPROVAL,
                  now - 2 * HOUR_MS, id, sizeof(id));
      else if(g % 29u == 2u)
        add_order(p, c->full_id, c->spec->sku, 2, STORE_ORDER_SUBMITTED, now - 3 * DAY_MS, id,
                  sizeof(id));
      else if(g % 23u == 4u)
        add_order(p, c->full_id, c->spec->sku, 1, STORE_ORDER_DELIVERED, now - 9 * DAY_MS, id,
                  sizeof(id));
      else if(g == 6u || g == 406u)
        add_order(p, c->full_id, c->spec->sku, 30, STORE_ORDER_EXPIRED, now - 4 * DAY_MS, id,
                  sizeof(id));
    }
}

static void plant_open(struct plant *p)
{
  char err[256], logpath[128], db[128];
  struct cfg *cfg = NULL;
  struct cfg_diags diags = {0};
  struct http_env he;
  int64_t now = clock_real_wall_ms() / HOUR_MS * HOUR_MS, t;
  int logfd;

  if(rs_strlcpy(p->dir, "/tmp/restock-plant-XXXXXX", sizeof(p->dir)) || !mkdtemp(p->dir))
    die("cannot make a temp dir");
  make_config(p);
  make_series(p);
  (void)rs_snprintf(logpath, sizeof(logpath), "%s/log", p->dir);
  logfd = open(logpath, O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0600);
  if(logfd < 0)
    die("cannot open the log");
  log_set_fd(logfd);
  (void)rs_snprintf(db, sizeof(db), "%s/restock.db", p->dir);
  if(store_open(db, &p->st, err, sizeof(err)))
    die(err);
  if(cfg_load(p->dir, &cfg, &diags)) {
    cfg_diags_print(&diags, stderr);
    die("the generated config does not load");
  }
  cfg_diags_free(&diags);
  p->fp.t0_ms = now - (int64_t)HOURS * HOUR_MS;
  p->clk = clock_new_virtual(p->fp.t0_ms);
  if(!p->clk)
    die("no clock");
  p->core = daemon_core_new(cfg, p->st, p->clk, fake_adapter_lookup, &p->fp);
  if(!p->core)
    die("no core");
  /* two weeks of hourly polls in virtual time */
  for(t = p->fp.t0_ms; t < now; t += HOUR_MS) {
    (void)daemon_core_step(p->core);
    clock_advance(p->clk, HOUR_MS);
  }
  (void)daemon_core_step(p->core);
  make_orders(p, now);

  memset(&he, 0, sizeof(he));
  daemon_core_http_view(p->core, &he.core);
  he.st = p->st;
  he.clk = p->clk;
  he.listen = "127.0.0.1:0";
  p->loop = evloop_new();
  if(!p->loop)
    die("no event loop");
  he.loop = p->loop;
  p->srv = http_server_start(&he, err, sizeof(err));
  if(!p->srv)
    die(err);
}

static void plant_close(struct plant *p)
{
  size_t i;
  char cmd[128];
  http_server_stop(p->srv);
  evloop_free(p->loop);
  daemon_core_free(p->core);
  store_close(p->st);
  clock_free(p->clk);
  for(i = 0; i < p->n_names; i++)
    free(p->names[i]);
  free(p->names);
  free(p->series);
  free(p->values);
  if(!rs_snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p->dir))
    (void)!system(cmd);
}

int main(int argc, char **argv)
{
  struct plant p;
  int64_t secs = 0, nd = 100, per = 10, end;
  struct sigaction sa;

  if(argc < 3 || strcmp(argv[1], "--serve") || rs_parse_i64(argv[2], false, 1, 86400, &secs) ||
     (argc > 3 && rs_parse_i64(argv[3], false, 8, 1000, &nd)) ||
     (argc > 4 && rs_parse_i64(argv[4], false, 1, 50, &per))) {
    fprintf(stderr, "usage: dash_plant --serve SECONDS [DEVICES(8..1000) [PER_DEVICE(1..50)]]\n");
    return 2;
  }
  memset(&p, 0, sizeof(p));
  p.devices = (unsigned)nd;
  p.per_device = (unsigned)per;
  plant_open(&p);
  printf("BASE http://127.0.0.1:%u\nCONSUMABLES %u\nDETAIL /consumables/dev-001/belt-3\nREADY\n",
         (unsigned)http_server_port(p.srv), p.devices * p.per_device);
  fflush(stdout);
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  end = clock_real_mono_ms() + secs * 1000;
  while(!stop_flag && clock_real_mono_ms() < end) {
    struct pollfd pf = {.fd = http_server_fd(p.srv), .events = POLLIN};
    int64_t to = http_server_timeout_ms(p.srv);
    (void)poll(&pf, 1, to > 100 ? 100 : (int)to);
    http_server_run(p.srv);
  }
  plant_close(&p);
  return 0;
}
