/*
 * test_avro: the compiled-in schemas, round trips of every schema, each
 * framing error, corrupt and random input (must fail cleanly, never
 * crash), schema evolution through writer ids, and that steady-state
 * decoding allocates nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rumstream/avro.h"
#include "rs_test.h"

static const struct {
        const char *file;
        int32_t     id;
        const char *type;
} builtins[] = {
    {"rum_event", RS_SCHEMA_ID_RUM_EVENT, RS_SCHEMA_RUM_EVENT},
    {"synthetic_result", RS_SCHEMA_ID_SYNTHETIC_RESULT,
     RS_SCHEMA_SYNTHETIC_RESULT},
    {"error_event", RS_SCHEMA_ID_ERROR_EVENT, RS_SCHEMA_ERROR_EVENT},
    {"rum_aggregate", RS_SCHEMA_ID_RUM_AGGREGATE, RS_SCHEMA_RUM_AGGREGATE},
    {"error_aggregate", RS_SCHEMA_ID_ERROR_AGGREGATE,
     RS_SCHEMA_ERROR_AGGREGATE},
    {"issue", RS_SCHEMA_ID_ISSUE, RS_SCHEMA_ISSUE},
    {"alert", RS_SCHEMA_ID_ALERT, RS_SCHEMA_ALERT},
    {"privacy_request", RS_SCHEMA_ID_PRIVACY_REQUEST,
     RS_SCHEMA_PRIVACY_REQUEST},
};

#define BUILTIN_CNT (sizeof(builtins) / sizeof(builtins[0]))

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void) {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return rng_state;
}

/*
 * Fills a generic value. Full: every union takes its last branch, arrays
 * and maps get three items, strings hold non-ASCII text, numbers differ by
 * seed. Minimal: unions are null, containers empty, strings "", zeros.
 */
static int fill(avro_value_t *v, int full, unsigned seed) {
        avro_schema_t s = avro_value_get_schema(v);
        avro_value_t  child;
        char          str[64];
        size_t        i, cnt;

        switch (avro_value_get_type(v)) {
        case AVRO_STRING:
                snprintf(str, sizeof(str), "v%u-\xc3\xa9t\xc3\xa9-%u", seed,
                         seed * 7);
                return avro_value_set_string(v, full ? str : "");
        case AVRO_BYTES: {
                unsigned char b[5] = {0, 0xff, (unsigned char)seed, 0x80, 1};
                return avro_value_set_bytes(v, b, full ? sizeof(b) : 0);
        }
        case AVRO_INT32:
                return avro_value_set_int(v, full ? -(int)seed * 1000 - 7 : 0);
        case AVRO_INT64:
                return avro_value_set_long(
                    v, full ? 1700000000000LL + (int64_t)seed : 0);
        case AVRO_FLOAT:
                return avro_value_set_float(v, full ? seed * 0.5f + 0.25f : 0);
        case AVRO_DOUBLE:
                return avro_value_set_double(v, full ? seed * 1.25 + 0.125 : 0);
        case AVRO_BOOLEAN:
                return avro_value_set_boolean(v, full);
        case AVRO_NULL:
                return avro_value_set_null(v);
        case AVRO_ENUM:
                return avro_value_set_enum(v, 0);
        case AVRO_RECORD:
                avro_value_get_size(v, &cnt);
                for (i = 0; i < cnt; i++)
                        if (avro_value_get_by_index(v, i, &child, NULL) ||
                            fill(&child, full, seed * 31 + (unsigned)i))
                                return -1;
                return 0;
        case AVRO_ARRAY:
                for (i = 0; full && i < 3; i++)
                        if (avro_value_append(v, &child, NULL) ||
                            fill(&child, full, seed + (unsigned)i))
                                return -1;
                return 0;
        case AVRO_MAP:
                for (i = 0; full && i < 3; i++) {
                        snprintf(str, sizeof(str), "key.%zu", i);
                        if (avro_value_add(v, str, &child, NULL, NULL) ||
                            fill(&child, full, seed + (unsigned)i))
                                return -1;
                }
                return 0;
        case AVRO_UNION:
                cnt = avro_schema_union_size(s);
                if (avro_value_set_branch(v, full ? (int)cnt - 1 : 0, &child))
                        return -1;
                return fill(&child, full, seed);
        default:
                return -1;
        }
}

/* Compares two records field by field, naming the fields that differ. */
static int same_record(avro_value_t *a, avro_value_t *b, const char *what) {
        avro_value_t fa, fb;
        const char  *name;
        size_t       i, cnt, cnt_b;
        int          same = 1;

        if (avro_value_get_size(a, &cnt) || avro_value_get_size(b, &cnt_b) ||
            cnt != cnt_b) {
                fprintf(stderr, "%s: field counts differ\n", what);
                return 0;
        }
        for (i = 0; i < cnt; i++) {
                avro_value_get_by_index(a, i, &fa, &name);
                avro_value_get_by_index(b, i, &fb, NULL);
                if (!avro_value_equal(&fa, &fb)) {
                        fprintf(stderr, "%s: field %s differs\n", what, name);
                        same = 0;
                }
        }
        return same && avro_value_equal(a, b);
}

/* Encodes a filled value of schema id into a malloc'd copy. */
static unsigned char *encode_filled(rs_avro_registry_t *reg, int32_t id,
                                    int full, size_t *lenp) {
        char               errstr[512];
        rs_avro_encoder_t *enc;
        const void        *buf;
        unsigned char     *copy = NULL;

        enc = rs_avro_encoder_new(reg, id, errstr, sizeof(errstr));
        RS_CHECK_MSG(enc != NULL, "%s", errstr);
        if (!enc)
                return NULL;
        RS_CHECK(fill(rs_avro_encoder_value(enc), full, 1) == 0);
        RS_CHECK(rs_avro_encoder_encode(enc, &buf, lenp, errstr,
                                        sizeof(errstr)) == 0);
        copy = malloc(*lenp);
        memcpy(copy, buf, *lenp);
        rs_avro_encoder_destroy(enc);
        return copy;
}

