/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of rules/rules: selectors, `for` timers on a virtual time
 * axis, first-rule-wins, the default rule, gates, quantities, approval and
 * the button model. The config is built by hand in an arena; `when`
 * expressions are compiled with the real expr_compile().
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "base/rs_util.h"
#include "rules/expr.h"
#include "rules/rules.h"

#define MIN_MS  (60 * 1000LL)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS  (24 * HOUR_MS)
#define T0      1700000000000LL /* a wall time in ms */

struct fixture {
  struct rs_arena *a;
  struct cfg cfg;
  struct cfg_catalog_item items[2];
  struct cfg_consumable cons[3];
  struct cfg_cons_spec specs[3]; /* cons[i]'s settings */
  struct cfg_rule rules[4];
  struct rule_state st;   /* the rules' timers for one consumable (teardown frees it) */
  struct rule_decision d; /* the last decision of eval1() */
};

static struct expr *compile(const char *s)
{
  struct expr_error err;
  struct expr *e = expr_compile(s, strlen(s), &err);
  if(!e)
    fail_msg("'%s': %s at %zu", s, err.msg, err.offset);
  return e;
}

static struct cfg_kv *kv1(struct rs_arena *a, const char *k, const char *v)
{
  struct cfg_kv *kv = rs_arena_alloc(a, sizeof(*kv));
  kv->key = rs_arena_strdup(a, k);
  kv->value = rs_arena_strdup(a, v);
  return kv;
}

/*
 * f->cons[i]: full_id "device/id" (borrowed), its catalog item, kind (NULL: none), the
 * label line: LINE (NULL: no labels) and its model.
 */
static void set_cons(struct fixture *f, size_t i, const char *full_id,
                     struct cfg_catalog_item *item, const char *kind, const char *line,
                     enum cfg_model model)
{
  struct cfg_consumable *c = &f->cons[i];
  struct cfg_cons_spec *s = &f->specs[i];
  c->full_id = full_id;
  c->id = strchr(full_id, '/') + 1;
  c->spec = s;
  s->sku = item->sku;
  s->item = item;
  s->kind = kind;
  if(line) {
    s->labels = kv1(f->a, "line", line);
    s->n_labels = 1;
  }
  s->model = model;
}

/* A config with two catalog items, three consumables and no rules yet. */
static int setup(void **state)
{
  struct fixture *f = rs_xcalloc(1, sizeof(*f));
  struct rs_arena *a = rs_arena_new();
  f->a = a;
  f->cfg.arena = a;

  f->items[0].sku = "HF-2040";
  f->items[0].pack_size = 4;
  f->items[0].lead_time_ms = 5 * DAY_MS;
  f->items[0].approval = CFG_APPROVAL_AUTO;
  f->items[1].sku = "INK-7";
  f->items[1].pack_size = 1;
  f->items[1].lead_time_ms = 2 * DAY_MS;
  f->items[1].approval = CFG_APPROVAL_REQUIRED;
  f->cfg.catalog = f->items;
  f->cfg.n_catalog = 2;

  set_cons(f, 0, "press-01/hydraulic-filter", &f->items[0], "filter", "1", CFG_MODEL_LEVEL);
  set_cons(f, 1, "printer-a/ink-black", &f->items[1], NULL, NULL, CFG_MODEL_LEVEL);
  set_cons(f, 2, "press-02/reorder", &f->items[0], "filter", "2", CFG_MODEL_BUTTON);

  f->cfg.default_rule.name = "default";
  /* as cfg_load builds it */
  f->cfg.default_rule.when_src = "runout_risk > 0.05 or (cover_days_p10 == inf and confidence >= "
                                 "0.5 and cover_days < lead_time_days + 2)";
  f->cfg.default_rule.when = compile(f->cfg.default_rule.when_src);
  f->cfg.default_rule.builtin = true;
  f->cfg.rules = f->rules;
  f->cfg.n_rules = 0;
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  size_t i;
  rule_state_free(&f->st);
  for(i = 0; i < RS_ARRAY_LEN(f->rules); i++)
    expr_free(f->rules[i].when);
  expr_free(f->cfg.default_rule.when);
  rs_arena_free(f->a);
  free(f);
  return 0;
}

