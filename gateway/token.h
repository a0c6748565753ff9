/* SPDX-License-Identifier: Apache-2.0 */
/*
 * token: the signed approval links of SPEC section 10 (docs/approvals.md).
 *
 * A token names an order, a hash of its lines (sku, quantity, unit price
 * and currency of each line, in order), the approver (as a hash of the
 * address) and an expiry, signed with HMAC-SHA256 under the gateway's
 * secret. Binary layout (version 1), then base64url without padding:
 *
 *   0       version (1)
 *   1..8    expires_ms, big-endian
 *   9..24   lines hash (first 16 bytes of SHA-256)
 *   25..40  approver hash (first 16 bytes of SHA-256 of the lower-cased address)
 *   41      n = length of the order id (1..64)
 *   42..    the order id ([A-Za-z0-9._-])
 *   +32     HMAC-SHA256(secret, "restock-approval\n" || bytes 0..42+n)
 *
 * Tokens are deterministic: the same order, lines, approver and expiry give
 * the same token (reminders carry the same link). Single use is not the
 * signature's job: the approvals table (store_use_approval) keeps it.
 *
 * The secret: 32 random bytes in a file (TOKEN_SECRET_NAME beside the
 * database), made with O_EXCL and mode 0600 on first start; a file readable
 * by others, of the wrong size or not a regular file is refused.
 */
#ifndef RS_TOKEN_H
#define RS_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/store.h"

#define TOKEN_KEY_LEN     32
#define TOKEN_HASH_LEN    16 /* bytes of the lines and approver hashes kept */
#define TOKEN_MAC_LEN     32
#define TOKEN_FIXED_LEN   (1 + 8 + TOKEN_HASH_LEN + TOKEN_HASH_LEN + 1)
#define TOKEN_RAW_MAX     (TOKEN_FIXED_LEN + STORE_ORDER_ID_MAX + TOKEN_MAC_LEN)
/* Longest token text (base64url of TOKEN_RAW_MAX bytes) without the NUL. */
#define TOKEN_TEXT_MAX    ((TOKEN_RAW_MAX * 4 + 2) / 3)
/* Hex SHA-256 of the token text (the approvals table's token_hash), with NUL. */
#define TOKEN_HASH_HEX    65
#define TOKEN_SECRET_NAME "secret"

struct token {
  int64_t expires_ms;
  unsigned char lines_hash[TOKEN_HASH_LEN];
  unsigned char approver_hash[TOKEN_HASH_LEN];
  char order_id[STORE_ORDER_ID_MAX + 1];
  unsigned char mac[TOKEN_MAC_LEN];
  unsigned char signed_part[TOKEN_FIXED_LEN + STORE_ORDER_ID_MAX]; /* what the MAC covers */
  size_t signed_len;
};

/*
 * The secret's path for a database at storage_path: the same directory,
 * file TOKEN_SECRET_NAME. Returns 0, or -1 when it does not fit.
 */
int token_secret_path(const char *storage_path, char *out, size_t size);

/*
 * Load the secret at path into key, creating it first if missing (32 bytes
 * from the OpenSSL RNG, O_CREAT|O_EXCL, mode 0600, fsynced). Returns 0, or
 * -1 with a sentence in err naming the file and what to do: wider
 * permissions than 0600 (group or others may read or write it), not a
 * regular file, not 32 bytes, or an I/O error. Never logs the contents.
 */
int token_secret_load(const char *path, unsigned char key[TOKEN_KEY_LEN], char *err,
                      size_t errlen);

/* The lines hash of an order's lines, in their order (SHA-256, truncated). */
void token_lines_hash(const struct store_order_line *lines, size_t n,
                      unsigned char out[TOKEN_HASH_LEN]);
/* The approver hash of an address (ASCII case folded, SHA-256, truncated). */
void token_approver_hash(const char *approver, unsigned char out[TOKEN_HASH_LEN]);

/*
 * Make the token text for order_id (1..64 of [A-Za-z0-9._-]), the lines
 * hash, approver and expires_ms (>= 0) into out (size > TOKEN_TEXT_MAX).
 * Returns 0, or -1 (out "") for a bad argument.
 */
int token_make(const unsigned char key[TOKEN_KEY_LEN], const char *order_id,
               const unsigned char lines_hash[TOKEN_HASH_LEN], const char *approver,
               int64_t expires_ms, char *out, size_t size);

/*
 * Parse token text strictly into *t, without checking the signature:
 * base64url alphabet only, no padding, canonical (unused bits zero), the
 * exact length its order id implies, version 1, a valid order id and a
 * non-negative expiry. Reads at most TOKEN_TEXT_MAX + 1 bytes of text.
 * Returns 0, or -1 (then *t is zeroed).
 */
int token_parse(const char *text, struct token *t);

/* Whether t's MAC is right under key (constant-time comparison). */
bool token_verify(const struct token *t, const unsigned char key[TOKEN_KEY_LEN]);

/* Hex SHA-256 of the token text into out (TOKEN_HASH_HEX bytes). */
void token_hash_hex(const char *text, char out[TOKEN_HASH_HEX]);

#endif
