/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netio_dl: libcurl loaded with dlopen() on first use.
 *
 * restockd needs libcurl only for the shop's REST API and the approval
 * mails, but linking it maps libcurl and the ~20 libraries it pulls in
 * (krb5, ldap, ssh2, rtmp, nghttp2, brotli, ...): ~1.6 MB of RSS in every
 * process, configured shop or not (docs/BENCHMARKS.md, "Where the RSS
 * goes"). So nothing links libcurl: this file defines the libcurl
 * functions restock calls, with libcurl's own names and prototypes (from
 * <curl/curl.h>), and each one forwards to the real function, which the
 * first call of any of them looks up in NETIO_LIBCURL_SONAME (a build
 * setting, "libcurl.so.4"). The callers are unchanged and keep curl.h's
 * compile-time option type checks.
 *
 * When the library cannot be loaded, an error naming it and dlerror()'s
 * reason is logged once; then curl_global_init() returns
 * CURLE_FAILED_INIT, curl_easy_init() and curl_multi_init() return NULL
 * (their callers report "cannot start libcurl"), and the other functions,
 * which can only be reached with a handle from those, return an error.
 * Thread-safe: the look-up runs once (pthread_once).
 *
 * A program that also links libcurl itself (some tests) still gets these
 * definitions for its calls; they forward to the same loaded library.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>

#include <curl/curl.h>

#include "adapters/netio.h"
#include "base/dl.h"
#include "base/log.h"

#ifndef NETIO_LIBCURL_SONAME
#define NETIO_LIBCURL_SONAME "libcurl.so.4"
#endif

/* curl.h may define these as type-checking macros; the definitions below are the functions. */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt

/* libcurl's functions, as looked up. */
struct curl_fns {
  CURLcode (*global_init)(long);
  void (*global_cleanup)(void);
  CURL *(*easy_init)(void);
  CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
  CURLcode (*easy_perform)(CURL *);
  void (*easy_cleanup)(CURL *);
  CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
  void (*easy_reset)(CURL *);
  const char *(*easy_strerror)(CURLcode);
  char *(*easy_escape)(CURL *, const char *, int);
  void (*free_)(void *);
  time_t (*getdate)(const char *, const time_t *);
  struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
  void (*slist_free_all)(struct curl_slist *);
  CURLM *(*multi_init)(void);
  CURLMcode (*multi_add_handle)(CURLM *, CURL *);
  CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
  CURLMcode (*multi_cleanup)(CURLM *);
  CURLMsg *(*multi_info_read)(CURLM *, int *);
  CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
  CURLMcode (*multi_assign)(CURLM *, curl_socket_t, void *);
  CURLMcode (*multi_socket_action)(CURLM *, curl_socket_t, int, int *);
};
static struct curl_fns fn;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static bool loaded;
static char load_err[384]; /* why not loaded, once tried */


/* Where each function goes in fn. */
static const struct rs_dl_fn curl_fn_names[] = {
  RS_DL_FN(struct curl_fns, global_init, "curl_global_init"),
  RS_DL_FN(struct curl_fns, global_cleanup, "curl_global_cleanup"),
  RS_DL_FN(struct curl_fns, easy_init, "curl_easy_init"),
  RS_DL_FN(struct curl_fns, easy_setopt, "curl_easy_setopt"),
  RS_DL_FN(struct curl_fns, easy_perform, "curl_easy_perform"),
  RS_DL_FN(struct curl_fns, easy_cleanup, "curl_easy_cleanup"),
  RS_DL_FN(struct curl_fns, easy_getinfo, "curl_easy_getinfo"),
  RS_DL_FN(struct curl_fns, easy_reset, "curl_easy_reset"),
  RS_DL_FN(struct curl_fns, easy_strerror, "curl_easy_strerror"),
  RS_DL_FN(struct curl_fns, easy_escape, "curl_easy_escape"),
  RS_DL_FN(struct curl_fns, free_, "curl_free"),
  RS_DL_FN(struct curl_fns, getdate, "curl_getdate"),
  RS_DL_FN(struct curl_fns, slist_append, "curl_slist_append"),
  RS_DL_FN(struct curl_fns, slist_free_all, "curl_slist_free_all"),
  RS_DL_FN(struct curl_fns, multi_init, "curl_multi_init"),
  RS_DL_FN(struct curl_fns, multi_add_handle, "curl_multi_add_handle"),
  RS_DL_FN(struct curl_fns, multi_remove_handle, "curl_multi_remove_handle"),
  RS_DL_FN(struct curl_fns, multi_cleanup, "curl_multi_cleanup"),
  RS_DL_FN(struct curl_fns, multi_info_read, "curl_multi_info_read"),
  RS_DL_FN(struct curl_fns, multi_setopt, "curl_multi_setopt"),
  RS_DL_FN(struct curl_fns, multi_assign, "curl_multi_assign"),
  RS_DL_FN(struct curl_fns, multi_socket_action, "curl_multi_socket_action"),
};
_Static_assert(sizeof(struct curl_fns) == sizeof(curl_fn_names) / sizeof(curl_fn_names[0]) * sizeof(void *),
               "one table entry per function pointer");

/* Load libcurl and look its functions up; logs why not, once. */
static void load(void)
{
  loaded = rs_dl_load(NETIO_LIBCURL_SONAME, curl_fn_names, sizeof(curl_fn_names) / sizeof(curl_fn_names[0]), &fn, load_err,
                      sizeof(load_err));
  if(!loaded)
    log_msg(LOG_LVL_ERR, "%s: the shop client and the approval mails need libcurl 7.85 or newer (Debian package libcurl4)", load_err);
}

