/* SPDX-License-Identifier: Apache-2.0 */
#include "gateway/tools/ctl.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/netio.h"
#include "config/config.h"
#include "base/rs_util.h"
#include "gateway/web/api.h"
#include "base/clock.h"
#include "base/httpd.h"
#include "gateway/daemon.h"
#include "gateway/pipeline.h"
#include "gateway/stock.h"
#include "gateway/store.h"

/* ---- status: the daemon's /api/v1/status ---- */

void ctl_default_url(const char *config_dir, char *buf, size_t len)
{
  struct cfg *cfg = NULL;
  struct cfg_diags diags = {0};
  char host[256];
  uint16_t port = 0;
  const char *h = host;

  rs_strlcpy(buf, "http://127.0.0.1:8080", len);
  if(cfg_load(config_dir, &cfg, &diags)) {
    cfg_diags_free(&diags);
    return;
  }
  cfg_diags_free(&diags);
  if(cfg->http.listen && !httpd_parse_listen(cfg->http.listen, host, sizeof(host), &port) &&
     port) {
    if(!strcmp(host, "0.0.0.0"))
      h = "127.0.0.1";
    else if(!strcmp(host, "::"))
      h = "::1";
    if(rs_snprintf(buf, len, strchr(h, ':') ? "http://[%s]:%u" : "http://%s:%u", h,
                   (unsigned)port))
      rs_strlcpy(buf, "http://127.0.0.1:8080", len);
  }
  cfg_free(cfg);
}

/* GET url into *body; 0 on a 200 answer, else 1 with a message printed. */
static int http_get(const char *url, struct rs_buf *body)
{
  char err[CURL_ERROR_SIZE + 32];
  long status = netio_get(url, body, err, sizeof(err));
  if(!status) {
    fprintf(stderr, "restockctl: cannot reach restockd at %s: %s\n", url, err);
    return 1;
  }
  if(status != 200) {
    fprintf(stderr, "restockctl: %s answered HTTP %ld\n", url, status);
    return 1;
  }
  return 0;
}

static const char *jstr(const json_t *o, const char *k, const char *dflt)
{
  const json_t *v = json_object_get(o, k);
  return json_is_string(v) ? json_string_value(v) : dflt;
}

/* A JSON number (or null) as text for a table cell. */
static void jnum(const json_t *o, const char *k, int decimals, char *buf, size_t size)
{
  const json_t *v = json_object_get(o, k);
  if(json_is_integer(v))
    snprintf(buf, size, "%lld", (long long)json_integer_value(v));
  else if(json_is_real(v))
    snprintf(buf, size, "%.*f", decimals, json_real_value(v));
  else
    snprintf(buf, size, "-");
}

/*
 * A consumable's state as the dashboard's overview shows it (status.c,
 * enum status_state), from the fields of /api/v1/status: its device is
 * down, stale, empty (level below 0.5 %), held, its open order waits for
 * approval, an order line is open, or ok. *rank: higher is more urgent.
 */
static const char *row_state(const json_t *doc, const json_t *c, int *rank)
{
  const json_t *devs = json_object_get(doc, "devices"), *orders = json_object_get(doc, "orders");
  const json_t *it, *lv = json_object_get(c, "level_pct"), *open = json_object_get(c, "open_order");
  const char *dev = jstr(c, "device", "");
  size_t i;
  json_array_foreach(devs, i, it) {
    if(!strcmp(jstr(it, "id", ""), dev) && !strcmp(jstr(it, "state", ""), "down")) {
      *rank = 6;
      return "device_down";
    }
  }
  if(json_is_true(json_object_get(c, "stale"))) {
    *rank = 4;
    return "stale";
  }
  if(json_is_number(lv) && json_number_value(lv) < 0.5) {
    *rank = 5;
    return "empty";
  }
  if(json_is_true(json_object_get(c, "held"))) {
    *rank = 2;
    return "held";
  }
  if(json_is_string(open))
    json_array_foreach(orders, i, it) {
      if(!strcmp(jstr(it, "id", ""), json_string_value(open)) &&
         !strcmp(jstr(it, "state", ""), "pending_approval")) {
        *rank = 3;
        return "approval";
      }
    }
  if(json_is_string(open) || json_integer_value(json_object_get(c, "on_order")) > 0) {
    *rank = 1;
    return "ordering";
  }
  *rank = 0;
  return "ok";
}

