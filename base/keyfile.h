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

#endif
