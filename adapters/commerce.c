/* SPDX-License-Identifier: Apache-2.0 */
/*
 * commerce: the commerce REST client (see commerce.h). The classifiers and
 * parsers are pure functions over (status, Retry-After, body), so that the
 * fuzzer and the unit tests reach them without a network; the transport
 * (libcurl) only gathers those three things.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "adapters/commerce.h"
#include "adapters/netio.h"
#include "base/clock.h"
#include "base/keyfile.h"
#include "base/rs_util.h"
#include "config/config.h"

#define COMMERCE_MAX_ANSWER (1024u * 1024u)
#define RETRY_AFTER_MAX_MS  (INT64_C(7) * 86400 * 1000)

struct commerce_client {
  const struct cfg *cfg;
  CURL *h;
  char *base;   /* base_url without a trailing '/' */
  char *secret; /* bearer token or basic password; wiped at free */
  long timeout_ms;
  char ua[64];
};

/* ---- small helpers ---- */

/*
 * Copy at most size-1 bytes of src (len bytes) into dst, controls as '.'.
 * utf8: keep bytes >= 0x80 but never end inside a UTF-8 sequence; else they
 * become '?' (a log excerpt of arbitrary bytes).
 */
static void copy_clean(char *dst, size_t size, const char *src, size_t len, bool utf8)
{
  size_t n = len < size - 1 ? len : size - 1, i;
  for(i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)src[i];
    if(ch < 0x20 || ch == 0x7f)
      ch = '.';
    else if(ch >= 0x80 && !utf8)
      ch = '?';
    dst[i] = (char)ch;
  }
  if(utf8 && n < len) {
    /* cut back to the start of a sequence that was not complete */
    size_t k = n;
    while(k > 0 && ((unsigned char)dst[k - 1] & 0xC0) == 0x80)
      k--;
    if(k > 0 && (unsigned char)dst[k - 1] >= 0xC0) {
      unsigned char lead = (unsigned char)dst[k - 1];
      size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
      if(n - (k - 1) < need)
        n = k - 1;
    }
  }
  dst[n] = '\0';
}

static void set_msg(char *dst, size_t size, const char *s)
{
  copy_clean(dst, size, s, strlen(s), true);
}

