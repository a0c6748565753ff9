/* SPDX-License-Identifier: Apache-2.0 */
/*
 * simcfg: reads the restock-sim YAML file (see simcfg.h and
 * docs/sandbox-shop.md). libyaml events become a small node tree with
 * positions; a schema walk then checks every key and fills struct simcfg.
 * The walk never stops at the first error: every error of the file is
 * reported, each as "file:line:column: key.path: what (expected what)".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "config/config.h"
#include "config/rs_util.h"
#include "config/simcfg.h"

#define SIM_MAX_FILE_BYTES (8u * 1024u * 1024u)
#define SIM_MAX_SCALAR     (64u * 1024u)
#define SIM_MAX_DEPTH      64

enum snkind { SN_SCALAR, SN_SEQ, SN_MAP };

struct snode {
  enum snkind kind;
  int line, col;
  bool quoted;
  const char *s;       /* scalars */
  struct snode **kids; /* seq items; map: kids[2i] key, kids[2i+1] value */
  size_t n;            /* items or complete pairs */
  size_t raw, cap;     /* slots used and allocated in kids */
};

struct sctx {
  struct rs_arena *a;
  struct cfg_diags *d;
  const char *file;
  char dir[4096]; /* directory of the config file, for relative paths */
  size_t first;   /* index in d of this file's first diagnostic */
  struct dpos {
    int line, col;
  } * pos; /* position of each diagnostic from `first` on, for sorting */
};

static void diag_add(struct sctx *c, bool warning, int line, int col, const char *path,
                     const char *fmt, ...) RS_PRINTF(6, 7);

/* Append one formatted diagnostic to c->d (aborts on out of memory). */
static void diag_add(struct sctx *c, bool warning, int line, int col, const char *path,
                     const char *fmt, ...)
{
  struct rs_buf b = {0};
  va_list ap;
  if(line > 0)
    rs_buf_printf(&b, "%s:%d:%d: ", c->file, line, col);
  else
    rs_buf_printf(&b, "%s: ", c->file);
  if(path && *path)
    rs_buf_printf(&b, "%s: ", path);
  va_start(ap, fmt);
  rs_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  if(b.oom || !b.data) {
    fprintf(stderr, "restock-sim: out of memory\n");
    abort();
  }
  c->d->v = rs_xrealloc(c->d->v, (c->d->n + 1) * sizeof(*c->d->v));
  c->pos = rs_xrealloc(c->pos, (c->d->n - c->first + 1) * sizeof(*c->pos));
  c->pos[c->d->n - c->first].line = line;
  c->pos[c->d->n - c->first].col = col;
  c->d->v[c->d->n].warning = warning;
  c->d->v[c->d->n].text = b.data;
  c->d->n++;
  if(!warning)
    c->d->n_errors++;
}

#define ERR(c, node, path, ...)  diag_add((c), false, (node)->line, (node)->col, (path), __VA_ARGS__)
#define WARN(c, node, path, ...) diag_add((c), true, (node)->line, (node)->col, (path), __VA_ARGS__)

/* ---- YAML into a node tree ---- */

static struct snode *node_new(struct rs_arena *a, enum snkind k, const yaml_mark_t *m)
{
  struct snode *n = rs_arena_alloc(a, sizeof(*n));
  n->kind = k;
  n->line = (int)m->line + 1;
  n->col = (int)m->column + 1;
  return n;
}

/* Append k to the kids of seq or map p, growing the array in the arena. */
static void node_push(struct rs_arena *a, struct snode *p, struct snode *k)
{
  if(p->raw == p->cap) {
    size_t ns = p->cap ? 2 * p->cap : 8;
    struct snode **nk = rs_arena_alloc(a, ns * sizeof(*nk));
    if(p->raw)
      memcpy(nk, p->kids, p->raw * sizeof(*nk));
    p->kids = nk;
    p->cap = ns;
  }
  p->kids[p->raw++] = k;
  p->n = p->kind == SN_MAP ? p->raw / 2 : p->raw;
}

/*
 * Parse data into a tree of nodes in c->a. Refuses anchors, aliases, tags and
 * more than one document. Returns the root (NULL for an empty file or after
 * an error, which is reported).
 */
static struct snode *yaml_tree(struct sctx *c, const char *data, size_t len, int *failed)
{
  yaml_parser_t p;
  yaml_event_t ev;
  struct snode *stack[SIM_MAX_DEPTH];
  int depth = 0, docs = 0;
  struct snode *root = NULL;
  bool done = false;

