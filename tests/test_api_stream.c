/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The streamed documents (gateway/web/api.h api_stream_*, metrics.h
 * metrics_stream_*): what a client of /api/v1/consumables, /api/v1/devices,
 * /api/v1/status and /metrics reads is, byte for byte, the document this
 * test builds whole with jansson from the per-item builders (ref_list(),
 * ref_status(): the reference lives here, the product only streams), and
 * /metrics the same text whether it comes in many parts or at once; and a
 * stream still reads its config after the daemon dropped it (a reload
 * while an answer is being sent). The dashboard (html_dashboard_stream)
 * read in parts is one whole page with every row in the order asked for.
 *
 * Real config loader, real SQLite store in a temp dir, real reading path
 * and scheduler (no adapter: its devices are listed, never polled).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/clock.h"
#include "base/rs_util.h"
#include "config/config.h"
#include "gateway/reading.h"
#include "gateway/scheduler.h"
#include "gateway/store.h"
#include "gateway/web/api.h"
#include "gateway/web/html.h"
#include "gateway/web/metrics.h"
#include "gateway/web/status.h"
#include "tests/fake_adapter.h"

#define T0      1830000000000LL /* 2027-12-28: after the build date (the clock check) */
#define N_DEV   4
#define N_CONS  30 /* per device: the documents are several parts long (~16 KiB a part) */

static const char restock_yaml[] =
    "gateway: {id: gw}\n"
    "orders: {currency: EUR}\n"
    "catalog:\n"
    "  - {sku: F-1, supplier: acme, unit_price: \"10.00\", currency: EUR, lead_time: 3d}\n"
    "suppliers: [{id: acme}]\n"
    /* T0 is inside the first closed period: the status's gateway.next_closed names it */
    "calendar:\n"
    "  closed:\n"
    "    - {from: 2028-07-10, to: 2028-07-14}\n"
    "    - {from: 2027-12-24, to: 2028-01-02, name: year end}\n";

struct env {
  char dir[64];
  struct cfg *cfg;
  struct store *st;
  struct reading_path *rp;
  struct scheduler *sched;
  struct rs_buf devices_yaml;
};

/* env_open() with ncons consumables per device and hours of readings (see N_CONS). */
static void env_open_n(struct env *e, int ncons, int hours)
{
  struct cfg_file_buf files[2];
  struct cfg_diags diags = {0};
  char db[128], err[256];
  int nerr, d, c;
  int64_t t;

  memset(e, 0, sizeof(*e));
  rs_buf_puts(&e->devices_yaml, "devices:\n");
  for(d = 0; d < N_DEV; d++) {
    rs_buf_printf(&e->devices_yaml,
                  "  - id: m%d\n    transport: {type: modbus-tcp, host: 127.0.0.1, port: %d}\n"
                  "    points:\n",
                  d, 9 + d);
    for(c = 0; c < ncons; c++)
      rs_buf_printf(&e->devices_yaml, "      - {id: p%d, register: holding, address: %d}\n", c, c);
    rs_buf_puts(&e->devices_yaml, "    consumables:\n");
    for(c = 0; c < ncons; c++)
      rs_buf_printf(&e->devices_yaml,
                    "      - {id: c%d, sku: F-1, spares: %d, level: {point: p%d, full: 100, "
                    "empty: 0}}\n",
                    c, c % 3, c);
  }
  assert_false(e->devices_yaml.oom);
  files[0].name = "restock.yaml";
  files[0].data = restock_yaml;
  files[0].len = sizeof(restock_yaml) - 1;
  files[1].name = "devices.d/m.yaml";
  files[1].data = e->devices_yaml.data;
  files[1].len = e->devices_yaml.len;
  assert_int_equal(rs_strlcpy(e->dir, "/tmp/restock-apistream-XXXXXX", sizeof(e->dir)), 0);
  assert_non_null(mkdtemp(e->dir));
  nerr = cfg_load_buffers(e->dir, files, 2, &e->cfg, &diags);
  if(nerr)
    cfg_diags_print(&diags, stderr);
  cfg_diags_free(&diags);
  assert_int_equal(nerr, 0);
  assert_int_equal(rs_snprintf(db, sizeof(db), "%s/restock.db", e->dir), 0);
  assert_int_equal(store_open(db, &e->st, err, sizeof(err)), RS_OK);
  e->rp = reading_path_new(e->st, e->cfg);
  assert_non_null(e->rp);
  e->sched = scheduler_new(e->cfg, NULL, NULL, 0);
  assert_non_null(e->sched);
  /* a day of falling levels on every point but the last of each device (never read) */
  for(t = 0; t <= hours; t++) {
    for(d = 0; d < N_DEV; d++) {
      for(c = 0; c + 1 < ncons; c++) {
        char dev[16], pt[16];
        struct reading r;
        memset(&r, 0, sizeof(r));
        (void)rs_snprintf(dev, sizeof(dev), "m%d", d);
        (void)rs_snprintf(pt, sizeof(pt), "p%d", c);
        r.device = dev;
        r.point = pt;
        r.wall_ms = T0 + t * 3600000LL;
        r.value = 100.0 - (double)t * (1.0 + c % 4) - d;
        r.is_int = false;
        r.error = READING_OK;
        assert_int_equal(reading_path_submit(e->rp, &r), RS_OK);
      }
    }
  }
}

