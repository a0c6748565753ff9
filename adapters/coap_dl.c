/* SPDX-License-Identifier: Apache-2.0 */
/*
 * coap_dl: libcoap loaded with dlopen() when the first CoAP device opens.
 *
 * Debian's libcoap-3-openssl maps libssl and libcrypto: ~1.7 MB of RSS in
 * every restockd, CoAP devices or not (docs/BENCHMARKS.md, "Where the RSS
 * goes"). So restockd does not link it: this file defines the libcoap
 * functions adapters/coap.c calls, with libcoap's names and prototypes
 * (from <coap3/coap.h>), each forwarding to the real function in
 * COAP_DL_SONAME (a build setting, "libcoap-3-openssl.so.3"), looked up
 * once by coapa_dl_load(). coapa_open() calls coapa_dl_load() first and
 * fails the device with coapa_dl_error() ("cannot load ...") when the
 * library is missing; a forwarding function reached without the library
 * (a program calling libcoap itself on a host without it) aborts with a
 * message naming the library. A program that also links libcoap (the
 * simulator, some tests) gets the same library through these functions.
 * Generated from the prototypes (gcc -aux-info); thread-safe look-up.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include <coap3/coap.h>

#include "adapters/coap.h"
#include "base/dl.h"
#include "base/log.h"

#ifndef COAP_DL_SONAME
#define COAP_DL_SONAME "libcoap-3-openssl.so.3"
#endif

/* libcoap's functions, as looked up. */
struct coap_fns {
  int (*add_optlist_pdu)(coap_pdu_t *, coap_optlist_t **);
  int (*add_token)(coap_pdu_t *, size_t, const uint8_t *);
  void (*address_init)(coap_address_t *);
  int (*can_exit)(coap_context_t *);
  int (*cancel_observe)(coap_session_t *, coap_binary_t *, coap_pdu_type_t);
  coap_opt_t *(*check_option)(const coap_pdu_t *, coap_option_num_t, coap_opt_iterator_t *);
  int (*context_get_coap_fd)(const coap_context_t *);
  void (*context_set_block_mode)(coap_context_t *, uint8_t);
  unsigned int (*decode_var_bytes)(const uint8_t *, size_t);
  void (*delete_optlist)(coap_optlist_t *);
  void (*delete_pdu)(coap_pdu_t *);
  int (*dtls_is_supported)(void);
  void (*dtls_set_log_level)(int);
  void (*free_context)(coap_context_t *);
  int (*get_data_large)(const coap_pdu_t *, size_t *, const uint8_t **, size_t *, size_t *);
  int (*insert_optlist)(coap_optlist_t **, coap_optlist_t *);
  int (*io_process)(coap_context_t *, uint32_t);
  coap_session_t *(*new_client_session)(coap_context_t *, const coap_address_t *, const coap_address_t *, coap_proto_t);
  coap_session_t *(*new_client_session_psk2)(coap_context_t *, const coap_address_t *, const coap_address_t *, coap_proto_t, coap_dtls_cpsk_t *);
  coap_context_t *(*new_context)(const coap_address_t *);
  uint16_t (*new_message_id)(coap_session_t *);
  coap_optlist_t *(*new_optlist)(uint16_t, size_t, const uint8_t *);
  uint32_t (*opt_length)(const coap_opt_t *);
  const uint8_t *(*opt_value)(const coap_opt_t *);
  coap_pdu_code_t (*pdu_get_code)(const coap_pdu_t *);
  coap_bin_const_t (*pdu_get_token)(const coap_pdu_t *);
  coap_pdu_t *(*pdu_init)(coap_pdu_type_t, coap_pdu_code_t, coap_mid_t, size_t);
  int (*prng)(void *, size_t);
  void (*register_event_handler)(coap_context_t *, coap_event_handler_t);
  void (*register_nack_handler)(coap_context_t *, coap_nack_handler_t);
  void (*register_response_handler)(coap_context_t *, coap_response_handler_t);
  const char *(*response_phrase)(unsigned char);
  coap_mid_t (*send)(coap_session_t *, coap_pdu_t *);
  void *(*session_get_app_data)(const coap_session_t *);
  size_t (*session_max_pdu_size)(const coap_session_t *);
  void (*session_release)(coap_session_t *);
  void (*session_set_app_data)(coap_session_t *, void *);
  void (*set_log_handler)(coap_log_handler_t);
  void (*set_log_level)(coap_log_t);
  int (*split_uri)(const uint8_t *, size_t, coap_uri_t *);
  void (*startup)(void);
};
static struct coap_fns fn;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static bool loaded;
static char load_err[384]; /* why not loaded, once tried */


