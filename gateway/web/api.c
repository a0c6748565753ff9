/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api: JSON documents of the HTTP API (see api.h).
 */
#include "gateway/web/api.h"
#include "gateway/pipeline.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_util.h"
#include "adapters/adapter.h"
#include "base/clock.h"
#include "base/docstream.h"
#include "gateway/web/viewdoc.h"

/* Wall ms as an RFC 3339 JSON string, or null when ms <= 0 or INT64_MAX. */
static json_t *api_time(int64_t ms)
{
  char buf[40];
  if(ms <= 0 || ms == INT64_MAX)
    return json_null();
  clock_format_rfc3339(ms, buf, sizeof(buf));
  return json_string(buf);
}

/* A finite double as a JSON real rounded to `decimals`, else null. */
static json_t *api_real(double v, int decimals)
{
  double p;
  if(!isfinite(v))
    return json_null();
  p = pow(10.0, decimals);
  v = round(v * p) / p;
  if(v == 0)
    v = 0; /* no "-0" */
  return json_real(v);
}

/* A string or null. */
static json_t *str_or_null(const char *s)
{
  return s ? json_string(s) : json_null();
}

/* Minor units as a decimal string in the currency's decimals (2 when unknown). */
static json_t *money(int64_t minor, const char *currency)
{
  char buf[40];
  cfg_format_money_in(currency, minor, buf, sizeof(buf));
  return json_string(buf);
}

/* Set key of obj to v, stealing v; a NULL v (allocation failure) marks *bad. */
static void put(json_t *obj, const char *key, json_t *v, bool *bad)
{
  if(!v || json_object_set_new(obj, key, v))
    *bad = true;
}

/* j when every put() and push() into it worked (bad false); else NULL, j freed. */
static json_t *kept(json_t *j, bool bad)
{
  if(!bad)
    return j;
  json_decref(j);
  return NULL;
}

/* Append v to arr, stealing it. */
static void push(json_t *arr, json_t *v, bool *bad)
{
  if(!v || json_array_append_new(arr, v))
    *bad = true;
}

/*
 * One ORDER (SPEC 2): id, state, supplier, currency, total, created,
 * updated, shop_id, lines, approval, transitions. cfg (may be NULL) gives
 * link_ttl for approval.expires. The approval object is derived from the
 * transitions: required when the order ever entered pending_approval;
 * reasons the cause of that transition; expires the entry time plus
 * orders.approval.link_ttl while it is pending; decided_by the actor that
 * moved it to approved or rejected.
 */
