/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test helper: `modbus_poll_tool CONFIG_DIR RUN_MS [--inline | --stdin]` runs
 * the real scheduler as restockd does (Modbus TCP on an event loop, other
 * buses on worker threads) unless --inline (everything on this thread, one
 * device after the other) with the built-in adapters over
 * CONFIG_DIR's devices for RUN_MS real milliseconds (with --stdin: or until
 * its standard input ends, so a test can stop it when it has seen what it
 * waited for), on the real clock, and prints what happened, one line each
 * (readings as they come):
 *
 *   R WALL_MS DEVICE POINT ERROR CODE VALUE RAW    a reading (RAW: n,n,.. or -)
 *   S DEVICE up=0|1 polls=N failures=N consecutive=N skipped=N rtt=N errors=K:N,..
 *   D SOCKETS MAX_FD                               sockets open at the end, highest fd
 *   F SHUTDOWN_MS                                  how long scheduler_free() took
 *
 * The Python tests (tests/test_modbus.py) start the peers and judge the lines.
 * Exit 0, or 2 on bad usage or config.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "base/rs_util.h"
#include "adapters/adapter.h"
#include "base/clock.h"
#include "base/evloop.h"
#include "base/log.h"
#include "gateway/scheduler.h"

static void on_wakeup(void *ud, int fd, uint32_t events)
{
  (void)ud;
  (void)fd;
  (void)events;
}

/* --stdin: standard input is readable; at its end, *(bool *)ud is set (the run stops). */
static void on_stdin(void *ud, int fd, uint32_t events)
{
  char buf[256];
  (void)events;
  if(read(fd, buf, sizeof(buf)) <= 0)
    *(bool *)ud = true;
}

static void print_reading(void *ctx, const struct reading *r)
{
  unsigned k;
  (void)ctx;
  printf("R %" PRId64 " %s %s %s %d %.17g ", r->wall_ms, r->device, r->point,
         reading_error_name(r->error), r->code, r->value);
  if(!r->n_raw)
    printf("-");
  for(k = 0; k < r->n_raw; k++)
    printf("%s%u", k ? "," : "", (unsigned)r->raw[k]);
  printf("\n");
}

int main(int argc, char **argv)
{
  struct cfg *cfg = NULL;
  struct cfg_diags diags = {0};
  struct scheduler *s;
  struct rs_clock *clk;
  int64_t run_ms, end, t0;
  bool inline_mode = argc > 3 && !strcmp(argv[3], "--inline");
  bool until_eof = argc > 3 && !strcmp(argv[3], "--stdin"), eof = false;
  struct evloop *loop = NULL;
  size_t i;

  if(argc < 3 || argc > 4 || (argc == 4 && !inline_mode && !until_eof) ||
     rs_parse_i64(argv[2], false, 0, INT64_MAX, &run_ms)) {
    fprintf(stderr, "usage: modbus_poll_tool CONFIG_DIR RUN_MS [--inline | --stdin]\n");
    return 2;
  }
  if(cfg_load(argv[1], &cfg, &diags)) {
    cfg_diags_print(&diags, stderr);
    cfg_diags_free(&diags);
    return 2;
  }
  cfg_diags_free(&diags);
  log_set_level(LOG_LVL_DEBUG);
  setvbuf(stdout, NULL, _IOLBF, 0);
  clk = clock_new_real();
  s = scheduler_new(cfg, adapter_default_lookup, NULL, clock_mono_ms(clk));
  if(!inline_mode) {
    loop = evloop_new();
    if(!loop)
      return 1;
    scheduler_attach_loop(s, loop, print_reading, NULL);
    if(scheduler_start_workers(s, 1))
      return 1;
    if(!evloop_io_add(loop, scheduler_event_fd(s), EPOLLIN, on_wakeup, NULL))
      return 1;
    if(until_eof && !evloop_io_add(loop, STDIN_FILENO, EPOLLIN, on_stdin, &eof))
      return 1;
  }
  end = clock_mono_ms(clk) + run_ms;
  for(;;) {
    int64_t now = clock_mono_ms(clk), next;
    (void)scheduler_drain(s, print_reading, NULL);
    if(now >= end || eof)
      break;
    (void)scheduler_run_due(s, now, clock_wall_ms(clk), print_reading, NULL);
    next = scheduler_next_due(s);
    if(next > end)
      next = end;
    now = clock_mono_ms(clk);
    if(loop)
      (void)evloop_turn(loop, next > now ? next - now : 0);
    else if(next > now) {
      {
        struct timespec ts = {(time_t)((next - now) / 1000),
                              (long)((next - now) % 1000) * 1000000L};
        nanosleep(&ts, NULL);
      }
    }
  }
  for(i = 0; i < scheduler_n_devices(s); i++) {
    struct sched_device_status st;
    unsigned k;
    bool first = true;
    scheduler_device_status(s, i, &st);
    printf("S %s up=%d polls=%" PRIu64 " failures=%" PRIu64 " consecutive=%" PRId64
           " skipped=%" PRIu64 " rtt=%" PRId64 " errors=",
           st.id, st.up ? 1 : 0, st.polls, st.failures, st.consecutive_failures, st.skipped,
           st.rtt_ms);
    for(k = 0; k < SCHED_ERR_KINDS; k++) {
      if(st.errors[k]) {
        printf("%s%s:%" PRIu64, first ? "" : ",", scheduler_error_kind_name(k), st.errors[k]);
        first = false;
      }
    }
    printf("%s\n", first ? "-" : "");
  }
  {
    /* what is open right now: the connections the adapters hold */
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *de;
    long socks = 0, maxfd = -1;
    while(dir && (de = readdir(dir))) {
      char path[300], target[64];
      ssize_t n;
      int64_t fd;
      if(rs_parse_i64(de->d_name, false, 0, INT32_MAX, &fd))
        continue;
      (void)rs_snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
      n = readlink(path, target, sizeof(target) - 1);
      if(n > 0) {
        target[n] = '\0';
        if(!strncmp(target, "socket:", 7)) {
          socks++;
          if(fd > maxfd)
            maxfd = (long)fd;
        }
      }
    }
    if(dir)
      closedir(dir);
    printf("D %ld %ld\n", socks, maxfd);
  }
  t0 = clock_real_mono_ms();
  scheduler_free(s);
  printf("F %" PRId64 "\n", clock_real_mono_ms() - t0);
  evloop_free(loop);
  clock_free(clk);
  cfg_free(cfg);
  return 0;
}
