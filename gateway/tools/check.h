/* SPDX-License-Identifier: Apache-2.0 */
#ifndef RS_CHECK_H
#define RS_CHECK_H

#include <stdio.h>

/*
 * `restockd --check` and `restockctl check`: load and validate the config
 * dir. Prints every warning and error to err, and on success the line
 * "OK: N devices, N points, N consumables, N rules" to out. Opens no port,
 * device or database. Returns the exit code: 0 valid, 2 invalid.
 */
int check_config_dir(const char *dir, FILE *out, FILE *err);

#endif
