/* SPDX-License-Identifier: Apache-2.0 */
/*
 * codec: byte encodings and digests every layer may need: lower-case hex,
 * unpadded base64url (RFC 4648 section 5), SHA-256 and HMAC-SHA256 (our own,
 * not libcrypto's: see codec.c), CRC-32, a constant-time comparison. What the bytes mean (approval tokens, CSRF tokens, session ids)
 * is the caller's business.
 */
#ifndef RS_CODEC_H
#define RS_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CODEC_SHA256_LEN 32

/* Lower-case hex of in[0..n) into out (2n + 1 bytes, NUL-terminated). */
void codec_hex(const unsigned char *in, size_t n, char *out);

/*
 * Decode the lower-case hex at text (as codec_hex() writes it) up to the
 * character end (such as '"'; a NUL before it is an error). Returns the byte
 * count written to out (at most cap), or -1 for any other character, an odd
 * digit count or more than cap bytes.
 */
long codec_unhex(const char *text, char end, unsigned char *out, size_t cap);

/* base64url of in[0..n) without padding into out (size > 4n/3 + 1), NUL-terminated. */
void codec_b64url(const unsigned char *in, size_t n, char *out);
/*
 * Decode canonical unpadded base64url text[0..n) into out (size >= 3n/4).
 * Returns the byte count, or -1 for a bad character, a length of 1 mod 4, or
 * non-zero unused bits.
 */
long codec_b64url_decode(const char *text, size_t n, unsigned char *out);

/* SHA-256 of data[0..n) into out; always true (the bool is kept for the callers). */
bool codec_sha256(const void *data, size_t n, unsigned char out[CODEC_SHA256_LEN]);
/* HMAC-SHA256 of msg[0..n) under key[0..keylen) into out; false (out zeroed) on failure. */
bool codec_hmac_sha256(const unsigned char *key, size_t keylen, const void *msg, size_t n,
                       unsigned char out[CODEC_SHA256_LEN]);
/*
 * CRC-32 (IEEE 802.3, reflected, as zlib's crc32()) of d[0..n): the
 * predictor's state blob ends with it. A 1 KB table, one byte a step.
 */
uint32_t codec_crc32(const void *d, size_t n);
/* 0 when a[0..n) equals b[0..n), 1 otherwise, in a time that depends on n only (for secrets). */
int codec_ct_memcmp(const void *a, const void *b, size_t n);

#endif
