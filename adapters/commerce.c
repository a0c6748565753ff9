/* SPDX-License-Identifier: Apache-2.0 */
/*
 * commerce: the commerce REST client (see commerce.h). The classifiers and
 * parsers are pure functions over (status, Retry-After, body), so that the
 * fuzzer and the unit tests reach them without a network; the transport
 * (libcurl) only gathers those three things.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "adapters/commerce.h"
#include "config/config.h"
#include "base/rs_util.h"

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

const char *commerce_outcome_name(enum commerce_outcome o)
{
  static const char *const n[] = {"submitted", "retry", "wait_auth", "failed"};
  return (unsigned)o < RS_ARRAY_LEN(n) ? n[o] : "?";
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

enum commerce_lookup commerce_parse_order_info(long status, const char *retry_after,
                                               int64_t now_wall_ms, const char *body, size_t len,
                                               struct commerce_order_info *out)
{
  static const char *const names[] = {"accepted", "shipped", "delivered", "cancelled"};
  json_t *j = NULL;
  const char *id, *st, *tr;
  int rc;
  size_t i;

  memset(out, 0, sizeof(*out));
  {
    struct lookup_answer a = {status, retry_after, now_wall_ms, body, len};
    rc = lookup_begin(&a, &out->http_status, &out->retry_after_ms, out->excerpt,
                      sizeof(out->excerpt), out->message, sizeof(out->message), &j);
    if(rc >= 0)
      goto out;
  }
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

  memset(out, 0, sizeof(*out));
  {
    struct lookup_answer a = {status, retry_after, now_wall_ms, body, len};
    rc = lookup_begin(&a, &out->http_status, &out->retry_after_ms, out->excerpt,
                      sizeof(out->excerpt), out->message, sizeof(out->message), &j);
    if(rc >= 0)
      goto out;
  }
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

uint64_t commerce_rng_next(uint64_t *state)
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

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Read a one-line secret file into a malloc'd string; 0 or -1 with err (no contents). */
static int read_secret(const struct cfg *cfg, const char *file, char **out, char *err,
                       size_t errlen)
{
  char path[4096], buf[4096];
  size_t len = 0;
  ssize_t n;
  int fd;
  if(file[0] != '/' && cfg->dir)
    snprintf(path, sizeof(path), "%s/%s", cfg->dir, file);
  else
    rs_strlcpy(path, file, sizeof(path));
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if(fd < 0) {
    snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
    return -1;
  }
  while(len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
    len += (size_t)n;
  close(fd);
  while(len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
    len--;
  if(!len || memchr(buf, '\n', len) || memchr(buf, '\0', len)) {
    explicit_bzero(buf, sizeof(buf));
    snprintf(err, errlen, "%s must hold one non-empty line", path);
    return -1;
  }
  buf[len] = '\0';
  *out = rs_xstrdup(buf);
  explicit_bzero(buf, sizeof(buf));
  return 0;
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
  pthread_once(&curl_once, curl_init_once);
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
    snprintf(err, errlen, "cannot create a libcurl handle");
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

/*
 * Run one request. key and body are set for the order POST, NULL for GETs.
 * Returns the CURLcode; *status is the HTTP status (0 when none) and errbuf
 * (CURL_ERROR_SIZE) holds libcurl's sentence on failure.
 */
static CURLcode run(struct commerce_client *c, const char *url, const char *key, const char *body,
                    long *status, struct xfer *x, char *errbuf)
{
  struct curl_slist *hdrs = NULL, *t;
  char line[128];
  CURLcode rc;
  CURL *h = c->h;

  *status = 0;
  errbuf[0] = '\0';
  curl_easy_reset(h);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  if(c->cfg->commerce.ca_file)
    curl_easy_setopt(h, CURLOPT_CAINFO, c->cfg->commerce.ca_file);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, c->ua);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
  if(c->cfg->commerce.auth == CFG_AUTH_BEARER) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
    curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, c->secret);
  }
  else if(c->cfg->commerce.auth == CFG_AUTH_BASIC) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(h, CURLOPT_USERNAME, c->cfg->commerce.username);
    curl_easy_setopt(h, CURLOPT_PASSWORD, c->secret);
  }
  hdrs = curl_slist_append(hdrs, "Accept: application/json");
  if(body) {
    snprintf(line, sizeof(line), "Idempotency-Key: %s", key);
    if(hdrs && (t = curl_slist_append(hdrs, line)))
      hdrs = t;
    if(hdrs && (t = curl_slist_append(hdrs, "Content-Type: application/json")))
      hdrs = t;
    /* no "Expect: 100-continue" round trip for bodies over 1 KiB */
    if(hdrs && (t = curl_slist_append(hdrs, "Expect:")))
      hdrs = t;
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
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  rc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
  curl_slist_free_all(hdrs);
  if(rc != CURLE_OK)
    *status = 0; /* a partial answer is no answer */
  return rc;
}

