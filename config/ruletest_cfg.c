/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ruletest_cfg: test files of `restockctl test-rules` (see ruletest_cfg.h),
 * read with the config loader's YAML tree (cfg_yaml_parse) and its
 * diagnostics collector, so errors read like every config error:
 * "test.yaml:12:17: tests[0].series[1].values: ...".
 */
#include "config/ruletest_cfg.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/cfg_internal.h"
#include "base/clock.h"
#include "base/rs_util.h"

struct rl {
  struct rs_arena *A; /* the result's arena */
  struct rs_arena *T; /* the YAML tree */
  struct cfg_dcol dc;
  const char *file;
  const char *dir; /* the test file's dir */
};

static void err(struct rl *l, const struct cfg_node *n, const char *path, const char *fmt, ...)
    RS_PRINTF(4, 5);

static void err(struct rl *l, const struct cfg_node *n, const char *path, const char *fmt, ...)
{
  struct rs_buf b = {0};
  va_list ap;
  rs_buf_printf(&b, "%s: ", path);
  va_start(ap, fmt);
  rs_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  cfg_dcol_add(&l->dc, false, l->file, n ? n->line : 0, n ? n->col : 0, "%s",
               b.data ? b.data : "out of memory");
  rs_buf_free(&b);
}

static struct cfg_pos pos_of(const struct rl *l, const struct cfg_node *n)
{
  struct cfg_pos p = {l->file, n->line, n->col};
  return p;
}

/* A scalar's text, or NULL after an error naming what was expected. */
static const char *scalar(struct rl *l, const struct cfg_node *n, const char *path,
                          const char *expected)
{
  if(n->bad)
    return NULL;
  if(n->kind != CFG_N_SCALAR || cfg_node_is_null(n)) {
    err(l, n, path, "expected %s", expected);
    return NULL;
  }
  return n->s;
}

static int duration(struct rl *l, const struct cfg_node *n, const char *path, int64_t *out)
{
  char e[160];
  const char *s = scalar(l, n, path, "a duration (30s, 5m, 2h, 3d)");
  if(!s)
    return -1;
  if(cfg_parse_duration(s, out, e, sizeof(e))) {
    err(l, n, path, "%s", e);
    return -1;
  }
  return 0;
}

static const char *id_value(struct rl *l, const struct cfg_node *n, const char *path, bool full_id)
{
  const char *s = scalar(l, n, path, full_id ? "a consumable id (device/id)" : "an id");
  const char *slash;
  char q[80];
  if(!s)
    return NULL;
  if(full_id) {
    slash = strchr(s, '/');
    if(slash) {
      char dev[CFG_ID_MAX + 2];
      size_t dl = (size_t)(slash - s);
      if(dl < sizeof(dev)) {
        memcpy(dev, s, dl);
        dev[dl] = '\0';
        if(cfg_valid_id(dev) && cfg_valid_id(slash + 1))
          return rs_arena_strdup(l->A, s);
      }
    }
  }
  else if(cfg_valid_id(s))
    return rs_arena_strdup(l->A, s);
  cfg_quote_value(s, n->len, q, sizeof(q));
  err(l, n, path, "%s is not %s", q, full_id ? "a consumable id (device/id)" : "an id");
  return NULL;
}

/* ---- series notation ----------------------------------------------------- */

static int push(struct ruletest_sample **v, size_t *n, size_t *cap, double value, bool *pending)
{
  if(*n >= RULETEST_MAX_SAMPLES)
    return -1;
  if(*n == *cap) {
    *cap = *cap ? *cap * 2 : 64;
    *v = rs_xrealloc(*v, *cap * sizeof(**v));
  }
  (*v)[*n].value = value;
  (*v)[*n].replace = *pending;
  *pending = false;
  (*n)++;
  return 0;
}

/* A number token: decimal, or true/false. 0 or -1. */
static int number(const char *s, double *out)
{
  if(!strcmp(s, "true") || !strcmp(s, "false")) {
    *out = s[0] == 't';
    return 0;
  }
  return rs_parse_double(s, out);
}

