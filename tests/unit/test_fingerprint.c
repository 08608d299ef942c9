/*
 * test_fingerprint: message normalization (JSON literals and scrubber
 * placeholders included) and file normalization tables,
 * frames parsed from each stack dialect, pairs of events that must and must
 * not share a group, a pinned id, and 100k random inputs (run it under ASan).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rumstream/fingerprint.h"
#include "rumstream/hash.h"
#include "rs_test.h"

/* ---- messages -------------------------------------------------------- */

static const struct {
        const char *in;
        const char *out;
} messages[] = {
    /* quoted values */
    {"Cannot read properties of undefined (reading 'foo')",
     "Cannot read properties of undefined (reading <str>)"},
    {"Unexpected token 'o', \"[object Obj\"... is not valid JSON",
     "Unexpected token <str>, <str>... is not valid JSON"},
    {"`tpl` and \"dq\" and ''", "<str> and <str> and <str>"},
    {"Can't find variable: foo", "Can't find variable: foo"},
    {"it's users' 'don't'", "it's users' <str>"},
    {"Unexpected 'x", "Unexpected 'x"},
    {"\"it's\" ok", "<str> ok"},

    /* numbers */
    {"Loading chunk 123 failed.", "Loading chunk <n> failed."},
    {"Request failed with status code 404",
     "Request failed with status code <n>"},
    {"x is -1.5e3 and 42, 3.14 or +7", "x is <n> and <n>, <n> or +<n>"},
    {"[1,2,3]", "[<n>,<n>,<n>]"},
    {"a-1 b -2 c--3", "a-<n> b <n> c-<n>"},
    {"order #12345 failed", "order #<n> failed"},
    {"v1.2.3", "v1.<n>"},
    {"Unexpected token < in JSON at position 0",
     "Unexpected token < in JSON at position <n>"},
    {"Loading CSS chunk 4 failed. (/static/css/4.a1b2c3d4.chunk.css)",
     "Loading CSS chunk <n> failed. (/static/css/<n>.<hex>.chunk.css)"},
    /* React and Redux error codes name the error */
    {"Minified React error #418; visit "
     "https://reactjs.org/docs/error-decoder.html?invariant=418 for the "
     "full message",
     "Minified React error #418; visit <url> for the full message"},

    /* identifiers with digits stay words */
    {"e2e utf8 h1 chunk-vendors v2 es2015 abc123 1a 12px 30000ms",
     "e2e utf8 h1 chunk-vendors v2 es2015 abc123 1a 12px 30000ms"},
    {"user_123 $4.50", "user_123 $<n>"},

    /* hex and UUIDs */
    {"bad pointer 0x7ffde4a0 and 0X1F", "bad pointer <hex> and <hex>"},
    {"hash 3f2a9c1b mismatch; deadbeef00 ABCDEF12",
     "hash <hex> mismatch; <hex> <hex>"},
    {"facade 3f2a9c1", "facade 3f2a9c1"}, /* 7 hex digits: a word */
    {"id 123e4567-e89b-12d3-a456-426614174000 missing", "id <uuid> missing"},
    {"(123E4567-E89B-12D3-A456-426614174000)", "(<uuid>)"},
    {"123e4567-e89b-12d3-a456-426614174000-x",
     "<n>-e89b-12d3-a456-<n>-x"}, /* "123e4567" reads as a number */

    /* URLs */
    {"Failed to load https://cdn.example.com/app.js?v=3, retrying.",
     "Failed to load <url>, retrying."},
    {"fetch failed (https://api.example.com/v1/orders/42)",
     "fetch failed (<url>)"},
    {"see 'https://x/y' or \"wss://h:443/s\"", "see <str> or <str>"},
    {"blob:https://x/123 and chrome-extension://abc/x.js:1:2",
     "blob:<url> and <url>"},
    {"https://x/reset?t=<token> expired", "<url> expired"},
    {"no scheme: www.example.com/a", "no scheme: www.example.com/a"},

    /* the scrubber's placeholders are one value, whichever kind; other
     * placeholders stay */
    {"user <email> at <ip> with <token> <redacted>",
     "user <pii> at <pii> with <pii> <pii>"},
    {"No account found for <phone>", "No account found for <pii>"},
    {"Card <card> was declined", "Card <pii> was declined"},
    {"password=<redacted>&x=<email>", "password=<pii>&x=<pii>"},
    {"<ipv6_addr>7 <div class=x>", "<ipv6_addr><n> <div class=x>"},
    {"at <anonymous> <pii> <json>", "at <anonymous> <pii> <json>"},
    {"<Email> <emails>", "<Email> <emails>"},

    /* JSON-like literals with a quoted key or value */
    {"Non-Error promise rejection captured with value: "
     "{\"token\":\"<redacted>\"}",
     "Non-Error promise rejection captured with value: <json>"},
    {"Non-Error promise rejection captured with value: "
     "{\"email\":\"<redacted>\",\"password\":\"<redacted>\"}",
     "Non-Error promise rejection captured with value: <json>"},
    {"value: {\"a\": {\"b\": [1, \"x\", null, -2.5e3]}, \"c\": true,}.",
     "value: <json>."},
    {"rejected with { token: 'abc', n: 1 } twice",
     "rejected with <json> twice"},
    {"{ \"card\": <redacted>, 'k\\'q': \"a\\\"b\" }", "<json>"},
    {"one of [\"a\", 'b'] or [{\"c\":[]}, {}]", "one of <json> or <json>"},
    {"{\n  \"a\": \"b\"\n}", "<json>"},
    {"({\"a\":\"b\"})", "(<json>)"},
    {"=[\"x\"]", "=<json>"},
    {"{ 1: 'one', $ref: \"x\", _id: 'y' }", "<json>"},
    /* ... and what stays */
    {"Unexpected token } in JSON at position 12",
     "Unexpected token } in JSON at position <n>"},
    {"Unexpected token { in JSON at position 0",
     "Unexpected token { in JSON at position <n>"},
    {"Expected '{' but found 'x'", "Expected <str> but found <str>"},
    {"Expected ',' or '}' after property value in JSON at position 9",
     "Expected <str> or <str> after property value in JSON at position <n>"},
    {"a[0] is undefined", "a[<n>] is undefined"},
    {"obj[\"key\"] is undefined", "obj[<str>] is undefined"},
    {"f()['x'] and g]['y']", "f()[<str>] and g][<str>]"},
    {"[object Object] and {} and []", "[object Object] and {} and []"},
    {"{ a: 1, b: [2, 3] }", "{ a: <n>, b: [<n>, <n>] }"},
    {"Invalid selector [data-id=\"x\"]", "Invalid selector [data-id=<str>]"},
    {"{\"a\":\"b\" \"c\"}", "{<str>:<str> <str>}"},
    {"{\"a\":\"b\",,}", "{<str>:<str>,,}"},
    {"{\"a\" 1}", "{<str> <n>}"},
    {"{\"a\":\"b\"", "{<str>:<str>"},
    {"[\"a\", {\"b\":\"c\"} x", "[<str>, {<str>:<str>} x"},
    {"[1 {\"b\":\"c\"}]", "[<n> <json>]"},
    {"{\"a\": 'unclosed}", "{<str>: 'unclosed}"},
    {"[\"a\"} and {\"a\"]", "[<str>} and {<str>]"},

    /* whitespace and control bytes */
    {"  a \t\n b  ", "a b"},
    {"a\x01\x02"
     "b\x7f",
     "a b"},
    {"", ""},
    {" \t ", ""},

    /* non-ASCII words are kept whole */
    {"\xc3\xb1"
     "and\xc3\xba 42 caf\xc3\xa9",
     "\xc3\xb1"
     "and\xc3\xba <n> caf\xc3\xa9"},
    {"Maximum call stack size exceeded", "Maximum call stack size exceeded"},
};