/* Append a rule matching kind (NULL: everything) with `when` src. */
static struct cfg_rule *add_rule(struct fixture *f, const char *name, const char *kind,
                                 const char *when, int64_t for_ms)
{
  struct cfg_rule *r = &f->rules[f->cfg.n_rules++];
  assert_true(f->cfg.n_rules <= RS_ARRAY_LEN(f->rules));
  r->name = name;
  r->match_kind = kind;
  r->when_src = when;
  r->when = compile(when);
  r->for_ms = for_ms;
  return r;
}

/* A fresh, depleting snapshot of c with days_left d (cover = d). */
static struct rule_snapshot snap(const struct cfg_consumable *c, double days_left)
{
  struct rule_snapshot s;
  size_t i;
  memset(&s, 0, sizeof(s));
  s.consumable = c;
  for(i = 0; i < EXPR_VAR_COUNT; i++)
    s.vars[i] = 0;
  s.vars[EXPR_VAR_DAYS_LEFT] = days_left;
  s.vars[EXPR_VAR_COVER_DAYS] = days_left;
  s.vars[EXPR_VAR_POSITION_DAYS] = days_left; /* nothing on order */
  s.vars[EXPR_VAR_LEVEL_PCT] = 50;
  s.vars[EXPR_VAR_CONFIDENCE] = 0.9;
  s.vars[EXPR_VAR_LEAD_TIME_DAYS] =
    c->spec->item ? (double)c->spec->item->lead_time_ms / (double)DAY_MS : 0;
  s.empty_at_ms = isinf(days_left) ? INT64_MAX : T0 + (int64_t)(days_left * (double)DAY_MS);
  return s;
}

/* Evaluate one snapshot on f->st into f->d; returns the number of decisions (0 or 1). */
static size_t eval1(struct fixture *f, int64_t now, const struct rule_snapshot *s)
{
  return rules_evaluate(&f->cfg, now, s, &f->st, 1, &f->d, 1);
}

static void test_selectors(void **state)
{
  struct fixture *f = *state;
  struct cfg_rule r;
  const struct cfg_consumable *hf = &f->cons[0], *ink = &f->cons[1];

  memset(&r, 0, sizeof(r));
  assert_true(rules_match(&r, hf)); /* no match: everything */
  assert_true(rules_match(&r, ink));

  r.match_consumable = "press-*/hydraulic-*";
  assert_true(rules_match(&r, hf));
  assert_false(rules_match(&r, ink));
  r.match_consumable = "*filter"; /* '*' crosses the '/' */
  assert_true(rules_match(&r, hf));
  r.match_consumable = "hydraulic-filter"; /* the full id, not the bare id */
  assert_false(rules_match(&r, hf));
  r.match_consumable = "press-0?/hydraulic-filter";
  assert_true(rules_match(&r, hf));
  r.match_consumable = "[pq]ress-01/*";
  assert_true(rules_match(&r, hf));
  r.match_consumable = "press-0[!1]/*";
  assert_false(rules_match(&r, hf));
  assert_true(rules_match(&r, &f->cons[2]));
  assert_false(rules_match(&r, ink));
  r.match_consumable = NULL;

  r.match_sku = "HF-20??";
  assert_true(rules_match(&r, hf));
  assert_false(rules_match(&r, ink));
  r.match_sku = "HF-2";
  assert_false(rules_match(&r, hf));
  r.match_sku = NULL;

  r.match_kind = "filter";
  assert_true(rules_match(&r, hf));
  assert_false(rules_match(&r, ink)); /* no kind at all */
  r.match_kind = "filt*";             /* kind is equality, not a glob */
  assert_false(rules_match(&r, hf));
  r.match_kind = NULL;

  r.match_labels = kv1(f->a, "line", "1");
  r.n_match_labels = 1;
  assert_true(rules_match(&r, hf));
  assert_false(rules_match(&r, &f->cons[2])); /* line: "2" */
  assert_false(rules_match(&r, ink));         /* no labels */

  /* selectors combine with AND */
  r.match_kind = "filter";
  r.match_sku = "HF-*";
  r.match_consumable = "press-01/*";
  assert_true(rules_match(&r, hf));
  r.match_consumable = "press-02/*";
  assert_false(rules_match(&r, hf));
}

