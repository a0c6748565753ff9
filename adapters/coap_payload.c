/* SPDX-License-Identifier: Apache-2.0 */
#include "adapters/coap_payload.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_util.h"

/* Longest excerpt of foreign text quoted in a message, in bytes of input. */
#define EXCERPT_MAX 24
/* Record names listed when a SenML name is not found. */
#define NAMES_LISTED 4

/*
 * A quotable excerpt of s[0..len-1] into buf: at most EXCERPT_MAX input
 * bytes, printable ASCII as is ('\'' and '\\' escaped), the rest as \xNN,
 * and "…" when cut. buf needs 4 * EXCERPT_MAX + 4 bytes.
 */
static void excerpt(const char *s, size_t len, char *buf, size_t size)
{
  size_t i, o = 0;
  size_t n = len > EXCERPT_MAX ? EXCERPT_MAX : len;

  buf[0] = '\0';
  for(i = 0; i < n && o + 5 < size; i++) {
    unsigned char c = (unsigned char)s[i];

    if(c == '\'' || c == '\\') {
      buf[o++] = '\\';
      buf[o++] = (char)c;
    }
    else if(c >= 0x20 && c < 0x7f)
      buf[o++] = (char)c;
    else
      o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
  }
  buf[o] = '\0';
  if(len > n && o + 4 <= size)
    memcpy(buf + o, "\xe2\x80\xa6", 4); /* U+2026 HORIZONTAL ELLIPSIS */
}

#define EXCERPT_BUF (4 * EXCERPT_MAX + 4)

static bool is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

/*
 * s (NUL-terminated, no NUL inside) as a number: -?digits -> exact integer
 * (uint64 above INT64_MAX; a double beyond that), otherwise a decimal with
 * optional sign, fraction and exponent -> double. A leading '+' is taken.
 * Returns 0, -1 when s is not shaped like a number, -2 when it is out of
 * double range.
 */
static int parse_number(const char *s, struct codec_value *out)
{
  const char *p = s;
  bool digits = false, integral = true, neg = false;
  char *end;
  double d;

  if(*p == '-' || *p == '+') {
    neg = *p == '-';
    p++;
  }
  while(is_digit(*p)) {
    p++;
    digits = true;
  }
  if(*p == '.') {
    integral = false;
    p++;
    while(is_digit(*p)) {
      p++;
      digits = true;
    }
  }
  if(!digits)
    return -1;
  if(*p == 'e' || *p == 'E') {
    integral = false;
    p++;
    if(*p == '-' || *p == '+')
      p++;
    if(!is_digit(*p))
      return -1;
    while(is_digit(*p))
      p++;
  }
  if(*p)
    return -1;
  if(integral) {
    errno = 0;
    if(neg) {
      long long v = strtoll(s, &end, 10);

      if(!errno && !*end) {
        out->kind = CODEC_V_INT;
        out->v.i = v;
        return 0;
      }
    }
    else {
      unsigned long long v = strtoull(s, &end, 10);

      if(!errno && !*end) {
        if(v <= (unsigned long long)INT64_MAX) {
          out->kind = CODEC_V_INT;
          out->v.i = (int64_t)v;
        }
        else {
          out->kind = CODEC_V_UINT;
          out->v.u = v;
        }
        return 0;
      }
    }
    /* Too long for 64 bits: fall through to a double. */
  }
  errno = 0;
  d = strtod(s, &end);
  if(*end)
    return -1;
  if(!isfinite(d))
    return -2;
  out->kind = CODEC_V_DOUBLE;
  out->v.d = d;
  return 0;
}

static enum codec_err decode_text(const char *buf, size_t len, struct codec_value *out,
                                  char *err, size_t errlen)
{
  const char *s = buf, *e = buf + len;
  char *num = NULL;
  char ex[EXCERPT_BUF];
  enum codec_err rc = CODEC_OK;
  int prc;

  while(s < e && is_space(*s))
    s++;
  while(e > s && is_space(e[-1]))
    e--;
  if(s == e) {
    (void)rs_snprintf(err, errlen, "payload is %s, not a number", len ? "only whitespace" : "empty");
    return CODEC_NOT_NUMBER;
  }
  if(memchr(s, '\0', (size_t)(e - s)))
    prc = -1;
  else {
    num = rs_xmalloc((size_t)(e - s) + 1);
    memcpy(num, s, (size_t)(e - s));
    num[e - s] = '\0';
    prc = parse_number(num, out);
  }
  if(prc) {
    excerpt(s, (size_t)(e - s), ex, sizeof(ex));
    if(prc == -2) {
      (void)rs_snprintf(err, errlen, "payload number is out of range: '%s'", ex);
      rc = CODEC_MALFORMED;
    }
    else {
      (void)rs_snprintf(err, errlen, "payload is not a number: '%s'", ex);
      rc = CODEC_NOT_NUMBER;
    }
  }
  FREE_NULL(num);
  return rc;
}

