/* SPDX-License-Identifier: Apache-2.0 */
/*
 * memtrim: unmap the program's and its libraries' file pages that start-up
 * touched (RSS, docs/architecture.md "Where RSS goes").
 *
 * A page of code or read-only data that a process reads is mapped into it
 * and counts in its RSS until the process exits; the kernel maps up to 16
 * pages around each one read (fault-around). Loading the config (libyaml,
 * the config loader), opening the database (SQLite's schema code) and the
 * like leave ~2.5 MB of such pages in restockd that it never reads again.
 * MADV_DONTNEED on a read-only private file mapping takes its pages out of
 * this process only: they stay in the page cache (shared with any other
 * process mapping the same file), and a page read again is mapped again by
 * a minor fault, from the same file, with the same bytes. A mapping with
 * a page of its own (Anonymous > 0: relocated data made read-only after
 * relocation, a text relocation; or Swap > 0: such a page swapped out) is
 * left alone: dropping it would lose what was written there.
 */
#ifndef RS_MEMTRIM_H
#define RS_MEMTRIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Read smaps (the format of /proc/PID/smaps) and call drop(arg, start, len,
 * rss_kb) for each mapping that is readable, not writable, private, of a file
 * (a path), has resident pages and no anonymous page (resident or
 * swapped). Returns the number of mappings passed to drop.
 */
size_t memtrim_scan(FILE *smaps, void (*drop)(void *arg, uintptr_t start, size_t len, size_t rss_kb),
                    void *arg);

/*
 * memtrim_scan() of /proc/self/smaps with madvise(MADV_DONTNEED) for each
 * mapping. Returns the kB unmapped (their RSS before), 0 when smaps cannot
 * be read. Call it from the main thread once start-up (or a reload) is done.
 */
size_t memtrim_file_pages(void);

#endif
