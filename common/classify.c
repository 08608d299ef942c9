/*
 * classify: rules text -> a list of compiled rules, tried in order.
 *
 * The parser is a hand-written recursive descent over a small lexer; a rule
 * is a list of conditions (field, operator, operands) and a result. Every
 * regex is compiled once here (regcomp, REG_NOSUB: only "does it match" is
 * asked), so classifying an event costs a few compares and at most one
 * regexec per condition that gets that far.
 *
 * Everything a rule owns is attached to the classifier as soon as it is
 * allocated, before it is filled in, so a parse error anywhere is cleaned up
 * by rs_classify_destroy() alone.
 *
 * The user's rules and the built-in ones go through the same parser; the
 * built-in ones are a string below, which keeps them readable and makes
 * every default a test of the parser.
 */
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/classify.h"

/* The built-in rules, tried after the operator's. Changing them changes how
 * existing groups are classified from the next event on. */
static const char default_rules[] =
    "# Slow requests and long tasks: slowness, whatever the answer was.\n"
    "kind in (slow_request, long_task) and duration_ms >= 10000"
    " => performance medium\n"
    "kind in (slow_request, long_task) => performance low\n"
    "\n"
    "# The browser refused: CSP, CORS, mixed content, storage access.\n"
    "type in (SecurityError, CSPViolation) => security high\n"
    "message ~ 'content security policy|blocked by cors|cors policy"
    "|cross-origin request blocked|access-control-allow-origin"
    "|mixed content' => security high\n"
    "\n"
    "# Code and assets that failed to load.\n"
    "kind = resource_error => resource medium\n"
    "type = ChunkLoadError => resource medium\n"
    "message ~ 'loading (css )?chunk .* failed' => resource medium\n"
    "\n"
    "# Server answers.\n"
    "status in (401, 403) => authentication medium\n"
    "status in 500..599 => http_server high\n"
    "message ~ '(token|jwt|session) (has )?expired|unauthori[sz]ed"
    "|unauthenticated|not authenticated' => authentication medium\n"
    "status = 429 => http_client medium\n"
    "status in 400..499 => http_client low\n"
    "\n"
    "# No answer at all, in each browser's words.\n"
    "kind = network_error => network medium\n"
    "message ~ 'failed to fetch|networkerror|load failed"
    "|network (error|request failed)|err_internet_disconnected"
    "|err_network_changed|err_connection_' => network medium\n"
    "\n"
    "# Script errors.\n"
    "kind in (js_error, unhandled_rejection)"
    " and message ~ 'maximum call stack|too much recursion'"
    " => script critical\n"
    "kind in (js_error, unhandled_rejection)"
    " and type in (TypeError, ReferenceError, SyntaxError) => script high\n"
    "kind in (js_error, unhandled_rejection) => script medium\n"
    "\n"
    "* => other low\n";

static const char *const categories[] = {
    "network",  "http_server",    "http_client", "script", "resource",
    "security", "authentication", "performance", "other",
};
#define CATEGORY_CNT (sizeof(categories) / sizeof(categories[0]))

static const char *const severities[] = {"low", "medium", "high", "critical"};
#define SEVERITY_CNT (sizeof(severities) / sizeof(severities[0]))

enum field { F_KIND, F_TYPE, F_MESSAGE, F_STATUS, F_DURATION };

static const struct {
        const char *name;
        enum field  field;
} fields[] = {
    {"kind", F_KIND},
    {"type", F_TYPE},
    {"error_type", F_TYPE},
    {"message", F_MESSAGE},
    {"status", F_STATUS},
    {"http_status", F_STATUS},
    {"duration_ms", F_DURATION},
};

enum op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_IN, OP_RANGE, OP_MATCH };

struct cond {
        enum field field;
        enum op    op;
        char     **strs; /* string operands (=, !=, in) */
        size_t     str_cnt;
        double    *nums; /* number operands; OP_RANGE: low, high */
        size_t     num_cnt;
        regex_t    re;
        int        has_re; /* re is compiled and must be freed */
};

struct rule {
        struct cond *conds;
        size_t       cond_cnt;
        int          category, severity;
};

struct rs_classify_s {
        struct rule *rules;
        size_t       rule_cnt;
};