static void test_for_timer(void **state)
{
  struct fixture *f = *state;
  struct rule_snapshot s = snap(&f->cons[0], 3);
  struct cfg_rule *r = add_rule(f, "soon", "filter", "days_left < 4", HOUR_MS);

  rule_state_init(&f->st, &f->cfg);
  assert_int_equal(f->st.n, 2);
  assert_true(f->st.since_ms[0] == INT64_MIN);

  assert_int_equal(eval1(f, T0, &s), 0);
  assert_true(f->st.since_ms[0] == T0);
  assert_int_equal(eval1(f, T0 + 59 * MIN_MS, &s), 0);
  assert_true(f->st.since_ms[0] == T0);

  /* the condition stops holding: the timer restarts */
  s.vars[EXPR_VAR_DAYS_LEFT] = 4;
  assert_int_equal(eval1(f, T0 + 59 * MIN_MS + 1, &s), 0);
  assert_true(f->st.since_ms[0] == INT64_MIN);
  s.vars[EXPR_VAR_DAYS_LEFT] = 3;
  assert_int_equal(eval1(f, T0 + 70 * MIN_MS, &s), 0);
  assert_true(f->st.since_ms[0] == T0 + 70 * MIN_MS);
  assert_int_equal(eval1(f, T0 + 129 * MIN_MS, &s), 0);
  /* exactly `for` after it started holding: fires */
  assert_int_equal(eval1(f, T0 + 130 * MIN_MS, &s), 1);
  assert_ptr_equal(f->d.rule, r);
  assert_ptr_equal(f->d.consumable, &f->cons[0]);
  assert_true(f->st.since_ms[0] == T0 + 70 * MIN_MS);

  /* for: 0 fires on the first evaluation that holds */
  r->for_ms = 0;
  s.vars[EXPR_VAR_DAYS_LEFT] = 10;
  assert_int_equal(eval1(f, T0 + 200 * MIN_MS, &s), 0);
  s.vars[EXPR_VAR_DAYS_LEFT] = 1;
  assert_int_equal(eval1(f, T0 + 201 * MIN_MS, &s), 1);
  rule_state_free(&f->st);
  assert_null(f->st.since_ms);
}

/* A rule that stops matching (e.g. selectors changed) restarts its timer. */
static void test_unmatched_resets(void **state)
{
  struct fixture *f = *state;
  struct rule_snapshot s = snap(&f->cons[0], 3);
  struct cfg_rule *r = add_rule(f, "soon", "filter", "days_left < 4", HOUR_MS);

  rule_state_init(&f->st, &f->cfg);
  assert_int_equal(eval1(f, T0, &s), 0);
  r->match_kind = "ink";
  eval1(f, T0 + 30 * MIN_MS, &s);
  assert_true(f->st.since_ms[0] == INT64_MIN);
  r->match_kind = "filter";
  assert_int_equal(eval1(f, T0 + 40 * MIN_MS, &s), 0);
  assert_int_equal(eval1(f, T0 + 61 * MIN_MS, &s), 0);
  assert_int_equal(eval1(f, T0 + 100 * MIN_MS, &s), 1);
}

