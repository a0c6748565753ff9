/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The commerce client (adapters/commerce) against the real restock-sim
 * sandbox shop on a free loopback port, with a temp config and a temp SQLite
 * file per test. Each test checks what a user would: the outcome the
 * pipeline gets, the shop's id, and what the shop holds (GET /sim/orders:
 * how many orders, how many POSTs hit each key).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "adapters/commerce.h"
#include "config/config.h"
#include "base/rs_util.h"

#ifndef RESTOCK_SIM_PATH
#error "RESTOCK_SIM_PATH must name the restock-sim binary"
#endif

/* ---- the shop process ---- */

struct sim {
  pid_t pid;
  unsigned port;
  char dir[64];
  char base[128];
};

static const char products_yaml[] =
    "shop:\n"
    "  listen: 127.0.0.1:0\n"
    "  db: shop.db\n"
    "  products:\n"
    "    - {sku: FLT-100, unit_price: \"42.50\", currency: EUR, lead_time_days: 3}\n"
    "    - {sku: \"INK/C+1\", unit_price: \"7.00\", currency: EUR, available: false}\n";

/* Every sim started by the running test, killed by teardown if a test failed. */
static pid_t live[8];

static void track(pid_t pid, bool add)
{
  size_t i;
  for(i = 0; i < RS_ARRAY_LEN(live); i++)
    if(add ? !live[i] : live[i] == pid) {
      live[i] = add ? pid : 0;
      return;
    }
}

static int kill_leftovers(void **state)
{
  size_t i;
  (void)state;
  for(i = 0; i < RS_ARRAY_LEN(live); i++)
    if(live[i] > 0) {
      kill(live[i], SIGKILL);
      waitpid(live[i], NULL, 0);
      live[i] = 0;
    }
  return 0;
}

static void sleep_ms(long ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while(nanosleep(&ts, &ts) && errno == EINTR)
    ;
}

static long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
  char path[256];
  FILE *f;
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  chmod(path, mode);
}

/*
 * Start restock-sim on the config in s->dir/sim.yaml (written from extra,
 * shop keys indented by two, unless extra is NULL: keep the file) and read
 * its port from the "listening on" line.
 */
static void sim_run(struct sim *s, const char *extra, const char *time_scale)
{
  int fds[2];
  char cfg[128], buf[512];
  size_t len = 0;
  long deadline;
  if(!s->dir[0]) {
    rs_strlcpy(s->dir, "/tmp/rs-shop-XXXXXX", sizeof(s->dir));
    assert_non_null(mkdtemp(s->dir));
  }
  if(extra) {
    char text[4096];
    snprintf(text, sizeof(text), "%s%s", products_yaml, extra);
    write_file(s->dir, "sim.yaml", text, 0600);
  }
  snprintf(cfg, sizeof(cfg), "%s/sim.yaml", s->dir);
  assert_int_equal(pipe(fds), 0);
  s->pid = fork();
  assert_true(s->pid >= 0);
  if(s->pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    if(time_scale)
      execl(RESTOCK_SIM_PATH, "restock-sim", "--config", cfg, "--time-scale", time_scale,
            "--log-level", "warning", (char *)NULL);
    else
      execl(RESTOCK_SIM_PATH, "restock-sim", "--config", cfg, "--log-level", "warning",
            (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  track(s->pid, true);
  deadline = now_ms() + 15000;
  s->port = 0;
  while(!s->port && now_ms() < deadline && len < sizeof(buf) - 1) {
    struct pollfd p = {fds[0], POLLIN, 0};
    const char *at;
    ssize_t n;
    if(poll(&p, 1, 200) <= 0)
      continue;
    n = read(fds[0], buf + len, sizeof(buf) - 1 - len);
    if(n <= 0)
      break;
    len += (size_t)n;
    buf[len] = '\0';
    if((at = strstr(buf, "listening on http://127.0.0.1:")) && strchr(at, '\n'))
      s->port = (unsigned)strtoul(at + 30, NULL, 10);
  }
  close(fds[0]);
  if(!s->port)
    fail_msg("restock-sim did not start (output: %s)", buf);
  snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%u", s->port);
}

/* SIGTERM, and the sim must exit 0 (a clean stop; ASan reports would fail it). */
static void sim_stop(struct sim *s)
{
  int st = 0, i;
  if(s->pid <= 0)
    return;
  track(s->pid, false);
  kill(s->pid, SIGTERM);
  for(i = 0; i < 600; i++) { /* 30 s: a hang guard, not a measure of speed */
    if(waitpid(s->pid, &st, WNOHANG) == s->pid)
      break;
    sleep_ms(50);
  }
  if(i == 600) {
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &st, 0);
    s->pid = 0;
    fail_msg("restock-sim hung: still running 30 s after SIGTERM");
  }
  s->pid = 0;
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
}

static void sim_cleanup(struct sim *s)
{
  char cmd[128];
  sim_stop(s);
  if(s->dir[0]) {
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
    if(system(cmd) != 0)
      fprintf(stderr, "cannot remove %s\n", s->dir);
  }
}

/* ---- raw HTTP (for what the client never sends) ---- */

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
  rs_buf_append(ud, p, size * n);
  return size * n;
}

/* One request; returns the status (0: no answer), body in *out (may be NULL). */
static long raw(const char *method, const char *url, const char *key, const char *body,
                struct rs_buf *out)
{
  CURL *h = curl_easy_init();
  struct curl_slist *hd = NULL;
  char line[256];
  long status = 0;
  struct rs_buf dummy = {0};
  assert_non_null(h);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, out ? out : &dummy);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
  if(key) {
    snprintf(line, sizeof(line), "Idempotency-Key: %s", key);
    hd = curl_slist_append(hd, line);
  }
  hd = curl_slist_append(hd, "Content-Type: application/json");
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
  if(body) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
  }
  if(curl_easy_perform(h) == CURLE_OK)
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(hd);
  curl_easy_cleanup(h);
  rs_buf_free(&dummy);
  return status;
}

