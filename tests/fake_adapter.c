/* SPDX-License-Identifier: Apache-2.0 */
/* fake_adapter: the scripted in-process backend (see fake_adapter.h). */
#include "tests/fake_adapter.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/rs_util.h"

struct fake_priv {
  size_t polls; /* polls served by this instance */
  int pipe[2];  /* push mode: read end, write end; -1 otherwise */
};

static enum rs_err fake_open(struct adapter *a, char *err, size_t errlen)
{
  struct fake_plant *plant = a->env;
  struct fake_priv *fp = rs_xcalloc(1, sizeof(*fp));
  fp->pipe[0] = fp->pipe[1] = -1;
  if(plant->use_fd) {
    if(pipe(fp->pipe) || fcntl(fp->pipe[0], F_SETFL, O_NONBLOCK) ||
       fcntl(fp->pipe[1], F_SETFL, O_NONBLOCK)) {
      (void)rs_snprintf(err, errlen, "fake: pipe: %s", strerror(errno));
      if(fp->pipe[0] >= 0) {
        close(fp->pipe[0]);
        close(fp->pipe[1]);
      }
      FREE_NULL(fp);
      return RS_ERR_IO;
    }
    plant->push_fd = fp->pipe[1];
  }
  a->priv = fp;
  plant->opens++;
  return RS_OK;
}

static void fake_close(struct adapter *a)
{
  struct fake_plant *plant = a->env;
  struct fake_priv *fp = a->priv;
  if(fp->pipe[0] >= 0) {
    close(fp->pipe[0]);
    close(fp->pipe[1]);
  }
  FREE_NULL(a->priv);
  plant->closes++;
}

static int fake_fd(const struct adapter *a)
{
  const struct fake_priv *fp = a->priv;
  return fp->pipe[0];
}

/* Each byte in the pipe is one reading of push_point; EAGAIN ends the batch. */
static enum rs_err fake_on_readable(struct adapter *a, int64_t wall_ms, adapter_emit_fn emit,
                                    void *ctx)
{
  struct fake_plant *plant = a->env;
  struct fake_priv *fp = a->priv;
  unsigned char buf[64];
  ssize_t n, i;
  while((n = read(fp->pipe[0], buf, sizeof(buf))) > 0) {
    for(i = 0; i < n; i++) {
      struct reading r;
      memset(&r, 0, sizeof(r));
      r.device = a->dev->id;
      r.point = plant->push_point;
      r.wall_ms = wall_ms;
      r.value = buf[i];
      r.is_int = true;
      emit(ctx, &r);
      plant->pushed++;
    }
  }
  return RS_OK;
}

static int64_t fake_next_timeout(const struct adapter *a)
{
  const struct fake_plant *plant = a->env;
  return plant->timeout_at ? plant->timeout_at : INT64_MAX;
}

static void fake_on_timeout(struct adapter *a, int64_t wall_ms, adapter_emit_fn emit, void *ctx)
{
  struct fake_plant *plant = a->env;
  (void)wall_ms;
  (void)emit;
  (void)ctx;
  plant->timeouts++;
  plant->timeout_at = 0;
}

static const struct fake_series *find_series(const struct fake_plant *plant, const char *device,
                                             const char *point)
{
  size_t i;
  for(i = 0; i < plant->n_series; i++) {
    if(!strcmp(plant->series[i].device, device) && !strcmp(plant->series[i].point, point))
      return &plant->series[i];
  }
  return NULL;
}

/* Emit the next scripted value of every point; a down device fails with RS_ERR_TIMEOUT. */
static enum rs_err fake_poll(struct adapter *a, int64_t wall_ms, adapter_emit_fn emit, void *ctx,
                             char *err, size_t errlen)
{
  struct fake_plant *plant = a->env;
  struct fake_priv *fp = a->priv;
  size_t i;

  plant->polls++;
  if(plant->down_device && !strcmp(plant->down_device, a->dev->id)) {
    (void)rs_snprintf(err, errlen, "fake: %s does not answer", a->dev->id);
    return RS_ERR_TIMEOUT;
  }
  for(i = 0; i < a->dev->n_points; i++) {
    const struct cfg_point *p = &a->dev->points[i];
    const struct fake_series *s = find_series(plant, a->dev->id, p->id);
    struct reading r;
    memset(&r, 0, sizeof(r));
    r.device = a->dev->id;
    r.point = p->id;
    r.wall_ms = wall_ms;
    r.is_bool = p->type == CFG_VT_BOOL;
    if(s && s->n) {
      int64_t k = plant->step_ms > 0 ? (wall_ms - plant->t0_ms) / plant->step_ms : 0;
      if(k < 0)
        k = 0;
      r.value = s->values[(size_t)k < s->n ? (size_t)k : s->n - 1];
      r.error = READING_OK;
    }
    else {
      r.error = READING_ERR_EXCEPTION;
      r.detail = "fake: no script for this point";
    }
    emit(ctx, &r);
  }
  fp->polls++;
  return RS_OK;
}

/* A reload keeps the instance: the fake has no settings to apply. */
static int fake_reconfigure(struct adapter *a)
{
  struct fake_plant *plant = a->env;
  plant->reconfigures++;
  return 0;
}

const struct adapter_ops fake_adapter_ops = {
    .name = "fake",
    .open = fake_open,
    .close = fake_close,
    .poll = fake_poll,
    .fd = fake_fd,
    .on_readable = fake_on_readable,
    .next_timeout = fake_next_timeout,
    .on_timeout = fake_on_timeout,
    .reconfigure = fake_reconfigure,
};

const struct adapter_ops *fake_adapter_lookup(void *ctx, enum cfg_transport t)
{
  (void)ctx;
  (void)t;
  return &fake_adapter_ops;
}