static const char *json_kind(const json_t *j)
{
  switch(json_typeof(j)) {
  case JSON_OBJECT:
    return "an object";
  case JSON_ARRAY:
    return "an array";
  case JSON_STRING:
    return "a string";
  case JSON_INTEGER:
  case JSON_REAL:
    return "a number";
  case JSON_TRUE:
  case JSON_FALSE:
    return "a bool";
  case JSON_NULL:
    return "null";
  }
  return "?";
}

/* A JSON number or bool into out; -1 otherwise. */
static int json_to_value(const json_t *j, struct codec_value *out)
{
  if(json_is_integer(j)) {
    out->kind = CODEC_V_INT;
    out->v.i = (int64_t)json_integer_value(j);
    return 0;
  }
  if(json_is_real(j)) {
    out->kind = CODEC_V_DOUBLE;
    out->v.d = json_real_value(j);
    return 0;
  }
  if(json_is_boolean(j)) {
    out->kind = CODEC_V_BOOL;
    out->v.b = json_is_true(j);
    return 0;
  }
  return -1;
}

static enum codec_err load_json(const char *buf, size_t len, json_t **out, char *err,
                                size_t errlen)
{
  json_error_t jerr;

  *out = json_loadb(buf, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
  if(!*out) {
    (void)rs_snprintf(err, errlen, "payload is not valid JSON: %s (line %d, column %d)", jerr.text,
            jerr.line, jerr.column);
    return CODEC_MALFORMED;
  }
  return CODEC_OK;
}

int cpay_pointer_check(const char *pointer, char *err, size_t errlen)
{
  const char *p;

  if(!pointer || !*pointer)
    return 0;
  if(*pointer != '/') {
    (void)rs_snprintf(err, errlen, "it must be empty or start with '/'");
    return -1;
  }
  for(p = pointer; *p; p++) {
    if(*p == '~' && p[1] != '0' && p[1] != '1') {
      (void)rs_snprintf(err, errlen, "'~' must be followed by 0 or 1");
      return -1;
    }
  }
  return 0;
}

/* "0" or [1-9][0-9]* below size: the index; -1 otherwise. */
static long long array_index(const char *tok, size_t toklen)
{
  size_t i;
  long long v = 0;

  if(!toklen || toklen > 18 || (toklen > 1 && tok[0] == '0'))
    return -1;
  for(i = 0; i < toklen; i++) {
    if(!is_digit(tok[i]))
      return -1;
    v = v * 10 + (tok[i] - '0');
  }
  return v;
}

/*
 * Walk pointer from root. On success *found is the value (borrowed).
 * Errors name the pointer prefix where the walk stopped.
 */
static enum codec_err json_walk(json_t *root, const char *pointer, json_t **found, char *err,
                                size_t errlen)
{
  json_t *cur = root;
  const char *p;
  size_t plen;
  char *tok = NULL;
  char ex[EXCERPT_BUF], at[EXCERPT_BUF];
  enum codec_err rc = CODEC_OK;

  *found = NULL;
  if(!pointer)
    pointer = "";
  if(cpay_pointer_check(pointer, at, sizeof(at))) {
    excerpt(pointer, strlen(pointer), ex, sizeof(ex));
    (void)rs_snprintf(err, errlen, "invalid JSON pointer '%s': %s", ex, at);
    return CODEC_INVALID;
  }
  plen = strlen(pointer);
  tok = rs_xmalloc(plen + 1);
  p = pointer;
  while(*p) {
    const char *seg = p + 1;
    const char *segend = strchr(seg, '/');
    size_t toklen = 0;
    const char *q;

    if(!segend)
      segend = seg + strlen(seg);
    for(q = seg; q < segend; q++) {
      if(*q == '~') {
        tok[toklen++] = q[1] == '0' ? '~' : '/';
        q++;
      }
      else
        tok[toklen++] = *q;
    }
    tok[toklen] = '\0';
    excerpt(pointer, (size_t)(p - pointer), at, sizeof(at));
    excerpt(tok, toklen, ex, sizeof(ex));
    if(json_is_object(cur)) {
      json_t *next = json_object_getn(cur, tok, toklen);

      if(!next) {
        (void)rs_snprintf(err, errlen, "JSON pointer: no member '%s' in the object at '%s'", ex, at);
        rc = CODEC_NOT_FOUND;
        goto out;
      }
      cur = next;
    }
    else if(json_is_array(cur)) {
      long long idx = array_index(tok, toklen);

      if(idx < 0) {
        (void)rs_snprintf(err, errlen, "JSON pointer: '%s' is not an index of the array at '%s'", ex, at);
        rc = CODEC_NOT_FOUND;
        goto out;
      }
      if((unsigned long long)idx >= json_array_size(cur)) {
        (void)rs_snprintf(err, errlen, "JSON pointer: index %lld is past the end of the array at '%s' (%zu "
                "elements)", idx, at, json_array_size(cur));
        rc = CODEC_NOT_FOUND;
        goto out;
      }
      cur = json_array_get(cur, (size_t)idx);
    }
    else {
      (void)rs_snprintf(err, errlen, "JSON pointer: the value at '%s' is %s, not an object or array", at,
              json_kind(cur));
      rc = CODEC_NOT_FOUND;
      goto out;
    }
    p = segend;
  }
  *found = cur;
out:
  FREE_NULL(tok);
  return rc;
}

static enum codec_err decode_json(const struct cfg_point *pt, const char *buf, size_t len,
                                  struct codec_value *out, char *err, size_t errlen)
{
  json_t *root = NULL, *v = NULL;
  enum codec_err rc;
  char at[EXCERPT_BUF];
  const char *pointer = pt->pointer ? pt->pointer : "";

  rc = load_json(buf, len, &root, err, errlen);
  if(rc)
    goto out;
  rc = json_walk(root, pointer, &v, err, errlen);
  if(rc)
    goto out;
  if(json_to_value(v, out)) {
    excerpt(pointer, strlen(pointer), at, sizeof(at));
    (void)rs_snprintf(err, errlen, "the JSON value at '%s' is %s, not a number or bool", at, json_kind(v));
    rc = CODEC_NOT_NUMBER;
  }
out:
  json_decref(root);
  return rc;
}

/* One SenML record, resolved. */
struct senml_rec {
  size_t index;
  json_t *rec;
  char *name;        /* bn + n, owned */
  const char *n;     /* n as written, or "" */
  const char *unit;  /* u, else bu; NULL when none */
  json_t *bv;        /* base value in force, or NULL */
};

static void free_recs(struct senml_rec *recs, size_t n)
{
  size_t i;

  for(i = 0; i < n; i++)
    FREE_NULL(recs[i].name);
  free(recs);
}

/* Fetch an optional string field; -1 when present but not a string. */
static int opt_string(json_t *rec, const char *key, const char **out)
{
  json_t *j = json_object_get(rec, key);

  if(!j)
    return 0;
  if(!json_is_string(j))
    return -1;
  *out = json_string_value(j);
  return 0;
}

/* The record's value, v + bv or vb. */
static enum codec_err senml_value(const struct senml_rec *r, struct codec_value *out, char *err,
                                  size_t errlen)
{
  json_t *v = json_object_get(r->rec, "v");
  json_t *vb = json_object_get(r->rec, "vb");
  char ex[EXCERPT_BUF];

  excerpt(r->name, strlen(r->name), ex, sizeof(ex));
  if(v) {
    if(!json_is_number(v)) {
      (void)rs_snprintf(err, errlen, "SenML record '%s': v is %s, not a number", ex, json_kind(v));
      return CODEC_MALFORMED;
    }
    if(json_is_integer(v) && (!r->bv || json_is_integer(r->bv))) {
      json_int_t a = json_integer_value(v);
      json_int_t b = r->bv ? json_integer_value(r->bv) : 0;
      long long sum;

      if(!__builtin_add_overflow(a, b, &sum)) {
        out->kind = CODEC_V_INT;
        out->v.i = sum;
        return CODEC_OK;
      }
    }
    out->kind = CODEC_V_DOUBLE;
    out->v.d = json_number_value(v) + (r->bv ? json_number_value(r->bv) : 0.0);
    if(!isfinite(out->v.d)) {
      (void)rs_snprintf(err, errlen, "SenML record '%s': v + bv is out of range", ex);
      return CODEC_MALFORMED;
    }
    return CODEC_OK;
  }
  if(vb) {
    if(!json_is_boolean(vb)) {
      (void)rs_snprintf(err, errlen, "SenML record '%s': vb is %s, not a bool", ex, json_kind(vb));
      return CODEC_MALFORMED;
    }
    out->kind = CODEC_V_BOOL;
    out->v.b = json_is_true(vb);
    return CODEC_OK;
  }
  if(json_object_get(r->rec, "vs") || json_object_get(r->rec, "vd")) {
    (void)rs_snprintf(err, errlen, "SenML record '%s' has a %s value, not a number", ex,
            json_object_get(r->rec, "vs") ? "string" : "data");
    return CODEC_NOT_NUMBER;
  }
  (void)rs_snprintf(err, errlen, "SenML record '%s' has no value (v or vb)", ex);
  return CODEC_NOT_NUMBER;
}

/* Parse the pack into resolved records (*recs owned by the caller). */
static enum codec_err senml_resolve(json_t *root, struct senml_rec **recs_out, size_t *n_out,
                                    char *err, size_t errlen)
{
  size_t i, n;
  struct senml_rec *recs;
  const char *bn = "", *bu = NULL;
  json_t *bv = NULL;

  *recs_out = NULL;
  *n_out = 0;
  if(!json_is_array(root)) {
    (void)rs_snprintf(err, errlen, "SenML payload is %s, not an array of records", json_kind(root));
    return CODEC_MALFORMED;
  }
  n = json_array_size(root);
  recs = rs_xcalloc(n ? n : 1, sizeof(*recs));
  for(i = 0; i < n; i++) {
    json_t *rec = json_array_get(root, i);
    const char *nm = "", *u = NULL;
    json_t *jbv;
    size_t l1, l2;

    if(!json_is_object(rec)) {
      (void)rs_snprintf(err, errlen, "SenML record %zu is %s, not an object", i, json_kind(rec));
      goto bad;
    }
    if(opt_string(rec, "bn", &bn) || opt_string(rec, "bu", &bu) || opt_string(rec, "n", &nm) ||
       opt_string(rec, "u", &u)) {
      (void)rs_snprintf(err, errlen, "SenML record %zu: bn, bu, n and u must be strings", i);
      goto bad;
    }
    jbv = json_object_get(rec, "bv");
    if(jbv) {
      if(!json_is_number(jbv)) {
        (void)rs_snprintf(err, errlen, "SenML record %zu: bv is %s, not a number", i, json_kind(jbv));
        goto bad;
      }
      bv = jbv;
    }
    l1 = strlen(bn);
    l2 = strlen(nm);
    recs[i].index = i;
    recs[i].rec = rec;
    recs[i].name = rs_xmalloc(l1 + l2 + 1);
    memcpy(recs[i].name, bn, l1);
    memcpy(recs[i].name + l1, nm, l2 + 1);
    recs[i].n = nm;
    recs[i].unit = u ? u : bu;
    recs[i].bv = bv;
    *n_out = i + 1;
  }
  *recs_out = recs;
  return CODEC_OK;
bad:
  free_recs(recs, *n_out);
  *n_out = 0;
  return CODEC_MALFORMED;
}

/* "'a', 'b', 'c' and 2 more" into b. */
static void list_names(struct rs_buf *b, const struct senml_rec *recs, size_t n, const char *only_n)
{
  size_t i, listed = 0, matched = 0;
  char ex[EXCERPT_BUF];

  for(i = 0; i < n; i++) {
    if(only_n && strcmp(recs[i].n, only_n))
      continue;
    matched++;
    if(listed == NAMES_LISTED)
      continue;
    excerpt(recs[i].name, strlen(recs[i].name), ex, sizeof(ex));
    rs_buf_printf(b, "%s'%s'", listed ? ", " : "", ex);
    listed++;
  }
  if(matched > listed)
    rs_buf_printf(b, " and %zu more", matched - listed);
}

static enum codec_err decode_senml(const struct cfg_point *pt, const char *buf, size_t len,
                                   struct codec_value *out, char *err, size_t errlen)
{
  json_t *root = NULL;
  struct senml_rec *recs = NULL;
  size_t n = 0, i, hits = 0, hit = 0;
  enum codec_err rc;
  struct rs_buf names = {0};
  char ex[EXCERPT_BUF], ex2[EXCERPT_BUF];
  bool by_n = false;

  if(!pt->name) {
    (void)rs_snprintf(err, errlen, "senml point '%s' has no name", pt->id ? pt->id : "?");
    return CODEC_INVALID;
  }
  excerpt(pt->name, strlen(pt->name), ex, sizeof(ex));
  rc = load_json(buf, len, &root, err, errlen);
  if(rc)
    goto out;
  rc = senml_resolve(root, &recs, &n, err, errlen);
  if(rc)
    goto out;
  for(i = 0; i < n; i++) {
    if(!strcmp(recs[i].name, pt->name)) {
      hits++;
      hit = i;
    }
  }
  if(!hits) {
    by_n = true;
    for(i = 0; i < n; i++) {
      if(!strcmp(recs[i].n, pt->name)) {
        hits++;
        hit = i;
      }
    }
  }
  if(!hits) {
    list_names(&names, recs, n, NULL);
    (void)rs_snprintf(err, errlen, "no SenML record named '%s' (%s%s)", ex, n ? "records: " : "no records",
            names.data && !names.oom ? names.data : "");
    rc = CODEC_NOT_FOUND;
    goto out;
  }
  if(hits > 1) {
    if(by_n) {
      list_names(&names, recs, n, pt->name);
      (void)rs_snprintf(err, errlen, "ambiguous: %zu SenML records have n '%s' (resolved names %s)", hits,
              ex, names.data && !names.oom ? names.data : "");
    }
    else
      (void)rs_snprintf(err, errlen, "ambiguous: %zu SenML records are named '%s'", hits, ex);
    rc = CODEC_AMBIGUOUS;
    goto out;
  }
  if(pt->unit && recs[hit].unit && strcmp(pt->unit, recs[hit].unit)) {
    char eu[EXCERPT_BUF];

    excerpt(recs[hit].unit, strlen(recs[hit].unit), eu, sizeof(eu));
    excerpt(pt->unit, strlen(pt->unit), ex2, sizeof(ex2));
    (void)rs_snprintf(err, errlen, "SenML record '%s' has unit '%s', the point expects '%s'", ex, eu, ex2);
    rc = CODEC_UNIT_MISMATCH;
    goto out;
  }
  rc = senml_value(&recs[hit], out, err, errlen);
out:
  rs_buf_free(&names);
  free_recs(recs, n);
  json_decref(root);
  return rc;
}

enum codec_err cpay_decode(const struct cfg_point *pt, const void *payload, size_t len,
                           struct codec_value *out, char *err, size_t errlen)
{
  enum codec_err rc;
  const char *buf = payload ? payload : "";

  memset(out, 0, sizeof(*out));
  if(len > CPAY_MAX_PAYLOAD) {
    (void)rs_snprintf(err, errlen, "payload of %zu bytes is over the %d-byte limit", len,
            CPAY_MAX_PAYLOAD);
    return CODEC_TOO_LARGE;
  }
  if(!payload)
    len = 0;
  switch(pt->format) {
  case CFG_FMT_TEXT:
    rc = decode_text(buf, len, out, err, errlen);
    break;
  case CFG_FMT_JSON:
    rc = decode_json(pt, buf, len, out, err, errlen);
    break;
  case CFG_FMT_SENML:
    rc = decode_senml(pt, buf, len, out, err, errlen);
    break;
  default:
    (void)rs_snprintf(err, errlen, "unknown payload format");
    rc = CODEC_INVALID;
    break;
  }
  if(!rc)
    rc = codec_apply_scale(pt, out, err, errlen);
  if(rc)
    memset(out, 0, sizeof(*out));
  return rc;
}
