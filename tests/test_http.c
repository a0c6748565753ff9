/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP server (gateway/http.c) against real clients over loopback: a
 * core on tests/fixtures/http (a fake adapter plays one answering and one
 * silent device), a temp SQLite store with orders inserted through the store
 * API, and libcurl as the client. The test drives server and client in one
 * thread (curl_multi_wait() with the server's descriptor as an extra fd),
 * which is how the daemon's loop drives it too.
 *
 * `test_http --serve SECONDS [PORT]` serves the same plant for SECONDS (used
 * for the dashboard screenshot; prints the URL).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "config/config.h"
#include "base/rs_util.h"
#include "base/clock.h"
#include "gateway/daemon.h"
#include "base/httpd.h"
#include "gateway/web/http.h"
#include "base/log.h"
#include "gateway/store.h"
#include "tests/fake_adapter.h"
#include "tests/testhttp.h"
#include "tests/testutil.h"

#ifndef HTTP_FIXTURE_DIR
#error "HTTP_FIXTURE_DIR must name tests/fixtures/http"
#endif

#define MIN_MS   60000
#define HOUR_MS  3600000LL
#define DAY_MS   86400000LL
#define PASSWORD "correct horse"

struct tenv {
  char dir[64];
  char db[128];
  int logfd;
  struct store *st;
  struct rs_clock *clk;
  struct daemon_core *core;
  struct fake_plant plant;
  struct http_server *srv;
  CURLM *multi;
  int64_t start_wall;
  int64_t hb;                      /* heartbeat handed to the server */
  bool hb_live;                    /* the test loop refreshes hb on every turn */
  char p1[STORE_ORDER_ID_MAX + 1]; /* pending: approved over the API */
  char p2[STORE_ORDER_ID_MAX + 1]; /* pending: rejected with the dashboard form */
  char ap[STORE_ORDER_ID_MAX + 1]; /* approved */
  char dl[STORE_ORDER_ID_MAX + 1]; /* delivered */
  int64_t t0, t1;                  /* creation and pending times of p1 */
};

static struct tenv E;

/* 55, 54, 53, ... one value a minute */
static const double level_series[] = {55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45};
static const double lamp_series[] = {4500};
static const struct fake_series plant_series[] = {
    {"tank-01", "filter_level", level_series, RS_ARRAY_LEN(level_series)},
    {"tank-01", "lamp_hours", lamp_series, RS_ARRAY_LEN(lamp_series)},
    /* reorder_btn has no series: it reads as an exception on every poll */
};

/* ---- helpers ---------------------------------------------------------- */

static void rfc3339(int64_t ms, char *buf, size_t size)
{
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Copy the fixture config into dir (the hash file 0600, as secrets must be). */
static void install_config(const char *dir)
{
  char a[256], b[256];
  static const char *const files[] = {"restock.yaml", "devices.d/plant.yaml", "rules.d/never.yaml"};
  size_t i;
  assert_int_equal(rs_snprintf(a, sizeof(a), "%s/devices.d", dir), 0);
  assert_int_equal(mkdir(a, 0700), 0);
  assert_int_equal(rs_snprintf(a, sizeof(a), "%s/rules.d", dir), 0);
  assert_int_equal(mkdir(a, 0700), 0);
  for(i = 0; i < RS_ARRAY_LEN(files); i++) {
    assert_int_equal(rs_snprintf(a, sizeof(a), "%s/%s", HTTP_FIXTURE_DIR, files[i]), 0);
    assert_int_equal(rs_snprintf(b, sizeof(b), "%s/%s", dir, files[i]), 0);
    tu_copy_file(a, b, 0644);
  }
  assert_int_equal(rs_snprintf(a, sizeof(a), "%s/admin.hash.txt", HTTP_FIXTURE_DIR), 0);
  assert_int_equal(rs_snprintf(b, sizeof(b), "%s/admin.hash", dir), 0);
  tu_copy_file(a, b, 0600);
}

static struct cfg *load_config(const char *dir)
{
  struct cfg *cfg = NULL;
  struct cfg_diags diags = {0};
  int nerr = cfg_load(dir, &cfg, &diags);
  if(nerr)
    cfg_diags_print(&diags, stderr);
  cfg_diags_free(&diags);
  assert_int_equal(nerr, 0);
  return cfg;
}

static void add_line(const char *order, const char *consumable, const char *sku, int64_t qty,
                     int64_t price, const char *rule, int64_t now)
{
  struct store_order_line l;
  int64_t id = 0;
  memset(&l, 0, sizeof(l));
  l.consumable = (char *)(uintptr_t)consumable;
  l.sku = (char *)(uintptr_t)sku;
  l.quantity = qty;
  l.unit_price = price;
  memcpy(l.currency, "EUR", 4);
  l.rule = (char *)(uintptr_t)rule;
  l.created_ms = now;
  assert_int_equal(store_add_order_line(E.st, &l, &id), RS_OK);
  assert_int_equal(store_attach_line(E.st, id, order), RS_OK);
}

static void move(const char *id, enum store_order_state from, enum store_order_state to,
                 const char *actor, const char *cause, int64_t now)
{
  assert_int_equal(store_transition_order(E.st, id, from, to, actor, cause, now), RS_OK);
}

static void make_orders(void)
{
  int64_t now = E.start_wall;
  E.t0 = now - 2 * HOUR_MS;
  E.t1 = E.t0 + MIN_MS;
  assert_int_equal(store_create_order(E.st, "acme", "EUR", 3700, E.t0, "system", "batch opened",
                                      E.p1, sizeof(E.p1)),
                   RS_OK);
  add_line(E.p1, "tank-01/water-filter", "WF-1", 5, 740, "filters-before-empty", E.t0);
  move(E.p1, STORE_ORDER_DRAFT, STORE_ORDER_PENDING_APPROVAL, "system",
       "total 37.00 EUR needs a person", E.t1);

  assert_int_equal(store_create_order(E.st, "acme", "EUR", 9900, E.t0, "system", "batch opened",
                                      E.p2, sizeof(E.p2)),
                   RS_OK);
  add_line(E.p2, "tank-01/uv-lamp", "UV-LAMP", 1, 9900, NULL, E.t0);
  move(E.p2, STORE_ORDER_DRAFT, STORE_ORDER_PENDING_APPROVAL, "system",
       "over budget <script>alert('cause')</script>", E.t1);

  assert_int_equal(store_create_order(E.st, "acme", "EUR", 2125, E.t0, "system", "batch opened",
                                      E.ap, sizeof(E.ap)),
                   RS_OK);
  add_line(E.ap, "press-02/oil-filter", "OIL-F", 1, 2125, "never", E.t0);
  move(E.ap, STORE_ORDER_DRAFT, STORE_ORDER_APPROVED, "system", "approved by policy", E.t1);

  assert_int_equal(store_create_order(E.st, "acme", "EUR", 100, E.t0 - DAY_MS, "system",
                                      "batch opened", E.dl, sizeof(E.dl)),
                   RS_OK);
  add_line(E.dl, "tank-01/button", "BTN-1", 1, 100, NULL, E.t0 - DAY_MS);
  move(E.dl, STORE_ORDER_DRAFT, STORE_ORDER_APPROVED, "system", "approved by policy",
       E.t0 - DAY_MS);
  move(E.dl, STORE_ORDER_APPROVED, STORE_ORDER_SUBMITTED, "system", "placed", E.t0 - DAY_MS);
  assert_int_equal(store_set_order_shop_id(E.st, E.dl, "SHOP-77", E.t0 - DAY_MS), RS_OK);
  move(E.dl, STORE_ORDER_SUBMITTED, STORE_ORDER_SHIPPED, "shop", "shipped", E.t0 - DAY_MS / 2);
  move(E.dl, STORE_ORDER_SHIPPED, STORE_ORDER_DELIVERED, "shop", "delivered", E.t0);
}

/* 30 days of history for the chart: the level falls from 100 to 56. */
static void make_history(void)
{
  int64_t t;
  int i = 0;
  for(t = E.start_wall - 30 * DAY_MS; t < E.start_wall - HOUR_MS; t += 6 * HOUR_MS, i++)
    assert_int_equal(store_put_reading(E.st, "tank-01", "filter_level", t, 100.0 - i * 0.36),
                     RS_OK);
}

static void env_open(bool with_server)
{
  char err[256], logpath[160];
  struct http_env he;
  int i;

  memset(&E, 0, sizeof(E));
  assert_int_equal(rs_strlcpy(E.dir, "/tmp/restock-http-XXXXXX", sizeof(E.dir)), 0);
  assert_non_null(mkdtemp(E.dir));
  install_config(E.dir);
  assert_int_equal(rs_snprintf(E.db, sizeof(E.db), "%s/restock.db", E.dir), 0);
  assert_int_equal(rs_snprintf(logpath, sizeof(logpath), "%s/log", E.dir), 0);
  E.logfd = open(logpath, O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0600);
  assert_true(E.logfd >= 0);
  log_set_fd(E.logfd);
  log_set_level(LOG_LVL_DEBUG);
  assert_int_equal(store_open(E.db, &E.st, err, sizeof(err)), RS_OK);
  E.start_wall = clock_real_wall_ms() / MIN_MS * MIN_MS;
  E.clk = clock_new_virtual(E.start_wall);
  assert_non_null(E.clk);
  make_history();
  E.plant.series = plant_series;
  E.plant.n_series = RS_ARRAY_LEN(plant_series);
  E.plant.t0_ms = E.start_wall;
  E.plant.step_ms = MIN_MS;
  E.plant.down_device = "press-02";
  E.core = daemon_core_new(load_config(E.dir), E.st, E.clk, fake_adapter_lookup, &E.plant);
  assert_non_null(E.core);
  /* four polls a device, a minute apart: press-02 is down after three */
  for(i = 0; i < 4; i++) {
    (void)daemon_core_step(E.core);
    clock_advance(E.clk, MIN_MS);
  }
  (void)daemon_core_step(E.core);
  make_orders();

  if(!with_server)
    return;
  E.hb = clock_real_mono_ms();
  E.hb_live = true;
  memset(&he, 0, sizeof(he));
  daemon_core_http_view(E.core, &he.core);
  he.st = E.st;
  he.clk = E.clk;
  he.heartbeat_ms = &E.hb;
  he.listen = "127.0.0.1:0";
  he.auth_fail_limit = 100;
  E.srv = http_server_start(&he, err, sizeof(err));
  if(!E.srv)
    fprintf(stderr, "http_server_start: %s\n", err);
  assert_non_null(E.srv);
  assert_true(http_server_port(E.srv) > 0);
  E.multi = curl_multi_init();
  assert_non_null(E.multi);
}

static void rm_rf(const char *dir)
{
  char cmd[256];
  if(!rs_snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir))
    (void)!system(cmd);
}

static void env_close(void)
{
  if(E.multi)
    curl_multi_cleanup(E.multi);
  http_server_stop(E.srv);
  daemon_core_free(E.core);
  store_close(E.st);
  clock_free(E.clk);
  log_set_fd(2);
  close(E.logfd);
  rm_rf(E.dir);
}

static int group_setup(void **state)
{
  (void)state;
  env_open(true);
  return 0;
}

static int group_teardown(void **state)
{
  (void)state;
  env_close();
  return 0;
}

/* ---- the client ------------------------------------------------------- */

/* E's heartbeat moves while the server is turned (unless a test stopped it). */
static void beat(void *ud)
{
  (void)ud;
  if(E.hb_live)
    E.hb = clock_real_mono_ms();
}

struct req_opts {
  const char *host;           /* Host header, NULL: curl's */
  const char *const *headers; /* more headers, NULL-terminated */
  const char *body;           /* POST body */
  const char *userpwd;        /* basic auth "user:password" */
  const char *base;           /* "http://127.0.0.1:PORT" by default */
  struct http_server *srv;    /* E.srv by default */
};

static void request(const char *method, const char *path, const struct req_opts *o,
                    struct tu_resp *r)
{
  struct tu_req q = {0};
  if(o) {
    q.host = o->host;
    q.headers = o->headers;
    q.body = o->body;
    q.userpwd = o->userpwd;
    q.base = o->base;
  }
  tu_http_request(E.multi, o && o->srv ? o->srv : E.srv, method, path, &q, r, beat, NULL);
}

static void get(const char *path, struct tu_resp *r)
{
  request("GET", path, NULL, r);
}

/* Value of response header name (the last one), or NULL. */
static const char *header(const struct tu_resp *r, const char *name, char *out, size_t size)
{
  const char *p = r->head.data, *found = NULL;
  size_t nl = strlen(name);
  while(p && *p) {
    const char *eol = strstr(p, "\r\n");
    if(!eol)
      break;
    if((size_t)(eol - p) > nl && !strncasecmp(p, name, nl) && p[nl] == ':') {
      const char *v = p + nl + 1;
      size_t n;
      while(*v == ' ')
        v++;
      n = (size_t)(eol - v);
      if(n >= size)
        n = size - 1;
      memcpy(out, v, n);
      out[n] = '\0';
      found = out;
    }
    p = eol + 2;
  }
  return found;
}

static void assert_header(const struct tu_resp *r, const char *name, const char *want)
{
  char v[512];
  if(!header(r, name, v, sizeof(v)))
    fail_msg("no %s header in:\n%s", name, r->head.data);
  if(want && strcmp(v, want))
    fail_msg("%s: '%s', expected '%s'", name, v, want);
}

static void assert_security_headers(const struct tu_resp *r)
{
  assert_header(r, "Content-Security-Policy",
                "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
                "frame-ancestors 'none'; base-uri 'none'");
  assert_header(r, "X-Frame-Options", "DENY");
  assert_header(r, "X-Content-Type-Options", "nosniff");
  assert_header(r, "Referrer-Policy", "same-origin");
  assert_header(r, "Cache-Control", "no-store");
}

static json_t *parse(const struct tu_resp *r)
{
  json_error_t je;
  json_t *j = json_loads(r->body.data, 0, &je);
  if(!j)
    fail_msg("not JSON (%s): %s", je.text, r->body.data);
  return j;
}

/* Whether object o has exactly the keys of the NULL-terminated list, in that order. */
static void assert_keys(const json_t *o, const char *const *keys)
{
  const char *k;
  json_t *v;
  size_t i = 0;
  assert_true(json_is_object(o));
  json_object_foreach((json_t *)(uintptr_t)o, k, v)
  {
    (void)v;
    if(!keys[i])
      fail_msg("unexpected key '%s'", k);
    if(strcmp(k, keys[i]))
      fail_msg("key %zu is '%s', expected '%s'", i, k, keys[i]);
    i++;
  }
  if(keys[i])
    fail_msg("missing key '%s'", keys[i]);
}

static const char *str(const json_t *o, const char *key)
{
  json_t *v = json_object_get(o, key);
  if(!json_is_string(v))
    fail_msg("'%s' is not a string", key);
  return json_string_value(v);
}

/* The state of order id in the test's store. */
static enum store_order_state order_state(const char *id)
{
  return tu_order_state(E.st, id);
}

/* ---- pure parts --------------------------------------------------------- */

static void test_router(void **state)
{
  struct http_match m;
  (void)state;
  http_route_match("GET", "/", &m);
  assert_int_equal(m.route, HTTP_ROUTE_DASHBOARD);
  http_route_match("HEAD", "/api/v1/status", &m);
  assert_int_equal(m.route, HTTP_ROUTE_API_STATUS);
  http_route_match("GET", "/api/v1/orders/R-20261201-0001-ab12cd", &m);
  assert_int_equal(m.route, HTTP_ROUTE_API_ORDER);
  assert_string_equal(m.arg[0], "R-20261201-0001-ab12cd");
  http_route_match("POST", "/api/v1/orders/R-1/approve", &m);
  assert_int_equal(m.route, HTTP_ROUTE_API_APPROVE);
  assert_string_equal(m.arg[0], "R-1");
  http_route_match("POST", "/api/v1/orders/R-1/reject", &m);
  assert_int_equal(m.route, HTTP_ROUTE_API_REJECT);
  http_route_match("GET", "/api/v1/orders/R-1/approve", &m);
  assert_int_equal(m.route, HTTP_ROUTE_METHOD_NOT_ALLOWED);
  assert_int_equal(m.allow, HTTP_ALLOW_POST);
  http_route_match("DELETE", "/api/v1/status", &m);
  assert_int_equal(m.route, HTTP_ROUTE_METHOD_NOT_ALLOWED);
  assert_int_equal(m.allow, HTTP_ALLOW_GET);
  http_route_match("GET", "/consumables/tank-01/water-filter", &m);
  assert_int_equal(m.route, HTTP_ROUTE_PAGE_CONSUMABLE);
  assert_string_equal(m.arg[0], "tank-01");
  assert_string_equal(m.arg[1], "water-filter");
  http_route_match("GET", "/approve/abc_DEF-1.x", &m);
  assert_int_equal(m.route, HTTP_ROUTE_APPROVAL_LINK);
  /* ids are checked: upper case is not a device id, .. is never an order */
  http_route_match("GET", "/consumables/Tank/x", &m);
  assert_int_equal(m.route, HTTP_ROUTE_NOT_FOUND);
  http_route_match("GET", "/orders/..", &m);
  assert_int_equal(m.route, HTTP_ROUTE_NOT_FOUND);
  http_route_match("GET", "/api/v1/orders/", &m);
  assert_int_equal(m.route, HTTP_ROUTE_NOT_FOUND);
  http_route_match("GET", "/api/v1/status/", &m);
  assert_int_equal(m.route, HTTP_ROUTE_NOT_FOUND);
  http_route_match("GET", "//", &m);
  assert_int_equal(m.route, HTTP_ROUTE_NOT_FOUND);
  http_route_match("GET", "/orders/a<b", &m);
  assert_int_equal(m.route, HTTP_ROUTE_NOT_FOUND);
  http_route_match("GET", "relative", &m);
  assert_int_equal(m.route, HTTP_ROUTE_NOT_FOUND);
  {
    char longid[80];
    memset(longid, 'a', 65);
    longid[65] = '\0';
    char path[120];
    assert_int_equal(rs_snprintf(path, sizeof(path), "/orders/%s", longid), 0);
    http_route_match("GET", path, &m);
    assert_int_equal(m.route, HTTP_ROUTE_NOT_FOUND);
  }
}

static void test_host_check(void **state)
{
  static const char *const allowed[] = {"127.0.0.1", "localhost", "::1", "gw.example", "[fe80::2]"};
  size_t n = RS_ARRAY_LEN(allowed);
  (void)state;
  assert_true(httpd_host_allowed("127.0.0.1", allowed, n));
  assert_true(httpd_host_allowed("127.0.0.1:8080", allowed, n));
  assert_true(httpd_host_allowed("LOCALHOST:1", allowed, n));
  assert_true(httpd_host_allowed("gw.example.", allowed, n));
  assert_true(httpd_host_allowed("[::1]:8080", allowed, n));
  assert_true(httpd_host_allowed("[::1]", allowed, n));
  assert_true(httpd_host_allowed("[FE80::2]:80", allowed, n));
  assert_false(httpd_host_allowed("::1", allowed, n)); /* bare IPv6 is not a Host */
  assert_false(httpd_host_allowed("evil.example", allowed, n));
  assert_false(httpd_host_allowed("gw.example.evil", allowed, n));
  assert_false(httpd_host_allowed("127.0.0.1:80x", allowed, n));
  assert_false(httpd_host_allowed("[::1", allowed, n));
  assert_false(httpd_host_allowed("[::1]x", allowed, n));
  assert_false(httpd_host_allowed("user@127.0.0.1", allowed, n));
  assert_false(httpd_host_allowed("", allowed, n));
  assert_false(httpd_host_allowed(NULL, allowed, n));
}

static void test_parse_listen(void **state)
{
  char host[64];
  uint16_t port = 1;
  (void)state;
  assert_int_equal(httpd_parse_listen("127.0.0.1:8080", host, sizeof(host), &port), 0);
  assert_string_equal(host, "127.0.0.1");
  assert_int_equal(port, 8080);
  assert_int_equal(httpd_parse_listen("[::1]:0", host, sizeof(host), &port), 0);
  assert_string_equal(host, "::1");
  assert_int_equal(port, 0);
  assert_int_equal(httpd_parse_listen("localhost:80", host, sizeof(host), &port), 0);
  assert_string_equal(host, "localhost");
  assert_int_equal(httpd_parse_listen("::1:80", host, sizeof(host), &port), -1);
  assert_int_equal(httpd_parse_listen("127.0.0.1", host, sizeof(host), &port), -1);
  assert_int_equal(httpd_parse_listen("127.0.0.1:65536", host, sizeof(host), &port), -1);
  assert_int_equal(httpd_parse_listen(":80", host, sizeof(host), &port), -1);
}

/* ---- over the wire ------------------------------------------------------ */

static void test_every_endpoint_headers(void **state)
{
  struct {
    const char *method, *path;
    long status;
    const char *ctype_prefix;
  } cases[] = {
      {"GET", "/", 200, "text/html"},
      {"GET", "/static/style.css", 200, "text/css"},
      {"GET", "/healthz", 200, "text/plain"},
      {"GET", "/metrics", 200, "text/plain; version=0.0.4"},
      {"GET", "/api/v1/status", 200, "application/json"},
      {"GET", "/api/v1/consumables", 200, "application/json"},
      {"GET", "/api/v1/devices", 200, "application/json"},
      {"GET", "/api/v1/orders", 200, "application/json"},
      {"GET", "/consumables/tank-01/water-filter", 200, "text/html"},
      {"GET", "/consumables/tank-01/nope", 404, "text/html"},
      {"GET", "/nope", 404, "text/html"},
      {"GET", "/api/v1/nope", 404, "application/json"},
      {"GET", "/api/v1/orders/R-19700101-0001-000000", 404, "application/json"},
      {"POST", "/", 405, "text/html"},
      {"PUT", "/api/v1/status", 405, "application/json"},
      {"GET", "/approve/sometoken", 403, "text/html"}, /* a forged link */
  };
  char path[128], ct[128];
  size_t i;
  struct tu_resp r;
  (void)state;
  for(i = 0; i < RS_ARRAY_LEN(cases); i++) {
    request(cases[i].method, cases[i].path, NULL, &r);
    if(r.status != cases[i].status)
      fail_msg("%s %s: %ld, expected %ld", cases[i].method, cases[i].path, r.status,
               cases[i].status);
    assert_security_headers(&r);
    assert_non_null(header(&r, "Content-Type", ct, sizeof(ct)));
    if(strncmp(ct, cases[i].ctype_prefix, strlen(cases[i].ctype_prefix)))
      fail_msg("%s: Content-Type %s", cases[i].path, ct);
    tu_resp_free(&r);
  }
  assert_int_equal(rs_snprintf(path, sizeof(path), "/api/v1/orders/%s", E.ap), 0);
  get(path, &r);
  assert_int_equal(r.status, 200);
  assert_security_headers(&r);
  tu_resp_free(&r);
  assert_int_equal(rs_snprintf(path, sizeof(path), "/orders/%s", E.ap), 0);
  get(path, &r);
  assert_int_equal(r.status, 200);
  assert_security_headers(&r);
  tu_resp_free(&r);
}

static void test_status_json(void **state)
{
  struct tu_resp r;
  json_t *j, *gw, *devs, *cons, *orders, *alerts, *d, *c;
  size_t i;
  bool found_down_alert = false;
  static const char *const gw_keys[] = {"id",         "version",     "time", "uptime_s",
                                       "time_scale", "next_closed", NULL};
  static const char *const dev_keys[] = {
      "id", "transport", "state", "last_success", "consecutive_failures", "rtt_ms", "errors", NULL};
  static const char *const cons_keys[] = {
      "id",           "device",        "sku",           "kind",           "level_pct",
      "days_left",    "days_left_p10", "days_left_p90", "empty_at",       "rate_per_day",
      "confidence",   "stale",         "spares",        "open_order",     "on_order",
      "cover_days",   "cover_days_p10", "cover_days_p90", "runout_risk",  "position_days",
      "held",         "hold",          NULL};
  static const char *const top_keys[] = {"gateway", "devices", "consumables",
                                         "orders",  "alerts",  NULL};
  char now[40];
  (void)state;

  get("/api/v1/status", &r);
  assert_int_equal(r.status, 200);
  j = parse(&r);
  assert_keys(j, top_keys);
  gw = json_object_get(j, "gateway");
  assert_keys(gw, gw_keys);
  assert_string_equal(str(gw, "id"), "http-gw");
  assert_string_equal(str(gw, "version"), RESTOCK_VERSION);
  rfc3339(clock_wall_ms(E.clk), now, sizeof(now));
  assert_string_equal(str(gw, "time"), now);
  assert_true(json_is_integer(json_object_get(gw, "uptime_s")));
  assert_true(json_number_value(json_object_get(gw, "time_scale")) == 1.0);
  assert_true(json_is_null(json_object_get(gw, "next_closed"))); /* no calendar */

  devs = json_object_get(j, "devices");
  assert_int_equal(json_array_size(devs), 2);
  d = json_array_get(devs, 0);
  assert_keys(d, dev_keys);
  assert_string_equal(str(d, "id"), "tank-01");
  assert_string_equal(str(d, "transport"), "modbus-tcp");
  assert_string_equal(str(d, "state"), "up");
  assert_true(json_is_string(json_object_get(d, "last_success")));
  assert_int_equal(json_integer_value(json_object_get(d, "consecutive_failures")), 0);
  assert_true(json_is_integer(json_object_get(d, "rtt_ms")));
  /* the button point has no series: an exception on each of the five polls */
  assert_int_equal(json_integer_value(json_object_get(json_object_get(d, "errors"), "exception")),
                   5);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(d, "errors"), "timeout")),
                   0);
  /* the scheduler's kinds: the five base ones always, exception_N only once seen */
  assert_true(json_is_integer(json_object_get(json_object_get(d, "errors"), "unavailable")));
  assert_null(json_object_get(json_object_get(d, "errors"), "exception_6"));
  d = json_array_get(devs, 1);
  assert_string_equal(str(d, "id"), "press-02");
  assert_string_equal(str(d, "state"), "down");
  assert_true(json_is_null(json_object_get(d, "last_success")));
  assert_true(json_is_null(json_object_get(d, "rtt_ms")));
  assert_true(json_integer_value(json_object_get(d, "consecutive_failures")) >= 3);
  assert_true(json_integer_value(json_object_get(json_object_get(d, "errors"), "timeout")) >= 3);

  cons = json_object_get(j, "consumables");
  assert_int_equal(json_array_size(cons), 4);
  c = json_array_get(cons, 0);
  assert_keys(c, cons_keys);
  assert_string_equal(str(c, "id"), "tank-01/water-filter");
  assert_string_equal(str(c, "device"), "tank-01");
  assert_string_equal(str(c, "sku"), "WF-1");
  assert_string_equal(str(c, "kind"), "filter");
  /* the polls read 55, 54, 53, 52, 51 (the prediction may filter them) */
  {
    double lv = json_number_value(json_object_get(c, "level_pct"));
    json_t *dl = json_object_get(c, "days_left");
    assert_true(json_is_number(json_object_get(c, "level_pct")));
    assert_true(lv >= 51.0 && lv <= 55.0);
    /* days_left and empty_at agree: both null (not depleting) or both set */
    if(json_is_null(dl))
      assert_true(json_is_null(json_object_get(c, "empty_at")));
    else {
      int64_t at;
      double days;
      assert_true(json_is_number(dl));
      assert_int_equal(clock_parse_time(str(c, "empty_at"), &at), 0);
      days = (double)(at - clock_wall_ms(E.clk)) / (double)DAY_MS;
      assert_true(fabs(days - json_number_value(dl)) < 0.01);
    }
    assert_true(json_is_number(json_object_get(c, "confidence")));
    /* the bounds, when known, hold days_left; the risk is a probability */
    if(json_is_number(json_object_get(c, "days_left_p10")) && json_is_number(dl)) {
      assert_true(json_number_value(json_object_get(c, "days_left_p10")) <=
                  json_number_value(dl));
      assert_true(json_is_null(json_object_get(c, "days_left_p90")) ||
                  json_number_value(json_object_get(c, "days_left_p90")) >=
                      json_number_value(dl));
    }
    assert_true(json_number_value(json_object_get(c, "runout_risk")) >= 0 &&
                json_number_value(json_object_get(c, "runout_risk")) <= 1);
  }
  assert_true(json_is_false(json_object_get(c, "stale")));
  assert_int_equal(json_integer_value(json_object_get(c, "spares")), 2);
  assert_string_equal(str(c, "open_order"), E.p1);
  /* inventory position: the 5 units of p1 are on the way */
  assert_int_equal(json_integer_value(json_object_get(c, "on_order")), 5);
  assert_true(json_is_false(json_object_get(c, "held")));
  assert_true(json_is_null(json_object_get(c, "hold")));
  if(json_is_number(json_object_get(c, "cover_days")))
    assert_true(json_number_value(json_object_get(c, "position_days")) >
                json_number_value(json_object_get(c, "cover_days")));
  c = json_array_get(cons, 1);
  assert_string_equal(str(c, "id"), "tank-01/uv-lamp");
  assert_true(fabs(json_number_value(json_object_get(c, "level_pct")) - 50.0) < 1e-9);
  c = json_array_get(cons, 2);
  assert_string_equal(str(c, "id"), "tank-01/button");
  assert_true(json_is_null(json_object_get(c, "level_pct")));
  assert_true(json_is_null(json_object_get(c, "kind")));
  assert_true(json_is_null(json_object_get(c, "open_order"))); /* its line was delivered */
  assert_int_equal(json_integer_value(json_object_get(c, "on_order")), 0);
  c = json_array_get(cons, 3);
  assert_string_equal(str(c, "id"), "press-02/oil-filter");
  assert_true(json_is_true(json_object_get(c, "stale")));
  assert_true(json_is_null(json_object_get(c, "level_pct")));

  orders = json_object_get(j, "orders"); /* open ones: p1, p2, ap; not the delivered one */
  assert_int_equal(json_array_size(orders), 3);
  for(i = 0; i < json_array_size(orders); i++)
    assert_string_not_equal(str(json_array_get(orders, i), "id"), E.dl);
  alerts = json_object_get(j, "alerts");
  assert_true(json_is_array(alerts));
  for(i = 0; i < json_array_size(alerts); i++)
    if(strstr(json_string_value(json_array_get(alerts, i)), "device press-02 is down"))
      found_down_alert = true;
  assert_true(found_down_alert);
  json_decref(j);
  tu_resp_free(&r);
}

