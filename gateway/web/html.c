/* SPDX-License-Identifier: Apache-2.0 */
/*
 * html: server-rendered status pages (see html.h).
 */
#include "gateway/web/html.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapters/adapter.h"
#include "base/docstream.h"
#include "gateway/web/viewdoc.h"
#include "base/escape.h"
#include "base/clock.h"

#define DAY_MS INT64_C(86400000)

/* Escape and append, printf-free, for short literal pairs. */
static void esc(struct rs_buf *o, const char *s)
{
  escape_html(o, s);
}

/*
 * The RFC 3339 form of ms in t (40 bytes) and true; or, for none (0 or
 * INT64_MAX), "—" appended to o and false.
 */
static bool stamp(struct rs_buf *o, int64_t ms, char t[40])
{
  if(ms <= 0 || ms == INT64_MAX) {
    rs_buf_puts(o, "\xe2\x80\x94");
    return false;
  }
  clock_format_rfc3339(ms, t, 40);
  return true;
}

/* "2026-12-01 17:51 UTC", or "—" for none. */
static void when(struct rs_buf *o, int64_t ms)
{
  char t[40];
  if(stamp(o, ms, t)) {
    clock_format_minute(ms, t, sizeof(t));
    esc(o, t);
  }
}

/* "2026-12-01", or "—" for none. */
static void day(struct rs_buf *o, int64_t ms)
{
  char t[40];
  if(stamp(o, ms, t)) {
    clock_format_date(ms, t, sizeof(t));
    esc(o, t);
  }
}

/* "5 min ago", "3 h ago", "2 d ago"; nothing for never. */
static void ago(struct rs_buf *o, int64_t ms, int64_t now)
{
  char t[40];
  if(ms > 0) {
    clock_format_ago(now - ms, t, sizeof(t));
    rs_buf_puts(o, t);
  }
}

