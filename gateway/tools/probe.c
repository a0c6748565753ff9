/* SPDX-License-Identifier: Apache-2.0 */
/*
 * probe: read a device now and print raw and decoded values (see probe.h).
 */
#include "gateway/tools/probe.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/modbus_codec.h"
#include "adapters/modbus_plan.h"
#include "config/config.h"
#include "base/escape.h"
#include "base/rs_util.h"
#include "adapters/adapter.h"
#include "base/clock.h"
#include "base/log.h"

/* What one point gave. */
struct probe_pt {
  const struct cfg_point *pt;
  bool got; /* a reading arrived */
  struct reading r;
  char *detail; /* copy of r.detail */
};

struct probe_run {
  const struct cfg_device *dev;
  struct probe_pt *pts;
  size_t n;
};

static void probe_emit(void *ctx, const struct reading *r)
{
  struct probe_run *pr = ctx;
  size_t i;
  for(i = 0; i < pr->n; i++) {
    struct probe_pt *p = &pr->pts[i];
    if(strcmp(p->pt->id, r->point))
      continue;
    p->got = true;
    p->r = *r;
    p->r.device = NULL;
    p->r.point = NULL;
    FREE_NULL(p->detail);
    p->detail = r->detail ? rs_xstrdup(r->detail) : NULL;
    p->r.detail = p->detail;
    return;
  }
}

/*
 * The value of a good reading as JSON text into buf: Modbus values are
 * decoded again from raw so 64-bit integers stay exact.
 */
static void format_value(const struct probe_pt *p, char *buf, size_t size)
{
  struct codec_value v;
  if(p->r.n_raw && p->r.n_raw >= p->pt->width &&
     mbc_decode(p->pt, p->r.raw, p->r.n_raw, &v, NULL, 0) == CODEC_OK) {
    (void)codec_format_value(&v, buf, size);
    return;
  }
  if(p->r.is_bool)
    v.kind = CODEC_V_BOOL, v.v.b = p->r.value != 0;
  else
    v.kind = CODEC_V_DOUBLE, v.v.d = p->r.value;
  (void)codec_format_value(&v, buf, size);
}

static void print_plan(const struct cfg_device *dev, bool json)
{
  struct rs_buf b = {0};
  rs_buf_puts(&b, "");
  if(dev->transport == CFG_TR_COAP) {
    size_t i;
    for(i = 0; i < dev->n_points; i++)
      rs_buf_printf(&b, "GET %s%s%s\n", dev->uri ? dev->uri : "", dev->points[i].path,
                    dev->points[i].observe ? " (observe)" : "");
  }
  else {
    struct mbplan plan;
    struct mbplan_opts o = {dev->unit_id, dev->max_gap, dev->max_registers, dev->single_reads};
    char err[256];
    (void)mbplan_build_points(dev->points, dev->n_points, &o, &plan, err, sizeof(err));
    mbplan_format(&plan, dev->points, &b);
    mbplan_free(&plan);
  }
  if(!json) {
    fputs(b.data, stdout);
  }
  else {
    struct rs_buf j = {0};
    char *line = b.data, *nl;
    bool first = true;
    rs_buf_puts(&j, "{\"device\": ");
    escape_json_str(&j, dev->id);
    rs_buf_puts(&j, ", \"plan\": [");
    while(line && *line && (nl = strchr(line, '\n')) != NULL) {
      *nl = '\0';
      rs_buf_puts(&j, first ? "" : ", ");
      escape_json_str(&j, line);
      first = false;
      line = nl + 1;
    }
    rs_buf_puts(&j, "]}\n");
    fputs(j.data, stdout);
    rs_buf_free(&j);
  }
  rs_buf_free(&b);
}

static void usage(void)
{
  fputs("usage: restockctl [--config DIR] probe DEVICE [POINT] [--plan] [--json]\n", stderr);
}

/*
 * Print the run as a table or JSON; returns the exit code. polled: the
 * adapter's poll returned OK (why: its error otherwise). A device is
 * "down" when it did not answer, or when its poll answered nothing
 * well-formed (every point malformed or unanswered: what restockd counts
 * as a failed poll, toward down_after); "failing" (table only; "up" in
 * JSON, SPEC's two states) when it answered but no point could be read
 * (every point an exception).
 */
