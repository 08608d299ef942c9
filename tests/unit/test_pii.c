/*
 * test_pii: rs_pii_scrub() on a table of texts holding personal data (exact
 * outputs) and a table of texts that hold none (must come out unchanged),
 * then counts, configured keys, cut outputs, odd inputs, 100k random inputs
 * (checked against a second scrub and against cut copies of themselves),
 * 50k table texts glued together (checked against a second scrub), and an
 * informational throughput line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rumstream/pii.h"
#include "rs_test.h"

#define JWT                                                                    \
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmF" \
        "tZSI6IkpvaG4gRG9lIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"

static const struct {
        const char *in;
        const char *out;
} pii_cases[] = {
    /* emails: messages, URLs (also %40), JSON, odd neighbours */
    {"contact john.doe@example.com for help", "contact <email> for help"},
    {"mailto:jane+tag@mail.example.co.uk", "mailto:<email>"},
    {"<first.last@sub.example.org>", "<<email>>"},
    {"User a_b-c@x-y.example.io logged in.", "User <email> logged in."},
    {"Error: user@example.com.", "Error: <email>."},
    {"user ...dots@example.com", "user ...<email>"},
    {"john@163.com", "<email>"},
    {"git@github.com:org/repo.git", "<email>:org/repo.git"},
    {"https://shop.example/users/john%40example.com/profile",
     "https://shop.example/users/<email>/profile"},
    {"/search?q=john.doe%40example.com&page=2", "/search?q=<email>&page=2"},
    {"/search?q=to%3Djohn%40example.com", "/search?q=to%3D<email>"},
    {"{\"user\":\"john@example.com\",\"n\":1}",
     "{\"user\":\"<email>\",\"n\":1}"},
    {"a@b@example.com", "a@<email>"},

    /* IPv4 */
    {"connect ECONNREFUSED 10.0.0.12:5432", "connect ECONNREFUSED <ip>:5432"},
    {"http://192.168.1.1/admin", "http://<ip>/admin"},
    {"client=203.0.113.7, proxy=198.51.100.2", "client=<ip>, proxy=<ip>"},
    {"version 1.2.3.4", "version <ip>"},
    {"from 8.8.8.8.", "from <ip>."},
    {"[255.255.255.255]", "[<ip>]"},
    {"net 10.1.2.0/24", "net <ip>/24"},
    {"x-forwarded-for: 1.2.3.4", "x-forwarded-for: <ip>"},
    {"1.2.3.4.nip.io", "<ip>.nip.io"},
    {"?q=host%3D10.0.0.1%20up", "?q=host%3D<ip>%20up"},

    /* IPv6 */
    {"2001:db8:85a3:0:0:8a2e:370:7334", "<ip>"},
    {"2001:0db8:85a3:0000:0000:8a2e:0370:7334", "<ip>"},
    {"dead:beef:cafe:babe:f00d:feed:face:b00c", "<ip>"},
    {"fe80::1", "<ip>"},
    {"addr ::1 port", "addr <ip> port"},
    {"http://[2001:db8::1]:8080/x", "http://[<ip>]:8080/x"},
    {"::ffff:192.0.2.128", "<ip>"},
    {"ip=2001:db8::8a2e:370:7334&x=1", "ip=<ip>&x=1"},
    {"peer fe80::1ff:fe23:4567:890a%eth0", "peer <ip>%eth0"},
    {"addr:2001:db8::7", "addr:<ip>"},
    {"1:2:3:4:5:6:1.2.3.4", "<ip>"},
    {"?q=%20fe80::1%20x", "?q=%20<ip>%20x"},

    /* cards */
    {"pay with 4111 1111 1111 1111 now", "pay with <card> now"},
    {"4111-1111-1111-1111", "<card>"},
    {"4111111111111111", "<card>"},
    {"378282246310005", "<card>"},
    {"3782 822463 10005", "<card>"},
    {"5555555555554444", "<card>"},
    {"2221000000000009", "<card>"},
    {"6011111111111117", "<card>"},
    {"3530111333300000", "<card>"},
    {"30569309025904", "<card>"},
    {"4222222222222", "<card>"},
    {"4111 1111 1111 1111 2024", "<card> 2024"},
    {"/checkout/4111111111111111/confirm", "/checkout/<card>/confirm"},
    {"{\"pan\":\"5105105105105100\"}", "{\"pan\":\"<card>\"}"},

    /* phones */
    {"call +1 (555) 123-4567 now", "call <phone> now"},
    {"+44 20 7946 0958", "<phone>"},
    {"+44 (0)20 7946 0958", "<phone>"},
    {"+49-30-1234567", "<phone>"},
    {"+33.1.23.45.67.89", "<phone>"},
    {"tel:+15551234567", "tel:<phone>"},
    {"(+1 555 123 4567)", "(<phone>)"},
    {"(555) 123-4567", "<phone>"},
    {"Phone: (555)123-4567.", "Phone: <phone>."},
    {"555-123-4567", "<phone>"},
    {"555.123.4567", "<phone>"},
    {"1-800-555-1234", "<phone>"},
    {"call 1 (800) 555-1234", "call <phone>"},
    {"?phone=+15551234567&x=1", "?phone=<phone>&x=1"},
    {"?phone=%2B15551234567&x=1", "?phone=<phone>&x=1"},

    /* Bearer, Basic, JWTs */
    {"Authorization: Bearer " JWT, "Authorization: Bearer <token>"},
    {"Authorization: Bearer abc.def-9", "Authorization: Bearer <token>"},
    {"authorization: Basic dXNlcjpwYXNzd29yZA==",
     "authorization: Basic <token>"},
    {"{\"Authorization\":\"Bearer abc123def456\"}",
     "{\"Authorization\":\"Bearer <token>\"}"},
    {"bearer 1a2b3c4d5e6f", "bearer <token>"},
    {"BEARER mF_9.B5f-4.1JqM", "BEARER <token>"},
    {"got Bearer 0123456789abcdef.", "got Bearer <token>."},
    {"Authorization=Bearer%20abcdef123456&x=1",
     "Authorization=Bearer%20<token>&x=1"},
    {"session " JWT " expired", "session <token> expired"},
    {"/reset/" JWT "/confirm", "/reset/<token>/confirm"},
    {"?jwt=" JWT "&x=1", "?jwt=<token>&x=1"},
    {"eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", "<token>"},

    /* values of sensitive keys: query strings, forms, JSON, text */
    {"?password=hunter2&x=1", "?password=<redacted>&x=1"},
    {"/login?user=bob&pwd=s3cret#top", "/login?user=bob&pwd=<redacted>#top"},
    {"https://app.example/cb#access_token=ya29.a0AfH6&token_type=bearer",
     "https://app.example/cb#access_token=<redacted>&token_type=bearer"},
    {"a=1;secret=xyz;b=2", "a=1;secret=<redacted>;b=2"},
    {"TOKEN=abc", "TOKEN=<redacted>"},
    {"api-key=abc123", "api-key=<redacted>"},
    {"user[password]=x&y=2", "user[password]=<redacted>&y=2"},
    {"{\"password\":\"hunter2\",\"user\":\"bob\"}",
     "{\"password\":\"<redacted>\",\"user\":\"bob\"}"},
    {"{\"password\": \"hunter 2\"}", "{\"password\": \"<redacted>\"}"},
    {"{\"token\":\"a\\\"b\"}", "{\"token\":\"<redacted>\"}"},
    {"{'api_key': 'AKIA123'}", "{'api_key': '<redacted>'}"},
    {"{\"cvv\":123,\"ssn\":\"123-45-6789\"}",
     "{\"cvv\":<redacted>,\"ssn\":\"<redacted>\"}"},
    {"\"{\\\"secret\\\":\\\"s3\\\",\\\"a\\\":1}\"",
     "\"{\\\"secret\\\":\\\"<redacted>\\\",\\\"a\\\":1}\""},
    {"{\"card\":{\"number\":\"x\",\"cvv\":\"999\"}}",
     "{\"card\":{\"number\":\"x\",\"cvv\":\"<redacted>\"}}"},
    {"Password: hunter2 rejected", "Password: <redacted> rejected"},
    {"client_secret = xyz;", "client_secret = <redacted>;"},
    {"refresh_token:'abc'", "refresh_token:'<redacted>'"},
    {"email=john@example.com&x=1", "email=<redacted>&x=1"},
    {"{\"email\":\"john@example.com\"}", "{\"email\":\"<redacted>\"}"},
    {"https://admin:hunter2@db.example.com/x",
     "https://admin:<redacted>@db.example.com/x"},
    {"?next=%2Flogin%3Ftoken%3Dabc123%26x%3D1",
     "?next=%2Flogin%3Ftoken%3D<redacted>%26x%3D1"},
    {"?next=%2Fa%3Fpassword%3Dp%2540ss%20x",
     "?next=%2Fa%3Fpassword%3D<redacted>%20x"},
    {"postgres://app:p%40ss:w@10.0.0.5:5432/db",
     "postgres://app:<redacted>@<ip>:5432/db"},

    /* contexts: stack lines, breadcrumbs, several kinds at once */
    {"    at Object.submit (https://shop.example/u/john%40example.com/"
     "app.js:12:34)",
     "    at Object.submit (https://shop.example/u/<email>/app.js:12:34)"},
    {"[navigation] from /login?password=x to /home",
     "[navigation] from /login?password=<redacted> to /home"},
    {"fetch POST https://api.example/v1/users "
     "{\"email\":\"a@b.co\",\"phone\":\"+1 555 123 4567\"}",
     "fetch POST https://api.example/v1/users "
     "{\"email\":\"<redacted>\",\"phone\":\"<phone>\"}"},
    {"user john@x.com from 10.0.0.12 paid with 4111111111111111, call "
     "555-123-4567",
     "user <email> from <ip> paid with <card>, call <phone>"},
    {"Error: Request failed for jane@example.org (token=abc) at 192.0.2.1",
     "Error: Request failed for <email> (token=<redacted>) at <ip>"},
};

