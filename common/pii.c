/*
 * pii: personal data -> typed placeholders, on every error event.
 *
 * One forward pass, no allocation, no regex, no <ctype.h> (whose answers
 * depend on the locale): each byte is looked up in a 256-entry class table,
 * and most bytes cost that one lookup because no match can start there.
 * A match starts
 *   - at the first byte of a word (a run of [A-Za-z0-9_]): IPs, cards,
 *     phones, JWTs, "Bearer"/"Basic", sensitive keys. Every one of these
 *     rules wants a word boundary on its left, so when none matches at the
 *     first byte, the rest of the word is skipped unread;
 *   - at '@' or "%40" (an email: the local part is read backwards), '+',
 *     "%2B" or '(' (phones), ':' ("::" of IPv6, "//user:password@" of a
 *     URL).
 * A percent-escape ("%20") is skipped whole, and its hex digits are not a
 * word: in "?q=%20fe80::1" the address starts a word.
 * A rule reads a bounded stretch (an IPv6 address is at most 45 bytes, a
 * local part 64, a domain 253, a key 64, a URL's user:password 256) or a
 * stretch that its failure then lets the scan skip (a JWT's first segment),
 * so the pass is linear in the input whatever the input holds.
 *
 * Plain text is not copied byte by byte: the scan remembers where the
 * pending plain text starts ("from") and copies it in one piece when a match
 * ends it, followed by the placeholder. The local part of an email is still
 * pending when its '@' is met, so it is simply left out. The writer counts
 * the bytes the whole text needs and stops at the first piece that does not
 * fit: a placeholder goes in whole or not at all, plain text up to its last
 * complete UTF-8 sequence.
 *
 * The rules, with the ambiguous cases as decided:
 * IPv4     four decimal octets 0-255 without leading zeros. A letter, digit
 *          or '.' touching it on the left, or a word byte or '.'+digit on
 *          the right, makes it something else ("v1.2.3.4", "1.2.3.4.5",
 *          "0.1.2.3.4"); a lone "1.2.3.4" is an IP even after "version ".
 *          x.0.0.0 is a network, never a host: kept, which also keeps
 *          "Chrome/120.0.0.0" of user agents.
 * IPv6     eight groups of 1-4 hex digits, or fewer with one "::", the last
 *          32 bits possibly as a dotted quad. With "::" a decimal digit must
 *          appear: "fe80::1", "::1", "::ffff:10.0.0.1" are addresses, the
 *          scopes "a::b", "std::vector", "dead::beef" are not; "12:30:45",
 *          "10:30", "app.js:12:345", MAC addresses have too few groups.
 * card     13-19 digits, as one run or as groups of 3-6 digits joined by
 *          one kind of separator (a single space or dash). Besides the Luhn
 *          sum the number must have an issuer's prefix and length (Visa 4,
 *          Mastercard 51-55 and 2221-2720, Amex 34/37, Diners, JCB,
 *          Discover/UnionPay/Maestro 5x/6x): millisecond and nanosecond
 *          timestamps and snowflake ids start with 1 and stay. Grouped
 *          digits run on ("4111 1111 1111 1111 2024") are cut to the
 *          longest valid prefix ending on a group.
 * phone    '+' (or "%2B"), a first digit 1-9, 7-15 digits in all, in groups
 *          joined by one space, dash or dot, the group after the country
 *          code maybe in parentheses; not after a word byte ("1e+1234567",
 *          "q=a+1234567"); a group that would make it more than 15 digits
 *          is left out. North-American: (555) 123-4567, (555)123-4567,
 *          555-123-4567, 555.123.4567, each with an optional "1-"/"1 " in
 *          front. Unseparated runs, dates, "555 123 4567" and groups run on
 *          ("555-123-4567-89") are not phones.
 * email    local part of [A-Za-z0-9._+-] (at most 64, leading dots and a
 *          "%XX" escape before it left out), '@' or "%40", two or more
 *          labels, a top label of 2+ letters (the last such label with no
 *          word byte after it ends the domain). Not an email: a top label
 *          that is a web file extension ("logo@2x.png", "vue@3.js"), a top
 *          label after 2+ labels that are all numbers ("pkg@1.2.3.tgz";
 *          "john@163.com" is one), a domain followed by ':' and a digit
 *          ("onClick@app.js:12:3" in Firefox stack traces).
 * token    "Bearer" or "Basic" in any case, spaces (or "%20" or '+'), then
 *          8+ bytes of [A-Za-z0-9-._~+/] and '=' padding that are not one
 *          lower-case word: "Bearer token missing", "Basic Authentication"
 *          stay. JWT: a word "eyJ..." (8+ bytes of base64url), '.', 2+
 *          bytes, '.', the signature (maybe empty), up to 5 segments (JWE).
 * secret   a sensitive key at a word start that is not after '.' or '-',
 *          maybe quoted ("key", 'key', \"key\") or bracketed (user[key]),
 *          blanks, then '=' (not "==", "=>") or ':' (not "::"), blanks,
 *          then the value: a quoted string to its closing quote (escapes
 *          skipped, stopping at a line end), or a bare word up to a blank,
 *          & ; # , quote ) ] }. In an encoded query string "key%3Dvalue"
 *          the value also ends at the escape of one of these ("%26"). The
 *          key is a whole key: "token" is not "tokenizer" or "x-token".
 *          Kept: empty values, null, undefined, true, false, objects and
 *          arrays (scanned on, so their own keys count) and values that
 *          start with "Bearer "/"Basic " (the token rule then keeps the
 *          scheme word). A sensitive key wins over what its value looks
 *          like: "email=a@b.co" gives "email=<redacted>". Also the password
 *          of "//user:password@host" in URLs.
 * Rules are tried in that order at a word start: for a digit IPv6, IPv4,
 * card, phone, key; for a letter JWT, Bearer/Basic, key, IPv6. At ':' the
 * URL password comes before IPv6.
 * Scrubbing twice is scrubbing once: a placeholder matches no rule, a value
 * that starts with one is not scrubbed (or counted) again, and where a word
 * or digit next to a rule blocks it, a placeholder does too.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/pii.h"

#define LOCAL_MAX    64  /* bytes in an email's local part */
#define DOMAIN_MAX   253 /* bytes in a domain name */
#define LABEL_MAX    63  /* bytes in one of its labels */
#define USERINFO_MAX 256 /* bytes of a URL's "user:password" looked at */
#define CARD_MIN     13  /* digits in a card number */
#define CARD_MAX     19
#define PHONE_MIN    7 /* digits in an international phone number */
#define PHONE_MAX    15
#define TOKEN_MIN    8 /* bytes of a Bearer/Basic credential */
#define JWT_MIN      8 /* bytes of a JWT's first segment */