static void check_message(const char *in, size_t len, const char *expected) {
        char   out[RS_FP_MESSAGE_MAX];
        size_t n;

        memset(out, 'X', sizeof(out));
        n = rs_fp_normalize_message(in, len, out, sizeof(out));
        RS_CHECK_MSG(!strcmp(out, expected),
                     "\"%.*s\" -> \"%s\", expected \"%s\"",
                     (int)(len > 200 ? 200 : len), in, out, expected);
        RS_CHECK_INT(n, strlen(out));
}

static void test_messages(void) {
        size_t i;

        for (i = 0; i < sizeof(messages) / sizeof(messages[0]); i++)
                check_message(messages[i].in, strlen(messages[i].in),
                              messages[i].out);

        /* idempotent: the placeholders it writes are ones it keeps */
        for (i = 0; i < sizeof(messages) / sizeof(messages[0]); i++)
                check_message(messages[i].out, strlen(messages[i].out),
                              messages[i].out);

        /* the length counts, not the NUL */
        check_message("abc 123 def", 5, "abc <n>");
        check_message("a\0b", 3, "a b");
        check_message(NULL, 10, "");
}

static int valid_utf8(const char *s) {
        const unsigned char *p = (const unsigned char *)s;

        while (*p) {
                int n = *p < 0x80 ? 0 : *p >= 0xf0 ? 3 : *p >= 0xe0 ? 2 : 1;

                if (*p >= 0x80 && *p < 0xc0)
                        return 0;
                for (p++; n > 0; n--, p++)
                        if ((*p & 0xc0) != 0x80)
                                return 0;
        }
        return 1;
}