static void env_open(struct env *e)
{
  env_open_n(e, N_CONS, 24);
}

static void env_close(struct env *e)
{
  char cmd[128];
  scheduler_free(e->sched);
  reading_path_free(e->rp);
  store_close(e->st);
  cfg_free(e->cfg);
  rs_buf_free(&e->devices_yaml);
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
  assert_int_equal(system(cmd), 0);
}

static void collect(struct env *e, struct status_view *v)
{
  status_view_collect(v, e->cfg, e->sched, e->rp, e->st, T0 + 25 * 3600000LL);
}

/* api_dump(j) and the newline the HTTP answers end with (caller frees). */
static char *dump_nl(json_t *j)
{
  char *d = api_dump(j), *w;
  assert_non_null(d);
  w = malloc(strlen(d) + 2);
  assert_non_null(w);
  memcpy(w, d, strlen(d));
  w[strlen(d)] = '\n';
  w[strlen(d) + 1] = '\0';
  free(d);
  return w;
}

/* ---- the reference: each document built whole, the way SPEC 2 and docs/http-api.md say ---- */

/* {"devices": [api_device_json()...]} or {"consumables": [api_consumable_json()...]}. */
static json_t *ref_list(const struct status_view *v, bool devices)
{
  json_t *arr = json_array();
  size_t i, n = devices ? v->n_devices : v->n_consumables;
  assert_non_null(arr);
  for(i = 0; i < n; i++) {
    json_t *item =
        devices ? api_device_json(&v->devices[i]) : api_consumable_json(&v->consumables[i]);
    assert_non_null(item);
    assert_int_equal(json_array_append_new(arr, item), 0);
  }
  return json_pack("{s:o}", devices ? "devices" : "consumables", arr);
}

/*
 * /api/v1/status: {"gateway": {id, version, time, uptime_s, time_scale, next_closed},
 * "devices", "consumables", "orders" (the open ones), "alerts"}.
 */
