/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test and benchmark peer: `many_server N [--level-days D]` serves N Modbus
 * TCP devices on 127.0.0.1 from one process and one thread (epoll), each on
 * a port of its own chosen by the kernel (port 0). Prints one line "ports
 * P0 P1 ... PN-1", then "ready". Frames are cut here (never
 * modbus_receive(), whose select() cannot take descriptors >= 1024) and the
 * replies built by libmodbus' modbus_reply(), so libmodbus is the reference
 * server. Holding and input register i of device k hold (k + i) & 0xffff.
 *
 * --level-days D: registers 0..9 instead hold a level in per mille that
 * falls from 1000 to 0 over D days of real time (each register its own phase
 * and a little noise), then starts again (a replacement): values that change
 * the way a consumable's level does, for the flash-wear benchmark with a
 * scaled clock (D = days / time scale).
 *
 * SIGUSR1 prints "served N": requests answered since start (benchmarks count
 * what a poller got done on the server's side, the same for every poller).
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <modbus/modbus.h>

#define BUF 1024
#define REGS 200

struct conn {
  int fd;
  int listening;
  int dev;
  modbus_mapping_t *map;
  uint8_t buf[BUF];
  size_t have;
};

static volatile sig_atomic_t want_count;

static void on_usr1(int sig)
{
  (void)sig;
  want_count = 1;
}

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Update device c->dev's levels for time t (seconds since start). */
static void levels(struct conn *c, double t, double period_s)
{
  int i;
  for(i = 0; i < 10; i++) {
    double phase = fmod((double)(c->dev * 10 + i) * 0.6180339887, 1.0);
    double f = fmod(t / period_s + phase, 1.0);
    double noise = (double)((c->dev * 31 + i * 7 + (int)(t / 3.0)) % 5) - 2.0;
    long v = lround(1000.0 * (1.0 - f) + noise);
    if(v < 0)
      v = 0;
    if(v > 1000)
      v = 1000;
    c->map->tab_registers[i] = c->map->tab_input_registers[i] = (uint16_t)v;
  }
}

int main(int argc, char **argv)
{
  int n, i, ep;
  unsigned long long served = 0;
  double period_s = 0, t0 = now_s();
  modbus_t *ctx;
  struct rlimit rl;
  if(argc < 2)
    return 2;
  n = (int)strtol(argv[1], NULL, 10);
  if(argc >= 4 && !strcmp(argv[2], "--level-days"))
    period_s = strtod(argv[3], NULL) * 86400.0;
  signal(SIGPIPE, SIG_IGN);
  {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
  }
  if(!getrlimit(RLIMIT_NOFILE, &rl)) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
  }
  ctx = modbus_new_tcp("127.0.0.1", 502);
  ep = epoll_create1(0);
  printf("ports");
  for(i = 0; i < n; i++) {
    struct conn *c = calloc(1, sizeof(*c));
    struct epoll_event ev = {EPOLLIN, {.ptr = c}};
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    int one = 1, k;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    (void)setsockopt(c->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if(c->fd < 0 || bind(c->fd, (struct sockaddr *)&a, sizeof(a)) || listen(c->fd, 64) ||
       getsockname(c->fd, (struct sockaddr *)&a, &al)) {
      fprintf(stderr, "listener %d: %s\n", i, strerror(errno));
      return 1;
    }
    c->listening = 1;
    c->dev = i;
    c->map = modbus_mapping_new(0, 0, REGS, REGS);
    for(k = 0; k < REGS; k++)
      c->map->tab_registers[k] = c->map->tab_input_registers[k] = (uint16_t)(i + k);
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    printf(" %u", (unsigned)ntohs(a.sin_port));
  }
  printf("\nready\n");
  fflush(stdout);
  for(;;) {
    struct epoll_event evs[256];
    int k, m = epoll_wait(ep, evs, 256, -1);
    if(want_count) {
      want_count = 0;
      printf("served %llu\n", served);
      fflush(stdout);
    }
    if(m < 0)
      continue;
    for(k = 0; k < m; k++) {
      struct conn *c = evs[k].data.ptr;
      ssize_t r;
      if(c->listening) {
        int fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
        if(fd >= 0) {
          struct conn *nc = calloc(1, sizeof(*nc));
          struct epoll_event ev = {EPOLLIN, {.ptr = nc}};
          nc->fd = fd;
          nc->dev = c->dev;
          nc->map = c->map;
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        }
        continue;
      }
      r = read(c->fd, c->buf + c->have, BUF - c->have);
      if(r <= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        free(c);
        continue;
      }
      c->have += (size_t)r;
      for(;;) {
        size_t len;
        if(c->have < 7)
          break;
        len = 6 + (size_t)((c->buf[4] << 8) | c->buf[5]);
        if(len > 260 || len < 8) {
          c->have = 0;
          break;
        }
        if(c->have < len)
          break;
        if(period_s > 0)
          levels(c, now_s() - t0, period_s);
        modbus_set_socket(ctx, c->fd);
        (void)modbus_reply(ctx, c->buf, (int)len, c->map);
        served++;
        memmove(c->buf, c->buf + len, c->have - len);
        c->have -= len;
      }
    }
  }
}
