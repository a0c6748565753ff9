/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cfg_yaml: one YAML file into a small node tree with positions, refusing
 * what restock's configuration does not allow (SPEC section 3): anchors,
 * aliases (never expanded, so an alias bomb costs nothing), merge keys,
 * tags, duplicate keys, scalars over 64 KiB and more than one document.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config/cfg_internal.h"

/* Longest key path kept for a message (a longer one is cut). */
#define PATH_MAX_LEN 256

/* Anchors and aliases are reported once per file, with a count of the rest. */
struct refused {
  int line, col;
  size_t count;
  char name[72];
  char path[PATH_MAX_LEN];
};

struct ystate {
  struct rs_arena *a;
  struct cfg_dcol *dc;
  const char *file;
  const char *data;
  size_t len;
  struct cfg_node **stack;
  size_t depth, cap;
  struct refused anchors, aliases;
  /* cfg_yaml_parse_stream: the list whose items are handed over (NULL: not
     seen yet), how many items it has had, and where the current one began */
  const struct cfg_yaml_stream *stream;
  struct cfg_node *stream_seq;
  size_t stream_n;
  struct rs_arena_mark item_mark;
};

/* Byte offset of the 0-based line/column (columns count characters). */
size_t cfg_byte_at(const char *data, size_t len, size_t line, size_t col)
{
  size_t i = 0, l = 0;
  while(i < len && l < line) {
    if(data[i] == '\n')
      l++;
    i++;
  }
  while(i < len && col > 0 && data[i] != '\n') {
    i++;
    /* skip UTF-8 continuation bytes: libyaml counts characters */
    while(i < len && ((unsigned char)data[i] & 0xC0u) == 0x80u)
      i++;
    col--;
  }
  return i;
}

/* 1-based line and column of a byte offset (columns count characters). */
static void pos_of_offset(const char *data, size_t len, size_t off, int *line, int *col)
{
  size_t i;
  int l = 1, c = 1;
  for(i = 0; i < off && i < len; i++) {
    if(data[i] == '\n') {
      l++;
      c = 1;
    }
    else if(((unsigned char)data[i] & 0xC0u) != 0x80u) {
      c++;
    }
  }
  *line = l;
  *col = c;
}

static struct cfg_node *new_node(struct ystate *st, enum cfg_nkind kind, const yaml_mark_t *m)
{
  struct cfg_node *n = rs_arena_alloc(st->a, sizeof(*n));
  n->kind = kind;
  n->line = (int)m->line + 1;
  n->col = (int)m->column + 1;
  n->end_line = n->line;
  return n;
}

static void add_kid(struct ystate *st, struct cfg_node *parent, struct cfg_node *kid)
{
  if(parent->n >= parent->cap) {
    size_t cap = parent->cap ? parent->cap * 2 : 8;
    struct cfg_node **k = rs_arena_alloc(st->a, cap * sizeof(*k));
    if(parent->n)
      memcpy(k, parent->kids, parent->n * sizeof(*k));
    parent->kids = k;
    parent->cap = cap;
  }
  parent->kids[parent->n++] = kid;
}

/* Append a map key (cut at 64 bytes) or a list index to the path in buf. */
static void path_add(char *buf, size_t size, const struct cfg_node *key, size_t index, bool is_key)
{
  size_t used = strlen(buf);
  if(used >= size - 1)
    return;
  if(is_key) {
    const char *k = key && key->kind == CFG_N_SCALAR && !key->bad && key->s ? key->s : "?";
    size_t kl = key && key->kind == CFG_N_SCALAR && !key->bad && key->s ? key->len : 1;
    (void)snprintf(buf + used, size - used, "%s%.*s", used ? "." : "", (int)(kl > 64 ? 64 : kl),
                   k);
  }
  else
    (void)snprintf(buf + used, size - used, "[%zu]", index);
}

/*
 * The key path ("devices[1].transport") into buf: of the container
 * stack[upto - 1] itself, or with next_child of the node about to be
 * attached to it (a value's key, a list's next index; a mapping's next key
 * has the mapping's path). Mappings hold key, value, key, value ... while
 * open, and a container is attached to its parent when it starts.
 * "(top level)" when the path is empty.
 */