/* Texts with no personal data: byte for byte the same after scrubbing. */
static const char *const clean_cases[] = {
    /* numbers, ids, hashes, timestamps */
    "Order 1234567890 shipped",
    "id=98765432101234",
    "ts=1700000000000",
    "1700000000000",
    "1700000000000000000",
    "snowflake 1175928471239878657",
    "uuid 123e4567-e89b-12d3-a456-426614174000",
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "commit 4111111111111111aa",
    "4111111111111112",
    "4111 1111 1111 1112",
    "1234 5678 9012 3456",
    "3.14159265358979",
    "0.4111111111111111",
    "-1.5e+10",
    "price 1,234,567.89",
    "status 404, HTTP/1.1 500, 30000ms",
    "ISBN 978-3-16-148410-0",
    "+0100",
    "x+1234567",
    "1e+1234567",
    "555-1234",
    "123-45-6789",
    "555-123-4567-89",
    "2555-123-4567",
    "#ffaa00 rgba(255, 0, 0, 0.5)",
    /* versions, dotted numbers */
    "v1.2.3",
    "1.2.3",
    "1.2.3.4.5",
    "v1.2.3.4",
    "1.2.3.4a",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "10.0.0.0/8",
    "256.1.1.1",
    "01.02.03.04",
    "255.255.255",
    /* times, dates, line:col */
    "app.js:12:345",
    "12:30:45",
    "12:30:45.123",
    "10:30",
    "2026-11-23",
    "2026-11-23T10:30:45.123Z",
    "00:1a:2b:3c:4d:5e",
    "1:2:3:4:5:6:7",
    /* scopes */
    "std::vector<int>::iterator",
    "a::b",
    "dead::beef",
    "Foo::Bar::baz()",
    "li::before",
    "x ::before",
    "ns1::f()",
    /* stack traces */
    "TypeError: Cannot read properties of undefined (reading 'token')\n"
    "    at Object.handleClick (https://shop.example/static/js/"
    "main.4f3a2b1c.chunk.js:2:12345)\n"
    "    at HTMLButtonElement.<anonymous> (app.js:1:2)\n"
    "    at async Promise.all (index 0)",
    "handleClick@https://shop.example/static/app.js:12:345\n"
    "onClick@app.js:3:4\n"
    "global code@file.js:1:2",
    "at C:\\Users\\app\\main.js:10:5",
    /* URLs, paths, packages */
    "https://shop.example/products/123?page=2",
    "http://localhost:8080/api?page=2&sort=desc#top",
    "https://user@host/x",
    "/var/www/app/index.js",
    "https://cdn.example/npm/vue@3.2.0/dist/vue.global.js",
    "lodash@4.17.21",
    "pkg@1.2.3.tgz",
    "img/logo@2x.png",
    "@babel/core node_modules/@scope/pkg",
    "[object Object]",
    "50%off 100% %E2%9C%93 done %2Fapi%2Fv1%3Fpage%3D2",
    /* keys that are not sensitive, or values that are not secrets */
    "tokenizer=abc",
    "mytoken=abc",
    "x.token=abc",
    "token_type=bearer",
    "password=",
    "password=&x=1",
    "\"password\":null",
    "\"password\":\"\"",
    "\"token\": undefined",
    "if (password == x) return",
    "token => x",
    "token::Kind",
    "window.eyJhbGci",
    "eyJhbGciOiJIUzI1NiJ9",
    "Bearer token missing",
    "Basic Authentication failed",
    "Unauthorized: Bearer realm=\"api\"",
    "Bearer",
    /* text */
    "Error: timeout of 30000ms exceeded",
    "\xd0\x9e\xd1\x88\xd0\xb8\xd0\xb1\xd0\xba\xd0\xb0: caf\xc3\xa9 "
    "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80",
    "",
};

