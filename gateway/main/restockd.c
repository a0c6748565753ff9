/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restockd: the restock gateway daemon. This file holds argument parsing and
 * `--check`; the daemon's life cycle lives in gateway/daemon.c.
 */
#include <getopt.h> /* optind */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "base/log.h"
#include "base/rs_util.h"
#include "config/config.h"
#include "gateway/daemon.h"
#include "gateway/tools/check.h"

static void usage(FILE *f)
{
  fputs("usage: restockd [--config DIR] [--check] [--time-scale N] [--log-level L]\n"
        "       restockd --version\n", f);
}

int main(int argc, char **argv)
{
  struct cli_daemon a = {RESTOCK_CONFDIR, false, 0, LOG_LVL_INFO};
  int rc;

  cli_ignore_fsize_signal();
  rc = cli_daemon_options("restockd", argc, argv, &a, usage);
  if(rc >= 0)
    return cli_finish_output("restockd", rc);
  if(optind < argc) {
    fprintf(stderr, "restockd: unexpected argument '%s'\n", argv[optind]);
    usage(stderr);
    return 2;
  }
  if(a.check)
    return cli_finish_output("restockd", check_config_dir(a.config, stdout, stderr));
  log_set_level(a.level);
  {
    struct daemon_opts o = {a.config, a.time_scale};
    return daemon_run(&o);
  }
}
