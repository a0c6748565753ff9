/* SPDX-License-Identifier: Apache-2.0 */
/*
 * token: signed approval links and the gateway secret (see token.h).
 */
#include "gateway/token.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "base/rs_util.h"

static const char MAC_DOMAIN[] = "restock-approval\n";
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

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

/* Write all of buf to fd; 0 or -1 (errno set). */
static int write_all(int fd, const unsigned char *buf, size_t n)
{
  while(n) {
    ssize_t w = write(fd, buf, n);
    if(w < 0) {
      if(errno == EINTR)
        continue;
      return -1;
    }
    buf += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Create the secret file at path with O_EXCL; 0, 1 when it appeared meanwhile, -1 (err). */
static int create_secret(const char *path, char *err, size_t errlen)
{
  unsigned char key[TOKEN_KEY_LEN];
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  int rc = -1;
  if(fd < 0) {
    if(errno == EEXIST)
      return 1;
    (void)rs_snprintf(err, errlen, "cannot create the approval secret %s: %s", path,
                      strerror(errno));
    return -1;
  }
  if(RAND_bytes(key, sizeof(key)) != 1) {
    (void)rs_snprintf(err, errlen, "cannot create the approval secret %s: no random bytes",
                      path);
    goto out;
  }
  if(write_all(fd, key, sizeof(key)) || fsync(fd)) {
    (void)rs_snprintf(err, errlen, "cannot write the approval secret %s: %s", path,
                      strerror(errno));
    goto out;
  }
  rc = 0;
out:
  OPENSSL_cleanse(key, sizeof(key));
  if(close(fd) && !rc) {
    (void)rs_snprintf(err, errlen, "cannot write the approval secret %s: %s", path,
                      strerror(errno));
    rc = -1;
  }
  if(rc)
    (void)unlink(path); /* a half-written secret would be refused at every start */
  return rc;
}

int token_secret_load(const char *path, unsigned char key[TOKEN_KEY_LEN], char *err,
                      size_t errlen)
{
  struct stat sb;
  int fd = -1, rc = -1, tries;
  size_t got = 0;
  unsigned char extra;

  if(!path || !*path) {
    (void)rs_strlcpy(err, "no path for the approval secret", errlen);
    return -1;
  }
  for(tries = 0; tries < 3; tries++) {
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if(fd >= 0 || errno != ENOENT)
      break;
    rc = create_secret(path, err, errlen);
    if(rc < 0)
      return -1;
    rc = -1;
  }
  if(fd < 0) {
    (void)rs_snprintf(err, errlen, "cannot open the approval secret %s: %s", path,
                      strerror(errno));
    return -1;
  }
  if(fstat(fd, &sb)) {
    (void)rs_snprintf(err, errlen, "cannot stat the approval secret %s: %s", path,
                      strerror(errno));
    goto out;
  }
  if(!S_ISREG(sb.st_mode)) {
    (void)rs_snprintf(err, errlen, "the approval secret %s is not a regular file", path);
    goto out;
  }
  if(sb.st_mode & 077) {
    (void)rs_snprintf(err, errlen,
                      "the approval secret %s has mode %04o: group and others must have no "
                      "access (run: chmod 600 %s)",
                      path, (unsigned)(sb.st_mode & 07777), path);
    goto out;
  }
  while(got < TOKEN_KEY_LEN) {
    ssize_t r = read(fd, key + got, TOKEN_KEY_LEN - got);
    if(r < 0 && errno == EINTR)
      continue;
    if(r <= 0)
      break;
    got += (size_t)r;
  }
  if(got != TOKEN_KEY_LEN || read(fd, &extra, 1) != 0) {
    (void)rs_snprintf(err, errlen,
                      "the approval secret %s is not exactly %d bytes (remove it to make a new "
                      "one; links already mailed stop working)",
                      path, TOKEN_KEY_LEN);
    OPENSSL_cleanse(key, TOKEN_KEY_LEN);
    goto out;
  }
  rc = 0;
out:
  close(fd);
  return rc;
}

/* ---- hashes ------------------------------------------------------------- */

/* SHA-256 of data, the first TOKEN_HASH_LEN bytes into out (zeros if OpenSSL fails). */
static void sha_trunc(const void *data, size_t n, unsigned char out[TOKEN_HASH_LEN])
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  memset(out, 0, TOKEN_HASH_LEN);
  if(EVP_Digest(data, n, md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen >= TOKEN_HASH_LEN)
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
  static const char digits[] = "0123456789abcdef";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0, i;
  out[0] = '\0';
  if(EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
    return;
  for(i = 0; i < mdlen; i++) {
    out[2 * i] = digits[md[i] >> 4];
    out[2 * i + 1] = digits[md[i] & 15];
  }
  out[64] = '\0';
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

/* base64url of in[0..n) without padding into out (size > 4n/3 + 1). */
static void b64url(const unsigned char *in, size_t n, char *out)
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

/*
 * Decode canonical unpadded base64url text[0..n) into out (size >= 3n/4).
 * Returns the byte count, or -1 for a bad character, a length of 1 mod 4, or
 * non-zero unused bits.
 */
static long b64url_decode(const char *text, size_t n, unsigned char *out)
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

static void mac_of(const unsigned char key[TOKEN_KEY_LEN], const unsigned char *part, size_t n,
                   unsigned char out[TOKEN_MAC_LEN])
{
  unsigned char msg[sizeof(MAC_DOMAIN) - 1 + TOKEN_FIXED_LEN + STORE_ORDER_ID_MAX];
  unsigned int len = 0;
  memset(out, 0, TOKEN_MAC_LEN);
  if(n > TOKEN_FIXED_LEN + STORE_ORDER_ID_MAX)
    return;
  memcpy(msg, MAC_DOMAIN, sizeof(MAC_DOMAIN) - 1);
  memcpy(msg + sizeof(MAC_DOMAIN) - 1, part, n);
  if(!HMAC(EVP_sha256(), key, TOKEN_KEY_LEN, msg, sizeof(MAC_DOMAIN) - 1 + n, out, &len) ||
     len != TOKEN_MAC_LEN)
    memset(out, 0, TOKEN_MAC_LEN);
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
  b64url(raw, len + TOKEN_MAC_LEN, out);
  OPENSSL_cleanse(raw, sizeof(raw));
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
  got = b64url_decode(text, n, raw);
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
  ok = CRYPTO_memcmp(want, t->mac, TOKEN_MAC_LEN) == 0;
  OPENSSL_cleanse(want, sizeof(want));
  return ok;
}