static void test_message_cut(void) {
        static char in[4000];
        char        out[RS_FP_MESSAGE_MAX];
        char        small[8];
        size_t      i, n;

        /* one long word: RS_FP_MESSAGE_MAX - 1 bytes */
        memset(in, 'z', 600);
        in[600] = '\0';
        n       = rs_fp_normalize_message(in, 600, out, sizeof(out));
        RS_CHECK_INT(n, RS_FP_MESSAGE_MAX - 1);
        RS_CHECK_INT(strlen(out), RS_FP_MESSAGE_MAX - 1);

        /* 300 x "é": the 256th would straddle the cut, so 255 are kept */
        for (i = 0; i < 300; i++)
                memcpy(in + 2 * i, "\xc3\xa9", 2);
        n = rs_fp_normalize_message(in, 600, out, sizeof(out));
        RS_CHECK_INT(n, 510);
        RS_CHECK(valid_utf8(out));

        /* 3-byte and 4-byte characters, at every offset of the cut */
        for (i = 0; i < 4; i++) {
                size_t k;

                memset(in, 'a', i);
                for (k = 0; k < 150; k++)
                        memcpy(in + i + 4 * k,
                               k % 2 ? "\xe2\x82\xac"
                                       "b"
                                     : "\xf0\x9f\x98\x80",
                               4);
                n = rs_fp_normalize_message(in, i + 600, out, sizeof(out));
                RS_CHECK(n <= RS_FP_MESSAGE_MAX - 1 && n >= 508);
                RS_CHECK_MSG(valid_utf8(out), "offset %zu", i);
        }

        /* a placeholder that does not fit is left out whole, with the space
         * before it */
        memset(in, 'z', 509);
        strcpy(in + 509, " 123");
        n = rs_fp_normalize_message(in, strlen(in), out, sizeof(out));
        RS_CHECK_INT(n, 509);
        RS_CHECK(out[508] == 'z');

        /* small buffers */
        n = rs_fp_normalize_message("hello 42", 8, small, sizeof(small));
        RS_CHECK_STR(small, "hello");
        RS_CHECK_INT(n, 5);
        n = rs_fp_normalize_message("hello 42", 8, small, 1);
        RS_CHECK_STR(small, "");
        RS_CHECK_INT(n, 0);
        RS_CHECK_INT(rs_fp_normalize_message("hello", 5, NULL, 0), 0);

        /* an unclosed quote is no quote, and does not make the scan
         * quadratic: 4000 bytes of "'a " */
        for (i = 0; i + 3 <= sizeof(in) - 1; i += 3)
                memcpy(in + i, "'a ", 3);
        in[i] = '\0';
        n     = rs_fp_normalize_message(in, strlen(in), out, sizeof(out));
        RS_CHECK(!strncmp(out, "'a 'a 'a", 8));
}

/* JSON literals: nesting up to 16 deep, and long literals that do not
 * close (64 KB, for ASan). */
static void test_message_json(void) {
        static const char *const unclosed[] = {
            "[",         "{\"a\":",      "[\"a\",",   "{\"a\":[\"b\",",
            "[[\"a\"],", "['x', \"\\\"", "[{}, [], ",
        };
        static char in[64 * 1024];
        char        out[RS_FP_MESSAGE_MAX];
        char        expected[64];
        size_t      i, k, n;

        /* 16 levels are one literal; at 17, the parse stops at the 17th
         * '[' and takes the literal that opens there */
        for (i = 0; i < 16; i++)
                in[i] = '[';
        memcpy(in + 16, "\"a\"", 3);
        for (i = 0; i < 16; i++)
                in[19 + i] = ']';
        check_message(in, 35, "<json>");
        for (i = 0; i < 17; i++)
                in[i] = '[';
        memcpy(in + 17, "\"a\"", 3);
        for (i = 0; i < 17; i++)
                in[20 + i] = ']';
        memset(expected, '[', 16);
        memcpy(expected + 16, "<json>", 6);
        memset(expected + 22, ']', 16);
        expected[38] = '\0';
        check_message(in, 37, expected);

        for (k = 0; k < sizeof(unclosed) / sizeof(unclosed[0]); k++) {
                size_t l = strlen(unclosed[k]);

                for (i = 0; i + l < sizeof(in); i += l)
                        memcpy(in + i, unclosed[k], l);
                n = rs_fp_normalize_message(in, i, out, sizeof(out));
                RS_CHECK(n > 0 && n < RS_FP_MESSAGE_MAX);
        }

        /* a literal that closes after 60 KB is still one */
        in[0] = '[';
        for (i = 1; i + 8 < sizeof(in); i += 4)
                memcpy(in + i, "\"a\",", 4);
        memcpy(in + i, "\"a\"]", 4);
        check_message(in, i + 4, "<json>");
}

/* ---- files ----------------------------------------------------------- */

static const struct {
        const char *in;
        const char *out;
} files[] = {
    {"https://cdn.example.com/static/js/main.3f2a9c1b.js:10:20",
     "/static/js/main.<hash>.js"},
    {"https://x/app-3f2a9c1b.js", "/app-<hash>.js"},
    {"https://x/chunk.8e1b2c3d4e5f.js?v=1#x", "/chunk.<hash>.js"},
    {"/static/js/4.a1b2c3d4.chunk.js", "/static/js/4.<hash>.chunk.js"},
    {"https://x/_next/static/chunks/pages/_app-3f2a9c1b4d5e6f70.js",
     "/_next/static/chunks/pages/_app-<hash>.js"},
    {"https://x/assets/index-BHaD8F-q.js", "/assets/index-<hash>.js"},
    {"https://x/app-IH3PNZ6Q.js:1:2", "/app-<hash>.js"},
    {"https://x/chunk-vendors-3f2a9c1b.js", "/chunk-vendors-<hash>.js"},
    {"https://x/polyfills-es2015.3f2a9c1b.js", "/polyfills-es2015.<hash>.js"},
    {"https://x/_next/static/Xc7sd9Lk2mN-pQ4rT_1/_buildManifest.js",
     "/_next/static/<hash>/_buildManifest.js"},
    {"https://x/build/1700000000/app.js", "/build/<hash>/app.js"},
    /* words stay */
    {"https://x/e2e-tests.js", "/e2e-tests.js"},
    {"https://x/js/chunk-vendors.js:1:2", "/js/chunk-vendors.js"},
    {"https://x/facade.js", "/facade.js"},
    {"https://x/src/HomeV2Page.tsx", "/src/HomeV2Page.tsx"},
    {"https://x/static/js/4.chunk.js", "/static/js/4.chunk.js"},
    /* origins */
    {"https://localhost:3000/static/js/bundle.js:1234:12",
     "/static/js/bundle.js"},
    {"chrome-extension://abcdefgh/content.js:1:2", "/content.js"},
    {"webpack:///./src/App.js", "/./src/App.js"},
    {"file:///C:/app/index.js:3:4", "/C:/app/index.js"},
    {"blob:https://x/123e4567-e89b-12d3-a456-426614174000:1:2", "/<hash>"},
    {"https://x", "/"},
    {"app.js:1:2", "app.js"},
    {" https://x/a.js:1 ", "/a.js"},
    /* not files */
    {"", "<anonymous>"},
    {"<anonymous>", "<anonymous>"},
    {"<anonymous>:1:5", "<anonymous>"},
    {"native", "<anonymous>"},
    {"[native code]", "<anonymous>"},
    {"index 0", "<anonymous>"},
    {"eval at foo (https://x/a.js:1:2), <anonymous>:1:1", "<anonymous>"},
    {"https://x/a.js line 2 > eval:1:3", "<anonymous>"},
};