static void test_order_json_exact(void **state)
{
  struct tu_resp r;
  char path[128], t0[40], t1[40], exp_t[40], *want_s;
  json_t *got, *want;
  json_error_t je;
  (void)state;
  rfc3339(E.t0, t0, sizeof(t0));
  rfc3339(E.t1, t1, sizeof(t1));
  rfc3339(E.t1 + 72 * HOUR_MS, exp_t, sizeof(exp_t));
  want =
      json_pack_ex(&je, 0,
                   "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:n,"
                   " s:[{s:s, s:s, s:i, s:s, s:s}],"
                   " s:{s:b, s:[s], s:s, s:n},"
                   " s:[{s:s, s:n, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s}]}",
                   "id", E.p1, "state", "pending_approval", "supplier", "acme", "currency", "EUR",
                   "total", "37.00", "created", t0, "updated", t1, "shop_id", "lines", "consumable",
                   "tank-01/water-filter", "sku", "WF-1", "quantity", 5, "unit_price", "7.40",
                   "rule", "filters-before-empty", "approval", "required", 1, "reasons",
                   "total 37.00 EUR needs a person", "expires", exp_t, "decided_by", "transitions",
                   "time", t0, "from", "to", "draft", "actor", "system", "cause", "batch opened",
                   "time", t1, "from", "draft", "to", "pending_approval", "actor", "system",
                   "cause", "total 37.00 EUR needs a person");
  if(!want)
    fail_msg("json_pack: %s", je.text);
  assert_int_equal(rs_snprintf(path, sizeof(path), "/api/v1/orders/%s", E.p1), 0);
  get(path, &r);
  assert_int_equal(r.status, 200);
  got = parse(&r);
  if(!json_equal(got, want)) {
    want_s = json_dumps(want, JSON_SORT_KEYS);
    fail_msg("got %s\nwant %s", r.body.data, want_s);
  }
  {
    static const char *const order_keys[] = {"id",    "state",    "supplier",    "currency",
                                             "total", "created",  "updated",     "shop_id",
                                             "lines", "approval", "transitions", NULL};
    assert_keys(got, order_keys);
  }
  json_decref(got);
  json_decref(want);
  tu_resp_free(&r);

  /* the delivered order: shop id, no approval needed, all of its history */
  assert_int_equal(rs_snprintf(path, sizeof(path), "/api/v1/orders/%s", E.dl), 0);
  get(path, &r);
  assert_int_equal(r.status, 200);
  got = parse(&r);
  assert_string_equal(str(got, "state"), "delivered");
  assert_string_equal(str(got, "shop_id"), "SHOP-77");
  assert_string_equal(str(got, "total"), "1.00");
  assert_true(json_is_false(json_object_get(json_object_get(got, "approval"), "required")));
  assert_int_equal(json_array_size(json_object_get(json_object_get(got, "approval"), "reasons")),
                   0);
  assert_int_equal(json_array_size(json_object_get(got, "transitions")), 5);
  assert_true(
      json_is_null(json_object_get(json_array_get(json_object_get(got, "lines"), 0), "rule")));
  json_decref(got);
  tu_resp_free(&r);
}

