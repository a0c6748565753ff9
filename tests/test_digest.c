/* SPDX-License-Identifier: Apache-2.0 */
/*
 * base/codec's own SHA-256 and HMAC-SHA256 (no libcrypto) against the
 * published vectors (FIPS 180-4 examples, RFC 4231 cases 1, 2 and 6) and
 * digests from Python's hashlib/hmac for lengths around the 64-byte block
 * and padding boundaries; CRC-32 against its check value and zlib's; the
 * constant-time comparison.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/codec.h"

static void hex_of(const unsigned char d[CODEC_SHA256_LEN], char out[2 * CODEC_SHA256_LEN + 1])
{
  codec_hex(d, CODEC_SHA256_LEN, out);
}

static void check_sha(const void *msg, size_t n, const char *want)
{
  unsigned char d[CODEC_SHA256_LEN];
  char hex[2 * CODEC_SHA256_LEN + 1];
  assert_true(codec_sha256(msg, n, d));
  hex_of(d, hex);
  assert_string_equal(hex, want);
}

static void check_hmac(const void *key, size_t keylen, const char *msg, const char *want)
{
  unsigned char d[CODEC_SHA256_LEN];
  char hex[2 * CODEC_SHA256_LEN + 1];
  assert_true(codec_hmac_sha256(key, keylen, msg, strlen(msg), d));
  hex_of(d, hex);
  assert_string_equal(hex, want);
}

static void test_sha256_fips(void **state)
{
  char *a = malloc(1000000);
  (void)state;
  assert_non_null(a);
  check_sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  check_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  check_sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  memset(a, 'a', 1000000);
  check_sha(a, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  free(a);
}

/* Bytes (i * 7 + 3) mod 256, lengths where the padding changes blocks. */
static void test_sha256_block_edges(void **state)
{
  static const struct {
    size_t n;
    const char *want;
  } v[] = {
      {55, "e7313d333c272e639f790978283f9eb392e843d0f29b7016828bb1daa4aac70b"},
      {56, "4324d65f3c103567f5589c710bc08f8523f929a9272e3af36fc968e52abc6c27"},
      {63, "81c80242132f230c3bd41b3e63bbcff16107339549214a99614ff26664625055"},
      {64, "39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241"},
      {65, "aacca6ff74fdbb296d165a45cecfa04e5127bc008770fbbdd48006f2d2fae95e"},
      {119, "9ce7368e4daf32341631b492e80359dc9f594b48453cd0dd5bf0b19279cc177e"},
      {120, "7836b787757e95e58b3ca5aec90b1b004e8deba1e50e9675af9cabf1a13a04b5"},
      {1000, "1e9bc38cbf860b9ec31918b065f9b52476c549a782e0e7990bed8ce3868d2371"},
  };
  unsigned char m[1000];
  size_t i;
  (void)state;
  for(i = 0; i < sizeof(m); i++)
    m[i] = (unsigned char)((i * 7 + 3) & 255);
  for(i = 0; i < sizeof(v) / sizeof(v[0]); i++)
    check_sha(m, v[i].n, v[i].want);
}

static void test_hmac_rfc4231(void **state)
{
  unsigned char k1[20], k6[131], k64[64];
  (void)state;
  memset(k1, 0x0b, sizeof(k1));
  memset(k6, 0xaa, sizeof(k6));
  memset(k64, 'k', sizeof(k64));
  check_hmac(k1, sizeof(k1), "Hi There",
             "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  check_hmac("Jefe", 4, "what do ya want for nothing?",
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  check_hmac(k6, sizeof(k6), "Test Using Larger Than Block-Size Key - Hash Key First",
             "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  check_hmac(k64, sizeof(k64), "exactly one block of key",
             "baa93ea4ccc7062ed6870c5e7937dbd35ad7791df4e29df9addeb429ff491acf");
  check_hmac("", 0, "", "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

static void test_ct_memcmp(void **state)
{
  (void)state;
  assert_int_equal(codec_ct_memcmp("secret", "secret", 6), 0);
  assert_int_not_equal(codec_ct_memcmp("secret", "secreT", 6), 0);
  assert_int_not_equal(codec_ct_memcmp("Secret", "secret", 6), 0);
  assert_int_equal(codec_ct_memcmp("a", "b", 0), 0);
}

/* CRC-32's check value ("123456789", as in the CRC catalogue) and zlib.crc32's figures. */
static void test_crc32(void **state)
{
  static const char fox[] = "The quick brown fox jumps over the lazy dog";
  unsigned char bytes[256];
  size_t i;
  (void)state;
  assert_int_equal(codec_crc32("", 0), 0u);
  assert_int_equal(codec_crc32("123456789", 9), 0xCBF43926u);
  assert_int_equal(codec_crc32(fox, strlen(fox)), 0x414FA339u);
  for(i = 0; i < sizeof(bytes); i++)
    bytes[i] = (unsigned char)i;
  assert_int_equal(codec_crc32(bytes, sizeof(bytes)), 0x29058C73u);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sha256_fips),
      cmocka_unit_test(test_sha256_block_edges),
      cmocka_unit_test(test_hmac_rfc4231),
      cmocka_unit_test(test_ct_memcmp),
      cmocka_unit_test(test_crc32),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