static void test_builtins(rs_avro_registry_t *reg) {
        char   name[256];
        size_t i;

        for (i = 0; i < BUILTIN_CNT; i++) {
                avro_schema_t s = rs_avro_registry_get(reg, builtins[i].id);

                RS_CHECK(rs_avro_builtin_json(builtins[i].file) != NULL);
                RS_CHECK(s != NULL);
                if (!s)
                        continue;
                snprintf(name, sizeof(name), "%s.%s", avro_schema_namespace(s),
                         avro_schema_name(s));
                RS_CHECK_STR(name, builtins[i].type);
        }
        RS_CHECK(rs_avro_builtin_json("no_such_schema") == NULL);
        RS_CHECK(rs_avro_registry_get(reg, 0) == NULL);
}

/* Every schema, fully populated and minimal: encode, decode, compare. */
static void test_round_trips(rs_avro_registry_t *reg) {
        char   errstr[512], what[64];
        size_t i;
        int    full;

        for (i = 0; i < BUILTIN_CNT; i++) {
                rs_avro_encoder_t *enc;
                rs_avro_decoder_t *dec;

                enc = rs_avro_encoder_new(reg, builtins[i].id, errstr,
                                          sizeof(errstr));
                dec = rs_avro_decoder_new(reg, builtins[i].id, errstr,
                                          sizeof(errstr));
                RS_CHECK(enc && dec);
                if (!enc || !dec) {
                        rs_avro_encoder_destroy(enc);
                        rs_avro_decoder_destroy(dec);
                        continue;
                }
                for (full = 1; full >= 0; full--) {
                        avro_value_t *in = rs_avro_encoder_value(enc), *out;
                        const void   *buf;
                        size_t        len;
                        int           rc;

                        snprintf(what, sizeof(what), "%s (%s)",
                                 builtins[i].file, full ? "full" : "minimal");
                        RS_CHECK(fill(in, full, 1) == 0);
                        RS_CHECK(rs_avro_encoder_encode(enc, &buf, &len, errstr,
                                                        sizeof(errstr)) == 0);
                        RS_CHECK_INT(((const unsigned char *)buf)[0], 0);
                        RS_CHECK_INT(((const unsigned char *)buf)[4],
                                     builtins[i].id);
                        rc = rs_avro_decoder_decode(dec, buf, len, &out, errstr,
                                                    sizeof(errstr));
                        RS_CHECK_MSG(rc == 0, "%s: %s", what, errstr);
                        if (rc == 0)
                                RS_CHECK_MSG(same_record(in, out, what), "%s",
                                             what);
                }
                rs_avro_encoder_destroy(enc);
                rs_avro_decoder_destroy(dec);
        }
}

static void expect_err(rs_avro_decoder_t *dec, const void *buf, size_t len,
                       int code, const char *reason, const char *detail) {
        char          errstr[512] = "";
        avro_value_t *v           = (avro_value_t *)1;
        int           rc =
            rs_avro_decoder_decode(dec, buf, len, &v, errstr, sizeof(errstr));

        RS_CHECK_INT(rc, code);
        RS_CHECK_STR(rs_avro_err_reason(rc), reason);
        RS_CHECK(v == NULL);
        RS_CHECK_MSG(strstr(errstr, detail) != NULL, "errstr \"%s\"", errstr);
}

static void test_framing(rs_avro_registry_t *reg) {
        unsigned char      msg[4096], other[64];
        unsigned char     *full;
        char               errstr[512];
        rs_avro_decoder_t *dec;
        avro_value_t      *v;
        size_t             len, i;

        dec  = rs_avro_decoder_new(reg, RS_SCHEMA_ID_RUM_EVENT, errstr,
                                   sizeof(errstr));
        full = encode_filled(reg, RS_SCHEMA_ID_RUM_EVENT, 1, &len);
        RS_CHECK(dec && full && len + 8 < sizeof(msg));
        if (!dec || !full)
                goto out;
        memcpy(msg, full, len);

        /* The reasons are the dead-letter headers: distinct and stable. */
        RS_CHECK_STR(rs_avro_err_reason(RS_AVRO_ERR_TRUNCATED), "truncated");
        RS_CHECK_STR(rs_avro_err_reason(RS_AVRO_ERR_MAGIC), "bad_magic");
        RS_CHECK_STR(rs_avro_err_reason(RS_AVRO_ERR_SCHEMA_ID),
                     "unknown_schema");
        RS_CHECK_STR(rs_avro_err_reason(RS_AVRO_ERR_WRONG_TYPE),
                     "wrong_schema");
        RS_CHECK_STR(rs_avro_err_reason(RS_AVRO_ERR_BODY), "undecodable");

        expect_err(dec, "", 0, RS_AVRO_ERR_TRUNCATED, "truncated",
                   "0 bytes, shorter than the 5-byte header");
        expect_err(dec, msg, 4, RS_AVRO_ERR_TRUNCATED, "truncated", "4 bytes");

        memcpy(other, msg, 5);
        other[0] = 1;
        expect_err(dec, other, 5, RS_AVRO_ERR_MAGIC, "bad_magic",
                   "magic byte is 0x01");

        memcpy(other, "\0\0\0\0\x2a", 5);
        expect_err(dec, other, 5, RS_AVRO_ERR_SCHEMA_ID, "unknown_schema",
                   "schema id 42 is not registered");
        memcpy(other, "\0\xff\xff\xff\xff", 5);
        expect_err(dec, other, 5, RS_AVRO_ERR_SCHEMA_ID, "unknown_schema",
                   "schema id -1 is not registered");

        /* An Issue sent to the RumEvent topic. */
        memcpy(other, "\0\0\0\0\x06", 5);
        expect_err(dec, other, 5, RS_AVRO_ERR_WRONG_TYPE, "wrong_schema",
                   "schema id 6 is rumstream.Issue, not rumstream.RumEvent");

        /* Every truncation of a valid message fails; none crashes. */
        for (i = 0; i < len; i++) {
                int rc = rs_avro_decoder_decode(dec, msg, i, &v, errstr,
                                                sizeof(errstr));
                RS_CHECK_INT(rc, i < RS_AVRO_HEADER_SIZE ? RS_AVRO_ERR_TRUNCATED
                                                         : RS_AVRO_ERR_BODY);
        }
        expect_err(dec, msg, RS_AVRO_HEADER_SIZE + 3, RS_AVRO_ERR_BODY,
                   "undecodable", "schema id 1: ");

        /* Trailing garbage after a complete body. */
        memcpy(msg + len, "\x01\x02\x03", 3);
        expect_err(dec, msg, len + 3, RS_AVRO_ERR_BODY, "undecodable",
                   "3 trailing bytes after the");

        /* The decoder is still fine after all that. */
        RS_CHECK(rs_avro_decoder_decode(dec, msg, len, &v, errstr,
                                        sizeof(errstr)) == 0);

out:
        free(full);
        rs_avro_decoder_destroy(dec);
}

