/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ruletest: `restockctl test-rules FILE...` (SPEC 7), rule unit tests in the
 * spirit of `promtool test rules`. Each file (config/ruletest_cfg.h, format
 * in docs/rules.md) names a plant and gives test cases; each case runs on a
 * fresh replay engine (gateway/replay.h: temp store, the real reading path
 * and predictors, rules_evaluate() and the pipeline's line creation) on a
 * virtual clock, and the lines made are compared with the lines expected.
 *
 * Output: per case "PASS FILE: NAME" or "FAIL FILE: NAME" followed by
 * expected-against-got lines; at the end "test-rules: N passed, N failed".
 */
#ifndef RS_RULETEST_H
#define RS_RULETEST_H

#include <stddef.h>
#include <stdio.h>

/*
 * Run every test file. Returns the exit code: 0 when every case passed, 1
 * when a case failed, 2 when a test file or its plant is invalid (its
 * errors on err; the other files still run).
 */
int ruletest_run_files(const char *const *paths, size_t n, FILE *out, FILE *err);

#endif