static void path_of(const struct ystate *st, size_t upto, bool next_child, char *buf, size_t size)
{
  size_t i;
  buf[0] = '\0';
  for(i = 0; i < upto; i++) {
    const struct cfg_node *c = st->stack[i];
    bool last = i + 1 == upto;
    if(last && !next_child)
      break;
    if(c->kind == CFG_N_MAP) {
      if(!last && c->n >= 2)
        path_add(buf, size, c->kids[c->n - 2], 0, true);
      else if(last && c->n % 2 == 1)
        path_add(buf, size, c->kids[c->n - 1], 0, true);
    }
    else if(c->kind == CFG_N_SEQ) {
      size_t cn = c == st->stream_seq ? st->stream_n : c->n; /* its items are not kept */
      path_add(buf, size, NULL, last ? cn : cn - 1, false);
    }
  }
  if(!buf[0])
    (void)snprintf(buf, size, "(top level)");
}

static void refuse(const struct ystate *st, struct refused *r, const yaml_mark_t *m,
                   const char *name)
{
  if(!r->count) {
    r->line = (int)m->line + 1;
    r->col = (int)m->column + 1;
    snprintf(r->name, sizeof(r->name), "%.64s", name ? name : "");
    path_of(st, st->depth, true, r->path, sizeof(r->path));
  }
  r->count++;
}

static void report_refused(struct ystate *st, const struct refused *r, const char *what,
                           const char *plural, char sigil)
{
  if(!r->count)
    return;
  if(r->count == 1)
    cfg_dcol_add(st->dc, false, st->file, r->line, r->col,
                 "%s: %s '%c%s' is not allowed (write the value out in full)", r->path, what,
                 sigil, r->name);
  else
    cfg_dcol_add(st->dc, false, st->file, r->line, r->col,
                 "%s: %s '%c%s' is not allowed (write the value out in full; %zu more %s in "
                 "this file)",
                 r->path, what, sigil, r->name, r->count - 1, r->count == 2 ? what : plural);
}

static int cmp_keyref(const void *pa, const void *pb)
{
  const struct cfg_node *const *a = pa, *const *b = pb;
  int c;
  if((*a)->len != (*b)->len)
    return (*a)->len < (*b)->len ? -1 : 1;
  c = memcmp((*a)->s, (*b)->s, (*a)->len);
  if(c)
    return c;
  if((*a)->line != (*b)->line)
    return (*a)->line < (*b)->line ? -1 : 1;
  return (*a)->col < (*b)->col ? -1 : ((*a)->col > (*b)->col);
}

/*
 * A mapping (key path mpath) is complete: flag duplicate keys (blaming
 * every later occurrence, naming the first). Sorting keeps a huge mapping
 * O(n log n).
 */
static void check_duplicates(struct ystate *st, struct cfg_node *map, const char *mpath)
{
  struct cfg_node **keys;
  size_t i, nk = 0, first = 0;
  if(map->n < 2)
    return;
  keys = rs_xmalloc(map->n * sizeof(*keys));
  for(i = 0; i < map->n; i++) {
    struct cfg_node *k = map->kids[2 * i];
    if(k->kind == CFG_N_SCALAR && !k->skip)
      keys[nk++] = k;
  }
  qsort(keys, nk, sizeof(*keys), cmp_keyref);
  for(i = 1; i < nk; i++) {
    if(keys[i]->len == keys[first]->len && !memcmp(keys[i]->s, keys[first]->s, keys[i]->len)) {
      char q[96], kp[PATH_MAX_LEN];
      cfg_quote_value(keys[i]->s, keys[i]->len, q, sizeof(q));
      keys[i]->skip = true;
      (void)snprintf(kp, sizeof(kp), "%s", strcmp(mpath, "(top level)") ? mpath : "");
      path_add(kp, sizeof(kp), keys[i], 0, true);
      cfg_dcol_add(st->dc, false, st->file, keys[i]->line, keys[i]->col,
                   "%s: duplicate key %s (first defined at %s:%d:%d)", kp, q, st->file,
                   keys[first]->line, keys[first]->col);
    }
    else {
      first = i;
    }
  }
  free(keys);
}