void html_page_start(struct rs_buf *o, const struct html_frame *f)
{
  rs_buf_puts(o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
  if(f->noindex)
    rs_buf_puts(o, "<meta name=\"robots\" content=\"noindex\">\n");
  if(f->refresh)
    rs_buf_printf(o, "<meta http-equiv=\"refresh\" content=\"%d\">\n", HTML_REFRESH_S);
  rs_buf_puts(o, "<title>");
  esc(o, f->title);
  rs_buf_puts(o, " \xe2\x80\x94 restock</title>\n"
                 "<link rel=\"stylesheet\" href=\"/static/style.css\">\n"
                 "<link rel=\"icon\" href=\"data:,\">\n</head><body>\n<header><h1>");
  rs_buf_puts(o, f->home_link ? "<a href=\"/\">restock</a>" : "restock");
  if(f->cfg && f->cfg->gateway.id) {
    rs_buf_puts(o, " \xc2\xb7 ");
    esc(o, f->cfg->gateway.id);
  }
  rs_buf_puts(o, "</h1>");
  if((f->cfg && f->cfg->gateway.site) || f->now_ms > 0) {
    rs_buf_puts(o, "<p>");
    if(f->cfg && f->cfg->gateway.site) {
      esc(o, f->cfg->gateway.site);
      if(f->now_ms > 0)
        rs_buf_puts(o, " \xc2\xb7 ");
    }
    if(f->now_ms > 0)
      when(o, f->now_ms);
    if(f->now_ms > 0 && f->cfg) {
      /* the plant calendar: the closed period now or next (restock.yaml calendar) */
      const struct cfg_closed *c = cfg_next_closed(f->cfg, f->now_ms);
      if(c) {
        char from[11], to[11];
        cfg_closed_days(c, from, to);
        rs_buf_puts(o, f->now_ms >= c->from_ms ? " \xc2\xb7 closed now: " : " \xc2\xb7 next closed: ");
        if(c->name) {
          esc(o, c->name);
          rs_buf_puts(o, " ");
        }
        rs_buf_printf(o, "%s to %s", from, to);
      }
    }
    rs_buf_puts(o, "</p>");
  }
  rs_buf_puts(o, "</header>\n<main>\n");
}

void html_page_end(struct rs_buf *o, const struct html_frame *f)
{
  rs_buf_puts(o, "</main>\n<footer>");
  if(f->footer)
    esc(o, f->footer);
  else {
    rs_buf_puts(o, "restockd ");
    if(f->version)
      esc(o, f->version);
    rs_buf_printf(o,
                  " \xc2\xb7 this page refreshes every %d s \xc2\xb7 "
                  "<a href=\"/api/v1/status\">JSON</a> \xc2\xb7 <a href=\"/metrics\">metrics</a>",
                  HTML_REFRESH_S);
  }
  rs_buf_puts(o, "</footer>\n</body></html>\n");
}

/* The frame of a status page of x (NULL x: a bare message page). */
static struct html_frame frame_of(const struct html_ctx *x, const char *title, bool refresh)
{
  struct html_frame f;
  memset(&f, 0, sizeof(f));
  f.title = title;
  f.refresh = refresh;
  f.home_link = true;
  if(x) {
    f.cfg = x->cfg;
    f.now_ms = x->v ? x->v->now_ms : 0;
    f.version = x->version;
  }
  return f;
}

static void page_start(struct rs_buf *o, const struct html_ctx *x, const char *title, bool refresh)
{
  struct html_frame f = frame_of(x, title, refresh);
  html_page_start(o, &f);
}

static void page_end(struct rs_buf *o, const struct html_ctx *x)
{
  struct html_frame f = frame_of(x, "", false);
  html_page_end(o, &f);
}

void html_message_page(const char *title, const char *message, struct rs_buf *out)
{
  page_start(out, NULL, title, false);
  rs_buf_puts(out, "<div class=\"card\"><h2>");
  esc(out, title);
  rs_buf_puts(out, "</h2><p>");
  esc(out, message);
  rs_buf_puts(out, "</p><p><a href=\"/\">Back to the dashboard</a></p></div>\n");
  page_end(out, NULL);
}

/* ---- figures --------------------------------------------------------- */

static void level_bar(struct rs_buf *o, const struct status_consumable *sc)
{
  double w;
  if(!sc->has_level)
    return;
  w = sc->level_pct < 0 ? 0 : sc->level_pct > 100 ? 100 : sc->level_pct;
  rs_buf_printf(o,
                "<svg class=\"bar\" viewBox=\"0 0 100 6\" preserveAspectRatio=\"none\" "
                "role=\"img\" aria-label=\"level %.0f%%\"><rect class=\"track\" width=\"100\" "
                "height=\"6\" rx=\"3\"/><rect class=\"fill%s\" width=\"%.1f\" height=\"6\" "
                "rx=\"3\"/></svg>",
                w, w < 20 ? " low" : "", w);
}

static void days_left_text(struct rs_buf *o, const struct status_consumable *sc)
{
  if(!sc->has_level || isnan(sc->days_left))
    rs_buf_puts(o, "\xe2\x80\x94");
  else if(isinf(sc->days_left))
    rs_buf_puts(o, "not depleting");
  else if(sc->days_left < 10)
    rs_buf_printf(o, "%.1f", sc->days_left);
  else
    rs_buf_printf(o, "%.0f", sc->days_left);
}

/* ---- charts ---------------------------------------------------------- */

struct series {
  const struct cfg_consumable *c;
  int64_t from, to;
  size_t nb;
  double *sum;
  unsigned *cnt;
  size_t n_raw;
};

/* store_reading_cb: average the level of each reading into its bucket. */
static int add_reading(void *ud, const char *device, const char *point, int64_t time_ms,
                       double value)
{
  struct series *s = ud;
  double f = cfg_remaining(s->c, value);
  size_t b;
  (void)device;
  (void)point;
  if(isnan(f) || time_ms < s->from || time_ms >= s->to)
    return 0;
  b = (size_t)((double)(time_ms - s->from) / (double)(s->to - s->from) * (double)s->nb);
  if(b >= s->nb)
    b = s->nb - 1;
  s->sum[b] += f * 100.0;
  s->cnt[b]++;
  s->n_raw++;
  return 0;
}

/* Events drawn as vertical markers: replacements and deliveries. */
struct marks {
  struct {
    int64_t t;
    bool delivery;
  } m[32];
  size_t n;
  int64_t from, to;
};

static int add_replacement(void *ud, int64_t time_ms, double before, double after)
{
  struct marks *k = ud;
  (void)before;
  (void)after;
  if(time_ms >= k->from && time_ms <= k->to && k->n < RS_ARRAY_LEN(k->m)) {
    k->m[k->n].t = time_ms;
    k->m[k->n++].delivery = false;
  }
  return 0;
}

/* The figures the detail chart and its legend share. */
struct chart_figs {
  double reorder_pct; /* level at which the default rule orders; NAN when unknown */
  int64_t reorder_at; /* when the prediction reaches it; 0 when unknown or past */
  int64_t order_by;   /* predicted empty minus the lead time; 0 when unknown */
};

/*
 * The reorder point of sc: the level at which the built-in rule
 * `cover_days < lead_time_days + 2` fires at the current rate, i.e. the
 * installed part's level that leaves lead time + 2 days of cover once the
 * spares' life is counted. NAN when the rate is unknown or not falling, or
 * when the spares alone cover it (the order is due when the shelf runs out).
 */
static void chart_figures(const struct status_consumable *sc, int64_t now, struct chart_figs *f)
{
  double spare_days = 0, r;
  memset(f, 0, sizeof(*f));
  f->reorder_pct = NAN;
  if(!sc->has_level)
    return;
  if(sc->empty_at_ms != INT64_MAX && sc->empty_at_ms > now)
    f->order_by = sc->empty_at_ms - (int64_t)(sc->lead_time_days * (double)DAY_MS);
  if(!isfinite(sc->rate_per_day) || sc->rate_per_day <= 0)
    return;
  if(isfinite(sc->cover_days) && isfinite(sc->days_left) && sc->cover_days > sc->days_left)
    spare_days = sc->cover_days - sc->days_left;
  r = sc->rate_per_day * (sc->lead_time_days + 2.0 - spare_days);
  if(r <= 0)
    return;
  f->reorder_pct = r > 100 ? 100 : r;
  if(f->reorder_pct < sc->level_pct)
    f->reorder_at = now + (int64_t)((sc->level_pct - f->reorder_pct) / sc->rate_per_day *
                                    (double)DAY_MS);
}

/* "7 Dec" for the date axis. */
static void axis_day(struct rs_buf *o, int64_t ms)
{
  char t[16];
  clock_format_day_month(ms, t, sizeof(t));
  rs_buf_puts(o, t);
}

/*
 * The detail chart of sc (w x h user units): the stored level of the last
 * HTML_CHART_DAYS days, a value axis (0-100 %) and a date axis (UTC days),
 * the empty line, the reorder point, the "order by" marker (lead time before
 * the predicted empty date), the prediction to empty with its band when the
 * predictor gives bounds, replacements and deliveries. Store errors are
 * returned (nothing usable is then appended); without a store or for a
 * button nothing is appended.
 */
static enum rs_err chart(struct rs_buf *o, struct store *st, const struct status_consumable *sc,
                         const struct marks *mk, const struct chart_figs *cf, int64_t now, int w,
                         int h)
{
  const struct cfg_consumable *c = sc->c;
  struct series s;
  enum rs_err rc;
  int64_t end, span, t, step_days, first_tick;
  int pl = 44, pr = 14, pt = 18, pb = 30;
  double pw = w - pl - pr, ph = h - pt - pb;
  size_t i;
  bool first = true, future;

  if(!st || !c->device || !c->point || c->spec->model == CFG_MODEL_BUTTON)
    return RS_OK;
  memset(&s, 0, sizeof(s));
  s.c = c;
  s.to = now + 1;
  s.from = now - HTML_CHART_DAYS * DAY_MS;
  s.nb = 240;
  s.sum = rs_xcalloc(s.nb, sizeof(*s.sum));
  s.cnt = rs_xcalloc(s.nb, sizeof(*s.cnt));
  rc = store_readings_range(st, c->device->id, c->point->id, s.from, s.to, add_reading, &s);
  if(rc)
    goto out;
  future = sc->has_level && sc->empty_at_ms != INT64_MAX && sc->empty_at_ms > now;
  /* the future shown: to two days past empty, at most 45 days; 3 days when not depleting */
  end = now + 3 * DAY_MS;
  if(future) {
    end = sc->empty_at_ms + 2 * DAY_MS;
    if(end > now + 45 * DAY_MS)
      end = now + 45 * DAY_MS;
  }
  span = end - s.from;

#define XPOS(tt) (pl + (double)((tt)-s.from) / (double)span * pw)
#define YPOS(v) (pt + (1.0 - (v) / 100.0) * ph)
#define INSIDE(tt) ((tt) >= s.from && (tt) <= end)

  rs_buf_printf(o,
                "<svg class=\"chart\" viewBox=\"0 0 %d %d\" role=\"img\" aria-labelledby=\"chart-t\">"
                "<title id=\"chart-t\">Level of ",
                w, h);
  esc(o, c->full_id);
  rs_buf_printf(o, " over the last %d days and predicted to empty</title>", HTML_CHART_DAYS);
  rs_buf_printf(o, "<rect class=\"frame\" x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\"/>", pl,
                pt, pw, ph);
  /* value axis: grid and labels every 25 % */
  rs_buf_puts(o, "<g class=\"yaxis\">");
  for(i = 0; i <= 4; i++) {
    double v = 25.0 * (double)i;
    rs_buf_printf(o,
                  "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\"/>"
                  "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.0f%%</text>",
                  pl, YPOS(v), pl + pw, YPOS(v), pl - 4, YPOS(v) + 4, v);
  }
  rs_buf_puts(o, "</g>");
  /* date axis: a tick at UTC midnight every step_days, at most about 8 labels */
  step_days = span / DAY_MS / 8 + 1;
  if(step_days > 2 && step_days <= 7)
    step_days = 7;
  else if(step_days > 7)
    step_days = 14;
  first_tick = (s.from / DAY_MS + 1) * DAY_MS;
  rs_buf_puts(o, "<g class=\"xaxis\">");
  for(t = first_tick; t <= end; t += step_days * DAY_MS) {
    rs_buf_printf(o,
                  "<line class=\"tick\" x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\"/>"
                  "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">",
                  XPOS(t), pt + ph, XPOS(t), pt + ph + 4, XPOS(t), h - 14);
    axis_day(o, t);
    rs_buf_puts(o, "</text>");
  }
  rs_buf_puts(o, "</g>");
  /* the empty line and the reorder point */
  rs_buf_printf(o,
                "<line class=\"emptyline\" x1=\"%d\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\"/>"
                "<text class=\"lbl\" x=\"%d\" y=\"%.1f\">empty line</text>",
                pl, YPOS(0.0), pl + pw, YPOS(0.0), pl + 4, YPOS(0.0) - 3);
  if(!isnan(cf->reorder_pct))
    rs_buf_printf(o,
                  "<g class=\"reorder\"><line x1=\"%d\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\"/>"
                  "<text class=\"lbl\" x=\"%d\" y=\"%.1f\">reorder point %.0f%%</text></g>",
                  pl, YPOS(cf->reorder_pct), pl + pw, YPOS(cf->reorder_pct), pl + 4,
                  YPOS(cf->reorder_pct) - 3, cf->reorder_pct);
  /* now */
  rs_buf_printf(o,
                "<line class=\"now\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.0f\"/>"
                "<text class=\"lbl\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">now</text>",
                XPOS(now), pt, XPOS(now), pt + ph, XPOS(now), pt - 5);
  /* replacements and deliveries */
  for(i = 0; mk && i < mk->n; i++) {
    if(!INSIDE(mk->m[i].t))
      continue;
    rs_buf_printf(o,
                  "<g class=\"%s\"><line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.0f\"/>"
                  "<text class=\"lbl\" x=\"%.1f\" y=\"%.0f\">%s</text></g>",
                  mk->m[i].delivery ? "deliv" : "repl", XPOS(mk->m[i].t), pt, XPOS(mk->m[i].t),
                  pt + ph, XPOS(mk->m[i].t) + 3, pt + (mk->m[i].delivery ? 24.0 : 12.0),
                  mk->m[i].delivery ? "delivered" : "replaced");
  }
  if(s.n_raw) {
    rs_buf_puts(o, "<polyline class=\"hist\" points=\"");
    for(i = 0; i < s.nb; i++) {
      double tb, y;
      if(!s.cnt[i])
        continue;
      tb = (double)s.from + ((double)i + 0.5) * (double)(s.to - s.from) / (double)s.nb;
      y = s.sum[i] / s.cnt[i];
      rs_buf_printf(o, "%s%.1f,%.1f", first ? "" : " ", XPOS((int64_t)tb), YPOS(y));
      first = false;
    }
    rs_buf_puts(o, "\"/>");
  }
  else
    rs_buf_printf(o,
                  "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">no readings stored "
                  "yet</text>",
                  pl + pw / 2, pt + ph / 2);
  if(future) {
    double L = sc->level_pct, total = (double)(sc->empty_at_ms - now);
    int64_t stop = sc->empty_at_ms < end ? sc->empty_at_ms : end;
    double end_level = L * (1.0 - (double)(stop - now) / total);
    /* the band between the 10th and 90th percentile of the empty date */
    if(isfinite(sc->days_left_p10) && sc->days_left_p10 > 0 && !isnan(sc->days_left_p90) &&
       sc->days_left_p90 >= sc->days_left_p10) {
      int64_t t10 = now + (int64_t)(sc->days_left_p10 * (double)DAY_MS);
      double l10 = 0, l90 = 0;
      int64_t e10 = t10 < end ? t10 : end, e90 = end;
      if(t10 > end)
        l10 = L * (1.0 - (double)(end - now) / (double)(t10 - now));
      if(isfinite(sc->days_left_p90)) {
        int64_t t90 = now + (int64_t)(sc->days_left_p90 * (double)DAY_MS);
        if(t90 <= end)
          e90 = t90;
        else
          l90 = L * (1.0 - (double)(end - now) / (double)(t90 - now));
      }
      else
        l90 = L;
      /* lower edge (p10) to the axis, along it, up to the end of the upper edge (p90) */
      rs_buf_printf(o, "<polygon class=\"band\" points=\"%.1f,%.1f %.1f,%.1f", XPOS(now), YPOS(L),
                    XPOS(e10), YPOS(l10));
      if(l10 <= 0)
        rs_buf_printf(o, " %.1f,%.1f", XPOS(l90 <= 0 ? e90 : end), YPOS(0.0));
      rs_buf_printf(o, " %.1f,%.1f\"/>", XPOS(e90), YPOS(l90));
    }
    rs_buf_printf(o, "<polyline class=\"pred\" points=\"%.1f,%.1f %.1f,%.1f\"/>", XPOS(now),
                  YPOS(L), XPOS(stop), YPOS(end_level));
    if(cf->reorder_at > now && cf->reorder_at <= end && !isnan(cf->reorder_pct))
      rs_buf_printf(o, "<circle class=\"reorder\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\"/>",
                    XPOS(cf->reorder_at), YPOS(cf->reorder_pct));
    if(cf->order_by && INSIDE(cf->order_by))
      rs_buf_printf(o,
                    "<g class=\"orderby\"><line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.0f\"/>"
                    "<text class=\"lbl\" x=\"%.1f\" y=\"%.0f\" text-anchor=\"end\">order by</text>"
                    "</g>",
                    XPOS(cf->order_by), pt, XPOS(cf->order_by), pt + ph, XPOS(cf->order_by) - 3,
                    pt + ph - 6);
    if(INSIDE(sc->empty_at_ms))
      rs_buf_printf(o,
                    "<g class=\"emptyat\"><line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.0f\"/>"
                    "<text class=\"lbl\" x=\"%.1f\" y=\"%.0f\">empty</text></g>",
                    XPOS(sc->empty_at_ms), pt, XPOS(sc->empty_at_ms), pt + ph,
                    XPOS(sc->empty_at_ms) + 3, pt + ph - 18);
  }
  rs_buf_puts(o, "</svg>\n");
#undef XPOS
#undef YPOS
#undef INSIDE
out:
  free(s.sum);
  free(s.cnt);
  return rc;
}

/* ---- orders ---------------------------------------------------------- */

static void money_text(struct rs_buf *o, int64_t minor, const char *currency)
{
  char buf[40];
  cfg_format_money_in(currency, minor, buf, sizeof(buf));
  rs_buf_printf(o, "<span class=\"num\">%s\xc2\xa0", buf);
  esc(o, currency);
  rs_buf_puts(o, "</span>");
}

static void badge(struct rs_buf *o, const char *cls, const char *text)
{
  rs_buf_puts(o, "<span class=\"badge ");
  esc(o, cls);
  rs_buf_puts(o, "\">");
  esc(o, text);
  rs_buf_puts(o, "</span>");
}

/*
 * Open an inline POST form to action, up to the value of its CSRF token
 * field: the caller closes the tag ("\">"), adds its fields and ends it.
 */
static void form_open(struct rs_buf *o, const struct html_ctx *x, const char *action)
{
  char tok[80];
  x->csrf(x->csrf_ud, action, tok, sizeof(tok));
  rs_buf_puts(o, "<form class=\"inline\" method=\"post\" action=\"");
  esc(o, action);
  rs_buf_puts(o, "\"><input type=\"hidden\" name=\"csrf\" value=\"");
  esc(o, tok);
}

static void decision_forms(struct rs_buf *o, const struct html_ctx *x, const char *id)
{
  char action[128];
  static const char *const what[] = {"approve", "reject"};
  size_t i;
  if(!x->csrf)
    return;
  for(i = 0; i < 2; i++) {
    if(rs_snprintf(action, sizeof(action), "/orders/%s/%s", id, what[i]))
      return;
    form_open(o, x, action);
    rs_buf_printf(o, "\"><button type=\"submit\" class=\"%s\">%s</button></form>", what[i],
                  i == 0 ? "Approve" : "Reject");
  }
}

/* A card for a pending order: lines, total, reasons and the two forms. */
static void pending_card(struct rs_buf *o, const struct html_ctx *x,
                         const struct store_order_full *f)
{
  const struct store_order *h = &f->order;
  size_t i;
  const char *reason = NULL;
  for(i = 0; i < f->n_transitions; i++)
    if(f->transitions[i].to == STORE_ORDER_PENDING_APPROVAL)
      reason = f->transitions[i].cause;
  rs_buf_puts(o, "<div class=\"card pending\" id=\"pending-");
  esc(o, h->id);
  rs_buf_puts(o, "\"><div class=\"row\"><span class=\"name\"><a href=\"/orders/");
  esc(o, h->id);
  rs_buf_puts(o, "\">");
  esc(o, h->id);
  rs_buf_puts(o, "</a></span><span>");
  money_text(o, h->total, h->currency);
  rs_buf_puts(o, "</span></div><div class=\"muted\">");
  esc(o, h->supplier);
  rs_buf_printf(o, " \xc2\xb7 %zu line%s", f->n_lines, f->n_lines == 1 ? "" : "s");
  for(i = 0; i < f->n_lines && i < 5; i++) {
    rs_buf_puts(o, i ? ", " : ": ");
    rs_buf_printf(o, "%" PRId64 " \xc3\x97 ", f->lines[i].quantity);
    esc(o, f->lines[i].sku);
  }
  rs_buf_puts(o, "</div>");
  if(reason) {
    rs_buf_puts(o, "<div class=\"muted\">Why: ");
    esc(o, reason);
    rs_buf_puts(o, "</div>");
  }
  decision_forms(o, x, h->id);
  rs_buf_puts(o, "</div>\n");
}

static enum rs_err pending_section(struct rs_buf *o, const struct html_ctx *x)
{
  struct store_order_ids l = {0};
  enum rs_err rc = store_list_order_ids(x->st, STORE_IDS_PENDING, 0, &l);
  size_t i;
  if(rc)
    goto out;
  if(!l.n)
    goto out;
  rs_buf_printf(o, "<section id=\"approvals\"><h2>Waiting for approval (%zu)</h2>\n", l.n);
  for(i = 0; i < l.n; i++) {
    struct store_order_full *f = NULL;
    if(store_get_order(x->st, l.ids[i], &f) != RS_OK)
      continue;
    pending_card(o, x, f);
    store_order_full_free(f);
  }
  rs_buf_puts(o, "</section>\n");
out:
  free(l.ids);
  return rc;
}

static enum rs_err orders_section(struct rs_buf *o, const struct html_ctx *x)
{
  struct store_order_ids l = {0};
  enum rs_err rc = store_list_order_ids(x->st, STORE_IDS_OPEN, 50, &l);
  size_t i;
  if(rc)
    goto out;
  rs_buf_puts(o, "<section id=\"orders\"><h2>Open orders</h2>\n");
  if(!l.n) {
    rs_buf_puts(o, "<p class=\"muted\">No open orders.</p></section>\n");
    goto out;
  }
  rs_buf_puts(o,
              "<div class=\"scroll\"><table><thead><tr><th>Order</th><th>State</th>"
              "<th class=\"wide\">Supplier</th><th>Total</th><th class=\"wide\">Updated</th></tr>"
              "</thead><tbody>\n");
  for(i = 0; i < l.n; i++) {
    struct store_order_full *f = NULL;
    const char *st;
    if(store_get_order(x->st, l.ids[i], &f) != RS_OK)
      continue;
    st = store_order_state_name(f->order.state);
    rs_buf_puts(o, "<tr class=\"order\" id=\"order-");
    esc(o, f->order.id);
    rs_buf_puts(o, "\"><td><a href=\"/orders/");
    esc(o, f->order.id);
    rs_buf_puts(o, "\">");
    esc(o, f->order.id);
    rs_buf_puts(o, "</a></td><td>");
    badge(o, st, st);
    if(f->order.state == STORE_ORDER_APPROVED && x->cfg && !x->cfg->commerce.set)
      rs_buf_puts(o, "<div class=\"muted\">not sent: no shop configured</div>");
    rs_buf_puts(o, "</td><td class=\"wide\">");
    esc(o, f->order.supplier);
    rs_buf_puts(o, "</td><td>");
    money_text(o, f->order.total, f->order.currency);
    rs_buf_puts(o, "</td><td class=\"wide\">");
    when(o, f->order.updated_ms);
    rs_buf_puts(o, "</td></tr>\n");
    store_order_full_free(f);
  }
  rs_buf_puts(o, "</tbody></table></div></section>\n");
out:
  free(l.ids);
  return rc;
}

/* ---- pages ----------------------------------------------------------- */

static void consumable_meta(struct rs_buf *o, const struct html_ctx *x,
                            const struct status_consumable *sc)
{
  const struct cfg_consumable *c = sc->c;
  size_t i;
  rs_buf_puts(o, "<div class=\"muted\">");
  esc(o, c->spec->sku);
  if(c->spec->kind) {
    rs_buf_puts(o, " \xc2\xb7 ");
    esc(o, c->spec->kind);
  }
  for(i = 0; i < c->spec->n_labels; i++) {
    rs_buf_puts(o, " \xc2\xb7 ");
    esc(o, c->spec->labels[i].key);
    rs_buf_puts(o, "=");
    esc(o, c->spec->labels[i].value);
  }
  if(sc->value_ms > 0) {
    rs_buf_puts(o, " \xc2\xb7 read ");
    ago(o, sc->value_ms, x->v->now_ms);
  }
  if(sc->open_order[0]) {
    rs_buf_puts(o, " \xc2\xb7 on order <a href=\"/orders/");
    esc(o, sc->open_order);
    rs_buf_puts(o, "\">");
    esc(o, sc->open_order);
    rs_buf_puts(o, "</a>");
  }
  else if(sc->open_line)
    rs_buf_puts(o, " \xc2\xb7 order line waiting for a batch");
  rs_buf_puts(o, "</div>");
}

/* ---- the overview table ----------------------------------------------- */

enum col { COL_DEVICE, COL_PART, COL_SKU, COL_LEVEL, COL_DAYS, COL_EMPTY, COL_SPARES, COL_ON_ORDER,
           COL_STATE, COL_COUNT };

static const struct {
  const char *key, *label;
  bool numeric;
  bool desc_first; /* the first click sorts descending */
} cols[COL_COUNT] = {
    [COL_DEVICE] = {"device", "Device", false, false},
    [COL_PART] = {"part", "Part", false, false},
    [COL_SKU] = {"sku", "SKU", false, false},
    [COL_LEVEL] = {"level", "Level", true, false},
    [COL_DAYS] = {"days", "Days left", true, false},
    [COL_EMPTY] = {"empty", "Empty", true, false},
    [COL_SPARES] = {"spares", "Spares", true, false},
    [COL_ON_ORDER] = {"on_order", "On order", true, true},
    [COL_STATE] = {"state", "State", false, true},
};

/* The sort and filters in effect, validated. */
struct view_opts {
  enum col sort;
  bool desc;
  const char *device, *kind; /* NULL: all */
  bool has_state;
  enum status_state state;
};

static struct view_opts view_opts_of(const struct html_query *q)
{
  struct view_opts o;
  unsigned i;
  memset(&o, 0, sizeof(o));
  o.sort = COL_STATE;
  o.desc = true;
  if(q->sort)
    for(i = 0; i < COL_COUNT; i++)
      if(!strcmp(q->sort, cols[i].key)) {
        o.sort = (enum col)i;
        o.desc = cols[i].desc_first;
      }
  if(q->dir && !strcmp(q->dir, "asc"))
    o.desc = false;
  else if(q->dir && !strcmp(q->dir, "desc"))
    o.desc = true;
  o.device = q->device && q->device[0] ? q->device : NULL;
  o.kind = q->kind && q->kind[0] ? q->kind : NULL;
  if(q->state && q->state[0] && !status_state_parse(q->state, &o.state))
    o.has_state = true;
  return o;
}

/* href of the overview with sort column c in direction desc and the filters of vo (escaped). */
static void overview_href(struct rs_buf *o, const struct view_opts *vo, enum col c, bool desc)
{
  rs_buf_printf(o, "/?sort=%s&amp;dir=%s", cols[c].key, desc ? "desc" : "asc");
  if(vo->device) {
    rs_buf_puts(o, "&amp;device=");
    escape_url(o, vo->device);
  }
  if(vo->kind) {
    rs_buf_puts(o, "&amp;kind=");
    escape_url(o, vo->kind);
  }
  if(vo->has_state)
    rs_buf_printf(o, "&amp;state=%s", status_state_name(vo->state));
}

static int cmp_str(const char *a, const char *b)
{
  return strcmp(a ? a : "", b ? b : "");
}

/* NAN sorts last whatever the direction; -1/0/1 otherwise. */
static int cmp_num(double a, double b)
{
  return a < b ? -1 : a > b ? 1 : 0;
}

static double days_key(const struct status_consumable *sc)
{
  return sc->has_level ? sc->days_left : NAN;
}

struct sort_ctx {
  const struct status_view *v;
  struct view_opts vo;
};
static struct sort_ctx sort_ctx; /* qsort has no user pointer; the main loop is single-threaded */

/* Compare two rows on column c: *unknown set when either side has no value. */
static int cmp_col(const struct status_consumable *a, const struct status_consumable *b, enum col c,
                   int *unknown)
{
  double x = NAN, y = NAN;
  *unknown = 0;
  switch(c) {
  case COL_DEVICE:
    return cmp_str(a->c->device ? a->c->device->id : "", b->c->device ? b->c->device->id : "");
  case COL_PART:
    return cmp_str(a->c->id, b->c->id);
  case COL_SKU:
    return cmp_str(a->c->spec->sku, b->c->spec->sku);
  case COL_STATE:
    return status_state_rank(a->state) - status_state_rank(b->state);
  case COL_LEVEL:
    x = a->has_level ? a->level_pct : NAN;
    y = b->has_level ? b->level_pct : NAN;
    break;
  case COL_DAYS:
    x = days_key(a);
    y = days_key(b);
    break;
  case COL_EMPTY:
    x = a->has_level && a->empty_at_ms != INT64_MAX ? (double)a->empty_at_ms : NAN;
    y = b->has_level && b->empty_at_ms != INT64_MAX ? (double)b->empty_at_ms : NAN;
    break;
  case COL_SPARES:
    x = (double)a->spares;
    y = (double)b->spares;
    break;
  case COL_ON_ORDER:
    x = (double)a->on_order;
    y = (double)b->on_order;
    break;
  case COL_COUNT:
    break;
  }
  if(isnan(x) || isnan(y)) {
    *unknown = isnan(x) && isnan(y) ? 0 : isnan(x) ? 1 : -1;
    return 0;
  }
  return cmp_num(x, y);
}

/*
 * Row order: the chosen column in the chosen direction (rows without a
 * value last), then the most urgent state, then the fewest days left, then
 * config order.
 */
static int cmp_rows(const void *pa, const void *pb)
{
  size_t ia = *(const size_t *)pa, ib = *(const size_t *)pb;
  const struct status_consumable *a = &sort_ctx.v->consumables[ia],
                                 *b = &sort_ctx.v->consumables[ib];
  int unknown, r = cmp_col(a, b, sort_ctx.vo.sort, &unknown);
  if(unknown)
    return unknown;
  if(r)
    return sort_ctx.vo.desc ? -r : r;
  if(sort_ctx.vo.sort != COL_STATE && (r = cmp_col(a, b, COL_STATE, &unknown)) != 0)
    return -r;
  if(sort_ctx.vo.sort != COL_DAYS) {
    r = cmp_col(a, b, COL_DAYS, &unknown);
    if(unknown)
      return unknown;
    if(r)
      return r;
  }
  return ia < ib ? -1 : ia > ib ? 1 : 0;
}

static bool row_shown(const struct status_consumable *sc, const struct view_opts *vo)
{
  if(vo->device && (!sc->c->device || strcmp(vo->device, sc->c->device->id)))
    return false;
  if(vo->kind && (!sc->c->spec->kind || strcmp(vo->kind, sc->c->spec->kind)))
    return false;
  if(vo->has_state && sc->state != vo->state)
    return false;
  return true;
}

/* A <select> of the distinct values vals[0..n) (already sorted), `cur` selected. */
static void select_field(struct rs_buf *o, const char *name, const char *label,
                         const char *const *vals, size_t n, const char *cur)
{
  size_t i;
  rs_buf_printf(o, "<label>%s <select name=\"%s\"><option value=\"\">all</option>", label, name);
  for(i = 0; i < n; i++) {
    if(i && !strcmp(vals[i], vals[i - 1]))
      continue;
    rs_buf_puts(o, "<option");
    if(cur && !strcmp(cur, vals[i]))
      rs_buf_puts(o, " selected");
    rs_buf_puts(o, ">");
    esc(o, vals[i]);
    rs_buf_puts(o, "</option>");
  }
  rs_buf_puts(o, "</select></label>\n");
}

static int cmp_cstr(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The filter form: device, kind and state selects; sort kept in hidden fields. */
static void filter_form(struct rs_buf *o, const struct html_ctx *x, const struct view_opts *vo)
{
  const struct status_view *v = x->v;
  const char **vals = rs_xcalloc(v->n_consumables ? v->n_consumables : 1, sizeof(*vals));
  size_t i, n = 0;
  unsigned k;

  rs_buf_puts(o, "<form class=\"filters\" method=\"get\" action=\"/\">\n");
  for(i = 0; i < v->n_consumables; i++)
    if(v->consumables[i].c->device)
      vals[n++] = v->consumables[i].c->device->id;
  qsort(vals, n, sizeof(*vals), cmp_cstr);
  select_field(o, "device", "Device", vals, n, vo->device);
  n = 0;
  for(i = 0; i < v->n_consumables; i++)
    if(v->consumables[i].c->spec->kind)
      vals[n++] = v->consumables[i].c->spec->kind;
  qsort(vals, n, sizeof(*vals), cmp_cstr);
  select_field(o, "kind", "Kind", vals, n, vo->kind);
  free(vals);
  rs_buf_puts(o, "<label>State <select name=\"state\"><option value=\"\">all</option>");
  for(k = STATUS_STATE_COUNT; k-- > 0;) {
    rs_buf_printf(o, "<option value=\"%s\"%s>%s</option>", status_state_name((enum status_state)k),
                  vo->has_state && vo->state == k ? " selected" : "",
                  status_state_label((enum status_state)k));
  }
  rs_buf_puts(o, "</select></label>\n");
  rs_buf_printf(o,
                "<input type=\"hidden\" name=\"sort\" value=\"%s\">"
                "<input type=\"hidden\" name=\"dir\" value=\"%s\">"
                "<button type=\"submit\">Filter</button> <a href=\"/\">Clear</a></form>\n",
                cols[vo->sort].key, vo->desc ? "desc" : "asc");
}

/* A compact level bar (hidden from screen readers: the number beside it says the same). */
static void row_bar(struct rs_buf *o, const struct status_consumable *sc)
{
  double w = sc->level_pct < 0 ? 0 : sc->level_pct > 100 ? 100 : sc->level_pct;
  rs_buf_printf(o, "<meter max=\"100\" low=\"20\" optimum=\"100\" value=\"%.1f\" "
                   "aria-hidden=\"true\"></meter>", w);
}

/* Days left, with " (p10–p90)" once the predictor gives bounds. */
static void days_cell(struct rs_buf *o, const struct status_consumable *sc)
{
  days_left_text(o, sc);
  /* bounds that round to one number (an empty part: 0-0) say nothing */
  if(sc->has_level && isfinite(sc->days_left_p10) && !isnan(sc->days_left_p90) &&
     sc->days_left_p90 - sc->days_left_p10 >= 0.5) {
    rs_buf_printf(o, "<span class=\"bounds\"> (%.0f\xe2\x80\x93", sc->days_left_p10);
    if(isinf(sc->days_left_p90))
      rs_buf_puts(o, "\xe2\x88\x9e)</span>");
    else
      rs_buf_printf(o, "%.0f)</span>", sc->days_left_p90);
  }
}

static void overview_row(struct rs_buf *o, const struct status_consumable *sc)
{
  const struct cfg_consumable *c = sc->c;
  const char *st = status_state_name(sc->state);
  rs_buf_printf(o, "<tr class=\"s-%s\"><td>", st);
  esc(o, c->device ? c->device->id : "");
  rs_buf_puts(o, "</td><td><a href=\"/consumables/");
  esc(o, c->device ? c->device->id : "");
  rs_buf_puts(o, "/");
  esc(o, c->id);
  rs_buf_puts(o, "\">");
  esc(o, c->id);
  rs_buf_puts(o, "</a></td><td>");
  esc(o, c->spec->sku);
  rs_buf_puts(o, "</td><td>");
  if(c->spec->model == CFG_MODEL_BUTTON)
    rs_buf_puts(o, "button");
  else if(sc->has_level) {
    row_bar(o, sc);
    rs_buf_printf(o, "%.0f%%", sc->level_pct);
  }
  else
    rs_buf_puts(o, "\xe2\x80\x94");
  rs_buf_puts(o, "</td><td>");
  if(c->spec->model != CFG_MODEL_BUTTON)
    days_cell(o, sc);
  rs_buf_puts(o, "</td><td>");
  day(o, sc->has_level ? sc->empty_at_ms : 0);
  rs_buf_printf(o, "</td><td>%" PRId64 "</td><td>", sc->spares);
  if(sc->open_order[0]) {
    /* the number links to the order (its id in the link's name: a short column) */
    rs_buf_puts(o, "<a href=\"/orders/");
    esc(o, sc->open_order);
    rs_buf_printf(o, "\" aria-label=\"%" PRId64 " on order ", sc->on_order);
    esc(o, sc->open_order);
    rs_buf_printf(o, "\">%" PRId64 "</a>", sc->on_order);
  }
  else
    rs_buf_printf(o, "%" PRId64, sc->on_order);
  rs_buf_printf(o, "</td><td><span class=\"badge %s\">%s</span></td></tr>\n", st,
                status_state_label(sc->state));
}

/*
 * The overview up to its rows: the filter form, then the table's head with
 * column headers that are links sorting by that column (again: the other
 * direction). Returns the rows to show (indexes into x->v->consumables, in
 * the chosen order; caller frees) and their number in *n, and sets *table
 * when the table is open (its rows and end follow: overview_end()).
 */
static size_t *overview_head(struct rs_buf *o, const struct html_ctx *x, size_t *n, bool *table)
{
  const struct status_view *v = x->v;
  struct view_opts vo = view_opts_of(&x->q);
  size_t *rows = rs_xcalloc(v->n_consumables ? v->n_consumables : 1, sizeof(*rows));
  size_t i;
  unsigned c;

  *n = 0;
  *table = false;
  for(i = 0; i < v->n_consumables; i++)
    if(row_shown(&v->consumables[i], &vo))
      rows[(*n)++] = i;
  sort_ctx.v = v;
  sort_ctx.vo = vo;
  qsort(rows, *n, sizeof(*rows), cmp_rows);
  sort_ctx.v = NULL;

  rs_buf_puts(o, "<section id=\"consumables\" aria-labelledby=\"consumables-h\">"
                 "<h2 id=\"consumables-h\">Consumables</h2>\n");
  filter_form(o, x, &vo);
  rs_buf_printf(o, "<p class=\"muted\" id=\"shown\">%zu of %zu shown</p>\n", *n, v->n_consumables);
  if(!v->n_consumables) {
    rs_buf_puts(o, "<p class=\"muted\">No consumables configured.</p></section>\n");
    return rows;
  }
  *table = true;
  rs_buf_puts(o, "<div class=\"scroll\"><table class=\"overview\"><thead><tr>");
  for(c = 0; c < COL_COUNT; c++) {
    bool cur = vo.sort == c;
    bool next_desc = cur ? !vo.desc : cols[c].desc_first;
    rs_buf_printf(o, "<th scope=\"col\"%s%s><a href=\"", cols[c].numeric ? " class=\"n\"" : "",
                  cur ? (vo.desc ? " aria-sort=\"descending\"" : " aria-sort=\"ascending\"") : "");
    overview_href(o, &vo, (enum col)c, next_desc);
    rs_buf_printf(o, "\">%s%s</a></th>", cols[c].label,
                  cur ? (vo.desc ? " \xe2\x96\xbc" : " \xe2\x96\xb2") : "");
  }
  rs_buf_puts(o, "</tr></thead><tbody>\n");
  return rows;
}

/* The end of the overview's table (after overview_head() opened it). */
static void overview_end(struct rs_buf *o)
{
  rs_buf_puts(o, "</tbody></table></div></section>\n");
}

/*
 * The devices section up to its rows; false when there is no device (the
 * section is then whole: no rows and no devices_end()).
 */
static bool devices_head(struct rs_buf *o, const struct status_view *v)
{
  rs_buf_puts(o, "<section id=\"devices\"><h2>Devices</h2>\n");
  if(!v->n_devices) {
    rs_buf_puts(o, "<p class=\"muted\">No devices configured.</p></section>\n");
    return false;
  }
  rs_buf_puts(o, "<div class=\"scroll\"><table><thead><tr><th>Device</th><th>State</th>"
                 "<th>Last poll</th><th>RTT</th><th>Errors</th></tr></thead><tbody>\n");
  return true;
}

static void device_row(struct rs_buf *o, const struct status_view *v, const struct status_device *d)
{
  bool any = false;
  unsigned k;
  rs_buf_puts(o, "<tr class=\"device\" id=\"dev-");
  esc(o, d->s.id);
  rs_buf_puts(o, "\"><td>");
  esc(o, d->s.id);
  if(d->dev) {
    rs_buf_puts(o, "<div class=\"muted\">");
    esc(o, cfg_transport_name(d->dev->transport));
    rs_buf_puts(o, "</div>");
  }
  rs_buf_puts(o, "</td><td>");
  badge(o, d->s.up ? "up" : "down", d->s.up ? "up" : "down");
  if(d->s.consecutive_failures)
    rs_buf_printf(o, "<div class=\"muted\">%" PRId64 " failed in a row</div>",
                  d->s.consecutive_failures);
  rs_buf_puts(o, "</td><td>");
  if(d->s.last_success_ms > 0)
    ago(o, d->s.last_success_ms, v->now_ms);
  else
    rs_buf_puts(o, "never");
  rs_buf_puts(o, "</td><td>");
  if(d->s.rtt_ms >= 0)
    rs_buf_printf(o, "%" PRId64 " ms", d->s.rtt_ms);
  else
    rs_buf_puts(o, "\xe2\x80\x94");
  rs_buf_puts(o, "</td><td>");
  for(k = 0; k < SCHED_ERR_KINDS; k++) {
    if(!d->s.errors[k])
      continue;
    rs_buf_printf(o, "%s%s\xc2\xa0%" PRIu64, any ? ", " : "",
                  scheduler_error_kind_name((unsigned)k), d->s.errors[k]);
    any = true;
  }
  if(!any)
    rs_buf_puts(o, "0");
  rs_buf_puts(o, "</td></tr>\n");
}

static void devices_end(struct rs_buf *o)
{
  rs_buf_puts(o, "</tbody></table></div></section>\n");
}

/* Alerts of one kind shown one by one; the rest are summed up with a link. */
#define ALERTS_PER_KIND 3

/* Where the rest of a kind's alerts are listed, or NULL. */
static const char *alerts_more_href(const char *kind)
{
  if(!strcmp(kind, "empty"))
    return "/?state=empty";
  if(!strcmp(kind, "stale"))
    return "/?state=stale";
  if(!strcmp(kind, "device_down"))
    return "/#devices";
  return NULL;
}

/*
 * The alerts banner: one line per alert with a link to what it is about,
 * at most ALERTS_PER_KIND of a kind (status_alert_items() keeps a kind's
 * alerts together), then "N more" with a link to the filtered overview.
 */
static void alerts_section(struct rs_buf *o, const struct html_ctx *x)
{
  struct status_alert *al = NULL;
  size_t n = 0, i, j;
  status_alert_items(x->v, x->cfg, x->st, &al, &n);
  if(n) {
    rs_buf_printf(o, "<section id=\"alerts\" aria-labelledby=\"alerts-h\">"
                     "<h2 id=\"alerts-h\">Alerts (%zu)</h2><ul class=\"alerts\">\n", n);
    for(i = 0; i < n; i = j) {
      size_t shown = 0;
      const char *more;
      for(j = i; j < n && !strcmp(al[j].kind, al[i].kind); j++) {
        if(shown++ >= ALERTS_PER_KIND)
          continue;
        rs_buf_puts(o, "<li class=\"a-");
        esc(o, al[j].kind);
        rs_buf_puts(o, "\">");
        if(al[j].href) {
          rs_buf_puts(o, "<a href=\"");
          esc(o, al[j].href);
          rs_buf_puts(o, "\">");
        }
        esc(o, al[j].text);
        if(al[j].href)
          rs_buf_puts(o, "</a>");
        rs_buf_puts(o, "</li>\n");
      }
      if(shown <= ALERTS_PER_KIND)
        continue;
      more = alerts_more_href(al[i].kind);
      rs_buf_puts(o, "<li class=\"a-");
      esc(o, al[i].kind);
      rs_buf_puts(o, " more\">");
      if(more)
        rs_buf_printf(o, "<a href=\"%s\">", more);
      rs_buf_printf(o, "%zu more of this kind", shown - ALERTS_PER_KIND);
      if(more)
        rs_buf_puts(o, "</a>");
      rs_buf_puts(o, "</li>\n");
    }
    rs_buf_puts(o, "</ul></section>\n");
  }
  status_alert_items_free(al, n);
}

/*
 * The dashboard written while it is sent: what needs the store (alerts,
 * pending approvals, orders) and the frame are made at once, into the head,
 * the text between the two tables (mid) and the tail; the rows of the
 * overview (section 0) and of the devices (section 1) are written from the
 * view as the socket takes them. 1.5 MB of HTML at 5 000 consumables is
 * never held whole (docs/BENCHMARKS.md, where the RSS goes).
 */
struct html_stream {
  struct viewdoc d;     /* the view (moved in), the config reference, the place */
  size_t *rows;         /* the overview's rows in their order (indexes into v.consumables) */
  size_t n_rows;
  struct rs_buf mid;    /* the overview's end, pending approvals, the devices' head */
  bool devices_table;   /* section 1 has rows */
};

static void dash_open(void *ud, size_t sec, struct rs_buf *out)
{
  struct html_stream *s = ud;
  if(sec == 1)
    rs_buf_append(out, s->mid.data ? s->mid.data : "", s->mid.len);
}

static size_t dash_count(void *ud, size_t sec)
{
  const struct html_stream *s = ud;
  return sec == 0 ? s->n_rows : s->devices_table ? s->d.v.n_devices : 0;
}

static bool dash_item(void *ud, size_t sec, size_t i, struct rs_buf *out)
{
  struct html_stream *s = ud;
  if(sec == 0)
    overview_row(out, &s->d.v.consumables[s->rows[i]]);
  else
    device_row(out, &s->d.v, &s->d.v.devices[i]);
  return !out->oom;
}

static const struct docstream_ops dash_ops = {dash_open, dash_count, dash_item};

int html_stream_fill(void *ud, struct rs_buf *out)
{
  return docstream_fill(&((struct html_stream *)ud)->d.doc, out);
}

void html_stream_free(void *ud)
{
  struct html_stream *s = ud;
  if(!s)
    return;
  rs_buf_free(&s->mid);
  free(s->rows);
  viewdoc_release(&s->d); /* what the page allocated and freed: back to the kernel */
  free(s);
}

enum rs_err html_dashboard_stream(const struct html_ctx *x, struct status_view *v,
                                  struct html_stream **out)
{
  struct html_stream *s = rs_xcalloc(1, sizeof(*s));
  struct html_ctx y = *x;
  struct rs_buf *head, *tail;
  bool table;
  enum rs_err rc = RS_OK;

  *out = NULL;
  viewdoc_init(&s->d, &dash_ops, s, 2, v, x->cfg);
  y.v = &s->d.v;
  head = &s->d.doc.head;
  tail = &s->d.doc.tail;
  page_start(head, &y, "Status", true);
  alerts_section(head, &y);
  s->rows = overview_head(head, &y, &s->n_rows, &table);
  if(table)
    overview_end(&s->mid);
  if(y.st)
    rc = pending_section(&s->mid, &y);
  s->devices_table = devices_head(&s->mid, &s->d.v);
  if(s->devices_table)
    devices_end(tail);
  if(!rc && y.st)
    rc = orders_section(tail, &y);
  page_end(tail, &y);
  if(!rc && (head->oom || tail->oom || s->mid.oom))
    rc = RS_ERR_NOMEM;
  if(rc) {
    *v = s->d.v; /* back to the caller, as it was */
    memset(&s->d.v, 0, sizeof(s->d.v));
    html_stream_free(s);
    return rc;
  }
  *out = s;
  return RS_OK;
}

struct recent {
  struct rs_buf *o;
  const struct cfg_consumable *c;
  struct {
    int64_t t;
    double v;
  } ring[10];
  size_t n;
};

static int keep_recent(void *ud, const char *device, const char *point, int64_t time_ms,
                       double value)
{
  struct recent *r = ud;
  (void)device;
  (void)point;
  r->ring[r->n % RS_ARRAY_LEN(r->ring)].t = time_ms;
  r->ring[r->n % RS_ARRAY_LEN(r->ring)].v = value;
  r->n++;
  return 0;
}

/* Lines of one consumable with their orders, for the detail page. */
struct line_rows {
  struct {
    struct store_order_line l;
    bool has_order;
    enum store_order_state state;
    int64_t updated_ms;
  } r[20];
  size_t n;
  struct store *st;
};

static int keep_line(void *ud, const struct store_order_line *l)
{
  struct line_rows *k = ud;
  struct store_order_full *f = NULL;
  if(k->n >= RS_ARRAY_LEN(k->r))
    return 1;
  memset(&k->r[k->n], 0, sizeof(k->r[0]));
  k->r[k->n].l.id = l->id;
  k->r[k->n].l.quantity = l->quantity;
  k->r[k->n].l.state = l->state;
  k->r[k->n].l.created_ms = l->created_ms;
  k->r[k->n].l.rule = l->rule ? rs_xstrdup(l->rule) : NULL;
  k->r[k->n].l.order_id = l->order_id ? rs_xstrdup(l->order_id) : NULL;
  if(l->order_id && store_get_order(k->st, l->order_id, &f) == RS_OK) {
    k->r[k->n].has_order = true;
    k->r[k->n].state = f->order.state;
    k->r[k->n].updated_ms = f->order.updated_ms;
    store_order_full_free(f);
  }
  k->n++;
  return 0;
}

static void line_rows_free(struct line_rows *k)
{
  size_t i;
  for(i = 0; i < k->n; i++)
    store_order_line_free(&k->r[i].l);
  k->n = 0;
}

struct repl_rows {
  struct rs_buf *o;
  size_t n;
};

/* store_audit_cb: one row of the audit trail. */
static int audit_row(void *ud, int64_t time_ms, const char *actor, const char *action,
                     const char *detail)
{
  struct repl_rows *k = ud;
  struct rs_buf *o = k->o;
  k->n++;
  rs_buf_puts(o, "<tr><td>");
  when(o, time_ms);
  rs_buf_puts(o, "</td><td>");
  esc(o, action ? action : "");
  rs_buf_puts(o, "</td><td>");
  esc(o, actor ? actor : "");
  rs_buf_puts(o, "</td><td>");
  esc(o, detail ? detail : "");
  rs_buf_puts(o, "</td></tr>\n");
  return 0;
}

/* One stock-take form: POST /consumables/ID/what with the CSRF token and extra fields. */
static void stock_form(struct rs_buf *o, const struct html_ctx *x, const char *id,
                       const char *what, const char *fields, const char *button)
{
  char action[2 * CFG_ID_MAX + 32];
  if(rs_snprintf(action, sizeof(action), "/consumables/%s/%s", id, what))
    return;
  form_open(o, x, action);
  rs_buf_printf(o, "\">%s<button type=\"submit\">%s</button></form>\n", fields, button);
}

/*
 * Stock (SPEC 7): the inventory position, the hold and the stock-take forms
 * (when the page has CSRF tokens); the audit rows follow in the audit trail.
 */
static enum rs_err stock_section(struct rs_buf *o, const struct html_ctx *x,
                                 const struct status_consumable *sc)
{
  const char *id = sc->c->full_id;
  rs_buf_puts(o, "<h2>Stock</h2>\n<div class=\"card\" id=\"stock\"><div class=\"figs\">");
  rs_buf_printf(o, "<div>On the shelf<b>%" PRId64 "</b></div><div>On order<b>%" PRId64
                   "</b></div><div>Position<b>",
                sc->spares, sc->on_order);
  if(isfinite(sc->position_days))
    rs_buf_printf(o, "%.1f d", sc->position_days);
  else
    rs_buf_puts(o, "\xe2\x80\x94");
  rs_buf_puts(o, "</b></div></div>\n");
  if(sc->held) {
    rs_buf_puts(o, "<p>");
    badge(o, "held", "held");
    rs_buf_puts(o, " ");
    esc(o, sc->hold_reason[0] ? sc->hold_reason : store_hold_name(sc->hold));
    if(sc->held_until_ms != INT64_MAX) {
      rs_buf_puts(o, "; until ");
      when(o, sc->held_until_ms);
    }
    else
      rs_buf_puts(o, "; until released");
    rs_buf_puts(o, ". No rule orders it meanwhile (a button press still does).</p>\n");
  }
  if(x->csrf) {
    char n[192];
    (void)rs_snprintf(n, sizeof(n),
                      "<input type=\"number\" name=\"spares\" aria-label=\"spares on the shelf\" "
                      "min=\"0\" step=\"1\" "
                      "value=\"%" PRId64 "\" required> ",
                      sc->spares);
    stock_form(o, x, id, "spares", n, "Set spares");
    stock_form(o, x, id, "replaced", "", "A part was fitted now");
    if(sc->held)
      stock_form(o, x, id, "release", "", "Release");
    else
      stock_form(o, x, id, "hold", "<input type=\"text\" name=\"reason\" aria-label=\"reason\" maxlength=\"200\" "
                                   "placeholder=\"reason\"> ",
                 "Hold");
  }
  rs_buf_puts(o, "</div>\n");
  return o->oom ? RS_ERR_NOMEM : RS_OK;
}

static int repl_row(void *ud, int64_t time_ms, double before, double after)
{
  struct repl_rows *k = ud;
  rs_buf_puts(k->o, "<tr><td>");
  when(k->o, time_ms);
  rs_buf_printf(k->o, "</td><td>replaced</td><td>system</td><td>level %.6g \xe2\x86\x92 %.6g</td></tr>\n",
                before, after);
  k->n++;
  return 0;
}

/* The detail figures: level, days left (bounds), dates, reorder point, confidence, stock. */
static void detail_figures(struct rs_buf *o, const struct status_consumable *sc,
                           const struct chart_figs *cf)
{
  rs_buf_puts(o, "<div class=\"figs\"><div>Level<b>");
  if(sc->has_level)
    rs_buf_printf(o, "%.1f%%", sc->level_pct);
  else
    rs_buf_puts(o, "\xe2\x80\x94");
  rs_buf_puts(o, "</b></div><div>Days left<b>");
  days_cell(o, sc);
  rs_buf_puts(o, "</b></div><div>Empty<b>");
  day(o, sc->has_level ? sc->empty_at_ms : 0);
  rs_buf_puts(o, "</b></div><div>Order by<b>");
  day(o, cf->order_by);
  rs_buf_puts(o, "</b></div><div>Reorder point<b>");
  if(!isnan(cf->reorder_pct))
    rs_buf_printf(o, "%.0f%%", cf->reorder_pct);
  else
    rs_buf_puts(o, "\xe2\x80\x94");
  rs_buf_puts(o, "</b></div><div>Confidence<b>");
  if(isfinite(sc->confidence))
    rs_buf_printf(o, "%.0f%%", sc->confidence * 100);
  else
    rs_buf_puts(o, "\xe2\x80\x94");
  rs_buf_printf(o,
                "</b></div><div>Spares<b>%" PRId64 "</b></div><div>On order<b>%" PRId64
                "</b></div><div>Lead time<b>%.0f d</b></div></div>\n",
                sc->spares, sc->on_order, sc->lead_time_days);
  if(sc->has_level && isfinite(sc->confidence) && sc->confidence < 0.5 &&
     isfinite(sc->days_left))
    rs_buf_puts(o, "<p class=\"note\">Low confidence: little history since the last "
                   "replacement or a poor fit. Days left and the empty date are a rough "
                   "guess.</p>\n");
}

/* What the chart shows, in words (also the chart's legend). */
static void chart_legend(struct rs_buf *o, const struct status_consumable *sc,
                         const struct chart_figs *cf)
{
  rs_buf_puts(o, "<ul class=\"legend\"><li><span class=\"k hist\"></span>stored level (%)</li>");
  if(sc->has_level && sc->empty_at_ms != INT64_MAX) {
    rs_buf_puts(o, "<li><span class=\"k pred\"></span>predicted to empty on ");
    day(o, sc->empty_at_ms);
    rs_buf_puts(o, "</li>");
  }
  if(isfinite(sc->days_left_p10) && !isnan(sc->days_left_p90))
    rs_buf_puts(o, "<li><span class=\"k band\"></span>80 % band of the empty date</li>");
  if(!isnan(cf->reorder_pct))
    rs_buf_printf(o,
                  "<li><span class=\"k reorder\"></span>reorder point: %.0f %% leaves the lead "
                  "time (%.0f d) + 2 days of cover at the current rate (the default rule)</li>",
                  cf->reorder_pct, sc->lead_time_days);
  else
    rs_buf_puts(o, "<li><span class=\"k reorder\"></span>reorder point: not known yet (no "
                   "depletion measured), or covered by the spares</li>");
  if(cf->order_by) {
    rs_buf_puts(o, "<li><span class=\"k orderby\"></span>order by ");
    day(o, cf->order_by);
    rs_buf_puts(o, " (the lead time before the empty date)</li>");
  }
  rs_buf_puts(o, "<li><span class=\"k repl\"></span>replaced</li>"
                 "<li><span class=\"k deliv\"></span>delivered</li></ul>\n");
}

enum rs_err html_consumable_page(const struct html_ctx *x, const char *full_id, struct rs_buf *out)
{
  const struct status_consumable *sc = status_view_consumable(x->v, full_id);
  const struct cfg_consumable *c;
  struct chart_figs cf;
  struct marks mk;
  struct line_rows lines;
  enum rs_err rc = RS_OK;
  size_t i;
  if(!sc)
    return RS_ERR_NOT_FOUND;
  c = sc->c;
  memset(&lines, 0, sizeof(lines));
  lines.st = x->st;
  memset(&mk, 0, sizeof(mk));
  mk.from = x->v->now_ms - HTML_CHART_DAYS * DAY_MS;
  mk.to = x->v->now_ms;
  chart_figures(sc, x->v->now_ms, &cf);
  if(x->st) {
    rc = store_list_replacements(x->st, c->full_id, add_replacement, &mk);
    if(!rc)
      rc = store_list_lines_of(x->st, c->full_id, RS_ARRAY_LEN(lines.r), keep_line, &lines);
    if(rc)
      goto out;
    for(i = 0; i < lines.n && mk.n < RS_ARRAY_LEN(mk.m); i++)
      if(lines.r[i].has_order && lines.r[i].state == STORE_ORDER_DELIVERED &&
         lines.r[i].updated_ms >= mk.from) {
        mk.m[mk.n].t = lines.r[i].updated_ms;
        mk.m[mk.n++].delivery = true;
      }
  }

  page_start(out, x, c->full_id, true);
  rs_buf_puts(out, "<div class=\"card consumable\" id=\"cons-");
  esc(out, c->full_id);
  rs_buf_puts(out, "\"><div class=\"row\"><h2 class=\"name\">");
  esc(out, c->full_id);
  rs_buf_printf(out, "</h2><span class=\"badge %s\">%s</span>", status_state_name(sc->state),
                status_state_label(sc->state));
  rs_buf_puts(out, "</div>");
  consumable_meta(out, x, sc);
  rs_buf_puts(out, "<div class=\"muted\">");
  esc(out, cfg_model_name(c->spec->model));
  if(c->point) {
    rs_buf_puts(out, " of point ");
    esc(out, c->point->id);
    if(c->point->unit) {
      rs_buf_puts(out, " (");
      esc(out, c->point->unit);
      rs_buf_puts(out, ")");
    }
  }
  if(c->spec->item && c->spec->item->description) {
    rs_buf_puts(out, " \xc2\xb7 ");
    esc(out, c->spec->item->description);
  }
  rs_buf_puts(out, "</div>");
  level_bar(out, sc);
  if(c->spec->model != CFG_MODEL_BUTTON)
    detail_figures(out, sc, &cf);
  rc = chart(out, x->st, sc, &mk, &cf, x->v->now_ms, 720, 260);
  if(rc)
    goto out;
  if(c->spec->model != CFG_MODEL_BUTTON && x->st)
    chart_legend(out, sc, &cf);
  rs_buf_puts(out, "</div>\n");
  rc = stock_section(out, x, sc);
  if(rc)
    goto out;

  if(x->st) {
    rs_buf_puts(out, "<h2>Orders</h2>\n");
    if(!lines.n)
      rs_buf_puts(out, "<p class=\"muted\">No order lines yet.</p>\n");
    else {
      rs_buf_puts(out, "<div class=\"scroll\"><table id=\"lines\"><thead><tr><th>Order</th>"
                       "<th>State</th><th class=\"n\">Qty</th><th>Rule</th><th>Created</th>"
                       "<th>Updated</th></tr></thead><tbody>\n");
      for(i = 0; i < lines.n; i++) {
        const char *stn = lines.r[i].has_order ? store_order_state_name(lines.r[i].state)
                                                : store_line_state_name(lines.r[i].l.state);
        rs_buf_puts(out, "<tr><td>");
        if(lines.r[i].l.order_id) {
          rs_buf_puts(out, "<a href=\"/orders/");
          esc(out, lines.r[i].l.order_id);
          rs_buf_puts(out, "\">");
          esc(out, lines.r[i].l.order_id);
          rs_buf_puts(out, "</a>");
        }
        else
          rs_buf_puts(out, "waiting for a batch");
        rs_buf_puts(out, "</td><td>");
        badge(out, stn, stn);
        rs_buf_printf(out, "</td><td class=\"n\">%" PRId64 "</td><td>", lines.r[i].l.quantity);
        esc(out, lines.r[i].l.rule ? lines.r[i].l.rule : "default");
        rs_buf_puts(out, "</td><td>");
        when(out, lines.r[i].l.created_ms);
        rs_buf_puts(out, "</td><td>");
        when(out, lines.r[i].has_order ? lines.r[i].updated_ms : 0);
        rs_buf_puts(out, "</td></tr>\n");
      }
      rs_buf_puts(out, "</tbody></table></div>\n");
    }
    {
      struct repl_rows rr = {out, 0};
      rs_buf_puts(out, "<h2>Audit trail</h2>\n<p class=\"muted\">Stock-take history, deliveries "
                       "and detected replacements.</p>\n<div class=\"scroll\"><table id=\"audit\"><thead>"
                       "<tr><th>Time</th><th>What</th><th>By</th><th>Detail</th></tr></thead>"
                       "<tbody>\n");
      rc = store_list_audit(x->st, c->full_id, 50, audit_row, &rr);
      if(!rc)
        rc = store_list_replacements(x->st, c->full_id, repl_row, &rr);
      if(rc)
        goto out;
      if(!rr.n)
        rs_buf_puts(out, "<tr><td colspan=\"4\" class=\"muted\">Nothing recorded yet.</td></tr>\n");
      rs_buf_puts(out, "</tbody></table></div>\n");
    }
  }

  if(x->st && c->device && c->point) {
    struct recent r;
    size_t k, first;
    memset(&r, 0, sizeof(r));
    r.o = out;
    r.c = c;
    rc = store_readings_range(x->st, c->device->id, c->point->id,
                              x->v->now_ms - HTML_CHART_DAYS * DAY_MS, x->v->now_ms + 1,
                              keep_recent, &r);
    if(rc)
      goto out;
    rs_buf_puts(out, "<h2>Last stored readings</h2>\n");
    if(!r.n)
      rs_buf_puts(out, "<p class=\"muted\">None in the last 30 days.</p>\n");
    else {
      rs_buf_puts(out, "<div class=\"scroll\"><table><thead><tr><th>Time</th><th>Value</th>"
                       "<th>Level</th></tr></thead><tbody>\n");
      k = r.n < RS_ARRAY_LEN(r.ring) ? r.n : RS_ARRAY_LEN(r.ring);
      first = r.n - k;
      for(i = r.n; i-- > first;) {
        double v = r.ring[i % RS_ARRAY_LEN(r.ring)].v, f = cfg_remaining(c, v);
        rs_buf_puts(out, "<tr><td>");
        when(out, r.ring[i % RS_ARRAY_LEN(r.ring)].t);
        rs_buf_printf(out, "</td><td>%.6g</td><td>", v);
        if(isnan(f))
          rs_buf_puts(out, "\xe2\x80\x94");
        else
          rs_buf_printf(out, "%.1f%%", f * 100);
        rs_buf_puts(out, "</td></tr>\n");
      }
      rs_buf_puts(out, "</tbody></table></div>\n");
    }
  }
  page_end(out, x);
  rc = out->oom ? RS_ERR_NOMEM : RS_OK;
out:
  line_rows_free(&lines);
  return rc;
}

enum rs_err html_order_page(const struct html_ctx *x, const char *id, struct rs_buf *out)
{
  struct store_order_full *f = NULL;
  const struct store_order *h;
  enum rs_err rc;
  size_t i;
  const char *st;

  if(!x->st)
    return RS_ERR_NOT_FOUND;
  rc = store_get_order(x->st, id, &f);
  if(rc)
    return rc;
  h = &f->order;
  st = store_order_state_name(h->state);
  page_start(out, x, h->id, true);
  rs_buf_puts(out, "<div class=\"card\" id=\"order\"><div class=\"row\"><span class=\"name\">");
  esc(out, h->id);
  rs_buf_puts(out, "</span>");
  badge(out, st, st);
  rs_buf_puts(out, "</div><div class=\"figs\"><div>Supplier<b>");
  esc(out, h->supplier);
  rs_buf_puts(out, "</b></div><div>Total<b>");
  money_text(out, h->total, h->currency);
  rs_buf_puts(out, "</b></div><div>Created<b>");
  when(out, h->created_ms);
  rs_buf_puts(out, "</b></div><div>Updated<b>");
  when(out, h->updated_ms);
  rs_buf_puts(out, "</b></div><div>Shop id<b>");
  if(h->shop_id)
    esc(out, h->shop_id);
  else
    rs_buf_puts(out, "\xe2\x80\x94");
  rs_buf_puts(out, "</b></div></div>");
  if(h->last_error) {
    rs_buf_puts(out, "<div class=\"muted\">Last error: ");
    esc(out, h->last_error);
    rs_buf_puts(out, "</div>");
  }
  if(h->state == STORE_ORDER_APPROVED && x->cfg && !x->cfg->commerce.set)
    rs_buf_puts(out, "<div class=\"muted\">Not sent: no shop configured.</div>");
  if(h->state == STORE_ORDER_PENDING_APPROVAL)
    decision_forms(out, x, h->id);
  rs_buf_puts(out, "</div>\n<h2>Lines</h2>\n<div class=\"scroll\"><table><thead><tr>"
                   "<th>Consumable</th><th>SKU</th><th>Qty</th><th>Unit price</th><th>Rule</th>"
                   "</tr></thead><tbody>\n");
  for(i = 0; i < f->n_lines; i++) {
    const struct store_order_line *l = &f->lines[i];
    rs_buf_puts(out, "<tr class=\"line\"><td>");
    esc(out, l->consumable);
    rs_buf_puts(out, "</td><td>");
    esc(out, l->sku);
    rs_buf_printf(out, "</td><td>%" PRId64 "</td><td>", l->quantity);
    money_text(out, l->unit_price, l->currency[0] ? l->currency : h->currency);
    rs_buf_puts(out, "</td><td>");
    if(l->rule)
      esc(out, l->rule);
    else
      rs_buf_puts(out, "default");
    rs_buf_puts(out, "</td></tr>\n");
  }
  rs_buf_puts(out, "</tbody></table></div>\n<h2>History</h2>\n<div class=\"scroll\"><table>"
                   "<thead><tr><th>Time</th><th>Change</th><th>By</th><th>Why</th>"
                   "</tr></thead><tbody>\n");
  for(i = 0; i < f->n_transitions; i++) {
    const struct store_transition *t = &f->transitions[i];
    rs_buf_puts(out, "<tr class=\"transition\"><td>");
    when(out, t->time_ms);
    rs_buf_puts(out, "</td><td>");
    if(t->has_from) {
      esc(out, store_order_state_name(t->from));
      rs_buf_puts(out, " \xe2\x86\x92 ");
    }
    esc(out, store_order_state_name(t->to));
    rs_buf_puts(out, "</td><td>");
    esc(out, t->actor);
    rs_buf_puts(out, "</td><td>");
    esc(out, t->cause);
    rs_buf_puts(out, "</td></tr>\n");
  }
  rs_buf_puts(out, "</tbody></table></div>\n");
  page_end(out, x);
  store_order_full_free(f);
  return out->oom ? RS_ERR_NOMEM : RS_OK;
}
