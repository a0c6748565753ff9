/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pipeline: the order pipeline of SPEC sections 8 and 9 (docs/orders.md).
 *
 *   rule decision --pipeline_submit--> open order line
 *   pipeline_tick():
 *     batching     lines of one supplier join that supplier's draft; a draft
 *                  closes at window / flush_value / free_shipping_over /
 *                  max_lines / an urgent line
 *     approval     a closed draft goes to pending_approval (reasons stored)
 *                  or is approved by the policy; pending ones expire after
 *                  link_ttl
 *     outbox       approved -> the request body is built once and stored in
 *                  the same transaction as the approval; POSTed with
 *                  Idempotency-Key = order id, retried with full-jitter
 *                  backoff (Retry-After honoured) across restarts
 *     tracking     GET /orders/{id} every commerce.status_interval until
 *                  delivered (spares added) or cancelled
 *
 * Invariants kept here:
 *   - exactly one open line per consumable (the store refuses a second one;
 *     the pipeline reports it as RS_ERR_CONFLICT and writes nothing);
 *   - nothing is ordered while the wall clock is not plausible
 *     (clock_wall_sane() false): pipeline_submit() refuses with
 *     RS_ERR_INVALID and pipeline_tick() does nothing, logging once at error
 *     level when the clock goes bad and once at notice level when it is sane
 *     again;
 *   - every state change goes through orderfsm_move() (the transition table)
 *     with an actor and a cause;
 *   - an order's body is stored before the first network call and never
 *     changes; every attempt sends it with the same key.
 *
 * Time: now_ms is the daemon's (possibly scaled) wall clock; windows,
 * link_ttl and status_interval run on it. Backoff and Retry-After are real
 * time: they are multiplied by the time scale (pipeline_set_time_scale) to
 * land on the same timeline. The pipeline never reads a clock.
 * Not thread-safe: one main loop thread.
 *
 * The shop: requests (submissions, status polls, the approval policy's
 * product lookups) go through a struct commerce (adapters/commerce.h). With
 * an event loop (pipeline_set_loop(), restockd) they run on it and never
 * block: a tick starts what is due, the answers come back on the loop, and
 * the next tick (due at once: pipeline_next_due()) records them. At most
 * COMMERCE_MAX_IN_FLIGHT requests are on the wire at once; a request that
 * times out holds only its own slot. A draft whose products are being
 * looked up closes at the tick after the answers (or their timeouts).
 * Status polls of orders found at start are spread over status_interval.
 * Without a loop (tests, tools) each request blocks the tick up to
 * commerce.timeout, as the answer is recorded in the same tick.
 */
#ifndef RS_PIPELINE_H
#define RS_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adapters/commerce.h"
#include "base/evloop.h"
#include "config/config.h"
#include "base/rs_err.h"
#include "gateway/store.h"
#include "rules/rules.h"

struct pipeline;

/*
 * The shop as the pipeline sees it. The default is the real client
 * (adapters/commerce.h) made from cfg->commerce; tests install a scripted
 * fake. get_product may be NULL (a shop without GET /products).
 */
struct pipeline_shop_ops {
  void *ctx;
  enum commerce_outcome (*submit)(void *ctx, const char *order_id, const char *body,
                                  struct commerce_result *r);
  enum commerce_lookup (*get_order)(void *ctx, const char *shop_id,
                                    struct commerce_order_info *out);
  enum commerce_lookup (*get_product)(void *ctx, const char *sku, struct commerce_product *out);
};

/*
 * While the database cannot be written (store_fault(): disk full, I/O
 * error), the pipeline starts new work (batching, closing drafts, the
 * outbox, status polls) at most once per this many real ms: a shop answer
 * that cannot be recorded is not asked for again at once (a POST or product
 * lookup at every answer, hundreds a second).
 */
#define PIPELINE_FAULT_PASS_MS 5000
/*
 * A tick whose wall time is more than this before the last tick's is a
 * clock step back: scheduled waits move back with it (pipeline.c,
 * clock_stepped_back()).
 */
#define PIPELINE_STEP_BACK_MS 60000
/* Default backoff: first ceiling 1 s, longest 1 h (real time). */
#define PIPELINE_BACKOFF_BASE_MS 1000
#define PIPELINE_BACKOFF_CAP_MS  3600000
/* Meta key prefix of an order's approval reasons (JSON array of strings). */
#define PIPELINE_META_REASONS "order.approval_reasons."
/* Meta key prefix of an order a person approved: "1" until it is re-priced and its body built. */
#define PIPELINE_META_REPRICE "order.reprice."
/* Meta key of the orders a 401/403 put off, {"ID": not_before_ms, ...} (a restart retries them). */
#define PIPELINE_META_AUTH_HELD "commerce.auth_held"

/* A pipeline writing to st (borrowed). NULL only on allocation failure. */
struct pipeline *pipeline_new(struct store *st);
void pipeline_free(struct pipeline *p); /* NULL is fine */

/*
 * Whether the pipeline may talk to the shop of cfg->commerce with the real
 * client (made at the first tick that needs it). Default false: a new
 * pipeline does no network I/O at all (replay, test-rules, tests); restockd
 * turns it on. Offline, orders stop at approved (body stored when a commerce
 * section exists) and nothing is polled.
 */
