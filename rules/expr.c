/* SPDX-License-Identifier: Apache-2.0 */
/*
 * expr: compile a rule's `when` expression (grammar in rules/expr.h) into a
 * flat postfix program, and run that program on a fixed stack.
 *
 * The parser is recursive descent over a one-token lookahead lexer. Every
 * parse function returns the type of what it parsed (number or condition),
 * so type errors are found at compile time and the program needs no type
 * checks when it runs. Conditions are 1.0/0.0 on the same stack as numbers.
 *
 * Evaluation allocates nothing: the compiler proves the stack depth the
 * program needs (bounded by the nesting limit) and expr_eval() uses a stack
 * array of EXPR_STACK_MAX doubles.
 *
 * NaN: every comparison with a NaN operand is false, `!=` included (the
 * header's rule, so `x != y` never fires on a missing figure).
 */
#include "rules/expr.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rs_util.h"

#define EXPR_MAX_SRC   4096
#define EXPR_MAX_DEPTH 64
#define EXPR_STACK_MAX 512
#define EXPR_NAME_MAX  64

const char *const expr_var_names[] = {"level_pct",    "days_left",  "cover_days",
                                      "rate_per_day", "confidence", "lead_time_days",
                                      "spares",       "value",      "hours_since_replacement",
                                      "open_orders",  "on_order",   "position_days",
                                      "days_left_p10", "days_left_p90", "cover_days_p10",
                                      "cover_days_p90", "runout_risk",
                                      NULL};

static const char *const func_names[] = {"min", "max", "abs", NULL};

const char *expr_var_name(enum expr_var v)
{
  if((unsigned)v >= EXPR_VAR_COUNT)
    return "?";
  return expr_var_names[v];
}

/* ---- the compiled program ---- */

enum op_kind {
  OP_NUM, /* push num */
  OP_VAR, /* push vars[var] */
  OP_NEG,
  OP_ADD,
  OP_SUB,
  OP_MUL,
  OP_DIV,
  OP_MIN,
  OP_MAX,
  OP_ABS,
  OP_LT,
  OP_LE,
  OP_GT,
  OP_GE,
  OP_EQ,
  OP_NE,
  OP_NOT,
  OP_AND,
  OP_OR
};

struct op {
  uint8_t kind;
  uint8_t var;
  double num;
};

struct expr {
  unsigned vars_used;
  size_t max_stack;
  size_t n;
  struct op code[];
};

/* ---- lexer ---- */

enum tok_kind {
  T_END,
  T_NUM,
  T_IDENT,
  T_LPAREN,
  T_RPAREN,
  T_COMMA,
  T_PLUS,
  T_MINUS,
  T_STAR,
  T_SLASH,
  T_LT,
  T_LE,
  T_GT,
  T_GE,
  T_EQ,
  T_NE,
  T_AND,
  T_OR,
  T_NOT,
  T_INF,
  T_BAD /* a character that starts no token; error already set */
};

struct tok {
  enum tok_kind kind;
  size_t off;
  size_t len;
  double num;
};

enum type { TY_NUM, TY_COND, TY_ERR };

struct parser {
  const char *src;
  size_t len;
  size_t pos; /* lexer position: just after tok */
  struct tok tok;
  int depth;
  struct expr_error *err;
  bool failed;
  /* program being built */
  struct op *code;
  size_t n, cap;
  size_t sp, max_sp; /* simulated stack depth */
  unsigned vars_used;
};

/* Record the first error only; later ones are consequences of it. */
static void fail(struct parser *p, size_t off, const char *fmt, ...) RS_PRINTF(3, 4);
static void fail(struct parser *p, size_t off, const char *fmt, ...)
{
  va_list ap;
  if(p->failed)
    return;
  p->failed = true;
  p->err->offset = off;
  va_start(ap, fmt);
  vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
  va_end(ap);
}

static bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

