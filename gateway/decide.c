/* SPDX-License-Identifier: Apache-2.0 */
/*
 * decide: the decision step (see decide.h).
 */
#include "gateway/decide.h"

#include <stdlib.h>
#include <string.h>

#include "base/rs_util.h"

/* Consumables snapshotted and evaluated at once (64: 12 kB of snapshots and 11 kB
   of decisions, was 256: RSS, docs/BENCHMARKS.md; a block's fixed cost is a call) */
#define DECIDE_BLOCK 64

struct decide {
  const struct cfg *cfg;
  /* every consumable of cfg in device order; states[i] belongs to cons[i]; snaps and dec
     hold one block of DECIDE_BLOCK consumables at a time (memory: not one per consumable) */
  const struct cfg_consumable **cons;
  struct rule_state *states;
  int64_t *timers; /* every state's since_ms, one block (n_rules + 1 each) */
  struct rule_snapshot *snaps;
  struct rule_decision *dec;
  size_t n_cons;
  /* incremental runs: cons of device i are cons[dev_off[i] .. dev_off[i + 1]) */
  size_t *dev_off;
  bool *marked;
  uint32_t *mlist; /* the marked ones, in marking order (32 bits: RSS) */
  size_t n_marked;
  decide_line_fn on_line;
  void *on_line_ud;
};

/* Fill d->cons and fresh state arrays for d->cfg. */
static void decide_index(struct decide *d)
{
  const struct cfg *cfg = d->cfg;
  size_t i, j, k = 0;
  d->n_cons = 0;
  for(i = 0; i < cfg->n_devices; i++)
    d->n_cons += cfg->devices[i].n_consumables;
  d->cons = rs_xcalloc(d->n_cons + 1, sizeof(*d->cons));
  d->states = rs_xcalloc(d->n_cons + 1, sizeof(*d->states));
  d->timers = rs_xcalloc(d->n_cons + 1, (cfg->n_rules + 1) * sizeof(*d->timers));
  d->snaps = rs_xcalloc(DECIDE_BLOCK, sizeof(*d->snaps));
  d->dec = rs_xcalloc(DECIDE_BLOCK, sizeof(*d->dec));
  d->dev_off = rs_xcalloc(cfg->n_devices + 1, sizeof(*d->dev_off));
  d->marked = rs_xcalloc(d->n_cons + 1, sizeof(*d->marked));
  d->mlist = rs_xcalloc(d->n_cons + 1, sizeof(*d->mlist));
  d->n_marked = 0;
  for(i = 0; i < cfg->n_devices; i++) {
    d->dev_off[i] = k;
    for(j = 0; j < cfg->devices[i].n_consumables; j++) {
      d->cons[k] = &cfg->devices[i].consumables[j];
      rule_state_init_in(&d->states[k], cfg, d->timers + k * (cfg->n_rules + 1));
      k++;
    }
  }
  d->dev_off[cfg->n_devices] = k;
}

static void decide_unindex(struct decide *d)
{
  size_t i;
  for(i = 0; d->states && i < d->n_cons; i++)
    rule_state_free(&d->states[i]);
  FREE_NULL(d->states);
  FREE_NULL(d->timers);
  FREE_NULL(d->cons);
  FREE_NULL(d->snaps);
  FREE_NULL(d->dec);
  FREE_NULL(d->dev_off);
  FREE_NULL(d->marked);
  FREE_NULL(d->mlist);
  d->n_marked = 0;
  d->n_cons = 0;
}

struct decide *decide_new(const struct cfg *cfg)
{
  struct decide *d = rs_xcalloc(1, sizeof(*d));
  d->cfg = cfg;
  decide_index(d);
  return d;
}

void decide_free(struct decide *d)
{
  if(!d)
    return;
  decide_unindex(d);
  free(d);
}

/* Index of rule r (by name; the built-in default by position) in cfg, or -1. */
static long rule_index(const struct cfg *cfg, const struct cfg_rule *r)
{
  size_t i;
  if(r->builtin)
    return (long)cfg->n_rules;
  for(i = 0; i < cfg->n_rules; i++) {
    if(r->name && cfg->rules[i].name && !strcmp(cfg->rules[i].name, r->name))
      return (long)i;
  }
  return -1;
}

void decide_set_config(struct decide *d, const struct cfg *cfg)
{
  struct decide old = *d;
  size_t i, j, r;

  d->cfg = cfg;
  decide_index(d);
  for(i = 0; i < d->n_cons; i++) {
    for(j = 0; j < old.n_cons; j++) {
      if(strcmp(d->cons[i]->full_id, old.cons[j]->full_id))
        continue;
      for(r = 0; r <= old.cfg->n_rules && r < old.states[j].n; r++) {
        const struct cfg_rule *orule =
            r < old.cfg->n_rules ? &old.cfg->rules[r] : &old.cfg->default_rule;
        long k = rule_index(cfg, orule);
        if(k >= 0 && (size_t)k < d->states[i].n)
          d->states[i].since_ms[k] = old.states[j].since_ms[r];
      }
      break;
    }
  }
  decide_unindex(&old);
}