/* Where each function goes in fn. */
static const struct rs_dl_fn coap_fn_names[] = {
  RS_DL_FN(struct coap_fns, add_optlist_pdu, "coap_add_optlist_pdu"),
  RS_DL_FN(struct coap_fns, add_token, "coap_add_token"),
  RS_DL_FN(struct coap_fns, address_init, "coap_address_init"),
  RS_DL_FN(struct coap_fns, can_exit, "coap_can_exit"),
  RS_DL_FN(struct coap_fns, cancel_observe, "coap_cancel_observe"),
  RS_DL_FN(struct coap_fns, check_option, "coap_check_option"),
  RS_DL_FN(struct coap_fns, context_get_coap_fd, "coap_context_get_coap_fd"),
  RS_DL_FN(struct coap_fns, context_set_block_mode, "coap_context_set_block_mode"),
  RS_DL_FN(struct coap_fns, decode_var_bytes, "coap_decode_var_bytes"),
  RS_DL_FN(struct coap_fns, delete_optlist, "coap_delete_optlist"),
  RS_DL_FN(struct coap_fns, delete_pdu, "coap_delete_pdu"),
  RS_DL_FN(struct coap_fns, dtls_is_supported, "coap_dtls_is_supported"),
  RS_DL_FN(struct coap_fns, dtls_set_log_level, "coap_dtls_set_log_level"),
  RS_DL_FN(struct coap_fns, free_context, "coap_free_context"),
  RS_DL_FN(struct coap_fns, get_data_large, "coap_get_data_large"),
  RS_DL_FN(struct coap_fns, insert_optlist, "coap_insert_optlist"),
  RS_DL_FN(struct coap_fns, io_process, "coap_io_process"),
  RS_DL_FN(struct coap_fns, new_client_session, "coap_new_client_session"),
  RS_DL_FN(struct coap_fns, new_client_session_psk2, "coap_new_client_session_psk2"),
  RS_DL_FN(struct coap_fns, new_context, "coap_new_context"),
  RS_DL_FN(struct coap_fns, new_message_id, "coap_new_message_id"),
  RS_DL_FN(struct coap_fns, new_optlist, "coap_new_optlist"),
  RS_DL_FN(struct coap_fns, opt_length, "coap_opt_length"),
  RS_DL_FN(struct coap_fns, opt_value, "coap_opt_value"),
  RS_DL_FN(struct coap_fns, pdu_get_code, "coap_pdu_get_code"),
  RS_DL_FN(struct coap_fns, pdu_get_token, "coap_pdu_get_token"),
  RS_DL_FN(struct coap_fns, pdu_init, "coap_pdu_init"),
  RS_DL_FN(struct coap_fns, prng, "coap_prng"),
  RS_DL_FN(struct coap_fns, register_event_handler, "coap_register_event_handler"),
  RS_DL_FN(struct coap_fns, register_nack_handler, "coap_register_nack_handler"),
  RS_DL_FN(struct coap_fns, register_response_handler, "coap_register_response_handler"),
  RS_DL_FN(struct coap_fns, response_phrase, "coap_response_phrase"),
  RS_DL_FN(struct coap_fns, send, "coap_send"),
  RS_DL_FN(struct coap_fns, session_get_app_data, "coap_session_get_app_data"),
  RS_DL_FN(struct coap_fns, session_max_pdu_size, "coap_session_max_pdu_size"),
  RS_DL_FN(struct coap_fns, session_release, "coap_session_release"),
  RS_DL_FN(struct coap_fns, session_set_app_data, "coap_session_set_app_data"),
  RS_DL_FN(struct coap_fns, set_log_handler, "coap_set_log_handler"),
  RS_DL_FN(struct coap_fns, set_log_level, "coap_set_log_level"),
  RS_DL_FN(struct coap_fns, split_uri, "coap_split_uri"),
  RS_DL_FN(struct coap_fns, startup, "coap_startup"),
};
_Static_assert(sizeof(struct coap_fns) == sizeof(coap_fn_names) / sizeof(coap_fn_names[0]) * sizeof(void *),
               "one table entry per function pointer");

