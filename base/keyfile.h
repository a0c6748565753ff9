/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keyfile: a secret key kept in a file of its own: exactly len random bytes,
 * made on first use (O_EXCL, mode 0600, fsync'd), refused when it is not a
 * regular file, when group or others have any access, or when its size is
 * wrong. The key never reaches a log line or an error message.
 */
#ifndef RS_KEYFILE_H
#define RS_KEYFILE_H

#include <stddef.h>

/*
 * Read the key at path into key[0..len), making the file first when it does
 * not exist. what names the key in error sentences ("approval secret").
 * Returns 0; -1 with a sentence in err; -2 when the file is not exactly len
 * bytes (err untouched: the caller says what to do about it).
 */
int keyfile_load(const char *path, const char *what, unsigned char *key, size_t len, char *err,
                 size_t errlen);

/*
 * Read a secret kept as one line of text (a password file: file, relative
 * to dir when dir is given and file is not absolute) into buf (size bytes):
 * 0 with the line, trailing CR/LF dropped. -1 when it cannot be opened
 * (errno says why), -2 when it does not hold one non-empty line (buf
 * cleared); then err (when given) says so, after prefix: "cannot read PATH:
 * why" or "PATH must hold one non-empty line". The caller clears buf.
 */
int keyfile_read_line(const char *dir, const char *file, const char *prefix, char *buf, size_t size,
                      char *err, size_t errlen);

#endif
