/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli: the command-line options the two daemons, restockd and restock-sim,
 * share: --config, --check, --time-scale, --log-level and --help.
 */
#ifndef RS_CLI_H
#define RS_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "base/log.h"

struct cli_daemon {
  const char *config;   /* --config (-c) DIR or FILE; the caller's default until given */
  bool check;           /* --check */
  double time_scale;    /* --time-scale N; the caller's default until given */
  enum log_level level; /* --log-level L; the caller's default until given */
};

/*
 * Parse the shared options of argv into *a (defaults set by the caller); prog
 * names the program in error sentences and usage(f) prints its usage line.
 * Returns -1 to go on (optind at the first operand), or the exit status:
 * 0 after --help (usage on stdout), 2 after a bad option (on stderr).
 */
int cli_daemon_options(const char *prog, int argc, char **argv, struct cli_daemon *a,
                       void (*usage)(FILE *f));

#endif
