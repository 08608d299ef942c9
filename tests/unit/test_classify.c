/*
 * test_classify: the built-in rules on a table that reaches every category
 * and severity, operator rules that come first, each syntax error and its
 * message, and the details of the language (quotes, comments, ranges, case).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rumstream/classify.h"
#include "rs_test.h"

struct row {
        const char *kind, *type, *message;
        int         status;
        double      duration_ms;
        const char *category, *severity;
};

static const struct row defaults[] = {
    /* resource */
    {"resource_error", "img", "Failed to load https://x/a.png", 0, NAN,
     "resource", "medium"},
    {"js_error", "ChunkLoadError", "Loading chunk 123 failed.", 0, NAN,
     "resource", "medium"},
    {"unhandled_rejection", "Error",
     "Loading CSS chunk 4 failed. (/static/css/4.a1b2c3d4.chunk.css)", 0, NAN,
     "resource", "medium"},

    /* security: before network, since a CORS failure is also a fetch one */
    {"js_error", "SecurityError",
     "Failed to read the 'localStorage' property from 'Window'", 0, NAN,
     "security", "high"},
    {"js_error", "Error",
     "Refused to load the script 'x' because it violates the following "
     "Content Security Policy directive",
     0, NAN, "security", "high"},
    {"network_error", "TypeError",
     "Access to fetch at 'x' from origin 'y' has been blocked by CORS policy",
     0, NAN, "security", "high"},
    {"js_error", "Error",
     "Mixed Content: The page at 'x' was loaded over HTTPS", 0, NAN, "security",
     "high"},
    /* ... and before assets: a script the policy blocked did not fail to
     * download */
    {"resource_error", "CSPViolation",
     "Refused to load the script 'https://cdn.example/w.js' because it "
     "violates the following Content Security Policy directive",
     0, NAN, "security", "high"},

    /* authentication */
    {"http_error", "4xx", "", 401, NAN, "authentication", "medium"},
    {"http_error", "4xx", "", 403, NAN, "authentication", "medium"},
    {"unhandled_rejection", "Error", "Token expired", 0, NAN, "authentication",
     "medium"},
    {"js_error", "Error", "Request unauthorized", 0, NAN, "authentication",
     "medium"},
    {"js_error", "AuthError", "JWT has expired", 0, NAN, "authentication",
     "medium"},

    /* http_server */
    {"http_error", "5xx", "", 500, NAN, "http_server", "high"},
    {"http_error", "5xx", "", 503, NAN, "http_server", "high"},
    {"http_error", "5xx", "", 504, NAN, "http_server", "high"},
    {"http_error", "5xx", "Unauthorized", 599, NAN, "http_server", "high"},

    /* http_client */
    {"http_error", "4xx", "", 429, NAN, "http_client", "medium"},
    {"http_error", "4xx", "", 404, NAN, "http_client", "low"},
    {"http_error", "4xx", "", 422, NAN, "http_client", "low"},
    {"http_error", "4xx", "", 400, NAN, "http_client", "low"},

    /* network */
    {"network_error", "TypeError", "Failed to fetch", 0, NAN, "network",
     "medium"},
    {"network_error", "", "", 0, NAN, "network", "medium"},
    {"unhandled_rejection", "TypeError", "Failed to fetch", 0, NAN, "network",
     "medium"},
    {"unhandled_rejection", "TypeError",
     "NetworkError when attempting to fetch resource.", 0, NAN, "network",
     "medium"},
    {"unhandled_rejection", "TypeError", "Load failed", 0, NAN, "network",
     "medium"},

    /* performance */
    {"slow_request", "2xx", "", 200, 12000, "performance", "medium"},
    {"slow_request", "2xx", "", 200, 10000, "performance", "medium"},
    {"slow_request", "2xx", "", 200, 9999.5, "performance", "low"},
    {"slow_request", "5xx", "", 500, 3000, "performance", "low"},
    {"slow_request", "", "", 0, NAN, "performance", "low"},
    {"long_task", "", "", 0, 15000, "performance", "medium"},

    /* script */
    {"js_error", "RangeError", "Maximum call stack size exceeded", 0, NAN,
     "script", "critical"},
    {"js_error", "InternalError", "too much recursion", 0, NAN, "script",
     "critical"},
    {"js_error", "TypeError", "Cannot read properties of undefined", 0, NAN,
     "script", "high"},
    {"js_error", "typeerror", "x is not a function", 0, NAN, "script", "high"},
    {"unhandled_rejection", "ReferenceError", "foo is not defined", 0, NAN,
     "script", "high"},
    {"js_error", "SyntaxError", "Unexpected token '<'", 0, NAN, "script",
     "high"},
    {"js_error", "RangeError", "Invalid array length", 0, NAN, "script",
     "medium"},
    {"js_error", "Error", "Payment failed", 0, NAN, "script", "medium"},
    {"unhandled_rejection", NULL, NULL, 0, NAN, "script", "medium"},

    /* other */
    {"http_error", "3xx", "", 302, NAN, "other", "low"},
    {"custom", "Error", "boom", 0, NAN, "other", "low"},
    {NULL, NULL, NULL, 0, NAN, "other", "low"},
};