  *failed = 0;
  if(!yaml_parser_initialize(&p)) {
    diag_add(c, false, 0, 0, NULL, "cannot initialise the YAML parser");
    *failed = 1;
    return NULL;
  }
  yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
  while(!done) {
    struct snode *n = NULL;
    if(!yaml_parser_parse(&p, &ev)) {
      diag_add(c, false, (int)p.problem_mark.line + 1, (int)p.problem_mark.column + 1, NULL,
               "YAML syntax error: %s%s%s", p.problem ? p.problem : "unknown", p.context ? " " : "",
               p.context ? p.context : "");
      *failed = 1;
      root = NULL;
      break;
    }
    switch(ev.type) {
    case YAML_STREAM_END_EVENT:
      done = true;
      break;
    case YAML_DOCUMENT_START_EVENT:
      if(++docs > 1) {
        diag_add(c, false, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1, NULL,
                 "a second YAML document (expected one document per file)");
        *failed = 1;
        done = true;
      }
      break;
    case YAML_ALIAS_EVENT:
      diag_add(c, false, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1, NULL,
               "aliases are refused (write the value out)");
      *failed = 1;
      done = true;
      break;
    case YAML_SCALAR_EVENT:
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
      const yaml_char_t *anchor = ev.type == YAML_SCALAR_EVENT ? ev.data.scalar.anchor
                                  : ev.type == YAML_SEQUENCE_START_EVENT
                                      ? ev.data.sequence_start.anchor
                                      : ev.data.mapping_start.anchor;
      const yaml_char_t *tag = ev.type == YAML_SCALAR_EVENT           ? ev.data.scalar.tag
                               : ev.type == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.tag
                                                                      : ev.data.mapping_start.tag;
      if(anchor || tag) {
        diag_add(c, false, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1, NULL,
                 "%s are refused", anchor ? "anchors" : "tags");
        *failed = 1;
        done = true;
        break;
      }
      if(ev.type == YAML_SCALAR_EVENT) {
        if(ev.data.scalar.length > SIM_MAX_SCALAR) {
          diag_add(c, false, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1, NULL,
                   "scalar of %zu bytes refused (at most 64 KiB)", ev.data.scalar.length);
          *failed = 1;
          done = true;
          break;
        }
        n = node_new(c->a, SN_SCALAR, &ev.start_mark);
        n->s = rs_arena_strndup(c->a, (const char *)ev.data.scalar.value, ev.data.scalar.length);
        n->quoted = ev.data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                    ev.data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
      }
      else
        n = node_new(c->a, ev.type == YAML_SEQUENCE_START_EVENT ? SN_SEQ : SN_MAP, &ev.start_mark);
      if(depth)
        node_push(c->a, stack[depth - 1], n);
      else
        root = n;
      if(n->kind != SN_SCALAR) {
        if(depth == SIM_MAX_DEPTH) {
          diag_add(c, false, n->line, n->col, NULL, "nesting deeper than %d levels", SIM_MAX_DEPTH);
          *failed = 1;
          done = true;
          break;
        }
        stack[depth++] = n;
      }
      break;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
      if(depth)
        depth--;
      break;
    default:
      break;
    }
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&p);
  if(*failed)
    return NULL;
  return root;
}

/* ---- schema helpers ---- */

static bool is_null(const struct snode *n)
{
  return n->kind == SN_SCALAR && !n->quoted &&
         (!*n->s || !strcmp(n->s, "~") || !strcmp(n->s, "null"));
}

static const char *kind_name(const struct snode *n)
{
  return n->kind == SN_MAP ? "a mapping" : n->kind == SN_SEQ ? "a list" : "a scalar";
}

/* The value of key in map, or NULL. */
static const struct snode *mget(const struct snode *map, const char *key)
{
  size_t i;
  if(!map || map->kind != SN_MAP)
    return NULL;
  for(i = 0; i < map->n; i++) {
    const struct snode *k = map->kids[2 * i];
    if(k->kind == SN_SCALAR && !strcmp(k->s, key))
      return map->kids[2 * i + 1];
  }
  return NULL;
}

/* Report unknown keys (with a suggestion) and duplicates in map. 0 or -1. */
static int check_keys(struct sctx *c, const struct snode *map, const char *path,
                      const char *const *allowed)
{
  size_t i, j;
  int bad = 0;
  for(i = 0; i < map->n; i++) {
    const struct snode *k = map->kids[2 * i];
    bool known = false;
    if(k->kind != SN_SCALAR) {
      ERR(c, k, path, "a key must be a scalar (found %s)", kind_name(k));
      bad = -1;
      continue;
    }
    for(j = 0; allowed[j]; j++)
      if(!strcmp(allowed[j], k->s))
        known = true;
    if(!known) {
      const char *s = rs_did_you_mean(k->s, allowed);
      struct rs_buf b = {0};
      for(j = 0; allowed[j]; j++)
        rs_buf_printf(&b, "%s%s", j ? ", " : "", allowed[j]);
      if(s)
        ERR(c, k, path, "unknown key '%s' (did you mean '%s'?)", k->s, s);
      else
        ERR(c, k, path, "unknown key '%s' (expected one of: %s)", k->s, b.data ? b.data : "");
      rs_buf_free(&b);
      bad = -1;
      continue;
    }
    for(j = 0; j < i; j++) {
      const struct snode *p = map->kids[2 * j];
      if(p->kind == SN_SCALAR && !strcmp(p->s, k->s)) {
        ERR(c, k, path, "duplicate key '%s' (first defined at %s:%d:%d)", k->s, c->file, p->line,
            p->col);
        bad = -1;
        break;
      }
    }
  }
  return bad;
}

