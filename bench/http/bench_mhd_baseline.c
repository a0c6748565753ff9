/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_mhd_baseline MODE PORT BODYFILE [SECONDS]: the bare libmicrohttpd
 * server restock's HTTP numbers are compared with. It answers every request
 * with the bytes of BODYFILE (restock's own /api/v1/status response, so the
 * size is the same) as application/json, from one response object built at
 * start: no routing, no headers beyond Content-Type, no per-request work.
 *
 * MODE "epoll": MHD_USE_EPOLL driven from this process's own epoll loop in
 * one thread, exactly as gateway/http.c is driven (MHD_get_timeout(), wait
 * on MHD's epoll descriptor, MHD_run()). MODE "thread": MHD's internal
 * epoll thread (MHD_USE_EPOLL_INTERNAL_THREAD), the main thread only waits.
 *
 * Listens on 127.0.0.1:PORT (0: any free port) with the same connection
 * limits as restock (64 connections, 30 s idle, 64 KiB per connection).
 * Prints "ready PORT BYTES"; stops on SIGTERM/SIGINT or after SECONDS
 * (default 900).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

static struct MHD_Response *resp;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
  (void)cls;
  (void)url;
  (void)method;
  (void)version;
  (void)upload_data;
  if(!*con_cls) { /* first call: headers only */
    *con_cls = (void *)1;
    return MHD_YES;
  }
  *upload_data_size = 0;
  return MHD_queue_response(conn, MHD_HTTP_OK, resp);
}

/* BODYFILE into a malloc'd buffer (*len set), or NULL with a message. */
static char *read_body(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  long n;
  if(!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET))
    goto fail;
  buf = malloc((size_t)n);
  if(!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
    goto fail;
  fclose(f);
  *len = (size_t)n;
  return buf;
fail:
  fprintf(stderr, "bench_mhd_baseline: cannot read %s: %s\n", path, strerror(errno));
  if(f)
    fclose(f);
  free(buf);
  return NULL;
}

static int64_t mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
  struct MHD_Daemon *d = NULL;
  const union MHD_DaemonInfo *di;
  struct epoll_event ev;
  sigset_t mask;
  char *body = NULL, *endp;
  size_t len = 0;
  long port, seconds = 900;
  int threaded, ep = -1, sfd = -1, rc = 1;
  int64_t end;
  unsigned flags;
  bool stop = false;

  if(argc < 4 || argc > 5 || (strcmp(argv[1], "epoll") && strcmp(argv[1], "thread"))) {
    fprintf(stderr, "usage: bench_mhd_baseline epoll|thread PORT BODYFILE [SECONDS]\n");
    return 2;
  }
  threaded = !strcmp(argv[1], "thread");
  port = strtol(argv[2], &endp, 10);
  if(*endp || port < 0 || port > 65535)
    return 2;
  if(argc == 5) {
    seconds = strtol(argv[4], &endp, 10);
    if(*endp || seconds < 1)
      return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  body = read_body(argv[3], &len);
  if(!body)
    return 1;
  resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_PERSISTENT);
  if(!resp || MHD_add_response_header(resp, "Content-Type", "application/json") != MHD_YES)
    goto out;

  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  /* blocked before MHD starts, so its thread inherits the mask */
  if(sigprocmask(SIG_BLOCK, &mask, NULL))
    goto out;
  flags = MHD_USE_ERROR_LOG |
          (threaded ? (unsigned)MHD_USE_EPOLL_INTERNAL_THREAD : (unsigned)MHD_USE_EPOLL);
  {
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR,
                         (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                         MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536, MHD_OPTION_END);
  }
  if(!d) {
    fprintf(stderr, "bench_mhd_baseline: cannot start on 127.0.0.1:%ld\n", port);
    goto out;
  }
  di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  printf("ready %u %zu\n", di ? (unsigned)di->port : 0u, len);
  fflush(stdout);

  sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  ep = epoll_create1(EPOLL_CLOEXEC);
  if(sfd < 0 || ep < 0)
    goto out;
  memset(&ev, 0, sizeof(ev));
  ev.events = EPOLLIN;
  ev.data.u64 = 2;
  if(epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev))
    goto out;
  if(!threaded) {
    di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_EPOLL_FD);
    if(!di || di->epoll_fd < 0)
      goto out;
    ev.data.u64 = 1;
    if(epoll_ctl(ep, EPOLL_CTL_ADD, di->epoll_fd, &ev))
      goto out;
  }
  end = mono_ms() + (int64_t)seconds * 1000;
  while(!stop && mono_ms() < end) {
    struct epoll_event evs[4];
    MHD_UNSIGNED_LONG_LONG t = 1000;
    int n, k, wait_ms = 1000;
    if(!threaded && MHD_get_timeout(d, &t) == MHD_YES && t < 1000)
      wait_ms = (int)t;
    n = epoll_wait(ep, evs, 4, wait_ms);
    if(n < 0 && errno != EINTR)
      goto out;
    for(k = 0; k < n; k++)
      if(evs[k].data.u64 == 2)
        stop = true;
    if(!threaded)
      (void)MHD_run(d);
  }
  rc = 0;
out:
  if(rc)
    fprintf(stderr, "bench_mhd_baseline: %s\n", strerror(errno));
  if(d)
    MHD_stop_daemon(d);
  if(resp)
    MHD_destroy_response(resp);
  free(body);
  if(ep >= 0)
    close(ep);
  if(sfd >= 0)
    close(sfd);
  return rc;
}
