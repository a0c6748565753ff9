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
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/rs_util.h"

/* One socket libcurl asked us to watch. */
struct nsock {
  struct netio *n;
  CURL *easy; /* the transfer that last asked for it */
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
  curl_socket_t *open; /* every socket libcurl opened and has not closed (cached ones too) */
  size_t n_open, cap_open;
};

/*
 * Abandoning a transfer or freeing the multi handle must not wait for a
 * peer: libcurl says goodbye on some connections it closes (SMTP QUIT) and
 * waits up to its response timeout for the answer, blocking the loop. So
 * the sockets concerned are shut down first: the goodbye fails at once.
 * Every socket is opened and closed through these callbacks to know them.
 */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
  struct netio *n = clientp;
  curl_socket_t fd;
  (void)purpose;
  fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
  if(fd == CURL_SOCKET_BAD)
    return fd;
  if(n->n_open == n->cap_open) {
    size_t cap = n->cap_open ? 2 * n->cap_open : 16;
    curl_socket_t *v = realloc(n->open, cap * sizeof(*v));
    if(!v) {
      close(fd);
      return CURL_SOCKET_BAD;
    }
    n->open = v;
    n->cap_open = cap;
  }
  n->open[n->n_open++] = fd;
  return fd;
}

static int close_socket(void *clientp, curl_socket_t fd)
{
  struct netio *n = clientp;
  size_t i;
  for(i = 0; i < n->n_open; i++) {
    if(n->open[i] == fd) {
      n->open[i] = n->open[--n->n_open];
      break;
    }
  }
  return close(fd);
}

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
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, NULL);
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, NULL);
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
  RS_DLIST_UNLINK(n->socks, s, prev, next);
  free(s);
}

/* CURLMOPT_SOCKETFUNCTION: watch, change or forget one socket. */
static int socket_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
  struct netio *n = userp;
  struct nsock *s = socketp;
  uint32_t events = 0;
  if(s)
    s->easy = e;
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
    s->easy = e;
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
  size_t i;
  if(!n)
    return;
  for(i = 0; i < n->n_open; i++)
    (void)shutdown(n->open[i], SHUT_RDWR); /* no goodbye waits for an answer */
  if(n->m)
    curl_multi_cleanup(n->m); /* closes cached connections; may call socket_cb */
  free(n->open);
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
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, open_socket);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, n);
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, close_socket);
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, n);
  if(curl_multi_add_handle(n->m, easy) != CURLM_OK) {
    curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
    free(tx);
    return -1;
  }
  return 0;
}

void netio_remove(struct netio *n, CURL *easy)
{
  struct ntx *tx = NULL;
  struct nsock *s;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&tx);
  if(!tx)
    return; /* not ours, or already finished */
  for(s = n->socks; s; s = s->next)
    if(s->easy == easy)
      (void)shutdown(s->fd, SHUT_RDWR); /* its goodbye (SMTP QUIT) fails at once */
  curl_multi_remove_handle(n->m, easy);
  curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
  free(tx);
}

/* CURLOPT_WRITEFUNCTION of netio_get(): append to the rs_buf, refusing absurd answers. */
static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
  struct rs_buf *b = userp;
  if(b->len + size * n > 16u * 1024u * 1024u)
    return 0;
  rs_buf_append(b, data, size * n);
  return b->oom ? 0 : size * n;
}

long netio_get(const char *url, struct rs_buf *body, char *err, size_t errlen)
{
  CURL *h = curl_easy_init();
  char errbuf[CURL_ERROR_SIZE] = "";
  long status = 0;
  CURLcode rc;
  if(!h) {
    (void)rs_strlcpy(err, netio_curl_error(), errlen);
    return 0;
  }
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  rc = curl_easy_perform(h);
  if(rc == CURLE_OK)
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(h);
  if(rc != CURLE_OK) {
    (void)rs_strlcpy(err, errbuf[0] ? errbuf : curl_easy_strerror(rc), errlen);
    return 0;
  }
  return status;
}
