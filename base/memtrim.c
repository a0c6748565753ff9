/* SPDX-License-Identifier: Apache-2.0 */
/* memtrim: unmap the file pages start-up touched (see memtrim.h). */
#include "base/memtrim.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* One mapping of smaps while it is read. */
struct mapping {
  uintptr_t start, end;
  bool candidate; /* r-?p with a path: unmapped when it has no anonymous page */
  bool anon;      /* Anonymous: > 0 or Swap: > 0 (a page of its own, resident or swapped) */
  size_t rss_kb;
};

static size_t finish(const struct mapping *m,
                     void (*drop)(void *arg, uintptr_t start, size_t len, size_t rss_kb), void *arg)
{
  if(!m->candidate || m->anon || !m->rss_kb || m->end <= m->start)
    return 0;
  drop(arg, m->start, m->end - m->start, m->rss_kb);
  return 1;
}

/* A mapping's header: "START-END PERMS OFFSET DEV INODE [PATH]". */
static bool header(const char *line, struct mapping *m)
{
  uintmax_t s, e;
  char perms[5];
  int path = 0;
  if(!isxdigit((unsigned char)line[0]) || isupper((unsigned char)line[0]))
    return false;
  if(sscanf(line, "%jx-%jx %4s %*s %*s %*s %n", &s, &e, perms, &path) < 3 || !path)
    return false;
  memset(m, 0, sizeof(*m));
  m->start = (uintptr_t)s;
  m->end = (uintptr_t)e;
  m->candidate = strlen(perms) == 4 && perms[0] == 'r' && perms[1] == '-' && perms[3] == 'p' &&
                 line[path] == '/';
  return true;
}

/* The kB of a "Name:   N kB" line of a mapping. */
static size_t field_kb(const char *line, const char *name)
{
  size_t n = strlen(name);
  unsigned long long kb;
  if(strncmp(line, name, n) || line[n] != ':' || sscanf(line + n + 1, "%llu", &kb) != 1)
    return 0;
  return (size_t)kb;
}

size_t memtrim_scan(FILE *smaps, void (*drop)(void *arg, uintptr_t start, size_t len, size_t rss_kb),
                    void *arg)
{
  struct mapping m = {0};
  char *line = NULL;
  size_t cap = 0, n = 0;
  while(getline(&line, &cap, smaps) > 0) {
    struct mapping next;
    if(header(line, &next)) {
      n += finish(&m, drop, arg);
      m = next;
    } else if(!strncmp(line, "Anonymous:", 10)) {
      m.anon = m.anon || field_kb(line, "Anonymous") > 0;
    } else if(!strncmp(line, "Swap:", 5)) {
      m.anon = m.anon || field_kb(line, "Swap") > 0; /* MADV_DONTNEED would drop it */
    } else if(!strncmp(line, "Rss:", 4)) {
      m.rss_kb = field_kb(line, "Rss");
    }
  }
  n += finish(&m, drop, arg);
  free(line);
  return n;
}

static void drop_pages(void *arg, uintptr_t start, size_t len, size_t rss_kb)
{
  size_t *kb = arg;
  if(!madvise((void *)start, len, MADV_DONTNEED))
    *kb += rss_kb;
}

size_t memtrim_file_pages(void)
{
  FILE *f = fopen("/proc/self/smaps", "re");
  size_t kb = 0;
  if(!f)
    return 0;
  (void)memtrim_scan(f, drop_pages, &kb);
  fclose(f);
  return kb;
}
