/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test helper: `modbus_encode_tool TYPE ENDIAN VALUE` prints the registers
 * adapters/modbus_codec encodes VALUE into (decimal, space-separated, in
 * address order), for interop tests against independent Modbus peers.
 * `modbus_encode_tool -d TYPE ENDIAN REG...` decodes registers and prints
 * the JSON value. Exit 0 on success, 1 on a codec error, 2 on bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/modbus_codec.h"
#include "base/rs_util.h"

static const char *const types[] = {"bool",  "int16",  "uint16",  "int32",  "uint32",
                                    "int64", "uint64", "float32", "float64"};
static const char *const endians[] = {"ABCD", "DCBA", "BADC", "CDAB"};

static int lookup(const char *s, const char *const *names, size_t n)
{
  size_t i;

  for(i = 0; i < n; i++)
    if(!strcmp(s, names[i]))
      return (int)i;
  return -1;
}

int main(int argc, char **argv)
{
  bool decode = argc > 1 && !strcmp(argv[1], "-d");
  char **a = argv + (decode ? 2 : 1);
  int na = argc - (decode ? 2 : 1);
  int t, e, i;
  uint16_t regs[4] = {0};
  struct codec_value v;
  char err[CODEC_ERR_MAX], num[32];
  enum codec_err rc;

  if(na < 3)
    goto usage;
  t = lookup(a[0], types, RS_ARRAY_LEN(types));
  e = lookup(a[1], endians, RS_ARRAY_LEN(endians));
  if(t < 0 || e < 0)
    goto usage;
  if(decode) {
    for(i = 2; i < na && i < 6; i++) {
      int64_t r;

      if(rs_parse_i64(a[i], true, 0, 65535, &r))
        goto usage;
      regs[i - 2] = (uint16_t)r;
    }
    rc = mbc_decode_raw((enum cfg_vtype)t, (enum cfg_endian)e, -1, regs, (size_t)(na - 2), &v, err,
                        sizeof(err));
    if(rc) {
      fprintf(stderr, "%s: %s\n", codec_strerror(rc), err);
      return 1;
    }
    (void)codec_format_value(&v, num, sizeof(num));
    printf("%s\n", num);
    return 0;
  }
  if(a[2][0] != '-' && strchr(a[2], '.') == NULL && strchr(a[2], 'e') == NULL) {
    char *end;

    v.kind = CODEC_V_UINT;
    v.v.u = strtoull(a[2], &end, 10);
    if(*end)
      goto usage;
  }
  else if(rs_parse_i64(a[2], false, INT64_MIN, INT64_MAX, &v.v.i) == 0)
    v.kind = CODEC_V_INT;
  else if(rs_parse_double(a[2], &v.v.d) == 0)
    v.kind = CODEC_V_DOUBLE;
  else
    goto usage;
  rc = mbc_encode_raw((enum cfg_vtype)t, (enum cfg_endian)e, -1, &v, regs, 4, err, sizeof(err));
  if(rc) {
    fprintf(stderr, "%s: %s\n", codec_strerror(rc), err);
    return 1;
  }
  for(i = 0; i < (int)cfg_vtype_width((enum cfg_vtype)t); i++)
    printf("%s%u", i ? " " : "", (unsigned)regs[i]);
  printf("\n");
  return 0;
usage:
  fprintf(stderr, "usage: modbus_encode_tool [-d] TYPE ENDIAN VALUE|REG...\n");
  return 2;
}
