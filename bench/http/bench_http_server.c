/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_http_server [PORT [SECONDS]]: restock's HTTP server (gateway/http.c)
 * over a generated plant of BENCH_DEVICES devices x BENCH_PER_DEVICE level
 * consumables (1,000), served on 127.0.0.1:PORT (0: any free port) from this
 * process's own epoll loop, the way restockd's main loop drives it.
 *
 * At start it writes a config dir (restock.yaml with a catalog, one devices
 * file) into a temp dir, opens a temp SQLite store there, builds a daemon
 * core with the in-process fake adapter (tests/fake_adapter.c: every point
 * plays a slowly falling level) on a virtual clock, and polls one round an
 * hour for two days so every consumable has a level, a rate and a
 * prediction; three open orders
 * go into the store. While serving, the virtual clock follows real time and
 * the core keeps polling (poll_interval 10s: 10 device polls, 100 readings a
 * second), so the status document changes as it would in service.
 *
 * Prints "ready PORT CONSUMABLES DIR" on stdout once it serves; stops on
 * SIGTERM/SIGINT or after SECONDS (default 900), removes the temp dir and
 * exits 0. Everything is on 127.0.0.1.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "base/rs_util.h"
#include "base/clock.h"
#include "gateway/daemon.h"
#include "gateway/web/http.h"
#include "base/log.h"
#include "gateway/scheduler.h"
#include "gateway/store.h"
#include "tests/fake_adapter.h"

#define BENCH_DEVICES    100
#define BENCH_PER_DEVICE 10
#define BENCH_N          (BENCH_DEVICES * BENCH_PER_DEVICE)
#define STEP_MS          10000 /* poll interval and fake series step */
#define WARMUP_POLLS     48    /* one round an hour: two days of history */
#define WARMUP_STEP_MS   3600000
#define SERIES_LEN       (2 * 8640 + 8640) /* values per series: 3 days at one per 10 s */

#define TAG_HTTP   1u
#define TAG_SIGNAL 2u

struct bench {
  char dir[64];
  struct store *st;
  struct rs_clock *clk;
  struct daemon_core *core;
  struct http_server *srv;
  struct fake_plant plant;
  struct fake_series series[BENCH_N];
  char names[BENCH_N][2][16]; /* device and point id of each series */
  double *values;             /* SERIES_LEN + BENCH_N: series k starts at offset k */
};

/*
 * The admin credential run.sh decides with (user admin, password "correct
 * horse": the hash of tests/fixtures/http/admin.hash.txt). Without
 * http.admin no HTTP request decides (SPEC 11).
 */
static const char ADMIN_HASH[] = "$6$restockhttptest$99zfKbE1EQ2zTAw79bENn271/TaObzjitjqHlUEV/"
                                 "m0DXhRFLKANldwcUdGHJdFCE7O6mL7uqs5dywcIyaQxg.\n";

/* Write the generated config into b->dir. 0, or -1 with a message on stderr. */
static int write_config(const struct bench *b)
{
  char path[128];
  FILE *f;
  int d, k, fd;

  if(rs_snprintf(path, sizeof(path), "%s/admin.hash", b->dir))
    return -1;
  fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
  if(fd < 0 || write(fd, ADMIN_HASH, sizeof(ADMIN_HASH) - 1) != (ssize_t)(sizeof(ADMIN_HASH) - 1)) {
    if(fd >= 0)
      close(fd);
    goto fail;
  }
  if(close(fd))
    goto fail;

  if(rs_snprintf(path, sizeof(path), "%s/restock.yaml", b->dir))
    return -1;
  f = fopen(path, "w");
  if(!f)
    goto fail;
  fprintf(f,
          "# SPDX-License-Identifier: Apache-2.0\n"
          "gateway: {id: bench-gw, site: bench}\n"
          "http:\n  listen: 127.0.0.1:8080\n  allowed_hosts: [127.0.0.1, localhost]\n"
          "  admin: {user: admin, password_hash_file: admin.hash}\n"
          "storage: {path: %s/restock.db, deadband: 0.1%%, heartbeat: 1h}\n"
          "orders: {currency: EUR}\n"
          "suppliers:\n  - {id: acme}\ncatalog:\n",
          b->dir);
  for(k = 0; k < BENCH_PER_DEVICE; k++)
    fprintf(f,
            "  - {sku: BENCH-%d, supplier: acme, description: \"Bench filter %d\", "
            "unit_price: \"%d.50\", currency: EUR, lead_time: 3d}\n",
            k, k, 10 + k);
  if(fclose(f))
    goto fail;

  if(rs_snprintf(path, sizeof(path), "%s/devices.d", b->dir) || mkdir(path, 0700))
    goto fail;
  if(rs_snprintf(path, sizeof(path), "%s/devices.d/bench.yaml", b->dir))
    return -1;
  f = fopen(path, "w");
  if(!f)
    goto fail;
  fprintf(f, "# SPDX-License-Identifier: Apache-2.0\ndevices:\n");
  for(d = 0; d < BENCH_DEVICES; d++) {
    fprintf(f,
            "  - id: dev-%03d\n"
            "    transport: {type: modbus-tcp, host: 127.0.0.1, port: %d}\n"
            "    poll_interval: 10s\n    points:\n",
            d, 20000 + d);
    for(k = 0; k < BENCH_PER_DEVICE; k++)
      fprintf(f, "      - {id: p%d, register: holding, address: %d, type: uint16, unit: \"%%\"}\n",
              k, k);
    fprintf(f, "    consumables:\n");
    for(k = 0; k < BENCH_PER_DEVICE; k++)
      fprintf(f,
              "      - {id: filter-%d, sku: BENCH-%d, kind: filter, spares: %d, "
              "level: {point: p%d, full: 100, empty: 0}}\n",
              k, k, k % 3, k);
  }
  if(fclose(f))
    goto fail;
  return 0;
fail:
  fprintf(stderr, "bench_http_server: %s: %s\n", path, strerror(errno));
  return -1;
}

