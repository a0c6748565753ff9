/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_orders: orders per second through the whole order pipeline
 * (gateway/pipeline.c: lines -> drafts -> policy -> outbox -> POST) and the
 * SQLite cost per order (fsyncs, ms), next to baselines in the same run.
 * See docs/BENCHMARKS.md, "Orders (bench/orders)".
 *
 *   bench_orders [--orders N] [--lines K] [--repeat R] [--sim PATH] [--dir DIR]
 *
 * Runs, each on a fresh database in DIR (default /tmp):
 *   A  pipeline + SQLite, in-process shop that accepts at once (no network):
 *      the pipeline's own cost; fsyncs counted by a SQLite VFS shim
 *   B  pipeline -> restock-sim over loopback (the real commerce client)
 *   C  baseline: bare libcurl POSTs of a stored-size body to the same shop,
 *      a fresh connection each (as the client does) and one reused connection
 * R times interleaved (A B C1 C2, A B C1 C2, ...); the table shows medians.
 * Then, against a second restock-sim whose order POSTs take --latency ms
 * (default 100) to answer (a distant shop), --latency-orders orders
 * (default 100), interleaved R times:
 *   D  the blocking client (no event loop): one request at a time, as
 *      restockd did before issue 13
 *   E  the client on the event loop (libcurl multi): COMMERCE_MAX_IN_FLIGHT
 *      requests in flight together, as restockd does now
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sqlite3.h>

#include "adapters/commerce.h"
#include "config/config.h"
#include "base/rs_util.h"
#include "base/clock.h"
#include "base/evloop.h"
#include "base/log.h"
#include "gateway/pipeline.h"
#include "gateway/store.h"

#ifndef RESTOCK_SIM_PATH
#define RESTOCK_SIM_PATH "restock-sim"
#endif

/* ---- a VFS shim counting xSync ---- */

static sqlite3_vfs *base_vfs;
static sqlite3_vfs shim_vfs;
static uint64_t n_sync;
static int64_t sync_ns;

struct shim_file {
  sqlite3_file base;
  sqlite3_file *real;
};

static int64_t mono_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#define REAL(f) (((struct shim_file *)(f))->real)
static int s_close(sqlite3_file *f)
{
  int rc = REAL(f)->pMethods ? REAL(f)->pMethods->xClose(REAL(f)) : SQLITE_OK;
  return rc;
}
static int s_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o)
{
  return REAL(f)->pMethods->xRead(REAL(f), b, n, o);
}
static int s_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
  return REAL(f)->pMethods->xWrite(REAL(f), b, n, o);
}
static int s_truncate(sqlite3_file *f, sqlite3_int64 n)
{
  return REAL(f)->pMethods->xTruncate(REAL(f), n);
}
static int s_sync(sqlite3_file *f, int flags)
{
  int64_t t0 = mono_ns();
  int rc = REAL(f)->pMethods->xSync(REAL(f), flags);
  sync_ns += mono_ns() - t0;
  n_sync++;
  return rc;
}
static int s_size(sqlite3_file *f, sqlite3_int64 *n)
{
  return REAL(f)->pMethods->xFileSize(REAL(f), n);
}
static int s_lock(sqlite3_file *f, int l)
{
  return REAL(f)->pMethods->xLock(REAL(f), l);
}
static int s_unlock(sqlite3_file *f, int l)
{
  return REAL(f)->pMethods->xUnlock(REAL(f), l);
}
static int s_reserved(sqlite3_file *f, int *r)
{
  return REAL(f)->pMethods->xCheckReservedLock(REAL(f), r);
}
static int s_fcntl(sqlite3_file *f, int op, void *a)
{
  return REAL(f)->pMethods->xFileControl(REAL(f), op, a);
}
static int s_sector(sqlite3_file *f)
{
  return REAL(f)->pMethods->xSectorSize(REAL(f));
}
static int s_devchar(sqlite3_file *f)
{
  return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int s_shmmap(sqlite3_file *f, int pg, int sz, int ext, void volatile **pp)
{
  return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, ext, pp);
}
static int s_shmlock(sqlite3_file *f, int off, int n, int flags)
{
  return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void s_shmbarrier(sqlite3_file *f)
{
  REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int s_shmunmap(sqlite3_file *f, int del)
{
  return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}
static int s_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **pp)
{
  return REAL(f)->pMethods->xFetch(REAL(f), o, n, pp);
}
static int s_unfetch(sqlite3_file *f, sqlite3_int64 o, void *p)
{
  return REAL(f)->pMethods->xUnfetch(REAL(f), o, p);
}

static const sqlite3_io_methods shim_io = {
    3,         s_close,      s_read,     s_write, s_truncate, s_sync,    s_size,
    s_lock,    s_unlock,     s_reserved, s_fcntl, s_sector,   s_devchar, s_shmmap,
    s_shmlock, s_shmbarrier, s_shmunmap, s_fetch, s_unfetch,
};

static int shim_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
  struct shim_file *sf = (struct shim_file *)f;
  int rc;
  (void)vfs;
  sf->real = (sqlite3_file *)(sf + 1);
  rc = base_vfs->xOpen(base_vfs, name, sf->real, flags, out);
  sf->base.pMethods = sf->real->pMethods ? &shim_io : NULL;
  return rc;
}