static json_t *ref_status(const struct api_gateway_info *g, const struct status_view *v,
                          const struct cfg *cfg, struct store *st)
{
  json_t *j, *devs = ref_list(v, true), *cons = ref_list(v, false), *orders = NULL, *alerts;
  char when[40], **al = NULL;
  size_t nal = 0, i;
  clock_format_rfc3339(g->now_ms, when, sizeof(when));
  assert_int_equal(api_orders_json(st, cfg, true, &orders), RS_OK);
  alerts = json_array();
  assert_non_null(alerts);
  status_alerts(v, cfg, st, &al, &nal);
  for(i = 0; i < nal; i++)
    assert_int_equal(json_array_append_new(alerts, json_string(al[i])), 0);
  status_alerts_free(al, nal);
  j = json_pack("{s:{s:s,s:s,s:s,s:I,s:f,s:{s:s,s:s,s:s,s:b}},s:O,s:O,s:O,s:o}", "gateway", "id",
                g->id, "version", g->version, "time", when, "uptime_s", (json_int_t)g->uptime_s,
                "time_scale", g->time_scale, "next_closed", "name", "year end", "from",
                "2027-12-24", "to", "2028-01-02", "now", 1, "devices", json_object_get(devs, "devices"), "consumables",
                json_object_get(cons, "consumables"), "orders", json_object_get(orders, "orders"),
                "alerts", alerts);
  assert_non_null(j);
  json_decref(devs);
  json_decref(cons);
  json_decref(orders);
  return j;
}

/*
 * Read s part by part, as the HTTP server does, into a string (caller
 * frees); *parts counts the parts. Frees s.
 */
static char *read_parts(struct api_stream *s, size_t *parts)
{
  struct rs_buf all = {0};
  int rc;
  *parts = 0;
  do {
    struct rs_buf piece = {0};
    rc = api_stream_fill(s, &piece);
    assert_true(rc == 0 || rc == 1);
    if(piece.len)
      rs_buf_append(&all, piece.data, piece.len);
    rs_buf_free(&piece);
    (*parts)++;
  } while(rc == 1);
  api_stream_free(s);
  assert_false(all.oom);
  return all.data;
}

static void test_consumables_same_text(void **state)
{
  struct env e;
  struct status_view v, v2;
  json_t *j;
  char *want, *got;
  size_t parts;
  (void)state;
  env_open(&e);
  collect(&e, &v);
  j = ref_list(&v, false);
  want = dump_nl(j);
  json_decref(j);
  assert_non_null(want);
  assert_int_equal(v.n_consumables, N_DEV * N_CONS);
  collect(&e, &v2);
  got = read_parts(api_list_stream(&v2, e.cfg, false), &parts);
  assert_int_equal(v2.n_consumables, 0); /* moved into the stream */
  assert_true(parts > 1);                /* really in parts */
  assert_string_equal(got, want);
  /* a figure a client reads: the first consumable's level after a day */
  assert_non_null(strstr(got, "\"id\":\"m0/c0\""));
  free(want);
  free(got);
  status_view_free(&v);
  env_close(&e);
}

static void test_devices_and_status_same_text(void **state)
{
  struct env e;
  struct status_view v, v2;
  struct api_gateway_info g = {.id = "gw", .version = "1.2.3", .now_ms = T0, .uptime_s = 5,
                               .time_scale = 1};
  struct api_stream *s = NULL;
  struct rs_buf at_once = {0};
  json_t *j = NULL;
  char *want, *got;
  size_t parts;
  (void)state;
  env_open(&e);
  collect(&e, &v);
  assert_int_equal(v.n_devices, N_DEV);
  j = ref_list(&v, true);
  want = dump_nl(j);
  json_decref(j);
  collect(&e, &v2);
  got = read_parts(api_list_stream(&v2, e.cfg, true), &parts);
  assert_string_equal(got, want);
  free(want);
  free(got);

  j = ref_status(&g, &v, e.cfg, e.st);
  want = dump_nl(j);
  json_decref(j);
  collect(&e, &v2);
  assert_int_equal(api_status_stream(&g, &v2, e.cfg, e.st, &s), RS_OK);
  got = read_parts(s, &parts);
  assert_true(parts > 1);
  assert_string_equal(got, want);
  free(got);
  /* the same, at once */
  collect(&e, &v2);
  assert_int_equal(api_status_stream(&g, &v2, e.cfg, e.st, &s), RS_OK);
  assert_int_equal(api_stream_text(s, &at_once), RS_OK);
  api_stream_free(s);
  assert_string_equal(at_once.data, want);
  rs_buf_free(&at_once);
  free(want);
  status_view_free(&v);
  env_close(&e);
}