static json_t *api_order_json(const struct store_order_full *o, const struct cfg *cfg)
{
  json_t *j = json_object(), *lines = json_array(), *trans = json_array();
  json_t *appr = json_object(), *reasons = json_array();
  const struct store_order *h = &o->order;
  bool bad = !j || !lines || !trans || !appr || !reasons;
  bool required = false;
  int64_t entered_ms = 0;
  const char *decided_by = NULL;
  size_t i;

  if(bad)
    goto fail;
  put(j, "id", json_string(h->id), &bad);
  put(j, "state", json_string(store_order_state_name(h->state)), &bad);
  put(j, "supplier", str_or_null(h->supplier), &bad);
  put(j, "currency", json_string(h->currency), &bad);
  put(j, "total", money(h->total, h->currency), &bad);
  put(j, "created", api_time(h->created_ms), &bad);
  put(j, "updated", api_time(h->updated_ms), &bad);
  put(j, "shop_id", str_or_null(h->shop_id), &bad);

  for(i = 0; i < o->n_lines; i++) {
    const struct store_order_line *l = &o->lines[i];
    json_t *lj = json_object(); /* NULL: put() and push() mark bad */
    put(lj, "consumable", json_string(l->consumable), &bad);
    put(lj, "sku", json_string(l->sku), &bad);
    put(lj, "quantity", json_integer(l->quantity), &bad);
    put(lj, "unit_price", money(l->unit_price, l->currency[0] ? l->currency : h->currency), &bad);
    put(lj, "rule", str_or_null(l->rule), &bad);
    push(lines, lj, &bad);
  }
  put(j, "lines", lines, &bad);
  lines = NULL;

  for(i = 0; i < o->n_transitions; i++) {
    const struct store_transition *t = &o->transitions[i];
    json_t *tj = json_object(); /* NULL: put() and push() mark bad */
    if(t->to == STORE_ORDER_PENDING_APPROVAL) {
      required = true;
      entered_ms = t->time_ms;
      json_array_clear(reasons);
      if(t->cause && t->cause[0])
        push(reasons, json_string(t->cause), &bad);
    }
    if(t->has_from && t->from == STORE_ORDER_PENDING_APPROVAL &&
       (t->to == STORE_ORDER_APPROVED || t->to == STORE_ORDER_REJECTED))
      decided_by = t->actor;
    put(tj, "time", api_time(t->time_ms), &bad);
    put(tj, "from", t->has_from ? json_string(store_order_state_name(t->from)) : json_null(), &bad);
    put(tj, "to", json_string(store_order_state_name(t->to)), &bad);
    put(tj, "actor", str_or_null(t->actor), &bad);
    put(tj, "cause", str_or_null(t->cause), &bad);
    push(trans, tj, &bad);
  }

  put(appr, "required", json_boolean(required), &bad);
  put(appr, "reasons", reasons, &bad);
  reasons = NULL;
  if(h->state == STORE_ORDER_PENDING_APPROVAL && cfg && entered_ms > 0 &&
     cfg->orders.approval.link_ttl_ms > 0)
    put(appr, "expires", api_time(entered_ms + cfg->orders.approval.link_ttl_ms), &bad);
  else
    put(appr, "expires", json_null(), &bad);
  put(appr, "decided_by", str_or_null(decided_by), &bad);
  put(j, "approval", appr, &bad);
  appr = NULL;
  put(j, "transitions", trans, &bad);
  return kept(j, bad);

fail:
  json_decref(j);
  json_decref(lines);
  json_decref(trans);
  json_decref(appr);
  json_decref(reasons);
  return NULL;
}

/*
 * The approval policy stores an order's reasons as a JSON array of strings
 * (meta PIPELINE_META_REASONS + id) when the draft closes: prefer them to the
 * transition's cause sentence. Leaves the object as it is when none are
 * stored or the stored value is not such an array.
 */
static void stored_reasons(struct store *st, json_t *order)
{
  json_t *appr = json_object_get(order, "approval"), *arr, *v;
  const char *id = json_string_value(json_object_get(order, "id"));
  char key[128], *text = NULL;
  size_t i;

  if(!appr || !id || rs_snprintf(key, sizeof(key), "%s%s", PIPELINE_META_REASONS, id))
    return;
  if(store_meta_get(st, key, &text) != RS_OK)
    return;
  arr = json_loads(text, 0, NULL);
  free(text);
  if(!json_is_array(arr) || !json_array_size(arr)) {
    json_decref(arr);
    return;
  }
  json_array_foreach(arr, i, v) {
    if(!json_is_string(v)) {
      json_decref(arr);
      return;
    }
  }
  json_object_set_new(appr, "reasons", arr);
}

/* The ORDER objects of open (or all) orders, newest first, into a new array. */
static enum rs_err orders_array(struct store *st, const struct cfg *cfg, bool open_only,
                                json_t **out)
{
  struct store_order_ids l = {0};
  json_t *arr = json_array();
  enum rs_err rc;
  size_t i;
  bool bad = !arr;

  *out = NULL;
  rc = store_list_order_ids(st, open_only ? STORE_IDS_OPEN : STORE_IDS_ALL, 0, &l);
  if(rc)
    goto out;
  for(i = 0; i < l.n && !bad; i++) {
    struct store_order_full *o = NULL;
    rc = store_get_order(st, l.ids[i], &o);
    if(rc == RS_ERR_NOT_FOUND) { /* gone between the two queries: skip */
      rc = RS_OK;
      continue;
    }
    if(rc)
      goto out;
    {
      json_t *oj = api_order_json(o, cfg);
      if(oj)
        stored_reasons(st, oj);
      push(arr, oj, &bad);
    }
    store_order_full_free(o);
  }
  if(bad)
    rc = RS_ERR_NOMEM;
out:
  free(l.ids);
  if(rc)
    json_decref(arr);
  else
    *out = arr;
  return rc;
}