static void shim_install(void)
{
  base_vfs = sqlite3_vfs_find(NULL);
  shim_vfs = *base_vfs;
  shim_vfs.zName = "bench-sync-counter";
  shim_vfs.szOsFile = (int)sizeof(struct shim_file) + base_vfs->szOsFile;
  shim_vfs.xOpen = shim_open;
  sqlite3_vfs_register(&shim_vfs, 1);
}

/* ---- the scene ---- */

static const char yaml_fmt[] =
    "gateway: {id: bench-gw}\n"
    "storage: {path: /nonexistent/bench.db}\n"
    "commerce:\n"
    "  base_url: http://127.0.0.1:%u/api/v1\n"
    "  timeout: 10s\n"
    "  customer_id: C-1042\n"
    "  ship_to: {name: Plant 7 stores, street: Hafenstrasse 1, city: Bremen, postcode: \"28195\","
    " country: DE}\n"
    "orders:\n"
    "  currency: EUR\n"
    "  batching: {window: 24h, max_lines: %ld}\n"
    "catalog:\n"
    "  - {sku: FLT-100, supplier: acme, unit_price: \"42.50\", currency: EUR, lead_time: 3d}\n"
    "suppliers:\n"
    "  - {id: acme}\n";

static double ms_since(int64_t t0)
{
  return (double)(mono_ns() - t0) / 1e6;
}

static struct cfg *make_cfg(unsigned port, long lines_per_order)
{
  char yaml[2048];
  struct cfg_file_buf f;
  struct cfg_diags d = {0};
  struct cfg *cfg = NULL;
  snprintf(yaml, sizeof(yaml), yaml_fmt, port, lines_per_order);
  f.name = "restock.yaml";
  f.data = yaml;
  f.len = strlen(yaml);
  if(cfg_load_buffers("/tmp", &f, 1, &cfg, &d)) {
    cfg_diags_print(&d, stderr);
    exit(1);
  }
  cfg_diags_free(&d);
  return cfg;
}

static enum commerce_outcome instant_submit(void *ctx, const char *id, const char *body,
                                            struct commerce_result *r)
{
  unsigned *seq = ctx;
  (void)id;
  (void)body;
  memset(r, 0, sizeof(*r));
  r->outcome = COMMERCE_SUBMITTED;
  r->http_status = 201;
  r->retry_after_ms = -1;
  snprintf(r->shop_id, sizeof(r->shop_id), "SO-%06u", ++*seq);
  rs_strlcpy(r->shop_status, "accepted", sizeof(r->shop_status));
  return r->outcome;
}

