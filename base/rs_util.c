/* SPDX-License-Identifier: Apache-2.0 */
#include "base/rs_util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static void rs_oom(size_t n)
{
  fprintf(stderr, "<2>restock: out of memory allocating %zu bytes\n", n);
  abort();
}

void *rs_xmalloc(size_t n)
{
  void *p = malloc(n ? n : 1);
  if(!p)
    rs_oom(n);
  return p;
}

void *rs_xcalloc(size_t n, size_t size)
{
  void *p = calloc(n ? n : 1, size ? size : 1);
  if(!p)
    rs_oom(n * size);
  return p;
}

void *rs_xrealloc(void *p, size_t n)
{
  void *q = realloc(p, n ? n : 1);
  if(!q)
    rs_oom(n);
  return q;
}

char *rs_xstrdup(const char *s)
{
  size_t n = strlen(s) + 1;
  char *p = rs_xmalloc(n);
  memcpy(p, s, n);
  return p;
}

int rs_parse_i64(const char *s, bool allow_hex, int64_t min, int64_t max, int64_t *out)
{
  const char *p = s;
  bool neg = false;
  int base = 10;
  uint64_t acc = 0, limit;

  if(!s || !*s)
    return -1;
  if(*p == '-') {
    neg = true;
    p++;
  }
  if(allow_hex && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
    base = 16;
    p += 2;
    if(!*p)
      return -1;
  }
  else if(p[0] == '0' && p[1] != '\0') {
    return -1; /* leading zero: octal-looking, refused */
  }
  if(!*p)
    return -1;
  limit = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
  for(; *p; p++) {
    unsigned d;
    if(*p >= '0' && *p <= '9')
      d = (unsigned)(*p - '0');
    else if(base == 16 && *p >= 'a' && *p <= 'f')
      d = (unsigned)(*p - 'a' + 10);
    else if(base == 16 && *p >= 'A' && *p <= 'F')
      d = (unsigned)(*p - 'A' + 10);
    else
      return -1;
    if(acc > (limit - d) / (unsigned)base)
      return -1;
    acc = acc * (unsigned)base + d;
  }
  {
    int64_t v;
    if(neg)
      v = acc == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)acc;
    else
      v = (int64_t)acc;
    if(v < min || v > max)
      return -1;
    *out = v;
  }
  return 0;
}

int rs_parse_double(const char *s, double *out)
{
  const char *p = s;
  char *end;
  double v;
  bool digits = false;

  if(!s || !*s)
    return -1;
  /* Validate the shape ourselves: strtod also takes hex, inf and nan. */
  if(*p == '-' || *p == '+')
    p++;
  while(*p >= '0' && *p <= '9') {
    p++;
    digits = true;
  }
  if(*p == '.') {
    p++;
    while(*p >= '0' && *p <= '9') {
      p++;
      digits = true;
    }
  }
  if(!digits)
    return -1;
  if(*p == 'e' || *p == 'E') {
    p++;
    if(*p == '-' || *p == '+')
      p++;
    if(!(*p >= '0' && *p <= '9'))
      return -1;
    while(*p >= '0' && *p <= '9')
      p++;
  }
  if(*p)
    return -1;
  errno = 0;
  v = strtod(s, &end);
  if(*end || !isfinite(v))
    return -1;
  *out = v;
  return 0;
}