int ruletest_cfg_expand(const char *s, struct ruletest_sample **out, size_t *n,
                        bool *replace_at_end, char *errbuf, size_t errlen, size_t *err_offset)
{
  size_t cap = 0, i = 0;
  bool pending = false;
  *out = NULL;
  *n = 0;
  *replace_at_end = false;
  *err_offset = 0;
  while(s[i]) {
    char tok[128], a[64], b[64];
    size_t start, tl;
    const char *x, *op;
    int64_t count = 0;
    double va, vb = 0;
    while(s[i] == ' ' || s[i] == '\t' || s[i] == '\n')
      i++;
    if(!s[i])
      break;
    start = i;
    while(s[i] && s[i] != ' ' && s[i] != '\t' && s[i] != '\n')
      i++;
    tl = i - start;
    *err_offset = start;
    if(tl >= sizeof(tok)) {
      (void)rs_snprintf(errbuf, errlen, "token too long");
      goto fail;
    }
    memcpy(tok, s + start, tl);
    tok[tl] = '\0';
    if(!strcmp(tok, "replace")) {
      if(pending) {
        (void)rs_snprintf(errbuf, errlen, "two 'replace' marks with no sample between them");
        goto fail;
      }
      pending = true;
      continue;
    }
    x = strchr(tok, 'x');
    if(!x) {
      if(!strcmp(tok, "_")) {
        if(push(out, n, &cap, NAN, &pending))
          goto toolong;
        continue;
      }
      if(number(tok, &va)) {
        (void)rs_snprintf(errbuf, errlen,
                          "'%s' is not a sample (expected a number, _, replace, A+BxN, A-BxN "
                          "or AxN)",
                          tok);
        goto fail;
      }
      if(push(out, n, &cap, va, &pending))
        goto toolong;
      continue;
    }
    /* A+BxN, A-BxN, AxN, _xN */
    if(rs_parse_i64(x + 1, false, 0, RULETEST_MAX_SAMPLES, &count)) {
      (void)rs_snprintf(errbuf, errlen, "'%s': the count after x must be a whole number 0 to %d",
                        tok, RULETEST_MAX_SAMPLES);
      goto fail;
    }
    /* the operator: the first + or - after the first character (a sign may lead) */
    op = NULL;
    {
      const char *p;
      for(p = tok + 1; p < x; p++) {
        if((*p == '+' || *p == '-') && p[-1] != 'e' && p[-1] != 'E') {
          op = p;
          break;
        }
      }
    }
    if((size_t)((op ? op : x) - tok) >= sizeof(a) || (op && (size_t)(x - op) >= sizeof(b))) {
      (void)rs_snprintf(errbuf, errlen, "token too long");
      goto fail;
    }
    memcpy(a, tok, (size_t)((op ? op : x) - tok));
    a[(op ? op : x) - tok] = '\0';
    if(!strcmp(a, "_") && !op) {
      int64_t k;
      if(count < 1) {
        (void)rs_snprintf(errbuf, errlen, "'%s': _xN needs N >= 1", tok);
        goto fail;
      }
      for(k = 0; k < count; k++) {
        if(push(out, n, &cap, NAN, &pending))
          goto toolong;
      }
      continue;
    }
    if(number(a, &va)) {
      (void)rs_snprintf(errbuf, errlen, "'%s': '%s' is not a number", tok, a);
      goto fail;
    }
    if(op) {
      memcpy(b, op + 1, (size_t)(x - op - 1));
      b[x - op - 1] = '\0';
      if(rs_parse_double(b, &vb) || vb < 0) {
        (void)rs_snprintf(errbuf, errlen, "'%s': the step '%s' is not a number", tok, b);
        goto fail;
      }
      if(*op == '-')
        vb = -vb;
    }
    {
      int64_t k;
      for(k = 0; k <= count; k++) {
        if(push(out, n, &cap, va + (double)k * vb, &pending))
          goto toolong;
      }
    }
  }
  *replace_at_end = pending;
  return 0;
toolong:
  (void)rs_snprintf(errbuf, errlen, "more than %d samples", RULETEST_MAX_SAMPLES);
fail:
  FREE_NULL(*out);
  *n = 0;
  return -1;
}

/* ---- the document -------------------------------------------------------- */

/* Whether map key k is one of the names; reports it otherwise (with a suggestion). */
static bool known_key(struct rl *l, const struct cfg_node *k, const char *path,
                      const char *const *names)
{
  const char *hint;
  size_t i;
  for(i = 0; names[i]; i++)
    if(!strcmp(k->s, names[i]))
      return true;
  hint = rs_did_you_mean(k->s, names);
  err(l, k, path, "unknown key '%s'%s%s%s", k->s, hint ? " (did you mean '" : "", hint ? hint : "",
      hint ? "'?)" : "");
  return false;
}