static enum commerce_lookup accepted_get(void *ctx, const char *shop_id,
                                         struct commerce_order_info *out)
{
  (void)ctx;
  memset(out, 0, sizeof(*out));
  out->http_status = 200;
  rs_strlcpy(out->id, shop_id, sizeof(out->id));
  out->status = COMMERCE_ST_ACCEPTED;
  return COMMERCE_LOOKUP_OK;
}

static int count_cb(void *ud, const struct store_order *o)
{
  size_t *n = ud;
  (void)o;
  (*n)++;
  return 0;
}

struct result {
  double lines_ms;    /* making the lines */
  double pipeline_ms; /* ticks until every order is submitted */
  uint64_t syncs;     /* during the ticks */
  double sync_ms;
  size_t orders;
};

/* One pipeline run on a fresh database: n_lines urgent lines, ticks until all submitted. */
static void run_pipeline(const char *dir, const char *tag, struct cfg *cfg, bool instant,
                         bool on_loop, long n_lines, struct result *res)
{
  struct evloop *loop = on_loop ? evloop_new() : NULL;
  char db[256], err[256], cmd[900];
  struct store *st = NULL;
  struct pipeline *p;
  unsigned seq = 0;
  int64_t t0, now;
  long i;
  size_t left = 1;

  memset(res, 0, sizeof(*res));
  snprintf(db, sizeof(db), "%s/bench-orders-%s.db", dir, tag);
  snprintf(cmd, sizeof(cmd), "rm -f '%s' '%s-wal' '%s-shm'", db, db, db);
  if(system(cmd))
    exit(1);
  if(store_open(db, &st, err, sizeof(err))) {
    fprintf(stderr, "bench: %s\n", err);
    exit(1);
  }
  t0 = mono_ns();
  for(i = 0; i < n_lines; i++) {
    struct store_order_line l;
    char cons[32];
    snprintf(cons, sizeof(cons), "bench/c%06ld", i);
    memset(&l, 0, sizeof(l));
    l.consumable = cons;
    l.sku = (char *)"FLT-100";
    l.quantity = 1;
    l.unit_price = 4250;
    rs_strlcpy(l.currency, "EUR", sizeof(l.currency));
    l.need_by_ms = clock_real_wall_ms();
    l.created_ms = clock_real_wall_ms();
    if(store_add_order_line(st, &l, NULL)) {
      fprintf(stderr, "bench: %s\n", store_errmsg(st));
      exit(1);
    }
  }
  res->lines_ms = ms_since(t0);
  p = pipeline_new(st);
  pipeline_set_backoff(p, 10, 200);
  pipeline_set_online(p, true);
  if(loop)
    pipeline_set_loop(p, loop);
  if(instant) {
    struct pipeline_shop_ops ops = {&seq, instant_submit, accepted_get, NULL};
    pipeline_set_shop(p, &ops);
  }
  n_sync = 0;
  sync_ns = 0;
  t0 = mono_ns();
  while(left) {
    now = clock_real_wall_ms();
    (void)pipeline_tick(p, cfg, now);
    left = 0;
    (void)store_list_orders(st, true, STORE_ORDER_APPROVED, 0, count_cb, &left);
    (void)store_list_orders(st, true, STORE_ORDER_DRAFT, 0, count_cb, &left);
    if(left && loop) {
      /* wait for answers (the next tick is due when one came) or 1 ms */
      int64_t due = pipeline_next_due(p), wait = due == INT64_MAX ? 50 : due - clock_real_wall_ms();
      (void)evloop_turn(loop, wait < 0 ? 0 : wait > 50 ? 50 : wait);
    }
    else if(left) {
      struct timespec ts = {0, 1000000};
      nanosleep(&ts, NULL);
    }
    if(ms_since(t0) > 600000) {
      fprintf(stderr, "bench: not done in 10 minutes\n");
      exit(1);
    }
  }
  res->pipeline_ms = ms_since(t0);
  res->syncs = n_sync;
  res->sync_ms = (double)sync_ns / 1e6;
  (void)store_list_orders(st, true, STORE_ORDER_SUBMITTED, 0, count_cb, &res->orders);
  pipeline_free(p);
  evloop_free(loop);
  store_close(st);
  snprintf(cmd, sizeof(cmd), "rm -f '%s' '%s-wal' '%s-shm'", db, db, db);
  if(system(cmd))
    exit(1);
}

