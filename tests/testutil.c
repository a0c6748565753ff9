/* SPDX-License-Identifier: Apache-2.0 */
/* testutil: see testutil.h. */
#include "tests/testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/rs_util.h"

/* Append everything f yields to a new NUL-terminated string. */
static char *read_all(FILE *f)
{
  struct rs_buf b = {0};
  char chunk[4096];
  size_t n;
  rs_buf_puts(&b, "");
  while((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
    rs_buf_append(&b, chunk, n);
  return b.data;
}

char *tu_read_file(const char *path)
{
  FILE *f = fopen(path, "r");
  char *text;
  assert_non_null(f);
  text = read_all(f);
  fclose(f);
  return text;
}

char *tu_command_output(const char *cmd)
{
  FILE *p = popen(cmd, "r");
  char *text;
  assert_non_null(p);
  text = read_all(p);
  assert_int_equal(pclose(p), 0);
  return text;
}

json_t *tu_command_json(const char *cmd)
{
  char *out = tu_command_output(cmd);
  json_t *j = json_loads(out, 0, NULL);
  free(out);
  assert_non_null(j);
  return j;
}

void tu_copy_file(const char *from, const char *to, mode_t mode)
{
  FILE *in = fopen(from, "rb"), *out;
  char chunk[4096];
  size_t n;
  assert_non_null(in);
  out = fopen(to, "wb");
  assert_non_null(out);
  while((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
    assert_int_equal(fwrite(chunk, 1, n, out), n);
  fclose(in);
  assert_int_equal(fclose(out), 0);
  assert_int_equal(chmod(to, mode), 0);
}

int tu_count_reading(void *ud, const char *device, const char *point, int64_t time_ms,
                     double value)
{
  (void)device;
  (void)point;
  (void)time_ms;
  (void)value;
  (*(size_t *)ud)++;
  return 0;
}

void tu_remove_state_dir(const char *dir)
{
  static const char *const names[] = {"restock.db", "restock.db-wal", "restock.db-shm", "log"};
  char path[512];
  size_t i;
  for(i = 0; i < RS_ARRAY_LEN(names); i++)
    if(!rs_snprintf(path, sizeof(path), "%s/%s", dir, names[i]))
      unlink(path);
  rmdir(dir);
}