static void test_files(void) {
        char   out[RS_FP_FRAME_MAX];
        size_t i, n;

        for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                n = rs_fp_normalize_file(files[i].in, strlen(files[i].in), out,
                                         sizeof(out));
                RS_CHECK_MSG(!strcmp(out, files[i].out),
                             "\"%s\" -> \"%s\", expected \"%s\"", files[i].in,
                             out, files[i].out);
                RS_CHECK_INT(n, strlen(out));
        }

        /* a control byte ends the location */
        n = rs_fp_normalize_file("https://x/a.js\x01junk", 19, out,
                                 sizeof(out));
        RS_CHECK_STR(out, "/a.js");
        n = rs_fp_normalize_file("https://x/a.js\0/b.js", 20, out, sizeof(out));
        RS_CHECK_STR(out, "/a.js");
        n = rs_fp_normalize_file(NULL, 5, out, sizeof(out));
        RS_CHECK_STR(out, "<anonymous>");
}

/* ---- stacks ---------------------------------------------------------- */

static void check_frames(const char *what, const rs_fp_input_t *in,
                         const char *const *expected) {
        rs_fp_t out;
        size_t  i, n = 0;

        while (n < RS_FP_FRAMES && expected[n])
                n++;
        rs_fp_compute(in, &out);
        RS_CHECK_MSG(out.frame_cnt == n, "%s: %zu frames, expected %zu", what,
                     out.frame_cnt, n);
        for (i = 0; i < n && i < out.frame_cnt; i++)
                RS_CHECK_MSG(!strcmp(out.frames[i], expected[i]),
                             "%s: frame %zu \"%s\", expected \"%s\"", what, i,
                             out.frames[i], expected[i]);
}

static const char v8_stack[] =
    "TypeError: Cannot read properties of undefined (reading 'x')\n"
    "    at HTMLButtonElement.handleClick "
    "(https://shop.example/static/js/main.3f2a9c1b.js:2:1234)\n"
    "    at async loadCart "
    "(https://shop.example/static/js/main.3f2a9c1b.js:2:999)\n"
    "    at new CartView "
    "(https://shop.example/static/js/main.3f2a9c1b.js:1:10)\n"
    "    at Object.<anonymous> (https://shop.example/static/js/app.js:5:6)\n";

static const char gecko_stack[] =
    "handleClick@https://shop.example/static/js/main.3f2a9c1b.js:2:1240\n"
    "async*loadCart@https://shop.example/static/js/main.3f2a9c1b.js:2:1000\n"
    "CartView@https://shop.example/static/js/main.3f2a9c1b.js:1:12\n"
    "@https://shop.example/static/js/app.js:1:2\n";

