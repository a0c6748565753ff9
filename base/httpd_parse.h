/* SPDX-License-Identifier: Apache-2.0 */
/*
 * httpd_parse: the HTTP/1.x request parser of restock's own server
 * (base/httpd_srv.c). Pure functions over a buffer: no I/O, no allocation.
 *
 * httpd_parse_head() parses a request head (request line + header fields +
 * blank line) in place: it writes NULs into the buffer and percent-decodes
 * the path, query arguments and cookies there, and the request's strings
 * point into it. It refuses what a proxy in front could read another way
 * (request smuggling): more than one Host or Content-Length, Content-Length
 * with Transfer-Encoding, obsolete line folding, whitespace before a colon,
 * a Transfer-Encoding other than chunked.
 *
 * httpd_chunked_feed() decodes a chunked body incrementally.
 *
 * Fuzzed by tests/fuzz/fuzz_http_parse.c; edge cases in tests/test_httpd.c.
 */
#ifndef RS_HTTPD_PARSE_H
#define RS_HTTPD_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/rs_util.h"

/* Longest request head (request line and header fields); longer: 431. */
#define HTTPD_HEAD_MAX 8192
/* Header fields per request; more: 431. */
#define HTTPD_MAX_FIELDS 64
/* Query arguments and cookies kept per request (further ones are ignored). */
#define HTTPD_MAX_ARGS    32
#define HTTPD_MAX_COOKIES 16

struct httpd_kv {
  const char *name;
  const char *value;
};

/* Response headers: a list ended by a NULL name; entries with a NULL value are skipped. */
struct httpd_hdr {
  const char *name;
  const char *value;
};

struct httpd_conn;

/*
 * One request. The head part is filled by httpd_parse_head() (strings point
 * into the parsed buffer); the server fills the rest before the handler
 * runs.
 */
struct httpd_req {
  const char *method;          /* "GET", "HEAD", "POST", ... (case-sensitive token) */
  const char *path;            /* percent-decoded, without the query; starts with '/' */
  const char *authority;       /* absolute-form's host[:port] (it stands for Host), or NULL */
  unsigned minor;              /* HTTP/1.minor (0 or 1) */
  struct httpd_kv field[HTTPD_MAX_FIELDS];
  unsigned n_field;
  struct httpd_kv arg[HTTPD_MAX_ARGS]; /* query arguments, decoded ('+' is a space) */
  unsigned n_arg;
  struct httpd_kv cookie[HTTPD_MAX_COOKIES];
  unsigned n_cookie;
  int64_t content_length; /* -1: none */
  bool chunked;           /* Transfer-Encoding: chunked */
  bool keep_alive;        /* the client keeps the connection (HTTP/1.1 unless "close") */
  size_t head_len;        /* bytes of the head, blank line included */

  /* set by the server */
  const char *body;  /* the request body, NUL-terminated ("" when none) */
  size_t body_len;
  bool too_large;    /* the body was over the server's limit: it was not read; answer 413 */
  const struct sockaddr *peer; /* the client's address, or NULL */
  struct httpd_conn *conn;     /* the server's connection (httpd_srv.c) */
};

/*
 * Parse the request head at the start of buf[0..len) in place into *r.
 * Returns 0 when the head is not complete yet (more bytes needed; when len
 * reached HTTPD_HEAD_MAX it returns 431 instead, or 414 when no line ended
 * by then), 1 when parsed (r->head_len says how far), or an HTTP status for
 * a bad head: 400 (also Transfer-Encoding in HTTP/1.0), 414, 431 (too long,
 * too many fields), 501 (a Transfer-Encoding other than chunked), 505 (not
 * HTTP/1.x), with a one-line reason ending in "\n" in *why. Empty lines
 * before the request line are skipped. Never reads buf[len] or beyond.
 */
int httpd_parse_head(char *buf, size_t len, struct httpd_req *r, const char **why);

/* The first header field called name (case-insensitive), or NULL. */
const char *httpd_req_header(const struct httpd_req *r, const char *name);
/* The query argument called name (case-sensitive), or NULL. */
const char *httpd_req_arg(const struct httpd_req *r, const char *name);
/* The cookie called name (case-sensitive), or NULL. */
const char *httpd_req_cookie(const struct httpd_req *r, const char *name);
/*
 * The user and password of an "Authorization: Basic" field into user and
 * pass (NUL-terminated). Returns 0, or -1 when absent, malformed or too
 * long for the buffers.
 */
int httpd_req_basic_auth(const struct httpd_req *r, char *user, size_t usize, char *pass,
                         size_t psize);

/*
 * Bytes of a chunked body's framing (size lines with their extensions, line
 * ends, trailer) beyond which it counts as too large, whatever its data: a
 * size line of endless zeros or endless trailer lines would otherwise keep
 * a connection (and the loop reading it) busy for ever.
 */
#define HTTPD_CHUNK_FRAMING_MAX 65536

/* A chunked body decoder's state; zero-initialise per body. */
struct httpd_chunked {
  unsigned state;
  uint64_t left;      /* bytes left in the current chunk */
  unsigned line_len;  /* length of the size or trailer line so far */
  bool digits;        /* the size line had a hex digit */
  size_t framing;     /* framing bytes so far (see HTTPD_CHUNK_FRAMING_MAX) */
};

enum httpd_chunked_rc {
  HTTPD_CHUNKED_MORE,     /* everything was consumed; the body goes on */
  HTTPD_CHUNKED_DONE,     /* the body (and its trailer) ended: *used says where */
  HTTPD_CHUNKED_BAD,      /* malformed */
  HTTPD_CHUNKED_TOO_LARGE /* the decoded body would pass max, or its framing HTTPD_CHUNK_FRAMING_MAX */
};

/*
 * Decode in[0..n) of a chunked body, appending the data to out (whose
 * decoded length may not pass max). *used: bytes of in consumed (after
 * DONE, the rest of in belongs to the next request).
 */
enum httpd_chunked_rc httpd_chunked_feed(struct httpd_chunked *c, const char *in, size_t n,
                                         struct rs_buf *out, size_t max, size_t *used);

#endif
