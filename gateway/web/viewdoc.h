/* SPDX-License-Identifier: Apache-2.0 */
/*
 * viewdoc: what every streamed answer over the status view holds (api.c's
 * JSON lists and /api/v1/status, metrics.c's /metrics, html.c's dashboard):
 * the document's place (base/docstream), the view moved in and a reference
 * on the config the view points into (a reload may drop the daemon's while
 * the answer is sent).
 */
#ifndef RS_VIEWDOC_H
#define RS_VIEWDOC_H

#include "base/docstream.h"
#include "config/config.h"
#include "gateway/web/status.h"

struct viewdoc {
  struct docstream doc;
  struct status_view v; /* owned (moved in) */
  struct cfg *cfg;      /* a reference (cfg_ref), or NULL */
};

/*
 * Set d up: docstream_init(ops, ud, n_sections), *v moved in (the caller's
 * is left empty), cfg referenced (may be NULL).
 */
void viewdoc_init(struct viewdoc *d, const struct docstream_ops *ops, void *ud,
                  size_t n_sections, struct status_view *v, const struct cfg *cfg);
/*
 * Free the view, the reference and the head and tail, then give what the
 * answer allocated and freed back to the kernel (malloc_trim): a large
 * answer's pages return when it ends, not at the daemon's next 30 s trim
 * (1.5 MB at 5 000 consumables).
 */
void viewdoc_release(struct viewdoc *d);

#endif