static void test_lists(void **state)
{
  struct tu_resp r;
  json_t *j;
  (void)state;
  get("/api/v1/orders", &r);
  assert_int_equal(r.status, 200);
  j = parse(&r);
  assert_int_equal(json_object_size(j), 1);
  assert_int_equal(json_array_size(json_object_get(j, "orders")), 4); /* all of them */
  json_decref(j);
  tu_resp_free(&r);
  get("/api/v1/consumables", &r);
  assert_int_equal(r.status, 200);
  j = parse(&r);
  assert_int_equal(json_object_size(j), 1);
  assert_int_equal(json_array_size(json_object_get(j, "consumables")), 4);
  assert_string_equal(str(json_array_get(json_object_get(j, "consumables"), 3), "id"),
                      "press-02/oil-filter");
  json_decref(j);
  tu_resp_free(&r);
  get("/api/v1/orders/R-19700101-0001-000000", &r);
  assert_int_equal(r.status, 404);
  j = parse(&r);
  assert_string_equal(str(json_object_get(j, "error"), "code"), "not_found");
  json_decref(j);
  tu_resp_free(&r);
}

static void test_bad_host(void **state)
{
  struct tu_resp r;
  struct req_opts o;
  (void)state;
  memset(&o, 0, sizeof(o));
  o.host = "evil.example";
  request("GET", "/api/v1/status", &o, &r);
  assert_int_equal(r.status, 421);
  assert_security_headers(&r);
  assert_null(strstr(r.body.data, "http-gw"));
  tu_resp_free(&r);
  o.host = "evil.example:8080";
  request("GET", "/", &o, &r);
  assert_int_equal(r.status, 421);
  tu_resp_free(&r);
  o.host = "gw.example:9999"; /* the port is ignored */
  request("GET", "/healthz", &o, &r);
  assert_int_equal(r.status, 200);
  tu_resp_free(&r);
  o.host = "[::1]:8080";
  request("GET", "/healthz", &o, &r);
  assert_int_equal(r.status, 200);
  tu_resp_free(&r);
  o.host = "LocalHost";
  request("GET", "/healthz", &o, &r);
  assert_int_equal(r.status, 200);
  tu_resp_free(&r);
  /* a bad Host is refused before the route: even for a POST with credentials */
  o.host = "evil.example";
  o.userpwd = "admin:" PASSWORD;
  request("POST", "/api/v1/orders/R-1/approve", &o, &r);
  assert_int_equal(r.status, 421);
  tu_resp_free(&r);
}