void pipeline_set_online(struct pipeline *p, bool online);
/*
 * Use ops (copied; ops->ctx borrowed) instead of the real commerce client
 * (also when offline);
 * NULL goes back to the real client. The body is still built from
 * cfg->commerce (customer_id, ship_to), so a config with a commerce section
 * is needed for orders to be sent.
 */
void pipeline_set_shop(struct pipeline *p, const struct pipeline_shop_ops *ops);
/*
 * Run the real shop client on loop (borrowed; NULL: blocking). Requests in
 * flight are abandoned (submissions are resent later with the same key).
 */
void pipeline_set_loop(struct pipeline *p, struct evloop *loop);
/* Real ms per scaled ms (the daemon's --time-scale; <= 0 means 1). */
void pipeline_set_time_scale(struct pipeline *p, double scale);
/* Backoff ceilings in real ms (base > 0, cap >= base); defaults above. */
void pipeline_set_backoff(struct pipeline *p, int64_t base_ms, int64_t cap_ms);
/* Seed of the jitter RNG (tests; otherwise seeded from the first tick). */
void pipeline_set_seed(struct pipeline *p, uint64_t seed);
/*
 * The configuration was swapped: drop the commerce client (it points into
 * the old config) so the next tick makes one from the new config. Call
 * before the old config is freed.
 */
void pipeline_reconfigure(struct pipeline *p);

/*
 * Check the wall clock at now_ms and remember the answer; logs when it turns
 * implausible or plausible again. Returns whether ordering is allowed.
 */
bool pipeline_clock_check(struct pipeline *p, int64_t now_ms);

/*
 * Record decision d (made under cfg) as an open order line at now_ms.
 * Returns RS_OK and sets *line_id (may be NULL); RS_ERR_CONFLICT when the
 * consumable already has an open line; RS_ERR_INVALID when the clock is not
 * sane or the decision names no catalog item; a store error otherwise
 * (logged). Nothing is written on failure.
 */
enum rs_err pipeline_submit(struct pipeline *p, const struct cfg *cfg,
                            const struct rule_decision *d, int64_t now_ms, int64_t *line_id);

/*
 * A button press of consumable (full id) that makes no line (why: "a line
 * of this consumable is open", "its reading is stale", ...): logged at
 * notice level and stored in the audit trail (actor "button", action
 * "press-ignored", subject the consumable), which the consumable's page
 * shows. Store failures are logged.
 */
void pipeline_note_press_ignored(struct pipeline *p, const char *consumable, const char *why,
                                 int64_t now_ms);

/* Whether consumable (full id) has an open line. On a store error: true (fail safe). */
bool pipeline_has_open_line(struct pipeline *p, const char *consumable);

/*
 * Do what is due at now_ms: batch new lines into drafts, close drafts (the
 * approval policy), expire pending orders, send due orders of the outbox,
 * poll the status of submitted and shipped ones. Every failure is logged
 * and retried on a later tick; returns the first store error, else RS_OK.
 */
enum rs_err pipeline_tick(struct pipeline *p, const struct cfg *cfg, int64_t now_ms);

/* Wall (scaled) ms at which the next tick has work, INT64_MAX for none known. */
int64_t pipeline_next_due(const struct pipeline *p);

/*
 * Decide a pending order: approve (then it is in the outbox, body stored in
 * the same transaction) or reject. actor: "approver:EMAIL", "admin", "cli";
 * source: where the decision came from (an address, "restockctl"), for the
 * cause and the audit trail. RS_ERR_NOT_FOUND for an unknown order,
 * RS_ERR_CONFLICT when it is not pending_approval (already decided,
 * expired, still a draft); nothing is written on failure.
 */
enum rs_err pipeline_approve(struct pipeline *p, const struct cfg *cfg, const char *order_id,
                             const char *actor, const char *source, int64_t now_ms);
enum rs_err pipeline_reject(struct pipeline *p, const struct cfg *cfg, const char *order_id,
                            const char *actor, const char *source, int64_t now_ms);

/*
 * The approval reasons recorded when order_id closed, as a JSON array of
 * strings (ORDER.approval.reasons); "[]" when it was approved without a
 * person. *json is malloc'd (caller frees).
 */
enum rs_err pipeline_order_reasons(struct pipeline *p, const char *order_id, char **json);

/*
 * Current alerts (credentials refused, orders not sent for lack of a shop,
 * orders the shop does not know...), as of the last tick. *out points into
 * the pipeline, valid until the next tick. Returns the count.
 */
size_t pipeline_alerts(const struct pipeline *p, const char *const **out);
/*
 * The alerts of pipeline_alerts() about the shop itself (credentials refused,
 * no client, an order the shop does not know or answers unusably about):
 * the ones the status view does not find in the database. Same lifetime.
 */
size_t pipeline_shop_alerts(const struct pipeline *p, const char *const **out);
/* Whether the shop refused the credentials at the last attempt (alert is up). */
bool pipeline_auth_alert(const struct pipeline *p);

/*
 * Month-to-date spend at now_ms (SPEC 8): the orders approved in the
 * current calendar month (UTC) that did not end rejected, failed or
 * cancelled, sent or not, in minor units. For the approval page.
 */
enum rs_err pipeline_month_spend(struct pipeline *p, int64_t now_ms, int64_t *out);

/* Lines created since start (for logs and metrics). */
uint64_t pipeline_lines_created(const struct pipeline *p);

#endif