static void test_first_rule_wins(void **state)
{
  struct fixture *f = *state;
  struct rule_snapshot s = snap(&f->cons[0], 3);
  struct cfg_rule *slow = add_rule(f, "slow", "filter", "days_left < 5", 2 * HOUR_MS);
  struct cfg_rule *fast = add_rule(f, "fast", NULL, "days_left < 4", 0);
  struct cfg_rule *never = add_rule(f, "never", "filter", "days_left < 0", 0);
  (void)never;

  rule_state_init(&f->st, &f->cfg);
  assert_int_equal(f->st.n, 4);
  /* the first rule has not held long enough: the second fires */
  assert_int_equal(eval1(f, T0, &s), 1);
  assert_ptr_equal(f->d.rule, fast);
  /* every matching rule's timer was updated */
  assert_true(f->st.since_ms[0] == T0);
  assert_true(f->st.since_ms[1] == T0);
  assert_true(f->st.since_ms[2] == INT64_MIN);
  assert_true(f->st.since_ms[3] == INT64_MIN); /* default: not used, a rule matched */
  /* once the first has held for its `for`, it wins */
  assert_int_equal(eval1(f, T0 + 2 * HOUR_MS, &s), 1);
  assert_ptr_equal(f->d.rule, slow);
}

static void test_default_rule(void **state)
{
  struct fixture *f = *state;
  struct rule_state st[2];
  struct rule_decision d[2];
  struct rule_snapshot s[2];
  struct cfg_rule *filt = add_rule(f, "filters", "filter", "days_left < 1", 0);
  size_t n;
  (void)filt;

  /* the ink matches no rule: the default (runout risk > 5 %) applies */
  s[0] = snap(&f->cons[0], 3.5);
  s[1] = snap(&f->cons[1], 3.5);
  s[0].vars[EXPR_VAR_RUNOUT_RISK] = 0.2;
  s[1].vars[EXPR_VAR_RUNOUT_RISK] = 0.2;
  rule_state_init(&st[0], &f->cfg);
  rule_state_init(&st[1], &f->cfg);
  n = rules_evaluate(&f->cfg, T0, s, st, 2, d, 2);
  assert_int_equal(n, 1);
  assert_ptr_equal(d[0].consumable, &f->cons[1]);
  assert_ptr_equal(d[0].rule, &f->cfg.default_rule);
  assert_true(st[1].since_ms[1] == T0);
  /* the filter matched a rule, so the default does not apply to it even
   * though its risk 20 % > 5 % would hold */
  assert_true(st[0].since_ms[1] == INT64_MIN);

  /* default not holding (a risk of exactly 5 % is not above it): no line */
  s[1].vars[EXPR_VAR_RUNOUT_RISK] = 0.05;
  n = rules_evaluate(&f->cfg, T0 + 1, s, st, 2, d, 2);
  assert_int_equal(n, 0);
  /* not depleting at all */
  s[1].vars[EXPR_VAR_COVER_DAYS] = INFINITY;
  s[1].vars[EXPR_VAR_RUNOUT_RISK] = 0;
  n = rules_evaluate(&f->cfg, T0 + 2, s, st, 2, d, 2);
  assert_int_equal(n, 0);
  rule_state_free(&st[0]);
  rule_state_free(&st[1]);
}

static void test_stale_gate(void **state)
{
  struct fixture *f = *state;
  struct rule_snapshot s = snap(&f->cons[0], 1);
  add_rule(f, "soon", "filter", "days_left < 2", HOUR_MS);

  rule_state_init(&f->st, &f->cfg);
  s.stale = true;
  assert_int_equal(eval1(f, T0, &s), 0);
  assert_int_equal(eval1(f, T0 + 2 * HOUR_MS, &s), 0);
  /* the timer kept running while stale */
  assert_true(f->st.since_ms[0] == T0);
  s.stale = false;
  assert_int_equal(eval1(f, T0 + 2 * HOUR_MS + 1, &s), 1);
}

