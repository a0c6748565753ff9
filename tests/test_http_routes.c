/* SPDX-License-Identifier: Apache-2.0 */
/*
 * docs/http-api.md's Endpoints table is the router's table: every path it
 * lists routes with exactly the methods it names (a documented path with
 * its ids filled in; any other method is 405 with those methods allowed),
 * and every route of gateway/web/http.c is in the table. A route added
 * without a row, or a row for a path the router does not take, fails with
 * the path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/rs_util.h"
#include "gateway/web/http.h"

#define MAX_ROUTES 64
#define PATH_LEN   256

struct route {
  char path[PATH_LEN];    /* as written: "/orders/{id}/approve" */
  char norm[PATH_LEN];    /* every {x} as {}: "/orders/{}/approve" */
  unsigned methods;       /* HTTP_ALLOW_* */
};

/* path with each "{...}" written as "{}" into out. */
static void normalize(const char *path, char *out, size_t size)
{
  size_t n = 0;
  while(*path && n + 3 < size) {
    if(*path == '{') {
      out[n++] = '{';
      out[n++] = '}';
      while(*path && *path != '}')
        path++;
      if(*path)
        path++;
      continue;
    }
    out[n++] = *path++;
  }
  out[n] = '\0';
}

/* The entry of v (n entries) with the normalized path norm, or NULL. */
static struct route *find_route(struct route *v, size_t n, const char *norm)
{
  size_t i;
  for(i = 0; i < n; i++)
    if(!strcmp(v[i].norm, norm))
      return &v[i];
  return NULL;
}

/* Add path with methods to v (n entries), merging methods of an equal normalized path. */
static void add_route(struct route *v, size_t *n, const char *path, unsigned methods)
{
  char norm[PATH_LEN];
  struct route *r;
  normalize(path, norm, sizeof(norm));
  if((r = find_route(v, *n, norm)) != NULL) {
    r->methods |= methods;
    return;
  }
  assert_true(*n < MAX_ROUTES);
  assert_int_equal(rs_strlcpy(v[*n].path, path, PATH_LEN), 0);
  assert_int_equal(rs_strlcpy(v[*n].norm, norm, PATH_LEN), 0);
  v[*n].methods = methods;
  (*n)++;
}

/*
 * The rows of the "## Endpoints" table of docs/http-api.md into v: the
 * first cell's methods, the second cell's `paths` (a `.../x` is x in place
 * of the last segment of the path before it).
 */
static size_t doc_routes(struct route *v)
{
  FILE *f = fopen(RESTOCK_DOCS_DIR "/http-api.md", "r");
  char line[4096];
  bool in = false, table = false;
  size_t n = 0;
  assert_non_null(f);
  while(fgets(line, sizeof(line), f)) {
    char *cell1, *cell2, *end, *p;
    char prev[PATH_LEN] = "";
    unsigned methods = 0;
    if(!strncmp(line, "## ", 3)) {
      in = !strncmp(line, "## Endpoints", 12);
      continue;
    }
    if(!in)
      continue;
    if(line[0] != '|') {
      if(table)
        break;
      continue;
    }
    table = true;
    cell1 = line + 1;
    if(!(cell2 = strchr(cell1, '|')))
      continue;
    *cell2++ = '\0';
    if(!(end = strchr(cell2, '|')))
      continue;
    *end = '\0';
    if(strstr(cell1, "GET"))
      methods |= HTTP_ALLOW_GET;
    if(strstr(cell1, "POST"))
      methods |= HTTP_ALLOW_POST;
    if(!methods) /* the header and the separator */
      continue;
    for(p = cell2; (p = strchr(p, '`')) != NULL;) {
      char tok[PATH_LEN], *close = strchr(++p, '`');
      assert_non_null(close);
      assert_true((size_t)(close - p) < sizeof(tok));
      memcpy(tok, p, (size_t)(close - p));
      tok[close - p] = '\0';
      p = close + 1;
      if(!strncmp(tok, ".../", 4)) {
        char *slash = strrchr(prev, '/');
        char full[PATH_LEN];
        assert_non_null(slash);
        assert_true(rs_snprintf(full, sizeof(full), "%.*s%s", (int)(slash - prev), prev,
                                tok + 3) >= 0);
        assert_int_equal(rs_strlcpy(tok, full, sizeof(tok)), 0);
      }
      assert_true(tok[0] == '/');
      add_route(v, &n, tok, methods);
      assert_int_equal(rs_strlcpy(prev, tok, sizeof(prev)), 0);
    }
  }
  (void)fclose(f);
  assert_true(n > 0);
  return n;
}

