/*
 * expr_parse.c - the lexer and the parser of the expression language: rule
 * text to tree (fld_expr_parse() in expr.h; the tree in expr_int.h).
 *
 * Where it sits: called once per rule when a template is loaded
 * (template.c), never while answers are evaluated. Besides building the
 * tree it settles what can be settled before evaluation: unknown
 * functions and wrong argument counts are parse errors, threshold() and
 * param() must name a literal, and a regex() with a literal pattern is
 * compiled here, once (rx.h).
 *
 * A hand-written lexer and a recursive-descent parser with one function
 * per precedence level of XPath 1.0:
 *
 *     or < and < (= !=) < (< <= > >=) < (+ -) < (* div mod) < unary -
 *
 * A run of operators of one level, such as 1+1+1+...+1, becomes a single
 * node with n children instead of a left-leaning chain n nodes deep, and a
 * run of unary minus signs is counted, not recursed into. So the only way
 * to make the tree (and the C stack of the parser and of the evaluator)
 * deeper is to open a parenthesis or a function call, and those are
 * counted against FLD_EXPR_MAX_DEPTH. Each such level costs at most seven
 * nodes (one per precedence level), so no input can take the evaluator
 * deeper than about 7 * FLD_EXPR_MAX_DEPTH frames. The input is checked to
 * be valid UTF-8 and at most FLD_EXPR_MAX_LEN bytes before the lexer
 * starts, so the lexer may decode without checking again.
 *
 * and, or, div and mod are names, not reserved words: after an operand a
 * name can only be an operator, and before one only a function call, so
 * the parser tells them apart by position (op_at(), parse_call()).
 */
#include "expr.h"

#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "expr_int.h"
#include "rx.h"
#include "utf8.h"

/* ---- the lexer ------------------------------------------------------ */

enum tok {
    T_END,
    T_NUM,
    T_STR,
    T_REF,
    T_DOT,
    T_LPAREN,
    T_RPAREN,
    T_COMMA,
    T_PLUS,
    T_MINUS,
    T_STAR,
    T_EQ,
    T_NE,
    T_LT,
    T_LE,
    T_GT,
    T_GE,
    T_NAME
};

struct token {
    enum tok type;
    size_t pos, len; /* the token's bytes in the source */
};

struct parser {
    const char *src;
    size_t pos;       /* where the lexer goes on */
    struct token tok; /* the token being looked at */
    int depth;        /* open parentheses and calls */
    struct fld_expr *e;
    struct fld_err *err;
};