static bool is_ident_start(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident(char c)
{
  return is_ident_start(c) || is_digit(c);
}

/* Show a token's text in a message: quoted, cut at 40 bytes. */
static void tok_text(const struct parser *p, const struct tok *t, char *buf, size_t size)
{
  size_t n = t->len;
  if(t->kind == T_END) {
    snprintf(buf, size, "end of expression");
    return;
  }
  if(n > 40)
    snprintf(buf, size, "'%.40s...'", p->src + t->off);
  else
    snprintf(buf, size, "'%.*s'", (int)n, p->src + t->off);
}

static bool tok_is(const struct parser *p, const struct tok *t, const char *word)
{
  size_t n = strlen(word);
  return t->len == n && !memcmp(p->src + t->off, word, n);
}

/* Scan a number at p->pos into p->tok; on a malformed number set the error. */
static void lex_number(struct parser *p, size_t start)
{
  const char *s = p->src;
  size_t i = start;
  char buf[64];

  while(i < p->len && is_digit(s[i]))
    i++;
  if(i < p->len && s[i] == '.') {
    i++;
    if(i >= p->len || !is_digit(s[i])) {
      fail(p, start, "malformed number '%.*s' (expected digits after '.')", (int)(i - start),
           s + start);
      p->tok.kind = T_BAD;
      return;
    }
    while(i < p->len && is_digit(s[i]))
      i++;
  }
  if(i < p->len && (s[i] == 'e' || s[i] == 'E')) {
    size_t e = i + 1;
    if(e < p->len && (s[e] == '+' || s[e] == '-'))
      e++;
    if(e < p->len && is_digit(s[e])) {
      i = e;
      while(i < p->len && is_digit(s[i]))
        i++;
    }
  }
  if(i < p->len && (is_ident(s[i]) || s[i] == '.')) {
    size_t j = i;
    while(j < p->len && (is_ident(s[j]) || s[j] == '.'))
      j++;
    fail(p, start,
         "malformed number '%.*s' (numbers are plain decimals such as 2, 0.5 or 1e3; "
         "units are not allowed)",
         (int)(j - start > 40 ? 40 : j - start), s + start);
    p->tok.kind = T_BAD;
    return;
  }
  p->tok.len = i - start;
  if(p->tok.len < sizeof(buf)) {
    memcpy(buf, s + start, p->tok.len);
    buf[p->tok.len] = '\0';
  }
  if(p->tok.len >= sizeof(buf) || rs_parse_double(buf, &p->tok.num)) {
    fail(p, start, "number '%.*s' is out of range", (int)(p->tok.len > 40 ? 40 : p->tok.len),
         s + start);
    p->tok.kind = T_BAD;
    return;
  }
  p->tok.kind = T_NUM;
  p->pos = i;
}

/* Advance to the next token. On a lexical error the token is T_BAD. */
static void next(struct parser *p)
{
  const char *s = p->src;
  size_t i = p->pos;
  char c, d;

  while(i < p->len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
    i++;
  p->tok.off = i;
  p->tok.len = 1;
  p->tok.num = 0;
  if(i >= p->len) {
    p->tok.kind = T_END;
    p->tok.len = 0;
    p->pos = i;
    return;
  }
  c = s[i];
  d = i + 1 < p->len ? s[i + 1] : '\0';
  if(is_digit(c)) {
    lex_number(p, i);
    return;
  }
  if(is_ident_start(c)) {
    size_t j = i;
    while(j < p->len && is_ident(s[j]))
      j++;
    p->tok.len = j - i;
    p->pos = j;
    p->tok.kind = T_IDENT;
    if(tok_is(p, &p->tok, "and"))
      p->tok.kind = T_AND;
    else if(tok_is(p, &p->tok, "or"))
      p->tok.kind = T_OR;
    else if(tok_is(p, &p->tok, "not"))
      p->tok.kind = T_NOT;
    else if(tok_is(p, &p->tok, "inf"))
      p->tok.kind = T_INF;
    return;
  }
  p->pos = i + 1;
  {
    /* one-character tokens */
    static const char chars[] = "(),+-*/";
    static const enum tok_kind kinds[] = {T_LPAREN, T_RPAREN, T_COMMA, T_PLUS,
                                          T_MINUS,  T_STAR,   T_SLASH};
    const char *k = c ? strchr(chars, c) : NULL;
    if(k) {
      p->tok.kind = kinds[k - chars];
      return;
    }
  }
  if(d == '=' && (c == '<' || c == '>' || c == '=' || c == '!')) {
    /* two-character comparisons: <= >= == != */
    p->tok.kind = c == '<' ? T_LE : c == '>' ? T_GE : c == '=' ? T_EQ : T_NE;
    p->tok.len = 2;
    p->pos = i + 2;
    return;
  }
  switch(c) {
  case '<':
  case '>':
    p->tok.kind = c == '<' ? T_LT : T_GT;
    return;
  case '=':
    fail(p, i, "unexpected '=' (use '==' to compare)");
    break;
  case '!':
    fail(p, i, "unexpected '!' (use 'not')");
    break;
  case '&':
    fail(p, i, "unexpected '%s' (use 'and')", d == '&' ? "&&" : "&");
    break;
  case '|':
    fail(p, i, "unexpected '%s' (use 'or')", d == '|' ? "||" : "|");
    break;
  case '.':
    if(is_digit(d)) {
      fail(p, i, "malformed number (write a digit before '.', e.g. '0.5')");
      break;
    }
    fail(p, i, "unexpected '.'");
    break;
  default:
    if(c >= 0x21 && c <= 0x7e)
      fail(p, i, "unexpected character '%c'", c);
    else
      fail(p, i, "unexpected byte 0x%02x", (unsigned)(unsigned char)c);
    break;
  }
  p->tok.kind = T_BAD;
}

/* ---- code generation ---- */

/* Net stack effect of each op: pushes 1, unary 0, binary -1. */
static void emit(struct parser *p, enum op_kind k, uint8_t var, double num)
{
  if(p->failed)
    return;
  if(p->n == p->cap) {
    p->cap = p->cap ? p->cap * 2 : 32;
    p->code = rs_xrealloc(p->code, p->cap * sizeof(*p->code));
  }
  p->code[p->n].kind = (uint8_t)k;
  p->code[p->n].var = var;
  p->code[p->n].num = num;
  p->n++;
  switch(k) {
  case OP_NUM:
  case OP_VAR:
    p->sp++;
    if(p->sp > p->max_sp)
      p->max_sp = p->sp;
    break;
  case OP_NEG:
  case OP_ABS:
  case OP_NOT:
    break;
  default:
    p->sp--;
    break;
  }
}

/* ---- parser ---- */

static enum type parse_or(struct parser *p);
static enum type parse_sum(struct parser *p);

/* Describe what was found where something else was expected. */
static void unexpected(struct parser *p, const char *expected)
{
  char what[64];
  if(p->failed || p->tok.kind == T_BAD)
    return;
  tok_text(p, &p->tok, what, sizeof(what));
  fail(p, p->tok.off, "unexpected %s (expected %s)", what, expected);
}

/* Enter one nesting level at the current token; false when too deep. */
static bool enter(struct parser *p)
{
  if(++p->depth > EXPR_MAX_DEPTH) {
    fail(p, p->tok.off, "expression nests deeper than %d levels", EXPR_MAX_DEPTH);
    return false;
  }
  return true;
}

static void leave(struct parser *p)
{
  p->depth--;
}

/* Require type want of an operand starting at off; name says who needs it. */
static bool need(struct parser *p, enum type got, enum type want, size_t off, const char *who,
                 const char *side)
{
  if(got == TY_ERR || p->failed)
    return false;
  if(got == want)
    return true;
  if(want == TY_NUM)
    fail(p, off, "%s needs numbers, but its %s is a condition", who, side);
  else
    fail(p, off, "%s needs conditions, but its %s is a number (compare it, e.g. 'days_left < 5')",
         who, side);
  return false;
}

static int find_name(const char *name, const char *const *list)
{
  int i;
  for(i = 0; list[i]; i++)
    if(!strcmp(name, list[i]))
      return i;
  return -1;
}

/* min(...), max(...), abs(...): the name token is current; f is its index. */
static enum type parse_call(struct parser *p, int f)
{
  struct tok name = p->tok;
  unsigned nargs = 0;
  const char *fname = func_names[f];
  enum op_kind op = f == 0 ? OP_MIN : f == 1 ? OP_MAX : OP_ABS;

  next(p);
  if(p->tok.kind != T_LPAREN) {
    unexpected(p, "'(' after a function name");
    return TY_ERR;
  }
  if(!enter(p))
    return TY_ERR;
  next(p);
  if(p->tok.kind == T_RPAREN) {
    fail(p, name.off, "%s() takes %s, got none", fname,
         op == OP_ABS ? "exactly 1 argument" : "at least 2 arguments");
    return TY_ERR;
  }
  for(;;) {
    size_t aoff = p->tok.off;
    enum type t = parse_sum(p);
    char who[16];
    snprintf(who, sizeof(who), "%s()", fname);
    if(!need(p, t, TY_NUM, aoff, who, "argument"))
      return TY_ERR;
    nargs++;
    if(nargs >= 2 && op != OP_ABS)
      emit(p, op, 0, 0);
    if(p->tok.kind == T_COMMA) {
      next(p);
      continue;
    }
    if(p->tok.kind == T_RPAREN)
      break;
    if(p->tok.kind == T_END) {
      fail(p, name.off, "unterminated parenthesis: '(' of %s() is never closed", fname);
      return TY_ERR;
    }
    unexpected(p, "an operator, ',' or ')'");
    return TY_ERR;
  }
  if(op == OP_ABS && nargs != 1) {
    fail(p, name.off, "abs() takes exactly 1 argument, got %u", nargs);
    return TY_ERR;
  }
  if(op != OP_ABS && nargs < 2) {
    fail(p, name.off, "%s() takes at least 2 arguments, got 1", fname);
    return TY_ERR;
  }
  if(op == OP_ABS)
    emit(p, OP_ABS, 0, 0);
  leave(p);
  next(p);
  return TY_NUM;
}

static enum type parse_ident(struct parser *p)
{
  char name[EXPR_NAME_MAX + 1];
  const char *sugg;
  int v, f;
  bool call;
  size_t j;

  if(p->tok.len > EXPR_NAME_MAX) {
    fail(p, p->tok.off, "unknown name '%.40s...'", p->src + p->tok.off);
    return TY_ERR;
  }
  memcpy(name, p->src + p->tok.off, p->tok.len);
  name[p->tok.len] = '\0';
  v = find_name(name, expr_var_names);
  if(v >= 0) {
    p->vars_used |= 1u << v;
    emit(p, OP_VAR, (uint8_t)v, 0);
    next(p);
    return TY_NUM;
  }
  f = find_name(name, func_names);
  if(f >= 0)
    return parse_call(p, f);
  /* Unknown: a function when followed by '(' (peek past spaces). */
  j = p->pos;
  while(j < p->len &&
        (p->src[j] == ' ' || p->src[j] == '\t' || p->src[j] == '\n' || p->src[j] == '\r'))
    j++;
  call = j < p->len && p->src[j] == '(';
  if(call) {
    sugg = rs_did_you_mean(name, func_names);
    if(sugg)
      fail(p, p->tok.off, "unknown function '%s' (did you mean '%s'?)", name, sugg);
    else
      fail(p, p->tok.off, "unknown function '%s' (functions are min, max and abs)", name);
  }
  else {
    sugg = rs_did_you_mean(name, expr_var_names);
    if(sugg)
      fail(p, p->tok.off, "unknown variable '%s' (did you mean '%s'?)", name, sugg);
    else {
      char list[512];
      size_t k, o = 0;
      list[0] = '\0';
      for(k = 0; expr_var_names[k] && o < sizeof(list); k++) {
        int w = snprintf(list + o, sizeof(list) - o, "%s%s", k ? ", " : "", expr_var_names[k]);
        if(w < 0)
          break;
        o += (size_t)w;
      }
      fail(p, p->tok.off, "unknown variable '%s' (variables are %s)", name, list);
    }
  }
  return TY_ERR;
}

static enum type parse_primary(struct parser *p)
{
  switch(p->tok.kind) {
  case T_NUM:
    emit(p, OP_NUM, 0, p->tok.num);
    next(p);
    return TY_NUM;
  case T_INF:
    emit(p, OP_NUM, 0, INFINITY);
    next(p);
    return TY_NUM;
  case T_IDENT:
    return parse_ident(p);
  case T_LPAREN: {
    size_t open = p->tok.off;
    enum type t;
    if(!enter(p))
      return TY_ERR;
    next(p);
    if(p->tok.kind == T_RPAREN) {
      fail(p, p->tok.off, "empty parentheses (expected an expression inside '(' ')')");
      return TY_ERR;
    }
    t = parse_or(p);
    if(t == TY_ERR)
      return TY_ERR;
    if(p->tok.kind == T_END) {
      fail(p, open, "unterminated parenthesis: '(' at offset %zu is never closed", open);
      return TY_ERR;
    }
    if(p->tok.kind != T_RPAREN) {
      unexpected(p, "an operator or ')'");
      return TY_ERR;
    }
    leave(p);
    next(p);
    return t;
  }
  default: /* T_END included */
    unexpected(p, "a number, a variable or '('");
    return TY_ERR;
  }
}

/*
 * Step over operator `who` (the current token), parse its operand with sub
 * and check it is of type want (side names it in messages). false after an
 * error.
 */
static bool operand(struct parser *p, enum type want, const char *who, const char *side,
                    enum type (*sub)(struct parser *))
{
  size_t off;
  next(p);
  off = p->tok.off;
  return need(p, sub(p), want, off, who, side);
}

/* A prefix operator `who` of type want (sub may recurse). want, or TY_ERR. */
static enum type prefix(struct parser *p, enum type want, const char *who,
                        enum type (*sub)(struct parser *), enum op_kind op)
{
  if(!enter(p) || !operand(p, want, who, "operand", sub))
    return TY_ERR;
  emit(p, op, 0, 0);
  leave(p);
  return want;
}

/*
 * A binary operator `who` whose left side t (starting at off) is parsed:
 * check it, then the right side from sub, both of type want; emit op.
 * false after an error.
 */
static bool infix(struct parser *p, enum type t, size_t off, enum type want, const char *who,
                  enum type (*sub)(struct parser *), enum op_kind op)
{
  if(!need(p, t, want, off, who, "left side") || !operand(p, want, who, "right side", sub))
    return false;
  emit(p, op, 0, 0);
  return true;
}

static enum type parse_unary(struct parser *p)
{
  if(p->tok.kind == T_MINUS)
    return prefix(p, TY_NUM, "unary '-'", parse_unary, OP_NEG);
  return parse_primary(p);
}

/* One binary operator of a left-associative level. */
struct binop {
  enum tok_kind tok;
  enum op_kind op;
  const char *who; /* for messages */
};

/*
 * A left-associative level: operands parsed with sub, joined by any of the
 * n operators ops, all of type want. Returns the level's type (that of a
 * lone operand when no operator follows), or TY_ERR after an error.
 */
static enum type parse_level(struct parser *p, enum type want, enum type (*sub)(struct parser *),
                             const struct binop *ops, size_t n)
{
  size_t off = p->tok.off, i;
  enum type t = sub(p);
  while(t != TY_ERR) {
    for(i = 0; i < n && p->tok.kind != ops[i].tok; i++)
      ;
    if(i == n)
      break;
    if(!infix(p, t, off, want, ops[i].who, sub, ops[i].op))
      return TY_ERR;
  }
  return t;
}

static enum type parse_product(struct parser *p)
{
  static const struct binop ops[] = {{T_STAR, OP_MUL, "'*'"}, {T_SLASH, OP_DIV, "'/'"}};
  return parse_level(p, TY_NUM, parse_unary, ops, 2);
}

static enum type parse_sum(struct parser *p)
{
  static const struct binop ops[] = {{T_PLUS, OP_ADD, "'+'"}, {T_MINUS, OP_SUB, "'-'"}};
  return parse_level(p, TY_NUM, parse_product, ops, 2);
}

static bool is_cmp(enum tok_kind k)
{
  return k == T_LT || k == T_LE || k == T_GT || k == T_GE || k == T_EQ || k == T_NE;
}

static enum type parse_cmp(struct parser *p)
{
  size_t off = p->tok.off;
  enum type t = parse_sum(p);
  if(t != TY_ERR && is_cmp(p->tok.kind)) {
    static const enum op_kind ops[] = {OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ, OP_NE};
    char who[8];
    snprintf(who, sizeof(who), "'%.*s'", (int)p->tok.len, p->src + p->tok.off);
    if(!infix(p, t, off, TY_NUM, who, parse_sum, ops[p->tok.kind - T_LT]))
      return TY_ERR;
    if(is_cmp(p->tok.kind)) {
      fail(p, p->tok.off, "comparisons do not chain (write 'a < b and b < c')");
      return TY_ERR;
    }
    return TY_COND;
  }
  return t;
}

static enum type parse_not(struct parser *p)
{
  if(p->tok.kind == T_NOT)
    return prefix(p, TY_COND, "'not'", parse_not, OP_NOT);
  return parse_cmp(p);
}

static enum type parse_and(struct parser *p)
{
  static const struct binop ops[] = {{T_AND, OP_AND, "'and'"}};
  return parse_level(p, TY_COND, parse_not, ops, 1);
}

static enum type parse_or(struct parser *p)
{
  static const struct binop ops[] = {{T_OR, OP_OR, "'or'"}};
  return parse_level(p, TY_COND, parse_and, ops, 1);
}

/*
 * Compile src[0..len) (grammar in expr.h). Returns a malloc'd program the
 * caller frees with expr_free(), or NULL with err filled (err may be NULL
 * when the caller does not want the reason). Never reads src past len.
 */
struct expr *expr_compile(const char *src, size_t len, struct expr_error *err)
{
  struct expr_error dummy;
  struct parser p;
  struct expr *e = NULL;
  size_t start;
  enum type t;

  if(!err)
    err = &dummy;
  memset(err, 0, sizeof(*err));
  memset(&p, 0, sizeof(p));
  p.src = src ? src : "";
  p.len = src ? len : 0;
  p.err = err;

  if(p.len > EXPR_MAX_SRC) {
    fail(&p, EXPR_MAX_SRC, "expression is %zu bytes long (at most %d allowed)", p.len,
         EXPR_MAX_SRC);
    goto out;
  }
  next(&p);
  if(p.failed)
    goto out;
  start = p.tok.off;
  if(p.tok.kind == T_END) {
    fail(&p, start, "empty expression (expected a condition, e.g. 'days_left < 5')");
    goto out;
  }
  t = parse_or(&p);
  if(p.failed)
    goto out;
  if(p.tok.kind != T_END) {
    char what[64];
    tok_text(&p, &p.tok, what, sizeof(what));
    if(p.tok.kind == T_RPAREN)
      fail(&p, p.tok.off, "unexpected ')' (no matching '(')");
    else
      fail(&p, p.tok.off,
           "unexpected %s after a complete expression (expected an operator, "
           "'and', 'or' or the end)",
           what);
    goto out;
  }
  if(t != TY_COND) {
    fail(&p, start, "expression is a number, not a condition (compare it, e.g. 'days_left < 5')");
    goto out;
  }
  if(p.max_sp > EXPR_STACK_MAX) {
    fail(&p, start, "expression is too complex");
    goto out;
  }
  e = rs_xmalloc(sizeof(*e) + p.n * sizeof(struct op));
  e->vars_used = p.vars_used;
  e->max_stack = p.max_sp;
  e->n = p.n;
  memcpy(e->code, p.code, p.n * sizeof(struct op));
out:
  FREE_NULL(p.code);
  return e;
}

void expr_free(struct expr *e)
{
  free(e);
}

unsigned expr_vars_used(const struct expr *e)
{
  return e ? e->vars_used : 0;
}

/* A comparison is false whenever an operand is NaN (see the top comment). */
static bool cmp_ok(double a, double b)
{
  return !isnan(a) && !isnan(b);
}

/*
 * Run e on vars. Returns 1 when the condition holds, 0 otherwise (and for
 * a NULL e). Allocates nothing; the stack bound was proven at compile time.
 */
int expr_eval(const struct expr *e, const double vars[EXPR_VAR_COUNT])
{
  double st[EXPR_STACK_MAX];
  size_t sp = 0;
  size_t i;

  if(!e || !e->n)
    return 0;
  for(i = 0; i < e->n; i++) {
    const struct op *o = &e->code[i];
    double a, b;
    switch((enum op_kind)o->kind) {
    case OP_NUM:
      st[sp++] = o->num;
      continue;
    case OP_VAR:
      st[sp++] = vars[o->var];
      continue;
    case OP_NEG:
      st[sp - 1] = -st[sp - 1];
      continue;
    case OP_ABS:
      st[sp - 1] = fabs(st[sp - 1]);
      continue;
    case OP_NOT:
      st[sp - 1] = st[sp - 1] != 0.0 ? 0.0 : 1.0;
      continue;
    default:
      break;
    }
    b = st[--sp];
    a = st[sp - 1];
    switch((enum op_kind)o->kind) {
    case OP_ADD:
      a = a + b;
      break;
    case OP_SUB:
      a = a - b;
      break;
    case OP_MUL:
      a = a * b;
      break;
    case OP_DIV:
      a = a / b;
      break;
    /* fmin/fmax drop a NaN operand; keep it so a missing figure stays missing */
    case OP_MIN:
      a = isnan(a) || isnan(b) ? NAN : fmin(a, b);
      break;
    case OP_MAX:
      a = isnan(a) || isnan(b) ? NAN : fmax(a, b);
      break;
    case OP_LT:
      a = a < b;
      break;
    case OP_LE:
      a = a <= b;
      break;
    case OP_GT:
      a = a > b;
      break;
    case OP_GE:
      a = a >= b;
      break;
    case OP_EQ:
      a = a == b;
      break;
    case OP_NE:
      a = cmp_ok(a, b) && a != b;
      break;
    case OP_AND:
      a = a != 0.0 && b != 0.0;
      break;
    case OP_OR:
      a = a != 0.0 || b != 0.0;
      break;
    default:
      a = NAN;
      break;
    }
    st[sp - 1] = a;
  }
  return st[0] != 0.0;
}