/* Attach a finished node to the open container (or make it the root). */
static void attach(struct ystate *st, struct cfg_node *n, struct cfg_node **root)
{
  struct cfg_node *top;
  char kp[PATH_MAX_LEN];
  if(!st->depth) {
    *root = n;
    return;
  }
  top = st->stack[st->depth - 1];
  if(top == st->stream_seq) {
    st->stream_n++; /* handed over when it ends (item_end), never kept */
    return;
  }
  add_kid(st, top, n);
  if(top->kind == CFG_N_SEQ)
    return;
  /* mapping: kids alternate key, value; n counts pairs once it ends */
  if(top->n % 2 == 1) {
    /* a key: the path of the mapping it is in */
    path_of(st, st->depth, false, kp, sizeof(kp));
    if(n->kind != CFG_N_SCALAR) {
      if(!n->bad)
        cfg_dcol_add(st->dc, false, st->file, n->line, n->col,
                     "%s: a mapping key must be a plain string (got a %s)", kp,
                     n->kind == CFG_N_MAP ? "mapping" : "list");
      n->skip = true;
    }
    else if(!n->quoted && n->len == 2 && !memcmp(n->s, "<<", 2)) {
      if(!strcmp(kp, "(top level)"))
        kp[0] = '\0';
      path_add(kp, sizeof(kp), n, 0, true);
      cfg_dcol_add(st->dc, false, st->file, n->line, n->col,
                   "%s: merge key '<<' is not allowed (write the keys out in full)", kp);
      n->skip = true;
    }
    else if(n->bad) {
      n->skip = true;
    }
  }
}

/*
 * Streaming: whether the node about to start (a sequence) is the list whose
 * items are handed over: the value of the root mapping's first key named
 * stream->key.
 */
static bool is_stream_list(const struct ystate *st)
{
  const struct cfg_node *root, *key;
  size_t i;
  if(!st->stream || st->stream_seq || st->depth != 1)
    return false;
  root = st->stack[0];
  if(root->kind != CFG_N_MAP || root->n % 2 != 1)
    return false;
  key = root->kids[root->n - 1];
  if(key->kind != CFG_N_SCALAR || key->skip || key->bad || strcmp(key->s, st->stream->key))
    return false;
  for(i = 0; i + 1 < root->n; i += 2) /* a later duplicate of the key is ignored (skip) */
    if(root->kids[i]->kind == CFG_N_SCALAR && !strcmp(root->kids[i]->s, st->stream->key))
      return false;
  return true;
}

/* Streaming: whether a node starting now is an item of the handed-over list. */
static bool item_starts(const struct ystate *st)
{
  return st->stream_seq && st->depth == 2 && st->stack[1] == st->stream_seq;
}

/* Streaming: item n (just ended) goes to the callback, then its memory back to the arena. */
static void item_end(struct ystate *st, const struct cfg_node *n)
{
  st->stream->item(st->stream->ud, n, st->stream_n - 1);
  rs_arena_rewind(st->a, &st->item_mark);
}

static void push(struct ystate *st, struct cfg_node *n)
{
  if(st->depth >= st->cap) {
    st->cap = st->cap ? st->cap * 2 : 16;
    st->stack = rs_xrealloc(st->stack, st->cap * sizeof(*st->stack));
  }
  st->stack[st->depth++] = n;
}

/*
 * The first byte of data that is not UTF-8, reported once at its own
 * line:column (columns count the characters before it) with what is wrong
 * and what to do. Returns true when the text is UTF-8 (a UTF-8 byte order
 * mark is fine), false after the report. libyaml checks this too, but
 * reports the byte after the bad one, and its message names a "trailing
 * octet" rather than the file's encoding.
 */
static bool check_utf8(struct ystate *st)
{
  const unsigned char *d = (const unsigned char *)st->data;
  size_t len = st->len, i = 0;
  char what[96];
  int line, col;

  if(len >= 2 && ((d[0] == 0xFF && d[1] == 0xFE) || (d[0] == 0xFE && d[1] == 0xFF))) {
    cfg_dcol_add(st->dc, false, st->file, 1, 1,
                 "not UTF-8: the file is UTF-16 (save it as UTF-8)");
    return false;
  }
  while(i < len) {
    unsigned c = d[i];
    size_t need, k;
    unsigned lo = 0x80, hi = 0xBF; /* the second byte's range */
    if(c < 0x80) {
      i++;
      continue;
    }
    if(c >= 0xC2 && c <= 0xDF)
      need = 1;
    else if(c >= 0xE0 && c <= 0xEF) {
      need = 2;
      if(c == 0xE0)
        lo = 0xA0; /* overlong */
      else if(c == 0xED)
        hi = 0x9F; /* UTF-16 surrogates */
    }
    else if(c >= 0xF0 && c <= 0xF4) {
      need = 3;
      if(c == 0xF0)
        lo = 0x90; /* overlong */
      else if(c == 0xF4)
        hi = 0x8F; /* beyond U+10FFFF */
    }
    else {
      if(c <= 0xBF)
        (void)snprintf(what, sizeof(what), "byte 0x%02X does not start a character", c);
      else
        (void)snprintf(what, sizeof(what), "byte 0x%02X never appears in UTF-8", c);
      goto bad;
    }
    for(k = 1; k <= need; k++) {
      unsigned b = i + k < len ? d[i + k] : 0x100u;
      bool ok = k == 1 ? b >= lo && b <= hi : b >= 0x80 && b <= 0xBF;
      if(!ok) {
        if(b == 0x100u)
          (void)snprintf(what, sizeof(what), "byte 0x%02X starts a character the file cuts off",
                         c);
        else
          (void)snprintf(what, sizeof(what),
                         "byte 0x%02X starts a %zu-byte character but byte 0x%02X follows", c,
                         need + 1, b);
        goto bad;
      }
    }
    i += need + 1;
  }
  return true;
bad:
  pos_of_offset(st->data, len, i, &line, &col);
  cfg_dcol_add(st->dc, false, st->file, line, col,
               "not UTF-8: %s (save the file as UTF-8)", what);
  return false;
}