/* GET /sim/orders as JSON (the caller decrefs). */
static json_t *shop_state(const struct sim *s)
{
  char url[192];
  struct rs_buf b = {0};
  json_t *j;
  snprintf(url, sizeof(url), "%s/sim/orders", s->base);
  assert_int_equal(raw("GET", url, NULL, NULL, &b), 200);
  j = json_loadb(b.data, b.len, 0, NULL);
  rs_buf_free(&b);
  assert_non_null(j);
  return j;
}

static size_t shop_orders(const struct sim *s)
{
  json_t *j = shop_state(s);
  size_t n = json_array_size(json_object_get(j, "orders"));
  json_decref(j);
  return n;
}

/* How many POSTs reached the shop with this Idempotency-Key. */
static long shop_posts(const struct sim *s, const char *key)
{
  json_t *j = shop_state(s), *k;
  size_t i;
  long n = 0;
  json_array_foreach(json_object_get(j, "keys"), i,
                     k) if(!strcmp(json_string_value(json_object_get(k, "idempotency_key")), key))
      n = (long)json_integer_value(json_object_get(k, "posts"));
  json_decref(j);
  return n;
}

/* ---- the client side ---- */

struct side {
  struct cfg cfg;
  char url[192];
  struct commerce_client *client;
  char *body;
};

/* GET one order / product through the one lookup call; the answer's part into *out. */
static enum commerce_lookup get_order(struct commerce_client *c, const char *id,
                                      struct commerce_order_info *out)
{
  struct commerce_answer *a = calloc(1, sizeof(*a));
  enum commerce_lookup l;
  assert_non_null(a);
  l = commerce_get(c, COMMERCE_REQ_ORDER, id, a);
  *out = a->order;
  free(a);
  return l;
}

static enum commerce_lookup get_product(struct commerce_client *c, const char *sku,
                                        struct commerce_product *out)
{
  struct commerce_answer *a = calloc(1, sizeof(*a));
  enum commerce_lookup l;
  assert_non_null(a);
  l = commerce_get(c, COMMERCE_REQ_PRODUCT, sku, a);
  *out = a->product;
  free(a);
  return l;
}

static const struct commerce_line std_lines[] = {
    {.sku = "FLT-100", .quantity = 2, .has_unit_price = true, .unit_price = 4250},
};

static void side_open(struct side *sd, const struct sim *s, long timeout_ms)
{
  char err[256];
  memset(&sd->cfg, 0, sizeof(sd->cfg));
  snprintf(sd->url, sizeof(sd->url), "%s/api/v1", s->base);
  sd->cfg.dir = s->dir;
  sd->cfg.commerce.set = true;
  sd->cfg.commerce.base_url = sd->url;
  sd->cfg.commerce.timeout_ms = timeout_ms;
  sd->cfg.commerce.customer_id = "C-1042";
  sd->cfg.commerce.ship_to.name = "Plant 7 stores";
  sd->cfg.commerce.ship_to.street = "Hafenstrasse 1";
  sd->cfg.commerce.ship_to.city = "Bremen";
  sd->cfg.commerce.ship_to.country = "DE";
  if(commerce_client_new(&sd->cfg, &sd->client, err, sizeof(err)))
    fail_msg("client: %s", err);
  sd->body = NULL;
}

