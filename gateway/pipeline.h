/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pipeline: the order pipeline's front door. Decisions of the rules
 * (struct rule_decision, rules/rules.h) come in; each becomes one open order
 * line in SQLite through the store, with the consumable, SKU, quantity, unit
 * price and currency of the catalog, the rule that fired and its figures.
 *
 * Invariants kept here:
 *   - exactly one open line per consumable (the store refuses a second one;
 *     the pipeline reports it as RS_ERR_CONFLICT and writes nothing);
 *   - nothing is ordered while the wall clock is not plausible
 *     (clock_wall_sane() false, e.g. a board without RTC booted in 1970):
 *     pipeline_submit() refuses with RS_ERR_INVALID, logging once at error
 *     level when the clock goes bad and once at notice level when it is sane
 *     again.
 *
 * Later work plugs in behind pipeline_submit()/pipeline_tick(): batching
 * lines into drafts per supplier, the approval policy, the outbox and the
 * commerce submission (SPEC 8). Their state lives in the store, so it
 * survives reloads and restarts.
 *
 * The pipeline never reads a clock: the caller passes wall time in.
 * Not thread-safe: one main loop thread.
 */
#ifndef RS_PIPELINE_H
#define RS_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "gateway/rs_err.h"
#include "gateway/store.h"
#include "rules/rules.h"

struct pipeline;

/* A pipeline writing to st (borrowed). NULL only on allocation failure. */
struct pipeline *pipeline_new(struct store *st);
void pipeline_free(struct pipeline *p); /* NULL is fine */

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

/* Whether consumable (full id) has an open line. On a store error: true (fail safe). */
bool pipeline_has_open_line(struct pipeline *p, const char *consumable);

/*
 * Periodic work behind the front door (batching, approval, submission in
 * later issues). Called by the main loop after each evaluation; RS_OK now.
 */
enum rs_err pipeline_tick(struct pipeline *p, const struct cfg *cfg, int64_t now_ms);

/* Lines created since start (for logs and metrics). */
uint64_t pipeline_lines_created(const struct pipeline *p);

#endif
