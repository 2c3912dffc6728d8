/*
 * expr.c - the expression language of checklist templates (see expr.h for
 * the contract).
 *
 * Where it sits: the template loader parses every `relevant`, `constraint`,
 * `calculation`, `required` and criterion `met` rule once, with
 * fld_expr_parse(), and learns from the tree which names a rule reads (to
 * refuse unknown references and cycles). The form engine then evaluates the
 * same trees again and again as answers change, resolving names through
 * the callbacks of struct fld_expr_env. Nothing here knows what a template
 * is, and nothing here prints.
 *
 * Parsing. A hand-written lexer and a recursive-descent parser with one
 * function per precedence level of XPath 1.0:
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
 * deeper than about 7 * FLD_EXPR_MAX_DEPTH frames.
 *
 * Nodes live in one array and refer to their children by index, so freeing
 * a tree is a loop, not a recursion. Error messages name the column,
 * counted in characters from 1, of the token at fault: "column 7: expected
 * ')'". Evaluation errors name the column of the node that failed.
 *
 * Semantics: XPath 1.0 as XLSForm (ODK) uses it, with these decisions:
 *
 *   - Blanks. A blank is the empty string; any empty string a rule produces
 *     is a blank too (they behave identically). In arithmetic a blank is
 *     NaN; compared with a number it compares as NaN; compared with a
 *     string it is ''. So `${x} = ''` holds for a blank x.
 *   - NaN. Every comparison with NaN is false, except != which is true: in
 *     XPath (and IEEE 754) a != b is exactly not(a = b).
 *   - Division. 1 div 0 is Infinity, -1 div 0 is -Infinity, 0 div 0 is NaN,
 *     x mod 0 is NaN; mod truncates (-5 mod 3 = -2) as XPath says.
 *   - Numbers as text. Integers print without a point; other numbers print
 *     in the shortest decimal that reads back to the same double, never
 *     with an exponent (XPath: 1e21 is "1000000000000000000000"); NaN,
 *     Infinity and -Infinity print as those words.
 *   - Dates are strings "YYYY-MM-DD". Wherever a number is needed, a string
 *     that is exactly a valid date counts as its day number since
 *     1970-01-01 (ODK converts its date values the same way). So
 *     `${visit} < today()` compares days; `${visit} = today()` compares the
 *     strings, which is the same thing because the form is canonical;
 *     `today() - ${visit}` is a number of days. date() returns the string
 *     form: date('2025-1-1') is refused, date(0) is '1970-01-01' and
 *     number(date('1970-01-02')) is 1, as in XLSForm.
 *   - Lists. A LIST (a select_multiple answer, or a field of a repeat seen
 *     from outside) reads as its items joined by single spaces, which is
 *     the XForms value of a select_multiple. So a one-item list is its
 *     item, and a list of several items is NaN as a number (XPath would
 *     silently take the first; an arithmetic on a whole repeat column is a
 *     mistake that NaN makes visible). It is true when it has items.
 *   - sum() of a list with a blank item is NaN, as in ODK (JavaRosa adds
 *     number('') = NaN), and UNKNOWN in tri-state mode; sum() of no items
 *     is 0. count() and sum() take a single value as a one-item list.
 *   - round() rounds half away from zero (as ODK does, unlike XPath 1.0's
 *     round(-2.5) = -2), and rounds the decimal the number prints as, so
 *     round(1.005, 2) is 1.01 although the double 1.005 lies just below.
 *   - int() truncates toward zero; int(NaN) is NaN.
 *   - string-length() counts code points. Text is stored NFC (norm.c), so
 *     that is what a person calls characters for Vietnamese; decomposed
 *     input would count each combining mark separately.
 *   - regex() searches (it is not anchored: write ^ and $) with POSIX
 *     extended syntax, in a UTF-8 locale of its own whatever the program's
 *     locale, so '.' and [[:alpha:]] see Vietnamese letters as one
 *     character each on every device. Its work is kept linear in the
 *     text: the search runs as one anchored match of ^.*(P), and
 *     back-references are refused, and so are patterns over FLD_RX_MAX_LEN
 *     bytes or whose repetitions would expand past FLD_RX_MAX_COST (glibc
 *     copies a{n} n times). Text that is not UTF-8 is an error, as for
 *     string-length().
 *   - Numbers are read and written in the "C" LC_NUMERIC locale; field
 *     sets only LC_CTYPE, so a Vietnamese locale never turns "54.78" into
 *     "54,78".
 */
