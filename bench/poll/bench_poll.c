/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_poll: the two baselines restockd is measured against, over the
 * devices of one many-port server (bench_poll_server, tests/peers/many_server.c):
 *
 *   bench_poll raw  PORTS_FILE SECONDS [INTERVAL_MS]
 *       libmodbus, one thread, blocking: modbus_read_registers() of holding
 *       0..9 on each device in turn. libmodbus waits with select(), so it
 *       keeps at most 1000 connections (descriptors below 1024); with more
 *       devices it reads the first 1000.
 *   bench_poll pipe PORTS_FILE SECONDS [INTERVAL_MS]
 *       a pipelined poller written for this benchmark: one thread, epoll, a
 *       non-blocking connection per device and one request (FC 3, holding
 *       0..9) in flight on every device at once; the next request of a
 *       device goes out as soon as its reply is in.
 *
 * INTERVAL_MS 0 (the default) runs flat out; otherwise each device is read
 * once per INTERVAL_MS (the raw loop sleeps between rounds, the pipelined
 * poller holds each device's next request until its time). PORTS_FILE holds
 * the server's "ports P0 P1 ..." line. Prints one line:
 *
 *   MODE devices D reads R seconds S reads_per_s X cpu_s C cpu_pct P rss_kb K
 *
 * cpu_s is this process's user + system time (getrusage), rss_kb its VmRSS.
 */
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

#define RAW_MAX 1000

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long rss_kb(void)
{
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long v = -1;
  while(f && fgets(line, sizeof(line), f)) {
    if(!strncmp(line, "VmRSS:", 6))
      v = strtol(line + 6, NULL, 10);
  }
  if(f)
    fclose(f);
  return v;
}

/* The ports in file path ("ports P0 P1 ..."); *n set; NULL on failure. */
static int *read_ports(const char *path, int *n)
{
  FILE *f = fopen(path, "r");
  int *v = NULL, cap = 0, p;
  char word[16];
  *n = 0;
  if(!f || fscanf(f, "%15s", word) != 1 || strcmp(word, "ports")) {
    if(f)
      fclose(f);
    return NULL;
  }
  while(fscanf(f, "%d", &p) == 1) {
    if(*n == cap) {
      cap = cap ? 2 * cap : 256;
      v = realloc(v, (size_t)cap * sizeof(*v));
      if(!v)
        abort();
    }
    v[(*n)++] = p;
  }
  fclose(f);
  return v;
}

static void sleep_until(double t)
{
  double d = t - now_s();
  struct timespec ts;
  if(d <= 0)
    return;
  ts.tv_sec = (time_t)d;
  ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
  while(nanosleep(&ts, &ts) && errno == EINTR)
    ;
}

static void report(const char *mode, int devices, unsigned long long reads, double secs,
                   double cpu)
{
  printf("%s devices %d reads %llu seconds %.2f reads_per_s %.0f cpu_s %.3f cpu_pct %.2f "
         "rss_kb %ld\n",
         mode, devices, reads, secs, (double)reads / secs, cpu, 100.0 * cpu / secs, rss_kb());
}

static int run_raw(const int *ports, int n, double secs, double interval)
{
  modbus_t **ctx;
  uint16_t regs[10];
  unsigned long long reads = 0, fails = 0;
  double t0, t_end, c0, round;
  int i, used = n < RAW_MAX ? n : RAW_MAX;
  ctx = calloc((size_t)used, sizeof(*ctx));
  for(i = 0; i < used; i++) {
    char port[8];
    snprintf(port, sizeof(port), "%d", ports[i]);
    ctx[i] = modbus_new_tcp_pi("127.0.0.1", port);
    if(!ctx[i] || modbus_connect(ctx[i])) {
      fprintf(stderr, "raw: cannot connect to %d: %s\n", ports[i], modbus_strerror(errno));
      return 1;
    }
  }
  t0 = now_s();
  c0 = cpu_s();
  t_end = t0 + secs;
  round = t0;
  while(now_s() < t_end) {
    for(i = 0; i < used; i++) {
      if(modbus_read_registers(ctx[i], 0, 10, regs) == 10)
        reads++;
      else
        fails++;
    }
    if(interval > 0) {
      round += interval;
      sleep_until(round < t_end ? round : t_end);
    }
  }
  report("raw", used, reads, now_s() - t0, cpu_s() - c0);
  if(fails)
    fprintf(stderr, "raw: %llu failed reads\n", fails);
  for(i = 0; i < used; i++) {
    modbus_close(ctx[i]);
    modbus_free(ctx[i]);
  }
  free(ctx);
  return 0;
}

struct pconn {
  int fd;
  uint16_t tid;
  double next; /* interval mode: when the next request is due */
  bool waiting;
  uint8_t buf[300];
  size_t have;
};

static int send_req(struct pconn *c)
{
  uint8_t f[12] = {0, 0, 0, 0, 0, 6, 1, 3, 0, 0, 0, 10};
  c->tid++;
  f[0] = (uint8_t)(c->tid >> 8);
  f[1] = (uint8_t)c->tid;
  if(send(c->fd, f, sizeof(f), MSG_NOSIGNAL) != (ssize_t)sizeof(f))
    return -1;
  c->waiting = true;
  return 0;
}

static int run_pipe(const int *ports, int n, double secs, double interval)
{
  struct pconn *cs = calloc((size_t)n, sizeof(*cs));
  int ep = epoll_create1(EPOLL_CLOEXEC), i, one = 1;
  unsigned long long reads = 0;
  double t0, t_end, c0;
  struct rlimit rl;
  if(!getrlimit(RLIMIT_NOFILE, &rl)) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
  }
  for(i = 0; i < n; i++) {
    struct sockaddr_in a;
    struct epoll_event ev;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)ports[i]);
    cs[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if(cs[i].fd < 0 || connect(cs[i].fd, (struct sockaddr *)&a, sizeof(a))) {
      fprintf(stderr, "pipe: cannot connect to %d: %s\n", ports[i], strerror(errno));
      return 1;
    }
    (void)setsockopt(cs[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.ptr = &cs[i];
    epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
  }
  t0 = now_s();
  c0 = cpu_s();
  t_end = t0 + secs;
  for(i = 0; i < n; i++) {
    /* interval mode: spread the devices over the interval, as a scheduler would */
    cs[i].next = t0 + (interval > 0 ? interval * i / n : 0);
    if(interval <= 0 && send_req(&cs[i]))
      return 1;
  }
  for(;;) {
    struct epoll_event evs[256];
    double now = now_s();
    int k, m, wait_ms = 1000;
    if(now >= t_end)
      break;
    if(interval > 0) {
      double soonest = t_end;
      for(i = 0; i < n; i++) {
        if(!cs[i].waiting && cs[i].next <= now) {
          if(send_req(&cs[i]))
            return 1;
          cs[i].next += interval;
        }
        if(!cs[i].waiting && cs[i].next < soonest)
          soonest = cs[i].next;
      }
      wait_ms = (int)((soonest - now) * 1000) + 1;
      if(wait_ms < 0)
        wait_ms = 0;
    }
    m = epoll_wait(ep, evs, 256, wait_ms);
    for(k = 0; k < m; k++) {
      struct pconn *c = evs[k].data.ptr;
      ssize_t r = recv(c->fd, c->buf + c->have, sizeof(c->buf) - c->have, 0);
      if(r <= 0) {
        fprintf(stderr, "pipe: connection lost\n");
        return 1;
      }
      c->have += (size_t)r;
      while(c->have >= 7) {
        size_t len = 6 + (size_t)(c->buf[4] << 8 | c->buf[5]);
        if(c->have < len)
          break;
        if(c->buf[0] == (uint8_t)(c->tid >> 8) && c->buf[1] == (uint8_t)c->tid && len == 29)
          reads++;
        memmove(c->buf, c->buf + len, c->have - len);
        c->have -= len;
        c->waiting = false;
        if(interval <= 0 && send_req(c))
          return 1;
      }
    }
  }
  report("pipe", n, reads, now_s() - t0, cpu_s() - c0);
  for(i = 0; i < n; i++)
    close(cs[i].fd);
  free(cs);
  close(ep);
  return 0;
}

int main(int argc, char **argv)
{
  int n, *ports, rc;
  double secs, interval;
  if(argc < 4) {
    fprintf(stderr, "usage: bench_poll raw|pipe PORTS_FILE SECONDS [INTERVAL_MS]\n");
    return 2;
  }
  ports = read_ports(argv[2], &n);
  secs = strtod(argv[3], NULL);
  interval = argc > 4 ? strtod(argv[4], NULL) / 1000.0 : 0;
  if(!ports || !n || secs <= 0)
    return 2;
  if(!strcmp(argv[1], "raw"))
    rc = run_raw(ports, n, secs, interval);
  else if(!strcmp(argv[1], "pipe"))
    rc = run_pipe(ports, n, secs, interval);
  else
    rc = 2;
  free(ports);
  return rc;
}
