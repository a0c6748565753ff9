/* SPDX-License-Identifier: Apache-2.0 */
/*
 * viewdoc: a streamed answer's view, config reference and place (see viewdoc.h).
 */
#include "gateway/web/viewdoc.h"

#include <malloc.h>
#include <string.h>

void viewdoc_init(struct viewdoc *d, const struct docstream_ops *ops, void *ud,
                  size_t n_sections, struct status_view *v, const struct cfg *cfg)
{
  docstream_init(&d->doc, ops, ud, n_sections);
  d->v = *v;
  memset(v, 0, sizeof(*v));
  d->cfg = cfg ? cfg_ref(cfg) : NULL;
}

void viewdoc_release(struct viewdoc *d)
{
  status_view_free(&d->v);
  cfg_free(d->cfg);
  d->cfg = NULL;
  docstream_free(&d->doc);
  (void)malloc_trim(0);
}
