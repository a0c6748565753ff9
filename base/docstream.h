/* SPDX-License-Identifier: Apache-2.0 */
/*
 * docstream: the driver of a document written piece by piece while it is
 * sent (base/httpd_srv.h's httpd_fill_fn bodies), so that a large answer is
 * never built whole. A document is a head text, sections of items, and a
 * tail text; the driver keeps the place (which part, which section, which
 * item) and appends about DOCSTREAM_PIECE bytes per call. What a section's
 * opening and items say is the document's own business (its ops):
 *
 *   struct my_doc { struct docstream doc; ... };
 *   docstream_init(&d->doc, &my_ops, d, n_sections);
 *   rs_buf_puts(&d->doc.head, "{\"items\":[");  rs_buf_puts(&d->doc.tail, "]}\n");
 *   ... my_fill(ud, out) { return docstream_fill(&((struct my_doc *)ud)->doc, out); }
 *   docstream_free(&d->doc);
 *
 * gateway/web/api.c (the JSON lists and /api/v1/status) and metrics.c
 * (/metrics) are written with it.
 */
#ifndef RS_DOCSTREAM_H
#define RS_DOCSTREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "base/rs_util.h"

/* About this much text is appended by one docstream_fill() (an item is never split). */
#define DOCSTREAM_PIECE 16384

/* What a document's sections say; ud is docstream_init()'s. */
struct docstream_ops {
  /* Append section sec's opening text, once, before its first item; NULL: none. */
  void (*open)(void *ud, size_t sec, struct rs_buf *out);
  /* The number of items of section sec, asked before each item (a section may grow meanwhile). */
  size_t (*count)(void *ud, size_t sec);
  /* Append item i of section sec; false when it cannot be made (out of memory). */
  bool (*item)(void *ud, size_t sec, size_t i, struct rs_buf *out);
};

struct docstream {
  const struct docstream_ops *ops;
  void *ud;
  size_t n_sections;
  struct rs_buf head, tail; /* the text before the first and after the last section (owned) */
  /* where the writing is */
  unsigned part;            /* 0 the head, 1 the sections, 2 the tail, 3 done */
  size_t sec, i;            /* the current section and its next item */
  bool opened;              /* the current section's opening is written */
};

/* Set d up (head and tail empty: the caller appends them before the first fill). */
void docstream_init(struct docstream *d, const struct docstream_ops *ops, void *ud,
                    size_t n_sections);
/*
 * Append the next part (about DOCSTREAM_PIECE bytes) to out: 1 when more
 * follows, 0 when that was the last, -1 when out of memory (out's or an
 * item's, or the head or tail could not be built: their oom flag).
 */
int docstream_fill(struct docstream *d, struct rs_buf *out);
/* The rest of the document at once into out: 0, or -1 when out of memory. */
int docstream_rest(struct docstream *d, struct rs_buf *out);
/* Free the head and tail (not ud). */
void docstream_free(struct docstream *d);

#endif