static void test_404_405_head(void **state)
{
  struct tu_resp r;
  char v[128];
  (void)state;
  request("DELETE", "/api/v1/status", NULL, &r);
  assert_int_equal(r.status, 405);
  assert_non_null(header(&r, "Allow", v, sizeof(v)));
  assert_string_equal(v, "GET, HEAD");
  tu_resp_free(&r);
  request("GET", "/api/v1/orders/R-1/approve", NULL, &r);
  assert_int_equal(r.status, 405);
  assert_non_null(header(&r, "Allow", v, sizeof(v)));
  assert_string_equal(v, "POST");
  tu_resp_free(&r);
  request("OPTIONS", "/", NULL, &r);
  assert_int_equal(r.status, 405);
  tu_resp_free(&r);
  get("/orders/nope/extra/segments", &r);
  assert_int_equal(r.status, 404);
  tu_resp_free(&r);
  get("/orders/R-19700101-0001-000000", &r);
  assert_int_equal(r.status, 404);
  assert_non_null(strstr(r.body.data, "no such order"));
  tu_resp_free(&r);

  /* HEAD: the headers of GET, no body */
  request("HEAD", "/api/v1/status", NULL, &r);
  assert_int_equal(r.status, 200);
  assert_security_headers(&r);
  assert_int_equal(r.body.len, 0);
  assert_non_null(header(&r, "Content-Length", v, sizeof(v)));
  assert_true(strcmp(v, "0") != 0);
  tu_resp_free(&r);
  request("HEAD", "/", NULL, &r);
  assert_int_equal(r.status, 200);
  assert_int_equal(r.body.len, 0);
  tu_resp_free(&r);
}

