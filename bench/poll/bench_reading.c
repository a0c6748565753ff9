/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_reading: restockd's own CPU per reading on the reading path
 * (gateway/reading.c: live state, deadband, the consumables' predictors),
 * in process, without the network, the Modbus client or the store: the
 * user-space part that run.sh's flat-out figure includes, measured on its
 * own so that a change to it can be compared on a busy host (thread CPU
 * time, best of several rounds).
 *
 *   bench_reading CONFIG_DIR [ROUNDS [EVICT_KB]]
 *
 * CONFIG_DIR is a restock config (run.sh's: N devices x 10 points x 10
 * consumables). Each round submits one reading of every point, device after
 * device, point after point (as polls deliver them), 1 s of wall time
 * apart; the first round (every state created) is not counted. Between two
 * devices EVICT_KB (default 256) KB of other memory is written, as the
 * kernel's TCP work and the rest of the daemon do between two polls, so the
 * states come from memory as they do in restockd (0: all in cache). Prints
 *
 *   reading devices D points P consumables C ns_per_reading X (best of R rounds)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "gateway/reading.h"

static double thread_cpu_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
  struct cfg *cfg = NULL;
  struct cfg_diags diags;
  struct reading_path *rp;
  size_t i, j, n_pts = 0, n_cons = 0;
  int rounds = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 20, k;
  size_t evict = argc > 3 ? (size_t)strtoul(argv[3], NULL, 10) * 1024 : 256 * 1024;
  unsigned char *junk = malloc(evict ? evict : 1);
  double evict_ns = 0;
  double best = -1;
  int64_t t0 = 1800000000000;
  if(argc < 2 || rounds < 2 || !junk) {
    fprintf(stderr, "usage: bench_reading CONFIG_DIR [ROUNDS >= 2]\n");
    return 2;
  }
  memset(&diags, 0, sizeof(diags));
  if(cfg_load(argv[1], &cfg, &diags) || !cfg) {
    fprintf(stderr, "bench_reading: cannot load %s\n", argv[1]);
    cfg_diags_free(&diags);
    return 1;
  }
  cfg_diags_free(&diags);
  rp = reading_path_new(NULL, cfg);
  for(i = 0; i < cfg->n_devices; i++) {
    n_pts += cfg->devices[i].n_points;
    n_cons += cfg->devices[i].n_consumables;
  }
  for(k = 0; k < rounds; k++) {
    double c0 = thread_cpu_ns(), ns;
    for(i = 0; i < cfg->n_devices; i++) {
      const struct cfg_device *d = &cfg->devices[i];
      for(j = 0; j < d->n_points; j++) {
        struct reading r;
        bool changed;
        memset(&r, 0, sizeof(r));
        r.device = d->id;
        r.point = d->points[j].id;
        r.device_ref = (uint32_t)(i + 1);
        r.point_ref = (uint32_t)(j + 1);
        r.wall_ms = t0 + 1000 * (int64_t)k;
        r.value = (double)((i + j) & 0xffff);
        r.is_int = true;
        (void)reading_path_submit_ex(rp, &r, &changed);
      }
      if(evict) {
        double e0 = thread_cpu_ns();
        memset(junk, (int)(i + (size_t)k) & 0xff, evict);
        evict_ns += thread_cpu_ns() - e0;
      }
    }
    ns = (thread_cpu_ns() - c0 - evict_ns) / (double)n_pts;
    evict_ns = 0;
    if(k > 0 && (best < 0 || ns < best))
      best = ns;
  }
  printf("reading devices %zu points %zu consumables %zu ns_per_reading %.0f (best of %d rounds, %zu KB evicted per device)\n",
         cfg->n_devices, n_pts, n_cons, best, rounds - 1, evict / 1024);
  reading_path_free(rp);
  cfg_free(cfg);
  free(junk);
  return 0;
}
