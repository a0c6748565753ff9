/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cfg_values: diagnostics collection and the checked value parsers shared by
 * the loader and the rest of restock — durations, percentages, money (never
 * through a float), ISO 4217 decimals, id and SKU syntax.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg_internal.h"

/* ---- diagnostics ---- */

void cfg_dcol_file(struct cfg_dcol *dc, const char *file)
{
  size_t i;
  for(i = 0; i < dc->n_files; i++)
    if(!strcmp(dc->files[i], file))
      return;
  if(dc->n_files >= dc->cap_files) {
    dc->cap_files = dc->cap_files ? dc->cap_files * 2 : 16;
    dc->files = rs_xrealloc(dc->files, dc->cap_files * sizeof(*dc->files));
  }
  dc->files[dc->n_files++] = rs_xstrdup(file);
}

static int file_index(struct cfg_dcol *dc, const char *file)
{
  size_t i;
  for(i = 0; i < dc->n_files; i++)
    if(!strcmp(dc->files[i], file))
      return (int)i;
  cfg_dcol_file(dc, file);
  return (int)dc->n_files - 1;
}

static void cfg_dcol_vadd(struct cfg_dcol *dc, bool warning, const char *file, int line, int col,
                          const char *fmt, va_list ap) RS_PRINTF(6, 0);
static void cfg_dcol_vadd(struct cfg_dcol *dc, bool warning, const char *file, int line, int col,
                          const char *fmt, va_list ap)
{
  struct rs_buf b = {0};
  struct cfg_ldiag *d;
  if(dc->n >= dc->cap) {
    dc->cap = dc->cap ? dc->cap * 2 : 32;
    dc->v = rs_xrealloc(dc->v, dc->cap * sizeof(*dc->v));
  }
  if(line > 0)
    rs_buf_printf(&b, "%s:%d:%d: ", file, line, col);
  else
    rs_buf_printf(&b, "%s: ", file);
  rs_buf_vprintf(&b, fmt, ap);
  if(b.oom || !b.data) {
    rs_buf_free(&b);
    b.data = rs_xstrdup("out of memory formatting a message");
  }
  d = &dc->v[dc->n];
  d->file_idx = file_index(dc, file);
  d->line = line;
  d->col = col;
  d->seq = dc->next_seq++;
  d->warning = warning;
  d->provisional = dc->provisional;
  d->text = b.data;
  dc->n++;
  if(!warning)
    dc->n_errors++;
}

void cfg_dcol_add(struct cfg_dcol *dc, bool warning, const char *file, int line, int col,
                  const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  cfg_dcol_vadd(dc, warning, file, line, col, fmt, ap);
  va_end(ap);
}

void cfg_dcol_settle(struct cfg_dcol *dc, bool keep)
{
  size_t i, o = 0;
  for(i = 0; i < dc->n; i++) {
    struct cfg_ldiag *d = &dc->v[i];
    if(d->provisional && !keep) {
      if(!d->warning)
        dc->n_errors--;
      free(d->text);
      continue;
    }
    d->provisional = false;
    dc->v[o++] = *d;
  }
  dc->n = o;
}

static int cmp_ldiag(const void *pa, const void *pb)
{
  const struct cfg_ldiag *a = pa, *b = pb;
  if(a->file_idx != b->file_idx)
    return a->file_idx < b->file_idx ? -1 : 1;
  if(a->line != b->line)
    return a->line < b->line ? -1 : 1;
  if(a->col != b->col)
    return a->col < b->col ? -1 : 1;
  return a->seq < b->seq ? -1 : (a->seq > b->seq);
}

void cfg_dcol_finish(struct cfg_dcol *dc, struct cfg_diags *out)
{
  size_t i;
  if(dc->n)
    qsort(dc->v, dc->n, sizeof(*dc->v), cmp_ldiag);
  if(dc->n) {
    out->v = rs_xrealloc(out->v, (out->n + dc->n) * sizeof(*out->v));
    for(i = 0; i < dc->n; i++) {
      out->v[out->n].warning = dc->v[i].warning;
      out->v[out->n].text = dc->v[i].text;
      out->n++;
    }
  }
  out->n_errors += dc->n_errors;
  for(i = 0; i < dc->n_files; i++)
    free((void *)dc->files[i]);
  FREE_NULL(dc->files);
  FREE_NULL(dc->v);
  dc->n = dc->cap = dc->n_files = dc->cap_files = dc->n_errors = dc->next_seq = 0;
}

