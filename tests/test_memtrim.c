/* SPDX-License-Identifier: Apache-2.0 */
/*
 * base/memtrim: which mappings of a smaps listing are unmapped (read-only,
 * private, of a file, resident, no anonymous page), and on this process: a
 * read-only file mapping loses its resident pages and reads the same bytes
 * again; a private mapping written and then made read-only (like relocated
 * data under RELRO) keeps its pages and what was written.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/memtrim.h"

struct seen {
  uintptr_t start[16];
  size_t len[16], rss[16], n;
};

static void collect(void *arg, uintptr_t start, size_t len, size_t rss_kb)
{
  struct seen *s = arg;
  assert_true(s->n < 16);
  s->start[s->n] = start;
  s->len[s->n] = len;
  s->rss[s->n++] = rss_kb;
}

#define MAP(range, perms, path, rss, anon)                                                      \
  range " " perms " 00000000 08:01 1234                       " path "\n"                     \
  "Size:                 16 kB\nKernelPageSize:        4 kB\nRss:                 " rss " kB\n" \
  "Pss:                  4 kB\nAnonymous:             " anon " kB\nAnonHugePages:         0 kB\n"  \
  "VmFlags: rd mr mw me\n"

static void test_scan_picks(void **state)
{
  static const char smaps[] =
    MAP("1000-5000", "r--p", "/usr/sbin/restockd", "8", "0")           /* yes */
    MAP("5000-9000", "r-xp", "/usr/lib/libc.so.6", "16", "0")          /* yes */
    MAP("9000-a000", "r--p", "/usr/lib/libc.so.6", "4", "4")           /* RELRO: written */
    MAP("a000-b000", "rw-p", "/usr/lib/libc.so.6", "4", "0")           /* writable */
    MAP("b000-c000", "rw-p", "[heap]", "4", "4")                       /* no file */
    MAP("c000-d000", "r-xp", "[vdso]", "4", "0")                       /* no file */
    MAP("d000-e000", "r--s", "/var/lib/restock/db-shm", "4", "0")      /* shared */
    MAP("e000-f000", "r-xp", "/usr/lib/libyaml.so", "0", "0")          /* not resident */
    MAP("f000-10000", "---p", "/usr/lib/libm.so.6", "0", "0")          /* no access */
    "10000-12000 r-xp 00000000 08:01 99 /usr/lib/with space.so\nRss: 8 kB\nAnonymous: 0 kB\n"
    "12000-13000 r--p 00000000 00:00 0 \nRss: 4 kB\nAnonymous: 0 kB\n"; /* anonymous, r-- */
  struct seen s = {0};
  FILE *f = fmemopen((void *)(uintptr_t)smaps, sizeof(smaps) - 1, "r");
  (void)state;
  assert_non_null(f);
  assert_int_equal(memtrim_scan(f, collect, &s), 3);
  fclose(f);
  assert_int_equal(s.n, 3);
  assert_true(s.start[0] == 0x1000 && s.len[0] == 0x4000 && s.rss[0] == 8);
  assert_true(s.start[1] == 0x5000 && s.len[1] == 0x4000 && s.rss[1] == 16);
  assert_true(s.start[2] == 0x10000 && s.len[2] == 0x2000 && s.rss[2] == 8);
}

/* The Rss (kB) of the mapping starting at p in /proc/self/smaps; -1 when there is none. */
/*
 * A page of its own that was swapped out is not Anonymous (resident) but Swap:
 * MADV_DONTNEED would drop the swap entry and the page would read the file's
 * bytes again (a relocated RELRO page: the unrelocated GOT). Such a mapping is
 * left alone.
 */
static void test_scan_swapped(void **state)
{
  static const char smaps[] =
    "1000-3000 r--p 00001000 08:01 1234 /usr/lib/libyaml.so\nRss: 4 kB\nAnonymous: 0 kB\n"
    "Swap: 4 kB\nSwapPss: 4 kB\nVmFlags: rd mr mw me\n" /* RELRO, its written page swapped */
    "3000-5000 r--p 00003000 08:01 1234 /usr/lib/libyaml.so\nRss: 8 kB\nAnonymous: 0 kB\n"
    "Swap: 0 kB\nSwapPss: 0 kB\nVmFlags: rd mr mw me\n"; /* never written */
  struct seen s = {0};
  FILE *f = fmemopen((void *)(uintptr_t)smaps, sizeof(smaps) - 1, "r");
  (void)state;
  assert_non_null(f);
  assert_int_equal(memtrim_scan(f, collect, &s), 1);
  fclose(f);
  assert_true(s.n == 1 && s.start[0] == 0x3000 && s.len[0] == 0x2000);
}

static long rss_of(const void *p)
{
  FILE *f = fopen("/proc/self/smaps", "r");
  char line[4096];
  bool in = false;
  long kb = -1;
  assert_non_null(f);
  while(fgets(line, sizeof(line), f)) {
    uintmax_t s, e;
    if(sscanf(line, "%jx-%jx ", &s, &e) == 2 && strchr(line, '-') < strchr(line, ' ')) {
      in = (uintptr_t)s == (uintptr_t)p;
      continue;
    }
    if(in && !strncmp(line, "Rss:", 4)) {
      kb = strtol(line + 4, NULL, 10);
      break;
    }
  }
  fclose(f);
  return kb;
}

static void test_live(void **state)
{
  enum { PAGES = 8 };
  char path[] = "/tmp/test_memtrim_XXXXXX";
  long page = sysconf(_SC_PAGESIZE);
  size_t len = (size_t)page * PAGES, i;
  unsigned char *want = malloc(len), *ro, *relro;
  volatile unsigned sum = 0;
  int fd = mkstemp(path);
  (void)state;
  assert_true(fd >= 0 && want);
  for(i = 0; i < len; i++)
    want[i] = (unsigned char)(i * 7 + i / 4096);
  assert_int_equal(write(fd, want, len), (ssize_t)len);
  ro = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
  relro = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  assert_true(ro != MAP_FAILED && relro != MAP_FAILED);
  unlink(path);
  close(fd);
  for(i = 0; i < len; i += (size_t)page)
    sum += ro[i];
  memset(relro, 0xA5, len); /* its pages are its own now, then read-only */
  assert_int_equal(mprotect(relro, len, PROT_READ), 0);
  assert_true(rss_of(ro) >= (long)(len / 1024));
  assert_true(rss_of(relro) >= (long)(len / 1024));

  assert_true(memtrim_file_pages() >= len / 1024);
  assert_int_equal(rss_of(ro), 0); /* unmapped from this process */
  assert_true(rss_of(relro) >= (long)(len / 1024)); /* kept */
  assert_memory_equal(ro, want, len); /* mapped again from the file, the same bytes */
  for(i = 0; i < len; i++)
    assert_int_equal(relro[i], 0xA5);
  (void)sum;
  munmap(ro, len);
  munmap(relro, len);
  free(want);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_scan_picks),
    cmocka_unit_test(test_scan_swapped),
    cmocka_unit_test(test_live),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