#include "expr.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "date.h"
#include "rx.h"
#include "value.h"
#include "utf8.h"

/* Functions with this many arguments or fewer keep them on the stack. */
#define ARGS_ON_STACK 4
#define MANY ((size_t)-1)

/* ---- the tree ------------------------------------------------------- */

enum node_kind {
    N_NUM,   /* a number literal */
    N_STR,   /* a string literal */
    N_REF,   /* ${name} */
    N_SELF,  /* . */
    N_NEG,   /* one or more unary minus signs */
    N_CHAIN, /* a run of binary operators of one precedence level */
    N_CALL   /* a function call */
};

/* Precedence levels, loosest first. */
enum level { L_OR, L_AND, L_EQ, L_REL, L_ADD, L_MUL, N_LEVELS };

enum op {
    OP_NONE,
    OP_OR,
    OP_AND,
    OP_EQ,
    OP_NE,
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE,
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_DIV,
    OP_MOD
};

struct call;

/* The function table: name, arity, and how to evaluate. A lazy function
 * evaluates its own arguments (if() and coalesce() must not evaluate the
 * branch they do not take); the others get them evaluated, and answer
 * UNKNOWN without being called when one of them is UNKNOWN. */
struct func {
    const char *name;
    size_t min_args, max_args;
    bool is_lazy;
    int (*eval)(const struct call *c, struct fld_value *out);
};

struct node {
    enum node_kind kind;
    enum level level;      /* N_CHAIN */
    bool is_odd;           /* N_NEG: an odd number of signs negates */
    size_t pos;            /* byte offset in the source, for messages */
    double num;            /* N_NUM */
    char *s;               /* N_STR: the text; NULL for '' */
    size_t name;           /* N_REF, threshold(), param(): name index */
    const struct func *fn; /* N_CALL */
    size_t *kids;          /* children, by index into fld_expr.nodes */
    unsigned char *ops;    /* N_CHAIN: ops[k] joins kids[k-1] to kids[k] */
    size_t n_kids, cap_kids;
    struct fld_rx *rx; /* regex() with a literal pattern: compiled */
};

/* The names a rule reads, each once, in order of first use. */
struct names {
    char **v;
    size_t n, cap;
};

struct fld_expr {
    char *src; /* a copy, so evaluation errors can name their column */
    struct node *nodes;
    size_t n_nodes, cap_nodes;
    size_t root;
    struct names refs, thresholds, params;
    bool uses_self;
};

/* Column (in characters, from 1) of byte offset pos in src. Continuation
 * bytes 10xxxxxx do not start a character. */
static size_t column(const char *src, size_t pos)
{
    size_t i, col = 1;

    for (i = 0; i < pos && src[i] != '\0'; i++)
        if (((unsigned char)src[i] & 0xc0) != 0x80)
            col++;
    return col;
}

static size_t add_name(struct names *names, const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < names->n; i++)
        if (strncmp(names->v[i], s, len) == 0 && names->v[i][len] == '\0')
            return i;
    if (names->n == names->cap) {
        names->cap = names->cap ? 2 * names->cap : 4;
        names->v = fld_xreallocarray(names->v, names->cap, sizeof *names->v);
    }
    names->v[names->n] = fld_xstrndup(s, len);
    return names->n++;
}

static void free_names(struct names *names)
{
    size_t i;

    for (i = 0; i < names->n; i++)
        free(names->v[i]);
    free(names->v);
}

void fld_expr_free(struct fld_expr *e)
{
    size_t i;

    if (e == NULL)
        return;
    for (i = 0; i < e->n_nodes; i++) {
        struct node *n = &e->nodes[i];

        free(n->s);
        free(n->kids);
        free(n->ops);
        fld_rx_free(n->rx);
    }
    free(e->nodes);
    free_names(&e->refs);
    free_names(&e->thresholds);
    free_names(&e->params);
    free(e->src);
    free(e);
}

size_t fld_expr_n_refs(const struct fld_expr *e)
{
    return e->refs.n;
}

const char *fld_expr_ref(const struct fld_expr *e, size_t i)
{
    assert(i < e->refs.n);
    return e->refs.v[i];
}

size_t fld_expr_n_thresholds(const struct fld_expr *e)
{
    return e->thresholds.n;
}

