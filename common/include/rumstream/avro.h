/*
 * avro: Avro binary values in the Confluent wire format.
 *
 * Framing: byte 0 is 0 (magic), bytes 1-4 the schema id (big endian), then
 * the Avro binary body. Schema ids map to schemas through a registry; the
 * .avsc files in schemas/ are compiled in under the default ids below and
 * config may add more (older or newer writer versions of a type).
 *
 * A decoder is made for one reader schema (the version this code was built
 * against). For every writer schema id of the same record type it keeps a
 * resolution plan applying Avro's evolution rules (fields the writer lacks
 * take their defaults, which avro-c 1.11.1's own resolver cannot do) and
 * one reusable value, so decoding allocates nothing per record (avro-c
 * still allocates map keys, and when a union changes branch). An encoder
 * likewise reuses its value and buffer.
 */
#ifndef RS_AVRO_H
#define RS_AVRO_H

#include <stddef.h>
#include <stdint.h>
#include <avro.h>

/* Default schema ids of the compiled-in schemas (schemas/<name>.avsc). */
#define RS_SCHEMA_ID_RUM_EVENT        1
#define RS_SCHEMA_ID_SYNTHETIC_RESULT 2
#define RS_SCHEMA_ID_ERROR_EVENT      3
#define RS_SCHEMA_ID_RUM_AGGREGATE    4
#define RS_SCHEMA_ID_ERROR_AGGREGATE  5
#define RS_SCHEMA_ID_ISSUE            6
#define RS_SCHEMA_ID_ALERT            7
#define RS_SCHEMA_ID_PRIVACY_REQUEST  8

/* Full names of the record types. */
#define RS_SCHEMA_RUM_EVENT        "rumstream.RumEvent"
#define RS_SCHEMA_SYNTHETIC_RESULT "rumstream.SyntheticResult"
#define RS_SCHEMA_ERROR_EVENT      "rumstream.ErrorEvent"
#define RS_SCHEMA_RUM_AGGREGATE    "rumstream.RumAggregate"
#define RS_SCHEMA_ERROR_AGGREGATE  "rumstream.ErrorAggregate"
#define RS_SCHEMA_ISSUE            "rumstream.Issue"
#define RS_SCHEMA_ALERT            "rumstream.Alert"
#define RS_SCHEMA_PRIVACY_REQUEST  "rumstream.PrivacyRequest"

#define RS_AVRO_HEADER_SIZE 5

/* Decode failures; each has a distinct dead-letter reason. */
#define RS_AVRO_ERR_TRUNCATED -1 /* "truncated": shorter than the header */
#define RS_AVRO_ERR_MAGIC     -2 /* "bad_magic": byte 0 is not 0 */
#define RS_AVRO_ERR_SCHEMA_ID -3 /* "unknown_schema": id not in registry */
#define RS_AVRO_ERR_WRONG_TYPE                                                 \
        -4 /* "wrong_schema": id names another record type */
#define RS_AVRO_ERR_BODY                                                       \
        -5 /* "undecodable": body does not parse, or has trailing bytes */

/** @brief Dead-letter reason for an RS_AVRO_ERR_* code. */
const char *rs_avro_err_reason(int err);

typedef struct rs_avro_registry_s rs_avro_registry_t;

/** @brief A registry holding the compiled-in schemas under their default
 *         ids. @returns NULL with errstr set on failure. Caller frees with
 *         rs_avro_registry_destroy(). */
rs_avro_registry_t *rs_avro_registry_new(char *errstr, size_t errstr_size);
void                rs_avro_registry_destroy(rs_avro_registry_t *reg);

/** @brief Adds (or replaces) schema \p id from JSON text.
 *  @returns 0 or -1 with errstr set. */
int rs_avro_registry_add(rs_avro_registry_t *reg, int32_t id, const char *json,
                         char *errstr, size_t errstr_size);
/** @brief As rs_avro_registry_add() reading the JSON from \p path. */
int rs_avro_registry_add_file(rs_avro_registry_t *reg, int32_t id,
                              const char *path, char *errstr,
                              size_t errstr_size);
/** @brief The schema under \p id (borrowed, owned by the registry) or NULL.*/
avro_schema_t rs_avro_registry_get(const rs_avro_registry_t *reg, int32_t id);
/** @brief JSON text of a compiled-in schema by file name ("rum_event"), or
 *         NULL. Static storage. */
const char *rs_avro_builtin_json(const char *name);

/** @brief The JSON text registered for \p id, or NULL. */
const char *rs_avro_registry_json(const rs_avro_registry_t *reg, int32_t id);

/** @brief 1 if \p s holds strict UTF-8 (no overlong forms, surrogates or
 *  NUL), the check every decoded string passes. */
int rs_avro_utf8_valid(const void *s, size_t len);

typedef struct rs_avro_decoder_s rs_avro_decoder_t;

/**
 * @brief A decoder producing values of the reader schema \p reader_id, from
 *        any writer id in \p reg whose record has the same full name.
 * @returns NULL with errstr set if reader_id is unknown. Caller frees with
 *          rs_avro_decoder_destroy(). The registry must outlive it.
 */
rs_avro_decoder_t *rs_avro_decoder_new(rs_avro_registry_t *reg,
                                       int32_t reader_id, char *errstr,
                                       size_t errstr_size);
void               rs_avro_decoder_destroy(rs_avro_decoder_t *dec);

/**
 * @brief Decodes one framed message.
 * @param valuep set to a value of the reader schema; it is owned by the
 *        decoder and valid until the next call (strings read from it too).
 * @returns 0 or an RS_AVRO_ERR_* code with a detail in errstr.
 */
int rs_avro_decoder_decode(rs_avro_decoder_t *dec, const void *buf, size_t len,
                           avro_value_t **valuep, char *errstr,
                           size_t errstr_size);

typedef struct rs_avro_encoder_s rs_avro_encoder_t;

/** @brief An encoder for schema \p id. Caller frees with
 *         rs_avro_encoder_destroy(). */
rs_avro_encoder_t *rs_avro_encoder_new(rs_avro_registry_t *reg, int32_t id,
                                       char *errstr, size_t errstr_size);
void               rs_avro_encoder_destroy(rs_avro_encoder_t *enc);

/** @brief The value to fill for the next message, reset to empty. Owned by
 *         the encoder. */
avro_value_t *rs_avro_encoder_value(rs_avro_encoder_t *enc);

/**
 * @brief Encodes the value with its header.
 * @param bufp set to the framed bytes, owned by the encoder and valid until
 *        the next call.
 * @returns 0 or -1 with errstr set.
 */
int rs_avro_encoder_encode(rs_avro_encoder_t *enc, const void **bufp,
                           size_t *lenp, char *errstr, size_t errstr_size);

#endif