/*
 * The fake plant: consumable k of every device starts at 95 - 6.5 k % and
 * falls by (1 + 0.2 k) % a day (device d a few steps further along), so
 * levels, rates and days_left differ and none is low enough to order.
 */
static void make_plant(struct bench *b, int64_t t0)
{
  size_t i, len = (size_t)SERIES_LEN + BENCH_DEVICES;
  int d, k;
  b->values = rs_xcalloc(len * BENCH_PER_DEVICE, sizeof(double));
  for(k = 0; k < BENCH_PER_DEVICE; k++) {
    double per_step = (1.0 + 0.2 * k) / (86400000.0 / STEP_MS);
    for(i = 0; i < len; i++)
      b->values[(size_t)k * len + i] = 95.0 - 6.5 * k - per_step * (double)i;
  }
  for(d = 0; d < BENCH_DEVICES; d++)
    for(k = 0; k < BENCH_PER_DEVICE; k++) {
      size_t s = (size_t)(d * BENCH_PER_DEVICE + k);
      (void)rs_snprintf(b->names[s][0], sizeof(b->names[s][0]), "dev-%03d", d);
      (void)rs_snprintf(b->names[s][1], sizeof(b->names[s][1]), "p%d", k);
      b->series[s].device = b->names[s][0];
      b->series[s].point = b->names[s][1];
      b->series[s].values = b->values + (size_t)k * len + (size_t)d;
      b->series[s].n = SERIES_LEN;
    }
  b->plant.series = b->series;
  b->plant.n_series = BENCH_N;
  b->plant.t0_ms = t0;
  b->plant.step_ms = STEP_MS;
}

/* Three open orders (one pending approval), as a gateway in service has. */
static int make_orders(struct bench *b)
{
  char id[STORE_ORDER_ID_MAX + 1];
  int64_t now = clock_wall_ms(b->clk);
  int i;
  for(i = 0; i < 3; i++) {
    struct store_order_line l;
    int64_t line = 0;
    char cons[64];
    memset(&l, 0, sizeof(l));
    (void)rs_snprintf(cons, sizeof(cons), "dev-%03d/filter-%d", i, i);
    l.consumable = cons;
    l.sku = (char *)(uintptr_t)(i == 0 ? "BENCH-0" : i == 1 ? "BENCH-1" : "BENCH-2");
    l.quantity = 2;
    l.unit_price = 1050 + 100 * i;
    memcpy(l.currency, "EUR", 4);
    l.created_ms = now;
    if(store_create_order(b->st, "acme", "EUR", 2 * l.unit_price, now, "system", "batch opened", id,
                          sizeof(id)) ||
       store_add_order_line(b->st, &l, &line) || store_attach_line(b->st, line, id))
      return -1;
    if(i == 0 && store_transition_order(b->st, id, STORE_ORDER_DRAFT, STORE_ORDER_PENDING_APPROVAL,
                                        "system", "total over the approval limit", now))
      return -1;
  }
  return 0;
}

static int open_plant(struct bench *b)
{
  struct cfg *cfg = NULL;
  struct cfg_diags diags = {0};
  char db[128], err[256];
  int nerr, i;
  int64_t t0;

  if(rs_strlcpy(b->dir, "/tmp/restock-bench-http-XXXXXX", sizeof(b->dir)) || !mkdtemp(b->dir)) {
    fprintf(stderr, "bench_http_server: mkdtemp: %s\n", strerror(errno));
    return -1;
  }
  if(write_config(b))
    return -1;
  nerr = cfg_load(b->dir, &cfg, &diags);
  if(nerr) {
    cfg_diags_print(&diags, stderr);
    cfg_diags_free(&diags);
    return -1;
  }
  cfg_diags_free(&diags);
  if(rs_snprintf(db, sizeof(db), "%s/restock.db", b->dir) ||
     store_open(db, &b->st, err, sizeof(err))) {
    fprintf(stderr, "bench_http_server: store: %s\n", err);
    cfg_free(cfg);
    return -1;
  }
  /* the warm-up polls happen in the past so that "now" ends at real time */
  t0 = clock_real_wall_ms() - (int64_t)WARMUP_POLLS * WARMUP_STEP_MS;
  b->clk = clock_new_virtual(t0);
  if(!b->clk) {
    cfg_free(cfg);
    return -1;
  }
  make_plant(b, t0);
  b->core = daemon_core_new(cfg, b->st, b->clk, fake_adapter_lookup, &b->plant);
  if(!b->core)
    return -1;
  for(i = 0; i < WARMUP_POLLS; i++) {
    (void)daemon_core_step(b->core);
    clock_advance(b->clk, WARMUP_STEP_MS);
  }
  (void)daemon_core_step(b->core);
  return make_orders(b);
}

