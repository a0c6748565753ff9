/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netio: libcurl multi on the event loop (see netio.h).
 */
#include "adapters/netio.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "base/clock.h"
#include "base/log.h"

/* One socket libcurl asked us to watch. */
struct nsock {
  struct netio *n;
  curl_socket_t fd;
  struct evloop_io *io;
  struct nsock *prev, *next;
};

/* What CURLOPT_PRIVATE points to for a transfer on a netio. */
struct ntx {
  netio_done_fn done;
  void *ud;
};

struct netio {
  struct evloop *loop;
  CURLM *m;
  struct evloop_timer *timer;
  struct nsock *socks;
  size_t count;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

void netio_global_init(void)
{
  pthread_once(&curl_once, curl_init_once);
}

void netio_prepare(CURL *easy)
{
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  /* do not wait for a resolver thread when a transfer is abandoned or times out in its lookup */
  curl_easy_setopt(easy, CURLOPT_QUICK_EXIT, 1L);
}

/* Hand finished transfers to their owners. */
static void check_done(struct netio *n)
{
  CURLMsg *msg;
  int left;
  while((msg = curl_multi_info_read(n->m, &left))) {
    CURL *e;
    CURLcode rc;
    struct ntx *tx = NULL;
    if(msg->msg != CURLMSG_DONE)
      continue;
    e = msg->easy_handle;
    rc = msg->data.result;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&tx);
    curl_multi_remove_handle(n->m, e);
    n->count--;
    if(tx) {
      struct ntx t = *tx;
      free(tx);
      curl_easy_setopt(e, CURLOPT_PRIVATE, NULL);
      t.done(t.ud, e, rc);
    }
  }
}

static void on_io(void *ud, int fd, uint32_t events)
{
  struct nsock *s = ud;
  struct netio *n = s->n;
  int flags = 0, running = 0;
  if(events & EPOLLIN)
    flags |= CURL_CSELECT_IN;
  if(events & EPOLLOUT)
    flags |= CURL_CSELECT_OUT;
  if(events & (EPOLLERR | EPOLLHUP))
    flags |= CURL_CSELECT_ERR;
  (void)curl_multi_socket_action(n->m, fd, flags, &running); /* may free s */
  check_done(n);
}

static void on_timer(void *ud)
{
  struct netio *n = ud;
  int running = 0;
  (void)curl_multi_socket_action(n->m, CURL_SOCKET_TIMEOUT, 0, &running);
  check_done(n);
}

static void sock_free(struct netio *n, struct nsock *s)
{
  evloop_io_del(n->loop, s->io);
  if(s->prev)
    s->prev->next = s->next;
  else
    n->socks = s->next;
  if(s->next)
    s->next->prev = s->prev;
  free(s);
}

/* CURLMOPT_SOCKETFUNCTION: watch, change or forget one socket. */
static int socket_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
  struct netio *n = userp;
  struct nsock *s = socketp;
  uint32_t events = 0;
  (void)e;
  if(what == CURL_POLL_REMOVE) {
    if(s) {
      curl_multi_assign(n->m, fd, NULL);
      sock_free(n, s);
    }
    return 0;
  }
  if(what == CURL_POLL_IN || what == CURL_POLL_INOUT)
    events |= EPOLLIN;
  if(what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
    events |= EPOLLOUT;
  if(s && s->fd != fd) { /* cannot happen: libcurl keys by socket; be safe */
    curl_multi_assign(n->m, s->fd, NULL);
    sock_free(n, s);
    s = NULL;
  }
  if(!s) {
    s = calloc(1, sizeof(*s));
    if(!s)
      return -1;
    s->n = n;
    s->fd = fd;
    s->io = evloop_io_add(n->loop, fd, events, on_io, s);
    if(!s->io) {
      log_warn("netio: cannot watch socket %d: %s", (int)fd, strerror(errno));
      free(s);
      return -1;
    }
    s->next = n->socks;
    if(n->socks)
      n->socks->prev = s;
    n->socks = s;
    curl_multi_assign(n->m, fd, s);
    return 0;
  }
  if(evloop_io_mod(n->loop, s->io, events))
    return -1;
  return 0;
}

/* CURLMOPT_TIMERFUNCTION: one timer, -1 to stop it. */
static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
  struct netio *n = userp;
  (void)m;
  if(timeout_ms < 0)
    evloop_timer_disarm(n->timer);
  else
    evloop_timer_arm(n->timer, clock_real_mono_ms() + timeout_ms);
  return 0;
}

struct netio *netio_new(struct evloop *loop)
{
  struct netio *n = calloc(1, sizeof(*n));
  if(!n)
    return NULL;
  netio_global_init();
  n->loop = loop;
  n->m = curl_multi_init();
  n->timer = evloop_timer_new(loop, on_timer, n);
  if(!n->m || !n->timer) {
    netio_free(n);
    return NULL;
  }
  curl_multi_setopt(n->m, CURLMOPT_SOCKETFUNCTION, socket_cb);
  curl_multi_setopt(n->m, CURLMOPT_SOCKETDATA, n);
  curl_multi_setopt(n->m, CURLMOPT_TIMERFUNCTION, timer_cb);
  curl_multi_setopt(n->m, CURLMOPT_TIMERDATA, n);
  return n;
}

void netio_free(struct netio *n)
{
  if(!n)
    return;
  if(n->m)
    curl_multi_cleanup(n->m); /* closes cached connections; may call socket_cb */
  while(n->socks)
    sock_free(n, n->socks);
  evloop_timer_free(n->timer);
  free(n);
}

int netio_add(struct netio *n, CURL *easy, netio_done_fn done, void *ud)
{
  struct ntx *tx = calloc(1, sizeof(*tx));
  if(!tx)
    return -1;
  tx->done = done;
  tx->ud = ud;
  curl_easy_setopt(easy, CURLOPT_PRIVATE, tx);
  if(curl_multi_add_handle(n->m, easy) != CURLM_OK) {
    curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
    free(tx);
    return -1;
  }
  n->count++;
  return 0;
}

void netio_remove(struct netio *n, CURL *easy)
{
  struct ntx *tx = NULL;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&tx);
  if(!tx)
    return; /* not ours, or already finished */
  curl_multi_remove_handle(n->m, easy);
  curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
  free(tx);
  n->count--;
}

size_t netio_count(const struct netio *n)
{
  return n->count;
}
