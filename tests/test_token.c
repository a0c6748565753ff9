/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Approval tokens (gateway/token.c): round trip, signature, strict parsing,
 * the lines hash and the secret file's creation and refusals.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/rs_util.h"
#include "gateway/token.h"

static const unsigned char KEY[TOKEN_KEY_LEN] = "0123456789abcdef0123456789abcdef";
static const unsigned char KEY2[TOKEN_KEY_LEN] = "0123456789abcdef0123456789abcdeF";

static void lines2(struct store_order_line l[2])
{
  memset(l, 0, 2 * sizeof(*l));
  l[0].sku = (char *)(uintptr_t) "WF-1";
  l[0].quantity = 5;
  l[0].unit_price = 740;
  memcpy(l[0].currency, "EUR", 4);
  l[1].sku = (char *)(uintptr_t) "UV-LAMP";
  l[1].quantity = 1;
  l[1].unit_price = 9900;
  memcpy(l[1].currency, "EUR", 4);
}

static void make(const char *order, const char *approver, int64_t exp, char *out)
{
  struct store_order_line l[2];
  unsigned char lh[TOKEN_HASH_LEN];
  lines2(l);
  token_lines_hash(l, 2, lh);
  assert_int_equal(token_make(KEY, order, lh, approver, exp, out, TOKEN_TEXT_MAX + 1), 0);
}

static void test_round_trip(void **state)
{
  char tok[TOKEN_TEXT_MAX + 1], tok2[TOKEN_TEXT_MAX + 1];
  struct token t;
  struct store_order_line l[2];
  unsigned char lh[TOKEN_HASH_LEN], ah[TOKEN_HASH_LEN];
  size_t i;
  (void)state;
  make("R-20261201-0001-ABC123", "Anna@Example.com", 1796147474000, tok);
  /* URL-safe, no padding */
  for(i = 0; tok[i]; i++)
    assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                           tok[i]));
  assert_true(strlen(tok) <= TOKEN_TEXT_MAX);
  assert_int_equal(token_parse(tok, &t), 0);
  assert_string_equal(t.order_id, "R-20261201-0001-ABC123");
  assert_int_equal(t.expires_ms, 1796147474000);
  lines2(l);
  token_lines_hash(l, 2, lh);
  assert_memory_equal(t.lines_hash, lh, sizeof(lh));
  token_approver_hash("anna@example.COM", ah);
  assert_memory_equal(t.approver_hash, ah, sizeof(ah));
  assert_true(token_verify(&t, KEY));
  assert_false(token_verify(&t, KEY2));
  /* deterministic: a reminder carries the same link */
  make("R-20261201-0001-ABC123", "anna@example.com", 1796147474000, tok2);
  assert_string_equal(tok, tok2);
  /* each field matters */
  make("R-20261201-0001-ABC123", "bob@example.com", 1796147474000, tok2);
  assert_string_not_equal(tok, tok2);
  make("R-20261201-0001-ABC123", "anna@example.com", 1796147474001, tok2);
  assert_string_not_equal(tok, tok2);
  make("R-20261201-0002-ABC123", "anna@example.com", 1796147474000, tok2);
  assert_string_not_equal(tok, tok2);
}

static void test_every_altered_byte_fails(void **state)
{
  char tok[TOKEN_TEXT_MAX + 1], bad[TOKEN_TEXT_MAX + 1];
  size_t i, n;
  (void)state;
  make("R-1", "a@b.example", 42, tok);
  n = strlen(tok);
  for(i = 0; i < n; i++) {
    struct token t;
    memcpy(bad, tok, n + 1);
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    /* either refused by the parser or by the signature, never accepted */
    if(token_parse(bad, &t) == 0 && token_verify(&t, KEY))
      fail_msg("altered byte %zu was accepted", i);
  }
}