static bool printable_key(const char *s)
{
  size_t n = strlen(s), i;
  if(n < 1 || n > COMMERCE_KEY_MAX)
    return false;
  for(i = 0; i < n; i++)
    if((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
      return false;
  return true;
}

/* The shop's {"error": {"code", "message"}}, when j carries one. */
static void shop_error(const json_t *j, char *code, size_t codelen, char *msg, size_t msglen)
{
  const json_t *e = json_object_get(j, "error");
  const char *s;
  if(!json_is_object(e))
    return;
  if((s = json_string_value(json_object_get(e, "code"))))
    set_msg(code, codelen, s);
  if((s = json_string_value(json_object_get(e, "message"))))
    set_msg(msg, msglen, s);
}

const char *commerce_lookup_name(enum commerce_lookup l)
{
  static const char *const n[] = {"ok", "none", "retry", "wait_auth", "bad"};
  return (unsigned)l < RS_ARRAY_LEN(n) ? n[l] : "?";
}

/* ---- the body ---- */

int commerce_build_body(const struct cfg *cfg, const struct commerce_order *order, char **out,
                        char *err, size_t errlen)
{
  json_t *j = NULL, *ship = NULL, *lines = NULL;
  int dec, rc = -1;
  size_t i;

  *out = NULL;
  if(!order->id || !printable_key(order->id)) {
    snprintf(err, errlen, "order id '%.80s' is not 1 to 64 printable characters",
             order->id ? order->id : "");
    goto out;
  }
  if(!order->currency || (dec = cfg_currency_decimals(order->currency)) < 0) {
    snprintf(err, errlen, "order %s: unknown currency '%.8s'", order->id,
             order->currency ? order->currency : "");
    goto out;
  }
  if(!cfg->commerce.customer_id || !cfg->commerce.ship_to.name || !cfg->commerce.ship_to.street ||
     !cfg->commerce.ship_to.city || !cfg->commerce.ship_to.country) {
    snprintf(err, errlen,
             "commerce.customer_id and commerce.ship_to (name, street, city, "
             "country) are needed to place an order");
    goto out;
  }
  if(!order->n_lines) {
    snprintf(err, errlen, "order %s has no lines", order->id);
    goto out;
  }
  ship = json_pack("{s:s,s:s,s:s,s:s}", "name", cfg->commerce.ship_to.name, "street",
                   cfg->commerce.ship_to.street, "city", cfg->commerce.ship_to.city, "country",
                   cfg->commerce.ship_to.country);
  if(ship && cfg->commerce.ship_to.postcode)
    json_object_set_new(ship, "postcode", json_string(cfg->commerce.ship_to.postcode));
  lines = json_array();
  for(i = 0; ship && lines && i < order->n_lines; i++) {
    const struct commerce_line *l = &order->lines[i];
    json_t *line;
    if(!l->sku || !*l->sku || l->quantity < 1) {
      snprintf(err, errlen, "order %s line %zu: needs a SKU and a quantity of at least 1",
               order->id, i);
      goto out;
    }
    line = json_pack("{s:s,s:I}", "sku", l->sku, "quantity", (json_int_t)l->quantity);
    if(line && l->has_unit_price) {
      char money[40];
      if(l->unit_price < 0) {
        json_decref(line);
        snprintf(err, errlen, "order %s line %zu: negative unit price", order->id, i);
        goto out;
      }
      cfg_format_money(l->unit_price, dec, money, sizeof(money));
      json_object_set_new(line, "unit_price", json_string(money));
    }
    if(!line || json_array_append_new(lines, line)) {
      snprintf(err, errlen, "order %s: cannot encode line %zu (not UTF-8?)", order->id, i);
      goto out;
    }
  }
  j = json_pack("{s:s,s:s,s:O,s:s,s:O}", "reference", order->id, "customer_id",
                cfg->commerce.customer_id, "ship_to", ship, "currency", order->currency, "lines",
                lines);
  if(!j || !(*out = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS))) {
    snprintf(err, errlen, "order %s: cannot encode the body (a field is not UTF-8?)", order->id);
    goto out;
  }
  rc = 0;
out:
  json_decref(j);
  json_decref(ship);
  json_decref(lines);
  return rc;
}

/* ---- Retry-After ---- */

int commerce_parse_retry_after(const char *value, int64_t now_wall_ms, int64_t *out_ms)
{
  char buf[128];
  size_t n, i;
  const char *s = value;
  if(!s)
    return -1;
  while(*s == ' ' || *s == '\t')
    s++;
  n = strlen(s);
  while(n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
    n--;
  if(!n || n >= sizeof(buf))
    return -1;
  memcpy(buf, s, n);
  buf[n] = '\0';
  if(buf[0] >= '0' && buf[0] <= '9') {
    /* delay-seconds = 1*DIGIT (RFC 9110 10.2.3); leading zeros are allowed there */
    int64_t secs = 0;
    for(i = 0; i < n; i++) {
      if(buf[i] < '0' || buf[i] > '9')
        break;
      if(secs < RETRY_AFTER_MAX_MS / 1000)
        secs = secs * 10 + (buf[i] - '0');
    }
    if(i == n) {
      int64_t ms = secs * 1000;
      *out_ms = ms > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS : ms;
      return 0;
    }
    return -1;
  }
  {
    /* HTTP-date; curl_getdate reads IMF-fixdate and the two obsolete forms */
    time_t t = curl_getdate(buf, NULL);
    int64_t d;
    if(t == (time_t)-1)
      return -1;
    d = (int64_t)t * 1000 - now_wall_ms;
    *out_ms = d < 0 ? 0 : d > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS : d;
    return 0;
  }
}

/* ---- classification (pure) ---- */

enum commerce_outcome commerce_classify(long status, const char *retry_after, int64_t now_wall_ms,
                                        const char *body, size_t len, struct commerce_result *r)
{
  json_t *j = NULL;
  json_error_t je;
  int64_t ms;

  memset(r, 0, sizeof(*r));
  r->http_status = status;
  r->retry_after_ms = -1;
  if(retry_after && !commerce_parse_retry_after(retry_after, now_wall_ms, &ms))
    r->retry_after_ms = ms;
  if(!body)
    len = 0;
  copy_clean(r->excerpt, sizeof(r->excerpt), body ? body : "", len, false);
  if(len)
    j = json_loadb(body, len, 0, &je);
  if(json_is_object(j))
    shop_error(j, r->error_code, sizeof(r->error_code), r->message, sizeof(r->message));

  if(status >= 200 && status <= 299) {
    const char *id = json_string_value(json_object_get(j, "id"));
    const char *st = json_string_value(json_object_get(j, "status"));
    if(json_is_object(j) && id && st && printable_key(id) && *st &&
       strlen(st) < sizeof(r->shop_status)) {
      rs_strlcpy(r->shop_id, id, sizeof(r->shop_id));
      set_msg(r->shop_status, sizeof(r->shop_status), st);
      r->message[0] = '\0';
      r->outcome = COMMERCE_SUBMITTED;
    }
    else {
      snprintf(r->message, sizeof(r->message),
               "HTTP %ld without the expected {\"id\", "
               "\"status\"} JSON%s",
               status, j ? "" : " (not JSON or truncated)");
      r->outcome = COMMERCE_RETRY;
    }
  }
  else if(status == 401 || status == 403) {
    if(!r->message[0])
      snprintf(r->message, sizeof(r->message), "HTTP %ld: the shop refused the credentials",
               status);
    r->outcome = COMMERCE_WAIT_AUTH;
  }
  else if(status == 408 || status == 409 || status == 429 || (status >= 500 && status <= 599)) {
    if(!r->message[0])
      snprintf(r->message, sizeof(r->message), "HTTP %ld", status);
    r->outcome = COMMERCE_RETRY;
  }
  else if(status >= 400 && status <= 499) {
    if(!r->message[0])
      snprintf(r->message, sizeof(r->message), "HTTP %ld: %s", status, r->excerpt);
    r->outcome = COMMERCE_FAILED;
  }
  else {
    /* 1xx, 3xx (redirects are not followed) or nonsense: nothing was placed for sure */
    snprintf(r->message, sizeof(r->message), "unexpected HTTP status %ld", status);
    r->outcome = COMMERCE_RETRY;
  }
  json_decref(j);
  return r->outcome;
}

/* Shared by the GET parsers: the status classes; -1 when 2xx (parse the body). */
static int lookup_class(long status)
{
  if(status >= 200 && status <= 299)
    return -1;
  if(status == 404)
    return COMMERCE_LOOKUP_NONE;
  if(status == 401 || status == 403)
    return COMMERCE_LOOKUP_WAIT_AUTH;
  if(status == 408 || status == 429 || (status >= 500 && status <= 599))
    return COMMERCE_LOOKUP_RETRY;
  return COMMERCE_LOOKUP_BAD;
}

/* What a GET lookup got back, for lookup_begin(). */
struct lookup_answer {
  long status;
  const char *retry_after; /* the Retry-After header, or NULL */
  int64_t now_wall_ms;
  const char *body;
  size_t len;
};

/*
 * The part of parsing a lookup answer that orders and products share:
 * record the HTTP status, Retry-After and a clean excerpt, and classify.
 * Returns -1 with *j the answer's JSON object (the caller reads its fields
 * and frees it) for a 2xx JSON object; otherwise the enum commerce_lookup
 * outcome with a sentence in msg (*j may still hold a parsed non-object,
 * for the caller to free).
 */
static int lookup_begin(const struct lookup_answer *a, long *http_status, int64_t *retry_ms,
                        char *excerpt, size_t exlen, char *msg, size_t msglen, json_t **j)
{
  json_error_t je;
  char code[64] = "";
  int cls = lookup_class(a->status);
  size_t len = a->body ? a->len : 0;
  int64_t ms;

  *j = NULL;
  *http_status = a->status;
  *retry_ms = -1;
  if(a->retry_after && !commerce_parse_retry_after(a->retry_after, a->now_wall_ms, &ms))
    *retry_ms = ms;
  copy_clean(excerpt, exlen, a->body ? a->body : "", len, false);
  if(len)
    *j = json_loadb(a->body, len, 0, &je);
  if(cls >= 0) {
    if(json_is_object(*j))
      shop_error(*j, code, sizeof(code), msg, msglen);
    if(!msg[0])
      snprintf(msg, msglen, "HTTP %ld", a->status);
    return cls;
  }
  if(!json_is_object(*j)) {
    snprintf(msg, msglen, "HTTP %ld: not JSON or truncated", a->status);
    return COMMERCE_LOOKUP_RETRY;
  }
  return -1;
}

/* lookup_begin() into the answer fields every lookup result *o has (order info, product). */
#define LOOKUP_BEGIN(a, o, j)                                                                      \
  lookup_begin(a, &(o)->http_status, &(o)->retry_after_ms, (o)->excerpt, sizeof((o)->excerpt),     \
               (o)->message, sizeof((o)->message), j)

enum commerce_lookup commerce_parse_order_info(long status, const char *retry_after,
                                               int64_t now_wall_ms, const char *body, size_t len,
                                               struct commerce_order_info *out)
{
  static const char *const names[] = {"accepted", "shipped", "delivered", "cancelled"};
  json_t *j = NULL;
  const char *id, *st, *tr;
  int rc;
  size_t i;
  struct lookup_answer a = {status, retry_after, now_wall_ms, body, len};

  memset(out, 0, sizeof(*out));
  rc = LOOKUP_BEGIN(&a, out, &j);
  if(rc >= 0)
    goto out;
  id = json_string_value(json_object_get(j, "id"));
  st = json_string_value(json_object_get(j, "status"));
  tr = json_string_value(json_object_get(j, "tracking"));
  if(!id || !st || !printable_key(id)) {
    snprintf(out->message, sizeof(out->message), "answer without \"id\" and \"status\"");
    rc = COMMERCE_LOOKUP_BAD;
    goto out;
  }
  rs_strlcpy(out->id, id, sizeof(out->id));
  set_msg(out->status_text, sizeof(out->status_text), st);
  if(tr)
    set_msg(out->tracking, sizeof(out->tracking), tr);
  rc = COMMERCE_LOOKUP_BAD;
  snprintf(out->message, sizeof(out->message), "unknown order status '%s'", out->status_text);
  for(i = 0; i < RS_ARRAY_LEN(names); i++)
    if(!strcmp(st, names[i])) {
      out->status = (enum commerce_shop_status)i;
      out->message[0] = '\0';
      rc = COMMERCE_LOOKUP_OK;
    }
out:
  json_decref(j);
  return (enum commerce_lookup)rc;
}

enum commerce_lookup commerce_parse_product(long status, const char *retry_after,
                                            int64_t now_wall_ms, const char *body, size_t len,
                                            struct commerce_product *out)
{
  json_t *j = NULL, *lt, *av;
  const char *sku, *price, *cur;
  int rc, dec;
  char e[128];
  struct lookup_answer a = {status, retry_after, now_wall_ms, body, len};

  memset(out, 0, sizeof(*out));
  rc = LOOKUP_BEGIN(&a, out, &j);
  if(rc >= 0)
    goto out;
  rc = COMMERCE_LOOKUP_BAD; /* until every field checked out */
  sku = json_string_value(json_object_get(j, "sku"));
  price = json_string_value(json_object_get(j, "unit_price"));
  cur = json_string_value(json_object_get(j, "currency"));
  lt = json_object_get(j, "lead_time_days");
  av = json_object_get(j, "available");
  if(!sku || !printable_key(sku) || !price || !cur || !json_is_number(lt) || !json_is_boolean(av)) {
    snprintf(out->message, sizeof(out->message),
             "answer without sku, unit_price (string), "
             "currency, lead_time_days (number) and available (boolean)");
    goto out;
  }
  if(strlen(cur) != 3 || (dec = cfg_currency_decimals(cur)) < 0) {
    snprintf(out->message, sizeof(out->message), "unknown currency in the answer");
    goto out;
  }
  if(cfg_parse_money(price, dec, &out->unit_price, e, sizeof(e))) {
    snprintf(out->message, sizeof(out->message), "unit_price is not an amount in %s: %s", cur, e);
    goto out;
  }
  out->lead_time_days = json_number_value(lt);
  if(!(out->lead_time_days >= 0 && out->lead_time_days <= 3650)) {
    snprintf(out->message, sizeof(out->message), "lead_time_days out of range");
    goto out;
  }
  rs_strlcpy(out->sku, sku, sizeof(out->sku));
  rs_strlcpy(out->currency, cur, sizeof(out->currency));
  set_msg(out->unit_price_text, sizeof(out->unit_price_text), price);
  out->available = json_is_true(av);
  rc = COMMERCE_LOOKUP_OK;
out:
  json_decref(j);
  return (enum commerce_lookup)rc;
}

/* ---- backoff (pure) ---- */

/* Seedable RNG (splitmix64) for the jitter: state in, next value out. */
static uint64_t commerce_rng_next(uint64_t *state)
{
  uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

int64_t commerce_backoff_delay(const struct commerce_backoff *b, unsigned attempt,
                               int64_t retry_after_ms, uint64_t *rng)
{
  int64_t base = b->base_ms > 0 ? b->base_ms : 1;
  int64_t cap = b->cap_ms >= base ? b->cap_ms : base;
  int64_t ceiling = base, d;
  unsigned i;
  for(i = 0; i < attempt && ceiling < cap; i++)
    ceiling = ceiling > cap / 2 ? cap : ceiling * 2;
  if(ceiling > cap)
    ceiling = cap;
  d = (int64_t)(commerce_rng_next(rng) % ((uint64_t)ceiling + 1));
  if(retry_after_ms >= 0 && d < retry_after_ms)
    d = retry_after_ms;
  return d;
}

/* ---- the client ---- */

/* Read a one-line secret file into a malloc'd string; 0 or -1 with err (no contents). */
static int read_secret(const struct cfg *cfg, const char *file, char **out, char *err,
                       size_t errlen)
{
  char buf[4096];
  if(keyfile_read_line(cfg->dir, file, "", buf, sizeof(buf), err, errlen))
    return -1;
  *out = rs_xstrdup(buf);
  explicit_bzero(buf, sizeof(buf));
  return 0;
}

/* FNV-1a 64 of the n bytes at b, continuing from h. */
static uint64_t fnv1a(uint64_t h, const void *b, size_t n)
{
  const unsigned char *q = b;
  size_t i;
  for(i = 0; i < n; i++) {
    h ^= q[i];
    h *= UINT64_C(0x100000001b3);
  }
  return h;
}

uint64_t commerce_credentials_fp(const struct cfg *cfg)
{
  char buf[4096], err[256];
  const char *file = cfg->commerce.auth == CFG_AUTH_BEARER  ? cfg->commerce.token_file
                     : cfg->commerce.auth == CFG_AUTH_BASIC ? cfg->commerce.password_file
                                                             : NULL;
  const char *user = cfg->commerce.auth == CFG_AUTH_BASIC && cfg->commerce.username
                         ? cfg->commerce.username
                         : "";
  unsigned char kind = (unsigned char)cfg->commerce.auth;
  uint64_t h = fnv1a(UINT64_C(0xcbf29ce484222325), &kind, 1);
  h = fnv1a(h, user, strlen(user) + 1);
  if(file) {
    if(keyfile_read_line(cfg->dir, file, "", buf, sizeof(buf), err, sizeof(err)))
      return 0;
    h = fnv1a(h, buf, strlen(buf) + 1);
    explicit_bzero(buf, sizeof(buf));
  }
  return h ? h : 1;
}

int commerce_client_new(const struct cfg *cfg, struct commerce_client **out, char *err,
                        size_t errlen)
{
  struct commerce_client *c;
  size_t n;
  *out = NULL;
  if(!cfg->commerce.base_url || !*cfg->commerce.base_url) {
    snprintf(err, errlen, "commerce.base_url is not set");
    return -1;
  }
  netio_global_init();
  c = rs_xcalloc(1, sizeof(*c));
  c->cfg = cfg;
  c->base = rs_xstrdup(cfg->commerce.base_url);
  n = strlen(c->base);
  while(n && c->base[n - 1] == '/')
    c->base[--n] = '\0';
  c->timeout_ms = cfg->commerce.timeout_ms > 0 ? (long)cfg->commerce.timeout_ms : 10000;
  snprintf(c->ua, sizeof(c->ua), "restock/%s", RESTOCK_VERSION);
  if(cfg->commerce.auth == CFG_AUTH_BEARER &&
     (!cfg->commerce.token_file ||
      read_secret(cfg, cfg->commerce.token_file, &c->secret, err, errlen))) {
    if(!cfg->commerce.token_file)
      snprintf(err, errlen, "commerce.auth: bearer needs token_file");
    goto fail;
  }
  if(cfg->commerce.auth == CFG_AUTH_BASIC &&
     (!cfg->commerce.username || !cfg->commerce.password_file ||
      read_secret(cfg, cfg->commerce.password_file, &c->secret, err, errlen))) {
    if(!cfg->commerce.username || !cfg->commerce.password_file)
      snprintf(err, errlen, "commerce.auth: basic needs username and password_file");
    goto fail;
  }
  if(!(c->h = curl_easy_init())) {
    snprintf(err, errlen, "%s", netio_curl_error());
    goto fail;
  }
  *out = c;
  return 0;
fail:
  commerce_client_free(c);
  return -1;
}

void commerce_client_free(struct commerce_client *c)
{
  if(!c)
    return;
  if(c->h)
    curl_easy_cleanup(c->h);
  if(c->secret) {
    explicit_bzero(c->secret, strlen(c->secret));
    FREE_NULL(c->secret);
  }
  FREE_NULL(c->base);
  free(c);
}

/* What one transfer gathered. */
struct xfer {
  struct rs_buf body;
  bool too_big;
  char retry_after[128];
  bool have_retry_after;
};

/* libcurl body callback: gather up to 1 MiB, then abort the transfer. */
static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
  struct xfer *x = ud;
  size_t n = size * nmemb;
  if(x->body.len + n > COMMERCE_MAX_ANSWER) {
    x->too_big = true;
    return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
  }
  rs_buf_append(&x->body, p, n);
  return n;
}

/* libcurl header callback: keep the Retry-After value of the final response. */
static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
  struct xfer *x = ud;
  size_t n = size * nmemb;
  /* a new response (after 100 Continue or an auth round) starts over */
  if(n > 5 && !strncmp(p, "HTTP/", 5)) {
    x->have_retry_after = false;
    x->retry_after[0] = '\0';
  }
  if(n > 12 && !strncasecmp(p, "Retry-After:", 12)) {
    size_t v = n - 12;
    while(v && (p[12 + v - 1] == '\r' || p[12 + v - 1] == '\n'))
      v--;
    copy_clean(x->retry_after, sizeof(x->retry_after), p + 12, v, false);
    x->have_retry_after = true;
  }
  return n;
}

/* One request's transfer state: what libcurl writes into and what must outlive the setup. */
struct xreq {
  enum commerce_req req;
  char *key;
  char *body; /* SUBMIT: a copy of the stored body */
  struct xfer x;
  struct curl_slist *hdrs;
  char errbuf[CURL_ERROR_SIZE];
};

static void xreq_clear(struct xreq *q)
{
  curl_slist_free_all(q->hdrs);
  q->hdrs = NULL;
  rs_buf_free(&q->x.body);
  FREE_NULL(q->key);
  FREE_NULL(q->body);
}

/* An answer for req/key that says "not sent" (RETRY / LOOKUP_RETRY) for now. */
static void answer_init(struct commerce_answer *a, enum commerce_req req, const char *key)
{
  memset(a, 0, sizeof(*a));
  a->req = req;
  a->key = key;
  a->result.outcome = COMMERCE_RETRY;
  a->result.retry_after_ms = -1;
  a->lookup = COMMERCE_LOOKUP_RETRY;
  a->order.retry_after_ms = -1;
  a->product.retry_after_ms = -1;
}

/* Put msg where the answer to a->req keeps its reason. */
static void answer_msg(struct commerce_answer *a, const char *msg)
{
  if(a->req == COMMERCE_REQ_SUBMIT)
    set_msg(a->result.message, sizeof(a->result.message), msg);
  else if(a->req == COMMERCE_REQ_ORDER)
    set_msg(a->order.message, sizeof(a->order.message), msg);
  else
    set_msg(a->product.message, sizeof(a->product.message), msg);
}

/*
 * Set h up for q (URL from the client's base, headers, auth, timeouts).
 * Returns 0, or -1 with a->* saying why nothing is sent (a SUBMIT key that
 * cannot be an Idempotency-Key is FAILED, a URL too long is FAILED / RETRY).
 */
static int setup(struct commerce_client *c, CURL *h, struct xreq *q, struct commerce_answer *a)
{
  char url[2048], line[128];
  struct curl_slist *t;

  if(q->req == COMMERCE_REQ_SUBMIT) {
    if(!q->key || !printable_key(q->key)) {
      a->result.outcome = COMMERCE_FAILED;
      answer_msg(a, "the order id cannot be an Idempotency-Key (1 to 64 printable characters)");
      return -1;
    }
    if(rs_snprintf(url, sizeof(url), "%s/orders", c->base)) {
      a->result.outcome = COMMERCE_FAILED;
      answer_msg(a, "commerce.base_url is too long");
      return -1;
    }
  }
  else {
    char *esc = curl_easy_escape(h, q->key ? q->key : "", 0);
    int bad = !esc || rs_snprintf(url, sizeof(url), "%s/%s/%s", c->base,
                                  q->req == COMMERCE_REQ_ORDER ? "orders" : "products", esc);
    curl_free(esc);
    if(bad) {
      answer_msg(a, "URL too long");
      return -1;
    }
  }
  q->errbuf[0] = '\0';
  netio_prepare(h);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  if(c->cfg->commerce.ca_file)
    curl_easy_setopt(h, CURLOPT_CAINFO, c->cfg->commerce.ca_file);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, c->ua);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, q->errbuf);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &q->x);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &q->x);
  if(c->cfg->commerce.auth == CFG_AUTH_BEARER) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
    curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, c->secret);
  }
  else if(c->cfg->commerce.auth == CFG_AUTH_BASIC) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(h, CURLOPT_USERNAME, c->cfg->commerce.username);
    curl_easy_setopt(h, CURLOPT_PASSWORD, c->secret);
  }
  q->hdrs = curl_slist_append(NULL, "Accept: application/json");
  if(q->req == COMMERCE_REQ_SUBMIT) {
    const char *body = q->body ? q->body : "";
    snprintf(line, sizeof(line), "Idempotency-Key: %s", q->key);
    if(q->hdrs && (t = curl_slist_append(q->hdrs, line)))
      q->hdrs = t;
    if(q->hdrs && (t = curl_slist_append(q->hdrs, "Content-Type: application/json")))
      q->hdrs = t;
    /* no "Expect: 100-continue" round trip for bodies over 1 KiB */
    if(q->hdrs && (t = curl_slist_append(q->hdrs, "Expect:")))
      q->hdrs = t;
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    /*
     * A POST never rides on a kept-alive connection. When libcurl reuses a
     * connection that the server closed while it sat idle, and the request
     * then gets no answer, libcurl silently sends the request again on a new
     * connection (it assumes the first copy never arrived); but the shop may
     * have received and processed the first copy, so one attempt could hit
     * the shop twice. On a fresh connection libcurl never resends, and
     * closing it afterwards keeps it out of the pool. One POST per
     * attempt is what the outbox's accounting (and the shop's logs) assume.
     * GETs are idempotent and keep reusing connections.
     */
    curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
  }
  else
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, q->hdrs);
  return 0;
}