/* ---- lexer ----------------------------------------------------------- */

enum tok_type {
        T_END, /* end of the text */
        T_EOR, /* end of a rule: ';' or newline */
        T_WORD,
        T_STRING, /* quoted; text is between the quotes, doubles undone later */
        T_ARROW,
        T_EQ,
        T_NE,
        T_LT,
        T_LE,
        T_GT,
        T_GE,
        T_TILDE,
        T_LPAREN,
        T_RPAREN,
        T_COMMA,
        T_DOTDOT,
        T_STAR,
        T_UNTERMINATED, /* a quote that is never closed */
        T_BAD,          /* any other byte */
};

struct parser {
        const char   *p; /* next byte to lex */
        enum tok_type tok;
        const char   *text; /* the token's bytes */
        size_t        len;
        char          quote; /* T_STRING: the quote character */
        int           rule_no;
        const char   *prefix; /* "rule" or "built-in rule" */
        char         *errstr;
        size_t        errstr_size;
};

static int is_word_byte(unsigned char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               (c >= '0' && c <= '9') || c >= 0x80 ||
               (c != '\0' && strchr("_$.:/+-", c) != NULL);
}

static void lex(struct parser *ps) {
        const char *p = ps->p;

        for (;;) {
                while (*p == ' ' || *p == '\t' || *p == '\r')
                        p++;
                if (*p != '#')
                        break;
                while (*p && *p != '\n')
                        p++;
        }

        ps->text  = p;
        ps->len   = 1;
        ps->quote = 0;
        switch (*p) {
        case '\0':
                ps->tok = T_END;
                ps->len = 0;
                break;
        case ';':
        case '\n':
                ps->tok = T_EOR;
                break;
        case '=':
                ps->tok = p[1] == '>' ? T_ARROW : T_EQ;
                ps->len = p[1] == '>' ? 2 : 1;
                break;
        case '!':
                ps->tok = p[1] == '=' ? T_NE : T_BAD;
                ps->len = p[1] == '=' ? 2 : 1;
                break;
        case '<':
                ps->tok = p[1] == '=' ? T_LE : T_LT;
                ps->len = p[1] == '=' ? 2 : 1;
                break;
        case '>':
                ps->tok = p[1] == '=' ? T_GE : T_GT;
                ps->len = p[1] == '=' ? 2 : 1;
                break;
        case '~':
                ps->tok = T_TILDE;
                break;
        case '(':
                ps->tok = T_LPAREN;
                break;
        case ')':
                ps->tok = T_RPAREN;
                break;
        case ',':
                ps->tok = T_COMMA;
                break;
        case '*':
                ps->tok = T_STAR;
                break;
        case '\'':
        case '"': {
                const char *q = p + 1;

                for (;;) {
                        if (!*q) {
                                ps->tok = T_UNTERMINATED;
                                ps->len = (size_t)(q - p);
                                break;
                        }
                        if (*q == *p && q[1] == *p) {
                                q += 2; /* a doubled quote */
                                continue;
                        }
                        if (*q == *p) {
                                ps->tok   = T_STRING;
                                ps->quote = *p;
                                ps->text  = p + 1;
                                ps->len   = (size_t)(q - p - 1);
                                p         = q + 1;
                                ps->p     = p;
                                return;
                        }
                        q++;
                }
                break;
        }
        default:
                if (p[0] == '.' && p[1] == '.') {
                        ps->tok = T_DOTDOT;
                        ps->len = 2;
                } else if (is_word_byte((unsigned char)*p)) {
                        const char *q = p;

                        /* ".." is a token of its own: "400..499" */
                        while (is_word_byte((unsigned char)*q) &&
                               !(q[0] == '.' && q[1] == '.'))
                                q++;
                        ps->tok = T_WORD;
                        ps->len = (size_t)(q - p);
                } else {
                        ps->tok = T_BAD;
                }
                break;
        }
        ps->p = p + ps->len;
}

/* ---- errors ---------------------------------------------------------- */