/* Load libcoap and look its functions up; logs why not, once. */
static void load(void)
{
  loaded = rs_dl_load(COAP_DL_SONAME, coap_fn_names, sizeof(coap_fn_names) / sizeof(coap_fn_names[0]), &fn, load_err,
                      sizeof(load_err));
  if(!loaded)
    log_msg(LOG_LVL_ERR, "%s: CoAP devices need libcoap 4.3.1 or newer (Debian package libcoap3)", load_err);
}

bool coapa_dl_load(void)
{
  (void)pthread_once(&load_once, load);
  return loaded;
}

const char *coapa_dl_error(void)
{
  return coapa_dl_load() ? "" : load_err;
}

/* A libcoap function reached without the library: nothing sensible to return. */
static void need(const char *name)
{
  if(coapa_dl_load())
    return;
  log_msg(LOG_LVL_ERR, "%s called without libcoap: %s", name, load_err);
  abort();
}

#define NEED() need(__func__)

int coap_add_optlist_pdu(coap_pdu_t *a0, coap_optlist_t **a1)
{
  NEED();
  return fn.add_optlist_pdu(a0, a1);
}

int coap_add_token(coap_pdu_t *a0, size_t a1, const uint8_t *a2)
{
  NEED();
  return fn.add_token(a0, a1, a2);
}

void coap_address_init(coap_address_t *a0)
{
  NEED();
  fn.address_init(a0);
}

int coap_can_exit(coap_context_t *a0)
{
  NEED();
  return fn.can_exit(a0);
}

int coap_cancel_observe(coap_session_t *a0, coap_binary_t *a1, coap_pdu_type_t a2)
{
  NEED();
  return fn.cancel_observe(a0, a1, a2);
}

coap_opt_t *coap_check_option(const coap_pdu_t *a0, coap_option_num_t a1, coap_opt_iterator_t *a2)
{
  NEED();
  return fn.check_option(a0, a1, a2);
}

int coap_context_get_coap_fd(const coap_context_t *a0)
{
  NEED();
  return fn.context_get_coap_fd(a0);
}

void coap_context_set_block_mode(coap_context_t *a0, uint8_t a1)
{
  NEED();
  fn.context_set_block_mode(a0, a1);
}

unsigned int coap_decode_var_bytes(const uint8_t *a0, size_t a1)
{
  NEED();
  return fn.decode_var_bytes(a0, a1);
}

void coap_delete_optlist(coap_optlist_t *a0)
{
  NEED();
  fn.delete_optlist(a0);
}

void coap_delete_pdu(coap_pdu_t *a0)
{
  NEED();
  fn.delete_pdu(a0);
}

int coap_dtls_is_supported(void)
{
  NEED();
  return fn.dtls_is_supported();
}

void coap_dtls_set_log_level(int a0)
{
  NEED();
  fn.dtls_set_log_level(a0);
}

void coap_free_context(coap_context_t *a0)
{
  NEED();
  fn.free_context(a0);
}

int coap_get_data_large(const coap_pdu_t *a0, size_t *a1, const uint8_t **a2, size_t *a3, size_t *a4)
{
  NEED();
  return fn.get_data_large(a0, a1, a2, a3, a4);
}