static rs_pii_t *pii; /* the defaults */

/* Scrubs len bytes of in with the defaults; the output must be expected. */
static void check(const char *in, size_t len, const char *expected) {
        char   out[4096];
        size_t n;

        n = rs_pii_scrub(pii, in, len, out, sizeof(out), NULL);
        RS_CHECK_MSG(!strcmp(out, expected), "\"%.*s\"\n -> \"%s\"\n    \"%s\"",
                     (int)len, in, out, expected);
        RS_CHECK_INT(n, strlen(expected));
}

static void test_tables(void) {
        size_t i;

        for (i = 0; i < sizeof(pii_cases) / sizeof(pii_cases[0]); i++)
                check(pii_cases[i].in, strlen(pii_cases[i].in),
                      pii_cases[i].out);
        for (i = 0; i < sizeof(clean_cases) / sizeof(clean_cases[0]); i++)
                check(clean_cases[i], strlen(clean_cases[i]), clean_cases[i]);
}

/* Scrubbing the output again changes nothing and finds nothing. */
static void test_idempotent(void) {
        char     once[4096], twice[4096];
        unsigned counts[RS_PII_KIND_CNT];
        size_t   i, n;
        int      k;

        for (i = 0; i < sizeof(pii_cases) / sizeof(pii_cases[0]); i++) {
                n = rs_pii_scrub(pii, pii_cases[i].in, strlen(pii_cases[i].in),
                                 once, sizeof(once), NULL);
                memset(counts, 0, sizeof(counts));
                RS_CHECK_INT(
                    rs_pii_scrub(pii, once, n, twice, sizeof(twice), counts),
                    n);
                RS_CHECK_STR(twice, once);
                for (k = 0; k < RS_PII_KIND_CNT; k++)
                        RS_CHECK_INT(counts[k], 0);
        }
}