static void close_plant(struct bench *b)
{
  char cmd[128];
  http_server_stop(b->srv);
  daemon_core_free(b->core);
  store_close(b->st);
  clock_free(b->clk);
  free(b->values);
  if(b->dir[0] && !rs_snprintf(cmd, sizeof(cmd), "rm -rf '%s'", b->dir))
    (void)!system(cmd);
}

/* The loop: restockd's shape (core step, HTTP timeout, epoll, HTTP run). */
static int serve(struct bench *b, int64_t seconds)
{
  struct epoll_event ev;
  sigset_t mask;
  int ep = -1, sfd = -1, rc = 1;
  int64_t end = clock_real_mono_ms() + seconds * 1000, last = clock_real_mono_ms();
  bool stop = false;

  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  if(sigprocmask(SIG_BLOCK, &mask, NULL))
    goto out;
  sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  ep = epoll_create1(EPOLL_CLOEXEC);
  if(sfd < 0 || ep < 0)
    goto out;
  memset(&ev, 0, sizeof(ev));
  ev.events = EPOLLIN;
  ev.data.u64 = TAG_HTTP;
  if(epoll_ctl(ep, EPOLL_CTL_ADD, http_server_fd(b->srv), &ev))
    goto out;
  ev.data.u64 = TAG_SIGNAL;
  if(epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev))
    goto out;
  daemon_core_attach_epoll(b->core, ep);

  while(!stop && clock_real_mono_ms() < end) {
    struct epoll_event evs[16];
    int64_t now = clock_real_mono_ms(), next, wait_ms, hto;
    int n, k;
    clock_advance(b->clk, now - last); /* the virtual clock follows real time */
    last = now;
    next = daemon_core_step(b->core);
    wait_ms = next - clock_mono_ms(b->clk);
    if(wait_ms < 0)
      wait_ms = 0;
    hto = http_server_timeout_ms(b->srv);
    if(hto < wait_ms)
      wait_ms = hto;
    n = epoll_wait(ep, evs, (int)RS_ARRAY_LEN(evs), (int)wait_ms);
    if(n < 0 && errno != EINTR)
      goto out;
    for(k = 0; k < n; k++) {
      uint64_t tag = evs[k].data.u64;
      if(tag & SCHEDULER_EPOLL_TAG)
        daemon_core_on_event(b->core, tag);
      else if(tag == TAG_SIGNAL)
        stop = true;
    }
    http_server_run(b->srv);
  }
  rc = 0;
out:
  if(rc)
    fprintf(stderr, "bench_http_server: main loop: %s\n", strerror(errno));
  if(ep >= 0)
    close(ep);
  if(sfd >= 0)
    close(sfd);
  return rc;
}

int main(int argc, char **argv)
{
  static struct bench b;
  struct http_env he;
  char err[256], listen[64];
  int64_t port = 0, seconds = 900;
  int rc = 1;

  if(argc > 3 || (argc >= 2 && rs_parse_i64(argv[1], false, 0, 65535, &port)) ||
     (argc == 3 && rs_parse_i64(argv[2], false, 1, 86400, &seconds))) {
    fprintf(stderr, "usage: bench_http_server [PORT [SECONDS]]\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  log_set_level(LOG_LVL_ERR);
  clock_trust_all_times(true); /* the warm-up's timeline starts two days ago */
  if(open_plant(&b))
    goto out;
  memset(&he, 0, sizeof(he));
  daemon_core_http_view(b.core, &he.core);
  he.st = b.st;
  he.clk = b.clk;
  (void)rs_snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned)port);
  he.listen = listen;
  /* wrk's 32 connections all come from 127.0.0.1: as many from one client as in
   * total, like the bare baseline (restockd's default is HTTP_CONN_PER_CLIENT) */
  he.conn_per_client = HTTP_CONN_LIMIT;
  b.srv = http_server_start(&he, err, sizeof(err));
  if(!b.srv) {
    fprintf(stderr, "bench_http_server: %s\n", err);
    goto out;
  }
  printf("ready %u %zu %s\n", (unsigned)http_server_port(b.srv),
         daemon_core_config(b.core)->n_consumables, b.dir);
  fflush(stdout);
  rc = serve(&b, seconds);
out:
  close_plant(&b);
  return rc;
}