/* libyaml failed: report its problem at its position, with a clearer word for tabs. */
static void report_yaml_error(struct ystate *st, const yaml_parser_t *p)
{
  int line, col;
  const char *problem = p->problem ? p->problem : "unknown error";
  if(p->error == YAML_READER_ERROR) {
    pos_of_offset(st->data, st->len, p->problem_offset, &line, &col);
    /* not UTF-8 was found before (check_utf8): what is left is a character YAML refuses,
       problem_value its code point */
    if(p->problem_value != -1)
      cfg_dcol_add(st->dc, false, st->file, line, col,
                   "character U+%04X is not allowed in YAML text (a control character or a "
                   "noncharacter: delete it)",
                   (unsigned)p->problem_value);
    else
      cfg_dcol_add(st->dc, false, st->file, line, col, "invalid text: %s", problem);
    return;
  }
  if(p->error == YAML_MEMORY_ERROR) {
    cfg_dcol_add(st->dc, false, st->file, 0, 0, "out of memory while parsing");
    return;
  }
  line = (int)p->problem_mark.line + 1;
  col = (int)p->problem_mark.column + 1;
  {
    size_t off = cfg_byte_at(st->data, st->len, p->problem_mark.line, p->problem_mark.column);
    bool tab = strstr(problem, "tab") != NULL || (off < st->len && st->data[off] == '\t');
    if(tab) {
      cfg_dcol_add(st->dc, false, st->file, line, col,
                   "tab character in indentation (YAML indents with spaces only)");
      return;
    }
  }
  if(p->context)
    cfg_dcol_add(st->dc, false, st->file, line, col, "YAML syntax error: %s (%s at line %d column %d)",
                 problem, p->context, (int)p->context_mark.line + 1,
                 (int)p->context_mark.column + 1);
  else
    cfg_dcol_add(st->dc, false, st->file, line, col, "YAML syntax error: %s", problem);
}

int cfg_yaml_parse_stream(struct rs_arena *a, struct cfg_dcol *dc, const char *file,
                          const char *data, size_t len, const struct cfg_yaml_stream *stream,
                          struct cfg_node **root, bool *empty)
{
  yaml_parser_t parser;
  yaml_event_t ev;
  struct ystate st;
  int rc = 0, docs = 0;
  bool done = false;

  memset(&st, 0, sizeof(st));
  st.stream = stream;
  st.a = a;
  st.dc = dc;
  st.file = file;
  st.data = data;
  st.len = len;
  *root = NULL;
  *empty = false;

  if(!check_utf8(&st))
    return -1;
  if(!yaml_parser_initialize(&parser)) {
    cfg_dcol_add(dc, false, file, 0, 0, "out of memory while parsing");
    return -1;
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);

