/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http: the HTTP server, router and request hardening (see http.h and
 * docs/http-api.md).
 */
#include "gateway/web/http.h"

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/codec.h"
#include "base/httpd.h"
#include "base/httpd_srv.h"
#include "base/rs_util.h"
#include "gateway/web/api.h"
#include "gateway/approve.h"
#include "gateway/web/html.h"
#include "base/log.h"
#include "gateway/web/metrics.h"
#include "gateway/web/status.h"
#include "gateway/stock.h"
#include "base/version.h"

/* ---- router ------------------------------------------------------------- */

enum seg_kind { SEG_LIT, SEG_ORDER, SEG_ID, SEG_TOKEN };

struct route_def {
  const char *pattern; /* "/api/v1/orders/{order}/approve"; {x} captures a segment */
  unsigned methods;
  enum http_route route;
};

static const struct route_def routes[] = {
    {"/", HTTP_ALLOW_GET, HTTP_ROUTE_DASHBOARD},
    {"/static/style.css", HTTP_ALLOW_GET, HTTP_ROUTE_STYLE},
    {"/healthz", HTTP_ALLOW_GET, HTTP_ROUTE_HEALTHZ},
    {"/metrics", HTTP_ALLOW_GET, HTTP_ROUTE_METRICS},
    {"/api/v1/status", HTTP_ALLOW_GET, HTTP_ROUTE_API_STATUS},
    {"/api/v1/consumables", HTTP_ALLOW_GET, HTTP_ROUTE_API_CONSUMABLES},
    {"/api/v1/devices", HTTP_ALLOW_GET, HTTP_ROUTE_API_DEVICES},
    {"/api/v1/orders", HTTP_ALLOW_GET, HTTP_ROUTE_API_ORDERS},
    {"/api/v1/orders/{order}", HTTP_ALLOW_GET, HTTP_ROUTE_API_ORDER},
    {"/api/v1/orders/{order}/approve", HTTP_ALLOW_POST, HTTP_ROUTE_API_APPROVE},
    {"/api/v1/orders/{order}/reject", HTTP_ALLOW_POST, HTTP_ROUTE_API_REJECT},
    {"/consumables/{id}/{id}", HTTP_ALLOW_GET, HTTP_ROUTE_PAGE_CONSUMABLE},
    {"/orders/{order}", HTTP_ALLOW_GET, HTTP_ROUTE_PAGE_ORDER},
    {"/orders/{order}/approve", HTTP_ALLOW_POST, HTTP_ROUTE_PAGE_APPROVE},
    {"/orders/{order}/reject", HTTP_ALLOW_POST, HTTP_ROUTE_PAGE_REJECT},
    {"/approve/{token}", HTTP_ALLOW_GET | HTTP_ALLOW_POST, HTTP_ROUTE_APPROVAL_LINK},
    {"/api/v1/consumables/{id}/{id}/spares", HTTP_ALLOW_POST, HTTP_ROUTE_API_STOCK_SPARES},
    {"/api/v1/consumables/{id}/{id}/replaced", HTTP_ALLOW_POST, HTTP_ROUTE_API_STOCK_REPLACED},
    {"/api/v1/consumables/{id}/{id}/hold", HTTP_ALLOW_POST, HTTP_ROUTE_API_STOCK_HOLD},
    {"/api/v1/consumables/{id}/{id}/release", HTTP_ALLOW_POST, HTTP_ROUTE_API_STOCK_RELEASE},
    {"/consumables/{id}/{id}/spares", HTTP_ALLOW_POST, HTTP_ROUTE_PAGE_STOCK_SPARES},
    {"/consumables/{id}/{id}/replaced", HTTP_ALLOW_POST, HTTP_ROUTE_PAGE_STOCK_REPLACED},
    {"/consumables/{id}/{id}/hold", HTTP_ALLOW_POST, HTTP_ROUTE_PAGE_STOCK_HOLD},
    {"/consumables/{id}/{id}/release", HTTP_ALLOW_POST, HTTP_ROUTE_PAGE_STOCK_RELEASE},
};

static bool is_lower_id_char(char ch)
{
  return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
         ch == '-';
}

