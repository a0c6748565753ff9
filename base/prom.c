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

void prom_value(struct rs_buf *o, double v)
{
  if(isnan(v))
    rs_buf_puts(o, "NaN");
  else if(isinf(v))
    rs_buf_puts(o, v > 0 ? "+Inf" : "-Inf");
  else
    rs_buf_printf(o, "%.10g", v);
}

/* name, or name{label="lv"}, then a space. */
static void name_labels(struct rs_buf *o, const char *name, const char *label, const char *lv)
{
  rs_buf_puts(o, name);
  if(label) {
    rs_buf_printf(o, "{%s=\"", label);
    prom_escape_label(o, lv);
    rs_buf_puts(o, "\"}");
  }
  rs_buf_puts(o, " ");
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
