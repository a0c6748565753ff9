/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_replay_csv: libFuzzer target for the readings CSV reader of
 * `restockctl replay` (replay_csv_parse). The input is the whole file. It is
 * parsed without a config (every device/point accepted) and the result
 * checked: a success has rows in time order with valid keys and no error
 * text; a failure has rows freed and at least one error line.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/rs_util.h"
#include "gateway/tools/replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct replay_csv csv;
  struct rs_buf errs = {0};
  size_t nerr = replay_csv_parse("fuzz.csv", (const char *)data, size, NULL, &csv, &errs);
  size_t i;
  if(nerr) {
    if(csv.rows || csv.n_rows || !errs.data || !strstr(errs.data, "fuzz.csv:"))
      __builtin_trap();
  }
  else {
    if(errs.data && errs.len)
      __builtin_trap();
    for(i = 0; i < csv.n_rows; i++) {
      if(csv.rows[i].key >= csv.n_keys)
        __builtin_trap();
      if(i && csv.rows[i - 1].time_ms > csv.rows[i].time_ms)
        __builtin_trap();
    }
  }
  replay_csv_free(&csv);
  rs_buf_free(&errs);
  return 0;
}