static void test_stacks(void) {
        rs_fp_input_t            in     = {.tenant_id  = "t1",
                                           .kind       = "js_error",
                                           .error_type = "TypeError",
                                           .message    = "boom"};
        static const char *const cart[] = {
            "handleClick@/static/js/main.<hash>.js",
            "loadCart@/static/js/main.<hash>.js",
            "CartView@/static/js/main.<hash>.js",
        };

        in.stack = v8_stack;
        check_frames("v8", &in, cart);
        in.stack = gecko_stack;
        check_frames("gecko", &in, cart);

        /* V8: native, vendor and extension frames are skipped; anonymous
         * functions, [as alias], Object.<anonymous> */
        in.stack =
            "Error: boom\n"
            "    at Array.forEach (<anonymous>)\n"
            "    at r "
            "(https://x/static/js/vendors~main.3f2a9c1b.chunk.js:2:1)\n"
            "    at chrome-extension://abcdefgh/inject.js:1:1\n"
            "    at Object.<anonymous> (https://x/static/js/app.js:5:6)\n"
            "\tat https://x/static/js/app.js:7:8\n"
            "    at Promise.all (index 0)\n"
            "    at eval (eval at run (https://x/a.js:1:2), <anonymous>:1:1)\n"
            "    at fn [as onload] (https://x/static/js/app.js:9:9)\n"
            "    at later (https://x/static/js/app.js:10:1)\n";
        check_frames("v8 skips", &in,
                     (const char *const[]){"?@/static/js/app.js",
                                           "?@/static/js/app.js",
                                           "fn@/static/js/app.js"});

        /* V8 with a message line that looks like a Gecko frame */
        in.stack = "Error: mail a@https://x/evil.js:1:2\n"
                   "    at go (https://x/app.js:3:4)\n";
        check_frames("v8 message", &in,
                     (const char *const[]){"go@/app.js", NULL});

        /* Firefox: nested anonymous functions, promise callbacks, eval */
        in.stack = "outer/<@https://x/app.js:3:4\n"
                   "@https://x/app.js:1:2\n"
                   "bad@https://x/a.js line 2 > eval:1:3\n"
                   "promise callback*run@https://x/app.js:5:6\n"
                   "not a frame\n";
        check_frames(
            "gecko anon", &in,
            (const char *const[]){"?@/app.js", "?@/app.js", "run@/app.js"});

        /* Safari: native frames, global code, a bare location */
        in.stack = "handleClick@https://x/app.js:2:10\n"
                   "forEach@[native code]\n"
                   "global code@https://x/app.js:1:1\n"
                   "https://x/main.js:4:4\n";
        check_frames("safari", &in,
                     (const char *const[]){"handleClick@/app.js", "?@/app.js",
                                           "?@/main.js"});

        /* no in-app frame: the top frames anyway */
        in.stack =
            "Error: x\n"
            "    at a (https://x/node_modules/react-dom/cjs/react-dom.js:1:2)\n"
            "    at Array.map (<anonymous>)\n"
            "    at b (https://x/vendor/lib.js:3:4)\n"
            "    at c (https://x/polyfills.js:3:4)\n";
        check_frames(
            "vendor only", &in,
            (const char *const[]){"a@/node_modules/react-dom/cjs/react-dom.js",
                                  "map@<anonymous>", "b@/vendor/lib.js"});

        /* one or two in-app frames are all that is used */
        in.stack = "    at a (https://x/app.js:1:2)\n"
                   "    at b (https://x/node_modules/lib.js:1:2)\n";
        check_frames("one in-app", &in,
                     (const char *const[]){"a@/app.js", NULL});

        /* no stack: the file */
        in.stack = NULL;
        in.file  = "https://x/static/js/main.3f2a9c1b.js";
        check_frames(
            "file", &in,
            (const char *const[]){"?@/static/js/main.<hash>.js", NULL});
        in.stack = "garbage\nmore garbage";
        check_frames(
            "garbage stack", &in,
            (const char *const[]){"?@/static/js/main.<hash>.js", NULL});
        in.file = NULL;
        check_frames("nothing", &in, (const char *const[]){NULL});
        in.stack = "";
        in.file  = "";
        check_frames("empty", &in, (const char *const[]){NULL});
}

/* ---- grouping -------------------------------------------------------- */

#define STACK_A                                                                \
        "TypeError: x\n"                                                       \
        "    at handleClick (https://shop.example/static/js/main.3f2a9c1b.js:" \
        "2:1234)\n"                                                            \
        "    at dispatch (https://shop.example/static/js/main.3f2a9c1b.js:"    \
        "2:999)\n"
#define STACK_A_BUILD2                                                         \
        "TypeError: x\n"                                                       \
        "    at handleClick (https://cdn2.example/static/js/main.77aa00ff.js"  \
        "?v=2:3:55)\n"                                                         \
        "    at dispatch (https://cdn2.example/static/js/main.77aa00ff.js:"    \
        "3:12)\n"

#define JS(t, m, s)                                                            \
        {                                                                      \
                .tenant_id = "t1", .kind = "js_error", .error_type = t,        \
                .message = m, .stack = s                                       \
        }
#define REQ(k, m, u, st)                                                       \
        {                                                                      \
                .tenant_id = "t1", .kind = k, .error_type = "", .message = "", \
                .http_method = m, .request_url = u, .http_status = st          \
        }

