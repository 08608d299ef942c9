/*
 * classify: category and severity of a front-end error, from rules.
 *
 * Rules are text, one per line or ';'. The operator's rules come first, then
 * the built-in ones below; the first rule whose conditions all hold decides.
 * The built-in rules are parsed by the same parser at rs_classify_new(), so
 * they are also the reference example of the language.
 *
 *   rule       := conditions "=>" category severity
 *   conditions := "*" | condition { "and" condition }
 *   condition  := string-field ( "=" value | "!=" value
 *                              | "in" "(" value { "," value } ")"
 *                              | "~" regex )
 *               | number-field ( ("=" | "!=" | "<" | "<=" | ">" | ">=") N
 *                              | "in" "(" N { "," N } ")" | "in" N ".." M )
 *   string-field: kind, type (error_type), message
 *   number-field: status (http_status), duration_ms
 *   value      : a word ([A-Za-z0-9_$.:/+-]) or a quoted string
 *   regex      : a quoted string, POSIX extended, case-insensitive,
 *                searched anywhere in the value (anchor it with ^ and $)
 *   quotes     : '...' or "..."; no backslash escapes (regexes keep theirs),
 *                the quote character doubled stands for itself ('it''s')
 *   '#' starts a comment that runs to the end of the line; empty rules are
 *   skipped; keywords, field names, categories and severities are
 *   case-insensitive, and so are "=", "!=" and "in" on strings.
 *
 *   A missing value never satisfies a condition on it: "status < 500" does
 *   not hold for an error without an HTTP status (0), nor "duration_ms < 10"
 *   for one without a duration (NAN); a missing string is "".
 *
 *   categories: network, http_server, http_client, script, resource,
 *               security, authentication, performance, other
 *   severities: low, medium, high, critical
 *
 * Example (the processor's classify.rules setting):
 *   "status in 500..599 and message ~ 'checkout' => http_server critical;
 *    kind = js_error and type in (TypeError, ReferenceError) => script low"
 *
 * The built-in rules, in order:
 *   slow_request / long_task >= 10 s     performance   medium
 *   slow_request / long_task             performance   low
 *   resource_error, ChunkLoadError,
 *     "Loading (CSS) chunk"              resource      medium
 *   SecurityError, CSP, CORS,
 *     mixed content                      security      high
 *   status 401, 403                      authentication medium
 *   status 5xx                           http_server   high
 *   "token expired", "unauthorized" ...  authentication medium
 *   status 429                           http_client   medium
 *   other 4xx                            http_client   low
 *   network_error, "Failed to fetch",
 *     "NetworkError", "Load failed"      network       medium
 *   "Maximum call stack",
 *     "too much recursion"               script        critical
 *   TypeError, ReferenceError,
 *     SyntaxError                        script        high
 *   other js_error, unhandled_rejection  script        medium
 *   anything else                        other         low
 */
#ifndef RS_CLASSIFY_H
#define RS_CLASSIFY_H

#include <stddef.h>

typedef struct rs_classify_s rs_classify_t;

/**
 * @brief Compiles \p rules (may be NULL or empty) followed by the built-in
 *        rules.
 * @returns the classifier, or NULL with "rule N: <what is wrong>" in
 *          \p errstr (N counts the non-empty rules of \p rules from 1).
 *          Caller frees with rs_classify_destroy().
 */
rs_classify_t *rs_classify_new(const char *rules, char *errstr,
                               size_t errstr_size);
/** @brief NULL-safe. */
void rs_classify_destroy(rs_classify_t *c);

/** What an error is classified by; strings borrowed, each may be NULL. */
typedef struct rs_classify_input_s {
        const char *kind;
        const char *error_type;
        const char *message;
        int         http_status; /* 0 or less: none */
        double      duration_ms; /* NAN: none */
} rs_classify_input_t;

/**
 * @brief Sets \p *category and \p *severity to static strings (never NULL):
 *        those of the first rule that matches \p in ("other", "low" if \p c
 *        is NULL). Thread-safe on a shared \p c.
 */
void rs_classify(const rs_classify_t *c, const rs_classify_input_t *in,
                 const char **category, const char **severity);

#endif