/* A reload frees the daemon's config while an answer is half sent: the stream holds its own. */
static void test_stream_outlives_config(void **state)
{
  struct env e;
  struct status_view v;
  struct api_stream *s;
  struct rs_buf first = {0}, rest = {0};
  (void)state;
  env_open(&e);
  collect(&e, &v);
  s = api_list_stream(&v, e.cfg, false);
  assert_non_null(s);
  assert_int_equal(api_stream_fill(s, &first), 1);
  scheduler_free(e.sched);
  e.sched = NULL;
  reading_path_free(e.rp);
  e.rp = NULL;
  cfg_free(e.cfg); /* the daemon's reference: the stream keeps the config alive (ASan) */
  e.cfg = NULL;
  assert_int_equal(api_stream_text(s, &rest), RS_OK);
  api_stream_free(s);
  /* the last consumable's id, read from the config after it was dropped */
  assert_non_null(strstr(rest.data, "\"id\":\"m3/c29\""));
  rs_buf_free(&first);
  rs_buf_free(&rest);
  env_close(&e);
}

/* What restockd hands the exposition besides the view (the stream takes its own view). */
static void metrics_in(struct env *e, struct metrics_input *in)
{
  memset(in, 0, sizeof(*in));
  in->st = e->st;
  in->version = "1.2.3";
  in->lines_created = 0;
  in->start_time_ms = T0;
  in->cfg = e->cfg;
}

/* The whole exposition at once into out: a stream over a fresh view, drained into one buffer. */
static void metrics_whole(struct env *e, struct metrics *m, const struct metrics_input *in,
                          struct rs_buf *out)
{
  struct status_view v;
  struct metrics_stream *s = NULL;
  int rc;
  collect(e, &v);
  assert_int_equal(metrics_stream_new(m, in, &v, &s), RS_OK);
  while((rc = metrics_stream_fill(s, out)) == 1)
    ;
  assert_int_equal(rc, 0);
  metrics_stream_free(s);
  assert_false(out->oom);
}

/*
 * /metrics read a part at a time (a fresh piece each, as the HTTP server
 * reads it) is the text read at once: no sample lost or doubled at a part's edge.
 */
static void test_metrics_parts(void **state)
{
  struct env e;
  struct status_view v2;
  struct metrics_input in;
  struct metrics *m = metrics_new();
  struct metrics_stream *s = NULL;
  struct rs_buf whole = {0}, parts = {0};
  int rc, n = 0;
  (void)state;
  env_open(&e);
  assert_non_null(m);
  metrics_sample(m, e.sched);
  metrics_in(&e, &in);
  metrics_whole(&e, m, &in, &whole);
  collect(&e, &v2);
  assert_int_equal(metrics_stream_new(m, &in, &v2, &s), RS_OK);
  assert_int_equal(v2.n_consumables, 0); /* moved into the stream */
  cfg_free(cfg_ref(e.cfg));              /* a reference taken and dropped changes nothing */
  do {
    struct rs_buf piece = {0};
    rc = metrics_stream_fill(s, &piece);
    assert_true(rc == 0 || rc == 1);
    rs_buf_append(&parts, piece.data ? piece.data : "", piece.len);
    rs_buf_free(&piece);
    n++;
  } while(rc == 1);
  metrics_stream_free(s);
  assert_true(n > 1);
  assert_false(whole.oom);
  assert_false(parts.oom);
  assert_string_equal(parts.data, whole.data);
  /* what a scraper reads: every consumable's spares, the last one's too */
  assert_non_null(strstr(whole.data, "restock_consumable_spares{consumable=\"m3/c29\"} 2\n"));
  assert_non_null(strstr(whole.data, "restock_device_up{device=\"m3\"} 1\n"));
  rs_buf_free(&whole);
  rs_buf_free(&parts);
  metrics_free(m);
  env_close(&e);
}

