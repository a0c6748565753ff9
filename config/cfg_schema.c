/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cfg_schema: the key-table walker (see cfg_schema.h), shared by the
 * gateway's config loader and restock-sim's config reader.
 */
#include "config/cfg_schema.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void cfg_kverr(const struct cfg_kctx *kc, bool warning, const struct cfg_node *n,
                      const char *path, const char *fmt, va_list ap) RS_PRINTF(5, 0);
static void cfg_kverr(const struct cfg_kctx *kc, bool warning, const struct cfg_node *n,
                      const char *path, const char *fmt, va_list ap)
{
  struct rs_buf b = {0};
  if(path && *path)
    rs_buf_printf(&b, "%s: ", path);
  rs_buf_vprintf(&b, fmt, ap);
  cfg_dcol_add(kc->dc, warning, kc->file, n ? n->line : 0, n ? n->col : 0, "%s",
               b.data ? b.data : "");
  rs_buf_free(&b);
}

void cfg_kerr(const struct cfg_kctx *kc, bool warning, const struct cfg_node *n, const char *path,
              const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  cfg_kverr(kc, warning, n, path, fmt, ap);
  va_end(ap);
}

static int err(const struct cfg_kctx *kc, const struct cfg_node *n, const char *path,
               const char *fmt, ...) RS_PRINTF(4, 5);
/* An error at n; returns -1, a checker's failure. */
static int err(const struct cfg_kctx *kc, const struct cfg_node *n, const char *path,
               const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  cfg_kverr(kc, false, n, path, fmt, ap);
  va_end(ap);
  return -1;
}

/* Store a checked value of size bytes at dst (when given); returns 0. */
static int put(void *dst, const void *v, size_t size)
{
  if(dst)
    memcpy(dst, v, size);
  return 0;
}

bool cfg_want_map(const struct cfg_kctx *kc, const struct cfg_node *n, const char *path,
                  const char *what)
{
  if(n->kind == CFG_N_MAP)
    return true;
  if(!n->bad)
    err(kc, n, path, "got %s (expected a mapping with %s)", cfg_kind_name(n), what);
  return false;
}

static struct cfg_pos pos_of(const struct cfg_kctx *kc, const struct cfg_node *n)
{
  struct cfg_pos p = {kc->file, n ? n->line : 0, n ? n->col : 0};
  return p;
}

/* Key paths are cut (never overflowed) when deeper than the buffer. */
void cfg_kpath(char *buf, size_t size, const char *parent, const char *key)
{
  if(parent && *parent)
    (void)rs_snprintf(buf, size, "%s.%s", parent, key);
  else
    (void)rs_snprintf(buf, size, "%s", key);
}

void cfg_ipath(char *buf, size_t size, const char *parent, size_t i)
{
  (void)rs_snprintf(buf, size, "%s[%zu]", parent, i);
}

const char *cfg_kind_name(const struct cfg_node *n)
{
  return n->kind == CFG_N_MAP ? "a mapping" : n->kind == CFG_N_SEQ ? "a list" : "a scalar";
}

/* "a, b, c" of a NULL-terminated token list into buf. */
static void cfg_tok_list(const char *const *tok, char *buf, size_t size)
{
  size_t o = 0;
  buf[0] = '\0';
  for(; *tok && o + 1 < size; tok++) {
    int w = snprintf(buf + o, size - o, "%s%s", o ? ", " : "", *tok);
    if(w < 0)
      break;
    o += (size_t)w;
  }
}

/* What a key of type k expects, for messages. */
static const char *expect_of(const struct ckey *k, char *buf, size_t size)
{
  switch(k->t) {
  case KT_STR:
  case KT_PATH:
  case KT_SECRET:
    return "expected a string";
  case KT_ID:
    return "expected an id like press-01";
  case KT_SKU:
    return "expected a SKU like HF-2040";
  case KT_BOOL:
    return "expected true or false";
  case KT_INT:
    return "expected an integer";
  case KT_FLOAT:
    return "expected a number";
  case KT_DUR:
    return "expected a duration like 30s, 5m or 2d12h";
  case KT_PCT:
    return "expected a percentage like 10%";
  case KT_MONEY:
    return "expected an amount like \"42.50\"";
  case KT_ENUM:
  case KT_ENUMC: {
    char list[160];
    cfg_tok_list(k->tok, list, sizeof(list));
    snprintf(buf, size, "expected one of: %s", list);
    return buf;
  }
  case KT_STRLIST:
    return "expected a list of strings";
  case KT_COND:
    return "expected a condition like days_left < lead_time_days + 3";
  case KT_KV:
  case KT_MAP:
    return "expected a mapping";
  case KT_SEQ:
    return "expected a list";
  }
  return "";
}

