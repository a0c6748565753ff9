/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rules: which consumables get an order line now (SPEC section 7).
 *
 * For each consumable, every configured rule whose selectors match is
 * evaluated in file order, and its `for` timer is updated: since_ms is set
 * when the condition starts holding and reset to INT64_MIN when it stops
 * (or the rule no longer matches). The first rule whose condition has held
 * for at least its `for` makes the line. A consumable that no configured
 * rule matches is evaluated against cfg->default_rule instead (its timer is
 * slot cfg->n_rules).
 *
 * A configured rule orders its `quantity` (default one pack). The built-in
 * default rule orders up to a position that covers the lead time plus
 * RULES_DEFAULT_MARGIN_DAYS (default_quantity; an extension of SPEC 7).
 *
 * A button press (snapshot.button_pressed) makes one line of one pack,
 * whatever the `when` conditions say; it is credited to the first matching
 * rule (or the default rule), so that rule's `approval` applies.
 *
 * No line is made for a stale consumable or one with an open line, nor by a
 * rule for a held one (a button press still makes one); their timers still
 * update. The caller restarts a consumable's timers when one of its lines
 * is created or ends (state_restart; SPEC 7), so a condition that held
 * while a line was open fires only `for` after the line ended.
 *
 * need_by: the predicted empty time; when the consumable is not depleting
 * (empty_at_ms == INT64_MAX, e.g. a button press) it is now + the catalog
 * lead time, i.e. "as soon as the supplier can deliver".
 */
#include "rules/rules.h"

#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_util.h"

/*
 * Allocate st for cfg: one timer per configured rule plus one for the
 * default rule, all "not holding". Aborts when out of memory (rs_xcalloc).
 */
void rule_state_init(struct rule_state *st, const struct cfg *cfg)
{
  rule_state_init_in(st, cfg, rs_xcalloc(cfg->n_rules + 1, sizeof(*st->since_ms)));
  st->borrowed = false;
}

void rule_state_init_in(struct rule_state *st, const struct cfg *cfg, int64_t *since_ms)
{
  size_t i;
  st->n = (uint32_t)(cfg->n_rules + 1);
  st->open_known = false;
  st->last_open = false;
  st->borrowed = true;
  st->since_ms = since_ms;
  for(i = 0; i < st->n; i++)
    st->since_ms[i] = INT64_MIN;
}

/* Every timer of st back to "not holding" (a line of its consumable was made or ended). */
static void state_restart(struct rule_state *st)
{
  size_t i;
  for(i = 0; i < st->n && st->since_ms; i++)
    st->since_ms[i] = INT64_MIN;
}

void rule_state_free(struct rule_state *st)
{
  if(!st->borrowed)
    free(st->since_ms);
  st->since_ms = NULL;
  st->borrowed = false;
  st->n = 0;
}

static bool glob_match(const char *pattern, const char *s)
{
  if(!pattern)
    return true;
  if(!s)
    return false;
  /* no FNM_PATHNAME: '*' also crosses the '/' of "device/id" */
  return fnmatch(pattern, s, 0) == 0;
}

static const char *label_value(const struct cfg_consumable *c, const char *key)
{
  size_t i;
  for(i = 0; i < c->spec->n_labels; i++)
    if(c->spec->labels[i].key && !strcmp(c->spec->labels[i].key, key))
      return c->spec->labels[i].value;
  return NULL;
}

/*
 * Whether r's selectors all match c: consumable and sku are shell globs
 * (fnmatch, no flags) on c->full_id and c->sku, kind is equality, and every
 * match label must be present on c with an equal value. A rule without
 * selectors matches everything.
 */
bool rules_match(const struct cfg_rule *r, const struct cfg_consumable *c)
{
  size_t i;
  if(!glob_match(r->match_consumable, c->full_id))
    return false;
  if(!glob_match(r->match_sku, c->spec->sku))
    return false;
  if(r->match_kind && (!c->spec->kind || strcmp(r->match_kind, c->spec->kind)))
    return false;
  for(i = 0; i < r->n_match_labels; i++) {
    const char *v = label_value(c, r->match_labels[i].key);
    if(!v || !r->match_labels[i].value || strcmp(v, r->match_labels[i].value))
      return false;
  }
  return true;
}

