/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pipeline: decisions in, order lines in SQLite (see pipeline.h).
 */
#include "gateway/pipeline.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config/rs_util.h"
#include "gateway/clock.h"
#include "gateway/log.h"

struct pipeline {
  struct store *st;
  bool clock_known; /* clock_ok holds an answer */
  bool clock_ok;
  uint64_t created;
};

struct pipeline *pipeline_new(struct store *st)
{
  struct pipeline *p = calloc(1, sizeof(*p));
  if(!p)
    return NULL;
  p->st = st;
  return p;
}

void pipeline_free(struct pipeline *p)
{
  free(p);
}

bool pipeline_clock_check(struct pipeline *p, int64_t now_ms)
{
  bool ok = clock_wall_sane(now_ms);
  if(!p->clock_known || ok != p->clock_ok) {
    char now[40], floor[40];
    clock_format_rfc3339(now_ms, now, sizeof(now));
    clock_format_rfc3339(clock_build_floor_ms(), floor, sizeof(floor));
    if(!ok)
      log_err("wall clock reads %s, before the build date %s: nothing is ordered until the "
              "clock is set",
              now, floor);
    else if(p->clock_known)
      log_notice("wall clock is plausible again (%s): ordering resumes", now);
  }
  p->clock_known = true;
  p->clock_ok = ok;
  return ok;
}

/* The decision's figures as a JSON object; NaN and infinities are null. Caller frees. */
static char *figures_json(const double figures[EXPR_VAR_COUNT])
{
  struct rs_buf b = {0};
  int i;
  rs_buf_puts(&b, "{");
  for(i = 0; i < EXPR_VAR_COUNT; i++) {
    double v = figures[i];
    rs_buf_printf(&b, "%s\"%s\":", i ? "," : "", expr_var_name((enum expr_var)i));
    if(isfinite(v))
      rs_buf_printf(&b, "%.10g", v);
    else
      rs_buf_puts(&b, "null");
  }
  rs_buf_puts(&b, "}");
  if(b.oom) {
    rs_buf_free(&b);
    return NULL;
  }
  return b.data;
}

enum rs_err pipeline_submit(struct pipeline *p, const struct cfg *cfg,
                            const struct rule_decision *d, int64_t now_ms, int64_t *line_id)
{
  const struct cfg_consumable *c = d->consumable;
  const struct cfg_catalog_item *item = c ? c->item : NULL;
  struct store_order_line l;
  const char *currency;
  int64_t id = 0;
  enum rs_err rc;

  if(line_id)
    *line_id = 0;
  if(!pipeline_clock_check(p, now_ms))
    return RS_ERR_INVALID;
  if(!c || !item) {
    log_err("order line refused: %s has no catalog item", c ? c->full_id : "(no consumable)");
    return RS_ERR_INVALID;
  }
  if(pipeline_has_open_line(p, c->full_id))
    return RS_ERR_CONFLICT;

  memset(&l, 0, sizeof(l));
  l.consumable = (char *)c->full_id;
  l.sku = (char *)c->sku;
  l.quantity = d->quantity;
  l.unit_price = item->unit_price.set ? item->unit_price.minor : 0;
  currency = item->currency ? item->currency : cfg->orders.currency;
  if(currency)
    (void)rs_strlcpy(l.currency, currency, sizeof(l.currency));
  l.rule = d->rule ? (char *)d->rule->name : NULL;
  l.figures_json = figures_json(d->figures);
  l.need_by_ms = (d->need_by_ms == INT64_MAX || d->need_by_ms == INT64_MIN) ? 0 : d->need_by_ms;
  l.state = STORE_LINE_OPEN;
  l.created_ms = now_ms;

  rc = store_add_order_line(p->st, &l, &id);
  FREE_NULL(l.figures_json);
  if(rc == RS_ERR_CONFLICT)
    return rc;
  if(rc) {
    log_err("order line for %s not recorded: %s", c->full_id, store_errmsg(p->st));
    return rc;
  }
  p->created++;
  if(line_id)
    *line_id = id;
  log_notice("order line %" PRId64 ": %s, %" PRId64 " x %s (rule %s)", id, c->full_id, d->quantity,
             c->sku, l.rule ? l.rule : "default");
  return RS_OK;
}

bool pipeline_has_open_line(struct pipeline *p, const char *consumable)
{
  bool open = false;
  if(store_has_open_line(p->st, consumable, &open, NULL)) {
    log_err("cannot read open lines of %s: %s", consumable, store_errmsg(p->st));
    return true;
  }
  return open;
}

enum rs_err pipeline_tick(struct pipeline *p, const struct cfg *cfg, int64_t now_ms)
{
  (void)p;
  (void)cfg;
  (void)now_ms;
  return RS_OK;
}

uint64_t pipeline_lines_created(const struct pipeline *p)
{
  return p->created;
}
