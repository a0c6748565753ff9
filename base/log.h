/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log: one line per event on stderr with a syslog priority prefix ("<4>"),
 * which journald turns into the entry's priority (sd-daemon(3)). Lines are
 * written whole with one write(2), so concurrent threads never interleave.
 * Secrets never go in a log line: callers log file names, never contents.
 */
#ifndef RS_LOG_H
#define RS_LOG_H

#include "base/rs_util.h"

enum log_level {
  LOG_LVL_ERR = 3,
  LOG_LVL_WARNING = 4,
  LOG_LVL_NOTICE = 5,
  LOG_LVL_INFO = 6,
  LOG_LVL_DEBUG = 7
};

/* Lines above this level are dropped. Default: info. */
void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* "error", "warning", "notice", "info", "debug" -> 0 and *out; else -1. */
int log_parse_level(const char *name, enum log_level *out);
/*
 * A command's --log-level argument: 0 and *out, or -1 after printing
 * "PROG: --log-level: unknown level ..." to stderr.
 */
int log_level_option(const char *prog, const char *arg, enum log_level *out);
/*
 * A command run by a person (restockctl): lines read "PROG: warning: ..."
 * instead of carrying the journal's "<4>". Call before any thread logs.
 */
void log_set_command(const char *prog);
/* Redirect output (tests); fd 2 by default. */
void log_set_fd(int fd);

void log_msg(enum log_level lvl, const char *fmt, ...) RS_PRINTF(2, 3);

/*
 * Rate-limited: at most one line per `kind` (a short constant naming the
 * sort of event, e.g. "store-write") per window (60 s). Lines of that kind
 * within the window are counted instead, and the next line written says how
 * many were left out: "... (and 56 more like this, not logged, since the
 * last one)".
 * Thread-safe. At most LOG_RL_KINDS kinds are tracked; further kinds share
 * one slot.
 */
void log_rl(enum log_level lvl, const char *kind, const char *fmt, ...) RS_PRINTF(3, 4);
#define LOG_RL_KINDS 64
/* The window in ms (tests); 60000 by default. */
void log_rl_set_window_ms(int64_t ms);

#define log_err(...)    log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_LVL_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LVL_NOTICE, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)  log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
