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
#include <math.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <yaml.h>

#include "config/config.h"
#include "base/rs_util.h"
#include "sim/simcfg.h"

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

/* path.key into buf; a key path too long for buf is cut (it only names the key in messages). */
static void subpath(char *buf, size_t size, const char *path, const char *key)
{
  (void)rs_snprintf(buf, size, "%s%s%s", path, *path ? "." : "", key);
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

/* ---- the devices section ---- */

/* A plain finite YAML number. 0 or -1 (reported). */
static int want_num(struct sctx *c, const struct snode *v, const char *path, double *out)
{
  double d;
  if(v->kind != SN_SCALAR || is_null(v) || v->quoted || rs_parse_double(v->s, &d) ||
     !isfinite(d)) {
    ERR(c, v, path, "'%s' is not a number (expected e.g. 42, 0.5, -3e2)",
        v->kind == SN_SCALAR ? v->s : kind_name(v));
    return -1;
  }
  *out = d;
  return 0;
}

/* One of names[] (their index in *out), or reported with a suggestion. 0 or -1. */
static int want_enum(struct sctx *c, const struct snode *v, const char *path,
                     const char *const *names, const char *what, int *out)
{
  struct rs_buf b = {0};
  const char *s;
  size_t i;
  if(v->kind == SN_SCALAR)
    for(i = 0; names[i]; i++)
      if(!strcmp(v->s, names[i])) {
        *out = (int)i;
        return 0;
      }
  for(i = 0; names[i]; i++)
    rs_buf_printf(&b, "%s%s", i ? ", " : "", names[i]);
  s = v->kind == SN_SCALAR ? rs_did_you_mean(v->s, names) : NULL;
  if(s)
    ERR(c, v, path, "'%s' is not %s (did you mean '%s'?)", v->s, what, s);
  else
    ERR(c, v, path, "'%s' is not %s (expected one of: %s)",
        v->kind == SN_SCALAR ? v->s : kind_name(v), what, b.data ? b.data : "");
  rs_buf_free(&b);
  return -1;
}

static bool valid_id(const char *s)
{
  size_t i, n = strlen(s);
  if(n < 1 || n > CFG_ID_MAX)
    return false;
  for(i = 0; i < n; i++) {
    char ch = s[i];
    bool an = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
    if(!an && (i == 0 || !strchr("._-", ch)))
      return false;
  }
  return true;
}

/* An id key: present, a string, matching [a-z0-9][a-z0-9._-]*. 0 or -1. */
static int want_id(struct sctx *c, const struct snode *m, const char *path, const char *key,
                   const char **out)
{
  const struct snode *x = mget(m, key);
  char kp[160];
  subpath(kp, sizeof(kp), path, key);
  if(!x) {
    ERR(c, m, path, "missing key '%s'", key);
    return -1;
  }
  if(want_str(c, x, kp, out))
    return -1;
  if(!valid_id(*out)) {
    ERR(c, x, kp, "'%s' is not an id (expected [a-z0-9][a-z0-9._-]*, at most 64)", *out);
    return -1;
  }
  return 0;
}

static unsigned type_width(enum cfg_vtype t)
{
  switch(t) {
  case CFG_VT_INT32:
  case CFG_VT_UINT32:
  case CFG_VT_FLOAT32:
    return 2;
  case CFG_VT_INT64:
  case CFG_VT_UINT64:
  case CFG_VT_FLOAT64:
    return 4;
  default:
    return 1;
  }
}

/*
 * device.transport: type modbus-tcp (host, port, unit_id) or coap (host,
 * port). 0; -1 when a key is bad but the type is known (the points can
 * still be checked); -2 when the type itself is missing or unknown.
 */
static int parse_sim_transport(struct sctx *c, const struct snode *v, const char *path,
                               struct simcfg_device *d)
{
  static const char *const types[] = {"modbus-tcp", "coap", NULL};
  static const char *const k_mb[] = {"type", "host", "port", "unit_id", NULL};
  static const char *const k_coap[] = {"type", "host", "port", NULL};
  const struct snode *x;
  char kp[160];
  int bad = 0, t;
  int64_t i64;
  struct in_addr ia;
  if(v->kind != SN_MAP) {
    ERR(c, v, path, "expected a mapping with type, port (found %s)", kind_name(v));
    return -2;
  }
  subpath(kp, sizeof(kp), path, "type");
  if(!(x = mget(v, "type"))) {
    ERR(c, v, path, "missing key 'type' (expected modbus-tcp or coap)");
    return -2;
  }
  if(x->kind == SN_SCALAR && !strcmp(x->s, "modbus-rtu")) {
    ERR(c, x, kp, "the simulator serves Modbus TCP only (use modbus-tcp; restock's RTU side "
                  "is tested with socat ptys)");
    return -2;
  }
  if(want_enum(c, x, kp, types, "a simulated transport", &t))
    return -2;
  d->transport = t == 0 ? SIMCFG_TR_MODBUS_TCP : SIMCFG_TR_COAP;
  if(check_keys(c, v, path, t == 0 ? k_mb : k_coap))
    bad = -1;
  d->host = "127.0.0.1";
  d->unit_id = 1;
  subpath(kp, sizeof(kp), path, "host");
  if((x = mget(v, "host"))) {
    const char *h;
    if(want_str(c, x, kp, &h))
      bad = -1;
    else {
      if(!strcmp(h, "localhost"))
        h = "127.0.0.1";
      if(inet_pton(AF_INET, h, &ia) != 1) {
        ERR(c, x, kp, "'%s' is not an IPv4 address (expected e.g. 127.0.0.1)", h);
        bad = -1;
      }
      else {
        d->host = rs_arena_strdup(c->a, h);
        if((ntohl(ia.s_addr) >> 24) != 127)
          WARN(c, x, kp, "the simulated device listens beyond loopback on %s", h);
      }
    }
  }
  subpath(kp, sizeof(kp), path, "port");
  if(!(x = mget(v, "port"))) {
    ERR(c, v, path, "missing key 'port' (0 picks a free port)");
    bad = -1;
  }
  else if(want_int(c, x, kp, 0, 65535, &i64))
    bad = -1;
  else
    d->port = (uint16_t)i64;
  subpath(kp, sizeof(kp), path, "unit_id");
  if(t == 0 && (x = mget(v, "unit_id"))) {
    if(want_int(c, x, kp, 0, 255, &i64))
      bad = -1;
    else
      d->unit_id = (int)i64;
  }
  return bad;
}

/* device.points: restock's point keys plus `value` (a constant). */
static int parse_sim_points(struct sctx *c, const struct snode *v, const char *path,
                            struct simcfg_device *d)
{
  static const char *const k_mb[] = {"id",    "register", "address", "type", "endian", "bit",
                                     "scale", "offset",   "unit",    "value", NULL};
  static const char *const k_coap[] = {"id",      "path",  "format", "pointer", "name", "observe",
                                       "scale",   "offset", "unit",  "value",   NULL};
  static const char *const tables[] = {"coil", "discrete", "input", "holding", NULL};
  static const char *const types[] = {"bool",  "int16", "uint16",  "int32",   "uint32",
                                      "int64", "uint64", "float32", "float64", NULL};
  static const char *const endians[] = {"ABCD", "DCBA", "BADC", "CDAB", NULL};
  static const char *const formats[] = {"text", "json", "senml", NULL};
  bool coap = d->transport == SIMCFG_TR_COAP;
  size_t i, j;
  int bad = 0, e;
  if(v->kind != SN_SEQ) {
    ERR(c, v, path, "expected a list of points (found %s)", kind_name(v));
    return -1;
  }
  d->dev.points = rs_arena_alloc(c->a, (v->n + 1) * sizeof(*d->dev.points));
  d->values = rs_arena_alloc(c->a, (v->n + 1) * sizeof(*d->values));
  for(i = 0; i < v->n; i++) {
    const struct snode *m = v->kids[i], *x;
    struct cfg_point *pt = &d->dev.points[d->dev.n_points];
    char p[128], kp[160];
    bool ok = true;
    memset(pt, 0, sizeof(*pt)); /* a refused item leaves its slot to the next */
    (void)rs_snprintf(p, sizeof(p), "%s[%zu]", path, i);
    if(m->kind != SN_MAP) {
      ERR(c, m, p, "expected a mapping with id and %s (found %s)",
          coap ? "path" : "register, address", kind_name(m));
      bad = -1;
      continue;
    }
    if(check_keys(c, m, p, coap ? k_coap : k_mb))
      bad = -1;
    pt->device = &d->dev;
    pt->bit = -1;
    pt->endian = d->dev.endian;
    pt->scale = 1;
    pt->pos.file = c->file;
    pt->pos.line = m->line;
    pt->pos.col = m->col;
    d->values[d->dev.n_points] = NAN;
    if(want_id(c, m, p, "id", &pt->id))
      ok = false;
    subpath(kp, sizeof(kp), p, "scale");
    if((x = mget(m, "scale"))) {
      pt->scaled = true;
      if(want_num(c, x, kp, &pt->scale))
        ok = false;
      else if(pt->scale == 0) {
        ERR(c, x, kp, "0 would make every value the offset (expected a non-zero factor)");
        ok = false;
      }
    }
    subpath(kp, sizeof(kp), p, "offset");
    if((x = mget(m, "offset"))) {
      pt->scaled = true;
      if(want_num(c, x, kp, &pt->offset))
        ok = false;
    }
    subpath(kp, sizeof(kp), p, "unit");
    if((x = mget(m, "unit")) && want_str(c, x, kp, &pt->unit))
      ok = false;
    subpath(kp, sizeof(kp), p, "value");
    if((x = mget(m, "value")) && want_num(c, x, kp, &d->values[d->dev.n_points]))
      ok = false;
    if(!coap) {
      int64_t addr;
      bool bits;
      subpath(kp, sizeof(kp), p, "register");
      if(!(x = mget(m, "register"))) {
        ERR(c, m, p, "missing key 'register' (expected coil, discrete, input or holding)");
        ok = false;
      }
      else if(want_enum(c, x, kp, tables, "a register table", &e))
        ok = false;
      else
        pt->table = (enum cfg_regtable)e;
      bits = pt->table == CFG_REG_COIL || pt->table == CFG_REG_DISCRETE;
      pt->type = bits ? CFG_VT_BOOL : CFG_VT_UINT16;
      subpath(kp, sizeof(kp), p, "type");
      if((x = mget(m, "type"))) {
        if(want_enum(c, x, kp, types, "a value type", &e))
          ok = false;
        else {
          pt->type = (enum cfg_vtype)e;
          if(bits && pt->type != CFG_VT_BOOL) {
            ERR(c, x, kp, "'%s' is not possible on a %s (expected bool)", x->s,
                tables[pt->table]);
            ok = false;
          }
        }
      }
      subpath(kp, sizeof(kp), p, "endian");
      if((x = mget(m, "endian"))) {
        if(want_enum(c, x, kp, endians, "a byte order", &e))
          ok = false;
        else
          pt->endian = (enum cfg_endian)e;
      }
      subpath(kp, sizeof(kp), p, "bit");
      if((x = mget(m, "bit"))) {
        int64_t b;
        if(bits || pt->type != CFG_VT_BOOL) {
          ERR(c, x, kp, "only applies to bool points on input or holding registers");
          ok = false;
        }
        else if(want_int(c, x, kp, 0, 15, &b))
          ok = false;
        else
          pt->bit = (int)b;
      }
      pt->width = bits ? 1 : type_width(pt->type);
      subpath(kp, sizeof(kp), p, "address");
      if(!(x = mget(m, "address"))) {
        ERR(c, m, p, "missing key 'address' (the 0-based protocol address)");
        ok = false;
      }
      else if(want_int(c, x, kp, 0, 65535, &addr))
        ok = false;
      else if(addr + pt->width > 65536) {
        ERR(c, x, kp, "%lld plus %u registers goes beyond 65535", (long long)addr, pt->width);
        ok = false;
      }
      else
        pt->address = (uint16_t)addr;
    }
    else {
      pt->type = CFG_VT_FLOAT64; /* a CoAP value is a number */
      subpath(kp, sizeof(kp), p, "path");
      if(!(x = mget(m, "path"))) {
        ERR(c, m, p, "missing key 'path' (expected a path like /sensors/level)");
        ok = false;
      }
      else if(want_str(c, x, kp, &pt->path))
        ok = false;
      else if(pt->path[0] != '/' || strlen(pt->path) < 2 || strstr(pt->path, "//") ||
              strpbrk(pt->path, "?# ") || pt->path[strlen(pt->path) - 1] == '/') {
        ERR(c, x, kp, "'%s' is not a resource path (expected e.g. /sensors/level)", pt->path);
        ok = false;
      }
      pt->format = CFG_FMT_TEXT;
      subpath(kp, sizeof(kp), p, "format");
      if((x = mget(m, "format"))) {
        if(want_enum(c, x, kp, formats, "a payload format", &e))
          ok = false;
        else
          pt->format = (enum cfg_format)e;
      }
      subpath(kp, sizeof(kp), p, "pointer");
      if((x = mget(m, "pointer"))) {
        if(pt->format != CFG_FMT_JSON) {
          ERR(c, x, kp, "only applies to format json");
          ok = false;
        }
        else if(want_str(c, x, kp, &pt->pointer))
          ok = false;
        else if(pt->pointer[0] != '/' || strlen(pt->pointer) < 2 || strchr(pt->pointer, '~')) {
          ERR(c, x, kp, "'%s' is not a JSON pointer the simulator can build (expected e.g. /level)",
              pt->pointer);
          ok = false;
        }
      }
      else if(pt->format == CFG_FMT_JSON) {
        ERR(c, m, p, "missing key 'pointer' (format json)");
        ok = false;
      }
      subpath(kp, sizeof(kp), p, "name");
      if((x = mget(m, "name"))) {
        if(pt->format != CFG_FMT_SENML) {
          ERR(c, x, kp, "only applies to format senml");
          ok = false;
        }
        else if(want_str(c, x, kp, &pt->name))
          ok = false;
      }
      else if(pt->format == CFG_FMT_SENML) {
        ERR(c, m, p, "missing key 'name' (format senml)");
        ok = false;
      }
      subpath(kp, sizeof(kp), p, "observe");
      if((x = mget(m, "observe")) && want_bool(c, x, kp, &pt->observe))
        ok = false;
    }
    if(!ok) {
      bad = -1;
      continue;
    }
    for(j = 0; j < d->dev.n_points; j++) {
      const struct cfg_point *o = &d->dev.points[j];
      if(!strcmp(o->id, pt->id)) {
        ERR(c, mget(m, "id"), p, "duplicate point id '%s' (first defined at %s:%d:%d)", pt->id,
            c->file, o->pos.line, o->pos.col);
        break;
      }
      if(coap && !strcmp(o->path, pt->path) &&
         (o->format != pt->format || pt->format == CFG_FMT_TEXT)) {
        ERR(c, mget(m, "path"), p,
            "path '%s' is already served by point '%s' (points may share a path only as json "
            "or senml records of the same format)",
            pt->path, o->id);
        break;
      }
      if(!coap && o->table == pt->table && pt->address < o->address + o->width &&
         o->address < pt->address + pt->width && !(o->bit >= 0 && pt->bit >= 0 && o->bit != pt->bit)) {
        ERR(c, mget(m, "address"), p, "overlaps point '%s' (%s %u..%u)", o->id,
            tables[o->table], (unsigned)o->address, (unsigned)(o->address + o->width - 1));
        break;
      }
    }
    if(j < d->dev.n_points) {
      bad = -1;
      continue;
    }
    d->dev.n_points++;
  }
  return bad;
}

/* The index of point id in d, or reported (with a suggestion). 0 or -1. */
static int want_point(struct sctx *c, const struct snode *m, const char *path,
                      const struct simcfg_device *d, const char **id, size_t *idx)
{
  const struct snode *x = mget(m, "point");
  const char **names;
  const char *s;
  char kp[160];
  size_t i;
  subpath(kp, sizeof(kp), path, "point");
  if(!x) {
    ERR(c, m, path, "missing key 'point'");
    return -1;
  }
  if(want_str(c, x, kp, id))
    return -1;
  for(i = 0; i < d->dev.n_points; i++)
    if(!strcmp(d->dev.points[i].id, *id)) {
      *idx = i;
      return 0;
    }
  names = rs_arena_alloc(c->a, (d->dev.n_points + 1) * sizeof(*names));
  for(i = 0; i < d->dev.n_points; i++)
    names[i] = d->dev.points[i].id;
  s = rs_did_you_mean(*id, names);
  if(s)
    ERR(c, x, kp, "unknown point '%s' (did you mean '%s'?)", *id, s);
  else
    ERR(c, x, kp, "unknown point '%s' (expected a point id of device '%s')", *id,
        d->id ? d->id : "?");
  return -1;
}

/* profile.duty: {days: [mon, ...], from: H, to: H}. 0 or -1. */
static int parse_duty(struct sctx *c, const struct snode *v, const char *path,
                      struct simcfg_duty *duty)
{
  static const char *const keys[] = {"days", "from", "to", NULL};
  static const char *const days[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun", NULL};
  const struct snode *x;
  char kp[192];
  int bad = 0, e;
  int64_t h;
  size_t i;
  if(v->kind != SN_MAP) {
    ERR(c, v, path, "expected a mapping with days, from, to (found %s)", kind_name(v));
    return -1;
  }
  if(check_keys(c, v, path, keys))
    bad = -1;
  subpath(kp, sizeof(kp), path, "days");
  if((x = mget(v, "days"))) {
    if(x->kind != SN_SEQ || !x->n) {
      ERR(c, x, kp, "expected a list of days such as [mon, tue, wed, thu, fri]");
      bad = -1;
    }
    else {
      duty->days = 0;
      for(i = 0; i < x->n; i++) {
        if(want_enum(c, x->kids[i], kp, days, "a day", &e))
          bad = -1;
        else
          duty->days |= 1u << e;
      }
    }
  }
  subpath(kp, sizeof(kp), path, "from");
  if((x = mget(v, "from"))) {
    if(want_int(c, x, kp, 0, 23, &h))
      bad = -1;
    else
      duty->from_h = (int)h;
  }
  subpath(kp, sizeof(kp), path, "to");
  if((x = mget(v, "to"))) {
    if(want_int(c, x, kp, 1, 24, &h))
      bad = -1;
    else
      duty->to_h = (int)h;
  }
  if(!bad && duty->to_h <= duty->from_h) {
    ERR(c, v, path, "from %d to %d is empty (expected from < to, hours in UTC)", duty->from_h,
        duty->to_h);
    bad = -1;
  }
  return bad;
}

/* consumable.profile: kind and its numbers, with defaults and cross checks. 0 or -1. */
static int parse_profile(struct sctx *c, const struct snode *v, const char *path,
                         struct simcfg_consumable *k, const struct cfg_point *pt)
{
  static const char *const keys[] = {"kind",        "full",        "empty",      "life",
                                     "start_level", "steepness",   "noise",      "glitch_rate",
                                     "glitch_size", "glitch_for",  "duty",       NULL};
  static const char *const kinds[] = {"linear", "weekly", "clogging", "counter", NULL};
  const struct snode *x;
  char kp[192];
  int bad = 0, e;
  bool size_set = false;
  if(v->kind != SN_MAP) {
    ERR(c, v, path, "expected a mapping with kind, full, empty, life (found %s)", kind_name(v));
    return -1;
  }
  if(check_keys(c, v, path, keys))
    bad = -1;
  k->start_level = 1;
  k->steepness = 4;
  k->glitch_for_ms = 600000;
  k->duty.days = 0x1f;
  k->duty.from_h = 6;
  k->duty.to_h = 22;
  subpath(kp, sizeof(kp), path, "kind");
  if(!(x = mget(v, "kind"))) {
    ERR(c, v, path, "missing key 'kind' (expected linear, weekly, clogging or counter)");
    bad = -1;
  }
  else if(want_enum(c, x, kp, kinds, "a profile kind", &e))
    bad = -1;
  else
    k->kind = (enum simcfg_kind)e;
  subpath(kp, sizeof(kp), path, "full");
  if(!(x = mget(v, "full"))) {
    ERR(c, v, path, "missing key 'full' (the point's value for a new part)");
    bad = -1;
  }
  else if(want_num(c, x, kp, &k->full))
    bad = -1;
  subpath(kp, sizeof(kp), path, "empty");
  if(!(x = mget(v, "empty"))) {
    ERR(c, v, path, "missing key 'empty' (the point's value for a worn-out part)");
    bad = -1;
  }
  else if(want_num(c, x, kp, &k->empty))
    bad = -1;
  else if(mget(v, "full") && k->empty == k->full) {
    ERR(c, x, kp, "equals full (the part would never wear)");
    bad = -1;
  }
  subpath(kp, sizeof(kp), path, "life");
  if(!(x = mget(v, "life"))) {
    ERR(c, v, path, "missing key 'life' (simulated time from full to empty, e.g. 10d)");
    bad = -1;
  }
  else if(want_duration(c, x, kp, &k->life_ms))
    bad = -1;
  else if(k->life_ms < 1000) {
    ERR(c, x, kp, "'%s' is too short (expected at least 1s of simulated time)", x->s);
    bad = -1;
  }
  subpath(kp, sizeof(kp), path, "start_level");
  if((x = mget(v, "start_level")) && want_prob(c, x, kp, &k->start_level))
    bad = -1;
  subpath(kp, sizeof(kp), path, "steepness");
  if((x = mget(v, "steepness"))) {
    if(k->kind != SIMCFG_KIND_CLOGGING) {
      ERR(c, x, kp, "only applies to kind clogging");
      bad = -1;
    }
    else if(want_num(c, x, kp, &k->steepness))
      bad = -1;
    else if(k->steepness < 0.1 || k->steepness > 20) {
      ERR(c, x, kp, "'%s' is out of range (expected 0.1 to 20)", x->s);
      bad = -1;
    }
  }
  subpath(kp, sizeof(kp), path, "noise");
  if((x = mget(v, "noise"))) {
    if(want_num(c, x, kp, &k->noise))
      bad = -1;
    else if(k->noise < 0) {
      ERR(c, x, kp, "'%s' is negative (expected a standard deviation >= 0)", x->s);
      bad = -1;
    }
  }
  subpath(kp, sizeof(kp), path, "glitch_rate");
  if((x = mget(v, "glitch_rate"))) {
    if(want_num(c, x, kp, &k->glitch_rate))
      bad = -1;
    else if(k->glitch_rate < 0 || k->glitch_rate > 1e6) {
      ERR(c, x, kp, "'%s' is out of range (expected glitches per simulated day, >= 0)", x->s);
      bad = -1;
    }
  }
  subpath(kp, sizeof(kp), path, "glitch_size");
  if((x = mget(v, "glitch_size"))) {
    size_set = true;
    if(want_num(c, x, kp, &k->glitch_size))
      bad = -1;
  }
  subpath(kp, sizeof(kp), path, "glitch_for");
  if((x = mget(v, "glitch_for")) && want_duration(c, x, kp, &k->glitch_for_ms))
    bad = -1;
  if(!size_set)
    k->glitch_size = fabs(k->empty - k->full) / 2;
  subpath(kp, sizeof(kp), path, "duty");
  if((x = mget(v, "duty"))) {
    if(parse_duty(c, x, kp, &k->duty))
      bad = -1;
    k->duty.set = true;
  }
  else
    k->duty.set = k->kind == SIMCFG_KIND_WEEKLY;
  if(k->kind == SIMCFG_KIND_COUNTER && (mget(v, "noise") || mget(v, "glitch_rate"))) {
    x = mget(v, "noise") ? mget(v, "noise") : mget(v, "glitch_rate");
    ERR(c, x, path, "a counter neither jitters nor glitches (drop noise and glitch_rate)");
    bad = -1;
  }
  if(k->kind == SIMCFG_KIND_COUNTER && !bad && k->empty < k->full) {
    ERR(c, mget(v, "empty"), path, "a counter counts up (expected empty > full)");
    bad = -1;
  }
  if(pt && pt->type == CFG_VT_BOOL) {
    ERR(c, v, path, "point '%s' is a bool (a profile needs a numeric point)", pt->id);
    bad = -1;
  }
  return bad;
}

/* device.consumables: id, point, sku, replace_after, profile. 0 or -1. */
static int parse_sim_consumables(struct sctx *c, const struct snode *v, const char *path,
                                 struct simcfg_device *d, bool *used)
{
  static const char *const keys[] = {"id", "point", "sku", "replace_after", "profile", NULL};
  size_t i, j;
  int bad = 0;
  if(v->kind != SN_SEQ) {
    ERR(c, v, path, "expected a list of consumables (found %s)", kind_name(v));
    return -1;
  }
  d->consumables = rs_arena_alloc(c->a, (v->n + 1) * sizeof(*d->consumables));
  for(i = 0; i < v->n; i++) {
    const struct snode *m = v->kids[i], *x;
    struct simcfg_consumable *k = &d->consumables[d->n_consumables];
    char p[128], kp[160];
    bool ok = true, have_pt;
    memset(k, 0, sizeof(*k));
    (void)rs_snprintf(p, sizeof(p), "%s[%zu]", path, i);
    if(m->kind != SN_MAP) {
      ERR(c, m, p, "expected a mapping with id, point, profile (found %s)", kind_name(m));
      bad = -1;
      continue;
    }
    if(check_keys(c, m, p, keys))
      ok = false;
    k->line = m->line;
    k->col = m->col;
    k->replace_after_ms = 2 * 3600000;
    if(want_id(c, m, p, "id", &k->id))
      ok = false;
    have_pt = !want_point(c, m, p, d, &k->point_id, &k->point);
    if(!have_pt)
      ok = false;
    else if(used[k->point]) {
      ERR(c, mget(m, "point"), p, "point '%s' is already driven by another consumable or button",
          k->point_id);
      ok = false;
    }
    subpath(kp, sizeof(kp), p, "sku");
    if((x = mget(m, "sku"))) {
      if(want_str(c, x, kp, &k->sku))
        ok = false;
      else if(!valid_sku(k->sku)) {
        ERR(c, x, kp, "'%s' is not a SKU (expected [A-Za-z0-9][A-Za-z0-9._/#+-]{0,63})", k->sku);
        ok = false;
      }
    }
    subpath(kp, sizeof(kp), p, "replace_after");
    if((x = mget(m, "replace_after"))) {
      if(!mget(m, "sku")) {
        ERR(c, x, kp, "needs sku (only a delivered SKU replaces a part)");
        ok = false;
      }
      else if(want_duration(c, x, kp, &k->replace_after_ms))
        ok = false;
    }
    subpath(kp, sizeof(kp), p, "profile");
    if(!(x = mget(m, "profile"))) {
      ERR(c, m, p, "missing key 'profile' (expected {kind, full, empty, life})");
      ok = false;
    }
    else if(parse_profile(c, x, kp, k, have_pt ? &d->dev.points[k->point] : NULL))
      ok = false;
    if(!ok) {
      bad = -1;
      continue;
    }
    for(j = 0; j < d->n_consumables; j++)
      if(!strcmp(d->consumables[j].id, k->id)) {
        ERR(c, mget(m, "id"), p, "duplicate consumable id '%s' (first defined at %s:%d:%d)",
            k->id, c->file, d->consumables[j].line, d->consumables[j].col);
        break;
      }
    if(j < d->n_consumables) {
      bad = -1;
      continue;
    }
    used[k->point] = true;
    d->n_consumables++;
  }
  return bad;
}

/* device.buttons: point, press_at, every, hold. 0 or -1. */
static int parse_sim_buttons(struct sctx *c, const struct snode *v, const char *path,
                             struct simcfg_device *d, bool *used)
{
  static const char *const keys[] = {"point", "press_at", "every", "hold", NULL};
  size_t i, j;
  int bad = 0;
  if(v->kind != SN_SEQ) {
    ERR(c, v, path, "expected a list of buttons (found %s)", kind_name(v));
    return -1;
  }
  d->buttons = rs_arena_alloc(c->a, (v->n + 1) * sizeof(*d->buttons));
  for(i = 0; i < v->n; i++) {
    const struct snode *m = v->kids[i], *x;
    struct simcfg_button *b = &d->buttons[d->n_buttons];
    char p[128], kp[160];
    bool ok = true;
    memset(b, 0, sizeof(*b));
    (void)rs_snprintf(p, sizeof(p), "%s[%zu]", path, i);
    if(m->kind != SN_MAP) {
      ERR(c, m, p, "expected a mapping with point (found %s)", kind_name(m));
      bad = -1;
      continue;
    }
    if(check_keys(c, m, p, keys))
      ok = false;
    b->line = m->line;
    b->col = m->col;
    b->hold_ms = 3600000;
    if(want_point(c, m, p, d, &b->point_id, &b->point))
      ok = false;
    else if(d->dev.points[b->point].type != CFG_VT_BOOL) {
      ERR(c, mget(m, "point"), p, "point '%s' is not a bool (a button is a coil, a discrete "
                                  "input or a bool register)", b->point_id);
      ok = false;
    }
    else if(used[b->point]) {
      ERR(c, mget(m, "point"), p, "point '%s' is already driven by another consumable or button",
          b->point_id);
      ok = false;
    }
    subpath(kp, sizeof(kp), p, "press_at");
    if((x = mget(m, "press_at"))) {
      if(x->kind != SN_SEQ) {
        ERR(c, x, kp, "expected a list of simulated times since the start, e.g. [1d, 2d12h]");
        ok = false;
      }
      else {
        b->press_at_ms = rs_arena_alloc(c->a, (x->n + 1) * sizeof(*b->press_at_ms));
        for(j = 0; j < x->n; j++)
          if(want_duration(c, x->kids[j], kp, &b->press_at_ms[b->n_press_at]))
            ok = false;
          else
            b->n_press_at++;
      }
    }
    subpath(kp, sizeof(kp), p, "every");
    if((x = mget(m, "every"))) {
      if(want_duration(c, x, kp, &b->every_ms))
        ok = false;
      else if(b->every_ms < 1000) {
        ERR(c, x, kp, "'%s' is too short (expected at least 1s)", x->s);
        ok = false;
      }
    }
    subpath(kp, sizeof(kp), p, "hold");
    if((x = mget(m, "hold"))) {
      if(want_duration(c, x, kp, &b->hold_ms))
        ok = false;
      else if(b->hold_ms < 1) {
        ERR(c, x, kp, "0 would never show the press (expected e.g. 1h)");
        ok = false;
      }
    }
    if(ok && b->every_ms && b->hold_ms >= b->every_ms) {
      ERR(c, mget(m, "hold"), p, "hold %s is not shorter than every (the button would never be "
                                 "released)", mget(m, "hold")->s);
      ok = false;
    }
    if(!ok) {
      bad = -1;
      continue;
    }
    used[b->point] = true;
    d->n_buttons++;
  }
  return bad;
}

/* The devices list: every device, then ids and listening addresses across devices. */
static int parse_devices(struct sctx *c, const struct snode *v, struct simcfg *cfg)
{
  static const char *const keys[] = {"id", "transport", "endian", "points", "consumables",
                                     "buttons", NULL};
  static const char *const endians[] = {"ABCD", "DCBA", "BADC", "CDAB", NULL};
  size_t i, j;
  int bad = 0, e;
  if(is_null(v))
    return 0;
  if(v->kind != SN_SEQ) {
    ERR(c, v, "devices", "expected a list of devices (found %s)", kind_name(v));
    return -1;
  }
  cfg->devices = rs_arena_alloc(c->a, (v->n + 1) * sizeof(*cfg->devices));
  for(i = 0; i < v->n; i++) {
    const struct snode *m = v->kids[i], *x;
    struct simcfg_device *d = &cfg->devices[cfg->n_devices];
    char p[64], kp[96];
    bool ok = true, *used = NULL;
    memset(d, 0, sizeof(*d));
    (void)rs_snprintf(p, sizeof(p), "devices[%zu]", i);
    if(m->kind != SN_MAP) {
      ERR(c, m, p, "expected a mapping with id, transport, points (found %s)", kind_name(m));
      bad = -1;
      continue;
    }
    if(check_keys(c, m, p, keys))
      ok = false;
    d->line = m->line;
    d->col = m->col;
    if(want_id(c, m, p, "id", &d->id))
      ok = false;
    d->dev.id = d->id;
    d->dev.pos.file = c->file;
    d->dev.pos.line = m->line;
    d->dev.pos.col = m->col;
    subpath(kp, sizeof(kp), p, "transport");
    if(!(x = mget(m, "transport"))) {
      ERR(c, m, p, "missing key 'transport' (expected {type: modbus-tcp, port: N} or {type: "
                   "coap, port: N})");
      bad = -1;
      continue;
    }
    switch(parse_sim_transport(c, x, kp, d)) {
    case 0:
      break;
    case -1:
      ok = false;
      break;
    default:
      bad = -1;
      continue;
    }
    d->dev.transport = d->transport == SIMCFG_TR_COAP ? CFG_TR_COAP : CFG_TR_MODBUS_TCP;
    subpath(kp, sizeof(kp), p, "endian");
    if((x = mget(m, "endian"))) {
      if(d->transport == SIMCFG_TR_COAP) {
        ERR(c, x, kp, "only applies to Modbus devices");
        ok = false;
      }
      else if(want_enum(c, x, kp, endians, "a byte order", &e))
        ok = false;
      else
        d->dev.endian = (enum cfg_endian)e;
    }
    subpath(kp, sizeof(kp), p, "points");
    if(!(x = mget(m, "points"))) {
      ERR(c, m, p, "missing key 'points'");
      bad = -1;
      continue;
    }
    if(parse_sim_points(c, x, kp, d))
      ok = false;
    used = rs_arena_alloc(c->a, (d->dev.n_points + 1) * sizeof(*used));
    subpath(kp, sizeof(kp), p, "consumables");
    if((x = mget(m, "consumables")) && parse_sim_consumables(c, x, kp, d, used))
      ok = false;
    subpath(kp, sizeof(kp), p, "buttons");
    if((x = mget(m, "buttons"))) {
      if(d->transport == SIMCFG_TR_COAP) {
        ERR(c, x, kp, "buttons are Modbus bool points (this device is CoAP)");
        ok = false;
      }
      else if(parse_sim_buttons(c, x, kp, d, used))
        ok = false;
    }
    if(!ok) {
      bad = -1;
      continue;
    }
    for(j = 0; j < cfg->n_devices; j++) {
      const struct simcfg_device *o = &cfg->devices[j];
      if(!strcmp(o->id, d->id)) {
        ERR(c, mget(m, "id"), p, "duplicate device id '%s' (first defined at %s:%d:%d)", d->id,
            c->file, o->line, o->col);
        break;
      }
      if(o->transport != d->transport || !d->port || o->port != d->port)
        continue;
      if(d->transport == SIMCFG_TR_COAP) {
        ERR(c, mget(m, "transport"), p,
            "CoAP port %u is already served by device '%s' (one device per CoAP port)",
            (unsigned)d->port, o->id);
        break;
      }
      if(strcmp(o->host, d->host)) {
        ERR(c, mget(m, "transport"), p,
            "port %u is already served on %s by device '%s' (devices on one port share its host)",
            (unsigned)d->port, o->host, o->id);
        break;
      }
      if(o->unit_id == d->unit_id) {
        ERR(c, mget(m, "transport"), p,
            "unit id %d on port %u is already device '%s' (several devices on one port need "
            "distinct unit ids)",
            d->unit_id, (unsigned)d->port, o->id);
        break;
      }
    }
    if(j < cfg->n_devices) {
      bad = -1;
      continue;
    }
    cfg->n_devices++;
  }
  return bad;
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

/* simulation: seed, tick (real time), start (simulated wall time). 0 or -1. */
static int parse_simulation(struct sctx *c, const struct snode *v, struct simcfg *cfg)
{
  static const char *const keys[] = {"seed", "tick", "start", NULL};
  const struct snode *x;
  int bad = 0;
  int64_t i64;
  if(v->kind != SN_MAP) {
    ERR(c, v, "simulation", "expected a mapping with seed, tick, start (found %s)", kind_name(v));
    return -1;
  }
  if(check_keys(c, v, "simulation", keys))
    bad = -1;
  if((x = mget(v, "seed"))) {
    if(want_int(c, x, "simulation.seed", 0, INT64_MAX, &i64))
      bad = -1;
    else
      cfg->seed = (uint64_t)i64;
  }
  if((x = mget(v, "tick"))) {
    if(want_duration(c, x, "simulation.tick", &cfg->tick_ms))
      bad = -1;
    else if(cfg->tick_ms < 10 || cfg->tick_ms > 60000) {
      ERR(c, x, "simulation.tick", "'%s' is out of range (expected 10ms to 1m of real time)",
          x->s);
      bad = -1;
    }
  }
  if((x = mget(v, "start"))) {
    const char *s;
    if(want_str(c, x, "simulation.start", &s))
      bad = -1;
    else if(parse_utc(s, &cfg->start_wall_ms)) {
      ERR(c, x, "simulation.start",
          "'%s' is not a time (expected UTC as 2026-01-05T06:00:00Z)", s);
      bad = -1;
    }
    else
      cfg->start_set = true;
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
  static const char *const keys[] = {"shop", "devices", "simulation", NULL};
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
      cfg->seed = 1;
      cfg->tick_ms = 200;
      if((x = mget(root, "simulation")))
        parse_simulation(&c, x, cfg);
      if((x = mget(root, "devices"))) {
        cfg->devices_present = true;
        parse_devices(&c, x, cfg);
      }
      if((x = mget(root, "shop")))
        parse_shop(&c, x, &cfg->shop);
      else if(!cfg->devices_present)
        ERR(&c, root, NULL, "nothing to simulate (expected a shop or devices section)");
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

const char *simcfg_kind_name(enum simcfg_kind k)
{
  switch(k) {
  case SIMCFG_KIND_LINEAR:
    return "linear";
  case SIMCFG_KIND_WEEKLY:
    return "weekly";
  case SIMCFG_KIND_CLOGGING:
    return "clogging";
  case SIMCFG_KIND_COUNTER:
    return "counter";
  }
  return "?";
}

const struct simcfg_product *simcfg_find_product(const struct simcfg_shop *shop, const char *sku)
{
  size_t i;
  for(i = 0; i < shop->n_products; i++)
    if(shop->products[i].sku && !strcmp(shop->products[i].sku, sku))
      return &shop->products[i];
  return NULL;
}
