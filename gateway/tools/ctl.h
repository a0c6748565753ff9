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

int ctl_status_main(const char *url, int argc, char **argv);
int ctl_orders_main(const char *config_dir, int argc, char **argv);

#endif