/* A config of env_open_n()'s restock.yaml and devices m<order[0]>, m<order[1]>, ... (one point
   each; m0 polled every second, the others every hour), loaded in e->dir. */
static struct cfg *reorder_cfg(struct env *e, const int *order, size_t n)
{
  struct cfg_file_buf files[2];
  struct cfg_diags diags = {0};
  struct rs_buf y = {0};
  struct cfg *cfg = NULL;
  size_t i;
  rs_buf_puts(&y, "devices:\n");
  for(i = 0; i < n; i++)
    rs_buf_printf(&y,
                  "  - id: m%d\n    transport: {type: modbus-tcp, host: 127.0.0.1, port: %d}\n"
                  "    poll_interval: %s\n"
                  "    points:\n      - {id: p0, register: holding, address: 0}\n"
                  "    consumables:\n      - {id: c0, sku: F-1, level: {point: p0, full: 100, "
                  "empty: 0}}\n",
                  order[i], 9 + order[i], order[i] ? "1h" : "1s");
  assert_false(y.oom);
  files[0].name = "restock.yaml";
  files[0].data = restock_yaml;
  files[0].len = sizeof(restock_yaml) - 1;
  files[1].name = "devices.d/m.yaml";
  files[1].data = y.data;
  files[1].len = y.len;
  assert_int_equal(cfg_load_buffers(e->dir, files, 2, &cfg, &diags), 0);
  cfg_diags_free(&diags);
  rs_buf_free(&y);
  return cfg;
}

static void no_emit(void *ctx, const struct reading *r)
{
  (void)ctx;
  (void)r;
}

/* restock_poll_duration_seconds_count of device dev in m's exposition. */
static unsigned long long poll_count(struct env *e, struct metrics *m, const char *dev)
{
  struct metrics_input in;
  struct rs_buf whole = {0};
  char key[96];
  const char *p;
  unsigned long long n;
  metrics_in(e, &in);
  metrics_whole(e, m, &in, &whole);
  assert_int_equal(
      rs_snprintf(key, sizeof(key), "restock_poll_duration_seconds_count{device=\"%s\"} ", dev), 0);
  p = strstr(whole.data, key);
  assert_non_null(p);
  n = strtoull(p + strlen(key), NULL, 10);
  rs_buf_free(&whole);
  return n;
}

/*
 * The poll histogram follows its device across a reload that moves the
 * scheduler's device numbers (the histogram is found by number, without
 * comparing ids per poll): m0's polls after the reload, at the other end of
 * the list, are m0's, not those of the device that had its number before.
 */
static void test_metrics_hist_after_reload(void **state)
{
  static const int fwd[] = {0, 1, 2, 3}, rev[] = {3, 2, 1, 0};
  struct env e;
  struct fake_plant plant;
  struct metrics *m = metrics_new();
  struct cfg *c2;
  int64_t now = 1000;
  int i;
  (void)state;
  env_open_n(&e, 1, 0);
  cfg_free(e.cfg);
  e.cfg = reorder_cfg(&e, fwd, 4);
  reading_path_set_config(e.rp, e.cfg);
  memset(&plant, 0, sizeof(plant));
  plant.t0_ms = T0;
  plant.step_ms = 60000;
  scheduler_free(e.sched);
  e.sched = scheduler_new(e.cfg, fake_adapter_lookup, &plant, now);
  assert_non_null(m);
  /* every device polled once, sampled */
  assert_int_equal(scheduler_run_due(e.sched, now, T0, no_emit, NULL), 4);
  metrics_sample(m, e.sched);
  /* the list reversed: m0 is now the last device, polled every second */
  c2 = reorder_cfg(&e, rev, 4);
  scheduler_set_config(e.sched, c2, now);
  reading_path_set_config(e.rp, c2);
  cfg_free(e.cfg);
  e.cfg = c2;
  for(i = 0; i < 5; i++) {
    now += 1000;
    (void)scheduler_run_due(e.sched, now, T0 + now, no_emit, NULL);
    metrics_sample(m, e.sched);
  }
  assert_true(plant.polls >= 8);
  assert_int_equal(poll_count(&e, m, "m0"), plant.polls - 3);
  assert_int_equal(poll_count(&e, m, "m3"), 1);
  assert_int_equal(poll_count(&e, m, "m1"), 1);
  metrics_free(m);
  env_close(&e);
}

