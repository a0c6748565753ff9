/* SPDX-License-Identifier: Apache-2.0 */
/*
 * docstream: a document written piece by piece (see docstream.h).
 */
#include "base/docstream.h"

#include <string.h>

enum { PART_HEAD, PART_SECTIONS, PART_TAIL, PART_DONE };

void docstream_init(struct docstream *d, const struct docstream_ops *ops, void *ud,
                    size_t n_sections)
{
  memset(d, 0, sizeof(*d));
  d->ops = ops;
  d->ud = ud;
  d->n_sections = n_sections;
}

/* Append text (may be empty, data NULL). */
static void put_text(struct rs_buf *out, const struct rs_buf *text)
{
  if(text->len)
    rs_buf_append(out, text->data, text->len);
}

/*
 * Items of the current section from d->i on while out is below stop; true
 * when the section is done, false when it stopped for stop or a failure
 * (*bad then).
 */
static bool section_items(struct docstream *d, struct rs_buf *out, size_t stop, bool *bad)
{
  if(!d->opened) {
    if(d->ops->open)
      d->ops->open(d->ud, d->sec, out);
    d->opened = true;
  }
  while(d->i < d->ops->count(d->ud, d->sec)) {
    if(out->len >= stop || out->oom)
      return false;
    if(!d->ops->item(d->ud, d->sec, d->i, out)) {
      *bad = true;
      return false;
    }
    d->i++;
  }
  return true;
}

int docstream_fill(struct docstream *d, struct rs_buf *out)
{
  size_t stop = out->len + DOCSTREAM_PIECE;
  bool bad = d->head.oom || d->tail.oom;
  while(d->part != PART_DONE && out->len < stop && !out->oom && !bad) {
    switch(d->part) {
    case PART_HEAD:
      put_text(out, &d->head);
      d->part = PART_SECTIONS;
      d->sec = d->i = 0;
      d->opened = false;
      break;
    case PART_SECTIONS:
      if(d->sec >= d->n_sections)
        d->part = PART_TAIL;
      else if(section_items(d, out, stop, &bad)) {
        d->sec++;
        d->i = 0;
        d->opened = false;
      }
      break;
    default:
      put_text(out, &d->tail);
      d->part = PART_DONE;
      break;
    }
  }
  if(out->oom || bad)
    return -1;
  return d->part == PART_DONE ? 0 : 1;
}

int docstream_rest(struct docstream *d, struct rs_buf *out)
{
  int rc;
  while((rc = docstream_fill(d, out)) == 1)
    ;
  return rc;
}

void docstream_free(struct docstream *d)
{
  rs_buf_free(&d->head);
  rs_buf_free(&d->tail);
}
