/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_ruletest: libFuzzer target for the rule test files of `restockctl
 * test-rules` (config/ruletest_cfg.c: YAML, the series notation, durations,
 * expected orders) through ruletest_cfg_load_buffer(). The file's path is
 * under a directory that does not exist; its config is only named, not
 * loaded. A load returns a file and no error, or errors and no file.
 */
#include <stddef.h>
#include <stdint.h>

#include "config/ruletest_cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct ruletest_file *f = NULL;
  struct cfg_diags diags = {0};
  int nerr = ruletest_cfg_load_buffer("/nonexistent/restock-fuzz/test.yaml", (const char *)data,
                                      size, &f, &diags);
  if(nerr ? f != NULL || diags.n_errors == 0 : f == NULL)
    __builtin_trap();
  ruletest_cfg_free(f);
  cfg_diags_free(&diags);
  return 0;
}
