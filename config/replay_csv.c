/* SPDX-License-Identifier: Apache-2.0 */
/*
 * replay_csv: the readings CSV reader (see replay_csv.h).
 */
#include "config/replay_csv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/clock.h"

#define FIELD_MAX 256

struct csv_reader {
  const char *name;
  const char *p, *end;
  uint32_t line; /* line of the next byte */
  struct rs_buf *errs;
  size_t n_errors;
};

static void csv_error(struct csv_reader *r, uint32_t line, const char *fmt, ...) RS_PRINTF(3, 4);

static void csv_error(struct csv_reader *r, uint32_t line, const char *fmt, ...)
{
  va_list ap;
  r->n_errors++;
  if(r->n_errors > REPLAY_CSV_MAX_REPORTED)
    return;
  rs_buf_printf(r->errs, "%s:%" PRIu32 ": ", r->name, line);
  va_start(ap, fmt);
  rs_buf_vprintf(r->errs, fmt, ap);
  va_end(ap);
  rs_buf_puts(r->errs, "\n");
}

/* Append ch to field nf (fields past the fourth are only counted; a field past FIELD_MAX sets *too_long). */
static void field_put(char fields[4][FIELD_MAX], size_t nf, size_t *flen, char ch, bool *too_long)
{
  if(*flen + 1 < FIELD_MAX) {
    if(nf < 4)
      fields[nf][*flen] = ch;
    (*flen)++;
  }
  else
    *too_long = true;
}

/* Terminate field *nf of flen bytes and count it. */
static void field_end(char fields[4][FIELD_MAX], size_t *nf, size_t flen)
{
  if(*nf < 4)
    fields[*nf][flen < FIELD_MAX ? flen : FIELD_MAX - 1] = '\0';
  (*nf)++;
}

/*
 * Read one record into fields (at most 4 kept, *nf counts all). Returns 1
 * for a record, 0 at the end of input, -1 for a malformed record (reported;
 * the reader is then past it). Empty lines are skipped.
 */
static int csv_record(struct csv_reader *r, char fields[4][FIELD_MAX], size_t *nf,
                      uint32_t *start_line)
{
  size_t flen = 0;
  bool quoted = false, was_quoted = false, bad = false, too_long = false;
  const char *why = NULL;

  /* skip empty lines */
  while(r->p < r->end &&
        (*r->p == '\n' || (*r->p == '\r' && r->p + 1 < r->end && r->p[1] == '\n'))) {
    r->p += *r->p == '\r' ? 2 : 1;
    r->line++;
  }
  if(r->p >= r->end)
    return 0;
  *start_line = r->line;
  *nf = 0;
  for(;;) {
    char ch;
    if(r->p >= r->end) {
      if(quoted) {
        bad = true;
        why = "a quoted field is not closed before the end of the file";
      }
      break;
    }
    ch = *r->p++;
    if(quoted) {
      if(ch == '"') {
        if(r->p < r->end && *r->p == '"') {
          r->p++;
        }
        else {
          quoted = false;
          continue;
        }
      }
      else if(ch == '\n')
        r->line++;
      field_put(fields, *nf, &flen, ch, &too_long);
      continue;
    }
    if(ch == '"') {
      if(flen || was_quoted) {
        if(!bad)
          why = "a quote inside an unquoted field (quote the whole field and double the quote)";
        bad = true;
        continue;
      }
      quoted = was_quoted = true;
      continue;
    }
    if(ch == ',' || ch == '\n' || (ch == '\r' && r->p < r->end && *r->p == '\n') ||
       (ch == '\r' && r->p >= r->end)) {
      field_end(fields, nf, flen);
      flen = 0;
      was_quoted = false;
      if(ch == ',')
        continue;
      if(ch == '\r' && r->p < r->end)
        r->p++;
      r->line++;
      goto done;
    }
    if(was_quoted) {
      if(!bad)
        why = "text after a closing quote";
      bad = true;
      continue;
    }
    if(ch == '\r' || ch == '\0') {
      if(!bad)
        why = ch == '\r' ? "a bare carriage return (lines end in LF or CRLF)" : "a NUL byte";
      bad = true;
      continue;
    }
    field_put(fields, *nf, &flen, ch, &too_long);
  }
  /* end of input ends the last record */
  field_end(fields, nf, flen);
done:
  if(bad) {
    csv_error(r, *start_line, "%s", why);
    return -1;
  }
  if(too_long) {
    csv_error(r, *start_line, "a field is longer than %d bytes", FIELD_MAX - 1);
    return -1;
  }
  return 1;
}