static void fmt_dur(int64_t ms, char *buf, size_t size)
{
  static const struct {
    const char *u;
    int64_t ms;
  } units[] = {{"w", D_W}, {"d", D_D}, {"h", D_H}, {"m", D_M}, {"s", D_S}, {"ms", 1}};
  size_t i, o = 0;
  if(ms == 0) {
    snprintf(buf, size, "0s");
    return;
  }
  buf[0] = '\0';
  for(i = 0; i < RS_ARRAY_LEN(units) && o + 1 < size; i++) {
    if(ms >= units[i].ms) {
      int w = snprintf(buf + o, size - o, "%lld%s", (long long)(ms / units[i].ms), units[i].u);
      if(w < 0)
        break;
      o += (size_t)w;
      ms %= units[i].ms;
    }
  }
}

/* ---- scalar conversion ---- */

static void store_int(void *dst, unsigned size, int64_t v)
{
  switch(size) {
  case 1: {
    int8_t x = (int8_t)v;
    memcpy(dst, &x, 1);
    break;
  }
  case 2: {
    uint16_t x = (uint16_t)v;
    memcpy(dst, &x, 2);
    break;
  }
  case 4: {
    int32_t x = (int32_t)v;
    memcpy(dst, &x, 4);
    break;
  }
  default:
    memcpy(dst, &v, 8);
    break;
  }
}