static void test_open_line(void **state)
{
  struct fixture *f = *state;
  struct rule_snapshot s = snap(&f->cons[0], 1);
  add_rule(f, "soon", "filter", "days_left < 2", 0);

  rule_state_init(&f->st, &f->cfg);
  assert_int_equal(eval1(f, T0, &s), 1);
  s.open_line = true;
  assert_int_equal(eval1(f, T0 + MIN_MS, &s), 0);
  assert_int_equal(eval1(f, T0 + 2 * MIN_MS, &s), 0);
  s.open_line = false; /* delivered or ended */
  assert_int_equal(eval1(f, T0 + 3 * MIN_MS, &s), 1);
}

static void test_quantity(void **state)
{
  struct fixture *f = *state;
  struct rule_snapshot s = snap(&f->cons[0], 1); /* pack size 4 */
  struct cfg_rule *r = add_rule(f, "soon", NULL, "days_left < 2", 0);

  rule_state_init(&f->st, &f->cfg);
  assert_int_equal(eval1(f, T0, &s), 1);
  assert_int_equal(f->d.quantity, 4); /* default: one pack */
  r->quantity = 5;
  assert_int_equal(eval1(f, T0, &s), 1);
  assert_int_equal(f->d.quantity, 8);
  r->quantity = 8;
  assert_int_equal(eval1(f, T0, &s), 1);
  assert_int_equal(f->d.quantity, 8);
  r->quantity = 1;
  assert_int_equal(eval1(f, T0, &s), 1);
  assert_int_equal(f->d.quantity, 4);
  /* pack size 1: as written */
  s = snap(&f->cons[1], 1);
  r->quantity = 3;
  assert_int_equal(eval1(f, T0, &s), 1);
  assert_int_equal(f->d.quantity, 3);
}

/* One decision of the built-in default rule for s (risk 90 %, fires at once). */
static int64_t default_qty(struct fixture *f, struct rule_snapshot *s)
{
  size_t n;
  s->vars[EXPR_VAR_RUNOUT_RISK] = 0.9;
  rule_state_init(&f->st, &f->cfg);
  n = eval1(f, T0, s);
  rule_state_free(&f->st);
  assert_int_equal(n, 1);
  assert_ptr_equal(f->d.rule, &f->cfg.default_rule);
  return f->d.quantity;
}

/* default_qty() of consumable f->cons[cons] with cover_days of cover and parts lasting
   life_days. */
static int64_t default_qty_of(struct fixture *f, size_t cons, double cover_days,
                              double life_days)
{
  struct rule_snapshot s = snap(&f->cons[cons], cover_days);
  s.life_days = life_days;
  return default_qty(f, &s);
}

/*
 * The built-in default rule orders up to lead time + 2 days of cover:
 * ceil((lead_time_days + 2 - position_days) / life_days) units, rounded up
 * to packs, at most 100 packs; one pack when the life is unknown.
 */