/*
 * Update one `for` timer with the condition's value at now; returns
 * whether the condition has held for at least for_ms.
 */
static bool timer_update(int64_t *since, bool holds, int64_t now_ms, int64_t for_ms)
{
  if(!holds) {
    *since = INT64_MIN;
    return false;
  }
  if(*since == INT64_MIN || *since > now_ms)
    *since = now_ms; /* a clock that went back restarts the timer */
  return now_ms - *since >= for_ms;
}

static int64_t pack_size(const struct cfg_consumable *c)
{
  if(c->spec->item && c->spec->item->pack_size > 0)
    return c->spec->item->pack_size;
  return 1;
}

/* q units rounded up to a whole number of packs (q <= 0 means one pack). */
static int64_t round_to_pack(int64_t q, int64_t pack)
{
  int64_t packs;
  if(q <= 0)
    return pack;
  packs = q / pack + (q % pack != 0);
  if(packs > INT64_MAX / pack)
    return INT64_MAX / pack * pack;
  return packs * pack;
}

static int64_t add_sat(int64_t a, int64_t b)
{
  if(b > 0 && a > INT64_MAX - b)
    return INT64_MAX;
  if(b < 0 && a < INT64_MIN - b)
    return INT64_MIN;
  return a + b;
}

/* Make st fit cfg (a reloaded config may have a different rule count). */
static void state_fit(struct rule_state *st, const struct cfg *cfg)
{
  if(st->since_ms && st->n == cfg->n_rules + 1)
    return;
  rule_state_free(st);
  rule_state_init(st, cfg);
}

/*
 * The built-in default rule's quantity for snapshot s (an extension of SPEC 7,
 * which says one pack): enough units that the inventory position covers this
 * line's replenishment time, the next line's (it can only be drafted once
 * this one is delivered: one open line per consumable) and
 * RULES_DEFAULT_MARGIN_DAYS,
 *   units = ceil((2 * replenish_days + margin - position_days) / life_days),
 * where replenish_days is s->replenish_days when set, else lead_time_days,
 * at least 1, rounded up to whole packs of pack (> 0) and at most
 * RULES_DEFAULT_MAX_PACKS packs. An infinite position_days (the installed
 * part's days unknown) counts the spares and on_order only. One pack when
 * the life is unknown (0, infinite, NaN) or any figure is not a number.
 * Returns units.
 */
static int64_t default_quantity(const struct rule_snapshot *s, int64_t pack)
{
  double life = s->life_days;
  double lead = s->replenish_days > 0 ? s->replenish_days : s->vars[EXPR_VAR_LEAD_TIME_DAYS];
  double pos = s->vars[EXPR_VAR_POSITION_DAYS];
  double need, units, packs;

  /* the installed part's days unknown (the predictor has no central figure, yet the risk
     fired on its bounds): count the shelf and what is on the way, not the part */
  if(pos == INFINITY && isfinite(life) && life > 0 && s->vars[EXPR_VAR_SPARES] >= 0 &&
     s->vars[EXPR_VAR_ON_ORDER] >= 0)
    pos = (s->vars[EXPR_VAR_SPARES] + s->vars[EXPR_VAR_ON_ORDER]) * life;
  need = 2 * lead + RULES_DEFAULT_MARGIN_DAYS - pos;

  if(pack <= 0)
    pack = 1;
  if(!isfinite(life) || life <= 0 || !isfinite(need) || need <= 0)
    return pack;
  units = ceil(need / life);
  if(!(units >= 1))
    units = 1;
  packs = ceil(units / (double)pack);
  if(packs > RULES_DEFAULT_MAX_PACKS)
    packs = RULES_DEFAULT_MAX_PACKS;
  if(packs > (double)(INT64_MAX / pack))
    return INT64_MAX / pack * pack;
  return (int64_t)packs * pack;
}