static void subpath(char *buf, size_t size, const char *path, const char *key)
{
  snprintf(buf, size, "%s%s%s", path, *path ? "." : "", key);
}

/* A non-null scalar as a string. 0 or -1 (reported). */
static int want_str(struct sctx *c, const struct snode *v, const char *path, const char **out)
{
  if(v->kind != SN_SCALAR || is_null(v)) {
    ERR(c, v, path, "expected a string (found %s)",
        v->kind == SN_SCALAR ? "nothing" : kind_name(v));
    return -1;
  }
  *out = v->s;
  return 0;
}

/* A plain YAML integer in [min, max]. 0 or -1 (reported). */
static int want_int(struct sctx *c, const struct snode *v, const char *path, int64_t min,
                    int64_t max, int64_t *out)
{
  if(v->kind != SN_SCALAR || is_null(v)) {
    ERR(c, v, path, "expected an integer (found %s)",
        v->kind == SN_SCALAR ? "nothing" : kind_name(v));
    return -1;
  }
  if(v->quoted) {
    ERR(c, v, path, "'%s' is quoted (numbers are plain YAML numbers: drop the quotes)", v->s);
    return -1;
  }
  if(rs_parse_i64(v->s, true, min, max, out)) {
    ERR(c, v, path, "'%s' is not an integer in %lld..%lld", v->s, (long long)min, (long long)max);
    return -1;
  }
  return 0;
}

static int want_bool(struct sctx *c, const struct snode *v, const char *path, bool *out)
{
  if(v->kind == SN_SCALAR && !v->quoted && (!strcmp(v->s, "true") || !strcmp(v->s, "false"))) {
    *out = !strcmp(v->s, "true");
    return 0;
  }
  ERR(c, v, path, "'%s' is not a boolean (expected true or false)",
      v->kind == SN_SCALAR ? v->s : kind_name(v));
  return -1;
}

static int want_prob(struct sctx *c, const struct snode *v, const char *path, double *out)
{
  double d;
  if(v->kind != SN_SCALAR || v->quoted || rs_parse_double(v->s, &d) || d < 0 || d > 1) {
    ERR(c, v, path, "'%s' is not a probability (expected a number from 0 to 1)",
        v->kind == SN_SCALAR ? v->s : kind_name(v));
    return -1;
  }
  *out = d;
  return 0;
}

static int want_duration(struct sctx *c, const struct snode *v, const char *path, int64_t *out)
{
  char e[128];
  if(v->kind != SN_SCALAR || is_null(v)) {
    ERR(c, v, path, "expected a duration such as 500ms, 30s, 2d (found %s)",
        v->kind == SN_SCALAR ? "nothing" : kind_name(v));
    return -1;
  }
  if(cfg_parse_duration(v->s, out, e, sizeof(e))) {
    ERR(c, v, path, "'%s' is not a duration: %s", v->s, e);
    return -1;
  }
  return 0;
}

static bool valid_sku(const char *s)
{
  size_t i, n = strlen(s);
  if(n < 1 || n > 64)
    return false;
  for(i = 0; i < n; i++) {
    char ch = s[i];
    bool alnum = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
    if(!alnum && (i == 0 || !strchr("._/#+-", ch)))
      return false;
  }
  return true;
}

/* Join a relative path onto the config file's directory (arena string). */
static const char *rel_path(struct sctx *c, const char *p)
{
  if(p[0] == '/' || !c->dir[0])
    return rs_arena_strdup(c->a, p);
  return rs_arena_printf(c->a, "%s/%s", c->dir, p);
}

/*
 * Read a secret file named at v: it must be a regular file that is not
 * world-readable; trailing newlines are dropped. Sets *out (arena) or
 * reports. The contents are never put in a message.
 */