static const char *resolve(struct rl *l, const char *p)
{
  if(p[0] == '/')
    return rs_arena_strdup(l->A, p);
  return rs_arena_printf(l->A, "%s/%s", l->dir, p);
}

static void load_series(struct rl *l, const struct cfg_node *n, const char *path,
                        struct ruletest_series *s)
{
  static const char *const keys[] = {"consumable", "device", "point", "values", NULL};
  const struct cfg_node *values = NULL;
  size_t i;
  s->pos = pos_of(l, n);
  if(n->kind != CFG_N_MAP) {
    err(l, n, path, "expected a mapping with consumable (or device and point) and values");
    return;
  }
  for(i = 0; i < n->n; i++) {
    const struct cfg_node *k = n->kids[2 * i], *v = n->kids[2 * i + 1];
    char *kp = rs_arena_printf(l->T, "%s.%s", path, k->s);
    if(k->skip || !known_key(l, k, path, keys))
      continue;
    if(!strcmp(k->s, "consumable"))
      s->consumable = id_value(l, v, kp, true);
    else if(!strcmp(k->s, "device"))
      s->device = id_value(l, v, kp, false);
    else if(!strcmp(k->s, "point"))
      s->point = id_value(l, v, kp, false);
    else
      values = v;
  }
  if(s->consumable && (s->device || s->point))
    err(l, n, path, "give either consumable or device and point, not both");
  else if(!s->consumable && (!s->device || !s->point))
    err(l, n, path, "needs consumable, or device and point");
  if(!values) {
    err(l, n, path, "missing key 'values'");
    return;
  }
  {
    char *vp = rs_arena_printf(l->T, "%s.values", path);
    const char *src = values->kind == CFG_N_SCALAR && !values->bad ? values->s : NULL;
    char e[200];
    size_t off = 0, cnt = 0;
    struct ruletest_sample *v = NULL;
    if(!src) {
      err(l, values, vp, "expected a series (e.g. \"100-2x10 _ 70 replace 100-1x5\")");
      return;
    }
    if(ruletest_cfg_expand(src, &v, &cnt, &s->replace_at_end, e, sizeof(e), &off)) {
      struct cfg_node at = *values;
      /* point at the token when the scalar is on one line and plain or quoted */
      if(values->end_line == values->line)
        at.col = values->col + (int)off + (values->quoted ? 1 : 0);
      err(l, &at, vp, "%s", e);
      return;
    }
    if(!cnt) {
      err(l, values, vp, "the series has no sample");
      free(v);
      return;
    }
    s->samples = rs_arena_alloc(l->A, cnt * sizeof(*v));
    memcpy(s->samples, v, cnt * sizeof(*v));
    s->n = cnt;
    free(v);
  }
}

static void load_expect(struct rl *l, const struct cfg_node *n, const char *path,
                        struct ruletest_expect *x)
{
  static const char *const keys[] = {"at", "within", "consumable", "sku", "quantity", "rule", NULL};
  bool have_at = false;
  size_t i;
  x->pos = pos_of(l, n);
  if(n->kind != CFG_N_MAP) {
    err(l, n, path, "expected a mapping (at, consumable, and optionally sku, quantity, rule)");
    return;
  }
  for(i = 0; i < n->n; i++) {
    const struct cfg_node *k = n->kids[2 * i], *v = n->kids[2 * i + 1];
    char *kp = rs_arena_printf(l->T, "%s.%s", path, k->s);
    const char *s;
    if(k->skip || !known_key(l, k, path, keys))
      continue;
    if(!strcmp(k->s, "at"))
      have_at = !duration(l, v, kp, &x->at_ms);
    else if(!strcmp(k->s, "within"))
      (void)duration(l, v, kp, &x->within_ms);
    else if(!strcmp(k->s, "consumable"))
      x->consumable = id_value(l, v, kp, true);
    else if(!strcmp(k->s, "sku")) {
      if((s = scalar(l, v, kp, "a SKU")) != NULL)
        x->sku = rs_arena_strdup(l->A, s);
    }
    else if(!strcmp(k->s, "rule")) {
      if((s = scalar(l, v, kp, "a rule name")) != NULL)
        x->rule = rs_arena_strdup(l->A, s);
    }
    else if((s = scalar(l, v, kp, "a whole number of units")) != NULL) {
      if(v->quoted || rs_parse_i64(s, false, 1, INT64_MAX / 2, &x->quantity))
        err(l, v, kp, "expected a whole number of units, 1 or more");
    }
  }
  if(!have_at)
    err(l, n, path, "missing key 'at' (the time of the line from the test's start, e.g. 14h)");
  if(!x->consumable)
    err(l, n, path, "missing key 'consumable'");
}