static char *make_body(const struct side *sd, const char *id, const struct commerce_line *l,
                       size_t n)
{
  const struct commerce_order o = {id, "EUR", l, n};
  char err[256], *body = NULL;
  if(commerce_build_body(&sd->cfg, &o, &body, err, sizeof(err)))
    fail_msg("body: %s", err);
  return body;
}

static void side_close(struct side *sd)
{
  commerce_client_free(sd->client);
  sd->client = NULL;
  free(sd->body);
  sd->body = NULL;
}

/* ---- tests ---- */

/* 201 the first time, 200 with the same shop id on a replay; one order. */
static void test_happy_path_and_replay(void **state)
{
  struct sim s = {0};
  struct side sd;
  struct commerce_result r;
  json_t *j, *o;
  (void)state;
  sim_run(&s, "", NULL);
  side_open(&sd, &s, 5000);
  sd.body = make_body(&sd, "ord-1", std_lines, 1);
  assert_int_equal(commerce_submit(sd.client, "ord-1", sd.body, &r), COMMERCE_SUBMITTED);
  assert_int_equal(r.http_status, 201);
  assert_string_equal(r.shop_id, "SO-000001");
  assert_string_equal(r.shop_status, "accepted");
  assert_int_equal(commerce_submit(sd.client, "ord-1", sd.body, &r), COMMERCE_SUBMITTED);
  assert_int_equal(r.http_status, 200);
  assert_string_equal(r.shop_id, "SO-000001");
  j = shop_state(&s);
  assert_int_equal(json_array_size(json_object_get(j, "orders")), 1);
  o = json_array_get(json_object_get(j, "orders"), 0);
  assert_string_equal(json_string_value(json_object_get(o, "idempotency_key")), "ord-1");
  assert_int_equal(json_integer_value(json_object_get(o, "posts")), 2);
  /* the shop got our stored body byte for byte */
  assert_string_equal(json_string_value(json_object_get(o, "body")), sd.body);
  json_decref(j);
  side_close(&sd);
  sim_cleanup(&s);
}

/* The same key with another body: FAILED 422, and the first order stands alone. */
static void test_other_body_same_key(void **state)
{
  struct sim s = {0};
  struct side sd;
  struct commerce_result r;
  const struct commerce_line other[] = {{.sku = "FLT-100", .quantity = 3}};
  char *b2;
  (void)state;
  sim_run(&s, "", NULL);
  side_open(&sd, &s, 5000);
  sd.body = make_body(&sd, "ord-2", std_lines, 1);
  b2 = make_body(&sd, "ord-2", other, 1);
  assert_int_equal(commerce_submit(sd.client, "ord-2", sd.body, &r), COMMERCE_SUBMITTED);
  assert_int_equal(commerce_submit(sd.client, "ord-2", b2, &r), COMMERCE_FAILED);
  assert_int_equal(r.http_status, 422);
  assert_string_equal(r.error_code, "idempotency_key_reused");
  assert_non_null(strstr(r.message, "another body"));
  assert_int_equal(shop_orders(&s), 1);
  free(b2);
  side_close(&sd);
  sim_cleanup(&s);
}

/* No key, an over-long key, bad JSON, unknown paths and methods: clear answers, no order. */
static void test_raw_requests(void **state)
{
  struct sim s = {0};
  struct side sd;
  struct commerce_result r;
  struct rs_buf b = {0};
  char url[192], key[70];
  json_t *j;
  (void)state;
  sim_run(&s, "", NULL);
  side_open(&sd, &s, 5000);
  sd.body = make_body(&sd, "ord-3", std_lines, 1);
  snprintf(url, sizeof(url), "%s/api/v1/orders", s.base);
  assert_int_equal(raw("POST", url, NULL, sd.body, &b), 400);
  j = json_loadb(b.data, b.len, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
                      "missing_idempotency_key");
  json_decref(j);
  rs_buf_free(&b);
  memset(key, 'k', 65);
  key[65] = '\0';
  assert_int_equal(raw("POST", url, key, sd.body, NULL), 400);
  assert_int_equal(raw("POST", url, "bad-json", "{\"reference\":", NULL), 400);
  assert_int_equal(raw("POST", url, "not-object", "[1,2]", NULL), 422);
  assert_int_equal(raw("DELETE", url, "x", NULL, NULL), 405);
  snprintf(url, sizeof(url), "%s/api/v1/nothing", s.base);
  assert_int_equal(raw("GET", url, NULL, NULL, &b), 404);
  assert_non_null(strstr(b.data, "\"error\""));
  rs_buf_free(&b);
  snprintf(url, sizeof(url), "%s/elsewhere", s.base);
  assert_int_equal(raw("GET", url, NULL, NULL, NULL), 404);
  /* the client refuses a key the shop would refuse, without sending it */
  assert_int_equal(commerce_submit(sd.client, key, sd.body, &r), COMMERCE_FAILED);
  assert_int_equal(r.http_status, 0);
  assert_int_equal(shop_orders(&s), 0);
  j = shop_state(&s);
  assert_int_equal(json_integer_value(json_object_get(j, "posts_without_key")), 2);
  json_decref(j);
  side_close(&sd);
  sim_cleanup(&s);
}

