/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stock: stock-take by a person (see stock.h).
 */
#include "gateway/stock.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/rs_util.h"

/* Largest spare count a person may set (a typo guard, not a business rule). */
#define STOCK_MAX_SPARES 1000000

static const char *const op_names[] = {"set-spares", "replaced", "hold", "release"};

/* "set-spares", "replaced", "hold", "release" */
static const char *stock_op_name(enum stock_op op)
{
  return (unsigned)op < RS_ARRAY_LEN(op_names) ? op_names[op] : "?";
}

int stock_op_parse(const char *word, enum stock_op *op)
{
  size_t i;
  for(i = 0; word && i < RS_ARRAY_LEN(op_names); i++)
    if(!strcmp(word, op_names[i])) {
      *op = (enum stock_op)i;
      return 0;
    }
  return -1;
}

static void say(char *msg, size_t msglen, const char *fmt, ...) RS_PRINTF(3, 4);
static void say(char *msg, size_t msglen, const char *fmt, ...)
{
  va_list ap;
  if(!msg || !msglen)
    return;
  va_start(ap, fmt);
  (void)vsnprintf(msg, msglen, fmt, ap);
  va_end(ap);
}

/*
 * The change itself (inside the caller's transaction): writes, the audit
 * detail into *detail and the user's sentence into msg.
 */
static enum rs_err apply_op(struct store *st, const struct cfg_consumable *c,
                            struct reading_path *rp, const struct stock_req *r,
                            const struct store_consumable *before, int64_t now_ms,
                            struct rs_buf *detail, char *msg, size_t msglen)
{
  enum rs_err rc = RS_OK;
  bool held = before->hold != STORE_HOLD_NONE && now_ms < before->held_until_ms;
  int64_t n = 0;

  switch(r->op) {
  case STOCK_SET_SPARES:
    if(!r->count || rs_parse_i64(r->count, false, 0, STOCK_MAX_SPARES, &n)) {
      say(msg, msglen, "the spare count must be a whole number from 0 to %d (got '%s')",
          STOCK_MAX_SPARES, r->count ? r->count : "");
      return RS_ERR_INVALID;
    }
    rc = store_set_spares(st, c->full_id, n, now_ms);
    rs_buf_printf(detail, "spares %" PRId64 " -> %" PRId64, before->spares, n);
    say(msg, msglen, "%s: spares %" PRId64 " (was %" PRId64 ")", c->full_id, n, before->spares);
    break;
  case STOCK_REPLACED: {
    struct store_order_line l;
    bool line = false;
    const char *how;
    memset(&l, 0, sizeof(l));
    if(before->spares <= 0 && store_get_fit_line(st, c->full_id, &l) == RS_OK) {
      line = true;
      store_order_line_free(&l);
    }
    if(rp)
      rc = reading_path_mark_replaced(rp, c, now_ms); /* records, fits, restarts prediction */
    else {
      rc = store_record_replacement(st, c->full_id, now_ms, NAN, 100.0, NULL);
      if(!rc)
        rc = store_fit_part(st, c->full_id, now_ms, NULL, NULL);
    }
    how = before->spares > 0 ? "one spare taken from the shelf"
          : line             ? "no spare on the books: one unit of the open order line counts as "
                               "received"
                             : "no spare on the books and no open order line the shop has: "
                               "unknown_part_fitted";
    rs_buf_printf(detail, "part fitted; %s", how);
    say(msg, msglen, "%s: replacement recorded (%s); prediction restarts", c->full_id, how);
    break;
  }
  case STOCK_HOLD: {
    struct rs_buf why = {0};
    rs_buf_printf(&why, "held by %s%s%s", r->actor, r->reason && *r->reason ? ": " : "",
                  r->reason && *r->reason ? r->reason : "");
    rc = why.oom ? RS_ERR_NOMEM
                 : store_set_hold(st, c->full_id, STORE_HOLD_MANUAL, INT64_MAX, why.data, now_ms);
    rs_buf_printf(detail, "%s", why.data ? why.data : "held");
    say(msg, msglen, "%s: held until released (%s)", c->full_id,
        why.data ? why.data : "held");
    rs_buf_free(&why);
    break;
  }
  case STOCK_RELEASE:
    if(!held) {
      say(msg, msglen, "%s is not held", c->full_id);
      return RS_ERR_INVALID;
    }
    rc = store_set_hold(st, c->full_id, STORE_HOLD_NONE, 0, NULL, now_ms);
    rs_buf_printf(detail, "released (was held: %s)",
                  before->hold_reason ? before->hold_reason : store_hold_name(before->hold));
    say(msg, msglen, "%s: released; the rules may order it again", c->full_id);
    break;
  default:
    say(msg, msglen, "unknown stock-take operation");
    return RS_ERR_INVALID;
  }
  return rc;
}

enum rs_err stock_apply(struct store *st, const struct cfg *cfg, struct reading_path *rp,
                        const struct stock_req *r, int64_t now_ms, char *msg, size_t msglen)
{
  const struct cfg_consumable *c = r->id ? cfg_find_consumable(cfg, r->id) : NULL;
  struct store_consumable before;
  struct rs_buf detail = {0};
  enum rs_err rc;

  say(msg, msglen, "%s", "");
  if(!c) {
    say(msg, msglen, "no consumable '%s' (ids are device/consumable, as in restockctl status)",
        r->id ? r->id : "");
    return RS_ERR_NOT_FOUND;
  }
  if(!r->actor || !*r->actor) {
    say(msg, msglen, "no actor");
    return RS_ERR_INVALID;
  }
  memset(&before, 0, sizeof(before));
  rc = store_begin(st);
  if(rc)
    goto fail;
  rc = store_ensure_consumable(st, c->full_id, c->spec->spares, now_ms);
  if(!rc)
    rc = store_get_consumable_state(st, c->full_id, &before);
  if(!rc)
    rc = apply_op(st, c, rp, r, &before, now_ms, &detail, msg, msglen);
  if(!rc && r->source)
    rs_buf_printf(&detail, " (from %s)", r->source);
  if(!rc)
    rc = detail.oom ? RS_ERR_NOMEM
                    : store_audit_subject(st, now_ms, r->actor, stock_op_name(r->op), c->full_id,
                                          detail.data);
  if(rc) {
    (void)store_rollback(st);
    goto fail;
  }
  rc = store_commit(st);
  if(rc)
    goto fail;
  log_notice("stock-take by %s: %s", r->actor, msg && msglen ? msg : stock_op_name(r->op));
  goto out;
fail:
  if((rc != RS_ERR_INVALID && rc != RS_ERR_NOT_FOUND) || (msg && msglen && !msg[0]))
    say(msg, msglen, "cannot %s %s: %s", stock_op_name(r->op), c->full_id, store_errmsg(st));
out:
  store_consumable_free(&before);
  rs_buf_free(&detail);
  return rc;
}