static void load_case(struct rl *l, const struct cfg_node *n, const char *path,
                      struct ruletest_case *c)
{
  static const char *const keys[] = {"name",   "interval", "start",  "duration",
                                     "spares", "series",   "orders", NULL};
  size_t i, j;
  bool have_interval = false;
  c->pos = pos_of(l, n);
  c->start_ms = RULETEST_DEFAULT_START_MS;
  c->duration_ms = -1;
  if(n->kind != CFG_N_MAP) {
    err(l, n, path, "expected a mapping (name, interval, series, orders)");
    return;
  }
  for(i = 0; i < n->n; i++) {
    const struct cfg_node *k = n->kids[2 * i], *v = n->kids[2 * i + 1];
    char *kp = rs_arena_printf(l->T, "%s.%s", path, k->s);
    const char *s;
    if(k->skip || !known_key(l, k, path, keys))
      continue;
    if(!strcmp(k->s, "name")) {
      if((s = scalar(l, v, kp, "a name")) != NULL)
        c->name = rs_arena_strdup(l->A, s);
    }
    else if(!strcmp(k->s, "interval")) {
      if(!duration(l, v, kp, &c->interval_ms)) {
        if(c->interval_ms < 1000)
          err(l, v, kp, "at least 1s");
        else
          have_interval = true;
      }
    }
    else if(!strcmp(k->s, "duration"))
      (void)duration(l, v, kp, &c->duration_ms);
    else if(!strcmp(k->s, "start")) {
      int64_t t;
      if((s = scalar(l, v, kp, "an RFC 3339 time")) != NULL) {
        if(clock_parse_time(s, &t))
          err(l, v, kp, "expected an RFC 3339 time (2026-01-05T00:00:00Z)");
        else
          c->start_ms = t;
      }
    }
    else if(!strcmp(k->s, "spares")) {
      if(v->kind != CFG_N_MAP) {
        err(l, v, kp, "expected a mapping of consumable ids to counts");
        continue;
      }
      c->spares = rs_arena_alloc(l->A, (v->n ? v->n : 1) * sizeof(*c->spares));
      for(j = 0; j < v->n; j++) {
        const struct cfg_node *sk = v->kids[2 * j], *sv = v->kids[2 * j + 1];
        char *sp = rs_arena_printf(l->T, "%s.%s", kp, sk->s);
        struct ruletest_spares *x = &c->spares[c->n_spares];
        if(sk->skip)
          continue;
        x->pos = pos_of(l, sk);
        x->consumable = id_value(l, sk, kp, true);
        if((s = scalar(l, sv, sp, "a whole number")) == NULL)
          continue;
        if(sv->quoted || rs_parse_i64(s, false, 0, 1000000, &x->spares)) {
          err(l, sv, sp, "expected a whole number 0 to 1000000");
          continue;
        }
        if(x->consumable)
          c->n_spares++;
      }
    }
    else if(!strcmp(k->s, "series")) {
      if(v->kind != CFG_N_SEQ) {
        err(l, v, kp, "expected a list of series");
        continue;
      }
      c->series = rs_arena_alloc(l->A, (v->n ? v->n : 1) * sizeof(*c->series));
      c->n_series = v->n;
      for(j = 0; j < v->n; j++)
        load_series(l, v->kids[j], rs_arena_printf(l->T, "%s[%zu]", kp, j), &c->series[j]);
    }
    else {
      if(cfg_node_is_null(v) && v->kind == CFG_N_SCALAR)
        continue; /* orders: (nothing) = no line expected */
      if(v->kind != CFG_N_SEQ) {
        err(l, v, kp, "expected a list of expected order lines ([] for none)");
        continue;
      }
      c->expect = rs_arena_alloc(l->A, (v->n ? v->n : 1) * sizeof(*c->expect));
      c->n_expect = v->n;
      for(j = 0; j < v->n; j++)
        load_expect(l, v->kids[j], rs_arena_printf(l->T, "%s[%zu]", kp, j), &c->expect[j]);
    }
  }
  if(!c->name)
    c->name = rs_arena_printf(l->A, "%s", path);
  if(!have_interval)
    err(l, n, path, "missing key 'interval' (the time between two samples, e.g. 1h)");
  if(!c->n_series)
    err(l, n, path, "missing key 'series' (at least one input series)");
}