/* ---- the shop ---- */

struct sim {
  pid_t pid;
  char dir[64];
};

/* Start restock-sim's shop; latency_ms > 0: every order POST answers that much later. */
static unsigned sim_start(const char *path, long latency_ms, struct sim *sm)
{
  char cfgp[128], buf[512];
  size_t len = 0;
  int fds[2];
  FILE *f;
  unsigned port = 0;
  rs_strlcpy(sm->dir, "/tmp/bench-orders-shop-XXXXXX", sizeof(sm->dir));
  if(!mkdtemp(sm->dir))
    exit(1);
  snprintf(cfgp, sizeof(cfgp), "%s/sim.yaml", sm->dir);
  f = fopen(cfgp, "w");
  if(!f)
    exit(1);
  fputs("shop:\n  listen: 127.0.0.1:0\n  db: shop.db\n  products:\n"
        "    - {sku: FLT-100, unit_price: \"42.50\", currency: EUR, lead_time_days: 3}\n",
        f);
  if(latency_ms > 0)
    fprintf(f,
            "  faults:\n    latency: {probability: 1.0, delay: %ldms, requests: [orders_post]}\n",
            latency_ms);
  fclose(f);
  if(pipe(fds))
    exit(1);
  sm->pid = fork();
  if(sm->pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execl(path, "restock-sim", "--config", cfgp, "--log-level", "error", (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  while(!port && len < sizeof(buf) - 1) {
    struct pollfd pf = {fds[0], POLLIN, 0};
    const char *at;
    ssize_t n;
    if(poll(&pf, 1, 10000) <= 0)
      break;
    n = read(fds[0], buf + len, sizeof(buf) - 1 - len);
    if(n <= 0)
      break;
    len += (size_t)n;
    buf[len] = '\0';
    if((at = strstr(buf, "listening on http://127.0.0.1:")) && strchr(at, '\n'))
      port = (unsigned)strtoul(at + 30, NULL, 10);
  }
  close(fds[0]);
  if(!port) {
    fprintf(stderr, "bench: restock-sim (%s) did not start\n", path);
    exit(1);
  }
  return port;
}

static void sim_stop(struct sim *sm)
{
  char cmd[128];
  if(sm->pid > 0) {
    kill(sm->pid, SIGTERM);
    waitpid(sm->pid, NULL, 0);
  }
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sm->dir);
  if(system(cmd))
    fprintf(stderr, "bench: cannot remove %s\n", sm->dir);
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
  (void)p;
  (void)u;
  return s * n;
}

/* n bare POSTs with fresh keys; returns ms. fresh: a new connection each. */
static double curl_posts(unsigned port, const struct cfg *cfg, long n, long lines, bool fresh,
                         const char *tag)
{
  char url[128], hdr[128];
  CURL *h = curl_easy_init();
  int64_t t0;
  long i, status = 0;
  struct commerce_line *cl = rs_xcalloc((size_t)lines, sizeof(*cl));
  for(i = 0; i < lines; i++) {
    cl[i].sku = "FLT-100";
    cl[i].quantity = 1;
    cl[i].has_unit_price = true;
    cl[i].unit_price = 4250;
  }
  snprintf(url, sizeof(url), "http://127.0.0.1:%u/api/v1/orders", port);
  t0 = mono_ns();
  for(i = 0; i < n; i++) {
    struct curl_slist *hd = NULL;
    char id[64], err[128], *body = NULL;
    struct commerce_order o;
    snprintf(id, sizeof(id), "base-%s-%06ld", tag, i);
    o.id = id;
    o.currency = "EUR";
    o.lines = cl;
    o.n_lines = (size_t)lines;
    if(commerce_build_body(cfg, &o, &body, err, sizeof(err)))
      exit(1);
    snprintf(hdr, sizeof(hdr), "Idempotency-Key: %s", id);
    hd = curl_slist_append(hd, hdr);
    hd = curl_slist_append(hd, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, fresh ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, fresh ? 1L : 0L);
    if(curl_easy_perform(h) != CURLE_OK ||
       curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 201) {
      fprintf(stderr, "bench: baseline POST failed (HTTP %ld)\n", status);
      exit(1);
    }
    curl_slist_free_all(hd);
    free(body);
  }
  free(cl);
  curl_easy_cleanup(h);
  return ms_since(t0);
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
  qsort(v, (size_t)n, sizeof(*v), cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define MAX_REPEAT 25

int main(int argc, char **argv)
{
  long orders = 500, lines = 2, latency = 100, lat_orders = 100;
  int repeat = 5, r, i;
  double d_ms[MAX_REPEAT], e_ms[MAX_REPEAT];
  struct sim sim_fast, sim_slow;
  struct cfg *cfg_slow;
  unsigned port_slow;
  const char *sim = RESTOCK_SIM_PATH, *dir = "/tmp";
  double a_ms[MAX_REPEAT], b_ms[MAX_REPEAT], c1_ms[MAX_REPEAT], c2_ms[MAX_REPEAT];
  double a_sync[MAX_REPEAT], b_sync[MAX_REPEAT], a_sms[MAX_REPEAT], b_sms[MAX_REPEAT];
  double line_ms[MAX_REPEAT];
  struct result a, b;
  struct cfg *cfg;
  unsigned port;
  bool ok = true;
  for(i = 1; i < argc; i++) {
    int64_t v;
    if(!strcmp(argv[i], "--orders") && i + 1 < argc &&
       !rs_parse_i64(argv[i + 1], false, 1, 1000000, &v)) {
      orders = (long)v;
      i++;
    }
    else if(!strcmp(argv[i], "--lines") && i + 1 < argc &&
            !rs_parse_i64(argv[i + 1], false, 1, 100, &v)) {
      lines = (long)v;
      i++;
    }
    else if(!strcmp(argv[i], "--repeat") && i + 1 < argc &&
            !rs_parse_i64(argv[i + 1], false, 1, MAX_REPEAT, &v)) {
      repeat = (int)v;
      i++;
    }
    else if(!strcmp(argv[i], "--latency") && i + 1 < argc &&
            !rs_parse_i64(argv[i + 1], false, 0, 10000, &v)) {
      latency = (long)v;
      i++;
    }
    else if(!strcmp(argv[i], "--latency-orders") && i + 1 < argc &&
            !rs_parse_i64(argv[i + 1], false, 1, 100000, &v)) {
      lat_orders = (long)v;
      i++;
    }
    else if(!strcmp(argv[i], "--sim") && i + 1 < argc)
      sim = argv[++i];
    else if(!strcmp(argv[i], "--dir") && i + 1 < argc)
      dir = argv[++i];
    else {
      fprintf(stderr, "usage: bench_orders [--orders N] [--lines K] [--repeat R] [--latency MS] "
                      "[--latency-orders N] [--sim PATH] [--dir DIR]\n");
      return 2;
    }
  }
  log_set_level(LOG_LVL_ERR);
  signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  shim_install();
  port = sim_start(sim, 0, &sim_fast);
  cfg = make_cfg(port, lines);
  port_slow = sim_start(sim, latency, &sim_slow);
  cfg_slow = make_cfg(port_slow, lines);

  printf("bench_orders: %ld orders of %ld line%s each, %d runs, database in %s, restock-sim on "
         "port %u\n",
         orders, lines, lines == 1 ? "" : "s", repeat, dir, port);
  for(r = 0; r < repeat; r++) {
    char tag[32];
    run_pipeline(dir, "a", cfg, true, false, orders * lines, &a);
    run_pipeline(dir, "b", cfg, false, false, orders * lines, &b);
    ok = ok && a.orders == (size_t)orders && b.orders == (size_t)orders;
    a_ms[r] = a.pipeline_ms / (double)a.orders;
    b_ms[r] = b.pipeline_ms / (double)b.orders;
    a_sync[r] = (double)a.syncs / (double)a.orders;
    b_sync[r] = (double)b.syncs / (double)b.orders;
    a_sms[r] = a.sync_ms / (double)a.orders;
    b_sms[r] = b.sync_ms / (double)b.orders;
    line_ms[r] = a.lines_ms / (double)(orders * lines);
    snprintf(tag, sizeof(tag), "fresh%d", r);
    c1_ms[r] = curl_posts(port, cfg, orders, lines, true, tag) / (double)orders;
    snprintf(tag, sizeof(tag), "reuse%d", r);
    c2_ms[r] = curl_posts(port, cfg, orders, lines, false, tag) / (double)orders;
    printf("run %d: A %.3f  B %.3f  C1 %.3f  C2 %.3f ms/order\n", r + 1, a_ms[r], b_ms[r], c1_ms[r],
           c2_ms[r]);
  }
  {
    double am = median(a_ms, repeat), bm = median(b_ms, repeat), c1 = median(c1_ms, repeat),
           c2 = median(c2_ms, repeat);
    printf("\nmedians of %d runs:\n\n", repeat);
    printf("| run | orders/s | ms/order | fsyncs/order | fsync ms/order |\n");
    printf("|---|---|---|---|---|\n");
    printf("| A pipeline + SQLite, in-process shop (no network) | %.0f | %.3f | %.2f | %.3f |\n",
           1000.0 / am, am, median(a_sync, repeat), median(a_sms, repeat));
    printf("| B pipeline -> restock-sim (commerce client) | %.0f | %.3f | %.2f | %.3f |\n",
           1000.0 / bm, bm, median(b_sync, repeat), median(b_sms, repeat));
    printf("| C1 bare libcurl POST, fresh connection each | %.0f | %.3f | - | - |\n", 1000.0 / c1,
           c1);
    printf("| C2 bare libcurl POST, one reused connection | %.0f | %.3f | - | - |\n", 1000.0 / c2,
           c2);
    printf("\nmaking a line (store_add_order_line, before the ticks): %.3f ms\n",
           median(line_ms, repeat));
    printf("B - A (the shop round trips of one order): %.3f ms; B - C1: %.3f ms\n", bm - am,
           bm - c1);
  }
  printf("\nagainst a shop answering order POSTs after %ld ms: %ld orders of %ld line%s, %d "
         "runs\n",
         latency, lat_orders, lines, lines == 1 ? "" : "s", repeat);
  for(r = 0; r < repeat; r++) {
    struct result d, e;
    run_pipeline(dir, "d", cfg_slow, false, false, lat_orders * lines, &d);
    run_pipeline(dir, "e", cfg_slow, false, true, lat_orders * lines, &e);
    ok = ok && d.orders == (size_t)lat_orders && e.orders == (size_t)lat_orders;
    d_ms[r] = d.pipeline_ms / (double)d.orders;
    e_ms[r] = e.pipeline_ms / (double)e.orders;
    printf("run %d: D %.3f  E %.3f ms/order\n", r + 1, d_ms[r], e_ms[r]);
  }
  {
    double dm = median(d_ms, repeat), em = median(e_ms, repeat);
    printf("\n| run (shop latency %ld ms) | orders/s | ms/order |\n|---|---|---|\n", latency);
    printf("| D sequential: blocking client, one request at a time | %.1f | %.1f |\n",
           1000.0 / dm, dm);
    printf("| E event loop: libcurl multi, %d in flight | %.1f | %.1f |\n",
           COMMERCE_MAX_IN_FLIGHT, 1000.0 / em, em);
  }
  cfg_free(cfg_slow);
  sim_stop(&sim_slow);
  cfg_free(cfg);
  sim_stop(&sim_fast);
  curl_global_cleanup();
  return ok ? 0 : 1;
}
