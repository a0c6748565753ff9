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

/* CRC-32 of each byte value (the reflected IEEE polynomial 0xEDB88320), one byte a step. */
static const uint32_t crc32_table[256] = {
    0x00000000u, 0x77073096u, 0xEE0E612Cu, 0x990951BAu, 0x076DC419u, 0x706AF48Fu,
    0xE963A535u, 0x9E6495A3u, 0x0EDB8832u, 0x79DCB8A4u, 0xE0D5E91Eu, 0x97D2D988u,
    0x09B64C2Bu, 0x7EB17CBDu, 0xE7B82D07u, 0x90BF1D91u, 0x1DB71064u, 0x6AB020F2u,
    0xF3B97148u, 0x84BE41DEu, 0x1ADAD47Du, 0x6DDDE4EBu, 0xF4D4B551u, 0x83D385C7u,
    0x136C9856u, 0x646BA8C0u, 0xFD62F97Au, 0x8A65C9ECu, 0x14015C4Fu, 0x63066CD9u,
    0xFA0F3D63u, 0x8D080DF5u, 0x3B6E20C8u, 0x4C69105Eu, 0xD56041E4u, 0xA2677172u,
    0x3C03E4D1u, 0x4B04D447u, 0xD20D85FDu, 0xA50AB56Bu, 0x35B5A8FAu, 0x42B2986Cu,
    0xDBBBC9D6u, 0xACBCF940u, 0x32D86CE3u, 0x45DF5C75u, 0xDCD60DCFu, 0xABD13D59u,
    0x26D930ACu, 0x51DE003Au, 0xC8D75180u, 0xBFD06116u, 0x21B4F4B5u, 0x56B3C423u,
    0xCFBA9599u, 0xB8BDA50Fu, 0x2802B89Eu, 0x5F058808u, 0xC60CD9B2u, 0xB10BE924u,
    0x2F6F7C87u, 0x58684C11u, 0xC1611DABu, 0xB6662D3Du, 0x76DC4190u, 0x01DB7106u,
    0x98D220BCu, 0xEFD5102Au, 0x71B18589u, 0x06B6B51Fu, 0x9FBFE4A5u, 0xE8B8D433u,
    0x7807C9A2u, 0x0F00F934u, 0x9609A88Eu, 0xE10E9818u, 0x7F6A0DBBu, 0x086D3D2Du,
    0x91646C97u, 0xE6635C01u, 0x6B6B51F4u, 0x1C6C6162u, 0x856530D8u, 0xF262004Eu,
    0x6C0695EDu, 0x1B01A57Bu, 0x8208F4C1u, 0xF50FC457u, 0x65B0D9C6u, 0x12B7E950u,
    0x8BBEB8EAu, 0xFCB9887Cu, 0x62DD1DDFu, 0x15DA2D49u, 0x8CD37CF3u, 0xFBD44C65u,
    0x4DB26158u, 0x3AB551CEu, 0xA3BC0074u, 0xD4BB30E2u, 0x4ADFA541u, 0x3DD895D7u,
    0xA4D1C46Du, 0xD3D6F4FBu, 0x4369E96Au, 0x346ED9FCu, 0xAD678846u, 0xDA60B8D0u,
    0x44042D73u, 0x33031DE5u, 0xAA0A4C5Fu, 0xDD0D7CC9u, 0x5005713Cu, 0x270241AAu,
    0xBE0B1010u, 0xC90C2086u, 0x5768B525u, 0x206F85B3u, 0xB966D409u, 0xCE61E49Fu,
    0x5EDEF90Eu, 0x29D9C998u, 0xB0D09822u, 0xC7D7A8B4u, 0x59B33D17u, 0x2EB40D81u,
    0xB7BD5C3Bu, 0xC0BA6CADu, 0xEDB88320u, 0x9ABFB3B6u, 0x03B6E20Cu, 0x74B1D29Au,
    0xEAD54739u, 0x9DD277AFu, 0x04DB2615u, 0x73DC1683u, 0xE3630B12u, 0x94643B84u,
    0x0D6D6A3Eu, 0x7A6A5AA8u, 0xE40ECF0Bu, 0x9309FF9Du, 0x0A00AE27u, 0x7D079EB1u,
    0xF00F9344u, 0x8708A3D2u, 0x1E01F268u, 0x6906C2FEu, 0xF762575Du, 0x806567CBu,
    0x196C3671u, 0x6E6B06E7u, 0xFED41B76u, 0x89D32BE0u, 0x10DA7A5Au, 0x67DD4ACCu,
    0xF9B9DF6Fu, 0x8EBEEFF9u, 0x17B7BE43u, 0x60B08ED5u, 0xD6D6A3E8u, 0xA1D1937Eu,
    0x38D8C2C4u, 0x4FDFF252u, 0xD1BB67F1u, 0xA6BC5767u, 0x3FB506DDu, 0x48B2364Bu,
    0xD80D2BDAu, 0xAF0A1B4Cu, 0x36034AF6u, 0x41047A60u, 0xDF60EFC3u, 0xA867DF55u,
    0x316E8EEFu, 0x4669BE79u, 0xCB61B38Cu, 0xBC66831Au, 0x256FD2A0u, 0x5268E236u,
    0xCC0C7795u, 0xBB0B4703u, 0x220216B9u, 0x5505262Fu, 0xC5BA3BBEu, 0xB2BD0B28u,
    0x2BB45A92u, 0x5CB36A04u, 0xC2D7FFA7u, 0xB5D0CF31u, 0x2CD99E8Bu, 0x5BDEAE1Du,
    0x9B64C2B0u, 0xEC63F226u, 0x756AA39Cu, 0x026D930Au, 0x9C0906A9u, 0xEB0E363Fu,
    0x72076785u, 0x05005713u, 0x95BF4A82u, 0xE2B87A14u, 0x7BB12BAEu, 0x0CB61B38u,
    0x92D28E9Bu, 0xE5D5BE0Du, 0x7CDCEFB7u, 0x0BDBDF21u, 0x86D3D2D4u, 0xF1D4E242u,
    0x68DDB3F8u, 0x1FDA836Eu, 0x81BE16CDu, 0xF6B9265Bu, 0x6FB077E1u, 0x18B74777u,
    0x88085AE6u, 0xFF0F6A70u, 0x66063BCAu, 0x11010B5Cu, 0x8F659EFFu, 0xF862AE69u,
    0x616BFFD3u, 0x166CCF45u, 0xA00AE278u, 0xD70DD2EEu, 0x4E048354u, 0x3903B3C2u,
    0xA7672661u, 0xD06016F7u, 0x4969474Du, 0x3E6E77DBu, 0xAED16A4Au, 0xD9D65ADCu,
    0x40DF0B66u, 0x37D83BF0u, 0xA9BCAE53u, 0xDEBB9EC5u, 0x47B2CF7Fu, 0x30B5FFE9u,
    0xBDBDF21Cu, 0xCABAC28Au, 0x53B39330u, 0x24B4A3A6u, 0xBAD03605u, 0xCDD70693u,
    0x54DE5729u, 0x23D967BFu, 0xB3667A2Eu, 0xC4614AB8u, 0x5D681B02u, 0x2A6F2B94u,
    0xB40BBE37u, 0xC30C8EA1u, 0x5A05DF1Bu, 0x2D02EF8Du,
};

uint32_t codec_crc32(const void *d, size_t n)
{
  const unsigned char *p = d;
  uint32_t c = 0xFFFFFFFFu;
  size_t i;
  for(i = 0; i < n; i++)
    c = crc32_table[(c ^ p[i]) & 0xFFu] ^ (c >> 8);
  return ~c;
}
