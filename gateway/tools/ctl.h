/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ctl: restockctl's `status` and `orders` commands (SPEC section 2).
 *
 * `status` asks the running daemon (GET {url}/api/v1/status) and prints a
 * table, or the document itself with --json. `orders` works on the database
 * directly (storage.path of the config dir), so it needs no daemon: list and
 * show print the ORDER objects of SPEC 2, approve and reject decide a
 * pending order through the pipeline with actor "cli", exactly as an emailed
 * link would; the running daemon picks the approved order up from the
 * database at its next tick.
 *
 * Each returns the process exit code: 0 done, 1 the command ran and failed
 * (daemon unreachable, order not pending), 2 bad usage or invalid config.
 */
#ifndef RS_CTL_H
#define RS_CTL_H

#include <stddef.h>

int ctl_status_main(const char *url, int argc, char **argv);
/*
 * The daemon's URL when --url is not given: http://HOST:PORT from the config
 * dir's http.listen (a wildcard address, 0.0.0.0 or ::, is asked on
 * loopback), or http://127.0.0.1:8080 when the config cannot be loaded or
 * listens on port 0. Writes it into buf (len bytes).
 */
void ctl_default_url(const char *config_dir, char *buf, size_t len);
int ctl_orders_main(const char *config_dir, int argc, char **argv);
/*
 * `consumables set-spares ID N | replaced ID | hold ID [--reason TEXT] |
 * release ID` (SPEC 7): stock-take straight on the database, recorded as
 * actor cli in the audit trail (gateway/stock.h); the running daemon sees
 * the change at its next evaluation. Exit 0 done, 2 bad usage or bad input
 * (unknown id, a count that is not a whole number >= 0, releasing what is
 * not held) with nothing changed, 1 a store failure.
 */
int ctl_consumables_main(const char *config_dir, int argc, char **argv);

/*
 * restockctl init-db: create restockd's database at storage.path, the
 * explicit step for a file made beforehand (an empty file becomes the
 * database in place, keeping its owner and mode). An existing database is
 * never touched. Returns the exit code.
 */
int ctl_init_db_main(const char *config_dir, int argc, char **argv);

#endif