/* A sentence for a failed transfer (no HTTP answer). */
static void transfer_error(const struct commerce_client *c, CURLcode rc, const struct xreq *q,
                           char *msg, size_t size)
{
  if(q->x.too_big)
    snprintf(msg, size, "answer larger than 1 MiB");
  else if(rc == CURLE_OPERATION_TIMEDOUT)
    snprintf(msg, size, "timeout after %ld ms%s", c->timeout_ms,
             strstr(q->errbuf, "Resolving") ? " (resolving the shop's name)" : "");
  else
    (void)rs_snprintf(msg, size, "%s: %s", curl_easy_strerror(rc),
                      q->errbuf[0] ? q->errbuf : "no detail"); /* cut to the log line */
}

/*
 * An answer the shop gave for another order or product than the one asked
 * for (a misrouting proxy or cache, a shop bug) is no answer: a POST whose
 * 2xx names another "reference" is not recorded as submitted (RETRY with the
 * same key and body), a status or product answer with another "id" or "sku"
 * is BAD (alerted, polled again). Takes the classified answer a and the key
 * q asked with; changes a only on a mismatch.
 */
static void check_answer_is_ours(const struct xreq *q, struct commerce_answer *a)
{
  char msg[256];
  if(!q->key)
    return;
  if(q->req == COMMERCE_REQ_SUBMIT && a->result.outcome == COMMERCE_SUBMITTED) {
    json_error_t je;
    json_t *j = json_loadb(q->x.body.data, q->x.body.len, 0, &je);
    json_t *ref = json_object_get(j, "reference");
    if(ref && !(json_is_string(ref) && !strcmp(json_string_value(ref), q->key))) {
      char got[80];
      if(json_is_string(ref))
        set_msg(got, sizeof(got), json_string_value(ref));
      else
        rs_strlcpy(got, "(not a string)", sizeof(got));
      (void)rs_snprintf(msg, sizeof(msg),
                        "HTTP %ld for reference %s, not this order's: an answer for another "
                        "order, not recorded",
                        a->result.http_status, got);
      a->result.outcome = COMMERCE_RETRY;
      a->result.shop_id[0] = '\0';
      a->result.shop_status[0] = '\0';
      set_msg(a->result.message, sizeof(a->result.message), msg);
    }
    json_decref(j);
  }
  else if(q->req == COMMERCE_REQ_ORDER && a->lookup == COMMERCE_LOOKUP_OK &&
          strcmp(a->order.id, q->key)) {
    (void)rs_snprintf(msg, sizeof(msg), "the answer is for order %s, not %s: ignored", a->order.id,
                      q->key);
    a->lookup = COMMERCE_LOOKUP_BAD;
    set_msg(a->order.message, sizeof(a->order.message), msg);
  }
  else if(q->req == COMMERCE_REQ_PRODUCT && a->lookup == COMMERCE_LOOKUP_OK &&
          strcmp(a->product.sku, q->key)) {
    (void)rs_snprintf(msg, sizeof(msg), "the answer is for SKU %s, not %s: ignored",
                      a->product.sku, q->key);
    a->lookup = COMMERCE_LOOKUP_BAD;
    set_msg(a->product.message, sizeof(a->product.message), msg);
  }
}

