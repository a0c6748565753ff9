/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keyfile: secret key files (see keyfile.h).
 */
#include "base/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/rs_util.h"

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

/* Create the key file at path with O_EXCL; 0, 1 when it appeared meanwhile, -1 (err). */
static int create_key(const char *path, const char *what, size_t len, char *err, size_t errlen)
{
  unsigned char *key = rs_xcalloc(1, len);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  int rc = -1;
  if(fd < 0) {
    free(key);
    if(errno == EEXIST)
      return 1;
    (void)rs_snprintf(err, errlen, "cannot create the %s %s: %s", what, path, strerror(errno));
    return -1;
  }
  if(rs_random(key, len)) {
    (void)rs_snprintf(err, errlen, "cannot create the %s %s: no random bytes", what, path);
    goto out;
  }
  if(write_all(fd, key, len) || fsync(fd)) {
    (void)rs_snprintf(err, errlen, "cannot write the %s %s: %s", what, path, strerror(errno));
    goto out;
  }
  rc = 0;
out:
  explicit_bzero(key, len);
  free(key);
  if(close(fd) && !rc) {
    (void)rs_snprintf(err, errlen, "cannot write the %s %s: %s", what, path, strerror(errno));
    rc = -1;
  }
  if(rc)
    (void)unlink(path); /* a half-written key would be refused at every start */
  return rc;
}

int keyfile_load(const char *path, const char *what, unsigned char *key, size_t len, char *err,
                 size_t errlen)
{
  struct stat sb;
  int fd = -1, rc = -1, tries;
  size_t got = 0;
  unsigned char extra;

  if(!path || !*path) {
    (void)rs_snprintf(err, errlen, "no path for the %s", what);
    return -1;
  }
  for(tries = 0; tries < 3; tries++) {
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if(fd >= 0 || errno != ENOENT)
      break;
    if(create_key(path, what, len, err, errlen) < 0)
      return -1;
  }
  if(fd < 0) {
    (void)rs_snprintf(err, errlen, "cannot open the %s %s: %s", what, path, strerror(errno));
    return -1;
  }
  if(fstat(fd, &sb)) {
    (void)rs_snprintf(err, errlen, "cannot stat the %s %s: %s", what, path, strerror(errno));
    goto out;
  }
  if(!S_ISREG(sb.st_mode)) {
    (void)rs_snprintf(err, errlen, "the %s %s is not a regular file", what, path);
    goto out;
  }
  if(sb.st_mode & 077) {
    (void)rs_snprintf(err, errlen,
                      "the %s %s has mode %04o: group and others must have no access (run: "
                      "chmod 600 %s)",
                      what, path, (unsigned)(sb.st_mode & 07777), path);
    goto out;
  }
  while(got < len) {
    ssize_t r = read(fd, key + got, len - got);
    if(r < 0 && errno == EINTR)
      continue;
    if(r <= 0)
      break;
    got += (size_t)r;
  }
  if(got != len || read(fd, &extra, 1) != 0) {
    explicit_bzero(key, len);
    rc = -2;
    goto out;
  }
  rc = 0;
out:
  close(fd);
  return rc;
}

int keyfile_read_line(const char *dir, const char *file, const char *prefix, char *buf, size_t size,
                      char *err, size_t errlen)
{
  char path[4096];
  size_t len = 0;
  ssize_t n;
  int fd, e;
  if(file[0] != '/' && dir)
    (void)rs_snprintf(path, sizeof(path), "%s/%s", dir, file);
  else
    (void)rs_strlcpy(path, file, sizeof(path));
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if(fd < 0) {
    e = errno;
    if(err)
      (void)rs_snprintf(err, errlen, "%scannot read %s: %s", prefix, path, strerror(e));
    errno = e;
    return -1;
  }
  while(len + 1 < size && (n = read(fd, buf + len, size - 1 - len)) > 0)
    len += (size_t)n;
  close(fd);
  while(len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
    len--;
  if(!len || memchr(buf, '\n', len) || memchr(buf, '\0', len)) {
    explicit_bzero(buf, size);
    if(err)
      (void)rs_snprintf(err, errlen, "%s%s must hold one non-empty line", prefix, path);
    return -2;
  }
  buf[len] = '\0';
  return 0;
}