/* A sentence for a failed transfer (no HTTP answer). */
static void transfer_error(const struct commerce_client *c, CURLcode rc, const struct xfer *x,
                           const char *errbuf, char *msg, size_t size)
{
  if(x->too_big)
    snprintf(msg, size, "answer larger than 1 MiB");
  else if(rc == CURLE_OPERATION_TIMEDOUT)
    snprintf(msg, size, "timeout after %ld ms", c->timeout_ms);
  else
    (void)rs_snprintf(msg, size, "%s: %s", curl_easy_strerror(rc),
                      errbuf[0] ? errbuf : "no detail"); /* cut to the log line */
}

enum commerce_outcome commerce_submit(struct commerce_client *c, const char *order_id,
                                      const char *body, struct commerce_result *r)
{
  char url[2048], errbuf[CURL_ERROR_SIZE];
  struct xfer x;
  long status;
  CURLcode rc;

  memset(r, 0, sizeof(*r));
  r->retry_after_ms = -1;
  if(!order_id || !printable_key(order_id)) {
    r->outcome = COMMERCE_FAILED;
    snprintf(r->message, sizeof(r->message),
             "the order id cannot be an Idempotency-Key (1 to 64 printable characters)");
    return r->outcome;
  }
  if(rs_snprintf(url, sizeof(url), "%s/orders", c->base)) {
    r->outcome = COMMERCE_FAILED;
    snprintf(r->message, sizeof(r->message), "commerce.base_url is too long");
    return r->outcome;
  }
  memset(&x, 0, sizeof(x));
  rc = run(c, url, order_id, body ? body : "", &status, &x, errbuf);
  if(rc != CURLE_OK) {
    r->outcome = COMMERCE_RETRY;
    transfer_error(c, rc, &x, errbuf, r->message, sizeof(r->message));
    copy_clean(r->excerpt, sizeof(r->excerpt), x.body.data ? x.body.data : "", x.body.len, false);
  }
  else
    commerce_classify(status, x.have_retry_after ? x.retry_after : NULL, (int64_t)time(NULL) * 1000,
                      x.body.data, x.body.len, r);
  rs_buf_free(&x.body);
  return r->outcome;
}

/* GET base/<what>/<escaped name>; fills status, retry-after and body, or the error. */
static CURLcode get(struct commerce_client *c, const char *what, const char *name, long *status,
                    struct xfer *x, char *msg, size_t msglen)
{
  char url[2048], errbuf[CURL_ERROR_SIZE];
  char *esc = curl_easy_escape(c->h, name, 0);
  CURLcode rc;
  memset(x, 0, sizeof(*x));
  *status = 0;
  if(!esc || rs_snprintf(url, sizeof(url), "%s/%s/%s", c->base, what, esc)) {
    curl_free(esc);
    snprintf(msg, msglen, "URL too long");
    return CURLE_URL_MALFORMAT;
  }
  curl_free(esc);
  rc = run(c, url, NULL, NULL, status, x, errbuf);
  if(rc != CURLE_OK)
    transfer_error(c, rc, x, errbuf, msg, msglen);
  return rc;
}

enum commerce_lookup commerce_get_order(struct commerce_client *c, const char *shop_id,
                                        struct commerce_order_info *out)
{
  struct xfer x;
  long status;
  char msg[256];
  enum commerce_lookup l;
  if(get(c, "orders", shop_id, &status, &x, msg, sizeof(msg)) != CURLE_OK) {
    memset(out, 0, sizeof(*out));
    out->retry_after_ms = -1;
    rs_strlcpy(out->message, msg, sizeof(out->message));
    rs_buf_free(&x.body);
    return COMMERCE_LOOKUP_RETRY;
  }
  l = commerce_parse_order_info(status, x.have_retry_after ? x.retry_after : NULL,
                                (int64_t)time(NULL) * 1000, x.body.data, x.body.len, out);
  rs_buf_free(&x.body);
  return l;
}

enum commerce_lookup commerce_get_product(struct commerce_client *c, const char *sku,
                                          struct commerce_product *out)
{
  struct xfer x;
  long status;
  char msg[256];
  enum commerce_lookup l;
  if(get(c, "products", sku, &status, &x, msg, sizeof(msg)) != CURLE_OK) {
    memset(out, 0, sizeof(*out));
    out->retry_after_ms = -1;
    rs_strlcpy(out->message, msg, sizeof(out->message));
    rs_buf_free(&x.body);
    return COMMERCE_LOOKUP_RETRY;
  }
  l = commerce_parse_product(status, x.have_retry_after ? x.retry_after : NULL,
                             (int64_t)time(NULL) * 1000, x.body.data, x.body.len, out);
  rs_buf_free(&x.body);
  return l;
}
