/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test helper: `modbus_probe_cli CONFIG_DIR probe DEVICE [POINT] [--plan]
 * [--json]` is `restockctl --config CONFIG_DIR probe ...` without the rest
 * of restockctl: it calls probe_main() exactly as the command table does.
 */
#include <stdio.h>

#include "gateway/tools/probe.h"

int main(int argc, char **argv)
{
  if(argc < 3) {
    fprintf(stderr, "usage: modbus_probe_cli CONFIG_DIR probe DEVICE [POINT] [--plan] [--json]\n");
    return 2;
  }
  return probe_main(argv[1], argc - 2, argv + 2);
}