enum rs_err api_orders_json(struct store *st, const struct cfg *cfg, bool open_only, json_t **out)
{
  json_t *arr = NULL, *j;
  enum rs_err rc = orders_array(st, cfg, open_only, &arr);
  *out = NULL;
  if(rc)
    return rc;
  j = json_object();
  if(!j || json_object_set_new(j, "orders", arr)) {
    json_decref(j);
    return RS_ERR_NOMEM;
  }
  *out = j;
  return RS_OK;
}

enum rs_err api_order_by_id(struct store *st, const struct cfg *cfg, const char *id, json_t **out)
{
  struct store_order_full *o = NULL;
  enum rs_err rc = store_get_order(st, id, &o);
  *out = NULL;
  if(rc)
    return rc;
  *out = api_order_json(o, cfg);
  store_order_full_free(o);
  if(*out)
    stored_reasons(st, *out);
  return *out ? RS_OK : RS_ERR_NOMEM;
}

json_t *api_device_json(const struct status_device *d)
{
  json_t *j = json_object(), *errs = json_object();
  bool bad = !j || !errs;
  unsigned k;
  if(bad) {
    json_decref(errs);
    return kept(j, bad);
  }
  put(j, "id", json_string(d->s.id ? d->s.id : ""), &bad);
  put(j, "transport", d->dev ? json_string(cfg_transport_name(d->dev->transport)) : json_null(),
      &bad);
  put(j, "state", json_string(d->s.up ? "up" : "down"), &bad);
  put(j, "last_success", api_time(d->s.last_success_ms), &bad);
  put(j, "consecutive_failures", json_integer(d->s.consecutive_failures), &bad);
  put(j, "rtt_ms", d->s.rtt_ms >= 0 ? json_integer(d->s.rtt_ms) : json_null(), &bad);
  for(k = 0; k < SCHED_ERR_KINDS; k++)
    if(status_error_shown(d, (unsigned)k))
      put(errs, scheduler_error_kind_name((unsigned)k), json_integer((json_int_t)d->s.errors[k]),
          &bad);
  put(j, "errors", errs, &bad);
  return kept(j, bad);
}

json_t *api_consumable_json(const struct status_consumable *sc)
{
  const struct cfg_consumable *c = sc->c;
  json_t *j = json_object();
  bool bad = !j;
  if(bad)
    return NULL;
  put(j, "id", json_string(c->full_id), &bad);
  put(j, "device", json_string(c->device ? c->device->id : ""), &bad);
  put(j, "sku", json_string(c->spec->sku), &bad);
  put(j, "kind", str_or_null(c->spec->kind), &bad);
  put(j, "level_pct", sc->has_level ? api_real(sc->level_pct, 2) : json_null(), &bad);
  put(j, "days_left", api_real(sc->days_left, 2), &bad);
  put(j, "days_left_p10", api_real(sc->days_left_p10, 2), &bad);
  put(j, "days_left_p90", api_real(sc->days_left_p90, 2), &bad);
  put(j, "empty_at", api_time(sc->empty_at_ms), &bad);
  put(j, "rate_per_day", api_real(sc->rate_per_day, 3), &bad);
  put(j, "confidence", api_real(sc->confidence, 3), &bad);
  put(j, "stale", json_boolean(sc->stale), &bad);
  put(j, "spares", json_integer(sc->spares), &bad);
  put(j, "open_order", sc->open_order[0] ? json_string(sc->open_order) : json_null(), &bad);
  put(j, "on_order", json_integer(sc->on_order), &bad);
  put(j, "cover_days", api_real(sc->cover_days, 2), &bad);
  put(j, "cover_days_p10", api_real(sc->cover_days_p10, 2), &bad);
  put(j, "cover_days_p90", api_real(sc->cover_days_p90, 2), &bad);
  put(j, "runout_risk", api_real(sc->runout_risk, 4), &bad);
  put(j, "position_days", api_real(sc->position_days, 2), &bad);
  put(j, "held", json_boolean(sc->held), &bad);
  if(sc->held) {
    json_t *h = json_object();
    bad = bad || !h;
    if(h) {
      put(h, "kind", json_string(store_hold_name(sc->hold)), &bad);
      put(h, "since", api_time(sc->held_since_ms), &bad);
      put(h, "until", api_time(sc->held_until_ms), &bad);
      put(h, "reason", sc->hold_reason[0] ? json_string(sc->hold_reason) : json_null(), &bad);
    }
    put(j, "hold", h, &bad);
  }
  else
    put(j, "hold", json_null(), &bad);
  if(bad) {
    json_decref(j);
    return NULL;
  }
  return j;
}

