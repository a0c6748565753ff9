/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prom: the Prometheus text exposition format (version 0.0.4), line by
 * line: HELP/TYPE headers, samples with at most one label, label escaping.
 * Which metrics exist and what they mean is the caller's business.
 */
#ifndef RS_PROM_H
#define RS_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "base/rs_util.h"

/* "# HELP name help" and "# TYPE name type". */
void prom_head(struct rs_buf *o, const char *name, const char *type, const char *help);
/* name{label="lv"} v (without label when label is NULL). */
void prom_sample(struct rs_buf *o, const char *name, const char *label, const char *lv, double v);
/* The same with an exact unsigned 64-bit value. */
void prom_sample_u64(struct rs_buf *o, const char *name, const char *label, const char *lv,
                     uint64_t v);
/*
 * A histogram: name_bucket{label="lv",le="B"} for each of the n bounds with
 * its cumulative count, le="+Inf" with count, then name_sum and name_count
 * (without label when label is NULL).
 */
void prom_histogram(struct rs_buf *o, const char *name, const char *label, const char *lv,
                    const double *bounds, const uint64_t *cumulative, size_t n, uint64_t count,
                    double sum);
/* Append s as a label value: backslash, double quote and newline escaped. */
void prom_escape_label(struct rs_buf *out, const char *s);

#endif