static const struct {
        const char   *what;
        rs_fp_input_t a, b;
} same[] = {
    {"different quoted values",
     JS("TypeError", "Cannot read properties of undefined (reading 'foo')",
        STACK_A),
     JS("TypeError", "Cannot read properties of undefined (reading 'bar')",
        STACK_A)},
    {"different builds, hosts, lines",
     JS("TypeError", "x is undefined", STACK_A),
     JS("TypeError", "x is undefined", STACK_A_BUILD2)},
    {"different numbers",
     JS("ChunkLoadError", "Loading chunk 12 failed.", NULL),
     JS("ChunkLoadError", "Loading chunk 345 failed.", NULL)},
    {"different URLs",
     JS("Error", "Failed to load https://a.example/x.js?u=1", STACK_A),
     JS("Error", "Failed to load https://b.example/y/z.js", STACK_A)},
    {"different UUIDs and hex ids",
     JS("Error", "order 123e4567-e89b-12d3-a456-426614174000 ref 3f2a9c1b",
        STACK_A),
     JS("Error", "order 00000000-0000-4000-8000-000000000000 ref 0badc0de",
        STACK_A)},
    {"whitespace", JS("Error", "a  b\n c", STACK_A),
     JS("Error", " a b c ", STACK_A)},
    {"V8 and Firefox, same message", JS("Error", "Payment failed", v8_stack),
     JS("Error", "Payment failed", gecko_stack)},
    {"different vendor frames",
     JS("Error", "boom",
        "    at x (https://x/node_modules/a.js:1:1)\n"
        "    at go (https://x/app.js:1:1)\n"),
     JS("Error", "boom",
        "    at y (https://x/node_modules/b.js:9:9)\n"
        "    at go (https://x/app.js:2:2)\n")},
    {"file of a different build",
     {.tenant_id  = "t1",
      .kind       = "js_error",
      .error_type = "SyntaxError",
      .message    = "Unexpected token '<'",
      .file       = "https://x/main.3f2a9c1b.js"},
     {.tenant_id  = "t1",
      .kind       = "js_error",
      .error_type = "SyntaxError",
      .message    = "Unexpected token '>'",
      .file       = "https://y/main.9e8d7c6b.js"}},
    {"request ids", REQ("http_error", "GET", "https://x/api/orders/123", 500),
     REQ("http_error", "GET", "https://x/api/orders/456?x=1", 500)},
    {"5xx class", REQ("http_error", "GET", "/api/orders/1", 502),
     REQ("http_error", "GET", "/api/orders/2", 503)},
    {"method case", REQ("http_error", "get", "/api/a", 404),
     REQ("http_error", " GET ", "/api/a", 404)},
    {"absolute and relative URL",
     REQ("http_error", "POST", "https://h/api/a/1", 500),
     REQ("http_error", "POST", "/api/a/2", 500)},
    {"network error, browser wording",
     {.tenant_id   = "t1",
      .kind        = "network_error",
      .error_type  = "TypeError",
      .message     = "Failed to fetch",
      .http_method = "GET",
      .request_url = "/api/cart"},
     {.tenant_id   = "t1",
      .kind        = "network_error",
      .error_type  = "TypeError",
      .message     = "Load failed",
      .http_method = "GET",
      .request_url = "/api/cart",
      .stack       = STACK_A}},
    {"slow request, any status", REQ("slow_request", "GET", "/api/search", 200),
     REQ("slow_request", "GET", "/api/search?q=shoes", 304)},
    {"scrubbed values", JS("Error", "no user <email>", STACK_A),
     JS("Error", "no user <email>", STACK_A)},
    {"scrubbed values of other kinds",
     JS("Error", "No account found for <email>", STACK_A),
     JS("Error", "No account found for <phone>", STACK_A)},
    {"JSON rejection values",
     {.tenant_id  = "t1",
      .kind       = "unhandled_rejection",
      .error_type = "UnhandledRejection",
      .message    = "Non-Error promise rejection captured with value: "
                    "{\"token\":\"<redacted>\"}"},
     {.tenant_id  = "t1",
      .kind       = "unhandled_rejection",
      .error_type = "UnhandledRejection",
      .message    = "Non-Error promise rejection captured with value: "
                    "{\"email\":\"<redacted>\",\"password\":\"<redacted>\"}"}},
    {"absent and empty type",
     {.tenant_id = "t1", .kind = "js_error", .message = "x"},
     {.tenant_id = "t1", .kind = "js_error", .error_type = "", .message = "x"}},
};

static const struct {
        const char   *what;
        rs_fp_input_t a, b;
} different[] = {
    {"error types", JS("TypeError", "x", STACK_A),
     JS("ReferenceError", "x", STACK_A)},
    {"messages", JS("Error", "Payment failed", STACK_A),
     JS("Error", "Cart is empty", STACK_A)},
    {"function names",
     JS("Error", "x", "    at handleClick (https://x/app.js:1:1)\n"),
     JS("Error", "x", "    at handleSubmit (https://x/app.js:1:1)\n")},
    {"files", JS("Error", "x", "    at go (https://x/app.js:1:1)\n"),
     JS("Error", "x", "    at go (https://x/admin.js:1:1)\n")},
    {"third frame",
     JS("Error", "x",
        "    at a (https://x/app.js:1:1)\n    at b (https://x/app.js:1:1)\n"
        "    at c (https://x/app.js:1:1)\n"),
     JS("Error", "x",
        "    at a (https://x/app.js:1:1)\n    at b (https://x/app.js:1:1)\n"
        "    at d (https://x/app.js:1:1)\n")},
    {"tenants",
     {.tenant_id  = "t1",
      .kind       = "js_error",
      .error_type = "Error",
      .message    = "x"},
     {.tenant_id  = "t2",
      .kind       = "js_error",
      .error_type = "Error",
      .message    = "x"}},
    {"kinds",
     {.tenant_id  = "t1",
      .kind       = "js_error",
      .error_type = "Error",
      .message    = "x"},
     {.tenant_id  = "t1",
      .kind       = "unhandled_rejection",
      .error_type = "Error",
      .message    = "x"}},
    {"files without a stack",
     {.tenant_id  = "t1",
      .kind       = "js_error",
      .error_type = "Error",
      .message    = "x",
      .file       = "https://x/a.js"},
     {.tenant_id  = "t1",
      .kind       = "js_error",
      .error_type = "Error",
      .message    = "x",
      .file       = "https://x/b.js"}},
    {"React error codes", JS("Error", "Minified React error #418", STACK_A),
     JS("Error", "Minified React error #423", STACK_A)},
    {"JSON and a brace in words",
     JS("SyntaxError", "Unexpected token } in JSON at position 12", STACK_A),
     JS("SyntaxError", "Unexpected token {\"a\":\"b\"} in JSON at position 1",
        STACK_A)},
    {"around a scrubbed value", JS("Error", "No account for <email>", STACK_A),
     JS("Error", "No order for <email>", STACK_A)},
    {"V8 and Firefox, engine wording",
     JS("TypeError", "Cannot read properties of undefined (reading 'x')",
        v8_stack),
     JS("TypeError", "can't access property \"x\", y is undefined",
        gecko_stack)},
    {"endpoints", REQ("http_error", "GET", "/api/orders/1", 500),
     REQ("http_error", "GET", "/api/users/1", 500)},
    {"4xx statuses", REQ("http_error", "GET", "/api/a", 404),
     REQ("http_error", "GET", "/api/a", 401)},
    {"4xx and 5xx", REQ("http_error", "GET", "/api/a", 499),
     REQ("http_error", "GET", "/api/a", 500)},
    {"methods", REQ("http_error", "GET", "/api/a", 500),
     REQ("http_error", "POST", "/api/a", 500)},
    {"request kinds", REQ("http_error", "GET", "/api/a", 0),
     REQ("network_error", "GET", "/api/a", 0)},
    {"request tenants",
     {.tenant_id = "t1", .kind = "http_error", .request_url = "/a"},
     {.tenant_id = "t2", .kind = "http_error", .request_url = "/a"}},
};

