/*
 * fingerprint: error event -> group id (see the header for what counts).
 *
 * Everything here is a linear pass (two for a stack: find the dialect, then
 * parse) with bounded look ahead, writing into fixed buffers: no allocation,
 * no regex, no <ctype.h> (locale-dependent, and undefined for negative
 * chars). The one place that could go quadratic, looking for the quote that
 * closes an opening one, is kept linear by remembering, per quote
 * character, that no closing quote is left: closing candidates do not
 * depend on the opening quote, so once a scan from one position finds none,
 * a scan from a later one cannot either. The other one, parsing a JSON
 * literal from each '{' or '[', is kept linear by looking for no literal
 * again before the byte where a parse failed: the parse has no
 * backtracking, so every byte is read by one parse (nested literals of one
 * that does not close are left to the other rules).
 *
 * Writers go through a small bounded buffer (struct sbuf) that appends
 * placeholders whole or not at all, and literal text up to the last complete
 * UTF-8 character that fits; once something did not fit the buffer is full
 * and every later append is dropped, so a cut never leaves a hole.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rumstream/fingerprint.h"
#include "rumstream/hash.h"
#include "rumstream/pii.h"
#include "rumstream/route.h"

#define SCHEME_MAX      32 /* longest URL scheme looked for */
#define PLACEHOLDER_MAX 24 /* longest "<name>" kept from the PII scrubber */
#define HASH_MAX        64 /* longest path component taken for a hash */
#define FUNC_MAX        96 /* function name bytes kept in a frame */
#define METHOD_MAX      16 /* HTTP method bytes kept, with NUL */
#define STATUS_MAX      16 /* status key, with NUL */
#define JSON_DEPTH      16 /* deepest nesting taken for a JSON literal */

/* What every placeholder of the PII scrubber becomes in a message. */
#define PII_PLACEHOLDER "<pii>"

/* ---- bytes ---------------------------------------------------------- */

static int is_digit(unsigned char c) {
        return c >= '0' && c <= '9';
}

