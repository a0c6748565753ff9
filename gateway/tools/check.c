/* SPDX-License-Identifier: Apache-2.0 */
#include "gateway/tools/check.h"

#include "config/config.h"

int check_config_dir(const char *dir, FILE *out, FILE *err)
{
  struct cfg *cfg = NULL;
  struct cfg_diags diags = {0};
  char line[256];
  int nerr = cfg_load(dir, &cfg, &diags);

  cfg_diags_print(&diags, err);
  cfg_diags_free(&diags);
  if(nerr)
    return 2;
  cfg_summary(cfg, line, sizeof(line));
  fprintf(out, "%s\n", line);
  cfg_free(cfg);
  return 0;
}