/* Bodies the decoder must reject precisely. */
static void test_bad_bodies(rs_avro_registry_t *reg) {
        static const unsigned char hdr[5] = {0, 0, 0, 0, RS_SCHEMA_ID_ALERT};
        static const struct {
                const char *body;
                size_t      len;
                const char *detail;
        } cases[] = {
            /* alert_id: length -1 */
            {"\x01", 1, "alert_id: negative string length -1"},
            /* alert_id: claims 2^62 bytes */
            {"\x80\x80\x80\x80\x80\x80\x80\x80\x40", 9,
             "alert_id: string of 2305843009213693952 bytes, only 0 left"},
            /* varint longer than 64 bits */
            {"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 10,
             "alert_id: varint overflows 64 bits"},
            /* invalid UTF-8, and an embedded NUL */
            {"\x04\xc3\x28", 3, "alert_id: string is not UTF-8"},
            {"\x04\x61\x00", 3, "alert_id: string is not UTF-8"},
            /* a surrogate encoded in UTF-8 */
            {"\x06\xed\xa0\x80", 4, "alert_id: string is not UTF-8"},
        };
        char               errstr[512];
        unsigned char      msg[64];
        rs_avro_decoder_t *dec;
        size_t             i;

        dec = rs_avro_decoder_new(reg, RS_SCHEMA_ID_ALERT, errstr,
                                  sizeof(errstr));
        RS_CHECK(dec != NULL);
        if (!dec)
                return;
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                memcpy(msg, hdr, 5);
                memcpy(msg + 5, cases[i].body, cases[i].len);
                expect_err(dec, msg, 5 + cases[i].len, RS_AVRO_ERR_BODY,
                           "undecodable", cases[i].detail);
        }
        rs_avro_decoder_destroy(dec);

        /* An array block count far beyond the bytes left. */
        dec = rs_avro_decoder_new(reg, RS_SCHEMA_ID_ALERT, errstr,
                                  sizeof(errstr));
        {
                /* 9 empty strings, created_at 0, then issue_ids with a
                 * block of 2^40 items. */
                unsigned char body[] = {0,    0,    0,    0,   0,    0,
                                        0,    0,    0,    0,   0x80, 0x80,
                                        0x80, 0x80, 0x80, 0x40};
                memcpy(msg, hdr, 5);
                memcpy(msg + 5, body, sizeof(body));
                expect_err(dec, msg, 5 + sizeof(body), RS_AVRO_ERR_BODY,
                           "undecodable",
                           "issue_ids: block of 1099511627776 items does not "
                           "fit");
        }
        rs_avro_decoder_destroy(dec);
}

/* Random bodies and corrupted valid messages, for every reader: each
 * decode succeeds or fails with undecodable, and nothing crashes or leaks
 * (run under ASan). */
static void test_garbage(rs_avro_registry_t *reg) {
        unsigned char msg[512];
        char          errstr[512];
        size_t        b, i, j;
        int           bad = 0, ok = 0;

        for (b = 0; b < BUILTIN_CNT; b++) {
                rs_avro_decoder_t *dec;
                unsigned char     *valid;
                size_t             valid_len;
                avro_value_t      *v;

                dec   = rs_avro_decoder_new(reg, builtins[b].id, errstr,
                                            sizeof(errstr));
                valid = encode_filled(reg, builtins[b].id, 1, &valid_len);
                if (!dec || !valid || valid_len > sizeof(msg)) {
                        RS_CHECK(!"setup");
                        rs_avro_decoder_destroy(dec);
                        free(valid);
                        continue;
                }

                for (i = 0; i < 10000 / BUILTIN_CNT + 1; i++) {
                        size_t len = 5 + rng() % 300;
                        int    rc;

                        memcpy(msg, valid, 5);
                        for (j = 5; j < len; j++)
                                msg[j] = (unsigned char)rng();
                        rc = rs_avro_decoder_decode(dec, msg, len, &v, errstr,
                                                    sizeof(errstr));
                        if (rc == 0)
                                ok++;
                        else if (rc != RS_AVRO_ERR_BODY)
                                bad++;
                }

                /* Corrupt one to three bytes of a valid body. */
                for (i = 0; i < 10000 / BUILTIN_CNT + 1; i++) {
                        int flips = 1 + (int)(rng() % 3), rc;

                        memcpy(msg, valid, valid_len);
                        while (flips--)
                                msg[5 + rng() % (valid_len - 5)] ^=
                                    (unsigned char)(1 + rng() % 255);
                        rc = rs_avro_decoder_decode(dec, msg, valid_len, &v,
                                                    errstr, sizeof(errstr));
                        if (rc == 0)
                                ok++;
                        else if (rc != RS_AVRO_ERR_BODY)
                                bad++;
                }

                RS_CHECK(rs_avro_decoder_decode(dec, valid, valid_len, &v,
                                                errstr, sizeof(errstr)) == 0);
                free(valid);
                rs_avro_decoder_destroy(dec);
        }
        RS_CHECK_INT(bad, 0);
        /* Some corruptions still parse (a changed character, a flipped
         * boolean): those must come back as values. */
        RS_CHECK(ok > 0);
}

/* The RumEvent before navigation_timing and custom_timings existed, with
 * knobs for the variants below. */
