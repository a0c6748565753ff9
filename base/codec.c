/* SPDX-License-Identifier: Apache-2.0 */
/*
 * codec: hex, base64url, SHA-256 and HMAC-SHA256 (see codec.h).
 */
#include "base/codec.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void codec_hex(const unsigned char *in, size_t n, char *out)
{
  static const char digits[] = "0123456789abcdef";
  size_t i;
  for(i = 0; i < n; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
  out[2 * n] = '\0';
}

/* The value of lower-case hex digit c, or -1. */
static int hexval_lower(char c)
{
  if(c >= '0' && c <= '9')
    return c - '0';
  if(c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

long codec_unhex(const char *text, char end, unsigned char *out, size_t cap)
{
  size_t i;
  for(i = 0; text[2 * i] != end; i++) {
    int hi = hexval_lower(text[2 * i]), lo = hi < 0 ? -1 : hexval_lower(text[2 * i + 1]);
    if(hi < 0 || lo < 0 || i >= cap)
      return -1;
    out[i] = (unsigned char)(hi << 4 | lo);
  }
  return (long)i;
}

void codec_b64url(const unsigned char *in, size_t n, char *out)
{
  size_t i, o = 0;
  for(i = 0; i + 2 < n; i += 3) {
    unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
    out[o++] = B64[(v >> 18) & 63];
    out[o++] = B64[(v >> 12) & 63];
    out[o++] = B64[(v >> 6) & 63];
    out[o++] = B64[v & 63];
  }
  if(n - i == 1) {
    unsigned v = (unsigned)in[i] << 16;
    out[o++] = B64[(v >> 18) & 63];
    out[o++] = B64[(v >> 12) & 63];
  }
  else if(n - i == 2) {
    unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
    out[o++] = B64[(v >> 18) & 63];
    out[o++] = B64[(v >> 12) & 63];
    out[o++] = B64[(v >> 6) & 63];
  }
  out[o] = '\0';
}

/* The value of base64url digit c, or -1 (its place in the alphabet). */
static int b64val(char c)
{
  const char *p = c ? strchr(B64, c) : NULL;
  return p ? (int)(p - B64) : -1;
}

long codec_b64url_decode(const char *text, size_t n, unsigned char *out)
{
  size_t i, o = 0;
  unsigned acc = 0;
  int bits = 0;
  if(n % 4 == 1)
    return -1;
  for(i = 0; i < n; i++) {
    int v = b64val(text[i]);
    if(v < 0)
      return -1;
    acc = (acc << 6) | (unsigned)v;
    bits += 6;
    if(bits >= 8) {
      bits -= 8;
      out[o++] = (unsigned char)((acc >> bits) & 0xff);
    }
    acc &= (1u << bits) - 1u; /* keep only the bits not yet output */
  }
  if(acc)
    return -1; /* the leftover bits of a canonical encoding are zero */
  return (long)o;
}

bool codec_sha256(const void *data, size_t n, unsigned char out[CODEC_SHA256_LEN])
{
  unsigned int len = 0;
  if(EVP_Digest(data, n, out, &len, EVP_sha256(), NULL) == 1 && len == CODEC_SHA256_LEN)
    return true;
  memset(out, 0, CODEC_SHA256_LEN);
  return false;
}

bool codec_hmac_sha256(const unsigned char *key, size_t keylen, const void *msg, size_t n,
                       unsigned char out[CODEC_SHA256_LEN])
{
  unsigned int len = 0;
  if(HMAC(EVP_sha256(), key, (int)keylen, msg, n, out, &len) && len == CODEC_SHA256_LEN)
    return true;
  memset(out, 0, CODEC_SHA256_LEN);
  return false;
}
