/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the approval token parser (gateway/token.h), which
 * reads the {token} segment of /approve/{token} from anyone on the network.
 *
 * The input is copied into an exact-size NUL-terminated heap buffer (ASan
 * sees any read past its end). Invariants (abort on breach):
 *   - a parsed token has a well-formed order id (1..64 of [A-Za-z0-9._-]), a
 *     non-negative expiry, a signed part of the length its id implies, and
 *     came from at most TOKEN_TEXT_MAX characters;
 *   - an input that does not parse leaves the struct zeroed;
 *   - parsing is deterministic.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char KEY[TOKEN_KEY_LEN] = "fuzz-key-fuzz-key-fuzz-key-fuzz";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *s = malloc(size + 1);
  struct token t, t2;
  size_t i, n;
  if(!s)
    return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  if(token_parse(s, &t) == 0) {
    n = strlen(t.order_id);
    if(n < 1 || n > STORE_ORDER_ID_MAX || t.expires_ms < 0)
      abort();
    for(i = 0; i < n; i++)
      if(!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-",
                 t.order_id[i]))
        abort();
    if(token_parse(s, &t2) || memcmp(&t, &t2, sizeof(t)))
      abort();
    if(t.signed_len != TOKEN_FIXED_LEN + n || strlen(s) > TOKEN_TEXT_MAX)
      abort();
    (void)token_verify(&t, KEY); /* random input never verifies, but must not crash */
  }
  else {
    static const struct token zero;
    if(memcmp(&t, &zero, sizeof(t)))
      abort();
  }
  free(s);
  return 0;
}
