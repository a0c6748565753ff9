/* SPDX-License-Identifier: Apache-2.0 */
#include "base/cli.h"

#include <getopt.h>

#include "base/clock.h"

int cli_daemon_options(const char *prog, int argc, char **argv, struct cli_daemon *a,
                       void (*usage)(FILE *f))
{
  static const struct option opts[] = {
      {"config", required_argument, NULL, 'c'},
      {"check", no_argument, NULL, 'k'},
      {"time-scale", required_argument, NULL, 't'},
      {"log-level", required_argument, NULL, 'l'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int c;
  while((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
    switch(c) {
    case 'c':
      a->config = optarg;
      break;
    case 'k':
      a->check = true;
      break;
    case 't':
      if(clock_scale_option(prog, optarg, &a->time_scale))
        return 2;
      break;
    case 'l':
      if(log_level_option(prog, optarg, &a->level))
        return 2;
      break;
    case 'h':
      usage(stdout);
      return 0;
    default:
      usage(stderr);
      return 2;
    }
  }
  return -1;
}