/* Turn what the transfer of q gathered (rc, HTTP status) into a's fields. */
static void finish(const struct commerce_client *c, CURL *h, CURLcode rc, struct xreq *q,
                   struct commerce_answer *a)
{
  long status = 0;
  const char *ra = q->x.have_retry_after ? q->x.retry_after : NULL;
  int64_t now = clock_real_wall_ms(); /* Retry-After dates are the shop's real time */
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
  if(rc != CURLE_OK) {
    char msg[256];
    transfer_error(c, rc, q, msg, sizeof(msg));
    answer_msg(a, msg);
    if(q->req == COMMERCE_REQ_SUBMIT)
      copy_clean(a->result.excerpt, sizeof(a->result.excerpt),
                 q->x.body.data ? q->x.body.data : "", q->x.body.len, false);
    return; /* a partial answer is no answer: RETRY */
  }
  if(q->req == COMMERCE_REQ_SUBMIT)
    commerce_classify(status, ra, now, q->x.body.data, q->x.body.len, &a->result);
  else if(q->req == COMMERCE_REQ_ORDER)
    a->lookup = commerce_parse_order_info(status, ra, now, q->x.body.data, q->x.body.len, &a->order);
  else
    a->lookup = commerce_parse_product(status, ra, now, q->x.body.data, q->x.body.len, &a->product);
  check_answer_is_ours(q, a);
}

