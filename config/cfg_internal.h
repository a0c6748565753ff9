/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cfg_internal: what the config/ sources share and nobody else sees — the
 * YAML node tree (cfg_yaml.c), the diagnostics collector and the scalar
 * checks (cfg_values.c) used by the schema walker (cfg_load.c).
 */
#ifndef RS_CFG_INTERNAL_H
#define RS_CFG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "base/rs_util.h"

#define CFG_MAX_FILE_BYTES   (8u * 1024u * 1024u)
#define CFG_MAX_SCALAR_BYTES (64u * 1024u)
/* Deepest nesting of mappings and lists accepted in a file. */
#define CFG_MAX_DEPTH 64u

enum cfg_nkind { CFG_N_SCALAR, CFG_N_SEQ, CFG_N_MAP };

/* One YAML node with the position of its first character (1-based). */
struct cfg_node {
  enum cfg_nkind kind;
  int line, col;
  int end_line;          /* scalars: line of the last character */
  int style;             /* yaml_scalar_style_t of a scalar */
  bool quoted;           /* single- or double-quoted scalar */
  bool bad;              /* already reported (alias, too large): skip silently */
  bool skip;             /* map key: duplicate or refused, ignore the pair */
  const char *s;         /* scalar text, NUL-terminated */
  size_t len;
  struct cfg_node **kids; /* seq items; map: kids[2i] key, kids[2i+1] value */
  size_t n;              /* items (seq) or pairs (map) */
  size_t cap;
};

/* A diagnostic being collected, with its sort key (file order, position). */
struct cfg_ldiag {
  int file_idx;
  int line, col;
  size_t seq;
  bool warning;
  bool provisional; /* added while dc->provisional: kept or dropped by cfg_dcol_settle() */
  char *text;
};

/* The diagnostics of one load, sorted into file order at the end. */
struct cfg_dcol {
  struct cfg_ldiag *v;
  size_t n, cap;
  size_t n_errors;
  const char **files; /* names in file order; index = file_idx */
  size_t n_files, cap_files;
  size_t next_seq;  /* the next diagnostic's seq (order of addition) */
  bool provisional; /* new diagnostics are provisional (see cfg_dcol_settle) */
};

/* Add an error (warning=false) or warning at file:line:col (line 0: none). */
void cfg_dcol_add(struct cfg_dcol *dc, bool warning, const char *file, int line, int col,
                  const char *fmt, ...) RS_PRINTF(6, 7);
/* Register a file name so that its diagnostics sort in this position. */
void cfg_dcol_file(struct cfg_dcol *dc, const char *file);
/*
 * Keep (keep) or drop the provisional diagnostics (added while
 * dc->provisional was set); either way none is provisional afterwards.
 */
void cfg_dcol_settle(struct cfg_dcol *dc, bool keep);
/* Sort and move every diagnostic into out; frees dc's storage. */
void cfg_dcol_finish(struct cfg_dcol *dc, struct cfg_diags *out);

/*
 * Parse one YAML document (data, len) of `file` into a node tree in arena a.
 * Refuses anchors, aliases, merge keys, tags, duplicate keys, oversized
 * scalars and more than one document, each with a diagnostic in dc. Sets
 * *root (NULL when the file holds no document or a syntax error stopped it)
 * and *empty when the file is empty. Returns 0 when the tree is usable, -1
 * after a syntax, encoding or size error (root is then NULL).
 */
int cfg_yaml_parse(struct rs_arena *a, struct cfg_dcol *dc, const char *file, const char *data,
                   size_t len, struct cfg_node **root, bool *empty);

/*
 * cfg_yaml_parse() handing over the items of one list as they are parsed:
 * each item of the list under the root mapping's (first) key `key` is given
 * to item() (with its 0-based index) as soon as it ends, then freed: the
 * arena is rewound to where the item began, and the list stays empty in
 * the tree. A devices file of 500 devices so never holds more than one
 * device's nodes (the start-up peak: docs/BENCHMARKS.md, where the RSS
 * goes). item() must keep nothing of the item's nodes. The items before a
 * syntax error have been handed over when it returns -1.
 */
struct cfg_yaml_stream {
  const char *key;
  void (*item)(void *ud, const struct cfg_node *item, size_t index);
  void *ud;
};
int cfg_yaml_parse_stream(struct rs_arena *a, struct cfg_dcol *dc, const char *file,
                          const char *data, size_t len, const struct cfg_yaml_stream *stream,
                          struct cfg_node **root, bool *empty);

/* A scalar value quoted for a message ('abc', truncated, controls as '?'). */
void cfg_quote_value(const char *s, size_t len, char *buf, size_t size);

/* Whether a plain scalar is YAML's null (empty, ~, null). */
bool cfg_node_is_null(const struct cfg_node *n);

/* Syntax checks: 0 when s matches the id / SKU / ISO country pattern. */
bool cfg_valid_id(const char *s);
bool cfg_valid_sku(const char *s);

/* Shape of an amount; sets the decimals written. 0, or -1 with err. */
int cfg_money_syntax(const char *s, int *decimals, char *err, size_t errlen);

/* A known currency close to code ("eur" -> "EUR"), or NULL. */
const char *cfg_currency_suggest(const char *code);

/* Byte offset of a 0-based line and character column in data. */
size_t cfg_byte_at(const char *data, size_t len, size_t line, size_t col);

#endif