static char *rum_event_v0(const char *sample_rate_type, const char *lcp_type,
                          int with_url, const char *extra_field) {
        char *json = malloc(8192);

        snprintf(json, 8192,
                 "{\"type\": \"record\", \"name\": \"RumEvent\", "
                 "\"namespace\": \"rumstream\", \"fields\": ["
                 "{\"name\": \"event_id\", \"type\": \"string\"},"
                 "{\"name\": \"tenant_id\", \"type\": \"string\"},"
                 "{\"name\": \"session_id\", \"type\": \"string\"},"
                 "{\"name\": \"user_id\", \"type\": [\"null\", \"string\"], "
                 "\"default\": null},"
                 "{\"name\": \"timestamp\", \"type\": {\"type\": \"long\", "
                 "\"logicalType\": \"timestamp-millis\"}},"
                 "%s"
                 "%s"
                 "{\"name\": \"navigation_type\", \"type\": \"string\"},"
                 "{\"name\": \"device_type\", \"type\": \"string\"},"
                 "{\"name\": \"country\", \"type\": \"string\"},"
                 "{\"name\": \"connection_type\", \"type\": \"string\"},"
                 "{\"name\": \"browser\", \"type\": \"string\"},"
                 "{\"name\": \"consent\", \"type\": \"boolean\"},"
                 "{\"name\": \"sample_rate\", \"type\": \"%s\"},"
                 "{\"name\": \"lcp\", \"type\": [\"null\", \"%s\"], "
                 "\"default\": null},"
                 "{\"name\": \"inp\", \"type\": [\"null\", \"double\"], "
                 "\"default\": null},"
                 "{\"name\": \"cls\", \"type\": [\"null\", \"double\"], "
                 "\"default\": null},"
                 "{\"name\": \"fcp\", \"type\": [\"null\", \"double\"], "
                 "\"default\": null},"
                 "{\"name\": \"ttfb\", \"type\": [\"null\", \"double\"], "
                 "\"default\": null}]}",
                 with_url ? "{\"name\": \"url\", \"type\": \"string\"}," : "",
                 extra_field ? extra_field : "", sample_rate_type, lcp_type);
        return json;
}

static int field_branch(avro_value_t *rec, const char *name) {
        avro_value_t f;
        int          disc = -2;

        if (avro_value_get_by_name(rec, name, &f, NULL) ||
            avro_value_get_discriminant(&f, &disc))
                return -2;
        return disc;
}

static const char *field_str(avro_value_t *rec, const char *name) {
        avro_value_t f;
        const char  *s = NULL;

        if (avro_value_get_by_name(rec, name, &f, NULL) ||
            avro_value_get_string(&f, &s, NULL))
                return NULL;
        return s;
}

static double field_double(avro_value_t *rec, const char *name, int opt) {
        avro_value_t f, b;
        double       d = -1;

        if (avro_value_get_by_name(rec, name, &f, NULL))
                return -1;
        if (opt && avro_value_get_current_branch(&f, &b))
                return -1;
        avro_value_get_double(opt ? &b : &f, &d);
        return d;
}