static void test_strict_parse(void **state)
{
  char tok[TOKEN_TEXT_MAX + 1], bad[TOKEN_TEXT_MAX + 8];
  struct token t;
  size_t n;
  (void)state;
  make("R-1", "a@b.example", 42, tok);
  n = strlen(tok);
  assert_int_equal(token_parse("", &t), -1);
  assert_int_equal(token_parse("sometoken", &t), -1);
  assert_int_equal(token_parse(NULL, &t), -1);
  /* padding, standard base64 characters, a space, truncation, extension */
  assert_int_equal(rs_snprintf(bad, sizeof(bad), "%s=", tok), 0);
  assert_int_equal(token_parse(bad, &t), -1);
  memcpy(bad, tok, n + 1);
  bad[3] = '+';
  assert_int_equal(token_parse(bad, &t), -1);
  bad[3] = ' ';
  assert_int_equal(token_parse(bad, &t), -1);
  memcpy(bad, tok, n + 1);
  bad[n - 1] = '\0';
  assert_int_equal(token_parse(bad, &t), -1);
  assert_int_equal(rs_snprintf(bad, sizeof(bad), "%sAAAA", tok), 0);
  assert_int_equal(token_parse(bad, &t), -1);
  /* the text is canonical: unused low bits of the last character must be zero */
  memcpy(bad, tok, n + 1);
  if(n % 4) {
    const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t v = (size_t)(strchr(alpha, bad[n - 1]) - alpha);
    bad[n - 1] = alpha[v | 1];
    assert_int_equal(token_parse(bad, &t), -1);
  }
  /* bad arguments to make */
  {
    unsigned char lh[TOKEN_HASH_LEN] = {0};
    char out[TOKEN_TEXT_MAX + 1];
    assert_int_equal(token_make(KEY, "", lh, "a@b", 1, out, sizeof(out)), -1);
    assert_int_equal(token_make(KEY, "a/b", lh, "a@b", 1, out, sizeof(out)), -1);
    assert_int_equal(token_make(KEY, "R-1", lh, "a@b", -1, out, sizeof(out)), -1);
    assert_int_equal(token_make(KEY, "R-1", lh, "a@b", 1, out, 10), -1);
    /* the longest order id fits the router's segment limit (256) */
    assert_int_equal(token_make(KEY,
                                "R-0123456789012345678901234567890123456789012345678901234567890",
                                lh, "a@b", INT64_MAX, out, sizeof(out)),
                     0);
    assert_true(strlen(out) <= 256);
    assert_int_equal(token_parse(out, &t), 0);
    assert_int_equal(t.expires_ms, INT64_MAX);
  }
}

static void test_lines_hash(void **state)
{
  struct store_order_line l[2];
  unsigned char a[TOKEN_HASH_LEN], b[TOKEN_HASH_LEN];
  (void)state;
  lines2(l);
  token_lines_hash(l, 2, a);
  l[0].quantity = 6;
  token_lines_hash(l, 2, b);
  assert_memory_not_equal(a, b, sizeof(a));
  lines2(l);
  l[1].unit_price = 9901;
  token_lines_hash(l, 2, b);
  assert_memory_not_equal(a, b, sizeof(a));
  lines2(l);
  token_lines_hash(l, 1, b);
  assert_memory_not_equal(a, b, sizeof(a));
  /* the order of lines matters */
  {
    struct store_order_line r[2];
    lines2(l);
    r[0] = l[1];
    r[1] = l[0];
    token_lines_hash(r, 2, b);
    assert_memory_not_equal(a, b, sizeof(a));
  }
  lines2(l);
  token_lines_hash(l, 2, b);
  assert_memory_equal(a, b, sizeof(a));
}

static void test_secret_file(void **state)
{
  char dir[64], path[128], err[512];
  unsigned char k1[TOKEN_KEY_LEN], k2[TOKEN_KEY_LEN];
  struct stat sb;
  int fd;
  (void)state;
  assert_int_equal(rs_strlcpy(dir, "/tmp/restock-token-XXXXXX", sizeof(dir)), 0);
  assert_non_null(mkdtemp(dir));
  assert_int_equal(token_secret_path("/var/lib/restock/restock.db", path, sizeof(path)), 0);
  assert_string_equal(path, "/var/lib/restock/secret");
  assert_int_equal(rs_snprintf(path, sizeof(path), "%s/restock.db", dir), 0);
  assert_int_equal(token_secret_path(path, path, sizeof(path)), 0);
  /* created on first load: 0600, 32 bytes; the same key on the next load */
  assert_int_equal(token_secret_load(path, k1, err, sizeof(err)), 0);
  assert_int_equal(stat(path, &sb), 0);
  assert_int_equal(sb.st_mode & 07777, 0600);
  assert_int_equal(sb.st_size, TOKEN_KEY_LEN);
  assert_int_equal(token_secret_load(path, k2, err, sizeof(err)), 0);
  assert_memory_equal(k1, k2, sizeof(k1));
  /* wider permissions: refused with a sentence that says what to do */
  assert_int_equal(chmod(path, 0644), 0);
  assert_int_equal(token_secret_load(path, k2, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "0644"));
  assert_non_null(strstr(err, "chmod 600"));
  assert_int_equal(chmod(path, 0640), 0);
  assert_int_equal(token_secret_load(path, k2, err, sizeof(err)), -1);
  assert_int_equal(chmod(path, 0600), 0);
  /* wrong size */
  fd = open(path, O_WRONLY | O_APPEND);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "x", 1), 1);
  close(fd);
  assert_int_equal(token_secret_load(path, k2, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "32 bytes"));
  assert_int_equal(unlink(path), 0);
  /* a symlink is not followed */
  assert_int_equal(symlink("/etc/hostname", path), 0);
  assert_int_equal(token_secret_load(path, k2, err, sizeof(err)), -1);
  assert_int_equal(unlink(path), 0);
  /* a directory that does not exist: a clear failure */
  assert_int_equal(token_secret_load("/nonexistent-restock/secret", k2, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "/nonexistent-restock/secret"));
  assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),   cmocka_unit_test(test_every_altered_byte_fails),
      cmocka_unit_test(test_strict_parse), cmocka_unit_test(test_lines_hash),
      cmocka_unit_test(test_secret_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