static void load_root(struct rl *l, const struct cfg_node *root, struct ruletest_file *f)
{
  static const char *const keys[] = {"config", "rule_files", "tests", NULL};
  bool have_tests = false;
  size_t i, j;
  if(root->kind != CFG_N_MAP) {
    err(l, root, "(top level)", "expected a mapping with config, rule_files and tests");
    return;
  }
  for(i = 0; i < root->n; i++) {
    const struct cfg_node *k = root->kids[2 * i], *v = root->kids[2 * i + 1];
    const char *s;
    if(k->skip || !known_key(l, k, "(top level)", keys))
      continue;
    if(!strcmp(k->s, "config")) {
      if((s = scalar(l, v, "config", "a config dir")) != NULL) {
        f->config_dir = resolve(l, s);
        f->config_pos = pos_of(l, v);
      }
    }
    else if(!strcmp(k->s, "rule_files")) {
      if(v->kind != CFG_N_SEQ || !v->n) {
        err(l, v, "rule_files", "expected a list of rule files");
        continue;
      }
      f->rule_files = rs_arena_alloc(l->A, v->n * sizeof(*f->rule_files));
      for(j = 0; j < v->n; j++) {
        char *p = rs_arena_printf(l->T, "rule_files[%zu]", j);
        if((s = scalar(l, v->kids[j], p, "a file name")) != NULL)
          f->rule_files[f->n_rule_files++] = resolve(l, s);
      }
    }
    else {
      have_tests = true;
      if(v->kind != CFG_N_SEQ || !v->n) {
        err(l, v, "tests", "expected a list of test cases");
        continue;
      }
      f->cases = rs_arena_alloc(l->A, v->n * sizeof(*f->cases));
      f->n_cases = v->n;
      for(j = 0; j < v->n; j++)
        load_case(l, v->kids[j], rs_arena_printf(l->T, "tests[%zu]", j), &f->cases[j]);
    }
  }
  if(!have_tests)
    err(l, root, "(top level)", "missing key 'tests'");
  if(!f->config_dir) {
    f->config_dir = rs_arena_strdup(l->A, l->dir);
    f->config_pos.file = l->file;
  }
}

int ruletest_cfg_load_buffer(const char *path, const char *data, size_t len,
                             struct ruletest_file **out, struct cfg_diags *diags)
{
  struct rl l;
  struct ruletest_file *f;
  struct cfg_node *root = NULL;
  bool empty = false;
  const char *slash = strrchr(path, '/');
  size_t nerr;

  memset(&l, 0, sizeof(l));
  *out = NULL;
  l.A = rs_arena_new();
  l.T = rs_arena_new();
  l.file = rs_arena_strdup(l.A, path);
  l.dir = slash ? (slash == path ? "/" : rs_arena_strndup(l.A, path, (size_t)(slash - path))) : ".";
  f = rs_arena_alloc(l.A, sizeof(*f));
  f->arena = l.A;
  f->path = l.file;
  cfg_dcol_file(&l.dc, l.file);
  if(len > CFG_MAX_FILE_BYTES)
    cfg_dcol_add(&l.dc, false, l.file, 0, 0, "too large: %zu bytes (at most 8 MiB)", len);
  else if(!cfg_yaml_parse(l.T, &l.dc, l.file, data, len, &root, &empty)) {
    if(empty || !root)
      cfg_dcol_add(&l.dc, false, l.file, 0, 0, "file is empty (expected config and tests)");
    else if(!root->bad)
      load_root(&l, root, f);
  }
  nerr = l.dc.n_errors;
  cfg_dcol_finish(&l.dc, diags);
  rs_arena_free(l.T);
  if(nerr) {
    rs_arena_free(l.A);
    return (int)nerr;
  }
  *out = f;
  return 0;
}

/* A whole file (at most 8 MiB) into *data (caller frees). 0, or -1 with a diagnostic. */
static int slurp(struct cfg_dcol *dc, const char *path, const char *name, char **data, size_t *len)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  struct stat sb;
  size_t got = 0;
  *data = NULL;
  *len = 0;
  if(fd < 0 || fstat(fd, &sb) || !S_ISREG(sb.st_mode) ||
     (uint64_t)sb.st_size > CFG_MAX_FILE_BYTES) {
    cfg_dcol_add(dc, false, name, 0, 0, "cannot read: %s",
                 fd < 0 ? strerror(errno)
                        : (!S_ISREG(sb.st_mode) ? "not a regular file" : "larger than 8 MiB"));
    if(fd >= 0)
      close(fd);
    return -1;
  }
  *data = rs_xmalloc((size_t)sb.st_size + 1);
  for(;;) {
    ssize_t r = read(fd, *data + got, (size_t)sb.st_size + 1 - got);
    if(r < 0 && errno == EINTR)
      continue;
    if(r <= 0 || (got += (size_t)r) > (size_t)sb.st_size)
      break;
  }
  close(fd);
  if(got > (size_t)sb.st_size) {
    cfg_dcol_add(dc, false, name, 0, 0, "changed while being read");
    FREE_NULL(*data);
    return -1;
  }
  *len = got;
  return 0;
}