struct bg {
  struct side *sd;
  const char *key;
  struct commerce_result r;
};

static void *bg_submit(void *arg)
{
  struct bg *b = arg;
  commerce_submit(b->sd->client, b->key, b->sd->body, &b->r);
  return NULL;
}

/* A second POST while the first is being processed gets 409 (RETRY). */
static void test_in_progress_409(void **state)
{
  struct sim s = {0};
  struct side a, b;
  struct commerce_result r;
  struct bg job;
  pthread_t t;
  (void)state;
  sim_run(&s, "  processing_delay: 1500ms\n", NULL);
  side_open(&a, &s, 5000);
  side_open(&b, &s, 5000);
  a.body = make_body(&a, "ord-4", std_lines, 1);
  b.body = make_body(&b, "ord-4", std_lines, 1);
  job.sd = &a;
  job.key = "ord-4";
  assert_int_equal(pthread_create(&t, NULL, bg_submit, &job), 0);
  /* wait until the first POST has reached the shop, however loaded the machine */
  while(shop_posts(&s, "ord-4") < 1)
    sleep_ms(20);
  sleep_ms(200);
  assert_int_equal(commerce_submit(b.client, "ord-4", b.body, &r), COMMERCE_RETRY);
  assert_int_equal(r.http_status, 409);
  assert_string_equal(r.error_code, "in_progress");
  pthread_join(t, NULL);
  assert_int_equal(job.r.outcome, COMMERCE_SUBMITTED);
  assert_int_equal(job.r.http_status, 201);
  /* once processed, the key answers with the recorded order */
  assert_int_equal(commerce_submit(b.client, "ord-4", b.body, &r), COMMERCE_SUBMITTED);
  assert_int_equal(r.http_status, 200);
  assert_string_equal(r.shop_id, job.r.shop_id);
  assert_int_equal(shop_orders(&s), 1);
  assert_int_equal(shop_posts(&s, "ord-4"), 3);
  side_close(&a);
  side_close(&b);
  sim_cleanup(&s);
}

/* A 5xx does not bind the key: the retry succeeds and the shop holds one order. */
static void test_5xx_then_success(void **state)
{
  struct sim s = {0};
  struct side sd;
  struct commerce_result r;
  (void)state;
  sim_run(&s, "  faults:\n    error: {times: 1, status: 503, requests: [orders_post]}\n", NULL);
  side_open(&sd, &s, 5000);
  sd.body = make_body(&sd, "ord-5", std_lines, 1);
  assert_int_equal(commerce_submit(sd.client, "ord-5", sd.body, &r), COMMERCE_RETRY);
  assert_int_equal(r.http_status, 503);
  assert_int_equal(shop_orders(&s), 0);
  assert_int_equal(commerce_submit(sd.client, "ord-5", sd.body, &r), COMMERCE_SUBMITTED);
  assert_int_equal(r.http_status, 201);
  assert_int_equal(shop_orders(&s), 1);
  assert_int_equal(shop_posts(&s, "ord-5"), 2);
  side_close(&sd);
  sim_cleanup(&s);
}

static void test_429_seconds(void **state)
{
  struct sim s = {0};
  struct side sd;
  struct commerce_result r;
  (void)state;
  sim_run(&s, "  faults:\n    rate_limit: {times: 1, retry_after: 3s}\n", NULL);
  side_open(&sd, &s, 5000);
  sd.body = make_body(&sd, "ord-6", std_lines, 1);
  assert_int_equal(commerce_submit(sd.client, "ord-6", sd.body, &r), COMMERCE_RETRY);
  assert_int_equal(r.http_status, 429);
  assert_int_equal(r.retry_after_ms, 3000);
  assert_int_equal(commerce_submit(sd.client, "ord-6", sd.body, &r), COMMERCE_SUBMITTED);
  assert_int_equal(shop_orders(&s), 1);
  side_close(&sd);
  sim_cleanup(&s);
}

