/*
 * fingerprint: a stable group id for a front-end error, so that the same bug
 * seen by many users, on many builds, lands in one group.
 *
 * An event is reduced to the parts that identify the bug and nothing that
 * varies between occurrences of it:
 *
 *   script errors (js_error, unhandled_rejection, resource_error, and
 *   request kinds without a request_url)
 *       tenant, kind, error type, the normalized message and up to
 *       RS_FP_FRAMES "function@file" frames: the top in-app frames of the
 *       stack, or the top frames of any kind if none is in-app, or the
 *       normalized `file` if there is no usable stack. Line and column
 *       numbers never count: they move with every build.
 *   request errors (http_error, slow_request, network_error with a
 *       request_url)
 *       tenant, kind, HTTP method, status and the request URL's route
 *       (rs_route_normalize: "/api/orders/123" -> "/api/orders/:id"). The
 *       message and the stack do not count: the failing endpoint is the bug,
 *       whichever call site issued the request and whichever browser worded
 *       the message ("Failed to fetch", "NetworkError when attempting to
 *       fetch resource.", "Load failed"). Status: 4xx exactly (401, 404 and
 *       422 are different mistakes), other statuses by class ("5xx": a
 *       failing backend alternates 500/502/503/504 within one incident),
 *       "none" without a status, and not at all for slow_request (the
 *       endpoint is slow whatever it answered).
 *
 * Messages are normalized (rs_fp_normalize_message) so that numbers, ids,
 * quoted values, URLs, JSON values ("Non-Error promise rejection captured
 * with value: {...}") and whatever personal data the scrubber took out do
 * not split a group. Frames are normalized so that builds do not split
 * one: origin, query, line and column are dropped and content hashes in
 * paths become "<hash>" (rs_fp_normalize_file:
 * "https://cdn.x/static/js/main.3f2a9c1b.js:1:2" ->
 * "/static/js/main.<hash>.js"). Function names keep their last component
 * ("HTMLButtonElement.onClick" -> "onClick"), which is also how Firefox and
 * Safari name the function, so an error thrown by the same code groups
 * across engines when the message is the same. Engine-worded messages
 * differ ("Cannot read properties of undefined" vs "x is undefined"), so
 * those group per engine.
 *
 * Stacks: V8 ("    at fn (url:1:2)", "at url:1:2", "at async fn (...)",
 * "at new Foo (...)", "at fn [as alias] (...)", "at eval (eval at ...)")
 * when any line starts with "at ", else Firefox/Safari ("fn@url:1:2",
 * "@url:1:2", "async*fn@...", "fn@[native code]"); other lines are skipped.
 * A frame is not in-app if its script is a browser extension's
 * (*-extension://), native, eval or <anonymous> code, or a library: a path
 * containing node_modules, webpack/bootstrap, polyfill, or "vendor" at the
 * start of a name (/vendor/, chunk-vendors, vendors~main).
 *
 * Minified function names are assumed to be stable for unchanged code, which
 * holds for the usual minifiers; grouping across a rebuild that renames
 * them would need source maps.
 *
 * The id is rs_id ("error_group", ...): the same input gives the same id on
 * every machine and across restarts. Changing any normalization rule changes
 * ids, which splits existing groups in two.
 */
#ifndef RS_FINGERPRINT_H
#define RS_FINGERPRINT_H

#include <stddef.h>

#define RS_FP_MESSAGE_MAX 512 /* normalized message bytes kept, with NUL */
#define RS_FP_FRAMES      3   /* frames that identify a group */
#define RS_FP_FRAME_MAX   256 /* "function@file", with NUL */
#define RS_FP_TITLE_MAX   256 /* human title, with NUL */

/** What the fingerprint is computed from; the event's own strings, borrowed.
 *  Every string may be NULL (an absent value). */
typedef struct rs_fp_input_s {
        const char *tenant_id;
        const char *kind;       /* js_error, http_error, ... */
        const char *error_type; /* TypeError, ...; status class for requests */
        const char *message;
        const char *stack;
        const char *file; /* script URL where the error was thrown */
        const char *http_method;
        const char *request_url;
        int         http_status; /* 0 or less: none */
} rs_fp_input_t;

/** A computed fingerprint. Every string is NUL-terminated and UTF-8 clean
 *  where the input was (cuts fall on character boundaries). */
