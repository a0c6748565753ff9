/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prom: Prometheus text exposition lines (see prom.h).
 */
#include "base/prom.h"

#include <inttypes.h>
#include <math.h>

void prom_escape_label(struct rs_buf *out, const char *s)
{
  const char *p;
  for(p = s; *p; p++) {
    if(*p == '\\')
      rs_buf_puts(out, "\\\\");
    else if(*p == '"')
      rs_buf_puts(out, "\\\"");
    else if(*p == '\n')
      rs_buf_puts(out, "\\n");
    else
      rs_buf_append(out, p, 1);
  }
}

void prom_head(struct rs_buf *o, const char *name, const char *type, const char *help)
{
  rs_buf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A sample value: integers exactly, +Inf/-Inf/NaN as the format spells them. */
static void prom_value(struct rs_buf *o, double v)
{
  if(isnan(v))
    rs_buf_puts(o, "NaN");
  else if(isinf(v))
    rs_buf_puts(o, v > 0 ? "+Inf" : "-Inf");
  else
    rs_buf_printf(o, "%.10g", v);
}

/* {label="lv"} (nothing when label is NULL), then a space. */
static void labels(struct rs_buf *o, const char *label, const char *lv)
{
  if(label) {
    rs_buf_printf(o, "{%s=\"", label);
    prom_escape_label(o, lv);
    rs_buf_puts(o, "\"}");
  }
  rs_buf_puts(o, " ");
}

/* name, or name{label="lv"}, then a space. */
static void name_labels(struct rs_buf *o, const char *name, const char *label, const char *lv)
{
  rs_buf_puts(o, name);
  labels(o, label, lv);
}

void prom_sample(struct rs_buf *o, const char *name, const char *label, const char *lv, double v)
{
  name_labels(o, name, label, lv);
  prom_value(o, v);
  rs_buf_puts(o, "\n");
}

void prom_sample_u64(struct rs_buf *o, const char *name, const char *label, const char *lv,
                     uint64_t v)
{
  name_labels(o, name, label, lv);
  rs_buf_printf(o, "%" PRIu64 "\n", v);
}

/* name_SUFFIX{label="lv" (the caller closes the braces or adds more labels). */
static void series_open(struct rs_buf *o, const char *name, const char *suffix, const char *label,
                        const char *lv)
{
  rs_buf_printf(o, "%s%s{", name, suffix);
  if(label) {
    rs_buf_printf(o, "%s=\"", label);
    prom_escape_label(o, lv);
    rs_buf_puts(o, "\",");
  }
}

void prom_histogram(struct rs_buf *o, const char *name, const char *label, const char *lv,
                    const double *bounds, const uint64_t *cumulative, size_t n, uint64_t count,
                    double sum)
{
  size_t b;
  for(b = 0; b < n; b++) {
    series_open(o, name, "_bucket", label, lv);
    rs_buf_printf(o, "le=\"%g\"} %" PRIu64 "\n", bounds[b], cumulative[b]);
  }
  series_open(o, name, "_bucket", label, lv);
  rs_buf_printf(o, "le=\"+Inf\"} %" PRIu64 "\n", count);
  rs_buf_printf(o, "%s_sum", name);
  labels(o, label, lv);
  prom_value(o, sum);
  rs_buf_printf(o, "\n%s_count", name);
  labels(o, label, lv);
  rs_buf_printf(o, "%" PRIu64 "\n", count);
}