/* The status document's "gateway" object's members into gw; *bad set on failure. */
static void gateway_fill(json_t *gw, const struct api_gateway_info *g, const struct cfg *cfg,
                         bool *bad)
{
  const struct cfg_closed *c = cfg_next_closed(cfg, g->now_ms);
  put(gw, "id", json_string(g->id ? g->id : ""), bad);
  put(gw, "version", json_string(g->version ? g->version : ""), bad);
  put(gw, "time", api_time(g->now_ms), bad);
  put(gw, "uptime_s", json_integer(g->uptime_s), bad);
  put(gw, "time_scale", json_real(g->time_scale), bad);
  if(c) {
    /* the plant calendar's closed period now or next (restock.yaml calendar) */
    char from[11], to[11];
    json_t *n = json_object();
    cfg_closed_days(c, from, to);
    put(n, "name", c->name ? json_string(c->name) : json_null(), bad);
    put(n, "from", json_string(from), bad);
    put(n, "to", json_string(to), bad);
    put(n, "now", json_boolean(g->now_ms >= c->from_ms), bad);
    put(gw, "next_closed", n, bad);
  }
  else
    put(gw, "next_closed", json_null(), bad);
}

json_t *api_error_json(const char *code, const char *message)
{
  json_t *e = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
  return e;
}

char *api_dump(const json_t *j)
{
  return json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
}

/* ---- documents written piece by piece ------------------------------------ */

struct api_stream {
  struct viewdoc d;   /* the view (moved in), the config reference, the place */
  bool devices_first; /* section 0 is the devices (the status document and the device list) */
};

/* json_dump_callback's sink: append to the rs_buf. */
static int dump_cb(const char *buf, size_t size, void *data)
{
  struct rs_buf *b = data;
  rs_buf_append(b, buf, size);
  return b->oom ? -1 : 0;
}

/* Append j as api_dump() writes it; decrefs j. 0, or -1 (j NULL or out of memory). */
static int dump_into(json_t *j, struct rs_buf *o)
{
  int rc = j ? json_dump_callback(j, dump_cb, o,
                                  JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))
             : -1;
  json_decref(j);
  return rc || o->oom ? -1 : 0;
}

/* Whether section sec of s is the devices array (else the consumables). */
static bool sec_devices(const struct api_stream *s, size_t sec)
{
  return sec == 0 && s->devices_first;
}

/* docstream ops: the second array (the status document's consumables) opens after the first. */
static void sec_open(void *ud, size_t sec, struct rs_buf *out)
{
  (void)ud;
  if(sec > 0)
    rs_buf_puts(out, "],\"consumables\":[");
}

static size_t sec_count(void *ud, size_t sec)
{
  const struct api_stream *s = ud;
  return sec_devices(s, sec) ? s->d.v.n_devices : s->d.v.n_consumables;
}

