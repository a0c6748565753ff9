/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shop: the sandbox shop (see shop.h, docs/sandbox-shop.md).
 *
 * One request goes: route (404/405 here) -> count the POST on its key ->
 * faults decided up front from the seeded RNG (latency, drop, 429, error,
 * HTML error; drop-after-processing and truncation are applied to the
 * answer) -> auth -> the endpoint. An order POST marks its key in progress
 * (a concurrent POST with that key gets 409), validates, waits the
 * processing delay, then records the order and its answer in one insert:
 * only a recorded order binds a key, so a 5xx leaves it free.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>
#include <sqlite3.h>

#include "config/config.h"
#include "base/httpd.h"
#include "base/httpd_mhd.h"
#include "base/rs_util.h"
#include "sim/simcfg.h"
#include "base/cli.h"
#include "base/clock.h"
#include "base/log.h"
#include "sim/shop.h"

#define SHOP_MAX_BODY  (1024u * 1024u)
#define SHOP_MAX_KEY   64
#define SHOP_MAX_LINES 1000

enum fault_idx { F_LATENCY, F_DROP, F_RATE, F_ERROR, F_HTML, F_TRUNC, F_COUNT };

struct inflight {
  char key[SHOP_MAX_KEY + 1];
  struct inflight *next;
};

struct shop {
  const struct simcfg_shop *cfg;
  double scale;
  struct MHD_Daemon *d;
  sqlite3 *db;
  pthread_mutex_t mu; /* db, rng, fired, inflight, keyless_posts */
  uint64_t rng;
  uint64_t fired[F_COUNT];
  struct inflight *inflight;
  uint64_t keyless_posts;
  uint16_t port;
  struct shop_hooks hooks; /* under mu */
  int64_t started_wall_ms;  /* real wall time at start */
  int64_t delivered_seq;    /* orders up to this seq were reported delivered */
  int64_t *reported;        /* orders above delivered_seq reported delivered (out of order) */
  size_t n_reported;
  uint64_t pace_rng;        /* lead-time jitter dice: the seed of every product's stream */
  uint64_t *pace_n;         /* per product (cfg->products order): orders it set the pace of */
};

/* What the faults decided for one request. */
struct plan {
  bool drop_before, drop_after, rate, error, html, truncate;
  int64_t latency_ms;
};

/* ---- small helpers ---- */

static uint64_t rng_next(uint64_t *s)
{
  /* splitmix64: small, seedable, good enough for fault dice */
  uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

/*
 * Queue an answer with the given status, content type and body (copied). An
 * extra header is added when name is not NULL. Returns MHD's result; MHD_NO
 * only when MHD itself failed (the connection is then dropped anyway).
 */
static enum MHD_Result send_body(struct MHD_Connection *conn, unsigned status, const char *ctype,
                                 const char *body, size_t len, const char *name, const char *value)
{
  const struct httpd_hdr h[] = {
      {MHD_HTTP_HEADER_CACHE_CONTROL, "no-store"}, {name, value}, {NULL, NULL}};
  return httpd_send(conn, status, ctype, body, len, h, NULL);
}

/* The error shape of SPEC section 9: {"error": {"code", "message"}}. */
static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned status, const char *code,
                                  const char *message, const char *name, const char *value)
{
  json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
  char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
  enum MHD_Result ret;
  json_decref(j);
  if(!text)
    return send_body(conn, 500, "text/plain", "out of memory\n", 14, NULL, NULL);
  ret = send_body(conn, status, "application/json", text, strlen(text), name, value);
  free(text);
  return ret;
}

/* Answer with j as compact JSON; truncate: only its first half (the fault). */
static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status, json_t *j,
                                 bool truncate)
{
  char *text = json_dumps(j, JSON_COMPACT);
  enum MHD_Result ret;
  size_t len;
  if(!text)
    return send_error(conn, 500, "internal", "cannot encode the answer", NULL, NULL);
  len = strlen(text);
  ret = send_body(conn, status, "application/json", text, truncate ? len / 2 : len, NULL, NULL);
  free(text);
  return ret;
}

/* Constant-time string equality for credentials. */
static bool same_secret(const char *a, const char *b)
{
  size_t la = strlen(a), lb = strlen(b), i;
  unsigned char d = la != lb;
  for(i = 0; i < la && i < lb; i++)
    d |= (unsigned char)(a[i] ^ b[i]);
  return d == 0;
}

/* ---- faults ---- */

/* Roll the dice for one fault on a request of this kind (lock held). */
static bool fault_fires(struct shop *s, enum fault_idx i, const struct simcfg_fault *f,
                        unsigned kind)
{
  double r;
  if(!f->set || !(f->requests & kind))
    return false;
  if(f->times && s->fired[i] >= (uint64_t)f->times)
    return false;
  r = (double)(rng_next(&s->rng) >> 11) * (1.0 / 9007199254740992.0);
  if(r >= f->probability)
    return false;
  s->fired[i]++;
  return true;
}

/*
 * Decide every fault for one request of this kind up front, under the lock,
 * so the dice are drawn in request order whatever the delays do.
 */
static void plan_faults(struct shop *s, unsigned kind, struct plan *p)
{
  const struct simcfg_shop *c = s->cfg;
  memset(p, 0, sizeof(*p));
  pthread_mutex_lock(&s->mu);
  if(fault_fires(s, F_LATENCY, &c->faults.latency.f, kind))
    p->latency_ms = c->faults.latency.delay_ms;
  if(fault_fires(s, F_DROP, &c->faults.drop.f, kind)) {
    p->drop_after = c->faults.drop.after_processing;
    p->drop_before = !p->drop_after;
  }
  if(!p->drop_before) {
    p->rate = fault_fires(s, F_RATE, &c->faults.rate_limit.f, kind);
    if(!p->rate)
      p->error = fault_fires(s, F_ERROR, &c->faults.error.f, kind);
    if(!p->rate && !p->error)
      p->html = fault_fires(s, F_HTML, &c->faults.html_error.f, kind);
    if(!p->rate && !p->error && !p->html)
      p->truncate = fault_fires(s, F_TRUNC, &c->faults.truncated.f, kind);
  }
  pthread_mutex_unlock(&s->mu);
}