static int fail(struct parser *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Writes "rule N: <reason>" to errstr. @returns -1. */
static int fail(struct parser *ps, const char *fmt, ...) {
        char    reason[256];
        va_list ap;

        if (!ps->errstr || ps->errstr_size == 0)
                return -1;
        va_start(ap, fmt);
        vsnprintf(reason, sizeof(reason), fmt, ap);
        va_end(ap);
        snprintf(ps->errstr, ps->errstr_size, "%s %d: %s", ps->prefix,
                 ps->rule_no, reason);
        return -1;
}

/* The current token, for messages: "'foo'", "end of rule". */
static const char *tok_desc(const struct parser *ps, char *buf, size_t size) {
        switch (ps->tok) {
        case T_END:
        case T_EOR:
                return "the end of the rule";
        case T_UNTERMINATED:
                return "an unterminated quote";
        case T_STRING:
                snprintf(buf, size, "%c%.*s%c", ps->quote,
                         (int)(ps->len > 40 ? 40 : ps->len), ps->text,
                         ps->quote);
                return buf;
        default:
                snprintf(buf, size, "'%.*s'",
                         (int)(ps->len > 40 ? 40 : ps->len), ps->text);
                return buf;
        }
}

/* ---- building -------------------------------------------------------- */

static int ieq(const char *a, size_t alen, const char *b) {
        size_t i;

        if (alen != strlen(b))
                return 0;
        for (i = 0; i < alen; i++) {
                unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

                if (x >= 'A' && x <= 'Z')
                        x = (unsigned char)(x - 'A' + 'a');
                if (y >= 'A' && y <= 'Z')
                        y = (unsigned char)(y - 'A' + 'a');
                if (x != y)
                        return 0;
        }
        return 1;
}

static int tok_is(const struct parser *ps, const char *word) {
        return ps->tok == T_WORD && ieq(ps->text, ps->len, word);
}

/* The value of a T_WORD or T_STRING, doubled quotes undone. @returns a
 * heap copy (caller frees), or NULL on allocation failure. */
static char *tok_value(const struct parser *ps) {
        char  *s = malloc(ps->len + 1);
        size_t i, o = 0;

        if (!s)
                return NULL;
        for (i = 0; i < ps->len; i++) {
                s[o++] = ps->text[i];
                if (ps->tok == T_STRING && ps->text[i] == ps->quote)
                        i++; /* the lexer saw to it that it is doubled */
        }
        s[o] = '\0';
        return s;
}

/* [-+]digits[.digits], without the locale (strtod) deciding on the '.'. */
static int parse_number(const struct parser *ps, double *out) {
        const char *p = ps->text, *end = ps->text + ps->len;
        double      v = 0, scale = 1;
        int         neg = 0, digits = 0;

        if (ps->tok != T_WORD)
                return -1;
        if (p < end && (*p == '-' || *p == '+'))
                neg = *p++ == '-';
        for (; p < end && *p >= '0' && *p <= '9'; p++, digits++)
                v = v * 10 + (*p - '0');
        if (p < end && *p == '.') {
                for (p++; p < end && *p >= '0' && *p <= '9'; p++, digits++)
                        v += (*p - '0') * (scale /= 10);
        }
        if (p != end || digits == 0 || !isfinite(v))
                return -1;
        *out = neg ? -v : v;
        return 0;
}

static void *grow(void *arr, size_t cnt, size_t elem) {
        return realloc(arr, (cnt + 1) * elem);
}

static int add_str(struct parser *ps, struct cond *cd) {
        char **strs = grow(cd->strs, cd->str_cnt, sizeof(*strs));

        if (!strs)
                return fail(ps, "out of memory");
        cd->strs = strs;
        if (!(cd->strs[cd->str_cnt] = tok_value(ps)))
                return fail(ps, "out of memory");
        cd->str_cnt++;
        return 0;
}

static int add_num(struct parser *ps, struct cond *cd, const char *field) {
        double *nums = grow(cd->nums, cd->num_cnt, sizeof(*nums));
        char    buf[64];

        if (!nums)
                return fail(ps, "out of memory");
        cd->nums = nums;
        if (ps->tok != T_WORD && ps->tok != T_STRING)
                return fail(ps, "missing number for '%s', found %s", field,
                            tok_desc(ps, buf, sizeof(buf)));
        if (parse_number(ps, &cd->nums[cd->num_cnt]) == -1)
                return fail(ps, "bad number %s for '%s'",
                            tok_desc(ps, buf, sizeof(buf)), field);
        cd->num_cnt++;
        return 0;
}

/* "(" a { "," b } ")" of strings or numbers. */
static int parse_list(struct parser *ps, struct cond *cd, const char *field,
                      int numeric) {
        char buf[64];

        lex(ps); /* past '(' */
        for (;;) {
                if (numeric) {
                        if (add_num(ps, cd, field) == -1)
                                return -1;
                } else {
                        if (ps->tok != T_WORD && ps->tok != T_STRING)
                                return fail(ps,
                                            "missing value in the list of "
                                            "'%s', found %s",
                                            field,
                                            tok_desc(ps, buf, sizeof(buf)));
                        if (add_str(ps, cd) == -1)
                                return -1;
                }
                lex(ps);
                if (ps->tok == T_RPAREN)
                        break;
                if (ps->tok != T_COMMA)
                        return fail(ps,
                                    "expected ',' or ')' in the list of '%s', "
                                    "found %s",
                                    field, tok_desc(ps, buf, sizeof(buf)));
                lex(ps);
        }
        lex(ps);
        return 0;
}

static int parse_regex(struct parser *ps, struct cond *cd, const char *field) {
        char  buf[64], msg[128];
        char *pat;
        int   rc;

        if (ps->tok != T_STRING && ps->tok != T_WORD)
                return fail(ps, "missing regex after '%s ~', found %s", field,
                            tok_desc(ps, buf, sizeof(buf)));
        if (!(pat = tok_value(ps)))
                return fail(ps, "out of memory");
        rc = regcomp(&cd->re, pat, REG_EXTENDED | REG_ICASE | REG_NOSUB);
        if (rc != 0) {
                regerror(rc, &cd->re, msg, sizeof(msg));
                fail(ps, "bad regex '%.60s' for '%s': %s", pat, field, msg);
                free(pat);
                return -1;
        }
        free(pat);
        cd->has_re = 1;
        lex(ps);
        return 0;
}

static int parse_cond(struct parser *ps, struct rule *r) {
        struct cond *conds, *cd;
        char         buf[64];
        const char  *field = NULL;
        int          numeric;
        size_t       i;

        if (ps->tok != T_WORD)
                return fail(ps, "expected a field or '*', found %s",
                            tok_desc(ps, buf, sizeof(buf)));
        for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
                if (tok_is(ps, fields[i].name))
                        break;
        if (i == sizeof(fields) / sizeof(fields[0]))
                return fail(ps,
                            "unknown field %s (expected kind, type, message, "
                            "status or duration_ms)",
                            tok_desc(ps, buf, sizeof(buf)));
        field = fields[i].name;

        if (!(conds = grow(r->conds, r->cond_cnt, sizeof(*conds))))
                return fail(ps, "out of memory");
        r->conds = conds;
        cd       = &r->conds[r->cond_cnt++];
        memset(cd, 0, sizeof(*cd));
        cd->field = fields[i].field;
        numeric   = cd->field == F_STATUS || cd->field == F_DURATION;

        lex(ps);
        switch (ps->tok) {
        case T_EQ:
                cd->op = OP_EQ;
                break;
        case T_NE:
                cd->op = OP_NE;
                break;
        case T_LT:
                cd->op = OP_LT;
                break;
        case T_LE:
                cd->op = OP_LE;
                break;
        case T_GT:
                cd->op = OP_GT;
                break;
        case T_GE:
                cd->op = OP_GE;
                break;
        case T_TILDE:
                cd->op = OP_MATCH;
                break;
        default:
                if (tok_is(ps, "in")) {
                        cd->op = OP_IN;
                        break;
                }
                if (ps->tok == T_END || ps->tok == T_EOR)
                        return fail(ps, "missing operator after '%s'", field);
                return fail(ps, "bad operator %s after '%s' (expected %s)",
                            tok_desc(ps, buf, sizeof(buf)), field,
                            numeric ? "=, !=, <, <=, >, >= or in"
                                    : "=, !=, in or ~");
        }
        if (numeric && cd->op == OP_MATCH)
                return fail(ps,
                            "bad operator '~' for '%s' (expected =, !=, <, "
                            "<=, >, >= or in)",
                            field);
        if (!numeric && cd->op >= OP_LT && cd->op <= OP_GE)
                return fail(ps,
                            "bad operator '%.*s' for '%s' (expected =, !=, in "
                            "or ~)",
                            (int)ps->len, ps->text, field);
        lex(ps);

        if (cd->op == OP_MATCH)
                return parse_regex(ps, cd, field);
        if (cd->op == OP_IN) {
                if (ps->tok == T_LPAREN)
                        return parse_list(ps, cd, field, numeric);
                if (!numeric)
                        return fail(ps, "expected '(' after '%s in', found %s",
                                    field, tok_desc(ps, buf, sizeof(buf)));
                cd->op = OP_RANGE;
                if (add_num(ps, cd, field) == -1)
                        return -1;
                lex(ps);
                if (ps->tok != T_DOTDOT)
                        return fail(ps,
                                    "expected '(' or N..M after '%s in', "
                                    "found %s",
                                    field, tok_desc(ps, buf, sizeof(buf)));
                lex(ps);
                if (add_num(ps, cd, field) == -1)
                        return -1;
                if (cd->nums[0] > cd->nums[1])
                        return fail(ps, "empty range %g..%g for '%s'",
                                    cd->nums[0], cd->nums[1], field);
                lex(ps);
                return 0;
        }
        if (numeric) {
                if (add_num(ps, cd, field) == -1)
                        return -1;
        } else {
                if (ps->tok != T_WORD && ps->tok != T_STRING)
                        return fail(ps, "missing value after '%s %s', found %s",
                                    field, cd->op == OP_EQ ? "=" : "!=",
                                    tok_desc(ps, buf, sizeof(buf)));
                if (add_str(ps, cd) == -1)
                        return -1;
        }
        lex(ps);
        return 0;
}

static int lookup(const char *const *names, size_t cnt,
                  const struct parser *ps) {
        size_t i;

        for (i = 0; i < cnt; i++)
                if (tok_is(ps, names[i]))
                        return (int)i;
        return -1;
}

/* One rule, from its first token to its end (exclusive). */
static int parse_rule(struct parser *ps, rs_classify_t *c) {
        struct rule *rules, *r;
        char         buf[64];

        if (!(rules = grow(c->rules, c->rule_cnt, sizeof(*rules))))
                return fail(ps, "out of memory");
        c->rules = rules;
        r        = &c->rules[c->rule_cnt++];
        memset(r, 0, sizeof(*r));

        if (ps->tok == T_STAR) {
                lex(ps);
        } else {
                for (;;) {
                        if (parse_cond(ps, r) == -1)
                                return -1;
                        if (!tok_is(ps, "and"))
                                break;
                        lex(ps);
                }
        }

        if (ps->tok == T_UNTERMINATED)
                return fail(ps, "unterminated quote");
        if (ps->tok == T_END || ps->tok == T_EOR)
                return fail(ps, "missing '=>' and a result");
        if (ps->tok != T_ARROW)
                return fail(ps, "expected 'and' or '=>' before %s",
                            tok_desc(ps, buf, sizeof(buf)));
        lex(ps);

        if (ps->tok == T_END || ps->tok == T_EOR)
                return fail(ps, "missing category after '=>'");
        if ((r->category = lookup(categories, CATEGORY_CNT, ps)) == -1)
                return fail(ps,
                            "unknown category %s (expected network, "
                            "http_server, http_client, script, resource, "
                            "security, authentication, performance or other)",
                            tok_desc(ps, buf, sizeof(buf)));
        lex(ps);
        if (ps->tok == T_END || ps->tok == T_EOR)
                return fail(ps, "missing severity after '%s'",
                            categories[r->category]);
        if ((r->severity = lookup(severities, SEVERITY_CNT, ps)) == -1)
                return fail(ps,
                            "unknown severity %s (expected low, medium, high "
                            "or critical)",
                            tok_desc(ps, buf, sizeof(buf)));
        lex(ps);
        if (ps->tok != T_END && ps->tok != T_EOR)
                return fail(ps, "unexpected %s after the severity",
                            tok_desc(ps, buf, sizeof(buf)));
        return 0;
}

static int parse_rules(rs_classify_t *c, const char *text, const char *prefix,
                       char *errstr, size_t errstr_size) {
        struct parser ps = {
            .p           = text ? text : "",
            .prefix      = prefix,
            .errstr      = errstr,
            .errstr_size = errstr_size,
        };

        for (lex(&ps); ps.tok != T_END;) {
                if (ps.tok == T_EOR) {
                        lex(&ps);
                        continue;
                }
                ps.rule_no++;
                if (ps.tok == T_UNTERMINATED)
                        return fail(&ps, "unterminated quote");
                if (parse_rule(&ps, c) == -1)
                        return -1;
        }
        return 0;
}

rs_classify_t *rs_classify_new(const char *rules, char *errstr,
                               size_t errstr_size) {
        rs_classify_t *c = calloc(1, sizeof(*c));

        if (!c) {
                if (errstr && errstr_size)
                        snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        if (parse_rules(c, rules, "rule", errstr, errstr_size) == -1 ||
            parse_rules(c, default_rules, "built-in rule", errstr,
                        errstr_size) == -1) {
                rs_classify_destroy(c);
                return NULL;
        }
        return c;
}

void rs_classify_destroy(rs_classify_t *c) {
        size_t i, j, k;

        if (!c)
                return;
        for (i = 0; i < c->rule_cnt; i++) {
                struct rule *r = &c->rules[i];

                for (j = 0; j < r->cond_cnt; j++) {
                        struct cond *cd = &r->conds[j];

                        for (k = 0; k < cd->str_cnt; k++)
                                free(cd->strs[k]);
                        free(cd->strs);
                        free(cd->nums);
                        if (cd->has_re)
                                regfree(&cd->re);
                }
                free(r->conds);
        }
        free(c->rules);
        free(c);
}

/* ---- matching -------------------------------------------------------- */

static int cond_match(const struct cond *cd, const rs_classify_input_t *in) {
        const char *s;
        double      v;
        size_t      i;

        switch (cd->field) {
        case F_KIND:
        case F_TYPE:
        case F_MESSAGE:
                s = cd->field == F_KIND   ? in->kind
                    : cd->field == F_TYPE ? in->error_type
                                          : in->message;
                if (!s)
                        s = "";
                if (cd->op == OP_MATCH)
                        return regexec(&cd->re, s, 0, NULL, 0) == 0;
                for (i = 0; i < cd->str_cnt; i++)
                        if (ieq(s, strlen(s), cd->strs[i]))
                                return cd->op != OP_NE;
                return cd->op == OP_NE;
        case F_STATUS:
                if (in->http_status <= 0)
                        return 0;
                v = in->http_status;
                break;
        case F_DURATION:
                if (isnan(in->duration_ms))
                        return 0;
                v = in->duration_ms;
                break;
        default:
                return 0;
        }

        switch (cd->op) {
        case OP_EQ:
                return v == cd->nums[0];
        case OP_NE:
                return v != cd->nums[0];
        case OP_LT:
                return v < cd->nums[0];
        case OP_LE:
                return v <= cd->nums[0];
        case OP_GT:
                return v > cd->nums[0];
        case OP_GE:
                return v >= cd->nums[0];
        case OP_RANGE:
                return v >= cd->nums[0] && v <= cd->nums[1];
        case OP_IN:
                for (i = 0; i < cd->num_cnt; i++)
                        if (v == cd->nums[i])
                                return 1;
                return 0;
        default:
                return 0;
        }
}

void rs_classify(const rs_classify_t *c, const rs_classify_input_t *in,
                 const char **category, const char **severity) {
        size_t i, j;

        *category = "other";
        *severity = "low";
        if (!c || !in)
                return;
        for (i = 0; i < c->rule_cnt; i++) {
                const struct rule *r = &c->rules[i];

                for (j = 0; j < r->cond_cnt; j++)
                        if (!cond_match(&r->conds[j], in))
                                break;
                if (j == r->cond_cnt) {
                        *category = categories[r->category];
                        *severity = severities[r->severity];
                        return;
                }
        }
}