typedef struct rs_fp_s {
        char group_id[33];               /* 32 lowercase hex digits */
        char message[RS_FP_MESSAGE_MAX]; /* normalized message */
        /* "function@file" of the frames that went into the id, top first;
         * function "?" when anonymous, file "<anonymous>" for native or
         * eval code. Empty for request errors. */
        char   frames[RS_FP_FRAMES][RS_FP_FRAME_MAX];
        size_t frame_cnt;
        /* "TypeError: Cannot read properties of undefined (reading <str>)",
         * or for request errors "http_error: GET /api/orders/:id 5xx" */
        char title[RS_FP_TITLE_MAX];
} rs_fp_t;

/**
 * @brief Computes the fingerprint of \p in into \p out (every field is
 *        written). No allocation; any input bytes are accepted.
 */
void rs_fp_compute(const rs_fp_input_t *in, rs_fp_t *out);

/**
 * @brief Normalizes an error message (\p len bytes, need not be
 *        NUL-terminated) into \p out (\p out_size bytes, NUL-terminated if
 *        out_size > 0). Rules, in order of precedence at each position:
 *   - whitespace and control-byte runs become one space; leading and
 *     trailing ones go
 *   - the PII scrubber's placeholders (rs_pii_placeholder(): <email>,
 *     <ip>, <card>, <phone>, <token>, <redacted>) become <pii>: each stands
 *     where a value was, and which kind of value a user typed ("No account
 *     found for <email>" / "<phone>") is no other bug; other placeholders
 *     ('<', a lowercase letter, [a-z0-9_]*, '>': our own, "<anonymous>")
 *     are kept
 *   - a JSON (or JavaScript) object or array literal with at least one
 *     quoted key or value becomes <json>: '{' or '[' not following a word,
 *     ')' or ']' (so "a['x']" is an index), then members up to the
 *     matching close, nesting up to 16 deep: keys are strings ('…' or "…",
 *     backslash escapes), identifiers or numbers; values are strings,
 *     numbers, identifiers (true, null ...), scrubber placeholders,
 *     objects and arrays; trailing commas are accepted. One that does not
 *     close is none, nor are those nested in it (no literal is looked for
 *     again before the byte where its parse failed, so time is linear).
 *     {"token":"<redacted>"}, { id: 'x' } and ["a", 1] become <json>;
 *     [1,2], {}, "a[0]", "Unexpected token } in JSON" and "Expected '{'"
 *     do not (see the rules below for what they become)
 *   - '…', "…" and `…` become <str>: the opening quote must not follow a
 *     word character (so "Can't" is no quote), the closing one must not be
 *     followed by one; an unclosed quote is kept as it is
 *   - scheme://… up to whitespace, a quote or a parenthesis becomes <url>;
 *     trailing . , ; : ! ? stay outside it
 *   - 8-4-4-4-12 hex digits become <uuid>
 *   - numbers become <n>: digits with optional decimals and exponent and
 *     a leading '-' that does not follow a word character ("-1.5e3");
 *     except the code in "error #418" (React, Redux), which names the error
 *   - 0x-prefixed hex, and words of 8 or more hex digits (not all of them
 *     decimal), become <hex>
 *   - other words (runs of [A-Za-z0-9_] and non-ASCII bytes) stay as they
 *     are, digits or not: "e2e", "utf8", "h1", "chunk-vendors"
 *   The result is cut at out_size - 1 bytes on a UTF-8 boundary, and never
 *   inside a placeholder.
 * @returns the length written.
 */
size_t rs_fp_normalize_message(const char *msg, size_t len, char *out,
                               size_t out_size);

/**
 * @brief Normalizes a script location (URL or path, optionally with
 *        ":line:col"; \p len bytes, cut at the first control byte) into
 *        \p out (\p out_size bytes, NUL-terminated if out_size > 0):
 *   - scheme and authority ("https://host:port"), a "blob:" prefix, query,
 *     fragment, line and column go; a path with no segment is "/"
 *   - native, eval and <anonymous> locations are "<anonymous>"
 *   - in each '.'-separated part of each path segment, a content hash
 *     becomes "<hash>": the shortest suffix after a '-' that is 6+ hex
 *     digits with a digit in them, or 8+ of [A-Za-z0-9_-] with letters and
 *     digits and no run of 5 lowercase letters (Rollup, Vite, esbuild:
 *     "index-BHaD8F-q"); else the whole part if it is 6+ such hex digits or
 *     16+ such characters; a UUID segment is "<hash>" too.
 *     "main.3f2a9c1b.js" -> "main.<hash>.js", "app-3f2a9c1b.js" ->
 *     "app-<hash>.js", "4.a1b2c3d4.chunk.js" -> "4.<hash>.chunk.js", while
 *     "e2e-tests.js", "chunk-vendors.js" and "facade.js" stay.
 * @returns the length written.
 */
size_t rs_fp_normalize_file(const char *loc, size_t len, char *out,
                            size_t out_size);

#endif
