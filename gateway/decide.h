/* SPDX-License-Identifier: Apache-2.0 */
/*
 * decide: the one decision step of restock, shared by restockd's core
 * (gateway/daemon.c), `restockctl replay` and `restockctl test-rules`
 * (gateway/tools/replay.c) and the benchmarks:
 *
 *   reading path snapshots -> rules_evaluate() -> pipeline_submit() per
 *   decision -> pipeline_tick()
 *
 * struct decide holds what the step keeps between runs: the consumables of
 * the config in device order and each one's `for` timers. It borrows the
 * config (which must outlive it or be replaced with decide_set_config()).
 * Not thread-safe.
 */
#ifndef RS_DECIDE_H
#define RS_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "gateway/pipeline.h"
#include "gateway/reading.h"
#include "rules/rules.h"

struct decide;

/*
 * Called for each order line the step made at now_ms (line_id in the
 * store). The decision is valid during the call only.
 */
typedef void (*decide_line_fn)(void *ud, const struct rule_decision *d, int64_t line_id,
                               int64_t now_ms);

/* A step over cfg (borrowed) with every `for` timer stopped. Never NULL (aborts on OOM). */
struct decide *decide_new(const struct cfg *cfg);
/* NULL is fine. */
void decide_free(struct decide *d);

/*
 * Point the step at cfg (borrowed) after a reload. The `for` timers carry
 * over by consumable id and rule name; the old config may be freed after
 * the call.
 */
void decide_set_config(struct decide *d, const struct cfg *cfg);

/* Call fn for every line made from now on (NULL: none). */
void decide_on_line(struct decide *d, decide_line_fn fn, void *ud);

/*
 * Run the step at wall time now_ms: snapshot every consumable from rp,
 * evaluate the rules, hand each decision to pl (unless the pipeline's clock
 * check refuses ordering now), then pipeline_tick(). Returns the number of
 * order lines made.
 */
size_t decide_run(struct decide *d, struct reading_path *rp, struct pipeline *pl, int64_t now_ms);

/*
 * Incremental runs (restockd): mark the consumables fed by point `point` of
 * device `device` (indexes into cfg->devices and its points) because what
 * they read moved; decide_run_marked() then evaluates only those: snapshot,
 * rules, pipeline_submit() for each decision, and pipeline_tick() when a
 * line was made. Each costs O(consumables of that device), whatever the
 * size of the plant; decide_run() evaluates everything (the periodic pass
 * that serves `for` timers and staleness) and clears the marks.
 */
void decide_mark_point(struct decide *d, size_t device, size_t point);
size_t decide_n_marked(const struct decide *d);
size_t decide_run_marked(struct decide *d, struct reading_path *rp, struct pipeline *pl,
                         int64_t now_ms);

/* Whether some `for` timer is running at now_ms (holds, not yet long enough). */
bool decide_timers_running(const struct decide *d, int64_t now_ms);

#endif