static void test_default_quantity(void **state)
{
  struct fixture *f = *state;
  struct rule_snapshot s;
  struct cfg_rule *r;

  f->items[0].lead_time_ms = 21 * DAY_MS; /* filter: packs of 4 */
  f->items[1].lead_time_ms = 21 * DAY_MS; /* ink: packs of 1 */

  /* a part lasting 5 days, 3 days of cover, 21 days lead time: the position covers this
     line's lead time and the next line's (drafted only once this one is delivered) and 2
     days: (2 * 21 + 2 - 3) / 5 = 8.2 -> 9 parts, not one */
  assert_int_equal(default_qty_of(f, 1, 3, 5), 9);
  /* a part lasting 2 days in packs of 4: 20.5 -> 21 parts -> 6 packs */
  assert_int_equal(default_qty_of(f, 0, 3, 2), 24);
  /* a fraction of a part still orders a whole one: 41 / 6 -> 7 */
  assert_int_equal(default_qty_of(f, 1, 3, 6), 7);
  /* the last deliveries took 30 days (an approver, batching): (2 * 30 + 2 - 3) / 5 -> 12 */
  s = snap(&f->cons[1], 3);
  s.life_days = 5;
  s.replenish_days = 30;
  assert_int_equal(default_qty(f, &s), 12);

  /* a long-lived part (60 days): one pack */
  assert_int_equal(default_qty_of(f, 1, 3, 60), 1);
  assert_int_equal(default_qty_of(f, 0, 3, 60), 4);
  /* the position already covers both lead times + margin (risk fired anyway): one pack */
  assert_int_equal(default_qty_of(f, 1, 50, 5), 1);

  /* unknown life: one pack */
  assert_int_equal(default_qty_of(f, 1, 3, INFINITY), 1);
  assert_int_equal(default_qty_of(f, 1, 3, 0), 1);
  assert_int_equal(default_qty_of(f, 1, 3, NAN), 1);
  assert_int_equal(default_qty_of(f, 0, 3, INFINITY), 4);
  /* the installed part's days unknown (the predictor's bounds fired the risk, its
     central figure is infinite): the shelf and what is on the way count, the part not:
     4 spares of 5 days, (2 * 21 + 2 - 20) / 5 -> 5 parts, not one pack */
  s = snap(&f->cons[1], 3);
  s.life_days = 5;
  s.vars[EXPR_VAR_POSITION_DAYS] = INFINITY;
  s.vars[EXPR_VAR_SPARES] = 4;
  assert_int_equal(default_qty(f, &s), 5);
  /* ... and with no spare: (42 + 2) / 5 -> 9 */
  s.vars[EXPR_VAR_SPARES] = 0;
  assert_int_equal(default_qty(f, &s), 9);
  /* a position that is not a number: one pack */
  s.vars[EXPR_VAR_POSITION_DAYS] = NAN;
  assert_int_equal(default_qty(f, &s), 1);

  /* capped at 100 packs: 20 days of a part lasting 1 minute */
  assert_int_equal(default_qty_of(f, 0, 3, 1.0 / 1440.0), 400);

  /* a button press on the default rule stays one pack */
  s = snap(&f->cons[2], 3);
  s.life_days = 5;
  s.button_pressed = true;
  rule_state_init(&f->st, &f->cfg);
  assert_int_equal(eval1(f, T0, &s), 1);
  assert_true(f->d.button);
  assert_int_equal(f->d.quantity, 4);
  rule_state_free(&f->st);

  /* a rule written by an operator keeps SPEC's quantity default: one pack */
  r = add_rule(f, "ink-risk", NULL, "runout_risk > 0.05", 0);
  s = snap(&f->cons[1], 3);
  s.life_days = 5;
  s.vars[EXPR_VAR_RUNOUT_RISK] = 0.9;
  rule_state_init(&f->st, &f->cfg);
  assert_int_equal(eval1(f, T0, &s), 1);
  assert_ptr_equal(f->d.rule, r);
  assert_int_equal(f->d.quantity, 1);
}

static void test_approval(void **state)
{
  struct fixture *f = *state;
  struct rule_snapshot hf = snap(&f->cons[0], 1);  /* catalog: auto */
  struct rule_snapshot ink = snap(&f->cons[1], 1); /* catalog: required */
  struct cfg_rule *r = add_rule(f, "soon", NULL, "days_left < 2", 0);

  rule_state_init(&f->st, &f->cfg);
  r->approval = CFG_APPROVAL_DEFAULT;
  assert_int_equal(eval1(f, T0, &hf), 1);
  assert_false(f->d.approval_required);
  r->approval = CFG_APPROVAL_AUTO;
  assert_int_equal(eval1(f, T0, &hf), 1);
  assert_false(f->d.approval_required);
  r->approval = CFG_APPROVAL_REQUIRED;
  assert_int_equal(eval1(f, T0, &hf), 1);
  assert_true(f->d.approval_required);
  /* the catalog's `required` wins over the rule's `auto` */
  r->approval = CFG_APPROVAL_AUTO;
  assert_int_equal(eval1(f, T0, &ink), 1);
  assert_true(f->d.approval_required);
}

