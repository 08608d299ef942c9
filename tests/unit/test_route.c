/*
 * test_route: rs_route_normalize() on a table of URLs, one row per rule and
 * edge case, plus inputs that need building (embedded NUL, 10k bytes, the
 * RS_ROUTE_MAX boundary).
 */
#include <string.h>

#include "rumstream/route.h"
#include "rs_test.h"

static const struct {
        const char *url;
        const char *route;
} cases[] = {
    /* the header's example */
    {"https://shop.example/Products/12345/reviews?page=2#top",
     "/Products/:id/reviews"},

    /* where the path starts */
    {"https://host:8080/a/b?x#y", "/a/b"},
    {"http://user:pw@host.example:80/a", "/a"},
    {"HTTPS://HOST/A", "/A"},
    {"chrome-extension://abc/popup.html", "/popup.html"},
    {"file:///var/www/index.html", "/var/www/index.html"},
    {"//cdn.example/a/b", "/a/b"},
    {"///a", "/a"},
    {"/a/b", "/a/b"},
    {"a/b", "/a/b"},
    {"localhost:3000/x", "/localhost:3000/x"},
    {"http:/x", "/http:/x"},
    {"mailto:someone@example.com", "/mailto:someone@example.com"},

    /* nothing left of the path */
    {"", "/"},
    {"/", "/"},
    {"////", "/"},
    {"?", "/"},
    {"?q=1&r=2", "/"},
    {"#frag", "/"},
    {"https://host", "/"},
    {"https://host/", "/"},
    {"https://host?x=1", "/"},
    {"https://host#top", "/"},
    {"https://", "/"},
    {"//host", "/"},

    /* slashes, query, fragment */
    {"/a//b///c/", "/a/b/c"},
    {"https://h//a//", "/a"},
    {"/a/b/?x=/c/d", "/a/b"},
    {"/a/b#/c/d", "/a/b"},
    {"/a?b#c", "/a"},
    {"/a#b?c", "/a"},

    /* :id */
    {"/orders/42", "/orders/:id"},
    {"/0", "/:id"},
    {"/2024/05/post", "/:id/:id/post"},
    {"/12345678901234567890123", "/:id"},
    {"/42abc", "/42abc"},
    {"/-42", "/-42"},
    {"/4.2", "/4.2"},

    /* :uuid */
    {"/u/123e4567-e89b-12d3-a456-426614174000/edit", "/u/:uuid/edit"},
    {"/u/123E4567-E89B-12D3-A456-426614174000", "/u/:uuid"},
    /* dashes misplaced: 36 token bytes with letters and digits */
    {"/u/123e4567e-89b-12d3-a456-426614174000", "/u/:token"},
    /* a non-hex letter in a UUID shape */
    {"/u/123e4567-e89b-12d3-a456-42661417400g", "/u/:token"},
    /* one short: not a UUID, but still 35 token bytes */
    {"/u/123e4567-e89b-12d3-a456-42661417400", "/u/:token"},

    /* :hex */
    {"/c/0123456789abcdef", "/c/:hex"},
    {"/c/0123456789ABCDEF0123", "/c/:hex"},
    {"/c/deadbeefdeadbeef", "/c/:hex"},
    {"/c/0123456789abcde", "/c/0123456789abcde"}, /* 15 hex digits */
    {"/c/facadedecadebeef", "/c/:hex"}, /* letters a-f are hex digits too */
    {"/c/123e4567e89b12d3a456426614174000", "/c/:hex"},

    /* :token */
    {"/s/AbCdEfGhIj0123456789", "/s/:token"},
    {"/s/abc_DEF-ghi_123-xyz_4", "/s/:token"},
    {"/s/AbCdEfGhIj012345678", "/s/AbCdEfGhIj012345678"}, /* 19 */
    {"/s/abcdefghijklmnopqrstuvwxyz", "/s/abcdefghijklmnopqrstuvwxyz"},
    {"/s/____________________1", "/s/____________________1"},
    {"/blog/my-long-article-title-about-things",
     "/blog/my-long-article-title-about-things"},
    {"/blog/my-long-article-title-2024", "/blog/:token"},
    {"/s/AbCdEfGhIj.0123456789", "/s/AbCdEfGhIj.0123456789"},

    /* ordinary words stay */
    {"/products", "/products"},
    {"/api/v2/users", "/api/v2/users"},
    {"/Products/Shoes", "/Products/Shoes"},
    {"/index.html", "/index.html"},
    {"/./a/../b", "/./a/../b"},

    /* percent-encoding and non-ASCII bytes are kept, and are not digits */
    {"/search/caf%C3%A9", "/search/caf%C3%A9"},
    {"/a%20b/%31%32", "/a%20b/%31%32"},
    {"/caf\xc3\xa9/men\xc3\xbc", "/caf\xc3\xa9/men\xc3\xbc"},
    {"/\xc2\xb2\xc2\xb3", "/\xc2\xb2\xc2\xb3"},
    {"/\xd9\xa1\xd9\xa2", "/\xd9\xa1\xd9\xa2"},

    /* bytes below 0x20 end the path */
    {"/a/b\n/c", "/a/b"},
    {"/a\t/b", "/a"},
    {"\x01/a", "/"},
    {"https://ho\x1fst/a", "/"},
    {"/a b/c", "/a b/c"}, /* a space is not a control byte */
    {"/a\x7f/b", "/a\x7f/b"},
};

