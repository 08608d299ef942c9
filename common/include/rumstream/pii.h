/*
 * pii: replaces personal data in free text (error messages, stack traces,
 * URLs, breadcrumbs) by typed placeholders, before anything is stored or
 * forwarded.
 *
 * What is found, anywhere in the text, and what replaces it:
 *   <email>     local@domain.tld, also percent-encoded (local%40domain.tld)
 *   <ip>        IPv4 dotted quads, IPv6 (full, "::"-compressed, with an
 *               embedded IPv4)
 *   <card>      13-19 digits, plain or in groups separated by single spaces
 *               or dashes, with a card issuer's prefix and a valid Luhn sum
 *   <phone>     "+" and 7-15 digits with spaces, dashes, dots, parentheses;
 *               North-American (555) 123-4567, 555-123-4567, 555.123.4567
 *   <token>     what follows "Bearer" / "Basic"; JWTs (eyJ....)
 *   <redacted>  the value of a sensitive key: key=value, key: value,
 *               "key":"value", key%3Dvalue; the password of a URL's
 *               user:password@
 * For key/value pairs and Bearer/Basic the key and the scheme word are kept:
 *   "?password=hunter2&x=1"           -> "?password=<redacted>&x=1"
 *   "Authorization: Bearer abc.def-9" -> "Authorization: Bearer <token>"
 * Plain numbers, ids, UUIDs, hashes, versions, times, dates, line:col and
 * C++ scopes are left alone; pii.c lists the rules and the cases decided.
 * Scrubbing its own output changes nothing.
 */
#ifndef RS_PII_H
#define RS_PII_H

#include <stddef.h>

/* Limits on the sensitive_keys list of rs_pii_new(). */
#define RS_PII_KEY_MAX  64 /* bytes in one key name */
#define RS_PII_KEYS_MAX 64 /* key names in the list */

/* The sensitive keys when the configuration names none. */
#define RS_PII_DEFAULT_KEYS                                                    \
        "password,passwd,pwd,token,access_token,refresh_token,secret,"         \
        "client_secret,api_key,apikey,authorization,email,ssn,card,"           \
        "card_number,cvv"

typedef struct rs_pii_s rs_pii_t;

/* Kinds of personal data, each with its placeholder. */
typedef enum {
        RS_PII_EMAIL,  /* <email> */
        RS_PII_IP,     /* <ip> */
        RS_PII_CARD,   /* <card> */
        RS_PII_PHONE,  /* <phone> */
        RS_PII_TOKEN,  /* <token>: bearer/basic credentials, JWTs */
        RS_PII_SECRET, /* <redacted>: the value of a sensitive key */
        RS_PII_KIND_CNT
} rs_pii_kind_t;

/** @brief "email", "ip", "card", "phone", "token", "secret" (for metric
 *         labels); "unknown" for anything else. Static storage. */
const char *rs_pii_kind_name(rs_pii_kind_t kind);

/** @brief "<email>", "<ip>", ..., "<redacted>"; "" for anything else.
 *         Static storage. */
const char *rs_pii_placeholder(rs_pii_kind_t kind);

/**
 * @brief A scrubber whose key/value rule looks for \p sensitive_keys.
 * @param sensitive_keys comma-separated key names, matched as whole keys and
 *        case-insensitively, with '-' and '_' taken as the same byte
 *        ("api-key=" matches "api_key"). Names are made of letters, digits,
 *        '_' and '-'; spaces around a name are ignored. NULL means
 *        RS_PII_DEFAULT_KEYS; "" means none (only the other rules run).
 * @returns the scrubber, or NULL with the reason in \p errstr for an empty
 *          name ("a,,b", "a,"), a name longer than RS_PII_KEY_MAX bytes or
 *          with another byte, more than RS_PII_KEYS_MAX names, or no memory.
 *          Caller frees with rs_pii_destroy(). The scrubber is read-only
 *          once made: threads may share it.
 */
rs_pii_t *rs_pii_new(const char *sensitive_keys, char *errstr,
                     size_t errstr_size);

/** @brief Frees \p pii. NULL-safe. */
void rs_pii_destroy(rs_pii_t *pii);

/**
 * @brief Scrubs \p src (\p len bytes, need not be NUL-terminated, may be NULL
 *        if \p len is 0) into \p dst, which must not overlap it.
 *
 * Works like snprintf: \p dst gets at most \p dst_size - 1 bytes and a NUL
 * (nothing if \p dst_size is 0, then \p dst may be NULL). When the text does
 * not fit it is cut before the first piece that does not fit whole: never
 * inside a placeholder, never inside a UTF-8 sequence. Bytes that are not
 * personal data are copied as they are, invalid UTF-8 and NULs included.
 * No allocation.
 *
 * @param pii from rs_pii_new(); NULL runs every rule but the sensitive keys.
 * @param counts NULL, or RS_PII_KIND_CNT counters: counts[kind] is increased
 *        by the number of replacements of that kind (also those cut off).
 * @returns the length of the whole scrubbed text; a value >= \p dst_size
 *          means \p dst holds a cut prefix of it.
 */
size_t rs_pii_scrub(const rs_pii_t *pii, const char *src, size_t len, char *dst,
                    size_t dst_size, unsigned counts[RS_PII_KIND_CNT]);

#endif