/* One blocking request with the client's own handle. */
static void perform(struct commerce_client *c, enum commerce_req req, const char *key,
                    const char *body, struct commerce_answer *a)
{
  struct xreq q;
  memset(&q, 0, sizeof(q));
  q.req = req;
  q.key = key ? rs_xstrdup(key) : NULL;
  q.body = body ? rs_xstrdup(body) : NULL;
  answer_init(a, req, key);
  curl_easy_reset(c->h);
  if(!setup(c, c->h, &q, a))
    finish(c, c->h, curl_easy_perform(c->h), &q, a);
  xreq_clear(&q);
}

enum commerce_outcome commerce_submit(struct commerce_client *c, const char *order_id,
                                      const char *body, struct commerce_result *r)
{
  struct commerce_answer *a = rs_xcalloc(1, sizeof(*a));
  enum commerce_outcome o;
  perform(c, COMMERCE_REQ_SUBMIT, order_id, body ? body : "", a);
  *r = a->result;
  o = r->outcome;
  free(a);
  return o;
}

enum commerce_lookup commerce_get(struct commerce_client *c, enum commerce_req req,
                                  const char *key, struct commerce_answer *out)
{
  if(req == COMMERCE_REQ_SUBMIT)
    req = COMMERCE_REQ_ORDER; /* a GET never posts */
  perform(c, req, key, NULL, out);
  return out->lookup;
}