static int is_alpha(unsigned char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_lower(unsigned char c) {
        return c >= 'a' && c <= 'z';
}

static int is_hex(unsigned char c) {
        return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Whitespace, and control bytes, which are treated as whitespace. */
static int is_space(unsigned char c) {
        return c <= 0x20 || c == 0x7f;
}

/* A word is a run of these: ASCII letters, digits, '_' and every byte of a
 * multi-byte UTF-8 character (so "café" is one word and is never cut). */
static int is_word(unsigned char c) {
        return is_alpha(c) || is_digit(c) || c == '_' || c >= 0x80;
}

static int is_quote(unsigned char c) {
        return c == '\'' || c == '"' || c == '`';
}

/* strchr() that never matches the NUL byte. */
static int in_set(unsigned char c, const char *set) {
        return c != '\0' && strchr(set, c) != NULL;
}

static unsigned char to_lower(unsigned char c) {
        return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

static unsigned char to_upper(unsigned char c) {
        return c >= 'a' && c <= 'z' ? (unsigned char)(c - 'a' + 'A') : c;
}

/* Case-insensitive: does [p, p + n) start with the literal \p lit? */
static int starts_with_ci(const unsigned char *p, size_t n, const char *lit) {
        size_t i, l = strlen(lit);

        if (n < l)
                return 0;
        for (i = 0; i < l; i++)
                if (to_lower(p[i]) != (unsigned char)lit[i])
                        return 0;
        return 1;
}

static int equals_ci(const unsigned char *p, size_t n, const char *lit) {
        return n == strlen(lit) && starts_with_ci(p, n, lit);
}

/* Case-insensitive search of a lowercase literal. */
static const unsigned char *find_ci(const unsigned char *p, size_t n,
                                    const char *lit) {
        size_t i, l = strlen(lit);

        for (i = 0; i + l <= n; i++)
                if (starts_with_ci(p + i, n - i, lit))
                        return p + i;
        return NULL;
}

/* ---- bounded output -------------------------------------------------- */

struct sbuf {
        char  *buf;
        size_t size; /* of buf, NUL included */
        size_t cap;  /* bytes usable before the NUL */
        size_t len;
        int    full; /* something did not fit: drop everything after */
};

static void sb_init(struct sbuf *sb, char *buf, size_t size) {
        sb->buf  = buf;
        sb->size = size;
        sb->cap  = size ? size - 1 : 0;
        sb->len  = 0;
        sb->full = size == 0;
}

/* Appends \p n bytes whole, or marks the buffer full. */
static void sb_atom(struct sbuf *sb, const void *s, size_t n) {
        if (sb->full)
                return;
        if (n > sb->cap - sb->len) {
                sb->full = 1;
                return;
        }
        memcpy(sb->buf + sb->len, s, n);
        sb->len += n;
}

static void sb_str(struct sbuf *sb, const char *s) {
        sb_atom(sb, s, strlen(s));
}

/* Appends literal text, cut before the first byte that does not fit and
 * then back to a character boundary: the first byte left out must not be a
 * continuation byte. Up to 3 steps back, which is a whole character in
 * valid UTF-8; invalid input is cut where the steps end. */
static void sb_text(struct sbuf *sb, const void *s, size_t n) {
        const unsigned char *p = s;
        size_t               room, k, back = 0;

        if (sb->full)
                return;
        room = sb->cap - sb->len;
        if (n <= room) {
                sb_atom(sb, s, n);
                return;
        }
        k = room;
        while (k > 0 && back < 3 && (p[k] & 0xc0) == 0x80) {
                k--;
                back++;
        }
        memcpy(sb->buf + sb->len, p, k);
        sb->len += k;
        sb->full = 1;
}

static size_t sb_finish(struct sbuf *sb) {
        if (sb->size > 0)
                sb->buf[sb->len] = '\0';
        return sb->len;
}

/* ---- message --------------------------------------------------------- */

/* "<name>" as left by the PII scrubber: '<', [a-z], [a-z0-9_]*, '>'. */
static size_t match_placeholder(const unsigned char *p, size_t i, size_t len) {
        size_t j = i + 1;

        if (p[i] != '<' || j >= len || !is_lower(p[j]))
                return 0;
        for (j++; j < len && j - i < PLACEHOLDER_MAX; j++) {
                if (p[j] == '>')
                        return j + 1;
                if (!is_lower(p[j]) && !is_digit(p[j]) && p[j] != '_')
                        return 0;
        }
        return 0;
}

/* A quoted value from p[i]; \p noclose remembers, per quote character, that
 * no closing candidate is left (see the top of the file). */
static size_t match_quote(const unsigned char *p, size_t i, size_t len,
                          int noclose[3]) {
        unsigned char q = p[i];
        int           qi;
        size_t        k;

        if (!is_quote(q) || (i > 0 && is_word(p[i - 1])))
                return 0;
        qi = q == '\'' ? 0 : q == '"' ? 1 : 2;
        if (noclose[qi])
                return 0;
        for (k = i + 1; k < len; k++)
                if (p[k] == q && (k + 1 == len || !is_word(p[k + 1])))
                        return k + 1;
        noclose[qi] = 1;
        return 0;
}

/* One of the placeholders the PII scrubber writes (<email>, <ip>, ...),
 * \p n bytes. They all stand for a value, whichever kind it was. */
static int is_pii_placeholder(const unsigned char *p, size_t n) {
        int k;

        for (k = 0; k < RS_PII_KIND_CNT; k++) {
                const char *ph = rs_pii_placeholder((rs_pii_kind_t)k);

                if (ph[0] && n == strlen(ph) && !memcmp(p, ph, n))
                        return 1;
        }
        return 0;
}

/* scheme://... up to whitespace, a quote or a parenthesis, without trailing
 * sentence punctuation. */
static size_t match_url(const unsigned char *p, size_t i, size_t len) {
        size_t j = i, lim = len - i > SCHEME_MAX ? i + SCHEME_MAX : len;

        if (!is_alpha(p[j]) || (i > 0 && is_word(p[i - 1])))
                return 0;
        for (j++; j < lim && (is_alpha(p[j]) || is_digit(p[j]) || p[j] == '+' ||
                              p[j] == '-' || p[j] == '.');
             j++)
                ;
        if (len - j < 3 || p[j] != ':' || p[j + 1] != '/' || p[j + 2] != '/')
                return 0;
        for (j += 3; j < len && !is_space(p[j]) && !is_quote(p[j]) &&
                     p[j] != '(' && p[j] != ')';
             j++)
                ;
        while (in_set(p[j - 1], ".,;:!?"))
                j--; /* never past "://" */
        return j;
}

static int is_uuid(const unsigned char *p, size_t n) {
        size_t i;

        if (n != 36)
                return 0;
        for (i = 0; i < 36; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23) {
                        if (p[i] != '-')
                                return 0;
                } else if (!is_hex(p[i])) {
                        return 0;
                }
        }
        return 1;
}

static size_t match_uuid(const unsigned char *p, size_t i, size_t len) {
        if (len - i < 36 || (i > 0 && is_word(p[i - 1])) || !is_uuid(p + i, 36))
                return 0;
        if (i + 36 < len && (is_word(p[i + 36]) || p[i + 36] == '-'))
                return 0;
        return i + 36;
}

/* 0x1f: 0x and at least one hex digit, ending the word. */
static size_t match_0x(const unsigned char *p, size_t i, size_t len) {
        size_t j = i + 2;

        if (len - i < 3 || p[i] != '0' || (p[i + 1] != 'x' && p[i + 1] != 'X'))
                return 0;
        while (j < len && is_hex(p[j]))
                j++;
        if (j == i + 2 || (j < len && is_word(p[j])))
                return 0;
        return j;
}

/* -?digits(.digits)*([eE][+-]?digits)?, ending the word. */
static size_t match_number(const unsigned char *p, size_t i, size_t len) {
        size_t j = i, k;

        if (p[j] == '-')
                j++;
        if (j >= len || !is_digit(p[j]))
                return 0;
        while (j < len && is_digit(p[j]))
                j++;
        while (j + 1 < len && p[j] == '.' && is_digit(p[j + 1]))
                for (j++; j < len && is_digit(p[j]); j++)
                        ;
        if (j < len && (p[j] == 'e' || p[j] == 'E')) {
                k = j + 1;
                if (k < len && (p[k] == '+' || p[k] == '-'))
                        k++;
                if (k < len && is_digit(p[k])) {
                        while (k < len && is_digit(p[k]))
                                k++;
                        j = k;
                }
        }
        if (j < len && is_word(p[j]))
                return 0;
        return j;
}

/* "error #418": React and Redux name their minified errors by code, and the
 * code is what tells one of their errors from another. */
static int is_error_code(const unsigned char *p, size_t i) {
        return i >= 7 && p[i - 1] == '#' &&
               starts_with_ci(p + i - 7, 6, "error ");
}

/* A parse of a JSON (or JavaScript) object or array literal: "{"k":"v"}",
 * "{ token: 'x' }", "["a", 1, {"b": null}]". Keys are strings, identifiers
 * or numbers; values are strings, numbers, identifiers (true, null,
 * undefined ...), scrubber placeholders, objects and arrays; trailing
 * commas are accepted. */
struct json {
        const unsigned char *p;
        size_t               len;
        size_t               strings; /* quoted strings on the way */
        size_t               far;     /* furthest byte looked at */
};

/* Every token is followed by a call of this, so \p far ends where the
 * parse failed. */
static size_t skip_space(struct json *js, size_t i) {
        while (i < js->len && is_space(js->p[i]))
                i++;
        if (i > js->far)
                js->far = i;
        return i;
}

/* '...' or "..." with backslash escapes. */
static size_t json_string(struct json *js, size_t i) {
        const unsigned char *p = js->p;
        size_t               k;

        if (i >= js->len || (p[i] != '"' && p[i] != '\''))
                return 0;
        for (k = i + 1; k < js->len; k++) {
                if (p[k] == '\\')
                        k++;
                else if (p[k] == p[i])
                        break;
        }
        if (k >= js->len) {
                js->far = js->len;
                return 0;
        }
        js->strings++;
        return k + 1;
}

static size_t json_ident(const struct json *js, size_t i) {
        const unsigned char *p = js->p;
        size_t               j = i;

        if (i >= js->len || is_digit(p[i]) || (!is_word(p[i]) && p[i] != '$'))
                return 0;
        while (j < js->len && (is_word(p[j]) || p[j] == '$'))
                j++;
        return j;
}

static size_t json_container(struct json *js, size_t i, int depth);

static size_t json_value(struct json *js, size_t i, int depth) {
        const unsigned char *p = js->p;
        size_t               j;

        if (i >= js->len)
                return 0;
        if (p[i] == '"' || p[i] == '\'')
                return json_string(js, i);
        if (p[i] == '{' || p[i] == '[')
                return json_container(js, i, depth + 1);
        if ((j = match_placeholder(p, i, js->len)))
                return j;
        if ((j = match_number(p, i, js->len)))
                return j;
        return json_ident(js, i);
}

/* The object or array opening at p[i]; \p depth counts the enclosing
 * ones. @returns the index after its close, or 0. */
static size_t json_container(struct json *js, size_t i, int depth) {
        const unsigned char *p     = js->p;
        int                  obj   = p[i] == '{';
        unsigned char        close = obj ? '}' : ']';
        size_t               j;

        if (depth >= JSON_DEPTH)
                return 0;
        i = skip_space(js, i + 1);
        if (i < js->len && p[i] == close)
                return i + 1;
        for (;;) {
                if (obj) {
                        if (!(j = json_string(js, i)) &&
                            !(j = json_ident(js, i)) &&
                            !(j = match_number(p, i, js->len)))
                                return 0;
                        i = skip_space(js, j);
                        if (i >= js->len || p[i] != ':')
                                return 0;
                        i = skip_space(js, i + 1);
                }
                if (!(j = json_value(js, i, depth)))
                        return 0;
                i = skip_space(js, j);
                if (i < js->len && p[i] == ',')
                        i = skip_space(js, i + 1);
                else if (i >= js->len || p[i] != close)
                        return 0;
                if (i < js->len && p[i] == close)
                        return i + 1;
        }
}

/* A JSON-like object or array from p[i] with at least one quoted key or
 * value (so that "[1,2]", "a[0]" and "{ a: 1 }" are not taken), not
 * following a word, ')' or ']' (an index: "a['x']", "f()['x']"). When
 * there is none, \p from is moved to where the parse stopped: no literal
 * is looked for before it. */
static size_t match_json(const unsigned char *p, size_t i, size_t len,
                         size_t *from) {
        struct json js = {p, len, 0, i};
        size_t      j;

        if (i < *from || (p[i] != '{' && p[i] != '[') ||
            (i > 0 &&
             (is_word(p[i - 1]) || p[i - 1] == ')' || p[i - 1] == ']')))
                return 0;
        j = json_container(&js, i, 0);
        if (j && js.strings > 0)
                return j;
        *from = j ? j : js.far;
        return 0;
}

size_t rs_fp_normalize_message(const char *msg, size_t len, char *out,
                               size_t out_size) {
        const unsigned char *p          = (const unsigned char *)msg;
        int                  noclose[3] = {0, 0, 0};
        int                  space      = 0;
        size_t               i          = 0;
        size_t               json_from  = 0; /* see match_json() */
        struct sbuf          sb;

        sb_init(&sb, out, out_size);
        if (!msg)
                len = 0;

        while (i < len && !sb.full) {
                unsigned char c        = p[i];
                int           at_start = i == 0 || !is_word(p[i - 1]);
                size_t        j;

                if (is_space(c)) {
                        space = sb.len > 0;
                        i++;
                        continue;
                }
                if (space) {
                        sb_atom(&sb, " ", 1);
                        space = 0;
                }

                if ((j = match_placeholder(p, i, len))) {
                        if (is_pii_placeholder(p + i, j - i))
                                sb_str(&sb, PII_PLACEHOLDER);
                        else
                                sb_atom(&sb, p + i, j - i);
                } else if ((j = match_json(p, i, len, &json_from))) {
                        sb_str(&sb, "<json>");
                } else if ((j = match_quote(p, i, len, noclose))) {
                        sb_str(&sb, "<str>");
                } else if ((j = match_url(p, i, len))) {
                        sb_str(&sb, "<url>");
                } else if ((j = match_uuid(p, i, len))) {
                        sb_str(&sb, "<uuid>");
                } else if (at_start && (j = match_0x(p, i, len))) {
                        sb_str(&sb, "<hex>");
                } else if (at_start && is_digit(c) && is_error_code(p, i)) {
                        for (j = i; j < len && is_word(p[j]); j++)
                                ;
                        sb_text(&sb, p + i, j - i);
                } else if (at_start && (j = match_number(p, i, len))) {
                        sb_str(&sb, "<n>");
                } else if (is_word(c)) {
                        size_t digits = 0, hex = 0;

                        for (j = i; j < len && is_word(p[j]); j++) {
                                digits += is_digit(p[j]);
                                hex += is_hex(p[j]);
                        }
                        if (digits == j - i)
                                sb_str(&sb, "<n>");
                        else if (hex == j - i && j - i >= 8)
                                sb_str(&sb, "<hex>");
                        else
                                sb_text(&sb, p + i, j - i);
                } else {
                        j = i + 1;
                        sb_atom(&sb, p + i, 1);
                }
                i = j;
        }

        if (sb.len > 0 && sb.buf[sb.len - 1] == ' ')
                sb.len--;
        return sb_finish(&sb);
}

/* ---- files ----------------------------------------------------------- */

#define LOC_NATIVE    0x1 /* native, eval or <anonymous> code */
#define LOC_EXTENSION 0x2 /* a browser extension's script */
#define LOC_VENDOR    0x4 /* a library bundled with the app */

/* 6+ hex digits with a digit among them: webpack, Parcel, Next.js. */
static int is_hex_hash(const unsigned char *p, size_t n) {
        size_t i, digits = 0;

        if (n < 6 || n > HASH_MAX)
                return 0;
        for (i = 0; i < n; i++) {
                if (!is_hex(p[i]))
                        return 0;
                digits += is_digit(p[i]);
        }
        return digits > 0;
}

/* 8+ of [A-Za-z0-9_-] mixing letters and digits: Rollup/Vite (base64url)
 * and esbuild (base32). A run of five lowercase letters is taken for a
 * word ("e2e-tests", "polyfills-es2015") rather than a hash. */
static int is_b64_hash(const unsigned char *p, size_t n) {
        size_t i, digits = 0, letters = 0, lower_run = 0;

        if (n < 8 || n > HASH_MAX)
                return 0;
        for (i = 0; i < n; i++) {
                if (!is_word(p[i]) && p[i] != '-')
                        return 0;
                if (p[i] >= 0x80)
                        return 0;
                digits += is_digit(p[i]);
                letters += is_alpha(p[i]);
                lower_run = is_lower(p[i]) ? lower_run + 1 : 0;
                if (lower_run >= 5)
                        return 0;
        }
        return digits > 0 && letters > 0;
}

/* One '.'-separated part of a path segment: a hash after its last dashes
 * ("app-3f2a9c1b", "index-BHaD8F-q": the shortest suffix that is one), or
 * the whole part ("3f2a9c1b", a 16+ byte build id). */
static void put_part(struct sbuf *sb, const unsigned char *p, size_t n) {
        size_t d;

        for (d = n; d-- > 0 && n - d - 1 <= HASH_MAX;) {
                if (p[d] != '-' || d == 0)
                        continue;
                if (is_hex_hash(p + d + 1, n - d - 1) ||
                    is_b64_hash(p + d + 1, n - d - 1)) {
                        sb_text(sb, p, d + 1);
                        sb_str(sb, "<hash>");
                        return;
                }
        }
        if (is_hex_hash(p, n) || (n >= 16 && is_b64_hash(p, n)))
                sb_str(sb, "<hash>");
        else
                sb_text(sb, p, n);
}

static void put_segment(struct sbuf *sb, const unsigned char *p, size_t n) {
        size_t i = 0, j;

        if (is_uuid(p, n)) {
                sb_str(sb, "<hash>");
                return;
        }
        while (i <= n && !sb->full) {
                for (j = i; j < n && p[j] != '.'; j++)
                        ;
                put_part(sb, p + i, j - i);
                if (j < n)
                        sb_atom(sb, ".", 1);
                i = j + 1;
        }
}

/* "vendor" where a name starts: "/vendor/", "chunk-vendors", "vendors~main",
 * but not "/src/myvendorlist.js". */
static int has_vendor_marker(const unsigned char *p, size_t n) {
        const unsigned char *v = p;
        size_t               left;

        if (find_ci(p, n, "node_modules") ||
            find_ci(p, n, "webpack/bootstrap") || find_ci(p, n, "polyfill"))
                return 1;
        while ((left = n - (size_t)(v - p)) > 0 &&
               (v = find_ci(v, left, "vendor")) != NULL) {
                if (v == p || in_set(v[-1], "/-_.~"))
                        return 1;
                v++;
        }
        return 0;
}

/* A scheme and ':' at the start of [p, p + n): its length, or 0. */
static size_t scheme_len(const unsigned char *p, size_t n) {
        size_t j, lim = n > SCHEME_MAX ? SCHEME_MAX : n;

        if (n == 0 || !is_alpha(p[0]))
                return 0;
        for (j = 1; j < lim && (is_alpha(p[j]) || is_digit(p[j]) ||
                                p[j] == '+' || p[j] == '-' || p[j] == '.');
             j++)
                ;
        return j < n && p[j] == ':' ? j : 0;
}

/* Drops one trailing ":digits" (a line or column number). */
static size_t strip_number(const unsigned char *p, size_t n) {
        size_t j = n;

        while (j > 0 && is_digit(p[j - 1]))
                j--;
        return j < n && j > 0 && p[j - 1] == ':' ? j - 1 : n;
}

static int is_native_location(const unsigned char *p, size_t n) {
        return n == 0 || equals_ci(p, n, "<anonymous>") ||
               equals_ci(p, n, "native") || equals_ci(p, n, "[native code]") ||
               starts_with_ci(p, n, "index ") ||
               starts_with_ci(p, n, "eval at ") ||
               starts_with_ci(p, n, "<anonymous>:") ||
               find_ci(p, n, " > eval") || find_ci(p, n, " > function");
}

/**
 * @brief Writes the normalized location \p p (\p n bytes) to \p sb.
 * @returns LOC_* flags.
 */
static int put_location(struct sbuf *sb, const unsigned char *p, size_t n) {
        const unsigned char *end;
        size_t               s, start = sb->len;
        int                  flags = 0;

        while (n > 0 && is_space(*p)) {
                p++;
                n--;
        }
        for (s = 0; s < n && p[s] >= 0x20; s++)
                ; /* a control byte is a sign of a cut or corrupt value */
        n = s;
        while (n > 0 && is_space(p[n - 1]))
                n--;
        n = strip_number(p, strip_number(p, n));

        if (is_native_location(p, n)) {
                sb_str(sb, "<anonymous>");
                return LOC_NATIVE;
        }

        if ((s = scheme_len(p, n)) == 4 && starts_with_ci(p, n, "blob:")) {
                p += 5; /* blob:https://origin/uuid */
                n -= 5;
                s = scheme_len(p, n);
        }
        if (s > 0 && n - s >= 3 && p[s + 1] == '/' && p[s + 2] == '/') {
                if (s >= 10 && starts_with_ci(p + s - 10, 10, "-extension"))
                        flags |= LOC_EXTENSION;
                p += s + 3; /* skip the authority */
                n -= s + 3;
                while (n > 0 && *p != '/' && *p != '?' && *p != '#') {
                        p++;
                        n--;
                }
        }

        end = p;
        while (end < p + n && *end != '?' && *end != '#')
                end++;
        while (p < end && !sb->full) {
                const unsigned char *seg = p;

                while (p < end && *p != '/')
                        p++;
                put_segment(sb, seg, (size_t)(p - seg));
                if (p < end) {
                        sb_atom(sb, "/", 1);
                        p++;
                }
        }
        if (sb->len == start)
                sb_atom(sb, "/", 1);

        if (has_vendor_marker((const unsigned char *)sb->buf + start,
                              sb->len - start))
                flags |= LOC_VENDOR;
        return flags;
}

size_t rs_fp_normalize_file(const char *loc, size_t len, char *out,
                            size_t out_size) {
        struct sbuf sb;

        sb_init(&sb, out, out_size);
        if (!loc)
                len = 0;
        put_location(&sb, (const unsigned char *)(loc ? loc : ""), len);
        return sb_finish(&sb);
}

/* ---- stacks ---------------------------------------------------------- */

/* A stack line split into its function name and location (either may be
 * empty); pointers into the stack. */
struct raw_frame {
        const unsigned char *fn, *loc;
        size_t               fn_len, loc_len;
};

static void trim(const unsigned char **p, size_t *n) {
        while (*n > 0 && is_space(**p)) {
                (*p)++;
                (*n)--;
        }
        while (*n > 0 && is_space((*p)[*n - 1]))
                (*n)--;
}

/* V8 (Chrome, Edge, Node): "at fn (loc)", "at loc", "at async fn (loc)",
 * "at new Foo (loc)", "at fn (eval at g (loc), <anonymous>:1:2)". The
 * location is the last parenthesized group, nesting counted. */
static int parse_v8(const unsigned char *p, size_t n, struct raw_frame *f) {
        size_t i, depth = 0;

        if (n < 3 || memcmp(p, "at ", 3))
                return 0;
        p += 3;
        n -= 3;
        trim(&p, &n);
        memset(f, 0, sizeof(*f));
        if (n > 0 && p[n - 1] == ')') {
                for (i = n; i-- > 0;) {
                        if (p[i] == ')')
                                depth++;
                        else if (p[i] == '(' && --depth == 0)
                                break;
                }
                if (depth == 0) {
                        f->fn      = p;
                        f->fn_len  = i;
                        f->loc     = p + i + 1;
                        f->loc_len = n - i - 2;
                        trim(&f->fn, &f->fn_len);
                        return 1;
                }
        }
        f->fn      = p;
        f->loc     = p;
        f->loc_len = n;
        return n > 0;
}

/* Firefox and Safari: "fn@loc", "@loc", "async*fn@loc", "fn@[native code]";
 * older Safari also prints a bare "https://x/app.js:1:2". A location must
 * look like one, so that a stray line with an '@' is not taken for a
 * frame. */
static int parse_gecko(const unsigned char *p, size_t n, struct raw_frame *f) {
        const unsigned char *at = memchr(p, '@', n);
        const unsigned char *loc;
        size_t               loc_len;

        memset(f, 0, sizeof(*f));
        if (at) {
                f->fn     = p;
                f->fn_len = (size_t)(at - p);
                loc       = at + 1;
                loc_len   = n - f->fn_len - 1;
        } else {
                loc     = p;
                loc_len = n;
        }
        f->loc     = loc;
        f->loc_len = loc_len;
        if (equals_ci(loc, loc_len, "[native code]"))
                return at != NULL;
        if (strip_number(loc, loc_len) == loc_len)
                return 0; /* no ":line" */
        return at != NULL || find_ci(loc, loc_len, "://") != NULL;
}

/* Whether any line is a V8 "at ..." frame: then only such lines are, and
 * the first line (the message) is never parsed as a frame. */
static int is_v8_stack(const unsigned char *p, size_t n) {
        size_t i = 0;

        while (i < n) {
                while (i < n && (p[i] == ' ' || p[i] == '\t'))
                        i++;
                if (n - i >= 3 && !memcmp(p + i, "at ", 3))
                        return 1;
                while (i < n && p[i] != '\n')
                        i++;
                i++;
        }
        return 0;
}

/* Function name as both engines would print it: "HTMLButtonElement.onClick"
 * (V8) and "onClick" (Firefox) are "onClick"; "async fn", "async*fn" and
 * "promise callback*fn" are "fn"; "new Foo" is "Foo"; "fn [as alias]" is
 * "fn"; anonymous ones ("", "<anonymous>", "Object.<anonymous>", Firefox's
 * "outer/<", Safari's "global code") are "?". */
static void put_function(struct sbuf *sb, const unsigned char *p, size_t n) {
        size_t i;

        trim(&p, &n);
        for (;;) {
                if (starts_with_ci(p, n, "async ")) {
                        p += 6;
                        n -= 6;
                } else if (starts_with_ci(p, n, "new ")) {
                        p += 4;
                        n -= 4;
                } else {
                        break;
                }
        }
        if (n > 0 && p[n - 1] == ']') {
                const unsigned char *as = find_ci(p, n, " [as ");

                if (as)
                        n = (size_t)(as - p);
        }
        for (i = n; i-- > 0;) {
                if (p[i] == '*') {
                        p += i + 1;
                        n -= i + 1;
                        break;
                }
        }
        while (n > 0 && p[n - 1] == '<')
                n--;
        for (i = n; i-- > 0;) {
                if (p[i] == '.' || p[i] == '/') {
                        p += i + 1;
                        n -= i + 1;
                        break;
                }
        }
        trim(&p, &n);
        if (n == 0 || equals_ci(p, n, "<anonymous>") ||
            equals_ci(p, n, "anonymous") || equals_ci(p, n, "global code") ||
            equals_ci(p, n, "module code") || equals_ci(p, n, "eval code")) {
                sb_atom(sb, "?", 1);
                return;
        }
        sb_text(sb, p, n > FUNC_MAX ? FUNC_MAX : n);
}

/* "function@file" into \p out. @returns LOC_* flags. */
static int make_frame(const struct raw_frame *f, char out[RS_FP_FRAME_MAX]) {
        struct sbuf sb, fn;
        char        name[FUNC_MAX + 1];
        int         flags;

        sb_init(&fn, name, sizeof(name));
        put_function(&fn, f->fn ? f->fn : (const unsigned char *)"", f->fn_len);
        sb_finish(&fn);

        sb_init(&sb, out, RS_FP_FRAME_MAX);
        sb_atom(&sb, name, fn.len);
        sb_atom(&sb, "@", 1);
        flags = put_location(&sb, f->loc, f->loc_len);
        sb_finish(&sb);
        return flags;
}

/* The frames that identify the error: the top in-app ones, else the top
 * ones. @returns how many were written to \p frames. */
static size_t pick_frames(const char *stack,
                          char        frames[RS_FP_FRAMES][RS_FP_FRAME_MAX]) {
        char                 top[RS_FP_FRAMES][RS_FP_FRAME_MAX];
        char                 frame[RS_FP_FRAME_MAX];
        const unsigned char *p = (const unsigned char *)stack;
        size_t               n = strlen(stack), i = 0, ntop = 0, napp = 0;
        int                  v8 = is_v8_stack(p, n);

        while (i < n && napp < RS_FP_FRAMES) {
                const unsigned char *line = p + i;
                size_t               len;
                struct raw_frame     f;
                int                  ok, flags;

                while (i < n && p[i] != '\n')
                        i++;
                len = (size_t)(p + i - line);
                i++;
                trim(&line, &len);
                ok = v8 ? parse_v8(line, len, &f) : parse_gecko(line, len, &f);
                if (!ok)
                        continue;
                flags = make_frame(&f, frame);
                if (ntop < RS_FP_FRAMES)
                        memcpy(top[ntop++], frame, strlen(frame) + 1);
                if (!flags)
                        memcpy(frames[napp++], frame, strlen(frame) + 1);
        }
        if (napp > 0)
                return napp;
        for (i = 0; i < ntop; i++)
                memcpy(frames[i], top[i], strlen(top[i]) + 1);
        return ntop;
}

/* ---- the fingerprint ------------------------------------------------- */

static int is_request_kind(const char *kind) {
        return !strcmp(kind, "http_error") || !strcmp(kind, "slow_request") ||
               !strcmp(kind, "network_error");
}

/* 4xx exact, other statuses by class, "none" without one; "" (left out)
 * for slow_request. See the header for why. */
static void status_key(const char *kind, int status, char out[STATUS_MAX]) {
        if (!strcmp(kind, "slow_request"))
                out[0] = '\0';
        else if (status <= 0)
                snprintf(out, STATUS_MAX, "none");
        else if (status >= 400 && status <= 499)
                snprintf(out, STATUS_MAX, "%d", status);
        else if (status >= 100 && status <= 599)
                snprintf(out, STATUS_MAX, "%dxx", status / 100);
        else
                snprintf(out, STATUS_MAX, "%d", status);
}

static void method_key(const char *method, char out[METHOD_MAX]) {
        const unsigned char *p = (const unsigned char *)(method ? method : "");
        size_t               n = strlen((const char *)p), i;

        trim(&p, &n);
        if (n > METHOD_MAX - 1)
                n = METHOD_MAX - 1;
        for (i = 0; i < n; i++)
                out[i] = (char)to_upper(p[i]);
        out[n] = '\0';
}

static void compute_request(const rs_fp_input_t *in, const char *kind,
                            rs_fp_t *out) {
        char        method[METHOD_MAX], status[STATUS_MAX];
        char        route[RS_ROUTE_MAX];
        rs_id_t     id;
        struct sbuf sb;

        method_key(in->http_method, method);
        status_key(kind, in->http_status, status);
        rs_route_normalize(in->request_url, strlen(in->request_url), route);

        rs_id_init(&id, "error_group");
        rs_id_add_str(&id, in->tenant_id);
        rs_id_add_str(&id, kind);
        rs_id_add_str(&id, "request");
        rs_id_add_str(&id, method);
        rs_id_add_str(&id, status);
        rs_id_add_str(&id, route);
        rs_id_hex(&id, out->group_id);

        sb_init(&sb, out->title, sizeof(out->title));
        sb_text(&sb, kind, strlen(kind));
        sb_atom(&sb, ":", 1);
        if (method[0]) {
                sb_atom(&sb, " ", 1);
                sb_str(&sb, method);
        }
        sb_atom(&sb, " ", 1);
        sb_text(&sb, route, strlen(route));
        if (status[0] && in->http_status > 0) {
                sb_atom(&sb, " ", 1);
                sb_str(&sb, status);
        }
        sb_finish(&sb);
}

static void compute_script(const rs_fp_input_t *in, const char *kind,
                           rs_fp_t *out) {
        const char *type = in->error_type ? in->error_type : "";
        rs_id_t     id;
        struct sbuf sb;
        size_t      i;

        if (in->stack && in->stack[0])
                out->frame_cnt = pick_frames(in->stack, out->frames);
        if (out->frame_cnt == 0 && in->file && in->file[0]) {
                struct raw_frame f = {
                    .loc     = (const unsigned char *)in->file,
                    .loc_len = strlen(in->file),
                };

                make_frame(&f, out->frames[0]);
                out->frame_cnt = 1;
        }

        rs_id_init(&id, "error_group");
        rs_id_add_str(&id, in->tenant_id);
        rs_id_add_str(&id, kind);
        rs_id_add_str(&id, "script");
        rs_id_add_str(&id, type);
        rs_id_add_str(&id, out->message);
        rs_id_add_i64(&id, (int64_t)out->frame_cnt);
        for (i = 0; i < out->frame_cnt; i++)
                rs_id_add_str(&id, out->frames[i]);
        rs_id_hex(&id, out->group_id);

        sb_init(&sb, out->title, sizeof(out->title));
        if (type[0])
                sb_text(&sb, type, strlen(type));
        if (type[0] && out->message[0])
                sb_atom(&sb, ": ", 2);
        if (out->message[0])
                sb_text(&sb, out->message, strlen(out->message));
        if (!type[0] && !out->message[0])
                sb_text(&sb, kind[0] ? kind : "error",
                        strlen(kind[0] ? kind : "error"));
        sb_finish(&sb);
}

void rs_fp_compute(const rs_fp_input_t *in, rs_fp_t *out) {
        const char *kind = in->kind ? in->kind : "";
        const char *msg  = in->message ? in->message : "";

        memset(out, 0, sizeof(*out));
        rs_fp_normalize_message(msg, strlen(msg), out->message,
                                sizeof(out->message));
        if (is_request_kind(kind) && in->request_url && in->request_url[0])
                compute_request(in, kind, out);
        else
                compute_script(in, kind, out);
}
