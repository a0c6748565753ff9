/* SPDX-License-Identifier: Apache-2.0 */
/*
 * token: signed approval links and the gateway secret (see token.h).
 */
#include "gateway/token.h"

#include <inttypes.h>
#include <string.h>

#include "base/codec.h"
#include "base/keyfile.h"
#include "base/rs_util.h"

static const char MAC_DOMAIN[] = "restock-approval\n";

/* ---- the secret --------------------------------------------------------- */

int token_secret_path(const char *storage_path, char *out, size_t size)
{
  const char *slash;
  if(!storage_path || !*storage_path || !size)
    return -1;
  slash = strrchr(storage_path, '/');
  if(!slash)
    return rs_snprintf(out, size, "%s", TOKEN_SECRET_NAME) ? -1 : 0;
  if(slash == storage_path)
    return rs_snprintf(out, size, "/%s", TOKEN_SECRET_NAME) ? -1 : 0;
  return rs_snprintf(out, size, "%.*s/%s", (int)(slash - storage_path), storage_path,
                     TOKEN_SECRET_NAME)
             ? -1
             : 0;
}

int token_secret_load(const char *path, unsigned char key[TOKEN_KEY_LEN], char *err,
                      size_t errlen)
{
  int rc = keyfile_load(path, "approval secret", key, TOKEN_KEY_LEN, err, errlen);
  if(rc == -2)
    (void)rs_snprintf(err, errlen,
                      "the approval secret %s is not exactly %d bytes (remove it to make a new "
                      "one; links already mailed stop working)",
                      path, TOKEN_KEY_LEN);
  return rc ? -1 : 0;
}

/* ---- hashes ------------------------------------------------------------- */

/* SHA-256 of data, the first TOKEN_HASH_LEN bytes into out (zeros if OpenSSL fails). */
static void sha_trunc(const void *data, size_t n, unsigned char out[TOKEN_HASH_LEN])
{
  unsigned char md[CODEC_SHA256_LEN];
  (void)codec_sha256(data, n, md);
  memcpy(out, md, TOKEN_HASH_LEN);
}

void token_lines_hash(const struct store_order_line *lines, size_t n,
                      unsigned char out[TOKEN_HASH_LEN])
{
  struct rs_buf b = {0};
  size_t i;
  rs_buf_puts(&b, "lines-v1\n");
  for(i = 0; i < n; i++) {
    /* NUL-separated fields: no sku can make two different lists look alike */
    rs_buf_puts(&b, lines[i].sku ? lines[i].sku : "");
    rs_buf_printf(&b, "%c%" PRId64 "%c%" PRId64 "%c%.3s\n", 0, lines[i].quantity, 0,
                  lines[i].unit_price, 0, lines[i].currency);
  }
  sha_trunc(b.data ? b.data : "", b.len, out);
  rs_buf_free(&b);
}