/* ---- backend "curl": blocking, answers before commerce_start() returns ---- */

static int easy_open(struct commerce *c, char *err, size_t errlen)
{
  struct commerce_client *cl = NULL;
  if(commerce_client_new(c->cfg, &cl, err, errlen))
    return -1;
  c->priv = cl;
  return 0;
}

static void easy_close(struct commerce *c)
{
  commerce_client_free(c->priv);
  c->priv = NULL;
}

static int easy_start(struct commerce *c, enum commerce_req req, const char *key,
                      const char *body, commerce_done_fn done, void *ud)
{
  struct commerce_answer *a = rs_xcalloc(1, sizeof(*a));
  perform(c->priv, req, key, req == COMMERCE_REQ_SUBMIT ? (body ? body : "") : NULL, a);
  done(ud, a);
  free(a);
  return 0;
}

static const struct commerce_ops easy_ops = {
    .name = "curl",
    .open = easy_open,
    .close = easy_close,
    .start = easy_start,
};

/* ---- backend "curl-multi": libcurl multi on the event loop ---- */

struct mreq {
  struct cmulti *m;
  struct xreq q;
  CURL *h;
  commerce_done_fn done;
  void *ud;
  struct mreq *next; /* in the wait queue or the running list */
};

struct cmulti {
  struct commerce_client *cl; /* base URL, secret, timeout (its own handle stays unused) */
  struct netio *nio;
  struct mreq *wait_head, *wait_tail;
  struct mreq *running;
  size_t n_wait, n_running;
  unsigned k;
};