static int print_result(const struct probe_run *pr, bool polled, int64_t rtt_ms, const char *why,
                        bool json)
{
  struct rs_buf b = {0};
  size_t i, n_ok = 0, n_answered = 0;
  bool up;
  int code;
  for(i = 0; polled && i < pr->n; i++) {
    const struct probe_pt *p = &pr->pts[i];
    n_ok += p->got && p->r.error == READING_OK;
    n_answered += p->got && (p->r.error == READING_OK || p->r.error == READING_ERR_EXCEPTION);
  }
  up = polled && (n_answered || !pr->n);
  code = up ? 0 : 1;
  rs_buf_puts(&b, "");
  if(json) {
    rs_buf_puts(&b, "{\"device\": ");
    escape_json_str(&b, pr->dev->id);
    rs_buf_printf(&b, ", \"state\": \"%s\", \"rtt_ms\": ", up ? "up" : "down");
    if(up)
      rs_buf_printf(&b, "%" PRId64, rtt_ms);
    else
      rs_buf_puts(&b, "null");
    rs_buf_puts(&b, ", \"points\": [");
  }
  else {
    if(up && (n_ok || !pr->n))
      rs_buf_printf(&b, "%s: up, rtt %" PRId64 " ms\n", pr->dev->id, rtt_ms);
    else if(up)
      rs_buf_printf(&b,
                    "%s: failing: no point could be read (the device answers, with errors "
                    "only), rtt %" PRId64 " ms\n",
                    pr->dev->id, rtt_ms);
    else if(polled)
      rs_buf_printf(&b, "%s: down (no well-formed answer: no point could be read)\n",
                    pr->dev->id);
    else
      rs_buf_printf(&b, "%s: down (%s)\n", pr->dev->id, why);
    rs_buf_printf(&b, "%-20s %-28s %-22s %-8s %s\n", "POINT", "RAW", "VALUE", "UNIT", "ERROR");
  }
  for(i = 0; i < pr->n; i++) {
    const struct probe_pt *p = &pr->pts[i];
    char raw[64] = "", value[40] = "-";
    const char *err = NULL;
    unsigned k;
    size_t off = 0;
    if(!polled)
      err = why;
    else if(!p->got)
      err = "no reading";
    else if(p->r.error)
      err = p->detail ? p->detail : reading_error_name(p->r.error);
    if(err)
      code = 1;
    else
      format_value(p, value, sizeof(value));
    if(json) {
      rs_buf_puts(&b, i ? ", {\"id\": " : "{\"id\": ");
      escape_json_str(&b, p->pt->id);
      rs_buf_printf(&b, ", \"value\": %s, \"raw\": [", err ? "null" : value);
      for(k = 0; polled && p->got && k < p->r.n_raw; k++)
        rs_buf_printf(&b, "%s%u", k ? ", " : "", (unsigned)p->r.raw[k]);
      rs_buf_puts(&b, "], \"error\": ");
      if(err)
        escape_json_str(&b, err);
      else
        rs_buf_puts(&b, "null");
      rs_buf_puts(&b, "}");
      continue;
    }
    for(k = 0; polled && p->got && k < p->r.n_raw && off + 8 < sizeof(raw); k++)
      off += (size_t)snprintf(raw + off, sizeof(raw) - off, "%s0x%04x", k ? " " : "",
                              (unsigned)p->r.raw[k]);
    rs_buf_printf(&b, "%-20s %-28s %-22s %-8s %s\n", p->pt->id, raw[0] ? raw : "-",
                  err ? "-" : value, p->pt->unit ? p->pt->unit : "-", err ? err : "-");
  }
  if(json)
    rs_buf_puts(&b, "]}\n");
  fputs(b.data, stdout);
  rs_buf_free(&b);
  return code;
}

/*
 * Print "restockctl probe: " and the message (fmt) to stderr, then " (did
 * you mean 'ID'?)" when word is a plausible misspelling of one of the n
 * items' ids (the `const char *` member at id_off of each item, items
 * `size` bytes apart: devices or points; items may be NULL when n is 0).
 * Allocation failure aborts.
 */