#define C_DIGIT 0x01 /* 0-9 */
#define C_HEX   0x02 /* 0-9 a-f A-F */
#define C_ALPHA 0x04 /* a-z A-Z */
#define C_WORD  0x08 /* A-Z a-z 0-9 _ */
#define C_KEY   0x10 /* word and '-': key names, base64url */
#define C_LOCAL 0x20 /* word and . + - : an email's local part */
#define C_TOKEN 0x40 /* word and - . ~ + / : a bearer credential */
#define C_START 0x80 /* a match may start here: word, @ % + ( : */

#define D (C_DIGIT | C_HEX | C_WORD | C_KEY | C_LOCAL | C_TOKEN | C_START)
#define H (C_HEX | C_ALPHA | C_WORD | C_KEY | C_LOCAL | C_TOKEN | C_START)
#define A (C_ALPHA | C_WORD | C_KEY | C_LOCAL | C_TOKEN | C_START)
#define U (C_WORD | C_KEY | C_LOCAL | C_TOKEN | C_START) /* _ */
#define M (C_KEY | C_LOCAL | C_TOKEN)                    /* - */
#define P (C_LOCAL | C_TOKEN)                            /* . */
#define L (C_LOCAL | C_TOKEN | C_START)                  /* + */
#define T C_TOKEN                                        /* ~ / */
#define G C_START                                        /* @ % ( : */
#define O 0
static const unsigned char byte_class[256] = {
    O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, /* 0x00 */
    O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, /* 0x10 */
    O, O, O, O, O, G, O, O, G, O, O, L, O, M, P, T, /* 0x20 */
    D, D, D, D, D, D, D, D, D, D, G, O, O, O, O, O, /* 0x30 */
    G, H, H, H, H, H, H, A, A, A, A, A, A, A, A, A, /* 0x40 */
    A, A, A, A, A, A, A, A, A, A, A, O, O, O, O, U, /* 0x50 */
    O, H, H, H, H, H, H, A, A, A, A, A, A, A, A, A, /* 0x60 */
    A, A, A, A, A, A, A, A, A, A, A, O, O, O, T, O, /* 0x70 */
    O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, /* 0x80 */
    O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, /* 0x90 */
    O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, /* 0xa0 */
    O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, /* 0xb0 */
    O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, /* 0xc0 */
    O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, /* 0xd0 */
    O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, /* 0xe0 */
    O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, /* 0xf0 */
};
#undef D
#undef H
#undef A
#undef U
#undef M
#undef P
#undef L
#undef T
#undef G
#undef O

static const struct {
        const char *name;
        const char *text;
        size_t      len;
} kinds[RS_PII_KIND_CNT] = {
    [RS_PII_EMAIL]  = {"email", "<email>", 7},
    [RS_PII_IP]     = {"ip", "<ip>", 4},
    [RS_PII_CARD]   = {"card", "<card>", 6},
    [RS_PII_PHONE]  = {"phone", "<phone>", 7},
    [RS_PII_TOKEN]  = {"token", "<token>", 7},
    [RS_PII_SECRET] = {"secret", "<redacted>", 10},
};

/* Web file extensions, which are no top-level domains: "logo@2x.png". */
static const char *const file_exts[] = {
    "js",   "mjs",  "cjs", "jsx",  "ts",  "tsx",  "css", "scss", "less", "map",
    "json", "html", "htm", "png",  "jpg", "jpeg", "gif", "svg",  "webp", "ico",
    "ttf",  "otf",  "eot", "wasm", "vue", "php",  "txt", "xml",
};

typedef struct keyname_s {
        size_t len;
        char   name[RS_PII_KEY_MAX]; /* folded: lower case, '_' for '-' */
} keyname_t;

struct rs_pii_s {
        size_t        key_cnt;
        uint64_t      key_lens;       /* bit n - 1 set: a key has n bytes */
        unsigned char key_first[256]; /* 1: a key may start with this byte */
        keyname_t     keys[RS_PII_KEYS_MAX];
};

/* One call's input and where the scan is in it. */
typedef struct scan_s {
        const rs_pii_t      *pii;
        const unsigned char *s;
        size_t               len;
        size_t               from;     /* first byte not yet written */
        size_t               jwt_skip; /* no JWT starts before this */
} scan_t;

/* Bytes [start, end) become the placeholder of kind. */
typedef struct match_s {
        size_t        start;
        size_t        end;
        rs_pii_kind_t kind;
} match_t;

/* The output: snprintf-like, cut between whole pieces. */
typedef struct out_s {
        char  *dst;
        size_t cap;   /* bytes of text dst can hold (dst_size - 1) */
        size_t o;     /* bytes written */
        size_t total; /* bytes the whole text needs */
        int    full;  /* a piece did not fit: nothing more is written */
} out_t;