static void test_429_http_date(void **state)
{
  struct sim s = {0};
  struct side sd;
  struct commerce_result r;
  (void)state;
  sim_run(&s, "  faults:\n    rate_limit: {times: 1, retry_after: 5s, form: http-date}\n", NULL);
  side_open(&sd, &s, 5000);
  sd.body = make_body(&sd, "ord-7", std_lines, 1);
  assert_int_equal(commerce_submit(sd.client, "ord-7", sd.body, &r), COMMERCE_RETRY);
  assert_int_equal(r.http_status, 429);
  /* an HTTP-date has whole seconds: now + 5 s lands 4 to 5 s ahead, less the time the
     answer took to be read (a floor of 1 s whatever the host's delay: seconds, not ms) */
  assert_true(r.retry_after_ms >= 1000 && r.retry_after_ms <= 5000);
  side_close(&sd);
  sim_cleanup(&s);
}

/*
 * A connection dropped without an answer: RETRY, and exactly one POST reached
 * the shop. The client first opens a kept-alive connection with a GET: a
 * POST riding on it would be resent silently by libcurl after the drop (two
 * POSTs for one attempt, and the second would succeed behind our back).
 */
static void test_drop_is_one_post(void **state)
{
  struct sim s = {0};
  struct side sd;
  struct commerce_result r;
  struct commerce_product p;
  (void)state;
  sim_run(&s, "  faults:\n    drop: {times: 1, requests: [orders_post]}\n", NULL);
  side_open(&sd, &s, 5000);
  sd.body = make_body(&sd, "ord-8", std_lines, 1);
  assert_int_equal(get_product(sd.client, "FLT-100", &p), COMMERCE_LOOKUP_OK);
  assert_int_equal(commerce_submit(sd.client, "ord-8", sd.body, &r), COMMERCE_RETRY);
  assert_int_equal(r.http_status, 0);
  assert_true(r.message[0] != '\0');
  assert_int_equal(shop_posts(&s, "ord-8"), 1);
  assert_int_equal(shop_orders(&s), 0);
  assert_int_equal(commerce_submit(sd.client, "ord-8", sd.body, &r), COMMERCE_SUBMITTED);
  assert_int_equal(r.http_status, 201);
  assert_int_equal(shop_posts(&s, "ord-8"), 2);
  side_close(&sd);
  sim_cleanup(&s);
}

/* The answer lost after the order was recorded: the retry gets the same order back. */
static void test_drop_after_processing(void **state)
{
  struct sim s = {0};
  struct side sd;
  struct commerce_result r;
  json_t *j;
  (void)state;
  sim_run(&s, "  faults:\n    drop: {times: 1, after_processing: true}\n", NULL);
  side_open(&sd, &s, 5000);
  sd.body = make_body(&sd, "ord-9", std_lines, 1);
  assert_int_equal(commerce_submit(sd.client, "ord-9", sd.body, &r), COMMERCE_RETRY);
  assert_int_equal(r.http_status, 0);
  assert_int_equal(shop_orders(&s), 1);
  assert_int_equal(commerce_submit(sd.client, "ord-9", sd.body, &r), COMMERCE_SUBMITTED);
  assert_int_equal(r.http_status, 200);
  j = shop_state(&s);
  assert_string_equal(
      json_string_value(json_object_get(json_array_get(json_object_get(j, "orders"), 0), "id")),
      r.shop_id);
  json_decref(j);
  assert_int_equal(shop_orders(&s), 1);
  side_close(&sd);
  sim_cleanup(&s);
}

static void test_html_502(void **state)
{
  struct sim s = {0};
  struct side sd;
  struct commerce_result r;
  (void)state;
  sim_run(&s, "  faults:\n    html_error: {times: 1}\n", NULL);
  side_open(&sd, &s, 5000);
  sd.body = make_body(&sd, "ord-10", std_lines, 1);
  assert_int_equal(commerce_submit(sd.client, "ord-10", sd.body, &r), COMMERCE_RETRY);
  assert_int_equal(r.http_status, 502);
  assert_true(!strncmp(r.excerpt, "<html>", 6));
  assert_non_null(strstr(r.excerpt, "502 Bad Gateway"));
  assert_true(strlen(r.excerpt) <= COMMERCE_EXCERPT_MAX);
  assert_null(strchr(r.excerpt, '\n'));
  assert_int_equal(commerce_submit(sd.client, "ord-10", sd.body, &r), COMMERCE_SUBMITTED);
  assert_int_equal(shop_orders(&s), 1);
  side_close(&sd);
  sim_cleanup(&s);
}