static void check_row(const rs_classify_t *c, const struct row *r,
                      const char *what) {
        rs_classify_input_t in = {
            .kind        = r->kind,
            .error_type  = r->type,
            .message     = r->message,
            .http_status = r->status,
            .duration_ms = r->duration_ms,
        };
        const char *category = NULL, *severity = NULL;

        rs_classify(c, &in, &category, &severity);
        RS_CHECK_MSG(category && severity && !strcmp(category, r->category) &&
                         !strcmp(severity, r->severity),
                     "%s: %s/%s/\"%s\"/%d/%g -> %s %s, expected %s %s", what,
                     r->kind ? r->kind : "(null)", r->type ? r->type : "(null)",
                     r->message ? r->message : "(null)", r->status,
                     r->duration_ms, category ? category : "(null)",
                     severity ? severity : "(null)", r->category, r->severity);
}

static void test_defaults(void) {
        static const char *const categories[] = {
            "network",  "http_server",    "http_client", "script", "resource",
            "security", "authentication", "performance", "other"};
        static const char *const severities[] = {"low", "medium", "high",
                                                 "critical"};
        char                     err[256]     = "";
        rs_classify_t           *c = rs_classify_new(NULL, err, sizeof(err));
        size_t i, j, n = sizeof(defaults) / sizeof(defaults[0]);

        RS_CHECK_MSG(c != NULL, "%s", err);
        if (!c)
                return;
        for (i = 0; i < n; i++)
                check_row(c, &defaults[i], "default");

        /* the table reaches every category and every severity */
        for (j = 0; j < sizeof(categories) / sizeof(categories[0]); j++) {
                for (i = 0; i < n; i++)
                        if (!strcmp(defaults[i].category, categories[j]))
                                break;
                RS_CHECK_MSG(i < n, "no row for category %s", categories[j]);
        }
        for (j = 0; j < sizeof(severities) / sizeof(severities[0]); j++) {
                for (i = 0; i < n; i++)
                        if (!strcmp(defaults[i].severity, severities[j]))
                                break;
                RS_CHECK_MSG(i < n, "no row for severity %s", severities[j]);
        }
        rs_classify_destroy(c);

        /* empty rules text, blank lines and comments: the defaults alone */
        c = rs_classify_new("", err, sizeof(err));
        RS_CHECK(c != NULL);
        check_row(c, &defaults[0], "empty");
        rs_classify_destroy(c);
        c = rs_classify_new("\n ; # nothing here\n;;\n", err, sizeof(err));
        RS_CHECK_MSG(c != NULL, "%s", err);
        check_row(c, &defaults[0], "blank");
        rs_classify_destroy(c);

        /* NULL-safety */
        rs_classify_destroy(NULL);
        check_row(NULL, &defaults[n - 1], "no classifier");
}