int ruletest_cfg_load(const char *path, struct ruletest_file **out, struct cfg_diags *diags)
{
  struct cfg_dcol dc;
  char *data = NULL;
  size_t len = 0;
  int rc;
  memset(&dc, 0, sizeof(dc));
  *out = NULL;
  if(slurp(&dc, path, path, &data, &len)) {
    int n = (int)dc.n_errors;
    cfg_dcol_finish(&dc, diags);
    return n;
  }
  cfg_dcol_finish(&dc, diags);
  rc = ruletest_cfg_load_buffer(path, data, len, out, diags);
  FREE_NULL(data);
  return rc;
}

void ruletest_cfg_free(struct ruletest_file *f)
{
  if(f)
    rs_arena_free(f->arena);
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool yaml_name(const char *n)
{
  size_t l = strlen(n);
  return n[0] != '.' &&
         ((l > 5 && !strcmp(n + l - 5, ".yaml")) || (l > 4 && !strcmp(n + l - 4, ".yml")));
}

int ruletest_cfg_load_plant(const struct ruletest_file *f, struct cfg **out,
                            struct cfg_diags *diags)
{
  struct cfg_dcol dc;
  struct cfg_file_buf *bufs = NULL;
  char **datas = NULL, **names = NULL;
  size_t nb = 0, nn = 0, i, cap = 0;
  char *path;
  DIR *dp;
  struct dirent *de;
  int rc;

  if(!f->n_rule_files)
    return cfg_load(f->config_dir, out, diags);
  memset(&dc, 0, sizeof(dc));
  *out = NULL;
  cap = 2 + f->n_rule_files;
  path = rs_arena_printf(f->arena, "%s/devices.d", f->config_dir);
  dp = opendir(path);
  if(dp) {
    while((de = readdir(dp))) {
      if(!yaml_name(de->d_name))
        continue;
      names = rs_xrealloc(names, (nn + 1) * sizeof(*names));
      names[nn++] = rs_xstrdup(de->d_name);
    }
    closedir(dp);
  }
  if(nn)
    qsort(names, nn, sizeof(*names), cmp_str);
  cap += nn;
  bufs = rs_xcalloc(cap, sizeof(*bufs));
  datas = rs_xcalloc(cap, sizeof(*datas));
  for(i = 0; i < 1 + nn + f->n_rule_files; i++) {
    const char *name, *full;
    size_t len;
    if(i == 0) {
      name = "restock.yaml";
      full = rs_arena_printf(f->arena, "%s/restock.yaml", f->config_dir);
    }
    else if(i <= nn) {
      name = rs_arena_printf(f->arena, "devices.d/%s", names[i - 1]);
      full = rs_arena_printf(f->arena, "%s/%s", f->config_dir, name);
    }
    else {
      const char *rf = f->rule_files[i - 1 - nn];
      const char *base = strrchr(rf, '/');
      /* the loader takes the role from the name: give the rule file rules.d/ */
      name = rs_arena_printf(f->arena, "rules.d/%02zu-%s", i - nn, base ? base + 1 : rf);
      full = rf;
    }
    if(slurp(&dc, full, i > nn ? full : name, &datas[nb], &len))
      continue;
    bufs[nb].name = name;
    bufs[nb].data = datas[nb];
    bufs[nb].len = len;
    nb++;
  }
  if(dc.n_errors) {
    rc = (int)dc.n_errors;
    cfg_dcol_finish(&dc, diags);
  }
  else {
    cfg_dcol_finish(&dc, diags);
    rc = cfg_load_buffers(f->config_dir, bufs, nb, out, diags);
  }
  for(i = 0; i < cap; i++)
    FREE_NULL(datas[i]);
  for(i = 0; i < nn; i++)
    FREE_NULL(names[i]);
  FREE_NULL(names);
  FREE_NULL(datas);
  FREE_NULL(bufs);
  return rc;
}