static void decide(const struct cfg_rule *r, const struct rule_snapshot *s, int64_t now_ms,
                   bool button, struct rule_decision *d)
{
  const struct cfg_consumable *c = s->consumable;
  int64_t pack = pack_size(c);

  memset(d, 0, sizeof(*d));
  d->consumable = c;
  d->rule = r;
  if(button)
    d->quantity = pack;
  else if(r->builtin)
    d->quantity = default_quantity(s, pack);
  else
    d->quantity = round_to_pack(r->quantity > 0 ? r->quantity : pack, pack);
  d->approval_required = r->approval == CFG_APPROVAL_REQUIRED ||
                         (c->spec->item && c->spec->item->approval == CFG_APPROVAL_REQUIRED);
  memcpy(d->figures, s->vars, sizeof(d->figures));
  d->button = button;
  d->urgent = s->urgent && !button;
  if(s->empty_at_ms != INT64_MAX)
    d->need_by_ms = s->empty_at_ms;
  else
    d->need_by_ms = add_sat(now_ms, c->spec->item ? c->spec->item->lead_time_ms : 0);
}

/*
 * Evaluate snapshot s with its timers st at now_ms. Returns the rule that
 * makes a line (with *button set when a button press made it), or NULL.
 * Gates (stale, open line) are applied by the caller.
 */
static const struct cfg_rule *evaluate_one(const struct cfg *cfg, int64_t now_ms,
                                           const struct rule_snapshot *s, struct rule_state *st,
                                           bool *button)
{
  const struct cfg_rule *fired = NULL;
  const struct cfg_rule *first_match = NULL;
  size_t j;

  *button = false;
  for(j = 0; j < cfg->n_rules; j++) {
    const struct cfg_rule *r = &cfg->rules[j];
    bool holds;
    if(!rules_match(r, s->consumable)) {
      st->since_ms[j] = INT64_MIN;
      continue;
    }
    if(!first_match)
      first_match = r;
    holds = r->when && expr_eval(r->when, s->vars);
    if(timer_update(&st->since_ms[j], holds, now_ms, r->for_ms) && !fired)
      fired = r;
  }
  if(!first_match) {
    const struct cfg_rule *r = &cfg->default_rule;
    bool holds = r->when && expr_eval(r->when, s->vars);
    first_match = r;
    if(timer_update(&st->since_ms[cfg->n_rules], holds, now_ms, r->for_ms))
      fired = r;
  }
  else
    st->since_ms[cfg->n_rules] = INT64_MIN;
  if(s->button_pressed) {
    *button = true;
    return first_match;
  }
  return fired;
}

/*
 * See rules.h. Every snapshot's timers are updated even when out is full
 * (decisions beyond cap are dropped; pass cap >= n to get them all).
 * states[i] is resized when it does not fit cfg (after a reload), which
 * restarts its timers.
 */
size_t rules_evaluate(const struct cfg *cfg, int64_t now_ms, const struct rule_snapshot *snaps,
                      struct rule_state *states, size_t n, struct rule_decision *out, size_t cap)
{
  size_t i, w = 0;

  for(i = 0; i < n; i++) {
    const struct rule_snapshot *s = &snaps[i];
    const struct cfg_rule *r;
    bool button;

    if(!s->consumable)
      continue;
    state_fit(&states[i], cfg);
    if(states[i].open_known && states[i].last_open != s->open_line)
      state_restart(&states[i]); /* a line was created or ended */
    states[i].open_known = true;
    states[i].last_open = s->open_line;
    r = evaluate_one(cfg, now_ms, s, &states[i], &button);
    if(!r || s->stale || s->open_line || (s->held && !button) || w >= cap)
      continue;
    decide(r, s, now_ms, button, &out[w]);
    w++;
  }
  return w;
}
