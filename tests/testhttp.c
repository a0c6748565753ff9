/* SPDX-License-Identifier: Apache-2.0 */
/* testhttp: see testhttp.h. */
#include "tests/testhttp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* libcurl's body and header callback: append to the rs_buf ud. */
static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
  rs_buf_append(ud, p, sz * n);
  return sz * n;
}

void tu_resp_free(struct tu_resp *r)
{
  rs_buf_free(&r->body);
  rs_buf_free(&r->head);
}

/* Turn the server's crank while curl works, until the transfer e ends. */
static void drive(CURLM *multi, CURL *e, struct http_server *srv, void (*on_turn)(void *), void *ud)
{
  int running = 1, left;
  CURLMsg *msg;
  assert_int_equal(curl_multi_add_handle(multi, e), CURLM_OK);
  while(running) {
    struct curl_waitfd wfd;
    int64_t to;
    assert_int_equal(curl_multi_perform(multi, &running), CURLM_OK);
    if(!running)
      break;
    memset(&wfd, 0, sizeof(wfd));
    wfd.fd = http_server_fd(srv);
    wfd.events = CURL_WAIT_POLLIN;
    to = http_server_timeout_ms(srv);
    (void)curl_multi_wait(multi, &wfd, 1, to > 20 ? 20 : (int)to, NULL);
    if(on_turn)
      on_turn(ud);
    http_server_run(srv);
  }
  while((msg = curl_multi_info_read(multi, &left)))
    if(msg->msg == CURLMSG_DONE && msg->data.result != CURLE_OK)
      fprintf(stderr, "curl: %s\n", curl_easy_strerror(msg->data.result));
  curl_multi_remove_handle(multi, e);
}

void tu_http_request(CURLM *multi, struct http_server *srv, const char *method, const char *path,
                     const struct tu_req *o, struct tu_resp *r, void (*on_turn)(void *), void *ud)
{
  CURL *e = curl_easy_init();
  struct curl_slist *h = NULL;
  char url[1024], hosthdr[300];
  memset(r, 0, sizeof(*r));
  rs_buf_puts(&r->body, "");
  rs_buf_puts(&r->head, "");
  assert_non_null(e);
  if(o && o->base)
    assert_int_equal(rs_snprintf(url, sizeof(url), "%s%s", o->base, path), 0);
  else
    assert_int_equal(rs_snprintf(url, sizeof(url), "http://127.0.0.1:%u%s",
                                 (unsigned)http_server_port(srv), path),
                     0);
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
  if(o && o->ua)
    curl_easy_setopt(e, CURLOPT_USERAGENT, o->ua);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &r->body);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_data);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &r->head);
  if(!strcmp(method, "HEAD"))
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  else if(!strcmp(method, "POST"))
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, o && o->body ? o->body : "");
  else if(strcmp(method, "GET"))
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
  if(o && o->host) {
    assert_int_equal(rs_snprintf(hosthdr, sizeof(hosthdr), "Host: %s", o->host), 0);
    h = curl_slist_append(h, hosthdr);
  }
  if(o && o->headers) {
    const char *const *p;
    for(p = o->headers; *p; p++)
      h = curl_slist_append(h, *p);
  }
  if(h)
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
  if(o && o->userpwd) {
    curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(e, CURLOPT_USERPWD, o->userpwd);
  }
  drive(multi, e, srv, on_turn, ud);
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
  curl_slist_free_all(h);
  curl_easy_cleanup(e);
}

enum store_order_state tu_order_state(struct store *st, const char *id)
{
  struct store_order_full *o = NULL;
  enum store_order_state s;
  assert_int_equal(store_get_order(st, id, &o), RS_OK);
  s = o->order.state;
  store_order_full_free(o);
  return s;
}
