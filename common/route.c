/*
 * route: page URL -> low-cardinality route, once per event on the hot path.
 *
 * One forward pass over the input, no allocation, no regex, no <ctype.h>
 * (whose answers depend on the locale and on the signedness of char): every
 * byte is looked up in a 256-entry class table, and each path segment keeps
 * two running masks, the AND of its bytes' classes ("every byte is a digit")
 * and the OR ("some byte is a letter"). At the end of a segment those masks
 * decide the placeholder without looking at the bytes again; only a segment
 * of exactly 36 bytes is re-read, to check the UUID dash positions.
 *
 * Where the path starts:
 *   "scheme://authority/path"  scheme is ALPHA *(ALPHA / DIGIT / + - .),
 *                              at most SCHEME_MAX bytes so that a long
 *                              path is never scanned twice
 *   "//authority/path"         scheme-relative
 *   anything else              the whole input is the path, so "a/b" and
 *                              "localhost:3000/x" are paths ("/a/b",
 *                              "/localhost:3000/x")
 * The authority (userinfo, host, port) runs to the first '/', '?' or '#'.
 *
 * Where it ends: at '?' or '#', and at any byte below 0x20 (NUL included).
 * A browser never sends raw control bytes in a URL, so one is a sign of a
 * truncated or corrupt value; stopping there keeps it out of the route
 * rather than minting a new route per garbage tail.
 *
 * Segments are kept byte for byte unless they look like an object id:
 *   all ASCII digits                                    -> :id
 *   8-4-4-4-12 hex digits, any case                     -> :uuid
 *   16 or more hex digits, any case                     -> :hex
 *   20 or more of [A-Za-z0-9_-] with a letter and a digit -> :token
 * tested in that order ("2024" is :id, "deadbeefdeadbeef" is :hex). Case is
 * kept (routes are case-sensitive on most servers), percent-escapes and
 * bytes >= 0x80 are kept undecoded and count as neither letter nor digit,
 * and "." / ".." are kept: browsers resolve them before we ever see a URL.
 *
 * Empty segments vanish, which collapses "//" and drops the trailing slash;
 * a route with no segment is "/". A segment that would take the route past
 * RS_ROUTE_MAX - 1 bytes ends it, with that segment and all later ones
 * dropped: a cut in the middle of a segment would invent a route that no
 * page has.
 */
#include <string.h>

#include "rumstream/route.h"

/* Schemes in use are short ("https", "chrome-extension"); bounding the look
 * ahead keeps a path that starts with a long run of letters single-pass. */
#define SCHEME_MAX 32

#define C_DIGIT 0x01 /* 0-9 */
#define C_HEX   0x02 /* 0-9 a-f A-F */
#define C_ALPHA 0x04 /* a-z A-Z */
#define C_TOKEN 0x08 /* A-Z a-z 0-9 _ - */
#define C_SEP   0x10 /* ends a segment: '/' and every C_END byte */
#define C_END   0x20 /* ends the path: '?', '#', bytes < 0x20 */

#define E (C_SEP | C_END)
#define S C_SEP
#define D (C_DIGIT | C_HEX | C_TOKEN)
#define H (C_ALPHA | C_HEX | C_TOKEN)
#define A (C_ALPHA | C_TOKEN)
#define T C_TOKEN
#define O 0
static const unsigned char byte_class[256] = {
    E, E, E, E, E, E, E, E, E, E, E, E, E, E, E, E, /* 0x00 */
    E, E, E, E, E, E, E, E, E, E, E, E, E, E, E, E, /* 0x10 */
    O, O, O, E, O, O, O, O, O, O, O, O, O, T, O, S, /* 0x20 */
    D, D, D, D, D, D, D, D, D, D, O, O, O, O, O, E, /* 0x30 */
    O, H, H, H, H, H, H, A, A, A, A, A, A, A, A, A, /* 0x40 */
    A, A, A, A, A, A, A, A, A, A, A, O, O, O, O, T, /* 0x50 */
    O, H, H, H, H, H, H, A, A, A, A, A, A, A, A, A, /* 0x60 */
    A, A, A, A, A, A, A, A, A, A, A, O, O, O, O, O, /* 0x70 */
    O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, /* 0x80 */
    O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, /* 0x90 */
    O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, /* 0xa0 */
    O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, /* 0xb0 */
    O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, /* 0xc0 */
    O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, /* 0xd0 */
    O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, /* 0xe0 */
    O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, /* 0xf0 */
};
#undef E
#undef S
#undef D
#undef H
#undef A
#undef T
#undef O