static void test_evolution(rs_avro_registry_t *reg) {
        char               errstr[512];
        char              *json;
        rs_avro_decoder_t *dec, *old_dec;
        rs_avro_encoder_t *enc;
        avro_value_t      *in, *out, f, b;
        const void        *buf;
        unsigned char     *cur;
        size_t             len, cur_len;
        int                rc;

        /* 101: an old producer. 102: a newer one with a field we do not
         * know, in the middle and as a union. 103: promotions (float to
         * double, int to double inside a union). 104: lacks url, which
         * has no default: cannot be read. */
        json = rum_event_v0("double", "double", 1, NULL);
        RS_CHECK(rs_avro_registry_add(reg, 101, json, errstr, sizeof(errstr)) ==
                 0);
        free(json);
        json = rum_event_v0("double", "double", 1,
                            "{\"name\": \"referrer\", \"type\": [\"null\", "
                            "\"string\", {\"type\": \"map\", \"values\": "
                            "\"long\"}], \"default\": null},");
        RS_CHECK(rs_avro_registry_add(reg, 102, json, errstr, sizeof(errstr)) ==
                 0);
        free(json);
        json = rum_event_v0("float", "int", 1, NULL);
        RS_CHECK(rs_avro_registry_add(reg, 103, json, errstr, sizeof(errstr)) ==
                 0);
        free(json);
        json = rum_event_v0("double", "double", 0, NULL);
        RS_CHECK(rs_avro_registry_add(reg, 104, json, errstr, sizeof(errstr)) ==
                 0);
        free(json);

        dec = rs_avro_decoder_new(reg, RS_SCHEMA_ID_RUM_EVENT, errstr,
                                  sizeof(errstr));
        RS_CHECK(dec != NULL);
        if (!dec)
                return;

        /* Old writer: the new fields read as their defaults (null). */
        enc = rs_avro_encoder_new(reg, 101, errstr, sizeof(errstr));
        in  = rs_avro_encoder_value(enc);
        RS_CHECK(fill(in, 1, 5) == 0);
        RS_CHECK(rs_avro_encoder_encode(enc, &buf, &len, errstr,
                                        sizeof(errstr)) == 0);
        RS_CHECK_INT(((const unsigned char *)buf)[4], 101);
        rc =
            rs_avro_decoder_decode(dec, buf, len, &out, errstr, sizeof(errstr));
        RS_CHECK_MSG(rc == 0, "%s", errstr);
        if (rc == 0) {
                RS_CHECK_INT(field_branch(out, "navigation_timing"), 0);
                RS_CHECK_INT(field_branch(out, "custom_timings"), 0);
                RS_CHECK_INT(field_branch(out, "user_id"), 1);
                RS_CHECK_STR(field_str(out, "url"), field_str(in, "url"));
                RS_CHECK_STR(field_str(out, "browser"),
                             field_str(in, "browser"));
                RS_CHECK(field_double(out, "ttfb", 1) ==
                         field_double(in, "ttfb", 1));
        }

        /* Interleaved with the current version, both keep working; then
         * an old message again, after the union branches were set by a
         * new one (the defaults must be applied every time). */
        cur = encode_filled(reg, RS_SCHEMA_ID_RUM_EVENT, 1, &cur_len);
        RS_CHECK(rs_avro_decoder_decode(dec, cur, cur_len, &out, errstr,
                                        sizeof(errstr)) == 0);
        RS_CHECK_INT(field_branch(out, "navigation_timing"), 1);
        RS_CHECK_INT(field_branch(out, "custom_timings"), 1);
        RS_CHECK(rs_avro_decoder_decode(dec, buf, len, &out, errstr,
                                        sizeof(errstr)) == 0);
        RS_CHECK_INT(field_branch(out, "navigation_timing"), 0);
        RS_CHECK_INT(field_branch(out, "custom_timings"), 0);
        rs_avro_encoder_destroy(enc);

        /* Newer writer: its extra field is skipped, whichever branch. */
        enc = rs_avro_encoder_new(reg, 102, errstr, sizeof(errstr));
        in  = rs_avro_encoder_value(enc);
        RS_CHECK(fill(in, 1, 6) == 0); /* referrer: the map branch */
        RS_CHECK(rs_avro_encoder_encode(enc, &buf, &len, errstr,
                                        sizeof(errstr)) == 0);
        rc =
            rs_avro_decoder_decode(dec, buf, len, &out, errstr, sizeof(errstr));
        RS_CHECK_MSG(rc == 0, "%s", errstr);
        if (rc == 0) {
                RS_CHECK_STR(field_str(out, "navigation_type"),
                             field_str(in, "navigation_type"));
                RS_CHECK(field_double(out, "sample_rate", 0) ==
                         field_double(in, "sample_rate", 0));
        }
        in = rs_avro_encoder_value(enc);
        RS_CHECK(fill(in, 1, 6) == 0);
        avro_value_get_by_name(in, "referrer", &f, NULL);
        avro_value_set_branch(&f, 1, &b);
        avro_value_set_string(&b, "https://search.example/?q=x");
        RS_CHECK(rs_avro_encoder_encode(enc, &buf, &len, errstr,
                                        sizeof(errstr)) == 0);
        RS_CHECK(rs_avro_decoder_decode(dec, buf, len, &out, errstr,
                                        sizeof(errstr)) == 0);
        rs_avro_encoder_destroy(enc);

        /* Promotions. */
        enc = rs_avro_encoder_new(reg, 103, errstr, sizeof(errstr));
        in  = rs_avro_encoder_value(enc);
        RS_CHECK(fill(in, 1, 7) == 0);
        avro_value_get_by_name(in, "sample_rate", &f, NULL);
        avro_value_set_float(&f, 0.25f);
        avro_value_get_by_name(in, "lcp", &f, NULL);
        avro_value_set_branch(&f, 1, &b);
        avro_value_set_int(&b, 2345);
        RS_CHECK(rs_avro_encoder_encode(enc, &buf, &len, errstr,
                                        sizeof(errstr)) == 0);
        rc =
            rs_avro_decoder_decode(dec, buf, len, &out, errstr, sizeof(errstr));
        RS_CHECK_MSG(rc == 0, "%s", errstr);
        if (rc == 0) {
                RS_CHECK(field_double(out, "sample_rate", 0) == 0.25);
                RS_CHECK(field_double(out, "lcp", 1) == 2345.0);
        }
        rs_avro_encoder_destroy(enc);

        /* A writer the reader cannot use. */
        enc = rs_avro_encoder_new(reg, 104, errstr, sizeof(errstr));
        in  = rs_avro_encoder_value(enc);
        RS_CHECK(fill(in, 1, 8) == 0);
        RS_CHECK(rs_avro_encoder_encode(enc, &buf, &len, errstr,
                                        sizeof(errstr)) == 0);
        expect_err(dec, buf, len, RS_AVRO_ERR_WRONG_TYPE, "wrong_schema",
                   "schema id 104 cannot be read as schema id 1: url: the "
                   "writer lacks this field");
        /* Remembered, and the same answer the second time. */
        expect_err(dec, buf, len, RS_AVRO_ERR_WRONG_TYPE, "wrong_schema",
                   "url: the writer lacks this field");
        rs_avro_encoder_destroy(enc);

        /* An old consumer (reader 101) reads the current version: the
         * navigation timing record and the map are skipped. */
        old_dec = rs_avro_decoder_new(reg, 101, errstr, sizeof(errstr));
        RS_CHECK(old_dec != NULL);
        if (old_dec) {
                rc = rs_avro_decoder_decode(old_dec, cur, cur_len, &out, errstr,
                                            sizeof(errstr));
                RS_CHECK_MSG(rc == 0, "%s", errstr);
                if (rc == 0) {
                        size_t cnt = 0;
                        avro_value_get_size(out, &cnt);
                        RS_CHECK_INT(cnt, 18);
                        RS_CHECK(field_str(out, "browser") != NULL);
                }
                rs_avro_decoder_destroy(old_dec);
        }

        /* Replacing a writer schema drops the plan built from the old
         * one: id 104 becomes readable. */
        json = rum_event_v0("double", "double", 1, NULL);
        RS_CHECK(rs_avro_registry_add(reg, 104, json, errstr, sizeof(errstr)) ==
                 0);
        free(json);
        enc = rs_avro_encoder_new(reg, 104, errstr, sizeof(errstr));
        RS_CHECK(fill(rs_avro_encoder_value(enc), 1, 9) == 0);
        RS_CHECK(rs_avro_encoder_encode(enc, &buf, &len, errstr,
                                        sizeof(errstr)) == 0);
        rc =
            rs_avro_decoder_decode(dec, buf, len, &out, errstr, sizeof(errstr));
        RS_CHECK_MSG(rc == 0, "%s", errstr);
        rs_avro_encoder_destroy(enc);

        free(cur);
        rs_avro_decoder_destroy(dec);
}