int coap_insert_optlist(coap_optlist_t **a0, coap_optlist_t *a1)
{
  NEED();
  return fn.insert_optlist(a0, a1);
}

int coap_io_process(coap_context_t *a0, uint32_t a1)
{
  NEED();
  return fn.io_process(a0, a1);
}

coap_session_t *coap_new_client_session(coap_context_t *a0, const coap_address_t *a1, const coap_address_t *a2, coap_proto_t a3)
{
  NEED();
  return fn.new_client_session(a0, a1, a2, a3);
}

coap_session_t *coap_new_client_session_psk2(coap_context_t *a0, const coap_address_t *a1, const coap_address_t *a2, coap_proto_t a3, coap_dtls_cpsk_t *a4)
{
  NEED();
  return fn.new_client_session_psk2(a0, a1, a2, a3, a4);
}

coap_context_t *coap_new_context(const coap_address_t *a0)
{
  NEED();
  return fn.new_context(a0);
}

uint16_t coap_new_message_id(coap_session_t *a0)
{
  NEED();
  return fn.new_message_id(a0);
}

coap_optlist_t *coap_new_optlist(uint16_t a0, size_t a1, const uint8_t *a2)
{
  NEED();
  return fn.new_optlist(a0, a1, a2);
}

uint32_t coap_opt_length(const coap_opt_t *a0)
{
  NEED();
  return fn.opt_length(a0);
}

const uint8_t *coap_opt_value(const coap_opt_t *a0)
{
  NEED();
  return fn.opt_value(a0);
}

coap_pdu_code_t coap_pdu_get_code(const coap_pdu_t *a0)
{
  NEED();
  return fn.pdu_get_code(a0);
}

coap_bin_const_t coap_pdu_get_token(const coap_pdu_t *a0)
{
  NEED();
  return fn.pdu_get_token(a0);
}

coap_pdu_t *coap_pdu_init(coap_pdu_type_t a0, coap_pdu_code_t a1, coap_mid_t a2, size_t a3)
{
  NEED();
  return fn.pdu_init(a0, a1, a2, a3);
}

int coap_prng(void *a0, size_t a1)
{
  NEED();
  return fn.prng(a0, a1);
}

void coap_register_event_handler(coap_context_t *a0, coap_event_handler_t a1)
{
  NEED();
  fn.register_event_handler(a0, a1);
}

void coap_register_nack_handler(coap_context_t *a0, coap_nack_handler_t a1)
{
  NEED();
  fn.register_nack_handler(a0, a1);
}

void coap_register_response_handler(coap_context_t *a0, coap_response_handler_t a1)
{
  NEED();
  fn.register_response_handler(a0, a1);
}

const char *coap_response_phrase(unsigned char a0)
{
  NEED();
  return fn.response_phrase(a0);
}

coap_mid_t coap_send(coap_session_t *a0, coap_pdu_t *a1)
{
  NEED();
  return fn.send(a0, a1);
}

void *coap_session_get_app_data(const coap_session_t *a0)
{
  NEED();
  return fn.session_get_app_data(a0);
}

size_t coap_session_max_pdu_size(const coap_session_t *a0)
{
  NEED();
  return fn.session_max_pdu_size(a0);
}

void coap_session_release(coap_session_t *a0)
{
  NEED();
  fn.session_release(a0);
}

void coap_session_set_app_data(coap_session_t *a0, void *a1)
{
  NEED();
  fn.session_set_app_data(a0, a1);
}

void coap_set_log_handler(coap_log_handler_t a0)
{
  NEED();
  fn.set_log_handler(a0);
}

void coap_set_log_level(coap_log_t a0)
{
  NEED();
  fn.set_log_level(a0);
}

int coap_split_uri(const uint8_t *a0, size_t a1, coap_uri_t *a2)
{
  NEED();
  return fn.split_uri(a0, a1, a2);
}

void coap_startup(void)
{
  NEED();
  fn.startup();
}

