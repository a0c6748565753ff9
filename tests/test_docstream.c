/* SPDX-License-Identifier: Apache-2.0 */
/*
 * base/docstream.c, the driver of the streamed documents (the /api/v1 lists and status,
 * /metrics): read in parts as the HTTP server reads them (a fresh piece per
 * call), a document is its head, each section's opening once and its
 * items in order, and its tail, whatever falls on a part's edge; an item
 * that cannot be made ends it with -1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/docstream.h"

#define BIG_OPEN 20000 /* larger than a part: the opening itself crosses the part's edge */

struct doc {
  struct docstream d;
  size_t n[3];     /* items per section */
  size_t fail_at;  /* item of section 0 that cannot be made (SIZE_MAX: none) */
};

static void doc_open(void *ud, size_t sec, struct rs_buf *out)
{
  (void)ud;
  if(sec == 1) {
    char *big = malloc(BIG_OPEN);
    assert_non_null(big);
    memset(big, '#', BIG_OPEN);
    rs_buf_append(out, big, BIG_OPEN);
    free(big);
  }
  else
    rs_buf_printf(out, "<%zu>", sec);
}

static size_t doc_count(void *ud, size_t sec)
{
  const struct doc *x = ud;
  return x->n[sec];
}

static bool doc_item(void *ud, size_t sec, size_t i, struct rs_buf *out)
{
  const struct doc *x = ud;
  if(sec == 0 && i == x->fail_at)
    return false;
  rs_buf_printf(out, "%zu.%zu;", sec, i);
  return true;
}

static const struct docstream_ops ops = {doc_open, doc_count, doc_item};

static void doc_init(struct doc *x, size_t n0, size_t n1, size_t n2)
{
  memset(x, 0, sizeof(*x));
  docstream_init(&x->d, &ops, x, 3);
  x->n[0] = n0;
  x->n[1] = n1;
  x->n[2] = n2;
  x->fail_at = SIZE_MAX;
  rs_buf_puts(&x->d.head, "HEAD[");
  rs_buf_puts(&x->d.tail, "]TAIL\n");
}

/* What the document must read: built here without the driver. */
static void expected(const struct doc *x, struct rs_buf *want)
{
  size_t sec, i;
  rs_buf_puts(want, "HEAD[");
  for(sec = 0; sec < 3; sec++) {
    doc_open(NULL, sec, want);
    for(i = 0; i < x->n[sec]; i++)
      rs_buf_printf(want, "%zu.%zu;", sec, i);
  }
  rs_buf_puts(want, "]TAIL\n");
  assert_false(want->oom);
}

/* Read x part by part, a fresh piece each time; the last fill's result. */
static int read_parts(struct doc *x, struct rs_buf *all, size_t *parts)
{
  int rc;
  *parts = 0;
  do {
    struct rs_buf piece = {0};
    rc = docstream_fill(&x->d, &piece);
    if(piece.len)
      rs_buf_append(all, piece.data, piece.len);
    rs_buf_free(&piece);
    if(++*parts > 1000)
      fail_msg("endless: 1000 parts and no end (a document here is a few parts)");
  } while(rc == 1);
  assert_false(all->oom);
  return rc;
}

static void test_parts_make_the_document(void **state)
{
  struct doc x;
  struct rs_buf all = {0}, want = {0}, once = {0};
  size_t parts;
  (void)state;
  /* section 2 is empty: its opening is there, no item */
  doc_init(&x, 3000, 3, 0);
  expected(&x, &want);
  assert_int_equal(read_parts(&x, &all, &parts), 0);
  assert_true(parts > 2);
  assert_int_equal(all.len, want.len);
  assert_memory_equal(all.data, want.data, want.len);
  /* the big opening once, though it crossed a part's edge */
  {
    size_t i, hashes = 0;
    for(i = 0; i < all.len; i++)
      hashes += all.data[i] == '#';
    assert_int_equal(hashes, BIG_OPEN);
  }
  docstream_free(&x.d);
  /* at once, the same */
  doc_init(&x, 3000, 3, 0);
  assert_int_equal(docstream_rest(&x.d, &once), 0);
  assert_int_equal(once.len, want.len);
  assert_memory_equal(once.data, want.data, want.len);
  docstream_free(&x.d);
  rs_buf_free(&all);
  rs_buf_free(&want);
  rs_buf_free(&once);
}

static void test_item_failure_ends_it(void **state)
{
  struct doc x;
  struct rs_buf all = {0};
  size_t parts;
  (void)state;
  doc_init(&x, 3000, 3, 2);
  x.fail_at = 2500; /* in a later part */
  assert_int_equal(read_parts(&x, &all, &parts), -1);
  assert_true(parts > 1);
  assert_null(strstr(all.data, "]TAIL"));
  docstream_free(&x.d);
  rs_buf_free(&all);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parts_make_the_document),
      cmocka_unit_test(test_item_failure_ends_it),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