static void test_body_limit(void **state)
{
  struct tu_resp r;
  struct req_opts o;
  char *big = malloc(HTTP_BODY_MAX * 2);
  (void)state;
  assert_non_null(big);
  memset(big, 'a', HTTP_BODY_MAX * 2 - 1);
  big[HTTP_BODY_MAX * 2 - 1] = '\0';
  memset(&o, 0, sizeof(o));
  o.body = big;
  o.userpwd = "admin:" PASSWORD;
  request("POST", "/api/v1/orders/R-1/approve", &o, &r);
  assert_int_equal(r.status, 413);
  assert_security_headers(&r);
  tu_resp_free(&r);
  /* chunked, without a length: refused once it passes the limit */
  {
    static const char *const chunked[] = {"Transfer-Encoding: chunked", NULL};
    o.headers = chunked;
    request("POST", "/api/v1/orders/R-1/approve", &o, &r);
    assert_int_equal(r.status, 413);
    tu_resp_free(&r);
  }
  free(big);
  assert_int_equal(order_state(E.p1), STORE_ORDER_PENDING_APPROVAL);
}

static void test_origin_refused(void **state)
{
  struct tu_resp r;
  struct req_opts o;
  char path[128];
  static const char *const evil[] = {"Origin: http://evil.example", NULL};
  static const char *const null_origin[] = {"Origin: null", NULL};
  static const char *const cross[] = {"Sec-Fetch-Site: cross-site", NULL};
  static const char *const evil_referer[] = {"Referer: http://evil.example/x.html", NULL};
  (void)state;
  assert_int_equal(rs_snprintf(path, sizeof(path), "/api/v1/orders/%s/approve", E.p1), 0);
  memset(&o, 0, sizeof(o));
  o.userpwd = "admin:" PASSWORD;
  o.headers = evil;
  request("POST", path, &o, &r);
  assert_int_equal(r.status, 403);
  tu_resp_free(&r);
  o.headers = null_origin;
  request("POST", path, &o, &r);
  assert_int_equal(r.status, 403);
  tu_resp_free(&r);
  o.headers = cross;
  request("POST", path, &o, &r);
  assert_int_equal(r.status, 403);
  tu_resp_free(&r);
  o.headers = evil_referer; /* no Origin: the Referer decides */
  request("POST", path, &o, &r);
  assert_int_equal(r.status, 403);
  tu_resp_free(&r);
  assert_int_equal(order_state(E.p1), STORE_ORDER_PENDING_APPROVAL);
}

static void test_admin_approve(void **state)
{
  struct tu_resp r;
  struct req_opts o;
  char path[128], v[256], origin[80];
  const char *hdrs[2] = {origin, NULL};
  json_t *j, *tr, *last;
  (void)state;
  assert_int_equal(rs_snprintf(path, sizeof(path), "/api/v1/orders/%s/approve", E.p1), 0);
  memset(&o, 0, sizeof(o));

  request("POST", path, &o, &r); /* no credentials */
  assert_int_equal(r.status, 401);
  assert_non_null(header(&r, "WWW-Authenticate", v, sizeof(v)));
  assert_non_null(strstr(v, "Basic realm=\"restock\""));
  assert_security_headers(&r);
  tu_resp_free(&r);
  o.userpwd = "admin:wrong horse";
  request("POST", path, &o, &r);
  assert_int_equal(r.status, 401);
  tu_resp_free(&r);
  o.userpwd = "root:" PASSWORD;
  request("POST", path, &o, &r);
  assert_int_equal(r.status, 401);
  tu_resp_free(&r);
  assert_int_equal(order_state(E.p1), STORE_ORDER_PENDING_APPROVAL);

  /* the right credential, from a same-origin browser page */
  assert_int_equal(rs_snprintf(origin, sizeof(origin), "Origin: http://127.0.0.1:%u",
                               (unsigned)http_server_port(E.srv)),
                   0);
  o.headers = hdrs;
  o.userpwd = "admin:" PASSWORD;
  request("POST", path, &o, &r);
  assert_int_equal(r.status, 200);
  j = parse(&r);
  assert_string_equal(str(j, "state"), "approved");
  assert_string_equal(str(json_object_get(j, "approval"), "decided_by"), "admin:admin");
  assert_true(json_is_null(json_object_get(json_object_get(j, "approval"), "expires")));
  tr = json_object_get(j, "transitions");
  last = json_array_get(tr, json_array_size(tr) - 1);
  assert_string_equal(str(last, "from"), "pending_approval");
  assert_string_equal(str(last, "to"), "approved");
  assert_string_equal(str(last, "actor"), "admin:admin");
  json_decref(j);
  tu_resp_free(&r);
  assert_int_equal(order_state(E.p1), STORE_ORDER_APPROVED);

  /* a second decision: 409, nothing changes */
  request("POST", path, &o, &r);
  assert_int_equal(r.status, 409);
  j = parse(&r);
  assert_string_equal(str(json_object_get(j, "error"), "code"), "conflict");
  assert_non_null(strstr(str(json_object_get(j, "error"), "message"), "is approved"));
  json_decref(j);
  tu_resp_free(&r);
  assert_int_equal(rs_snprintf(path, sizeof(path), "/api/v1/orders/%s/reject", E.p1), 0);
  request("POST", path, &o, &r);
  assert_int_equal(r.status, 409);
  tu_resp_free(&r);
  assert_int_equal(order_state(E.p1), STORE_ORDER_APPROVED);
  request("POST", "/api/v1/orders/R-19700101-0001-000000/approve", &o, &r);
  assert_int_equal(r.status, 404);
  tu_resp_free(&r);
}