/* The overview's filters: only rows matching every one given (NULL: any). */
struct status_filter {
  const char *device, *kind, *state;
};

struct status_row {
  const json_t *c;
  const char *state;
  int rank;
  double days; /* NAN when unknown, INFINITY when not depleting */
  size_t index;
};

/* Most urgent state first, then the fewest days left (unknown last), then API order. */
static int cmp_status_rows(const void *pa, const void *pb)
{
  const struct status_row *a = pa, *b = pb;
  if(a->rank != b->rank)
    return b->rank - a->rank;
  if(isnan(a->days) != isnan(b->days))
    return isnan(a->days) ? 1 : -1;
  if(!isnan(a->days) && a->days != b->days)
    return a->days < b->days ? -1 : 1;
  return a->index < b->index ? -1 : a->index > b->index;
}

/* "[#######...]  70%": the level in 10 characters and the percentage. */
static void text_bar(const json_t *lv, char *buf, size_t size)
{
  int k, n;
  double v;
  if(size < 24)
    return;
  if(!json_is_number(lv)) {
    snprintf(buf, size, "%s", "-");
    return;
  }
  v = json_number_value(lv);
  n = (int)(v / 10.0 + 0.5);
  n = n < 0 ? 0 : n > 10 ? 10 : n;
  buf[0] = '[';
  for(k = 0; k < 10; k++)
    buf[k + 1] = k < n ? '#' : '.';
  snprintf(buf + 11, size - 11, "] %3.0f%%", v);
}

/*
 * The dashboard's overview as a terminal table: alerts, then one row per
 * consumable (device, part, SKU, level bar, days left with its 10-90 %
 * bounds, empty date, spares, on order, state) sorted most urgent first,
 * then the devices that are down and the open orders.
 */
static void print_status_table(const json_t *doc, const struct status_filter *f)
{
  const json_t *gw = json_object_get(doc, "gateway"), *arr, *it;
  struct status_row *rows;
  size_t i, n = 0, total;
  char bar[40], days[64], a[32], b[32];

  printf("gateway %s  version %s  time %s\n", jstr(gw, "id", "?"), jstr(gw, "version", "?"),
         jstr(gw, "time", "?"));
  arr = json_object_get(doc, "alerts");
  json_array_foreach(arr, i, it) {
    if(json_is_string(it))
      printf("alert: %s\n", json_string_value(it));
  }
  arr = json_object_get(doc, "consumables");
  total = json_array_size(arr);
  rows = rs_xcalloc(total ? total : 1, sizeof(*rows));
  json_array_foreach(arr, i, it) {
    struct status_row *r = &rows[n];
    const json_t *d = json_object_get(it, "days_left");
    r->c = it;
    r->index = i;
    r->state = row_state(doc, it, &r->rank);
    r->days = json_is_number(d)                                   ? json_number_value(d)
              : json_is_number(json_object_get(it, "level_pct")) ? INFINITY
                                                                  : NAN;
    if((f->device && strcmp(f->device, jstr(it, "device", ""))) ||
       (f->kind && strcmp(f->kind, jstr(it, "kind", ""))) ||
       (f->state && strcmp(f->state, r->state)))
      continue;
    n++;
  }
  qsort(rows, n, sizeof(*rows), cmp_status_rows);
  printf("\n%zu of %zu consumables\n%-16s %-24s %-12s %-17s %-15s %-10s %6s %8s  %s\n", n, total,
         "DEVICE", "PART", "SKU", "LEVEL", "DAYS LEFT", "EMPTY", "SPARES", "ON ORDER", "STATE");
  for(i = 0; i < n; i++) {
    const json_t *c = rows[i].c, *p10 = json_object_get(c, "days_left_p10"),
                 *p90 = json_object_get(c, "days_left_p90");
    const char *id = jstr(c, "id", "?"), *slash = strchr(id, '/');
    char empty[16];
    text_bar(json_object_get(c, "level_pct"), bar, sizeof(bar));
    if(isnan(rows[i].days))
      snprintf(days, sizeof(days), "-");
    else if(isinf(rows[i].days))
      snprintf(days, sizeof(days), "not depleting");
    else if(json_is_number(p10) && json_is_number(p90) &&
            json_number_value(p90) - json_number_value(p10) >= 0.5)
      snprintf(days, sizeof(days), "%.1f (%.0f-%.0f)", rows[i].days, json_number_value(p10),
               json_number_value(p90));
    else
      snprintf(days, sizeof(days), "%.1f", rows[i].days);
    snprintf(empty, sizeof(empty), "%.10s", jstr(c, "empty_at", "-"));
    jnum(c, "spares", 0, a, sizeof(a));
    jnum(c, "on_order", 0, b, sizeof(b));
    printf("%-16s %-24s %-12s %-17s %-15s %-10s %6s %8s  %s\n", jstr(c, "device", "?"),
           slash ? slash + 1 : id, jstr(c, "sku", "?"), bar, days, empty, a, b, rows[i].state);
  }
  free(rows);

  arr = json_object_get(doc, "devices");
  json_array_foreach(arr, i, it) {
    if(strcmp(jstr(it, "state", ""), "down"))
      continue;
    jnum(it, "consecutive_failures", 0, a, sizeof(a));
    printf("\ndevice %s (%s) is down: %s failed polls in a row, last success %s",
           jstr(it, "id", "?"), jstr(it, "transport", "?"), a, jstr(it, "last_success", "never"));
  }
  arr = json_object_get(doc, "orders");
  printf("\n\n%-26s %-18s %-12s %12s\n", "OPEN ORDER", "STATE", "SUPPLIER", "TOTAL");
  json_array_foreach(arr, i, it) {
    printf("%-26s %-18s %-12s %8s %s\n", jstr(it, "id", "?"), jstr(it, "state", "?"),
           jstr(it, "supplier", "?"), jstr(it, "total", "?"), jstr(it, "currency", ""));
  }
}