/* SPEC 7: the `for` timers restart when a line is created or ends */
static void test_for_restarts_with_lines(void **state)
{
  struct fixture *f = *state;
  struct rule_snapshot s = snap(&f->cons[0], 1);
  add_rule(f, "soon", "filter", "cover_days < 2", HOUR_MS);

  rule_state_init(&f->st, &f->cfg);
  assert_int_equal(eval1(f, T0, &s), 0);
  assert_int_equal(eval1(f, T0 + HOUR_MS, &s), 1); /* held for 1h: the line */
  s.open_line = true;                                        /* created */
  assert_int_equal(eval1(f, T0 + HOUR_MS + MIN_MS, &s), 0);
  s.open_line = false; /* delivered: the condition still holds, but the timer restarted */
  assert_int_equal(eval1(f, T0 + 3 * HOUR_MS, &s), 0);
  assert_int_equal(eval1(f, T0 + 4 * HOUR_MS - 1, &s), 0);
  assert_int_equal(eval1(f, T0 + 4 * HOUR_MS, &s), 1);
}

/* SPEC 7: a held consumable gets no line from a rule; a button press still makes one */
static void test_held(void **state)
{
  struct fixture *f = *state;
  struct rule_snapshot s = snap(&f->cons[0], 1), b = snap(&f->cons[2], INFINITY);
  add_rule(f, "soon", NULL, "cover_days < 2", 0);

  rule_state_init(&f->st, &f->cfg);
  s.held = true;
  assert_int_equal(eval1(f, T0, &s), 0);
  s.held = false;
  assert_int_equal(eval1(f, T0 + MIN_MS, &s), 1);
  assert_false(f->d.urgent);
  s.held = false;
  s.urgent = true; /* an expiry hold lifted because the part runs out first */
  assert_int_equal(eval1(f, T0 + 2 * MIN_MS, &s), 1);
  assert_true(f->d.urgent);
  rule_state_free(&f->st);

  rule_state_init(&f->st, &f->cfg);
  b.held = true;
  b.button_pressed = true;
  assert_int_equal(eval1(f, T0, &b), 1);
  assert_true(f->d.button);
}

static void test_button(void **state)
{
  struct fixture *f = *state;
  struct rule_snapshot s = snap(&f->cons[2], INFINITY); /* button, not depleting */
  struct cfg_rule *r = add_rule(f, "filters", "filter", "days_left < 2", 0);

  r->quantity = 9;
  r->approval = CFG_APPROVAL_REQUIRED;
  rule_state_init(&f->st, &f->cfg);
  assert_int_equal(eval1(f, T0, &s), 0); /* no press, `when` false */
  s.button_pressed = true;
  assert_int_equal(eval1(f, T0 + 1000, &s), 1);
  assert_ptr_equal(f->d.rule, r);
  assert_int_equal(f->d.quantity, 4); /* one pack, whatever the rule says */
  assert_true(f->d.approval_required);
  /* not depleting: need by now + lead time (5d) */
  assert_true(f->d.need_by_ms == T0 + 1000 + 5 * DAY_MS);
  /* a press while a line is open makes nothing */
  s.open_line = true;
  assert_int_equal(eval1(f, T0 + 2000, &s), 0);
  s.open_line = false;
  s.button_pressed = false;
  assert_int_equal(eval1(f, T0 + 3000, &s), 0);

  /* no rule matches the button: credited to the default rule */
  r->match_kind = "nothing";
  s.button_pressed = true;
  assert_int_equal(eval1(f, T0 + 4000, &s), 1);
  assert_ptr_equal(f->d.rule, &f->cfg.default_rule);
  assert_false(f->d.approval_required);
}

