/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics: /metrics in the Prometheus text exposition format (0.0.4), every
 * name prefixed restock_. docs/http-api.md lists the metrics.
 *
 * Poll durations: the restock_poll_duration_seconds histogram is fed by
 * metrics_sample(), called once per main-loop iteration
 * (http_server_timeout_ms() does it), with the successful polls that ended
 * since the last call (scheduler_take_polled(): one observation per poll,
 * O(1) each, whatever the number of devices).
 *
 * Not thread-safe: the main loop thread only.
 */
#ifndef RS_METRICS_H
#define RS_METRICS_H

#include <stdint.h>

#include "base/evloop.h"
#include "base/rs_util.h"
#include "gateway/scheduler.h"
#include "gateway/web/status.h"
#include "gateway/store.h"

struct metrics;

/* Histogram state; NULL only on allocation failure. */
struct metrics *metrics_new(void);
void metrics_free(struct metrics *m); /* NULL is fine */

/* Feed the poll-duration histogram from the scheduler's counters (see above). */
void metrics_sample(struct metrics *m, struct scheduler *s);

/* What the exposition reads besides the histogram and the view. */
struct metrics_input {
  const struct status_view *v; /* not read by metrics_stream_new() (its v is) */
  struct store *st;      /* orders, approvals, submission errors; may be NULL */
  const char *version;   /* restock_build_info{version} */
  int64_t lines_created; /* pipeline_lines_created(), or -1 to leave it out */
  int64_t start_time_ms; /* wall ms the daemon started, 0 to leave it out */
  const struct evloop_stats *loop; /* restock_loop_turn_seconds; NULL to leave it out */
  int64_t loop_lag_ms;             /* restock_loop_lag_seconds (with loop) */
  const struct cfg *cfg;           /* restock_alerts{kind}; NULL to leave it out */
};

/*
 * The exposition written piece by piece (4.5 MB of text at 5 000
 * consumables is never held whole): the stream takes the view (moved in:
 * *v is left empty) and a reference on in->cfg, renders what comes after
 * the per-device and per-consumable families now (alerts, loop, readings,
 * orders: a store error is returned here, *out NULL), and m's poll
 * histograms as they are when their part is written (m must outlive the
 * stream). in->v is not read (v is). This stream is the only way the
 * exposition is made (tests/test_api_stream.c reads it whole with
 * metrics_stream_fill() until it returns 0).
 */
struct metrics_stream;
enum rs_err metrics_stream_new(struct metrics *m, const struct metrics_input *in,
                               struct status_view *v, struct metrics_stream **out);
/* Append the next part (about 16 KiB): 1 more follows, 0 done, -1 out of memory (httpd_fill_fn). */
int metrics_stream_fill(void *ud, struct rs_buf *out);
/* Free the stream (its view and its reference); NULL is fine. */
void metrics_stream_free(void *ud);

/* The format's lines (HELP/TYPE, samples, label escaping): base/prom.h. */

#endif