void decide_on_line(struct decide *d, decide_line_fn fn, void *ud)
{
  d->on_line = fn;
  d->on_line_ud = ud;
}

/*
 * Snapshot, evaluate and submit consumables first .. first + n - 1 (n at
 * most DECIDE_BLOCK). A button press that cannot be acted on is logged and
 * shown, never dropped silently. Returns the lines made.
 */
static size_t run_range(struct decide *d, struct reading_path *rp, struct pipeline *pl,
                        int64_t now_ms, bool may_order, size_t first, size_t n)
{
  size_t i, nd, made = 0;
  for(i = 0; i < n; i++)
    reading_path_snapshot(rp, d->cons[first + i], now_ms,
                          pipeline_has_open_line(pl, d->cons[first + i]->full_id), &d->snaps[i]);
  nd = rules_evaluate(d->cfg, now_ms, d->snaps, &d->states[first], n, d->dec, DECIDE_BLOCK);
  for(i = 0; i < nd && may_order; i++) {
    int64_t id = 0;
    if(pipeline_submit(pl, d->cfg, &d->dec[i], now_ms, &id) == RS_OK) {
      made++;
      if(d->on_line)
        d->on_line(d->on_line_ud, &d->dec[i], id, now_ms);
    }
  }
  for(i = 0; i < n; i++) {
    const struct rule_snapshot *s = &d->snaps[i];
    const char *why = NULL;
    if(!s->button_pressed)
      continue;
    if(s->open_line)
      why = "a line of this consumable is open";
    else if(s->stale)
      why = "its reading is stale";
    else if(!may_order)
      why = "the clock is not plausible";
    if(why)
      pipeline_note_press_ignored(pl, d->cons[first + i]->full_id, why, now_ms);
  }
  return made;
}

size_t decide_run(struct decide *d, struct reading_path *rp, struct pipeline *pl, int64_t now_ms)
{
  size_t i, made = 0;
  /* the rules run (and their `for` timers move) even while the clock forbids ordering */
  bool may_order = pipeline_clock_check(pl, now_ms);
  for(i = 0; i < d->n_marked; i++)
    d->marked[d->mlist[i]] = false; /* everything is evaluated now */
  d->n_marked = 0;
  for(i = 0; i < d->n_cons; i += DECIDE_BLOCK)
    made += run_range(d, rp, pl, now_ms, may_order, i,
                      d->n_cons - i < DECIDE_BLOCK ? d->n_cons - i : DECIDE_BLOCK);
  (void)pipeline_tick(pl, d->cfg, now_ms);
  return made;
}

void decide_mark_point(struct decide *d, size_t device, size_t point)
{
  const struct cfg_device *dev;
  size_t i;
  if(device >= d->cfg->n_devices)
    return;
  dev = &d->cfg->devices[device];
  if(point >= dev->n_points)
    return;
  for(i = d->dev_off[device]; i < d->dev_off[device + 1]; i++) {
    if(d->cons[i]->point == &dev->points[point] && !d->marked[i]) {
      d->marked[i] = true;
      d->mlist[d->n_marked++] = (uint32_t)i;
    }
  }
}

size_t decide_n_marked(const struct decide *d)
{
  return d->n_marked;
}

size_t decide_run_marked(struct decide *d, struct reading_path *rp, struct pipeline *pl,
                         int64_t now_ms)
{
  size_t k, made = 0;
  bool may_order = pipeline_clock_check(pl, now_ms);
  for(k = 0; k < d->n_marked; k++) {
    size_t i = d->mlist[k];
    d->marked[i] = false;
    made += run_range(d, rp, pl, now_ms, may_order, i, 1);
  }
  d->n_marked = 0;
  if(made)
    (void)pipeline_tick(pl, d->cfg, now_ms);
  return made;
}

bool decide_timers_running(const struct decide *d, int64_t now_ms)
{
  size_t i, j;
  for(i = 0; i < d->n_cons; i++) {
    const struct rule_state *st = &d->states[i];
    for(j = 0; j < st->n && st->since_ms; j++) {
      const struct cfg_rule *r = j < d->cfg->n_rules ? &d->cfg->rules[j] : &d->cfg->default_rule;
      if(st->since_ms[j] != INT64_MIN && r->for_ms > 0 && now_ms - st->since_ms[j] < r->for_ms)
        return true;
    }
  }
  return false;
}