static volatile sig_atomic_t watch_stop;

static void on_watch_signal(int sig)
{
  (void)sig;
  watch_stop = 1;
}

/* Fetch url and print it (JSON as is, or the table). 0, or 1 with a message printed. */
static int status_once(const char *url, bool as_json, const struct status_filter *f)
{
  struct rs_buf body = {0};
  json_t *doc;
  json_error_t jerr;
  int rc = http_get(url, &body);
  if(rc)
    goto out;
  if(as_json) {
    fwrite(body.data, 1, body.len, stdout);
    if(body.len && body.data[body.len - 1] != '\n')
      putchar('\n');
    goto out;
  }
  doc = json_loadb(body.data ? body.data : "", body.len, 0, &jerr);
  if(!json_is_object(doc)) {
    fprintf(stderr, "restockctl: %s did not answer a status document: %s\n", url, jerr.text);
    json_decref(doc);
    rc = 1;
    goto out;
  }
  print_status_table(doc, f);
  json_decref(doc);
out:
  fflush(stdout);
  rs_buf_free(&body);
  return rc;
}

int ctl_status_main(const char *url, int argc, char **argv)
{
  struct rs_buf u = {0};
  struct status_filter f = {NULL, NULL, NULL};
  bool as_json = false;
  int64_t watch = 0;
  int i, rc;

  for(i = 1; i < argc; i++) {
    const char *next = i + 1 < argc ? argv[i + 1] : NULL;
    if(!strcmp(argv[i], "--json"))
      as_json = true;
    else if(!strcmp(argv[i], "--watch") && next && !rs_parse_i64(next, false, 1, 86400, &watch))
      i++;
    else if(!strcmp(argv[i], "--device") && next)
      f.device = argv[++i];
    else if(!strcmp(argv[i], "--kind") && next)
      f.kind = argv[++i];
    else if(!strcmp(argv[i], "--state") && next)
      f.state = argv[++i];
    else {
      fprintf(stderr,
              "restockctl status: bad argument '%s' (expected --json, --watch SECONDS (1-86400), "
              "--device ID, --kind KIND, --state STATE)\n",
              argv[i]);
      return 2;
    }
  }
  rs_buf_puts(&u, url);
  while(u.len && u.data[u.len - 1] == '/')
    u.data[--u.len] = '\0';
  rs_buf_puts(&u, "/api/v1/status");
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if(!watch)
    rc = status_once(u.data, as_json, &f);
  else {
    /* until Ctrl-C or SIGTERM: clear a terminal, print, wait; a failed fetch does not stop it */
    struct sigaction sa;
    bool tty = isatty(STDOUT_FILENO);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_watch_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rc = 0;
    while(!watch_stop) {
      int64_t until;
      if(tty)
        fputs("\033[H\033[2J", stdout);
      printf("every %" PRId64 " s (Ctrl-C stops)\n", watch);
      (void)status_once(u.data, as_json, &f);
      until = clock_real_mono_ms() + watch * 1000;
      while(!watch_stop && clock_real_mono_ms() < until) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
      }
    }
  }
  curl_global_cleanup();
  rs_buf_free(&u);
  return rc;
}