static void test_counts(void) {
        static const char in[] =
            "a@x.io b%40y.org 10.0.0.1 fe80::1 4111111111111111 +1 555 123 "
            "4567 (555) 123-4567 Bearer abcdef123456 " JWT " ?token=1&pwd=2 "
            "\"secret\":\"3\"";
        unsigned counts[RS_PII_KIND_CNT];
        char     out[512];

        memset(counts, 0, sizeof(counts));
        counts[RS_PII_CARD] = 5; /* counts are added to */
        rs_pii_scrub(pii, in, strlen(in), out, sizeof(out), counts);
        RS_CHECK_STR(out, "<email> <email> <ip> <ip> <card> <phone> <phone> "
                          "Bearer <token> <token> ?token=<redacted>&pwd="
                          "<redacted> \"secret\":\"<redacted>\"");
        RS_CHECK_INT(counts[RS_PII_EMAIL], 2);
        RS_CHECK_INT(counts[RS_PII_IP], 2);
        RS_CHECK_INT(counts[RS_PII_CARD], 6);
        RS_CHECK_INT(counts[RS_PII_PHONE], 2);
        RS_CHECK_INT(counts[RS_PII_TOKEN], 2);
        RS_CHECK_INT(counts[RS_PII_SECRET], 3);

        /* cut output: what did not fit is counted all the same */
        memset(counts, 0, sizeof(counts));
        rs_pii_scrub(pii, in, strlen(in), out, 4, counts);
        RS_CHECK_STR(out, "");
        RS_CHECK_INT(counts[RS_PII_EMAIL], 2);
        RS_CHECK_INT(counts[RS_PII_SECRET], 3);

        RS_CHECK_STR(rs_pii_kind_name(RS_PII_EMAIL), "email");
        RS_CHECK_STR(rs_pii_kind_name(RS_PII_IP), "ip");
        RS_CHECK_STR(rs_pii_kind_name(RS_PII_CARD), "card");
        RS_CHECK_STR(rs_pii_kind_name(RS_PII_PHONE), "phone");
        RS_CHECK_STR(rs_pii_kind_name(RS_PII_TOKEN), "token");
        RS_CHECK_STR(rs_pii_kind_name(RS_PII_SECRET), "secret");
        RS_CHECK_STR(rs_pii_kind_name(RS_PII_KIND_CNT), "unknown");
        RS_CHECK_STR(rs_pii_placeholder(RS_PII_SECRET), "<redacted>");
        RS_CHECK_STR(rs_pii_placeholder(RS_PII_PHONE), "<phone>");
        RS_CHECK_STR(rs_pii_placeholder(RS_PII_KIND_CNT), "");
}

static void check_with(const rs_pii_t *p, const char *in,
                       const char *expected) {
        char out[512];

        rs_pii_scrub(p, in, strlen(in), out, sizeof(out), NULL);
        RS_CHECK_MSG(!strcmp(out, expected),
                     "\"%s\" -> \"%s\", expected \"%s\"", in, out, expected);
}

static void check_bad_keys(const char *keys, const char *reason) {
        char      errstr[256] = "";
        rs_pii_t *p           = rs_pii_new(keys, errstr, sizeof(errstr));

        RS_CHECK_MSG(!p, "\"%s\" accepted", keys);
        RS_CHECK_MSG(strstr(errstr, reason) != NULL,
                     "\"%s\": errstr \"%s\" lacks \"%s\"", keys, errstr,
                     reason);
        rs_pii_destroy(p);
}