int rs_snprintf(char *buf, size_t size, const char *fmt, ...)
{
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(buf, size, fmt, ap);
  va_end(ap);
  return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

/* H. Hinnant's days_from_civil algorithm. */
int64_t rs_days_from_civil(int64_t y, int64_t m, int64_t d)
{
  int64_t era, yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int rs_hexval(int c)
{
  if(c >= '0' && c <= '9')
    return c - '0';
  if(c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if(c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

int rs_strlcpy(char *dst, const char *src, size_t n)
{
  size_t len = strlen(src);
  if(!n)
    return -1;
  if(len >= n) {
    memcpy(dst, src, n - 1);
    dst[n - 1] = '\0';
    return -1;
  }
  memcpy(dst, src, len + 1);
  return 0;
}

/*
 * Edit distance with adjacent transpositions (optimal string alignment:
 * "vaule" is one edit from "value", as "valu" is), capped: returns a value
 * > cap when it exceeds cap. Words longer than 64 bytes are never near.
 */
static unsigned rs_edit_distance(const char *a, const char *b, unsigned cap)
{
  size_t la = strlen(a), lb = strlen(b);
  unsigned rows[3][65];
  unsigned *p2 = rows[0], *p1 = rows[1], *c = rows[2], *t;
  size_t i, j;

  if(la > 64 || lb > 64)
    return cap + 1;
  if((la > lb ? la - lb : lb - la) > cap)
    return cap + 1;
  for(j = 0; j <= lb; j++)
    p1[j] = (unsigned)j;
  for(i = 1; i <= la; i++) {
    unsigned best;
    c[0] = (unsigned)i;
    best = c[0];
    for(j = 1; j <= lb; j++) {
      unsigned cost = a[i - 1] == b[j - 1] ? 0u : 1u;
      unsigned v = p1[j - 1] + cost;
      if(p1[j] + 1 < v)
        v = p1[j] + 1;
      if(c[j - 1] + 1 < v)
        v = c[j - 1] + 1;
      if(i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && p2[j - 2] + 1 < v)
        v = p2[j - 2] + 1; /* two neighbours swapped */
      c[j] = v;
      if(v < best)
        best = v;
    }
    if(best > cap) /* a row's least never falls again */
      return cap + 1;
    t = p2;
    p2 = p1;
    p1 = c;
    c = t;
  }
  return p1[lb];
}

const char *rs_did_you_mean(const char *word, const char *const *candidates)
{
  const char *best = NULL;
  unsigned best_d;
  size_t len = strlen(word);
  /* Allow one edit per three characters, at least one, at most three. */
  unsigned cap = (unsigned)(len / 3);
  if(cap < 1)
    cap = 1;
  if(cap > 3)
    cap = 3;
  bool tie = false;
  best_d = cap + 1;
  for(; candidates && *candidates; candidates++) {
    unsigned d = rs_edit_distance(word, *candidates, cap);
    if(d < best_d) {
      best_d = d;
      best = *candidates;
      tie = false;
    }
    else if(d == best_d && best && strcmp(*candidates, best))
      tie = true; /* 'ABDC': ABCD or BADC? the caller lists them all */
  }
  return tie ? NULL : best;
}

void rs_buf_append(struct rs_buf *b, const char *s, size_t n)
{
  if(b->oom)
    return;
  if(b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    char *p;
    while(cap < b->len + n + 1)
      cap *= 2;
    p = realloc(b->data, cap);
    if(!p) {
      b->oom = true;
      return;
    }
    b->data = p;
    b->cap = cap;
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void rs_buf_puts(struct rs_buf *b, const char *s)
{
  rs_buf_append(b, s, strlen(s));
}

void rs_buf_vprintf(struct rs_buf *b, const char *fmt, va_list ap)
{
  char small[256];
  va_list ap2;
  int n;
  va_copy(ap2, ap);
  n = vsnprintf(small, sizeof(small), fmt, ap);
  if(n < 0) {
    va_end(ap2);
    return;
  }
  if((size_t)n < sizeof(small)) {
    rs_buf_append(b, small, (size_t)n);
  }
  else {
    char *big = malloc((size_t)n + 1);
    if(!big) {
      b->oom = true;
    }
    else {
      vsnprintf(big, (size_t)n + 1, fmt, ap2);
      rs_buf_append(b, big, (size_t)n);
      free(big);
    }
  }
  va_end(ap2);
}

void rs_buf_printf(struct rs_buf *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  rs_buf_vprintf(b, fmt, ap);
  va_end(ap);
}

char *rs_vstrdupf(const char *fmt, va_list ap)
{
  struct rs_buf b = {0};
  rs_buf_vprintf(&b, fmt, ap);
  if(!b.oom)
    return b.data;
  rs_buf_free(&b);
  return NULL;
}

void rs_buf_free(struct rs_buf *b)
{
  FREE_NULL(b->data);
  b->len = b->cap = 0;
  b->oom = false;
}

void rs_strv_add(struct rs_strv *s, const char *fmt, ...)
{
  char *text;
  va_list ap;
  va_start(ap, fmt);
  text = rs_vstrdupf(fmt, ap);
  va_end(ap);
  if(!text)
    return;
  s->v = rs_xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
  s->v[s->n++] = text;
}

void rs_strv_free(struct rs_strv *s)
{
  size_t i;
  for(i = 0; i < s->n; i++)
    free(s->v[i]);
  FREE_NULL(s->v);
  s->n = 0;
}

char *rs_strv_join(const struct rs_strv *s, const char *sep)
{
  struct rs_buf b = {0};
  size_t i;
  rs_buf_puts(&b, "");
  for(i = 0; i < s->n; i++)
    rs_buf_printf(&b, "%s%s", i ? sep : "", s->v[i]);
  if(b.oom) {
    rs_buf_free(&b);
    return rs_xstrdup("");
  }
  return b.data;
}

/* ---- arena: a list of chunks; big requests get a chunk of their own ---- */

struct rs_chunk {
  struct rs_chunk *next;
  size_t used, size;
  _Alignas(16) unsigned char mem[];
};

struct rs_arena {
  struct rs_chunk *head;
  size_t chunk; /* size of a new chunk */
};

#define RS_CHUNK 16384u

struct rs_arena *rs_arena_new(void)
{
  return rs_arena_new_sized(RS_CHUNK);
}

struct rs_arena *rs_arena_new_sized(size_t chunk)
{
  struct rs_arena *a = rs_xcalloc(1, sizeof(struct rs_arena));
  a->chunk = chunk ? chunk : RS_CHUNK;
  return a;
}

void rs_arena_free(struct rs_arena *a)
{
  struct rs_chunk *c, *next;
  if(!a)
    return;
  for(c = a->head; c; c = next) {
    next = c->next;
    free(c);
  }
  free(a);
}

void *rs_arena_alloc_aligned(struct rs_arena *a, size_t size, size_t align)
{
  struct rs_chunk *c = a->head;
  size_t start = c ? (c->used + align - 1) & ~(align - 1) : 0;
  void *p;
  if(size > SIZE_MAX - 16)
    rs_oom(size);
  if(!c || start > c->size || c->size - start < size) {
    size_t csize = size > a->chunk ? size : a->chunk;
    c = rs_xmalloc(sizeof(*c) + csize);
    c->used = 0;
    c->size = csize;
    if(size > a->chunk && a->head) {
      /* keep the partly used head chunk first */
      c->next = a->head->next;
      a->head->next = c;
    }
    else {
      c->next = a->head;
      a->head = c;
    }
    start = 0;
  }
  p = c->mem + start;
  c->used = start + size;
  memset(p, 0, size);
  return p;
}

void *rs_arena_alloc(struct rs_arena *a, size_t size)
{
  return rs_arena_alloc_aligned(a, size, 16);
}

void rs_arena_mark(const struct rs_arena *a, struct rs_arena_mark *m)
{
  m->head = a->head;
  m->next = a->head ? a->head->next : NULL;
  m->used = a->head ? a->head->used : 0;
}

void rs_arena_rewind(struct rs_arena *a, const struct rs_arena_mark *m)
{
  struct rs_chunk *mc = m->head, *c = a->head, *next;
  /* chunks added as the head since the mark */
  while(c && c != mc) {
    next = c->next;
    free(c);
    c = next;
  }
  a->head = mc;
  if(!mc)
    return;
  /* big chunks put right after the marked head since (rs_arena_alloc keeps a
     partly used head first) */
  for(c = mc->next; c && c != m->next; c = next) {
    next = c->next;
    free(c);
  }
  mc->next = m->next;
  mc->used = m->used;
}

char *rs_arena_strndup(struct rs_arena *a, const char *s, size_t n)
{
  char *p = rs_arena_alloc_aligned(a, n + 1, 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *rs_arena_strdup(struct rs_arena *a, const char *s)
{
  return rs_arena_strndup(a, s, strlen(s));
}

char *rs_arena_printf(struct rs_arena *a, const char *fmt, ...)
{
  struct rs_buf b = {0};
  va_list ap;
  char *p;
  va_start(ap, fmt);
  rs_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  if(b.oom)
    rs_oom(0);
  p = rs_arena_strndup(a, b.data ? b.data : "", b.len);
  rs_buf_free(&b);
  return p;
}

int rs_random(void *buf, size_t n)
{
  unsigned char *p = buf;
  while(n) {
    ssize_t got = getrandom(p, n, 0);
    if(got < 0) {
      if(errno == EINTR)
        continue;
      return -1;
    }
    p += got;
    n -= (size_t)got;
  }
  return 0;
}