static int read_secret(struct sctx *c, const struct snode *v, const char *path, const char **out)
{
  const char *name;
  const char *full;
  struct stat st;
  char buf[4096];
  ssize_t r;
  size_t len = 0;
  int fd;
  if(want_str(c, v, path, &name))
    return -1;
  full = rel_path(c, name);
  fd = open(full, O_RDONLY | O_CLOEXEC);
  if(fd < 0) {
    ERR(c, v, path, "cannot read '%s': %s (expected a secret file)", full, strerror(errno));
    return -1;
  }
  if(fstat(fd, &st) || !S_ISREG(st.st_mode)) {
    ERR(c, v, path, "'%s' is not a regular file (expected a secret file)", full);
    close(fd);
    return -1;
  }
  if(st.st_mode & S_IROTH) {
    ERR(c, v, path, "'%s' is world-readable (secrets must not be: chmod o-r it)", full);
    close(fd);
    return -1;
  }
  while(len < sizeof(buf) - 1 && (r = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
    len += (size_t)r;
  close(fd);
  while(len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
    len--;
  if(!len || memchr(buf, '\n', len) || memchr(buf, '\0', len)) {
    ERR(c, v, path, "'%s' must hold one non-empty line", full);
    return -1;
  }
  *out = rs_arena_strndup(c->a, buf, len);
  memset(buf, 0, sizeof(buf));
  return 0;
}

/* ---- the shop section ---- */

static int parse_listen(struct sctx *c, const struct snode *v, const char *path,
                        struct simcfg_shop *shop)
{
  const char *s, *colon;
  char host[64];
  struct in_addr ia;
  int64_t port;
  if(want_str(c, v, path, &s))
    return -1;
  colon = strrchr(s, ':');
  if(!colon || (size_t)(colon - s) >= sizeof(host) || colon == s) {
    ERR(c, v, path, "'%s' is not HOST:PORT (expected e.g. 127.0.0.1:8480)", s);
    return -1;
  }
  memcpy(host, s, (size_t)(colon - s));
  host[colon - s] = '\0';
  if(!strcmp(host, "localhost"))
    rs_strlcpy(host, "127.0.0.1", sizeof(host));
  if(inet_pton(AF_INET, host, &ia) != 1) {
    ERR(c, v, path, "'%s' is not an IPv4 address (expected e.g. 127.0.0.1:8480)", host);
    return -1;
  }
  if(rs_parse_i64(colon + 1, false, 0, 65535, &port)) {
    ERR(c, v, path, "port '%s' is not in 0..65535 (0 picks a free port)", colon + 1);
    return -1;
  }
  if((ntohl(ia.s_addr) >> 24) != 127)
    WARN(c, v, path, "the sandbox shop listens beyond loopback on %s", host);
  shop->host = rs_arena_strdup(c->a, host);
  shop->port = (uint16_t)port;
  return 0;
}

/*
 * shop.products: each product's keys checked and converted (money in its
 * currency's decimals); duplicate SKUs name the first. 0 or -1 (reported).
 */
static int parse_products(struct sctx *c, const struct snode *v, struct simcfg_shop *shop)
{
  static const char *const keys[] = {"sku",       "unit_price", "currency", "lead_time_days",
                                     "available", NULL};
  size_t i, j;
  int bad = 0;
  if(v->kind != SN_SEQ) {
    ERR(c, v, "shop.products", "expected a list of products (found %s)", kind_name(v));
    return -1;
  }
  shop->products = rs_arena_alloc(c->a, (v->n + 1) * sizeof(*shop->products));
  for(i = 0; i < v->n; i++) {
    const struct snode *m = v->kids[i], *x;
    struct simcfg_product *p = &shop->products[shop->n_products];
    char path[96], kp[128];
    char e[128];
    snprintf(path, sizeof(path), "shop.products[%zu]", i);
    if(m->kind != SN_MAP) {
      ERR(c, m, path, "expected a mapping with sku, unit_price, currency (found %s)", kind_name(m));
      bad = -1;
      continue;
    }
    if(check_keys(c, m, path, keys))
      bad = -1;
    p->available = true;
    subpath(kp, sizeof(kp), path, "sku");
    if(!(x = mget(m, "sku"))) {
      ERR(c, m, path, "missing key 'sku'");
      bad = -1;
    }
    else if(!want_str(c, x, kp, &p->sku)) {
      if(!valid_sku(p->sku)) {
        ERR(c, x, kp, "'%s' is not a SKU (expected [A-Za-z0-9][A-Za-z0-9._/#+-]{0,63})", p->sku);
        bad = -1;
      }
      for(j = 0; j < i; j++) {
        const struct snode *o = mget(v->kids[j], "sku");
        if(o && o->kind == SN_SCALAR && !strcmp(o->s, p->sku)) {
          ERR(c, x, kp, "duplicate SKU '%s' (first defined at %s:%d:%d)", p->sku, c->file, o->line,
              o->col);
          bad = -1;
          break;
        }
      }
    }
    else
      bad = -1;
    subpath(kp, sizeof(kp), path, "currency");
    p->decimals = -1;
    if(!(x = mget(m, "currency"))) {
      ERR(c, m, path, "missing key 'currency'");
      bad = -1;
    }
    else if(!want_str(c, x, kp, &p->currency)) {
      p->decimals = cfg_currency_decimals(p->currency);
      if(p->decimals < 0) {
        ERR(c, x, kp, "'%s' is not an ISO 4217 currency code (expected e.g. EUR)", p->currency);
        bad = -1;
      }
    }
    else
      bad = -1;
    subpath(kp, sizeof(kp), path, "unit_price");
    if(!(x = mget(m, "unit_price"))) {
      ERR(c, m, path, "missing key 'unit_price'");
      bad = -1;
    }
    else if(x->kind != SN_SCALAR || is_null(x)) {
      ERR(c, x, kp, "expected an amount such as \"42.50\" (found %s)", kind_name(x));
      bad = -1;
    }
    else if(p->decimals >= 0) {
      char canon[40];
      if(cfg_parse_money(x->s, p->decimals, &p->unit_price_minor, e, sizeof(e))) {
        ERR(c, x, kp, "'%s' is not an amount in %s: %s", x->s, p->currency, e);
        bad = -1;
      }
      cfg_format_money(p->unit_price_minor, p->decimals, canon, sizeof(canon));
      p->unit_price = rs_arena_strdup(c->a, canon);
    }
    subpath(kp, sizeof(kp), path, "lead_time_days");
    if((x = mget(m, "lead_time_days")) && want_int(c, x, kp, 0, 3650, &p->lead_time_days))
      bad = -1;
    subpath(kp, sizeof(kp), path, "available");
    if((x = mget(m, "available")) && want_bool(c, x, kp, &p->available))
      bad = -1;
    shop->n_products++;
  }
  return bad;
}

/* A fault's `requests` list into a SIMCFG_REQ_* mask. 0 or -1 (reported). */
static int parse_requests(struct sctx *c, const struct snode *v, const char *path, unsigned *mask)
{
  static const char *const names[] = {"orders_post", "orders_get", "products", NULL};
  size_t i, j;
  int bad = 0;
  if(v->kind != SN_SEQ) {
    ERR(c, v, path, "expected a list of orders_post, orders_get, products (found %s)",
        kind_name(v));
    return -1;
  }
  *mask = 0;
  for(i = 0; i < v->n; i++) {
    const struct snode *x = v->kids[i];
    bool found = false;
    for(j = 0; names[j] && x->kind == SN_SCALAR; j++)
      if(!strcmp(x->s, names[j])) {
        *mask |= 1u << j;
        found = true;
      }
    if(!found) {
      const char *s = x->kind == SN_SCALAR ? rs_did_you_mean(x->s, names) : NULL;
      ERR(c, x, path,
          "'%s' is not a request kind (%s%s%sexpected orders_post, orders_get or products)",
          x->kind == SN_SCALAR ? x->s : kind_name(x), s ? "did you mean '" : "", s ? s : "",
          s ? "'? " : "");
      bad = -1;
    }
  }
  return bad;
}

/*
 * One fault mapping: the common keys (probability, times, requests) and the
 * fault's own keys, which the caller reads from the returned map.
 */
static const struct snode *parse_fault(struct sctx *c, const struct snode *faults, const char *name,
                                       const char *const *own, struct simcfg_fault *f, int *bad)
{
  const char *keys[12];
  size_t n = 0, i;
  const struct snode *m = mget(faults, name), *x;
  char path[64], kp[96];
  if(!m)
    return NULL;
  snprintf(path, sizeof(path), "shop.faults.%s", name);
  if(m->kind != SN_MAP) {
    ERR(c, m, path, "expected a mapping with probability (found %s)", kind_name(m));
    *bad = -1;
    return NULL;
  }
  keys[n++] = "probability";
  keys[n++] = "times";
  keys[n++] = "requests";
  for(i = 0; own[i] && n < RS_ARRAY_LEN(keys) - 1; i++)
    keys[n++] = own[i];
  keys[n] = NULL;
  if(check_keys(c, m, path, keys))
    *bad = -1;
  f->set = true;
  f->probability = 1;
  f->requests = SIMCFG_REQ_ALL;
  subpath(kp, sizeof(kp), path, "probability");
  if((x = mget(m, "probability")) && want_prob(c, x, kp, &f->probability))
    *bad = -1;
  subpath(kp, sizeof(kp), path, "times");
  if((x = mget(m, "times")) && want_int(c, x, kp, 0, INT64_C(1) << 40, &f->times))
    *bad = -1;
  subpath(kp, sizeof(kp), path, "requests");
  if((x = mget(m, "requests")) && parse_requests(c, x, kp, &f->requests))
    *bad = -1;
  return m;
}

/* shop.faults: the seed and each fault with its own keys and defaults. 0 or -1. */
static int parse_faults(struct sctx *c, const struct snode *v, struct simcfg_shop *shop)
{
  static const char *const keys[] = {"seed", "latency",    "error",          "rate_limit",
                                     "drop", "html_error", "truncated_json", NULL};
  static const char *const k_lat[] = {"delay", NULL};
  static const char *const k_err[] = {"status", NULL};
  static const char *const k_rl[] = {"retry_after", "form", NULL};
  static const char *const k_drop[] = {"after_processing", NULL};
  static const char *const k_none[] = {NULL};
  const struct snode *m, *x;
  int bad = 0;
  int64_t i64;
  if(v->kind != SN_MAP) {
    ERR(c, v, "shop.faults", "expected a mapping (found %s)", kind_name(v));
    return -1;
  }
  if(check_keys(c, v, "shop.faults", keys))
    bad = -1;
  shop->faults.seed = 1;
  if((x = mget(v, "seed"))) {
    if(want_int(c, x, "shop.faults.seed", 0, INT64_MAX, &i64))
      bad = -1;
    else
      shop->faults.seed = (uint64_t)i64;
  }
  if((m = parse_fault(c, v, "latency", k_lat, &shop->faults.latency.f, &bad))) {
    if(!(x = mget(m, "delay"))) {
      ERR(c, m, "shop.faults.latency", "missing key 'delay'");
      bad = -1;
    }
    else if(want_duration(c, x, "shop.faults.latency.delay", &shop->faults.latency.delay_ms))
      bad = -1;
  }
  shop->faults.error.status = 500;
  if((m = parse_fault(c, v, "error", k_err, &shop->faults.error.f, &bad)) &&
     (x = mget(m, "status"))) {
    if(want_int(c, x, "shop.faults.error.status", 400, 599, &i64))
      bad = -1;
    shop->faults.error.status = (int)i64;
  }
  shop->faults.rate_limit.retry_after_ms = 1000;
  if((m = parse_fault(c, v, "rate_limit", k_rl, &shop->faults.rate_limit.f, &bad))) {
    if((x = mget(m, "retry_after"))) {
      if(want_duration(c, x, "shop.faults.rate_limit.retry_after",
                       &shop->faults.rate_limit.retry_after_ms))
        bad = -1;
      else if(shop->faults.rate_limit.retry_after_ms % 1000) {
        ERR(c, x, "shop.faults.rate_limit.retry_after",
            "'%s' is not whole seconds (Retry-After counts seconds)", x->s);
        bad = -1;
      }
    }
    if((x = mget(m, "form"))) {
      if(x->kind == SN_SCALAR && !strcmp(x->s, "seconds"))
        shop->faults.rate_limit.http_date = false;
      else if(x->kind == SN_SCALAR && !strcmp(x->s, "http-date"))
        shop->faults.rate_limit.http_date = true;
      else {
        ERR(c, x, "shop.faults.rate_limit.form",
            "'%s' is not a Retry-After form (expected seconds or http-date)",
            x->kind == SN_SCALAR ? x->s : kind_name(x));
        bad = -1;
      }
    }
  }
  if((m = parse_fault(c, v, "drop", k_drop, &shop->faults.drop.f, &bad)) &&
     (x = mget(m, "after_processing")) &&
     want_bool(c, x, "shop.faults.drop.after_processing", &shop->faults.drop.after_processing))
    bad = -1;
  shop->faults.html_error.status = 502;
  if((m = parse_fault(c, v, "html_error", k_err, &shop->faults.html_error.f, &bad)) &&
     (x = mget(m, "status"))) {
    if(want_int(c, x, "shop.faults.html_error.status", 400, 599, &i64))
      bad = -1;
    shop->faults.html_error.status = (int)i64;
  }
  parse_fault(c, v, "truncated_json", k_none, &shop->faults.truncated.f, &bad);
  return bad;
}

/* shop.auth: bearer (token_file) or basic (username, password_file); reads the secret. */
static int parse_auth(struct sctx *c, const struct snode *v, struct simcfg_shop *shop)
{
  static const char *const keys[] = {"type", "token_file", "username", "password_file", NULL};
  const struct snode *t, *x;
  int bad = 0;
  if(v->kind != SN_MAP) {
    ERR(c, v, "shop.auth", "expected a mapping with type (found %s)", kind_name(v));
    return -1;
  }
  if(check_keys(c, v, "shop.auth", keys))
    bad = -1;
  if(!(t = mget(v, "type"))) {
    ERR(c, v, "shop.auth", "missing key 'type' (expected bearer or basic)");
    return -1;
  }
  if(t->kind == SN_SCALAR && !strcmp(t->s, "bearer")) {
    shop->auth = SIMCFG_AUTH_BEARER;
    if(!(x = mget(v, "token_file"))) {
      ERR(c, v, "shop.auth", "missing key 'token_file' (bearer needs it)");
      bad = -1;
    }
    else if(read_secret(c, x, "shop.auth.token_file", &shop->token))
      bad = -1;
    if((x = mget(v, "username")) || (x = mget(v, "password_file"))) {
      ERR(c, x, "shop.auth", "username and password_file go with type basic");
      bad = -1;
    }
  }
  else if(t->kind == SN_SCALAR && !strcmp(t->s, "basic")) {
    shop->auth = SIMCFG_AUTH_BASIC;
    if(!(x = mget(v, "username"))) {
      ERR(c, v, "shop.auth", "missing key 'username' (basic needs it)");
      bad = -1;
    }
    else if(want_str(c, x, "shop.auth.username", &shop->username))
      bad = -1;
    else if(strchr(shop->username, ':')) {
      ERR(c, x, "shop.auth.username", "a basic-auth user name cannot hold ':'");
      bad = -1;
    }
    if(!(x = mget(v, "password_file"))) {
      ERR(c, v, "shop.auth", "missing key 'password_file' (basic needs it)");
      bad = -1;
    }
    else if(read_secret(c, x, "shop.auth.password_file", &shop->password))
      bad = -1;
    if((x = mget(v, "token_file"))) {
      ERR(c, x, "shop.auth", "token_file goes with type bearer");
      bad = -1;
    }
  }
  else {
    ERR(c, t, "shop.auth.type", "'%s' is not an auth type (expected bearer or basic)",
        t->kind == SN_SCALAR ? t->s : kind_name(t));
    bad = -1;
  }
  return bad;
}

/* The shop section with its defaults; every error reported. 0 or -1. */
static int parse_shop(struct sctx *c, const struct snode *v, struct simcfg_shop *shop)
{
  static const char *const keys[] = {"listen",           "base_path", "db",     "products", "pace",
                                     "processing_delay", "auth",      "faults", NULL};
  static const char *const pace_keys[] = {"ship_after", "deliver_after", NULL};
  const struct snode *x, *y;
  int bad = 0;
  if(v->kind != SN_MAP) {
    ERR(c, v, "shop", "expected a mapping (found %s)", kind_name(v));
    return -1;
  }
  shop->set = true;
  if(check_keys(c, v, "shop", keys))
    bad = -1;
  shop->host = "127.0.0.1";
  shop->port = 8480;
  shop->base_path = "/api/v1";
  shop->ship_after_ms = INT64_C(86400000);
  shop->deliver_after_ms = INT64_C(2) * 86400000;
  if((x = mget(v, "listen")) && parse_listen(c, x, "shop.listen", shop))
    bad = -1;
  if((x = mget(v, "base_path"))) {
    const char *s;
    if(want_str(c, x, "shop.base_path", &s))
      bad = -1;
    else {
      size_t n = strlen(s);
      while(n > 1 && s[n - 1] == '/')
        n--;
      if(s[0] != '/' || strpbrk(s, "?# ") || n > 200) {
        ERR(c, x, "shop.base_path", "'%s' is not a path (expected e.g. /api/v1)", s);
        bad = -1;
      }
      shop->base_path = n == 1 ? "" : rs_arena_strndup(c->a, s, n);
    }
  }
  if(!(x = mget(v, "db"))) {
    ERR(c, v, "shop", "missing key 'db' (the shop's own SQLite file)");
    bad = -1;
  }
  else {
    const char *s;
    if(want_str(c, x, "shop.db", &s))
      bad = -1;
    else
      shop->db_path = rel_path(c, s);
  }
  if(!(x = mget(v, "products"))) {
    ERR(c, v, "shop", "missing key 'products' (the shop sells nothing)");
    bad = -1;
  }
  else if(parse_products(c, x, shop))
    bad = -1;
  if((x = mget(v, "pace"))) {
    if(x->kind != SN_MAP) {
      ERR(c, x, "shop.pace", "expected a mapping with ship_after, deliver_after (found %s)",
          kind_name(x));
      bad = -1;
    }
    else {
      if(check_keys(c, x, "shop.pace", pace_keys))
        bad = -1;
      if((y = mget(x, "ship_after")) &&
         want_duration(c, y, "shop.pace.ship_after", &shop->ship_after_ms))
        bad = -1;
      if((y = mget(x, "deliver_after")) &&
         want_duration(c, y, "shop.pace.deliver_after", &shop->deliver_after_ms))
        bad = -1;
    }
  }
  if((x = mget(v, "processing_delay"))) {
    if(want_duration(c, x, "shop.processing_delay", &shop->processing_ms))
      bad = -1;
    else if(shop->processing_ms > 600000) {
      ERR(c, x, "shop.processing_delay", "'%s' is too long (at most 10m)", x->s);
      bad = -1;
    }
  }
  if((x = mget(v, "auth")) && parse_auth(c, x, shop))
    bad = -1;
  if((x = mget(v, "faults")) && parse_faults(c, x, shop))
    bad = -1;
  if(shop->faults.latency.f.set && shop->faults.latency.delay_ms > 600000) {
    ERR(c, mget(mget(v, "faults"), "latency"), "shop.faults.latency.delay",
        "too long (at most 10m)");
    bad = -1;
  }
  return bad;
}

/* Put this file's diagnostics in position order (stable: insertion sort). */
static void sort_diags(struct sctx *c)
{
  size_t n = c->d->n - c->first, i, j;
  struct cfg_diag *v = c->d->v + c->first;
  for(i = 1; i < n; i++) {
    struct dpos p = c->pos[i];
    struct cfg_diag d = v[i];
    for(j = i; j > 0 && (c->pos[j - 1].line > p.line ||
                         (c->pos[j - 1].line == p.line && c->pos[j - 1].col > p.col));
        j--) {
      c->pos[j] = c->pos[j - 1];
      v[j] = v[j - 1];
    }
    c->pos[j] = p;
    v[j] = d;
  }
  FREE_NULL(c->pos);
}

int simcfg_load_buffer(const char *path, const char *data, size_t len, struct simcfg **out,
                       struct cfg_diags *diags)
{
  static const char *const keys[] = {"shop", "devices", NULL};
  struct simcfg *cfg = rs_xcalloc(1, sizeof(*cfg));
  struct sctx c;
  struct snode *root;
  const struct snode *x;
  const char *slash;
  size_t before = diags->n_errors;
  int failed;

  *out = NULL;
  cfg->arena = rs_arena_new();
  memset(&c, 0, sizeof(c));
  c.a = cfg->arena;
  c.d = diags;
  c.first = diags->n;
  c.file = cfg->path = rs_arena_strdup(cfg->arena, path);
  slash = strrchr(path, '/');
  if(slash && (size_t)(slash - path) < sizeof(c.dir))
    memcpy(c.dir, path, (size_t)(slash - path) + (slash == path));
  root = yaml_tree(&c, data, len, &failed);
  if(!failed) {
    if(!root || is_null(root))
      diag_add(&c, false, 0, 0, NULL, "empty file (expected a mapping with shop)");
    else if(root->kind != SN_MAP)
      ERR(&c, root, NULL, "expected a mapping with shop (found %s)", kind_name(root));
    else {
      check_keys(&c, root, "", keys);
      if((x = mget(root, "devices"))) {
        cfg->devices_present = true;
        WARN(&c, x, "devices", "device simulation is not part of this build; ignored");
      }
      if((x = mget(root, "shop")))
        parse_shop(&c, x, &cfg->shop);
      else if(!cfg->devices_present)
        ERR(&c, root, NULL, "nothing to simulate (expected a shop section)");
    }
  }
  sort_diags(&c);
  if(diags->n_errors > before) {
    simcfg_free(cfg);
    return (int)(diags->n_errors - before);
  }
  *out = cfg;
  return 0;
}

int simcfg_load(const char *path, struct simcfg **out, struct cfg_diags *diags)
{
  struct sctx c;
  struct stat st;
  char *data;
  size_t len = 0;
  ssize_t r;
  int fd, rc;
  *out = NULL;
  memset(&c, 0, sizeof(c));
  c.d = diags;
  c.first = diags->n;
  c.file = path;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if(fd < 0 || fstat(fd, &st)) {
    diag_add(&c, false, 0, 0, NULL, "cannot read: %s", strerror(errno));
    if(fd >= 0)
      close(fd);
    FREE_NULL(c.pos);
    return 1;
  }
  if(!S_ISREG(st.st_mode) || (uint64_t)st.st_size > SIM_MAX_FILE_BYTES) {
    diag_add(&c, false, 0, 0, NULL, "cannot read: %s",
             S_ISREG(st.st_mode) ? "larger than 8 MiB" : "not a regular file");
    close(fd);
    FREE_NULL(c.pos);
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
  if(!cfg)
    return;
  rs_arena_free(cfg->arena);
  free(cfg);
}

const struct simcfg_product *simcfg_find_product(const struct simcfg_shop *shop, const char *sku)
{
  size_t i;
  for(i = 0; i < shop->n_products; i++)
    if(shop->products[i].sku && !strcmp(shop->products[i].sku, sku))
      return &shop->products[i];
  return NULL;
}