/* Reader fields the writer lacks take their defaults, whatever the type. */
static void test_defaults(void) {
        static const char *writer =
            "{\"type\": \"record\", \"name\": \"D\", \"namespace\": \"t\", "
            "\"fields\": [{\"name\": \"a\", \"type\": \"int\"}]}";
        static const char *reader =
            "{\"type\": \"record\", \"name\": \"D\", \"namespace\": \"t\", "
            "\"fields\": [{\"name\": \"a\", \"type\": \"long\"},"
            "{\"name\": \"s\", \"type\": \"string\", \"default\": "
            "\"x\\u00e9\\\"\"},"
            "{\"name\": \"n\", \"type\": \"long\", \"default\": -42},"
            "{\"name\": \"d\", \"type\": \"double\", \"default\": 1.5e3},"
            "{\"name\": \"b\", \"type\": \"boolean\", \"default\": true},"
            "{\"name\": \"by\", \"type\": \"bytes\", \"default\": "
            "\"\\u0001\\u00ff\"},"
            "{\"name\": \"e\", \"type\": {\"type\": \"enum\", \"name\": \"E\","
            " \"symbols\": [\"X\", \"Y\"]}, \"default\": \"Y\"},"
            "{\"name\": \"u\", \"type\": [\"string\", \"null\"], "
            "\"default\": \"z\"},"
            "{\"name\": \"l\", \"type\": {\"type\": \"array\", \"items\": "
            "\"int\"}, \"default\": [1, 2, 3]},"
            "{\"name\": \"m\", \"type\": {\"type\": \"map\", \"values\": "
            "\"string\"}, \"default\": {\"k\": \"v\"}},"
            "{\"name\": \"r\", \"type\": {\"type\": \"record\", \"name\": "
            "\"In\", \"fields\": [{\"name\": \"q\", \"type\": \"int\"}]}, "
            "\"default\": {\"q\": 7}}]}";
        static const unsigned char msg[] = {0, 0, 0, 0, 11, 0x54}; /* a=42 */
        char                       errstr[512];
        rs_avro_registry_t        *reg;
        rs_avro_decoder_t         *dec;
        avro_value_t              *v, f, g;
        const char                *s;
        const void                *bytes;
        size_t                     size;
        int64_t                    l;
        int32_t                    i32;
        int                        rc, n;

        reg = rs_avro_registry_new(errstr, sizeof(errstr));
        rc  = rs_avro_registry_add(reg, 10, reader, errstr, sizeof(errstr));
        RS_CHECK_MSG(rc == 0, "%s", errstr);
        RS_CHECK(
            rs_avro_registry_add(reg, 11, writer, errstr, sizeof(errstr)) == 0);
        dec = rs_avro_decoder_new(reg, 10, errstr, sizeof(errstr));
        RS_CHECK(dec != NULL);
        rc = dec ? rs_avro_decoder_decode(dec, msg, sizeof(msg), &v, errstr,
                                          sizeof(errstr))
                 : -1;
        RS_CHECK_MSG(rc == 0, "%s", errstr);
        if (rc == 0) {
                avro_value_get_by_name(v, "a", &f, NULL);
                RS_CHECK(avro_value_get_long(&f, &l) == 0 && l == 42);
                RS_CHECK_STR(field_str(v, "s"), "x\xc3\xa9\"");
                avro_value_get_by_name(v, "n", &f, NULL);
                RS_CHECK(avro_value_get_long(&f, &l) == 0 && l == -42);
                RS_CHECK(field_double(v, "d", 0) == 1500.0);
                avro_value_get_by_name(v, "b", &f, NULL);
                RS_CHECK(avro_value_get_boolean(&f, &n) == 0 && n == 1);
                avro_value_get_by_name(v, "by", &f, NULL);
                RS_CHECK(avro_value_get_bytes(&f, &bytes, &size) == 0 &&
                         size == 2 && !memcmp(bytes, "\x01\xff", 2));
                avro_value_get_by_name(v, "e", &f, NULL);
                RS_CHECK(avro_value_get_enum(&f, &n) == 0 && n == 1);
                RS_CHECK_INT(field_branch(v, "u"), 0);
                avro_value_get_by_name(v, "u", &f, NULL);
                avro_value_get_current_branch(&f, &g);
                RS_CHECK(avro_value_get_string(&g, &s, NULL) == 0 &&
                         !strcmp(s, "z"));
                avro_value_get_by_name(v, "l", &f, NULL);
                RS_CHECK(avro_value_get_size(&f, &size) == 0 && size == 3);
                avro_value_get_by_index(&f, 2, &g, NULL);
                RS_CHECK(avro_value_get_int(&g, &i32) == 0 && i32 == 3);
                avro_value_get_by_name(v, "m", &f, NULL);
                RS_CHECK(avro_value_get_by_name(&f, "k", &g, NULL) == 0 &&
                         avro_value_get_string(&g, &s, NULL) == 0 &&
                         !strcmp(s, "v"));
                avro_value_get_by_name(v, "r", &f, NULL);
                avro_value_get_by_name(&f, "q", &g, NULL);
                RS_CHECK(avro_value_get_int(&g, &i32) == 0 && i32 == 7);
        }
        /* Twice: the defaults are set again after the reset. */
        rc = dec ? rs_avro_decoder_decode(dec, msg, sizeof(msg), &v, errstr,
                                          sizeof(errstr))
                 : -1;
        RS_CHECK(rc == 0 && field_str(v, "s") &&
                 !strcmp(field_str(v, "s"), "x\xc3\xa9\""));
        rs_avro_decoder_destroy(dec);

        /* Defaults inside a nested record (found in the reader's JSON by
         * the nested record's full name). */
        RS_CHECK(rs_avro_registry_add(
                     reg, 13,
                     "{\"type\": \"record\", \"name\": \"N\", \"namespace\": "
                     "\"t\", \"fields\": [{\"name\": \"r\", \"type\": "
                     "{\"type\": \"record\", \"name\": \"In\", \"fields\": "
                     "[{\"name\": \"q\", \"type\": \"int\"}]}}]}",
                     errstr, sizeof(errstr)) == 0);
        RS_CHECK(rs_avro_registry_add(
                     reg, 14,
                     "{\"type\": \"record\", \"name\": \"N\", \"namespace\": "
                     "\"t\", \"fields\": [{\"name\": \"r\", \"type\": "
                     "{\"type\": \"record\", \"name\": \"In\", \"fields\": "
                     "[{\"name\": \"w\", \"type\": [\"null\", \"string\"], "
                     "\"default\": null}, {\"name\": \"q\", \"type\": "
                     "\"int\"}, {\"name\": \"c\", \"type\": \"int\", "
                     "\"default\": 5}]}}]}",
                     errstr, sizeof(errstr)) == 0);
        dec = rs_avro_decoder_new(reg, 14, errstr, sizeof(errstr));
        RS_CHECK(dec != NULL);
        {
                static const unsigned char nested[] = {0, 0, 0, 0, 13, 0x0e};
                rc = dec ? rs_avro_decoder_decode(dec, nested, sizeof(nested),
                                                  &v, errstr, sizeof(errstr))
                         : -1;
                RS_CHECK_MSG(rc == 0, "%s", errstr);
                if (rc == 0) {
                        avro_value_get_by_name(v, "r", &f, NULL);
                        avro_value_get_by_name(&f, "q", &g, NULL);
                        RS_CHECK(avro_value_get_int(&g, &i32) == 0 && i32 == 7);
                        avro_value_get_by_name(&f, "c", &g, NULL);
                        RS_CHECK(avro_value_get_int(&g, &i32) == 0 && i32 == 5);
                        RS_CHECK_INT(field_branch(&f, "w"), 0);
                }
        }
        rs_avro_decoder_destroy(dec);

        /* A default of the wrong type is reported when the plan is made. */
        RS_CHECK(rs_avro_registry_add(
                     reg, 12,
                     "{\"type\": \"record\", \"name\": \"D\", \"namespace\": "
                     "\"t\", \"fields\": [{\"name\": \"a\", \"type\": "
                     "\"long\"}, {\"name\": \"z\", \"type\": \"int\", "
                     "\"default\": \"seven\"}]}",
                     errstr, sizeof(errstr)) == 0);
        dec = rs_avro_decoder_new(reg, 12, errstr, sizeof(errstr));
        RS_CHECK(dec != NULL);
        if (dec)
                expect_err(dec, msg, sizeof(msg), RS_AVRO_ERR_WRONG_TYPE,
                           "wrong_schema",
                           "z: default value does not match the type int");
        rs_avro_decoder_destroy(dec);
        rs_avro_registry_destroy(reg);
}

