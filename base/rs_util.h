/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rs_util: the small base every layer of restock uses — freeing, checked
 * number parsing, a growable string buffer and an arena for data with one
 * owner (a loaded configuration). No YAML, no I/O, no clock.
 */
#ifndef RS_UTIL_H
#define RS_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Free a pointer and set it to NULL in one step (never `if(p) free(p)`). */
#define FREE_NULL(p) \
  do {               \
    free(p);         \
    (p) = NULL;      \
  } while(0)

#define RS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Take node n out of an intrusive doubly linked list whose first node is
 * head; prev and next name n's link members. n itself is not freed.
 */
#define RS_DLIST_UNLINK(head, n, prev, next)                                                       \
  do {                                                                                             \
    if((n)->prev)                                                                                  \
      (n)->prev->next = (n)->next;                                                                 \
    else                                                                                           \
      (head) = (n)->next;                                                                          \
    if((n)->next)                                                                                  \
      (n)->next->prev = (n)->prev;                                                                 \
  } while(0)

/*
 * An intrusive queue (first node head, last node tail, link member next):
 * RS_QUEUE_PUSH appends node n; RS_QUEUE_SHIFT takes off n, the first
 * node, and clears its link.
 */
#define RS_QUEUE_PUSH(head, tail, n, next)                                                         \
  do {                                                                                             \
    (n)->next = NULL;                                                                              \
    if(tail)                                                                                       \
      (tail)->next = (n);                                                                          \
    else                                                                                           \
      (head) = (n);                                                                                \
    (tail) = (n);                                                                                  \
  } while(0)
#define RS_QUEUE_SHIFT(head, tail, n, next)                                                        \
  do {                                                                                             \
    (head) = (n)->next;                                                                            \
    if(!(head))                                                                                    \
      (tail) = NULL;                                                                               \
    (n)->next = NULL;                                                                              \
  } while(0)

#if defined(__GNUC__)
#define RS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define RS_PRINTF(f, a)
#endif

/*
 * Parse a whole string as a signed decimal integer (or hex with 0x when
 * allow_hex) within [min, max]. Leading/trailing spaces, '+', '_' and
 * leading zeros ("0120") are refused. Returns 0 and sets *out, or -1 with
 * *out untouched.
 */
int rs_parse_i64(const char *s, bool allow_hex, int64_t min, int64_t max, int64_t *out);

/*
 * Parse a whole string as a finite decimal float (optional sign, fraction
 * and exponent; no hex, inf or nan). Returns 0 and sets *out, or -1.
 */
int rs_parse_double(const char *s, double *out);

/* snprintf that reports truncation: returns 0 when it fit, -1 otherwise. */
int rs_snprintf(char *buf, size_t size, const char *fmt, ...) RS_PRINTF(3, 4);

/* The value of hex digit c (0-9, a-f, A-F), or -1. */
int rs_hexval(int c);

/* Days since 1970-01-01 of a proleptic Gregorian date y-m-d (m 1-12). */
int64_t rs_days_from_civil(int64_t y, int64_t m, int64_t d);

/* Copy src into dst of size n, always terminated; -1 when truncated. */
int rs_strlcpy(char *dst, const char *src, size_t n);

/*
 * The closest candidate to word among a NULL-terminated list, or NULL when
 * none is close enough to be a plausible misspelling.
 */
const char *rs_did_you_mean(const char *word, const char *const *candidates);

/* Growable NUL-terminated string. Zero-initialise before use. */
struct rs_buf {
  char *data;
  size_t len;
  size_t cap;
  bool oom; /* set once an allocation failed; later appends are ignored */
};
void rs_buf_append(struct rs_buf *b, const char *s, size_t n);
void rs_buf_puts(struct rs_buf *b, const char *s);
void rs_buf_printf(struct rs_buf *b, const char *fmt, ...) RS_PRINTF(2, 3);
void rs_buf_vprintf(struct rs_buf *b, const char *fmt, va_list ap) RS_PRINTF(2, 0);
/* The formatted text in a malloc'd string; NULL when out of memory (or for ""). */
char *rs_vstrdupf(const char *fmt, va_list ap) RS_PRINTF(1, 0);
void rs_buf_free(struct rs_buf *b);

/* A list of malloc'd strings (reasons, alerts). Zero-initialise. */
struct rs_strv {
  char **v;
  size_t n;
};
/* Append the formatted text (dropped when out of memory). */
void rs_strv_add(struct rs_strv *s, const char *fmt, ...) RS_PRINTF(2, 3);
void rs_strv_free(struct rs_strv *s);
/* The strings joined with sep ("a; b; c"), malloc'd; "" for none or out of memory. */
char *rs_strv_join(const struct rs_strv *s, const char *sep);

/*
 * Arena: many small allocations freed together. Allocation failure aborts
 * the process with a message (a gateway out of memory cannot go on safely),
 * so callers need not check.
 */
struct rs_arena;
struct rs_arena *rs_arena_new(void);
/* An arena whose chunks are chunk bytes (rs_arena_new: 16 KiB). */
struct rs_arena *rs_arena_new_sized(size_t chunk);
void rs_arena_free(struct rs_arena *a);
void *rs_arena_alloc(struct rs_arena *a, size_t size); /* zeroed, 16-aligned */
/* Zeroed, aligned to align (a power of two up to 16): no rounding beyond it (RSS). */
void *rs_arena_alloc_aligned(struct rs_arena *a, size_t size, size_t align);
/* Strings are packed: no alignment, no rounding (RSS: ids of thousands of points). */
char *rs_arena_strdup(struct rs_arena *a, const char *s);
char *rs_arena_strndup(struct rs_arena *a, const char *s, size_t n);
char *rs_arena_printf(struct rs_arena *a, const char *fmt, ...) RS_PRINTF(2, 3);
/*
 * A point in an arena's life: rs_arena_rewind() frees everything allocated
 * after rs_arena_mark() took it (the chunks added since go back to malloc),
 * so a loop can reuse the same memory for each of its items. Nothing
 * allocated after the mark may be used after the rewind.
 */
struct rs_arena_mark {
  void *head, *next; /* the head chunk then and the one after it (opaque) */
  size_t used;       /* bytes used in the head chunk then */
};
void rs_arena_mark(const struct rs_arena *a, struct rs_arena_mark *m);
void rs_arena_rewind(struct rs_arena *a, const struct rs_arena_mark *m);

/* Aborting allocators for code outside an arena. */
void *rs_xmalloc(size_t n);
/*
 * Fill buf with n bytes from the kernel's CSPRNG (getrandom(2), blocking
 * only before the pool is first seeded). Returns 0, or -1 with errno set.
 * Used instead of OpenSSL's RAND_bytes(), whose first call sets up the
 * provider machinery (about 2 MB of RSS: docs/BENCHMARKS.md).
 */
int rs_random(void *buf, size_t n);

void *rs_xcalloc(size_t n, size_t size);
void *rs_xrealloc(void *p, size_t n);
char *rs_xstrdup(const char *s);

#endif