static void bprintf(char *buf, size_t size, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void bprintf(char *buf, size_t size, const char *fmt, ...) {
        va_list ap;

        if (!buf || !size)
                return;
        va_start(ap, fmt);
        vsnprintf(buf, size, fmt, ap);
        va_end(ap);
}

const char *rs_pii_kind_name(rs_pii_kind_t kind) {
        return (unsigned)kind < RS_PII_KIND_CNT ? kinds[kind].name : "unknown";
}

const char *rs_pii_placeholder(rs_pii_kind_t kind) {
        return (unsigned)kind < RS_PII_KIND_CNT ? kinds[kind].text : "";
}

/*
 * Small readers. at() is 0 past the end, and byte 0 is in no class, so a
 * rule reading ahead needs no length checks of its own.
 */

static unsigned char at(const scan_t *sc, size_t i) {
        return i < sc->len ? sc->s[i] : 0;
}

static unsigned cls_at(const scan_t *sc, size_t i) {
        return byte_class[at(sc, i)];
}

static int is_digit(unsigned char c) {
        return c >= '0' && c <= '9';
}

static unsigned char lower(unsigned char c) {
        return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* Key names compare with case and '-' / '_' folded. */
static unsigned char fold(unsigned char c) {
        return c == '-' ? '_' : lower(c);
}

/* @returns how many bytes from i have a class in mask, at most max. */
static size_t run(const scan_t *sc, size_t i, unsigned mask, size_t max) {
        size_t n = 0;

        while (n < max && (cls_at(sc, i + n) & mask))
                n++;
        return n;
}

/* @returns whether exactly n digits are at i. */
static int digits_at(const scan_t *sc, size_t i, size_t n) {
        return run(sc, i, C_DIGIT, n + 1) == n;
}

static size_t skip_blanks(const scan_t *sc, size_t i) {
        while (at(sc, i) == ' ' || at(sc, i) == '\t')
                i++;
        return i;
}

/* @returns whether the lower-case word w is at i, in any case, alone. */
static int word_at(const scan_t *sc, size_t i, const char *w) {
        size_t k;

        for (k = 0; w[k]; k++)
                if (lower(at(sc, i + k)) != (unsigned char)w[k])
                        return 0;
        return !(cls_at(sc, i + k) & C_WORD);
}

/* @returns whether p (n bytes) starts with a placeholder. */
static int starts_with_placeholder(const unsigned char *p, size_t n) {
        int k;

        for (k = 0; k < RS_PII_KIND_CNT; k++)
                if (n >= kinds[k].len &&
                    !memcmp(p, kinds[k].text, kinds[k].len))
                        return 1;
        return 0;
}

/*
 * Placeholders count as words at the edges of rules.
 *
 * A rule that wants no word byte or digit next to it ("4::" before "V",
 * a phone after a card's last digit, "0::" before ".1") is blocked by what a
 * later or earlier match replaces; after scrubbing, the placeholder's '<' or
 * '>' would not block it, and a second scrub would find what the first did
 * not. So these checks take a placeholder for a word and for a digit.
 */

/* @returns whether a placeholder ends right before i. */
static int placeholder_before(const scan_t *sc, size_t i) {
        int k;

        if (i == 0 || sc->s[i - 1] != '>')
                return 0;
        for (k = 0; k < RS_PII_KIND_CNT; k++)
                if (i >= kinds[k].len && !memcmp(sc->s + i - kinds[k].len,
                                                 kinds[k].text, kinds[k].len))
                        return 1;
        return 0;
}

/* @returns whether a percent-escape ("%20") ends right before i. Its hex
 *          digits are no word: "%20ab::1" holds an address after a space. */
static int escape_before(const scan_t *sc, size_t i) {
        return i >= 3 && sc->s[i - 3] == '%' &&
               (byte_class[sc->s[i - 2]] & C_HEX) &&
               (byte_class[sc->s[i - 1]] & C_HEX);
}

/* @returns whether a word byte (not of an escape) or a placeholder ends
 *          right before i. */
static int word_before(const scan_t *sc, size_t i) {
        return (i && (byte_class[sc->s[i - 1]] & C_WORD) &&
                !escape_before(sc, i)) ||
               placeholder_before(sc, i);
}

/* @returns whether a placeholder starts at i. */
static int placeholder_after(const scan_t *sc, size_t i) {
        return at(sc, i) == '<' &&
               starts_with_placeholder(sc->s + i, sc->len - i);
}

/* @returns whether a word byte or a placeholder is at i. */
static int word_after(const scan_t *sc, size_t i) {
        return (cls_at(sc, i) & C_WORD) || placeholder_after(sc, i);
}

/* @returns whether a digit or a placeholder is at i. */
static int digit_after(const scan_t *sc, size_t i) {
        return is_digit(at(sc, i)) || placeholder_after(sc, i);
}

static int found(match_t *m, size_t start, size_t end, rs_pii_kind_t kind) {
        m->start = start;
        m->end   = end;
        m->kind  = kind;
        return 1;
}

/*
 * The writer.
 */

/* @returns the longest cut <= room (< n) of p that does not split a
 *          UTF-8 sequence; invalid sequences are cut anywhere. */
static size_t utf8_cut(const unsigned char *p, size_t room) {
        size_t j = room;

        if ((p[room] & 0xc0) != 0x80)
                return room; /* p[room] starts a character */
        while (j > 0 && room - j < 4) {
                j--;
                if ((p[j] & 0xc0) != 0x80)
                        break;
        }
        if (p[j] >= 0xc0 && j + (p[j] < 0xe0 ? 2 : p[j] < 0xf0 ? 3 : 4) > room)
                return j;
        return room;
}

static void put_text(out_t *w, const unsigned char *p, size_t n) {
        size_t room;

        w->total += n;
        if (w->full || !n)
                return;
        room = w->cap - w->o;
        if (n > room) {
                n       = utf8_cut(p, room);
                w->full = 1;
        }
        memcpy(w->dst + w->o, p, n);
        w->o += n;
}

static void put_placeholder(out_t *w, rs_pii_kind_t kind) {
        size_t n = kinds[kind].len;

        w->total += n;
        if (w->full)
                return;
        if (n > w->cap - w->o) {
                w->full = 1;
                return;
        }
        memcpy(w->dst + w->o, kinds[kind].text, n);
        w->o += n;
}

/*
 * IP addresses.
 */

/* @returns the end of a dotted quad at i, or 0. */
static size_t dotted_quad(const scan_t *sc, size_t i) {
        size_t p = i;
        int    k;

        for (k = 0; k < 4; k++) {
                unsigned v = 0;
                size_t   n = 0;

                if (k && at(sc, p++) != '.')
                        return 0;
                while (n < 4 && is_digit(at(sc, p + n))) {
                        v = v * 10 + (unsigned)(sc->s[p + n] - '0');
                        n++;
                }
                if (n == 0 || n > 3 || v > 255 || (n > 1 && sc->s[p] == '0'))
                        return 0;
                p += n;
        }
        return p;
}

static int ipv4(const scan_t *sc, size_t i, match_t *m) {
        size_t e;

        if (i && sc->s[i - 1] == '.')
                return 0;
        e = dotted_quad(sc, i);
        if (!e || word_after(sc, e) ||
            (at(sc, e) == '.' && digit_after(sc, e + 1)))
                return 0;
        if (!memcmp(sc->s + e - 6, ".0.0.0", 6))
                return 0; /* a network, not a host */
        return found(m, i, e, RS_PII_IP);
}

/* At a word start or at "::". */
static int ipv6(const scan_t *sc, size_t i, match_t *m) {
        size_t        p = i, end, groups = 0;
        int           compressed = 0, digit = 0;
        unsigned char prev = i ? sc->s[i - 1] : 0;

        /* "12:30:45" must not match from "30" on, nor "a.b::1" from "b" */
        if (word_before(sc, i) || prev == '.' ||
            (prev == ':' && i >= 2 &&
             ((byte_class[sc->s[i - 2]] & C_HEX) || sc->s[i - 2] == ':' ||
              placeholder_before(sc, i - 1))))
                return 0;
        if (at(sc, p) == ':') {
                if (at(sc, p + 1) != ':')
                        return 0;
                compressed = 1;
                p += 2;
        }
        end = p;
        for (;;) {
                size_t n = run(sc, p, C_HEX, 5), k;

                if (n == 0)
                        break;
                if (n > 4)
                        return 0;
                if (at(sc, p + n) == '.') { /* the last 32 bits, dotted */
                        end = dotted_quad(sc, p);
                        if (!end || groups > 6)
                                return 0;
                        groups += 2;
                        digit = 1;
                        break;
                }
                for (k = 0; k < n; k++)
                        digit |= is_digit(sc->s[p + k]);
                groups++;
                p += n;
                end = p;
                if (at(sc, p) != ':')
                        break;
                if (at(sc, p + 1) == ':') {
                        if (compressed)
                                return 0;
                        compressed = 1;
                        p += 2;
                        end = p;
                } else if (cls_at(sc, p + 1) & C_HEX) {
                        p++;
                } else if (placeholder_after(sc, p + 1)) {
                        return 0; /* it went on into what was scrubbed */
                } else {
                        break;
                }
        }
        if (compressed ? groups == 0 || groups > 7 || !digit : groups != 8)
                return 0;
        if (word_after(sc, end) ||
            (at(sc, end) == ':' && sc->s[end - 1] == ':') ||
            (at(sc, end) == '.' && digit_after(sc, end + 1)))
                return 0;
        return found(m, i, end, RS_PII_IP);
}

/*
 * Card numbers.
 */

static int luhn(const char *d, size_t n) {
        unsigned sum = 0;
        size_t   k;

        for (k = 0; k < n; k++) {
                unsigned v = (unsigned)(d[n - 1 - k] - '0');

                if (k & 1) {
                        v *= 2;
                        if (v > 9)
                                v -= 9;
                }
                sum += v;
        }
        return sum % 10 == 0;
}

/* @returns whether an issuer gives out n-digit numbers starting like d. */
static int card_issuer(const char *d, size_t n) {
        unsigned p2 = (unsigned)(d[0] - '0') * 10 + (unsigned)(d[1] - '0');
        unsigned p3 = p2 * 10 + (unsigned)(d[2] - '0');
        unsigned p4 = p3 * 10 + (unsigned)(d[3] - '0');

        switch (d[0]) {
        case '2': /* Mastercard 2-series, Mir */
                return n == 16 && ((p4 >= 2221 && p4 <= 2720) ||
                                   (p4 >= 2200 && p4 <= 2204));
        case '3':
                if (p2 == 34 || p2 == 37) /* American Express */
                        return n == 15;
                if ((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 ||
                    p2 == 39) /* Diners Club */
                        return n >= 14;
                return p4 >= 3528 && p4 <= 3589 && n >= 16; /* JCB */
        case '4':                                           /* Visa */
                return n == 13 || n == 16 || n == 19;
        case '5': /* Mastercard; Maestro 50, 56-59 */
                return p2 >= 51 && p2 <= 55 ? n == 16 : 1;
        case '6': /* Discover, UnionPay, Maestro, RuPay */
                return 1;
        default:
                return 0;
        }
}

/* At a word start. */
static int card(const scan_t *sc, size_t i, match_t *m) {
        char          d[CARD_MAX];
        size_t        ends[CARD_MAX + 1]; /* [k]: where k digits end a group */
        size_t        n, nd, p, k;
        unsigned char sep;

        if (i && sc->s[i - 1] == '.')
                return 0;
        n = run(sc, i, C_DIGIT, CARD_MAX + 1);
        if (n > CARD_MAX || word_after(sc, i + n))
                return 0;
        memcpy(d, sc->s + i, n);
        p   = i + n;
        sep = at(sc, p);
        if (n < 3 || n > 6 || (sep != ' ' && sep != '-') ||
            !is_digit(at(sc, p + 1))) { /* one run of digits */
                if (n < CARD_MIN || (sep == '.' && digit_after(sc, p + 1)) ||
                    !card_issuer(d, n) || !luhn(d, n))
                        return 0;
                return found(m, i, p, RS_PII_CARD);
        }

        memset(ends, 0, sizeof(ends));
        nd = n;
        while (at(sc, p) == sep && is_digit(at(sc, p + 1))) {
                size_t g = run(sc, p + 1, C_DIGIT, 7);

                if (g < 3 || g > 6 || nd + g > CARD_MAX ||
                    word_after(sc, p + 1 + g))
                        break;
                memcpy(d + nd, sc->s + p + 1, g);
                nd += g;
                p += 1 + g;
                ends[nd] = p;
        }
        for (k = nd; k >= CARD_MIN; k--) {
                size_t e = ends[k];

                if (e && !(at(sc, e) == '.' && digit_after(sc, e + 1)) &&
                    card_issuer(d, k) && luhn(d, k))
                        return found(m, i, e, RS_PII_CARD);
        }
        return 0;
}

/*
 * Phone numbers.
 */

static int is_phone_sep(unsigned char c) {
        return c == ' ' || c == '-' || c == '.';
}

/* At '+' (plus_len 1) or "%2B" (3). Digit groups are joined by one of
 * " -.", and the group after the country code may be in parentheses:
 * "+1 (555) 123-4567", "+44 (0)20 ...". */
static int intl_phone(const scan_t *sc, size_t i, size_t plus_len, match_t *m) {
        size_t p = i + plus_len, end = 0, nd = 0;
        int    paren = 0;

        if (word_before(sc, i) || (i && sc->s[i - 1] == ')') ||
            !is_digit(at(sc, p)) || at(sc, p) == '0')
                return 0;
        for (;;) {
                size_t n = run(sc, p, C_DIGIT, PHONE_MAX + 1), q, g = 0;

                if (nd + n > PHONE_MAX) {
                        if (!nd)
                                return 0; /* one long number */
                        break;            /* the next group is something else */
                }
                nd += n;
                p += n;
                end = p;

                q = p + (size_t)is_phone_sep(at(sc, p));
                if (q > p && placeholder_after(sc, q))
                        return 0; /* it went on into what was scrubbed */
                if (at(sc, q) == '(' && !paren && nd <= 3) {
                        g = run(sc, q + 1, C_DIGIT, 5);
                        if (!g || g > 4 || at(sc, q + 1 + g) != ')')
                                break;
                        paren = 1;
                        q += 2 + g;
                        q += (size_t)is_phone_sep(at(sc, q));
                } else if (q == p) {
                        break;
                }
                if (!is_digit(at(sc, q)) || nd + g > PHONE_MAX)
                        break;
                nd += g;
                p = q;
        }
        if (nd < PHONE_MIN || word_after(sc, end))
                return 0;
        return found(m, i, end, RS_PII_PHONE);
}

/* At a word start or at '('. */
static int na_phone(const scan_t *sc, size_t i, match_t *m) {
        size_t        p    = i;
        unsigned char prev = i ? sc->s[i - 1] : 0, sep;

        if (word_before(sc, i) || prev == '.' || prev == '-')
                return 0;
        if (at(sc, p) == '1' &&
            (at(sc, p + 1) == '-' || at(sc, p + 1) == '.' ||
             at(sc, p + 1) == ' ') &&
            (is_digit(at(sc, p + 2)) || at(sc, p + 2) == '('))
                p += 2;         /* 1-555-123-4567 */
        if (at(sc, p) == '(') { /* (555) 123-4567 */
                if (!digits_at(sc, p + 1, 3) || at(sc, p + 4) != ')')
                        return 0;
                p += 5;
                if (at(sc, p) == ' ')
                        p++;
                if (!digits_at(sc, p, 3))
                        return 0;
                p += 3;
                sep = at(sc, p);
                if (sep != '-' && sep != '.' && sep != ' ')
                        return 0;
                p++;
        } else { /* 555-123-4567, 555.123.4567 */
                if (!digits_at(sc, p, 3))
                        return 0;
                sep = at(sc, p + 3);
                if ((sep != '-' && sep != '.') || !digits_at(sc, p + 4, 3) ||
                    at(sc, p + 7) != sep)
                        return 0;
                p += 8;
        }
        if (!digits_at(sc, p, 4))
                return 0;
        p += 4;
        if (word_after(sc, p) ||
            ((at(sc, p) == '-' || at(sc, p) == '.') && digit_after(sc, p + 1)))
                return 0;
        return found(m, i, p, RS_PII_PHONE);
}

/*
 * Tokens.
 */

/* @returns whether n credential bytes look like a secret rather than a
 *          word: "dXNlcjpwYXNz", "abc.def-1" do, "Authentication" does not.
 */
static int looks_secret(const unsigned char *t, size_t n) {
        size_t k;

        if (n < TOKEN_MIN)
                return 0;
        for (k = 0; k < n; k++)
                if (!(t[k] >= 'a' && t[k] <= 'z') &&
                    !(k == 0 && t[k] >= 'A' && t[k] <= 'Z'))
                        return 1;
        return 0;
}

/* @returns where the credentials start after "Bearer " / "Basic " at i, or
 *          0 if that is not at i. */
static size_t auth_scheme_end(const scan_t *sc, size_t i) {
        size_t p;

        if (word_at(sc, i, "bearer"))
                p = i + 6;
        else if (word_at(sc, i, "basic"))
                p = i + 5;
        else
                return 0;
        if (at(sc, p) == ' ' || at(sc, p) == '\t')
                return skip_blanks(sc, p);
        if (at(sc, p) == '+')
                return p + 1;
        if (at(sc, p) == '%' && at(sc, p + 1) == '2' && at(sc, p + 2) == '0')
                return p + 3;
        return 0;
}

/* At a word start: "Bearer <token>". */
static int auth_token(const scan_t *sc, size_t i, match_t *m) {
        size_t start = auth_scheme_end(sc, i), p;

        if (!start)
                return 0;
        p = start + run(sc, start, C_TOKEN, SIZE_MAX);
        while (p > start && sc->s[p - 1] == '.')
                p--; /* the end of a sentence */
        while (at(sc, p) == '=')
                p++;
        if (!looks_secret(sc->s + start, p - start))
                return 0;
        return found(m, start, p, RS_PII_TOKEN);
}

/* At a word start: eyJ... . */
static int jwt(scan_t *sc, size_t i, match_t *m) {
        size_t n, p, seg;

        if (i < sc->jwt_skip || at(sc, i + 1) != 'y' || at(sc, i + 2) != 'J')
                return 0;
        n = run(sc, i, C_KEY, SIZE_MAX);
        p = i + n;
        if (n < JWT_MIN || at(sc, p) != '.') {
                /* a JWT starting later in this segment fails the same way */
                sc->jwt_skip = p;
                return 0;
        }
        n = run(sc, p + 1, C_KEY, SIZE_MAX);
        if (n < 2 || at(sc, p + 1 + n) != '.') {
                sc->jwt_skip = p;
                return 0;
        }
        p += 2 + n;
        p += run(sc, p, C_KEY, SIZE_MAX); /* the signature, empty if none */
        for (seg = 3;
             seg < 5 && at(sc, p) == '.' && (cls_at(sc, p + 1) & C_KEY);
             seg++) /* JWE has five segments */
                p += 1 + run(sc, p + 1, C_KEY, SIZE_MAX);
        return found(m, i, p, RS_PII_TOKEN);
}

/*
 * Sensitive keys.
 */

static int key_known(const rs_pii_t *pii, const unsigned char *k, size_t n) {
        size_t i, j;

        if (n == 0 || n > RS_PII_KEY_MAX || !((pii->key_lens >> (n - 1)) & 1))
                return 0;
        for (i = 0; i < pii->key_cnt; i++) {
                const keyname_t *key = &pii->keys[i];

                if (key->len != n)
                        continue;
                for (j = 0; j < n && fold(k[j]) == (unsigned char)key->name[j];
                     j++)
                        ;
                if (j == n)
                        return 1;
        }
        return 0;
}

static int ends_bare_value(unsigned char c) {
        switch (c) {
        case '&':
        case ';':
        case '#':
        case ',':
        case '"':
        case '\'':
        case ')':
        case ']':
        case '}':
                return 1;
        default:
                return c <= ' ' || c == 0x7f;
        }
}

static unsigned hex_value(unsigned char c) {
        return c <= '9' ? (unsigned)(c - '0') : (unsigned)(lower(c) - 'a' + 10);
}

/* @returns the byte that a percent-escape at i stands for, or -1. */
static int escaped_at(const scan_t *sc, size_t i) {
        if (at(sc, i) != '%' || !(cls_at(sc, i + 1) & C_HEX) ||
            !(cls_at(sc, i + 2) & C_HEX))
                return -1;
        return (int)(hex_value(sc->s[i + 1]) << 4 | hex_value(sc->s[i + 2]));
}

/* @returns the end of a quoted value starting at p: its closing quote
 *          (q is '"', '\'' or '\\' for \"), a line end or the end. */
static size_t quoted_end(const scan_t *sc, size_t p, unsigned char q) {
        for (; p < sc->len; p++) {
                unsigned char c = sc->s[p];

                if (c == '\n' || c == '\r')
                        break;
                if (c == '\\') {
                        if (q == '\\' && at(sc, p + 1) == '"')
                                break;
                        p++; /* the escaped byte */
                } else if (c == q) {
                        break;
                }
        }
        return p < sc->len ? p : sc->len;
}

static int is_literal(const unsigned char *p, size_t n) {
        return (n == 4 && (!memcmp(p, "null", 4) || !memcmp(p, "true", 4))) ||
               (n == 5 && !memcmp(p, "false", 5)) ||
               (n == 9 && !memcmp(p, "undefined", 9));
}

/* @returns the end of a bare value starting at p: a byte that ends it, or
 *          when \p encoded, the percent-escape of one ("%26" for '&'). */
static size_t bare_end(const scan_t *sc, size_t p, int encoded) {
        for (; p < sc->len; p++) {
                int e;

                if (ends_bare_value(sc->s[p]))
                        break;
                if (encoded && (e = escaped_at(sc, p)) >= 0 &&
                    ends_bare_value((unsigned char)e))
                        break;
        }
        return p;
}

/* At a word start: the value of key=value, key: value, "key": "value",
 * key%3Dvalue. */
static int secret_value(const scan_t *sc, size_t i, match_t *m) {
        unsigned char prev = i ? sc->s[i - 1] : 0, c;
        size_t        ke, p, vs, ve, qlen = 0;

        if (!sc->pii->key_first[sc->s[i]] || prev == '.' || prev == '-')
                return 0;
        ke = i + run(sc, i, C_KEY, RS_PII_KEY_MAX + 1);
        p  = ke;
        c  = at(sc, p);
        if (c == '%' && escaped_at(sc, p) == '=') { /* encoded query */
                if (!key_known(sc->pii, sc->s + i, ke - i))
                        return 0;
                vs = p + 3;
                ve = bare_end(sc, vs, 1);
        } else {
                if (c == '"' || c == '\'' || c == ']')
                        p++;
                else if (c == '\\' && at(sc, p + 1) == '"')
                        p += 2;
                p = skip_blanks(sc, p);
                c = at(sc, p);
                if (c == '=') {
                        if (at(sc, p + 1) == '=' || at(sc, p + 1) == '>')
                                return 0;
                } else if (c != ':' || at(sc, p + 1) == ':') {
                        return 0;
                }
                if (!key_known(sc->pii, sc->s + i, ke - i))
                        return 0;

                vs   = skip_blanks(sc, p + 1);
                c    = at(sc, vs);
                qlen = c == '"' || c == '\''                ? 1
                       : c == '\\' && at(sc, vs + 1) == '"' ? 2
                                                            : 0;
                vs += qlen;
                if (qlen)
                        ve = quoted_end(sc, vs, c);
                else if (c == '{' || c == '[')
                        return 0; /* scanned on: its own keys count */
                else
                        ve = bare_end(sc, vs, 0);
        }
        if (ve == vs || (!qlen && is_literal(sc->s + vs, ve - vs)) ||
            starts_with_placeholder(sc->s + vs, ve - vs) ||
            auth_scheme_end(sc, vs))
                return 0; /* empty, null, scrubbed before, Bearer <token> */
        return found(m, vs, ve, RS_PII_SECRET);
}

/* Bytes that end the userinfo of a URL (RFC 3986 lets none of them in). */
static int ends_userinfo(unsigned char c) {
        switch (c) {
        case '/':
        case '?':
        case '#':
        case '@':
        case '[':
        case ']':
        case '<':
        case '>':
        case '"':
        case '\\':
        case 0x7f:
                return 1;
        default:
                return c <= ' ';
        }
}

/*
 * At ':': the password of //user:password@host. The user part before the
 * ':' (already scanned, maybe scrubbed: read from the input) must run back
 * to "//" without another ':', the password on to an '@'. Both are short:
 * USERINFO_MAX bytes are looked at, each byte at most once back and once
 * forward (a "//" ends both ways).
 */
static int url_password(const scan_t *sc, size_t i, match_t *m) {
        size_t u = i, p;

        while (u > 0 && i - u < USERINFO_MAX && sc->s[u - 1] != ':' &&
               !ends_userinfo(sc->s[u - 1]))
                u--;
        if (u < 2 || sc->s[u - 1] != '/' || sc->s[u - 2] != '/')
                return 0;
        for (p = i + 1;
             p < sc->len && p - u < USERINFO_MAX && !ends_userinfo(sc->s[p]);
             p++)
                ;
        if (at(sc, p) != '@' || p == i + 1 ||
            starts_with_placeholder(sc->s + i + 1, p - i - 1))
                return 0;
        return found(m, i + 1, p, RS_PII_SECRET);
}

/*
 * Emails.
 */

static int is_file_ext(const unsigned char *p, size_t n) {
        size_t i, k;

        for (i = 0; i < sizeof(file_exts) / sizeof(file_exts[0]); i++) {
                const char *e = file_exts[i];

                for (k = 0; k < n && e[k] && lower(p[k]) == (unsigned char)e[k];
                     k++)
                        ;
                if (k == n && !e[k])
                        return 1;
        }
        return 0;
}

static int is_label_byte(unsigned char c) {
        return (byte_class[c] & (C_ALPHA | C_DIGIT)) || c == '-';
}

/*
 * @returns the end of the domain of an email starting at p, or 0: after the
 *          last label that can end a domain (letters, not a file extension,
 *          not after a version as in "1.2.tgz", no word byte after it). A
 *          domain followed by ':' and a digit is a stack frame's
 *          "file:line", not a domain. Labels that run into a placeholder
 *          are no domain: what the placeholder replaced kept them from
 *          being one the first time.
 */
static size_t domain_end(const scan_t *sc, size_t p) {
        size_t start = p, best = 0, last = 0, labels = 0, numeric = 0;

        for (;;) {
                size_t ls    = p, n;
                int    alpha = 1, digits = 1;

                while (p - start < DOMAIN_MAX && is_label_byte(at(sc, p))) {
                        alpha &= (byte_class[sc->s[p]] & C_ALPHA) != 0;
                        digits &= (byte_class[sc->s[p]] & C_DIGIT) != 0;
                        p++;
                }
                if (placeholder_after(sc, p))
                        return 0; /* it ran into what was scrubbed */
                n = p - ls;
                if (n == 0 || n > LABEL_MAX || sc->s[ls] == '-' ||
                    sc->s[p - 1] == '-' || is_label_byte(at(sc, p)))
                        break; /* not a label, or past DOMAIN_MAX */
                if (labels >= 1 && alpha && n >= 2 &&
                    (numeric < labels || labels < 2) &&
                    !is_file_ext(sc->s + ls, n) && !word_after(sc, p))
                        best = p;
                labels++;
                numeric += (size_t)digits;
                last = p;
                if (at(sc, p) != '.' || !(is_label_byte(at(sc, p + 1)) ||
                                          placeholder_after(sc, p + 1)))
                        break;
                p++;
        }
        if (best == last && at(sc, best) == ':' && digit_after(sc, best + 1))
                return 0;
        return best;
}

/* At '@' (at_len 1) or "%40" (at_len 3). */
static int email(const scan_t *sc, size_t i, size_t at_len, match_t *m) {
        size_t ls = i, d;

        while (ls > sc->from && (byte_class[sc->s[ls - 1]] & C_LOCAL)) {
                if (i - ls == LOCAL_MAX)
                        return 0;
                ls--;
        }
        /* "%3Djohn%40example.com": the escape is not part of it */
        if (ls > 0 && sc->s[ls - 1] == '%' && i - ls >= 2 &&
            (byte_class[sc->s[ls]] & C_HEX) &&
            (byte_class[sc->s[ls + 1]] & C_HEX))
                ls += 2;
        while (ls < i && sc->s[ls] == '.')
                ls++;
        if (ls == i || sc->s[i - 1] == '.')
                return 0;
        d = domain_end(sc, i + at_len);
        if (!d)
                return 0;
        return found(m, ls, d, RS_PII_EMAIL);
}

/*
 * The scan.
 */

/*
 * @returns whether a match starts at i (byte class C_START).
 * The rules are tried only where their first bytes fit: most word starts in
 * a stack trace are names and line numbers, and cost a couple of compares.
 */
static int match_at(scan_t *sc, size_t i, match_t *m) {
        unsigned char c  = sc->s[i];
        unsigned      cl = byte_class[c];

        if (cl & C_WORD) {
                size_t        hex, digits;
                unsigned char after;
                int           v6;

                if (i && (byte_class[sc->s[i - 1]] & C_WORD) &&
                    !escape_before(sc, i))
                        return 0;
                hex = run(sc, i, C_HEX, 5);
                v6  = hex >= 1 && hex <= 4 && at(sc, i + hex) == ':';
                if (!(cl & C_DIGIT))
                        return (c == 'e' && jwt(sc, i, m)) ||
                               ((c == 'b' || c == 'B') &&
                                auth_token(sc, i, m)) ||
                               secret_value(sc, i, m) || (v6 && ipv6(sc, i, m));

                digits = run(sc, i, C_DIGIT, CARD_MAX + 1);
                after  = at(sc, i + digits);
                return (v6 && ipv6(sc, i, m)) ||
                       (digits <= 3 && after == '.' && ipv4(sc, i, m)) ||
                       ((digits >= CARD_MIN ||
                         (digits >= 3 && digits <= 6 &&
                          (after == ' ' || after == '-'))) &&
                        card(sc, i, m)) ||
                       (((digits == 3 && (after == '-' || after == '.')) ||
                         (digits == 1 && c == '1' &&
                          (after == '-' || after == '.' || after == ' '))) &&
                        na_phone(sc, i, m)) ||
                       secret_value(sc, i, m);
        }
        switch (c) {
        case '@':
                return email(sc, i, 1, m);
        case '%':
                if (at(sc, i + 1) == '4' && at(sc, i + 2) == '0')
                        return email(sc, i, 3, m);
                if (at(sc, i + 1) == '2' && lower(at(sc, i + 2)) == 'b')
                        return intl_phone(sc, i, 3, m);
                return 0;
        case '+':
                return intl_phone(sc, i, 1, m);
        case '(':
                return na_phone(sc, i, m);
        case ':':
                return url_password(sc, i, m) ||
                       (at(sc, i + 1) == ':' && ipv6(sc, i, m));
        default:
                return 0;
        }
}

/* What a NULL scrubber means: no sensitive key. */
static const rs_pii_t no_keys;

size_t rs_pii_scrub(const rs_pii_t *pii, const char *src, size_t len, char *dst,
                    size_t dst_size, unsigned counts[RS_PII_KIND_CNT]) {
        scan_t  sc;
        out_t   w;
        match_t m;
        size_t  i = 0;

        w.dst   = dst;
        w.cap   = dst_size ? dst_size - 1 : 0;
        w.o     = 0;
        w.total = 0;
        w.full  = !dst_size;

        sc.pii      = pii ? pii : &no_keys;
        sc.s        = (const unsigned char *)src;
        sc.len      = src ? len : 0;
        sc.from     = 0;
        sc.jwt_skip = 0;

        while (i < sc.len) {
                unsigned cl = byte_class[sc.s[i]];

                if (!(cl & C_START)) {
                        i++;
                } else if (match_at(&sc, i, &m)) {
                        put_text(&w, sc.s + sc.from, m.start - sc.from);
                        put_placeholder(&w, m.kind);
                        if (counts)
                                counts[m.kind]++;
                        i = sc.from = m.end;
                } else if (cl & C_WORD) {
                        /* no rule starts inside a word */
                        do
                                i++;
                        while (i < sc.len && (byte_class[sc.s[i]] & C_WORD));
                } else if (escaped_at(&sc, i) >= 0) {
                        i += 3; /* "%20": what follows starts a word */
                } else {
                        i++;
                }
        }
        put_text(&w, sc.s + sc.from, sc.len - sc.from);
        if (dst_size)
                dst[w.o] = '\0';
        return w.total;
}

/*
 * Configuration.
 */

/* @returns 0, 1 if name was there already, -1 if the table is full. */
static int add_key(rs_pii_t *pii, const char *name, size_t n) {
        keyname_t    *key;
        unsigned char f;
        size_t        i;

        if (key_known(pii, (const unsigned char *)name, n))
                return 1;
        if (pii->key_cnt == RS_PII_KEYS_MAX)
                return -1;
        key      = &pii->keys[pii->key_cnt++];
        key->len = n;
        for (i = 0; i < n; i++)
                key->name[i] = (char)fold((unsigned char)name[i]);
        pii->key_lens |= (uint64_t)1 << (n - 1);
        f                 = (unsigned char)key->name[0];
        pii->key_first[f] = 1;
        if (f >= 'a' && f <= 'z')
                pii->key_first[f - 32] = 1;
        return 0;
}

rs_pii_t *rs_pii_new(const char *sensitive_keys, char *errstr,
                     size_t errstr_size) {
        rs_pii_t   *pii = calloc(1, sizeof(*pii));
        const char *keys, *p;
        int         ok = 0;

        if (!pii) {
                bprintf(errstr, errstr_size, "out of memory");
                goto out;
        }
        keys = sensitive_keys ? sensitive_keys : RS_PII_DEFAULT_KEYS;
        for (p = keys; *p == ' ' || *p == '\t'; p++)
                ;
        if (!*p) { /* no keys */
                ok = 1;
                goto out;
        }
        for (;;) {
                const char *name, *e;
                size_t      n, k;

                while (*p == ' ' || *p == '\t')
                        p++;
                for (name = p; *p && *p != ','; p++)
                        ;
                for (e = p; e > name && (e[-1] == ' ' || e[-1] == '\t'); e--)
                        ;
                n = (size_t)(e - name);
                if (n == 0) {
                        bprintf(errstr, errstr_size,
                                "sensitive keys: empty key name at offset %zu",
                                (size_t)(name - keys));
                        goto out;
                }
                if (n > RS_PII_KEY_MAX) {
                        bprintf(errstr, errstr_size,
                                "sensitive keys: \"%.20s...\" is longer than "
                                "%d bytes",
                                name, RS_PII_KEY_MAX);
                        goto out;
                }
                for (k = 0; k < n; k++)
                        if (!(byte_class[(unsigned char)name[k]] & C_KEY))
                                break;
                if (k < n || name[0] == '-') {
                        bprintf(errstr, errstr_size,
                                "sensitive keys: \"%.*s\": a key name is "
                                "letters, digits, '_' and '-', not starting "
                                "with '-'",
                                (int)n, name);
                        goto out;
                }
                if (add_key(pii, name, n) == -1) {
                        bprintf(errstr, errstr_size,
                                "sensitive keys: more than %d names",
                                RS_PII_KEYS_MAX);
                        goto out;
                }
                if (!*p)
                        break;
                p++; /* the comma */
        }
        ok = 1;

out:
        if (!ok) {
                free(pii);
                pii = NULL;
        }
        return pii;
}

void rs_pii_destroy(rs_pii_t *pii) {
        free(pii);
}