  while(!done) {
    struct cfg_node *n = NULL;
    if(!yaml_parser_parse(&parser, &ev)) {
      report_yaml_error(&st, &parser);
      rc = -1;
      break;
    }
    switch(ev.type) {
    case YAML_STREAM_END_EVENT:
      done = true;
      break;
    case YAML_DOCUMENT_START_EVENT:
      if(++docs > 1) {
        cfg_dcol_add(dc, false, file, (int)ev.start_mark.line + 1,
                     (int)ev.start_mark.column + 1,
                     "more than one YAML document (expected one document per file)");
        done = true;
      }
      break;
    case YAML_ALIAS_EVENT:
      refuse(&st, &st.aliases, &ev.start_mark, (const char *)ev.data.alias.anchor);
      if(item_starts(&st))
        rs_arena_mark(a, &st.item_mark);
      n = new_node(&st, CFG_N_SCALAR, &ev.start_mark);
      n->s = "";
      n->bad = true;
      attach(&st, n, root);
      if(item_starts(&st))
        item_end(&st, n);
      break;
    case YAML_SCALAR_EVENT: {
      size_t slen = ev.data.scalar.length;
      char kp[PATH_MAX_LEN];
      path_of(&st, st.depth, true, kp, sizeof(kp));
      if(item_starts(&st))
        rs_arena_mark(a, &st.item_mark);
      n = new_node(&st, CFG_N_SCALAR, &ev.start_mark);
      n->end_line = (int)ev.end_mark.line + 1;
      n->style = (int)ev.data.scalar.style;
      n->quoted = ev.data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                  ev.data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
      if(ev.data.scalar.anchor) {
        refuse(&st, &st.anchors, &ev.start_mark, (const char *)ev.data.scalar.anchor);
      }
      if(ev.data.scalar.tag) {
        cfg_dcol_add(dc, false, file, n->line, n->col,
                     "%s: tag '%.64s' is not allowed (write plain values)", kp,
                     (const char *)ev.data.scalar.tag);
        n->bad = true;
      }
      if(slen > CFG_MAX_SCALAR_BYTES) {
        cfg_dcol_add(dc, false, file, n->line, n->col,
                     "%s: value too large: %zu bytes (at most 64 KiB)", kp, slen);
        n->bad = true;
        n->s = "";
      }
      else {
        n->s = rs_arena_strndup(a, (const char *)ev.data.scalar.value, slen);
        n->len = slen;
      }
      attach(&st, n, root);
      if(item_starts(&st))
        item_end(&st, n);
      break;
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
      bool seq = ev.type == YAML_SEQUENCE_START_EVENT;
      const yaml_char_t *anchor = seq ? ev.data.sequence_start.anchor
                                      : ev.data.mapping_start.anchor;
      const yaml_char_t *tag = seq ? ev.data.sequence_start.tag : ev.data.mapping_start.tag;
      char kp[PATH_MAX_LEN];
      path_of(&st, st.depth, true, kp, sizeof(kp));
      if(st.depth >= CFG_MAX_DEPTH) {
        /*
         * Refused as it is read: libyaml's flow scanner is quadratic in the
         * depth, so 200,000 '[' would take minutes; nothing deeper is parsed.
         */
        cfg_dcol_add(dc, false, file, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
                     "%s: nested more than %u levels deep (restock's configuration needs far "
                     "fewer)",
                     kp, (unsigned)CFG_MAX_DEPTH);
        rc = -1;
        done = true;
        break;
      }
      if(item_starts(&st))
        rs_arena_mark(a, &st.item_mark);
      n = new_node(&st, seq ? CFG_N_SEQ : CFG_N_MAP, &ev.start_mark);
      if(anchor)
        refuse(&st, &st.anchors, &ev.start_mark, (const char *)anchor);
      if(tag) {
        cfg_dcol_add(dc, false, file, n->line, n->col,
                     "%s: tag '%.64s' is not allowed (write plain values)", kp, (const char *)tag);
        n->bad = true;
      }
      if(seq && is_stream_list(&st))
        st.stream_seq = n;
      attach(&st, n, root);
      push(&st, n);
      break;
    }
    case YAML_SEQUENCE_END_EVENT:
      if(st.depth) {
        struct cfg_node *q = st.stack[st.depth - 1];
        st.depth--;
        if(item_starts(&st))
          item_end(&st, q);
      }
      break;
    case YAML_MAPPING_END_EVENT:
      if(st.depth) {
        char kp[PATH_MAX_LEN];
        struct cfg_node *m = st.stack[st.depth - 1];
        path_of(&st, st.depth, false, kp, sizeof(kp));
        st.depth--;
        m->n /= 2; /* kids held key, value, key, value... */
        check_duplicates(&st, m, kp);
        if(item_starts(&st))
          item_end(&st, m);
      }
      break;
    default:
      break;
    }
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&parser);
  free(st.stack);
  report_refused(&st, &st.anchors, "anchor", "anchors", '&');
  report_refused(&st, &st.aliases, "alias", "aliases", '*');
  if(rc) {
    *root = NULL;
    return -1;
  }
  if(!*root || (docs == 1 && (*root)->kind == CFG_N_SCALAR && !(*root)->quoted &&
                (*root)->len == 0 && !(*root)->bad))
    *empty = true;
  return 0;
}

int cfg_yaml_parse(struct rs_arena *a, struct cfg_dcol *dc, const char *file, const char *data,
                   size_t len, struct cfg_node **root, bool *empty)
{
  return cfg_yaml_parse_stream(a, dc, file, data, len, NULL, root, empty);
}