/* Intern "device\0point" in csv->keys; returns its index. */
static uint32_t intern(struct replay_csv *csv, size_t *cap, const char *device, const char *point,
                       uint32_t *last)
{
  size_t dl = strlen(device), pl = strlen(point), i;
  char *k;
  if(*last < csv->n_keys && !strcmp(csv->keys[*last], device) &&
     !strcmp(csv->keys[*last] + strlen(csv->keys[*last]) + 1, point))
    return *last;
  for(i = 0; i < csv->n_keys; i++) {
    if(!strcmp(csv->keys[i], device) && !strcmp(csv->keys[i] + strlen(csv->keys[i]) + 1, point)) {
      *last = (uint32_t)i;
      return *last;
    }
  }
  if(csv->n_keys == *cap) {
    *cap = *cap ? *cap * 2 : 16;
    csv->keys = rs_xrealloc(csv->keys, *cap * sizeof(*csv->keys));
  }
  k = rs_xmalloc(dl + pl + 2);
  memcpy(k, device, dl + 1);
  memcpy(k + dl + 1, point, pl + 1);
  csv->keys[csv->n_keys] = k;
  *last = (uint32_t)csv->n_keys++;
  return *last;
}

static int row_cmp(const void *a, const void *b)
{
  const struct replay_row *x = a, *y = b;
  if(x->time_ms != y->time_ms)
    return x->time_ms < y->time_ms ? -1 : 1;
  return x->line < y->line ? -1 : (x->line > y->line);
}