static void test_user_rules(void) {
        static const char rules[] =
            "# checkout failures wake someone up\n"
            "status in 500..599 and message ~ 'checkout' => http_server "
            "critical\n"
            "kind = js_error and type in (TypeError, ReferenceError) => script "
            "low;"
            "message ~ 'ResizeObserver loop' => other low ;\n"
            "status != 404 and status in (400, 410) => http_client high\n"
            "kind = slow_request and duration_ms > 3000 and duration_ms < 5000 "
            "=> performance high\n"
            "type = '5xx' and status <= 502 and status > 501 => http_server "
            "low\n"
            "message = 'Script error.' => other medium\n"
            "message ~ 'can''t find' => script critical\n"
            "message ~ \"a;b\" => network low\n"
            "KIND = Custom_Kind AND Type != Error => SECURITY Critical\n"
            "status = 418 => other high\n";
        static const struct row rows[] = {
            /* before the defaults */
            {"http_error", "5xx", "POST /api/checkout failed", 500, NAN,
             "http_server", "critical"},
            {"http_error", "5xx", "POST /api/cart failed", 500, NAN,
             "http_server", "high"},
            {"js_error", "TypeError", "x", 0, NAN, "script", "low"},
            {"js_error", "SyntaxError", "x", 0, NAN, "script", "high"},
            {"js_error", "Error", "ResizeObserver loop limit exceeded", 0, NAN,
             "other", "low"},
            {"http_error", "4xx", "", 410, NAN, "http_client", "high"},
            {"http_error", "4xx", "", 404, NAN, "http_client", "low"},
            {"slow_request", "", "", 200, 4000, "performance", "high"},
            {"slow_request", "", "", 200, 5000, "performance", "low"},
            {"http_error", "5xx", "", 502, NAN, "http_server", "low"},
            {"http_error", "5xx", "", 501, NAN, "http_server", "high"},
            {"js_error", "Error", "Script error.", 0, NAN, "other", "medium"},
            {"js_error", "Error", "script ERROR.", 0, NAN, "other", "medium"},
            {"js_error", "Error", "Script error. ", 0, NAN, "script", "medium"},
            {"js_error", "Error", "Can't find variable: x", 0, NAN, "script",
             "critical"},
            {"js_error", "Error", "x a;b y", 0, NAN, "network", "low"},
            {"custom_kind", "Warning", "", 0, NAN, "security", "critical"},
            {"custom_kind", "error", "", 0, NAN, "other", "low"},
            {"http_error", "4xx", "", 418, NAN, "other", "high"},
            /* a condition on a missing value never holds */
            {"http_error", "4xx", "", 0, NAN, "other", "low"},
        };
        char           err[256] = "";
        rs_classify_t *c        = rs_classify_new(rules, err, sizeof(err));
        size_t         i;

        RS_CHECK_MSG(c != NULL, "%s", err);
        if (!c)
                return;
        for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
                check_row(c, &rows[i], "user");
        rs_classify_destroy(c);

        /* a catch-all rule ends the search before the defaults */
        c = rs_classify_new("* => other medium", err, sizeof(err));
        RS_CHECK_MSG(c != NULL, "%s", err);
        check_row(
            c,
            &(struct row){"http_error", "5xx", "", 500, NAN, "other", "medium"},
            "catch-all");
        rs_classify_destroy(c);

        /* "!=" on a missing number does not hold either */
        c = rs_classify_new("status != 500 => other high;"
                            "duration_ms != 1 => other critical",
                            err, sizeof(err));
        RS_CHECK_MSG(c != NULL, "%s", err);
        check_row(
            c,
            &(struct row){"js_error", "Error", "x", 0, NAN, "script", "medium"},
            "missing !=");
        check_row(
            c,
            &(struct row){"js_error", "Error", "x", 0, 2, "other", "critical"},
            "duration !=");
        rs_classify_destroy(c);
}

/* Message regexes ignore case, both ways, and match anywhere. */
static void test_case(void) {
        char           err[256] = "";
        rs_classify_t *c        = rs_classify_new(
                   "message ~ 'CHECKOUT' => other critical;"
                          "message ~ '^payment [0-9]+ declined$' => other high;"
                          "type ~ '^Quota' => other medium",
                   err, sizeof(err));

        RS_CHECK_MSG(c != NULL, "%s", err);
        if (!c)
                return;
        check_row(c,
                  &(struct row){"js_error", "Error", "checkout failed", 0, NAN,
                                "other", "critical"},
                  "lower");
        check_row(c,
                  &(struct row){"js_error", "Error", "on ChEcKoUt page", 0, NAN,
                                "other", "critical"},
                  "mixed");
        check_row(c,
                  &(struct row){"js_error", "Error", "PAYMENT 42 DECLINED", 0,
                                NAN, "other", "high"},
                  "anchored");
        check_row(c,
                  &(struct row){"js_error", "Error", "payment 42 declined!", 0,
                                NAN, "script", "medium"},
                  "anchored, no match");
        check_row(c,
                  &(struct row){"js_error", "QUOTAEXCEEDEDERROR", "x", 0, NAN,
                                "other", "medium"},
                  "type regex");
        rs_classify_destroy(c);
}

