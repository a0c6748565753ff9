/* SPDX-License-Identifier: Apache-2.0 */
/*
 * replay_csv: the readings file of `restockctl replay` (SPEC 12), a CSV of
 * `time,device,point,value` rows, parsed into rows in time order with
 * file:line messages. replay_csv_parse() is pure parsing;
 * replay_csv_read() reads the file within its limits.
 */
#ifndef RS_REPLAY_CSV_H
#define RS_REPLAY_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "base/rs_util.h"
#include "config/config.h"

/* One row of a readings file. */
struct replay_row {
  int64_t time_ms;
  double value;
  uint32_t key;  /* index into replay_csv.keys */
  uint32_t line; /* 1-based line where the row starts */
};

struct replay_csv {
  struct replay_row *rows; /* in time order (stable: file order within a time) */
  size_t n_rows;
  char **keys; /* "device\0point" pairs, each one allocation */
  size_t n_keys;
  size_t n_errors; /* bad rows (each reported in the error text) */
};

/* At most this many bad rows are described; the rest are counted. */
#define REPLAY_CSV_MAX_REPORTED 20

/*
 * Parse a readings file (data, len) named `name` for messages: a header
 * `time,device,point,value`, then one reading per row; RFC 4180 quoting
 * ("a ""b"""), LF or CRLF line ends, an optional UTF-8 BOM, empty lines
 * ignored. time: RFC 3339 or Unix seconds (a fraction allowed); value: a
 * decimal number, or true/false. When cfg is not NULL every device/point
 * must exist in it. Returns 0 with *out filled (free with replay_csv_free),
 * or the number of errors (> 0) with every problem appended to errs as
 * "NAME:LINE: what is wrong" lines (*out then empty).
 */
size_t replay_csv_parse(const char *name, const char *data, size_t len, const struct cfg *cfg,
                        struct replay_csv *out, struct rs_buf *errs);
void replay_csv_free(struct replay_csv *csv);

/*
 * Largest readings file replayed: bytes and lines (about a month of twenty
 * points read every minute fits well); a larger file, or one with a NUL
 * byte (not text: /dev/zero), is refused before it is all read.
 */
#define REPLAY_CSV_MAX_BYTES (256u * 1024u * 1024u)
#define REPLAY_CSV_MAX_LINES 4000000u

/*
 * Read a whole readings file into *data (malloc'd, caller frees) and *len:
 * at most REPLAY_CSV_MAX_BYTES and REPLAY_CSV_MAX_LINES, text only (a NUL
 * byte refuses it), checked chunk by chunk so that /dev/zero or a huge file
 * costs one chunk, not the limit. 0, or -1 with a sentence in err ("PATH:
 * cannot replay: why (at most 256 MiB and 4000000 lines; split the file)").
 */
int replay_csv_read(const char *path, char **data, size_t *len, char *err, size_t errlen);

#endif