bool netio_curl_load(void)
{
  (void)pthread_once(&load_once, load);
  return loaded;
}

const char *netio_curl_error(void)
{
  return netio_curl_load() ? "cannot start libcurl" : load_err;
}

/*
 * The variadic setters: libcurl reads the third argument by the option's
 * type range (CURLOPTTYPE_*), so it is read here the same way and passed on.
 */
#define OPT_FORWARD(call, h, opt)                                                                  \
  do {                                                                                             \
    va_list ap;                                                                                    \
    CURLcode_or_m rc;                                                                              \
    va_start(ap, opt);                                                                             \
    if((long)(opt) < CURLOPTTYPE_OBJECTPOINT)                                                      \
      rc = call(h, opt, va_arg(ap, long));                                                         \
    else if((long)(opt) < CURLOPTTYPE_FUNCTIONPOINT)                                               \
      rc = call(h, opt, va_arg(ap, void *));                                                       \
    else if((long)(opt) < CURLOPTTYPE_OFF_T)                                                       \
      rc = call(h, opt, va_arg(ap, void (*)(void)));                                               \
    else if((long)(opt) < CURLOPTTYPE_BLOB)                                                        \
      rc = call(h, opt, va_arg(ap, curl_off_t));                                                   \
    else                                                                                           \
      rc = call(h, opt, va_arg(ap, void *));                                                       \
    va_end(ap);                                                                                    \
    return rc;                                                                                     \
  } while(0)

CURLcode curl_global_init(long flags)
{
  return netio_curl_load() ? fn.global_init(flags) : CURLE_FAILED_INIT;
}

void curl_global_cleanup(void)
{
  if(loaded)
    fn.global_cleanup();
}

CURL *curl_easy_init(void)
{
  return netio_curl_load() ? fn.easy_init() : NULL;
}

CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
  typedef CURLcode CURLcode_or_m;
  if(!loaded)
    return CURLE_FAILED_INIT;
  OPT_FORWARD(fn.easy_setopt, curl, option);
}

CURLcode curl_easy_perform(CURL *curl)
{
  return loaded ? fn.easy_perform(curl) : CURLE_FAILED_INIT;
}

void curl_easy_cleanup(CURL *curl)
{
  if(loaded)
    fn.easy_cleanup(curl);
}

CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
  va_list ap;
  void *out;
  if(!loaded)
    return CURLE_FAILED_INIT;
  va_start(ap, info);
  out = va_arg(ap, void *); /* every CURLINFO takes a pointer to where the answer goes */
  va_end(ap);
  return fn.easy_getinfo(curl, info, out);
}

void curl_easy_reset(CURL *curl)
{
  if(loaded)
    fn.easy_reset(curl);
}

const char *curl_easy_strerror(CURLcode code)
{
  return loaded ? fn.easy_strerror(code) : "libcurl could not be loaded";
}

char *curl_easy_escape(CURL *handle, const char *string, int length)
{
  return netio_curl_load() ? fn.easy_escape(handle, string, length) : NULL;
}

void curl_free(void *p)
{
  if(loaded)
    fn.free_(p);
}

time_t curl_getdate(const char *p, const time_t *unused)
{
  return netio_curl_load() ? fn.getdate(p, unused) : (time_t)-1;
}

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *data)
{
  return netio_curl_load() ? fn.slist_append(list, data) : NULL;
}

void curl_slist_free_all(struct curl_slist *list)
{
  if(loaded)
    fn.slist_free_all(list);
}

CURLM *curl_multi_init(void)
{
  return netio_curl_load() ? fn.multi_init() : NULL;
}

CURLMcode curl_multi_add_handle(CURLM *multi_handle, CURL *curl_handle)
{
  return loaded ? fn.multi_add_handle(multi_handle, curl_handle) : CURLM_BAD_HANDLE;
}

CURLMcode curl_multi_remove_handle(CURLM *multi_handle, CURL *curl_handle)
{
  return loaded ? fn.multi_remove_handle(multi_handle, curl_handle) : CURLM_BAD_HANDLE;
}

CURLMcode curl_multi_cleanup(CURLM *multi_handle)
{
  return loaded ? fn.multi_cleanup(multi_handle) : CURLM_BAD_HANDLE;
}

CURLMsg *curl_multi_info_read(CURLM *multi_handle, int *msgs_in_queue)
{
  if(!loaded) {
    *msgs_in_queue = 0;
    return NULL;
  }
  return fn.multi_info_read(multi_handle, msgs_in_queue);
}

CURLMcode curl_multi_setopt(CURLM *multi_handle, CURLMoption option, ...)
{
  typedef CURLMcode CURLcode_or_m;
  if(!loaded)
    return CURLM_BAD_HANDLE;
  OPT_FORWARD(fn.multi_setopt, multi_handle, option);
}

CURLMcode curl_multi_assign(CURLM *multi_handle, curl_socket_t sockfd, void *sockp)
{
  return loaded ? fn.multi_assign(multi_handle, sockfd, sockp) : CURLM_BAD_HANDLE;
}

CURLMcode curl_multi_socket_action(CURLM *multi_handle, curl_socket_t s, int ev_bitmask,
                                   int *running_handles)
{
  return loaded ? fn.multi_socket_action(multi_handle, s, ev_bitmask, running_handles)
                : CURLM_BAD_HANDLE;
}