static const char *methods_name(unsigned m)
{
  return m == HTTP_ALLOW_GET ? "GET, HEAD" : m == HTTP_ALLOW_POST ? "POST" : m ? "GET, HEAD, POST" : "none";
}

/* Every route of the router is a row of the table, with the same methods; and back. */
static void test_table_is_the_router(void **state)
{
  struct route doc[MAX_ROUTES], rt[MAX_ROUTES];
  size_t nd = doc_routes(doc), nr = 0, i;
  unsigned m;
  const char *pat;
  int bad = 0;
  (void)state;
  for(i = 0; (pat = http_route_pattern(i, &m)) != NULL; i++)
    add_route(rt, &nr, pat, m);
  for(i = 0; i < nr; i++) {
    const struct route *d = find_route(doc, nd, rt[i].norm);
    if(!d) {
      print_error("the router takes %s %s; docs/http-api.md's Endpoints have no row for it\n",
                  methods_name(rt[i].methods), rt[i].path);
      bad++;
    }
    else if(d->methods != rt[i].methods) {
      print_error("%s: the router takes %s, docs/http-api.md says %s\n", rt[i].path,
                  methods_name(rt[i].methods), methods_name(d->methods));
      bad++;
    }
  }
  for(i = 0; i < nd; i++) {
    if(!find_route(rt, nr, doc[i].norm)) {
      print_error("docs/http-api.md lists %s %s; the router has no such route\n",
                  methods_name(doc[i].methods), doc[i].path);
      bad++;
    }
  }
  assert_int_equal(bad, 0);
}

/*
 * Each documented path, its ids filled in with valid ones, routes with its
 * methods; another method is 405 allowing exactly the documented ones.
 */
static void test_documented_paths_route(void **state)
{
  struct route doc[MAX_ROUTES];
  size_t nd = doc_routes(doc), i;
  static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE"};
  (void)state;
  for(i = 0; i < nd; i++) {
    char path[PATH_LEN];
    size_t k, n = 0;
    const char *s = doc[i].path;
    while(*s) { /* every {x} as "a-1": an order id, a device or consumable id and a token alike */
      if(*s == '{') {
        memcpy(path + n, "a-1", 3);
        n += 3;
        s = strchr(s, '}');
        assert_non_null(s);
        s++;
        continue;
      }
      path[n++] = *s++;
    }
    path[n] = '\0';
    for(k = 0; k < RS_ARRAY_LEN(methods); k++) {
      struct http_match m;
      unsigned want = !strcmp(methods[k], "POST") ? HTTP_ALLOW_POST
                      : (!strcmp(methods[k], "GET") || !strcmp(methods[k], "HEAD")) ? HTTP_ALLOW_GET
                                                                                    : 0;
      http_route_match(methods[k], path, &m);
      if(m.allow != doc[i].methods)
        fail_msg("%s %s: the router allows %s, docs/http-api.md says %s", methods[k], path,
                 methods_name(m.allow), methods_name(doc[i].methods));
      if(want & doc[i].methods)
        assert_true(m.route != HTTP_ROUTE_NOT_FOUND && m.route != HTTP_ROUTE_METHOD_NOT_ALLOWED);
      else
        assert_int_equal(m.route, HTTP_ROUTE_METHOD_NOT_ALLOWED);
    }
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table_is_the_router),
      cmocka_unit_test(test_documented_paths_route),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
