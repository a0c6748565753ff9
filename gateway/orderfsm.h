/* SPDX-License-Identifier: Apache-2.0 */
/*
 * orderfsm: the order life cycle of SPEC section 8 as a table of allowed
 * transitions, and the one door through which the pipeline moves an order.
 *
 *   draft -> pending_approval -> approved -> submitted -> shipped -> delivered
 *   ends: rejected, expired, failed, cancelled (and delivered)
 *
 * Allowed edges (everything else is refused):
 *   draft            -> pending_approval | approved | cancelled
 *   pending_approval -> approved | rejected | expired | cancelled
 *   approved         -> submitted | failed | cancelled
 *   submitted        -> shipped | delivered | cancelled
 *   shipped          -> delivered | cancelled
 * submitted -> delivered exists because a shop polled once an hour may go
 * from "accepted" to "delivered" between two polls.
 *
 * Actors (the `actor` column of every transition): "system", "policy",
 * "rule:NAME", "cli", "admin", "approver:EMAIL".
 */
#ifndef RS_ORDERFSM_H
#define RS_ORDERFSM_H

#include <stdbool.h>
#include <stdint.h>

#include "base/rs_err.h"
#include "gateway/store.h"

/* Whether the edge from -> to is in the table. Out-of-range states: false. */
bool orderfsm_allowed(enum store_order_state from, enum store_order_state to);

/*
 * Move order id from `from` to `to` at now_ms with actor and cause, through
 * store_transition_order (atomic check of `from`). RS_ERR_INVALID (nothing
 * written) when the edge is not in the table; RS_ERR_CONFLICT when the order
 * is no longer in `from`; RS_ERR_NOT_FOUND for an unknown id; a store error
 * otherwise. Joins an enclosing store_begin group when there is one.
 */
enum rs_err orderfsm_move(struct store *st, const char *id, enum store_order_state from,
                          enum store_order_state to, const char *actor, const char *cause,
                          int64_t now_ms);

#endif
