/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dl: a shared library loaded with dlopen() on first use, its functions
 * looked up by name into a table of function pointers (adapters/netio_dl.c
 * for libcurl, adapters/coap_dl.c for libcoap).
 */
#ifndef RS_DL_H
#define RS_DL_H

#include <stdbool.h>
#include <stddef.h>

/* One function: its name in the library, and where its pointer goes in the table. */
struct rs_dl_fn {
  const char *name;
  size_t offset;
};

/* An entry for field of the table type type, looked up as name. */
#define RS_DL_FN(type, field, name) {(name), offsetof(type, field)}

/*
 * Open soname (RTLD_NOW | RTLD_LOCAL) and store each of fns[0..n)'s
 * functions at table + offset (every slot a function pointer). Returns true
 * with every slot filled; the library then stays open for the life of the
 * process. Returns false with a sentence in err ("cannot load SONAME
 * (dlerror's reason)" or "cannot use SONAME: it has no NAME"), the library
 * closed and the table's content unspecified. Logs nothing.
 */
bool rs_dl_load(const char *soname, const struct rs_dl_fn *fns, size_t n, void *table, char *err,
                size_t errlen);

#endif