static void say_unknown(const char *word, const void *items, size_t n, size_t size,
                        size_t id_off, const char *fmt, ...) RS_PRINTF(6, 7);
static void say_unknown(const char *word, const void *items, size_t n, size_t size,
                        size_t id_off, const char *fmt, ...)
{
  const char **names = rs_xcalloc(n + 1, sizeof(*names));
  const char *hint;
  va_list ap;
  size_t i;
  for(i = 0; i < n; i++)
    memcpy(&names[i], (const char *)items + i * size + id_off, sizeof(names[i]));
  hint = rs_did_you_mean(word, names);
  fputs("restockctl probe: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  if(hint)
    fprintf(stderr, " (did you mean '%s'?)", hint);
  fputc('\n', stderr);
  FREE_NULL(names);
}

int probe_main(const char *config_dir, int argc, char **argv)
{
  const char *dev_id = NULL, *pt_id = NULL;
  bool plan = false, json = false;
  struct cfg *cfg = NULL;
  struct cfg_device *orig, dev;
  struct probe_run pr = {0};
  const struct adapter_ops *ops;
  struct adapter a;
  char err[512] = "";
  enum rs_err rc;
  int64_t t0, rtt;
  int i, code = 2;
  size_t k;

  for(i = 1; i < argc; i++) {
    if(!strcmp(argv[i], "--plan"))
      plan = true;
    else if(!strcmp(argv[i], "--json"))
      json = true;
    else if(argv[i][0] == '-') {
      fprintf(stderr, "restockctl probe: unknown option '%s'\n", argv[i]);
      usage();
      return 2;
    }
    else if(!dev_id)
      dev_id = argv[i];
    else if(!pt_id)
      pt_id = argv[i];
    else {
      usage();
      return 2;
    }
  }
  if(!dev_id) {
    usage();
    return 2;
  }
  if(!(cfg = cfg_load_report(config_dir, stderr, false)))
    return 2;
  orig = cfg_find_device(cfg, dev_id);
  if(!orig) {
    say_unknown(dev_id, cfg->devices, cfg->n_devices, sizeof(*cfg->devices),
                offsetof(struct cfg_device, id), "no device '%s' in %s", dev_id, config_dir);
    goto out;
  }
  dev = *orig;
  if(pt_id) {
    struct cfg_point *pt = cfg_find_point(orig, pt_id);
    if(!pt) {
      say_unknown(pt_id, orig->points, orig->n_points, sizeof(*orig->points),
                  offsetof(struct cfg_point, id), "device %s has no point '%s'", dev_id, pt_id);
      goto out;
    }
    dev.points = pt;
    dev.n_points = 1;
  }
  if(plan) {
    print_plan(&dev, json);
    code = 0;
    goto out;
  }

  log_set_level(LOG_LVL_ERR); /* point errors are in the output already */
  pr.dev = &dev;
  pr.n = dev.n_points;
  pr.pts = rs_xcalloc(pr.n ? pr.n : 1, sizeof(*pr.pts));
  for(k = 0; k < pr.n; k++)
    pr.pts[k].pt = &dev.points[k];
  memset(&a, 0, sizeof(a));
  ops = adapter_default_lookup(NULL, dev.transport);
  t0 = clock_real_mono_ms();
  if(!ops) {
    (void)rs_snprintf(err, sizeof(err), "no %s adapter in this build",
                      cfg_transport_name(dev.transport));
    rc = RS_ERR_NOT_FOUND;
  }
  else {
    a.ops = ops;
    a.dev = &dev;
    rc = adapter_open(&a, err, sizeof(err));
    if(!rc) {
      rc = adapter_poll(&a, clock_real_wall_ms(), probe_emit, &pr, err, sizeof(err));
      adapter_close(&a);
    }
  }
  rtt = clock_real_mono_ms() - t0;
  code = print_result(&pr, rc == RS_OK, rtt, err[0] ? err : rs_strerror(rc), json);

out:
  for(k = 0; k < pr.n; k++)
    FREE_NULL(pr.pts[k].detail);
  FREE_NULL(pr.pts);
  cfg_free(cfg);
  return code;
}
