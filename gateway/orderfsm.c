/* SPDX-License-Identifier: Apache-2.0 */
/*
 * orderfsm: the table of allowed order transitions (see orderfsm.h).
 */
#include "gateway/orderfsm.h"

#define BIT(s) (1u << (unsigned)(s))

/* allowed[from] is the set of states `from` may move to */
static const unsigned allowed[STORE_ORDER_STATE_COUNT] = {
    [STORE_ORDER_DRAFT] =
        BIT(STORE_ORDER_PENDING_APPROVAL) | BIT(STORE_ORDER_APPROVED) | BIT(STORE_ORDER_CANCELLED),
    [STORE_ORDER_PENDING_APPROVAL] = BIT(STORE_ORDER_APPROVED) | BIT(STORE_ORDER_REJECTED) |
                                     BIT(STORE_ORDER_EXPIRED) | BIT(STORE_ORDER_CANCELLED),
    [STORE_ORDER_APPROVED] =
        BIT(STORE_ORDER_SUBMITTED) | BIT(STORE_ORDER_FAILED) | BIT(STORE_ORDER_CANCELLED),
    [STORE_ORDER_SUBMITTED] =
        BIT(STORE_ORDER_SHIPPED) | BIT(STORE_ORDER_DELIVERED) | BIT(STORE_ORDER_CANCELLED),
    [STORE_ORDER_SHIPPED] = BIT(STORE_ORDER_DELIVERED) | BIT(STORE_ORDER_CANCELLED),
};

bool orderfsm_allowed(enum store_order_state from, enum store_order_state to)
{
  if((unsigned)from >= STORE_ORDER_STATE_COUNT || (unsigned)to >= STORE_ORDER_STATE_COUNT)
    return false;
  return (allowed[from] & BIT(to)) != 0;
}

enum rs_err orderfsm_move(struct store *st, const char *id, enum store_order_state from,
                          enum store_order_state to, const char *actor, const char *cause,
                          int64_t now_ms)
{
  if(!orderfsm_allowed(from, to))
    return RS_ERR_INVALID;
  return store_transition_order(st, id, from, to, actor, cause, now_ms);
}