/* The csrf value of the form posting to action in html, into out. */
static int find_token(const char *html, const char *action, char *out, size_t size)
{
  char needle[160];
  const char *p, *v, *e;
  if(rs_snprintf(needle, sizeof(needle), "action=\"%s\"", action))
    return -1;
  p = strstr(html, needle);
  if(!p || !(v = strstr(p, "name=\"csrf\" value=\"")))
    return -1;
  v += strlen("name=\"csrf\" value=\"");
  e = strchr(v, '"');
  if(!e || (size_t)(e - v) >= size)
    return -1;
  memcpy(out, v, (size_t)(e - v));
  out[e - v] = '\0';
  return 0;
}

static void test_csrf_form(void **state)
{
  struct tu_resp r;
  struct req_opts o;
  char cookie[128], cookie_hdr[160], action[128], token[80], body[200], other[80];
  const char *hdrs[2] = {cookie_hdr, NULL};
  char *semi;
  (void)state;

  get("/", &r);
  assert_int_equal(r.status, 200);
  assert_non_null(header(&r, "Set-Cookie", cookie, sizeof(cookie)));
  assert_non_null(strstr(cookie, "HttpOnly"));
  assert_non_null(strstr(cookie, "SameSite=Strict"));
  semi = strchr(cookie, ';');
  assert_non_null(semi);
  *semi = '\0';
  assert_int_equal(rs_snprintf(action, sizeof(action), "/orders/%s/reject", E.p2), 0);
  assert_int_equal(find_token(r.body.data, action, token, sizeof(token)), 0);
  assert_int_equal(strlen(token), 64);
  /* the approve form of the same order carries another token */
  assert_int_equal(rs_snprintf(body, sizeof(body), "/orders/%s/approve", E.p2), 0);
  assert_int_equal(find_token(r.body.data, body, other, sizeof(other)), 0);
  assert_string_not_equal(token, other);
  tu_resp_free(&r);

  memset(&o, 0, sizeof(o));
  o.userpwd = "admin:" PASSWORD;
  /* no cookie, no token */
  o.body = "";
  request("POST", action, &o, &r);
  assert_int_equal(r.status, 403);
  assert_security_headers(&r);
  tu_resp_free(&r);
  /* the token without its session */
  assert_int_equal(rs_snprintf(body, sizeof(body), "csrf=%s", token), 0);
  o.body = body;
  request("POST", action, &o, &r);
  assert_int_equal(r.status, 403);
  tu_resp_free(&r);
  /* the session with another form's token */
  assert_int_equal(rs_snprintf(cookie_hdr, sizeof(cookie_hdr), "Cookie: %s", cookie), 0);
  o.headers = hdrs;
  assert_int_equal(rs_snprintf(body, sizeof(body), "csrf=%s", other), 0);
  request("POST", action, &o, &r);
  assert_int_equal(r.status, 403);
  tu_resp_free(&r);
  /* another session with this token */
  assert_int_equal(rs_snprintf(cookie_hdr, sizeof(cookie_hdr),
                               "Cookie: restock_session=0123456789abcdef0123456789abcdef"),
                   0);
  assert_int_equal(rs_snprintf(body, sizeof(body), "csrf=%s", token), 0);
  request("POST", action, &o, &r);
  assert_int_equal(r.status, 403);
  tu_resp_free(&r);
  assert_int_equal(order_state(E.p2), STORE_ORDER_PENDING_APPROVAL);

  /* session and token that belong together, but no credential: 401 */
  assert_int_equal(rs_snprintf(cookie_hdr, sizeof(cookie_hdr), "Cookie: %s", cookie), 0);
  o.userpwd = NULL;
  request("POST", action, &o, &r);
  assert_int_equal(r.status, 401);
  tu_resp_free(&r);
  assert_int_equal(order_state(E.p2), STORE_ORDER_PENDING_APPROVAL);

  /* all of it: the order is rejected and the browser sent back to its page */
  o.userpwd = "admin:" PASSWORD;
  request("POST", action, &o, &r);
  assert_int_equal(r.status, 303);
  {
    char loc[128], want[128];
    assert_non_null(header(&r, "Location", loc, sizeof(loc)));
    assert_int_equal(rs_snprintf(want, sizeof(want), "/orders/%s", E.p2), 0);
    assert_string_equal(loc, want);
  }
  tu_resp_free(&r);
  assert_int_equal(order_state(E.p2), STORE_ORDER_REJECTED);
}

/* Offset of needle in the body, failing when it is missing. */
static size_t at(const struct tu_resp *r, const char *needle)
{
  const char *p = strstr(r->body.data, needle);
  if(!p)
    fail_msg("'%s' not in the page", needle);
  return (size_t)(p - r->body.data);
}

static void test_dashboard_html(void **state)
{
  struct tu_resp r;
  char path[128];
  bool has_bounds;
  (void)state;
  get("/", &r);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body.data, "<meta name=\"viewport\""));
  assert_non_null(strstr(r.body.data, "<meta http-equiv=\"refresh\" content=\"30\">"));
  /* the overview table: one row per consumable, linking to its page */
  assert_non_null(strstr(r.body.data, "<table class=\"overview\">"));
  assert_non_null(strstr(r.body.data, "href=\"/consumables/tank-01/water-filter\""));
  assert_non_null(strstr(r.body.data, "href=\"/consumables/press-02/oil-filter\""));
  assert_non_null(strstr(r.body.data, "4 of 4 shown"));
  assert_non_null(strstr(r.body.data, "<tr class=\"device\" id=\"dev-tank-01\""));
  assert_non_null(strstr(r.body.data, "<tr class=\"device\" id=\"dev-press-02\""));
  /* hostile labels from the config are escaped, never raw markup */
  assert_null(strstr(r.body.data, "<script"));
  assert_non_null(strstr(r.body.data, "Hall &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co"));
  /* the level bar in the row, the states as words */
  assert_non_null(strstr(r.body.data, "<meter max=\"100\" low=\"20\""));
  assert_non_null(strstr(r.body.data, "<span class=\"badge device_down\">device down</span>"));
  /* the alerts banner comes first and links to what it is about */
  assert_true(at(&r, "<section id=\"alerts\"") < at(&r, "<section id=\"consumables\""));
  assert_non_null(strstr(r.body.data, "<a href=\"/?device=press-02\">device press-02 is down"));
  assert_non_null(strstr(r.body.data, "never answered): its 1 consumable gets no fresh data"));
  /* the down device's consumable is not listed again as stale */
  assert_null(strstr(r.body.data, "press-02/oil-filter is stale"));
  assert_null(strstr(r.body.data, "style=")); /* the CSP allows no inline style */
  assert_non_null(strstr(r.body.data, "not sent: no shop configured"));
  tu_resp_free(&r);

  /* the chart's 10-90 % band is drawn exactly when the API has bounds and a
     predicted line is drawn */
  {
    json_t *j, *c;
    get("/api/v1/status", &r);
    j = parse(&r);
    c = json_array_get(json_object_get(j, "consumables"), 0);
    has_bounds = json_is_number(json_object_get(c, "days_left_p10")) &&
                 json_is_number(json_object_get(c, "days_left"));
    json_decref(j);
    tu_resp_free(&r);
  }
  get("/consumables/tank-01/water-filter", &r);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body.data, "<polyline class=\"hist\""));
  if(strstr(r.body.data, "<polyline class=\"pred\""))
    assert_true((strstr(r.body.data, "<polygon class=\"band\"") != NULL) == has_bounds);
  else
    assert_null(strstr(r.body.data, "<polygon class=\"band\""));
  assert_non_null(strstr(r.body.data, "aria-label=\"level 5"));
  assert_non_null(strstr(r.body.data, "Water filter &lt;b&gt;5um&lt;/b&gt;"));
  assert_non_null(strstr(r.body.data, "line=&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
  assert_non_null(strstr(r.body.data, "Last stored readings"));
  assert_null(strstr(r.body.data, "<script"));
  tu_resp_free(&r);

  assert_int_equal(rs_snprintf(path, sizeof(path), "/orders/%s", E.p2), 0);
  get(path, &r);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body.data, "over budget &lt;script&gt;alert(&#39;cause&#39;)"));
  assert_null(strstr(r.body.data, "<script"));
  tu_resp_free(&r);

  get("/static/style.css", &r);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body.data, "svg.bar"));
  tu_resp_free(&r);
}