static void mreq_free(struct mreq *r)
{
  if(r->h)
    curl_easy_cleanup(r->h);
  xreq_clear(&r->q);
  free(r);
}

static void unlink_running(struct cmulti *m, struct mreq *r)
{
  struct mreq **pp;
  for(pp = &m->running; *pp; pp = &(*pp)->next) {
    if(*pp == r) {
      *pp = r->next;
      m->n_running--;
      return;
    }
  }
}

static void pump(struct cmulti *m);

/* Hand r's answer to its owner and free it. */
static void complete(struct mreq *r, struct commerce_answer *a)
{
  a->key = r->q.key;
  r->done(r->ud, a);
  mreq_free(r);
}

static void on_xfer_done(void *ud, CURL *h, CURLcode rc)
{
  struct mreq *r = ud;
  struct cmulti *m = r->m;
  struct commerce_answer *a = rs_xcalloc(1, sizeof(*a));
  unlink_running(m, r);
  answer_init(a, r->q.req, r->q.key);
  finish(m->cl, h, rc, &r->q, a);
  complete(r, a);
  free(a);
  pump(m);
}

/* Put waiting requests on the wire while fewer than k are. */
static void pump(struct cmulti *m)
{
  while(m->wait_head && m->n_running < m->k) {
    struct mreq *r = m->wait_head;
    struct commerce_answer *a;
    RS_QUEUE_SHIFT(m->wait_head, m->wait_tail, r, next);
    m->n_wait--;
    a = rs_xcalloc(1, sizeof(*a));
    answer_init(a, r->q.req, r->q.key);
    r->h = curl_easy_init();
    if(!r->h)
      answer_msg(a, netio_curl_error());
    if(r->h && !setup(m->cl, r->h, &r->q, a)) {
      if(!netio_add(m->nio, r->h, on_xfer_done, r)) {
        r->next = m->running;
        m->running = r;
        m->n_running++;
        free(a);
        continue;
      }
      answer_msg(a, "cannot start the transfer");
    }
    complete(r, a); /* not sent: its answer at once */
    free(a);
  }
}