/* A 201 with half a JSON object: RETRY; the retry replays the recorded order. */
static void test_truncated_json(void **state)
{
  struct sim s = {0};
  struct side sd;
  struct commerce_result r;
  (void)state;
  sim_run(&s, "  faults:\n    truncated_json: {times: 1, requests: [orders_post]}\n", NULL);
  side_open(&sd, &s, 5000);
  sd.body = make_body(&sd, "ord-11", std_lines, 1);
  assert_int_equal(commerce_submit(sd.client, "ord-11", sd.body, &r), COMMERCE_RETRY);
  assert_int_equal(r.http_status, 201);
  assert_true(!strncmp(r.excerpt, "{\"id\":\"SO-000001\"", 17));
  assert_int_equal(commerce_submit(sd.client, "ord-11", sd.body, &r), COMMERCE_SUBMITTED);
  assert_int_equal(r.http_status, 200);
  assert_string_equal(r.shop_id, "SO-000001");
  assert_int_equal(shop_orders(&s), 1);
  side_close(&sd);
  sim_cleanup(&s);
}

/*
 * A shop answer slower than the client's timeout: RETRY. The slow copy is
 * still processed after the client gave up, and the retry may come before
 * or after it: either way the shop ends with one order.
 */
static void test_timeout(void **state)
{
  struct sim s = {0};
  struct side sd;
  struct commerce_result r;
  int i;
  (void)state;
  sim_run(&s, "  faults:\n    latency: {times: 1, delay: 1500ms}\n", NULL);
  side_open(&sd, &s, 400);
  sd.body = make_body(&sd, "ord-12", std_lines, 1);
  /* given up before the answer: no status (a wait for it would be 201, submitted) */
  assert_int_equal(commerce_submit(sd.client, "ord-12", sd.body, &r), COMMERCE_RETRY);
  assert_int_equal(r.http_status, 0);
  assert_non_null(strstr(r.message, "timeout"));
  /* the shop finishes the slow request and records it; until then a retry may see 409 */
  for(i = 0; i < 20; i++) {
    sleep_ms(300);
    if(commerce_submit(sd.client, "ord-12", sd.body, &r) != COMMERCE_RETRY)
      break;
    assert_int_equal(r.http_status, 409);
  }
  assert_int_equal(r.outcome, COMMERCE_SUBMITTED);
  /* the slow first copy and the retry both reached the shop: one order all the same */
  sleep_ms(1500);
  assert_int_equal(shop_orders(&s), 1);
  assert_true(shop_posts(&s, "ord-12") >= 2);
  side_close(&sd);
  sim_cleanup(&s);
}

static void test_connection_refused(void **state)
{
  struct sim s = {0};
  struct side sd;
  struct commerce_result r;
  struct commerce_order_info oi;
  (void)state;
  sim_run(&s, "", NULL);
  side_open(&sd, &s, 2000);
  sd.body = make_body(&sd, "ord-13", std_lines, 1);
  sim_stop(&s); /* nobody listens on the port any more */
  assert_int_equal(commerce_submit(sd.client, "ord-13", sd.body, &r), COMMERCE_RETRY);
  assert_int_equal(r.http_status, 0);
  assert_int_equal(get_order(sd.client, "SO-000001", &oi), COMMERCE_LOOKUP_RETRY);
  side_close(&sd);
  sim_cleanup(&s);
}

/* 401 without or with wrong credentials (WAIT_AUTH); bearer and basic that work. */
static void test_auth(void **state)
{
  struct sim s = {0}, sb = {0};
  struct side sd;
  struct commerce_result r;
  char err[256];
  struct commerce_client *c2 = NULL;
  (void)state;
  rs_strlcpy(s.dir, "/tmp/rs-shop-XXXXXX", sizeof(s.dir));
  assert_non_null(mkdtemp(s.dir));
  write_file(s.dir, "shop.token", "s3cret-token\n", 0600);
  write_file(s.dir, "wrong.token", "not-it\n", 0600);
  sim_run(&s, "  auth: {type: bearer, token_file: shop.token}\n", NULL);
  side_open(&sd, &s, 5000);
  sd.body = make_body(&sd, "ord-14", std_lines, 1);
  assert_int_equal(commerce_submit(sd.client, "ord-14", sd.body, &r), COMMERCE_WAIT_AUTH);
  assert_int_equal(r.http_status, 401);
  commerce_client_free(sd.client);
  sd.cfg.commerce.auth = CFG_AUTH_BEARER;
  sd.cfg.commerce.token_file = "wrong.token";
  assert_int_equal(commerce_client_new(&sd.cfg, &sd.client, err, sizeof(err)), 0);
  assert_int_equal(commerce_submit(sd.client, "ord-14", sd.body, &r), COMMERCE_WAIT_AUTH);
  assert_int_equal(shop_orders(&s), 0);
  /* a missing token file is an error naming the file, at creation */
  sd.cfg.commerce.token_file = "missing.token";
  assert_int_equal(commerce_client_new(&sd.cfg, &c2, err, sizeof(err)), -1);
  assert_null(c2);
  assert_non_null(strstr(err, "missing.token"));
  sd.cfg.commerce.token_file = "shop.token";
  assert_int_equal(commerce_client_new(&sd.cfg, &c2, err, sizeof(err)), 0);
  assert_int_equal(commerce_submit(c2, "ord-14", sd.body, &r), COMMERCE_SUBMITTED);
  commerce_client_free(c2);
  side_close(&sd);
  sim_cleanup(&s);

  /* basic */
  rs_strlcpy(sb.dir, "/tmp/rs-shop-XXXXXX", sizeof(sb.dir));
  assert_non_null(mkdtemp(sb.dir));
  write_file(sb.dir, "shop.pass", "pa:ss word\n", 0600);
  sim_run(&sb, "  auth: {type: basic, username: restock, password_file: shop.pass}\n", NULL);
  side_open(&sd, &sb, 5000);
  sd.body = make_body(&sd, "ord-15", std_lines, 1);
  assert_int_equal(commerce_submit(sd.client, "ord-15", sd.body, &r), COMMERCE_WAIT_AUTH);
  commerce_client_free(sd.client);
  sd.cfg.commerce.auth = CFG_AUTH_BASIC;
  sd.cfg.commerce.username = "restock";
  sd.cfg.commerce.password_file = "shop.pass";
  assert_int_equal(commerce_client_new(&sd.cfg, &sd.client, err, sizeof(err)), 0);
  assert_int_equal(commerce_submit(sd.client, "ord-15", sd.body, &r), COMMERCE_SUBMITTED);
  assert_int_equal(shop_orders(&sb), 1);
  side_close(&sd);
  sim_cleanup(&sb);
}

