/*
 * expr_int.h - what the files of the expression language share, and nobody
 * else may use: the tree, the function table, and the few calls from one
 * file to another. The contract for the rest of field is expr.h.
 *
 * The language is written in four files around this header, as SQLite
 * writes a subsystem as x.c, x.h and xInt.h:
 *
 *   expr.c        the tree: its names, freeing it, reading what it reads
 *   expr_parse.c  the lexer and the parser: text to tree
 *   expr_eval.c   evaluation of the tree: operators, names, calls
 *   expr_func.c   the function library and its table
 *
 * and three modules of their own below them: value.c (values and XPath's
 * conversions), rx.c (bounded regular expressions) and date.c (calendar).
 *
 * The tree. Nodes live in one array (struct fld_expr.nodes) and refer to
 * their children by index, so a tree is freed by a loop, not a recursion,
 * and building it never invalidates a child (the array may move; indices
 * do not). A run of binary operators of one precedence level is one
 * N_CHAIN node with n children, and a run of unary minus signs one N_NEG
 * node (expr_parse.c says why). Every node keeps the byte offset of its
 * token, so that an evaluation error can name its column.
 */
#ifndef FLD_EXPR_INT_H
#define FLD_EXPR_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "expr.h"
#include "rx.h"
#include "value.h"

/* A function's max_args when it takes any number (concat()). */
#define MANY ((size_t)-1)

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

/* A function call being evaluated: what a struct func's eval gets. */
struct call {
    const struct fld_expr *e;
    const struct node *n;
    const struct fld_expr_env *env;
    struct fld_value *args; /* evaluated, unless the function is lazy */
    struct fld_err *err;
};

/* Child k of node n. */
static inline const struct node *kid(const struct fld_expr *e,
                                     const struct node *n, size_t k)
{
    return &e->nodes[n->kids[k]];
}

/* XML white space, the only kind XPath knows. */
static inline bool is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static inline bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* ---- expr.c --------------------------------------------------------- */

/* Column (in characters, from 1) of byte offset pos in src: what every
 * message names, parse errors and evaluation errors alike. */
size_t fld_expr_column(const char *src, size_t pos);

/* The index of the name s[0..len) in names, added at the end if new (a
 * copy). */
size_t fld_expr_add_name(struct names *names, const char *s, size_t len);

/* ---- expr_eval.c ---------------------------------------------------- */

/* Evaluate node n of e into *out (a new value); the lazy functions call
 * it on the arguments they choose to evaluate. */
int fld_expr_eval_node(const struct fld_expr *e, const struct node *n,
                       const struct fld_expr_env *env, struct fld_value *out,
                       struct fld_err *err);

/* Report an evaluation error at node n: "column N: ..."; returns code. */
int fld_expr_error(const struct fld_expr *e, const struct node *n,
                   struct fld_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/*
 * A value that arrived from a callback, made regular: an empty string is
 * a blank, and a blank is UNKNOWN in tri-state mode (and UNKNOWN is a
 * blank outside it, should a callback hand one back).
 */
void fld_expr_settle(struct fld_value *v, bool is_tri_state);

/* ---- expr_func.c ---------------------------------------------------- */

/* The function called name[0..len), or NULL. */
const struct func *fld_expr_find_func(const char *name, size_t len);

#endif
