/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restockd: the restock gateway daemon. This file holds argument parsing and
 * `--check`; the daemon's life cycle lives in gateway/daemon.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "base/rs_util.h"
#include "gateway/tools/check.h"
#include "gateway/daemon.h"
#include "base/clock.h"
#include "base/log.h"

static void usage(FILE *f)
{
  fputs("usage: restockd [--config DIR] [--check] [--time-scale N] [--log-level L]\n", f);
}

int main(int argc, char **argv)
{
  static const struct option opts[] = {
    {"config", required_argument, NULL, 'c'},
    {"check", no_argument, NULL, 'k'},
    {"time-scale", required_argument, NULL, 't'},
    {"log-level", required_argument, NULL, 'l'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  const char *dir = RESTOCK_CONFDIR;
  int check = 0, c;
  double scale = 0;
  enum log_level level = LOG_LVL_INFO;

  while((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
    switch(c) {
    case 'c':
      dir = optarg;
      break;
    case 'k':
      check = 1;
      break;
    case 't':
      if(clock_scale_option("restockd", optarg, &scale))
        return 2;
      break;
    case 'l':
      if(log_level_option("restockd", optarg, &level))
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
  if(optind < argc) {
    fprintf(stderr, "restockd: unexpected argument '%s'\n", argv[optind]);
    usage(stderr);
    return 2;
  }
  if(check)
    return check_config_dir(dir, stdout, stderr);
  log_set_level(level);
  {
    struct daemon_opts o = {dir, scale};
    return daemon_run(&o);
  }
}