/* Sorting and filtering the overview with query parameters (no JavaScript). */
/* The overview row link of a consumable (alerts link with other text). */
#define ROW(dev, id) "/consumables/" dev "/" id "\">" id "</a>"

static void test_dashboard_sort_filter(void **state)
{
  struct tu_resp r;
  (void)state;
  /* by part, ascending: button, oil-filter, uv-lamp, water-filter */
  get("/?sort=part&dir=asc", &r);
  assert_int_equal(r.status, 200);
  assert_true(at(&r, ROW("tank-01", "button")) < at(&r, ROW("press-02", "oil-filter")));
  assert_true(at(&r, ROW("press-02", "oil-filter")) < at(&r, ROW("tank-01", "uv-lamp")));
  assert_true(at(&r, ROW("tank-01", "uv-lamp")) <
              at(&r, ROW("tank-01", "water-filter")));
  /* the sorted column says so, and its header link sorts the other way, filters kept */
  assert_non_null(strstr(r.body.data, "aria-sort=\"ascending\"><a href=\"/?sort=part&amp;dir=desc\""));
  tu_resp_free(&r);
  get("/?sort=part&dir=desc", &r);
  assert_true(at(&r, ROW("tank-01", "water-filter")) <
              at(&r, ROW("tank-01", "button")));
  tu_resp_free(&r);
  /* by level: uv-lamp (50 %) before water-filter (51 %); the button has none: last */
  get("/?sort=level&dir=asc", &r);
  assert_true(at(&r, ROW("tank-01", "uv-lamp")) < at(&r, ROW("tank-01", "water-filter")));
  assert_true(at(&r, ROW("tank-01", "water-filter")) < at(&r, ROW("tank-01", "button")));
  tu_resp_free(&r);
  get("/?sort=level&dir=desc", &r);
  assert_true(at(&r, ROW("tank-01", "water-filter")) < at(&r, ROW("tank-01", "uv-lamp")));
  assert_true(at(&r, ROW("tank-01", "uv-lamp")) < at(&r, ROW("tank-01", "button")));
  tu_resp_free(&r);
  /* the default puts the most urgent state first: the down device's part */
  get("/", &r);
  assert_true(at(&r, ROW("press-02", "oil-filter")) <
              at(&r, ROW("tank-01", "water-filter")));
  tu_resp_free(&r);

  /* filters: device, kind, state; the selects show the choice */
  get("/?device=press-02", &r);
  assert_non_null(strstr(r.body.data, "1 of 4 shown"));
  assert_non_null(strstr(r.body.data, ROW("press-02", "oil-filter")));
  assert_null(strstr(r.body.data, ROW("tank-01", "water-filter")));
  assert_non_null(strstr(r.body.data, "<option selected>press-02</option>"));
  tu_resp_free(&r);
  get("/?kind=filter&sort=device&dir=asc", &r);
  assert_non_null(strstr(r.body.data, "2 of 4 shown"));
  assert_true(at(&r, ROW("press-02", "oil-filter")) <
              at(&r, ROW("tank-01", "water-filter")));
  assert_null(strstr(r.body.data, ROW("tank-01", "uv-lamp")));
  /* sort links keep the filter */
  assert_non_null(strstr(r.body.data, "href=\"/?sort=sku&amp;dir=asc&amp;kind=filter\""));
  tu_resp_free(&r);
  get("/?state=device_down", &r);
  assert_non_null(strstr(r.body.data, "1 of 4 shown"));
  assert_non_null(strstr(r.body.data, ROW("press-02", "oil-filter")));
  assert_non_null(strstr(r.body.data, "<option value=\"device_down\" selected>"));
  tu_resp_free(&r);
  /* unknown values are ignored, not echoed raw */
  get("/?state=%3Cb%3E&sort=nope&kind=%3Cscript%3E", &r);
  assert_int_equal(r.status, 200);
  assert_null(strstr(r.body.data, "<script"));
  assert_non_null(strstr(r.body.data, "0 of 4 shown"));
  tu_resp_free(&r);
}

static void test_dashboard_pending_first(void **state)
{
  /* a fresh pending order shows in the approvals section, after the overview */
  char id[STORE_ORDER_ID_MAX + 1], sect[200];
  struct tu_resp r;
  const char *a, *c, *card;
  (void)state;
  assert_int_equal(
      store_create_order(E.st, "acme", "EUR", 4400, E.t1, "system", "batch opened", id, sizeof(id)),
      RS_OK);
  move(id, STORE_ORDER_DRAFT, STORE_ORDER_PENDING_APPROVAL, "system", "needs a person", E.t1);
  get("/", &r);
  a = strstr(r.body.data, "<section id=\"approvals\"");
  c = strstr(r.body.data, "<section id=\"consumables\"");
  assert_non_null(a);
  assert_non_null(c);
  assert_true(c < a);
  assert_int_equal(rs_snprintf(sect, sizeof(sect), "id=\"pending-%s\"", id), 0);
  card = strstr(r.body.data, sect);
  assert_non_null(card);
  assert_true(card > a);
  tu_resp_free(&r);
}

static void test_metrics_promtool(void **state)
{
  struct tu_resp r;
  char file[160], cmd[400];
  FILE *f;
  int rc;
  (void)state;
  get("/metrics", &r);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body.data, "restock_build_info{version=\"" RESTOCK_VERSION "\"} 1\n"));
  assert_non_null(strstr(r.body.data, "restock_device_up{device=\"tank-01\"} 1\n"));
  assert_non_null(strstr(r.body.data, "restock_device_up{device=\"press-02\"} 0\n"));
  assert_non_null(strstr(r.body.data, "restock_device_polls_total{device=\"tank-01\"} 5\n"));
  assert_non_null(strstr(r.body.data,
                         "restock_device_errors_total{device=\"tank-01\",kind=\"exception\"} 5\n"));
  /* the consumable figures agree with the JSON API's */
  {
    struct tu_resp js;
    json_t *j, *c;
    char want[200];
    get("/api/v1/consumables", &js);
    j = parse(&js);
    c = json_array_get(json_object_get(j, "consumables"), 0);
    assert_int_equal(rs_snprintf(want, sizeof(want),
                                 "restock_consumable_level_ratio{consumable=\"tank-01/"
                                 "water-filter\"} %.10g\n",
                                 json_number_value(json_object_get(c, "level_pct")) / 100.0),
                     0);
    assert_non_null(strstr(r.body.data, want));
    if(json_is_null(json_object_get(c, "days_left")))
      assert_int_equal(rs_snprintf(want, sizeof(want),
                                   "restock_consumable_time_left_seconds{consumable=\"tank-01/"
                                   "water-filter\"} +Inf\n"),
                       0);
    else
      assert_int_equal(rs_snprintf(want, sizeof(want),
                                   "restock_consumable_time_left_seconds{consumable=\"tank-01/"
                                   "water-filter\"} "),
                       0);
    {
      const char *p = strstr(r.body.data, want);
      assert_non_null(p);
      if(!json_is_null(json_object_get(c, "days_left")))
        assert_true(fabs(strtod(p + strlen(want), NULL) / 86400.0 -
                         json_number_value(json_object_get(c, "days_left"))) < 0.01);
    }
    json_decref(j);
    tu_resp_free(&js);
  }
  assert_null(strstr(r.body.data, "restock_consumable_time_left_seconds{consumable=\"press-02"));
  assert_non_null(strstr(r.body.data, "restock_orders{state=\"delivered\"} 1\n"));
  assert_non_null(strstr(r.body.data, "# TYPE restock_poll_duration_seconds histogram\n"));
  assert_non_null(strstr(r.body.data, "restock_poll_duration_seconds_count{device=\"tank-01\"}"));
  {
    /* the buckets are cumulative: a poll (the fake adapter's take no time) is
       in every bucket up to +Inf, which holds the count */
    const char *pc = strstr(r.body.data, "restock_poll_duration_seconds_count{device=\"tank-01\"} ");
    const char *p10 =
        strstr(r.body.data, "restock_poll_duration_seconds_bucket{device=\"tank-01\",le=\"10\"} ");
    const char *pf =
        strstr(r.body.data, "restock_poll_duration_seconds_bucket{device=\"tank-01\",le=\"0.005\"} ");
    unsigned long long n;
    assert_non_null(pc);
    assert_non_null(p10);
    assert_non_null(pf);
    n = strtoull(strchr(pc, '}') + 2, NULL, 10);
    assert_true(n > 0);
    assert_int_equal(strtoull(strchr(p10, '}') + 2, NULL, 10), n);
    assert_true(strtoull(strchr(pf, '}') + 2, NULL, 10) <= n);
  }
  assert_non_null(strstr(r.body.data, "restock_readings_stored_total "));
  assert_non_null(strstr(r.body.data, "restock_approvals_pending "));
  assert_non_null(strstr(r.body.data, "restock_submission_errors_total 0\n"));
  assert_security_headers(&r);

  if(system("command -v promtool >/dev/null 2>&1") != 0) {
    tu_resp_free(&r);
    fprintf(stderr, "promtool not installed (Debian package prometheus): not checked\n");
    skip();
  }
  assert_int_equal(rs_snprintf(file, sizeof(file), "%s/metrics.txt", E.dir), 0);
  f = fopen(file, "w");
  assert_non_null(f);
  assert_int_equal(fwrite(r.body.data, 1, r.body.len, f), r.body.len);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(rs_snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s' 2>&1", file), 0);
  rc = system(cmd);
  assert_true(WIFEXITED(rc));
  if(WEXITSTATUS(rc) != 0)
    fail_msg("promtool check metrics failed on:\n%s", r.body.data);
  tu_resp_free(&r);
}

