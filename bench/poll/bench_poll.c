/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_poll: Modbus polling throughput.
 *
 *   bench_poll flat CONFIG_DIR SECONDS   restockd's polling path: the scheduler
 *                                        in worker mode (one thread per bus),
 *                                        adapters/modbus, results drained on
 *                                        the main thread, as restockd runs it
 *                                        (without the reading path/SQLite)
 *   bench_poll raw BASEPORT N SECONDS    the baseline: one thread, one libmodbus
 *                                        context per device, read 10 holding
 *                                        registers from each in turn
 *
 * Prints one line: "MODE polls/s N readings/s N cpu% N cpu_us/poll N maxrss_kb N".
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <modbus/modbus.h>

#include "config/config.h"
#include "base/rs_util.h"
#include "adapters/adapter.h"
#include "base/clock.h"
#include "base/log.h"
#include "gateway/scheduler.h"

static uint64_t n_readings;

static void count(void *ctx, const struct reading *r)
{
  (void)ctx;
  if(r->error == READING_OK)
    n_readings++;
}

static double cpu_s(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long maxrss_kb(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

static void report(const char *mode, uint64_t polls, uint64_t readings, double wall_s, double cpu)
{
  printf("%s polls/s %.0f readings/s %.0f cpu%% %.0f cpu_us/poll %.1f maxrss_kb %ld\n", mode,
         (double)polls / wall_s, (double)readings / wall_s, 100.0 * cpu / wall_s,
         polls ? cpu * 1e6 / (double)polls : 0.0, maxrss_kb());
}

static int run_flat(const char *dir, int64_t seconds)
{
  struct cfg *cfg = NULL;
  struct cfg_diags diags = {0};
  struct rs_clock *clk = clock_new_real();
  struct scheduler *s;
  uint64_t polls = 0;
  int64_t t0, end;
  double c0;
  if(cfg_load(dir, &cfg, &diags)) {
    cfg_diags_print(&diags, stderr);
    return 2;
  }
  cfg_diags_free(&diags);
  log_set_level(LOG_LVL_ERR);
  s = scheduler_new(cfg, adapter_default_lookup, NULL, clock_mono_ms(clk));
  if(scheduler_start_workers(s, 1))
    return 1;
  /* warm up: every connection open */
  end = clock_mono_ms(clk) + 1000;
  while(clock_mono_ms(clk) < end) {
    struct pollfd p = {scheduler_event_fd(s), POLLIN, 0};
    (void)scheduler_drain(s, count, NULL);
    (void)scheduler_run_due(s, clock_mono_ms(clk), clock_wall_ms(clk), count, NULL);
    (void)poll(&p, 1, 1);
  }
  n_readings = 0;
  t0 = clock_mono_ms(clk);
  c0 = cpu_s();
  end = t0 + seconds * 1000;
  while(clock_mono_ms(clk) < end) {
    int64_t now = clock_mono_ms(clk), next;
    struct pollfd p = {scheduler_event_fd(s), POLLIN, 0};
    polls += scheduler_drain(s, count, NULL);
    (void)scheduler_run_due(s, now, clock_wall_ms(clk), count, NULL);
    next = scheduler_next_due(s);
    (void)poll(&p, 1, next > now ? (int)(next - now) : 0);
  }
  report("restock", polls, n_readings, (double)(clock_mono_ms(clk) - t0) / 1000.0, cpu_s() - c0);
  scheduler_free(s);
  cfg_free(cfg);
  clock_free(clk);
  return 0;
}

static int run_raw(int base, int n, int64_t seconds)
{
  modbus_t **ctx = rs_xcalloc((size_t)n, sizeof(*ctx));
  uint16_t regs[10];
  uint64_t polls = 0;
  int64_t t0, end;
  double c0;
  int i;
  for(i = 0; i < n; i++) {
    ctx[i] = modbus_new_tcp("127.0.0.1", base + i);
    if(!ctx[i] || modbus_connect(ctx[i])) {
      fprintf(stderr, "port %d: %s\n", base + i, modbus_strerror(errno));
      return 1;
    }
    if(modbus_get_socket(ctx[i]) >= 1024) {
      fprintf(stderr, "descriptor >= 1024: use fewer devices\n");
      return 1;
    }
  }
  t0 = clock_real_mono_ms();
  c0 = cpu_s();
  end = t0 + seconds * 1000;
  while(clock_real_mono_ms() < end) {
    for(i = 0; i < n; i++) {
      if(modbus_read_registers(ctx[i], 0, 10, regs) == 10)
        polls++;
    }
  }
  report("raw", polls, polls * 10, (double)(clock_real_mono_ms() - t0) / 1000.0, cpu_s() - c0);
  for(i = 0; i < n; i++) {
    modbus_close(ctx[i]);
    modbus_free(ctx[i]);
  }
  FREE_NULL(ctx);
  return 0;
}

int main(int argc, char **argv)
{
  int64_t a, b, c;
  if(argc == 4 && !strcmp(argv[1], "flat") && !rs_parse_i64(argv[3], false, 1, 3600, &a))
    return run_flat(argv[2], a);
  if(argc == 5 && !strcmp(argv[1], "raw") && !rs_parse_i64(argv[2], false, 1, 65535, &a) &&
     !rs_parse_i64(argv[3], false, 1, 1000, &b) && !rs_parse_i64(argv[4], false, 1, 3600, &c))
    return run_raw((int)a, (int)b, c);
  fprintf(stderr, "usage: bench_poll flat CONFIG_DIR SECONDS | raw BASEPORT N SECONDS\n");
  return 2;
}