static int perr(struct parser *p, int code, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Report a parse error at byte pos: "column N: ...". */
static int perr(struct parser *p, int code, size_t pos, const char *fmt, ...)
{
    char msg[FLD_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fld_err_set(p->err, code, "column %zu: %s",
                       fld_expr_column(p->src, pos), msg);
}

static bool is_name_start(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_name_char(int c)
{
    return is_name_start(c) || is_digit(c) || c == '-' || c == '.';
}

static int lex_string(struct parser *p, size_t start)
{
    const char *end = strchr(p->src + start + 1, p->src[start]);

    if (end == NULL)
        return perr(p, FLD_EINVAL, start, "unterminated string");
    p->tok.type = T_STR;
    p->pos = (size_t)(end - p->src) + 1;
    return FLD_OK;
}

/* ${name}: a letter or '_', then letters, digits, '_', '-', '.'. */
static int lex_ref(struct parser *p, size_t start)
{
    size_t i = start + 2;

    if (!is_name_start(p->src[i]))
        return perr(p, FLD_EINVAL, start, "expected a name after '${'");
    while (is_name_char(p->src[i]))
        i++;
    if (p->src[i] != '}')
        return perr(p, FLD_EINVAL, i, "expected '}' to end ${%.*s",
                    (int)(i - start - 2), p->src + start + 2);
    p->tok.type = T_REF;
    p->pos = i + 1;
    return FLD_OK;
}

/* Number: digits, optionally a point and digits; or a point and digits. */
static void lex_number(struct parser *p, size_t start)
{
    size_t i = start;

    while (is_digit(p->src[i]))
        i++;
    if (p->src[i] == '.')
        for (i++; is_digit(p->src[i]); i++)
            ;
    p->tok.type = T_NUM;
    p->pos = i;
}

/* One- and two-character operators; false when c starts none. */
static bool lex_operator(struct parser *p, size_t i)
{
    static const struct {
        char text[3];
        enum tok type;
    } ops[] = {
        {"!=", T_NE},    {"<=", T_LE},   {">=", T_GE},  {"(", T_LPAREN},
        {")", T_RPAREN}, {",", T_COMMA}, {"+", T_PLUS}, {"-", T_MINUS},
        {"*", T_STAR},   {"=", T_EQ},    {"<", T_LT},   {">", T_GT},
    };
    size_t k, len;

    for (k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        len = strlen(ops[k].text);
        if (strncmp(p->src + i, ops[k].text, len) == 0) {
            p->tok.type = ops[k].type;
            p->pos = i + len;
            return true;
        }
    }
    return false;
}

/* Read the next token into p->tok. */
static int lex(struct parser *p)
{
    size_t i = p->pos;
    unsigned char c;
    int rc = FLD_OK;

    while (is_space(p->src[i]))
        i++;
    c = (unsigned char)p->src[i];
    p->tok.pos = i;
    p->pos = i;
    if (c == '\0')
        p->tok.type = T_END;
    else if (c == '\'' || c == '"')
        rc = lex_string(p, i);
    else if (c == '$' && p->src[i + 1] == '{')
        rc = lex_ref(p, i);
    else if (is_digit(c) || (c == '.' && is_digit(p->src[i + 1])))
        lex_number(p, i);
    else if (c == '.') {
        p->tok.type = T_DOT;
        p->pos = i + 1;
    } else if (is_name_start(c)) {
        for (p->pos = i + 1; is_name_char(p->src[p->pos]); p->pos++)
            ;
        p->tok.type = T_NAME;
    } else if (!lex_operator(p, i)) {
        uint32_t cp = 0;

        fld_utf8_decode((const uint8_t *)p->src + i, strlen(p->src + i), &cp);
        if (cp >= 0x21 && cp < 0x7f)
            return perr(p, FLD_EINVAL, i, "unexpected '%c'", (int)cp);
        return perr(p, FLD_EINVAL, i, "unexpected character U+%04X",
                    (unsigned)cp);
    }
    p->tok.len = p->pos - p->tok.pos;
    return rc;
}

static bool tok_is(const struct parser *p, const char *word)
{
    size_t len = strlen(word);

    return p->tok.type == T_NAME && p->tok.len == len &&
           strncmp(p->src + p->tok.pos, word, len) == 0;
}

/* ---- the parser ----------------------------------------------------- */

static int parse_level(struct parser *p, enum level level, size_t *out);

static size_t new_node(struct parser *p, enum node_kind kind, size_t pos)
{
    struct fld_expr *e = p->e;
    struct node *n;

    if (e->n_nodes == e->cap_nodes) {
        e->cap_nodes = e->cap_nodes ? 2 * e->cap_nodes : 16;
        e->nodes = fld_xreallocarray(e->nodes, e->cap_nodes, sizeof *n);
    }
    n = &e->nodes[e->n_nodes];
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->pos = pos;
    return e->n_nodes++;
}

static void add_kid(struct parser *p, size_t parent, size_t kid, enum op op)
{
    struct node *n = &p->e->nodes[parent];

    if (n->n_kids == n->cap_kids) {
        n->cap_kids = n->cap_kids ? 2 * n->cap_kids : 2;
        n->kids = fld_xreallocarray(n->kids, n->cap_kids, sizeof *n->kids);
        if (n->kind == N_CHAIN)
            n->ops = fld_xrealloc(n->ops, n->cap_kids);
    }
    if (n->kind == N_CHAIN)
        n->ops[n->n_kids] = (unsigned char)op;
    n->kids[n->n_kids++] = kid;
}

/* The operator of this level that p->tok is, or OP_NONE. and, or, div and
 * mod are names; here, after an operand, a name can only be one of them. */
static enum op op_at(const struct parser *p, enum level level)
{
    enum tok t = p->tok.type;

    switch (level) {
    case L_OR:
        return tok_is(p, "or") ? OP_OR : OP_NONE;
    case L_AND:
        return tok_is(p, "and") ? OP_AND : OP_NONE;
    case L_EQ:
        return t == T_EQ ? OP_EQ : t == T_NE ? OP_NE : OP_NONE;
    case L_REL:
        return t == T_LT   ? OP_LT
               : t == T_LE ? OP_LE
               : t == T_GT ? OP_GT
               : t == T_GE ? OP_GE
                           : OP_NONE;
    case L_ADD:
        return t == T_PLUS ? OP_ADD : t == T_MINUS ? OP_SUB : OP_NONE;
    case L_MUL:
        return t == T_STAR        ? OP_MUL
               : tok_is(p, "div") ? OP_DIV
               : tok_is(p, "mod") ? OP_MOD
                                  : OP_NONE;
    case N_LEVELS:
        break;
    }
    return OP_NONE;
}

/* A parenthesis or a call opens a level, refused past the limit. */
static int enter(struct parser *p)
{
    if (++p->depth > FLD_EXPR_MAX_DEPTH)
        return perr(p, FLD_ELIMIT, p->tok.pos, "nested deeper than %d",
                    FLD_EXPR_MAX_DEPTH);
    return FLD_OK;
}

static int expect_rparen(struct parser *p, size_t open)
{
    if (p->tok.type == T_RPAREN)
        return FLD_OK;
    if (p->tok.type == T_END)
        return perr(p, FLD_EINVAL, p->tok.pos,
                    "expected ')' to close the '(' of column %zu",
                    fld_expr_column(p->src, open));
    return perr(p, FLD_EINVAL, p->tok.pos, "expected ')'");
}

static int check_arity(struct parser *p, size_t call)
{
    const struct node *n = &p->e->nodes[call];
    const struct func *fn = n->fn;

    if (n->n_kids >= fn->min_args && n->n_kids <= fn->max_args)
        return FLD_OK;
    if (fn->max_args == MANY)
        return perr(p, FLD_EINVAL, n->pos,
                    "%s() takes at least %zu argument%s, not %zu", fn->name,
                    fn->min_args, fn->min_args == 1 ? "" : "s", n->n_kids);
    if (fn->min_args == fn->max_args)
        return perr(p, FLD_EINVAL, n->pos, "%s() takes %zu argument%s, not %zu",
                    fn->name, fn->min_args, fn->min_args == 1 ? "" : "s",
                    n->n_kids);
    return perr(p, FLD_EINVAL, n->pos,
                "%s() takes %zu %s %zu arguments, not %zu", fn->name,
                fn->min_args, fn->max_args == fn->min_args + 1 ? "or" : "to",
                fn->max_args, n->n_kids);
}

/* The literal text of argument k of a call, or NULL when not a literal. */
static const struct node *literal_arg(struct parser *p, size_t call, size_t k)
{
    const struct node *n = &p->e->nodes[call];
    const struct node *arg = &p->e->nodes[n->kids[k]];

    return arg->kind == N_STR ? arg : NULL;
}

/*
 * What some functions need settled at parse time: threshold() and param()
 * name what they read, so the name must be a literal; a literal regex()
 * pattern is compiled once, here; string-length() alone means '.'.
 */
static int finish_call(struct parser *p, size_t call)
{
    struct node *n = &p->e->nodes[call];
    const char *name = n->fn->name;
    const struct node *arg;

    if (strcmp(name, "threshold") == 0 || strcmp(name, "param") == 0) {
        arg = literal_arg(p, call, 0);
        if (arg == NULL || arg->s == NULL)
            return perr(p, FLD_EINVAL, n->pos, "%s() takes a quoted name",
                        name);
        n->name = fld_expr_add_name(name[0] == 't' ? &p->e->thresholds
                                                   : &p->e->params,
                                    arg->s, strlen(arg->s));
    } else if (strcmp(name, "regex") == 0) {
        struct fld_err why;
        int rc;

        arg = literal_arg(p, call, 1);
        if (arg == NULL)
            return FLD_OK; /* compiled when evaluated */
        rc = fld_rx_compile(arg->s ? arg->s : "", &n->rx, &why);
        if (rc != FLD_OK)
            return perr(p, rc, arg->pos, "regex(): %s", why.msg);
    } else if (strcmp(name, "string-length") == 0 && n->n_kids == 0) {
        size_t self = new_node(p, N_SELF, p->e->nodes[call].pos);

        p->e->uses_self = true;
        add_kid(p, call, self, OP_NONE);
    }
    return FLD_OK;
}

static bool is_operator_word(const char *s, size_t len)
{
    static const char *const words[] = {"and", "or", "div", "mod"};
    size_t i;

    for (i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strlen(words[i]) == len && strncmp(words[i], s, len) == 0)
            return true;
    return false;
}

/* name(args): p->tok is the name. */
static int parse_call(struct parser *p, size_t *out)
{
    struct token name = p->tok;
    const struct func *fn = fld_expr_find_func(p->src + name.pos, name.len);
    size_t call, kid, n_args = 0;
    int rc;

    rc = lex(p);
    if (rc != FLD_OK)
        return rc;
    if (p->tok.type != T_LPAREN) {
        if (is_operator_word(p->src + name.pos, name.len))
            return perr(p, FLD_EINVAL, name.pos,
                        "expected an expression, not '%.*s'", (int)name.len,
                        p->src + name.pos);
        return perr(p, FLD_EINVAL, name.pos,
                    "unknown name '%.*s' (a question is written ${%.*s})",
                    (int)name.len, p->src + name.pos, (int)name.len,
                    p->src + name.pos);
    }
    if (fn == NULL)
        return perr(p, FLD_EINVAL, name.pos, "unknown function %.*s()",
                    (int)name.len, p->src + name.pos);
    rc = enter(p);
    if (rc != FLD_OK)
        return rc;
    call = new_node(p, N_CALL, name.pos);
    p->e->nodes[call].fn = fn;
    rc = lex(p);
    /* arguments: none, or expressions separated by commas */
    while (rc == FLD_OK && (p->tok.type != T_RPAREN || n_args > 0)) {
        rc = parse_level(p, L_OR, &kid);
        if (rc != FLD_OK)
            return rc;
        add_kid(p, call, kid, OP_NONE);
        n_args++;
        if (p->tok.type != T_COMMA)
            break;
        rc = lex(p);
    }
    if (rc == FLD_OK)
        rc = expect_rparen(p, name.pos + name.len);
    if (rc == FLD_OK)
        rc = check_arity(p, call);
    if (rc == FLD_OK)
        rc = finish_call(p, call);
    if (rc != FLD_OK)
        return rc;
    p->depth--;
    *out = call;
    return lex(p);
}

static int parse_group(struct parser *p, size_t *out)
{
    size_t open = p->tok.pos;
    int rc = enter(p);

    if (rc == FLD_OK)
        rc = lex(p);
    if (rc == FLD_OK)
        rc = parse_level(p, L_OR, out);
    if (rc == FLD_OK)
        rc = expect_rparen(p, open);
    if (rc != FLD_OK)
        return rc;
    p->depth--;
    return lex(p);
}

/* A leaf: the token is consumed and becomes one node. */
static int parse_leaf(struct parser *p, size_t *out)
{
    const struct token t = p->tok;
    struct node *n;

    switch (t.type) {
    case T_NUM:
        *out = new_node(p, N_NUM, t.pos);
        /* the lexer checked the digits; the token ends at a non-digit */
        p->e->nodes[*out].num = strtod(p->src + t.pos, NULL);
        break;
    case T_STR:
        *out = new_node(p, N_STR, t.pos);
        if (t.len > 2)
            p->e->nodes[*out].s = fld_xstrndup(p->src + t.pos + 1, t.len - 2);
        break;
    case T_REF:
        *out = new_node(p, N_REF, t.pos);
        n = &p->e->nodes[*out];
        n->name = fld_expr_add_name(&p->e->refs, p->src + t.pos + 2, t.len - 3);
        break;
    case T_DOT:
        *out = new_node(p, N_SELF, t.pos);
        p->e->uses_self = true;
        break;
    default:
        if (t.type == T_END)
            return perr(p, FLD_EINVAL, t.pos, "expected an expression");
        return perr(p, FLD_EINVAL, t.pos, "expected an expression, not '%.*s'",
                    (int)t.len, p->src + t.pos);
    }
    return lex(p);
}

static int parse_primary(struct parser *p, size_t *out)
{
    if (p->tok.type == T_LPAREN)
        return parse_group(p, out);
    if (p->tok.type == T_NAME)
        return parse_call(p, out);
    return parse_leaf(p, out);
}

/* Unary minus signs are counted, not recursed into: "- - - ... 1" of any
 * length costs one node. An even count still converts to a number. */
static int parse_unary(struct parser *p, size_t *out)
{
    size_t n_signs = 0, pos = p->tok.pos, operand = 0, neg;
    int rc = FLD_OK;

    while (rc == FLD_OK && p->tok.type == T_MINUS) {
        n_signs++;
        rc = lex(p);
    }
    if (rc == FLD_OK)
        rc = parse_primary(p, &operand);
    if (rc != FLD_OK || n_signs == 0) {
        *out = operand;
        return rc;
    }
    neg = new_node(p, N_NEG, pos);
    p->e->nodes[neg].is_odd = n_signs % 2 == 1;
    add_kid(p, neg, operand, OP_NONE);
    *out = neg;
    return FLD_OK;
}

/* One precedence level: operand (op operand)*, as one n-ary node. */
static int parse_level(struct parser *p, enum level level, size_t *out)
{
    size_t first, chain, kid;
    enum op op;
    int rc;

    if (level == N_LEVELS)
        return parse_unary(p, out);
    rc = parse_level(p, level + 1, &first);
    if (rc != FLD_OK)
        return rc;
    op = op_at(p, level);
    if (op == OP_NONE) {
        *out = first;
        return FLD_OK;
    }
    chain = new_node(p, N_CHAIN, p->tok.pos);
    p->e->nodes[chain].level = level;
    add_kid(p, chain, first, OP_NONE);
    while (op != OP_NONE) {
        rc = lex(p);
        if (rc == FLD_OK)
            rc = parse_level(p, level + 1, &kid);
        if (rc != FLD_OK)
            return rc;
        add_kid(p, chain, kid, op);
        op = op_at(p, level);
    }
    *out = chain;
    return FLD_OK;
}

/* Where the input stops being valid UTF-8 (it is known not to be). */
static size_t bad_utf8_at(const char *src, size_t len)
{
    size_t i = 0, n;
    uint32_t cp;

    while (i < len) {
        n = fld_utf8_decode((const uint8_t *)src + i, len - i, &cp);
        if (n == 0)
            break;
        i += n;
    }
    return i;
}

int fld_expr_parse(const char *src, struct fld_expr **out, struct fld_err *err)
{
    struct parser p;
    size_t len, root;
    int rc;

    assert(src != NULL && out != NULL);
    *out = NULL;
    memset(&p, 0, sizeof p);
    p.src = src;
    p.err = err;
    len = strnlen(src, FLD_EXPR_MAX_LEN + 1);
    if (len > FLD_EXPR_MAX_LEN)
        return perr(&p, FLD_ELIMIT, FLD_EXPR_MAX_LEN,
                    "expression longer than %d bytes", FLD_EXPR_MAX_LEN);
    if (!fld_utf8_valid((const uint8_t *)src, len))
        return perr(&p, FLD_EINVAL, bad_utf8_at(src, len), "not valid UTF-8");
    p.e = fld_xcalloc(1, sizeof *p.e);
    p.e->src = fld_xstrndup(src, len);
    rc = lex(&p);
    if (rc == FLD_OK)
        rc = parse_level(&p, L_OR, &root);
    if (rc == FLD_OK && p.tok.type != T_END) {
        if (p.tok.type == T_RPAREN)
            rc = perr(&p, FLD_EINVAL, p.tok.pos, "unexpected ')'");
        else
            rc = perr(&p, FLD_EINVAL, p.tok.pos, "expected an operator");
    }
    if (rc != FLD_OK) {
        fld_expr_free(p.e);
        return rc;
    }
    p.e->root = root;
    *out = p.e;
    return FLD_OK;
}
