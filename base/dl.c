/* SPDX-License-Identifier: Apache-2.0 */
#include "base/dl.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

bool rs_dl_load(const char *soname, const struct rs_dl_fn *fns, size_t n, void *table, char *err,
                size_t errlen)
{
  void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if(!h) {
    const char *why = dlerror();
    (void)snprintf(err, errlen, "cannot load %s (%s)", soname, why ? why : "unknown reason");
    return false;
  }
  for(size_t i = 0; i < n; i++) {
    void *p = dlsym(h, fns[i].name);
    if(!p) {
      (void)snprintf(err, errlen, "cannot use %s: it has no %s", soname, fns[i].name);
      (void)dlclose(h);
      return false;
    }
    /* POSIX: a dlsym() result converts to a function pointer of the slot's type */
    memcpy((char *)table + fns[i].offset, &p, sizeof(p));
  }
  return true; /* h stays open */
}