static bool is_yaml11_bool(const char *s)
{
  static const char *const words[] = {"yes", "no", "on", "off", "y", "n", "true", "false", NULL};
  char low[8];
  size_t i;
  for(i = 0; s[i] && i < sizeof(low) - 1; i++)
    low[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
  if(s[i])
    return false;
  low[i] = '\0';
  for(i = 0; words[i]; i++)
    if(!strcmp(low, words[i]))
      return true;
  return false;
}

/* Why a plain scalar is not an integer (for the message). */
static const char *int_problem(const char *s)
{
  double d;
  if(strchr(s, '_'))
    return "'_' separators are not allowed";
  if(strchr(s, ':'))
    return "sexagesimal numbers are not allowed";
  if((s[0] == '0' && s[1] >= '0' && s[1] <= '9') ||
     (s[0] == '-' && s[1] == '0' && s[2] >= '0' && s[2] <= '9'))
    return "leading zeros are not allowed, octal is not supported";
  if(s[0] == '0' && (s[1] == 'o' || s[1] == 'O' || s[1] == 'b' || s[1] == 'B'))
    return "only decimal and 0x hex integers are allowed";
  if(!rs_parse_double(s, &d))
    return "a whole number is needed";
  return NULL;
}

static bool looks_numeric(const char *s)
{
  double d;
  int64_t i;
  return !rs_parse_i64(s, true, INT64_MIN, INT64_MAX, &i) || !rs_parse_double(s, &d);
}

/* A number key's value in quotes (q, the value as quoted): the error; what it is not, and why. */
static int quoted_number(const struct cfg_kctx *kc, const struct cfg_node *v, const char *path,
                         const char *q, const char *what, const char *expected)
{
  if(looks_numeric(v->s))
    return err(kc, v, path, "%s is quoted (drop the quotes: numbers are written plain)", q);
  return err(kc, v, path, "%s is not %s (%s)", q, what, expected);
}

uint64_t cfg_fnv(uint64_t h, const void *buf, size_t n)
{
  const unsigned char *b = buf;
  size_t i;
  for(i = 0; i < n; i++) {
    h ^= b[i];
    h *= 1099511628211ull;
  }
  return h;
}

uint64_t cfg_str_hash(const void *s)
{
  return cfg_fnv(CFG_FNV_INIT, s, strlen(s));
}

bool cfg_str_eq(const void *a, const void *b)
{
  return !strcmp(a, b);
}

/* x's slot in ps (cap > 0): the member the same as x, or the empty slot where x goes. */
static size_t ptrset_slot(const struct cfg_ptrset *ps, const void *x)
{
  size_t i = (size_t)ps->hash(x) & (ps->cap - 1);
  while(ps->v[i] && !ps->eq(ps->v[i], x))
    i = (i + 1) & (ps->cap - 1);
  return i;
}

const void *cfg_ptrset_find(const struct cfg_ptrset *ps, const void *x)
{
  return ps->cap ? ps->v[ptrset_slot(ps, x)] : NULL;
}

void cfg_ptrset_add(struct cfg_ptrset *ps, const void *x)
{
  if((ps->n + 1) * 4 >= ps->cap * 3) { /* at most 3/4 full: rehash into twice the slots */
    struct cfg_ptrset old = *ps;
    size_t k;
    ps->cap = old.cap ? old.cap * 2 : 64;
    ps->v = rs_xcalloc(ps->cap, sizeof(*ps->v));
    for(k = 0; k < old.cap; k++) {
      if(old.v[k])
        ps->v[ptrset_slot(ps, old.v[k])] = old.v[k];
    }
    free(old.v);
  }
  ps->v[ptrset_slot(ps, x)] = x;
  ps->n++;
}

void cfg_ptrset_free(struct cfg_ptrset *ps)
{
  FREE_NULL(ps->v);
  ps->cap = ps->n = 0;
}

const char *cfg_intern(const struct cfg_kctx *kc, const char *s)
{
  const char *c;
  if(!kc->strs)
    return rs_arena_strdup(kc->A, s);
  if((c = cfg_ptrset_find(kc->strs, s)))
    return c;
  c = rs_arena_strdup(kc->A, s);
  cfg_ptrset_add(kc->strs, c);
  return c;
}

static const char *resolve_path(const struct cfg_kctx *kc, const char *p)
{
  if(p[0] == '/')
    return rs_arena_strdup(kc->A, p);
  return rs_arena_printf(kc->A, "%s/%s", kc->absdir, p);
}

/* A secret must exist, be a readable file and not be world-readable. */
static int check_secret(const struct cfg_kctx *kc, const struct cfg_node *v, const char *path,
                        const char *full)
{
  struct stat st;
  char q[96];
  int fd;
  cfg_quote_value(v->s, v->len, q, sizeof(q));
  if(stat(full, &st))
    return err(kc, v, path, "cannot read %s: %s (expected a secret file)", q, strerror(errno));
  if(!S_ISREG(st.st_mode))
    return err(kc, v, path, "%s is not a regular file (expected a secret file)", q);
  if(st.st_mode & S_IROTH)
    return err(kc, v, path, "%s is world-readable (secrets must not be: chmod o-r it)", q);
  fd = open(full, O_RDONLY | O_CLOEXEC);
  if(fd < 0)
    return err(kc, v, path, "cannot read %s: %s (expected a secret file)", q, strerror(errno));
  close(fd);
  return 0;
}

/*
 * Convert value node v for key k into obj. Reports the problem and returns
 * -1 when the value is not acceptable (obj untouched then).
 */
int cfg_conv(const struct cfg_kctx *kc, const struct cfg_node *v, const char *path, const struct ckey *k,
                void *obj)
{
  char ebuf[200], q[96];
  char *dst = k->off == CFG_KNONE ? NULL : (char *)obj + k->off;
  const char *exp = expect_of(k, ebuf, sizeof(ebuf));

  if(v->bad)
    return -1;
  if(k->t == KT_MAP || k->t == KT_KV || k->t == KT_SEQ || k->t == KT_STRLIST) {
    enum cfg_nkind want = (k->t == KT_MAP || k->t == KT_KV) ? CFG_N_MAP : CFG_N_SEQ;
    if(v->kind == want)
      return 0;
    if(v->kind != CFG_N_SCALAR)
      err(kc, v, path, "got %s (%s)", cfg_kind_name(v), exp);
    else if(cfg_node_is_null(v))
      err(kc, v, path, "got an empty value (%s)", exp);
    else {
      cfg_quote_value(v->s, v->len, q, sizeof(q));
      err(kc, v, path, "got the scalar %s (%s)", q, exp);
    }
    return -1;
  }
  if(v->kind != CFG_N_SCALAR)
    return err(kc, v, path, "got %s (%s)", cfg_kind_name(v), exp);
  cfg_quote_value(v->s, v->len, q, sizeof(q));
  if(strlen(v->s) != v->len)
    return err(kc, v, path, "contains a NUL character (%s)", exp);
  if(cfg_node_is_null(v))
    return err(kc, v, path, "empty value (%s)", exp);
  switch(k->t) {
  case KT_COND:
    return 0; /* compiled by the caller */
  case KT_STR:
  case KT_PATH:
  case KT_SECRET:
    if(!v->len)
      return err(kc, v, path, "empty string (%s)", exp);
    if(k->t == KT_SECRET) {
      const char *full = resolve_path(kc, v->s);
      if(check_secret(kc, v, path, full))
        return -1;
      return put(dst, &full, sizeof(full));
    }
    if(dst) {
      const char *s = k->t == KT_PATH ? resolve_path(kc, v->s) : cfg_intern(kc, v->s);
      memcpy(dst, &s, sizeof(s));
    }
    return 0;
  case KT_ID:
  case KT_SKU: {
    bool ok = k->t == KT_ID ? cfg_valid_id(v->s) : cfg_valid_sku(v->s);
    if(!ok) {
      if(k->t == KT_ID)
        err(kc, v, path,
            "%s is not a valid id (expected 1 to 64 of a-z 0-9 _ . -, starting with a letter or "
            "digit)",
            q);
      else
        err(kc, v, path,
            "%s is not a valid SKU (expected 1 to 64 of A-Z a-z 0-9 . _ / # + -, starting with a "
            "letter or digit)",
            q);
      return -1;
    }
    if(dst) {
      const char *s = cfg_intern(kc, v->s);
      memcpy(dst, &s, sizeof(s));
    }
    return 0;
  }
  case KT_BOOL: {
    bool b;
    if(!v->quoted && !strcmp(v->s, "true"))
      b = true;
    else if(!v->quoted && !strcmp(v->s, "false"))
      b = false;
    else {
      if(v->quoted && (!strcmp(v->s, "true") || !strcmp(v->s, "false")))
        err(kc, v, path, "%s is quoted (expected true or false without quotes)", q);
      else if(is_yaml11_bool(v->s))
        err(kc, v, path,
            "%s is not a boolean (expected true or false; yes, no, on, off and capitalised "
            "forms are not accepted)",
            q);
      else
        err(kc, v, path, "%s is not a boolean (expected true or false)", q);
      return -1;
    }
    return put(dst, &b, sizeof(b));
  }
  case KT_INT: {
    int64_t i;
    if(v->quoted)
      return quoted_number(kc, v, path, q, "an integer", exp);
    if(rs_parse_i64(v->s, true, INT64_MIN, INT64_MAX, &i)) {
      const char *why = int_problem(v->s);
      if(why)
        err(kc, v, path, "%s is not an integer: %s (expected a decimal or 0x hex integer)", q,
            why);
      else
        err(kc, v, path, "%s is not an integer (expected a decimal or 0x hex integer)", q);
      return -1;
    }
    if(i < k->min || i > k->max)
      return err(kc, v, path, "%s is out of range (expected %lld to %lld)", q, (long long)k->min,
                 (long long)k->max);
    if(dst)
      store_int(dst, k->size, i);
    return 0;
  }
  case KT_FLOAT: {
    double d;
    if(v->quoted)
      return quoted_number(kc, v, path, q, "a number",
                           "expected a decimal number like 0.5 or 1e-3");
    if(rs_parse_double(v->s, &d))
      return err(kc, v, path, "%s is not a number (expected a decimal number like 0.5 or 1e-3)", q);
    return put(dst, &d, sizeof(d));
  }
  case KT_DUR: {
    int64_t ms;
    char why[160], lim[48];
    if(cfg_parse_duration(v->s, &ms, why, sizeof(why)))
      return err(kc, v, path, "%s is not a duration: %s", q, why);
    if(ms < k->min) {
      fmt_dur(k->min, lim, sizeof(lim));
      return err(kc, v, path, "%s is too short (expected at least %s)", q, lim);
    }
    if(ms > k->max) {
      fmt_dur(k->max, lim, sizeof(lim));
      return err(kc, v, path, "%s is too long (expected at most %s)", q, lim);
    }
    return put(dst, &ms, sizeof(ms));
  }
  case KT_PCT: {
    double f;
    char why[160];
    if(cfg_parse_percent(v->s, &f, why, sizeof(why)))
      return err(kc, v, path, "%s %s", q, why);
    return put(dst, &f, sizeof(f));
  }
  case KT_MONEY: {
    int nd;
    char why[160];
    struct cfg_money m;
    if(cfg_money_syntax(v->s, &nd, why, sizeof(why)))
      return err(kc, v, path, "%s is not an amount: %s", q, why);
    memset(&m, 0, sizeof(m));
    m.set = true;
    m.text = rs_arena_strdup(kc->A, v->s);
    m.pos = pos_of(kc, v);
    return put(dst, &m, sizeof(m));
  }
  case KT_ENUM:
  case KT_ENUMC: {
    size_t i;
    for(i = 0; k->tok[i]; i++)
      if(!strcmp(k->tok[i], v->s))
        break;
    if(!k->tok[i]) {
      const char *dym = rs_did_you_mean(v->s, k->tok);
      if(dym)
        err(kc, v, path, "%s is not valid (did you mean '%s'?)", q, dym);
      else
        err(kc, v, path, "%s is not valid (%s)", q, exp);
      return -1;
    }
    if(dst) {
      if(k->t == KT_ENUMC)
        *dst = k->tok[i][0];
      else
        store_int(dst, k->size ? k->size : 4, k->min + (int64_t)i);
    }
    return 0;
  }
  default:
    break;
  }
  return 0;
}

/* Apply a default written as in YAML (tables hold only valid ones). */
static void apply_default(const struct cfg_kctx *kc, const struct ckey *k, void *obj)
{
  struct cfg_node n;
  memset(&n, 0, sizeof(n));
  n.kind = CFG_N_SCALAR;
  n.s = k->def;
  n.len = strlen(k->def);
  (void)cfg_conv(kc, &n, "(default)", k, obj);
}

/* A list of strings (KT_STRLIST) into a const char ** and its count. */
static void conv_strlist(const struct cfg_kctx *kc, const struct cfg_node *v, const char *path,
                         const struct ckey *k, void *obj)
{
  static const struct ckey item = {"", KT_STR, 0, 0, false, 0, 0, NULL, NULL, 0};
  const char **arr = rs_arena_alloc(kc->A, (v->n ? v->n : 1) * sizeof(*arr));
  size_t i, n = 0;
  char p[256];
  for(i = 0; i < v->n; i++) {
    const char *s = NULL;
    cfg_ipath(p, sizeof(p), path, i);
    if(!cfg_conv(kc, v->kids[i], p, &item, &s))
      arr[n++] = s;
  }
  memcpy((char *)obj + k->off, &arr, sizeof(arr));
  memcpy((char *)obj + k->off2, &n, sizeof(n));
}

/* A mapping of string to string (KT_KV) into cfg_kv pairs and a count. */
static void conv_kv(const struct cfg_kctx *kc, const struct cfg_node *v, const char *path,
                    const struct ckey *k, void *obj)
{
  static const struct ckey item = {"", KT_STR, 0, 0, false, 0, 0, NULL, NULL, 0};
  struct cfg_kv *arr = rs_arena_alloc(kc->A, (v->n ? v->n : 1) * sizeof(*arr));
  size_t i, n = 0;
  char p[256];
  for(i = 0; i < v->n; i++) {
    const struct cfg_node *key = v->kids[2 * i], *val = v->kids[2 * i + 1];
    const char *s = NULL;
    if(key->skip)
      continue;
    cfg_kpath(p, sizeof(p), path, key->s);
    if(!cfg_conv(kc, val, p, &item, &s)) {
      arr[n].key = cfg_intern(kc, key->s); /* interned: equal labels share (share_spec) */
      arr[n].value = s;
      n++;
    }
  }
  memcpy((char *)obj + k->off, &arr, sizeof(arr));
  memcpy((char *)obj + k->off2, &n, sizeof(n));
}

/* The names of keys, then of extra (NULL-terminated, or NULL), NULL-terminated, in kc->T. */
static const char *const *key_names(const struct cfg_kctx *kc, const struct ckey *keys, size_t nk,
                                    const char *const *extra)
{
  size_t i, ne = 0;
  const char **names;
  while(extra && extra[ne])
    ne++;
  names = rs_arena_alloc(kc->T, (nk + ne + 1) * sizeof(*names));
  for(i = 0; i < nk; i++)
    names[i] = keys[i].name;
  for(i = 0; i < ne; i++)
    names[nk + i] = extra[i];
  names[nk + ne] = NULL;
  return names;
}

/*
 * Walk mapping `map` at `path` against keys: unknown keys are errors (with a
 * hint from alt tables or did-you-mean), each known value is converted into
 * obj, missing required keys are errors at the mapping, defaults fill the
 * rest. w records what was found.
 */
void cfg_walk_map(const struct cfg_kctx *kc, const struct cfg_node *map, const char *path,
                     const struct ckey *keys, size_t nk, void *obj, struct walk *w,
                     const struct calt *alts, size_t nalt)
{
  cfg_walk_map_extra(kc, map, path, keys, nk, obj, w, alts, nalt, NULL);
}

void cfg_walk_map_extra(const struct cfg_kctx *kc, const struct cfg_node *map, const char *path,
                        const struct ckey *keys, size_t nk, void *obj, struct walk *w,
                        const struct calt *alts, size_t nalt, const char *const *extra)
{
  size_t i, j;
  char p[256];
  memset(w, 0, sizeof(*w));
  w->keys = keys;
  w->n = nk;
  for(i = 0; i < map->n; i++) {
    const struct cfg_node *key = map->kids[2 * i], *val = map->kids[2 * i + 1];
    if(key->skip)
      continue;
    for(j = 0; j < nk; j++)
      if(!strcmp(keys[j].name, key->s))
        break;
    cfg_kpath(p, sizeof(p), path, key->s);
    if(j == nk) {
      const char *label = NULL, *dym;
      size_t a, b;
      for(a = 0; a < nalt && !label; a++)
        for(b = 0; b < alts[a].n; b++)
          if(!strcmp(alts[a].k[b].name, key->s))
            label = alts[a].label;
      if(label) {
        err(kc, key, p, "unknown key here (%s)", label);
        continue;
      }
      dym = strlen(key->s) <= 64 ? rs_did_you_mean(key->s, key_names(kc, keys, nk, extra)) : NULL;
      if(dym) {
        err(kc, key, p, "unknown key (did you mean '%s'?)", dym);
      }
      else {
        char list[400];
        cfg_tok_list(key_names(kc, keys, nk, extra), list, sizeof(list));
        err(kc, key, p, "unknown key (expected one of: %s)", list);
      }
      continue;
    }
    w->k[j] = key;
    w->v[j] = val;
    if(cfg_conv(kc, val, p, &keys[j], obj))
      continue;
    w->ok[j] = true;
    if(keys[j].off != CFG_KNONE && keys[j].t == KT_STRLIST)
      conv_strlist(kc, val, p, &keys[j], obj);
    else if(keys[j].off != CFG_KNONE && keys[j].t == KT_KV)
      conv_kv(kc, val, p, &keys[j], obj);
  }
  for(j = 0; j < nk; j++) {
    if(w->k[j])
      continue;
    if(keys[j].req) {
      cfg_kpath(p, sizeof(p), path, keys[j].name);
      err(kc, map, p, "required key is missing");
    }
    else if(keys[j].def && keys[j].off != CFG_KNONE) {
      apply_default(kc, &keys[j], obj);
    }
  }
}

/* The index of key `name` in a walk's table; w->n when it has none. */
static size_t windex(const struct walk *w, const char *name)
{
  size_t j;
  for(j = 0; j < w->n; j++)
    if(!strcmp(w->keys[j].name, name))
      break;
  return j;
}

/* The value found for key `name` in a walk, if it was there. */
const struct cfg_node *cfg_wv(const struct walk *w, const char *name)
{
  size_t j = windex(w, name);
  return j < w->n ? w->v[j] : NULL;
}

/* Usable container value: present, of the right kind, not reported bad. */
const struct cfg_node *cfg_wc(const struct walk *w, const char *name, enum cfg_nkind kind)
{
  const struct cfg_node *v = cfg_wv(w, name);
  return v && v->kind == kind && !v->bad ? v : NULL;
}

/* Whether key `name` was given and its value was accepted. */
bool cfg_wok(const struct walk *w, const char *name)
{
  size_t j = windex(w, name);
  return j < w->n && w->ok[j];
}

const struct cfg_node *cfg_wkey(const struct walk *w, const char *name)
{
  size_t j = windex(w, name);
  return j < w->n ? w->k[j] : NULL;
}