static const struct {
        const char *rules;
        const char *error; /* expected substrings, '|'-separated */
} errors[] = {
    {"foo = 1 => other low", "rule 1: |unknown field 'foo'|expected kind"},
    {"kind < 3 => other low", "rule 1: |bad operator '<' for 'kind'"},
    {"kind >= x => other low", "bad operator '>=' for 'kind'"},
    {"status ~ '5' => other low", "bad operator '~' for 'status'"},
    {"kind is js_error => other low", "bad operator 'is' after 'kind'"},
    {"kind", "missing operator after 'kind'"},
    {"status = abc => other low", "bad number 'abc' for 'status'"},
    {"status >= 5xx => other low", "bad number '5xx'"},
    {"duration_ms > 1e4 => other low", "bad number '1e4' for 'duration_ms'"},
    {"status in 500..abc => other low", "bad number 'abc'"},
    {"status in (401, x) => other low", "bad number 'x'"},
    {"status in 599..500 => other low", "empty range 599..500"},
    {"status in 500 => other low", "expected '(' or N..M"},
    {"status = => other low", "missing number for 'status', found '=>'"},
    {"kind = js_error => bogus low", "unknown category 'bogus'"},
    {"kind = js_error => script urgent", "unknown severity 'urgent'"},
    {"kind = js_error => script", "missing severity after 'script'"},
    {"kind = js_error =>", "missing category"},
    {"message ~ '(' => other low", "bad regex '(' for 'message'"},
    {"message ~ 'a[' => other low", "bad regex"},
    {"kind = js_error script low", "expected 'and' or '=>' before 'script'"},
    {"kind = js_error", "missing '=>'"},
    {"*", "missing '=>'"},
    {"kind = js_error => script low extra", "unexpected 'extra'"},
    {"message ~ 'abc => other low", "unterminated quote"},
    {"'abc", "rule 1: unterminated quote"},
    {"kind in (a, b => other low", "expected ',' or ')' in the list of 'kind'"},
    {"kind in a => other low", "expected '(' after 'kind in'"},
    {"kind in () => other low", "missing value in the list of 'kind'"},
    {"kind = => other low", "missing value after 'kind ='"},
    {"=> other low", "expected a field or '*', found '=>'"},
    {"kind = a and => other low", "expected a field"},
    {"kind = a or type = b => other low", "expected 'and' or '=>' before 'or'"},
    {"kind ! a => other low", "bad operator '!'"},
    /* the rule number counts rules, not lines or separators */
    {"kind = a => other low; foo = 1 => other low", "rule 2: unknown field"},
    {"\n# comment\nkind = a => other low\n\n;;\nbar = 1 => other low",
     "rule 2: unknown field 'bar'"},
    {"* => other low\n* => other low\n* => other lo",
     "rule 3: unknown severity"},
};

static void test_errors(void) {
        size_t i;

        for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
                char           err[256] = "";
                char           want[256], *tok, *save = NULL;
                rs_classify_t *c =
                    rs_classify_new(errors[i].rules, err, sizeof(err));

                RS_CHECK_MSG(c == NULL, "\"%s\" was accepted", errors[i].rules);
                rs_classify_destroy(c);
                snprintf(want, sizeof(want), "%s", errors[i].error);
                for (tok = strtok_r(want, "|", &save); tok;
                     tok = strtok_r(NULL, "|", &save))
                        RS_CHECK_MSG(strstr(err, tok) != NULL,
                                     "\"%s\": error \"%s\" lacks \"%s\"",
                                     errors[i].rules, err, tok);
        }

        /* no errstr, or a tiny one */
        RS_CHECK(rs_classify_new("foo", NULL, 0) == NULL);
        {
                char small[8];

                RS_CHECK(rs_classify_new("foo", small, sizeof(small)) == NULL);
                RS_CHECK_STR(small, "rule 1:");
        }
}

/* Random rule texts built from the language's pieces: each is accepted or
 * rejected with a message, never crashes or leaks (run it under ASan). */
static void test_random(void) {
        static const char *const pieces[] = {
            "kind",   "type",    "message",  "status", "duration_ms", "=",
            "!=",     "<",       "<=",       ">",      ">=",          "~",
            "in",     "(",       ")",        ",",      "..",          "*",
            "=>",     "and",     ";",        "\n",     "'",           "\"",
            "'a(b'",  "'x|y'",   "500",      "1.5",    "-3",          "abc",
            "script", "other",   "low",      "high",   "#c\n",        " ",
            "''",     "'it''s'", "\xc3\xa9", "!",      "[",           "",
        };
        uint64_t state = 42;
        char     text[256], err[128];
        int      i, accepted = 0, bad = 0;

        for (i = 0; i < 20000; i++) {
                size_t         n = 0, k, cnt;
                rs_classify_t *c;

                state = state * 6364136223846793005ULL + 1442695040888963407ULL;
                cnt   = (size_t)(state >> 59) + 1;
                text[0] = '\0';
                for (k = 0; k < cnt; k++) {
                        const char *p;

                        state = state * 6364136223846793005ULL +
                                1442695040888963407ULL;
                        p = pieces[(state >> 33) %
                                   (sizeof(pieces) / sizeof(pieces[0]))];
                        if (n + strlen(p) + 2 >= sizeof(text))
                                break;
                        n += (size_t)sprintf(text + n, "%s ", p);
                }
                err[0] = '\0';
                if ((c = rs_classify_new(text, err, sizeof(err)))) {
                        const char         *cat, *sev;
                        rs_classify_input_t in = {"js_error", "TypeError",
                                                  "a(b x", 500, 1.5};

                        accepted++;
                        rs_classify(c, &in, &cat, &sev);
                        bad += !cat || !sev;
                        rs_classify_destroy(c);
                } else {
                        bad += strncmp(err, "rule ", 5) != 0;
                }
        }
        RS_CHECK_INT(bad, 0);
        RS_CHECK(accepted > 0);
}

int main(void) {
        test_defaults();
        test_user_rules();
        test_case();
        test_errors();
        test_random();
        return RS_TEST_DONE();
}