/* ---- orders: straight on the database ---- */

static void print_order_row(const json_t *o)
{
  printf("%-26s %-18s %-12s %10s %-3s %s\n", jstr(o, "id", "?"), jstr(o, "state", "?"),
         jstr(o, "supplier", "?"), jstr(o, "total", "?"), jstr(o, "currency", ""),
         jstr(o, "updated", ""));
}

static void print_order_detail(const json_t *o)
{
  const json_t *arr, *it, *ap = json_object_get(o, "approval");
  size_t i;
  printf("order     %s\nstate     %s\nsupplier  %s\ntotal     %s %s\ncreated   %s\nupdated   %s\n"
         "shop id   %s\n",
         jstr(o, "id", "?"), jstr(o, "state", "?"), jstr(o, "supplier", "?"), jstr(o, "total", "?"),
         jstr(o, "currency", ""), jstr(o, "created", "?"), jstr(o, "updated", "?"),
         jstr(o, "shop_id", "(not submitted)"));
  if(json_is_true(json_object_get(ap, "required"))) {
    printf("approval  required");
    json_array_foreach(json_object_get(ap, "reasons"), i, it) {
      if(json_is_string(it))
        printf("%s %s", i ? ";" : ":", json_string_value(it));
    }
    printf("\n");
    if(json_is_string(json_object_get(ap, "expires")))
      printf("expires   %s\n", jstr(ap, "expires", ""));
    if(json_is_string(json_object_get(ap, "decided_by")))
      printf("decided   %s\n", jstr(ap, "decided_by", ""));
  }
  printf("\n%-32s %-16s %8s %10s %s\n", "CONSUMABLE", "SKU", "QUANTITY", "UNIT PRICE", "RULE");
  arr = json_object_get(o, "lines");
  json_array_foreach(arr, i, it) {
    char q[32];
    jnum(it, "quantity", 0, q, sizeof(q));
    printf("%-32s %-16s %8s %10s %s\n", jstr(it, "consumable", "?"), jstr(it, "sku", "?"), q,
           jstr(it, "unit_price", "-"), jstr(it, "rule", "-"));
  }
  printf("\n%-21s %-18s %-18s %-24s %s\n", "TIME", "FROM", "TO", "ACTOR", "CAUSE");
  arr = json_object_get(o, "transitions");
  json_array_foreach(arr, i, it) {
    printf("%-21s %-18s %-18s %-24s %s\n", jstr(it, "time", "?"), jstr(it, "from", "-"),
           jstr(it, "to", "?"), jstr(it, "actor", "?"), jstr(it, "cause", ""));
  }
}

static void orders_usage(FILE *f)
{
  fputs("usage: restockctl orders [list] [--json]\n"
        "       restockctl orders show ID [--json]\n"
        "       restockctl orders approve ID\n"
        "       restockctl orders reject ID\n",
        f);
}