const char *fld_expr_threshold(const struct fld_expr *e, size_t i)
{
    assert(i < e->thresholds.n);
    return e->thresholds.v[i];
}

size_t fld_expr_n_params(const struct fld_expr *e)
{
    return e->params.n;
}

const char *fld_expr_param(const struct fld_expr *e, size_t i)
{
    assert(i < e->params.n);
    return e->params.v[i];
}

bool fld_expr_uses_self(const struct fld_expr *e)
{
    return e->uses_self;
}

/* XML white space, the only kind XPath knows. */
static bool is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

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
    return fld_err_set(p->err, code, "column %zu: %s", column(p->src, pos),
                       msg);
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
                    column(p->src, open));
    return perr(p, FLD_EINVAL, p->tok.pos, "expected ')'");
}

static const struct func *find_func(const char *name, size_t len);

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
        n->name = add_name(name[0] == 't' ? &p->e->thresholds : &p->e->params,
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
    const struct func *fn = find_func(p->src + name.pos, name.len);
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
        n->name = add_name(&p->e->refs, p->src + t.pos + 2, t.len - 3);
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

/* ---- evaluation ----------------------------------------------------- */

/*
 * A value that arrived from a callback, made regular: an empty string is
 * a blank, and a blank is UNKNOWN in tri-state mode (and UNKNOWN is a
 * blank outside it, should a callback hand one back).
 */
static void settle(struct fld_value *v, bool is_tri_state)
{
    if (v->type == FLD_V_STRING && (v->s == NULL || v->s[0] == '\0'))
        fld_value_clear(v);
    if (v->type == FLD_V_BLANK && is_tri_state)
        fld_value_unknown(v);
    else if (v->type == FLD_V_UNKNOWN && !is_tri_state)
        fld_value_blank(v);
}

/* x div y without leaning on C for division by zero: XPath wants IEEE. */
static double divide(double x, double y)
{
    if (y == 0) {
        if (x == 0 || isnan(x))
            return NAN;
        return (signbit(x) != signbit(y)) ? -INFINITY : INFINITY;
    }
    return x / y;
}

static double modulo(double x, double y)
{
    if (y == 0 || isinf(x) || isnan(x) || isnan(y))
        return NAN;
    return fmod(x, y);
}

/* A function call being evaluated. */
struct call {
    const struct fld_expr *e;
    const struct node *n;
    const struct fld_expr_env *env;
    struct fld_value *args; /* evaluated, unless the function is lazy */
    struct fld_err *err;
};

static int eval(const struct fld_expr *e, const struct node *n,
                const struct fld_expr_env *env, struct fld_value *out,
                struct fld_err *err);

static const struct node *kid(const struct fld_expr *e, const struct node *n,
                              size_t k)
{
    return &e->nodes[n->kids[k]];
}

static int eerr(const struct fld_expr *e, const struct node *n,
                struct fld_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Report an evaluation error at node n: "column N: ...". */
static int eerr(const struct fld_expr *e, const struct node *n,
                struct fld_err *err, int code, const char *fmt, ...)
{
    char msg[FLD_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fld_err_set(err, code, "column %zu: %s", column(e->src, n->pos),
                       msg);
}

/* Evaluate n as a number; an UNKNOWN sets *is_unknown. Literals skip the
 * value altogether, which is most of what arithmetic reads. */
static int eval_number(const struct fld_expr *e, const struct node *n,
                       const struct fld_expr_env *env, double *x,
                       bool *is_unknown, struct fld_err *err)
{
    struct fld_value v;
    int rc;

    if (n->kind == N_NUM) {
        *x = n->num;
        return FLD_OK;
    }
    rc = eval(e, n, env, &v, err);
    if (rc != FLD_OK)
        return rc;
    if (v.type == FLD_V_UNKNOWN)
        *is_unknown = true;
    *x = fld_value_to_number(&v);
    fld_value_clear(&v);
    return FLD_OK;
}

static int eval_ref(const struct fld_expr *e, const struct node *n,
                    const struct fld_expr_env *env, struct fld_value *out,
                    struct fld_err *err)
{
    const char *name = e->refs.v[n->name];
    int rc;

    fld_value_blank(out);
    if (env->lookup == NULL)
        rc = FLD_NOTFOUND;
    else
        rc = env->lookup(env->ctx, name, out);
    if (rc != FLD_OK) {
        fld_value_clear(out);
        if (rc == FLD_NOTFOUND)
            rc = FLD_EINVAL;
        return eerr(e, n, err, rc, "unknown reference ${%s}", name);
    }
    settle(out, env->tri_state);
    return FLD_OK;
}

static int eval_self(const struct fld_expr *e, const struct node *n,
                     const struct fld_expr_env *env, struct fld_value *out,
                     struct fld_err *err)
{
    fld_value_blank(out);
    if (env->self == NULL)
        return eerr(e, n, err, FLD_EINVAL,
                    "'.' has no value here (only in a constraint)");
    fld_value_copy(out, env->self);
    settle(out, env->tri_state);
    return FLD_OK;
}

static int eval_neg(const struct fld_expr *e, const struct node *n,
                    const struct fld_expr_env *env, struct fld_value *out,
                    struct fld_err *err)
{
    bool is_unknown = false;
    double x;
    int rc = eval_number(e, kid(e, n, 0), env, &x, &is_unknown, err);

    fld_value_blank(out);
    if (rc != FLD_OK)
        return rc;
    if (is_unknown)
        fld_value_unknown(out);
    else
        fld_value_number(out, n->is_odd ? -x : x);
    return FLD_OK;
}

static double arith(enum op op, double x, double y)
{
    switch (op) {
    case OP_ADD:
        return x + y;
    case OP_SUB:
        return x - y;
    case OP_MUL:
        return x * y;
    case OP_DIV:
        return divide(x, y);
    case OP_MOD:
        return modulo(x, y);
    default:
        assert(!"not an arithmetic operator");
        return NAN;
    }
}

/* + - * div mod. Every operand is evaluated even once one is UNKNOWN, so
 * that an error is reported whatever the answers are. */
static int eval_arith(const struct fld_expr *e, const struct node *n,
                      const struct fld_expr_env *env, struct fld_value *out,
                      struct fld_err *err)
{
    bool is_unknown = false;
    double acc = 0, x = 0;
    size_t k;
    int rc;

    fld_value_blank(out);
    rc = eval_number(e, kid(e, n, 0), env, &acc, &is_unknown, err);
    for (k = 1; rc == FLD_OK && k < n->n_kids; k++) {
        rc = eval_number(e, kid(e, n, k), env, &x, &is_unknown, err);
        if (rc == FLD_OK)
            acc = arith((enum op)n->ops[k], acc, x);
    }
    if (rc != FLD_OK)
        return rc;
    if (is_unknown)
        fld_value_unknown(out);
    else
        fld_value_number(out, acc);
    return FLD_OK;
}

/*
 * XPath 1.0 comparison of two values that are not UNKNOWN. For = and !=:
 * a boolean on either side compares as booleans, else a number on either
 * side compares as numbers, else as strings. <, <=, >, >= always compare
 * numbers. NaN is unequal to everything, so != is exactly not(=).
 */
static bool compare(enum op op, const struct fld_value *a,
                    const struct fld_value *b)
{
    bool is_equal;
    double x, y;

    if (op == OP_EQ || op == OP_NE) {
        if (a->type == FLD_V_BOOL || b->type == FLD_V_BOOL) {
            is_equal = fld_value_truthy(a) == fld_value_truthy(b);
        } else if (a->type == FLD_V_NUMBER || b->type == FLD_V_NUMBER) {
            is_equal = fld_value_to_number(a) == fld_value_to_number(b);
        } else {
            char *ta, *tb;

            is_equal =
                strcmp(fld_value_text(a, &ta), fld_value_text(b, &tb)) == 0;
            free(ta);
            free(tb);
        }
        return op == OP_EQ ? is_equal : !is_equal;
    }
    x = fld_value_to_number(a);
    y = fld_value_to_number(b);
    switch (op) {
    case OP_LT:
        return x < y;
    case OP_LE:
        return x <= y;
    case OP_GT:
        return x > y;
    case OP_GE:
        return x >= y;
    default:
        assert(!"not a comparison");
        return false;
    }
}

/* = != < <= > >=, folded from the left as XPath does: 1 < 2 < 3 is
 * (1 < 2) < 3, that is true() < 3, that is 1 < 3. */
static int eval_compare(const struct fld_expr *e, const struct node *n,
                        const struct fld_expr_env *env, struct fld_value *out,
                        struct fld_err *err)
{
    struct fld_value right;
    size_t k;
    int rc;
    bool b;

    rc = eval(e, kid(e, n, 0), env, out, err);
    for (k = 1; rc == FLD_OK && k < n->n_kids; k++) {
        rc = eval(e, kid(e, n, k), env, &right, err);
        if (rc != FLD_OK)
            break;
        if (out->type == FLD_V_UNKNOWN || right.type == FLD_V_UNKNOWN) {
            fld_value_clear(out);
            fld_value_unknown(out);
        } else {
            b = compare((enum op)n->ops[k], out, &right);
            fld_value_clear(out);
            fld_value_bool(out, b);
        }
        fld_value_clear(&right);
    }
    if (rc != FLD_OK)
        fld_value_clear(out);
    return rc;
}

/*
 * and / or with Kleene's third value. Left to right, stopping at the first
 * operand that decides (false for and, true for or) as XPath does; an
 * UNKNOWN decides nothing, so the rest is still read: unknown and false
 * is false, unknown or true is true.
 */
static int eval_logic(const struct fld_expr *e, const struct node *n,
                      const struct fld_expr_env *env, struct fld_value *out,
                      struct fld_err *err)
{
    bool is_and = n->level == L_AND, is_unknown = false;
    struct fld_value v;
    size_t k;
    int rc;

    fld_value_blank(out);
    for (k = 0; k < n->n_kids; k++) {
        rc = eval(e, kid(e, n, k), env, &v, err);
        if (rc != FLD_OK)
            return rc;
        if (v.type == FLD_V_UNKNOWN) {
            is_unknown = true;
        } else if (fld_value_truthy(&v) != is_and) {
            fld_value_clear(&v);
            fld_value_bool(out, !is_and);
            return FLD_OK;
        }
        fld_value_clear(&v);
    }
    if (is_unknown)
        fld_value_unknown(out);
    else
        fld_value_bool(out, is_and);
    return FLD_OK;
}

static int eval_chain(const struct fld_expr *e, const struct node *n,
                      const struct fld_expr_env *env, struct fld_value *out,
                      struct fld_err *err)
{
    switch (n->level) {
    case L_OR:
    case L_AND:
        return eval_logic(e, n, env, out, err);
    case L_EQ:
    case L_REL:
        return eval_compare(e, n, env, out, err);
    default:
        return eval_arith(e, n, env, out, err);
    }
}

/* A call: evaluate the arguments (unless the function does it itself),
 * answer UNKNOWN if one is, else run the function. */
static int eval_call(const struct fld_expr *e, const struct node *n,
                     const struct fld_expr_env *env, struct fld_value *out,
                     struct fld_err *err)
{
    struct fld_value on_stack[ARGS_ON_STACK], *args = on_stack;
    struct call c = {e, n, env, NULL, err};
    bool is_unknown = false;
    size_t k, n_done = 0;
    int rc = FLD_OK;

    fld_value_blank(out);
    if (n->fn->is_lazy)
        return n->fn->eval(&c, out);
    if (n->n_kids > ARGS_ON_STACK)
        args = fld_xcalloc(n->n_kids, sizeof *args);
    for (k = 0; rc == FLD_OK && k < n->n_kids; k++, n_done++) {
        rc = eval(e, kid(e, n, k), env, &args[k], err);
        if (rc == FLD_OK && args[k].type == FLD_V_UNKNOWN)
            is_unknown = true;
    }
    if (rc == FLD_OK && is_unknown) {
        fld_value_unknown(out);
    } else if (rc == FLD_OK) {
        c.args = args;
        rc = n->fn->eval(&c, out);
    }
    for (k = 0; k < n_done; k++)
        fld_value_clear(&args[k]);
    if (args != on_stack)
        free(args);
    return rc;
}

static int eval(const struct fld_expr *e, const struct node *n,
                const struct fld_expr_env *env, struct fld_value *out,
                struct fld_err *err)
{
    switch (n->kind) {
    case N_NUM:
        fld_value_number(out, n->num);
        return FLD_OK;
    case N_STR:
        fld_value_blank(out);
        if (n->s != NULL)
            fld_value_string(out, n->s);
        return FLD_OK;
    case N_REF:
        return eval_ref(e, n, env, out, err);
    case N_SELF:
        return eval_self(e, n, env, out, err);
    case N_NEG:
        return eval_neg(e, n, env, out, err);
    case N_CHAIN:
        return eval_chain(e, n, env, out, err);
    case N_CALL:
        return eval_call(e, n, env, out, err);
    }
    assert(!"unknown node kind");
    return FLD_EINVAL;
}

int fld_expr_eval(const struct fld_expr *e, const struct fld_expr_env *env,
                  struct fld_value *out, struct fld_err *err)
{
    int rc;

    assert(e != NULL && env != NULL && out != NULL);
    rc = eval(e, &e->nodes[e->root], env, out, err);
    if (rc != FLD_OK)
        fld_value_clear(out);
    return rc;
}

/* ---- the functions -------------------------------------------------- */

static int fn_not(const struct call *c, struct fld_value *out)
{
    fld_value_bool(out, !fld_value_truthy(&c->args[0]));
    return FLD_OK;
}

static int fn_true(const struct call *c, struct fld_value *out)
{
    (void)c;
    fld_value_bool(out, true);
    return FLD_OK;
}

static int fn_false(const struct call *c, struct fld_value *out)
{
    (void)c;
    fld_value_bool(out, false);
    return FLD_OK;
}

/* The choice of selected(): trimmed, as ODK does. */
static const char *trimmed(const char *s, size_t *len)
{
    size_t n;

    while (is_space(*s))
        s++;
    n = strlen(s);
    while (n > 0 && is_space(s[n - 1]))
        n--;
    *len = n;
    return s;
}

/* Call fn on each choice of a select_multiple answer: a LIST's items, or
 * the words of a space-separated string. Stops when fn returns true. */
static bool each_choice(const struct fld_value *v,
                        bool (*fn)(const char *s, size_t len, void *ctx),
                        void *ctx)
{
    const char *s, *word;
    char *tmp;
    bool is_done = false;
    size_t i, len;

    if (v->type == FLD_V_LIST) {
        for (i = 0; i < v->n && !is_done; i++) {
            s = trimmed(fld_value_text(&v->items[i], &tmp), &len);
            if (len > 0)
                is_done = fn(s, len, ctx);
            free(tmp);
        }
        return is_done;
    }
    s = fld_value_text(v, &tmp);
    while (!is_done && *s != '\0') {
        while (is_space(*s))
            s++;
        for (word = s; *s != '\0' && !is_space(*s); s++)
            ;
        if (s > word)
            is_done = fn(word, (size_t)(s - word), ctx);
    }
    free(tmp);
    return is_done;
}

struct wanted {
    const char *s;
    size_t len;
};

static bool is_wanted(const char *s, size_t len, void *ctx)
{
    const struct wanted *w = ctx;

    return len == w->len && memcmp(s, w->s, len) == 0;
}

static bool count_one(const char *s, size_t len, void *ctx)
{
    (void)s;
    (void)len;
    ++*(size_t *)ctx;
    return false;
}

static int fn_selected(const struct call *c, struct fld_value *out)
{
    struct wanted w;
    char *tmp;

    w.s = trimmed(fld_value_text(&c->args[1], &tmp), &w.len);
    fld_value_bool(out, w.len > 0 && each_choice(&c->args[0], is_wanted, &w));
    free(tmp);
    return FLD_OK;
}

static int fn_count_selected(const struct call *c, struct fld_value *out)
{
    size_t n = 0;

    each_choice(&c->args[0], count_one, &n);
    fld_value_number(out, (double)n);
    return FLD_OK;
}

/* count(): the items of a LIST; any other value is one item. */
static int fn_count(const struct call *c, struct fld_value *out)
{
    const struct fld_value *v = &c->args[0];

    fld_value_number(out, v->type == FLD_V_LIST ? (double)v->n : 1);
    return FLD_OK;
}

/* sum(): a blank item makes NaN (UNKNOWN in tri-state mode), as in ODK. */
static int fn_sum(const struct call *c, struct fld_value *out)
{
    const struct fld_value *v = &c->args[0];
    double total = 0;
    size_t i;

    if (v->type != FLD_V_LIST) {
        fld_value_number(out, fld_value_to_number(v));
        return FLD_OK;
    }
    for (i = 0; i < v->n; i++) {
        const struct fld_value *item = &v->items[i];
        bool is_blank = item->type == FLD_V_BLANK ||
                        item->type == FLD_V_UNKNOWN ||
                        (item->type == FLD_V_STRING &&
                         (item->s == NULL || item->s[0] == '\0'));

        if (is_blank && c->env->tri_state) {
            fld_value_unknown(out);
            return FLD_OK;
        }
        total += fld_value_to_number(item);
    }
    fld_value_number(out, total);
    return FLD_OK;
}

static int fn_if(const struct call *c, struct fld_value *out)
{
    struct fld_value cond;
    int rc = eval(c->e, kid(c->e, c->n, 0), c->env, &cond, c->err);
    size_t branch;

    if (rc != FLD_OK)
        return rc;
    if (cond.type == FLD_V_UNKNOWN) {
        fld_value_unknown(out);
        return FLD_OK;
    }
    branch = fld_value_truthy(&cond) ? 1 : 2;
    fld_value_clear(&cond);
    return eval(c->e, kid(c->e, c->n, branch), c->env, out, c->err);
}

static bool is_blank(const struct fld_value *v)
{
    return v->type == FLD_V_BLANK || v->type == FLD_V_UNKNOWN ||
           (v->type == FLD_V_LIST && v->n == 0);
}

/* coalesce(a, b): a unless it is blank (or UNKNOWN), then b. */
static int fn_coalesce(const struct call *c, struct fld_value *out)
{
    int rc = eval(c->e, kid(c->e, c->n, 0), c->env, out, c->err);

    if (rc != FLD_OK || !is_blank(out))
        return rc;
    fld_value_clear(out);
    return eval(c->e, kid(c->e, c->n, 1), c->env, out, c->err);
}

static int fn_regex(const struct call *c, struct fld_value *out)
{
    const struct node *n = c->n;
    char *tmp_s, *tmp_p = NULL;
    const char *s = fld_value_text(&c->args[0], &tmp_s);
    struct fld_rx *rx = n->rx;
    struct fld_err why;
    int rc = FLD_OK;

    if (rx == NULL) { /* a pattern that only evaluation knows */
        rc = fld_rx_compile(fld_value_text(&c->args[1], &tmp_p), &rx, &why);
        if (rc != FLD_OK)
            rc =
                eerr(c->e, kid(c->e, n, 1), c->err, rc, "regex(): %s", why.msg);
    }
    /* '.' matches no byte that is not UTF-8, so the anchored form would
     * miss what follows one: refused, as by string-length() */
    if (rc == FLD_OK && !fld_utf8_valid((const uint8_t *)s, strlen(s)))
        rc = eerr(c->e, kid(c->e, n, 0), c->err, FLD_EINVAL,
                  "regex(): not valid UTF-8");
    if (rc == FLD_OK)
        fld_value_bool(out, fld_rx_match(rx, s));
    if (rx != n->rx)
        fld_rx_free(rx);
    free(tmp_s);
    free(tmp_p);
    return rc;
}

static int fn_string_length(const struct call *c, struct fld_value *out)
{
    char *tmp;
    size_t n = fld_utf8_length(fld_value_text(&c->args[0], &tmp));

    free(tmp);
    if (n == (size_t)-1)
        return eerr(c->e, c->n, c->err, FLD_EINVAL,
                    "string-length(): not valid UTF-8");
    fld_value_number(out, (double)n);
    return FLD_OK;
}

static int fn_concat(const struct call *c, struct fld_value *out)
{
    struct fld_buf b = FLD_BUF_INIT;
    char *tmp;
    size_t k;

    for (k = 0; k < c->n->n_kids; k++) {
        fld_buf_puts(&b, fld_value_text(&c->args[k], &tmp));
        free(tmp);
    }
    if (b.data != NULL)
        fld_value_take_string(out, fld_buf_detach(&b, NULL));
    return FLD_OK;
}

static int fn_number(const struct call *c, struct fld_value *out)
{
    fld_value_number(out, fld_value_to_number(&c->args[0]));
    return FLD_OK;
}

static int fn_int(const struct call *c, struct fld_value *out)
{
    fld_value_number(out, trunc(fld_value_to_number(&c->args[0])));
    return FLD_OK;
}

static int fn_round(const struct call *c, struct fld_value *out)
{
    double x = fld_value_to_number(&c->args[0]), places = 0;

    if (c->n->n_kids == 2)
        places = trunc(fld_value_to_number(&c->args[1]));
    if (isnan(places)) {
        fld_value_number(out, NAN);
        return FLD_OK;
    }
    /* beyond 400 places either way the answer no longer changes */
    places = fmax(-400, fmin(400, places));
    fld_value_number(out, fld_value_round(x, (int)places));
    return FLD_OK;
}

static void set_date(struct fld_value *out, int64_t days)
{
    char text[11];

    fld_date_format(days, text);
    fld_value_string(out, text);
}

static int fn_today(const struct call *c, struct fld_value *out)
{
    int64_t days;

    if (c->env->today == NULL || !fld_date_parse(c->env->today, &days))
        return eerr(c->e, c->n, c->err, FLD_EINVAL,
                    "today() is not known here");
    fld_value_string(out, c->env->today);
    return FLD_OK;
}

/* date(): a date string, or a day number; a blank or NaN stays blank. */
static int fn_date(const struct call *c, struct fld_value *out)
{
    const struct fld_value *v = &c->args[0];
    int64_t days;
    double x;

    if (v->type == FLD_V_BLANK)
        return FLD_OK;
    if (v->type == FLD_V_STRING && fld_date_parse(v->s, &days)) {
        set_date(out, days);
        return FLD_OK;
    }
    x = v->type == FLD_V_BOOL ? NAN : floor(fld_value_to_number(v));
    if (isnan(x) && v->type == FLD_V_NUMBER)
        return FLD_OK;
    if (isnan(x) || x < FLD_DATE_DAY_MIN || x > FLD_DATE_DAY_MAX) {
        char *tmp;
        const char *text = fld_value_text(v, &tmp);
        size_t len = strnlen(text, 40);
        int rc;

        while (((unsigned char)text[len] & 0xc0) == 0x80) /* whole chars */
            len--;
        rc = eerr(c->e, c->n, c->err, FLD_EINVAL,
                  "date(): '%.*s' is not a date (YYYY-MM-DD)", (int)len, text);
        free(tmp);
        return rc;
    }
    set_date(out, (int64_t)x);
    return FLD_OK;
}

/* threshold() and param(): the callback's value for a name known since
 * parsing. An unset threshold is UNKNOWN in tri-state mode. */
static int fetch_named(const struct call *c, struct fld_value *out,
                       bool is_threshold)
{
    int (*fn)(void *, const char *, struct fld_value *) =
        is_threshold ? c->env->threshold : c->env->param;
    const char *what = is_threshold ? "threshold" : "param";
    const char *name =
        (is_threshold ? c->e->thresholds.v : c->e->params.v)[c->n->name];
    int rc = fn ? fn(c->env->ctx, name, out) : FLD_NOTFOUND;

    if (rc != FLD_OK) {
        fld_value_clear(out);
        if (rc == FLD_NOTFOUND)
            rc = FLD_EINVAL;
        return eerr(c->e, c->n, c->err, rc, "unknown %s '%s'", what, name);
    }
    settle(out, is_threshold && c->env->tri_state);
    return FLD_OK;
}

static int fn_threshold(const struct call *c, struct fld_value *out)
{
    return fetch_named(c, out, true);
}

static int fn_param(const struct call *c, struct fld_value *out)
{
    return fetch_named(c, out, false);
}

/* Sorted by name. */
static const struct func funcs[] = {
    {"coalesce", 2, 2, true, fn_coalesce},
    {"concat", 1, MANY, false, fn_concat},
    {"count", 1, 1, false, fn_count},
    {"count-selected", 1, 1, false, fn_count_selected},
    {"date", 1, 1, false, fn_date},
    {"false", 0, 0, false, fn_false},
    {"if", 3, 3, true, fn_if},
    {"int", 1, 1, false, fn_int},
    {"not", 1, 1, false, fn_not},
    {"number", 1, 1, false, fn_number},
    {"param", 1, 1, true, fn_param},
    {"regex", 2, 2, false, fn_regex},
    {"round", 1, 2, false, fn_round},
    {"selected", 2, 2, false, fn_selected},
    {"string-length", 0, 1, false, fn_string_length},
    {"sum", 1, 1, false, fn_sum},
    {"threshold", 1, 1, true, fn_threshold},
    {"today", 0, 0, false, fn_today},
    {"true", 0, 0, false, fn_true},
};

static const struct func *find_func(const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < sizeof funcs / sizeof funcs[0]; i++)
        if (strlen(funcs[i].name) == len &&
            strncmp(funcs[i].name, name, len) == 0)
            return &funcs[i];
    return NULL;
}