/*
 * Each metric family's # HELP and # TYPE lines come once, whatever the
 * number of consumables: a part that ends right after a family's head
 * must not write the head again in the next part (promtool and Prometheus
 * refuse the whole scrape: "second HELP line for metric name"). Over a
 * range of plant sizes some part edges fall just after a head.
 */
static void test_metrics_heads_once(void **state)
{
  int ncons;
  (void)state;
  for(ncons = 1; ncons <= 48; ncons++) {
    struct env e;
    struct metrics_input in;
    struct metrics *m = metrics_new();
    struct rs_buf whole = {0};
    const char *p;
    env_open_n(&e, ncons, 2);
    assert_non_null(m);
    metrics_sample(m, e.sched);
    metrics_in(&e, &in);
    metrics_whole(&e, m, &in, &whole);
    for(p = whole.data; (p = strstr(p, "\n# TYPE ")) != NULL; p++) {
      char line[128];
      size_t len = strcspn(p + 1, "\n");
      assert_true(len < sizeof(line));
      memcpy(line, p + 1, len);
      line[len] = '\0';
      if(strstr(p + 1 + len, line)) {
        fprintf(stderr, "%d consumables per device: '%s' twice\n", ncons, line);
        fail();
      }
    }
    rs_buf_free(&whole);
    metrics_free(m);
    env_close(&e);
  }
}

/* /metrics counts the alerts by kind without keeping their texts: the same counts as the list. */
static void test_alert_counts(void **state)
{
  static const char *const kinds[] = {"stale", "empty", "device_down", "clock", "storage"};
  struct env e;
  struct status_view v;
  struct status_alert *a = NULL;
  size_t n = 0, counts[5], k, i;
  (void)state;
  env_open(&e);
  collect(&e, &v);
  status_alert_items(&v, e.cfg, e.st, &a, &n);
  status_alert_counts(&v, e.cfg, e.st, kinds, 5, counts);
  assert_true(counts[0] >= N_DEV); /* each device's last consumable was never read: stale */
  for(k = 0; k < 5; k++) {
    size_t c = 0;
    for(i = 0; i < n; i++)
      c += !strcmp(a[i].kind, kinds[k]);
    assert_int_equal(counts[k], c);
  }
  status_alert_items_free(a, n);
  status_view_free(&v);
  env_close(&e);
}

/*
 * The dashboard (/) written while it is sent: read in parts as the HTTP
 * server does, with the config dropped after the first part, it is one
 * whole page: every consumable's row once, in the order asked for (sort by
 * part), then the devices table with every device, the footer last.
 */