static void test_config(void) {
        char      errstr[256] = "";
        char      keys[RS_PII_KEY_MAX * 80];
        rs_pii_t *p;
        int       i;

        /* custom keys replace the defaults; case and -/_ are folded */
        p = rs_pii_new(" session_id , X-Api-Key,pin", errstr, sizeof(errstr));
        RS_CHECK(p != NULL);
        check_with(p, "x-api-key: abc&y", "x-api-key: <redacted>&y");
        check_with(p, "X_API_KEY=abc", "X_API_KEY=<redacted>");
        check_with(p, "?SESSION_ID=42&pin=1234",
                   "?SESSION_ID=<redacted>&pin=<redacted>");
        check_with(p, "?password=hunter2", "?password=hunter2");
        check_with(p, "?session=1", "?session=1");
        check_with(p, "a@b.co 1.2.3.4", "<email> <ip>"); /* other rules run */
        rs_pii_destroy(p);

        /* "" and only blanks: no keys; NULL: the defaults */
        p = rs_pii_new("", errstr, sizeof(errstr));
        RS_CHECK(p != NULL);
        check_with(p, "?password=hunter2&a=b@c.io",
                   "?password=hunter2&a=<email>");
        rs_pii_destroy(p);
        p = rs_pii_new("  ", errstr, sizeof(errstr));
        RS_CHECK(p != NULL);
        rs_pii_destroy(p);
        check_with(NULL, "?password=hunter2&a=b@c.io",
                   "?password=hunter2&a=<email>");
        p = rs_pii_new(NULL, errstr, sizeof(errstr));
        RS_CHECK(p != NULL);
        check_with(p, "?passwd=1&apikey=2&card_number=3&cvv=4",
                   "?passwd=<redacted>&apikey=<redacted>&card_number=<redacted>"
                   "&cvv=<redacted>");
        rs_pii_destroy(p);

        /* duplicates are one key, not an error */
        p = rs_pii_new("a,A,a", errstr, sizeof(errstr));
        RS_CHECK(p != NULL);
        check_with(p, "A=1", "A=<redacted>");
        rs_pii_destroy(p);

        /* RS_PII_KEYS_MAX names: fine (RS_PII_KEY_MAX bytes: test_long_key) */
        keys[0] = '\0';
        for (i = 0; i < RS_PII_KEYS_MAX; i++)
                sprintf(keys + strlen(keys), "%sk%d", i ? "," : "", i);
        p = rs_pii_new(keys, errstr, sizeof(errstr));
        RS_CHECK(p != NULL);
        check_with(p, "k63=1 k64=1", "k63=<redacted> k64=1");
        rs_pii_destroy(p);

        /* errors */
        strcat(keys, ",k64");
        check_bad_keys(keys, "more than 64 names");
        memset(keys, 'k', RS_PII_KEY_MAX + 1);
        keys[RS_PII_KEY_MAX + 1] = '\0';
        check_bad_keys(keys, "longer than 64 bytes");
        check_bad_keys("a,,b", "empty key name at offset 2");
        check_bad_keys("a,", "empty key name at offset 2");
        check_bad_keys(",a", "empty key name at offset 0");
        check_bad_keys("a, ,b", "empty key name");
        check_bad_keys("a b", "\"a b\"");
        check_bad_keys("a=b", "letters, digits");
        check_bad_keys("-a", "not starting with '-'");
        check_bad_keys("caf\xc3\xa9", "letters, digits");

        /* errstr may be absent */
        RS_CHECK(rs_pii_new("a,,b", NULL, 0) == NULL);
        rs_pii_destroy(NULL);
}

/* A 64-byte key name scrubs its value. Kept apart from test_config() for a
 * plain expected string. */
static void test_long_key(void) {
        char      name[RS_PII_KEY_MAX + 1], in[128], expected[128];
        rs_pii_t *p;

        memset(name, 'k', RS_PII_KEY_MAX);
        name[RS_PII_KEY_MAX] = '\0';
        p                    = rs_pii_new(name, NULL, 0);
        RS_CHECK(p != NULL);
        snprintf(in, sizeof(in), "%s=v&k=v", name);
        snprintf(expected, sizeof(expected), "%s=<redacted>&k=v", name);
        check_with(p, in, expected);
        rs_pii_destroy(p);
}

/* Every dst_size from 1 up (0 with a NULL dst): a NUL-terminated prefix of
 * the whole output, the same return value, cut between pieces only, bytes
 * past it untouched. */
