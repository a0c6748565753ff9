/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rules: the reorder decision (SPEC section 7). Pure: a snapshot of every
 * consumable and the current time go in, order-line decisions come out.
 * No sockets, no SQLite, no clock of its own — which is what makes replay,
 * rule tests and benchmarks exact.
 *
 * The caller (gateway/) owns the per-consumable rule state between calls and
 * passes it back in; rules_evaluate() updates it (the `for` timers).
 */
#ifndef RS_RULES_H
#define RS_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "rules/expr.h"

/* What the gateway knows of one consumable at evaluation time. */
struct rule_snapshot {
  const struct cfg_consumable *consumable;
  double vars[EXPR_VAR_COUNT]; /* figures the `when` expressions read */
  bool stale;                  /* no fresh reading within stale_after: never fires */
  bool open_line;              /* an order line is open: no second one */
  bool button_pressed;         /* button model: a debounced rising edge since last call */
  bool held;                   /* held (SPEC 7): no rule makes a line; a button press still does */
  bool urgent;                 /* an expiry hold lifted because the part runs out before a
                                  delivery could arrive: the line is drafted urgent */
  int64_t empty_at_ms;         /* predicted empty (wall ms), INT64_MAX when not depleting */
  double life_days;            /* typical life of one part in days for the default rule's
                                  quantity (the figure cover_days and position_days use, or
                                  the longer calendar life while the part's week is not
                                  known: docs/rules.md); 0, INFINITY or NaN when unknown */
  double replenish_days;       /* how long a line drafted now takes to arrive: lead_time_days,
                                  or what the last deliveries took when longer (batching, a
                                  person's approval); 0 or NaN: use lead_time_days */
};

/* The built-in default rule's order-up-to margin: it orders enough to cover
   lead_time_days + this many days (docs/rules.md, "The default rule"). */
#define RULES_DEFAULT_MARGIN_DAYS 2.0
/* ... and never more than this many packs on one line. */
#define RULES_DEFAULT_MAX_PACKS 100

/*
 * Per consumable: for each configured rule (index i < cfg->n_rules) and the
 * default rule (index cfg->n_rules), since when its condition has held,
 * or INT64_MIN when it does not hold. Initialise with rule_state_init().
 */
struct rule_state {
  int64_t *since_ms;
  uint32_t n;
  bool open_known; /* last_open holds the open_line of the previous evaluation */
  bool last_open;  /* a change restarts every timer (a line was created or ended; SPEC 7) */
  bool borrowed;   /* since_ms is the caller's (rule_state_init_in): not freed here */
};
void rule_state_init(struct rule_state *st, const struct cfg *cfg);
/*
 * As rule_state_init(), with the timers in since_ms (cfg->n_rules + 1 of
 * them, owned by the caller and outliving st): a caller holding the states
 * of many consumables gives each its part of one block (RSS,
 * docs/BENCHMARKS.md: not one small allocation per consumable).
 */
void rule_state_init_in(struct rule_state *st, const struct cfg *cfg, int64_t *since_ms);
void rule_state_free(struct rule_state *st);

/* One order line the rules ask for. */
struct rule_decision {
  const struct cfg_consumable *consumable;
  const struct cfg_rule *rule;   /* the rule that fired (may be cfg->default_rule) */
  int64_t quantity;              /* units, already rounded up to the pack size (the built-in
                                    default rule: order-up-to, rules.c) */
  bool approval_required;        /* the rule or catalog says a person must approve */
  double figures[EXPR_VAR_COUNT];/* the figures that fired it */
  int64_t need_by_ms;            /* wall ms by which the part must arrive */
  bool button;                   /* made by a button press */
  bool urgent;                   /* snapshot.urgent: close its draft at once */
};

/*
 * Evaluate every snapshot at now_ms. states[i] belongs to snaps[i].
 * Writes at most one decision per consumable into out (capacity cap) and
 * returns how many were written. A consumable that is stale or has an open
 * line writes none (its `for` timers still update).
 */
size_t rules_evaluate(const struct cfg *cfg, int64_t now_ms, const struct rule_snapshot *snaps,
                      struct rule_state *states, size_t n, struct rule_decision *out, size_t cap);

/* Whether rule r's selectors match consumable c. */
bool rules_match(const struct cfg_rule *r, const struct cfg_consumable *c);

#endif
