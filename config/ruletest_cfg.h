/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ruletest_cfg: the YAML test files of `restockctl test-rules` (SPEC 7,
 * docs/rules.md "Rule unit tests"), parsed into plain structs. Like the
 * rest of config/, this is the only place that knows YAML; gateway/ruletest.c
 * runs what is parsed here.
 *
 *   config: plant              # config dir, relative to this file (default: its dir)
 *   rule_files: [rules.yaml]   # optional: used instead of the config dir's rules.d/
 *   tests:
 *     - name: orders when 40 litres are left
 *       interval: 1h           # time between two samples (required)
 *       start: 2026-01-05T00:00:00Z   # optional, the default
 *       duration: 3d           # optional; default: the longest series
 *       spares: {tap-01/filter: 0}    # optional, per consumable
 *       series:
 *         - consumable: tap-01/filter  # its model's point; or device: + point:
 *           values: 0+10x20 _ replace 0+10x5
 *       orders:                # every line expected; none elsewhere
 *         - {at: 14h, consumable: tap-01/filter, sku: BR-1, quantity: 2, rule: r1}
 *
 * Series notation (tokens separated by spaces):
 *   N          one sample (a decimal number, or true/false as 1/0)
 *   A+BxN      N+1 samples A, A+B, ..., A+N*B (as in promtool); A-BxN falls
 *   AxN        N+1 samples of A
 *   _          a missing sample (no reading at that time); _xN: N of them
 *   replace    the part is replaced: marked at the next sample's time, just
 *              before that sample is read (takes no time of its own)
 * Sample i of every series is read at start + i * interval.
 */
#ifndef RS_RULETEST_CFG_H
#define RS_RULETEST_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/* Most samples one series may expand to. */
#define RULETEST_MAX_SAMPLES 1000000

struct ruletest_sample {
  double value; /* NAN for a missing sample */
  bool replace; /* a replacement is marked just before this sample */
};

struct ruletest_series {
  struct cfg_pos pos;
  const char *consumable; /* full id, or NULL when device/point is given */
  const char *device, *point;
  struct ruletest_sample *samples;
  size_t n;
  bool replace_at_end; /* `replace` after the last sample */
};

struct ruletest_expect {
  struct cfg_pos pos;
  int64_t at_ms;     /* offset from the test's start */
  int64_t within_ms; /* tolerance either side (default 0) */
  const char *consumable;
  const char *sku;  /* NULL: not checked */
  const char *rule; /* NULL: not checked ("default" names the built-in rule) */
  int64_t quantity; /* 0: not checked */
};

struct ruletest_spares {
  struct cfg_pos pos;
  const char *consumable;
  int64_t spares;
};

struct ruletest_case {
  struct cfg_pos pos;
  const char *name;
  int64_t interval_ms;
  int64_t start_ms;
  int64_t duration_ms; /* -1: (longest series - 1) * interval */
  struct ruletest_spares *spares;
  size_t n_spares;
  struct ruletest_series *series;
  size_t n_series;
  struct ruletest_expect *expect;
  size_t n_expect;
};

struct ruletest_file {
  struct rs_arena *arena;
  const char *path;       /* as given */
  const char *config_dir; /* resolved against the file's dir */
  struct cfg_pos config_pos;
  const char **rule_files; /* resolved; NULL when the config dir's rules.d/ is used */
  size_t n_rule_files;
  struct ruletest_case *cases;
  size_t n_cases;
};

/* The default start of a test's timeline: 2026-01-05T00:00:00Z (a Monday). */
#define RULETEST_DEFAULT_START_MS 1767571200000LL

/*
 * Load the test file at path. Returns 0 with *out set (free with
 * ruletest_cfg_free), or the number of errors with *out NULL; every error
 * ("file:line:column: key.path: what is wrong") goes into diags.
 */
int ruletest_cfg_load(const char *path, struct ruletest_file **out, struct cfg_diags *diags);
/* In-memory entry (fuzzing, tests): path only names the file and resolves `config`. */
int ruletest_cfg_load_buffer(const char *path, const char *data, size_t len,
                             struct ruletest_file **out, struct cfg_diags *diags);
void ruletest_cfg_free(struct ruletest_file *f);

/*
 * Expand a series in the notation above into *out (malloc'd, caller frees)
 * and *n. Returns 0, or -1 with a sentence in err and *err_offset at the
 * offending token (0-based byte offset in s).
 */
int ruletest_cfg_expand(const char *s, struct ruletest_sample **out, size_t *n,
                        bool *replace_at_end, char *err, size_t errlen, size_t *err_offset);

/*
 * The plant of a test file: the config dir's restock.yaml and devices.d/,
 * with the file's rule_files in place of rules.d/ when it names any (else
 * the whole dir, as cfg_load). Returns and sets *out and diags as cfg_load().
 */
int ruletest_cfg_load_plant(const struct ruletest_file *f, struct cfg **out,
                            struct cfg_diags *diags);

#endif