static void test_figures_need_by(void **state)
{
  struct fixture *f = *state;
  struct rule_snapshot s = snap(&f->cons[0], 1.5);
  add_rule(f, "soon", NULL, "days_left < 2 and level_pct > 10", 0);

  s.vars[EXPR_VAR_VALUE] = 3.25;
  rule_state_init(&f->st, &f->cfg);
  assert_int_equal(eval1(f, T0, &s), 1);
  assert_true(f->d.need_by_ms == T0 + DAY_MS + DAY_MS / 2);
  assert_true(f->d.figures[EXPR_VAR_DAYS_LEFT] == 1.5);
  assert_true(f->d.figures[EXPR_VAR_VALUE] == 3.25);
  assert_true(f->d.figures[EXPR_VAR_LEVEL_PCT] == 50);
  assert_true(f->d.figures[EXPR_VAR_LEAD_TIME_DAYS] == 5);
}

/* out is bounded by cap, yet every snapshot's timers update. */
static void test_cap_and_many(void **state)
{
  struct fixture *f = *state;
  struct rule_state st[3];
  struct rule_decision d[3];
  struct rule_snapshot s[3];
  size_t i, n;
  add_rule(f, "all", NULL, "days_left < 2", 0);

  for(i = 0; i < 3; i++) {
    s[i] = snap(&f->cons[i], 1);
    rule_state_init(&st[i], &f->cfg);
  }
  n = rules_evaluate(&f->cfg, T0, s, st, 3, d, 3);
  assert_int_equal(n, 3);
  for(i = 0; i < 3; i++)
    assert_ptr_equal(d[i].consumable, &f->cons[i]);
  n = rules_evaluate(&f->cfg, T0 + 5, s, st, 3, d, 1);
  assert_int_equal(n, 1);
  assert_ptr_equal(d[0].consumable, &f->cons[0]);
  s[2].vars[EXPR_VAR_DAYS_LEFT] = 9;
  n = rules_evaluate(&f->cfg, T0 + 6, s, st, 3, d, 1);
  assert_int_equal(n, 1);
  assert_true(st[2].since_ms[0] == INT64_MIN);
  for(i = 0; i < 3; i++)
    rule_state_free(&st[i]);
}

/* A state from a config with another rule count is refitted, not overrun. */
static void test_state_refit(void **state)
{
  struct fixture *f = *state;
  struct rule_snapshot s = snap(&f->cons[0], 1);

  rule_state_init(&f->st, &f->cfg); /* no rules yet: 1 slot */
  assert_int_equal(f->st.n, 1);
  add_rule(f, "a", NULL, "days_left < 0", 0);
  add_rule(f, "b", NULL, "days_left < 2", 0);
  assert_int_equal(eval1(f, T0, &s), 1);
  assert_int_equal(f->st.n, 3);
  assert_string_equal(f->d.rule->name, "b");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_selectors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_for_timer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unmatched_resets, setup, teardown),
      cmocka_unit_test_setup_teardown(test_first_rule_wins, setup, teardown),
      cmocka_unit_test_setup_teardown(test_default_rule, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stale_gate, setup, teardown),
      cmocka_unit_test_setup_teardown(test_open_line, setup, teardown),
      cmocka_unit_test_setup_teardown(test_quantity, setup, teardown),
      cmocka_unit_test_setup_teardown(test_default_quantity, setup, teardown),
      cmocka_unit_test_setup_teardown(test_approval, setup, teardown),
      cmocka_unit_test_setup_teardown(test_button, setup, teardown),
      cmocka_unit_test_setup_teardown(test_for_restarts_with_lines, setup, teardown),
      cmocka_unit_test_setup_teardown(test_held, setup, teardown),
      cmocka_unit_test_setup_teardown(test_figures_need_by, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cap_and_many, setup, teardown),
      cmocka_unit_test_setup_teardown(test_state_refit, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