static int multi_open(struct commerce *c, char *err, size_t errlen)
{
  struct cmulti *m;
  if(!c->loop) {
    snprintf(err, errlen, "the curl-multi backend needs an event loop");
    return -1;
  }
  m = rs_xcalloc(1, sizeof(*m));
  if(commerce_client_new(c->cfg, &m->cl, err, errlen)) {
    free(m);
    return -1;
  }
  m->nio = netio_new(c->loop);
  if(!m->nio) {
    snprintf(err, errlen, "cannot create a libcurl multi handle");
    commerce_client_free(m->cl);
    free(m);
    return -1;
  }
  m->k = c->max_in_flight ? c->max_in_flight : COMMERCE_MAX_IN_FLIGHT;
  c->priv = m;
  return 0;
}

static void multi_close(struct commerce *c)
{
  struct cmulti *m = c->priv;
  if(!m)
    return;
  while(m->running) {
    struct mreq *r = m->running;
    m->running = r->next;
    netio_remove(m->nio, r->h);
    mreq_free(r);
  }
  while(m->wait_head) {
    struct mreq *r = m->wait_head;
    m->wait_head = r->next;
    mreq_free(r);
  }
  netio_free(m->nio);
  commerce_client_free(m->cl);
  free(m);
  c->priv = NULL;
}

static int multi_start(struct commerce *c, enum commerce_req req, const char *key,
                       const char *body, commerce_done_fn done, void *ud)
{
  struct cmulti *m = c->priv;
  struct mreq *r = rs_xcalloc(1, sizeof(*r));
  r->m = m;
  r->q.req = req;
  r->q.key = rs_xstrdup(key ? key : "");
  if(req == COMMERCE_REQ_SUBMIT)
    r->q.body = rs_xstrdup(body ? body : "");
  r->done = done;
  r->ud = ud;
  RS_QUEUE_PUSH(m->wait_head, m->wait_tail, r, next);
  m->n_wait++;
  pump(m);
  return 0;
}

static size_t multi_outstanding(const struct commerce *c)
{
  const struct cmulti *m = c->priv;
  return m ? m->n_wait + m->n_running : 0;
}

static const struct commerce_ops multi_ops = {
    .name = "curl-multi",
    .open = multi_open,
    .close = multi_close,
    .start = multi_start,
    .outstanding = multi_outstanding,
};

const struct commerce_ops *commerce_curl_backend(const struct evloop *loop)
{
  return loop ? &multi_ops : &easy_ops;
}