void token_approver_hash(const char *approver, unsigned char out[TOKEN_HASH_LEN])
{
  char low[512];
  size_t i, n = approver ? strlen(approver) : 0;
  if(n >= sizeof(low))
    n = sizeof(low) - 1;
  for(i = 0; i < n; i++) {
    char ch = approver[i];
    low[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
  }
  sha_trunc(low, n, out);
}

void token_hash_hex(const char *text, char out[TOKEN_HASH_HEX])
{
  unsigned char md[CODEC_SHA256_LEN];
  out[0] = '\0';
  if(codec_sha256(text, strlen(text), md))
    codec_hex(md, sizeof(md), out);
}

/* ---- encoding ----------------------------------------------------------- */

static bool order_id_ok(const char *s, size_t n)
{
  size_t i;
  if(n < 1 || n > STORE_ORDER_ID_MAX)
    return false;
  for(i = 0; i < n; i++) {
    char c = s[i];
    if(!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-'))
      return false;
  }
  return true;
}

static void mac_of(const unsigned char key[TOKEN_KEY_LEN], const unsigned char *part, size_t n,
                   unsigned char out[TOKEN_MAC_LEN])
{
  unsigned char msg[sizeof(MAC_DOMAIN) - 1 + TOKEN_FIXED_LEN + STORE_ORDER_ID_MAX];
  memset(out, 0, TOKEN_MAC_LEN);
  if(n > TOKEN_FIXED_LEN + STORE_ORDER_ID_MAX)
    return;
  memcpy(msg, MAC_DOMAIN, sizeof(MAC_DOMAIN) - 1);
  memcpy(msg + sizeof(MAC_DOMAIN) - 1, part, n);
  (void)codec_hmac_sha256(key, TOKEN_KEY_LEN, msg, sizeof(MAC_DOMAIN) - 1 + n, out);
}

int token_make(const unsigned char key[TOKEN_KEY_LEN], const char *order_id,
               const unsigned char lines_hash[TOKEN_HASH_LEN], const char *approver,
               int64_t expires_ms, char *out, size_t size)
{
  unsigned char raw[TOKEN_RAW_MAX];
  size_t n, len, i;
  uint64_t e;
  if(size)
    out[0] = '\0';
  n = order_id ? strnlen(order_id, STORE_ORDER_ID_MAX + 1) : 0;
  if(!key || !lines_hash || !approver || !order_id_ok(order_id, n) || expires_ms < 0 ||
     size <= TOKEN_TEXT_MAX)
    return -1;
  raw[0] = 1;
  e = (uint64_t)expires_ms;
  for(i = 0; i < 8; i++)
    raw[1 + i] = (unsigned char)(e >> (56 - 8 * i));
  memcpy(raw + 9, lines_hash, TOKEN_HASH_LEN);
  token_approver_hash(approver, raw + 9 + TOKEN_HASH_LEN);
  raw[TOKEN_FIXED_LEN - 1] = (unsigned char)n;
  memcpy(raw + TOKEN_FIXED_LEN, order_id, n);
  len = TOKEN_FIXED_LEN + n;
  mac_of(key, raw, len, raw + len);
  codec_b64url(raw, len + TOKEN_MAC_LEN, out);
  explicit_bzero(raw, sizeof(raw));
  return 0;
}

int token_parse(const char *text, struct token *t)
{
  unsigned char raw[TOKEN_RAW_MAX + 3];
  size_t n, idlen, i;
  long got;
  uint64_t e = 0;

  memset(t, 0, sizeof(*t));
  if(!text)
    return -1;
  n = strnlen(text, TOKEN_TEXT_MAX + 1);
  /* the shortest token has a one-byte order id */
  if(n > TOKEN_TEXT_MAX || n < ((TOKEN_FIXED_LEN + 1 + TOKEN_MAC_LEN) * 4 + 2) / 3)
    return -1;
  got = codec_b64url_decode(text, n, raw);
  if(got < (long)(TOKEN_FIXED_LEN + 1 + TOKEN_MAC_LEN) || raw[0] != 1)
    goto bad;
  idlen = raw[TOKEN_FIXED_LEN - 1];
  if(idlen < 1 || idlen > STORE_ORDER_ID_MAX ||
     (size_t)got != TOKEN_FIXED_LEN + idlen + TOKEN_MAC_LEN)
    goto bad;
  if(!order_id_ok((const char *)raw + TOKEN_FIXED_LEN, idlen))
    goto bad;
  for(i = 0; i < 8; i++)
    e = e << 8 | raw[1 + i];
  if(e > (uint64_t)INT64_MAX)
    goto bad;
  t->expires_ms = (int64_t)e;
  memcpy(t->lines_hash, raw + 9, TOKEN_HASH_LEN);
  memcpy(t->approver_hash, raw + 9 + TOKEN_HASH_LEN, TOKEN_HASH_LEN);
  memcpy(t->order_id, raw + TOKEN_FIXED_LEN, idlen);
  t->order_id[idlen] = '\0';
  t->signed_len = TOKEN_FIXED_LEN + idlen;
  memcpy(t->signed_part, raw, t->signed_len);
  memcpy(t->mac, raw + t->signed_len, TOKEN_MAC_LEN);
  return 0;
bad:
  memset(t, 0, sizeof(*t));
  return -1;
}

bool token_verify(const struct token *t, const unsigned char key[TOKEN_KEY_LEN])
{
  unsigned char want[TOKEN_MAC_LEN];
  bool ok;
  if(!t || !key || t->signed_len < TOKEN_FIXED_LEN + 1 ||
     t->signed_len > TOKEN_FIXED_LEN + STORE_ORDER_ID_MAX)
    return false;
  mac_of(key, t->signed_part, t->signed_len, want);
  ok = codec_ct_memcmp(want, t->mac, TOKEN_MAC_LEN) == 0;
  explicit_bzero(want, sizeof(want));
  return ok;
}