static void test_dashboard_parts(void **state)
{
  struct env e;
  struct status_view v;
  struct html_ctx x;
  struct html_stream *hs = NULL;
  struct rs_buf all = {0};
  const char *p;
  char prev[32] = "";
  size_t parts = 0, rows = 0, devs = 0;
  int rc;
  (void)state;
  env_open(&e);
  collect(&e, &v);
  memset(&x, 0, sizeof(x));
  x.cfg = e.cfg;
  x.st = e.st;
  x.version = "test";
  x.q.sort = "part";
  x.q.dir = "asc";
  assert_int_equal(html_dashboard_stream(&x, &v, &hs), RS_OK);
  assert_non_null(hs);
  assert_int_equal(v.n_consumables, 0); /* moved into the stream */
  do {
    struct rs_buf piece = {0};
    rc = html_stream_fill(hs, &piece);
    assert_true(rc == 0 || rc == 1);
    rs_buf_append(&all, piece.data ? piece.data : "", piece.len);
    rs_buf_free(&piece);
    if(!parts++) { /* a reload while the page is sent: the stream holds its config (ASan) */
      scheduler_free(e.sched);
      e.sched = NULL;
      reading_path_free(e.rp);
      e.rp = NULL;
      cfg_free(e.cfg);
      e.cfg = NULL;
    }
  } while(rc == 1);
  html_stream_free(hs);
  assert_false(all.oom);
  assert_true(parts > 2); /* ~16 KiB a part: 39 KB */
  assert_non_null(strstr(all.data, ">120 of 120 shown<"));
  /* the overview's rows: each consumable once, by part id ascending */
  for(p = strstr(all.data, "<tr class=\"s-"); p; p = strstr(p + 1, "<tr class=\"s-")) {
    const char *a = strstr(p, "<a href=\"/consumables/"), *id, *end;
    char cur[32];
    assert_non_null(a);
    id = strchr(a + strlen("<a href=\"/consumables/"), '/') + 1;
    end = strchr(id, '"');
    assert_true((size_t)(end - id) < sizeof(cur));
    memcpy(cur, id, (size_t)(end - id));
    cur[end - id] = '\0';
    assert_true(strcmp(prev, cur) <= 0);
    memcpy(prev, cur, sizeof(prev));
    rows++;
  }
  assert_int_equal(rows, 4 * N_CONS);
  /* then the devices, every one, after the overview; the page ends with the footer */
  assert_true(strstr(all.data, "id=\"devices\"") > strstr(all.data, "</tbody></table>"));
  for(p = strstr(all.data, "<tr class=\"device\""); p; p = strstr(p + 1, "<tr class=\"device\""))
    devs++;
  assert_int_equal(devs, N_DEV);
  assert_non_null(strstr(all.data, "id=\"dev-m3\""));
  assert_int_equal(strcmp(all.data + all.len - strlen("</body></html>\n"), "</body></html>\n"), 0);
  rs_buf_free(&all);
  env_close(&e);
}

/*
 * The page's header names the plant calendar's closed period now or next
 * (restock.yaml calendar): at T0 the year-end closure, after it the July one
 * (no name: its days only), after both nothing.
 */
static void test_page_header_next_closed(void **state)
{
  struct env e;
  struct rs_buf o = {0};
  struct html_frame f = {.title = "Status", .now_ms = T0};
  (void)state;
  env_open(&e);
  f.cfg = e.cfg;
  html_page_start(&o, &f);
  assert_non_null(o.data);
  assert_non_null(strstr(o.data, "closed now: year end 2027-12-24 to 2028-01-02</p>"));
  rs_buf_free(&o);
  f.now_ms = T0 + 7 * 86400000LL; /* 2028-01-04 */
  html_page_start(&o, &f);
  assert_non_null(strstr(o.data, "next closed: 2028-07-10 to 2028-07-14</p>"));
  rs_buf_free(&o);
  f.now_ms = T0 + 220 * 86400000LL;
  html_page_start(&o, &f);
  assert_null(strstr(o.data, "closed"));
  rs_buf_free(&o);
  env_close(&e);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_consumables_same_text),
      cmocka_unit_test(test_devices_and_status_same_text),
      cmocka_unit_test(test_page_header_next_closed),
      cmocka_unit_test(test_stream_outlives_config),
      cmocka_unit_test(test_metrics_parts),
      cmocka_unit_test(test_metrics_heads_once),
      cmocka_unit_test(test_metrics_hist_after_reload),
      cmocka_unit_test(test_alert_counts),
      cmocka_unit_test(test_dashboard_parts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