static void test_grouping(void) {
        rs_fp_t a, b;
        size_t  i;

        for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
                rs_fp_compute(&same[i].a, &a);
                rs_fp_compute(&same[i].b, &b);
                RS_CHECK_MSG(!strcmp(a.group_id, b.group_id),
                             "same bug, %s: \"%s\" vs \"%s\"", same[i].what,
                             a.title, b.title);
                RS_CHECK_STR(a.title, b.title);
        }
        for (i = 0; i < sizeof(different) / sizeof(different[0]); i++) {
                rs_fp_compute(&different[i].a, &a);
                rs_fp_compute(&different[i].b, &b);
                RS_CHECK_MSG(strcmp(a.group_id, b.group_id) != 0,
                             "different bugs, %s: \"%s\"", different[i].what,
                             a.title);
        }
        RS_CHECK(sizeof(same) / sizeof(same[0]) >= 12);
        RS_CHECK(sizeof(different) / sizeof(different[0]) >= 12);
}

static void test_titles(void) {
        static const struct {
                rs_fp_input_t in;
                const char   *title;
        } titles[] = {
            {JS("TypeError",
                "Cannot read properties of undefined (reading 'foo')", NULL),
             "TypeError: Cannot read properties of undefined (reading <str>)"},
            {JS("", "Script error.", NULL), "Script error."},
            {JS("Error", "", NULL), "Error"},
            {{.kind = "js_error"}, "js_error"},
            {{0}, "error"},
            {REQ("http_error", "get", "https://x/api/orders/123?a=1", 503),
             "http_error: GET /api/orders/:id 5xx"},
            {REQ("http_error", NULL, "/api/orders/123", 404),
             "http_error: /api/orders/:id 404"},
            {REQ("slow_request", "GET", "/api/search", 200),
             "slow_request: GET /api/search"},
            {REQ("network_error", "POST", "/api/cart", 0),
             "network_error: POST /api/cart"},
            /* a request kind without a URL is grouped like a script error */
            {{.kind       = "network_error",
              .error_type = "TypeError",
              .message    = "Failed to fetch"},
             "TypeError: Failed to fetch"},
        };
        rs_fp_t out;
        size_t  i;

        for (i = 0; i < sizeof(titles) / sizeof(titles[0]); i++) {
                rs_fp_compute(&titles[i].in, &out);
                RS_CHECK_STR(out.title, titles[i].title);
        }

        /* request errors carry the normalized message but no frames */
        {
                rs_fp_input_t in = REQ("http_error", "GET", "/a/1", 500);

                in.message = "GET /a/1 failed with 500";
                in.stack   = STACK_A;
                rs_fp_compute(&in, &out);
                RS_CHECK_STR(out.message, "GET /a/<n> failed with <n>");
                RS_CHECK_INT(out.frame_cnt, 0);
        }
}

/*
 * The cross-version contract: group ids are stored with issues and compared
 * across processes and restarts. A change here means every error group
 * splits in two at the next deploy; do not update the value to make the
 * test pass unless that is intended.
 */
static void test_pinned(void) {
        rs_fp_input_t in =
            JS("TypeError",
               "Cannot read properties of undefined (reading 'foo')", v8_stack);
        rs_fp_input_t req = REQ("http_error", "get", "/api/orders/123", 502);
        rs_fp_t       out;
        rs_id_t       id;
        char          hex[33];

        rs_fp_compute(&in, &out);
        RS_CHECK_STR(out.group_id, "94d712489dbbef455df226676c94364a");

        /* what the id is made of, as the header says */
        rs_id_init(&id, "error_group");
        rs_id_add_str(&id, "t1");
        rs_id_add_str(&id, "js_error");
        rs_id_add_str(&id, "script");
        rs_id_add_str(&id, "TypeError");
        rs_id_add_str(&id,
                      "Cannot read properties of undefined (reading <str>)");
        rs_id_add_i64(&id, 3);
        rs_id_add_str(&id, "handleClick@/static/js/main.<hash>.js");
        rs_id_add_str(&id, "loadCart@/static/js/main.<hash>.js");
        rs_id_add_str(&id, "CartView@/static/js/main.<hash>.js");
        rs_id_hex(&id, hex);
        RS_CHECK_STR(out.group_id, hex);

        rs_fp_compute(&req, &out);
        RS_CHECK_STR(out.group_id, "90ba046165d5dc7418281783cf7397e4");
        rs_id_init(&id, "error_group");
        rs_id_add_str(&id, "t1");
        rs_id_add_str(&id, "http_error");
        rs_id_add_str(&id, "request");
        rs_id_add_str(&id, "GET");
        rs_id_add_str(&id, "5xx");
        rs_id_add_str(&id, "/api/orders/:id");
        rs_id_hex(&id, hex);
        RS_CHECK_STR(out.group_id, hex);
}

