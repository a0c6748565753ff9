/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api: the JSON documents of the HTTP API (SPEC sections 2 and 11), built
 * with jansson. Shared by the HTTP server and restockctl (`status --json`,
 * `orders ... --json` print the same documents).
 *
 * Conventions (docs/http-api.md):
 *   - times are RFC 3339 UTC strings ("2026-12-01T17:51:14Z") or null;
 *   - money is a decimal string in the currency's minor-unit decimals
 *     ("42.50"), never a JSON number;
 *   - a figure that is not known, or infinite (days_left of a consumable
 *     that is not depleting), is null: JSON has no infinity.
 *
 * Every builder returns a new reference (json_decref() it) or NULL on
 * allocation failure, unless it says otherwise.
 */
#ifndef RS_API_H
#define RS_API_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "config/config.h"
#include "base/rs_err.h"
#include "base/rs_util.h"
#include "gateway/web/status.h"
#include "gateway/store.h"

/* The "gateway" object of /api/v1/status. */
struct api_gateway_info {
  const char *id;      /* gateway.id */
  const char *version; /* rs_version() */
  int64_t now_ms;      /* wall ms on the daemon's clock */
  int64_t uptime_s;    /* real seconds since start */
  double time_scale;   /* 1 for real time */
};

/*
 * {"orders": [ORDER...]} newest first: all orders, or only those not in a
 * final state when open_only. Sets *out; returns RS_OK or the store's error
 * (*out NULL then).
 */
enum rs_err api_orders_json(struct store *st, const struct cfg *cfg, bool open_only, json_t **out);

/*
 * The ORDER with id into *out: RS_OK, RS_ERR_NOT_FOUND, or the store's
 * error (*out NULL then).
 */
enum rs_err api_order_by_id(struct store *st, const struct cfg *cfg, const char *id, json_t **out);

/* One device of /api/v1/status: id, transport, state, last_success, ... errors. */
json_t *api_device_json(const struct status_device *d);
/* One consumable of /api/v1/status: id, device, sku, kind, level_pct, ... open_order. */
json_t *api_consumable_json(const struct status_consumable *sc);

/*
 * The large documents written piece by piece: a stream holds the status
 * view (moved in: the caller's is left empty) and a reference on cfg
 * (cfg_ref: the view points into it, a reload may swap the config
 * meanwhile), and writes the document's text a part at a time; the whole
 * document is never built, neither as jansson values nor as one string
 * (at 5 000 consumables /api/v1/consumables took ~15 MB of jansson values
 * for 1.9 MB of text). The text is api_dump()'s format (compact, keys in
 * order) and a newline (as the HTTP answers end); each array element is
 * what api_device_json() or api_consumable_json() makes of one item. These
 * streams are the only way the documents are made (tests/test_api_stream.c
 * holds a whole-document reference to check them against).
 */
struct api_stream;
/* {"devices": [...]} (devices) or {"consumables": [...]} of every device or configured
   consumable; NULL when out of memory. */
struct api_stream *api_list_stream(struct status_view *v, const struct cfg *cfg, bool devices);
/*
 * The whole /api/v1/status document: {"gateway": {id, version, time,
 * uptime_s, time_scale}, "devices", "consumables", "orders" (the open ones,
 * as api_orders_json(); empty when st is NULL), "alerts" (status_alerts()'s
 * texts)}. Its open orders and alerts are read now, so
 * a store error is returned here (RS_OK or the store's error; *out NULL
 * then), not in the middle of the answer.
 */
enum rs_err api_status_stream(const struct api_gateway_info *g, struct status_view *v,
                              const struct cfg *cfg, struct store *st, struct api_stream **out);
/*
 * Append the next part (about 16 KiB) to out: 1 when more follows, 0 when
 * that was the last, -1 when out of memory (base/httpd_srv.h's
 * httpd_fill_fn shape; ud is the stream).
 */
int api_stream_fill(void *ud, struct rs_buf *out);
/* The rest of the document at once into out: RS_OK or RS_ERR_NOMEM. */
enum rs_err api_stream_text(struct api_stream *s, struct rs_buf *out);
/* Free the stream (its view, its reference on the config); NULL is fine. */
void api_stream_free(void *ud);

/* {"error": {"code": code, "message": message}} (the shape SPEC 9 uses too). */
json_t *api_error_json(const char *code, const char *message);

/*
 * Serialise j (compact, keys in insertion order, reals with 15 significant
 * digits) into a malloc'd string; NULL on allocation failure. Does not
 * take the reference.
 */
char *api_dump(const json_t *j);

#endif