static void test_healthz(void **state)
{
  struct tu_resp r;
  (void)state;
  get("/healthz", &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body.data, "ok\n");
  tu_resp_free(&r);
  /* the loop has not turned for 20 s */
  E.hb_live = false;
  E.hb = clock_real_mono_ms() - 20000;
  get("/healthz", &r);
  assert_int_equal(r.status, 503);
  assert_non_null(strstr(r.body.data, "stalled"));
  tu_resp_free(&r);
  E.hb_live = true;
  E.hb = clock_real_mono_ms();
  get("/healthz", &r);
  assert_int_equal(r.status, 200);
  tu_resp_free(&r);
}

/* ---- limits, timeouts and other listeners -------------------------------- */

static int connect_to(uint16_t port)
{
  struct sockaddr_in a;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  return fd;
}

/* Run srv for ms real milliseconds. */
static void run_for(struct http_server *srv, int64_t ms)
{
  int64_t end = clock_real_mono_ms() + ms;
  while(clock_real_mono_ms() < end) {
    struct pollfd p = {http_server_fd(srv), POLLIN, 0};
    int64_t to = http_server_timeout_ms(srv);
    (void)poll(&p, 1, to > 20 ? 20 : (int)to);
    http_server_run(srv);
  }
}

/* Whether the peer closed fd (read gives EOF or reset) without sending anything. */
static bool closed(int fd)
{
  char b[64];
  struct pollfd p = {fd, POLLIN, 0};
  if(poll(&p, 1, 0) <= 0)
    return false;
  return recv(fd, b, sizeof(b), MSG_DONTWAIT) <= 0;
}

/* Whether an HTTP answer arrived on fd. */
static bool answered(int fd)
{
  char b[256];
  ssize_t n;
  struct pollfd p = {fd, POLLIN, 0};
  if(poll(&p, 1, 0) <= 0)
    return false;
  n = recv(fd, b, sizeof(b) - 1, MSG_DONTWAIT);
  if(n <= 0)
    return false;
  b[n] = '\0';
  return !strncmp(b, "HTTP/1.1 200", 12);
}

static void test_connection_limit_and_timeout(void **state)
{
  struct http_env he;
  struct http_server *srv;
  char err[256];
  int a, b, c;
  static const char req[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  (void)state;
  memset(&he, 0, sizeof(he));
  daemon_core_http_view(E.core, &he.core);
  he.st = E.st;
  he.clk = E.clk;
  he.listen = "127.0.0.1:0";
  he.conn_limit = 2;
  he.conn_timeout_s = 1;
  srv = http_server_start(&he, err, sizeof(err));
  assert_non_null(srv);
  a = connect_to(http_server_port(srv));
  b = connect_to(http_server_port(srv));
  run_for(srv, 200);
  /* over the limit: the third is not served while the two hold their slots */
  c = connect_to(http_server_port(srv));
  assert_int_equal(send(c, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
  run_for(srv, 300);
  assert_false(closed(a));
  assert_false(closed(b));
  assert_false(answered(c));
  /* idle connections are closed after the timeout; then the third is served */
  run_for(srv, 2600); /* libmicrohttpd may round the 1 s timeout up to the next second */
  assert_true(closed(a));
  assert_true(closed(b));
  run_for(srv, 500);
  assert_true(answered(c));
  close(a);
  close(b);
  close(c);
  http_server_stop(srv);
}

static void test_other_listeners(void **state)
{
  struct http_env he;
  struct http_server *srv;
  struct req_opts o;
  struct tu_resp r;
  char err[256], base[80];
  (void)state;
  memset(&he, 0, sizeof(he));
  daemon_core_http_view(E.core, &he.core);
  he.st = E.st;
  he.clk = E.clk;
  he.listen = "localhost:0";
  srv = http_server_start(&he, err, sizeof(err));
  assert_non_null(srv);
  memset(&o, 0, sizeof(o));
  o.srv = srv;
  assert_int_equal(
      rs_snprintf(base, sizeof(base), "http://localhost:%u", (unsigned)http_server_port(srv)), 0);
  o.base = base;
  request("GET", "/healthz", &o, &r);
  assert_int_equal(r.status, 200);
  tu_resp_free(&r);
  http_server_stop(srv);

  he.listen = "[::1]:0";
  srv = http_server_start(&he, err, sizeof(err));
  if(!srv) {
    fprintf(stderr, "no IPv6 loopback here (%s): [::1] not checked\n", err);
    skip();
  }
  o.srv = srv;
  assert_int_equal(
      rs_snprintf(base, sizeof(base), "http://[::1]:%u", (unsigned)http_server_port(srv)), 0);
  o.base = base;
  request("GET", "/api/v1/status", &o, &r);
  assert_int_equal(r.status, 200);
  assert_security_headers(&r);
  tu_resp_free(&r);
  http_server_stop(srv);

  he.listen = "example.com:80";
  assert_null(http_server_start(&he, err, sizeof(err)));
  assert_non_null(strstr(err, "not an IP address"));
}

/* ---- serve mode (screenshots) ------------------------------------------- */

static int serve(int seconds, const char *port)
{
  struct http_env he;
  char err[256], listen[64];
  int64_t end;
  env_open(false);
  memset(&he, 0, sizeof(he));
  daemon_core_http_view(E.core, &he.core);
  he.st = E.st;
  he.clk = E.clk;
  if(rs_snprintf(listen, sizeof(listen), "127.0.0.1:%s", port ? port : "0"))
    return 2;
  he.listen = listen;
  E.srv = http_server_start(&he, err, sizeof(err));
  if(!E.srv) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  printf("http://127.0.0.1:%u/ %s\n", (unsigned)http_server_port(E.srv), E.dir);
  fflush(stdout);
  end = clock_real_mono_ms() + (int64_t)seconds * 1000;
  while(clock_real_mono_ms() < end) {
    struct pollfd p = {http_server_fd(E.srv), POLLIN, 0};
    int64_t to = http_server_timeout_ms(E.srv);
    (void)poll(&p, 1, (int)to);
    http_server_run(E.srv);
  }
  env_close();
  return 0;
}

int main(int argc, char **argv)
{
  const struct CMUnitTest pure[] = {
      cmocka_unit_test(test_router),
      cmocka_unit_test(test_host_check),
      cmocka_unit_test(test_parse_listen),
  };
  const struct CMUnitTest wire[] = {
      cmocka_unit_test(test_every_endpoint_headers),
      cmocka_unit_test(test_status_json),
      cmocka_unit_test(test_order_json_exact),
      cmocka_unit_test(test_lists),
      cmocka_unit_test(test_bad_host),
      cmocka_unit_test(test_404_405_head),
      cmocka_unit_test(test_body_limit),
      cmocka_unit_test(test_origin_refused),
      cmocka_unit_test(test_admin_approve),
      cmocka_unit_test(test_csrf_form),
      cmocka_unit_test(test_dashboard_html),
      cmocka_unit_test(test_dashboard_sort_filter),
      cmocka_unit_test(test_dashboard_pending_first),
      cmocka_unit_test(test_metrics_promtool),
      cmocka_unit_test(test_healthz),
      cmocka_unit_test(test_connection_limit_and_timeout),
      cmocka_unit_test(test_other_listeners),
  };
  int fails;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if(argc >= 3 && !strcmp(argv[1], "--serve")) {
    int64_t s;
    if(rs_parse_i64(argv[2], false, 1, 86400, &s))
      return 2;
    fails = serve((int)s, argc >= 4 ? argv[3] : NULL);
    curl_global_cleanup();
    return fails;
  }
  fails = cmocka_run_group_tests_name("http_pure", pure, NULL, NULL);
  fails += cmocka_run_group_tests_name("http_wire", wire, group_setup, group_teardown);
  curl_global_cleanup();
  return fails ? 1 : 0;
}