/* One array element, after a comma unless it is the first. */
static bool sec_item(void *ud, size_t sec, size_t i, struct rs_buf *out)
{
  struct api_stream *s = ud;
  if(i)
    rs_buf_puts(out, ",");
  return !dump_into(sec_devices(s, sec) ? api_device_json(&s->d.v.devices[i])
                                        : api_consumable_json(&s->d.v.consumables[i]),
                    out);
}

static const struct docstream_ops api_doc_ops = {sec_open, sec_count, sec_item};

/* A stream over *v (moved in: *v is left empty) with cfg referenced, n arrays. */
static struct api_stream *stream_new(struct status_view *v, const struct cfg *cfg, size_t n,
                                     bool devices_first)
{
  struct api_stream *s = calloc(1, sizeof(*s));
  if(!s)
    return NULL;
  viewdoc_init(&s->d, &api_doc_ops, s, n, v, cfg);
  s->devices_first = devices_first;
  return s;
}

void api_stream_free(void *ud)
{
  struct api_stream *s = ud;
  if(!s)
    return;
  viewdoc_release(&s->d); /* each object's JSON, the view's figures: back to the kernel */
  free(s);
}

struct api_stream *api_list_stream(struct status_view *v, const struct cfg *cfg, bool devices)
{
  struct api_stream *s = stream_new(v, cfg, 1, devices);
  if(!s)
    return NULL;
  rs_buf_puts(&s->d.doc.head, devices ? "{\"devices\":[" : "{\"consumables\":[");
  rs_buf_puts(&s->d.doc.tail, "]}\n");
  if(s->d.doc.head.oom || s->d.doc.tail.oom) {
    api_stream_free(s);
    return NULL;
  }
  return s;
}

enum rs_err api_status_stream(const struct api_gateway_info *g, struct status_view *v,
                              const struct cfg *cfg, struct store *st, struct api_stream **out)
{
  struct api_stream *s = stream_new(v, cfg, 2, true);
  json_t *gw = json_object(), *orders = NULL, *alerts = json_array();
  char **al = NULL;
  size_t nal = 0, i;
  enum rs_err rc = RS_OK;
  bool bad = !s || !gw || !alerts;

  *out = NULL;
  if(bad)
    goto fail;
  /* the text around the two arrays: the gateway object, then the open orders and the alerts */
  gateway_fill(gw, g, s->d.cfg, &bad);
  rs_buf_puts(&s->d.doc.head, "{\"gateway\":");
  bad |= dump_into(gw, &s->d.doc.head) != 0;
  gw = NULL;
  rs_buf_puts(&s->d.doc.head, ",\"devices\":[");
  if(st) {
    rc = orders_array(st, s->d.cfg, true, &orders);
    if(rc)
      goto fail;
  }
  else
    orders = json_array();
  status_alerts(&s->d.v, s->d.cfg, st, &al, &nal);
  for(i = 0; i < nal; i++)
    push(alerts, json_string(al[i]), &bad);
  status_alerts_free(al, nal);
  rs_buf_puts(&s->d.doc.tail, "],\"orders\":");
  bad |= dump_into(orders, &s->d.doc.tail) != 0;
  orders = NULL;
  rs_buf_puts(&s->d.doc.tail, ",\"alerts\":");
  bad |= dump_into(alerts, &s->d.doc.tail) != 0;
  alerts = NULL;
  rs_buf_puts(&s->d.doc.tail, "}\n");
  if(bad || s->d.doc.head.oom || s->d.doc.tail.oom) {
    rc = RS_ERR_NOMEM;
    goto fail;
  }
  *out = s;
  return RS_OK;
fail:
  json_decref(gw);
  json_decref(orders);
  json_decref(alerts);
  api_stream_free(s);
  return rc ? rc : RS_ERR_NOMEM;
}

int api_stream_fill(void *ud, struct rs_buf *out)
{
  struct api_stream *s = ud;
  return docstream_fill(&s->d.doc, out);
}

enum rs_err api_stream_text(struct api_stream *s, struct rs_buf *out)
{
  return docstream_rest(&s->d.doc, out) ? RS_ERR_NOMEM : RS_OK;
}