int ctl_orders_main(const char *config_dir, int argc, char **argv)
{
  const char *sub = "list", *id = NULL;
  bool as_json = false;
  struct cfg *cfg = NULL;
  struct store *st = NULL;
  char err[512];
  int i, rc = 1;
  json_t *doc = NULL;

  for(i = 1; i < argc; i++) {
    if(!strcmp(argv[i], "--json"))
      as_json = true;
    else if(i == 1 && (!strcmp(argv[i], "list") || !strcmp(argv[i], "show") ||
                       !strcmp(argv[i], "approve") || !strcmp(argv[i], "reject")))
      sub = argv[i];
    else if(i == 2 && strcmp(sub, "list") && !id)
      id = argv[i];
    else {
      fprintf(stderr, "restockctl orders: unexpected argument '%s'\n", argv[i]);
      orders_usage(stderr);
      return 2;
    }
  }
  if(strcmp(sub, "list") && !id) {
    fprintf(stderr, "restockctl orders %s: needs an order id\n", sub);
    orders_usage(stderr);
    return 2;
  }
  if(!(cfg = cfg_load_report(config_dir, stderr, false)))
    return 2;
  /* reports only read (no file is made, a read-only directory is fine); decisions write into
     restockd's existing database, never a new one */
  if(store_open_ex(cfg->storage.path,
                   !strcmp(sub, "list") || !strcmp(sub, "show") ? STORE_OPEN_READONLY : 0, &st,
                   err, sizeof(err))) {
    fprintf(stderr, "restockctl: %s\n", err);
    goto out;
  }

  if(!strcmp(sub, "list") || !strcmp(sub, "show")) {
    enum rs_err e = id ? api_order_by_id(st, cfg, id, &doc) : api_orders_json(st, cfg, false, &doc);
    if(e == RS_ERR_NOT_FOUND) {
      fprintf(stderr, "restockctl: no order '%s'\n", id);
      goto out;
    }
    if(e) {
      fprintf(stderr, "restockctl: cannot read orders: %s\n", rs_strerror(e));
      goto out;
    }
    if(as_json) {
      char *s = api_dump(doc);
      printf("%s\n", s ? s : "null");
      free(s);
    }
    else if(id) {
      print_order_detail(doc);
    }
    else {
      const json_t *it;
      size_t k;
      printf("%-26s %-18s %-12s %10s %-3s %s\n", "ORDER", "STATE", "SUPPLIER", "TOTAL", "", "UPDATED");
      json_array_foreach(json_object_get(doc, "orders"), k, it) {
        print_order_row(it);
      }
    }
    rc = 0;
  }
  else {
    /* approve / reject: the pipeline's own decision path, recorded as cli, at the daemon's
       time (its scaled clock under --time-scale, SPEC 12), like a decision on its pages */
    struct pipeline *pl = pipeline_new(st);
    bool approve = !strcmp(sub, "approve");
    int64_t now = daemon_clock_now_ms(st);
    enum rs_err e;
    if(!pl) {
      fprintf(stderr, "restockctl: out of memory\n");
      goto out;
    }
    e = approve ? pipeline_approve(pl, cfg, id, "cli", "restockctl", now)
                : pipeline_reject(pl, cfg, id, "cli", "restockctl", now);
    pipeline_free(pl);
    if(e == RS_ERR_NOT_FOUND)
      fprintf(stderr, "restockctl: no order '%s'\n", id);
    else if(e == RS_ERR_CONFLICT)
      fprintf(stderr, "restockctl: order '%s' is not waiting for approval (see restockctl orders "
              "show %s)\n", id, id);
    else if(e)
      fprintf(stderr, "restockctl: cannot %s order '%s': %s\n", sub, id, rs_strerror(e));
    else {
      printf("order %s %s\n", id, approve ? "approved" : "rejected");
      rc = 0;
    }
  }
out:
  json_decref(doc);
  store_close(st);
  cfg_free(cfg);
  return rc;
}

/* ---- consumables: stock-take on the database ---- */

static void consumables_usage(FILE *f)
{
  fputs("usage: restockctl consumables set-spares ID N\n"
        "       restockctl consumables replaced ID\n"
        "       restockctl consumables hold ID [--reason TEXT]\n"
        "       restockctl consumables release ID\n"
        "ID is the full consumable id (device/consumable); N a whole number >= 0\n",
        f);
}