static void check_cuts(const char *in) {
        char   full[512], out[520];
        size_t len = strlen(in), n, size, prev = 0;

        n = rs_pii_scrub(pii, in, len, full, sizeof(full), NULL);
        RS_CHECK(n < sizeof(full));
        RS_CHECK_INT(rs_pii_scrub(pii, in, len, NULL, 0, NULL), n);
        for (size = 1; size <= n + 2; size++) {
                size_t k, j;

                memset(out, '#', sizeof(out));
                RS_CHECK_INT(rs_pii_scrub(pii, in, len, out, size, NULL), n);
                k = strlen(out);
                RS_CHECK(k < size && k <= n);
                RS_CHECK_MSG(!memcmp(out, full, k), "size %zu: \"%s\"", size,
                             out);
                RS_CHECK(out[size] == '#');
                if (size > n)
                        RS_CHECK(k == n);
                /* never inside a placeholder, never inside a character */
                for (j = 0; j < k; j++)
                        if (full[j] == '<' && strchr(full + j, '>') &&
                            strchr(full + j, '>') - full >= (long)k) {
                                const char *ph   = full + j;
                                int         isph = !strncmp(ph, "<email>", 7) ||
                                           !strncmp(ph, "<ip>", 4) ||
                                           !strncmp(ph, "<card>", 6) ||
                                           !strncmp(ph, "<phone>", 7) ||
                                           !strncmp(ph, "<token>", 7) ||
                                           !strncmp(ph, "<redacted>", 10);
                                RS_CHECK_MSG(!isph,
                                             "size %zu cuts a placeholder: %s",
                                             size, out);
                        }
                RS_CHECK_MSG(k == n || (full[k] & 0xc0) != 0x80,
                             "size %zu cuts a character", size);
                RS_CHECK(k >= prev); /* more room never gives less */
                RS_CHECK(k + 10 >= size - 1 || k == n);
                prev = k;
        }
}

static void test_truncation(void) {
        char out[16];

        memset(out, '#', sizeof(out));
        RS_CHECK_INT(rs_pii_scrub(pii, "abc", 3, out, 2, NULL), 3);
        RS_CHECK_STR(out, "a");
        RS_CHECK_INT(
            rs_pii_scrub(pii, "x john@example.com y", 20, out, 5, NULL), 11);
        RS_CHECK_STR(out, "x ");
        RS_CHECK_INT(
            rs_pii_scrub(pii, "x john@example.com y", 20, out, 10, NULL), 11);
        RS_CHECK_STR(out, "x <email>");
        RS_CHECK_INT(rs_pii_scrub(pii, "a\xc3\xa9", 3, out, 3, NULL), 3);
        RS_CHECK_STR(out, "a");
        RS_CHECK_INT(rs_pii_scrub(pii, "a\xe6\x97\xa5", 4, out, 4, NULL), 4);
        RS_CHECK_STR(out, "a");
        RS_CHECK_INT(rs_pii_scrub(pii, "\xf0\x9f\x98\x80!", 5, out, 5, NULL),
                     5);
        RS_CHECK_STR(out, "\xf0\x9f\x98\x80");
        RS_CHECK_INT(rs_pii_scrub(pii, "\xf0\x9f\x98\x80!", 5, out, 4, NULL),
                     5);
        RS_CHECK_STR(out, "");
        RS_CHECK_INT(rs_pii_scrub(pii, "abc", 3, out, 1, NULL), 3);
        RS_CHECK_STR(out, "");
        out[0] = '#';
        RS_CHECK_INT(rs_pii_scrub(pii, "abc", 3, out, 0, NULL), 3);
        RS_CHECK(out[0] == '#');

        check_cuts("user john@x.com from 10.0.0.12 paid 4111111111111111 "
                   "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac?password=hunter2 "
                   "\xf0\x9f\x98\x80 Bearer abcdef123456 \xc3\xa9");
        check_cuts("\xc3\xa9\xc3\xa9\xe6\x97\xa5 1.2.3.4\xf0\x9f\x98\x80");
}