static void check(const char *url, size_t len, const char *expected) {
        char   out[RS_ROUTE_MAX];
        size_t n;

        memset(out, 'X', sizeof(out));
        n = rs_route_normalize(url, len, out);
        RS_CHECK_MSG(!strcmp(out, expected),
                     "\"%.*s\" -> \"%s\", expected \"%s\"",
                     (int)(len > 200 ? 200 : len), url, out, expected);
        RS_CHECK_INT(n, strlen(expected));
        RS_CHECK(n < RS_ROUTE_MAX && out[n] == '\0');
}

static void test_table(void) {
        size_t i;

        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                check(cases[i].url, strlen(cases[i].url), cases[i].route);
        RS_CHECK(sizeof(cases) / sizeof(cases[0]) >= 40);
}

/* The input need not be NUL-terminated, and a NUL inside it ends the path. */
static void test_len(void) {
        char out[RS_ROUTE_MAX];

        check("/a/b/c", 4, "/a/b");
        check("/a/12345", 5, "/a/:id");        /* "/a/12" */
        check("https://host/a", 6, "/https:"); /* no "://" in "https:" */
        check("/a\0/b", 5, "/a");
        check("\0/a", 3, "/");

        RS_CHECK_INT(rs_route_normalize(NULL, 0, out), 1);
        RS_CHECK_STR(out, "/");
        RS_CHECK_INT(rs_route_normalize(NULL, 5, out), 1);
        RS_CHECK_STR(out, "/");
}

static void test_long(void) {
        static char url[10001];
        char        expected[RS_ROUTE_MAX];
        size_t      i;

        /* 1250 x "/segment": 31 fit in 255 bytes (248), the 32nd does not */
        for (i = 0; i < 1250; i++)
                memcpy(url + i * 8, "/segment", 8);
        expected[0] = '\0';
        for (i = 0; i < 31; i++)
                strcat(expected, "/segment");
        check(url, 10000, expected);

        /* one 10k-byte segment of (non-hex) letters: it cannot fit, so nothing
         * of it is kept, and nothing after it */
        url[0] = '/';
        memset(url + 1, 'x', 9999);
        check(url, 10000, "/");
        memcpy(url + 5000, "/b", 2);
        check(url, 10000, "/");

        /* ... but a 10k-byte id fits as its placeholder */
        memset(url + 1, '7', 9999);
        check(url, 10000, "/:id");
        memset(url + 1, 'f', 9999);
        check(url, 10000, "/:hex");
        for (i = 1; i < 10000; i++)
                url[i] = "a1_"[i % 3];
        check(url, 10000, "/:token");

        /* long origin, long query */
        memset(url, 'h', 10000);
        memcpy(url, "https://", 8);
        memcpy(url + 9990, "/a/b?c", 6);
        check(url, 10000, "/a/b");
        memset(url, 'q', 10000);
        memcpy(url, "/x?", 3);
        check(url, 10000, "/x");
}

/* The route may use exactly RS_ROUTE_MAX - 1 bytes, not one more. */
static void test_boundary(void) {
        char url[RS_ROUTE_MAX + 64];
        char expected[RS_ROUTE_MAX];

        url[0] = '/';
        memset(url + 1, 'x', RS_ROUTE_MAX - 2);
        url[RS_ROUTE_MAX - 1] = '\0';
        check(url, RS_ROUTE_MAX - 1, url);
        memset(url + 1, 'x', RS_ROUTE_MAX - 1);
        check(url, RS_ROUTE_MAX, "/");

        /* 250 bytes of route, then "/:id" (4) would make 254: fits */
        memset(url, 0, sizeof(url));
        url[0] = '/';
        memset(url + 1, 'x', 249);
        strcpy(expected, url);
        strcat(url, "/123456789");
        strcat(expected, "/:id");
        check(url, strlen(url), expected);

        /* 252 + "/:id" = 256: cut, and the later segment goes too */
        memset(url, 0, sizeof(url));
        url[0] = '/';
        memset(url + 1, 'x', 251);
        strcpy(expected, url);
        strcat(url, "/123456789/b");
        check(url, strlen(url), expected);

        /* 253 + "/b" = 255: fits */
        memset(url, 0, sizeof(url));
        url[0] = '/';
        memset(url + 1, 'x', 252);
        strcpy(expected, url);
        strcat(url, "//b/");
        strcat(expected, "/b");
        check(url, strlen(url), expected);
}

int main(void) {
        test_table();
        test_len();
        test_long();
        test_boundary();
        return RS_TEST_DONE();
}
