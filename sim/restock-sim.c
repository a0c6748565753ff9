/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restock-sim: simulated devices and the sandbox shop (SPEC section 13).
 *
 *   restock-sim --config FILE [--time-scale N] [--check] [--log-level L]
 *
 * Reads one YAML file (config/simcfg.h), starts every simulated component it
 * names, prints one "ready" line per component on stdout (tests read the
 * shop's port and each device's port from them), and runs until SIGINT or
 * SIGTERM. Components are started in order (devices, then the shop, whose
 * /sim/press and /sim/devices hooks reach the devices) and stopped in
 * reverse. The main thread waits for the signal and, every 100 ms, asks the
 * shop for newly delivered orders and hands them to the device simulator
 * (the loop closes: a delivered SKU replaces its simulated part).
 */
#include <getopt.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/rs_util.h"
#include "config/config.h"
#include "sim/devices.h"
#include "sim/shop.h"
#include "sim/simcfg.h"

/* The running components; one field per kind of simulator. */
struct sim {
  struct simcfg *cfg;
  double time_scale;
  struct shop *shop;
  struct devices *devices;
};

static void usage(FILE *f)
{
  fputs("usage: restock-sim --config FILE [--time-scale N] [--check] [--log-level L]\n"
        "       restock-sim --version\n", f);
}

/* Start every configured component; 0, or -1 after printing why. */
static int sim_start(struct sim *sim)
{
  char err[512];
  size_t i;
  if(sim->cfg->n_devices) {
    if(devices_start(sim->cfg, sim->time_scale, &sim->devices, err, sizeof(err))) {
      fprintf(stderr, "restock-sim: devices: %s\n", err);
      return -1;
    }
    for(i = 0; i < sim->cfg->n_devices; i++) {
      const struct simcfg_device *d = &sim->cfg->devices[i];
      if(d->transport == SIMCFG_TR_COAP)
        printf("restock-sim: device %s listening on coap://%s:%u\n", d->id, d->host,
               (unsigned)devices_port(sim->devices, i));
      else
        printf("restock-sim: device %s listening on modbus-tcp://%s:%u unit %d\n", d->id, d->host,
               (unsigned)devices_port(sim->devices, i), d->unit_id);
    }
    fflush(stdout);
  }
  if(sim->cfg->shop.set) {
    if(shop_start(&sim->cfg->shop, sim->time_scale, &sim->shop, err, sizeof(err))) {
      fprintf(stderr, "restock-sim: shop: %s\n", err);
      return -1;
    }
    if(sim->devices) {
      struct shop_hooks h = {sim->devices, devices_press, devices_state_json};
      shop_set_hooks(sim->shop, &h);
    }
    printf("restock-sim: shop listening on http://%s:%u%s\n", sim->cfg->shop.host,
           (unsigned)shop_port(sim->shop), sim->cfg->shop.base_path);
    fflush(stdout);
  }
  return 0;
}

static void sim_stop(struct sim *sim)
{
  shop_stop(sim->shop);
  sim->shop = NULL;
  devices_stop(sim->devices);
  sim->devices = NULL;
}

/*
 * Wait for a stop signal; meanwhile hand the shop's deliveries to the
 * devices: every 100 ms, and at the real millisecond the next order on its
 * way is due (at a high time scale 100 ms are hours of simulated time: a
 * delivery reached the shelf up to that late, and a part that waited for it
 * stood empty that much longer).
 */
static int sim_wait(struct sim *sim, const sigset_t *set)
{
  int64_t next = INT64_MAX;
  for(;;) {
    int64_t ms = 100, left = next == INT64_MAX ? INT64_MAX : next - clock_real_wall_ms();
    struct timespec ts;
    int sig;
    if(left < ms)
      ms = left < 1 ? 1 : left;
    ts.tv_sec = 0;
    ts.tv_nsec = (long)ms * 1000 * 1000;
    sig = sigtimedwait(set, NULL, &ts);
    if(sig > 0)
      return sig;
    if(sim->shop && sim->devices)
      shop_poll_deliveries(sim->shop, devices_delivered, sim->devices, &next);
  }
}

/* restock-sim without the exit's output check (main). */
static int run(int argc, char **argv)
{
  struct cli_daemon a = {NULL, false, 1, LOG_LVL_INFO};
  const char *file;
  struct cfg_diags diags = {0};
  struct sim sim;
  sigset_t set;
  int sig = 0, rc = cli_daemon_options("restock-sim", argc, argv, &a, usage);

  if(rc >= 0)
    return rc;
  rc = 0;
  memset(&sim, 0, sizeof(sim));
  sim.time_scale = a.time_scale;
  file = a.config;
  if(!file || optind != argc) {
    usage(stderr);
    return 2;
  }
  log_set_level(a.level);
  if(simcfg_load(file, &sim.cfg, &diags)) {
    cfg_diags_print(&diags, stderr);
    cfg_diags_free(&diags);
    return 2;
  }
  cfg_diags_print(&diags, stderr);
  cfg_diags_free(&diags);
  if(a.check) {
    size_t i, nk = 0;
    for(i = 0; i < sim.cfg->n_devices; i++)
      nk += sim.cfg->devices[i].n_consumables;
    if(sim.cfg->shop.set)
      printf("OK: shop with %zu products", sim.cfg->shop.n_products);
    else
      printf("OK: no shop");
    if(sim.cfg->devices_present)
      printf(", %zu devices, %zu consumables", sim.cfg->n_devices, nk);
    printf("\n");
    simcfg_free(sim.cfg);
    return 0;
  }
  if(!sim.cfg->shop.set && !sim.cfg->n_devices) {
    fprintf(stderr, "restock-sim: %s: nothing to run (no shop and no devices)\n", file);
    simcfg_free(sim.cfg);
    return 1;
  }
  if(sim.time_scale != 1)
    log_warn("restock-sim: time runs %g times faster than real time (demos and tests only)",
             sim.time_scale);

  /* block the stop signals before any thread starts, so only sigwait sees them */
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);

  if(sim_start(&sim))
    rc = 1;
  else {
    sig = sim_wait(&sim, &set);
    log_info("restock-sim: stopping on signal %d", sig);
  }
  sim_stop(&sim);
  simcfg_free(sim.cfg);
  return rc;
}

int main(int argc, char **argv)
{
  cli_ignore_fsize_signal();
  return cli_finish_output("restock-sim", run(argc, argv));
}
