/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test helper: prints the loader's key tables (config/cfg_load.c,
 * cfg_load_key_tables()) one key a line, "TABLE<TAB>KEY<TAB>DEFAULT" (the
 * default as written in YAML, "-" for none), for tests/check_config_keys.py
 * to hold docs/configuration.md's defaults against. With --default-rule,
 * the built-in default rule's `when` at the default orders.stockout_risk
 * (config/cfg_load.c, cfg_default_rule_src()) instead.
 */
#include <stdio.h>
#include <string.h>

#include "config/cfg_schema.h"
#include "config/config.h"

int main(int argc, char **argv)
{
  size_t n, i, j;
  const struct cfg_key_table *t;
  if(argc > 1 && !strcmp(argv[1], "--default-rule")) {
    char src[CFG_DEFAULT_RULE_MAX];
    if(cfg_default_rule_src(0.05, src, sizeof(src)))
      return 1;
    puts(src);
    return 0;
  }
  t = cfg_load_key_tables(&n);
  for(i = 0; i < n; i++)
    for(j = 0; j < t[i].n; j++)
      printf("%s\t%s\t%s\n", t[i].name, t[i].keys[j].name,
             t[i].keys[j].def ? t[i].keys[j].def : "-");
  return 0;
}
