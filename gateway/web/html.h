/* SPDX-License-Identifier: Apache-2.0 */
/*
 * html: the server-rendered status pages (SPEC 11). No JavaScript: pages
 * refresh themselves with <meta http-equiv="refresh">, charts and level bars
 * are inline SVG, styling comes only from /static/style.css (the
 * Content-Security-Policy allows no inline style). Every value that comes
 * from the config, the devices or the database is HTML-escaped.
 *
 * Pages:
 *   dashboard     pending approvals first, then consumables (level bar, days
 *                 left, empty date, confidence, stale marker, a 30-day chart
 *                 with the predicted line to empty), devices, open orders;
 *   consumable    /consumables/{device}/{id}: figures, a larger chart, the
 *                 last readings;
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

struct html_ctx {
  const struct cfg *cfg;
  const struct status_view *v;
  struct store *st;    /* readings for charts, orders; may be NULL */
  const char *version; /* shown in the footer */
  html_csrf_fn csrf;   /* NULL: no approve/reject forms are shown */
  void *csrf_ud;
};

/* The stylesheet served at /static/style.css. */
extern const char html_stylesheet[];

/* Append s HTML-escaped (& < > " ' and control characters). NULL appends nothing. */
void html_escape(struct rs_buf *out, const char *s);

/* Render the dashboard into out. RS_OK or a store error (out is then not to be served). */
enum rs_err html_dashboard(const struct html_ctx *x, struct rs_buf *out);

/* The page of consumable full_id ("device/id"): RS_ERR_NOT_FOUND when not configured. */
enum rs_err html_consumable_page(const struct html_ctx *x, const char *full_id, struct rs_buf *out);

/* The page of order id: RS_ERR_NOT_FOUND when there is none. */
enum rs_err html_order_page(const struct html_ctx *x, const char *id, struct rs_buf *out);

/* A small page for an error or a notice: status line text, title and a sentence. */
void html_message_page(const char *title, const char *message, struct rs_buf *out);

#endif