static void test_odd_inputs(void) {
        char  out[64];
        char *buf;

        /* empty */
        memset(out, '#', sizeof(out));
        RS_CHECK_INT(rs_pii_scrub(pii, "", 0, out, sizeof(out), NULL), 0);
        RS_CHECK_STR(out, "");
        RS_CHECK_INT(rs_pii_scrub(pii, NULL, 0, out, sizeof(out), NULL), 0);
        RS_CHECK_STR(out, "");

        /* len shorter than the string: nothing past it is read or matched */
        check("password=hunter2&x", 12, "password=<redacted>");
        check("a@example.com", 9, "a@example");
        check("10.0.0.1", 6, "10.0.0");
        check("4111111111111111", 15, "411111111111111");
        check("Bearer abcdef123456", 7, "Bearer ");
        check("fe80::1", 5, "fe80:");
        /* ... also with nothing readable past it (ASan checks) */
        buf = malloc(9);
        memcpy(buf, "a@b.io 1.", 9);
        RS_CHECK_INT(rs_pii_scrub(pii, buf, 9, out, sizeof(out), NULL), 10);
        RS_CHECK_STR(out, "<email> 1.");
        memcpy(buf, "password=", 9);
        RS_CHECK_INT(rs_pii_scrub(pii, buf, 9, out, sizeof(out), NULL), 9);
        memcpy(buf, "\"token\":\"", 9);
        RS_CHECK_INT(rs_pii_scrub(pii, buf, 9, out, sizeof(out), NULL), 9);
        memcpy(buf, "x:pw@h.co", 9);
        RS_CHECK_INT(rs_pii_scrub(pii, buf, 9, out, sizeof(out), NULL), 9);
        RS_CHECK_STR(out, "x:<email>");
        free(buf);

        /* an unclosed quoted secret runs to the line end */
        check("{\"password\":\"abc\ndef", 20,
              "{\"password\":\"<redacted>\ndef");

        /* invalid UTF-8 and NULs are copied */
        check("\xff\xfe john@x.com \xc3", 15, "\xff\xfe <email> \xc3");
        RS_CHECK_INT(
            rs_pii_scrub(pii, "a\0b j@x.co", 10, out, sizeof(out), NULL), 11);
        RS_CHECK(!memcmp(out, "a\0b <email>", 12));
}

/* xorshift64*: the same inputs on every run. */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void) {
        rnd_state ^= rnd_state >> 12;
        rnd_state ^= rnd_state << 25;
        rnd_state ^= rnd_state >> 27;
        return rnd_state * 0x2545f4914f6cdd1dULL;
}

/* Garbage that often comes near a rule: random bytes, bytes the rules look
 * at, and pieces of the forms they match. */
static size_t garbage(char *buf, size_t max) {
        static const char  alphabet[] = "0123456789abcdefxyzABCDEFJ_@.:%-+()/ "
                                        "=&?#;,\"'\\[]{}<>\n~";
        static const char *pieces[]   = {
              "Bearer ",     "Basic ",  "password=",  "\"token\":\"", "@",
              "%40",         "::",      "://",        "eyJ",          ".eyJ",
              "4111",        "1111 ",   "+1 ",        "(555) ",       "555-",
              "1.2.3.",      "<email>", "<redacted>", "\xc3\xa9",     "\xe6\x97",
              "example.com", "\\\"",    "user[pwd]",  "fe80:",
        };
        size_t n = (size_t)(rnd() % (max + 1)), i = 0;

        while (i < n) {
                uint64_t r = rnd();

                switch (r % 4) {
                case 0:
                        buf[i++] = (char)(r >> 8);
                        break;
                case 1:
                case 2:
                        buf[i++] = alphabet[(r >> 8) % (sizeof(alphabet) - 1)];
                        break;
                default: {
                        const char *p = pieces[(r >> 8) % (sizeof(pieces) /
                                                           sizeof(pieces[0]))];
                        size_t      k = strlen(p);

                        if (k > n - i)
                                k = n - i;
                        memcpy(buf + i, p, k);
                        i += k;
                }
                }
        }
        return n;
}

static void test_random(void) {
        static char full[4096], again[4096], cut[4096];
        char        src[300];
        unsigned    c1[RS_PII_KIND_CNT], c2[RS_PII_KIND_CNT];
        int         bad_len = 0, bad_idem = 0, bad_cut = 0, bad_cnt = 0;
        long        i;

        for (i = 0; i < 100000; i++) {
                size_t n  = garbage(src, sizeof(src)), m, m2, size;
                char  *in = malloc(n ? n : 1); /* exactly n readable bytes */

                memcpy(in, src, n);
                memset(c1, 0, sizeof(c1));
                memset(c2, 0, sizeof(c2));
                m = rs_pii_scrub(pii, in, n, full, sizeof(full), c1);
                if (m >= sizeof(full) || full[m] != '\0')
                        bad_len++;

                /* a cut copy: same length, same counts, a prefix */
                size = (size_t)(rnd() % (m + 2));
                m2   = rs_pii_scrub(pii, in, n, cut, size, c2);
                if (m2 != m || (size && memcmp(cut, full, strlen(cut))))
                        bad_cut++;
                if (memcmp(c1, c2, sizeof(c1)))
                        bad_cnt++;

                /* scrubbing the output again changes nothing */
                if (rs_pii_scrub(pii, full, m, again, sizeof(again), NULL) !=
                        m ||
                    memcmp(again, full, m)) {
                        if (bad_idem++ < 5)
                                fprintf(stderr, "not idempotent: \"%.*s\"\n",
                                        (int)n, in);
                }
                free(in);
        }
        RS_CHECK_INT(bad_len, 0);
        RS_CHECK_INT(bad_cut, 0);
        RS_CHECK_INT(bad_cnt, 0);
        RS_CHECK_INT(bad_idem, 0);
}

