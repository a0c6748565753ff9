/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the commerce client's answer parsers: an HTTP status,
 * a Retry-After value and body bytes, as a shop (or anything between us and
 * it) could send them, into commerce_classify, commerce_parse_order_info and
 * commerce_parse_product. Checks the invariants callers rely on.
 *
 * Input: 2 bytes status (big-endian, mod 1000), 1 byte Retry-After length
 * (mod 64; bit 7 set: no Retry-After header), that many bytes of Retry-After, then the body.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/commerce.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct commerce_result r;
  struct commerce_order_info oi;
  struct commerce_product p;
  char ra[64];
  const char *rap = NULL;
  long status;
  size_t n;
  const int64_t now = INT64_C(1796147474000);
  enum commerce_lookup l;

  if(size < 3)
    return 0;
  status = (long)(((unsigned)data[0] << 8 | data[1]) % 1000);
  n = data[2] % 64;
  data += 3;
  size -= 3;
  if(n > size)
    n = size;
  /* an embedded NUL just ends the header value early; bit 7 set: no header */
  memcpy(ra, data, n);
  ra[n] = '\0';
  if(!(data[-1] & 0x80))
    rap = ra;
  data += n;
  size -= n;

  commerce_classify(status, rap, now, (const char *)data, size, &r);
  if(strlen(r.excerpt) > COMMERCE_EXCERPT_MAX || strlen(r.message) >= sizeof(r.message))
    abort();
  if(r.outcome == COMMERCE_SUBMITTED && (status < 200 || status > 299 || !r.shop_id[0]))
    abort();
  if(r.outcome != COMMERCE_SUBMITTED && r.shop_id[0])
    abort();
  if(r.retry_after_ms < -1 || r.retry_after_ms > INT64_C(7) * 86400 * 1000)
    abort();

  l = commerce_parse_order_info(status, rap, now, (const char *)data, size, &oi);
  if(l == COMMERCE_LOOKUP_OK && (!oi.id[0] || (unsigned)oi.status > COMMERCE_ST_CANCELLED))
    abort();
  l = commerce_parse_product(status, rap, now, (const char *)data, size, &p);
  if(l == COMMERCE_LOOKUP_OK && (!p.sku[0] || p.unit_price < 0 || strlen(p.currency) != 3))
    abort();
  return 0;
}