/* ---- robustness ------------------------------------------------------ */

static uint64_t rng_state = 0x5eed5eed5eed5eedULL;

static uint64_t rng(void) {
        /* xorshift64* */
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        return rng_state * 0x2545f4914f6cdd1dULL;
}

/* Random bytes, or random pieces of the syntax the parsers look for. */
static void random_text(char *buf, size_t size) {
        static const char *const pieces[] = {
            "at ",
            "@",
            "(",
            ")",
            ":",
            "://",
            "'",
            "\"",
            "`",
            "<",
            ">",
            "<n>",
            "0x",
            "-",
            ".",
            "/",
            "\n",
            " ",
            "\t",
            "123",
            "3f2a9c1b",
            "e",
            "?",
            "#",
            "\xc3",
            "\xa9",
            "\xe2\x82\xac",
            "error #",
            "async ",
            "[as ",
            "]",
            "*",
            "<anonymous>",
            "chrome-extension",
            "blob:",
            "node_modules",
            "[native code]",
            "eval at ",
            " > eval",
            "index ",
            "{",
            "}",
            "[",
            "]",
            ",",
            "\\",
            "{\"a\":",
            "<email>",
            "<redacted>",
        };
        size_t n = (size_t)(rng() % size), i = 0;

        if (rng() % 2) {
                for (i = 0; i < n; i++)
                        buf[i] = (char)(rng() % 255 + 1);
        } else {
                while (i < n) {
                        const char *p = pieces[rng() % (sizeof(pieces) /
                                                        sizeof(pieces[0]))];
                        size_t      l = strlen(p);

                        if (rng() % 4 == 0)
                                p = "abcdefghijklmnopqrstuvwxyz0123456789",
                                l = rng() % 12 + 1;
                        if (i + l > n)
                                break;
                        memcpy(buf + i, p, l);
                        i += l;
                }
        }
        buf[i] = '\0';
}

static int is_id(const char *s) {
        size_t i;

        for (i = 0; i < 32; i++)
                if (!((s[i] >= '0' && s[i] <= '9') ||
                      (s[i] >= 'a' && s[i] <= 'f')))
                        return 0;
        return s[32] == '\0';
}

static void test_random(void) {
        static char msg[1200], stack[1200], file[300], url[300], type[40];
        static const char *const kinds[] = {"js_error",       "http_error",
                                            "network_error",  "slow_request",
                                            "resource_error", ""};
        rs_fp_t                  out, again;
        char                     small[16];
        int                      bad = 0, i;

        for (i = 0; i < 100000; i++) {
                rs_fp_input_t in = {0};
                size_t        k, n;

                random_text(msg, sizeof(msg));
                random_text(stack, sizeof(stack));
                random_text(file, sizeof(file));
                random_text(url, sizeof(url));
                random_text(type, sizeof(type));
                in.tenant_id   = "t";
                in.kind        = kinds[rng() % 6];
                in.error_type  = type;
                in.message     = msg;
                in.stack       = rng() % 4 ? stack : NULL;
                in.file        = rng() % 2 ? file : NULL;
                in.request_url = rng() % 2 ? url : NULL;
                in.http_method = rng() % 2 ? type : NULL;
                in.http_status = (int)(rng() % 700) - 50;

                rs_fp_compute(&in, &out);
                bad += !is_id(out.group_id);
                bad += strlen(out.message) >= RS_FP_MESSAGE_MAX;
                bad += strlen(out.title) >= RS_FP_TITLE_MAX;
                bad += out.frame_cnt > RS_FP_FRAMES;
                for (k = 0; k < out.frame_cnt && k < RS_FP_FRAMES; k++)
                        bad += strnlen(out.frames[k], RS_FP_FRAME_MAX) >=
                               RS_FP_FRAME_MAX;
                if (i % 16 == 0) {
                        rs_fp_compute(&in, &again);
                        if (memcmp(&out, &again, sizeof(out)) != 0) {
                                fprintf(stderr, "nondet\n");
                                bad++;
                        }
                }

                /* every buffer size, the length not the NUL */
                k = (size_t)(rng() % sizeof(small)) + 1;
                n = rs_fp_normalize_message(msg, strlen(msg), small, k);
                if (n >= k || strlen(small) != n) {
                        fprintf(stderr, "msg k=%zu n=%zu [%s]\n", k, n, msg);
                        bad++;
                }
                n = rs_fp_normalize_file(stack, strlen(stack), small, k);
                if (n >= k || strlen(small) != n) {
                        fprintf(stderr, "file k=%zu n=%zu [%s]\n", k, n, stack);
                        bad++;
                }
        }
        RS_CHECK_INT(bad, 0);
}

int main(void) {
        test_messages();
        test_message_cut();
        test_message_json();
        test_files();
        test_stacks();
        test_grouping();
        test_titles();
        test_pinned();
        test_random();
        return RS_TEST_DONE();
}
