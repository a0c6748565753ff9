/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stock: stock-take by a person (SPEC 7 "Replenishment stays stable"),
 * shared by `restockctl consumables ...` (straight on the database) and
 * `POST /api/v1/consumables/{device}/{id}/spares|replaced|hold|release`
 * and the consumable page's forms (inside restockd).
 *
 *   set-spares ID N   the shelf holds N parts (N a whole number >= 0)
 *   replaced ID       a part was fitted now: one spare less (or, with none on
 *                     the books, one unit of the open line received, or
 *                     unknown_part_fitted), the predictor restarts
 *   hold ID           no rule orders it until released (a button still does)
 *   release ID        end a hold (rejected, expired or manual)
 *
 * Each change and its audit row (actor, time, subject = the consumable's
 * full id, detail) are one transaction: on any error nothing changes.
 * Not thread-safe: one main-loop thread (or one restockctl process).
 */
#ifndef RS_STOCK_H
#define RS_STOCK_H

#include <stddef.h>
#include <stdint.h>

#include "base/rs_err.h"
#include "config/config.h"
#include "gateway/reading.h"
#include "gateway/store.h"

enum stock_op { STOCK_SET_SPARES, STOCK_REPLACED, STOCK_HOLD, STOCK_RELEASE };

/* Parse a CLI word ("set-spares", "replaced", "hold", "release"): 0 and *op, or -1. */
int stock_op_parse(const char *word, enum stock_op *op);

struct stock_req {
  enum stock_op op;
  const char *id;     /* full consumable id "device/consumable" */
  const char *count;  /* set-spares: the new count as text (checked here) */
  const char *reason; /* hold: why (may be NULL) */
  const char *actor;  /* "cli", "admin", ... (audit) */
  const char *source; /* where it came from: "restockctl", "HTTP client 127.0.0.1" (audit) */
};

/*
 * Apply r under cfg at now_ms. rp (may be NULL) is the running reading path
 * (restockd): `replaced` then restarts its predictor at once; without it
 * (restockctl) the daemon sees the stored replacement at its next
 * evaluation. msg (a sentence for the user) says what was done or what is
 * wrong. Returns RS_OK; RS_ERR_NOT_FOUND for an unknown consumable;
 * RS_ERR_INVALID for a bad count (negative, not a whole number) or a
 * release of a consumable that is not held; a store error otherwise.
 * Nothing changes on failure.
 */
enum rs_err stock_apply(struct store *st, const struct cfg *cfg, struct reading_path *rp,
                        const struct stock_req *r, int64_t now_ms, char *msg, size_t msglen);

#endif