void cfg_quote_value(const char *s, size_t len, char *buf, size_t size)
{
  size_t i, o = 0, max = 60;
  if(size < 8) {
    if(size)
      buf[0] = '\0';
    return;
  }
  buf[o++] = '\'';
  for(i = 0; i < len && i < max && o + 5 < size; i++) {
    unsigned char c = (unsigned char)s[i];
    buf[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
  }
  if(i < len && o + 5 < size) {
    buf[o++] = '.';
    buf[o++] = '.';
    buf[o++] = '.';
  }
  buf[o++] = '\'';
  buf[o] = '\0';
}

bool cfg_node_is_null(const struct cfg_node *n)
{
  if(n->kind != CFG_N_SCALAR || n->quoted || n->style == 4 || n->style == 5)
    return false;
  return n->len == 0 || !strcmp(n->s, "~") || !strcmp(n->s, "null") || !strcmp(n->s, "Null") ||
         !strcmp(n->s, "NULL");
}

static bool id_char(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

bool cfg_valid_id(const char *s)
{
  size_t i;
  if(!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
    return false;
  for(i = 1; s[i]; i++)
    if(i >= CFG_ID_MAX || !id_char(s[i]))
      return false;
  return true;
}

static bool alnum(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool cfg_valid_sku(const char *s)
{
  size_t i;
  if(!alnum(s[0]))
    return false;
  for(i = 1; s[i]; i++)
    if(i >= CFG_ID_MAX || !(alnum(s[i]) || strchr("._/#+-", s[i])))
      return false;
  return true;
}

/* ---- durations ---- */

/* Put msg into err (when given); returns -1, the parsers' failure. */
static int seterr(char *err, size_t errlen, const char *msg)
{
  if(err && errlen)
    snprintf(err, errlen, "%s", msg);
  return -1;
}

/*
 * One or more <integer><unit>, units ms s m h d w, largest first, each at
 * most once ("2d12h", "90m", "500ms"). Returns 0 with *out_ms, or -1 and a
 * reason (without the value) in err.
 */
/* Duration units; "ms" before "m" so that the parser tries the longer one first. */
static const struct {
  const char *u;
  int64_t ms;
} units[] = {{"w", 604800000}, {"d", 86400000}, {"h", 3600000},
             {"ms", 1},        {"m", 60000},    {"s", 1000}};
/* rank: position in largest-first order (ms is the smallest) */
static const int rank[] = {0, 1, 2, 5, 3, 4};

/* The index in units[] of the unit of rank k (0: weeks ... 5: ms). */
static size_t unit_of_rank(int k)
{
  size_t i;
  for(i = 0; i < RS_ARRAY_LEN(units) - 1 && rank[i] != k; i++)
    ;
  return i;
}

void cfg_format_duration(int64_t ms, char *buf, size_t size)
{
  int k;
  for(k = 0; k < (int)RS_ARRAY_LEN(rank); k++) {
    size_t i = unit_of_rank(k);
    if(ms > 0 && ms % units[i].ms == 0) {
      (void)rs_snprintf(buf, size, "%" PRId64 "%s", ms / units[i].ms, units[i].u);
      return;
    }
  }
  (void)rs_snprintf(buf, size, "%" PRId64 "ms", ms);
}

void cfg_format_span(int64_t ms, char *buf, size_t size)
{
  struct rs_buf b = {0};
  int k;
  if(ms == 0) {
    (void)rs_strlcpy(buf, "0s", size);
    return;
  }
  if(ms < 0) {
    rs_buf_puts(&b, "-");
    ms = ms == INT64_MIN ? INT64_MAX : -ms;
  }
  for(k = 1; k < (int)RS_ARRAY_LEN(rank); k++) { /* days and below: no weeks */
    size_t i = unit_of_rank(k);
    if(ms >= units[i].ms) {
      rs_buf_printf(&b, "%" PRId64 "%s", ms / units[i].ms, units[i].u);
      ms %= units[i].ms;
    }
  }
  (void)rs_strlcpy(buf, b.data ? b.data : "?", size);
  rs_buf_free(&b);
}

int cfg_parse_duration(const char *s, int64_t *out_ms, char *err, size_t errlen)
{
  const char *p = s;
  int64_t total = 0;
  int last_rank = -1;

  if(!s || !*s)

    return seterr(err, errlen, "empty (expected a duration like 30s, 5m or 2d12h)");
  if(*p == '-')
    return seterr(err, errlen, "negative (expected a duration like 30s, 5m or 2d12h)");
  while(*p) {
    int64_t v = 0;
    size_t i, nd = 0;
    const char *digits = p;
    while(*p >= '0' && *p <= '9') {
      if(v > (INT64_MAX - 9) / 10)
        return seterr(err, errlen, "too large");
      v = v * 10 + (*p - '0');
      p++;
      nd++;
    }
    if(!nd)
      return seterr(err, errlen, "expected a number before each unit (like 30s, 5m or 2d12h)");
    if(*p == '.' || *p == ',')
      return seterr(err, errlen, "fractions are not allowed (write whole units like 1h30m)");
    if(nd > 1 && digits[0] == '0')
      return seterr(err, errlen, "leading zeros are not allowed (like 30s, 5m or 2d12h)");
    if(!*p)
      return seterr(err, errlen,
                    "no unit (expected a duration like 30s, 5m or 2d12h; units ms, s, m, "
                    "h, d, w)");
    for(i = 0; i < RS_ARRAY_LEN(units); i++) {
      size_t ul = strlen(units[i].u);
      if(!strncmp(p, units[i].u, ul) && !(ul == 1 && units[i].u[0] == 'm' && p[1] == 's'))
        break;
    }
    if(i == RS_ARRAY_LEN(units)) {
      char msg[96];
      snprintf(msg, sizeof(msg), "unknown unit '%.8s' (expected ms, s, m, h, d or w)", p);
      return seterr(err, errlen, msg);
    }
    if(rank[i] <= last_rank)
      return seterr(err, errlen, "units must go from largest to smallest, each once (like 2d12h)");
    last_rank = rank[i];
    if(v > (INT64_MAX - total) / units[i].ms)
      return seterr(err, errlen, "too large");
    total += v * units[i].ms;
    p += strlen(units[i].u);
  }
  *out_ms = total;
  return 0;
}

/* ---- percentages ---- */

int cfg_parse_percent(const char *s, double *out_fraction, char *err, size_t errlen)
{
  size_t len = s ? strlen(s) : 0;
  char num[64];
  double v;
  if(!len)
    return seterr(err, errlen, "is empty (expected a percentage like 10%)");
  if(s[len - 1] != '%')
    return seterr(err, errlen, "has no '%' sign (expected a percentage like 10%)");
  if(len - 1 >= sizeof(num) || len == 1)
    return seterr(err, errlen, "is not a number (expected a percentage like 10%)");
  memcpy(num, s, len - 1);
  num[len - 1] = '\0';
  if(strchr(num, 'e') || strchr(num, 'E') || num[0] == '+' || rs_parse_double(num, &v))
    return seterr(err, errlen, "is not a number (expected a percentage like 10%)");
  if(v < 0 || v > 100)
    return seterr(err, errlen, "is out of range (expected 0% to 100%)");
  *out_fraction = v / 100.0;
  return 0;
}

/* ---- money ---- */

/*
 * Check the shape of an amount: digits, optionally '.' and digits. Returns
 * 0 with the number of decimals written, or -1 with a reason in err.
 */
int cfg_money_syntax(const char *s, int *decimals, char *err, size_t errlen)
{
  const char *p = s;
  size_t nint = 0, nfrac = 0;
  if(!s || !*s)
    return seterr(err, errlen, "empty (expected an amount like \"42.50\")");
  if(*p == '-')
    return seterr(err, errlen, "negative (expected an amount of 0 or more)");
  while(*p >= '0' && *p <= '9') {
    p++;
    nint++;
  }
  if(*p == '.') {
    p++;
    while(*p >= '0' && *p <= '9') {
      p++;
      nfrac++;
    }
    if(!nfrac)
      nint = 0;
  }
  if(*p || !nint)
    return seterr(err, errlen, "not an amount (expected a decimal like \"42.50\")");
  if(nint > 1 && s[0] == '0')
    return seterr(err, errlen, "leading zeros are not allowed (expected a decimal like \"42.50\")");
  if(nint > 15 || nfrac > 15)
    return seterr(err, errlen, "too large");
  *decimals = (int)nfrac;
  return 0;
}

int cfg_parse_money(const char *s, int decimals, int64_t *out_minor, char *err, size_t errlen)
{
  int nd, i;
  int64_t v = 0;
  const char *p;
  if(cfg_money_syntax(s, &nd, err, errlen))
    return -1;
  if(decimals < 0 || decimals > 6)
    return seterr(err, errlen, "unknown currency decimals");
  if(nd > decimals) {
    char msg[96];
    snprintf(msg, sizeof(msg), "%d decimals (expected at most %d)", nd, decimals);
    return seterr(err, errlen, msg);
  }
  for(p = s; *p; p++)
    if(*p != '.')
      v = v * 10 + (*p - '0');
  for(i = nd; i < decimals; i++)
    v *= 10;
  *out_minor = v;
  return 0;
}

void cfg_format_money(int64_t minor, int decimals, char *buf, size_t size)
{
  uint64_t m = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
  uint64_t div = 1;
  char frac[24];
  int i;
  if(decimals <= 0 || decimals > 18) {
    snprintf(buf, size, "%s%llu", minor < 0 ? "-" : "", (unsigned long long)m);
    return;
  }
  for(i = 0; i < decimals; i++)
    div *= 10;
  /* the fraction, zero-padded to `decimals` digits */
  {
    uint64_t f = m % div;
    for(i = decimals - 1; i >= 0; i--) {
      frac[i] = (char)('0' + f % 10);
      f /= 10;
    }
    frac[decimals] = '\0';
  }
  snprintf(buf, size, "%s%llu.%s", minor < 0 ? "-" : "", (unsigned long long)(m / div), frac);
}

void cfg_format_money_in(const char *currency, int64_t minor, char *buf, size_t size)
{
  int dec = cfg_currency_decimals(currency);
  cfg_format_money(minor, dec < 0 ? 2 : dec, buf, size);
}

/* ISO 4217 codes in use and their minor-unit decimals (sorted by code). */
static const struct {
  const char code[4];
  int decimals;
} currencies[] = {
  {"AED", 2}, {"ARS", 2}, {"AUD", 2}, {"BGN", 2}, {"BHD", 3}, {"BIF", 0}, {"BRL", 2},
  {"CAD", 2}, {"CHF", 2}, {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"CZK", 2}, {"DJF", 0},
  {"DKK", 2}, {"EGP", 2}, {"EUR", 2}, {"GBP", 2}, {"GNF", 0}, {"HKD", 2}, {"HUF", 2},
  {"IDR", 2}, {"ILS", 2}, {"INR", 2}, {"IQD", 3}, {"ISK", 0}, {"JOD", 3}, {"JPY", 0},
  {"KES", 2}, {"KMF", 0}, {"KRW", 0}, {"KWD", 3}, {"LYD", 3}, {"MAD", 2}, {"MXN", 2},
  {"MYR", 2}, {"NGN", 2}, {"NOK", 2}, {"NZD", 2}, {"OMR", 3}, {"PEN", 2}, {"PHP", 2},
  {"PKR", 2}, {"PLN", 2}, {"PYG", 0}, {"QAR", 2}, {"RON", 2}, {"RSD", 2}, {"RWF", 0},
  {"SAR", 2}, {"SEK", 2}, {"SGD", 2}, {"THB", 2}, {"TND", 3}, {"TRY", 2}, {"TWD", 2},
  {"UAH", 2}, {"UGX", 0}, {"USD", 2}, {"UYU", 2}, {"VND", 0}, {"VUV", 0}, {"XAF", 0},
  {"XOF", 0}, {"XPF", 0}, {"ZAR", 2},
};

int cfg_currency_decimals(const char *code)
{
  size_t i;
  if(!code)
    return -1;
  for(i = 0; i < RS_ARRAY_LEN(currencies); i++)
    if(!strcmp(currencies[i].code, code))
      return currencies[i].decimals;
  return -1;
}

const char *cfg_currency_suggest(const char *code)
{
  const char *cands[RS_ARRAY_LEN(currencies) + 1];
  size_t i;
  char up[8];
  for(i = 0; i < RS_ARRAY_LEN(currencies); i++)
    cands[i] = currencies[i].code;
  cands[i] = NULL;
  /* "eur" is most likely EUR */
  for(i = 0; code[i] && i < sizeof(up) - 1; i++)
    up[i] = (code[i] >= 'a' && code[i] <= 'z') ? (char)(code[i] - 32) : code[i];
  up[i] = '\0';
  if(strcmp(up, code) && cfg_currency_decimals(up) >= 0) {
    for(i = 0; i < RS_ARRAY_LEN(currencies); i++)
      if(!strcmp(currencies[i].code, up))
        return currencies[i].code;
  }
  return rs_did_you_mean(code, cands);
}

unsigned cfg_vtype_width(enum cfg_vtype t)
{
  switch(t) {
  case CFG_VT_BOOL:
  case CFG_VT_INT16:
  case CFG_VT_UINT16:
    return 1;
  case CFG_VT_INT32:
  case CFG_VT_UINT32:
  case CFG_VT_FLOAT32:
    return 2;
  case CFG_VT_INT64:
  case CFG_VT_UINT64:
  case CFG_VT_FLOAT64:
    return 4;
  }
  return 1;
}
