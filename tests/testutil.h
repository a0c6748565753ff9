/* SPDX-License-Identifier: Apache-2.0 */
/*
 * testutil: small helpers the cmocka tests share (linked into every
 * restock_unit_test). Each fails the running test on an error.
 */
#ifndef RS_TESTUTIL_H
#define RS_TESTUTIL_H

#include <stdint.h>
#include <sys/types.h>

/* The whole file at path as a NUL-terminated string (caller frees). */
char *tu_read_file(const char *path);

/* What the shell command cmd wrote to its standard output, NUL-terminated
 * (caller frees); the test fails unless cmd exits 0. */
char *tu_command_output(const char *cmd);

/* The JSON value the shell command cmd wrote to its standard output (caller
 * json_decref()s it); the test fails unless cmd exits 0 and the output parses. */
struct json_t *tu_command_json(const char *cmd);

/* Copy the file from to the path to (created or truncated) and give it
 * the permission bits mode. */
void tu_copy_file(const char *from, const char *to, mode_t mode);

/* A readings callback (store_readings_range()'s) that counts the readings
 * into *(size_t *)ud; always 0 (go on). */
int tu_count_reading(void *ud, const char *device, const char *point, int64_t time_ms,
                     double value);

/* Remove a test's state directory dir: the database (restock.db and its
 * -wal and -shm), the log file "log", then dir itself (nothing else may be
 * left in it). */
void tu_remove_state_dir(const char *dir);

#endif