static void test_unknown_sku(void **state)
{
  struct sim s = {0};
  struct side sd;
  struct commerce_result r;
  const struct commerce_line l[] = {{.sku = "FLT-100", .quantity = 1},
                                    {.sku = "NOPE-1", .quantity = 1}};
  (void)state;
  sim_run(&s, "", NULL);
  side_open(&sd, &s, 5000);
  sd.body = make_body(&sd, "ord-16", l, 2);
  assert_int_equal(commerce_submit(sd.client, "ord-16", sd.body, &r), COMMERCE_FAILED);
  assert_int_equal(r.http_status, 422);
  assert_string_equal(r.error_code, "unknown_sku");
  assert_string_equal(r.message, "lines[1].sku: unknown SKU 'NOPE-1'");
  assert_int_equal(shop_orders(&s), 0);
  side_close(&sd);
  sim_cleanup(&s);
}

/*
 * With 1 simulated day per real second and FLT-100's lead time of 3 days
 * (no jitter): accepted, shipped deliver_after (1 d) before the end of the
 * lead time (not before 2 s), delivered at the end of it (not before 3 s).
 */
static void test_status_moves_by_pace(void **state)
{
  struct sim s = {0};
  struct side sd;
  struct commerce_result r;
  struct commerce_order_info oi;
  long t0, t_ship = -1, t_deliv = -1;
  char url[320];
  (void)state;
  sim_run(&s, "  pace: {ship_after: 1d, deliver_after: 1d, jitter: 0%}\n", "86400");
  side_open(&sd, &s, 5000);
  sd.body = make_body(&sd, "ord-17", std_lines, 1);
  assert_int_equal(commerce_submit(sd.client, "ord-17", sd.body, &r), COMMERCE_SUBMITTED);
  t0 = now_ms();
  assert_int_equal(get_order(sd.client, r.shop_id, &oi), COMMERCE_LOOKUP_OK);
  assert_int_equal(oi.status, COMMERCE_ST_ACCEPTED);
  assert_string_equal(oi.tracking, "");
  while(now_ms() - t0 < 30000 && t_deliv < 0) { /* 30 s: a hang guard */
    sleep_ms(100);
    assert_int_equal(get_order(sd.client, r.shop_id, &oi), COMMERCE_LOOKUP_OK);
    if(oi.status == COMMERCE_ST_SHIPPED && t_ship < 0) {
      t_ship = now_ms() - t0;
      assert_true(oi.tracking[0] != '\0');
    }
    if(oi.status == COMMERCE_ST_DELIVERED) {
      t_deliv = now_ms() - t0;
      assert_true(t_ship >= 0); /* never skipped shipped */
    }
    if(t_ship < 0)
      assert_int_equal(oi.status, COMMERCE_ST_ACCEPTED);
  }
  /* it ships and is delivered, never before its time (2 s and 3 s after the order, less
     the 100 ms between looks); how late a loaded machine sees them is not checked */
  if(t_deliv < 0)
    fail_msg("the order hung: still %s 30 s after it was placed", oi.status_text);
  assert_true(t_ship >= 1700);
  assert_true(t_deliv >= 2700);
  assert_int_equal(get_order(sd.client, "SO-999999", &oi), COMMERCE_LOOKUP_NONE);
  /* the test-only cancel makes the order cancelled */
  snprintf(url, sizeof(url), "%s/sim/orders/%s/cancel", s.base, r.shop_id);
  assert_int_equal(raw("POST", url, NULL, "", NULL), 200);
  assert_int_equal(get_order(sd.client, r.shop_id, &oi), COMMERCE_LOOKUP_OK);
  assert_int_equal(oi.status, COMMERCE_ST_CANCELLED);
  side_close(&sd);
  sim_cleanup(&s);
}

