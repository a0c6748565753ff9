/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cfg_copy: one device's config deep-copied on its own (see config.h). It
 * sits beside the structs it copies: a new string field of cfg_device or
 * cfg_point is added here too.
 */
#include <stdlib.h>
#include <string.h>

#include "base/rs_util.h"
#include "config/config.h"

static const char *arena_dup(struct rs_arena *ar, const char *s)
{
  return s ? rs_arena_strdup(ar, s) : NULL;
}

/* The bytes the copy of src needs: one arena chunk of the right size (thousands of devices). */
static size_t copy_size(const struct cfg_device *src)
{
  size_t need = src->n_points * sizeof(*src->points) + 64, k;
  const char *strs[] = {src->id, src->pos.file, src->host, src->serial, src->uri,
                        src->psk_identity, src->psk_file};
  for(k = 0; k < RS_ARRAY_LEN(strs); k++)
    need += strs[k] ? strlen(strs[k]) + 16 : 0;
  for(k = 0; k < src->n_points; k++) {
    const struct cfg_point *p = &src->points[k];
    const char *ps[] = {p->id, p->pos.file, p->unit, p->path, p->pointer, p->name};
    size_t m;
    for(m = 0; m < RS_ARRAY_LEN(ps); m++)
      if(ps[m] && !(m == 1 && src->pos.file && !strcmp(ps[m], src->pos.file))) /* shared path */
        need += strlen(ps[m]) + 16;
  }
  return need;
}

struct cfg_device_copy *cfg_device_copy_new(const struct cfg_device *src)
{
  struct cfg_device_copy *dc = rs_xcalloc(1, sizeof(*dc));
  struct cfg_device *d = &dc->dev;
  size_t i;

  dc->arena = rs_arena_new_chunk(copy_size(src));
  *d = *src;
  d->id = arena_dup(dc->arena, src->id);
  d->pos.file = arena_dup(dc->arena, src->pos.file);
  d->host = arena_dup(dc->arena, src->host);
  d->serial = arena_dup(dc->arena, src->serial);
  d->uri = arena_dup(dc->arena, src->uri);
  d->psk_identity = arena_dup(dc->arena, src->psk_identity);
  d->psk_file = arena_dup(dc->arena, src->psk_file);
  d->consumables = NULL;
  d->n_consumables = 0;
  d->points =
      src->n_points ? rs_arena_alloc(dc->arena, src->n_points * sizeof(*d->points)) : NULL;
  for(i = 0; i < src->n_points; i++) {
    struct cfg_point *p = &d->points[i];
    *p = src->points[i];
    p->device = d;
    p->id = arena_dup(dc->arena, p->id);
    /* the points sit in the device's file: one copy of its path (RSS: thousands of devices) */
    p->pos.file = p->pos.file && src->pos.file && !strcmp(p->pos.file, src->pos.file)
                      ? d->pos.file
                      : arena_dup(dc->arena, p->pos.file);
    p->unit = arena_dup(dc->arena, p->unit);
    p->path = arena_dup(dc->arena, p->path);
    p->pointer = arena_dup(dc->arena, p->pointer);
    p->name = arena_dup(dc->arena, p->name);
  }
  return dc;
}

void cfg_device_copy_free(struct cfg_device_copy *dc)
{
  if(!dc)
    return;
  rs_arena_free(dc->arena);
  free(dc);
}
