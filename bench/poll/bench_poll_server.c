/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_poll_server BASEPORT N: N Modbus TCP servers on 127.0.0.1 ports
 * BASEPORT..BASEPORT+N-1 in one process and one thread (epoll). Frames are
 * cut here (never modbus_receive(), whose select() cannot take descriptors
 * >= 1024); replies are built by libmodbus' modbus_reply() from one mapping:
 * holding register i of every device holds i. Prints "ready".
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <modbus/modbus.h>

#define BUF 1024

struct conn {
  int fd;
  int listening;
  uint8_t buf[BUF];
  size_t have;
};

int main(int argc, char **argv)
{
  int base, n, i, ep;
  modbus_t *ctx;
  modbus_mapping_t *map;
  struct rlimit rl;
  if(argc < 3)
    return 2;
  base = (int)strtol(argv[1], NULL, 10);
  n = (int)strtol(argv[2], NULL, 10);
  signal(SIGPIPE, SIG_IGN);
  if(!getrlimit(RLIMIT_NOFILE, &rl)) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
  }
  map = modbus_mapping_new(0, 0, 200, 200);
  for(i = 0; i < 200; i++)
    map->tab_registers[i] = map->tab_input_registers[i] = (uint16_t)i;
  ctx = modbus_new_tcp("127.0.0.1", base);
  ep = epoll_create1(0);
  for(i = 0; i < n; i++) {
    modbus_t *l = modbus_new_tcp("127.0.0.1", base + i);
    struct conn *c = calloc(1, sizeof(*c));
    struct epoll_event ev = {EPOLLIN, {.ptr = c}};
    c->fd = modbus_tcp_listen(l, 64);
    c->listening = 1;
    if(c->fd < 0) {
      fprintf(stderr, "port %d: %s\n", base + i, modbus_strerror(errno));
      return 1;
    }
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
  }
  printf("ready\n");
  fflush(stdout);
  for(;;) {
    struct epoll_event evs[256];
    int k, m = epoll_wait(ep, evs, 256, -1);
    for(k = 0; k < m; k++) {
      struct conn *c = evs[k].data.ptr;
      ssize_t r;
      if(c->listening) {
        int fd = accept(c->fd, NULL, NULL);
        if(fd >= 0) {
          struct conn *nc = calloc(1, sizeof(*nc));
          struct epoll_event ev = {EPOLLIN, {.ptr = nc}};
          nc->fd = fd;
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
        modbus_set_socket(ctx, c->fd);
        (void)modbus_reply(ctx, c->buf, (int)len, map);
        memmove(c->buf, c->buf + len, c->have - len);
        c->have -= len;
      }
    }
  }
}
