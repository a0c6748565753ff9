/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli: the command-line options the two daemons, restockd and restock-sim,
 * share: --config, --check, --time-scale, --log-level and --help; and what
 * every program does about a file size limit and a failed stdout.
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
 * 0 after --help (usage on stdout) or --version ("PROG VERSION" on stdout), 2
 * after a bad option (on stderr).
 */
int cli_daemon_options(const char *prog, int argc, char **argv, struct cli_daemon *a,
                       void (*usage)(FILE *f));

/*
 * A file-size limit (ulimit -f, systemd's LimitFSIZE=) reached by a write
 * must be a failed write (EFBIG), reported, not a kill by SIGXFSZ's default
 * action (which also dumps core). Every program of restock calls this
 * first.
 */
void cli_ignore_fsize_signal(void);

/*
 * "a file size limit of N bytes is set (ulimit -f, systemd's LimitFSIZE=)"
 * into buf (size bytes; returns buf), or "" when no limit is set: what to
 * add where a write failed with EFBIG, or with an I/O error from a library
 * that does not keep errno (SQLite).
 */
const char *cli_fsize_note(char *buf, size_t size);

/*
 * The reason a write failed with errno err, as a phrase into buf (size
 * bytes; returns buf): strerror(err), and for EFBIG the limit that caused it
 * ("File too large: a file size limit of 4096 bytes is set (ulimit -f,
 * systemd's LimitFSIZE=)").
 */
const char *cli_write_error(int err, char *buf, size_t size);

/*
 * At exit: flush stdout's pending output. When stdout could not be written
 * (now or before: a file size limit, a full disk), say so on stderr
 * ("PROG: cannot write the output: REASON") and return 1 if rc was 0;
 * otherwise (and for a pipe whose reader has gone, EPIPE) return rc.
 */
int cli_finish_output(const char *prog, int rc);

#endif
