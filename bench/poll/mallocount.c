/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/poll: an LD_PRELOAD shim that counts a process's malloc, calloc and
 * realloc calls and prints "ALLOCS N" on stderr at exit, to see what a code
 * path allocates per call (docs/BENCHMARKS.md: a Modbus device that fails
 * at every poll). Not for ASan builds (they bring their own allocator).
 *   LD_PRELOAD=BUILD/bench/poll/libmallocount.so PROGRAM ...
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void *malloc(size_t n);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t n);

static atomic_ulong n_allocs;

void *malloc(size_t n)
{
  atomic_fetch_add(&n_allocs, 1);
  return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
  atomic_fetch_add(&n_allocs, 1);
  return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
  atomic_fetch_add(&n_allocs, 1);
  return __libc_realloc(p, n);
}

__attribute__((destructor)) static void mallocount_report(void)
{
  fprintf(stderr, "ALLOCS %lu\n", (unsigned long)atomic_load(&n_allocs));
}
