/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for adapters/coap_payload. Input: byte 0 picks the
 * format (text, json, senml) and the point's unit and scale; byte 1 picks
 * the JSON pointer / SenML name from a table, or (high bit set) takes it
 * from the input up to the first newline; the rest is the payload, copied
 * to an exact-size heap buffer without a terminating NUL. A success must
 * give a finite (or exact integer/bool) value; a failure a terminated,
 * non-empty message. Must never crash, leak or trip a sanitizer.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/coap_payload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const selectors[] = {
  "", "/", "/level", "/a/b/0", "/a~1b", "/m~0n", "/0", "/-", "/~2", "cyan",
  "urn:dev:ow:10e2073a01080063:cyan", "d/a", "x", "/a/0/b/1/c",
};
static const char *const units[] = {NULL, "%", "ml", "bar"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct cfg_point pt;
  char sel[65];
  const uint8_t *body;
  size_t blen;
  char *copy;
  struct codec_value v;
  char err[CODEC_ERR_MAX];
  enum codec_err rc;

  if(size < 2)
    return 0;
  memset(&pt, 0, sizeof(pt));
  pt.id = "fuzz";
  pt.bit = -1;
  pt.format = (uint8_t)(data[0] % 3); /* enum cfg_format */
  pt.unit = units[(data[0] >> 2) % 4];
  pt.scaled = (data[0] & 0x10) != 0;
  pt.scale = (data[0] & 0x20) ? 1e300 : 0.5;
  pt.offset = (data[0] & 0x40) ? 1e308 : 0;
  body = data + 2;
  blen = size - 2;
  if(data[1] & 0x80) {
    const uint8_t *nl = memchr(body, '\n', blen < 64 ? blen : 64);
    size_t l = nl ? (size_t)(nl - body) : 0;

    memcpy(sel, body, l);
    sel[l] = '\0';
    if(nl) {
      body = nl + 1;
      blen -= l + 1;
    }
  }
  else
    memcpy(sel, selectors[data[1] % (sizeof(selectors) / sizeof(selectors[0]))],
           strlen(selectors[data[1] % (sizeof(selectors) / sizeof(selectors[0]))]) + 1);
  pt.pointer = sel;
  pt.name = sel;
  copy = malloc(blen ? blen : 1);
  if(!copy)
    return 0;
  if(blen)
    memcpy(copy, body, blen);
  err[0] = '\0';
  rc = cpay_decode(&pt, copy, blen, &v, err, sizeof(err));
  if(rc) {
    if(!err[0] || !memchr(err, '\0', sizeof(err)))
      abort();
  }
  else if(v.kind == CODEC_V_DOUBLE && !isfinite(v.v.d))
    abort();
  free(copy);
  return 0;
}
