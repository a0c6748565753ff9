/* SPDX-License-Identifier: Apache-2.0 */
/*
 * simcfg: reads the restock-sim YAML file (see simcfg.h, docs/simulator.md
 * and docs/sandbox-shop.md) with the machinery restock.yaml is read with:
 * the YAML tree of cfg_yaml.c, the diagnostics collector and the key-table
 * walker of cfg_schema.c, and restock's own point loader. So the errors read
 * like every config error ("file:line:col: key.path: what (expected)", with
 * "did you mean"), and only the simulator's own meanings are checked here.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/keyfile.h"
#include "config/cfg_schema.h"
#include "sim/simcfg.h"

#define NK(a) RS_ARRAY_LEN(a)

/* One load: the shared walker's context and the result. */
struct sl {
  struct cfg_kctx kc;
  struct cfg_dcol dc;
};

#define ERR(l, node, path, ...)  cfg_kerr(&(l)->kc, false, (node), (path), __VA_ARGS__)
#define WARN(l, node, path, ...) cfg_kerr(&(l)->kc, true, (node), (path), __VA_ARGS__)

/* ---- key tables ---- */

static const char *const tok_endian[] = {"ABCD", "DCBA", "BADC", "CDAB", NULL};
static const char *const tok_kind[] = {"linear", "weekly", "clogging", "counter", NULL};
static const char *const tok_sim_transport[] = {"modbus-tcp", "coap", NULL};
static const char *const tok_auth[] = {"bearer", "basic", NULL};
static const char *const tok_form[] = {"seconds", "http-date", NULL};
static const char *const tok_requests[] = {"orders_post", "orders_get", "products", NULL};
static const char *const tok_days[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun", NULL};

static const struct ckey k_top[] = {
  KX("shop", KT_MAP, false),
  KX("devices", KT_SEQ, false),
  KX("simulation", KT_MAP, false),
};
static const struct ckey k_simulation[] = {
  K("seed", KT_INT, struct simcfg, seed, false, 0, I64MAX, "1"),
  K("tick", KT_DUR, struct simcfg, tick_ms, false, 10, D_M, "200ms"),
  KX("start", KT_STR, false),
};

#define SHOP struct simcfg_shop
static const struct ckey k_shop[] = {
  KX("listen", KT_STR, false),
  KX("base_path", KT_STR, false),
  K("db", KT_PATH, SHOP, db_path, true, 0, 0, NULL),
  KX("products", KT_SEQ, true),
  KX("pace", KT_MAP, false),
  K("processing_delay", KT_DUR, SHOP, processing_ms, false, 0, 10 * D_M, "0s"),
  KX("auth", KT_MAP, false),
  KX("faults", KT_MAP, false),
};
static const struct ckey k_pace[] = {
  K("ship_after", KT_DUR, SHOP, ship_after_ms, false, 0, I64MAX, "1d"),
  K("deliver_after", KT_DUR, SHOP, deliver_after_ms, false, 0, I64MAX, "2d"),
  K("jitter", KT_PCT, SHOP, jitter, false, 0, 0, "10%"),
};
static const struct ckey k_product[] = {
  K("sku", KT_SKU, struct simcfg_product, sku, true, 0, 0, NULL),
  KX("unit_price", KT_MONEY, true),
  K("currency", KT_STR, struct simcfg_product, currency, true, 0, 0, NULL),
  K("lead_time_days", KT_INT, struct simcfg_product, lead_time_days, false, 0, 3650, "0"),
  K("available", KT_BOOL, struct simcfg_product, available, false, 0, 0, "true"),
};
static const struct ckey k_auth[] = {
  KE("type", SHOP, auth, true, SIMCFG_AUTH_BEARER, NULL, tok_auth),
  KX("token_file", KT_SECRET, false),
  K("username", KT_STR, SHOP, username, false, 0, 0, NULL),
  KX("password_file", KT_SECRET, false),
};

/* Each fault: probability, times, requests, then its own keys. */
#define FAULT_KEYS(F)                                                                       \
  KX("probability", KT_FLOAT, false),                                                       \
  K("times", KT_INT, SHOP, faults.F.f.times, false, 0, INT64_C(1) << 40, "0"),              \
  KX("requests", KT_SEQ, false)
static const struct ckey k_faults[] = {
  K("seed", KT_INT, SHOP, faults.seed, false, 0, I64MAX, "1"),
  KX("latency", KT_MAP, false),
  KX("error", KT_MAP, false),
  KX("rate_limit", KT_MAP, false),
  KX("drop", KT_MAP, false),
  KX("html_error", KT_MAP, false),
  KX("truncated_json", KT_MAP, false),
};
static const struct ckey k_latency[] = {
  FAULT_KEYS(latency),
  K("delay", KT_DUR, SHOP, faults.latency.delay_ms, true, 0, 10 * D_M, NULL),
};
static const struct ckey k_error[] = {
  FAULT_KEYS(error),
  K("status", KT_INT, SHOP, faults.error.status, false, 400, 599, "500"),
};
static const struct ckey k_rate_limit[] = {
  FAULT_KEYS(rate_limit),
  K("retry_after", KT_DUR, SHOP, faults.rate_limit.retry_after_ms, false, D_S, I64MAX, "1s"),
  KE("form", SHOP, faults.rate_limit.http_date, false, 0, "seconds", tok_form),
};
static const struct ckey k_drop[] = {
  FAULT_KEYS(drop),
  K("after_processing", KT_BOOL, SHOP, faults.drop.after_processing, false, 0, 0, "false"),
};
static const struct ckey k_html_error[] = {
  FAULT_KEYS(html_error),
  K("status", KT_INT, SHOP, faults.html_error.status, false, 400, 599, "502"),
};
static const struct ckey k_truncated[] = {FAULT_KEYS(truncated)};

#define DEV struct simcfg_device
static const struct ckey k_device[] = {
  K("id", KT_ID, DEV, id, true, 0, 0, NULL),
  KX("transport", KT_MAP, true),
  KE("endian", DEV, dev.endian, false, CFG_END_ABCD, "ABCD", tok_endian),
  KX("points", KT_SEQ, true),
  KX("consumables", KT_SEQ, false),
  KX("buttons", KT_SEQ, false),
};
static const struct ckey k_tr_tcp[] = {
  KE("type", DEV, transport, true, SIMCFG_TR_MODBUS_TCP, NULL, tok_sim_transport),
  KX("host", KT_STR, false),
  K("port", KT_INT, DEV, port, true, 0, 65535, NULL),
  K("unit_id", KT_INT, DEV, unit_id, false, 0, 255, "1"),
};
static const struct ckey k_tr_coap[] = {
  KE("type", DEV, transport, true, SIMCFG_TR_MODBUS_TCP, NULL, tok_sim_transport),
  KX("host", KT_STR, false),
  K("port", KT_INT, DEV, port, true, 0, 65535, NULL),
};

#define CONS struct simcfg_consumable
static const struct ckey k_consumable[] = {
  K("id", KT_ID, CONS, id, true, 0, 0, NULL),
  K("point", KT_ID, CONS, point_id, true, 0, 0, NULL),
  K("sku", KT_SKU, CONS, sku, false, 0, 0, NULL),
  K("replace_after", KT_DUR, CONS, replace_after_ms, false, 0, I64MAX, "2h"),
  K("spares", KT_INT, CONS, spares, false, 0, 1000, "0"),
  K("swap_at", KT_PCT, CONS, swap_at, false, 0, 0, "5%"),
  KX("profile", KT_MAP, true),
};
static const struct ckey k_profile[] = {
  KE("kind", CONS, kind, true, SIMCFG_KIND_LINEAR, NULL, tok_kind),
  K("full", KT_FLOAT, CONS, full, true, 0, 0, NULL),
  K("empty", KT_FLOAT, CONS, empty, true, 0, 0, NULL),
  K("life", KT_DUR, CONS, life_ms, true, D_S, I64MAX, NULL),
  K("start_level", KT_FLOAT, CONS, start_level, false, 0, 0, "1"),
  K("steepness", KT_FLOAT, CONS, steepness, false, 0, 0, "4"),
  K("noise", KT_FLOAT, CONS, noise, false, 0, 0, "0"),
  K("glitch_rate", KT_FLOAT, CONS, glitch_rate, false, 0, 0, "0"),
  K("glitch_size", KT_FLOAT, CONS, glitch_size, false, 0, 0, NULL),
  K("glitch_for", KT_DUR, CONS, glitch_for_ms, false, 0, I64MAX, "10m"),
  KX("duty", KT_MAP, false),
  KX("rate_change", KT_MAP, false),
};
static const struct ckey k_rate_change[] = {
  K("after", KT_DUR, CONS, rate_after_ms, true, D_S, I64MAX, NULL),
  K("factor", KT_FLOAT, CONS, rate_factor, true, 0, 0, NULL),
};
static const struct ckey k_duty[] = {
  KX("days", KT_SEQ, false),
  K("from", KT_INT, struct simcfg_duty, from_h, false, 0, 23, "6"),
  K("to", KT_INT, struct simcfg_duty, to_h, false, 1, 24, "22"),
};
static const struct ckey k_button[] = {
  K("point", KT_ID, struct simcfg_button, point_id, true, 0, 0, NULL),
  KX("press_at", KT_SEQ, false),
  K("every", KT_DUR, struct simcfg_button, every_ms, false, D_S, I64MAX, NULL),
  K("hold", KT_DUR, struct simcfg_button, hold_ms, false, 1, I64MAX, "1h"),
};

/* ---- small helpers ---- */

/* The value of key in a mapping (ignoring refused keys), or NULL. */
static struct cfg_node *mget(const struct cfg_node *map, const char *key)
{
  size_t i;
  if(!map || map->kind != CFG_N_MAP)
    return NULL;
  for(i = 0; i < map->n; i++) {
    const struct cfg_node *k = map->kids[2 * i];
    if(!k->skip && k->kind == CFG_N_SCALAR && !strcmp(k->s, key))
      return map->kids[2 * i + 1];
  }
  return NULL;
}

/* A value that cfg_conv accepted as the given scalar type, or -1. */
static int conv1(struct sl *l, const struct cfg_node *v, const char *path, enum kt t, int64_t min,
                 int64_t max, const char *const *tok, void *out)
{
  struct ckey k = {"", t, 0, 8, false, min, max, NULL, tok, 0};
  if(t == KT_ENUM)
    k.size = 4;
  return cfg_conv(&l->kc, v, path, &k, out);
}

/* "a" and "b" joined with the file's directory (arena string). */
static const char *rel_path(struct sl *l, const char *p)
{
  if(p[0] == '/')
    return rs_arena_strdup(l->kc.A, p);
  return rs_arena_printf(l->kc.A, "%s/%s", l->kc.absdir, p);
}

/*
 * The contents of a secret file that cfg_conv already checked (regular, not
 * world-readable): one non-empty line, trailing newlines dropped. Sets *out
 * (arena) or reports. The contents never go into a message.
 */
static int read_secret(struct sl *l, const struct cfg_node *v, const char *path, const char **out)
{
  const char *full = rel_path(l, v->s);
  char buf[4096];
  int rc = keyfile_read_line(NULL, full, "", buf, sizeof(buf), NULL, 0);
  if(rc == -1)
    ERR(l, v, path, "cannot read '%s': %s (expected a secret file)", full, strerror(errno));
  else if(rc)
    ERR(l, v, path, "'%s' must hold one non-empty line", full);
  else
    *out = rs_arena_strdup(l->kc.A, buf);
  memset(buf, 0, sizeof(buf));
  return rc ? -1 : 0;
}

/* An IPv4 literal (or localhost) to listen on; a non-loopback one is a warning. */
static const char *listen_host(struct sl *l, const struct cfg_node *v, const char *path,
                               const char *h, size_t hlen, const char *what)
{
  char host[64];
  struct in_addr ia;
  if(hlen == 0 || hlen >= sizeof(host)) {
    ERR(l, v, path, "'%.*s' is not an IPv4 address (expected e.g. 127.0.0.1)", (int)hlen, h);
    return NULL;
  }
  memcpy(host, h, hlen);
  host[hlen] = '\0';
  if(!strcmp(host, "localhost"))
    rs_strlcpy(host, "127.0.0.1", sizeof(host));
  if(inet_pton(AF_INET, host, &ia) != 1) {
    ERR(l, v, path, "'%s' is not an IPv4 address (expected e.g. 127.0.0.1)", host);
    return NULL;
  }
  if((ntohl(ia.s_addr) >> 24) != 127)
    WARN(l, v, path, "%s listens beyond loopback on %s", what, host);
  return rs_arena_strdup(l->kc.A, host);
}

/* ---- the shop section ---- */

static void load_products(struct sl *l, const struct cfg_node *v, struct simcfg_shop *shop)
{
  size_t i, j;
  shop->products = rs_arena_alloc(l->kc.A, (v->n + 1) * sizeof(*shop->products));
  for(i = 0; i < v->n; i++) {
    const struct cfg_node *m = v->kids[i], *x;
    struct simcfg_product *p = &shop->products[shop->n_products];
    char path[64], kp[96], e[128];
    struct walk w;
    bool ok = true;
    snprintf(path, sizeof(path), "shop.products[%zu]", i);
    if(!cfg_want_map(&l->kc, m, path, "sku, unit_price, currency"))
      continue;
    memset(p, 0, sizeof(*p));
    cfg_walk_map(&l->kc, m, path, k_product, NK(k_product), p, &w, NULL, 0);
    for(j = 0; j < NK(k_product); j++)
      if(w.v[j] && !w.ok[j])
        ok = false;
    p->decimals = -1;
    if(p->currency) {
      p->decimals = cfg_currency_decimals(p->currency);
      if(p->decimals < 0) {
        const char *dym = cfg_currency_suggest(p->currency);
        cfg_kpath(kp, sizeof(kp), path, "currency");
        if(dym)
          ERR(l, cfg_wv(&w, "currency"), kp,
              "'%s' is not a known ISO 4217 currency (did you mean '%s'?)", p->currency, dym);
        else
          ERR(l, cfg_wv(&w, "currency"), kp,
              "'%s' is not a known ISO 4217 currency (expected a code like EUR)", p->currency);
        ok = false;
      }
    }
    if(cfg_wok(&w, "unit_price") && p->decimals >= 0) {
      char canon[40];
      x = cfg_wv(&w, "unit_price");
      cfg_kpath(kp, sizeof(kp), path, "unit_price");
      if(cfg_parse_money(x->s, p->decimals, &p->unit_price_minor, e, sizeof(e))) {
        ERR(l, x, kp, "'%s' is not an amount in %s: %s", x->s, p->currency, e);
        ok = false;
      }
      cfg_format_money(p->unit_price_minor, p->decimals, canon, sizeof(canon));
      p->unit_price = rs_arena_strdup(l->kc.A, canon);
    }
    else {
      ok = false;
    }
    if(!p->sku)
      continue;
    for(j = 0; j < i; j++) {
      const struct cfg_node *o = mget(v->kids[j], "sku");
      if(o && o->kind == CFG_N_SCALAR && !strcmp(o->s, p->sku)) {
        cfg_kpath(kp, sizeof(kp), path, "sku");
        ERR(l, cfg_wv(&w, "sku"), kp, "duplicate SKU '%s' (first defined at %s:%d:%d)", p->sku,
            l->kc.file, o->line, o->col);
        ok = false;
        break;
      }
    }
    if(!ok)
      continue;
    shop->n_products++;
  }
}
/* A fault's probability (0..1) and requests (a list of request kinds). */
static void load_fault(struct sl *l, const struct cfg_node *m, const char *path,
                       const struct ckey *keys, size_t nk, struct simcfg_shop *shop,
                       struct simcfg_fault *f)
{
  struct walk w;
  const struct cfg_node *x;
  char kp[96];
  size_t i;
  f->set = true;
  f->probability = 1;
  f->requests = SIMCFG_REQ_ALL;
  cfg_walk_map(&l->kc, m, path, keys, nk, shop, &w, NULL, 0);
  if(cfg_wok(&w, "probability")) {
    x = cfg_wv(&w, "probability");
    cfg_kpath(kp, sizeof(kp), path, "probability");
    if(rs_parse_double(x->s, &f->probability) || !(f->probability >= 0 && f->probability <= 1))
      ERR(l, x, kp, "'%s' is out of range (expected a probability from 0 to 1)", x->s);
  }
  if((x = cfg_wc(&w, "requests", CFG_N_SEQ))) {
    f->requests = 0;
    cfg_kpath(kp, sizeof(kp), path, "requests");
    for(i = 0; i < x->n; i++) {
      int e;
      char ip[112];
      cfg_ipath(ip, sizeof(ip), kp, i);
      if(!conv1(l, x->kids[i], ip, KT_ENUM, 0, 0, tok_requests, &e))
        f->requests |= 1u << e;
    }
  }
}

static void load_faults(struct sl *l, const struct cfg_node *v, struct simcfg_shop *shop)
{
  static const struct {
    const char *name;
    const struct ckey *k;
    size_t n;
    size_t off; /* of the struct simcfg_fault in the shop */
  } faults[] = {
    {"latency", k_latency, NK(k_latency), offsetof(SHOP, faults.latency.f)},
    {"error", k_error, NK(k_error), offsetof(SHOP, faults.error.f)},
    {"rate_limit", k_rate_limit, NK(k_rate_limit), offsetof(SHOP, faults.rate_limit.f)},
    {"drop", k_drop, NK(k_drop), offsetof(SHOP, faults.drop.f)},
    {"html_error", k_html_error, NK(k_html_error), offsetof(SHOP, faults.html_error.f)},
    {"truncated_json", k_truncated, NK(k_truncated), offsetof(SHOP, faults.truncated.f)},
  };
  struct walk w;
  size_t i;
  cfg_walk_map(&l->kc, v, "shop.faults", k_faults, NK(k_faults), shop, &w, NULL, 0);
  for(i = 0; i < NK(faults); i++) {
    const struct cfg_node *m = cfg_wc(&w, faults[i].name, CFG_N_MAP);
    char path[64];
    if(!m)
      continue;
    snprintf(path, sizeof(path), "shop.faults.%s", faults[i].name);
    load_fault(l, m, path, faults[i].k, faults[i].n, shop,
               (struct simcfg_fault *)(void *)((char *)shop + faults[i].off));
  }
  if(shop->faults.rate_limit.f.set && shop->faults.rate_limit.retry_after_ms % 1000) {
    const struct cfg_node *x = mget(mget(v, "rate_limit"), "retry_after");
    ERR(l, x, "shop.faults.rate_limit.retry_after",
        "'%s' is not whole seconds (Retry-After counts seconds)", x ? x->s : "");
  }
}

/* shop.auth: bearer (token_file) or basic (username, password_file); reads the secret. */
static void load_auth(struct sl *l, const struct cfg_node *v, struct simcfg_shop *shop)
{
  struct walk w;
  const struct cfg_node *x;
  cfg_walk_map(&l->kc, v, "shop.auth", k_auth, NK(k_auth), shop, &w, NULL, 0);
  if(!cfg_wok(&w, "type")) {
    shop->auth = SIMCFG_AUTH_NONE;
    return;
  }
  if(shop->auth == SIMCFG_AUTH_BEARER) {
    if(!cfg_wv(&w, "token_file"))
      ERR(l, v, "shop.auth.token_file", "required key is missing (type bearer)");
    else if(cfg_wok(&w, "token_file"))
      (void)read_secret(l, cfg_wv(&w, "token_file"), "shop.auth.token_file", &shop->token);
    if((x = cfg_wkey(&w, "username")) || (x = cfg_wkey(&w, "password_file")))
      ERR(l, x, "shop.auth", "username and password_file go with type basic");
    return;
  }
  if(!cfg_wv(&w, "username"))
    ERR(l, v, "shop.auth.username", "required key is missing (type basic)");
  else if(shop->username && strchr(shop->username, ':'))
    ERR(l, cfg_wv(&w, "username"), "shop.auth.username",
        "a basic-auth user name cannot hold ':'");
  if(!cfg_wv(&w, "password_file"))
    ERR(l, v, "shop.auth.password_file", "required key is missing (type basic)");
  else if(cfg_wok(&w, "password_file"))
    (void)read_secret(l, cfg_wv(&w, "password_file"), "shop.auth.password_file",
                      &shop->password);
  if((x = cfg_wkey(&w, "token_file")))
    ERR(l, x, "shop.auth", "token_file goes with type bearer");
}

static void load_shop(struct sl *l, const struct cfg_node *v, struct simcfg_shop *shop)
{
  struct walk w;
  const struct cfg_node *x;
  shop->set = true;
  shop->host = "127.0.0.1";
  shop->port = 8480;
  shop->base_path = "/api/v1";
  shop->faults.error.status = 500;
  shop->faults.html_error.status = 502;
  shop->faults.rate_limit.retry_after_ms = 1000;
  shop->faults.seed = 1;
  cfg_walk_map(&l->kc, v, "shop", k_shop, NK(k_shop), shop, &w, NULL, 0);
  if(!cfg_wv(&w, "pace")) {
    shop->ship_after_ms = INT64_C(86400000);
    shop->deliver_after_ms = INT64_C(2) * 86400000;
    shop->jitter = 0.1;
  }
  if(cfg_wok(&w, "listen")) {
    const char *s, *colon;
    int64_t port;
    x = cfg_wv(&w, "listen");
    s = x->s;
    colon = strrchr(s, ':');
    if(!colon || colon == s)
      ERR(l, x, "shop.listen", "'%s' is not HOST:PORT (expected e.g. 127.0.0.1:8480)", s);
    else if(rs_parse_i64(colon + 1, false, 0, 65535, &port))
      ERR(l, x, "shop.listen", "port '%s' is out of range (expected 0 to 65535; 0 picks a free "
                               "port)", colon + 1);
    else {
      const char *h = listen_host(l, x, "shop.listen", s, (size_t)(colon - s), "the sandbox shop");
      if(h) {
        shop->host = h;
        shop->port = (uint16_t)port;
      }
    }
  }
  if(cfg_wok(&w, "base_path")) {
    const char *s = cfg_wv(&w, "base_path")->s;
    size_t n = strlen(s);
    while(n > 1 && s[n - 1] == '/')
      n--;
    if(s[0] != '/' || strpbrk(s, "?# ") || n > 200)
      ERR(l, cfg_wv(&w, "base_path"), "shop.base_path",
          "'%s' is not a path (expected e.g. /api/v1)", s);
    shop->base_path = n == 1 ? "" : rs_arena_strndup(l->kc.A, s, n);
  }
  if((x = cfg_wc(&w, "products", CFG_N_SEQ)))
    load_products(l, x, shop);
  if((x = cfg_wc(&w, "pace", CFG_N_MAP))) {
    struct walk wp;
    cfg_walk_map(&l->kc, x, "shop.pace", k_pace, NK(k_pace), shop, &wp, NULL, 0);
  }
  if((x = cfg_wc(&w, "auth", CFG_N_MAP)))
    load_auth(l, x, shop);
  if((x = cfg_wc(&w, "faults", CFG_N_MAP)))
    load_faults(l, x, shop);
}

/* ---- the devices section ---- */

/* Whether every key a walk found converted without error. */
static bool walk_clean(const struct walk *w)
{
  size_t j;
  for(j = 0; j < w->n; j++)
    if(w->v[j] && !w->ok[j])
      return false;
  return true;
}

/*
 * device.transport: modbus-tcp (host, port, unit_id) or coap (host, port).
 * Returns false when the type is missing or unknown (points are then not
 * checked: their keys depend on it).
 */
static bool load_transport(struct sl *l, const struct cfg_node *v, const char *path,
                           struct simcfg_device *d, bool *ok)
{
  static const struct calt coap_alt[] = {{k_tr_tcp, NK(k_tr_tcp), "it belongs to modbus-tcp"}};
  const struct cfg_node *t = mget(v, "type");
  struct walk w;
  char kp[96];
  bool coap;
  cfg_kpath(kp, sizeof(kp), path, "type");
  if(t && t->kind == CFG_N_SCALAR && !strcmp(t->s, "modbus-rtu")) {
    ERR(l, t, kp, "the simulator serves Modbus TCP only (use modbus-tcp; restock's RTU side is "
                  "tested with socat ptys)");
    return false;
  }
  coap = t && t->kind == CFG_N_SCALAR && !strcmp(t->s, "coap");
  d->host = "127.0.0.1";
  if(coap)
    cfg_walk_map(&l->kc, v, path, k_tr_coap, NK(k_tr_coap), d, &w, coap_alt, 1);
  else
    cfg_walk_map(&l->kc, v, path, k_tr_tcp, NK(k_tr_tcp), d, &w, NULL, 0);
  if(!cfg_wok(&w, "type"))
    return false;
  if(!walk_clean(&w) || !cfg_wv(&w, "port"))
    *ok = false;
  if(cfg_wok(&w, "host")) {
    const struct cfg_node *h = cfg_wv(&w, "host");
    cfg_kpath(kp, sizeof(kp), path, "host");
    d->host = listen_host(l, h, kp, h->s, h->len, "the simulated device");
    if(!d->host) {
      d->host = "127.0.0.1";
      *ok = false;
    }
  }
  d->dev.transport = coap ? CFG_TR_COAP : CFG_TR_MODBUS_TCP;
  return true;
}

/*
 * device.points: restock's own point loader (cfg_load_points), after the
 * simulator's one extra key, `value`, is read here and hidden from it; then
 * what only the simulator needs: registers may not overlap, and a CoAP path
 * serves one format.
 */
static void load_points(struct sl *l, const struct cfg_node *v, const char *dpath,
                        struct simcfg_device *d, bool *ok)
{
  size_t i, j, n_before = l->dc.n_errors;
  double *vals = rs_arena_alloc(l->kc.T, (v->n + 1) * sizeof(*vals));
  size_t *item;
  char p[96], kp[128];
  for(i = 0; i < v->n; i++) {
    const struct cfg_node *m = v->kids[i];
    vals[i] = NAN;
    for(j = 0; m->kind == CFG_N_MAP && j < m->n; j++) {
      struct cfg_node *k = m->kids[2 * j];
      if(!k->skip && k->kind == CFG_N_SCALAR && !strcmp(k->s, "value")) {
        snprintf(p, sizeof(p), "%s.points[%zu]", dpath, i);
        cfg_kpath(kp, sizeof(kp), p, "value");
        (void)conv1(l, m->kids[2 * j + 1], kp, KT_FLOAT, 0, 0, NULL, &vals[i]);
        k->skip = true;
      }
    }
  }
  static const char *const sim_keys[] = {"value", NULL}; /* read above */
  cfg_load_points(&l->kc, &d->dev, v, dpath, sim_keys, false);
  if(l->dc.n_errors > n_before)
    *ok = false;
  /* the item each loaded point came from: points keep item order, refused items are missing */
  item = rs_arena_alloc(l->kc.T, (d->dev.n_points + 1) * sizeof(*item));
  d->values = rs_arena_alloc(l->kc.A, (d->dev.n_points + 1) * sizeof(*d->values));
  for(i = 0, j = 0; j < d->dev.n_points; j++, i++) {
    const struct cfg_node *idn;
    while(i < v->n && (!(idn = mget(v->kids[i], "id")) || idn->kind != CFG_N_SCALAR ||
                       strcmp(idn->s, d->dev.points[j].id)))
      i++;
    item[j] = i < v->n ? i : 0;
    d->values[j] = i < v->n ? vals[i] : NAN;
    if(d->transport == SIMCFG_TR_COAP)
      d->dev.points[j].type = CFG_VT_FLOAT64; /* a CoAP value is a number */
  }
  for(i = 0; i < d->dev.n_points; i++) {
    const struct cfg_point *pt = &d->dev.points[i];
    const struct cfg_node *m = v->kids[item[i]];
    snprintf(p, sizeof(p), "%s.points[%zu]", dpath, item[i]);
    if(d->transport == SIMCFG_TR_COAP && !pt->path)
      continue;
    if(d->transport == SIMCFG_TR_COAP) {
      cfg_kpath(kp, sizeof(kp), p, "path");
      if(pt->path[0] == '/' && (strlen(pt->path) < 2 || strstr(pt->path, "//") ||
                                strpbrk(pt->path, "?# ") || pt->path[strlen(pt->path) - 1] == '/')) {
        ERR(l, mget(m, "path"), kp, "'%s' is not a resource path the simulator can serve "
                                    "(expected e.g. /sensors/level)", pt->path);
        *ok = false;
      }
      cfg_kpath(kp, sizeof(kp), p, "pointer");
      if(pt->pointer && pt->pointer[0] == '/' && (strlen(pt->pointer) < 2 || strchr(pt->pointer, '~'))) {
        ERR(l, mget(m, "pointer"), kp,
            "'%s' is not a JSON pointer the simulator can build (expected e.g. /level)", pt->pointer);
        *ok = false;
      }
    }
    for(j = 0; j < i; j++) {
      const struct cfg_point *o = &d->dev.points[j];
      if(d->transport == SIMCFG_TR_COAP && o->path && !strcmp(o->path, pt->path) &&
         (o->format != pt->format || pt->format == CFG_FMT_TEXT)) {
        ERR(l, mget(m, "path"), p,
            "path '%s' is already served by point '%s' (points may share a path only as json "
            "or senml records of the same format)",
            pt->path, o->id);
        *ok = false;
        break;
      }
      if(d->transport != SIMCFG_TR_COAP && o->table == pt->table &&
         pt->address < o->address + o->width && o->address < pt->address + pt->width &&
         !(o->bit >= 0 && pt->bit >= 0 && o->bit != pt->bit)) {
        ERR(l, mget(m, "address"), p, "overlaps point '%s' (%s %u..%u)", o->id,
            cfg_regtable_name(o->table), (unsigned)o->address,
            (unsigned)(o->address + o->width - 1));
        *ok = false;
        break;
      }
    }
  }
}

/* The index of point id in d, or reported (with a suggestion). 0 or -1. */
static int find_point(struct sl *l, const struct cfg_node *x, const char *path,
                      const struct simcfg_device *d, const char *id, size_t *idx)
{
  const char **names;
  const char *s;
  size_t i;
  for(i = 0; i < d->dev.n_points; i++)
    if(!strcmp(d->dev.points[i].id, id)) {
      *idx = i;
      return 0;
    }
  names = rs_arena_alloc(l->kc.T, (d->dev.n_points + 1) * sizeof(*names));
  for(i = 0; i < d->dev.n_points; i++)
    names[i] = d->dev.points[i].id;
  names[i] = NULL;
  s = rs_did_you_mean(id, names);
  if(s)
    ERR(l, x, path, "unknown point '%s' (did you mean '%s'?)", id, s);
  else
    ERR(l, x, path, "unknown point '%s' (expected a point id of device '%s')", id,
        d->id ? d->id : "?");
  return -1;
}

/* profile.duty: {days: [mon, ...], from: H, to: H}. */
static bool load_duty(struct sl *l, const struct cfg_node *v, const char *path,
                      struct simcfg_duty *duty)
{
  struct walk w;
  const struct cfg_node *x;
  char kp[192];
  bool ok;
  size_t i;
  cfg_walk_map(&l->kc, v, path, k_duty, NK(k_duty), duty, &w, NULL, 0);
  ok = walk_clean(&w);
  if((x = cfg_wc(&w, "days", CFG_N_SEQ))) {
    cfg_kpath(kp, sizeof(kp), path, "days");
    duty->days = 0;
    if(!x->n) {
      ERR(l, x, kp, "empty list (expected days such as [mon, tue, wed, thu, fri])");
      ok = false;
    }
    for(i = 0; i < x->n; i++) {
      int e;
      if(conv1(l, x->kids[i], kp, KT_ENUM, 0, 0, tok_days, &e))
        ok = false;
      else
        duty->days |= 1u << e;
    }
  }
  if(ok && duty->to_h <= duty->from_h) {
    ERR(l, v, path, "from %d to %d is empty (expected from < to, hours in UTC)", duty->from_h,
        duty->to_h);
    ok = false;
  }
  return ok;
}

/* consumable.profile: the kind and its numbers, with the cross checks. */
static bool load_profile(struct sl *l, const struct cfg_node *v, const char *path,
                         struct simcfg_consumable *k, const struct cfg_point *pt)
{
  struct walk w;
  const struct cfg_node *x;
  char kp[192];
  bool ok;
  k->duty.days = 0x1f;
  k->duty.from_h = 6;
  k->duty.to_h = 22;
  cfg_walk_map(&l->kc, v, path, k_profile, NK(k_profile), k, &w, NULL, 0);
  ok = walk_clean(&w) && cfg_wok(&w, "kind") && cfg_wok(&w, "full") && cfg_wok(&w, "empty") &&
       cfg_wok(&w, "life");
#define RANGE(key, cond, ...)                                                                   \
  if(cfg_wok(&w, key) && !(cond)) {                                                            \
    cfg_kpath(kp, sizeof(kp), path, key);                                                      \
    ERR(l, cfg_wv(&w, key), kp, __VA_ARGS__);                                                  \
    ok = false;                                                                                \
  }
  RANGE("empty", !cfg_wok(&w, "full") || k->empty != k->full,
        "equals full (the part would never wear)")
  RANGE("start_level", k->start_level >= 0 && k->start_level <= 1,
        "'%s' is out of range (expected a remaining share from 0 to 1)", cfg_wv(&w, "start_level")->s)
  RANGE("steepness", k->kind == SIMCFG_KIND_CLOGGING, "only applies to kind clogging")
  RANGE("steepness", k->steepness >= 0.1 && k->steepness <= 20,
        "'%s' is out of range (expected 0.1 to 20)", cfg_wv(&w, "steepness")->s)
  RANGE("noise", k->noise >= 0, "'%s' is negative (expected a standard deviation >= 0)",
        cfg_wv(&w, "noise")->s)
  RANGE("glitch_rate", k->glitch_rate >= 0 && k->glitch_rate <= 1e6,
        "'%s' is out of range (expected glitches per simulated day, >= 0)",
        cfg_wv(&w, "glitch_rate")->s)
#undef RANGE
  if(!cfg_wv(&w, "glitch_size"))
    k->glitch_size = fabs(k->empty - k->full) / 2;
  if((x = cfg_wc(&w, "rate_change", CFG_N_MAP))) {
    struct walk wr;
    cfg_kpath(kp, sizeof(kp), path, "rate_change");
    cfg_walk_map(&l->kc, x, kp, k_rate_change, NK(k_rate_change), k, &wr, NULL, 0);
    if(!walk_clean(&wr) || !cfg_wok(&wr, "after") || !cfg_wok(&wr, "factor"))
      ok = false;
    else if(!(k->rate_factor > 0 && k->rate_factor <= 100)) {
      cfg_kpath(kp, sizeof(kp), kp, "factor");
      ERR(l, cfg_wv(&wr, "factor"), kp, "'%s' is out of range (expected a factor above 0, at "
                                        "most 100)", cfg_wv(&wr, "factor")->s);
      ok = false;
    }
  }
  if((x = cfg_wc(&w, "duty", CFG_N_MAP))) {
    cfg_kpath(kp, sizeof(kp), path, "duty");
    if(!load_duty(l, x, kp, &k->duty))
      ok = false;
    k->duty.set = true;
  }
  else
    k->duty.set = k->kind == SIMCFG_KIND_WEEKLY;
  if(k->kind == SIMCFG_KIND_COUNTER && (cfg_wv(&w, "noise") || cfg_wv(&w, "glitch_rate"))) {
    x = cfg_wv(&w, "noise") ? cfg_wv(&w, "noise") : cfg_wv(&w, "glitch_rate");
    ERR(l, x, path, "a counter neither jitters nor glitches (drop noise and glitch_rate)");
    ok = false;
  }
  if(k->kind == SIMCFG_KIND_COUNTER && ok && k->empty < k->full) {
    ERR(l, cfg_wv(&w, "empty"), path, "a counter counts up (expected empty > full)");
    ok = false;
  }
  if(pt && pt->type == CFG_VT_BOOL) {
    ERR(l, v, path, "point '%s' is a bool (a profile needs a numeric point)", pt->id);
    ok = false;
  }
  return ok;
}

/* device.consumables: id, point, sku, replace_after, profile. */
static void load_consumables(struct sl *l, const struct cfg_node *v, const char *path,
                             struct simcfg_device *d, bool *used, bool *dev_ok)
{
  size_t i, j;
  d->consumables = rs_arena_alloc(l->kc.A, (v->n + 1) * sizeof(*d->consumables));
  for(i = 0; i < v->n; i++) {
    const struct cfg_node *m = v->kids[i], *x;
    struct simcfg_consumable *k = &d->consumables[d->n_consumables];
    char p[96], kp[128];
    struct walk w;
    bool ok, have_pt = false;
    memset(k, 0, sizeof(*k));
    cfg_ipath(p, sizeof(p), path, i);
    if(!cfg_want_map(&l->kc, m, p, "id, point, profile")) {
      *dev_ok = false;
      continue;
    }
    k->line = m->line;
    k->col = m->col;
    cfg_walk_map(&l->kc, m, p, k_consumable, NK(k_consumable), k, &w, NULL, 0);
    ok = walk_clean(&w) && k->id;
    cfg_kpath(kp, sizeof(kp), p, "point");
    if(k->point_id) {
      have_pt = !find_point(l, cfg_wv(&w, "point"), kp, d, k->point_id, &k->point);
      if(!have_pt)
        ok = false;
      else if(used[k->point]) {
        ERR(l, cfg_wv(&w, "point"), kp,
            "point '%s' is already driven by another consumable or button", k->point_id);
        ok = false;
      }
    }
    else
      ok = false;
    if((x = cfg_wkey(&w, "replace_after")) && !cfg_wv(&w, "sku")) {
      cfg_kpath(kp, sizeof(kp), p, "replace_after");
      ERR(l, cfg_wv(&w, "replace_after"), kp, "needs sku (only a delivered SKU replaces a part)");
      ok = false;
    }
    if((x = cfg_wc(&w, "profile", CFG_N_MAP))) {
      cfg_kpath(kp, sizeof(kp), p, "profile");
      if(!load_profile(l, x, kp, k, have_pt ? &d->dev.points[k->point] : NULL))
        ok = false;
    }
    else
      ok = false;
    if(!ok) {
      *dev_ok = false;
      continue;
    }
    for(j = 0; j < d->n_consumables; j++)
      if(!strcmp(d->consumables[j].id, k->id)) {
        cfg_kpath(kp, sizeof(kp), p, "id");
        ERR(l, cfg_wv(&w, "id"), kp, "duplicate consumable id '%s' (first defined at %s:%d:%d)",
            k->id, l->kc.file, d->consumables[j].line, d->consumables[j].col);
        break;
      }
    if(j < d->n_consumables) {
      *dev_ok = false;
      continue;
    }
    used[k->point] = true;
    d->n_consumables++;
  }
}

/* device.buttons: point, press_at, every, hold. */
static void load_buttons(struct sl *l, const struct cfg_node *v, const char *path,
                         struct simcfg_device *d, bool *used, bool *dev_ok)
{
  size_t i, j;
  d->buttons = rs_arena_alloc(l->kc.A, (v->n + 1) * sizeof(*d->buttons));
  for(i = 0; i < v->n; i++) {
    const struct cfg_node *m = v->kids[i], *x;
    struct simcfg_button *b = &d->buttons[d->n_buttons];
    char p[96], kp[128];
    struct walk w;
    bool ok;
    memset(b, 0, sizeof(*b));
    cfg_ipath(p, sizeof(p), path, i);
    if(!cfg_want_map(&l->kc, m, p, "point")) {
      *dev_ok = false;
      continue;
    }
    b->line = m->line;
    b->col = m->col;
    cfg_walk_map(&l->kc, m, p, k_button, NK(k_button), b, &w, NULL, 0);
    ok = walk_clean(&w) && b->point_id;
    cfg_kpath(kp, sizeof(kp), p, "point");
    if(b->point_id && !find_point(l, cfg_wv(&w, "point"), kp, d, b->point_id, &b->point)) {
      if(d->dev.points[b->point].type != CFG_VT_BOOL) {
        ERR(l, cfg_wv(&w, "point"), kp,
            "point '%s' is not a bool (a button is a coil, a discrete input or a bool register)",
            b->point_id);
        ok = false;
      }
      else if(used[b->point]) {
        ERR(l, cfg_wv(&w, "point"), kp,
            "point '%s' is already driven by another consumable or button", b->point_id);
        ok = false;
      }
    }
    else
      ok = false;
    if((x = cfg_wc(&w, "press_at", CFG_N_SEQ))) {
      cfg_kpath(kp, sizeof(kp), p, "press_at");
      b->press_at_ms = rs_arena_alloc(l->kc.A, (x->n + 1) * sizeof(*b->press_at_ms));
      for(j = 0; j < x->n; j++) {
        char ip[160];
        cfg_ipath(ip, sizeof(ip), kp, j);
        if(conv1(l, x->kids[j], ip, KT_DUR, 0, I64MAX, NULL, &b->press_at_ms[b->n_press_at]))
          ok = false;
        else
          b->n_press_at++;
      }
    }
    if(ok && b->every_ms && b->hold_ms >= b->every_ms) {
      x = cfg_wv(&w, "hold");
      cfg_kpath(kp, sizeof(kp), p, "hold");
      ERR(l, x ? x : m, kp, "%s is not shorter than every (the button would never be released)",
          x ? x->s : "1h");
      ok = false;
    }
    if(!ok) {
      *dev_ok = false;
      continue;
    }
    used[b->point] = true;
    d->n_buttons++;
  }
}

/* The devices list: every device, then ids and listening addresses across devices. */
static void load_devices(struct sl *l, const struct cfg_node *v, struct simcfg *cfg)
{
  size_t i, j;
  cfg->devices = rs_arena_alloc(l->kc.A, (v->n + 1) * sizeof(*cfg->devices));
  for(i = 0; i < v->n; i++) {
    const struct cfg_node *m = v->kids[i], *x;
    struct simcfg_device *d = &cfg->devices[cfg->n_devices];
    char p[64], kp[96];
    struct walk w;
    bool ok, *used;
    memset(d, 0, sizeof(*d));
    cfg_ipath(p, sizeof(p), "devices", i);
    if(!cfg_want_map(&l->kc, m, p, "id, transport, points"))
      continue;
    d->line = m->line;
    d->col = m->col;
    cfg_walk_map(&l->kc, m, p, k_device, NK(k_device), d, &w, NULL, 0);
    ok = walk_clean(&w) && d->id;
    d->dev.id = d->id;
    d->dev.pos.file = l->kc.file;
    d->dev.pos.line = m->line;
    d->dev.pos.col = m->col;
    cfg_kpath(kp, sizeof(kp), p, "transport");
    if(!(x = cfg_wc(&w, "transport", CFG_N_MAP)) || !load_transport(l, x, kp, d, &ok))
      continue;
    if((x = cfg_wkey(&w, "endian")) && d->transport == SIMCFG_TR_COAP) {
      cfg_kpath(kp, sizeof(kp), p, "endian");
      ERR(l, x, kp, "only applies to Modbus devices");
      ok = false;
    }
    if(!(x = cfg_wc(&w, "points", CFG_N_SEQ)))
      continue;
    load_points(l, x, p, d, &ok);
    used = rs_arena_alloc(l->kc.T, (d->dev.n_points + 1) * sizeof(*used));
    if((x = cfg_wc(&w, "consumables", CFG_N_SEQ))) {
      cfg_kpath(kp, sizeof(kp), p, "consumables");
      load_consumables(l, x, kp, d, used, &ok);
    }
    if((x = cfg_wc(&w, "buttons", CFG_N_SEQ))) {
      cfg_kpath(kp, sizeof(kp), p, "buttons");
      if(d->transport == SIMCFG_TR_COAP) {
        ERR(l, x, kp, "buttons are Modbus bool points (this device is CoAP)");
        ok = false;
      }
      else
        load_buttons(l, x, kp, d, used, &ok);
    }
    if(!ok)
      continue;
    for(j = 0; j < cfg->n_devices; j++) {
      const struct simcfg_device *o = &cfg->devices[j];
      const struct cfg_node *at = cfg_wv(&w, "transport");
      if(!strcmp(o->id, d->id)) {
        cfg_kpath(kp, sizeof(kp), p, "id");
        ERR(l, cfg_wv(&w, "id"), kp, "duplicate device id '%s' (first defined at %s:%d:%d)",
            d->id, l->kc.file, o->line, o->col);
        break;
      }
      if(o->transport != d->transport || !d->port || o->port != d->port)
        continue;
      if(d->transport == SIMCFG_TR_COAP) {
        ERR(l, at, p, "CoAP port %u is already served by device '%s' (one device per CoAP port)",
            (unsigned)d->port, o->id);
        break;
      }
      if(strcmp(o->host, d->host)) {
        ERR(l, at, p,
            "port %u is already served on %s by device '%s' (devices on one port share its host)",
            (unsigned)d->port, o->host, o->id);
        break;
      }
      if(o->unit_id == d->unit_id) {
        ERR(l, at, p,
            "unit id %d on port %u is already device '%s' (several devices on one port need "
            "distinct unit ids)",
            d->unit_id, (unsigned)d->port, o->id);
        break;
      }
    }
    if(j < cfg->n_devices)
      continue;
    cfg->n_devices++;
  }
}

/* "YYYY-MM-DDTHH:MM:SSZ" (UTC only) into Unix ms. 0 or -1. */
static int parse_utc(const char *s, int64_t *out)
{
  struct tm tm;
  int y, mo, d, h, mi, sec, n = 0;
  time_t t;
  if(sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
     (size_t)n != strlen(s) || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
     mi > 59 || sec > 60 || h < 0 || mi < 0 || sec < 0)
    return -1;
  memset(&tm, 0, sizeof(tm));
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  t = timegm(&tm);
  if(t == (time_t)-1)
    return -1;
  *out = (int64_t)t * 1000;
  return 0;
}

static void load_root(struct sl *l, struct cfg_node *root, struct simcfg *cfg)
{
  struct walk w;
  const struct cfg_node *x;
  cfg_walk_map(&l->kc, root, "", k_top, NK(k_top), cfg, &w, NULL, 0);
  if((x = cfg_wc(&w, "simulation", CFG_N_MAP))) {
    struct walk ws;
    cfg_walk_map(&l->kc, x, "simulation", k_simulation, NK(k_simulation), cfg, &ws, NULL, 0);
    if(cfg_wok(&ws, "start")) {
      x = cfg_wv(&ws, "start");
      if(parse_utc(x->s, &cfg->start_wall_ms))
        ERR(l, x, "simulation.start", "'%s' is not a time (expected UTC as 2026-01-05T06:00:00Z)",
            x->s);
      else
        cfg->start_set = true;
    }
  }
  else {
    cfg->seed = 1;
    cfg->tick_ms = 200;
  }
  if(cfg_wv(&w, "devices")) {
    cfg->devices_present = true;
    if((x = cfg_wc(&w, "devices", CFG_N_SEQ)))
      load_devices(l, x, cfg);
  }
  if((x = cfg_wc(&w, "shop", CFG_N_MAP)))
    load_shop(l, x, &cfg->shop);
  else if(!cfg_wv(&w, "shop") && !cfg->devices_present)
    ERR(l, root, NULL, "nothing to simulate (expected a shop or devices section)");
}

int simcfg_load_buffer(const char *path, const char *data, size_t len, struct simcfg **out,
                       struct cfg_diags *diags)
{
  struct rs_arena *arena = rs_arena_new();
  struct simcfg *cfg = rs_arena_alloc(arena, sizeof(*cfg)); /* freed with its arena */
  struct sl l;
  struct cfg_node *root = NULL;
  const char *slash;
  bool empty = false;
  size_t n_errors;

  *out = NULL;
  cfg->arena = arena;
  memset(&l, 0, sizeof(l));
  l.kc.A = cfg->arena;
  l.kc.T = rs_arena_new();
  l.kc.dc = &l.dc;
  l.kc.file = cfg->path = rs_arena_strdup(cfg->arena, path);
  slash = strrchr(path, '/');
  l.kc.absdir = slash ? rs_arena_strndup(cfg->arena, path, (size_t)(slash - path) + (slash == path))
                      : ".";
  cfg_dcol_file(&l.dc, l.kc.file);
  if(!cfg_yaml_parse(l.kc.T, &l.dc, l.kc.file, data, len, &root, &empty)) {
    if(empty || !root)
      cfg_dcol_add(&l.dc, false, l.kc.file, 0, 0, "empty file (expected a mapping with shop)");
    else if(root->kind != CFG_N_MAP)
      ERR(&l, root, NULL, "got %s (expected a mapping with shop or devices)",
          cfg_kind_name(root));
    else
      load_root(&l, root, cfg);
  }
  n_errors = l.dc.n_errors;
  cfg_dcol_finish(&l.dc, diags);
  rs_arena_free(l.kc.T);
  if(n_errors) {
    simcfg_free(cfg);
    return (int)n_errors;
  }
  *out = cfg;
  return 0;
}

int simcfg_load(const char *path, struct simcfg **out, struct cfg_diags *diags)
{
  struct stat st;
  char *data;
  size_t len = 0;
  ssize_t r;
  int fd, rc;
  const char *why = NULL;
  *out = NULL;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if(fd < 0 || fstat(fd, &st))
    why = strerror(errno);
  else if(!S_ISREG(st.st_mode))
    why = "not a regular file";
  else if((uint64_t)st.st_size > CFG_MAX_FILE_BYTES)
    why = "larger than 8 MiB";
  if(why) {
    struct cfg_dcol dc;
    memset(&dc, 0, sizeof(dc));
    cfg_dcol_add(&dc, false, path, 0, 0, "cannot read: %s", why);
    cfg_dcol_finish(&dc, diags);
    if(fd >= 0)
      close(fd);
    return 1;
  }
  data = rs_xmalloc((size_t)st.st_size + 1);
  while(len < (size_t)st.st_size && (r = read(fd, data + len, (size_t)st.st_size - len)) > 0)
    len += (size_t)r;
  close(fd);
  data[len] = '\0';
  rc = simcfg_load_buffer(path, data, len, out, diags);
  free(data);
  return rc;
}

void simcfg_free(struct simcfg *cfg)
{
  if(cfg)
    rs_arena_free(cfg->arena); /* cfg itself lives in it */
}

const char *simcfg_kind_name(enum simcfg_kind k)
{
  return (unsigned)k < NK(tok_kind) - 1 ? tok_kind[k] : "?";
}

const struct simcfg_product *simcfg_find_product(const struct simcfg_shop *shop, const char *sku)
{
  size_t i;
  for(i = 0; i < shop->n_products; i++)
    if(shop->products[i].sku && !strcmp(shop->products[i].sku, sku))
      return &shop->products[i];
  return NULL;
}