static int is_scheme_byte(unsigned char c) {
        return (byte_class[c] & (C_ALPHA | C_DIGIT)) || c == '+' || c == '-' ||
               c == '.';
}

/**
 * @returns where the path starts: past "scheme://authority" or
 *          "//authority" if the input starts with one, else \p p.
 */
static const unsigned char *skip_origin(const unsigned char *p,
                                        const unsigned char *end) {
        const unsigned char *s = p;

        if (byte_class[*s] & C_ALPHA) {
                const unsigned char *lim =
                    end - s > SCHEME_MAX ? s + SCHEME_MAX : end;

                for (s++; s < lim && is_scheme_byte(*s); s++)
                        ;
                if (end - s < 3 || s[0] != ':' || s[1] != '/' || s[2] != '/')
                        return p;
                s++; /* now at the "//" */
        }

        if (end - s < 2 || s[0] != '/' || s[1] != '/')
                return p;

        for (s += 2; s < end && !(byte_class[*s] & C_END) && *s != '/'; s++)
                ;
        return s;
}

/* Called only for 36-byte segments whose bytes are all tokens. */
static int is_uuid(const unsigned char *seg) {
        size_t i;

        for (i = 0; i < 36; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23) {
                        if (seg[i] != '-')
                                return 0;
                } else if (!(byte_class[seg[i]] & C_HEX)) {
                        return 0;
                }
        }
        return 1;
}

/**
 * @param all AND of the segment's byte classes
 * @param any OR of the segment's byte classes
 * @returns the placeholder for the segment, or NULL to keep it.
 */
static const char *placeholder(const unsigned char *seg, size_t n, unsigned all,
                               unsigned any) {
        if (all & C_DIGIT)
                return ":id";
        if (n == 36 && (all & C_TOKEN) && is_uuid(seg))
                return ":uuid";
        if (n >= 16 && (all & C_HEX))
                return ":hex";
        if (n >= 20 && (all & C_TOKEN) && (any & C_ALPHA) && (any & C_DIGIT))
                return ":token";
        return NULL;
}

size_t rs_route_normalize(const char *url, size_t len, char out[RS_ROUTE_MAX]) {
        const unsigned char *p, *end;
        size_t               o = 0; /* bytes of out written */

        if (!url || !len)
                goto out;

        p   = (const unsigned char *)url;
        end = p + len;
        p   = skip_origin(p, end);

        while (p < end) {
                const unsigned char *seg;
                const char          *ph;
                unsigned             cls = byte_class[*p];
                unsigned             all = ~0u, any = 0;
                size_t               n = 0, room, need;

                if (cls & C_END)
                        break;
                if (cls & C_SEP) { /* '/': empty segments vanish */
                        p++;
                        continue;
                }

                /* Copy the segment after a '/' at out[o] while it fits,
                 * classifying as we go: it may still turn out to be a
                 * placeholder, which fits where the bytes did not. */
                seg = p;
                room =
                    o + 1 < RS_ROUTE_MAX - 1 ? RS_ROUTE_MAX - 1 - (o + 1) : 0;
                do {
                        all &= cls;
                        any |= cls;
                        if (n < room)
                                out[o + 1 + n] = (char)*p;
                        n++;
                        p++;
                } while (p < end && !((cls = byte_class[*p]) & C_SEP));

                ph   = placeholder(seg, n, all, any);
                need = 1 + (ph ? strlen(ph) : n);
                if (o + need > RS_ROUTE_MAX - 1)
                        break; /* cut on the segment boundary */

                out[o] = '/';
                if (ph)
                        memcpy(out + o + 1, ph, need - 1);
                o += need;
        }

out:
        if (o == 0)
                out[o++] = '/';
        out[o] = '\0';
        return o;
}