static void test_products(void **state)
{
  struct sim s = {0};
  struct side sd;
  struct commerce_product p;
  (void)state;
  sim_run(&s, "", NULL);
  side_open(&sd, &s, 5000);
  assert_int_equal(get_product(sd.client, "FLT-100", &p), COMMERCE_LOOKUP_OK);
  assert_string_equal(p.sku, "FLT-100");
  assert_int_equal(p.unit_price, 4250);
  assert_string_equal(p.currency, "EUR");
  assert_true(p.lead_time_days == 3.0);
  assert_true(p.available);
  /* '/' and '+' in a SKU travel percent-encoded */
  assert_int_equal(get_product(sd.client, "INK/C+1", &p), COMMERCE_LOOKUP_OK);
  assert_string_equal(p.sku, "INK/C+1");
  assert_int_equal(p.unit_price, 700);
  assert_false(p.available);
  assert_int_equal(get_product(sd.client, "NOPE-1", &p), COMMERCE_LOOKUP_NONE);
  assert_int_equal(p.http_status, 404);
  side_close(&sd);
  sim_cleanup(&s);
}

/* A restarted shop keeps its orders and their keys. */
static void test_restart_keeps_orders(void **state)
{
  struct sim s = {0};
  struct side sd;
  struct commerce_result r;
  struct commerce_order_info oi;
  char id[COMMERCE_KEY_MAX + 1];
  (void)state;
  sim_run(&s, "", NULL);
  side_open(&sd, &s, 5000);
  sd.body = make_body(&sd, "ord-18", std_lines, 1);
  assert_int_equal(commerce_submit(sd.client, "ord-18", sd.body, &r), COMMERCE_SUBMITTED);
  rs_strlcpy(id, r.shop_id, sizeof(id));
  side_close(&sd);
  sim_stop(&s);
  sim_run(&s, NULL, NULL);
  side_open(&sd, &s, 5000);
  sd.body = make_body(&sd, "ord-18", std_lines, 1);
  assert_int_equal(commerce_submit(sd.client, "ord-18", sd.body, &r), COMMERCE_SUBMITTED);
  assert_int_equal(r.http_status, 200);
  assert_string_equal(r.shop_id, id);
  assert_int_equal(get_order(sd.client, id, &oi), COMMERCE_LOOKUP_OK);
  assert_int_equal(shop_orders(&s), 1);
  assert_int_equal(shop_posts(&s, "ord-18"), 2);
  side_close(&sd);
  sim_cleanup(&s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_happy_path_and_replay, kill_leftovers),
      cmocka_unit_test_teardown(test_other_body_same_key, kill_leftovers),
      cmocka_unit_test_teardown(test_raw_requests, kill_leftovers),
      cmocka_unit_test_teardown(test_in_progress_409, kill_leftovers),
      cmocka_unit_test_teardown(test_5xx_then_success, kill_leftovers),
      cmocka_unit_test_teardown(test_429_seconds, kill_leftovers),
      cmocka_unit_test_teardown(test_429_http_date, kill_leftovers),
      cmocka_unit_test_teardown(test_drop_is_one_post, kill_leftovers),
      cmocka_unit_test_teardown(test_drop_after_processing, kill_leftovers),
      cmocka_unit_test_teardown(test_html_502, kill_leftovers),
      cmocka_unit_test_teardown(test_truncated_json, kill_leftovers),
      cmocka_unit_test_teardown(test_timeout, kill_leftovers),
      cmocka_unit_test_teardown(test_connection_refused, kill_leftovers),
      cmocka_unit_test_teardown(test_auth, kill_leftovers),
      cmocka_unit_test_teardown(test_unknown_sku, kill_leftovers),
      cmocka_unit_test_teardown(test_status_moves_by_pace, kill_leftovers),
      cmocka_unit_test_teardown(test_products, kill_leftovers),
      cmocka_unit_test_teardown(test_restart_keeps_orders, kill_leftovers),
  };
  signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
