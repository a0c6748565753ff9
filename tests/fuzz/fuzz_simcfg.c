/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_simcfg: libFuzzer target for restock-sim's config reader (the shop,
 * its faults, simulated devices and their profiles) through
 * simcfg_load_buffer(). A load either gives a config and no error, or no
 * config and at least one error; secret files resolve under a directory
 * that does not exist.
 */
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "sim/simcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct simcfg *cfg = NULL;
  struct cfg_diags diags = {0};
  int nerr = simcfg_load_buffer("/nonexistent/restock-fuzz/sim.yaml", (const char *)data, size,
                                &cfg, &diags);
  if(nerr ? (cfg != NULL || diags.n_errors == 0) : cfg == NULL)
    __builtin_trap();
  simcfg_free(cfg);
  cfg_diags_free(&diags);
  return 0;
}