static void test_registry_errors(rs_avro_registry_t *reg) {
        char        errstr[512] = "";
        char        path[]      = "/tmp/test_avro_XXXXXX";
        const char *json        = rs_avro_builtin_json("privacy_request");
        FILE       *fp;
        int         fd;

        RS_CHECK(rs_avro_registry_add(reg, 200, "{\"type\": \"record\", ",
                                      errstr, sizeof(errstr)) == -1);
        RS_CHECK_MSG(!strncmp(errstr, "schema id 200: ", 15) &&
                         strlen(errstr) > 15,
                     "errstr \"%s\"", errstr);
        RS_CHECK(rs_avro_registry_get(reg, 200) == NULL);

        errstr[0] = '\0';
        RS_CHECK(rs_avro_registry_add(reg, 201, "{\"type\": \"nonsense\"}",
                                      errstr, sizeof(errstr)) == -1);
        RS_CHECK(errstr[0] != '\0');

        errstr[0] = '\0';
        RS_CHECK(rs_avro_registry_add_file(reg, 202, "/nonexistent/x.avsc",
                                           errstr, sizeof(errstr)) == -1);
        RS_CHECK_MSG(strstr(errstr, "/nonexistent/x.avsc") != NULL,
                     "errstr \"%s\"", errstr);

        fd = mkstemp(path);
        RS_CHECK(fd != -1);
        if (fd == -1)
                return;
        fp = fdopen(fd, "w");
        fputs(json, fp);
        fclose(fp);
        RS_CHECK(rs_avro_registry_add_file(reg, 203, path, errstr,
                                           sizeof(errstr)) == 0);
        RS_CHECK(rs_avro_registry_get(reg, 203) != NULL);
        unlink(path);

        errstr[0] = '\0';
        RS_CHECK(rs_avro_decoder_new(reg, 999, errstr, sizeof(errstr)) == NULL);
        RS_CHECK_STR(errstr, "reader schema id 999 is not registered");
        RS_CHECK(rs_avro_encoder_new(reg, 999, errstr, sizeof(errstr)) == NULL);
}

/* Counts avro-c's allocations, to show that steady-state decoding makes
 * none. */
static long avro_allocs;

static void *counting_allocator(void *ud, void *ptr, size_t osize,
                                size_t nsize) {
        (void)ud;
        (void)osize;
        if (nsize == 0) {
                free(ptr);
                return NULL;
        }
        avro_allocs++;
        return realloc(ptr, nsize);
}

static void test_no_alloc(rs_avro_registry_t *reg) {
        char               errstr[512];
        rs_avro_encoder_t *enc;
        rs_avro_decoder_t *dec;
        avro_value_t      *in, *out, f, b;
        const void        *buf;
        size_t             len;
        long               before;
        int                i, ok = 1;

        enc = rs_avro_encoder_new(reg, RS_SCHEMA_ID_RUM_EVENT, errstr,
                                  sizeof(errstr));
        dec = rs_avro_decoder_new(reg, RS_SCHEMA_ID_RUM_EVENT, errstr,
                                  sizeof(errstr));
        in  = rs_avro_encoder_value(enc);
        fill(in, 1, 3);
        /* No custom timings: avro-c allocates map keys. */
        avro_value_get_by_name(in, "custom_timings", &f, NULL);
        avro_value_set_branch(&f, 0, &b);
        avro_value_set_null(&b);
        rs_avro_encoder_encode(enc, &buf, &len, errstr, sizeof(errstr));

        for (i = 0; i < 3; i++)
                rs_avro_decoder_decode(dec, buf, len, &out, errstr,
                                       sizeof(errstr));
        before = avro_allocs;
        for (i = 0; i < 1000; i++)
                ok &= rs_avro_decoder_decode(dec, buf, len, &out, errstr,
                                             sizeof(errstr)) == 0;
        RS_CHECK(ok);
        RS_CHECK_INT(avro_allocs - before, 0);
        /* Encoding the same value again does not allocate either. */
        before = avro_allocs;
        for (i = 0; i < 1000; i++)
                ok &= rs_avro_encoder_encode(enc, &buf, &len, errstr,
                                             sizeof(errstr)) == 0;
        RS_CHECK(ok);
        RS_CHECK_INT(avro_allocs - before, 0);
        rs_avro_encoder_destroy(enc);
        rs_avro_decoder_destroy(dec);
}