/* A field quoted for a message, controls as '?'. */
static void quote_field(const char *s, char *buf, size_t size)
{
  size_t i, w = 0;
  for(i = 0; s[i] && w + 5 < size && i < 40; i++)
    buf[w++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
  if(s[i] && w + 4 < size) {
    buf[w++] = '.';
    buf[w++] = '.';
    buf[w++] = '.';
  }
  buf[w] = '\0';
}

/*
 * The closest of the first 64 of n ids to word (for "did you mean"), or
 * NULL. The ids are members `stride` bytes apart, the first at *first.
 */
static const char *closest_id(const char *word, const char *const *first, size_t n,
                              size_t stride)
{
  const char *names[65];
  size_t i;
  if(n > 64)
    n = 64;
  for(i = 0; i < n; i++)
    names[i] = *(const char *const *)(const void *)((const char *)first + i * stride);
  names[n] = NULL;
  return rs_did_you_mean(word, names);
}

/* Check device/point against cfg (when given), with a suggestion. 0 or -1 (reported). */
static int check_point(struct csv_reader *r, uint32_t line, const struct cfg *cfg,
                       const char *device, const char *point, bool *is_bool)
{
  const struct cfg_device *d;
  const struct cfg_point *p;
  char q[64];
  *is_bool = false;
  if(!cfg)
    return 0;
  d = cfg_find_device(cfg, device);
  if(!d) {
    const char *hint =
        closest_id(device, &cfg->devices[0].id, cfg->n_devices, sizeof(cfg->devices[0]));
    quote_field(device, q, sizeof(q));
    csv_error(r, line, "device '%s' is not in the config%s%s%s", q, hint ? " (did you mean '" : "",
              hint ? hint : "", hint ? "'?)" : "");
    return -1;
  }
  p = cfg_find_point(d, point);
  if(!p) {
    const char *hint = closest_id(point, &d->points[0].id, d->n_points, sizeof(d->points[0]));
    quote_field(point, q, sizeof(q));
    csv_error(r, line, "device %s has no point '%s'%s%s%s", d->id, q,
              hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
    return -1;
  }
  *is_bool = p->type == CFG_VT_BOOL;
  return 0;
}

size_t replay_csv_parse(const char *name, const char *data, size_t len, const struct cfg *cfg,
                        struct replay_csv *out, struct rs_buf *errs)
{
  struct csv_reader r = {name, data, data + len, 1, errs, 0};
  char f[4][FIELD_MAX];
  size_t nf = 0, cap_rows = 0, cap_keys = 0;
  uint32_t line = 1, last = UINT32_MAX;
  int rc;

  memset(out, 0, sizeof(*out));
  if(len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3))
    r.p += 3;
  rc = csv_record(&r, f, &nf, &line);
  if(rc == 0) {
    csv_error(&r, 1, "empty file (expected the header time,device,point,value)");
    goto out;
  }
  if(rc > 0 && (nf != 4 || strcmp(f[0], "time") || strcmp(f[1], "device") ||
                strcmp(f[2], "point") || strcmp(f[3], "value")))
    csv_error(&r, line, "the header must be time,device,point,value");
  if(r.n_errors)
    goto out;

  while((rc = csv_record(&r, f, &nf, &line)) != 0) {
    struct replay_row row;
    char q[64];
    bool is_bool;
    if(rc < 0)
      continue;
    if(nf != 4) {
      csv_error(&r, line, "expected 4 fields (time,device,point,value), found %zu", nf);
      continue;
    }
    memset(&row, 0, sizeof(row));
    row.line = line;
    if(clock_parse_time(f[0], &row.time_ms)) {
      quote_field(f[0], q, sizeof(q));
      csv_error(&r, line, "time '%s' is neither RFC 3339 (2026-05-01T08:00:00Z) nor Unix seconds",
                q);
      continue;
    }
    if(!f[1][0] || !f[2][0]) {
      csv_error(&r, line, "empty %s", !f[1][0] ? "device" : "point");
      continue;
    }
    if(check_point(&r, line, cfg, f[1], f[2], &is_bool))
      continue;
    if(!strcmp(f[3], "true") || !strcmp(f[3], "false"))
      row.value = f[3][0] == 't';
    else if(rs_parse_double(f[3], &row.value)) {
      quote_field(f[3], q, sizeof(q));
      csv_error(&r, line, "value '%s' is not a number (decimal, or true/false)", q);
      continue;
    }
    (void)is_bool;
    if(r.n_errors)
      continue; /* keep checking, stop collecting */
    row.key = intern(out, &cap_keys, f[1], f[2], &last);
    if(out->n_rows == cap_rows) {
      cap_rows = cap_rows ? cap_rows * 2 : 1024;
      out->rows = rs_xrealloc(out->rows, cap_rows * sizeof(*out->rows));
    }
    out->rows[out->n_rows++] = row;
  }
out:
  if(r.n_errors > REPLAY_CSV_MAX_REPORTED)
    rs_buf_printf(errs, "%s: %zu more bad rows not shown\n", name,
                  r.n_errors - REPLAY_CSV_MAX_REPORTED);
  if(r.n_errors) {
    replay_csv_free(out);
    out->n_errors = r.n_errors;
    return r.n_errors;
  }
  if(out->n_rows > 1)
    qsort(out->rows, out->n_rows, sizeof(*out->rows), row_cmp);
  return 0;
}

void replay_csv_free(struct replay_csv *csv)
{
  size_t i;
  for(i = 0; i < csv->n_keys; i++)
    FREE_NULL(csv->keys[i]);
  FREE_NULL(csv->keys);
  FREE_NULL(csv->rows);
  memset(csv, 0, sizeof(*csv));
}

/* The readings file into *data, chunk by chunk against the limits (see replay_csv.h). */
int replay_csv_read(const char *path, char **data, size_t *len, char *err, size_t errlen)
{
  FILE *f = fopen(path, "rb");
  struct rs_buf b = {0};
  char chunk[65536];
  const char *why = NULL;
  size_t n, lines = 0;
  struct stat sb;
  *data = NULL;
  *len = 0;
  if(!f) {
    (void)rs_snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
    return -1;
  }
  if(!fstat(fileno(f), &sb) && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size > REPLAY_CSV_MAX_BYTES)
    why = "larger than the limit";
  rs_buf_puts(&b, "");
  while(!why && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
    const char *p = chunk, *end = chunk + n;
    if(memchr(chunk, '\0', n)) {
      why = "not a text file (it holds a NUL byte)";
      break;
    }
    while((p = memchr(p, '\n', (size_t)(end - p)))) {
      lines++;
      p++;
    }
    if(lines > REPLAY_CSV_MAX_LINES) {
      why = "more lines than the limit";
      break;
    }
    if(b.len + n > REPLAY_CSV_MAX_BYTES) {
      why = "larger than the limit";
      break;
    }
    rs_buf_append(&b, chunk, n);
  }
  if(!why && ferror(f))
    why = strerror(errno);
  if(!why && b.oom)
    why = "out of memory";
  fclose(f);
  if(why) {
    (void)rs_snprintf(err, errlen,
                      "%s: cannot replay: %s (at most %u MiB and %u lines; split the file)", path,
                      why, REPLAY_CSV_MAX_BYTES >> 20, REPLAY_CSV_MAX_LINES);
    rs_buf_free(&b);
    return -1;
  }
  *data = b.data;
  *len = b.len;
  return 0;
}
