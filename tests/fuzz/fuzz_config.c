/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_config: libFuzzer target for the configuration loader (YAML parsing,
 * schema walk, phase-two checks) through cfg_load_buffers().
 *
 * Input: NUL-separated parts. Without a NUL the whole input is loaded three
 * times, once in each role (restock.yaml, a devices.d file, a rules.d file)
 * next to a minimal restock.yaml. With NULs, part 0 is restock.yaml, part 1
 * a devices.d file, part 2 a rules.d file, further parts more devices.d files.
 * Secrets resolve under a directory that does not exist.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run(const struct cfg_file_buf *files, size_t n)
{
  struct cfg *cfg = NULL;
  struct cfg_diags diags = {0};
  int nerr = cfg_load_buffers("/nonexistent/restock-fuzz", files, n, &cfg, &diags);
  if(!nerr) {
    char line[128];
    if(!cfg)
      __builtin_trap();
    cfg_summary(cfg, line, sizeof(line));
    cfg_free(cfg);
  }
  else if(cfg || diags.n_errors == 0) {
    __builtin_trap(); /* a failed load returns no config and reports why */
  }
  cfg_diags_free(&diags);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char minimal[] = "gateway: {id: fuzz}\n";
  static char names[8][32];
  struct cfg_file_buf files[8];
  const char *p = (const char *)data, *end = p + size;
  const char *nul = memchr(p, '\0', size);
  size_t n = 0;

  if(!nul) {
    struct cfg_file_buf one[2] = {{"restock.yaml", p, size}, {NULL, NULL, 0}};
    run(one, 1);
    one[0].data = minimal;
    one[0].len = sizeof(minimal) - 1;
    one[1].name = "devices.d/fuzz.yaml";
    one[1].data = p;
    one[1].len = size;
    run(one, 2);
    one[1].name = "rules.d/fuzz.yaml";
    run(one, 2);
    return 0;
  }
  while(p <= end && n < 8) {
    const char *q = memchr(p, '\0', (size_t)(end - p));
    size_t len = q ? (size_t)(q - p) : (size_t)(end - p);
    if(n == 0)
      snprintf(names[n], sizeof(names[n]), "restock.yaml");
    else if(n == 2)
      snprintf(names[n], sizeof(names[n]), "rules.d/r.yaml");
    else
      snprintf(names[n], sizeof(names[n]), "devices.d/d%zu.yaml", n);
    files[n].name = names[n];
    files[n].data = p;
    files[n].len = len;
    n++;
    if(!q)
      break;
    p = q + 1;
  }
  run(files, n);
  return 0;
}