static bool is_alnum(char ch)
{
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* Whether s[0..n) is a valid segment of kind k. */
static bool seg_ok(enum seg_kind k, const char *s, size_t n)
{
  size_t i;
  if(!n)
    return false;
  switch(k) {
  case SEG_ORDER:
    if(n > STORE_ORDER_ID_MAX)
      return false;
    for(i = 0; i < n; i++)
      if(!is_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
        return false;
    /* "." and ".." are never ids */
    return !(s[0] == '.' && (n == 1 || (n == 2 && s[1] == '.')));
  case SEG_ID:
    if(n > CFG_ID_MAX || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
      return false;
    for(i = 0; i < n; i++)
      if(!is_lower_id_char(s[i]))
        return false;
    return true;
  case SEG_TOKEN:
    if(n > HTTP_ARG_MAX)
      return false;
    for(i = 0; i < n; i++)
      if(!is_alnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '~' && s[i] != '-')
        return false;
    return !(s[0] == '.' && (n == 1 || (n == 2 && s[1] == '.')));
  default:
    return false;
  }
}

/* Match path against one pattern; captures into m->arg. */
static bool pattern_match(const char *pat, const char *path, struct http_match *m)
{
  const char *p = pat, *q = path;
  unsigned nargs = 0;
  while(*p && *q) {
    if(*p == '{') {
      const char *pe = strchr(p, '}'), *qe = strchr(q, '/');
      enum seg_kind k;
      size_t n;
      if(!pe)
        return false;
      if(!qe)
        qe = q + strlen(q);
      n = (size_t)(qe - q);
      if(!strncmp(p, "{order}", 7))
        k = SEG_ORDER;
      else if(!strncmp(p, "{id}", 4))
        k = SEG_ID;
      else
        k = SEG_TOKEN;
      if(!seg_ok(k, q, n) || nargs >= 2)
        return false;
      memcpy(m->arg[nargs], q, n);
      m->arg[nargs][n] = '\0';
      nargs++;
      p = pe + 1;
      q = qe;
      continue;
    }
    if(*p != *q)
      return false;
    p++;
    q++;
  }
  return !*p && !*q;
}

const char *http_route_pattern(size_t i, unsigned *methods)
{
  if(i >= RS_ARRAY_LEN(routes))
    return NULL;
  *methods = routes[i].methods;
  return routes[i].pattern;
}

void http_route_match(const char *method, const char *path, struct http_match *m)
{
  unsigned want = 0;
  size_t i;
  memset(m, 0, sizeof(*m));
  m->route = HTTP_ROUTE_NOT_FOUND;
  if(!method || !path || path[0] != '/' || strnlen(path, HTTP_PATH_MAX + 1) > HTTP_PATH_MAX)
    return;
  if(!strcmp(method, "GET") || !strcmp(method, "HEAD"))
    want = HTTP_ALLOW_GET;
  else if(!strcmp(method, "POST"))
    want = HTTP_ALLOW_POST;
  for(i = 0; i < RS_ARRAY_LEN(routes); i++) {
    struct http_match t;
    memset(&t, 0, sizeof(t));
    if(!pattern_match(routes[i].pattern, path, &t))
      continue;
    m->allow |= routes[i].methods;
    if(want & routes[i].methods) {
      unsigned allow = m->allow;
      *m = t;
      m->route = routes[i].route;
      m->allow = allow | routes[i].methods;
      return;
    }
  }
  if(m->allow) {
    m->route = HTTP_ROUTE_METHOD_NOT_ALLOWED;
    m->arg[0][0] = m->arg[1][0] = '\0';
  }
}

/* ---- server state ------------------------------------------------------- */

#define SESSION_COOKIE "restock_session"
#define SESSION_HEX    HTTPD_SESSION_HEX

struct http_server {
  struct http_env env;
  struct evloop *loop;       /* the server's own loop (its epoll descriptor is http_server_fd()) */
  struct httpd_srv *srv;
  uint16_t port;
  int64_t own_heartbeat;    /* real mono ms; used when env.heartbeat_ms is NULL */
  int64_t start_real_mono;  /* for uptime */
  int64_t start_wall;       /* daemon clock wall ms at start */
  unsigned char secret[32]; /* CSRF key, fresh per process */
  struct metrics *metrics;
  struct httpd_lockout lockout;               /* failed logins per client */
  /* the last GET /api/v1/status answer, shared by requests (see on_api_status) */
  struct status_blob *status_resp; /* NULL: none cached */
  int64_t status_built_ms;          /* real mono ms it was built at */
  int64_t status_wall_s;            /* daemon clock wall second it shows */
  const struct cfg *status_cfg;     /* the config it was built from */
};

/* How long (real ms) a built /api/v1/status answer is served again. */
#define STATUS_CACHE_MS 250

static const char CSP[] = "default-src 'none'; style-src 'self'; img-src 'self' data:; "
                          "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/* The security headers of every answer. */
static const struct httpd_hdr SECURITY[] = {
    {"Content-Security-Policy", CSP},
    {"X-Frame-Options", "DENY"},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "same-origin"},
    {"Cache-Control", "no-store"},
    {"Cross-Origin-Resource-Policy", "same-origin"},
    {NULL, NULL},
};

/*
 * A built answer body shared by the requests that send it (the cached
 * /api/v1/status): freed when the cache and the last of them let go.
 */
struct status_blob {
  unsigned refs;
  size_t len;
  char *data; /* owned: the text as it was built (not copied again: RSS) */
};

static void blob_release(void *ud)
{
  struct status_blob *b = ud;
  if(b && !--b->refs) {
    free(b->data);
    free(b);
  }
}

/* Send blob b (one more reference while it is sent) with status 200 and the security headers. */
static int send_blob(struct httpd_req *req, struct status_blob *b, const char *ctype)
{
  b->refs++;
  return httpd_respond_ref(req, 200, ctype, b->data, b->len, blob_release, b, SECURITY, NULL);
}

/* Queue a response with status, content type, body (copied), the security headers and extra. */
static int send_resp(struct httpd_req *req, unsigned status, const char *ctype,
                                 const char *body, size_t len, const struct httpd_hdr *extra)
{
  return httpd_respond(req, status, ctype, body, len, SECURITY, extra);
}

static const char CT_JSON[] = "application/json";
static const char CT_HTML[] = "text/html; charset=utf-8";
static const char CT_TEXT[] = "text/plain; charset=utf-8";

/* A plain-text answer. */
static int send_text(struct httpd_req *req, unsigned status, const char *text,
                                 const struct httpd_hdr *extra)
{
  return send_resp(req, status, CT_TEXT, text, strlen(text), extra);
}

/* A JSON document (reference kept by the caller). */
static int send_json(struct httpd_req *req, unsigned status, const json_t *j,
                                 const struct httpd_hdr *extra)
{
  char *s = j ? api_dump(j) : NULL;
  int ret;
  if(!s)
    return send_text(req, 500, "out of memory\n", NULL);
  {
    size_t n = strlen(s);
    char *t = rs_xrealloc(s, n + 2);
    t[n] = '\n';
    t[n + 1] = '\0';
    s = t;
  }
  ret = send_resp(req, status, CT_JSON, s, strlen(s), extra);
  free(s);
  return ret;
}

static int send_json_error(struct httpd_req *req, unsigned status,
                                       const char *code, const char *message,
                                       const struct httpd_hdr *extra)
{
  json_t *e = api_error_json(code, message);
  int ret = send_json(req, status, e, extra);
  json_decref(e);
  return ret;
}

static int send_html_message(struct httpd_req *req, unsigned status,
                                         const char *title, const char *message,
                                         const struct httpd_hdr *extra)
{
  struct rs_buf b = {0};
  int ret;
  html_message_page(title, message, &b);
  ret = b.oom ? send_text(req, 500, "out of memory\n", NULL)
              : send_resp(req, status, CT_HTML, b.data, b.len, extra);
  rs_buf_free(&b);
  return ret;
}

/* JSON for /api/ paths, a small HTML page elsewhere. */
static int send_error(struct httpd_req *req, const char *url, unsigned status,
                                  const char *code, const char *title, const char *message,
                                  const struct httpd_hdr *extra)
{
  if(!strncmp(url, "/api/", 5))
    return send_json_error(req, status, code, message, extra);
  return send_html_message(req, status, title, message, extra);
}

/* ---- helpers ------------------------------------------------------------ */

/* CSRF token: hex(HMAC-SHA256(secret, session "\n" action)). */
static void csrf_token(const struct http_server *s, const char *session, const char *action,
                       char *out, size_t size)
{
  unsigned char mac[CODEC_SHA256_LEN];
  struct rs_buf msg = {0};
  out[0] = '\0';
  rs_buf_printf(&msg, "%s\n%s", session, action);
  if(!msg.oom && codec_hmac_sha256(s->secret, sizeof(s->secret), msg.data, msg.len, mac) &&
     size > 2 * sizeof(mac))
    codec_hex(mac, sizeof(mac), out);
  rs_buf_free(&msg);
}

struct csrf_ud {
  const struct http_server *s;
  const char *session;
};

static void csrf_cb(void *ud, const char *action, char *out, size_t size)
{
  const struct csrf_ud *c = ud;
  csrf_token(c->s, c->session, action, out, size);
}

/* ---- authentication ----------------------------------------------------- */

enum auth_result { AUTH_OK, AUTH_MISSING, AUTH_BAD, AUTH_LOCKED, AUTH_DISABLED };

/*
 * Check the request's admin credential for a decision. With http.admin set,
 * basic auth must name admin_user with the password of the hash file; the
 * actor is then "admin:USER". Without http.admin no HTTP request decides
 * (SPEC 11: the mailed link and restockctl do): AUTH_DISABLED. Failures are
 * rate-limited per process.
 */
static enum auth_result check_admin(struct http_server *s, struct httpd_req *req,
                                    const struct cfg *cfg, char *actor, size_t actor_size,
                                    int64_t *retry_ms)
{
  char user[256], pass[256];
  char hash[512];
  enum auth_result res = AUTH_BAD;
  int64_t now = clock_real_mono_ms();
  unsigned char key[HTTPD_CLIENT_KEY_LEN];

  *retry_ms = 0;
  if(!cfg->http.admin_set)
    return AUTH_DISABLED;
  httpd_client_key(req, key);
  if((*retry_ms = httpd_lockout_check(&s->lockout, key, now)))
    return AUTH_LOCKED;
  if(httpd_req_basic_auth(req, user, sizeof(user), pass, sizeof(pass))) {
    res = AUTH_MISSING; /* none, or not a Basic credential */
    goto out;
  }
  if(httpd_read_hash(cfg->http.admin_password_hash_file, hash, sizeof(hash)))
    goto out;
  {
    size_t ul = strlen(user), al = strlen(cfg->http.admin_user);
    bool user_ok = ul == al && codec_ct_memcmp(user, cfg->http.admin_user, al) == 0;
    bool pass_ok = httpd_password_ok(pass, hash); /* always run: no timing hint about the user */
    if(user_ok && pass_ok) {
      res = AUTH_OK;
      if(rs_snprintf(actor, actor_size, "admin:%s", cfg->http.admin_user))
        res = AUTH_BAD;
    }
  }
  explicit_bzero(hash, sizeof(hash));
out:
  if(res == AUTH_BAD)
    httpd_lockout_failed(&s->lockout, key, now);
  else if(res == AUTH_OK)
    httpd_lockout_ok(&s->lockout, key);
  explicit_bzero(pass, sizeof(pass));
  return res;
}

/* ---- handlers ----------------------------------------------------------- */

static const struct cfg *cur_cfg(const struct http_server *s)
{
  return *s->env.core.cfg;
}

static void collect_view(struct http_server *s, struct status_view *v)
{
  status_view_collect(v, cur_cfg(s), s->env.core.sched,
                      s->env.core.rp, s->env.st, clock_wall_ms(s->env.clk));
  if(s->env.core.pl) {
    const char *const *a;
    size_t n = pipeline_shop_alerts(s->env.core.pl, &a);
    status_view_set_shop_alerts(v, a, n);
  }
}

static int on_healthz(struct http_server *s, struct httpd_req *req)
{
  int64_t hb = s->env.heartbeat_ms ? *s->env.heartbeat_ms : s->own_heartbeat;
  int64_t age = clock_real_mono_ms() - hb;
  int64_t max = s->env.health_max_age_ms > 0 ? s->env.health_max_age_ms : HTTP_HEALTH_MAX_AGE_MS;
  int64_t lag = s->env.loop ? evloop_lag_ms(s->env.loop, clock_real_mono_ms()) : 0;
  char msg[400], why[192], t[40];
  int64_t since = 0;
  uint64_t count = 0;
  if(age <= max && lag <= HTTP_HEALTH_MAX_LAG_MS &&
     store_fault(s->env.st, why, sizeof(why), &since, &count)) {
    /* the loop runs, but what it reads and decides is not stored */
    clock_format_rfc3339(since, t, sizeof(t));
    (void)rs_snprintf(msg, sizeof(msg), "degraded: storage: %s since %s (%" PRIu64 " failure%s)\n",
                      why, t, count, count == 1 ? "" : "s");
    return send_resp(req, 503, CT_TEXT, msg, strlen(msg), NULL);
  }
  if(age <= max && lag <= HTTP_HEALTH_MAX_LAG_MS)
    return send_text(req, 200, "ok\n", NULL);
  if(age > max)
    (void)rs_snprintf(msg, sizeof(msg), "stalled: the main loop last ran %" PRId64 " ms ago\n",
                      age);
  else
    (void)rs_snprintf(msg, sizeof(msg),
                      "lagging: a main-loop turn took %" PRId64 " ms within the last %d s "
                      "(limit %d ms)\n",
                      lag, EVLOOP_LAG_WINDOW_MS / 1000, HTTP_HEALTH_MAX_LAG_MS);
  return send_resp(req, 503, CT_TEXT, msg, strlen(msg), NULL);
}

/*
 * GET /metrics, written while it is sent (metrics_stream_*: 4.5 MB of text
 * at 5 000 consumables is never held whole). A store error is answered 500
 * before anything is sent.
 */
static int on_metrics(struct http_server *s, struct httpd_req *req)
{
  struct status_view v;
  struct metrics_stream *ms = NULL;
  struct metrics_input in;
  struct evloop_stats ls;
  collect_view(s, &v);
  memset(&in, 0, sizeof(in));
  in.v = &v;
  in.st = s->env.st;
  in.version = rs_version();
  in.lines_created = (int64_t)pipeline_lines_created(s->env.core.pl);
  in.start_time_ms = s->start_wall;
  in.cfg = cur_cfg(s);
  if(s->env.loop) {
    evloop_stats(s->env.loop, &ls);
    in.loop = &ls;
    in.loop_lag_ms = evloop_lag_ms(s->env.loop, clock_real_mono_ms());
  }
  if(metrics_stream_new(s->metrics, &in, &v, &ms)) {
    status_view_free(&v);
    return send_text(req, 500, "cannot read the database\n", NULL);
  }
  status_view_free(&v); /* empty: it moved into the stream */
  return httpd_respond_stream(req, 200, "text/plain; version=0.0.4; charset=utf-8",
                              metrics_stream_fill, metrics_stream_free, ms, SECURITY, NULL);
}

/* Forget the cached /api/v1/status answer (requests still sending it keep their reference). */
static void status_cache_drop(struct http_server *s)
{
  blob_release(s->status_resp);
  s->status_resp = NULL;
}

/*
 * GET /api/v1/status. Building it for 1,000 consumables takes milliseconds
 * (a store query per consumable, a prediction per consumable, the JSON), so
 * the answer is built once and shared by the requests that follow while it
 * is younger than STATUS_CACHE_MS, shows the daemon clock's current second
 * and was built from the running config; every POST (decisions, approval
 * links) drops it (see dispatch()). Readings and orders made by the core
 * meanwhile show at most STATUS_CACHE_MS late. Failures are answered 500
 * and never cached.
 */
static int on_api_status(struct http_server *s, struct httpd_req *req)
{
  const struct cfg *cfg = cur_cfg(s);
  int64_t now = clock_real_mono_ms(), wall = clock_wall_ms(s->env.clk);
  struct status_view v;
  struct api_gateway_info g;
  struct status_blob *r;
  struct api_stream *as = NULL;
  struct rs_buf body = {0};
  enum rs_err rc;

  if(s->status_resp && s->status_cfg == cfg && s->status_wall_s == wall / 1000 &&
     now - s->status_built_ms < STATUS_CACHE_MS)
    return send_blob(req, s->status_resp, CT_JSON);
  status_cache_drop(s);

  collect_view(s, &v);
  g.id = cfg->gateway.id;
  g.version = rs_version();
  g.now_ms = v.now_ms;
  g.uptime_s = (now - s->start_real_mono) / 1000;
  g.time_scale = clock_scale(s->env.clk);
  /* the text straight from the view, one consumable's JSON at a time (no jansson tree of the
     whole document: ~15 MB at 5 000 consumables for 2 MB of text) */
  rc = api_status_stream(&g, &v, cfg, s->env.st, &as);
  status_view_free(&v);
  if(!rc)
    rc = api_stream_text(as, &body);
  api_stream_free(as);
  if(rc || !body.data) {
    rs_buf_free(&body);
    return send_json_error(req, 500, "internal", rs_strerror(rc ? rc : RS_ERR_NOMEM), NULL);
  }
  r = malloc(sizeof(*r));
  if(!r) {
    rs_buf_free(&body);
    return send_text(req, 500, "out of memory\n", NULL);
  }
  /* the buffer grew by doubling: give back what the text does not use */
  r->data = realloc(body.data, body.len + 1);
  if(!r->data)
    r->data = body.data;
  r->len = body.len;
  r->refs = 1; /* the cache's */
  s->status_resp = r;
  s->status_built_ms = now;
  s->status_wall_s = wall / 1000;
  s->status_cfg = cfg;
  return send_blob(req, r, CT_JSON);
}

static int on_api(struct http_server *s, struct httpd_req *req,
                              const struct http_match *m)
{
  struct status_view v;
  json_t *j = NULL;
  enum rs_err rc = RS_OK;
  int ret;
  const struct cfg *cfg = cur_cfg(s);

  if(m->route == HTTP_ROUTE_API_STATUS)
    return on_api_status(s, req);
  collect_view(s, &v);
  switch(m->route) {
  case HTTP_ROUTE_API_CONSUMABLES:
  case HTTP_ROUTE_API_DEVICES: {
    /* written while it is sent, one object at a time (api_list_stream) */
    struct api_stream *as = api_list_stream(&v, cfg, m->route == HTTP_ROUTE_API_DEVICES);
    status_view_free(&v); /* empty when it moved into the stream */
    if(!as)
      return send_json_error(req, 500, "internal", rs_strerror(RS_ERR_NOMEM), NULL);
    return httpd_respond_stream(req, 200, CT_JSON, api_stream_fill, api_stream_free, as,
                                SECURITY, NULL);
  }
  case HTTP_ROUTE_API_ORDERS:
    rc = api_orders_json(s->env.st, cfg, false, &j);
    break;
  case HTTP_ROUTE_API_ORDER:
    rc = api_order_by_id(s->env.st, cfg, m->arg[0], &j);
    break;
  default:
    rc = RS_ERR_NOT_FOUND;
    break;
  }
  status_view_free(&v);
  if(rc == RS_ERR_NOT_FOUND) {
    char msg[128];
    (void)rs_snprintf(msg, sizeof(msg), "no order %s", m->arg[0]);
    return send_json_error(req, 404, "not_found", msg, NULL);
  }
  if(rc || !j) {
    json_decref(j);
    return send_json_error(req, 500, "internal", rs_strerror(rc ? rc : RS_ERR_NOMEM), NULL);
  }
  ret = send_json(req, 200, j, NULL);
  json_decref(j);
  return ret;
}

static int on_page(struct http_server *s, struct httpd_req *req,
                               const struct http_match *m)
{
  struct status_view v;
  struct rs_buf b = {0};
  struct html_ctx x;
  struct csrf_ud cu;
  char sess[SESSION_HEX + 1], cookie[128];
  bool fresh;
  enum rs_err rc;
  int ret;
  struct httpd_hdr extra[2] = {{NULL, NULL}, {NULL, NULL}};

  httpd_session(req, SESSION_COOKIE, sess, sizeof(sess), &fresh);
  httpd_session_cookie(&extra[0], cookie, sizeof(cookie), SESSION_COOKIE, sess, fresh);
  collect_view(s, &v);
  memset(&x, 0, sizeof(x));
  x.cfg = cur_cfg(s);
  x.v = &v;
  x.st = s->env.st;
  x.version = rs_version();
  cu.s = s;
  cu.session = sess;
  /* the pages offer decision and stock-take forms only where a POST can work: with http.admin */
  if(sess[0] && x.cfg->http.admin_set) {
    x.csrf = csrf_cb;
    x.csrf_ud = &cu;
  }
  if(m->route == HTTP_ROUTE_DASHBOARD) {
    x.q.sort = httpd_req_arg(req, "sort");
    x.q.dir = httpd_req_arg(req, "dir");
    x.q.device = httpd_req_arg(req, "device");
    x.q.kind = httpd_req_arg(req, "kind");
    x.q.state = httpd_req_arg(req, "state");
    {
      /* written while it is sent, row by row (html_dashboard_stream); the view moves in */
      struct html_stream *hs = NULL;
      rc = html_dashboard_stream(&x, &v, &hs);
      if(!rc)
        return httpd_respond_stream(req, 200, CT_HTML, html_stream_fill, html_stream_free, hs,
                                    SECURITY, extra);
    }
  }
  else if(m->route == HTTP_ROUTE_PAGE_CONSUMABLE) {
    char full[2 * HTTP_ARG_MAX + 2];
    (void)rs_snprintf(full, sizeof(full), "%s/%s", m->arg[0], m->arg[1]);
    rc = html_consumable_page(&x, full, &b);
  }
  else
    rc = html_order_page(&x, m->arg[0], &b);
  status_view_free(&v);
  /* what building the page allocated and freed goes back to the kernel now, not at the
     daemon's 30 s trim (2.5 MB at 5 000 consumables; the page itself is sent from b) */
  (void)malloc_trim(0);
  if(rc == RS_ERR_NOT_FOUND)
    ret = send_html_message(req, 404, "Not found",
                            m->route == HTTP_ROUTE_PAGE_ORDER ? "There is no such order."
                                                              : "There is no such consumable.",
                            extra);
  else if(rc)
    ret = send_html_message(req, 500, "Internal error", rs_strerror(rc), NULL);
  else
    ret = send_resp(req, 200, CT_HTML, b.data, b.len, extra);
  rs_buf_free(&b);
  return ret;
}

/*
 * The gate in front of every change over HTTP (SPEC 11): a form (not api)
 * must carry this session's CSRF token for url, then the request needs the
 * admin credential (its name goes to actor). true to go on; false with the
 * refusal queued in *ret: 403 for a missing or stale form token, 403 saying
 * `without` when http.admin is not set, 429 (Retry-After) while this client
 * is locked out, 401 otherwise.
 */
static bool change_allowed(struct http_server *s, struct httpd_req *req, const char *url,
                           bool api, const char *without, char *actor,
                           size_t actor_size, int *ret)
{
  int64_t retry_ms = 0;
  if(!api) {
    const char *sess = httpd_req_cookie(req, SESSION_COOKIE);
    char got[128], want[80];
    if(!httpd_session_valid(sess) ||
       httpd_form_field(req->body ? req->body : "", req->body_len, "csrf", got, sizeof(got))) {
      *ret = send_html_message(req, 403, "Forbidden",
                               "This form is missing its security token. Reload the page and "
                               "try again.",
                               NULL);
      return false;
    }
    csrf_token(s, sess, url, want, sizeof(want));
    if(!want[0] || strlen(got) != strlen(want) || codec_ct_memcmp(got, want, strlen(want))) {
      *ret = send_html_message(req, 403, "Forbidden",
                               "This form's security token is not valid (the page is too old or "
                               "the gateway restarted). Reload the page and try again.",
                               NULL);
      return false;
    }
  }
  switch(check_admin(s, req, cur_cfg(s), actor, actor_size, &retry_ms)) {
  case AUTH_OK:
    return true;
  case AUTH_DISABLED:
    *ret = send_error(req, url, 403, "forbidden", "Forbidden", without, NULL);
    return false;
  case AUTH_LOCKED: {
    char secs[24], msg[128];
    struct httpd_hdr ra[2] = {{"Retry-After", secs}, {NULL, NULL}};
    int64_t sec = (retry_ms + 999) / 1000;
    (void)rs_snprintf(secs, sizeof(secs), "%" PRId64, sec);
    (void)rs_snprintf(msg, sizeof(msg),
                      "too many failed logins from this address; try again in %" PRId64 " s", sec);
    *ret = send_error(req, url, 429, "too_many_requests", "Too many attempts", msg, ra);
    return false;
  }
  default: {
    static const struct httpd_hdr wa[] = {
        {"WWW-Authenticate", "Basic realm=\"restock\", charset=\"UTF-8\""}, {NULL, NULL}};
    *ret = send_error(req, url, 401, "unauthorized", "Login needed",
                      "this needs the admin user name and password (http.admin)", wa);
    return false;
  }
  }
}

/* Approve or reject order id (both the API and the dashboard form). */
static int on_decide(struct http_server *s, struct httpd_req *req,
                                 const struct http_match *m, const char *url)
{
  const struct cfg *cfg = cur_cfg(s);
  bool api = m->route == HTTP_ROUTE_API_APPROVE || m->route == HTTP_ROUTE_API_REJECT;
  bool approve = m->route == HTTP_ROUTE_API_APPROVE || m->route == HTTP_ROUTE_PAGE_APPROVE;
  const char *id = m->arg[0];
  char actor[CFG_ID_MAX + 16], addr[64], msg[256];
  const char *ua;
  enum rs_err rc;
  int64_t now = clock_wall_ms(s->env.clk);
  int ret;
  struct store_order_full *o = NULL;

  if(!change_allowed(s, req, url, api,
                     "decisions over HTTP need http.admin; without it, decide with the mailed "
                     "approval link or `restockctl orders approve|reject`",
                     actor, sizeof(actor), &ret))
    return ret;

  httpd_client_addr(req, addr, sizeof(addr));
  ua = httpd_req_header(req, "User-Agent");
  {
    /* the pipeline's own decision: the body is stored with the approval, the
     * transition table applies, and the outbox sends it at once */
    struct pipeline *pl = s->env.core.pl;
    char src[96];
    (void)rs_snprintf(src, sizeof(src), "HTTP client %s", addr);
    rc = approve ? pipeline_approve(pl, cfg, id, actor, src, now)
                 : pipeline_reject(pl, cfg, id, actor, src, now);
  }
  if(rc == RS_ERR_NOT_FOUND) {
    (void)rs_snprintf(msg, sizeof(msg), "no order %s", id);
    return send_error(req, url, 404, "not_found", "Not found", msg, NULL);
  }
  if(rc == RS_ERR_CONFLICT) {
    const char *state = "?";
    if(store_get_order(s->env.st, id, &o) == RS_OK)
      state = store_order_state_name(o->order.state);
    (void)rs_snprintf(msg, sizeof(msg), "order %s is %s, not pending_approval", id, state);
    store_order_full_free(o);
    return send_error(req, url, 409, "conflict", "Already decided", msg, NULL);
  }
  if(rc) {
    log_err("http: cannot record the decision on %s: %s", id, store_errmsg(s->env.st));
    return send_error(req, url, 500, "internal", "Internal error", rs_strerror(rc), NULL);
  }
  {
    struct rs_buf d = {0};
    rs_buf_printf(&d, "order %s; source %s; user agent %s", id, addr, ua ? ua : "-");
    if(!d.oom)
      (void)store_audit(s->env.st, now, actor, approve ? "approve" : "reject", d.data);
    rs_buf_free(&d);
  }
  log_notice("order %s %s by %s from %s", id, approve ? "approved" : "rejected", actor, addr);

  if(api) {
    json_t *j = NULL;
    rc = api_order_by_id(s->env.st, cfg, id, &j);
    if(rc)
      return send_json_error(req, 500, "internal", rs_strerror(rc), NULL);
    ret = send_json(req, 200, j, NULL);
    json_decref(j);
    return ret;
  }
  {
    char loc[128];
    struct httpd_hdr h[2] = {{"Location", loc}, {NULL, NULL}};
    (void)rs_snprintf(loc, sizeof(loc), "/orders/%s", id);
    (void)rs_snprintf(msg, sizeof(msg), "Order %s %s.", id, approve ? "approved" : "rejected");
    return send_html_message(req, 303, "Decision recorded", msg, h);
  }
}

/*
 * The stock-take operation of route r (SPEC 7), and whether it came from
 * the API (else the consumable page's form).
 */
static enum stock_op stock_route_op(enum http_route r, bool *api)
{
  *api = r == HTTP_ROUTE_API_STOCK_SPARES || r == HTTP_ROUTE_API_STOCK_REPLACED ||
         r == HTTP_ROUTE_API_STOCK_HOLD || r == HTTP_ROUTE_API_STOCK_RELEASE;
  switch(r) {
  case HTTP_ROUTE_API_STOCK_SPARES:
  case HTTP_ROUTE_PAGE_STOCK_SPARES:
    return STOCK_SET_SPARES;
  case HTTP_ROUTE_API_STOCK_REPLACED:
  case HTTP_ROUTE_PAGE_STOCK_REPLACED:
    return STOCK_REPLACED;
  case HTTP_ROUTE_API_STOCK_HOLD:
  case HTTP_ROUTE_PAGE_STOCK_HOLD:
    return STOCK_HOLD;
  default:
    return STOCK_RELEASE;
  }
}

/*
 * The API body's fields into count/reason: {"spares": N} (a number or a
 * string) and {"reason": "..."}; an empty body is no fields. Returns 0, or
 * -1 with a sentence in msg for a body that is not such a JSON object.
 */
static int stock_api_fields(const struct httpd_req *req, char *count, size_t count_size,
                            char *reason, size_t reason_size, char *msg, size_t msglen)
{
  json_error_t je;
  json_t *j, *v;
  count[0] = reason[0] = '\0';
  if(!req->body_len)
    return 0;
  j = json_loadb(req->body, req->body_len, 0, &je);
  if(!json_is_object(j)) {
    (void)rs_snprintf(msg, msglen, "the body must be a JSON object such as {\"spares\": 2}");
    json_decref(j);
    return -1;
  }
  v = json_object_get(j, "spares");
  if(json_is_integer(v))
    (void)rs_snprintf(count, count_size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
  else if(json_is_real(v))
    (void)rs_snprintf(count, count_size, "%g", json_real_value(v));
  else if(json_is_string(v))
    (void)rs_strlcpy(count, json_string_value(v), count_size);
  else if(v) {
    (void)rs_snprintf(msg, msglen, "spares must be a whole number >= 0");
    json_decref(j);
    return -1;
  }
  v = json_object_get(j, "reason");
  if(json_is_string(v))
    (void)rs_strlcpy(reason, json_string_value(v), reason_size);
  json_decref(j);
  return 0;
}

/*
 * Stock-take over HTTP (SPEC 7 with the credential and CSRF of SPEC 11):
 * POST /api/v1/consumables/{device}/{consumable}/spares|replaced|hold|release
 * with the admin credential, or the same path without /api/v1 from the
 * consumable page's forms (CSRF token of the session, then the credential).
 * Without http.admin nothing here is allowed: restockctl decides then.
 */
static int on_stock(struct http_server *s, struct httpd_req *req,
                                const struct http_match *m, const char *url)
{
  const struct cfg *cfg = cur_cfg(s);
  bool api;
  enum stock_op op = stock_route_op(m->route, &api);
  char id[2 * HTTP_ARG_MAX + 2], actor[CFG_ID_MAX + 16], addr[64], src[96], msg[512];
  char count[64], reason[256];
  int ret;
  struct stock_req r;
  enum rs_err rc;
  const char *body = req->body ? req->body : "";

  (void)rs_snprintf(id, sizeof(id), "%s/%s", m->arg[0], m->arg[1]);
  if(!change_allowed(s, req, url, api,
                     "stock-take over HTTP needs http.admin; without it use `restockctl "
                     "consumables`",
                     actor, sizeof(actor), &ret))
    return ret;
  msg[0] = '\0';
  if(api) {
    if(stock_api_fields(req, count, sizeof(count), reason, sizeof(reason), msg, sizeof(msg)))
      return send_json_error(req, 400, "bad_request", msg, NULL);
  }
  else {
    if(httpd_form_field(body, req->body_len, "spares", count, sizeof(count)))
      count[0] = '\0';
    if(httpd_form_field(body, req->body_len, "reason", reason, sizeof(reason)))
      reason[0] = '\0';
  }
  if(op == STOCK_SET_SPARES && !count[0]) {
    (void)rs_snprintf(msg, sizeof(msg), "the new spare count is missing (spares: a whole number >= 0)");
    return send_error(req, url, 400, "bad_request", "Bad request", msg, NULL);
  }
  httpd_client_addr(req, addr, sizeof(addr));
  (void)rs_snprintf(src, sizeof(src), "HTTP client %s", addr);
  memset(&r, 0, sizeof(r));
  r.op = op;
  r.id = id;
  r.count = count;
  r.reason = reason[0] ? reason : NULL;
  r.actor = actor;
  r.source = src;
  rc = stock_apply(s->env.st, cfg, s->env.core.rp, &r, clock_wall_ms(s->env.clk), msg,
                   sizeof(msg));
  if(rc == RS_ERR_NOT_FOUND)
    return send_error(req, url, 404, "not_found", "Not found", msg, NULL);
  if(rc == RS_ERR_INVALID)
    return send_error(req, url, 400, "bad_request", "Bad request", msg, NULL);
  if(rc)
    return send_error(req, url, 500, "internal", "Internal error", msg, NULL);
  if(api) {
    struct status_view v;
    const struct status_consumable *sc;
    json_t *j = NULL;
    collect_view(s, &v);
    sc = status_view_consumable(&v, id);
    j = sc ? api_consumable_json(sc) : NULL;
    status_view_free(&v);
    if(!j)
      return send_json_error(req, 500, "internal", "out of memory", NULL);
    (void)json_object_set_new(j, "message", json_string(msg));
    ret = send_json(req, 200, j, NULL);
    json_decref(j);
    return ret;
  }
  {
    char loc[2 * HTTP_ARG_MAX + 32];
    struct httpd_hdr h[2] = {{"Location", loc}, {NULL, NULL}};
    (void)rs_snprintf(loc, sizeof(loc), "/consumables/%s", id);
    return send_html_message(req, 303, "Recorded", msg, h);
  }
}

/* /approve/{token}: the transport around approve_http_handle() (gateway/approve_http.c). */
static int on_approval_link(struct http_server *s, struct httpd_req *req,
                                        const struct http_match *m, const char *url,
                                        const char *method)
{
  struct approve_http_req ar;
  struct approve_http_resp out;
  struct csrf_ud cu;
  char sess[SESSION_HEX + 1], cookie[128], addr[64], csrf[128], decision[16];
  const char *body = req->body ? req->body : "";
  bool fresh = false, post = !strcmp(method, "POST");
  struct httpd_hdr extra[2] = {{NULL, NULL}, {NULL, NULL}};
  int ret;

  memset(&ar, 0, sizeof(ar));
  if(post) {
    /* a decision needs the session the page was shown in: never make one here */
    const char *c = httpd_req_cookie(req, SESSION_COOKIE);
    sess[0] = '\0';
    if(httpd_session_valid(c))
      (void)rs_strlcpy(sess, c, sizeof(sess));
    ar.csrf_given = httpd_form_field(body, req->body_len, "csrf", csrf, sizeof(csrf)) ? NULL : csrf;
    ar.decision =
        httpd_form_field(body, req->body_len, "decision", decision, sizeof(decision)) ? NULL : decision;
  }
  else
    httpd_session(req, SESSION_COOKIE, sess, sizeof(sess), &fresh);
  httpd_session_cookie(&extra[0], cookie, sizeof(cookie), SESSION_COOKIE, sess, fresh);
  httpd_client_addr(req, addr, sizeof(addr));
  cu.s = s;
  cu.session = sess;
  ar.method = method;
  ar.path = url;
  ar.token = m->arg[0];
  ar.source = addr;
  ar.user_agent = httpd_req_header(req, "User-Agent");
  if(sess[0]) {
    ar.csrf = csrf_cb;
    ar.csrf_ud = &cu;
  }
  approve_http_handle(s->env.st, s->env.core.pl, cur_cfg(s),
                      clock_wall_ms(s->env.clk), &ar, &out);
  ret = out.body.oom ? send_text(req, 500, "out of memory\n", NULL)
                     : send_resp(req, out.status, CT_HTML, out.body.data ? out.body.data : "",
                                 out.body.len, extra);
  rs_buf_free(&out.body);
  return ret;
}

/* ---- requests ------------------------------------------------------------ */

static int dispatch(struct http_server *s, struct httpd_req *req, const char *url,
                    const char *method)
{
  const struct cfg *cfg = cur_cfg(s);
  /* an absolute-form target's authority stands for Host (RFC 9112 3.2.2): it is what is checked */
  const char *host = req->authority ? req->authority : httpd_req_header(req, "Host");
  struct http_match m;
  char allow[32];

  if(!httpd_host_allowed(host, cfg->http.allowed_hosts, cfg->http.n_allowed_hosts))
    return send_text(req, 421, "misdirected request: this Host is not served here\n", NULL);
  http_route_match(method, url, &m);
  if(m.route == HTTP_ROUTE_NOT_FOUND)
    return send_error(req, url, 404, "not_found", "Not found", "There is no such page.", NULL);
  if(m.route == HTTP_ROUTE_METHOD_NOT_ALLOWED) {
    struct httpd_hdr h[2] = {{"Allow", allow}, {NULL, NULL}};
    allow[0] = '\0';
    if(m.allow & HTTP_ALLOW_GET)
      (void)rs_strlcpy(allow, "GET, HEAD", sizeof(allow));
    if(m.allow & HTTP_ALLOW_POST) {
      if(allow[0])
        (void)rs_snprintf(allow, sizeof(allow), "GET, HEAD, POST");
      else
        (void)rs_strlcpy(allow, "POST", sizeof(allow));
    }
    return send_error(req, url, 405, "method_not_allowed", "Method not allowed",
                      "This method is not allowed here.", h);
  }
  if(req->too_large)
    return send_error(req, url, 413, "too_large", "Too large", "The request body is too large.",
                      NULL);
  if(!strcmp(method, "POST") && !httpd_origin_ok(req, host))
    return send_error(req, url, 403, "forbidden", "Forbidden",
                      "Cross-site requests are refused: this form was not sent from a page "
                      "of this gateway (its Origin or Referer names another site). Open the "
                      "page here again and send the form from it.",
                      NULL);
  if(!strcmp(method, "POST"))
    status_cache_drop(s); /* a POST may decide an order: /api/v1/status is built afresh */

  switch(m.route) {
  case HTTP_ROUTE_STYLE:
    return send_resp(req, 200, "text/css; charset=utf-8", html_stylesheet, strlen(html_stylesheet),
                     NULL);
  case HTTP_ROUTE_HEALTHZ:
    return on_healthz(s, req);
  case HTTP_ROUTE_METRICS:
    return on_metrics(s, req);
  case HTTP_ROUTE_API_STATUS:
  case HTTP_ROUTE_API_CONSUMABLES:
  case HTTP_ROUTE_API_DEVICES:
  case HTTP_ROUTE_API_ORDERS:
  case HTTP_ROUTE_API_ORDER:
    return on_api(s, req, &m);
  case HTTP_ROUTE_API_APPROVE:
  case HTTP_ROUTE_API_REJECT:
  case HTTP_ROUTE_PAGE_APPROVE:
  case HTTP_ROUTE_PAGE_REJECT:
    return on_decide(s, req, &m, url);
  case HTTP_ROUTE_DASHBOARD:
  case HTTP_ROUTE_PAGE_CONSUMABLE:
  case HTTP_ROUTE_PAGE_ORDER:
    return on_page(s, req, &m);
  case HTTP_ROUTE_APPROVAL_LINK:
    return on_approval_link(s, req, &m, url, method);
  case HTTP_ROUTE_API_STOCK_SPARES:
  case HTTP_ROUTE_API_STOCK_REPLACED:
  case HTTP_ROUTE_API_STOCK_HOLD:
  case HTTP_ROUTE_API_STOCK_RELEASE:
  case HTTP_ROUTE_PAGE_STOCK_SPARES:
  case HTTP_ROUTE_PAGE_STOCK_REPLACED:
  case HTTP_ROUTE_PAGE_STOCK_HOLD:
  case HTTP_ROUTE_PAGE_STOCK_RELEASE:
    return on_stock(s, req, &m, url);
  default:
    return send_error(req, url, 404, "not_found", "Not found", "There is no such page.", NULL);
  }
}

/* The server's handler: every complete request (head checked by the parser, body read). */
static void on_request(void *ud, struct httpd_req *req)
{
  (void)dispatch(ud, req, req->path, req->method);
}

/* ---- life cycle ---------------------------------------------------------- */

struct http_server *http_server_start(const struct http_env *env, char *err, size_t errlen)
{
  struct http_server *s = NULL;
  const struct cfg *cfg;
  const char *listen_addr;
  char host[256];
  uint16_t port;
  int lfd = -1;
  struct httpd_srv_opts o;

  if(!env || !env->core.cfg || !env->core.sched || !env->core.rp || !env->core.pl || !env->st || !env->clk) {
    (void)rs_strlcpy(err, "http: core, store and clock are needed", errlen);
    return NULL;
  }
  cfg = *env->core.cfg;
  listen_addr = env->listen ? env->listen : cfg->http.listen;
  if(!listen_addr)
    listen_addr = "127.0.0.1:8080";
  if(httpd_parse_listen(listen_addr, host, sizeof(host), &port)) {
    (void)rs_snprintf(err, errlen, "http.listen: '%s' is not HOST:PORT", listen_addr);
    return NULL;
  }
  s = calloc(1, sizeof(*s));
  if(!s) {
    (void)rs_strlcpy(err, "out of memory", errlen);
    return NULL;
  }
  s->env = *env;
  s->start_real_mono = s->own_heartbeat = clock_real_mono_ms();
  s->start_wall = clock_wall_ms(env->clk);
  s->lockout.limit = env->auth_fail_limit ? env->auth_fail_limit : HTTP_AUTH_FAIL_LIMIT;
  s->lockout.base_ms = env->auth_lock_base_ms ? env->auth_lock_base_ms : HTTP_AUTH_LOCK_BASE_MS;
  s->lockout.max_ms = HTTP_AUTH_LOCK_MAX_MS;
  s->metrics = metrics_new();
  if(!s->metrics || rs_random(s->secret, sizeof(s->secret))) {
    (void)rs_strlcpy(err, "http: cannot make the CSRF secret", errlen);
    goto fail;
  }
  /* the approval links' secret: a bad one (e.g. readable by others) stops the start */
  if((cfg->orders.approval.n_approvers || cfg->mail.set) && approve_init(cfg, err, errlen))
    goto fail;
  s->loop = evloop_new();
  if(!s->loop) {
    (void)rs_snprintf(err, errlen, "http: cannot make an event loop: %s", strerror(errno));
    goto fail;
  }
  lfd = httpd_listen(host, port, err, errlen);
  if(lfd == -2)
    (void)rs_snprintf(err, errlen,
                      "http.listen: '%s' is not an IP address (use an IPv4 or IPv6 literal or "
                      "localhost)",
                      host);
  if(lfd < 0)
    goto fail;
  s->port = httpd_bound_port(lfd);
  memset(&o, 0, sizeof(o));
  o.handler = on_request;
  o.ud = s;
  o.conn_limit = env->conn_limit ? env->conn_limit : HTTP_CONN_LIMIT;
  o.per_client = env->conn_per_client ? env->conn_per_client : HTTP_CONN_PER_CLIENT;
  o.idle_ms = (env->conn_timeout_s ? env->conn_timeout_s : 30) * 1000u;
  o.header_ms = env->header_timeout_ms ? env->header_timeout_ms : HTTP_HEADER_TIMEOUT_MS;
  o.body_max = HTTP_BODY_MAX;
  o.hdrs = SECURITY;
  o.log_prefix = "http: ";
  s->srv = httpd_srv_new(s->loop, lfd, &o); /* owns lfd now */
  lfd = -1;
  if(!s->srv) {
    (void)rs_snprintf(err, errlen, "http: cannot start the server on %s", listen_addr);
    goto fail;
  }
  log_notice("http: serving on %s (port %u)", listen_addr, (unsigned)s->port);
  return s;
fail:
  if(lfd >= 0)
    close(lfd);
  http_server_stop(s);
  return NULL;
}

void http_server_stop(struct http_server *s)
{
  if(!s)
    return;
  httpd_srv_free(s->srv);
  evloop_free(s->loop);
  status_cache_drop(s);
  metrics_free(s->metrics);
  explicit_bzero(s->secret, sizeof(s->secret));
  free(s);
}

int http_server_fd(const struct http_server *s)
{
  return evloop_epoll_fd(s->loop);
}

int64_t http_server_timeout_ms(struct http_server *s)
{
  int64_t now = clock_real_mono_ms(), next = evloop_next_timer(s->loop);
  int64_t wait = HTTP_MAX_WAIT_MS;
  s->own_heartbeat = now;
  metrics_sample(s->metrics, s->env.core.sched);
  /* an expired /api/v1/status answer is not kept (2 MB at 5 000 consumables); requests still
     sending it hold their own reference */
  if(s->status_resp && now - s->status_built_ms >= STATUS_CACHE_MS)
    status_cache_drop(s);
  else if(s->status_resp && s->status_built_ms + STATUS_CACHE_MS - now < wait)
    wait = s->status_built_ms + STATUS_CACHE_MS - now;
  if(next != INT64_MAX && next - now < wait)
    wait = next > now ? next - now : 0;
  return wait;
}

void http_server_run(struct http_server *s)
{
  (void)evloop_turn(s->loop, 0);
}

uint16_t http_server_port(const struct http_server *s)
{
  return s->port;
}