/* A value larger than the encoder's first buffer. */
static void test_large_value(rs_avro_registry_t *reg) {
        char               errstr[512], big[20000];
        rs_avro_encoder_t *enc;
        rs_avro_decoder_t *dec;
        avro_value_t      *in, *out, f;
        const void        *buf;
        size_t             len;
        int                rc;

        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        enc = rs_avro_encoder_new(reg, RS_SCHEMA_ID_ERROR_EVENT, errstr,
                                  sizeof(errstr));
        dec = rs_avro_decoder_new(reg, RS_SCHEMA_ID_ERROR_EVENT, errstr,
                                  sizeof(errstr));
        in  = rs_avro_encoder_value(enc);
        fill(in, 1, 4);
        avro_value_get_by_name(in, "message", &f, NULL);
        avro_value_set_string(&f, big);
        RS_CHECK(rs_avro_encoder_encode(enc, &buf, &len, errstr,
                                        sizeof(errstr)) == 0);
        RS_CHECK(len > sizeof(big));
        rc =
            rs_avro_decoder_decode(dec, buf, len, &out, errstr, sizeof(errstr));
        RS_CHECK_MSG(rc == 0, "%s", errstr);
        if (rc == 0) {
                RS_CHECK(same_record(in, out, "large error_event"));
                RS_CHECK_INT(strlen(field_str(out, "message")),
                             sizeof(big) - 1);
        }
        rs_avro_encoder_destroy(enc);
        rs_avro_decoder_destroy(dec);
}

/*
 * rs_avro_utf8_valid against a byte-at-a-time reference (RFC 3629, and no
 * NUL, which no string of ours may hold) on strings built from ASCII runs,
 * characters of every length and broken sequences, at every offset and
 * length around the eight-byte steps of the fast path.
 */
static int ref_utf8(const unsigned char *s, size_t len) {
        size_t i = 0, k, n;

        while (i < len) {
                unsigned c = s[i];
                uint32_t cp;

                if (c == 0)
                        return 0;
                if (c < 0x80) {
                        i++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf)
                        n = 1, cp = c & 0x1f;
                else if (c >= 0xe0 && c <= 0xef)
                        n = 2, cp = c & 0x0f;
                else if (c >= 0xf0 && c <= 0xf4)
                        n = 3, cp = c & 0x07;
                else
                        return 0;
                if (len - i - 1 < n)
                        return 0;
                for (k = 1; k <= n; k++) {
                        if ((s[i + k] & 0xc0) != 0x80)
                                return 0;
                        cp = (cp << 6) | (s[i + k] & 0x3f);
                }
                if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
                    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        return 0;
                i += n + 1;
        }
        return 1;
}

static void test_utf8(void) {
        static const char *const pieces[] = {
            "\xc3\xa9",         /* é */
            "\xe2\x82\xac",     /* € */
            "\xf0\x9f\x98\x80", /* U+1F600 */
            "\xf4\x8f\xbf\xbf", /* U+10FFFF */
            "\xc0\xaf",         /* overlong / */
            "\xe0\x80\xaf",     /* overlong / */
            "\xed\xa0\x80",     /* surrogate */
            "\xf4\x90\x80\x80", /* above U+10FFFF */
            "\x80",             /* stray continuation */
            "\xe2\x82",         /* cut short */
            "\xff",
            "\0",
        };
        unsigned char buf[64];
        uint64_t      x     = 0x2545f4914f6cdd1dULL;
        long          valid = 0, invalid = 0, r;

        for (r = 0; r < 200000; r++) {
                size_t len = 0, want;

                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                want = (size_t)(x % 40);
                while (len < want) {
                        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                        if (x % 8 != 0 || r % 3 == 0) {
                                buf[len++] = (unsigned char)(0x20 + x % 95);
                        } else {
                                const char *p = pieces[(x >> 8) % 12];
                                size_t      plen =
                                    (x >> 8) % 12 == 11 ? 1 : strlen(p);
                                if (len + plen > sizeof(buf))
                                        break;
                                memcpy(buf + len, p, plen);
                                len += plen;
                        }
                }
                {
                        int got = rs_avro_utf8_valid(buf, len);
                        int exp = ref_utf8(buf, len);

                        RS_CHECK_MSG(got == exp, "string %ld, %zu bytes", r,
                                     len);
                        if (exp)
                                valid++;
                        else
                                invalid++;
                }
        }
        /* Both outcomes common enough for the comparison to mean something. */
        RS_CHECK(valid > 50000 && invalid > 50000);
}

int main(void) {
        char                errstr[512];
        rs_avro_registry_t *reg;

        avro_set_allocator(counting_allocator, NULL);

        reg = rs_avro_registry_new(errstr, sizeof(errstr));
        RS_CHECK_MSG(reg != NULL, "%s", errstr);
        if (!reg)
                return RS_TEST_DONE();

        test_builtins(reg);
        test_round_trips(reg);
        test_framing(reg);
        test_bad_bodies(reg);
        test_garbage(reg);
        test_evolution(reg);
        test_defaults();
        test_registry_errors(reg);
        test_no_alloc(reg);
        test_large_value(reg);
        test_utf8();

        rs_avro_registry_destroy(reg);
        return RS_TEST_DONE();
}
