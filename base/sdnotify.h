/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sdnotify: the service manager's notification protocol (sd_notify(3)) and
 * its watchdog settings (sd_watchdog_enabled(3)), without libsystemd.
 * libsystemd and what it links (libgcrypt, libgpg-error, liblzma, liblz4,
 * libcap) cost restockd about 1 MB of RSS for three small functions
 * (docs/BENCHMARKS.md, where the RSS goes).
 *
 * The protocol: one datagram of "KEY=VALUE\n..." text to the AF_UNIX
 * socket named by $NOTIFY_SOCKET (a path, or "@name" for the abstract
 * namespace); nothing when the variable is unset.
 */
#ifndef RS_SDNOTIFY_H
#define RS_SDNOTIFY_H

#include <stdint.h>

#include "base/rs_util.h"

/*
 * Send state to $NOTIFY_SOCKET. Returns 1 when sent, 0 when there is no
 * socket to send to, a negative errno on failure (like sd_notify()).
 */
int sdn_notify(const char *state);
/* sdn_notify() of a formatted state; the text is cut at 4 KiB. */
int sdn_notifyf(const char *fmt, ...) RS_PRINTF(1, 2);
/*
 * The watchdog interval the service manager asks for: 1 with *usec set when
 * $WATCHDOG_USEC is a positive number and $WATCHDOG_PID, when set, is this
 * process; 0 otherwise (like sd_watchdog_enabled(0, usec)).
 */
int sdn_watchdog_enabled(uint64_t *usec);

#endif
