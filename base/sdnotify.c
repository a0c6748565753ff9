/* SPDX-License-Identifier: Apache-2.0 */
/* sdnotify: sd_notify(3) without libsystemd (see sdnotify.h). */
#include "base/sdnotify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int sdn_notify(const char *state)
{
  const char *path = getenv("NOTIFY_SOCKET");
  struct sockaddr_un sa;
  socklen_t len;
  size_t n;
  ssize_t sent;
  int fd, rc;
  if(!path || !*path)
    return 0;
  n = strlen(path);
  if((path[0] != '/' && path[0] != '@') || n >= sizeof(sa.sun_path))
    return -EAFNOSUPPORT; /* vsock: and the like: not for restockd */
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, path, n);
  if(path[0] == '@')
    sa.sun_path[0] = '\0'; /* abstract namespace: no terminating NUL counts */
  len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
  fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if(fd < 0)
    return -errno;
  do
    sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
  while(sent < 0 && errno == EINTR);
  rc = sent < 0 ? -errno : 1;
  close(fd);
  return rc;
}

int sdn_notifyf(const char *fmt, ...)
{
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  (void)vsnprintf(buf, sizeof(buf), fmt, ap); /* a cut state is still a valid one */
  va_end(ap);
  return sdn_notify(buf);
}

int sdn_watchdog_enabled(uint64_t *usec)
{
  const char *u = getenv("WATCHDOG_USEC"), *p = getenv("WATCHDOG_PID");
  int64_t v = 0, pid = 0;
  if(!u || rs_parse_i64(u, false, 1, INT64_MAX, &v))
    return 0;
  if(p && (rs_parse_i64(p, false, 1, INT64_MAX, &pid) || pid != (int64_t)getpid()))
    return 0;
  *usec = (uint64_t)v;
  return 1;
}