/* Table texts (whole, or a head or tail of one) glued together by bytes
 * the rules look at: matches next to matches, cut matches. The second scrub
 * of the result must change nothing. */
static void test_combined(void) {
        static const char *const glue[] = {
            "",  " ", ".",  ":", "::", "-", "+", "(", ")", "@", "%40",
            "=", "&", "\"", "'", ",",  "/", "<", ">", "1", "a", "_",
        };
        static char in[4096], once[4096], twice[4096];
        size_t      npii   = sizeof(pii_cases) / sizeof(pii_cases[0]);
        size_t      nclean = sizeof(clean_cases) / sizeof(clean_cases[0]);
        int         bad    = 0;
        long        i;

        for (i = 0; i < 50000; i++) {
                size_t parts = 2 + (size_t)(rnd() % 3), n = 0, k, m;

                for (k = 0; k < parts; k++) {
                        uint64_t    r = rnd();
                        const char *t = r & 1 ? pii_cases[(r >> 1) % npii].in
                                              : clean_cases[(r >> 1) % nclean];
                        const char *g =
                            glue[(r >> 20) % (sizeof(glue) / sizeof(glue[0]))];
                        size_t len = strlen(t);
                        size_t cut = (r >> 30) % 4 ? 0 : (r >> 34) % (len + 1);

                        /* the whole text, its head or its tail */
                        memcpy(in + n, (r >> 40) & 1 ? t + cut : t, len - cut);
                        n += len - cut;
                        memcpy(in + n, g, strlen(g));
                        n += strlen(g);
                }
                m = rs_pii_scrub(pii, in, n, once, sizeof(once), NULL);
                if (rs_pii_scrub(pii, once, m, twice, sizeof(twice), NULL) !=
                        m ||
                    memcmp(once, twice, m)) {
                        if (bad++ < 5)
                                fprintf(stderr, "not idempotent: \"%.*s\"\n",
                                        (int)n, in);
                }
        }
        RS_CHECK_INT(bad, 0);
}

/* A typical front-end error: message, Chrome stack, a URL with a query. */
static const char stack_trace[] =
    "TypeError: Cannot read properties of undefined (reading 'price')\n"
    "    at CartItem.render (https://shop.example/static/js/"
    "main.4f3a2b1c.chunk.js:2:14567)\n"
    "    at finishClassComponent (https://shop.example/static/js/"
    "vendors~main.8c1d2e3f.chunk.js:2:298765)\n"
    "    at updateClassComponent (https://shop.example/static/js/"
    "vendors~main.8c1d2e3f.chunk.js:2:297123)\n"
    "    at beginWork (https://shop.example/static/js/"
    "vendors~main.8c1d2e3f.chunk.js:2:312345)\n"
    "    at HTMLUnknownElement.callCallback (https://shop.example/static/js/"
    "vendors~main.8c1d2e3f.chunk.js:2:201234)\n"
    "    at Object.invokeGuardedCallbackDev (https://shop.example/static/js/"
    "vendors~main.8c1d2e3f.chunk.js:2:201765)\n"
    "    at invokeGuardedCallback (https://shop.example/static/js/"
    "vendors~main.8c1d2e3f.chunk.js:2:202011)\n"
    "    at performUnitOfWork (https://shop.example/static/js/"
    "vendors~main.8c1d2e3f.chunk.js:2:345678)\n"
    "    at workLoopSync (https://shop.example/static/js/"
    "vendors~main.8c1d2e3f.chunk.js:2:344321)\n"
    "page https://shop.example/cart?session=8f14e45f&step=2&ref=mail\n";

static void test_throughput(void) {
        static char     out[2048];
        size_t          len = sizeof(stack_trace) - 1, total = 0;
        struct timespec t0, t1;
        double          ns;
        int             i, runs = 20000;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (i = 0; i < runs; i++)
                total +=
                    rs_pii_scrub(pii, stack_trace, len, out, sizeof(out), NULL);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 +
             (double)(t1.tv_nsec - t0.tv_nsec);
        RS_CHECK_INT(total, (size_t)runs * len); /* nothing in it is PII */
        printf("pii: %.2f ns/byte on a %zu-byte stack trace (%d runs)\n",
               ns / ((double)runs * (double)len), len, runs);
}

int main(void) {
        char errstr[256];

        pii = rs_pii_new(NULL, errstr, sizeof(errstr));
        if (!pii) {
                fprintf(stderr, "rs_pii_new: %s\n", errstr);
                return 1;
        }
        test_tables();
        test_idempotent();
        test_counts();
        test_config();
        test_long_key();
        test_truncation();
        test_odd_inputs();
        test_random();
        test_combined();
        test_throughput();
        rs_pii_destroy(pii);
        return RS_TEST_DONE();
}
