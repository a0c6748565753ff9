/* SPDX-License-Identifier: Apache-2.0 */
/*
 * html: the server-rendered status pages (SPEC 11). No JavaScript: pages
 * refresh themselves with <meta http-equiv="refresh">, charts and level bars
 * are inline SVG, styling comes only from /static/style.css (the
 * Content-Security-Policy allows no inline style). Every value that comes
 * from the config, the devices or the database is HTML-escaped.
 *
 * Pages:
 *   dashboard     the alerts banner (each alert with a link), then the
 *                 overview table (one row per consumable: device, part, SKU,
 *                 level bar, days left with its bounds, empty date, spares,
 *                 on order, state), sorted and filtered by query parameters
 *                 (sort, dir, device, kind, state: plain links and a GET
 *                 form), then pending approvals, devices, open orders;
 *   consumable    /consumables/{device}/{id}: figures, a chart with date and
 *                 value axes, reorder point, lead-time marker, empty line,
 *                 replacements, deliveries and the prediction band; its
 *                 orders, audit trail and last readings;
 *   order         /orders/{id}: lines, total, approval, transitions, and the
 *                 approve/reject forms while it is pending.
 */
#ifndef RS_HTML_H
#define RS_HTML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "base/rs_util.h"
#include "base/rs_err.h"
#include "gateway/web/status.h"
#include "gateway/store.h"

/* Seconds between automatic refreshes of the dashboard and detail pages. */
#define HTML_REFRESH_S 30
/* Days of history in the charts. */
#define HTML_CHART_DAYS 30

/*
 * The CSRF token for a form posting to `action` (a path) into out (size >=
 * 65: 64 hex digits and NUL). Provided by the HTTP layer.
 */
typedef void (*html_csrf_fn)(void *ud, const char *action, char *out, size_t size);

/* The dashboard's query parameters (each NULL when absent; unknown values are ignored). */
struct html_query {
  const char *sort;   /* device, part, sku, level, days, empty, spares, on_order, state */
  const char *dir;    /* asc or desc */
  const char *device; /* only this device's consumables */
  const char *kind;   /* only this kind */
  const char *state;  /* only this state (status_state_name) */
};

struct html_ctx {
  const struct cfg *cfg;
  const struct status_view *v;
  struct store *st;    /* readings for charts, orders; may be NULL */
  const char *version; /* shown in the footer */
  html_csrf_fn csrf;   /* NULL: no approve/reject forms are shown */
  void *csrf_ud;
  struct html_query q; /* dashboard only */
};

/*
 * The frame every page shares: head (charset, viewport, title, the one
 * stylesheet), a header with the gateway's id and site, main, and a footer.
 */
struct html_frame {
  const char *title;
  const struct cfg *cfg; /* gateway id and site in the header; may be NULL */
  int64_t now_ms;        /* shown in the header when > 0 */
  bool refresh;          /* refresh every HTML_REFRESH_S seconds */
  bool noindex;          /* ask robots not to index (approval links) */
  bool home_link;        /* "restock" in the header links to the dashboard */
  const char *footer;    /* plain text; NULL: version, refresh note, JSON and metrics links */
  const char *version;   /* in the default footer */
};
/* Append the page up to and including <main>. */
void html_page_start(struct rs_buf *o, const struct html_frame *f);
/* Append </main>, the footer and the end of the page. */
void html_page_end(struct rs_buf *o, const struct html_frame *f);

/* The stylesheet served at /static/style.css. */
extern const char html_stylesheet[];


/*
 * The dashboard, written while it is sent (base/httpd_srv.h's fill and
 * release: html_stream_fill, html_stream_free): *v (x->v is ignored) moves
 * in and is left empty, the config x->cfg is referenced; what needs the
 * store, x->csrf or x->q is made now, so a store error is returned here
 * (*out NULL, *v as it was) and the stream reads nothing of x afterwards.
 * The overview's and the devices' rows are written as the socket takes them.
 */
struct html_stream;
enum rs_err html_dashboard_stream(const struct html_ctx *x, struct status_view *v,
                                  struct html_stream **out);
int html_stream_fill(void *ud, struct rs_buf *out);
void html_stream_free(void *ud);

/* The page of consumable full_id ("device/id"): RS_ERR_NOT_FOUND when not configured. */
enum rs_err html_consumable_page(const struct html_ctx *x, const char *full_id, struct rs_buf *out);

/* The page of order id: RS_ERR_NOT_FOUND when there is none. */
enum rs_err html_order_page(const struct html_ctx *x, const char *id, struct rs_buf *out);

/* A small page for an error or a notice: status line text, title and a sentence. */
void html_message_page(const char *title, const char *message, struct rs_buf *out);

#endif
