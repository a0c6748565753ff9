/* SPDX-License-Identifier: Apache-2.0 */
/*
 * replay: the whole decision pipeline on recorded or scripted readings, on a
 * virtual clock, with no device, shop or mail I/O (SPEC 12). Two parts:
 *
 *   - the engine (struct replay_engine): a temp store in a mkdtemp dir
 *     (removed by replay_engine_free), the real reading path with its
 *     predictors, rules_evaluate() and the order pipeline (line creation,
 *     and whatever batching and approval pipeline_tick() does). restockctl
 *     replay and restockctl test-rules (gateway/ruletest.h) both drive it;
 *   - (the CSV reader of `time,device,point,value` files is config/replay_csv.h) and
 *     replay_run(), the `restockctl replay` command.
 *
 * Order ids are deterministic: the temp store's id tag is REPLAY
 * (store_set_order_id_tag), and every time comes from the input, so the
 * same input gives byte-identical output. The process-wide
 * clock_trust_all_times() is switched on: a recording may lie before the
 * build date, and the pipeline would refuse to order then.
 */
#ifndef RS_REPLAY_H
#define RS_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"
#include "config/replay_csv.h"
#include "base/rs_util.h"
#include "gateway/decide.h"
#include "gateway/reading.h"
#include "base/rs_err.h"
#include "gateway/store.h"
#include "rules/rules.h"

/* The order id tag of replay's temp stores. */
#define REPLAY_ORDER_TAG "REPLAY"

/* ---- the engine ---------------------------------------------------- */

struct replay_engine;

/* Called for each order line the rules made (see decide_line_fn). */
typedef decide_line_fn replay_line_fn;

/*
 * An engine over cfg (borrowed; must outlive the engine). Creates the temp
 * dir and store. Returns NULL with a sentence in err on failure.
 */
struct replay_engine *replay_engine_new(const struct cfg *cfg, char *err, size_t errlen);
/* Close the store and remove the temp dir. NULL is fine. */
void replay_engine_free(struct replay_engine *e);

struct store *replay_engine_store(struct replay_engine *e);
struct reading_path *replay_engine_readings(struct replay_engine *e);

/* Call fn for every line made from now on (NULL: none). */
void replay_engine_on_line(struct replay_engine *e, replay_line_fn fn, void *ud);

/*
 * Set the shelf of consumable c to spares before its first reading
 * (overrides the config's `spares`). RS_OK or the store's error.
 */
enum rs_err replay_engine_set_spares(struct replay_engine *e, const struct cfg_consumable *c,
                                     int64_t spares);

/*
 * One good reading of device/point at t_ms (bool points get is_bool).
 * Readings must come in time order. RS_OK, RS_ERR_NOT_FOUND for a point the
 * config does not have, or a store error.
 */
enum rs_err replay_engine_reading(struct replay_engine *e, const char *device, const char *point,
                                  int64_t t_ms, double value);

/*
 * Evaluate the rules at now_ms (as restockd does after readings and each
 * minute), record the lines, then run pipeline_tick(). Returns the number
 * of lines made.
 */
size_t replay_engine_evaluate(struct replay_engine *e, int64_t now_ms);

/* Whether some `for` timer is running (the condition holds, not yet long enough). */
bool replay_engine_timers_running(const struct replay_engine *e, int64_t now_ms);

/* ---- the command ------------------------------------------------------ */

struct replay_opts {
  const char *config_dir;
  const char *readings; /* CSV path */
  int64_t every_ms;     /* prediction lines every this long (default 1h) */
};

/*
 * restockctl replay: load the config, read the CSV, run the engine over it
 * and print JSON lines to out (diagnostics to err). Returns the exit code:
 * 0 done, 2 bad usage, invalid config or a bad CSV row, 1 an internal
 * failure (store).
 *
 * Timeline: from the first reading to the last. Prediction lines at every
 * multiple of every_ms (Unix epoch aligned) in that span, after the readings
 * of that instant; the rules run at every reading time, every prediction
 * instant and, while a `for` timer runs, every minute (as restockd).
 */
int replay_run(const struct replay_opts *o, FILE *out, FILE *err);

#endif