int ctl_consumables_main(const char *config_dir, int argc, char **argv)
{
  struct stock_req r;
  struct cfg *cfg = NULL;
  struct cfg_diags diags = {0};
  struct store *st = NULL;
  char err[512], msg[512];
  int i, rc = 1;
  enum rs_err e;

  memset(&r, 0, sizeof(r));
  if(argc < 3 || stock_op_parse(argv[1], &r.op)) {
    if(argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
      consumables_usage(stdout);
      return 0;
    }
    if(argc >= 2 && stock_op_parse(argv[1], &r.op))
      fprintf(stderr, "restockctl consumables: unknown command '%s'\n", argv[1]);
    consumables_usage(stderr);
    return 2;
  }
  r.id = argv[2];
  for(i = 3; i < argc; i++) {
    if(r.op == STOCK_SET_SPARES && !r.count)
      r.count = argv[i];
    else if(r.op == STOCK_HOLD && !strcmp(argv[i], "--reason") && i + 1 < argc && !r.reason)
      r.reason = argv[++i];
    else {
      fprintf(stderr, "restockctl consumables %s: unexpected argument '%s'\n", argv[1], argv[i]);
      consumables_usage(stderr);
      return 2;
    }
  }
  if(r.op == STOCK_SET_SPARES && !r.count) {
    fprintf(stderr, "restockctl consumables set-spares: needs the count (set-spares ID N)\n");
    return 2;
  }
  r.actor = "cli";
  r.source = "restockctl";
  if(cfg_load(config_dir, &cfg, &diags)) {
    cfg_diags_print(&diags, stderr);
    cfg_diags_free(&diags);
    return 2;
  }
  cfg_diags_free(&diags);
  if(!cfg_find_consumable(cfg, r.id)) {
    fprintf(stderr, "restockctl: no consumable '%s' (ids are device/consumable, as in "
                    "restockctl status)\n",
            r.id);
    rc = 2;
    goto out;
  }
  if(store_open_ex(cfg->storage.path, 0, &st, err, sizeof(err))) {
    fprintf(stderr, "restockctl: %s\n", err);
    goto out;
  }
  e = stock_apply(st, cfg, NULL, &r, daemon_clock_now_ms(st), msg, sizeof(msg));
  if(e == RS_ERR_INVALID || e == RS_ERR_NOT_FOUND) {
    fprintf(stderr, "restockctl: %s\n", msg);
    rc = 2;
  }
  else if(e)
    fprintf(stderr, "restockctl: %s\n", msg);
  else {
    printf("%s\n", msg);
    rc = 0;
  }
out:
  store_close(st);
  cfg_free(cfg);
  return rc;
}

/* ---- init-db: the explicit step that makes a database ---- */

int ctl_init_db_main(const char *config_dir, int argc, char **argv)
{
  struct cfg *cfg = NULL;
  struct cfg_diags diags = {0};
  struct store *st = NULL;
  struct stat sb;
  char err[1024];
  int rc = 1;
  (void)argv;
  if(argc > 1) {
    fprintf(stderr, "restockctl init-db: takes no arguments (use --config DIR)\n");
    return 2;
  }
  if(cfg_load(config_dir, &cfg, &diags)) {
    cfg_diags_print(&diags, stderr);
    cfg_diags_free(&diags);
    return 2;
  }
  cfg_diags_free(&diags);
  if(!stat(cfg->storage.path, &sb) && !(S_ISREG(sb.st_mode) && sb.st_size == 0)) {
    fprintf(stderr,
            "restockctl init-db: %s exists already; init-db never touches a database (restore "
            "a broken one from a backup, or move it away first)\n",
            cfg->storage.path);
    goto out;
  }
  if(store_open_ex(cfg->storage.path, STORE_OPEN_CREATE | STORE_OPEN_INIT_EMPTY, &st, err,
                   sizeof(err))) {
    fprintf(stderr, "restockctl: %s\n", err);
    goto out;
  }
  printf("created the database %s (schema version %d)\n", cfg->storage.path,
         store_schema_version(st));
  rc = 0;
out:
  store_close(st);
  cfg_free(cfg);
  return rc;
}
