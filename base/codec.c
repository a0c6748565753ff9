/* SPDX-License-Identifier: Apache-2.0 */
/*
 * codec: hex, base64url, SHA-256 and HMAC-SHA256 (see codec.h).
 */
#include "base/codec.h"

#include <stdint.h>
#include <string.h>

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

/*
 * SHA-256 (FIPS 180-4), written here rather than taken from libcrypto:
 * restockd hashes a few short strings (tokens, CSRF tokens, key files), and
 * linking OpenSSL for it cost ~1.5 MB of RSS in every process
 * (docs/BENCHMARKS.md, "Where the RSS goes"). Checked against the FIPS and
 * RFC 4231 vectors in tests/test_codec.c.
 */
struct sha256 {
  uint32_t h[8];
  uint64_t len; /* bytes hashed so far */
  unsigned char buf[64];
  size_t nbuf;
};

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t ror32(uint32_t x, unsigned n)
{
  return (x >> n) | (x << (32u - n));
}

/* One 64-byte block into the state. */
static void sha256_block(uint32_t h[8], const unsigned char *p)
{
  uint32_t w[64], a, b, c, d, e, f, g, hh, t1, t2;
  unsigned i;
  for(i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
           (uint32_t)p[4 * i + 3];
  for(i = 16; i < 64; i++) {
    uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for(i = 0; i < 64; i++) {
    t1 = hh + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
    t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
  }
  h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

static void sha256_init(struct sha256 *s)
{
  static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(s->h, iv, sizeof(iv));
  s->len = 0;
  s->nbuf = 0;
}

static void sha256_update(struct sha256 *s, const void *data, size_t n)
{
  const unsigned char *p = data;
  s->len += n;
  while(n) {
    size_t take = 64 - s->nbuf < n ? 64 - s->nbuf : n;
    if(s->nbuf == 0 && n >= 64) {
      sha256_block(s->h, p);
      p += 64;
      n -= 64;
      continue;
    }
    memcpy(s->buf + s->nbuf, p, take);
    s->nbuf += take;
    p += take;
    n -= take;
    if(s->nbuf == 64) {
      sha256_block(s->h, s->buf);
      s->nbuf = 0;
    }
  }
}

static void sha256_final(struct sha256 *s, unsigned char out[CODEC_SHA256_LEN])
{
  uint64_t bits = s->len * 8u;
  unsigned i;
  s->buf[s->nbuf++] = 0x80;
  if(s->nbuf > 56) {
    memset(s->buf + s->nbuf, 0, 64 - s->nbuf);
    sha256_block(s->h, s->buf);
    s->nbuf = 0;
  }
  memset(s->buf + s->nbuf, 0, 56 - s->nbuf);
  for(i = 0; i < 8; i++)
    s->buf[56 + i] = (unsigned char)(bits >> (56 - 8 * i));
  sha256_block(s->h, s->buf);
  for(i = 0; i < 8; i++) {
    out[4 * i] = (unsigned char)(s->h[i] >> 24);
    out[4 * i + 1] = (unsigned char)(s->h[i] >> 16);
    out[4 * i + 2] = (unsigned char)(s->h[i] >> 8);
    out[4 * i + 3] = (unsigned char)s->h[i];
  }
  memset(s, 0, sizeof(*s));
}

bool codec_sha256(const void *data, size_t n, unsigned char out[CODEC_SHA256_LEN])
{
  struct sha256 s;
  sha256_init(&s);
  sha256_update(&s, data, n);
  sha256_final(&s, out);
  return true;
}

/* HMAC (RFC 2104) over SHA-256: block size 64, longer keys hashed first. */
bool codec_hmac_sha256(const unsigned char *key, size_t keylen, const void *msg, size_t n,
                       unsigned char out[CODEC_SHA256_LEN])
{
  unsigned char k[64], pad[64], inner[CODEC_SHA256_LEN];
  struct sha256 s;
  size_t i;
  memset(k, 0, sizeof(k));
  if(keylen > sizeof(k))
    (void)codec_sha256(key, keylen, k);
  else if(keylen)
    memcpy(k, key, keylen);
  for(i = 0; i < 64; i++)
    pad[i] = (unsigned char)(k[i] ^ 0x36);
  sha256_init(&s);
  sha256_update(&s, pad, sizeof(pad));
  sha256_update(&s, msg, n);
  sha256_final(&s, inner);
  for(i = 0; i < 64; i++)
    pad[i] = (unsigned char)(k[i] ^ 0x5c);
  sha256_init(&s);
  sha256_update(&s, pad, sizeof(pad));
  sha256_update(&s, inner, sizeof(inner));
  sha256_final(&s, out);
  memset(k, 0, sizeof(k));
  memset(pad, 0, sizeof(pad));
  memset(inner, 0, sizeof(inner));
  return true;
}

int codec_ct_memcmp(const void *a, const void *b, size_t n)
{
  const volatile unsigned char *x = a, *y = b;
  unsigned char d = 0;
  size_t i;
  for(i = 0; i < n; i++)
    d |= (unsigned char)(x[i] ^ y[i]);
  return d != 0;
}

uint32_t codec_crc32(const void *d, size_t n)
{
  const unsigned char *p = d;
  uint32_t c = 0xFFFFFFFFu;
  size_t i;
  int k;
  for(i = 0; i < n; i++) {
    c ^= p[i];
    for(k = 0; k < 8; k++)
      c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}