/* Answer an injected error fault (429, 5xx JSON, HTML page). */
static enum MHD_Result send_fault(struct shop *s, struct MHD_Connection *conn, const struct plan *p)
{
  const struct simcfg_shop *c = s->cfg;
  if(p->rate) {
    char ra[64];
    int64_t secs = c->faults.rate_limit.retry_after_ms / 1000;
    if(c->faults.rate_limit.http_date) {
      time_t t = (time_t)(clock_real_wall_ms() / 1000 + secs);
      struct tm tm;
      gmtime_r(&t, &tm);
      strftime(ra, sizeof(ra), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    }
    else
      snprintf(ra, sizeof(ra), "%lld", (long long)secs);
    return send_error(conn, 429, "rate_limited", "too many requests (simulated)",
                      MHD_HTTP_HEADER_RETRY_AFTER, ra);
  }
  if(p->error)
    return send_error(conn, (unsigned)c->faults.error.status, "internal", "simulated server error",
                      NULL, NULL);
  {
    char page[512];
    int st = c->faults.html_error.status;
    snprintf(page, sizeof(page),
             "<html>\r\n<head><title>%d Bad Gateway</title></head>\r\n<body>\r\n"
             "<center><h1>%d Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
             "</body>\r\n</html>\r\n",
             st, st);
    return send_body(conn, (unsigned)st, "text/html", page, strlen(page), NULL, NULL);
  }
}

/* ---- database ---- */

static const char shop_schema[] = "PRAGMA journal_mode=WAL;"
                                  "PRAGMA synchronous=NORMAL;"
                                  "CREATE TABLE IF NOT EXISTS orders("
                                  " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                                  " id TEXT NOT NULL UNIQUE,"
                                  " idem_key TEXT NOT NULL UNIQUE,"
                                  " reference TEXT NOT NULL,"
                                  " body BLOB NOT NULL,"
                                  " response TEXT NOT NULL,"
                                  " n_lines INTEGER NOT NULL,"
                                  " created_ms INTEGER NOT NULL,"
                                  " cancelled INTEGER NOT NULL DEFAULT 0,"
                                  " pace_ms INTEGER NOT NULL DEFAULT 0);"
                                  "CREATE TABLE IF NOT EXISTS posts("
                                  " idem_key TEXT PRIMARY KEY,"
                                  " n INTEGER NOT NULL);";

/*
 * SQLite's message for the last error on db (rc: its code) into buf: a
 * write beyond a file size limit is an I/O error to SQLite, so then the
 * limit is named too. Returns buf.
 */
static const char *db_error(sqlite3 *db, int rc, char *buf, size_t size)
{
  char note[128];
  const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if((rc & 0xff) != SQLITE_IOERR || !cli_fsize_note(note, sizeof(note))[0] ||
     rs_snprintf(buf, size, "%s; %s", msg, note))
    (void)rs_strlcpy(buf, msg, size);
  return buf;
}

/* Open or create the shop's database (WAL) and its tables. 0, or -1 with err. */
static int db_open(struct shop *s, char *err, size_t errlen)
{
  char *msg = NULL;
  int rc =
      sqlite3_open_v2(s->cfg->db_path, &s->db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
  if(rc != SQLITE_OK) {
    snprintf(err, errlen, "%s: cannot open the shop database: %s", s->cfg->db_path,
             s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
    return -1;
  }
  sqlite3_busy_timeout(s->db, 5000);
  if(sqlite3_exec(s->db, shop_schema, NULL, NULL, &msg) != SQLITE_OK) {
    char why[320];
    snprintf(err, errlen, "%s: cannot set up the shop database: %s", s->cfg->db_path,
             db_error(s->db, sqlite3_extended_errcode(s->db), why, sizeof(why)));
    sqlite3_free(msg);
    return -1;
  }
  /* a database from before lead-time pacing: add the column (an error means it is there) */
  if(sqlite3_exec(s->db, "ALTER TABLE orders ADD COLUMN pace_ms INTEGER NOT NULL DEFAULT 0", NULL,
                  NULL, NULL) == SQLITE_OK)
    log_info("shop: %s: orders gained pace_ms (lead-time pacing)", s->cfg->db_path);
  return 0;
}

/* Count one POST carrying key (lock held). */
static void db_count_post(struct shop *s, const char *key)
{
  sqlite3_stmt *st = NULL;
  if(sqlite3_prepare_v2(s->db,
                        "INSERT INTO posts(idem_key, n) VALUES(?1, 1) "
                        "ON CONFLICT(idem_key) DO UPDATE SET n = n + 1",
                        -1, &st, NULL) == SQLITE_OK) {
    char why[320];
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    if(sqlite3_step(st) != SQLITE_DONE)
      log_warn("shop: cannot count a POST: %s",
               db_error(s->db, sqlite3_extended_errcode(s->db), why, sizeof(why)));
  }
  sqlite3_finalize(st);
}

/*
 * The recorded order for key (lock held): returns 1 and sets *body (the
 * request body as first received) and *response (malloc'd), 0 when none,
 * -1 on a database error.
 */
static int db_find_key(struct shop *s, const char *key, char **body, size_t *body_len,
                       char **response)
{
  sqlite3_stmt *st = NULL;
  int rc = -1;
  *body = *response = NULL;
  if(sqlite3_prepare_v2(s->db, "SELECT body, response FROM orders WHERE idem_key = ?1", -1, &st,
                        NULL) != SQLITE_OK)
    goto out;
  sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step(st);
  if(rc == SQLITE_DONE) {
    rc = 0;
    goto out;
  }
  if(rc != SQLITE_ROW) {
    rc = -1;
    goto out;
  }
  *body_len = (size_t)sqlite3_column_bytes(st, 0);
  *body = rs_xmalloc(*body_len + 1);
  if(*body_len)
    memcpy(*body, sqlite3_column_blob(st, 0), *body_len);
  (*body)[*body_len] = '\0';
  *response = rs_xstrdup((const char *)sqlite3_column_text(st, 1));
  rc = 1;
out:
  sqlite3_finalize(st);
  return rc;
}

/* Whether key is being processed by another request (lock held). */
static bool inflight_has(struct shop *s, const char *key)
{
  struct inflight *f;
  for(f = s->inflight; f; f = f->next)
    if(!strcmp(f->key, key))
      return true;
  return false;
}

static void inflight_remove(struct shop *s, const char *key)
{
  struct inflight **pp, *f;
  pthread_mutex_lock(&s->mu);
  for(pp = &s->inflight; (f = *pp); pp = &f->next)
    if(!strcmp(f->key, key)) {
      *pp = f->next;
      free(f);
      break;
    }
  pthread_mutex_unlock(&s->mu);
}

/* ---- order status by the pace ---- */

/*
 * An order's status from its age: delivered pace_ms (simulated) after it was
 * created, shipped min(deliver_after, pace/2) before that. pace_ms 0 (an
 * order of products without lead time, or from an older database) is
 * ship_after + deliver_after.
 */
static const char *order_status(const struct shop *s, int64_t created_ms, int64_t pace_ms,
                                bool cancelled)
{
  double sim_elapsed = (double)(clock_real_wall_ms() - created_ms) * s->scale;
  int64_t ship;
  if(cancelled)
    return "cancelled";
  if(pace_ms <= 0)
    pace_ms = s->cfg->ship_after_ms + s->cfg->deliver_after_ms;
  ship = pace_ms - (s->cfg->deliver_after_ms < pace_ms / 2 ? s->cfg->deliver_after_ms : pace_ms / 2);
  if(sim_elapsed >= (double)pace_ms)
    return "delivered";
  if(sim_elapsed >= (double)ship)
    return "shipped";
  return "accepted";
}

/*
 * The pace of a new order (lock held): the longest lead_time_days of its
 * lines' products, times 1 +- pace.jitter (uniform); 0 when no line has a
 * lead time (then order_status uses ship_after + deliver_after). The draw
 * is the n-th of the slowest product's own stream (n: the orders it set the
 * pace of since the shop started): one part ordered more often, or at other
 * times, leaves every other product's lead times as they were (one stream
 * for all orders made each part's deliveries depend on every other part's
 * order count, and a plant bench's figures on the smallest change).
 */
static int64_t order_pace(struct shop *s, const json_t *root)
{
  const json_t *lines = json_object_get(root, "lines"), *line;
  const struct simcfg_product *slow = NULL;
  uint64_t state;
  double u;
  size_t i, k;
  json_array_foreach(lines, i, line)
  {
    const struct simcfg_product *p =
        simcfg_find_product(s->cfg, json_string_value(json_object_get(line, "sku")));
    if(p && p->lead_time_days > 0 && (!slow || p->lead_time_days > slow->lead_time_days))
      slow = p;
  }
  if(!slow)
    return 0;
  k = (size_t)(slow - s->cfg->products);
  state = s->pace_rng ^ ((uint64_t)(k + 1) * UINT64_C(0xD1B54A32D192ED03));
  state += s->pace_n[k]++ * UINT64_C(0x9E3779B97F4A7C15);
  (void)rng_next(&state); /* mixes the product and the count in */
  u = (double)(rng_next(&state) >> 11) * (1.0 / 9007199254740992.0);
  return (int64_t)((double)slow->lead_time_days * 86400000.0 *
                   (1.0 + s->cfg->jitter * (2.0 * u - 1.0)));
}

/* ---- POST {base}/orders ---- */

/*
 * Check an order body. Returns 0, or the HTTP status (400 bad JSON, 422 a
 * wrong shape or unknown SKU) with code and message filled; *n_lines and
 * *reference (owned by *root) are set on success.
 */
static unsigned validate_order(struct shop *s, const char *body, size_t len, json_t **root,
                               size_t *n_lines, const char **reference, const char **code,
                               char *msg, size_t msglen)
{
  json_error_t je;
  json_t *j, *ship, *lines, *line;
  const char *cur, *str;
  int dec;
  size_t i;
  static const char *const ship_keys[] = {"name", "street", "city", "country"};

  *root = j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
  *code = "invalid_order";
  if(!j) {
    *code = "invalid_json";
    snprintf(msg, msglen, "the body is not JSON: %s (line %d, column %d)", je.text, je.line,
             je.column);
    return 400;
  }
  if(!json_is_object(j)) {
    snprintf(msg, msglen, "the body must be a JSON object");
    return 422;
  }
  str = json_string_value(json_object_get(j, "reference"));
  if(!str || !*str || strlen(str) > 64) {
    snprintf(msg, msglen, "reference: expected a string of 1 to 64 characters");
    return 422;
  }
  *reference = str;
  str = json_string_value(json_object_get(j, "customer_id"));
  if(!str || !*str) {
    snprintf(msg, msglen, "customer_id: expected a non-empty string");
    return 422;
  }
  ship = json_object_get(j, "ship_to");
  if(!json_is_object(ship)) {
    snprintf(msg, msglen, "ship_to: expected an object with name, street, city, country");
    return 422;
  }
  for(i = 0; i < RS_ARRAY_LEN(ship_keys); i++) {
    str = json_string_value(json_object_get(ship, ship_keys[i]));
    if(!str || !*str) {
      snprintf(msg, msglen, "ship_to.%s: expected a non-empty string", ship_keys[i]);
      return 422;
    }
  }
  str = json_string_value(json_object_get(ship, "country"));
  if(strlen(str) != 2 || str[0] < 'A' || str[0] > 'Z' || str[1] < 'A' || str[1] > 'Z') {
    snprintf(msg, msglen, "ship_to.country: '%s' is not an ISO 3166-1 alpha-2 code", str);
    return 422;
  }
  if(json_object_get(ship, "postcode") && !json_is_string(json_object_get(ship, "postcode"))) {
    snprintf(msg, msglen, "ship_to.postcode: expected a string");
    return 422;
  }
  cur = json_string_value(json_object_get(j, "currency"));
  if(!cur || (dec = cfg_currency_decimals(cur)) < 0) {
    snprintf(msg, msglen, "currency: expected an ISO 4217 code");
    return 422;
  }
  lines = json_object_get(j, "lines");
  if(!json_is_array(lines) || !json_array_size(lines) || json_array_size(lines) > SHOP_MAX_LINES) {
    snprintf(msg, msglen, "lines: expected a list of 1 to %d lines", SHOP_MAX_LINES);
    return 422;
  }
  json_array_foreach(lines, i, line)
  {
    const struct simcfg_product *p;
    json_t *q = json_object_get(line, "quantity"), *up = json_object_get(line, "unit_price");
    const char *sku = json_string_value(json_object_get(line, "sku"));
    char e[128];
    int64_t minor;
    if(!json_is_object(line) || !sku) {
      snprintf(msg, msglen, "lines[%zu]: expected an object with sku and quantity", i);
      return 422;
    }
    if(!json_is_integer(q) || json_integer_value(q) < 1 || json_integer_value(q) > 1000000) {
      snprintf(msg, msglen, "lines[%zu].quantity: expected an integer from 1 to 1000000", i);
      return 422;
    }
    if(up &&
       (!json_is_string(up) || cfg_parse_money(json_string_value(up), dec, &minor, e, sizeof(e)))) {
      snprintf(msg, msglen, "lines[%zu].unit_price: expected a decimal string in %s", i, cur);
      return 422;
    }
    if(!(p = simcfg_find_product(s->cfg, sku))) {
      *code = "unknown_sku";
      snprintf(msg, msglen, "lines[%zu].sku: unknown SKU '%.64s'", i, sku);
      return 422;
    }
    if(strcmp(p->currency, cur)) {
      *code = "currency_mismatch";
      snprintf(msg, msglen, "lines[%zu].sku: '%s' is sold in %s, not %s", i, sku, p->currency, cur);
      return 422;
    }
  }
  *n_lines = json_array_size(lines);
  return 0;
}

/*
 * POST {base}/orders once the key is known valid: 409 while the key is in
 * progress, the replay or 422 for a recorded key, else validate, wait the
 * processing delay and record (201). A database failure answers 500 and
 * leaves the key unbound.
 */
static enum MHD_Result post_order(struct shop *s, struct MHD_Connection *conn, const char *key,
                                  const struct httpd_body *rq, const struct plan *pl)
{
  json_t *root = NULL, *answer = NULL;
  char *old_body = NULL, *old_resp = NULL, msg[256];
  const char *code = NULL, *reference = NULL;
  size_t old_len = 0, n_lines = 0;
  enum MHD_Result ret;
  unsigned st;
  int found;
  struct inflight *f;
  char id[32], when[40], *text = NULL;
  sqlite3_stmt *ins = NULL;
  int64_t now, pace = 0;

  pthread_mutex_lock(&s->mu);
  if(inflight_has(s, key)) {
    pthread_mutex_unlock(&s->mu);
    return send_error(conn, 409, "in_progress",
                      "an order with this Idempotency-Key is being processed; retry later", NULL,
                      NULL);
  }
  found = db_find_key(s, key, &old_body, &old_len, &old_resp);
  if(found == 0) {
    f = rs_xcalloc(1, sizeof(*f));
    rs_strlcpy(f->key, key, sizeof(f->key));
    f->next = s->inflight;
    s->inflight = f;
  }
  pthread_mutex_unlock(&s->mu);
  if(found < 0)
    return send_error(conn, 500, "internal", "database error", NULL, NULL);
  if(found > 0) {
    bool same = old_len == rq->buf.len && (!old_len || !memcmp(old_body, rq->buf.data, old_len));
    if(same) {
      size_t rl = strlen(old_resp);
      ret = send_body(conn, 200, "application/json", old_resp, pl->truncate ? rl / 2 : rl,
                      "Idempotent-Replayed", "true");
    }
    else
      ret = send_error(conn, 422, "idempotency_key_reused",
                       "this Idempotency-Key was used with another body", NULL, NULL);
    free(old_body);
    free(old_resp);
    return ret;
  }

  st = validate_order(s, rq->buf.data ? rq->buf.data : "", rq->buf.len, &root, &n_lines,
                      &reference, &code, msg, sizeof(msg));
  if(st) {
    inflight_remove(s, key);
    json_decref(root);
    return send_error(conn, st, code, msg, NULL, NULL);
  }
  /* the in-progress window: a concurrent POST with this key sees 409 */
  clock_sleep_real_ms(s->cfg->processing_ms);

  now = clock_real_wall_ms();
  clock_format_rfc3339(now, when, sizeof(when));
  pthread_mutex_lock(&s->mu);
  pace = order_pace(s, root);
  {
    sqlite3_stmt *q = NULL;
    int64_t next = 1;
    if(sqlite3_prepare_v2(s->db, "SELECT COALESCE(MAX(seq), 0) + 1 FROM orders", -1, &q, NULL) ==
           SQLITE_OK &&
       sqlite3_step(q) == SQLITE_ROW)
      next = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    snprintf(id, sizeof(id), "SO-%06lld", (long long)next);
  }
  answer = json_pack("{s:s,s:s,s:s,s:s}", "id", id, "status", "accepted", "reference", reference,
                     "created_at", when);
  text = answer ? json_dumps(answer, JSON_COMPACT) : NULL;
  st = 500;
  if(text &&
     sqlite3_prepare_v2(s->db,
                        "INSERT INTO orders(id, idem_key, reference, body, response, n_lines, "
                        "created_ms, pace_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                        -1, &ins, NULL) == SQLITE_OK) {
    char why[320];
    sqlite3_bind_text(ins, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 2, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 3, reference, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(ins, 4, rq->buf.data ? rq->buf.data : "", (int)rq->buf.len,
                      SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 5, text, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(ins, 6, (sqlite3_int64)n_lines);
    sqlite3_bind_int64(ins, 7, now);
    sqlite3_bind_int64(ins, 8, pace);
    if(sqlite3_step(ins) == SQLITE_DONE)
      st = 201;
    else
      log_err("shop: cannot record order %s: %s", id,
              db_error(s->db, sqlite3_extended_errcode(s->db), why, sizeof(why)));
  }
  sqlite3_finalize(ins);
  pthread_mutex_unlock(&s->mu);
  inflight_remove(s, key);
  if(st == 201) {
    log_info("shop: order %s accepted for key %s (%zu lines)", id, key, n_lines);
    if(pl->drop_after)
      ret = MHD_NO; /* the fault: the order is recorded, the answer is lost */
    else
      ret = send_json(conn, 201, answer, pl->truncate);
  }
  else
    ret = send_error(conn, 500, "internal", "cannot record the order", NULL, NULL);
  free(text);
  json_decref(answer);
  json_decref(root);
  return ret;
}

/* ---- GET endpoints ---- */

/* GET {base}/orders/{id}: the status by the pace, tracking once shipped; 404 unknown. */
static enum MHD_Result get_order(struct shop *s, struct MHD_Connection *conn, const char *id,
                                 const struct plan *pl)
{
  sqlite3_stmt *st = NULL;
  json_t *j = NULL;
  enum MHD_Result ret;
  pthread_mutex_lock(&s->mu);
  if(sqlite3_prepare_v2(s->db,
                        "SELECT seq, created_ms, cancelled, pace_ms FROM orders WHERE id = ?1", -1,
                        &st, NULL) == SQLITE_OK) {
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    if(sqlite3_step(st) == SQLITE_ROW) {
      const char *status = order_status(s, sqlite3_column_int64(st, 1),
                                        sqlite3_column_int64(st, 3), sqlite3_column_int(st, 2) != 0);
      j = json_pack("{s:s,s:s}", "id", id, "status", status);
      if(j && (!strcmp(status, "shipped") || !strcmp(status, "delivered"))) {
        char tr[48];
        snprintf(tr, sizeof(tr), "SIMTRACK%08lld", (long long)sqlite3_column_int64(st, 0));
        json_object_set_new(j, "tracking", json_string(tr));
      }
    }
  }
  sqlite3_finalize(st);
  pthread_mutex_unlock(&s->mu);
  if(!j)
    return send_error(conn, 404, "not_found", "no such order", NULL, NULL);
  if(pl->drop_after) {
    json_decref(j);
    return MHD_NO;
  }
  ret = send_json(conn, 200, j, pl->truncate);
  json_decref(j);
  return ret;
}

/* GET {base}/products/{sku} from the configured products; 404 unknown. */
static enum MHD_Result get_product(struct shop *s, struct MHD_Connection *conn, const char *sku,
                                   const struct plan *pl)
{
  const struct simcfg_product *p = simcfg_find_product(s->cfg, sku);
  json_t *j;
  enum MHD_Result ret;
  if(!p)
    return send_error(conn, 404, "not_found", "no such product", NULL, NULL);
  if(pl->drop_after)
    return MHD_NO;
  j = json_pack("{s:s,s:s,s:s,s:I,s:b}", "sku", p->sku, "unit_price", p->unit_price, "currency",
                p->currency, "lead_time_days", (json_int_t)p->lead_time_days, "available",
                p->available);
  ret = send_json(conn, 200, j, pl->truncate);
  json_decref(j);
  return ret;
}

/* ---- /sim/: inspection for tests (never faulted, never authenticated) ---- */

/* GET /sim/orders: every order with its key and POST count, and every key seen. */
static enum MHD_Result sim_orders(struct shop *s, struct MHD_Connection *conn)
{
  sqlite3_stmt *st = NULL;
  json_t *j = json_object(), *orders = json_array(), *keys = json_array();
  enum MHD_Result ret;
  json_int_t total = 0;
  pthread_mutex_lock(&s->mu);
  if(sqlite3_prepare_v2(s->db,
                        "SELECT o.id, o.idem_key, o.reference, o.created_ms, o.cancelled, "
                        "o.n_lines, COALESCE(p.n, 0), o.body, o.pace_ms FROM orders o "
                        "LEFT JOIN posts p ON p.idem_key = o.idem_key ORDER BY o.seq",
                        -1, &st, NULL) == SQLITE_OK) {
    while(sqlite3_step(st) == SQLITE_ROW) {
      char when[40];
      clock_format_rfc3339(sqlite3_column_int64(st, 3), when, sizeof(when));
      json_array_append_new(
          orders,
          json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s%,s:I}", "id", sqlite3_column_text(st, 0),
                    "idempotency_key", sqlite3_column_text(st, 1), "reference",
                    sqlite3_column_text(st, 2), "created_at", when, "status",
                    order_status(s, sqlite3_column_int64(st, 3), sqlite3_column_int64(st, 8),
                                 sqlite3_column_int(st, 4) != 0),
                    "lines", (json_int_t)sqlite3_column_int64(st, 5), "posts",
                    (json_int_t)sqlite3_column_int64(st, 6), "body",
                    (const char *)sqlite3_column_blob(st, 7), (size_t)sqlite3_column_bytes(st, 7),
                    "pace_ms", (json_int_t)sqlite3_column_int64(st, 8)));
    }
  }
  sqlite3_finalize(st);
  st = NULL;
  if(sqlite3_prepare_v2(s->db, "SELECT idem_key, n FROM posts ORDER BY idem_key", -1, &st, NULL) ==
     SQLITE_OK) {
    while(sqlite3_step(st) == SQLITE_ROW) {
      total += (json_int_t)sqlite3_column_int64(st, 1);
      json_array_append_new(keys,
                            json_pack("{s:s,s:I}", "idempotency_key", sqlite3_column_text(st, 0),
                                      "posts", (json_int_t)sqlite3_column_int64(st, 1)));
    }
  }
  sqlite3_finalize(st);
  json_object_set_new(j, "posts_without_key", json_integer((json_int_t)s->keyless_posts));
  pthread_mutex_unlock(&s->mu);
  json_object_set_new(j, "posts_total", json_integer(total));
  json_object_set_new(j, "orders", orders);
  json_object_set_new(j, "keys", keys);
  ret = send_json(conn, 200, j, false);
  json_decref(j);
  return ret;
}

/* POST /sim/orders/{id}/cancel: mark the order cancelled; 404 unknown. */
static enum MHD_Result sim_cancel(struct shop *s, struct MHD_Connection *conn, const char *id)
{
  sqlite3_stmt *st = NULL;
  int changed = 0;
  pthread_mutex_lock(&s->mu);
  if(sqlite3_prepare_v2(s->db, "UPDATE orders SET cancelled = 1 WHERE id = ?1", -1, &st, NULL) ==
     SQLITE_OK) {
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    if(sqlite3_step(st) == SQLITE_DONE)
      changed = sqlite3_changes(s->db);
  }
  sqlite3_finalize(st);
  pthread_mutex_unlock(&s->mu);
  if(!changed)
    return send_error(conn, 404, "not_found", "no such order", NULL, NULL);
  return send_body(conn, 200, "application/json", "{\"cancelled\":true}", 18, NULL, NULL);
}

/* POST /sim/press/{device}/{point}: the device simulator's press hook. */
static enum MHD_Result sim_press(struct shop *s, struct MHD_Connection *conn, const char *rest)
{
  struct shop_hooks h;
  char dev[80], msg[256];
  const char *slash = strchr(rest, '/');
  size_t n = slash ? (size_t)(slash - rest) : 0;
  json_t *j;
  enum MHD_Result ret;
  int rc;
  pthread_mutex_lock(&s->mu);
  h = s->hooks;
  pthread_mutex_unlock(&s->mu);
  if(!h.press)
    return send_error(conn, 404, "not_found", "no device simulator runs here", NULL, NULL);
  if(!slash || !n || n >= sizeof(dev) || !slash[1] || strchr(slash + 1, '/'))
    return send_error(conn, 404, "not_found", "expected /sim/press/{device}/{point}", NULL, NULL);
  memcpy(dev, rest, n);
  dev[n] = '\0';
  msg[0] = '\0';
  rc = h.press(h.ctx, dev, slash + 1, msg, sizeof(msg));
  if(rc > 0)
    return send_error(conn, 404, "not_found", msg[0] ? msg : "no such button", NULL, NULL);
  if(rc < 0)
    return send_error(conn, 409, "conflict", msg[0] ? msg : "cannot press", NULL, NULL);
  j = json_pack("{s:s,s:s,s:b}", "device", dev, "point", slash + 1, "pressed", 1);
  ret = j ? send_json(conn, 200, j, false)
          : send_error(conn, 500, "internal", "out of memory", NULL, NULL);
  json_decref(j);
  return ret;
}

/* GET /sim/devices: the device simulator's state hook. */
static enum MHD_Result sim_devices(struct shop *s, struct MHD_Connection *conn)
{
  struct shop_hooks h;
  char *text;
  enum MHD_Result ret;
  pthread_mutex_lock(&s->mu);
  h = s->hooks;
  pthread_mutex_unlock(&s->mu);
  if(!h.state)
    return send_error(conn, 404, "not_found", "no device simulator runs here", NULL, NULL);
  if(!(text = h.state(h.ctx)))
    return send_error(conn, 500, "internal", "cannot describe the devices", NULL, NULL);
  ret = send_body(conn, 200, "application/json", text, strlen(text), NULL, NULL);
  free(text);
  return ret;
}

void shop_set_hooks(struct shop *s, const struct shop_hooks *h)
{
  pthread_mutex_lock(&s->mu);
  s->hooks = *h;
  pthread_mutex_unlock(&s->mu);
}

/* One delivered line collected under the lock, reported after it. */
struct dline {
  char order[32];
  char *sku;
  int64_t qty;
  int64_t when;
};

/* Whether order seq was already reported delivered (lock held). */
static bool reported(const struct shop *s, int64_t seq)
{
  size_t i;
  if(seq <= s->delivered_seq)
    return true;
  for(i = 0; i < s->n_reported; i++)
    if(s->reported[i] == seq)
      return true;
  return false;
}

/* Mark seq done and move the low-water mark over every done order (lock held). */
static void mark_reported(struct shop *s, int64_t seq)
{
  size_t i;
  s->reported = rs_xrealloc(s->reported, (s->n_reported + 1) * sizeof(*s->reported));
  s->reported[s->n_reported++] = seq;
  for(i = 0; i < s->n_reported;) {
    if(s->reported[i] == s->delivered_seq + 1) {
      s->delivered_seq++;
      s->reported[i] = s->reported[--s->n_reported];
      i = 0;
    }
    else if(s->reported[i] <= s->delivered_seq)
      s->reported[i] = s->reported[--s->n_reported];
    else
      i++;
  }
}

int shop_poll_deliveries(struct shop *s, shop_delivered_fn fn, void *ctx, int64_t *next_wall_ms)
{
  sqlite3_stmt *st = NULL;
  struct dline *v = NULL;
  size_t n = 0, cap = 0, i;
  int orders = 0;
  double old_pace = (double)(s->cfg->ship_after_ms + s->cfg->deliver_after_ms);
  int64_t next = INT64_MAX;
  pthread_mutex_lock(&s->mu);
  if(sqlite3_prepare_v2(s->db,
                        "SELECT seq, id, created_ms, cancelled, body, pace_ms FROM orders "
                        "WHERE seq > ?1 ORDER BY seq",
                        -1, &st, NULL) == SQLITE_OK) {
    sqlite3_bind_int64(st, 1, s->delivered_seq);
    while(sqlite3_step(st) == SQLITE_ROW) {
      int64_t seq = sqlite3_column_int64(st, 0);
      int64_t created = sqlite3_column_int64(st, 2), pace = sqlite3_column_int64(st, 5);
      int64_t when = created + (int64_t)((pace > 0 ? (double)pace : old_pace) / s->scale);
      const char *id = (const char *)sqlite3_column_text(st, 1);
      json_t *root, *lines, *line;
      size_t k;
      if(reported(s, seq))
        continue;
      if(sqlite3_column_int(st, 3)) {
        mark_reported(s, seq); /* cancelled: never delivered */
        continue;
      }
      /* each order has its own pace (lead times): later ones may arrive first */
      if(strcmp(order_status(s, created, pace, false), "delivered")) {
        if(when < next)
          next = when;
        continue;
      }
      mark_reported(s, seq);
      if(when < s->started_wall_ms)
        continue;
      orders++;
      root = json_loadb((const char *)sqlite3_column_blob(st, 4),
                        (size_t)sqlite3_column_bytes(st, 4), 0, NULL);
      lines = json_object_get(root, "lines");
      json_array_foreach(lines, k, line)
      {
        const char *sku = json_string_value(json_object_get(line, "sku"));
        json_t *q = json_object_get(line, "quantity");
        if(!sku || !json_is_integer(q))
          continue;
        if(n == cap) {
          cap = cap ? 2 * cap : 8;
          v = rs_xrealloc(v, cap * sizeof(*v));
        }
        rs_strlcpy(v[n].order, id ? id : "", sizeof(v[n].order));
        v[n].sku = rs_xstrdup(sku);
        v[n].qty = (int64_t)json_integer_value(q);
        v[n].when = when;
        n++;
      }
      json_decref(root);
    }
  }
  sqlite3_finalize(st);
  pthread_mutex_unlock(&s->mu);
  if(next_wall_ms)
    *next_wall_ms = next;
  for(i = 0; i < n; i++) {
    if(fn)
      fn(ctx, v[i].order, v[i].sku, v[i].qty, v[i].when);
    free(v[i].sku);
  }
  free(v);
  return orders;
}

/* ---- routing ---- */

static bool auth_ok(const struct shop *s, struct MHD_Connection *conn)
{
  const struct simcfg_shop *c = s->cfg;
  if(c->auth == SIMCFG_AUTH_BEARER) {
    const char *h =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    return h && !strncmp(h, "Bearer ", 7) && same_secret(h + 7, c->token);
  }
  if(c->auth == SIMCFG_AUTH_BASIC) {
    char *pass = NULL;
    char *user = MHD_basic_auth_get_username_password(conn, &pass);
    bool ok = user && pass && same_secret(user, c->username) && same_secret(pass, c->password);
    MHD_free(user);
    MHD_free(pass);
    return ok;
  }
  return true;
}

static enum MHD_Result method_not_allowed(struct MHD_Connection *conn, const char *allow)
{
  return send_error(conn, 405, "method_not_allowed", "method not allowed here",
                    MHD_HTTP_HEADER_ALLOW, allow);
}

/* Answer one complete request (body in rq). */
static enum MHD_Result handle(struct shop *s, struct MHD_Connection *conn, const char *url,
                              const char *method, struct httpd_body *rq)
{
  const char *base = s->cfg->base_path;
  size_t bl = strlen(base);
  const char *rest, *key = NULL;
  unsigned kind;
  bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
  bool post = !strcmp(method, "POST");
  struct plan pl;

  if(!strcmp(url, "/sim/orders"))
    return get ? sim_orders(s, conn) : method_not_allowed(conn, "GET");
  if(!strcmp(url, "/sim/devices"))
    return get ? sim_devices(s, conn) : method_not_allowed(conn, "GET");
  if(!strncmp(url, "/sim/press/", 11))
    return post ? sim_press(s, conn, url + 11) : method_not_allowed(conn, "POST");
  if(!strncmp(url, "/sim/orders/", 12) && strlen(url) > 19 &&
     !strcmp(url + strlen(url) - 7, "/cancel")) {
    char id[64];
    size_t n = strlen(url) - 12 - 7;
    if(n >= sizeof(id))
      return send_error(conn, 404, "not_found", "no such order", NULL, NULL);
    memcpy(id, url + 12, n);
    id[n] = '\0';
    return post ? sim_cancel(s, conn, id) : method_not_allowed(conn, "POST");
  }
  if(strncmp(url, base, bl) || url[bl] != '/')
    return send_error(conn, 404, "not_found", "no such resource", NULL, NULL);
  rest = url + bl + 1;
  if(!strcmp(rest, "orders")) {
    if(!post)
      return method_not_allowed(conn, "POST");
    kind = SIMCFG_REQ_ORDERS_POST;
    key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Idempotency-Key");
    pthread_mutex_lock(&s->mu);
    if(key && *key && strlen(key) <= SHOP_MAX_KEY)
      db_count_post(s, key);
    else
      s->keyless_posts++;
    pthread_mutex_unlock(&s->mu);
  }
  else if(!strncmp(rest, "orders/", 7) && rest[7] && !strchr(rest + 7, '/')) {
    if(!get)
      return method_not_allowed(conn, "GET");
    kind = SIMCFG_REQ_ORDERS_GET;
  }
  else if(!strncmp(rest, "products/", 9) && rest[9]) {
    if(!get)
      return method_not_allowed(conn, "GET");
    kind = SIMCFG_REQ_PRODUCTS;
  }
  else
    return send_error(conn, 404, "not_found", "no such resource", NULL, NULL);

  plan_faults(s, kind, &pl);
  clock_sleep_real_ms(pl.latency_ms);
  if(pl.drop_before)
    return MHD_NO; /* the fault: close without answering */
  if(pl.rate || pl.error || pl.html)
    return send_fault(s, conn, &pl);
  if(!auth_ok(s, conn))
    return send_error(conn, 401, "unauthorized", "missing or wrong credentials",
                      MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                      s->cfg->auth == SIMCFG_AUTH_BASIC ? "Basic realm=\"restock-sim\""
                                                        : "Bearer realm=\"restock-sim\"");
  if(kind == SIMCFG_REQ_ORDERS_POST) {
    if(rq->too_large)
      return send_error(conn, 413, "too_large", "the body is over 1 MiB", NULL, NULL);
    if(!key || !*key)
      return send_error(conn, 400, "missing_idempotency_key",
                        "the Idempotency-Key header is required", NULL, NULL);
    if(strlen(key) > SHOP_MAX_KEY)
      return send_error(conn, 400, "invalid_idempotency_key",
                        "the Idempotency-Key is longer than 64 characters", NULL, NULL);
    return post_order(s, conn, key, rq, &pl);
  }
  if(kind == SIMCFG_REQ_ORDERS_GET)
    return get_order(s, conn, rest + 7, &pl);
  return get_product(s, conn, rest + 9, &pl);
}

/*
 * MHD's access handler: the first call (headers only) allocates the request
 * state, body chunks are gathered, the last call answers. Never returns
 * MHD_NO except for the injected "drop" fault or an MHD failure.
 */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
  (void)version;
  switch(httpd_body_collect(con_cls, upload_data, upload_data_size, SHOP_MAX_BODY)) {
  case HTTPD_OOM:
    return MHD_NO;
  case HTTPD_FIRST:
  case HTTPD_MORE:
    return MHD_YES;
  case HTTPD_DONE:
    break;
  }
  return handle(cls, conn, url, method, httpd_body_of(*con_cls));
}

/* MHD's completion callback: free the request state. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
  (void)cls;
  (void)conn;
  (void)toe;
  httpd_body_done(con_cls);
}

/* libmicrohttpd's own messages ("Application reported internal error" after a drop fault). */
static struct httpd_logger mhd_logger = {LOG_LVL_DEBUG, "shop: libmicrohttpd: "};

int shop_start(const struct simcfg_shop *cfg, double time_scale, struct shop **out, char *err,
               size_t errlen)
{
  struct shop *s = rs_xcalloc(1, sizeof(*s));
  struct sockaddr_in sa;
  const union MHD_DaemonInfo *info;
  *out = NULL;
  s->cfg = cfg;
  s->scale = time_scale > 0 ? time_scale : 1;
  s->rng = cfg->faults.seed;
  s->pace_rng = cfg->faults.seed ^ UINT64_C(0x6c656164); /* its own dice: faults keep theirs */
  s->pace_n = rs_xcalloc(cfg->n_products + 1, sizeof(*s->pace_n));
  s->started_wall_ms = clock_real_wall_ms();
  pthread_mutex_init(&s->mu, NULL);
  if(db_open(s, err, errlen))
    goto fail;
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_port = htons(cfg->port);
  if(inet_pton(AF_INET, cfg->host, &sa.sin_addr) != 1) {
    snprintf(err, errlen, "shop.listen: '%s' is not an IPv4 address", cfg->host);
    goto fail;
  }
  s->d = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
      cfg->port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
      MHD_OPTION_EXTERNAL_LOGGER, httpd_log, &mhd_logger, MHD_OPTION_END);
  if(!s->d) {
    snprintf(err, errlen, "cannot listen on %s:%u: %s", cfg->host, (unsigned)cfg->port,
             errno ? strerror(errno) : "libmicrohttpd refused");
    goto fail;
  }
  info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
  s->port = info && info->port ? info->port : cfg->port;
  *out = s;
  return 0;
fail:
  shop_stop(s);
  return -1;
}

uint16_t shop_port(const struct shop *s)
{
  return s->port;
}

void shop_stop(struct shop *s)
{
  struct inflight *f;
  if(!s)
    return;
  if(s->d)
    MHD_stop_daemon(s->d);
  if(s->db)
    sqlite3_close(s->db);
  while((f = s->inflight)) {
    s->inflight = f->next;
    free(f);
  }
  free(s->reported);
  free(s->pace_n);
  pthread_mutex_destroy(&s->mu);
  free(s);
}
